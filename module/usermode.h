/* SPDX-License-Identifier: GPL-2.0 */
/*
 * Runs of user code in a space (usermode.c, usermode_entry.S): the context
 * the entry and exit code share. Its first part is read by assembly: the
 * offsets below are checked against the struct at build time.
 */
#ifndef SPT_USERMODE_H
#define SPT_USERMODE_H

#define SPT_UM_IDT_BYTES	4096	/* 256 gates of 16 bytes */
#define SPT_UM_REGS		4096	/* u64[16], hardware order */
#define SPT_UM_RIP		4224
#define SPT_UM_RFLAGS		4232
#define SPT_UM_CS		4240
#define SPT_UM_SS		4248
#define SPT_UM_VECTOR		4256
#define SPT_UM_ERROR		4264
#define SPT_UM_CR2		4272
#define SPT_UM_KRSP		4280
#define SPT_UM_KGS		4288
#define SPT_UM_NMIS		4296
#define SPT_UM_TIMED_OUT	4304
#define SPT_UM_ABORT		4312
#define SPT_UM_ABORT_RIP	4320
#define SPT_UM_KSS		4328
#define SPT_UM_GS_SEL		4336
#define SPT_UM_KIDT		4344	/* 10 bytes (sidt) */
#define SPT_UM_PIDT		4360	/* 10 bytes (lidt) */
#define SPT_UM_ASM_END		4376

/* Pseudo-vectors of the exits that are not IDT deliveries. */
#define SPT_UM_VEC_SYSCALL	256
#define SPT_UM_VEC_SYSENTER	257
/* spt_um_kprobe: the access was done without an event. */
#define SPT_UM_VEC_DONE		258

/* ABORT: the run ended in kernel mode. */
#define SPT_UM_ABORT_EVENT	1	/* an event in the entry code */
#define SPT_UM_ABORT_TIMED_OUT	2	/* the bound passed before entry */

/* Bytes between two exit stubs (spt_um_stubs + vector * this). */
#define SPT_UM_STUB_BYTES	32

/* struct tss_struct: offsets of x86_tss.sp0 and x86_tss.sp2 */
#define SPT_UM_TSS_SP0		4
#define SPT_UM_TSS_SP2		20

#ifndef __ASSEMBLY__
#include <linux/types.h>
#include <linux/shadowpt.h>

struct spt_space;

/* A run's request and result (the ioctl's struct spt_user_run, internally). */
struct spt_run_req {
	u32 flags;		/* SPT_LOAD_CPU, SPT_LOAD_FORCE */
	u32 cpu;
	u64 rip, rflags;
	u64 regs[SPT_RUN_NR_REGS];
};

struct spt_run_result {
	u32 reason, vector, cpu, fault, level, flags;
	u64 error_code, cr2, rip, rflags, ns;
	u64 regs[SPT_RUN_NR_REGS];
};

/*
 * Check @req (EINVAL), then run it in a load window of @s: 0 with @res
 * filled in, or the errno (EPERM, EFAULT, ENODEV, EXDEV, ENOENT, ENOMEM,
 * EIO for an event in the module's own entry code, which is a bug).
 * The caller checked allow_runs and the capability.
 */
int spt_usermode_run(struct spt_space *s, const struct spt_run_req *req,
		     struct spt_run_result *res);

/*
 * Probes: one READ, WRITE or FETCH of a load window made at CPL 3, or a
 * kernel-mode READ or WRITE with SMAP in force (load.c). Prepared before
 * the window (may sleep; NULL when out of memory), used inside it
 * (interrupts off, the space in CR3), freed after.
 */
struct spt_um_probe;

struct spt_um_probe *spt_um_probe_alloc(unsigned int levels);
void spt_um_probe_free(struct spt_um_probe *p);

/* What a probe did (spt_um_probe_access() returned 0). */
struct spt_um_probe_out {
	bool fault;		/* a #PF: error_code and cr2 are valid */
	u64 value;		/* a READ without fault: the value */
	u64 error_code, cr2;
};

/*
 * The access @kind (SPT_LOAD_OP_READ, _WRITE, _FETCH) of @width bytes at
 * @va, writing @value: at CPL 3 when @user, else in kernel mode without
 * stac (READ, WRITE only). A CPL-3 READ or WRITE runs its code from a
 * module page mapped at an address of another top-level entry than
 * @va's, in a private copy of the root at @root (the space's, read
 * entry by entry): CR3 points at that copy afterwards, and the caller
 * loads the space's root again (which flushes PCID 0). A CPL-3 FETCH
 * executes "syscall" at @va, which the caller wrote there if the page is
 * a frame of the pool. 0, or -ENODEV (the CPU cannot enter user mode:
 * its TSS sp0 is not an entry stack), -EIO (an event the probe does not
 * expect: a bug, logged).
 */
int spt_um_probe_access(struct spt_um_probe *p, const u64 *root, u32 kind,
			bool user, u64 va, u32 width, u64 value,
			struct spt_um_probe_out *out);

/* The bytes a CPL-3 FETCH needs at its address: "syscall". */
#define SPT_UM_FETCH_STUB_BYTES	2
extern const u8 spt_um_fetch_stub[SPT_UM_FETCH_STUB_BYTES];

int spt_usermode_init(void);
void spt_usermode_exit(void);

/* usermode_entry.S, which reads spt_um_ctxs[cpu] (usermode.c) */
extern void **spt_um_ctxs;
void spt_um_enter(void *ctx);
extern const u8 spt_um_stubs[];
extern const u8 spt_um_syscall[];
extern const u8 spt_um_sysenter[];
void spt_um_kprobe(void *ctx);
extern const u64 spt_um_kprobe_range[2];
#endif /* __ASSEMBLY__ */

#endif /* SPT_USERMODE_H */
