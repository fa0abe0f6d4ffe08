// SPDX-License-Identifier: GPL-2.0
/*
 * The operations on a space: map, unmap, protect, query, read/write,
 * the listings' walk, the counts and the check.
 *
 * Long operations are cut into slices so that no cursor (whose node locks
 * are bit spinlocks: preemption off) is held for long: tracked maps one
 * 2 MiB slice at a time, with the slice's frames allocated (and zeroed)
 * before its cursor is opened; unmap and protect one 1 GiB-aligned slice at
 * a time, so that no slice boundary ever splits a leaf that the operation
 * covers whole. Between slices: cond_resched() and a signal check (EINTR,
 * with the progress reported).
 */
#include <linux/slab.h>
#include <linux/xarray.h>
#include <linux/sched.h>
#include <linux/sched/signal.h>
#include <linux/sizes.h>
#include <linux/mm.h>
#include <linux/fs.h>
#include <linux/shadowpt.h>

#include "shadowpt.h"
#include "failinject.h"
#include "space_internal.h"
#include "flush.h"
#include "quota.h"
#include "space_events.h"
#include "trace.h"

/*
 * Listings (spt_space_walk_slice, spt_space_counts) hold one read cursor
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

/* The level of a leaf of @size bytes. */
static unsigned int spt_size_level(u64 size)
{
	return (ilog2(size) - PAGE_SHIFT) / 9 + 1;
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
	u64 end = va + len, ps, pe;
	struct spt_cursor c;
	int ret;

	ret = spt_cursor_mut_new(&c, &s->pt, va, end, fl);
	if (ret)
		return ret;
	for (;;) {
		u64 at = spt_cursor_va(&c);

		if (at >= end)
			break;
		ret = spt_cursor_protect_next(&c, end - at, op, &ps, &pe);
		if (ret <= 0)
			break;
		(*count)++;
		if (level)
			*level = max(*level, spt_size_level(pe - ps));
	}
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
	struct spt_cursor c;
	unsigned int i;
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
	for (i = 0; !ret && i < nr; i++) {
		struct spt_item item = {
			.pa = pas[i], .level = level, .tracked = true,
		};

		ret = spt_cursor_map(&c, &item, prop, NULL);
		if (ret)
			break;
		pas[i] = 0;	/* the mapping owns it now */
		(*count)++;
	}
	spt_cursor_drop(&c);
	return ret;
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
	u64 va, len;
	unsigned int level;	/* leaf level for tracked frames */
	u64 pas[SZ_2M / PAGE_SIZE];
	unsigned int nr;
};

/* Map one slice of tracked frames; *done grows by what was mapped. */
static int spt_map_tracked_slice(struct spt_space *s,
				 struct spt_map_slice *w,
				 const struct spt_prop *prop, bool replace,
				 struct spt_flusher *fl, u64 *done)
{
	u64 step = spt_level_size(w->level);
	u64 mapped = 0;
	unsigned int i;
	int ret = 0;

	w->nr = 0;
	if (!spt_quota_charge(s, w->len >> PAGE_SHIFT)) {
		/*
		 * At the limit, a replacing map first gives back what the
		 * slice held, so that replacing never needs more room
		 * than the mapping it replaces.
		 */
		if (!replace)
			return -ENOSPC;
		ret = spt_slice_clear(s, w->va, w->len);
		if (ret)
			return ret;
		if (!spt_quota_charge(s, w->len >> PAGE_SHIFT))
			return -ENOSPC;
	}
	for (i = 0; i < w->len / step; i++) {
		ret = spt_pool_alloc(spt_pool, SPT_USAGE_DATA, w->level, false,
				     &w->pas[i]);
		if (ret)
			goto out;
		w->nr++;
	}
	/* Nodes for the slice: at most one per level below the root. */
	ret = spt_pool_reserve(spt_pool, SPT_MAX_LEVELS);
	if (ret)
		goto out;
	ret = spt_space_map_frames_nosleep(s, w->va, w->pas, w->nr, w->level,
					   prop, replace, fl, &mapped);
	/*
	 * The quota counts what is mapped: frames this slice replaced stop
	 * counting now, not when their grace period is over (the pool still
	 * holds them until then).
	 */
	spt_quota_settle(s, fl);
out:
	*done += mapped * step;
#ifdef SPT_PLANT_LEAK
	/* Planted bug (scripts/plant-check): one unmapped frame leaks. */
	if (w->nr > mapped)
		w->nr--;
#endif
	/*
	 * Frames not mapped go back with their share of the limit, and so
	 * does the share of those never allocated.
	 */
	spt_quota_frames_put(s, w->pas, w->nr, w->level);
	spt_quota_uncharge(s, (w->len / step - w->nr) * (step >> PAGE_SHIFT));
	return ret;
}

