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
	atomic_long_inc(&pt->nr_level_nodes[level - 1]);
	m = spt_node_meta(pt, *pa);
	m->level = level;	/* the pool gave it nr_children 0 */
	m->word = 0;
	spt_trace_node_alloc(level, *pa);
	return 0;
}

void spt_node_free_unpublished(struct spt_pt *pt, u64 pa)
{
	struct spt_meta *m = spt_node_meta(pt, pa);

	m->word = 0;
	atomic_long_dec(&pt->nr_level_nodes[m->level - 1]);
	if (!WARN_ON_ONCE(!spt_meta_put(m))) {
		spt_trace_node_free(m->level, pa);
		spt_pool_free(pt->pool, pa);
	}
}

void spt_node_retire(struct spt_pt *pt, u64 pa, struct spt_meta *m,
		     struct spt_flusher *fl, bool unlock)
{
	atomic_long_dec(&pt->nr_level_nodes[m->level - 1]);
	set_bit(SPT_META_STRAY_BIT, &m->word);
	if (!WARN_ON_ONCE(!spt_meta_put(m)))
		spt_flusher_queue(fl, pa, m);
	if (unlock)
		spt_node_unlock(m);
}

int spt_node_stash_fill(struct spt_pt *pt, struct spt_node_stash *st,
			unsigned int top, unsigned int nr)
{
	st->nr = 0;
	st->used = 0;
	for (; st->nr < nr; st->nr++) {
		if (spt_node_alloc(pt, top - st->nr, &st->pa[st->nr])) {
			spt_node_stash_drop(pt, st);
			return -ENOMEM;
		}
	}
	return 0;
}

void spt_node_stash_drop(struct spt_pt *pt, struct spt_node_stash *st)
{
	while (st->nr > st->used)
		spt_node_free_unpublished(pt, st->pa[--st->nr]);
}

int spt_walk_range(struct spt_walk *w, const struct spt_node *node,
		   u64 start, u64 end)
{
	const struct spt_walk_ops *ops = w->ops;
	unsigned int level = node->level;
	u64 va, next;
	int ret;

	if (level == 1 && !ops->leaf && !ops->hole)
		return 0;
	for (va = start; va < end; va = next) {
		struct spt_entry e = spt_entry_at(node, spt_index(va, level));
		struct spt_node child;

		next = spt_addr_end(va, end, level);
		if (!spt_entry_present(&e)) {
			ret = e.pte && ops->hole ? ops->hole(w, &e, va) : 0;
		} else if (spt_pte_is_leaf(e.pte, level)) {
			ret = ops->leaf ? ops->leaf(w, &e, va) : 0;
		} else {
			child.pa = spt_pte_table_pa(w->pt->cfg, e.pte);
			child.meta = spt_node_meta(w->pt, child.pa);
			child.ptes = NULL;
			child.level = level - 1;
			ret = ops->enter ? ops->enter(w, &e, &child, va) : 0;
			if (ret)
				goto next;
			child.ptes = spt_node_ptes(w->pt, child.pa);
			ret = spt_walk_range(w, &child, va, next);
			if (!ret && ops->leave)
				ret = ops->leave(w, &e, &child, va);
		}
next:
		if (ret < 0)
			return ret;
	}
	return 0;
}
