// SPDX-License-Identifier: GPL-2.0
/*
 * The MMU against the software walker over the whole cross product of
 * access rights (kvm-unit-tests x86/access.c is the model): CPL {0, 3} x
 * access {READ, WRITE, FETCH} x page U/S x R/W x NX (and not present) x
 * SMAP in force or lifted for supervisor data accesses (SMEP is on where
 * the CPU has it). Every case runs in a load window
 * (SPT_LOAD_OP_F_USER for CPL 3, SPT_LOAD_OP_F_SMAP for SMAP in force),
 * is never a SPT_FAULT_MISMATCH, and its outcome, walker bits, #PF error
 * code, value read or written are those of this file's own table.
 * CPU 1 is isolated in the VMs (isolcpus=1).
 */
#ifndef _GNU_SOURCE
#define _GNU_SOURCE
#endif
#include <errno.h>
#include <fcntl.h>
#include <stddef.h>
#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/ioctl.h>
#include <sys/syscall.h>
#include <sys/wait.h>
#include <unistd.h>
#include <linux/capability.h>
#include <linux/shadowpt.h>

#include "kselftest_harness.h"
#include "shadowpt_utils.h"

/* Page k (0..7) at BASE + k * 4 KiB: bit 0 user, bit 1 write, bit 2 exec. */
#define BASE		0x10000000000ULL
#define PG_U		1
#define PG_W		2
#define PG_X		4
#define NR_PAGES	9	/* page 8: never mapped */
#define PAGE_VA(k)	(BASE + (uint64_t)(k) * SZ_4K)

#define RD_OFF		0x000	/* READs: the page's pattern */
#define WR_OFF		0x100	/* WRITEs: 8 bytes per mode */
#define FX_OFF		0x800	/* FETCHes: the stub is written here */

#define PF_P	0x1
#define PF_W	0x2
#define PF_U	0x4
#define PF_RSVD	0x8
#define PF_I	0x10

/* The ways of accessing a page. */
struct mode {
	const char *name;
	__u32 op, flags;
	bool user, smap;
};

static const struct mode modes[] = {
	{ "user read", SPT_LOAD_OP_READ, SPT_LOAD_OP_F_USER, true, false },
	{ "user write", SPT_LOAD_OP_WRITE, SPT_LOAD_OP_F_USER, true, false },
	{ "user fetch", SPT_LOAD_OP_FETCH, SPT_LOAD_OP_F_USER, true, false },
	{ "kernel read", SPT_LOAD_OP_READ, 0, false, false },
	{ "kernel write", SPT_LOAD_OP_WRITE, 0, false, false },
	{ "kernel read smap", SPT_LOAD_OP_READ, SPT_LOAD_OP_F_SMAP, false,
	  true },
	{ "kernel write smap", SPT_LOAD_OP_WRITE, SPT_LOAD_OP_F_SMAP, false,
	  true },
	{ "kernel fetch", SPT_LOAD_OP_FETCH, 0, false, false },
};

#define NR_MODES	(sizeof(modes) / sizeof(modes[0]))

static uint64_t pattern(unsigned int k)
{
	return 0x8877665544332211ULL + 0x0101010101010101ULL * k;
}

static uint64_t wvalue(unsigned int m, unsigned int k)
{
	return 0xa5a5a5a5a5a5a5a5ULL ^ ((uint64_t)m << 8 | k);
}

static uint64_t mask(unsigned int width)
{
	return width == 8 ? ~0ULL : (1ULL << (8 * width)) - 1;
}

/*
 * This file's table: the walker's out_fault bits for mode @m on page @k
 * (8: not present), @smep as the window's CPU has it.
 */
