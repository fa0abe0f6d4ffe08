// SPDX-License-Identifier: GPL-2.0
/*
 * SPT_IOCTL_RUN: user code at CPL 3 inside a space.
 *
 * Each test writes a few instructions into a code page of its space (user,
 * executable, read-only), runs them and checks the exit against what the
 * instructions must do: the exit reason, vector, error code, cr2, rip and
 * registers, and for #PF the software walker's explanation (never
 * SPT_FAULT_MISMATCH). CPU 1 is isolated in the VMs (isolcpus=1).
 */
#ifndef _GNU_SOURCE
#define _GNU_SOURCE
#endif
#include <errno.h>
#include <fcntl.h>
#include <pthread.h>
#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/ioctl.h>
#include <sys/syscall.h>
#include <sys/wait.h>
#include <unistd.h>
#include <linux/capability.h>
#include <linux/shadowpt.h>

#include "kselftest_harness.h"
#include "shadowpt_utils.h"

#define CODE	0x10000000000ULL
#define DATA	(CODE + 0x10000)	/* user, writable, not executable */
#define STACK	(CODE + 0x20000)	/* user, writable */
#define RO	(CODE + 0x30000)	/* user, read-only */
#define SUP	(CODE + 0x40000)	/* supervisor, writable */
#define HOLE	(CODE + 0x50000)	/* never mapped */
#define SUPX	(CODE + 0x60000)	/* supervisor, executable */
#define CHURN	(CODE + 0x1000000)	/* the stress test's other thread */

#define PF_P	0x1
#define PF_W	0x2
#define PF_U	0x4
#define PF_RSVD	0x8
#define PF_I	0x10

#define FL_TF	0x100ULL
#define FL_IF	0x200ULL

/* A tiny assembler: the bytes of the instructions the tests need. */
struct code {
	uint8_t b[4096];
	size_t n;
};

static void emit(struct code *c, const void *p, size_t n)
{
	memcpy(c->b + c->n, p, n);
	c->n += n;
}

#define EMIT(c, ...) do { \
	const uint8_t _b[] = { __VA_ARGS__ }; \
	emit(c, _b, sizeof(_b)); \
} while (0)

/* movabs $imm, %reg (reg in hardware numbering) */
static void mov_imm(struct code *c, unsigned int reg, uint64_t imm)
{
	EMIT(c, reg < 8 ? 0x48 : 0x49, 0xb8 + (reg & 7));
	emit(c, &imm, 8);
}

static void syscall_(struct code *c)	{ EMIT(c, 0x0f, 0x05); }

struct run_env {
	struct spt_env env;
	__u32 id;
	char msg[256];
};

static int do_run(int fd, struct spt_user_run *r)
{
	r->size = sizeof(*r);
	return ioctl(fd, SPT_IOCTL_RUN, r);
}

static void init_run(struct spt_user_run *r, __u32 id, uint64_t rip)
{
	memset(r, 0, sizeof(*r));
	r->space_id = id;
	r->rip = rip;
	r->regs[SPT_REG_RSP] = STACK + 0x1000;
}

FIXTURE(run)
{
	struct spt_env env;
	__u32 id;
};

static void put_code(struct __test_metadata *_metadata, int fd, __u32 id,
		     uint64_t va, const struct code *c)
{
	ASSERT_EQ(0, _spt_rw(fd, id, SPT_RW_WRITE, va, (void *)c->b, c->n,
			     NULL));
}

FIXTURE_SETUP(run)
{
	int fd;

	spt_env_setup(_metadata, &self->env);
	fd = self->env.fd;
	if (spt_env_param(&self->env, "allow_runs", "1"))
		SKIP(return, "cannot set allow_runs");
	ASSERT_EQ(0, spt_env_create(_metadata, &self->env, 0, &self->id));
	ASSERT_EQ(0, _spt_map(fd, self->id, SPT_MAP_4K, CODE, SZ_4K, 0,
			      SPT_PROT_USER | SPT_PROT_EXEC, 0, NULL));
	ASSERT_EQ(0, _spt_map(fd, self->id, SPT_MAP_4K, DATA, SZ_4K, 0,
			      SPT_PROT_USER | SPT_PROT_WRITE, 0, NULL));
	ASSERT_EQ(0, _spt_map(fd, self->id, SPT_MAP_4K, STACK, SZ_4K, 0,
			      SPT_PROT_USER | SPT_PROT_WRITE, 0, NULL));
	ASSERT_EQ(0, _spt_map(fd, self->id, SPT_MAP_4K, RO, SZ_4K, 0,
			      SPT_PROT_USER, 0, NULL));
	ASSERT_EQ(0, _spt_map(fd, self->id, SPT_MAP_4K, SUP, SZ_4K, 0,
			      SPT_PROT_WRITE, 0, NULL));
	ASSERT_EQ(0, _spt_map(fd, self->id, SPT_MAP_4K, SUPX, SZ_4K, 0,
			      SPT_PROT_EXEC, 0, NULL));
}

