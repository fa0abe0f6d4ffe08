// SPDX-License-Identifier: GPL-2.0
/*
 * Exhaustion: fill the frame pool (module parameter pool_mb), one space's
 * quota (space_mb) and the number of spaces (max_spaces). Once full, every
 * further call that needs room fails with the documented errno (ENOMEM for
 * the pool, ENOSPC for space_mb and max_spaces), reports no progress and
 * changes nothing; calls that need no room keep working; the checker
 * passes; and freeing makes room again: a call that failed succeeds after
 * an unmap or a destroy.
 *
 * Each test prints how many such checks it made.
 */
#include "shadowpt_nl.h"

#define VA		SPT_TEST_VA
#define R2M		(VA)			/* the 2 MiB fill */
#define R4K		(VA + 64 * SZ_1G)	/* the 4 KiB fill */
#define RNEW		(VA + 128 * SZ_1G)	/* probes needing new nodes */

static unsigned int nr_checks;

FIXTURE(exhaust) {
	struct spt_env env;
	struct spt_nl nl;
	bool phys_ok;
};

FIXTURE_SETUP(exhaust)
{
	spt_env_setup(_metadata, &self->env);
	self->phys_ok = spt_env_allow_phys(&self->env) == 0;
	ASSERT_EQ(0, spt_nl_open(&self->nl));
	nr_checks = 0;
}

FIXTURE_TEARDOWN(exhaust)
{
	spt_nl_close(&self->nl);
	spt_env_teardown(_metadata, &self->env);
}

/* The call fails with exactly @e (positive errno) and changes nothing. */
#define EX_ERR(e, snap, call)						\
	({								\
		errno = 0;						\
		EXPECT_EQ(-1, (call));					\
		if (errno != (e))					\
			TH_LOG("%s: %s, want %s", #call,		\
			       strerror(errno), strerror(e));		\
		ASSERT_EQ((e), errno);					\
		ASSERT_SNAPSHOT_UNCHANGED(self->env.fd, (snap));	\
		ASSERT_EQ(0, spt_check_log(_metadata, self->env.fd,	\
					   (snap)->id));		\
		nr_checks++;						\
	})

