/* SPDX-License-Identifier: GPL-2.0 */
/*
 * x86-64 page-table entries: the bits, and the translation between a PTE
 * and (pa, level, struct spt_prop, tracked). The PTE layout is the one of
 * the Intel SDM vol. 3, 4.5 (4-level and 5-level paging):
 *
 *   0 P, 1 R/W, 2 U/S, 3 PWT, 4 PCD, 5 A, 6 D (leaves), 7 PS (levels 2, 3)
 *   or PAT (level 1), 8 G (leaves), 9..11 ignored (bit 9: ours, see below),
 *   12 PAT in huge leaves, 12..M-1 physical address (M = MAXPHYADDR, the
 *   config's pa_mask), M..51 reserved, 52..58 ignored, 59..62 protection
 *   key (ignored while CR4.PKE is off; never set here), 63 XD/NX.
 *
 * Leaves carry the page property. Non-leaf entries are maximally permissive
 * (P | RW | US | A, NX clear) so that the leaves alone decide. An absent
 * entry is all zeroes. Bit 9 (ignored by the MMU) marks a leaf that maps a
 * tracked item, i.e. holds a reference on a pool frame: the reference's
 * AVAIL1 flag. Bit 10 marks a 4 KiB leaf that maps a pinned user page
 * (its pin is released through the table's unpin hook), bit 11 one pinned
 * writable.
 */
#ifndef SPT_CORE_PTE_H
#define SPT_CORE_PTE_H

#include "pt.h"

#define SPT_PTE_P		BIT_ULL(0)
#define SPT_PTE_RW		BIT_ULL(1)
#define SPT_PTE_US		BIT_ULL(2)
#define SPT_PTE_PWT		BIT_ULL(3)
#define SPT_PTE_PCD		BIT_ULL(4)
#define SPT_PTE_A		BIT_ULL(5)
#define SPT_PTE_D		BIT_ULL(6)
#define SPT_PTE_PS		BIT_ULL(7)	/* levels 2, 3: a leaf */
#define SPT_PTE_PAT		BIT_ULL(7)	/* level 1 */
#define SPT_PTE_G		BIT_ULL(8)
#define SPT_PTE_TRACKED		BIT_ULL(9)	/* software: tracked leaf */
/* software, 4 KiB leaves: a pinned user page (SPT_MAP_USER) */
#define SPT_PTE_PINNED		BIT_ULL(10)
/* software, with PINNED: pinned writable (FOLL_WRITE) */
#define SPT_PTE_PIN_W		BIT_ULL(11)
#define SPT_PTE_PAT_LARGE	BIT_ULL(12)	/* levels 2, 3 */
#define SPT_PTE_NX		BIT_ULL(63)
/*
 * Deliberate bits (SPT_IOCTL_ENTRY_BITS): bit 58 (ignored by the MMU)
 * marks an entry that may carry them, so that the checker accepts them
 * there and nowhere else. Callers may change W, U, PWT, PCD, NX, the
 * ignored bits 52..57, the protection key (4 KiB leaves) and bit 51, a
 * reserved bit below the address width of 52 (only where MAXPHYADDR is
 * less, which pa_mask tells).
 */
#define SPT_PTE_MARK		BIT_ULL(58)
#define SPT_PTE_AVL		GENMASK_ULL(57, 52)
#define SPT_PTE_PKEY		GENMASK_ULL(62, 59)
#define SPT_PTE_RSVD		BIT_ULL(51)
#define SPT_PTE_BITS_ALL	(SPT_PTE_RW | SPT_PTE_US | SPT_PTE_PWT | \
				 SPT_PTE_PCD | SPT_PTE_AVL | SPT_PTE_PKEY | \
				 SPT_PTE_NX | SPT_PTE_RSVD)
