// SPDX-License-Identifier: GPL-2.0
/*
 * The frame pool, kernel side: 2 MiB chunks from the buddy allocator, each
 * with its own array of 512 meta slots (8 KiB, also from the buddy
 * allocator: 16 bytes per 4 KiB frame). A chunk is either split into 4 KiB
 * frames, kept on a free list threaded through the slots, or handed out
 * whole as one 2 MiB frame. A chunk whose frames are all free again is kept
 * (up to SPT_POOL_KEEP_EMPTY of them) for the next allocations, 4 KiB or
 * 2 MiB; past that it goes back to the buddy allocator with its slots.
 *
 * Per-CPU magazines: each CPU keeps up to SPT_MAG_SIZE free 4 KiB frames of
 * its own, taken from the chunks and given back to them SPT_MAG_BATCH at a
 * time under pool->lock, so that most allocations and frees of 4 KiB frames
 * take the pool lock. Each magazine has a spinlock of its own, uncontended
 * but for a CPU that migrated between picking the magazine and locking it,
 * and for an allocation that found the pool at its limit: that one empties
 * every CPU's magazine into the chunks (spt_pool_steal()) before it fails,
 * so frames parked in magazines never make an allocation fail.
 * spt_pool_reserve() counts only the frames on the chunks' free lists, which
 * every CPU can reach.
 *
 * Known-zero frames: a chunk comes from the buddy allocator zeroed once, and
 * a page-table node comes back all-zero (spt_pool_free_zeroed(): the core
 * cleared every entry it released); such a free frame is marked (level 1 in
 * its FREE slot, SPT_MAG_ZERO in a magazine) and handed out without a
 * clear. Other frames are cleared when handed out.
 *
 * paddr -> slot is O(1): a directory indexed by 1 GiB region, each entry an
 * array of 512 chunk pointers indexed by 2 MiB chunk, and the slot index
 * inside the chunk. Lookups take no lock: a chunk pointer is published
 * before any of its frames is handed out, and cleared only once all of its
 * frames are back (no PTE can still name them; see spt_flusher).
 */
#include <linux/mm.h>
#include <linux/io.h>
#include <linux/gfp.h>
#include <linux/slab.h>
#include <linux/spinlock.h>
#include <linux/list.h>
#include <linux/percpu.h>
#include <linux/preempt.h>
#include <linux/sizes.h>
#include <linux/string.h>
#include <asm/page.h>

#include "pool.h"

#define SPT_CHUNK_ORDER		9
#define SPT_CHUNK_FRAMES	BIT(SPT_CHUNK_ORDER)
#define SPT_CHUNK_SHIFT		(PAGE_SHIFT + SPT_CHUNK_ORDER)
#define SPT_REGION_SHIFT	30
#define SPT_META_ORDER		get_order(SPT_CHUNK_FRAMES * \
					  sizeof(struct spt_meta))
/* Per-CPU magazine: capacity, and frames moved per refill or drain. */
#define SPT_MAG_SIZE		32
#define SPT_MAG_BATCH		16
/* All-free chunks kept rather than given back to the buddy allocator. */
#define SPT_POOL_KEEP_EMPTY	2
/* Frames a bulk allocation takes off the chunks' lists at a time. */
#define SPT_BULK_MAX		64
/* In a frame address taken off a free list: the frame is known zero. */
#define SPT_MAG_ZERO		1ULL

struct spt_chunk {
	u64 pa;
	struct spt_meta *meta;
	struct list_head link;	/* on pool->partial while it has free frames */
	unsigned long free_head; /* slot index + 1 of the first free frame */
	u16 nr_free;
	bool whole;		/* handed out as one 2 MiB frame */
};

struct spt_mag {
	spinlock_t lock;	/* before pool->lock */
	unsigned int nr;
	u64 pa[SPT_MAG_SIZE];	/* | SPT_MAG_ZERO when known zero */
};