/* The same for a netlink request (which returns -errno). */
#define EX_NL_ERR(e, snap, call)					\
	({								\
		int __r = (call);					\
		if (__r != -(e))					\
			TH_LOG("%s: %d, want %d", #call, __r, -(e));	\
		ASSERT_EQ(-(e), __r);					\
		ASSERT_SNAPSHOT_UNCHANGED(self->env.fd, (snap));	\
		nr_checks++;						\
	})

#define EX_OK(call)							\
	({								\
		int __r = (call);					\
		if (__r)						\
			TH_LOG("%s: %s", #call, strerror(errno));	\
		ASSERT_EQ(0, __r);					\
		nr_checks++;						\
	})

static int map(int fd, __u32 id, __u32 flags, __u64 va, __u64 len,
	       __u64 *mapped)
{
	__u64 m = 0;
	int ret = _spt_map(fd, id, flags, va, len, 0, SPT_PROT_WRITE, 0, &m);

	if (mapped)
		*mapped = m;
	/* A refused map must say it mapped nothing. */
	if (ret && m)
		return -2;
	return ret;
}

/* A load window with one MAP op of @len: -1/errno (ENODEV: no CPU). */
static int load_map(int fd, __u32 id, __u64 va, __u64 len)
{
	struct spt_load_op op = {
		.op = SPT_LOAD_OP_MAP, .va = va, .length = len,
		.prot = SPT_PROT_WRITE,
	};

	if (_spt_load(fd, id, &op, 1, NULL))
		return -1;
	if (op.out_status != SPT_LOAD_OK) {
		errno = op.out_status == SPT_LOAD_ERROR ? op.out_errno : EIO;
		return -1;
	}
	return 0;
}

static bool have_load_cpu(int fd, __u32 id)
{
	struct spt_load_op op = {
		.op = SPT_LOAD_OP_READ, .width = 8, .va = VA,
	};

	return _spt_load(fd, id, &op, 1, NULL) == 0 || errno != ENODEV;
}

/* =====================================================================
 * The pool: 2 MiB frames until ENOMEM, then 4 KiB frames until ENOMEM,
 * then spaces until ENOMEM.
 */
TEST_F_TIMEOUT(exhaust, pool, 600)
{
	__u64 mapped, total2m, total4k = 0, unmapped, len;
	struct spt_snapshot snap;
	struct spt_stats st0, st;
	struct spt_space_info info;
	unsigned int nr_extra = 0, i;
	__u32 id, extra[64], new_id;
	char val[32], buf[SZ_4K];
	int fd = self->env.fd;
	bool load_ok;
	int ret;

	ASSERT_EQ(0, _spt_stats(fd, 0, &st0));
	/* One space may hold the whole pool; room for the extra spaces. */
	len = st0.pool_limit_frames * SZ_4K + 64 * SZ_1M;
	snprintf(val, sizeof(val), "%llu", 2 * len / SZ_1M);
	ASSERT_EQ(0, spt_env_param(&self->env, "space_mb", val));
	snprintf(val, sizeof(val), "%llu", st0.nr_spaces + 1 + 64);
	ASSERT_EQ(0, spt_env_param(&self->env, "max_spaces", val));
	test_cmd_space_create(0, &id);
	load_ok = have_load_cpu(fd, id);

	/* 2 MiB frames: whole chunks, until the pool refuses one. */
	errno = 0;
	EXPECT_EQ(-1, _spt_map(fd, id, SPT_MAP_2M, R2M,
			       len & ~(SZ_2M - 1), 0, SPT_PROT_WRITE, 0,
			       &total2m));
	ASSERT_EQ(ENOMEM, errno);
	ASSERT_LT(0, total2m);
	/* 4 KiB frames: 64 KiB at a time, then page by page. */
	for (;;) {
		ret = map(fd, id, SPT_MAP_4K, R4K + total4k, SZ_64K, &mapped);
		if (ret)
			break;
		total4k += SZ_64K;
	}
	ASSERT_EQ(-1, ret);
	ASSERT_EQ(ENOMEM, errno);
	for (;;) {
		ret = map(fd, id, SPT_MAP_4K, R4K + total4k, SZ_4K, &mapped);
		if (ret)
			break;
		total4k += SZ_4K;
	}
	ASSERT_EQ(-1, ret);
	ASSERT_EQ(ENOMEM, errno);
	/* Spaces (a root frame each) until none fits either. */
	for (;;) {
		ASSERT_GT(64, nr_extra);
		if (_spt_space_create(fd, 0, &extra[nr_extra]))
			break;
		spt_env_track(&self->env, extra[nr_extra]);
		nr_extra++;
	}
	ASSERT_EQ(ENOMEM, errno);
	ASSERT_EQ(0, _spt_stats(fd, id, &st));
	TH_LOG("pool of %llu MiB full: %llu MiB in 2 MiB frames, %llu KiB in 4 KiB frames, %u more spaces, %llu node frames, %llu frames free",
	       st.pool_limit_frames * SZ_4K / SZ_1M, total2m / SZ_1M,
	       total4k / 1024, nr_extra, st.pool_node_frames,
	       st.pool_free_frames);
	ASSERT_GE(st.pool_limit_frames, st.pool_chunk_frames);
	ASSERT_LT(st.pool_limit_frames, st.pool_chunk_frames + 512);
	ASSERT_EQ(0, spt_check_log(_metadata, fd, id));

	ASSERT_EQ(0, spt_snapshot_take(fd, id, R4K - SZ_64K,
				       total4k + 2 * SZ_64K, &snap));

	/* Everything that needs a frame: ENOMEM, nothing changed. */
	EX_ERR(ENOMEM, &snap, map(fd, id, SPT_MAP_2M, RNEW, SZ_2M, NULL));
	EX_ERR(ENOMEM, &snap, map(fd, id, SPT_MAP_LARGEST, RNEW, 2 * SZ_2M,
				  NULL));
	EX_ERR(ENOMEM, &snap, map(fd, id, SPT_MAP_4K, RNEW, SZ_64K, NULL));
	EX_ERR(ENOMEM, &snap, map(fd, id, SPT_MAP_4K, RNEW, SZ_4K, NULL));
	EX_ERR(ENOMEM, &snap, map(fd, id, SPT_MAP_4K, R4K + total4k, SZ_4K,
				  NULL));
	/* Replacing 4 KiB leaves or a 2 MiB leaf needs new frames too. */
	EX_ERR(ENOMEM, &snap, map(fd, id, SPT_MAP_4K | SPT_MAP_REPLACE, R4K,
				  SZ_64K, NULL));
	EX_ERR(ENOMEM, &snap, map(fd, id, SPT_MAP_2M | SPT_MAP_REPLACE, R2M,
				  SZ_2M, NULL));
	if (self->phys_ok)
		/* Untracked needs no frame, but new nodes. */
		EX_ERR(ENOMEM, &snap, _spt_map(fd, id, SPT_MAP_PHYS,
					       RNEW + SZ_1G - SZ_4K, 2 * SZ_4K,
					       SPT_TEST_PHYS, 0, 0, NULL));
	EX_ERR(ENOMEM, &snap, _spt_space_create(fd, 0, &new_id));
	EX_ERR(ENOMEM, &snap, _spt_space_create(fd, SPT_SPACE_FD_OWNED,
						&new_id));
	EX_NL_ERR(ENOMEM, &snap,
		  spt_nl_request(&self->nl, SPT_GENL_CMD_SPACE_NEW, 0, NULL,
				 NULL, NULL, NULL));
	if (load_ok)
		EX_ERR(ENOMEM, &snap, load_map(fd, id, RNEW, SZ_64K));

	/* What needs no room still works, and changes nothing. */
	EX_OK(_spt_query(fd, id, R2M, NULL));
	EX_OK(_spt_space_info(fd, id, &info));
	EX_OK(_spt_stats(fd, id, NULL));
	EX_OK(_spt_check(fd, id, NULL, 0));
	memset(buf, 0xa5, sizeof(buf));
	EX_OK(_spt_rw(fd, id, SPT_RW_WRITE, R4K + 100, buf, sizeof(buf),
		      NULL));
	EX_OK(_spt_rw(fd, id, 0, R2M + SZ_2M - 100, buf, sizeof(buf), NULL));
	EX_OK(_spt_protect(fd, id, 0, R2M, SZ_2M, SPT_PROT_USER, 0, NULL,
			   NULL));
	EX_OK(_spt_protect(fd, id, 0, R2M, SZ_2M, SPT_PROT_WRITE, 0, NULL,
			   NULL));
	{
		struct spt_nl_spaces l;
		struct spt_nl_runs r;

		EX_OK(spt_nl_spaces_get(&self->nl, 0, &l));
		free(l.v);
		EX_OK(spt_nl_spaces_get(&self->nl, id, &l));
		free(l.v);
		EX_OK(spt_nl_runs_get(&self->nl, id, true, R4K, R4K + SZ_1M,
				      &r));
		free(r.v);
	}
	ASSERT_SNAPSHOT_UNCHANGED(fd, &snap);
	spt_snapshot_free(&snap);

	/*
	 * Room again: each failed call succeeds after a free (two chunks:
	 * the 2 MiB frame and the nodes for its new place).
	 */
	EX_OK(_spt_unmap(fd, id, R2M, 2 * SZ_2M, &unmapped, NULL));
	EXPECT_EQ(2, unmapped);
	EX_OK(map(fd, id, SPT_MAP_2M, RNEW, SZ_2M, NULL));
	EX_OK(_spt_unmap(fd, id, R4K, 4 * SZ_64K, &unmapped, NULL));
	EXPECT_EQ(64, unmapped);
	EX_OK(map(fd, id, SPT_MAP_4K, RNEW + SZ_1G, SZ_64K, NULL));
	ASSERT_NE(0, nr_extra);
	EX_OK(_spt_space_destroy(fd, extra[--nr_extra]));
	EX_OK(_spt_space_create(fd, 0, &new_id));
	spt_env_track(&self->env, new_id);
	if (load_ok) {
		EX_OK(_spt_unmap(fd, id, R2M + 2 * SZ_2M, SZ_2M, &unmapped,
				 NULL));
		EX_OK(load_map(fd, id, RNEW + 2 * SZ_1G, SZ_64K));
	}
	EX_OK(spt_check_log(_metadata, fd, id));
	for (i = 0; i < nr_extra; i++)
		EX_OK(_spt_space_destroy(fd, extra[i]));
	ksft_print_msg("exhaust pool: %u checks\n", nr_checks);
	fflush(stdout);
}

/* =====================================================================
 * One space's quota: space_mb = 4 (taken at creation).
 */
TEST_F(exhaust, space_mb)
{
	struct spt_snapshot snap;
	__u64 unmapped, mapped;
	__u32 id, id2;
	int fd = self->env.fd;

	bool load_ok;

	ASSERT_EQ(0, spt_env_param(&self->env, "space_mb", "4"));
	test_cmd_space_create(0, &id);
	/* Probe while nothing is mapped (an access sets the A bit). */
	load_ok = have_load_cpu(fd, id);
	/* Raising the parameter later does not change this space's quota. */
	ASSERT_EQ(0, spt_env_param(&self->env, "space_mb", "64"));
	EX_OK(map(fd, id, SPT_MAP_2M, VA, 2 * SZ_2M, NULL));
	ASSERT_EQ(0, spt_snapshot_take(fd, id, VA, 4 * SZ_2M, &snap));
	EX_ERR(ENOSPC, &snap, map(fd, id, SPT_MAP_2M, VA + 2 * SZ_2M, SZ_2M,
				  NULL));
	EX_ERR(ENOSPC, &snap, map(fd, id, SPT_MAP_4K, VA + 2 * SZ_2M, SZ_4K,
				  NULL));
	EX_ERR(ENOSPC, &snap, map(fd, id, SPT_MAP_LARGEST, VA + 2 * SZ_2M,
				  SZ_2M + SZ_4K, NULL));
	if (load_ok)
		EX_ERR(ENOSPC, &snap, load_map(fd, id, VA + 3 * SZ_2M, SZ_4K));
	spt_snapshot_free(&snap);
	/* Replacing needs no more than it gives back. */
	EX_OK(map(fd, id, SPT_MAP_4K | SPT_MAP_REPLACE, VA, SZ_2M, &mapped));
	EXPECT_EQ(SZ_2M, mapped);
	EX_OK(spt_check_log(_metadata, fd, id));
	/* The quota is per space. */
	test_cmd_space_create(0, &id2);
	EX_OK(map(fd, id2, SPT_MAP_2M, VA, 8 * SZ_2M, NULL));
	/* Room again after an unmap. */
	EX_OK(_spt_unmap(fd, id, VA + SZ_2M, SZ_2M, &unmapped, NULL));
	EXPECT_EQ(1, unmapped);
	EX_OK(map(fd, id, SPT_MAP_2M, VA + 2 * SZ_2M, SZ_2M, NULL));
	EX_OK(spt_check_log(_metadata, fd, id));
	ksft_print_msg("exhaust space_mb: %u checks\n", nr_checks);
	fflush(stdout);
}

/* =====================================================================
 * The number of spaces: max_spaces = what exists + 3.
 */
TEST_F(exhaust, max_spaces)
{
	struct spt_nl_spaces l = { 0 };
	struct spt_snapshot snap;
	struct spt_nl_args del = { .has_id = true };
	__u32 id, a, b;
	char val[32];
	int fd = self->env.fd, fd2;

	snprintf(val, sizeof(val), "%llu", self->env.base.nr_spaces + 3);
	ASSERT_EQ(0, spt_env_param(&self->env, "max_spaces", val));
	fd2 = spt_open();
	ASSERT_LE(0, fd2);
	test_cmd_space_create(0, &id);
	EX_OK(_spt_space_create(fd2, SPT_SPACE_FD_OWNED, &a));
	EX_OK(spt_nl_request(&self->nl, SPT_GENL_CMD_SPACE_NEW, 0, NULL,
			     spt_nl_space_cb, &l, NULL));
	ASSERT_EQ(1, l.nr);
	b = l.v[0].id;
	free(l.v);
	spt_env_track(&self->env, b);

	ASSERT_EQ(0, spt_snapshot_take(fd, id, VA, SZ_64K, &snap));
	EX_ERR(ENOSPC, &snap, _spt_space_create(fd, 0, NULL));
	EX_ERR(ENOSPC, &snap, _spt_space_create(fd, SPT_SPACE_FD_OWNED, NULL));
	EX_NL_ERR(ENOSPC, &snap,
		  spt_nl_request(&self->nl, SPT_GENL_CMD_SPACE_NEW, 0, NULL,
				 NULL, NULL, NULL));
	/* Room again: after a netlink delete, a close, a destroy. */
	del.id = b;
	EX_OK(spt_nl_request(&self->nl, SPT_GENL_CMD_SPACE_DEL, 0, &del, NULL,
			     NULL, NULL));
	EX_OK(_spt_space_create(fd, 0, &b));
	spt_env_track(&self->env, b);
	spt_snapshot_free(&snap);
	ASSERT_EQ(0, spt_snapshot_take(fd, id, VA, SZ_64K, &snap));
	EX_ERR(ENOSPC, &snap, _spt_space_create(fd, 0, NULL));
	close(fd2);
	EX_OK(_spt_space_create(fd, 0, &a));
	spt_env_track(&self->env, a);
	spt_snapshot_free(&snap);
	ASSERT_EQ(0, spt_snapshot_take(fd, id, VA, SZ_64K, &snap));
	EX_ERR(ENOSPC, &snap, _spt_space_create(fd, SPT_SPACE_FD_OWNED, NULL));
	EX_OK(_spt_space_destroy(fd, b));
	EX_OK(_spt_space_create(fd, SPT_SPACE_FD_OWNED, &b));
	spt_snapshot_free(&snap);
	ksft_print_msg("exhaust max_spaces: %u checks\n", nr_checks);
	fflush(stdout);
}

TEST_HARNESS_MAIN
