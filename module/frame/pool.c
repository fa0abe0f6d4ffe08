// SPDX-License-Identifier: GPL-2.0
/*
 * The frame pool, kernel side: 2 MiB chunks from the buddy allocator, each
 * with its own array of 512 meta slots (8 KiB, also from the buddy
 * allocator: 16 bytes per 4 KiB frame). A chunk is either split into 4 KiB
 * frames, kept on a free list threaded through the slots, or handed out
 * whole as one 2 MiB frame. A chunk whose frames are all free again goes
 * straight back to the buddy allocator with its slots. The exception is a
 * chunk that spt_pool_reserve() took ahead of need and no allocation ever
 * used: it stays (free, at most one per reservation that grew the pool)
 * until a frame of it is used and freed, or until rmmod.
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
#include <linux/preempt.h>
#include <linux/sizes.h>
#include <asm/page.h>

#include "pool.h"

#define SPT_CHUNK_ORDER		9
#define SPT_CHUNK_FRAMES	BIT(SPT_CHUNK_ORDER)
#define SPT_CHUNK_SHIFT		(PAGE_SHIFT + SPT_CHUNK_ORDER)
#define SPT_REGION_SHIFT	30
#define SPT_META_ORDER		get_order(SPT_CHUNK_FRAMES * \
					  sizeof(struct spt_meta))

struct spt_chunk {
	u64 pa;
	struct spt_meta *meta;
	struct list_head link;	/* on pool->partial while it has free frames */
	unsigned long free_head; /* slot index + 1 of the first free frame */
	u16 nr_free;
	bool whole;		/* handed out as one 2 MiB frame */
};

struct spt_pool {
	/*
	 * Protects partial, the chunks' free lists and counts, st, and
	 * updates of dir (lookups read dir without it).
	 */
	spinlock_t lock;
	struct list_head partial;	/* split chunks with free frames */
	struct spt_chunk ***dir;	/* [pa >> 30][(pa >> 21) & 511] */
	unsigned long dir_len;
	bool poison;
	/* The owner's allocation-failure hook (NULL: never fail). */
	bool (*should_fail)(void);
	struct spt_pool_stats st;
};

/*
 * Every allocation the pool makes (a frame handed out, a chunk, its slots,
 * a directory leaf) first asks the owner's hook, so that each one is an
 * injection point of its own.
 */
