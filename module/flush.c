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
 *
 * The grace period is not waited for: after the flush the list is queued
 * (reclaim.h) with the cookie of a grace period started then, and given
 * back once that has passed, by whichever comes first: the worker (an
 * rcu_work queued with the list), the next change that finishes, a caller
 * short of pool memory (spt_reclaim_wait_oldest(), the pool's back-pressure
 * hook), or an explicit drain (CHECK, rmmod). At most a quarter of the pool
 * limit is pending: past that, a change waits for the oldest grace period
 * before it queues its own list. A caller that waits (back-pressure, a
 * drain) has the grace period expedited: it is blocked on it, where the
 * worker and the next change only poll.
 */
#include <linux/smp.h>
#include <linux/rcupdate.h>
#include <linux/cpumask.h>
#include <linux/spinlock.h>
#include <linux/workqueue.h>
#include <linux/mutex.h>
#include <linux/ktime.h>
#include <asm/tlbflush.h>

#include "shadowpt.h"
#include "space_internal.h"
#include "quota.h"
#include "trace.h"
#include "reclaim.h"
#include "flush.h"
#include "pin.h"
#include "tables.h"

static atomic64_t spt_tlb_flushes = ATOMIC64_INIT(0);
static atomic64_t spt_tlb_ipis = ATOMIC64_INIT(0);

/* Protects spt_reclaim_q; the lists popped off it are released without. */
static DEFINE_SPINLOCK(spt_reclaim_lock);
/*
 * Held from taking a list off the queue until it is back in the pool, and
 * by the readers of the statistics, which so never see a list neither
 * pending nor back.
 */
static DEFINE_MUTEX(spt_reclaim_release_mutex);
static struct spt_reclaim spt_reclaim_q;
static struct rcu_work spt_reclaim_rwork;
static bool spt_reclaim_stopping;
/* Waits for a grace period by callers that could not queue or allocate. */
static atomic64_t spt_reclaim_waits = ATOMIC64_INIT(0);
/* Time spent giving queued lists back to the pool (the bench counts it). */
static atomic64_t spt_reclaim_work_ns = ATOMIC64_INIT(0);

static void spt_tlb_flush_local(void *info)
{
	__flush_tlb_all();
}

static bool spt_gp_done(struct rcu_gp_oldstate *cookie)
{
	return poll_state_synchronize_rcu_full(cookie);
}

/*
 * Wait until @cookie's grace period has passed, expedited: the full
 * polled state counts normal and expedited grace periods alike, so the
 * expedited one is enough even while the normal one that queueing started
 * is still in progress. Should the state still poll as not done, a
 * normal one is waited for: the caller releases only what polls as done.
 */
static void spt_gp_wait(struct rcu_gp_oldstate *cookie)
{
	cond_synchronize_rcu_expedited_full(cookie);
	if (!spt_gp_done(cookie))
		cond_synchronize_rcu_full(cookie);
}

/* Give back every queued list whose grace period has passed. Sleeps. */
/* Frames and nodes back to the pool, pins to their pages. */
static void spt_flush_release(struct spt_flusher *fl)
{
	void *pinned = fl->pinned;

	spt_flusher_release(fl, spt_pool);
	fl->pinned = NULL;
	fl->nr_pinned = 0;
	spt_pins_put_list(pinned);
}

static bool spt_reclaim_release_ready(void)
{
	struct spt_flusher fl;
	bool any = false;

	for (;;) {
		bool popped;

		mutex_lock(&spt_reclaim_release_mutex);
		spin_lock(&spt_reclaim_lock);
		popped = spt_reclaim_pop(&spt_reclaim_q, spt_gp_done, &fl);
		spin_unlock(&spt_reclaim_lock);
		if (popped) {
			u64 t0 = ktime_get_ns();

			spt_flush_release(&fl);
			atomic64_add(ktime_get_ns() - t0, &spt_reclaim_work_ns);
		}
		mutex_unlock(&spt_reclaim_release_mutex);
		if (!popped)
			return any;
		any = true;
	}
}

static bool spt_reclaim_cookie_locked(bool newest,
				      struct rcu_gp_oldstate *cookie)
{
	bool ret;

	spin_lock(&spt_reclaim_lock);
	ret = spt_reclaim_cookie(&spt_reclaim_q, newest, cookie);
	spin_unlock(&spt_reclaim_lock);
	return ret;
}

