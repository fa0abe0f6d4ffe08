// SPDX-License-Identifier: GPL-2.0
/*
 * Contract and security rows of the load window, the element-size rule, the
 * quota under REPLACE, raw physical access and the kernel half, each as the
 * header states it:
 *
 * - a window never uses a translation older than the table: WRITEs racing
 *   PROTECT, READs racing UNMAP+MAP never report SPT_FAULT_MISMATCH, and a
 *   FETCH racing REPLACE/UNMAP only ever runs the stub (planted code in a
 *   replaced frame must never run);
 * - out_* fields of LOAD ops are ignored on input (an answered array runs
 *   again); a cpu that does not exist is ENODEV;
 * - element sizes follow the struct rule (larger with a zero tail works,
 *   output tails are zeroed, a non-zero input tail is E2BIG);
 * - out_done of QUERY_BATCH and RW is exact on EFAULT;
 * - a REPLACE that grows a mapping within space_mb succeeds, and nodes
 *   count against space_mb too (sparse and untracked maps);
 * - windows touch untracked leaves only for a caller allowed to map them
 *   now (allow_phys, CAP_SYS_RAWIO);
 * - the kernel half of a space created by a process with an LDT holds no
 *   per-process slot (CHECK compares it with the shared kernel half);
 * - an armed fail-nth knob of a task that exited never fires for a later
 *   task with the same pid;
 * - window_us is bounded; VERSION tells which leaf sizes the CPU has, and
 *   untracked maps never use 1 GiB leaves without them.
 *
 * SPT_CONTRACT_SECONDS (default 3) sets the length of each race.
 */
#include <pthread.h>
#include <sys/syscall.h>
#include <asm/ldt.h>

#include "kselftest_harness.h"
#include "shadowpt_utils.h"

#define PAGE_P		(SPT_TEST_VA + 0x200000)
/* A supervisor data page below 2 GiB: planted code can name it in disp32. */
#define MARK_VA		0x10000000ULL
#define FETCH_STRIDE	0x40

static double race_seconds(void)
{
	const char *s = getenv("SPT_CONTRACT_SECONDS");

	return s && atof(s) > 0 ? atof(s) : 3.0;
}

static bool have_isolated_cpu(int fd, __u32 id)
{
	struct spt_load_op op = {
		.op = SPT_LOAD_OP_READ, .width = 8, .va = SPT_TEST_VA,
	};

	return _spt_load(fd, id, &op, 1, NULL) == 0;
}

FIXTURE(contract) {
	struct spt_env env;
	__u32 id;
};

FIXTURE_SETUP(contract)
{
	spt_env_setup(_metadata, &self->env);
	test_cmd_space_create(0, &self->id);
}

FIXTURE_TEARDOWN(contract)
{
	spt_env_teardown(_metadata, &self->env);
}

/* ---- races between a window and changes made by another thread ---- */

struct race {
	int fd;
	__u32 id;
	volatile int stop;
	int mode;
	unsigned long changes, change_errors;
};

enum { RACE_PROTECT, RACE_UNMAP_MAP, RACE_REPLACE_PLANT, RACE_UNMAP_PLANT };

/*
 * endbr64; movq $1, MARK_VA; ret: if this ever runs, something other
 * than the module's stub was executed in a window.
 */
static const unsigned char planted[] = {
	0xf3, 0x0f, 0x1e, 0xfa,
	0x48, 0xc7, 0x04, 0x25,
	MARK_VA & 0xff, (MARK_VA >> 8) & 0xff, (MARK_VA >> 16) & 0xff,
	(MARK_VA >> 24) & 0xff,
	0x01, 0x00, 0x00, 0x00,
	0xc3,
};

static int plant(int fd, __u32 id)
{
	static unsigned char page[SZ_4K];
	unsigned int off;

	for (off = 0; off < SZ_4K; off += FETCH_STRIDE)
		memcpy(page + off, planted, sizeof(planted));
	return _spt_rw(fd, id, SPT_RW_WRITE, PAGE_P, page, SZ_4K, NULL);
}

