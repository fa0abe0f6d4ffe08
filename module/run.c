// SPDX-License-Identifier: GPL-2.0
/*
 * Merged runs of a space's mappings, for the listings of the faces (see
 * run.h). The walk holds one read cursor per top-level entry's span at a
 * time (spt_space_walk), so a listing never keeps a whole space locked
 * and a run may be merged across spans.
 */
#include <linux/shadowpt.h>

#include "shadowpt.h"
#include "space.h"
#include "prop.h"
#include "run.h"

struct spt_runs_ctx {
	struct spt_run *run;
	int (*emit)(const struct spt_run *r, void *arg);
	void *arg;
};

/* Does the leaf @q continue @r? */
static bool spt_run_continues(const struct spt_run *r,
			      const struct spt_query *q, u32 prot, u32 flags)
{
	return spt_run_pending(r) && q->va_start == r->end &&
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

int spt_runs_walk(struct spt_space *s, u64 *va, u64 end, struct spt_run *run,
		  int (*emit)(const struct spt_run *r, void *arg), void *arg)
{
	struct spt_runs_ctx ctx = { .run = run, .emit = emit, .arg = arg };
	u64 span = spt_level_size(spt_kcfg.levels);
	int ret;

	while (*va < end) {
		u64 wend = min(ALIGN_DOWN(*va, span) + span, end);

		ret = spt_space_walk(s, va, wend, spt_runs_leaf, &ctx);
		if (ret)
			return ret;
		*va = wend;
	}
	if (spt_run_pending(run)) {
		ret = emit(run, arg);
		if (ret)
			return ret;
	}
	run->end = run->va;
	return 0;
}
