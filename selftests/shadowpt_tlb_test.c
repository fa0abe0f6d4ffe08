// SPDX-License-Identifier: GPL-2.0
/*
 * TLB experiments in load windows: INVLPG, FLUSH and NOFLUSH changes.
 *
 * What the architecture guarantees is asserted (after INVLPG or FLUSH a
 * change takes effect: a fault, or the new frame); what it allows either
 * way (an access to a page changed with NOFLUSH and not invalidated since)
 * is accepted both ways and logged, never a third outcome, and never a
 * walker mismatch. Also with another thread changing the same space.
 */
#include <pthread.h>
#include <stdbool.h>
#include <stdio.h>
#include <string.h>
#include <sys/ioctl.h>
#include <linux/shadowpt.h>

#include "kselftest_harness.h"
#include "shadowpt_utils.h"

#define TLB_VA		(SPT_TEST_VA + 0x40000000ULL)
#define TLB_VA_B	(TLB_VA + SZ_2M)

FIXTURE(tlb)
{
	struct spt_env env;
	__u32 id;
};

FIXTURE_SETUP(tlb)
{
	spt_env_setup(_metadata, &self->env);
	ASSERT_EQ(0, spt_env_create(_metadata, &self->env, 0, &self->id));
}

FIXTURE_TEARDOWN(tlb)
{
	spt_env_teardown(_metadata, &self->env);
}

static int run(struct spt_env *env, __u32 id, struct spt_load_op *ops,
	       __u32 nr)
{
	struct spt_load l;

	if (_spt_load(env->fd, id, ops, nr, &l))
		return -errno;
	return l.out_ops_run == nr ? 0 : -ETIMEDOUT;
}

static bool cpu_has(const char *flag)
{
	char line[4096], *p;
	size_t n = strlen(flag);
	bool ret = false;
	FILE *f = fopen("/proc/cpuinfo", "r");

	if (!f)
		return false;
	while (!ret && fgets(line, sizeof(line), f)) {
		if (strncmp(line, "flags", 5))
			continue;
		for (p = strstr(line, flag); p; p = strstr(p + 1, flag))
			if (p[-1] == ' ' && (p[n] == ' ' || p[n] == '\n'))
				ret = true;
		break;
	}
	fclose(f);
	return ret;
}

#define W(va_, v_) { .op = SPT_LOAD_OP_WRITE, .width = 8, .va = (va_), \
		     .value = (v_) }
#define R(va_) { .op = SPT_LOAD_OP_READ, .width = 8, .va = (va_) }
#define INVLPG(va_) { .op = SPT_LOAD_OP_INVLPG, .va = (va_) }
#define FLUSH(m_) { .op = SPT_LOAD_OP_FLUSH, .value = (m_) }

/* No op of the program saw the walker disagree with the MMU. */
static void expect_no_mismatch(struct __test_metadata *_metadata,
			       const struct spt_load_op *ops, __u32 nr)
{
	__u32 i;

	for (i = 0; i < nr; i++)
		EXPECT_EQ(0, ops[i].out_fault & SPT_FAULT_MISMATCH);
}

/*
 * PROTECT read-only with NOFLUSH: a write before the INVLPG may go
 * through the stale writable translation or fault; after it, it faults.
 */
TEST_F(tlb, noflush_protect_then_invlpg)
{
	struct spt_load_op ops[] = {
		W(TLB_VA, 1),
		{ .op = SPT_LOAD_OP_PROTECT, .va = TLB_VA, .length = SZ_4K,
		  .flags = SPT_LOAD_OP_F_NOFLUSH },
		W(TLB_VA, 2),
		INVLPG(TLB_VA),
		W(TLB_VA, 3),
		R(TLB_VA),
	};
	__u64 v = 0;

	test_cmd_map(self->id, SPT_MAP_4K, TLB_VA, SZ_4K, 0, SPT_PROT_WRITE);
	ASSERT_EQ(0, run(&self->env, self->id, ops, ARRAY_SIZE(ops)));
	expect_no_mismatch(_metadata, ops, ARRAY_SIZE(ops));
	EXPECT_EQ(SPT_LOAD_OK, ops[0].out_status);
	EXPECT_EQ(SPT_LOAD_OK, ops[1].out_status);
	EXPECT_EQ(1, ops[1].out_value);
	/* Stale (the write went through) or fresh (it faulted). */
	if (ops[2].out_status == SPT_LOAD_OK) {
		EXPECT_EQ(SPT_FAULT_READ_ONLY | SPT_FAULT_STALE,
			  ops[2].out_fault);
		EXPECT_EQ(2, ops[5].out_value);
		TH_LOG("before INVLPG: stale translation, write went through");
	} else {
		EXPECT_EQ(SPT_LOAD_FAULT, ops[2].out_status);
		EXPECT_EQ(SPT_FAULT_READ_ONLY, ops[2].out_fault);
		EXPECT_EQ(1, ops[5].out_value);
		TH_LOG("before INVLPG: the write faulted already");
	}
	EXPECT_EQ(SPT_LOAD_OK, ops[3].out_status);
	EXPECT_EQ(SPT_LOAD_FAULT, ops[4].out_status);
	EXPECT_EQ(SPT_FAULT_READ_ONLY, ops[4].out_fault);
	EXPECT_EQ(SPT_LOAD_OK, ops[5].out_status);
	/* What the window wrote is what software reads. */
	test_cmd_rw(self->id, 0, TLB_VA, &v, sizeof(v));
	EXPECT_EQ(ops[5].out_value, v);
	test_cmd_check(self->id);
}

