/* SPDX-License-Identifier: GPL-2.0 */
/*
 * Helpers shared by the shadowpt selftests: one wrapper per ioctl (returns
 * the ioctl's result, errno set on failure) plus test_cmd_*() / test_err_*()
 * macros around them in the style of the iommufd selftests, module
 * parameter access, pool counters (leak checks) and space snapshots (the
 * "dump" that bad-input tests compare before and after).
 */
#ifndef SHADOWPT_SELFTEST_UTILS_H
#define SHADOWPT_SELFTEST_UTILS_H

#ifndef _GNU_SOURCE
#define _GNU_SOURCE
#endif
#include <errno.h>
#include <fcntl.h>
#include <grp.h>
#include <inttypes.h>
#include <signal.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/ioctl.h>
#include <sys/mman.h>
#include <sys/stat.h>
#include <sys/syscall.h>
#include <sys/types.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>
#include <linux/capability.h>
#include <linux/shadowpt.h>

#include "kselftest_harness.h"

#define SZ_4K		0x1000ULL
#define SZ_64K		0x10000ULL
#define SZ_2M		0x200000ULL
#define SZ_1M		0x100000ULL
#define SZ_16M		0x1000000ULL
#define SZ_1G		0x40000000ULL
#define SZ_512G		0x8000000000ULL

#define SPT_PARAM_DIR	"/sys/module/shadowpt/parameters/"
#define SPT_FAIL_NTH	"/sys/kernel/debug/shadowpt/fail-nth"

/* Where tests map: 16 TiB, aligned to a top-level entry, in both modes. */
#define SPT_TEST_VA	0x100000000000ULL
/*
 * A physical range for untracked maps: 512 GiB, far above the RAM of any
 * test guest (even --mem 3072 puts RAM up to 4 GiB + 1 GiB) and below
 * MAXPHYADDR of QEMU's -cpu max (40 bits), 1 GiB aligned. Nothing is there:
 * a load window that reads or writes it touches no memory of anyone's.
 */
#define SPT_TEST_PHYS	0x8000000000ULL

#define SPT_PROT_SETTABLE (SPT_PROT_WRITE | SPT_PROT_EXEC | SPT_PROT_USER)

/* The last command number of the ioctl table. */
#define SPT_CMD_LAST	SPT_CMD_TABLES

/* Numbers up to SPT_CMD_LAST that name no command (gaps): ENOTTY. */
static inline bool spt_cmd_known(unsigned int nr)
{
	return nr <= SPT_CMD_TABLES;
}

#ifndef offsetofend
#define offsetofend(TYPE, MEMBER) \
	(offsetof(TYPE, MEMBER) + sizeof(((TYPE *)0)->MEMBER))
#endif

/*
 * A SKIP from FIXTURE_SETUP. Harnesses with FIXTURE_TEARDOWN_PARENT (6.9+)
 * stop after a skipped setup; older ones (6.1) would still run the test
 * body, so there the child reports the skip (exit 255) right away. Only
 * use before the setup has created anything.
 */
#ifdef FIXTURE_TEARDOWN_PARENT
#define SPT_SETUP_SKIP(fmt, ...) SKIP(return, fmt, ##__VA_ARGS__)
#else
#define SPT_SETUP_SKIP(fmt, ...) SKIP(_exit(255), fmt, ##__VA_ARGS__)
#endif

/* The call must fail with -1 and exactly this errno. */
#define EXPECT_ERRNO(expected_errno, cmd)				\
	({								\
		ASSERT_EQ(-1, cmd);					\
		EXPECT_EQ(expected_errno, errno);			\
	})

/* ---------------------------------------------------------------------
 * One wrapper per ioctl. Out parameters may be NULL; outputs that the
 * kernel writes also on failure (out_mapped, out_done...) are returned
 * whatever the result.
 */

static inline int _spt_version(int fd, struct spt_version *out)
{
	struct spt_version cmd = { .size = sizeof(cmd) };
	int ret = ioctl(fd, SPT_IOCTL_VERSION, &cmd);

	if (!ret && out)
		*out = cmd;
	return ret;
}

