// SPDX-License-Identifier: GPL-2.0
/*
 * SPT_MAP_SHARE: aliases in one space, sharing across spaces, chains
 * (A -> B -> C), 2 MiB frames shared whole or in 4 KiB pieces, untracked
 * aliases; data written through one address is read through every other
 * (RW and load windows); unmapping or destroying one side leaves the data
 * to the others and the frames return to the pool with their last leaf
 * (pool counters); each space's data_frames; CHECK over every step; every
 * bad input of the header with its errno and nothing changed; a source
 * destroyed while others share from it.
 */
#include <pthread.h>

#include "shadowpt_utils.h"

#define VA_A	SPT_TEST_VA
#define VA_B	(SPT_TEST_VA + 0x10000000ULL)
#define VA_C	(SPT_TEST_VA + 0x20000000ULL)
#define RW	(SPT_PROT_WRITE)

static int _spt_share(int fd, __u32 id, __u64 va, __u64 len, __u32 src,
		      __u64 src_va, __u32 prot, __u32 flags, __u64 *mapped)
{
	struct spt_map cmd = {
		.size = sizeof(cmd), .flags = SPT_MAP_SHARE | flags,
		.space_id = id, .prot = prot, .va = va, .length = len,
		.src_space_id = src, .src_va = src_va,
		.out_mapped = 0xdeadbeefULL,
	};
	int ret = ioctl(fd, SPT_IOCTL_MAP, &cmd);

	if (mapped)
		*mapped = cmd.out_mapped;
	return ret;
}

#define test_cmd_share(id, va, len, src, src_va)			\
	({								\
		__u64 __m = 0;						\
		ASSERT_EQ(0, _spt_share(self->env.fd, id, va, len, src,	\
					src_va, RW, 0, &__m));		\
		ASSERT_EQ((__u64)(len), __m);				\
	})

static __u64 phys_of(struct __test_metadata *_metadata, int fd, __u32 id,
		     __u64 va, __u32 *level, __u32 *flags)
{
	struct spt_query_entry e = { 0 };

	EXPECT_EQ(0, _spt_query(fd, id, va, &e));
	if (level)
		*level = e.level;
	if (flags)
		*flags = e.flags;
	return e.phys;
}

static __u64 space_data(int fd, __u32 id)
{
	struct spt_space_info info;

	if (_spt_space_info(fd, id, &info))
		return ~0ULL;
	return info.out_data_frames;
}

static __u64 pool_data(int fd)
{
	struct spt_stats st;

	if (_spt_stats(fd, 0, &st))
		return ~0ULL;
	return st.pool_data_frames;
}

/* Fill [va, va + len) of @id with a pattern of @seed through RW. */
static void fill(struct __test_metadata *_metadata, int fd, __u32 id,
		 __u64 va, __u64 len, __u32 seed)
{
	__u32 *buf = malloc(len);
	__u64 i, done;

	ASSERT_NE(NULL, buf);
	for (i = 0; i < len / 4; i++)
		buf[i] = seed * 2654435761u + (__u32)i;
	ASSERT_EQ(0, _spt_rw(fd, id, SPT_RW_WRITE, va, buf, len, &done));
	free(buf);
}

/* Does [va, va + len) of @id hold the pattern of @seed? */
static bool holds(int fd, __u32 id, __u64 va, __u64 len, __u32 seed)
{
	__u32 *buf = malloc(len);
	bool ok = buf != NULL;
	__u64 i, done;

	if (!ok || _spt_rw(fd, id, 0, va, buf, len, &done))
		ok = false;
	for (i = 0; ok && i < len / 4; i++)
		ok = buf[i] == seed * 2654435761u + (__u32)i;
	free(buf);
	return ok;
}

