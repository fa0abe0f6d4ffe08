// SPDX-License-Identifier: GPL-2.0
/*
 * The "shadowpt" generic netlink family: the space list, the mapping dump
 * (compared with what SPT_IOCTL_QUERY_BATCH and SPT_IOCTL_QUERY say), a
 * dump of a million mappings, create/destroy, and the event monitor
 * following a scripted session.
 */
#include "shadowpt_nl.h"

FIXTURE(nl) {
	struct spt_env env;
	struct spt_nl nl;
	__u32 id;
	bool phys_ok;
	__u64 va;
};

FIXTURE_SETUP(nl)
{
	spt_env_setup(_metadata, &self->env);
	ASSERT_EQ(0, spt_nl_open(&self->nl));
	self->phys_ok = spt_env_allow_phys(&self->env) == 0;
	test_cmd_space_create(0, &self->id);
	self->va = SPT_TEST_VA;
}

FIXTURE_TEARDOWN(nl)
{
	spt_nl_close(&self->nl);
	spt_env_teardown(_metadata, &self->env);
}

static __u64 level_size(unsigned int level)
{
	return 1ULL << (12 + 9 * (level - 1));
}

TEST_F(nl, family)
{
	int grp = genl_ctrl_resolve_grp(self->nl.sk, SPT_GENL_NAME,
					SPT_GENL_MCGRP_EVENTS);

	EXPECT_LT(0, self->nl.family);
	EXPECT_LT(0, grp);
	EXPECT_GT(0, genl_ctrl_resolve_grp(self->nl.sk, SPT_GENL_NAME, "nope"));
}

static void expect_space_matches(struct __test_metadata *_metadata, int fd,
				 const struct spt_nl_space *s)
{
	struct spt_space_info info;

	ASSERT_EQ(0, _spt_space_info(fd, s->id, &info));
	EXPECT_EQ(info.out_flags, s->flags);
	EXPECT_EQ(info.out_levels, s->levels);
	EXPECT_EQ(info.out_root_pa, s->root_pa);
	EXPECT_EQ(info.out_owner_pid, s->owner_pid);
	EXPECT_EQ(info.out_data_frames, s->data_frames);
	EXPECT_EQ(info.out_node_frames, s->node_frames);
	EXPECT_EQ(info.out_mapped_bytes, s->mapped_bytes);
}

TEST_F(nl, space_dump)
{
	struct spt_nl_spaces l;
	struct spt_stats st;
	__u32 a, b;
	size_t i;

	test_cmd_space_create(0, &a);
	test_cmd_space_create(SPT_SPACE_FD_OWNED, &b);
	test_cmd_map(b, SPT_MAP_4K, self->va, SZ_1M, 0, 0);
	test_cmd_map(a, SPT_MAP_2M, self->va, SZ_2M, 0, 0);
	ASSERT_EQ(0, spt_nl_spaces_get(&self->nl, 0, &l));
	EXPECT_FALSE(l.bad);
	test_cmd_stats(0, &st);
	EXPECT_EQ(st.nr_spaces, l.nr);
	ASSERT_NE(NULL, spt_nl_spaces_find(&l, self->id));
	ASSERT_NE(NULL, spt_nl_spaces_find(&l, a));
	ASSERT_NE(NULL, spt_nl_spaces_find(&l, b));
	/* In id order, each once. */
	for (i = 1; i < l.nr; i++) {
		EXPECT_LT(l.v[i - 1].id, l.v[i].id);
	}
	for (i = 0; i < l.nr; i++)
		expect_space_matches(_metadata, self->env.fd, &l.v[i]);
	EXPECT_EQ(SPT_SPACE_FD_OWNED, spt_nl_spaces_find(&l, b)->flags);
	EXPECT_EQ(SZ_1M, spt_nl_spaces_find(&l, b)->mapped_bytes);
	EXPECT_EQ(getpid(), spt_nl_spaces_find(&l, a)->owner_pid);
	free(l.v);

	test_cmd_space_destroy(a);
	ASSERT_EQ(0, spt_nl_spaces_get(&self->nl, 0, &l));
	EXPECT_EQ(NULL, spt_nl_spaces_find(&l, a));
	EXPECT_NE(NULL, spt_nl_spaces_find(&l, b));
	free(l.v);
}