FIXTURE_TEARDOWN(run)
{
	char msg[256];

	if (self->id)
		EXPECT_EQ(0, _spt_check(self->env.fd, self->id, msg,
					sizeof(msg)));
	spt_env_teardown(_metadata, &self->env);
}

/* Run @c at CODE; 0 or -1 with errno. */
static int run_code(struct __test_metadata *_metadata, int fd, __u32 id,
		    const struct code *c, struct spt_user_run *r)
{
	put_code(_metadata, fd, id, CODE, c);
	init_run(r, id, CODE);
	return do_run(fd, r);
}

/* Writes its data page, reads it back, exits through syscall. */
TEST_F(run, write_read_syscall)
{
	struct code c = { .n = 0 };
	struct spt_user_run r;
	uint64_t v = 0;

	mov_imm(&c, 3, DATA + 8);			/* rbx */
	mov_imm(&c, 0, 0x1122334455667788ULL);		/* rax */
	EMIT(&c, 0x48, 0x89, 0x03);			/* mov %rax,(%rbx) */
	EMIT(&c, 0x48, 0x8b, 0x0b);			/* mov (%rbx),%rcx */
	EMIT(&c, 0x48, 0x83, 0xc1, 0x01);		/* add $1,%rcx */
	EMIT(&c, 0x48, 0x89, 0xc8);			/* mov %rcx,%rax */
	EMIT(&c, 0x50, 0x5a);				/* push %rax; pop %rdx */
	syscall_(&c);
	ASSERT_EQ(0, run_code(_metadata, self->env.fd, self->id, &c, &r));
	EXPECT_EQ(SPT_RUN_EXIT_SYSCALL, r.out_reason);
	EXPECT_EQ(0x1122334455667789ULL, r.out_regs[SPT_REG_RAX]);
	EXPECT_EQ(0x1122334455667789ULL, r.out_regs[SPT_REG_RDX]);
	EXPECT_EQ(DATA + 8, r.out_regs[SPT_REG_RBX]);
	EXPECT_EQ(CODE + c.n, r.out_rip);
	EXPECT_EQ(CODE + c.n, r.out_regs[SPT_REG_RCX]);
	EXPECT_EQ(r.out_rflags, r.out_regs[SPT_REG_R11]);
	EXPECT_EQ(STACK + 0x1000, r.out_regs[SPT_REG_RSP]);
	EXPECT_EQ(0, r.out_rflags & FL_IF);
	EXPECT_EQ(1, r.out_cpu);
	ASSERT_EQ(0, _spt_rw(self->env.fd, self->id, 0, DATA + 8, &v, 8,
			     NULL));
	EXPECT_EQ(0x1122334455667788ULL, v);
}

/* The input registers reach the user code; the output ones come back. */
TEST_F(run, registers_in_out)
{
	struct code c = { .n = 0 };
	struct spt_user_run r;
	unsigned int i;

	syscall_(&c);
	put_code(_metadata, self->env.fd, self->id, CODE, &c);
	init_run(&r, self->id, CODE);
	for (i = 0; i < SPT_RUN_NR_REGS; i++)
		if (i != SPT_REG_RSP)
			r.regs[i] = 0x0101010101010101ULL * (i + 1);
	r.rflags = 0x8d5;	/* CF PF AF ZF SF OF */
	ASSERT_EQ(0, do_run(self->env.fd, &r));
	EXPECT_EQ(SPT_RUN_EXIT_SYSCALL, r.out_reason);
	for (i = 0; i < SPT_RUN_NR_REGS; i++) {
		if (i == SPT_REG_RCX || i == SPT_REG_R11)
			continue;
		EXPECT_EQ(r.regs[i], r.out_regs[i]);
	}
	EXPECT_EQ(0x8d5ULL | 2, r.out_rflags & 0xfff);
}

struct pf_case {
	const char *name;
	uint64_t addr;
	int access;	/* 0 read, 1 write, 2 fetch */
	uint64_t ec;
	__u32 fault;
};

static const struct pf_case pf_cases[] = {
	{ "read, not present", HOLE, 0, PF_U, SPT_FAULT_NOT_PRESENT },
	{ "write, not present", HOLE, 1, PF_U | PF_W, SPT_FAULT_NOT_PRESENT },
	{ "fetch, not present", HOLE, 2, PF_U | PF_I, SPT_FAULT_NOT_PRESENT },
	{ "write, read-only", RO, 1, PF_U | PF_W | PF_P, SPT_FAULT_READ_ONLY },
	{ "read, supervisor", SUP, 0, PF_U | PF_P, SPT_FAULT_SUPERVISOR },
	{ "write, supervisor", SUP, 1, PF_U | PF_W | PF_P,
	  SPT_FAULT_SUPERVISOR },
	{ "fetch, supervisor", SUPX, 2, PF_U | PF_I | PF_P,
	  SPT_FAULT_SUPERVISOR },
	{ "fetch, no-execute", DATA, 2, PF_U | PF_I | PF_P, SPT_FAULT_NX },
	{ "fetch, read-only no-execute", RO, 2, PF_U | PF_I | PF_P,
	  SPT_FAULT_NX },
};

