/* SPDX-License-Identifier: GPL-2.0 */
/*
 * One entry of a locked node (the reference's node/entry.rs): the node's
 * view, the index, and the PTE as last read or written. The entry
 * operations (here and in entry.c) are the only code of the core that
 * stores into a node's PTEs or changes its nr_children: replace keeps
 * nr_children right (absent -> present counts one more, present -> absent
 * one less), and a node is published only after its contents (smp_wmb).
 *
 * The node must be locked by the caller, or not yet reachable.
 */
#ifndef SPT_CORE_ENTRY_H
#define SPT_CORE_ENTRY_H

#include "node.h"

struct spt_entry {
	const struct spt_node *node;
	unsigned int idx;
	unsigned int level;	/* the node's */
	u64 pte;
};

/* read: the entry @idx of @node, whose level the caller knows. */
static inline struct spt_entry spt_entry_read(const struct spt_node *node,
					      unsigned int level,
					      unsigned int idx)
{
	struct spt_entry e = {
		.node = node, .idx = idx, .level = level,
		.pte = READ_ONCE(node->ptes[idx]),
	};

	return e;
}

/* read: the entry @idx of @node. */
static inline struct spt_entry spt_entry_at(const struct spt_node *node,
					    unsigned int idx)
{
	return spt_entry_read(node, node->level, idx);
}

static inline bool spt_entry_present(const struct spt_entry *e)
{
	return spt_pte_present(e->pte);
}

/* Present and a leaf (not a child node). */
static inline bool spt_entry_is_leaf(const struct spt_entry *e)
{
	return spt_pte_present(e->pte) &&
	       spt_pte_is_leaf(e->pte, e->level);
}

/* Present and a child node. */
static inline bool spt_entry_is_node(const struct spt_entry *e)
{
	return spt_pte_present(e->pte) &&
	       !spt_pte_is_leaf(e->pte, e->level);
}

/* Count @n more (or, negative, fewer) leaves of @level in the table. */
static inline void spt_leaves_add(struct spt_pt *pt, unsigned int level,
				  long n)
{
	atomic_long_add(n, &pt->nr_leaves[level - 1]);
}

/* Is @pte, present in a node of @level, a leaf? Then count it by @n. */
static inline void spt_leaf_count(struct spt_pt *pt, u64 pte,
				  unsigned int level, long n)
{
	if (spt_pte_present(pte) && spt_pte_is_leaf(pte, level))
		spt_leaves_add(pt, level, n);
}

/*
 * replace: store @pte, return the old PTE. nr_children follows the
 * present bit, the table's leaf counts follow the leaves. What the old
 * PTE held is the caller's.
 */
static inline u64 spt_entry_replace(struct spt_pt *pt, struct spt_entry *e,
				    u64 pte)
{
	struct spt_meta *m = e->node->meta;
	u64 old = e->pte;

	WRITE_ONCE(e->node->ptes[e->idx], pte);
	e->pte = pte;
	if (!spt_pte_present(old)) {
		if (spt_pte_present(pte))
			m->nr_children++;
	} else if (!spt_pte_present(pte) && !WARN_ON_ONCE(!m->nr_children)) {
		m->nr_children--;
	}
	spt_leaf_count(pt, old, e->level, -1);
	spt_leaf_count(pt, pte, e->level, 1);
	return old;
}

/* clear: make the entry absent; returns the old PTE. */
static inline u64 spt_entry_clear(struct spt_pt *pt, struct spt_entry *e)
{
	return spt_entry_replace(pt, e, 0);
}

/*
 * Make the node @child_pa (its contents complete, locked by the caller
 * if it is to be) the child of the entry, which must be absent or a leaf
 * that @child_pa's leaves replace. Returns the old PTE.
 */
static inline u64 spt_entry_set_child(struct spt_pt *pt, struct spt_entry *e,
				      u64 child_pa)
{
	smp_wmb();	/* node contents before the entry that points at it */
	return spt_entry_replace(pt, e, spt_pte_table(child_pa));
}

/*
 * protect: apply the PTE masks of an operation (spt_pte_prot_masks()) to
 * a present leaf.
 */
static inline void spt_entry_protect(struct spt_entry *e, u64 clear, u64 set)
{
	/* Present stays present: nr_children does not change. */
	e->pte = (e->pte & ~clear) | spt_pte_pin_set(e->pte, set);
	WRITE_ONCE(e->node->ptes[e->idx], e->pte);
}

