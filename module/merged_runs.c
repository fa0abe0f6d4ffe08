// SPDX-License-Identifier: GPL-2.0
/*
 * Merged runs of a space's mappings, for the listings of the faces (see
 * merged_runs.h). The walk holds one read cursor over a slice of at most
 * 2 MiB at a time (spt_space_walk) and reschedules between slices,
 * so a listing never keeps more than a node or two locked, and a run may
 * be merged across slices. A run is cut at SPT_RUN_MAX_PAGES leaves, so that
 * a caller that must produce a run in bounded time (a netlink message)
 * can.
 */
#include <linux/sched.h>
#include <linux/shadowpt.h>

#include "shadowpt.h"
#include "space.h"
#include "prop.h"
#include "merged_runs.h"

struct spt_runs_ctx {
	struct spt_run *run;
	int (*emit)(const struct spt_run *r, void *arg);
	void *arg;
};

/* Does the leaf @q continue @r? */
static bool spt_run_continues(const struct spt_run *r,
			      const struct spt_query *q, u32 prot, u32 flags)
{
	return spt_run_pending(r) && r->pages < SPT_RUN_MAX_PAGES &&
	       q->va_start == r->end &&
	       q->item.pa == r->phys + (r->end - r->va) &&
	       q->level == r->level && prot == r->prot &&
	       q->prop.cache == r->cache && flags == r->flags;
}

/* Walk callback: extend the pending run or emit it and start another. */
static int spt_runs_leaf(const struct spt_query *q, void *arg)
{
	struct spt_runs_ctx *ctx = arg;
	struct spt_run *r = ctx->run;
	u32 prot = spt_prop_to_uapi(&q->prop);
	u32 flags = q->item.tracked ? SPT_QUERY_TRACKED : 0;
	int ret;

	if (spt_run_continues(r, q, prot, flags)) {
		r->end = q->va_end;
		r->pages++;
		return 0;
	}
	if (spt_run_pending(r)) {
		ret = ctx->emit(r, ctx->arg);
		if (ret)
			return ret;
	}
	*r = (struct spt_run) {
		.va = q->va_start, .end = q->va_end, .phys = q->item.pa,
		.pages = 1, .level = q->level, .prot = prot,
		.cache = q->prop.cache, .flags = flags,
	};
	return 0;
}

int spt_merged_runs_walk(struct spt_space *s, u64 *va, u64 end,
			 struct spt_run *run, unsigned int max_slices,
			 int (*emit)(const struct spt_run *r, void *arg),
			 void *arg)
{
	struct spt_runs_ctx ctx = { .run = run, .emit = emit, .arg = arg };
	struct spt_listing l = {
		.va = *va, .end = end, .max_slices = max_slices,
		.fn = spt_runs_leaf, .arg = &ctx,
	};
	int ret;

	ret = spt_space_walk(s, &l);
	*va = l.va;
	if (ret)
		return ret;
	if (spt_run_pending(run)) {
		ret = emit(run, arg);
		if (ret)
			return ret;
	}
	run->end = run->va;
	return 0;
}
