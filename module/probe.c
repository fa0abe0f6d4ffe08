// SPDX-License-Identifier: GPL-2.0
/*
 * Exception-table-protected reads and writes through whatever CR3 holds.
 * A fault jumps to the label after the access with err = -EFAULT
 * (EX_TYPE_EFAULT_REG), the page-fault handler having found our entry
 * (interrupts are off in a window, so it goes straight to the fixup).
 */
#include <linux/errno.h>
#include <asm/asm.h>
#include <asm/extable_fixup_types.h>
#include <asm/smap.h>

#include <asm/pkru.h>

#include "core/pt.h"
#include "probe.h"

/*
 * "%[name]", an asm operand reference, for macros that stringify their
 * argument. The '%' is passed in as @pct: written out in C it would read to
 * checkpatch as the modulo operator.
 */
#define SPT_ASM_OPERAND(name, pct)	pct[name]

/* Fault at 1: -> resume at 2: with err = -EFAULT. */
#define SPT_PROBE_EXTABLE						\
	_ASM_EXTABLE_TYPE_REG(1b, 2b, EX_TYPE_EFAULT_REG,		\
			      SPT_ASM_OPERAND(err, %))

#define SPT_PROBE_READ(insn, type)					\
	do {								\
		type v = 0;						\
		asm volatile("1: " insn " (%[addr]), %[val]\n"		\
			     "2:\n"					\
			     SPT_PROBE_EXTABLE				\
			     : [err] "+r" (err), [val] "+r" (v)		\
			     : [addr] "r" (va)				\
			     : "memory");				\
		*val = v;						\
	} while (0)

#define SPT_PROBE_WRITE(insn, type)					\
	do {								\
		type v = val;						\
		asm volatile("1: " insn " %[val], (%[addr])\n"		\
			     "2:\n"					\
			     SPT_PROBE_EXTABLE				\
			     : [err] "+r" (err)				\
			     : [addr] "r" (va), [val] "r" (v)		\
			     : "memory");				\
	} while (0)

int spt_probe_read(unsigned long va, unsigned int width, u64 *val)
{
	int err = 0;

	stac();
	switch (width) {
	case 1:
		SPT_PROBE_READ("movb", u8);
		break;
	case 2:
		SPT_PROBE_READ("movw", u16);
		break;
	case 4:
		SPT_PROBE_READ("movl", u32);
		break;
	default:
		SPT_PROBE_READ("movq", u64);
		break;
	}
	clac();
	return err;
}

int spt_probe_write(unsigned long va, unsigned int width, u64 val)
{
	int err = 0;

	stac();
	switch (width) {
	case 1:
		SPT_PROBE_WRITE("movb", u8);
		break;
	case 2:
		SPT_PROBE_WRITE("movw", u16);
		break;
	case 4:
		SPT_PROBE_WRITE("movl", u32);
		break;
	default:
		SPT_PROBE_WRITE("movq", u64);
		break;
	}
	clac();
	return err;
}

bool spt_probe_pkey_denies(const struct spt_query *q, bool write)
{
	u32 pkru;

	if (!q->mapped || !q->pkey || !(q->prop.flags & SPT_PROT_USER))
		return false;
	pkru = read_pkru();	/* 0 (all allowed) without OSPKE */
	if (pkru & (PKRU_AD_BIT << (q->pkey * PKRU_BITS_PER_PKEY)))
		return true;
	return write &&
	       (pkru & (PKRU_WD_BIT << (q->pkey * PKRU_BITS_PER_PKEY)));
}
