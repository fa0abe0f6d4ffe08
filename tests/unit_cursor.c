// SPDX-License-Identifier: GPL-2.0
/*
 * Cursor operations and their edges: range validation (zero length,
 * unaligned, non-canonical, kernel half, wrap-around), the last page of the
 * user half, jump, query, find_next, map (advance, replacing semantics),
 * map runs (validation, stopping at a bad frame, counters), unmap (absent
 * ranges skipped, count, empty nodes freed), protect_next
 * across mixed leaf sizes, spt_largest_level, read-only cursors.
 */
#include <errno.h>

#include "testlib.h"

#define PA0 (1ULL << 40)

static void for_levels(void (*fn)(unsigned int levels))
{
	fn(4);
	fn(5);
}

/* Only the root is left. */
static void check_only_root(struct tenv *e)
{
	struct spt_pt_counts cn;
	unsigned int i;

	spt_pt_count(&e->pt, &cn);
	for (i = 0; i < SPT_MAX_LEVELS; i++)
		CHECK_EQ(cn.nodes[i], i == e->cfg.levels - 1);
	for (i = 0; i < SPT_MAX_LEAF_LEVEL; i++)
		CHECK_EQ(cn.leaves[i], 0);
}

static void range_validation_l(unsigned int levels)
{
	struct spt_cursor c;
	struct tenv e;
	u64 ue;
	struct {
		u64 s, e;
	} bad[] = {
		{ 0, 0 },				/* zero length */
		{ SZ_2M, SZ_2M },
		{ SZ_2M, SZ_4K },			/* reversed */
		{ 1, SZ_2M },				/* unaligned */
		{ 0, SZ_4K + 1 },
		{ SZ_4K - 1, SZ_4K * 2 },
		{ 0, 0 },				/* end > user end */
		{ 0, 0 },				/* start = user end */
		{ 0, 0 },				/* non-canonical */
		{ 0xffff800000000000ULL, 0xffff800000200000ULL },
		{ 0xffffffffffe00000ULL, 0xfffffffffffff000ULL },
		{ 0xfffffffffffff000ULL, 0 },		/* wraps */
		{ 0, 0 },				/* wraps */
	};
	unsigned int i;

	tenv_init(&e, levels);
	ue = tenv_user_end(&e);
	bad[6].s = ue - SZ_2M;
	bad[6].e = ue + SZ_4K;
	bad[7].s = ue;
	bad[7].e = ue + SZ_4K;
	bad[8].s = ue * 2;			/* between the halves */
	bad[8].e = ue * 2 + SZ_4K;
	bad[12].s = ue - SZ_4K;
	bad[12].e = 0;
	for (i = 0; i < ARRAY_SIZE(bad); i++) {
		CHECKF(spt_cursor_new(&c, &e.pt, bad[i].s, bad[i].e) ==
		       -EINVAL, "levels %u: cursor_new [%#llx, %#llx)", levels,
		       (unsigned long long)bad[i].s,
		       (unsigned long long)bad[i].e);
		CHECKF(spt_cursor_mut_new(&c, &e.pt, bad[i].s, bad[i].e,
					  &e.fl) == -EINVAL,
		       "levels %u: cursor_mut_new [%#llx, %#llx)", levels,
		       (unsigned long long)bad[i].s,
		       (unsigned long long)bad[i].e);
	}
	check_only_root(&e);
	/* The extremes that are fine. */
	REQUIRE_EQ(spt_cursor_new(&c, &e.pt, 0, ue), 0);
	CHECK_EQ(spt_cursor_va(&c), 0);
	spt_cursor_drop(&c);
	REQUIRE_EQ(spt_cursor_mut_new(&c, &e.pt, 0, ue, &e.fl), 0);
	spt_cursor_drop(&c);
	REQUIRE_EQ(spt_cursor_mut_new(&c, &e.pt, ue - SZ_4K, ue, &e.fl), 0);
	CHECK_EQ(spt_cursor_va(&c), ue - SZ_4K);
	spt_cursor_drop(&c);
	/* A CursorMut that did nothing leaves no node behind. */
	check_only_root(&e);
	tenv_fini(&e);
}

static void range_validation(void)
{
	for_levels(range_validation_l);
}

/* The last page and the last 1 GiB of the user half. */
static void last_page_l(unsigned int levels)
{
	struct spt_cursor c;
	struct spt_query q;
	struct tenv e;
	unsigned int lvl;
	u64 ue;

	tenv_init(&e, levels);
	ue = tenv_user_end(&e);
	REQUIRE_EQ(spt_cursor_mut_new(&c, &e.pt, ue - SZ_4K, ue, &e.fl), 0);
	CHECK_EQ(tl_map(&e, &c, PA0, 1, false, SPT_PROT_WRITE, 0, false, NULL),
		 0);
	CHECK_EQ(spt_cursor_va(&c), ue);
	CHECK_EQ(spt_cursor_query(&c, &q), -ERANGE);
	CHECK_EQ(spt_cursor_jump(&c, ue), -EINVAL);
	REQUIRE_EQ(spt_cursor_jump(&c, ue - SZ_4K), 0);
	REQUIRE_EQ(spt_cursor_query(&c, &q), 0);
	CHECK(q.mapped && q.va_start == ue - SZ_4K && q.va_end == ue);
	/* a second map at the end has no room */
	CHECK_EQ(tl_map(&e, &c, PA0, 1, false, 0, 0, false, NULL), 0);
	CHECK_EQ(tl_map(&e, &c, PA0, 1, false, 0, 0, false, NULL), -EINVAL);
	spt_cursor_drop(&c);
	CHECK(tl_raw_walk(&e, ue - SZ_4K, &lvl));
	CHECK_EQ(lvl, 1);
	CHECK(tenv_check(&e));

	/* A 1 GiB leaf ending exactly at the end of the user half. */
	REQUIRE_EQ(spt_cursor_mut_new(&c, &e.pt, ue - SZ_1G, ue, &e.fl), 0);
	CHECK_EQ(tl_map(&e, &c, SZ_1G * 5, 3, false, SPT_PROT_WRITE, 0, false,
			NULL), 0);
	CHECK_EQ(spt_cursor_va(&c), ue);
	spt_cursor_drop(&c);
	CHECK(tl_raw_walk(&e, ue - SZ_4K, &lvl));
	CHECK_EQ(lvl, 3);
	CHECK(tenv_check(&e));
	REQUIRE_EQ(spt_cursor_mut_new(&c, &e.pt, ue - SZ_4K, ue, &e.fl), 0);
	CHECK_EQ(spt_cursor_unmap(&c, SZ_4K), 1);	/* after a split */
	CHECK_EQ(spt_cursor_va(&c), ue);
	spt_cursor_drop(&c);
	CHECK(tenv_check(&e));
	CHECK_EQ(tl_nr_leaves(&e), 511 + 511);
	REQUIRE_EQ(spt_cursor_mut_new(&c, &e.pt, ue - SZ_1G, ue, &e.fl), 0);
	CHECK_EQ(spt_cursor_unmap(&c, SZ_1G), 511 + 511);
	spt_cursor_drop(&c);
	check_only_root(&e);
	tenv_fini(&e);
}

