// SPDX-License-Identifier: GPL-2.0
/*
 * libshadowpt's tests (root, shadowpt.ko loaded with allow_phys=1: inside
 * the test VM). Every exported function, each error the kernel returns
 * mapped to its negative errno and left in errno, the uAPI structs' sizes
 * as the library sends them, dumps complete (SPT_LIB_DUMP_RUNS runs,
 * default 1,000,000) and events in order. Prints TAP.
 */
#include <errno.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>
#include <sys/mman.h>

#include <libshadowpt.h>

#define MIB	(1ULL << 20)
#define KIB4	4096ULL

static int n_test, n_fail;

static void ok(int cond, const char *fmt, ...)
{
	va_list ap;

	n_test++;
	if (!cond)
		n_fail++;
	printf("%s %d - ", cond ? "ok" : "not ok", n_test);
	va_start(ap, fmt);
	vprintf(fmt, ap);
	va_end(ap);
	printf("\n");
	fflush(stdout);
}

/* ret must be -want and errno want. */
static void err_is(int ret, int want, const char *what)
{
	int e = errno;

	ok(ret == -want && e == want, "%s: -%s (got %d, errno %d)", what,
	   strerrorname_np(want), ret, e);
}

static void test_version(struct spt *h)
{
	struct spt_version v;
	int ret = spt_version(h, &v);

	ok(!ret && v.out_api_version == SPT_API_VERSION,
	   "spt_version: api %u", v.out_api_version);
	ok(v.size == sizeof(v), "spt_version sends size %zu", sizeof(v));
	ok(v.out_levels == 4 || v.out_levels == 5, "levels %u", v.out_levels);
	err_is(spt_version(h, NULL), EINVAL, "spt_version(NULL)");
	ok(spt_fd(h) >= 0, "spt_fd");
}

static void test_space(struct spt *h)
{
	struct spt_space_create c;
	struct spt_space_info in;
	int id, fid;
	struct spt *h2;

	id = spt_space_create(h, 0, &c);
	ok(id > 0 && (uint32_t)id == c.out_space_id && c.out_root_pa,
	   "spt_space_create: id %d", id);
	ok(c.size == sizeof(c), "space_create sends size %zu", sizeof(c));
	ok(!spt_space_info(h, id, &in) && in.out_levels == c.out_levels &&
	   in.out_root_pa == c.out_root_pa && in.size == sizeof(in),
	   "spt_space_info");
	err_is(spt_space_create(h, 0x80, NULL), EINVAL,
	       "space_create unknown flag");
	ok(!spt_space_destroy(h, id), "spt_space_destroy");
	err_is(spt_space_destroy(h, id), ENOENT, "destroy twice");
	err_is(spt_space_info(h, id, &in), ENOENT, "info of destroyed");
	/* fd-owned: gone with the handle. */
	ok(!spt_open(&h2), "spt_open second handle");
	fid = spt_space_create(h2, SPT_SPACE_FD_OWNED, NULL);
	ok(fid > 0, "fd-owned space %d", fid);
	spt_close(h2);
	err_is(spt_space_info(h, fid, &in), ENOENT,
	       "fd-owned space gone after spt_close");
	err_is(spt_open_path("/nonexistent/shadowpt", &h2), ENOENT,
	       "spt_open_path missing");
}

static void test_map(struct spt *h, int id)
{
	struct spt_query_entry e;
	uint64_t a, b, mapped;

	ok(!spt_map_4k(h, id, 0x100000, 16 * KIB4, SPT_PROT_WRITE),
	   "spt_map_4k");
	ok(!spt_map_2m(h, id, 0x40000000, 4 * MIB, SPT_PROT_WRITE),
	   "spt_map_2m");
	ok(!spt_map_largest(h, id, 0x80000000ULL - 8 * KIB4,
			    2 * MIB + 16 * KIB4, 0), "spt_map_largest");
	ok(!spt_query(h, id, 0x80000000ULL, &e) && e.level == 2,
	   "largest: 2 MiB leaf where aligned (level %u)", e.level);
	ok(!spt_query(h, id, 0x80000000ULL - KIB4, &e) && e.level == 1,
	   "largest: 4 KiB leaf before it");
	ok(!spt_map_phys(h, id, 0x10000000, 8 * KIB4, 0x100000, 0),
	   "spt_map_phys");
	ok(!spt_query(h, id, 0x10000000, &e) && e.phys == 0x100000 &&
	   !(e.flags & SPT_QUERY_TRACKED), "phys mapping untracked at phys");
	mapped = 1;
	err_is(spt_map(h, id, 0x100000, KIB4, SPT_MAP_4K, 0, 0, 0, &mapped),
	       EEXIST, "map over mapped");
	ok(mapped == 0, "out_mapped 0 on EEXIST");
	ok(!spt_map(h, id, 0x100000, KIB4, SPT_MAP_4K | SPT_MAP_REPLACE,
		    SPT_PROT_WRITE, SPT_CACHE_MODE_WC, 0, &mapped) &&
	   mapped == KIB4, "map REPLACE with WC");
	ok(!spt_query(h, id, 0x100000, &e) && e.cache == SPT_CACHE_MODE_WC,
	   "cache mode WC");
	err_is(spt_map_4k(h, id, 0x100001, KIB4, 0), EINVAL, "unaligned va");
	err_is(spt_map_4k(h, id, 0x200000, 0, 0), EINVAL, "zero length");
	err_is(spt_map_2m(h, id, 0x1000, 2 * MIB, 0), EINVAL,
	       "2m unaligned");
	err_is(spt_map_4k(h, id, 0x200000, KIB4, SPT_PROT_GLOBAL), EINVAL,
	       "global bit");
	err_is(spt_map(h, id, 0x200000, KIB4, SPT_MAP_4K, 0, 99, 0, NULL),
	       EINVAL, "unknown cache mode");
	err_is(spt_map_4k(h, 0x7fffffff, 0x200000, KIB4, 0), ENOENT,
	       "map in no space");
	err_is(spt_map(h, id, 0x200000, KIB4, SPT_MAP_4K | SPT_MAP_PHYS, 0,
		       0, 0, NULL), EINVAL, "phys with size flag");
	ok(!spt_protect(h, id, 0x40000000, 4 * MIB, 0,
			SPT_PROT_USER | SPT_PROT_WRITE, 0, &a, &b) && a == 2 &&
	   b == 4 * MIB,
	   "spt_protect: %llu leaves, %llu bytes", (unsigned long long)a,
	   (unsigned long long)b);
	ok(!spt_protect(h, id, 0x100000, KIB4, SPT_PROTECT_CACHE, 0,
			SPT_CACHE_MODE_UC, NULL, NULL), "protect with cache");
	err_is(spt_protect(h, id, 0x100000, KIB4, 0, 0, SPT_CACHE_MODE_UC,
			   NULL, NULL), EINVAL, "cache without the flag");
	ok(!spt_unmap(h, id, 0x100000, 16 * KIB4, &a, &b) && a == 16 &&
	   b == 16 * KIB4, "spt_unmap: %llu leaves", (unsigned long long)a);
	err_is(spt_unmap(h, id, 0x100000, 0, NULL, NULL), EINVAL,
	       "unmap zero length");
	ok(!spt_query(h, id, 0x100000, &e) && !(e.flags & SPT_QUERY_MAPPED),
	   "unmapped afterwards");
	err_is(spt_query(h, id, 0, NULL), EINVAL, "spt_query(NULL)");
}

