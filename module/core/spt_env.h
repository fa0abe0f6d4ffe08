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
#else
#include <spt_shim.h>
#endif

#endif /* SPT_ENV_H */
