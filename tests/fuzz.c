// SPDX-License-Identifier: GPL-2.0
/* The model-based fuzzer's generator and executor: see fuzz.h. */
#include <errno.h>
#include <inttypes.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "fuzz.h"

static bool fz_fail(struct fz *f, int line, const char *fmt, ...)
	__attribute__((format(printf, 3, 4)));

static bool fz_fail(struct fz *f, int line, const char *fmt, ...)
{
	va_list ap;
	int n;

	if (f->failed)
		return false;
	f->failed = true;
	n = snprintf(f->err, sizeof(f->err), "fuzz.c:%d: ", line);
	va_start(ap, fmt);
	vsnprintf(f->err + n, sizeof(f->err) - n, fmt, ap);
	va_end(ap);
	return false;
}

#define EXPECT(f, cond, ...)						\
	do {								\
		if (!(cond))						\
			return fz_fail(f, __LINE__, "(" #cond ") "	\
				       __VA_ARGS__);			\
	} while (0)

/* ---- setup ---- */

/* A policy reads back as the first one with the same PTE bits. */
static unsigned int fz_canon_cache(const struct spt_cfg *cfg, unsigned int c)
{
	unsigned int k;

	for (k = 0; k < c; k++)
		if (cfg->cache_bits[k] == cfg->cache_bits[c])
			return k;
	return c;
}

void fz_init(struct fz *f, unsigned int levels, u64 arena_bytes)
{
	struct spt_cfg cfg;

	memset(f, 0, sizeof(*f));
	tl_cfg(&cfg, levels, levels == 5 ? 52 : 46);
	tenv_init_arena(&f->e, &cfg, true, arena_bytes);
	model_init(&f->m, levels, spt_cfg_user_end(&cfg));
}

static u64 fz_frame_size(unsigned int flevel)
{
	return flevel == 2 ? SPT_NR_ENTRIES : 1;
}

static u32 fz_handles(struct fz *f, u64 pa)
{
	return u64map_get(&f->e.handles, pa);
}

/* Frames whose last PTE went in the last model operation. */
static void fz_account_zeroed(struct fz *f)
{
	size_t i;

	for (i = 0; i < f->m.nr_zeroed; i++) {
		struct mframe *z = &f->m.zeroed[i];

		if (!fz_handles(f, z->frame) &&
		    !model_frame_ptes(&f->m, z->frame))
			f->data_frames -= fz_frame_size(z->flevel);
	}
	f->m.nr_zeroed = 0;
}

static bool fz_slot_put(struct fz *f, struct fz_slot *s)
{
	struct spt_meta *meta = spt_pool_meta(f->e.pool, s->pa);
	bool last, exp;

	EXPECT(f, meta, "pa 0x%llx", (unsigned long long)s->pa);
	u64map_add(&f->e.handles, s->pa, -1);
	exp = !fz_handles(f, s->pa) && !model_frame_ptes(&f->m, s->pa);
	last = spt_meta_put(meta);
	s->live = false;
	EXPECT(f, last == exp, "put of frame 0x%llx: last %d",
	       (unsigned long long)s->pa, last);
	if (last) {
		spt_pool_free(f->e.pool, s->pa);
		f->data_frames -= fz_frame_size(s->level);
	}
	return true;
}

static bool fz_slot_fill(struct fz *f, struct fz_slot *s, unsigned int level)
{
	int ret;

	if (s->live)
		return true;
	ret = spt_pool_alloc(f->e.pool, SPT_USAGE_DATA, level, false, &s->pa);
	EXPECT(f, ret == 0, "pool alloc level %u: %d", level, ret);
	s->level = level;
	s->live = true;
	u64map_add(&f->e.handles, s->pa, 1);
	f->data_frames += fz_frame_size(level);
	return true;
}

/* ---- comparisons ---- */

static bool fz_cmp_query(struct fz *f, u64 va, const struct spt_query *q,
			 bool canonical)
{
	struct mleaf *l = model_find(&f->m, va);
	unsigned int ml;
	u64 size;

	if (l) {
		EXPECT(f, q->mapped, "va 0x%llx: model has a level-%u leaf",
		       (unsigned long long)va, l->level);
		EXPECT(f, q->va_start == l->va && q->va_end == mleaf_end(l),
		       "va 0x%llx: range [0x%llx, 0x%llx) vs model [0x%llx, 0x%llx)",
		       (unsigned long long)va,
		       (unsigned long long)q->va_start,
		       (unsigned long long)q->va_end,
		       (unsigned long long)l->va,
		       (unsigned long long)mleaf_end(l));
		EXPECT(f, q->level == l->level && q->item.level == l->level,
		       "va 0x%llx: level %u/%u vs %u", (unsigned long long)va,
		       q->level, q->item.level, l->level);
		EXPECT(f, q->item.pa == l->pa, "va 0x%llx: pa 0x%llx vs 0x%llx",
		       (unsigned long long)va, (unsigned long long)q->item.pa,
		       (unsigned long long)l->pa);
		EXPECT(f, q->item.tracked == l->tracked, "va 0x%llx",
		       (unsigned long long)va);
		EXPECT(f, q->prop.flags == l->flags &&
		       q->prop.cache == fz_canon_cache(&f->e.cfg, l->cache),
		       "va 0x%llx: prop %#x/%u vs %#x/%u",
		       (unsigned long long)va, q->prop.flags, q->prop.cache,
		       l->flags, l->cache);
		return true;
	}
	EXPECT(f, !q->mapped, "va 0x%llx: mapped (pa 0x%llx level %u), model has nothing",
	       (unsigned long long)va, (unsigned long long)q->item.pa,
	       q->level);
	EXPECT(f, q->level >= 1 && q->level <= f->m.levels, "level %u",
	       q->level);
	size = spt_level_size(q->level);
	EXPECT(f, q->va_start == (va & ~(size - 1)) &&
	       q->va_end == q->va_start + size,
	       "va 0x%llx: absent span [0x%llx, 0x%llx) level %u",
	       (unsigned long long)va, (unsigned long long)q->va_start,
	       (unsigned long long)q->va_end, q->level);
	ml = model_absent_level(&f->m, va);
	if (canonical)
		EXPECT(f, q->level == ml,
		       "va 0x%llx: absent at level %u, model %u",
		       (unsigned long long)va, q->level, ml);
	else
		EXPECT(f, q->level <= ml,
		       "va 0x%llx: absent at level %u, model %u",
		       (unsigned long long)va, q->level, ml);
	return true;
}

