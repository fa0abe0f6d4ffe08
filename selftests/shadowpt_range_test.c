// SPDX-License-Identifier: GPL-2.0
/*
 * SPT_IOCTL_QUERY_RANGE: merged runs and the compact mode against a model
 * built from SPT_IOCTL_QUERY page by page ("range"), resumption with every
 * buffer size, clipping, element sizes, every errno of the header with
 * the exact out_entries/out_next ("range_bad"), and the lockless walk
 * while other threads map, unmap and destroy ("range_race").
 */
#include <pthread.h>
#include <signal.h>
#include <sys/time.h>

#include "shadowpt_utils.h"

#define RANGE_VA	SPT_TEST_VA
#define RANGE_LEN	(8 * SZ_2M)
#define RANGE_PAGES	(RANGE_LEN / SZ_4K)
#define MAX_RUNS	RANGE_PAGES

static __u64 level_size(unsigned int level)
{
	return 1ULL << (12 + 9 * (level - 1));
}

/* The compact word of a page, from what SPT_IOCTL_QUERY says of it. */
static __u64 word_of(const struct spt_query_entry *e)
{
	if (!(e->flags & SPT_QUERY_MAPPED))
		return 0;
	return e->flags | (__u64)e->prot << SPT_QPAGE_PROT_SHIFT |
	       (e->phys & SPT_QPAGE_PA_MASK) |
	       (__u64)e->level << SPT_QPAGE_LEVEL_SHIFT |
	       (__u64)e->cache << SPT_QPAGE_CACHE_SHIFT;
}

/* Runs of [va, va + len), the model: QUERY per page, merged here. */
static unsigned int model_runs(struct __test_metadata *_metadata, int fd,
			       __u32 id, __u64 va, __u64 len,
			       struct spt_query_run *runs)
{
	unsigned int n = 0;
	__u64 p;

	for (p = va; p < va + len; p += SZ_4K) {
		struct spt_query_entry e = { 0 };
		struct spt_query_run *r = n ? &runs[n - 1] : NULL;

		EXPECT_EQ(0, _spt_query(fd, id, p, &e));
		if (!(e.flags & SPT_QUERY_MAPPED))
			continue;
		if (r && r->end == p && r->pa + (p - r->start) == e.phys &&
		    r->level == e.level && r->prot == e.prot &&
		    r->cache == e.cache && r->flags == e.flags) {
			r->end = p + SZ_4K;
			continue;
		}
		runs[n++] = (struct spt_query_run) {
			.start = p, .end = p + SZ_4K, .pa = e.phys,
			.level = e.level, .prot = e.prot, .cache = e.cache,
			.flags = e.flags,
		};
	}
	return n;
}

static int query_range(int fd, __u32 id, __u32 flags, __u64 va, __u64 len,
		       void *entries, __u32 max, __u32 esize,
		       struct spt_query_range *out)
{
	struct spt_query_range cmd = {
		.size = sizeof(cmd), .flags = flags, .space_id = id,
		.entry_size = esize, .va = va, .length = len,
		.entries = (uintptr_t)entries, .max_entries = max,
		.out_entries = 0xdeadbeef, .out_next = 0xdeadbeef,
	};
	int ret = ioctl(fd, SPT_IOCTL_QUERY_RANGE, &cmd);

	if (out)
		*out = cmd;
	return ret;
}

/* The whole of [va, va + len), @max entries per call; returns entries. */
static unsigned int range_all(struct __test_metadata *_metadata, int fd,
			      __u32 id, __u32 flags, __u64 va, __u64 len,
			      void *entries, __u32 max, __u32 esize)
{
	__u64 end = va + len;
	unsigned int n = 0, calls = 0;

	while (va < end) {
		struct spt_query_range r;

		EXPECT_EQ(0, query_range(fd, id, flags, va, end - va,
					 (char *)entries + (size_t)n * esize,
					 max, esize, &r));
		if (r.out_entries > max || r.out_next <= va || r.out_next > end) {
			EXPECT_TRUE(false);
			break;
		}
		/* Full, or the whole range reported. */
		EXPECT_TRUE(r.out_entries == max || r.out_next == end);
		if (flags & SPT_QUERY_RANGE_COMPACT)
			EXPECT_EQ(va + (__u64)r.out_entries * SZ_4K,
				  r.out_next);
		n += r.out_entries;
		va = r.out_next;
		calls++;
		if (calls > RANGE_PAGES + 1) {
			EXPECT_TRUE(false);
			break;
		}
	}
	return n;
}