static __u32 expected_fault(const struct mode *m, unsigned int k)
{
	__u32 f = 0;

	if (k >= 8)
		return SPT_FAULT_NOT_PRESENT;
	if (m->user) {
		if (!(k & PG_U))
			f |= SPT_FAULT_SUPERVISOR;
		if (m->op == SPT_LOAD_OP_WRITE && !(k & PG_W))
			f |= SPT_FAULT_READ_ONLY;
		if (m->op == SPT_LOAD_OP_FETCH && !(k & PG_X))
			f |= SPT_FAULT_NX;
		return f;
	}
	if (m->op == SPT_LOAD_OP_WRITE && !(k & PG_W))
		f |= SPT_FAULT_READ_ONLY;
	if (m->smap && (k & PG_U))
		f |= SPT_FAULT_SMAP;
	if (m->op == SPT_LOAD_OP_FETCH) {
		if (!(k & PG_X))
			f |= SPT_FAULT_NX;
		if (k & PG_U)
			f |= SPT_FAULT_USER;	/* SMEP */
	}
	return f;
}

static void make_op(struct spt_load_op *op, unsigned int mi, unsigned int k,
		    unsigned int width)
{
	const struct mode *m = &modes[mi];

	memset(op, 0, sizeof(*op));
	op->op = m->op;
	op->flags = m->flags;
	if (m->op == SPT_LOAD_OP_FETCH) {
		op->va = PAGE_VA(k) + FX_OFF;
		return;
	}
	op->width = width;
	if (m->op == SPT_LOAD_OP_READ) {
		op->va = PAGE_VA(k) + RD_OFF;
	} else {
		op->va = PAGE_VA(k) + WR_OFF + 8 * mi;
		op->value = wvalue(mi, k) & mask(width);
	}
}

FIXTURE(access)
{
	struct spt_env env;
	__u32 id;
	__u32 features;
};

FIXTURE_SETUP(access)
{
	struct spt_load_op op = { .op = SPT_LOAD_OP_READ, .width = 8,
				  .va = PAGE_VA(0) };
	struct spt_load l;
	unsigned int k;
	int fd;

	spt_env_setup(_metadata, &self->env);
	fd = self->env.fd;
	if (spt_env_param(&self->env, "allow_runs", "1"))
		SKIP(return, "cannot set allow_runs");
	ASSERT_EQ(0, spt_env_create(_metadata, &self->env, 0, &self->id));
	for (k = 0; k < 8; k++) {
		__u32 prot = (k & PG_U ? SPT_PROT_USER : 0) |
			     (k & PG_W ? SPT_PROT_WRITE : 0) |
			     (k & PG_X ? SPT_PROT_EXEC : 0);
		uint64_t v = pattern(k);

		ASSERT_EQ(0, _spt_map(fd, self->id, SPT_MAP_4K, PAGE_VA(k),
				      SZ_4K, 0, prot, 0, NULL));
		ASSERT_EQ(0, _spt_rw(fd, self->id, SPT_RW_WRITE,
				     PAGE_VA(k) + RD_OFF, &v, 8, NULL));
	}
	/* What the window's CPU has. */
	ASSERT_EQ(0, _spt_load(fd, self->id, &op, 1, &l));
	self->features = l.out_cpu_features;
}

FIXTURE_TEARDOWN(access)
{
	char msg[256];

	if (self->id)
		EXPECT_EQ(0, _spt_check(self->env.fd, self->id, msg,
					sizeof(msg)));
	spt_env_teardown(_metadata, &self->env);
}

