// SPDX-License-Identifier: GPL-2.0
/*
 * The invariant checker must notice every kind of corruption it promises
 * to: each case breaks one rule in the raw table or a slot, expects
 * -EUCLEAN with a message, repairs it and expects 0 again. Also the kernel
 * half: copied at creation, compared with kernel_top, never touched by
 * cursors (which cannot even reach it).
 */
#include <errno.h>

#include "testlib.h"

static bool check_fails(struct tenv *e, const char *what)
{
	char msg[256] = "";
	int ret;

	ret = spt_pt_check(&e->pt, e->ktop, true, tenv_handles_cb, e, msg,
			   sizeof(msg));
	if (!CHECKF(ret == -EUCLEAN, "%s: checker returned %d", what, ret))
		return false;
	CHECKF(msg[0], "%s: no message", what);
	tap_diag("%s: %s", what, msg);
	return true;
}

/* A table with a 4 KiB, a 2 MiB (tracked) and a 1 GiB leaf. */
static void build(struct tenv *e, unsigned int levels, u64 *f)
{
	struct spt_cursor c;

	tenv_init(e, levels);
	*f = tl_frame_alloc(e, 2);
	REQUIRE_EQ(spt_cursor_mut_new(&c, &e->pt, 0, 4 * SZ_1G, &e->fl), 0);
	REQUIRE_EQ(spt_cursor_jump(&c, SZ_1G + SZ_4K), 0);
	REQUIRE_EQ(tl_map(e, &c, 1ULL << 40, 1, false, SPT_PROT_WRITE, 0, false,
			  NULL), 0);
	REQUIRE_EQ(spt_cursor_jump(&c, SZ_1G + SZ_2M), 0);
	REQUIRE_EQ(tl_map(e, &c, *f, 2, true, SPT_PROT_WRITE, 0, true, NULL), 0);
	REQUIRE_EQ(spt_cursor_jump(&c, 2 * SZ_1G), 0);
	REQUIRE_EQ(tl_map(e, &c, 1ULL << 41, 3, false, 0, 0, false, NULL), 0);
	spt_cursor_drop(&c);
	REQUIRE(tenv_check(e));
}

#define BREAK_AND_FIX(e, what, lvalue, bad)				\
	do {								\
		__typeof__(lvalue) __old = (lvalue);			\
		(lvalue) = (bad);					\
		check_fails(e, what);					\
		(lvalue) = __old;					\
		CHECK(tenv_check(e));					\
	} while (0)

