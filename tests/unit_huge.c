// SPDX-License-Identifier: GPL-2.0
/*
 * Huge leaves: 2 MiB and 1 GiB leaves at exactly aligned ranges, splits
 * (PA stride, property and PAT kept, counts), split then re-map, tracked
 * huge frames split into 512 PTEs (refcount 512 + handles), partial unmaps
 * and the last reference going through the flusher back to the pool.
 */
#include <errno.h>

#include "testlib.h"

static void for_levels(void (*fn)(unsigned int levels))
{
	fn(4);
	fn(5);
}

/* Walk every leaf of [s, e) and check a linear mapping pa0 + (va - s). */
static void check_linear(struct tenv *e, u64 s, u64 end, u64 pa0,
			 unsigned int want_level, u8 flags, u8 cache)
{
	struct spt_cursor c;
	struct spt_query q;
	u64 va;

	REQUIRE_EQ(spt_cursor_new(&c, &e->pt, s, end), 0);
	for (va = s; va < end; va = q.va_end) {
		REQUIRE_EQ(spt_cursor_jump(&c, va), 0);
		REQUIRE_EQ(spt_cursor_query(&c, &q), 0);
		if (!CHECKF(q.mapped && q.va_start == va &&
			    q.item.pa == pa0 + (va - s) &&
			    (!want_level || q.level == want_level) &&
			    q.prop.flags == flags && q.prop.cache == cache,
			    "va %#llx: mapped %d start %#llx pa %#llx level %u prop %#x/%u",
			    (unsigned long long)va, q.mapped,
			    (unsigned long long)q.va_start,
			    (unsigned long long)q.item.pa, q.level,
			    q.prop.flags, q.prop.cache))
			break;
	}
	spt_cursor_drop(&c);
}

/* Cursors exactly over one 2 MiB / 1 GiB leaf. */
static void exact_ranges_l(unsigned int levels)
{
	static const unsigned int lv[] = { 2, 3 };
	unsigned int i, lvl;
	struct tenv e;

	tenv_init(&e, levels);
	for (i = 0; i < ARRAY_SIZE(lv); i++) {
		u64 size = spt_level_size(lv[i]);
		u64 va = 5 * SZ_512G + 7 * size;
		struct spt_cursor c;
		struct spt_query q;
		unsigned long replaced = 7;

		REQUIRE_EQ(spt_cursor_mut_new(&c, &e.pt, va, va + size, &e.fl),
			   0);
		CHECK_EQ(tl_map(&e, &c, 3 * SZ_1G, lv[i], false, SPT_PROT_WRITE,
				SPT_CACHE_WC, false, &replaced), 0);
		CHECK_EQ(replaced, 0);
		CHECK_EQ(spt_cursor_va(&c), va + size);
		REQUIRE_EQ(spt_cursor_jump(&c, va + size - SZ_4K), 0);
		REQUIRE_EQ(spt_cursor_query(&c, &q), 0);
		CHECK(q.mapped && q.va_start == va && q.va_end == va + size &&
		      q.level == lv[i] && q.item.pa == 3 * SZ_1G);
		spt_cursor_drop(&c);
		CHECK(tl_raw_walk(&e, va, &lvl) & X86_PS);
		CHECK_EQ(lvl, lv[i]);
		CHECK(tenv_check(&e));
		CHECK_EQ(tl_nr_leaves(&e), 1);
		REQUIRE_EQ(spt_cursor_mut_new(&c, &e.pt, va, va + size, &e.fl),
			   0);
		CHECK_EQ(spt_cursor_unmap(&c, size), 1);
		spt_cursor_drop(&c);
		CHECK_EQ(tl_nr_nodes(&e), 1);
		CHECK_EQ(tl_nr_leaves(&e), 0);
		CHECK(tenv_check(&e));
	}
	tenv_fini(&e);
}

static void exact_ranges(void)
{
	for_levels(exact_ranges_l);
}

