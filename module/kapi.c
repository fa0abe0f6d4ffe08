// SPDX-License-Identifier: GPL-2.0
/*
 * The in-kernel API (include/linux/shadowpt_kapi.h): thin wrappers over
 * the space layer (its cursors: struct spt_space_cursor) and load.c,
 * exported to other modules.
 *
 * A client's space handle (struct shadowpt_space) holds a reference on its
 * space and keeps what the handle owns: the frames allocated and not yet
 * mapped, and the number of cursors open. Cursors are on one list, with
 * the task that opened each: a task that holds a cursor (preemption off,
 * node locks held) and calls something that may sleep or lock again gets
 * -EDEADLK instead of a hang. Everything here is under spt_kapi_lock, a
 * spinlock (cursor operations run with preemption off).
 */
#include <linux/module.h>
#include <linux/list.h>
#include <linux/sched.h>
#include <linux/sizes.h>
#include <linux/spinlock.h>
#include <linux/string.h>
#include <linux/shadowpt.h>
#include <linux/shadowpt_kapi.h>

#include "shadowpt.h"
#include "failinject.h"
#include "space.h"
#include "prop.h"
#include "quota.h"
#include "load.h"

/* Pool frames a CursorMut reserves for nodes (a split, a new subtree). */
#define SPT_KAPI_RESERVE	(2 * SPT_MAX_LEVELS)

struct shadowpt_space {
	struct spt_space *s;		/* one reference held */
	struct list_head node;		/* on spt_kapi_spaces */
	struct list_head frames;	/* allocated, not mapped */
	unsigned int nr_cursors;
	bool dying;			/* destroy in progress */
};

struct shadowpt_frame {
	struct shadowpt_space *sp;
	struct list_head node;		/* on sp->frames */
	u64 pa;
	unsigned int level;
};

struct shadowpt_cursor {
	struct spt_space_cursor sc;
	struct shadowpt_space *sp;
	struct task_struct *owner;
	struct list_head node;		/* on spt_kapi_cursors */
	bool mut;
};

static DEFINE_SPINLOCK(spt_kapi_lock);
static LIST_HEAD(spt_kapi_spaces);
static LIST_HEAD(spt_kapi_cursors);

/* Does the calling task hold a cursor? */
static bool spt_kapi_holds_cursor(void)
{
	struct shadowpt_cursor *c;
	bool held = false;

	spin_lock(&spt_kapi_lock);
	list_for_each_entry(c, &spt_kapi_cursors, node) {
		if (c->owner == current) {
			held = true;
			break;
		}
	}
	spin_unlock(&spt_kapi_lock);
	return held;
}

int shadowpt_space_create(const struct shadowpt_space_opts *opts,
			  struct shadowpt_space **out)
{
	u64 max = (u64)READ_ONCE(spt_param_space_mb) * SZ_1M;
	struct shadowpt_space_opts o = {};
	struct shadowpt_space *sp;
	struct spt_space *s;
	int ret;

	if (!out)
		return -EINVAL;
	if (opts)
		o = *opts;
	if (o.flags || !IS_ALIGNED(o.limit_bytes, PAGE_SIZE) ||
	    o.limit_bytes > max || (o.levels && o.levels != 4 && o.levels != 5))
		return -EINVAL;
	if (o.levels && o.levels != spt_machine_cfg.levels)
		return -EOPNOTSUPP;
	if (spt_kapi_holds_cursor())
		return -EDEADLK;
	sp = spt_kzalloc(sizeof(*sp), GFP_KERNEL);
	if (!sp)
		return -ENOMEM;
	INIT_LIST_HEAD(&sp->frames);
	/*
	 * The reference create hands us is the handle's own (the id table
	 * holds the other): ids are predictable, and the space may be
	 * destroyed through the uAPI as soon as it is published.
	 */
	ret = spt_space_create(0, NULL, o.limit_bytes >> PAGE_SHIFT, &s);
	if (ret)
		goto err_free;
	sp->s = spt_space_get(spt_space_id(s));
	if (sp->s)
		spt_space_put(sp->s);
	if (sp->s != s) {
		/* Destroyed through the uAPI before we got here. */
		spt_space_put(s);
		ret = -ENOENT;
		goto err_free;
	}
	spin_lock(&spt_kapi_lock);
	list_add(&sp->node, &spt_kapi_spaces);
	spin_unlock(&spt_kapi_lock);
	*out = sp;
	return 0;

err_free:
	kfree(sp);
	return ret;
}
EXPORT_SYMBOL_GPL(shadowpt_space_create);

/* Destroy the space (if still published) and free the handle. */
static int spt_kapi_release(struct shadowpt_space *sp)
{
	int ret = spt_space_destroy_exact(sp->s);

	spt_space_put(sp->s);
	kfree(sp);
	return ret;
}

