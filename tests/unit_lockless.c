// SPDX-License-Identifier: GPL-2.0
/*
 * The lockless walk (core/lockless.c) against read cursors: a random mix
 * of 4 KiB, 2 MiB and 1 GiB leaves (contiguous and scattered physical
 * addresses, several properties), then single queries at random VAs, and
 * the compact and merged-run fills of SPT_IOCTL_QUERY_RANGE over random
 * ranges with random room and budgets, resumed the way the ioctl resumes
 * them (within a call: the pending run carried over; across calls: from
 * out_next).
 */
#include <errno.h>
#include <stdlib.h>

#include "testlib.h"
#include "core/lockless.h"

#define WIN		(64 * SZ_2M)
#define WIN_PAGES	(WIN / SZ_4K)
#define PHYS_BASE	(1ULL << 32)

static const u8 flag_set[] = {
	0, SPT_PROT_WRITE, SPT_PROT_EXEC | SPT_PROT_USER, SPT_PROT_WRITE,
};

/* What a read cursor says of @va. */
static void cursor_query(struct tenv *e, u64 va, struct spt_query *q)
{
	struct spt_cursor c;

	va &= ~(SZ_4K - 1);
	REQUIRE_EQ(spt_cursor_new(&c, &e->pt, va, va + SZ_4K), 0);
	REQUIRE_EQ(spt_cursor_query(&c, q), 0);
	spt_cursor_drop(&c);
}

/* The compact word of the page @va, from a read cursor. */
static u64 cursor_word(struct tenv *e, u64 va)
{
	struct spt_query q;

	cursor_query(e, va, &q);
	if (!q.mapped)
		return 0;
	return SPT_QUERY_MAPPED | (q.item.tracked ? SPT_QUERY_TRACKED : 0) |
	       (u64)q.prop.flags << SPT_QPAGE_PROT_SHIFT |
	       (q.item.pa + (va - q.va_start)) |
	       (u64)q.level << SPT_QPAGE_LEVEL_SHIFT |
	       (u64)q.prop.cache << SPT_QPAGE_CACHE_SHIFT;
}

/* A random mix in [base, base + WIN), a 1 GiB leaf at base + 2 GiB. */
static void build(struct tenv *e, u64 base, u64 *seed)
{
	u64 slot, i;

	for (slot = 0; slot < WIN / SZ_2M; slot++) {
		u64 va = base + slot * SZ_2M;
		u64 pa = PHYS_BASE + slot * SZ_2M;
		unsigned int kind = tl_rand(seed) % 4;
		u8 flags = flag_set[tl_rand(seed) % 4];

		if (kind == 0)
			continue;
		if (kind == 1) {
			tl_map_range(e, va, pa, 2, flags);
			continue;
		}
		for (i = 0; i < 512; i++) {
			if (tl_rand(seed) % 4 == 0)
				continue;	/* a hole */
			if (kind == 3 && tl_rand(seed) % 8 == 0)
				flags = flag_set[tl_rand(seed) % 4];
			/* kind 2: contiguous; 3: partly scattered */
			tl_map_range(e, va + i * SZ_4K,
				     kind == 3 && tl_rand(seed) % 3 == 0 ?
				     pa + ((i * 7) % 512) * SZ_4K :
				     pa + i * SZ_4K, 1, flags);
		}
	}
	tl_map_range(e, base + 2 * SZ_1G, 3 * SZ_1G, 3, SPT_PROT_WRITE);
}

static void query_l(struct tenv *e, u64 base, u64 *seed)
{
	unsigned int i, bad = 0;

	for (i = 0; i < 5000 && bad < 5; i++) {
		u64 va = base + tl_rand(seed) % (4 * SZ_1G);
		struct spt_query a, b;

		if (i % 16 == 0)
			va = tl_rand(seed) % tenv_user_end(e);
		cursor_query(e, va, &a);
		spt_lockless_query(&e->pt, va & ~(SZ_4K - 1), &b);
		if (!CHECKF(a.va_start == b.va_start && a.va_end == b.va_end &&
			    a.level == b.level && a.mapped == b.mapped &&
			    (!a.mapped ||
			     (a.item.pa == b.item.pa &&
			      a.item.tracked == b.item.tracked &&
			      a.prop.flags == b.prop.flags &&
			      a.prop.cache == b.prop.cache)),
			    "va %#llx: cursor [%#llx, %#llx) l%u m%d pa %#llx, lockless [%#llx, %#llx) l%u m%d pa %#llx",
			    (unsigned long long)va,
			    (unsigned long long)a.va_start,
			    (unsigned long long)a.va_end, a.level, a.mapped,
			    (unsigned long long)a.item.pa,
			    (unsigned long long)b.va_start,
			    (unsigned long long)b.va_end, b.level, b.mapped,
			    (unsigned long long)b.item.pa))
			bad++;
	}
	CHECK_EQ(bad, 0);
}

