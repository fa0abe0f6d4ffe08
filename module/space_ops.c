// SPDX-License-Identifier: GPL-2.0
/*
 * The operations on a space: map, unmap, protect, query, read/write,
 * the listings' walk, the counts and the check.
 *
 * Every long operation runs on one iterator, spt_slices_run(), which
 * cuts its range into aligned slices so that no cursor (whose node locks
 * are bit spinlocks: preemption off) is held for long, and each operation
 * is an action on one slice: tracked maps 2 MiB at a time, with the
 * slice's frames allocated (and zeroed) before its cursor is opened;
 * untracked maps, unmap and protect 1 GiB at a time, so that no slice
 * boundary ever splits a leaf that the operation covers whole (unmap and
 * protect start each slice at the next mapping); reads and writes 64 KiB
 * through a bounce buffer; listings 2 MiB under a read cursor. Between
 * slices: cond_resched() and, except in listings, a signal check (EINTR,
 * with the progress reported).
 */
#include <linux/slab.h>
#include <linux/xarray.h>
#include <linux/sched.h>
#include <linux/sched/signal.h>
#include <linux/sizes.h>
#include <linux/mm.h>
#include <linux/fs.h>
#include <linux/mutex.h>
#include <linux/sort.h>
#include <linux/string.h>
#include <linux/highmem.h>
#include <linux/shadowpt.h>

#include "shadowpt.h"
#include "failinject.h"
#include "space_internal.h"
#include "flush.h"
#include "quota.h"
#include "pin.h"
#include "procmap.h"
#include "space_events.h"
#include "trace.h"
#include "tables.h"

/*
 * Listings (spt_space_walk, spt_space_counts) hold one read cursor
 * over at most this much at a time: a cursor locks every node below its
 * guard that meets its range, with preemption off, so a slice locks at
 * most one node of 4 KiB leaves and its parent, and looks at no more than
 * 512 leaves.
 */
#define SPT_WALK_SLICE	SZ_2M

bool spt_range_ok(u64 va, u64 len, u64 align)
{
	u64 end = spt_cfg_user_end(&spt_machine_cfg);

	if (!len || (va | len) & (align - 1))
		return false;
	if (va + len < va)	/* overflow */
		return false;
	return va < end && len <= end - va;
}

/* The CHANGED event: @op did @count over [va, va + len); @err >= 0. */
static void spt_space_changed(struct spt_space *s, u32 op, u64 va, u64 len,
			      u64 count, int err)
{
	struct spt_space_event ev = {
		.space_id = s->id, .op = op, .va = va, .len = len,
		.count = count, .err = err,
	};

	spt_space_event(SPT_SPACE_EV_CHANGED, &ev);
}

static int spt_between_slices(void)
{
	cond_resched();
	return fatal_signal_pending(current) || signal_pending(current) ?
	       -EINTR : 0;
}

/* Is anything mapped in [va, va + len)? */
static int spt_range_used(struct spt_space *s, u64 va, u64 len, bool *used)
{
	struct spt_cursor c;
	int ret;

	ret = spt_cursor_new(&c, &s->pt, va, va + len);
	if (ret)
		return ret;
	*used = spt_cursor_find_next(&c, len);
	spt_cursor_drop(&c);
	return 0;
}

/*
 * The first mapped address in [va, end), or end: read-only cursors, one
 * top-level entry's span at a time, so that empty stretches of a long
 * range cost no mutable cursor (which would create intermediate nodes).
 */
static u64 spt_next_mapped(struct spt_space *s, u64 va, u64 end)
{
	u64 span = spt_level_size(spt_machine_cfg.levels);

	while (va < end) {
		u64 slice_end = min(ALIGN_DOWN(va, span) + span, end);
		struct spt_cursor c;
		bool found;

		if (spt_cursor_new(&c, &s->pt, va, slice_end))
			return va;	/* let the caller's cursor report it */
		found = spt_cursor_find_next(&c, slice_end - va);
		if (found)
			va = max(spt_cursor_va(&c), va);
		spt_cursor_drop(&c);
		if (found)
			return va;
		va = slice_end;
	}
	return end;
}

int spt_space_expect_empty(struct spt_cursor *c, u64 len)
{
	u64 va = spt_cursor_va(c);
	bool used;
	int ret;

	used = spt_cursor_find_next(c, len);
	ret = spt_cursor_jump(c, va);
	if (ret)
		return ret;
	return used ? -EEXIST : 0;
}

int spt_space_unmap_nosleep(struct spt_space *s, u64 va, u64 len,
			    struct spt_flusher *fl, u64 *count, u64 *stop)
{
	struct spt_cursor c;
	long n;
	int ret;

	ret = spt_cursor_mut_new(&c, &s->pt, va, va + len, fl);
	if (ret)
		return ret;
	n = spt_cursor_unmap(&c, len);
	if (n < 0) {
		ret = n;
		if (stop)
			*stop = spt_cursor_va(&c);
	} else {
		*count += n;
	}
	spt_cursor_drop(&c);
	return ret;
}

int spt_space_protect_nosleep(struct spt_space *s, u64 va, u64 len,
			      const struct spt_prot_op *op,
			      struct spt_flusher *fl, u64 *count,
			      unsigned int *level, u64 *stop)
{
	struct spt_cursor c;
	int ret;

	ret = spt_cursor_mut_new(&c, &s->pt, va, va + len, fl);
	if (ret)
		return ret;
	ret = spt_cursor_protect(&c, len, op, count, level);
	if (ret < 0 && stop)
		*stop = spt_cursor_va(&c);
	spt_cursor_drop(&c);
	return min(ret, 0);
}

int spt_space_map_frames_nosleep(struct spt_space *s, u64 va, u64 *pas,
				 unsigned int nr, unsigned int level,
				 const struct spt_prop *prop, bool replace,
				 struct spt_flusher *fl, u64 *count)
{
	u64 len = (u64)nr * spt_level_size(level);
	struct spt_map_run run = {
		.pas = pas, .nr = nr, .level = level, .tracked = true,
	};
	unsigned long done = 0, i;
	struct spt_cursor c;
	int ret;

	ret = spt_cursor_mut_new(&c, &s->pt, va, va + len, fl);
	if (ret)
		return ret;
	/*
	 * Checked again here even if the caller checked the whole range:
	 * under this cursor a concurrent map can no longer slip in between
	 * the check and the map.
	 */
	if (!replace)
		ret = spt_space_expect_empty(&c, len);
	if (!ret)
		ret = spt_cursor_map_run(&c, &run, prop, &done);
	spt_cursor_drop(&c);
	for (i = 0; i < done; i++)
		pas[i] = 0;	/* the mapping owns it now */
	*count += done;
	return ret;
}

