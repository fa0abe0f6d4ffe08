// SPDX-License-Identifier: GPL-2.0
/*
 * Benchmark hook, built only with BENCH=1 (see bench.h). debugfs
 * shadowpt/bench (root only) takes one command per write and runs it
 * before write() returns; a read gives the results of the last command,
 * one line per figure: "name median min max" in nanoseconds.
 *
 *   map N REPS    N pool frames (4 KiB), REPS rounds (1..SPT_BENCH_REPS)
 *                 of, on a private page table that no CPU ever loads:
 *                 spt_map      the cursor maps the N frames, one 2 MiB
 *                              window per cursor, each window one run
 *                              (spt_cursor_map_run()), as space_ops.c does
 *                 spt_map_leaf the same one leaf at a time (spt_cursor_map())
 *                 spt_protect  read-only over the range, 1 GiB windows,
 *                              spt_cursor_protect() as space_ops.c does
 *                 spt_protect_leaf  the same, spt_cursor_protect_next()
 *                              in a loop
 *                 spt_unmap    unmap + give the emptied nodes back
 *                 spt_unmap_rcu  the same, waiting for a grace period
 *                              before the nodes go back (as every change
 *                              did before reclamation was deferred)
 *                 spt_unmap_reuse  unmap until the frames are reusable:
 *                              SPT_BENCH_REUSE_ROUNDS rounds of map (not
 *                              timed) and unmap with the nodes queued for
 *                              reclamation as a change queues them, then
 *                              a drain until all of them are back in the
 *                              pool; per round: the unmaps, the drain, and
 *                              all the reclamation work done meanwhile
 *                              by anyone (the worker included, whenever it
 *                              ran), divided by the rounds
 *                 vmap         vmap() of the same N pages
 *                 vunmap       vunmap() + vm_unmap_aliases() (lazy purge
 *                              and its TLB flush counted)
 *                 vunmap_only  vunmap() alone
 *                 plus "nodes L1 L2 L3 L4 L5" after a map.
 *   cr3 CPU REPS  on CPU (via smp_call_on_cpu, as a load window runs):
 *                 cr3_bare     irqs off, write a table's root into CR3 and
 *                              write the saved value back
 *                 cr3_call     the whole smp_call_on_cpu round trip
 *
 * Mapping takes a reference on each frame from the bench, so unmapping
 * never frees them and every round uses the same frames. Operations are
 * timed with ktime_get_ns(); the irqs-off CR3 pair with local_clock().
 */
#include <linux/debugfs.h>
#include <linux/fs.h>
#include <linux/mm.h>
#include <linux/mutex.h>
#include <linux/ktime.h>
#include <linux/sched/clock.h>
#include <linux/sizes.h>
#include <linux/slab.h>
#include <linux/smp.h>
#include <linux/sort.h>
#include <linux/uaccess.h>
#include <linux/vmalloc.h>
#include <asm/tlbflush.h>

#include "shadowpt.h"
#include "bench.h"
#include "failinject.h"
#include "flush.h"

#define SPT_BENCH_REPS		15
#define SPT_BENCH_MAX_PAGES	BIT_ULL(20)
#define SPT_BENCH_VA		BIT_ULL(39)
#define SPT_BENCH_OUT		2048
#define SPT_BENCH_REUSE_ROUNDS	8

enum {
	SPT_B_MAP,
	SPT_B_PROTECT,
	SPT_B_UNMAP,
	SPT_B_UNMAP_RCU,
	SPT_B_UNMAP_REUSE,
	SPT_B_VMAP,
	SPT_B_VUNMAP,
	SPT_B_VUNMAP_ONLY,
	SPT_B_MAP_LEAF,
	SPT_B_PROTECT_LEAF,
	SPT_B_NR,
};

static const char *const spt_bench_names[SPT_B_NR] = {
	"spt_map", "spt_protect", "spt_unmap", "spt_unmap_rcu",
	"spt_unmap_reuse", "vmap", "vunmap", "vunmap_only",
	"spt_map_leaf", "spt_protect_leaf",
};

