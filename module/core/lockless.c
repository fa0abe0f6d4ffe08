// SPDX-License-Identifier: GPL-2.0
/*
 * Lockless reads of a page table (lockless.h): the MMU's walk, in
 * software, with no node lock and nothing written.
 *
 * Why it is safe without locks:
 *
 * - Memory. Every node address is read from a present entry inside an RCU
 *   read-side section. A node is freed only after it was unlinked (its
 *   parent's entry cleared or replaced under the parent's lock) and then
 *   an RCU grace period passed: cursors queue unlinked nodes on a flusher
 *   (spt_node_retire()), and what a flusher holds goes back to the pool
 *   only after a grace period (flush.c). A walker that read the address
 *   before the unlink is inside a section that began before that grace
 *   period, so the node stays valid memory (a page of the pool's chunks,
 *   which are not returned to the buddy allocator while a frame of them is
 *   in use or queued) until the walker leaves the section. An unlinked
 *   node still holds the entries it had (or entries cleared since): the
 *   walker reports the state before the unlink, which it could have seen
 *   a moment earlier anyway.
 *
 * - Contents. A node is published with its contents complete
 *   (spt_entry_set_child() orders them before the entry that points at
 *   it), and the walker reaches the node only through that entry
 *   (READ_ONCE: an address dependency, which also orders the reads on
 *   x86 and every other architecture Linux runs on). Entries are 64-bit
 *   words stored with WRITE_ONCE(): each read sees a whole old or new PTE.
 *
 * - Teardown. The root and every node of a destroyed table are queued on
 *   a flusher too, and freed after a grace period, like any unlinked node.
 *   The caller must know, inside its section, that the table was not yet
 *   being destroyed when the section began (the space's "dead" flag, read
 *   in the section: a destroy sets it before it tears the table down, and
 *   the grace period before the free then waits for every section that
 *   did not see it). A walk that overlaps the teardown may find the
 *   root address already 0: it then sees nothing mapped, and the caller,
 *   reading "dead" again after the walk, knows why. The table's struct
 *   itself is the caller's to keep alive (a reference on its space, or a
 *   space freed only after a grace period).
 *
 * Nothing here writes to a node, takes a lock or sleeps.
 */
#include "internal.h"
#include "lockless.h"

static inline u64 *spt_lockless_node(const struct spt_pt *pt, u64 pte)
{
	return spt_node_ptes(pt, spt_pte_table_pa(pt->cfg, pte));
}

void spt_lockless_query(const struct spt_pt *pt, u64 va, struct spt_query *q)
{
	const struct spt_cfg *cfg = pt->cfg;
	unsigned int level = cfg->levels;
	/* log2 of the span of one entry of @level. */
	unsigned int shift = spt_node_shift(level - 1);
	u64 root = READ_ONCE(pt->root_pa), pte = 0, size, rsvd = 0;
	const u64 *ptes = spt_node_ptes(pt, root);
	u32 deny = 0;

	if (unlikely(!root))	/* torn down: nothing is mapped */
		goto found;

	/* Above level 1, a present entry without PS is a node. */
	for (; level > 1; level--, shift -= 9) {
		pte = READ_ONCE(ptes[(va >> shift) & (SPT_NR_ENTRIES - 1)]);
		if ((pte & (SPT_PTE_P | SPT_PTE_PS)) != SPT_PTE_P)
			goto found;
		/* The walk's permission: see spt_pte_walk_deny(). */
		deny |= spt_pte_walk_deny(pte);
		rsvd |= spt_pte_rsvd(pte);
		ptes = spt_lockless_node(pt, pte);
	}
	pte = READ_ONCE(ptes[(va >> shift) & (SPT_NR_ENTRIES - 1)]);
found:
	size = BIT_ULL(shift);
	q->va_start = va & ~(size - 1);
	q->va_end = q->va_start + size;
	q->level = level;
	q->mapped = spt_pte_present(pte);
	if (q->mapped)
		rsvd |= spt_pte_rsvd(pte);
	q->rsvd = rsvd;
	if (unlikely(!q->mapped)) {
		memset(&q->item, 0, sizeof(q->item));
		memset(&q->prop, 0, sizeof(q->prop));
		return;
	}
	q->item.pa = pte & cfg->pa_mask & ~(size - 1);
	q->item.level = level;
	q->item.tracked = spt_pte_tracked(pte);
	q->item.pinned = spt_pte_pinned(pte);
	spt_pte_prop(cfg, pte, level, &q->prop);
	q->prop.flags &= ~deny;
	q->pkey = spt_pte_pkey(pte);
}

