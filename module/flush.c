// SPDX-License-Identifier: GPL-2.0
/*
 * Flush before free. While a space is loaded on a CPU (a load window), that
 * CPU may cache translations of the space under PCID 0, which Linux never
 * uses; a window starts with a CR3 write that flushes PCID 0, so entries can
 * only be stale inside a window. Windows run with interrupts off: the
 * flush IPI below is taken when the window ends, and the window's own cursor
 * operations invalidate locally. Either way, nothing queued on the flusher
 * goes back to the pool before the flush has run everywhere and a grace
 * period has passed.
 */
#include <linux/smp.h>
#include <linux/rcupdate.h>
#include <linux/cpumask.h>
#include <asm/tlbflush.h>

#include "shadowpt.h"
#include "space_internal.h"
#include "quota.h"
#include "trace.h"
#include "flush.h"

static atomic64_t spt_tlb_flushes = ATOMIC64_INIT(0);
static atomic64_t spt_tlb_ipis = ATOMIC64_INIT(0);

static void spt_tlb_flush_local(void *info)
{
	__flush_tlb_all();
}

void spt_flush_finish(struct spt_space *s, struct spt_flusher *fl)
{
	unsigned int cpus = 0;

	if (fl->flush_start < fl->flush_end) {
		atomic64_inc(&spt_tlb_flushes);
		if (!cpumask_empty(s->loaded)) {
			cpus = cpumask_weight(s->loaded);
			atomic64_inc(&spt_tlb_ipis);
			on_each_cpu_mask(s->loaded, spt_tlb_flush_local, NULL,
					 true);
		}
		trace_spt_tlb_flush(s->id, cpus, fl->flush_start,
				    fl->flush_end, fl->nr_nodes,
				    fl->nr_frames);
	}
	if (!fl->head)
		return;
	synchronize_rcu();
	/* Queued data frames leave the quota; some may have already. */
	spt_quota_settle(s, fl);
	spt_flusher_release(fl, spt_pool);
}

void spt_flush_counts(u64 *flushes, u64 *ipis)
{
	*flushes = atomic64_read(&spt_tlb_flushes);
	*ipis = atomic64_read(&spt_tlb_ipis);
}