struct spt_pool {
	/*
	 * Protects partial, nr_empty, the chunks' free lists and counts, the
	 * chunk counters of st (limit, chunk, free: on the chunks' lists,
	 * returned, meta bytes), and updates of dir (lookups read dir
	 * without it). The frame counters are atomics of their own.
	 */
	spinlock_t lock;
	struct list_head partial;	/* split chunks with free frames */
	unsigned int nr_empty;		/* of them, with every frame free */
	struct spt_chunk ***dir;	/* [pa >> 30][(pa >> 21) & 511] */
	unsigned long dir_len;
	struct spt_mag __percpu *mags;
	bool poison;
	/* The owner's allocation-failure hook (NULL: never fail). */
	bool (*should_fail)(void);
	/* The owner's back-pressure hook (NULL: none); see pool.h. */
	bool (*reclaim)(void);
	struct spt_pool_stats st;
	atomic64_t used, nodes, data, allocs, failures;
	/* Failures the hook injected: those are not retried after reclaim. */
	atomic_t injected;
};

/*
 * The frame counters, updated with no lock. Planted bug (scripts/plant-check,
 * SPT_PLANT_NOLOCK): a plain read and write, so that CPUs lose each other's
 * updates.
 */
static void spt_count(atomic64_t *v, s64 n)
{
#ifndef SPT_PLANT_NOLOCK
	atomic64_add(n, v);
#else
	atomic64_set(v, atomic64_read(v) + n);
#endif
}

/*
 * Every allocation the pool makes (a frame handed out, a chunk, its slots,
 * a directory leaf) first asks the owner's hook, so that each one is an
 * injection point of its own.
 */
static bool spt_pool_should_fail(struct spt_pool *pool)
{
	if (!pool->should_fail || !pool->should_fail())
		return false;
	atomic_inc(&pool->injected);
	return true;
}

static void *spt_pool_kzalloc(struct spt_pool *pool, size_t size, gfp_t gfp)
{
	return spt_pool_should_fail(pool) ? NULL : kzalloc(size, gfp);
}

static void *spt_pool_kcalloc(struct spt_pool *pool, size_t n, size_t size,
			      gfp_t gfp)
{
	return spt_pool_should_fail(pool) ? NULL : kcalloc(n, size, gfp);
}

static struct page *spt_pool_pages(struct spt_pool *pool, gfp_t gfp,
				   unsigned int order)
{
	return spt_pool_should_fail(pool) ? NULL : alloc_pages(gfp, order);
}

static struct spt_chunk **spt_dir_slot(struct spt_pool *pool, u64 pa)
{
	unsigned long r = pa >> SPT_REGION_SHIFT;
	struct spt_chunk **leaf;

	if (r >= pool->dir_len)
		return NULL;
	leaf = READ_ONCE(pool->dir[r]);
	if (!leaf)
		return NULL;
	return &leaf[(pa >> SPT_CHUNK_SHIFT) & 511];
}

static struct spt_chunk *spt_chunk_of(struct spt_pool *pool, u64 pa)
{
	struct spt_chunk **slot = spt_dir_slot(pool, pa);

	return slot ? READ_ONCE(*slot) : NULL;
}

struct spt_meta *spt_pool_meta(struct spt_pool *pool, u64 pa)
{
	struct spt_chunk *c = spt_chunk_of(pool, pa);

	if (!c)
		return NULL;
	return &c->meta[(pa >> PAGE_SHIFT) & (SPT_CHUNK_FRAMES - 1)];
}

void *spt_pool_va(struct spt_pool *pool, u64 pa)
{
	return phys_to_virt(pa);
}

unsigned long spt_pool_va_offset(struct spt_pool *pool)
{
	return PAGE_OFFSET;
}

static gfp_t spt_pool_gfp(void)
{
	/* Called under node locks (bit spinlocks) by the cursor: no sleep. */
	if (preemptible())
		return GFP_KERNEL | __GFP_NOWARN | __GFP_NORETRY;
	return GFP_NOWAIT | __GFP_NOWARN;
}

