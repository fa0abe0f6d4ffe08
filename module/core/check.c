// SPDX-License-Identifier: GPL-2.0
/*
 * The invariant walk (spt_pt_check) and the node/leaf counts.
 *
 * The walk runs in two passes over the managed range, recursing at most
 * once per level and allocating nothing:
 *
 * 1. Structure: every entry against the rules listed in pt.h, stopping at
 *    the first violation. Each node reached is marked with
 *    SPT_META_SEEN_BIT (a node found marked is reachable twice), and with
 *    expect_refs each tracked leaf adds one to its head slot's ->word (an
 *    in-use data head otherwise keeps 0 there).
 * 2. Settling: the nodes marked in pass 1 are walked again, clearing the
 *    marks; at the first leaf of each tallied frame, the frame's refcount
 *    is compared with the tally plus its handles, and the tally is reset.
 *    Pass 2 always runs, so a failed check leaves no marks or tallies.
 *
 * The caller keeps the table still meanwhile (a cursor over the whole
 * range, or no concurrent user).
 */
#include "internal.h"

struct spt_checker {
	struct spt_walk walk;
	struct spt_pt *pt;
	const struct spt_cfg *cfg;
	bool expect_refs;
	u32 (*handles)(u64 pa, void *arg);
	void *arg;
	char *msg;
	size_t msg_len;
	int err;
	/* Pass 1: present entries seen so far in the node of each level. */
	unsigned int present[SPT_MAX_LEVELS];
};

static inline struct spt_checker *spt_check_of(struct spt_walk *w)
{
	return container_of(w, struct spt_checker, walk);
}

