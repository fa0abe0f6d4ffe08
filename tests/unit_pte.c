// SPDX-License-Identifier: GPL-2.0
/*
 * PTE encoding, checked by reading the raw table the way the MMU does:
 * property bits, the cache-policy bits from the config's PAT layout (PAT
 * at bit 7 in 4 KiB leaves, bit 12 in huge ones), the physical-address
 * field for MAXPHYADDR 46 and 52, the tracked marker's round trip, and the
 * permissive non-leaf entries.
 */
#include <errno.h>

#include "testlib.h"

static const u8 flag_bits[] = {
	SPT_PROT_WRITE, SPT_PROT_EXEC, SPT_PROT_USER, SPT_PROT_ACCESSED,
	SPT_PROT_DIRTY,
};

static u64 expect_pte_flags(u8 flags)
{
	u64 pte = X86_P;

	if (flags & SPT_PROT_WRITE)
		pte |= X86_RW;
	if (!(flags & SPT_PROT_EXEC))
		pte |= X86_NX;
	if (flags & SPT_PROT_USER)
		pte |= X86_US;
	if (flags & SPT_PROT_ACCESSED)
		pte |= X86_A;
	if (flags & SPT_PROT_DIRTY)
		pte |= X86_D;
	return pte;
}

#define FLAG_MASK (X86_P | X86_RW | X86_NX | X86_US | X86_A | X86_D | X86_G)

/* Every flag combination at every leaf size; the PTE and query agree. */
static void flags_at_level(unsigned int levels, unsigned int level)
{
	u64 size = spt_level_size(level), base = 4 * SZ_1G;
	struct spt_cursor c;
	struct tenv e;
	unsigned int i, n = 1U << ARRAY_SIZE(flag_bits);

	tenv_init(&e, levels);
	REQUIRE_EQ(spt_cursor_mut_new(&c, &e.pt, base, base + n * size,
				      &e.fl), 0);
	for (i = 0; i < n; i++) {
		u8 flags = 0;
		unsigned int b;

		for (b = 0; b < ARRAY_SIZE(flag_bits); b++)
			if (i & (1U << b))
				flags |= flag_bits[b];
		CHECK_EQ(tl_map(&e, &c, (1ULL << 40) + i * size, level, false,
				flags, SPT_CACHE_WB, false, NULL), 0);
	}
	for (i = 0; i < n; i++) {
		struct spt_query q;
		unsigned int lvl, b;
		u8 flags = 0;
		u64 pte;

		for (b = 0; b < ARRAY_SIZE(flag_bits); b++)
			if (i & (1U << b))
				flags |= flag_bits[b];
		pte = tl_raw_walk(&e, base + i * size, &lvl);
		CHECK_EQ(lvl, level);
		CHECKF((pte & FLAG_MASK) == expect_pte_flags(flags),
		       "level %u flags %#x: pte %#llx", level, flags,
		       (unsigned long long)pte);
		CHECK_EQ(!!(pte & X86_PS), level > 1);
		CHECK_EQ(pte & e.cfg.pa_mask & ~(size - 1),
			 (1ULL << 40) + i * size);
		CHECK_EQ(pte & (X86_PWT | X86_PCD | (level == 1 ?
			 X86_PAT4K : X86_PATHUGE)), 0);
		REQUIRE_EQ(spt_cursor_jump(&c, base + i * size), 0);
		REQUIRE_EQ(spt_cursor_query(&c, &q), 0);
		CHECK(q.mapped);
		CHECK_EQ(q.prop.flags, flags);
		CHECK_EQ(q.prop.cache, SPT_CACHE_WB);
		CHECK_EQ(q.item.pa, (1ULL << 40) + i * size);
		CHECK_EQ(q.level, level);
		CHECK(!q.item.tracked);
	}
	spt_cursor_drop(&c);
	tenv_fini(&e);
}

static void pte_flags_4k(void)
{
	flags_at_level(4, 1);
	flags_at_level(5, 1);
}

static void pte_flags_2m(void)
{
	flags_at_level(4, 2);
	flags_at_level(5, 2);
}

