/* SPDX-License-Identifier: GPL-2.0 */
/*
 * The environment the portable page-table core is written against.
 *
 * In the kernel this is the ordinary set of kernel headers. In user space
 * (tests/, bench/) the build puts tests/shim on the include path, and
 * spt_shim.h provides the same names: u64, atomic_t, READ_ONCE, bit
 * spinlocks, rcu_read_lock, WARN_ON_ONCE, ... with user-space meanings.
 * Nothing in module/core or module/frame/meta.c may include anything else.
 */
#ifndef SPT_ENV_H
#define SPT_ENV_H

#ifdef __KERNEL__
#include <linux/types.h>
#include <linux/errno.h>
#include <linux/kernel.h>
#include <linux/bug.h>
#include <linux/compiler.h>
#include <linux/atomic.h>
#include <linux/preempt.h>
#include <asm/processor.h>
#include <linux/rcupdate.h>
#include <linux/string.h>
#include <linux/bitops.h>
#include <linux/sched.h>
#else
#include <spt_shim.h>
#endif

/*
 * Hooks the core calls when a page-table node gets its frame (after its
 * level is set) and just before the frame goes back to the pool. In the
 * kernel they fire the node_alloc / node_free tracepoints (trace.c); in
 * user space they do nothing.
 */
#ifdef __KERNEL__
void spt_trace_node_alloc(unsigned int level, u64 pa);
void spt_trace_node_free(unsigned int level, u64 pa);
#else
#define spt_trace_node_alloc(level, pa) \
	do { (void)(level); (void)(pa); } while (0)
#define spt_trace_node_free(level, pa) \
	do { (void)(level); (void)(pa); } while (0)
#endif

#endif /* SPT_ENV_H */