/* #PF: the error code, cr2 and the walker's explanation. */
TEST_F(run, page_faults)
{
	unsigned int i;

	for (i = 0; i < sizeof(pf_cases) / sizeof(pf_cases[0]); i++) {
		const struct pf_case *pc = &pf_cases[i];
		struct code c = { .n = 0 };
		uint64_t fault_rip;
		struct spt_user_run r;

		mov_imm(&c, 3, pc->addr + 0x10);	/* rbx */
		fault_rip = CODE + c.n;
		if (pc->access == 0)
			EMIT(&c, 0x48, 0x8b, 0x03);	/* mov (%rbx),%rax */
		else if (pc->access == 1)
			EMIT(&c, 0x48, 0x89, 0x03);	/* mov %rax,(%rbx) */
		else
			EMIT(&c, 0xff, 0xe3);		/* jmp *%rbx */
		syscall_(&c);
		if (pc->access == 2)
			fault_rip = pc->addr + 0x10;
		ASSERT_EQ(0, run_code(_metadata, self->env.fd, self->id, &c,
				      &r));
		TH_LOG("%s: reason %u vector %u ec %llx cr2 %llx fault %x",
		       pc->name, r.out_reason, r.out_vector,
		       (unsigned long long)r.out_error_code,
		       (unsigned long long)r.out_cr2, r.out_fault);
		EXPECT_EQ(SPT_RUN_EXIT_EXCEPTION, r.out_reason);
		EXPECT_EQ(14, r.out_vector);
		EXPECT_EQ(pc->ec, r.out_error_code & 0x1f);
		EXPECT_EQ(pc->addr + 0x10, r.out_cr2);
		EXPECT_EQ(fault_rip, r.out_rip);
		EXPECT_EQ(pc->fault, r.out_fault);
		EXPECT_EQ(0, r.out_flags);
		if (pc->fault == SPT_FAULT_NOT_PRESENT)
			EXPECT_LE(1, r.out_level);
	}
}

struct exc_case {
	const char *name;
	uint8_t insn[4];
	size_t len;
	__u32 reason, vector;
	uint64_t ec;
	bool trap;	/* rip after the instruction */
};

static const struct exc_case exc_cases[] = {
	{ "div by zero #DE", { 0xf7, 0xf1 }, 2, SPT_RUN_EXIT_EXCEPTION, 0, 0 },
	{ "ud2 #UD", { 0x0f, 0x0b }, 2, SPT_RUN_EXIT_EXCEPTION, 6, 0 },
	{ "hlt #GP", { 0xf4 }, 1, SPT_RUN_EXIT_EXCEPTION, 13, 0 },
	{ "cli #GP", { 0xfa }, 1, SPT_RUN_EXIT_EXCEPTION, 13, 0 },
	{ "int3 #BP", { 0xcc }, 1, SPT_RUN_EXIT_EXCEPTION, 3, 0, true },
	{ "int $3 #BP", { 0xcd, 0x03 }, 2, SPT_RUN_EXIT_EXCEPTION, 3, 0,
	  true },
	{ "int $14 #GP", { 0xcd, 14 }, 2, SPT_RUN_EXIT_EXCEPTION, 13,
	  14 * 8 + 2 },
	{ "int $2 #GP", { 0xcd, 2 }, 2, SPT_RUN_EXIT_EXCEPTION, 13,
	  2 * 8 + 2 },
	{ "int $0x80", { 0xcd, 0x80 }, 2, SPT_RUN_EXIT_INT, 0x80, 0, true },
	{ "int $0xff", { 0xcd, 0xff }, 2, SPT_RUN_EXIT_INT, 0xff, 0, true },
	{ "int $32", { 0xcd, 32 }, 2, SPT_RUN_EXIT_INT, 32, 0, true },
	{ "rdmsr #GP", { 0x0f, 0x32 }, 2, SPT_RUN_EXIT_EXCEPTION, 13, 0 },
	{ "mov %cr3 #GP", { 0x0f, 0x20, 0xd8 }, 3, SPT_RUN_EXIT_EXCEPTION,
	  13, 0 },
};

TEST_F(run, exceptions)
{
	unsigned int i;

	for (i = 0; i < sizeof(exc_cases) / sizeof(exc_cases[0]); i++) {
		const struct exc_case *ec = &exc_cases[i];
		struct code c = { .n = 0 };
		uint64_t at;
		struct spt_user_run r;

		EMIT(&c, 0x31, 0xc9);			/* xor %ecx,%ecx */
		at = CODE + c.n;
		emit(&c, ec->insn, ec->len);
		syscall_(&c);
		ASSERT_EQ(0, run_code(_metadata, self->env.fd, self->id, &c,
				      &r));
		TH_LOG("%s: reason %u vector %u ec %llx rip %llx", ec->name,
		       r.out_reason, r.out_vector,
		       (unsigned long long)r.out_error_code,
		       (unsigned long long)r.out_rip);
		EXPECT_EQ(ec->reason, r.out_reason);
		EXPECT_EQ(ec->vector, r.out_vector);
		/* IDT #GP: (n << 3) | 2; QEMU's TCG gives (n << 4) | 2 */
		if (ec->ec & 2) {
			EXPECT_TRUE(r.out_error_code == ec->ec ||
				    r.out_error_code == ((ec->ec >> 3) << 4 | 2));
		} else {
			EXPECT_EQ(ec->ec, r.out_error_code);
		}
		EXPECT_EQ(ec->trap ? at + ec->len : at, r.out_rip);
		EXPECT_EQ(0, r.out_cr2);
	}
}

