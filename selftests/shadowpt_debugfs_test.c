// SPDX-License-Identifier: GPL-2.0
/*
 * The debugfs files of shadowpt: <debugfs>/shadowpt/stats (counters move as
 * the test maps and unmaps, and agree with SPT_IOCTL_STATS) and
 * <debugfs>/shadowpt/spaces/<id>/mappings (the merged runs match what was
 * mapped, line by line; reading while the space is destroyed is safe).
 */
#include <dirent.h>

#include "shadowpt_utils.h"

#define SPT_DEBUGFS		"/sys/kernel/debug/shadowpt"
#define SPT_STATS		SPT_DEBUGFS "/stats"

/* ---- stats ---- */

#define SPT_NR_STATS	40

struct spt_dstats {
	char name[SPT_NR_STATS][32];
	unsigned long long val[SPT_NR_STATS];
	int n;
};

static int spt_dstats_read(struct spt_dstats *st)
{
	char *text = spt_slurp(SPT_STATS), *line, *save = NULL;

	if (!text)
		return -1;
	st->n = 0;
	for (line = strtok_r(text, "\n", &save); line && st->n < SPT_NR_STATS;
	     line = strtok_r(NULL, "\n", &save)) {
		if (sscanf(line, "%31s %llu", st->name[st->n],
			   &st->val[st->n]) == 2)
			st->n++;
	}
	free(text);
	return 0;
}

/* The value of @name; -1 (as unsigned) if it is missing. */
static unsigned long long spt_dstat(const struct spt_dstats *st,
				    const char *name)
{
	int i;

	for (i = 0; i < st->n; i++)
		if (!strcmp(st->name[i], name))
			return st->val[i];
	return -1ULL;
}

static unsigned long long spt_dstat_nodes(const struct spt_dstats *st)
{
	unsigned long long sum = 0;
	char name[24];
	int l;

	for (l = 1; l <= 5; l++) {
		snprintf(name, sizeof(name), "nodes_l%d", l);
		sum += spt_dstat(st, name);
	}
	return sum;
}

/* Every counter of @b minus @a, for the names given, must be @delta. */
#define EXPECT_DELTA(a, b, name, delta)					\
	EXPECT_EQ((unsigned long long)(delta),				\
		  spt_dstat(b, name) - spt_dstat(a, name))		\
		TH_LOG("%s: %llu -> %llu", name, spt_dstat(a, name),	\
		       spt_dstat(b, name))

/* ---- mappings ---- */

struct spt_mrun {
	unsigned long long va, end, pages, phys, pend;
	char size[16], leaf[16], rw[8], usr[8], nx[8], glb[8], a[4], d[4];
	char cache[8], kind[16];
};

static int spt_mappings_path(char *buf, size_t len, __u32 id)
{
	return snprintf(buf, len, SPT_DEBUGFS "/spaces/%u/mappings", id);
}

/* Parse a mappings file: the header, then one run per line. */
static int spt_mappings_parse(const char *text, __u32 id,
			      struct spt_mrun *runs, int max)
{
	char *copy = strdup(text), *line, *save = NULL, hdr[32];
	int n = 0, first = 1;

	snprintf(hdr, sizeof(hdr), "# space %u,", id);
	for (line = strtok_r(copy, "\n", &save); line;
	     line = strtok_r(NULL, "\n", &save)) {
		struct spt_mrun *r = &runs[n];

		if (first) {
			first = 0;
			if (strncmp(line, hdr, strlen(hdr)))
				goto bad;
			continue;
		}
		if (n == max ||
		    sscanf(line, "0x%llx-0x%llx %15s %15s x%llu %7s %7s %7s %7s %3s %3s %7s %15s 0x%llx-0x%llx",
			   &r->va, &r->end, r->size, r->leaf, &r->pages, r->rw,
			   r->usr, r->nx, r->glb, r->a, r->d, r->cache,
			   r->kind, &r->phys, &r->pend) != 15)
			goto bad;
		n++;
	}
	free(copy);
	return first ? -1 : n;
bad:
	free(copy);
	return -1;
}

