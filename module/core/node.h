/* SPDX-License-Identifier: GPL-2.0 */
/*
 * Page-table nodes as the core sees them: the bits the core keeps in a
 * node's meta slot, the node lock, a node view (struct spt_node, pt.h),
 * allocation and retirement, and the one child walker (each present child
 * of a node in [start, end), actions passed in).
 */
#ifndef SPT_CORE_NODE_H
#define SPT_CORE_NODE_H

#include "pt.h"
#include "pte.h"

/* Bits of spt_meta.word while the slot is a page-table node. */
#define SPT_META_LOCK_BIT	0	/* node lock (bit spinlock) */
#define SPT_META_STRAY_BIT	1	/* node was detached from its parent */
#define SPT_META_SEEN_BIT	2	/* spt_pt_check: node already visited */
/*
 * A page-table node queued on a flusher keeps its lock and stray bits (a
 * lock-free walker may still spin on the lock and must then see "stray"):
 * the link is stored above them, word = (frame number + 1) << SHIFT | bits.
 */
#define SPT_META_LINK_SHIFT	3

/*
 * Node lock: a raw bit lock in ->word, so the slot stays 16 bytes. Unlike
 * bit_spin_lock() it does not touch preempt_count: a cursor may hold
 * thousands of node locks at once (DFS locking of a large range) and
 * preempt_count's nesting field has only 8 bits. Instead a cursor disables
 * preemption once, before its first node lock (spt_cursor_new), and enables
 * it after its last unlock (spt_cursor_drop).
 */
static inline bool spt_node_trylock(struct spt_meta *m)
{
	return !test_and_set_bit_lock(SPT_META_LOCK_BIT, &m->word);
}

static inline void spt_node_lock(struct spt_meta *m)
{
	while (unlikely(test_and_set_bit_lock(SPT_META_LOCK_BIT, &m->word))) {
		do {
			cpu_relax();
		} while (test_bit(SPT_META_LOCK_BIT, &m->word));
	}
}

static inline void spt_node_unlock(struct spt_meta *m)
{
	clear_bit_unlock(SPT_META_LOCK_BIT, &m->word);
}

static inline bool spt_node_is_locked(const struct spt_meta *m)
{
	return test_bit(SPT_META_LOCK_BIT, &m->word);
}

static inline bool spt_node_is_stray(const struct spt_meta *m)
{
	return test_bit(SPT_META_STRAY_BIT, &m->word);
}

static inline u64 *spt_node_ptes(const struct spt_pt *pt, u64 pa)
{
	return (u64 *)(uintptr_t)(pa + pt->va_offset);
}

static inline struct spt_meta *spt_node_meta(const struct spt_pt *pt, u64 pa)
{
	return spt_pool_meta(pt->pool, pa);
}

/* Fill @node with the view of the node @pa of @level. */
static inline void spt_node_view(const struct spt_pt *pt, u64 pa,
				 unsigned int level, struct spt_node *node)
{
	node->pa = pa;
	node->ptes = spt_node_ptes(pt, pa);
	node->meta = spt_node_meta(pt, pa);
	node->level = level;
}

/*
 * A new, zeroed node of @level (refcount 1, no children, unlocked, not
 * stray), not yet reachable from anywhere. -ENOMEM.
 */
int spt_node_alloc(struct spt_pt *pt, unsigned int level, u64 *pa);
/* Free a node from spt_node_alloc() that was never made reachable. */
void spt_node_free_unpublished(struct spt_pt *pt, u64 pa);
/*
 * A node that was just unlinked from its parent: mark it stray, drop its
 * reference and queue it on @fl. If @unlock, the caller holds its lock and
 * it is released here (after the stray bit is set).
 */
void spt_node_retire(struct spt_pt *pt, u64 pa, struct spt_meta *m,
		     struct spt_flusher *fl, bool unlock);

/*
 * Nodes allocated ahead of a change that needs several (a chain below an
 * absent entry, a split down more than one level), so that the change is
 * all or nothing: pa[i] is of level top - i.
 */
struct spt_node_stash {
	u64 pa[SPT_MAX_LEVELS];
	unsigned int nr, used;
};

/* Allocate @nr nodes of levels @top, @top - 1, ...; all or none: -ENOMEM. */
int spt_node_stash_fill(struct spt_pt *pt, struct spt_node_stash *st,
			unsigned int top, unsigned int nr);
/* The next node of the stash (nodes are taken top level first). */
static inline u64 spt_node_stash_take(struct spt_node_stash *st)
{
	if (WARN_ON_ONCE(st->used >= st->nr))
		return 0;
	return st->pa[st->used++];
}

/* Free the nodes of the stash not taken. */
void spt_node_stash_drop(struct spt_pt *pt, struct spt_node_stash *st);

/*
 * The child walker (after mm/pagewalk.c): the entries of @node that meet
 * [start, end), in address order, one loop per level. For each:
 *  - a present leaf: ->leaf;
 *  - an absent entry that is not zero: ->hole;
 *  - a child node: ->enter (the child's view has pa, level and meta, not
 *    yet ptes: its pa may be garbage the action refuses), then the child's
 *    entries that meet the entry's part of the range, then ->leave.
 * An action returns 0, SPT_WALK_SKIP (->enter only: do not go into this
 * child, no ->leave), or a negative value, which stops the walk and is
 * returned. A missing action is as one that returns 0. A walk without
 * ->leaf or ->hole does not read the entries of level-1 nodes.
 * @va is the start of the entry's part of the range.
 */
#define SPT_WALK_SKIP	1

struct spt_entry;
struct spt_walk;

struct spt_walk_ops {
	int (*leaf)(struct spt_walk *w, struct spt_entry *e, u64 va);
	int (*hole)(struct spt_walk *w, struct spt_entry *e, u64 va);
	int (*enter)(struct spt_walk *w, struct spt_entry *e,
		     struct spt_node *child, u64 va);
	int (*leave)(struct spt_walk *w, struct spt_entry *e,
		     struct spt_node *child, u64 va);
};

struct spt_walk {
	const struct spt_walk_ops *ops;
	struct spt_pt *pt;
};

int spt_walk_range(struct spt_walk *w, const struct spt_node *node,
		   u64 start, u64 end);

#endif /* SPT_CORE_NODE_H */
