/* SPDX-License-Identifier: GPL-2.0 */
/*
 * Helpers shared by the host tests: fixed configurations, a test
 * environment (pool + page table + flusher + the test's own frame handles), a
 * raw walker that reads PTEs the way the MMU would, and a small u64 map.
 */
#ifndef SPT_TESTS_TESTLIB_H
#define SPT_TESTS_TESTLIB_H

#include <core/pt.h>
#include <frame/pool.h>

#include "tap.h"

/* x86-64 PTE bits, written out independently of the core's own headers. */
#define X86_P		(1ULL << 0)
#define X86_RW		(1ULL << 1)
#define X86_US		(1ULL << 2)
#define X86_PWT		(1ULL << 3)
#define X86_PCD		(1ULL << 4)
#define X86_A		(1ULL << 5)
#define X86_D		(1ULL << 6)
#define X86_PS		(1ULL << 7)
#define X86_PAT4K	(1ULL << 7)
#define X86_G		(1ULL << 8)
#define X86_PATHUGE	(1ULL << 12)
#define X86_NX		(1ULL << 63)

#define SZ_4K	0x1000ULL
#define SZ_2M	0x200000ULL
#define SZ_1G	0x40000000ULL
#define SZ_512G	0x8000000000ULL

/* A config like the module builds: levels 4/5, MAXPHYADDR, Linux's PAT. */
void tl_cfg(struct spt_cfg *cfg, unsigned int levels, unsigned int maxphys);

/* Open-addressing map u64 -> u32 (for handles and tallies). */
struct u64map {
	u64 *keys;	/* key + 1, 0 = empty */
	u32 *vals;
	size_t cap, n;
};
void u64map_init(struct u64map *m);
void u64map_free(struct u64map *m);
u32 u64map_get(const struct u64map *m, u64 key);
void u64map_add(struct u64map *m, u64 key, s64 delta);
void u64map_clear(struct u64map *m);
/* Drop the keys whose value is 0. */
void u64map_compact(struct u64map *m);

/* The user-space pool (tests/shim/pool_user.c), wrapped. */
struct spt_pool *tl_pool_new(u64 arena_bytes);
/* Returns the number of frames still in use (leaked). */
u64 tl_pool_delete(struct spt_pool *pool);
/* Fail the @n-th allocation from now (1 = the next one); 0 disarms. */
void tl_pool_fail_nth(struct spt_pool *pool, u64 n);
u64 tl_pool_used(struct spt_pool *pool);

struct tenv {
	struct spt_cfg cfg;
	struct spt_pool *pool;
	struct spt_pt pt;
	struct spt_flusher fl;
	u64 ktop[SPT_NR_ENTRIES];
	bool use_ktop;
	struct u64map handles;	/* head pa -> references the test holds */
};

/* Build pool + page table (REQUIREs success); with a fake kernel half. */
void tenv_init(struct tenv *e, unsigned int levels);
void tenv_init_cfg(struct tenv *e, const struct spt_cfg *cfg, bool ktop);
void tenv_init_arena(struct tenv *e, const struct spt_cfg *cfg, bool ktop,
		     u64 arena_bytes);
/*
 * Check, destroy, release, drop the test's handles, and CHECK that the
 * pool has no frame left in use.
 */
void tenv_fini(struct tenv *e);
/* spt_pt_check with expect_refs and the test's handles; CHECKs 0. */
bool tenv_check_at(struct tenv *e, const char *file, int line);
#define tenv_check(e) tenv_check_at(e, __FILE__, __LINE__)
u32 tenv_handles_cb(u64 pa, void *arg);
u64 tenv_user_end(const struct tenv *e);

/* Allocate a tracked data frame (level 1 or 2) holding one handle. */
u64 tl_frame_alloc(struct tenv *e, unsigned int level);
/* Drop one handle; the last reference hands the frame back. */
void tl_handle_put(struct tenv *e, u64 pa);
struct spt_meta *tl_meta(struct tenv *e, u64 pa);
u32 tl_ref(struct tenv *e, u64 pa);

/*
 * Map at the cursor: untracked (pa given) or tracked (pa = a frame the test
 * holds a handle on; with @keep_handle an extra reference is taken for the
 * mapping, otherwise the handle is given to the mapping).
 */
int tl_map(struct tenv *e, struct spt_cursor *c, u64 pa, unsigned int level,
	   bool tracked, u8 flags, u8 cache, bool keep_handle,
	   unsigned long *replaced);
/* Open a CursorMut over [s, e) (REQUIREd), jump to va, map untracked. */
void tl_map_range(struct tenv *e, u64 va, u64 pa, unsigned int level,
		  u8 flags);

/*
 * Walk the raw table like the MMU: returns the leaf PTE mapping @va (0 if
 * none) and its level in *@level (or the level of the absent entry).
 */
u64 tl_raw_walk(struct tenv *e, u64 va, unsigned int *level);
/* The raw PTE slot of the entry at @level on the path to @va, or NULL. */
u64 *tl_raw_slot(struct tenv *e, u64 va, unsigned int level);

/* Counts by spt_pt_count. */
u64 tl_nr_nodes(struct tenv *e);
u64 tl_nr_leaves(struct tenv *e);

/* xorshift64* */
static inline u64 tl_rand(u64 *s)
{
	u64 x = *s;

	x ^= x >> 12;
	x ^= x << 25;
	x ^= x >> 27;
	*s = x;
	return x * 0x2545F4914F6CDD1DULL;
}

#endif /* SPT_TESTS_TESTLIB_H */