bool spt_reclaim_wait_oldest(void)
{
	struct rcu_gp_oldstate cookie;

	if (!spt_reclaim_cookie_locked(false, &cookie))
		return false;
	atomic64_inc(&spt_reclaim_waits);
	spt_gp_wait(&cookie);
	spt_reclaim_release_ready();
	return true;
}

void spt_reclaim_drain(void)
{
	struct rcu_gp_oldstate cookie;

	if (!spt_reclaim_cookie_locked(true, &cookie))
		return;
	spt_gp_wait(&cookie);
	spt_reclaim_release_ready();
}

static void spt_reclaim_workfn(struct work_struct *work)
{
	struct rcu_gp_oldstate cookie;

	spt_reclaim_release_ready();
	/* Lists queued after this work's grace period began still wait. */
	if (!READ_ONCE(spt_reclaim_stopping) &&
	    spt_reclaim_cookie_locked(false, &cookie))
		queue_rcu_work(system_wq, &spt_reclaim_rwork);
}

void spt_reclaim_queue(struct spt_flusher *fl)
{
	for (;;) {
		struct rcu_gp_oldstate cookie;
		bool queued;

		start_poll_synchronize_rcu_full(&cookie);
		spin_lock(&spt_reclaim_lock);
		queued = spt_reclaim_push(&spt_reclaim_q, fl, cookie);
		spin_unlock(&spt_reclaim_lock);
		if (queued)
			break;
		if (!spt_reclaim_wait_oldest()) {
			/* Nothing queued and @fl alone is past the bound. */
			atomic64_inc(&spt_reclaim_waits);
			synchronize_rcu();
			spt_flush_release(fl);
			return;
		}
	}
	if (!READ_ONCE(spt_reclaim_stopping))
		queue_rcu_work(system_wq, &spt_reclaim_rwork);
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
	/* What earlier changes queued and is ready goes back first. */
	spt_reclaim_release_ready();
	/*
	 * Queued data frames leave the quota, some may have already; so do
	 * leaves of shared frames, also when nothing was queued.
	 */
	spt_quota_settle(s, fl);
	/* User mappings of the nodes go before the nodes can. */
	spt_tables_flush(s, fl);
	if (!fl->head && !fl->pinned)
		return;
	spt_reclaim_queue(fl);
}

void spt_flush_counts(u64 *flushes, u64 *ipis)
{
	*flushes = atomic64_read(&spt_tlb_flushes);
	*ipis = atomic64_read(&spt_tlb_ipis);
}

u64 spt_reclaim_release_ns(void)
{
	return atomic64_read(&spt_reclaim_work_ns);
}

static void spt_reclaim_get_stats(struct spt_reclaim_stats *st)
{
	spin_lock(&spt_reclaim_lock);
	st->pending_frames = spt_reclaim_q.frames;
	st->pending_nodes = spt_reclaim_q.nodes;
	st->pending_data = spt_reclaim_q.data;
	st->pending_batches = spt_reclaim_q.nr;
	st->max_frames = spt_reclaim_q.max_frames;
	st->peak_frames = spt_reclaim_q.peak_frames;
	st->queued = spt_reclaim_q.queued;
	st->released = spt_reclaim_q.released;
	spin_unlock(&spt_reclaim_lock);
	st->waits = atomic64_read(&spt_reclaim_waits);
}

void spt_pool_stats_read(struct spt_pool_stats *st,
			 struct spt_reclaim_stats *rs)
{
	mutex_lock(&spt_reclaim_release_mutex);
	spt_pool_get_stats(spt_pool, st);
	spt_reclaim_get_stats(rs);
	mutex_unlock(&spt_reclaim_release_mutex);
	st->used_frames -= rs->pending_frames;
	st->node_frames -= rs->pending_nodes;
	st->data_frames -= rs->pending_data;
	st->free_frames += rs->pending_frames;
}

void spt_reclaim_init_queue(u64 pool_limit_frames)
{
	spt_reclaim_init(&spt_reclaim_q, max_t(u64, pool_limit_frames / 4, 1));
	INIT_RCU_WORK(&spt_reclaim_rwork, spt_reclaim_workfn);
	WRITE_ONCE(spt_reclaim_stopping, false);
}

void spt_reclaim_exit(void)
{
	WRITE_ONCE(spt_reclaim_stopping, true);
	/* No space is left to queue more: wait for all, then the worker. */
	spt_reclaim_drain();
	/* A worker that ran before it saw stopping may have requeued once. */
	while (flush_rcu_work(&spt_reclaim_rwork))
		;
	WARN_ON_ONCE(spt_reclaim_q.nr);
}
