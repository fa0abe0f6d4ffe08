// SPDX-License-Identifier: GPL-2.0
/*
 * hostbench: the page-table core (module/core, the same sources the host
 * tests build) timed natively in user space, per leaf, for map, unmap,
 * protect, query and find_next, against two peers:
 *
 *  floor     a plain loop writing the same PTE values (copied from the
 *            table the core built) into freshly zeroed pages: the least
 *            work any builder can do;
 *  per-page  a baseline that walks from the root for every page and
 *            allocates missing tables on the way (the way PTEditor-,
 *            kvm-unit-tests- or Dune-style code installs one PTE at a
 *            time), with nodes from the same pool.
 *
 * Every figure is the median of --reps runs (min and max kept). Run under
 * `valgrind --tool=callgrind --collect-atstart=no --instr-atstart=no`, each measured call is
 * bracketed by CALLGRIND_TOGGLE_COLLECT and dumped under its name, so the
 * instruction count of exactly that call lands in one callgrind.out file;
 * a native run given --ir DIR reads those files back and prints
 * instructions per leaf next to the times, with PASS/MISS per target.
 */
#define _GNU_SOURCE
#include <dirent.h>
#include <getopt.h>
#include <sched.h>
#include <time.h>
#include <valgrind/callgrind.h>

#include <core/pt.h>
#include <core/pte.h>
#include <core/lockless.h>
#include <pool_user.h>

#define SZ_4K	0x1000ULL
#define SZ_2M	0x200000ULL
#define SZ_1G	0x40000000ULL
#define VA_BASE	(1ULL << 39)	/* 512 GiB aligned: room for 512 x 1 GiB */
#define MAX_REPS 64

#define DIE(...) do { fprintf(stderr, "hostbench: " __VA_ARGS__); \
		      fputc('\n', stderr); exit(1); } while (0)

enum impl { I_CORE, I_FLOOR, I_WALK, I_NR };
static const char *const impl_name[I_NR] = { "core", "floor", "per-page" };

enum op {
	OP_MAP, OP_PROTECT, OP_QUERY, OP_FIND, OP_UNMAP,
	OP_MAP_ARRAY, OP_MAP_CONTIG, OP_PROTECT_RUN, OP_QUERY_LOCKLESS,
	OP_QRANGE_PAGES, OP_NR
};
static const char *const op_name[OP_NR] = {
	"map", "protect", "query", "find_next", "unmap",
	"map-array", "map-contig", "protect-run", "query-lockless",
	"qrange-compact",
};

struct result {
	const char *shape;	/* "4k", "2m", "1g" */
	u64 n;			/* leaves */
	enum op op;
	enum impl impl;
	double ns[MAX_REPS];
	int nr;
	double ir;		/* instructions per leaf, < 0: unknown */
};

static struct result results[256];
static int nr_results;
static int reps = 7;
static const char *ir_dir;
static bool under_vg;

static struct spt_cfg cfg;
static struct spt_pool *pool;
static struct spt_pt pt;
static struct spt_flusher fl;

static u64 now_ns(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (u64)ts.tv_sec * 1000000000ULL + ts.tv_nsec;
}

static struct result *result_of(const char *shape, u64 n, enum op op,
				enum impl impl)
{
	struct result *r;
	int i;

	for (i = 0; i < nr_results; i++) {
		r = &results[i];
		if (!strcmp(r->shape, shape) && r->n == n && r->op == op &&
		    r->impl == impl)
			return r;
	}
	if (nr_results == (int)ARRAY_SIZE(results))
		DIE("too many results");
	r = &results[nr_results++];
	memset(r, 0, sizeof(*r));
	r->shape = shape;
	r->n = n;
	r->op = op;
	r->impl = impl;
	r->ir = -1;
	return r;
}

/* Measurement bracket: time natively, count instructions under callgrind. */
static u64 t_start;

static void m_begin(void)
{
	if (under_vg) {
		CALLGRIND_START_INSTRUMENTATION;
		CALLGRIND_TOGGLE_COLLECT;
	}
	t_start = now_ns();
}