/* What a map did, for its tracepoint: leaves mapped, the largest level. */
struct spt_map_tally {
	u64 leaves;
	unsigned int level;
};

static void spt_map_tally_add(struct spt_map_tally *t, unsigned int level,
			      u64 bytes)
{
	if (!bytes)
		return;
	t->leaves += bytes / spt_level_size(level);
	t->level = max(t->level, level);
}

static int spt_map_tracked(struct spt_space *s, u64 va, u64 len, u32 flags,
			   const struct spt_prop *prop, struct spt_flusher *fl,
			   u64 *done, struct spt_map_tally *t)
{
	struct spt_map_slice *w;
	u64 end = va + len;
	int ret = 0;

	w = spt_kmalloc(sizeof(*w), GFP_KERNEL);
	if (!w)
		return -ENOMEM;
	while (va < end) {
		u64 slice_end = min(ALIGN_DOWN(va, SZ_2M) + SZ_2M, end);
		u64 before = *done;

		w->va = va;
		w->len = slice_end - va;
		w->level = 1;
		if (flags & SPT_MAP_2M ||
		    (flags & SPT_MAP_LARGEST && IS_ALIGNED(va, SZ_2M) &&
		     w->len == SZ_2M))
			w->level = 2;
		ret = spt_map_tracked_slice(s, w, prop,
					    flags & SPT_MAP_REPLACE, fl, done);
		spt_map_tally_add(t, w->level, *done - before);
		if (ret)
			break;
		va = slice_end;
		if (va < end) {
			ret = spt_between_slices();
			if (ret)
				break;
		}
	}
	kfree(w);
	return ret;
}

static int spt_map_phys(struct spt_space *s, u64 va, u64 len, u64 phys,
			bool replace, const struct spt_prop *prop,
			struct spt_flusher *fl, u64 *done,
			struct spt_map_tally *t)
{
	u64 end = va + len;
	int ret = 0;

	while (va < end) {
		u64 slice_end = min(ALIGN_DOWN(va, SZ_1G) + SZ_1G, end);
		struct spt_cursor c;

		if (!spt_quota_nodes_fit(s)) {
			ret = -ENOSPC;
			break;
		}
		ret = spt_pool_reserve(spt_pool, SPT_MAX_LEVELS + 1);
		if (ret)
			break;
		ret = spt_cursor_mut_new(&c, &s->pt, va, slice_end, fl);
		if (ret)
			break;
		if (!replace)
			ret = spt_space_expect_empty(&c, slice_end - va);
		while (!ret && va < slice_end) {
			u64 pa = phys + *done;
			struct spt_item item = {
				.pa = pa, .tracked = false,
				.level = spt_largest_level(va, pa,
						slice_end - va,
						spt_machine_phys_max_level),
			};

			ret = spt_cursor_map(&c, &item, prop, NULL);
			if (ret)
				break;
			va += spt_level_size(item.level);
			*done += spt_level_size(item.level);
			spt_map_tally_add(t, item.level,
					  spt_level_size(item.level));
		}
		spt_cursor_drop(&c);
		if (ret || va >= end)
			break;
		ret = spt_between_slices();
		if (ret)
			break;
	}
	return ret;
}

int spt_space_map(struct spt_space *s, u64 va, u64 len, u32 flags, u64 phys,
		  const struct spt_prop *prop, u64 *mapped)
{
	struct spt_map_tally tally = {};
	struct spt_flusher fl;
	bool used;
	int ret;

	*mapped = 0;
	ret = spt_space_enter(s);
	if (ret)
		return ret;
	if (!(flags & SPT_MAP_REPLACE)) {
		ret = spt_range_used(s, va, len, &used);
		if (!ret && used)
			ret = -EEXIST;
		if (ret)
			goto out;
	}
	spt_flusher_init(&fl);
	if (flags & SPT_MAP_PHYS)
		ret = spt_map_phys(s, va, len, phys, flags & SPT_MAP_REPLACE,
				   prop, &fl, mapped, &tally);
	else
		ret = spt_map_tracked(s, va, len, flags, prop, &fl, mapped,
				      &tally);
	spt_flush_finish(s, &fl);
out:
	spt_space_leave(s);
	trace_spt_map(s->id, va, len, flags, *mapped, tally.level,
		      tally.leaves, ret);
	if (*mapped)
		spt_space_changed(s, SPT_EVENT_MAP, va, *mapped,
				  *mapped >> PAGE_SHIFT, -ret);
	return ret;
}