static void *changer(void *arg)
{
	struct race *r = arg;
	__u32 exec = SPT_PROT_EXEC;
	int ret;

	while (!r->stop) {
		switch (r->mode) {
		case RACE_PROTECT:
			ret = _spt_protect(r->fd, r->id, 0, PAGE_P, SZ_4K, 0,
					   SPT_CACHE_MODE_WB, NULL, NULL) ||
			      _spt_protect(r->fd, r->id, 0, PAGE_P, SZ_4K,
					   SPT_PROT_WRITE, SPT_CACHE_MODE_WB,
					   NULL, NULL);
			break;
		case RACE_UNMAP_MAP:
			ret = _spt_unmap(r->fd, r->id, PAGE_P, SZ_4K, NULL,
					 NULL) ||
			      _spt_map(r->fd, r->id, SPT_MAP_4K, PAGE_P, SZ_4K,
				       0, SPT_PROT_WRITE, 0, NULL);
			/* Mapped for a while: windows see both states. */
			usleep(2000);
			break;
		case RACE_REPLACE_PLANT:
			ret = _spt_map(r->fd, r->id,
				       SPT_MAP_4K | SPT_MAP_REPLACE, PAGE_P,
				       SZ_4K, 0, exec, 0, NULL) ||
			      plant(r->fd, r->id);
			break;
		default:
			ret = _spt_unmap(r->fd, r->id, PAGE_P, SZ_4K, NULL,
					 NULL) ||
			      _spt_map(r->fd, r->id, SPT_MAP_4K, PAGE_P, SZ_4K,
				       0, exec, 0, NULL) ||
			      plant(r->fd, r->id);
			break;
		}
		r->changes++;
		if (ret)
			r->change_errors++;
	}
	return NULL;
}

struct tally {
	unsigned long windows, ops, ok, fault, predicted, mismatch, other;
};

/* Run windows of @ops against the changer of @mode for race_seconds(). */
static int race_windows(struct __test_metadata *_metadata, int fd, __u32 id,
			int mode, struct spt_load_op *tmpl, unsigned int n,
			struct tally *t)
{
	struct race r = { .fd = fd, .id = id, .mode = mode };
	struct spt_load_op ops[256];
	double end = spt_now() + race_seconds();
	pthread_t th;
	unsigned int i;

	memset(t, 0, sizeof(*t));
	if (pthread_create(&th, NULL, changer, &r))
		return -1;
	while (spt_now() < end) {
		memcpy(ops, tmpl, n * sizeof(*ops));
		if (_spt_load(fd, id, ops, n, NULL)) {
			r.stop = 1;
			pthread_join(th, NULL);
			return -1;
		}
		t->windows++;
		for (i = 0; i < n; i++) {
			if (ops[i].out_status == SPT_LOAD_NOT_RUN)
				continue;
			t->ops++;
			if (ops[i].out_fault & SPT_FAULT_MISMATCH)
				t->mismatch++;
			if (ops[i].out_status == SPT_LOAD_OK)
				t->ok++;
			else if (ops[i].out_status == SPT_LOAD_FAULT)
				t->fault++;
			else if (ops[i].out_status == SPT_LOAD_PREDICTED)
				t->predicted++;
			else
				t->other++;
		}
	}
	r.stop = 1;
	pthread_join(th, NULL);
	TH_LOG("%lu windows, %lu ops: %lu ok, %lu fault, %lu predicted, %lu other, %lu MISMATCH; %lu changes (%lu failed)",
	       t->windows, t->ops, t->ok, t->fault, t->predicted, t->other,
	       t->mismatch, r.changes, r.change_errors);
	return r.change_errors ? -1 : 0;
}

/* 256 READs or WRITEs of 8 bytes over P against the changer of @mode. */
static void access_race(struct __test_metadata *_metadata,
			FIXTURE_DATA(contract) *self, __u32 kind, int mode)
{
	struct spt_load_op ops[256] = {};
	struct tally t;
	unsigned int i;

	test_cmd_map(self->id, SPT_MAP_4K, PAGE_P, SZ_4K, 0, SPT_PROT_WRITE);
	if (!have_isolated_cpu(self->env.fd, self->id))
		SKIP(return, "no isolated CPU (boot with isolcpus=)");
	for (i = 0; i < 256; i++) {
		ops[i].op = kind;
		ops[i].width = 8;
		ops[i].va = PAGE_P + 8 * i;
		ops[i].value = kind == SPT_LOAD_OP_WRITE ? i : 0;
	}
	ASSERT_EQ(0, race_windows(_metadata, self->env.fd, self->id, mode,
				  ops, 256, &t));
	EXPECT_EQ(0, t.mismatch);
	EXPECT_EQ(0, t.other);
	EXPECT_LT(0, t.ok);
	test_cmd_check(self->id);
}

/* Issue: WRITEs racing PROTECT(ro)/PROTECT(w) came back OK|MISMATCH. */
TEST_F_TIMEOUT(contract, write_vs_protect_no_mismatch, 300)
{
	access_race(_metadata, self, SPT_LOAD_OP_WRITE, RACE_PROTECT);
}

