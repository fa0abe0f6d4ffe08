/* SPDX-License-Identifier: GPL-2.0 */
/*
 * TLB rules (the reference's TlbFlusher): a frame or node unlinked from a
 * space goes back to the pool only after every CPU that may hold a
 * translation through it has flushed, and after an RCU grace period (for
 * lock-free walkers still reading a node).
 */
#ifndef SPT_FLUSH_H
#define SPT_FLUSH_H

#include "core/pt.h"

struct spt_space;

/*
 * Finish a change to @s: flush the TLBs of the CPUs that have @s loaded
 * for the range @fl recorded, wait for a grace period if anything was
 * queued, give the queued frames and nodes back to the pool and account
 * for them. Sleeps.
 */
void spt_flush_finish(struct spt_space *s, struct spt_flusher *fl);

/*
 * Since load: changes that needed a TLB flush (@flushes), and of them
 * those that sent one to CPUs with the space loaded (@ipis).
 */
void spt_flush_counts(u64 *flushes, u64 *ipis);

#endif /* SPT_FLUSH_H */
