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

/*
 * replace: store @pte, return the old PTE. nr_children follows the
 * present bit. What the old PTE held is the caller's.
 */
static inline u64 spt_entry_replace(struct spt_entry *e, u64 pte)
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
	return old;
}

/* clear: make the entry absent; returns the old PTE. */
static inline u64 spt_entry_clear(struct spt_entry *e)
{
	return spt_entry_replace(e, 0);
}

/*
 * Make the node @child_pa (its contents complete, locked by the caller
 * if it is to be) the child of the entry, which must be absent or a leaf
 * that @child_pa's leaves replace. Returns the old PTE.
 */
static inline u64 spt_entry_set_child(struct spt_entry *e, u64 child_pa)
{
	smp_wmb();	/* node contents before the entry that points at it */
	return spt_entry_replace(e, spt_pte_table(child_pa));
}

/* protect: apply @op to the property of a present leaf. */
static inline void spt_entry_protect(struct spt_entry *e,
				     const struct spt_cfg *cfg,
				     const struct spt_prot_op *op)
{
	unsigned int level = e->level;
	struct spt_prop prop;

	spt_pte_prop(cfg, e->pte, level, &prop);
	prop.flags = (prop.flags & ~op->clear) | op->set;
	if (op->cache >= 0)
		prop.cache = op->cache;
	/* Present stays present: nr_children does not change. */
	e->pte = spt_pte_leaf(cfg, spt_pte_leaf_pa(cfg, e->pte, level), level,
			      &prop, spt_pte_tracked(e->pte));
	WRITE_ONCE(e->node->ptes[e->idx], e->pte);
}

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

/* Drop what a removed leaf @pte of @level held (tracked: one reference). */
void spt_leaf_release(struct spt_pt *pt, u64 pte, unsigned int level,
		      struct spt_flusher *fl);

/*
 * Clear the present 4 KiB leaves among entries [first, last) of the
 * level-1 @node and release what they held. Returns how many there were.
 */
static inline unsigned int spt_node_clear_leaves(struct spt_pt *pt,
						 const struct spt_node *node,
						 unsigned int first,
						 unsigned int last,
						 struct spt_flusher *fl)
{
	u64 *ptes = node->ptes;
	unsigned int i, n = 0;

	for (i = first; i < last; i++) {
		u64 pte = READ_ONCE(ptes[i]);

		if (!spt_pte_present(pte))
			continue;
		WRITE_ONCE(ptes[i], 0);
		spt_leaf_release(pt, pte, 1, fl);
		n++;
	}
	if (!WARN_ON_ONCE(node->meta->nr_children < n))
		node->meta->nr_children -= n;
	return n;
}

/*
 * Release what the leaves of the level-1 @node held, leaving the entries
 * as they are (the node is unlinked and will be retired). Returns how
 * many there were.
 */
static inline unsigned int spt_node_release_leaves(struct spt_pt *pt,
						   const struct spt_node *node,
						   struct spt_flusher *fl)
{
	unsigned int i, n = 0;

	for (i = 0; i < SPT_NR_ENTRIES; i++) {
		u64 pte = READ_ONCE(node->ptes[i]);

		if (!spt_pte_present(pte))
			continue;
		spt_leaf_release(pt, pte, 1, fl);
		n++;
	}
	return n;
}

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