/* One case's result against the table. */
static void check_case(struct __test_metadata *_metadata,
		       const struct spt_load_op *op, unsigned int mi,
		       unsigned int k, unsigned int *disagree)
{
	const struct mode *m = &modes[mi];
	__u32 want = expected_fault(m, k);
	bool probe = m->user || m->smap;
	__u64 ec;

	if (op->out_fault & (SPT_FAULT_MISMATCH | SPT_FAULT_STALE))
		(*disagree)++;
	EXPECT_EQ(want, op->out_fault) {
		TH_LOG("%s, page %u (U%d W%d X%d): out_fault 0x%x, want 0x%x",
		       m->name, k, !!(k & PG_U), !!(k & PG_W), !!(k & PG_X),
		       op->out_fault, want);
	}
	if (!want) {
		EXPECT_EQ(SPT_LOAD_OK, op->out_status) {
			TH_LOG("%s, page %u: status %u", m->name, k,
			       op->out_status);
		}
		if (m->op == SPT_LOAD_OP_READ)
			EXPECT_EQ(pattern(k) & mask(op->width), op->out_value);
		return;
	}
	if (m->op == SPT_LOAD_OP_FETCH && !m->user) {
		/* A kernel-mode fetch that would fault is not executed. */
		EXPECT_EQ(SPT_LOAD_PREDICTED, op->out_status);
		return;
	}
	EXPECT_EQ(SPT_LOAD_FAULT, op->out_status) {
		TH_LOG("%s, page %u: status %u errno %u", m->name, k,
		       op->out_status, op->out_errno);
	}
	if (!probe)
		return;
	/* The MMU's #PF error code. */
	ec = op->out_value;
	EXPECT_EQ(k < 8, !!(ec & PF_P));
	EXPECT_EQ(m->op == SPT_LOAD_OP_WRITE, !!(ec & PF_W));
	EXPECT_EQ(m->user, !!(ec & PF_U));
	EXPECT_EQ(m->op == SPT_LOAD_OP_FETCH, !!(ec & PF_I));
	EXPECT_EQ(0, ec & PF_RSVD);
	if (want & SPT_FAULT_NOT_PRESENT)
		EXPECT_EQ(1, op->out_level);
}

/*
 * The whole cross product in one window, then again case by case in
 * windows of their own, each with every width; 0 disagreements.
 */
TEST_F(access, cross_product)
{
	struct spt_load_op ops[NR_MODES * NR_PAGES];
	unsigned int mi, k, n = 0, disagree = 0, width, i;
	int fd = self->env.fd;
	struct spt_load l;

	if (!(self->features & SPT_LOAD_CPU_SMAP) ||
	    !(self->features & SPT_LOAD_CPU_SMEP))
		SKIP(return, "the CPU has no SMAP or SMEP (features 0x%x)",
		     self->features);
	for (mi = 0; mi < NR_MODES; mi++)
		for (k = 0; k < NR_PAGES; k++)
			make_op(&ops[n++], mi, k, 1U << ((mi + k) % 4));
	ASSERT_EQ(0, _spt_load(fd, self->id, ops, n, &l));
	EXPECT_EQ(SPT_LOAD_DONE, l.out_status);
	EXPECT_EQ(n, l.out_ops_run);
	for (i = 0, mi = 0; mi < NR_MODES; mi++)
		for (k = 0; k < NR_PAGES; k++)
			check_case(_metadata, &ops[i++], mi, k, &disagree);
	/* The writes that were allowed landed, the others did not. */
	for (mi = 0; mi < NR_MODES; mi++) {
		if (modes[mi].op != SPT_LOAD_OP_WRITE)
			continue;
		for (k = 0; k < 8; k++) {
			uint64_t v = 0, want = 0;

			width = 1U << ((mi + k) % 4);
			if (!expected_fault(&modes[mi], k))
				want = wvalue(mi, k) & mask(width);
			ASSERT_EQ(0, _spt_rw(fd, self->id, 0,
					     PAGE_VA(k) + WR_OFF + 8 * mi, &v,
					     8, NULL));
			EXPECT_EQ(want, v) {
				TH_LOG("%s, page %u", modes[mi].name, k);
			}
		}
	}
	/* Each case alone, every width (FETCH has none). */
	for (mi = 0; mi < NR_MODES; mi++) {
		for (k = 0; k < NR_PAGES; k++) {
			for (width = 1; width <= 8; width <<= 1) {
				struct spt_load_op op;

				if (modes[mi].op == SPT_LOAD_OP_FETCH &&
				    width > 1)
					break;
				make_op(&op, mi, k, width);
				ASSERT_EQ(0, _spt_load(fd, self->id, &op, 1,
						       NULL));
				check_case(_metadata, &op, mi, k, &disagree);
			}
		}
	}
	EXPECT_EQ(0, disagree);
	TH_LOG("%u cases, %u disagreements", n, disagree);
}