/* A random page-aligned range of at most @pages pages around the mix. */
static void rand_range(struct tenv *e, u64 base, u64 *seed, u64 pages,
		       u64 *va, u64 *end)
{
	u64 start = base - 64 * SZ_4K + (tl_rand(seed) % (WIN_PAGES + 128)) *
		    SZ_4K;

	if (tl_rand(seed) % 8 == 0)	/* into the 1 GiB leaf */
		start = base + 2 * SZ_1G - (tl_rand(seed) % 512) * SZ_4K;
	*va = start;
	*end = start + (1 + tl_rand(seed) % pages) * SZ_4K;
}

static void pages_l(struct tenv *e, u64 base, u64 *seed)
{
	u64 *words = malloc(WIN_PAGES * sizeof(*words));
	unsigned int round, bad = 0;

	REQUIRE(words != NULL);
	for (round = 0; round < 25 && !bad; round++) {
		u64 va, end, n = 0, i, at;
		unsigned int cap = 1 + tl_rand(seed) % 1500;
		unsigned int budget = 1 + tl_rand(seed) % 3000;

		rand_range(e, base, seed, WIN_PAGES, &va, &end);
		for (at = va; at < end && n < WIN_PAGES;) {
			struct spt_lockless_walk w;
			unsigned int got;

			spt_lockless_begin(&w, &e->pt, at, end);
			got = spt_lockless_pages(&w, words + n,
						 min_t(u64, cap,
						       WIN_PAGES - n), budget);
			REQUIRE(w.va == at + (u64)got * SZ_4K);
			n += got;
			at = w.va;
		}
		CHECK_EQ(n, (end - va) / SZ_4K);
		for (i = 0; i < n && bad < 5; i++) {
			u64 want = cursor_word(e, va + i * SZ_4K);

			if (!CHECKF(words[i] == want,
				    "page %#llx: %#llx, cursor %#llx",
				    (unsigned long long)(va + i * SZ_4K),
				    (unsigned long long)words[i],
				    (unsigned long long)want))
				bad++;
		}
	}
	CHECK_EQ(bad, 0);
	free(words);
}

/* The runs of [va, end), merged page by page from read cursors. */
static unsigned int model_runs(struct tenv *e, u64 va, u64 end,
			       struct spt_query_run *runs)
{
	unsigned int n = 0;
	u64 p;

	for (p = va; p < end; p += SZ_4K) {
		u64 w = cursor_word(e, p);
		struct spt_query_run *r = n ? &runs[n - 1] : NULL;

		if (!w)
			continue;
		if (r && r->end == p &&
		    r->pa + (p - r->start) == SPT_QPAGE_PA(w) &&
		    r->level == SPT_QPAGE_LEVEL(w) &&
		    r->prot == SPT_QPAGE_PROT(w) &&
		    r->cache == SPT_QPAGE_CACHE(w) && r->flags == (w & 3)) {
			r->end = p + SZ_4K;
			continue;
		}
		runs[n++] = (struct spt_query_run) {
			.start = p, .end = p + SZ_4K, .pa = SPT_QPAGE_PA(w),
			.level = SPT_QPAGE_LEVEL(w),
			.prot = SPT_QPAGE_PROT(w),
			.cache = SPT_QPAGE_CACHE(w), .flags = w & 3,
		};
	}
	return n;
}

