// SPDX-License-Identifier: GPL-2.0
/*
 * Fail-nth sweep: for each operation, make the 1st, 2nd, 3rd, ...
 * allocation from the pool fail until the operation completes. Every
 * failure must return -ENOMEM and leave a table that passes the checker
 * (exact refcounts included) and translates exactly like before the
 * operation, or, for operations that make progress piecewise (a range
 * mapped item by item, unmap, a protect_next loop), exactly like the
 * progress they reported. Atomic operations must leave the pool usage as it
 * was. After destroy and flusher release the pool must have no frame in use.
 */
#include <errno.h>

#include "model.h"

#define PA0	(1ULL << 40)
#define MAX_POINTS 64

struct fop {
	const char *name;
	void (*setup)(struct tenv *e, unsigned int levels);
	/* Runs the operation, applying its reported progress to @expect. */
	int (*run)(struct tenv *e, struct model *expect);
	bool atomic;
	unsigned int min_points;	/* at least this many (per level) */
};

static u64 frame;	/* allocated by the setup, before failures arm */

static void setup_empty(struct tenv *e, unsigned int levels)
{
	tenv_init(e, levels);
}

static void setup_frame4k(struct tenv *e, unsigned int levels)
{
	tenv_init(e, levels);
	frame = tl_frame_alloc(e, 1);
}

static void setup_frame2m(struct tenv *e, unsigned int levels)
{
	tenv_init(e, levels);
	frame = tl_frame_alloc(e, 2);
}

/* Frames for a map run: two nodes of 4 KiB leaves and a few more. */
#define RUN_FRAMES	(2 * 512 + 6)
static u64 run_frames[RUN_FRAMES];

static void setup_run_frames(struct tenv *e, unsigned int levels)
{
	unsigned int i;

	tenv_init(e, levels);
	for (i = 0; i < RUN_FRAMES; i++)
		run_frames[i] = tl_frame_alloc(e, 1);
}

/* A 1 GiB leaf at [2G, 3G), a tracked 2 MiB frame at [4G, 4G + 2M), a
 * 4 KiB page at 1G - 4K. */
static void setup_huge(struct tenv *e, unsigned int levels)
{
	struct spt_cursor c;
	u64 f;

	tenv_init(e, levels);
	f = tl_frame_alloc(e, 2);
	REQUIRE_EQ(spt_cursor_mut_new(&c, &e->pt, 0, 8 * SZ_1G, &e->fl), 0);
	REQUIRE_EQ(spt_cursor_jump(&c, 2 * SZ_1G), 0);
	REQUIRE_EQ(tl_map(e, &c, PA0, 3, false, SPT_PROT_WRITE, SPT_CACHE_WT,
			  false, NULL), 0);
	REQUIRE_EQ(spt_cursor_jump(&c, 4 * SZ_1G), 0);
	REQUIRE_EQ(tl_map(e, &c, f, 2, true, SPT_PROT_WRITE, 0, true, NULL), 0);
	REQUIRE_EQ(spt_cursor_jump(&c, SZ_1G - SZ_4K), 0);
	REQUIRE_EQ(tl_map(e, &c, PA0 + SZ_1G, 1, false, 0, 0, false, NULL),
		   0);
	spt_cursor_drop(&c);
	REQUIRE(tenv_check(e));
}

static int run_cursor_new(struct tenv *e, struct model *expect)
{
	struct spt_cursor c;
	int ret;

	(void)expect;
	ret = spt_cursor_mut_new(&c, &e->pt, SZ_1G + SZ_4K, SZ_1G + 2 * SZ_4K,
				 &e->fl);
	if (ret)
		return ret;
	/* nothing mapped: drop removes what was created */
	spt_cursor_drop(&c);
	return 0;
}

