/* SPDX-License-Identifier: GPL-2.0 */
/*
 * Merged runs of a space's mappings: consecutive leaves of one level that
 * are contiguous in both virtual and physical memory and have the same
 * properties, reported as one run. The generic netlink mapping dump
 * (genl.c) and the debugfs mappings file (debugfs.c) both list them.
 */
#ifndef SPT_MERGED_RUNS_H
#define SPT_MERGED_RUNS_H

#include <linux/types.h>

#include "core/pt.h"

struct spt_space;

/* A run of leaves; none is pending while end == va. */
struct spt_run {
	u64 va, end, phys, pages;	/* [va, end) maps [phys, ...) */
	u32 level;			/* leaf level of every leaf in it */
	u32 prot;			/* SPT_PROT_*, with A and D */
	u32 cache;			/* enum spt_cache_mode */
	u32 flags;			/* SPT_QUERY_TRACKED */
};

static inline bool spt_run_pending(const struct spt_run *r)
{
	return r->end != r->va;
}

/*
 * Walk the leaves of [*va, end) of @s in order, in slices of at most 2 MiB
 * (spt_space_walk: one read cursor each, rescheduling between them),
 * merging them into @run (pending across calls: a caller that resumes
 * passes the same @run and *va back). A run holds at most
 * SPT_RUN_MAX_PAGES leaves. Every run that is complete (the next leaf does
 * not continue it, it is full, or the range is walked to its end) is
 * passed to @emit. If @emit returns non-zero the walk stops and returns
 * that value; the run stays pending in @run, still unconsumed, and *va is
 * where the walk stopped. With @max_slices non-zero, the walk also stops
 * after that many slices and returns -EAGAIN (*va and @run say where to
 * resume). Returns 0 when [*va, end) has been walked and every run emitted
 * (@run is then empty and *va == end), or -errno (-ENOENT: the space is
 * being destroyed).
 */
int spt_merged_runs_walk(struct spt_space *s, u64 *va, u64 end,
			 struct spt_run *run, unsigned int max_slices,
			 int (*emit)(const struct spt_run *r, void *arg),
			 void *arg);

#endif /* SPT_MERGED_RUNS_H */
