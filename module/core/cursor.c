// SPDX-License-Identifier: GPL-2.0
/*
 * Cursors: movement and operations over a locked range (see locking.c for
 * how the range is locked).
 *
 * The cursor keeps the nodes on the way to its va in path[] (views with
 * their entries and meta slots, core/node.h) from the current level up
 * to the guard. Moving forward pops only the levels whose node no longer
 * contains va; going down reads one entry per level. So a long map or
 * unmap walks down once per node (per 2 MiB for 4 KiB pages), and the
 * per-page work is one PTE access in the current node, with shifts and
 * masks only. Every change of an entry goes through the entry operations
 * (core/entry.h).
 */
#include "internal.h"

/* The entry at va in the current node. */
static inline struct spt_entry spt_cursor_entry(const struct spt_cursor *c)
{
	return spt_entry_read(&c->path[c->level - 1], c->level,
			      spt_index(c->va, c->level));
}

/*
 * Out of line: it runs once per node, and inlined its pool lookups would
 * cost the per-leaf loops that call it registers.
 */
static noinline void spt_cursor_push(struct spt_cursor *c, u64 pa)
{
	c->level--;
	spt_cursor_set_node(c, c->level, pa);
}

static inline void spt_cursor_pop(struct spt_cursor *c)
{
	c->path[c->level - 1].pa = 0;
	c->level++;
}

/* Move to @va; path[] keeps the nodes that still contain it. */
static inline void spt_cursor_move(struct spt_cursor *c, u64 va)
{
	u64 diff = c->va ^ va;

	c->va = va;
	while (c->level < c->guard_level &&
	       (diff >> spt_node_shift(c->level)))
		spt_cursor_pop(c);
}

/* Preemption off and an RCU read-side section for the cursor's life. */
static void spt_cursor_enter(void)
	__acquires(RCU)
{
	preempt_disable();
	rcu_read_lock();
}

static void spt_cursor_exit(void)
	__releases(RCU)
{
	rcu_read_unlock();
	preempt_enable();
}

static int spt_cursor_open(struct spt_cursor *c, struct spt_pt *pt, u64 start,
			   u64 end, struct spt_flusher *fl, bool create)
{
	const struct spt_cfg *cfg = pt->cfg;
	int ret;

	if (((start | end) & (SPT_PAGE_SIZE - 1)) || start >= end ||
	    start < spt_cfg_managed_start(cfg) || end > spt_cfg_user_end(cfg))
		return -EINVAL;
	memset(c, 0, sizeof(*c));
	c->pt = pt;
	c->va = start;
	c->start = start;
	c->end = end;
	c->fl = fl;
	c->tlb_dirty = false;
	spt_cursor_enter();
	ret = spt_lock_range(c, create);
	if (ret) {
		spt_cursor_exit();
		return ret;
	}
	c->in_rcu = true;
	/*
	 * The section now belongs to the cursor, not to this function:
	 * spt_cursor_drop() ends it. (For sparse's lock-context check.)
	 */
	__release(RCU);
	return 0;
}

int spt_cursor_new(struct spt_cursor *c, struct spt_pt *pt, u64 start,
		   u64 end)
{
	return spt_cursor_open(c, pt, start, end, NULL, false);
}

int spt_cursor_mut_new(struct spt_cursor *c, struct spt_pt *pt, u64 start,
		       u64 end, struct spt_flusher *fl)
{
	if (WARN_ON_ONCE(!fl))
		return -EINVAL;
	return spt_cursor_open(c, pt, start, end, fl, true);
}

int spt_cursor_bits_new(struct spt_cursor *c, struct spt_pt *pt,
			unsigned int level, u64 start, u64 end,
			struct spt_flusher *fl)
{
	const struct spt_cfg *cfg = pt->cfg;
	u64 span = BIT_ULL(spt_node_shift(level));

	if (WARN_ON_ONCE(!fl) || !level || level > cfg->levels ||
	    start >= end)
		return -EINVAL;
	/* Whole nodes of @level: the guard is at @level or above. */
	start = max(ALIGN_DOWN(start, span), spt_cfg_managed_start(cfg));
	end = level == cfg->levels ? spt_cfg_user_end(cfg) : ALIGN(end, span);
	return spt_cursor_open(c, pt, start, end, fl, false);
}

