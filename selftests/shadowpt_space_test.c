// SPDX-License-Identifier: GPL-2.0
/*
 * Spaces through /dev/shadowpt: map/unmap/protect/query/rw/stats/check
 * round trips for every kind of space and mapping (fixture "space" and its
 * variants), mixed and large operations ("ops"), partial progress on
 * limits ("limits"), the bad-input table of the uAPI header, one test per
 * row, each checking the exact errno and that the space did not change
 * ("bad"), and the extensible-struct contract of every ioctl ("size").
 *
 * Untracked (SPT_MAP_PHYS) mappings need allow_phys=1. The parameter is
 * writable by root, so the tests turn it on for themselves and restore it;
 * they SKIP only if it cannot be read or written.
 */
#include "shadowpt_utils.h"

#define NUNITS	4

static __u64 level_size(unsigned int level)
{
	return 1ULL << (12 + 9 * (level - 1));
}

/* An absent slot: no translation, and a well-formed enclosing slot. */
#define EXPECT_ABSENT(e, va)						\
	({								\
		EXPECT_EQ(0, (e)->flags);				\
		EXPECT_EQ(0, (e)->phys);				\
		EXPECT_EQ(0, (e)->prot);				\
		EXPECT_LE(1, (e)->level);				\
		EXPECT_GE(5, (e)->level);				\
		EXPECT_LE((e)->va_start, (__u64)(va));			\
		EXPECT_GT((e)->va_end, (__u64)(va));			\
		EXPECT_EQ(level_size((e)->level),			\
			  (e)->va_end - (e)->va_start);			\
		EXPECT_EQ(0, (e)->va_start & (level_size((e)->level) - 1)); \
	})

static __u64 sum_nodes(const struct spt_stats *st)
{
	__u64 n = 0;
	int i;

	for (i = 0; i < 5; i++)
		n += st->space_nodes[i];
	return n;
}

/* =====================================================================
 * Fixture "space": one space per test, id-owned or fd-owned, mapped in
 * units of 4 KiB or 2 MiB frames, tracked or untracked.
 */

FIXTURE(space) {
	struct spt_env env;
	__u32 id;
	__u64 va;
	__u32 levels;
	__u64 root_pa;
	struct spt_stats created;	/* right after the creation */
};

FIXTURE_VARIANT(space) {
	bool fd_owned;
	__u32 map_flags;	/* SPT_MAP_4K, SPT_MAP_2M or SPT_MAP_PHYS */
	__u64 unit;		/* bytes per unit, one leaf each */
	__u64 phys;		/* untracked: physical address of unit 0 */
	unsigned int level;	/* leaf level of a unit */
};

FIXTURE_VARIANT_ADD(space, id_4k) {
	.map_flags = SPT_MAP_4K, .unit = SZ_4K, .level = 1,
};

FIXTURE_VARIANT_ADD(space, id_2m) {
	.map_flags = SPT_MAP_2M, .unit = SZ_2M, .level = 2,
};

/* phys - va is not 2 MiB aligned: untracked 4 KiB leaves. */
FIXTURE_VARIANT_ADD(space, id_untracked_4k) {
	.map_flags = SPT_MAP_PHYS, .unit = SZ_4K, .level = 1,
	.phys = SPT_TEST_PHYS + SZ_4K,
};

FIXTURE_VARIANT_ADD(space, id_untracked_2m) {
	.map_flags = SPT_MAP_PHYS, .unit = SZ_2M, .level = 2,
	.phys = SPT_TEST_PHYS + SZ_2M,
};

FIXTURE_VARIANT_ADD(space, fd_4k) {
	.fd_owned = true, .map_flags = SPT_MAP_4K, .unit = SZ_4K, .level = 1,
};

FIXTURE_VARIANT_ADD(space, fd_2m) {
	.fd_owned = true, .map_flags = SPT_MAP_2M, .unit = SZ_2M, .level = 2,
};

FIXTURE_VARIANT_ADD(space, fd_untracked_4k) {
	.fd_owned = true, .map_flags = SPT_MAP_PHYS, .unit = SZ_4K,
	.level = 1, .phys = SPT_TEST_PHYS + SZ_4K,
};

FIXTURE_VARIANT_ADD(space, fd_untracked_2m) {
	.fd_owned = true, .map_flags = SPT_MAP_PHYS, .unit = SZ_2M,
	.level = 2, .phys = SPT_TEST_PHYS + SZ_2M,
};

FIXTURE_SETUP(space)
{
	struct spt_space_create c = { .size = sizeof(c) };

	spt_env_setup(_metadata, &self->env);
	if (variant->phys && spt_env_allow_phys(&self->env))
		SPT_SETUP_SKIP("untracked maps need allow_phys=1 and it cannot be set");
	c.flags = variant->fd_owned ? SPT_SPACE_FD_OWNED : 0;
	ASSERT_EQ(0, ioctl(self->env.fd, SPT_IOCTL_SPACE_CREATE, &c));
	ASSERT_NE(0, c.out_space_id);
	spt_env_track(&self->env, c.out_space_id);
	self->id = c.out_space_id;
	self->levels = c.out_levels;
	self->root_pa = c.out_root_pa;
	self->va = SPT_TEST_VA;
	ASSERT_EQ(0, _spt_stats(self->env.fd, self->id, &self->created));
}

FIXTURE_TEARDOWN(space)
{
	spt_env_teardown(_metadata, &self->env);
}

static __u64 unit_va(FIXTURE_DATA(space) *self,
		     const FIXTURE_VARIANT(space) *variant, int i)
{
	return self->va + (__s64)i * variant->unit;
}

static bool tracked(const FIXTURE_VARIANT(space) *variant)
{
	return !variant->phys;
}

/* Map units [first, first + n) with @prot; extra flags (REPLACE). */
static int map_units(FIXTURE_DATA(space) *self,
		     const FIXTURE_VARIANT(space) *variant, int first, int n,
		     __u32 prot, __u32 cache, __u32 extra, __u64 *mapped)
{
	__u64 phys = variant->phys ? variant->phys + first * variant->unit : 0;

	return _spt_map(self->env.fd, self->id, variant->map_flags | extra,
			unit_va(self, variant, first), n * variant->unit, phys,
			prot, cache, mapped);
}

#define test_map_units(first, n, prot)					\
	({								\
		__u64 __m;						\
		ASSERT_EQ(0, map_units(self, variant, first, n, prot,	\
				       SPT_CACHE_MODE_WB, 0, &__m));	\
		ASSERT_EQ((n) * variant->unit, __m);			\
	})

/* Query unit @i at @off and check it is mapped as the variant says. */
static void check_unit(struct __test_metadata *_metadata,
		       FIXTURE_DATA(space) *self,
		       const FIXTURE_VARIANT(space) *variant, int i, __u64 off,
		       __u32 prot, __u32 cache, __u64 *phys0)
{
	struct spt_query_entry e;
	__u64 va = unit_va(self, variant, i);

	ASSERT_EQ(0, _spt_query(self->env.fd, self->id, va + off, &e));
	ASSERT_EQ(SPT_QUERY_MAPPED | (tracked(variant) ? SPT_QUERY_TRACKED : 0),
		  e.flags);
	EXPECT_EQ(variant->level, e.level);
	EXPECT_EQ(va, e.va_start);
	EXPECT_EQ(va + variant->unit, e.va_end);
	EXPECT_EQ(prot, e.prot);
	EXPECT_EQ(cache, e.cache);
	if (variant->phys) {
		EXPECT_EQ(variant->phys + i * variant->unit + off, e.phys);
	} else {
		EXPECT_NE(0, e.phys);
		EXPECT_EQ(0, (e.phys - off) & (variant->unit - 1));
	}
	if (phys0)
		*phys0 = e.phys - off;
}

static void check_unit_absent(struct __test_metadata *_metadata,
			      FIXTURE_DATA(space) *self,
			      const FIXTURE_VARIANT(space) *variant, int i)
{
	struct spt_query_entry e;
	__u64 va = unit_va(self, variant, i);

	ASSERT_EQ(0, _spt_query(self->env.fd, self->id, va, &e));
	EXPECT_ABSENT(&e, va);
	ASSERT_EQ(0, _spt_query(self->env.fd, self->id,
				va + variant->unit - 1, &e));
	EXPECT_ABSENT(&e, va + variant->unit - 1);
}

TEST_F(space, info_fresh)
{
	struct spt_space_info info;
	struct spt_stats st;
	unsigned int l;

	test_cmd_space_info(self->id, &info);
	EXPECT_EQ(sizeof(info), info.size);
	EXPECT_EQ(variant->fd_owned ? SPT_SPACE_FD_OWNED : 0, info.out_flags);
	EXPECT_EQ(self->env.ver.out_levels, info.out_levels);
	EXPECT_EQ(self->levels, info.out_levels);
	EXPECT_EQ(getpid(), info.out_owner_pid);
	EXPECT_EQ(self->root_pa, info.out_root_pa);
	EXPECT_NE(0, info.out_root_pa);
	/* The header promises an 8 KiB aligned root. */
	EXPECT_EQ(0, info.out_root_pa & 0x1fff);
	EXPECT_EQ(0, info.out_data_frames);
	EXPECT_EQ(1, info.out_node_frames);
	EXPECT_EQ(0, info.out_mapped_bytes);
	EXPECT_EQ(0, info.out_loaded_cpus);

	test_cmd_stats(self->id, &st);
	for (l = 1; l <= 5; l++) {
		EXPECT_EQ(l == self->levels ? 1 : 0, st.space_nodes[l - 1]);
	}
	for (l = 0; l < 3; l++) {
		EXPECT_EQ(0, st.space_leaves[l]);
	}
	EXPECT_EQ(0, st.space_data_frames);
	EXPECT_EQ(self->env.base.nr_spaces + 1, st.nr_spaces);
	/* Creating a space takes its root from the pool, no data frame. */
	EXPECT_LT(self->env.base.used_frames, st.pool_used_frames);
	EXPECT_EQ(self->env.base.data_frames, st.pool_data_frames);
	test_cmd_check(self->id);
}

TEST_F(space, map_query)
{
	__u32 prot = SPT_PROT_WRITE | SPT_PROT_USER;
	__u64 phys0[NUNITS];
	int i, j;

	test_map_units(0, NUNITS, prot);
	for (i = 0; i < NUNITS; i++) {
		check_unit(_metadata, self, variant, i, 0, prot,
			   SPT_CACHE_MODE_WB, &phys0[i]);
		/* Any offset, aligned or not, in the same leaf. */
		check_unit(_metadata, self, variant, i, variant->unit / 2 + 123,
			   prot, SPT_CACHE_MODE_WB, NULL);
		check_unit(_metadata, self, variant, i, variant->unit - 1,
			   prot, SPT_CACHE_MODE_WB, NULL);
		/* Tracked units are distinct frames. */
		for (j = 0; j < i; j++) {
			EXPECT_NE(phys0[j], phys0[i]);
		}
	}
	check_unit_absent(_metadata, self, variant, -1);
	check_unit_absent(_metadata, self, variant, NUNITS);
	test_cmd_check(self->id);
}

TEST_F(space, map_counts)
{
	__u64 data = tracked(variant) ? NUNITS * variant->unit / SZ_4K : 0;
	struct spt_space_info info;
	struct spt_stats st;
	unsigned int l;

	test_map_units(0, NUNITS, SPT_PROT_WRITE);
	test_cmd_space_info(self->id, &info);
	test_cmd_stats(self->id, &st);
	EXPECT_EQ(NUNITS * variant->unit, info.out_mapped_bytes);
	EXPECT_EQ(data, info.out_data_frames);
	EXPECT_EQ(data, st.space_data_frames);
	for (l = 1; l <= 3; l++) {
		EXPECT_EQ(l == variant->level ? NUNITS : 0,
			  st.space_leaves[l - 1]);
	}
	/* One node per level from the leaves' level up to the root. */
	for (l = 1; l <= 5; l++) {
		EXPECT_EQ(l >= variant->level && l <= self->levels ? 1 : 0,
			  st.space_nodes[l - 1]);
	}
	EXPECT_EQ(sum_nodes(&st), info.out_node_frames);
	/* The pool saw exactly these frames go out. */
	EXPECT_EQ(self->created.pool_data_frames + data, st.pool_data_frames);
	EXPECT_EQ(self->created.pool_node_frames + info.out_node_frames - 1,
		  st.pool_node_frames);
	EXPECT_EQ(self->created.pool_used_frames + data +
		  info.out_node_frames - 1, st.pool_used_frames);
	test_cmd_check(self->id);
}

TEST_F(space, unmap_all)
{
	struct spt_space_info info;
	struct spt_stats st;
	__u64 unmapped;
	int i;

	test_map_units(0, NUNITS, SPT_PROT_WRITE);
	test_cmd_unmap(self->id, self->va, NUNITS * variant->unit, &unmapped);
	EXPECT_EQ(NUNITS, unmapped);
	for (i = -1; i <= NUNITS; i++)
		check_unit_absent(_metadata, self, variant, i);
	test_cmd_space_info(self->id, &info);
	EXPECT_EQ(0, info.out_mapped_bytes);
	EXPECT_EQ(0, info.out_data_frames);
	/* Emptied nodes are freed: only the root is left. */
	EXPECT_EQ(1, info.out_node_frames);
	test_cmd_stats(self->id, &st);
	EXPECT_EQ(self->created.pool_used_frames, st.pool_used_frames);
	EXPECT_EQ(self->created.pool_node_frames, st.pool_node_frames);
	EXPECT_EQ(self->created.pool_data_frames, st.pool_data_frames);
	EXPECT_EQ(0, memcmp(self->created.space_nodes, st.space_nodes,
			    sizeof(st.space_nodes)));
	test_cmd_check(self->id);
	/* And the range can be mapped again. */
	test_map_units(0, NUNITS, 0);
	check_unit(_metadata, self, variant, 3, 0, 0, SPT_CACHE_MODE_WB, NULL);
	test_cmd_check(self->id);
}

TEST_F(space, unmap_middle)
{
	struct spt_space_info info;
	__u64 unmapped;

	test_map_units(0, NUNITS, SPT_PROT_WRITE);
	test_cmd_unmap(self->id, unit_va(self, variant, 1), 2 * variant->unit,
		       &unmapped);
	EXPECT_EQ(2, unmapped);
	check_unit(_metadata, self, variant, 0, 0, SPT_PROT_WRITE,
		   SPT_CACHE_MODE_WB, NULL);
	check_unit_absent(_metadata, self, variant, 1);
	check_unit_absent(_metadata, self, variant, 2);
	check_unit(_metadata, self, variant, 3, 0, SPT_PROT_WRITE,
		   SPT_CACHE_MODE_WB, NULL);
	test_cmd_space_info(self->id, &info);
	EXPECT_EQ(2 * variant->unit, info.out_mapped_bytes);
	EXPECT_EQ(tracked(variant) ? 2 * variant->unit / SZ_4K : 0,
		  info.out_data_frames);
	test_cmd_check(self->id);
}

/* Absent parts of the range are skipped and count as done. */
TEST_F(space, unmap_absent)
{
	__u64 unmapped;

	test_cmd_unmap(self->id, self->va, NUNITS * variant->unit, &unmapped);
	EXPECT_EQ(0, unmapped);
	test_map_units(1, 1, 0);
	test_cmd_unmap(self->id, self->va, NUNITS * variant->unit, &unmapped);
	EXPECT_EQ(1, unmapped);
	check_unit_absent(_metadata, self, variant, 1);
	/* A huge range far from anything mapped. */
	test_cmd_unmap(self->id, 0, self->va, &unmapped);
	EXPECT_EQ(0, unmapped);
	test_cmd_check(self->id);
}

/*
 * Unmap one 4 KiB page inside unit 1: a 2 MiB leaf is split first. The
 * rest of the leaf keeps its translation (and, tracked, its contents).
 */