static inline int _spt_space_create(int fd, __u32 flags, __u32 *id)
{
	struct spt_space_create cmd = { .size = sizeof(cmd), .flags = flags };
	int ret = ioctl(fd, SPT_IOCTL_SPACE_CREATE, &cmd);

	if (!ret && id)
		*id = cmd.out_space_id;
	return ret;
}

static inline int _spt_space_destroy(int fd, __u32 id)
{
	struct spt_space_destroy cmd = { .size = sizeof(cmd), .space_id = id };

	return ioctl(fd, SPT_IOCTL_SPACE_DESTROY, &cmd);
}

static inline int _spt_space_info(int fd, __u32 id, struct spt_space_info *out)
{
	struct spt_space_info cmd = { .size = sizeof(cmd), .space_id = id };
	int ret = ioctl(fd, SPT_IOCTL_SPACE_INFO, &cmd);

	if (!ret && out)
		*out = cmd;
	return ret;
}

static inline int _spt_map(int fd, __u32 id, __u32 flags, __u64 va,
			   __u64 len, __u64 phys, __u32 prot, __u32 cache,
			   __u64 *mapped)
{
	struct spt_map cmd = {
		.size = sizeof(cmd), .flags = flags, .space_id = id,
		.prot = prot, .cache = cache, .va = va, .length = len,
		.phys = phys, .out_mapped = 0xdeadbeefULL,
	};
	int ret = ioctl(fd, SPT_IOCTL_MAP, &cmd);

	if (mapped)
		*mapped = cmd.out_mapped;
	return ret;
}

static inline int _spt_unmap(int fd, __u32 id, __u64 va, __u64 len,
			     __u64 *unmapped, __u64 *done)
{
	struct spt_unmap cmd = {
		.size = sizeof(cmd), .space_id = id, .va = va, .length = len,
		.out_unmapped = 0xdeadbeefULL, .out_done = 0xdeadbeefULL,
	};
	int ret = ioctl(fd, SPT_IOCTL_UNMAP, &cmd);

	if (unmapped)
		*unmapped = cmd.out_unmapped;
	if (done)
		*done = cmd.out_done;
	return ret;
}

static inline int _spt_protect(int fd, __u32 id, __u32 flags, __u64 va,
			       __u64 len, __u32 prot, __u32 cache, __u64 *nr,
			       __u64 *done)
{
	struct spt_protect cmd = {
		.size = sizeof(cmd), .flags = flags, .space_id = id,
		.prot = prot, .cache = cache, .va = va, .length = len,
		.out_protected = 0xdeadbeefULL, .out_done = 0xdeadbeefULL,
	};
	int ret = ioctl(fd, SPT_IOCTL_PROTECT, &cmd);

	if (nr)
		*nr = cmd.out_protected;
	if (done)
		*done = cmd.out_done;
	return ret;
}

static inline int _spt_query(int fd, __u32 id, __u64 va,
			     struct spt_query_entry *out)
{
	struct spt_query_va cmd = { .size = sizeof(cmd), .space_id = id,
				    .va = va };
	int ret = ioctl(fd, SPT_IOCTL_QUERY, &cmd);

	if (!ret && out)
		*out = cmd.out;
	return ret;
}

static inline int _spt_query_batch(int fd, __u32 id, const __u64 *vas,
				   struct spt_query_entry *entries,
				   __u32 count, __u32 *done)
{
	struct spt_query_batch cmd = {
		.size = sizeof(cmd), .space_id = id, .count = count,
		.vas = (uintptr_t)vas, .entries = (uintptr_t)entries,
		.entry_size = sizeof(struct spt_query_entry),
		.out_done = 0xdeadbeef,
	};
	int ret = ioctl(fd, SPT_IOCTL_QUERY_BATCH, &cmd);

	if (done)
		*done = cmd.out_done;
	return ret;
}

static inline int _spt_rw(int fd, __u32 id, __u32 flags, __u64 va, void *buf,
			  __u64 len, __u64 *done)
{
	struct spt_rw cmd = {
		.size = sizeof(cmd), .flags = flags, .space_id = id, .va = va,
		.length = len, .buf = (uintptr_t)buf,
		.out_done = 0xdeadbeefULL,
	};
	int ret = ioctl(fd, SPT_IOCTL_RW, &cmd);

	if (done)
		*done = cmd.out_done;
	return ret;
}