/* A jump into the kernel half faults (user mode cannot run it). */
TEST_F(run, kernel_addresses)
{
	static const uint64_t targets[] = {
		0xffffffff81000000ULL, 0xffff888000000000ULL,
	};
	unsigned int i;

	for (i = 0; i < 2; i++) {
		struct code c = { .n = 0 };
		struct spt_user_run r;

		mov_imm(&c, 3, targets[i]);
		EMIT(&c, 0xff, 0xe3);			/* jmp *%rbx */
		ASSERT_EQ(0, run_code(_metadata, self->env.fd, self->id, &c,
				      &r));
		EXPECT_EQ(SPT_RUN_EXIT_EXCEPTION, r.out_reason);
		EXPECT_EQ(14, r.out_vector);
		EXPECT_EQ(targets[i], r.out_cr2);
		EXPECT_EQ(targets[i], r.out_rip);
		EXPECT_EQ(PF_U | PF_I, r.out_error_code & (PF_U | PF_I));
		EXPECT_EQ(0, r.out_fault & SPT_FAULT_MISMATCH);
	}
}

/* A jump to a non-canonical address: #GP at the jump itself. */
TEST_F(run, non_canonical)
{
	struct code c = { .n = 0 };
	struct spt_user_run r;

	mov_imm(&c, 3, 0x8000000000000000ULL);
	EMIT(&c, 0xff, 0xe3);
	ASSERT_EQ(0, run_code(_metadata, self->env.fd, self->id, &c, &r));
	EXPECT_EQ(SPT_RUN_EXIT_EXCEPTION, r.out_reason);
	EXPECT_EQ(13, r.out_vector);
	/* At the jump (hardware), or at the target (QEMU's TCG). */
	EXPECT_TRUE(r.out_rip == CODE + 10 ||
		    r.out_rip == 0x8000000000000000ULL);
}

/* TF: a #DB after the first instruction; popf cannot raise IOPL or IF. */
TEST_F(run, rflags)
{
	struct code c = { .n = 0 };
	struct spt_user_run r;

	EMIT(&c, 0x90);					/* nop */
	syscall_(&c);
	put_code(_metadata, self->env.fd, self->id, CODE, &c);
	init_run(&r, self->id, CODE);
	r.rflags = FL_TF;
	ASSERT_EQ(0, do_run(self->env.fd, &r));
	EXPECT_EQ(SPT_RUN_EXIT_EXCEPTION, r.out_reason);
	EXPECT_EQ(1, r.out_vector);
	EXPECT_EQ(CODE + 1, r.out_rip);

	/* AC is accepted (alignment checks may or may not be emulated). */
	init_run(&r, self->id, CODE);
	r.rflags = 0x40000;
	ASSERT_EQ(0, do_run(self->env.fd, &r));

	c.n = 0;
	EMIT(&c, 0x9c);					/* pushfq */
	EMIT(&c, 0x48, 0x81, 0x0c, 0x24, 0x00, 0x32, 0x00, 0x00);
							/* orq $0x3200,(%rsp) */
	EMIT(&c, 0x9d, 0x9c, 0x58);			/* popfq; pushfq; pop */
	syscall_(&c);
	ASSERT_EQ(0, run_code(_metadata, self->env.fd, self->id, &c, &r));
	EXPECT_EQ(SPT_RUN_EXIT_SYSCALL, r.out_reason);
	EXPECT_EQ(0, r.out_regs[SPT_REG_RAX] & 0x3200);
	EXPECT_EQ(0, r.out_rflags & 0x3200);
}

/*
 * TF with syscall as the first instruction: the single step trap comes on
 * the module's syscall entry, in kernel mode, and is dropped; the run ends
 * with the syscall.
 */
TEST_F(run, tf_then_syscall)
{
	struct code c = { .n = 0 };
	struct spt_user_run r;

	syscall_(&c);
	put_code(_metadata, self->env.fd, self->id, CODE, &c);
	init_run(&r, self->id, CODE);
	r.rflags = FL_TF;
	r.regs[SPT_REG_RAX] = 5;
	ASSERT_EQ(0, do_run(self->env.fd, &r));
	EXPECT_EQ(SPT_RUN_EXIT_SYSCALL, r.out_reason);
	EXPECT_EQ(CODE + 2, r.out_rip);
	EXPECT_EQ(5, r.out_regs[SPT_REG_RAX]);
	EXPECT_EQ(FL_TF, r.out_regs[SPT_REG_R11] & FL_TF);
}

