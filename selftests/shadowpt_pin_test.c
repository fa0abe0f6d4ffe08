// SPDX-License-Identifier: GPL-2.0
/*
 * SPT_MAP_USER: the caller's pages pinned into a space. What the process
 * writes is read through the space (RW and load windows) and back; the
 * space keeps the pages after munmap and after the process that pinned
 * them exits; RLIMIT_MEMLOCK (a child without CAP_IPC_LOCK) gives ENOMEM
 * with nothing changed and is given back by unmap and by destroy; a
 * read-only buffer is not pinned writable, a leaf pinned read-only stays
 * read-only (RW write EACCES, PROTECT keeps it); pinned sources are not
 * shared; every bad input of the header with its errno and nothing
 * changed; CHECK over every step; pool counters back at teardown.
 */
#include <sys/mman.h>
#include <sys/resource.h>
#include <linux/capability.h>

#include "shadowpt_utils.h"

#define VA_A	SPT_TEST_VA
#define VA_B	(SPT_TEST_VA + 0x10000000ULL)
#define RW	(SPT_PROT_WRITE)
#define USER4K	(SPT_MAP_USER | SPT_MAP_4K)

static int _spt_map_user(int fd, __u32 id, __u32 flags, __u64 va,
			 __u64 len, const void *uaddr, __u32 prot,
			 __u64 *mapped)
{
	struct spt_map cmd = {
		.size = sizeof(cmd), .flags = flags, .space_id = id,
		.prot = prot, .va = va, .length = len,
		.src_va = (__u64)(unsigned long)uaddr,
		.out_mapped = 0xdeadbeefULL,
	};
	int ret = ioctl(fd, SPT_IOCTL_MAP, &cmd);

	if (mapped)
		*mapped = cmd.out_mapped;
	return ret;
}

#define test_cmd_map_user(id, va, len, uaddr, prot)			\
	({								\
		__u64 __m = 0;						\
		ASSERT_EQ(0, _spt_map_user(self->env.fd, id, USER4K,	\
					   va, len, uaddr, prot,	\
					   &__m));			\
		ASSERT_EQ((__u64)(len), __m);				\
	})

/*
 * Fails with @_errno; space a has nothing mapped (out_mapped is 0, or
 * not written at all when the arguments are refused).
 */
#define test_err_map_user(_errno, id, flags, va, len, uaddr, prot)	\
	({								\
		__u64 __m = 1;						\
		EXPECT_EQ(-1, _spt_map_user(self->env.fd, id, flags,	\
					    va, len, uaddr, prot,	\
					    &__m));			\
		EXPECT_EQ(_errno, errno);				\
		EXPECT_TRUE(__m == 0 || __m == 0xdeadbeefULL);		\
		EXPECT_EQ(0, mapped_pages(self->env.fd, self->a));	\
	})

static __u64 mapped_pages(int fd, __u32 id)
{
	struct spt_space_info info;

	if (_spt_space_info(fd, id, &info))
		return ~0ULL;
	return info.out_mapped_bytes / SZ_4K;
}

static void *anon(size_t len, int prot)
{
	void *p = mmap(NULL, len, prot, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);

	return p == MAP_FAILED ? NULL : p;
}

static void pattern(void *buf, size_t len, __u32 seed)
{
	__u32 *w = buf;
	size_t i;

	for (i = 0; i < len / 4; i++)
		w[i] = seed * 2654435761u + (__u32)i;
}

/* Does [va, va + len) of @id read the pattern of @seed through RW? */
static bool holds(int fd, __u32 id, __u64 va, size_t len, __u32 seed)
{
	char *want = malloc(len), *got = malloc(len);
	bool ok = want && got;
	__u64 done;

	if (ok) {
		pattern(want, len, seed);
		ok = !_spt_rw(fd, id, 0, va, got, len, &done) &&
		     !memcmp(want, got, len);
	}
	free(want);
	free(got);
	return ok;
}

FIXTURE(pin) {
	struct spt_env env;
	__u32 a, b;
};

FIXTURE_SETUP(pin)
{
	spt_env_setup(_metadata, &self->env);
	test_cmd_space_create(0, &self->a);
	test_cmd_space_create(0, &self->b);
}

FIXTURE_TEARDOWN(pin)
{
	spt_env_teardown(_metadata, &self->env);
}