/*
 * The one loop of every long operation: [*va, end) one slice at a time.
 * Slices are aligned to @size (a power of two), so that no slice boundary
 * splits a leaf an operation covers whole. @do_slice does [*va, slice_end)
 * and leaves *va where it stopped: at or past slice_end when it is done
 * (an action may skip further, never past @end), earlier on an error or
 * when it asks to stop (a positive return).
 */
struct spt_slicing {
	u64 size;
	/* Each slice starts at the next mapping: holes cost no cursor. */
	bool from_mapped;
	/*
	 * A listing enters the space for each slice (an operation holds it
	 * throughout), is not interrupted by signals, and gives -EAGAIN
	 * after @max slices (0: no limit).
	 */
	bool listing;
	unsigned int max;
	int (*do_slice)(struct spt_space *s, u64 *va, u64 slice_end,
			void *arg);
};

static int spt_slices_run(struct spt_space *s, u64 *va, u64 end,
			  const struct spt_slicing *how, void *arg)
{
	unsigned int n = 0;
	int ret = 0;

	while (*va < end) {
		if (how->listing) {
			if (how->max && n++ == how->max)
				return -EAGAIN;
			ret = spt_space_enter(s);
			if (ret)
				break;
		}
		if (how->from_mapped)
			*va = spt_next_mapped(s, *va, end);
		if (*va < end)
			ret = how->do_slice(s, va,
					    min(ALIGN_DOWN(*va, how->size) +
						how->size, end), arg);
		if (how->listing)
			spt_space_leave(s);
		*va = min(*va, end);
		if (ret || *va >= end)
			break;
		if (how->listing)
			cond_resched();
		else
			ret = spt_between_slices();
		if (ret)
			break;
	}
	return ret;
}

/* What a change did: leaves, the largest level, its frames to flush. */
struct spt_change {
	struct spt_flusher fl;
	u64 start;		/* of the range */
	u64 count;		/* leaves mapped, unmapped or changed */
	unsigned int level;	/* the largest leaf level among them */
	bool expect_empty;	/* EEXIST if anything is mapped there */
	u32 flags;		/* map: SPT_MAP_* */
	u64 phys;		/* map: the physical base */
	const struct spt_prop *prop;
	const struct spt_prot_op *op;	/* protect */
	struct spt_map_slice *w;	/* tracked map: the slice's frames */
	/* SPT_MAP_SHARE: the source, and a slice's items taken from it */
	struct spt_space *src;
	u64 src_va;
	struct spt_item *items;
	bool untracked;			/* the source has untracked leaves */
	/* SPT_MAP_USER: a pin per page of the range, NULL once mapped */
	struct spt_pin **pins;
};

static void spt_change_add(struct spt_change *ch, unsigned int level,
			   u64 leaves)
{
	ch->count += leaves;
	if (leaves)
		ch->level = max(ch->level, level);
}

/* Unmap [va, va + len) and give its frames back now. */
static int spt_slice_clear(struct spt_space *s, u64 va, u64 len)
{
	struct spt_flusher fl;
	u64 n = 0;
	int ret;

	spt_flusher_init(&fl);
	ret = spt_pool_reserve(spt_pool, SPT_MAX_LEVELS);
	if (!ret)
		ret = spt_space_unmap_nosleep(s, va, len, &fl, &n, NULL);
	spt_flush_finish(s, &fl);
	return ret;
}

struct spt_map_slice {
	u64 pas[SZ_2M / PAGE_SIZE];
	unsigned int nr;
};

/* Tracked map, one slice of at most 2 MiB: frames first, then a cursor. */
static int spt_map_tracked_slice(struct spt_space *s, u64 *va, u64 end,
				 void *arg)
{
	struct spt_change *ch = arg;
	struct spt_map_slice *w = ch->w;
	bool replace = ch->flags & SPT_MAP_REPLACE;
	unsigned int level = 1;
	u64 len = end - *va, step, mapped = 0;
	unsigned int i;
	int ret = 0;

	if (ch->flags & SPT_MAP_2M ||
	    (ch->flags & SPT_MAP_LARGEST && len == SZ_2M))
		level = 2;
	step = spt_level_size(level);
	w->nr = 0;
	if (!spt_quota_charge(s, len >> PAGE_SHIFT)) {
		/*
		 * At the limit, a replacing map first gives back what the
		 * slice held, so that replacing never needs more room
		 * than the mapping it replaces.
		 */
		if (!replace)
			return -ENOSPC;
		ret = spt_slice_clear(s, *va, len);
		if (ret)
			return ret;
		if (!spt_quota_charge(s, len >> PAGE_SHIFT))
			return -ENOSPC;
	}
	if (level == 1) {
		/* Runs of one chunk where it can. */
		ret = spt_pool_alloc_bulk(spt_pool, SPT_USAGE_DATA, len / step,
					  w->pas, &w->nr);
		if (ret)
			goto out;
	}
	for (i = w->nr; i < len / step; i++) {
		ret = spt_pool_alloc(spt_pool, SPT_USAGE_DATA, level, false,
				     &w->pas[i]);
		if (ret)
			goto out;
		w->nr++;
	}
	/* Nodes for the slice: at most one per level below the root. */
	ret = spt_pool_reserve(spt_pool, SPT_MAX_LEVELS);
	if (ret)
		goto out;
	ret = spt_space_map_frames_nosleep(s, *va, w->pas, w->nr, level,
					   ch->prop, replace, &ch->fl,
					   &mapped);
	/*
	 * The quota counts what is mapped: frames this slice replaced stop
	 * counting now, not when their grace period is over (the pool still
	 * holds them until then).
	 */
	spt_quota_settle(s, &ch->fl);
out:
	*va += mapped * step;
	spt_change_add(ch, level, mapped);
#ifdef SPT_PLANT_LEAK
	/* Planted bug (scripts/plant-check): one unmapped frame leaks. */
	if (w->nr > mapped)
		w->nr--;
#endif
	/*
	 * Frames not mapped go back with their share of the limit, and so
	 * does the share of those never allocated.
	 */
	spt_quota_frames_put(s, w->pas, w->nr, level);
	spt_quota_uncharge(s, (len / step - w->nr) * (step >> PAGE_SHIFT));
	return ret;
}

