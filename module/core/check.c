// SPDX-License-Identifier: GPL-2.0
/*
 * The invariant walk (spt_pt_check) and the node/leaf counts.
 *
 * The walk runs in two passes over the managed range, recursing at most
 * once per level and allocating nothing:
 *
 * 1. Structure: every entry against the rules listed in pt.h, stopping at
 *    the first violation. Each node reached is marked with
 *    SPT_META_SEEN_BIT (a node found marked is reachable twice), and with
 *    expect_refs each tracked leaf adds one to its head slot's ->word (an
 *    in-use data head otherwise keeps 0 there).
 * 2. Settling: the nodes marked in pass 1 are walked again, clearing the
 *    marks; at the first leaf of each tallied frame, the frame's refcount
 *    is compared with the tally plus its handles, and the tally is reset.
 *    Pass 2 always runs, so a failed check leaves no marks or tallies.
 *
 * The caller keeps the table still meanwhile (a cursor over the whole
 * range, or no concurrent user).
 */
#include "internal.h"

struct spt_check {
	struct spt_pt *pt;
	const struct spt_cfg *cfg;
	bool expect_refs;
	u32 (*handles)(u64 pa, void *arg);
	void *arg;
	char *msg;
	size_t msg_len;
	int err;
};

/* Record the first violation (at the entry for @va in a node of @level). */
#define spt_check_fail(ck, va, level, fmt, ...)				\
({									\
	struct spt_check *__ck = (ck);					\
									\
	if (!__ck->err && __ck->msg && __ck->msg_len)			\
		snprintf(__ck->msg, __ck->msg_len,			\
			 "va 0x%llx level %u: " fmt,			\
			 (unsigned long long)(va), (unsigned int)(level), \
			 ##__VA_ARGS__);				\
	__ck->err = -EUCLEAN;						\
	-EUCLEAN;							\
})

static inline u64 spt_entry_va(u64 base, unsigned int i, unsigned int level)
{
	return base + ((u64)i << spt_node_shift(level - 1));
}

static int spt_check_node(struct spt_check *ck, u64 pa, unsigned int level,
			  u64 base, bool root);

static int spt_check_leaf(struct spt_check *ck, u64 pte, unsigned int level,
			  u64 va)
{
	const struct spt_cfg *cfg = ck->cfg;
	struct spt_meta *m, *head;
	u64 bad, pa, hpa;
	u32 ref;

	if (level > SPT_MAX_LEAF_LEVEL)
		return spt_check_fail(ck, va, level,
				      "leaf entry 0x%llx above level %u", pte,
				      SPT_MAX_LEAF_LEVEL);
	bad = pte & ~spt_pte_leaf_allowed(cfg, level);
	if (bad)
		return spt_check_fail(ck, va, level,
				      "leaf 0x%llx has reserved bits 0x%llx",
				      pte, bad);
	if (pte & SPT_PTE_G)
		return spt_check_fail(ck, va, level,
				      "leaf 0x%llx is global in the managed range",
				      pte);
	if (spt_pte_cache(cfg, pte, level) >= SPT_CACHE_NR)
		return spt_check_fail(ck, va, level,
				      "leaf 0x%llx has the cache bits of no policy",
				      pte);
	if (!spt_pte_tracked(pte))
		return 0;
	pa = spt_pte_leaf_pa(cfg, pte, level);
	m = spt_pool_meta(ck->pt->pool, pa);
	if (!m)
		return spt_check_fail(ck, va, level,
				      "tracked leaf maps pa 0x%llx outside the pool",
				      pa);
	if (level == SPT_MAX_LEAF_LEVEL)
		return spt_check_fail(ck, va, level,
				      "tracked leaf of level %u", level);
	head = spt_leaf_head(ck->pt, pa, level, &hpa);
	if (!head)
		return spt_check_fail(ck, va, level,
				      "tracked leaf maps slot of usage %u level %u, expected DATA/TAIL of level %s",
				      m->usage, m->level,
				      level == 1 ? "1 or 2" : "2");
	ref = spt_meta_ref(head);
	if (ref - 1 >= SPT_REF_MAX)
		return spt_check_fail(ck, va, level,
				      "tracked frame 0x%llx has refcount 0x%x",
				      hpa, ref);
	if (ck->expect_refs)
		head->word++;
	return 0;
}

static int spt_check_table(struct spt_check *ck, u64 pte, unsigned int level,
			   u64 va)
{
	const struct spt_cfg *cfg = ck->cfg;
	u64 need = SPT_PTE_P | SPT_PTE_RW | SPT_PTE_US;
	u64 pa = spt_pte_table_pa(cfg, pte);
	u64 bad = pte & ~(cfg->pa_mask | SPT_PTE_TABLE);
	struct spt_meta *m;
	u32 ref;

	if (bad)
		return spt_check_fail(ck, va, level,
				      "non-leaf entry 0x%llx has bits 0x%llx",
				      pte, bad);
	if ((pte & need) != need)
		return spt_check_fail(ck, va, level,
				      "non-leaf entry 0x%llx lacks RW or US",
				      pte);
	m = spt_node_meta(ck->pt, pa);
	if (!m)
		return spt_check_fail(ck, va, level,
				      "entry points to pa 0x%llx outside the pool",
				      pa);
	if (m->usage != SPT_USAGE_PT)
		return spt_check_fail(ck, va, level,
				      "entry points to slot of usage %u, expected PT",
				      m->usage);
	if (m->level != level - 1)
		return spt_check_fail(ck, va, level,
				      "entry points to a node of level %u, expected %u",
				      m->level, level - 1);
	ref = spt_meta_ref(m);
	if (ref != 1)
		return spt_check_fail(ck, va, level,
				      "node 0x%llx has refcount 0x%x, expected 1",
				      pa, ref);
	if (spt_node_is_stray(m))
		return spt_check_fail(ck, va, level,
				      "entry points to stray node 0x%llx", pa);
	if (test_and_set_bit(SPT_META_SEEN_BIT, &m->word))
		return spt_check_fail(ck, va, level,
				      "node 0x%llx is reachable twice", pa);
	return spt_check_node(ck, pa, level - 1, va, false);
}

static int spt_check_node(struct spt_check *ck, u64 pa, unsigned int level,
			  u64 base, bool root)
{
	u64 *ptes = spt_node_ptes(ck->pt, pa);
	struct spt_meta *m = spt_node_meta(ck->pt, pa);
	unsigned int i, first = 0, last = SPT_NR_ENTRIES - 1, present = 0;
	int ret;

	if (root) {
		first = ck->cfg->top_first;
		last = ck->cfg->top_last;
	}
	for (i = first; i <= last; i++) {
		u64 pte = READ_ONCE(ptes[i]);
		u64 va = spt_entry_va(base, i, level);

		if (!spt_pte_present(pte)) {
			if (pte)
				return spt_check_fail(ck, va, level,
						      "absent entry 0x%llx is not zero",
						      pte);
			continue;
		}
		present++;
		if (spt_pte_is_leaf(pte, level))
			ret = spt_check_leaf(ck, pte, level, va);
		else
			ret = spt_check_table(ck, pte, level, va);
		if (ret)
			return ret;
	}
	if (m->nr_children != present)
		return spt_check_fail(ck, base, level,
				      "node 0x%llx counts %u children but has %u",
				      pa, m->nr_children, present);
	if (!root && !present)
		return spt_check_fail(ck, base, level,
				      "node 0x%llx is empty", pa);
	return 0;
}

/* Pass 2: clear the marks and tallies of pass 1, comparing refcounts. */
static void spt_check_settle(struct spt_check *ck, u64 pa, unsigned int level,
			     u64 base, bool root)
{
	const struct spt_cfg *cfg = ck->cfg;
	u64 *ptes = spt_node_ptes(ck->pt, pa);
	unsigned int i, first = 0, last = SPT_NR_ENTRIES - 1;

	if (root) {
		first = cfg->top_first;
		last = cfg->top_last;
	}
	for (i = first; i <= last; i++) {
		u64 pte = READ_ONCE(ptes[i]);
		u64 va = spt_entry_va(base, i, level);
		struct spt_meta *m;

		if (!spt_pte_present(pte))
			continue;
		if (!spt_pte_is_leaf(pte, level)) {
			u64 cpa = spt_pte_table_pa(cfg, pte);

			m = spt_node_meta(ck->pt, cpa);
			if (!m || m->usage != SPT_USAGE_PT ||
			    m->level != level - 1 ||
			    !test_and_clear_bit(SPT_META_SEEN_BIT, &m->word))
				continue;
			spt_check_settle(ck, cpa, level - 1, va, false);
		} else if (ck->expect_refs && spt_pte_tracked(pte) &&
			   level < SPT_MAX_LEAF_LEVEL) {
			u64 lpa = spt_pte_leaf_pa(cfg, pte, level), hpa;
			unsigned long tally;
			u32 ref, h;

			m = spt_leaf_head(ck->pt, lpa, level, &hpa);
			if (!m || !m->word ||
			    spt_meta_ref(m) - 1 >= SPT_REF_MAX)
				continue;
			tally = m->word;
			m->word = 0;
			ref = spt_meta_ref(m);
			h = ck->handles ? ck->handles(hpa, ck->arg) : 0;
			if (ref != tally + h)
				(void)spt_check_fail(ck, va, level,
					       "tracked frame 0x%llx has refcount %u, expected %lu (%lu PTEs + %u handles)",
					       hpa, ref, tally + h, tally, h);
		}
	}
}

/* The (canonical) address of root entry @i. */
static u64 spt_root_entry_va(const struct spt_cfg *cfg, unsigned int i)
{
	unsigned int width = spt_node_shift(cfg->levels);
	u64 va = (u64)i << spt_node_shift(cfg->levels - 1);

	if (va & (1ULL << (width - 1)))
		va |= ~((1ULL << width) - 1);
	return va;
}

int spt_pt_check(struct spt_pt *pt, const u64 *kernel_top, bool expect_refs,
		 u32 (*handles)(u64 pa, void *arg), void *arg, char *msg,
		 size_t msg_len)
{
	const struct spt_cfg *cfg = pt->cfg;
	unsigned int levels = cfg->levels, i;
	struct spt_check ck = {
		.pt = pt, .cfg = cfg, .expect_refs = expect_refs,
		.handles = handles, .arg = arg, .msg = msg, .msg_len = msg_len,
	};
	struct spt_meta *m;
	u64 *ptes;

	if (msg && msg_len)
		msg[0] = '\0';
	m = pt->root_pa ? spt_node_meta(pt, pt->root_pa) : NULL;
	if (!m)
		return spt_check_fail(&ck, 0ULL, levels,
				      "root 0x%llx is not a pool frame",
				      pt->root_pa);
	if (m->usage != SPT_USAGE_PT || m->level != levels ||
	    spt_meta_ref(m) != 1 || spt_node_is_stray(m))
		return spt_check_fail(&ck, 0ULL, levels,
				      "root slot has usage %u level %u refcount 0x%x word 0x%lx",
				      m->usage, m->level, spt_meta_ref(m),
				      m->word);
	ptes = spt_node_ptes(pt, pt->root_pa);
	if (kernel_top) {
		for (i = 0; i < SPT_NR_ENTRIES; i++) {
			if (i >= cfg->top_first && i <= cfg->top_last)
				continue;
			if (READ_ONCE(ptes[i]) != kernel_top[i])
				return spt_check_fail(&ck,
						      spt_root_entry_va(cfg, i),
						      levels,
						      "kernel-half entry 0x%llx differs from the kernel's 0x%llx",
						      READ_ONCE(ptes[i]),
						      kernel_top[i]);
		}
	}
	set_bit(SPT_META_SEEN_BIT, &m->word);
	spt_check_node(&ck, pt->root_pa, levels, 0, true);
	spt_check_settle(&ck, pt->root_pa, levels, 0, true);
	clear_bit(SPT_META_SEEN_BIT, &m->word);
	if (!ck.err) {
		struct spt_pt_counts counts;
		long walked = 0;

		spt_pt_count(pt, &counts);
		for (i = 0; i < SPT_MAX_LEVELS; i++)
			walked += counts.nodes[i];
		if (walked != spt_pt_nr_nodes(pt))
			return spt_check_fail(&ck, 0ULL, levels,
					      "node count %ld, a walk finds %ld",
					      spt_pt_nr_nodes(pt), walked);
	}
	return ck.err;
}

static void spt_count_node(struct spt_pt *pt, u64 pa, unsigned int level,
			   bool root, struct spt_pt_counts *counts)
{
	const struct spt_cfg *cfg = pt->cfg;
	u64 *ptes = spt_node_ptes(pt, pa);
	unsigned int i, first = 0, last = SPT_NR_ENTRIES - 1;

	if (root) {
		first = cfg->top_first;
		last = cfg->top_last;
	}
	counts->nodes[level - 1]++;
	for (i = first; i <= last; i++) {
		u64 pte = READ_ONCE(ptes[i]);

		if (!spt_pte_present(pte))
			continue;
		if (!spt_pte_is_leaf(pte, level)) {
			u64 cpa = spt_pte_table_pa(cfg, pte);
			struct spt_meta *m = spt_node_meta(pt, cpa);

			/* Levels strictly decrease: no cycle to follow. */
			if (m && m->usage == SPT_USAGE_PT &&
			    m->level == level - 1)
				spt_count_node(pt, cpa, level - 1, false,
					       counts);
		} else if (level <= SPT_MAX_LEAF_LEVEL) {
			counts->leaves[level - 1]++;
		}
	}
}

void spt_pt_count(struct spt_pt *pt, struct spt_pt_counts *counts)
{
	memset(counts, 0, sizeof(*counts));
	if (pt->root_pa)
		spt_count_node(pt, pt->root_pa, pt->cfg->levels, true, counts);
}