/* Walk [lo, hi) with a read-only cursor and compare with the model. */
static bool fz_walk(struct fz *f, u64 lo, u64 hi)
{
	struct spt_cursor rc;
	struct spt_query q;
	u64 va = lo, at;
	bool ok = false;
	int ret;

	f->st.walks++;
	ret = spt_cursor_new(&rc, &f->e.pt, lo, hi);
	EXPECT(f, ret == 0, "walk [0x%llx, 0x%llx): %d",
	       (unsigned long long)lo, (unsigned long long)hi, ret);
	for (;;) {
		bool found, mfound;

		if (!model_find(&f->m, va)) {
			ret = spt_cursor_query(&rc, &q);
			if (ret) {
				fz_fail(f, __LINE__, "walk query at 0x%llx: %d",
					(unsigned long long)va, ret);
				goto out;
			}
			if (!fz_cmp_query(f, va, &q, true))
				goto out;
		}
		found = spt_cursor_find_next(&rc, hi - va);
		mfound = model_find_next(&f->m, va, hi, &at);
		if (found != mfound) {
			fz_fail(f, __LINE__, "walk find_next from 0x%llx: %d, model %d (at 0x%llx)",
				(unsigned long long)va, found, mfound,
				mfound ? (unsigned long long)at : 0ULL);
			goto out;
		}
		if (!found) {
			if (spt_cursor_va(&rc) != hi) {
				fz_fail(f, __LINE__, "walk: find_next left the cursor at 0x%llx, not 0x%llx",
					(unsigned long long)spt_cursor_va(&rc),
					(unsigned long long)hi);
				goto out;
			}
			break;
		}
		if (spt_cursor_va(&rc) != at) {
			fz_fail(f, __LINE__, "walk: find_next from 0x%llx stopped at 0x%llx, model 0x%llx",
				(unsigned long long)va,
				(unsigned long long)spt_cursor_va(&rc),
				(unsigned long long)at);
			goto out;
		}
		ret = spt_cursor_query(&rc, &q);
		if (ret) {
			fz_fail(f, __LINE__, "walk query at 0x%llx: %d",
				(unsigned long long)at, ret);
			goto out;
		}
		if (!fz_cmp_query(f, at, &q, true))
			goto out;
		if (q.va_end >= hi)
			break;
		va = q.va_end;
		ret = spt_cursor_jump(&rc, va);
		if (ret) {
			fz_fail(f, __LINE__, "walk jump 0x%llx: %d",
				(unsigned long long)va, ret);
			goto out;
		}
	}
	ok = true;
out:
	spt_cursor_drop(&rc);
	return ok;
}

static bool fz_full_compare(struct fz *f)
{
	struct u64map *pt = &f->m.ptes;
	size_t i;

	if (!fz_walk(f, 0, f->m.user_end))
		return false;
	u64map_compact(pt);
	for (i = 0; i < pt->cap; i++) {
		u64 pa = pt->keys[i] - 1;
		u32 ref;

		if (!pt->keys[i])
			continue;
		ref = spt_meta_ref(spt_pool_meta(f->e.pool, pa));
		EXPECT(f, ref == pt->vals[i] + fz_handles(f, pa),
		       "frame 0x%llx: refcount %u, %u PTEs + %u handles",
		       (unsigned long long)pa, ref, pt->vals[i],
		       fz_handles(f, pa));
	}
	return true;
}

/* After a session: the whole table against the model. */
static bool fz_session_check(struct fz *f, u64 lo, u64 hi)
{
	struct spt_pt_counts cn, mc;
	char msg[256] = "";
	u64 nodes = 0;
	int ret, i;

	spt_flusher_release(&f->e.fl, f->e.pool);
	EXPECT(f, !f->e.fl.head && !f->e.fl.nr_frames && !f->e.fl.nr_nodes,
	       "flusher not reset by spt_flusher_release");
	ret = spt_pt_check(&f->e.pt, f->e.ktop, true, tenv_handles_cb, &f->e,
			   msg, sizeof(msg));
	EXPECT(f, ret == 0, "spt_pt_check: %d: %s", ret, msg);
	spt_pt_count(&f->e.pt, &cn);
	model_counts(&f->m, &mc);
	for (i = 0; i < SPT_MAX_LEVELS; i++) {
		EXPECT(f, cn.nodes[i] == mc.nodes[i],
		       "level-%d nodes: %llu, model %llu", i + 1,
		       (unsigned long long)cn.nodes[i],
		       (unsigned long long)mc.nodes[i]);
		nodes += cn.nodes[i];
	}
	for (i = 0; i < SPT_MAX_LEAF_LEVEL; i++)
		EXPECT(f, cn.leaves[i] == mc.leaves[i],
		       "level-%d leaves: %llu, model %llu", i + 1,
		       (unsigned long long)cn.leaves[i],
		       (unsigned long long)mc.leaves[i]);
	EXPECT(f, tl_pool_used(f->e.pool) == nodes + f->data_frames,
	       "pool frames in use %llu, expected %llu nodes + %llu data",
	       (unsigned long long)tl_pool_used(f->e.pool),
	       (unsigned long long)nodes,
	       (unsigned long long)f->data_frames);
	for (i = 0; i < FZ_SLOTS; i++) {
		struct fz_slot *s = &f->slots[i];
		u32 ref;

		if (!s->live)
			continue;
		ref = spt_meta_ref(spt_pool_meta(f->e.pool, s->pa));
		EXPECT(f, ref == fz_handles(f, s->pa) +
			     model_frame_ptes(&f->m, s->pa),
		       "frame 0x%llx: refcount %u, %u handles + %u PTEs",
		       (unsigned long long)s->pa, ref, fz_handles(f, s->pa),
		       model_frame_ptes(&f->m, s->pa));
	}
	if (lo < hi && !fz_walk(f, lo, hi))
		return false;
	if (++f->sessions % FZ_FULL_EVERY == 0)
		return fz_full_compare(f);
	return true;
}

static bool fz_close(struct fz *f)
{
	u64 lo, hi;

	if (!f->open)
		return true;
	spt_cursor_drop(&f->c);
	f->ops++;
	f->open = false;
	/* The session's range, widened to whole 1 GiB blocks (splits). */
	lo = f->cs & ~(SZ_1G - 1);
	hi = (f->ce + SZ_1G - 1) & ~(SZ_1G - 1);
	if (hi > f->m.user_end || hi < f->ce)
		hi = f->m.user_end;
	return fz_session_check(f, lo, hi);
}

bool fz_finish(struct fz *f)
{
	struct spt_pt_counts mc;
	u64 nodes = 0, frames = 0;
	struct u64map *pt = &f->m.ptes;
	size_t i;

	if (!fz_close(f) || !fz_full_compare(f))
		return false;
	model_counts(&f->m, &mc);
	for (i = 0; i < SPT_MAX_LEVELS; i++)
		nodes += mc.nodes[i];
	for (i = 0; i < pt->cap; i++)
		if (pt->keys[i] && pt->vals[i] &&
		    !fz_handles(f, pt->keys[i] - 1))
			frames++;
	spt_pt_destroy(&f->e.pt, &f->e.fl);
	EXPECT(f, f->e.fl.nr_nodes == nodes,
	       "destroy queued %lu nodes, table had %llu", f->e.fl.nr_nodes,
	       (unsigned long long)nodes);
	EXPECT(f, f->e.fl.nr_frames == frames,
	       "destroy queued %lu frames, expected %llu", f->e.fl.nr_frames,
	       (unsigned long long)frames);
	spt_flusher_release(&f->e.fl, f->e.pool);
	model_reset(&f->m);
	for (i = 0; i < FZ_SLOTS; i++)
		if (f->slots[i].live && !fz_slot_put(f, &f->slots[i]))
			return false;
	EXPECT(f, tl_pool_used(f->e.pool) == 0,
	       "%llu frames still in use after destroy",
	       (unsigned long long)tl_pool_used(f->e.pool));
	tl_pool_delete(f->e.pool);
	u64map_free(&f->e.handles);
	model_free(&f->m);
	return true;
}

