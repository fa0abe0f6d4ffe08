// SPDX-License-Identifier: GPL-2.0
/*
 * SPT_IOCTL_ENTRY_BITS: permissions at every level of the walk, and
 * reserved-bit faults.
 *
 * The differential test is the one of kvm-unit-tests' x86/access.c, for
 * supervisor accesses in load windows: for every level (and every pair
 * of levels), every combination of W cleared, U cleared and NX set on the
 * entries of that level over two pages (one supervisor, one user), READ,
 * WRITE and FETCH of both pages. The outcome must be the one this file
 * computes on its own (W and U ANDed down the walk, NX ORed; SMEP for a
 * fetch from an effective user page), the MMU must agree with the
 * module's walker (never SPT_FAULT_MISMATCH), QUERY must report the
 * effective permission, and CHECK must accept the deliberate bits. A
 * ring-3 run checks U at a non-leaf level and a reserved bit against the
 * #PF error code.
 */
#ifndef _GNU_SOURCE
#define _GNU_SOURCE
#endif
#include <errno.h>
#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>
#include <string.h>
#include <sys/ioctl.h>
#include <linux/shadowpt.h>

#include "kselftest_harness.h"
#include "shadowpt_utils.h"

/* Two pages: supervisor (A) and user (B), both writable and executable. */
#define LV_A	(SPT_TEST_VA + 0x40000000ULL)
#define LV_B	(LV_A + SZ_4K)
#define LV_LEN	(2 * SZ_4K)

#define PF_P	0x1
#define PF_W	0x2
#define PF_U	0x4
#define PF_RSVD	0x8

/* The three changes of the product at one level. */
#define M_W	1	/* clear W */
#define M_U	2	/* clear U */
#define M_NX	4	/* set NX */

static int entry_bits(int fd, __u32 id, __u32 flags, __u32 level, __u64 va,
		      __u64 len, __u64 set, __u64 clear,
		      struct spt_entry_bits *out)
{
	struct spt_entry_bits cmd = {
		.size = sizeof(cmd), .flags = flags, .space_id = id,
		.level = level, .va = va, .length = len, .set = set,
		.clear = clear,
	};
	int ret = ioctl(fd, SPT_IOCTL_ENTRY_BITS, &cmd);

	if (out)
		*out = cmd;
	return ret;
}

static void mask_bits(unsigned int m, __u64 *set, __u64 *clear)
{
	*set = 0;
	*clear = 0;
	if (m & M_W)
		*clear |= SPT_BITS_W;
	if (m & M_U)
		*clear |= SPT_BITS_U;
	if (m & M_NX)
		*set |= SPT_BITS_NX;
}

FIXTURE(levels)
{
	struct spt_env env;
	__u32 id;
	__u32 depth;
	char msg[256];
};

FIXTURE_SETUP(levels)
{
	struct spt_space_info info = { .size = sizeof(info) };

	spt_env_setup(_metadata, &self->env);
	ASSERT_EQ(0, spt_env_create(_metadata, &self->env, 0, &self->id));
	ASSERT_EQ(0, _spt_space_info(self->env.fd, self->id, &info));
	self->depth = info.out_levels;
	ASSERT_EQ(0, _spt_map(self->env.fd, self->id, SPT_MAP_4K, LV_A,
			      SZ_4K, 0, SPT_PROT_WRITE | SPT_PROT_EXEC, 0,
			      NULL));
	ASSERT_EQ(0, _spt_map(self->env.fd, self->id, SPT_MAP_4K, LV_B,
			      SZ_4K, 0,
			      SPT_PROT_WRITE | SPT_PROT_EXEC | SPT_PROT_USER,
			      0, NULL));
}

FIXTURE_TEARDOWN(levels)
{
	if (self->id)
		EXPECT_EQ(0, _spt_check(self->env.fd, self->id, self->msg,
					sizeof(self->msg)));
	spt_env_teardown(_metadata, &self->env);
}