/* Take a new chunk from the buddy allocator. Called without pool->lock. */
static struct spt_chunk *spt_chunk_new(struct spt_pool *pool, gfp_t gfp)
{
	struct spt_chunk *c;
	struct page *data, *meta;

	c = spt_pool_kzalloc(pool, sizeof(*c), gfp);
	if (!c)
		return NULL;
	/* Zeroed once here: its frames are handed out without a clear. */
	data = spt_pool_pages(pool, gfp | __GFP_COMP | __GFP_ZERO,
			      SPT_CHUNK_ORDER);
	if (!data)
		goto err_chunk;
	meta = spt_pool_pages(pool, gfp | __GFP_ZERO, SPT_META_ORDER);
	if (!meta)
		goto err_data;
	c->pa = page_to_phys(data);
	c->meta = page_address(meta);
	INIT_LIST_HEAD(&c->link);
	return c;

err_data:
	__free_pages(data, SPT_CHUNK_ORDER);
err_chunk:
	kfree(c);
	return NULL;
}

static void spt_chunk_free(struct spt_chunk *c)
{
	free_pages((unsigned long)c->meta, SPT_META_ORDER);
	__free_pages(pfn_to_page(PHYS_PFN(c->pa)), SPT_CHUNK_ORDER);
	kfree(c);
}

/*
 * Publish @c in the directory and account for it. Called with pool->lock
 * held; @leaf is a zeroed directory leaf the caller allocated in case one is
 * needed (consumed if used, *leaf set to NULL).
 */
static int spt_chunk_publish(struct spt_pool *pool, struct spt_chunk *c,
			     struct spt_chunk ***leaf)
{
	unsigned long r = c->pa >> SPT_REGION_SHIFT;
	struct spt_chunk **slot;

	if (r >= pool->dir_len)
		return -ENOMEM;		/* hot-added memory beyond the map */
	if (pool->st.chunk_frames + SPT_CHUNK_FRAMES > pool->st.limit_frames)
		return -ENOMEM;
	if (!pool->dir[r]) {
		if (!*leaf)
			return -EAGAIN;
		WRITE_ONCE(pool->dir[r], *leaf);
		*leaf = NULL;
	}
	slot = spt_dir_slot(pool, c->pa);
	WRITE_ONCE(*slot, c);
	pool->st.chunk_frames += SPT_CHUNK_FRAMES;
	pool->st.free_frames += SPT_CHUNK_FRAMES;
	pool->st.meta_bytes += SPT_CHUNK_FRAMES * sizeof(struct spt_meta);
	return 0;
}

/*
 * Unpublish an all-free chunk (off every list) for the caller to
 * spt_chunk_free() after unlocking. Called with pool->lock held.
 */
static void spt_chunk_release(struct spt_pool *pool, struct spt_chunk *c)
{
	WRITE_ONCE(*spt_dir_slot(pool, c->pa), NULL);
	list_del_init(&c->link);
	pool->st.chunk_frames -= SPT_CHUNK_FRAMES;
	pool->st.free_frames -= SPT_CHUNK_FRAMES;
	pool->st.returned_frames += SPT_CHUNK_FRAMES;
	pool->st.meta_bytes -= SPT_CHUNK_FRAMES * sizeof(struct spt_meta);
}

/* Put frame @idx on @c's free list; @zero: it is known to be all-zero. */
static void spt_slot_free(struct spt_chunk *c, unsigned int idx, bool zero)
{
	struct spt_meta *m = &c->meta[idx];

	atomic_set(&m->refcount, SPT_REF_UNUSED);
	m->usage = SPT_USAGE_FREE;
	m->level = zero;
	m->nr_children = 0;
	m->word = c->free_head;
	c->free_head = idx + 1;
}

/* Every frame of @c on its free list (in address order), zero if @zero. */
static void spt_chunk_init_free(struct spt_chunk *c, bool zero)
{
	unsigned int i;

	c->free_head = 0;
	for (i = SPT_CHUNK_FRAMES; i-- > 0;)
		spt_slot_free(c, i, zero);
	c->nr_free = SPT_CHUNK_FRAMES;
	c->whole = false;
}