TEST_F(space, unmap_split)
{
	__u64 len = NUNITS * variant->unit, hole, unmapped, phys1;
	struct spt_query_entry e;
	struct spt_stats st;
	char *buf, *back;

	buf = malloc(len);
	back = malloc(len);
	ASSERT_NE(NULL, buf);
	ASSERT_NE(NULL, back);
	test_map_units(0, NUNITS, SPT_PROT_WRITE);
	check_unit(_metadata, self, variant, 1, 0, SPT_PROT_WRITE,
		   SPT_CACHE_MODE_WB, &phys1);
	if (tracked(variant)) {
		spt_fill(buf, self->va, len, 1);
		test_cmd_rw(self->id, SPT_RW_WRITE, self->va, buf, len);
	}
	hole = unit_va(self, variant, 1) + variant->unit / 2;
	hole &= ~(SZ_4K - 1);
	test_cmd_unmap(self->id, hole, SZ_4K, &unmapped);
	EXPECT_EQ(1, unmapped);
	test_cmd_query(self->id, hole, &e);
	EXPECT_ABSENT(&e, hole);
	EXPECT_EQ(1, e.level);
	if (variant->unit == SZ_2M) {
		/* Neighbours of the hole: 4 KiB leaves of the same frame. */
		test_cmd_query(self->id, hole - SZ_4K, &e);
		EXPECT_EQ(1, e.level);
		EXPECT_EQ(phys1 + (hole - SZ_4K - unit_va(self, variant, 1)),
			  e.phys);
		EXPECT_EQ(SPT_PROT_WRITE, e.prot);
		test_cmd_query(self->id, hole + SZ_4K, &e);
		EXPECT_EQ(1, e.level);
		EXPECT_EQ(phys1 + (hole + SZ_4K - unit_va(self, variant, 1)),
			  e.phys);
		test_cmd_stats(self->id, &st);
		EXPECT_EQ(511, st.space_leaves[0]);
		EXPECT_EQ(NUNITS - 1, st.space_leaves[1]);
	}
	check_unit(_metadata, self, variant, 0, 0, SPT_PROT_WRITE,
		   SPT_CACHE_MODE_WB, NULL);
	check_unit(_metadata, self, variant, 2, 0, SPT_PROT_WRITE,
		   SPT_CACHE_MODE_WB, NULL);
	test_cmd_check(self->id);
	if (tracked(variant)) {
		__u64 a = hole - self->va, b = a + SZ_4K;

		test_cmd_rw(self->id, 0, self->va, back, a);
		EXPECT_EQ(0, memcmp(buf, back, a));
		test_cmd_rw(self->id, 0, hole + SZ_4K, back + b, len - b);
		EXPECT_EQ(0, memcmp(buf + b, back + b, len - b));
	}
	/* Everything goes back to the pool once the rest is unmapped. */
	test_cmd_unmap(self->id, self->va, len, &unmapped);
	test_cmd_stats(self->id, &st);
	EXPECT_EQ(0, st.space_data_frames);
	EXPECT_EQ(self->created.pool_used_frames, st.pool_used_frames);
	EXPECT_EQ(self->created.pool_data_frames, st.pool_data_frames);
	test_cmd_check(self->id);
	free(buf);
	free(back);
}

TEST_F(space, protect)
{
	__u32 rw = SPT_PROT_WRITE | SPT_PROT_USER;
	__u64 nr;

	test_map_units(0, NUNITS, rw);
	test_cmd_protect(self->id, 0, unit_va(self, variant, 1),
			 2 * variant->unit, 0, 0, &nr);
	EXPECT_EQ(2, nr);
	check_unit(_metadata, self, variant, 0, 0, rw, SPT_CACHE_MODE_WB, NULL);
	check_unit(_metadata, self, variant, 1, 0, 0, SPT_CACHE_MODE_WB, NULL);
	check_unit(_metadata, self, variant, 2, 0, 0, SPT_CACHE_MODE_WB, NULL);
	check_unit(_metadata, self, variant, 3, 0, rw, SPT_CACHE_MODE_WB, NULL);
	/* With SPT_PROTECT_CACHE the cache mode changes too. */
	test_cmd_protect(self->id, SPT_PROTECT_CACHE,
			 unit_va(self, variant, 2), variant->unit,
			 SPT_PROT_EXEC, SPT_CACHE_MODE_WC, &nr);
	EXPECT_EQ(1, nr);
	check_unit(_metadata, self, variant, 2, 0, SPT_PROT_EXEC,
		   SPT_CACHE_MODE_WC, NULL);
	check_unit(_metadata, self, variant, 1, 0, 0, SPT_CACHE_MODE_WB, NULL);
	/* Without it the cache mode is kept. */
	test_cmd_protect(self->id, 0, unit_va(self, variant, 2), variant->unit,
			 SPT_PROT_WRITE, 0, &nr);
	check_unit(_metadata, self, variant, 2, 0, SPT_PROT_WRITE,
		   SPT_CACHE_MODE_WC, NULL);
	/* All bits at once. */
	test_cmd_protect(self->id, 0, self->va, NUNITS * variant->unit,
			 SPT_PROT_SETTABLE, 0, &nr);
	EXPECT_EQ(NUNITS, nr);
	check_unit(_metadata, self, variant, 3, 0, SPT_PROT_SETTABLE,
		   SPT_CACHE_MODE_WB, NULL);
	test_cmd_check(self->id);
}

TEST_F(space, protect_cache_modes)
{
	__u32 mode;
	__u64 nr;

	test_map_units(0, 1, SPT_PROT_WRITE);
	for (mode = SPT_CACHE_MODE_WB; mode <= SPT_CACHE_MODE_WC; mode++) {
		test_cmd_protect(self->id, SPT_PROTECT_CACHE, self->va,
				 variant->unit, SPT_PROT_WRITE, mode, &nr);
		EXPECT_EQ(1, nr);
		check_unit(_metadata, self, variant, 0, 0, SPT_PROT_WRITE, mode,
			   NULL);
	}
	/* And at map time, one unit per mode. */
	for (mode = SPT_CACHE_MODE_WT; mode <= SPT_CACHE_MODE_WC; mode++) {
		__u64 m;

		ASSERT_EQ(0, map_units(self, variant, mode, 1, 0, mode, 0, &m));
		check_unit(_metadata, self, variant, mode, 0, 0, mode, NULL);
	}
	test_cmd_check(self->id);
}

/* Protect one 4 KiB page inside unit 1: a 2 MiB leaf is split first. */
TEST_F(space, protect_split)
{
	struct spt_query_entry e;
	struct spt_stats st;
	__u64 page, nr;

	test_map_units(0, NUNITS, SPT_PROT_WRITE);
	page = (unit_va(self, variant, 1) + variant->unit / 2) & ~(SZ_4K - 1);
	test_cmd_protect(self->id, 0, page, SZ_4K, SPT_PROT_EXEC, 0, &nr);
	EXPECT_EQ(1, nr);
	test_cmd_query(self->id, page, &e);
	EXPECT_EQ(SPT_PROT_EXEC, e.prot);
	EXPECT_EQ(1, e.level);
	EXPECT_EQ(page, e.va_start);
	if (variant->unit == SZ_2M) {
		test_cmd_query(self->id, page + SZ_4K, &e);
		EXPECT_EQ(SPT_PROT_WRITE, e.prot);
		EXPECT_EQ(1, e.level);
		test_cmd_stats(self->id, &st);
		EXPECT_EQ(512, st.space_leaves[0]);
		EXPECT_EQ(NUNITS - 1, st.space_leaves[1]);
	}
	check_unit(_metadata, self, variant, 2, 0, SPT_PROT_WRITE,
		   SPT_CACHE_MODE_WB, NULL);
	test_cmd_check(self->id);
}

TEST_F(space, protect_absent)
{
	__u64 nr;

	test_cmd_protect(self->id, 0, self->va, NUNITS * variant->unit,
			 SPT_PROT_WRITE, 0, &nr);
	EXPECT_EQ(0, nr);
	test_map_units(2, 1, 0);
	test_cmd_protect(self->id, 0, self->va, NUNITS * variant->unit,
			 SPT_PROT_WRITE, 0, &nr);
	EXPECT_EQ(1, nr);
	check_unit(_metadata, self, variant, 2, 0, SPT_PROT_WRITE,
		   SPT_CACHE_MODE_WB, NULL);
	check_unit_absent(_metadata, self, variant, 1);
	test_cmd_check(self->id);
}

/* Tracked: bytes go in and come out; fresh frames are zero. Untracked:
 * EACCES before anything is copied. */
TEST_F(space, rw)
{
	__u64 len = NUNITS * variant->unit - 200;
	char *buf, *back;
	__u64 i;

	buf = malloc(len + 200);
	back = malloc(len + 200);
	ASSERT_NE(NULL, buf);
	ASSERT_NE(NULL, back);
	test_map_units(0, NUNITS, 0);
	if (!tracked(variant)) {
		test_err_rw(EACCES, self->id, 0, self->va, back, 100, 0);
		test_err_rw(EACCES, self->id, SPT_RW_WRITE, self->va + 100,
			    buf, len, 0);
		goto out;
	}
	test_cmd_rw(self->id, 0, self->va, back, len + 200);
	for (i = 0; i < len + 200; i++)
		if (back[i])
			break;
	EXPECT_EQ(len + 200, i);
	spt_fill(buf, self->va + 100, len, 7);
	test_cmd_rw(self->id, SPT_RW_WRITE, self->va + 100, buf, len);
	memset(back, 0x55, len);
	test_cmd_rw(self->id, 0, self->va + 100, back, len);
	EXPECT_EQ(0, memcmp(buf, back, len));
	/* One byte, at odd places. */
	test_cmd_rw(self->id, 0, self->va + 100 + len - 1, back, 1);
	EXPECT_EQ(buf[len - 1], back[0]);
	test_cmd_rw(self->id, 0, self->va + 99, back, 1);
	EXPECT_EQ(0, back[0]);
	test_cmd_check(self->id);
out:
	free(buf);
	free(back);
}

/* An access that runs past the mapping stops there: ENXIO, out_done. */
TEST_F(space, rw_enxio_partial)
{
	__u64 end = unit_va(self, variant, 2);
	char buf[200], back[200];

	test_map_units(0, 2, SPT_PROT_WRITE);
	if (!tracked(variant)) {
		test_err_rw(EACCES, self->id, 0, end - 100, back, 200, 0);
		return;
	}
	memset(buf, 0xa5, sizeof(buf));
	test_err_rw(ENXIO, self->id, SPT_RW_WRITE, end - 100, buf, 200, 100);
	test_err_rw(ENXIO, self->id, 0, end - 100, back, 200, 100);
	EXPECT_EQ(0, memcmp(buf, back, 100));
	/* Starting in the hole: nothing done. */
	test_err_rw(ENXIO, self->id, 0, end, back, 10, 0);
	test_cmd_check(self->id);
}

/* The batch query says what the single query says, VA by VA. */
TEST_F(space, query_batch)
{
	__u64 step = variant->unit == SZ_4K ? SZ_4K : SZ_64K;
	__u64 start = unit_va(self, variant, -1);
	__u32 n = (NUNITS + 2) * variant->unit / step, i, done;
	struct spt_query_entry *e, one;
	__u64 *vas;

	vas = calloc(n, sizeof(*vas));
	e = calloc(n, sizeof(*e));
	ASSERT_NE(NULL, vas);
	ASSERT_NE(NULL, e);
	test_map_units(0, NUNITS, SPT_PROT_USER);
	test_map_units(NUNITS + 1, 1, SPT_PROT_WRITE);
	for (i = 0; i < n; i++)
		vas[i] = start + i * step + (i % 3) * 123;
	ASSERT_EQ(0, _spt_query_batch(self->env.fd, self->id, vas, e, n,
				      &done));
	EXPECT_EQ(n, done);
	for (i = 0; i < n; i++) {
		test_cmd_query(self->id, vas[i], &one);
		ASSERT_EQ(0, memcmp(&one, &e[i], sizeof(one)));
	}
	free(vas);
	free(e);
}

/* Overlap without SPT_MAP_REPLACE: EEXIST, nothing changes. With it:
 * everything is replaced (tracked: new zeroed frames). */
TEST_F(space, eexist_and_replace)
{
	__u64 len = NUNITS * variant->unit, mapped;
	struct spt_snapshot snap;
	struct spt_stats st;
	char *buf;
	__u64 i;

	buf = malloc(len);
	ASSERT_NE(NULL, buf);
	test_map_units(1, 2, SPT_PROT_WRITE);
	if (tracked(variant)) {
		memset(buf, 0x77, 2 * variant->unit);
		test_cmd_rw(self->id, SPT_RW_WRITE, unit_va(self, variant, 1),
			    buf, 2 * variant->unit);
	}
	ASSERT_EQ(0, spt_snapshot_take(self->env.fd, self->id,
				       unit_va(self, variant, -1),
				       (NUNITS + 2) * variant->unit, &snap));
	EXPECT_ERRNO(EEXIST, map_units(self, variant, 0, 2, 0, 0, 0, &mapped));
	EXPECT_EQ(0, mapped);
	EXPECT_ERRNO(EEXIST, map_units(self, variant, 2, 2, 0, 0, 0, &mapped));
	EXPECT_ERRNO(EEXIST, map_units(self, variant, 0, 4, 0, 0, 0, &mapped));
	EXPECT_ERRNO(EEXIST, map_units(self, variant, 1, 1, 0, 0, 0, &mapped));
	EXPECT_ERRNO(EEXIST, map_units(self, variant, 2, 1, 0, 0, 0, &mapped));
	EXPECT_EQ(0, mapped);
	ASSERT_SNAPSHOT_UNCHANGED(self->env.fd, &snap);
	spt_snapshot_free(&snap);

	ASSERT_EQ(0, map_units(self, variant, 0, NUNITS, SPT_PROT_EXEC, 0,
			       SPT_MAP_REPLACE, &mapped));
	EXPECT_EQ(len, mapped);
	for (i = 0; i < NUNITS; i++)
		check_unit(_metadata, self, variant, i, 0, SPT_PROT_EXEC,
			   SPT_CACHE_MODE_WB, NULL);
	test_cmd_stats(self->id, &st);
	EXPECT_EQ(NUNITS, st.space_leaves[variant->level - 1]);
	EXPECT_EQ(tracked(variant) ? len / SZ_4K : 0, st.space_data_frames);
	EXPECT_EQ(self->created.pool_data_frames + st.space_data_frames,
		  st.pool_data_frames);
	if (tracked(variant)) {
		test_cmd_rw(self->id, 0, self->va, buf, len);
		for (i = 0; i < len; i++)
			if (buf[i])
				break;
		EXPECT_EQ(len, i);
	}
	test_cmd_check(self->id);
	free(buf);
}

/* After destroy, every command on the id says ENOENT. */
TEST_F(space, destroy)
{
	struct spt_query_entry e;
	char buf[16];
	__u64 va = 0;

	test_map_units(0, NUNITS, SPT_PROT_WRITE);
	test_cmd_space_destroy(self->id);
	EXPECT_ERRNO(ENOENT, _spt_space_info(self->env.fd, self->id, NULL));
	EXPECT_ERRNO(ENOENT, map_units(self, variant, NUNITS, 1, 0, 0, 0, NULL));
	EXPECT_ERRNO(ENOENT, _spt_unmap(self->env.fd, self->id, self->va,
					SZ_4K, NULL, NULL));
	EXPECT_ERRNO(ENOENT, _spt_protect(self->env.fd, self->id, 0, self->va,
					  SZ_4K, 0, 0, NULL, NULL));
	EXPECT_ERRNO(ENOENT, _spt_query(self->env.fd, self->id, self->va, &e));
	EXPECT_ERRNO(ENOENT, _spt_query_batch(self->env.fd, self->id, &va, &e,
					      1, NULL));
	EXPECT_ERRNO(ENOENT, _spt_rw(self->env.fd, self->id, 0, self->va, buf,
				     sizeof(buf), NULL));
	EXPECT_ERRNO(ENOENT, _spt_stats(self->env.fd, self->id, NULL));
	EXPECT_ERRNO(ENOENT, _spt_check(self->env.fd, self->id, NULL, 0));
	EXPECT_ERRNO(ENOENT, _spt_space_destroy(self->env.fd, self->id));
}

