// SPDX-License-Identifier: GPL-2.0
/*
 * One entry of a node (see entry.h): the operations that allocate or split,
 * what a leaf holds and gives back, and tearing down a detached subtree.
 *
 * Reference accounting of tracked frames: every leaf PTE that maps (a part
 * of) a tracked frame holds one reference on the frame's head slot. A
 * 2 MiB frame split into 512 4 KiB leaves therefore gains 511 references
 * (taken by the cursor before the split is published), and a 4 KiB leaf
 * inside it finds its head 2 MiB below.
 */
#include "internal.h"

void spt_leaf_unpin(struct spt_pt *pt, u64 pte, struct spt_flusher *fl)
{
	atomic_long_dec(&pt->nr_pinned);
	if (!WARN_ON_ONCE(!pt->unpin))
		pt->unpin(pt, pte & pt->cfg->pa_mask, pte & SPT_PTE_PIN_W, fl);
}

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

	if (spt_pte_pinned(pte)) {
		spt_leaf_unpin(pt, pte, fl);
		return;
	}
	if (!spt_pte_tracked(pte))
		return;
	m = spt_leaf_head(pt, spt_pte_leaf_pa(pt->cfg, pte, level), level,
			  &head);
	if (WARN_ON_ONCE(!m))
		return;
	if (spt_meta_is_shared(m))
		fl->shared_pages += 1UL << (9 * (level - 1));
	if (spt_meta_put(m))
		spt_flusher_queue(fl, head, m);
}

/*
 * Drop the reference a leaf held on the in-use DATA slot @m; true if it
 * was the last. One atomic decrement instead of spt_meta_put()'s
 * compare-and-exchange loop: while the leaf holds its reference the count
 * is in 1..MAX, nobody else can move it out of that range, and the
 * decrement cannot pass 0. A count outside the range is a bug: warned
 * about and put back.
 */
static inline bool spt_leaf_put(struct spt_meta *m)
{
	u32 old = (u32)atomic_dec_return(&m->refcount) + 1;

	if (likely(old - 1 < SPT_REF_MAX))
		return old == 1;
	atomic_inc(&m->refcount);
	WARN_ON_ONCE(1);
	return false;
}

/*
 * The loop of spt_node_clear_leaves() and spt_node_release_leaves(): the
 * present 4 KiB leaves among entries [first, last) of @ptes release what
 * they held (cleared first if @clear); their slots are walked by pointer.
 * Returns how many there were.
 */
static __always_inline unsigned int spt_leaves_release(struct spt_pt *pt,
						       u64 *ptes,
						       unsigned int first,
						       unsigned int last,
						       struct spt_flusher *fl,
						       bool clear)
{
	u64 pa_mask = pt->cfg->pa_mask, keep = pa_mask | SPT_PTE_TRACKED;
	/* usage, level, nr_children: a 4 KiB data frame never shared */
	u32 kind = SPT_USAGE_DATA | 1 << 8;
	struct spt_meta_walk mw;
	unsigned int i, n = 0;
	u64 want;

	spt_meta_walk_init(&mw);
	/*
	 * x = (pte & keep) ^ want passes the walk's one test only for a
	 * tracked leaf (the TRACKED bit cancels out) in the chunk of mw.
	 */
	want = mw.chunk_pa;
	for (i = first; i < last; i++) {
		u64 pte = READ_ONCE(ptes[i]), x;
		struct spt_meta *m;
		u32 k;

		if (!spt_pte_present(pte))
			continue;
		n++;
		if (clear)
			WRITE_ONCE(ptes[i], 0);
		x = (pte & keep) ^ want;
		if (likely(!(x & ~SPT_META_WALK_IN))) {
			m = (void *)mw.base + (x >> SPT_META_WALK_SHIFT);
		} else {
			if (!spt_pte_tracked(pte)) {
				if (unlikely(spt_pte_pinned(pte)))
					spt_leaf_unpin(pt, pte, fl);
				continue;
			}
			m = spt_meta_walk_miss(pt->pool, &mw, pte & pa_mask);
			want = mw.chunk_pa | SPT_PTE_TRACKED;
		}
		if (m)
			memcpy(&k, &m->usage, sizeof(k));
		if (unlikely(!m || k != kind)) {
			/*
			 * A shared frame (counted there), a piece of a
			 * 2 MiB frame (or a bug it warns of).
			 */
			spt_leaf_release(pt, pte, 1, fl);
			continue;
		}
		if (spt_leaf_put(m))
			spt_flusher_queue(fl, pte & pa_mask, m);
	}
	spt_leaves_add(pt, 1, -(long)n);
	return n;
}

