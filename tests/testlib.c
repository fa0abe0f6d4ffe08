// SPDX-License-Identifier: GPL-2.0
/* Helpers shared by the host tests: see testlib.h. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "testlib.h"
#include "shim/pool_user.h"

void tl_cfg(struct spt_cfg *cfg, unsigned int levels, unsigned int maxphys)
{
	memset(cfg, 0, sizeof(*cfg));
	cfg->levels = levels;
	cfg->pa_mask = ((1ULL << maxphys) - 1) & ~(SPT_PAGE_SIZE - 1);
	/* Linux's PAT: PA0 WB, PA1 WC, PA2 UC-, PA3 UC, ..., PA7 WT. */
	cfg->cache_bits[SPT_CACHE_WB] = 0;
	cfg->cache_bits[SPT_CACHE_WC] = X86_PWT;
	cfg->cache_bits[SPT_CACHE_UC_MINUS] = X86_PCD;
	cfg->cache_bits[SPT_CACHE_UC] = X86_PCD | X86_PWT;
	cfg->cache_bits[SPT_CACHE_WT] = X86_PAT4K | X86_PCD | X86_PWT;
	spt_cfg_set_pat_indexes(cfg);
	cfg->top_first = 0;
	cfg->top_last = 255;
}

/* ---- u64map ---- */

void u64map_init(struct u64map *m)
{
	memset(m, 0, sizeof(*m));
}

void u64map_free(struct u64map *m)
{
	free(m->keys);
	free(m->vals);
	memset(m, 0, sizeof(*m));
}

void u64map_clear(struct u64map *m)
{
	if (m->cap) {
		memset(m->keys, 0, m->cap * sizeof(*m->keys));
		memset(m->vals, 0, m->cap * sizeof(*m->vals));
	}
	m->n = 0;
}

static size_t u64map_slot(const struct u64map *m, u64 key)
{
	size_t i = (size_t)((key * 0x9E3779B97F4A7C15ULL) >> 20) & (m->cap - 1);

	while (m->keys[i] && m->keys[i] != key + 1)
		i = (i + 1) & (m->cap - 1);
	return i;
}

u32 u64map_get(const struct u64map *m, u64 key)
{
	size_t i;

	if (!m->cap)
		return 0;
	i = u64map_slot(m, key);
	return m->keys[i] ? m->vals[i] : 0;
}

static void u64map_grow(struct u64map *m)
{
	struct u64map old = *m;
	size_t i;

	m->cap = old.cap ? old.cap * 2 : 64;
	m->keys = calloc(m->cap, sizeof(*m->keys));
	m->vals = calloc(m->cap, sizeof(*m->vals));
	if (!m->keys || !m->vals) {
		fprintf(stderr, "out of memory\n");
		abort();
	}
	m->n = 0;
	for (i = 0; i < old.cap; i++) {
		if (old.keys[i]) {
			size_t j = u64map_slot(m, old.keys[i] - 1);

			m->keys[j] = old.keys[i];
			m->vals[j] = old.vals[i];
			m->n++;
		}
	}
	free(old.keys);
	free(old.vals);
}

/* Entries that drop to 0 stay as keys with value 0 (no tombstones). */
void u64map_add(struct u64map *m, u64 key, s64 delta)
{
	size_t i;

	if ((m->n + 1) * 2 > m->cap)
		u64map_grow(m);
	i = u64map_slot(m, key);
	if (!m->keys[i]) {
		m->keys[i] = key + 1;
		m->n++;
	}
	m->vals[i] = (u32)((s64)m->vals[i] + delta);
}

void u64map_compact(struct u64map *m)
{
	struct u64map old = *m;
	size_t i;

	u64map_init(m);
	for (i = 0; i < old.cap; i++)
		if (old.keys[i] && old.vals[i])
			u64map_add(m, old.keys[i] - 1, old.vals[i]);
	u64map_free(&old);
}

/* ---- the user-space pool ---- */

struct spt_pool *tl_pool_new(u64 arena_bytes)
{
	return spt_pool_user_create((arena_bytes + (1ULL << 20) - 1) >> 20);
}

u64 tl_pool_delete(struct spt_pool *pool)
{
	return spt_pool_user_destroy(pool);
}

void tl_pool_fail_nth(struct spt_pool *pool, u64 n)
{
	spt_pool_user_fail_nth(pool, n);
}

u64 tl_pool_used(struct spt_pool *pool)
{
	return spt_pool_user_used(pool);
}

/* ---- environment ---- */

u64 tenv_user_end(const struct tenv *e)
{
	return spt_cfg_user_end(&e->cfg);
}

u32 tenv_handles_cb(u64 pa, void *arg)
{
	struct tenv *e = arg;

	return u64map_get(&e->handles, pa);
}

void tenv_init_cfg(struct tenv *e, const struct spt_cfg *cfg, bool ktop)
{
	tenv_init_arena(e, cfg, ktop, 256ULL << 20);
}

void tenv_init_arena(struct tenv *e, const struct spt_cfg *cfg, bool ktop,
		     u64 arena_bytes)
{
	unsigned int i;
	int ret;

	memset(e, 0, sizeof(*e));
	e->cfg = *cfg;
	u64map_init(&e->handles);
	spt_flusher_init(&e->fl);
	e->use_ktop = ktop;
	/* A fake kernel half: present entries naming frames outside the pool */
	for (i = 256; i < SPT_NR_ENTRIES; i++)
		if (i % 3)
			e->ktop[i] = (0x7ff00000000ULL + i * SZ_4K) | X86_P |
				     X86_RW | X86_A;
	e->pool = tl_pool_new(arena_bytes);
	REQUIRE(e->pool);
	ret = spt_pt_init(&e->pt, &e->cfg, e->pool, ktop ? e->ktop : NULL);
	REQUIRE_EQ(ret, 0);
}

