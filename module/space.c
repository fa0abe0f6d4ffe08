// SPDX-License-Identifier: GPL-2.0
/*
 * Spaces: the id table and the lifetime of a space (the operations on
 * one are in space_ops.c, its quota in quota.c).
 *
 * Lifetime: the id table (an xarray) holds one reference; every lookup takes
 * another. Creation reserves the id (a reserved id looks absent to lookups
 * and to destroy), builds everything, tells the faces (the CREATED event:
 * debugfs makes the space's directory then), and publishes the space in
 * the table last, handing its creator a reference of its own: ids are
 * predictable, so a destroy of the next id may run the moment the space is
 * published, and the creator must still hold it. Operations run with the
 * space's rwsem held for reading: the core cursors do the fine-grained
 * (per-subtree) locking, so operations on disjoint ranges of one space run
 * in parallel. Destroy unpublishes the id first (new lookups get ENOENT),
 * then takes the rwsem for writing, which waits for the operations in
 * flight, and frees the table.
 *
 * The faces hear of what happens to a space through the events of
 * space_events.h; no space file calls a face.
 */
#include <linux/slab.h>
#include <linux/xarray.h>
#include <linux/sched.h>
#include <linux/sched/signal.h>
#include <linux/sizes.h>
#include <linux/mm.h>
#include <linux/fs.h>
#include <linux/shadowpt.h>

#include "shadowpt.h"
#include "failinject.h"
#include "space_internal.h"
#include "flush.h"
#include "quota.h"
#include "pin.h"
#include "space_events.h"
#include "trace.h"
#include "tables.h"

static DEFINE_XARRAY_ALLOC1(spt_spaces);
/*
 * The sharing spaces, until torn down: CHECK checks them together. One
 * whose id was erased but whose table is not yet torn down (its leaves
 * still hold references on shared frames) is still listed.
 */
static LIST_HEAD(spt_shared_spaces);
static DEFINE_SPINLOCK(spt_shared_lock);
static u64 spt_shared_gen;
static atomic_t spt_nr_spaces = ATOMIC_INIT(0);
static u32 spt_next_id;

u32 spt_space_count(void)
{
	return atomic_read(&spt_nr_spaces);
}

static void spt_space_free_rcu(struct rcu_head *rcu)
{
	struct spt_space *s = container_of(rcu, struct spt_space, rcu);

	spt_tables_free(s->tables);

	free_cpumask_var(s->loaded);
	kfree(s);
}

/* After a grace period: spt_space_lookup_rcu() readers may hold it. */
static void spt_space_free(struct spt_space *s)
{
	call_rcu(&s->rcu, spt_space_free_rcu);
}

struct spt_space *spt_space_lookup_rcu(u32 id)
{
	RCU_LOCKDEP_WARN(!rcu_read_lock_held(), "lookup outside RCU");
	return xa_load(&spt_spaces, id);
}

void spt_space_put(struct spt_space *s)
{
	if (refcount_dec_and_test(&s->ref))
		spt_space_free(s);
}

struct spt_space *spt_space_get(u32 id)
{
	struct spt_space *s;

	rcu_read_lock();
	s = xa_load(&spt_spaces, id);
	if (s && !refcount_inc_not_zero(&s->ref))
		s = NULL;
	rcu_read_unlock();
	return s;
}

struct spt_space *spt_space_next(u32 *id)
{
	unsigned long idx = *id;
	struct spt_space *s;

	rcu_read_lock();
	xa_for_each_start(&spt_spaces, idx, s, *id) {
		if (refcount_inc_not_zero(&s->ref)) {
			rcu_read_unlock();
			*id = idx;
			return s;
		}
	}
	rcu_read_unlock();
	return NULL;
}

static void spt_space_kill(struct spt_space *s);
static void spt_space_teardown(struct spt_space *s);