/*
 * Untracked map, one slice of at most 1 GiB: the largest leaves that fit,
 * each stretch of one leaf size as one contiguous run.
 */
static int spt_map_phys_slice(struct spt_space *s, u64 *va, u64 end,
			      void *arg)
{
	struct spt_change *ch = arg;
	struct spt_cursor c;
	int ret;

	if (!spt_quota_nodes_fit(s))
		return -ENOSPC;
	ret = spt_pool_reserve(spt_pool, SPT_MAX_LEVELS + 1);
	if (ret)
		return ret;
	ret = spt_cursor_mut_new(&c, &s->pt, *va, end, &ch->fl);
	if (ret)
		return ret;
	if (!(ch->flags & SPT_MAP_REPLACE))
		ret = spt_space_expect_empty(&c, end - *va);
	while (!ret && *va < end) {
		u64 pa = ch->phys + (*va - ch->start), size, stop;
		struct spt_map_run run = { .pa = pa, .tracked = false };
		unsigned long done;

		run.level = spt_largest_level(*va, pa, end - *va,
					      spt_machine_phys_max_level);
		size = spt_level_size(run.level);
		/* As far as the next larger leaf could start, or the end. */
		stop = end;
		if (run.level < spt_machine_phys_max_level)
			stop = min(end, ALIGN(*va + 1,
					      spt_level_size(run.level + 1)));
		run.nr = (stop - *va) / size;
		ret = spt_cursor_map_run(&c, &run, ch->prop, &done);
		*va += done * size;
		spt_change_add(ch, run.level, done);
	}
	spt_cursor_drop(&c);
	return ret;
}

/*
 * SPT_MAP_USER, one slice of at most 2 MiB: its pins go into the
 * space's table, then its leaves are mapped under one cursor; the pins
 * of the leaves not mapped come out again (ch->pins keeps them, and
 * loses those mapped).
 */
static int spt_map_user_slice(struct spt_space *s, u64 *va, u64 end,
			      void *arg)
{
	struct spt_change *ch = arg;
	unsigned long first = (*va - ch->start) >> PAGE_SHIFT;
	unsigned long n = (end - *va) >> PAGE_SHIFT, added, done = 0, i;
	struct spt_pin **pins = ch->pins + first;
	struct spt_cursor c;
	int ret = 0;

	for (added = 0; added < n && !ret; added++)
		ret = spt_pin_add(s, pins[added]);
	if (ret)
		added--;
	if (!ret && !spt_quota_nodes_fit(s))
		ret = -ENOSPC;
	if (!ret)
		ret = spt_pool_reserve(spt_pool, SPT_MAX_LEVELS + 1);
	if (!ret)
		ret = spt_cursor_mut_new(&c, &s->pt, *va, end, &ch->fl);
	if (!ret) {
		ret = spt_space_expect_empty(&c, end - *va);
		for (; !ret && done < n; done++) {
			struct spt_item item = {
				.pa = page_to_phys(pins[done]->page),
				.level = 1, .pinned = true,
				.pin_write = pins[done]->write,
			};

			ret = spt_cursor_map(&c, &item, ch->prop, NULL);
			if (ret)
				break;
		}
		spt_cursor_drop(&c);
	}
	for (i = 0; i < done; i++)
		pins[i] = NULL;
	for (i = done; i < added; i++)
		pins[i] = spt_pin_take(s, pins[i]);
	*va += done << PAGE_SHIFT;
	spt_change_add(ch, 1, done);
	return ret;
}

static const struct spt_slicing spt_map_user_slices = {
	.size = SZ_2M, .do_slice = spt_map_user_slice,
};

static int spt_unmap_slice(struct spt_space *s, u64 *va, u64 end, void *arg)
{
	struct spt_change *ch = arg;
	u64 stop = *va;
	int ret;

	/*
	 * A split needs one node; keep a few ready. Best effort: with the
	 * pool full, unmapping whole leaves still works (it is how room is
	 * made) and only a split fails, ENOMEM.
	 */
	spt_pool_reserve(spt_pool, SPT_MAX_LEVELS);
	ret = spt_space_unmap_nosleep(s, *va, end - *va, &ch->fl, &ch->count,
				      &stop);
	*va = ret ? stop : end;
	return ret;
}

static int spt_protect_slice(struct spt_space *s, u64 *va, u64 end,
			     void *arg)
{
	struct spt_change *ch = arg;
	u64 stop = *va;
	int ret;

	spt_pool_reserve(spt_pool, SPT_MAX_LEVELS);	/* as for unmap */
	ret = spt_space_protect_nosleep(s, *va, end - *va, ch->op, &ch->fl,
					&ch->count, &ch->level, &stop);
	*va = ret ? stop : end;
	return ret;
}

static const struct spt_slicing spt_map_tracked_slices = {
	.size = SZ_2M, .do_slice = spt_map_tracked_slice,
};

static const struct spt_slicing spt_map_phys_slices = {
	.size = SZ_1G, .do_slice = spt_map_phys_slice,
};

static const struct spt_slicing spt_unmap_slices = {
	.size = SZ_1G, .from_mapped = true, .do_slice = spt_unmap_slice,
};

static const struct spt_slicing spt_protect_slices = {
	.size = SZ_1G, .from_mapped = true, .do_slice = spt_protect_slice,
};

/*
 * SPT_MAP_SHARE. Lock order between two spaces: they are entered (their
 * rwsems, for reading) in the order of their ids, and held for the whole
 * call; a CHECK of spaces that share takes their rwsems for writing in
 * the same order. Cursors are never held on two spaces at once: a slice
 * first reads the source's leaves under a read cursor, taking a reference
 * on each frame and copying out the items, drops it, and then maps the
 * items under the destination's cursor.
 */

/* The source's leaves of one slice of its range: all mapped? */
static int spt_share_scan_slice(struct spt_space *src, u64 *va, u64 end,
				void *arg)
{
	struct spt_change *ch = arg;
	struct spt_cursor c;
	struct spt_query q;
	int ret;

	ret = spt_cursor_new(&c, &src->pt, *va, end);
	if (ret)
		return ret;
	while (*va < end) {
		ret = spt_cursor_jump(&c, *va);
		if (!ret)
			ret = spt_cursor_query(&c, &q);
		if (ret)
			break;
		if (!q.mapped) {
			ret = -ENXIO;
			break;
		}
		if (q.item.pinned) {
			/* A pin is its space's own: never aliased. */
			ret = -EINVAL;
			break;
		}
		if (!q.item.tracked)
			ch->untracked = true;
		*va = min(q.va_end, end);
	}
	spt_cursor_drop(&c);
	return ret;
}