static int range_count(const struct spt_query_entry *e, void *arg)
{
	int *n = arg;

	(void)e;
	return ++*n == 1000 ? -ECANCELED : 0;
}

/* spt_query_runs (LIBSHADOWPT_1.1): the 2 MiB leaves of test_query. */
static void test_query_runs(struct spt *h, int id)
{
	struct spt_query_run runs[4];
	uint64_t words[4], next = 0;
	size_t nr = 0, i, bad = 0;

	ok(!spt_query_runs(h, id, 0x40000000, 4 * MIB, 0, runs, 4, &nr,
			   &next) && nr >= 1 && nr <= 2 &&
	   next == 0x40000000 + 4 * MIB,
	   "spt_query_runs: %zu runs of the 2 leaves", nr);
	for (i = 0; i < nr; i++)
		if (runs[i].level != 2 || !(runs[i].flags & SPT_QUERY_TRACKED))
			bad++;
	ok(!bad && runs[0].start == 0x40000000 &&
	   runs[nr - 1].end == 0x40000000 + 4 * MIB, "the runs are the leaves");
	ok(!spt_query_runs(h, id, 0x40000000 - 2 * KIB4, 4 * KIB4,
			   SPT_QUERY_RANGE_COMPACT, words, 4, &nr, &next) &&
	   nr == 4 && !words[0] && !words[1] &&
	   SPT_QPAGE_LEVEL(words[2]) == 2 &&
	   SPT_QPAGE_PA(words[3]) == SPT_QPAGE_PA(words[2]) + KIB4,
	   "spt_query_runs compact: two holes, two pages of a 2 MiB leaf");
	ok(!spt_query_runs(h, id, 0x40000000, 4 * MIB,
			   SPT_QUERY_RANGE_COMPACT, words, 3, &nr, &next) &&
	   nr == 3 && next == 0x40000000 + 3 * KIB4,
	   "spt_query_runs: full, next says where to resume");
	err_is(spt_query_runs(h, id, 0x40000000, 4 * MIB, 0, runs, 0, &nr,
			      &next), EINVAL, "spt_query_runs: no room");
	err_is(spt_query_runs(h, id, 0x40000001, 4 * MIB, 0, runs, 4, &nr,
			      &next), EINVAL, "spt_query_runs: unaligned va");
}

/* spt_map_share (LIBSHADOWPT_1.2): an alias of test_query's first page. */
static void test_share(struct spt *h, int id)
{
	uint64_t a = 0, b = 0, mapped = 0, v = 0x5eed;
	struct spt_query_entry e;

	ok(!spt_map_share(h, id, 0xc0000000ULL, KIB4, id, 0x40000000,
			  SPT_PROT_WRITE, SPT_CACHE_MODE_WB, &mapped) &&
	   mapped == KIB4, "spt_map_share: an alias of one page");
	if (!spt_query(h, id, 0x40000000, &e))
		a = e.phys;
	if (!spt_query(h, id, 0xc0000000ULL, &e))
		b = e.phys;
	ok(a && a == b, "the alias maps the same frame");
	ok(!spt_write(h, id, 0xc0000000ULL + 8, &v, 8, NULL) &&
	   !spt_read(h, id, 0x40000000 + 8, &a, 8, NULL) && a == v,
	   "written through the alias, read through the original");
	err_is(spt_map_share(h, id, 0xc0001000ULL, KIB4, id, 0x10000,
			     SPT_PROT_WRITE, SPT_CACHE_MODE_WB, &mapped), ENXIO,
	       "spt_map_share of an unmapped source");
	ok(!spt_check(h, id, NULL, 0), "check with the alias");
	ok(!spt_unmap(h, id, 0xc0000000ULL, KIB4, NULL, NULL),
	   "alias unmapped");
}

