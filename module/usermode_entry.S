/* SPDX-License-Identifier: GPL-2.0 */
/*
 * Entry to and exit from user mode for runs (usermode.c).
 *
 * spt_um_enter(ctx) saves the callee-saved registers, rflags and rsp in
 * the context, loads the run's private IDT and enters CPL 3 with iretq.
 * Every way back lands on spt_um_common with an interrupt frame and a
 * vector on the stack:
 *   - an IDT delivery: the stub of its vector (spt_um_stubs + 32 * v),
 *     on the TSS's sp0 stack (the entry stack of the CPU entry area), or
 *     on the kernel's IST stacks for NMI, #DB, #DF and #MC;
 *   - syscall (MSR_LSTAR, MSR_CSTAR): spt_um_syscall, which has no stack
 *     of its own; it parks the user rsp in the TSS's sp2 slot (as the
 *     kernel's entry code does) and builds the frame on the sp0 stack;
 *   - sysenter: spt_um_sysenter, on MSR_IA32_SYSENTER_ESP (the same stack).
 * From user mode the exit saves the user registers and the frame in the
 * context, swaps GS back and returns from spt_um_enter with the kernel's
 * IDT, stack and flags. The context is found without a register to spare
 * through the CPU number the kernel keeps in the limit of the GDT's CPUNODE
 * segment (LSL, as the vDSO's getcpu does) and spt_um_ctxs[cpu].
 *
 * Events in kernel mode while the private IDT is loaded: an NMI is counted
 * (the C code hands it to the kernel later); one that arrives between the
 * lidt and the iretq of the entry aborts the entry instead (else the user
 * code could loop with the NMI of the time bound already spent). A #DB is
 * the single step trap of a syscall or sysenter made with TF set: dropped.
 * Anything else is a bug of this file: the run is aborted, GS_BASE is
 * written back, and the C code reports it (EIO).
 */
#include <linux/linkage.h>
#include <asm/segment.h>
#include <asm/msr-index.h>
#include "usermode.h"

#define ENDBR64	.byte 0xf3, 0x0f, 0x1e, 0xfa

#define REG(n)	(SPT_UM_REGS + 8 * (n))

/* %r11 = spt_um_ctxs[this CPU]; clobbers %rcx. */
.macro SPT_UM_CTX
	movl	$__CPUNODE_SEG, %ecx
	lsl	%ecx, %ecx
	andl	$0xfff, %ecx
	movq	spt_um_ctxs(%rip), %r11
	movq	(%r11, %rcx, 8), %r11
.endm

	.text

/* The 256 exit stubs, SPT_UM_STUB_BYTES apart. */
	.balign	SPT_UM_STUB_BYTES
	.globl	spt_um_stubs
spt_um_stubs:
vector = 0
	.rept	256
	.balign	SPT_UM_STUB_BYTES
	ENDBR64
	.if (vector == 8) || ((vector >= 10) && (vector <= 14)) || (vector == 17) || (vector == 21) || (vector == 29) || (vector == 30)
	.else
	pushq	$0			/* no error code: a zero in its place */
	.endif
	pushq	$vector
	jmp	spt_um_common
vector = vector + 1
	.endr

/*
 * Frame: 0 vector, 8 error code, 16 rip, 24 cs, 32 rflags, 40 rsp, 48 ss.
 */
	.balign	16
spt_um_common:
	testb	$3, 24(%rsp)
	jz	.Lfrom_kernel
.Lfrom_user:
	pushq	%rcx
	pushq	%r11
	SPT_UM_CTX
	/* The kernel's GS selector (with the user GS base active) */
	movw	SPT_UM_GS_SEL(%r11), %cx
	movw	%cx, %gs
	swapgs
	movq	%rax, REG(0)(%r11)
	movq	%rdx, REG(2)(%r11)
	movq	%rbx, REG(3)(%r11)
	movq	%rbp, REG(5)(%r11)
	movq	%rsi, REG(6)(%r11)
	movq	%rdi, REG(7)(%r11)
	movq	%r8, REG(8)(%r11)
	movq	%r9, REG(9)(%r11)
	movq	%r10, REG(10)(%r11)
	movq	%r12, REG(12)(%r11)
	movq	%r13, REG(13)(%r11)
	movq	%r14, REG(14)(%r11)
	movq	%r15, REG(15)(%r11)
	movq	%r11, %rax
	popq	%rcx
	movq	%rcx, REG(11)(%rax)
	popq	%rcx
	movq	%rcx, REG(1)(%rax)
	popq	%rcx
	movq	%rcx, SPT_UM_VECTOR(%rax)
	popq	%rcx
	movq	%rcx, SPT_UM_ERROR(%rax)
	popq	%rcx
	movq	%rcx, SPT_UM_RIP(%rax)
	popq	%rcx
	movq	%rcx, SPT_UM_CS(%rax)
	popq	%rcx
	movq	%rcx, SPT_UM_RFLAGS(%rax)
	popq	%rcx
	movq	%rcx, REG(4)(%rax)
	popq	%rcx
	movq	%rcx, SPT_UM_SS(%rax)
	movq	%cr2, %rcx
	movq	%rcx, SPT_UM_CR2(%rax)
	jmp	.Lrestore

