// SPDX-License-Identifier: GPL-2.0
/*
 * SPT_IOCTL_MMAP: a space's frames mapped into the process. The process
 * writes and the space (RW ioctl) reads, and the other way round; the
 * space unmaps (or is destroyed) and the process still reads until it
 * unmaps; fork (the child keeps reading after the parent unmapped); two
 * processes with regions of one space; partial munmap; 2 MiB frames in
 * pieces; the file closed while mapped; CHECK after every step
 * (refcount == leaves + region references) and the pool counters back
 * at the end; every bad input of the ioctl and of mmap() with its errno.
 * Races: mappers in two files while the space is unmapped, mapped and
 * checked; a buffer munmapped while SPT_MAP_USER pins it.
 */
#include <pthread.h>
#include <sys/mman.h>
#include <sys/wait.h>

#include "shadowpt_utils.h"

#define VA	SPT_TEST_VA
#define RW	SPT_PROT_WRITE

static int _spt_mmap(int fd, __u32 flags, __u32 id, __u64 va, __u64 len,
		     __u64 offset, __u64 *out_offset, __u32 *out_prot)
{
	struct spt_mmap cmd = {
		.size = sizeof(cmd), .flags = flags, .space_id = id,
		.va = va, .length = len, .offset = offset,
		.out_offset = 0xdeadbeefULL, .out_prot = 0xdead,
	};
	int ret = ioctl(fd, SPT_IOCTL_MMAP, &cmd);

	if (out_offset)
		*out_offset = cmd.out_offset;
	if (out_prot)
		*out_prot = cmd.out_prot;
	return ret;
}

static int spt_mmap_release(int fd, __u64 offset)
{
	return _spt_mmap(fd, SPT_MMAP_RELEASE, 0, 0, 0, offset, NULL, NULL);
}

#define test_cmd_mmap(id, va, len, off, prot)				\
	ASSERT_EQ(0, _spt_mmap(self->env.fd, 0, id, va, len, 0, off, prot))

static __u32 pat(__u32 seed, __u64 i)
{
	return seed * 2654435761u + (__u32)i;
}

static void fill_mem(void *p, __u64 len, __u32 seed)
{
	__u32 *w = p;
	__u64 i;

	for (i = 0; i < len / 4; i++)
		w[i] = pat(seed, i);
}

static bool mem_holds(const void *p, __u64 len, __u32 seed)
{
	const __u32 *w = p;
	__u64 i;

	for (i = 0; i < len / 4; i++)
		if (w[i] != pat(seed, i))
			return false;
	return true;
}

/* Does [va, va + len) of @id hold the pattern of @seed (RW ioctl)? */
static bool space_holds(int fd, __u32 id, __u64 va, __u64 len, __u32 seed)
{
	void *buf = malloc(len);
	bool ok = buf != NULL;
	__u64 done;

	if (ok)
		ok = !_spt_rw(fd, id, 0, va, buf, len, &done) &&
		     mem_holds(buf, len, seed);
	free(buf);
	return ok;
}

static int space_fill(int fd, __u32 id, __u64 va, __u64 len, __u32 seed)
{
	void *buf = malloc(len);
	__u64 done;
	int ret = -1;

	if (buf) {
		fill_mem(buf, len, seed);
		ret = _spt_rw(fd, id, SPT_RW_WRITE, va, buf, len, &done);
	}
	free(buf);
	return ret;
}

static __u64 pool_data(int fd)
{
	struct spt_stats st;

	if (_spt_stats(fd, 0, &st))
		return ~0ULL;
	return st.pool_data_frames;
}

static void *map_region(int fd, __u64 off, __u64 len, int prot)
{
	return mmap(NULL, len, prot, MAP_SHARED, fd, off);
}

FIXTURE(procmap) {
	struct spt_env env;
	__u32 id;
};

FIXTURE_SETUP(procmap)
{
	spt_env_setup(_metadata, &self->env);
	test_cmd_space_create(0, &self->id);
}

FIXTURE_TEARDOWN(procmap)
{
	spt_env_teardown(_metadata, &self->env);
}