/*
 * An all-free chunk @c (on no list) is kept, or, with enough kept already,
 * unpublished and returned for the caller to free after unlocking. Called
 * with pool->lock held.
 */
static struct spt_chunk *spt_chunk_empty(struct spt_pool *pool,
					 struct spt_chunk *c)
{
	if (pool->nr_empty >= SPT_POOL_KEEP_EMPTY) {
		spt_chunk_release(pool, c);
		return c;
	}
	pool->nr_empty++;
	list_add_tail(&c->link, &pool->partial);
	return NULL;
}

/*
 * Add one chunk to the pool (kept all-free on pool->partial) and return
 * it, or NULL. Called, and returns, with pool->lock held; drops it
 * meanwhile to allocate (so the caller must not rely on anything it saw
 * under the lock before the call).
 */
static struct spt_chunk *spt_pool_grow(struct spt_pool *pool, gfp_t gfp)
	__must_hold(&pool->lock)
{
	struct spt_chunk **leaf = NULL;
	struct spt_chunk *c;
	int ret;

	spin_unlock(&pool->lock);
	c = spt_chunk_new(pool, gfp);
	if (!c)
		goto err_lock;
	spt_chunk_init_free(c, true);
	for (;;) {
		spin_lock(&pool->lock);
		ret = spt_chunk_publish(pool, c, &leaf);
		if (ret != -EAGAIN)
			break;
		spin_unlock(&pool->lock);
		leaf = spt_pool_kcalloc(pool, SPT_CHUNK_FRAMES, sizeof(*leaf),
					gfp);
		if (!leaf)
			goto err_free;
	}
	if (ret) {
		spin_unlock(&pool->lock);
		kfree(leaf);
		goto err_free;
	}
	kfree(leaf);
	pool->nr_empty++;
	list_add_tail(&c->link, &pool->partial);
	return c;

err_free:
	spt_chunk_free(c);
err_lock:
	spin_lock(&pool->lock);
	return NULL;
}

/*
 * Unlink a free frame of @c whose index is a multiple of @align (1, or 2
 * for an 8 KiB-aligned root) from the chunk's free list. Returns its
 * address, | SPT_MAG_ZERO if it is known zero, or 0 if there is none.
 * Called with pool->lock held.
 */
static u64 spt_chunk_take(struct spt_pool *pool, struct spt_chunk *c,
			  unsigned int align)
{
	unsigned long *link = &c->free_head;

	while (*link) {
		unsigned int idx = *link - 1;
		struct spt_meta *m = &c->meta[idx];

		if (idx & (align - 1)) {
			link = &m->word;
			continue;
		}
		*link = m->word;
		m->word = 0;
		if (c->nr_free-- == SPT_CHUNK_FRAMES)
			pool->nr_empty--;
		if (!c->nr_free)
			list_del_init(&c->link);
		pool->st.free_frames--;
		return (c->pa + ((u64)idx << PAGE_SHIFT)) |
		       (m->level ? SPT_MAG_ZERO : 0);
	}
	return 0;
}

/*
 * Take up to @nr free frames (as spt_chunk_take()) into @out: from chunks
 * in use first, one after the other (a fresh chunk's list is in address
 * order, so a batch is mostly a contiguous run), all-free chunks last.
 * Returns how many. Called with pool->lock held.
 */
static unsigned int spt_pool_take(struct spt_pool *pool, unsigned int align,
				  u64 *out, unsigned int nr)
{
	struct spt_chunk *c, *tmp;
	unsigned int n = 0, pass;

	for (pass = 0; pass < 2 && n < nr; pass++) {
		list_for_each_entry_safe(c, tmp, &pool->partial, link) {
			if (!pass && c->nr_free == SPT_CHUNK_FRAMES)
				continue;
			while (n < nr) {
				u64 pa = spt_chunk_take(pool, c, align);

				if (!pa)
					break;
				out[n++] = pa;
			}
			if (n == nr)
				break;
		}
	}
	return n;
}

