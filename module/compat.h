/* SPDX-License-Identifier: GPL-2.0 */
/*
 * Every difference between the kernels shadowpt supports (Debian's 6.1 and
 * 6.12) is absorbed here, and only here.
 */
#ifndef SPT_COMPAT_H
#define SPT_COMPAT_H

#include <linux/version.h>
#include <net/genetlink.h>

/*
 * The attributes of a generic netlink dump request: 6.2 moved them from
 * genl_dumpit_info.attrs into genl_dumpit_info.info.attrs.
 */
static inline struct nlattr **spt_genl_dump_attrs(struct netlink_callback *cb)
{
#if KERNEL_VERSION(6, 2, 0) <= LINUX_VERSION_CODE	/* 6.2 and later */
	return genl_dumpit_info(cb)->info.attrs;
#else
	return genl_dumpit_info(cb)->attrs;
#endif
}

#endif /* SPT_COMPAT_H */