static void pte_flags_1g(void)
{
	flags_at_level(4, 3);
	flags_at_level(5, 3);
}

/* Each cache policy at each leaf size: PWT/PCD/PAT where they belong. */
static void pte_cache_bits(void)
{
	static const u64 want4k[SPT_CACHE_NR] = {
		[SPT_CACHE_WB] = 0,
		[SPT_CACHE_WC] = X86_PWT,
		[SPT_CACHE_UC_MINUS] = X86_PCD,
		[SPT_CACHE_UC] = X86_PCD | X86_PWT,
		[SPT_CACHE_WT] = X86_PAT4K | X86_PCD | X86_PWT,
		[SPT_CACHE_PAT0 + 1] = X86_PWT,
		[SPT_CACHE_PAT0 + 2] = X86_PCD,
		[SPT_CACHE_PAT0 + 3] = X86_PCD | X86_PWT,
		[SPT_CACHE_PAT0 + 4] = X86_PAT4K,
		[SPT_CACHE_PAT0 + 5] = X86_PAT4K | X86_PWT,
		[SPT_CACHE_PAT0 + 6] = X86_PAT4K | X86_PCD,
		[SPT_CACHE_PAT0 + 7] = X86_PAT4K | X86_PCD | X86_PWT,
	};
	unsigned int levels, level, cache, named;

	for (levels = 4; levels <= 5; levels++) {
		struct tenv e;

		tenv_init(&e, levels);
		for (level = 1; level <= 3; level++) {
			u64 size = spt_level_size(level);
			u64 base = (u64)level * 8 * SZ_1G;
			u64 pat = level == 1 ? X86_PAT4K : X86_PATHUGE;
			struct spt_cursor c;

			REQUIRE_EQ(spt_cursor_mut_new(&c, &e.pt, base,
						      base + SPT_CACHE_NR *
						      size, &e.fl), 0);
			for (cache = 0; cache < SPT_CACHE_NR; cache++)
				CHECK_EQ(tl_map(&e, &c, (2ULL << 40) +
						cache * size, level, false,
						SPT_PROT_WRITE, cache, false, NULL),
					 0);
			for (cache = 0; cache < SPT_CACHE_NR; cache++) {
				struct spt_query q;
				unsigned int lvl;
				u64 pte, want;

				pte = tl_raw_walk(&e, base + cache * size,
						  &lvl);
				CHECK_EQ(lvl, level);
				want = want4k[cache] & (X86_PWT | X86_PCD);
				if (want4k[cache] & X86_PAT4K)
					want |= pat;
				CHECKF((pte & (X86_PWT | X86_PCD | pat)) ==
				       want, "level %u cache %u: pte %#llx",
				       level, cache, (unsigned long long)pte);
				/* PS stays a size bit in huge leaves */
				if (level > 1)
					CHECK(pte & X86_PS);
				/* PAT never leaks into the address */
				CHECK_EQ(pte & e.cfg.pa_mask & ~(size - 1),
					 (2ULL << 40) + cache * size);
				REQUIRE_EQ(spt_cursor_jump(&c, base +
							   cache * size), 0);
				REQUIRE_EQ(spt_cursor_query(&c, &q), 0);
				/* read back as the first policy with its bits */
				for (named = 0; named < cache; named++)
					if (want4k[named] == want4k[cache])
						break;
				CHECK_EQ(q.prop.cache, named);
				CHECK_EQ(q.item.pa, (2ULL << 40) +
					 cache * size);
			}
			spt_cursor_drop(&c);
		}
		tenv_fini(&e);
	}
}