int shadowpt_space_destroy(struct shadowpt_space *sp)
{
	int ret = 0;

	if (!sp)
		return -EINVAL;
	if (spt_kapi_holds_cursor())
		return -EDEADLK;
	spin_lock(&spt_kapi_lock);
	if (sp->nr_cursors || !list_empty(&sp->frames) || sp->dying) {
		ret = -EBUSY;
	} else {
		sp->dying = true;
		list_del(&sp->node);
	}
	spin_unlock(&spt_kapi_lock);
	if (ret)
		return ret;
	return spt_kapi_release(sp);
}
EXPORT_SYMBOL_GPL(shadowpt_space_destroy);

u32 shadowpt_space_id(const struct shadowpt_space *sp)
{
	return spt_space_id(sp->s);
}
EXPORT_SYMBOL_GPL(shadowpt_space_id);

unsigned int shadowpt_space_levels(const struct shadowpt_space *sp)
{
	return spt_space_levels(sp->s);
}
EXPORT_SYMBOL_GPL(shadowpt_space_levels);

u64 shadowpt_space_user_end(const struct shadowpt_space *sp)
{
	return spt_cfg_user_end(&spt_machine_cfg);
}
EXPORT_SYMBOL_GPL(shadowpt_space_user_end);

#define SPT_KAPI_MSG_MAX	256

int shadowpt_space_check(struct shadowpt_space *sp, char *msg,
			 size_t msg_len)
{
	char buf[SPT_KAPI_MSG_MAX] = "";
	int ret;

	if (spt_kapi_holds_cursor())
		return -EDEADLK;
	ret = spt_space_check(sp->s, buf, sizeof(buf));
	if (msg && msg_len)
		strscpy(msg, buf, msg_len);
	return ret;
}
EXPORT_SYMBOL_GPL(shadowpt_space_check);

int shadowpt_frame_alloc(struct shadowpt_space *sp, unsigned int level,
			 struct shadowpt_frame **out)
{
	struct spt_space *s = sp->s;
	struct shadowpt_frame *f;
	bool dying;
	int ret;

	if (!out || (level != 1 && level != 2))
		return -EINVAL;
	if (spt_kapi_holds_cursor())
		return -EDEADLK;
	f = spt_kzalloc(sizeof(*f), GFP_KERNEL);
	if (!f)
		return -ENOMEM;
	f->sp = sp;
	f->level = level;
	ret = spt_space_enter(s);
	if (ret)
		goto err_free;
	ret = spt_quota_frame_alloc(s, level, &f->pa);
	if (ret)
		goto err_leave;
	spt_space_leave(s);
	spin_lock(&spt_kapi_lock);
	dying = sp->dying;
	if (!dying)
		list_add(&f->node, &sp->frames);
	spin_unlock(&spt_kapi_lock);
	if (dying) {
		/* Racing with shadowpt_space_destroy(): a caller's bug. */
		spt_quota_frames_put(s, &f->pa, 1, level);
		kfree(f);
		return -ENOENT;
	}
	*out = f;
	return 0;

err_leave:
	spt_space_leave(s);
err_free:
	kfree(f);
	return ret;
}
EXPORT_SYMBOL_GPL(shadowpt_frame_alloc);

void shadowpt_frame_free(struct shadowpt_frame *f)
{
	struct spt_space *s;

	if (!f)
		return;
	s = f->sp->s;
	spin_lock(&spt_kapi_lock);
	list_del(&f->node);
	spin_unlock(&spt_kapi_lock);
	spt_quota_frames_put(s, &f->pa, 1, f->level);
	kfree(f);
}
EXPORT_SYMBOL_GPL(shadowpt_frame_free);

u64 shadowpt_frame_pa(const struct shadowpt_frame *f)
{
	return f->pa;
}
EXPORT_SYMBOL_GPL(shadowpt_frame_pa);

void *shadowpt_frame_ptr(const struct shadowpt_frame *f)
{
	return spt_pool_va(spt_pool, f->pa);
}
EXPORT_SYMBOL_GPL(shadowpt_frame_ptr);