/* Do [va1, va1 + len) of @id1 and [va2, ...) of @id2 read the same? */
static bool same(int fd, __u32 id1, __u64 va1, __u32 id2, __u64 va2,
		 __u64 len)
{
	char *x = malloc(len), *y = malloc(len);
	bool ok = x && y;
	__u64 done;

	if (ok)
		ok = !_spt_rw(fd, id1, 0, va1, x, len, &done) &&
		     !_spt_rw(fd, id2, 0, va2, y, len, &done) &&
		     !memcmp(x, y, len);
	free(x);
	free(y);
	return ok;
}

FIXTURE(share) {
	struct spt_env env;
	__u32 a, b, c;
};

FIXTURE_SETUP(share)
{
	spt_env_setup(_metadata, &self->env);
	test_cmd_space_create(0, &self->a);
	test_cmd_space_create(0, &self->b);
	test_cmd_space_create(0, &self->c);
}

FIXTURE_TEARDOWN(share)
{
	spt_env_teardown(_metadata, &self->env);
}

/* One space, one frame run at two addresses. */
TEST_F(share, alias)
{
	int fd = self->env.fd;
	__u64 p0 = pool_data(fd), len = 16 * SZ_4K, i;
	__u32 level, flags;

	test_cmd_map(self->a, SPT_MAP_4K, VA_A, len, 0, RW);
	test_cmd_share(self->a, VA_B, len, self->a, VA_A);
	test_cmd_check(self->a);
	/* The pool holds the frames once, the space counts both leaves. */
	EXPECT_EQ(p0 + 16, pool_data(fd));
	EXPECT_EQ(32, space_data(fd, self->a));
	for (i = 0; i < len; i += SZ_4K) {
		EXPECT_EQ(phys_of(_metadata, fd, self->a, VA_A + i, NULL,
				  NULL),
			  phys_of(_metadata, fd, self->a, VA_B + i, &level,
				  &flags));
		EXPECT_EQ(1, level);
		EXPECT_EQ(SPT_QUERY_MAPPED | SPT_QUERY_TRACKED, flags);
	}
	fill(_metadata, fd, self->a, VA_A, len, 1);
	EXPECT_TRUE(holds(fd, self->a, VA_B, len, 1));
	fill(_metadata, fd, self->a, VA_B + SZ_4K, SZ_4K, 2);
	EXPECT_TRUE(holds(fd, self->a, VA_A + SZ_4K, SZ_4K, 2));
	/* The original goes: the alias keeps the frames and the data. */
	test_cmd_unmap(self->a, VA_A, len, NULL);
	test_cmd_check(self->a);
	EXPECT_EQ(p0 + 16, pool_data(fd));
	EXPECT_EQ(16, space_data(fd, self->a));
	EXPECT_TRUE(holds(fd, self->a, VA_B, SZ_4K, 1));
	EXPECT_TRUE(holds(fd, self->a, VA_B + SZ_4K, SZ_4K, 2));
	test_cmd_unmap(self->a, VA_B, len, NULL);
	test_cmd_check(self->a);
	EXPECT_EQ(p0, pool_data(fd));
	EXPECT_EQ(0, space_data(fd, self->a));
}

/* A -> B -> C; A destroyed, then B: C still reads, then frees. */
TEST_F(share, chain_and_destroy)
{
	int fd = self->env.fd;
	__u64 p0 = pool_data(fd), len = 4 * SZ_64K;

	test_cmd_map(self->a, SPT_MAP_4K, VA_A, len, 0, RW);
	test_cmd_share(self->b, VA_B, len, self->a, VA_A);
	test_cmd_share(self->c, VA_C, len / 2, self->b, VA_B + len / 2);
	test_cmd_check(self->a);
	test_cmd_check(self->b);
	test_cmd_check(self->c);
	EXPECT_EQ(p0 + len / SZ_4K, pool_data(fd));
	EXPECT_EQ(len / SZ_4K, space_data(fd, self->a));
	EXPECT_EQ(len / SZ_4K, space_data(fd, self->b));
	EXPECT_EQ(len / 2 / SZ_4K, space_data(fd, self->c));
	fill(_metadata, fd, self->c, VA_C, len / 2, 7);
	EXPECT_TRUE(holds(fd, self->a, VA_A + len / 2, len / 2, 7));
	EXPECT_TRUE(holds(fd, self->b, VA_B + len / 2, len / 2, 7));
	test_cmd_space_destroy(self->a);
	test_cmd_check(self->b);
	test_cmd_check(self->c);
	EXPECT_EQ(p0 + len / SZ_4K, pool_data(fd));
	EXPECT_TRUE(holds(fd, self->c, VA_C, len / 2, 7));
	test_cmd_space_destroy(self->b);
	test_cmd_check(self->c);
	/* Only C's half is left in the pool. */
	EXPECT_EQ(p0 + len / 2 / SZ_4K, pool_data(fd));
	EXPECT_TRUE(holds(fd, self->c, VA_C, len / 2, 7));
	test_cmd_space_destroy(self->c);
	EXPECT_EQ(p0, pool_data(fd));
}