/* sysenter: an exit of its own (Intel), or #UD/#GP (AMD in 64-bit mode). */
TEST_F(run, sysenter)
{
	struct code c = { .n = 0 };
	struct spt_user_run r;

	EMIT(&c, 0x0f, 0x34);
	ASSERT_EQ(0, run_code(_metadata, self->env.fd, self->id, &c, &r));
	TH_LOG("sysenter: reason %u vector %u", r.out_reason, r.out_vector);
	if (r.out_reason == SPT_RUN_EXIT_SYSENTER) {
		EXPECT_EQ(0, r.out_rip);
	} else {
		EXPECT_EQ(SPT_RUN_EXIT_EXCEPTION, r.out_reason);
		EXPECT_TRUE(r.out_vector == 6 || r.out_vector == 13);
	}
	/* And the next run is as usual. */
	c.n = 0;
	mov_imm(&c, 0, 9);
	syscall_(&c);
	ASSERT_EQ(0, run_code(_metadata, self->env.fd, self->id, &c, &r));
	EXPECT_EQ(SPT_RUN_EXIT_SYSCALL, r.out_reason);
	EXPECT_EQ(9, r.out_regs[SPT_REG_RAX]);
}

/* The NMI count of @cpu in /proc/interrupts, or -1. */
static long nmi_count(int cpu)
{
	char line[4096];
	long v = -1;
	FILE *f = fopen("/proc/interrupts", "r");

	if (!f)
		return -1;
	while (fgets(line, sizeof(line), f)) {
		char *p = line;
		int i;

		while (*p == ' ')
			p++;
		if (strncmp(p, "NMI:", 4))
			continue;
		p += 4;
		for (i = 0; i <= cpu; i++)
			v = strtol(p, &p, 10);
		break;
	}
	fclose(f);
	return v;
}

/* Lines of the kernel log that say an NMI came for no known reason. */
static int unknown_nmis(void)
{
	char line[1024];
	int n = 0;
	FILE *f = popen("dmesg 2>/dev/null", "r");

	if (!f)
		return 0;
	while (fgets(line, sizeof(line), f))
		if (strstr(line, "NMI received for unknown reason"))
			n++;
	pclose(f);
	return n;
}

/* An infinite loop ends at the time bound (window_us) with an NMI. */
TEST_F(run, time_bound)
{
	struct code c = { .n = 0 };
	struct spt_user_run r;
	int i;

	long nmi0 = nmi_count(1), nmi1;
	int unknown0 = unknown_nmis();

	ASSERT_EQ(0, spt_env_param(&self->env, "window_us", "5000"));
	EMIT(&c, 0x48, 0xff, 0xc0);			/* inc %rax */
	EMIT(&c, 0xeb, 0xfb);				/* jmp back */
	for (i = 0; i < 5; i++) {
		ASSERT_EQ(0, run_code(_metadata, self->env.fd, self->id, &c,
				      &r));
		EXPECT_EQ(SPT_RUN_EXIT_TIME, r.out_reason);
		EXPECT_EQ(2, r.out_vector);
		if (!(r.out_flags & SPT_RUN_OUT_NOT_ENTERED)) {
			EXPECT_LT(0, r.out_regs[SPT_REG_RAX]);
			EXPECT_LE(CODE, r.out_rip);
			EXPECT_GT(CODE + c.n, r.out_rip);
		}
		/*
		 * The bound is armed just before the window starts its own
		 * clock (a busy host may delay the start): out_ns is at
		 * most about the bound, never far past it.
		 */
		EXPECT_LT(0, r.out_ns);
		EXPECT_GT(1000000000ULL, r.out_ns);
	}
	/*
	 * The kernel saw the NMIs (handed over with int $2), at least one a
	 * run, and claimed every one of ours: no "unknown reason" NMI.
	 */
	nmi1 = nmi_count(1);
	TH_LOG("CPU 1 NMIs: %ld -> %ld", nmi0, nmi1);
	if (nmi0 >= 0)
		EXPECT_LE(nmi0 + 5, nmi1);
	EXPECT_EQ(unknown0, unknown_nmis());
}

