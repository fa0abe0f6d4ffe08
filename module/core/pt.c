// SPDX-License-Identifier: GPL-2.0
/*
 * A page table's life: the root with its shared kernel half, and the
 * teardown of everything in the managed range.
 *
 * The root's nr_children counts the present entries of the managed range
 * only. The kernel half (root entries outside [top_first, top_last]) is
 * the running kernel's: copied in at creation, never changed, never
 * referenced or freed here.
 */
#include "internal.h"

u64 spt_cfg_user_end(const struct spt_cfg *cfg)
{
	return (u64)(cfg->top_last + 1) * spt_level_size(cfg->levels);
}

int spt_pt_init(struct spt_pt *pt, const struct spt_cfg *cfg,
		struct spt_pool *pool, const u64 *kernel_top)
{
	unsigned int i;
	u64 *ptes;
	int ret;

	if (WARN_ON_ONCE((cfg->levels != 4 && cfg->levels != 5) ||
			 cfg->top_first > cfg->top_last ||
			 cfg->top_last >= SPT_NR_ENTRIES ||
			 (cfg->pa_mask & (SPT_PAGE_SIZE - 1))))
		return -EINVAL;
	pt->cfg = cfg;
	pt->pool = pool;
	pt->root_pa = 0;
	atomic_set(&pt->tlb_gen, 0);
	atomic_long_set(&pt->nr_nodes, 0);
	ret = spt_node_alloc(pt, cfg->levels, &pt->root_pa);
	if (ret) {
		pt->root_pa = 0;
		return ret;
	}
	if (kernel_top) {
		ptes = spt_node_ptes(pt, pt->root_pa);
		for (i = 0; i < SPT_NR_ENTRIES; i++) {
			if (i < cfg->top_first || i > cfg->top_last)
				ptes[i] = kernel_top[i];
		}
	}
	return 0;
}

void spt_pt_destroy(struct spt_pt *pt, struct spt_flusher *fl)
{
	const struct spt_cfg *cfg = pt->cfg;
	unsigned int level = cfg->levels, i;
	struct spt_meta *m;
	u64 *ptes;

	if (!pt->root_pa)
		return;
	ptes = spt_node_ptes(pt, pt->root_pa);
	m = spt_node_meta(pt, pt->root_pa);
	for (i = cfg->top_first; i <= cfg->top_last; i++) {
		u64 pte = READ_ONCE(ptes[i]);

		if (!spt_pte_present(pte))
			continue;
		WRITE_ONCE(ptes[i], 0);
		if (WARN_ON_ONCE(spt_pte_is_leaf(pte, level)))
			continue;
		spt_subtree_release(pt, spt_pte_table_pa(cfg, pte), level - 1,
				    fl, false);
		cond_resched();	/* a large space is torn down in pieces */
	}
	m->nr_children = 0;
	spt_flusher_add_span(fl, spt_cfg_managed_start(cfg), spt_cfg_user_end(cfg));
	spt_node_retire(pt, pt->root_pa, m, fl, false);
	pt->root_pa = 0;
}