static void m_end(const char *shape, u64 n, enum op op, enum impl impl)
{
	u64 t = now_ns() - t_start;
	struct result *r;
	char name[96];

	if (under_vg) {
		CALLGRIND_TOGGLE_COLLECT;
		snprintf(name, sizeof(name), "%s-%llu-%s-%s", shape, n,
			 op_name[op], impl_name[impl]);
		CALLGRIND_DUMP_STATS_AT(name);
		CALLGRIND_STOP_INSTRUMENTATION;
	}
	r = result_of(shape, n, op, impl);
	if (r->nr < MAX_REPS)
		r->ns[r->nr++] = (double)t / n;
}

static void env_init(u64 arena_mib)
{
	cfg.levels = 4;
	cfg.pa_mask = GENMASK_ULL(45, 12);
	cfg.cache_bits[SPT_CACHE_WT] = SPT_PTE_PWT;
	cfg.cache_bits[SPT_CACHE_UC_MINUS] = SPT_PTE_PCD;
	cfg.cache_bits[SPT_CACHE_UC] = SPT_PTE_PWT | SPT_PTE_PCD;
	cfg.cache_bits[SPT_CACHE_WC] = SPT_PTE_PAT;
	cfg.top_first = 0;
	cfg.top_last = 255;
	pool = spt_pool_user_create(arena_mib);
	if (!pool)
		DIE("no arena of %llu MiB", arena_mib);
	spt_flusher_init(&fl);
	if (spt_pt_init(&pt, &cfg, pool, NULL))
		DIE("spt_pt_init");
}

/* ---- the core ---- */

struct shape {
	const char *name;
	unsigned int level;	/* leaf level */
	bool tracked;
	u64 n;			/* leaves */
	u64 *pas;		/* leaf frames */
};

static u64 leaf_size(const struct shape *s)
{
	return spt_level_size(s->level);
}

/* Take the handle each mapping consumes (outside the timing). */
static void take_handles(const struct shape *s)
{
	u64 i;

	for (i = 0; s->tracked && i < s->n; i++)
		if (!spt_meta_get(spt_pool_meta(pool, s->pas[i])))
			DIE("spt_meta_get");
}

static void core_map(const struct shape *s)
{
	struct spt_prop prop = { .flags = SPT_PROT_WRITE, .cache = SPT_CACHE_WB };
	u64 end = VA_BASE + s->n * leaf_size(s), i;
	struct spt_cursor c;

	take_handles(s);
	m_begin();
	if (spt_cursor_mut_new(&c, &pt, VA_BASE, end, &fl))
		DIE("cursor_mut_new");
	for (i = 0; i < s->n; i++) {
		struct spt_item item = {
			.pa = s->pas[i], .level = s->level,
			.tracked = s->tracked,
		};

		if (spt_cursor_map(&c, &item, &prop, NULL))
			DIE("map %llu", i);
	}
	spt_cursor_drop(&c);
	m_end(s->name, s->n, OP_MAP, I_CORE);
}

/*
 * The run operation: the array of frames, or (@contig) a physically
 * contiguous untracked run from 1 TiB, as an SPT_MAP_PHYS map makes.
 */
static void core_map_run(const struct shape *s, bool contig)
{
	struct spt_prop prop = { .flags = SPT_PROT_WRITE, .cache = SPT_CACHE_WB };
	struct spt_map_run run = {
		.pas = s->pas, .nr = s->n, .level = s->level,
		.tracked = s->tracked,
	};
	u64 end = VA_BASE + s->n * leaf_size(s);
	unsigned long done;
	struct spt_cursor c;
	int ret;

	if (contig) {
		run.pas = NULL;
		run.pa = 1ULL << 40;
		run.tracked = false;
	} else {
		take_handles(s);
	}
	m_begin();
	if (spt_cursor_mut_new(&c, &pt, VA_BASE, end, &fl))
		DIE("cursor_mut_new");
	ret = spt_cursor_map_run(&c, &run, &prop, &done);
	spt_cursor_drop(&c);
	m_end(s->name, s->n, contig ? OP_MAP_CONTIG : OP_MAP_ARRAY, I_CORE);
	if (ret || done != s->n)
		DIE("map run: %d, %lu of %llu", ret, done, s->n);
}

