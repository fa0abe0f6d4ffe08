// SPDX-License-Identifier: GPL-2.0
/*
 * sptbench: shadowpt's speed and memory, side by side with Linux's own
 * page-table code, measured in one boot of one kernel (run it inside the
 * VM, as root, with the module loaded; see docs/performance.md).
 *
 * Every figure is the median of --reps runs (>= 5) with min and max, and
 * every comparison is a ratio against a peer measured in the same process:
 *
 *   map      SPT_IOCTL_MAP of N fresh 4 KiB frames   vs mmap(MAP_POPULATE)
 *            (THP disabled for the process: 4 KiB pages on both sides)
 *   unmap    SPT_IOCTL_UNMAP                         vs munmap
 *   protect  SPT_IOCTL_PROTECT (read-only)           vs mprotect(PROT_READ)
 *   query    SPT_IOCTL_QUERY_BATCH of N VAs          vs N pagemap entries
 *   qrange   SPT_IOCTL_QUERY_RANGE of N pages, compact (8 bytes a page)
 *            vs N pagemap entries, and merged runs vs PAGEMAP_SCAN of
 *            the present pages (6.7 and later; the row is left out where
 *            the ioctl is unknown)
 *   single   one SPT_IOCTL_QUERY, one PROTECT of a page vs SPT_IOCTL_VERSION
 *            (the null ioctl), which is set against the floor: the ioctl
 *            of bench/nullpeer, which only returns a constant; SPACE_INFO
 *            of a 1-page and a large space; one UNMAP of one page vs
 *            munmap of one page
 *   dump     netlink MAPPING_GET of the space        vs pagemap, entries/s
 *   scaling  1 vs 2 threads map+unmap disjoint ranges of one space, and
 *            the same shape with mmap/munmap
 *   memory   page-table pages vs the ideal count, meta bytes per frame,
 *            Linux's PageTables growth for the same MAP_POPULATE region
 * and, when the module was built with BENCH=1 (debugfs shadowpt/bench):
 *   kmap     the cursor vs vmap() on the same frames, in the kernel
 *   kunmap   the cursor (+ grace period) vs vunmap() + vm_unmap_aliases()
 *   load     a window with one READ vs a bare CR3 write and restore
 *
 * Output: a table with PASS/MISS per target, and JSON (--json FILE).
 * The VM is emulated: absolute times mean nothing, ratios are indicative.
 */
#define _GNU_SOURCE
#include <errno.h>
#include <fcntl.h>
#include <getopt.h>
#include <pthread.h>
#include <sched.h>
#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/ioctl.h>
#include <sys/mman.h>
#include <sys/prctl.h>
#include <time.h>
#include <unistd.h>

#include <netlink/netlink.h>
#include <netlink/genl/genl.h>
#include <netlink/genl/ctrl.h>
#include <netlink/msg.h>
#include <netlink/attr.h>

#include <linux/shadowpt.h>
#include <linux/fs.h>
#include "tables_row.h"

#ifndef PAGEMAP_SCAN
/*
 * PAGEMAP_SCAN (include/uapi/linux/fs.h of Linux 6.7 and later) as its ABI
 * is: the headers the bench is built with may be older than the kernel
 * it runs on. Where the kernel does not know it, the ioctl fails (ENOTTY)
 * and the rows that need it are left out.
 */
#define PAGE_IS_PRESENT		(1 << 3)

struct page_region {
	__u64 start;
	__u64 end;
	__u64 categories;
};

struct pm_scan_arg {
	__u64 size;
	__u64 flags;
	__u64 start;
	__u64 end;
	__u64 walk_end;
	__u64 vec;
	__u64 vec_len;
	__u64 max_pages;
	__u64 category_inverted;
	__u64 category_mask;
	__u64 category_anyof_mask;
	__u64 return_mask;
};

#define PAGEMAP_SCAN		_IOWR('f', 16, struct pm_scan_arg)
#endif

#define PAGE		4096ULL
#define SZ_2M		(2ULL << 20)
#define SZ_1G		(1ULL << 30)
#define MAX_REPS	31
#define SPACE_VA	(1ULL << 39)	/* 512 GiB aligned */
#define BENCH_PATH	"/sys/kernel/debug/shadowpt/bench"

#define DIE(...) do { fprintf(stderr, "sptbench: " __VA_ARGS__); \
		      fprintf(stderr, " (%s)\n", strerror(errno)); \
		      exit(1); } while (0)

static int fd;
static int reps = 5;
static bool quick;
static int load_cpu = 1;

/* ---- samples ---- */

struct fig {
	char name[48];
	uint64_t n;		/* pages (or entries) per sample */
	double v[MAX_REPS];	/* ns per sample */
	int nr;
	double med, min, max;
};

static struct fig figs[256];
static int nr_figs;

static struct fig *fig(const char *name, uint64_t n)
{
	int i;

	for (i = 0; i < nr_figs; i++)
		if (!strcmp(figs[i].name, name) && figs[i].n == n)
			return &figs[i];
	if (nr_figs == (int)(sizeof(figs) / sizeof(figs[0])))
		DIE("too many figures");
	memset(&figs[nr_figs], 0, sizeof(figs[0]));
	snprintf(figs[nr_figs].name, sizeof(figs[0].name), "%s", name);
	figs[nr_figs].n = n;
	return &figs[nr_figs++];
}

static void add(const char *name, uint64_t n, double ns)
{
	struct fig *f = fig(name, n);

	if (f->nr < MAX_REPS)
		f->v[f->nr++] = ns;
}