/* The process writes, the space reads; the space writes, the process reads. */
TEST_F(procmap, write_read_both_ways)
{
	__u64 off = 0, base = pool_data(self->env.fd);
	__u32 prot = 0;
	void *p;

	test_cmd_map(self->id, SPT_MAP_4K, VA, 16 * SZ_4K, 0, RW);
	test_cmd_mmap(self->id, VA, 16 * SZ_4K, &off, &prot);
	EXPECT_NE(0, off);
	EXPECT_EQ(0, off % SZ_4K);
	EXPECT_EQ(SPT_PROT_WRITE, prot);
	ASSERT_EQ(0, spt_check_log(_metadata, self->env.fd, self->id));
	p = map_region(self->env.fd, off, 16 * SZ_4K, PROT_READ | PROT_WRITE);
	ASSERT_NE(MAP_FAILED, p);
	/* Fresh frames are zero. */
	EXPECT_EQ(0, ((__u64 *)p)[0]);
	fill_mem(p, 16 * SZ_4K, 1);
	EXPECT_TRUE(space_holds(self->env.fd, self->id, VA, 16 * SZ_4K, 1));
	ASSERT_EQ(0, space_fill(self->env.fd, self->id, VA, 16 * SZ_4K, 2));
	EXPECT_TRUE(mem_holds(p, 16 * SZ_4K, 2));
	ASSERT_EQ(0, spt_check_log(_metadata, self->env.fd, self->id));
	EXPECT_EQ(base + 16, pool_data(self->env.fd));
	{
		struct spt_stats st;

		ASSERT_EQ(0, _spt_stats(self->env.fd, 0, &st));
		EXPECT_EQ(16, st.procmap_frames);
		EXPECT_EQ(16, st.procmap_refs);
	}
	ASSERT_EQ(0, munmap(p, 16 * SZ_4K));
	ASSERT_EQ(0, spt_check_log(_metadata, self->env.fd, self->id));
	ASSERT_EQ(0, spt_mmap_release(self->env.fd, off));
	/* Released: no more mmap of it, and released once only. */
	EXPECT_EQ(MAP_FAILED, map_region(self->env.fd, off, SZ_4K, PROT_READ));
	EXPECT_EQ(EINVAL, errno);
	EXPECT_ERRNO(EINVAL, spt_mmap_release(self->env.fd, off));
	ASSERT_EQ(0, spt_check_log(_metadata, self->env.fd, self->id));
	EXPECT_EQ(base + 16, pool_data(self->env.fd));
	test_cmd_unmap(self->id, VA, 16 * SZ_4K, NULL);
	EXPECT_EQ(base, pool_data(self->env.fd));
	{
		struct spt_stats st;

		ASSERT_EQ(0, _spt_stats(self->env.fd, 0, &st));
		EXPECT_EQ(0, st.procmap_frames);
		EXPECT_EQ(0, st.procmap_refs);
	}
}

/* The space unmaps: the process still reads until munmap. */
TEST_F(procmap, space_unmap_keeps_frames)
{
	__u64 off = 0, base = pool_data(self->env.fd);
	void *p;

	test_cmd_map(self->id, SPT_MAP_4K, VA, 8 * SZ_4K, 0, RW);
	ASSERT_EQ(0, space_fill(self->env.fd, self->id, VA, 8 * SZ_4K, 3));
	test_cmd_mmap(self->id, VA, 8 * SZ_4K, &off, NULL);
	p = map_region(self->env.fd, off, 8 * SZ_4K, PROT_READ);
	ASSERT_NE(MAP_FAILED, p);
	/* The region goes from the file: the mapping keeps it. */
	ASSERT_EQ(0, spt_mmap_release(self->env.fd, off));
	test_cmd_unmap(self->id, VA, 8 * SZ_4K, NULL);
	ASSERT_EQ(0, spt_check_log(_metadata, self->env.fd, self->id));
	EXPECT_TRUE(mem_holds(p, 8 * SZ_4K, 3));
	/* Still allocated, charged to nobody. */
	EXPECT_EQ(base + 8, pool_data(self->env.fd));
	{
		struct spt_space_info info;

		test_cmd_space_info(self->id, &info);
		EXPECT_EQ(0, info.out_data_frames);
	}
	/* New frames mapped at the same place are others. */
	test_cmd_map(self->id, SPT_MAP_4K, VA, 8 * SZ_4K, 0, RW);
	ASSERT_EQ(0, space_fill(self->env.fd, self->id, VA, 8 * SZ_4K, 4));
	EXPECT_TRUE(mem_holds(p, 8 * SZ_4K, 3));
	ASSERT_EQ(0, munmap(p, 8 * SZ_4K));
	EXPECT_EQ(base + 8, pool_data(self->env.fd));
	ASSERT_EQ(0, spt_check_log(_metadata, self->env.fd, self->id));
}

/* Destroy while mapped. */
TEST_F(procmap, destroy_while_mapped)
{
	__u64 off = 0, base = pool_data(self->env.fd);
	void *p;

	test_cmd_map(self->id, SPT_MAP_4K, VA, 4 * SZ_4K, 0, RW);
	test_cmd_mmap(self->id, VA, 4 * SZ_4K, &off, NULL);
	p = map_region(self->env.fd, off, 4 * SZ_4K, PROT_READ | PROT_WRITE);
	ASSERT_NE(MAP_FAILED, p);
	fill_mem(p, 4 * SZ_4K, 5);
	test_cmd_space_destroy(self->id);
	EXPECT_TRUE(mem_holds(p, 4 * SZ_4K, 5));
	fill_mem(p, 4 * SZ_4K, 6);
	EXPECT_TRUE(mem_holds(p, 4 * SZ_4K, 6));
	EXPECT_EQ(base + 4, pool_data(self->env.fd));
	/* The region outlives the space: still mappable. */
	{
		void *q = map_region(self->env.fd, off + SZ_4K, SZ_4K,
				     PROT_READ);

		ASSERT_NE(MAP_FAILED, q);
		EXPECT_EQ(pat(6, SZ_4K / 4), *(__u32 *)q);
		EXPECT_EQ(0, munmap(q, SZ_4K));
	}
	ASSERT_EQ(0, munmap(p, 4 * SZ_4K));
	ASSERT_EQ(0, spt_mmap_release(self->env.fd, off));
	EXPECT_EQ(base, pool_data(self->env.fd));
}

