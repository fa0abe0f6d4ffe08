/* SPDX-License-Identifier: GPL-2.0 */
/*
 * Memory accesses that may fault, for load windows: our own exception-table
 * entries, since copy_from_user_nofault() refuses to run while CR3 is not
 * current's mm. SMAP is lifted (stac/clac) around each access so that user
 * pages of the loaded space are accessible from kernel mode, and so that a
 * fault on a user-half address takes the exception-table path instead of
 * the SMAP-violation oops.
 */
#ifndef SPT_PROBE_H
#define SPT_PROBE_H

#include <linux/types.h>

/* Returns 0 or -EFAULT. @width is 1, 2, 4 or 8. */
int spt_probe_read(unsigned long va, unsigned int width, u64 *val);
int spt_probe_write(unsigned long va, unsigned int width, u64 val);

struct spt_query;
/*
 * Would the protection key of the page @q found (a leaf's bits 59..62,
 * SPT_IOCTL_ENTRY_BITS) deny a data access, a write if @write, under the
 * current PKRU? Only for an effective user page and with CR4.PKE (Linux
 * enables it where the CPU has PKU); fetches are never denied by keys.
 */
bool spt_probe_pkey_denies(const struct spt_query *q, bool write);

#endif /* SPT_PROBE_H */