/* The process writes, the space reads; RW writes, the process reads. */
TEST_F(pin, rw_both_ways)
{
	int fd = self->env.fd;
	size_t len = 64 * SZ_4K;
	char *buf = anon(len, PROT_READ | PROT_WRITE);
	struct spt_query_entry e = { 0 };
	__u32 v = 0xa5a5a5a5;
	__u64 done;
	char c = 0;

	ASSERT_NE(NULL, buf);
	pattern(buf, len, 1);
	test_cmd_map_user(self->a, VA_A, len, buf, RW);
	test_cmd_check(self->a);
	EXPECT_EQ(64, mapped_pages(fd, self->a));
	EXPECT_TRUE(holds(fd, self->a, VA_A, len, 1));
	/* Pinned: untracked (no pool frame), 4 KiB, writable. */
	ASSERT_EQ(0, _spt_query(fd, self->a, VA_A + 5 * SZ_4K, &e));
	EXPECT_EQ(SPT_QUERY_MAPPED | SPT_QUERY_PINNED, e.flags);
	EXPECT_EQ(1, e.level);
	EXPECT_TRUE(e.prot & SPT_PROT_WRITE);
	/* The same page: a write through the space is seen by the process. */
	ASSERT_EQ(0, _spt_rw(fd, self->a, SPT_RW_WRITE, VA_A + 3 * SZ_4K + 8,
			     &v, 4, &done));
	EXPECT_EQ(0xa5a5a5a5, *(__u32 *)(buf + 3 * SZ_4K + 8));
	buf[len - 1] = 0x5a;
	ASSERT_EQ(0, _spt_rw(fd, self->a, 0, VA_A + len - 1, &c, 1, &done));
	EXPECT_EQ(0x5a, c);
	test_cmd_unmap(self->a, VA_A, len, NULL);
	test_cmd_check(self->a);
	EXPECT_EQ(0, mapped_pages(fd, self->a));
	/* The process keeps its memory. */
	EXPECT_EQ(0xa5a5a5a5, *(__u32 *)(buf + 3 * SZ_4K + 8));
	munmap(buf, len);
}

/* A load window reads what the process wrote, and writes back. */
TEST_F(pin, load_window)
{
	int fd = self->env.fd;
	__u64 *buf = anon(SZ_4K, PROT_READ | PROT_WRITE);
	struct spt_load_op ops[2] = {
		{ .op = SPT_LOAD_OP_READ, .width = 8, .va = VA_A + 16 },
		{ .op = SPT_LOAD_OP_WRITE, .width = 8, .va = VA_A + 24,
		  .value = 0x0123456789abcdefULL },
	};
	struct spt_load out;

	ASSERT_NE(NULL, buf);
	buf[2] = 0x1122334455667788ULL;
	test_cmd_map_user(self->a, VA_A, SZ_4K, buf, RW);
	if (_spt_load(fd, self->a, ops, 2, &out))
		SKIP(return, "load window: %s (no isolated CPU?)",
		     strerror(errno));
	EXPECT_EQ(SPT_LOAD_OK, ops[0].out_status);
	EXPECT_EQ(0x1122334455667788ULL, ops[0].out_value);
	EXPECT_EQ(SPT_LOAD_OK, ops[1].out_status);
	EXPECT_EQ(0x0123456789abcdefULL, buf[3]);
	test_cmd_check(self->a);
	munmap(buf, SZ_4K);
	/* After munmap the window still reads the page. */
	ops[0].va = VA_A + 24;
	ASSERT_EQ(0, _spt_load(fd, self->a, ops, 1, &out));
	EXPECT_EQ(SPT_LOAD_OK, ops[0].out_status);
	EXPECT_EQ(0x0123456789abcdefULL, ops[0].out_value);
}

/* munmap: the space keeps the pages and their contents. */
TEST_F(pin, after_munmap)
{
	int fd = self->env.fd;
	size_t len = 600 * SZ_4K;	/* more than one 2 MiB slice */
	char *buf = anon(len, PROT_READ | PROT_WRITE);

	ASSERT_NE(NULL, buf);
	pattern(buf, len, 2);
	test_cmd_map_user(self->a, VA_A + 7 * SZ_4K, len, buf, RW);
	ASSERT_EQ(0, munmap(buf, len));
	/* Other memory reuses the addresses: not the pinned pages. */
	buf = anon(len, PROT_READ | PROT_WRITE);
	ASSERT_NE(NULL, buf);
	memset(buf, 0xff, len);
	test_cmd_check(self->a);
	EXPECT_TRUE(holds(fd, self->a, VA_A + 7 * SZ_4K, len, 2));
	munmap(buf, len);
	test_cmd_unmap(self->a, VA_A, SZ_2M * 2, NULL);
	test_cmd_check(self->a);
}

