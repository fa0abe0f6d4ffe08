/* SPDX-License-Identifier: GPL-2.0 */
/*
 * Per-frame metadata ("meta slots"), the C counterpart of Asterinas OSTD's
 * MetaSlot. One slot describes one 4 KiB frame of the pool. Slots live in
 * arrays allocated from the buddy allocator next to each pool chunk (see
 * pool.c), never in struct page. Portable: also built in user space.
 *
 * Size: 16 bytes per 4 KiB frame (static_assert below).
 *
 * Reference-count states (spt_meta.refcount), as in the reference:
 *   SPT_REF_UNUSED   the frame is free in the pool
 *   SPT_REF_UNIQUE   the frame is owned by exactly one holder that may not
 *                    share it (a page-table node being built before it is
 *                    linked, or a frame handed out "unique")
 *   0                the frame is being constructed or torn down
 *   1..SPT_REF_MAX   in use; for data frames: handles + PTEs mapping it;
 *                    for page-table nodes: 1 (the parent PTE or the space)
 *   (MAX, UNIQUE)    illegal; an increment that would reach it is refused
 */
#ifndef SPT_FRAME_META_H
#define SPT_FRAME_META_H

#include "../env/spt_env.h"

#define SPT_REF_UNUSED	0xffffffffU
#define SPT_REF_UNIQUE	0xfffffffeU
#define SPT_REF_MAX	0x7fffffffU

enum spt_usage {
	SPT_USAGE_FREE = 0,	/* in the pool's free lists */
	SPT_USAGE_PT,		/* a page-table node */
	SPT_USAGE_DATA,		/* head of a data frame (size in ->level) */
	SPT_USAGE_TAIL,		/* a 4 KiB frame inside a huge data frame */
};

struct spt_meta {
	/*
	 * FREE: the pool links free slots through it (its own encoding).
	 * PT: bits private to the page-table core (core/node.h: lock, stray,
	 * and the deferred-free link of a retired node). DATA head torn down
	 * (refcount 0): the core's deferred-free link. DATA
	 * head in use: 0, except during spt_pt_check(), which tallies the
	 * frame's PTEs in it (so at most one check at a time may run over
	 * tables that share frames).
	 */
	unsigned long word;
	atomic_t refcount;	/* see the states above */
	u8 usage;		/* enum spt_usage */
	/*
	 * PT: node level 1..5 (1 = PTE table). DATA/TAIL: size of the frame
	 * as a leaf level, 1 (4 KiB) or 2 (2 MiB). FREE: 1 if the frame is
	 * known to be all-zero (the pool hands it out without a clear).
	 */
	u8 level;
	/*
	 * PT: number of present entries. DATA head: SPT_META_SHARED once
	 * the frame has been shared (SPT_MAP_SHARE), else 0 (the pool
	 * hands every frame out with 0).
	 */
	u16 nr_children;
};

/*
 * A data frame that SPT_MAP_SHARE has given out: from then on each space
 * counts in its quota the 4 KiB pages of its own leaves that map it, and
 * the frame's last reference charges nobody (see struct spt_flusher).
 * Set once, under a cursor over every leaf that maps the frame, by the
 * first share; never cleared while the frame is in use.
 */
#define SPT_META_SHARED	1U

static inline bool spt_meta_is_shared(const struct spt_meta *m)
{
	return READ_ONCE(m->nr_children) & SPT_META_SHARED;
}

static inline void spt_meta_mark_shared(struct spt_meta *m)
{
	WRITE_ONCE(m->nr_children, SPT_META_SHARED);
}

#define SPT_META_SLOT_SIZE 16
static_assert(sizeof(struct spt_meta) == SPT_META_SLOT_SIZE);

/* Refcount helpers: the state machine of the reference's MetaSlot. */
static inline u32 spt_meta_ref(const struct spt_meta *m)
{
	return (u32)atomic_read(&m->refcount);
}

/*
 * Take one more reference on an in-use slot. Returns false (and changes
 * nothing) if the slot is not in the 1..MAX state or if the increment
 * would pass SPT_REF_MAX: the count is never wrapped.
 */
bool spt_meta_get(struct spt_meta *m);

/*
 * Take @n more references at once (used when a huge leaf is split into
 * @n + 1 smaller leaves). Same refusal rules as spt_meta_get().
 */
bool spt_meta_get_many(struct spt_meta *m, u32 n);

/*
 * Drop one reference. Returns true if it was the last one: the slot is now
 * in state 0 (being torn down) and the caller must hand the frame back to
 * the pool (after the TLB flush and grace period, see spt_flusher).
 */
bool spt_meta_put(struct spt_meta *m);

/* UNUSED -> 1 (or UNIQUE) when the pool hands a frame out. */
void spt_meta_claim(struct spt_meta *m, enum spt_usage usage, bool unique);

/* UNIQUE -> 1: a unique frame becomes shareable (e.g. a node is linked). */
void spt_meta_unique_to_shared(struct spt_meta *m);

#endif /* SPT_FRAME_META_H */