.Lfrom_kernel:
	cmpq	$1, (%rsp)
	jne	1f
	/* #DB: the single step after a syscall/sysenter made with TF */
	addq	$16, %rsp
	iretq
1:
	pushq	%rcx
	pushq	%r11
	SPT_UM_CTX
	cmpq	$2, 16(%rsp)
	jne	.Labort
	incq	SPT_UM_NMIS(%r11)
	/* rip - spt_um_enter (no relocation to a label without ENDBR) */
	leaq	spt_um_enter(%rip), %rcx
	negq	%rcx
	addq	32(%rsp), %rcx
	cmpq	$(spt_um_crit_start - spt_um_enter), %rcx
	jb	2f
	cmpq	$(spt_um_crit_end - spt_um_enter), %rcx
	jb	.Labort
2:
	/* An NMI elsewhere in our code: counted, back to where it was. */
	popq	%r11
	popq	%rcx
	addq	$16, %rsp
	iretq

.Labort:
	movq	$SPT_UM_ABORT_EVENT, SPT_UM_ABORT(%r11)
	movq	16(%rsp), %rcx
	movq	%rcx, SPT_UM_VECTOR(%r11)
	movq	24(%rsp), %rcx
	movq	%rcx, SPT_UM_ERROR(%r11)
	movq	32(%rsp), %rcx
	movq	%rcx, SPT_UM_ABORT_RIP(%r11)
	movq	%cr2, %rcx
	movq	%rcx, SPT_UM_CR2(%r11)
	/* GS may or may not have been swapped: write the kernel's back. */
	movq	%r11, %rsi
	movl	$MSR_GS_BASE, %ecx
	movl	SPT_UM_KGS(%rsi), %eax
	movl	SPT_UM_KGS + 4(%rsi), %edx
	wrmsr
	movq	%rsi, %rax
	jmp	.Lrestore

/* Back to the caller of spt_um_enter; %rax = the context. */
.Lrestore:
	lidt	SPT_UM_KIDT(%rax)
	movw	SPT_UM_KSS(%rax), %cx
	movw	%cx, %ss
	movq	SPT_UM_KRSP(%rax), %rsp
	popfq
	popq	%r15
	popq	%r14
	popq	%r13
	popq	%r12
	popq	%rbp
	popq	%rbx
	RET

/*
 * syscall (64-bit or compatibility mode): rcx = user rip, r11 = user
 * rflags, rsp = the user's (not to be touched), GS the user's. The
 * kernel's MSR_SYSCALL_MASK cleared IF, TF, DF and AC.
 */
	.balign	16
	.globl	spt_um_syscall
spt_um_syscall:
	ENDBR64
	swapgs
	movq	%rsp, %gs:cpu_tss_rw + SPT_UM_TSS_SP2
	movq	%gs:cpu_tss_rw + SPT_UM_TSS_SP0, %rsp
	pushq	$__USER_DS
	pushq	%gs:cpu_tss_rw + SPT_UM_TSS_SP2
	pushq	%r11
	pushq	$__USER_CS
	pushq	%rcx
	pushq	$0
	pushq	$SPT_UM_VEC_SYSCALL
	swapgs
	jmp	.Lfrom_user

/*
 * sysenter (Intel): rsp = MSR_IA32_SYSENTER_ESP (the sp0 stack), IF
 * cleared, TF not (cleared here); the user rip and rsp are not known.
 */
	.balign	16
	.globl	spt_um_sysenter
spt_um_sysenter:
	ENDBR64
	pushq	$__USER_DS
	pushq	$0
	pushfq
	pushq	$2
	popfq
	pushq	$__USER_CS
	pushq	$0
	pushq	$0
	pushq	$SPT_UM_VEC_SYSENTER
	jmp	.Lfrom_user

/*
 * void spt_um_enter(void *ctx). The 16 bytes of nops before it stand for
 * the padding C functions get with CONFIG_CALL_PADDING: a call from C may
 * be redirected there (call depth tracking) and must fall through.
 */
	.balign	16
	.skip	16, 0x90
	.globl	spt_um_enter
spt_um_enter:
	ENDBR64
	pushq	%rbx
	pushq	%rbp
	pushq	%r12
	pushq	%r13
	pushq	%r14
	pushq	%r15
	pushfq
	movq	%rsp, SPT_UM_KRSP(%rdi)
	movw	%ss, SPT_UM_KSS(%rdi)
	sidt	SPT_UM_KIDT(%rdi)
	pushq	SPT_UM_SS(%rdi)
	pushq	REG(4)(%rdi)
	pushq	SPT_UM_RFLAGS(%rdi)
	pushq	SPT_UM_CS(%rdi)
	pushq	SPT_UM_RIP(%rdi)