/* Issue: READs racing UNMAP+MAP came back OK with NOT_PRESENT|MISMATCH. */
TEST_F_TIMEOUT(contract, read_vs_unmap_map_no_mismatch, 300)
{
	access_race(_metadata, self, SPT_LOAD_OP_READ, RACE_UNMAP_MAP);
}

static void fetch_race(struct __test_metadata *_metadata,
		       FIXTURE_DATA(contract) *self, int mode)
{
	int fd = self->env.fd;
	__u32 id = self->id;
	struct spt_load_op ops[SZ_4K / FETCH_STRIDE] = {};
	__u64 mark = 0;
	struct tally t;
	unsigned int i;

	test_cmd_map(id, SPT_MAP_4K, MARK_VA, SZ_4K, 0, SPT_PROT_WRITE);
	test_cmd_map(id, SPT_MAP_4K, PAGE_P, SZ_4K, 0, SPT_PROT_EXEC);
	if (!have_isolated_cpu(fd, id))
		SKIP(return, "no isolated CPU (boot with isolcpus=)");
	ASSERT_EQ(0, plant(fd, id));
	for (i = 0; i < ARRAY_SIZE(ops); i++) {
		ops[i].op = SPT_LOAD_OP_FETCH;
		ops[i].va = PAGE_P + i * FETCH_STRIDE;
	}
	ASSERT_EQ(0, race_windows(_metadata, fd, id, mode, ops,
				  ARRAY_SIZE(ops), &t));
	EXPECT_EQ(0, t.mismatch);
	EXPECT_EQ(0, t.other);
	EXPECT_LT(0, t.ok);
	/* The planted code never ran: only the stub did. */
	test_cmd_rw(id, 0, MARK_VA, &mark, sizeof(mark));
	EXPECT_EQ(0, mark);
	test_cmd_check(id);
}

TEST_F_TIMEOUT(contract, fetch_vs_replace_runs_only_the_stub, 300)
{
	fetch_race(_metadata, self, RACE_REPLACE_PLANT);
}

TEST_F_TIMEOUT(contract, fetch_vs_unmap_runs_only_the_stub, 300)
{
	fetch_race(_metadata, self, RACE_UNMAP_PLANT);
}

/* ---- LOAD input rules ---- */

TEST_F(contract, load_answered_array_runs_again)
{
	struct spt_load_op ops[2] = {
		{ .op = SPT_LOAD_OP_WRITE, .width = 8, .va = PAGE_P,
		  .value = 0x1234 },
		{ .op = SPT_LOAD_OP_READ, .width = 8, .va = PAGE_P },
	};
	int round;

	test_cmd_map(self->id, SPT_MAP_4K, PAGE_P, SZ_4K, 0, SPT_PROT_WRITE);
	if (!have_isolated_cpu(self->env.fd, self->id))
		SKIP(return, "no isolated CPU (boot with isolcpus=)");
	for (round = 0; round < 3; round++) {
		ASSERT_EQ(0, _spt_load(self->env.fd, self->id, ops, 2, NULL));
		EXPECT_EQ(SPT_LOAD_OK, ops[0].out_status);
		EXPECT_EQ(SPT_LOAD_OK, ops[1].out_status);
		EXPECT_EQ(0x1234, ops[1].out_value);
		ops[1].value = 0;
	}
	/* Garbage in out_* is overwritten, not refused. */
	ops[0].out_status = 77;
	ops[0].out_fault = ~0U;
	ops[0].out_errno = 5;
	ops[1].out_level = 9;
	ops[1].out_value = 42;
	ASSERT_EQ(0, _spt_load(self->env.fd, self->id, ops, 2, NULL));
	EXPECT_EQ(SPT_LOAD_OK, ops[0].out_status);
	EXPECT_EQ(0, ops[0].out_fault);
	EXPECT_EQ(0, ops[0].out_errno);
	EXPECT_EQ(0, ops[1].out_level);
	EXPECT_EQ(0x1234, ops[1].out_value);
}