static int map_one(struct tenv *e, struct model *expect, unsigned int level,
		   bool tracked)
{
	u64 va = 3 * SZ_512G + 5 * SZ_1G + 7 * SZ_2M, pa;
	struct spt_cursor c;
	int ret;

	pa = tracked ? frame : PA0;
	ret = spt_cursor_mut_new(&c, &e->pt, 0, 4 * SZ_512G, &e->fl);
	if (ret)
		goto out;
	REQUIRE_EQ(spt_cursor_jump(&c, va), 0);
	ret = tl_map(e, &c, pa, level, tracked, SPT_PROT_WRITE, 0, false, NULL);
	spt_cursor_drop(&c);
	if (!ret) {
		struct mleaf l = {
			.va = va, .pa = pa, .level = level,
			.flags = SPT_PROT_WRITE, .tracked = tracked, .frame = pa,
		};

		model_map(expect, &l);
	}
out:
	/* on failure the caller still owns its reference */
	if (ret && tracked) {
		CHECK_EQ(tl_ref(e, pa), 1);
		CHECK_EQ(u64map_get(&e->handles, pa), 1);
	}
	return ret;
}

static int run_map_4k(struct tenv *e, struct model *expect)
{
	return map_one(e, expect, 1, true);
}

static int run_map_2m(struct tenv *e, struct model *expect)
{
	return map_one(e, expect, 2, true);
}

static int run_map_4k_untracked(struct tenv *e, struct model *expect)
{
	return map_one(e, expect, 1, false);
}

/* A mutable cursor over [1G - 2M, 2G), at @va. */
static int open_near_1g(struct tenv *e, struct spt_cursor *c, u64 va)
{
	int ret;

	ret = spt_cursor_mut_new(c, &e->pt, SZ_1G - SZ_2M, 2 * SZ_1G, &e->fl);
	if (ret)
		return ret;
	REQUIRE_EQ(spt_cursor_jump(c, va), 0);
	return 0;
}

/* [1G - 8K, 1G + 2M + 8K): 4K, 4K | 2M, 4K, 4K across a 1 GiB line. */
static int run_map_range(struct tenv *e, struct model *expect)
{
	u64 va = SZ_1G - 2 * SZ_4K, pa = PA0 + 3 * SZ_1G - 2 * SZ_4K;
	u64 len = SZ_2M + 4 * SZ_4K;
	struct spt_cursor c;
	int ret;

	ret = open_near_1g(e, &c, va);
	if (ret)
		return ret;
	while (len) {
		unsigned int l = spt_largest_level(va, pa, len, 3);
		struct mleaf leaf = {
			.va = va, .pa = pa, .level = l, .flags = SPT_PROT_EXEC,
			.cache = SPT_CACHE_WC,
		};

		ret = tl_map(e, &c, pa, l, false, SPT_PROT_EXEC, SPT_CACHE_WC,
			     false, NULL);
		if (ret)
			break;
		model_map(expect, &leaf);
		CHECK_EQ(spt_cursor_va(&c), va + spt_level_size(l));
		va += spt_level_size(l);
		pa += spt_level_size(l);
		len -= spt_level_size(l);
	}
	spt_cursor_drop(&c);
	return ret;
}

/*
 * @run from @va with @flags in a cursor over [1G - 2M, 2G); what is done
 * when an allocation fails is exactly *done leaves, each tracked one
 * having taken over its frame's handle.
 */
static int map_run(struct tenv *e, struct model *expect,
		   const struct spt_map_run *run, u64 va, u8 flags)
{
	struct spt_prop prop = { .flags = flags };
	unsigned long done = ~0UL, i;
	struct spt_cursor c;
	int ret;

	ret = open_near_1g(e, &c, va);
	if (ret)
		return ret;
	ret = spt_cursor_map_run(&c, run, &prop, &done);
	CHECK_EQ(spt_cursor_va(&c), va + done * SZ_4K);
	spt_cursor_drop(&c);
	CHECK(ret ? done < run->nr : done == run->nr);
	for (i = 0; i < done; i++) {
		u64 pa = run->pas ? run->pas[i] : run->pa + i * SZ_4K;
		struct mleaf l = {
			.va = va + i * SZ_4K, .pa = pa, .level = 1,
			.flags = flags, .tracked = run->tracked,
			.frame = run->tracked ? pa : 0, .flevel = 1,
		};

		if (run->tracked)
			u64map_add(&e->handles, pa, -1);
		model_map(expect, &l);
	}
	return ret;
}

