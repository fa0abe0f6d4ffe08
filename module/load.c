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
 *
 * TLB experiments relax that for the window's own NOFLUSH changes: their
 * ranges are kept as *pending* (w->pending) until an INVLPG of a page, a
 * FLUSH, a change without the flag or the window's end. An access outside
 * them keeps the guarantee, by INVLPG of its page while anything is
 * pending (a CR3 reload would drop the stale entries the caller wants to
 * observe), and a FETCH in them first invalidates its page. What the
 * window's ops unlink stays on w->fl, queued for reclamation only after
 * the window (spt_flush_finish()), so a stale translation never reaches a
 * reused frame or node.
 *
 * TIMED accesses read the TSC with LFENCE; RDTSCP; LFENCE on both sides.
 * AD_CLEAR clears the accessed and dirty bits of a whole leaf through the
 * protect path (the core's entry operations store the PTE) and runs
 * INVLPG; AD_READ reads them under the page's cursor.
 */
#include <linux/smp.h>
#include <linux/cpu.h>
#include <linux/cpumask.h>
#include <linux/sched/isolation.h>
#include <linux/timekeeping.h>
#include <linux/slab.h>
#include <linux/mm.h>
#include <linux/sizes.h>
#include <linux/moduleparam.h>
#include <linux/shadowpt.h>
#include <asm/special_insns.h>
#include <asm/sync_core.h>
#include <asm/tlbflush.h>
#include <asm/invpcid.h>
#include <asm/tsc.h>
#include <asm/trap_pf.h>
#include <asm/msr.h>

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
#include "tables.h"
#include "usermode.h"

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
	/* Ranges changed by NOFLUSH ops and not invalidated since. */
	struct spt_load_range {
		u64 start, end;
	} *pending;
	u32 nr_pending, max_pending;
	u32 cpu_features;
	const struct spt_load_body *body;
	/* SPT_LOAD_PAT: the window's IA32_PAT. */
	bool pat_set;
	u64 pat;
	/* USER and SMAP ops: the probe context, the space's root. */
	struct spt_um_probe *probe;
	const u64 *root;
};

/*
 * The TSC, ordered: LFENCE before (earlier instructions done) and after
 * (later ones not started), as the TIMED ops measure.
 */
static __always_inline u64 spt_rdtscp(void)
{
	u32 lo, hi, aux;

	asm volatile("lfence; rdtscp; lfence"
		     : "=a" (lo), "=d" (hi), "=c" (aux) : : "memory");
	return ((u64)hi << 32) | lo;
}

/*
 * What the window's CPU has (SPT_LOAD_CPU_*), on that CPU (constant
 * feature numbers: this_cpu_has() needs them on 6.1).
 */
static u32 spt_load_cpu_features(void)
{
	u32 bits = 0;

	if (this_cpu_has(X86_FEATURE_PCID))
		bits |= SPT_LOAD_CPU_PCID;
	if (this_cpu_has(X86_FEATURE_INVPCID))
		bits |= SPT_LOAD_CPU_INVPCID;
	if (this_cpu_has(X86_FEATURE_SMEP))
		bits |= SPT_LOAD_CPU_SMEP;
	if (this_cpu_has(X86_FEATURE_SMAP))
		bits |= SPT_LOAD_CPU_SMAP;
	if (this_cpu_has(X86_FEATURE_LA57))
		bits |= SPT_LOAD_CPU_LA57;
	if (this_cpu_has(X86_FEATURE_PKU))
		bits |= SPT_LOAD_CPU_PKU;
	if (this_cpu_has(X86_FEATURE_RDTSCP))
		bits |= SPT_LOAD_CPU_RDTSCP;
	return bits;
}

/* The INVLPG instruction: this CPU, the current PCID (0 in a window). */
static inline void spt_invlpg(u64 va)
{
	asm volatile("invlpg (%0)" : : "r" (va) : "memory");
}

static bool spt_load_pending(const struct spt_window *w, u64 va)
{
	u32 i;

	for (i = 0; i < w->nr_pending; i++)
		if (va >= w->pending[i].start && va < w->pending[i].end)
			return true;
	return false;
}