/* 1 GiB -> 2 MiB -> 4 KiB: addresses, property and PAT survive. */
static void split_1g_l(unsigned int levels)
{
	u64 g = 2 * SZ_512G + 3 * SZ_1G, pa = 7 * SZ_1G, hole;
	u8 fl = SPT_PROT_WRITE | SPT_PROT_USER | SPT_PROT_ACCESSED;
	struct spt_pt_counts cn;
	struct spt_cursor c;
	struct tenv e;
	unsigned int lvl;
	u64 pte;

	tenv_init(&e, levels);
	REQUIRE_EQ(spt_cursor_mut_new(&c, &e.pt, g, g + SZ_1G, &e.fl), 0);
	CHECK_EQ(tl_map(&e, &c, pa, 3, false, fl, SPT_CACHE_WT, false, NULL),
		 0);
	/* unmap one 4 KiB page in the middle */
	hole = g + 300 * SZ_2M + 17 * SZ_4K;
	REQUIRE_EQ(spt_cursor_jump(&c, hole), 0);
	CHECK_EQ(spt_cursor_unmap(&c, SZ_4K), 1);
	spt_cursor_drop(&c);
	CHECK(tenv_check(&e));
	spt_pt_count(&e.pt, &cn);
	CHECK_EQ(cn.leaves[2], 0);
	CHECK_EQ(cn.leaves[1], 511);
	CHECK_EQ(cn.leaves[0], 511);
	/* WT has PAT: bit 12 in the 2 MiB pieces, bit 7 in the 4 KiB ones */
	pte = tl_raw_walk(&e, g, &lvl);
	CHECK_EQ(lvl, 2);
	CHECK((pte & (X86_PATHUGE | X86_PCD | X86_PWT | X86_PS)) ==
	      (X86_PATHUGE | X86_PCD | X86_PWT | X86_PS));
	CHECK_EQ(pte & e.cfg.pa_mask & ~(SZ_2M - 1), pa);
	pte = tl_raw_walk(&e, hole - SZ_4K, &lvl);
	CHECK_EQ(lvl, 1);
	CHECK((pte & (X86_PAT4K | X86_PCD | X86_PWT)) ==
	      (X86_PAT4K | X86_PCD | X86_PWT));
	CHECK_EQ(pte & e.cfg.pa_mask, pa + (hole - SZ_4K - g));
	CHECK_EQ(tl_raw_walk(&e, hole, &lvl), 0);
	check_linear(&e, g, hole, pa, 0, fl, SPT_CACHE_WT);
	check_linear(&e, hole + SZ_4K, g + SZ_1G, pa + (hole + SZ_4K - g), 0,
		     fl, SPT_CACHE_WT);
	/* map the page back: 512 4 KiB leaves, nothing merged */
	REQUIRE_EQ(spt_cursor_mut_new(&c, &e.pt, hole, hole + SZ_4K, &e.fl),
		   0);
	CHECK_EQ(tl_map(&e, &c, pa + (hole - g), 1, false, fl, SPT_CACHE_WT,
			false, NULL), 0);
	spt_cursor_drop(&c);
	check_linear(&e, g, g + SZ_1G, pa, 0, fl, SPT_CACHE_WT);
	spt_pt_count(&e.pt, &cn);
	CHECK_EQ(cn.leaves[1], 511);
	CHECK_EQ(cn.leaves[0], 512);
	/* and re-map the whole as 1 GiB again: everything below goes */
	REQUIRE_EQ(spt_cursor_mut_new(&c, &e.pt, g, g + SZ_1G, &e.fl), 0);
	CHECK_EQ(tl_map(&e, &c, pa, 3, false, 0, SPT_CACHE_WB, false, NULL),
		 0);
	spt_cursor_drop(&c);
	spt_pt_count(&e.pt, &cn);
	CHECK_EQ(cn.leaves[0] + cn.leaves[1], 0);
	CHECK_EQ(cn.leaves[2], 1);
	CHECK_EQ(cn.nodes[0] + cn.nodes[1], 0);
	CHECK(tenv_check(&e));
	tenv_fini(&e);
}

static void split_1g(void)
{
	for_levels(split_1g_l);
}

