// SPDX-License-Identifier: GPL-2.0
/*
 * The paging configuration of the running machine, for the core: how many
 * levels the kernel runs with (4, or 5 with LA57), the physical-address
 * mask from the CPU's MAXPHYADDR, and the PTE bits of each cache policy as
 * the kernel programmed the PAT. Also where the shared kernel half comes
 * from: the top-level table the CPU runs on right now (init_mm is not
 * exported; every mm shares the kernel half of init_mm's top level).
 */
#include <linux/mm.h>
#include <linux/io.h>
#include <linux/string.h>
#include <asm/processor.h>
#include <asm/pgtable.h>
#include <asm/pgtable_types.h>
#include <asm/special_insns.h>
#include <asm/tlbflush.h>

#include "shadowpt.h"

struct spt_cfg spt_kcfg;

static u64 spt_cache_pte_bits(enum page_cache_mode pcm)
{
	return cachemode2protval(pcm) & (_PAGE_PWT | _PAGE_PCD | _PAGE_PAT);
}

int spt_kcfg_init(void)
{
	unsigned int phys_bits = boot_cpu_data.x86_phys_bits;

	if (phys_bits < 32 || phys_bits > 52)
		return -ENODEV;
	spt_kcfg.levels = pgtable_l5_enabled() ? 5 : 4;
	spt_kcfg.pa_mask = GENMASK_ULL(phys_bits - 1, PAGE_SHIFT);
	spt_kcfg.cache_bits[SPT_CACHE_WB] =
		spt_cache_pte_bits(_PAGE_CACHE_MODE_WB);
	spt_kcfg.cache_bits[SPT_CACHE_WT] =
		spt_cache_pte_bits(_PAGE_CACHE_MODE_WT);
	spt_kcfg.cache_bits[SPT_CACHE_UC_MINUS] =
		spt_cache_pte_bits(_PAGE_CACHE_MODE_UC_MINUS);
	spt_kcfg.cache_bits[SPT_CACHE_UC] =
		spt_cache_pte_bits(_PAGE_CACHE_MODE_UC);
	spt_kcfg.cache_bits[SPT_CACHE_WC] =
		spt_cache_pte_bits(_PAGE_CACHE_MODE_WC);
	spt_kcfg.top_first = 0;
	spt_kcfg.top_last = SPT_NR_ENTRIES / 2 - 1;
	return 0;
}

void spt_kcfg_kernel_top(u64 *top)
{
	/*
	 * With PTI, CR3 in kernel mode is the kernel copy of the pair, whose
	 * upper half is the full kernel mapping we want.
	 */
	unsigned long cr3 = read_cr3_pa();

	memcpy(top, phys_to_virt(cr3), SPT_NR_ENTRIES * sizeof(u64));
}