/*
 * UNMAP with NOFLUSH: a read before the INVLPG sees the old frame or
 * faults; after it, it faults.
 */
TEST_F(tlb, noflush_unmap_then_invlpg)
{
	struct spt_load_op ops[] = {
		W(TLB_VA, 0x1111),
		{ .op = SPT_LOAD_OP_UNMAP, .va = TLB_VA, .length = SZ_4K,
		  .flags = SPT_LOAD_OP_F_NOFLUSH },
		R(TLB_VA),
		INVLPG(TLB_VA),
		R(TLB_VA),
	};

	if (spt_env_allow_phys(&self->env))
		SKIP(return, "cannot set allow_phys");
	test_cmd_map(self->id, SPT_MAP_4K, TLB_VA, SZ_4K, 0, SPT_PROT_WRITE);
	ASSERT_EQ(0, run(&self->env, self->id, ops, ARRAY_SIZE(ops)));
	expect_no_mismatch(_metadata, ops, ARRAY_SIZE(ops));
	EXPECT_EQ(SPT_LOAD_OK, ops[1].out_status);
	EXPECT_EQ(1, ops[1].out_value);
	if (ops[2].out_status == SPT_LOAD_OK) {
		EXPECT_EQ(0x1111, ops[2].out_value);
		EXPECT_EQ(SPT_FAULT_NOT_PRESENT | SPT_FAULT_STALE,
			  ops[2].out_fault);
		TH_LOG("before INVLPG: stale translation to the old frame");
	} else {
		EXPECT_EQ(SPT_LOAD_FAULT, ops[2].out_status);
		EXPECT_EQ(SPT_FAULT_NOT_PRESENT, ops[2].out_fault);
		TH_LOG("before INVLPG: the read faulted already");
	}
	EXPECT_EQ(SPT_LOAD_FAULT, ops[4].out_status);
	EXPECT_EQ(SPT_FAULT_NOT_PRESENT, ops[4].out_fault);
	test_cmd_check(self->id);
}

/*
 * UNMAP and MAP again with NOFLUSH: before the FLUSH a read gets the old
 * frame's value or the new frame's, nothing else; after it the new one.
 */
TEST_F(tlb, noflush_remap_then_flush)
{
	struct spt_load_op ops[] = {
		W(TLB_VA, 0x1111),
		R(TLB_VA + SZ_4K),
		{ .op = SPT_LOAD_OP_UNMAP, .va = TLB_VA, .length = 2 * SZ_4K,
		  .flags = SPT_LOAD_OP_F_NOFLUSH },
		{ .op = SPT_LOAD_OP_MAP, .va = TLB_VA, .length = 2 * SZ_4K,
		  .prot = SPT_PROT_WRITE, .flags = SPT_LOAD_OP_F_NOFLUSH },
		R(TLB_VA),
		FLUSH(SPT_LOAD_FLUSH_CR3),
		R(TLB_VA),
		W(TLB_VA, 0x2222),
		R(TLB_VA),
	};
	__u64 v = 0;

	if (spt_env_allow_phys(&self->env))
		SKIP(return, "cannot set allow_phys");
	test_cmd_map(self->id, SPT_MAP_4K, TLB_VA, 2 * SZ_4K, 0,
		     SPT_PROT_WRITE);
	ASSERT_EQ(0, run(&self->env, self->id, ops, ARRAY_SIZE(ops)));
	expect_no_mismatch(_metadata, ops, ARRAY_SIZE(ops));
	EXPECT_EQ(SPT_LOAD_OK, ops[2].out_status);
	EXPECT_EQ(2, ops[2].out_value);
	EXPECT_EQ(SPT_LOAD_OK, ops[3].out_status);
	EXPECT_EQ(2, ops[3].out_value);
	EXPECT_EQ(SPT_LOAD_OK, ops[4].out_status);
	EXPECT_EQ(SPT_LOAD_OK, ops[5].out_status);
	EXPECT_EQ(SPT_LOAD_FLUSH_CR3, ops[5].out_value);
	EXPECT_EQ(SPT_LOAD_OK, ops[6].out_status);
	/* The new frame is not the old one: it never held 0x1111. */
	EXPECT_NE(0x1111, ops[6].out_value);
	if (ops[4].out_value == 0x1111) {
		TH_LOG("before FLUSH: stale translation to the old frame");
	} else {
		EXPECT_EQ(ops[6].out_value, ops[4].out_value);
	}
	EXPECT_EQ(0x2222, ops[8].out_value);
	test_cmd_rw(self->id, 0, TLB_VA, &v, sizeof(v));
	EXPECT_EQ(0x2222, v);
	test_cmd_check(self->id);
}

