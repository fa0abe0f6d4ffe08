// SPDX-License-Identifier: GPL-2.0
/*
 * Load windows: let the MMU walk a space.
 *
 * A window runs on one target CPU, in a kworker bound to it
 * (smp_call_on_cpu: process context, so it never interrupts a cursor that
 * holds node locks on that CPU). With interrupts off it saves CR3, writes
 * the space's root with PCID 0 (Linux never uses PCID 0; a CR3 write without
 * the no-flush bit flushes it), runs a bounded program, and writes the saved
 * CR3 back exactly. Nothing in between schedules or returns to user mode.
 *
 * While the window runs, the space counts its CPU as loaded
 * (spt_space_load_begin): unmap/protect from other CPUs then send a flush
 * IPI to this CPU, which is taken only once interrupts are on again, and
 * nothing they unlinked goes back to the pool before that (flush.c). So
 * that the MMU never uses a translation older than the table the software
 * walker reads, every access op first holds its page under a read cursor
 * (spt_space_load_page: no change to that page can happen meanwhile) and
 * compares the table's flush generation with the one this window last
 * flushed at: if another CPU changed anything
 * since, the window invalidates locally before the access. The window's own
 * UNMAP/PROTECT/MAP invalidate locally by reloading CR3.
 */
#include <linux/smp.h>
#include <linux/cpu.h>
#include <linux/cpumask.h>
#include <linux/sched/isolation.h>
#include <linux/sched/clock.h>
#include <linux/slab.h>
#include <linux/mm.h>
#include <linux/sizes.h>
#include <linux/moduleparam.h>
#include <linux/shadowpt.h>
#include <asm/special_insns.h>
#include <asm/sync_core.h>
#include <asm/tlbflush.h>

#include "shadowpt.h"
#include "space.h"
#include "flush.h"
#include "probe.h"
#include "prop.h"
#include "quota.h"
#include "space_events.h"
#include "trace.h"
#include "load.h"
#include "failinject.h"

/*
 * A window runs with interrupts off: its bound stays far below what the
 * lockup and RCU stall detectors allow.
 */
#define SPT_WINDOW_US_MAX	1000000

static int spt_window_us_set(const char *val, const struct kernel_param *kp)
{
	return param_set_uint_minmax(val, kp, 1, SPT_WINDOW_US_MAX);
}

static const struct kernel_param_ops spt_window_us_ops = {
	.set = spt_window_us_set,
	.get = param_get_uint,
};

static unsigned int spt_param_window_us = 20000;
module_param_cb(window_us, &spt_window_us_ops, &spt_param_window_us, 0644);
MODULE_PARM_DESC(window_us,
		 "Time bound of one load window in microseconds, 1..1000000; ops past it are not run (default 20000)");

/* endbr64; ret */
static const u8 spt_fetch_stub[] = { 0xf3, 0x0f, 0x1e, 0xfa, 0xc3 };

struct spt_window {
	struct spt_space *s;
	struct spt_load_op *ops;
	u32 nr_ops;
	u64 **frames;		/* per MAP op: its preallocated frames */
	struct spt_flusher fl;
	u32 ops_run, faults, status;
	u64 ns;
	struct task_struct *caller;	/* allocations count as the caller's */
	bool phys_ok;		/* the caller may touch untracked leaves */
	int tlb_gen;		/* the table's flush generation at our flush */
	const struct spt_load_body *body;
};

/* Pick the CPU: the named one, or the first isolated one. */
static int spt_load_cpu(u32 flags, u32 want, u32 *cpu)
{
	unsigned int c;

	if (flags & SPT_LOAD_CPU) {
		if (want >= nr_cpu_ids || !cpu_online(want))
			return -ENODEV;
		if (!(flags & SPT_LOAD_FORCE) &&
		    housekeeping_test_cpu(want, HK_TYPE_DOMAIN))
			return -EXDEV;
		*cpu = want;
		return 0;
	}
	for_each_online_cpu(c) {
		if (!housekeeping_test_cpu(c, HK_TYPE_DOMAIN)) {
			*cpu = c;
			return 0;
		}
	}
	return -ENODEV;
}