void spt_lockless_begin(struct spt_lockless_walk *w, const struct spt_pt *pt,
			u64 va, u64 end)
{
	unsigned int top = pt->cfg->levels;
	u64 root = READ_ONCE(pt->root_pa);

	w->pt = pt;
	w->va = va;
	w->end = end;
	w->top = top;
	w->level = top;
	w->ptes[top - 1] = spt_node_ptes(pt, root);
	w->base[top - 1] = 0;
	if (unlikely(!root))	/* torn down: no walk */
		w->end = va;
}

bool spt_lockless_stretch(struct spt_lockless_walk *w,
			  struct spt_lockless_stretch *st)
{
	const struct spt_pt *pt = w->pt;
	unsigned int level = w->level, idx;
	u64 va = w->va, left;

	if (va >= w->end)
		return false;
	/* Up to the lowest node on the path whose span still holds va. */
	while (level < w->top &&
	       ((va ^ w->base[level - 1]) >> spt_node_shift(level)))
		level++;
	for (;;) {
		u64 pte;

		idx = spt_index(va, level);
		if (level == 1)
			break;
		pte = READ_ONCE(w->ptes[level - 1][idx]);
		if (!spt_pte_present(pte) || spt_pte_is_leaf(pte, level))
			break;
		level--;
		w->ptes[level - 1] = spt_lockless_node(pt, pte);
		w->base[level - 1] = va & ~(BIT_ULL(spt_node_shift(level)) - 1);
	}
	w->level = level;
	st->ptes = &w->ptes[level - 1][idx];
	st->level = level;
	st->va = spt_entry_base(va, level);
	/* Entries from idx that meet [va, end). */
	left = (w->end - st->va + spt_level_size(level) - 1) >>
	       (SPT_PAGE_SHIFT + 9 * (level - 1));
	st->nr = min_t(u64, SPT_NR_ENTRIES - idx, left);
	return true;
}

/* The SPT_QPAGE_* bits of the leaf @pte of @level, but its address. */
static u64 spt_lockless_attrs(const struct spt_cfg *cfg, u64 pte,
			      unsigned int level)
{
	struct spt_prop prop;

	spt_pte_prop(cfg, pte, level, &prop);
	return SPT_QUERY_MAPPED |
	       (spt_pte_tracked(pte) ? SPT_QUERY_TRACKED : 0) |
	       (u64)(prop.flags & SPT_PROT_ALL) << SPT_QPAGE_PROT_SHIFT |
	       (u64)level << SPT_QPAGE_LEVEL_SHIFT |
	       (u64)prop.cache << SPT_QPAGE_CACHE_SHIFT;
}

/*
 * The entries of a level-1 stretch, one word each: the loop of the
 * compact mode. The attributes (and whether the address bits are kept)
 * are computed again only when a PTE's bits other than its address differ
 * from the last entry's: a run of like leaves costs a load, a compare and
 * a store per page. An absent entry's bits are never those of a present
 * one (P differs), so it gets the word 0.
 */
struct spt_lockless_like {
	u64 mask, last, attrs, keep;
};

static __always_inline u64 spt_lockless_word(const struct spt_cfg *cfg,
					     struct spt_lockless_like *l,
					     u64 pte)
{
	if (unlikely((pte & ~l->mask) != l->last)) {
		l->last = pte & ~l->mask;
		l->keep = spt_pte_present(pte) ? l->mask : 0;
		l->attrs = l->keep ? spt_lockless_attrs(cfg, pte, 1) : 0;
	}
	return l->attrs | (pte & l->keep);
}