/*
 * A user-mode READ/WRITE reloads CR3 (a private root): a NOFLUSH change
 * before it is no longer stale for it. Plain ops around it still work.
 */
TEST_F(access, user_probe_flushes)
{
	struct spt_load_op ops[4];
	int fd = self->env.fd;

	memset(ops, 0, sizeof(ops));
	/* page 3 (user, writable): made read-only without a flush */
	ops[0].op = SPT_LOAD_OP_READ;
	ops[0].width = 8;
	ops[0].va = PAGE_VA(PG_U | PG_W);
	ops[1].op = SPT_LOAD_OP_PROTECT;
	ops[1].va = PAGE_VA(PG_U | PG_W);
	ops[1].length = SZ_4K;
	ops[1].prot = SPT_PROT_USER;
	ops[1].flags = SPT_LOAD_OP_F_NOFLUSH;
	ops[2].op = SPT_LOAD_OP_WRITE;
	ops[2].width = 8;
	ops[2].va = PAGE_VA(PG_U | PG_W) + WR_OFF;
	ops[2].value = 1;
	ops[2].flags = SPT_LOAD_OP_F_USER;
	ops[3].op = SPT_LOAD_OP_READ;
	ops[3].width = 8;
	ops[3].va = PAGE_VA(PG_U | PG_W);
	ASSERT_EQ(0, _spt_load(fd, self->id, ops, 4, NULL));
	EXPECT_EQ(SPT_LOAD_OK, ops[0].out_status);
	EXPECT_EQ(pattern(PG_U | PG_W), ops[0].out_value);
	EXPECT_EQ(SPT_LOAD_OK, ops[1].out_status);
	EXPECT_EQ(SPT_LOAD_FAULT, ops[2].out_status);
	EXPECT_EQ(SPT_FAULT_READ_ONLY, ops[2].out_fault);
	EXPECT_EQ(PF_P | PF_W | PF_U, ops[2].out_value);
	EXPECT_EQ(SPT_LOAD_OK, ops[3].out_status);
	EXPECT_EQ(pattern(PG_U | PG_W), ops[3].out_value);
}

static void expect_load_errno(struct __test_metadata *_metadata, int fd,
			      __u32 id, struct spt_load_op *ops, __u32 nr,
			      int err)
{
	errno = 0;
	EXPECT_EQ(-1, _spt_load(fd, id, ops, nr, NULL));
	EXPECT_EQ(err, errno);
}

/*
 * Bad flags: each its errno, and nothing done (a write before the bad
 * op in the same array is not made).
 */
