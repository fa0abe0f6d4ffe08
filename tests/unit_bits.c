// SPDX-License-Identifier: GPL-2.0
/*
 * Deliberate entry bits (spt_cursor_entry_bits, SPT_IOCTL_ENTRY_BITS): set
 * and clear at every level, on leaves and child entries; the mark kept in
 * line; the walkers' effective permission and reserved bit; the checker
 * accepts marked bits and still catches unmarked or misplaced ones; a
 * split keeps them, an unmap that frees the node drops them.
 */
#include <errno.h>

#include "testlib.h"
#include "core/lockless.h"
#include "core/pte.h"

#define SETTABLE	(SPT_PROT_WRITE | SPT_PROT_EXEC | SPT_PROT_USER)

#define MARK	(1ULL << 58)
#define AVL	(0x3fULL << 52)
#define RSVD	(1ULL << 51)
#define PKEY	(0xfULL << 59)

static bool check_fails(struct tenv *e, const char *what)
{
	char msg[256] = "";
	int ret;

	ret = spt_pt_check(&e->pt, e->ktop, true, tenv_handles_cb, e, msg,
			   sizeof(msg));
	if (!CHECKF(ret == -EUCLEAN, "%s: checker returned %d", what, ret))
		return false;
	tap_diag("%s: %s", what, msg);
	return true;
}

/* Apply at @level over [va, va + len); returns entries, changed. */
static void bits(struct tenv *e, unsigned int level, u64 va, u64 len,
		 u64 clear, u64 set, u64 *entries, u64 *changed)
{
	struct spt_bits_op op = {
		.level = level, .va = va, .end = va + len,
		.clear = clear, .set = set,
	};
	struct spt_cursor c;

	REQUIRE_EQ(spt_cursor_bits_new(&c, &e->pt, level, va, va + len,
				       &e->fl), 0);
	CHECK_EQ(spt_cursor_entry_bits(&c, &op), 0);
	spt_cursor_drop(&c);
	if (entries)
		*entries = op.entries;
	if (changed)
		*changed = op.changed;
}

/* The query of both walkers at @va: effective prot flags and rsvd. */
static void query(struct tenv *e, u64 va, u8 *flags, bool *rsvd)
{
	struct spt_query q1, q2;
	struct spt_cursor c;

	REQUIRE_EQ(spt_cursor_new(&c, &e->pt, va, va + SZ_4K), 0);
	CHECK_EQ(spt_cursor_query(&c, &q1), 0);
	spt_cursor_drop(&c);
	spt_lockless_query(&e->pt, va, &q2);
	CHECK_EQ(q1.mapped, q2.mapped);
	CHECK_EQ(q1.rsvd, q2.rsvd);
	CHECK_EQ(q1.prop.flags, q2.prop.flags);
	*flags = q1.prop.flags;
	*rsvd = q1.rsvd;
}

