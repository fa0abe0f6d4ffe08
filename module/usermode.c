// SPDX-License-Identifier: GPL-2.0
/*
 * Runs: user code at CPL 3 inside a space, in a load window.
 *
 * A run is a load window (load.c: the CPU choice, the isolation rule, the
 * space in CR3 with PCID 0, the time bound) whose body enters user mode
 * once and comes back on the first event. The CPU stays the kernel's
 * (docs/design.md, "Runs"): around the entry the body saves and restores
 * everything user code can change or the exit path borrows: the IDT (a
 * private one whose every vector leads to usermode_entry.S), MSR_LSTAR,
 * MSR_CSTAR and MSR_IA32_SYSENTER_EIP, the GS swap and the kernel's GS
 * selector, FS/DS/ES and the FS and inactive GS bases (FSGSBASE lets user
 * code write them), DR6/DR7 (DR7 is cleared for the run: no kernel
 * breakpoint fires in user mode), PKRU, MSR_IA32_U_CET (cleared) and the
 * FPU and vector state (kernel_fpu_begin/end).
 *
 * The time bound: another online CPU runs a pinned hrtimer that, once the
 * window's budget is spent, sends NMIs (one outstanding at a time, every
 * millisecond) to the run's CPU until the run is over. An NMI that ends a
 * run, or arrives while the private IDT is loaded, is handed to the
 * kernel with "int $2" once the state is restored; the kernel's handlers
 * include ours, which claims the NMIs the timer sent.
 */
#include <linux/slab.h>
#include <linux/hrtimer.h>
#include <linux/cpumask.h>
#include <linux/percpu.h>
#include <linux/smp.h>
#include <linux/capability.h>
#include <asm/apic.h>
#include <asm/nmi.h>
#include <asm/desc_defs.h>
#include <asm/page_64_types.h>
#include <asm/processor.h>
#include <asm/segment.h>
#include <asm/msr.h>
#include <asm/fpu/api.h>
#include <asm/debugreg.h>
#include <asm/pkru.h>
#include <asm/trapnr.h>
#include <asm/trap_pf.h>
#include <asm/irq_vectors.h>

#include "shadowpt.h"
#include "compat.h"
#include "space.h"
#include "load.h"
#include "probe.h"
#include "usermode.h"

/* The context of the run on each CPU (NULL when none), for the exit code. */
void **spt_um_ctxs;

/* NMIs a timer sent to each CPU that the kernel's handler has not seen. */
static DEFINE_PER_CPU(atomic_t, spt_um_nmi_expected);

enum spt_um_state {
	SPT_UM_IDLE,
	SPT_UM_RUNNING,
	SPT_UM_DONE,
};

struct spt_um_ctx {
	/* Read and written by usermode_entry.S: offsets in usermode.h. */
	struct idt_bits_gate {
		u16 offset_low, segment, bits, offset_middle;
		u32 offset_high, reserved;
	} idt[256];
	u64 regs[SPT_RUN_NR_REGS];
	u64 rip, rflags, cs, ss;
	u64 vector, error_code, cr2;
	u64 kernel_rsp, kernel_gs_base;
	u64 nmis, timed_out, abort, abort_rip;
	u64 kernel_ss, gs_sel;
	u8 kernel_idt[16];
	u8 private_idt[16];
	/* C only. */
	const struct spt_run_req *req;
	struct spt_run_result *res;
	int err;
	unsigned int cpu;
	int state;
	bool armed;
	struct hrtimer timer;
	u64 budget_ns;
};

#define SPT_UM_CHECK(field, off) \
	BUILD_BUG_ON(offsetof(struct spt_um_ctx, field) != (off))

static void spt_um_layout_check(void)
{
	BUILD_BUG_ON(sizeof(((struct spt_um_ctx *)0)->idt) !=
		     SPT_UM_IDT_BYTES);
	SPT_UM_CHECK(regs, SPT_UM_REGS);
	SPT_UM_CHECK(rip, SPT_UM_RIP);
	SPT_UM_CHECK(rflags, SPT_UM_RFLAGS);
	SPT_UM_CHECK(cs, SPT_UM_CS);
	SPT_UM_CHECK(ss, SPT_UM_SS);
	SPT_UM_CHECK(vector, SPT_UM_VECTOR);
	SPT_UM_CHECK(error_code, SPT_UM_ERROR);
	SPT_UM_CHECK(cr2, SPT_UM_CR2);
	SPT_UM_CHECK(kernel_rsp, SPT_UM_KRSP);
	SPT_UM_CHECK(kernel_gs_base, SPT_UM_KGS);
	SPT_UM_CHECK(nmis, SPT_UM_NMIS);
	SPT_UM_CHECK(timed_out, SPT_UM_TIMED_OUT);
	SPT_UM_CHECK(abort, SPT_UM_ABORT);
	SPT_UM_CHECK(abort_rip, SPT_UM_ABORT_RIP);
	SPT_UM_CHECK(kernel_ss, SPT_UM_KSS);
	SPT_UM_CHECK(gs_sel, SPT_UM_GS_SEL);
	SPT_UM_CHECK(kernel_idt, SPT_UM_KIDT);
	SPT_UM_CHECK(private_idt, SPT_UM_PIDT);
	BUILD_BUG_ON(offsetof(struct tss_struct, x86_tss.sp0) !=
		     SPT_UM_TSS_SP0);
	BUILD_BUG_ON(offsetof(struct tss_struct, x86_tss.sp2) !=
		     SPT_UM_TSS_SP2);
}