static bool spt_pool_should_fail(struct spt_pool *pool)
{
	return pool->should_fail && pool->should_fail();
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

static gfp_t spt_pool_gfp(void)
{
	/* Called under node locks (bit spinlocks) by the cursor: no sleep. */
	if (preemptible())
		return GFP_KERNEL | __GFP_NOWARN | __GFP_NORETRY;
	return GFP_NOWAIT | __GFP_NOWARN;
}

/* Take a new chunk from the buddy allocator. Called without pool->lock. */
static struct spt_chunk *spt_chunk_new(struct spt_pool *pool)
{
	gfp_t gfp = spt_pool_gfp();
	struct spt_chunk *c;
	struct page *data, *meta;

	c = spt_pool_kzalloc(pool, sizeof(*c), gfp);
	if (!c)
		return NULL;
	data = spt_pool_pages(pool, gfp | __GFP_COMP, SPT_CHUNK_ORDER);
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

/* Unpublish and give back an all-free chunk. Called with pool->lock held. */
static void spt_chunk_release(struct spt_pool *pool, struct spt_chunk *c)
{
	WRITE_ONCE(*spt_dir_slot(pool, c->pa), NULL);
	list_del_init(&c->link);
	pool->st.chunk_frames -= SPT_CHUNK_FRAMES;
	pool->st.free_frames -= SPT_CHUNK_FRAMES;
	pool->st.returned_frames += SPT_CHUNK_FRAMES;
	pool->st.meta_bytes -= SPT_CHUNK_FRAMES * sizeof(struct spt_meta);
}

static void spt_chunk_init_free(struct spt_chunk *c)
{
	unsigned int i;

	for (i = 0; i < SPT_CHUNK_FRAMES; i++) {
		struct spt_meta *m = &c->meta[i];

		atomic_set(&m->refcount, SPT_REF_UNUSED);
		m->usage = SPT_USAGE_FREE;
		m->level = 0;
		m->nr_children = 0;
		m->word = i + 2 <= SPT_CHUNK_FRAMES ? i + 2 : 0;
	}
	c->free_head = 1;
	c->nr_free = SPT_CHUNK_FRAMES;
}

/*
 * Add one chunk to the pool and return it, or NULL. Called, and returns,
 * with pool->lock held; drops it meanwhile to allocate (so the caller must
 * not rely on anything it saw under the lock before the call).
 */
static struct spt_chunk *spt_pool_grow(struct spt_pool *pool)
	__must_hold(&pool->lock)
{
	struct spt_chunk **leaf = NULL;
	struct spt_chunk *c;
	int ret;

	spin_unlock(&pool->lock);
	c = spt_chunk_new(pool);
	if (!c)
		goto err_lock;
	spt_chunk_init_free(c);
	for (;;) {
		spin_lock(&pool->lock);
		ret = spt_chunk_publish(pool, c, &leaf);
		if (ret != -EAGAIN)
			break;
		spin_unlock(&pool->lock);
		leaf = spt_pool_kcalloc(pool, SPT_CHUNK_FRAMES, sizeof(*leaf),
					spt_pool_gfp());
		if (!leaf)
			goto err_free;
	}
	if (ret) {
		spin_unlock(&pool->lock);
		kfree(leaf);
		goto err_free;
	}
	kfree(leaf);
	return c;

err_free:
	spt_chunk_free(c);
err_lock:
	spin_lock(&pool->lock);
	return NULL;
}

static void spt_frame_clear(struct spt_pool *pool, u64 pa, unsigned int nr)
{
	unsigned int i;

	for (i = 0; i < nr; i++)
		clear_page(phys_to_virt(pa + ((u64)i << PAGE_SHIFT)));
}

/*
 * Unlink a free frame of @c whose index is a multiple of @align (1, or 2
 * for an 8 KiB-aligned root) from the chunk's free list. Returns the index
 * + 1, or 0 if there is none. Called with pool->lock held.
 */
static unsigned int spt_chunk_take(struct spt_chunk *c, unsigned int align)
{
	unsigned long *link = &c->free_head;

	while (*link) {
		unsigned int idx = *link - 1;

		if (!(idx & (align - 1))) {
			*link = c->meta[idx].word;
			c->meta[idx].word = 0;
			return idx + 1;
		}
		link = &c->meta[idx].word;
	}
	return 0;
}

static int spt_alloc_small(struct spt_pool *pool, unsigned int align, u64 *pa)
{
	struct spt_chunk *c;
	unsigned int idx = 0;

	spin_lock(&pool->lock);
	list_for_each_entry(c, &pool->partial, link) {
		idx = spt_chunk_take(c, align);
		if (idx)
			break;
	}
	if (!idx) {
		c = spt_pool_grow(pool);
		if (!c) {
			spin_unlock(&pool->lock);
			return -ENOMEM;
		}
		list_add(&c->link, &pool->partial);
		idx = spt_chunk_take(c, align);	/* frame 0 */
	}
	idx--;
	if (--c->nr_free == 0)
		list_del_init(&c->link);
	pool->st.used_frames++;
	pool->st.free_frames--;
	spin_unlock(&pool->lock);
	*pa = c->pa + ((u64)idx << PAGE_SHIFT);
	return 0;
}

static int spt_alloc_huge(struct spt_pool *pool, u64 *pa)
{
	struct spt_chunk *c;
	unsigned int i;

	spin_lock(&pool->lock);
	c = spt_pool_grow(pool);
	if (!c) {
		spin_unlock(&pool->lock);
		return -ENOMEM;
	}
	c->whole = true;
	c->free_head = 0;
	c->nr_free = 0;
	for (i = 1; i < SPT_CHUNK_FRAMES; i++) {
		atomic_set(&c->meta[i].refcount, 0);
		c->meta[i].usage = SPT_USAGE_TAIL;
		c->meta[i].level = 2;
		c->meta[i].word = 0;
	}
	c->meta[0].word = 0;
	pool->st.used_frames += SPT_CHUNK_FRAMES;
	pool->st.free_frames -= SPT_CHUNK_FRAMES;
	spin_unlock(&pool->lock);
	*pa = c->pa;
	return 0;
}

static int spt_pool_alloc_aligned(struct spt_pool *pool, enum spt_usage usage,
				  unsigned int level, unsigned int align,
				  bool unique, u64 *pa)
{
	struct spt_meta *m;
	int ret;

	if (WARN_ON_ONCE(level < 1 || level > 2 ||
			 (level == 2 && usage != SPT_USAGE_DATA)))
		return -EINVAL;
	if (spt_pool_should_fail(pool)) {
		ret = -ENOMEM;
		goto out;
	}
	ret = level == 1 ? spt_alloc_small(pool, align, pa) :
	      spt_alloc_huge(pool, pa);
	if (ret)
		goto out;
	spt_frame_clear(pool, *pa, level == 1 ? 1 : SPT_CHUNK_FRAMES);
	m = spt_pool_meta(pool, *pa);
	m->level = level;
	m->nr_children = 0;
	spt_meta_claim(m, usage, unique);

#ifndef SPT_PLANT_NOLOCK	/* planted bug (scripts/plant-check): no lock */
	spin_lock(&pool->lock);
#endif
	pool->st.allocs++;
	if (usage == SPT_USAGE_PT)
		pool->st.node_frames++;
	else
		pool->st.data_frames += level == 1 ? 1 : SPT_CHUNK_FRAMES;
#ifndef SPT_PLANT_NOLOCK
	spin_unlock(&pool->lock);
#endif
	return 0;
out:
	spin_lock(&pool->lock);
	pool->st.alloc_failures++;
	spin_unlock(&pool->lock);
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

void spt_pool_free(struct spt_pool *pool, u64 pa)
{
	struct spt_chunk *c = spt_chunk_of(pool, pa);
	unsigned int idx = (pa >> PAGE_SHIFT) & (SPT_CHUNK_FRAMES - 1);
	struct spt_meta *m;
	bool huge;

	if (WARN_ON_ONCE(!c))
		return;
	m = &c->meta[idx];
	if (WARN_ON_ONCE(spt_meta_ref(m) != 0 ||
			 (m->usage != SPT_USAGE_PT &&
			  m->usage != SPT_USAGE_DATA)))
		return;
	huge = m->usage == SPT_USAGE_DATA && m->level == 2;
	if (pool->poison)
		memset(phys_to_virt(pa), SPT_POISON_BYTE,
		       huge ? SZ_2M : PAGE_SIZE);

	spin_lock(&pool->lock);
	if (m->usage == SPT_USAGE_PT)
		pool->st.node_frames--;
	else
		pool->st.data_frames -= huge ? SPT_CHUNK_FRAMES : 1;
	if (huge) {
		pool->st.used_frames -= SPT_CHUNK_FRAMES;
		pool->st.free_frames += SPT_CHUNK_FRAMES;
		spt_chunk_release(pool, c);
		spin_unlock(&pool->lock);
		spt_chunk_free(c);
		return;
	}
	atomic_set(&m->refcount, SPT_REF_UNUSED);
	m->usage = SPT_USAGE_FREE;
	m->level = 0;
	m->nr_children = 0;
	m->word = c->free_head;
	c->free_head = idx + 1;
	pool->st.used_frames--;
	pool->st.free_frames++;
	if (c->nr_free++ == 0)
		list_add(&c->link, &pool->partial);
	if (c->nr_free == SPT_CHUNK_FRAMES) {
		spt_chunk_release(pool, c);
		spin_unlock(&pool->lock);
		spt_chunk_free(c);
		return;
	}
	spin_unlock(&pool->lock);
}

void spt_pool_get_stats(struct spt_pool *pool, struct spt_pool_stats *st)
{
	spin_lock(&pool->lock);
	*st = pool->st;
	spin_unlock(&pool->lock);
}

int spt_pool_reserve(struct spt_pool *pool, u64 nr_frames)
{
	might_sleep();
	for (;;) {
		struct spt_chunk *c;

		spin_lock(&pool->lock);
		if (pool->st.free_frames >= nr_frames) {
			spin_unlock(&pool->lock);
			return 0;
		}
		c = spt_pool_grow(pool);
		if (!c) {
			spin_unlock(&pool->lock);
			return -ENOMEM;
		}
		list_add_tail(&c->link, &pool->partial);
		spin_unlock(&pool->lock);
	}
}

struct spt_pool *spt_pool_create(u64 limit_frames, bool poison,
				 bool (*should_fail)(void))
{
	struct spt_pool *pool;
	u64 max_pa = __pa(high_memory - 1) + 1;

	if (should_fail && should_fail())
		return NULL;
	pool = kzalloc(sizeof(*pool), GFP_KERNEL);
	if (!pool)
		return NULL;
	pool->should_fail = should_fail;
	pool->dir_len = DIV_ROUND_UP(max_pa, 1ULL << SPT_REGION_SHIFT);
	pool->dir = spt_pool_kcalloc(pool, pool->dir_len, sizeof(*pool->dir),
				     GFP_KERNEL);
	if (!pool->dir) {
		kfree(pool);
		return NULL;
	}
	spin_lock_init(&pool->lock);
	INIT_LIST_HEAD(&pool->partial);
	pool->poison = poison;
	pool->st.limit_frames = limit_frames;
	return pool;
}

/*
 * Free the pool. Frames still handed out are a leak of a caller: they are
 * reported (and their chunks deliberately not freed, since something may
 * still point at them). Returns the number of such frames.
 */
u64 spt_pool_destroy(struct spt_pool *pool)
{
	u64 leaked = pool->st.used_frames;
	struct spt_chunk *c, *tmp;
	unsigned long r;

	/*
	 * A chunk on the partial list with every frame free was grown ahead
	 * of need (spt_pool_reserve) and never used: give it back. One with
	 * frames still handed out is kept (see above).
	 */
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