/* ---- execution ---- */

static bool fz_check_va(struct fz *f, const char *what)
{
	EXPECT(f, spt_cursor_va(&f->c) == f->mva,
	       "after %s: cursor at 0x%llx, expected 0x%llx", what,
	       (unsigned long long)spt_cursor_va(&f->c),
	       (unsigned long long)f->mva);
	return true;
}

static bool fz_jump(struct fz *f, u64 va)
{
	bool valid;
	int ret;

	if (va == FZ_CUR)
		return true;
	valid = !(va & (SPT_PAGE_SIZE - 1)) && va >= f->cs && va < f->ce;
	ret = spt_cursor_jump(&f->c, va);
	f->ops++;
	f->st.jump_einval += !valid;
	EXPECT(f, ret == (valid ? 0 : -EINVAL), "jump 0x%llx in [0x%llx, 0x%llx): %d",
	       (unsigned long long)va, (unsigned long long)f->cs,
	       (unsigned long long)f->ce, ret);
	if (valid)
		f->mva = va;
	return fz_check_va(f, "jump");
}

/* Map one item at the cursor; *@ok: whether the core accepted it. */
static bool fz_map_one(struct fz *f, struct spt_item *item,
		       const struct spt_prop *prop, bool keep,
		       struct fz_slot *slot, bool *ok)
{
	u64 size = spt_level_size(item->level);
	u64 pos = f->mva;
	unsigned long replaced = ~0UL, exp = 0;
	struct spt_meta *meta = NULL;
	bool valid;
	int ret;

	valid = !(pos & (size - 1)) && pos < f->ce && size <= f->ce - pos &&
		!(item->pa & (size - 1));
	if (item->tracked) {
		meta = spt_pool_meta(f->e.pool, item->pa);
		if (keep)
			EXPECT(f, spt_meta_get(meta), "get on a live frame");
	}
	ret = spt_cursor_map(&f->c, item, prop, &replaced);
	f->ops++;
	EXPECT(f, ret == (valid ? 0 : -EINVAL),
	       "map pa 0x%llx level %u at 0x%llx (range end 0x%llx): %d",
	       (unsigned long long)item->pa, item->level,
	       (unsigned long long)pos, (unsigned long long)f->ce, ret);
	if (valid) {
		struct mleaf l = {
			.va = pos, .pa = item->pa, .level = item->level,
			.flags = prop->flags, .cache = prop->cache,
			.tracked = item->tracked,
		};

		if (item->tracked) {
			l.frame = item->pa;
			l.flevel = slot->level;
			if (!keep) {
				u64map_add(&f->e.handles, item->pa, -1);
				slot->live = false;
			}
		}
		exp = model_map(&f->m, &l);
		fz_account_zeroed(f);
		EXPECT(f, replaced == exp, "map at 0x%llx: replaced %lu, model %lu",
		       (unsigned long long)pos, replaced, exp);
		if (exp)
			EXPECT(f, f->e.fl.flush_start <= f->m.removed_lo &&
			       f->e.fl.flush_end >= f->m.removed_hi,
			       "flusher flush span [0x%llx, 0x%llx) misses [0x%llx, 0x%llx)",
			       (unsigned long long)f->e.fl.flush_start,
			       (unsigned long long)f->e.fl.flush_end,
			       (unsigned long long)f->m.removed_lo,
			       (unsigned long long)f->m.removed_hi);
		f->mva = pos + size;
	} else if (item->tracked && keep) {
		EXPECT(f, !spt_meta_put(meta), "put dropped the last ref");
	}
	*ok = valid;
	if (valid) {
		f->st.map_ok[item->level - 1]++;
		f->st.map_tracked += item->tracked;
		f->st.replaced += exp;
		if (f->m.n > f->st.max_leaves)
			f->st.max_leaves = f->m.n;
	} else {
		f->st.map_einval++;
	}
	return fz_check_va(f, "map");
}

static bool fz_do_map(struct fz *f, const struct fz_op *op)
{
	struct spt_prop prop = { .flags = op->flags, .cache = op->cache };
	struct spt_item item = {};
	struct fz_slot *slot = NULL;
	bool ok;

	if (!fz_jump(f, op->a))
		return false;
	if (op->tracked) {
		slot = &f->slots[op->slot % FZ_SLOTS];
		if (!fz_slot_fill(f, slot, op->level >= 2 ? 2 : 1))
			return false;
		item.pa = slot->pa;
		item.level = slot->level;
		item.tracked = true;
	} else {
		item.pa = op->b;
		item.level = op->level;
		item.tracked = false;
		f->last_pa = op->b + spt_level_size(op->level);
	}
	return fz_map_one(f, &item, &prop, op->keep, slot, &ok);
}

static bool fz_do_maprange(struct fz *f, const struct fz_op *op)
{
	struct spt_prop prop = { .flags = op->flags, .cache = op->cache };
	u64 len = op->b, pa = op->c;
	unsigned int n;

	if (!fz_jump(f, op->a))
		return false;
	for (n = 0; n < 16 && len >= SPT_PAGE_SIZE; n++) {
		u64 pos = f->mva;
		unsigned int lvl, exp;
		struct spt_item item = {};
		bool ok;

		lvl = spt_largest_level(pos, pa, len, SPT_MAX_LEAF_LEVEL);
		exp = model_largest_level(pos, pa, len, SPT_MAX_LEAF_LEVEL);
		EXPECT(f, lvl == exp, "largest_level(0x%llx, 0x%llx, 0x%llx) = %u, model %u",
		       (unsigned long long)pos, (unsigned long long)pa,
		       (unsigned long long)len, lvl, exp);
		item.pa = pa;
		item.level = lvl;
		item.tracked = false;
		if (!fz_map_one(f, &item, &prop, false, NULL, &ok))
			return false;
		if (!ok)
			break;
		pa += spt_level_size(lvl);
		len -= spt_level_size(lvl);
	}
	f->last_pa = pa;
	return true;
}

/* The @i-th frame of a FZ_MAPRUN and whether the core may map it. */
static u64 fz_run_frame(struct fz *f, const struct fz_op *op, u64 i,
			bool *valid)
{
	u64 size = spt_level_size(op->level), pa;

	if (op->clear && !op->tracked && !op->set) {
		/* A contiguous run with a bad frame: misaligned from the start. */
		*valid = false;
		return op->c + i * size + 0x800;
	}
	if (op->clear && i == (u64)op->clear - 1) {
		/* A bad frame: no pool frame, or misaligned. */
		*valid = false;
		return op->tracked ? 1ULL << 40 : op->c + i * size + 0x800;
	}
	if (!op->tracked) {
		pa = op->c + i * size;
		*valid = !(pa & (size - 1));
		return pa;
	}
	pa = f->slots[(op->slot + i) % FZ_SLOTS].pa;
	*valid = f->slots[(op->slot + i) % FZ_SLOTS].level == op->level;
	return pa;
}

