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
 * 5. On drop, unlocks the subtree bottom-up (each node after the nodes
 *    below it, DFS post-order), then the guard. A CursorMut that left
 *    its guard empty (all unmapped, or nothing ever mapped into nodes it
 *    created) then removes it: it locks the parent (recorded in path[],
 *    valid under RCU), checks it is not stray and still points at the
 *    guard, locks the guard, checks it is still empty, unlinks and
 *    retires it; and so on upwards while parents become empty, never past
 *    the root. Until then another thread may see
 *    the empty node; once every cursor is dropped, no empty non-root node
 *    remains.
 *
 * Locks are raw bit locks without preempt_count nesting (node.h), since a
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
 * Create the chain of nodes below the absent entry @e of the locked node
 * @parent, down to the covering level. Unlocks @parent. On success the
 * lowest new node is locked and recorded as the guard.
 */
static int spt_lock_create(struct spt_cursor *c, struct spt_node *parent,
			   struct spt_entry *e)
{
	struct spt_pt *pt = c->pt;
	unsigned int level = parent->level, target = level - 1, n, i;
	struct spt_node_stash st;

	while (spt_range_below(c, target))
		target--;
	n = level - target;
	if (spt_node_stash_fill(pt, &st, level - 1, n)) {
		spt_node_unlock(parent->meta);
		return -ENOMEM;
	}
	/* Bottom-up in nodes nobody can reach yet; the lowest locked. */
	spt_cursor_set_node(c, target, st.pa[n - 1]);
	spt_node_lock(c->path[target - 1].meta);
	for (i = n - 1; i-- > 0;) {
		struct spt_node *node = &c->path[level - 2 - i];
		struct spt_entry ce;

		spt_cursor_set_node(c, level - 1 - i, st.pa[i]);
		ce = spt_entry_at(node, spt_index(c->start, node->level));
		spt_entry_set_child(pt, &ce, st.pa[i + 1]);
	}
	st.used = n;
	spt_entry_set_child(pt, e, st.pa[0]);
	spt_node_unlock(parent->meta);
	c->guard_level = target;
	return 0;
}

static int spt_lock_enter(struct spt_walk *w, struct spt_entry *e,
			  struct spt_node *child, u64 va)
{
	spt_node_lock(child->meta);
	return 0;
}

static int spt_unlock_leave(struct spt_walk *w, struct spt_entry *e,
			    struct spt_node *child, u64 va)
{
	spt_node_unlock(child->meta);
	return 0;
}

/* Lock every node below the guard that meets the range, parents first. */
static const struct spt_walk_ops spt_lock_ops = {
	.enter = spt_lock_enter,
};

/* Unlock them, each after the nodes below it. */
static const struct spt_walk_ops spt_unlock_ops = {
	.leave = spt_unlock_leave,
};

int spt_lock_range(struct spt_cursor *c, bool create)
{
	struct spt_pt *pt = c->pt;
	const struct spt_cfg *cfg = pt->cfg;
	struct spt_walk walk = { .ops = &spt_lock_ops, .pt = pt };
	struct spt_node *node;
	unsigned int level, i;
	u64 pa;
	int ret;

retry:
	level = cfg->levels;
	pa = pt->root_pa;
	for (;;) {
		struct spt_entry e;

		spt_cursor_set_node(c, level, pa);
		node = &c->path[level - 1];
		if (!spt_range_below(c, level))
			break;
		e = spt_entry_at(node, spt_index(c->start, level));
		if (spt_entry_present(&e)) {
			if (spt_entry_is_leaf(&e))
				break;
			pa = spt_pte_table_pa(cfg, e.pte);
			level--;
			continue;
		}
		if (!create)
			break;
		spt_node_lock(node->meta);
		if (spt_node_is_stray(node->meta)) {
			spt_node_unlock(node->meta);
			goto retry;
		}
		e = spt_entry_at(node, spt_index(c->start, level));
		if (e.pte) {
			/* Filled meanwhile: look at it again. */
			spt_node_unlock(node->meta);
			continue;
		}
		ret = spt_lock_create(c, node, &e);
		if (ret)
			return ret;
		goto locked;
	}
	spt_node_lock(node->meta);
	if (spt_node_is_stray(node->meta)) {
		spt_node_unlock(node->meta);
		goto retry;
	}
	c->guard_level = level;
locked:
	for (i = 0; i + 1 < c->guard_level; i++)
		c->path[i].pa = 0;
	c->level = c->guard_level;
	spt_walk_range(&walk, &c->path[c->level - 1], c->start, c->end);
	return 0;
}

/* Remove the empty guard @pa of @level and any ancestor left empty. */
static void spt_reclaim_empty(struct spt_cursor *c, u64 pa, unsigned int level)
{
	struct spt_pt *pt = c->pt;
	const struct spt_cfg *cfg = pt->cfg;

	while (level < cfg->levels) {
		struct spt_node *parent = &c->path[level];
		u64 base = spt_entry_base(c->start, level + 1);
		struct spt_entry e;
		struct spt_meta *m;
		bool parent_empty;

		spt_node_lock(parent->meta);
		e = spt_entry_at(parent, spt_index(c->start, level + 1));
		if (spt_node_is_stray(parent->meta) || !spt_entry_is_node(&e) ||
		    spt_pte_table_pa(cfg, e.pte) != pa) {
			spt_node_unlock(parent->meta);
			return;
		}
		m = spt_node_meta(pt, pa);
		spt_node_lock(m);
		if (m->nr_children) {
			spt_node_unlock(m);
			spt_node_unlock(parent->meta);
			return;
		}
		spt_entry_clear(pt, &e);
		spt_cursor_flush_add(c, base, base + spt_level_size(level + 1));
		spt_cursor_publish_flush(c);
		spt_node_retire(c->pt, pa, m, c->fl, true);
		parent_empty = !parent->meta->nr_children;
		spt_node_unlock(parent->meta);
		if (!parent_empty)
			return;
		pa = parent->pa;
		level++;
	}
}

void spt_unlock_range(struct spt_cursor *c)
{
	struct spt_pt *pt = c->pt;
	struct spt_walk walk = { .ops = &spt_unlock_ops, .pt = pt };
	unsigned int g = c->guard_level;
	struct spt_node *guard = &c->path[g - 1];
	u64 gpa = guard->pa;
	bool empty;

	spt_cursor_publish_flush(c);
	spt_walk_range(&walk, guard, c->start, c->end);
	empty = c->fl && g < pt->cfg->levels && !guard->meta->nr_children;
	spt_node_unlock(guard->meta);
	if (empty)
		spt_reclaim_empty(c, gpa, g);
}
