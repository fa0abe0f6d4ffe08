// SPDX-License-Identifier: GPL-2.0
/*
 * The user-space frame pool: see pool_user.h.
 */
#include <pthread.h>
#include <sys/mman.h>

#include <core/pt.h>

#include "pool_user.h"

#if defined(__SANITIZE_ADDRESS__)
#define SPT_POOL_ASAN 1
#elif defined(__has_feature)
#if __has_feature(address_sanitizer)
#define SPT_POOL_ASAN 1
#endif
#endif

#ifdef SPT_POOL_ASAN
#include <sanitizer/asan_interface.h>
#define spt_asan_poison(p, n)	ASAN_POISON_MEMORY_REGION(p, n)
#define spt_asan_unpoison(p, n)	ASAN_UNPOISON_MEMORY_REGION(p, n)
#else
#define spt_asan_poison(p, n)	((void)(p), (void)(n))
#define spt_asan_unpoison(p, n)	((void)(p), (void)(n))
#endif

#define CHUNK_SHIFT	21
#define CHUNK_SIZE	(1ULL << CHUNK_SHIFT)
#define CHUNK_FRAMES	512U

enum { CHUNK_FREE, CHUNK_SPLIT, CHUNK_WHOLE };

struct spt_user_chunk {
	u8 state;
	u16 nr_free;		/* CHUNK_SPLIT: free 4 KiB frames */
	u32 free_head;		/* CHUNK_SPLIT: slot index + 1, 0 = none */
	s32 prev, next;		/* on the partial list while 0 < nr_free */
};

struct spt_pool {
	pthread_mutex_t lock;
	u8 *arena;
	u64 nr_chunks;
	struct spt_meta *meta;		/* nr_chunks * 512 slots */
	struct spt_user_chunk *chunks;
	u32 *free_chunks;		/* stack of CHUNK_FREE chunk numbers */
	u64 nr_free_chunks;
	s32 partial;			/* first split chunk with free frames */
	u64 fail_nth;
	u64 limit;			/* 0 = none */
	struct spt_pool_stats st;
};

static void spt_user_stats_sync(struct spt_pool *pool)
{
	pool->st.free_frames = pool->st.chunk_frames - pool->st.used_frames;
	pool->st.meta_bytes = pool->st.chunk_frames * sizeof(struct spt_meta);
}

struct spt_pool *spt_pool_user_create(u64 arena_mib)
{
	u64 chunks = (arena_mib + 1) / 2, i;
	struct spt_pool *pool;
	void *arena;

	if (!chunks)
		return NULL;
	pool = calloc(1, sizeof(*pool));
	if (!pool)
		return NULL;
	arena = mmap(NULL, chunks * CHUNK_SIZE, PROT_READ | PROT_WRITE,
		     MAP_PRIVATE | MAP_ANONYMOUS | MAP_NORESERVE, -1, 0);
	if (arena == MAP_FAILED)
		goto err_pool;
	pool->arena = arena;
	pool->nr_chunks = chunks;
	pool->meta = calloc(chunks * CHUNK_FRAMES, sizeof(*pool->meta));
	pool->chunks = calloc(chunks, sizeof(*pool->chunks));
	pool->free_chunks = calloc(chunks, sizeof(*pool->free_chunks));
	if (!pool->meta || !pool->chunks || !pool->free_chunks)
		goto err_arrays;
	for (i = 0; i < chunks * CHUNK_FRAMES; i++) {
		atomic_set(&pool->meta[i].refcount, (int)SPT_REF_UNUSED);
		pool->meta[i].usage = SPT_USAGE_FREE;
	}
	/* Hand out low addresses first: the stack's top is chunk 0. */
	for (i = 0; i < chunks; i++) {
		pool->free_chunks[i] = (u32)(chunks - 1 - i);
		pool->chunks[i].prev = -1;
		pool->chunks[i].next = -1;
	}
	pool->nr_free_chunks = chunks;
	pool->partial = -1;
	pthread_mutex_init(&pool->lock, NULL);
	spt_asan_poison(pool->arena, chunks * CHUNK_SIZE);
	return pool;

err_arrays:
	free(pool->meta);
	free(pool->chunks);
	free(pool->free_chunks);
	munmap(arena, chunks * CHUNK_SIZE);
err_pool:
	free(pool);
	return NULL;
}

static const char *const spt_usage_names[] = {
	"FREE", "PT", "DATA", "TAIL",
};

