/* SPDX-License-Identifier: GPL-2.0 */
/* Load windows: run a program on a CPU with a space in CR3. */
#ifndef SPT_LOAD_H
#define SPT_LOAD_H

#include <linux/shadowpt.h>

struct spt_space;

/*
 * Instead of ops, a window may run a body of another file (usermode.c):
 * @prepare on the window's CPU before it (interrupts on; an error ends the
 * call with nothing run; @budget_ns is the window's bound), @run inside it
 * (interrupts off, the space in CR3, *@tlb_gen as for spt_space_load_page,
 * @budget_ns the time left), @finish on that CPU after it (interrupts on).
 */
struct spt_load_body {
	int (*prepare)(void *arg, unsigned int cpu, u64 budget_ns);
	void (*run)(struct spt_space *s, int *tlb_gen, u64 budget_ns,
		    void *arg);
	void (*finish)(void *arg);
	void *arg;
};

/* What a face asks of a load window (the ioctl's or the kernel API's). */
struct spt_load_req {
	u32 flags;		/* SPT_LOAD_CPU, SPT_LOAD_FORCE, SPT_LOAD_PAT */
	u32 cpu;			/* with SPT_LOAD_CPU */
	u64 pat;			/* with SPT_LOAD_PAT: the window's */
	struct spt_load_op *ops;	/* nr_ops of them, in kernel memory */
	u32 nr_ops;
	/*
	 * The caller may read and write untracked leaves
	 * (spt_phys_permission()); otherwise such ops end with
	 * SPT_LOAD_ERROR and EPERM.
	 */
	bool phys_ok;
	/*
	 * The caller may run code at CPL 3 (allow_runs and CAP_SYS_ADMIN):
	 * SPT_LOAD_OP_F_USER ops; otherwise the call is refused with EPERM.
	 */
	bool runs_ok;
	const struct spt_load_body *body;	/* with nr_ops 0 */
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
