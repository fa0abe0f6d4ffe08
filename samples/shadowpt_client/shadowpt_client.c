// SPDX-License-Identifier: GPL-2.0
/*
 * A client of shadowpt's in-kernel API (include/linux/shadowpt_kapi.h).
 *
 * At load it builds a space through the API and checks every step: maps
 * four 4 KiB frames and a 2 MiB frame (and, with phys=1, a raw physical
 * page), queries them back, tries the misuses the API must refuse, runs a
 * load window that reads the frames through the MMU (if a CPU is
 * isolated), protects, unmaps and destroys. With phys_refused=1 the raw
 * physical map must be refused instead (-EPERM: shadowpt allow_phys=N),
 * and the rest runs without it. Any mismatch: the result line
 * says FAIL and the module refuses to load (-EIO). Then it keeps a second
 * space with one mapped page until it is unloaded (space_id says which),
 * so that sptctl can look at a space made by kernel code.
 */
#include <linux/module.h>
#include <linux/moduleparam.h>
#include <linux/mm.h>
#include <linux/gfp.h>
#include <linux/io.h>
#include <linux/sizes.h>
#include <linux/shadowpt_kapi.h>

static bool phys = true;
module_param(phys, bool, 0444);
MODULE_PARM_DESC(phys,
		 "Also map a raw physical page (needs shadowpt allow_phys=1) (default Y)");

static bool phys_refused;
module_param(phys_refused, bool, 0444);
MODULE_PARM_DESC(phys_refused,
		 "Try the raw physical map and expect -EPERM (shadowpt allow_phys=N) (default N)");

static bool require_load;
module_param(require_load, bool, 0444);
MODULE_PARM_DESC(require_load,
		 "Fail if no load window can run (no isolated CPU) (default N)");

static unsigned int checks;
module_param(checks, uint, 0444);
MODULE_PARM_DESC(checks, "Checks that passed at load (read-only)");

static unsigned int space_id;
module_param(space_id, uint, 0444);
MODULE_PARM_DESC(space_id,
		 "Id of the space kept until unload, one page mapped at keep_va (read-only)");

static unsigned long keep_va = SZ_1G;
module_param(keep_va, ulong, 0444);
MODULE_PARM_DESC(keep_va, "Where the kept space maps its page (read-only)");

#define BASE		((u64)SZ_1G)
#define HUGE_VA		(BASE + SZ_2M)
#define PHYS_VA		(BASE + 4 * SZ_4K)
#define RANGE		((u64)SZ_4M)
#define NR_SMALL	4
#define MAGIC		0x5ad0000000000000ULL

static unsigned int failures;
static struct shadowpt_space *kept;

