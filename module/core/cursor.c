// SPDX-License-Identifier: GPL-2.0
/*
 * Cursors: movement and operations over a locked range (see locking.c for
 * how the range is locked).
 *
 * The cursor keeps the nodes on the way to its va in path[] (with their
 * contents and slots cached in ptes[] and meta[]) from the current level up
 * to the guard. Moving forward pops only the levels whose node no longer
 * contains va; going down reads one entry per level. So a long map or
 * unmap walks down once per node (per 2 MiB for 4 KiB pages), and the
 * per-page work is one PTE access in the current node, with shifts and
 * masks only.
 */
#include "internal.h"

static inline u64 *spt_cursor_slot(const struct spt_cursor *c)
{
	return &c->ptes[c->level - 1][spt_index(c->va, c->level)];
}

static inline void spt_cursor_push(struct spt_cursor *c, u64 pa)
{
	c->level--;
	spt_cursor_set_node(c, c->level, pa);
}

static inline void spt_cursor_pop(struct spt_cursor *c)
{
	c->path[c->level - 1] = 0;
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

/* End of the entry of @level that contains @va. */
static inline u64 spt_entry_end(u64 va, unsigned int level)
{
	return (va | (spt_level_size(level) - 1)) + 1;
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
			   u64 end, struct spt_flusher *fl)
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
	ret = spt_lock_range(c, fl);
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
	return spt_cursor_open(c, pt, start, end, NULL);
}

