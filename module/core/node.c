// SPDX-License-Identifier: GPL-2.0
/*
 * Page-table nodes. A node is one 4 KiB pool frame of usage PT holding 512
 * PTEs; its meta slot keeps the level, the number of present entries
 * (nr_children), the lock and stray bits, and refcount 1 while it is
 * linked (the parent entry, or the page table for the root).
 *
 * A node that was never reachable is freed at once. A node that was
 * reachable (a lock-free walker or the MMU may be reading it) is retired:
 * marked stray, then queued on the cursor's flusher, and freed by the owner
 * only after the TLB flush and an RCU grace period.
 */
#include "internal.h"

int spt_node_alloc(struct spt_pt *pt, unsigned int level, u64 *pa)
{
	struct spt_meta *m;
	int ret;

	/* Only the root is at the top level; CR3 wants it 8 KiB aligned. */
	if (level == pt->cfg->levels)
		ret = spt_pool_alloc_root(pt->pool, pa);
	else
		ret = spt_pool_alloc(pt->pool, SPT_USAGE_PT, 1, false, pa);
	if (ret)
		return ret;
	atomic_long_inc(&pt->nr_nodes);
	m = spt_node_meta(pt, *pa);
	m->level = level;
	m->nr_children = 0;
	m->word = 0;
	spt_trace_node_alloc(level, *pa);
	return 0;
}

void spt_node_free_unpublished(struct spt_pt *pt, u64 pa)
{
	struct spt_meta *m = spt_node_meta(pt, pa);

	m->word = 0;
	atomic_long_dec(&pt->nr_nodes);
	if (!WARN_ON_ONCE(!spt_meta_put(m))) {
		spt_trace_node_free(m->level, pa);
		spt_pool_free(pt->pool, pa);
	}
}

void spt_node_retire(struct spt_pt *pt, u64 pa, struct spt_meta *m,
		     struct spt_flusher *fl, bool unlock)
{
	atomic_long_dec(&pt->nr_nodes);
	set_bit(SPT_META_STRAY_BIT, &m->word);
	if (!WARN_ON_ONCE(!spt_meta_put(m)))
		spt_flusher_queue(fl, pa, m);
	if (unlock)
		spt_node_unlock(m);
}