static void last_page(void)
{
	for_levels(last_page_l);
}

/* Zero lengths, unaligned lengths, lengths that wrap or pass the end. */
static void lengths_l(unsigned int levels)
{
	struct spt_prot_op op = { .set = SPT_PROT_WRITE, .cache = -1 };
	struct spt_cursor c;
	struct tenv e;
	u64 s = 0, en = 0, base = SZ_1G;

	tenv_init(&e, levels);
	REQUIRE_EQ(spt_cursor_mut_new(&c, &e.pt, base, base + SZ_2M, &e.fl),
		   0);
	CHECK_EQ(tl_map(&e, &c, PA0, 1, false, 0, 0, false, NULL), 0);
	REQUIRE_EQ(spt_cursor_jump(&c, base), 0);
	/* zero length: nothing, no move */
	CHECK_EQ(spt_cursor_unmap(&c, 0), 0);
	CHECK_EQ(spt_cursor_va(&c), base);
	CHECK(!spt_cursor_find_next(&c, 0));
	CHECK_EQ(spt_cursor_va(&c), base);
	CHECK_EQ(spt_cursor_protect_next(&c, 0, &op, &s, &en), 0);
	CHECK_EQ(spt_cursor_va(&c), base);
	/* unaligned */
	CHECK_EQ(spt_cursor_unmap(&c, 100), -EINVAL);
	CHECK_EQ(spt_cursor_protect_next(&c, SZ_4K + 1, &op, &s, &en),
		 -EINVAL);
	CHECK_EQ(spt_cursor_jump(&c, base + 8), -EINVAL);
	CHECK_EQ(spt_cursor_va(&c), base);
	/* past the end, and wrapping around */
	CHECK_EQ(spt_cursor_unmap(&c, SZ_2M + SZ_4K), -EINVAL);
	CHECK_EQ(spt_cursor_unmap(&c, 0ULL - SZ_4K), -EINVAL);
	CHECK_EQ(spt_cursor_unmap(&c, 0ULL - base), -EINVAL);
	CHECK_EQ(spt_cursor_protect_next(&c, 0ULL - SZ_4K, &op, &s, &en),
		 -EINVAL);
	CHECK_EQ(spt_cursor_protect_next(&c, SZ_2M + SZ_4K, &op, &s, &en),
		 -EINVAL);
	CHECK(!spt_cursor_find_next(&c, 0ULL - SZ_4K));
	CHECK(!spt_cursor_find_next(&c, SZ_2M + SZ_4K));
	CHECK_EQ(spt_cursor_va(&c), base);
	/* nothing changed */
	CHECK_EQ(tl_nr_leaves(&e), 1);
	CHECK(tl_raw_walk(&e, base, &(unsigned int){0}) & X86_NX);
	CHECK(!(tl_raw_walk(&e, base, &(unsigned int){0}) & X86_RW));
	/* the full remaining length is fine */
	CHECK(spt_cursor_find_next(&c, SZ_2M));
	CHECK_EQ(spt_cursor_unmap(&c, SZ_2M), 1);
	CHECK_EQ(spt_cursor_va(&c), base + SZ_2M);
	CHECK(!spt_cursor_find_next(&c, 0));
	spt_cursor_drop(&c);
	check_only_root(&e);
	tenv_fini(&e);
}

static void lengths(void)
{
	for_levels(lengths_l);
}