struct spt_bench {
	u64 n;
	u64 *pas;
	struct page **pages;
	u64 *ktop;
	struct spt_pt pt;
	u64 t[SPT_B_NR][2 * SPT_BENCH_REPS];
	unsigned int nr[SPT_B_NR];
};

static DEFINE_MUTEX(spt_bench_lock);
static char spt_bench_out[SPT_BENCH_OUT];
static size_t spt_bench_len;

static int spt_bench_cmp(const void *a, const void *b)
{
	u64 x = *(const u64 *)a, y = *(const u64 *)b;

	return x < y ? -1 : x > y;
}

static __printf(1, 2) void spt_bench_print(const char *fmt, ...)
{
	va_list ap;

	va_start(ap, fmt);
	spt_bench_len += vscnprintf(spt_bench_out + spt_bench_len,
				    SPT_BENCH_OUT - spt_bench_len, fmt, ap);
	va_end(ap);
}

static void spt_bench_print_figure(const char *name, u64 *t, unsigned int nr)
{
	if (!nr)
		return;
	sort(t, nr, sizeof(*t), spt_bench_cmp, NULL);
	spt_bench_print("%s %llu %llu %llu\n", name, t[nr / 2], t[0],
			t[nr - 1]);
}

static void spt_bench_record(struct spt_bench *b, int key, u64 t0)
{
	b->t[key][b->nr[key]++] = ktime_get_ns() - t0;
}

/*
 * The cursor maps the frames, one 2 MiB window per cursor (space_ops.c):
 * one run per window, or with @leaf one spt_cursor_map() per frame.
 */
static int spt_bench_map(struct spt_bench *b, bool record, bool leaf)
{
	struct spt_prop prop = {
		.flags = SPT_PROT_WRITE, .cache = SPT_CACHE_WB,
	};
	u64 i = 0, t0;
	struct spt_flusher fl;
	int ret = 0;

	for (i = 0; i < b->n; i++) {
		if (!spt_meta_get(spt_pool_meta(spt_pool, b->pas[i]))) {
			while (i--)
				spt_meta_put(spt_pool_meta(spt_pool,
							   b->pas[i]));
			return -EOVERFLOW;
		}
	}
	spt_flusher_init(&fl);
	t0 = ktime_get_ns();
	for (i = 0; i < b->n && !ret;) {
		u64 va = SPT_BENCH_VA + i * PAGE_SIZE;
		u64 end = min(ALIGN_DOWN(va, SZ_2M) + SZ_2M,
			      SPT_BENCH_VA + b->n * PAGE_SIZE);
		struct spt_cursor c;

		ret = spt_pool_reserve(spt_pool, SPT_MAX_LEVELS);
		if (!ret)
			ret = spt_cursor_mut_new(&c, &b->pt, va, end, &fl);
		if (ret)
			break;
		if (!leaf) {
			struct spt_map_run run = {
				.pas = b->pas + i, .level = 1, .tracked = true,
				.nr = (end - va) >> PAGE_SHIFT,
			};
			unsigned long done = 0;

			ret = spt_cursor_map_run(&c, &run, &prop, &done);
			i += done;
		}
		for (; leaf && va < end; va += PAGE_SIZE, i++) {
			struct spt_item item = {
				.pa = b->pas[i], .level = 1, .tracked = true,
			};

			ret = spt_cursor_map(&c, &item, &prop, NULL);
			if (ret)
				break;
		}
		spt_cursor_drop(&c);
	}
	if (record)
		spt_bench_record(b, leaf ? SPT_B_MAP_LEAF : SPT_B_MAP, t0);
	/* References the failed map did not consume. */
	for (; i < b->n; i++)
		spt_meta_put(spt_pool_meta(spt_pool, b->pas[i]));
	return ret;
}

/*
 * Clear W over the range, 1 GiB windows (space_ops.c): spt_cursor_protect(),
 * or with @leaf spt_cursor_protect_next() in a loop.
 */
