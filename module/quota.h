/* SPDX-License-Identifier: GPL-2.0 */
/*
 * A space's quota (quota.c): its data frames, 4 KiB pool frames mapped
 * or held for mapping, against its limit; nodes have a budget of their
 * own, as large. quota.c is the only writer of spt_space.data_frames.
 */
#ifndef SPT_QUOTA_H
#define SPT_QUOTA_H

#include <linux/types.h>

#include "core/pt.h"

struct spt_space;

/* A new space's quota: @limit_frames, nothing charged. */
void spt_quota_init(struct spt_space *s, u64 limit_frames);

/*
 * Charge @pages data frames: false (nothing charged) if they would pass
 * the limit, or the table's nodes already reach it (nodes are counted as
 * they come, so one slice may pass it, and the next charge or untracked
 * slice fails with ENOSPC).
 */
bool spt_quota_charge(struct spt_space *s, u64 pages);
void spt_quota_uncharge(struct spt_space *s, u64 pages);
/* May the table grow by the nodes of one more slice? */
bool spt_quota_nodes_fit(struct spt_space *s);
/*
 * The data frames queued on @fl (replaced or unmapped) leave the quota
 * now: the quota counts what is mapped, the pool what is held.
 */
void spt_quota_settle(struct spt_space *s, struct spt_flusher *fl);

/*
 * The first share of the frame of @head, mapped in @s by a leaf of
 * @leaf_level: mark it shared, and charge @s from now on for the pages
 * it maps of it rather than for the whole frame. The caller holds a
 * cursor over every leaf that maps the frame (all in @s: it is not shared
 * yet).
 */
void spt_quota_mark_shared(struct spt_space *s, struct spt_meta *head,
			   unsigned int leaf_level);

/*
 * Allocate one data frame of @level (1 or 2) for @s, charged to it:
 * -ENOSPC past the quota, or the pool's error (nothing charged then).
 */
int spt_quota_frame_alloc(struct spt_space *s, unsigned int level, u64 *pa);
/*
 * Give back frames of @level that were allocated for @s and never
 * mapped, and their charge: the @nr entries of @pas, skipping zeros.
 */
void spt_quota_frames_put(struct spt_space *s, const u64 *pas,
			  unsigned long nr, unsigned int level);

#endif /* SPT_QUOTA_H */