static void levels_l(unsigned int levels)
{
	const u64 va = SZ_1G + SZ_4K;
	u64 n, ch, *slot, before;
	unsigned int l;
	struct tenv e;
	bool rsvd;
	u8 fl;

	tenv_init(&e, levels);
	tl_map_range(&e, va, 1ULL << 40, 1,
		     SPT_PROT_WRITE | SPT_PROT_EXEC | SPT_PROT_USER);
	tl_map_range(&e, va + SZ_4K, (1ULL << 40) + SZ_4K, 1,
		     SPT_PROT_WRITE | SPT_PROT_EXEC | SPT_PROT_USER);
	for (l = 1; l <= levels; l++) {
		slot = tl_raw_slot(&e, va, l);
		REQUIRE(slot);
		before = *slot;
		bits(&e, l, va, SZ_4K, SPT_PTE_RW | SPT_PTE_US,
		     SPT_PTE_NX | (1ULL << 53), &n, &ch);
		CHECK_EQ(n, 1);
		CHECK_EQ(ch, 1);
		CHECK_EQ(*slot, (before & ~(SPT_PTE_RW | SPT_PTE_US)) |
				SPT_PTE_NX | (1ULL << 53) | MARK);
		CHECK(tenv_check(&e));
		query(&e, va, &fl, &rsvd);
		CHECK_EQ(fl & (SPT_PROT_WRITE | SPT_PROT_USER |
			       SPT_PROT_EXEC), 0);
		CHECK(!rsvd);
		/* The other page shares the entries above level 1. */
		query(&e, va + SZ_4K, &fl, &rsvd);
		CHECK_EQ(fl & SETTABLE,
			 l == 1 ? SETTABLE : 0);
		/* Same again: no change. */
		bits(&e, l, va, SZ_4K, SPT_PTE_RW | SPT_PTE_US,
		     SPT_PTE_NX | (1ULL << 53), &n, &ch);
		CHECK_EQ(ch, 0);
		/* Undone: the very PTE of before, without the mark. */
		bits(&e, l, va, SZ_4K, SPT_PTE_NX | (1ULL << 53),
		     SPT_PTE_RW | SPT_PTE_US, &n, &ch);
		CHECK_EQ(ch, 1);
		CHECK_EQ(*slot, before);
		/* A reserved bit: both walkers see it, the checker accepts it. */
		if (!(e.cfg.pa_mask & RSVD)) {
			bits(&e, l, va, SZ_4K, 0, RSVD, &n, &ch);
			CHECK_EQ(*slot, before | RSVD | MARK);
			CHECK(tenv_check(&e));
			query(&e, va, &fl, &rsvd);
			CHECK(rsvd);
			bits(&e, l, va, SZ_4K, RSVD, 0, &n, &ch);
			CHECK_EQ(*slot, before);
		}
		/* Unmarked deliberate bits are corruption. */
		*slot = before & ~SPT_PTE_RW;
		if (l == 1)	/* a read-only leaf is fine */
			CHECK(tenv_check(&e));
		else
			check_fails(&e, "non-leaf without RW, unmarked");
		*slot = before | (1ULL << 54);
		check_fails(&e, "ignored bit, unmarked");
		*slot = before;
		/* Marked, but a bit that is never deliberate. */
		*slot = before | MARK | SPT_PTE_G;
		check_fails(&e, "marked entry with G");
		if (l > 1) {
			*slot = before | MARK | PKEY;
			check_fails(&e, "marked non-leaf with a protection key");
		}
		*slot = before;
		CHECK(tenv_check(&e));
	}
	/* Absent: nothing met. */
	bits(&e, 1, 3 * SZ_1G, SZ_4K, SPT_PTE_RW, 0, &n, &ch);
	CHECK_EQ(n, 0);
	/* Level 2 over both pages: one entry. */
	bits(&e, 2, va, 2 * SZ_4K, 0, 1ULL << 52, &n, &ch);
	CHECK_EQ(n, 1);
	CHECK_EQ(ch, 1);
	/* An unmap that frees the node: the entry goes with its bits. */
	{
		struct spt_cursor c;

		REQUIRE_EQ(spt_cursor_mut_new(&c, &e.pt, SZ_1G, SZ_1G + SZ_2M,
					      &e.fl), 0);
		CHECK_EQ(spt_cursor_unmap(&c, SZ_2M), 2);
		spt_cursor_drop(&c);
	}
	CHECK(tenv_check(&e));
	slot = tl_raw_slot(&e, va, 2);
	CHECK(!slot || !*slot);
	tenv_fini(&e);
}

/* A huge leaf split by a partial protect: the pieces keep the bits. */
static void split_l(unsigned int levels)
{
	const u64 va = SZ_1G;
	struct spt_prot_op op = { .set = 0, .clear = SPT_PROT_WRITE,
				  .cache = -1 };
	struct spt_cursor c;
	struct tenv e;
	u64 f, n = 0, *slot;

	tenv_init(&e, levels);
	f = tl_frame_alloc(&e, 2);
	REQUIRE_EQ(spt_cursor_mut_new(&c, &e.pt, va, va + SZ_2M, &e.fl), 0);
	REQUIRE_EQ(tl_map(&e, &c, f, 2, true, SPT_PROT_WRITE, 0, false,
			  NULL), 0);
	spt_cursor_drop(&c);
	bits(&e, 2, va, SZ_2M, 0, (1ULL << 55) | RSVD * !(e.cfg.pa_mask & RSVD),
	     &n, NULL);
	CHECK_EQ(n, 1);
	CHECK(tenv_check(&e));
	REQUIRE_EQ(spt_cursor_mut_new(&c, &e.pt, va, va + SZ_4K, &e.fl), 0);
	n = 0;
	CHECK_EQ(spt_cursor_protect(&c, SZ_4K, &op, &n, NULL), 0);
	spt_cursor_drop(&c);
	CHECK(tenv_check(&e));
	slot = tl_raw_slot(&e, va + 7 * SZ_4K, 1);
	REQUIRE(slot);
	CHECK(*slot & (1ULL << 55));
	CHECK(*slot & MARK);
	tenv_fini(&e);
}

static void entry_bits_levels(void)
{
	levels_l(4);
	levels_l(5);
}

static void entry_bits_split(void)
{
	split_l(4);
	split_l(5);
}

static const struct tap_case cases[] = {
	TAP_CASE(entry_bits_levels),
	TAP_CASE(entry_bits_split),
};

int main(int argc, char **argv)
{
	return tap_main(cases, ARRAY_SIZE(cases), argc, argv);
}
