// SPDX-License-Identifier: GPL-2.0
/*
 * Load windows: the hardware MMU walks shadowpt's tables.
 *
 * The outcome of every probe (value or fault) is predicted by the test from
 * its own record of what it mapped, independently of the module's software
 * walker, and compared with what the CPU did; the module's own walker must
 * agree too (SPT_FAULT_MISMATCH never set).
 */
#ifndef _GNU_SOURCE
#define _GNU_SOURCE
#endif
#include <errno.h>
#include <fcntl.h>
#include <pthread.h>
#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/ioctl.h>
#include <time.h>
#include <unistd.h>
#include <linux/shadowpt.h>

#include "kselftest_harness.h"

#define SZ_4K	0x1000ULL
#define SZ_2M	0x200000ULL
#define SZ_1G	0x40000000ULL
#define POISON	0x6b6b6b6b6b6b6b6bULL

#define BASE_4K		0x10000000000ULL	/* 1 TiB */
#define BASE_2M		0x20000000000ULL
#define BASE_PHYS	0x30000000000ULL
#define BASE_1G		0x40000000000ULL

static int spt_open(void)
{
	return open("/dev/shadowpt", O_RDWR);
}

static __u32 spt_create(int fd)
{
	struct spt_space_create c = { .size = sizeof(c) };

	if (ioctl(fd, SPT_IOCTL_SPACE_CREATE, &c))
		return 0;
	return c.out_space_id;
}

static int spt_destroy(int fd, __u32 id)
{
	struct spt_space_destroy d = { .size = sizeof(d), .space_id = id };

	return ioctl(fd, SPT_IOCTL_SPACE_DESTROY, &d);
}

static int spt_map(int fd, __u32 id, __u64 va, __u64 len, __u32 flags,
		   __u32 prot, __u64 phys)
{
	struct spt_map m = {
		.size = sizeof(m), .flags = flags, .space_id = id,
		.prot = prot, .va = va, .length = len, .phys = phys,
	};

	return ioctl(fd, SPT_IOCTL_MAP, &m);
}

static int spt_unmap(int fd, __u32 id, __u64 va, __u64 len)
{
	struct spt_unmap u = {
		.size = sizeof(u), .space_id = id, .va = va, .length = len,
	};

	return ioctl(fd, SPT_IOCTL_UNMAP, &u);
}

static int spt_protect(int fd, __u32 id, __u64 va, __u64 len, __u32 prot)
{
	struct spt_protect p = {
		.size = sizeof(p), .space_id = id, .prot = prot, .va = va,
		.length = len,
	};

	return ioctl(fd, SPT_IOCTL_PROTECT, &p);
}

static int spt_query(int fd, __u32 id, __u64 va, struct spt_query_entry *e)
{
	struct spt_query_va q = { .size = sizeof(q), .space_id = id, .va = va };
	int ret = ioctl(fd, SPT_IOCTL_QUERY, &q);

	*e = q.out;
	return ret;
}

static int spt_check(int fd, __u32 id, char *msg, size_t len)
{
	struct spt_check c = {
		.size = sizeof(c), .space_id = id, .msg_len = len,
		.msg = (uintptr_t)msg,
	};

	msg[0] = 0;
	return ioctl(fd, SPT_IOCTL_CHECK, &c);
}

static __u64 spt_used_frames(int fd)
{
	struct spt_stats s = { .size = sizeof(s) };

	if (ioctl(fd, SPT_IOCTL_STATS, &s))
		return ~0ULL;
	return s.pool_used_frames;
}

/*
 * Run @n ops, in as many windows as the time bound needs. Returns 0 or -1
 * (errno set by the failing ioctl).
 */
static int spt_run(int fd, __u32 id, struct spt_load_op *ops, unsigned int n,
		   __u32 flags, __u32 cpu)
{
	unsigned int done = 0;

	while (done < n) {
		unsigned int chunk = n - done > 256 ? 256 : n - done;
		struct spt_load l = {
			.size = sizeof(l), .flags = flags, .space_id = id,
			.cpu = cpu, .nr_ops = chunk, .op_size = sizeof(*ops),
			.ops = (uintptr_t)(ops + done),
		};

		if (ioctl(fd, SPT_IOCTL_LOAD, &l))
			return -1;
		if (l.out_ops_run == 0) {
			errno = ETIMEDOUT;
			return -1;
		}
		/* Ops that did not run keep zeroed results: run them again. */
		done += l.out_ops_run;
	}
	return 0;
}