/*
 * Give a free 4 KiB frame back to its chunk's list. Returns the chunk if it
 * is now all free and goes back to the buddy allocator (see
 * spt_chunk_empty()). Called with pool->lock held.
 */
static struct spt_chunk *spt_pool_put(struct spt_pool *pool, u64 pa,
				      bool zero)
{
	struct spt_chunk *c = spt_chunk_of(pool, pa);
	unsigned int idx = (pa >> PAGE_SHIFT) & (SPT_CHUNK_FRAMES - 1);

	spt_slot_free(c, idx, zero);
	pool->st.free_frames++;
	if (c->nr_free++ == 0)
		list_add(&c->link, &pool->partial);
	if (c->nr_free < SPT_CHUNK_FRAMES)
		return NULL;
	list_del_init(&c->link);
	return spt_chunk_empty(pool, c);
}

/* Move up to @nr frames from the top of @mag back to their chunks. */
static void spt_mag_drain(struct spt_pool *pool, struct spt_mag *mag,
			  unsigned int nr)
{
	struct spt_chunk *gone[SPT_MAG_BATCH];
	unsigned int i, n = 0;

	if (nr > SPT_MAG_BATCH)
		nr = SPT_MAG_BATCH;
	spin_lock(&pool->lock);
	for (i = 0; i < nr && mag->nr; i++) {
		u64 e = mag->pa[--mag->nr];
		struct spt_chunk *c;

		c = spt_pool_put(pool, e & PAGE_MASK, e & SPT_MAG_ZERO);
		if (c)
			gone[n++] = c;
	}
	spin_unlock(&pool->lock);
	while (n)
		spt_chunk_free(gone[--n]);
}

/* One frame from the chunks, growing the pool if none is free. */
static int spt_alloc_slow(struct spt_pool *pool, unsigned int align,
			  gfp_t gfp, u64 *pa)
{
	u64 e = 0;

	spin_lock(&pool->lock);
	if (!spt_pool_take(pool, align, &e, 1) && spt_pool_grow(pool, gfp))
		spt_pool_take(pool, align, &e, 1);
	spin_unlock(&pool->lock);
	*pa = e;
	return e ? 0 : -ENOMEM;
}

/*
 * Empty every CPU's magazine into the chunks. Returns whether any frame
 * moved. Called without pool->lock.
 */
static bool spt_pool_steal(struct spt_pool *pool)
{
	unsigned int cpu;
	bool moved = false;

	for_each_possible_cpu(cpu) {
		struct spt_mag *mag = per_cpu_ptr(pool->mags, cpu);

		spin_lock(&mag->lock);
		moved |= mag->nr;
		while (mag->nr)
			spt_mag_drain(pool, mag, SPT_MAG_BATCH);
		spin_unlock(&mag->lock);
	}
	return moved;
}

/*
 * One 4 KiB frame: from this CPU's magazine, refilled from the chunks
 * when empty (a refill is an allocation of its own for the failure hook);
 * 8 KiB-aligned roots, and frames the refill could not find, come from
 * the chunks directly.
 */
static int spt_alloc_small(struct spt_pool *pool, unsigned int align,
			   gfp_t gfp, u64 *pa)
{
	struct spt_mag *mag;
	u64 e = 0;

	if (align == 1) {
		mag = raw_cpu_ptr(pool->mags);
		spin_lock(&mag->lock);
		if (!mag->nr) {
			if (spt_pool_should_fail(pool)) {
				spin_unlock(&mag->lock);
				return -ENOMEM;
			}
			spin_lock(&pool->lock);
			mag->nr = spt_pool_take(pool, 1, mag->pa,
						SPT_MAG_BATCH);
			spin_unlock(&pool->lock);
		}
		if (mag->nr)
			e = mag->pa[--mag->nr];
		spin_unlock(&mag->lock);
		if (e) {
			*pa = e;
			return 0;
		}
	}
	if (!spt_alloc_slow(pool, align, gfp, pa))
		return 0;
	return spt_pool_steal(pool) ? spt_alloc_slow(pool, align, gfp, pa) :
	       -ENOMEM;
}

