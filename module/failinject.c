// SPDX-License-Identifier: GPL-2.0
/*
 * Per-task fail-nth. A task writes N (>= 1) to debugfs shadowpt/fail-nth:
 * its Nth allocation inside shadowpt from then on fails (1 = the next one).
 * Reading returns the number of allocations still to go before the failure
 * (0 once it has fired, or when nothing is armed). Writing 0 disarms. The
 * state is keyed by thread id and dropped when it fires or is disarmed. It
 * also carries a tag of the task's start time: a knob left armed by a task
 * that exited never fires for a later task that reuses its id.
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

/* tid -> value(tag << SPT_FAIL_TAG_SHIFT | remaining) */
static DEFINE_XARRAY(spt_fail_tasks);
static DEFINE_PER_CPU(struct task_struct *, spt_fail_proxy);

#define SPT_FAIL_TAG_SHIFT	32
#define SPT_FAIL_LEFT_MASK	GENMASK_ULL(SPT_FAIL_TAG_SHIFT - 1, 0)

/* Which life of a thread id: 28 bits of its start time (in 1 µs units). */
static unsigned long spt_fail_tag(const struct task_struct *task)
{
	return (task->start_time >> 10) & GENMASK(27, 0);
}

void spt_fail_proxy_begin(struct task_struct *task)
{
	lockdep_assert_irqs_disabled();
	__this_cpu_write(spt_fail_proxy, task);
}

void spt_fail_proxy_end(void)
{
	lockdep_assert_irqs_disabled();
	__this_cpu_write(spt_fail_proxy, NULL);
}

/* Allocations to go before @task's armed failure; 0 if none is armed. */
static unsigned long spt_fail_left(struct task_struct *task)
{
	void *entry = xa_load(&spt_fail_tasks, task_pid_nr(task));
	unsigned long v;

	if (!entry)
		return 0;
	v = xa_to_value(entry);
	if (v >> SPT_FAIL_TAG_SHIFT != spt_fail_tag(task))
		return 0;	/* armed by an earlier task with this id */
	return v & SPT_FAIL_LEFT_MASK;
}

static int spt_fail_set(struct task_struct *task, unsigned long left,
			gfp_t gfp)
{
	unsigned long tid = task_pid_nr(task);

	if (!left) {
		xa_erase(&spt_fail_tasks, tid);
		return 0;
	}
	return xa_err(xa_store(&spt_fail_tasks, tid,
			       xa_mk_value(spt_fail_tag(task) <<
					   SPT_FAIL_TAG_SHIFT | left), gfp));
}

bool spt_fail_alloc(void)
{
	struct task_struct *task;
	unsigned long left;

	if (xa_empty(&spt_fail_tasks))
		return false;
	/* Set only on a CPU running a window with interrupts off. */
	task = this_cpu_read(spt_fail_proxy);
	if (!task)
		task = current;
	left = spt_fail_left(task);
	if (!left)
		return false;
	/* Replacing an existing value entry never allocates. */
	spt_fail_set(task, left - 1, GFP_ATOMIC);
	return left == 1;
}

static ssize_t spt_fail_nth_read(struct file *file, char __user *buf,
				 size_t len, loff_t *pos)
{
	char tmp[24];
	int n;

	n = scnprintf(tmp, sizeof(tmp), "%lu\n", spt_fail_left(current));
	return simple_read_from_buffer(buf, len, pos, tmp, n);
}

static ssize_t spt_fail_nth_write(struct file *file, const char __user *buf,
				  size_t len, loff_t *pos)
{
	unsigned int n;
	int ret;

	ret = kstrtouint_from_user(buf, len, 0, &n);
	if (ret)
		return ret;
	ret = spt_fail_set(current, n, GFP_KERNEL);
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