/* Clear W (@ro) or set it: a protect_next loop, or (@run) one call. */
static void core_protect(const struct shape *s, bool ro, bool run)
{
	struct spt_prot_op op = { .cache = -1 };
	u64 end = VA_BASE + s->n * leaf_size(s), a, b, done = 0;
	struct spt_cursor c;
	int ret;

	if (ro)
		op.clear = SPT_PROT_WRITE;
	else
		op.set = SPT_PROT_WRITE;
	m_begin();
	if (spt_cursor_mut_new(&c, &pt, VA_BASE, end, &fl))
		DIE("cursor_mut_new");
	ret = 0;
	if (run)
		ret = spt_cursor_protect(&c, end - VA_BASE, &op, &done, NULL);
	while (!run && spt_cursor_va(&c) < end) {
		ret = spt_cursor_protect_next(&c, end - spt_cursor_va(&c), &op,
					      &a, &b);
		if (ret != 1)
			break;
		done++;
		ret = 0;
	}
	spt_cursor_drop(&c);
	m_end(s->name, s->n, run ? OP_PROTECT_RUN : OP_PROTECT, I_CORE);
	if (ret || done != s->n)
		DIE("protect: %d, %llu leaves", ret, done);
	/* No CPU has this table loaded: nothing to flush, nothing queued. */
	spt_flusher_init(&fl);
}

static void core_query(const struct shape *s)
{
	u64 end = VA_BASE + s->n * leaf_size(s), i, bad = 0;
	struct spt_cursor c;
	struct spt_query q;

	m_begin();
	if (spt_cursor_new(&c, &pt, VA_BASE, end))
		DIE("cursor_new");
	for (i = 0; i < s->n; i++) {
		if (spt_cursor_jump(&c, VA_BASE + i * leaf_size(s)) ||
		    spt_cursor_query(&c, &q))
			DIE("query");
		bad += !q.mapped;
	}
	spt_cursor_drop(&c);
	m_end(s->name, s->n, OP_QUERY, I_CORE);
	if (bad)
		DIE("query: %llu unmapped", bad);
}

/* One SPT_IOCTL_QUERY's walk per VA: lockless, under RCU. */
static void core_query_lockless(const struct shape *s)
{
	u64 i, bad = 0;
	struct spt_query q;

	m_begin();
	rcu_read_lock();
	for (i = 0; i < s->n; i++) {
		spt_lockless_query(&pt, VA_BASE + i * leaf_size(s), &q);
		bad += !q.mapped;
	}
	rcu_read_unlock();
	m_end(s->name, s->n, OP_QUERY_LOCKLESS, I_CORE);
	if (bad)
		DIE("query-lockless: %llu unmapped", bad);
}

/*
 * SPT_IOCTL_QUERY_RANGE's compact fill, as space_ops.c runs it: one RCU
 * section per budget of entries, into a buffer of 512 words; per 4 KiB
 * page (the shape's leaves are 4 KiB here).
 */
static void core_qrange_pages(const struct shape *s)
{
	u64 end = VA_BASE + s->n * SZ_4K, va = VA_BASE, words = 0, out[512];
	struct spt_lockless_walk w;
	unsigned int nr;

	m_begin();
	while (va < end) {
		rcu_read_lock();
		spt_lockless_begin(&w, &pt, va, end);
		nr = spt_lockless_pages(&w, out, 512, 4096);
		va = w.va;
		rcu_read_unlock();
		words += nr;
		if (!nr || !out[nr - 1])
			DIE("qrange-compact: no word or an unmapped page");
	}
	m_end(s->name, s->n, OP_QRANGE_PAGES, I_CORE);
	if (words != s->n)
		DIE("qrange-compact: %llu words for %llu pages", words, s->n);
}

static void core_find_next(const struct shape *s)
{
	u64 end = VA_BASE + s->n * leaf_size(s), found = 0;
	struct spt_cursor c;
	struct spt_query q;

	m_begin();
	if (spt_cursor_new(&c, &pt, VA_BASE, end))
		DIE("cursor_new");
	while (spt_cursor_find_next(&c, end - spt_cursor_va(&c))) {
		if (spt_cursor_query(&c, &q))
			DIE("query");
		found++;
		if (q.va_end >= end)
			break;
		if (spt_cursor_jump(&c, q.va_end))
			DIE("jump");
	}
	spt_cursor_drop(&c);
	m_end(s->name, s->n, OP_FIND, I_CORE);
	if (found != s->n)
		DIE("find_next: %llu of %llu", found, s->n);
}