void spt_cursor_drop(struct spt_cursor *c)
{
	if (WARN_ON_ONCE(!c->in_rcu))
		return;
	/* The section spt_cursor_open() handed to the cursor (for sparse). */
	__acquire(RCU);
	spt_unlock_range(c);
	c->in_rcu = false;
	spt_cursor_exit();
}

int spt_cursor_query(struct spt_cursor *c, struct spt_query *q)
{
	const struct spt_cfg *cfg = c->pt->cfg;

	unsigned int up;
	u32 deny = 0;

	if (c->va >= c->end)
		return -ERANGE;
	memset(q, 0, sizeof(*q));
	/* The entries above the current node, for the walk's permission. */
	for (up = cfg->levels; up > c->level; up--) {
		u64 pte = READ_ONCE(c->path[up - 1].ptes[spt_index(c->va, up)]);

		deny |= spt_pte_walk_deny(pte);
		q->rsvd |= !!spt_pte_rsvd(pte);
	}
	for (;;) {
		unsigned int level = c->level;
		struct spt_entry e = spt_cursor_entry(c);
		u64 pte = e.pte;

		q->va_start = spt_entry_base(c->va, level);
		q->va_end = q->va_start + spt_level_size(level);
		q->level = level;
		if (!spt_pte_present(pte))
			return 0;
		q->rsvd |= !!spt_pte_rsvd(pte);
		deny |= spt_pte_walk_deny(pte);
		if (spt_pte_is_leaf(pte, level)) {
			q->mapped = true;
			q->item.pa = spt_pte_leaf_pa(cfg, pte, level);
			q->item.level = level;
			q->item.tracked = spt_pte_tracked(pte);
			q->item.pinned = spt_pte_pinned(pte);
			q->item.pin_write = pte & SPT_PTE_PIN_W;
			spt_pte_prop(cfg, pte, level, &q->prop);
			q->prop.flags &= ~deny;
			q->pkey = spt_pte_pkey(pte);
			return 0;
		}
		spt_cursor_push(c, spt_pte_table_pa(cfg, pte));
	}
}

/* Move to the first mapped address in [va, target), or to target. */
static bool spt_cursor_seek(struct spt_cursor *c, u64 target)
{
	const struct spt_cfg *cfg = c->pt->cfg;

	while (c->va < target) {
		struct spt_entry e = spt_cursor_entry(c);

		if (!spt_entry_present(&e)) {
			spt_cursor_move(c, spt_addr_end(c->va, target,
							c->level));
			continue;
		}
		if (spt_pte_is_leaf(e.pte, c->level))
			return true;
		spt_cursor_push(c, spt_pte_table_pa(cfg, e.pte));
	}
	return false;
}

bool spt_cursor_find_next(struct spt_cursor *c, u64 len)
{
	if (len > c->end - c->va)
		return false;
	return spt_cursor_seek(c, c->va + len);
}

int spt_cursor_jump(struct spt_cursor *c, u64 va)
{
	if ((va & (SPT_PAGE_SIZE - 1)) || va < c->start || va >= c->end)
		return -EINVAL;
	spt_cursor_move(c, va);
	return 0;
}

/*
 * Entries of the current node were cleared. A node below the guard that is
 * left empty is unlinked and retired, and so on upwards; the cursor then
 * stands at the lowest remaining node.
 */
static void spt_cursor_prune(struct spt_cursor *c)
{
	unsigned int level = c->level;

	while (!c->path[level - 1].meta->nr_children &&
	       level < c->guard_level) {
		struct spt_node *node = &c->path[level - 1];
		u64 base = spt_entry_base(c->va, level + 1);
		struct spt_entry e = spt_entry_at(&c->path[level],
						  spt_index(c->va, level + 1));

		spt_entry_clear(c->pt, &e);
		spt_cursor_flush_add(c, base, base + spt_level_size(level + 1));
		spt_node_retire(c->pt, node->pa, node->meta, c->fl, true);
		spt_cursor_pop(c);
		level++;
	}
}