/* INVLPG of @va's page: it is no longer pending (a range may split). */
static void spt_load_pending_drop_page(struct spt_window *w, u64 va)
{
	u64 page = ALIGN_DOWN(va, PAGE_SIZE);
	struct spt_load_range *r;
	u32 i;

	for (i = 0; i < w->nr_pending; i++) {
		r = &w->pending[i];
		if (page < r->start || page >= r->end)
			continue;
		if (page + PAGE_SIZE < r->end &&
		    w->nr_pending < w->max_pending) {
			w->pending[w->nr_pending].start = page + PAGE_SIZE;
			w->pending[w->nr_pending].end = r->end;
			w->nr_pending++;
		} else if (page + PAGE_SIZE < r->end) {
			/* Cannot happen (one slot per INVLPG): stay pending. */
			continue;
		}
		r->end = page;
		if (r->start == r->end)
			*r = w->pending[--w->nr_pending];
		/* The ranges are disjoint: @page was in this one only. */
		return;
	}
}

/*
 * A NOFLUSH change of [start, end): pending, merged with the ranges it
 * overlaps or touches so that they stay disjoint (then an INVLPG splits
 * at most one: a slot per NOFLUSH op and per INVLPG or FETCH op is
 * enough).
 */
static void spt_load_pending_add(struct spt_window *w, u64 start, u64 end)
{
	u32 i = 0;

	while (i < w->nr_pending) {
		struct spt_load_range *r = &w->pending[i];

		if (r->end < start || r->start > end) {
			i++;
			continue;
		}
		start = min(start, r->start);
		end = max(end, r->end);
		*r = w->pending[--w->nr_pending];
	}
	if (WARN_ON_ONCE(w->nr_pending >= w->max_pending))
		return;
	w->pending[w->nr_pending].start = start;
	w->pending[w->nr_pending].end = end;
	w->nr_pending++;
}

/*
 * A window's IA32_PAT: valid memory types (0 UC, 1 WC, 4 WT, 5 WP, 6 WB,
 * 7 UC-) in every byte, and the host's entries 0..3 (the kernel's own
 * mappings in the window use them). The host's PAT is the same on every
 * CPU; this one's is read.
 */
static int spt_load_pat_check(u64 pat)
{
	u64 host;
	u32 i;

	for (i = 0; i < 8; i++) {
		u8 type = pat >> (8 * i);

		if (type > 7 || type == 2 || type == 3)
			return -EINVAL;
	}
	rdmsrl(MSR_IA32_CR_PAT, host);
	if ((u32)pat != (u32)host)
		return -EINVAL;
	return 0;
}

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

#define SPT_LOAD_OP_F_PROBE	(SPT_LOAD_OP_F_USER | SPT_LOAD_OP_F_SMAP)
#define SPT_LOAD_OP_F_ALL	(SPT_LOAD_OP_F_NOFLUSH | SPT_LOAD_OP_F_TIMED | \
				 SPT_LOAD_OP_F_PROBE)