/* Fork: the child reads, the parent unmaps, the child still reads. */
TEST_F(procmap, fork_child_keeps_mapping)
{
	int to_child[2], to_parent[2], status;
	__u64 off = 0;
	char c = 0;
	pid_t pid;
	void *p;

	test_cmd_map(self->id, SPT_MAP_4K, VA, 4 * SZ_4K, 0, RW);
	test_cmd_mmap(self->id, VA, 4 * SZ_4K, &off, NULL);
	p = map_region(self->env.fd, off, 4 * SZ_4K, PROT_READ | PROT_WRITE);
	ASSERT_NE(MAP_FAILED, p);
	fill_mem(p, 4 * SZ_4K, 7);
	ASSERT_EQ(0, pipe(to_child));
	ASSERT_EQ(0, pipe(to_parent));
	pid = fork();
	ASSERT_LE(0, pid);
	if (!pid) {
		int ok = mem_holds(p, 4 * SZ_4K, 7);

		if (write(to_parent[1], "r", 1) != 1 ||
		    read(to_child[0], &c, 1) != 1)
			_exit(2);
		/* The parent unmapped, released and unmapped the space. */
		ok = ok && mem_holds(p, 4 * SZ_4K, 8);
		fill_mem(p, SZ_4K, 9);
		_exit(ok ? 0 : 1);
	}
	ASSERT_EQ(1, read(to_parent[0], &c, 1));
	fill_mem(p, 4 * SZ_4K, 8);
	ASSERT_EQ(0, munmap(p, 4 * SZ_4K));
	ASSERT_EQ(0, spt_mmap_release(self->env.fd, off));
	test_cmd_unmap(self->id, VA, 4 * SZ_4K, NULL);
	ASSERT_EQ(0, spt_check_log(_metadata, self->env.fd, self->id));
	ASSERT_EQ(1, write(to_child[1], "g", 1));
	ASSERT_EQ(pid, waitpid(pid, &status, 0));
	EXPECT_TRUE(WIFEXITED(status));
	EXPECT_EQ(0, WEXITSTATUS(status));
	close(to_child[0]);
	close(to_child[1]);
	close(to_parent[0]);
	close(to_parent[1]);
}

/* Two processes, each with a region of one space: one memory. */
TEST_F(procmap, two_processes)
{
	int sync[2], status;
	__u64 off = 0;
	char c;
	pid_t pid;
	void *p;

	test_cmd_map(self->id, SPT_MAP_4K, VA, 4 * SZ_4K, 0, RW);
	test_cmd_mmap(self->id, VA, 4 * SZ_4K, &off, NULL);
	p = map_region(self->env.fd, off, 4 * SZ_4K, PROT_READ | PROT_WRITE);
	ASSERT_NE(MAP_FAILED, p);
	ASSERT_EQ(0, pipe(sync));
	pid = fork();
	ASSERT_LE(0, pid);
	if (!pid) {
		int fd = spt_open(), ok;
		__u64 o2 = 0;
		void *q;

		munmap(p, 4 * SZ_4K);
		if (fd < 0 || _spt_mmap(fd, 0, self->id, VA, 4 * SZ_4K, 0,
					&o2, NULL))
			_exit(2);
		q = map_region(fd, o2, 4 * SZ_4K, PROT_READ | PROT_WRITE);
		if (q == MAP_FAILED)
			_exit(3);
		fill_mem(q, 4 * SZ_4K, 10);
		ok = !spt_check_log(_metadata, fd, self->id);
		close(fd);
		if (write(sync[1], "w", 1) != 1)
			_exit(4);
		/* Mapped still, the file closed: the region lives on. */
		ok = ok && mem_holds(q, 4 * SZ_4K, 10);
		_exit(ok ? 0 : 1);
	}
	ASSERT_EQ(1, read(sync[0], &c, 1));
	EXPECT_TRUE(mem_holds(p, 4 * SZ_4K, 10));
	ASSERT_EQ(pid, waitpid(pid, &status, 0));
	EXPECT_TRUE(WIFEXITED(status));
	EXPECT_EQ(0, WEXITSTATUS(status));
	ASSERT_EQ(0, spt_check_log(_metadata, self->env.fd, self->id));
	EXPECT_EQ(0, munmap(p, 4 * SZ_4K));
	close(sync[0]);
	close(sync[1]);
}