/* A 2 MiB frame: a kept all-free chunk, or a new one. */
static int spt_alloc_huge(struct spt_pool *pool, gfp_t gfp, u64 *pa)
{
	struct spt_chunk *c, *found = NULL;
	bool zero = true, stolen = false;
	unsigned int i;

again:
	spin_lock(&pool->lock);
	list_for_each_entry(c, &pool->partial, link) {
		if (c->nr_free == SPT_CHUNK_FRAMES) {
			found = c;
			break;
		}
	}
	if (!found)
		found = spt_pool_grow(pool, gfp);
	if (!found && !stolen) {
		spin_unlock(&pool->lock);
		if (!spt_pool_steal(pool))
			return -ENOMEM;
		stolen = true;
		goto again;
	}
	if (!found) {
		spin_unlock(&pool->lock);
		return -ENOMEM;
	}
	c = found;
	list_del_init(&c->link);
	pool->nr_empty--;
	pool->st.free_frames -= SPT_CHUNK_FRAMES;
	c->whole = true;
	c->free_head = 0;
	c->nr_free = 0;
	spin_unlock(&pool->lock);
	for (i = 0; i < SPT_CHUNK_FRAMES; i++) {
		struct spt_meta *m = &c->meta[i];

		zero &= m->level;
		m->word = 0;
		if (!i)
			continue;
		atomic_set(&m->refcount, 0);
		m->usage = SPT_USAGE_TAIL;
		m->level = 2;
	}
	*pa = c->pa | (zero ? SPT_MAG_ZERO : 0);
	return 0;
}

/*
 * Only a caller that may sleep is made to wait for the owner's reclaim,
 * and not after an injected failure (@injected: the count before the
 * attempt), which must reach the caller as it would without the retry.
 */
static bool spt_pool_try_reclaim(struct spt_pool *pool, gfp_t gfp,
				 int injected)
{
	return pool->reclaim && gfpflags_allow_blocking(gfp) &&
	       atomic_read(&pool->injected) == injected && pool->reclaim();
}

/*
 * Hand out the frame @e (as taken: | SPT_MAG_ZERO if known zero): clear it
 * unless known zero, claim its slot, count it. Returns its address.
 */
static u64 spt_frame_handout(struct spt_pool *pool, u64 e,
			     enum spt_usage usage, unsigned int level,
			     bool unique)
{
	unsigned int i, nr = level == 1 ? 1 : SPT_CHUNK_FRAMES;
	u64 pa = e & PAGE_MASK;
	struct spt_meta *m;

	if (!(e & SPT_MAG_ZERO)) {
		for (i = 0; i < nr; i++)
			clear_page(phys_to_virt(pa + ((u64)i << PAGE_SHIFT)));
	}
	m = spt_pool_meta(pool, pa);
	m->level = level;
	m->nr_children = 0;
	spt_meta_claim(m, usage, unique);

	spt_count(&pool->used, nr);
	spt_count(&pool->allocs, 1);
	spt_count(usage == SPT_USAGE_PT ? &pool->nodes : &pool->data, nr);
	return pa;
}

static int spt_pool_alloc_aligned(struct spt_pool *pool, enum spt_usage usage,
				  unsigned int level, unsigned int align,
				  bool unique, u64 *pa)
{
	gfp_t gfp = spt_pool_gfp();
	int injected;
	u64 e;
	int ret;

	if (WARN_ON_ONCE(level < 1 || level > 2 ||
			 (level == 2 && usage != SPT_USAGE_DATA)))
		return -EINVAL;
	do {
		injected = atomic_read(&pool->injected);
		if (spt_pool_should_fail(pool)) {
			ret = -ENOMEM;
			break;
		}
		ret = level == 1 ? spt_alloc_small(pool, align, gfp, &e) :
		      spt_alloc_huge(pool, gfp, &e);
	} while (ret && spt_pool_try_reclaim(pool, gfp, injected));
	if (ret) {
		spt_count(&pool->failures, 1);
		return ret;
	}
	*pa = spt_frame_handout(pool, e, usage, level, unique);
	return 0;
}