static bool allow_phys(void)
{
	FILE *f = fopen("/sys/module/shadowpt/parameters/allow_phys", "r");
	int c = f ? fgetc(f) : 'N';

	if (f)
		fclose(f);
	return c == 'Y' || c == '1';
}

struct mapping {
	__u64 va, size;
	__u32 prot;
	bool tracked;
};

/* What the test expects of one probe, from its own record. */
static void expect(const struct mapping *m, struct spt_load_op *op,
		   __u32 *status, __u32 *fault)
{
	*fault = 0;
	if (!m) {
		*status = op->op == SPT_LOAD_OP_FETCH ? SPT_LOAD_PREDICTED :
			  SPT_LOAD_FAULT;
		*fault = SPT_FAULT_NOT_PRESENT;
		return;
	}
	switch (op->op) {
	case SPT_LOAD_OP_READ:
		*status = SPT_LOAD_OK;
		return;
	case SPT_LOAD_OP_WRITE:
		*status = m->prot & SPT_PROT_WRITE ? SPT_LOAD_OK :
			  SPT_LOAD_FAULT;
		*fault = m->prot & SPT_PROT_WRITE ? 0 : SPT_FAULT_READ_ONLY;
		return;
	default:
		if (!(m->prot & SPT_PROT_EXEC))
			*fault |= SPT_FAULT_NX;
		if (m->prot & SPT_PROT_USER)
			*fault |= SPT_FAULT_USER;
		*status = *fault ? SPT_LOAD_PREDICTED : SPT_LOAD_OK;
	}
}

FIXTURE(load)
{
	int fd;
	__u32 id;
	__u64 used0;
};

FIXTURE_SETUP(load)
{
	self->fd = spt_open();
	ASSERT_LE(0, self->fd);
	self->used0 = spt_used_frames(self->fd);
	self->id = spt_create(self->fd);
	ASSERT_NE(0, self->id);
}

FIXTURE_TEARDOWN(load)
{
	if (self->id)
		spt_destroy(self->fd, self->id);
	/* Nothing the test made outlives it. */
	EXPECT_EQ(self->used0, spt_used_frames(self->fd));
	close(self->fd);
}