/* A partial munmap splits the mapping: both pieces keep the region. */
TEST_F(procmap, partial_munmap)
{
	__u64 off = 0, base = pool_data(self->env.fd);
	char *p;

	test_cmd_map(self->id, SPT_MAP_4K, VA, 8 * SZ_4K, 0, RW);
	ASSERT_EQ(0, space_fill(self->env.fd, self->id, VA, 8 * SZ_4K, 11));
	test_cmd_mmap(self->id, VA, 8 * SZ_4K, &off, NULL);
	p = map_region(self->env.fd, off, 8 * SZ_4K, PROT_READ);
	ASSERT_NE(MAP_FAILED, p);
	ASSERT_EQ(0, spt_mmap_release(self->env.fd, off));
	ASSERT_EQ(0, munmap(p + 2 * SZ_4K, 3 * SZ_4K));
	test_cmd_unmap(self->id, VA, 8 * SZ_4K, NULL);
	EXPECT_TRUE(mem_holds(p, 2 * SZ_4K, 11));
	EXPECT_EQ(pat(11, 5 * SZ_4K / 4), *(__u32 *)(p + 5 * SZ_4K));
	EXPECT_EQ(base + 8, pool_data(self->env.fd));
	ASSERT_EQ(0, munmap(p, 2 * SZ_4K));
	EXPECT_EQ(base + 8, pool_data(self->env.fd));
	ASSERT_EQ(0, munmap(p + 5 * SZ_4K, 3 * SZ_4K));
	EXPECT_EQ(base, pool_data(self->env.fd));
}

/* A part of a region, at an offset into it. */
TEST_F(procmap, part_of_region)
{
	__u64 off = 0;
	char *p;

	test_cmd_map(self->id, SPT_MAP_4K, VA, 8 * SZ_4K, 0, RW);
	ASSERT_EQ(0, space_fill(self->env.fd, self->id, VA, 8 * SZ_4K, 12));
	test_cmd_mmap(self->id, VA, 8 * SZ_4K, &off, NULL);
	p = map_region(self->env.fd, off + 3 * SZ_4K, 5 * SZ_4K, PROT_READ);
	ASSERT_NE(MAP_FAILED, p);
	EXPECT_EQ(pat(12, 3 * SZ_4K / 4), *(__u32 *)p);
	EXPECT_EQ(pat(12, 8 * SZ_4K / 4 - 1),
		  *(__u32 *)(p + 5 * SZ_4K - 4));
	EXPECT_EQ(0, munmap(p, 5 * SZ_4K));
	/* One page too many. */
	EXPECT_EQ(MAP_FAILED, map_region(self->env.fd, off + 3 * SZ_4K,
					 6 * SZ_4K, PROT_READ));
	EXPECT_EQ(EINVAL, errno);
}

/* 2 MiB frames: whole, and a piece from the middle. */
TEST_F(procmap, huge_frame_pieces)
{
	__u64 off = 0, off2 = 0, base = pool_data(self->env.fd);
	char *p, *q;

	test_cmd_map(self->id, SPT_MAP_2M, VA, SZ_2M, 0, RW);
	ASSERT_EQ(0, space_fill(self->env.fd, self->id, VA, SZ_2M, 13));
	test_cmd_mmap(self->id, VA, SZ_2M, &off, NULL);
	test_cmd_mmap(self->id, VA + 17 * SZ_4K, 3 * SZ_4K, &off2, NULL);
	EXPECT_NE(off, off2);
	{
		struct spt_stats st;

		/* One frame, a reference per 4 KiB page of each region. */
		ASSERT_EQ(0, _spt_stats(self->env.fd, 0, &st));
		EXPECT_EQ(1, st.procmap_frames);
		EXPECT_EQ(515, st.procmap_refs);
	}
	ASSERT_EQ(0, spt_check_log(_metadata, self->env.fd, self->id));
	p = map_region(self->env.fd, off, SZ_2M, PROT_READ | PROT_WRITE);
	ASSERT_NE(MAP_FAILED, p);
	q = map_region(self->env.fd, off2, 3 * SZ_4K, PROT_READ);
	ASSERT_NE(MAP_FAILED, q);
	EXPECT_TRUE(mem_holds(p, SZ_2M, 13));
	EXPECT_EQ(pat(13, 17 * SZ_4K / 4), *(__u32 *)q);
	test_cmd_unmap(self->id, VA, SZ_2M, NULL);
	ASSERT_EQ(0, spt_check_log(_metadata, self->env.fd, self->id));
	p[17 * SZ_4K] = 0x5a;
	EXPECT_EQ(0x5a, q[0]);
	EXPECT_EQ(base + 512, pool_data(self->env.fd));
	ASSERT_EQ(0, munmap(p, SZ_2M));
	ASSERT_EQ(0, spt_mmap_release(self->env.fd, off));
	EXPECT_EQ(base + 512, pool_data(self->env.fd));
	ASSERT_EQ(0, munmap(q, 3 * SZ_4K));
	ASSERT_EQ(0, spt_mmap_release(self->env.fd, off2));
	EXPECT_EQ(base, pool_data(self->env.fd));
}