FIXTURE(range) {
	struct spt_env env;
	__u32 id;
	struct spt_query_run *want, *got;
	__u64 *words;
	unsigned int nr_want;
};

FIXTURE_SETUP(range)
{
	__u64 va = RANGE_VA, i;

	spt_env_setup(_metadata, &self->env);
	ASSERT_EQ(0, spt_env_create(_metadata, &self->env, 0, &self->id));
	/*
	 * A mix: 4 KiB pages (a run of 16, then every other page), a
	 * protection change inside a run, 2 MiB leaves, a hole, and one
	 * 4 KiB page right after a 2 MiB leaf.
	 */
	test_cmd_map(self->id, SPT_MAP_4K, va, 16 * SZ_4K, 0, SPT_PROT_WRITE);
	test_cmd_protect(self->id, 0, va + 5 * SZ_4K, 2 * SZ_4K,
			 SPT_PROT_EXEC, 0, NULL);
	for (i = 32; i < 96; i += 2)
		test_cmd_map(self->id, SPT_MAP_4K, va + i * SZ_4K, SZ_4K, 0,
			     SPT_PROT_USER);
	test_cmd_map(self->id, SPT_MAP_2M, va + 2 * SZ_2M, 2 * SZ_2M, 0,
		     SPT_PROT_WRITE);
	test_cmd_map(self->id, SPT_MAP_4K, va + 4 * SZ_2M, SZ_4K, 0,
		     SPT_PROT_WRITE);
	test_cmd_map(self->id, SPT_MAP_LARGEST, va + 6 * SZ_2M - 8 * SZ_4K,
		     SZ_2M + 16 * SZ_4K, 0, 0);
	self->want = calloc(MAX_RUNS + 1, sizeof(*self->want));
	self->got = calloc(MAX_RUNS + 1, sizeof(*self->got));
	self->words = calloc(RANGE_PAGES, sizeof(*self->words));
	ASSERT_TRUE(self->want && self->got && self->words);
	self->nr_want = model_runs(_metadata, self->env.fd, self->id,
				   RANGE_VA, RANGE_LEN, self->want);
	/* At least: 3 (16 pages), 32 (every other page), 2 MiB, 4 KiB. */
	ASSERT_LE(37, self->nr_want);
}

FIXTURE_TEARDOWN(range)
{
	free(self->want);
	free(self->got);
	free(self->words);
	spt_env_teardown(_metadata, &self->env);
}

static void expect_runs(struct __test_metadata *_metadata,
			const struct spt_query_run *want, unsigned int nr_want,
			const struct spt_query_run *got, unsigned int nr_got)
{
	unsigned int i;

	ASSERT_EQ(nr_want, nr_got);
	for (i = 0; i < nr_want; i++) {
		EXPECT_EQ(want[i].start, got[i].start);
		EXPECT_EQ(want[i].end, got[i].end);
		EXPECT_EQ(want[i].pa, got[i].pa);
		EXPECT_EQ(want[i].level, got[i].level);
		EXPECT_EQ(want[i].prot, got[i].prot);
		EXPECT_EQ(want[i].cache, got[i].cache);
		EXPECT_EQ(want[i].flags, got[i].flags);
		if (want[i].start != got[i].start)
			break;
	}
}

TEST_F(range, runs_match_query)
{
	struct spt_query_range r;

	ASSERT_EQ(0, query_range(self->env.fd, self->id, 0, RANGE_VA,
				 RANGE_LEN, self->got, MAX_RUNS,
				 sizeof(*self->got), &r));
	EXPECT_EQ(RANGE_VA + RANGE_LEN, r.out_next);
	expect_runs(_metadata, self->want, self->nr_want, self->got,
		    r.out_entries);
	/* The protection change cuts the first 16 pages. */
	EXPECT_EQ(RANGE_VA, self->got[0].start);
	EXPECT_GE(RANGE_VA + 5 * SZ_4K, self->got[0].end);
}

