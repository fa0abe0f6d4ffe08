// SPDX-License-Identifier: GPL-2.0
/*
 * Definitions behind spt_shim.h: the per-thread preemption and RCU nesting
 * counts.
 */
#include <spt_shim.h>

__thread int spt_shim_preempt_count;
__thread int spt_shim_rcu_depth;
