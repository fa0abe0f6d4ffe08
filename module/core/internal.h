/* SPDX-License-Identifier: GPL-2.0 */
/*
 * Declarations shared by the files of the page-table core, not part of its
 * interface (pt.h):
 *
 *   node.h/.c  page-table nodes: the core's meta bits and the node lock,
 *              node views, allocation (and stashes of nodes allocated
 *              ahead), retirement, the child walker (spt_walk_range)
 *   entry.h/.c one entry of a locked node: read, replace, clear, protect,
 *              allocate-if-absent, split-if-huge, clear a run of leaves,
 *              release a leaf or a subtree; the run loops of a node (fill
 *              absent entries with a run of leaves, protect or release a
 *              node's leaves); the only writers of PTEs, of nr_children
 *              and of the table's leaf counters
 *   flusher.c  the deferred-free list and its flush span
 *   locking.c  the covering-node lock protocol of cursors
 *   cursor.c   cursor movement and operations
 *   pt.c       page-table creation and destruction
 *   check.c    the invariant walk and the counts
 */
#ifndef SPT_CORE_INTERNAL_H
#define SPT_CORE_INTERNAL_H

#include "pt.h"
#include "pte.h"
#include "node.h"
#include "entry.h"

#define SPT_HUGE_FRAMES		512U	/* 4 KiB frames in a 2 MiB frame */

/* ---- flusher.c ---- */

void spt_flusher_add_span(struct spt_flusher *fl, u64 start, u64 end);

/* ---- locking.c ---- */

/* Find, lock and record the covering node and its subtree; see locking.c. */
int spt_lock_range(struct spt_cursor *c, bool create);
/* Unlock all; remove the guard (and ancestors) if the cursor left it empty. */
void spt_unlock_range(struct spt_cursor *c);

/* ---- cursor.c ---- */

/* Make path[level - 1] the node @pa (for locking.c and cursor.c). */
static inline void spt_cursor_set_node(struct spt_cursor *c,
				       unsigned int level, u64 pa)
{
	spt_node_view(c->pt, pa, level, &c->path[level - 1]);
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