/* Split 2 MiB, then re-map the 2 MiB: the PTE table is freed. */
static void split_remap_2m_l(unsigned int levels)
{
	u64 va = SZ_1G + 4 * SZ_2M, pa = 1ULL << 42, nodes;
	unsigned long replaced;
	struct spt_cursor c;
	struct tenv e;

	tenv_init(&e, levels);
	REQUIRE_EQ(spt_cursor_mut_new(&c, &e.pt, va, va + SZ_2M, &e.fl), 0);
	CHECK_EQ(tl_map(&e, &c, pa, 2, false, SPT_PROT_EXEC, SPT_CACHE_UC, false,
			NULL), 0);
	spt_cursor_drop(&c);
	nodes = tl_nr_nodes(&e);
	/* protect the first and the last page only: two splits? one. */
	REQUIRE_EQ(spt_cursor_mut_new(&c, &e.pt, va, va + SZ_2M, &e.fl), 0);
	{
		struct spt_prot_op op = { .set = SPT_PROT_WRITE, .cache = -1 };
		u64 s, en;

		CHECK_EQ(spt_cursor_protect_next(&c, SZ_4K, &op, &s, &en), 1);
		CHECK_EQ(s, va);
		CHECK_EQ(en, va + SZ_4K);
		REQUIRE_EQ(spt_cursor_jump(&c, va + SZ_2M - SZ_4K), 0);
		CHECK_EQ(spt_cursor_protect_next(&c, SZ_4K, &op, &s, &en), 1);
		CHECK_EQ(s, va + SZ_2M - SZ_4K);
	}
	spt_cursor_drop(&c);
	CHECK_EQ(tl_nr_nodes(&e), nodes + 1);
	CHECK_EQ(tl_nr_leaves(&e), 512);
	check_linear(&e, va + SZ_4K, va + SZ_2M - SZ_4K, pa + SZ_4K, 1,
		     SPT_PROT_EXEC, SPT_CACHE_UC);
	check_linear(&e, va, va + SZ_4K, pa, 1, SPT_PROT_EXEC | SPT_PROT_WRITE,
		     SPT_CACHE_UC);
	REQUIRE_EQ(spt_cursor_mut_new(&c, &e.pt, va, va + SZ_2M, &e.fl), 0);
	CHECK_EQ(tl_map(&e, &c, pa, 2, false, SPT_PROT_EXEC, SPT_CACHE_UC, false,
			&replaced), 0);
	CHECK_EQ(replaced, 512);
	spt_cursor_drop(&c);
	CHECK_EQ(tl_nr_nodes(&e), nodes);
	CHECK_EQ(tl_nr_leaves(&e), 1);
	CHECK(tenv_check(&e));
	tenv_fini(&e);
}

static void split_remap_2m(void)
{
	for_levels(split_remap_2m_l);
}

/* A tracked 2 MiB frame: split, partial unmaps, last ref via the flusher. */
static void tracked_huge_l(unsigned int levels)
{
	u64 va = 3 * SZ_1G, f, used0;
	struct spt_pool_stats st;
	struct spt_cursor c;
	struct tenv e;

	tenv_init(&e, levels);
	f = tl_frame_alloc(&e, 2);
	CHECK_EQ(tl_ref(&e, f), 1);
	CHECK_EQ(tl_meta(&e, f)->usage, SPT_USAGE_DATA);
	CHECK_EQ(tl_meta(&e, f)->level, 2);
	CHECK_EQ(tl_meta(&e, f + SZ_4K)->usage, SPT_USAGE_TAIL);
	CHECK_EQ(tl_meta(&e, f + SZ_2M - SZ_4K)->usage, SPT_USAGE_TAIL);
	REQUIRE_EQ(spt_cursor_mut_new(&c, &e.pt, va, va + 2 * SZ_2M, &e.fl),
		   0);
	/* twice: two leaves, and the handle kept */
	CHECK_EQ(tl_map(&e, &c, f, 2, true, SPT_PROT_WRITE, 0, true, NULL), 0);
	CHECK_EQ(tl_map(&e, &c, f, 2, true, SPT_PROT_WRITE, 0, true, NULL), 0);
	CHECK_EQ(tl_ref(&e, f), 3);
	spt_cursor_drop(&c);
	CHECK(tenv_check(&e));
	/* split the first leaf: 512 PTEs + 1 leaf + 1 handle */
	REQUIRE_EQ(spt_cursor_mut_new(&c, &e.pt, va + 5 * SZ_4K,
				      va + 6 * SZ_4K, &e.fl), 0);
	{
		struct spt_prot_op op = { .clear = SPT_PROT_WRITE, .cache = -1 };
		u64 s, en;

		CHECK_EQ(spt_cursor_protect_next(&c, SZ_4K, &op, &s, &en), 1);
	}
	spt_cursor_drop(&c);
	CHECK_EQ(tl_ref(&e, f), 512 + 1 + 1);
	CHECK(tenv_check(&e));
	/* the tails are still tails, never counted */
	CHECK_EQ(spt_meta_ref(tl_meta(&e, f + 5 * SZ_4K)), 0);
	/* partial unmap: 3 pages */
	REQUIRE_EQ(spt_cursor_mut_new(&c, &e.pt, va, va + 2 * SZ_2M, &e.fl),
		   0);
	REQUIRE_EQ(spt_cursor_jump(&c, va + 10 * SZ_4K), 0);
	CHECK_EQ(spt_cursor_unmap(&c, 3 * SZ_4K), 3);
	CHECK_EQ(tl_ref(&e, f), 509 + 1 + 1);
	/* unmap the second 2 MiB leaf and all but the last page */
	REQUIRE_EQ(spt_cursor_jump(&c, va), 0);
	CHECK_EQ(spt_cursor_unmap(&c, SZ_2M - SZ_4K), 508);
	REQUIRE_EQ(spt_cursor_jump(&c, va + SZ_2M), 0);
	CHECK_EQ(spt_cursor_unmap(&c, SZ_2M), 1);
	CHECK_EQ(tl_ref(&e, f), 1 + 1);
	spt_cursor_drop(&c);
	CHECK(tenv_check(&e));
	/* drop the handle: the mapping keeps it alive */
	tl_handle_put(&e, f);
	CHECK_EQ(tl_ref(&e, f), 1);
	CHECK(tenv_check(&e));
	spt_flusher_release(&e.fl, e.pool);
	spt_pool_get_stats(e.pool, &st);
	used0 = st.used_frames;
	CHECK_EQ(st.data_frames, 512);
	/* last PTE: the frame is queued, not freed, until flusher release */
	REQUIRE_EQ(spt_cursor_mut_new(&c, &e.pt, va, va + 2 * SZ_2M, &e.fl),
		   0);
	REQUIRE_EQ(spt_cursor_jump(&c, va + SZ_2M - SZ_4K), 0);
	CHECK_EQ(spt_cursor_unmap(&c, SZ_4K), 1);
	spt_cursor_drop(&c);
	CHECK_EQ(e.fl.nr_frames, 1);
	CHECK(e.fl.nr_nodes >= 1);
	CHECK(e.fl.flush_start <= va + SZ_2M - SZ_4K &&
	      e.fl.flush_end >= va + SZ_2M);
	CHECK_EQ(tl_ref(&e, f), 0);
	CHECK_EQ(tl_pool_used(e.pool), used0);
	spt_flusher_release(&e.fl, e.pool);
	spt_pool_get_stats(e.pool, &st);
	CHECK_EQ(st.data_frames, 0);
	CHECK_EQ(st.used_frames, used0 - 512 - (levels - 1));
	CHECK_EQ(tl_ref(&e, f), SPT_REF_UNUSED);
	CHECK_EQ(e.fl.nr_frames + e.fl.nr_nodes + e.fl.head, 0);
	tenv_fini(&e);
}