int spt_cursor_mut_new(struct spt_cursor *c, struct spt_pt *pt, u64 start,
		       u64 end, struct spt_flusher *fl)
{
	if (WARN_ON_ONCE(!fl))
		return -EINVAL;
	return spt_cursor_open(c, pt, start, end, fl);
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

	if (c->va >= c->end)
		return -ERANGE;
	memset(q, 0, sizeof(*q));
	for (;;) {
		unsigned int level = c->level;
		u64 pte = READ_ONCE(*spt_cursor_slot(c));
		u64 size = spt_level_size(level);

		q->va_start = c->va & ~(size - 1);
		q->va_end = q->va_start + size;
		q->level = level;
		if (!spt_pte_present(pte))
			return 0;
		if (spt_pte_is_leaf(pte, level)) {
			q->mapped = true;
			q->item.pa = spt_pte_leaf_pa(cfg, pte, level);
			q->item.level = level;
			q->item.tracked = spt_pte_tracked(pte);
			spt_pte_prop(cfg, pte, level, &q->prop);
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
		u64 pte = READ_ONCE(*spt_cursor_slot(c));

		if (!spt_pte_present(pte)) {
			spt_cursor_move(c, min(spt_entry_end(c->va, c->level),
					       target));
			continue;
		}
		if (spt_pte_is_leaf(pte, c->level))
			return true;
		spt_cursor_push(c, spt_pte_table_pa(cfg, pte));
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
 * @n present entries of the current node (at @level) were cleared. A node
 * below the guard that is left empty is unlinked and retired, and so on
 * upwards; the cursor then stands at the lowest remaining node.
 */
static void spt_cursor_entries_gone(struct spt_cursor *c, unsigned int level,
				    unsigned int n)
{
	struct spt_meta *m = c->meta[level - 1];

	WARN_ON_ONCE(level != c->level || m->nr_children < n);
	m->nr_children -= n;
	while (!m->nr_children && level < c->guard_level) {
		u64 span = 1ULL << spt_node_shift(level);
		u64 base = c->va & ~(span - 1);

		WRITE_ONCE(c->ptes[level][spt_index(c->va, level + 1)], 0);
		spt_cursor_flush_add(c, base, base + span);
		spt_node_retire(c->pt, c->path[level - 1], m, c->fl, true);
		spt_cursor_pop(c);
		level++;
		m = c->meta[level - 1];
		m->nr_children--;
	}
}

/*
 * Extend the path from the current level down to @target at va, creating
 * the missing nodes and splitting the huge leaf in the way, if any. All or
 * nothing: on -ENOMEM the table is unchanged.
 */
static int spt_cursor_build(struct spt_cursor *c, unsigned int target)
{
	struct spt_pt *pt = c->pt;
	const struct spt_cfg *cfg = pt->cfg;
	unsigned int top = c->level, n = top - target, i;
	u64 *slot = spt_cursor_slot(c);
	u64 pte = READ_ONCE(*slot);
	bool split = spt_pte_present(pte);
	u64 pas[SPT_MAX_LEVELS];

	for (i = 0; i < n; i++) {
		if (spt_node_alloc(pt, top - 1 - i, &pas[i]))
			goto fail;
	}
	if (split && spt_pte_tracked(pte)) {
		struct spt_meta *head;
		u64 hpa;

		/* Only 2 MiB leaves are tracked; they split into 4 KiB. */
		head = spt_leaf_head(pt, spt_pte_leaf_pa(cfg, pte, top), top,
				     &hpa);
		if (WARN_ON_ONCE(!head || top != 2) ||
		    !spt_meta_get_many(head, SPT_NR_ENTRIES - 1))
			goto fail;
	}
	for (i = 0; i < n; i++) {
		unsigned int level = top - i;
		struct spt_meta *nm = spt_node_meta(pt, pas[i]);

		if (split) {
			u64 size = spt_level_size(level);
			u64 base = c->va & ~(size - 1);

			spt_split_fill(cfg, spt_node_ptes(pt, pas[i]), pte,
				       level);
			nm->nr_children = SPT_NR_ENTRIES;
			spt_cursor_flush_add(c, base, base + size);
		}
		spt_node_lock(nm);
		smp_wmb();	/* node contents before the entry */
		WRITE_ONCE(*slot, spt_pte_table(pas[i]));
		if (!split)
			c->meta[level - 1]->nr_children++;
		spt_cursor_push(c, pas[i]);
		slot = spt_cursor_slot(c);
		pte = READ_ONCE(*slot);
	}
	return 0;
fail:
	while (i--)
		spt_node_free_unpublished(pt, pas[i]);
	return -ENOMEM;
}

/* Bring the cursor to the node of @level that holds va's entry. */
static int spt_cursor_reach(struct spt_cursor *c, unsigned int level)
{
	while (c->level < level)
		spt_cursor_pop(c);
	while (c->level > level) {
		u64 pte = READ_ONCE(*spt_cursor_slot(c));

		if (!spt_pte_present(pte) || spt_pte_is_leaf(pte, c->level))
			return spt_cursor_build(c, level);
		spt_cursor_push(c, spt_pte_table_pa(c->pt->cfg, pte));
	}
	return 0;
}

static bool spt_item_ok(struct spt_cursor *c, const struct spt_item *item)
{
	u64 size = spt_level_size(item->level);
	struct spt_meta *m;

	if ((item->pa & (size - 1)) || (item->pa & ~c->pt->cfg->pa_mask))
		return false;
	if (!item->tracked)
		return true;
	m = spt_pool_meta(c->pt->pool, item->pa);
	return m && m->usage == SPT_USAGE_DATA && m->level == item->level &&
	       spt_meta_ref(m) - 1 < SPT_REF_MAX;
}

int spt_cursor_map(struct spt_cursor *c, const struct spt_item *item,
		   const struct spt_prop *prop, unsigned long *replaced)
{
	struct spt_pt *pt = c->pt;
	unsigned int level = item->level;
	u64 va = c->va, size, old, *slot;
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
	slot = spt_cursor_slot(c);
	old = READ_ONCE(*slot);
	WRITE_ONCE(*slot, spt_pte_leaf(pt->cfg, item->pa, level, prop,
				       item->tracked));
	if (!spt_pte_present(old)) {
		c->meta[level - 1]->nr_children++;
	} else {
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

/* Unmap the 4 KiB leaves from va up to @target or the end of the node. */
static long spt_unmap_ptes(struct spt_cursor *c, u64 target)
{
	u64 *ptes = c->ptes[0];
	u64 va = c->va, stop = min(spt_entry_end(va, 2), target);
	unsigned int i = spt_index(va, 1);
	unsigned int last = i + ((stop - va) >> SPT_PAGE_SHIFT);
	unsigned int n = 0;

	for (; i < last; i++) {
		u64 pte = READ_ONCE(ptes[i]);

		if (!spt_pte_present(pte))
			continue;
		WRITE_ONCE(ptes[i], 0);
		spt_leaf_release(c->pt, pte, 1, c->fl);
		n++;
	}
	if (n) {
		spt_cursor_flush_add(c, va, stop);
		spt_cursor_entries_gone(c, 1, n);
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
		u64 size = spt_level_size(level);
		u64 start = c->va & ~(size - 1), next = start + size;
		u64 *slot, pte;
		bool whole;

		if (level == 1) {
			count += spt_unmap_ptes(c, target);
			continue;
		}
		slot = spt_cursor_slot(c);
		pte = READ_ONCE(*slot);
		whole = start == c->va && next <= target;
		if (!spt_pte_present(pte)) {
			spt_cursor_move(c, min(next, target));
			continue;
		}
		if (!spt_pte_is_leaf(pte, level)) {
			u64 cpa = spt_pte_table_pa(pt->cfg, pte);

			if (!whole) {
				spt_cursor_push(c, cpa);
				continue;
			}
			WRITE_ONCE(*slot, 0);
			count += spt_subtree_release(pt, cpa, level - 1, c->fl,
						     true);
		} else if (whole) {
			WRITE_ONCE(*slot, 0);
			spt_leaf_release(pt, pte, level, c->fl);
			count++;
		} else {
			int ret = spt_cursor_build(c, level - 1);

			if (ret)
				return ret;
			continue;
		}
		spt_cursor_flush_add(c, start, next);
		spt_cursor_entries_gone(c, level, 1);
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
	const struct spt_cfg *cfg = c->pt->cfg;
	struct spt_prop prop;
	u64 target, size, ls, *slot, pte;
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
		ls = c->va & ~(size - 1);
		if (ls == c->va && ls + size <= target)
			break;
		ret = spt_cursor_build(c, level - 1);
		if (ret)
			return ret;
	}
	slot = spt_cursor_slot(c);
	pte = READ_ONCE(*slot);
	spt_pte_prop(cfg, pte, level, &prop);
	prop.flags = (prop.flags & ~op->clear) | op->set;
	if (op->cache >= 0)
		prop.cache = op->cache;
	WRITE_ONCE(*slot, spt_pte_leaf(cfg, spt_pte_leaf_pa(cfg, pte, level),
				       level, &prop, spt_pte_tracked(pte)));
	*start = ls;
	*end = ls + size;
	spt_cursor_flush_add(c, ls, ls + size);
	spt_cursor_move(c, ls + size);
	return 1;
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