/* Enough spaces that the list needs several netlink messages. */
TEST_F(nl, space_dump_many)
{
	struct spt_nl_spaces l;
	struct spt_stats st;
	unsigned long msgs;
	__u32 ids[48];
	int i;

	for (i = 0; i < 48; i++)
		test_cmd_space_create(i % 2 ? SPT_SPACE_FD_OWNED : 0, &ids[i]);
	memset(&l, 0, sizeof(l));
	ASSERT_EQ(0, spt_nl_request(&self->nl, SPT_GENL_CMD_SPACE_GET,
				    NLM_F_DUMP, NULL, spt_nl_space_cb, &l,
				    &msgs));
	test_cmd_stats(0, &st);
	EXPECT_EQ(st.nr_spaces, l.nr);
	for (i = 0; i < 48; i++) {
		EXPECT_NE(NULL, spt_nl_spaces_find(&l, ids[i]));
	}
	free(l.v);
}

TEST_F(nl, space_get_do)
{
	struct spt_nl_spaces l;
	struct spt_nl_args none = { 0 };

	test_cmd_map(self->id, SPT_MAP_4K, self->va, SZ_64K, 0, 0);
	ASSERT_EQ(0, spt_nl_spaces_get(&self->nl, self->id, &l));
	ASSERT_EQ(1, l.nr);
	EXPECT_EQ(self->id, l.v[0].id);
	EXPECT_EQ(SZ_64K, l.v[0].mapped_bytes);
	expect_space_matches(_metadata, self->env.fd, &l.v[0]);
	free(l.v);
	EXPECT_EQ(-ENOENT, spt_nl_spaces_get(&self->nl, self->id + 100000, &l));
	free(l.v);
	/* A do without an id. */
	EXPECT_EQ(-EINVAL, spt_nl_request(&self->nl, SPT_GENL_CMD_SPACE_GET, 0,
					  &none, NULL, NULL, NULL));
}

TEST_F(nl, mapping_dump_errors)
{
	struct spt_nl_runs r;
	struct spt_nl_args none = { 0 };

	EXPECT_EQ(-ENOENT, spt_nl_runs_get(&self->nl, self->id + 100000,
					   false, 0, 0, &r));
	free(r.v);
	EXPECT_EQ(-EINVAL, spt_nl_request(&self->nl, SPT_GENL_CMD_MAPPING_GET,
					  NLM_F_DUMP, &none, NULL, NULL, NULL));
}

TEST_F(nl, mapping_dump_empty)
{
	struct spt_nl_runs r;

	ASSERT_EQ(0, spt_nl_runs_get(&self->nl, self->id, false, 0, 0, &r));
	EXPECT_EQ(0, r.nr);
	free(r.v);
}

/* ---- the dump against the queries ---- */

struct leaf {
	__u64 va, end, phys;
	__u32 level, prot, cache, flags;
};

struct leaves {
	struct leaf *v;
	size_t nr, cap;
};

static void leaves_add(struct leaves *l, const struct leaf *x)
{
	if (l->nr && l->v[l->nr - 1].va == x->va)
		return;		/* the same leaf, queried again */
	if (l->nr == l->cap) {
		l->cap = l->cap ? 2 * l->cap : 1024;
		l->v = realloc(l->v, l->cap * sizeof(*l->v));
	}
	l->v[l->nr++] = *x;
}

static struct leaf leaf_of(__u64 va, const struct spt_query_entry *e)
{
	struct leaf x = {
		.va = e->va_start, .end = e->va_end,
		.phys = e->phys - (va - e->va_start), .level = e->level,
		.prot = e->prot, .cache = e->cache,
		.flags = e->flags & SPT_QUERY_TRACKED,
	};

	return x;
}

/* Leaves of [va, va + len) by SPT_IOCTL_QUERY_BATCH at every @step. */
static int batch_leaves(int fd, __u32 id, __u64 va, __u64 len, __u64 step,
			struct leaves *out)
{
	__u32 n = len / step, i, done;
	struct spt_query_entry *e = calloc(n, sizeof(*e));
	__u64 *vas = calloc(n, sizeof(*vas));
	int ret = -1;