/* Map: alignment, fit, advance; unaligned pa; level limits. */
static void map_args_l(unsigned int levels)
{
	struct spt_cursor c;
	struct tenv e;
	u64 base = 2 * SZ_1G, f;

	tenv_init(&e, levels);
	REQUIRE_EQ(spt_cursor_mut_new(&c, &e.pt, base, base + 2 * SZ_1G,
				      &e.fl), 0);
	/* va not aligned to the item's size */
	REQUIRE_EQ(spt_cursor_jump(&c, base + SZ_4K), 0);
	CHECK_EQ(tl_map(&e, &c, PA0, 2, false, 0, 0, false, NULL), -EINVAL);
	CHECK_EQ(tl_map(&e, &c, PA0, 3, false, 0, 0, false, NULL), -EINVAL);
	/* pa not aligned to the item's size */
	REQUIRE_EQ(spt_cursor_jump(&c, base), 0);
	CHECK_EQ(tl_map(&e, &c, PA0 + SZ_4K, 2, false, 0, 0, false, NULL),
		 -EINVAL);
	CHECK_EQ(tl_map(&e, &c, PA0 + SZ_2M, 3, false, 0, 0, false, NULL),
		 -EINVAL);
	CHECK_EQ(tl_map(&e, &c, PA0 + 8, 1, false, 0, 0, false, NULL),
		 -EINVAL);
	/* no such leaf levels; tracked frames are never 1 GiB */
	CHECK_EQ(tl_map(&e, &c, PA0, 0, false, 0, 0, false, NULL), -EINVAL);
	CHECK_EQ(tl_map(&e, &c, 0, 4, false, 0, 0, false, NULL), -EINVAL);
	f = tl_frame_alloc(&e, 1);
	CHECK_EQ(tl_map(&e, &c, f, 3, true, 0, 0, true, NULL), -EINVAL);
	/* a 4 KiB frame mapped as a 2 MiB leaf is refused */
	CHECK_EQ(tl_map(&e, &c, f, 2, true, 0, 0, true, NULL), -EINVAL);
	CHECK_EQ(tl_ref(&e, f), 1);
	CHECK_EQ(spt_cursor_va(&c), base);
	CHECK_EQ(tl_nr_leaves(&e), 0);
	/* item does not fit before the end of the range */
	REQUIRE_EQ(spt_cursor_jump(&c, base + SZ_1G), 0);
	CHECK_EQ(tl_map(&e, &c, PA0, 3, false, 0, 0, false, NULL), 0);
	CHECK_EQ(spt_cursor_va(&c), base + 2 * SZ_1G);
	CHECK_EQ(tl_map(&e, &c, PA0, 1, false, 0, 0, false, NULL), -EINVAL);
	REQUIRE_EQ(spt_cursor_jump(&c, base + 2 * SZ_1G - SZ_2M), 0);
	CHECK_EQ(tl_map(&e, &c, PA0, 2, false, 0, 0, false, NULL), 0);
	CHECK_EQ(spt_cursor_va(&c), base + 2 * SZ_1G);
	spt_cursor_drop(&c);
	REQUIRE_EQ(spt_cursor_mut_new(&c, &e.pt, base, base + SZ_2M + SZ_4K,
				      &e.fl), 0);
	CHECK_EQ(tl_map(&e, &c, PA0, 2, false, 0, 0, false, NULL), 0);
	CHECK_EQ(tl_map(&e, &c, PA0, 2, false, 0, 0, false, NULL), -EINVAL);
	CHECK_EQ(tl_map(&e, &c, PA0, 1, false, 0, 0, false, NULL), 0);
	spt_cursor_drop(&c);
	CHECK(tenv_check(&e));
	tenv_fini(&e);
}

static void map_args(void)
{
	for_levels(map_args_l);
}

/* Jump: inside, backwards, the edges of the range. */
/*
 * spt_cursor_map_run(): validated once (nothing done), then frame by
 * frame: stops at the first bad frame with the exact count, the frames
 * before it mapped and their handles taken over; the table's counters
 * follow.
 */
static void map_run_l(unsigned int levels)
{
	struct spt_prop prop = { .flags = SPT_PROT_WRITE };
	struct spt_map_run run = { .level = 1, .tracked = true };
	u64 base = SZ_1G, pas[5];
	struct spt_pt_counts cn;
	struct spt_cursor c;
	unsigned long done;
	struct tenv e;
	unsigned int i;

	tenv_init(&e, levels);
	for (i = 0; i < 5; i++)
		pas[i] = tl_frame_alloc(&e, i == 3 ? 2 : 1);
	/* a read-only cursor maps nothing */
	REQUIRE_EQ(spt_cursor_new(&c, &e.pt, base, base + 16 * SZ_4K), 0);
	run.pas = pas;
	run.nr = 3;
	CHECK_EQ(spt_cursor_map_run(&c, &run, &prop, &done), -EINVAL);
	CHECK_EQ(done, 0);
	spt_cursor_drop(&c);
	REQUIRE_EQ(spt_cursor_mut_new(&c, &e.pt, base, base + 16 * SZ_4K,
				      &e.fl), 0);
	/* more leaves than the range holds; a level above the guard */
	run.nr = 17;
	CHECK_EQ(spt_cursor_map_run(&c, &run, &prop, &done), -EINVAL);
	CHECK_EQ(done, 0);
	run.nr = 1;
	run.level = 2;
	CHECK_EQ(spt_cursor_map_run(&c, &run, &prop, &done), -EINVAL);
	run.level = 1;
	/* the 2 MiB frame at index 3 stops the run after 3 leaves */
	run.nr = 5;
	CHECK_EQ(spt_cursor_map_run(&c, &run, &prop, &done), -EINVAL);
	CHECK_EQ(done, 3);
	CHECK_EQ(spt_cursor_va(&c), base + 3 * SZ_4K);
	for (i = 0; i < 3; i++) {
		u64map_add(&e.handles, pas[i], -1);
		CHECK_EQ(tl_ref(&e, pas[i]), 1);
	}
	CHECK_EQ(tl_ref(&e, pas[3]), 1);
	CHECK_EQ(tl_ref(&e, pas[4]), 1);
	spt_pt_counts_read(&e.pt, &cn);
	CHECK_EQ(cn.leaves[0], 3);
	CHECK_EQ(cn.nodes[0], 1);
	/* a contiguous run is checked whole: misaligned, then past pa_mask */
	run.pas = NULL;
	run.tracked = false;
	run.nr = 13;
	run.pa = PA0 + 0x800;
	CHECK_EQ(spt_cursor_map_run(&c, &run, &prop, &done), -EINVAL);
	CHECK_EQ(done, 0);
	run.pa = e.cfg.pa_mask - 4 * SZ_4K + SZ_4K;
	CHECK_EQ(spt_cursor_map_run(&c, &run, &prop, &done), -EINVAL);
	CHECK_EQ(done, 0);
	run.pa = PA0;
	CHECK_EQ(spt_cursor_map_run(&c, &run, &prop, &done), 0);
	CHECK_EQ(done, 13);
	CHECK_EQ(spt_cursor_va(&c), base + 16 * SZ_4K);
	/* over what is there: replaced leaf by leaf */
	REQUIRE_EQ(spt_cursor_jump(&c, base), 0);
	run.nr = 16;
	CHECK_EQ(spt_cursor_map_run(&c, &run, &prop, &done), 0);
	CHECK_EQ(done, 16);
	spt_pt_counts_read(&e.pt, &cn);
	CHECK_EQ(cn.leaves[0], 16);
	for (i = 0; i < 3; i++)
		CHECK_EQ(tl_ref(&e, pas[i]), 0);
	spt_cursor_drop(&c);
	spt_flusher_release(&e.fl, e.pool);
	for (i = 0; i < 3; i++)
		CHECK_EQ(u64map_get(&e.handles, pas[i]), 0);
	CHECK(tenv_check(&e));
	tenv_fini(&e);
}