/* Record the first violation (at the entry for @va in a node of @level). */
#define spt_check_fail(ck, va, level, fmt, ...)				\
({									\
	struct spt_checker *__ck = (ck);				\
									\
	if (!__ck->err && __ck->msg && __ck->msg_len)			\
		snprintf(__ck->msg, __ck->msg_len,			\
			 "va 0x%llx level %u: " fmt,			\
			 (unsigned long long)(va), (unsigned int)(level), \
			 ##__VA_ARGS__);				\
	__ck->err = -EUCLEAN;						\
	-EUCLEAN;							\
})

/*
 * A pinned leaf (SPT_MAP_USER): 4 KiB, untracked, no pool frame, writable
 * only if pinned writable; PIN_W only with PINNED.
 */
static int spt_check_pinned(struct spt_checker *ck, u64 pte,
			    unsigned int level, u64 va)
{
	u64 pa = spt_pte_leaf_pa(ck->cfg, pte, level);

	if (!spt_pte_pinned(pte) || level != 1 || spt_pte_tracked(pte))
		return spt_check_fail(ck, va, level,
				      "leaf 0x%llx: bad pinned bits", pte);
	if ((pte & SPT_PTE_RW) && !(pte & SPT_PTE_PIN_W))
		return spt_check_fail(ck, va, level,
				      "pinned leaf 0x%llx is writable, pinned read-only",
				      pte);
	if (spt_pool_meta(ck->pt->pool, pa))
		return spt_check_fail(ck, va, level,
				      "pinned leaf maps pool frame 0x%llx",
				      pa);
	return 0;
}

static int spt_check_leaf(struct spt_checker *ck, u64 pte, unsigned int level,
			  u64 va)
{
	const struct spt_cfg *cfg = ck->cfg;
	struct spt_meta *m, *head;
	u64 bad, pa, hpa;
	u32 ref;

	if (level > SPT_MAX_LEAF_LEVEL)
		return spt_check_fail(ck, va, level,
				      "leaf entry 0x%llx above level %u", pte,
				      SPT_MAX_LEAF_LEVEL);
	bad = pte & ~spt_pte_leaf_allowed(cfg, level);
	/* Marked: the deliberate bits of SPT_IOCTL_ENTRY_BITS (pte.h). */
	if (pte & SPT_PTE_MARK)
		bad &= ~(SPT_PTE_MARK | SPT_PTE_AVL | SPT_PTE_RSVD |
			 (level == 1 ? SPT_PTE_PKEY : 0));
	if (bad)
		return spt_check_fail(ck, va, level,
				      "leaf 0x%llx has reserved bits 0x%llx",
				      pte, bad);
	if (pte & SPT_PTE_G)
		return spt_check_fail(ck, va, level,
				      "leaf 0x%llx is global in the managed range",
				      pte);
	if (!(pte & SPT_PTE_MARK) &&
	    spt_pte_cache(cfg, pte, level) >= SPT_CACHE_NR)
		return spt_check_fail(ck, va, level,
				      "leaf 0x%llx has the cache bits of no policy",
				      pte);
	if (pte & (SPT_PTE_PINNED | SPT_PTE_PIN_W))
		return spt_check_pinned(ck, pte, level, va);
	if (!spt_pte_tracked(pte))
		return 0;
	pa = spt_pte_leaf_pa(cfg, pte, level);
	m = spt_pool_meta(ck->pt->pool, pa);
	if (!m)
		return spt_check_fail(ck, va, level,
				      "tracked leaf maps pa 0x%llx outside the pool",
				      pa);
	if (level == SPT_MAX_LEAF_LEVEL)
		return spt_check_fail(ck, va, level,
				      "tracked leaf of level %u", level);
	head = spt_leaf_head(ck->pt, pa, level, &hpa);
	if (!head)
		return spt_check_fail(ck, va, level,
				      "tracked leaf maps slot of usage %u level %u, expected DATA/TAIL of level %s",
				      m->usage, m->level,
				      level == 1 ? "1 or 2" : "2");
	ref = spt_meta_ref(head);
	if (ref - 1 >= SPT_REF_MAX)
		return spt_check_fail(ck, va, level,
				      "tracked frame 0x%llx has refcount 0x%x",
				      hpa, ref);
	if (ck->expect_refs)
		head->word++;
	return 0;
}

static int spt_check_leaf_entry(struct spt_walk *w, struct spt_entry *e,
				u64 va)
{
	struct spt_checker *ck = spt_check_of(w);
	unsigned int level = e->level;

	ck->present[level - 1]++;
	return spt_check_leaf(ck, e->pte, level, va);
}

static int spt_check_hole(struct spt_walk *w, struct spt_entry *e, u64 va)
{
	return spt_check_fail(spt_check_of(w), va, e->level,
			      "absent entry 0x%llx is not zero", e->pte);
}

/* A non-leaf entry and the node it points at, before the node's entries. */
static int spt_check_enter(struct spt_walk *w, struct spt_entry *e,
			   struct spt_node *child, u64 va)
{
	struct spt_checker *ck = spt_check_of(w);
	const struct spt_cfg *cfg = ck->cfg;
	unsigned int level = e->level;
	u64 need = SPT_PTE_P | SPT_PTE_RW | SPT_PTE_US;
	u64 pte = e->pte, pa = child->pa;
	u64 bad = pte & ~(cfg->pa_mask | SPT_PTE_TABLE);
	struct spt_meta *m = child->meta;
	u32 ref;

	ck->present[level - 1]++;
	/* Marked: the deliberate bits of SPT_IOCTL_ENTRY_BITS (pte.h). */
	if (pte & SPT_PTE_MARK) {
		bad &= ~(SPT_PTE_MARK | SPT_PTE_AVL | SPT_PTE_RSVD |
			 SPT_PTE_NX | SPT_PTE_PWT | SPT_PTE_PCD);
		need = SPT_PTE_P;
	}
	if (bad)
		return spt_check_fail(ck, va, level,
				      "non-leaf entry 0x%llx has bits 0x%llx",
				      pte, bad);
	if ((pte & need) != need)
		return spt_check_fail(ck, va, level,
				      "non-leaf entry 0x%llx lacks RW or US",
				      pte);
	if (!m)
		return spt_check_fail(ck, va, level,
				      "entry points to pa 0x%llx outside the pool",
				      pa);
	if (m->usage != SPT_USAGE_PT)
		return spt_check_fail(ck, va, level,
				      "entry points to slot of usage %u, expected PT",
				      m->usage);
	if (m->level != level - 1)
		return spt_check_fail(ck, va, level,
				      "entry points to a node of level %u, expected %u",
				      m->level, level - 1);
	ref = spt_meta_ref(m);
	if (ref != 1)
		return spt_check_fail(ck, va, level,
				      "node 0x%llx has refcount 0x%x, expected 1",
				      pa, ref);
	if (spt_node_is_stray(m))
		return spt_check_fail(ck, va, level,
				      "entry points to stray node 0x%llx", pa);
	if (test_and_set_bit(SPT_META_SEEN_BIT, &m->word))
		return spt_check_fail(ck, va, level,
				      "node 0x%llx is reachable twice", pa);
	ck->present[level - 2] = 0;
	return 0;
}

/* A node's count of children against what pass 1 found in it. */
static int spt_check_count(struct spt_checker *ck, const struct spt_node *node,
			   u64 base, bool root)
{
	unsigned int level = node->level, present = ck->present[level - 1];

	if (node->meta->nr_children != present)
		return spt_check_fail(ck, base, level,
				      "node 0x%llx counts %u children but has %u",
				      node->pa, node->meta->nr_children,
				      present);
	if (!root && !present)
		return spt_check_fail(ck, base, level,
				      "node 0x%llx is empty", node->pa);
	return 0;
}

static int spt_check_leave(struct spt_walk *w, struct spt_entry *e,
			   struct spt_node *child, u64 va)
{
	return spt_check_count(spt_check_of(w), child, va, false);
}

/* Pass 1: the structure. */
static const struct spt_walk_ops spt_check_ops = {
	.leaf = spt_check_leaf_entry,
	.hole = spt_check_hole,
	.enter = spt_check_enter,
	.leave = spt_check_leave,
};

/* Pass 2: go only into the nodes pass 1 marked, clearing the marks. */
static int spt_settle_enter(struct spt_walk *w, struct spt_entry *e,
			    struct spt_node *child, u64 va)
{
	struct spt_meta *m = child->meta;

	if (!m || m->usage != SPT_USAGE_PT || m->level != child->level ||
	    !test_and_clear_bit(SPT_META_SEEN_BIT, &m->word))
		return SPT_WALK_SKIP;
	return 0;
}

/* Pass 2: compare a tallied frame's refcount, at its first leaf. */
static int spt_settle_leaf(struct spt_walk *w, struct spt_entry *e, u64 va)
{
	struct spt_checker *ck = spt_check_of(w);
	unsigned int level = e->level;
	u64 pte = e->pte, lpa, hpa;
	struct spt_meta *m;
	unsigned long tally;
	u32 ref, h;

	if (!ck->expect_refs || !spt_pte_tracked(pte) ||
	    level >= SPT_MAX_LEAF_LEVEL)
		return 0;
	lpa = spt_pte_leaf_pa(ck->cfg, pte, level);
	m = spt_leaf_head(ck->pt, lpa, level, &hpa);
	if (!m || !m->word || spt_meta_ref(m) - 1 >= SPT_REF_MAX)
		return 0;
	tally = m->word;
	m->word = 0;
	ref = spt_meta_ref(m);
	h = ck->handles ? ck->handles(hpa, ck->arg) : 0;
	if (ref != tally + h)
		(void)spt_check_fail(ck, va, level,
			       "tracked frame 0x%llx has refcount %u, expected %lu (%lu PTEs + %u handles)",
			       hpa, ref, tally + h, tally, h);
	return 0;
}

static const struct spt_walk_ops spt_settle_ops = {
	.leaf = spt_settle_leaf,
	.enter = spt_settle_enter,
};

/* The (canonical) address of root entry @i. */
static u64 spt_root_entry_va(const struct spt_cfg *cfg, unsigned int i)
{
	unsigned int width = spt_node_shift(cfg->levels);
	u64 va = (u64)i << spt_node_shift(cfg->levels - 1);

	if (va & (1ULL << (width - 1)))
		va |= ~((1ULL << width) - 1);
	return va;
}

/* @nr counters of a table (@what, index L - 1) against a walk's counts. */
static int spt_check_counter(struct spt_checker *ck, const char *what,
			     const atomic_long_t *kept, const u64 *walked,
			     unsigned int nr)
{
	unsigned int i;

	for (i = 0; i < nr; i++) {
		long n = atomic_long_read(&kept[i]);

		if (n < 0 || (u64)n != walked[i])
			return spt_check_fail(ck, 0ULL, i + 1,
					      "%s counter %ld, a walk finds %llu",
					      what, n, walked[i]);
	}
	return 0;
}

/* The table's node and leaf counters against a walk. */
static int spt_check_counters(struct spt_checker *ck)
{
	struct spt_pt_counts walked;

	spt_pt_count(ck->pt, &walked);
	return spt_check_counter(ck, "node", ck->pt->nr_level_nodes,
				 walked.nodes, SPT_MAX_LEVELS) ?:
	       spt_check_counter(ck, "leaf", ck->pt->nr_leaves, walked.leaves,
				 SPT_MAX_LEAF_LEVEL) ?:
	       spt_check_counter(ck, "pinned", &ck->pt->nr_pinned,
				 &walked.pinned, 1);
}

/*
 * Pass 1 over one table: its root, kernel half and structure, tallying
 * its tracked leaves (with expect_refs) in their heads. The root is left
 * marked for spt_check_settle().
 */
static void spt_check_table(struct spt_checker *ck, const u64 *kernel_top)
{
	struct spt_pt *pt = ck->pt;
	const struct spt_cfg *cfg = pt->cfg;
	unsigned int levels = cfg->levels, i;
	u64 start = spt_cfg_managed_start(cfg), end = spt_cfg_user_end(cfg);
	struct spt_node root;
	struct spt_meta *m;
	u64 *ptes;

	m = pt->root_pa ? spt_node_meta(pt, pt->root_pa) : NULL;
	if (!m) {
		spt_check_fail(ck, 0ULL, levels,
			       "root 0x%llx is not a pool frame", pt->root_pa);
		return;
	}
	if (m->usage != SPT_USAGE_PT || m->level != levels ||
	    spt_meta_ref(m) != 1 || spt_node_is_stray(m)) {
		spt_check_fail(ck, 0ULL, levels,
			       "root slot has usage %u level %u refcount 0x%x word 0x%lx",
			       m->usage, m->level, spt_meta_ref(m), m->word);
		return;
	}
	ptes = spt_node_ptes(pt, pt->root_pa);
	if (kernel_top) {
		for (i = 0; i < SPT_NR_ENTRIES; i++) {
			if (i >= cfg->top_first && i <= cfg->top_last)
				continue;
			if (READ_ONCE(ptes[i]) != kernel_top[i]) {
				spt_check_fail(ck, spt_root_entry_va(cfg, i),
					       levels,
					       "kernel-half entry 0x%llx differs from the kernel's 0x%llx",
					       READ_ONCE(ptes[i]),
					       kernel_top[i]);
				return;
			}
		}
	}
	spt_node_view(pt, pt->root_pa, levels, &root);
	set_bit(SPT_META_SEEN_BIT, &m->word);
	ck->present[levels - 1] = 0;
	ck->walk.ops = &spt_check_ops;
	ck->walk.pt = pt;
	if (!spt_walk_range(&ck->walk, &root, start, end))
		spt_check_count(ck, &root, 0, true);
}

/*
 * Pass 2 over one table that pass 1 reached: compare and reset the
 * tallies, clear the marks, and check the table's counters.
 */
static void spt_check_settle(struct spt_checker *ck, bool counters)
{
	struct spt_pt *pt = ck->pt;
	const struct spt_cfg *cfg = pt->cfg;
	struct spt_node root;
	struct spt_meta *m;

	m = pt->root_pa ? spt_node_meta(pt, pt->root_pa) : NULL;
	if (!m || m->usage != SPT_USAGE_PT ||
	    !test_bit(SPT_META_SEEN_BIT, &m->word))
		return;
	spt_node_view(pt, pt->root_pa, cfg->levels, &root);
	ck->walk.ops = &spt_settle_ops;
	ck->walk.pt = pt;
	spt_walk_range(&ck->walk, &root, spt_cfg_managed_start(cfg),
		       spt_cfg_user_end(cfg));
	clear_bit(SPT_META_SEEN_BIT, &m->word);
	if (!ck->err && counters)
		spt_check_counters(ck);
}

int spt_pt_check(struct spt_pt *pt, const u64 *kernel_top, bool expect_refs,
		 u32 (*handles)(u64 pa, void *arg), void *arg, char *msg,
		 size_t msg_len)
{
	struct spt_checker ck = {
		.walk = { .ops = &spt_check_ops, .pt = pt },
		.pt = pt, .cfg = pt->cfg, .expect_refs = expect_refs,
		.handles = handles, .arg = arg, .msg = msg, .msg_len = msg_len,
	};

	if (msg && msg_len)
		msg[0] = '\0';
	spt_check_table(&ck, kernel_top);
	spt_check_settle(&ck, true);
	return ck.err;
}

int spt_pt_check_many(struct spt_pt *const *pts, const u64 *const *kernel_tops,
		      unsigned int n, u32 (*handles)(u64 pa, void *arg),
		      void *arg, char *msg, size_t msg_len,
		      unsigned int *bad)
{
	struct spt_checker ck = {
		.expect_refs = true, .handles = handles, .arg = arg,
		.msg = msg, .msg_len = msg_len,
	};
	unsigned int i, reached = 0;

	*bad = 0;
	if (msg && msg_len)
		msg[0] = '\0';
	/* Pass 1 over every table first: the tallies sum all their PTEs. */
	for (i = 0; i < n && !ck.err; i++, reached++) {
		ck.pt = pts[i];
		ck.cfg = pts[i]->cfg;
		spt_check_table(&ck, kernel_tops[i]);
		if (ck.err)
			*bad = i;
	}
	/* Then each frame is settled at its first leaf, in any table. */
	for (i = 0; i < reached; i++) {
		int err = ck.err;

		ck.pt = pts[i];
		ck.cfg = pts[i]->cfg;
		spt_check_settle(&ck, true);
		if (!err && ck.err)
			*bad = i;
	}
	return ck.err;
}

struct spt_count {
	struct spt_walk walk;
	struct spt_pt_counts *counts;
};

static int spt_count_enter(struct spt_walk *w, struct spt_entry *e,
			   struct spt_node *child, u64 va)
{
	struct spt_count *ct = container_of(w, struct spt_count, walk);
	struct spt_meta *m = child->meta;

	/* Levels strictly decrease: no cycle to follow. */
	if (!m || m->usage != SPT_USAGE_PT || m->level != child->level)
		return SPT_WALK_SKIP;
	ct->counts->nodes[child->level - 1]++;
	return 0;
}

static int spt_count_leaf(struct spt_walk *w, struct spt_entry *e, u64 va)
{
	struct spt_count *ct = container_of(w, struct spt_count, walk);
	unsigned int level = e->level;

	if (level <= SPT_MAX_LEAF_LEVEL)
		ct->counts->leaves[level - 1]++;
	if (spt_pte_pinned(e->pte))
		ct->counts->pinned++;
	return 0;
}

static const struct spt_walk_ops spt_count_ops = {
	.leaf = spt_count_leaf,
	.enter = spt_count_enter,
};

void spt_pt_count(struct spt_pt *pt, struct spt_pt_counts *counts)
{
	struct spt_count ct = {
		.walk = { .ops = &spt_count_ops, .pt = pt }, .counts = counts,
	};
	struct spt_node root;

	memset(counts, 0, sizeof(*counts));
	if (!pt->root_pa)
		return;
	spt_node_view(pt, pt->root_pa, pt->cfg->levels, &root);
	counts->nodes[root.level - 1]++;
	spt_walk_range(&ct.walk, &root, spt_cfg_managed_start(pt->cfg),
		       spt_cfg_user_end(pt->cfg));
}
