// SPDX-License-Identifier: GPL-2.0
/*
 * Deferred reclamation: unmapped frames and nodes go back to the pool after
 * a TLB flush and a grace period that nobody waits for.
 *  - the STATS and debugfs fields: pending frames within their bound,
 *    never counted as used, none left after CHECK (which drains first);
 *  - a loop of map and unmap over most of the pool never fails for memory
 *    it has itself freed (back-pressure waits for the grace period);
 *  - map/unmap hammered from one thread while load windows on the isolated
 *    CPU read the addresses: poison, zero or the page's own data, never
 *    another mapping's bytes (a frame reused before its flush would show);
 *  - a space destroyed while its frames are pending.
 */
#include <pthread.h>

#include "shadowpt_utils.h"

#define SPT_RC_STATS	"/sys/kernel/debug/shadowpt/stats"
#define RC_VA		0x100000000ULL
#define RC_4M		(4ULL << 20)
#define RC_16M		(16ULL << 20)
#define POISON8		0x6b6b6b6b6b6b6b6bULL
#define TAG(va)		((va) | 0xa5)

FIXTURE(reclaim) {
	struct spt_env env;
};

FIXTURE_SETUP(reclaim)
{
	spt_env_setup(_metadata, &self->env);
}

FIXTURE_TEARDOWN(reclaim)
{
	spt_env_teardown(_metadata, &self->env);
}

/* One counter of debugfs shadowpt/stats, or -1 if absent. */
static long long rc_dstat(const char *name)
{
	char *buf = spt_slurp(SPT_RC_STATS), *p;
	size_t len = strlen(name);
	long long v = -1;

	if (!buf)
		return -1;
	for (p = buf; p && *p; p = strchr(p, '\n'), p = p ? p + 1 : NULL) {
		if (!strncmp(p, name, len) && p[len] == ' ') {
			v = strtoll(p + len + 1, NULL, 10);
			break;
		}
	}
	free(buf);
	return v;
}

/* The fields, the bound, used frames unchanged, nothing pending after CHECK. */
TEST_F(reclaim, stats)
{
	struct spt_stats st0, st1, st2;
	long long queued0;
	__u32 id;

	test_cmd_space_create(0, &id);
	test_cmd_stats(0, &st0);
	ASSERT_EQ(st0.pool_limit_frames / 4, st0.reclaim_max_frames);
	ASSERT_GE(st0.reclaim_max_frames, st0.reclaim_pending_frames);
	queued0 = rc_dstat("reclaim_queued");
	ASSERT_LE(0, queued0);
	ASSERT_EQ(st0.reclaim_max_frames,
		  (unsigned long long)rc_dstat("reclaim_max_frames"));

	test_cmd_map(id, SPT_MAP_4K, RC_VA, SZ_1M, 0, SPT_PROT_WRITE);
	test_cmd_unmap(id, RC_VA, SZ_1M, NULL);
	test_cmd_stats(0, &st1);
	/* Unmapped frames are not used ones, pending or not. */
	EXPECT_EQ(st0.pool_used_frames, st1.pool_used_frames);
	EXPECT_EQ(st1.pool_used_frames,
		  st1.pool_node_frames + st1.pool_data_frames);
	EXPECT_EQ(st1.pool_chunk_frames,
		  st1.pool_used_frames + st1.pool_free_frames);
	EXPECT_GE(st1.reclaim_max_frames, st1.reclaim_pending_frames);
	EXPECT_LT(queued0, rc_dstat("reclaim_queued"));

	/* CHECK drains: nothing this process queued is pending after it. */
	test_cmd_check(id);
	test_cmd_stats(0, &st2);
	EXPECT_EQ(0, st2.reclaim_pending_frames);
	EXPECT_EQ(0, rc_dstat("reclaim_pending_frames"));
	EXPECT_EQ(0, rc_dstat("reclaim_pending_batches"));
	EXPECT_GE(rc_dstat("reclaim_max_frames"),
		  rc_dstat("reclaim_peak_frames"));
	test_cmd_space_destroy(id);
}

