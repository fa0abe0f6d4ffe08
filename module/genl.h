/* SPDX-License-Identifier: GPL-2.0 */
/*
 * The "shadowpt" generic netlink family: dumps, and the space layer's
 * events multicast to the "events" group (no-op when nobody listens).
 */
#ifndef SPT_GENL_H
#define SPT_GENL_H

/* Register the family and subscribe to the space events. */
int spt_genl_init(void);
void spt_genl_exit(void);

#endif /* SPT_GENL_H */