/* The top of the physical address space for MAXPHYADDR 46 and 52. */
static void pte_pa_field(void)
{
	static const unsigned int phys[] = { 36, 46, 52 };
	unsigned int i, level, levels;

	for (i = 0; i < ARRAY_SIZE(phys); i++) {
		for (levels = 4; levels <= 5; levels++) {
			struct spt_cfg cfg;
			struct tenv e;

			tl_cfg(&cfg, levels, phys[i]);
			tenv_init_cfg(&e, &cfg, true);
			for (level = 1; level <= 3; level++) {
				u64 size = spt_level_size(level);
				u64 va = 16 * SZ_1G * level;
				u64 pa = (1ULL << phys[i]) - size;
				struct spt_cursor c;
				struct spt_query q;
				unsigned int lvl;
				u64 pte;

				REQUIRE_EQ(spt_cursor_mut_new(&c, &e.pt, va,
							      va + 4 * size,
							      &e.fl), 0);
				/* top frame, WT so that PAT is set too */
				CHECK_EQ(tl_map(&e, &c, pa, level, false,
						SPT_PROT_WRITE, SPT_CACHE_WT,
						false, NULL), 0);
				pte = tl_raw_walk(&e, va, &lvl);
				CHECK_EQ(pte & cfg.pa_mask & ~(size - 1), pa);
				/* nothing between MAXPHYADDR and bit 52 */
				CHECK_EQ(pte & ((1ULL << 52) - 1) &
					 ~((1ULL << phys[i]) - 1), 0);
				REQUIRE_EQ(spt_cursor_jump(&c, va), 0);
				REQUIRE_EQ(spt_cursor_query(&c, &q), 0);
				CHECK_EQ(q.item.pa, pa);
				CHECK_EQ(q.prop.cache, SPT_CACHE_WT);
				/* beyond MAXPHYADDR: refused, not truncated */
				REQUIRE_EQ(spt_cursor_jump(&c, va + size), 0);
				CHECK_EQ(tl_map(&e, &c, pa + size, level,
						false, SPT_PROT_WRITE,
						SPT_CACHE_WB, false, NULL),
					 -EINVAL);
				if (phys[i] < 52)
					CHECK_EQ(tl_map(&e, &c, 1ULL << 51,
							level, false, 0,
							SPT_CACHE_WB, false,
							NULL), -EINVAL);
				CHECK_EQ(tl_raw_walk(&e, va + size, &lvl), 0);
				spt_cursor_drop(&c);
			}
			tenv_fini(&e);
		}
	}
}

/* Tracked and untracked leaves round-trip through the PTE. */
static void pte_tracked_marker(void)
{
	unsigned int levels;

	for (levels = 4; levels <= 5; levels++) {
		struct spt_cursor c;
		struct spt_query q;
		struct tenv e;
		u64 f4, f2;

		tenv_init(&e, levels);
		f4 = tl_frame_alloc(&e, 1);
		f2 = tl_frame_alloc(&e, 2);
		REQUIRE_EQ(spt_cursor_mut_new(&c, &e.pt, 0, 4 * SZ_2M, &e.fl),
			   0);
		CHECK_EQ(tl_map(&e, &c, f4, 1, true, SPT_PROT_WRITE, 0, true,
				NULL), 0);
		CHECK_EQ(tl_map(&e, &c, 1ULL << 41, 1, false, SPT_PROT_WRITE, 0,
				false, NULL), 0);
		REQUIRE_EQ(spt_cursor_jump(&c, SZ_2M), 0);
		CHECK_EQ(tl_map(&e, &c, f2, 2, true, 0, 0, true, NULL), 0);
		CHECK_EQ(tl_map(&e, &c, 1ULL << 41, 2, false, 0, 0, false,
				NULL), 0);
		REQUIRE_EQ(spt_cursor_jump(&c, 0), 0);
		REQUIRE_EQ(spt_cursor_query(&c, &q), 0);
		CHECK(q.mapped && q.item.tracked && q.item.pa == f4);
		REQUIRE_EQ(spt_cursor_jump(&c, SZ_4K), 0);
		REQUIRE_EQ(spt_cursor_query(&c, &q), 0);
		CHECK(q.mapped && !q.item.tracked);
		REQUIRE_EQ(spt_cursor_jump(&c, SZ_2M), 0);
		REQUIRE_EQ(spt_cursor_query(&c, &q), 0);
		CHECK(q.mapped && q.item.tracked && q.item.pa == f2);
		CHECK_EQ(q.item.level, 2);
		REQUIRE_EQ(spt_cursor_jump(&c, 2 * SZ_2M), 0);
		REQUIRE_EQ(spt_cursor_query(&c, &q), 0);
		CHECK(q.mapped && !q.item.tracked);
		spt_cursor_drop(&c);
		CHECK_EQ(tl_ref(&e, f4), 2);
		CHECK_EQ(tl_ref(&e, f2), 2);
		tenv_fini(&e);
	}
}