/* Unmap everything, nodes given back; counted as @op unless it is OP_NR. */
static void core_unmap(const struct shape *s, enum op op)
{
	u64 end = VA_BASE + s->n * leaf_size(s);
	struct spt_cursor c;
	long ret;

	if (op != OP_NR)
		m_begin();
	if (spt_cursor_mut_new(&c, &pt, VA_BASE, end, &fl))
		DIE("cursor_mut_new");
	ret = spt_cursor_unmap(&c, end - VA_BASE);
	spt_cursor_drop(&c);
	/* Nodes go back to the pool (no CPU to flush, no RCU readers). */
	spt_flusher_release(&fl, pool);
	if (op != OP_NR)
		m_end(s->name, s->n, op, I_CORE);
	if (ret != (long)s->n)
		DIE("unmap: %ld of %llu", ret, s->n);
}

/* ---- the floor: the same PTE values into zeroed pages ---- */

static u64 *leaf_vals;		/* PTE values the core wrote, per leaf */
static u64 *floor_pages;	/* ceil(n / 512) pages */

static void copy_leaf_values(const struct shape *s)
{
	u64 i, pte = 0;

	for (i = 0; i < s->n; i++) {
		u64 va = VA_BASE + i * leaf_size(s);
		u64 node = pt.root_pa;
		unsigned int l;

		for (l = cfg.levels; l >= s->level; l--) {
			u64 *t = spt_pool_va(pool, node);

			pte = t[spt_index(va, l)];
			if (l == s->level)
				break;
			node = spt_pte_table_pa(&cfg, pte);
		}
		leaf_vals[i] = pte;
	}
}

static void floor_map(const struct shape *s)
{
	u64 nr_pages = (s->n + SPT_NR_ENTRIES - 1) / SPT_NR_ENTRIES, i;
	volatile u64 *sink;

	m_begin();
	memset(floor_pages, 0, nr_pages * SZ_4K);
	for (i = 0; i < s->n; i++)
		floor_pages[i] = leaf_vals[i];
	m_end(s->name, s->n, OP_MAP, I_FLOOR);
	sink = floor_pages;
	(void)sink[s->n - 1];
}

/* ---- the per-page baseline: walk from the root for every leaf ---- */

static u64 walk_root;
/*
 * pa -> pointer as the kernel's __va() does it (one add): the arena is one
 * contiguous mapping of [SPT_POOL_USER_BASE, ...).
 */
static char *walk_va_base;

static inline u64 *walk_va(u64 pa)
{
	return (u64 *)(walk_va_base + (pa - SPT_POOL_USER_BASE));
}

static u64 *walk_table(u64 va, unsigned int leaf_level, bool alloc)
{
	u64 node = walk_root;
	unsigned int l;

	for (l = cfg.levels; l > leaf_level; l--) {
		u64 *t = walk_va(node);
		u64 *e = &t[spt_index(va, l)];

		if (!(*e & SPT_PTE_P)) {
			u64 pa;

			if (!alloc)
				return NULL;
			if (spt_pool_alloc(pool, SPT_USAGE_PT, 1, false, &pa))
				DIE("walk: node alloc");
			*e = spt_pte_table(pa);
		}
		node = spt_pte_table_pa(&cfg, *e);
	}
	return walk_va(node);
}

static noinline void walk_install(u64 va, unsigned int level, u64 pte)
{
	u64 *t = walk_table(va, level, true);

	t[spt_index(va, level)] = pte;
}

static noinline u64 walk_lookup(u64 va, unsigned int level)
{
	u64 *t = walk_table(va, level, false);

	return t ? t[spt_index(va, level)] : 0;
}

static void walk_free(u64 node, unsigned int level)
{
	u64 *t = spt_pool_va(pool, node);
	unsigned int i;

	for (i = 0; level > 1 && i < SPT_NR_ENTRIES; i++)
		if ((t[i] & SPT_PTE_P) && !(level <= 3 && (t[i] & SPT_PTE_PS)))
			walk_free(spt_pte_table_pa(&cfg, t[i]), level - 1);
	if (node == walk_root) {
		memset(t, 0, SZ_4K);
		return;
	}
	if (!spt_meta_put(spt_pool_meta(pool, node)))
		DIE("walk_free: put");
	spt_pool_free(pool, node);
}

static void walk_map(const struct shape *s)
{
	u64 i;

	m_begin();
	for (i = 0; i < s->n; i++)
		walk_install(VA_BASE + i * leaf_size(s), s->level,
			     leaf_vals[i]);
	m_end(s->name, s->n, OP_MAP, I_WALK);
}