/* 2 MiB frames: whole where aligned, 4 KiB pieces elsewhere. */
TEST_F(share, huge)
{
	int fd = self->env.fd;
	__u64 p0 = pool_data(fd), pa;
	__u32 level, flags;

	test_cmd_map(self->a, SPT_MAP_2M, VA_A, 2 * SZ_2M, 0, RW);
	pa = phys_of(_metadata, fd, self->a, VA_A, NULL, NULL);
	fill(_metadata, fd, self->a, VA_A, 2 * SZ_2M, 3);
	/* Whole and aligned: 2 MiB leaves. */
	test_cmd_share(self->b, VA_B, 2 * SZ_2M, self->a, VA_A);
	EXPECT_EQ(pa, phys_of(_metadata, fd, self->b, VA_B, &level, NULL));
	EXPECT_EQ(2, level);
	/* Cut by the range: 4 KiB leaves into the 2 MiB frame. */
	test_cmd_share(self->c, VA_C, 3 * SZ_4K, self->a, VA_A + SZ_4K);
	EXPECT_EQ(pa + SZ_4K, phys_of(_metadata, fd, self->c, VA_C, &level,
				      &flags));
	EXPECT_EQ(1, level);
	EXPECT_EQ(SPT_QUERY_MAPPED | SPT_QUERY_TRACKED, flags);
	/* Covered whole but at a VA that is not 2 MiB aligned. */
	test_cmd_share(self->c, VA_C + SZ_64K, SZ_2M, self->a, VA_A + SZ_2M);
	/* (the second 2 MiB frame need not follow the first) */
	EXPECT_EQ(phys_of(_metadata, fd, self->a, VA_A + SZ_2M + SZ_4K, NULL,
			  NULL),
		  phys_of(_metadata, fd, self->c, VA_C + SZ_64K + SZ_4K,
			  &level, NULL));
	EXPECT_EQ(1, level);
	/* The source keeps its leaf. */
	phys_of(_metadata, fd, self->a, VA_A + SZ_4K, &level, NULL);
	EXPECT_EQ(2, level);
	test_cmd_check(self->a);
	EXPECT_TRUE(same(fd, self->c, VA_C, self->a, VA_A + SZ_4K,
			 3 * SZ_4K));
	fill(_metadata, fd, self->c, VA_C + SZ_64K, SZ_2M, 4);
	EXPECT_TRUE(holds(fd, self->a, VA_A + SZ_2M, SZ_2M, 4));
	EXPECT_TRUE(holds(fd, self->b, VA_B + SZ_2M, SZ_2M, 4));
	EXPECT_EQ(p0 + 1024, pool_data(fd));
	EXPECT_EQ(1024, space_data(fd, self->a));
	EXPECT_EQ(1024, space_data(fd, self->b));
	EXPECT_EQ(3 + 512, space_data(fd, self->c));
	/* B splits its shared leaf by a partial unmap. */
	test_cmd_unmap(self->b, VA_B + SZ_4K, SZ_4K, NULL);
	test_cmd_check(self->b);
	EXPECT_EQ(1023, space_data(fd, self->b));
	test_cmd_space_destroy(self->a);
	test_cmd_space_destroy(self->b);
	test_cmd_check(self->c);
	EXPECT_EQ(p0 + 1024, pool_data(fd));
	EXPECT_TRUE(holds(fd, self->c, VA_C + SZ_64K, SZ_2M, 4));
	test_cmd_unmap(self->c, VA_C + SZ_64K, SZ_2M, NULL);
	test_cmd_check(self->c);
	EXPECT_EQ(p0 + 512, pool_data(fd));
	test_cmd_unmap(self->c, VA_C, 3 * SZ_4K, NULL);
	EXPECT_EQ(p0, pool_data(fd));
	EXPECT_EQ(0, space_data(fd, self->c));
}