/*
 * spt_cursor_map_run() against the model, frame by frame: validated once
 * (range, alignment, a contiguous run's addresses), then each frame mapped
 * in order until the first bad one, with *done exact. Tracked runs of
 * more than FZ_SLOTS frames repeat slots: each mapping then takes an
 * extra handle taken before (as with keep).
 */
static bool fz_do_maprun(struct fz *f, const struct fz_op *op)
{
	struct spt_prop prop = { .flags = op->flags, .cache = op->cache };
	u64 size = spt_level_size(op->level), nr = op->b, pos, i, exp_done;
	bool keep = op->keep || nr > FZ_SLOTS, whole, valid, contig;
	u64 lo = ~0ULL, hi = 0, replaced = 0;
	struct spt_map_run run = {
		.nr = nr, .level = op->level, .tracked = op->tracked,
	};
	unsigned long done = ~0UL;
	u64 *pas;
	int ret, exp;

	if (!fz_jump(f, op->a))
		return false;
	pos = f->mva;
	contig = !op->tracked && !op->set;
	pas = calloc(nr ? nr : 1, sizeof(*pas));
	EXPECT(f, pas, "out of memory");
	for (i = 0; op->tracked && i < FZ_SLOTS && i < nr; i++)
		if (!fz_slot_fill(f, &f->slots[(op->slot + i) % FZ_SLOTS],
				  op->level))
			goto out;
	whole = !(pos & (size - 1)) && pos < f->ce &&
		nr <= (f->ce - pos) / size;
	for (exp_done = 0; whole && exp_done < nr; exp_done++) {
		fz_run_frame(f, op, exp_done, &valid);
		if (!valid)
			break;
	}
	for (i = 0; i < nr; i++) {
		pas[i] = fz_run_frame(f, op, i, &valid);
		if (op->tracked && keep && valid)
			EXPECT(f, spt_meta_get(spt_pool_meta(f->e.pool, pas[i])),
			       "get on a live frame");
	}
	if (contig) {
		/* A contiguous run is refused whole if one frame is bad. */
		run.pa = pas[0];
		if (exp_done < nr)
			exp_done = 0;
	} else {
		run.pas = pas;
	}
	if (!whole)
		exp_done = 0;
	exp = exp_done == nr && whole ? 0 : -EINVAL;
	ret = spt_cursor_map_run(&f->c, &run, &prop, &done);
	f->ops++;
	f->st.run_calls++;
	f->st.run_leaves += done;
	f->st.run_stopped += ret != 0;
	EXPECT(f, ret == exp && done == exp_done,
	       "map_run at 0x%llx of %llu level %u (range end 0x%llx): %d, %lu done; model %d, %llu",
	       (unsigned long long)pos, (unsigned long long)nr, op->level,
	       (unsigned long long)f->ce, ret, done, exp,
	       (unsigned long long)exp_done);
	for (i = 0; i < nr; i++) {
		struct fz_slot *slot = &f->slots[(op->slot + i) % FZ_SLOTS];
		struct mleaf l = {
			.va = pos + i * size, .pa = pas[i], .level = op->level,
			.flags = prop.flags, .cache = prop.cache,
			.tracked = op->tracked,
		};
		u64 n;

		fz_run_frame(f, op, i, &valid);
		if (i >= done) {
			if (op->tracked && keep && valid)
				EXPECT(f, !spt_meta_put(spt_pool_meta(f->e.pool,
								      pas[i])),
				       "put dropped the last ref");
			continue;
		}
		if (op->tracked) {
			l.frame = pas[i];
			l.flevel = slot->level;
			if (!keep) {
				u64map_add(&f->e.handles, pas[i], -1);
				slot->live = false;
			}
		}
		n = model_map(&f->m, &l);
		if (n) {
			lo = min(lo, f->m.removed_lo);
			hi = max(hi, f->m.removed_hi);
		}
		replaced += n;
		fz_account_zeroed(f);
	}
	if (replaced)
		EXPECT(f, f->e.fl.flush_start <= lo && f->e.fl.flush_end >= hi,
		       "flusher flush span [0x%llx, 0x%llx) misses [0x%llx, 0x%llx)",
		       (unsigned long long)f->e.fl.flush_start,
		       (unsigned long long)f->e.fl.flush_end,
		       (unsigned long long)lo, (unsigned long long)hi);
	f->st.replaced += replaced;
	f->mva = pos + done * size;
	if (f->m.n > f->st.max_leaves)
		f->st.max_leaves = f->m.n;
	free(pas);
	return fz_check_va(f, "map_run");
out:
	free(pas);
	return false;
}

static bool fz_do_unmap(struct fz *f, const struct fz_op *op)
{
	u64 pos, len = op->b;
	long ret, exp = -EINVAL;
	bool valid;

	if (!fz_jump(f, op->a))
		return false;
	pos = f->mva;
	valid = !(len & (SPT_PAGE_SIZE - 1)) && len <= f->ce - pos;
	ret = spt_cursor_unmap(&f->c, len);
	f->ops++;
	f->st.unmap_calls++;
	if (ret > 0)
		f->st.unmap_leaves += ret;
	if (!valid)
		f->st.unmap_einval++;
	if (valid) {
		exp = (long)model_unmap(&f->m, pos, pos + len);
		fz_account_zeroed(f);
		f->mva = pos + len;
	}
	EXPECT(f, ret == exp, "unmap [0x%llx, +0x%llx) (range end 0x%llx): %ld, model %ld",
	       (unsigned long long)pos, (unsigned long long)len,
	       (unsigned long long)f->ce, ret, exp);
	if (valid && exp > 0)
		EXPECT(f, f->e.fl.flush_start <= f->m.removed_lo &&
		       f->e.fl.flush_end >= f->m.removed_hi,
		       "flusher flush span [0x%llx, 0x%llx) misses [0x%llx, 0x%llx)",
		       (unsigned long long)f->e.fl.flush_start,
		       (unsigned long long)f->e.fl.flush_end,
		       (unsigned long long)f->m.removed_lo,
		       (unsigned long long)f->m.removed_hi);
	return fz_check_va(f, "unmap");
}