static void runs_l(struct tenv *e, u64 base, u64 *seed)
{
	struct spt_query_run *want = calloc(WIN_PAGES, sizeof(*want));
	struct spt_query_run *got = calloc(WIN_PAGES, sizeof(*got));
	unsigned int round, bad = 0;

	REQUIRE(want && got);
	for (round = 0; round < 25 && !bad; round++) {
		struct spt_lockless_runs r = { .pending = false };
		unsigned int cap = 1 + tl_rand(seed) % 40;
		unsigned int budget = 1 + tl_rand(seed) % 2000;
		unsigned int max = 1 + tl_rand(seed) % 100, in_call = 0;
		unsigned int nw, n = 0, i;
		u64 va, end, at;

		rand_range(e, base, seed, WIN_PAGES, &va, &end);
		nw = model_runs(e, va, end, want);
		for (at = va; (at < end || r.pending) && n < WIN_PAGES;) {
			struct spt_lockless_walk w;

			r.out = got + n;
			r.cap = min_t(u64, min(cap, max - in_call),
				      WIN_PAGES - n);
			r.nr = 0;
			spt_lockless_begin(&w, &e->pt, at, end);
			spt_lockless_runs(&w, &r, budget);
			REQUIRE(w.va >= at && w.va <= end);
			n += r.nr;
			in_call += r.nr;
			at = w.va;
			/*
			 * An ioctl with room for @max runs ends when they are
			 * written; the next resumes at its out_next.
			 */
			if (in_call == max) {
				if (r.pending)
					at = r.run.start;
				r.pending = false;
				in_call = 0;
			}
		}
		CHECK_EQ(n, nw);
		for (i = 0; i < n && i < nw && bad < 5; i++) {
			if (!CHECKF(!memcmp(&got[i], &want[i], sizeof(got[i])),
				    "run %u: [%#llx, %#llx) pa %#llx l%u p%#x, model [%#llx, %#llx) pa %#llx l%u p%#x",
				    i, (unsigned long long)got[i].start,
				    (unsigned long long)got[i].end,
				    (unsigned long long)got[i].pa,
				    got[i].level, got[i].prot,
				    (unsigned long long)want[i].start,
				    (unsigned long long)want[i].end,
				    (unsigned long long)want[i].pa,
				    want[i].level, want[i].prot))
				bad++;
		}
		if (n != nw)
			bad++;
	}
	CHECK_EQ(bad, 0);
	free(want);
	free(got);
}

static void all_l(unsigned int levels)
{
	u64 seed = 0x5eed0000 + levels;
	u64 base = 3 * SZ_512G + 5 * SZ_1G;
	struct tenv e;

	tenv_init(&e, levels);
	build(&e, base, &seed);
	query_l(&e, base, &seed);
	pages_l(&e, base, &seed);
	runs_l(&e, base, &seed);
	CHECK(tenv_check(&e));
	tenv_fini(&e);
}

static void lockless_vs_cursor(void)
{
	all_l(4);
	all_l(5);
}

/* An empty table: one absent root entry per query, zero words, no run. */
static void empty_table(void)
{
	struct spt_lockless_runs r = { .pending = false };
	struct spt_query_run run;
	struct spt_lockless_walk w;
	struct spt_query q;
	u64 words[8];
	struct tenv e;

	tenv_init(&e, 4);
	spt_lockless_query(&e.pt, SZ_512G + SZ_4K, &q);
	CHECK(!q.mapped && q.level == 4 && q.va_start == SZ_512G &&
	      q.va_end == 2 * SZ_512G);
	memset(words, 0xff, sizeof(words));
	spt_lockless_begin(&w, &e.pt, SZ_512G, SZ_512G + 8 * SZ_4K);
	CHECK_EQ(spt_lockless_pages(&w, words, 8, 100), 8);
	CHECK(!words[0] && !words[7]);
	r.out = &run;
	r.cap = 1;
	spt_lockless_begin(&w, &e.pt, 0, tenv_user_end(&e));
	spt_lockless_runs(&w, &r, 1000);
	CHECK(r.nr == 0 && !r.pending && w.va == tenv_user_end(&e));
	tenv_fini(&e);
}

static const struct tap_case cases[] = {
	TAP_CASE(empty_table),
	TAP_CASE(lockless_vs_cursor),
};

int main(int argc, char **argv)
{
	return tap_main(cases, ARRAY_SIZE(cases), argc, argv);
}