static int cmp_d(const void *a, const void *b)
{
	double x = *(const double *)a, y = *(const double *)b;

	return x < y ? -1 : x > y;
}

static void finish(void)
{
	int i;

	for (i = 0; i < nr_figs; i++) {
		struct fig *f = &figs[i];

		if (!f->nr)
			continue;
		qsort(f->v, f->nr, sizeof(double), cmp_d);
		f->med = f->v[f->nr / 2];
		f->min = f->v[0];
		f->max = f->v[f->nr - 1];
	}
}

static double med(const char *name, uint64_t n)
{
	int i;

	for (i = 0; i < nr_figs; i++)
		if (!strcmp(figs[i].name, name) && figs[i].n == n)
			return figs[i].nr ? figs[i].med : 0;
	return 0;
}

static uint64_t now(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (uint64_t)ts.tv_sec * 1000000000ULL + ts.tv_nsec;
}

static void pin(int cpu)
{
	cpu_set_t set;

	CPU_ZERO(&set);
	CPU_SET(cpu, &set);
	if (sched_setaffinity(0, sizeof(set), &set))
		DIE("pin to CPU %d", cpu);
}

static void try_pin(int cpu)
{
	cpu_set_t set;

	CPU_ZERO(&set);
	CPU_SET(cpu, &set);
	if (sched_setaffinity(0, sizeof(set), &set))
		printf("# CPU %d not available: thread not pinned\n", cpu);
}

/* ---- the ioctls ---- */

static uint32_t space_create(void)
{
	struct spt_space_create c = { .size = sizeof(c),
				      .flags = SPT_SPACE_FD_OWNED };

	if (ioctl(fd, SPT_IOCTL_SPACE_CREATE, &c))
		DIE("SPACE_CREATE");
	return c.out_space_id;
}

static void space_destroy(uint32_t id)
{
	struct spt_space_destroy d = { .size = sizeof(d), .space_id = id };

	if (ioctl(fd, SPT_IOCTL_SPACE_DESTROY, &d))
		DIE("SPACE_DESTROY");
}

static void spt_map(uint32_t id, uint64_t va, uint64_t len, uint32_t flags)
{
	struct spt_map m = { .size = sizeof(m), .flags = flags,
			     .space_id = id, .prot = SPT_PROT_WRITE,
			     .va = va, .length = len };

	if (ioctl(fd, SPT_IOCTL_MAP, &m))
		DIE("MAP %#llx+%#llx", (unsigned long long)va,
		    (unsigned long long)len);
}

static void spt_unmap(uint32_t id, uint64_t va, uint64_t len)
{
	struct spt_unmap u = { .size = sizeof(u), .space_id = id,
			       .va = va, .length = len };

	if (ioctl(fd, SPT_IOCTL_UNMAP, &u))
		DIE("UNMAP");
}

static void spt_protect(uint32_t id, uint64_t va, uint64_t len)
{
	struct spt_protect p = { .size = sizeof(p), .space_id = id,
				 .prot = 0, .va = va, .length = len };

	if (ioctl(fd, SPT_IOCTL_PROTECT, &p))
		DIE("PROTECT");
}

static void spt_stats(uint32_t id, struct spt_stats *st)
{
	memset(st, 0, sizeof(*st));
	st->size = sizeof(*st);
	st->space_id = id;
	if (ioctl(fd, SPT_IOCTL_STATS, st))
		DIE("STATS");
}

/* ---- netlink dump ---- */

static struct nl_sock *nl;
static int nl_family;
static uint64_t dump_pages;

static int dump_cb(struct nl_msg *msg, void *arg)
{
	struct nlattr *tb[SPT_A_MAX + 1];

	(void)arg;
	if (genlmsg_parse(nlmsg_hdr(msg), 0, tb, SPT_A_MAX, NULL))
		return NL_STOP;
	if (tb[SPT_A_RUN_PAGES])
		dump_pages += nla_get_u64(tb[SPT_A_RUN_PAGES]);
	return NL_OK;
}

static void nl_setup(void)
{
	nl = nl_socket_alloc();
	if (!nl || genl_connect(nl))
		DIE("netlink socket");
	nl_socket_set_buffer_size(nl, 4 << 20, 0);
	nl_socket_set_msg_buf_size(nl, 64 << 10);
	nl_family = genl_ctrl_resolve(nl, SPT_GENL_NAME);
	if (nl_family < 0)
		DIE("no genl family %s", SPT_GENL_NAME);
	nl_socket_modify_cb(nl, NL_CB_VALID, NL_CB_CUSTOM, dump_cb, NULL);
}

static uint64_t genl_dump_space(uint32_t id)
{
	struct nl_msg *msg = nlmsg_alloc();

	if (!msg || !genlmsg_put(msg, NL_AUTO_PORT, NL_AUTO_SEQ, nl_family, 0,
				 NLM_F_DUMP, SPT_GENL_CMD_MAPPING_GET,
				 SPT_GENL_VERSION) ||
	    nla_put_u32(msg, SPT_A_SPACE_ID, id))
		DIE("netlink message");
	dump_pages = 0;
	if (nl_send_auto(nl, msg) < 0)
		DIE("netlink send");
	nlmsg_free(msg);
	if (nl_recvmsgs_default(nl) < 0)
		DIE("netlink dump");
	return dump_pages;
}

/* ---- Linux's peers ---- */