static inline int _spt_stats(int fd, __u32 id, struct spt_stats *out)
{
	struct spt_stats cmd = { .size = sizeof(cmd), .space_id = id };
	int ret = ioctl(fd, SPT_IOCTL_STATS, &cmd);

	if (!ret && out)
		*out = cmd;
	return ret;
}

static inline int _spt_check(int fd, __u32 id, char *msg, __u32 msg_len)
{
	struct spt_check cmd = { .size = sizeof(cmd), .space_id = id,
				 .msg_len = msg_len, .msg = (uintptr_t)msg };

	return ioctl(fd, SPT_IOCTL_CHECK, &cmd);
}

/* A load window of @nr ops on the first isolated CPU. */
static inline int _spt_load(int fd, __u32 id, struct spt_load_op *ops,
			    __u32 nr, struct spt_load *out)
{
	struct spt_load cmd = {
		.size = sizeof(cmd), .space_id = id, .nr_ops = nr,
		.op_size = sizeof(*ops), .ops = (uintptr_t)ops,
	};
	int ret = ioctl(fd, SPT_IOCTL_LOAD, &cmd);

	if (!ret && out)
		*out = cmd;
	return ret;
}

/* Macros for fixtures whose data has a struct spt_env named env. */
#define test_cmd_space_create(flags, id)				\
	({ ASSERT_EQ(0, spt_env_create(_metadata, &self->env, flags, id)); })
#define test_err_space_create(_errno, flags)				\
	EXPECT_ERRNO(_errno, _spt_space_create(self->env.fd, flags, NULL))
#define test_cmd_space_destroy(id)					\
	({ ASSERT_EQ(0, _spt_space_destroy(self->env.fd, id)); })
#define test_err_space_destroy(_errno, id)				\
	EXPECT_ERRNO(_errno, _spt_space_destroy(self->env.fd, id))
#define test_cmd_space_info(id, info)					\
	({ ASSERT_EQ(0, _spt_space_info(self->env.fd, id, info)); })
#define test_cmd_map(id, flags, va, len, phys, prot)			\
	({								\
		__u64 __mapped;						\
		ASSERT_EQ(0, _spt_map(self->env.fd, id, flags, va, len,	\
				      phys, prot, SPT_CACHE_MODE_WB,	\
				      &__mapped));			\
		ASSERT_EQ((__u64)(len), __mapped);			\
	})
#define test_err_map(_errno, id, flags, va, len, phys, prot)		\
	EXPECT_ERRNO(_errno, _spt_map(self->env.fd, id, flags, va, len,	\
				      phys, prot, SPT_CACHE_MODE_WB, NULL))
#define test_cmd_unmap(id, va, len, unmapped)				\
	({								\
		__u64 __done;						\
		ASSERT_EQ(0, _spt_unmap(self->env.fd, id, va, len,	\
					unmapped, &__done));		\
		ASSERT_EQ((__u64)(len), __done);			\
	})
#define test_err_unmap(_errno, id, va, len)				\
	EXPECT_ERRNO(_errno, _spt_unmap(self->env.fd, id, va, len, NULL, NULL))
#define test_cmd_protect(id, flags, va, len, prot, cache, nr)		\
	({								\
		__u64 __done;						\
		ASSERT_EQ(0, _spt_protect(self->env.fd, id, flags, va,	\
					  len, prot, cache, nr,		\
					  &__done));			\
		ASSERT_EQ((__u64)(len), __done);			\
	})
#define test_err_protect(_errno, id, flags, va, len, prot, cache)	\
	EXPECT_ERRNO(_errno, _spt_protect(self->env.fd, id, flags, va, len, \
					  prot, cache, NULL, NULL))
#define test_cmd_query(id, va, e)					\
	({ ASSERT_EQ(0, _spt_query(self->env.fd, id, va, e)); })
#define test_err_query(_errno, id, va)					\
	EXPECT_ERRNO(_errno, _spt_query(self->env.fd, id, va, NULL))