static int spt_load_op_check(const struct spt_load_op *op)
{
	u64 end = spt_cfg_user_end(&spt_machine_cfg);
	struct spt_prop prop;

	if (op->flags)
		return -EINVAL;
	switch (op->op) {
	case SPT_LOAD_OP_READ:
	case SPT_LOAD_OP_WRITE:
		if (!is_power_of_2(op->width) || op->width > 8 ||
		    !IS_ALIGNED(op->va, op->width) || op->va >= end ||
		    op->length || op->prot ||
		    (op->op == SPT_LOAD_OP_READ && op->value))
			return -EINVAL;
		return 0;
	case SPT_LOAD_OP_FETCH:
		if (op->width || op->value || op->length || op->prot ||
		    op->va >= end || (op->va & (PAGE_SIZE - 1)) >
		    PAGE_SIZE - sizeof(spt_fetch_stub))
			return -EINVAL;
		return 0;
	case SPT_LOAD_OP_UNMAP:
	case SPT_LOAD_OP_PROTECT:
	case SPT_LOAD_OP_MAP:
		if (op->width || op->value ||
		    !spt_range_ok(op->va, op->length, PAGE_SIZE) ||
		    op->length > (op->op == SPT_LOAD_OP_MAP ? SZ_2M : SZ_1G) ||
		    (op->op == SPT_LOAD_OP_UNMAP && op->prot) ||
		    !spt_prop_from_uapi(op->prot, 0, &prop))
			return -EINVAL;
		return 0;
	}
	return -EINVAL;
}

/* The software walker's view of @va: the leaf, or where the walk ends. */
static void spt_load_predict(struct spt_space *s, u64 va, u32 kind,
			     struct spt_load_op *op, const struct spt_query *q)
{
	u32 fault = 0;

	if (!q->mapped) {
		fault = SPT_FAULT_NOT_PRESENT;
		op->out_level = q->level;
	} else if (kind == SPT_LOAD_OP_WRITE &&
		   !(q->prop.flags & SPT_PROT_WRITE)) {
		fault = SPT_FAULT_READ_ONLY;
	} else if (kind == SPT_LOAD_OP_FETCH) {
		if (!(q->prop.flags & SPT_PROT_EXEC))
			fault |= SPT_FAULT_NX;
		if (q->prop.flags & SPT_PROT_USER)
			fault |= SPT_FAULT_USER;
	}
	op->out_fault = fault;
}

/* Execute the stub at @op->va, in the frame the cursor's query found. */
static void spt_load_fetch(struct spt_load_op *op, const struct spt_query *q)
{
	void (*fn)(void) = (void (*)(void))(unsigned long)op->va;
	u8 *p = spt_pool_va(spt_pool, q->item.pa) + (op->va - q->va_start);

	memcpy(p, spt_fetch_stub, sizeof(spt_fetch_stub));
	sync_core();
	fn();
	op->out_status = SPT_LOAD_OK;
}

struct spt_load_access_ctx {
	struct spt_window *w;
	struct spt_load_op *op;
};

/*
 * Called with the page's node held (spt_space_load_page): the walker, the
 * stub we write and the MMU all see one table, and the TLB was brought in
 * line with it first.
 */
static void spt_load_access_page(const struct spt_query *q, void *arg)
{
	struct spt_load_access_ctx *ctx = arg;
	struct spt_load_op *op = ctx->op;
	bool predicted_ok;
	int hw;

	spt_load_predict(ctx->w->s, op->va, op->op, op, q);
	predicted_ok = !op->out_fault;

	if (predicted_ok && !q->item.tracked &&
	    (op->op == SPT_LOAD_OP_FETCH || !ctx->w->phys_ok)) {
		/*
		 * Raw physical memory: never executed (we write the stub
		 * only into frames of our own), and read or written only
		 * for a caller allowed to map it, now.
		 */
		op->out_status = SPT_LOAD_ERROR;
		op->out_errno = op->op == SPT_LOAD_OP_FETCH ? EACCES : EPERM;
	} else if (op->op == SPT_LOAD_OP_FETCH) {
		if (predicted_ok)
			spt_load_fetch(op, q);
		else
			op->out_status = SPT_LOAD_PREDICTED;
	} else {
		if (op->op == SPT_LOAD_OP_READ)
			hw = spt_probe_read(op->va, op->width, &op->out_value);
		else
			hw = spt_probe_write(op->va, op->width, op->value);
		op->out_status = hw ? SPT_LOAD_FAULT : SPT_LOAD_OK;
		if (!hw != predicted_ok)
			op->out_fault |= SPT_FAULT_MISMATCH;
	}
}