/* >= 2,000 mappings of every size and every W/U/X combination. */
TEST_F_TIMEOUT(load, hw_vs_sw, 600)
{
	enum { N4K = 1400, N2M = 40, NPHYS = 600 };
	unsigned int nmap = 0, nops = 0, i, j, mism = 0, bad = 0;
	bool phys = allow_phys();
	struct mapping *maps;
	struct spt_load_op *ops;
	__u32 *owner;
	char msg[256];

	srand(12345);
	maps = calloc(N4K + N2M + NPHYS + 1, sizeof(*maps));
	ASSERT_NE(NULL, maps);
	/* Tracked 4 KiB pages, scattered (gaps stay unmapped). */
	for (i = 0; i < N4K; i++) {
		struct mapping *m = &maps[nmap++];

		m->va = BASE_4K + (__u64)i * 3 * SZ_4K;
		m->size = SZ_4K;
		m->prot = rand() & 7;
		m->tracked = true;
		ASSERT_EQ(0, spt_map(self->fd, self->id, m->va, m->size,
				     SPT_MAP_4K, m->prot, 0));
	}
	/* Tracked 2 MiB pages, one in two 2 MiB slots. */
	for (i = 0; i < N2M; i++) {
		struct mapping *m = &maps[nmap++];

		m->va = BASE_2M + (__u64)i * 2 * SZ_2M;
		m->size = SZ_2M;
		m->prot = i & 7;
		m->tracked = true;
		ASSERT_EQ(0, spt_map(self->fd, self->id, m->va, m->size,
				     SPT_MAP_2M, m->prot, 0));
	}
	/*
	 * Untracked: raw physical memory of the guest, never writable (the
	 * test must not scribble over the guest's own RAM): 4 KiB pages and
	 * one 1 GiB leaf.
	 */
	if (phys) {
		for (i = 0; i < NPHYS; i++) {
			struct mapping *m = &maps[nmap++];

			m->va = BASE_PHYS + (__u64)i * 2 * SZ_4K;
			m->size = SZ_4K;
			m->prot = (rand() & 7) & ~SPT_PROT_WRITE;
			m->tracked = false;
			ASSERT_EQ(0, spt_map(self->fd, self->id, m->va,
					     m->size, SPT_MAP_PHYS, m->prot,
					     (__u64)(rand() % 4096) * SZ_4K));
		}
		maps[nmap] = (struct mapping){ BASE_1G, SZ_1G, SPT_PROT_USER,
					       false };
		ASSERT_EQ(0, spt_map(self->fd, self->id, BASE_1G, SZ_1G,
				     SPT_MAP_PHYS, SPT_PROT_USER, 0));
		nmap++;
	}
	ASSERT_EQ(0, spt_check(self->fd, self->id, msg, sizeof(msg)))
		TH_LOG("check: %s", msg);
	ksft_print_msg("%u mappings (%s)\n", nmap,
		       phys ? "tracked 4K/2M, untracked 4K/1G" :
		       "tracked 4K/2M only: allow_phys=0");
	if (phys)
		ASSERT_LE(2000, nmap);

	/* Per mapping: write (tracked), read, fetch; per gap: read. */
	ops = calloc(nmap * 4 + 16, sizeof(*ops));
	owner = calloc(nmap * 4 + 16, sizeof(*owner));
	ASSERT_NE(NULL, ops);
	ASSERT_NE(NULL, owner);
	for (i = 0; i < nmap; i++) {
		struct mapping *m = &maps[i];
		__u64 off = ((__u64)rand() * 8) % (m->size - 8);

		if (m->tracked) {
			owner[nops] = i + 1;
			ops[nops++] = (struct spt_load_op){
				.op = SPT_LOAD_OP_WRITE, .width = 8,
				.va = m->va + off, .value = m->va ^ 0x5a5a,
			};
		}
		owner[nops] = i + 1;
		ops[nops++] = (struct spt_load_op){
			.op = SPT_LOAD_OP_READ, .width = 8, .va = m->va + off,
		};
		if (m->tracked || !(m->prot & SPT_PROT_EXEC) ||
		    m->prot & SPT_PROT_USER) {
			owner[nops] = i + 1;
			ops[nops++] = (struct spt_load_op){
				.op = SPT_LOAD_OP_FETCH, .va = m->va + m->size -
							       SZ_4K,
			};
		}
		if (m->size == SZ_4K && i % 4 == 0) {
			/* The gap after it is unmapped. */
			owner[nops] = 0;
			ops[nops++] = (struct spt_load_op){
				.op = SPT_LOAD_OP_READ, .width = 4,
				.va = m->va + SZ_4K,
			};
		}
	}
	ASSERT_EQ(0, spt_run(self->fd, self->id, ops, nops, 0, 0))
		TH_LOG("load: %s", strerror(errno));

	for (j = 0; j < nops; j++) {
		struct mapping *m = owner[j] ? &maps[owner[j] - 1] : NULL;
		__u32 status, fault;

		expect(m, &ops[j], &status, &fault);
		if (ops[j].out_fault & SPT_FAULT_MISMATCH)
			mism++;
		if (ops[j].out_status != status ||
		    (ops[j].out_fault & ~SPT_FAULT_MISMATCH) != fault) {
			if (bad++ < 10)
				TH_LOG("op %u (%u at 0x%llx): status %u fault %#x, expected %u %#x",
				       j, ops[j].op,
				       (unsigned long long)ops[j].va,
				       ops[j].out_status, ops[j].out_fault,
				       status, fault);
		}
		/* A tracked read after our write sees the value (or zero if
		 * the page is read-only and was never written).
		 */
		if (m && m->tracked && ops[j].op == SPT_LOAD_OP_READ &&
		    ops[j].out_status == SPT_LOAD_OK)
			EXPECT_EQ(m->prot & SPT_PROT_WRITE ? m->va ^ 0x5a5a : 0,
				  ops[j].out_value);
	}
	ksft_print_msg("%u probes, %u disagreements, %u walker mismatches\n",
		       nops, bad, mism);
	EXPECT_EQ(0, bad);
	EXPECT_EQ(0, mism);
	ASSERT_EQ(0, spt_check(self->fd, self->id, msg, sizeof(msg)))
		TH_LOG("check: %s", msg);
	free(ops);
	free(owner);
	free(maps);
}

