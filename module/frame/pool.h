/* SPDX-License-Identifier: GPL-2.0 */
/*
 * The frame pool: where page-table nodes and tracked data frames come from.
 *
 * The kernel implementation (pool.c) takes chunks from the buddy allocator
 * and keeps one meta-slot array per chunk; the user-space implementation
 * (tests/shim/pool_user.c) carves the same chunks out of an arena that
 * stands in for physical memory and can fail the Nth allocation. The core
 * (module/core) sees only this interface.
 *
 * Physical addresses are u64. A frame handed out by spt_pool_alloc() has
 * its slot in state 1 (or UNIQUE when asked), usage and level set, and its
 * memory zeroed. A frame goes back with spt_pool_free() only from state 0
 * (spt_meta_put() returned true), after the caller has flushed TLBs and
 * waited for a grace period where that matters (see spt_flusher in core/pt.h).
 *
 * A 2 MiB data frame is 512 slots: the head (first 4 KiB) has usage DATA,
 * level 2 and holds the refcount; the 511 tails have usage TAIL, level 2 and
 * refcount 0, and are never counted. A 4 KiB data frame: usage DATA, level 1.
 * Free frames: usage FREE, refcount SPT_REF_UNUSED.
 *
 * spt_pool_alloc() may be called with node locks held (preemption off): it
 * never sleeps then, and grows the pool with non-blocking allocations.
 * Called where it may sleep, and short of frames (the pool limit or the
 * buddy allocator), it asks the owner's reclaim hook (kernel only) before
 * failing.
 */
#ifndef SPT_FRAME_POOL_H
#define SPT_FRAME_POOL_H

#include "meta.h"

struct spt_pool;

/* Byte written over frames the pool takes back (slab's POISON_FREE). */
#define SPT_POISON_BYTE 0x6b

/* Counters, all in 4 KiB frames unless said otherwise. */
struct spt_pool_stats {
	u64 limit_frames;	/* pool limit (module parameter) */
	u64 chunk_frames;	/* frames taken from the buddy allocator */
	u64 used_frames;	/* frames handed out (nodes + data) */
	u64 free_frames;	/* frames free in the pool (chunk - used) */
	u64 node_frames;	/* of used: page-table nodes */
	u64 data_frames;	/* of used: data frames (huge counted as 512) */
	u64 returned_frames;	/* frames given back to the buddy allocator */
	u64 meta_bytes;		/* bytes of meta slots currently allocated */
	u64 allocs;		/* successful spt_pool_alloc() calls */
	u64 alloc_failures;	/* failed spt_pool_alloc() calls */
};

/*
 * Allocate one frame: @level 1 = 4 KiB, 2 = 2 MiB (data only). @usage is
 * SPT_USAGE_PT or SPT_USAGE_DATA; for PT, @level is also stored as the node
 * level by the caller afterwards. Returns 0 and the physical address in
 * *@pa, or -ENOMEM (pool limit reached, buddy allocator refused, or an
 * injected failure).
 */
int spt_pool_alloc(struct spt_pool *pool, enum spt_usage usage,
		   unsigned int level, bool unique, u64 *pa);

/*
 * Like spt_pool_alloc(pool, SPT_USAGE_PT, 1, false, pa), for the root of a
 * page table: the frame is 8 KiB aligned (bit 12 of its address clear), as
 * the kernel's PTI entry code expects of a CR3 value it may switch to.
 */
int spt_pool_alloc_root(struct spt_pool *pool, u64 *pa);

/* Return a frame in refcount state 0 to the pool (slot becomes UNUSED). */
void spt_pool_free(struct spt_pool *pool, u64 pa);
/*
 * The same for a 4 KiB frame whose caller guarantees it is all-zero (a
 * page-table node whose entries the core cleared as it released them): the
 * pool hands it out again without clearing it, and does not poison it.
 */
void spt_pool_free_zeroed(struct spt_pool *pool, u64 pa);

/*
 * O(1) lookup of the slot of any pool frame (head or tail of a huge frame).
 * Returns NULL if @pa is not a pool frame.
 */
struct spt_meta *spt_pool_meta(struct spt_pool *pool, u64 pa);

/* Physical address to the pointer the CPU uses to reach the frame. */
void *spt_pool_va(struct spt_pool *pool, u64 pa);
/*
 * That mapping is linear: spt_pool_va(pool, pa) == (void *)(pa + offset)
 * for every frame of the pool, with this offset (the kernel's direct map,
 * the test arena). Hot walkers cache it instead of calling spt_pool_va().
 */
unsigned long spt_pool_va_offset(struct spt_pool *pool);

void spt_pool_get_stats(struct spt_pool *pool, struct spt_pool_stats *st);

#ifdef __KERNEL__
/*
 * The kernel pool (pool.c). At most @limit_frames frames; with @poison,
 * frames given back are filled with SPT_POISON_BYTE. @should_fail (may be
 * NULL) is the owner's allocation-failure hook: the pool asks it before
 * each allocation it makes, its own creation included, and fails that
 * allocation (-ENOMEM, NULL) when it returns true. It must be safe in
 * atomic context.
 */
struct spt_pool *spt_pool_create(u64 limit_frames, bool poison,
				 bool (*should_fail)(void));
/* Returns the number of frames still in use (0 when nothing leaked). */
u64 spt_pool_destroy(struct spt_pool *pool);
/*
 * Allocate @nr 4 KiB frames of @usage into @pas, as spt_pool_alloc() would
 * one by one, but taken from the chunks' free lists in batches under one
 * lock (runs of one chunk, mostly contiguous). *@done frames are
 * allocated, also when it fails (-ENOMEM, for the first frame it could
 * not have). May sleep only as spt_pool_alloc() does.
 */
int spt_pool_alloc_bulk(struct spt_pool *pool, enum spt_usage usage,
			unsigned int nr, u64 *pas, unsigned int *done);
/*
 * Grow the pool ahead of atomic allocations: at least @nr_frames free
 * frames that any CPU can take. May sleep.
 */
int spt_pool_reserve(struct spt_pool *pool, u64 nr_frames);
/*
 * Back-pressure: @reclaim (may sleep) gives frames held for a grace
 * period back to the pool, returning false if there was nothing to wait
 * for. The pool calls it, where it may sleep, before failing for lack of
 * frames, and retries while it returns true.
 */
void spt_pool_set_reclaim(struct spt_pool *pool, bool (*reclaim)(void));
#endif

#endif /* SPT_FRAME_POOL_H */