u64 spt_pool_user_destroy(struct spt_pool *pool)
{
	u64 leaked = pool->st.used_frames, i;

	if (leaked) {
		fprintf(stderr, "spt_pool_user: %llu frames leaked\n", leaked);
		for (i = 0; i < pool->nr_chunks * CHUNK_FRAMES; i++) {
			struct spt_meta *m = &pool->meta[i];

			if (m->usage == SPT_USAGE_FREE ||
			    m->usage == SPT_USAGE_TAIL)
				continue;
			fprintf(stderr,
				"  pa 0x%llx usage %s level %u refcount 0x%x\n",
				SPT_POOL_USER_BASE + (i << SPT_PAGE_SHIFT),
				m->usage < ARRAY_SIZE(spt_usage_names) ?
				spt_usage_names[m->usage] : "?",
				m->level, spt_meta_ref(m));
		}
	}
	spt_asan_unpoison(pool->arena, pool->nr_chunks * CHUNK_SIZE);
	munmap(pool->arena, pool->nr_chunks * CHUNK_SIZE);
	pthread_mutex_destroy(&pool->lock);
	free(pool->meta);
	free(pool->chunks);
	free(pool->free_chunks);
	free(pool);
	return leaked;
}

void spt_pool_user_fail_nth(struct spt_pool *pool, u64 n)
{
	pthread_mutex_lock(&pool->lock);
	pool->fail_nth = n;
	pthread_mutex_unlock(&pool->lock);
}

void spt_pool_user_set_limit(struct spt_pool *pool, u64 limit_frames)
{
	pthread_mutex_lock(&pool->lock);
	pool->limit = limit_frames;
	pool->st.limit_frames = limit_frames;
	pthread_mutex_unlock(&pool->lock);
}

u64 spt_pool_user_used(struct spt_pool *pool)
{
	u64 used;

	pthread_mutex_lock(&pool->lock);
	used = pool->st.used_frames;
	pthread_mutex_unlock(&pool->lock);
	return used;
}

static inline u64 spt_user_index(struct spt_pool *pool, u64 pa, bool *ok)
{
	u64 off = pa - SPT_POOL_USER_BASE;

	*ok = pa >= SPT_POOL_USER_BASE &&
	      off < pool->nr_chunks * CHUNK_SIZE;
	return off >> SPT_PAGE_SHIFT;
}

struct spt_meta *spt_pool_meta(struct spt_pool *pool, u64 pa)
{
	bool ok;
	u64 idx = spt_user_index(pool, pa, &ok);

	if (!ok)
		return NULL;
	if (__atomic_load_n(&pool->chunks[idx / CHUNK_FRAMES].state,
			    __ATOMIC_ACQUIRE) == CHUNK_FREE)
		return NULL;
	return &pool->meta[idx];
}

void *spt_pool_va(struct spt_pool *pool, u64 pa)
{
	bool ok;
	u64 idx = spt_user_index(pool, pa, &ok);

	if (!ok)
		return NULL;
	return pool->arena + (idx << SPT_PAGE_SHIFT) +
	       (pa & (SPT_PAGE_SIZE - 1));
}

unsigned long spt_pool_va_offset(struct spt_pool *pool)
{
	return (uintptr_t)pool->arena - SPT_POOL_USER_BASE;
}

bool spt_pool_user_in_use(struct spt_pool *pool, u64 pa)
{
	struct spt_meta *m = spt_pool_meta(pool, pa);
	u32 ref;

	if (!m || (pa & (SPT_PAGE_SIZE - 1)))
		return false;
	ref = spt_meta_ref(m);
	return m->usage != SPT_USAGE_FREE && m->usage != SPT_USAGE_TAIL &&
	       ref != SPT_REF_UNUSED;
}

static void spt_user_partial_add(struct spt_pool *pool, s32 c)
{
	struct spt_user_chunk *ch = &pool->chunks[c];

	ch->prev = -1;
	ch->next = pool->partial;
	if (pool->partial >= 0)
		pool->chunks[pool->partial].prev = c;
	pool->partial = c;
}

static void spt_user_partial_del(struct spt_pool *pool, s32 c)
{
	struct spt_user_chunk *ch = &pool->chunks[c];

	if (ch->prev >= 0)
		pool->chunks[ch->prev].next = ch->next;
	else
		pool->partial = ch->next;
	if (ch->next >= 0)
		pool->chunks[ch->next].prev = ch->prev;
	ch->prev = -1;
	ch->next = -1;
}

/* Take a free chunk; called with the lock held. -1 if none. */
static s32 spt_user_chunk_take(struct spt_pool *pool, u8 state)
{
	s32 c;

	if (!pool->nr_free_chunks)
		return -1;
	c = (s32)pool->free_chunks[--pool->nr_free_chunks];
	__atomic_store_n(&pool->chunks[c].state, state, __ATOMIC_RELEASE);
	pool->st.chunk_frames += CHUNK_FRAMES;
	return c;
}