static long pagetables_kb(void)
{
	char line[256];
	long kb = -1;
	FILE *f = fopen("/proc/meminfo", "r");

	if (!f)
		return -1;
	while (fgets(line, sizeof(line), f))
		if (sscanf(line, "PageTables: %ld kB", &kb) == 1)
			break;
	fclose(f);
	return kb;
}

static int pagemap_fd;
static uint64_t *pm_buf;

static void pagemap_read(void *addr, uint64_t n)
{
	off_t off = (uintptr_t)addr / PAGE * 8;
	uint64_t done = 0;

	while (done < n * 8) {
		ssize_t r = pread(pagemap_fd, (char *)pm_buf + done,
				  n * 8 - done, off + done);

		if (r <= 0)
			DIE("pagemap read");
		done += r;
	}
	if (!(pm_buf[0] >> 63) || !(pm_buf[n - 1] >> 63))
		DIE("pagemap: page not present");
}

/* ---- debugfs shadowpt/bench (BENCH=1 builds only) ---- */

static bool have_khook;

/* Run one command; add every "name med min max" line as a figure. */
static void khook(const char *cmd, uint64_t n, const char *prefix)
{
	char buf[2048], *line, *save;
	int bfd = open(BENCH_PATH, O_RDWR);
	ssize_t r;

	if (bfd < 0)
		DIE("open %s", BENCH_PATH);
	if (write(bfd, cmd, strlen(cmd)) != (ssize_t)strlen(cmd))
		DIE("bench command '%s'", cmd);
	r = pread(bfd, buf, sizeof(buf) - 1, 0);
	if (r < 0)
		DIE("bench read");
	buf[r] = '\0';
	close(bfd);
	for (line = strtok_r(buf, "\n", &save); line;
	     line = strtok_r(NULL, "\n", &save)) {
		unsigned long long a, b, c, d, e;
		char name[48], full[64];

		if (sscanf(line, "nodes %llu %llu %llu %llu %llu", &a, &b, &c,
			   &d, &e) == 5) {
			snprintf(full, sizeof(full), "%snodes", prefix);
			add(full, n, a + b + c + d + e);
			continue;
		}
		if (sscanf(line, "%47s %llu %llu %llu", name, &a, &b, &c) != 4)
			continue;
		snprintf(full, sizeof(full), "%s%s", prefix, name);
		/* The hook's own median, min, max, as three samples. */
		fig(full, n)->nr = 0;
		add(full, n, b);
		add(full, n, a);
		add(full, n, c);
	}
}

/*
 * SPT_IOCTL_QUERY_RANGE of [SPACE_VA, + n pages) into @out, in calls of
 * at most SPT_QUERY_RANGE_MAX entries; returns the entries.
 */
static uint64_t spt_qrange(uint32_t id, uint32_t flags, void *out,
			   uint64_t n)
{
	size_t esize = flags ? sizeof(uint64_t) : sizeof(struct spt_query_run);
	uint64_t va = SPACE_VA, end = SPACE_VA + n * PAGE, got = 0;

	while (va < end) {
		struct spt_query_range qr = {
			.size = sizeof(qr), .flags = flags, .space_id = id,
			.entry_size = esize, .va = va, .length = end - va,
			.entries = (uintptr_t)((char *)out + got * esize),
			.max_entries = n - got < SPT_QUERY_RANGE_MAX ?
				       n - got : SPT_QUERY_RANGE_MAX,
		};

		if (ioctl(fd, SPT_IOCTL_QUERY_RANGE, &qr))
			DIE("QUERY_RANGE");
		got += qr.out_entries;
		va = qr.out_next;
	}
	return got;
}

/* PAGEMAP_SCAN of the present pages of [p, p + n pages): regions, or -1. */
static long pagemap_scan(void *p, uint64_t n, struct page_region *vec)
{
	struct pm_scan_arg a = {
		.size = sizeof(a), .start = (uintptr_t)p,
		.end = (uintptr_t)p + n * PAGE, .vec = (uintptr_t)vec,
		.vec_len = n, .category_anyof_mask = PAGE_IS_PRESENT,
		.return_mask = PAGE_IS_PRESENT,
	};
	long r = ioctl(pagemap_fd, PAGEMAP_SCAN, &a);

	if (r < 0)
		return -1;
	if (a.walk_end != a.end)
		DIE("PAGEMAP_SCAN stopped early");
	return r;
}

/* ---- the measurements ---- */

