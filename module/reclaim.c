// SPDX-License-Identifier: GPL-2.0
/*
 * Deferred reclamation, the queue (reclaim.h): a ring of flusher lists,
 * each with the grace-period cookie taken after its TLB flush. A list is
 * handed back only once its own cookie has passed, and only from the
 * front, so no frame or node leaves the queue before its grace period.
 */
#include "reclaim.h"

void spt_reclaim_init(struct spt_reclaim *r, unsigned long max_frames)
{
	r->first = 0;
	r->nr = 0;
	r->frames = 0;
	r->nodes = 0;
	r->data = 0;
	r->max_frames = max_frames;
	r->queued = 0;
	r->released = 0;
	r->peak_frames = 0;
}

unsigned long spt_reclaim_fl_frames(const struct spt_flusher *fl)
{
	return fl->nr_nodes + fl->data_frames;
}

bool spt_reclaim_push(struct spt_reclaim *r, struct spt_flusher *fl,
		      struct rcu_gp_oldstate cookie)
{
	unsigned long frames = spt_reclaim_fl_frames(fl);
	struct spt_reclaim_batch *b;

	if (r->nr == SPT_RECLAIM_BATCHES || frames > r->max_frames ||
	    r->frames > r->max_frames - frames)
		return false;
	b = &r->ring[(r->first + r->nr) % SPT_RECLAIM_BATCHES];
	b->head = fl->head;
	b->cookie = cookie;
	b->nodes = fl->nr_nodes;
	b->data = fl->data_frames;
	b->pinned = fl->pinned;
	r->nr++;
	r->frames += frames;
	r->nodes += b->nodes;
	r->data += b->data;
	if (r->frames > r->peak_frames)
		r->peak_frames = r->frames;
	r->queued++;
	spt_flusher_init(fl);
	return true;
}

bool spt_reclaim_cookie(const struct spt_reclaim *r, bool newest,
			struct rcu_gp_oldstate *cookie)
{
	unsigned int i = newest ? r->nr - 1 : 0;

	if (!r->nr)
		return false;
	*cookie = r->ring[(r->first + i) % SPT_RECLAIM_BATCHES].cookie;
	return true;
}

bool spt_reclaim_pop(struct spt_reclaim *r,
		     bool (*done)(struct rcu_gp_oldstate *),
		     struct spt_flusher *fl)
{
	struct spt_reclaim_batch *b = &r->ring[r->first];

	if (!r->nr || !done(&b->cookie))
		return false;
	spt_flusher_init(fl);
	fl->head = b->head;
	fl->pinned = b->pinned;
	r->first = (r->first + 1) % SPT_RECLAIM_BATCHES;
	r->nr--;
	r->frames -= b->nodes + b->data;
	r->nodes -= b->nodes;
	r->data -= b->data;
	r->released++;
	return true;
}