#define test_check() ({							\
	int _r = _spt_check(self->env.fd, self->id, self->msg,		\
			    sizeof(self->msg));				\
	if (_r)								\
		TH_LOG("check: %s", self->msg);				\
	ASSERT_EQ(0, _r);						\
})

TEST_F(levels, bad_input)
{
	int fd = self->env.fd;
	struct spt_entry_bits o;
	__u32 d = self->depth;

	/* Level out of range for the paging depth. */
	EXPECT_ERRNO(EINVAL, entry_bits(fd, self->id, 0, 0, LV_A, SZ_4K, 0,
					SPT_BITS_W, NULL));
	EXPECT_ERRNO(EINVAL, entry_bits(fd, self->id, 0, d + 1, LV_A, SZ_4K,
					0, SPT_BITS_W, NULL));
	EXPECT_ERRNO(EINVAL, entry_bits(fd, self->id, 0, 6, LV_A, SZ_4K, 0,
					SPT_BITS_W, NULL));
	/* Unknown bits: P, A, D, PS, G, the module's own, address bits. */
	EXPECT_ERRNO(EINVAL, entry_bits(fd, self->id, 0, 1, LV_A, SZ_4K,
					1ULL << 0, 0, NULL));
	EXPECT_ERRNO(EINVAL, entry_bits(fd, self->id, 0, 1, LV_A, SZ_4K,
					0, 1ULL << 0, NULL));
	EXPECT_ERRNO(EINVAL, entry_bits(fd, self->id, 0, 1, LV_A, SZ_4K,
					1ULL << 5, 0, NULL));
	EXPECT_ERRNO(EINVAL, entry_bits(fd, self->id, 0, 1, LV_A, SZ_4K,
					1ULL << 6, 0, NULL));
	EXPECT_ERRNO(EINVAL, entry_bits(fd, self->id, 0, 2, LV_A, SZ_4K,
					1ULL << 7, 0, NULL));
	EXPECT_ERRNO(EINVAL, entry_bits(fd, self->id, 0, 1, LV_A, SZ_4K,
					1ULL << 8, 0, NULL));
	EXPECT_ERRNO(EINVAL, entry_bits(fd, self->id, 0, 1, LV_A, SZ_4K,
					0, 1ULL << 9, NULL));
	EXPECT_ERRNO(EINVAL, entry_bits(fd, self->id, 0, 1, LV_A, SZ_4K,
					1ULL << 10, 0, NULL));
	EXPECT_ERRNO(EINVAL, entry_bits(fd, self->id, 0, 1, LV_A, SZ_4K,
					1ULL << 11, 0, NULL));
	EXPECT_ERRNO(EINVAL, entry_bits(fd, self->id, 0, 1, LV_A, SZ_4K,
					1ULL << 12, 0, NULL));
	EXPECT_ERRNO(EINVAL, entry_bits(fd, self->id, 0, 1, LV_A, SZ_4K,
					1ULL << 58, 0, NULL));
	/* Set and clear overlap. */
	EXPECT_ERRNO(EINVAL, entry_bits(fd, self->id, 0, 1, LV_A, SZ_4K,
					SPT_BITS_W, SPT_BITS_W | SPT_BITS_U,
					NULL));
	/* Unknown flag; RSVD without its flag. */
	EXPECT_ERRNO(EINVAL, entry_bits(fd, self->id, 2, 1, LV_A, SZ_4K, 0,
					SPT_BITS_W, NULL));
	EXPECT_ERRNO(EINVAL, entry_bits(fd, self->id, 0, 1, LV_A, SZ_4K,
					SPT_BITS_RSVD, 0, NULL));
	/* The protection key: leaves of level 1 only. */
	EXPECT_ERRNO(EINVAL, entry_bits(fd, self->id, 0, 2, LV_A, SZ_4K,
					1ULL << 59, 0, NULL));
	EXPECT_ERRNO(EINVAL, entry_bits(fd, self->id, 0, d, LV_A, SZ_4K, 0,
					SPT_BITS_PKEY, NULL));
	/* Range: unaligned, empty, overflowing, outside the user half. */
	EXPECT_ERRNO(EINVAL, entry_bits(fd, self->id, 0, 1, LV_A + 1, SZ_4K,
					0, SPT_BITS_W, NULL));
	EXPECT_ERRNO(EINVAL, entry_bits(fd, self->id, 0, 1, LV_A, 100, 0,
					SPT_BITS_W, NULL));
	EXPECT_ERRNO(EINVAL, entry_bits(fd, self->id, 0, 1, LV_A, 0, 0,
					SPT_BITS_W, NULL));
	EXPECT_ERRNO(EINVAL, entry_bits(fd, self->id, 0, 1, LV_A,
					-LV_A & ~0xfffULL, 0, SPT_BITS_W,
					NULL));
	EXPECT_ERRNO(EINVAL, entry_bits(fd, self->id, 0, 1,
					self->env.ver.out_user_end, SZ_4K, 0,
					SPT_BITS_W, NULL));
	EXPECT_ERRNO(EINVAL, entry_bits(fd, self->id, 0, 1,
					self->env.ver.out_user_end - SZ_4K,
					2 * SZ_4K, 0, SPT_BITS_W, NULL));
	/* No such space. */
	EXPECT_ERRNO(ENOENT, entry_bits(fd, 0xfffffff0, 0, 1, LV_A, SZ_4K,
					0, SPT_BITS_W, NULL));
	/* A short struct. */
	{
		struct spt_entry_bits cmd = { .size = 8 };

		EXPECT_ERRNO(EINVAL, ioctl(fd, SPT_IOCTL_ENTRY_BITS, &cmd));
	}
	/* Nothing changed by any of them. */
	for (__u32 l = 1; l <= d; l++) {
		ASSERT_EQ(0, entry_bits(fd, self->id, 0, l, LV_A, LV_LEN, 0, 0,
					&o));
		EXPECT_EQ(0, o.out_changed);
		EXPECT_LE(1, o.out_entries);
		EXPECT_EQ(0, o.out_bits & (SPT_BITS_AVL | SPT_BITS_PKEY |
					   SPT_BITS_RSVD | (1ULL << 58)));
		if (l > 1)
			EXPECT_EQ(SPT_BITS_W | SPT_BITS_U,
				  o.out_bits & (SPT_BITS_W | SPT_BITS_U |
						SPT_BITS_NX));
	}
	test_check();
}

