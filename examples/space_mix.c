// SPDX-License-Identifier: GPL-2.0
/*
 * A space with a 2 MiB and 4 KiB mix: map 4 MiB + 16 KiB with
 * SPT_MAP_LARGEST starting 8 KiB below a 2 MiB boundary, then show what each
 * address translates to, and the merged runs the netlink dump reports.
 *
 *   cc THIS.c $(pkg-config --cflags --libs shadowpt)
 */
#include <stdio.h>
#include <string.h>

#include <libshadowpt.h>

#define KIB(n)	((uint64_t)(n) << 10)
#define MIB(n)	((uint64_t)(n) << 20)

static int print_run(const struct spt_run *r, void *arg)
{
	(void)arg;
	printf("  run 0x%llx-0x%llx: %llu x %s\n",
	       (unsigned long long)r->va, (unsigned long long)r->end,
	       (unsigned long long)r->pages, r->level == 2 ? "2M" : "4K");
	return 0;
}

int main(void)
{
	const uint64_t va = MIB(2) - KIB(8), len = MIB(4) + KIB(16);
	const uint64_t probe[] = { va, MIB(2), MIB(4) + KIB(4), MIB(6) };
	struct spt_query_entry e;
	struct spt_nl *nl;
	struct spt *h;
	unsigned int i;
	int id, err;

	err = spt_open(&h);
	if (err) {
		fprintf(stderr, "open: %s\n", strerror(-err));
		return 1;
	}
	id = spt_space_create(h, SPT_SPACE_FD_OWNED, NULL);
	if (id < 0) {
		fprintf(stderr, "space create: %s\n", strerror(-id));
		return 1;
	}
	err = spt_map_largest(h, id, va, len, SPT_PROT_WRITE);
	if (err) {
		fprintf(stderr, "map: %s\n", strerror(-err));
		return 1;
	}
	printf("space %d: mapped 0x%llx+0x%llx with SPT_MAP_LARGEST\n", id,
	       (unsigned long long)va, (unsigned long long)len);
	for (i = 0; i < sizeof(probe) / sizeof(probe[0]); i++) {
		err = spt_query(h, id, probe[i], &e);
		if (err)
			return 1;
		printf("  0x%llx: %s leaf 0x%llx-0x%llx\n",
		       (unsigned long long)probe[i],
		       e.level == 2 ? "2M" : "4K",
		       (unsigned long long)e.va_start,
		       (unsigned long long)e.va_end);
		/* The first and last probes are in 4 KiB leaves. */
		if (e.level != (i == 0 || i == 3 ? 1U : 2U))
			return 1;
	}
	if (spt_nl_open(&nl))
		return 1;
	err = spt_dump_mappings(nl, id, 0, 0, print_run, NULL);
	spt_nl_close(nl);
	/* Closing the handle destroys the fd-owned space. */
	spt_close(h);
	return err ? 1 : 0;
}