/* spt_map_user (LIBSHADOWPT_1.2): a buffer of ours pinned, then freed. */
static void test_map_user(struct spt *h, int id)
{
	char *buf = mmap(NULL, 2 * KIB4, PROT_READ | PROT_WRITE,
			 MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
	uint64_t mapped = 0;
	char got[8] = "";

	if (buf == MAP_FAILED) {
		ok(0, "mmap: %s", strerror(errno));
		return;
	}
	memcpy(buf + KIB4, "pinned!", 8);
	ok(!spt_map_user(h, id, 0xd0000000ULL, 2 * KIB4, buf, SPT_PROT_WRITE,
			 SPT_CACHE_MODE_WB, &mapped) && mapped == 2 * KIB4,
	   "spt_map_user: two pages of ours");
	munmap(buf, 2 * KIB4);
	ok(!spt_read(h, id, 0xd0000000ULL + KIB4, got, 8, NULL) &&
	   !memcmp(got, "pinned!", 8), "read through the space after munmap");
	err_is(spt_map_user(h, id, 0xd0002000ULL, KIB4, buf, SPT_PROT_WRITE,
			    SPT_CACHE_MODE_WB, &mapped), EFAULT,
	       "spt_map_user of memory we no longer have");
	err_is(spt_map_user(h, id, 0xd0000000ULL, KIB4, got, 0,
			    SPT_CACHE_MODE_WB, &mapped), EINVAL,
	       "spt_map_user of an unaligned address");
	ok(!spt_check(h, id, NULL, 0), "check with pinned leaves");
	ok(!spt_unmap(h, id, 0xd0000000ULL, 2 * KIB4, NULL, NULL),
	   "pinned leaves unmapped");
}

/* spt_mmap (LIBSHADOWPT_1.3): the space's memory in this process. */
static void test_mmap(struct spt *h, int id)
{
	const uint64_t va = 0xd0100000ULL;
	char got[8] = "";
	void *p = NULL;

	ok(!spt_map_4k(h, id, va, 2 * KIB4, SPT_PROT_WRITE) &&
	   !spt_write(h, id, va + KIB4, "mapped!", 8, NULL),
	   "two pages to mmap");
	ok(!spt_mmap(h, id, va, 2 * KIB4, PROT_READ | PROT_WRITE, &p) && p,
	   "spt_mmap: two pages");
	if (!p)
		return;
	ok(!memcmp((char *)p + KIB4, "mapped!", 8), "read through the mapping");
	memcpy(p, "written", 8);
	ok(!spt_read(h, id, va, got, 8, NULL) && !memcmp(got, "written", 8),
	   "a write through the mapping read through the space");
	ok(!spt_check(h, id, NULL, 0), "check with a process mapping");
	ok(!spt_unmap(h, id, va, 2 * KIB4, NULL, NULL),
	   "the space unmaps the pages");
	ok(!memcmp(p, "written", 8), "the mapping still reads them");
	ok(!spt_munmap(p, 2 * KIB4), "spt_munmap");
	err_is(spt_mmap(h, id, va, KIB4, PROT_READ, &p), ENXIO,
	       "spt_mmap of an unmapped page");
	err_is(spt_mmap(h, id, va, KIB4, PROT_EXEC, &p), EINVAL,
	       "spt_mmap with PROT_EXEC");
}

static void test_query(struct spt *h, int id)
{
	enum { N = 5000 };
	uint64_t *vas = calloc(N, sizeof(*vas));
	struct spt_query_entry *out = calloc(N, sizeof(*out));
	size_t done = 0, i, bad = 0;
	int n = 0;

	for (i = 0; i < N; i++)
		vas[i] = 0x40000000 + i * KIB4 % (4 * MIB);
	ok(!spt_query_batch(h, id, vas, N, out, &done) && done == N,
	   "spt_query_batch %zu entries", done);
	for (i = 0; i < N; i++)
		if (out[i].level != 2 || !(out[i].flags & SPT_QUERY_MAPPED))
			bad++;
	ok(!bad, "batch entries all 2 MiB leaves (%zu bad)", bad);
	vas[10] = 1ULL << 62;
	err_is(spt_query_batch(h, id, vas, N, out, &done), EINVAL,
	       "batch with a VA outside the user half");
	err_is(spt_query_batch(h, id, vas, 0, out, &done), EINVAL,
	       "batch of 0");
	ok(!spt_query_range(h, id, 0x40000000, 4 * MIB, range_count, &n) &&
	   n == 2, "spt_query_range: 2 leaves (%d)", n);
	n = 0;
	err_is(spt_query_range(h, id, 0, 1ULL << 40, range_count, &n),
	       ECANCELED, "query_range stopped by its callback");
	free(vas);
	free(out);
	test_query_runs(h, id);
}

static void test_rw(struct spt *h, int id)
{
	size_t len = 3 * MIB + 123, done = 0, i;
	unsigned char *w = malloc(len), *r = malloc(len);
	char buf[8];

	for (i = 0; i < len; i++)
		w[i] = (unsigned char)(i * 7 + 3);
	ok(!spt_write(h, id, 0x40000000 + 5, w, len, &done) && done == len,
	   "spt_write %zu bytes", done);
	memset(r, 0, len);
	ok(!spt_read(h, id, 0x40000000 + 5, r, len, &done) && done == len &&
	   !memcmp(r, w, len), "spt_read back");
	err_is(spt_read(h, id, 0x40000000 + 4 * MIB - 4, buf, 8, &done),
	       ENXIO, "read past the mapping");
	ok(done == 4, "out_done 4 before ENXIO (%zu)", done);
	err_is(spt_read(h, id, 0x10000000, buf, 8, &done), EACCES,
	       "read of untracked");
	err_is(spt_read(h, id, 0x40000000, buf, 0, NULL), EINVAL,
	       "read of 0 bytes");
	free(w);
	free(r);
}

static void test_stats_check(struct spt *h, int id)
{
	struct spt_stats st = { 0 };
	char msg[256] = "x";

	/* spt_stats() asks for the first release's struct (libshadowpt.h). */
	ok(!spt_stats(h, 0, &st) && st.nr_spaces >= 1 &&
	   st.size == offsetof(struct spt_stats, space_data_frames) +
		      sizeof(st.space_data_frames),
	   "spt_stats pool: %llu spaces",
	   (unsigned long long)st.nr_spaces);
	ok(!spt_stats(h, id, &st) && st.space_id == (uint32_t)id,
	   "spt_stats space: leaves %llu/%llu/%llu",
	   (unsigned long long)st.space_leaves[0],
	   (unsigned long long)st.space_leaves[1],
	   (unsigned long long)st.space_leaves[2]);
	err_is(spt_stats(h, 0x7fffffff, &st), ENOENT, "stats of no space");
	ok(!spt_check(h, id, msg, sizeof(msg)) && !msg[0],
	   "spt_check: consistent, empty message");
	ok(!spt_check(h, id, NULL, 0), "spt_check without a buffer");
	err_is(spt_check(h, 0x7fffffff, NULL, 0), ENOENT,
	       "check of no space");
}

static void test_load(struct spt *h, int id)
{
	struct spt_load_prog *p = spt_load_prog_new();
	const struct spt_load_op *op;
	struct spt_load l;
	int i, ret;

	ok(p && spt_load_prog_len(p) == 0, "spt_load_prog_new");
	ok(spt_load_prog_write(p, 0x40000000, 8, 0x1122334455667788ULL) == 0,
	   "prog_write index 0");
	ok(spt_load_prog_read(p, 0x40000000, 8) == 1, "prog_read index 1");
	spt_load_prog_read(p, 0x60000000, 4);		/* not present */
	spt_load_prog_protect(p, 0x40000000, 2 * MIB, 0);
	spt_load_prog_write(p, 0x40000000, 1, 1);	/* read-only */
	spt_load_prog_map(p, 0x70000000, KIB4, SPT_PROT_EXEC);
	spt_load_prog_fetch(p, 0x70000000);
	spt_load_prog_unmap(p, 0x70000000, KIB4);
	ok(spt_load_prog_len(p) == 8, "8 ops");
	ret = spt_load_run(h, id, p, 0, 0, &l);
	ok(!ret && l.out_status == SPT_LOAD_DONE && l.out_ops_run == 8,
	   "spt_load_run: status %u, %u ops (ret %d)", l.out_status,
	   l.out_ops_run, ret);
	ok(l.size == offsetof(struct spt_load, out_ns) + 8,
	   "spt_load_run fills the first release (%u bytes)", l.size);
	op = spt_load_prog_op(p, 1);
	ok(op && op->out_status == SPT_LOAD_OK &&
	   op->out_value == 0x1122334455667788ULL, "READ got the WRITE");
	op = spt_load_prog_op(p, 2);
	ok(op->out_status == SPT_LOAD_FAULT &&
	   (op->out_fault & SPT_FAULT_NOT_PRESENT),
	   "unmapped read faults: not present at level %u", op->out_level);
	op = spt_load_prog_op(p, 4);
	ok(op->out_status == SPT_LOAD_FAULT &&
	   (op->out_fault & SPT_FAULT_READ_ONLY), "write to read-only faults");
	op = spt_load_prog_op(p, 6);
	ok(op->out_status == SPT_LOAD_OK, "fetch of a mapped stub runs (%u)",
	   op->out_status);
	ok(l.out_faults == 2, "2 faults counted (%u)", l.out_faults);
	ok(!spt_load_prog_op(p, 8), "prog_op out of range is NULL");
	err_is(spt_load_run(h, id, p, SPT_LOAD_CPU, 4096, NULL), ENODEV,
	       "load on a CPU that does not exist");
	err_is(spt_load_run(h, id, p, 0, 1, NULL), EINVAL,
	       "cpu without SPT_LOAD_CPU");
	spt_load_prog_free(p);
	p = spt_load_prog_new();
	for (i = 0; i < SPT_LOAD_MAX_OPS; i++)
		spt_load_prog_read(p, 0x40000000, 8);
	err_is(spt_load_prog_read(p, 0x40000000, 8), E2BIG,
	       "op past SPT_LOAD_MAX_OPS");
	spt_load_prog_free(p);
	/* Restore write access for later tests. */
	spt_protect(h, id, 0x40000000, 4 * MIB, 0, SPT_PROT_WRITE, 0, NULL,
		    NULL);
}

/*
 * TIMED and the window's TSC and CPU words (LIBSHADOWPT_1.2), and a
 * caller of the first release: 64-byte ops through spt_load().
 */
static void test_load_timed(struct spt *h, int id)
{
	struct spt_load_prog *p = spt_load_prog_new();
	const struct spt_load_op *op;
	struct spt_load_op op3;
	struct spt_load l;
	/* Two 64-byte first-release ops, and a word that must stay. */
	uint64_t old_ops[17];
	struct spt_load_op *o0 = (struct spt_load_op *)old_ops;
	struct spt_load_op *o1 = (struct spt_load_op *)(old_ops + 8);
	int i;

	i = spt_load_prog_read(p, 0x40000000, 8);
	spt_load_prog_set_flags(p, i, SPT_LOAD_OP_F_TIMED);
	i = spt_load_prog_read(p, 0x40000000, 8);
	spt_load_prog_set_flags(p, i, SPT_LOAD_OP_F_TIMED);
	memset(&l, 0, sizeof(l));
	ok(!spt_load_run2(h, id, p, 0, 0, &l) &&
	   l.size == offsetof(struct spt_load, pat),
	   "spt_load_run2 fills the struct of LIBSHADOWPT_1.2 (%u bytes)",
	   l.size);
	op = spt_load_prog_op(p, 0);
	ok(op->out_status == SPT_LOAD_OK && op->out_cycles &&
	   spt_load_prog_op(p, 1)->out_cycles,
	   "TIMED reads: %llu then %llu cycles",
	   (unsigned long long)op->out_cycles,
	   (unsigned long long)spt_load_prog_op(p, 1)->out_cycles);
	ok(l.out_tsc_khz > 0 && (l.out_cpu_features & SPT_LOAD_CPU_RDTSCP),
	   "tsc %u kHz, cpu features 0x%x", l.out_tsc_khz,
	   l.out_cpu_features);
	/* spt_load3: the whole struct; a window PAT is checked (EINVAL). */
	memset(&l, 0, sizeof(l));
	memset(&op3, 0, sizeof(op3));
	op3.op = SPT_LOAD_OP_READ;
	op3.width = 8;
	op3.va = 0x40000000;
	ok(!spt_load3(h, id, 0, 0, 0, &op3, 1, &l) && l.size == sizeof(l) &&
	   op3.out_status == SPT_LOAD_OK,
	   "spt_load3 fills the whole struct (%u bytes)", l.size);
	ok(spt_load3(h, id, SPT_LOAD_PAT, 0, 0x0207050600070106ULL, &op3, 1,
		     &l) == -EINVAL,
	   "spt_load3 with a reserved PAT type: -EINVAL");
	spt_load_prog_free(p);

	/* Two ops of the first release, 64 bytes apart. */
	memset(old_ops, 0, sizeof(old_ops));
	old_ops[16] = 0xdead;
	o0->op = SPT_LOAD_OP_WRITE;
	o0->width = 8;
	o0->va = 0x40000000;
	o0->value = 77;
	o1->op = SPT_LOAD_OP_READ;
	o1->width = 8;
	o1->va = 0x40000000;
	ok(!spt_load(h, id, 0, 0, o0, 2, NULL) && old_ops[15] == 77 &&
	   old_ops[16] == 0xdead,
	   "spt_load: 64-byte ops of the first release (read %llu)",
	   (unsigned long long)old_ops[15]);
}

/* INVLPG, FLUSH and NOFLUSH (LIBSHADOWPT_1.2). 0x40000000 is writable. */
static void test_load_tlb(struct spt *h, int id)
{
	struct spt_load_prog *p = spt_load_prog_new();
	const struct spt_load_op *op;
	int i;

	spt_load_prog_write(p, 0x40000000, 8, 1);
	i = spt_load_prog_protect(p, 0x40000000, KIB4, 0);
	ok(!spt_load_prog_set_flags(p, i, SPT_LOAD_OP_F_NOFLUSH),
	   "prog_set_flags NOFLUSH");
	err_is(spt_load_prog_set_flags(p, 99, 0), EINVAL,
	       "prog_set_flags out of range");
	err_is(spt_load_prog_set_flags(NULL, 0, 0), EINVAL,
	       "prog_set_flags without a program");
	spt_load_prog_write(p, 0x40000000, 8, 2);
	ok(spt_load_prog_invlpg(p, 0x40000000) == 3, "prog_invlpg index 3");
	spt_load_prog_write(p, 0x40000000, 8, 3);
	ok(spt_load_prog_flush(p, SPT_LOAD_FLUSH_CR3) == 5,
	   "prog_flush index 5");
	ok(!spt_load_run(h, id, p, 0, 0, NULL), "run the TLB program");
	op = spt_load_prog_op(p, 2);
	ok(op->out_status == SPT_LOAD_OK ?
	   op->out_fault == (SPT_FAULT_READ_ONLY | SPT_FAULT_STALE) :
	   op->out_status == SPT_LOAD_FAULT &&
	   op->out_fault == SPT_FAULT_READ_ONLY,
	   "write before INVLPG: stale or faulted (%u)", op->out_status);
	op = spt_load_prog_op(p, 4);
	ok(op->out_status == SPT_LOAD_FAULT &&
	   op->out_fault == SPT_FAULT_READ_ONLY, "write after INVLPG faults");
	op = spt_load_prog_op(p, 5);
	ok(op->out_status == SPT_LOAD_OK &&
	   op->out_value == SPT_LOAD_FLUSH_CR3, "FLUSH by CR3");
	spt_load_prog_set_flags(p, 0, SPT_LOAD_OP_F_NOFLUSH);
	err_is(spt_load_run(h, id, p, 0, 0, NULL), EINVAL,
	       "NOFLUSH on a WRITE");
	spt_load_prog_free(p);
	p = spt_load_prog_new();
	spt_protect(h, id, 0x40000000, 4 * MIB, 0, SPT_PROT_WRITE, 0, NULL,
		    NULL);
	spt_load_prog_ad_clear(p, 0x40000000);
	spt_load_prog_write(p, 0x40000000, 8, 4);
	ok(spt_load_prog_ad_read(p, 0x40000000) == 2, "prog_ad_read index 2");
	ok(!spt_load_run(h, id, p, 0, 0, NULL) &&
	   spt_load_prog_op(p, 2)->out_value ==
	   (SPT_PROT_ACCESSED | SPT_PROT_DIRTY),
	   "AD_CLEAR, write, AD_READ: A and D (0x%llx)",
	   (unsigned long long)spt_load_prog_op(p, 2)->out_value);
	spt_load_prog_free(p);
	test_load_timed(h, id);
	spt_protect(h, id, 0x40000000, 4 * MIB, 0, SPT_PROT_WRITE, 0, NULL,
		    NULL);
}

struct dump_ctx {
	uint64_t runs, last_end, bad;
	uint32_t want_id;
	int found;
};

static int count_run(const struct spt_run *r, void *arg)
{
	struct dump_ctx *d = arg;

	if (r->va < d->last_end || !(r->has & SPT_HAS_PHYS))
		d->bad++;
	d->last_end = r->end;
	d->runs++;
	return 0;
}

static int find_space(const struct spt_space_desc *s, void *arg)
{
	struct dump_ctx *d = arg;

	d->runs++;
	if (s->id == d->want_id && (s->has & SPT_HAS_ROOT_PA))
		d->found = 1;
	return 0;
}

static int stop_early(const struct spt_run *r, void *arg)
{
	(void)r;
	(void)arg;
	return -EINTR;
}

static void test_dumps(struct spt *h, struct spt_nl *nl)
{
	const char *env = getenv("SPT_LIB_DUMP_RUNS");
	uint64_t want = env ? strtoull(env, NULL, 0) : 1000000, i;
	struct dump_ctx d = { 0 };
	struct timespec t0, t1;
	int id = spt_space_create(h, 0, NULL);
	int ret = 0;

	d.want_id = id;
	ok(!spt_dump_spaces(nl, find_space, &d) && d.found,
	   "spt_dump_spaces lists space %d with its root", id);
	/*
	 * want untracked 4 KiB leaves whose physical addresses alternate
	 * (0, 8K, 0, ...): no two merge, so the dump has exactly want runs.
	 */
	clock_gettime(CLOCK_MONOTONIC, &t0);
	for (i = 0; i < want && !ret; i++)
		ret = spt_map_phys(h, id, 0x100000000ULL + i * KIB4, KIB4,
				   (i & 1) * 2 * KIB4, 0);
	ok(!ret, "%llu untracked 4 KiB mappings", (unsigned long long)want);
	memset(&d, 0, sizeof(d));
	ret = spt_dump_mappings(nl, id, 0, 0, count_run, &d);
	clock_gettime(CLOCK_MONOTONIC, &t1);
	ok(!ret && d.runs == want && !d.bad,
	   "spt_dump_mappings: %llu runs of %llu, in order (%.1f s)",
	   (unsigned long long)d.runs, (unsigned long long)want,
	   (double)(t1.tv_sec - t0.tv_sec) +
	   (t1.tv_nsec - t0.tv_nsec) / 1e9);
	memset(&d, 0, sizeof(d));
	ok(!spt_dump_mappings(nl, id, 0x100000000ULL,
			      0x100000000ULL + 10 * KIB4, count_run, &d) &&
	   d.runs == 10, "bounded dump: 10 runs (%llu)",
	   (unsigned long long)d.runs);
	err_is(spt_dump_mappings(nl, id, 0, 0, stop_early, NULL), EINTR,
	       "dump stopped by its callback");
	spt_space_destroy(h, id);
	err_is(spt_dump_mappings(nl, id, 0, 0, count_run, &d), ENOENT,
	       "dump of a destroyed space");
	err_is(spt_dump_spaces(nl, NULL, NULL), EINVAL, "dump without fn");
}

struct ev_ctx {
	uint32_t types[16];
	uint32_t space[16];
	int n;
};

static int on_event(const struct spt_event *e, void *arg)
{
	struct ev_ctx *c = arg;

	if (c->n < 16) {
		c->types[c->n] = e->type;
		c->space[c->n] = e->space_id;
	}
	c->n++;
	return 0;
}

static void test_events(struct spt *h)
{
	static const uint32_t want[] = {
		SPT_EVENT_SPACE_CREATED, SPT_EVENT_MAP, SPT_EVENT_PROTECT,
		SPT_EVENT_LOAD, SPT_EVENT_UNMAP, SPT_EVENT_SPACE_DESTROYED,
	};
	struct spt_load_prog *p = spt_load_prog_new();
	struct ev_ctx c = { 0 };
	struct spt_nl *nl;
	int id, i, ret, same = 1, mine = 1;

	ok(!spt_nl_open(&nl) && !spt_nl_subscribe(nl), "spt_nl_subscribe");
	ok(spt_nl_fd(nl) >= 0, "spt_nl_fd");
	err_is(spt_nl_events(nl, on_event, &c), EAGAIN,
	       "spt_nl_events with nothing waiting");
	id = spt_space_create(h, 0, NULL);
	spt_map_4k(h, id, 0, KIB4, SPT_PROT_WRITE);
	spt_protect(h, id, 0, KIB4, 0, 0, 0, NULL, NULL);
	spt_load_prog_read(p, 0, 8);
	spt_load_run(h, id, p, 0, 0, NULL);
	spt_unmap(h, id, 0, KIB4, NULL, NULL);
	spt_space_destroy(h, id);
	while (c.n < 6 && spt_nl_wait(nl, 5000) == 1) {
		ret = spt_nl_events(nl, on_event, &c);
		if (ret && ret != -EAGAIN)
			break;
	}
	for (i = 0; i < 6; i++) {
		if (c.types[i] != want[i])
			same = 0;
		if (c.space[i] != (uint32_t)id)
			mine = 0;
	}
	ok(c.n == 6 && same && mine, "6 events in order for space %d (%d)",
	   id, c.n);
	ok(!strcmp(spt_event_name(SPT_EVENT_LOAD), "load") &&
	   !spt_event_name(99), "spt_event_name");
	ok(spt_nl_wait(nl, 10) == 0, "spt_nl_wait times out");
	spt_nl_close(nl);
	spt_load_prog_free(p);
}

static int set_allow_runs(const char *v)
{
	FILE *f = fopen("/sys/module/shadowpt/parameters/allow_runs", "w");
	int ret;

	if (!f)
		return -1;
	ret = fputs(v, f) < 0 ? -1 : 0;
	return fclose(f) ? -1 : ret;
}

static void test_user_run(struct spt *h, int id)
{
	/* mov $42,%rax; syscall */
	static const uint8_t code[] = {
		0x48, 0xc7, 0xc0, 0x2a, 0, 0, 0, 0x0f, 0x05,
	};
	const uint64_t cva = 0x50000000, sva = 0x50010000;
	struct spt_user_run r = { .space_id = id, .rip = cva };
	int ret;

	r.regs[SPT_REG_RSP] = sva + KIB4;
	ok(!spt_map(h, id, cva, KIB4, SPT_MAP_4K,
		    SPT_PROT_USER | SPT_PROT_EXEC, 0, 0, NULL) &&
	   !spt_map(h, id, sva, KIB4, SPT_MAP_4K,
		    SPT_PROT_USER | SPT_PROT_WRITE, 0, 0, NULL) &&
	   !spt_write(h, id, cva, code, sizeof(code), NULL),
	   "user run: code and stack mapped");
	if (set_allow_runs("0") == 0)
		err_is(spt_user_run(h, &r), EPERM,
		       "spt_user_run: allow_runs=0");
	if (set_allow_runs("1")) {
		ok(1, "# SKIP cannot set allow_runs");
		return;
	}
	ret = spt_user_run(h, &r);
	ok(!ret && r.out_reason == SPT_RUN_EXIT_SYSCALL &&
	   r.out_regs[SPT_REG_RAX] == 42 && r.out_rip == cva + sizeof(code),
	   "spt_user_run: syscall exit, rax %llu (ret %d)",
	   (unsigned long long)r.out_regs[SPT_REG_RAX], ret);
	ok(r.size == sizeof(r), "user run sends size %zu", sizeof(r));
	r.rip = sva;
	err_is(spt_user_run(h, &r), EFAULT,
	       "user run of a non-executable page");
	err_is(spt_user_run(h, NULL), EINVAL, "spt_user_run(NULL)");
	set_allow_runs("0");
}

/* SPT_IOCTL_ENTRY_BITS: W cleared at level 2, read back, QUERY, undone. */
static void test_entry_bits(struct spt *h, int id)
{
	struct spt_entry_bits r = {
		.space_id = id, .level = 2, .va = 0x7000000000ULL,
		.length = KIB4, .clear = SPT_BITS_W,
	};
	struct spt_query_entry q;
	int ret;

	ok(!spt_map_4k(h, id, r.va, KIB4, SPT_PROT_WRITE),
	   "map for entry bits");
	ret = spt_entry_bits(h, &r);
	ok(!ret && r.out_entries == 1 &&
	   r.out_changed == 1 && !(r.out_bits & SPT_BITS_W),
	   "spt_entry_bits: W cleared at level 2 (%llu entries, bits %llx)",
	   (unsigned long long)r.out_entries,
	   (unsigned long long)r.out_bits);
	ok(!spt_query(h, id, r.va, &q) && !(q.prot & SPT_PROT_WRITE),
	   "query: the effective permission is read-only (prot %u)", q.prot);
	ok(!spt_check(h, id, NULL, 0), "check accepts the deliberate bit");
	r.set = SPT_BITS_W;
	r.clear = 0;
	ok(!spt_entry_bits(h, &r) && r.out_changed == 1 &&
	   (r.out_bits & SPT_BITS_W), "spt_entry_bits: W set again");
	r.level = 9;
	err_is(spt_entry_bits(h, &r), EINVAL, "entry bits at level 9");
	err_is(spt_entry_bits(h, NULL), EINVAL, "spt_entry_bits(NULL)");
	spt_unmap(h, id, 0x7000000000ULL, KIB4, NULL, NULL);
}

/*
 * spt_tables_*: the walk through the mapping gives what the ioctl gives,
 * and spt_query/spt_query_batch use it once it is open.
 */
static void test_tables(struct spt *h)
{
	enum { N = 3000 };
	uint64_t *vas = calloc(N, sizeof(*vas));
	struct spt_query_entry *a = calloc(N, sizeof(*a));
	struct spt_query_entry *b = calloc(N, sizeof(*b));
	struct spt_tables_map *t = NULL;
	struct spt *h2;
	size_t i, bad = 0, done = 0;
	int id = spt_space_create(h, 0, NULL);

	ok(id > 0, "space for the tables (%d)", id);
	ok(!spt_open(&h2), "second handle (ioctl only)");
	ok(!spt_map(h, id, 0x40000000, 2 * MIB, SPT_MAP_2M, SPT_PROT_WRITE,
		    SPT_CACHE_MODE_WB, 0, NULL) &&
	   !spt_map(h, id, 0x40200000, 64 * KIB4, SPT_MAP_4K,
		    SPT_PROT_EXEC | SPT_PROT_USER, SPT_CACHE_MODE_WT, 0,
		    NULL) &&
	   !spt_map(h, id, 0x7f0000000000ULL, KIB4, SPT_MAP_4K, 0,
		    SPT_CACHE_MODE_UC, 0, NULL), "maps for the tables");
	err_is(spt_tables_open(h, 0, &t), ENOENT, "spt_tables_open(0)");
	err_is(spt_tables_open(NULL, id, &t), EINVAL,
	       "spt_tables_open(NULL)");
	ok(!spt_tables_open(h, id, &t) && t, "spt_tables_open");
	for (i = 0; i < N; i++)
		vas[i] = 0x40000000 + (i * 0x1357 % (4 * MIB));
	vas[0] = 0x7f0000000000ULL + 5;
	vas[1] = 0;
	vas[2] = (1ULL << 46) + 7;
	ok(!spt_tables_walk(t, vas, N, a), "spt_tables_walk %d VAs", N);
	ok(!spt_query_batch(h2, id, vas, N, b, &done) && done == N,
	   "the same by SPT_IOCTL_QUERY_BATCH");
	for (i = 0; i < N; i++)
		if (memcmp(&a[i], &b[i], sizeof(a[i])))
			bad++;
	ok(!bad, "walk == ioctl for every VA (%zu differ)", bad);
	ok(a[0].cache == SPT_CACHE_MODE_UC && a[0].level == 1 &&
	   (a[0].flags & SPT_QUERY_MAPPED), "UC 4 KiB leaf decoded");
	/* Permissions above the leaves: the walk combines them as QUERY. */
	{
		struct spt_entry_bits r2 = {
			.space_id = id, .level = 2, .va = 0x40200000,
			.length = KIB4, .clear = SPT_BITS_U,
			.set = SPT_BITS_NX,
		};
		struct spt_entry_bits r3 = {
			.space_id = id, .level = 3, .va = 0x40000000,
			.length = KIB4, .clear = SPT_BITS_W,
		};

		ok(!spt_entry_bits(h, &r2) && !spt_entry_bits(h, &r3) &&
		   r2.out_changed == 1 && r3.out_changed == 1,
		   "entry bits at levels 2 and 3 under the mapping");
		ok(!spt_tables_walk(t, vas, N, a) &&
		   !spt_query_batch(h2, id, vas, N, b, &done) && done == N,
		   "walk and QUERY_BATCH after the entry bits");
		for (bad = 0, i = 0; i < N; i++)
			if (memcmp(&a[i], &b[i], sizeof(a[i])))
				bad++;
		ok(!bad, "walk == ioctl with per-level bits (%zu differ)",
		   bad);
		for (bad = 0, i = 3; i < N; i++)
			if ((a[i].flags & SPT_QUERY_MAPPED) &&
			    ((a[i].prot & SPT_PROT_WRITE) ||
			     (a[i].va_start >= 0x40200000 &&
			      (a[i].prot & (SPT_PROT_USER | SPT_PROT_EXEC)))))
				bad++;
		ok(!bad, "W, U and NX combined down the walk (%zu wrong)",
		   bad);
	}
	memset(a, 0, N * sizeof(*a));
	ok(!spt_query_batch(h, id, vas, N, a, &done) && done == N &&
	   !memcmp(a, b, N * sizeof(*a)),
	   "spt_query_batch through the mapping");
	ok(!spt_query(h, id, vas[3], &a[3]) &&
	   !memcmp(&a[3], &b[3], sizeof(a[3])),
	   "spt_query through the mapping");
	vas[5] = 1ULL << 62;
	err_is(spt_tables_walk(t, vas, N, a), EINVAL,
	       "walk of a VA outside the user half");
	err_is(spt_query_batch(h, id, vas, N, a, &done), EINVAL,
	       "batch falls back to the ioctl (EINVAL)");
	err_is(spt_tables_walk(t, vas, 0, a), EINVAL, "walk of 0 VAs");
	ok(!spt_space_destroy(h, id), "destroy the space");
	err_is(spt_tables_walk(t, vas + 6, 1, a), ENOENT,
	       "walk after destroy");
	err_is(spt_query(h, id, vas[6], &a[6]), ENOENT,
	       "spt_query after destroy");
	spt_tables_close(t);
	spt_tables_close(NULL);
	/* One left open: spt_close() closes it. */
	id = spt_space_create(h2, 0, NULL);
	ok(!spt_tables_open(h2, id, &t), "spt_tables_open, left open");
	spt_space_destroy(h2, id);
	spt_close(h2);
	free(vas);
	free(a);
	free(b);
}

int main(void)
{
	struct spt_nl *nl;
	struct spt *h;
	int id;

	printf("TAP version 13\n");
	if (spt_open(&h)) {
		printf("1..0 # SKIP open %s: %m\n", SPT_DEVICE_PATH);
		return 4;
	}
	test_version(h);
	test_space(h);
	id = spt_space_create(h, 0, NULL);
	test_map(h, id);
	test_query(h, id);
	test_share(h, id);
	test_map_user(h, id);
	test_mmap(h, id);
	test_rw(h, id);
	test_stats_check(h, id);
	test_load(h, id);
	test_load_tlb(h, id);
	test_user_run(h, id);
	test_entry_bits(h, id);
	spt_space_destroy(h, id);
	test_tables(h);
	ok(!spt_nl_open(&nl), "spt_nl_open");
	test_dumps(h, nl);
	spt_nl_close(nl);
	test_events(h);
	spt_close(h);
	spt_close(NULL);
	spt_nl_close(NULL);
	spt_load_prog_free(NULL);
	printf("1..%d\n", n_test);
	return n_fail ? 1 : 0;
}