#define test_cmd_rw(id, flags, va, buf, len)				\
	({								\
		__u64 __done;						\
		ASSERT_EQ(0, _spt_rw(self->env.fd, id, flags, va, buf,	\
				     len, &__done));			\
		ASSERT_EQ((__u64)(len), __done);			\
	})
#define test_err_rw(_errno, id, flags, va, buf, len, done)		\
	({								\
		__u64 __done;						\
		EXPECT_ERRNO(_errno, _spt_rw(self->env.fd, id, flags,	\
					     va, buf, len, &__done));	\
		EXPECT_EQ((__u64)(done), __done);			\
	})
#define test_cmd_stats(id, st)						\
	({ ASSERT_EQ(0, _spt_stats(self->env.fd, id, st)); })
#define test_cmd_check(id)						\
	({ ASSERT_EQ(0, spt_check_log(_metadata, self->env.fd, id)); })

/* ---------------------------------------------------------------------
 * Module parameters under /sys/module/shadowpt/parameters.
 */

static inline int spt_param_get(const char *name, char *buf, size_t len)
{
	char path[128];
	ssize_t n;
	int fd;

	snprintf(path, sizeof(path), SPT_PARAM_DIR "%s", name);
	fd = open(path, O_RDONLY | O_CLOEXEC);
	if (fd < 0)
		return -1;
	n = read(fd, buf, len - 1);
	close(fd);
	if (n < 0)
		return -1;
	while (n > 0 && (buf[n - 1] == '\n' || buf[n - 1] == ' '))
		n--;
	buf[n] = '\0';
	return 0;
}

static inline int spt_param_set(const char *name, const char *val)
{
	char path[128];
	ssize_t n;
	int fd;

	snprintf(path, sizeof(path), SPT_PARAM_DIR "%s", name);
	fd = open(path, O_WRONLY | O_CLOEXEC);
	if (fd < 0)
		return -1;
	n = write(fd, val, strlen(val));
	close(fd);
	return n == (ssize_t)strlen(val) ? 0 : -1;
}

static inline long spt_param_ulong(const char *name)
{
	char buf[64];

	if (spt_param_get(name, buf, sizeof(buf)))
		return -1;
	if (buf[0] == 'Y')
		return 1;
	if (buf[0] == 'N')
		return 0;
	return strtol(buf, NULL, 0);
}

/* ---------------------------------------------------------------------
 * Pool counters: what must come back after every test (leak check).
 */

struct spt_counters {
	__u64 used_frames;
	__u64 node_frames;
	__u64 data_frames;
	__u64 nr_spaces;
};

static inline int spt_counters_read(int fd, struct spt_counters *c)
{
	struct spt_stats st;

	if (_spt_stats(fd, 0, &st))
		return -1;
	c->used_frames = st.pool_used_frames;
	c->node_frames = st.pool_node_frames;
	c->data_frames = st.pool_data_frames;
	c->nr_spaces = st.nr_spaces;
	return 0;
}

#define EXPECT_COUNTERS_EQ(a, b)					\
	({								\
		EXPECT_EQ((a)->used_frames, (b)->used_frames);		\
		EXPECT_EQ((a)->node_frames, (b)->node_frames);		\
		EXPECT_EQ((a)->data_frames, (b)->data_frames);		\
		EXPECT_EQ((a)->nr_spaces, (b)->nr_spaces);		\
	})
#define ASSERT_COUNTERS_EQ(a, b)					\
	({								\
		ASSERT_EQ((a)->used_frames, (b)->used_frames);		\
		ASSERT_EQ((a)->node_frames, (b)->node_frames);		\
		ASSERT_EQ((a)->data_frames, (b)->data_frames);		\
		ASSERT_EQ((a)->nr_spaces, (b)->nr_spaces);		\
	})

/* ---------------------------------------------------------------------
 * The test environment of a fixture: an open /dev/shadowpt, the version,
 * the counters at setup, the spaces to destroy and the module parameters
 * to restore at teardown. Teardown then checks that the counters are back
 * (no frame, node or space leaked by the test).
 */