	if (!e || !vas)
		goto out;
	for (i = 0; i < n; i++)
		vas[i] = va + i * step;
	if (_spt_query_batch(fd, id, vas, e, n, &done) || done != n)
		goto out;
	for (i = 0; i < n; i++) {
		struct leaf x;

		if (!(e[i].flags & SPT_QUERY_MAPPED))
			continue;
		x = leaf_of(vas[i], &e[i]);
		leaves_add(out, &x);
	}
	ret = 0;
out:
	free(e);
	free(vas);
	return ret;
}

/* Leaves of the whole user half by SPT_IOCTL_QUERY, skipping absent slots. */
static int walk_leaves(int fd, __u32 id, __u64 end, struct leaves *out)
{
	struct spt_query_entry e;
	__u64 va = 0;

	while (va < end) {
		if (_spt_query(fd, id, va, &e) || e.va_end <= va)
			return -1;
		if (e.flags & SPT_QUERY_MAPPED) {
			struct leaf x = leaf_of(va, &e);

			leaves_add(out, &x);
		}
		va = e.va_end;
	}
	return 0;
}

/* Merge leaves into runs by the rule of the header (as ptdump does). */
static size_t merge_runs(const struct leaves *l, struct spt_nl_run *runs)
{
	size_t i, n = 0;

	for (i = 0; i < l->nr; i++) {
		const struct leaf *x = &l->v[i];
		struct spt_nl_run *r = n ? &runs[n - 1] : NULL;

		if (r && r->pages < SPT_RUN_MAX_PAGES &&
		    r->end == x->va && r->phys + (r->end - r->va) == x->phys &&
		    r->level == x->level && r->prot == x->prot &&
		    r->cache == x->cache && r->flags == x->flags) {
			r->end = x->end;
			r->pages++;
			continue;
		}
		runs[n++] = (struct spt_nl_run){
			.va = x->va, .end = x->end, .phys = x->phys, .pages = 1,
			.level = x->level, .prot = x->prot, .cache = x->cache,
			.flags = x->flags,
		};
	}
	return n;
}

/* Expand runs back to leaves. */
static void runs_to_leaves(const struct spt_nl_runs *r, struct leaves *out)
{
	size_t i;
	__u64 k;

	for (i = 0; i < r->nr; i++) {
		const struct spt_nl_run *x = &r->v[i];
		__u64 sz = level_size(x->level);

		for (k = 0; k < x->pages; k++) {
			struct leaf y = {
				.va = x->va + k * sz, .end = x->va + (k + 1) * sz,
				.phys = x->phys + k * sz, .level = x->level,
				.prot = x->prot, .cache = x->cache,
				.flags = x->flags,
			};

			leaves_add(out, &y);
		}
	}
}

#define EXPECT_LEAF_EQ(a, b)						\
	({								\
		EXPECT_EQ((a)->va, (b)->va);				\
		EXPECT_EQ((a)->end, (b)->end);				\
		EXPECT_EQ((a)->phys, (b)->phys);			\
		EXPECT_EQ((a)->level, (b)->level);			\
		EXPECT_EQ((a)->prot, (b)->prot);			\
		EXPECT_EQ((a)->cache, (b)->cache);			\
		EXPECT_EQ((a)->flags, (b)->flags);			\
	})

/* Regions of the mixed space: where they are and how finely to query. */
struct region {
	__u64 va, len, step;
};