int shadowpt_cursor_new(struct shadowpt_space *sp, u64 start, u64 end,
			u32 flags, struct shadowpt_cursor **out)
{
	struct shadowpt_cursor *c;
	struct spt_space *s = sp->s;
	int ret;

	if (!out || flags & ~SHADOWPT_CURSOR_MUT || start >= end ||
	    !spt_range_ok(start, end - start, PAGE_SIZE))
		return -EINVAL;
	if (spt_kapi_holds_cursor())
		return -EDEADLK;
	c = spt_kzalloc(sizeof(*c), GFP_KERNEL);
	if (!c)
		return -ENOMEM;
	c->sp = sp;
	c->owner = current;
	c->mut = flags & SHADOWPT_CURSOR_MUT;
	ret = spt_space_cursor_open(&c->sc, s, start, end, c->mut,
				    SPT_KAPI_RESERVE);
	if (ret)
		goto err_free;
	spin_lock(&spt_kapi_lock);
	if (sp->dying) {
		ret = -ENOENT;
	} else {
		list_add(&c->node, &spt_kapi_cursors);
		sp->nr_cursors++;
	}
	spin_unlock(&spt_kapi_lock);
	if (ret) {
		spt_space_cursor_close(&c->sc);
		goto err_free;
	}
	*out = c;
	return 0;

err_free:
	kfree(c);
	return ret;
}
EXPORT_SYMBOL_GPL(shadowpt_cursor_new);

void shadowpt_cursor_drop(struct shadowpt_cursor *c)
{
	struct shadowpt_space *sp = c->sp;

	spin_lock(&spt_kapi_lock);
	list_del(&c->node);
	spin_unlock(&spt_kapi_lock);
	spt_space_cursor_close(&c->sc);
	/* Last: the handle may be destroyed from here on. */
	spin_lock(&spt_kapi_lock);
	sp->nr_cursors--;
	spin_unlock(&spt_kapi_lock);
	kfree(c);
}
EXPORT_SYMBOL_GPL(shadowpt_cursor_drop);

u64 shadowpt_cursor_va(const struct shadowpt_cursor *c)
{
	return spt_space_cursor_va(&c->sc);
}
EXPORT_SYMBOL_GPL(shadowpt_cursor_va);

int shadowpt_cursor_query(struct shadowpt_cursor *c,
			  struct shadowpt_mapping *m)
{
	struct spt_query q;
	int ret;

	if (!m)
		return -EINVAL;
	ret = spt_space_cursor_query(&c->sc, &q);
	if (ret)
		return ret;
	memset(m, 0, sizeof(*m));
	m->va_start = q.va_start;
	m->va_end = q.va_end;
	m->level = q.level;
	m->mapped = q.mapped;
	if (q.mapped) {
		m->pa = q.item.pa;
		m->tracked = q.item.tracked;
		m->prot = spt_prop_to_uapi(&q.prop);
		m->cache = q.prop.cache;
	}
	return 0;
}
EXPORT_SYMBOL_GPL(shadowpt_cursor_query);

/* Is @len a non-zero page multiple that fits from the cursor's va on? */
static bool spt_kapi_len_ok(const struct shadowpt_cursor *c, u64 len)
{
	return len && IS_ALIGNED(len, PAGE_SIZE) &&
	       len <= spt_space_cursor_end(&c->sc) -
		      spt_space_cursor_va(&c->sc);
}

int shadowpt_cursor_find_next(struct shadowpt_cursor *c, u64 len)
{
	if (!spt_kapi_len_ok(c, len))
		return -EINVAL;
	return spt_space_cursor_find_next(&c->sc, len) ? 1 : 0;
}
EXPORT_SYMBOL_GPL(shadowpt_cursor_find_next);

int shadowpt_cursor_jump(struct shadowpt_cursor *c, u64 va)
{
	return spt_space_cursor_jump(&c->sc, va);
}
EXPORT_SYMBOL_GPL(shadowpt_cursor_jump);

/* The checks every map makes before anything else (-EINVAL). */
static bool spt_kapi_map_ok(const struct shadowpt_cursor *c,
			    unsigned int level, u32 prot, u32 cache,
			    u32 flags, struct spt_prop *prop)
{
	u64 va = spt_space_cursor_va(&c->sc);
	u64 end = spt_space_cursor_end(&c->sc);
	u64 size = spt_level_size(level);

	return c->mut && !(flags & ~SHADOWPT_MAP_REPLACE) &&
	       spt_prop_from_uapi(prot, cache, prop) &&
	       IS_ALIGNED(va, size) && va < end && size <= end - va;
}

/* Map @item at the cursor: -EEXIST over a mapping unless replacing. */
static int spt_kapi_map(struct shadowpt_cursor *c, const struct spt_item *item,
			const struct spt_prop *prop, u32 flags)
{
	return spt_space_cursor_map(&c->sc, item, prop,
				    flags & SHADOWPT_MAP_REPLACE);
}

int shadowpt_cursor_map_frame(struct shadowpt_cursor *c,
			      struct shadowpt_frame *f, u32 prot, u32 cache,
			      u32 flags)
{
	struct spt_prop prop;
	struct spt_item item = {};
	int ret;

	if (!f || f->sp != c->sp ||
	    !spt_kapi_map_ok(c, f->level, prot, cache, flags, &prop))
		return -EINVAL;
	item.pa = f->pa;
	item.level = f->level;
	item.tracked = true;
	ret = spt_kapi_map(c, &item, &prop, flags);
	if (ret)
		return ret;
	/* The mapping owns the frame's reference now. */
	spin_lock(&spt_kapi_lock);
	list_del(&f->node);
	spin_unlock(&spt_kapi_lock);
	kfree(f);
	return 0;
}
EXPORT_SYMBOL_GPL(shadowpt_cursor_map_frame);