/* Vectors user code may raise with "int $n": int3's and 32..255. */
static bool spt_um_user_vector(unsigned int v)
{
	return v == X86_TRAP_BP || v >= FIRST_EXTERNAL_VECTOR;
}

/* The IST stack of the kernel's own gate, for the vectors that use one. */
static unsigned int spt_um_ist(unsigned int v)
{
	switch (v) {
	case X86_TRAP_NMI:
		return IST_INDEX_NMI + 1;
	case X86_TRAP_DB:
		return IST_INDEX_DB + 1;
	case X86_TRAP_DF:
		return IST_INDEX_DF + 1;
	case X86_TRAP_MC:
		return IST_INDEX_MCE + 1;
	}
	return 0;
}

static void spt_um_build_idt(struct spt_um_ctx *ctx)
{
	unsigned int v;

	for (v = 0; v < 256; v++) {
		unsigned long a = (unsigned long)spt_um_stubs +
				  v * SPT_UM_STUB_BYTES;
		struct idt_bits_gate *g = &ctx->idt[v];
		unsigned int dpl = spt_um_user_vector(v) ? 3 : 0;

		g->offset_low = (u16)a;
		g->segment = __KERNEL_CS;
		/* ist, type 14 (64-bit interrupt gate), dpl, present */
		g->bits = spt_um_ist(v) | (GATE_INTERRUPT << 8) |
			  (dpl << 13) | (1U << 15);
		g->offset_middle = (u16)(a >> 16);
		g->offset_high = (u32)(a >> 32);
		g->reserved = 0;
	}
	*(u16 *)ctx->private_idt = sizeof(ctx->idt) - 1;
	*(u64 *)(ctx->private_idt + 2) = (unsigned long)ctx->idt;
}

static int spt_um_nmi_handler(unsigned int type, struct pt_regs *regs)
{
	if (atomic_cmpxchg(this_cpu_ptr(&spt_um_nmi_expected), 1, 0) == 1)
		return NMI_HANDLED;
	return NMI_DONE;
}

/* On another CPU: the budget is spent; NMI the run until it is over. */
static enum hrtimer_restart spt_um_timer_fn(struct hrtimer *t)
{
	struct spt_um_ctx *ctx = container_of(t, struct spt_um_ctx, timer);

	if (READ_ONCE(ctx->state) != SPT_UM_RUNNING)
		return HRTIMER_NORESTART;
	WRITE_ONCE(ctx->timed_out, 1);
	/* Ordered before the IPI: the NMI's handler sees timed_out. */
	smp_mb();
	if (!atomic_cmpxchg(per_cpu_ptr(&spt_um_nmi_expected, ctx->cpu), 0, 1))
		apic->send_IPI(ctx->cpu, NMI_VECTOR);
	hrtimer_forward_now(t, ms_to_ktime(1));
	return HRTIMER_RESTART;
}

static void spt_um_arm(void *arg)
{
	struct spt_um_ctx *ctx = arg;

	hrtimer_start(&ctx->timer, ns_to_ktime(ctx->budget_ns),
		      HRTIMER_MODE_REL_PINNED_HARD);
}

