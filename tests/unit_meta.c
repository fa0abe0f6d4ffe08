// SPDX-License-Identifier: GPL-2.0
/*
 * Meta slots and the flusher: the refcount state machine (UNUSED, UNIQUE,
 * 0, 1..MAX, refusal at MAX without wrapping), the exact accounting of
 * tracked frames (refcount == PTEs mapping it + handles), the deferred
 * free through spt_flusher, destroy, and the metadata cost per frame.
 */
#include <errno.h>

#include "testlib.h"

static void meta_bytes_per_frame(void)
{
	struct spt_pool_stats st;
	struct tenv e;
	u64 ratio;

	tenv_init(&e, 4);
	tl_map_range(&e, SZ_1G, 1ULL << 40, 1, 0);
	tl_frame_alloc(&e, 2);
	spt_pool_get_stats(e.pool, &st);
	REQUIRE(st.chunk_frames > 0);
	ratio = st.meta_bytes / st.chunk_frames;
	tap_diag("meta bytes per 4 KiB frame: %zu", sizeof(struct spt_meta));
	tap_diag("pool: %llu meta bytes for %llu frames (%llu per frame)",
		 (unsigned long long)st.meta_bytes,
		 (unsigned long long)st.chunk_frames,
		 (unsigned long long)ratio);
	CHECK(sizeof(struct spt_meta) <= 16);
	CHECK(ratio <= 16);
	CHECK_EQ(st.meta_bytes % st.chunk_frames, 0);
	tenv_fini(&e);
}

/* Near SPT_REF_MAX: get refuses and never wraps; put comes back down. */
static void refcount_max(void)
{
	struct spt_meta *m;
	struct tenv e;
	u64 f;

	tenv_init(&e, 4);
	f = tl_frame_alloc(&e, 1);
	m = tl_meta(&e, f);
	atomic_set(&m->refcount, SPT_REF_MAX - 2);
	CHECK(spt_meta_get(m));
	CHECK_EQ(spt_meta_ref(m), SPT_REF_MAX - 1);
	CHECK(spt_meta_get(m));
	CHECK_EQ(spt_meta_ref(m), SPT_REF_MAX);
	CHECK(!spt_meta_get(m));
	CHECK_EQ(spt_meta_ref(m), SPT_REF_MAX);
	CHECK(!spt_meta_get_many(m, 1));
	CHECK(!spt_meta_get_many(m, 0xffffffffU));
	CHECK_EQ(spt_meta_ref(m), SPT_REF_MAX);
	CHECK(!spt_meta_put(m));
	CHECK_EQ(spt_meta_ref(m), SPT_REF_MAX - 1);
	/* get_many: all or nothing */
	atomic_set(&m->refcount, SPT_REF_MAX - 10);
	CHECK(!spt_meta_get_many(m, 11));
	CHECK_EQ(spt_meta_ref(m), SPT_REF_MAX - 10);
	CHECK(!spt_meta_get_many(m, 0x80000000U));
	CHECK_EQ(spt_meta_ref(m), SPT_REF_MAX - 10);
	CHECK(spt_meta_get_many(m, 10));
	CHECK_EQ(spt_meta_ref(m), SPT_REF_MAX);
	atomic_set(&m->refcount, 1);
	tenv_fini(&e);
}

/* Mapping a frame at MAX refs is refused; splitting one is -ENOMEM. */
static void refcount_max_map(void)
{
	struct spt_cursor c;
	struct tenv e;
	u64 f, h;

	tenv_init(&e, 4);
	f = tl_frame_alloc(&e, 1);
	h = tl_frame_alloc(&e, 2);
	REQUIRE_EQ(spt_cursor_mut_new(&c, &e.pt, 0, SZ_1G, &e.fl), 0);
	atomic_set(&tl_meta(&e, f)->refcount, SPT_REF_MAX);
	/* the mapping would need one more than MAX */
	CHECK(!spt_meta_get(tl_meta(&e, f)));
	CHECK_EQ(spt_meta_ref(tl_meta(&e, f)), SPT_REF_MAX);
	atomic_set(&tl_meta(&e, f)->refcount, 1);
	/* a mapped huge frame close to MAX cannot be split */
	CHECK_EQ(tl_map(&e, &c, h, 2, true, 0, 0, true, NULL), 0);
	CHECK_EQ(tl_ref(&e, h), 2);
	atomic_set(&tl_meta(&e, h)->refcount, SPT_REF_MAX - 100);
	REQUIRE_EQ(spt_cursor_jump(&c, SZ_4K), 0);
	CHECK_EQ(spt_cursor_unmap(&c, SZ_4K), -ENOMEM);
	CHECK_EQ(spt_cursor_va(&c), SZ_4K);
	CHECK_EQ(tl_ref(&e, h), SPT_REF_MAX - 100);
	CHECK_EQ(tl_nr_leaves(&e), 1);
	atomic_set(&tl_meta(&e, h)->refcount, 2);
	spt_cursor_drop(&c);
	CHECK(tenv_check(&e));
	tenv_fini(&e);
}