static int spt_load_op_check(const struct spt_load_op *op)
{
	u64 end = spt_cfg_user_end(&spt_machine_cfg);
	struct spt_prop prop;

	if (op->flags & ~SPT_LOAD_OP_F_ALL ||
	    ((op->flags & SPT_LOAD_OP_F_USER) &&
	     op->op != SPT_LOAD_OP_READ && op->op != SPT_LOAD_OP_WRITE &&
	     op->op != SPT_LOAD_OP_FETCH) ||
	    ((op->flags & SPT_LOAD_OP_F_SMAP) &&
	     op->op != SPT_LOAD_OP_READ && op->op != SPT_LOAD_OP_WRITE) ||
	    ((op->flags & SPT_LOAD_OP_F_PROBE) &&
	     (op->flags & SPT_LOAD_OP_F_TIMED ||
	      (op->flags & SPT_LOAD_OP_F_PROBE) == SPT_LOAD_OP_F_PROBE)) ||
	    (op->flags & SPT_LOAD_OP_F_NOFLUSH &&
	     op->op != SPT_LOAD_OP_UNMAP && op->op != SPT_LOAD_OP_PROTECT &&
	     op->op != SPT_LOAD_OP_MAP) ||
	    (op->flags & SPT_LOAD_OP_F_TIMED && op->op != SPT_LOAD_OP_READ &&
	     op->op != SPT_LOAD_OP_WRITE && op->op != SPT_LOAD_OP_FETCH))
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
	case SPT_LOAD_OP_INVLPG:
	case SPT_LOAD_OP_AD_CLEAR:
	case SPT_LOAD_OP_AD_READ:
		if (op->width || op->value || op->length || op->prot ||
		    op->va >= end)
			return -EINVAL;
		return 0;
	case SPT_LOAD_OP_FLUSH:
		if (op->width || op->va || op->length || op->prot ||
		    op->value > SPT_LOAD_FLUSH_INVPCID_ALL)
			return -EINVAL;
		return 0;
	}
	return -EINVAL;
}

/* What a well-formed op needs beyond its fields: 0, -EPERM, -EOPNOTSUPP. */
static int spt_load_op_allowed(const struct spt_load_op *op, bool phys_ok,
			       bool runs_ok)
{
	if (op->flags & SPT_LOAD_OP_F_USER && !runs_ok)
		return -EPERM;
	if (op->flags & SPT_LOAD_OP_F_SMAP && !boot_cpu_has(X86_FEATURE_SMAP))
		return -EOPNOTSUPP;
	if (op->op == SPT_LOAD_OP_UNMAP &&
	    op->flags & SPT_LOAD_OP_F_NOFLUSH && !phys_ok)
		return -EPERM;
	if (op->op == SPT_LOAD_OP_FLUSH &&
	    op->value != SPT_LOAD_FLUSH_CR3 &&
	    !boot_cpu_has(X86_FEATURE_INVPCID))
		return -EOPNOTSUPP;
	if (op->flags & SPT_LOAD_OP_F_TIMED &&
	    !boot_cpu_has(X86_FEATURE_RDTSCP))
		return -EOPNOTSUPP;
	return 0;
}

/*
 * A present leaf's permission for a user-mode access (SPT_LOAD_OP_F_USER):
 * U/S, then R/W for a write and NX for a fetch, each a reason of its own.
 */
static u32 spt_load_predict_user(u32 kind, u32 prot)
{
	u32 fault = 0;

	if (!(prot & SPT_PROT_USER))
		fault |= SPT_FAULT_SUPERVISOR;
	if (kind == SPT_LOAD_OP_WRITE && !(prot & SPT_PROT_WRITE))
		fault |= SPT_FAULT_READ_ONLY;
	if (kind == SPT_LOAD_OP_FETCH && !(prot & SPT_PROT_EXEC))
		fault |= SPT_FAULT_NX;
	return fault;
}

/*
 * A kernel-mode access: R/W for a write (CR0.WP is set), SMAP for a data
 * access to a user page when in force, NX and SMEP for a fetch.
 */
static u32 spt_load_predict_kernel(u32 kind, u32 flags, u32 prot)
{
	u32 fault = 0;

	if (kind == SPT_LOAD_OP_WRITE && !(prot & SPT_PROT_WRITE))
		fault |= SPT_FAULT_READ_ONLY;
	if (kind != SPT_LOAD_OP_FETCH && flags & SPT_LOAD_OP_F_SMAP &&
	    prot & SPT_PROT_USER)
		fault |= SPT_FAULT_SMAP;
	if (kind == SPT_LOAD_OP_FETCH) {
		if (!(prot & SPT_PROT_EXEC))
			fault |= SPT_FAULT_NX;
		if (prot & SPT_PROT_USER)
			fault |= SPT_FAULT_USER;
	}
	return fault;
}

/* The software walker's view of @va: the leaf, or where the walk ends. */
static void spt_load_predict(struct spt_space *s, u64 va, u32 kind,
			     struct spt_load_op *op, const struct spt_query *q)
{
	u32 fault;