static bool fz_do_protect(struct fz *f, const struct fz_op *op)
{
	struct spt_prot_op pop = {
		.set = op->set, .clear = op->clear,
		.cache = op->cache == FZ_KEEP_CACHE ? -1 : (s8)op->cache,
	};
	u64 wend, pos;
	unsigned int n;

	if (!fz_jump(f, op->a))
		return false;
	pos = f->mva;
	if ((op->b & (SPT_PAGE_SIZE - 1)) || op->b > f->ce - pos) {
		u64 s, e;
		int ret = spt_cursor_protect_next(&f->c, op->b, &pop, &s, &e);

		f->ops++;
		f->st.protect_einval++;
		EXPECT(f, ret == -EINVAL, "protect_next at 0x%llx len 0x%llx (end 0x%llx): %d",
		       (unsigned long long)pos, (unsigned long long)op->b,
		       (unsigned long long)f->ce, ret);
		return fz_check_va(f, "protect_next");
	}
	wend = pos + op->b;
	for (n = 0; n < 48; n++) {
		u64 s = 0, e = 0, ms = 0, me = 0;
		int ret, exp;

		pos = f->mva;
		ret = spt_cursor_protect_next(&f->c, wend - pos, &pop, &s, &e);
		f->ops++;
		exp = model_protect_next(&f->m, pos, wend - pos, op->set,
					 op->clear, pop.cache, &ms, &me);
		EXPECT(f, ret == exp, "protect_next [0x%llx, 0x%llx): %d, model %d",
		       (unsigned long long)pos, (unsigned long long)wend, ret,
		       exp);
		if (!exp) {
			f->mva = wend;
			return fz_check_va(f, "protect_next");
		}
		EXPECT(f, s == ms && e == me,
		       "protect_next [0x%llx, 0x%llx): changed [0x%llx, 0x%llx), model [0x%llx, 0x%llx)",
		       (unsigned long long)pos, (unsigned long long)wend,
		       (unsigned long long)s, (unsigned long long)e,
		       (unsigned long long)ms, (unsigned long long)me);
		f->mva = me;
		f->st.protect_changed++;
		if (!fz_check_va(f, "protect_next"))
			return false;
		if (me >= wend)
			break;
	}
	return true;
}

/* spt_cursor_protect() against the model's protect_next loop. */
static bool fz_do_protectrun(struct fz *f, const struct fz_op *op)
{
	struct spt_prot_op pop = {
		.set = op->set, .clear = op->clear,
		.cache = op->cache == FZ_KEEP_CACHE ? -1 : (s8)op->cache,
	};
	u64 pos, wend, count = 0, exp_count = 0, ms, me;
	unsigned int level = 0, exp_level = 0;
	int ret, exp = 0;

	if (!fz_jump(f, op->a))
		return false;
	pos = f->mva;
	if ((op->b & (SPT_PAGE_SIZE - 1)) || op->b > f->ce - pos) {
		ret = spt_cursor_protect(&f->c, op->b, &pop, &count, &level);
		f->ops++;
		f->st.protect_einval++;
		EXPECT(f, ret == -EINVAL && !count,
		       "protect at 0x%llx len 0x%llx (end 0x%llx): %d",
		       (unsigned long long)pos, (unsigned long long)op->b,
		       (unsigned long long)f->ce, ret);
		return fz_check_va(f, "protect");
	}
	wend = pos + op->b;
	ret = spt_cursor_protect(&f->c, op->b, &pop, &count, &level);
	f->ops++;
	f->st.protect_runs++;
	for (; pos < wend; pos = me) {
		exp = model_protect_next(&f->m, pos, wend - pos, op->set,
					 op->clear, pop.cache, &ms, &me);
		if (exp <= 0)
			break;
		exp_count++;
		while (spt_level_size(exp_level + 1) <= me - ms &&
		       exp_level < SPT_MAX_LEAF_LEVEL)
			exp_level++;
	}
	EXPECT(f, ret == min(exp, 0) && count == exp_count &&
	       level == exp_level,
	       "protect [0x%llx, 0x%llx): %d, %llu leaves, level %u; model %d, %llu, %u",
	       (unsigned long long)f->mva, (unsigned long long)wend, ret,
	       (unsigned long long)count, level, exp,
	       (unsigned long long)exp_count, exp_level);
	f->st.protect_changed += count;
	f->mva = wend;
	return fz_check_va(f, "protect");
}

static bool fz_do_query(struct fz *f, const struct fz_op *op)
{
	struct spt_query q;
	int ret;

	if (!fz_jump(f, op->a))
		return false;
	ret = spt_cursor_query(&f->c, &q);
	f->ops++;
	if (f->mva >= f->ce) {
		EXPECT(f, ret == -ERANGE, "query at the end: %d", ret);
		return fz_check_va(f, "query");
	}
	EXPECT(f, ret == 0, "query at 0x%llx: %d", (unsigned long long)f->mva,
	       ret);
	if (q.mapped)
		f->st.query_mapped++;
	else
		f->st.query_absent++;
	if (!fz_cmp_query(f, f->mva, &q, !f->mut))
		return false;
	return fz_check_va(f, "query");
}

static bool fz_do_find(struct fz *f, const struct fz_op *op)
{
	u64 pos, len = op->b, at = 0;
	bool valid, ret, exp = false;

	if (!fz_jump(f, op->a))
		return false;
	pos = f->mva;
	valid = len <= f->ce - pos;
	ret = spt_cursor_find_next(&f->c, len);
	f->ops++;
	if (valid) {
		exp = model_find_next(&f->m, pos, pos + len, &at);
		f->mva = exp ? at : pos + len;
	}
	if (ret)
		f->st.find_hit++;
	else
		f->st.find_miss++;
	EXPECT(f, ret == exp, "find_next at 0x%llx len 0x%llx: %d, model %d",
	       (unsigned long long)pos, (unsigned long long)len, ret, exp);
	return fz_check_va(f, "find_next");
}

static bool fz_do_open(struct fz *f, const struct fz_op *op)
{
	bool valid;
	int ret;

	if (!fz_close(f))
		return false;
	valid = !(op->a & (SPT_PAGE_SIZE - 1)) &&
		!(op->b & (SPT_PAGE_SIZE - 1)) && op->a < op->b &&
		op->b <= f->m.user_end;
	if (op->mut)
		ret = spt_cursor_mut_new(&f->c, &f->e.pt, op->a, op->b,
					 &f->e.fl);
	else
		ret = spt_cursor_new(&f->c, &f->e.pt, op->a, op->b);
	f->ops++;
	EXPECT(f, ret == (valid ? 0 : -EINVAL), "cursor%s_new [0x%llx, 0x%llx): %d",
	       op->mut ? "_mut" : "", (unsigned long long)op->a,
	       (unsigned long long)op->b, ret);
	if (!valid) {
		f->st.open_einval++;
		return true;
	}
	f->open = true;
	f->mut = op->mut;
	f->cs = op->a;
	f->ce = op->b;
	f->mva = op->a;
	return fz_check_va(f, "open");
}

static bool fz_exec_one(struct fz *f, const struct fz_op *op);

/* Operations that reached the core count; skipped ones do not. */
bool fz_exec(struct fz *f, const struct fz_op *op)
{
	u64 calls = f->ops;
	bool ok = fz_exec_one(f, op);

	if (f->ops != calls)
		f->nr_ops++;
	return ok;
}