/* Set and clear every bit class at every level; read it back. */
TEST_F(levels, set_clear_read_back)
{
	int fd = self->env.fd;
	struct spt_entry_bits o;
	__u32 l;

	for (l = 1; l <= self->depth; l++) {
		__u64 bits = SPT_BITS_W | SPT_BITS_U | SPT_BITS_PWT |
			     SPT_BITS_PCD | SPT_BITS_NX | SPT_BITS_AVL;
		__u64 before;

		ASSERT_EQ(0, entry_bits(fd, self->id, 0, l, LV_A, SZ_4K, 0, 0,
					&o));
		EXPECT_EQ(1, o.out_entries);
		before = o.out_bits;
		ASSERT_EQ(0, entry_bits(fd, self->id, 0, l, LV_A, SZ_4K,
					SPT_BITS_PWT | SPT_BITS_PCD |
					SPT_BITS_NX | (0x15ULL << 52),
					SPT_BITS_W | SPT_BITS_U, &o));
		EXPECT_EQ(1, o.out_entries);
		EXPECT_EQ(1, o.out_changed);
		EXPECT_EQ(SPT_BITS_PWT | SPT_BITS_PCD | SPT_BITS_NX |
			  (0x15ULL << 52), o.out_bits & bits);
		/* Marked as deliberate: CHECK accepts it. */
		EXPECT_NE(0, o.out_bits & (1ULL << 58));
		test_check();
		/* The same again changes nothing. */
		ASSERT_EQ(0, entry_bits(fd, self->id, 0, l, LV_A, SZ_4K,
					SPT_BITS_PWT | SPT_BITS_PCD |
					SPT_BITS_NX | (0x15ULL << 52),
					SPT_BITS_W | SPT_BITS_U, &o));
		EXPECT_EQ(0, o.out_changed);
		/* Back as it was, the mark gone. */
		ASSERT_EQ(0, entry_bits(fd, self->id, 0, l, LV_A, SZ_4K,
					before & bits,
					~before & bits, &o));
		EXPECT_EQ(1, o.out_changed);
		EXPECT_EQ(before, o.out_bits);
		test_check();
	}
	/* The protection key, on a leaf. */
	ASSERT_EQ(0, entry_bits(fd, self->id, 0, 1, LV_A, LV_LEN,
				0xbULL << 59, 0, &o));
	EXPECT_EQ(2, o.out_entries);
	EXPECT_EQ(2, o.out_changed);
	EXPECT_EQ(0xbULL << 59, o.out_bits & SPT_BITS_PKEY);
	test_check();
	ASSERT_EQ(0, entry_bits(fd, self->id, 0, 1, LV_A, LV_LEN, 0,
				SPT_BITS_PKEY, &o));
	EXPECT_EQ(0, o.out_bits & (SPT_BITS_PKEY | (1ULL << 58)));
	/* Absent parts are skipped: nothing at level 1 there. */
	ASSERT_EQ(0, entry_bits(fd, self->id, 0, 1, LV_A + SZ_1M, SZ_4K, 0,
				SPT_BITS_W, &o));
	EXPECT_EQ(0, o.out_entries);
	EXPECT_EQ(0, o.out_changed);
	EXPECT_EQ(0, o.out_bits);
	test_check();
}