static int spt_mappings_read(__u32 id, struct spt_mrun *runs, int max)
{
	char path[128], *text;
	int n;

	spt_mappings_path(path, sizeof(path), id);
	text = spt_slurp(path);
	if (!text)
		return -1;
	n = spt_mappings_parse(text, id, runs, max);
	free(text);
	return n;
}

static unsigned long long spt_leaf_bytes(const char *leaf)
{
	return !strcmp(leaf, "4K") ? SZ_4K : !strcmp(leaf, "2M") ? SZ_2M :
	       !strcmp(leaf, "1G") ? SZ_1G : 0;
}

FIXTURE(debugfs)
{
	struct spt_env env;
};

FIXTURE_SETUP(debugfs)
{
	if (access(SPT_STATS, R_OK))
		SPT_SETUP_SKIP("no %s (debugfs not mounted?)", SPT_STATS);
	spt_env_setup(_metadata, &self->env);
}

FIXTURE_TEARDOWN(debugfs)
{
	spt_env_teardown(_metadata, &self->env);
}

/* Every counter is there and agrees with the pool and SPT_IOCTL_STATS. */
TEST_F(debugfs, stats_consistent)
{
	static const char * const names[] = {
		"spaces", "levels", "pool_limit_frames", "pool_chunks",
		"pool_frames", "pool_free_frames", "pool_used_frames",
		"pool_node_frames", "pool_data_frames", "pool_returned_frames",
		"pool_allocs", "pool_alloc_failures", "meta_bytes",
		"meta_bytes_per_frame", "nodes_l1", "nodes_l2", "nodes_l3",
		"nodes_l4", "nodes_l5", "leaves_4k", "leaves_2m", "leaves_1g",
		"tracked_mappings", "tracked_bytes", "untracked_mappings",
		"untracked_bytes", "tlb_flushes", "tlb_flush_ipis",
	};
	struct spt_dstats st;
	struct spt_stats io;
	unsigned int i;
	__u32 sid;

	test_cmd_space_create(0, &sid);
	test_cmd_map(sid, SPT_MAP_4K, SPT_TEST_VA, SZ_64K, 0, SPT_PROT_WRITE);
	test_cmd_stats(0, &io);
	ASSERT_EQ(0, spt_dstats_read(&st));
	for (i = 0; i < ARRAY_SIZE(names); i++) {
		const char *nm = names[i];

		EXPECT_NE(-1ULL, spt_dstat(&st, nm)) TH_LOG("no %s", nm);
	}

	EXPECT_EQ(self->env.ver.out_levels, spt_dstat(&st, "levels"));
	EXPECT_EQ(16, spt_dstat(&st, "meta_bytes_per_frame"));
	EXPECT_EQ(self->env.ver.out_meta_slot_bytes,
		  spt_dstat(&st, "meta_bytes_per_frame"));
	EXPECT_EQ(spt_dstat(&st, "pool_frames") * 16,
		  spt_dstat(&st, "meta_bytes"));
	EXPECT_EQ(spt_dstat(&st, "pool_chunks") * 512,
		  spt_dstat(&st, "pool_frames"));
	EXPECT_EQ(spt_dstat(&st, "pool_frames"),
		  spt_dstat(&st, "pool_used_frames") +
		  spt_dstat(&st, "pool_free_frames"));
	EXPECT_EQ(spt_dstat(&st, "pool_used_frames"),
		  spt_dstat(&st, "pool_node_frames") +
		  spt_dstat(&st, "pool_data_frames"));
	/* Quiet: every node is in some table, none waits to be freed. */
	EXPECT_EQ(spt_dstat(&st, "pool_node_frames"), spt_dstat_nodes(&st));
	EXPECT_EQ(io.nr_spaces, spt_dstat(&st, "spaces"));
	EXPECT_EQ(io.pool_limit_frames, spt_dstat(&st, "pool_limit_frames"));
	EXPECT_EQ(io.pool_chunk_frames, spt_dstat(&st, "pool_frames"));
	EXPECT_EQ(io.pool_used_frames, spt_dstat(&st, "pool_used_frames"));
	EXPECT_EQ(io.pool_node_frames, spt_dstat(&st, "pool_node_frames"));
	EXPECT_EQ(io.pool_data_frames, spt_dstat(&st, "pool_data_frames"));
	EXPECT_EQ(io.pool_meta_bytes, spt_dstat(&st, "meta_bytes"));
	EXPECT_LE(1, spt_dstat(&st, "tracked_mappings"));
	test_cmd_space_destroy(sid);
}

