/* SPDX-License-Identifier: GPL-2.0 */
/*
 * TLB rules (the reference's TlbFlusher): a frame or node unlinked from a
 * space goes back to the pool only after every CPU that may hold a
 * translation through it has flushed, and after an RCU grace period (for
 * lock-free walkers still reading a node). The grace period is deferred:
 * see flush.c and reclaim.h.
 */
#ifndef SPT_FLUSH_H
#define SPT_FLUSH_H

#include "core/pt.h"
#include "frame/pool.h"

struct spt_space;

/*
 * Finish a change to @s: flush the TLBs of the CPUs that have @s loaded
 * for the range @fl recorded, account for the data frames queued and queue
 * the frames and nodes for reclamation after a grace period (@fl is reset).
 * Gives back what earlier changes queued and is ready. Sleeps (it waits for
 * a grace period only when the pending bound is reached).
 */
void spt_flush_finish(struct spt_space *s, struct spt_flusher *fl);

/*
 * Since load: changes that needed a TLB flush (@flushes), and of them
 * those that sent one to CPUs with the space loaded (@ipis).
 */
void spt_flush_counts(u64 *flushes, u64 *ipis);

/* Deferred reclamation: pending frames, 4 KiB each (a node counts 1). */
struct spt_reclaim_stats {
	u64 pending_frames;	/* waiting for their grace period now */
	u64 pending_nodes;	/* of them, page-table nodes */
	u64 pending_data;	/* of them, 4 KiB pages of data frames */
	u64 pending_batches;	/* lists queued now */
	u64 max_frames;		/* the bound on pending_frames */
	u64 peak_frames;	/* largest pending_frames since load */
	u64 queued;		/* lists queued since load */
	u64 released;		/* lists given back since load */
	u64 waits;		/* waits for a grace period (back-pressure) */
};

/*
 * The pool's counters and the queue's, read together: frames pending
 * count as free (not as used, node or data frames), so that used = nodes +
 * data and chunk = used + free hold, and a change that unmapped frames
 * leaves used where it was before they were mapped.
 */
void spt_pool_stats_read(struct spt_pool_stats *st,
			 struct spt_reclaim_stats *rs);
/* Module init: pending frames bounded by a quarter of the pool limit. */
void spt_reclaim_init_queue(u64 pool_limit_frames);
/*
 * Wait for the oldest pending grace period and give back what it covers.
 * False (and no wait) if nothing is pending. Sleeps.
 */
bool spt_reclaim_wait_oldest(void);
/*
 * Queue @fl's list for reclamation after a grace period started now (the
 * caller has flushed the TLBs that may hold its translations); @fl is
 * reset. Sleeps only when the pending bound is reached.
 */
void spt_reclaim_queue(struct spt_flusher *fl);
/* Nanoseconds spent giving queued lists back to the pool, since load. */
u64 spt_reclaim_release_ns(void);
/* Wait until everything pending at the call is back in the pool. Sleeps. */
void spt_reclaim_drain(void);
/* Module exit, after the last space: drain, and stop the worker. */
void spt_reclaim_exit(void);

#endif /* SPT_FLUSH_H */