/* The outcome of one access as the MMU must produce it. */
struct expect {
	__u32 status, fault;
};

static struct expect model(int op, bool w, bool u, bool x)
{
	struct expect e = { SPT_LOAD_OK, 0 };

	if (op == SPT_LOAD_OP_WRITE && !w)
		e = (struct expect){ SPT_LOAD_FAULT, SPT_FAULT_READ_ONLY };
	if (op == SPT_LOAD_OP_FETCH) {
		if (!x)
			e.fault |= SPT_FAULT_NX;
		if (u)
			e.fault |= SPT_FAULT_USER;
		if (e.fault)
			e.status = SPT_LOAD_PREDICTED;
	}
	return e;
}

/*
 * Apply masks @m[l - 1] at every level l, run the six accesses and compare
 * them with the model, QUERY and CHECK; then undo.
 */
static void product_case(struct __test_metadata *_metadata, int fd, __u32 id,
			 __u32 depth, const unsigned int *m, char *msg,
			 size_t msg_len)
{
	static const int kinds[] = {
		SPT_LOAD_OP_READ, SPT_LOAD_OP_WRITE, SPT_LOAD_OP_FETCH,
	};
	struct spt_load_op ops[6];
	struct spt_entry_bits o;
	bool w = true, u = true, x = true;
	struct spt_load l;
	unsigned int i;
	__u64 set, clear;
	__u32 lv;

	for (lv = 1; lv <= depth; lv++) {
		if (!m[lv - 1])
			continue;
		mask_bits(m[lv - 1], &set, &clear);
		ASSERT_EQ(0, entry_bits(fd, id, 0, lv, LV_A, LV_LEN, set,
					clear, &o));
		w &= !(m[lv - 1] & M_W);
		u &= !(m[lv - 1] & M_U);
		x &= !(m[lv - 1] & M_NX);
	}
	memset(ops, 0, sizeof(ops));
	for (i = 0; i < 6; i++) {
		ops[i].op = kinds[i % 3];
		ops[i].va = (i < 3 ? LV_A : LV_B) + 0x100;
		if (ops[i].op != SPT_LOAD_OP_FETCH)
			ops[i].width = 8;
		if (ops[i].op == SPT_LOAD_OP_WRITE)
			ops[i].value = 0x5a5a;
	}
	ASSERT_EQ(0, _spt_load(fd, id, ops, 6, &l));
	ASSERT_EQ(6, l.out_ops_run);
	for (i = 0; i < 6; i++) {
		/* Page A is supervisor at its leaf, B user. */
		struct expect e = model(ops[i].op, w, i >= 3 && u, x);

		if (ops[i].out_status != e.status ||
		    ops[i].out_fault != e.fault)
			TH_LOG("masks %u/%u/%u/%u/%u op %u page %c: status %u fault 0x%x, expected %u 0x%x",
			       m[0], m[1], m[2], m[3], m[4], ops[i].op,
			       i < 3 ? 'A' : 'B', ops[i].out_status,
			       ops[i].out_fault, e.status, e.fault);
		EXPECT_EQ(e.status, ops[i].out_status);
		EXPECT_EQ(e.fault, ops[i].out_fault);
		EXPECT_EQ(0, ops[i].out_fault & SPT_FAULT_MISMATCH);
	}
	/* QUERY: the effective permission. */
	for (i = 0; i < 2; i++) {
		struct spt_query_entry q;
		__u32 want = (w ? SPT_PROT_WRITE : 0) |
			     (x ? SPT_PROT_EXEC : 0) |
			     (i && u ? SPT_PROT_USER : 0);

		ASSERT_EQ(0, _spt_query(fd, id, i ? LV_B : LV_A, &q));
		EXPECT_EQ(want, q.prot & SPT_PROT_SETTABLE);
	}
	i = _spt_check(fd, id, msg, msg_len);
	if (i)
		TH_LOG("check: %s", msg);
	EXPECT_EQ(0, i);
	for (lv = 1; lv <= depth; lv++) {
		if (!m[lv - 1])
			continue;
		mask_bits(m[lv - 1], &set, &clear);
		/* A's leaf is supervisor: U comes back above level 1 only. */
		if (lv == 1)
			ASSERT_EQ(0, entry_bits(fd, id, 0, 1, LV_B, SZ_4K,
						clear, set, &o));
		if (lv == 1)
			clear &= ~SPT_BITS_U;
		ASSERT_EQ(0, entry_bits(fd, id, 0, lv, LV_A,
					lv == 1 ? SZ_4K : LV_LEN, clear, set,
					&o));
	}
}