/*
 * Unmap (@op NULL) or protect [va, va + len) of a space the caller
 * entered (this leaves it): one 1 GiB-aligned slice at a time, each
 * starting at the next mapping (so that empty stretches cost no mutable
 * cursor). *@done: how much of the range is behind us.
 */
static int spt_change_slices(struct spt_space *s, u64 va, u64 len,
			     const struct spt_prot_op *op, u64 *count,
			     unsigned int *level, u64 *done)
{
	u64 end = va + len, start = va;
	struct spt_flusher fl;
	int ret = 0;

	spt_flusher_init(&fl);

	while (va < end) {
		u64 slice_end, stop;

		va = spt_next_mapped(s, va, end);
		*done = va - start;
		if (va >= end)
			break;
		slice_end = min(ALIGN_DOWN(va, SZ_1G) + SZ_1G, end);

		/*
		 * A split needs one node; keep a few ready. Best effort:
		 * with the pool full, unmapping whole leaves still works
		 * (it is how room is made) and only a split fails, ENOMEM.
		 */
		spt_pool_reserve(spt_pool, SPT_MAX_LEVELS);
		stop = va;
		if (op)
			ret = spt_space_protect_nosleep(s, va, slice_end - va,
							op, &fl, count, level,
							&stop);
		else
			ret = spt_space_unmap_nosleep(s, va, slice_end - va,
						      &fl, count, &stop);
		va = ret ? stop : slice_end;
		*done = va - start;
		if (ret || va >= end)
			break;
		ret = spt_between_slices();
		if (ret)
			break;
	}
	spt_flush_finish(s, &fl);
	spt_space_leave(s);
	return ret;
}

int spt_space_unmap(struct spt_space *s, u64 va, u64 len, u64 *unmapped,
		    u64 *done)
{
	int ret;

	*unmapped = 0;
	*done = 0;
	ret = spt_space_enter(s);
	if (ret)
		return ret;
	ret = spt_change_slices(s, va, len, NULL, unmapped, NULL, done);
	trace_spt_unmap(s->id, va, len, *done, *unmapped, ret);
	if (*done)
		spt_space_changed(s, SPT_EVENT_UNMAP, va, *done, *unmapped,
				  -ret);
	return ret;
}

int spt_space_protect(struct spt_space *s, u64 va, u64 len,
		      const struct spt_prot_op *op, u64 *nr, u64 *done)
{
	unsigned int level = 0;	/* the largest leaf changed */
	int ret;

	*nr = 0;
	*done = 0;
	ret = spt_space_enter(s);
	if (ret)
		return ret;
	ret = spt_change_slices(s, va, len, op, nr, &level, done);
	trace_spt_protect(s->id, va, len, *done, level, *nr, ret);
	if (*done)
		spt_space_changed(s, SPT_EVENT_PROTECT, va, *done, *nr, -ret);
	return ret;
}

int spt_space_query(struct spt_space *s, u64 va, struct spt_query *q)
{
	u64 page = ALIGN_DOWN(va, PAGE_SIZE);
	struct spt_cursor c;
	int ret;

	ret = spt_space_enter(s);
	if (ret)
		return ret;
	ret = spt_cursor_new(&c, &s->pt, page, page + PAGE_SIZE);
	if (!ret) {
		ret = spt_cursor_query(&c, q);
		spt_cursor_drop(&c);
	}
	spt_space_leave(s);
	return ret;
}

int spt_space_walk_slice(struct spt_space *s, u64 *va, u64 end,
			 int (*fn)(const struct spt_query *q, void *arg),
			 void *arg)
{
	u64 slice_end = min(ALIGN_DOWN(*va, SPT_WALK_SLICE) + SPT_WALK_SLICE,
			    end);
	u64 next = slice_end;
	struct spt_cursor c;
	struct spt_query q;
	int ret, stop = 0;

	if (*va >= end)
		return 0;
	ret = spt_space_enter(s);
	if (ret)
		return ret;
	ret = spt_cursor_new(&c, &s->pt, *va, slice_end);
	if (ret)
		goto out;
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
		stop = fn(&q, arg);
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
		*va = min(next, end);
out:
	spt_space_leave(s);
	return ret ? ret : stop;
}

#define SPT_RW_CHUNK	SZ_64K

/*
 * Copy between @buf (kernel memory) and the space's frames for
 * [va, va + len) inside one chunk; under the chunk's cursor, so that no
 * frame it touches can be unmapped meanwhile.
 */