/*
 * The first share of a split 2 MiB frame: its space is charged for the
 * pieces it maps from then on, not for the whole frame.
 */
TEST_F(share, quota_of_split_frame)
{
	int fd = self->env.fd;
	__u64 p0 = pool_data(fd);

	test_cmd_map(self->a, SPT_MAP_2M, VA_A, SZ_2M, 0, RW);
	test_cmd_unmap(self->a, VA_A, 2 * SZ_4K, NULL);
	EXPECT_EQ(512, space_data(fd, self->a));
	test_cmd_share(self->b, VA_B, SZ_4K, self->a, VA_A + 4 * SZ_4K);
	EXPECT_EQ(510, space_data(fd, self->a));
	EXPECT_EQ(1, space_data(fd, self->b));
	EXPECT_EQ(p0 + 512, pool_data(fd));
	test_cmd_check(self->a);
	test_cmd_unmap(self->a, VA_A, SZ_2M, NULL);
	EXPECT_EQ(0, space_data(fd, self->a));
	EXPECT_EQ(p0 + 512, pool_data(fd));
	test_cmd_check(self->b);
	test_cmd_unmap(self->b, VA_B, SZ_4K, NULL);
	EXPECT_EQ(0, space_data(fd, self->b));
	EXPECT_EQ(p0, pool_data(fd));
}

/* Load windows: write through one space's address, read the other's. */
TEST_F(share, load_window)
{
	int fd = self->env.fd;
	struct spt_load_op ops[4] = {
		{ .op = SPT_LOAD_OP_WRITE, .width = 8, .va = VA_A + 8,
		  .value = 0x1122334455667788ULL },
		{ .op = SPT_LOAD_OP_READ, .width = 8, .va = VA_B + 8 },
		{ .op = SPT_LOAD_OP_READ, .width = 8, .va = VA_C + 8 },
		{ .op = SPT_LOAD_OP_WRITE, .width = 4, .va = VA_C + 16,
		  .value = 0xcafe },
	};
	struct spt_load_op rd = {
		.op = SPT_LOAD_OP_READ, .width = 4, .va = VA_A + 16,
	};
	struct spt_load out;
	__u64 v = 0, done;

	test_cmd_map(self->a, SPT_MAP_4K, VA_A, SZ_4K, 0, RW);
	test_cmd_share(self->a, VA_B, SZ_4K, self->a, VA_A);
	test_cmd_share(self->b, VA_C, SZ_4K, self->a, VA_B);
	/* One window per space: A writes, its alias reads. */
	if (_spt_load(fd, self->a, ops, 2, &out))
		SKIP(return, "load window: %s (no isolated CPU?)",
		     strerror(errno));
	EXPECT_EQ(SPT_LOAD_OK, ops[0].out_status);
	EXPECT_EQ(SPT_LOAD_OK, ops[1].out_status);
	EXPECT_EQ(0x1122334455667788ULL, ops[1].out_value);
	ASSERT_EQ(0, _spt_load(fd, self->b, ops + 2, 2, &out));
	EXPECT_EQ(SPT_LOAD_OK, ops[2].out_status);
	EXPECT_EQ(0x1122334455667788ULL, ops[2].out_value);
	EXPECT_EQ(SPT_LOAD_OK, ops[3].out_status);
	ASSERT_EQ(0, _spt_load(fd, self->a, &rd, 1, &out));
	EXPECT_EQ(SPT_LOAD_OK, rd.out_status);
	EXPECT_EQ(0xcafe, rd.out_value);
	EXPECT_EQ(0, _spt_rw(fd, self->b, 0, VA_C + 8, &v, 8, &done));
	EXPECT_EQ(0x1122334455667788ULL, v);
	test_cmd_check(self->a);
}