int spt_space_create(u32 flags, struct file *owner, u64 limit_frames,
		     struct spt_space **out)
{
	struct xa_limit limit = XA_LIMIT(1, U32_MAX);
	struct spt_space_event ev = {};
	struct spt_space *s;
	int ret;

	if (atomic_inc_return(&spt_nr_spaces) > spt_param_max_spaces) {
		ret = -ENOSPC;
		goto err_count;
	}
	ret = -ENOMEM;
	s = spt_kzalloc(sizeof(*s), GFP_KERNEL_ACCOUNT);
	if (!s)
		goto err_count;
	if (!spt_zalloc_cpumask_var(&s->loaded, GFP_KERNEL))
		goto err_space;
	refcount_set(&s->ref, 1);
	init_rwsem(&s->rwsem);
	s->flags = flags;
	s->owner_pid = task_tgid_nr(current);
	s->owner_file = owner;
	spt_quota_init(s, limit_frames ?:
		       (u64)spt_param_space_mb * (SZ_1M / PAGE_SIZE));
	spt_machine_kernel_top(s->kernel_top);
	ret = spt_pt_init(&s->pt, &spt_machine_cfg, spt_pool, s->kernel_top);
	if (ret)
		goto err_mask;
	spt_pins_init(s);
	/* Reserve the id: nobody can look it up or destroy it yet. */
	ret = spt_xa_alloc_cyclic(&spt_spaces, &s->id, NULL, limit,
				  &spt_next_id, GFP_KERNEL);
	if (ret < 0)
		goto err_pt;
	ev.space_id = s->id;
	trace_spt_space_create(s->id, s->pt.cfg->levels, s->pt.root_pa);
	spt_space_event(SPT_SPACE_EV_CREATED, &ev);
	/* The id table's reference and the caller's. */
	refcount_set(&s->ref, 2);
	/*
	 * Publish last: from here on anyone may destroy it (ids are
	 * predictable), and only the caller's reference keeps it.
	 * Replacing the reserved entry allocates nothing.
	 */
	if (WARN_ON_ONCE(xa_is_err(xa_store(&spt_spaces, s->id, s,
					    GFP_KERNEL)))) {
		xa_erase(&spt_spaces, s->id);
		spt_space_kill(s);
		spt_space_put(s);
		return -ENOMEM;
	}
	*out = s;
	return 0;

err_pt:
	spt_space_teardown(s);
err_mask:
	free_cpumask_var(s->loaded);
err_space:
	kfree(s);
err_count:
	atomic_dec(&spt_nr_spaces);
	return ret;
}

static void spt_space_teardown(struct spt_space *s)
{
	struct spt_flusher fl;

	spt_flusher_init(&fl);
	spt_pt_destroy(&s->pt, &fl);
	spt_flush_finish(s, &fl);
	spt_pins_destroy(s);
}

void spt_space_set_shared(struct spt_space *s)
{
	spin_lock(&spt_shared_lock);
	if (!s->shared) {
		WRITE_ONCE(s->shared, true);
		list_add_tail(&s->share_node, &spt_shared_spaces);
		spt_shared_gen++;
	}
	spin_unlock(&spt_shared_lock);
}

unsigned int spt_shared_spaces_get(struct spt_space **v, unsigned int cap,
				   u64 *gen)
{
	struct spt_space *x;
	unsigned int n = 0;

	spin_lock(&spt_shared_lock);
	list_for_each_entry(x, &spt_shared_spaces, share_node)
		n++;
	if (n <= cap) {
		n = 0;
		list_for_each_entry(x, &spt_shared_spaces, share_node) {
			/* Listed: the id table's reference is still held. */
			refcount_inc(&x->ref);
			v[n++] = x;
		}
	}
	*gen = spt_shared_gen;
	spin_unlock(&spt_shared_lock);
	return n;
}

u64 spt_shared_spaces_gen(void)
{
	u64 gen;

	spin_lock(&spt_shared_lock);
	gen = spt_shared_gen;
	spin_unlock(&spt_shared_lock);
	return gen;
}

