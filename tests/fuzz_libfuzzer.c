// SPDX-License-Identifier: GPL-2.0
/*
 * libFuzzer entry point: the input bytes are the generator's entropy, so
 * they decode into the same operation sequences fuzz_model runs (fuzz.c),
 * executed against the same model and checks. The first byte picks 4- or
 * 5-level paging. A mismatch prints the failing operation and aborts.
 *
 *   make -C tests libfuzzer &&
 *	build/tests/fuzz_libfuzzer -max_len=4096 -max_total_time=60 CORPUS
 */
#include <stdio.h>
#include <stdlib.h>

#include "fuzz.h"

#define MAX_OPS 400

int LLVMFuzzerTestOneInput(const u8 *data, size_t size);

int LLVMFuzzerTestOneInput(const u8 *data, size_t size)
{
	struct fz_rng rng = { .s = 1 };
	struct fz_op op;
	struct fz f;
	unsigned int i;
	char buf[256];

	if (size < 2)
		return 0;
	rng.buf = data + 1;
	rng.len = size - 1;
	fz_init(&f, (data[0] & 1) ? 5 : 4, 64ULL << 20);
	for (i = 0; i < MAX_OPS && rng.pos < rng.len; i++) {
		fz_gen(&f, &rng, &op);
		if (!fz_exec(&f, &op)) {
			fz_op_str(&op, buf, sizeof(buf));
			fprintf(stderr, "fuzz_libfuzzer: operation %u (%s): %s\n",
				i, buf, f.err);
			abort();
		}
	}
	if (!fz_finish(&f)) {
		fprintf(stderr, "fuzz_libfuzzer: final check: %s\n", f.err);
		abort();
	}
	return 0;
}