static void map_run(void)
{
	for_levels(map_run_l);
}

static void jump_l(unsigned int levels)
{
	struct spt_cursor c;
	struct tenv e;
	u64 s = SZ_512G - SZ_2M, en = SZ_512G + SZ_2M;

	tenv_init(&e, levels);
	REQUIRE_EQ(spt_cursor_new(&c, &e.pt, s, en), 0);
	CHECK_EQ(spt_cursor_jump(&c, s), 0);
	CHECK_EQ(spt_cursor_jump(&c, en - SZ_4K), 0);
	CHECK_EQ(spt_cursor_va(&c), en - SZ_4K);
	CHECK_EQ(spt_cursor_jump(&c, SZ_512G), 0);	/* backwards */
	CHECK_EQ(spt_cursor_va(&c), SZ_512G);
	CHECK_EQ(spt_cursor_jump(&c, en), -EINVAL);
	CHECK_EQ(spt_cursor_jump(&c, s - SZ_4K), -EINVAL);
	CHECK_EQ(spt_cursor_jump(&c, 0), -EINVAL);
	CHECK_EQ(spt_cursor_jump(&c, ~0ULL & ~(SZ_4K - 1)), -EINVAL);
	CHECK_EQ(spt_cursor_va(&c), SZ_512G);
	spt_cursor_drop(&c);
	tenv_fini(&e);
}

static void jump(void)
{
	for_levels(jump_l);
}

/* Query of mapped and absent slots; absent spans are whole entries. */
static void query_l(unsigned int levels)
{
	struct spt_cursor c;
	struct spt_query q;
	struct tenv e;
	u64 va = SZ_512G + SZ_1G + SZ_2M + 3 * SZ_4K, ue;

	tenv_init(&e, levels);
	ue = tenv_user_end(&e);
	/* Empty table: the root's entry. */
	REQUIRE_EQ(spt_cursor_new(&c, &e.pt, va, va + SZ_4K), 0);
	REQUIRE_EQ(spt_cursor_query(&c, &q), 0);
	CHECK(!q.mapped);
	CHECK_EQ(q.level, levels);
	CHECK_EQ(q.va_start, va & ~(spt_level_size(levels) - 1));
	CHECK_EQ(q.va_end, q.va_start + spt_level_size(levels));
	spt_cursor_drop(&c);

	tl_map_range(&e, va, PA0, 1, SPT_PROT_WRITE | SPT_PROT_USER);
	REQUIRE_EQ(spt_cursor_new(&c, &e.pt, 0, ue), 0);
	REQUIRE_EQ(spt_cursor_jump(&c, va), 0);
	REQUIRE_EQ(spt_cursor_query(&c, &q), 0);
	CHECK(q.mapped);
	CHECK_EQ(q.va_start, va);
	CHECK_EQ(q.va_end, va + SZ_4K);
	CHECK_EQ(q.level, 1);
	CHECK_EQ(q.item.level, 1);
	CHECK_EQ(q.item.pa, PA0);
	CHECK_EQ(q.prop.flags, SPT_PROT_WRITE | SPT_PROT_USER);
	CHECK_EQ(spt_cursor_va(&c), va);	/* query does not move */
	/* absent neighbours at each level of the path */
	REQUIRE_EQ(spt_cursor_jump(&c, va + SZ_4K), 0);
	REQUIRE_EQ(spt_cursor_query(&c, &q), 0);
	CHECK(!q.mapped);
	CHECK_EQ(q.level, 1);
	CHECK_EQ(q.va_start, va + SZ_4K);
	CHECK_EQ(q.va_end, va + 2 * SZ_4K);
	REQUIRE_EQ(spt_cursor_jump(&c, va + SZ_2M), 0);
	REQUIRE_EQ(spt_cursor_query(&c, &q), 0);
	CHECK(!q.mapped);
	CHECK_EQ(q.level, 2);
	CHECK_EQ(q.va_start, SZ_512G + SZ_1G + 2 * SZ_2M);
	REQUIRE_EQ(spt_cursor_jump(&c, SZ_512G), 0);
	REQUIRE_EQ(spt_cursor_query(&c, &q), 0);
	CHECK(!q.mapped);
	CHECK_EQ(q.level, 3);
	CHECK_EQ(q.va_start, SZ_512G);
	CHECK_EQ(q.va_end, SZ_512G + SZ_1G);
	REQUIRE_EQ(spt_cursor_jump(&c, 0), 0);
	REQUIRE_EQ(spt_cursor_query(&c, &q), 0);
	CHECK(!q.mapped);
	CHECK_EQ(q.level, levels == 4 ? 4 : 4);
	CHECK_EQ(q.va_start, 0);
	CHECK_EQ(q.va_end, SZ_512G);
	REQUIRE_EQ(spt_cursor_jump(&c, ue - SZ_4K), 0);
	REQUIRE_EQ(spt_cursor_query(&c, &q), 0);
	CHECK(!q.mapped);
	CHECK_EQ(q.level, levels);
	CHECK_EQ(q.va_end, ue);
	spt_cursor_drop(&c);
	tenv_fini(&e);
}