#define SPT_ENV_MAX_IDS		64
#define SPT_ENV_MAX_PARAMS	8

struct spt_env {
	int fd;
	struct spt_version ver;
	struct spt_counters base;
	__u32 ids[SPT_ENV_MAX_IDS];
	unsigned int nr_ids;
	struct {
		char name[32];
		char val[32];
	} saved[SPT_ENV_MAX_PARAMS];
	unsigned int nr_saved;
};

static inline int spt_open(void)
{
	return open(SPT_DEVICE_PATH, O_RDWR | O_CLOEXEC);
}

static inline void spt_env_setup(struct __test_metadata *_metadata,
				 struct spt_env *env)
{
	env->nr_ids = 0;
	env->nr_saved = 0;
	env->fd = spt_open();
	if (env->fd < 0)
		TH_LOG("open(%s): %s (is shadowpt.ko loaded?)",
		       SPT_DEVICE_PATH, strerror(errno));
	ASSERT_LE(0, env->fd);
	ASSERT_EQ(0, _spt_version(env->fd, &env->ver));
	ASSERT_EQ(0, spt_counters_read(env->fd, &env->base));
}

/* Remember a space so that teardown destroys it (if still there). */
static inline void spt_env_track(struct spt_env *env, __u32 id)
{
	if (env->nr_ids < SPT_ENV_MAX_IDS)
		env->ids[env->nr_ids++] = id;
}

static inline int spt_env_create(struct __test_metadata *_metadata,
				 struct spt_env *env, __u32 flags, __u32 *id)
{
	__u32 new_id = 0;
	int ret = _spt_space_create(env->fd, flags, &new_id);

	if (ret)
		return ret;
	ASSERT_NE(0, new_id);
	spt_env_track(env, new_id);
	if (id)
		*id = new_id;
	return 0;
}

/* Set a module parameter for the test; teardown restores it. */
static inline int spt_env_param(struct spt_env *env, const char *name,
				const char *val)
{
	unsigned int i;
	char old[32];

	for (i = 0; i < env->nr_saved; i++)
		if (!strcmp(env->saved[i].name, name))
			break;
	if (i == env->nr_saved) {
		if (i == SPT_ENV_MAX_PARAMS ||
		    spt_param_get(name, old, sizeof(old)))
			return -1;
		snprintf(env->saved[i].name, sizeof(env->saved[i].name), "%s",
			 name);
		snprintf(env->saved[i].val, sizeof(env->saved[i].val), "%s",
			 old);
		env->nr_saved++;
	}
	return spt_param_set(name, val);
}

static inline void spt_env_restore_params(struct spt_env *env)
{
	while (env->nr_saved) {
		env->nr_saved--;
		spt_param_set(env->saved[env->nr_saved].name,
			      env->saved[env->nr_saved].val);
	}
}

/*
 * Enable untracked maps for this test (allow_phys is writable by root):
 * returns 0, or -1 if the parameter cannot be read or set.
 */
static inline int spt_env_allow_phys(struct spt_env *env)
{
	if (spt_param_ulong("allow_phys") == 1)
		return 0;
	if (spt_env_param(env, "allow_phys", "1"))
		return -1;
	return spt_param_ulong("allow_phys") == 1 ? 0 : -1;
}

/* The module's counters (a fresh descriptor) equal @base; logs a leak. */
static inline void spt_expect_counters_back(struct __test_metadata *_metadata,
					    const struct spt_counters *base)
{
	struct spt_counters now = { 0 };
	int fd = spt_open();

	EXPECT_LE(0, fd);
	if (fd < 0)
		return;
	EXPECT_EQ(0, spt_counters_read(fd, &now));
	close(fd);
	if (memcmp(&now, base, sizeof(now)))
		TH_LOG("leak: used %llu->%llu nodes %llu->%llu data %llu->%llu spaces %llu->%llu",
		       base->used_frames, now.used_frames,
		       base->node_frames, now.node_frames,
		       base->data_frames, now.data_frames,
		       base->nr_spaces, now.nr_spaces);
	EXPECT_COUNTERS_EQ(base, &now);
}