static void spt_load_access(struct spt_window *w, struct spt_load_op *op)
{
	struct spt_load_access_ctx ctx = { .w = w, .op = op };

	if (spt_space_load_page(w->s, op->va, &w->tlb_gen,
				spt_load_access_page, &ctx)) {
		op->out_status = SPT_LOAD_ERROR;
		op->out_errno = EINVAL;
	}
}

static void spt_load_change(struct spt_window *w, struct spt_load_op *op,
			    u32 idx)
{
	struct spt_prop prop = { .flags = op->prot };
	u64 n = 0;
	int ret;

	if (op->op == SPT_LOAD_OP_UNMAP) {
		ret = spt_space_unmap_nosleep(w->s, op->va, op->length, &w->fl,
					      &n, NULL);
	} else if (op->op == SPT_LOAD_OP_PROTECT) {
		struct spt_prot_op pop = {
			.set = op->prot,
			.clear = SPT_PROT_SETTABLE,
			.cache = -1,
		};

		ret = spt_space_protect_nosleep(w->s, op->va, op->length, &pop,
						&w->fl, &n, NULL, NULL);
	} else {
		/* Like SPT_IOCTL_MAP without SPT_MAP_REPLACE. */
		ret = spt_space_map_frames_nosleep(w->s, op->va, w->frames[idx],
						   op->length >> PAGE_SHIFT, 1,
						   &prop, false, &w->fl, &n);
	}
	/* Whatever changed: drop this CPU's translations of PCID 0. */
	spt_space_load_cr3(w->s, &w->tlb_gen);
	op->out_value = n;
	if (ret) {
		op->out_status = SPT_LOAD_ERROR;
		op->out_errno = -ret;
	} else {
		op->out_status = SPT_LOAD_OK;
	}
}

/* The window itself, on the target CPU. */
static int spt_window_run(void *arg)
{
	struct spt_window *w = arg;
	u64 budget = (u64)READ_ONCE(spt_param_window_us) * NSEC_PER_USEC;
	unsigned long flags, saved_cr3;
	u64 t0, now = 0;
	u32 i;
	int ret;

	if (w->body) {
		ret = w->body->prepare(w->body->arg, smp_processor_id(),
				       budget);
		if (ret)
			return ret;
	}
	local_irq_save(flags);
	saved_cr3 = __read_cr3();
	t0 = local_clock();
	/* The CR3 write flushes PCID 0: nothing older than tlb_gen stays. */
	spt_space_load_cr3(w->s, &w->tlb_gen);
	spt_fail_proxy_begin(w->caller);
	w->status = SPT_LOAD_DONE;
	if (w->body)
		w->body->run(w->s, &w->tlb_gen, budget, w->body->arg);
	for (i = 0; i < w->nr_ops; i++) {
		struct spt_load_op *op = &w->ops[i];

		now = local_clock();
		if (now - t0 > budget) {
			w->status = SPT_LOAD_STOPPED_TIME;
			break;
		}
		if (op->op <= SPT_LOAD_OP_FETCH)
			spt_load_access(w, op);
		else
			spt_load_change(w, op, i);
		w->ops_run++;
		if (op->out_status == SPT_LOAD_FAULT ||
		    op->out_status == SPT_LOAD_PREDICTED)
			w->faults++;
	}
	spt_fail_proxy_end();
	native_write_cr3(saved_cr3);
	w->ns = local_clock() - t0;
	local_irq_restore(flags);
	if (w->body)
		w->body->finish(w->body->arg);
	return 0;
}