static void tracked_huge(void)
{
	for_levels(tracked_huge_l);
}

/* 4 KiB pages of a tracked 2 MiB frame after split: tracked, right pa. */
static void tracked_split_query_l(unsigned int levels)
{
	u64 va = SZ_512G * 7, f;
	struct spt_cursor c;
	struct spt_query q;
	struct tenv e;
	unsigned int i;

	tenv_init(&e, levels);
	f = tl_frame_alloc(&e, 2);
	REQUIRE_EQ(spt_cursor_mut_new(&c, &e.pt, va, va + SZ_2M, &e.fl), 0);
	CHECK_EQ(tl_map(&e, &c, f, 2, true, SPT_PROT_WRITE, SPT_CACHE_WC, false,
			NULL), 0);
	REQUIRE_EQ(spt_cursor_jump(&c, va + SZ_1G / 1024), 0);
	CHECK_EQ(spt_cursor_unmap(&c, SZ_4K), 1);
	for (i = 0; i < 512; i += 37) {
		REQUIRE_EQ(spt_cursor_jump(&c, va + i * SZ_4K), 0);
		REQUIRE_EQ(spt_cursor_query(&c, &q), 0);
		if (va + i * SZ_4K == va + SZ_1G / 1024) {
			CHECK(!q.mapped);
			continue;
		}
		CHECK(q.mapped && q.item.tracked && q.level == 1 &&
		      q.item.pa == f + i * SZ_4K &&
		      q.prop.flags == SPT_PROT_WRITE &&
		      q.prop.cache == SPT_CACHE_WC);
	}
	spt_cursor_drop(&c);
	CHECK_EQ(tl_ref(&e, f), 511);
	CHECK(tenv_check(&e));
	tenv_fini(&e);
	CHECK(1);
}

static void tracked_split_query(void)
{
	for_levels(tracked_split_query_l);
}

static const struct tap_case cases[] = {
	TAP_CASE(exact_ranges),
	TAP_CASE(split_1g),
	TAP_CASE(split_remap_2m),
	TAP_CASE(tracked_huge),
	TAP_CASE(tracked_split_query),
};

int main(int argc, char **argv)
{
	return tap_main(cases, ARRAY_SIZE(cases), argc, argv);
}