/* Closing the creating fd destroys an fd-owned space, not an id-owned one. */
TEST_F(space, close_creating_fd)
{
	struct spt_space_info info;
	struct spt_counters c;

	test_map_units(0, NUNITS, SPT_PROT_WRITE);
	close(self->env.fd);
	self->env.fd = spt_open();
	ASSERT_LE(0, self->env.fd);
	if (variant->fd_owned) {
		EXPECT_ERRNO(ENOENT, _spt_space_info(self->env.fd, self->id,
						     &info));
		ASSERT_EQ(0, spt_counters_read(self->env.fd, &c));
		ASSERT_COUNTERS_EQ(&self->env.base, &c);
		return;
	}
	test_cmd_space_info(self->id, &info);
	EXPECT_EQ(NUNITS * variant->unit, info.out_mapped_bytes);
	check_unit(_metadata, self, variant, NUNITS - 1, 0, SPT_PROT_WRITE,
		   SPT_CACHE_MODE_WB, NULL);
	test_cmd_check(self->id);
}

/* Any descriptor may operate on any space, fd-owned or not. */
TEST_F(space, other_fd)
{
	struct spt_space_info info;
	__u64 mapped;
	int fd2, fd1;

	fd2 = spt_open();
	ASSERT_LE(0, fd2);
	fd1 = self->env.fd;
	self->env.fd = fd2;
	ASSERT_EQ(0, map_units(self, variant, 0, NUNITS, 0, 0, 0, &mapped));
	self->env.fd = fd1;
	check_unit(_metadata, self, variant, 1, 0, 0, SPT_CACHE_MODE_WB, NULL);
	/* Closing the other descriptor does not touch the space. */
	close(fd2);
	test_cmd_space_info(self->id, &info);
	EXPECT_EQ(NUNITS * variant->unit, info.out_mapped_bytes);
	test_cmd_check(self->id);
}

/* =====================================================================
 * Fixture "ops": one id-owned space, operations that mix kinds of leaves
 * or do not depend on a variant.
 */

FIXTURE(ops) {
	struct spt_env env;
	__u32 id;
	__u64 va;
	bool phys_ok;
	struct spt_stats created;
};

FIXTURE_SETUP(ops)
{
	spt_env_setup(_metadata, &self->env);
	self->phys_ok = spt_env_allow_phys(&self->env) == 0;
	test_cmd_space_create(0, &self->id);
	self->va = SPT_TEST_VA;
	ASSERT_EQ(0, _spt_stats(self->env.fd, self->id, &self->created));
}

FIXTURE_TEARDOWN(ops)
{
	spt_env_teardown(_metadata, &self->env);
}

/* An empty space: every VA is in an absent top-level slot. */
TEST_F(ops, query_empty)
{
	__u64 top = level_size(self->env.ver.out_levels);
	__u64 end = self->env.ver.out_user_end;
	__u64 vas[] = { 0, 1, self->va, self->va + 12345, end / 2, end - 1 };
	struct spt_query_entry e;
	unsigned int i;

	for (i = 0; i < ARRAY_SIZE(vas); i++) {
		test_cmd_query(self->id, vas[i], &e);
		EXPECT_ABSENT(&e, vas[i]);
		EXPECT_EQ(self->env.ver.out_levels, e.level);
		EXPECT_EQ(vas[i] & ~(top - 1), e.va_start);
		EXPECT_EQ((vas[i] & ~(top - 1)) + top, e.va_end);
	}
}

/* Unaligned VAs report the exact physical address. */
TEST_F(ops, query_unaligned)
{
	struct spt_query_entry a, b;

	test_cmd_map(self->id, SPT_MAP_2M, self->va, SZ_2M, 0, 0);
	test_cmd_query(self->id, self->va, &a);
	test_cmd_query(self->id, self->va + 0x12345, &b);
	EXPECT_EQ(a.phys + 0x12345, b.phys);
	EXPECT_EQ(a.va_start, b.va_start);
	EXPECT_EQ(2, b.level);
}

/* LARGEST: 2 MiB leaves where aligned, 4 KiB elsewhere. */
TEST_F(ops, map_largest)
{
	__u64 va = self->va + SZ_2M - SZ_4K, len = SZ_2M * 3;
	struct spt_query_entry e;
	struct spt_stats st;
	char *buf, *back;

	test_cmd_map(self->id, SPT_MAP_LARGEST, va, len, 0, SPT_PROT_WRITE);
	test_cmd_stats(self->id, &st);
	/* [2M-4K, 2M): 1 page; [2M, 6M): two 2 MiB; [6M, 8M-4K): 511. */
	EXPECT_EQ(512, st.space_leaves[0]);
	EXPECT_EQ(2, st.space_leaves[1]);
	EXPECT_EQ(len / SZ_4K, st.space_data_frames);
	test_cmd_query(self->id, va, &e);
	EXPECT_EQ(1, e.level);
	test_cmd_query(self->id, self->va + SZ_2M, &e);
	EXPECT_EQ(2, e.level);
	test_cmd_query(self->id, self->va + 3 * SZ_2M + SZ_4K, &e);
	EXPECT_EQ(1, e.level);
	test_cmd_check(self->id);
	/* Bytes cross leaf kinds seamlessly. */
	buf = malloc(len);
	back = malloc(len);
	ASSERT_NE(NULL, buf);
	ASSERT_NE(NULL, back);
	spt_fill(buf, va, len, 3);
	test_cmd_rw(self->id, SPT_RW_WRITE, va, buf, len);
	test_cmd_rw(self->id, 0, va, back, len);
	EXPECT_EQ(0, memcmp(buf, back, len));
	free(buf);
	free(back);
}

/* A 2 MiB map over 4 KiB leaves: EEXIST, then REPLACE frees the PTE node. */
TEST_F(ops, replace_4k_with_2m)
{
	struct spt_query_entry e;
	struct spt_stats st;

	test_cmd_map(self->id, SPT_MAP_4K, self->va + SZ_64K, SZ_64K, 0, 0);
	test_err_map(EEXIST, self->id, SPT_MAP_2M, self->va, SZ_2M, 0, 0);
	test_cmd_map(self->id, SPT_MAP_2M | SPT_MAP_REPLACE, self->va, SZ_2M, 0,
		     SPT_PROT_WRITE);
	test_cmd_query(self->id, self->va + SZ_64K, &e);
	EXPECT_EQ(2, e.level);
	EXPECT_EQ(SPT_PROT_WRITE, e.prot);
	test_cmd_stats(self->id, &st);
	EXPECT_EQ(0, st.space_nodes[0]);
	EXPECT_EQ(0, st.space_leaves[0]);
	EXPECT_EQ(1, st.space_leaves[1]);
	EXPECT_EQ(512, st.space_data_frames);
	EXPECT_EQ(self->created.pool_data_frames + 512, st.pool_data_frames);
	test_cmd_check(self->id);
}

/* A 4 KiB REPLACE inside a 2 MiB leaf replaces that page only. */
TEST_F(ops, replace_4k_inside_2m)
{
	__u64 page = self->va + 5 * SZ_4K;
	struct spt_query_entry head, e;
	struct spt_stats st;
	char *buf, *back;
	__u64 i;

	buf = malloc(SZ_2M);
	back = malloc(SZ_2M);
	ASSERT_NE(NULL, buf);
	ASSERT_NE(NULL, back);
	test_cmd_map(self->id, SPT_MAP_2M, self->va, SZ_2M, 0, SPT_PROT_WRITE);
	spt_fill(buf, self->va, SZ_2M, 9);
	test_cmd_rw(self->id, SPT_RW_WRITE, self->va, buf, SZ_2M);
	test_cmd_query(self->id, self->va, &head);
	test_cmd_map(self->id, SPT_MAP_4K | SPT_MAP_REPLACE, page, SZ_4K, 0,
		     SPT_PROT_EXEC);
	test_cmd_query(self->id, page, &e);
	EXPECT_EQ(1, e.level);
	EXPECT_EQ(SPT_PROT_EXEC, e.prot);
	EXPECT_NE(head.phys + 5 * SZ_4K, e.phys);
	test_cmd_query(self->id, page + SZ_4K, &e);
	EXPECT_EQ(1, e.level);
	EXPECT_EQ(SPT_PROT_WRITE, e.prot);
	EXPECT_EQ(head.phys + 6 * SZ_4K, e.phys);
	test_cmd_stats(self->id, &st);
	EXPECT_EQ(512, st.space_leaves[0]);
	EXPECT_EQ(0, st.space_leaves[1]);
	test_cmd_check(self->id);
	test_cmd_rw(self->id, 0, self->va, back, SZ_2M);
	EXPECT_EQ(0, memcmp(buf, back, 5 * SZ_4K));
	for (i = 5 * SZ_4K; i < 6 * SZ_4K; i++)
		if (back[i])
			break;
	EXPECT_EQ(6 * SZ_4K, i);
	EXPECT_EQ(0, memcmp(buf + 6 * SZ_4K, back + 6 * SZ_4K,
			    SZ_2M - 6 * SZ_4K));
	free(buf);
	free(back);
}

/* The largest rw (16 MiB) works; one byte more is refused. */
TEST_F(ops, rw_max_len)
{
	char *buf = malloc(SZ_16M + 1);

	ASSERT_NE(NULL, buf);
	test_cmd_map(self->id, SPT_MAP_2M, self->va, SZ_16M + SZ_2M, 0, 0);
	spt_fill(buf, 0, SZ_16M, 5);
	test_cmd_rw(self->id, SPT_RW_WRITE, self->va + 1, buf, SZ_16M);
	test_err_rw(EINVAL, self->id, 0, self->va, buf, SZ_16M + 1,
		    0xdeadbeefULL);
	free(buf);
}

/* Mixed tracked and untracked leaves of every size, then one unmap. */
TEST_F(ops, unmap_mixed)
{
	struct spt_stats st;
	__u64 unmapped;

	if (!self->phys_ok)
		SKIP(return, "allow_phys cannot be set");
	test_cmd_map(self->id, SPT_MAP_4K, self->va, SZ_64K, 0, 0);
	test_cmd_map(self->id, SPT_MAP_2M, self->va + SZ_2M, 2 * SZ_2M, 0, 0);
	test_cmd_map(self->id, SPT_MAP_PHYS, self->va + 3 * SZ_2M, SZ_2M + SZ_64K,
		     SPT_TEST_PHYS, 0);
	test_cmd_map(self->id, SPT_MAP_PHYS, self->va + SZ_1G, SZ_1G,
		     SPT_TEST_PHYS, 0);
	test_cmd_stats(self->id, &st);
	EXPECT_EQ(16 + 16, st.space_leaves[0]);
	EXPECT_EQ(2 + 1, st.space_leaves[1]);
	EXPECT_EQ(1, st.space_leaves[2]);
	test_cmd_check(self->id);
	test_cmd_unmap(self->id, self->va, 2 * SZ_1G, &unmapped);
	EXPECT_EQ(32 + 3 + 1, unmapped);
	test_cmd_stats(self->id, &st);
	EXPECT_EQ(self->created.pool_used_frames, st.pool_used_frames);
	EXPECT_EQ(1, sum_nodes(&st));
	test_cmd_check(self->id);
}

/*
 * Unmap and protect over the whole user half of a nearly empty space: the
 * absent parts are skipped, whatever their size.
 */
TEST_F_TIMEOUT(ops, whole_user_half, 300)
{
	__u64 end = self->env.ver.out_user_end, nr, done;
	struct spt_stats st;
	int ret;

	test_cmd_map(self->id, SPT_MAP_4K, self->va, SZ_64K, 0, 0);
	test_cmd_map(self->id, SPT_MAP_4K, end - SZ_4K, SZ_4K, 0, 0);
	ret = _spt_protect(self->env.fd, self->id, 0, 0, end, SPT_PROT_WRITE,
			   0, &nr, &done);
	if (ret)
		TH_LOG("protect [0, 0x%llx): %s, out_done 0x%llx", end,
		       strerror(errno), done);
	EXPECT_EQ(0, ret);
	EXPECT_EQ(17, nr);
	EXPECT_EQ(end, done);
	ret = _spt_unmap(self->env.fd, self->id, 0, end, &nr, &done);
	if (ret)
		TH_LOG("unmap [0, 0x%llx): %s, out_done 0x%llx", end,
		       strerror(errno), done);
	EXPECT_EQ(0, ret);
	EXPECT_EQ(17, nr);
	EXPECT_EQ(end, done);
	test_cmd_check(self->id);
	test_cmd_unmap(self->id, self->va, SZ_64K, NULL);
	test_cmd_unmap(self->id, end - SZ_4K, SZ_4K, NULL);
	test_cmd_stats(self->id, &st);
	EXPECT_EQ(self->created.pool_used_frames, st.pool_used_frames);
}

/* Spaces do not see each other's mappings. */
TEST_F(ops, spaces_independent)
{
	struct spt_query_entry e;
	__u32 other;

	test_cmd_space_create(0, &other);
	test_cmd_map(self->id, SPT_MAP_4K, self->va, SZ_4K, 0, 0);
	test_cmd_query(other, self->va, &e);
	EXPECT_ABSENT(&e, self->va);
	test_cmd_map(other, SPT_MAP_4K, self->va, SZ_4K, 0, SPT_PROT_WRITE);
	test_cmd_query(self->id, self->va, &e);
	EXPECT_EQ(0, e.prot);
	test_cmd_space_destroy(other);
	test_cmd_query(self->id, self->va, &e);
	EXPECT_EQ(SPT_QUERY_MAPPED | SPT_QUERY_TRACKED, e.flags);
	test_cmd_check(self->id);
}

TEST_F(ops, many_spaces)
{
	struct spt_space_info info;
	struct spt_stats st;
	__u32 ids[32];
	int i, j;

	for (i = 0; i < 32; i++) {
		test_cmd_space_create(i & 1 ? SPT_SPACE_FD_OWNED : 0, &ids[i]);
		for (j = 0; j < i; j++) {
			ASSERT_NE(ids[j], ids[i]);
		}
		test_cmd_map(ids[i], SPT_MAP_4K, self->va + i * SZ_4K, SZ_4K,
			     0, 0);
	}
	test_cmd_stats(0, &st);
	EXPECT_EQ(self->env.base.nr_spaces + 33, st.nr_spaces);
	for (i = 0; i < 32; i++) {
		test_cmd_space_info(ids[i], &info);
		EXPECT_EQ(i & 1 ? SPT_SPACE_FD_OWNED : 0, info.out_flags);
		EXPECT_EQ(SZ_4K, info.out_mapped_bytes);
		test_cmd_space_destroy(ids[i]);
	}
	test_cmd_stats(0, &st);
	EXPECT_EQ(self->env.base.nr_spaces + 1, st.nr_spaces);
}

/*
 * STATS of the pool only (space_id 0): the space fields are 0, whatever
 * the caller left in them (they used to come back as sent).
 */
TEST_F(ops, stats_pool_only_zeroes_space_fields)
{
	struct spt_stats st;
	unsigned int i;

	test_cmd_map(self->id, SPT_MAP_4K, self->va, SZ_64K, 0, 0);
	memset(&st, 0, sizeof(st));
	st.size = sizeof(st);
	for (i = 0; i < 5; i++)
		st.space_nodes[i] = 0x1111 + i;
	for (i = 0; i < 3; i++)
		st.space_leaves[i] = 0x2222 + i;
	st.space_data_frames = 0x3333;
	ASSERT_EQ(0, ioctl(self->env.fd, SPT_IOCTL_STATS, &st));
	for (i = 0; i < 5; i++)
		EXPECT_EQ(0, st.space_nodes[i]);
	for (i = 0; i < 3; i++)
		EXPECT_EQ(0, st.space_leaves[i]);
	EXPECT_EQ(0, st.space_data_frames);
	EXPECT_LE(1, st.nr_spaces);
	/* With the space: its own figures, not the caller's. */
	st.space_id = self->id;
	ASSERT_EQ(0, ioctl(self->env.fd, SPT_IOCTL_STATS, &st));
	EXPECT_EQ(16, st.space_leaves[0]);
	EXPECT_EQ(16, st.space_data_frames);
	EXPECT_EQ(1, st.space_nodes[0]);
}