/* The uapi's SPT_BITS_* (SPT_IOCTL_ENTRY_BITS) are these PTE bits. */
static_assert(SPT_BITS_W == SPT_PTE_RW && SPT_BITS_U == SPT_PTE_US &&
	      SPT_BITS_PWT == SPT_PTE_PWT && SPT_BITS_PCD == SPT_PTE_PCD &&
	      SPT_BITS_AVL == SPT_PTE_AVL && SPT_BITS_PKEY == SPT_PTE_PKEY &&
	      SPT_BITS_NX == SPT_PTE_NX && SPT_BITS_RSVD == SPT_PTE_RSVD &&
	      SPT_BITS_ALL == SPT_PTE_BITS_ALL);

/* Cache-policy bits as the config gives them (4 KiB layout). */
#define SPT_PTE_CACHE_4K	(SPT_PTE_PWT | SPT_PTE_PCD | SPT_PTE_PAT)
/* A non-leaf entry: everything allowed, the leaves decide. */
#define SPT_PTE_TABLE		(SPT_PTE_P | SPT_PTE_RW | SPT_PTE_US | \
				 SPT_PTE_A)

/* Index of @va in a node of @level. */
static inline unsigned int spt_index(u64 va, unsigned int level)
{
	return (va >> (SPT_PAGE_SHIFT + 9 * (level - 1))) & 511;
}

/* log2 of the span of a whole node of @level (512 entries). */
static inline unsigned int spt_node_shift(unsigned int level)
{
	return SPT_PAGE_SHIFT + 9 * level;
}

/* Start of the entry of @level that holds @va. */
static inline u64 spt_entry_base(u64 va, unsigned int level)
{
	return va & ~(spt_level_size(level) - 1);
}

/*
 * The range clip (pmd_addr_end): the end of the entry of @level that holds
 * @va, or @end if that comes first. (No wrap: addresses stay below 2^57.)
 */
static inline u64 spt_addr_end(u64 va, u64 end, unsigned int level)
{
	u64 next = (va | (spt_level_size(level) - 1)) + 1;

	return next < end ? next : end;
}

static inline bool spt_pte_present(u64 pte)
{
	return pte & SPT_PTE_P;
}

/* Does present @pte in a node of @level map a page (not a child node)? */
static inline bool spt_pte_is_leaf(u64 pte, unsigned int level)
{
	return level == 1 || (pte & SPT_PTE_PS);
}

static inline u64 spt_pte_table(u64 pa)
{
	return pa | SPT_PTE_TABLE;
}

static inline u64 spt_pte_table_pa(const struct spt_cfg *cfg, u64 pte)
{
	return pte & cfg->pa_mask;
}

/* For huge leaves the PAT bit (12) is below the alignment: masked out. */
static inline u64 spt_pte_leaf_pa(const struct spt_cfg *cfg, u64 pte,
				  unsigned int level)
{
	return pte & cfg->pa_mask & ~(spt_level_size(level) - 1);
}

/* Every bit a leaf of @level may have (anything else is reserved). */
static inline u64 spt_pte_leaf_allowed(const struct spt_cfg *cfg,
				       unsigned int level)
{
	u64 bits = SPT_PTE_P | SPT_PTE_RW | SPT_PTE_US | SPT_PTE_PWT |
		   SPT_PTE_PCD | SPT_PTE_A | SPT_PTE_D | SPT_PTE_G |
		   SPT_PTE_TRACKED | SPT_PTE_NX;

	if (level == 1)
		return bits | SPT_PTE_PAT | SPT_PTE_PINNED | SPT_PTE_PIN_W |
		       cfg->pa_mask;
	return bits | SPT_PTE_PS | SPT_PTE_PAT_LARGE |
	       (cfg->pa_mask & ~(spt_level_size(level) - 1));
}

static inline bool spt_prop_valid(const struct spt_prop *prop)
{
	return !(prop->flags & ~SPT_PROT_ALL) &&
	       !(prop->flags & SPT_PROT_GLOBAL) && prop->cache < SPT_CACHE_NR;
}

