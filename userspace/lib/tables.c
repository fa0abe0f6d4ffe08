// SPDX-License-Identifier: LGPL-2.1 OR GPL-2.0
/*
 * libshadowpt: queries without a system call (SPT_IOCTL_TABLES). The
 * space's page-table nodes are mapped read-only; a walk reads them
 * directly and is kept only if no change of the space began or was in
 * progress while it ran (struct spt_tables_header), else it is retried,
 * and after SPT_TABLES_TRIES attempts left to the kernel's ioctl.
 */
#include <errno.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>
#include <sched.h>
#include <sys/ioctl.h>
#include <sys/mman.h>

#include "internal.h"

#define SPT_TABLES_TRIES	64
#define PTE_P		(1ULL << 0)
#define PTE_RW		(1ULL << 1)
#define PTE_US		(1ULL << 2)
#define PTE_PWT		(1ULL << 3)
#define PTE_PCD		(1ULL << 4)
#define PTE_A		(1ULL << 5)
#define PTE_D		(1ULL << 6)
#define PTE_PS		(1ULL << 7)
#define PTE_PAT		(1ULL << 7)	/* level 1 */
#define PTE_TRACKED	(1ULL << 9)
#define PTE_PINNED	(1ULL << 10)	/* software: a pinned user page */
#define PTE_PAT_LARGE	(1ULL << 12)	/* levels 2, 3 */
#define PTE_NX		(1ULL << 63)
#define PTE_ADDR	0x000ffffffffff000ULL

static int fail(int err)
{
	errno = err;
	return -err;
}

SPT_EXPORT int spt_tables_open(struct spt *h, uint32_t space_id,
			       struct spt_tables_map **out)
{
	struct spt_tables cmd = {
		.size = sizeof(cmd), .space_id = space_id, .out_fd = -1,
	};
	struct spt_tables_map *t;
	void *base;
	int err;

	if (!h || !out)
		return fail(EINVAL);
	if (ioctl(h->fd, SPT_IOCTL_TABLES, &cmd) < 0)
		return fail(errno);
	t = calloc(1, sizeof(*t));
	if (!t) {
		close(cmd.out_fd);
		return fail(ENOMEM);
	}
	base = mmap(NULL, cmd.out_map_size, PROT_READ,
		    MAP_SHARED | MAP_NORESERVE, cmd.out_fd, 0);
	if (base == MAP_FAILED) {
		err = errno;
		close(cmd.out_fd);
		free(t);
		return fail(err);
	}
	t->h = h;
	t->space_id = space_id;
	t->levels = cmd.out_levels;
	t->root_pa = cmd.out_root_pa;
	t->user_end = 1ULL << (12 + 9 * cmd.out_levels - 1);
	t->fd = cmd.out_fd;
	t->base = base;
	t->len = cmd.out_map_size;
	t->hdr = base;
	memcpy(t->cache, t->hdr->cache_modes, sizeof(t->cache));
	t->next = h->tables;
	h->tables = t;
	*out = t;
	return 0;
}

static void spt_tables_unmap(struct spt_tables_map *t)
{
	munmap((void *)t->base, t->len);
	close(t->fd);
	free(t);
}

SPT_EXPORT void spt_tables_close(struct spt_tables_map *t)
{
	struct spt_tables_map **p;

	if (!t)
		return;
	for (p = &t->h->tables; *p; p = &(*p)->next) {
		if (*p == t) {
			*p = t->next;
			break;
		}
	}
	spt_tables_unmap(t);
}

/* Entry @i of the node at @pa, read once (the kernel may be writing it). */
static inline uint64_t entry(const struct spt_tables_map *t, uint64_t pa,
			     unsigned int i)
{
	const uint64_t *n = (const uint64_t *)(t->base +
					       SPT_TABLES_NODE_OFFSET + pa);

	return __atomic_load_n(&n[i], __ATOMIC_RELAXED);
}

/*
 * Where the last walk of a batch ended: the node whose entry it read last
 * (level @level, at @pa, covering the VAs whose bits above @shift + 9 are
 * @tag) and the W/U/NX the entries above it left. A VA in the same node
 * starts there: one load per page instead of one per level. Kept only for
 * one try of one batch; the change counters validate the whole batch.
 */
