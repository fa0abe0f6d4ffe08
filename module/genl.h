/* SPDX-License-Identifier: GPL-2.0 */
/* The "shadowpt" generic netlink family: dumps and events. */
#ifndef SPT_GENL_H
#define SPT_GENL_H

#include <linux/types.h>

int spt_genl_init(void);
void spt_genl_exit(void);

/*
 * Multicast an event to the "events" group (no-op when nobody listens).
 * @err is 0 or a positive errno.
 */
void spt_genl_event(u32 type, u32 space_id, u64 va, u64 len, u64 count,
		    int err);

/* Multicast the result of a load window. */
void spt_genl_event_load(u32 space_id, u32 cpu, u32 ops_run, u32 faults,
			 u32 status);

#endif /* SPT_GENL_H */
