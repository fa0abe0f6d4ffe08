// SPDX-License-Identifier: GPL-2.0
/*
 * Deferred reclamation (module/reclaim.c) with a fake grace period that
 * the test moves by hand: nothing queued goes back to the pool before its
 * own grace period has passed, lists come back oldest first, the pending
 * frames never pass the bound, and every node comes back all-zero (the
 * shim's spt_pool_free_zeroed() aborts on a non-zero one).
 */
#include <errno.h>

#include "testlib.h"
#include <reclaim.h>
#include <pool_user.h>

/* The fake RCU: cookie = the number of the grace period that must end. */
static unsigned long gp_started, gp_completed;

static struct rcu_gp_oldstate fake_gp_start(void)
{
	return (struct rcu_gp_oldstate){ .rgos_norm = ++gp_started };
}

static bool fake_gp_done(struct rcu_gp_oldstate *cookie)
{
	return gp_completed >= cookie->rgos_norm;
}

static void fake_gp_pass(void)
{
	gp_completed = gp_started;
}

/* Map @n 4 KiB tracked frames at @va (handles dropped), unmap them all. */
static void map_unmap(struct tenv *e, u64 va, unsigned int n, u64 *pas)
{
	struct spt_cursor c;
	unsigned int i;

	REQUIRE_EQ(spt_cursor_mut_new(&c, &e->pt, va, va + SZ_1G, &e->fl), 0);
	for (i = 0; i < n; i++) {
		pas[i] = tl_frame_alloc(e, 1);
		REQUIRE_EQ(spt_cursor_jump(&c, va + i * SZ_4K), 0);
		CHECK_EQ(tl_map(e, &c, pas[i], 1, true, 0, 0, false, NULL), 0);
	}
	spt_cursor_drop(&c);
	REQUIRE_EQ(spt_cursor_mut_new(&c, &e->pt, va, va + SZ_1G, &e->fl), 0);
	CHECK_EQ(spt_cursor_unmap(&c, SZ_1G), n);
	spt_cursor_drop(&c);
}

static bool in_list(const u64 *pas, unsigned int n, u64 pa)
{
	unsigned int i;

	for (i = 0; i < n; i++)
		if (pas[i] == pa)
			return true;
	return false;
}

/* Queued frames stay out of the pool until their grace period has passed. */
static void order_one(void)
{
	struct spt_reclaim r;
	struct spt_flusher fl;
	struct tenv e;
	u64 pas[16], used, pa;
	unsigned int i;

	tenv_init(&e, 4);
	spt_reclaim_init(&r, 1 << 20);
	used = tl_pool_used(e.pool);
	map_unmap(&e, SZ_1G, 16, pas);
	/* 16 data frames and the PTE table, level 2 and 3 nodes emptied */
	CHECK_EQ(e.fl.nr_frames, 16);
	CHECK_EQ(spt_reclaim_fl_frames(&e.fl), 16 + e.fl.nr_nodes);
	REQUIRE(spt_reclaim_push(&r, &e.fl, fake_gp_start()));
	CHECK_EQ(e.fl.head, 0);
	CHECK_EQ(r.frames, 16 + 3);
	/* The grace period has not passed: nothing comes off the queue. */
	CHECK(!spt_reclaim_pop(&r, fake_gp_done, &fl));
	for (i = 0; i < 16; i++) {
		CHECK(spt_pool_user_in_use(e.pool, pas[i]));
		CHECK_EQ(tl_ref(&e, pas[i]), 0);
	}
	/* New allocations never get a queued frame. */
	for (i = 0; i < 64; i++) {
		pa = tl_frame_alloc(&e, 1);
		CHECK(!in_list(pas, 16, pa));
		tl_handle_put(&e, pa);
	}
	fake_gp_pass();
	REQUIRE(spt_reclaim_pop(&r, fake_gp_done, &fl));
	CHECK_EQ(r.nr, 0);
	CHECK_EQ(r.frames, 0);
	spt_flusher_release(&fl, e.pool);
	for (i = 0; i < 16; i++)
		CHECK(!spt_pool_user_in_use(e.pool, pas[i]));
	CHECK_EQ(tl_pool_used(e.pool), used);
	CHECK(!spt_reclaim_pop(&r, fake_gp_done, &fl));
	CHECK(tenv_check(&e));
	tenv_fini(&e);
}

/* Oldest first; a later list waits for its own, later grace period. */
static void order_two(void)
{
	struct spt_reclaim r;
	struct spt_flusher fl;
	struct rcu_gp_oldstate c1, c2, cookie;
	struct tenv e;
	u64 a[8], b[8], used;
	unsigned int i;

	tenv_init(&e, 4);
	spt_reclaim_init(&r, 1 << 20);
	used = tl_pool_used(e.pool);
	map_unmap(&e, SZ_1G, 8, a);
	c1 = fake_gp_start();
	REQUIRE(spt_reclaim_push(&r, &e.fl, c1));
	map_unmap(&e, 2 * SZ_1G, 8, b);
	c2 = fake_gp_start();
	REQUIRE(spt_reclaim_push(&r, &e.fl, c2));
	CHECK(spt_reclaim_cookie(&r, false, &cookie));
	CHECK_EQ(cookie.rgos_norm, c1.rgos_norm);
	CHECK(spt_reclaim_cookie(&r, true, &cookie));
	CHECK_EQ(cookie.rgos_norm, c2.rgos_norm);
	gp_completed = c1.rgos_norm;
	REQUIRE(spt_reclaim_pop(&r, fake_gp_done, &fl));
	spt_flusher_release(&fl, e.pool);
	CHECK(!spt_reclaim_pop(&r, fake_gp_done, &fl));
	for (i = 0; i < 8; i++) {
		CHECK(!spt_pool_user_in_use(e.pool, a[i]));
		CHECK(spt_pool_user_in_use(e.pool, b[i]));
	}
	gp_completed = c2.rgos_norm;
	REQUIRE(spt_reclaim_pop(&r, fake_gp_done, &fl));
	spt_flusher_release(&fl, e.pool);
	CHECK_EQ(tl_pool_used(e.pool), used);
	CHECK_EQ(r.queued, 2);
	CHECK_EQ(r.released, 2);
	tenv_fini(&e);
}