int spt_pool_alloc_bulk(struct spt_pool *pool, enum spt_usage usage,
			unsigned int nr, u64 *pas, unsigned int *done)
{
	unsigned int n = 0, got, i;
	int ret = 0;

	while (n < nr) {
		got = 0;
		if (!spt_pool_should_fail(pool)) {
			spin_lock(&pool->lock);
			got = spt_pool_take(pool, 1, &pas[n],
					    min(nr - n, SPT_BULK_MAX));
			spin_unlock(&pool->lock);
		}
		if (!got) {
			/* None on the lists: one at a time, with fallbacks. */
			ret = spt_pool_alloc(pool, usage, 1, false, &pas[n]);
			if (ret)
				break;
			n++;
			continue;
		}
		for (i = n; i < n + got; i++)
			pas[i] = spt_frame_handout(pool, pas[i], usage, 1,
						   false);
		n += got;
	}
	*done = n;
	return ret;
}

int spt_pool_alloc(struct spt_pool *pool, enum spt_usage usage,
		   unsigned int level, bool unique, u64 *pa)
{
	return spt_pool_alloc_aligned(pool, usage, level, 1, unique, pa);
}

int spt_pool_alloc_root(struct spt_pool *pool, u64 *pa)
{
	return spt_pool_alloc_aligned(pool, SPT_USAGE_PT, 1, 2, false, pa);
}

/* A 2 MiB frame back: its chunk becomes all-free 4 KiB frames. */
static void spt_pool_free_huge(struct spt_pool *pool, struct spt_chunk *c)
{
	spin_lock(&pool->lock);
	spt_chunk_init_free(c, false);
	pool->st.free_frames += SPT_CHUNK_FRAMES;
	c = spt_chunk_empty(pool, c);
	spin_unlock(&pool->lock);
	if (c)
		spt_chunk_free(c);
}

static void spt_pool_free_frame(struct spt_pool *pool, u64 pa, bool zero)
{
	struct spt_chunk *c = spt_chunk_of(pool, pa);
	unsigned int idx = (pa >> PAGE_SHIFT) & (SPT_CHUNK_FRAMES - 1);
	struct spt_meta *m;
	struct spt_mag *mag;
	bool huge;

	if (WARN_ON_ONCE(!c))
		return;
	m = &c->meta[idx];
	if (WARN_ON_ONCE(spt_meta_ref(m) != 0 ||
			 (m->usage != SPT_USAGE_PT &&
			  m->usage != SPT_USAGE_DATA)))
		return;
	huge = m->usage == SPT_USAGE_DATA && m->level == 2;
	if (zero && IS_ENABLED(CONFIG_DEBUG_VM) &&
	    WARN_ON_ONCE(memchr_inv(phys_to_virt(pa), 0, PAGE_SIZE)))
		zero = false;
	/* A zero node needs no poison: every entry is not present. */
	if (pool->poison && !zero)
		memset(phys_to_virt(pa), SPT_POISON_BYTE,
		       huge ? SZ_2M : PAGE_SIZE);

	spt_count(m->usage == SPT_USAGE_PT ? &pool->nodes : &pool->data,
		  huge ? -(s64)SPT_CHUNK_FRAMES : -1);
	spt_count(&pool->used, huge ? -(s64)SPT_CHUNK_FRAMES : -1);
	if (huge) {
		spt_pool_free_huge(pool, c);
		return;
	}
	atomic_set(&m->refcount, SPT_REF_UNUSED);
	m->usage = SPT_USAGE_FREE;
	m->level = zero;
	m->nr_children = 0;
	m->word = 0;
	mag = raw_cpu_ptr(pool->mags);
	spin_lock(&mag->lock);
	if (mag->nr == SPT_MAG_SIZE)
		spt_mag_drain(pool, mag, SPT_MAG_BATCH);
	mag->pa[mag->nr++] = pa | (zero ? SPT_MAG_ZERO : 0);
	spin_unlock(&mag->lock);
}