static void query(void)
{
	for_levels(query_l);
}

/* find_next: to the next leaf's start, or stays on a mapped va. */
static void find_next_l(unsigned int levels)
{
	u64 b = 7 * SZ_1G;
	struct spt_cursor c;
	struct tenv e;

	tenv_init(&e, levels);
	tl_map_range(&e, b + SZ_2M, PA0, 2, 0);
	tl_map_range(&e, b + SZ_1G, PA0, 3, 0);
	tl_map_range(&e, b + SZ_1G + SZ_1G + 5 * SZ_4K, PA0, 1, 0);
	REQUIRE_EQ(spt_cursor_new(&c, &e.pt, b, b + 4 * SZ_1G), 0);
	CHECK(spt_cursor_find_next(&c, 4 * SZ_1G));
	CHECK_EQ(spt_cursor_va(&c), b + SZ_2M);
	/* mapped at va: stays */
	REQUIRE_EQ(spt_cursor_jump(&c, b + SZ_2M + 9 * SZ_4K), 0);
	CHECK(spt_cursor_find_next(&c, SZ_4K));
	CHECK_EQ(spt_cursor_va(&c), b + SZ_2M + 9 * SZ_4K);
	/* not within len: moves to va + len */
	REQUIRE_EQ(spt_cursor_jump(&c, b + 2 * SZ_2M), 0);
	CHECK(!spt_cursor_find_next(&c, SZ_1G - 2 * SZ_2M));
	CHECK_EQ(spt_cursor_va(&c), b + SZ_1G);
	/* now at the 1 GiB leaf */
	CHECK(spt_cursor_find_next(&c, SZ_4K));
	CHECK_EQ(spt_cursor_va(&c), b + SZ_1G);
	REQUIRE_EQ(spt_cursor_jump(&c, b + 2 * SZ_1G - SZ_4K), 0);
	CHECK(spt_cursor_find_next(&c, SZ_1G));
	CHECK_EQ(spt_cursor_va(&c), b + 2 * SZ_1G - SZ_4K);
	REQUIRE_EQ(spt_cursor_jump(&c, b + 2 * SZ_1G), 0);
	CHECK(spt_cursor_find_next(&c, 2 * SZ_1G));
	CHECK_EQ(spt_cursor_va(&c), b + 2 * SZ_1G + 5 * SZ_4K);
	REQUIRE_EQ(spt_cursor_jump(&c, b + 2 * SZ_1G + 6 * SZ_4K), 0);
	CHECK(!spt_cursor_find_next(&c, 2 * SZ_1G - 6 * SZ_4K));
	CHECK_EQ(spt_cursor_va(&c), b + 4 * SZ_1G);
	CHECK(!spt_cursor_find_next(&c, 0));
	spt_cursor_drop(&c);
	/* A window that starts inside a leaf begun before the range. */
	REQUIRE_EQ(spt_cursor_new(&c, &e.pt, b + SZ_1G + SZ_2M,
				  b + SZ_1G + 2 * SZ_2M), 0);
	CHECK(spt_cursor_find_next(&c, SZ_2M));
	CHECK_EQ(spt_cursor_va(&c), b + SZ_1G + SZ_2M);
	spt_cursor_drop(&c);
	tenv_fini(&e);
}

static void find_next(void)
{
	for_levels(find_next_l);
}

/* Map over existing mappings: replaced counts, splits, frees. */
static void map_replaces_l(unsigned int levels)
{
	u64 b = 9 * SZ_1G, f1, f2, fh;
	unsigned long replaced;
	struct spt_cursor c;
	struct spt_query q;
	struct tenv e;
	u64 nodes0;

	tenv_init(&e, levels);
	nodes0 = tl_nr_nodes(&e);
	f1 = tl_frame_alloc(&e, 1);
	f2 = tl_frame_alloc(&e, 1);
	fh = tl_frame_alloc(&e, 2);
	REQUIRE_EQ(spt_cursor_mut_new(&c, &e.pt, b, b + SZ_1G, &e.fl), 0);
	/* empty slot: 0 replaced */
	replaced = 99;
	CHECK_EQ(tl_map(&e, &c, f1, 1, true, SPT_PROT_WRITE, 0, false, &replaced),
		 0);
	CHECK_EQ(replaced, 0);
	CHECK_EQ(tl_ref(&e, f1), 1);
	/* same size: 1 replaced, the old frame's last ref goes to the flusher */
	REQUIRE_EQ(spt_cursor_jump(&c, b), 0);
	CHECK_EQ(tl_map(&e, &c, f2, 1, true, 0, 0, true, &replaced), 0);
	CHECK_EQ(replaced, 1);
	CHECK_EQ(e.fl.nr_frames, 1);
	CHECK(e.fl.flush_start <= b && e.fl.flush_end >= b + SZ_4K);
	CHECK_EQ(tl_ref(&e, f2), 2);
	REQUIRE_EQ(spt_cursor_jump(&c, b), 0);
	REQUIRE_EQ(spt_cursor_query(&c, &q), 0);
	CHECK(q.mapped && q.item.pa == f2 && q.prop.flags == 0);
	/* more 4 KiB leaves, then one 2 MiB leaf over all of them */
	REQUIRE_EQ(spt_cursor_jump(&c, b + SZ_4K), 0);
	CHECK_EQ(tl_map(&e, &c, f2, 1, true, 0, 0, true, NULL), 0);
	CHECK_EQ(tl_map(&e, &c, PA0, 1, false, 0, 0, false, NULL), 0);
	REQUIRE_EQ(spt_cursor_jump(&c, b + SZ_2M - SZ_4K), 0);
	CHECK_EQ(tl_map(&e, &c, PA0, 1, false, 0, 0, false, NULL), 0);
	CHECK_EQ(tl_ref(&e, f2), 3);
	REQUIRE_EQ(spt_cursor_jump(&c, b), 0);
	CHECK_EQ(tl_map(&e, &c, fh, 2, true, SPT_PROT_EXEC, 0, true, &replaced),
		 0);
	CHECK_EQ(replaced, 4);
	CHECK_EQ(tl_ref(&e, f2), 1);
	CHECK_EQ(tl_ref(&e, fh), 2);
	CHECK_EQ(spt_cursor_va(&c), b + SZ_2M);
	/* 4 KiB into the middle of the 2 MiB leaf: split, 1 replaced */
	REQUIRE_EQ(spt_cursor_jump(&c, b + 77 * SZ_4K), 0);
	CHECK_EQ(tl_map(&e, &c, PA0, 1, false, SPT_PROT_WRITE, 0, false,
			&replaced), 0);
	CHECK_EQ(replaced, 1);
	CHECK_EQ(tl_ref(&e, fh), 511 + 1);
	REQUIRE_EQ(spt_cursor_jump(&c, b + 76 * SZ_4K), 0);
	REQUIRE_EQ(spt_cursor_query(&c, &q), 0);
	CHECK(q.mapped && q.level == 1 && q.item.pa == fh + 76 * SZ_4K &&
	      q.item.tracked && q.prop.flags == SPT_PROT_EXEC);
	REQUIRE_EQ(spt_cursor_jump(&c, b + 77 * SZ_4K), 0);
	REQUIRE_EQ(spt_cursor_query(&c, &q), 0);
	CHECK(q.mapped && q.level == 1 && q.item.pa == PA0 &&
	      !q.item.tracked);
	spt_cursor_drop(&c);
	CHECK(tenv_check(&e));
	spt_flusher_release(&e.fl, e.pool);
	/* a 1 GiB leaf over all of it: every node below goes */
	REQUIRE_EQ(spt_cursor_mut_new(&c, &e.pt, b, b + SZ_1G, &e.fl), 0);
	CHECK_EQ(tl_map(&e, &c, SZ_1G * 3, 3, false, 0, 0, false, &replaced),
		 0);
	CHECK_EQ(replaced, 512);
	spt_cursor_drop(&c);
	CHECK_EQ(tl_ref(&e, fh), 1);
	CHECK_EQ(tl_nr_leaves(&e), 1);
	CHECK_EQ(tl_nr_nodes(&e), nodes0 + levels - 3);
	CHECK(tenv_check(&e));
	tenv_fini(&e);
}