spt_um_crit_start:
	lidt	SPT_UM_PIDT(%rdi)
	cmpq	$0, SPT_UM_TIMED_OUT(%rdi)
	jne	.Lnot_entered
	swapgs
	movq	REG(0)(%rdi), %rax
	movq	REG(1)(%rdi), %rcx
	movq	REG(2)(%rdi), %rdx
	movq	REG(3)(%rdi), %rbx
	movq	REG(5)(%rdi), %rbp
	movq	REG(6)(%rdi), %rsi
	movq	REG(8)(%rdi), %r8
	movq	REG(9)(%rdi), %r9
	movq	REG(10)(%rdi), %r10
	movq	REG(11)(%rdi), %r11
	movq	REG(12)(%rdi), %r12
	movq	REG(13)(%rdi), %r13
	movq	REG(14)(%rdi), %r14
	movq	REG(15)(%rdi), %r15
	movq	REG(7)(%rdi), %rdi
	iretq
spt_um_crit_end:
.Lnot_entered:
	movq	$SPT_UM_ABORT_TIMED_OUT, SPT_UM_ABORT(%rdi)
	movq	%rdi, %rax
	jmp	.Lrestore

/*
 * void spt_um_kprobe(void *ctx): one kernel-mode access with SMAP in force
 * (AC clear), under the private IDT, for load windows' SMAP probes. The
 * context's rip field selects it (SPT_UM_KPROBE_*: bit 2 write, bits 0..1
 * log2 of the width), REG(7) is the address, REG(6) the value written.
 * Done: REG(0) holds the value read, the vector is SPT_UM_VEC_DONE. A
 * fault: the abort path above records the vector, error code, rip and
 * cr2, and returns from here the same way. Same prologue as spt_um_enter.
 */
	.balign	16
	.skip	16, 0x90
	.globl	spt_um_kprobe
spt_um_kprobe:
	ENDBR64
	pushq	%rbx
	pushq	%rbp
	pushq	%r12
	pushq	%r13
	pushq	%r14
	pushq	%r15
	pushfq
	movq	%rsp, SPT_UM_KRSP(%rdi)
	movw	%ss, SPT_UM_KSS(%rdi)
	sidt	SPT_UM_KIDT(%rdi)
	lidt	SPT_UM_PIDT(%rdi)
	/* AC clear: SMAP applies (no clac: the flags word works anywhere) */
	pushfq
	andq	$~0x40000, (%rsp)
	popfq
	movq	%rdi, %rax
	movq	REG(6)(%rax), %rsi
	movq	REG(7)(%rax), %rdi
	xorl	%edx, %edx
	movq	SPT_UM_RIP(%rax), %rcx
	cmpq	$0, %rcx
	je	.Lkp_r1
	cmpq	$1, %rcx
	je	.Lkp_r2
	cmpq	$2, %rcx
	je	.Lkp_r4
	cmpq	$3, %rcx
	je	.Lkp_r8
	cmpq	$4, %rcx
	je	.Lkp_w1
	cmpq	$5, %rcx
	je	.Lkp_w2
	cmpq	$6, %rcx
	je	.Lkp_w4
	jmp	.Lkp_w8
.Lkp_access:
.Lkp_r1:
	movzbl	(%rdi), %edx
	jmp	.Lkp_done
.Lkp_r2:
	movzwl	(%rdi), %edx
	jmp	.Lkp_done
.Lkp_r4:
	movl	(%rdi), %edx
	jmp	.Lkp_done
.Lkp_r8:
	movq	(%rdi), %rdx
	jmp	.Lkp_done
.Lkp_w1:
	movb	%sil, (%rdi)
	jmp	.Lkp_done
.Lkp_w2:
	movw	%si, (%rdi)
	jmp	.Lkp_done
.Lkp_w4:
	movl	%esi, (%rdi)
	jmp	.Lkp_done
.Lkp_w8:
	movq	%rsi, (%rdi)
.Lkp_access_end:
.Lkp_done:
	movq	%rdx, REG(0)(%rax)
	movq	$SPT_UM_VEC_DONE, SPT_UM_VECTOR(%rax)
	jmp	.Lrestore

/*
 * The accesses of spt_um_kprobe, as offsets from it (a relocation to a
 * label without ENDBR would upset objtool): [0], [1].
 */
	.section .rodata
	.balign	8
	.globl	spt_um_kprobe_range
spt_um_kprobe_range:
	.quad	.Lkp_access - spt_um_kprobe
	.quad	.Lkp_access_end - spt_um_kprobe