/* Counters move by exactly what create, map, unmap and destroy did. */
TEST_F(debugfs, stats_move)
{
	unsigned int levels = self->env.ver.out_levels, l;
	bool phys = !spt_env_allow_phys(&self->env);
	struct spt_dstats s0, s1, s2, s3, s4;
	char name[24];
	__u32 sid;

	ASSERT_EQ(0, spt_dstats_read(&s0));
	test_cmd_space_create(0, &sid);
	ASSERT_EQ(0, spt_dstats_read(&s1));
	EXPECT_DELTA(&s0, &s1, "spaces", 1);
	snprintf(name, sizeof(name), "nodes_l%u", levels);
	EXPECT_DELTA(&s0, &s1, name, 1);		/* the root */
	EXPECT_DELTA(&s0, &s1, "pool_node_frames", 1);

	test_cmd_map(sid, SPT_MAP_4K, SPT_TEST_VA, SZ_64K, 0, SPT_PROT_WRITE);
	if (phys)
		test_cmd_map(sid, SPT_MAP_PHYS, SPT_TEST_VA + SZ_1G, 2 * SZ_2M,
			     SPT_TEST_PHYS, 0);
	else
		TH_LOG("allow_phys not settable: untracked counts not checked");
	ASSERT_EQ(0, spt_dstats_read(&s2));
	EXPECT_DELTA(&s1, &s2, "leaves_4k", 16);
	EXPECT_DELTA(&s1, &s2, "tracked_mappings", 16);
	EXPECT_DELTA(&s1, &s2, "tracked_bytes", SZ_64K);
	EXPECT_DELTA(&s1, &s2, "pool_data_frames", 16);
	EXPECT_DELTA(&s1, &s2, "leaves_2m", phys ? 2 : 0);
	EXPECT_DELTA(&s1, &s2, "untracked_mappings", phys ? 2 : 0);
	EXPECT_DELTA(&s1, &s2, "untracked_bytes", phys ? 2 * SZ_2M : 0);
	/* One node per level below the root; two L2 nodes (0 and 1 GiB). */
	for (l = 1; l < levels; l++) {
		snprintf(name, sizeof(name), "nodes_l%u", l);
		EXPECT_DELTA(&s1, &s2, name, (phys && l == 2) ? 2 : 1);
	}
	EXPECT_EQ(spt_dstat(&s2, "pool_node_frames"), spt_dstat_nodes(&s2));

	test_cmd_unmap(sid, SPT_TEST_VA, 2 * SZ_1G, NULL);
	ASSERT_EQ(0, spt_dstats_read(&s3));
	for (l = 1; l <= 5; l++) {
		snprintf(name, sizeof(name), "nodes_l%u", l);
		EXPECT_DELTA(&s1, &s3, name, 0);
	}
	EXPECT_DELTA(&s1, &s3, "leaves_4k", 0);
	EXPECT_DELTA(&s1, &s3, "leaves_2m", 0);
	EXPECT_DELTA(&s1, &s3, "tracked_mappings", 0);
	EXPECT_DELTA(&s1, &s3, "untracked_mappings", 0);
	EXPECT_DELTA(&s1, &s3, "pool_used_frames", 0);
	/* The unmap flushed (nobody had the space loaded: no IPI). */
	EXPECT_LT(spt_dstat(&s2, "tlb_flushes"), spt_dstat(&s3, "tlb_flushes"));
	EXPECT_DELTA(&s2, &s3, "tlb_flush_ipis", 0);

	test_cmd_space_destroy(sid);
	ASSERT_EQ(0, spt_dstats_read(&s4));
	EXPECT_DELTA(&s0, &s4, "spaces", 0);
	EXPECT_DELTA(&s0, &s4, "pool_used_frames", 0);
	EXPECT_DELTA(&s0, &s4, "pool_node_frames", 0);
	for (l = 1; l <= 5; l++) {
		snprintf(name, sizeof(name), "nodes_l%u", l);
		EXPECT_DELTA(&s0, &s4, name, 0);
	}
}

