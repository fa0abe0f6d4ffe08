// SPDX-License-Identifier: GPL-2.0
/*
 * How a cursor makes a virtual-address range its own: the covering-node
 * protocol of Asterinas OSTD (after CortenMM).
 *
 * Every node has a lock bit and a stray bit in its meta slot. Locks are
 * only ever taken top-down (a parent before its child), so they cannot
 * deadlock. A cursor over [start, end):
 *
 * 1. Disables preemption and enters an RCU read-side section (both held
 *    until spt_cursor_drop). Nodes are freed only after a grace period, so
 *    every node address read from a PTE stays valid memory meanwhile.
 *
 * 2. Descends from the root without locks to the covering node (the guard):
 *    the lowest node whose span holds the whole range, except that a range
 *    that is exactly one entry of level 2 or 3 is covered by the node
 *    holding that entry (a leaf of that size may be mapped there). The
 *    descent stops early at an entry that is a leaf, or absent:
 *    - a read-only cursor then takes the node it is in as the guard;
 *    - a CursorMut creates the missing nodes down to the covering level:
 *      it locks the node with the absent entry, re-checks that it is not
 *      stray and the entry still absent, allocates all the new nodes
 *      first (all or nothing: -ENOMEM leaves the table unchanged), links
 *      them into a chain, locks the lowest one (the guard-to-be, not yet
 *      reachable), publishes the chain with one PTE write and unlocks the
 *      parent. The ancestors seen on the way are kept in path[].
 *
 * 3. Locks the guard; if it turns out to be stray (unlinked since the
 *    descent read its address), unlocks it and starts over from the root.
 *    A node is only ever unlinked by a cursor that holds the locks of both
 *    the parent and the node, so a locked non-stray guard stays linked in
 *    its place while the cursor holds it.
 *
 * 4. Locks every existing descendant of the guard whose span meets the
 *    range, in DFS pre-order. Nodes the cursor creates later inside its
 *    subtree (map, splits) are locked before they are published, so the
 *    invariant "every node reachable inside the range below the guard is
 *    locked by this cursor" holds for the cursor's whole life. Nodes the
 *    cursor unlinks are marked stray while still locked, queued on its fl
 *    list and unlocked at once: a walker that spins on them meanwhile sees
 *    "stray" and retries from the root.
 *
 * 5. On drop, unlocks the subtree children first (reverse DFS order), then
 *    the guard. A CursorMut that left its guard empty (all unmapped, or
 *    nothing ever mapped into nodes it created) then removes it: it locks
 *    the parent (recorded in path[], valid under RCU), checks it is not
 *    stray and still points at the guard, locks the guard, checks it is
 *    still empty, unlinks and retires it; and so on upwards while parents
 *    become empty, never past the root. Until then another thread may see
 *    the empty node; once every cursor is dropped, no empty non-root node
 *    remains.
 *
 * Locks are raw bit locks without preempt_count nesting (meta.h), since a
 * cursor may hold a great many. Nothing sleeps under them: the pool
 * allocates atomically when called with locks held.
 */
#include "internal.h"

/* Must a cursor over [start, end) have its guard below a node of @level? */
static bool spt_range_below(const struct spt_cursor *c, unsigned int level)
{
	u64 size;

	if (level == 1)
		return false;
	if (spt_index(c->start, level) != spt_index(c->end - 1, level))
		return false;
	size = spt_level_size(level);
	/* Exactly one entry that a leaf could fill: stay in this node. */
	if (level <= SPT_MAX_LEAF_LEVEL && !(c->start & (size - 1)) &&
	    c->end - c->start == size)
		return false;
	return true;
}

/*
 * Create the chain of nodes below the absent entry @slot of the locked node
 * @m (at @level), down to the covering level. Unlocks @m. On success the
 * lowest new node is locked and recorded as the guard.
 */
static int spt_lock_create(struct spt_cursor *c, unsigned int level,
			   struct spt_meta *m, u64 *slot)
{
	struct spt_pt *pt = c->pt;
	u64 pas[SPT_MAX_LEVELS];
	unsigned int target = level - 1, n, i;

	while (spt_range_below(c, target))
		target--;
	n = level - target;
	for (i = 0; i < n; i++) {
		if (spt_node_alloc(pt, level - 1 - i, &pas[i])) {
			while (i--)
				spt_node_free_unpublished(pt, pas[i]);
			spt_node_unlock(m);
			return -ENOMEM;
		}
	}
	for (i = 0; i + 1 < n; i++) {
		unsigned int l = level - 1 - i;
		u64 *ptes = spt_node_ptes(pt, pas[i]);

		ptes[spt_index(c->start, l)] = spt_pte_table(pas[i + 1]);
		spt_node_meta(pt, pas[i])->nr_children = 1;
		c->path[l - 1] = pas[i];
	}
	c->path[target - 1] = pas[n - 1];
	spt_node_lock(spt_node_meta(pt, pas[n - 1]));
	smp_wmb();	/* node contents before the entry that points at it */
	WRITE_ONCE(*slot, spt_pte_table(pas[0]));
	m->nr_children++;
	spt_node_unlock(m);
	c->guard_level = target;
	return 0;
}