static int spt_rw_chunk(struct spt_space *s, u64 va, u8 *buf, u64 len,
			bool write, u64 *done)
{
	u64 start = ALIGN_DOWN(va, PAGE_SIZE);
	u64 end = ALIGN(va + len, PAGE_SIZE);
	struct spt_cursor c;
	int ret;

	ret = spt_cursor_new(&c, &s->pt, start, end);
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
		if (!q.item.tracked) {
			ret = -EACCES;
			break;
		}
		off = va - q.va_start;
		n = min(len, q.va_end - va);
		p = spt_pool_va(spt_pool, q.item.pa) + off;
		if (write)
			memcpy(p, buf, n);
		else
			memcpy(buf, p, n);
		buf += n;
		va += n;
		len -= n;
		*done += n;
	}
	spt_cursor_drop(&c);
	return ret;
}

int spt_space_rw(struct spt_space *s, u64 va, void __user *up, u64 len,
		 bool write, u64 *done)
{
	u64 end = va + len;
	u8 *bounce;
	int ret;

	*done = 0;
	bounce = spt_kmalloc(min_t(u64, len, SPT_RW_CHUNK), GFP_KERNEL);
	if (!bounce)
		return -ENOMEM;
	ret = spt_space_enter(s);
	if (ret)
		goto out_free;
	while (va < end) {
		u64 n = min_t(u64, end - va, SPT_RW_CHUNK);
		u64 got = 0, left = 0;

		/*
		 * *done counts exactly the bytes that reached their side: a
		 * fault part-way through the user buffer stops at that byte.
		 */
		if (write) {
			left = copy_from_user(bounce, up + *done, n);
			n -= left;
		}
		ret = n ? spt_rw_chunk(s, va, bounce, n, write, &got) : 0;
		if (!write && got) {
			left = copy_to_user(up + *done, bounce, got);
			got -= left;
		}
		*done += got;
		/* Whichever failure comes first in byte order is reported. */
		if (left && (!ret || !write))
			ret = -EFAULT;
		if (ret)
			break;
		va += got;
		if (va < end) {
			ret = spt_between_slices();
			if (ret)
				break;
		}
	}
	spt_space_leave(s);
out_free:
	kfree(bounce);
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

int spt_space_check(struct spt_space *s, char *msg, size_t msg_len)
{
	u64 end = spt_cfg_user_end(&spt_machine_cfg);
	struct spt_cursor c;
	int ret;

	ret = spt_kernel_half_check(s, msg, msg_len);
	if (ret)
		return ret;

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
	ret = spt_cursor_new(&c, &s->pt, 0, end);
	if (!ret) {
		ret = spt_pt_check(&s->pt, s->kernel_top, true, spt_no_handles,
				   NULL, msg, msg_len);
		spt_cursor_drop(&c);
	}
	up_write(&s->rwsem);
	return ret;
}

struct spt_count_ctx {
	struct spt_pt_counts *counts;
	u64 last[SPT_MAX_LEVELS];	/* per level: the node seen last */
};

/*
 * Count a leaf, and the nodes on its way that the walk (in address order)
 * has not seen yet: a node is known by its level and the start of its
 * span.
 */
static int spt_count_leaf(const struct spt_query *q, void *arg)
{
	struct spt_count_ctx *ctx = arg;
	unsigned int l;

	ctx->counts->leaves[q->level - 1]++;
	for (l = q->level; l < spt_machine_cfg.levels; l++) {
		u64 node = ALIGN_DOWN(q->va_start, spt_level_size(l + 1));

		if (node == ctx->last[l - 1])
			break;	/* and so are the ones above it */
		ctx->last[l - 1] = node;
		ctx->counts->nodes[l - 1]++;
	}
	return 0;
}

unsigned long spt_space_counts(struct spt_space *s,
			       struct spt_pt_counts *counts)
{
	struct spt_count_ctx ctx = { .counts = counts };
	u64 va = 0, end = spt_cfg_user_end(&spt_machine_cfg);
	unsigned long slices = 0;
	unsigned int i;

	/*
	 * In slices, like a listing, not under one cursor over the whole
	 * range: that one would lock every node of the table at once with
	 * preemption off. The nodes are counted from the leaves' positions:
	 * with no operation in flight, every node but the root has a leaf
	 * below it (the checker's invariant). While operations run, the
	 * counts are those of no single moment, as before.
	 */
	memset(counts, 0, sizeof(*counts));
	for (i = 0; i < SPT_MAX_LEVELS; i++)
		ctx.last[i] = U64_MAX;	/* no node starts there */
	while (va < end) {
		if (spt_space_walk_slice(s, &va, end, spt_count_leaf, &ctx)) {
			/* Being destroyed: nothing left to count. */
			memset(counts, 0, sizeof(*counts));
			return slices;
		}
		slices++;
		cond_resched();
	}
	counts->nodes[spt_machine_cfg.levels - 1] = 1;	/* the root */
	return slices;
}