static void map_replaces(void)
{
	for_levels(map_replaces_l);
}

/* Unmap: absent ranges skipped, the count, nodes freed, va moved. */
static void unmap_l(unsigned int levels)
{
	u64 b = SZ_512G - 2 * SZ_1G, ue, nodes0;
	struct spt_pt_counts cn;
	struct spt_cursor c;
	struct tenv e;
	unsigned long n0;

	tenv_init(&e, levels);
	ue = tenv_user_end(&e);
	nodes0 = tl_nr_nodes(&e);
	/* scattered leaves over two top-level entries */
	tl_map_range(&e, b + 5 * SZ_4K, PA0, 1, 0);
	tl_map_range(&e, b + 9 * SZ_2M, PA0, 2, 0);
	tl_map_range(&e, b + SZ_1G, PA0, 3, 0);
	tl_map_range(&e, SZ_512G + SZ_4K, PA0, 1, 0);
	tl_map_range(&e, SZ_512G + 3 * SZ_1G + SZ_4K, PA0, 1, 0);
	tl_map_range(&e, ue - SZ_4K, PA0, 1, 0);
	CHECK_EQ(tl_nr_leaves(&e), 6);
	CHECK(tenv_check(&e));
	/* an absent range: 0, cursor moved */
	REQUIRE_EQ(spt_cursor_mut_new(&c, &e.pt, 0, ue, &e.fl), 0);
	CHECK_EQ(spt_cursor_unmap(&c, b), 0);
	CHECK_EQ(spt_cursor_va(&c), b);
	CHECK_EQ(spt_cursor_unmap(&c, 5 * SZ_4K), 0);
	CHECK_EQ(spt_cursor_unmap(&c, SZ_4K), 1);
	CHECK_EQ(spt_cursor_va(&c), b + 6 * SZ_4K);
	/* several leaves of every size and holes in one call */
	CHECK_EQ(spt_cursor_unmap(&c, SZ_512G + 3 * SZ_1G + 2 * SZ_4K -
				  (b + 6 * SZ_4K)), 4);
	CHECK_EQ(spt_cursor_va(&c), SZ_512G + 3 * SZ_1G + 2 * SZ_4K);
	spt_cursor_drop(&c);
	CHECK(tenv_check(&e));
	spt_pt_count(&e.pt, &cn);
	CHECK_EQ(cn.leaves[0], 1);
	CHECK_EQ(cn.leaves[1] + cn.leaves[2], 0);
	/* nodes of the path to ue - 4K only */
	CHECK_EQ(tl_nr_nodes(&e), nodes0 + levels - 1);
	spt_flusher_release(&e.fl, e.pool);
	REQUIRE_EQ(spt_cursor_mut_new(&c, &e.pt, ue - SZ_1G, ue, &e.fl), 0);
	n0 = e.fl.nr_nodes;
	CHECK_EQ(spt_cursor_unmap(&c, SZ_1G), 1);
	spt_cursor_drop(&c);
	CHECK(e.fl.nr_nodes - n0 >= levels - 1);
	check_only_root(&e);
	spt_flusher_release(&e.fl, e.pool);
	CHECK_EQ(tl_pool_used(e.pool), 1);	/* the root */
	tenv_fini(&e);
}

static void unmap(void)
{
	for_levels(unmap_l);
}