/* Only EXPECT_* here: an ASSERT in a 6.1 teardown would loop forever. */
static inline void spt_env_teardown(struct __test_metadata *_metadata,
				    struct spt_env *env)
{
	unsigned int i;

	for (i = 0; i < env->nr_ids; i++)
		_spt_space_destroy(env->fd, env->ids[i]);
	close(env->fd);
	spt_env_restore_params(env);
	spt_expect_counters_back(_metadata, &env->base);
}

static inline int spt_check_log(struct __test_metadata *_metadata, int fd,
				__u32 id)
{
	char msg[256] = "";
	int ret = _spt_check(fd, id, msg, sizeof(msg));

	if (ret)
		TH_LOG("SPT_IOCTL_CHECK(%u): %s: %s", id, strerror(errno), msg);
	return ret;
}

/* The whole file, NUL-terminated (free it); NULL with errno on error. */
static inline char *spt_slurp(const char *path)
{
	size_t len = 0, cap = 1 << 16;
	char *buf = malloc(cap);
	int fd = open(path, O_RDONLY | O_CLOEXEC);
	ssize_t n = 0;

	if (fd < 0 || !buf) {
		int e = errno;

		if (fd >= 0)
			close(fd);
		free(buf);
		errno = e;
		return NULL;
	}
	for (;;) {
		if (cap - len < 4096) {
			char *nb = realloc(buf, cap * 2);

			if (!nb)
				break;
			buf = nb;
			cap *= 2;
		}
		n = read(fd, buf + len, cap - len - 1);
		if (n <= 0)
			break;
		len += n;
	}
	close(fd);
	if (n < 0) {
		free(buf);
		return NULL;
	}
	buf[len] = '\0';
	return buf;
}

/* ---------------------------------------------------------------------
 * fail-nth (debugfs shadowpt/fail-nth, per thread): arm with N >= 1 (the
 * Nth allocation of this thread inside the module fails), disarm with 0.
 * Reading gives the allocations still to go: 0 once it fired (or when
 * nothing is armed).
 */

static inline int spt_fail_nth_set(unsigned int n)
{
	char buf[16];
	int fd = open(SPT_FAIL_NTH, O_WRONLY | O_CLOEXEC);
	ssize_t r;

	if (fd < 0)
		return -1;
	snprintf(buf, sizeof(buf), "%u", n);
	r = write(fd, buf, strlen(buf));
	close(fd);
	return r == (ssize_t)strlen(buf) ? 0 : -1;
}

static inline long spt_fail_nth_get(void)
{
	char buf[32] = "";
	int fd = open(SPT_FAIL_NTH, O_RDONLY | O_CLOEXEC);
	ssize_t r;

	if (fd < 0)
		return -1;
	r = read(fd, buf, sizeof(buf) - 1);
	close(fd);
	return r > 0 ? strtol(buf, NULL, 0) : -1;
}

/*
 * Descriptors kept open on the knob, for sweeps: arming and reading must
 * not allocate in the module, and an open() per step would be slow.
 */
struct spt_fail_nth {
	int wfd, rfd;
};

static inline int spt_fail_nth_open(struct spt_fail_nth *f)
{
	f->wfd = open(SPT_FAIL_NTH, O_WRONLY | O_CLOEXEC);
	f->rfd = open(SPT_FAIL_NTH, O_RDONLY | O_CLOEXEC);
	if (f->wfd < 0 || f->rfd < 0) {
		if (f->wfd >= 0)
			close(f->wfd);
		if (f->rfd >= 0)
			close(f->rfd);
		f->wfd = f->rfd = -1;
		return -1;
	}
	return 0;
}

static inline void spt_fail_nth_close(struct spt_fail_nth *f)
{
	if (f->wfd >= 0)
		close(f->wfd);
	if (f->rfd >= 0)
		close(f->rfd);
	f->wfd = f->rfd = -1;
}

static inline int spt_fail_nth_arm(struct spt_fail_nth *f, unsigned int n)
{
	char buf[16];
	int len = snprintf(buf, sizeof(buf), "%u", n);

	return pwrite(f->wfd, buf, len, 0) == len ? 0 : -1;
}