/* Two fd-owned spaces of one descriptor both go with it. */
TEST_F(ops, fd_owned_two_spaces)
{
	struct spt_counters c;
	__u32 a, b;

	test_cmd_space_create(SPT_SPACE_FD_OWNED, &a);
	test_cmd_space_create(SPT_SPACE_FD_OWNED, &b);
	test_cmd_map(a, SPT_MAP_4K, self->va, SZ_1M, 0, 0);
	test_cmd_map(b, SPT_MAP_2M, self->va, SZ_2M, 0, 0);
	close(self->env.fd);
	self->env.fd = spt_open();
	ASSERT_LE(0, self->env.fd);
	EXPECT_ERRNO(ENOENT, _spt_space_info(self->env.fd, a, NULL));
	EXPECT_ERRNO(ENOENT, _spt_space_info(self->env.fd, b, NULL));
	/* The id-owned fixture space is still there. */
	test_cmd_space_info(self->id, NULL);
	ASSERT_EQ(0, spt_counters_read(self->env.fd, &c));
	EXPECT_EQ(self->env.base.nr_spaces + 1, c.nr_spaces);
	EXPECT_EQ(self->created.pool_used_frames, c.used_frames);
}

static void map_1g_untracked(struct __test_metadata *_metadata,
			     FIXTURE_DATA(ops) *self, __u64 phys,
			     unsigned int level)
{
	__u64 nleaves = SZ_1G / level_size(level), unmapped, mapped, off;
	struct spt_query_entry e;
	struct spt_stats st;
	double t0, t1;

	t0 = spt_now();
	ASSERT_EQ(0, _spt_map(self->env.fd, self->id, SPT_MAP_PHYS,
			      self->va + SZ_1G, SZ_1G, phys, SPT_PROT_WRITE,
			      SPT_CACHE_MODE_UC, &mapped));
	t1 = spt_now();
	EXPECT_EQ(SZ_1G, mapped);
	test_cmd_stats(self->id, &st);
	EXPECT_EQ(nleaves, st.space_leaves[level - 1]);
	EXPECT_EQ(0, st.space_data_frames);
	if (level == 1) {
		EXPECT_EQ(512, st.space_nodes[0]);
	}
	for (off = 0; off < SZ_1G; off += SZ_1G / 7 + 4095) {
		test_cmd_query(self->id, self->va + SZ_1G + off, &e);
		EXPECT_EQ(SPT_QUERY_MAPPED, e.flags);
		EXPECT_EQ(phys + off, e.phys);
		EXPECT_EQ(level, e.level);
		EXPECT_EQ(SPT_CACHE_MODE_UC, e.cache);
	}
	test_cmd_check(self->id);
	test_cmd_unmap(self->id, self->va + SZ_1G, SZ_1G, &unmapped);
	EXPECT_EQ(nleaves, unmapped);
	test_cmd_stats(self->id, &st);
	EXPECT_EQ(self->created.pool_used_frames, st.pool_used_frames);
	TH_LOG("1 GiB untracked as %llu level-%u leaves: map %.3f s, unmap %.3f s",
	       nleaves, level, t1 - t0, spt_now() - t1);
}

/* One map call of 1 GiB, untracked, as 1 GiB, 2 MiB and 4 KiB leaves. */
TEST_F_TIMEOUT(ops, map_1g_untracked, 300)
{
	if (!self->phys_ok)
		SKIP(return, "allow_phys cannot be set");
	map_1g_untracked(_metadata, self, SPT_TEST_PHYS, 3);
	map_1g_untracked(_metadata, self, SPT_TEST_PHYS + SZ_2M, 2);
	map_1g_untracked(_metadata, self, SPT_TEST_PHYS + SZ_4K, 1);
}

/*
 * One map call of 1 GiB of tracked 2 MiB frames, when the pool (pool_mb,
 * fixed at load) can hold it; otherwise the largest that fits, and the log
 * says so.
 */
TEST_F_TIMEOUT(ops, map_1g_tracked, 300)
{
	__u64 len, mapped, free_chunks, unmapped;
	struct spt_stats st;
	char mb[32], buf[64], back[64];
	double t0, t1;

	test_cmd_stats(self->id, &st);
	/* Leave one 2 MiB chunk for page-table nodes. */
	free_chunks = (st.pool_limit_frames - st.pool_chunk_frames) / 512;
	ASSERT_LT(1, free_chunks);
	len = (free_chunks - 1) * SZ_2M;
	if (len > SZ_1G)
		len = SZ_1G;
	snprintf(mb, sizeof(mb), "%llu", len / SZ_1M + 16);
	ASSERT_EQ(0, spt_env_param(&self->env, "space_mb", mb));
	/* space_mb is read at creation. */
	test_cmd_space_destroy(self->id);
	test_cmd_space_create(0, &self->id);
	if (len < SZ_1G)
		TH_LOG("pool_mb=%llu cannot hold 1 GiB of frames: mapping %llu MiB instead",
		       st.pool_limit_frames * SZ_4K / SZ_1M, len / SZ_1M);
	t0 = spt_now();
	ASSERT_EQ(0, _spt_map(self->env.fd, self->id, SPT_MAP_2M, self->va,
			      len, 0, SPT_PROT_WRITE, 0, &mapped));
	t1 = spt_now();
	EXPECT_EQ(len, mapped);
	test_cmd_stats(self->id, &st);
	EXPECT_EQ(len / SZ_2M, st.space_leaves[1]);
	EXPECT_EQ(len / SZ_4K, st.space_data_frames);
	spt_fill(buf, self->va + len - 64, 64, 1);
	test_cmd_rw(self->id, SPT_RW_WRITE, self->va + len - 64, buf, 64);
	test_cmd_rw(self->id, 0, self->va + len - 64, back, 64);
	EXPECT_EQ(0, memcmp(buf, back, 64));
	test_cmd_check(self->id);
	test_cmd_unmap(self->id, self->va, len, &unmapped);
	EXPECT_EQ(len / SZ_2M, unmapped);
	TH_LOG("%llu MiB tracked 2 MiB frames: map %.3f s, unmap %.3f s",
	       len / SZ_1M, t1 - t0, spt_now() - t1);
}

/* =====================================================================
 * Fixture "limits": operations that stop part-way must say exactly how
 * far they got and leave a consistent space.
 */

FIXTURE(limits) {
	struct spt_env env;
	__u64 va;
};

FIXTURE_SETUP(limits)
{
	spt_env_setup(_metadata, &self->env);
	self->va = SPT_TEST_VA;
}

FIXTURE_TEARDOWN(limits)
{
	spt_env_teardown(_metadata, &self->env);
}

/*
 * What is mapped from @va on is exactly [va, va + mapped): checked by the
 * stats (leaf count) and by queries at both edges.
 */
static void check_prefix(struct __test_metadata *_metadata, int fd, __u32 id,
			 __u64 va, __u64 mapped, unsigned int level)
{
	struct spt_query_entry e;
	struct spt_stats st;

	ASSERT_EQ(0, _spt_stats(fd, id, &st));
	EXPECT_EQ(mapped / level_size(level), st.space_leaves[level - 1]);
	EXPECT_EQ(mapped / SZ_4K, st.space_data_frames);
	if (mapped) {
		ASSERT_EQ(0, _spt_query(fd, id, va + mapped - 1, &e));
		EXPECT_EQ(SPT_QUERY_MAPPED | SPT_QUERY_TRACKED, e.flags);
	}
	ASSERT_EQ(0, _spt_query(fd, id, va + mapped, &e));
	EXPECT_EQ(0, e.flags);
	EXPECT_EQ(0, spt_check_log(_metadata, fd, id));
}

/* space_mb hit midway: ENOSPC, out_mapped says how far, space consistent. */
TEST_F(limits, enospc_space_mb)
{
	__u64 mapped, unmapped;
	__u32 id;

	ASSERT_EQ(0, spt_env_param(&self->env, "space_mb", "4"));
	test_cmd_space_create(0, &id);
	/* 4 KiB frames from an aligned start: exactly 4 MiB. */
	EXPECT_ERRNO(ENOSPC, _spt_map(self->env.fd, id, SPT_MAP_4K, self->va,
				      8 * SZ_1M, 0, 0, 0, &mapped));
	EXPECT_EQ(4 * SZ_1M, mapped);
	check_prefix(_metadata, self->env.fd, id, self->va, mapped, 1);
	/* Full: a further map maps nothing and changes nothing. */
	EXPECT_ERRNO(ENOSPC, _spt_map(self->env.fd, id, SPT_MAP_4K,
				      self->va + 8 * SZ_1M, SZ_4K, 0, 0, 0,
				      &mapped));
	EXPECT_EQ(0, mapped);
	check_prefix(_metadata, self->env.fd, id, self->va, 4 * SZ_1M, 1);
	/* Unmapping gives the quota back. */
	test_cmd_unmap(id, self->va, SZ_4K, &unmapped);
	test_cmd_map(id, SPT_MAP_4K, self->va + 8 * SZ_1M, SZ_4K, 0, 0);
	test_cmd_unmap(id, self->va, 16 * SZ_1M, &unmapped);
	EXPECT_EQ(1024, unmapped);

	/* 2 MiB frames: exactly 4 MiB too. */
	EXPECT_ERRNO(ENOSPC, _spt_map(self->env.fd, id, SPT_MAP_2M, self->va,
				      8 * SZ_1M, 0, 0, 0, &mapped));
	EXPECT_EQ(4 * SZ_1M, mapped);
	check_prefix(_metadata, self->env.fd, id, self->va, mapped, 2);
	test_cmd_unmap(id, self->va, 8 * SZ_1M, &unmapped);
	EXPECT_EQ(2, unmapped);

	/* From an unaligned start: wherever it stops, it says so. */
	EXPECT_ERRNO(ENOSPC, _spt_map(self->env.fd, id, SPT_MAP_4K,
				      self->va + SZ_1M, 8 * SZ_1M, 0, 0, 0,
				      &mapped));
	EXPECT_LE(mapped, 4 * SZ_1M);
	EXPECT_LT(4 * SZ_1M - SZ_2M, mapped);
	EXPECT_EQ(0, mapped & (SZ_4K - 1));
	check_prefix(_metadata, self->env.fd, id, self->va + SZ_1M, mapped, 1);
}

/*
 * Replacing a space's mappings by as many new ones needs no more quota:
 * REPLACE over a space that is at its space_mb limit must work.
 */
TEST_F(limits, replace_at_space_limit)
{
	__u64 mapped;
	__u32 id;

	ASSERT_EQ(0, spt_env_param(&self->env, "space_mb", "4"));
	test_cmd_space_create(0, &id);
	test_cmd_map(id, SPT_MAP_4K, self->va, 4 * SZ_1M, 0, 0);
	mapped = 0xdeadbeef;
	EXPECT_EQ(0, _spt_map(self->env.fd, id, SPT_MAP_4K | SPT_MAP_REPLACE,
			      self->va, 4 * SZ_1M, 0, SPT_PROT_WRITE, 0,
			      &mapped));
	if (mapped != 4 * SZ_1M)
		TH_LOG("REPLACE at the limit: %s, out_mapped %llu",
		       strerror(errno), mapped);
	EXPECT_EQ(4 * SZ_1M, mapped);
	check_prefix(_metadata, self->env.fd, id, self->va, 4 * SZ_1M, 1);
}

/* The pool (pool_mb) runs out midway: ENOMEM, exact progress. */
TEST_F_TIMEOUT(limits, enomem_pool, 300)
{
	__u64 len, mapped, unmapped;
	struct spt_stats st0, st;
	char mb[32];
	__u32 id;

	ASSERT_EQ(0, _spt_stats(self->env.fd, 0, &st0));
	/* More than the whole pool, and a per-space limit above that. */
	len = (st0.pool_limit_frames * SZ_4K + 64 * SZ_1M) & ~(SZ_2M - 1);
	snprintf(mb, sizeof(mb), "%llu", 2 * len / SZ_1M);
	ASSERT_EQ(0, spt_env_param(&self->env, "space_mb", mb));
	test_cmd_space_create(0, &id);
	EXPECT_ERRNO(ENOMEM, _spt_map(self->env.fd, id, SPT_MAP_2M, self->va,
				      len, 0, 0, 0, &mapped));
	EXPECT_LT(0, mapped);
	EXPECT_GT(len, mapped);
	EXPECT_EQ(0, mapped & (SZ_2M - 1));
	check_prefix(_metadata, self->env.fd, id, self->va, mapped, 2);
	ASSERT_EQ(0, _spt_stats(self->env.fd, 0, &st));
	EXPECT_LT(st0.pool_alloc_failures, st.pool_alloc_failures);
	EXPECT_GE(st.pool_limit_frames, st.pool_chunk_frames);
	TH_LOG("pool of %llu MiB: ENOMEM after %llu MiB",
	       st0.pool_limit_frames * SZ_4K / SZ_1M, mapped / SZ_1M);
	test_cmd_unmap(id, self->va, len, &unmapped);
	EXPECT_EQ(mapped / SZ_2M, unmapped);
	check_prefix(_metadata, self->env.fd, id, self->va, 0, 2);
}

/*
 * Every allocation of a map in turn fails (debugfs fail-nth): the map
 * either succeeds or fails with ENOMEM having mapped exactly what it says,
 * and nothing leaks.
 */
TEST_F_TIMEOUT(limits, enomem_each_allocation, 300)
{
	__u64 mapped, unmapped;
	struct spt_stats created, st;
	unsigned int n;
	__u32 id;
	int ret;

	if (access(SPT_FAIL_NTH, W_OK))
		SKIP(return, "%s not available", SPT_FAIL_NTH);
	test_cmd_space_create(0, &id);
	test_cmd_stats(id, &created);
	for (n = 1; n < 4000; n++) {
		long left;

		ASSERT_EQ(0, spt_fail_nth_set(n));
		ret = _spt_map(self->env.fd, id, SPT_MAP_LARGEST,
			       self->va + SZ_1G - SZ_1M, 5 * SZ_1M, 0, 0, 0,
			       &mapped);
		left = spt_fail_nth_get();
		ASSERT_EQ(0, spt_fail_nth_set(0));
		if (!ret) {
			/* Either nothing failed (done) or it was absorbed. */
			ASSERT_EQ(5 * SZ_1M, mapped);
			if (left > 0)
				break;
			test_cmd_check(id);
			test_cmd_unmap(id, self->va, 2 * SZ_1G, &unmapped);
			continue;
		}
		ASSERT_EQ(ENOMEM, errno);
		ASSERT_EQ(0, left);
		ASSERT_EQ(0, mapped & (SZ_4K - 1));
		ASSERT_GT(5 * SZ_1M, mapped);
		if (mapped) {
			struct spt_query_entry e;

			test_cmd_query(id, self->va + SZ_1G - SZ_1M + mapped - 1,
				       &e);
			ASSERT_EQ(SPT_QUERY_MAPPED | SPT_QUERY_TRACKED, e.flags);
		}
		test_cmd_stats(id, &st);
		ASSERT_EQ(mapped / SZ_4K, st.space_data_frames);
		test_cmd_check(id);
		test_cmd_unmap(id, self->va, 2 * SZ_1G, &unmapped);
		test_cmd_stats(id, &st);
		ASSERT_EQ(created.pool_used_frames, st.pool_used_frames);
	}
	TH_LOG("the map needs %u allocations", n - 1);
	ASSERT_GT(4000, n);
	ASSERT_LT(1, n);
	test_cmd_check(id);
}

static volatile unsigned long ticks;

static void tick(int sig)
{
	ticks++;
}

