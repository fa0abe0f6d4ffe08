/* SPDX-License-Identifier: GPL-2.0 */
/*
 * Lockless reads of a page table: a walk from the root that takes no node
 * lock, for queries (SPT_IOCTL_QUERY, _QUERY_BATCH, _QUERY_RANGE).
 *
 * The caller holds an RCU read-side section (rcu_read_lock()) for as long
 * as it uses what a walk returned, and knows the table is not being
 * destroyed when the section begins (see lockless.c for why that is
 * enough). Every entry is read once with READ_ONCE(); what a walk reports
 * is each entry as it was at some moment during the walk, not a snapshot
 * of a range.
 */
#ifndef SPT_CORE_LOCKLESS_H
#define SPT_CORE_LOCKLESS_H

#include "pt.h"
#include "pte.h"

/*
 * What @va translates to, as spt_cursor_query() reports it: the leaf, or
 * the absent entry of the lowest node on the way. @va must be in the
 * managed range.
 */
void spt_lockless_query(const struct spt_pt *pt, u64 va, struct spt_query *q);

/*
 * A forward walk over [va, end) in stretches: each stretch is a run of
 * consecutive entries of one node, from the entry that holds the walk's
 * va up to the end of the node or of the range. The caller reads the
 * entries of a stretch itself (READ_ONCE) and moves the walk's va on:
 * past the entries it has dealt with (absent ones and leaves), or to the
 * start of an entry that turned out to be a child node, which the next
 * stretch then enters. The nodes on the way are kept, so moving on within
 * a node or to its neighbour does not go back to the root.
 */
struct spt_lockless_walk {
	const struct spt_pt *pt;
	u64 va, end;
	unsigned int level;		/* lowest level of the path */
	unsigned int top;		/* the root's level */
	/* The node of each level on the way to va (index L - 1). */
	u64 *ptes[SPT_MAX_LEVELS];
	u64 base[SPT_MAX_LEVELS];	/* start of that node's span */
};

struct spt_lockless_stretch {
	const u64 *ptes;	/* the first entry of the stretch */
	u64 va;			/* start of that entry's span */
	unsigned int level;	/* level of the node */
	unsigned int nr;	/* entries, >= 1 */
};

/*
 * Begin a walk over [va, end) (page aligned, va < end, in the managed
 * range). Also to start over after the RCU section was left: the nodes
 * kept by a walk are only valid within one section.
 */
void spt_lockless_begin(struct spt_lockless_walk *w, const struct spt_pt *pt,
			u64 va, u64 end);

/*
 * The stretch at the walk's va: descends through child entries down to
 * the entry that holds va and is absent or a leaf (its node's stretch),
 * or at level 1. Returns false when va has reached end.
 */
bool spt_lockless_stretch(struct spt_lockless_walk *w,
			  struct spt_lockless_stretch *st);

/*
 * The fills of SPT_IOCTL_QUERY_RANGE, in the uAPI's formats (struct
 * spt_query_run, and the SPT_QPAGE_* words), from the walk's va on. Each
 * looks at no more than about @budget entries (so that the caller's RCU
 * section stays short) and moves the walk's va past what it reported.
 *
 * spt_lockless_pages: one word per 4 KiB page (0: not mapped), at most
 * @cap. Returns the words written; the walk's va is the page after them.
 */
unsigned int spt_lockless_pages(struct spt_lockless_walk *w, u64 *out,
				unsigned int cap, unsigned int budget);

/*
 * spt_lockless_runs: merged runs (leaves of one level, contiguous in
 * virtual and physical addresses, with equal prot, cache and flags),
 * clipped to the walk's range, into @out[@nr..@cap). The run being merged
 * stays in @run (@pending) across calls; it is written out once the next
 * leaf does not continue it, or once the range is walked (if there is
 * room). When @out is full and a leaf begins another run, the walk stops
 * at that leaf (the walk's va), @run still pending: a caller that has to
 * stop there too resumes at @run's start.
 */
struct spt_lockless_runs {
	struct spt_query_run *out;
	unsigned int cap, nr;
	struct spt_query_run run;
	u64 attrs;			/* the SPT_QPAGE_* bits of @run */
	bool pending;
};

void spt_lockless_runs(struct spt_lockless_walk *w,
		       struct spt_lockless_runs *r, unsigned int budget);

#endif /* SPT_CORE_LOCKLESS_H */