static int pin_and_exit(void *arg)
{
	__u32 *ids = arg;
	size_t len = 8 * SZ_4K;
	char *buf = anon(len, PROT_READ | PROT_WRITE);
	__u64 m = 0;
	int fd;

	if (!buf)
		return 10;
	pattern(buf, len, 3);
	fd = spt_open();
	if (fd < 0)
		return 11;
	if (_spt_map_user(fd, ids[0], USER4K, VA_B, len, buf, RW, &m) ||
	    m != len)
		return 12;
	/* Exits with the buffer still mapped (and the fd open). */
	return 0;
}

/* A child pins and exits: its pages stay in the space. */
TEST_F(pin, after_exit)
{
	int fd = self->env.fd;
	__u32 v = 7, r = 0;
	__u64 done;

	ASSERT_EQ(0, spt_run_child(pin_and_exit, &self->a));
	test_cmd_check(self->a);
	EXPECT_EQ(8, mapped_pages(fd, self->a));
	EXPECT_TRUE(holds(fd, self->a, VA_B, 8 * SZ_4K, 3));
	/* Writable still, with the process gone. */
	ASSERT_EQ(0, _spt_rw(fd, self->a, SPT_RW_WRITE, VA_B, &v, 4, &done));
	ASSERT_EQ(0, _spt_rw(fd, self->a, 0, VA_B, &r, 4, &done));
	EXPECT_EQ(7, r);
	test_cmd_space_destroy(self->a);
}

/* Destroy with pinned leaves: the pins go with the space. */
TEST_F(pin, destroy_pinned)
{
	size_t len = 32 * SZ_4K;
	char *buf = anon(len, PROT_READ | PROT_WRITE);

	ASSERT_NE(NULL, buf);
	pattern(buf, len, 4);
	test_cmd_map_user(self->a, VA_A, len, buf, RW);
	/* The same pages twice, at two addresses and in two spaces. */
	test_cmd_map_user(self->a, VA_B, len, buf, 0);
	test_cmd_map_user(self->b, VA_A, len / 2, buf, RW);
	test_cmd_check(self->a);
	test_cmd_check(self->b);
	test_cmd_unmap(self->a, VA_A + SZ_4K, SZ_4K, NULL);
	test_cmd_check(self->a);
	test_cmd_space_destroy(self->a);
	test_cmd_check(self->b);
	EXPECT_TRUE(holds(self->env.fd, self->b, VA_A, len / 2, 4));
	test_cmd_space_destroy(self->b);
	/* The process's memory is still its own. */
	EXPECT_EQ(4 * 2654435761u, ((__u32 *)buf)[0]);
	munmap(buf, len);
}

/* Read-only memory: not pinned writable; pinned read-only stays so. */
TEST_F(pin, read_only)
{
	int fd = self->env.fd;
	char *ro = anon(4 * SZ_4K, PROT_READ);
	struct spt_query_entry e = { 0 };
	__u32 v = 1;
	__u64 done = 9, nr;
	char z[16] = { 1 };

	ASSERT_NE(NULL, ro);
	test_err_map_user(EFAULT, self->a, USER4K, VA_A, 4 * SZ_4K, ro, RW);
	test_cmd_check(self->a);
	test_cmd_map_user(self->a, VA_A, 4 * SZ_4K, ro, 0);
	ASSERT_EQ(0, _spt_rw(fd, self->a, 0, VA_A, z, sizeof(z), &done));
	EXPECT_EQ(0, z[0]);
	EXPECT_EQ(-1, _spt_rw(fd, self->a, SPT_RW_WRITE, VA_A, &v, 4, &done));
	EXPECT_EQ(EACCES, errno);
	EXPECT_EQ(0, done);
	/* PROTECT with WRITE: the pinned read-only leaf stays read-only. */
	ASSERT_EQ(0, _spt_protect(fd, self->a, 0, VA_A, 4 * SZ_4K,
				  SPT_PROT_WRITE, 0, &nr, NULL));
	ASSERT_EQ(0, _spt_query(fd, self->a, VA_A, &e));
	EXPECT_FALSE(e.prot & SPT_PROT_WRITE);
	test_cmd_check(self->a);
	munmap(ro, 4 * SZ_4K);
}