/* Regions of a shared frame (SPT_MAP_SHARE): CHECK counts both. */
TEST_F(procmap, with_share)
{
	struct spt_map cmd = {
		.size = sizeof(cmd), .flags = SPT_MAP_SHARE, .prot = RW,
		.va = VA + SZ_1G, .length = 4 * SZ_4K, .src_va = VA,
	};
	__u64 off = 0;
	__u32 b;
	void *p;

	test_cmd_space_create(0, &b);
	test_cmd_map(self->id, SPT_MAP_4K, VA, 4 * SZ_4K, 0, RW);
	test_cmd_mmap(self->id, VA, 4 * SZ_4K, &off, NULL);
	cmd.space_id = b;
	cmd.src_space_id = self->id;
	ASSERT_EQ(0, ioctl(self->env.fd, SPT_IOCTL_MAP, &cmd));
	ASSERT_EQ(0, spt_check_log(_metadata, self->env.fd, b));
	p = map_region(self->env.fd, off, 4 * SZ_4K, PROT_READ | PROT_WRITE);
	ASSERT_NE(MAP_FAILED, p);
	fill_mem(p, 4 * SZ_4K, 14);
	EXPECT_TRUE(space_holds(self->env.fd, b, VA + SZ_1G, 4 * SZ_4K, 14));
	test_cmd_space_destroy(self->id);
	ASSERT_EQ(0, spt_check_log(_metadata, self->env.fd, b));
	EXPECT_TRUE(mem_holds(p, 4 * SZ_4K, 14));
	EXPECT_EQ(0, munmap(p, 4 * SZ_4K));
	ASSERT_EQ(0, spt_check_log(_metadata, self->env.fd, b));
}

/* Read-only leaves make a read-only region: no PROT_WRITE, no mprotect. */
TEST_F(procmap, read_only_region)
{
	__u64 off = 0;
	__u32 prot = 0xff;
	void *p;

	test_cmd_map(self->id, SPT_MAP_4K, VA, 2 * SZ_4K, 0, RW);
	test_cmd_map(self->id, SPT_MAP_4K, VA + 2 * SZ_4K, SZ_4K, 0, 0);
	test_cmd_mmap(self->id, VA, 3 * SZ_4K, &off, &prot);
	EXPECT_EQ(0, prot);
	EXPECT_EQ(MAP_FAILED, map_region(self->env.fd, off, 3 * SZ_4K,
					 PROT_READ | PROT_WRITE));
	EXPECT_EQ(EACCES, errno);
	p = map_region(self->env.fd, off, 3 * SZ_4K, PROT_READ);
	ASSERT_NE(MAP_FAILED, p);
	EXPECT_EQ(-1, mprotect(p, 3 * SZ_4K, PROT_READ | PROT_WRITE));
	EXPECT_EQ(EACCES, errno);
	EXPECT_EQ(0, munmap(p, 3 * SZ_4K));
}