/* protect_next over part of a 1 GiB leaf, whole 2 MiB leaves, 4 KiB. */
static void protect_mixed_l(unsigned int levels)
{
	struct spt_prot_op op = {
		.set = SPT_PROT_WRITE | SPT_PROT_USER, .clear = SPT_PROT_EXEC,
		.cache = SPT_CACHE_WT,
	};
	u64 g = 20 * SZ_1G, s = g + SZ_512G / 1024 + 2 * SZ_4K;
	u64 end = g + SZ_1G + 2 * SZ_2M + 2 * SZ_4K, rs, re, va;
	u8 old = SPT_PROT_EXEC | SPT_PROT_ACCESSED;
	unsigned int n4 = 0, n2 = 0, n;
	struct spt_pt_counts cn;
	struct spt_cursor c;
	struct spt_query q;
	struct tenv e;
	int ret;

	tenv_init(&e, levels);
	/* g: 1 GiB leaf; g+1G: two 2 MiB leaves; then four 4 KiB pages */
	REQUIRE_EQ(spt_cursor_mut_new(&c, &e.pt, g, g + 2 * SZ_1G, &e.fl), 0);
	CHECK_EQ(tl_map(&e, &c, 4 * SZ_1G, 3, false, old, 0, false, NULL), 0);
	CHECK_EQ(tl_map(&e, &c, 8 * SZ_1G, 2, false, old, 0, false, NULL), 0);
	CHECK_EQ(tl_map(&e, &c, 8 * SZ_1G + SZ_2M, 2, false, old, 0, false,
			NULL), 0);
	for (n = 0; n < 4; n++)
		CHECK_EQ(tl_map(&e, &c, 9 * SZ_1G + n * SZ_4K, 1, false, old,
				0, false, NULL), 0);
	spt_cursor_drop(&c);
	/* s = g + 512 MiB + 8 KiB */
	REQUIRE_EQ(spt_cursor_mut_new(&c, &e.pt, g, g + 2 * SZ_1G, &e.fl), 0);
	REQUIRE_EQ(spt_cursor_jump(&c, s), 0);
	va = s;
	for (n = 0; n < 2000; n++) {
		ret = spt_cursor_protect_next(&c, end - spt_cursor_va(&c), &op,
					      &rs, &re);
		if (ret != 1)
			break;
		CHECKF(rs == va, "range %u starts at %#llx, expected %#llx",
		       n, (unsigned long long)rs, (unsigned long long)va);
		if (re - rs == SZ_4K)
			n4++;
		else if (re - rs == SZ_2M)
			n2++;
		else
			CHECKF(0, "range %u: size %#llx", n,
			       (unsigned long long)(re - rs));
		CHECK_EQ(spt_cursor_va(&c), re);
		va = re;
	}
	CHECK_EQ(ret, 0);
	CHECK_EQ(spt_cursor_va(&c), end);
	CHECK_EQ(va, end);
	/* 510 pages + 255 leaves of the 1 GiB one, 2 + 2 after it */
	CHECK_EQ(n4, 510 + 2);
	CHECK_EQ(n2, 255 + 2);
	spt_cursor_drop(&c);
	CHECK(tenv_check(&e));
	spt_pt_count(&e.pt, &cn);
	CHECK_EQ(cn.leaves[2], 0);
	CHECK_EQ(cn.leaves[1], 511 + 2);
	CHECK_EQ(cn.leaves[0], 512 + 4);
	/* properties and addresses everywhere */
	REQUIRE_EQ(spt_cursor_new(&c, &e.pt, g, g + 2 * SZ_1G), 0);
	for (va = g; va < g + SZ_1G + 2 * SZ_2M + 4 * SZ_4K; va = q.va_end) {
		bool in = va >= s && va < end;
		u64 pa;

		REQUIRE_EQ(spt_cursor_jump(&c, va), 0);
		REQUIRE_EQ(spt_cursor_query(&c, &q), 0);
		REQUIRE(q.mapped);
		if (va < g + SZ_1G)
			pa = 4 * SZ_1G + (va - g);
		else if (va < g + SZ_1G + 2 * SZ_2M)
			pa = 8 * SZ_1G + (va - g - SZ_1G);
		else
			pa = 9 * SZ_1G + (va - g - SZ_1G - 2 * SZ_2M);
		CHECKF(q.item.pa == pa, "va %#llx: pa %#llx, expected %#llx",
		       (unsigned long long)va,
		       (unsigned long long)q.item.pa,
		       (unsigned long long)pa);
		CHECKF(q.prop.flags == (in ? SPT_PROT_WRITE | SPT_PROT_USER |
					SPT_PROT_ACCESSED : old) &&
		       q.prop.cache == (in ? SPT_CACHE_WT : SPT_CACHE_WB),
		       "va %#llx: prop %#x/%u", (unsigned long long)va,
		       q.prop.flags, q.prop.cache);
		if (tap_case_failed())
			break;
	}
	spt_cursor_drop(&c);
	tenv_fini(&e);
}

static void protect_mixed(void)
{
	for_levels(protect_mixed_l);
}