static void set_xmm_and_ioctl(int fd, struct spt_user_run *r, uint8_t in[256],
			      uint8_t out[256], uint32_t mxi, uint32_t *mxo,
			      long *ret)
{
	long rv;

	asm volatile("ldmxcsr %[mi]\n\t"
		     "movdqu 0(%[in]), %%xmm0\n\t"
		     "movdqu 16(%[in]), %%xmm1\n\t"
		     "movdqu 32(%[in]), %%xmm2\n\t"
		     "movdqu 48(%[in]), %%xmm3\n\t"
		     "movdqu 64(%[in]), %%xmm4\n\t"
		     "movdqu 80(%[in]), %%xmm5\n\t"
		     "movdqu 96(%[in]), %%xmm6\n\t"
		     "movdqu 112(%[in]), %%xmm7\n\t"
		     "movdqu 128(%[in]), %%xmm8\n\t"
		     "movdqu 144(%[in]), %%xmm9\n\t"
		     "movdqu 160(%[in]), %%xmm10\n\t"
		     "movdqu 176(%[in]), %%xmm11\n\t"
		     "movdqu 192(%[in]), %%xmm12\n\t"
		     "movdqu 208(%[in]), %%xmm13\n\t"
		     "movdqu 224(%[in]), %%xmm14\n\t"
		     "movdqu 240(%[in]), %%xmm15\n\t"
		     "syscall\n\t"
		     "movdqu %%xmm0, 0(%[out])\n\t"
		     "movdqu %%xmm1, 16(%[out])\n\t"
		     "movdqu %%xmm2, 32(%[out])\n\t"
		     "movdqu %%xmm3, 48(%[out])\n\t"
		     "movdqu %%xmm4, 64(%[out])\n\t"
		     "movdqu %%xmm5, 80(%[out])\n\t"
		     "movdqu %%xmm6, 96(%[out])\n\t"
		     "movdqu %%xmm7, 112(%[out])\n\t"
		     "movdqu %%xmm8, 128(%[out])\n\t"
		     "movdqu %%xmm9, 144(%[out])\n\t"
		     "movdqu %%xmm10, 160(%[out])\n\t"
		     "movdqu %%xmm11, 176(%[out])\n\t"
		     "movdqu %%xmm12, 192(%[out])\n\t"
		     "movdqu %%xmm13, 208(%[out])\n\t"
		     "movdqu %%xmm14, 224(%[out])\n\t"
		     "movdqu %%xmm15, 240(%[out])\n\t"
		     "stmxcsr %[mo]\n\t"
		     : "=a"(rv), [mo] "=m"(*mxo)
		     : "a"((long)SYS_ioctl), "D"((long)fd),
		       "S"((long)SPT_IOCTL_RUN), "d"(r), [in] "r"(in),
		       [out] "r"(out), [mi] "m"(mxi)
		     : "rcx", "r11", "memory", "xmm0", "xmm1", "xmm2", "xmm3",
		       "xmm4", "xmm5", "xmm6", "xmm7", "xmm8", "xmm9", "xmm10",
		       "xmm11", "xmm12", "xmm13", "xmm14", "xmm15");
	*ret = rv;
}

/*
 * User code clobbers every GPR, the SSE registers, MXCSR and the x87
 * stack: the caller's own vector registers and MXCSR are unchanged, and
 * the module keeps working.
 */
TEST_F(run, clobber_everything)
{
	uint8_t in[256], out[256];
	struct code c = { .n = 0 };
	uint32_t mxo = 0, mxcsr = 0xff80;
	struct spt_load_op op = {
		.op = SPT_LOAD_OP_READ, .width = 4, .va = DATA,
	};
	struct spt_user_run r;
	unsigned int i;
	long ret;

	ASSERT_EQ(0, _spt_rw(self->env.fd, self->id, SPT_RW_WRITE, DATA,
			     &mxcsr, 4, NULL));
	mov_imm(&c, 3, DATA);
	EMIT(&c, 0x0f, 0xae, 0x13);			/* ldmxcsr (%rbx) */
	for (i = 0; i < 16; i++) {
		mov_imm(&c, 0, 0xdead000000000000ULL + i);
		/* movq %rax,%xmmN */
		if (i < 8)
			EMIT(&c, 0x66, 0x48, 0x0f, 0x6e, 0xc0 | (i << 3));
		else
			EMIT(&c, 0x66, 0x4c, 0x0f, 0x6e, 0xc0 | ((i - 8) << 3));
	}
	for (i = 0; i < 8; i++)
		EMIT(&c, 0xd9, 0xeb);			/* fldpi */
	for (i = 0; i < 16; i++)
		if (i != SPT_REG_RSP)
			mov_imm(&c, i, 0x5a5a000000000000ULL + i);
	mov_imm(&c, SPT_REG_RSP, 0x1234);
	EMIT(&c, 0xcc);					/* int3 */
	put_code(_metadata, self->env.fd, self->id, CODE, &c);
	init_run(&r, self->id, CODE);
	r.size = sizeof(r);
	for (i = 0; i < sizeof(in); i++)
		in[i] = (uint8_t)(i * 7 + 1);
	memset(out, 0, sizeof(out));
	set_xmm_and_ioctl(self->env.fd, &r, in, out, 0x1f80, &mxo, &ret);
	ASSERT_EQ(0, ret);
	EXPECT_EQ(SPT_RUN_EXIT_EXCEPTION, r.out_reason);
	EXPECT_EQ(3, r.out_vector);
	for (i = 0; i < 16; i++) {
		uint64_t want = i == SPT_REG_RSP ? 0x1234 :
				0x5a5a000000000000ULL + i;

		EXPECT_EQ(want, r.out_regs[i]);
	}
	EXPECT_EQ(0, memcmp(in, out, sizeof(in)));
	EXPECT_EQ(0x1f80, mxo);

	/* The CPU is still the kernel's: a window and a run work. */
	c.n = 0;
	mov_imm(&c, 0, 42);
	syscall_(&c);
	ASSERT_EQ(0, run_code(_metadata, self->env.fd, self->id, &c, &r));
	EXPECT_EQ(SPT_RUN_EXIT_SYSCALL, r.out_reason);
	EXPECT_EQ(42, r.out_regs[SPT_REG_RAX]);
	ASSERT_EQ(0, _spt_load(self->env.fd, self->id, &op, 1, NULL));
	EXPECT_EQ(SPT_LOAD_OK, op.out_status);
	EXPECT_EQ(0xff80, op.out_value);
}

