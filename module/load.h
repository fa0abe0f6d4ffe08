/* SPDX-License-Identifier: GPL-2.0 */
/* Load windows: run a program on a CPU with a space in CR3. */
#ifndef SPT_LOAD_H
#define SPT_LOAD_H

#include <linux/shadowpt.h>

struct spt_space;

/* What a face asks of a load window (the ioctl's or the kernel API's). */
struct spt_load_req {
	u32 flags;			/* SPT_LOAD_CPU, SPT_LOAD_FORCE */
	u32 cpu;			/* with SPT_LOAD_CPU */
	struct spt_load_op *ops;	/* nr_ops of them, in kernel memory */
	u32 nr_ops;
	/*
	 * The caller may read and write untracked leaves
	 * (spt_phys_permission()); otherwise such ops end with
	 * SPT_LOAD_ERROR and EPERM.
	 */
	bool phys_ok;
};

/* What the window did (valid when spt_load_window() returned 0). */
struct spt_load_result {
	u32 status;			/* SPT_LOAD_DONE, _STOPPED_TIME */
	u32 cpu;
	u32 ops_run, faults;
	u64 ns;
	u32 tsc_khz;			/* the kernel's tsc_khz */
	u32 cpu_features;		/* SPT_LOAD_CPU_*, the window's CPU */
};

/*
 * Validate @req's ops (their out_ fields are ignored and overwritten),
 * run them in a window and fill in their results and @res.
 */
int spt_load_window(struct spt_space *s, const struct spt_load_req *req,
		    struct spt_load_result *res);

#endif /* SPT_LOAD_H */