/* Every bad input of SPT_IOCTL_MMAP, with nothing changed. */
TEST_F(procmap, bad_ioctl)
{
	int fd = self->env.fd;
	struct spt_counters before, after;
	struct spt_mmap cmd;
	__u64 off = 0;

	test_cmd_map(self->id, SPT_MAP_4K, VA, 4 * SZ_4K, 0, RW);
	ASSERT_EQ(0, spt_counters_read(fd, &before));
	EXPECT_ERRNO(EINVAL, _spt_mmap(fd, 2, self->id, VA, SZ_4K, 0, NULL,
				       NULL));
	EXPECT_ERRNO(EINVAL, _spt_mmap(fd, 0, self->id, VA + 1, SZ_4K, 0,
				       NULL, NULL));
	EXPECT_ERRNO(EINVAL, _spt_mmap(fd, 0, self->id, VA, 0, 0, NULL,
				       NULL));
	EXPECT_ERRNO(EINVAL, _spt_mmap(fd, 0, self->id, VA, 100, 0, NULL,
				       NULL));
	EXPECT_ERRNO(EINVAL, _spt_mmap(fd, 0, self->id, VA,
				       SPT_MMAP_MAX + SZ_4K, 0, NULL, NULL));
	EXPECT_ERRNO(EINVAL, _spt_mmap(fd, 0, self->id, VA, SZ_4K, SZ_4K,
				       NULL, NULL));
	EXPECT_ERRNO(EINVAL, _spt_mmap(fd, 0, self->id,
				       self->env.ver.out_user_end - SZ_4K,
				       2 * SZ_4K, 0, NULL, NULL));
	EXPECT_ERRNO(ENOENT, _spt_mmap(fd, 0, 0xfffffff0, VA, SZ_4K, 0,
				       NULL, NULL));
	/* The last page is not mapped: nothing taken. */
	EXPECT_ERRNO(ENXIO, _spt_mmap(fd, 0, self->id, VA, 5 * SZ_4K, 0,
				      NULL, NULL));
	EXPECT_ERRNO(ENXIO, _spt_mmap(fd, 0, self->id, VA + SZ_1G, SZ_4K, 0,
				      NULL, NULL));
	memset(&cmd, 0, sizeof(cmd));
	cmd.size = sizeof(cmd);
	cmd.space_id = self->id;
	cmd.va = VA;
	cmd.length = SZ_4K;
	cmd.__reserved = 1;
	EXPECT_ERRNO(EINVAL, ioctl(fd, SPT_IOCTL_MMAP, &cmd));
	cmd.__reserved = 0;
	cmd.__reserved2 = 1;
	EXPECT_ERRNO(EINVAL, ioctl(fd, SPT_IOCTL_MMAP, &cmd));
	cmd.__reserved2 = 0;
	cmd.size = offsetof(struct spt_mmap, __reserved2);
	EXPECT_ERRNO(EINVAL, ioctl(fd, SPT_IOCTL_MMAP, &cmd));
	/* A larger struct with a non-zero tail. */
	{
		char big[sizeof(cmd) + 8] = { 0 };

		memcpy(big, &cmd, sizeof(cmd));
		((struct spt_mmap *)big)->size = sizeof(big);
		big[sizeof(cmd)] = 1;
		EXPECT_ERRNO(E2BIG, ioctl(fd, SPT_IOCTL_MMAP, big));
	}
	/* Release: only @offset, of a region of this file. */
	EXPECT_ERRNO(EINVAL, spt_mmap_release(fd, 0));
	EXPECT_ERRNO(EINVAL, spt_mmap_release(fd, SZ_4K));
	test_cmd_mmap(self->id, VA, SZ_4K, &off, NULL);
	EXPECT_ERRNO(EINVAL, spt_mmap_release(fd, off + 1));
	EXPECT_ERRNO(EINVAL, _spt_mmap(fd, SPT_MMAP_RELEASE, self->id, 0, 0,
				       off, NULL, NULL));
	EXPECT_ERRNO(EINVAL, _spt_mmap(fd, SPT_MMAP_RELEASE, 0, VA, 0, off,
				       NULL, NULL));
	EXPECT_ERRNO(EINVAL, _spt_mmap(fd, SPT_MMAP_RELEASE, 0, 0, SZ_4K,
				       off, NULL, NULL));
	EXPECT_ERRNO(EINVAL, _spt_mmap(fd, SPT_MMAP_RELEASE | 2, 0, 0, 0,
				       off, NULL, NULL));
	/* Another file's region is not this one's. */
	{
		int fd2 = spt_open();

		ASSERT_LE(0, fd2);
		EXPECT_ERRNO(EINVAL, spt_mmap_release(fd2, off));
		close(fd2);
	}
	ASSERT_EQ(0, spt_mmap_release(fd, off));
	ASSERT_EQ(0, spt_counters_read(fd, &after));
	EXPECT_COUNTERS_EQ(&before, &after);
	ASSERT_EQ(0, spt_check_log(_metadata, fd, self->id));
}

/* Untracked and pinned leaves are refused (EINVAL), nothing taken. */
TEST_F(procmap, refused_leaves)
{
	int fd = self->env.fd;
	struct spt_map cmd = {
		.size = sizeof(cmd), .flags = SPT_MAP_USER | SPT_MAP_4K,
		.space_id = self->id, .prot = RW, .va = VA + SZ_2M,
		.length = SZ_4K,
	};
	struct spt_counters before, after;
	void *buf = aligned_alloc(SZ_4K, SZ_4K);

	ASSERT_NE(NULL, buf);
	memset(buf, 1, SZ_4K);
	cmd.src_va = (__u64)(unsigned long)buf;
	ASSERT_EQ(0, ioctl(fd, SPT_IOCTL_MAP, &cmd));
	test_cmd_map(self->id, SPT_MAP_4K, VA, SZ_4K, 0, RW);
	{
		struct spt_query_entry e;

		ASSERT_EQ(0, _spt_query(fd, self->id, VA + SZ_2M, &e));
		EXPECT_EQ(SPT_QUERY_MAPPED | SPT_QUERY_PINNED, e.flags);
		ASSERT_EQ(0, _spt_query(fd, self->id, VA, &e));
		EXPECT_EQ(SPT_QUERY_MAPPED | SPT_QUERY_TRACKED, e.flags);
	}
	ASSERT_EQ(0, spt_counters_read(fd, &before));
	EXPECT_ERRNO(EINVAL, _spt_mmap(fd, 0, self->id, VA + SZ_2M, SZ_4K, 0,
				       NULL, NULL));
	if (!spt_env_allow_phys(&self->env)) {
		test_cmd_map(self->id, SPT_MAP_PHYS, VA + SZ_1G, SZ_4K,
			     SPT_TEST_PHYS, 0);
		EXPECT_ERRNO(EINVAL, _spt_mmap(fd, 0, self->id, VA + SZ_1G,
					       SZ_4K, 0, NULL, NULL));
		/* The tracked page before it was not kept either. */
		test_cmd_map(self->id, SPT_MAP_4K, VA + SZ_1G - SZ_4K, SZ_4K,
			     0, RW);
		ASSERT_EQ(0, spt_counters_read(fd, &before));
		EXPECT_ERRNO(EINVAL, _spt_mmap(fd, 0, self->id,
					       VA + SZ_1G - SZ_4K, 2 * SZ_4K,
					       0, NULL, NULL));
	}
	ASSERT_EQ(0, spt_counters_read(fd, &after));
	EXPECT_COUNTERS_EQ(&before, &after);
	ASSERT_EQ(0, spt_check_log(_metadata, fd, self->id));
	test_cmd_space_destroy(self->id);
	free(buf);
}