static bool fz_exec_one(struct fz *f, const struct fz_op *op)
{
	struct fz_slot *s, *d;

	if (f->failed)
		return false;
	switch (op->kind) {
	case FZ_OPEN:
		return fz_do_open(f, op);
	case FZ_CLOSE:
		return fz_close(f);
	case FZ_PUT:
		s = &f->slots[op->slot % FZ_SLOTS];
		if (!s->live)
			return true;
		f->ops++;
		return fz_slot_put(f, s);
	case FZ_DUP:
		s = &f->slots[op->slot % FZ_SLOTS];
		d = &f->slots[op->slot2 % FZ_SLOTS];
		if (!s->live || d->live)
			return true;
		f->ops++;
		EXPECT(f, spt_meta_get(spt_pool_meta(f->e.pool, s->pa)),
		       "get on a live frame");
		*d = *s;
		u64map_add(&f->e.handles, s->pa, 1);
		return true;
	default:
		break;
	}
	if (!f->open)
		return true;
	switch (op->kind) {
	case FZ_JUMP:
		return fz_jump(f, op->a);
	case FZ_QUERY:
		return fz_do_query(f, op);
	case FZ_FIND:
		return fz_do_find(f, op);
	default:
		break;
	}
	if (!f->mut)
		return true;
	switch (op->kind) {
	case FZ_MAP:
		return fz_do_map(f, op);
	case FZ_MAPRANGE:
		return fz_do_maprange(f, op);
	case FZ_UNMAP:
		return fz_do_unmap(f, op);
	case FZ_PROTECT:
		return fz_do_protect(f, op);
	case FZ_MAPRUN:
		return fz_do_maprun(f, op);
	case FZ_PROTECTRUN:
		return fz_do_protectrun(f, op);
	default:
		return true;
	}
}

/* ---- generation ---- */

u64 fz_rand(struct fz_rng *r)
{
	u64 x = 0;
	unsigned int i;

	if (!r->buf)
		return tl_rand(&r->s);
	/* Fuzz input: 4 bytes at a time, mixed so small inputs spread. */
	for (i = 0; i < 4; i++)
		x = x << 8 | (r->pos < r->len ? r->buf[r->pos++] : 0);
	r->s = r->s * 6364136223846793005ULL + x + 1;
	return x | (r->s & ~0xffffffffULL);
}

u64 fz_below(struct fz_rng *r, u64 n)
{
	u64 x = 0;

	if (!n)
		return 0;
	if (!r->buf || n > 65536)
		return fz_rand(r) % n;
	x = r->pos < r->len ? r->buf[r->pos++] : 0;
	if (n > 256)
		x = x << 8 | (r->pos < r->len ? r->buf[r->pos++] : 0);
	return x % n;
}

static u64 fz_hotspot(struct fz *f, struct fz_rng *r)
{
	u64 ue = f->m.user_end;
	const u64 hs[] = {
		0, SZ_1G, 4 * SZ_1G, SZ_512G - SZ_1G, SZ_512G, 3 * SZ_512G,
		ue / 2, ue - SZ_1G, ue - SZ_2M, ue - SZ_4K,
		1ULL << 48, (1ULL << 48) + SZ_512G, ue / 4 * 3,
	};
	unsigned int n = f->m.levels == 5 ? 13 : 10;

	return hs[fz_below(r, n)];
}

static u64 fz_unit(struct fz_rng *r)
{
	switch (fz_below(r, 8)) {
	case 0: case 1: case 2: case 3:
		return SZ_4K;
	case 4: case 5: case 6:
		return SZ_2M;
	default:
		return SZ_1G;
	}
}

static void fz_gen_range(struct fz *f, struct fz_rng *r, struct fz_op *op)
{
	u64 ue = f->m.user_end, start, len, u;
	s64 k;

	start = fz_hotspot(f, r);
	u = fz_unit(r);
	k = (s64)fz_below(r, 9) - 4;
	if (k < 0 && (u64)(-k) * u > start)
		start = 0;
	else
		start += k * u;
	if (start >= ue)
		start = ue - SZ_4K;
	switch (fz_below(r, 10)) {
	case 0:
		len = ue - start;	/* to the end of the user half */
		if (!fz_below(r, 4))
			start = 0;
		len = ue - start;
		break;
	case 1:
		len = fz_hotspot(f, r) - start;
		if ((s64)len <= 0)
			len = SZ_1G;
		break;
	default:
		len = fz_unit(r) * (1 + fz_below(r, 8));
		break;
	}
	if (len > ue - start)
		len = ue - start;
	op->a = start;
	op->b = start + len;
	/* Now and then an invalid range. */
	if (!fz_below(r, 40)) {
		switch (fz_below(r, 6)) {
		case 0: op->a += 8; break;
		case 1: op->b -= 8; break;
		case 2: op->b = op->a; break;
		case 3: op->b = ue + SZ_4K; break;
		case 4: op->a = 0xffff800000000000ULL;
			op->b = op->a + SZ_2M; break;
		default: op->a = op->b; op->b = op->a - SZ_4K; break;
		}
	}
}

/* An address in (or, rarely, just outside) the session's range. */
static u64 fz_gen_va(struct fz *f, struct fz_rng *r, u64 size)
{
	u64 cs = f->cs, ce = f->ce, va, u;
	size_t i;

	switch (fz_below(r, 16)) {
	case 0: case 1:
		return FZ_CUR;
	case 2:
		return cs;
	case 3:
		return ce >= cs + size ? ce - size : cs;
	case 4: case 5: case 6: case 7:
		/* At or in an existing leaf nearby. */
		va = cs + (fz_rand(r) % (ce - cs));
		i = model_lower(&f->m, va & ~(SZ_4K - 1));
		if (i >= f->m.n)
			i = f->m.n ? f->m.n - 1 : 0;
		if (!f->m.n)
			break;
		va = f->m.v[i].va;
		switch (fz_below(r, 3)) {
		case 0:
			break;
		case 1:
			va = mleaf_end(&f->m.v[i]);
			break;
		default:
			va += fz_rand(r) % spt_level_size(f->m.v[i].level);
			break;
		}
		if (va < cs || va >= ce)
			va = cs;
		return va & ~(fz_below(r, 2) ? size - 1 : SZ_4K - 1);
	case 8:
		return fz_below(r, 2) ? ce : cs - SZ_4K;	/* outside */
	default:
		break;
	}
	u = fz_unit(r);
	if (u < size && fz_below(r, 4))
		u = size;
	va = cs + (fz_rand(r) % (ce - cs));
	va &= ~(u - 1);
	if (va < cs)
		va = cs;
	return va & ~(SZ_4K - 1);
}

static u64 fz_gen_len(struct fz *f, struct fz_rng *r)
{
	u64 pos = f->mva;

	switch (fz_below(r, 16)) {
	case 0:
		return 0;
	case 1:
		return f->ce > pos ? f->ce - pos : 0;
	case 2:
		return SZ_4K + 8;			/* unaligned */
	case 3:
		return ~0ULL - SZ_4K + 1;		/* wraps */
	case 4: case 5:
		return f->ce - f->cs;
	default:
		return fz_unit(r) * (1 + fz_below(r, 4));
	}
}