static int spt_bench_protect(struct spt_bench *b, bool leaf)
{
	struct spt_prot_op op = { .clear = SPT_PROT_WRITE, .cache = -1 };
	u64 va = SPT_BENCH_VA, end = va + b->n * PAGE_SIZE, t0, s, e;
	struct spt_flusher fl;
	int ret = 0;

	spt_flusher_init(&fl);
	t0 = ktime_get_ns();
	while (va < end && !ret) {
		u64 wend = min(ALIGN_DOWN(va, SZ_1G) + SZ_1G, end);
		struct spt_cursor c;

		ret = spt_pool_reserve(spt_pool, SPT_MAX_LEVELS);
		if (!ret)
			ret = spt_cursor_mut_new(&c, &b->pt, va, wend, &fl);
		if (ret)
			break;
		if (!leaf)
			ret = spt_cursor_protect(&c, wend - va, &op, &s, NULL);
		while (leaf && spt_cursor_va(&c) < wend) {
			ret = spt_cursor_protect_next(&c,
						      wend - spt_cursor_va(&c),
						      &op, &s, &e);
			if (ret <= 0)
				break;
			ret = 0;
		}
		spt_cursor_drop(&c);
		va = wend;
	}
	spt_bench_record(b, leaf ? SPT_B_PROTECT_LEAF : SPT_B_PROTECT, t0);
	/* Nothing is queued by a protect; no CPU has the table loaded. */
	return ret;
}

/*
 * Unmap everything; with @rcu, wait for a grace period before giving the
 * nodes back; with @queue, queue them for deferred reclamation instead.
 * Returns the time taken in *@ns.
 */
static int spt_bench_unmap_ns(struct spt_bench *b, bool rcu, bool queue,
			      u64 *ns)
{
	u64 va = SPT_BENCH_VA, end = va + b->n * PAGE_SIZE, t0;
	struct spt_flusher fl;
	long ret = 0;

	spt_flusher_init(&fl);
	t0 = ktime_get_ns();
	while (va < end) {
		u64 wend = min(ALIGN_DOWN(va, SZ_1G) + SZ_1G, end);
		struct spt_cursor c;

		ret = spt_pool_reserve(spt_pool, SPT_MAX_LEVELS + 1);
		if (!ret)
			ret = spt_cursor_mut_new(&c, &b->pt, va, wend, &fl);
		if (ret)
			break;
		ret = spt_cursor_unmap(&c, wend - va);
		spt_cursor_drop(&c);
		if (ret < 0)
			break;
		va = wend;
	}
	/*
	 * The table was never loaded: no TLB to flush. The space layer waits
	 * for a grace period before nodes go back (lock-free walkers).
	 */
	if (rcu && fl.head)
		synchronize_rcu();
	if (queue)
		spt_reclaim_queue(&fl);
	else
		spt_flusher_release(&fl, spt_pool);
	*ns = ktime_get_ns() - t0;
	return ret < 0 ? ret : 0;
}

static int spt_bench_unmap(struct spt_bench *b, bool rcu)
{
	int key = rcu ? SPT_B_UNMAP_RCU : SPT_B_UNMAP;
	int ret;
	u64 ns;

	ret = spt_bench_unmap_ns(b, rcu, false, &ns);
	b->t[key][b->nr[key]++] = ns;
	return ret;
}

/*
 * Unmap until the frames are reusable, the deferred way: rounds of map and
 * unmap, then a drain. Counted: every unmap, the drain, and the time spent
 * giving queued lists back to the pool meanwhile (by the worker too, while
 * a map ran): nothing of the deferred work is left out.
 */
static int spt_bench_unmap_reuse(struct spt_bench *b)
{
	u64 total = 0, ns, t0, work0, work1;
	unsigned int k;
	int ret = 0;

	spt_reclaim_drain();
	work0 = spt_reclaim_release_ns();
	for (k = 0; k < SPT_BENCH_REUSE_ROUNDS && !ret; k++) {
		ret = spt_bench_map(b, false, false);
		if (!ret)
			ret = spt_bench_unmap_ns(b, false, true, &ns);
		if (!ret)
			total += ns;
	}
	t0 = ktime_get_ns();
	spt_reclaim_drain();
	total += ktime_get_ns() - t0;
	work1 = spt_reclaim_release_ns();
	/* Release work inside the timed spans counts twice: a bound. */
	total += work1 - work0;
	if (!ret)
		b->t[SPT_B_UNMAP_REUSE][b->nr[SPT_B_UNMAP_REUSE]++] =
			total / SPT_BENCH_REUSE_ROUNDS;
	return ret;
}