/* Send this process SIGUSR1 every @us microseconds (0: stop). */
static int ticker(timer_t *t, bool *armed, long us)
{
	struct sigevent sev = { .sigev_notify = SIGEV_SIGNAL,
				.sigev_signo = SIGUSR1 };
	struct itimerspec its = {
		.it_value = { .tv_nsec = us * 1000 },
		.it_interval = { .tv_nsec = us * 1000 },
	};
	struct sigaction sa = { .sa_handler = tick };	/* no SA_RESTART */

	if (!*armed) {
		if (sigaction(SIGUSR1, &sa, NULL) ||
		    timer_create(CLOCK_MONOTONIC, &sev, t))
			return -1;
		*armed = true;
	}
	return timer_settime(*t, 0, &its, NULL);
}

/*
 * A signal interrupts a long map between windows: EINTR, out_mapped says
 * how far it got, the space is consistent; rw likewise.
 */
TEST_F_TIMEOUT(limits, eintr, 300)
{
	__u64 len = 128 * SZ_1M, mapped, done;
	bool armed = false;
	char mb[32], *buf;
	timer_t t;
	__u32 id;
	int ret;

	snprintf(mb, sizeof(mb), "%llu", 2 * len / SZ_1M);
	ASSERT_EQ(0, spt_env_param(&self->env, "space_mb", mb));
	test_cmd_space_create(0, &id);
	ASSERT_EQ(0, ticker(&t, &armed, 5000));
	ret = _spt_map(self->env.fd, id, SPT_MAP_4K, self->va, len, 0, 0, 0,
		       &mapped);
	ASSERT_EQ(0, ticker(&t, &armed, 0));
	TH_LOG("map of %llu MiB: %s after %llu MiB, %lu signals", len / SZ_1M,
	       ret ? strerror(errno) : "done", mapped / SZ_1M, ticks);
	ASSERT_EQ(-1, ret);
	ASSERT_EQ(EINTR, errno);
	EXPECT_GT(len, mapped);
	EXPECT_EQ(0, mapped & (SZ_4K - 1));
	check_prefix(_metadata, self->env.fd, id, self->va, mapped, 1);

	/* rw of 16 MiB through 2 MiB frames, interrupted or not. */
	buf = malloc(SZ_16M);
	ASSERT_NE(NULL, buf);
	test_cmd_map(id, SPT_MAP_2M, self->va + SZ_1G, SZ_16M, 0, 0);
	ASSERT_EQ(0, ticker(&t, &armed, 1000));
	ret = _spt_rw(self->env.fd, id, 0, self->va + SZ_1G, buf, SZ_16M,
		      &done);
	ASSERT_EQ(0, ticker(&t, &armed, 0));
	if (ret) {
		EXPECT_EQ(EINTR, errno);
		EXPECT_GT(SZ_16M, done);
	} else {
		EXPECT_EQ(SZ_16M, done);
	}
	TH_LOG("rw of 16 MiB: %s after %llu KiB", ret ? "EINTR" : "done",
	       done / 1024);
	timer_delete(t);
	free(buf);
	test_cmd_check(id);
}

/* max_spaces: creating one more than allowed is ENOSPC, nothing made. */
TEST_F(limits, enospc_max_spaces)
{
	struct spt_counters c;
	char val[32];
	__u32 id;

	snprintf(val, sizeof(val), "%llu", self->env.base.nr_spaces + 2);
	ASSERT_EQ(0, spt_env_param(&self->env, "max_spaces", val));
	test_cmd_space_create(0, &id);
	test_cmd_space_create(SPT_SPACE_FD_OWNED, &id);
	test_err_space_create(ENOSPC, 0);
	test_err_space_create(ENOSPC, SPT_SPACE_FD_OWNED);
	ASSERT_EQ(0, spt_counters_read(self->env.fd, &c));
	EXPECT_EQ(self->env.base.nr_spaces + 2, c.nr_spaces);
	/* Room again after a destroy. */
	test_cmd_space_destroy(id);
	test_cmd_space_create(0, &id);
}

/* =====================================================================
 * Fixture "bad": the errno table of the uAPI header, one test per row.
 * A prepared space (4 KiB and 2 MiB tracked leaves, untracked 4 KiB
 * leaves) is snapshotted in setup; every test checks the exact errno and
 * that the snapshot did not change.
 */

#define BAD_4K	(SPT_TEST_VA)			/* 4 pages, tracked */
#define BAD_2M	(SPT_TEST_VA + SZ_2M)		/* one 2 MiB leaf, tracked */
#define BAD_PHY	(SPT_TEST_VA + 2 * SZ_2M + SZ_4K) /* 4 pages, untracked */
#define BAD_FREE (SPT_TEST_VA + 4 * SZ_2M)	/* nothing mapped */
#define BAD_LEN	(5 * SZ_2M)

FIXTURE(bad) {
	struct spt_env env;
	__u32 id;
	bool phys_ok;
	__u64 end;	/* out_user_end */
	struct spt_snapshot snap;
};

FIXTURE_SETUP(bad)
{
	spt_env_setup(_metadata, &self->env);
	self->end = self->env.ver.out_user_end;
	self->phys_ok = spt_env_allow_phys(&self->env) == 0;
	test_cmd_space_create(0, &self->id);
	test_cmd_map(self->id, SPT_MAP_4K, BAD_4K, 4 * SZ_4K, 0,
		     SPT_PROT_WRITE | SPT_PROT_USER);
	test_cmd_map(self->id, SPT_MAP_2M, BAD_2M, SZ_2M, 0, SPT_PROT_EXEC);
	if (self->phys_ok)
		test_cmd_map(self->id, SPT_MAP_PHYS, BAD_PHY, 4 * SZ_4K,
			     SPT_TEST_PHYS + SZ_4K, SPT_PROT_WRITE);
	ASSERT_EQ(0, spt_snapshot_take(self->env.fd, self->id, SPT_TEST_VA,
				       BAD_LEN, &self->snap));
}

FIXTURE_TEARDOWN(bad)
{
	spt_snapshot_free(&self->snap);
	spt_env_teardown(_metadata, &self->env);
}

#define ASSERT_UNCHANGED() ASSERT_SNAPSHOT_UNCHANGED(self->env.fd, &self->snap)

/* A map with everything valid except what the test changes. */
#define MAP_OK(...)							\
	((struct spt_map){ .size = sizeof(struct spt_map),		\
			   .flags = SPT_MAP_4K, .space_id = self->id,	\
			   .va = BAD_FREE, .length = SZ_4K, __VA_ARGS__ })

static int do_map(int fd, struct spt_map m)
{
	return ioctl(fd, SPT_IOCTL_MAP, &m);
}

#define test_bad_map(_errno, ...)					\
	EXPECT_ERRNO(_errno, do_map(self->env.fd, MAP_OK(__VA_ARGS__)))

TEST_F(bad, map_unaligned_va)
{
	test_bad_map(EINVAL, .va = BAD_FREE + 1);
	test_bad_map(EINVAL, .va = BAD_FREE + 0x800);
	test_bad_map(EINVAL, .va = BAD_FREE + SZ_4K - 1);
	ASSERT_UNCHANGED();
}

TEST_F(bad, map_unaligned_len)
{
	test_bad_map(EINVAL, .length = 1);
	test_bad_map(EINVAL, .length = SZ_4K + 0x800);
	test_bad_map(EINVAL, .length = 2 * SZ_4K - 1);
	ASSERT_UNCHANGED();
}

TEST_F(bad, map_zero_len)
{
	test_bad_map(EINVAL, .length = 0);
	test_bad_map(EINVAL, .length = 0, .flags = SPT_MAP_2M,
		     .va = SPT_TEST_VA + SZ_1G);
	ASSERT_UNCHANGED();
}

TEST_F(bad, map_range_overflow)
{
	/* va + length wraps to 0 or just above. */
	test_bad_map(EINVAL, .length = -BAD_FREE);
	test_bad_map(EINVAL, .length = -BAD_FREE + SZ_4K);
	test_bad_map(EINVAL, .length = ~(SZ_4K - 1));
	test_bad_map(EINVAL, .va = ~(SZ_4K - 1), .length = 2 * SZ_4K);
	ASSERT_UNCHANGED();
}

TEST_F(bad, map_beyond_user_half)
{
	test_bad_map(EINVAL, .va = self->end - SZ_4K, .length = 2 * SZ_4K);
	test_bad_map(EINVAL, .va = 0, .length = self->end + SZ_4K);
	test_bad_map(EINVAL, .va = self->end, .length = SZ_4K);
	ASSERT_UNCHANGED();
	/* The last page of the user half itself is fine. */
	EXPECT_EQ(0, do_map(self->env.fd, MAP_OK(.va = self->end - SZ_4K)));
}

TEST_F(bad, map_kernel_half_va)
{
	test_bad_map(EINVAL, .va = 0xffff888000000000ULL);
	test_bad_map(EINVAL, .va = 0xffffffff80000000ULL);
	test_bad_map(EINVAL, .va = 0xff11000000000000ULL);
	test_bad_map(EINVAL, .va = -SZ_4K);
	ASSERT_UNCHANGED();
}

TEST_F(bad, map_noncanonical_va)
{
	/* Between the halves: never canonical, whatever the paging mode. */
	test_bad_map(EINVAL, .va = 0x0100000000000000ULL);
	test_bad_map(EINVAL, .va = 0x8000000000000000ULL);
	test_bad_map(EINVAL, .va = 0x7ffffffffffff000ULL);
	if (self->end == 1ULL << 47)
		test_bad_map(EINVAL, .va = 0x0000800000000000ULL);
	ASSERT_UNCHANGED();
}

TEST_F(bad, map_global_bit)
{
	test_bad_map(EINVAL, .prot = SPT_PROT_GLOBAL);
	test_bad_map(EINVAL, .prot = SPT_PROT_GLOBAL | SPT_PROT_WRITE);
	ASSERT_UNCHANGED();
}

TEST_F(bad, map_accessed_dirty_bits)
{
	test_bad_map(EINVAL, .prot = SPT_PROT_ACCESSED);
	test_bad_map(EINVAL, .prot = SPT_PROT_DIRTY);
	test_bad_map(EINVAL, .prot = SPT_PROT_ACCESSED | SPT_PROT_DIRTY |
		     SPT_PROT_WRITE);
	ASSERT_UNCHANGED();
}

TEST_F(bad, map_unknown_prot)
{
	unsigned int bit;

	for (bit = 6; bit < 32; bit++)
		test_bad_map(EINVAL, .prot = 1U << bit);
	ASSERT_UNCHANGED();
}

TEST_F(bad, map_unknown_cache)
{
	test_bad_map(EINVAL, .cache = SPT_CACHE_MODE_PAT7 + 1);
	test_bad_map(EINVAL, .cache = 0x80000000);
	test_bad_map(EINVAL, .cache = 0xffffffff);
	ASSERT_UNCHANGED();
}

TEST_F(bad, map_unknown_flags)
{
	unsigned int bit;

	for (bit = 5; bit < 32; bit++) {
		/* SPT_MAP_USER | SPT_MAP_4K is valid: src_va 0 is EFAULT. */
		if (1U << bit == SPT_MAP_USER)
			continue;
		test_bad_map(EINVAL, .flags = SPT_MAP_4K | 1U << bit);
	}
	ASSERT_UNCHANGED();
}

TEST_F(bad, map_two_size_flags)
{
	test_bad_map(EINVAL, .flags = SPT_MAP_4K | SPT_MAP_2M);
	test_bad_map(EINVAL, .flags = SPT_MAP_4K | SPT_MAP_LARGEST);
	test_bad_map(EINVAL, .flags = SPT_MAP_2M | SPT_MAP_LARGEST,
		     .va = SPT_TEST_VA + SZ_1G, .length = SZ_2M);
	test_bad_map(EINVAL, .flags = SPT_MAP_4K | SPT_MAP_2M | SPT_MAP_LARGEST);
	/* And none at all. */
	test_bad_map(EINVAL, .flags = 0);
	test_bad_map(EINVAL, .flags = SPT_MAP_REPLACE);
	ASSERT_UNCHANGED();
}

TEST_F(bad, map_phys_without_flag)
{
	test_bad_map(EINVAL, .phys = SPT_TEST_PHYS);
	test_bad_map(EINVAL, .phys = SZ_4K, .flags = SPT_MAP_LARGEST);
	ASSERT_UNCHANGED();
}

TEST_F(bad, map_phys_with_size_flag)
{
	test_bad_map(EINVAL, .flags = SPT_MAP_PHYS | SPT_MAP_4K,
		     .phys = SPT_TEST_PHYS);
	test_bad_map(EINVAL, .flags = SPT_MAP_PHYS | SPT_MAP_2M,
		     .va = SPT_TEST_VA + SZ_1G, .length = SZ_2M,
		     .phys = SPT_TEST_PHYS);
	ASSERT_UNCHANGED();
}

TEST_F(bad, map_phys_bad_address)
{
	__u64 top = 1ULL << self->env.ver.out_phys_bits;

	test_bad_map(EINVAL, .flags = SPT_MAP_PHYS, .phys = SPT_TEST_PHYS + 1);
	test_bad_map(EINVAL, .flags = SPT_MAP_PHYS,
		     .phys = SPT_TEST_PHYS + 0x800);
	/* Beyond MAXPHYADDR, or running past it, or wrapping. */
	test_bad_map(EINVAL, .flags = SPT_MAP_PHYS, .phys = top);
	test_bad_map(EINVAL, .flags = SPT_MAP_PHYS, .phys = top - SZ_4K,
		     .length = 2 * SZ_4K);
	test_bad_map(EINVAL, .flags = SPT_MAP_PHYS, .phys = -SZ_4K,
		     .length = 2 * SZ_4K);
	ASSERT_UNCHANGED();
}

TEST_F(bad, map_nonzero_reserved)
{
	test_bad_map(EINVAL, .__reserved = 1);
	test_bad_map(EINVAL, .__reserved = 0x80000000);
	ASSERT_UNCHANGED();
}

TEST_F(bad, map_2m_unaligned)
{
	__u64 va = SPT_TEST_VA + SZ_1G;

	test_bad_map(EINVAL, .flags = SPT_MAP_2M, .va = va + SZ_4K,
		     .length = SZ_2M);
	test_bad_map(EINVAL, .flags = SPT_MAP_2M, .va = va + SZ_1M,
		     .length = SZ_2M);
	test_bad_map(EINVAL, .flags = SPT_MAP_2M, .va = va, .length = SZ_4K);
	test_bad_map(EINVAL, .flags = SPT_MAP_2M, .va = va,
		     .length = SZ_2M + SZ_4K);
	ASSERT_UNCHANGED();
}

TEST_F(bad, map_eexist)
{
	struct spt_map m;

	test_bad_map(EEXIST, .va = BAD_4K);
	test_bad_map(EEXIST, .va = BAD_4K + 3 * SZ_4K, .length = 2 * SZ_4K);
	test_bad_map(EEXIST, .va = BAD_4K - SZ_4K, .length = 2 * SZ_4K);
	test_bad_map(EEXIST, .va = BAD_2M + SZ_1M);
	test_bad_map(EEXIST, .flags = SPT_MAP_2M, .va = BAD_2M,
		     .length = SZ_2M);
	test_bad_map(EEXIST, .va = SPT_TEST_VA, .length = BAD_LEN);
	/* The header: out_mapped is written also on failure. */
	m = MAP_OK(.va = BAD_2M, .length = 2 * SZ_2M,
		   .out_mapped = 0xdeadbeef);
	EXPECT_ERRNO(EEXIST, ioctl(self->env.fd, SPT_IOCTL_MAP, &m));
	EXPECT_EQ(0, m.out_mapped);
	if (self->phys_ok)
		test_bad_map(EEXIST, .va = BAD_PHY + SZ_4K, .length = SZ_4K,
			     .flags = SPT_MAP_PHYS, .phys = SPT_TEST_PHYS);
	ASSERT_UNCHANGED();
}