static void expect_run_errno(struct __test_metadata *_metadata, int fd,
			     struct spt_user_run *r, int err)
{
	errno = 0;
	EXPECT_EQ(-1, do_run(fd, r));
	EXPECT_EQ(err, errno);
}

TEST_F(run, bad_input)
{
	struct code c = { .n = 0 };
	int fd = self->env.fd;
	struct spt_user_run r;

	mov_imm(&c, 0, 7);
	syscall_(&c);
	put_code(_metadata, fd, self->id, CODE, &c);
	ASSERT_EQ(0, _spt_rw(fd, self->id, SPT_RW_WRITE, SUPX, c.b, c.n,
			     NULL));
	ASSERT_EQ(0, _spt_rw(fd, self->id, SPT_RW_WRITE, DATA, c.b, c.n,
			     NULL));

	/* EINVAL: flags, cpu, rip, rsp, rflags */
	init_run(&r, self->id, CODE);
	r.flags = 1U << 5;
	expect_run_errno(_metadata, fd, &r, EINVAL);
	init_run(&r, self->id, CODE);
	r.cpu = 1;
	expect_run_errno(_metadata, fd, &r, EINVAL);
	init_run(&r, self->id, self->env.ver.out_user_end);
	expect_run_errno(_metadata, fd, &r, EINVAL);
	init_run(&r, self->id, 0xffffffff81000000ULL);
	expect_run_errno(_metadata, fd, &r, EINVAL);
	init_run(&r, self->id, CODE);
	r.regs[SPT_REG_RSP] = self->env.ver.out_user_end + SZ_4K;
	expect_run_errno(_metadata, fd, &r, EINVAL);
	{
		static const uint64_t bad_flags[] = {
			FL_IF, 0x1000, 0x3000, 0x4000, 0x10000, 0x20000,
			0x80000, 0x100000, 0x200000, 1ULL << 32,
		};
		unsigned int i;

		for (i = 0; i < sizeof(bad_flags) / 8; i++) {
			init_run(&r, self->id, CODE);
			r.rflags = bad_flags[i];
			expect_run_errno(_metadata, fd, &r, EINVAL);
		}
	}
	/* EFAULT: code or stack not mapped, not user, not exec/writable */
	init_run(&r, self->id, HOLE);
	expect_run_errno(_metadata, fd, &r, EFAULT);
	init_run(&r, self->id, DATA);
	expect_run_errno(_metadata, fd, &r, EFAULT);
	init_run(&r, self->id, SUPX);
	expect_run_errno(_metadata, fd, &r, EFAULT);
	init_run(&r, self->id, CODE);
	r.regs[SPT_REG_RSP] = HOLE + SZ_4K;
	expect_run_errno(_metadata, fd, &r, EFAULT);
	init_run(&r, self->id, CODE);
	r.regs[SPT_REG_RSP] = RO + SZ_4K;
	expect_run_errno(_metadata, fd, &r, EFAULT);
	init_run(&r, self->id, CODE);
	r.regs[SPT_REG_RSP] = SUP + SZ_4K;
	expect_run_errno(_metadata, fd, &r, EFAULT);
	init_run(&r, self->id, CODE);
	r.regs[SPT_REG_RSP] = 0;
	expect_run_errno(_metadata, fd, &r, EFAULT);
	/* ENOENT, ENODEV, EXDEV */
	init_run(&r, 0x7ffffff0, CODE);
	expect_run_errno(_metadata, fd, &r, ENOENT);
	init_run(&r, self->id, CODE);
	r.flags = SPT_LOAD_CPU;
	r.cpu = 4096;
	expect_run_errno(_metadata, fd, &r, ENODEV);
	init_run(&r, self->id, CODE);
	r.flags = SPT_LOAD_CPU;
	r.cpu = 0;
	expect_run_errno(_metadata, fd, &r, EXDEV);
	/* Forced onto CPU 0 (not isolated) it runs. */
	init_run(&r, self->id, CODE);
	r.flags = SPT_LOAD_CPU | SPT_LOAD_FORCE;
	r.cpu = 0;
	ASSERT_EQ(0, do_run(fd, &r));
	EXPECT_EQ(SPT_RUN_EXIT_SYSCALL, r.out_reason);
	EXPECT_EQ(7, r.out_regs[SPT_REG_RAX]);
	EXPECT_EQ(0, r.out_cpu);
	/* EPERM: the parameter off */
	ASSERT_EQ(0, spt_env_param(&self->env, "allow_runs", "0"));
	init_run(&r, self->id, CODE);
	expect_run_errno(_metadata, fd, &r, EPERM);
	ASSERT_EQ(0, spt_env_param(&self->env, "allow_runs", "1"));
	init_run(&r, self->id, CODE);
	ASSERT_EQ(0, do_run(fd, &r));
	EXPECT_EQ(7, r.out_regs[SPT_REG_RAX]);
}