/*
 * set-bits: apply deliberate bits (SPT_IOCTL_ENTRY_BITS) to a present
 * entry, leaf or not, keeping the deliberate mark in line. Returns whether
 * the PTE changed.
 */
static inline bool spt_entry_set_bits(const struct spt_cfg *cfg,
				      struct spt_entry *e, u64 clear, u64 set)
{
	u64 pte = (e->pte & ~clear) | set;

	if (spt_pte_is_leaf(e->pte, e->level))
		pte = (e->pte & ~clear) | spt_pte_pin_set(e->pte, set);
	pte &= ~SPT_PTE_MARK;
	if (spt_pte_deliberate(cfg, pte, e->level))
		pte |= SPT_PTE_MARK;
	if (pte == e->pte)
		return false;
	/* Present stays present: nr_children does not change. */
	e->pte = pte;
	WRITE_ONCE(e->node->ptes[e->idx], pte);
	return true;
}

/*
 * Apply the masks to the present leaves among entries [first, last) of
 * the level-1 @node. Returns how many there were.
 */
static inline unsigned int spt_node_protect_leaves(const struct spt_node *node,
						   unsigned int first,
						   unsigned int last,
						   u64 clear, u64 set)
{
	u64 *ptes = node->ptes;
	unsigned int i, n = 0;

	for (i = first; i < last; i++) {
		u64 pte = READ_ONCE(ptes[i]);

		if (!spt_pte_present(pte))
			continue;
		WRITE_ONCE(ptes[i], (pte & ~clear) | spt_pte_pin_set(pte, set));
		n++;
	}
	return n;
}

/*
 * Meta slots walked by pointer: the 512 slots of a 2 MiB pool chunk are
 * one array (frame/pool.h), so within a chunk the slot of a frame is the
 * chunk's first slot plus its index, and the pool is asked once per chunk.
 * x = pa ^ chunk_pa tells in one test whether @pa is a 4 KiB aligned frame
 * of the chunk (x & ~SPT_META_WALK_IN == 0), and x >> 8 is then the byte
 * offset of its slot (16 bytes a slot).
 */
#define SPT_META_WALK_IN	(((u64)SPT_NR_ENTRIES - 1) << SPT_PAGE_SHIFT)
#define SPT_META_WALK_SHIFT	(SPT_PAGE_SHIFT - 4)
static_assert(sizeof(struct spt_meta) == 1 << 4);

struct spt_meta_walk {
	u64 chunk_pa;		/* the chunk of @base, or ~0: none yet */
	struct spt_meta *base;	/* its first slot */
};

static inline void spt_meta_walk_init(struct spt_meta_walk *mw)
{
	mw->chunk_pa = ~0ULL;
	mw->base = NULL;
}

/* The slot of @pa, which is outside @mw's chunk: ask the pool. */
static inline struct spt_meta *spt_meta_walk_miss(struct spt_pool *pool,
						  struct spt_meta_walk *mw,
						  u64 pa)
{
	struct spt_meta *m = spt_pool_meta(pool, pa);

	if (m) {
		mw->chunk_pa = pa & ~(SPT_META_WALK_IN | (SPT_PAGE_SIZE - 1));
		mw->base = m - ((pa & SPT_META_WALK_IN) >> SPT_PAGE_SHIFT);
	}
	return m;
}

/* The slot of the page-aligned pool frame @pa, or NULL if it is none. */
static inline struct spt_meta *spt_meta_walk_at(struct spt_pool *pool,
						struct spt_meta_walk *mw,
						u64 pa)
{
	u64 x = pa ^ mw->chunk_pa;

	if (likely(!(x & ~SPT_META_WALK_IN)))
		return (void *)mw->base + (x >> SPT_META_WALK_SHIFT);
	return spt_meta_walk_miss(pool, mw, pa);
}

/*
 * The usage and level of a slot, read as one 16-bit value by a run (and
 * with nr_children as one 32-bit value by the release of leaves).
 */
static_assert(offsetof(struct spt_meta, level) ==
	      offsetof(struct spt_meta, usage) + 1 &&
	      offsetof(struct spt_meta, nr_children) ==
	      offsetof(struct spt_meta, usage) + 2);

/*
 * A run of leaves being stored (spt_cursor_map_run()): the template PTE
 * and where the next frame comes from.
 */