/*
 * The runs of a space with untracked 4K and 2M leaves (one split by a
 * protect), a tracked 2M frame and tracked 4K frames, line by line.
 */
TEST_F(debugfs, mappings_content)
{
	const unsigned long long va_a = SPT_TEST_VA, va_b = SPT_TEST_VA + SZ_2M;
	const unsigned long long va_c = SPT_TEST_VA + SZ_1G;
	const unsigned long long va_d = va_c + 2 * SZ_2M, len_d = 8 * SZ_4K;
	bool phys = !spt_env_allow_phys(&self->env);
	struct spt_query_entry q;
	struct spt_mrun runs[64], *r;
	unsigned long long covered = 0, at;
	char path[128];
	int n, i, j;
	__u32 sid;

	test_cmd_space_create(0, &sid);
	spt_mappings_path(path, sizeof(path), sid);
	/* An empty space: only the header. */
	ASSERT_EQ(0, spt_mappings_read(sid, runs, ARRAY_SIZE(runs)));

	if (phys) {
		ASSERT_EQ(0, _spt_map(self->env.fd, sid, SPT_MAP_PHYS, va_a,
				      SZ_64K, SPT_TEST_PHYS,
				      SPT_PROT_WRITE | SPT_PROT_EXEC,
				      SPT_CACHE_MODE_WB, NULL));
		ASSERT_EQ(0, _spt_map(self->env.fd, sid, SPT_MAP_PHYS, va_b,
				      2 * SZ_2M, SPT_TEST_PHYS + SZ_2M,
				      SPT_PROT_USER, SPT_CACHE_MODE_UC, NULL));
		/* The upper half of A becomes read-only, no-exec. */
		test_cmd_protect(sid, 0, va_a + SZ_64K / 2, SZ_64K / 2, 0,
				 SPT_CACHE_MODE_WB, NULL);
	} else {
		TH_LOG("allow_phys not settable: untracked runs not checked");
	}
	test_cmd_map(sid, SPT_MAP_2M, va_c, SZ_2M, 0, SPT_PROT_WRITE);
	test_cmd_map(sid, SPT_MAP_4K, va_d, len_d, 0, SPT_PROT_WRITE);

	n = spt_mappings_read(sid, runs, ARRAY_SIZE(runs));
	ASSERT_LT(0, n) TH_LOG("%s unreadable or malformed", path);
	for (i = 0; i < n; i++) {
		r = &runs[i];
		/* In order, well-formed, sizes add up. */
		EXPECT_LT(r->va, r->end);
		if (i)
			EXPECT_LE(runs[i - 1].end, r->va);
		EXPECT_NE(0, spt_leaf_bytes(r->leaf));
		EXPECT_EQ(r->end - r->va, r->pages * spt_leaf_bytes(r->leaf));
		EXPECT_EQ(r->pend - r->phys, r->end - r->va);
		EXPECT_STREQ("-", r->glb);
		/* Maximal: a neighbour it could extend is not contiguous. */
		if (i && runs[i - 1].end == r->va &&
		    !strcmp(runs[i - 1].leaf, r->leaf) &&
		    !strcmp(runs[i - 1].rw, r->rw) &&
		    !strcmp(runs[i - 1].usr, r->usr) &&
		    !strcmp(runs[i - 1].nx, r->nx) &&
		    !strcmp(runs[i - 1].a, r->a) &&
		    !strcmp(runs[i - 1].d, r->d) &&
		    !strcmp(runs[i - 1].cache, r->cache) &&
		    !strcmp(runs[i - 1].kind, r->kind))
			EXPECT_NE(runs[i - 1].pend, r->phys);
		covered += r->end - r->va;
	}
	EXPECT_EQ((phys ? SZ_64K + 2 * SZ_2M : 0) + SZ_2M + len_d, covered);

	i = 0;
	if (phys) {
		ASSERT_LE(3, n);
		r = &runs[0];
		EXPECT_EQ(va_a, r->va);
		EXPECT_EQ(va_a + SZ_64K / 2, r->end);
		EXPECT_STREQ("32K", r->size);
		EXPECT_STREQ("4K", r->leaf);
		EXPECT_EQ(8, r->pages);
		EXPECT_STREQ("RW", r->rw);
		EXPECT_STREQ("-", r->usr);
		EXPECT_STREQ("x", r->nx);
		EXPECT_STREQ("WB", r->cache);
		EXPECT_STREQ("untracked", r->kind);
		EXPECT_EQ(SPT_TEST_PHYS, r->phys);
		r = &runs[1];
		EXPECT_EQ(va_a + SZ_64K / 2, r->va);
		EXPECT_EQ(va_a + SZ_64K, r->end);
		EXPECT_EQ(8, r->pages);
		EXPECT_STREQ("ro", r->rw);
		EXPECT_STREQ("NX", r->nx);
		EXPECT_STREQ("untracked", r->kind);
		EXPECT_EQ(SPT_TEST_PHYS + SZ_64K / 2, r->phys);
		r = &runs[2];
		EXPECT_EQ(va_b, r->va);
		EXPECT_EQ(va_b + 2 * SZ_2M, r->end);
		EXPECT_STREQ("4M", r->size);
		EXPECT_STREQ("2M", r->leaf);
		EXPECT_EQ(2, r->pages);
		EXPECT_STREQ("ro", r->rw);
		EXPECT_STREQ("USR", r->usr);
		EXPECT_STREQ("NX", r->nx);
		EXPECT_STREQ("UC", r->cache);
		EXPECT_EQ(SPT_TEST_PHYS + SZ_2M, r->phys);
		EXPECT_EQ(SPT_TEST_PHYS + 3 * SZ_2M, r->pend);
		i = 3;
	}
	/* The tracked 2 MiB frame: one leaf, at the pa the query gives. */
	ASSERT_LT(i, n);
	r = &runs[i];
	test_cmd_query(sid, va_c, &q);
	EXPECT_EQ(va_c, r->va);
	EXPECT_EQ(va_c + SZ_2M, r->end);
	EXPECT_STREQ("2M", r->leaf);
	EXPECT_EQ(1, r->pages);
	EXPECT_STREQ("RW", r->rw);
	EXPECT_STREQ("NX", r->nx);
	EXPECT_STREQ("tracked", r->kind);
	EXPECT_EQ(q.phys, r->phys);
	/* The tracked 4K frames: every page where its run says. */
	for (at = va_d; at < va_d + len_d; at += SZ_4K) {
		test_cmd_query(sid, at, &q);
		for (j = i + 1; j < n; j++)
			if (runs[j].va <= at && at < runs[j].end)
				break;
		ASSERT_LT(j, n) TH_LOG("0x%llx is in no run", at);
		r = &runs[j];
		EXPECT_STREQ("4K", r->leaf);
		EXPECT_STREQ("tracked", r->kind);
		EXPECT_STREQ("RW", r->rw);
		EXPECT_EQ(q.phys, r->phys + (at - r->va));
	}
	test_cmd_space_destroy(sid);
}