/* MAP with NOFLUSH over nothing: either way the page is usable after. */
TEST_F(tlb, noflush_map_then_invlpg)
{
	struct spt_load_op ops[] = {
		R(TLB_VA),
		{ .op = SPT_LOAD_OP_MAP, .va = TLB_VA, .length = SZ_4K,
		  .prot = SPT_PROT_WRITE, .flags = SPT_LOAD_OP_F_NOFLUSH },
		W(TLB_VA, 5),
		INVLPG(TLB_VA),
		W(TLB_VA, 6),
		R(TLB_VA),
	};

	ASSERT_EQ(0, run(&self->env, self->id, ops, ARRAY_SIZE(ops)));
	expect_no_mismatch(_metadata, ops, ARRAY_SIZE(ops));
	EXPECT_EQ(SPT_LOAD_FAULT, ops[0].out_status);
	EXPECT_EQ(SPT_LOAD_OK, ops[1].out_status);
	if (ops[2].out_status != SPT_LOAD_OK) {
		EXPECT_EQ(SPT_LOAD_FAULT, ops[2].out_status);
		EXPECT_EQ(SPT_FAULT_STALE, ops[2].out_fault);
		TH_LOG("before INVLPG: the absent entry was still used");
	}
	EXPECT_EQ(SPT_LOAD_OK, ops[4].out_status);
	EXPECT_EQ(6, ops[5].out_value);
	test_cmd_check(self->id);
}

/* A change without NOFLUSH reloads CR3: nothing stays pending. */
TEST_F(tlb, flushing_change_ends_pending)
{
	struct spt_load_op ops[] = {
		W(TLB_VA, 1),
		{ .op = SPT_LOAD_OP_PROTECT, .va = TLB_VA, .length = SZ_4K,
		  .flags = SPT_LOAD_OP_F_NOFLUSH },
		{ .op = SPT_LOAD_OP_PROTECT, .va = TLB_VA_B, .length = SZ_4K },
		W(TLB_VA, 2),
	};

	test_cmd_map(self->id, SPT_MAP_4K, TLB_VA, SZ_4K, 0, SPT_PROT_WRITE);
	test_cmd_map(self->id, SPT_MAP_4K, TLB_VA_B, SZ_4K, 0,
		     SPT_PROT_WRITE);
	ASSERT_EQ(0, run(&self->env, self->id, ops, ARRAY_SIZE(ops)));
	expect_no_mismatch(_metadata, ops, ARRAY_SIZE(ops));
	EXPECT_EQ(SPT_LOAD_FAULT, ops[3].out_status);
	EXPECT_EQ(SPT_FAULT_READ_ONLY, ops[3].out_fault);
}

/* INVLPG splits a pending range: the other pages stay pending. */
TEST_F(tlb, invlpg_one_page_of_a_range)
{
	struct spt_load_op ops[] = {
		W(TLB_VA, 1),
		W(TLB_VA + SZ_4K, 1),
		W(TLB_VA + 2 * SZ_4K, 1),
		{ .op = SPT_LOAD_OP_PROTECT, .va = TLB_VA, .length = 3 * SZ_4K,
		  .flags = SPT_LOAD_OP_F_NOFLUSH },
		INVLPG(TLB_VA + SZ_4K),
		W(TLB_VA + SZ_4K, 2),
		W(TLB_VA, 2),
		W(TLB_VA + 2 * SZ_4K, 2),
		FLUSH(SPT_LOAD_FLUSH_CR3),
		W(TLB_VA, 3),
		W(TLB_VA + 2 * SZ_4K, 3),
	};
	unsigned int i;

	test_cmd_map(self->id, SPT_MAP_4K, TLB_VA, 3 * SZ_4K, 0,
		     SPT_PROT_WRITE);
	ASSERT_EQ(0, run(&self->env, self->id, ops, ARRAY_SIZE(ops)));
	expect_no_mismatch(_metadata, ops, ARRAY_SIZE(ops));
	EXPECT_EQ(SPT_LOAD_FAULT, ops[5].out_status);
	EXPECT_EQ(SPT_FAULT_READ_ONLY, ops[5].out_fault);
	for (i = 6; i <= 7; i++) {
		if (ops[i].out_status == SPT_LOAD_OK) {
			EXPECT_EQ(SPT_FAULT_READ_ONLY | SPT_FAULT_STALE,
				  ops[i].out_fault);
		} else {
			EXPECT_EQ(SPT_FAULT_READ_ONLY, ops[i].out_fault);
		}
	}
	EXPECT_EQ(SPT_LOAD_FAULT, ops[9].out_status);
	EXPECT_EQ(SPT_LOAD_FAULT, ops[10].out_status);
}