static const struct spt_slicing spt_share_scan_slices = {
	.size = SZ_2M, .do_slice = spt_share_scan_slice,
};

/*
 * Copy out the items that back [sva, sva + len) of the source, to be
 * mapped from @dva on, each tracked one with a reference taken: *@nr
 * items, *@tracked 4 KiB pages of pool frames among them. The read cursor
 * covers the 2 MiB-aligned span around the range, and so every leaf of a
 * frame that is not shared yet (they all lie in the 2 MiB its leaf was
 * made at): the first share of a frame changes its accounting with no
 * change to its leaves in between.
 */
static int spt_share_collect(struct spt_change *ch, u64 sva, u64 len,
			     u64 dva, unsigned int *nr, u64 *tracked)
{
	u64 user_end = spt_cfg_user_end(&spt_machine_cfg);
	u64 at = sva, send = sva + len;
	struct spt_space *src = ch->src;
	struct spt_cursor c;
	struct spt_query q;
	int ret;

	ret = spt_cursor_new(&c, &src->pt, ALIGN_DOWN(sva, SZ_2M),
			     min(ALIGN(send, SZ_2M), user_end));
	if (ret)
		return ret;
	while (!ret && at < send) {
		u64 stop, pa, d, hpa;
		struct spt_meta *head;
		bool whole;

		ret = spt_cursor_jump(&c, at);
		if (!ret)
			ret = spt_cursor_query(&c, &q);
		if (ret)
			break;
		if (!q.mapped) {
			ret = -ENXIO;
			break;
		}
		stop = min(q.va_end, send);
		pa = q.item.pa + (at - q.va_start);
		d = dva + (at - sva);
		if (!q.item.tracked) {
			while (at < stop) {
				unsigned int level;
				u64 size;

				level = spt_largest_level(d, pa, stop - at,
							  min_t(unsigned int,
								q.item.level,
								2));
				size = spt_level_size(level);
				ch->items[(*nr)++] = (struct spt_item){
					.pa = pa, .level = level,
				};
				at += size;
				d += size;
				pa += size;
			}
			continue;
		}
		head = spt_item_head(&src->pt, &q.item, &hpa);
		if (WARN_ON_ONCE(!head)) {
			ret = -EUCLEAN;
			break;
		}
		whole = q.item.level == 2 && at == q.va_start &&
			stop == q.va_end && IS_ALIGNED(d, SZ_2M);
		spt_quota_mark_shared(src, head, q.item.level);
		if (!spt_meta_get_many(head, whole ? 1 :
				       (stop - at) >> PAGE_SHIFT)) {
			ret = -ENOMEM;
			break;
		}
		if (whole) {
			ch->items[(*nr)++] = (struct spt_item){
				.pa = hpa, .level = 2, .tracked = true,
			};
			*tracked += SZ_2M >> PAGE_SHIFT;
			at = stop;
			continue;
		}
		for (; at < stop; at += PAGE_SIZE, pa += PAGE_SIZE) {
			ch->items[(*nr)++] = (struct spt_item){
				.pa = pa, .level = 1, .tracked = true,
				.piece = true,
			};
			(*tracked)++;
		}
	}
	spt_cursor_drop(&c);
	return ret;
}

/*
 * One slice of at most 2 MiB of a share: charged in full first (the
 * source's untracked pages given back once known), the items copied out
 * of the source, then mapped; what was not mapped gives back its
 * reference and its charge.
 */
static int spt_share_slice(struct spt_space *s, u64 *va, u64 end, void *arg)
{
	struct spt_change *ch = arg;
	u64 len = end - *va, sva = ch->src_va + (*va - ch->start);
	u64 pages = len >> PAGE_SHIFT, tracked = 0, at = *va;
	unsigned int nr = 0, i, done = 0, level = 1;
	struct spt_cursor c;
	int ret, err;

	if (!spt_quota_charge(s, pages))
		return -ENOSPC;
	err = spt_share_collect(ch, sva, len, *va, &nr, &tracked);
	spt_quota_uncharge(s, pages - tracked);
	ret = nr ? spt_pool_reserve(spt_pool, SPT_MAX_LEVELS) : 0;
	if (nr && !ret)
		ret = spt_cursor_mut_new(&c, &s->pt, *va, end, &ch->fl);
	if (nr && !ret) {
		/* Checked again under the cursor, as every map does. */
		ret = spt_space_expect_empty(&c, len);
		for (; !ret && done < nr; done++) {
			ret = spt_cursor_map(&c, &ch->items[done], ch->prop,
					     NULL);
			if (ret)
				break;
			at += spt_level_size(ch->items[done].level);
			level = max_t(unsigned int, level,
				      ch->items[done].level);
		}
		spt_cursor_drop(&c);
	}
	for (i = done; i < nr; i++) {
		if (!ch->items[i].tracked)
			continue;
		spt_item_put(&s->pt, &ch->items[i], &ch->fl);
		spt_quota_uncharge(s, spt_level_size(ch->items[i].level) >>
				   PAGE_SHIFT);
	}
	spt_quota_settle(s, &ch->fl);
	*va = at;
	spt_change_add(ch, level, done);
	return ret ?: err;
}

static const struct spt_slicing spt_share_slices = {
	.size = SZ_2M, .do_slice = spt_share_slice,
};

/* Enter @s, and @src (if another space) too: in the order of their ids. */
static int spt_change_enter(struct spt_space *s, struct spt_space *src)
{
	struct spt_space *first = s, *second = src;

	if (!src || src == s)
		return spt_space_enter(s);
	if (src->id < s->id)
		swap(first, second);
	down_read(&first->rwsem);
	down_read_nested(&second->rwsem, SINGLE_DEPTH_NESTING);
	if (first->dead || second->dead) {
		up_read(&second->rwsem);
		up_read(&first->rwsem);
		return -ENOENT;
	}
	return 0;
}

static void spt_change_leave(struct spt_space *s, struct spt_space *src)
{
	if (src && src != s)
		spt_space_leave(src);
	spt_space_leave(s);
}