void tenv_init(struct tenv *e, unsigned int levels)
{
	struct spt_cfg cfg;

	tl_cfg(&cfg, levels, levels == 5 ? 52 : 46);
	tenv_init_cfg(e, &cfg, true);
}

bool tenv_check_at(struct tenv *e, const char *file, int line)
{
	char msg[256] = "";
	int ret;

	ret = spt_pt_check(&e->pt, e->use_ktop ? e->ktop : NULL, true,
			   tenv_handles_cb, e, msg, sizeof(msg));
	if (ret) {
		tap_fail_at(file, line, "spt_pt_check: %d: %s", ret, msg);
		return false;
	}
	return true;
}

void tenv_fini(struct tenv *e)
{
	size_t i;

	tenv_check(e);
	spt_pt_destroy(&e->pt, &e->fl);
	spt_flusher_release(&e->fl, e->pool);
	for (i = 0; i < e->handles.cap; i++) {
		u64 pa = e->handles.keys[i] - 1;

		if (!e->handles.keys[i])
			continue;
		while (e->handles.vals[i])
			tl_handle_put(e, pa);
	}
	CHECK_EQ(tl_pool_used(e->pool), 0);
	CHECK_EQ(tl_pool_delete(e->pool), 0);
	u64map_free(&e->handles);
	e->pool = NULL;
}

/* ---- frames and handles ---- */

struct spt_meta *tl_meta(struct tenv *e, u64 pa)
{
	return spt_pool_meta(e->pool, pa);
}

/* A frame whose chunk went back has no slot: UNUSED. */
u32 tl_ref(struct tenv *e, u64 pa)
{
	struct spt_meta *m = tl_meta(e, pa);

	return m ? spt_meta_ref(m) : SPT_REF_UNUSED;
}

u64 tl_frame_alloc(struct tenv *e, unsigned int level)
{
	u64 pa = 0;

	REQUIRE_EQ(spt_pool_alloc(e->pool, SPT_USAGE_DATA, level, false, &pa),
		   0);
	u64map_add(&e->handles, pa, 1);
	return pa;
}

void tl_handle_put(struct tenv *e, u64 pa)
{
	REQUIRE(u64map_get(&e->handles, pa) > 0);
	u64map_add(&e->handles, pa, -1);
	if (spt_meta_put(tl_meta(e, pa)))
		spt_pool_free(e->pool, pa);
}

int tl_map(struct tenv *e, struct spt_cursor *c, u64 pa, unsigned int level,
	   bool tracked, u8 flags, u8 cache, bool keep_handle,
	   unsigned long *replaced)
{
	struct spt_item item = { .pa = pa, .level = level, .tracked = tracked };
	struct spt_prop prop = { .flags = flags, .cache = cache };
	int ret;

	if (tracked) {
		REQUIRE(u64map_get(&e->handles, pa) > 0);
		if (keep_handle)
			REQUIRE(spt_meta_get(tl_meta(e, pa)));
	}
	ret = spt_cursor_map(c, &item, &prop, replaced);
	if (tracked) {
		if (ret && keep_handle)
			REQUIRE(!spt_meta_put(tl_meta(e, pa)));
		if (!ret && !keep_handle)
			u64map_add(&e->handles, pa, -1);
	}
	return ret;
}

void tl_map_range(struct tenv *e, u64 va, u64 pa, unsigned int level,
		  u8 flags)
{
	struct spt_cursor c;

	REQUIRE_EQ(spt_cursor_mut_new(&c, &e->pt, va,
				      va + spt_level_size(level), &e->fl), 0);
	REQUIRE_EQ(tl_map(e, &c, pa, level, false, flags, SPT_CACHE_WB, false,
			  NULL), 0);
	spt_cursor_drop(&c);
}

/* ---- raw walk ---- */

static u64 *tl_node(struct tenv *e, u64 pa)
{
	return spt_pool_va(e->pool, pa);
}

static unsigned int tl_idx(u64 va, unsigned int level)
{
	return (va >> (SPT_PAGE_SHIFT + 9 * (level - 1))) & 511;
}

u64 *tl_raw_slot(struct tenv *e, u64 va, unsigned int level)
{
	u64 node = e->pt.root_pa;
	unsigned int l;

	for (l = e->cfg.levels; ; l--) {
		u64 *slot = &tl_node(e, node)[tl_idx(va, l)];

		if (l == level)
			return slot;
		if (!(*slot & X86_P) || l == 1 || (*slot & X86_PS))
			return NULL;
		node = *slot & e->cfg.pa_mask;
	}
}

u64 tl_raw_walk(struct tenv *e, u64 va, unsigned int *level)
{
	u64 node = e->pt.root_pa;
	unsigned int l;

	for (l = e->cfg.levels; ; l--) {
		u64 pte = tl_node(e, node)[tl_idx(va, l)];

		*level = l;
		if (!(pte & X86_P))
			return 0;
		if (l == 1 || (pte & X86_PS))
			return pte;
		node = pte & e->cfg.pa_mask;
	}
}

u64 tl_nr_nodes(struct tenv *e)
{
	struct spt_pt_counts cn;
	u64 n = 0;
	int i;

	spt_pt_count(&e->pt, &cn);
	for (i = 0; i < SPT_MAX_LEVELS; i++)
		n += cn.nodes[i];
	return n;
}

u64 tl_nr_leaves(struct tenv *e)
{
	struct spt_pt_counts cn;
	u64 n = 0;
	int i;

	spt_pt_count(&e->pt, &cn);
	for (i = 0; i < SPT_MAX_LEAF_LEVEL; i++)
		n += cn.leaves[i];
	return n;
}