TEST_F(contract, load_cpu_that_does_not_exist_is_enodev)
{
	struct spt_load_op op = {
		.op = SPT_LOAD_OP_READ, .width = 8, .va = PAGE_P,
	};
	struct spt_load l = {
		.size = sizeof(l), .flags = SPT_LOAD_CPU, .space_id = self->id,
		.cpu = 1U << 30, .nr_ops = 1, .op_size = sizeof(op),
		.ops = (uintptr_t)&op,
	};

	EXPECT_ERRNO(ENODEV, ioctl(self->env.fd, SPT_IOCTL_LOAD, &l));
	l.cpu = sysconf(_SC_NPROCESSORS_CONF) + 4096;
	EXPECT_ERRNO(ENODEV, ioctl(self->env.fd, SPT_IOCTL_LOAD, &l));
}

struct big_op {
	struct spt_load_op op;
	__u64 tail[3];
};

TEST_F(contract, load_op_size_follows_the_struct_rule)
{
	struct big_op ops[2] = {
		{ .op = { .op = SPT_LOAD_OP_WRITE, .width = 8, .va = PAGE_P,
			  .value = 0x55 } },
		{ .op = { .op = SPT_LOAD_OP_READ, .width = 8, .va = PAGE_P } },
	};
	struct spt_load l = {
		.size = sizeof(l), .space_id = self->id, .nr_ops = 2,
		.op_size = sizeof(struct big_op), .ops = (uintptr_t)ops,
	};
	__u64 v = 0;

	test_cmd_map(self->id, SPT_MAP_4K, PAGE_P, SZ_4K, 0, SPT_PROT_WRITE);
	if (!have_isolated_cpu(self->env.fd, self->id))
		SKIP(return, "no isolated CPU (boot with isolcpus=)");
	ASSERT_EQ(0, ioctl(self->env.fd, SPT_IOCTL_LOAD, &l));
	EXPECT_EQ(SPT_LOAD_OK, ops[0].op.out_status);
	EXPECT_EQ(0x55, ops[1].op.out_value);
	EXPECT_EQ(0, ops[1].tail[0] | ops[1].tail[1] | ops[1].tail[2]);

	/* A non-zero tail: E2BIG and nothing runs. */
	ops[0].op.value = 0x66;
	ops[1].tail[2] = 1;
	EXPECT_ERRNO(E2BIG, ioctl(self->env.fd, SPT_IOCTL_LOAD, &l));
	test_cmd_rw(self->id, 0, PAGE_P, &v, sizeof(v));
	EXPECT_EQ(0x55, v);
	ops[1].tail[2] = 0;

	/* Below the first release (which ended at out_value). */
	l.op_size = offsetofend(struct spt_load_op, out_value) - 8;
	EXPECT_ERRNO(EINVAL, ioctl(self->env.fd, SPT_IOCTL_LOAD, &l));
	l.op_size = SPT_ELEM_SIZE_MAX + 8;
	EXPECT_ERRNO(EINVAL, ioctl(self->env.fd, SPT_IOCTL_LOAD, &l));
}

struct big_entry {
	struct spt_query_entry e;
	__u64 tail[2];
};

TEST_F(contract, query_batch_entry_size_follows_the_struct_rule)
{
	__u64 vas[3] = { PAGE_P, PAGE_P + 0x10, SPT_TEST_VA + SZ_1G };
	struct big_entry out[3];
	struct spt_query_batch b = {
		.size = sizeof(b), .space_id = self->id, .count = 3,
		.vas = (uintptr_t)vas, .entries = (uintptr_t)out,
		.entry_size = sizeof(struct big_entry),
	};
	unsigned int i;

	test_cmd_map(self->id, SPT_MAP_4K, PAGE_P, SZ_4K, 0, SPT_PROT_WRITE);
	memset(out, 0xff, sizeof(out));
	ASSERT_EQ(0, ioctl(self->env.fd, SPT_IOCTL_QUERY_BATCH, &b));
	EXPECT_EQ(3, b.out_done);
	for (i = 0; i < 3; i++)
		EXPECT_EQ(0, out[i].tail[0] | out[i].tail[1]);
	EXPECT_EQ(i, 3);
	b.entry_size = sizeof(struct spt_query_entry) - 1;
	EXPECT_ERRNO(EINVAL, ioctl(self->env.fd, SPT_IOCTL_QUERY_BATCH, &b));
	b.entry_size = SPT_ELEM_SIZE_MAX + 1;
	EXPECT_ERRNO(EINVAL, ioctl(self->env.fd, SPT_IOCTL_QUERY_BATCH, &b));
}

/* ---- out_done is exact on EFAULT ---- */