/* A missing invalidation would let the second read hit the stale entry. */
TEST_F(load, unmap_in_window_then_read_faults)
{
	struct spt_load_op ops[] = {
		{ .op = SPT_LOAD_OP_WRITE, .width = 8, .va = BASE_4K, .value = 7 },
		{ .op = SPT_LOAD_OP_READ, .width = 8, .va = BASE_4K },
		{ .op = SPT_LOAD_OP_UNMAP, .va = BASE_4K, .length = SZ_4K },
		{ .op = SPT_LOAD_OP_READ, .width = 8, .va = BASE_4K },
	};

	ASSERT_EQ(0, spt_map(self->fd, self->id, BASE_4K, SZ_4K, SPT_MAP_4K,
			     SPT_PROT_WRITE, 0));
	ASSERT_EQ(0, spt_run(self->fd, self->id, ops, 4, 0, 0));
	EXPECT_EQ(SPT_LOAD_OK, ops[1].out_status);
	EXPECT_EQ(7, ops[1].out_value);
	EXPECT_EQ(SPT_LOAD_OK, ops[2].out_status);
	EXPECT_EQ(1, ops[2].out_value);
	EXPECT_EQ(SPT_LOAD_FAULT, ops[3].out_status);
	EXPECT_EQ(SPT_FAULT_NOT_PRESENT, ops[3].out_fault);
}

TEST_F(load, protect_in_window_then_write_faults)
{
	struct spt_load_op ops[] = {
		{ .op = SPT_LOAD_OP_WRITE, .width = 4, .va = BASE_4K, .value = 1 },
		{ .op = SPT_LOAD_OP_PROTECT, .va = BASE_4K, .length = SZ_4K },
		{ .op = SPT_LOAD_OP_WRITE, .width = 4, .va = BASE_4K, .value = 2 },
		{ .op = SPT_LOAD_OP_READ, .width = 4, .va = BASE_4K },
	};

	ASSERT_EQ(0, spt_map(self->fd, self->id, BASE_4K, SZ_4K, SPT_MAP_4K,
			     SPT_PROT_WRITE, 0));
	ASSERT_EQ(0, spt_run(self->fd, self->id, ops, 4, 0, 0));
	EXPECT_EQ(SPT_LOAD_OK, ops[0].out_status);
	EXPECT_EQ(SPT_LOAD_OK, ops[1].out_status);
	EXPECT_EQ(SPT_LOAD_FAULT, ops[2].out_status);
	EXPECT_EQ(SPT_FAULT_READ_ONLY, ops[2].out_fault);
	EXPECT_EQ(1, ops[3].out_value);
}

TEST_F(load, map_in_window_then_use)
{
	struct spt_load_op ops[] = {
		{ .op = SPT_LOAD_OP_READ, .width = 8, .va = BASE_4K + SZ_4K },
		{ .op = SPT_LOAD_OP_MAP, .va = BASE_4K, .length = 2 * SZ_4K,
		  .prot = SPT_PROT_WRITE },
		{ .op = SPT_LOAD_OP_WRITE, .width = 8, .va = BASE_4K + SZ_4K,
		  .value = 42 },
		{ .op = SPT_LOAD_OP_READ, .width = 8, .va = BASE_4K + SZ_4K },
	};

	ASSERT_EQ(0, spt_run(self->fd, self->id, ops, 4, 0, 0));
	EXPECT_EQ(SPT_LOAD_FAULT, ops[0].out_status);
	EXPECT_EQ(SPT_LOAD_OK, ops[1].out_status);
	EXPECT_EQ(2, ops[1].out_value);
	EXPECT_EQ(SPT_LOAD_OK, ops[2].out_status);
	EXPECT_EQ(42, ops[3].out_value);
}

