/* SPDX-License-Identifier: GPL-2.0 */
/*
 * A plain reference model of one page table's mappings, for the fuzzer
 * (the reference's PageTableView): a sorted array of leaves, each with its
 * VA, PA, size (level), property and trackedness. It splits huge leaves the
 * way the core must (512 children of the next level, PA stride = child
 * size, same property) and derives from the leaves what a well-formed
 * table must look like: which nodes exist (a non-root node exists iff some
 * leaf of its level or below lies in its span), node and leaf counts, and
 * the PTE count of every tracked frame.
 */
#ifndef SPT_TESTS_MODEL_H
#define SPT_TESTS_MODEL_H

#include "testlib.h"

struct mleaf {
	u64 va, pa;
	u64 frame;	/* tracked: head pa of the pool frame */
	u8 flevel;	/* tracked: the frame's size as a level */
	u8 level;
	u8 flags, cache;
	bool tracked;
};

struct model {
	unsigned int levels;
	u64 user_end;
	struct mleaf *v;
	size_t n, cap;
	struct u64map ptes;	/* tracked frame head -> leaves mapping it */
	/* Span of everything removed by the last model_unmap / map. */
	u64 removed_lo, removed_hi;
	/* Tracked frames whose last PTE went (cleared by the caller). */
	struct mframe {
		u64 frame;
		u8 flevel;
	} *zeroed;
	size_t nr_zeroed, zeroed_cap;
	u64 nr_splits;		/* statistics: huge leaves split */
};

void model_init(struct model *m, unsigned int levels, u64 user_end);
void model_free(struct model *m);
void model_reset(struct model *m);

static inline u64 mleaf_end(const struct mleaf *l)
{
	return l->va + spt_level_size(l->level);
}

/* Index of the first leaf ending after @va (== n if none). */
size_t model_lower(const struct model *m, u64 va);
/* The leaf containing @va, or NULL. */
struct mleaf *model_find(struct model *m, u64 va);
/* First mapped address in [va, end): true and *@at. */
bool model_find_next(struct model *m, u64 va, u64 end, u64 *at);

/* Remove [a, b) (splitting partly covered leaves); returns leaves removed. */
unsigned long model_unmap(struct model *m, u64 a, u64 b);
/* Map a leaf (replacing); returns the number of leaves replaced. */
unsigned long model_map(struct model *m, const struct mleaf *l);
/*
 * protect_next over [va, va + len): 1 and the range changed, or 0.
 * new flags = (old & ~clear) | set; cache < 0 keeps.
 */
int model_protect_next(struct model *m, u64 va, u64 len, u8 set, u8 clear,
		       int cache, u64 *start, u64 *end);

/*
 * The absent entry containing @va in the canonical table (every non-root
 * node non-empty): the deepest existing node's entry. Returns its level.
 */
unsigned int model_absent_level(const struct model *m, u64 va);

/* Node and leaf counts of the canonical table. */
void model_counts(const struct model *m, struct spt_pt_counts *cn);

/* Leaves (PTEs) mapping tracked frame @frame. */
static inline u32 model_frame_ptes(const struct model *m, u64 frame)
{
	return u64map_get(&m->ptes, frame);
}

/*
 * Read the core's table into @m (reset first) with a read-only cursor over
 * the whole user half. Returns 0 or a negative errno from the core.
 */
int model_from_table(struct model *m, struct spt_pt *pt);
/*
 * Do @a and @b translate every page the same way (pa, property,
 * trackedness), whatever their leaf sizes? If not, describe the first
 * difference in @why.
 */
bool model_equiv(const struct model *a, const struct model *b, char *why,
		 size_t len);

/* Largest level (<= max) whose size divides va and pa and fits in len. */
unsigned int model_largest_level(u64 va, u64 pa, u64 len,
				 unsigned int max_level);

#endif /* SPT_TESTS_MODEL_H */