/* Every level alone: the 8 combinations of W, U, NX. */
TEST_F(levels, product_one_level)
{
	unsigned int m[5], lv, c;

	for (lv = 1; lv <= self->depth; lv++) {
		for (c = 0; c < 8; c++) {
			memset(m, 0, sizeof(m));
			m[lv - 1] = c;
			product_case(_metadata, self->env.fd, self->id,
				     self->depth, m, self->msg,
				     sizeof(self->msg));
		}
	}
	test_check();
}

/* Every pair of levels: 8 x 8 combinations. */
TEST_F_TIMEOUT(levels, product_two_levels, 600)
{
	unsigned int m[5], a, b, ca, cb;

	for (a = 1; a <= self->depth; a++) {
		for (b = a + 1; b <= self->depth; b++) {
			for (ca = 1; ca < 8; ca++) {
				for (cb = 1; cb < 8; cb++) {
					memset(m, 0, sizeof(m));
					m[a - 1] = ca;
					m[b - 1] = cb;
					product_case(_metadata, self->env.fd,
						     self->id, self->depth, m,
						     self->msg,
						     sizeof(self->msg));
				}
			}
		}
	}
	test_check();
}

/* A reserved bit at any level: the window predicts RSVD, touches nothing. */
TEST_F(levels, reserved_bit)
{
	int fd = self->env.fd;
	struct spt_entry_bits o;
	struct spt_load_op ops[3];
	struct spt_load l;
	__u32 lv;
	int i;

	for (lv = 1; lv <= self->depth; lv++) {
		int r = entry_bits(fd, self->id, SPT_ENTRY_BITS_RSVD, lv, LV_A,
				   SZ_4K, SPT_BITS_RSVD, 0, &o);

		if (r && errno == EOPNOTSUPP)
			SKIP(return, "MAXPHYADDR is 52: no reserved bit 51");
		ASSERT_EQ(0, r);
		EXPECT_EQ(1, o.out_changed);
		EXPECT_EQ(SPT_BITS_RSVD, o.out_bits & SPT_BITS_RSVD);
		test_check();
		memset(ops, 0, sizeof(ops));
		for (i = 0; i < 3; i++) {
			ops[i].op = i == 0 ? SPT_LOAD_OP_READ :
				    i == 1 ? SPT_LOAD_OP_WRITE :
					     SPT_LOAD_OP_FETCH;
			ops[i].va = LV_A;
			ops[i].width = i < 2 ? 8 : 0;
		}
		ASSERT_EQ(0, _spt_load(fd, self->id, ops, 3, &l));
		for (i = 0; i < 3; i++) {
			EXPECT_EQ(SPT_LOAD_PREDICTED, ops[i].out_status);
			EXPECT_EQ(SPT_FAULT_RSVD, ops[i].out_fault);
		}
		/* Clearing needs no flag. */
		ASSERT_EQ(0, entry_bits(fd, self->id, 0, lv, LV_A, SZ_4K, 0,
					SPT_BITS_RSVD, &o));
		EXPECT_EQ(0, o.out_bits & (SPT_BITS_RSVD | (1ULL << 58)));
		ops[0].out_status = 0;
		ASSERT_EQ(0, _spt_load(fd, self->id, ops, 1, &l));
		EXPECT_EQ(SPT_LOAD_OK, ops[0].out_status);
		EXPECT_EQ(0, ops[0].out_fault);
	}
	test_check();
}