/* A space with every kind of leaf, protections and cache modes. */
static void build_mixed(struct __test_metadata *_metadata,
			FIXTURE_DATA(nl) *self, struct region *reg, int *nreg)
{
	__u64 va = self->va, nr;
	int i;

	*nreg = 0;
	/* 64 tracked 4 KiB pages, protection changing every 8. */
	test_cmd_map(self->id, SPT_MAP_4K, va, 64 * SZ_4K, 0, SPT_PROT_WRITE);
	for (i = 0; i < 8; i += 2)
		test_cmd_protect(self->id, 0, va + i * 8 * SZ_4K, 8 * SZ_4K,
				 SPT_PROT_USER, 0, &nr);
	reg[(*nreg)++] = (struct region){ va, 64 * SZ_4K, SZ_4K };
	/* Three tracked 2 MiB leaves, the middle one write-combining. */
	va = self->va + SZ_1G;
	test_cmd_map(self->id, SPT_MAP_2M, va, 3 * SZ_2M, 0, SPT_PROT_EXEC);
	test_cmd_protect(self->id, SPT_PROTECT_CACHE, va + SZ_2M, SZ_2M,
			 SPT_PROT_EXEC, SPT_CACHE_MODE_WC, &nr);
	reg[(*nreg)++] = (struct region){ va, 3 * SZ_2M, SZ_4K };
	/* LARGEST over an unaligned range: 4 KiB, 2 MiB, 4 KiB leaves. */
	va = self->va + 2 * SZ_1G + SZ_2M - 4 * SZ_4K;
	test_cmd_map(self->id, SPT_MAP_LARGEST, va, 2 * SZ_2M, 0, 0);
	reg[(*nreg)++] = (struct region){ va, 2 * SZ_2M, SZ_4K };
	if (!self->phys_ok)
		return;
	/* 512 untracked pages of contiguous memory, one page in the middle
	 * read-only: three runs. */
	va = self->va + 3 * SZ_1G;
	test_cmd_map(self->id, SPT_MAP_PHYS, va, SZ_2M, SPT_TEST_PHYS + SZ_4K,
		     SPT_PROT_WRITE);
	test_cmd_protect(self->id, 0, va + 100 * SZ_4K, SZ_4K, 0, 0, &nr);
	reg[(*nreg)++] = (struct region){ va, SZ_2M, SZ_4K };
	/* Untracked 2 MiB leaves, and a 1 GiB leaf right after. */
	va = self->va + 4 * SZ_1G - 4 * SZ_2M;
	test_cmd_map(self->id, SPT_MAP_PHYS, va, 4 * SZ_2M + SZ_1G,
		     SPT_TEST_PHYS + SZ_1G - 4 * SZ_2M, SPT_PROT_WRITE);
	reg[(*nreg)++] = (struct region){ va, 4 * SZ_2M + SZ_1G, SZ_2M };
	/* Untracked pages with every other page's frame swapped. */
	va = self->va + 6 * SZ_1G;
	for (i = 0; i < 32; i++)
		test_cmd_map(self->id, SPT_MAP_PHYS, va + i * SZ_4K, SZ_4K,
			     SPT_TEST_PHYS + (i ^ 1) * SZ_4K, SPT_PROT_WRITE);
	reg[(*nreg)++] = (struct region){ va, 32 * SZ_4K, SZ_4K };
}

TEST_F_TIMEOUT(nl, mapping_dump_matches_queries, 120)
{
	struct leaves batch = { 0 }, walk = { 0 }, dumped = { 0 };
	struct region reg[8];
	struct spt_nl_run *runs;
	struct spt_nl_runs r;
	int nreg, i;
	size_t n, k;

	if (!self->phys_ok)
		TH_LOG("allow_phys cannot be set: no untracked leaves in the space");
	build_mixed(_metadata, self, reg, &nreg);
	test_cmd_check(self->id);
	for (i = 0; i < nreg; i++) {
		ASSERT_EQ(0, batch_leaves(self->env.fd, self->id, reg[i].va,
					  reg[i].len, reg[i].step, &batch));
	}
	/* Nothing is mapped outside the regions. */
	ASSERT_EQ(0, walk_leaves(self->env.fd, self->id,
				 self->env.ver.out_user_end, &walk));
	ASSERT_EQ(batch.nr, walk.nr);
	for (k = 0; k < batch.nr; k++)
		EXPECT_LEAF_EQ(&batch.v[k], &walk.v[k]);

	runs = calloc(batch.nr, sizeof(*runs));
	ASSERT_NE(NULL, runs);
	n = merge_runs(&batch, runs);
	ASSERT_EQ(0, spt_nl_runs_get(&self->nl, self->id, false, 0, 0, &r));
	EXPECT_FALSE(r.bad);
	TH_LOG("%zu leaves, %zu runs expected, %zu dumped", batch.nr, n, r.nr);
	ASSERT_EQ(n, r.nr);
	for (k = 0; k < n; k++) {
		EXPECT_EQ(runs[k].va, r.v[k].va);
		EXPECT_EQ(runs[k].end, r.v[k].end);
		EXPECT_EQ(runs[k].phys, r.v[k].phys);
		EXPECT_EQ(runs[k].pages, r.v[k].pages);
		EXPECT_EQ(runs[k].level, r.v[k].level);
		EXPECT_EQ(runs[k].prot, r.v[k].prot);
		EXPECT_EQ(runs[k].cache, r.v[k].cache);
		EXPECT_EQ(runs[k].flags, r.v[k].flags);
		/* A run is its leaves. */
		EXPECT_EQ(r.v[k].end - r.v[k].va,
			  r.v[k].pages * level_size(r.v[k].level));
	}
	/* Where the rule says "do not merge", the dump did not. */
	for (k = 1; k < r.nr; k++) {
		EXPECT_LE(r.v[k - 1].end, r.v[k].va);
	}
	runs_to_leaves(&r, &dumped);
	ASSERT_EQ(batch.nr, dumped.nr);
	for (k = 0; k < batch.nr; k++)
		EXPECT_LEAF_EQ(&batch.v[k], &dumped.v[k]);
	free(r.v);
	free(runs);
	free(batch.v);
	free(walk.v);
	free(dumped.v);
}