TEST_F(access, bad_input)
{
	static const struct {
		__u32 op, flags;
		int err;
	} bad[] = {
		{ SPT_LOAD_OP_UNMAP, SPT_LOAD_OP_F_USER, EINVAL },
		{ SPT_LOAD_OP_PROTECT, SPT_LOAD_OP_F_USER, EINVAL },
		{ SPT_LOAD_OP_MAP, SPT_LOAD_OP_F_USER, EINVAL },
		{ SPT_LOAD_OP_INVLPG, SPT_LOAD_OP_F_USER, EINVAL },
		{ SPT_LOAD_OP_FLUSH, SPT_LOAD_OP_F_USER, EINVAL },
		{ SPT_LOAD_OP_AD_READ, SPT_LOAD_OP_F_USER, EINVAL },
		{ SPT_LOAD_OP_AD_CLEAR, SPT_LOAD_OP_F_SMAP, EINVAL },
		{ SPT_LOAD_OP_FETCH, SPT_LOAD_OP_F_SMAP, EINVAL },
		{ SPT_LOAD_OP_UNMAP, SPT_LOAD_OP_F_SMAP, EINVAL },
		{ SPT_LOAD_OP_READ, SPT_LOAD_OP_F_USER | SPT_LOAD_OP_F_SMAP,
		  EINVAL },
		{ SPT_LOAD_OP_WRITE, SPT_LOAD_OP_F_USER | SPT_LOAD_OP_F_TIMED,
		  EINVAL },
		{ SPT_LOAD_OP_READ, SPT_LOAD_OP_F_SMAP | SPT_LOAD_OP_F_TIMED,
		  EINVAL },
		{ SPT_LOAD_OP_FETCH, SPT_LOAD_OP_F_USER | SPT_LOAD_OP_F_TIMED,
		  EINVAL },
		{ SPT_LOAD_OP_READ, 1U << 10, EINVAL },
		{ SPT_LOAD_OP_READ, 1U << 15, EINVAL },
		{ SPT_LOAD_OP_WRITE, SPT_LOAD_OP_F_NOFLUSH | SPT_LOAD_OP_F_USER,
		  EINVAL },
	};
	int fd = self->env.fd;
	struct spt_load_op ops[2];
	uint64_t v = 0;
	unsigned int i;

	for (i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
		memset(ops, 0, sizeof(ops));
		ops[0].op = SPT_LOAD_OP_WRITE;
		ops[0].width = 8;
		ops[0].va = PAGE_VA(PG_W) + 0x200;
		ops[0].value = 0x77;
		ops[1].op = bad[i].op;
		ops[1].flags = bad[i].flags;
		switch (bad[i].op) {
		case SPT_LOAD_OP_READ:
		case SPT_LOAD_OP_WRITE:
			ops[1].width = 4;
			ops[1].va = PAGE_VA(PG_W) + 0x400;
			break;
		case SPT_LOAD_OP_FETCH:
		case SPT_LOAD_OP_INVLPG:
		case SPT_LOAD_OP_AD_READ:
		case SPT_LOAD_OP_AD_CLEAR:
			ops[1].va = PAGE_VA(PG_X);
			break;
		case SPT_LOAD_OP_FLUSH:
			break;
		default:
			ops[1].va = PAGE_VA(PG_W);
			ops[1].length = SZ_4K;
			break;
		}
		expect_load_errno(_metadata, fd, self->id, ops, 2, bad[i].err);
		EXPECT_EQ(SPT_LOAD_NOT_RUN, ops[0].out_status);
		/* Without the bad flags the same op is accepted. */
		ops[1].flags = 0;
		if (bad[i].op == SPT_LOAD_OP_MAP)
			ops[1].va = PAGE_VA(NR_PAGES + 1);
		if (bad[i].op == SPT_LOAD_OP_UNMAP ||
		    bad[i].op == SPT_LOAD_OP_PROTECT)
			ops[1].op = SPT_LOAD_OP_INVLPG, ops[1].length = 0;
		ops[0].va += 8;
		EXPECT_EQ(0, _spt_load(fd, self->id, ops, 2, NULL)) {
			TH_LOG("case %u", i);
		}
		if (bad[i].op == SPT_LOAD_OP_MAP)
			ASSERT_EQ(0, _spt_unmap(fd, self->id,
						PAGE_VA(NR_PAGES + 1), SZ_4K,
						NULL, NULL));
		ops[0].va -= 8;
		ASSERT_EQ(0, _spt_rw(fd, self->id, 0, ops[0].va, &v, 8, NULL));
		EXPECT_EQ(0, v);
	}

	/* EOPNOTSUPP without SMAP; EPERM without allow_runs. */
	memset(ops, 0, sizeof(ops));
	ops[0].op = SPT_LOAD_OP_WRITE;
	ops[0].width = 8;
	ops[0].va = PAGE_VA(PG_W) + 0x300;
	ops[0].value = 0x77;
	ops[1].op = SPT_LOAD_OP_READ;
	ops[1].width = 8;
	ops[1].va = PAGE_VA(PG_W);
	ops[1].flags = SPT_LOAD_OP_F_SMAP;
	if (!(self->features & SPT_LOAD_CPU_SMAP))
		expect_load_errno(_metadata, fd, self->id, ops, 2, EOPNOTSUPP);
	ops[1].flags = SPT_LOAD_OP_F_USER;
	ASSERT_EQ(0, spt_env_param(&self->env, "allow_runs", "0"));
	expect_load_errno(_metadata, fd, self->id, ops, 2, EPERM);
	ASSERT_EQ(0, _spt_rw(fd, self->id, 0, ops[0].va, &v, 8, NULL));
	EXPECT_EQ(0, v);
	/* SMAP probes need no permission beyond LOAD's. */
	if (self->features & SPT_LOAD_CPU_SMAP) {
		ops[1].flags = SPT_LOAD_OP_F_SMAP;
		ASSERT_EQ(0, _spt_load(fd, self->id, ops, 2, NULL));
		EXPECT_EQ(SPT_LOAD_OK, ops[1].out_status);
		EXPECT_EQ(pattern(PG_W), ops[1].out_value);
	}
	ASSERT_EQ(0, spt_env_param(&self->env, "allow_runs", "1"));
	ops[1].flags = SPT_LOAD_OP_F_USER;
	ASSERT_EQ(0, _spt_load(fd, self->id, ops, 2, NULL));
	EXPECT_EQ(SPT_LOAD_FAULT, ops[1].out_status);
	EXPECT_EQ(SPT_FAULT_SUPERVISOR, ops[1].out_fault);
}