/*
 * An array of tracked frames from 1G - 8K: one descent per node, across a
 * 1 GiB line (a chain of new nodes).
 */
static int run_map_run_array(struct tenv *e, struct model *expect)
{
	struct spt_map_run run = {
		.pas = run_frames, .nr = RUN_FRAMES, .level = 1,
		.tracked = true,
	};

	return map_run(e, expect, &run, SZ_1G - 2 * SZ_4K, SPT_PROT_WRITE);
}

/*
 * A contiguous untracked run over the 4 KiB page at 1G - 4K and on across
 * the 1 GiB line: the present entry takes the per-leaf (replacing) path.
 */
static int run_map_run_contig(struct tenv *e, struct model *expect)
{
	struct spt_map_run run = {
		.pa = PA0 + 5 * SZ_1G, .nr = 520, .level = 1,
	};

	return map_run(e, expect, &run, SZ_1G - 3 * SZ_4K, SPT_PROT_EXEC);
}

/* Unmap [3G - 4K, 4G + 4K): splits the 1 GiB leaf (2 nodes) and the
 * tracked 2 MiB one (1 node); everything below the cursor goes. */
static int run_unmap_split(struct tenv *e, struct model *expect)
{
	u64 s = 3 * SZ_1G - SZ_4K, en = 4 * SZ_1G + SZ_4K;
	struct spt_cursor c;
	long ret;

	ret = spt_cursor_mut_new(&c, &e->pt, 2 * SZ_1G, 5 * SZ_1G, &e->fl);
	if (ret)
		return ret;
	REQUIRE_EQ(spt_cursor_jump(&c, s), 0);
	ret = spt_cursor_unmap(&c, en - s);
	if (ret >= 0) {
		CHECK_EQ(ret, 2);
		CHECK_EQ(spt_cursor_va(&c), en);
	} else {
		CHECK(spt_cursor_va(&c) >= s && spt_cursor_va(&c) < en);
	}
	model_unmap(expect, s, ret >= 0 ? en : spt_cursor_va(&c));
	spt_cursor_drop(&c);
	return ret < 0 ? (int)ret : 0;
}

/* protect_next loop over [3G - 4K, 4G + 4K): two leaves, both split. */
static int run_protect_split(struct tenv *e, struct model *expect)
{
	struct spt_prot_op op = {
		.set = SPT_PROT_USER, .clear = SPT_PROT_WRITE,
		.cache = SPT_CACHE_UC,
	};
	u64 s = 3 * SZ_1G - SZ_4K, en = 4 * SZ_1G + SZ_4K, rs, re, ms, me;
	struct spt_cursor c;
	int ret, n = 0;

	ret = spt_cursor_mut_new(&c, &e->pt, 2 * SZ_1G, 5 * SZ_1G, &e->fl);
	if (ret)
		return ret;
	REQUIRE_EQ(spt_cursor_jump(&c, s), 0);
	for (;;) {
		u64 va = spt_cursor_va(&c);

		ret = spt_cursor_protect_next(&c, en - va, &op, &rs, &re);
		if (ret <= 0)
			break;
		n++;
		REQUIRE_EQ(model_protect_next(expect, va, en - va, op.set,
					      op.clear, op.cache, &ms, &me),
			   1);
		CHECK_EQ(rs, ms);
		CHECK_EQ(re, me);
	}
	if (!ret)
		CHECK_EQ(n, 2);
	else
		CHECK(spt_cursor_va(&c) < en);
	spt_cursor_drop(&c);
	return ret;
}

/*
 * spt_cursor_protect() over [3G - 4K, 4G + 4K): two leaves, both split;
 * its count says exactly how many protect_next steps the model takes.
 */
