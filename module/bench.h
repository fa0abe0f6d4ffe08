/* SPDX-License-Identifier: GPL-2.0 */
/*
 * Benchmark hook (module/bench.c), built only with `make ... BENCH=1`
 * (Kbuild defines SPT_BENCH then): debugfs shadowpt/bench times, inside
 * the kernel and on the same pool frames, the page-table cursor against
 * vmap()/vunmap() and a load window against a bare CR3 write and restore.
 * In a normal build these are empty inlines and no file is created.
 */
#ifndef SPT_BENCH_H
#define SPT_BENCH_H

#include <linux/dcache.h>

#ifdef SPT_BENCH
void spt_bench_init(struct dentry *dir);
void spt_bench_exit(void);
#else
static inline void spt_bench_init(struct dentry *dir)
{
}

static inline void spt_bench_exit(void)
{
}
#endif

#endif /* SPT_BENCH_H */
