// SPDX-License-Identifier: GPL-2.0
/*
 * shadowpt: x86-64 page tables of your own, built by a cursor API modelled
 * on Asterinas OSTD's verified page table, driven from user space through
 * /dev/shadowpt and the "shadowpt" generic netlink family.
 *
 * Module init and exit: bring the layers up bottom to top, tear them down
 * in reverse, with the unwind in reverse err_ labels.
 */
#include <linux/module.h>
#include <linux/moduleparam.h>
#include <linux/debugfs.h>
#include <linux/mm.h>
#include <linux/sizes.h>
#include <linux/security.h>
#include <linux/capability.h>

#include "shadowpt.h"
#include "failinject.h"
#include "space.h"
#include "genl.h"
#include "debugfs.h"
#include "bench.h"
#include "flush.h"
#include "usermode.h"

unsigned int spt_param_pool_mb = 256;
module_param_named(pool_mb, spt_param_pool_mb, uint, 0444);
MODULE_PARM_DESC(pool_mb,
		 "Limit of the frame pool in MiB, all spaces together (page-table nodes and tracked frames); allocations past it fail with ENOMEM (default 256)");

unsigned int spt_param_space_mb = 128;
module_param_named(space_mb, spt_param_space_mb, uint, 0644);
MODULE_PARM_DESC(space_mb,
		 "Limit of pool memory one space may hold, in MiB, for its data frames and, separately, for its page-table nodes; past it operations fail with ENOSPC (default 128)");

unsigned int spt_param_max_spaces = 64;
module_param_named(max_spaces, spt_param_max_spaces, uint, 0644);
MODULE_PARM_DESC(max_spaces,
		 "Maximum number of live spaces; creating more fails with ENOSPC (default 64)");

bool spt_param_allow_phys;
module_param_named(allow_phys, spt_param_allow_phys, bool, 0644);
MODULE_PARM_DESC(allow_phys,
		 "Allow untracked mappings of raw physical ranges (also needs CAP_SYS_RAWIO) (default N)");

bool spt_param_allow_runs;
module_param_named(allow_runs, spt_param_allow_runs, bool, 0644);
MODULE_PARM_DESC(allow_runs,
		 "Allow SPT_IOCTL_RUN: user code run at CPL 3 in a space, in a load window (also needs CAP_SYS_ADMIN) (default N)");

bool spt_param_poison = true;
module_param_named(poison, spt_param_poison, bool, 0444);
MODULE_PARM_DESC(poison,
		 "Fill freed frames with 0x6b so a stale translation reads poison, not data (default Y)");

int spt_phys_permission(bool user)
{
	if (!READ_ONCE(spt_param_allow_phys) ||
	    security_locked_down(LOCKDOWN_DEV_MEM))
		return -EPERM;
	if (user && !capable(CAP_SYS_RAWIO))
		return -EPERM;
	return 0;
}

struct spt_pool *spt_pool;
static struct dentry *spt_debugfs_dir;

static int __init spt_init(void)
{
	u64 limit_frames = (u64)spt_param_pool_mb * (SZ_1M / PAGE_SIZE);
	int ret;

	ret = spt_machine_init();
	if (ret) {
		pr_err("shadowpt: unsupported paging configuration\n");
		return ret;
	}
	spt_pool = spt_pool_create(limit_frames, spt_param_poison,
				   spt_fail_alloc);
	if (!spt_pool)
		return -ENOMEM;
	/* Frames waiting for a grace period: a quarter of the pool at most. */
	spt_reclaim_init_queue(limit_frames);
	spt_pool_set_reclaim(spt_pool, spt_reclaim_wait_oldest);
	spt_debugfs_dir = debugfs_create_dir("shadowpt", NULL);
	ret = spt_failinject_init(spt_debugfs_dir);
	if (ret)
		goto err_dir;
	/* Spaces need no init: their id table and event chain are static. */
	ret = spt_debugfs_init(spt_debugfs_dir);
	if (ret)
		goto err_failinject;
	spt_bench_init(spt_debugfs_dir);
	ret = spt_genl_init();
	if (ret)
		goto err_bench;
	ret = spt_usermode_init();
	if (ret)
		goto err_genl;
	ret = spt_chardev_init();
	if (ret)
		goto err_usermode;
	pr_info("shadowpt: loaded, %u-level paging, pool limit %u MiB\n",
		spt_machine_cfg.levels, spt_param_pool_mb);
	return 0;

err_usermode:
	spt_usermode_exit();
err_genl:
	spt_genl_exit();
err_bench:
	spt_bench_exit();
	spt_debugfs_exit();
err_failinject:
	spt_failinject_exit();
err_dir:
	debugfs_remove_recursive(spt_debugfs_dir);
	spt_pool_destroy(spt_pool);
	return ret;
}

static void __exit spt_exit(void)
{
	u64 leaked;

	spt_chardev_exit();
	/* The kernel API has no init: its clients' leftovers go first. */
	spt_kapi_exit();
	spt_usermode_exit();
	spt_genl_exit();
	spt_bench_exit();
	spt_debugfs_exit();
	/* The spaces nobody destroyed, below every face. */
	spt_spaces_exit();
	/* What they queued for a grace period, before the pool goes. */
	spt_reclaim_exit();
	spt_failinject_exit();
	debugfs_remove_recursive(spt_debugfs_dir);
	leaked = spt_pool_destroy(spt_pool);
	if (leaked)
		pr_err("shadowpt: %llu frames still in use at unload\n",
		       leaked);
}

module_init(spt_init);
module_exit(spt_exit);

MODULE_LICENSE("GPL");
MODULE_AUTHOR("shadowpt developers");
MODULE_DESCRIPTION("Experimental x86-64 address spaces with a cursor-based page-table core");
MODULE_VERSION(SPT_VERSION);