/* Before a share: the whole source range mapped, and the permission. */
static int spt_share_prepare(struct spt_space *s, struct spt_change *ch,
			     u64 len)
{
	u64 at = ch->src_va;
	int ret;

	ret = spt_slices_run(ch->src, &at, ch->src_va + len,
			     &spt_share_scan_slices, ch);
	if (!ret && ch->untracked)
		ret = spt_phys_permission(true);
	if (ret)
		return ret;
	spt_space_set_shared(s);
	spt_space_set_shared(ch->src);
	return 0;
}

/*
 * Run a change over [va, va + len), the space entered for it: *@done is
 * how much of the range is behind it, also on an error.
 */
static int spt_change_run(struct spt_space *s, u64 va, u64 len,
			  const struct spt_slicing *how,
			  struct spt_change *ch, u64 *done)
{
	u64 at = va;
	bool used;
	int ret;

	ret = spt_change_enter(s, ch->src);
	if (ret)
		return ret;
	if (ch->expect_empty) {
		/* Checked again under each slice's cursor. */
		ret = spt_range_used(s, va, len, &used);
		if (!ret && used)
			ret = -EEXIST;
		if (ret)
			goto out;
	}
	if (ch->src) {
		ret = spt_share_prepare(s, ch, len);
		if (ret)
			goto out;
	}
	ch->start = va;
	spt_flusher_init(&ch->fl);
	spt_tables_change_begin(s);
	ret = spt_slices_run(s, &at, va + len, how, ch);
	spt_flush_finish(s, &ch->fl);
	spt_tables_change_end(s);
	*done = at - va;
out:
	spt_change_leave(s, ch->src);
	return ret;
}

int spt_space_map(struct spt_space *s, u64 va, u64 len, u32 flags, u64 phys,
		  const struct spt_prop *prop, u64 *mapped)
{
	struct spt_change ch = {
		.flags = flags, .phys = phys, .prop = prop,
		.expect_empty = !(flags & SPT_MAP_REPLACE),
	};
	const struct spt_slicing *how = &spt_map_phys_slices;
	int ret;

	*mapped = 0;
	if (!(flags & SPT_MAP_PHYS)) {
		how = &spt_map_tracked_slices;
		ch.w = spt_kmalloc(sizeof(*ch.w), GFP_KERNEL);
		if (!ch.w)
			return -ENOMEM;
	}
	ret = spt_change_run(s, va, len, how, &ch, mapped);
	kfree(ch.w);
	trace_spt_map(s->id, va, len, flags, *mapped, ch.level, ch.count,
		      ret);
	if (*mapped)
		spt_space_changed(s, SPT_EVENT_MAP, va, *mapped,
				  *mapped >> PAGE_SHIFT, -ret);
	return ret;
}

int spt_space_share(struct spt_space *s, u64 va, u64 len,
		    struct spt_space *src, u64 src_va,
		    const struct spt_prop *prop, u64 *mapped)
{
	struct spt_change ch = {
		.flags = SPT_MAP_SHARE, .prop = prop, .expect_empty = true,
		.src = src, .src_va = src_va,
	};
	int ret;

	*mapped = 0;
	ch.items = spt_kmalloc(sizeof(*ch.items) * (SZ_2M / PAGE_SIZE),
			       GFP_KERNEL);
	if (!ch.items)
		return -ENOMEM;
	ret = spt_change_run(s, va, len, &spt_share_slices, &ch, mapped);
	kfree(ch.items);
	trace_spt_map(s->id, va, len, ch.flags, *mapped, ch.level, ch.count,
		      ret);
	if (*mapped)
		spt_space_changed(s, SPT_EVENT_MAP, va, *mapped,
				  *mapped >> PAGE_SHIFT, -ret);
	return ret;
}

int spt_space_map_user(struct spt_space *s, u64 va, u64 len, u64 uaddr,
		       const struct spt_prop *prop, u64 *mapped)
{
	struct spt_change ch = {
		.flags = SPT_MAP_USER | SPT_MAP_4K, .prop = prop,
		.expect_empty = true,
	};
	unsigned long nr = len >> PAGE_SHIFT, i;
	int ret;

	*mapped = 0;
	ch.pins = kvcalloc(nr, sizeof(*ch.pins), GFP_KERNEL);
	if (!ch.pins)
		return -ENOMEM;
	/* Pinned and charged first: a fault or the limit changes nothing. */
	ret = spt_pins_get(uaddr, nr, prop->flags & SPT_PROT_WRITE, ch.pins);
	if (!ret)
		ret = spt_change_run(s, va, len, &spt_map_user_slices, &ch,
				     mapped);
	for (i = 0; i < nr; i++) {
		if (ch.pins[i])
			spt_pin_put(ch.pins[i]);
	}
	kvfree(ch.pins);
	trace_spt_map(s->id, va, len, ch.flags, *mapped, ch.level, ch.count,
		      ret);
	if (*mapped)
		spt_space_changed(s, SPT_EVENT_MAP, va, *mapped,
				  *mapped >> PAGE_SHIFT, -ret);
	return ret;
}

int spt_space_unmap(struct spt_space *s, u64 va, u64 len, u64 *unmapped,
		    u64 *done)
{
	struct spt_change ch = {};
	int ret;

	*done = 0;
	ret = spt_change_run(s, va, len, &spt_unmap_slices, &ch, done);
	*unmapped = ch.count;
	trace_spt_unmap(s->id, va, len, *done, *unmapped, ret);
	if (*done)
		spt_space_changed(s, SPT_EVENT_UNMAP, va, *done, *unmapped,
				  -ret);
	return ret;
}

int spt_space_protect(struct spt_space *s, u64 va, u64 len,
		      const struct spt_prot_op *op, u64 *nr, u64 *done)
{
	struct spt_change ch = { .op = op };
	int ret;

	*done = 0;
	ret = spt_change_run(s, va, len, &spt_protect_slices, &ch, done);
	*nr = ch.count;
	trace_spt_protect(s->id, va, len, *done, ch.level, *nr, ret);
	if (*done)
		spt_space_changed(s, SPT_EVENT_PROTECT, va, *done, *nr, -ret);
	return ret;
}

/*
 * Queries read the table without locks and without the rwsem (the walk of
 * core/lockless.c, where the argument is). What they need of the space:
 * the struct (a reference, or a lookup inside the same RCU section: spaces
 * are freed after a grace period), and, inside the RCU section of the
 * walk, "dead" still false. Destroy sets dead (under the rwsem, for
 * writing) before it tears the table down, and the nodes and the root go
 * back to the pool only after a grace period that begins after that: a
 * section that read false either ends before that grace period does, or
 * began after the store and would have read true. A walk that raced with
 * the teardown itself (it may find the root gone) reads dead again after
 * the walk and answers ENOENT: the space was destroyed during the call.
 */
