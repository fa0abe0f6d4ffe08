// SPDX-License-Identifier: GPL-2.0
/*
 * sptnull: the floor of an ioctl, for sptbench (docs/performance.md).
 *
 * A misc device, /dev/sptnull, whose one ioctl returns a constant and
 * touches nothing: what any character-device ioctl costs on this kernel
 * (the system call, the fd lookup, the file_operations dispatch), measured
 * in the same boot as shadowpt's own ioctls. Built and loaded only by
 * scripts/bench, never by the module's users.
 */
#include <linux/module.h>
#include <linux/miscdevice.h>
#include <linux/fs.h>

#define SPTNULL_IOCTL	0x5370	/* any number: the answer is the same */

static long sptnull_ioctl(struct file *file, unsigned int cmd,
			  unsigned long arg)
{
	return cmd == SPTNULL_IOCTL ? 0 : -ENOTTY;
}

static const struct file_operations sptnull_fops = {
	.owner = THIS_MODULE,
	.unlocked_ioctl = sptnull_ioctl,
	.compat_ioctl = sptnull_ioctl,
};

static struct miscdevice sptnull_dev = {
	.minor = MISC_DYNAMIC_MINOR,
	.name = "sptnull",
	.fops = &sptnull_fops,
	.mode = 0600,
};

module_misc_device(sptnull_dev);

MODULE_LICENSE("GPL");
MODULE_DESCRIPTION("sptbench peer: an ioctl that only returns a constant");
