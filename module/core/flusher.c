// SPDX-License-Identifier: GPL-2.0
/*
 * The deferred-free list of a cursor's owner (the reference's TlbFlusher
 * minus the flush): slots whose last reference went away while the table
 * was being changed, linked through their meta->word, plus the VA span the
 * owner must flush before spt_flusher_release() hands them back to the pool.
 *
 * Link encoding: frame number + 1 of the next slot (0 ends the list). A
 * data head stores it as is. A page-table node stores it shifted by
 * SPT_META_LINK_SHIFT above its lock and stray bits, which must stay
 * meaningful: a lock-free walker that read the node's address before it was
 * unlinked may still take its lock and must then find it stray. The node is
 * queued while its retirer holds its lock, so the store below keeps the lock
 * bit set and cannot lose a concurrent (atomic) attempt to set it.
 */
#include "internal.h"

#define SPT_META_LOW_BITS	(BIT(SPT_META_LINK_SHIFT) - 1)

void spt_flusher_init(struct spt_flusher *fl)
{
	fl->head = 0;
	fl->nr_frames = 0;
	fl->nr_nodes = 0;
	fl->data_frames = 0;
	fl->data_shared = 0;
	fl->shared_pages = 0;
	fl->data_settled = 0;
	fl->flush_start = 0;
	fl->flush_end = 0;
	fl->pinned = NULL;
	fl->nr_pinned = 0;
}

void spt_flusher_add_span(struct spt_flusher *fl, u64 start, u64 end)
{
	if (fl->flush_start == fl->flush_end) {
		fl->flush_start = start;
		fl->flush_end = end;
		return;
	}
	if (start < fl->flush_start)
		fl->flush_start = start;
	if (end > fl->flush_end)
		fl->flush_end = end;
}

void spt_flusher_queue(struct spt_flusher *fl, u64 pa, struct spt_meta *m)
{
	u64 next = fl->head;

	if (m->usage == SPT_USAGE_PT) {
		unsigned long low = READ_ONCE(m->word) & SPT_META_LOW_BITS;

		WRITE_ONCE(m->word,
			   (unsigned long)(next << SPT_META_LINK_SHIFT) | low);
		fl->nr_nodes++;
	} else {
		WARN_ON_ONCE(m->usage != SPT_USAGE_DATA);
		WRITE_ONCE(m->word, (unsigned long)next);
		fl->nr_frames++;
		fl->data_frames += 1UL << (9 * (m->level - 1));
		if (spt_meta_is_shared(m))
			fl->data_shared += 1UL << (9 * (m->level - 1));
	}
	fl->head = (pa >> SPT_PAGE_SHIFT) + 1;
}

/*
 * Clear every entry of a retired node that is not clear yet (a subtree
 * unlinked whole keeps its entries until now; the root keeps the kernel
 * half): the pool hands nodes out again without clearing them. No walker
 * can read the node any more (its grace period has passed).
 */
static void spt_node_zero(u64 *ptes)
{
	unsigned int i;

	for (i = 0; i < SPT_NR_ENTRIES; i++) {
		if (ptes[i])
			ptes[i] = 0;
	}
}

/*
 * Sleeps now and then: a large list is given back in pieces. Nodes go
 * back all-zero (spt_pool_free_zeroed()).
 */
void spt_flusher_release(struct spt_flusher *fl, struct spt_pool *pool)
{
	void *pinned = fl->pinned;
	unsigned long n = 0, nr_pinned = fl->nr_pinned;
	u64 cur = fl->head;

	while (cur) {
		u64 pa = (cur - 1) << SPT_PAGE_SHIFT;
		struct spt_meta *m = spt_pool_meta(pool, pa);
		unsigned long word;

		if (WARN_ON_ONCE(!m))
			break;
		word = READ_ONCE(m->word);
		m->word = 0;
		if (m->usage == SPT_USAGE_PT) {
			cur = word >> SPT_META_LINK_SHIFT;
			spt_trace_node_free(m->level, pa);
			spt_node_zero(spt_pool_va(pool, pa));
			spt_pool_free_zeroed(pool, pa);
		} else {
			cur = word;
			spt_pool_free(pool, pa);
		}
		if (!(++n % 512))
			cond_resched();
	}
	spt_flusher_init(fl);
	/* The pins are the owner's to release (see struct spt_flusher). */
	fl->pinned = pinned;
	fl->nr_pinned = nr_pinned;
}