static void walk_query(const struct shape *s)
{
	u64 i, bad = 0;

	m_begin();
	for (i = 0; i < s->n; i++)
		bad += walk_lookup(VA_BASE + i * leaf_size(s), s->level) !=
		       leaf_vals[i];
	m_end(s->name, s->n, OP_QUERY, I_WALK);
	if (bad)
		DIE("walk_query: %llu wrong", bad);
}

/* ---- one shape, all reps ---- */

static void run_shape(struct shape *s)
{
	u64 i;
	int r;

	leaf_vals = calloc(s->n, sizeof(u64));
	floor_pages = aligned_alloc(SZ_4K, ALIGN(s->n * 8, SZ_4K));
	if (!leaf_vals || !floor_pages)
		DIE("out of memory");
	for (r = 0; r < reps; r++) {
		core_map(s);
		if (r == 0)
			copy_leaf_values(s);
		core_protect(s, true, false);
		core_protect(s, false, false);
		core_query(s);
		core_query_lockless(s);
		if (leaf_size(s) == SZ_4K)
			core_qrange_pages(s);
		core_find_next(s);
		core_unmap(s, OP_UNMAP);
		core_map_run(s, false);
		core_protect(s, true, true);
		core_protect(s, false, true);
		core_unmap(s, OP_NR);
		core_map_run(s, true);
		core_unmap(s, OP_NR);
		floor_map(s);
		walk_map(s);
		walk_query(s);
		walk_free(walk_root, cfg.levels);
	}
	/* protect ran twice per rep (ro, rw): both are in the samples. */
	for (i = 0; s->tracked && i < s->n; i++)
		if (spt_meta_put(spt_pool_meta(pool, s->pas[i])))
			spt_pool_free(pool, s->pas[i]);
	free(leaf_vals);
	free(floor_pages);
}

static void shape_frames(struct shape *s)
{
	u64 i;

	s->pas = calloc(s->n, sizeof(u64));
	if (!s->pas)
		DIE("out of memory");
	for (i = 0; i < s->n; i++) {
		if (!s->tracked) {
			s->pas[i] = (1ULL << 40) + i * leaf_size(s);
			continue;
		}
		if (spt_pool_alloc(pool, SPT_USAGE_DATA, s->level, false,
				   &s->pas[i]))
			DIE("data frame %llu of %llu", i, s->n);
	}
}

/* ---- callgrind results ---- */

/*
 * Each dump: "desc: Trigger: Client Request: NAME" ... "totals: IR" (the
 * sum of every cost line; its "summary:" line is not reliable once
 * instrumentation is switched on and off).
 */
static void read_ir(void)
{
	struct dirent *de;
	DIR *d = opendir(ir_dir);

	if (!d)
		DIE("cannot open %s", ir_dir);
	while ((de = readdir(d))) {
		char path[4096], line[512], name[128] = "";
		double ir = -1;
		FILE *f;

		if (strncmp(de->d_name, "callgrind.out", 13))
			continue;
		snprintf(path, sizeof(path), "%s/%s", ir_dir, de->d_name);
		f = fopen(path, "r");
		if (!f)
			continue;
		while (fgets(line, sizeof(line), f)) {
			const char *k = "desc: Trigger: Client Request: ";

			if (!strncmp(line, k, strlen(k)))
				sscanf(line + strlen(k), "%127s", name);
			else if (!strncmp(line, "totals: ", 8))
				ir = strtod(line + 8, NULL);
		}
		fclose(f);
		for (int i = 0; name[0] && ir >= 0 && i < nr_results; i++) {
			struct result *r = &results[i];
			char want[128];

			snprintf(want, sizeof(want), "%s-%llu-%s-%s", r->shape,
				 r->n, op_name[r->op], impl_name[r->impl]);
			if (!strcmp(want, name))
				r->ir = ir / r->n;
		}
	}
	closedir(d);
}

/* ---- report ---- */

static int cmp_d(const void *a, const void *b)
{
	double x = *(const double *)a, y = *(const double *)b;

	return x < y ? -1 : x > y;
}

static double med(struct result *r)
{
	qsort(r->ns, r->nr, sizeof(double), cmp_d);
	return r->nr ? r->ns[r->nr / 2] : 0;
}

static int misses;