static void checker_catches_l(unsigned int levels)
{
	u64 *pte4k, *pte2m, *pte1g, *pde, *root;
	struct spt_meta *node;
	struct tenv e;
	u64 f, other;

	build(&e, levels, &f);
	pte4k = tl_raw_slot(&e, SZ_1G + SZ_4K, 1);
	pte2m = tl_raw_slot(&e, SZ_1G + SZ_2M, 2);
	pte1g = tl_raw_slot(&e, 2 * SZ_1G, 3);
	pde = tl_raw_slot(&e, SZ_1G, 2);	/* points at the PTE table */
	root = spt_pool_va(e.pool, e.pt.root_pa);
	REQUIRE(pte4k && pte2m && pte1g && pde);
	node = tl_meta(&e, *pde & e.cfg.pa_mask);

	if (e.cfg.pa_mask >> 51 == 0)
		BREAK_AND_FIX(&e, "reserved bit above MAXPHYADDR", *pte4k,
			      *pte4k | (1ULL << 51));
	BREAK_AND_FIX(&e, "unknown bit 52 set", *pte4k, *pte4k | (1ULL << 52));
	BREAK_AND_FIX(&e, "protection key bits", *pte4k, *pte4k | (1ULL << 60));
	BREAK_AND_FIX(&e, "global leaf", *pte4k, *pte4k | X86_G);
	BREAK_AND_FIX(&e, "misaligned 1 GiB leaf", *pte1g,
		      *pte1g | SZ_2M);
	BREAK_AND_FIX(&e, "misaligned 2 MiB leaf", *pte2m, *pte2m | SZ_4K * 2);
	BREAK_AND_FIX(&e, "absent entry not zero", root[200], 0x1000ULL);
	BREAK_AND_FIX(&e, "non-leaf to a non-pool address", *pde,
		      (*pde & ~e.cfg.pa_mask) | (1ULL << 44));
	BREAK_AND_FIX(&e, "non-leaf to a data frame", *pde,
		      (*pde & ~e.cfg.pa_mask) | f);
	BREAK_AND_FIX(&e, "non-leaf without US", *pde, *pde & ~X86_US);
	BREAK_AND_FIX(&e, "nr_children wrong", node->nr_children, 2);
	BREAK_AND_FIX(&e, "node refcount wrong", node->refcount.counter, 2);
	BREAK_AND_FIX(&e, "node level wrong", node->level, 2);
	BREAK_AND_FIX(&e, "tracked refcount too high",
		      tl_meta(&e, f)->refcount.counter, 3);
	BREAK_AND_FIX(&e, "tracked leaf to an untracked pa", *pte2m,
		      (*pte2m & ~e.cfg.pa_mask) | (1ULL << 42) | (1ULL << 9));
	/* a 1 GiB leaf cannot be tracked */
	BREAK_AND_FIX(&e, "tracked 1 GiB leaf", *pte1g, *pte1g | (1ULL << 9));
	/* a 4 KiB frame mapped by a 2 MiB leaf */
	other = tl_frame_alloc(&e, 1);
	BREAK_AND_FIX(&e, "tracked 2 MiB leaf over a 4 KiB frame", *pte2m,
		      (*pte2m & ~e.cfg.pa_mask) | other);
	tl_handle_put(&e, other);
	/* the same node reachable twice */
	{
		u64 *pde2 = tl_raw_slot(&e, SZ_1G + 100 * SZ_2M, 2);
		struct spt_meta *parent;

		REQUIRE(pde2 && !*pde2);
		parent = tl_meta(&e, *tl_raw_slot(&e, SZ_1G, 3) &
				 e.cfg.pa_mask);
		parent->nr_children++;
		*pde2 = *pde;
		check_fails(&e, "node reachable twice");
		*pde2 = 0;
		parent->nr_children--;
		CHECK(tenv_check(&e));
	}
	/* an empty node (with a consistent count) */
	{
		u64 old = *pte4k;

		*pte4k = 0;
		node->nr_children = 0;
		check_fails(&e, "empty PTE table");
		*pte4k = old;
		node->nr_children = 1;
		CHECK(tenv_check(&e));
	}
	/* the table's counters against the walk */
	BREAK_AND_FIX(&e, "4 KiB leaf counter wrong", e.pt.nr_leaves[0].counter,
		      2);
	BREAK_AND_FIX(&e, "1 GiB leaf counter wrong", e.pt.nr_leaves[2].counter,
		      0);
	BREAK_AND_FIX(&e, "level-1 node counter wrong",
		      e.pt.nr_level_nodes[0].counter, 0);
	BREAK_AND_FIX(&e, "root counter wrong",
		      e.pt.nr_level_nodes[levels - 1].counter, 2);
	/* kernel half */
	BREAK_AND_FIX(&e, "kernel half changed", root[300], root[300] ^ X86_RW);
	BREAK_AND_FIX(&e, "kernel half entry removed", root[301], 0);
	tenv_fini(&e);
}

static void checker_catches(void)
{
	checker_catches_l(4);
	checker_catches_l(5);
}