TEST_F(load, map_in_window_over_mapping_refused)
{
	struct spt_load_op ops[] = {
		{ .op = SPT_LOAD_OP_MAP, .va = BASE_4K, .length = 2 * SZ_4K,
		  .prot = SPT_PROT_WRITE },
		{ .op = SPT_LOAD_OP_READ, .width = 8, .va = BASE_4K + SZ_4K },
	};

	ASSERT_EQ(0, spt_map(self->fd, self->id, BASE_4K + SZ_4K, SZ_4K,
			     SPT_MAP_4K, 0, 0));
	ASSERT_EQ(0, spt_run(self->fd, self->id, ops, 2, 0, 0));
	EXPECT_EQ(SPT_LOAD_ERROR, ops[0].out_status);
	EXPECT_EQ(EEXIST, ops[0].out_errno);
	EXPECT_EQ(0, ops[0].out_value);
	EXPECT_EQ(SPT_LOAD_OK, ops[1].out_status);
}

/* The bits the MMU set are what query reads back. */
TEST_F(load, accessed_dirty_bits)
{
	struct spt_load_op ops[] = {
		{ .op = SPT_LOAD_OP_READ, .width = 8, .va = BASE_4K },
		{ .op = SPT_LOAD_OP_WRITE, .width = 8, .va = BASE_4K + SZ_4K,
		  .value = 1 },
	};
	struct spt_query_entry e;

	ASSERT_EQ(0, spt_map(self->fd, self->id, BASE_4K, 3 * SZ_4K,
			     SPT_MAP_4K, SPT_PROT_WRITE, 0));
	ASSERT_EQ(0, spt_query(self->fd, self->id, BASE_4K, &e));
	EXPECT_EQ(0, e.prot & (SPT_PROT_ACCESSED | SPT_PROT_DIRTY));
	ASSERT_EQ(0, spt_run(self->fd, self->id, ops, 2, 0, 0));
	ASSERT_EQ(0, spt_query(self->fd, self->id, BASE_4K, &e));
	EXPECT_EQ(SPT_PROT_ACCESSED, e.prot & (SPT_PROT_ACCESSED | SPT_PROT_DIRTY));
	ASSERT_EQ(0, spt_query(self->fd, self->id, BASE_4K + SZ_4K, &e));
	EXPECT_EQ(SPT_PROT_ACCESSED | SPT_PROT_DIRTY,
		  e.prot & (SPT_PROT_ACCESSED | SPT_PROT_DIRTY));
	ASSERT_EQ(0, spt_query(self->fd, self->id, BASE_4K + 2 * SZ_4K, &e));
	EXPECT_EQ(0, e.prot & (SPT_PROT_ACCESSED | SPT_PROT_DIRTY));
}

TEST_F(load, global_bit_refused)
{
	EXPECT_EQ(-1, spt_map(self->fd, self->id, BASE_4K, SZ_4K, SPT_MAP_4K,
			      SPT_PROT_GLOBAL, 0));
	EXPECT_EQ(EINVAL, errno);
	EXPECT_EQ(-1, spt_protect(self->fd, self->id, BASE_4K, SZ_4K,
				  SPT_PROT_GLOBAL));
	EXPECT_EQ(EINVAL, errno);
}

TEST_F(load, destroyed_space)
{
	struct spt_load_op op = {
		.op = SPT_LOAD_OP_READ, .width = 1, .va = BASE_4K,
	};

	ASSERT_EQ(0, spt_destroy(self->fd, self->id));
	EXPECT_EQ(-1, spt_run(self->fd, self->id, &op, 1, 0, 0));
	EXPECT_EQ(ENOENT, errno);
	self->id = 0;
}

static int cpu_online_set(int cpu, int on)
{
	char path[64];
	int fd, ret;

	snprintf(path, sizeof(path), "/sys/devices/system/cpu/cpu%d/online",
		 cpu);
	fd = open(path, O_WRONLY);
	if (fd < 0)
		return -1;
	ret = write(fd, on ? "1" : "0", 1) == 1 ? 0 : -1;
	close(fd);
	return ret;
}

