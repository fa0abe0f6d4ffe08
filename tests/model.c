// SPDX-License-Identifier: GPL-2.0
/* The fuzzer's reference model: see model.h. */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "model.h"

void model_init(struct model *m, unsigned int levels, u64 user_end)
{
	memset(m, 0, sizeof(*m));
	m->levels = levels;
	m->user_end = user_end;
	u64map_init(&m->ptes);
}

void model_free(struct model *m)
{
	free(m->v);
	free(m->zeroed);
	u64map_free(&m->ptes);
	memset(m, 0, sizeof(*m));
}

void model_reset(struct model *m)
{
	m->n = 0;
	m->nr_zeroed = 0;
	u64map_clear(&m->ptes);
}

static void model_reserve(struct model *m, size_t more)
{
	if (m->n + more <= m->cap)
		return;
	while (m->n + more > m->cap)
		m->cap = m->cap ? m->cap * 2 : 1024;
	m->v = realloc(m->v, m->cap * sizeof(*m->v));
	if (!m->v) {
		fprintf(stderr, "model: out of memory\n");
		abort();
	}
}

size_t model_lower(const struct model *m, u64 va)
{
	size_t lo = 0, hi = m->n;

	while (lo < hi) {
		size_t mid = lo + (hi - lo) / 2;

		if (mleaf_end(&m->v[mid]) > va)
			hi = mid;
		else
			lo = mid + 1;
	}
	return lo;
}

struct mleaf *model_find(struct model *m, u64 va)
{
	size_t i = model_lower(m, va);

	if (i < m->n && m->v[i].va <= va)
		return &m->v[i];
	return NULL;
}

bool model_find_next(struct model *m, u64 va, u64 end, u64 *at)
{
	size_t i;

	if (va >= end)
		return false;
	i = model_lower(m, va);
	if (i < m->n && m->v[i].va < end) {
		*at = m->v[i].va > va ? m->v[i].va : va;
		return true;
	}
	return false;
}

/* Replace leaf @i by its 512 children. */
static void model_split(struct model *m, size_t i)
{
	struct mleaf l = m->v[i];
	u64 cs = spt_level_size(l.level - 1);
	size_t k;

	model_reserve(m, SPT_NR_ENTRIES - 1);
	memmove(&m->v[i + SPT_NR_ENTRIES], &m->v[i + 1],
		(m->n - i - 1) * sizeof(*m->v));
	for (k = 0; k < SPT_NR_ENTRIES; k++) {
		struct mleaf *c = &m->v[i + k];

		*c = l;
		c->level = l.level - 1;
		c->va = l.va + k * cs;
		c->pa = l.pa + k * cs;
	}
	m->n += SPT_NR_ENTRIES - 1;
	m->nr_splits++;
	if (l.tracked)
		u64map_add(&m->ptes, l.frame, SPT_NR_ENTRIES - 1);
}

/*
 * Split the leaf containing @x (which must be mapped, lo <= x < hi) until
 * it lies within [lo, hi). Returns its index.
 */
static size_t model_split_to(struct model *m, u64 x, u64 lo, u64 hi)
{
	size_t i = model_lower(m, x);

	for (;;) {
		struct mleaf *l = &m->v[i];
		size_t off;

		if (l->va >= lo && mleaf_end(l) <= hi)
			return i;
		off = (x - l->va) / spt_level_size(l->level - 1);
		model_split(m, i);
		i += off;
	}
}

unsigned long model_unmap(struct model *m, u64 a, u64 b)
{
	struct mleaf *l;
	size_t i, j, k;

	if (a >= b)
		return 0;
	l = model_find(m, a);
	if (l && l->va < a)
		model_split_to(m, a, a, b);
	l = model_find(m, b - SPT_PAGE_SIZE);
	if (l && mleaf_end(l) > b)
		model_split_to(m, b - SPT_PAGE_SIZE, a, b);
	i = model_lower(m, a);
	for (j = i; j < m->n && m->v[j].va < b; j++)
		;
	if (j == i)
		return 0;
	m->removed_lo = m->v[i].va;
	m->removed_hi = mleaf_end(&m->v[j - 1]);
	for (k = i; k < j; k++) {
		const struct mleaf *l = &m->v[k];

		if (!l->tracked)
			continue;
		u64map_add(&m->ptes, l->frame, -1);
		if (u64map_get(&m->ptes, l->frame))
			continue;
		if (m->nr_zeroed == m->zeroed_cap) {
			m->zeroed_cap = m->zeroed_cap ? m->zeroed_cap * 2 : 64;
			m->zeroed = realloc(m->zeroed, m->zeroed_cap *
					    sizeof(*m->zeroed));
			if (!m->zeroed)
				abort();
		}
		m->zeroed[m->nr_zeroed].frame = l->frame;
		m->zeroed[m->nr_zeroed++].flevel = l->flevel;
	}
	memmove(&m->v[i], &m->v[j], (m->n - j) * sizeof(*m->v));
	m->n -= j - i;
	return j - i;
}

unsigned long model_map(struct model *m, const struct mleaf *l)
{
	unsigned long replaced = model_unmap(m, l->va, mleaf_end(l));
	size_t i = model_lower(m, l->va);

	model_reserve(m, 1);
	memmove(&m->v[i + 1], &m->v[i], (m->n - i) * sizeof(*m->v));
	m->v[i] = *l;
	m->n++;
	if (l->tracked)
		u64map_add(&m->ptes, l->frame, 1);
	return replaced;
}