/*
 * The core's own operations keep the bits coherent: a map below an entry
 * with W cleared works (and the page is read-only to the MMU); an unmap
 * that frees the node drops the entry and its bits; PROTECT keeps the
 * deliberate bits of leaves.
 */
TEST_F(levels, core_ops_coherent)
{
	int fd = self->env.fd;
	struct spt_entry_bits o;
	struct spt_load_op op = {
		.op = SPT_LOAD_OP_WRITE, .width = 8, .va = LV_A + SZ_64K,
	};
	struct spt_load l;
	__u64 n;

	ASSERT_EQ(0, entry_bits(fd, self->id, 0, 2, LV_A, SZ_4K, 0,
				SPT_BITS_W, &o));
	EXPECT_EQ(1, o.out_changed);
	ASSERT_EQ(0, _spt_map(fd, self->id, SPT_MAP_4K, LV_A + SZ_64K, SZ_4K,
			      0, SPT_PROT_WRITE, 0, NULL));
	test_check();
	ASSERT_EQ(0, _spt_load(fd, self->id, &op, 1, &l));
	EXPECT_EQ(SPT_LOAD_FAULT, op.out_status);
	EXPECT_EQ(SPT_FAULT_READ_ONLY, op.out_fault);
	/* PROTECT keeps the leaf's deliberate bits. */
	ASSERT_EQ(0, entry_bits(fd, self->id, 0, 1, LV_A, SZ_4K,
				0x3ULL << 52, 0, &o));
	ASSERT_EQ(0, _spt_protect(fd, self->id, 0, LV_A, SZ_4K,
				  SPT_PROT_WRITE | SPT_PROT_EXEC, 0, &n, NULL));
	ASSERT_EQ(0, entry_bits(fd, self->id, 0, 1, LV_A, SZ_4K, 0, 0, &o));
	EXPECT_EQ(0x3ULL << 52, o.out_bits & SPT_BITS_AVL);
	EXPECT_NE(0, o.out_bits & (1ULL << 58));
	test_check();
	/* Unmap everything below the level-2 entry: the node goes. */
	ASSERT_EQ(0, _spt_unmap(fd, self->id, LV_A, SZ_2M, &n, NULL));
	test_check();
	ASSERT_EQ(0, entry_bits(fd, self->id, 0, 2, LV_A, SZ_4K, 0, 0, &o));
	EXPECT_EQ(0, o.out_entries);
	/* A new map gets a fully permissive entry. */
	ASSERT_EQ(0, _spt_map(fd, self->id, SPT_MAP_4K, LV_A, SZ_4K, 0,
			      SPT_PROT_WRITE, 0, NULL));
	ASSERT_EQ(0, entry_bits(fd, self->id, 0, 2, LV_A, SZ_4K, 0, 0, &o));
	EXPECT_EQ(1, o.out_entries);
	EXPECT_EQ(SPT_BITS_W | SPT_BITS_U,
		  o.out_bits & (SPT_BITS_W | SPT_BITS_U | SPT_BITS_NX |
				(1ULL << 58)));
	op.va = LV_A;
	op.out_status = 0;
	op.out_fault = 0;
	ASSERT_EQ(0, _spt_load(fd, self->id, &op, 1, &l));
	EXPECT_EQ(SPT_LOAD_OK, op.out_status);
	test_check();
}