/* Without kernel_top: no kernel-half comparison; with it: copied. */
static void kernel_half_l(unsigned int levels)
{
	struct spt_cfg cfg;
	struct spt_cursor c;
	struct tenv e;
	u64 *root, ue;
	char msg[128];
	unsigned int i;

	tl_cfg(&cfg, levels, 46);
	tenv_init_cfg(&e, &cfg, true);
	root = spt_pool_va(e.pool, e.pt.root_pa);
	for (i = 0; i < 256; i++)
		CHECK_EQ(root[i], 0);
	for (i = 256; i < SPT_NR_ENTRIES; i++)
		CHECK_EQ(root[i], e.ktop[i]);
	ue = tenv_user_end(&e);
	/* fill and empty the whole user half: the kernel half stays */
	REQUIRE_EQ(spt_cursor_mut_new(&c, &e.pt, 0, ue, &e.fl), 0);
	for (i = 0; i < 8; i++) {
		REQUIRE_EQ(spt_cursor_jump(&c, ue / 8 * i), 0);
		CHECK_EQ(tl_map(&e, &c, 1ULL << 40, 3, false, 0, 0, false,
				NULL), 0);
	}
	REQUIRE_EQ(spt_cursor_jump(&c, ue - SZ_1G), 0);
	CHECK_EQ(tl_map(&e, &c, 1ULL << 40, 3, false, 0, 0, false, NULL), 0);
	REQUIRE_EQ(spt_cursor_jump(&c, 0), 0);
	CHECK_EQ(spt_cursor_unmap(&c, ue), 9);
	spt_cursor_drop(&c);
	for (i = 256; i < SPT_NR_ENTRIES; i++)
		CHECK_EQ(root[i], e.ktop[i]);
	CHECK(tenv_check(&e));
	/* a different kernel_top is noticed; NULL skips the comparison */
	e.ktop[400] ^= 1ULL << 20;
	CHECK_EQ(spt_pt_check(&e.pt, e.ktop, false, NULL, NULL, msg,
			      sizeof(msg)), -EUCLEAN);
	CHECK_EQ(spt_pt_check(&e.pt, NULL, false, NULL, NULL, msg,
			      sizeof(msg)), 0);
	e.ktop[400] ^= 1ULL << 20;
	tenv_fini(&e);

	/* no kernel_top at all: an all-empty root */
	tenv_init_cfg(&e, &cfg, false);
	root = spt_pool_va(e.pool, e.pt.root_pa);
	for (i = 0; i < SPT_NR_ENTRIES; i++)
		CHECK_EQ(root[i], 0);
	tenv_fini(&e);
}

static void kernel_half(void)
{
	kernel_half_l(4);
	kernel_half_l(5);
}

/* 4- and 5-level configurations side by side: the top-level spans. */
static void five_level_spans(void)
{
	struct spt_pt_counts cn;
	struct tenv e;
	u64 va = (1ULL << 55) + (3ULL << 48) + SZ_512G * 5 + SZ_1G * 7;
	unsigned int lvl;

	tenv_init(&e, 5);
	tl_map_range(&e, va, 1ULL << 51, 1, SPT_PROT_WRITE);
	CHECK(tl_raw_walk(&e, va, &lvl));
	CHECK_EQ(lvl, 1);
	spt_pt_count(&e.pt, &cn);
	CHECK_EQ(cn.nodes[4], 1);
	CHECK_EQ(cn.nodes[3], 1);
	CHECK_EQ(cn.nodes[2], 1);
	CHECK_EQ(cn.nodes[1], 1);
	CHECK_EQ(cn.nodes[0], 1);
	CHECK_EQ(*tl_raw_slot(&e, va, 1) & e.cfg.pa_mask, 1ULL << 51);
	CHECK(tenv_check(&e));
	/* root index of va: bits 48..56 */
	CHECK(((u64 *)spt_pool_va(e.pool, e.pt.root_pa))[(va >> 48) & 511]);
	tenv_fini(&e);

	tenv_init(&e, 4);
	va = SZ_512G * 200 + SZ_1G * 3;
	tl_map_range(&e, va, 1ULL << 45, 2, 0);
	spt_pt_count(&e.pt, &cn);
	CHECK_EQ(cn.nodes[4], 0);
	CHECK_EQ(cn.nodes[3], 1);
	CHECK_EQ(cn.nodes[2], 1);
	CHECK_EQ(cn.nodes[1], 1);
	CHECK_EQ(cn.nodes[0], 0);
	CHECK_EQ(cn.leaves[1], 1);
	CHECK(((u64 *)spt_pool_va(e.pool, e.pt.root_pa))[200]);
	tenv_fini(&e);
}

/*
 * Two tables of one pool share a 2 MiB frame (SPT_MAP_SHARE): a 2 MiB
 * leaf in one, three 4 KiB pieces of it in the other. Alone, each table's
 * count is wrong; together (spt_pt_check_many) it is exact, and a
 * reference too many is still caught.
 */
