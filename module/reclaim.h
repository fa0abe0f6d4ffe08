/* SPDX-License-Identifier: GPL-2.0 */
/*
 * Deferred reclamation, the queue: lists of frames and page-table nodes
 * that a change unlinked (a flusher's list, core/pt.h), each waiting for
 * the grace period that began after its TLB flush. Oldest first, at most
 * SPT_RECLAIM_BATCHES lists and at most @max_frames 4 KiB frames pending
 * (nodes count 1, a 2 MiB data frame 512). Nothing here allocates.
 *
 * Portable: the grace period is the caller's (a cookie and a "has it
 * passed?" test: start_poll_synchronize_rcu_full() and
 * poll_state_synchronize_rcu_full() in the kernel, whose state a normal or
 * an expedited grace period completes; a fake one in the host tests), and
 * so is the locking: every call below is made under the
 * caller's lock, and the lists popped are released outside it.
 */
#ifndef SPT_RECLAIM_H
#define SPT_RECLAIM_H

#include "core/pt.h"

#define SPT_RECLAIM_BATCHES	64

struct spt_reclaim_batch {
	u64 head;		/* the list, in the flusher's encoding */
	/* grace period started after the flush */
	struct rcu_gp_oldstate cookie;
	unsigned long nodes;	/* page-table nodes on the list */
	unsigned long data;	/* 4 KiB pages of data frames on the list */
	void *pinned;		/* the flusher's pins (SPT_MAP_USER) */
};

struct spt_reclaim {
	struct spt_reclaim_batch ring[SPT_RECLAIM_BATCHES];
	unsigned int first;	/* index of the oldest batch */
	unsigned int nr;	/* batches queued */
	unsigned long frames;	/* nodes + data, <= max_frames */
	unsigned long nodes;	/* page-table nodes queued */
	unsigned long data;	/* 4 KiB pages of data frames queued */
	unsigned long max_frames;
	/* Since init: */
	u64 queued;		/* batches queued */
	u64 released;		/* batches given back to the pool */
	u64 peak_frames;	/* largest value of frames */
};

void spt_reclaim_init(struct spt_reclaim *r, unsigned long max_frames);

/* 4 KiB frames on @fl's list (a node counts 1, a data frame its size). */
unsigned long spt_reclaim_fl_frames(const struct spt_flusher *fl);

/*
 * Queue @fl's list with @cookie and reset @fl. Returns false, changing
 * nothing, when the ring is full or the list would take the pending
 * frames past the bound: the caller then waits for the oldest grace
 * period, releases what it covers, and tries again (or, with nothing
 * queued, waits for a grace period of its own and releases @fl itself).
 */
bool spt_reclaim_push(struct spt_reclaim *r, struct spt_flusher *fl,
		      struct rcu_gp_oldstate cookie);

/* The cookie of the oldest (@newest false) or newest batch; false if none. */
bool spt_reclaim_cookie(const struct spt_reclaim *r, bool newest,
			struct rcu_gp_oldstate *cookie);

/*
 * Take the oldest batch off the queue if @done says its grace period has
 * passed: its list goes to @fl (for spt_flusher_release()). False if the
 * queue is empty or the oldest batch must still wait.
 */
bool spt_reclaim_pop(struct spt_reclaim *r,
		     bool (*done)(struct rcu_gp_oldstate *cookie),
		     struct spt_flusher *fl);

#endif /* SPT_RECLAIM_H */