TEST_F(range, compact_matches_query)
{
	struct spt_query_range r;
	__u64 i;

	ASSERT_EQ(0, query_range(self->env.fd, self->id,
				 SPT_QUERY_RANGE_COMPACT, RANGE_VA, RANGE_LEN,
				 self->words, RANGE_PAGES, 8, &r));
	ASSERT_EQ(RANGE_PAGES, r.out_entries);
	EXPECT_EQ(RANGE_VA + RANGE_LEN, r.out_next);
	for (i = 0; i < RANGE_PAGES; i++) {
		struct spt_query_entry e;

		ASSERT_EQ(0, _spt_query(self->env.fd, self->id,
					RANGE_VA + i * SZ_4K, &e));
		EXPECT_EQ(word_of(&e), self->words[i]);
		if (word_of(&e) != self->words[i])
			break;
	}
	EXPECT_EQ(SPT_QUERY_MAPPED | SPT_QUERY_TRACKED,
		  self->words[0] & 0xf);
	EXPECT_EQ(SPT_PROT_WRITE, SPT_QPAGE_PROT(self->words[0]));
	EXPECT_EQ(1, SPT_QPAGE_LEVEL(self->words[0]));
	EXPECT_EQ(2, SPT_QPAGE_LEVEL(self->words[2 * 512 + 7]));
	EXPECT_EQ(0, self->words[16]);
}

/* Every buffer size gives the same answer, resumed from out_next. */
TEST_F(range, resume_runs)
{
	__u32 max;

	for (max = 1; max <= 9; max++) {
		unsigned int n;

		memset(self->got, 0, (MAX_RUNS + 1) * sizeof(*self->got));
		n = range_all(_metadata, self->env.fd, self->id, 0, RANGE_VA,
			      RANGE_LEN, self->got, max, sizeof(*self->got));
		expect_runs(_metadata, self->want, self->nr_want, self->got,
			    n);
	}
}

TEST_F(range, resume_compact)
{
	__u32 maxes[] = { 1, 3, 511, 512, 513, 4096 };
	__u64 *all = calloc(RANGE_PAGES, sizeof(*all));
	unsigned int i;
	struct spt_query_range r;

	ASSERT_NE(NULL, all);
	ASSERT_EQ(0, query_range(self->env.fd, self->id,
				 SPT_QUERY_RANGE_COMPACT, RANGE_VA, RANGE_LEN,
				 all, RANGE_PAGES, 8, &r));
	for (i = 0; i < ARRAY_SIZE(maxes); i++) {
		memset(self->words, 0xff, RANGE_PAGES * sizeof(__u64));
		EXPECT_EQ(RANGE_PAGES,
			  range_all(_metadata, self->env.fd, self->id,
				    SPT_QUERY_RANGE_COMPACT, RANGE_VA,
				    RANGE_LEN, self->words, maxes[i], 8));
		EXPECT_EQ(0, memcmp(all, self->words,
				    RANGE_PAGES * sizeof(__u64)));
	}
	free(all);
}

/* A range that begins and ends inside leaves reports them clipped. */
TEST_F(range, clipped)
{
	__u64 va = RANGE_VA + 2 * SZ_2M + 3 * SZ_4K;
	struct spt_query_range r;
	struct spt_query_entry e;
	__u64 w[2];

	ASSERT_EQ(0, _spt_query(self->env.fd, self->id, va, &e));
	ASSERT_EQ(2, e.level);
	ASSERT_EQ(0, query_range(self->env.fd, self->id, 0, va, SZ_2M,
				 self->got, 4, sizeof(*self->got), &r));
	/* One run, or two where the two 2 MiB frames are not contiguous. */
	ASSERT_LE(1, r.out_entries);
	ASSERT_GE(2, r.out_entries);
	EXPECT_EQ(va + SZ_2M, r.out_next);
	EXPECT_EQ(va, self->got[0].start);
	EXPECT_EQ(e.phys, self->got[0].pa);
	EXPECT_EQ(2, self->got[0].level);
	if (r.out_entries == 2) {
		EXPECT_EQ(RANGE_VA + 3 * SZ_2M, self->got[0].end);
		EXPECT_EQ(RANGE_VA + 3 * SZ_2M, self->got[1].start);
		EXPECT_EQ(2, self->got[1].level);
	}
	EXPECT_EQ(va + SZ_2M, self->got[r.out_entries - 1].end);
	/* Compact, the last page of the first 2 MiB leaf and the next. */
	va = RANGE_VA + 3 * SZ_2M - SZ_4K;
	ASSERT_EQ(0, query_range(self->env.fd, self->id,
				 SPT_QUERY_RANGE_COMPACT, va, 2 * SZ_4K, w, 2,
				 8, &r));
	ASSERT_EQ(0, _spt_query(self->env.fd, self->id, va, &e));
	EXPECT_EQ(word_of(&e), w[0]);
	ASSERT_EQ(0, _spt_query(self->env.fd, self->id, va + SZ_4K, &e));
	EXPECT_EQ(word_of(&e), w[1]);
	EXPECT_EQ(2, r.out_entries);
}