static int spt_um_prepare(void *arg, unsigned int cpu, u64 budget_ns)
{
	struct spt_um_ctx *ctx = arg;
	unsigned int other = cpumask_any_but(cpu_online_mask, cpu);
	unsigned long sp0 = this_cpu_read(cpu_tss_rw.x86_tss.sp0);

	ctx->cpu = cpu;
	ctx->budget_ns = budget_ns;
	/* The exits from user mode land on sp0: the entry stack's top. */
	if (!IS_ALIGNED(sp0, PAGE_SIZE) || sp0 < TASK_SIZE_MAX) {
		pr_warn_once("shadowpt: TSS sp0 %lx is not an entry stack: no runs\n",
			     sp0);
		return -ENODEV;
	}
	/* The time bound needs a CPU to send its NMI (hotplug is held). */
	if (other >= nr_cpu_ids)
		return -ENODEV;
	hrtimer_init(&ctx->timer, CLOCK_MONOTONIC,
		     HRTIMER_MODE_REL_PINNED_HARD);
	ctx->timer.function = spt_um_timer_fn;
	WRITE_ONCE(ctx->state, SPT_UM_RUNNING);
	ctx->armed = true;
	return smp_call_function_single(other, spt_um_arm, ctx, 1);
}

static void spt_um_finish(void *arg)
{
	struct spt_um_ctx *ctx = arg;

	WRITE_ONCE(ctx->state, SPT_UM_DONE);
	if (ctx->armed)
		hrtimer_cancel(&ctx->timer);
}

struct spt_um_page_ctx {
	u32 need;		/* SPT_PROT_* the page must have */
	bool ok;
	/* #PF */
	u64 error_code;
	u64 va;
	u32 fault, level;
	bool mismatch, changed;
};

static void spt_um_page_check(const struct spt_query *q, void *arg)
{
	struct spt_um_page_ctx *pc = arg;

	pc->ok = q->mapped && q->item.tracked &&
		 (q->prop.flags & pc->need) == pc->need;
}

/* The walker's explanation of a #PF, held against the error code. */
static void spt_um_page_explain(const struct spt_query *q, void *arg)
{
	struct spt_um_page_ctx *pc = arg;
	u64 ec = pc->error_code;
	u32 fault = 0;
	u64 val;

	if (!q->mapped) {
		fault = SPT_FAULT_NOT_PRESENT;
		pc->level = q->level;
	} else {
		if (!(q->prop.flags & SPT_PROT_USER))
			fault |= SPT_FAULT_SUPERVISOR;
		if ((ec & X86_PF_WRITE) && !(q->prop.flags & SPT_PROT_WRITE))
			fault |= SPT_FAULT_READ_ONLY;
		if ((ec & X86_PF_INSTR) && !(q->prop.flags & SPT_PROT_EXEC))
			fault |= SPT_FAULT_NX;
		if (!(ec & X86_PF_INSTR) &&
		    spt_probe_pkey_denies(q, ec & X86_PF_WRITE))
			fault |= SPT_FAULT_PKEY;
	}
	pc->fault = fault;
	/*
	 * P says whether a translation existed; a present page must have a
	 * reason to fault; the access was a user one; no reserved bit.
	 */
	pc->mismatch = !(ec & X86_PF_PROT) != !q->mapped ||
		       (q->mapped && !fault) || !(ec & X86_PF_USER) ||
		       (ec & X86_PF_RSVD);
	/*
	 * A reserved bit on the walk: RSVD, whatever lies below (P too on
	 * hardware; TCG leaves it clear, so it is not asked for). Never
	 * probed again: Linux oopses on a reserved-bit fault in the user
	 * half.
	 */
	if (q->rsvd) {
		pc->fault = SPT_FAULT_RSVD;
		pc->mismatch = !(ec & X86_PF_RSVD) || !(ec & X86_PF_USER);
		return;
	}
	/*
	 * Not present to the MMU, present to the walker now: a map made
	 * since the fault needs no flush and moves no generation. Ask the
	 * MMU again (the TLB is in line with the table here): if it sees
	 * the page now, the two agree and the table changed.
	 */
	if (pc->mismatch && !(ec & X86_PF_PROT) && q->mapped &&
	    q->item.tracked && !spt_probe_read(pc->va, 1, &val))
		pc->changed = true;
}

static bool spt_um_has_error_code(unsigned int v)
{
	return v == X86_TRAP_DF || (v >= X86_TRAP_TS && v <= X86_TRAP_PF) ||
	       v == X86_TRAP_AC || v == X86_TRAP_CP || v == X86_TRAP_VC ||
	       v == 30;
}

/* Fill in the result from what the exit code left in the context. */
static void spt_um_decode(struct spt_space *s, int *tlb_gen,
			  struct spt_um_ctx *ctx)
{
	struct spt_run_result *res = ctx->res;
	unsigned int v = ctx->vector;
	int gen = *tlb_gen;

