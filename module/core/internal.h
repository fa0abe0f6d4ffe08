/* SPDX-License-Identifier: GPL-2.0 */
/*
 * Declarations shared by the files of the page-table core, not part of its
 * interface (pt.h):
 *
 *   node.c     page-table nodes: allocation, retirement, pa -> pointers
 *   entry.c    one entry of a node: release a leaf or a subtree, split
 *   flusher.c       the deferred-free list and its flush span
 *   locking.c  the covering-node lock protocol of cursors
 *   cursor.c   cursor movement and operations
 *   pt.c       page-table creation and destruction
 *   check.c    the invariant walk and the counts
 */
#ifndef SPT_CORE_INTERNAL_H
#define SPT_CORE_INTERNAL_H

#include "pt.h"
#include "pte.h"

#define SPT_HUGE_FRAMES		512U	/* 4 KiB frames in a 2 MiB frame */

/* ---- node.c ---- */

static inline u64 *spt_node_ptes(const struct spt_pt *pt, u64 pa)
{
	return spt_pool_va(pt->pool, pa);
}

static inline struct spt_meta *spt_node_meta(const struct spt_pt *pt, u64 pa)
{
	return spt_pool_meta(pt->pool, pa);
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

/* ---- entry.c ---- */

/* Drop what a removed leaf @pte of @level held (tracked: one reference). */
void spt_leaf_release(struct spt_pt *pt, u64 pte, unsigned int level,
		      struct spt_flusher *fl);
/*
 * Tear down the subtree of the already unlinked node @pa of @level: release
 * every leaf and retire every node (unlocking them if @locked). Returns the
 * number of leaves.
 */
unsigned long spt_subtree_release(struct spt_pt *pt, u64 pa,
				  unsigned int level, struct spt_flusher *fl,
				  bool locked);
/*
 * The head slot of the tracked frame a leaf of @level at @pa maps into,
 * with its pa in *@head_pa; NULL if @pa is no frame of the right kind.
 */
struct spt_meta *spt_leaf_head(struct spt_pt *pt, u64 pa, unsigned int level,
			       u64 *head_pa);
/*
 * Fill the empty node @ptes (of level @level - 1) with the 512 leaves that
 * together map what the huge leaf @pte of @level maps, with the same
 * property. References are the caller's business.
 */
void spt_split_fill(const struct spt_cfg *cfg, u64 *ptes, u64 pte,
		    unsigned int level);

/* ---- flusher.c ---- */

/* Queue a slot whose refcount just reached 0 (a node or a data head). */
void spt_flusher_queue(struct spt_flusher *fl, u64 pa, struct spt_meta *m);
void spt_flusher_add_span(struct spt_flusher *fl, u64 start, u64 end);

/* ---- locking.c ---- */

/* Find, lock and record the covering node and its subtree; see locking.c. */
int spt_lock_range(struct spt_cursor *c, bool create);
/* Unlock all; remove the guard (and ancestors) if the cursor left it empty. */
void spt_unlock_range(struct spt_cursor *c);
/* Lock every node below @pa (of @level, locked) that meets [start, end). */
void spt_lock_subtree(struct spt_pt *pt, u64 pa, unsigned int level,
		      u64 start, u64 end);

/* ---- cursor.c ---- */

/* Make path[level - 1] the node @pa (for locking.c and cursor.c). */
static inline void spt_cursor_set_node(struct spt_cursor *c,
				       unsigned int level, u64 pa)
{
	c->path[level - 1] = pa;
	c->ptes[level - 1] = spt_node_ptes(c->pt, pa);
	c->meta[level - 1] = spt_node_meta(c->pt, pa);
}

/*
 * Record a change at [start, end) that needs a TLB flush: in the cursor's
 * flusher span, and (see spt_cursor_publish_flush()) in the table's flush
 * generation. Called with the lock of the node holding the changed entry.
 */
static inline void spt_cursor_flush_add(struct spt_cursor *c, u64 start,
					u64 end)
{
	spt_flusher_add_span(c->fl, start, end);
	c->tlb_dirty = true;
}

/*
 * Bump the table's flush generation once for what the cursor changed,
 * before it unlocks the nodes it changed: the increment is then visible to
 * the next cursor that locks one of them (see spt_pt_tlb_gen()).
 */
static inline void spt_cursor_publish_flush(struct spt_cursor *c)
{
	if (c->tlb_dirty) {
		atomic_inc(&c->pt->tlb_gen);
		c->tlb_dirty = false;
	}
}

/* The managed range of a config: [start, end). */
static inline u64 spt_cfg_managed_start(const struct spt_cfg *cfg)
{
	return (u64)cfg->top_first * spt_level_size(cfg->levels);
}

#endif /* SPT_CORE_INTERNAL_H */
