// SPDX-License-Identifier: GPL-2.0
/* The TAP harness: see tap.h. */
#include <setjmp.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "tap.h"

static jmp_buf tap_jmp;
static bool tap_failed;
static bool tap_in_case;

void tap_diag(const char *fmt, ...)
{
	char buf[1024];
	va_list ap;

	va_start(ap, fmt);
	vsnprintf(buf, sizeof(buf), fmt, ap);
	va_end(ap);
	printf("# %s\n", buf);
}

void tap_fail_at(const char *file, int line, const char *fmt, ...)
{
	char buf[1024];
	va_list ap;

	va_start(ap, fmt);
	vsnprintf(buf, sizeof(buf), fmt, ap);
	va_end(ap);
	printf("# %s:%d: %s\n", file, line, buf);
	tap_failed = true;
}

bool tap_case_failed(void)
{
	return tap_failed;
}

void tap_abort(void)
{
	if (!tap_in_case) {
		printf("# fatal failure outside a test case\n");
		exit(1);
	}
	longjmp(tap_jmp, 1);
}

static void tap_run_case(void (*fn)(void))
{
	tap_in_case = true;
	if (!setjmp(tap_jmp))
		fn();
	tap_in_case = false;
}

int tap_main(const struct tap_case *cases, size_t n, int argc, char **argv)
{
	const char *filter = argc > 1 ? argv[1] : NULL;
	unsigned int nr = 0, nr_failed = 0;
	size_t i;

	setvbuf(stdout, NULL, _IOLBF, 0);
	for (i = 0; i < n; i++) {
		if (filter && !strstr(cases[i].name, filter))
			continue;
		tap_failed = false;
		tap_run_case(cases[i].fn);
		nr++;
		if (tap_failed)
			nr_failed++;
		printf("%sok %u - %s\n", tap_failed ? "not " : "", nr,
		       cases[i].name);
	}
	printf("1..%u\n", nr);
	return nr_failed ? 1 : 0;
}
