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
#include <linux/cc_platform.h>

#include "shadowpt.h"

struct spt_cfg spt_machine_cfg;
unsigned int spt_machine_phys_max_level;

static u64 spt_cache_pte_bits(enum page_cache_mode pcm)
{
	return cachemode2protval(pcm) & (_PAGE_PWT | _PAGE_PCD | _PAGE_PAT);
}

int spt_machine_init(void)
{
	unsigned int phys_bits = boot_cpu_data.x86_phys_bits;

	if (phys_bits < 32 || phys_bits > 52)
		return -ENODEV;
	/*
	 * Entries are built without an encryption mask: with SME or SEV the
	 * MMU would walk ciphertext. Refuse rather than build such tables.
	 */
	if (cc_platform_has(CC_ATTR_MEM_ENCRYPT)) {
		pr_err("shadowpt: memory encryption (SME/SEV) is active; page tables built without the encryption bit would be walked as ciphertext: not loading\n");
		return -EOPNOTSUPP;
	}
	/* Without GBPAGES the PS bit of a level-3 entry is reserved. */
	spt_machine_phys_max_level = boot_cpu_has(X86_FEATURE_GBPAGES) ? 3 : 2;
	spt_machine_cfg.levels = pgtable_l5_enabled() ? 5 : 4;
	spt_machine_cfg.pa_mask = GENMASK_ULL(phys_bits - 1, PAGE_SHIFT);
	spt_machine_cfg.cache_bits[SPT_CACHE_WB] =
		spt_cache_pte_bits(_PAGE_CACHE_MODE_WB);
	spt_machine_cfg.cache_bits[SPT_CACHE_WT] =
		spt_cache_pte_bits(_PAGE_CACHE_MODE_WT);
	spt_machine_cfg.cache_bits[SPT_CACHE_UC_MINUS] =
		spt_cache_pte_bits(_PAGE_CACHE_MODE_UC_MINUS);
	spt_machine_cfg.cache_bits[SPT_CACHE_UC] =
		spt_cache_pte_bits(_PAGE_CACHE_MODE_UC);
	spt_machine_cfg.cache_bits[SPT_CACHE_WC] =
		spt_cache_pte_bits(_PAGE_CACHE_MODE_WC);
	spt_cfg_set_pat_indexes(&spt_machine_cfg);
	spt_machine_cfg.top_first = 0;
	spt_machine_cfg.top_last = SPT_NR_ENTRIES / 2 - 1;
	return 0;
}

/*
 * With PTI, CR3 in kernel mode is the kernel copy of the pair, whose upper
 * half is the full kernel mapping we want.
 */
static const u64 *spt_machine_running_top(void)
{
	return phys_to_virt(read_cr3_pa());
}

/*
 * Only what every process shares: with PTI the LDT remap slot is per
 * process (filled by modify_ldt) and freed with its mm.
 */
static bool spt_machine_shared_slot(unsigned int i)
{
	return i != pgd_index(LDT_BASE_ADDR);
}

void spt_machine_kernel_top(u64 *top)
{
	unsigned int i;

	memcpy(top, spt_machine_running_top(), SPT_NR_ENTRIES * sizeof(u64));
	for (i = 0; i < SPT_NR_ENTRIES; i++) {
		if (!spt_machine_shared_slot(i))
			top[i] = 0;
	}
}

u64 spt_machine_kernel_entry(unsigned int i)
{
	return spt_machine_shared_slot(i) ?
	       READ_ONCE(spt_machine_running_top()[i]) : 0;
}