static int spt_space_query_rcu(struct spt_space *s, u64 va,
			       struct spt_query *q)
{
	if (unlikely(READ_ONCE(s->dead)))
		return -ENOENT;
	spt_lockless_query(&s->pt, ALIGN_DOWN(va, PAGE_SIZE), q);
	smp_rmb();	/* the table's words before dead (spt_space_kill()) */
	return unlikely(READ_ONCE(s->dead)) ? -ENOENT : 0;
}

int spt_space_query(struct spt_space *s, u64 va, struct spt_query *q)
{
	int ret;

	rcu_read_lock();
	ret = spt_space_query_rcu(s, va, q);
	rcu_read_unlock();
	return ret;
}

int spt_space_query_id(u32 id, u64 va, struct spt_query *q)
{
	struct spt_space *s;
	int ret = -ENOENT;

	rcu_read_lock();
	s = spt_space_lookup_rcu(id);
	if (s)
		ret = spt_space_query_rcu(s, va, q);
	rcu_read_unlock();
	return ret;
}

/* Entries looked at in one RCU section of a range query. */
#define SPT_QUERY_RANGE_BUDGET	4096

int spt_space_query_range(struct spt_space *s, struct spt_range_query *rq)
{
	struct spt_lockless_walk w;
	int ret = -ENOENT;

	rcu_read_lock();
	if (likely(!READ_ONCE(s->dead))) {
		spt_lockless_begin(&w, &s->pt, rq->va, rq->end);
		if (rq->pages)
			rq->nr = spt_lockless_pages(&w, rq->pages, rq->cap,
						    SPT_QUERY_RANGE_BUDGET);
		else
			spt_lockless_runs(&w, &rq->runs,
					  SPT_QUERY_RANGE_BUDGET);
		rq->va = w.va;
		smp_rmb();	/* as in spt_space_query_rcu() */
		ret = READ_ONCE(s->dead) ? -ENOENT : 0;
	}
	rcu_read_unlock();
	return ret;
}

/* The leaves of one slice, under one read cursor. */
static int spt_walk_slice(struct spt_space *s, u64 *va, u64 slice_end,
			  void *arg)
{
	struct spt_listing *l = arg;
	u64 next = slice_end;
	struct spt_cursor c;
	struct spt_query q;
	int ret, stop = 0;

	l->slices++;
	ret = spt_cursor_new(&c, &s->pt, *va, slice_end);
	if (ret)
		return ret;
	/*
	 * Nothing at *va: the absent entry (of the lowest node there) may
	 * reach far past the slice, and all of it is skipped at once.
	 */
	ret = spt_cursor_query(&c, &q);
	if (ret)
		goto drop;
	if (!q.mapped && q.va_end >= slice_end) {
		next = q.va_end;
		goto drop;
	}
	while (spt_cursor_find_next(&c, slice_end - spt_cursor_va(&c))) {
		ret = spt_cursor_query(&c, &q);
		if (ret)
			break;
		stop = l->fn(&q, l->arg);
		if (stop) {
			next = max(q.va_start, *va);
			break;
		}
		/* A leaf may end past the slice: go on after it. */
		if (q.va_end >= slice_end) {
			next = q.va_end;
			break;
		}
		ret = spt_cursor_jump(&c, q.va_end);
		if (ret)
			break;
	}
drop:
	spt_cursor_drop(&c);
	if (!ret)
		*va = next;
	return ret ? ret : stop;
}

int spt_space_walk(struct spt_space *s, struct spt_listing *l)
{
	struct spt_slicing how = {
		.size = SPT_WALK_SLICE, .listing = true, .max = l->max_slices,
		.do_slice = spt_walk_slice,
	};

	return spt_slices_run(s, &l->va, l->end, &how, l);
}

#define SPT_RW_CHUNK	SZ_64K

struct spt_copy {
	void __user *up;
	u64 start;
	u8 *bounce;
	bool write;
};

/*
 * Copy between @buf (kernel memory) and the space's frames for
 * [va, va + len), under one cursor, so that no frame it touches can be
 * unmapped meanwhile; *done grows by the bytes copied.
 */
static int spt_rw_frames(struct spt_space *s, u64 va, u8 *buf, u64 len,
			 bool write, u64 *done)
{
	struct spt_cursor c;
	int ret;

	ret = spt_cursor_new(&c, &s->pt, ALIGN_DOWN(va, PAGE_SIZE),
			     ALIGN(va + len, PAGE_SIZE));
	if (ret)
		return ret;
	while (len) {
		u64 off, n;
		struct spt_query q;
		u8 *p;

		ret = spt_cursor_jump(&c, ALIGN_DOWN(va, PAGE_SIZE));
		if (!ret)
			ret = spt_cursor_query(&c, &q);
		if (ret)
			break;
		if (!q.mapped) {
			ret = -ENXIO;
			break;
		}
		if ((!q.item.tracked && !q.item.pinned) ||
		    (write && q.item.pinned && !q.item.pin_write)) {
			ret = -EACCES;
			break;
		}
		off = va - q.va_start;
		n = min(len, q.va_end - va);
		if (q.item.pinned)
			p = kmap_local_page(pfn_to_page(q.item.pa >>
							PAGE_SHIFT)) + off;
		else
			p = spt_pool_va(spt_pool, q.item.pa) + off;
		if (write)
			memcpy(p, buf, n);
		else
			memcpy(buf, p, n);
		if (q.item.pinned)
			kunmap_local(p);
		buf += n;
		va += n;
		len -= n;
		*done += n;
	}
	spt_cursor_drop(&c);
	return ret;
}

/*
 * One chunk of a read or write, through the bounce buffer. *va counts
 * exactly the bytes that reached their side: a fault part-way through
 * the user buffer stops at that byte.
 */
static int spt_rw_slice(struct spt_space *s, u64 *va, u64 end, void *arg)
{
	struct spt_copy *rw = arg;
	void __user *up = rw->up + (*va - rw->start);
	u64 n = end - *va, got = 0, left = 0;
	int ret;

	if (rw->write) {
		left = copy_from_user(rw->bounce, up, n);
		n -= left;
	}
	ret = n ? spt_rw_frames(s, *va, rw->bounce, n, rw->write, &got) : 0;
	if (!rw->write && got) {
		left = copy_to_user(up, rw->bounce, got);
		got -= left;
	}
	*va += got;
	/* Whichever failure comes first in byte order is reported. */
	if (left && (!ret || !rw->write))
		ret = -EFAULT;
	return ret;
}