/* Nothing mapped: no run, the whole range reported, in one call. */
TEST_F(range, empty_space_and_user_half)
{
	__u64 end = self->env.ver.out_user_end;
	struct spt_query_range r;
	__u32 id;

	ASSERT_EQ(0, spt_env_create(_metadata, &self->env, 0, &id));
	ASSERT_EQ(0, query_range(self->env.fd, id, 0, 0, end, self->got, 1,
				 sizeof(*self->got), &r));
	EXPECT_EQ(0, r.out_entries);
	EXPECT_EQ(end, r.out_next);
	/* The whole user half of the mixed space: exactly the model. */
	ASSERT_EQ(0, query_range(self->env.fd, self->id, 0, 0, end,
				 self->got, MAX_RUNS, sizeof(*self->got), &r));
	EXPECT_EQ(end, r.out_next);
	expect_runs(_metadata, self->want, self->nr_want, self->got,
		    r.out_entries);
}

/* A larger element: the kernel's part, then zeroes. */
TEST_F(range, larger_elements)
{
	size_t esize = sizeof(struct spt_query_run) + 24;
	char *buf = malloc(esize * 3);
	struct spt_query_range r;
	unsigned int i;

	ASSERT_NE(NULL, buf);
	memset(buf, 0xaa, esize * 3);
	ASSERT_EQ(0, query_range(self->env.fd, self->id, 0, RANGE_VA,
				 RANGE_LEN, buf, 3, esize, &r));
	ASSERT_EQ(3, r.out_entries);
	EXPECT_EQ(self->want[3].start, r.out_next);
	for (i = 0; i < 3; i++) {
		EXPECT_EQ(0, memcmp(buf + i * esize, &self->want[i],
				    sizeof(self->want[i])));
		EXPECT_EQ(0, buf[i * esize + sizeof(self->want[i])]);
		EXPECT_EQ(0, buf[i * esize + esize - 1]);
	}
	free(buf);
}

/* ==================================================================== */

FIXTURE(range_bad) {
	struct spt_env env;
	__u32 id;
	char *mem;	/* 2 pages; the second is PROT_NONE */
};