/* The cache-policy bits of @cache for a leaf of @level. */
static inline u64 spt_pte_cache_bits(const struct spt_cfg *cfg, u8 cache,
				     unsigned int level)
{
	u64 bits = cfg->cache_bits[cache] & SPT_PTE_CACHE_4K;

	if (level > 1 && (bits & SPT_PTE_PAT))
		bits = (bits & ~SPT_PTE_PAT) | SPT_PTE_PAT_LARGE;
	return bits;
}

/*
 * The policy of a leaf's cache bits, or SPT_CACHE_NR if no policy of the
 * config has them. Where the config gives two policies the same bits
 * (no PAT), the first one wins.
 */
static inline unsigned int spt_pte_cache(const struct spt_cfg *cfg, u64 pte,
					 unsigned int level)
{
	u64 bits = pte & (SPT_PTE_PWT | SPT_PTE_PCD);
	unsigned int c;

	if (level == 1)
		bits |= pte & SPT_PTE_PAT;
	else if (pte & SPT_PTE_PAT_LARGE)
		bits |= SPT_PTE_PAT;
	for (c = 0; c < SPT_CACHE_NR; c++) {
		if ((cfg->cache_bits[c] & SPT_PTE_CACHE_4K) == bits)
			return c;
	}
	return SPT_CACHE_NR;
}

/*
 * The SPT_PROT_* bits sit where a shift of the PTE bits puts them: RW,
 * ACCESSED and DIRTY one place down, USER where U/S is, GLOBAL five
 * places down; EXEC is NX (bit 63) inverted.
 */
static_assert(SPT_PTE_RW >> 1 == SPT_PROT_WRITE &&
	      SPT_PTE_A >> 1 == SPT_PROT_ACCESSED &&
	      SPT_PTE_D >> 1 == SPT_PROT_DIRTY &&
	      SPT_PTE_US == SPT_PROT_USER && SPT_PTE_G >> 5 == SPT_PROT_GLOBAL);
#define SPT_PROT_SHIFTED1	(SPT_PROT_WRITE | SPT_PROT_ACCESSED | \
				 SPT_PROT_DIRTY)

/* Everything of a leaf PTE except the physical address. */
static inline u64 spt_pte_leaf_attrs(const struct spt_cfg *cfg,
				     unsigned int level,
				     const struct spt_prop *prop, bool tracked)
{
	u64 flags = prop->flags;
	u64 pte = SPT_PTE_P | spt_pte_cache_bits(cfg, prop->cache, level);

	pte |= (flags & SPT_PROT_SHIFTED1) << 1 | (flags & SPT_PROT_USER) |
	       (flags & SPT_PROT_GLOBAL) << 5;
	if (!(flags & SPT_PROT_EXEC))
		pte |= SPT_PTE_NX;
	if (level > 1)
		pte |= SPT_PTE_PS;
	if (tracked)
		pte |= SPT_PTE_TRACKED;
	return pte;
}

static inline u64 spt_pte_leaf(const struct spt_cfg *cfg, u64 pa,
			       unsigned int level, const struct spt_prop *prop,
			       bool tracked)
{
	return pa | spt_pte_leaf_attrs(cfg, level, prop, tracked);
}

/* The property of a present leaf of @level (unknown cache bits: UC). */
static inline void spt_pte_prop(const struct spt_cfg *cfg, u64 pte,
				unsigned int level, struct spt_prop *prop)
{
	unsigned int cache = spt_pte_cache(cfg, pte, level);

	prop->flags = ((pte >> 1) & SPT_PROT_SHIFTED1) |
		      (pte & SPT_PROT_USER) | ((pte >> 5) & SPT_PROT_GLOBAL) |
		      ((~pte >> 63) ? SPT_PROT_EXEC : 0);
	prop->cache = cache < SPT_CACHE_NR ? cache : SPT_CACHE_UC;
}

/*
 * A protect operation as two masks for the leaves of @level: new = (old &
 * ~clear) | set gives the PTE of the property (old's & ~op->clear) |
 * op->set, with op->cache's bits if op->cache >= 0. Set wins over clear.
 */