/* A target on a ratio (@unit "x") or on an absolute figure (@unit ""). */
static void target_unit(FILE *js, bool *first, const char *what,
			double ratio, double want, bool at_least,
			const char *unit)
{
	bool pass = at_least ? ratio >= want : ratio <= want;

	if (!pass)
		misses++;
	printf("  %-52s %8.2f%-1s  (target %s %.1f%s)  %s\n", what, ratio,
	       unit, at_least ? ">=" : "<=", want, unit,
	       pass ? "PASS" : "MISS");
	fprintf(js, "%s\n    {\"target\": \"%s\", \"ratio\": %.3f, "
		"\"want\": \"%s%.1f\", \"pass\": %s}", *first ? "" : ",",
		what, ratio, at_least ? ">=" : "<=", want,
		pass ? "true" : "false");
	*first = false;
}

static void target(FILE *js, bool *first, const char *what, double ratio,
		   double want, bool at_least)
{
	target_unit(js, first, what, ratio, want, at_least, "x");
}

/* The run operations' targets: instructions per leaf, 4 KiB, N >= 4096. */
static void run_targets(FILE *js, bool *first)
{
	static const struct {
		enum op op;
		double max_ir;
	} want[] = {
		{ OP_MAP_ARRAY, 35 }, { OP_MAP_CONTIG, 25 },
		{ OP_PROTECT_RUN, 20 }, { OP_UNMAP, 40 }, { OP_QUERY, 50 },
		{ OP_QUERY_LOCKLESS, 50 }, { OP_QRANGE_PAGES, 12 },
	};
	char what[96];
	unsigned int k;
	int i;

	for (i = 0; i < nr_results; i++) {
		struct result *c = &results[i], *w;

		if (c->impl != I_CORE || strcmp(c->shape, "4k") || c->n < 4096)
			continue;
		for (k = 0; k < ARRAY_SIZE(want); k++) {
			if (want[k].op != c->op || c->ir < 0)
				continue;
			snprintf(what, sizeof(what), "4k N=%llu %s instr/leaf",
				 c->n, op_name[c->op]);
			target_unit(js, first, what, c->ir, want[k].max_ir,
				    false, "");
		}
		if (c->op != OP_MAP_ARRAY && c->op != OP_MAP_CONTIG)
			continue;
		w = result_of(c->shape, c->n, OP_MAP, I_WALK);
		snprintf(what, sizeof(what), "4k N=%llu %s ns/leaf per-page/core",
			 c->n, op_name[c->op]);
		target(js, first, what, med(w) / med(c), 5.0, true);
	}
}

static void report(const char *json)
{
	FILE *js = json ? fopen(json, "w") : NULL;
	bool first = true;
	int i;

	if (json && !js)
		DIE("cannot write %s", json);
	if (!js)
		js = fopen("/dev/null", "w");
	printf("%-5s %8s %-10s %-9s %9s %9s %9s %10s\n", "shape", "leaves",
	       "op", "impl", "ns/leaf", "min", "max", "instr/leaf");
	fprintf(js, "{\n  \"reps\": %d,\n  \"results\": [", reps);
	for (i = 0; i < nr_results; i++) {
		struct result *r = &results[i];
		double m = med(r);

		printf("%-5s %8llu %-10s %-9s %9.2f %9.2f %9.2f ", r->shape,
		       r->n, op_name[r->op], impl_name[r->impl], m, r->ns[0],
		       r->ns[r->nr - 1]);
		if (r->ir >= 0)
			printf("%10.1f\n", r->ir);
		else
			printf("%10s\n", "-");
		fprintf(js, "%s\n    {\"shape\": \"%s\", \"leaves\": %llu, "
			"\"op\": \"%s\", \"impl\": \"%s\", \"ns_per_leaf\": "
			"{\"median\": %.3f, \"min\": %.3f, \"max\": %.3f}, "
			"\"instr_per_leaf\": %.2f}", i ? "," : "", r->shape,
			r->n, op_name[r->op], impl_name[r->impl], m, r->ns[0],
			r->ns[r->nr - 1], r->ir);
	}
	fprintf(js, "\n  ],\n  \"targets\": [");
	printf("\ntargets (core map vs floor: instructions; vs per-page: "
	       "instructions and time)\n");
	for (i = 0; i < nr_results; i++) {
		struct result *c = &results[i], *f, *w;
		char what[96];

		if (c->op != OP_MAP || c->impl != I_CORE ||
		    (!strcmp(c->shape, "4k") && c->n < 4096))
			continue;
		f = result_of(c->shape, c->n, OP_MAP, I_FLOOR);
		w = result_of(c->shape, c->n, OP_MAP, I_WALK);
		if (c->ir > 0 && f->ir > 0) {
			snprintf(what, sizeof(what),
				 "%s N=%llu map instr/leaf core/floor",
				 c->shape, c->n);
			target(js, &first, what, c->ir / f->ir, 3.0, false);
		}
		if (c->ir > 0 && w->ir > 0) {
			snprintf(what, sizeof(what),
				 "%s N=%llu map instr/leaf per-page/core",
				 c->shape, c->n);
			target(js, &first, what, w->ir / c->ir, 5.0, true);
		}
		snprintf(what, sizeof(what), "%s N=%llu map ns/leaf per-page/core",
			 c->shape, c->n);
		target(js, &first, what, med(w) / med(c), 5.0, true);
	}
	run_targets(js, &first);
	fprintf(js, "\n  ],\n  \"misses\": %d\n}\n", misses);
	fclose(js);
}