/* Without CAP_SYS_ADMIN (an open descriptor kept): USER ops are EPERM. */
TEST_F(access, no_capability)
{
	pid_t pid;
	int status;

	pid = fork();
	ASSERT_LE(0, pid);
	if (pid == 0) {
		struct __user_cap_header_struct h = {
			.version = _LINUX_CAPABILITY_VERSION_3,
		};
		struct __user_cap_data_struct d[2] = { { 0 } };
		struct spt_load_op op = {
			.op = SPT_LOAD_OP_READ, .width = 8,
			.va = PAGE_VA(PG_U), .flags = SPT_LOAD_OP_F_USER,
		};

		if (syscall(SYS_capset, &h, d))
			_exit(2);
		if (_spt_load(self->env.fd, self->id, &op, 1, NULL) == 0)
			_exit(3);
		if (errno != EPERM)
			_exit(4);
		/* The same op at CPL 0 is allowed. */
		op.flags = 0;
		if (_spt_load(self->env.fd, self->id, &op, 1, NULL) ||
		    op.out_status != SPT_LOAD_OK ||
		    op.out_value != pattern(PG_U))
			_exit(5);
		_exit(0);
	}
	ASSERT_EQ(pid, waitpid(pid, &status, 0));
	EXPECT_TRUE(WIFEXITED(status));
	EXPECT_EQ(0, WEXITSTATUS(status));
}

/* IA32_PAT of @cpu through the msr driver; false if it cannot be read. */
static bool read_pat(unsigned int cpu, uint64_t *pat)
{
	char path[64];
	bool ok;
	int fd;

	snprintf(path, sizeof(path), "/dev/cpu/%u/msr", cpu);
	fd = open(path, O_RDONLY);
	if (fd < 0)
		return false;
	ok = pread(fd, pat, 8, 0x277) == 8;
	close(fd);
	return ok;
}

static int load_pat(int fd, __u32 id, __u32 flags, __u64 pat, __u32 size,
		    struct spt_load_op *ops, __u32 nr)
{
	struct spt_load l = {
		.size = size, .flags = flags, .space_id = id, .nr_ops = nr,
		.op_size = sizeof(*ops), .ops = (uintptr_t)ops, .pat = pat,
	};

	return ioctl(fd, SPT_IOCTL_LOAD, &l);
}

#define PAT_VA	(BASE + 0x100000)

/*
 * A window's own PAT: entry 7 (SPT_CACHE_MODE_WT's with Linux's PAT) made
 * UC for the window; a WRITE and a READ through a WT leaf work, and every
 * CPU's IA32_PAT is the host's afterwards. Bad PATs are EINVAL, with
 * nothing done.
 */