	if (q->rsvd) {
		/* A reserved bit on the walk: never touched (see uapi). */
		fault = SPT_FAULT_RSVD;
	} else if (!q->mapped) {
		fault = SPT_FAULT_NOT_PRESENT;
		op->out_level = q->level;
	} else if (op->flags & SPT_LOAD_OP_F_USER) {
		fault = spt_load_predict_user(kind, q->prop.flags);
	} else {
		fault = spt_load_predict_kernel(kind, op->flags,
						q->prop.flags);
	}
	if (!q->rsvd && kind != SPT_LOAD_OP_FETCH &&
	    spt_probe_pkey_denies(q, kind == SPT_LOAD_OP_WRITE))
		fault |= SPT_FAULT_PKEY;
	op->out_fault = fault;
}

/* Execute the stub at @op->va, in the frame the cursor's query found. */
static void spt_load_fetch(struct spt_load_op *op, const struct spt_query *q)
{
	void (*fn)(void) = (void (*)(void))(unsigned long)op->va;
	u8 *p = spt_pool_va(spt_pool, q->item.pa) + (op->va - q->va_start);

	u64 t0;

	memcpy(p, spt_fetch_stub, sizeof(spt_fetch_stub));
	sync_core();
	if (op->flags & SPT_LOAD_OP_F_TIMED) {
		t0 = spt_rdtscp();
		fn();
		op->out_cycles = spt_rdtscp() - t0;
	} else {
		fn();
	}
	op->out_status = SPT_LOAD_OK;
}

struct spt_load_access_ctx {
	struct spt_window *w;
	struct spt_load_op *op;
	bool pending;		/* the page may be stale (NOFLUSH) */
};

/*
 * With NOFLUSH changes pending, under the page's cursor: invalidate the
 * page if another change may have made its translation stale, unless the
 * page itself is pending (a FETCH always invalidates it then).
 */
static void spt_load_sync_pending(struct spt_load_access_ctx *ctx)
{
	struct spt_window *w = ctx->w;
	u64 va = ctx->op->va;

	if (ctx->pending && ctx->op->op == SPT_LOAD_OP_FETCH) {
		spt_invlpg(va);
		spt_load_pending_drop_page(w, va);
		ctx->pending = false;
	} else if (!ctx->pending && spt_space_tlb_gen(w->s) != w->tlb_gen) {
		spt_invlpg(va);
	}
}

/*
 * The #PF error code of a probe, held against the walker: P says whether
 * the walk found a leaf, W, U and I what the access was, no reserved bit,
 * CR2 the address.
 */
static bool spt_load_probe_ec_ok(const struct spt_load_op *op, bool mapped,
				 const struct spt_um_probe_out *out)
{
	u64 ec = out->error_code;
	bool user = op->flags & SPT_LOAD_OP_F_USER;

	return !(ec & X86_PF_PROT) == !mapped &&
	       !(ec & X86_PF_WRITE) == (op->op != SPT_LOAD_OP_WRITE) &&
	       !(ec & X86_PF_USER) == !user &&
	       !(ec & X86_PF_INSTR) == (op->op != SPT_LOAD_OP_FETCH) &&
	       !(ec & X86_PF_RSVD) && out->cr2 == op->va;
}

/*
 * A USER or SMAP access (usermode.c), the page held: the MMU decides, a
 * fault is caught by the module's handler and its error code compared.
 */