TEST_F(tlb, flush_methods)
{
	struct spt_load_op ops[] = {
		W(TLB_VA, 1),
		{ .op = SPT_LOAD_OP_UNMAP, .va = TLB_VA, .length = SZ_4K },
		FLUSH(SPT_LOAD_FLUSH_INVPCID_SINGLE),
	};
	struct spt_load_op all[] = { FLUSH(SPT_LOAD_FLUSH_INVPCID_ALL) };
	struct spt_load_op cr3[] = { FLUSH(SPT_LOAD_FLUSH_CR3) };
	struct spt_query_entry e;

	test_cmd_map(self->id, SPT_MAP_4K, TLB_VA, SZ_4K, 0, SPT_PROT_WRITE);
	ASSERT_EQ(0, run(&self->env, self->id, cr3, 1));
	EXPECT_EQ(SPT_LOAD_OK, cr3[0].out_status);
	EXPECT_EQ(SPT_LOAD_FLUSH_CR3, cr3[0].out_value);
	if (cpu_has("invpcid")) {
		ASSERT_EQ(0, run(&self->env, self->id, ops, 3));
		EXPECT_EQ(SPT_LOAD_OK, ops[2].out_status);
		EXPECT_EQ(SPT_LOAD_FLUSH_INVPCID_SINGLE, ops[2].out_value);
		ASSERT_EQ(0, run(&self->env, self->id, all, 1));
		EXPECT_EQ(SPT_LOAD_FLUSH_INVPCID_ALL, all[0].out_value);
		return;
	}
	TH_LOG("no INVPCID: both INVPCID methods refused");
	EXPECT_EQ(-EOPNOTSUPP, run(&self->env, self->id, ops, 3));
	EXPECT_EQ(SPT_LOAD_NOT_RUN, ops[0].out_status);
	EXPECT_EQ(-EOPNOTSUPP, run(&self->env, self->id, all, 1));
	/* Nothing ran: the UNMAP before the FLUSH did not happen. */
	test_cmd_query(self->id, TLB_VA, &e);
	EXPECT_NE(0, e.flags & SPT_QUERY_MAPPED);
	EXPECT_EQ(0, e.prot & SPT_PROT_DIRTY);
}