/*
 * A run holds at most SPT_RUN_MAX_PAGES leaves: 100 more contiguous
 * untracked 4 KiB pages than that (VA and PA offset so that no 2 MiB leaf
 * fits) come as two runs, the first one full.
 */
TEST_F_TIMEOUT(nl, mapping_dump_long_run_cut, 300)
{
	__u64 pages = SPT_RUN_MAX_PAGES + 100;
	__u64 va = self->va + SZ_4K, pa = SPT_TEST_PHYS + 2 * SZ_4K;
	struct spt_nl_runs r;

	if (!self->phys_ok)
		SKIP(return, "allow_phys cannot be set: no untracked leaves");
	test_cmd_map(self->id, SPT_MAP_PHYS, va, pages * SZ_4K, pa, 0);
	ASSERT_EQ(0, spt_nl_runs_get(&self->nl, self->id, false, 0, 0, &r));
	EXPECT_FALSE(r.bad);
	ASSERT_EQ(2, r.nr);
	EXPECT_EQ(va, r.v[0].va);
	EXPECT_EQ(SPT_RUN_MAX_PAGES, r.v[0].pages);
	EXPECT_EQ(1, r.v[0].level);
	EXPECT_EQ(pa, r.v[0].phys);
	EXPECT_EQ(r.v[0].end, r.v[1].va);
	EXPECT_EQ(pa + SPT_RUN_MAX_PAGES * SZ_4K, r.v[1].phys);
	EXPECT_EQ(100, r.v[1].pages);
	EXPECT_EQ(va + pages * SZ_4K, r.v[1].end);
	free(r.v);
}

/* SPT_A_RUN_VA/_END: the leaves that meet [va, end), and only those. */
TEST_F_TIMEOUT(nl, mapping_dump_bounded, 120)
{
	struct leaves all = { 0 }, got = { 0 };
	struct spt_nl_runs r;
	struct region reg[8];
	struct {
		__u64 va, end;
	} bounds[] = {
		{ self->va + 5 * SZ_4K, self->va + SZ_1G + SZ_2M },
		{ self->va + SZ_1G + SZ_1M + 5, self->va + SZ_1G + SZ_1M + SZ_4K },
		{ self->va + 3 * SZ_1G + 99 * SZ_4K,
		  self->va + 4 * SZ_1G + SZ_4K },
		{ 0, self->va },
		{ self->va + 7 * SZ_1G, ~0ULL },
		/* Unaligned ends: the leaf containing the last byte is in. */
		{ self->va + 5 * SZ_4K, self->va + SZ_1G + SZ_2M + 5 },
		{ self->va + SZ_1G + SZ_1M, self->va + SZ_1G + SZ_1M + 1 },
	};
	unsigned int b;
	int nreg, i, ret;
	size_t k, j;

	build_mixed(_metadata, self, reg, &nreg);
	ASSERT_EQ(0, walk_leaves(self->env.fd, self->id,
				 self->env.ver.out_user_end, &all));
	for (b = 0; b < ARRAY_SIZE(bounds); b++) {
		memset(&got, 0, sizeof(got));
		ret = spt_nl_runs_get(&self->nl, self->id, true, bounds[b].va,
				      bounds[b].end, &r);
		if (ret) {
			TH_LOG("dump of [0x%llx, 0x%llx): %s", bounds[b].va,
			       bounds[b].end, strerror(-ret));
			EXPECT_EQ(0, ret);
			free(r.v);
			continue;
		}
		runs_to_leaves(&r, &got);
		j = 0;
		for (k = 0; k < all.nr; k++) {
			if (all.v[k].end <= bounds[b].va ||
			    all.v[k].va >= bounds[b].end)
				continue;
			ASSERT_LT(j, got.nr);
			EXPECT_LEAF_EQ(&all.v[k], &got.v[j]);
			j++;
		}
		EXPECT_EQ(j, got.nr);
		free(r.v);
		free(got.v);
	}
	free(all.v);
	(void)i;
}