/* A huge leaf split by a partial PROTECT keeps its deliberate bits. */
TEST_F(levels, huge_leaf_split)
{
	int fd = self->env.fd;
	__u64 va = LV_A + 0x10000000ULL, n;
	struct spt_entry_bits o;

	if (_spt_map(fd, self->id, SPT_MAP_2M, va, SZ_2M, 0, SPT_PROT_WRITE,
		     0, NULL))
		SKIP(return, "no 2 MiB frame");
	ASSERT_EQ(0, entry_bits(fd, self->id, 0, 2, va, SZ_2M,
				(0x21ULL << 52) | SPT_BITS_PWT, 0, &o));
	EXPECT_EQ(1, o.out_entries);
	test_check();
	ASSERT_EQ(0, _spt_protect(fd, self->id, 0, va, SZ_4K, 0, 0, &n,
				  NULL));
	test_check();
	ASSERT_EQ(0, entry_bits(fd, self->id, 0, 1, va, SZ_2M, 0, 0, &o));
	EXPECT_EQ(512, o.out_entries);
	EXPECT_EQ((0x21ULL << 52) | SPT_BITS_PWT,
		  o.out_bits & (SPT_BITS_AVL | SPT_BITS_PWT));
}

/* The mini assembler of shadowpt_run_test.c, the two instructions needed. */
struct code {
	uint8_t b[64];
	size_t n;
};

static void emit(struct code *c, const void *p, size_t n)
{
	memcpy(c->b + c->n, p, n);
	c->n += n;
}

#define RUN_CODE	0x10000000000ULL
#define RUN_STACK	(RUN_CODE + 0x20000)
#define RUN_DATA	(RUN_CODE + SZ_1G)	/* its own level-3 entry */

/* mov $va, %rbx; mov (%rbx), %rax; syscall */
static void user_read(struct __test_metadata *_metadata, int fd, __u32 id,
		      __u64 va, struct spt_user_run *r)
{
	struct code c = { .n = 0 };
	const uint8_t mov[] = { 0x48, 0xbb };
	const uint8_t load[] = { 0x48, 0x8b, 0x03, 0x0f, 0x05 };

	emit(&c, mov, sizeof(mov));
	emit(&c, &va, 8);
	emit(&c, load, sizeof(load));
	ASSERT_EQ(0, _spt_rw(fd, id, SPT_RW_WRITE, RUN_CODE, c.b, c.n, NULL));
	memset(r, 0, sizeof(*r));
	r->size = sizeof(*r);
	r->space_id = id;
	r->rip = RUN_CODE;
	r->regs[SPT_REG_RSP] = RUN_STACK + 0x1000;
	ASSERT_EQ(0, ioctl(fd, SPT_IOCTL_RUN, r));
}