static void bench_size(uint64_t n, bool dump)
{
	uint64_t len = n * PAGE, i, t;
	uint64_t *vas = malloc(n * sizeof(*vas));
	struct spt_query_entry *ents = malloc(n * sizeof(*ents));
	struct spt_query_run *runs = malloc(n * sizeof(*runs));
	struct page_region *regions = malloc(n * sizeof(*regions));
	int r;

	struct spt_query_entry *tents = malloc(n * sizeof(*tents));
	struct tb_entry *bents = malloc(n * sizeof(*bents));

	if (!vas || !ents || !runs || !regions || !tents || !bents)
		DIE("malloc");
	for (i = 0; i < n; i++)
		vas[i] = SPACE_VA + i * PAGE;
	for (r = 0; r < reps; r++) {
		uint32_t id = space_create();
		struct spt_query_batch qb = {
			.size = sizeof(qb), .count = n, .space_id = id,
			.vas = (uintptr_t)vas, .entries = (uintptr_t)ents,
			.entry_size = sizeof(*ents),
		};
		long kb0, kb1;
		void *p;

		t = now();
		spt_map(id, SPACE_VA, len, SPT_MAP_4K);
		add("map/spt", n, now() - t);
		if (r == 0) {
			struct spt_version v = { .size = sizeof(v) };
			struct spt_stats st;
			uint64_t ideal = 1, span = 1, nodes = 0;
			unsigned int l;

			if (ioctl(fd, SPT_IOCTL_VERSION, &v))
				DIE("VERSION");
			spt_stats(id, &st);
			for (l = 0; l < 5; l++)
				nodes += st.space_nodes[l];
			/*
			 * Ideal, for N pages from a top-level-aligned VA:
			 * ceil(N/512) + ceil(N/512^2) + ... + the root.
			 */
			for (l = 1; l < v.out_levels; l++) {
				span *= 512;
				ideal += (n + span - 1) / span;
			}
			add("mem/spt_nodes", n, nodes);
			add("mem/ideal_nodes", n, ideal);
			add("mem/meta_bytes_per_frame", n,
			    st.pool_chunk_frames ?
			    (double)st.pool_meta_bytes / st.pool_chunk_frames :
			    0);
		}
		t = now();
		spt_protect(id, SPACE_VA, len);
		add("protect/spt", n, now() - t);
		t = now();
		if (ioctl(fd, SPT_IOCTL_QUERY_BATCH, &qb) || qb.out_done != n)
			DIE("QUERY_BATCH");
		add("query/spt", n, now() - t);
		if (!(ents[n - 1].flags & SPT_QUERY_MAPPED))
			DIE("query: not mapped");
		/* The same VAs through the tables mapping, and the bare walk. */
		if (tb_open(id))
			DIE("SPT_IOCTL_TABLES");
		tb_walk(vas, n, tents);	/* faults the nodes in */
		tb_bare(vas, n, bents);
		t = now();
		if (tb_walk(vas, n, tents))
			DIE("spt_tables_walk");
		add("query/tables", n, now() - t);
		t = now();
		tb_bare(vas, n, bents);
		add("query/pteditor_walk", n, now() - t);
		tb_close();
		if (memcmp(tents, ents, n * sizeof(*ents)) ||
		    !(bents[n - 1].e[0] & 1))
			DIE("tables walk differs from QUERY_BATCH");
		/* The same pages by range: a word each (into vas), and runs. */
		t = now();
		if (spt_qrange(id, SPT_QUERY_RANGE_COMPACT, vas, n) != n)
			DIE("QUERY_RANGE: pages missing");
		add("qrange/spt_compact", n, now() - t);
		if (!(vas[n - 1] & SPT_QUERY_MAPPED))
			DIE("QUERY_RANGE: not mapped");
		t = now();
		if (!spt_qrange(id, 0, runs, n))
			DIE("QUERY_RANGE: no run");
		add("qrange/spt_runs", n, now() - t);
		for (i = 0; i < n; i++)
			vas[i] = SPACE_VA + i * PAGE;
		if (dump) {
			uint64_t got;

			t = now();
			got = genl_dump_space(id);
			add("dump/spt", n, now() - t);
			if (got != n)
				DIE("dump: %llu pages of %llu",
				    (unsigned long long)got,
				    (unsigned long long)n);
		}
		t = now();
		spt_unmap(id, SPACE_VA, len);
		add("unmap/spt", n, now() - t);
		space_destroy(id);

		/* The same shape in a process. */
		kb0 = pagetables_kb();
		t = now();
		p = mmap(NULL, len, PROT_READ | PROT_WRITE,
			 MAP_PRIVATE | MAP_ANONYMOUS | MAP_POPULATE, -1, 0);
		add("map/mmap_populate", n, now() - t);
		if (p == MAP_FAILED)
			DIE("mmap");
		kb1 = pagetables_kb();
		if (r == 0 && kb0 >= 0)
			add("mem/linux_pagetables", n, (kb1 - kb0) / 4.0);
		t = now();
		if (mprotect(p, len, PROT_READ))
			DIE("mprotect");
		add("protect/mprotect", n, now() - t);
		t = now();
		pagemap_read(p, n);
		add("query/pagemap", n, now() - t);
		if (dump)
			add("dump/pagemap", n, now() - t);
		t = now();
		if (pagemap_scan(p, n, regions) > 0)
			add("qrange/pagemap_scan", n, now() - t);
		t = now();
		munmap(p, len);
		add("unmap/munmap", n, now() - t);
	}
	free(vas);
	free(ents);
	free(tents);
	free(bents);
	free(runs);
	free(regions);
}

/* The floor peer (bench/nullpeer, loaded by scripts/bench): -1 if absent. */
#define SPTNULL_PATH	"/dev/sptnull"
#define SPTNULL_IOCTL	0x5370
static int null_fd = -1;

static void space_info(uint32_t id)
{
	struct spt_space_info si = { .size = sizeof(si), .space_id = id };

	if (ioctl(fd, SPT_IOCTL_SPACE_INFO, &si))
		DIE("SPACE_INFO");
}