static int do_memlock(int fd, __u32 id, char *buf, __u64 pages)
{
	__u64 m = 0;

	if (_spt_map_user(fd, id, USER4K, VA_A, pages * SZ_4K, buf, RW, &m))
		return -errno;
	if (_spt_unmap(fd, id, VA_A, pages * SZ_4K, NULL, NULL) ||
	    _spt_check(fd, id, NULL, 0))	/* CHECK drains the reclaim */
		return -1000;
	return 0;
}

/*
 * Without CAP_IPC_LOCK, RLIMIT_MEMLOCK bounds the pinned pages of the
 * user: the most that fits maps (and its charge comes back after the
 * unmap: it maps again), one page more is ENOMEM with nothing changed.
 */
static int memlock_child(void *arg)
{
	__u32 id = *(__u32 *)arg;
	__u64 lim = 64, lo = 0, hi = lim, m = 1;
	struct rlimit rl = { lim * SZ_4K, lim * SZ_4K };
	char *buf = anon((lim + 1) * SZ_4K, PROT_READ | PROT_WRITE);
	struct spt_space_info info;
	int fd = spt_open(), ret;

	if (!buf || fd < 0)
		return 10;
	if (spt_drop_effective_cap(CAP_IPC_LOCK))
		return 11;
	if (setrlimit(RLIMIT_MEMLOCK, &rl))
		return 12;
	/* The user may have pages locked already: the most that fits. */
	while (lo < hi) {
		__u64 mid = (lo + hi + 1) / 2;

		ret = do_memlock(fd, id, buf, mid);
		if (!ret)
			lo = mid;
		else if (ret == -ENOMEM)
			hi = mid - 1;
		else
			return 13;
	}
	if (!lo)
		return 14;
	if (do_memlock(fd, id, buf, lo) || do_memlock(fd, id, buf, lo))
		return 15;
	if (_spt_map_user(fd, id, USER4K, VA_A, (lo + 1) * SZ_4K, buf, RW,
			  &m) != -1 || errno != ENOMEM || m)
		return 16;
	if (_spt_space_info(fd, id, &info) || info.out_mapped_bytes)
		return 17;
	/* Pins held by a space count until it goes: */
	if (_spt_map_user(fd, id, USER4K, VA_A, lo * SZ_4K, buf, RW, &m))
		return 18;
	if (_spt_map_user(fd, id, USER4K, VA_B, SZ_4K, buf, RW, &m) != -1 ||
	    errno != ENOMEM)
		return 19;
	if (_spt_space_destroy(fd, id))
		return 20;
	/* (a destroyed space's pins come back after the grace period) */
	if (_spt_space_create(fd, 0, &id) ||
	    _spt_check(fd, id, NULL, 0) ||
	    do_memlock(fd, id, buf, lo) || _spt_space_destroy(fd, id))
		return 21;
	return 0;
}

TEST_F(pin, memlock)
{
	ASSERT_EQ(0, spt_run_child(memlock_child, &self->a));
}