/*
 * Extend the path from the current level down to @target at va, creating
 * the missing nodes or splitting the huge leaf in the way, if any. All or
 * nothing: on -ENOMEM the table is unchanged.
 */
static int spt_cursor_build(struct spt_cursor *c, unsigned int target)
{
	struct spt_pt *pt = c->pt;
	const struct spt_cfg *cfg = pt->cfg;
	unsigned int top = c->level;
	struct spt_entry e = spt_cursor_entry(c);
	bool split = spt_entry_present(&e);
	struct spt_node_stash st;

	if (spt_node_stash_fill(pt, &st, top - 1, top - target))
		return -ENOMEM;
	if (split && spt_pte_tracked(e.pte)) {
		struct spt_meta *head;
		u64 hpa;

		/* Only 2 MiB leaves are tracked; they split into 4 KiB. */
		head = spt_leaf_head(pt, spt_pte_leaf_pa(cfg, e.pte, top), top,
				     &hpa);
		if (WARN_ON_ONCE(!head || top != 2) ||
		    !spt_meta_get_many(head, SPT_NR_ENTRIES - 1)) {
			spt_node_stash_drop(pt, &st);
			return -ENOMEM;
		}
	}
	while (c->level > target) {
		u64 base = spt_entry_base(c->va, c->level), child;

		if (split) {
			child = spt_entry_split_if_huge(&e, pt, &st);
			spt_cursor_flush_add(c, base,
					     base + spt_level_size(c->level));
		} else {
			child = spt_entry_alloc_if_absent(&e, pt, &st);
		}
		if (WARN_ON_ONCE(!child))
			break;
		spt_cursor_push(c, child);
		e = spt_cursor_entry(c);
	}
	spt_node_stash_drop(pt, &st);
	return 0;
}

/* Bring the cursor to the node of @level that holds va's entry. */
static __always_inline int spt_cursor_reach(struct spt_cursor *c,
					    unsigned int level)
{
	while (c->level < level)
		spt_cursor_pop(c);
	while (c->level > level) {
		struct spt_entry e = spt_cursor_entry(c);

		if (!spt_entry_is_node(&e))
			return spt_cursor_build(c, level);
		spt_cursor_push(c, spt_pte_table_pa(c->pt->cfg, e.pte));
	}
	return 0;
}

static __always_inline bool spt_item_ok(struct spt_cursor *c,
					const struct spt_item *item)
{
	u64 size = spt_level_size(item->level), hpa;
	struct spt_meta *m;

	if ((item->pa & (size - 1)) || (item->pa & ~c->pt->cfg->pa_mask))
		return false;
	if (item->pinned)
		return !item->tracked && !item->piece && item->level == 1 &&
		       c->pt->unpin;
	if (item->pin_write)
		return false;
	if (!item->tracked)
		return true;
	m = spt_pool_meta(c->pt->pool, item->pa);
	if (m && m->usage == SPT_USAGE_DATA && m->level == item->level)
		return spt_meta_ref(m) - 1 < SPT_REF_MAX;
	/* A 4 KiB piece of a 2 MiB frame (a share of part of it). */
	m = item->piece && item->level == 1 ?
	    spt_item_head(c->pt, item, &hpa) : NULL;
	return m && spt_meta_ref(m) - 1 < SPT_REF_MAX;
}

struct spt_meta *spt_item_head(struct spt_pt *pt, const struct spt_item *item,
			       u64 *head_pa)
{
	if (!item->tracked)
		return NULL;
	return spt_leaf_head(pt, item->pa, item->level, head_pa);
}

void spt_item_put(struct spt_pt *pt, const struct spt_item *item,
		  struct spt_flusher *fl)
{
	struct spt_meta *m;
	u64 head;

	m = spt_item_head(pt, item, &head);
	if (m && spt_meta_put(m))
		spt_flusher_queue(fl, head, m);
}