/* Per call: the ns of one call, as the mean of a loop of @calls. */
static void bench_single(void)
{
	uint32_t id = space_create(), big = space_create();
	int calls = quick ? 200 : 2000, r, i;
	uint64_t big_pages = quick ? 4096 : 262144;
	struct spt_query_va q = { .size = sizeof(q), .space_id = id,
				  .va = SPACE_VA };
	struct spt_version v = { .size = sizeof(v) };
	struct spt_protect p = { .size = sizeof(p), .space_id = id,
				 .va = SPACE_VA, .length = PAGE };
	uint64_t t, spent;
	char *page;

	spt_map(id, SPACE_VA, PAGE, SPT_MAP_4K);
	spt_map(big, SPACE_VA, big_pages * PAGE, SPT_MAP_4K);
	for (r = 0; r < reps; r++) {
		t = now();
		for (i = 0; i < calls; i++)
			if (ioctl(fd, SPT_IOCTL_QUERY, &q))
				DIE("QUERY");
		add("single/query", 1, (double)(now() - t) / calls);
		t = now();
		for (i = 0; i < calls; i++)
			if (ioctl(fd, SPT_IOCTL_VERSION, &v))
				DIE("VERSION");
		add("single/null", 1, (double)(now() - t) / calls);
		if (null_fd >= 0) {
			t = now();
			for (i = 0; i < calls; i++)
				if (ioctl(null_fd, SPTNULL_IOCTL, 0))
					DIE("sptnull ioctl");
			add("single/floor", 1, (double)(now() - t) / calls);
		}
		/* PROTECT of one page, alternating read-only and writable. */
		t = now();
		for (i = 0; i < calls; i++) {
			p.prot = i & 1 ? SPT_PROT_WRITE : 0;
			if (ioctl(fd, SPT_IOCTL_PROTECT, &p))
				DIE("PROTECT");
		}
		add("single/protect", 1, (double)(now() - t) / calls);
		t = now();
		for (i = 0; i < calls; i++)
			space_info(id);
		add("single/info_1", 1, (double)(now() - t) / calls);
		t = now();
		for (i = 0; i < calls; i++)
			space_info(big);
		add("single/info_big", 1, (double)(now() - t) / calls);
		/*
		 * UNMAP of one page against munmap of one page: only the
		 * unmapping call is timed (until it returns); the map that
		 * precedes each is not. calls / 4: each pair maps anew.
		 */
		spent = 0;
		for (i = 0; i < calls / 4; i++) {
			spt_map(id, SPACE_VA + PAGE, PAGE, SPT_MAP_4K);
			t = now();
			spt_unmap(id, SPACE_VA + PAGE, PAGE);
			spent += now() - t;
		}
		add("single/unmap", 1, (double)spent / (calls / 4));
		spent = 0;
		for (i = 0; i < calls / 4; i++) {
			page = mmap(NULL, PAGE, PROT_READ | PROT_WRITE,
				    MAP_PRIVATE | MAP_ANONYMOUS | MAP_POPULATE,
				    -1, 0);
			if (page == MAP_FAILED)
				DIE("mmap");
			t = now();
			if (munmap(page, PAGE))
				DIE("munmap");
			spent += now() - t;
		}
		add("single/munmap", 1, (double)spent / (calls / 4));
	}
	space_destroy(big);
	space_destroy(id);
}

/* Scaling: threads map + unmap disjoint 2 MiB-aligned ranges. */
struct worker {
	pthread_t th;
	int cpu;
	uint32_t id;	/* 0: the mmap/munmap shape */
	uint64_t va, pages;
	int iters;
	pthread_barrier_t *bar;
};

static void *worker_fn(void *arg)
{
	struct worker *w = arg;
	int i;

	/* Unpinned if the CPU is offline (the figure then says less). */
	if (w->cpu)
		try_pin(w->cpu);
	pthread_barrier_wait(w->bar);
	for (i = 0; i < w->iters; i++) {
		if (w->id) {
			spt_map(w->id, w->va, w->pages * PAGE, SPT_MAP_4K);
			spt_unmap(w->id, w->va, w->pages * PAGE);
		} else {
			void *p = mmap(NULL, w->pages * PAGE,
				       PROT_READ | PROT_WRITE,
				       MAP_PRIVATE | MAP_ANONYMOUS |
				       MAP_POPULATE, -1, 0);

			if (p == MAP_FAILED)
				DIE("mmap");
			munmap(p, w->pages * PAGE);
		}
	}
	pthread_barrier_wait(w->bar);
	return NULL;
}

static void bench_scaling(void)
{
	uint64_t pages = quick ? 512 : 4096;
	int iters = quick ? 2 : 8, r, nt, k;

	for (k = 0; k < 2; k++) {
		const char *name = k ? "scale/mmap" : "scale/spt";

		for (r = 0; r < reps; r++) {
			for (nt = 1; nt <= 2; nt++) {
				uint32_t id = k ? 0 : space_create();
				pthread_barrier_t bar;
				struct worker w[2];
				char full[48];
				uint64_t t;
				int i;

				pthread_barrier_init(&bar, NULL, nt + 1);
				for (i = 0; i < nt; i++) {
					w[i] = (struct worker){
						.cpu = i, .id = id,
						.va = SPACE_VA + i * SZ_1G,
						.pages = pages, .iters = iters,
						.bar = &bar,
					};
					pthread_create(&w[i].th, NULL,
						       worker_fn, &w[i]);
				}
				pthread_barrier_wait(&bar);
				t = now();
				pthread_barrier_wait(&bar);
				t = now() - t;
				for (i = 0; i < nt; i++)
					pthread_join(w[i].th, NULL);
				pthread_barrier_destroy(&bar);
				if (id)
					space_destroy(id);
				/* Pages per second over all threads. */
				snprintf(full, sizeof(full), "%s_%dt", name,
					 nt);
				add(full, pages, (double)nt * iters * pages *
				    1e9 / t);
			}
		}
	}
}