/* ---- a million mappings ---- */

struct million {
	__u64 va, phys, next, bad_at;
	bool bad;
};

static int million_cb(struct nlattr **tb, __u8 cmd, void *arg)
{
	struct million *m = arg;
	struct spt_nl_run r;
	__u64 i = m->next;

	if (spt_nl_parse_run(tb, &r) || cmd != SPT_GENL_CMD_MAPPING_GET ||
	    r.va != m->va + i * SZ_4K || r.end != r.va + SZ_4K ||
	    r.phys != m->phys + (i ^ 1) * SZ_4K || r.pages != 1 ||
	    r.level != 1 || r.flags != 0 || r.prot != SPT_PROT_WRITE ||
	    r.cache != SPT_CACHE_MODE_WB) {
		if (!m->bad)
			m->bad_at = i;
		m->bad = true;
	}
	m->next++;
	return 0;
}

#define MILLION	1000000ULL

/*
 * 1,000,000 untracked 4 KiB leaves whose frames are swapped pairwise, so
 * that no two neighbours merge: the dump must stream 1,000,000 runs, in
 * order, each exactly right. (Tracked frames cannot be used: a million of
 * them is 4 GiB, far beyond the pool.)
 */
TEST_F_TIMEOUT(nl, mapping_dump_million, 900)
{
	struct million m = { .va = self->va, .phys = SPT_TEST_PHYS };
	struct spt_nl_spaces l;
	unsigned long msgs;
	struct spt_nl_args a = { .has_id = true, .id = self->id };
	double t0, t1, t2;
	__u64 i;

	if (!self->phys_ok)
		SKIP(return, "allow_phys cannot be set");
	t0 = spt_now();
	for (i = 0; i < MILLION; i++) {
		ASSERT_EQ(0, _spt_map(self->env.fd, self->id,
				      SPT_MAP_PHYS | SPT_MAP_REPLACE,
				      self->va + i * SZ_4K, SZ_4K,
				      m.phys + (i ^ 1) * SZ_4K, SPT_PROT_WRITE,
				      SPT_CACHE_MODE_WB, NULL));
	}
	t1 = spt_now();
	ASSERT_EQ(0, spt_nl_request(&self->nl, SPT_GENL_CMD_MAPPING_GET,
				    NLM_F_DUMP, &a, million_cb, &m, &msgs));
	t2 = spt_now();
	TH_LOG("mapped %llu leaves in %.1f s; dumped %llu runs in %.1f s",
	       MILLION, t1 - t0, m.next, t2 - t1);
	if (m.bad)
		TH_LOG("first wrong run: #%llu", m.bad_at);
	EXPECT_FALSE(m.bad);
	EXPECT_EQ(MILLION, m.next);
	EXPECT_EQ(MILLION, msgs);
	ASSERT_EQ(0, spt_nl_spaces_get(&self->nl, self->id, &l));
	ASSERT_EQ(1, l.nr);
	EXPECT_EQ(MILLION * SZ_4K, l.v[0].mapped_bytes);
	EXPECT_EQ(0, l.v[0].data_frames);
	free(l.v);
	test_cmd_check(self->id);
}