static int run_protect_run_split(struct tenv *e, struct model *expect)
{
	struct spt_prot_op op = {
		.set = SPT_PROT_USER, .clear = SPT_PROT_WRITE,
		.cache = SPT_CACHE_UC,
	};
	u64 s = 3 * SZ_1G - SZ_4K, en = 4 * SZ_1G + SZ_4K, va = s, ms, me;
	unsigned int level = 0;
	struct spt_cursor c;
	u64 count = 0, i;
	int ret;

	ret = spt_cursor_mut_new(&c, &e->pt, 2 * SZ_1G, 5 * SZ_1G, &e->fl);
	if (ret)
		return ret;
	REQUIRE_EQ(spt_cursor_jump(&c, s), 0);
	ret = spt_cursor_protect(&c, en - s, &op, &count, &level);
	if (!ret) {
		CHECK_EQ(count, 2);
		CHECK_EQ(level, 1);
		CHECK_EQ(spt_cursor_va(&c), en);
	} else {
		CHECK(spt_cursor_va(&c) < en);
	}
	for (i = 0; i < count; i++, va = me)
		REQUIRE_EQ(model_protect_next(expect, va, en - va, op.set,
					      op.clear, op.cache, &ms, &me),
			   1);
	spt_cursor_drop(&c);
	return ret;
}

/* Destroy allocates nothing: it succeeds with any failure armed. */
static int run_destroy(struct tenv *e, struct model *expect)
{
	spt_pt_destroy(&e->pt, &e->fl);
	spt_flusher_release(&e->fl, e->pool);
	/* rebuild an empty table so that the sweep's checks apply */
	model_reset(expect);
	tl_pool_fail_nth(e->pool, 0);
	REQUIRE_EQ(spt_pt_init(&e->pt, &e->cfg, e->pool, e->ktop), 0);
	return 0;
}

static unsigned int sweep(const struct fop *op, unsigned int levels)
{
	bool failed_before = tap_case_failed();
	unsigned int n, points = 0;

	for (n = 1; n <= MAX_POINTS; n++) {
		struct model before, after;
		char why[256] = "";
		struct tenv e;
		u64 used0;
		int ret;

		op->setup(&e, levels);
		model_init(&before, levels, tenv_user_end(&e));
		model_init(&after, levels, tenv_user_end(&e));
		REQUIRE_EQ(model_from_table(&before, &e.pt), 0);
		spt_flusher_release(&e.fl, e.pool);
		used0 = tl_pool_used(e.pool);
		tl_pool_fail_nth(e.pool, n);
		ret = op->run(&e, &before);
		tl_pool_fail_nth(e.pool, 0);
		CHECKF(ret == 0 || ret == -ENOMEM, "%s: failure %u: %d",
		       op->name, n, ret);
		spt_flusher_release(&e.fl, e.pool);
		CHECKF(tenv_check(&e), "%s: failure point %u", op->name, n);
		REQUIRE_EQ(model_from_table(&after, &e.pt), 0);
		CHECKF(model_equiv(&after, &before, why, sizeof(why)),
		       "%s (%u levels): failure point %u (ret %d): %s",
		       op->name, levels, n, ret, why);
		if (ret && op->atomic)
			CHECKF(tl_pool_used(e.pool) == used0,
			       "%s: failure point %u: %llu frames in use, %llu before",
			       op->name, n,
			       (unsigned long long)tl_pool_used(e.pool),
			       (unsigned long long)used0);
		model_free(&before);
		model_free(&after);
		tenv_fini(&e);
		if (!ret || (!failed_before && tap_case_failed()))
			break;
		points++;
	}
	CHECKF(n <= MAX_POINTS, "%s: still failing after %u failures",
	       op->name, MAX_POINTS);
	CHECKF(points >= op->min_points,
	       "%s (%u levels): only %u failure points, expected >= %u",
	       op->name, levels, points, op->min_points);
	tap_diag("%s (%u-level): %u failure points swept", op->name, levels,
		 points);
	return points;
}

