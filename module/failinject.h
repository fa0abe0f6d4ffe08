/* SPDX-License-Identifier: GPL-2.0 */
/*
 * Fault injection of our own (the Debian kernels have no
 * CONFIG_FAULT_INJECTION): a per-task "fail the Nth allocation" knob,
 * debugfs shadowpt/fail-nth, with the semantics of
 * /proc/self/task/<tid>/fail-nth. Every allocation site of the module goes
 * through one of the wrappers below (or asks spt_fail_alloc() itself: the
 * frame pool has it as its allocation-failure hook, see spt_pool_create()),
 * so that each allocation is one injection point.
 */
#ifndef SPT_FAILINJECT_H
#define SPT_FAILINJECT_H

#include <linux/types.h>
#include <linux/dcache.h>
#include <linux/gfp.h>
#include <linux/slab.h>
#include <linux/mm.h>
#include <linux/cpumask.h>
#include <linux/xarray.h>
#include <linux/seq_file.h>
#include <net/genetlink.h>

/*
 * True if the calling task's (or the task a load window runs for, see
 * spt_fail_proxy_begin()) armed allocation is this one: the caller must
 * then fail as if the allocator had. Safe in atomic context (the frame
 * pool's allocation-failure hook).
 */
bool spt_fail_alloc(void);

/*
 * A load window runs on a kworker with interrupts off, on behalf of the
 * task that asked for it: between begin and end (same CPU, interrupts
 * off), allocations on this CPU count against @task's knob. @task waits
 * for the window, so it outlives it.
 */
struct task_struct;
void spt_fail_proxy_begin(struct task_struct *task);
void spt_fail_proxy_end(void);

int spt_failinject_init(struct dentry *dir);
void spt_failinject_exit(void);

static inline void *spt_kmalloc(size_t size, gfp_t gfp)
{
	return spt_fail_alloc() ? NULL : kmalloc(size, gfp);
}

static inline void *spt_kzalloc(size_t size, gfp_t gfp)
{
	return spt_fail_alloc() ? NULL : kzalloc(size, gfp);
}

static inline void *spt_kmalloc_array(size_t n, size_t size, gfp_t gfp)
{
	return spt_fail_alloc() ? NULL : kmalloc_array(n, size, gfp);
}

static inline void *spt_kcalloc(size_t n, size_t size, gfp_t gfp)
{
	return spt_fail_alloc() ? NULL : kcalloc(n, size, gfp);
}

static inline void *spt_kvmalloc(size_t size, gfp_t gfp)
{
	return spt_fail_alloc() ? NULL : kvmalloc(size, gfp);
}

static inline void *spt_kvcalloc(size_t n, size_t size, gfp_t gfp)
{
	return spt_fail_alloc() ? NULL : kvcalloc(n, size, gfp);
}

static inline struct page *spt_alloc_pages(gfp_t gfp, unsigned int order)
{
	return spt_fail_alloc() ? NULL : alloc_pages(gfp, order);
}

static inline bool spt_zalloc_cpumask_var(cpumask_var_t *mask, gfp_t gfp)
{
	return spt_fail_alloc() ? false : zalloc_cpumask_var(mask, gfp);
}

static inline int spt_xa_alloc_cyclic(struct xarray *xa, u32 *id, void *entry,
				      struct xa_limit limit, u32 *next,
				      gfp_t gfp)
{
	if (spt_fail_alloc())
		return -ENOMEM;
	return xa_alloc_cyclic(xa, id, entry, limit, next, gfp);
}

static inline struct sk_buff *spt_genlmsg_new(size_t payload, gfp_t gfp)
{
	return spt_fail_alloc() ? NULL : genlmsg_new(payload, gfp);
}

static inline void *spt_seq_open_private(struct file *file,
					 const struct seq_operations *ops,
					 int psize)
{
	return spt_fail_alloc() ? NULL : __seq_open_private(file, ops, psize);
}

#endif /* SPT_FAILINJECT_H */