static u8 fz_gen_flags(struct fz_rng *r)
{
	return fz_rand(r) & (SPT_PROT_ALL & ~SPT_PROT_GLOBAL);
}

static u64 fz_gen_pa(struct fz *f, struct fz_rng *r, u64 size)
{
	u64 pa;

	if (fz_below(r, 4) == 0 && f->last_pa && !(f->last_pa & (size - 1)))
		return f->last_pa;
	/* Untracked PAs: 1 TiB up to 32 TiB, clear of the pool's arena. */
	pa = (1ULL << 40) + fz_rand(r) % (31ULL << 40);
	return pa & ~(size - 1);
}

/* A FZ_MAPRUN: mostly 4 KiB, often across a node boundary. */
static void fz_gen_maprun(struct fz *f, struct fz_rng *r, struct fz_op *op)
{
	unsigned int w = fz_below(r, 20);
	u64 size;

	op->kind = FZ_MAPRUN;
	op->tracked = fz_below(r, 2);
	op->level = w < 14 ? 1 : w < 18 ? 2 : 3;
	if (op->tracked && op->level == 3)
		op->level = 2;
	size = spt_level_size(op->level);
	op->b = fz_below(r, 4) ? 1 + fz_below(r, FZ_SLOTS) :
		1 + fz_below(r, op->level == 1 ? 1100 : 24);
	if (op->tracked) {
		op->slot = fz_below(r, FZ_SLOTS);
		op->keep = fz_below(r, 2);
	} else {
		op->c = fz_gen_pa(f, r, size);
		op->set = fz_below(r, 2);	/* an array, not contiguous */
		f->last_pa = op->c + op->b * size;
	}
	if (!fz_below(r, 8))
		op->clear = 1 + fz_below(r, op->b);
	/* Start where a node of leaves ends, now and then. */
	if (!fz_below(r, 3))
		op->a = ALIGN(fz_gen_va(f, r, size), size * SPT_NR_ENTRIES) -
			size * fz_below(r, 8);
	else
		op->a = fz_gen_va(f, r, size);
	op->flags = fz_gen_flags(r);
	op->cache = fz_below(r, SPT_CACHE_NR);
}

void fz_gen(struct fz *f, struct fz_rng *r, struct fz_op *op)
{
	unsigned int w;

	memset(op, 0, sizeof(*op));
	if (!f->open && (f->m.n > 2000 || f->data_frames > 8192)) {
		/* Keep the state small: clear everything. */
		op->kind = FZ_OPEN;
		op->a = 0;
		op->b = f->m.user_end;
		op->mut = 1;
		f->clear_pending = true;
		return;
	}
	if (f->open && f->clear_pending) {
		f->clear_pending = false;
		op->kind = FZ_UNMAP;
		op->a = 0;
		op->b = f->m.user_end;
		return;
	}
	if (!f->open) {
		w = fz_below(r, 20);
		if (w == 0) {
			op->kind = FZ_PUT;
			op->slot = fz_below(r, FZ_SLOTS);
		} else if (w == 1) {
			op->kind = FZ_DUP;
			op->slot = fz_below(r, FZ_SLOTS);
			op->slot2 = fz_below(r, FZ_SLOTS);
		} else {
			op->kind = FZ_OPEN;
			op->mut = fz_below(r, 10) < 7;
			fz_gen_range(f, r, op);
		}
		return;
	}
	if (!fz_below(r, 7)) {
		op->kind = FZ_CLOSE;
		return;
	}
	w = fz_below(r, 100);
	if (!f->mut) {
		if (w < 50) {
			op->kind = FZ_QUERY;
			op->a = fz_gen_va(f, r, SZ_4K);
		} else if (w < 80) {
			op->kind = FZ_FIND;
			op->a = fz_gen_va(f, r, SZ_4K);
			op->b = fz_gen_len(f, r) & ~(SZ_4K - 1);
		} else {
			op->kind = FZ_JUMP;
			op->a = fz_gen_va(f, r, SZ_4K);
		}
		return;
	}
	if (w < 22) {
		u64 size;

		op->kind = FZ_MAP;
		op->tracked = fz_below(r, 5) < 2;
		w = fz_below(r, 20);
		op->level = w < 11 ? 1 : w < 17 ? 2 : 3;
		if (op->tracked && op->level == 3)
			op->level = 2;
		size = spt_level_size(op->level);
		if (op->tracked) {
			op->slot = fz_below(r, FZ_SLOTS);
			op->keep = fz_below(r, 2);
			if (f->slots[op->slot].live)
				size = spt_level_size(f->slots[op->slot].level);
		} else {
			op->b = fz_gen_pa(f, r, size);
			if (!fz_below(r, 50))
				op->b |= SZ_4K;		/* misaligned pa */
		}
		op->a = fz_gen_va(f, r, size);
		op->flags = fz_gen_flags(r);
		op->cache = fz_below(r, SPT_CACHE_NR);
	} else if (w < 28) {
		fz_gen_maprun(f, r, op);
	} else if (w < 34) {
		op->kind = FZ_MAPRANGE;
		op->a = fz_gen_va(f, r, SZ_4K);
		op->b = fz_unit(r) * (1 + fz_below(r, 3)) +
			SZ_4K * fz_below(r, 3);
		op->c = fz_gen_pa(f, r, fz_unit(r)) + SZ_4K * fz_below(r, 2);
		op->flags = fz_gen_flags(r);
		op->cache = fz_below(r, SPT_CACHE_NR);
	} else if (w < 48) {
		op->kind = FZ_UNMAP;
		op->a = fz_gen_va(f, r, SZ_4K);
		op->b = fz_gen_len(f, r);
	} else if (w < 60) {
		op->kind = w < 54 ? FZ_PROTECT : FZ_PROTECTRUN;
		op->a = fz_gen_va(f, r, SZ_4K);
		op->b = fz_gen_len(f, r);
		op->set = fz_gen_flags(r) & fz_gen_flags(r);
		op->clear = fz_gen_flags(r) & fz_gen_flags(r);
		op->cache = fz_below(r, 2) ? FZ_KEEP_CACHE :
			    fz_below(r, SPT_CACHE_NR);
	} else if (w < 76) {
		op->kind = FZ_QUERY;
		op->a = fz_gen_va(f, r, SZ_4K);
	} else if (w < 88) {
		op->kind = FZ_FIND;
		op->a = fz_gen_va(f, r, SZ_4K);
		op->b = fz_gen_len(f, r) & ~(SZ_4K - 1);
	} else if (w < 95) {
		op->kind = FZ_JUMP;
		op->a = fz_gen_va(f, r, SZ_4K);
	} else if (w < 98) {
		op->kind = FZ_PUT;
		op->slot = fz_below(r, FZ_SLOTS);
	} else {
		op->kind = FZ_DUP;
		op->slot = fz_below(r, FZ_SLOTS);
		op->slot2 = fz_below(r, FZ_SLOTS);
	}
}

/* ---- printing ---- */