/* ---- create / destroy over netlink ---- */

static int space_new_cb(struct nlattr **tb, __u8 cmd, void *arg)
{
	return spt_nl_parse_space(tb, arg) ? -EBADMSG : 0;
}

TEST_F(nl, space_new_del)
{
	struct spt_nl_args fdo = { .has_flags = true,
				   .flags = SPT_SPACE_FD_OWNED };
	struct spt_nl_args del = { .has_id = true };
	struct spt_nl_args none = { 0 };
	struct spt_nl_space s = { 0 };
	struct spt_space_info info;

	ASSERT_EQ(0, spt_nl_request(&self->nl, SPT_GENL_CMD_SPACE_NEW, 0, NULL,
				    space_new_cb, &s, NULL));
	ASSERT_NE(0, s.id);
	spt_env_track(&self->env, s.id);
	EXPECT_EQ(0, s.flags);
	EXPECT_EQ(getpid(), s.owner_pid);
	EXPECT_EQ(0, s.mapped_bytes);
	test_cmd_space_info(s.id, &info);
	EXPECT_EQ(info.out_root_pa, s.root_pa);
	/* A netlink socket owns nothing: no fd-owned spaces here. */
	EXPECT_EQ(-EINVAL, spt_nl_request(&self->nl, SPT_GENL_CMD_SPACE_NEW, 0,
					  &fdo, NULL, NULL, NULL));
	/* The new space is usable through the device. */
	test_cmd_map(s.id, SPT_MAP_4K, self->va, SZ_64K, 0, 0);
	del.id = s.id;
	EXPECT_EQ(0, spt_nl_request(&self->nl, SPT_GENL_CMD_SPACE_DEL, 0, &del,
				    NULL, NULL, NULL));
	EXPECT_ERRNO(ENOENT, _spt_space_info(self->env.fd, s.id, &info));
	EXPECT_EQ(-ENOENT, spt_nl_request(&self->nl, SPT_GENL_CMD_SPACE_DEL, 0,
					  &del, NULL, NULL, NULL));
	EXPECT_EQ(-EINVAL, spt_nl_request(&self->nl, SPT_GENL_CMD_SPACE_DEL, 0,
					  &none, NULL, NULL, NULL));
	/* Spaces made by the device can be deleted over netlink too. */
	del.id = self->id;
	EXPECT_EQ(0, spt_nl_request(&self->nl, SPT_GENL_CMD_SPACE_DEL, 0, &del,
				    NULL, NULL, NULL));
}

TEST_F(nl, space_new_enospc)
{
	struct spt_nl_space s = { 0 };
	char val[32];

	snprintf(val, sizeof(val), "%llu", self->env.base.nr_spaces + 1);
	ASSERT_EQ(0, spt_env_param(&self->env, "max_spaces", val));
	EXPECT_EQ(-ENOSPC, spt_nl_request(&self->nl, SPT_GENL_CMD_SPACE_NEW, 0,
					  NULL, space_new_cb, &s, NULL));
}

/* ---- the event monitor ---- */

struct want {
	__u32 type, space;
	bool range;
	__u64 va, len, count;
	__u32 err;
};

