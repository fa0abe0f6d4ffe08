// SPDX-License-Identifier: GPL-2.0
/*
 * One entry of a node: what a leaf holds and gives back, tearing down a
 * detached subtree, and the contents of a split huge leaf.
 *
 * Reference accounting of tracked frames: every leaf PTE that maps (a part
 * of) a tracked frame holds one reference on the frame's head slot. A
 * 2 MiB frame split into 512 4 KiB leaves therefore gains 511 references
 * (taken by the cursor before the split is published), and a 4 KiB leaf
 * inside it finds its head 2 MiB below.
 */
#include "internal.h"

struct spt_meta *spt_leaf_head(struct spt_pt *pt, u64 pa, unsigned int level,
			       u64 *head_pa)
{
	struct spt_meta *m = spt_pool_meta(pt->pool, pa);
	u64 huge = spt_level_size(2);

	if (!m)
		return NULL;
	if (level == 1 && m->level == 2 &&
	    (m->usage == SPT_USAGE_TAIL || m->usage == SPT_USAGE_DATA)) {
		pa &= ~(huge - 1);
		m = spt_pool_meta(pt->pool, pa);
		if (!m)
			return NULL;
	}
	if (m->usage != SPT_USAGE_DATA || m->level < level)
		return NULL;
	*head_pa = pa;
	return m;
}

void spt_leaf_release(struct spt_pt *pt, u64 pte, unsigned int level,
		      struct spt_flusher *fl)
{
	struct spt_meta *m;
	u64 head;

	if (!spt_pte_tracked(pte))
		return;
	m = spt_leaf_head(pt, spt_pte_leaf_pa(pt->cfg, pte, level), level,
			  &head);
	if (WARN_ON_ONCE(!m))
		return;
	if (spt_meta_put(m))
		spt_flusher_queue(fl, head, m);
}

unsigned long spt_subtree_release(struct spt_pt *pt, u64 pa,
				  unsigned int level, struct spt_flusher *fl,
				  bool locked)
{
	u64 *ptes = spt_node_ptes(pt, pa);
	unsigned long leaves = 0;
	unsigned int i;

	for (i = 0; i < SPT_NR_ENTRIES; i++) {
		u64 pte = READ_ONCE(ptes[i]);

		if (!spt_pte_present(pte))
			continue;
		if (spt_pte_is_leaf(pte, level)) {
			spt_leaf_release(pt, pte, level, fl);
			leaves++;
		} else {
			leaves += spt_subtree_release(pt,
					spt_pte_table_pa(pt->cfg, pte),
					level - 1, fl, locked);
		}
	}
	spt_node_retire(pt, pa, spt_node_meta(pt, pa), fl, locked);
	return leaves;
}

void spt_split_fill(const struct spt_cfg *cfg, u64 *ptes, u64 pte,
		    unsigned int level)
{
	unsigned int child = level - 1;
	u64 pa = spt_pte_leaf_pa(cfg, pte, level);
	u64 step = spt_level_size(child);
	struct spt_prop prop;
	u64 attrs;
	unsigned int i;

	spt_pte_prop(cfg, pte, level, &prop);
	/*
	 * Keep the cache bits exactly (two policies may share them), moving
	 * PAT from bit 12 to bit 7 (where huge leaves have PS) for 4 KiB.
	 */
	attrs = spt_pte_leaf_attrs(cfg, child, &prop, spt_pte_tracked(pte));
	attrs &= ~(SPT_PTE_PWT | SPT_PTE_PCD |
		   (child == 1 ? SPT_PTE_PAT : SPT_PTE_PAT_LARGE));
	attrs |= pte & (SPT_PTE_PWT | SPT_PTE_PCD);
	if (pte & SPT_PTE_PAT_LARGE)
		attrs |= child == 1 ? SPT_PTE_PAT : SPT_PTE_PAT_LARGE;
	for (i = 0; i < SPT_NR_ENTRIES; i++)
		ptes[i] = (pa + i * step) | attrs;
}