static const struct spt_slicing spt_rw_slices = {
	.size = SPT_RW_CHUNK, .do_slice = spt_rw_slice,
};

int spt_space_rw(struct spt_space *s, u64 va, void __user *up, u64 len,
		 bool write, u64 *done)
{
	struct spt_copy rw = { .up = up, .start = va, .write = write };
	u64 at = va;
	int ret;

	*done = 0;
	rw.bounce = spt_kmalloc(min_t(u64, len, SPT_RW_CHUNK), GFP_KERNEL);
	if (!rw.bounce)
		return -ENOMEM;
	ret = spt_space_enter(s);
	if (!ret) {
		ret = spt_slices_run(s, &at, va + len, &spt_rw_slices, &rw);
		spt_space_leave(s);
	}
	*done = at - va;
	kfree(rw.bounce);
	return ret;
}

/* Handles on tracked frames outside page tables: none in the uAPI. */
static u32 spt_no_handles(u64 pa, void *arg)
{
	return 0;
}

/*
 * The space's kernel half must be what every process shares now (no
 * per-process slot such as the creator's LDT remap). The accessed bit is
 * the hardware's to set.
 */
static int spt_kernel_half_check(struct spt_space *s, char *msg,
				 size_t msg_len)
{
	unsigned int i;

	for (i = spt_machine_cfg.top_last + 1; i < SPT_NR_ENTRIES; i++) {
		u64 now = spt_machine_kernel_entry(i);

		if ((s->kernel_top[i] ^ now) & ~(u64)_PAGE_ACCESSED) {
			snprintf(msg, msg_len,
				 "kernel half: top-level entry %u is %#llx, the shared kernel half has %#llx",
				 i, s->kernel_top[i], now);
			return -EUCLEAN;
		}
	}
	return 0;
}

/* The pins a space holds: one per pinned leaf (SPT_MAP_USER). */
static int spt_pins_check(struct spt_space *s, char *msg, size_t msg_len)
{
	unsigned long pins = spt_pins_count(s);
	long leaves = atomic_long_read(&s->pt.nr_pinned);

	if (leaves >= 0 && pins == leaves)
		return 0;
	snprintf(msg, msg_len, "%lu pins for %ld pinned leaves", pins,
		 leaves);
	return -EUCLEAN;
}

/* One check at a time over the spaces that share (their meta tallies). */
static DEFINE_MUTEX(spt_share_check_mutex);

struct spt_share_group {
	struct spt_space **v;
	unsigned int nr, cap;
	u64 gen;		/* of the list of sharing spaces */
};

static void spt_share_group_put(struct spt_share_group *g, bool locked)
{
	unsigned int i;

	for (i = 0; i < g->nr; i++) {
		if (locked)
			up_write(&g->v[i]->rwsem);
		spt_space_put(g->v[i]);
	}
	g->nr = 0;
}

static int spt_share_cmp(const void *a, const void *b)
{
	u32 x = (*(struct spt_space * const *)a)->id;
	u32 y = (*(struct spt_space * const *)b)->id;

	return x < y ? -1 : x > y;
}

/*
 * The sharing spaces (those destroyed but not yet torn down included), in
 * id order, with references.
 */
static int spt_share_group_get(struct spt_share_group *g)
{
	unsigned int n;

	for (;;) {
		void *v;

		n = spt_shared_spaces_get(g->v, g->cap, &g->gen);
		if (n <= g->cap)
			break;
		v = spt_kmalloc_array(n + 8, sizeof(*g->v), GFP_KERNEL);
		if (!v)
			return -ENOMEM;
		kfree(g->v);
		g->v = v;
		g->cap = n + 8;
	}
	g->nr = n;
	sort(g->v, n, sizeof(*g->v), spt_share_cmp, NULL);
	return 0;
}

/* Did a space start sharing since the group was taken? */
static bool spt_share_group_stale(struct spt_share_group *g)
{
	return spt_shared_spaces_gen() != g->gen;
}

/*
 * Region references (procmap.c) count as handles; they may be dropped
 * meanwhile (munmap takes no space lock): a mismatch seen while one was
 * dropped is looked at again.
 */
static int spt_check_many_stable(struct spt_pt **pts, const u64 **tops,
				 unsigned int n, char *msg, size_t msg_len,
				 unsigned int *bad)
{
	unsigned int tries = 0;
	int ret;

	for (;;) {
		unsigned long cookie = spt_procmap_stable_begin();

		ret = spt_pt_check_many(pts, tops, n, spt_procmap_handles,
					NULL, msg, msg_len, bad);
		if (ret != -EUCLEAN || spt_procmap_stable(cookie) ||
		    ++tries > 100)
			return ret;
		/* The drops take no space lock: no deadlock waiting here. */
		spt_procmap_wait_stable();
	}
}

/*
 * CHECK of a space that shared: every space that ever shared and is not
 * torn down yet is checked with it, their refcounts against their leaves
 * in all of them, with every one of them held still (rwsem for writing,
 * in id order).
 */
static int spt_space_check_shared(struct spt_space *s, char *msg,
				  size_t msg_len)
{
	struct spt_share_group g = {};
	struct spt_pt **pts = NULL;
	const u64 **tops = NULL;
	unsigned int i, n, bad;
	int ret;

	mutex_lock(&spt_share_check_mutex);
	for (;;) {
		ret = spt_share_group_get(&g);
		if (ret)
			goto out;
		for (i = 0; i < g.nr; i++)
			down_write_nest_lock(&g.v[i]->rwsem,
					     &spt_share_check_mutex);
		if (!spt_share_group_stale(&g))
			break;
		spt_share_group_put(&g, true);
	}
	ret = -ENOENT;
	if (s->dead)
		goto unlock;
	ret = -ENOMEM;
	pts = spt_kmalloc_array(g.nr, sizeof(*pts), GFP_KERNEL);
	tops = spt_kmalloc_array(g.nr, sizeof(*tops), GFP_KERNEL);
	if (!pts || !tops)
		goto unlock;
	for (i = 0, n = 0; i < g.nr; i++) {
		if (g.v[i]->dead)
			continue;
		pts[n] = &g.v[i]->pt;
		tops[n++] = g.v[i]->kernel_top;
	}
	ret = spt_check_many_stable(pts, tops, n, msg, msg_len, &bad);
	for (i = 0; !ret && i < n; i++) {
		ret = spt_pins_check(container_of(pts[i], struct spt_space,
						  pt), msg, msg_len);
		bad = i;
	}
	if (ret && msg_len) {
		char *m = kstrdup(msg, GFP_KERNEL);

		if (m) {
			snprintf(msg, msg_len, "space %u: %s",
				 container_of(pts[bad], struct spt_space,
					      pt)->id, m);
			kfree(m);
		}
	}
unlock:
	kfree(pts);
	kfree(tops);
	spt_share_group_put(&g, true);
out:
	kfree(g.v);
	mutex_unlock(&spt_share_check_mutex);
	return ret;
}