/* Bad mmap() calls: offsets, lengths, MAP_PRIVATE, growing. */
TEST_F(procmap, bad_mmap)
{
	int fd = self->env.fd;
	__u64 off = 0, off2 = 0;
	void *p;

	test_cmd_map(self->id, SPT_MAP_4K, VA, 4 * SZ_4K, 0, RW);
	test_cmd_mmap(self->id, VA, 2 * SZ_4K, &off, NULL);
	test_cmd_mmap(self->id, VA + 2 * SZ_4K, 2 * SZ_4K, &off2, NULL);
	EXPECT_EQ(MAP_FAILED, mmap(NULL, SZ_4K, PROT_READ, MAP_SHARED, fd, 0));
	EXPECT_EQ(EINVAL, errno);
	/* The gap page between the two regions, and past the last. */
	EXPECT_EQ(MAP_FAILED, mmap(NULL, SZ_4K, PROT_READ, MAP_SHARED, fd,
				   off + 2 * SZ_4K));
	EXPECT_EQ(EINVAL, errno);
	EXPECT_EQ(MAP_FAILED, mmap(NULL, SZ_4K, PROT_READ, MAP_SHARED, fd,
				   off2 + 2 * SZ_4K));
	EXPECT_EQ(EINVAL, errno);
	/* Across the end of a region. */
	EXPECT_EQ(MAP_FAILED, mmap(NULL, 3 * SZ_4K, PROT_READ, MAP_SHARED, fd,
				   off));
	EXPECT_EQ(EINVAL, errno);
	EXPECT_EQ(MAP_FAILED, mmap(NULL, SZ_4K, PROT_READ, MAP_PRIVATE, fd,
				   off));
	EXPECT_EQ(EINVAL, errno);
	/* An unaligned offset: the kernel's own EINVAL. */
	EXPECT_EQ(MAP_FAILED, mmap(NULL, SZ_4K, PROT_READ, MAP_SHARED, fd,
				   off + 8));
	EXPECT_EQ(EINVAL, errno);
	p = mmap(NULL, SZ_4K, PROT_READ, MAP_SHARED, fd, off);
	ASSERT_NE(MAP_FAILED, p);
	/* It cannot grow (VM_DONTEXPAND). */
	EXPECT_EQ(MAP_FAILED, mremap(p, SZ_4K, 2 * SZ_4K, 0));
	EXPECT_EQ(0, munmap(p, SZ_4K));
	ASSERT_EQ(0, spt_check_log(_metadata, fd, self->id));
}

static long module_refcnt(void)
{
	char buf[32] = "";
	FILE *f = fopen("/sys/module/shadowpt/refcnt", "r");
	long n = -1;

	if (f && fgets(buf, sizeof(buf), f))
		n = strtol(buf, NULL, 10);
	if (f)
		fclose(f);
	return n;
}

/*
 * A mapping keeps its file, and the file the module (no rmmod while
 * mapped); the frames go back at munmap.
 */
TEST_F(procmap, mapping_holds_module)
{
	__u64 off = 0, base = pool_data(self->env.fd);
	int fd2 = spt_open();
	long mapped_ref;
	void *p;

	ASSERT_LE(0, fd2);
	test_cmd_map(self->id, SPT_MAP_4K, VA, 2 * SZ_4K, 0, RW);
	ASSERT_EQ(0, _spt_mmap(fd2, 0, self->id, VA, 2 * SZ_4K, 0, &off,
			       NULL));
	p = map_region(fd2, off, 2 * SZ_4K, PROT_READ);
	ASSERT_NE(MAP_FAILED, p);
	close(fd2);
	test_cmd_space_destroy(self->id);
	EXPECT_EQ(base + 2, pool_data(self->env.fd));
	/* The closed file, kept by the mapping, holds the module once. */
	mapped_ref = module_refcnt();
	if (mapped_ref < 0)
		SKIP(return, "no /sys/module/shadowpt/refcnt");
	ASSERT_EQ(0, munmap(p, 2 * SZ_4K));
	EXPECT_EQ(mapped_ref - 1, module_refcnt());
	EXPECT_EQ(base, pool_data(self->env.fd));
}