int main(int argc, char **argv)
{
	static const u64 sizes_full[] = { 512, 4096, 32768, 262144 };
	static const u64 sizes_quick[] = { 512, 4096 };
	const u64 *sizes = sizes_full;
	int nr_sizes = 4, opt;
	const char *json = NULL;
	bool quick = false;
	cpu_set_t set;
	u64 i, max_n;

	static const struct option lo[] = {
		{ "reps", required_argument, NULL, 'r' },
		{ "quick", no_argument, NULL, 'q' },
		{ "ir", required_argument, NULL, 'i' },
		{ "json", required_argument, NULL, 'j' },
		{ NULL, 0, NULL, 0 },
	};

	while ((opt = getopt_long(argc, argv, "", lo, NULL)) != -1) {
		switch (opt) {
		case 'r':
			reps = atoi(optarg);
			if (reps < 1 || reps > MAX_REPS)
				DIE("--reps 1..%d", MAX_REPS);
			break;
		case 'q':
			quick = true;
			break;
		case 'i':
			ir_dir = optarg;
			break;
		case 'j':
			json = optarg;
			break;
		default:
			fprintf(stderr, "usage: hostbench [--reps N] [--quick] "
				"[--ir CALLGRIND_DIR] [--json FILE]\n");
			return 2;
		}
	}
	if (quick) {
		sizes = sizes_quick;
		nr_sizes = 2;
	}
	under_vg = RUNNING_ON_VALGRIND;
	/* Pin to the CPU we start on: same cache, no migrations. */
	CPU_ZERO(&set);
	CPU_SET(sched_getcpu(), &set);
	sched_setaffinity(0, sizeof(set), &set);

	max_n = sizes[nr_sizes - 1];
	/* Data frames, their nodes, 512 2 MiB frames (not in --quick). */
	env_init(quick ? 64 : max_n / 256 + 64);
	walk_root = 0;
	if (spt_pool_alloc_root(pool, &walk_root))
		DIE("walk root");
	walk_va_base = (char *)spt_pool_va(pool, walk_root) -
		       (walk_root - SPT_POOL_USER_BASE);
	for (i = 0; i < (u64)nr_sizes; i++) {
		struct shape s = {
			.name = "4k", .level = 1, .tracked = true,
			.n = sizes[i],
		};

		shape_frames(&s);
		run_shape(&s);
		free(s.pas);
	}
	if (!quick) {
		struct shape s2 = {
			.name = "2m", .level = 2, .tracked = true, .n = 512,
		};
		struct shape s3 = {
			.name = "1g", .level = 3, .tracked = false, .n = 512,
		};

		shape_frames(&s2);
		run_shape(&s2);
		free(s2.pas);
		shape_frames(&s3);
		run_shape(&s3);
		free(s3.pas);
	}
	if (spt_meta_put(spt_pool_meta(pool, walk_root)))
		spt_pool_free(pool, walk_root);
	spt_pt_destroy(&pt, &fl);
	spt_flusher_release(&fl, pool);
	if (spt_pool_user_destroy(pool))
		DIE("frames leaked");
	if (under_vg)
		return 0;
	if (ir_dir)
		read_ir();
	report(json);
	return 0;
}