static const struct fop fops[] = {
	{ "cursor_mut_new", setup_empty, run_cursor_new, true, 3 },
	{ "map 4K tracked", setup_frame4k, run_map_4k, true, 3 },
	{ "map 4K untracked", setup_empty, run_map_4k_untracked, true, 3 },
	{ "map 2M tracked", setup_frame2m, run_map_2m, true, 2 },
	{ "map range across nodes", setup_empty, run_map_range, false, 5 },
	{ "map range, nodes partly there", setup_huge, run_map_range, false,
	  2 },
	{ "unmap needing splits", setup_huge, run_unmap_split, false, 3 },
	{ "protect needing splits", setup_huge, run_protect_split, false, 3 },
	{ "destroy", setup_huge, run_destroy, false, 0 },
	{ "map run, tracked array", setup_run_frames, run_map_run_array,
	  false, 4 },
	{ "map run, contiguous, replacing", setup_huge, run_map_run_contig,
	  false, 2 },
	{ "protect run needing splits", setup_huge, run_protect_run_split,
	  false, 3 },
};

static void sweep_op(unsigned int i)
{
	sweep(&fops[i], 4);
	sweep(&fops[i], 5);
}

static void failnth_pt_init(void)
{
	unsigned int levels, n, points;

	for (levels = 4; levels <= 5; levels++) {
		struct spt_cfg cfg;

		tl_cfg(&cfg, levels, 46);
		points = 0;
		for (n = 1; n <= MAX_POINTS; n++) {
			struct spt_pool *pool = tl_pool_new(16ULL << 20);
			struct spt_pt pt;
			struct spt_flusher fl;
			int ret;

			REQUIRE(pool);
			spt_flusher_init(&fl);
			tl_pool_fail_nth(pool, n);
			ret = spt_pt_init(&pt, &cfg, pool, NULL);
			tl_pool_fail_nth(pool, 0);
			if (ret) {
				CHECK_EQ(ret, -ENOMEM);
				CHECK_EQ(tl_pool_used(pool), 0);
				points++;
			} else {
				CHECK_EQ(spt_pt_check(&pt, NULL, true, NULL,
						      NULL, NULL, 0), 0);
				spt_pt_destroy(&pt, &fl);
				spt_flusher_release(&fl, pool);
			}
			CHECK_EQ(tl_pool_delete(pool), 0);
			if (!ret)
				break;
		}
		CHECK_EQ(points, 1);
		tap_diag("pt_init (%u-level): %u failure points swept",
			 levels, points);
	}
}

static void failnth_cursor_mut_new(void) { sweep_op(0); }
static void failnth_map_4k_tracked(void) { sweep_op(1); }
static void failnth_map_4k_untracked(void) { sweep_op(2); }
static void failnth_map_2m_tracked(void) { sweep_op(3); }
static void failnth_map_range(void) { sweep_op(4); }
static void failnth_map_range_partial(void) { sweep_op(5); }
static void failnth_unmap_split(void) { sweep_op(6); }
static void failnth_protect_split(void) { sweep_op(7); }
static void failnth_destroy(void) { sweep_op(8); }
static void failnth_map_run_array(void) { sweep_op(9); }
static void failnth_map_run_contig(void) { sweep_op(10); }
static void failnth_protect_run_split(void) { sweep_op(11); }

static const struct tap_case cases[] = {
	TAP_CASE(failnth_pt_init),
	TAP_CASE(failnth_cursor_mut_new),
	TAP_CASE(failnth_map_4k_tracked),
	TAP_CASE(failnth_map_4k_untracked),
	TAP_CASE(failnth_map_2m_tracked),
	TAP_CASE(failnth_map_range),
	TAP_CASE(failnth_map_range_partial),
	TAP_CASE(failnth_unmap_split),
	TAP_CASE(failnth_protect_split),
	TAP_CASE(failnth_destroy),
	TAP_CASE(failnth_map_run_array),
	TAP_CASE(failnth_map_run_contig),
	TAP_CASE(failnth_protect_run_split),
};

int main(int argc, char **argv)
{
	return tap_main(cases, ARRAY_SIZE(cases), argc, argv);
}