	res->vector = v;
	if (ctx->abort) {
		/* Nothing of the user code ran: the registers are the input. */
		res->flags |= SPT_RUN_OUT_NOT_ENTERED;
		res->reason = ctx->timed_out ? SPT_RUN_EXIT_TIME :
					       SPT_RUN_EXIT_NMI;
		res->vector = X86_TRAP_NMI;
		memcpy(res->regs, ctx->req->regs, sizeof(res->regs));
		res->rip = ctx->req->rip;
		res->rflags = ctx->rflags;
		if (ctx->abort == SPT_UM_ABORT_EVENT && v != X86_TRAP_NMI) {
			pr_err("shadowpt: run: vector %u in the entry code at %pS (error code %llx, cr2 %llx)\n",
			       v, (void *)ctx->abort_rip, ctx->error_code,
			       ctx->cr2);
			ctx->err = -EIO;
		}
		return;
	}
	memcpy(res->regs, ctx->regs, sizeof(res->regs));
	res->rip = ctx->rip;
	res->rflags = ctx->rflags;
	if (v == SPT_UM_VEC_SYSCALL) {
		res->reason = SPT_RUN_EXIT_SYSCALL;
		res->vector = 0;
	} else if (v == SPT_UM_VEC_SYSENTER) {
		res->reason = SPT_RUN_EXIT_SYSENTER;
		res->vector = 0;
	} else if (v == X86_TRAP_NMI) {
		res->reason = ctx->timed_out ? SPT_RUN_EXIT_TIME :
					       SPT_RUN_EXIT_NMI;
	} else if (v < FIRST_EXTERNAL_VECTOR) {
		res->reason = SPT_RUN_EXIT_EXCEPTION;
		if (spt_um_has_error_code(v))
			res->error_code = ctx->error_code;
	} else {
		res->reason = SPT_RUN_EXIT_INT;
	}
	if (res->reason == SPT_RUN_EXIT_EXCEPTION && v == X86_TRAP_PF) {
		struct spt_um_page_ctx pc = {
			.error_code = ctx->error_code, .va = ctx->cr2,
		};

		res->cr2 = ctx->cr2;
		if (ctx->cr2 >= spt_cfg_user_end(&spt_machine_cfg)) {
			/* The kernel half: present, and supervisor. */
			pc.fault = SPT_FAULT_SUPERVISOR;
			pc.mismatch = !(pc.error_code & X86_PF_USER);
		} else if (spt_space_load_page(s, ctx->cr2, tlb_gen,
					       spt_um_page_explain, &pc)) {
			return;
		}
		res->fault = pc.fault;
		res->level = pc.level;
		if (*tlb_gen != gen || pc.changed)
			res->flags |= SPT_RUN_OUT_CHANGED;
		else if (pc.mismatch)
			res->fault |= SPT_FAULT_MISMATCH;
	}
}

struct spt_um_saved {
	u64 lstar, cstar, sysenter_eip, fs_base, kernel_gs_base, u_cet;
	unsigned long dr6, dr7;
	u32 pkru;
	u16 ds, es, fs, gs;
};

static void spt_um_save(struct spt_um_ctx *ctx, struct spt_um_saved *sv)
{
	rdmsrl(MSR_LSTAR, sv->lstar);
	rdmsrl(MSR_CSTAR, sv->cstar);
	rdmsrl(MSR_IA32_SYSENTER_EIP, sv->sysenter_eip);
	rdmsrl(MSR_FS_BASE, sv->fs_base);
	rdmsrl(MSR_KERNEL_GS_BASE, sv->kernel_gs_base);
	rdmsrl(MSR_GS_BASE, ctx->kernel_gs_base);
	savesegment(ds, sv->ds);
	savesegment(es, sv->es);
	savesegment(fs, sv->fs);
	savesegment(gs, sv->gs);
	ctx->gs_sel = sv->gs;
	get_debugreg(sv->dr6, 6);
	get_debugreg(sv->dr7, 7);
	if (sv->dr7)
		set_debugreg(0, 7);
	sv->pkru = read_pkru();
	if (spt_user_cet_enabled()) {
		rdmsrl(MSR_IA32_U_CET, sv->u_cet);
		wrmsrl(MSR_IA32_U_CET, 0);
	}
	wrmsrl(MSR_LSTAR, (unsigned long)spt_um_syscall);
	wrmsrl(MSR_CSTAR, (unsigned long)spt_um_syscall);
	wrmsrl(MSR_IA32_SYSENTER_EIP, (unsigned long)spt_um_sysenter);
}