/*
 * Most of the pool, mapped and unmapped in pieces, again and again at
 * once: the frames of one round are pending when the next one maps.
 */
TEST_F_TIMEOUT(reclaim, loop_no_enomem, 900)
{
	struct spt_stats st;
	__u64 len, off, mapped, free0;
	unsigned int round;
	char val[32];
	__u32 id;

	test_cmd_stats(0, &st);
	snprintf(val, sizeof(val), "%llu",
		 2 * st.pool_limit_frames * SZ_4K / SZ_1M);
	ASSERT_EQ(0, spt_env_param(&self->env, "space_mb", val));
	test_cmd_space_create(0, &id);
	test_cmd_stats(0, &st);
	free0 = st.pool_limit_frames - st.pool_used_frames;
	/* 85% of what is left, room for the nodes too. */
	len = (free0 * 85 / 100 * SZ_4K) & ~(SZ_2M - 1);
	TH_LOG("pool %llu frames, %llu free; rounds of %llu MiB",
	       st.pool_limit_frames, free0, len / SZ_1M);
	for (round = 0; round < 4; round++) {
		for (off = 0; off < len; off += RC_16M) {
			__u64 n = len - off < RC_16M ? len - off : RC_16M;

			ASSERT_EQ(0, _spt_map(self->env.fd, id, SPT_MAP_4K,
					      RC_VA + off, n, 0,
					      SPT_PROT_WRITE,
					      SPT_CACHE_MODE_WB, &mapped))
				TH_LOG("round %u, map at +%llu MiB: %s", round,
				       off / SZ_1M, strerror(errno));
			ASSERT_EQ(n, mapped);
		}
		for (off = 0; off < len; off += RC_4M)
			test_cmd_unmap(id, RC_VA + off, RC_4M, NULL);
		test_cmd_stats(0, &st);
		ASSERT_GE(st.reclaim_max_frames, st.reclaim_pending_frames);
		ASSERT_GE(st.pool_limit_frames, st.pool_chunk_frames);
	}
	TH_LOG("%llu waits for a grace period", st.reclaim_waits);
	test_cmd_check(id);
	test_cmd_space_destroy(id);
}

/* ---- map/unmap from one thread, load windows reading on another CPU ---- */

#define HAMMER_PAGES	16
#define HAMMER_ROUNDS	300

struct hammer {
	int fd;
	__u32 id;
	int stop;		/* read and written with __atomic */
	int err;
	unsigned long rounds;
};

/* Two ranges mapped and unmapped in turn: frames move between them. */
static void *hammer_fn(void *arg)
{
	struct hammer *h = arg;
	__u64 buf[HAMMER_PAGES * SZ_4K / 8];
	unsigned long r;
	unsigned int i;

	for (r = 0; r < HAMMER_ROUNDS &&
	     !__atomic_load_n(&h->stop, __ATOMIC_ACQUIRE); r++) {
		__u64 va = RC_VA + (r & 1) * SZ_1M;

		memset(buf, 0, sizeof(buf));
		for (i = 0; i < HAMMER_PAGES; i++)
			buf[i * SZ_4K / 8] = TAG(va + i * SZ_4K);
		if (_spt_map(h->fd, h->id, SPT_MAP_4K, va,
			     HAMMER_PAGES * SZ_4K, 0, SPT_PROT_WRITE,
			     SPT_CACHE_MODE_WB, NULL) ||
		    _spt_rw(h->fd, h->id, SPT_RW_WRITE, va, buf, sizeof(buf),
			    NULL) ||
		    _spt_unmap(h->fd, h->id, va, HAMMER_PAGES * SZ_4K, NULL,
			       NULL)) {
			h->err = errno;
			break;
		}
	}
	h->rounds = r;
	__atomic_store_n(&h->stop, 1, __ATOMIC_RELEASE);
	return NULL;
}

