/* SPDX-License-Identifier: GPL-2.0 */
/*
 * Fault injection of our own (the Debian kernels have no
 * CONFIG_FAULT_INJECTION): a per-task "fail the Nth allocation" knob,
 * debugfs shadowpt/fail-nth, with the semantics of
 * /proc/self/task/<tid>/fail-nth. Every allocation site of the module asks
 * spt_fail_alloc() first.
 */
#ifndef SPT_FAILINJECT_H
#define SPT_FAILINJECT_H

#include <linux/types.h>
#include <linux/dcache.h>

/* Byte written over freed frames (slab's POISON_FREE). */
#define SPT_POISON_BYTE 0x6b

bool spt_fail_alloc(void);
int spt_failinject_init(struct dentry *dir);
void spt_failinject_exit(void);

#endif /* SPT_FAILINJECT_H */