static void spt_um_restore(const struct spt_um_saved *sv)
{
	wrmsrl(MSR_LSTAR, sv->lstar);
	wrmsrl(MSR_CSTAR, sv->cstar);
	wrmsrl(MSR_IA32_SYSENTER_EIP, sv->sysenter_eip);
	loadsegment(ds, sv->ds);
	loadsegment(es, sv->es);
	/* Loading FS may change its base: the base goes back after. */
	loadsegment(fs, sv->fs);
	wrmsrl(MSR_FS_BASE, sv->fs_base);
	wrmsrl(MSR_KERNEL_GS_BASE, sv->kernel_gs_base);
	if (spt_user_cet_enabled())
		wrmsrl(MSR_IA32_U_CET, sv->u_cet);
	write_pkru(sv->pkru);
	set_debugreg(sv->dr6, 6);
	if (sv->dr7)
		set_debugreg(sv->dr7, 7);
}

/* The window's body: interrupts off, the space in CR3. */
static void spt_um_run(struct spt_space *s, int *tlb_gen, u64 budget_ns,
		       void *arg)
{
	struct spt_um_ctx *ctx = arg;
	const struct spt_run_req *req = ctx->req;
	struct spt_um_page_ctx pc;
	struct spt_um_saved sv = {};
	u64 nmis;

	/* The code and the stack, as the run starts (also syncs the TLB). */
	pc.need = SPT_PROT_USER | SPT_PROT_EXEC;
	if (spt_space_load_page(s, req->rip, tlb_gen, spt_um_page_check,
				&pc) || !pc.ok) {
		ctx->err = -EFAULT;
		return;
	}
	pc.need = SPT_PROT_USER | SPT_PROT_WRITE;
	if (!req->regs[SPT_REG_RSP] ||
	    spt_space_load_page(s, req->regs[SPT_REG_RSP] - 1, tlb_gen,
				spt_um_page_check, &pc) || !pc.ok) {
		ctx->err = -EFAULT;
		return;
	}
	memcpy(ctx->regs, req->regs, sizeof(ctx->regs));
	ctx->rip = req->rip;
	ctx->rflags = req->rflags | X86_EFLAGS_FIXED;
	ctx->cs = __USER_CS;
	ctx->ss = __USER_DS;

	kernel_fpu_begin();
	spt_um_save(ctx, &sv);
	spt_um_ctxs[ctx->cpu] = ctx;
	spt_um_enter(ctx);
	spt_um_ctxs[ctx->cpu] = NULL;
	spt_um_restore(&sv);
	kernel_fpu_end();

	/* Each NMI taken under the private IDT, to the kernel's handlers. */
	nmis = ctx->nmis;
	if (!ctx->abort && ctx->vector == X86_TRAP_NMI)
		nmis++;
	while (nmis--)
		asm volatile("int $2" ::: "memory");

	spt_um_decode(s, tlb_gen, ctx);
}

static const u64 spt_um_rflags_ok = SPT_RUN_RFLAGS_ALLOWED | X86_EFLAGS_FIXED;

int spt_usermode_run(struct spt_space *s, const struct spt_run_req *req,
		     struct spt_run_result *res)
{
	u64 end = spt_cfg_user_end(&spt_machine_cfg);
	struct spt_load_result lres;
	struct spt_load_body body;
	struct spt_load_req lreq;
	struct spt_um_ctx *ctx;
	int ret;

	if (req->rip >= end || req->regs[SPT_REG_RSP] > end ||
	    (req->rflags & ~spt_um_rflags_ok))
		return -EINVAL;
	ctx = kzalloc(sizeof(*ctx), GFP_KERNEL);
	if (!ctx)
		return -ENOMEM;
	spt_um_build_idt(ctx);
	ctx->req = req;
	ctx->res = res;
	memset(res, 0, sizeof(*res));
	body = (struct spt_load_body) {
		.prepare = spt_um_prepare,
		.run = spt_um_run,
		.finish = spt_um_finish,
		.arg = ctx,
	};
	lreq = (struct spt_load_req) {
		.flags = req->flags, .cpu = req->cpu, .body = &body,
	};
	ret = spt_load_window(s, &lreq, &lres);
	if (!ret)
		ret = ctx->err;
	if (!ret) {
		res->cpu = lres.cpu;
		res->ns = lres.ns;
	}
	kfree(ctx);
	return ret;
}

int spt_usermode_init(void)
{
	int ret;

	spt_um_layout_check();
	spt_um_ctxs = kcalloc(nr_cpu_ids, sizeof(*spt_um_ctxs), GFP_KERNEL);
	if (!spt_um_ctxs)
		return -ENOMEM;
	ret = register_nmi_handler(NMI_LOCAL, spt_um_nmi_handler, 0,
				   "shadowpt_run");
	if (ret) {
		kfree(spt_um_ctxs);
		return ret;
	}
	return 0;
}

void spt_usermode_exit(void)
{
	unregister_nmi_handler(NMI_LOCAL, "shadowpt_run");
	kfree(spt_um_ctxs);
}