/* Without CAP_SYS_ADMIN (an open descriptor kept): EPERM. */
TEST_F(run, no_capability)
{
	struct code c = { .n = 0 };
	pid_t pid;
	int status;

	syscall_(&c);
	put_code(_metadata, self->env.fd, self->id, CODE, &c);
	pid = fork();
	ASSERT_LE(0, pid);
	if (pid == 0) {
		struct __user_cap_header_struct h = {
			.version = _LINUX_CAPABILITY_VERSION_3,
		};
		struct __user_cap_data_struct d[2] = { { 0 } };
		struct spt_user_run r;

		if (syscall(SYS_capset, &h, d))
			_exit(2);
		init_run(&r, self->id, CODE);
		if (do_run(self->env.fd, &r) == 0)
			_exit(3);
		_exit(errno == EPERM ? 0 : 4);
	}
	ASSERT_EQ(pid, waitpid(pid, &status, 0));
	EXPECT_TRUE(WIFEXITED(status));
	EXPECT_EQ(0, WEXITSTATUS(status));
}

struct churn_arg {
	int fd;
	__u32 id;
	volatile bool stop;
	unsigned long rounds;
};

static void *churn(void *p)
{
	struct churn_arg *a = p;

	while (!a->stop) {
		unsigned int i;

		for (i = 0; i < 16; i++)
			_spt_map(a->fd, a->id, SPT_MAP_4K, CHURN + i * SZ_4K,
				 SZ_4K, 0, SPT_PROT_USER | SPT_PROT_WRITE, 0,
				 NULL);
		_spt_protect(a->fd, a->id, 0, CHURN, 16 * SZ_4K, SPT_PROT_USER,
			     0, NULL, NULL);
		_spt_unmap(a->fd, a->id, CHURN, 16 * SZ_4K, NULL, NULL);
		a->rounds++;
	}
	return NULL;
}

/* Hundreds of runs while another thread maps and unmaps the space. */
TEST_F_TIMEOUT(run, stress_with_churn, 600)
{
	struct churn_arg a = { .fd = self->env.fd, .id = self->id };
	struct code c = { .n = 0 };
	unsigned int i, bad = 0, timeouts = 0;
	uint64_t prev = 0;
	pthread_t t;

	mov_imm(&c, 3, DATA);
	EMIT(&c, 0x48, 0x8b, 0x03);			/* mov (%rbx),%rax */
	EMIT(&c, 0x48, 0x83, 0xc0, 0x01);		/* add $1,%rax */
	EMIT(&c, 0x48, 0x89, 0x03);			/* mov %rax,(%rbx) */
	mov_imm(&c, 6, CHURN);				/* rsi */
	EMIT(&c, 0x48, 0x8b, 0x0e);			/* mov (%rsi),%rcx */
	syscall_(&c);
	put_code(_metadata, self->env.fd, self->id, CODE, &c);
	ASSERT_EQ(0, pthread_create(&t, NULL, churn, &a));
	for (i = 0; i < 500; i++) {
		struct spt_user_run r;

		init_run(&r, self->id, CODE);
		if (do_run(self->env.fd, &r)) {
			bad++;
			continue;
		}
		if (r.out_reason == SPT_RUN_EXIT_TIME) {
			/* a host too busy for the bound: the counter is lost */
			timeouts++;
			_spt_rw(self->env.fd, self->id, 0, DATA, &prev, 8,
				NULL);
			continue;
		}
		/* Either the churn page was there, or it faulted. */
		if (r.out_reason != SPT_RUN_EXIT_SYSCALL &&
		    (r.out_reason != SPT_RUN_EXIT_EXCEPTION ||
		     r.out_vector != 14 || r.out_cr2 != CHURN ||
		     (r.out_fault & SPT_FAULT_MISMATCH))) {
			TH_LOG("run %u: reason %u vector %u cr2 %llx fault %x",
			       i, r.out_reason, r.out_vector,
			       (unsigned long long)r.out_cr2, r.out_fault);
			bad++;
		}
		/* The counter was stored before the churn page was read. */
		if (r.out_regs[SPT_REG_RAX] != prev + 1)
			bad++;
		prev = r.out_regs[SPT_REG_RAX];
	}
	a.stop = true;
	pthread_join(t, NULL);
	TH_LOG("500 runs, %lu churn rounds, %u ended by the time bound",
	       a.rounds, timeouts);
	EXPECT_EQ(0, bad);
	EXPECT_GT(50, timeouts);
	EXPECT_LT(0, a.rounds);
}

TEST_HARNESS_MAIN