unsigned int spt_node_clear_leaves(struct spt_pt *pt,
				   const struct spt_node *node,
				   unsigned int first, unsigned int last,
				   struct spt_flusher *fl)
{
	unsigned int n;

	n = spt_leaves_release(pt, node->ptes, first, last, fl, true);
	if (!WARN_ON_ONCE(node->meta->nr_children < n))
		node->meta->nr_children -= n;
	return n;
}

unsigned int spt_node_release_leaves(struct spt_pt *pt,
				     const struct spt_node *node,
				     struct spt_flusher *fl)
{
	return spt_leaves_release(pt, node->ptes, 0, SPT_NR_ENTRIES, fl,
				  false);
}

/*
 * The loop of spt_node_fill_leaves(), one copy per kind of run (the
 * constant @array and @tracked select it): a store per leaf, a slot check
 * per tracked frame, an address check per frame of an array. What the
 * loop reads of @r is in locals: the stores to the node could alias it.
 */
static __always_inline unsigned int spt_fill(struct spt_pt *pt, u64 *ptes,
					     unsigned int n,
					     struct spt_leaf_run *r,
					     bool array, bool tracked)
{
	u64 step = spt_level_size(r->level), attrs = r->attrs, bad = r->bad;
	u16 kind = SPT_USAGE_DATA | r->level << 8;
	const u64 *src = r->pas;
	u64 pa = r->pa, chunk_pa = r->mw.chunk_pa;
	void *base = r->mw.base;
	u64 *p, *end = ptes + n;

	for (p = ptes; p < end; p++) {
		if (array)
			pa = *src;
		if (tracked) {
			u64 x = pa ^ chunk_pa;
			struct spt_meta *m;
			u16 k;

			if (unlikely(x & ~SPT_META_WALK_IN)) {
				if ((pa & bad) ||
				    !spt_meta_walk_miss(pt->pool, &r->mw, pa))
					break;
				chunk_pa = r->mw.chunk_pa;
				base = r->mw.base;
				x = pa ^ chunk_pa;
			}
			m = base + (x >> SPT_META_WALK_SHIFT);
			memcpy(&k, &m->usage, sizeof(k));
			if (k != kind || spt_meta_ref(m) - 1 >= SPT_REF_MAX)
				break;
		} else if (array && (pa & bad)) {
			break;
		}
		WRITE_ONCE(*p, pa | attrs);
		if (array)
			src++;
		else
			pa += step;
	}
	if (array)
		r->pas = src;
	else
		r->pa = pa;
	return p - ptes;
}

unsigned int spt_node_fill_leaves(struct spt_pt *pt,
				  const struct spt_node *node,
				  unsigned int first, unsigned int n,
				  struct spt_leaf_run *r)
{
	u64 *ptes = node->ptes + first;
	unsigned int k;

	if (r->pas)
		k = r->tracked ? spt_fill(pt, ptes, n, r, true, true) :
				 spt_fill(pt, ptes, n, r, true, false);
	else
		k = r->tracked ? spt_fill(pt, ptes, n, r, false, true) :
				 spt_fill(pt, ptes, n, r, false, false);
	node->meta->nr_children += k;
	spt_leaves_add(pt, r->level, k);
	return k;
}

u64 spt_entry_alloc_if_absent(struct spt_entry *e, struct spt_pt *pt,
			      struct spt_node_stash *st)
{
	u64 pa;

	if (spt_entry_present(e) || e->level == 1)
		return 0;
	pa = spt_node_stash_take(st);
	if (!pa)
		return 0;
	spt_node_lock(spt_node_meta(pt, pa));
	spt_entry_set_child(pt, e, pa);
	return pa;
}

/*
 * Fill the empty node @child (of level @level - 1) with the 512 leaves that
 * together map what the huge leaf @pte of @level maps, with the same
 * property.
 */