/* The first CPU in /sys/devices/system/cpu/offline, or ~0U. */
static unsigned int offline_cpu(void)
{
	FILE *f = fopen("/sys/devices/system/cpu/offline", "r");
	unsigned int cpu = ~0U;

	if (f) {
		if (fscanf(f, "%u", &cpu) != 1)
			cpu = ~0U;
		fclose(f);
	}
	return cpu;
}

TEST_F(load, cpu_choice)
{
	struct spt_load_op op = {
		.op = SPT_LOAD_OP_READ, .width = 1, .va = BASE_4K,
	};
	struct spt_load l = {
		.size = sizeof(l), .space_id = self->id, .nr_ops = 1,
		.op_size = sizeof(op), .ops = (uintptr_t)&op,
	};

	/* The default is the isolated CPU (isolcpus=1 in the VM). */
	ASSERT_EQ(0, ioctl(self->fd, SPT_IOCTL_LOAD, &l));
	EXPECT_EQ(1, l.out_cpu);
	/* CPU 0 is not isolated: refused unless forced. */
	memset(&op, 0, sizeof(op));
	op = (struct spt_load_op){ .op = SPT_LOAD_OP_READ, .width = 1,
				   .va = BASE_4K };
	l.flags = SPT_LOAD_CPU;
	l.cpu = 0;
	EXPECT_EQ(-1, ioctl(self->fd, SPT_IOCTL_LOAD, &l));
	EXPECT_EQ(EXDEV, errno);
	l.flags = SPT_LOAD_CPU | SPT_LOAD_FORCE;
	ASSERT_EQ(0, ioctl(self->fd, SPT_IOCTL_LOAD, &l));
	EXPECT_EQ(0, l.out_cpu);
	/* No such CPU. */
	op = (struct spt_load_op){ .op = SPT_LOAD_OP_READ, .width = 1,
				   .va = BASE_4K };
	l.cpu = 4096;
	EXPECT_EQ(-1, ioctl(self->fd, SPT_IOCTL_LOAD, &l));
	EXPECT_EQ(ENODEV, errno);
	/*
	 * An offline CPU: one the VM brought up offline (maxcpus=), else
	 * CPU 1 taken offline now.
	 */
	l.flags = SPT_LOAD_CPU;
	l.cpu = offline_cpu();
	if (l.cpu == ~0U) {
		if (cpu_online_set(1, 0))
			SKIP(return, "no offline CPU (boot with maxcpus=) and CPU 1 cannot be taken offline");
		l.cpu = 1;
	}
	EXPECT_EQ(-1, ioctl(self->fd, SPT_IOCTL_LOAD, &l));
	EXPECT_EQ(ENODEV, errno);
	if (l.cpu == 1)
		ASSERT_EQ(0, cpu_online_set(1, 1));
}

TEST_F(load, bad_programs)
{
	struct spt_load_op op = {
		.op = SPT_LOAD_OP_READ, .width = 3, .va = BASE_4K,
	};
	struct spt_load l = {
		.size = sizeof(l), .space_id = self->id, .nr_ops = 1,
		.op_size = sizeof(op), .ops = (uintptr_t)&op,
	};

	EXPECT_EQ(-1, ioctl(self->fd, SPT_IOCTL_LOAD, &l));	/* width 3 */
	EXPECT_EQ(EINVAL, errno);
	op.width = 8;
	op.va = BASE_4K + 4;					/* unaligned */
	EXPECT_EQ(-1, ioctl(self->fd, SPT_IOCTL_LOAD, &l));
	EXPECT_EQ(EINVAL, errno);
	op.va = 0xffff800000000000ULL;				/* kernel half */
	EXPECT_EQ(-1, ioctl(self->fd, SPT_IOCTL_LOAD, &l));
	EXPECT_EQ(EINVAL, errno);
	op.va = BASE_4K;
	op.op = 99;
	EXPECT_EQ(-1, ioctl(self->fd, SPT_IOCTL_LOAD, &l));
	EXPECT_EQ(EINVAL, errno);
	op.op = SPT_LOAD_OP_READ;
	l.nr_ops = SPT_LOAD_MAX_OPS + 1;
	EXPECT_EQ(-1, ioctl(self->fd, SPT_IOCTL_LOAD, &l));
	EXPECT_EQ(EINVAL, errno);
	l.nr_ops = 1;
	l.ops = 8;						/* bad pointer */
	EXPECT_EQ(-1, ioctl(self->fd, SPT_IOCTL_LOAD, &l));
	EXPECT_EQ(EFAULT, errno);
}