/* Allocations still to go before the armed failure; 0: it fired. */
static inline long spt_fail_nth_left(struct spt_fail_nth *f)
{
	char buf[32] = "";
	ssize_t r = pread(f->rfd, buf, sizeof(buf) - 1, 0);

	return r > 0 ? strtol(buf, NULL, 0) : -1;
}

/* ---------------------------------------------------------------------
 * Snapshots: everything observable about one space over a VA range (a
 * query per 4 KiB page through SPT_IOCTL_QUERY_BATCH), its info and tree
 * statistics, and the pool counters. Two snapshots are equal iff nothing
 * observable changed.
 */

struct spt_snapshot {
	__u32 id;
	__u64 va, len;
	struct spt_stats st;
	struct spt_space_info info;
	__u32 nr;
	struct spt_query_entry *e;
};

static inline void spt_snapshot_free(struct spt_snapshot *s)
{
	free(s->e);
	s->e = NULL;
}

static inline int spt_snapshot_take(int fd, __u32 id, __u64 va, __u64 len,
				    struct spt_snapshot *s)
{
	__u64 *vas;
	__u32 i, done;
	int ret;

	memset(s, 0, sizeof(*s));
	s->id = id;
	s->va = va;
	s->len = len;
	s->nr = len / SZ_4K;
	vas = calloc(s->nr, sizeof(*vas));
	s->e = calloc(s->nr, sizeof(*s->e));
	if (!vas || !s->e) {
		free(vas);
		return -1;
	}
	for (i = 0; i < s->nr; i++)
		vas[i] = va + i * SZ_4K;
	ret = _spt_query_batch(fd, id, vas, s->e, s->nr, &done);
	free(vas);
	if (ret || done != s->nr)
		return -1;
	if (_spt_stats(fd, id, &s->st) || _spt_space_info(fd, id, &s->info))
		return -1;
	return 0;
}

/* 0 if equal, else -1 with a description of the first difference. */
static inline int spt_snapshot_cmp(const struct spt_snapshot *a,
				   const struct spt_snapshot *b, char *why,
				   size_t len)
{
	const struct spt_stats *x = &a->st, *y = &b->st;
	__u32 i;

	if (x->pool_used_frames != y->pool_used_frames ||
	    x->pool_node_frames != y->pool_node_frames ||
	    x->pool_data_frames != y->pool_data_frames ||
	    x->nr_spaces != y->nr_spaces) {
		snprintf(why, len, "pool used/node/data/spaces %llu/%llu/%llu/%llu -> %llu/%llu/%llu/%llu",
			 x->pool_used_frames, x->pool_node_frames,
			 x->pool_data_frames, x->nr_spaces,
			 y->pool_used_frames, y->pool_node_frames,
			 y->pool_data_frames, y->nr_spaces);
		return -1;
	}
	if (memcmp(x->space_nodes, y->space_nodes, sizeof(x->space_nodes)) ||
	    memcmp(x->space_leaves, y->space_leaves,
		   sizeof(x->space_leaves)) ||
	    x->space_data_frames != y->space_data_frames) {
		snprintf(why, len, "space tree stats changed (leaves 4k/2m/1g %llu/%llu/%llu -> %llu/%llu/%llu)",
			 x->space_leaves[0], x->space_leaves[1],
			 x->space_leaves[2], y->space_leaves[0],
			 y->space_leaves[1], y->space_leaves[2]);
		return -1;
	}
	if (memcmp(&a->info, &b->info, sizeof(a->info))) {
		snprintf(why, len, "space info changed (mapped %llu -> %llu, nodes %llu -> %llu, data %llu -> %llu)",
			 a->info.out_mapped_bytes, b->info.out_mapped_bytes,
			 a->info.out_node_frames, b->info.out_node_frames,
			 a->info.out_data_frames, b->info.out_data_frames);
		return -1;
	}
	for (i = 0; i < a->nr && i < b->nr; i++) {
		const struct spt_query_entry *p = &a->e[i], *q = &b->e[i];

		if (memcmp(p, q, sizeof(*p))) {
			snprintf(why, len, "va 0x%llx: [0x%llx,0x%llx) phys 0x%llx flags %u level %u prot %#x cache %u -> [0x%llx,0x%llx) phys 0x%llx flags %u level %u prot %#x cache %u",
				 a->va + i * SZ_4K, p->va_start, p->va_end,
				 p->phys, p->flags, p->level, p->prot,
				 p->cache, q->va_start, q->va_end, q->phys,
				 q->flags, q->level, q->prot, q->cache);
			return -1;
		}
	}
	return 0;
}