/* Untracked source leaves alias untracked, with the permission. */
TEST_F(share, untracked)
{
	int fd = self->env.fd;
	__u32 level, flags;
	__u64 m;

	if (spt_env_allow_phys(&self->env))
		SKIP(return, "allow_phys cannot be set");
	test_cmd_map(self->a, SPT_MAP_PHYS, VA_A, SZ_2M + SZ_64K,
		     SPT_TEST_PHYS, RW);
	test_cmd_share(self->b, VA_B, SZ_2M + SZ_64K, self->a, VA_A);
	EXPECT_EQ(SPT_TEST_PHYS + SZ_64K,
		  phys_of(_metadata, fd, self->b, VA_B + SZ_64K, &level,
			  &flags));
	EXPECT_EQ(2, level);
	EXPECT_EQ(SPT_QUERY_MAPPED, flags);
	EXPECT_EQ(0, space_data(fd, self->b));
	test_cmd_check(self->b);
	/* Without the permission: EPERM, nothing changed. */
	ASSERT_EQ(0, spt_env_param(&self->env, "allow_phys", "0"));
	EXPECT_ERRNO(EPERM, _spt_share(fd, self->c, VA_C, SZ_4K, self->a,
				       VA_A, RW, 0, &m));
	EXPECT_EQ(0, m);
	EXPECT_EQ(0, phys_of(_metadata, fd, self->c, VA_C, NULL, &flags));
	EXPECT_EQ(0, flags);
}

