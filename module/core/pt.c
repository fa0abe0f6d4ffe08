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
	struct spt_node root;
	unsigned int i;
	int ret;

	if (WARN_ON_ONCE((cfg->levels != 4 && cfg->levels != 5) ||
			 cfg->top_first > cfg->top_last ||
			 cfg->top_last >= SPT_NR_ENTRIES ||
			 (cfg->pa_mask & (SPT_PAGE_SIZE - 1))))
		return -EINVAL;
	pt->cfg = cfg;
	pt->pool = pool;
	pt->va_offset = spt_pool_va_offset(pool);
	pt->root_pa = 0;
	atomic_set(&pt->tlb_gen, 0);
	for (i = 0; i < SPT_MAX_LEVELS; i++)
		atomic_long_set(&pt->nr_level_nodes[i], 0);
	for (i = 0; i < SPT_MAX_LEAF_LEVEL; i++)
		atomic_long_set(&pt->nr_leaves[i], 0);
	atomic_long_set(&pt->nr_pinned, 0);
	pt->unpin = NULL;
	ret = spt_node_alloc(pt, cfg->levels, &pt->root_pa);
	if (ret) {
		pt->root_pa = 0;
		return ret;
	}
	if (kernel_top) {
		spt_node_view(pt, pt->root_pa, cfg->levels, &root);
		spt_root_share_kernel_half(cfg, &root, kernel_top);
	}
	return 0;
}

long spt_pt_nr_nodes(const struct spt_pt *pt)
{
	long n = 0;
	unsigned int i;

	for (i = 0; i < SPT_MAX_LEVELS; i++)
		n += atomic_long_read(&pt->nr_level_nodes[i]);
	return n;
}

void spt_pt_counts_read(const struct spt_pt *pt, struct spt_pt_counts *counts)
{
	unsigned int i;

	/* A reader racing with a cursor never sees a count below 0. */
	for (i = 0; i < SPT_MAX_LEVELS; i++)
		counts->nodes[i] = max(atomic_long_read(&pt->nr_level_nodes[i]),
				       0L);
	for (i = 0; i < SPT_MAX_LEAF_LEVEL; i++)
		counts->leaves[i] = max(atomic_long_read(&pt->nr_leaves[i]),
					0L);
	counts->pinned = max(atomic_long_read(&pt->nr_pinned), 0L);
}

struct spt_destroy {
	struct spt_walk walk;
	struct spt_flusher *fl;
};

/* A leaf in the root: impossible (1 GiB is the largest); just clear it. */
static int spt_destroy_leaf(struct spt_walk *w, struct spt_entry *e, u64 va)
{
	spt_entry_clear(w->pt, e);
	WARN_ON_ONCE(1);
	return 0;
}

static int spt_destroy_enter(struct spt_walk *w, struct spt_entry *e,
			     struct spt_node *child, u64 va)
{
	struct spt_destroy *d = container_of(w, struct spt_destroy, walk);

	spt_entry_clear(w->pt, e);
	spt_subtree_release(w->pt, child->pa, child->level, d->fl, false);
	cond_resched();	/* a large space is torn down in pieces */
	return SPT_WALK_SKIP;
}

static const struct spt_walk_ops spt_destroy_ops = {
	.leaf = spt_destroy_leaf,
	.enter = spt_destroy_enter,
};

void spt_pt_destroy(struct spt_pt *pt, struct spt_flusher *fl)
{
	const struct spt_cfg *cfg = pt->cfg;
	struct spt_destroy d = {
		.walk = { .ops = &spt_destroy_ops, .pt = pt }, .fl = fl,
	};
	struct spt_node root;

	if (!pt->root_pa)
		return;
	spt_node_view(pt, pt->root_pa, cfg->levels, &root);
	spt_walk_range(&d.walk, &root, spt_cfg_managed_start(cfg),
		       spt_cfg_user_end(cfg));
	WARN_ON_ONCE(root.meta->nr_children);
	spt_flusher_add_span(fl, spt_cfg_managed_start(cfg),
			     spt_cfg_user_end(cfg));
	spt_node_retire(pt, pt->root_pa, root.meta, fl, false);
	WRITE_ONCE(pt->root_pa, 0);	/* lockless walkers read it */
}