void spt_pool_free(struct spt_pool *pool, u64 pa)
{
	spt_pool_free_frame(pool, pa, false);
}

void spt_pool_free_zeroed(struct spt_pool *pool, u64 pa)
{
	spt_pool_free_frame(pool, pa, true);
}

void spt_pool_get_stats(struct spt_pool *pool, struct spt_pool_stats *st)
{
	spin_lock(&pool->lock);
	*st = pool->st;
	spin_unlock(&pool->lock);
	st->used_frames = atomic64_read(&pool->used);
	/* Free: on the chunks' lists and in the magazines. */
	st->free_frames = st->chunk_frames - st->used_frames;
	st->node_frames = atomic64_read(&pool->nodes);
	st->data_frames = atomic64_read(&pool->data);
	st->allocs = atomic64_read(&pool->allocs);
	st->alloc_failures = atomic64_read(&pool->failures);
}

int spt_pool_reserve(struct spt_pool *pool, u64 nr_frames)
{
	gfp_t gfp = spt_pool_gfp();

	might_sleep();
	for (;;) {
		int injected = atomic_read(&pool->injected);
		bool grown;

		spin_lock(&pool->lock);
		if (pool->st.free_frames >= nr_frames) {
			spin_unlock(&pool->lock);
			return 0;
		}
		grown = spt_pool_grow(pool, gfp);
		spin_unlock(&pool->lock);
		if (!grown && !spt_pool_steal(pool) &&
		    !spt_pool_try_reclaim(pool, gfp, injected))
			return -ENOMEM;
	}
}

void spt_pool_set_reclaim(struct spt_pool *pool, bool (*reclaim)(void))
{
	pool->reclaim = reclaim;
}

struct spt_pool *spt_pool_create(u64 limit_frames, bool poison,
				 bool (*should_fail)(void))
{
	struct spt_pool *pool;
	u64 max_pa = __pa(high_memory - 1) + 1;
	unsigned int cpu;

	if (should_fail && should_fail())
		return NULL;
	pool = kzalloc(sizeof(*pool), GFP_KERNEL);
	if (!pool)
		return NULL;
	pool->should_fail = should_fail;
	pool->dir_len = DIV_ROUND_UP(max_pa, 1ULL << SPT_REGION_SHIFT);
	pool->dir = spt_pool_kcalloc(pool, pool->dir_len, sizeof(*pool->dir),
				     GFP_KERNEL);
	if (!pool->dir)
		goto err_pool;
	if (!spt_pool_should_fail(pool))
		pool->mags = alloc_percpu(struct spt_mag);
	if (!pool->mags)
		goto err_dir;
	for_each_possible_cpu(cpu)
		spin_lock_init(&per_cpu_ptr(pool->mags, cpu)->lock);
	spin_lock_init(&pool->lock);
	INIT_LIST_HEAD(&pool->partial);
	pool->poison = poison;
	pool->st.limit_frames = limit_frames;
	return pool;

err_dir:
	kfree(pool->dir);
err_pool:
	kfree(pool);
	return NULL;
}

/*
 * Free the pool. Frames still handed out are a leak of a caller: they are
 * reported (and their chunks deliberately not freed, since something may
 * still point at them). Returns the number of such frames.
 */
u64 spt_pool_destroy(struct spt_pool *pool)
{
	u64 leaked = atomic64_read(&pool->used);
	struct spt_chunk *c, *tmp;
	unsigned long r;

	spt_pool_steal(pool);
	free_percpu(pool->mags);
	/* The all-free chunks kept go; those with frames in use stay. */
	list_for_each_entry_safe(c, tmp, &pool->partial, link) {
		list_del_init(&c->link);
		if (c->nr_free == SPT_CHUNK_FRAMES)
			spt_chunk_free(c);
	}
	for (r = 0; r < pool->dir_len; r++)
		kfree(pool->dir[r]);
	kfree(pool->dir);
	kfree(pool);
	return leaked;
}