int model_protect_next(struct model *m, u64 va, u64 len, u8 set, u8 clear,
		       int cache, u64 *start, u64 *end)
{
	struct mleaf *l;
	u64 x;
	size_t i;

	if (!model_find_next(m, va, va + len, &x))
		return 0;
	i = model_split_to(m, x, va, va + len);
	l = &m->v[i];
	l->flags = (l->flags & ~clear) | set;
	if (cache >= 0)
		l->cache = (u8)cache;
	*start = l->va;
	*end = mleaf_end(l);
	return 1;
}

/* Does the node of level @k (< levels) whose span contains @va exist? */
static bool model_node_exists(const struct model *m, u64 va, unsigned int k)
{
	u64 span = spt_level_size(k + 1);
	u64 lo = va & ~(span - 1);
	size_t i = model_lower(m, lo);

	/* A leaf of level > k there would cover the whole span. */
	return i < m->n && m->v[i].va < lo + span && m->v[i].level <= k;
}

unsigned int model_absent_level(const struct model *m, u64 va)
{
	unsigned int k;

	for (k = 1; k < m->levels; k++)
		if (model_node_exists(m, va, k))
			return k;
	return m->levels;
}

void model_counts(const struct model *m, struct spt_pt_counts *cn)
{
	u64 last[SPT_MAX_LEVELS];
	unsigned int k;
	size_t i;

	memset(cn, 0, sizeof(*cn));
	for (k = 0; k < SPT_MAX_LEVELS; k++)
		last[k] = ~0ULL;
	cn->nodes[m->levels - 1] = 1;
	for (i = 0; i < m->n; i++) {
		const struct mleaf *l = &m->v[i];

		cn->leaves[l->level - 1]++;
		for (k = l->level; k < m->levels; k++) {
			u64 node = l->va & ~(spt_level_size(k + 1) - 1);

			if (node != last[k - 1]) {
				last[k - 1] = node;
				cn->nodes[k - 1]++;
			}
		}
	}
}

unsigned int model_largest_level(u64 va, u64 pa, u64 len,
				 unsigned int max_level)
{
	unsigned int level = max_level;

	while (level > 1 && (spt_level_size(level) > len ||
			     (va & (spt_level_size(level) - 1)) ||
			     (pa & (spt_level_size(level) - 1))))
		level--;
	return level;
}

int model_from_table(struct model *m, struct spt_pt *pt)
{
	struct spt_cursor c;
	struct spt_query q;
	u64 va = 0, end = m->user_end;
	int ret;

	model_reset(m);
	ret = spt_cursor_new(&c, pt, 0, end);
	if (ret)
		return ret;
	while (va < end && spt_cursor_find_next(&c, end - va)) {
		struct mleaf l = { 0 };

		ret = spt_cursor_query(&c, &q);
		if (!ret && !q.mapped)
			ret = -EIO;
		if (ret)
			break;
		l.va = q.va_start;
		l.pa = q.item.pa;
		l.level = q.item.level;
		l.flags = q.prop.flags;
		l.cache = q.prop.cache;
		l.tracked = q.item.tracked;
		if (l.tracked)
			l.frame = l.pa;	/* for equivalence only */
		model_reserve(m, 1);
		m->v[m->n++] = l;
		va = q.va_end;
		if (va >= end || spt_cursor_jump(&c, va))
			break;
	}
	spt_cursor_drop(&c);
	return ret;
}

bool model_equiv(const struct model *a, const struct model *b, char *why,
		 size_t len)
{
	size_t i = 0, j = 0;
	u64 x = 0;

	for (;;) {
		const struct mleaf *la, *lb;
		u64 ea, eb;

		while (i < a->n && mleaf_end(&a->v[i]) <= x)
			i++;
		while (j < b->n && mleaf_end(&b->v[j]) <= x)
			j++;
		if (i == a->n && j == b->n)
			return true;
		la = i < a->n ? &a->v[i] : NULL;
		lb = j < b->n ? &b->v[j] : NULL;
		/* Skip to the next mapped page of either. */
		if ((!la || la->va > x) && (!lb || lb->va > x)) {
			x = !la ? lb->va : !lb ? la->va :
			    la->va < lb->va ? la->va : lb->va;
			continue;
		}
		if (!la || la->va > x || !lb || lb->va > x) {
			snprintf(why, len, "va 0x%llx mapped only in the %s",
				 (unsigned long long)x,
				 la && la->va <= x ? "first" : "second");
			return false;
		}
		if (la->pa + (x - la->va) != lb->pa + (x - lb->va) ||
		    la->flags != lb->flags || la->cache != lb->cache ||
		    la->tracked != lb->tracked) {
			snprintf(why, len,
				 "va 0x%llx: pa 0x%llx/0x%llx prop %#x.%u/%#x.%u tracked %d/%d",
				 (unsigned long long)x,
				 (unsigned long long)(la->pa + (x - la->va)),
				 (unsigned long long)(lb->pa + (x - lb->va)),
				 la->flags, la->cache, lb->flags, lb->cache,
				 la->tracked, lb->tracked);
			return false;
		}
		ea = mleaf_end(la);
		eb = mleaf_end(lb);
		x = ea < eb ? ea : eb;
	}
}
