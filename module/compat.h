/* SPDX-License-Identifier: GPL-2.0 */
/*
 * Every difference between the kernels shadowpt supports (Debian's 6.1 and
 * 6.12) is absorbed here, and only here.
 */
#ifndef SPT_COMPAT_H
#define SPT_COMPAT_H

#include <linux/version.h>
#include <net/genetlink.h>
#include <asm/cpufeature.h>
#include <linux/mm.h>

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

/*
 * Does the kernel enable user-mode shadow stacks (MSR_IA32_U_CET may hold
 * another task's settings while a kernel thread runs)? Since 6.6.
 */
static inline bool spt_user_cet_enabled(void)
{
#ifdef X86_FEATURE_USER_SHSTK
	return cpu_feature_enabled(X86_FEATURE_USER_SHSTK);
#else
	return false;
#endif
}

/*
 * Change a VMA's flags in its ->mmap() handler: 6.3 made vm_flags
 * read-only behind vm_flags_set() and vm_flags_clear().
 */
static inline void spt_vm_flags_mod(struct vm_area_struct *vma,
				    vm_flags_t set, vm_flags_t clear)
{
#if KERNEL_VERSION(6, 3, 0) <= LINUX_VERSION_CODE	/* 6.3 and later */
	vm_flags_mod(vma, set, clear);
#else
	vma->vm_flags = (vma->vm_flags | set) & ~clear;
#endif
}

#endif /* SPT_COMPAT_H */