#define CHECK(cond, fmt, ...)						\
	do {								\
		if (cond) {						\
			checks++;					\
		} else {						\
			failures++;					\
			pr_err("shadowpt_client: check failed at line %d: " \
			       fmt "\n", __LINE__, ##__VA_ARGS__);	\
		}							\
	} while (0)

struct client {
	struct shadowpt_space *sp;
	struct shadowpt_frame *small[NR_SMALL];
	u64 small_pa[NR_SMALL];
	struct shadowpt_frame *huge;
	u64 huge_pa;
	struct shadowpt_frame *extra;
	struct page *page;
	bool phys_was_refused;
	bool load_ran;
};

/* Options the API must refuse, with nothing created. */
static void check_bad_create(void)
{
	struct shadowpt_space_opts bad_flags = { .flags = 1 };
	struct shadowpt_space_opts bad_levels = { .levels = 3 };
	struct shadowpt_space_opts bad_limit = { .limit_bytes = 100 };
	struct shadowpt_space *sp = NULL;
	int ret;

	ret = shadowpt_space_create(&bad_flags, &sp);
	CHECK(ret == -EINVAL && !sp, "create flags=1: %d", ret);
	ret = shadowpt_space_create(&bad_levels, &sp);
	CHECK(ret == -EINVAL && !sp, "create levels=3: %d", ret);
	ret = shadowpt_space_create(&bad_limit, &sp);
	CHECK(ret == -EINVAL && !sp, "create limit 100 bytes: %d", ret);
	ret = shadowpt_space_create(NULL, NULL);
	CHECK(ret == -EINVAL, "create out=NULL: %d", ret);
}

static int alloc_frames(struct client *cl)
{
	u64 *p;
	int i, ret;

	for (i = 0; i < NR_SMALL; i++) {
		ret = shadowpt_frame_alloc(cl->sp, 1, &cl->small[i]);
		CHECK(!ret, "frame_alloc 4K: %d", ret);
		if (ret)
			return ret;
		cl->small_pa[i] = shadowpt_frame_pa(cl->small[i]);
		p = shadowpt_frame_ptr(cl->small[i]);
		CHECK(p[0] == 0, "fresh frame not zeroed");
		p[0] = MAGIC + i;
	}
	ret = shadowpt_frame_alloc(cl->sp, 2, &cl->huge);
	CHECK(!ret, "frame_alloc 2M: %d", ret);
	if (ret)
		return ret;
	cl->huge_pa = shadowpt_frame_pa(cl->huge);
	CHECK(IS_ALIGNED(cl->huge_pa, SZ_2M), "2M frame at %llx",
	      cl->huge_pa);
	p = shadowpt_frame_ptr(cl->huge);
	p[0] = MAGIC + 0x100;
	p[(SZ_2M - SZ_4K) / sizeof(u64)] = MAGIC + 0x1ff;
	ret = shadowpt_frame_alloc(cl->sp, 3, &cl->extra);
	CHECK(ret == -EINVAL && !cl->extra, "frame_alloc level 3: %d", ret);
	ret = shadowpt_frame_alloc(cl->sp, 1, &cl->extra);
	CHECK(!ret, "frame_alloc extra: %d", ret);
	return ret;
}

/* Map the frames (and the physical page), with misuses on the way. */
static int map_all(struct client *cl)
{
	u64 end = shadowpt_space_user_end(cl->sp) + SZ_4K;
	struct shadowpt_cursor *c, *c2 = NULL;
	struct shadowpt_frame *f = NULL;
	int i, ret;

	ret = shadowpt_cursor_new(cl->sp, BASE, BASE + RANGE, 2, &c);
	CHECK(ret == -EINVAL, "cursor_new bad flag: %d", ret);
	ret = shadowpt_cursor_new(cl->sp, BASE + 1, BASE + RANGE,
				  SHADOWPT_CURSOR_MUT, &c);
	CHECK(ret == -EINVAL, "cursor_new unaligned: %d", ret);
	ret = shadowpt_cursor_new(cl->sp, BASE, end, SHADOWPT_CURSOR_MUT, &c);
	CHECK(ret == -EINVAL, "cursor_new past the user half: %d", ret);

	ret = shadowpt_cursor_new(cl->sp, BASE, BASE + RANGE,
				  SHADOWPT_CURSOR_MUT, &c);
	CHECK(!ret, "cursor_new mut: %d", ret);
	if (ret)
		return ret;
	/* Under the cursor: nothing that sleeps, no second cursor. */
	ret = shadowpt_cursor_new(cl->sp, BASE + SZ_1G, BASE + SZ_1G + SZ_4K,
				  0, &c2);
	CHECK(ret == -EDEADLK && !c2, "second cursor: %d", ret);
	ret = shadowpt_frame_alloc(cl->sp, 1, &f);
	CHECK(ret == -EDEADLK && !f, "frame_alloc under a cursor: %d", ret);
	ret = shadowpt_space_destroy(cl->sp);
	CHECK(ret == -EDEADLK, "destroy under a cursor: %d", ret);

	for (i = 0; i < NR_SMALL; i++) {
		ret = shadowpt_cursor_map_frame(c, cl->small[i],
						SPT_PROT_WRITE,
						SPT_CACHE_MODE_WB, 0);
		CHECK(!ret, "map 4K frame %d: %d", i, ret);
		if (!ret)
			cl->small[i] = NULL;
	}
	CHECK(shadowpt_cursor_va(c) == BASE + NR_SMALL * SZ_4K,
	      "cursor at %llx after the maps", shadowpt_cursor_va(c));

	/* Over a mapping without REPLACE; bad prot, cache, flags. */
	ret = shadowpt_cursor_jump(c, BASE);
	CHECK(!ret, "jump: %d", ret);
	ret = shadowpt_cursor_map_frame(c, cl->extra, SPT_PROT_WRITE, 0, 0);
	CHECK(ret == -EEXIST, "map over a mapping: %d", ret);
	ret = shadowpt_cursor_map_frame(c, cl->extra, SPT_PROT_GLOBAL, 0,
					SHADOWPT_MAP_REPLACE);
	CHECK(ret == -EINVAL, "map global: %d", ret);
	ret = shadowpt_cursor_map_frame(c, cl->extra, 0, 99,
					SHADOWPT_MAP_REPLACE);
	CHECK(ret == -EINVAL, "map cache 99: %d", ret);
	ret = shadowpt_cursor_map_frame(c, cl->extra, 0, 0, 2);
	CHECK(ret == -EINVAL, "map flags 2: %d", ret);
	CHECK(shadowpt_cursor_va(c) == BASE, "refused maps moved the cursor");
	ret = shadowpt_cursor_jump(c, BASE + RANGE);
	CHECK(ret == -EINVAL, "jump to the end: %d", ret);
	ret = shadowpt_cursor_jump(c, BASE + 8);
	CHECK(ret == -EINVAL, "jump unaligned: %d", ret);

	/* The 2 MiB frame: misaligned first, then at HUGE_VA. */
	ret = shadowpt_cursor_jump(c, HUGE_VA + SZ_4K);
	CHECK(!ret, "jump: %d", ret);
	ret = shadowpt_cursor_map_frame(c, cl->huge, SPT_PROT_WRITE, 0, 0);
	CHECK(ret == -EINVAL, "map 2M frame misaligned: %d", ret);
	ret = shadowpt_cursor_jump(c, HUGE_VA);
	CHECK(!ret, "jump: %d", ret);
	ret = shadowpt_cursor_map_frame(c, cl->huge, SPT_PROT_WRITE, 0, 0);
	CHECK(!ret, "map 2M frame: %d", ret);
	if (!ret)
		cl->huge = NULL;

	if (cl->page) {
		ret = shadowpt_cursor_jump(c, PHYS_VA);
		CHECK(!ret, "jump: %d", ret);
		ret = shadowpt_cursor_map_phys(c, page_to_phys(cl->page) + 8,
					       1, 0, 0, 0);
		CHECK(ret == -EINVAL, "map_phys unaligned: %d", ret);
		ret = shadowpt_cursor_map_phys(c, page_to_phys(cl->page), 1,
					       0, SPT_CACHE_MODE_WB, 0);
		if (phys_refused) {
			CHECK(ret == -EPERM,
			      "map_phys: %d, expected -EPERM (phys_refused=1)",
			      ret);
			cl->phys_was_refused = ret == -EPERM;
		} else {
			CHECK(!ret, "map_phys: %d", ret);
		}
	}
	if (cl->phys_was_refused) {
		struct shadowpt_mapping m = {};

		ret = shadowpt_cursor_query(c, &m);
		CHECK(!ret && !m.mapped && shadowpt_cursor_va(c) == PHYS_VA,
		      "refused map_phys left a mapping: %d %d %llx", ret,
		      m.mapped, shadowpt_cursor_va(c));
	}
	shadowpt_cursor_drop(c);
	if (cl->phys_was_refused) {
		/* Never mapped: the rest runs as without phys. */
		pr_info("shadowpt_client: map_phys refused, expected: EPERM (phys_refused=1, shadowpt allow_phys=N)\n");
		__free_page(cl->page);
		cl->page = NULL;
	}

	/* A frame that is not mapped keeps the space alive. */
	ret = shadowpt_space_destroy(cl->sp);
	CHECK(ret == -EBUSY, "destroy with a frame allocated: %d", ret);
	shadowpt_frame_free(cl->extra);
	cl->extra = NULL;
	return 0;
}

/* Query every leaf back through a read-only cursor. */
static void query_all(struct client *cl, u32 small_prot, u32 huge_prot)
{
	struct shadowpt_cursor *c;
	struct shadowpt_mapping m;
	unsigned int leaves = 0;
	int i, ret;

	ret = shadowpt_cursor_new(cl->sp, BASE, BASE + RANGE, 0, &c);
	CHECK(!ret, "cursor_new: %d", ret);
	if (ret)
		return;
	for (i = 0; i < NR_SMALL; i++) {
		ret = shadowpt_cursor_jump(c, BASE + i * SZ_4K);
		if (!ret)
			ret = shadowpt_cursor_query(c, &m);
		CHECK(!ret && m.mapped && m.tracked && m.level == 1 &&
		      m.pa == cl->small_pa[i] &&
		      m.va_start == BASE + i * SZ_4K &&
		      (m.prot & ~(SPT_PROT_ACCESSED | SPT_PROT_DIRTY)) ==
		      small_prot && m.cache == SPT_CACHE_MODE_WB,
		      "query 4K %d: ret %d mapped %d level %u pa %llx prot %x",
		      i, ret, m.mapped, m.level, m.pa, m.prot);
	}
	ret = shadowpt_cursor_jump(c, HUGE_VA + 5 * SZ_4K);
	if (!ret)
		ret = shadowpt_cursor_query(c, &m);
	CHECK(!ret && m.mapped && m.tracked && m.level == 2 &&
	      m.pa == cl->huge_pa && m.va_start == HUGE_VA &&
	      m.va_end == HUGE_VA + SZ_2M &&
	      (m.prot & ~(SPT_PROT_ACCESSED | SPT_PROT_DIRTY)) == huge_prot,
	      "query 2M: ret %d mapped %d level %u pa %llx prot %x", ret,
	      m.mapped, m.level, m.pa, m.prot);
	if (cl->page) {
		ret = shadowpt_cursor_jump(c, PHYS_VA);
		if (!ret)
			ret = shadowpt_cursor_query(c, &m);
		CHECK(!ret && m.mapped && !m.tracked && m.level == 1 &&
		      m.pa == page_to_phys(cl->page),
		      "query phys: ret %d mapped %d tracked %d pa %llx", ret,
		      m.mapped, m.tracked, m.pa);
	}
	ret = shadowpt_cursor_jump(c, HUGE_VA - SZ_4K);
	if (!ret)
		ret = shadowpt_cursor_query(c, &m);
	CHECK(!ret && !m.mapped && m.va_end == HUGE_VA,
	      "query before the 2M leaf: %d %d %llx", ret, m.mapped,
	      m.va_end);

	/* Walk: every leaf once, in order. */
	ret = shadowpt_cursor_jump(c, BASE);
	while (!ret && shadowpt_cursor_va(c) < BASE + RANGE) {
		ret = shadowpt_cursor_find_next(c, BASE + RANGE -
						shadowpt_cursor_va(c));
		if (ret != 1)
			break;
		ret = shadowpt_cursor_query(c, &m);
		if (ret)
			break;
		leaves++;
		if (m.va_end >= BASE + RANGE)
			break;
		ret = shadowpt_cursor_jump(c, m.va_end);
	}
	CHECK(ret >= 0 && leaves == NR_SMALL + 1 + !!cl->page,
	      "walk: ret %d, %u leaves", ret, leaves);
	ret = shadowpt_cursor_jump(c, BASE);
	if (!ret)
		ret = shadowpt_cursor_find_next(c, RANGE + SZ_4K);
	CHECK(ret == -EINVAL && shadowpt_cursor_va(c) == BASE,
	      "find_next past the range: %d", ret);
	ret = shadowpt_cursor_unmap(c, SZ_4K);
	CHECK(ret == -EINVAL, "unmap through a read-only cursor: %d", ret);
	shadowpt_cursor_drop(c);
}

/* Read the frames through the MMU; -ENODEV: no isolated CPU. */
static int load_read(struct client *cl, bool protected)
{
	struct spt_load_op ops[] = {
		{ .op = SPT_LOAD_OP_READ, .width = 8, .va = BASE },
		{ .op = SPT_LOAD_OP_READ, .width = 8,
		  .va = BASE + 3 * SZ_4K },
		{ .op = SPT_LOAD_OP_READ, .width = 8, .va = HUGE_VA },
		{ .op = SPT_LOAD_OP_READ, .width = 8,
		  .va = HUGE_VA + SZ_2M - SZ_4K },
		{ .op = SPT_LOAD_OP_WRITE, .width = 8, .va = BASE + SZ_4K,
		  .value = MAGIC + 0x77 },
		{ .op = SPT_LOAD_OP_READ, .width = 8, .va = BASE + SZ_4K },
		{ .op = SPT_LOAD_OP_READ, .width = 8, .va = PHYS_VA },
	};
	u32 nr = ARRAY_SIZE(ops) - !cl->page;
	struct shadowpt_load_result res;
	int ret;

	ret = shadowpt_load(cl->sp, 0, 1, ops, nr, &res);
	CHECK(ret == -EINVAL, "load with a CPU but not SPT_LOAD_CPU: %d", ret);
	ret = shadowpt_load(cl->sp, BIT(7), 0, ops, nr, &res);
	CHECK(ret == -EINVAL, "load with an unknown flag: %d", ret);
	ret = shadowpt_load(cl->sp, 0, 0, ops, 0, &res);
	CHECK(ret == -EINVAL, "load with no ops: %d", ret);
	ret = shadowpt_load(cl->sp, 0, 0, ops, nr, &res);
	if (ret == -ENODEV)
		return ret;
	CHECK(!ret && res.status == SPT_LOAD_DONE && res.ops_run == nr,
	      "load: ret %d status %u ran %u", ret, res.status, res.ops_run);
	if (ret)
		return ret;
	cl->load_ran = true;
	CHECK(ops[0].out_status == SPT_LOAD_OK &&
	      ops[0].out_value == MAGIC, "read 4K #0: %u %llx",
	      ops[0].out_status, ops[0].out_value);
	CHECK(ops[1].out_status == SPT_LOAD_OK &&
	      ops[1].out_value == MAGIC + 3, "read 4K #3: %u %llx",
	      ops[1].out_status, ops[1].out_value);
	CHECK(ops[2].out_status == SPT_LOAD_OK &&
	      ops[2].out_value == MAGIC + 0x100, "read 2M head: %u %llx",
	      ops[2].out_status, ops[2].out_value);
	CHECK(ops[3].out_status == SPT_LOAD_OK &&
	      ops[3].out_value == MAGIC + 0x1ff, "read 2M tail: %u %llx",
	      ops[3].out_status, ops[3].out_value);
	if (protected) {
		CHECK(ops[4].out_status == SPT_LOAD_FAULT &&
		      ops[4].out_fault == SPT_FAULT_READ_ONLY &&
		      ops[5].out_value == MAGIC + 0x77,
		      "write to a read-only page: %u %x, then %llx",
		      ops[4].out_status, ops[4].out_fault, ops[5].out_value);
	} else {
		CHECK(ops[4].out_status == SPT_LOAD_OK &&
		      ops[5].out_value == MAGIC + 0x77,
		      "write then read: %u %llx", ops[4].out_status,
		      ops[5].out_value);
	}
	if (cl->page)
		CHECK(ops[6].out_status == SPT_LOAD_OK &&
		      ops[6].out_value == *(u64 *)page_address(cl->page),
		      "read phys page: %u %llx", ops[6].out_status,
		      ops[6].out_value);
	return 0;
}

/* Everything read-only; then the first 4 KiB of the 2M leaf executable. */
static void protect_all(struct client *cl)
{
	struct shadowpt_cursor *c;
	struct shadowpt_mapping m;
	unsigned int changed = 0;
	u64 s, e;
	int ret;

	ret = shadowpt_cursor_new(cl->sp, BASE, BASE + RANGE,
				  SHADOWPT_CURSOR_MUT, &c);
	CHECK(!ret, "cursor_new mut: %d", ret);
	if (ret)
		return;
	ret = shadowpt_cursor_protect_next(c, RANGE, SPT_PROT_GLOBAL,
					   SHADOWPT_CACHE_KEEP, &s, &e);
	CHECK(ret == -EINVAL, "protect global: %d", ret);
	ret = shadowpt_cursor_protect_next(c, RANGE, 0,
					   SPT_CACHE_MODE_PAT(7) + 1, &s, &e);
	CHECK(ret == -EINVAL, "protect cache PAT(7) + 1: %d", ret);
	while (shadowpt_cursor_va(c) < BASE + RANGE) {
		ret = shadowpt_cursor_protect_next(c, BASE + RANGE -
						   shadowpt_cursor_va(c), 0,
						   SHADOWPT_CACHE_KEEP, &s,
						   &e);
		if (ret <= 0)
			break;
		changed++;
	}
	CHECK(ret >= 0 && changed == NR_SMALL + 1 + !!cl->page,
	      "protect read-only: ret %d, %u leaves", ret, changed);
	ret = shadowpt_cursor_jump(c, HUGE_VA);
	if (!ret)
		ret = shadowpt_cursor_protect_next(c, SZ_4K, SPT_PROT_EXEC,
						   SHADOWPT_CACHE_KEEP, &s,
						   &e);
	CHECK(ret == 1 && s == HUGE_VA && e == HUGE_VA + SZ_4K,
	      "protect part of the 2M leaf: %d [%llx, %llx)", ret, s, e);
	ret = shadowpt_cursor_jump(c, HUGE_VA);
	if (!ret)
		ret = shadowpt_cursor_query(c, &m);
	CHECK(!ret && m.level == 1 && m.pa == cl->huge_pa &&
	      (m.prot & SPT_PROT_EXEC) && !(m.prot & SPT_PROT_WRITE),
	      "split leaf: level %u pa %llx prot %x", m.level, m.pa, m.prot);
	ret = shadowpt_cursor_jump(c, HUGE_VA + SZ_4K);
	if (!ret)
		ret = shadowpt_cursor_query(c, &m);
	CHECK(!ret && m.level == 1 && m.pa == cl->huge_pa + SZ_4K &&
	      !(m.prot & (SPT_PROT_EXEC | SPT_PROT_WRITE)),
	      "split leaf +4K: level %u pa %llx prot %x", m.level, m.pa,
	      m.prot);
	shadowpt_cursor_drop(c);
}

static void unmap_all(struct client *cl)
{
	struct shadowpt_cursor *c;
	long n;
	int ret;

	ret = shadowpt_cursor_new(cl->sp, BASE, BASE + RANGE,
				  SHADOWPT_CURSOR_MUT, &c);
	CHECK(!ret, "cursor_new mut: %d", ret);
	if (ret)
		return;
	n = shadowpt_cursor_unmap(c, RANGE + SZ_4K);
	CHECK(n == -EINVAL, "unmap past the range: %ld", n);
	n = shadowpt_cursor_unmap(c, RANGE);
	/* The 2M leaf was split into 512 by the partial protect. */
	CHECK(n == NR_SMALL + 512 + !!cl->page, "unmap: %ld leaves", n);
	ret = shadowpt_cursor_jump(c, BASE);
	if (!ret)
		ret = shadowpt_cursor_find_next(c, RANGE);
	CHECK(ret == 0, "find_next after unmap: %d", ret);
	shadowpt_cursor_drop(c);
}

static void client_run(struct client *cl)
{
	char msg[128];
	int ret;

	check_bad_create();
	ret = shadowpt_space_create(NULL, &cl->sp);
	CHECK(!ret, "space_create: %d", ret);
	if (ret)
		return;
	CHECK(shadowpt_space_id(cl->sp) >= 1, "space id %u",
	      shadowpt_space_id(cl->sp));
	CHECK(shadowpt_space_levels(cl->sp) == 4 ||
	      shadowpt_space_levels(cl->sp) == 5, "levels %u",
	      shadowpt_space_levels(cl->sp));
	if (phys || phys_refused) {
		cl->page = alloc_page(GFP_KERNEL | __GFP_ZERO);
		CHECK(cl->page, "alloc_page");
		if (cl->page)
			*(u64 *)page_address(cl->page) = MAGIC + 0xabc;
	}
	if (alloc_frames(cl) || map_all(cl))
		return;
	query_all(cl, SPT_PROT_WRITE, SPT_PROT_WRITE);
	ret = shadowpt_space_check(cl->sp, msg, sizeof(msg));
	CHECK(!ret, "check after map: %d %s", ret, msg);
	ret = load_read(cl, false);
	if (ret == -ENODEV) {
		pr_info("shadowpt_client: no isolated CPU, no load window\n");
		CHECK(!require_load, "require_load but no isolated CPU");
	}
	protect_all(cl);
	if (cl->load_ran)
		load_read(cl, true);
	ret = shadowpt_space_check(cl->sp, msg, sizeof(msg));
	CHECK(!ret, "check after protect: %d %s", ret, msg);
	unmap_all(cl);
	ret = shadowpt_space_check(cl->sp, msg, sizeof(msg));
	CHECK(!ret, "check after unmap: %d %s", ret, msg);
}

static void client_cleanup(struct client *cl)
{
	int i, ret;

	for (i = 0; i < NR_SMALL; i++)
		shadowpt_frame_free(cl->small[i]);
	shadowpt_frame_free(cl->huge);
	shadowpt_frame_free(cl->extra);
	if (cl->sp) {
		ret = shadowpt_space_destroy(cl->sp);
		CHECK(!ret, "space_destroy: %d", ret);
	}
	/* After the destroy: no translation of it is left anywhere. */
	if (cl->page)
		__free_page(cl->page);
}

/* The space kept until unload: one frame at keep_va. */
static int keep_space(void)
{
	struct shadowpt_space_opts opts = { .limit_bytes = SZ_1M };
	struct shadowpt_frame *f;
	struct shadowpt_cursor *c;
	int ret;

	ret = shadowpt_space_create(&opts, &kept);
	CHECK(!ret, "space_create kept: %d", ret);
	if (ret)
		return ret;
	ret = shadowpt_frame_alloc(kept, 2, &f);
	CHECK(ret == -ENOSPC, "2M frame past a 1M limit: %d", ret);
	ret = shadowpt_frame_alloc(kept, 1, &f);
	CHECK(!ret, "frame_alloc: %d", ret);
	if (ret)
		return ret;
	ret = shadowpt_cursor_new(kept, keep_va, keep_va + SZ_4K,
				  SHADOWPT_CURSOR_MUT, &c);
	CHECK(!ret, "cursor_new kept: %d", ret);
	if (ret) {
		shadowpt_frame_free(f);
		return ret;
	}
	ret = shadowpt_cursor_map_frame(c, f, SPT_PROT_WRITE, 0, 0);
	CHECK(!ret, "map kept: %d", ret);
	shadowpt_cursor_drop(c);
	if (ret)
		shadowpt_frame_free(f);
	space_id = shadowpt_space_id(kept);
	return ret;
}

static int __init shadowpt_client_init(void)
{
	struct client cl = {};

	client_run(&cl);
	client_cleanup(&cl);
	if (!failures)
		keep_space();
	if (failures) {
		if (kept)
			shadowpt_space_destroy(kept);
		pr_err("shadowpt_client: FAIL: %u checks failed, %u passed\n",
		       failures, checks);
		return -EIO;
	}
	pr_info("shadowpt_client: PASS: %u checks, load window %s, phys map %s, kept space %u\n",
		checks, cl.load_ran ? "ran" : "skipped",
		cl.phys_was_refused ? "refused as expected" :
		phys ? "done" : "not tried", space_id);
	return 0;
}

static void __exit shadowpt_client_exit(void)
{
	int ret = shadowpt_space_destroy(kept);

	pr_info("shadowpt_client: kept space %u destroyed: %d\n", space_id,
		ret);
}

module_init(shadowpt_client_init);
module_exit(shadowpt_client_exit);

MODULE_LICENSE("GPL");
MODULE_DESCRIPTION("Sample client of the shadowpt in-kernel API");