static int spt_bench_vmap(struct spt_bench *b)
{
	void *addr;
	u64 t0;

	t0 = ktime_get_ns();
	addr = vmap(b->pages, b->n, VM_MAP, PAGE_KERNEL);
	spt_bench_record(b, SPT_B_VMAP, t0);
	if (!addr)
		return -ENOMEM;
	t0 = ktime_get_ns();
	vunmap(addr);
	vm_unmap_aliases();
	spt_bench_record(b, SPT_B_VUNMAP, t0);

	addr = vmap(b->pages, b->n, VM_MAP, PAGE_KERNEL);
	if (!addr)
		return -ENOMEM;
	t0 = ktime_get_ns();
	vunmap(addr);
	spt_bench_record(b, SPT_B_VUNMAP_ONLY, t0);
	vm_unmap_aliases();
	return 0;
}

static void spt_bench_free(struct spt_bench *b)
{
	struct spt_flusher fl;
	u64 i;

	if (b->pt.root_pa) {
		spt_flusher_init(&fl);
		spt_pt_destroy(&b->pt, &fl);
		spt_flusher_release(&fl, spt_pool);
	}
	for (i = 0; b->pas && i < b->n && b->pas[i]; i++)
		if (spt_meta_put(spt_pool_meta(spt_pool, b->pas[i])))
			spt_pool_free(spt_pool, b->pas[i]);
	kvfree(b->pas);
	kvfree(b->pages);
	kfree(b->ktop);
	kfree(b);
}

static struct spt_bench *spt_bench_alloc(u64 n)
{
	struct spt_bench *b = spt_kzalloc(sizeof(*b), GFP_KERNEL);
	u64 i;

	if (!b)
		return NULL;
	b->n = n;
	b->pas = spt_kvcalloc(n, sizeof(*b->pas), GFP_KERNEL);
	b->pages = spt_kvcalloc(n, sizeof(*b->pages), GFP_KERNEL);
	b->ktop = spt_kcalloc(SPT_NR_ENTRIES, sizeof(u64), GFP_KERNEL);
	if (!b->pas || !b->pages || !b->ktop)
		goto err;
	for (i = 0; i < n; i++) {
		if (spt_pool_alloc(spt_pool, SPT_USAGE_DATA, 1, false,
				   &b->pas[i]))
			goto err;
		b->pages[i] = pfn_to_page(b->pas[i] >> PAGE_SHIFT);
		if (!(i & 1023))
			cond_resched();
	}
	spt_machine_kernel_top(b->ktop);
	if (spt_pt_init(&b->pt, &spt_machine_cfg, spt_pool, b->ktop))
		goto err;
	return b;
err:
	spt_bench_free(b);
	return NULL;
}

static int spt_bench_run_map(u64 n, unsigned int reps)
{
	struct spt_pt_counts counts;
	struct spt_bench *b;
	unsigned int r, k;
	int ret = 0;

	if (!n || n > SPT_BENCH_MAX_PAGES || !reps || reps > SPT_BENCH_REPS)
		return -EINVAL;
	b = spt_bench_alloc(n);
	if (!b)
		return -ENOMEM;
	for (r = 0; r < reps && !ret; r++) {
		ret = spt_bench_map(b, true, false);
		if (!ret && r == 0)
			spt_pt_count(&b->pt, &counts);
		if (!ret)
			ret = spt_bench_protect(b, false);
		if (!ret)
			ret = spt_bench_protect(b, true);
		if (!ret)
			ret = spt_bench_unmap(b, false);
		if (!ret)
			ret = spt_bench_map(b, true, true);
		if (!ret)
			ret = spt_bench_unmap(b, true);
		if (!ret)
			ret = spt_bench_unmap_reuse(b);
		if (!ret)
			ret = spt_bench_vmap(b);
		cond_resched();
	}
	if (!ret) {
		spt_bench_len = 0;
		spt_bench_print("n %llu reps %u\n", n, reps);
		for (k = 0; k < SPT_B_NR; k++)
			spt_bench_print_figure(spt_bench_names[k], b->t[k],
					       b->nr[k]);
		spt_bench_print("nodes %llu %llu %llu %llu %llu\n",
				counts.nodes[0], counts.nodes[1],
				counts.nodes[2], counts.nodes[3],
				counts.nodes[4]);
	}
	spt_bench_free(b);
	return ret;
}