TEST_F(nl, monitor_session)
{
	struct spt_nl_args del = { .has_id = true };
	struct spt_nl_events *ev = calloc(1, sizeof(*ev));
	struct spt_nl_space z = { 0 };
	struct spt_nl mon;
	struct want want[16];
	__u64 nr, mapped;
	__u32 x, y;
	size_t i, n = 0, got = 0;
	int fd, ret;

	ASSERT_NE(NULL, ev);
	ASSERT_EQ(0, spt_nl_monitor_open(&mon));
	fd = spt_open();
	ASSERT_LE(0, fd);
	/* X: fd-owned, on its own descriptor (closing it destroys X). */
	ASSERT_EQ(0, _spt_space_create(fd, SPT_SPACE_FD_OWNED, &x));
	want[n++] = (struct want){ SPT_EVENT_SPACE_CREATED, x };
	ASSERT_EQ(0, _spt_map(fd, x, SPT_MAP_4K, self->va, 16 * SZ_4K, 0, 0,
			      0, NULL));
	want[n++] = (struct want){ SPT_EVENT_MAP, x, true, self->va,
				   16 * SZ_4K, 16, 0 };
	ASSERT_EQ(0, _spt_protect(fd, x, 0, self->va + 4 * SZ_4K, 4 * SZ_4K,
				  SPT_PROT_WRITE, 0, &nr, NULL));
	want[n++] = (struct want){ SPT_EVENT_PROTECT, x, true,
				   self->va + 4 * SZ_4K, 4 * SZ_4K, 4, 0 };
	ASSERT_EQ(0, _spt_unmap(fd, x, self->va, 2 * SZ_4K, &nr, NULL));
	want[n++] = (struct want){ SPT_EVENT_UNMAP, x, true, self->va,
				   2 * SZ_4K, 2, 0 };
	/* A refused map is no event. */
	EXPECT_ERRNO(EEXIST, _spt_map(fd, x, SPT_MAP_4K, self->va + 8 * SZ_4K,
				      SZ_4K, 0, 0, 0, NULL));
	/* Y: a partial map stopped by space_mb. */
	ASSERT_EQ(0, spt_env_param(&self->env, "space_mb", "2"));
	ASSERT_EQ(0, _spt_space_create(fd, 0, &y));
	spt_env_track(&self->env, y);
	want[n++] = (struct want){ SPT_EVENT_SPACE_CREATED, y };
	EXPECT_ERRNO(ENOSPC, _spt_map(fd, y, SPT_MAP_4K, self->va, 4 * SZ_2M,
				      0, 0, 0, &mapped));
	EXPECT_EQ(SZ_2M, mapped);
	want[n++] = (struct want){ SPT_EVENT_MAP, y, true, self->va, SZ_2M,
				   512, ENOSPC };
	ASSERT_EQ(0, _spt_space_destroy(fd, y));
	want[n++] = (struct want){ SPT_EVENT_SPACE_DESTROYED, y };
	/* Z: over netlink. */
	ASSERT_EQ(0, spt_nl_request(&self->nl, SPT_GENL_CMD_SPACE_NEW, 0, NULL,
				    space_new_cb, &z, NULL));
	spt_env_track(&self->env, z.id);
	want[n++] = (struct want){ SPT_EVENT_SPACE_CREATED, z.id };
	del.id = z.id;
	ASSERT_EQ(0, spt_nl_request(&self->nl, SPT_GENL_CMD_SPACE_DEL, 0, &del,
				    NULL, NULL, NULL));
	want[n++] = (struct want){ SPT_EVENT_SPACE_DESTROYED, z.id };
	close(fd);
	want[n++] = (struct want){ SPT_EVENT_SPACE_DESTROYED, x };

	ret = spt_nl_monitor_drain(&mon, ev);
	if (ret)
		TH_LOG("reading events: %d (%s), %zu read", ret,
		       nl_geterror(ret), ev->nr);
	ASSERT_EQ(0, ret);
	EXPECT_FALSE(ev->bad);
	for (i = 0; i < ev->nr; i++) {
		const struct spt_nl_event *e = &ev->v[i];
		const struct want *w;

		/* Only this session's events. */
		if (e->pid != (__u32)getpid() ||
		    (e->space_id != x && e->space_id != y &&
		     e->space_id != z.id))
			continue;
		ASSERT_LT(got, n);
		w = &want[got++];
		TH_LOG("event %zu: type %u space %u va 0x%llx len %llu count %llu err %u",
		       got, e->type, e->space_id, e->va, e->len, e->count,
		       e->err);
		EXPECT_EQ(w->type, e->type);
		EXPECT_EQ(w->space, e->space_id);
		if (w->range) {
			EXPECT_TRUE(e->has_range);
			EXPECT_EQ(w->va, e->va);
			EXPECT_EQ(w->len, e->len);
			EXPECT_EQ(w->count, e->count);
			EXPECT_EQ(w->err, e->err);
		}
	}
	EXPECT_EQ(n, got);
	spt_nl_close(&mon);
	free(ev);
}

TEST_HARNESS_MAIN