int shadowpt_cursor_map_phys(struct shadowpt_cursor *c, u64 pa,
			     unsigned int level, u32 prot, u32 cache,
			     u32 flags)
{
	u64 pa_last = spt_machine_cfg.pa_mask | (SPT_PAGE_SIZE - 1);
	struct spt_prop prop;
	struct spt_item item = {};
	u64 size;

	if (level < 1 || level > spt_machine_phys_max_level)
		return -EINVAL;
	size = spt_level_size(level);
	if (!IS_ALIGNED(pa, size) || pa > pa_last || size - 1 > pa_last - pa ||
	    !spt_kapi_map_ok(c, level, prot, cache, flags, &prop))
		return -EINVAL;
	if (spt_phys_permission(false))
		return -EPERM;
	item.pa = pa;
	item.level = level;
	item.tracked = false;
	return spt_kapi_map(c, &item, &prop, flags);
}
EXPORT_SYMBOL_GPL(shadowpt_cursor_map_phys);

long shadowpt_cursor_unmap(struct shadowpt_cursor *c, u64 len)
{
	if (!c->mut || !spt_kapi_len_ok(c, len))
		return -EINVAL;
	return spt_space_cursor_unmap(&c->sc, len);
}
EXPORT_SYMBOL_GPL(shadowpt_cursor_unmap);

int shadowpt_cursor_protect_next(struct shadowpt_cursor *c, u64 len,
				 u32 prot, int cache, u64 *start, u64 *end)
{
	struct spt_prot_op op;
	struct spt_prop prop;
	u64 ps, pe;
	int ret;

	if (!c->mut || !spt_kapi_len_ok(c, len) ||
	    (cache != SHADOWPT_CACHE_KEEP && (cache < 0 ||
					      cache >= SPT_CACHE_NR)) ||
	    !spt_prop_from_uapi(prot, cache < 0 ? 0 : cache, &prop))
		return -EINVAL;
	op.set = prop.flags;
	op.clear = SPT_PROT_SETTABLE;
	op.cache = cache < 0 ? -1 : (s8)cache;
	ret = spt_space_cursor_protect_next(&c->sc, len, &op, &ps, &pe);
	if (ret > 0) {
		if (start)
			*start = ps;
		if (end)
			*end = pe;
	}
	return ret;
}
EXPORT_SYMBOL_GPL(shadowpt_cursor_protect_next);

int shadowpt_load(struct shadowpt_space *sp, u32 flags, u32 cpu,
		  struct spt_load_op *ops, u32 nr_ops,
		  struct shadowpt_load_result *res)
{
	struct spt_load_req req = {
		.flags = flags, .cpu = cpu, .ops = ops, .nr_ops = nr_ops,
	};
	struct spt_load_result r;
	int ret;

	if (!ops || !res || flags & ~(SPT_LOAD_CPU | SPT_LOAD_FORCE) ||
	    (!(flags & SPT_LOAD_CPU) && cpu) || !nr_ops ||
	    nr_ops > SPT_LOAD_MAX_OPS)
		return -EINVAL;
	if (spt_kapi_holds_cursor())
		return -EDEADLK;
	req.phys_ok = !spt_phys_permission(false);
	ret = spt_load_window(sp->s, &req, &r);
	if (ret)
		return ret;
	res->status = r.status;
	res->cpu = r.cpu;
	res->ops_run = r.ops_run;
	res->faults = r.faults;
	res->ns = r.ns;
	res->tsc_khz = r.tsc_khz;
	res->cpu_features = r.cpu_features;
	return 0;
}
EXPORT_SYMBOL_GPL(shadowpt_load);

void spt_kapi_exit(void)
{
	struct shadowpt_space *sp, *next;
	struct shadowpt_frame *f, *fnext;
	unsigned int n = 0;
	LIST_HEAD(left);

	spin_lock(&spt_kapi_lock);
	list_splice_init(&spt_kapi_spaces, &left);
	spin_unlock(&spt_kapi_lock);
	list_for_each_entry_safe(sp, next, &left, node) {
		list_for_each_entry_safe(f, fnext, &sp->frames, node)
			shadowpt_frame_free(f);
		spt_kapi_release(sp);
		n++;
	}
	if (n)
		pr_warn("shadowpt: %u space handles of in-kernel clients left at unload, destroyed\n",
			n);
}