TEST_F(access, window_pat)
{
	static const __u8 bad_types[] = { 2, 3, 8, 0x16, 0xff };
	uint64_t host, after, pat, v = 0;
	struct spt_load_op ops[2];
	int fd = self->env.fd;
	unsigned int cpu, i;

	if (system("modprobe msr 2>/dev/null") || !read_pat(0, &host))
		SKIP(return, "no /dev/cpu/0/msr (msr module)");
	TH_LOG("host PAT 0x%016llx", (unsigned long long)host);
	ASSERT_EQ(0, _spt_map(fd, self->id, SPT_MAP_4K, PAT_VA, SZ_4K, 0,
			      SPT_PROT_WRITE, SPT_CACHE_MODE_WT, NULL));
	pat = (host & ~(0xffULL << 56));	/* entry 7: UC (0) */
	memset(ops, 0, sizeof(ops));
	ops[0].op = SPT_LOAD_OP_WRITE;
	ops[0].width = 8;
	ops[0].va = PAT_VA + 8;
	ops[0].value = 0x0123456789abcdefULL;
	ops[1].op = SPT_LOAD_OP_READ;
	ops[1].width = 8;
	ops[1].va = PAT_VA + 8;
	ASSERT_EQ(0, load_pat(fd, self->id, SPT_LOAD_PAT, pat,
			      sizeof(struct spt_load), ops, 2));
	EXPECT_EQ(SPT_LOAD_OK, ops[0].out_status);
	EXPECT_EQ(SPT_LOAD_OK, ops[1].out_status);
	EXPECT_EQ(0x0123456789abcdefULL, ops[1].out_value);
	EXPECT_EQ(0, ops[1].out_fault);
	for (cpu = 0; read_pat(cpu, &after); cpu++)
		EXPECT_EQ(host, after) {
			TH_LOG("cpu %u PAT 0x%016llx after the window", cpu,
			       (unsigned long long)after);
		}
	EXPECT_LE(2, cpu);
	ASSERT_EQ(0, _spt_rw(fd, self->id, 0, PAT_VA + 8, &v, 8, NULL));
	EXPECT_EQ(0x0123456789abcdefULL, v);
	/* Every free entry may take every valid type. */
	for (i = 4; i < 8; i++) {
		static const __u8 types[] = { 0, 1, 4, 5, 6, 7 };
		unsigned int t;

		for (t = 0; t < sizeof(types); t++) {
			pat = (host & ~(0xffULL << (8 * i))) |
			      (uint64_t)types[t] << (8 * i);
			EXPECT_EQ(0, load_pat(fd, self->id, SPT_LOAD_PAT, pat,
					      sizeof(struct spt_load), &ops[1],
					      1));
			EXPECT_EQ(SPT_LOAD_OK, ops[1].out_status);
		}
	}

	/* EINVAL, and the WRITE before is not made. */
	ops[0].va = PAT_VA + 16;
	for (i = 0; i < 8; i++) {
		unsigned int t;

		for (t = 0; t < sizeof(bad_types); t++) {
			pat = (host & ~(0xffULL << (8 * i))) |
			      (uint64_t)bad_types[t] << (8 * i);
			errno = 0;
			EXPECT_EQ(-1, load_pat(fd, self->id, SPT_LOAD_PAT, pat,
					       sizeof(struct spt_load), ops,
					       2));
			EXPECT_EQ(EINVAL, errno);
		}
		/* Entries 0..3 must be the host's. */
		if (i < 4) {
			pat = host ^ (((host >> (8 * i)) & 0xff) == 6 ?
				      (0x6ULL << (8 * i)) :
				      (0x1ULL << (8 * i)));
			errno = 0;
			EXPECT_EQ(-1, load_pat(fd, self->id, SPT_LOAD_PAT, pat,
					       sizeof(struct spt_load), ops,
					       2));
			EXPECT_EQ(EINVAL, errno);
		}
	}
	/* A PAT without the flag; the flag with a struct too short for it. */
	errno = 0;
	EXPECT_EQ(-1, load_pat(fd, self->id, 0, host, sizeof(struct spt_load),
			       ops, 2));
	EXPECT_EQ(EINVAL, errno);
	errno = 0;
	EXPECT_EQ(-1, load_pat(fd, self->id, SPT_LOAD_PAT, host,
			       offsetof(struct spt_load, pat), ops, 2));
	EXPECT_EQ(EINVAL, errno);
	ASSERT_EQ(0, _spt_rw(fd, self->id, 0, PAT_VA + 16, &v, 8, NULL));
	EXPECT_EQ(0, v);
	/* The host's own PAT as the window's is fine. */
	EXPECT_EQ(0, load_pat(fd, self->id, SPT_LOAD_PAT, host,
			      sizeof(struct spt_load), ops, 2));
	EXPECT_EQ(SPT_LOAD_OK, ops[0].out_status);
	ASSERT_TRUE(read_pat(1, &after));
	EXPECT_EQ(host, after);
}