struct walk_cache {
	uint64_t tag, pa, and_bits, or_bits;
	unsigned int level, shift;
	int valid;
};

/* One VA, no retry: what SPT_IOCTL_QUERY would say of it. */
static void walk_one(const struct spt_tables_map *t, uint64_t va,
		     struct spt_query_entry *e, struct walk_cache *wc)
{
	unsigned int level = t->levels, shift = 12 + 9 * (level - 1), idx;
	uint64_t pa = t->root_pa, pte, size;
	/* As the MMU combines them: W and U ANDed down the walk, NX ORed. */
	uint64_t and_bits = PTE_RW | PTE_US, or_bits = 0;

	if (wc->valid && va >> (wc->shift + 9) == wc->tag) {
		level = wc->level;
		shift = wc->shift;
		pa = wc->pa;
		and_bits = wc->and_bits;
		or_bits = wc->or_bits;
	}
	for (;; level--, shift -= 9) {
		pte = entry(t, pa, (va >> shift) & 511);
		if (!(pte & PTE_P) || level == 1 || (pte & PTE_PS))
			break;
		and_bits &= pte;
		or_bits |= pte & PTE_NX;
		pa = pte & PTE_ADDR;
	}
	if (level < t->levels) {
		wc->valid = 1;
		wc->tag = va >> (shift + 9);
		wc->pa = pa;
		wc->level = level;
		wc->shift = shift;
		wc->and_bits = and_bits;
		wc->or_bits = or_bits;
	}
	pte = (pte & ~(PTE_RW | PTE_US)) | (pte & and_bits) | or_bits;
	size = 1ULL << shift;
	e->va_start = va & ~(size - 1);
	e->va_end = e->va_start + size;
	e->level = level;
	if (!(pte & PTE_P)) {
		e->phys = 0;
		e->flags = 0;
		e->prot = 0;
		e->cache = 0;
		return;
	}
	e->phys = (pte & PTE_ADDR & ~(size - 1)) + (va - e->va_start);
	e->flags = SPT_QUERY_MAPPED |
		   ((pte & PTE_TRACKED) ? SPT_QUERY_TRACKED : 0) |
		   ((pte & PTE_PINNED) ? SPT_QUERY_PINNED : 0);
	e->prot = ((pte & PTE_RW) ? SPT_PROT_WRITE : 0) |
		  ((pte & PTE_US) ? SPT_PROT_USER : 0) |
		  ((pte & PTE_A) ? SPT_PROT_ACCESSED : 0) |
		  ((pte & PTE_D) ? SPT_PROT_DIRTY : 0) |
		  ((pte & PTE_NX) ? 0 : SPT_PROT_EXEC);
	idx = ((pte & PTE_PWT) ? 1 : 0) | ((pte & PTE_PCD) ? 2 : 0);
	if (level == 1 ? (pte & PTE_PAT) : (pte & PTE_PAT_LARGE))
		idx |= 4;
	e->cache = t->cache[idx];
}

SPT_EXPORT int spt_tables_walk(struct spt_tables_map *t, const uint64_t *vas,
			       size_t count, struct spt_query_entry *out)
{
	unsigned int tries;
	size_t i;

	if (!t || !vas || !out || !count)
		return fail(EINVAL);
	for (i = 0; i < count; i++)
		if (vas[i] >= t->user_end)
			return fail(EINVAL);
	for (tries = 0; tries < SPT_TABLES_TRIES; tries++) {
		uint64_t done, begun;

		if (tries)
			sched_yield();
		done = __atomic_load_n(&t->hdr->changes_done,
				       __ATOMIC_ACQUIRE);
		begun = __atomic_load_n(&t->hdr->changes_begun,
					__ATOMIC_ACQUIRE);
		if (__atomic_load_n(&t->hdr->dead, __ATOMIC_ACQUIRE))
			return fail(ENOENT);
		if (begun != done)
			continue;
		struct walk_cache wc = { .valid = 0 };

		for (i = 0; i < count; i++)
			walk_one(t, vas[i], &out[i], &wc);
		__atomic_thread_fence(__ATOMIC_ACQUIRE);
		if (__atomic_load_n(&t->hdr->changes_begun,
				    __ATOMIC_ACQUIRE) == begun)
			return 0;
	}
	return fail(EAGAIN);
}