/* protect_next: nothing mapped; cache kept with -1; clear and set. */
static void protect_simple_l(unsigned int levels)
{
	struct spt_prot_op op = { .clear = SPT_PROT_WRITE, .cache = -1 };
	struct spt_cursor c;
	struct spt_query q;
	struct tenv e;
	u64 rs = 1, re = 1, b = 3 * SZ_1G;

	tenv_init(&e, levels);
	REQUIRE_EQ(spt_cursor_mut_new(&c, &e.pt, b, b + SZ_1G, &e.fl), 0);
	CHECK_EQ(spt_cursor_protect_next(&c, SZ_1G, &op, &rs, &re), 0);
	CHECK_EQ(spt_cursor_va(&c), b + SZ_1G);
	REQUIRE_EQ(spt_cursor_jump(&c, b + SZ_2M), 0);
	CHECK_EQ(tl_map(&e, &c, PA0, 2, false, SPT_PROT_WRITE | SPT_PROT_DIRTY,
			SPT_CACHE_UC, false, NULL), 0);
	REQUIRE_EQ(spt_cursor_jump(&c, b), 0);
	CHECK_EQ(spt_cursor_protect_next(&c, SZ_1G, &op, &rs, &re), 1);
	CHECK_EQ(rs, b + SZ_2M);
	CHECK_EQ(re, b + 2 * SZ_2M);
	CHECK_EQ(spt_cursor_va(&c), b + 2 * SZ_2M);
	CHECK_EQ(spt_cursor_protect_next(&c, SZ_1G - 2 * SZ_2M, &op, &rs,
					 &re), 0);
	REQUIRE_EQ(spt_cursor_jump(&c, b + SZ_2M), 0);
	REQUIRE_EQ(spt_cursor_query(&c, &q), 0);
	CHECK_EQ(q.prop.flags, SPT_PROT_DIRTY);
	CHECK_EQ(q.prop.cache, SPT_CACHE_UC);
	CHECK_EQ(q.level, 2);
	spt_cursor_drop(&c);
	tenv_fini(&e);
}

static void protect_simple(void)
{
	for_levels(protect_simple_l);
}

static void largest_level(void)
{
	static const struct {
		u64 va, pa, len;
		unsigned int max, want;
	} t[] = {
		{ 0, 0, SZ_4K, 3, 1 },
		{ 0, 0, SZ_2M, 3, 2 },
		{ 0, 0, SZ_2M - SZ_4K, 3, 1 },
		{ 0, 0, SZ_1G, 3, 3 },
		{ 0, 0, SZ_1G, 2, 2 },
		{ 0, 0, SZ_1G, 1, 1 },
		{ 0, 0, SZ_1G - SZ_4K, 3, 2 },
		{ SZ_1G, SZ_2M, SZ_1G, 3, 2 },		/* pa decides */
		{ SZ_2M, SZ_1G, SZ_1G, 3, 2 },		/* va decides */
		{ SZ_4K, 0, SZ_1G, 3, 1 },
		{ 0, SZ_4K, SZ_1G, 3, 1 },
		{ 5 * SZ_1G, 7 * SZ_1G, 2 * SZ_1G, 3, 3 },
		{ SZ_512G, 0, 3 * SZ_512G, 3, 3 },	/* never above 3 */
		{ 1ULL << 47, 0, 1ULL << 47, 3, 3 },
		{ SZ_2M * 3, SZ_2M * 5, SZ_2M, 3, 2 },
		{ SZ_2M * 3, SZ_2M * 5, SZ_2M + SZ_4K, 3, 2 },
	};
	unsigned int i;

	for (i = 0; i < ARRAY_SIZE(t); i++)
		CHECKF(spt_largest_level(t[i].va, t[i].pa, t[i].len,
					 t[i].max) == t[i].want,
		       "case %u: %u", i,
		       spt_largest_level(t[i].va, t[i].pa, t[i].len,
					 t[i].max));
}

/* A read-only cursor never allocates, even over an empty range. */
static void readonly_no_alloc_l(unsigned int levels)
{
	struct spt_cursor c;
	struct spt_query q;
	struct tenv e;
	u64 used;

	tenv_init(&e, levels);
	used = tl_pool_used(e.pool);
	REQUIRE_EQ(spt_cursor_new(&c, &e.pt, SZ_1G + SZ_4K, SZ_1G + 2 * SZ_4K),
		   0);
	CHECK_EQ(tl_pool_used(e.pool), used);
	REQUIRE_EQ(spt_cursor_query(&c, &q), 0);
	CHECK(!q.mapped);
	CHECK(!spt_cursor_find_next(&c, SZ_4K));
	spt_cursor_drop(&c);
	CHECK_EQ(tl_pool_used(e.pool), used);
	check_only_root(&e);
	tenv_fini(&e);
}

static void readonly_no_alloc(void)
{
	for_levels(readonly_no_alloc_l);
}

/* Cursors over disjoint ranges may live at the same time. */
static void disjoint_cursors_l(unsigned int levels)
{
	struct spt_cursor a, b;
	struct tenv e;

	tenv_init(&e, levels);
	/*
	 * Different covering nodes (two PTE tables). Cursors that share a
	 * covering node serialize on its lock, so in one thread they must
	 * not be open together.
	 */
	REQUIRE_EQ(spt_cursor_mut_new(&a, &e.pt, SZ_1G, SZ_1G + SZ_4K, &e.fl),
		   0);
	REQUIRE_EQ(spt_cursor_mut_new(&b, &e.pt, SZ_1G + SZ_2M,
				      SZ_1G + SZ_2M + SZ_4K, &e.fl), 0);
	CHECK_EQ(tl_map(&e, &a, PA0, 1, false, 0, 0, false, NULL), 0);
	CHECK_EQ(tl_map(&e, &b, PA0, 1, false, 0, 0, false, NULL), 0);
	spt_cursor_drop(&b);
	spt_cursor_drop(&a);
	CHECK_EQ(tl_nr_leaves(&e), 2);
	CHECK(tenv_check(&e));
	tenv_fini(&e);
}

static void disjoint_cursors(void)
{
	for_levels(disjoint_cursors_l);
}

static const struct tap_case cases[] = {
	TAP_CASE(range_validation),
	TAP_CASE(last_page),
	TAP_CASE(lengths),
	TAP_CASE(map_args),
	TAP_CASE(map_run),
	TAP_CASE(jump),
	TAP_CASE(query),
	TAP_CASE(find_next),
	TAP_CASE(map_replaces),
	TAP_CASE(unmap),
	TAP_CASE(protect_simple),
	TAP_CASE(protect_mixed),
	TAP_CASE(largest_level),
	TAP_CASE(readonly_no_alloc),
	TAP_CASE(disjoint_cursors),
};

int main(int argc, char **argv)
{
	return tap_main(cases, ARRAY_SIZE(cases), argc, argv);
}