/* Every bad input: its errno, out_mapped 0, nothing changed anywhere. */
TEST_F(share, bad)
{
	int fd = self->env.fd;
	struct spt_space_info ia, ib;
	__u64 p0, m, end = self->env.ver.out_user_end;
	struct spt_map cmd;
	__u32 flags;

	test_cmd_map(self->a, SPT_MAP_4K, VA_A, 4 * SZ_4K, 0, RW);
	test_cmd_map(self->b, SPT_MAP_4K, VA_B + SZ_4K, SZ_4K, 0, RW);
	p0 = pool_data(fd);
	test_cmd_space_info(self->a, &ia);
	test_cmd_space_info(self->b, &ib);
#define BAD(err, ...)							\
	({								\
		m = 1;							\
		EXPECT_ERRNO(err, _spt_share(fd, __VA_ARGS__, &m));	\
		/* Written back as 0, or not at all. */			\
		EXPECT_TRUE(m == 0 || m == 0xdeadbeefULL);		\
	})
	/* Unknown, destroyed or zero source. */
	BAD(ENOENT, self->b, VA_B, SZ_4K, 0xfffffff0, VA_A, RW, 0);
	BAD(ENOENT, self->b, VA_B, SZ_4K, 0, VA_A, RW, 0);
	BAD(ENOENT, 0xfffffff0, VA_B, SZ_4K, self->a, VA_A, RW, 0);
	/* Source range not (all) mapped. */
	BAD(ENXIO, self->c, VA_C, SZ_4K, self->a, VA_A + 4 * SZ_4K, RW, 0);
	BAD(ENXIO, self->c, VA_C, 8 * SZ_4K, self->a, VA_A, RW, 0);
	BAD(ENXIO, self->c, VA_C, SZ_4K, self->c, VA_A, RW, 0);
	/* Destination in use: EEXIST; an alias over its own source too. */
	BAD(EEXIST, self->b, VA_B, 2 * SZ_4K, self->a, VA_A, RW, 0);
	BAD(EEXIST, self->a, VA_A + SZ_4K, SZ_4K, self->a, VA_A, RW, 0);
	/* Unaligned, zero, overflowing, outside the user half. */
	BAD(EINVAL, self->b, VA_B + 1, SZ_4K, self->a, VA_A, RW, 0);
	BAD(EINVAL, self->b, VA_B, SZ_4K, self->a, VA_A + 8, RW, 0);
	BAD(EINVAL, self->b, VA_B, SZ_4K + 1, self->a, VA_A, RW, 0);
	BAD(EINVAL, self->b, VA_B, 0, self->a, VA_A, RW, 0);
	BAD(EINVAL, self->b, VA_B, -SZ_4K, self->a, VA_A, RW, 0);
	BAD(EINVAL, self->b, VA_B, SZ_4K, self->a, end, RW, 0);
	BAD(EINVAL, self->b, VA_B, 2 * SZ_4K, self->a, end - SZ_4K, RW, 0);
	BAD(EINVAL, self->b, VA_B, SZ_4K, self->a, -SZ_4K, RW, 0);
	/* With a size flag, PHYS or REPLACE; bad prot. */
	BAD(EINVAL, self->b, VA_B, SZ_4K, self->a, VA_A, RW, SPT_MAP_4K);
	BAD(EINVAL, self->b, VA_B, SZ_2M, self->a, VA_A, RW, SPT_MAP_2M);
	BAD(EINVAL, self->b, VA_B, SZ_4K, self->a, VA_A, RW,
	    SPT_MAP_LARGEST);
	BAD(EINVAL, self->b, VA_B, SZ_4K, self->a, VA_A, RW, SPT_MAP_PHYS);
	BAD(EINVAL, self->b, VA_B, SZ_4K, self->a, VA_A, RW,
	    SPT_MAP_REPLACE);
	BAD(EINVAL, self->b, VA_B, SZ_4K, self->a, VA_A, SPT_PROT_GLOBAL, 0);
	/* phys, __reserved2; source fields without SHARE. */
	cmd = (struct spt_map){
		.size = sizeof(cmd), .flags = SPT_MAP_SHARE,
		.space_id = self->b, .va = VA_B, .length = SZ_4K,
		.src_space_id = self->a, .src_va = VA_A, .phys = SZ_4K,
	};
	EXPECT_ERRNO(EINVAL, ioctl(fd, SPT_IOCTL_MAP, &cmd));
	cmd.phys = 0;
	cmd.__reserved2 = 1;
	EXPECT_ERRNO(EINVAL, ioctl(fd, SPT_IOCTL_MAP, &cmd));
	cmd.__reserved2 = 0;
	cmd.flags = SPT_MAP_4K;
	EXPECT_ERRNO(EINVAL, ioctl(fd, SPT_IOCTL_MAP, &cmd));
	cmd.src_space_id = 0;
	EXPECT_ERRNO(EINVAL, ioctl(fd, SPT_IOCTL_MAP, &cmd));
	cmd.src_va = 0;
	EXPECT_EQ(0, ioctl(fd, SPT_IOCTL_MAP, &cmd));
	test_cmd_unmap(self->b, VA_B, SZ_4K, NULL);
	/* The first release's struct cannot name a source. */
	cmd = (struct spt_map){
		.size = offsetofend(struct spt_map, out_mapped),
		.flags = SPT_MAP_SHARE, .space_id = self->b, .va = VA_B,
		.length = SZ_4K,
	};
	EXPECT_ERRNO(ENOENT, ioctl(fd, SPT_IOCTL_MAP, &cmd));
	/* Nothing changed. */
	EXPECT_EQ(p0, pool_data(fd));
	EXPECT_EQ(ia.out_data_frames, space_data(fd, self->a));
	EXPECT_EQ(ib.out_data_frames, space_data(fd, self->b));
	EXPECT_EQ(0, space_data(fd, self->c));
	EXPECT_EQ(0, phys_of(_metadata, fd, self->b, VA_B, NULL, &flags));
	EXPECT_EQ(0, flags);
	EXPECT_EQ(0, phys_of(_metadata, fd, self->c, VA_C, NULL, &flags));
	EXPECT_EQ(0, flags);
	test_cmd_check(self->a);
	test_cmd_check(self->b);
	test_cmd_check(self->c);
#undef BAD
}