static void bench_load(void)
{
	uint32_t id = space_create();
	struct spt_load_op op;
	struct spt_load l;
	char cmd[64];
	int r, bfd;
	uint64_t t;

	spt_map(id, SPACE_VA, PAGE, SPT_MAP_4K);
	for (r = 0; r < reps; r++) {
		memset(&op, 0, sizeof(op));
		op.op = SPT_LOAD_OP_READ;
		op.width = 8;
		op.va = SPACE_VA;
		memset(&l, 0, sizeof(l));
		l.size = sizeof(l);
		l.flags = SPT_LOAD_CPU;
		l.cpu = load_cpu;
		l.space_id = id;
		l.nr_ops = 1;
		l.op_size = sizeof(op);
		l.ops = (uintptr_t)&op;
		t = now();
		if (ioctl(fd, SPT_IOCTL_LOAD, &l)) {
			if (errno != ENODEV && errno != EXDEV)
				DIE("LOAD");
			printf("# load window on CPU %d: %s; skipped\n",
			       load_cpu, strerror(errno));
			space_destroy(id);
			return;
		}
		add("load/ioctl_wall", 1, now() - t);
		add("load/window_ns", 1, l.out_ns);
		if (op.out_status != SPT_LOAD_OK)
			DIE("LOAD: read status %u", op.out_status);
		if (!have_khook)
			continue;
		snprintf(cmd, sizeof(cmd), "cr3 %d 1", load_cpu);
		bfd = open(BENCH_PATH, O_WRONLY);
		if (bfd < 0)
			DIE("open %s", BENCH_PATH);
		t = now();
		if (write(bfd, cmd, strlen(cmd)) < 0)
			DIE("bench cr3");
		add("load/cr3_write_wall", 1, now() - t);
		close(bfd);
	}
	space_destroy(id);
	if (have_khook) {
		snprintf(cmd, sizeof(cmd), "cr3 %d %d", load_cpu, reps);
		khook(cmd, 1, "load/");
	}
}

/* ---- report ---- */

static FILE *js;
static int misses, passes;
static bool first_target = true;

/* ge: 1 for >=, 0 for <=, 2 for == */
static void target(const char *what, double ratio, double want, int ge)
{
	const char *cmp = ge == 2 ? "==" : ge ? ">=" : "<=";
	bool pass = ge == 2 ? ratio == want :
		    ge ? ratio >= want : ratio <= want;

	pass ? passes++ : misses++;
	printf("  %-56s %9.2f  (%s %.2f)  %s\n", what, ratio, cmp, want,
	       pass ? "PASS" : "MISS");
	fprintf(js, "%s\n    {\"target\": \"%s\", \"value\": %.4f, "
		"\"want\": \"%s%.2f\", \"pass\": %s}",
		first_target ? "" : ",", what, ratio, cmp, want,
		pass ? "true" : "false");
	first_target = false;
}

static void info(const char *what, double v)
{
	printf("  %-56s %9.2f  (no target)\n", what, v);
	fprintf(js, "%s\n    {\"info\": \"%s\", \"value\": %.4f}",
		first_target ? "" : ",", what, v);
	first_target = false;
}

/*
 * A query row at N: @peer's time / @ours, a target of >= 5 (entries/s)
 * where @at_target, else for information. @label has one %llu, for N.
 */
static void query_row(const char *label, uint64_t n, const char *peer,
		      const char *ours, bool at_target)
{
	double r = med(peer, n) / med(ours, n);
	char what[128];

	snprintf(what, sizeof(what), label, (unsigned long long)n);
	if (at_target)
		target(what, r, 5.0, true);
	else
		info(what, r);
}