TEST_F_TIMEOUT(reclaim, hammer_windows, 900)
{
	struct spt_load_op ops[2 * HAMMER_PAGES];
	unsigned long windows = 0, seen_data = 0, seen_poison = 0;
	unsigned long seen_zero = 0, faults = 0;
	struct hammer h = { .fd = self->env.fd };
	pthread_t t;
	unsigned int i;

	test_cmd_space_create(0, &h.id);
	/* Is there a CPU for load windows? */
	memset(ops, 0, sizeof(ops));
	ops[0].op = SPT_LOAD_OP_READ;
	ops[0].width = 8;
	ops[0].va = RC_VA;
	if (_spt_load(self->env.fd, h.id, ops, 1, NULL) && errno == ENODEV)
		SKIP(return, "no isolated CPU for load windows");

	ASSERT_EQ(0, pthread_create(&t, NULL, hammer_fn, &h));
	while (!__atomic_load_n(&h.stop, __ATOMIC_ACQUIRE)) {
		memset(ops, 0, sizeof(ops));
		for (i = 0; i < 2 * HAMMER_PAGES; i++) {
			ops[i].op = SPT_LOAD_OP_READ;
			ops[i].width = 8;
			ops[i].va = RC_VA + (i / HAMMER_PAGES) * SZ_1M +
				    (i % HAMMER_PAGES) * SZ_4K;
		}
		if (_spt_load(self->env.fd, h.id, ops, 2 * HAMMER_PAGES,
			      NULL)) {
			__atomic_store_n(&h.stop, 1, __ATOMIC_RELEASE);
			pthread_join(t, NULL);
			ASSERT_EQ(0, errno);
		}
		windows++;
		for (i = 0; i < 2 * HAMMER_PAGES; i++) {
			struct spt_load_op *o = &ops[i];

			if (o->out_status == SPT_LOAD_FAULT ||
			    o->out_status == SPT_LOAD_NOT_RUN) {
				EXPECT_EQ(0, o->out_fault & SPT_FAULT_MISMATCH);
				faults++;
				continue;
			}
			EXPECT_EQ(SPT_LOAD_OK, o->out_status);
			if (o->out_value == TAG(o->va))
				seen_data++;
			else if (o->out_value == POISON8)
				seen_poison++;
			else if (!o->out_value)
				seen_zero++;
			else
				EXPECT_EQ(TAG(o->va), o->out_value)
					TH_LOG("window %lu: another mapping's bytes at %#llx",
					       windows, o->va);
		}
	}
	pthread_join(t, NULL);
	TH_LOG("%lu rounds, %lu windows: %lu own, %lu poison, %lu zero, %lu faults",
	       h.rounds, windows, seen_data, seen_poison, seen_zero, faults);
	ASSERT_EQ(0, h.err);
	ASSERT_EQ(HAMMER_ROUNDS, h.rounds);
	ASSERT_LT(0, windows);
	test_cmd_check(h.id);
	test_cmd_space_destroy(h.id);
}

/* Destroyed with its frames still pending; another space reuses them. */
TEST_F(reclaim, destroy_pending)
{
	struct spt_stats st0, st1;
	unsigned int i;
	__u32 id;

	test_cmd_stats(0, &st0);
	for (i = 0; i < 8; i++) {
		test_cmd_space_create(0, &id);
		test_cmd_map(id, SPT_MAP_4K, RC_VA, SZ_2M, 0, SPT_PROT_WRITE);
		test_cmd_unmap(id, RC_VA, SZ_1M, NULL);
		test_cmd_space_destroy(id);
	}
	test_cmd_stats(0, &st1);
	EXPECT_EQ(st0.pool_used_frames, st1.pool_used_frames);
	EXPECT_EQ(st0.nr_spaces, st1.nr_spaces);
	/* Left pending on purpose: rmmod after the suite must drain it. */
	test_cmd_space_create(0, &id);
	test_cmd_map(id, SPT_MAP_4K, RC_VA, RC_4M, 0, SPT_PROT_WRITE);
	test_cmd_space_destroy(id);
}

TEST_HARNESS_MAIN