TEST_F(tlb, bad_ops)
{
	static const struct spt_load_op bad[] = {
		{ .op = SPT_LOAD_OP_READ, .width = 8, .va = TLB_VA,
		  .flags = SPT_LOAD_OP_F_NOFLUSH },
		{ .op = SPT_LOAD_OP_WRITE, .width = 8, .va = TLB_VA,
		  .flags = SPT_LOAD_OP_F_NOFLUSH },
		{ .op = SPT_LOAD_OP_FETCH, .va = TLB_VA,
		  .flags = SPT_LOAD_OP_F_NOFLUSH },
		{ .op = SPT_LOAD_OP_INVLPG, .va = TLB_VA,
		  .flags = SPT_LOAD_OP_F_NOFLUSH },
		{ .op = SPT_LOAD_OP_FLUSH, .flags = SPT_LOAD_OP_F_NOFLUSH },
		{ .op = SPT_LOAD_OP_PROTECT, .va = TLB_VA, .length = SZ_4K,
		  .flags = 1U << 7 },
		{ .op = SPT_LOAD_OP_UNMAP, .va = TLB_VA, .length = SZ_4K,
		  .flags = 1U << 8 },
		{ .op = SPT_LOAD_OP_INVLPG, .va = TLB_VA, .width = 8 },
		{ .op = SPT_LOAD_OP_INVLPG, .va = TLB_VA, .value = 1 },
		{ .op = SPT_LOAD_OP_INVLPG, .va = TLB_VA, .length = SZ_4K },
		{ .op = SPT_LOAD_OP_INVLPG, .va = TLB_VA, .prot = 1 },
		{ .op = SPT_LOAD_OP_INVLPG, .va = 1ULL << 57 },
		{ .op = SPT_LOAD_OP_FLUSH, .va = TLB_VA },
		{ .op = SPT_LOAD_OP_FLUSH, .value = 3 },
		{ .op = SPT_LOAD_OP_FLUSH, .length = SZ_4K },
		{ .op = SPT_LOAD_OP_FLUSH, .width = 1 },
		{ .op = SPT_LOAD_OP_AD_READ + 1 },
		{ .op = 0x7fffffff },
		{ .op = SPT_LOAD_OP_AD_CLEAR, .va = TLB_VA, .length = SZ_4K },
		{ .op = SPT_LOAD_OP_AD_CLEAR, .va = TLB_VA, .value = 1 },
		{ .op = SPT_LOAD_OP_AD_READ, .va = TLB_VA, .width = 8 },
		{ .op = SPT_LOAD_OP_AD_READ, .va = TLB_VA, .prot = 1 },
		{ .op = SPT_LOAD_OP_AD_READ, .va = 1ULL << 57 },
		{ .op = SPT_LOAD_OP_AD_CLEAR, .va = TLB_VA,
		  .flags = SPT_LOAD_OP_F_NOFLUSH },
		{ .op = SPT_LOAD_OP_AD_READ, .va = TLB_VA,
		  .flags = SPT_LOAD_OP_F_TIMED },
		{ .op = SPT_LOAD_OP_UNMAP, .va = TLB_VA, .length = SZ_4K,
		  .flags = SPT_LOAD_OP_F_TIMED },
		{ .op = SPT_LOAD_OP_PROTECT, .va = TLB_VA, .length = SZ_4K,
		  .flags = SPT_LOAD_OP_F_TIMED },
		{ .op = SPT_LOAD_OP_MAP, .va = TLB_VA_B, .length = SZ_4K,
		  .flags = SPT_LOAD_OP_F_TIMED },
		{ .op = SPT_LOAD_OP_INVLPG, .va = TLB_VA,
		  .flags = SPT_LOAD_OP_F_TIMED },
		{ .op = SPT_LOAD_OP_FLUSH, .flags = SPT_LOAD_OP_F_TIMED },
		{ .op = SPT_LOAD_OP_READ, .width = 8, .va = TLB_VA,
		  .flags = 1U << 2 },
	};
	struct spt_query_entry e;
	unsigned int i;

	test_cmd_map(self->id, SPT_MAP_4K, TLB_VA, SZ_4K, 0, SPT_PROT_WRITE);
	for (i = 0; i < ARRAY_SIZE(bad); i++) {
		struct spt_load_op ops[] = {
			{ .op = SPT_LOAD_OP_UNMAP, .va = TLB_VA,
			  .length = SZ_4K },
			bad[i],
		};

		EXPECT_EQ(-EINVAL, run(&self->env, self->id, ops, 2))
			TH_LOG("bad op %u", i);
		EXPECT_EQ(SPT_LOAD_NOT_RUN, ops[0].out_status);
		test_cmd_query(self->id, TLB_VA, &e);
		EXPECT_NE(0, e.flags & SPT_QUERY_MAPPED);
	}
}

/* NOFLUSH UNMAP without the permission to map untracked memory. */
TEST_F(tlb, noflush_unmap_needs_phys_permission)
{
	struct spt_load_op ops[] = {
		{ .op = SPT_LOAD_OP_PROTECT, .va = TLB_VA, .length = SZ_4K,
		  .flags = SPT_LOAD_OP_F_NOFLUSH },
		{ .op = SPT_LOAD_OP_UNMAP, .va = TLB_VA, .length = SZ_4K,
		  .flags = SPT_LOAD_OP_F_NOFLUSH },
	};
	struct spt_query_entry e;

	if (spt_env_param(&self->env, "allow_phys", "0"))
		SKIP(return, "cannot set allow_phys");
	test_cmd_map(self->id, SPT_MAP_4K, TLB_VA, SZ_4K, 0, SPT_PROT_WRITE);
	EXPECT_EQ(-EPERM, run(&self->env, self->id, ops, 2));
	EXPECT_EQ(SPT_LOAD_NOT_RUN, ops[0].out_status);
	test_cmd_query(self->id, TLB_VA, &e);
	EXPECT_NE(0, e.flags & SPT_QUERY_MAPPED);
	EXPECT_NE(0, e.prot & SPT_PROT_WRITE);
	/* PROTECT and MAP with NOFLUSH need no permission. */
	EXPECT_EQ(0, run(&self->env, self->id, ops, 1));
	EXPECT_EQ(SPT_LOAD_OK, ops[0].out_status);
}

#define ADC(va_) { .op = SPT_LOAD_OP_AD_CLEAR, .va = (va_) }
#define ADR(va_) { .op = SPT_LOAD_OP_AD_READ, .va = (va_) }
#define AD (SPT_PROT_ACCESSED | SPT_PROT_DIRTY)

/*
 * AD_CLEAR's INVLPG counts as one: after a NOFLUSH PROTECT read-only, a
 * write before it may be stale, a write after it faults and is not stale.
 */