/* The bound, in frames and in lists: a refused push changes nothing. */
static void bound(void)
{
	struct spt_reclaim r;
	struct spt_flusher fl;
	struct tenv e;
	u64 pas[8];
	unsigned long frames;
	unsigned int i;

	tenv_init(&e, 4);
	map_unmap(&e, SZ_1G, 8, pas);
	frames = spt_reclaim_fl_frames(&e.fl);
	/* A list larger than the bound alone is refused. */
	spt_reclaim_init(&r, frames - 1);
	CHECK(!spt_reclaim_push(&r, &e.fl, fake_gp_start()));
	CHECK(e.fl.head != 0);
	CHECK_EQ(r.nr, 0);
	/* Exactly the bound fits; then not one more frame. */
	spt_reclaim_init(&r, frames + 3);
	REQUIRE(spt_reclaim_push(&r, &e.fl, fake_gp_start()));
	map_unmap(&e, 2 * SZ_1G, 8, pas);
	CHECK(!spt_reclaim_push(&r, &e.fl, fake_gp_start()));
	CHECK_EQ(r.frames, frames);
	CHECK(r.peak_frames <= r.max_frames);
	fake_gp_pass();
	REQUIRE(spt_reclaim_pop(&r, fake_gp_done, &fl));
	spt_flusher_release(&fl, e.pool);
	REQUIRE(spt_reclaim_push(&r, &e.fl, fake_gp_start()));
	fake_gp_pass();
	REQUIRE(spt_reclaim_pop(&r, fake_gp_done, &fl));
	spt_flusher_release(&fl, e.pool);
	/* The ring: SPT_RECLAIM_BATCHES lists, then refused. */
	spt_reclaim_init(&r, 1 << 20);
	for (i = 0; i <= SPT_RECLAIM_BATCHES; i++) {
		spt_flusher_init(&fl);
		fl.head = 0;
		fl.nr_nodes = 1;
		CHECK_EQ(spt_reclaim_push(&r, &fl, fake_gp_start()),
			 i < SPT_RECLAIM_BATCHES);
	}
	CHECK_EQ(r.nr, SPT_RECLAIM_BATCHES);
	fake_gp_pass();
	for (i = 0; i < SPT_RECLAIM_BATCHES; i++)
		CHECK(spt_reclaim_pop(&r, fake_gp_done, &fl));
	CHECK_EQ(r.frames, 0);
	CHECK(tenv_check(&e));
	tenv_fini(&e);
}

/*
 * Nodes come back all-zero, subtrees unlinked whole and the root with its
 * kernel half included (the shim checks each one), and a map/unmap loop
 * through the queue never grows the pool past what one round needs.
 */
static void zero_nodes_loop(void)
{
	struct spt_reclaim r;
	struct spt_flusher fl;
	struct tenv e;
	u64 pas[32], used = 0;
	unsigned int round;

	tenv_init(&e, 5);
	spt_reclaim_init(&r, 1 << 20);
	for (round = 0; round < 50; round++) {
		map_unmap(&e, SZ_1G + (round % 3) * SZ_1G, 32, pas);
		REQUIRE(spt_reclaim_push(&r, &e.fl, fake_gp_start()));
		if (round % 4 == 3) {
			fake_gp_pass();
			while (spt_reclaim_pop(&r, fake_gp_done, &fl))
				spt_flusher_release(&fl, e.pool);
			if (!used)
				used = tl_pool_used(e.pool);
			CHECK_EQ(tl_pool_used(e.pool), used);
		}
	}
	fake_gp_pass();
	while (spt_reclaim_pop(&r, fake_gp_done, &fl))
		spt_flusher_release(&fl, e.pool);
	/* A whole subtree, and the root with its kernel half, unlinked. */
	tl_map_range(&e, 0, 1ULL << 40, 1, 0);
	spt_pt_destroy(&e.pt, &e.fl);
	REQUIRE(spt_reclaim_push(&r, &e.fl, fake_gp_start()));
	fake_gp_pass();
	REQUIRE(spt_reclaim_pop(&r, fake_gp_done, &fl));
	spt_flusher_release(&fl, e.pool);
	CHECK_EQ(tl_pool_used(e.pool), 0);
	CHECK_EQ(tl_pool_delete(e.pool), 0);
	u64map_free(&e.handles);
}

static const struct tap_case cases[] = {
	TAP_CASE(order_one),
	TAP_CASE(order_two),
	TAP_CASE(bound),
	TAP_CASE(zero_nodes_loop),
};

int main(int argc, char **argv)
{
	return tap_main(cases, ARRAY_SIZE(cases), argc, argv);
}