static void report(const uint64_t *sizes, int nr_sizes, uint64_t dump_n)
{
	char what[128];
	bool at_target;
	int i;

	printf("\n%-28s %8s %14s %14s %14s %12s\n", "figure", "N",
	       "median", "min", "max", "per unit");
	fprintf(js, "  \"figures\": [");
	for (i = 0; i < nr_figs; i++) {
		struct fig *f = &figs[i];

		printf("%-28s %8llu %14.1f %14.1f %14.1f %12.2f\n", f->name,
		       (unsigned long long)f->n, f->med, f->min, f->max,
		       f->med / f->n);
		fprintf(js, "%s\n    {\"name\": \"%s\", \"n\": %llu, "
			"\"median\": %.2f, \"min\": %.2f, \"max\": %.2f, "
			"\"samples\": %d}", i ? "," : "", f->name,
			(unsigned long long)f->n, f->med, f->min, f->max,
			f->nr);
	}
	fprintf(js, "\n  ],\n  \"targets\": [");
	printf("\nratios (peer time / shadowpt time unless said; "
	       "PASS/MISS against the issue's targets)\n");
	for (i = 0; i < nr_sizes; i++) {
		uint64_t n = sizes[i];

		if (have_khook && n >= 4096) {
			snprintf(what, sizeof(what),
				 "kernel map N=%llu: vmap / cursor",
				 (unsigned long long)n);
			target(what, med("kmap/vmap", n) /
			       med("kmap/spt_map", n), 1.5, true);
			snprintf(what, sizeof(what),
				 "kernel unmap until reusable N=%llu: vunmap+purge / cursor+reclaim",
				 (unsigned long long)n);
			target(what, med("kmap/vunmap", n) /
			       med("kmap/spt_unmap_reuse", n), 1.5, true);
			snprintf(what, sizeof(what),
				 "kernel unmap N=%llu: vunmap+purge / cursor+rcu",
				 (unsigned long long)n);
			info(what, med("kmap/vunmap", n) /
			     med("kmap/spt_unmap_rcu", n));
			snprintf(what, sizeof(what),
				 "kernel unmap N=%llu: vunmap+purge / cursor",
				 (unsigned long long)n);
			info(what, med("kmap/vunmap", n) /
			     med("kmap/spt_unmap", n));
		}
		snprintf(what, sizeof(what), "user map N=%llu: mmap_populate / MAP",
			 (unsigned long long)n);
		info(what, med("map/mmap_populate", n) / med("map/spt", n));
		snprintf(what, sizeof(what), "user unmap N=%llu: munmap / UNMAP",
			 (unsigned long long)n);
		info(what, med("unmap/munmap", n) / med("unmap/spt", n));
		snprintf(what, sizeof(what),
			 "user protect N=%llu: mprotect / PROTECT",
			 (unsigned long long)n);
		info(what, med("protect/mprotect", n) / med("protect/spt", n));
		at_target = n == 262144 || (quick && i == nr_sizes - 1);
		query_row("query N=%llu: pagemap / QUERY_BATCH (entries/s)", n,
			  "query/pagemap", "query/spt", at_target);
		query_row("query N=%llu: QUERY_BATCH / tables walk (lib)", n,
			  "query/spt", "query/tables", at_target);
		snprintf(what, sizeof(what),
			 "query N=%llu: tables walk / PTEditor-style walk",
			 (unsigned long long)n);
		if (at_target)
			target(what, med("query/tables", n) /
			       med("query/pteditor_walk", n), 1.0, false);
		else
			info(what, med("query/tables", n) /
			     med("query/pteditor_walk", n));
		query_row("qrange N=%llu: pagemap / QUERY_RANGE compact (entries/s)",
			  n, "query/pagemap", "qrange/spt_compact", at_target);
		query_row("qrange N=%llu: pagemap / QUERY_RANGE runs", n,
			  "query/pagemap", "qrange/spt_runs", false);
		if (med("qrange/pagemap_scan", n) > 0) {
			query_row("qrange N=%llu: PAGEMAP_SCAN / QUERY_RANGE runs",
				  n, "qrange/pagemap_scan", "qrange/spt_runs",
				  false);
			query_row("qrange N=%llu: PAGEMAP_SCAN / QUERY_RANGE compact",
				  n, "qrange/pagemap_scan",
				  "qrange/spt_compact", false);
		}
		snprintf(what, sizeof(what),
			 "page-table pages N=%llu: used / ideal",
			 (unsigned long long)n);
		target(what, med("mem/spt_nodes", n) /
		       med("mem/ideal_nodes", n), 1.0, 2);
		snprintf(what, sizeof(what),
			 "page-table pages N=%llu: Linux PageTables / ours",
			 (unsigned long long)n);
		info(what, med("mem/linux_pagetables", n) /
		     med("mem/spt_nodes", n));
	}
	target("meta bytes per pool frame", med("mem/meta_bytes_per_frame",
						sizes[0]), 16, false);
	snprintf(what, sizeof(what),
		 "dump N=%llu: pagemap / netlink (entries/s)",
		 (unsigned long long)dump_n);
	info(what, med("dump/pagemap", dump_n) / med("dump/spt", dump_n));
	if (null_fd >= 0)
		target("null ioctl (VERSION) / floor ioctl (sptnull)",
		       med("single/null", 1) / med("single/floor", 1), 1.1,
		       false);
	target("single QUERY / null ioctl (time)",
	       med("single/query", 1) / med("single/null", 1), 1.2, false);
	target("PROTECT of one page / null ioctl (time)",
	       med("single/protect", 1) / med("single/null", 1), 1.5, false);
	snprintf(what, sizeof(what),
		 "SPACE_INFO %llu pages / 1 page (time)",
		 (unsigned long long)(quick ? 4096 : 262144));
	info(what, med("single/info_big", 1) / med("single/info_1", 1));
	{
		double r = med("single/info_big", 1) / med("single/info_1", 1);

		/* The same cost, within 10%: a ratio in [0.9, 1.1]. */
		target("SPACE_INFO big / 1 page, distance from 1 (time)",
		       r > 1 ? r - 1 : 1 - r, 0.1, false);
	}
	target("one UNMAP of one page / munmap of one page (time)",
	       med("single/unmap", 1) / med("single/munmap", 1), 2.0, false);
	target("2 threads / 1 thread, map+unmap pages/s",
	       med("scale/spt_2t", quick ? 512 : 4096) /
	       med("scale/spt_1t", quick ? 512 : 4096), 1.8, true);
	info("mmap+munmap: 2 threads / 1 thread pages/s",
	     med("scale/mmap_2t", quick ? 512 : 4096) /
	     med("scale/mmap_1t", quick ? 512 : 4096));
	if (have_khook && med("load/window_ns", 1) > 0) {
		info("load: window ns (one READ) / bare CR3 write+restore",
		     med("load/window_ns", 1) / med("load/cr3_bare", 1));
		info("load: LOAD ioctl wall / bare CR3 via debugfs write wall",
		     med("load/ioctl_wall", 1) / med("load/cr3_write_wall", 1));
	}
	fprintf(js, "\n  ],\n  \"passes\": %d,\n  \"misses\": %d\n}\n",
		passes, misses);
	printf("\n%d PASS, %d MISS%s\n", passes, misses,
	       have_khook ? "" : " (no BENCH=1 hook: kernel peers skipped)");
}

