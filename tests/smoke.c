// SPDX-License-Identifier: GPL-2.0
/*
 * Smoke test of the page-table core in user space: map/unmap/protect/
 * query/find_next with 4 KiB and 2 MiB tracked frames and 1 GiB untracked
 * ranges, splits, replacement, an injected allocation failure, a checker
 * violation, a few threads on disjoint ranges; 4- and 5-level; the checker
 * after every step and a leak-free pool at the end.
 */
#include <pthread.h>

#include <core/pt.h>
#include <pool_user.h>

#define SZ_4K	0x1000ULL
#define SZ_2M	0x200000ULL
#define SZ_1G	0x40000000ULL

static int failures;

#define CHECK(cond)							\
	do {								\
		if (!(cond)) {						\
			fprintf(stderr, "%s:%d: CHECK(%s) failed\n",	\
				__FILE__, __LINE__, #cond);		\
			abort();					\
		}							\
	} while (0)

#define CHECK_EQ(a, b)							\
	do {								\
		long long __a = (long long)(a), __b = (long long)(b);	\
		if (__a != __b) {					\
			fprintf(stderr,					\
				"%s:%d: %s == %s failed: 0x%llx != 0x%llx\n", \
				__FILE__, __LINE__, #a, #b, __a, __b);	\
			abort();					\
		}							\
	} while (0)

struct env {
	struct spt_cfg cfg;
	struct spt_pool *pool;
	struct spt_pt pt;
	struct spt_flusher fl;
	u64 ktop[SPT_NR_ENTRIES];
	u64 handle_pa;		/* one frame with an extra reference, or 0 */
};

static u32 env_handles(u64 pa, void *arg)
{
	struct env *e = arg;

	return pa == e->handle_pa ? 1 : 0;
}

static void env_check(struct env *e, int line)
{
	char msg[256];
	int ret = spt_pt_check(&e->pt, e->ktop, true, env_handles, e, msg,
			       sizeof(msg));

	if (ret) {
		fprintf(stderr, "smoke.c:%d: check failed: %s\n", line, msg);
		abort();
	}
}
#define ENV_CHECK(e) env_check(e, __LINE__)

static void env_init(struct env *e, unsigned int levels)
{
	unsigned int i;

	memset(e, 0, sizeof(*e));
	e->cfg.levels = levels;
	e->cfg.pa_mask = GENMASK_ULL(45, 12);
	e->cfg.cache_bits[SPT_CACHE_WB] = 0;
	e->cfg.cache_bits[SPT_CACHE_WT] = 1ULL << 3;		/* PWT */
	e->cfg.cache_bits[SPT_CACHE_UC_MINUS] = 1ULL << 4;	/* PCD */
	e->cfg.cache_bits[SPT_CACHE_UC] = 3ULL << 3;		/* PCD|PWT */
	e->cfg.cache_bits[SPT_CACHE_WC] = 1ULL << 7;		/* PAT */
	spt_cfg_set_pat_indexes(&e->cfg);
	e->cfg.top_first = 0;
	e->cfg.top_last = 255;
	for (i = 256; i < SPT_NR_ENTRIES; i++)
		e->ktop[i] = (0x7000000ULL + ((u64)i << 12)) | 0x63;
	e->pool = spt_pool_user_create(256);
	CHECK(e->pool);
	spt_flusher_init(&e->fl);
	CHECK_EQ(spt_pt_init(&e->pt, &e->cfg, e->pool, e->ktop), 0);
	CHECK(!(e->pt.root_pa & SZ_4K));	/* 8 KiB aligned for CR3 */
	ENV_CHECK(e);
}

static void env_release(struct env *e)
{
	spt_flusher_release(&e->fl, e->pool);
}

static void env_fini(struct env *e)
{
	struct spt_pt_counts counts;

	ENV_CHECK(e);
	spt_pt_destroy(&e->pt, &e->fl);
	env_release(e);
	spt_pt_count(&e->pt, &counts);
	CHECK_EQ(counts.nodes[e->cfg.levels - 1], 0);
	CHECK_EQ(spt_pool_user_destroy(e->pool), 0);
}

static u64 alloc_data(struct env *e, unsigned int level)
{
	u64 pa;

	CHECK_EQ(spt_pool_alloc(e->pool, SPT_USAGE_DATA, level, false, &pa),
		 0);
	return pa;
}

static u32 refs(struct env *e, u64 pa)
{
	return spt_meta_ref(spt_pool_meta(e->pool, pa));
}

/* The raw PTE for @va at @level (0 if the walk stops above it). */
static u64 *raw_pte(struct env *e, u64 va, unsigned int level)
{
	u64 *ptes = spt_pool_va(e->pool, e->pt.root_pa);
	unsigned int l;

	for (l = e->cfg.levels; ; l--) {
		u64 *slot = &ptes[(va >> (12 + 9 * (l - 1))) & 511];

		if (l == level)
			return slot;
		if (!(*slot & 1) || (*slot & (1ULL << 7)))
			return NULL;
		ptes = spt_pool_va(e->pool, *slot & e->cfg.pa_mask);
	}
}

static void query_at(struct env *e, u64 va, struct spt_query *q)
{
	struct spt_cursor c;

	CHECK_EQ(spt_cursor_new(&c, &e->pt, va, va + SZ_4K), 0);
	CHECK_EQ(spt_cursor_query(&c, q), 0);
	spt_cursor_drop(&c);
}

static const struct spt_prop prop_rw = {
	.flags = SPT_PROT_WRITE | SPT_PROT_USER, .cache = SPT_CACHE_WB,
};

/* 4 KiB tracked pages: map, query, find_next, protect, unmap. */
static void test_small(struct env *e, u64 base)
{
	enum { N = 1024, HALF = N / 2 - N / 2 / 3 };	/* mapped */
	static u64 pas[N];
	struct spt_pool_stats st;
	struct spt_cursor c;
	struct spt_query q;
	unsigned long replaced;
	u64 s, t, used;
	unsigned long n;
	unsigned int i;
	int ret;

	for (i = 0; i < N; i++)
		pas[i] = alloc_data(e, 1);
	CHECK_EQ(spt_cursor_mut_new(&c, &e->pt, base, base + N * SZ_4K,
				    &e->fl), 0);
	for (i = 0; i < N; i++) {
		struct spt_item it = { .pa = pas[i], .level = 1,
				       .tracked = true };

		if (i % 3 == 2) {	/* leave holes */
			if (i + 1 < N)
				CHECK_EQ(spt_cursor_jump(&c,
						base + (i + 1) * SZ_4K), 0);
			continue;
		}
		CHECK_EQ(spt_cursor_map(&c, &it, &prop_rw, &replaced), 0);
		CHECK_EQ(replaced, 0);
		CHECK_EQ(spt_cursor_va(&c), base + (i + 1) * SZ_4K);
	}
	spt_cursor_drop(&c);
	for (i = 0; i < N; i++) {
		if (i % 3 == 2) {
			struct spt_meta *m = spt_pool_meta(e->pool, pas[i]);

			CHECK(spt_meta_put(m));
			spt_pool_free(e->pool, pas[i]);
			pas[i] = 0;
		}
	}
	ENV_CHECK(e);

	query_at(e, base + 4 * SZ_4K, &q);
	CHECK(q.mapped);
	CHECK_EQ(q.item.pa, pas[4]);
	CHECK_EQ(q.item.level, 1);
	CHECK(q.item.tracked);
	CHECK_EQ(q.prop.flags, prop_rw.flags);
	CHECK_EQ(q.prop.cache, SPT_CACHE_WB);
	CHECK_EQ(q.va_start, base + 4 * SZ_4K);
	CHECK_EQ(q.va_end, base + 5 * SZ_4K);
	query_at(e, base + 5 * SZ_4K, &q);
	CHECK(!q.mapped);
	CHECK_EQ(q.level, 1);

	/* find_next over the holes; a read-only cursor sees everything. */
	CHECK_EQ(spt_cursor_new(&c, &e->pt, base, base + N * SZ_4K), 0);
	CHECK_EQ(spt_cursor_jump(&c, base + 2 * SZ_4K), 0);
	CHECK(spt_cursor_find_next(&c, N * SZ_4K - 2 * SZ_4K));
	CHECK_EQ(spt_cursor_va(&c), base + 3 * SZ_4K);
	CHECK(!spt_cursor_find_next(&c, N * SZ_4K));	/* past the end */
	CHECK_EQ(spt_cursor_va(&c), base + 3 * SZ_4K);
	CHECK_EQ(spt_cursor_jump(&c, base + 5 * SZ_4K), 0);
	CHECK(!spt_cursor_find_next(&c, SZ_4K));
	CHECK_EQ(spt_cursor_va(&c), base + 6 * SZ_4K);
	CHECK_EQ(spt_cursor_jump(&c, base + N * SZ_4K), -EINVAL);
	CHECK_EQ(spt_cursor_map(&c, &(struct spt_item){ .pa = 0x1000000,
			.level = 1 }, &prop_rw, NULL), -EINVAL);
	spt_cursor_drop(&c);

	/* protect [base + 1 page, base + 10 pages): W off, WC. */
	CHECK_EQ(spt_cursor_mut_new(&c, &e->pt, base, base + N * SZ_4K,
				    &e->fl), 0);
	CHECK_EQ(spt_cursor_jump(&c, base + SZ_4K), 0);
	i = 0;
	for (;;) {
		struct spt_prot_op op = { .clear = SPT_PROT_WRITE,
					  .cache = SPT_CACHE_WC };
		u64 at = spt_cursor_va(&c), end = base + 10 * SZ_4K;

		if (at >= end)
			break;
		ret = spt_cursor_protect_next(&c, end - at, &op, &s, &t);
		CHECK(ret >= 0);
		if (!ret)
			break;
		CHECK_EQ(t - s, SZ_4K);
		i++;
	}
	CHECK_EQ(i, 6);		/* pages 1, 3, 4, 6, 7, 9 */
	spt_cursor_drop(&c);
	query_at(e, base + 3 * SZ_4K, &q);
	CHECK_EQ(q.prop.flags, SPT_PROT_USER);
	CHECK_EQ(q.prop.cache, SPT_CACHE_WC);
	CHECK_EQ(*raw_pte(e, base + 3 * SZ_4K, 1) & (1ULL << 7), 1ULL << 7);
	query_at(e, base + 10 * SZ_4K, &q);
	CHECK_EQ(q.prop.flags, prop_rw.flags);
	ENV_CHECK(e);

	/* unmap the first half; frames go back only after release */
	spt_pool_get_stats(e->pool, &st);
	used = st.used_frames;
	CHECK_EQ(spt_cursor_mut_new(&c, &e->pt, base, base + N * SZ_4K,
				    &e->fl), 0);
	CHECK_EQ(spt_cursor_unmap(&c, N / 2 * SZ_4K), HALF);
	CHECK_EQ(spt_cursor_va(&c), base + N / 2 * SZ_4K);
	CHECK_EQ(spt_cursor_unmap(&c, N * SZ_4K), -EINVAL);
	spt_cursor_drop(&c);
	CHECK_EQ(e->fl.nr_frames, HALF);
	/* emptied PTE tables (page 512 is a hole) */
	n = e->fl.nr_nodes;
	CHECK_EQ(n, (base & (SZ_2M - 1)) ? 2 : 1);
	CHECK(e->fl.flush_start <= base && e->fl.flush_end >= base + SZ_4K);
	spt_pool_get_stats(e->pool, &st);
	CHECK_EQ(st.used_frames, used);
	ENV_CHECK(e);
	env_release(e);
	spt_pool_get_stats(e->pool, &st);
	CHECK_EQ(st.used_frames, used - HALF - n);

	/* an extra handle on a mapped frame; the checker counts it */
	e->handle_pa = pas[N - 3];
	CHECK(spt_meta_get(spt_pool_meta(e->pool, e->handle_pa)));
	ENV_CHECK(e);
	CHECK_EQ(refs(e, e->handle_pa), 2);

	/* unmap the rest (one node left empty: unlinked) */
	CHECK_EQ(spt_cursor_mut_new(&c, &e->pt, base, base + N * SZ_4K,
				    &e->fl), 0);
	CHECK_EQ(spt_cursor_jump(&c, base + N / 2 * SZ_4K), 0);
	CHECK(spt_cursor_unmap(&c, N / 2 * SZ_4K) > 0);
	spt_cursor_drop(&c);
	ENV_CHECK(e);
	CHECK_EQ(refs(e, e->handle_pa), 1);
	CHECK(!spt_meta_put(spt_pool_meta(e->pool, e->handle_pa)) == false);
	spt_pool_free(e->pool, e->handle_pa);
	e->handle_pa = 0;
	env_release(e);
	ENV_CHECK(e);
}

/* A 2 MiB tracked frame: map, split by unmap and by protect. */
static void test_huge(struct env *e, u64 base)
{
	u64 pa = alloc_data(e, 2), pa2 = alloc_data(e, 2), s, t;
	struct spt_item it = { .pa = pa, .level = 2, .tracked = true };
	struct spt_prot_op op = { .set = SPT_PROT_EXEC, .cache = -1 };
	struct spt_pt_counts counts;
	struct spt_cursor c;
	struct spt_query q;

	CHECK_EQ(spt_cursor_mut_new(&c, &e->pt, base, base + 2 * SZ_2M,
				    &e->fl), 0);
	CHECK_EQ(spt_cursor_map(&c, &it, &prop_rw, NULL), 0);
	it.pa = pa2;
	CHECK_EQ(spt_cursor_map(&c, &it, &prop_rw, NULL), 0);
	spt_cursor_drop(&c);
	ENV_CHECK(e);
	query_at(e, base + 5 * SZ_4K, &q);
	CHECK(q.mapped && q.item.level == 2 && q.item.pa == pa);
	CHECK_EQ(q.va_start, base);
	CHECK_EQ(q.va_end, base + SZ_2M);

	/* a cursor over exactly one 2 MiB entry may map a 2 MiB leaf */
	CHECK_EQ(spt_cursor_mut_new(&c, &e->pt, base, base + SZ_2M, &e->fl),
		 0);
	CHECK_EQ(spt_cursor_unmap(&c, SZ_4K * 3), 3);	/* split first */
	spt_cursor_drop(&c);
	CHECK_EQ(refs(e, pa), 509);
	ENV_CHECK(e);
	env_release(e);		/* no frame freed yet */
	CHECK_EQ(refs(e, pa), 509);

	/* unmap 1 page in the middle of the split frame: 508 refs */
	CHECK_EQ(spt_cursor_mut_new(&c, &e->pt, base + 7 * SZ_4K,
				    base + 8 * SZ_4K, &e->fl), 0);
	CHECK_EQ(spt_cursor_unmap(&c, SZ_4K), 1);
	spt_cursor_drop(&c);
	CHECK_EQ(refs(e, pa), 508);
	query_at(e, base + 8 * SZ_4K, &q);
	CHECK(q.mapped && q.item.level == 1 && q.item.pa == pa + 8 * SZ_4K);
	ENV_CHECK(e);

	/* protect one page inside the second (unsplit) frame: splits it */
	CHECK_EQ(spt_cursor_mut_new(&c, &e->pt, base + SZ_2M + SZ_4K,
				    base + SZ_2M + 2 * SZ_4K, &e->fl), 0);
	CHECK_EQ(spt_cursor_protect_next(&c, SZ_4K, &op, &s, &t), 1);
	CHECK_EQ(s, base + SZ_2M + SZ_4K);
	CHECK_EQ(t, s + SZ_4K);
	spt_cursor_drop(&c);
	CHECK_EQ(refs(e, pa2), 512);
	query_at(e, s, &q);
	CHECK(q.prop.flags & SPT_PROT_EXEC);
	query_at(e, t, &q);
	CHECK(!(q.prop.flags & SPT_PROT_EXEC));
	ENV_CHECK(e);
	spt_pt_count(&e->pt, &counts);
	CHECK_EQ(counts.leaves[0], 508 + 512);
	CHECK_EQ(counts.leaves[1], 0);

	/* unmap everything: both frames queued, freed on release */
	CHECK_EQ(spt_cursor_mut_new(&c, &e->pt, base, base + 2 * SZ_2M,
				    &e->fl), 0);
	CHECK_EQ(spt_cursor_unmap(&c, 2 * SZ_2M), 508 + 512);
	spt_cursor_drop(&c);
	CHECK_EQ(refs(e, pa), 0);
	CHECK_EQ(refs(e, pa2), 0);
	ENV_CHECK(e);
	env_release(e);
	CHECK(!spt_pool_user_in_use(e->pool, pa));
	CHECK(!spt_pool_user_in_use(e->pool, pa2));
	ENV_CHECK(e);
}

/* 1 GiB untracked: map, query, split twice by protect, replace, unmap. */
static void test_untracked(struct env *e, u64 base)
{
	struct spt_item it = { .pa = 0x3ULL * SZ_1G, .level = 3 };
	struct spt_prot_op op = { .clear = SPT_PROT_WRITE, .cache = SPT_CACHE_UC };
	struct spt_pt_counts counts;
	struct spt_cursor c;
	struct spt_query q;
	unsigned long replaced;
	u64 s, t, pa;

	CHECK_EQ(spt_largest_level(base, it.pa, SZ_1G, 3), 3);
	CHECK_EQ(spt_largest_level(base + SZ_2M, it.pa, SZ_1G, 3), 2);
	CHECK_EQ(spt_largest_level(base, it.pa, SZ_1G - SZ_4K, 3), 2);
	CHECK_EQ(spt_largest_level(base, it.pa + SZ_4K, SZ_1G, 3), 1);
	CHECK_EQ(spt_cursor_mut_new(&c, &e->pt, base, base + SZ_1G, &e->fl),
		 0);
	CHECK_EQ(spt_cursor_map(&c, &it, &prop_rw, NULL), 0);
	CHECK_EQ(spt_cursor_va(&c), base + SZ_1G);
	spt_cursor_drop(&c);
	ENV_CHECK(e);
	query_at(e, base + SZ_1G - SZ_4K, &q);
	CHECK(q.mapped && q.item.level == 3 && !q.item.tracked);
	CHECK_EQ(q.item.pa, it.pa);

	/* protect one 4 KiB page: 1 GiB -> 2 MiB -> 4 KiB */
	CHECK_EQ(spt_cursor_mut_new(&c, &e->pt, base, base + SZ_1G, &e->fl),
		 0);
	CHECK_EQ(spt_cursor_jump(&c, base + SZ_2M + SZ_4K), 0);
	CHECK_EQ(spt_cursor_protect_next(&c, SZ_4K, &op, &s, &t), 1);
	CHECK_EQ(s, base + SZ_2M + SZ_4K);
	spt_cursor_drop(&c);
	ENV_CHECK(e);
	spt_pt_count(&e->pt, &counts);
	CHECK_EQ(counts.leaves[2], 0);
	CHECK_EQ(counts.leaves[1], 511);
	CHECK_EQ(counts.leaves[0], 512);
	query_at(e, s, &q);
	CHECK(q.mapped && q.item.level == 1);
	CHECK_EQ(q.item.pa, it.pa + SZ_2M + SZ_4K);
	CHECK_EQ(q.prop.cache, SPT_CACHE_UC);
	CHECK_EQ(q.prop.flags, SPT_PROT_USER);
	query_at(e, base + 5 * SZ_2M, &q);
	CHECK(q.mapped && q.item.level == 2);
	CHECK_EQ(q.item.pa, it.pa + 5 * SZ_2M);

	/* WC at 2 MiB keeps PAT in bit 12; split moves it to bit 7 */
	op.cache = SPT_CACHE_WC;
	op.clear = 0;
	CHECK_EQ(spt_cursor_mut_new(&c, &e->pt, base + 6 * SZ_2M,
				    base + 7 * SZ_2M, &e->fl), 0);
	CHECK_EQ(spt_cursor_protect_next(&c, SZ_2M, &op, &s, &t), 1);
	CHECK_EQ(t - s, SZ_2M);
	spt_cursor_drop(&c);
	CHECK_EQ(*raw_pte(e, base + 6 * SZ_2M, 2) & (1ULL << 12), 1ULL << 12);
	CHECK_EQ(spt_cursor_mut_new(&c, &e->pt, base + 6 * SZ_2M,
				    base + 7 * SZ_2M, &e->fl), 0);
	CHECK_EQ(spt_cursor_unmap(&c, SZ_4K), 1);
	spt_cursor_drop(&c);
	CHECK_EQ(*raw_pte(e, base + 6 * SZ_2M + SZ_4K, 1) & (1ULL << 7),
		 1ULL << 7);
	query_at(e, base + 6 * SZ_2M + SZ_4K, &q);
	CHECK_EQ(q.prop.cache, SPT_CACHE_WC);
	CHECK_EQ(q.item.pa, it.pa + 6 * SZ_2M + SZ_4K);
	ENV_CHECK(e);

	/* replace the split subtree by one 1 GiB leaf again */
	CHECK_EQ(spt_cursor_mut_new(&c, &e->pt, base, base + SZ_1G, &e->fl),
		 0);
	CHECK_EQ(spt_cursor_map(&c, &it, &prop_rw, &replaced), 0);
	CHECK_EQ(replaced, 511 + 512 + 511 - 1 + 0);
	spt_cursor_drop(&c);
	ENV_CHECK(e);
	spt_pt_count(&e->pt, &counts);
	CHECK_EQ(counts.leaves[2], 1);
	CHECK_EQ(counts.nodes[0] + counts.nodes[1], 0);

	/* a 2 MiB tracked frame mapped over part of it: split, replace */
	pa = alloc_data(e, 2);
	CHECK_EQ(spt_cursor_mut_new(&c, &e->pt, base + SZ_2M, base + 2 * SZ_2M,
				    &e->fl), 0);
	CHECK_EQ(spt_cursor_map(&c, &(struct spt_item){ .pa = pa, .level = 2,
			.tracked = true }, &prop_rw, &replaced), 0);
	CHECK_EQ(replaced, 1);
	spt_cursor_drop(&c);
	ENV_CHECK(e);

	/* unmap it all */
	CHECK_EQ(spt_cursor_mut_new(&c, &e->pt, base, base + SZ_1G, &e->fl),
		 0);
	CHECK_EQ(spt_cursor_unmap(&c, SZ_1G), 512);
	spt_cursor_drop(&c);
	ENV_CHECK(e);
	env_release(e);
	CHECK(!spt_pool_user_in_use(e->pool, pa));
	spt_pt_count(&e->pt, &counts);
	CHECK_EQ(counts.nodes[0] + counts.nodes[1] + counts.nodes[2], 0);
}

/* -ENOMEM leaves nothing behind; the checker catches a corrupted PTE. */
static void test_failures(struct env *e, u64 base)
{
	struct spt_pt_counts before, after;
	u64 pa = alloc_data(e, 1), *pte, saved;
	struct spt_item it = { .pa = pa, .level = 1, .tracked = true };
	struct spt_cursor c;
	char msg[200];
	unsigned int n;

	spt_pt_count(&e->pt, &before);
	for (n = 1; n <= 5; n++) {
		int ret;

		spt_pool_user_fail_nth(e->pool, n);
		ret = spt_cursor_mut_new(&c, &e->pt, base, base + SZ_4K,
					 &e->fl);
		if (ret) {
			CHECK_EQ(ret, -ENOMEM);
		} else {
			ret = spt_cursor_map(&c, &it, &prop_rw, NULL);
			spt_cursor_drop(&c);
			if (!ret)
				break;
			CHECK_EQ(ret, -ENOMEM);
		}
		ENV_CHECK(e);
		env_release(e);
		spt_pt_count(&e->pt, &after);
		CHECK(!memcmp(&before, &after, sizeof(before)));
		CHECK_EQ(refs(e, pa), 1);
	}
	spt_pool_user_fail_nth(e->pool, 0);
	CHECK(n > 1 && n <= 5);
	ENV_CHECK(e);

	pte = raw_pte(e, base, 1);
	CHECK(pte);
	saved = *pte;
	*pte |= 1ULL << 8;	/* G */
	CHECK_EQ(spt_pt_check(&e->pt, e->ktop, true, NULL, NULL, msg,
			      sizeof(msg)), -EUCLEAN);
	CHECK(strstr(msg, "global"));
	*pte = saved | (1ULL << 50);	/* reserved with MAXPHYADDR 46 */
	CHECK_EQ(spt_pt_check(&e->pt, e->ktop, true, NULL, NULL, msg,
			      sizeof(msg)), -EUCLEAN);
	CHECK(strstr(msg, "reserved"));
	*pte = saved;
	pte = raw_pte(e, base, 2);
	saved = *pte;
	*pte = (*pte & ~e->cfg.pa_mask) | pa;	/* points at a data frame */
	CHECK_EQ(spt_pt_check(&e->pt, e->ktop, false, NULL, NULL, msg,
			      sizeof(msg)), -EUCLEAN);
	{
		char want[100];

		snprintf(want, sizeof(want),
			 "va 0x%llx level 2: entry points to slot of usage 2, expected PT",
			 base & ~(SZ_2M - 1));
		CHECK(!strcmp(msg, want));
	}
	*pte = saved;
	CHECK_EQ(refs(e, pa), 1);
	ENV_CHECK(e);
	e->ktop[300] ^= 0x1000;
	CHECK_EQ(spt_pt_check(&e->pt, e->ktop, true, NULL, NULL, msg,
			      sizeof(msg)), -EUCLEAN);
	CHECK(strstr(msg, "kernel-half"));
	e->ktop[300] ^= 0x1000;

	CHECK_EQ(spt_cursor_mut_new(&c, &e->pt, base, base + SZ_4K, &e->fl),
		 0);
	CHECK_EQ(spt_cursor_unmap(&c, SZ_4K), 1);
	spt_cursor_drop(&c);
	env_release(e);
	ENV_CHECK(e);
}

/* An empty CursorMut leaves no node behind. */
static void test_empty_cursor(struct env *e, u64 base)
{
	struct spt_pt_counts before, after;
	struct spt_cursor c;

	spt_pt_count(&e->pt, &before);
	CHECK_EQ(spt_cursor_mut_new(&c, &e->pt, base + SZ_4K,
				    base + 3 * SZ_4K, &e->fl), 0);
	CHECK(c.guard_level == 1);
	spt_cursor_drop(&c);
	spt_pt_count(&e->pt, &after);
	CHECK(!memcmp(&before, &after, sizeof(before)));
	ENV_CHECK(e);
	env_release(e);
}

struct thr {
	struct env *e;
	u64 base;
	struct spt_flusher fl;
	pthread_t tid;
};

static void *thr_main(void *arg)
{
	struct thr *t = arg;
	struct spt_cursor c;
	unsigned int round, i;

	for (round = 0; round < 40; round++) {
		u64 va = t->base + (round % 4) * SZ_2M;

		CHECK_EQ(spt_cursor_mut_new(&c, &t->e->pt, va, va + SZ_2M,
					    &t->fl), 0);
		for (i = 0; i < 64; i++) {
			u64 pa;
			struct spt_item it = { .level = 1, .tracked = true };

			CHECK_EQ(spt_pool_alloc(t->e->pool, SPT_USAGE_DATA, 1,
						false, &pa), 0);
			it.pa = pa;
			CHECK_EQ(spt_cursor_map(&c, &it, &prop_rw, NULL), 0);
		}
		CHECK_EQ(spt_cursor_jump(&c, va), 0);
		CHECK_EQ(spt_cursor_unmap(&c, SZ_2M), 64);
		spt_cursor_drop(&c);
		/* A read-only cursor over a neighbour's range too. */
		CHECK_EQ(spt_cursor_new(&c, &t->e->pt, t->base ^ SZ_1G,
					(t->base ^ SZ_1G) + 4 * SZ_2M), 0);
		(void)spt_cursor_find_next(&c, 4 * SZ_2M);
		spt_cursor_drop(&c);
	}
	return NULL;
}

/* Threads on disjoint ranges under one 512 GiB node (no RCU: release late). */
static void test_threads(struct env *e, u64 base)
{
	struct thr t[4];
	unsigned int i;

	for (i = 0; i < 4; i++) {
		t[i].e = e;
		t[i].base = base + (i & 1) * SZ_1G + (i >> 1) * 8 * SZ_2M;
		spt_flusher_init(&t[i].fl);
		CHECK(!pthread_create(&t[i].tid, NULL, thr_main, &t[i]));
	}
	for (i = 0; i < 4; i++)
		CHECK(!pthread_join(t[i].tid, NULL));
	for (i = 0; i < 4; i++)
		spt_flusher_release(&t[i].fl, e->pool);
	ENV_CHECK(e);
}

/* Roots are 8 KiB aligned whatever the free lists look like. */
static void test_roots(struct env *e)
{
	struct spt_pt pts[5];
	u64 pas[5];
	unsigned int i;

	for (i = 0; i < 5; i++) {
		pas[i] = alloc_data(e, 1);
		CHECK_EQ(spt_pt_init(&pts[i], &e->cfg, e->pool, NULL), 0);
		CHECK(!(pts[i].root_pa & SZ_4K));
	}
	for (i = 0; i < 5; i++) {
		CHECK(spt_meta_put(spt_pool_meta(e->pool, pas[i])));
		spt_pool_free(e->pool, pas[i]);
		spt_pt_destroy(&pts[i], &e->fl);
	}
	env_release(e);
}

static void run(unsigned int levels)
{
	struct env e;
	u64 top = levels == 5 ? 1ULL << 56 : 1ULL << 47;

	env_init(&e, levels);
	CHECK_EQ(spt_cfg_user_end(&e.cfg), top);
	test_roots(&e);
	test_small(&e, top - 64 * SZ_1G + 0x3ff000);
	test_small(&e, 0x200000);
	test_huge(&e, 5 * SZ_1G + 8 * SZ_2M);
	test_untracked(&e, 7 * SZ_1G);
	test_failures(&e, 9 * SZ_1G + 0x5000);
	test_empty_cursor(&e, 11 * SZ_1G);
	test_threads(&e, 12 * SZ_1G);

	/* leave something mapped for destroy to tear down */
	{
		struct spt_cursor c;
		u64 pa = alloc_data(&e, 2);

		CHECK_EQ(spt_cursor_mut_new(&c, &e.pt, 40 * SZ_1G,
					    40 * SZ_1G + SZ_2M, &e.fl), 0);
		CHECK_EQ(spt_cursor_map(&c, &(struct spt_item){ .pa = pa,
				.level = 2, .tracked = true }, &prop_rw, NULL),
			 0);
		spt_cursor_drop(&c);
	}
	CHECK_EQ(spt_cursor_new(&(struct spt_cursor){ 0 }, &e.pt, 0, top + SZ_4K),
		 -EINVAL);
	env_fini(&e);
	printf("ok - smoke %u-level\n", levels);
}

int main(void)
{
	run(4);
	run(5);
	return failures;
}