static const char *const fz_names[FZ_NR_KINDS] = {
	[FZ_OPEN] = "open", [FZ_CLOSE] = "close", [FZ_JUMP] = "jump",
	[FZ_MAP] = "map", [FZ_MAPRANGE] = "maprange", [FZ_UNMAP] = "unmap",
	[FZ_PROTECT] = "protect", [FZ_QUERY] = "query", [FZ_FIND] = "find",
	[FZ_PUT] = "put", [FZ_DUP] = "dup", [FZ_MAPRUN] = "maprun",
	[FZ_PROTECTRUN] = "protectrun",
};

static void fz_va_str(u64 va, char *buf, size_t len)
{
	if (va == FZ_CUR)
		snprintf(buf, len, "cur");
	else
		snprintf(buf, len, "0x%llx", (unsigned long long)va);
}

void fz_op_str(const struct fz_op *op, char *buf, size_t len)
{
	const char *name = op->kind < FZ_NR_KINDS ? fz_names[op->kind] : "?";
	char va[32];

	fz_va_str(op->a, va, sizeof(va));
	switch (op->kind) {
	case FZ_OPEN:
		snprintf(buf, len, "open%s [0x%llx, 0x%llx)",
			 op->mut ? "_mut" : "", (unsigned long long)op->a,
			 (unsigned long long)op->b);
		break;
	case FZ_CLOSE:
		snprintf(buf, len, "close");
		break;
	case FZ_JUMP:
	case FZ_QUERY:
		snprintf(buf, len, "%s %s", name, va);
		break;
	case FZ_MAP:
		if (op->tracked)
			snprintf(buf, len, "map %s tracked slot %u (level %u if new)%s flags %#x cache %u",
				 va, op->slot, op->level,
				 op->keep ? " keep-handle" : "", op->flags,
				 op->cache);
		else
			snprintf(buf, len, "map %s untracked pa 0x%llx level %u flags %#x cache %u",
				 va, (unsigned long long)op->b, op->level,
				 op->flags, op->cache);
		break;
	case FZ_MAPRANGE:
		snprintf(buf, len, "maprange %s len 0x%llx pa 0x%llx flags %#x cache %u",
			 va, (unsigned long long)op->b,
			 (unsigned long long)op->c, op->flags, op->cache);
		break;
	case FZ_UNMAP:
	case FZ_FIND:
		snprintf(buf, len, "%s %s len 0x%llx", name, va,
			 (unsigned long long)op->b);
		break;
	case FZ_PROTECT:
		snprintf(buf, len, "protect %s len 0x%llx set %#x clear %#x cache %d",
			 va, (unsigned long long)op->b, op->set, op->clear,
			 op->cache == FZ_KEEP_CACHE ? -1 : op->cache);
		break;
	case FZ_MAPRUN:
		if (op->tracked)
			snprintf(buf, len, "maprun %s %llu tracked from slot %u level %u%s bad %d flags %#x cache %u",
				 va, (unsigned long long)op->b, op->slot,
				 op->level, op->keep ? " keep-handles" : "",
				 (int)op->clear - 1, op->flags, op->cache);
		else
			snprintf(buf, len, "maprun %s %llu untracked %s from pa 0x%llx level %u bad %d flags %#x cache %u",
				 va, (unsigned long long)op->b,
				 op->set ? "array" : "contiguous",
				 (unsigned long long)op->c, op->level,
				 (int)op->clear - 1, op->flags, op->cache);
		break;
	case FZ_PROTECTRUN:
		snprintf(buf, len, "protectrun %s len 0x%llx set %#x clear %#x cache %d",
			 va, (unsigned long long)op->b, op->set, op->clear,
			 op->cache == FZ_KEEP_CACHE ? -1 : op->cache);
		break;
	case FZ_PUT:
		snprintf(buf, len, "put slot %u", op->slot);
		break;
	case FZ_DUP:
		snprintf(buf, len, "dup slot %u -> %u", op->slot, op->slot2);
		break;
	default:
		snprintf(buf, len, "? kind %u", op->kind);
		break;
	}
}

void fz_op_write(const struct fz_op *op, char *buf, size_t len)
{
	snprintf(buf, len, "%u %llx %llx %llx %u %u %u %u %u %u %u %u %u %u",
		 op->kind, (unsigned long long)op->a,
		 (unsigned long long)op->b, (unsigned long long)op->c,
		 op->level, op->flags, op->cache, op->set, op->clear, op->slot,
		 op->slot2, op->tracked, op->keep, op->mut);
}

bool fz_op_read(struct fz_op *op, const char *line)
{
	unsigned int v[11];
	unsigned long long a, b, c;

	if (sscanf(line, "%u %llx %llx %llx %u %u %u %u %u %u %u %u %u %u",
		   &v[0], &a, &b, &c, &v[1], &v[2], &v[3], &v[4], &v[5], &v[6],
		   &v[7], &v[8], &v[9], &v[10]) != 14)
		return false;
	memset(op, 0, sizeof(*op));
	op->kind = v[0];
	op->a = a;
	op->b = b;
	op->c = c;
	op->level = v[1];
	op->flags = v[2];
	op->cache = v[3];
	op->set = v[4];
	op->clear = v[5];
	op->slot = v[6];
	op->slot2 = v[7];
	op->tracked = v[8];
	op->keep = v[9];
	op->mut = v[10];
	return op->kind < FZ_NR_KINDS;
}

void fz_print_stats(const struct fz *f)
{
	const struct fz_stats *st = &f->st;

	printf("# maps: %llu 4K, %llu 2M, %llu 1G (%llu tracked), %llu refused; %llu leaves replaced\n",
	       (unsigned long long)st->map_ok[0],
	       (unsigned long long)st->map_ok[1],
	       (unsigned long long)st->map_ok[2],
	       (unsigned long long)st->map_tracked,
	       (unsigned long long)st->map_einval,
	       (unsigned long long)st->replaced);
	printf("# unmaps: %llu calls, %llu leaves, %llu refused; splits %llu; protected %llu leaves, %llu refused\n",
	       (unsigned long long)st->unmap_calls,
	       (unsigned long long)st->unmap_leaves,
	       (unsigned long long)st->unmap_einval,
	       (unsigned long long)f->m.nr_splits,
	       (unsigned long long)st->protect_changed,
	       (unsigned long long)st->protect_einval);
	printf("# runs: %llu map_run calls, %llu leaves, %llu stopped early; %llu protect runs\n",
	       (unsigned long long)st->run_calls,
	       (unsigned long long)st->run_leaves,
	       (unsigned long long)st->run_stopped,
	       (unsigned long long)st->protect_runs);
	printf("# queries: %llu mapped, %llu absent; find_next: %llu hits, %llu misses; refused: %llu opens, %llu jumps\n",
	       (unsigned long long)st->query_mapped,
	       (unsigned long long)st->query_absent,
	       (unsigned long long)st->find_hit,
	       (unsigned long long)st->find_miss,
	       (unsigned long long)st->open_einval,
	       (unsigned long long)st->jump_einval);
	printf("# most leaves at once: %llu; %llu verification walks\n",
	       (unsigned long long)st->max_leaves,
	       (unsigned long long)st->walks);
}