FIXTURE_SETUP(range_bad)
{
	spt_env_setup(_metadata, &self->env);
	ASSERT_EQ(0, spt_env_create(_metadata, &self->env, 0, &self->id));
	test_cmd_map(self->id, SPT_MAP_4K, RANGE_VA, 64 * SZ_4K, 0, 0);
	/* Every other page: 32 runs. */
	test_cmd_unmap(self->id, RANGE_VA + SZ_4K, SZ_4K, NULL);
	{
		int i;

		for (i = 3; i < 64; i += 2)
			test_cmd_unmap(self->id, RANGE_VA + i * SZ_4K, SZ_4K,
				       NULL);
	}
	self->mem = mmap(NULL, 2 * SZ_4K, PROT_READ | PROT_WRITE,
			 MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
	ASSERT_NE(MAP_FAILED, self->mem);
	ASSERT_EQ(0, mprotect(self->mem + SZ_4K, SZ_4K, PROT_NONE));
}

FIXTURE_TEARDOWN(range_bad)
{
	munmap(self->mem, 2 * SZ_4K);
	spt_env_teardown(_metadata, &self->env);
}

#define RUN_SIZE	sizeof(struct spt_query_run)

/*
 * The call fails with @err. A bad argument changes nothing (the out
 * fields keep what query_range() put there); EFAULT from the entries
 * reports that none arrived.
 */
#define EXPECT_RANGE_ERR(err, flags, va, len, ent, max, esize)		\
	({								\
		struct spt_query_range _r;				\
		EXPECT_ERRNO(err, query_range(self->env.fd, self->id,	\
					      flags, va, len, ent, max,	\
					      esize, &_r));		\
		EXPECT_EQ(err == EFAULT ? 0 : 0xdeadbeef,		\
			  _r.out_entries);				\
		EXPECT_EQ(err == EFAULT ? (__u64)(va) : 0xdeadbeef,	\
			  _r.out_next);					\
	})

TEST_F(range_bad, einval)
{
	__u64 end = self->env.ver.out_user_end;
	void *b = self->mem;
	unsigned int bit;

	for (bit = 1; bit < 32; bit++)
		EXPECT_RANGE_ERR(EINVAL, 1U << bit, RANGE_VA, SZ_4K, b, 1,
				 RUN_SIZE);
	EXPECT_RANGE_ERR(EINVAL, 0, RANGE_VA + 1, SZ_4K, b, 1, RUN_SIZE);
	EXPECT_RANGE_ERR(EINVAL, 0, RANGE_VA, SZ_4K + 1, b, 1, RUN_SIZE);
	EXPECT_RANGE_ERR(EINVAL, 0, RANGE_VA, 0, b, 1, RUN_SIZE);
	EXPECT_RANGE_ERR(EINVAL, 0, end - SZ_4K, 2 * SZ_4K, b, 1, RUN_SIZE);
	EXPECT_RANGE_ERR(EINVAL, 0, end, SZ_4K, b, 1, RUN_SIZE);
	EXPECT_RANGE_ERR(EINVAL, 0, RANGE_VA, -SZ_4K, b, 1, RUN_SIZE);
	EXPECT_RANGE_ERR(EINVAL, 0, RANGE_VA, SZ_4K, b, 0, RUN_SIZE);
	EXPECT_RANGE_ERR(EINVAL, 0, RANGE_VA, SZ_4K, b,
			 SPT_QUERY_RANGE_MAX + 1, RUN_SIZE);
	EXPECT_RANGE_ERR(EINVAL, 0, RANGE_VA, SZ_4K, b, 1, RUN_SIZE - 1);
	EXPECT_RANGE_ERR(EINVAL, 0, RANGE_VA, SZ_4K, b, 1, 0);
	EXPECT_RANGE_ERR(EINVAL, 0, RANGE_VA, SZ_4K, b, 1,
			 SPT_ELEM_SIZE_MAX + 1);
	EXPECT_RANGE_ERR(EINVAL, SPT_QUERY_RANGE_COMPACT, RANGE_VA, SZ_4K, b,
			 1, 16);
	EXPECT_RANGE_ERR(EINVAL, SPT_QUERY_RANGE_COMPACT, RANGE_VA, SZ_4K, b,
			 1, 4);
	EXPECT_RANGE_ERR(EINVAL, SPT_QUERY_RANGE_COMPACT, RANGE_VA, SZ_4K, b,
			 0, 8);
	/* EINVAL before ENOENT: the argument is checked first. */
	{
		struct spt_query_range r;

		EXPECT_ERRNO(EINVAL, query_range(self->env.fd, 0x7fffffff, 2,
						 RANGE_VA, SZ_4K, b, 1,
						 RUN_SIZE, &r));
	}
	/* The largest sizes are accepted. */
	EXPECT_EQ(0, query_range(self->env.fd, self->id, 0, RANGE_VA, SZ_4K,
				 b, SPT_QUERY_RANGE_MAX, RUN_SIZE, NULL));
	EXPECT_EQ(0, query_range(self->env.fd, self->id, 0, RANGE_VA, SZ_4K,
				 b, 1, SPT_ELEM_SIZE_MAX, NULL));
}

TEST_F(range_bad, enoent)
{
	struct spt_query_range r;
	__u32 id;

	/* No such space: nothing changes, the out fields neither. */
	EXPECT_ERRNO(ENOENT, query_range(self->env.fd, 0x7fffffff, 0,
					 RANGE_VA, SZ_4K, self->mem, 1,
					 RUN_SIZE, &r));
	EXPECT_EQ(0xdeadbeef, r.out_entries);
	EXPECT_EQ(0xdeadbeef, r.out_next);
	ASSERT_EQ(0, spt_env_create(_metadata, &self->env, 0, &id));
	test_cmd_space_destroy(id);
	EXPECT_ERRNO(ENOENT, query_range(self->env.fd, id, 0, RANGE_VA,
					 SZ_4K, self->mem, 1, RUN_SIZE, &r));
}

/* EFAULT: out_entries counts exactly the entries that arrived whole. */
TEST_F(range_bad, efault_exact)
{
	struct spt_query_range r;
	unsigned int k;

	EXPECT_RANGE_ERR(EFAULT, 0, RANGE_VA, 64 * SZ_4K, NULL, 4, RUN_SIZE);
	EXPECT_RANGE_ERR(EFAULT, SPT_QUERY_RANGE_COMPACT, RANGE_VA,
			 64 * SZ_4K, NULL, 64, 8);
	for (k = 0; k < 4; k++) {
		/* k whole runs fit before the PROT_NONE page. */
		char *b = self->mem + SZ_4K - k * RUN_SIZE - 8;
		struct spt_query_run *runs = (void *)b;

		EXPECT_ERRNO(EFAULT, query_range(self->env.fd, self->id, 0,
						 RANGE_VA, 64 * SZ_4K, b, 32,
						 RUN_SIZE, &r));
		EXPECT_EQ(k, r.out_entries);
		EXPECT_EQ(RANGE_VA + 2 * k * SZ_4K, r.out_next);
		if (k) {
			EXPECT_EQ(RANGE_VA + 2 * (k - 1) * SZ_4K,
				  runs[k - 1].start);
		}
	}
	for (k = 0; k < 64; k += 21) {
		__u64 *w = (void *)(self->mem + SZ_4K - k * 8);

		EXPECT_ERRNO(EFAULT, query_range(self->env.fd, self->id,
						 SPT_QUERY_RANGE_COMPACT,
						 RANGE_VA, 64 * SZ_4K, w, 64,
						 8, &r));
		EXPECT_EQ(k, r.out_entries);
		EXPECT_EQ(RANGE_VA + k * SZ_4K, r.out_next);
	}
}

/* A read-only struct fails before anything is written to the entries. */
TEST_F(range_bad, efault_readonly_struct)
{
	struct spt_query_range *cmd = (void *)self->mem;
	__u64 w[4] = { 1, 1, 1, 1 };

	*cmd = (struct spt_query_range) {
		.size = sizeof(*cmd), .flags = SPT_QUERY_RANGE_COMPACT,
		.space_id = self->id, .entry_size = 8, .va = RANGE_VA,
		.length = 4 * SZ_4K, .entries = (uintptr_t)w,
		.max_entries = 4,
	};
	ASSERT_EQ(0, mprotect(self->mem, SZ_4K, PROT_READ));
	EXPECT_ERRNO(EFAULT, ioctl(self->env.fd, SPT_IOCTL_QUERY_RANGE, cmd));
	EXPECT_EQ(1, w[0]);
	EXPECT_EQ(1, w[3]);
	ASSERT_EQ(0, mprotect(self->mem, SZ_4K, PROT_READ | PROT_WRITE));
	EXPECT_EQ(0, ioctl(self->env.fd, SPT_IOCTL_QUERY_RANGE, cmd));
	EXPECT_NE(1, w[0]);
	EXPECT_EQ(0, w[1]);
}

static void on_alarm(int sig)
{
}

/*
 * EINTR: a signal during a long call stops it between pieces; out_entries
 * and out_next say how far it got, and the call resumes from there.
 */
TEST_F(range_bad, eintr_resumable)
{
	__u64 len = (__u64)SPT_QUERY_RANGE_MAX * SZ_4K;
	__u64 *w = malloc(SPT_QUERY_RANGE_MAX * sizeof(*w));
	struct sigaction sa = { .sa_handler = on_alarm };
	struct itimerval it = { { 0, 200 }, { 0, 200 } };
	struct itimerval off = { { 0, 0 }, { 0, 0 } };
	unsigned int tries, eintr = 0;

	ASSERT_NE(NULL, w);
	ASSERT_EQ(0, sigaction(SIGALRM, &sa, NULL));	/* no SA_RESTART */
	ASSERT_EQ(0, setitimer(ITIMER_REAL, &it, NULL));
	for (tries = 0; tries < 200 && eintr < 3; tries++) {
		struct spt_query_range r;
		int ret = query_range(self->env.fd, self->id,
				      SPT_QUERY_RANGE_COMPACT, RANGE_VA, len,
				      w, SPT_QUERY_RANGE_MAX, 8, &r);

		if (ret) {
			ASSERT_EQ(EINTR, errno);
			eintr++;
			EXPECT_LT(r.out_entries, SPT_QUERY_RANGE_MAX);
			EXPECT_EQ(RANGE_VA + (__u64)r.out_entries * SZ_4K,
				  r.out_next);
			if (r.out_entries) {
				EXPECT_NE(0, w[0]);
			}
		} else {
			EXPECT_EQ(SPT_QUERY_RANGE_MAX, r.out_entries);
			EXPECT_EQ(RANGE_VA + len, r.out_next);
		}
	}
	setitimer(ITIMER_REAL, &off, NULL);
	signal(SIGALRM, SIG_DFL);
	free(w);
	/* 4 Mi pages per call: a 200 us timer must catch some of them. */
	EXPECT_LE(1, eintr);
}

/* ==================================================================== */

/*
 * The lockless walk under changes: a thread maps and unmaps [B, B + 2 MiB)
 * (4 KiB and 2 MiB leaves in turn) while queries run over [A, B + 2 MiB).
 * The stable part [A, B) must come back exactly, every time; in the
 * changing part each page is unmapped or mapped with the thread's
 * protection, and runs are well formed. Then destroys race with queries.
 */
struct churn {
	int fd;
	__u32 id;
	__u64 va;
	volatile bool stop;
	unsigned long rounds;
};

static void *churn_fn(void *arg)
{
	struct churn *c = arg;

	while (!c->stop) {
		__u32 flags = c->rounds & 1 ? SPT_MAP_2M : SPT_MAP_4K;

		if (_spt_map(c->fd, c->id, flags, c->va, SZ_2M, 0,
			     SPT_PROT_WRITE | SPT_PROT_USER, 0, NULL))
			break;
		if (_spt_unmap(c->fd, c->id, c->va, c->rounds % 3 ?
			       SZ_2M : 7 * SZ_4K, NULL, NULL))
			break;
		if (_spt_unmap(c->fd, c->id, c->va, SZ_2M, NULL, NULL))
			break;
		c->rounds++;
	}
	return NULL;
}

FIXTURE(range_race) {
	struct spt_env env;
};

FIXTURE_SETUP(range_race)
{
	spt_env_setup(_metadata, &self->env);
}

FIXTURE_TEARDOWN(range_race)
{
	spt_env_teardown(_metadata, &self->env);
}

TEST_F(range_race, map_unmap)
{
	__u64 a = RANGE_VA, b = RANGE_VA + 4 * SZ_2M;
	__u64 len = b + SZ_2M - a, pages = len / SZ_4K, i;
	struct spt_query_run *want = calloc(pages, sizeof(*want));
	struct spt_query_run *got = calloc(pages, sizeof(*got));
	__u64 *w = calloc(pages, sizeof(*w));
	struct churn c = { .fd = self->env.fd };
	unsigned int nr_want, round;
	pthread_t t;

	ASSERT_TRUE(want && got && w);
	ASSERT_EQ(0, spt_env_create(_metadata, &self->env, 0, &c.id));
	c.va = b;
	test_cmd_map(c.id, SPT_MAP_4K, a, 3 * SZ_2M, 0, SPT_PROT_EXEC);
	test_cmd_protect(c.id, 0, a + SZ_2M, SZ_64K, 0, 0, NULL);
	test_cmd_map(c.id, SPT_MAP_2M, a + 3 * SZ_2M, SZ_2M, 0, 0);
	nr_want = model_runs(_metadata, self->env.fd, c.id, a, b - a, want);
	ASSERT_EQ(0, pthread_create(&t, NULL, churn_fn, &c));
	for (round = 0; round < 300; round++) {
		struct spt_query_range r;
		unsigned int k = 0, n;

		ASSERT_EQ(0, query_range(self->env.fd, c.id, 0, a, len, got,
					 pages, sizeof(*got), &r));
		EXPECT_EQ(a + len, r.out_next);
		n = r.out_entries;
		/* The stable runs first, exactly. */
		ASSERT_LE(nr_want, n);
		expect_runs(_metadata, want, nr_want, got, nr_want);
		for (k = nr_want; k < n; k++) {
			EXPECT_LE(b, got[k].start);
			EXPECT_LT(got[k].start, got[k].end);
			EXPECT_GE(b + SZ_2M, got[k].end);
			EXPECT_EQ(SPT_PROT_WRITE | SPT_PROT_USER,
				  got[k].prot & SPT_PROT_SETTABLE);
			EXPECT_EQ(SPT_QUERY_MAPPED | SPT_QUERY_TRACKED,
				  got[k].flags);
			if (k > nr_want) {
				EXPECT_LE(got[k - 1].end, got[k].start);
			}
		}
		ASSERT_EQ(0, query_range(self->env.fd, c.id,
					 SPT_QUERY_RANGE_COMPACT, a, len, w,
					 pages, 8, &r));
		ASSERT_EQ(pages, r.out_entries);
		for (i = (b - a) / SZ_4K; i < pages; i++) {
			if (!w[i])
				continue;
			EXPECT_EQ(SPT_PROT_WRITE | SPT_PROT_USER,
				  SPT_QPAGE_PROT(w[i]) & SPT_PROT_SETTABLE);
			EXPECT_NE(0, SPT_QPAGE_PA(w[i]));
		}
	}
	c.stop = true;
	pthread_join(t, NULL);
	EXPECT_LT(0, c.rounds);
	test_cmd_check(c.id);
	free(want);
	free(got);
	free(w);
}

struct destroyer {
	int fd;
	__u32 id;
};

static void *destroy_fn(void *arg)
{
	struct destroyer *d = arg;

	usleep(100);
	_spt_space_destroy(d->fd, d->id);
	return NULL;
}

/* Queries while the space is destroyed: whole answers or ENOENT. */
TEST_F(range_race, destroy)
{
	__u64 *w = calloc(SZ_16M / SZ_4K, sizeof(*w));
	unsigned int round, enoent = 0;

	ASSERT_NE(NULL, w);
	for (round = 0; round < 40; round++) {
		struct destroyer d = { .fd = self->env.fd };
		struct spt_query_range r;
		pthread_t t;
		int ret;

		ASSERT_EQ(0, _spt_space_create(self->env.fd, 0, &d.id));
		test_cmd_map(d.id, SPT_MAP_LARGEST, RANGE_VA, SZ_16M, 0, 0);
		ASSERT_EQ(0, pthread_create(&t, NULL, destroy_fn, &d));
		do {
			ret = query_range(self->env.fd, d.id,
					  SPT_QUERY_RANGE_COMPACT, RANGE_VA,
					  SZ_16M, w, SZ_16M / SZ_4K, 8, &r);
			if (ret) {
				EXPECT_EQ(ENOENT, errno);
				/* Gone before the call, or during it. */
				if (r.out_entries == 0xdeadbeef) {
					EXPECT_EQ(0xdeadbeef, r.out_next);
				} else {
					EXPECT_EQ(RANGE_VA +
						  (__u64)r.out_entries *
						  SZ_4K, r.out_next);
				}
			} else {
				EXPECT_EQ(SZ_16M / SZ_4K, r.out_entries);
			}
		} while (!ret);
		enoent++;
		pthread_join(t, NULL);
	}
	EXPECT_EQ(40, enoent);
	free(w);
}

TEST_HARNESS_MAIN