int spt_cursor_map(struct spt_cursor *c, const struct spt_item *item,
		   const struct spt_prop *prop, unsigned long *replaced)
{
	struct spt_pt *pt = c->pt;
	unsigned int level = item->level;
	u64 va = c->va, size, old, pte;
	struct spt_entry e;
	unsigned long n = 0;
	int ret;

	if (replaced)
		*replaced = 0;
	if (!c->fl || level < 1 || level > SPT_MAX_LEAF_LEVEL ||
	    level > c->guard_level)
		return -EINVAL;
	size = spt_level_size(level);
	if (va >= c->end || (va & (size - 1)) || c->end - va < size ||
	    !spt_prop_valid(prop) || !spt_item_ok(c, item))
		return -EINVAL;
	ret = spt_cursor_reach(c, level);
	if (ret)
		return ret;
	e = spt_cursor_entry(c);
	pte = spt_pte_leaf(pt->cfg, item->pa, level, prop, item->tracked);
	if (item->pinned) {
		pte |= SPT_PTE_PINNED | (item->pin_write ? SPT_PTE_PIN_W : 0);
		if (!item->pin_write)
			pte &= ~SPT_PTE_RW;
		atomic_long_inc(&pt->nr_pinned);
	}
	old = spt_entry_replace(pt, &e, pte);
	if (spt_pte_present(old)) {
		if (spt_pte_is_leaf(old, level)) {
			spt_leaf_release(pt, old, level, c->fl);
			n = 1;
		} else {
			u64 cpa = spt_pte_table_pa(pt->cfg, old);

			n = spt_subtree_release(pt, cpa, level - 1, c->fl,
						true);
		}
		spt_cursor_flush_add(c, va, va + size);
	}
	if (replaced)
		*replaced = n;
	spt_cursor_move(c, va + size);
	return 0;
}

/* Validate @run once and make its template; -EINVAL. */
static int spt_run_start(struct spt_cursor *c, const struct spt_map_run *run,
			 const struct spt_prop *prop, struct spt_leaf_run *r)
{
	const struct spt_cfg *cfg = c->pt->cfg;
	unsigned int level = run->level;
	u64 size;

	if (!c->fl || level < 1 || level > SPT_MAX_LEAF_LEVEL ||
	    level > c->guard_level || !spt_prop_valid(prop))
		return -EINVAL;
	size = spt_level_size(level);
	if (c->va >= c->end || (c->va & (size - 1)) ||
	    run->nr > (c->end - c->va) >> (SPT_PAGE_SHIFT + 9 * (level - 1)))
		return -EINVAL;
	r->pas = run->pas;
	r->pa = run->pa;
	r->attrs = spt_pte_leaf_attrs(cfg, level, prop, run->tracked);
	r->bad = ~cfg->pa_mask | (size - 1);
	r->level = level;
	r->tracked = run->tracked;
	spt_meta_walk_init(&r->mw);
	/* A contiguous run's addresses are checked here, all at once. */
	if (!run->pas && run->nr &&
	    ((run->pa & r->bad) || ((run->pa + (run->nr - 1) * size) & r->bad)))
		return -EINVAL;
	return 0;
}

int spt_cursor_map_run(struct spt_cursor *c, const struct spt_map_run *run,
		       const struct spt_prop *prop, unsigned long *done)
{
	unsigned int level = run->level;
	struct spt_leaf_run r;
	int ret;

	*done = 0;
	ret = spt_run_start(c, run, prop, &r);
	while (!ret && *done < run->nr) {
		struct spt_item item = {
			.pa = r.pas ? *r.pas : r.pa, .level = level,
			.tracked = r.tracked,
		};
		unsigned int first, n, k;
		struct spt_node *node;

		/*
		 * One descent per node, then a loop over its entries. The
		 * frame that comes first is checked before the descent, so
		 * that no node is made that no leaf will fill.
		 */
		if (!spt_item_ok(c, &item)) {
			ret = -EINVAL;
			break;
		}
		ret = spt_cursor_reach(c, level);
		if (ret)
			break;
		node = &c->path[level - 1];
		first = spt_index(c->va, level);
		n = min_t(unsigned long, run->nr - *done,
			  SPT_NR_ENTRIES - first);
		k = spt_node_absent_run(node, first, n);
		if (k) {
			k = spt_node_fill_leaves(c->pt, node, first, k, &r);
			*done += k;
			spt_cursor_move(c, c->va + k * spt_level_size(level));
			if (k == n)
				continue;
		}
		/*
		 * An entry that is present (replaced as spt_cursor_map() does)
		 * or a frame the loop stopped at: the per-leaf path, which
		 * maps it or says why not.
		 */
		item.pa = r.pas ? *r.pas : r.pa;
		ret = spt_cursor_map(c, &item, prop, NULL);
		if (ret)
			break;
		(*done)++;
		if (r.pas)
			r.pas++;
		else
			r.pa += spt_level_size(level);
	}
	return ret;
}