/* UNUSED, UNIQUE and 0 are not in use: get refuses them. */
static void refcount_states(void)
{
	struct spt_meta *m;
	struct tenv e;
	u64 f, u;

	tenv_init(&e, 4);
	/* UNIQUE from the pool, then shared */
	REQUIRE_EQ(spt_pool_alloc(e.pool, SPT_USAGE_DATA, 1, true, &u), 0);
	m = tl_meta(&e, u);
	CHECK_EQ(spt_meta_ref(m), SPT_REF_UNIQUE);
	CHECK(!spt_meta_get(m));
	CHECK(!spt_meta_get_many(m, 3));
	CHECK_EQ(spt_meta_ref(m), SPT_REF_UNIQUE);
	spt_meta_unique_to_shared(m);
	CHECK_EQ(spt_meta_ref(m), 1);
	CHECK(spt_meta_get(m));
	CHECK_EQ(spt_meta_ref(m), 2);
	CHECK(!spt_meta_put(m));
	/* 1 -> 0: the last put says so; 0 refuses get */
	CHECK(spt_meta_put(m));
	CHECK_EQ(spt_meta_ref(m), 0);
	CHECK(!spt_meta_get(m));
	CHECK_EQ(spt_meta_ref(m), 0);
	spt_pool_free(e.pool, u);
	/* free: UNUSED, refuses get; its pa may even be reused */
	CHECK_EQ(spt_meta_ref(m), SPT_REF_UNUSED);
	CHECK_EQ(m->usage, SPT_USAGE_FREE);
	CHECK(!spt_meta_get(m));
	CHECK_EQ(spt_meta_ref(m), SPT_REF_UNUSED);
	/* a node is 1 while linked */
	f = tl_frame_alloc(&e, 1);
	CHECK_EQ(tl_ref(&e, f), 1);
	tl_map_range(&e, SZ_2M, 1ULL << 40, 1, 0);
	{
		unsigned int l;
		u64 *slot = tl_raw_slot(&e, SZ_2M, 2);

		REQUIRE(slot);
		l = tl_meta(&e, *slot & e.cfg.pa_mask)->level;
		CHECK_EQ(l, 1);
		CHECK_EQ(tl_ref(&e, *slot & e.cfg.pa_mask), 1);
		CHECK_EQ(tl_meta(&e, *slot & e.cfg.pa_mask)->usage,
			 SPT_USAGE_PT);
		CHECK_EQ(tl_meta(&e, *slot & e.cfg.pa_mask)->nr_children, 1);
	}
	CHECK_EQ(tl_meta(&e, e.pt.root_pa)->level, 4);
	CHECK_EQ(tl_ref(&e, e.pt.root_pa), 1);
	tenv_fini(&e);
}