TEST_F(tlb, noflush_protect_then_ad_clear)
{
	struct spt_load_op ops[] = {
		W(TLB_VA, 1),
		{ .op = SPT_LOAD_OP_PROTECT, .va = TLB_VA, .length = SZ_4K,
		  .flags = SPT_LOAD_OP_F_NOFLUSH },
		W(TLB_VA, 2),
		ADC(TLB_VA),
		W(TLB_VA, 3),
		ADR(TLB_VA),
		R(TLB_VA),
	};

	test_cmd_map(self->id, SPT_MAP_4K, TLB_VA, SZ_4K, 0, SPT_PROT_WRITE);
	ASSERT_EQ(0, run(&self->env, self->id, ops, ARRAY_SIZE(ops)));
	expect_no_mismatch(_metadata, ops, ARRAY_SIZE(ops));
	EXPECT_EQ(SPT_LOAD_OK, ops[3].out_status);
	EXPECT_EQ(SPT_LOAD_FAULT, ops[4].out_status);
	EXPECT_EQ(SPT_FAULT_READ_ONLY, ops[4].out_fault);
	/* The faulting write set nothing; the read sets A again. */
	EXPECT_EQ(SPT_LOAD_OK, ops[5].out_status);
	EXPECT_EQ(0, ops[5].out_value & SPT_PROT_DIRTY);
	EXPECT_EQ(SPT_LOAD_OK, ops[6].out_status);
	EXPECT_EQ(ops[2].out_status == SPT_LOAD_OK ? 2 : 1,
		  ops[6].out_value);
	test_cmd_check(self->id);
}

/* A/D cleared, then set again as the accesses imply; 4K and 2M leaves. */
TEST_F(tlb, ad_clear_then_access)
{
	__u64 big = TLB_VA + SZ_1G;
	struct spt_load_op ops[] = {
		W(TLB_VA, 1),
		ADC(TLB_VA),
		ADR(TLB_VA),
		R(TLB_VA),
		ADR(TLB_VA),
		W(TLB_VA, 2),
		ADR(TLB_VA),
		ADC(TLB_VA),
		ADR(TLB_VA),
		W(big + SZ_4K, 3),
		ADC(big + 5 * SZ_4K),
		ADR(big),
		R(big + 9 * SZ_4K),
		ADR(big + SZ_4K),
		ADR(TLB_VA_B),
		ADC(TLB_VA_B),
	};
	struct spt_query_entry e;

	test_cmd_map(self->id, SPT_MAP_4K, TLB_VA, SZ_4K, 0, SPT_PROT_WRITE);
	test_cmd_map(self->id, SPT_MAP_2M, big, SZ_2M, 0, SPT_PROT_WRITE);
	ASSERT_EQ(0, run(&self->env, self->id, ops, ARRAY_SIZE(ops)));
	expect_no_mismatch(_metadata, ops, ARRAY_SIZE(ops));
	EXPECT_EQ(SPT_LOAD_OK, ops[1].out_status);
	EXPECT_EQ(AD, ops[1].out_value);	/* what the write left */
	EXPECT_EQ(0, ops[2].out_value);
	EXPECT_EQ(SPT_PROT_ACCESSED, ops[4].out_value);
	EXPECT_EQ(AD, ops[6].out_value);
	EXPECT_EQ(AD, ops[7].out_value);
	EXPECT_EQ(0, ops[8].out_value);
	/* The 2 MiB leaf: cleared as a whole, not split. */
	EXPECT_EQ(AD, ops[10].out_value);
	EXPECT_EQ(0, ops[11].out_value);
	EXPECT_EQ(SPT_PROT_ACCESSED, ops[13].out_value);
	/* Nothing mapped: ENXIO. */
	EXPECT_EQ(SPT_LOAD_ERROR, ops[14].out_status);
	EXPECT_EQ(ENXIO, ops[14].out_errno);
	EXPECT_EQ(SPT_LOAD_ERROR, ops[15].out_status);
	EXPECT_EQ(ENXIO, ops[15].out_errno);
	/* Software sees what the window left. */
	test_cmd_query(self->id, TLB_VA, &e);
	EXPECT_EQ(0, e.prot & AD);
	test_cmd_query(self->id, big, &e);
	EXPECT_EQ(2, e.level);
	EXPECT_EQ(SPT_PROT_ACCESSED, e.prot & AD);
	test_cmd_check(self->id);
}