static void check_many_l(unsigned int levels)
{
	struct spt_prop prop = { .flags = SPT_PROT_WRITE };
	struct spt_pt *pts[2];
	const u64 *tops[2];
	struct spt_flusher fl;
	struct spt_cursor c;
	struct spt_item item = {};
	struct spt_meta *m;
	char msg[256] = "";
	unsigned int bad = 9, i;
	struct spt_pt pt2;
	struct tenv e;
	u64 f;

	tenv_init(&e, levels);
	spt_flusher_init(&fl);
	f = tl_frame_alloc(&e, 2);
	m = tl_meta(&e, f);
	REQUIRE_EQ(spt_pt_init(&pt2, &e.cfg, e.pool,
			       e.use_ktop ? e.ktop : NULL), 0);
	REQUIRE_EQ(spt_cursor_mut_new(&c, &e.pt, SZ_1G, SZ_1G + SZ_2M, &e.fl),
		   0);
	REQUIRE_EQ(tl_map(&e, &c, f, 2, true, SPT_PROT_WRITE, 0, true, NULL),
		   0);
	spt_cursor_drop(&c);
	REQUIRE_EQ(spt_cursor_mut_new(&c, &pt2, 0, SZ_2M, &fl), 0);
	item = (struct spt_item){ .pa = f + SZ_4K, .level = 1,
				  .tracked = true };
	/* Without .piece, a 4 KiB item into a 2 MiB frame is refused. */
	CHECK_EQ(spt_cursor_map(&c, &item, &prop, NULL), -EINVAL);
	item.piece = true;
	for (i = 0; i < 3; i++) {
		REQUIRE(spt_meta_get(m));
		item.pa = f + (i + 1) * SZ_4K;
		CHECK_EQ(spt_cursor_map(&c, &item, &prop, NULL), 0);
	}
	spt_cursor_drop(&c);
	/* The test's handle, the 2 MiB leaf, the three pieces. */
	CHECK_EQ(tl_ref(&e, f), 5);
	pts[0] = &e.pt;
	pts[1] = &pt2;
	tops[0] = tops[1] = e.use_ktop ? e.ktop : NULL;
	/* The test drops its handle: the leaf and the three pieces are left. */
	tl_handle_put(&e, f);
	CHECK_EQ(spt_pt_check_many(pts, tops, 2, NULL, NULL, msg, sizeof(msg), &bad), 0);
	CHECKF(!msg[0], "check_many: %s", msg);
	CHECK_EQ(spt_pt_check(&e.pt, tops[0], true, NULL, NULL, msg,
			      sizeof(msg)), -EUCLEAN);
	tap_diag("alone: %s", msg);
	CHECK_EQ(spt_pt_check(&pt2, tops[1], true, NULL, NULL, msg,
			      sizeof(msg)), -EUCLEAN);
	REQUIRE(spt_meta_get(m));
	CHECK_EQ(spt_pt_check_many(pts, tops, 2, NULL, NULL, msg, sizeof(msg), &bad),
		 -EUCLEAN);
	tap_diag("one too many: table %u: %s", bad, msg);
	CHECK(spt_meta_put(m) == false);
	CHECK_EQ(spt_pt_check_many(pts, tops, 2, NULL, NULL, msg, sizeof(msg), &bad), 0);
	/* The second table goes: the frame stays with the first. */
	spt_pt_destroy(&pt2, &fl);
	spt_flusher_release(&fl, e.pool);
	CHECK_EQ(tl_ref(&e, f), 1);
	CHECK(tenv_check(&e));
	tenv_fini(&e);
}

static void check_many(void)
{
	check_many_l(4);
	check_many_l(5);
}

/* The unpin hook of the test: counts the pins given back. */
static unsigned int pin_calls, pin_writes;
static u64 pin_last_pa;

static void test_unpin(struct spt_pt *pt, u64 pa, bool write,
		       struct spt_flusher *fl)
{
	pin_calls++;
	pin_writes += write;
	pin_last_pa = pa;
	fl->nr_pinned++;
}

/*
 * Pinned leaves (SPT_MAP_USER): 4 KiB only, not tracked; one pinned
 * read-only never becomes writable; the counter is checked; every pinned
 * leaf removed goes to the unpin hook once.
 */