/* ENOSPC: the destination's quota counts the pages it shares. */
TEST_F(share, quota_limit)
{
	int fd = self->env.fd;
	long space_mb = spt_param_ulong("space_mb");
	__u64 p0, m, len;
	__u32 d;

	ASSERT_LT(0, space_mb);
	ASSERT_EQ(0, spt_env_param(&self->env, "space_mb", "2"));
	test_cmd_space_create(0, &d);
	test_cmd_map(d, SPT_MAP_4K, VA_A, SZ_1M, 0, RW);
	len = SZ_2M;
	ASSERT_EQ(0, spt_env_param(&self->env, "space_mb", "64"));
	test_cmd_map(self->a, SPT_MAP_4K, VA_A, len, 0, RW);
	p0 = pool_data(fd);
	/* 1 MiB fits, then the 2 MiB limit is reached. */
	m = 0;
	EXPECT_ERRNO(ENOSPC, _spt_share(fd, d, VA_B, len, self->a, VA_A, RW,
					0, &m));
	EXPECT_EQ(0, m);
	EXPECT_EQ(256, space_data(fd, d));
	EXPECT_EQ(0, _spt_share(fd, d, VA_B, SZ_1M, self->a, VA_A, RW, 0,
				&m));
	EXPECT_EQ(SZ_1M, m);
	EXPECT_EQ(512, space_data(fd, d));
	EXPECT_EQ(p0, pool_data(fd));
	test_cmd_check(d);
	test_cmd_space_destroy(d);
	test_cmd_check(self->a);
}

/* A source destroyed while other threads share from it and unmap. */
struct racer {
	int fd;
	__u32 src, dst;
	__u64 dst_va;
	volatile bool *stop;
	unsigned long ok, errs;
	int bad_errno;
};

static void *share_loop(void *arg)
{
	struct racer *r = arg;
	__u64 m, un, done;

	while (!*r->stop) {
		if (!_spt_share(r->fd, r->dst, r->dst_va, SZ_64K, r->src, VA_A,
				RW, 0, &m)) {
			r->ok++;
		} else if (errno == ENOENT || errno == ENXIO) {
			r->errs++;
		} else {
			r->bad_errno = errno;
		}
		_spt_unmap(r->fd, r->dst, r->dst_va, SZ_64K, &un, &done);
	}
	return NULL;
}

TEST_F(share, race_destroy_source)
{
	volatile bool stop = false;
	struct racer r[2];
	pthread_t t[2];
	int round, i;

	for (round = 0; round < 20; round++) {
		__u32 src;

		test_cmd_space_create(0, &src);
		test_cmd_map(src, SPT_MAP_4K, VA_A, SZ_64K, 0, RW);
		stop = false;
		for (i = 0; i < 2; i++) {
			r[i] = (struct racer){
				.fd = self->env.fd, .src = src,
				.dst = i ? self->b : self->c,
				.dst_va = VA_B, .stop = &stop,
			};
			ASSERT_EQ(0, pthread_create(&t[i], NULL, share_loop,
						    &r[i]));
		}
		usleep(2000 + round * 500);
		test_cmd_space_destroy(src);
		usleep(1000);
		stop = true;
		for (i = 0; i < 2; i++) {
			pthread_join(t[i], NULL);
			EXPECT_EQ(0, r[i].bad_errno);
		}
		test_cmd_check(self->b);
		test_cmd_check(self->c);
	}
}

TEST_HARNESS_MAIN