static void spt_user_chunk_give(struct spt_pool *pool, s32 c)
{
	__atomic_store_n(&pool->chunks[c].state, CHUNK_FREE, __ATOMIC_RELEASE);
	pool->free_chunks[pool->nr_free_chunks++] = (u32)c;
	pool->st.chunk_frames -= CHUNK_FRAMES;
	pool->st.returned_frames += CHUNK_FRAMES;
}

/* Split a free chunk into 4 KiB frames; called with the lock held. */
static s32 spt_user_chunk_split(struct spt_pool *pool)
{
	struct spt_user_chunk *ch;
	s32 c;
	u32 i;

	c = spt_user_chunk_take(pool, CHUNK_SPLIT);
	if (c < 0)
		return -1;
	ch = &pool->chunks[c];
	for (i = 0; i < CHUNK_FRAMES; i++) {
		struct spt_meta *m = &pool->meta[c * CHUNK_FRAMES + i];

		m->word = i + 1 < CHUNK_FRAMES ? i + 2 : 0;
	}
	ch->free_head = 1;
	ch->nr_free = CHUNK_FRAMES;
	spt_user_partial_add(pool, c);
	return c;
}

/*
 * An 8 KiB-aligned 4 KiB frame (even index): the first one on the free
 * lists of the split chunks, else frame 0 of a fresh chunk.
 */
static int spt_user_alloc_even(struct spt_pool *pool, u64 *idx)
{
	struct spt_user_chunk *ch;
	u32 prev, cur;
	s32 c;

	for (c = pool->partial; c >= 0; c = pool->chunks[c].next) {
		prev = 0;
		ch = &pool->chunks[c];
		for (cur = ch->free_head; cur; ) {
			u64 i = (u64)c * CHUNK_FRAMES + cur - 1;
			u32 next = (u32)pool->meta[i].word;

			if (!((cur - 1) & 1)) {
				if (prev)
					pool->meta[(u64)c * CHUNK_FRAMES +
						   prev - 1].word = next;
				else
					ch->free_head = next;
				goto found;
			}
			prev = cur;
			cur = next;
		}
	}
	c = spt_user_chunk_split(pool);
	if (c < 0)
		return -ENOMEM;
	ch = &pool->chunks[c];
	ch->free_head = (u32)pool->meta[(u64)c * CHUNK_FRAMES].word;
	cur = 1;
found:
	*idx = (u64)c * CHUNK_FRAMES + cur - 1;
	pool->meta[*idx].word = 0;
	if (--ch->nr_free == 0)
		spt_user_partial_del(pool, c);
	return 0;
}

/*
 * Known-zero frames, as the kernel pool keeps them: a node given back
 * all-zero is not poisoned, its free slot gets level 1, and it is handed
 * out again without a clear. The test build (AddressSanitizer) checks the
 * zeros on both sides; the benchmark build trusts them, as the kernel does.
 */
static void spt_user_check_zero(const void *frame)
{
#ifdef __SANITIZE_ADDRESS__
	const u64 *p = frame;
	unsigned int i;

	for (i = 0; i < SPT_PAGE_SIZE / sizeof(u64); i++)
		if (WARN_ON(p[i]))
			break;
#endif
}

/* A 4 KiB frame; called with the lock held. */
static int spt_user_alloc_small(struct spt_pool *pool, u64 *idx)
{
	struct spt_user_chunk *ch;
	s32 c = pool->partial;
	u32 i;

	if (c < 0) {
		c = spt_user_chunk_split(pool);
		if (c < 0)
			return -ENOMEM;
	}
	ch = &pool->chunks[c];
	i = ch->free_head - 1;
	*idx = (u64)c * CHUNK_FRAMES + i;
	ch->free_head = (u32)pool->meta[*idx].word;
	pool->meta[*idx].word = 0;
	if (--ch->nr_free == 0)
		spt_user_partial_del(pool, c);
	return 0;
}