static void spt_space_kill(struct spt_space *s)
{
	struct spt_space_event ev = { .space_id = s->id };

	/*
	 * Before the rwsem: a subscriber may wait for readers of the space
	 * (debugfs removes its directory, waiting for reads in progress).
	 */
	spt_space_event(SPT_SPACE_EV_DESTROYING, &ev);
	down_write(&s->rwsem);
	WRITE_ONCE(s->dead, true);
	/* Lockless readers that see the table torn down also see dead. */
	smp_wmb();
	spt_tables_kill(s);
	spt_tables_change_begin(s);
	spt_space_teardown(s);
	spt_tables_change_end(s);
	up_write(&s->rwsem);
	if (READ_ONCE(s->shared)) {
		spin_lock(&spt_shared_lock);
		list_del(&s->share_node);
		spin_unlock(&spt_shared_lock);
	}
	atomic_dec(&spt_nr_spaces);
	trace_spt_space_destroy(s->id);
	spt_space_event(SPT_SPACE_EV_DESTROYED, &ev);
	spt_space_put(s);	/* the id table's reference */
}

int spt_space_destroy(u32 id)
{
	struct spt_space *s;

	/* A published space only: a reserved id is still its creator's. */
	xa_lock(&spt_spaces);
	s = xa_load(&spt_spaces, id);
	if (s)
		__xa_erase(&spt_spaces, id);
	xa_unlock(&spt_spaces);
	if (!s)
		return -ENOENT;
	spt_space_kill(s);
	return 0;
}

int spt_space_destroy_exact(struct spt_space *s)
{
	if (xa_cmpxchg(&spt_spaces, s->id, s, NULL, GFP_KERNEL) != s)
		return -ENOENT;
	spt_space_kill(s);
	return 0;
}

void spt_space_release_file(struct file *file)
{
	struct spt_space *s;
	u32 id = 1;

	/*
	 * Each space is looked at with a reference held, so that a destroy
	 * from elsewhere (another descriptor, netlink) cannot free it under
	 * us; owner_file never changes after creation.
	 */
	while ((s = spt_space_next(&id))) {
		if (s->owner_file == file)
			spt_space_destroy_exact(s);
		spt_space_put(s);
		if (id == U32_MAX)
			break;
		id++;
	}
}

void spt_spaces_exit(void)
{
	struct spt_space *s;
	unsigned long id;

	xa_for_each(&spt_spaces, id, s) {
		xa_erase(&spt_spaces, id);
		spt_space_kill(s);
	}
	xa_destroy(&spt_spaces);
	/* The spaces' structs are freed by RCU callbacks of this module. */
	rcu_barrier();
}

int spt_space_enter(struct spt_space *s)
{
	down_read(&s->rwsem);
	if (s->dead) {
		up_read(&s->rwsem);
		return -ENOENT;
	}
	return 0;
}

void spt_space_leave(struct spt_space *s)
{
	up_read(&s->rwsem);
}

u32 spt_space_id(const struct spt_space *s)
{
	return s->id;
}

unsigned int spt_space_levels(const struct spt_space *s)
{
	return s->pt.cfg->levels;
}

void spt_space_snap(const struct spt_space *s, struct spt_space_snap *snap)
{
	unsigned int cpu;

	snap->id = s->id;
	snap->flags = s->flags;
	snap->owner_pid = s->owner_pid;
	snap->levels = s->pt.cfg->levels;
	snap->root_pa = s->pt.root_pa;
	snap->data_frames = atomic64_read(&s->data_frames);
	snap->limit_frames = s->limit_frames;
	snap->node_frames = spt_pt_nr_nodes(&s->pt);
	snap->loaded_cpus = 0;
	for_each_cpu(cpu, s->loaded)
		if (cpu < 64)
			snap->loaded_cpus |= 1ULL << cpu;
}