struct spt_leaf_run {
	const u64 *pas;		/* the next frames, or NULL: contiguous */
	u64 pa;			/* contiguous: the next frame */
	u64 attrs;		/* the leaf PTE without its address */
	u64 bad;		/* address bits no frame may have */
	unsigned int level;
	bool tracked;
	struct spt_meta_walk mw;
};

/*
 * The number of absent entries from @first on, up to @n (a node without
 * children is not read).
 */
static inline unsigned int spt_node_absent_run(const struct spt_node *node,
					       unsigned int first,
					       unsigned int n)
{
	const u64 *ptes = node->ptes + first;
	unsigned int i;

	if (!node->meta->nr_children)
		return n;
	for (i = 0; i < n && !spt_pte_present(READ_ONCE(ptes[i])); i++)
		;
	return i;
}

/*
 * Store the next @n leaves of @r into the absent entries [first, first + n)
 * of @node of @r->level, stopping before the first frame that may not be
 * mapped: an address with a bit of @r->bad, or a tracked frame that is no
 * DATA head of the level with a count in 1..MAX (one combined check;
 * spt_item_ok() in cursor.c is the field-by-field one).
 * Advances @r past the frames stored and returns how many: the child
 * count and the leaf count move once.
 */
unsigned int spt_node_fill_leaves(struct spt_pt *pt,
				  const struct spt_node *node,
				  unsigned int first, unsigned int n,
				  struct spt_leaf_run *r);

/*
 * allocate-if-absent: if the entry is absent, take the next node of @st,
 * lock it and publish it as the entry's child. Returns its pa, or 0 (and
 * takes nothing) if the entry is present or the node is of level 1.
 */
u64 spt_entry_alloc_if_absent(struct spt_entry *e, struct spt_pt *pt,
			      struct spt_node_stash *st);

/*
 * split-if-huge: if the entry is a huge leaf, take the next node of @st,
 * fill it with the 512 leaves that together map what the leaf maps (same
 * property), lock it and publish it in the leaf's place. Returns its pa,
 * or 0 if the entry is no huge leaf. References are the caller's
 * business.
 */
u64 spt_entry_split_if_huge(struct spt_entry *e, struct spt_pt *pt,
			    struct spt_node_stash *st);

/*
 * A removed pinned leaf @pte: one pinned leaf fewer, and its pin goes to
 * the table's unpin hook.
 */
void spt_leaf_unpin(struct spt_pt *pt, u64 pte, struct spt_flusher *fl);

/* Drop what a removed leaf @pte of @level held (tracked: one reference). */
void spt_leaf_release(struct spt_pt *pt, u64 pte, unsigned int level,
		      struct spt_flusher *fl);

/*
 * Clear the present 4 KiB leaves among entries [first, last) of the
 * level-1 @node and release what they held. Returns how many there were.
 */
unsigned int spt_node_clear_leaves(struct spt_pt *pt,
				   const struct spt_node *node,
				   unsigned int first, unsigned int last,
				   struct spt_flusher *fl);

/*
 * Release what the leaves of the level-1 @node held, leaving the entries
 * as they are (the node is unlinked and will be retired; its leaves stop
 * counting). Returns how many there were.
 */
unsigned int spt_node_release_leaves(struct spt_pt *pt,
				     const struct spt_node *node,
				     struct spt_flusher *fl);

/*
 * Tear down the subtree of the already unlinked node @pa of @level: release
 * every leaf and retire every node (unlocking them if @locked). Returns the
 * number of leaves.
 */
unsigned long spt_subtree_release(struct spt_pt *pt, u64 pa,
				  unsigned int level, struct spt_flusher *fl,
				  bool locked);

/*
 * The head slot of the tracked frame a leaf of @level at @pa maps into,
 * with its pa in *@head_pa; NULL if @pa is no frame of the right kind.
 */
struct spt_meta *spt_leaf_head(struct spt_pt *pt, u64 pa, unsigned int level,
			       u64 *head_pa);

/*
 * Copy the entries of @kernel_top outside [top_first, top_last] into the
 * new root @root (the shared kernel half; they are not its children).
 */
void spt_root_share_kernel_half(const struct spt_cfg *cfg,
				const struct spt_node *root,
				const u64 *kernel_top);

#endif /* SPT_CORE_ENTRY_H */