static unsigned int spt_lockless_ptes(const struct spt_cfg *cfg,
				      const u64 *ptes, unsigned int nr,
				      u64 *out)
{
	struct spt_lockless_like l = { .mask = cfg->pa_mask };
	unsigned int i;

	/* Two at a time: the loop's own cost is shared by two pages. */
	for (i = 0; i + 1 < nr; i += 2) {
		out[i] = spt_lockless_word(cfg, &l, READ_ONCE(ptes[i]));
		out[i + 1] = spt_lockless_word(cfg, &l, READ_ONCE(ptes[i + 1]));
	}
	if (i < nr)
		out[i] = spt_lockless_word(cfg, &l, READ_ONCE(ptes[i]));
	return nr;
}

unsigned int spt_lockless_pages(struct spt_lockless_walk *w, u64 *out,
				unsigned int cap, unsigned int budget)
{
	const struct spt_cfg *cfg = w->pt->cfg;
	struct spt_lockless_stretch st;
	unsigned int n = 0;

	while (n < cap && budget && spt_lockless_stretch(w, &st)) {
		u64 size = spt_level_size(st.level);
		unsigned int i;

		if (st.level == 1) {
			i = min(st.nr, cap - n);
			n += spt_lockless_ptes(cfg, st.ptes, i, out + n);
			w->va += (u64)i << SPT_PAGE_SHIFT;
			budget -= min(budget, i);
			continue;
		}
		for (i = 0; i < st.nr && n < cap && budget; i++, budget--) {
			u64 pte = READ_ONCE(st.ptes[i]);
			u64 base = st.va + i * size, va = w->va;
			u64 end = min(base + size, w->end), pa, k, pages;

			if (spt_pte_present(pte) &&
			    !spt_pte_is_leaf(pte, st.level))
				break;	/* a child: the next stretch */
			pages = min_t(u64, (end - va) >> SPT_PAGE_SHIFT,
				      cap - n);
			if (!spt_pte_present(pte)) {
				memset(out + n, 0, pages * sizeof(*out));
			} else {
				pa = spt_pte_leaf_pa(cfg, pte, st.level) +
				     (va - base);
				pa |= spt_lockless_attrs(cfg, pte, st.level);
				for (k = 0; k < pages; k++)
					out[n + k] = pa + (k << SPT_PAGE_SHIFT);
			}
			n += pages;
			w->va = va + (pages << SPT_PAGE_SHIFT);
		}
	}
	return n;
}

/* Emit the pending run into @r->out: false if there is no room. */
static bool spt_lockless_emit(struct spt_lockless_runs *r)
{
	if (r->nr == r->cap)
		return false;
	r->out[r->nr++] = r->run;
	r->pending = false;
	return true;
}

void spt_lockless_runs(struct spt_lockless_walk *w,
		       struct spt_lockless_runs *r, unsigned int budget)
{
	const struct spt_cfg *cfg = w->pt->cfg;
	struct spt_lockless_stretch st;
	struct spt_query_run *run = &r->run;

	while (budget && spt_lockless_stretch(w, &st)) {
		u64 size = spt_level_size(st.level);
		unsigned int i;

		for (i = 0; i < st.nr && budget; i++, budget--) {
			u64 pte = READ_ONCE(st.ptes[i]);
			u64 base = st.va + i * size, va = w->va;
			u64 end = min(base + size, w->end), pa, attrs;

			if (!spt_pte_present(pte)) {
				w->va = end;
				continue;
			}
			if (!spt_pte_is_leaf(pte, st.level))
				break;	/* a child: the next stretch */
			pa = spt_pte_leaf_pa(cfg, pte, st.level) + (va - base);
			attrs = spt_lockless_attrs(cfg, pte, st.level);
			if (r->pending && va == run->end && attrs == r->attrs &&
			    pa == run->pa + (run->end - run->start)) {
				run->end = end;
				w->va = end;
				continue;
			}
			if (r->pending && !spt_lockless_emit(r))
				return;	/* full: resume at this leaf */
			*run = (struct spt_query_run) {
				.start = va, .end = end, .pa = pa,
				.level = st.level,
				.prot = (attrs >> SPT_QPAGE_PROT_SHIFT) & 0x3f,
				.cache = (attrs >> SPT_QPAGE_CACHE_SHIFT) & 0x7,
				.flags = attrs & (SPT_QUERY_MAPPED |
						  SPT_QUERY_TRACKED),
			};
			r->attrs = attrs;
			r->pending = true;
			w->va = end;
		}
	}
	if (w->va >= w->end && r->pending)
		spt_lockless_emit(r);
}