void spt_lock_subtree(struct spt_pt *pt, u64 pa, unsigned int level,
		      u64 start, u64 end)
{
	u64 size = spt_level_size(level);
	u64 *ptes = spt_node_ptes(pt, pa);
	unsigned int i, last;

	if (level == 1)
		return;
	last = spt_index(end - 1, level);
	for (i = spt_index(start, level); i <= last; i++) {
		u64 pte = READ_ONCE(ptes[i]);
		u64 es = (start & ~(size - 1)) +
			 (u64)(i - spt_index(start, level)) * size;
		u64 cpa;

		if (!spt_pte_present(pte) || spt_pte_is_leaf(pte, level))
			continue;
		cpa = spt_pte_table_pa(pt->cfg, pte);
		spt_node_lock(spt_node_meta(pt, cpa));
		spt_lock_subtree(pt, cpa, level - 1, max(start, es),
				 min(end, es + size));
	}
}

static void spt_unlock_subtree(struct spt_pt *pt, u64 pa, unsigned int level,
			       u64 start, u64 end)
{
	u64 size = spt_level_size(level);
	u64 *ptes = spt_node_ptes(pt, pa);
	unsigned int i, first;

	if (level == 1)
		return;
	first = spt_index(start, level);
	for (i = spt_index(end - 1, level) + 1; i-- > first;) {
		u64 pte = READ_ONCE(ptes[i]);
		u64 es = (start & ~(size - 1)) + (u64)(i - first) * size;
		u64 cpa;

		if (!spt_pte_present(pte) || spt_pte_is_leaf(pte, level))
			continue;
		cpa = spt_pte_table_pa(pt->cfg, pte);
		spt_unlock_subtree(pt, cpa, level - 1, max(start, es),
				   min(end, es + size));
		spt_node_unlock(spt_node_meta(pt, cpa));
	}
}

int spt_lock_range(struct spt_cursor *c, bool create)
{
	struct spt_pt *pt = c->pt;
	const struct spt_cfg *cfg = pt->cfg;
	struct spt_meta *m;
	unsigned int level, i;
	u64 pa;
	int ret;

retry:
	level = cfg->levels;
	pa = pt->root_pa;
	for (;;) {
		u64 *ptes, pte;

		c->path[level - 1] = pa;
		if (!spt_range_below(c, level))
			break;
		ptes = spt_node_ptes(pt, pa);
		pte = READ_ONCE(ptes[spt_index(c->start, level)]);
		if (spt_pte_present(pte)) {
			if (spt_pte_is_leaf(pte, level))
				break;
			pa = spt_pte_table_pa(cfg, pte);
			level--;
			continue;
		}
		if (!create)
			break;
		m = spt_node_meta(pt, pa);
		spt_node_lock(m);
		if (spt_node_is_stray(m)) {
			spt_node_unlock(m);
			goto retry;
		}
		if (READ_ONCE(ptes[spt_index(c->start, level)])) {
			/* Filled meanwhile: look at it again. */
			spt_node_unlock(m);
			continue;
		}
		ret = spt_lock_create(c, level, m,
				      &ptes[spt_index(c->start, level)]);
		if (ret)
			return ret;
		goto locked;
	}
	m = spt_node_meta(pt, pa);
	spt_node_lock(m);
	if (spt_node_is_stray(m)) {
		spt_node_unlock(m);
		goto retry;
	}
	c->guard_level = level;
locked:
	for (i = 0; i + 1 < c->guard_level; i++)
		c->path[i] = 0;
	c->level = c->guard_level;
	spt_cursor_set_node(c, c->level, c->path[c->level - 1]);
	spt_lock_subtree(pt, c->path[c->level - 1], c->level, c->start,
			 c->end);
	return 0;
}

/* Remove the empty guard @pa of @level and any ancestor left empty. */
static void spt_reclaim_empty(struct spt_cursor *c, u64 pa, unsigned int level)
{
	struct spt_pt *pt = c->pt;
	const struct spt_cfg *cfg = pt->cfg;

	while (level < cfg->levels) {
		u64 ppa = c->path[level];
		struct spt_meta *pm = spt_node_meta(pt, ppa), *m;
		u64 *slot = spt_node_ptes(pt, ppa) +
			    spt_index(c->start, level + 1);
		u64 span = 1ULL << spt_node_shift(level);
		u64 base = c->start & ~(span - 1);
		u64 pte;
		bool parent_empty;

		spt_node_lock(pm);
		pte = READ_ONCE(*slot);
		if (spt_node_is_stray(pm) || !spt_pte_present(pte) ||
		    spt_pte_is_leaf(pte, level + 1) ||
		    spt_pte_table_pa(cfg, pte) != pa) {
			spt_node_unlock(pm);
			return;
		}
		m = spt_node_meta(pt, pa);
		spt_node_lock(m);
		if (m->nr_children) {
			spt_node_unlock(m);
			spt_node_unlock(pm);
			return;
		}
		WRITE_ONCE(*slot, 0);
		pm->nr_children--;
		spt_cursor_flush_add(c, base, base + span);
		spt_cursor_publish_flush(c);
		spt_node_retire(c->pt, pa, m, c->fl, true);
		parent_empty = !pm->nr_children;
		spt_node_unlock(pm);
		if (!parent_empty)
			return;
		pa = ppa;
		level++;
	}
}

void spt_unlock_range(struct spt_cursor *c)
{
	struct spt_pt *pt = c->pt;
	unsigned int g = c->guard_level;
	u64 gpa = c->path[g - 1];
	struct spt_meta *gm = spt_node_meta(pt, gpa);
	bool empty;

	spt_cursor_publish_flush(c);
	spt_unlock_subtree(pt, gpa, g, c->start, c->end);
	empty = c->fl && g < pt->cfg->levels && !gm->nr_children;
	spt_node_unlock(gm);
	if (empty)
		spt_reclaim_empty(c, gpa, g);
}