/* Bad inputs: each with its errno, nothing mapped. */
TEST_F(pin, bad_inputs)
{
	int fd = self->env.fd;
	char *buf = anon(9 * SZ_4K, PROT_READ | PROT_WRITE);
	char *hole = anon(4 * SZ_4K, PROT_READ | PROT_WRITE);
	struct spt_map cmd;

	ASSERT_NE(NULL, buf);
	ASSERT_NE(NULL, hole);
	ASSERT_EQ(0, munmap(hole, 4 * SZ_4K));
	ASSERT_EQ(0, munmap(buf + 8 * SZ_4K, SZ_4K));
	/* Flags. */
	test_err_map_user(EINVAL, self->a, SPT_MAP_USER, VA_A, SZ_4K, buf,
			  RW);
	test_err_map_user(EINVAL, self->a, SPT_MAP_USER | SPT_MAP_2M, VA_A,
			  SZ_2M, buf, RW);
	test_err_map_user(EINVAL, self->a, SPT_MAP_USER | SPT_MAP_LARGEST,
			  VA_A, SZ_4K, buf, RW);
	test_err_map_user(EINVAL, self->a, USER4K | SPT_MAP_PHYS, VA_A, SZ_4K,
			  buf, RW);
	test_err_map_user(EINVAL, self->a, USER4K | SPT_MAP_SHARE, VA_A,
			  SZ_4K, buf, RW);
	test_err_map_user(EINVAL, self->a, SPT_MAP_USER | SPT_MAP_SHARE, VA_A,
			  SZ_4K, buf, RW);
	test_err_map_user(EINVAL, self->a, USER4K | SPT_MAP_REPLACE, VA_A,
			  SZ_4K, buf, RW);
	/* Alignment. */
	test_err_map_user(EINVAL, self->a, USER4K, VA_A, SZ_4K, buf + 8, RW);
	test_err_map_user(EINVAL, self->a, USER4K, VA_A + 8, SZ_4K, buf, RW);
	test_err_map_user(EINVAL, self->a, USER4K, VA_A, 100, buf, RW);
	test_err_map_user(EINVAL, self->a, USER4K, VA_A, 0, buf, RW);
	/* Addresses the caller does not have. */
	test_err_map_user(EFAULT, self->a, USER4K, VA_A, SZ_4K,
			  (void *)0xffff888000000000ULL, RW);
	test_err_map_user(EFAULT, self->a, USER4K, VA_A, 4 * SZ_4K, hole, 0);
	test_err_map_user(EFAULT, self->a, USER4K, VA_A, SZ_4K, NULL, RW);
	/* Partly mapped: the last page is missing. */
	test_err_map_user(EFAULT, self->a, USER4K, VA_A, 9 * SZ_4K, buf, RW);
	/* Other fields. */
	memset(&cmd, 0, sizeof(cmd));
	cmd.size = sizeof(cmd);
	cmd.flags = USER4K;
	cmd.space_id = self->a;
	cmd.va = VA_A;
	cmd.length = SZ_4K;
	cmd.src_va = (unsigned long)buf;
	cmd.phys = SZ_4K;
	EXPECT_EQ(-1, ioctl(fd, SPT_IOCTL_MAP, &cmd));
	EXPECT_EQ(EINVAL, errno);
	cmd.phys = 0;
	cmd.src_space_id = self->b;
	EXPECT_EQ(-1, ioctl(fd, SPT_IOCTL_MAP, &cmd));
	EXPECT_EQ(EINVAL, errno);
	cmd.src_space_id = 0;
	cmd.__reserved2 = 1;
	EXPECT_EQ(-1, ioctl(fd, SPT_IOCTL_MAP, &cmd));
	EXPECT_EQ(EINVAL, errno);
	/* No such space. */
	test_err_map_user(ENOENT, 0x7fffffff, USER4K, VA_A, SZ_4K, buf, RW);
	EXPECT_EQ(0, mapped_pages(fd, self->a));
	/* Not empty: EEXIST, nothing changed. */
	test_cmd_map(self->a, SPT_MAP_4K, VA_A + 3 * SZ_4K, SZ_4K, 0, RW);
	EXPECT_EQ(-1, _spt_map_user(fd, self->a, USER4K, VA_A, 8 * SZ_4K,
				    buf, RW, NULL));
	EXPECT_EQ(EEXIST, errno);
	EXPECT_EQ(1, mapped_pages(fd, self->a));
	test_cmd_check(self->a);
	/* A pinned source is not shared. */
	test_cmd_map_user(self->b, VA_A, 2 * SZ_4K, buf, RW);
	memset(&cmd, 0, sizeof(cmd));
	cmd.size = sizeof(cmd);
	cmd.flags = SPT_MAP_SHARE;
	cmd.space_id = self->a;
	cmd.va = VA_B;
	cmd.length = 2 * SZ_4K;
	cmd.src_space_id = self->b;
	cmd.src_va = VA_A;
	EXPECT_EQ(-1, ioctl(fd, SPT_IOCTL_MAP, &cmd));
	EXPECT_EQ(EINVAL, errno);
	EXPECT_EQ(1, mapped_pages(fd, self->a));
	test_cmd_check(self->a);
	test_cmd_check(self->b);
	munmap(buf, 8 * SZ_4K);
}

/* REPLACE-style overwrites by other maps release the pins. */
TEST_F(pin, replaced_by_other_maps)
{
	size_t len = 16 * SZ_4K;
	char *buf = anon(len, PROT_READ | PROT_WRITE);

	ASSERT_NE(NULL, buf);
	test_cmd_map_user(self->a, VA_A, len, buf, RW);
	test_cmd_map(self->a, SPT_MAP_4K | SPT_MAP_REPLACE, VA_A + SZ_4K,
		     2 * SZ_4K, 0, RW);
	test_cmd_check(self->a);
	/* A 2 MiB frame over the table of pinned leaves. */
	test_cmd_map(self->a, SPT_MAP_2M | SPT_MAP_REPLACE, VA_A, SZ_2M, 0,
		     RW);
	test_cmd_check(self->a);
	test_cmd_unmap(self->a, VA_A, SZ_2M, NULL);
	munmap(buf, len);
}

TEST_HARNESS_MAIN