/* TIMED accesses: non-zero cycles (no ratio is asserted under TCG). */
TEST_F(tlb, timed_accesses)
{
	struct spt_load_op ops[] = {
		{ .op = SPT_LOAD_OP_READ, .width = 8, .va = TLB_VA,
		  .flags = SPT_LOAD_OP_F_TIMED },
		{ .op = SPT_LOAD_OP_READ, .width = 8, .va = TLB_VA,
		  .flags = SPT_LOAD_OP_F_TIMED },
		{ .op = SPT_LOAD_OP_WRITE, .width = 8, .va = TLB_VA,
		  .value = 1, .flags = SPT_LOAD_OP_F_TIMED },
		{ .op = SPT_LOAD_OP_READ, .width = 8, .va = TLB_VA_B,
		  .flags = SPT_LOAD_OP_F_TIMED },
		{ .op = SPT_LOAD_OP_FETCH, .va = TLB_VA + SZ_4K,
		  .flags = SPT_LOAD_OP_F_TIMED },
		R(TLB_VA),
	};
	struct spt_load l;
	unsigned int i;

	if (!cpu_has("rdtscp"))
		SKIP(return, "no RDTSCP");
	test_cmd_map(self->id, SPT_MAP_4K, TLB_VA, SZ_4K, 0, SPT_PROT_WRITE);
	test_cmd_map(self->id, SPT_MAP_4K, TLB_VA + SZ_4K, SZ_4K, 0,
		     SPT_PROT_EXEC);
	for (i = 0; i < ARRAY_SIZE(ops); i++)
		ops[i].out_cycles = 12345;	/* overwritten */
	ASSERT_EQ(0, _spt_load(self->env.fd, self->id, ops, ARRAY_SIZE(ops),
			       &l));
	ASSERT_EQ(ARRAY_SIZE(ops), l.out_ops_run);
	for (i = 0; i < 5; i++)
		EXPECT_NE(0, ops[i].out_cycles) TH_LOG("op %u", i);
	/* Untimed: 0. A fault is timed too (the read of nothing). */
	EXPECT_EQ(0, ops[5].out_cycles);
	EXPECT_EQ(SPT_LOAD_FAULT, ops[3].out_status);
	EXPECT_EQ(SPT_LOAD_OK, ops[4].out_status);
	EXPECT_LT(0, l.out_tsc_khz);
	TH_LOG("read %llu then %llu cycles, write %llu, fault %llu, fetch %llu; tsc %u kHz",
	       (unsigned long long)ops[0].out_cycles,
	       (unsigned long long)ops[1].out_cycles,
	       (unsigned long long)ops[2].out_cycles,
	       (unsigned long long)ops[3].out_cycles,
	       (unsigned long long)ops[4].out_cycles, l.out_tsc_khz);
}

/* The window's CPU words agree with /proc/cpuinfo. */
TEST_F(tlb, cpu_features)
{
	static const struct {
		const char *flag;
		__u32 bit;
	} words[] = {
		{ "pcid", SPT_LOAD_CPU_PCID },
		{ "invpcid", SPT_LOAD_CPU_INVPCID },
		{ "smep", SPT_LOAD_CPU_SMEP },
		{ "smap", SPT_LOAD_CPU_SMAP },
		{ "la57", SPT_LOAD_CPU_LA57 },
		{ "pku", SPT_LOAD_CPU_PKU },
		{ "rdtscp", SPT_LOAD_CPU_RDTSCP },
	};
	struct spt_load_op ops[] = { FLUSH(SPT_LOAD_FLUSH_CR3) };
	struct spt_load l;
	unsigned int i;

	ASSERT_EQ(0, _spt_load(self->env.fd, self->id, ops, 1, &l));
	for (i = 0; i < ARRAY_SIZE(words); i++)
		EXPECT_EQ(cpu_has(words[i].flag),
			  !!(l.out_cpu_features & words[i].bit))
			TH_LOG("feature %u (SPT_LOAD_CPU_* bit)", i);
	EXPECT_EQ(0, l.out_cpu_features & ~((SPT_LOAD_CPU_RDTSCP << 1) - 1));
	TH_LOG("cpu features 0x%x", l.out_cpu_features);
}

/*
 * A caller of the first release (64-byte ops, 48-byte struct spt_load)
 * keeps working; TIMED needs room for out_cycles.
 */