/*
 * Leaves selecting PAT entries 4..7 by index (SPT_CACHE_MODE_PAT(n)): the
 * PTE has n's PWT, PCD and PAT bits, and a window whose PAT makes that
 * entry UC writes and reads through it.
 */
TEST_F(access, pat_index_leaves)
{
	uint64_t host, pat, v = 0;
	struct spt_load_op ops[2];
	int fd = self->env.fd;
	unsigned int n;

	if (system("modprobe msr 2>/dev/null") || !read_pat(0, &host))
		SKIP(return, "no /dev/cpu/0/msr (msr module)");
	for (n = 0; n < 8; n++) {
		__u64 va = PAT_VA + 0x10000 + n * SZ_4K;
		__u64 want = (n & 1 ? 1ULL << 3 : 0) | (n & 2 ? 1ULL << 4 : 0) |
			     (n & 4 ? 1ULL << 7 : 0);
		struct spt_entry_bits eb = {
			.size = sizeof(eb), .space_id = self->id, .level = 1,
			.va = va, .length = SZ_4K,
		};

		ASSERT_EQ(0, _spt_map(fd, self->id, SPT_MAP_4K, va, SZ_4K, 0,
				      SPT_PROT_WRITE, SPT_CACHE_MODE_PAT(n),
				      NULL));
		/* No bit changed: out_bits is the leaf as it is. */
		ASSERT_EQ(0, ioctl(fd, SPT_IOCTL_ENTRY_BITS, &eb));
		EXPECT_EQ(1, eb.out_entries);
		EXPECT_EQ(want, eb.out_bits & ((1ULL << 3) | (1ULL << 4) |
					       (1ULL << 7))) {
			TH_LOG("PAT(%u): bits 0x%llx", n,
			       (unsigned long long)eb.out_bits);
		}
		if (n < 4)
			continue;
		pat = host & ~(0xffULL << (8 * n));	/* entry n: UC */
		memset(ops, 0, sizeof(ops));
		ops[0].op = SPT_LOAD_OP_WRITE;
		ops[0].width = 8;
		ops[0].va = va + 8;
		ops[0].value = 0x1122334455667700ULL | n;
		ops[1].op = SPT_LOAD_OP_READ;
		ops[1].width = 8;
		ops[1].va = va + 8;
		ASSERT_EQ(0, load_pat(fd, self->id, SPT_LOAD_PAT, pat,
				      sizeof(struct spt_load), ops, 2));
		EXPECT_EQ(SPT_LOAD_OK, ops[0].out_status);
		EXPECT_EQ(SPT_LOAD_OK, ops[1].out_status);
		EXPECT_EQ(ops[0].value, ops[1].out_value);
		ASSERT_EQ(0, _spt_rw(fd, self->id, 0, va + 8, &v, 8, NULL));
		EXPECT_EQ(ops[0].value, v);
	}
	/* One past the last PAT entry: EINVAL, nothing mapped. */
	errno = 0;
	EXPECT_EQ(-1, _spt_map(fd, self->id, SPT_MAP_4K, PAT_VA + 0x20000,
			       SZ_4K, 0, SPT_PROT_WRITE,
			       SPT_CACHE_MODE_PAT(7) + 1, NULL));
	EXPECT_EQ(EINVAL, errno);
}

TEST_HARNESS_MAIN