/* Unmap the 4 KiB leaves from va up to @target or the end of the node. */
static long spt_unmap_ptes(struct spt_cursor *c, u64 target)
{
	u64 va = c->va, stop = spt_addr_end(va, target, 2);
	unsigned int first = spt_index(va, 1);
	unsigned int last = first + ((stop - va) >> SPT_PAGE_SHIFT);
	unsigned int n;

	n = spt_node_clear_leaves(c->pt, &c->path[0], first, last, c->fl);
	if (n) {
		spt_cursor_flush_add(c, va, stop);
		spt_cursor_prune(c);
	}
	spt_cursor_move(c, stop);
	return n;
}

long spt_cursor_unmap(struct spt_cursor *c, u64 len)
{
	struct spt_pt *pt = c->pt;
	long count = 0;
	u64 target;

	if (!c->fl || (len & (SPT_PAGE_SIZE - 1)) || len > c->end - c->va)
		return -EINVAL;
	target = c->va + len;
	while (c->va < target) {
		unsigned int level = c->level;
		u64 start = spt_entry_base(c->va, level);
		u64 next = start + spt_level_size(level);
		struct spt_entry e;
		bool whole;

		if (level == 1) {
			count += spt_unmap_ptes(c, target);
			continue;
		}
		e = spt_cursor_entry(c);
		whole = start == c->va && next <= target;
		if (!spt_entry_present(&e)) {
			spt_cursor_move(c, spt_addr_end(c->va, target, level));
			continue;
		}
		if (!spt_pte_is_leaf(e.pte, level)) {
			u64 cpa = spt_pte_table_pa(pt->cfg, e.pte);

			if (!whole) {
				spt_cursor_push(c, cpa);
				continue;
			}
			spt_entry_clear(pt, &e);
			count += spt_subtree_release(pt, cpa, level - 1, c->fl,
						     true);
		} else if (whole) {
			spt_leaf_release(pt, spt_entry_clear(pt, &e), level,
					 c->fl);
			count++;
		} else {
			int ret = spt_cursor_build(c, level - 1);

			if (ret)
				return ret;
			continue;
		}
		spt_cursor_flush_add(c, start, next);
		spt_cursor_prune(c);
		spt_cursor_move(c, next);
	}
	return count;
}

static bool spt_prot_op_valid(const struct spt_prot_op *op)
{
	return !((op->set | op->clear) & ~SPT_PROT_ALL) &&
	       !(op->set & SPT_PROT_GLOBAL) && op->cache >= -1 &&
	       op->cache < SPT_CACHE_NR;
}

int spt_cursor_protect_next(struct spt_cursor *c, u64 len,
			    const struct spt_prot_op *op, u64 *start,
			    u64 *end)
{
	u64 target, size, ls, clear, set;
	struct spt_entry e;
	unsigned int level;

	if (!c->fl || (len & (SPT_PAGE_SIZE - 1)) || len > c->end - c->va ||
	    !spt_prot_op_valid(op))
		return -EINVAL;
	target = c->va + len;
	if (!spt_cursor_seek(c, target))
		return 0;
	for (;;) {
		int ret;

		level = c->level;
		size = spt_level_size(level);
		ls = spt_entry_base(c->va, level);
		if (ls == c->va && ls + size <= target)
			break;
		ret = spt_cursor_build(c, level - 1);
		if (ret)
			return ret;
	}
	e = spt_cursor_entry(c);
	spt_pte_prot_masks(c->pt->cfg, op, level, &clear, &set);
	spt_entry_protect(&e, clear, set);
	*start = ls;
	*end = ls + size;
	spt_cursor_flush_add(c, ls, ls + size);
	spt_cursor_move(c, ls + size);
	return 1;
}