/* Space ids that never existed, and one that is gone. */
static void enoent_all(struct __test_metadata *_metadata, int fd, __u32 id)
{
	struct spt_query_entry e;
	char buf[8];
	__u64 va = BAD_4K;

	EXPECT_ERRNO(ENOENT, _spt_space_info(fd, id, NULL));
	EXPECT_ERRNO(ENOENT, _spt_map(fd, id, SPT_MAP_4K, BAD_FREE, SZ_4K, 0,
				      0, 0, NULL));
	EXPECT_ERRNO(ENOENT, _spt_unmap(fd, id, BAD_4K, SZ_4K, NULL, NULL));
	EXPECT_ERRNO(ENOENT, _spt_protect(fd, id, 0, BAD_4K, SZ_4K, 0, 0,
					  NULL, NULL));
	EXPECT_ERRNO(ENOENT, _spt_query(fd, id, BAD_4K, &e));
	EXPECT_ERRNO(ENOENT, _spt_query_batch(fd, id, &va, &e, 1, NULL));
	EXPECT_ERRNO(ENOENT, _spt_rw(fd, id, 0, BAD_4K, buf, sizeof(buf),
				     NULL));
	EXPECT_ERRNO(ENOENT, _spt_rw(fd, id, SPT_RW_WRITE, BAD_4K, buf,
				     sizeof(buf), NULL));
	EXPECT_ERRNO(ENOENT, _spt_stats(fd, id, NULL));
	EXPECT_ERRNO(ENOENT, _spt_check(fd, id, NULL, 0));
	{
		struct spt_load_op op = { .op = SPT_LOAD_OP_READ, .width = 8,
					  .va = BAD_4K };

		EXPECT_ERRNO(ENOENT, _spt_load(fd, id, &op, 1, NULL));
	}
	EXPECT_ERRNO(ENOENT, _spt_space_destroy(fd, id));
}

TEST_F(bad, enoent_unknown_id)
{
	enoent_all(_metadata, self->env.fd, self->id + 1000000);
	enoent_all(_metadata, self->env.fd, 0xffffffff);
	enoent_all(_metadata, self->env.fd, 0x7fffffff);
	ASSERT_UNCHANGED();
}

/* Id 0 means "the pool" for stats only; elsewhere it is no space. */
TEST_F(bad, enoent_id_zero)
{
	struct spt_query_entry e;
	char buf[8];
	__u64 va = BAD_4K;
	int fd = self->env.fd;

	EXPECT_ERRNO(ENOENT, _spt_space_info(fd, 0, NULL));
	EXPECT_ERRNO(ENOENT, _spt_map(fd, 0, SPT_MAP_4K, BAD_FREE, SZ_4K, 0,
				      0, 0, NULL));
	EXPECT_ERRNO(ENOENT, _spt_unmap(fd, 0, BAD_4K, SZ_4K, NULL, NULL));
	EXPECT_ERRNO(ENOENT, _spt_protect(fd, 0, 0, BAD_4K, SZ_4K, 0, 0,
					  NULL, NULL));
	EXPECT_ERRNO(ENOENT, _spt_query(fd, 0, BAD_4K, &e));
	EXPECT_ERRNO(ENOENT, _spt_query_batch(fd, 0, &va, &e, 1, NULL));
	EXPECT_ERRNO(ENOENT, _spt_rw(fd, 0, 0, BAD_4K, buf, 8, NULL));
	EXPECT_ERRNO(ENOENT, _spt_check(fd, 0, NULL, 0));
	EXPECT_ERRNO(ENOENT, _spt_space_destroy(fd, 0));
	ASSERT_UNCHANGED();
}

TEST_F(bad, enoent_destroyed_id)
{
	__u32 id;

	test_cmd_space_create(0, &id);
	test_cmd_map(id, SPT_MAP_4K, BAD_4K, SZ_4K, 0, 0);
	test_cmd_space_destroy(id);
	enoent_all(_metadata, self->env.fd, id);
	test_cmd_space_create(SPT_SPACE_FD_OWNED, &id);
	test_cmd_space_destroy(id);
	enoent_all(_metadata, self->env.fd, id);
	ASSERT_UNCHANGED();
}

/* Validation comes before the lookup: a bad argument on a bad id is EINVAL. */
TEST_F(bad, einval_before_enoent)
{
	test_bad_map(EINVAL, .space_id = 0xffffffff, .va = BAD_FREE + 1);
	EXPECT_ERRNO(EINVAL, _spt_unmap(self->env.fd, 0xffffffff, BAD_4K, 0,
					NULL, NULL));
	EXPECT_ERRNO(EINVAL, _spt_query(self->env.fd, 0xffffffff, self->end,
					NULL));
	ASSERT_UNCHANGED();
}

/* ---- EFAULT: the struct itself. ---- */

struct ioctl_desc {
	const char *name;
	unsigned long nr;
	__u32 size;
};

static const struct ioctl_desc all_ioctls[] = {
	{ "VERSION", SPT_IOCTL_VERSION, sizeof(struct spt_version) },
	{ "SPACE_CREATE", SPT_IOCTL_SPACE_CREATE,
	  sizeof(struct spt_space_create) },
	{ "SPACE_DESTROY", SPT_IOCTL_SPACE_DESTROY,
	  sizeof(struct spt_space_destroy) },
	{ "SPACE_INFO", SPT_IOCTL_SPACE_INFO, sizeof(struct spt_space_info) },
	{ "MAP", SPT_IOCTL_MAP, sizeof(struct spt_map) },
	{ "UNMAP", SPT_IOCTL_UNMAP, sizeof(struct spt_unmap) },
	{ "PROTECT", SPT_IOCTL_PROTECT, sizeof(struct spt_protect) },
	{ "QUERY", SPT_IOCTL_QUERY, sizeof(struct spt_query_va) },
	{ "QUERY_BATCH", SPT_IOCTL_QUERY_BATCH,
	  sizeof(struct spt_query_batch) },
	{ "RW", SPT_IOCTL_RW, sizeof(struct spt_rw) },
	{ "STATS", SPT_IOCTL_STATS, sizeof(struct spt_stats) },
	{ "CHECK", SPT_IOCTL_CHECK, sizeof(struct spt_check) },
	{ "LOAD", SPT_IOCTL_LOAD, sizeof(struct spt_load) },
	{ "QUERY_RANGE", SPT_IOCTL_QUERY_RANGE,
	  sizeof(struct spt_query_range) },
};

TEST_F(bad, efault_struct)
{
	void *hole = spt_fault_page();
	char *guard = spt_guarded_page();
	unsigned int i;

	ASSERT_NE(NULL, hole);
	ASSERT_NE(NULL, guard);
	for (i = 0; i < ARRAY_SIZE(all_ioctls); i++) {
		const struct ioctl_desc *d = &all_ioctls[i];
		/* Only the size field is readable; the rest is in the hole. */
		__u32 *straddle = (__u32 *)(guard + SZ_4K - sizeof(__u32));

		TH_LOG("%s", d->name);
		EXPECT_ERRNO(EFAULT, ioctl(self->env.fd, d->nr, NULL));
		EXPECT_ERRNO(EFAULT, ioctl(self->env.fd, d->nr, hole));
		EXPECT_ERRNO(EFAULT, ioctl(self->env.fd, d->nr,
					   (void *)(uintptr_t)-SZ_4K));
		*straddle = d->size;
		EXPECT_ERRNO(EFAULT, ioctl(self->env.fd, d->nr, straddle));
	}
	munmap(hole, SZ_4K);
	munmap(guard, 2 * SZ_4K);
	ASSERT_UNCHANGED();
}

/*
 * A read-only struct cannot take the answer: EFAULT before anything is
 * done, so no space is made and no map, unmap, protect or load window
 * changes the space (its progress could not be reported otherwise).
 */