static void spt_load_probe(struct spt_load_access_ctx *ctx,
			   const struct spt_query *q, bool predicted_ok)
{
	struct spt_window *w = ctx->w;
	struct spt_load_op *op = ctx->op;
	bool user = op->flags & SPT_LOAD_OP_F_USER;
	struct spt_um_probe_out out;
	bool reload = user && op->op != SPT_LOAD_OP_FETCH;
	u8 *p;
	int ret;

	if (q->mapped && !q->item.tracked &&
	    (op->op == SPT_LOAD_OP_FETCH || !w->phys_ok)) {
		/* As for kernel-mode accesses (spt_load_access_page). */
		op->out_status = SPT_LOAD_ERROR;
		op->out_errno = op->op == SPT_LOAD_OP_FETCH ? EACCES : EPERM;
		return;
	}
	if (op->op == SPT_LOAD_OP_FETCH && q->mapped) {
		p = spt_pool_va(spt_pool, q->item.pa) + (op->va - q->va_start);
		memcpy(p, spt_um_fetch_stub, sizeof(spt_um_fetch_stub));
		sync_core();
	}
	ret = spt_um_probe_access(w->probe, w->root, op->op, user, op->va,
				  op->width, op->value, &out);
	if (reload) {
		/*
		 * The private root is gone from CR3 and PCID 0 is flushed:
		 * nothing is pending, nothing was stale.
		 */
		spt_space_load_cr3(w->s, &w->tlb_gen);
		w->nr_pending = 0;
		ctx->pending = false;
	}
	if (ret) {
		op->out_status = SPT_LOAD_ERROR;
		op->out_errno = -ret;
		return;
	}
	if (out.fault) {
		op->out_status = SPT_LOAD_FAULT;
		op->out_value = out.error_code;
	} else {
		op->out_status = SPT_LOAD_OK;
		if (op->op == SPT_LOAD_OP_READ)
			op->out_value = out.value;
	}
	if (out.fault == predicted_ok ||
	    (out.fault && !spt_load_probe_ec_ok(op, q->mapped, &out)))
		op->out_fault |= ctx->pending ? SPT_FAULT_STALE :
				 SPT_FAULT_MISMATCH;
}

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

	if (ctx->w->nr_pending)
		spt_load_sync_pending(ctx);
	spt_load_predict(ctx->w->s, op->va, op->op, op, q);
	predicted_ok = !op->out_fault;

	if (op->out_fault & SPT_FAULT_RSVD) {
		/* Never touched, USER and SMAP accesses included. */
		op->out_status = SPT_LOAD_PREDICTED;
	} else if (op->flags & SPT_LOAD_OP_F_PROBE) {
		spt_load_probe(ctx, q, predicted_ok);
	} else if (predicted_ok && !q->item.tracked &&
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
		u64 t0 = 0;

		if (op->flags & SPT_LOAD_OP_F_TIMED)
			t0 = spt_rdtscp();
		if (op->op == SPT_LOAD_OP_READ)
			hw = spt_probe_read(op->va, op->width, &op->out_value);
		else
			hw = spt_probe_write(op->va, op->width, op->value);
		if (op->flags & SPT_LOAD_OP_F_TIMED)
			op->out_cycles = spt_rdtscp() - t0;
		op->out_status = hw ? SPT_LOAD_FAULT : SPT_LOAD_OK;
		if (!hw != predicted_ok)
			op->out_fault |= ctx->pending ? SPT_FAULT_STALE :
					 SPT_FAULT_MISMATCH;
	}
}