int spt_cursor_protect(struct spt_cursor *c, u64 len,
		       const struct spt_prot_op *op, u64 *count,
		       unsigned int *max_level)
{
	u64 target, clear[SPT_MAX_LEAF_LEVEL], set[SPT_MAX_LEAF_LEVEL];
	unsigned int level;
	int ret;

	if (!c->fl || (len & (SPT_PAGE_SIZE - 1)) || len > c->end - c->va ||
	    !spt_prot_op_valid(op))
		return -EINVAL;
	for (level = 1; level <= SPT_MAX_LEAF_LEVEL; level++)
		spt_pte_prot_masks(c->pt->cfg, op, level, &clear[level - 1],
				   &set[level - 1]);
	target = c->va + len;
	while (spt_cursor_seek(c, target)) {
		u64 va = c->va, ls, le;

		level = c->level;
		ls = spt_entry_base(va, level);
		le = ls + spt_level_size(level);
		if (level == 1) {
			/* The rest of the node's leaves in the window. */
			unsigned int first = spt_index(va, 1);

			le = spt_addr_end(va, target, 2);
			*count += spt_node_protect_leaves(&c->path[0], first,
					first + ((le - va) >> SPT_PAGE_SHIFT),
					clear[0], set[0]);
		} else if (ls == va && le <= target) {
			struct spt_entry e = spt_cursor_entry(c);

			spt_entry_protect(&e, clear[level - 1], set[level - 1]);
			(*count)++;
		} else {
			/* A huge leaf the window cuts: split first. */
			ret = spt_cursor_protect_next(c, target - va, op, &ls,
						      &le);
			if (ret < 0)
				return ret;
			(*count)++;
			while (spt_level_size(level) > le - ls)
				level--;
		}
		spt_cursor_flush_add(c, va, le);
		spt_cursor_move(c, le);
		if (max_level && *max_level < level)
			*max_level = level;
	}
	return 0;
}

struct spt_bits_walk {
	struct spt_walk walk;
	struct spt_cursor *c;
	struct spt_bits_op *op;
};

/* An entry of the op's level: change it, and do not go below. */
static int spt_bits_entry(struct spt_walk *w, struct spt_entry *e, u64 va)
{
	struct spt_bits_walk *bw = container_of(w, struct spt_bits_walk, walk);
	struct spt_bits_op *op = bw->op;
	u64 base;

	if (e->level != op->level)
		return 0;
	if (spt_entry_set_bits(bw->c->pt->cfg, e, op->clear, op->set)) {
		base = spt_entry_base(va, e->level);
		spt_cursor_flush_add(bw->c, base,
				     base + spt_level_size(e->level));
		op->changed++;
	}
	if (!op->entries++)
		op->first = e->pte;
	return SPT_WALK_SKIP;
}

static int spt_bits_enter(struct spt_walk *w, struct spt_entry *e,
			  struct spt_node *child, u64 va)
{
	return spt_bits_entry(w, e, va);
}

static const struct spt_walk_ops spt_bits_ops = {
	.leaf = spt_bits_entry,
	.enter = spt_bits_enter,
};

int spt_cursor_entry_bits(struct spt_cursor *c, struct spt_bits_op *op)
{
	struct spt_bits_walk bw = {
		.walk = { .ops = &spt_bits_ops, .pt = c->pt },
		.c = c, .op = op,
	};

	if (!c->fl || op->level > c->guard_level || op->va < c->start ||
	    op->end > c->end || op->va >= op->end ||
	    ((op->set | op->clear) & ~SPT_PTE_BITS_ALL))
		return -EINVAL;
	op->entries = 0;
	op->changed = 0;
	op->first = 0;
	spt_walk_range(&bw.walk, &c->path[c->guard_level - 1], op->va,
		       op->end);
	return 0;
}

unsigned int spt_largest_level(u64 va, u64 pa, u64 len,
			       unsigned int max_level)
{
	unsigned int level = min_t(unsigned int, max_level,
				   SPT_MAX_LEAF_LEVEL);

	while (level > 1) {
		u64 size = spt_level_size(level);

		if (!((va | pa) & (size - 1)) && len >= size)
			break;
		level--;
	}
	return level ? level : 1;
}