struct spt_bench_cr3 {
	u64 root_pa;
	u64 ns;
};

static int spt_bench_cr3_fn(void *arg)
{
	struct spt_bench_cr3 *x = arg;
	unsigned long flags, saved;
	u64 t0;

	local_irq_save(flags);
	saved = __read_cr3();
	t0 = local_clock();
	native_write_cr3(x->root_pa);
	native_write_cr3(saved);
	x->ns = local_clock() - t0;
	local_irq_restore(flags);
	return 0;
}

static int spt_bench_run_cr3(unsigned int cpu, unsigned int reps)
{
	u64 bare[SPT_BENCH_REPS], call[SPT_BENCH_REPS], t0;
	struct spt_bench_cr3 x;
	struct spt_bench *b;
	unsigned int r;
	int ret = 0;

	if (!reps || reps > SPT_BENCH_REPS || cpu >= nr_cpu_ids)
		return -EINVAL;
	if (!cpu_online(cpu))
		return -ENODEV;
	b = spt_bench_alloc(1);
	if (!b)
		return -ENOMEM;
	x.root_pa = b->pt.root_pa;
	for (r = 0; r < reps && !ret; r++) {
		t0 = ktime_get_ns();
		ret = smp_call_on_cpu(cpu, spt_bench_cr3_fn, &x, false);
		call[r] = ktime_get_ns() - t0;
		bare[r] = x.ns;
	}
	if (!ret) {
		spt_bench_len = 0;
		spt_bench_print("cpu %u reps %u\n", cpu, reps);
		spt_bench_print_figure("cr3_bare", bare, reps);
		spt_bench_print_figure("cr3_call", call, reps);
	}
	spt_bench_free(b);
	return ret;
}

static ssize_t spt_bench_write(struct file *file, const char __user *ubuf,
			       size_t len, loff_t *ppos)
{
	unsigned int reps, cpu;
	char buf[64];
	int ret;
	u64 n;

	if (len >= sizeof(buf))
		return -EINVAL;
	if (copy_from_user(buf, ubuf, len))
		return -EFAULT;
	buf[len] = '\0';
	mutex_lock(&spt_bench_lock);
	if (sscanf(buf, "map %llu %u", &n, &reps) == 2)
		ret = spt_bench_run_map(n, reps);
	else if (sscanf(buf, "cr3 %u %u", &cpu, &reps) == 2)
		ret = spt_bench_run_cr3(cpu, reps);
	else
		ret = -EINVAL;
	mutex_unlock(&spt_bench_lock);
	return ret ? ret : len;
}

static ssize_t spt_bench_read(struct file *file, char __user *ubuf,
			      size_t len, loff_t *ppos)
{
	ssize_t ret;

	mutex_lock(&spt_bench_lock);
	ret = simple_read_from_buffer(ubuf, len, ppos, spt_bench_out,
				      spt_bench_len);
	mutex_unlock(&spt_bench_lock);
	return ret;
}

static const struct file_operations spt_bench_fops = {
	.owner = THIS_MODULE,
	.read = spt_bench_read,
	.write = spt_bench_write,
	.llseek = default_llseek,
};

void spt_bench_init(struct dentry *dir)
{
	debugfs_create_file("bench", 0600, dir, NULL, &spt_bench_fops);
}

void spt_bench_exit(void)
{
	/* The file goes with the shadowpt directory; nothing is held. */
}
