/* SPDX-License-Identifier: GPL-2.0 */
/*
 * Module-wide declarations of shadowpt: parameters and the objects that
 * live as long as the module (the frame pool, the paging configuration).
 */
#ifndef SPT_SHADOWPT_H
#define SPT_SHADOWPT_H

#include <linux/types.h>
#include "core/pt.h"

/* Module parameters (main.c; documented with MODULE_PARM_DESC there). */
extern unsigned int spt_param_pool_mb;
extern unsigned int spt_param_space_mb;
extern unsigned int spt_param_max_spaces;
extern bool spt_param_allow_phys;
extern bool spt_param_poison;
extern bool spt_param_allow_runs;

/*
 * May the caller make or use untracked (raw physical) mappings now?
 * allow_phys must be set, the kernel must not be locked down against
 * /dev/mem-like access, and, for a user-space caller (@user), the task
 * must have CAP_SYS_RAWIO. 0 or -EPERM.
 */
int spt_phys_permission(bool user);

/* The one frame pool every space allocates from (main.c). */
extern struct spt_pool *spt_pool;

/* The paging configuration of the running machine (machine.c). */
extern struct spt_cfg spt_machine_cfg;
int spt_machine_init(void);
/*
 * Copy the running kernel's top-level table (512 entries) into @top, less
 * its per-process LDT slot: entries 256..511 are then the kernel half every
 * process shares.
 */
void spt_machine_kernel_top(u64 *top);
/* Entry @i of that table, as spt_machine_kernel_top() would copy it now. */
u64 spt_machine_kernel_entry(unsigned int i);
/* Largest leaf level of an untracked map: 3, or 2 without GBPAGES. */
extern unsigned int spt_machine_phys_max_level;

/* In-kernel API (kapi.c): destroy what clients left behind. */
void spt_kapi_exit(void);

/* Character device (chardev.c). */
int spt_chardev_init(void);
void spt_chardev_exit(void);

#endif /* SPT_SHADOWPT_H */