TEST_F(tlb, first_release_sizes)
{
	struct {
		struct spt_load_op op;	/* only its first 64 bytes are sent */
	} buf[2];
	unsigned char *p = (unsigned char *)buf;
	struct spt_load_op *o0 = (struct spt_load_op *)p;
	struct spt_load_op *o1 = (struct spt_load_op *)(p + 64);
	struct spt_load l = {
		.size = offsetofend(struct spt_load, out_ns),
		.space_id = self->id, .nr_ops = 2, .op_size = 64,
		.ops = (uintptr_t)p,
	};

	test_cmd_map(self->id, SPT_MAP_4K, TLB_VA, SZ_4K, 0, SPT_PROT_WRITE);
	memset(buf, 0xee, sizeof(buf));
	memset(p, 0, 128);
	o0->op = SPT_LOAD_OP_WRITE;
	o0->width = 8;
	o0->va = TLB_VA;
	o0->value = 9;
	o1->op = SPT_LOAD_OP_READ;
	o1->width = 8;
	o1->va = TLB_VA;
	l.out_tsc_khz = 0xeeeeeeee;
	ASSERT_EQ(0, ioctl(self->env.fd, SPT_IOCTL_LOAD, &l));
	EXPECT_EQ(9, o1->out_value);
	/* Nothing past the 64-byte elements or the 48-byte struct. */
	EXPECT_EQ(0xee, p[128]);
	EXPECT_EQ(0xee, p[sizeof(buf) - 1]);
	EXPECT_EQ(0xeeeeeeee, l.out_tsc_khz);
	o1->flags = SPT_LOAD_OP_F_TIMED;
	EXPECT_EQ(-1, ioctl(self->env.fd, SPT_IOCTL_LOAD, &l));
	EXPECT_EQ(EINVAL, errno);
	l.op_size = offsetofend(struct spt_load_op, out_value) - 8;
	o1->flags = 0;
	EXPECT_EQ(-1, ioctl(self->env.fd, SPT_IOCTL_LOAD, &l));
	EXPECT_EQ(EINVAL, errno);
}

/* ---- another thread maps and unmaps in the same space ---- */

struct churn {
	int fd;
	__u32 id;
	volatile bool stop;
	unsigned long rounds;
};

static void *churn_fn(void *arg)
{
	struct churn *c = arg;
	__u64 va = TLB_VA_B;

	while (!c->stop) {
		struct spt_map m = {
			.size = sizeof(m), .flags = SPT_MAP_4K,
			.space_id = c->id, .prot = SPT_PROT_WRITE, .va = va,
			.length = 4 * SZ_4K,
		};
		struct spt_unmap u = {
			.size = sizeof(u), .space_id = c->id, .va = va,
			.length = 4 * SZ_4K,
		};

		ioctl(c->fd, SPT_IOCTL_MAP, &m);
		ioctl(c->fd, SPT_IOCTL_UNMAP, &u);
		c->rounds++;
	}
	return NULL;
}

TEST_F_TIMEOUT(tlb, noflush_with_other_thread, 300)
{
	struct churn c = { .fd = self->env.fd, .id = self->id };
	unsigned int round, stale = 0, fresh = 0;
	pthread_t th;

	test_cmd_map(self->id, SPT_MAP_4K, TLB_VA, SZ_4K, 0, SPT_PROT_WRITE);
	ASSERT_EQ(0, pthread_create(&th, NULL, churn_fn, &c));
	for (round = 0; round < 300; round++) {
		struct spt_load_op ops[] = {
			W(TLB_VA, round),
			R(TLB_VA_B),
			{ .op = SPT_LOAD_OP_PROTECT, .va = TLB_VA,
			  .length = SZ_4K, .flags = SPT_LOAD_OP_F_NOFLUSH },
			R(TLB_VA_B + SZ_4K),
			W(TLB_VA, round + 1),
			W(TLB_VA_B + 2 * SZ_4K, 9),
			INVLPG(TLB_VA),
			R(TLB_VA_B + 3 * SZ_4K),
			W(TLB_VA, round + 2),
			R(TLB_VA),
		};
		struct spt_protect p = {
			.size = sizeof(p), .space_id = self->id,
			.prot = SPT_PROT_WRITE, .va = TLB_VA, .length = SZ_4K,
		};
		unsigned int i;

		ASSERT_EQ(0, run(&self->env, self->id, ops,
				 ARRAY_SIZE(ops)));
		expect_no_mismatch(_metadata, ops, ARRAY_SIZE(ops));
		/* The other thread's pages: mapped or not, never stale. */
		for (i = 1; i <= 7; i += 2)
			EXPECT_EQ(0, ops[i].out_fault & SPT_FAULT_STALE);
		EXPECT_EQ(0, ops[5].out_fault & SPT_FAULT_STALE);
		if (ops[4].out_status == SPT_LOAD_OK) {
			stale++;
			EXPECT_EQ(round + 1, ops[9].out_value);
		} else {
			fresh++;
			EXPECT_EQ(SPT_LOAD_FAULT, ops[4].out_status);
			EXPECT_EQ(round, ops[9].out_value);
		}
		EXPECT_EQ(SPT_LOAD_FAULT, ops[8].out_status);
		EXPECT_EQ(SPT_FAULT_READ_ONLY, ops[8].out_fault);
		ASSERT_EQ(0, ioctl(self->env.fd, SPT_IOCTL_PROTECT, &p));
	}
	c.stop = true;
	pthread_join(th, NULL);
	TH_LOG("%u rounds: write before INVLPG stale %u, faulted %u; other thread %lu map/unmap rounds",
	       round, stale, fresh, c.rounds);
	test_cmd_check(self->id);
}

TEST_HARNESS_MAIN