/*
 * A reader with the file open while the space is destroyed: the destroy
 * completes, the reader gets what was produced before it and then an
 * error (EIO from debugfs, ENOENT from the space) or the end, and the
 * entry is gone.
 */
TEST_F(debugfs, destroy_while_open)
{
	char path[128], buf[256];
	struct stat st;
	ssize_t r;
	int fd;
	__u32 sid;

	test_cmd_space_create(0, &sid);
	test_cmd_map(sid, SPT_MAP_4K, SPT_TEST_VA, SZ_1M, 0, SPT_PROT_WRITE);
	spt_mappings_path(path, sizeof(path), sid);
	fd = open(path, O_RDONLY | O_CLOEXEC);
	ASSERT_LE(0, fd);
	/* The header and a run or two, then the space goes. */
	ASSERT_LT(0, read(fd, buf, sizeof(buf)));
	test_cmd_space_destroy(sid);
	while ((r = read(fd, buf, sizeof(buf))) > 0)
		;
	if (r < 0)
		EXPECT_TRUE(errno == EIO || errno == ENOENT)
			TH_LOG("read after destroy: %s", strerror(errno));
	EXPECT_EQ(0, close(fd));
	EXPECT_EQ(-1, open(path, O_RDONLY | O_CLOEXEC));
	EXPECT_EQ(ENOENT, errno);
	snprintf(path, sizeof(path), SPT_DEBUGFS "/spaces/%u", sid);
	EXPECT_EQ(-1, stat(path, &st));
	EXPECT_EQ(ENOENT, errno);
}