static int spt_user_alloc(struct spt_pool *pool, enum spt_usage usage,
			  unsigned int level, bool unique, bool even, u64 *pa)
{
	u64 need = level == 2 ? CHUNK_FRAMES : 1, idx, i;
	struct spt_meta *m;
	bool zero = false;
	void *p;
	int ret = -ENOMEM;

	if (WARN_ON(level < 1 || level > 2 ||
		    (usage != SPT_USAGE_PT && usage != SPT_USAGE_DATA) ||
		    (level == 2 && usage != SPT_USAGE_DATA)))
		return -EINVAL;
	pthread_mutex_lock(&pool->lock);
	if (pool->fail_nth && --pool->fail_nth == 0)
		goto fail;
	if (pool->limit && pool->st.used_frames + need > pool->limit)
		goto fail;
	if (level == 1) {
		ret = even ? spt_user_alloc_even(pool, &idx) :
			     spt_user_alloc_small(pool, &idx);
		if (ret)
			goto fail;
		/* A free slot of level 1: a node given back all-zero. */
		zero = pool->meta[idx].level == 1;
	} else {
		s32 c = spt_user_chunk_take(pool, CHUNK_WHOLE);

		if (c < 0)
			goto fail;
		idx = (u64)c * CHUNK_FRAMES;
		for (i = 1; i < CHUNK_FRAMES; i++) {
			m = &pool->meta[idx + i];
			m->usage = SPT_USAGE_TAIL;
			m->level = 2;
			m->nr_children = 0;
			m->word = 0;
			atomic_set(&m->refcount, 0);
		}
	}
	pool->st.used_frames += need;
	if (usage == SPT_USAGE_PT)
		pool->st.node_frames += need;
	else
		pool->st.data_frames += need;
	pool->st.allocs++;
	spt_user_stats_sync(pool);
	pthread_mutex_unlock(&pool->lock);

	p = pool->arena + (idx << SPT_PAGE_SHIFT);
	spt_asan_unpoison(p, need << SPT_PAGE_SHIFT);
	if (!zero)
		memset(p, 0, need << SPT_PAGE_SHIFT);
	else
		spt_user_check_zero(p);
	m = &pool->meta[idx];
	m->level = (u8)level;
	m->nr_children = 0;
	m->word = 0;
	spt_meta_claim(m, usage, unique);
	*pa = SPT_POOL_USER_BASE + (idx << SPT_PAGE_SHIFT);
	return 0;

fail:
	pool->st.alloc_failures++;
	pthread_mutex_unlock(&pool->lock);
	return -ENOMEM;
}

int spt_pool_alloc(struct spt_pool *pool, enum spt_usage usage,
		   unsigned int level, bool unique, u64 *pa)
{
	return spt_user_alloc(pool, usage, level, unique, false, pa);
}

int spt_pool_alloc_root(struct spt_pool *pool, u64 *pa)
{
	return spt_user_alloc(pool, SPT_USAGE_PT, 1, false, true, pa);
}

static void spt_user_free(struct spt_pool *pool, u64 pa, bool zero)
{
	struct spt_meta *m = spt_pool_meta(pool, pa);
	u64 idx, need, i;
	bool huge, ok;
	s32 c;
	void *p;

	if (WARN_ON(!m || (pa & (SPT_PAGE_SIZE - 1))))
		return;
	if (WARN_ON(spt_meta_ref(m) != 0 ||
		    (m->usage != SPT_USAGE_PT && m->usage != SPT_USAGE_DATA)))
		return;
	huge = m->usage == SPT_USAGE_DATA && m->level == 2;
	idx = spt_user_index(pool, pa, &ok);
	if (WARN_ON(huge && (idx % CHUNK_FRAMES)))
		return;
	need = huge ? CHUNK_FRAMES : 1;
	zero = zero && !huge;
	p = pool->arena + (idx << SPT_PAGE_SHIFT);
	if (zero)
		spt_user_check_zero(p);
	else
		memset(p, SPT_POISON_BYTE, need << SPT_PAGE_SHIFT);
	spt_asan_poison(p, need << SPT_PAGE_SHIFT);

	pthread_mutex_lock(&pool->lock);
	c = (s32)(idx / CHUNK_FRAMES);
	pool->st.used_frames -= need;
	if (m->usage == SPT_USAGE_PT)
		pool->st.node_frames -= need;
	else
		pool->st.data_frames -= need;
	for (i = 0; i < need; i++) {
		struct spt_meta *s = &pool->meta[idx + i];

		s->usage = SPT_USAGE_FREE;
		s->level = zero ? 1 : 0;
		s->nr_children = 0;
		s->word = 0;
		atomic_set(&s->refcount, (int)SPT_REF_UNUSED);
	}
	if (huge) {
		spt_user_chunk_give(pool, c);
	} else {
		struct spt_user_chunk *ch = &pool->chunks[c];

		m->word = ch->free_head;
		ch->free_head = (u32)(idx % CHUNK_FRAMES) + 1;
		if (ch->nr_free++ == 0)
			spt_user_partial_add(pool, c);
		if (ch->nr_free == CHUNK_FRAMES) {
			spt_user_partial_del(pool, c);
			spt_user_chunk_give(pool, c);
		}
	}
	spt_user_stats_sync(pool);
	pthread_mutex_unlock(&pool->lock);
}

void spt_pool_free(struct spt_pool *pool, u64 pa)
{
	spt_user_free(pool, pa, false);
}

void spt_pool_free_zeroed(struct spt_pool *pool, u64 pa)
{
	spt_user_free(pool, pa, true);
}

void spt_pool_get_stats(struct spt_pool *pool, struct spt_pool_stats *st)
{
	pthread_mutex_lock(&pool->lock);
	*st = pool->st;
	pthread_mutex_unlock(&pool->lock);
}