/* refcount == PTEs + handles, through maps, replaces and unmaps. */
static void tracked_accounting_l(unsigned int levels)
{
	u64 f = 0, va = SZ_512G + SZ_1G;
	struct spt_cursor c;
	struct tenv e;
	unsigned int i;

	tenv_init(&e, levels);
	f = tl_frame_alloc(&e, 1);
	REQUIRE_EQ(spt_cursor_mut_new(&c, &e.pt, va, va + SZ_1G, &e.fl), 0);
	/* the same frame at 10 places, the handle kept */
	for (i = 0; i < 10; i++) {
		REQUIRE_EQ(spt_cursor_jump(&c, va + i * SZ_2M), 0);
		CHECK_EQ(tl_map(&e, &c, f, 1, true, 0, 0, true, NULL), 0);
	}
	CHECK_EQ(tl_ref(&e, f), 11);
	/* a second handle */
	REQUIRE(spt_meta_get(tl_meta(&e, f)));
	u64map_add(&e.handles, f, 1);
	spt_cursor_drop(&c);
	CHECK(tenv_check(&e));
	/* the checker sees a missing handle */
	u64map_add(&e.handles, f, -1);
	{
		char msg[256];

		CHECK_EQ(spt_pt_check(&e.pt, e.ktop, true, tenv_handles_cb, &e,
				      msg, sizeof(msg)), -EUCLEAN);
		CHECK_EQ(spt_pt_check(&e.pt, e.ktop, false, NULL, NULL, msg,
				      sizeof(msg)), 0);
	}
	u64map_add(&e.handles, f, 1);
	CHECK(tenv_check(&e));
	/* replace 3 of them, unmap 4 */
	REQUIRE_EQ(spt_cursor_mut_new(&c, &e.pt, va, va + SZ_1G, &e.fl), 0);
	for (i = 0; i < 3; i++) {
		REQUIRE_EQ(spt_cursor_jump(&c, va + i * SZ_2M), 0);
		CHECK_EQ(tl_map(&e, &c, 1ULL << 40, 1, false, 0, 0, false,
				NULL), 0);
	}
	CHECK_EQ(tl_ref(&e, f), 9);
	REQUIRE_EQ(spt_cursor_jump(&c, va + 3 * SZ_2M), 0);
	CHECK_EQ(spt_cursor_unmap(&c, 4 * SZ_2M), 4);
	CHECK_EQ(tl_ref(&e, f), 5);
	spt_cursor_drop(&c);
	CHECK(tenv_check(&e));
	/* both handles go: three mappings keep it alive */
	tl_handle_put(&e, f);
	tl_handle_put(&e, f);
	CHECK_EQ(tl_ref(&e, f), 3);
	CHECK(tenv_check(&e));
	spt_flusher_release(&e.fl, e.pool);
	CHECK_EQ(e.fl.nr_frames, 0);
	/* destroy drops the last three; the frame is queued once */
	spt_pt_destroy(&e.pt, &e.fl);
	CHECK_EQ(e.fl.nr_frames, 1);
	CHECK_EQ(tl_ref(&e, f), 0);
	CHECK(e.fl.nr_nodes >= (u64)levels);
	spt_flusher_release(&e.fl, e.pool);
	CHECK_EQ(tl_pool_used(e.pool), 0);
	CHECK_EQ(tl_pool_delete(e.pool), 0);
	u64map_free(&e.handles);
}

static void tracked_accounting(void)
{
	tracked_accounting_l(4);
	tracked_accounting_l(5);
}