TEST_F(bad, efault_readonly_struct)
{
	struct spt_space_create *c;
	struct spt_version *v;
	struct spt_counters cnt;
	struct spt_map *m;
	struct spt_unmap *u;
	struct spt_protect *pr;
	struct spt_load *l;
	struct spt_load_op *op;
	char *p;

	p = mmap(NULL, SZ_4K, PROT_READ | PROT_WRITE,
		 MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
	ASSERT_NE(MAP_FAILED, p);
	v = (void *)p;
	c = (void *)(p + 256);
	m = (void *)(p + 512);
	u = (void *)(p + 1024);
	pr = (void *)(p + 1536);
	op = (void *)(p + 3072);
	v->size = sizeof(*v);
	c->size = sizeof(*c);
	*m = (struct spt_map){ .size = sizeof(*m), .space_id = self->id,
			       .flags = SPT_MAP_4K, .va = BAD_FREE,
			       .length = SZ_4K, .prot = SPT_PROT_WRITE };
	*u = (struct spt_unmap){ .size = sizeof(*u), .space_id = self->id,
				 .va = BAD_4K, .length = SZ_4K };
	*pr = (struct spt_protect){ .size = sizeof(*pr), .space_id = self->id,
				    .va = BAD_4K, .length = SZ_4K };
	/* The ops array is read-only, the struct writable. */
	*op = (struct spt_load_op){ .op = SPT_LOAD_OP_UNMAP, .va = BAD_4K,
				    .length = SZ_4K };
	ASSERT_EQ(0, mprotect(p, SZ_4K, PROT_READ));
	EXPECT_ERRNO(EFAULT, ioctl(self->env.fd, SPT_IOCTL_VERSION, v));
	EXPECT_ERRNO(EFAULT, ioctl(self->env.fd, SPT_IOCTL_SPACE_CREATE, c));
	ASSERT_EQ(0, spt_counters_read(self->env.fd, &cnt));
	EXPECT_EQ(self->env.base.nr_spaces + 1, cnt.nr_spaces);
	EXPECT_ERRNO(EFAULT, ioctl(self->env.fd, SPT_IOCTL_MAP, m));
	EXPECT_ERRNO(EFAULT, ioctl(self->env.fd, SPT_IOCTL_UNMAP, u));
	EXPECT_ERRNO(EFAULT, ioctl(self->env.fd, SPT_IOCTL_PROTECT, pr));
	ASSERT_UNCHANGED();
	l = calloc(1, sizeof(*l));
	ASSERT_NE(NULL, l);
	*l = (struct spt_load){ .size = sizeof(*l), .space_id = self->id,
				.nr_ops = 1, .op_size = sizeof(*op),
				.ops = (uintptr_t)op };
	EXPECT_ERRNO(EFAULT, ioctl(self->env.fd, SPT_IOCTL_LOAD, l));
	free(l);
	munmap(p, SZ_4K);
	ASSERT_UNCHANGED();
}

TEST_F(bad, map_eperm_allow_phys_0)
{
	ASSERT_EQ(0, spt_env_param(&self->env, "allow_phys", "0"));
	test_bad_map(EPERM, .flags = SPT_MAP_PHYS, .phys = SPT_TEST_PHYS);
	test_bad_map(EPERM, .flags = SPT_MAP_PHYS | SPT_MAP_REPLACE,
		     .phys = SPT_TEST_PHYS, .va = BAD_4K);
	/* Malformed is still EINVAL first. */
	test_bad_map(EINVAL, .flags = SPT_MAP_PHYS, .phys = SPT_TEST_PHYS,
		     .prot = SPT_PROT_GLOBAL);
	ASSERT_UNCHANGED();
}

struct rawio_arg {
	int fd;
	__u32 id;
};

static int map_phys_without_rawio(void *p)
{
	struct rawio_arg *a = p;
	int ret;

	if (spt_drop_effective_cap(CAP_SYS_RAWIO))
		return 2;
	ret = _spt_map(a->fd, a->id, SPT_MAP_PHYS, BAD_FREE, SZ_4K,
		       SPT_TEST_PHYS, 0, 0, NULL);
	if (ret != -1 || errno != EPERM) {
		fprintf(stderr, "# map without CAP_SYS_RAWIO: %d %s\n", ret,
			strerror(errno));
		return 1;
	}
	/* Tracked maps need no capability beyond the open descriptor. */
	if (_spt_map(a->fd, a->id, SPT_MAP_4K, BAD_FREE, SZ_4K, 0, 0, 0, NULL))
		return 3;
	if (_spt_unmap(a->fd, a->id, BAD_FREE, SZ_4K, NULL, NULL))
		return 4;
	return 0;
}

TEST_F(bad, map_eperm_no_rawio)
{
	struct rawio_arg a = { .fd = self->env.fd, .id = self->id };

	if (!self->phys_ok)
		SKIP(return, "allow_phys cannot be set");
	EXPECT_EQ(0, spt_run_child(map_phys_without_rawio, &a));
	ASSERT_UNCHANGED();
}

/* ---- unmap ---- */

TEST_F(bad, unmap_bad_range)
{
	test_err_unmap(EINVAL, self->id, BAD_4K + 1, SZ_4K);
	test_err_unmap(EINVAL, self->id, BAD_4K, SZ_4K + 1);
	test_err_unmap(EINVAL, self->id, BAD_4K, 0);
	test_err_unmap(EINVAL, self->id, BAD_4K, -BAD_4K);
	test_err_unmap(EINVAL, self->id, self->end - SZ_4K, 2 * SZ_4K);
	test_err_unmap(EINVAL, self->id, self->end, SZ_4K);
	test_err_unmap(EINVAL, self->id, 0xffff888000000000ULL, SZ_4K);
	test_err_unmap(EINVAL, self->id, 0x8000000000000000ULL, SZ_4K);
	test_err_unmap(EINVAL, self->id, 0, self->end + SZ_4K);
	ASSERT_UNCHANGED();
}

TEST_F(bad, unmap_flags_reserved)
{
	struct spt_unmap u = { .size = sizeof(u), .space_id = self->id,
			       .va = BAD_4K, .length = SZ_4K };

	u.flags = 1;
	EXPECT_ERRNO(EINVAL, ioctl(self->env.fd, SPT_IOCTL_UNMAP, &u));
	u.flags = 1U << 31;
	EXPECT_ERRNO(EINVAL, ioctl(self->env.fd, SPT_IOCTL_UNMAP, &u));
	u.flags = 0;
	u.__reserved = 1;
	EXPECT_ERRNO(EINVAL, ioctl(self->env.fd, SPT_IOCTL_UNMAP, &u));
	ASSERT_UNCHANGED();
}

/* ---- protect ---- */

TEST_F(bad, protect_bad_range)
{
	test_err_protect(EINVAL, self->id, 0, BAD_4K + 1, SZ_4K, 0, 0);
	test_err_protect(EINVAL, self->id, 0, BAD_4K, SZ_4K - 1, 0, 0);
	test_err_protect(EINVAL, self->id, 0, BAD_4K, 0, 0, 0);
	test_err_protect(EINVAL, self->id, 0, BAD_4K, -BAD_4K, 0, 0);
	test_err_protect(EINVAL, self->id, 0, self->end - SZ_4K, 2 * SZ_4K,
			 0, 0);
	test_err_protect(EINVAL, self->id, 0, 0xffffffff80000000ULL, SZ_4K,
			 0, 0);
	ASSERT_UNCHANGED();
}

TEST_F(bad, protect_bad_prot)
{
	unsigned int bit;

	test_err_protect(EINVAL, self->id, 0, BAD_4K, SZ_4K, SPT_PROT_GLOBAL,
			 0);
	test_err_protect(EINVAL, self->id, 0, BAD_4K, SZ_4K,
			 SPT_PROT_ACCESSED, 0);
	test_err_protect(EINVAL, self->id, 0, BAD_4K, SZ_4K, SPT_PROT_DIRTY,
			 0);
	for (bit = 6; bit < 32; bit++)
		test_err_protect(EINVAL, self->id, 0, BAD_4K, SZ_4K, 1U << bit,
				 0);
	ASSERT_UNCHANGED();
}

TEST_F(bad, protect_bad_cache)
{
	test_err_protect(EINVAL, self->id, SPT_PROTECT_CACHE, BAD_4K, SZ_4K,
			 0, SPT_CACHE_MODE_PAT7 + 1);
	test_err_protect(EINVAL, self->id, SPT_PROTECT_CACHE, BAD_4K, SZ_4K,
			 0, 0xffffffff);
	/* A cache mode without SPT_PROTECT_CACHE. */
	test_err_protect(EINVAL, self->id, 0, BAD_4K, SZ_4K, 0,
			 SPT_CACHE_MODE_UC);
	ASSERT_UNCHANGED();
}

TEST_F(bad, protect_flags_reserved)
{
	unsigned int bit;

	for (bit = 1; bit < 32; bit++)
		test_err_protect(EINVAL, self->id, 1U << bit, BAD_4K, SZ_4K, 0,
				 0);
	{
		struct spt_protect p = { .size = sizeof(p),
					 .space_id = self->id, .va = BAD_4K,
					 .length = SZ_4K, .__reserved = 1 };

		EXPECT_ERRNO(EINVAL, ioctl(self->env.fd, SPT_IOCTL_PROTECT,
					   &p));
	}
	ASSERT_UNCHANGED();
}

/* ---- query ---- */

TEST_F(bad, query_bad_va)
{
	test_err_query(EINVAL, self->id, self->end);
	test_err_query(EINVAL, self->id, self->end + 123);
	test_err_query(EINVAL, self->id, 0xffff888000000000ULL);
	test_err_query(EINVAL, self->id, 0x8000000000000000ULL);
	test_err_query(EINVAL, self->id, ~0ULL);
	ASSERT_UNCHANGED();
}

TEST_F(bad, query_flags_reserved)
{
	struct spt_query_va q = { .size = sizeof(q), .space_id = self->id,
				  .va = BAD_4K };

	q.flags = 1;
	EXPECT_ERRNO(EINVAL, ioctl(self->env.fd, SPT_IOCTL_QUERY, &q));
	q.flags = 0;
	q.__reserved = 1;
	EXPECT_ERRNO(EINVAL, ioctl(self->env.fd, SPT_IOCTL_QUERY, &q));
	ASSERT_UNCHANGED();
}

/* ---- query batch ---- */

#define BATCH_OK(...)							\
	((struct spt_query_batch){					\
		.size = sizeof(struct spt_query_batch),			\
		.space_id = self->id, .count = 1,			\
		.vas = (uintptr_t)vas, .entries = (uintptr_t)ents,	\
		.entry_size = sizeof(struct spt_query_entry),		\
		__VA_ARGS__ })

static int do_batch(int fd, struct spt_query_batch *b)
{
	return ioctl(fd, SPT_IOCTL_QUERY_BATCH, b);
}

TEST_F(bad, batch_bad_count)
{
	__u64 vas[1] = { BAD_4K };
	struct spt_query_entry ents[1];
	struct spt_query_batch b;

	b = BATCH_OK(.count = 0);
	EXPECT_ERRNO(EINVAL, do_batch(self->env.fd, &b));
	b = BATCH_OK(.count = SPT_QUERY_BATCH_MAX + 1);
	EXPECT_ERRNO(EINVAL, do_batch(self->env.fd, &b));
	b = BATCH_OK(.count = 0xffffffff);
	EXPECT_ERRNO(EINVAL, do_batch(self->env.fd, &b));
	ASSERT_UNCHANGED();
}

TEST_F(bad, batch_bad_entry_size)
{
	__u64 vas[1] = { BAD_4K };
	struct spt_query_entry ents[2];
	struct spt_query_batch b;

	b = BATCH_OK(.entry_size = 0);
	EXPECT_ERRNO(EINVAL, do_batch(self->env.fd, &b));
	b = BATCH_OK(.entry_size = sizeof(ents[0]) - 4);
	EXPECT_ERRNO(EINVAL, do_batch(self->env.fd, &b));
	/* Larger elements are accepted (the element-size rule), up to a cap. */
	b = BATCH_OK(.entry_size = SPT_ELEM_SIZE_MAX + 8);
	EXPECT_ERRNO(EINVAL, do_batch(self->env.fd, &b));
	ASSERT_UNCHANGED();
}

TEST_F(bad, batch_flags)
{
	__u64 vas[1] = { BAD_4K };
	struct spt_query_entry ents[1];
	struct spt_query_batch b;

	b = BATCH_OK(.flags = 1);
	EXPECT_ERRNO(EINVAL, do_batch(self->env.fd, &b));
	b = BATCH_OK(.flags = 1U << 31);
	EXPECT_ERRNO(EINVAL, do_batch(self->env.fd, &b));
	ASSERT_UNCHANGED();
}

/* A bad VA in the list: EINVAL; out_done counts the entries written. */
TEST_F(bad, batch_bad_va_in_list)
{
	__u32 n = 1000, i, bad = 700;
	struct spt_query_entry *ents = calloc(n, sizeof(*ents));
	__u64 *vas = calloc(n, sizeof(*vas));
	struct spt_query_entry zero = { 0 };
	struct spt_query_batch b;

	ASSERT_NE(NULL, ents);
	ASSERT_NE(NULL, vas);
	for (i = 0; i < n; i++)
		vas[i] = BAD_4K + (i % 8) * SZ_4K;
	vas[bad] = self->end;
	b = BATCH_OK(.count = n, .out_done = 0xdeadbeef);
	EXPECT_ERRNO(EINVAL, do_batch(self->env.fd, &b));
	EXPECT_GE(bad, b.out_done);
	for (i = 0; i < b.out_done && i < n; i++) {
		ASSERT_GE(vas[i], ents[i].va_start);
		ASSERT_LT(vas[i], ents[i].va_end);
	}
	for (i = b.out_done; i < n; i++) {
		ASSERT_EQ(0, memcmp(&zero, &ents[i], sizeof(zero)));
	}
	free(ents);
	free(vas);
	ASSERT_UNCHANGED();
}

TEST_F(bad, batch_efault_vas)
{
	struct spt_query_entry ents[4];
	void *hole = spt_fault_page();
	__u64 *vas = hole;
	struct spt_query_batch b;

	ASSERT_NE(NULL, hole);
	b = BATCH_OK(.count = 4, .out_done = 0xdeadbeef);
	EXPECT_ERRNO(EFAULT, do_batch(self->env.fd, &b));
	EXPECT_EQ(0, b.out_done);
	vas = NULL;
	b = BATCH_OK(.count = 4);
	EXPECT_ERRNO(EFAULT, do_batch(self->env.fd, &b));
	munmap(hole, SZ_4K);
	ASSERT_UNCHANGED();
}

TEST_F(bad, batch_efault_entries)
{
	__u64 vas[4] = { BAD_4K, BAD_4K, BAD_4K, BAD_4K };
	void *hole = spt_fault_page();
	struct spt_query_entry *ents = hole;
	struct spt_query_batch b;

	ASSERT_NE(NULL, hole);
	b = BATCH_OK(.count = 4, .out_done = 0xdeadbeef);
	EXPECT_ERRNO(EFAULT, do_batch(self->env.fd, &b));
	EXPECT_EQ(0, b.out_done);
	ents = NULL;
	b = BATCH_OK(.count = 4);
	EXPECT_ERRNO(EFAULT, do_batch(self->env.fd, &b));
	munmap(hole, SZ_4K);
	ASSERT_UNCHANGED();
}

/* The entries run into a hole part-way: out_done says how many landed. */
TEST_F(bad, batch_efault_partial)
{
	__u32 n = 2048, fit = 1000, i;
	size_t bytes = fit * sizeof(struct spt_query_entry);
	size_t map_len = (bytes + SZ_4K - 1) & ~(SZ_4K - 1);
	struct spt_query_entry *ents;
	struct spt_query_batch b;
	__u64 *vas = calloc(n, sizeof(*vas));
	char *p;

	ASSERT_NE(NULL, vas);
	p = mmap(NULL, map_len + SZ_4K, PROT_READ | PROT_WRITE,
		 MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
	ASSERT_NE(MAP_FAILED, p);
	ASSERT_EQ(0, mprotect(p + map_len, SZ_4K, PROT_NONE));
	/* Entries end exactly at the hole after @fit of them. */
	ents = (void *)(p + map_len - bytes);
	for (i = 0; i < n; i++)
		vas[i] = BAD_4K + i * SZ_4K;
	b = BATCH_OK(.count = n, .out_done = 0xdeadbeef);
	EXPECT_ERRNO(EFAULT, do_batch(self->env.fd, &b));
	EXPECT_GE(fit, b.out_done);
	for (i = 0; i < b.out_done && i < fit; i++) {
		ASSERT_GE(vas[i], ents[i].va_start);
		ASSERT_LT(vas[i], ents[i].va_end);
	}
	munmap(p, map_len + SZ_4K);
	free(vas);
	ASSERT_UNCHANGED();
}

/* ---- rw ---- */

TEST_F(bad, rw_bad_args)
{
	char buf[64];

	test_err_rw(EINVAL, self->id, 0, BAD_4K, buf, 0, 0xdeadbeefULL);
	test_err_rw(EINVAL, self->id, 0, BAD_4K, buf, SZ_16M + 1,
		    0xdeadbeefULL);
	test_err_rw(EINVAL, self->id, 0, BAD_4K, buf, ~0ULL, 0xdeadbeefULL);
	test_err_rw(EINVAL, self->id, 0, self->end - 8, buf, 16,
		    0xdeadbeefULL);
	test_err_rw(EINVAL, self->id, 0, self->end, buf, 1, 0xdeadbeefULL);
	test_err_rw(EINVAL, self->id, 0, 0xffff888000000000ULL, buf, 8,
		    0xdeadbeefULL);
	test_err_rw(EINVAL, self->id, SPT_RW_WRITE, -8ULL, buf, 8,
		    0xdeadbeefULL);
	test_err_rw(EINVAL, self->id, 2, BAD_4K, buf, 8, 0xdeadbeefULL);
	test_err_rw(EINVAL, self->id, 1U << 31, BAD_4K, buf, 8, 0xdeadbeefULL);
	{
		struct spt_rw r = { .size = sizeof(r), .space_id = self->id,
				    .va = BAD_4K, .length = 8,
				    .buf = (uintptr_t)buf, .__reserved = 1 };

		EXPECT_ERRNO(EINVAL, ioctl(self->env.fd, SPT_IOCTL_RW, &r));
	}
	ASSERT_UNCHANGED();
}

TEST_F(bad, rw_efault_buf)
{
	void *hole = spt_fault_page();

	ASSERT_NE(NULL, hole);
	test_err_rw(EFAULT, self->id, 0, BAD_4K, hole, 64, 0);
	test_err_rw(EFAULT, self->id, SPT_RW_WRITE, BAD_4K, hole, 64, 0);
	test_err_rw(EFAULT, self->id, 0, BAD_4K, NULL, 64, 0);
	test_err_rw(EFAULT, self->id, SPT_RW_WRITE, BAD_4K, NULL, 64, 0);
	/* A kernel address as the buffer. */
	test_err_rw(EFAULT, self->id, 0, BAD_4K,
		    (void *)0xffff888000000000ULL, 64, 0);
	munmap(hole, SZ_4K);
	ASSERT_UNCHANGED();
}

/* The buffer ends in a hole after 64 KiB: out_done says what was copied. */
TEST_F(bad, rw_efault_partial_buf)
{
	char *p = mmap(NULL, SZ_64K + SZ_4K, PROT_READ | PROT_WRITE,
		       MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
	__u64 done;

	ASSERT_NE(MAP_FAILED, p);
	ASSERT_EQ(0, mprotect(p + SZ_64K, SZ_4K, PROT_NONE));
	EXPECT_ERRNO(EFAULT, _spt_rw(self->env.fd, self->id, 0, BAD_2M, p,
				     2 * SZ_64K, &done));
	EXPECT_GE(SZ_64K, done);
	EXPECT_ERRNO(EFAULT, _spt_rw(self->env.fd, self->id, SPT_RW_WRITE,
				     BAD_2M, p, 2 * SZ_64K, &done));
	EXPECT_GE(SZ_64K, done);
	munmap(p, SZ_64K + SZ_4K);
	ASSERT_UNCHANGED();
}

TEST_F(bad, rw_enxio)
{
	char buf[64];

	test_err_rw(ENXIO, self->id, 0, BAD_FREE, buf, 8, 0);
	test_err_rw(ENXIO, self->id, SPT_RW_WRITE, BAD_FREE, buf, 8, 0);
	/* Past the end of the 4 KiB pages: out_done is what was copied. */
	test_err_rw(ENXIO, self->id, 0, BAD_4K + 4 * SZ_4K - 10, buf, 64, 10);
	test_err_rw(ENXIO, self->id, 0, 0, buf, 1, 0);
	ASSERT_UNCHANGED();
}

TEST_F(bad, rw_eacces_untracked)
{
	char buf[64] = { 0 };

	if (!self->phys_ok)
		SKIP(return, "allow_phys cannot be set");
	test_err_rw(EACCES, self->id, 0, BAD_PHY, buf, 8, 0);
	test_err_rw(EACCES, self->id, SPT_RW_WRITE, BAD_PHY + 100, buf, 8, 0);
	/* An access reports the first problem on its way. */
	test_err_rw(ENXIO, self->id, 0, BAD_PHY - 16, buf, 32, 0);
	test_err_rw(EACCES, self->id, 0, BAD_PHY + 4 * SZ_4K - 16, buf, 32, 0);
	ASSERT_UNCHANGED();
}

/* ---- stats, info, check, destroy, create, version ---- */

TEST_F(bad, stats_flags_reserved)
{
	struct spt_stats s = { .size = sizeof(s), .space_id = self->id };

	s.flags = 1;
	EXPECT_ERRNO(EINVAL, ioctl(self->env.fd, SPT_IOCTL_STATS, &s));
	s.flags = 0;
	s.__reserved = 1;
	EXPECT_ERRNO(EINVAL, ioctl(self->env.fd, SPT_IOCTL_STATS, &s));
	s.space_id = 0;
	EXPECT_ERRNO(EINVAL, ioctl(self->env.fd, SPT_IOCTL_STATS, &s));
	ASSERT_UNCHANGED();
}

TEST_F(bad, info_flags)
{
	struct spt_space_info i = { .size = sizeof(i), .space_id = self->id,
				    .flags = 1 };

	EXPECT_ERRNO(EINVAL, ioctl(self->env.fd, SPT_IOCTL_SPACE_INFO, &i));
	i.flags = 1U << 31;
	EXPECT_ERRNO(EINVAL, ioctl(self->env.fd, SPT_IOCTL_SPACE_INFO, &i));
	ASSERT_UNCHANGED();
}

TEST_F(bad, check_flags)
{
	struct spt_check c = { .size = sizeof(c), .space_id = self->id,
			       .flags = 1 };

	EXPECT_ERRNO(EINVAL, ioctl(self->env.fd, SPT_IOCTL_CHECK, &c));
	c.flags = 1U << 31;
	EXPECT_ERRNO(EINVAL, ioctl(self->env.fd, SPT_IOCTL_CHECK, &c));
	ASSERT_UNCHANGED();
}

/*
 * The check message buffer is checked first, whatever the outcome: a
 * healthy space gets the empty string, a bad pointer EFAULT, and no
 * buffer (msg_len 0) is never touched.
 */
TEST_F(bad, check_msg_buffer)
{
	void *hole = spt_fault_page();
	char msg[16];

	ASSERT_NE(NULL, hole);
	memset(msg, 'x', sizeof(msg));
	EXPECT_EQ(0, _spt_check(self->env.fd, self->id, msg, sizeof(msg)));
	EXPECT_EQ('\0', msg[0]);
	EXPECT_EQ('x', msg[1]);
	EXPECT_ERRNO(EFAULT, _spt_check(self->env.fd, self->id, hole, 256));
	EXPECT_ERRNO(EFAULT, _spt_check(self->env.fd, self->id, NULL, 256));
	EXPECT_EQ(0, _spt_check(self->env.fd, self->id, NULL, 0));
	/* A missing space is still reported after a bad buffer is. */
	EXPECT_ERRNO(ENOENT, _spt_check(self->env.fd, 0x7fffffff, msg, 16));
	munmap(hole, SZ_4K);
	ASSERT_UNCHANGED();
}

TEST_F(bad, destroy_flags_reserved)
{
	struct spt_space_destroy d = { .size = sizeof(d), .space_id = self->id,
				       .flags = 1 };

	EXPECT_ERRNO(EINVAL, ioctl(self->env.fd, SPT_IOCTL_SPACE_DESTROY, &d));
	d.flags = 0;
	d.__reserved = 1;
	EXPECT_ERRNO(EINVAL, ioctl(self->env.fd, SPT_IOCTL_SPACE_DESTROY, &d));
	ASSERT_UNCHANGED();
}

TEST_F(bad, create_flags)
{
	unsigned int bit;

	for (bit = 1; bit < 32; bit++)
		test_err_space_create(EINVAL, 1U << bit);
	test_err_space_create(EINVAL, SPT_SPACE_FD_OWNED | 2);
	ASSERT_UNCHANGED();
}

TEST_F(bad, version_flags)
{
	struct spt_version v = { .size = sizeof(v), .flags = 2 };

	EXPECT_ERRNO(EINVAL, ioctl(self->env.fd, SPT_IOCTL_VERSION, &v));
	ASSERT_UNCHANGED();
}

/* =====================================================================
 * Fixture "size": the extensible-struct contract of every ioctl. A valid
 * argument is prepared per command; then the size field is made smaller
 * than the first release (EINVAL), larger with a zero tail (works as the
 * exact size), larger with a non-zero tail (E2BIG), or larger with an
 * unreadable tail (EFAULT).
 */

enum size_kind {
	K_VERSION, K_CREATE, K_DESTROY, K_INFO, K_MAP, K_UNMAP, K_PROTECT,
	K_QUERY, K_BATCH, K_RW, K_STATS, K_CHECK, K_LOAD, K_RANGE,
};

FIXTURE(size) {
	struct spt_env env;
	__u32 id, victim;
	__u64 vas[1];
	struct spt_query_entry ents[1];
	char rwbuf[16];
	struct spt_load_op op;
	struct spt_query_run runs[2];
	char *mem;	/* 3 pages; the third is PROT_NONE */
	struct spt_counters before;
};

FIXTURE_VARIANT(size) {
	enum size_kind kind;
	unsigned long nr;
	__u32 size;
};

#define SIZE_VARIANT(_name, _kind, _nr, _struct)			\
	FIXTURE_VARIANT_ADD(size, _name) {				\
		.kind = _kind, .nr = _nr, .size = sizeof(_struct),	\
	}

SIZE_VARIANT(version, K_VERSION, SPT_IOCTL_VERSION, struct spt_version);
SIZE_VARIANT(space_create, K_CREATE, SPT_IOCTL_SPACE_CREATE,
	     struct spt_space_create);
SIZE_VARIANT(space_destroy, K_DESTROY, SPT_IOCTL_SPACE_DESTROY,
	     struct spt_space_destroy);
SIZE_VARIANT(space_info, K_INFO, SPT_IOCTL_SPACE_INFO, struct spt_space_info);
SIZE_VARIANT(map, K_MAP, SPT_IOCTL_MAP, struct spt_map);
SIZE_VARIANT(unmap, K_UNMAP, SPT_IOCTL_UNMAP, struct spt_unmap);
SIZE_VARIANT(protect, K_PROTECT, SPT_IOCTL_PROTECT, struct spt_protect);
SIZE_VARIANT(query, K_QUERY, SPT_IOCTL_QUERY, struct spt_query_va);
SIZE_VARIANT(query_batch, K_BATCH, SPT_IOCTL_QUERY_BATCH,
	     struct spt_query_batch);
SIZE_VARIANT(rw, K_RW, SPT_IOCTL_RW, struct spt_rw);
SIZE_VARIANT(stats, K_STATS, SPT_IOCTL_STATS, struct spt_stats);
SIZE_VARIANT(check, K_CHECK, SPT_IOCTL_CHECK, struct spt_check);
SIZE_VARIANT(load, K_LOAD, SPT_IOCTL_LOAD, struct spt_load);
SIZE_VARIANT(query_range, K_RANGE, SPT_IOCTL_QUERY_RANGE,
	     struct spt_query_range);

FIXTURE_SETUP(size)
{
	spt_env_setup(_metadata, &self->env);
	test_cmd_space_create(0, &self->id);
	test_cmd_space_create(0, &self->victim);
	test_cmd_map(self->id, SPT_MAP_4K, SPT_TEST_VA, SZ_4K, 0,
		     SPT_PROT_WRITE);
	self->vas[0] = SPT_TEST_VA;
	self->mem = mmap(NULL, 3 * SZ_4K, PROT_READ | PROT_WRITE,
			 MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
	ASSERT_NE(MAP_FAILED, self->mem);
	ASSERT_EQ(0, mprotect(self->mem + 2 * SZ_4K, SZ_4K, PROT_NONE));
	ASSERT_EQ(0, spt_counters_read(self->env.fd, &self->before));
}

FIXTURE_TEARDOWN(size)
{
	munmap(self->mem, 3 * SZ_4K);
	spt_env_teardown(_metadata, &self->env);
}

/* Write a valid argument of @kind at @p (zeroed before). */
static void size_prep(FIXTURE_DATA(size) *self, enum size_kind kind, void *p)
{
	switch (kind) {
	case K_VERSION:
		break;
	case K_CREATE:
		((struct spt_space_create *)p)->flags = SPT_SPACE_FD_OWNED;
		break;
	case K_DESTROY:
		((struct spt_space_destroy *)p)->space_id = self->victim;
		break;
	case K_INFO:
		((struct spt_space_info *)p)->space_id = self->id;
		break;
	case K_MAP: {
		struct spt_map *m = p;

		m->flags = SPT_MAP_4K;
		m->space_id = self->id;
		m->va = SPT_TEST_VA + SZ_2M;
		m->length = SZ_4K;
		m->prot = SPT_PROT_EXEC;
		break;
	}
	case K_UNMAP: {
		struct spt_unmap *u = p;

		u->space_id = self->id;
		u->va = SPT_TEST_VA;
		u->length = SZ_4K;
		break;
	}
	case K_PROTECT: {
		struct spt_protect *pr = p;

		pr->space_id = self->id;
		pr->va = SPT_TEST_VA;
		pr->length = SZ_4K;
		pr->prot = SPT_PROT_EXEC;
		break;
	}
	case K_QUERY: {
		struct spt_query_va *q = p;

		q->space_id = self->id;
		q->va = SPT_TEST_VA + 5;
		break;
	}
	case K_BATCH: {
		struct spt_query_batch *b = p;

		b->space_id = self->id;
		b->count = 1;
		b->vas = (uintptr_t)self->vas;
		b->entries = (uintptr_t)self->ents;
		b->entry_size = sizeof(self->ents[0]);
		break;
	}
	case K_RW: {
		struct spt_rw *r = p;

		r->space_id = self->id;
		r->va = SPT_TEST_VA;
		r->length = sizeof(self->rwbuf);
		r->buf = (uintptr_t)self->rwbuf;
		break;
	}
	case K_STATS:
		((struct spt_stats *)p)->space_id = self->id;
		break;
	case K_CHECK:
		((struct spt_check *)p)->space_id = self->id;
		break;
	case K_LOAD: {
		struct spt_load *l = p;

		memset(&self->op, 0, sizeof(self->op));
		self->op.op = SPT_LOAD_OP_READ;
		self->op.width = 8;
		self->op.va = SPT_TEST_VA + 8;
		l->space_id = self->id;
		l->nr_ops = 1;
		l->op_size = sizeof(self->op);
		l->ops = (uintptr_t)&self->op;
		break;
	}
	case K_RANGE: {
		struct spt_query_range *r = p;

		memset(self->runs, 0, sizeof(self->runs));
		r->space_id = self->id;
		r->entry_size = sizeof(self->runs[0]);
		r->va = SPT_TEST_VA;
		r->length = SZ_2M;
		r->entries = (uintptr_t)self->runs;
		r->max_entries = 2;
		break;
	}
	}
}

/* Did the command of @kind take effect (state, or its answer in @p)? */
static bool size_acted(struct __test_metadata *_metadata,
		       FIXTURE_DATA(size) *self, enum size_kind kind, void *p)
{
	struct spt_query_entry e;
	struct spt_counters c = { 0 };

	switch (kind) {
	case K_VERSION:
		return ((struct spt_version *)p)->out_api_version ==
		       SPT_API_VERSION;
	case K_CREATE:
		spt_counters_read(self->env.fd, &c);
		return c.nr_spaces == self->before.nr_spaces + 1 &&
		       ((struct spt_space_create *)p)->out_space_id != 0;
	case K_DESTROY:
		return _spt_space_info(self->env.fd, self->victim, NULL) != 0;
	case K_INFO:
		return ((struct spt_space_info *)p)->out_mapped_bytes == SZ_4K;
	case K_MAP:
		return !_spt_query(self->env.fd, self->id, SPT_TEST_VA + SZ_2M,
				   &e) && e.flags;
	case K_UNMAP:
		return !_spt_query(self->env.fd, self->id, SPT_TEST_VA, &e) &&
		       !e.flags;
	case K_PROTECT:
		return !_spt_query(self->env.fd, self->id, SPT_TEST_VA, &e) &&
		       e.prot == SPT_PROT_EXEC;
	case K_QUERY:
		return ((struct spt_query_va *)p)->out.flags ==
		       (SPT_QUERY_MAPPED | SPT_QUERY_TRACKED);
	case K_BATCH:
		return ((struct spt_query_batch *)p)->out_done == 1 &&
		       self->ents[0].flags;
	case K_RW:
		return ((struct spt_rw *)p)->out_done == sizeof(self->rwbuf);
	case K_STATS:
		return ((struct spt_stats *)p)->space_leaves[0] == 1;
	case K_CHECK:
		return true;	/* a return of 0 is the whole answer */
	case K_LOAD:
		return ((struct spt_load *)p)->out_status == SPT_LOAD_DONE &&
		       self->op.out_status == SPT_LOAD_OK;
	case K_RANGE:
		return ((struct spt_query_range *)p)->out_entries == 1 &&
		       ((struct spt_query_range *)p)->out_next ==
		       SPT_TEST_VA + SZ_2M &&
		       self->runs[0].end == SPT_TEST_VA + SZ_4K;
	}
	return false;
}

static bool tail_is_zero(const char *p, size_t len)
{
	while (len--)
		if (*p++)
			return false;
	return true;
}

TEST_F(size, exact)
{
	void *p = self->mem;

	size_prep(self, variant->kind, p);
	*(__u32 *)p = variant->size;
	ASSERT_EQ(0, ioctl(self->env.fd, variant->nr, p));
	EXPECT_TRUE(size_acted(_metadata, self, variant->kind, p));
	EXPECT_EQ(variant->size, *(__u32 *)p);
}

TEST_F(size, too_small_einval)
{
	/*
	 * The first release: spt_version, spt_stats, spt_map and spt_load
	 * have grown since.
	 */
	__u32 min = variant->kind == K_VERSION ?
		    offsetofend(struct spt_version, out_user_end) :
		    variant->kind == K_STATS ?
		    offsetofend(struct spt_stats, space_data_frames) :
		    variant->kind == K_MAP ?
		    offsetofend(struct spt_map, out_mapped) :
		    variant->kind == K_LOAD ?
		    offsetofend(struct spt_load, out_ns) :
		    variant->size;
	__u32 sizes[] = { 0, 1, 4, 8, min - 8, min - 4, min - 1 };
	void *p = self->mem;
	unsigned int i;

	for (i = 0; i < ARRAY_SIZE(sizes); i++) {
		memset(p, 0, variant->size);
		size_prep(self, variant->kind, p);
		*(__u32 *)p = sizes[i];
		EXPECT_ERRNO(EINVAL, ioctl(self->env.fd, variant->nr, p));
		if (variant->kind != K_CHECK) {
			EXPECT_FALSE(size_acted(_metadata, self, variant->kind,
						p));
		}
	}
}

static void larger_zero_tail(struct __test_metadata *_metadata,
			     FIXTURE_DATA(size) *self,
			     const FIXTURE_VARIANT(size) *variant, __u32 extra)
{
	void *p = self->mem;

	size_prep(self, variant->kind, p);
	*(__u32 *)p = variant->size + extra;
	ASSERT_EQ(0, ioctl(self->env.fd, variant->nr, p));
	EXPECT_TRUE(size_acted(_metadata, self, variant->kind, p));
	/* The size stays the caller's; the kernel writes nothing past its
	 * own struct. */
	EXPECT_EQ(variant->size + extra, *(__u32 *)p);
	EXPECT_TRUE(tail_is_zero((char *)p + variant->size, extra));
}

TEST_F(size, larger_zero_tail_8)
{
	larger_zero_tail(_metadata, self, variant, 8);
}

/* Up to the largest size accepted (SPT_STRUCT_SIZE_MAX). */
TEST_F(size, larger_zero_tail_max)
{
	larger_zero_tail(_metadata, self, variant,
			 SPT_STRUCT_SIZE_MAX - variant->size);
}

/*
 * Above SPT_STRUCT_SIZE_MAX: E2BIG even with a zero tail, and the tail is
 * not even read (a size of 4 GiB - 1 is not scanned to its end).
 */
TEST_F(size, larger_than_max_e2big)
{
	__u32 sizes[] = { SPT_STRUCT_SIZE_MAX + 1, 2 * SZ_4K, 0x7fffffff,
			  0xffffffff };
	char *p = self->mem;
	unsigned int i;

	for (i = 0; i < ARRAY_SIZE(sizes); i++) {
		memset(p, 0, 2 * SZ_4K);
		size_prep(self, variant->kind, p);
		*(__u32 *)p = sizes[i];
		EXPECT_ERRNO(E2BIG, ioctl(self->env.fd, variant->nr, p));
		EXPECT_FALSE(variant->kind != K_CHECK &&
			     size_acted(_metadata, self, variant->kind, p));
	}
	/* Right at the end of readable memory: still E2BIG, not EFAULT. */
	p = self->mem + 2 * SZ_4K - variant->size;
	memset(self->mem, 0, 2 * SZ_4K);
	size_prep(self, variant->kind, p);
	*(__u32 *)p = SPT_STRUCT_SIZE_MAX + 1;
	EXPECT_ERRNO(E2BIG, ioctl(self->env.fd, variant->nr, p));
}

TEST_F(size, larger_nonzero_tail_e2big)
{
	__u32 extra[] = { 1, 8, 100, SPT_STRUCT_SIZE_MAX - variant->size };
	char *p = self->mem;
	unsigned int i;

	for (i = 0; i < ARRAY_SIZE(extra); i++) {
		/* The first and the last byte of the tail. */
		memset(p, 0, 2 * SZ_4K);
		size_prep(self, variant->kind, p);
		*(__u32 *)p = variant->size + extra[i];
		p[variant->size] = 1;
		EXPECT_ERRNO(E2BIG, ioctl(self->env.fd, variant->nr, p));
		EXPECT_FALSE(variant->kind != K_CHECK &&
			     size_acted(_metadata, self, variant->kind, p));
		p[variant->size] = 0;
		p[variant->size + extra[i] - 1] = 0x80;
		EXPECT_ERRNO(E2BIG, ioctl(self->env.fd, variant->nr, p));
		EXPECT_FALSE(variant->kind != K_CHECK &&
			     size_acted(_metadata, self, variant->kind, p));
	}
}

/* A zero tail that runs into unmapped memory cannot be checked. */
TEST_F(size, larger_unreadable_tail_efault)
{
	char *p = self->mem + 2 * SZ_4K - variant->size;

	memset(self->mem, 0, 2 * SZ_4K);
	size_prep(self, variant->kind, p);
	*(__u32 *)p = variant->size + 64;
	EXPECT_ERRNO(EFAULT, ioctl(self->env.fd, variant->nr, p));
	if (variant->kind != K_CHECK) {
		EXPECT_FALSE(size_acted(_metadata, self, variant->kind, p));
	}
	/* Past SPT_STRUCT_SIZE_MAX, the size alone decides: E2BIG. */
	*(__u32 *)p = 0xffffffff;
	EXPECT_ERRNO(E2BIG, ioctl(self->env.fd, variant->nr, p));
}

TEST_HARNESS_MAIN