int spt_space_check(struct spt_space *s, char *msg, size_t msg_len)
{
	u64 end = spt_cfg_user_end(&spt_machine_cfg);
	struct spt_cursor c;
	int ret;

	ret = spt_kernel_half_check(s, msg, msg_len);
	if (ret)
		return ret;
	/* What earlier changes unlinked is back in the pool first. */
	spt_reclaim_drain();
	if (READ_ONCE(s->shared))
		return spt_space_check_shared(s, msg, msg_len);

	/*
	 * Exclusive, not just a cursor over the whole range: a cursor that
	 * emptied a node removes it after unlocking its subtree, so between
	 * the two another cursor could see the empty node. With no operation
	 * in flight the quiescent invariants (no empty node but the root)
	 * hold, and the checker may demand them.
	 */
	down_write(&s->rwsem);
	if (s->dead) {
		up_write(&s->rwsem);
		return -ENOENT;
	}
	if (READ_ONCE(s->shared)) {
		/* It shared meanwhile. */
		up_write(&s->rwsem);
		return spt_space_check_shared(s, msg, msg_len);
	}
	ret = spt_cursor_new(&c, &s->pt, 0, end);
	if (!ret) {
		ret = spt_pt_check(&s->pt, s->kernel_top, true, spt_no_handles,
				   NULL, msg, msg_len) ?:
		      spt_pins_check(s, msg, msg_len);
		spt_cursor_drop(&c);
	}
	up_write(&s->rwsem);
	return ret;
}

void spt_space_counts(struct spt_space *s, struct spt_pt_counts *counts)
{
	/* The table's own counters, kept as it changes: O(1). */
	memset(counts, 0, sizeof(*counts));
	if (spt_space_enter(s))
		return;	/* being destroyed: nothing left to count */
	spt_pt_counts_read(&s->pt, counts);
	spt_space_leave(s);
}

/* SPT_IOCTL_MMAP: the pages grabbed so far and what they were. */
struct spt_grab {
	u64 *pas;		/* the 4 KiB page of each page of the range */
	u64 *heads;		/* the head of its frame (the reference) */
	u64 start;		/* the range's start */
	bool writable;		/* every leaf so far had SPT_PROT_WRITE */
};

/*
 * One slice of at most 2 MiB: a reference on the frame's head per 4 KiB
 * page, under a read cursor over the 2 MiB-aligned span around it (as a
 * share does: the frame is marked shared under a cursor over every leaf
 * that maps it). Pages before *@va on failure keep their references.
 */
static int spt_grab_slice(struct spt_space *s, u64 *va, u64 end, void *arg)
{
	u64 user_end = spt_cfg_user_end(&spt_machine_cfg);
	struct spt_grab *g = arg;
	struct spt_cursor c;
	struct spt_query q;
	int ret;

	ret = spt_cursor_new(&c, &s->pt, ALIGN_DOWN(*va, SZ_2M),
			     min(ALIGN(end, SZ_2M), user_end));
	if (ret)
		return ret;
	while (!ret && *va < end) {
		u64 stop, pa, hpa, i;
		struct spt_meta *head;

		ret = spt_cursor_jump(&c, *va);
		if (!ret)
			ret = spt_cursor_query(&c, &q);
		if (ret)
			break;
		if (!q.mapped) {
			ret = -ENXIO;
			break;
		}
		/* Pool frames only: no raw physical, no pinned pages. */
		if (!q.item.tracked || q.item.pinned) {
			ret = -EINVAL;
			break;
		}
		head = spt_item_head(&s->pt, &q.item, &hpa);
		if (WARN_ON_ONCE(!head)) {
			ret = -EUCLEAN;
			break;
		}
		stop = min(q.va_end, end);
		spt_quota_mark_shared(s, head, q.item.level);
		if (!spt_meta_get_many(head, (stop - *va) >> PAGE_SHIFT)) {
			ret = -ENOMEM;
			break;
		}
		if (!(q.prop.flags & SPT_PROT_WRITE))
			g->writable = false;
		pa = q.item.pa + (*va - q.va_start);
		i = (*va - g->start) >> PAGE_SHIFT;
		for (; *va < stop; *va += PAGE_SIZE, pa += PAGE_SIZE, i++) {
			g->pas[i] = pa;
			g->heads[i] = hpa;
		}
	}
	spt_cursor_drop(&c);
	return ret;
}

static const struct spt_slicing spt_grab_slices = {
	.size = SZ_2M, .do_slice = spt_grab_slice,
};

void spt_space_ungrab(const u64 *heads, unsigned long nr)
{
	struct spt_flusher fl;
	unsigned long i;

	spt_flusher_init(&fl);
	for (i = 0; i < nr; i++) {
		struct spt_meta *m = spt_pool_meta(spt_pool, heads[i]);

		/*
		 * The last reference: no leaf maps the frame any more and the
		 * TLBs of the spaces that did were flushed by their change;
		 * back to the pool after a grace period, charged to nobody.
		 */
		if (spt_meta_put(m))
			spt_flusher_queue(&fl, heads[i], m);
	}
	if (fl.head)
		spt_reclaim_queue(&fl);
}

int spt_space_grab(struct spt_space *s, u64 va, u64 len, u64 *pas,
		   u64 *heads, bool *writable)
{
	struct spt_grab g = {
		.pas = pas, .heads = heads, .start = va, .writable = true,
	};
	u64 at = va;
	int ret;

	/* CHECK counts this space's frames with every other sharer's. */
	spt_space_set_shared(s);
	ret = spt_slices_run(s, &at, va + len, &spt_grab_slices, &g);
	if (ret) {
		spt_space_ungrab(heads, (at - va) >> PAGE_SHIFT);
		return ret;
	}
	*writable = g.writable;
	return 0;
}