static inline void spt_pte_prot_masks(const struct spt_cfg *cfg,
				      const struct spt_prot_op *op,
				      unsigned int level, u64 *clear, u64 *set)
{
	static const struct {
		u8 flag;
		u64 bit;
	} map[] = {
		{ SPT_PROT_WRITE, SPT_PTE_RW },
		{ SPT_PROT_USER, SPT_PTE_US },
		{ SPT_PROT_GLOBAL, SPT_PTE_G },
		{ SPT_PROT_ACCESSED, SPT_PTE_A },
		{ SPT_PROT_DIRTY, SPT_PTE_D },
	};
	unsigned int i;

	*clear = 0;
	*set = 0;
	for (i = 0; i < ARRAY_SIZE(map); i++) {
		if (op->clear & map[i].flag)
			*clear |= map[i].bit;
		if (op->set & map[i].flag)
			*set |= map[i].bit;
	}
	/* EXEC is the absence of NX. */
	if (op->set & SPT_PROT_EXEC)
		*clear |= SPT_PTE_NX;
	else if (op->clear & SPT_PROT_EXEC)
		*set |= SPT_PTE_NX;
	if (op->cache >= 0) {
		*clear |= SPT_PTE_PWT | SPT_PTE_PCD |
			  (level == 1 ? SPT_PTE_PAT : SPT_PTE_PAT_LARGE);
		*set |= spt_pte_cache_bits(cfg, op->cache, level);
	}
}

/*
 * Does the present @pte of @level (leaf or not) deviate from what the core
 * itself writes, in deliberate bits? Leaves: an ignored bit, a protection
 * key, the reserved bit, or cache bits of no policy (W, U and NX are the
 * property). Child entries: anything but P, RW, US, A and the address.
 */
static inline bool spt_pte_deliberate(const struct spt_cfg *cfg, u64 pte,
				      unsigned int level)
{
	if (spt_pte_is_leaf(pte, level))
		return (pte & (SPT_PTE_AVL | SPT_PTE_PKEY | SPT_PTE_RSVD)) ||
		       spt_pte_cache(cfg, pte, level) >= SPT_CACHE_NR;
	return (pte & (SPT_PTE_AVL | SPT_PTE_RSVD | SPT_PTE_NX |
		       SPT_PTE_PWT | SPT_PTE_PCD)) ||
	       (pte & (SPT_PTE_RW | SPT_PTE_US)) !=
	       (SPT_PTE_RW | SPT_PTE_US);
}

/* The reserved bits of a present @pte of @level that this module sets. */
static inline u64 spt_pte_rsvd(u64 pte)
{
	return pte & SPT_PTE_RSVD;
}

/*
 * What a present entry on the walk takes away from the permission of the
 * pages below it (SPT_PROT_*): the MMU ANDs W and U down the walk and ORs
 * NX.
 */
static inline u32 spt_pte_walk_deny(u64 pte)
{
	u32 deny = 0;

	if (!(pte & SPT_PTE_RW))
		deny |= SPT_PROT_WRITE;
	if (!(pte & SPT_PTE_US))
		deny |= SPT_PROT_USER;
	if (pte & SPT_PTE_NX)
		deny |= SPT_PROT_EXEC;
	return deny;
}

/* The protection key of a leaf (bits 59..62). */
static inline u8 spt_pte_pkey(u64 pte)
{
	return (pte & SPT_PTE_PKEY) >> 59;
}

static inline bool spt_pte_tracked(u64 pte)
{
	return pte & SPT_PTE_TRACKED;
}

static inline bool spt_pte_pinned(u64 pte)
{
	return pte & SPT_PTE_PINNED;
}

/*
 * The set mask of a protect for @pte: a page pinned read-only is never
 * made writable (its pin did not break COW or ask the file for writes).
 */
static inline u64 spt_pte_pin_set(u64 pte, u64 set)
{
	if ((pte & (SPT_PTE_PINNED | SPT_PTE_PIN_W)) == SPT_PTE_PINNED)
		set &= ~SPT_PTE_RW;
	return set;
}

#endif /* SPT_CORE_PTE_H */