static void spt_load_access(struct spt_window *w, struct spt_load_op *op)
{
	struct spt_load_access_ctx ctx = { .w = w, .op = op };
	int ret;

	if (w->nr_pending) {
		ctx.pending = spt_load_pending(w, op->va);
		ret = spt_space_load_page_nosync(w->s, op->va,
						 spt_load_access_page, &ctx);
	} else {
		ret = spt_space_load_page(w->s, op->va, &w->tlb_gen,
					  spt_load_access_page, &ctx);
	}
	if (ret) {
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
	if (op->flags & SPT_LOAD_OP_F_NOFLUSH) {
		/* Also on an error: part of the range may have changed. */
		spt_load_pending_add(w, op->va, op->va + op->length);
	} else {
		/* Whatever changed: drop this CPU's translations of PCID 0. */
		spt_space_load_cr3(w->s, &w->tlb_gen);
		w->nr_pending = 0;
	}
	op->out_value = n;
	if (ret) {
		op->out_status = SPT_LOAD_ERROR;
		op->out_errno = -ret;
	} else {
		op->out_status = SPT_LOAD_OK;
	}
}

static void spt_load_invlpg(struct spt_window *w, struct spt_load_op *op)
{
	spt_invlpg(op->va);
	spt_load_pending_drop_page(w, op->va);
	op->out_status = SPT_LOAD_OK;
}

struct spt_load_ad {
	bool mapped;
	u64 start, end;
	u32 ad;
};

static void spt_load_ad_page(const struct spt_query *q, void *arg)
{
	struct spt_load_ad *ad = arg;

	ad->mapped = q->mapped;
	ad->start = q->va_start;
	ad->end = q->va_end;
	ad->ad = q->mapped ? q->prop.flags &
			     (SPT_PROT_ACCESSED | SPT_PROT_DIRTY) : 0;
}

/*
 * AD_READ: the leaf's A and D under the page's cursor. AD_CLEAR: then a
 * protect that clears them over the whole leaf (no split), and INVLPG,
 * which also takes @op->va's page out of the pending set.
 */
static void spt_load_ad(struct spt_window *w, struct spt_load_op *op)
{
	struct spt_prot_op pop = {
		.clear = SPT_PROT_ACCESSED | SPT_PROT_DIRTY,
		.cache = -1,
	};
	struct spt_load_ad ad = { };
	u64 n = 0;
	int ret;

	ret = spt_space_load_page_nosync(w->s, op->va, spt_load_ad_page, &ad);
	if (!ret && !ad.mapped)
		ret = -ENXIO;
	if (!ret && op->op == SPT_LOAD_OP_AD_CLEAR) {
		ret = spt_space_protect_nosleep(w->s, ad.start,
						ad.end - ad.start, &pop,
						&w->fl, &n, NULL, NULL);
		spt_invlpg(op->va);
		/* As the INVLPG op: the page is no longer stale. */
		spt_load_pending_drop_page(w, op->va);
	}
	op->out_value = ad.ad;
	if (ret) {
		op->out_status = SPT_LOAD_ERROR;
		op->out_errno = -ret;
	} else {
		op->out_status = SPT_LOAD_OK;
	}
}

static void spt_load_flush(struct spt_window *w, struct spt_load_op *op)
{
	int gen;

	if (op->value == SPT_LOAD_FLUSH_CR3) {
		spt_space_load_cr3(w->s, &w->tlb_gen);
	} else {
		/* As spt_space_load_cr3(): the generation before the flush. */
		gen = spt_space_tlb_gen(w->s);
		if (op->value == SPT_LOAD_FLUSH_INVPCID_SINGLE)
			invpcid_flush_single_context(0);
		else
			invpcid_flush_all();
		w->tlb_gen = gen;
	}
	w->nr_pending = 0;
	op->out_value = op->value;
	op->out_status = SPT_LOAD_OK;
}

/* The window itself, on the target CPU. */
static int spt_window_run(void *arg)
{
	struct spt_window *w = arg;
	u64 budget = (u64)READ_ONCE(spt_param_window_us) * NSEC_PER_USEC;
	unsigned long flags, saved_cr3;
	u64 t0, now = 0, saved_pat = 0;
	u32 i;
	int ret;

	if (w->body) {
		ret = w->body->prepare(w->body->arg, smp_processor_id(),
				       budget);
		if (ret)
			return ret;
	}
	local_irq_save(flags);
	if (w->pat_set) {
		rdmsrl(MSR_IA32_CR_PAT, saved_pat);
		wrmsrl(MSR_IA32_CR_PAT, w->pat);
	}
	saved_cr3 = __read_cr3();
	/*
	 * Not local_clock(): where the TSC is marked unstable, that clock is
	 * held within a tick of the last one, and with interrupts off there
	 * is no tick. The fast monotonic clock reads the clocksource itself.
	 */
	t0 = ktime_get_mono_fast_ns();
	/* The CR3 write flushes PCID 0: nothing older than tlb_gen stays. */
	spt_space_load_cr3(w->s, &w->tlb_gen);
	spt_fail_proxy_begin(w->caller);
	w->cpu_features = spt_load_cpu_features();
	w->status = SPT_LOAD_DONE;
	if (w->body)
		w->body->run(w->s, &w->tlb_gen, budget, w->body->arg);
	for (i = 0; i < w->nr_ops; i++) {
		struct spt_load_op *op = &w->ops[i];

		now = ktime_get_mono_fast_ns();
		if (now - t0 > budget) {
			w->status = SPT_LOAD_STOPPED_TIME;
			break;
		}
		if (op->op <= SPT_LOAD_OP_FETCH)
			spt_load_access(w, op);
		else if (op->op == SPT_LOAD_OP_INVLPG)
			spt_load_invlpg(w, op);
		else if (op->op == SPT_LOAD_OP_FLUSH)
			spt_load_flush(w, op);
		else if (op->op == SPT_LOAD_OP_AD_CLEAR ||
			 op->op == SPT_LOAD_OP_AD_READ)
			spt_load_ad(w, op);
		else
			spt_load_change(w, op, i);
		w->ops_run++;
		if (op->out_status == SPT_LOAD_FAULT ||
		    op->out_status == SPT_LOAD_PREDICTED)
			w->faults++;
	}
	spt_fail_proxy_end();
	native_write_cr3(saved_cr3);
	w->ns = ktime_get_mono_fast_ns() - t0;
	if (w->pat_set) {
		/* Nothing cached with the window's memory types stays. */
		wrmsrl(MSR_IA32_CR_PAT, saved_pat);
		__flush_tlb_all();
	}
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
		.pat_set = req->flags & SPT_LOAD_PAT, .pat = req->pat,
	};
	struct spt_space_event ev = { .space_id = spt_space_id(s) };
	u32 i, cpu, nr_noflush = 0, nr_probes = 0;
	int ret;

	if (w.pat_set) {
		ret = spt_load_pat_check(req->pat);
		if (ret)
			return ret;
	}
	for (i = 0; i < req->nr_ops; i++) {
		ret = spt_load_op_check(&ops[i]);
		if (ret)
			return ret;
	}
	for (i = 0; i < req->nr_ops; i++) {
		ret = spt_load_op_allowed(&ops[i], req->phys_ok, req->runs_ok);
		if (ret)
			return ret;
		/* A slot per NOFLUSH op, and per op that may split one. */
		if (ops[i].flags & SPT_LOAD_OP_F_NOFLUSH)
			nr_noflush++;
		if (ops[i].flags & SPT_LOAD_OP_F_PROBE)
			nr_probes++;
		if (ops[i].flags & SPT_LOAD_OP_F_NOFLUSH ||
		    ops[i].op == SPT_LOAD_OP_INVLPG ||
		    ops[i].op == SPT_LOAD_OP_FETCH)
			w.max_pending++;
	}
	if (!nr_noflush)
		w.max_pending = 0;	/* nothing will ever be pending */
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
		ops[i].out_cycles = 0;
	}
	spt_flusher_init(&w.fl);
	ret = spt_space_enter(s);
	if (ret)
		return ret;
	spt_tables_change_begin(s);
	ret = spt_window_alloc_frames(&w);
	if (ret)
		goto out;
	if (nr_probes) {
		struct spt_space_snap snap;

		spt_space_snap(s, &snap);
		w.root = spt_pool_va(spt_pool, snap.root_pa);
		w.probe = spt_um_probe_alloc(snap.levels);
		if (!w.probe) {
			ret = -ENOMEM;
			goto out;
		}
	}
	if (w.max_pending) {
		w.pending = spt_kcalloc(w.max_pending, sizeof(*w.pending),
					GFP_KERNEL);
		if (!w.pending) {
			ret = -ENOMEM;
			goto out;
		}
	}

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
	res->tsc_khz = tsc_khz;
	res->cpu_features = w.cpu_features;
out:
	spt_um_probe_free(w.probe);
	kfree(w.pending);
	spt_window_free_frames(&w);
	spt_flush_finish(s, &w.fl);
	spt_tables_change_end(s);
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