TEST_F(contract, query_batch_out_done_exact_on_efault)
{
	const unsigned int esz = sizeof(struct spt_query_entry);
	unsigned int fit = 300, i;	/* not a multiple of the 256 chunk */
	size_t room = ((fit * esz + SZ_4K - 1) / SZ_4K + 1) * SZ_4K;
	__u64 *vas = calloc(fit + 100, sizeof(*vas));
	char *buf;
	struct spt_query_batch b = {
		.size = sizeof(b), .space_id = self->id, .count = fit + 100,
		.vas = (uintptr_t)vas, .entry_size = esz,
	};

	ASSERT_NE(NULL, vas);
	buf = mmap(NULL, room, PROT_READ | PROT_WRITE,
		   MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
	ASSERT_NE(MAP_FAILED, buf);
	ASSERT_EQ(0, mprotect(buf + room - SZ_4K, SZ_4K, PROT_NONE));
	for (i = 0; i < fit + 100; i++)
		vas[i] = SPT_TEST_VA + i * SZ_4K;
	/* Exactly @fit entries end where the hole begins. */
	b.entries = (uintptr_t)(buf + room - SZ_4K - fit * esz);
	EXPECT_ERRNO(EFAULT, ioctl(self->env.fd, SPT_IOCTL_QUERY_BATCH, &b));
	EXPECT_EQ(fit, b.out_done);
	/* And one byte short of that: one entry less. */
	b.entries += 1;
	EXPECT_ERRNO(EFAULT, ioctl(self->env.fd, SPT_IOCTL_QUERY_BATCH, &b));
	EXPECT_EQ(fit - 1, b.out_done);
	munmap(buf, room);
	free(vas);
}

TEST_F(contract, rw_out_done_exact_on_efault)
{
	const size_t len = 70000;	/* more than one 64 KiB chunk */
	size_t room = ((len + SZ_4K - 1) / SZ_4K + 1) * SZ_4K;
	size_t fit = len - 1000;
	struct spt_rw rw = {
		.size = sizeof(rw), .space_id = self->id, .va = SPT_TEST_VA,
		.length = len,
	};
	char *buf;

	test_cmd_map(self->id, SPT_MAP_4K, SPT_TEST_VA, SZ_2M, 0, 0);
	buf = mmap(NULL, room, PROT_READ | PROT_WRITE,
		   MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
	ASSERT_NE(MAP_FAILED, buf);
	ASSERT_EQ(0, mprotect(buf + room - SZ_4K, SZ_4K, PROT_NONE));
	rw.buf = (uintptr_t)(buf + room - SZ_4K - fit);
	EXPECT_ERRNO(EFAULT, ioctl(self->env.fd, SPT_IOCTL_RW, &rw));
	EXPECT_EQ(fit, rw.out_done);
	rw.flags = SPT_RW_WRITE;
	EXPECT_ERRNO(EFAULT, ioctl(self->env.fd, SPT_IOCTL_RW, &rw));
	EXPECT_EQ(fit, rw.out_done);
	munmap(buf, room);
}

/* ---- quota: what is mapped counts, not what waits for reclamation ---- */

static void replace_grows(struct __test_metadata *_metadata,
			  struct spt_env *env, __u32 old_flags)
{
	const __u64 va = 0x100000000ULL;
	__u64 mapped = 0;
	__u32 id;

	ASSERT_EQ(0, spt_env_param(env, "space_mb", "128"));
	ASSERT_EQ(0, spt_env_create(_metadata, env, 0, &id));
	ASSERT_EQ(0, _spt_map(env->fd, id, old_flags, va, 64 * SZ_1M, 0,
			      SPT_PROT_WRITE, 0, NULL));
	EXPECT_EQ(0, _spt_map(env->fd, id, SPT_MAP_LARGEST | SPT_MAP_REPLACE,
			      va, 96 * SZ_1M, 0, SPT_PROT_WRITE, 0, &mapped));
	EXPECT_EQ(96 * SZ_1M, mapped);
	ASSERT_EQ(0, _spt_check(env->fd, id, NULL, 0));
	EXPECT_EQ(0, _spt_space_destroy(env->fd, id));
}

TEST_F_TIMEOUT(contract, replace_that_grows_within_quota_4k, 300)
{
	replace_grows(_metadata, &self->env, SPT_MAP_4K);
}

TEST_F_TIMEOUT(contract, replace_that_grows_within_quota_2m, 300)
{
	replace_grows(_metadata, &self->env, SPT_MAP_2M);
}

/* ---- nodes count against space_mb too ---- */

/* Sparse 4 KiB maps, 1 GiB apart: two nodes per page besides the frame. */
TEST_F_TIMEOUT(contract, sparse_maps_charge_their_nodes, 300)
{
	struct spt_counters before, after;
	__u32 id;
	int i, ret = 0;

	ASSERT_EQ(0, spt_env_param(&self->env, "space_mb", "4"));
	ASSERT_EQ(0, spt_env_create(_metadata, &self->env, 0, &id));
	ASSERT_EQ(0, spt_counters_read(self->env.fd, &before));
	for (i = 0; i < 1024; i++) {
		ret = _spt_map(self->env.fd, id, SPT_MAP_4K,
			       SPT_TEST_VA + i * SZ_1G, SZ_4K, 0, 0, 0, NULL);
		if (ret)
			break;
	}
	EXPECT_EQ(-1, ret);
	EXPECT_EQ(ENOSPC, errno);
	ASSERT_EQ(0, spt_counters_read(self->env.fd, &after));
	TH_LOG("%d pages mapped: %llu data frames, %llu nodes", i,
	       after.data_frames - before.data_frames,
	       after.node_frames - before.node_frames);
	/* 1024 nodes at most, give or take one window's. */
	EXPECT_GE(1024 + 8, after.node_frames - before.node_frames);
	EXPECT_LT(1024 / 2 - 8, i);
	EXPECT_EQ(0, _spt_check(self->env.fd, id, NULL, 0));
	EXPECT_EQ(0, _spt_space_destroy(self->env.fd, id));
}

/* Untracked 4 KiB leaves over a large range: the nodes hit the quota. */
TEST_F_TIMEOUT(contract, phys_maps_charge_their_nodes, 300)
{
	__u64 mapped = 0;
	__u32 id;

	if (spt_env_allow_phys(&self->env))
		SKIP(return, "cannot set allow_phys");
	ASSERT_EQ(0, spt_env_param(&self->env, "space_mb", "1"));
	ASSERT_EQ(0, spt_env_create(_metadata, &self->env, 0, &id));
	/* phys only 4 KiB aligned: every leaf is 4 KiB, a node per 2 MiB. */
	EXPECT_ERRNO(ENOSPC, _spt_map(self->env.fd, id, SPT_MAP_PHYS,
				      SPT_TEST_VA, 4 * SZ_1G,
				      SPT_TEST_PHYS + SZ_4K, 0, 0, &mapped));
	TH_LOG("mapped %llu MiB of 4096 before ENOSPC", mapped >> 20);
	EXPECT_GT(4 * SZ_1G, mapped);
	/* 256 nodes of quota: at most one 1 GiB window past it. */
	EXPECT_GE(2 * SZ_1G, mapped);
	EXPECT_EQ(0, _spt_check(self->env.fd, id, NULL, 0));
	EXPECT_EQ(0, _spt_space_destroy(self->env.fd, id));
}

/* ---- raw physical access ---- */

static int window_read_phys(int fd, __u32 id, struct spt_load_op *op)
{
	memset(op, 0, sizeof(*op));
	op->op = SPT_LOAD_OP_READ;
	op->width = 8;
	op->va = PAGE_P;
	return _spt_load(fd, id, op, 1, NULL);
}

struct phys_child {
	__u32 id;
};

#define CHILD_FAIL(code, fmt, ...)					\
	({								\
		fprintf(stderr, "# child: " fmt "\n", ##__VA_ARGS__);	\
		return code;						\
	})

static int read_phys_without_rawio(void *arg)
{
	struct phys_child *c = arg;
	struct spt_load_op op;
	int fd = spt_open();

	if (fd < 0)
		CHILD_FAIL(10, "open: %s", strerror(errno));
	if (spt_drop_effective_cap(CAP_SYS_RAWIO))
		CHILD_FAIL(10, "capset: %s", strerror(errno));
	if (window_read_phys(fd, c->id, &op))
		CHILD_FAIL(1, "load: %s", strerror(errno));
	if (op.out_status != SPT_LOAD_ERROR || op.out_errno != EPERM)
		CHILD_FAIL(2, "read of an untracked leaf without CAP_SYS_RAWIO: status %u errno %u",
			   op.out_status, op.out_errno);
	return 0;
}

TEST_F(contract, window_on_untracked_needs_permission_now)
{
	struct phys_child c = { .id = self->id };
	struct spt_load_op op;

	if (spt_env_allow_phys(&self->env))
		SKIP(return, "cannot set allow_phys");
	test_cmd_map(self->id, SPT_MAP_PHYS, PAGE_P, SZ_4K, SPT_TEST_PHYS, 0);
	if (!have_isolated_cpu(self->env.fd, self->id))
		SKIP(return, "no isolated CPU (boot with isolcpus=)");
	ASSERT_EQ(0, window_read_phys(self->env.fd, self->id, &op));
	EXPECT_EQ(SPT_LOAD_OK, op.out_status);
	EXPECT_EQ(0, spt_run_child(read_phys_without_rawio, &c));
	/* allow_phys off: the mapping stays, windows may not use it. */
	ASSERT_EQ(0, spt_env_param(&self->env, "allow_phys", "0"));
	ASSERT_EQ(0, window_read_phys(self->env.fd, self->id, &op));
	EXPECT_EQ(SPT_LOAD_ERROR, op.out_status);
	EXPECT_EQ(EPERM, op.out_errno);
	test_cmd_unmap(self->id, PAGE_P, SZ_4K, NULL);
}

static bool cpu_has_flag(const char *flag)
{
	char *info = spt_slurp("/proc/cpuinfo");
	char pat[64];
	bool ret;

	if (!info)
		return false;
	snprintf(pat, sizeof(pat), " %s ", flag);
	ret = strstr(info, pat) != NULL;
	free(info);
	return ret;
}

TEST_F(contract, phys_leaves_match_the_cpu_page_sizes)
{
	bool gb = cpu_has_flag("pdpe1gb");
	struct spt_query_entry e;

	TH_LOG("CPU %s 1 GiB pages", gb ? "has" : "lacks");
	EXPECT_EQ(SZ_4K | SZ_2M | (gb ? SZ_1G : 0),
		  self->env.ver.out_page_sizes);
	if (spt_env_allow_phys(&self->env))
		SKIP(return, "cannot set allow_phys");
	test_cmd_map(self->id, SPT_MAP_PHYS, SPT_TEST_VA + SZ_512G, SZ_1G,
		     SPT_TEST_PHYS, SPT_PROT_WRITE);
	test_cmd_query(self->id, SPT_TEST_VA + SZ_512G + 12345, &e);
	EXPECT_EQ(gb ? 3 : 2, e.level);
	test_cmd_check(self->id);
	if (have_isolated_cpu(self->env.fd, self->id)) {
		struct spt_load_op op = {
			.op = SPT_LOAD_OP_READ, .width = 8,
			.va = SPT_TEST_VA + SZ_512G + SZ_2M * 3,
		};

		ASSERT_EQ(0, _spt_load(self->env.fd, self->id, &op, 1, NULL));
		EXPECT_EQ(SPT_LOAD_OK, op.out_status);
		EXPECT_EQ(0, op.out_fault);
	}
	test_cmd_unmap(self->id, SPT_TEST_VA + SZ_512G, SZ_1G, NULL);
}

/* A caller built against the first release (32 bytes) still works. */
TEST_F(contract, version_first_release_size)
{
	struct spt_version v;

	memset(&v, 0xa5, sizeof(v));
	v.size = offsetofend(struct spt_version, out_user_end);
	v.flags = 0;
	ASSERT_EQ(0, ioctl(self->env.fd, SPT_IOCTL_VERSION, &v));
	EXPECT_EQ(self->env.ver.out_user_end, v.out_user_end);
	EXPECT_EQ(0xa5a5a5a5a5a5a5a5ULL, v.out_page_sizes);
	v.size = offsetofend(struct spt_version, out_user_end) - 8;
	EXPECT_ERRNO(EINVAL, ioctl(self->env.fd, SPT_IOCTL_VERSION, &v));
}

/* ---- the kernel half holds only what every process shares ---- */

static int create_with_ldt(void *arg)
{
	struct user_desc d = {
		.entry_number = 0, .base_addr = 0, .limit = 0xfff,
		.seg_32bit = 1, .contents = 0, .read_exec_only = 0,
		.limit_in_pages = 0, .seg_not_present = 0, .useable = 1,
	};
	__u32 *id = arg;
	int fd;

	if (syscall(SYS_modify_ldt, 1, &d, sizeof(d)))
		CHILD_FAIL(10, "modify_ldt: %s", strerror(errno));
	fd = spt_open();
	if (fd < 0)
		CHILD_FAIL(10, "open: %s", strerror(errno));
	if (_spt_space_create(fd, 0, id))
		CHILD_FAIL(1, "create: %s", strerror(errno));
	return 0;
}

TEST_F(contract, ldt_of_the_creator_is_not_in_the_space)
{
	__u32 *id = mmap(NULL, SZ_4K, PROT_READ | PROT_WRITE,
			 MAP_SHARED | MAP_ANONYMOUS, -1, 0);
	char msg[256] = "";
	int i;

	ASSERT_NE(MAP_FAILED, id);
	*id = 0;
	ASSERT_EQ(0, spt_run_child(create_with_ldt, id));
	ASSERT_NE(0, *id);
	spt_env_track(&self->env, *id);
	/* The creator and its mm are gone; churn page-table pages. */
	for (i = 0; i < 20; i++) {
		size_t len = 64 * SZ_1M;
		char *p = mmap(NULL, len, PROT_READ | PROT_WRITE,
			       MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
		size_t off;

		ASSERT_NE(MAP_FAILED, p);
		for (off = 0; off < len; off += SZ_2M)
			p[off] = 1;
		munmap(p, len);
	}
	EXPECT_EQ(0, _spt_check(self->env.fd, *id, msg, sizeof(msg)));
	if (msg[0])
		TH_LOG("check: %s", msg);
	test_cmd_map(*id, SPT_MAP_4K, PAGE_P, SZ_4K, 0, SPT_PROT_WRITE);
	if (have_isolated_cpu(self->env.fd, *id)) {
		struct spt_load_op op = {
			.op = SPT_LOAD_OP_WRITE, .width = 8, .va = PAGE_P,
			.value = 7,
		};

		ASSERT_EQ(0, _spt_load(self->env.fd, *id, &op, 1, NULL));
		EXPECT_EQ(SPT_LOAD_OK, op.out_status);
	}
	munmap(id, SZ_4K);
}

/* ---- a fail-nth knob dies with its task ---- */

static int arm_and_exit(void *arg)
{
	return spt_fail_nth_set(1) ? 10 : 0;
}

static int create_once(void *arg)
{
	int fd = spt_open();
	__u32 *id = arg;

	if (fd < 0)
		CHILD_FAIL(10, "open: %s", strerror(errno));
	if (_spt_space_create(fd, 0, id))
		CHILD_FAIL(1, "create with an inherited pid: %s",
			   strerror(errno));
	return 0;
}

/* The next fork gets pid @pid (root in the initial pid namespace). */
static int set_next_pid(pid_t pid)
{
	FILE *f = fopen("/proc/sys/kernel/ns_last_pid", "w");
	int ret;

	if (!f)
		return -1;
	ret = fprintf(f, "%d", pid - 1) > 0 ? 0 : -1;
	return fclose(f) ? -1 : ret;
}

TEST_F(contract, fail_nth_of_an_exited_task_does_not_fire_for_its_pid)
{
	__u32 *id = mmap(NULL, SZ_4K, PROT_READ | PROT_WRITE,
			 MAP_SHARED | MAP_ANONYMOUS, -1, 0);
	int tries, status;
	pid_t a = -1, b = 0;

	ASSERT_NE(MAP_FAILED, id);
	if (access(SPT_FAIL_NTH, W_OK))
		SKIP(return, "no %s", SPT_FAIL_NTH);
	for (tries = 0; tries < 20 && b != a; tries++) {
		fflush(NULL);
		a = fork();
		ASSERT_LE(0, a);
		if (!a)
			_exit(arm_and_exit(NULL));
		ASSERT_EQ(a, waitpid(a, &status, 0));
		ASSERT_EQ(0, WEXITSTATUS(status));
		if (set_next_pid(a))
			SKIP(return, "cannot set ns_last_pid");
		*id = 0;
		b = fork();
		ASSERT_LE(0, b);
		if (!b)
			_exit(create_once(id));
		ASSERT_EQ(b, waitpid(b, &status, 0));
		if (*id)
			spt_env_track(&self->env, *id);
		if (b == a)
			EXPECT_EQ(0, WEXITSTATUS(status));
	}
	ASSERT_EQ(a, b);	/* the pid was reused */
	munmap(id, SZ_4K);
}

/* ---- window_us is bounded ---- */

TEST_F(contract, window_us_is_bounded)
{
	char val[32];

	ASSERT_EQ(0, spt_param_get("window_us", val, sizeof(val)));
	EXPECT_NE(0, spt_env_param(&self->env, "window_us", "1000001"));
	EXPECT_NE(0, spt_env_param(&self->env, "window_us", "0"));
	EXPECT_EQ(0, spt_env_param(&self->env, "window_us", "1000000"));
	EXPECT_EQ(1000000, spt_param_ulong("window_us"));
	EXPECT_EQ(0, spt_env_param(&self->env, "window_us", val));
}

TEST_HARNESS_MAIN