/*
 * --profile WHAT: only a loop of one operation, to run under perf record:
 * query (QUERY_BATCH of 4096 VAs), single (QUERY), kmap (the hook's map
 * suite at N=32768).
 */
static int profile(const char *what)
{
	uint64_t n = 4096, i;
	uint32_t id = space_create();
	uint64_t *vas = malloc(n * sizeof(*vas));
	struct spt_query_entry *ents = malloc(n * sizeof(*ents));
	struct spt_query_batch qb = {
		.size = sizeof(qb), .count = n, .space_id = id,
		.vas = (uintptr_t)vas, .entries = (uintptr_t)ents,
		.entry_size = sizeof(*ents),
	};
	struct spt_query_va q = { .size = sizeof(q), .space_id = id,
				  .va = SPACE_VA };
	int k;

	if (!vas || !ents)
		DIE("malloc");
	for (i = 0; i < n; i++)
		vas[i] = SPACE_VA + i * PAGE;
	spt_map(id, SPACE_VA, n * PAGE, SPT_MAP_4K);
	for (k = 0; k < 50; k++) {
		if (!strcmp(what, "query")) {
			if (ioctl(fd, SPT_IOCTL_QUERY_BATCH, &qb))
				DIE("QUERY_BATCH");
		} else if (!strcmp(what, "single")) {
			for (i = 0; i < 400; i++)
				if (ioctl(fd, SPT_IOCTL_QUERY, &q))
					DIE("QUERY");
		} else if (!strcmp(what, "kmap")) {
			if (k < 2)
				khook("map 32768 5", 32768, "kmap/");
		} else {
			fprintf(stderr, "sptbench: --profile query|single|kmap\n");
			return 2;
		}
	}
	space_destroy(id);
	return 0;
}

int main(int argc, char **argv)
{
	static const uint64_t full[] = { 512, 4096, 32768, 262144 };
	static const uint64_t small[] = { 512 };
	const uint64_t *sizes = full;
	int nr_sizes = 4, opt, i;
	const char *json = "/dev/null", *prof = NULL;
	char cmd[64];

	static const struct option lo[] = {
		{ "reps", required_argument, NULL, 'r' },
		{ "quick", no_argument, NULL, 'q' },
		{ "json", required_argument, NULL, 'j' },
		{ "cpu", required_argument, NULL, 'c' },
		{ "profile", required_argument, NULL, 'p' },
		{ NULL, 0, NULL, 0 },
	};

	while ((opt = getopt_long(argc, argv, "", lo, NULL)) != -1) {
		switch (opt) {
		case 'r':
			reps = atoi(optarg);
			if (reps < 5 || reps > MAX_REPS) {
				fprintf(stderr, "sptbench: --reps 5..%d\n",
					MAX_REPS);
				return 2;
			}
			break;
		case 'q':
			quick = true;
			break;
		case 'j':
			json = optarg;
			break;
		case 'c':
			load_cpu = atoi(optarg);
			break;
		case 'p':
			prof = optarg;
			break;
		default:
			fprintf(stderr, "usage: sptbench [--quick] [--reps N>=5] "
				"[--json FILE] [--cpu LOAD_CPU]\n"
				"       sptbench --profile query|single|kmap\n");
			return 2;
		}
	}
	if (quick) {
		sizes = small;
		nr_sizes = 1;
	}
	setvbuf(stdout, NULL, _IOLBF, 0);
	fd = open(SPT_DEVICE_PATH, O_RDWR);
	if (fd < 0)
		DIE("open %s", SPT_DEVICE_PATH);
	null_fd = open(SPTNULL_PATH, O_RDWR);
	if (null_fd < 0)
		printf("# %s absent (bench/nullpeer not loaded): no floor\n",
		       SPTNULL_PATH);
	pagemap_fd = open("/proc/self/pagemap", O_RDONLY);
	if (pagemap_fd < 0)
		DIE("open /proc/self/pagemap");
	pm_buf = malloc(sizes[nr_sizes - 1] * 8);
	js = fopen(json, "w");
	if (!pm_buf || !js)
		DIE("setup");
	/*
	 * The user peers map 4 KiB pages, like the module: no transparent
	 * huge pages for this process (else MAP_POPULATE of an aligned range
	 * installs 2 MiB leaves and mprotect/munmap touch 512x fewer PTEs).
	 */
	if (prctl(PR_SET_THP_DISABLE, 1, 0, 0, 0))
		DIE("PR_SET_THP_DISABLE");
	have_khook = access(BENCH_PATH, W_OK) == 0;
	nl_setup();
	pin(0);
	if (prof)
		return profile(prof);
	fprintf(js, "{\n  \"quick\": %s,\n  \"reps\": %d,\n  \"bench_hook\": %s,\n",
		quick ? "true" : "false", reps, have_khook ? "true" : "false");

	for (i = 0; i < nr_sizes; i++) {
		printf("# N=%llu pages\n", (unsigned long long)sizes[i]);
		bench_size(sizes[i], i == nr_sizes - 1);
		if (have_khook) {
			snprintf(cmd, sizeof(cmd), "map %llu %d",
				 (unsigned long long)sizes[i], reps);
			khook(cmd, sizes[i], "kmap/");
		}
	}
	printf("# single query, scaling, load window\n");
	bench_single();
	bench_scaling();
	bench_load();
	finish();
	report(sizes, nr_sizes, sizes[nr_sizes - 1]);
	fclose(js);
	return 0;
}