/* Ring 3: U cleared at level 3, then a reserved bit at level 2. */
TEST_F(levels, ring3_run)
{
	int fd = self->env.fd;
	struct spt_entry_bits o;
	struct spt_user_run r;

	if (spt_env_param(&self->env, "allow_runs", "1"))
		SKIP(return, "cannot set allow_runs");
	ASSERT_EQ(0, _spt_map(fd, self->id, SPT_MAP_4K, RUN_CODE, SZ_4K, 0,
			      SPT_PROT_USER | SPT_PROT_EXEC, 0, NULL));
	ASSERT_EQ(0, _spt_map(fd, self->id, SPT_MAP_4K, RUN_STACK, SZ_4K, 0,
			      SPT_PROT_USER | SPT_PROT_WRITE, 0, NULL));
	ASSERT_EQ(0, _spt_map(fd, self->id, SPT_MAP_4K, RUN_DATA, SZ_4K, 0,
			      SPT_PROT_USER | SPT_PROT_WRITE, 0, NULL));
	user_read(_metadata, fd, self->id, RUN_DATA, &r);
	EXPECT_EQ(SPT_RUN_EXIT_SYSCALL, r.out_reason);

	ASSERT_EQ(0, entry_bits(fd, self->id, 0, 3, RUN_DATA, SZ_4K, 0,
				SPT_BITS_U, &o));
	EXPECT_EQ(1, o.out_changed);
	user_read(_metadata, fd, self->id, RUN_DATA, &r);
	TH_LOG("U clear at level 3: reason %u vector %u ec 0x%llx fault 0x%x",
	       r.out_reason, r.out_vector,
	       (unsigned long long)r.out_error_code, r.out_fault);
	EXPECT_EQ(SPT_RUN_EXIT_EXCEPTION, r.out_reason);
	EXPECT_EQ(14, r.out_vector);
	EXPECT_EQ(PF_P | PF_U, r.out_error_code & 0x1f);
	EXPECT_EQ(RUN_DATA, r.out_cr2);
	EXPECT_EQ(SPT_FAULT_SUPERVISOR, r.out_fault);
	ASSERT_EQ(0, entry_bits(fd, self->id, 0, 3, RUN_DATA, SZ_4K,
				SPT_BITS_U, 0, &o));
	user_read(_metadata, fd, self->id, RUN_DATA, &r);
	EXPECT_EQ(SPT_RUN_EXIT_SYSCALL, r.out_reason);

	if (entry_bits(fd, self->id, SPT_ENTRY_BITS_RSVD, 2, RUN_DATA, SZ_4K,
		       SPT_BITS_RSVD, 0, &o)) {
		ASSERT_EQ(EOPNOTSUPP, errno);
		return;
	}
	user_read(_metadata, fd, self->id, RUN_DATA, &r);
	TH_LOG("reserved bit at level 2: reason %u vector %u ec 0x%llx fault 0x%x",
	       r.out_reason, r.out_vector,
	       (unsigned long long)r.out_error_code, r.out_fault);
	EXPECT_EQ(SPT_RUN_EXIT_EXCEPTION, r.out_reason);
	EXPECT_EQ(14, r.out_vector);
	/* P too on hardware; TCG leaves it clear. */
	EXPECT_EQ(PF_U | PF_RSVD, r.out_error_code & (PF_U | PF_RSVD | PF_W));
	EXPECT_EQ(SPT_FAULT_RSVD, r.out_fault);
	test_check();
	ASSERT_EQ(0, entry_bits(fd, self->id, 0, 2, RUN_DATA, SZ_4K, 0,
				SPT_BITS_RSVD, &o));
	user_read(_metadata, fd, self->id, RUN_DATA, &r);
	EXPECT_EQ(SPT_RUN_EXIT_SYSCALL, r.out_reason);
}

TEST_HARNESS_MAIN