/* ---- races ------------------------------------------------------------ */

#define RACE_ROUNDS	200

struct race {
	int fd;
	__u32 id;
	volatile bool stop;
	unsigned long maps, ok_checks;
	char *buf;		/* munmap_during_pin: the pinned buffer */
};

/* Regions made, mapped, read, dropped, while the space changes. */
static void *race_mapper(void *arg)
{
	struct race *r = arg;
	int fd = spt_open();

	while (fd >= 0 && !r->stop) {
		__u64 off;
		void *p;

		if (_spt_mmap(fd, 0, r->id, VA, 4 * SZ_4K, 0, &off, NULL))
			continue;	/* ENXIO: unmapped meanwhile */
		p = map_region(fd, off, 4 * SZ_4K, PROT_READ);
		spt_mmap_release(fd, off);
		if (p != MAP_FAILED) {
			(void)*(volatile char *)p;
			munmap(p, 4 * SZ_4K);
		}
		r->maps++;
	}
	if (fd >= 0)
		close(fd);
	return NULL;
}

/*
 * Two processes' worth of mappers (threads of two files) and the space
 * unmapped and mapped again under them, CHECK meanwhile: every check
 * passes (a reference dropped by munmap mid-check is looked at again).
 */
TEST_F(procmap, race_mappers_vs_unmap_and_check)
{
	struct race r = { .fd = self->env.fd, .id = self->id };
	pthread_t t[2];
	unsigned int i;

	test_cmd_map(self->id, SPT_MAP_4K, VA, 4 * SZ_4K, 0, RW);
	for (i = 0; i < 2; i++)
		ASSERT_EQ(0, pthread_create(&t[i], NULL, race_mapper, &r));
	for (i = 0; i < RACE_ROUNDS; i++) {
		test_cmd_unmap(self->id, VA, 4 * SZ_4K, NULL);
		test_cmd_map(self->id, SPT_MAP_4K, VA, 4 * SZ_4K, 0, RW);
		if (!spt_check_log(_metadata, self->env.fd, self->id))
			r.ok_checks++;
	}
	r.stop = true;
	for (i = 0; i < 2; i++)
		pthread_join(t[i], NULL);
	EXPECT_EQ(RACE_ROUNDS, r.ok_checks);
	TH_LOG("%lu regions mapped meanwhile", r.maps);
	ASSERT_EQ(0, spt_check_log(_metadata, self->env.fd, self->id));
}

/* The buffer being pinned is munmapped by another thread. */
static void *race_munmapper(void *arg)
{
	struct race *r = arg;

	while (!r->stop) {
		munmap(r->buf, 4 * SZ_4K);
		mmap(r->buf, 4 * SZ_4K, PROT_READ | PROT_WRITE,
		     MAP_PRIVATE | MAP_ANONYMOUS | MAP_FIXED, -1, 0);
	}
	return NULL;
}

TEST_F(procmap, race_munmap_during_pin)
{
	struct race r = { .fd = self->env.fd, .id = self->id };
	unsigned int i, pinned = 0;
	pthread_t t;

	r.buf = mmap(NULL, 4 * SZ_4K, PROT_READ | PROT_WRITE,
		     MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
	ASSERT_NE(MAP_FAILED, r.buf);
	ASSERT_EQ(0, pthread_create(&t, NULL, race_munmapper, &r));
	for (i = 0; i < RACE_ROUNDS; i++) {
		struct spt_map m = {
			.size = sizeof(m), .flags = SPT_MAP_USER | SPT_MAP_4K,
			.space_id = self->id, .prot = RW, .va = VA,
			.length = 4 * SZ_4K,
			.src_va = (__u64)(unsigned long)r.buf,
		};

		if (ioctl(self->env.fd, SPT_IOCTL_MAP, &m)) {
			/* Unmapped meanwhile: nothing pinned, nothing kept. */
			EXPECT_EQ(EFAULT, errno);
			EXPECT_EQ(0, m.out_mapped);
			continue;
		}
		pinned++;
		test_cmd_unmap(self->id, VA, 4 * SZ_4K, NULL);
	}
	r.stop = true;
	pthread_join(t, NULL);
	TH_LOG("%u of %u pins made", pinned, RACE_ROUNDS);
	ASSERT_EQ(0, spt_check_log(_metadata, self->env.fd, self->id));
	munmap(r.buf, 4 * SZ_4K);
}

TEST_HARNESS_MAIN