static void spt_split_fill(struct spt_pt *pt, const struct spt_node *child,
			   u64 pte, unsigned int level)
{
	const struct spt_cfg *cfg = pt->cfg;
	unsigned int lower = level - 1;
	u64 pa = spt_pte_leaf_pa(cfg, pte, level);
	u64 step = spt_level_size(lower);
	struct spt_prop prop;
	u64 attrs;
	unsigned int i;

	spt_pte_prop(cfg, pte, level, &prop);
	/*
	 * Keep the cache bits exactly (two policies may share them), moving
	 * PAT from bit 12 to bit 7 (where huge leaves have PS) for 4 KiB.
	 */
	attrs = spt_pte_leaf_attrs(cfg, lower, &prop, spt_pte_tracked(pte));
	attrs &= ~(SPT_PTE_PWT | SPT_PTE_PCD |
		   (lower == 1 ? SPT_PTE_PAT : SPT_PTE_PAT_LARGE));
	attrs |= pte & (SPT_PTE_PWT | SPT_PTE_PCD);
	if (pte & SPT_PTE_PAT_LARGE)
		attrs |= lower == 1 ? SPT_PTE_PAT : SPT_PTE_PAT_LARGE;
	/* Deliberate bits (SPT_IOCTL_ENTRY_BITS) go to every piece. */
	attrs |= pte & (SPT_PTE_MARK | SPT_PTE_AVL | SPT_PTE_RSVD);
	for (i = 0; i < SPT_NR_ENTRIES; i++)
		child->ptes[i] = (pa + i * step) | attrs;
	child->meta->nr_children = SPT_NR_ENTRIES;
	spt_leaves_add(pt, lower, SPT_NR_ENTRIES);
}

u64 spt_entry_split_if_huge(struct spt_entry *e, struct spt_pt *pt,
			    struct spt_node_stash *st)
{
	unsigned int level = e->level;
	struct spt_node child;
	u64 pa;

	if (!spt_entry_is_leaf(e) || level == 1)
		return 0;
	pa = spt_node_stash_take(st);
	if (!pa)
		return 0;
	spt_node_view(pt, pa, level - 1, &child);
	spt_split_fill(pt, &child, e->pte, level);
	spt_node_lock(child.meta);
	spt_entry_set_child(pt, e, pa);
	return pa;
}

struct spt_release {
	struct spt_walk walk;
	struct spt_flusher *fl;
	bool locked;
	unsigned long leaves;
};

static int spt_release_leaf(struct spt_walk *w, struct spt_entry *e, u64 va)
{
	struct spt_release *r = container_of(w, struct spt_release, walk);

	spt_leaf_release(w->pt, e->pte, e->level, r->fl);
	spt_leaves_add(w->pt, e->level, -1);
	r->leaves++;
	return 0;
}

/* A node of 4 KiB leaves is released in one loop, not leaf by leaf. */
static int spt_release_enter(struct spt_walk *w, struct spt_entry *e,
			     struct spt_node *child, u64 va)
{
	struct spt_release *r = container_of(w, struct spt_release, walk);

	if (child->level != 1)
		return 0;
	child->ptes = spt_node_ptes(w->pt, child->pa);
	r->leaves += spt_node_release_leaves(w->pt, child, r->fl);
	spt_node_retire(w->pt, child->pa, child->meta, r->fl, r->locked);
	return SPT_WALK_SKIP;
}

static int spt_release_leave(struct spt_walk *w, struct spt_entry *e,
			     struct spt_node *child, u64 va)
{
	struct spt_release *r = container_of(w, struct spt_release, walk);

	spt_node_retire(w->pt, child->pa, child->meta, r->fl, r->locked);
	return 0;
}

static const struct spt_walk_ops spt_release_ops = {
	.leaf = spt_release_leaf,
	.enter = spt_release_enter,
	.leave = spt_release_leave,
};

unsigned long spt_subtree_release(struct spt_pt *pt, u64 pa,
				  unsigned int level, struct spt_flusher *fl,
				  bool locked)
{
	struct spt_release r = {
		.walk = { .ops = &spt_release_ops, .pt = pt },
		.fl = fl, .locked = locked,
	};
	struct spt_node node;

	spt_node_view(pt, pa, level, &node);
	/* The subtree is unlinked: its addresses are relative to 0. */
	if (level == 1)
		r.leaves = spt_node_release_leaves(pt, &node, fl);
	else
		spt_walk_range(&r.walk, &node, 0,
			       1ULL << spt_node_shift(level));
	spt_node_retire(pt, pa, node.meta, fl, locked);
	return r.leaves;
}

void spt_root_share_kernel_half(const struct spt_cfg *cfg,
				const struct spt_node *root,
				const u64 *kernel_top)
{
	unsigned int i;

	for (i = 0; i < SPT_NR_ENTRIES; i++) {
		if (i < cfg->top_first || i > cfg->top_last)
			root->ptes[i] = kernel_top[i];
	}
}