static void pinned_l(unsigned int levels)
{
	struct spt_prop prop = { .flags = SPT_PROT_WRITE };
	struct spt_prot_op op = { .set = SPT_PROT_WRITE, .cache = -1 };
	const u64 pa = 0x123456000ULL;
	struct spt_item item = { .pa = pa, .level = 1, .pinned = true };
	struct spt_pt_counts counts;
	struct spt_cursor c;
	struct spt_query q;
	char msg[256] = "";
	u64 n = 0;
	struct tenv e;

	tenv_init(&e, levels);
	pin_calls = pin_writes = 0;
	REQUIRE_EQ(spt_cursor_mut_new(&c, &e.pt, SZ_1G, SZ_1G + SZ_2M, &e.fl),
		   0);
	/* No hook: refused. */
	CHECK_EQ(spt_cursor_map(&c, &item, &prop, NULL), -EINVAL);
	e.pt.unpin = test_unpin;
	item.level = 2;
	CHECK_EQ(spt_cursor_map(&c, &item, &prop, NULL), -EINVAL);
	item.level = 1;
	item.tracked = true;
	CHECK_EQ(spt_cursor_map(&c, &item, &prop, NULL), -EINVAL);
	item.tracked = false;
	/* Read-only pin with prot W: mapped read-only. */
	CHECK_EQ(spt_cursor_map(&c, &item, &prop, NULL), 0);
	item.pa = pa + SZ_4K;
	item.pin_write = true;
	CHECK_EQ(spt_cursor_map(&c, &item, &prop, NULL), 0);
	REQUIRE_EQ(spt_cursor_jump(&c, SZ_1G), 0);
	REQUIRE_EQ(spt_cursor_query(&c, &q), 0);
	CHECK(q.mapped && q.item.pinned && !q.item.pin_write &&
	      !q.item.tracked && !(q.prop.flags & SPT_PROT_WRITE));
	/* PROTECT with W: the read-only pin stays read-only. */
	CHECK_EQ(spt_cursor_protect(&c, 2 * SZ_4K, &op, &n, NULL), 0);
	CHECK_EQ(n, 2);
	REQUIRE_EQ(spt_cursor_jump(&c, SZ_1G), 0);
	REQUIRE_EQ(spt_cursor_query(&c, &q), 0);
	CHECK(!(q.prop.flags & SPT_PROT_WRITE));
	REQUIRE_EQ(spt_cursor_jump(&c, SZ_1G + SZ_4K), 0);
	REQUIRE_EQ(spt_cursor_query(&c, &q), 0);
	CHECK(q.item.pinned && q.item.pin_write &&
	      (q.prop.flags & SPT_PROT_WRITE));
	spt_cursor_drop(&c);
	spt_pt_counts_read(&e.pt, &counts);
	CHECK_EQ(counts.pinned, 2);
	CHECK(tenv_check(&e));
	/* A pinned counter that is off is caught. */
	atomic_long_inc(&e.pt.nr_pinned);
	CHECK_EQ(spt_pt_check(&e.pt, e.use_ktop ? e.ktop : NULL, true,
			      tenv_handles_cb, &e, msg, sizeof(msg)),
		 -EUCLEAN);
	tap_diag("pinned counter: %s", msg);
	atomic_long_dec(&e.pt.nr_pinned);
	/* Unmapped: each pin goes to the hook once. */
	REQUIRE_EQ(spt_cursor_mut_new(&c, &e.pt, SZ_1G, SZ_1G + SZ_2M, &e.fl),
		   0);
	CHECK_EQ(spt_cursor_unmap(&c, SZ_2M), 2);
	spt_cursor_drop(&c);
	CHECK_EQ(pin_calls, 2);
	CHECK_EQ(pin_writes, 1);
	CHECK_EQ(e.fl.nr_pinned, 2);
	CHECK_EQ(atomic_long_read(&e.pt.nr_pinned), 0);
	CHECK(tenv_check(&e));
	/* Torn down with a pinned leaf: the hook too. */
	REQUIRE_EQ(spt_cursor_mut_new(&c, &e.pt, SZ_1G, SZ_1G + SZ_2M, &e.fl),
		   0);
	CHECK_EQ(spt_cursor_map(&c, &item, &prop, NULL), 0);
	spt_cursor_drop(&c);
	tenv_fini(&e);
	CHECK_EQ(pin_calls, 3);
	CHECK_EQ(pin_last_pa, pa + SZ_4K);
}

static void pinned(void)
{
	pinned_l(4);
	pinned_l(5);
}

static const struct tap_case cases[] = {
	TAP_CASE(checker_catches),
	TAP_CASE(pinned),
	TAP_CASE(check_many),
	TAP_CASE(kernel_half),
	TAP_CASE(five_level_spans),
};

int main(int argc, char **argv)
{
	return tap_main(cases, ARRAY_SIZE(cases), argc, argv);
}
