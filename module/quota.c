// SPDX-License-Identifier: GPL-2.0
/*
 * A space's quota: the only writer of its data_frames counter. Frames are
 * charged before they are allocated, and uncharged when they are given
 * back unmapped or queued to be freed (replaced or unmapped), not when
 * their grace period ends.
 */
#include <linux/atomic.h>

#include "shadowpt.h"
#include "space_internal.h"
#include "quota.h"

void spt_quota_init(struct spt_space *s, u64 limit_frames)
{
	s->limit_frames = limit_frames;
	atomic64_set(&s->data_frames, 0);
}

bool spt_quota_nodes_fit(struct spt_space *s)
{
	return spt_pt_nr_nodes(&s->pt) < s->limit_frames;
}

bool spt_quota_charge(struct spt_space *s, u64 pages)
{
	if (!spt_quota_nodes_fit(s))
		return false;
	if (atomic64_add_return(pages, &s->data_frames) > s->limit_frames) {
		atomic64_sub(pages, &s->data_frames);
		return false;
	}
	return true;
}

void spt_quota_uncharge(struct spt_space *s, u64 pages)
{
	atomic64_sub(pages, &s->data_frames);
}

void spt_quota_settle(struct spt_space *s, struct spt_flusher *fl)
{
	unsigned long q = fl->data_frames - fl->data_shared + fl->shared_pages;

	spt_quota_uncharge(s, q - fl->data_settled);
	fl->data_settled = q;
}

void spt_quota_mark_shared(struct spt_space *s, struct spt_meta *head,
			   unsigned int leaf_level)
{
	u64 mapped;

	if (spt_meta_is_shared(head))
		return;
	/*
	 * Not shared yet: every reference is a leaf of @s (the uAPI holds
	 * no handles), so @s maps the whole frame with one leaf of its size
	 * or, a 2 MiB frame split, refcount 4 KiB pieces; it was charged
	 * the whole frame, and from now on is charged what it maps.
	 */
	mapped = head->level == leaf_level ? spt_level_size(head->level) >>
					      PAGE_SHIFT : spt_meta_ref(head);
	spt_quota_uncharge(s, (spt_level_size(head->level) >> PAGE_SHIFT) -
			   mapped);
	spt_meta_mark_shared(head);
}

int spt_quota_frame_alloc(struct spt_space *s, unsigned int level, u64 *pa)
{
	u64 pages = spt_level_size(level) >> PAGE_SHIFT;
	int ret;

	if (!spt_quota_charge(s, pages))
		return -ENOSPC;
	ret = spt_pool_alloc(spt_pool, SPT_USAGE_DATA, level, false, pa);
	if (ret)
		spt_quota_uncharge(s, pages);
	return ret;
}

void spt_quota_frames_put(struct spt_space *s, const u64 *pas,
			  unsigned long nr, unsigned int level)
{
	u64 pages = 0;
	unsigned long i;

	for (i = 0; i < nr; i++) {
		if (!pas[i])
			continue;
		if (spt_meta_put(spt_pool_meta(spt_pool, pas[i])))
			spt_pool_free(spt_pool, pas[i]);
		pages += spt_level_size(level) >> PAGE_SHIFT;
	}
	spt_quota_uncharge(s, pages);
}