static void spt_window_free_frames(struct spt_window *w)
{
	u32 i;

	if (!w->frames)
		return;
	for (i = 0; i < w->nr_ops; i++) {
		if (!w->frames[i])
			continue;
		/* Those still here were never mapped. */
		spt_quota_frames_put(w->s, w->frames[i],
				     w->ops[i].length >> PAGE_SHIFT, 1);
		kfree(w->frames[i]);
	}
	kfree(w->frames);
}

/* Frames for the MAP ops are allocated before the window (it may sleep). */
static int spt_window_alloc_frames(struct spt_window *w)
{
	u32 i;
	u64 j;
	int ret;

	w->frames = spt_kcalloc(w->nr_ops, sizeof(*w->frames), GFP_KERNEL);
	if (!w->frames)
		return -ENOMEM;
	for (i = 0; i < w->nr_ops; i++) {
		u64 nr = w->ops[i].length >> PAGE_SHIFT;

		if (w->ops[i].op != SPT_LOAD_OP_MAP)
			continue;
		w->frames[i] = spt_kcalloc(nr, sizeof(u64), GFP_KERNEL);
		if (!w->frames[i])
			return -ENOMEM;
		for (j = 0; j < nr; j++) {
			ret = spt_quota_frame_alloc(w->s, 1, &w->frames[i][j]);
			if (ret)
				return ret;
		}
	}
	/*
	 * Nodes the in-window ops may need, at most a few per op. Best
	 * effort: with the pool full, an op that needs a node fails on its
	 * own (SPT_LOAD_ERROR, ENOMEM); reads, writes and unmapping whole
	 * leaves need none.
	 */
	spt_pool_reserve(spt_pool, (u64)w->nr_ops * SPT_MAX_LEVELS);
	return 0;
}

int spt_load_window(struct spt_space *s, const struct spt_load_req *req,
		    struct spt_load_result *res)
{
	struct spt_load_op *ops = req->ops;
	struct spt_window w = {
		.s = s, .ops = ops, .nr_ops = req->nr_ops,
		.caller = current, .phys_ok = req->phys_ok, .body = req->body,
	};
	struct spt_space_event ev = { .space_id = spt_space_id(s) };
	u32 i, cpu;
	int ret;

	for (i = 0; i < req->nr_ops; i++) {
		ret = spt_load_op_check(&ops[i]);
		if (ret)
			return ret;
	}
	ret = spt_load_cpu(req->flags, req->cpu, &cpu);
	if (ret)
		return ret;
	/* Results of an earlier run of the same array are overwritten. */
	for (i = 0; i < req->nr_ops; i++) {
		ops[i].out_status = SPT_LOAD_NOT_RUN;
		ops[i].out_fault = 0;
		ops[i].out_level = 0;
		ops[i].out_errno = 0;
		ops[i].out_value = 0;
	}
	spt_flusher_init(&w.fl);
	ret = spt_space_enter(s);
	if (ret)
		return ret;
	ret = spt_window_alloc_frames(&w);
	if (ret)
		goto out;

	/*
	 * Choose again with CPU hotplug held off: the CPU stays online from
	 * its choice until the window is over.
	 */
	cpus_read_lock();
	ret = spt_load_cpu(req->flags, req->cpu, &cpu);
	if (ret) {
		cpus_read_unlock();
		goto out;
	}
	spt_space_load_begin(s, cpu);
	trace_spt_load_begin(ev.space_id, cpu, w.nr_ops);
	ret = smp_call_on_cpu(cpu, spt_window_run, &w, false);
	spt_space_load_end(s, cpu);
	cpus_read_unlock();
	trace_spt_load_end(ev.space_id, cpu, w.ops_run, w.faults, w.status,
			   w.ns, ret);
	if (ret)
		goto out;

	res->status = w.status;
	res->cpu = cpu;
	res->ops_run = w.ops_run;
	res->faults = w.faults;
	res->ns = w.ns;
out:
	spt_window_free_frames(&w);
	spt_flush_finish(s, &w.fl);
	spt_space_leave(s);
	if (!ret) {
		ev.cpu = cpu;
		ev.ops_run = w.ops_run;
		ev.faults = w.faults;
		ev.status = w.status;
		spt_space_event(SPT_SPACE_EV_LOADED, &ev);
	}
	return ret;
}