/* ---- stress: windows on the isolated CPU while others change the space */

#define STRESS_PAGES	256

struct stress {
	int fd;
	__u32 id;
	volatile bool stop;
	unsigned long windows, probes, poison, maps, unmaps, protects;
};

static void *stress_windows(void *arg)
{
	struct stress *st = arg;
	struct spt_load_op ops[64];
	unsigned int seed = 1, i;

	while (!st->stop) {
		for (i = 0; i < 64; i++) {
			__u64 va = BASE_4K + (rand_r(&seed) % STRESS_PAGES) * SZ_4K;

			ops[i] = (struct spt_load_op){
				.op = i & 1 ? SPT_LOAD_OP_READ : SPT_LOAD_OP_WRITE,
				.width = 8, .va = va,
				.value = i & 1 ? 0 : va | 1,
			};
		}
		if (spt_run(st->fd, st->id, ops, 64, 0, 0))
			break;	/* destroyed at the end */
		st->windows++;
		for (i = 0; i < 64; i++) {
			st->probes++;
			if (ops[i].op == SPT_LOAD_OP_READ &&
			    ops[i].out_status == SPT_LOAD_OK &&
			    ops[i].out_value == POISON)
				st->poison++;
		}
	}
	return NULL;
}

static void *stress_changes(void *arg)
{
	struct stress *st = arg;
	unsigned int seed = (unsigned int)pthread_self();

	while (!st->stop) {
		__u64 va = BASE_4K + (rand_r(&seed) % STRESS_PAGES) * SZ_4K;
		__u64 len = (1 + rand_r(&seed) % 8) * SZ_4K;

		if (va + len > BASE_4K + STRESS_PAGES * SZ_4K)
			len = SZ_4K;
		switch (rand_r(&seed) % 3) {
		case 0:
			if (!spt_map(st->fd, st->id, va, len, SPT_MAP_4K,
				     SPT_PROT_WRITE, 0))
				__atomic_fetch_add(&st->maps, 1, __ATOMIC_RELAXED);
			break;
		case 1:
			if (!spt_unmap(st->fd, st->id, va, len))
				__atomic_fetch_add(&st->unmaps, 1, __ATOMIC_RELAXED);
			break;
		default:
			if (!spt_protect(st->fd, st->id, va, len,
					 rand_r(&seed) & 1 ? SPT_PROT_WRITE : 0))
				__atomic_fetch_add(&st->protects, 1,
						   __ATOMIC_RELAXED);
		}
	}
	return NULL;
}

TEST_F_TIMEOUT(load, stress, 900)
{
	const char *env = getenv("SPT_STRESS_SECS");
	int secs = env ? atoi(env) : 60;
	struct stress st = { .fd = self->fd, .id = self->id };
	pthread_t w, c1, c2;
	char msg[256];

	ASSERT_EQ(0, pthread_create(&w, NULL, stress_windows, &st));
	ASSERT_EQ(0, pthread_create(&c1, NULL, stress_changes, &st));
	ASSERT_EQ(0, pthread_create(&c2, NULL, stress_changes, &st));
	sleep(secs);
	/* Destroy under the window thread's feet, then stop everyone. */
	ASSERT_EQ(0, spt_check(self->fd, self->id, msg, sizeof(msg)))
		TH_LOG("check: %s", msg);
	ASSERT_EQ(0, spt_destroy(self->fd, self->id));
	self->id = 0;
	st.stop = true;
	pthread_join(w, NULL);
	pthread_join(c1, NULL);
	pthread_join(c2, NULL);
	ksft_print_msg("%d s: %lu windows, %lu probes, %lu maps, %lu unmaps, %lu protects, %lu poison reads\n",
		       secs, st.windows, st.probes, st.maps, st.unmaps,
		       st.protects, st.poison);
	EXPECT_EQ(0, st.poison);
	EXPECT_LT(0, st.windows);
}

TEST_HARNESS_MAIN