#define ASSERT_SNAPSHOT_UNCHANGED(fd, before)				\
	({								\
		struct spt_snapshot __after;				\
		char __why[512] = "";					\
		int __diff;						\
		ASSERT_EQ(0, spt_snapshot_take(fd, (before)->id,	\
					       (before)->va,		\
					       (before)->len, &__after)); \
		__diff = spt_snapshot_cmp(before, &__after, __why,	\
					  sizeof(__why));		\
		spt_snapshot_free(&__after);				\
		if (__diff)						\
			TH_LOG("space changed: %s", __why);		\
		ASSERT_EQ(0, __diff);					\
	})

/* ---------------------------------------------------------------------
 * Misc.
 */

/* A page that faults on any access, for EFAULT tests. */
static inline void *spt_fault_page(void)
{
	void *p = mmap(NULL, SZ_4K, PROT_NONE, MAP_PRIVATE | MAP_ANONYMOUS,
		       -1, 0);

	return p == MAP_FAILED ? NULL : p;
}

/*
 * Two pages: the first read-write, the second PROT_NONE. Returns the
 * start; an object placed to end at start + 4096 - k straddles into the
 * hole.
 */
static inline char *spt_guarded_page(void)
{
	char *p = mmap(NULL, 2 * SZ_4K, PROT_READ | PROT_WRITE,
		       MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);

	if (p == MAP_FAILED)
		return NULL;
	if (mprotect(p + SZ_4K, SZ_4K, PROT_NONE)) {
		munmap(p, 2 * SZ_4K);
		return NULL;
	}
	memset(p, 0, SZ_4K);
	return p;
}

/* A deterministic byte pattern keyed by address and seed. */
static inline void spt_fill(void *buf, __u64 va, size_t len, unsigned int seed)
{
	unsigned char *p = buf;
	size_t i;

	for (i = 0; i < len; i++) {
		__u64 x = (va + i) * 0x9e3779b97f4a7c15ULL + seed;

		p[i] = (unsigned char)(x >> 56);
	}
}

static inline double spt_now(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return ts.tv_sec + ts.tv_nsec / 1e9;
}

/* Drop (or keep only) capabilities of the effective set of this task. */
static inline int spt_drop_effective_cap(int cap)
{
	struct __user_cap_header_struct hdr = {
		.version = _LINUX_CAPABILITY_VERSION_3,
	};
	struct __user_cap_data_struct data[2];

	if (syscall(SYS_capget, &hdr, data))
		return -1;
	data[cap / 32].effective &= ~(1U << (cap % 32));
	return syscall(SYS_capset, &hdr, data);
}

/* Become nobody (uid/gid 65534, no supplementary groups, no caps). */
static inline int spt_become_nobody(void)
{
	if (setgroups(0, NULL) || setresgid(65534, 65534, 65534) ||
	    setresuid(65534, 65534, 65534))
		return -1;
	return geteuid() == 65534 ? 0 : -1;
}

/*
 * Run @fn in a child process and return its exit status (or 128 + signal).
 * The child's checks report through the exit status: 0 = as expected.
 */
static inline int spt_run_child(int (*fn)(void *), void *arg)
{
	int status;
	pid_t pid;

	fflush(stdout);
	fflush(stderr);
	pid = fork();
	if (pid < 0)
		return -1;
	if (pid == 0)
		_exit(fn(arg));
	if (waitpid(pid, &status, 0) != pid)
		return -1;
	if (WIFSIGNALED(status))
		return 128 + WTERMSIG(status);
	return WEXITSTATUS(status);
}

#endif /* SHADOWPT_SELFTEST_UTILS_H */