/* Non-leaf entries: P, RW, US, no NX, no PS; the leaves decide. */
static void pte_nonleaf_permissive(void)
{
	unsigned int levels, l;

	for (levels = 4; levels <= 5; levels++) {
		struct tenv e;
		u64 va = 3 * SZ_512G + 5 * SZ_1G + 7 * SZ_2M + 9 * SZ_4K;

		tenv_init(&e, levels);
		tl_map_range(&e, va, 1ULL << 40, 1, 0);
		for (l = levels; l > 1; l--) {
			u64 *slot = tl_raw_slot(&e, va, l);

			REQUIRE(slot);
			CHECKF((*slot & (X86_P | X86_RW | X86_US | X86_NX |
					 X86_PS)) ==
			       (X86_P | X86_RW | X86_US),
			       "level %u entry %#llx", l,
			       (unsigned long long)*slot);
			CHECK(spt_pool_meta(e.pool, *slot & e.cfg.pa_mask));
		}
		tenv_fini(&e);
	}
}

/* G, unknown flags and unknown cache policies are refused. */
static void pte_bad_props_refused(void)
{
	struct spt_prot_op op = { .set = SPT_PROT_GLOBAL, .cache = -1 };
	struct spt_cursor c;
	struct tenv e;
	u64 s, en;

	tenv_init(&e, 4);
	REQUIRE_EQ(spt_cursor_mut_new(&c, &e.pt, 0, SZ_2M, &e.fl), 0);
	CHECK_EQ(tl_map(&e, &c, 1ULL << 40, 1, false, SPT_PROT_GLOBAL, 0,
			false, NULL), -EINVAL);
	CHECK_EQ(tl_map(&e, &c, 1ULL << 40, 1, false, 0x40, 0, false, NULL),
		 -EINVAL);
	CHECK_EQ(tl_map(&e, &c, 1ULL << 40, 1, false, 0, SPT_CACHE_NR, false,
			NULL), -EINVAL);
	CHECK_EQ(spt_cursor_va(&c), 0);
	CHECK_EQ(tl_raw_walk(&e, 0, &(unsigned int){0}), 0);
	CHECK_EQ(tl_map(&e, &c, 1ULL << 40, 1, false, SPT_PROT_WRITE, 0, false,
			NULL), 0);
	REQUIRE_EQ(spt_cursor_jump(&c, 0), 0);
	CHECK_EQ(spt_cursor_protect_next(&c, SZ_2M, &op, &s, &en), -EINVAL);
	op.set = 0;
	op.cache = SPT_CACHE_NR;
	CHECK_EQ(spt_cursor_protect_next(&c, SZ_2M, &op, &s, &en), -EINVAL);
	CHECK_EQ(tl_raw_walk(&e, 0, &(unsigned int){0}) & (X86_G | X86_PCD |
								X86_PWT), 0);
	spt_cursor_drop(&c);
	tenv_fini(&e);
}

static void cfg_user_end(void)
{
	struct spt_cfg cfg;

	tl_cfg(&cfg, 4, 46);
	CHECK_EQ(spt_cfg_user_end(&cfg), 1ULL << 47);
	tl_cfg(&cfg, 5, 52);
	CHECK_EQ(spt_cfg_user_end(&cfg), 1ULL << 56);
}

static const struct tap_case cases[] = {
	TAP_CASE(cfg_user_end),
	TAP_CASE(pte_flags_4k),
	TAP_CASE(pte_flags_2m),
	TAP_CASE(pte_flags_1g),
	TAP_CASE(pte_cache_bits),
	TAP_CASE(pte_pa_field),
	TAP_CASE(pte_tracked_marker),
	TAP_CASE(pte_nonleaf_permissive),
	TAP_CASE(pte_bad_props_refused),
};

int main(int argc, char **argv)
{
	return tap_main(cases, ARRAY_SIZE(cases), argc, argv);
}