struct spt_readers {
	volatile int stop;
	unsigned long long reads[2], bad[2];
};

/* Read every space's mappings file, over and over, until told to stop. */
static void spt_reader_loop(struct spt_readers *sh, int me)
{
	while (!sh->stop) {
		DIR *dir = opendir(SPT_DEBUGFS "/spaces");
		struct dirent *de;

		if (!dir) {
			sh->bad[me]++;
			return;
		}
		while ((de = readdir(dir))) {
			char path[320], buf[4096];
			ssize_t r;
			int fd;

			if (de->d_name[0] == '.')
				continue;
			snprintf(path, sizeof(path),
				 SPT_DEBUGFS "/spaces/%s/mappings", de->d_name);
			fd = open(path, O_RDONLY | O_CLOEXEC);
			if (fd < 0) {
				sh->bad[me] += errno != ENOENT;
				continue;
			}
			while ((r = read(fd, buf, sizeof(buf))) > 0)
				;
			if (r < 0 && errno != EIO && errno != ENOENT)
				sh->bad[me]++;
			else
				sh->reads[me]++;
			close(fd);
		}
		closedir(dir);
	}
}

/* Readers on every space's file while spaces come and go. */
TEST_F(debugfs, destroy_races_readers)
{
	struct spt_readers *sh;
	pid_t pids[2];
	int i, status;
	__u32 sid, keep;

	sh = mmap(NULL, sizeof(*sh), PROT_READ | PROT_WRITE,
		  MAP_SHARED | MAP_ANONYMOUS, -1, 0);
	ASSERT_NE(MAP_FAILED, sh);
	memset(sh, 0, sizeof(*sh));
	/* One space lives throughout: the readers always have work. */
	test_cmd_space_create(0, &keep);
	test_cmd_map(keep, SPT_MAP_4K, SPT_TEST_VA, SZ_1M, 0, SPT_PROT_WRITE);
	for (i = 0; i < 2; i++) {
		pids[i] = fork();
		ASSERT_LE(0, pids[i]);
		if (!pids[i]) {
			spt_reader_loop(sh, i);
			_exit(0);
		}
	}
	for (i = 0; i < 200; i++) {
		test_cmd_space_create(0, &sid);
		test_cmd_map(sid, SPT_MAP_4K, SPT_TEST_VA, SZ_64K * (i % 8 + 1),
			     0, SPT_PROT_WRITE);
		if (i % 3 == 0)
			test_cmd_unmap(sid, SPT_TEST_VA, SZ_64K, NULL);
		test_cmd_space_destroy(sid);
	}
	sh->stop = 1;
	for (i = 0; i < 2; i++) {
		ASSERT_EQ(pids[i], waitpid(pids[i], &status, 0));
		EXPECT_TRUE(WIFEXITED(status) && !WEXITSTATUS(status));
		EXPECT_EQ(0, sh->bad[i]);
		EXPECT_LT(0, sh->reads[i]);
		TH_LOG("reader %d: %llu complete reads", i, sh->reads[i]);
	}
	test_cmd_space_destroy(keep);
	munmap(sh, sizeof(*sh));
}

TEST_HARNESS_MAIN