/* The flusher: counts, flush span, release into the pool. */
static void flusher_list(void)
{
	struct spt_pool_stats st0, st1;
	struct spt_cursor c;
	struct tenv e;
	u64 f[3], used;
	unsigned int i;

	tenv_init(&e, 4);
	CHECK_EQ(e.fl.head, 0);
	CHECK_EQ(e.fl.nr_frames + e.fl.nr_nodes, 0);
	REQUIRE_EQ(spt_cursor_mut_new(&c, &e.pt, SZ_1G, 2 * SZ_1G, &e.fl), 0);
	for (i = 0; i < 3; i++) {
		f[i] = tl_frame_alloc(&e, i == 2 ? 2 : 1);
		REQUIRE_EQ(spt_cursor_jump(&c, SZ_1G + i * 100 * SZ_2M), 0);
		CHECK_EQ(tl_map(&e, &c, f[i], i == 2 ? 2 : 1, true, 0, 0,
				false, NULL), 0);
	}
	spt_cursor_drop(&c);
	CHECK_EQ(e.fl.nr_frames + e.fl.nr_nodes, 0);
	used = tl_pool_used(e.pool);
	/* 1 (root) + level 3 + level 2 + 2 PTE tables + 1 + 1 + 512 */
	CHECK_EQ(used, 5 + 1 + 1 + 512);
	spt_pool_get_stats(e.pool, &st0);
	CHECK_EQ(st0.node_frames, 5);
	CHECK_EQ(st0.data_frames, 514);
	REQUIRE_EQ(spt_cursor_mut_new(&c, &e.pt, SZ_1G, 2 * SZ_1G, &e.fl), 0);
	CHECK_EQ(spt_cursor_unmap(&c, SZ_1G), 3);
	spt_cursor_drop(&c);
	CHECK_EQ(e.fl.nr_frames, 3);
	CHECK_EQ(e.fl.nr_nodes, 4);
	CHECK(e.fl.head != 0);
	CHECK(e.fl.flush_start <= SZ_1G && e.fl.flush_end >= SZ_1G +
	      200 * SZ_2M + SZ_2M);
	/* queued, not freed yet: the slots are in state 0 */
	CHECK_EQ(tl_pool_used(e.pool), used);
	for (i = 0; i < 3; i++)
		CHECK_EQ(tl_ref(&e, f[i]), 0);
	spt_flusher_release(&e.fl, e.pool);
	CHECK_EQ(e.fl.head, 0);
	CHECK_EQ(e.fl.nr_frames + e.fl.nr_nodes, 0);
	CHECK_EQ(tl_pool_used(e.pool), 1);
	spt_pool_get_stats(e.pool, &st1);
	CHECK_EQ(st1.node_frames, 1);
	CHECK_EQ(st1.data_frames, 0);
	for (i = 0; i < 3; i++)
		CHECK_EQ(tl_ref(&e, f[i]), SPT_REF_UNUSED);
	/* release of an empty list is a no-op */
	spt_flusher_release(&e.fl, e.pool);
	CHECK_EQ(tl_pool_used(e.pool), 1);
	tenv_fini(&e);
}

/* Destroy queues every node, the root too, and leaves the kernel half. */
static void destroy_l(unsigned int levels)
{
	struct spt_pt_counts cn;
	struct tenv e;
	u64 nodes = 0, root, *rp, saved[SPT_NR_ENTRIES];
	unsigned int i;

	tenv_init(&e, levels);
	tl_map_range(&e, 0, 1ULL << 40, 1, 0);
	tl_map_range(&e, SZ_512G * 3 + SZ_2M, 1ULL << 40, 2, 0);
	tl_map_range(&e, tenv_user_end(&e) - SZ_1G, 1ULL << 40, 3, 0);
	spt_pt_count(&e.pt, &cn);
	for (i = 0; i < SPT_MAX_LEVELS; i++)
		nodes += cn.nodes[i];
	root = e.pt.root_pa;
	rp = spt_pool_va(e.pool, root);
	for (i = 256; i < SPT_NR_ENTRIES; i++)
		CHECK_EQ(rp[i], e.ktop[i]);
	memcpy(saved, rp, sizeof(saved));
	CHECK(tenv_check(&e));
	spt_pt_destroy(&e.pt, &e.fl);
	CHECK_EQ(e.fl.nr_nodes, nodes);
	CHECK_EQ(e.fl.nr_frames, 0);
	CHECK_EQ(e.pt.root_pa, 0);
	/* the root is queued, not yet freed: its kernel half untouched */
	for (i = 256; i < SPT_NR_ENTRIES; i++)
		CHECK_EQ(rp[i], saved[i]);
	CHECK_EQ(tl_pool_used(e.pool), nodes);
	spt_flusher_release(&e.fl, e.pool);
	CHECK_EQ(tl_pool_used(e.pool), 0);
	CHECK_EQ(tl_pool_delete(e.pool), 0);
	u64map_free(&e.handles);
}

static void destroy(void)
{
	destroy_l(4);
	destroy_l(5);
}

static const struct tap_case cases[] = {
	TAP_CASE(meta_bytes_per_frame),
	TAP_CASE(refcount_max),
	TAP_CASE(refcount_max_map),
	TAP_CASE(refcount_states),
	TAP_CASE(tracked_accounting),
	TAP_CASE(flusher_list),
	TAP_CASE(destroy),
};

int main(int argc, char **argv)
{
	return tap_main(cases, ARRAY_SIZE(cases), argc, argv);
}
