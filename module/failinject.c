// SPDX-License-Identifier: GPL-2.0
/*
 * Per-task fail-nth. A task writes N (>= 1) to debugfs shadowpt/fail-nth:
 * its Nth allocation inside shadowpt from then on fails (1 = the next one).
 * Reading returns the number of allocations still to go before the failure
 * (0 once it has fired, or when nothing is armed). Writing 0 disarms. The
 * state is keyed by thread id and dropped when it fires or is disarmed.
 *
 * A load window allocates on a kworker, for the task that asked for it:
 * while it runs (interrupts off, so nothing else runs on that CPU) a
 * per-CPU proxy names that task, and the window's allocations count
 * against the task's knob.
 */
#include <linux/debugfs.h>
#include <linux/fs.h>
#include <linux/sched.h>
#include <linux/uaccess.h>
#include <linux/xarray.h>
#include <linux/kstrtox.h>
#include <linux/percpu.h>
#include <linux/lockdep.h>

#include "failinject.h"

static DEFINE_XARRAY(spt_fail_tasks);	/* tid -> value(remaining) */
static DEFINE_PER_CPU(pid_t, spt_fail_proxy);	/* 0: none */

void spt_fail_proxy_begin(pid_t tid)
{
	lockdep_assert_irqs_disabled();
	__this_cpu_write(spt_fail_proxy, tid);
}

void spt_fail_proxy_end(void)
{
	lockdep_assert_irqs_disabled();
	__this_cpu_write(spt_fail_proxy, 0);
}

bool spt_fail_alloc(void)
{
	unsigned long tid;
	unsigned long left;
	void *entry;

	if (xa_empty(&spt_fail_tasks))
		return false;
	/* Non-zero only on a CPU running a window with interrupts off. */
	tid = this_cpu_read(spt_fail_proxy);
	if (!tid)
		tid = task_pid_nr(current);
	entry = xa_load(&spt_fail_tasks, tid);
	if (!entry)
		return false;
	left = xa_to_value(entry);
	if (left > 1) {
		/* Replacing an existing value entry never allocates. */
		xa_store(&spt_fail_tasks, tid, xa_mk_value(left - 1),
			 GFP_ATOMIC);
		return false;
	}
	xa_erase(&spt_fail_tasks, tid);
	return true;
}

static ssize_t spt_fail_nth_read(struct file *file, char __user *buf,
				 size_t len, loff_t *pos)
{
	void *entry = xa_load(&spt_fail_tasks, task_pid_nr(current));
	char tmp[24];
	int n;

	n = scnprintf(tmp, sizeof(tmp), "%lu\n",
		      entry ? xa_to_value(entry) : 0UL);
	return simple_read_from_buffer(buf, len, pos, tmp, n);
}

static ssize_t spt_fail_nth_write(struct file *file, const char __user *buf,
				  size_t len, loff_t *pos)
{
	unsigned long tid = task_pid_nr(current);
	unsigned int n;
	int ret;

	ret = kstrtouint_from_user(buf, len, 0, &n);
	if (ret)
		return ret;
	if (n == 0) {
		xa_erase(&spt_fail_tasks, tid);
		return len;
	}
	ret = xa_err(xa_store(&spt_fail_tasks, tid, xa_mk_value(n),
			      GFP_KERNEL));
	return ret ? ret : len;
}

static const struct file_operations spt_fail_nth_fops = {
	.owner = THIS_MODULE,
	.read = spt_fail_nth_read,
	.write = spt_fail_nth_write,
	.llseek = default_llseek,
};

int spt_failinject_init(struct dentry *dir)
{
	debugfs_create_file("fail-nth", 0600, dir, NULL, &spt_fail_nth_fops);
	return 0;
}

void spt_failinject_exit(void)
{
	xa_destroy(&spt_fail_tasks);
}
