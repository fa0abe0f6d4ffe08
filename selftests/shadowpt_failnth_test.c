// SPDX-License-Identifier: GPL-2.0
/*
 * Every allocation of every command fails in turn (debugfs fail-nth, in the
 * manner of tools/testing/selftests/iommu/iommufd_fail_nth.c): for
 * N = 1, 2, 3, ... a fresh state is built, the Nth allocation the command
 * makes inside the module is made to fail, and then
 *  - the command succeeds, or fails with exactly ENOMEM (netlink: -ENOMEM);
 *  - the space passes SPT_IOCTL_CHECK;
 *  - a failure with no progress changed nothing observable (the space's
 *    mappings, its tree and data counts, the pool counters, the number of
 *    spaces); one with progress (out_mapped, out_done) left the same state
 *    as the same command run without injection on just the part it reports;
 *  - once the state is destroyed, the pool counters are back (no leak).
 * The sweep stops at the first N whose injection never fired: N - 1 is the
 * number of injection points of the command, printed per variant.
 *
 * An "events" listener is subscribed throughout, so the allocations of the
 * multicast events are swept too (a dropped event is not a failure of the
 * command). Load windows count the allocations their kworker makes for the
 * caller (in-window MAP/PROTECT/UNMAP nodes): those fail the op
 * (SPT_LOAD_ERROR, ENOMEM), not the ioctl.
 */
#include "shadowpt_nl.h"

#define VA		SPT_TEST_VA
#define MAX_N		20000

struct fn_ctx {
	int fd;
	struct spt_nl nl;
	__u32 id;		/* the space the command works on */
	__u32 new_id;		/* a space the command created */
	bool phys_ok;
	/* load windows */
	struct spt_load_op ops[8];
	unsigned int nr_ops;
	bool op_enomem;		/* an in-window op failed with ENOMEM */
};

/*
 * One command under test: prepare() builds the state (no injection),
 * call() runs the command on the first @limit bytes of its range
 * (~0: all of it) and reports how many bytes it did.
 */
struct fn_case {
	const char *name;
	bool phys, load;
	int (*prepare)(struct fn_ctx *c);
	int (*call)(struct fn_ctx *c, __u64 limit, __u64 *progress);
};

static int errno_ret(int ret)
{
	return ret ? -errno : 0;
}

/* ---- states ------------------------------------------------------------ */

static int prep_empty(struct fn_ctx *c)
{
	return _spt_space_create(c->fd, 0, &c->id);
}

/* 2 MiB leaves at VA + 1 GiB and 4 KiB leaves around VA + 2 GiB. */
static int prep_mapped(struct fn_ctx *c)
{
	if (prep_empty(c) ||
	    _spt_map(c->fd, c->id, SPT_MAP_2M, VA + SZ_1G, 2 * SZ_2M, 0,
		     SPT_PROT_WRITE, 0, NULL) ||
	    _spt_map(c->fd, c->id, SPT_MAP_4K, VA + 2 * SZ_1G - 2 * SZ_4K,
		     4 * SZ_4K, 0, SPT_PROT_WRITE, 0, NULL))
		return -1;
	return 0;
}

/* ---- ioctls ------------------------------------------------------------ */

static __u64 lim(__u64 len, __u64 limit)
{
	return limit < len ? limit : len;
}

static int do_map(struct fn_ctx *c, __u32 flags, __u64 va, __u64 len,
		  __u64 phys, __u64 limit, __u64 *progress)
{
	if (!lim(len, limit)) {
		*progress = 0;
		return 0;
	}
	return errno_ret(_spt_map(c->fd, c->id, flags, va, lim(len, limit),
				  phys, SPT_PROT_WRITE, 0, progress));
}

/* 4 KiB frames across a top-level boundary: new nodes at every level. */
static int call_map_4k_nodes(struct fn_ctx *c, __u64 limit, __u64 *progress)
{
	return do_map(c, SPT_MAP_4K, VA + SZ_512G - 3 * SZ_4K, 6 * SZ_4K, 0,
		      limit, progress);
}

/* 4 KiB frames over two 2 MiB windows (frames allocated per window). */
static int call_map_4k_windows(struct fn_ctx *c, __u64 limit,
			       __u64 *progress)
{
	return do_map(c, SPT_MAP_4K, VA + 4 * SZ_2M - 2 * SZ_4K, 4 * SZ_4K, 0,
		      limit, progress);
}

/* Whole 2 MiB frames: each one a fresh chunk from the buddy allocator. */
static int call_map_2m(struct fn_ctx *c, __u64 limit, __u64 *progress)
{
	return do_map(c, SPT_MAP_2M, VA + 3 * SZ_1G - SZ_2M, 3 * SZ_2M, 0,
		      limit, progress);
}

static int call_map_largest(struct fn_ctx *c, __u64 limit, __u64 *progress)
{
	return do_map(c, SPT_MAP_LARGEST, VA + 4 * SZ_1G - SZ_4K,
		      SZ_2M + 2 * SZ_4K, 0, limit, progress);
}

/* Replace 4 KiB leaves and split a 2 MiB one. */
static int call_map_replace(struct fn_ctx *c, __u64 limit, __u64 *progress)
{
	return do_map(c, SPT_MAP_4K | SPT_MAP_REPLACE,
		      VA + SZ_1G + SZ_2M - 2 * SZ_4K, 4 * SZ_4K, 0, limit,
		      progress);
}

/* Untracked: 4 KiB, 2 MiB and 1 GiB leaves, nodes only. */
static int call_map_phys(struct fn_ctx *c, __u64 limit, __u64 *progress)
{
	return do_map(c, SPT_MAP_PHYS, VA + 7 * SZ_1G - SZ_2M - SZ_4K,
		      SZ_1G + SZ_2M + 2 * SZ_4K, SPT_TEST_PHYS - SZ_2M - SZ_4K,
		      limit, progress);
}

/*
 * SPT_MAP_SHARE, an alias in the space: two 4 KiB pieces of the first
 * prepared 2 MiB frame, then the second one whole (a 2 MiB leaf), at an
 * address where every node is new.
 */
static int call_map_share(struct fn_ctx *c, __u64 limit, __u64 *progress)
{
	__u64 len = lim(2 * SZ_4K + SZ_2M, limit);
	struct spt_map m = {
		.size = sizeof(m), .flags = SPT_MAP_SHARE, .space_id = c->id,
		.prot = SPT_PROT_WRITE, .va = VA + 5 * SZ_1G - 2 * SZ_4K,
		.length = len, .src_space_id = c->id,
		.src_va = VA + SZ_1G + SZ_2M - 2 * SZ_4K,
	};
	int ret;

	*progress = 0;
	if (!len)
		return 0;
	ret = errno_ret(ioctl(c->fd, SPT_IOCTL_MAP, &m));
	*progress = m.out_mapped;
	return ret;
}

/*
 * SPT_MAP_USER: four pages of the test's own, pinned and mapped across a
 * 2 MiB boundary at an address where every node is new.
 */
static int call_map_user(struct fn_ctx *c, __u64 limit, __u64 *progress)
{
	static char *buf;
	__u64 len = lim(4 * SZ_4K, limit);
	struct spt_map m = {
		.size = sizeof(m), .flags = SPT_MAP_USER | SPT_MAP_4K,
		.space_id = c->id, .prot = SPT_PROT_WRITE,
		.va = VA + 6 * SZ_1G - 2 * SZ_4K, .length = len,
	};
	int ret;

	*progress = 0;
	if (!buf) {
		buf = mmap(NULL, 4 * SZ_4K, PROT_READ | PROT_WRITE,
			   MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
		if (buf == MAP_FAILED) {
			buf = NULL;
			return -ENOMEM;
		}
		memset(buf, 0x5a, 4 * SZ_4K);
	}
	if (!len)
		return 0;
	m.src_va = (uintptr_t)buf;
	ret = errno_ret(ioctl(c->fd, SPT_IOCTL_MAP, &m));
	*progress = m.out_mapped;
	return ret;
}

/*
 * SPT_IOCTL_MMAP: a region over one 2 MiB leaf and the 4 KiB leaves of
 * the prepared state (a reference and a count per page), mapped and
 * unmapped once in the process, then given back: nothing may stay.
 */
static int call_mmap(struct fn_ctx *c, __u64 limit, __u64 *progress)
{
	struct spt_mmap m = {
		.size = sizeof(m), .space_id = c->id,
		.va = VA + 2 * SZ_1G - 2 * SZ_4K, .length = 4 * SZ_4K,
	};
	struct spt_mmap r = { .size = sizeof(r), .flags = SPT_MMAP_RELEASE };
	int ret;
	void *p;

	*progress = 0;
	ret = errno_ret(ioctl(c->fd, SPT_IOCTL_MMAP, &m));
	if (!ret) {
		m.va = VA + SZ_1G;
		m.length = SZ_2M;
		r.offset = m.out_offset;
		ret = errno_ret(ioctl(c->fd, SPT_IOCTL_MMAP, &m));
		if (ioctl(c->fd, SPT_IOCTL_MMAP, &r))
			return -EUCLEAN;
	}
	if (ret)
		return ret;
	p = mmap(NULL, SZ_2M, PROT_READ | PROT_WRITE, MAP_SHARED, c->fd,
		 m.out_offset);
	if (p == MAP_FAILED || munmap(p, SZ_2M))
		return -EUCLEAN;
	r.offset = m.out_offset;
	return ioctl(c->fd, SPT_IOCTL_MMAP, &r) ? -EUCLEAN : 0;
}

/*
 * Unmap and protect: [start, end) of the prepared 2 MiB leaves at
 * VA + 1 GiB. "head": a split first (no progress possible); "tail": a
 * whole leaf, then a split (progress: the whole leaf).
 */
static int do_unmap(struct fn_ctx *c, __u64 va, __u64 len, __u64 limit,
		    __u64 *progress)
{
	*progress = 0;
	if (!lim(len, limit))
		return 0;
	return errno_ret(_spt_unmap(c->fd, c->id, va, lim(len, limit), NULL,
				    progress));
}

static int do_protect(struct fn_ctx *c, __u64 va, __u64 len, __u64 limit,
		      __u64 *progress)
{
	*progress = 0;
	if (!lim(len, limit))
		return 0;
	return errno_ret(_spt_protect(c->fd, c->id, 0, va, lim(len, limit),
				      SPT_PROT_USER, 0, NULL, progress));
}

static int call_unmap_head(struct fn_ctx *c, __u64 limit, __u64 *progress)
{
	return do_unmap(c, VA + SZ_1G + SZ_4K, SZ_1G - SZ_4K, limit,
			progress);
}

static int call_unmap_tail(struct fn_ctx *c, __u64 limit, __u64 *progress)
{
	return do_unmap(c, VA + SZ_1G, SZ_2M + SZ_4K, limit, progress);
}

static int call_protect_head(struct fn_ctx *c, __u64 limit,
			     __u64 *progress)
{
	return do_protect(c, VA + SZ_1G + SZ_2M - SZ_4K, SZ_1G, limit,
			  progress);
}

static int call_protect_tail(struct fn_ctx *c, __u64 limit,
			     __u64 *progress)
{
	return do_protect(c, VA + SZ_1G, SZ_2M + SZ_64K, limit, progress);
}

static int call_query(struct fn_ctx *c, __u64 limit, __u64 *progress)
{
	struct spt_query_entry e;

	*progress = 0;
	return errno_ret(_spt_query(c->fd, c->id, VA + SZ_1G, &e));
}

static int call_query_batch(struct fn_ctx *c, __u64 limit, __u64 *progress)
{
	static __u64 vas[600];
	static struct spt_query_entry e[600];
	__u32 done = 0;
	unsigned int i;
	int ret;

	for (i = 0; i < 600; i++)
		vas[i] = VA + SZ_1G + i * SZ_64K;
	ret = errno_ret(_spt_query_batch(c->fd, c->id, vas, e, 600, &done));
	/* Queries change nothing: progress is not a state change. */
	*progress = 0;
	if (ret && done)
		return -EPROTO;
	return ret;
}

/*
 * SPT_IOCTL_QUERY_RANGE over the mapped 2 MiB leaves and the 4 KiB leaves
 * around the 2 GiB line, in both modes: its bounce buffer is the only
 * allocation, and a failed one must report nothing (out_entries 0).
 */
static int call_query_range(struct fn_ctx *c, __u64 limit, __u64 *progress)
{
	static __u64 words[1024];
	static struct spt_query_run runs[16];
	struct spt_query_range q = {
		.size = sizeof(q), .space_id = c->id,
		.va = VA + SZ_1G, .length = SZ_1G,
		.entries = (uintptr_t)runs, .entry_size = sizeof(runs[0]),
		.max_entries = 16,
	};
	int ret;

	*progress = 0;	/* queries change nothing */
	ret = errno_ret(ioctl(c->fd, SPT_IOCTL_QUERY_RANGE, &q));
	if (ret)
		return q.out_entries ? -EPROTO : ret;
	q = (struct spt_query_range){
		.size = sizeof(q), .space_id = c->id,
		.flags = SPT_QUERY_RANGE_COMPACT,
		.va = VA + 2 * SZ_1G - 512 * SZ_4K, .length = 1024 * SZ_4K,
		.entries = (uintptr_t)words, .entry_size = sizeof(words[0]),
		.max_entries = 1024,
	};
	ret = errno_ret(ioctl(c->fd, SPT_IOCTL_QUERY_RANGE, &q));
	return ret && q.out_entries ? -EPROTO : ret;
}

static int call_rw(struct fn_ctx *c, bool write, __u64 *progress)
{
	static char buf[3 * SZ_4K];
	__u64 done = 0;
	int ret;

	memset(buf, 0x5a, sizeof(buf));
	ret = errno_ret(_spt_rw(c->fd, c->id, write ? SPT_RW_WRITE : 0,
				VA + 2 * SZ_1G - SZ_4K - 7, buf, sizeof(buf),
				&done));
	*progress = 0;
	/* Its only allocation comes before the first byte. */
	if (ret && done)
		return -EPROTO;
	return ret;
}

static int call_read(struct fn_ctx *c, __u64 limit, __u64 *progress)
{
	return call_rw(c, false, progress);
}

static int call_write(struct fn_ctx *c, __u64 limit, __u64 *progress)
{
	return call_rw(c, true, progress);
}

static int call_version(struct fn_ctx *c, __u64 limit, __u64 *progress)
{
	*progress = 0;
	return errno_ret(_spt_version(c->fd, NULL));
}

static int call_info(struct fn_ctx *c, __u64 limit, __u64 *progress)
{
	*progress = 0;
	return errno_ret(_spt_space_info(c->fd, c->id, NULL));
}

static int call_stats(struct fn_ctx *c, __u64 limit, __u64 *progress)
{
	*progress = 0;
	return errno_ret(_spt_stats(c->fd, c->id, NULL));
}

static int call_check(struct fn_ctx *c, __u64 limit, __u64 *progress)
{
	*progress = 0;
	return errno_ret(_spt_check(c->fd, c->id, NULL, 0));
}

static int call_create(struct fn_ctx *c, __u64 limit, __u64 *progress)
{
	*progress = 0;
	return errno_ret(_spt_space_create(c->fd, 0, &c->new_id));
}

static int call_create_fd_owned(struct fn_ctx *c, __u64 limit,
				__u64 *progress)
{
	*progress = 0;
	return errno_ret(_spt_space_create(c->fd, SPT_SPACE_FD_OWNED,
					   &c->new_id));
}

static int call_destroy(struct fn_ctx *c, __u64 limit, __u64 *progress)
{
	int ret;

	*progress = 0;
	ret = errno_ret(_spt_space_destroy(c->fd, c->id));
	if (!ret)
		c->id = 0;
	return ret;
}

/*
 * A window that maps (across a 2 MiB boundary: a new leaf node), writes,
 * reads, protects and unmaps parts of a 2 MiB leaf (splits: nodes
 * allocated inside the window).
 */
static int call_load(struct fn_ctx *c, __u64 limit, __u64 *progress)
{
	struct spt_load_op ops[] = {
		{ .op = SPT_LOAD_OP_MAP, .va = VA + 5 * SZ_2M - SZ_4K,
		  .length = 2 * SZ_4K, .prot = SPT_PROT_WRITE },
		{ .op = SPT_LOAD_OP_WRITE, .width = 8, .va = VA + 5 * SZ_2M,
		  .value = 0x1234 },
		{ .op = SPT_LOAD_OP_READ, .width = 8, .va = VA + SZ_1G },
		{ .op = SPT_LOAD_OP_PROTECT, .va = VA + SZ_1G + SZ_4K,
		  .length = SZ_4K },
		{ .op = SPT_LOAD_OP_UNMAP, .va = VA + SZ_1G + SZ_2M + SZ_4K,
		  .length = SZ_4K },
	};
	unsigned int i;
	int ret;

	*progress = 0;
	c->nr_ops = sizeof(ops) / sizeof(ops[0]);
	memcpy(c->ops, ops, sizeof(ops));
	ret = errno_ret(_spt_load(c->fd, c->id, c->ops, c->nr_ops, NULL));
	c->op_enomem = false;
	if (ret)
		return ret;
	for (i = 0; i < c->nr_ops; i++) {
		if (c->ops[i].out_status == SPT_LOAD_ERROR) {
			if (c->ops[i].out_errno != ENOMEM)
				return -EPROTO;
			c->op_enomem = true;
		}
	}
	return 0;
}

/* ---- netlink ----------------------------------------------------------- */

static int call_nl_space_get(struct fn_ctx *c, __u64 limit, __u64 *progress)
{
	struct spt_nl_spaces l;
	int ret = spt_nl_spaces_get(&c->nl, c->id, &l);

	*progress = 0;
	if (!ret && (l.nr != 1 || l.bad))
		ret = -EPROTO;
	free(l.v);
	return ret;
}

static int call_nl_space_dump(struct fn_ctx *c, __u64 limit,
			      __u64 *progress)
{
	struct spt_nl_spaces l;
	int ret = spt_nl_spaces_get(&c->nl, 0, &l);

	*progress = 0;
	if (!ret && (!spt_nl_spaces_find(&l, c->id) || l.bad))
		ret = -EPROTO;
	free(l.v);
	return ret;
}

static int call_nl_mapping_dump(struct fn_ctx *c, __u64 limit,
				__u64 *progress)
{
	struct spt_nl_runs r;
	int ret = spt_nl_runs_get(&c->nl, c->id, false, 0, 0, &r);

	*progress = 0;
	if (!ret && (r.nr < 2 || r.bad))
		ret = -EPROTO;
	free(r.v);
	return ret;
}

static int call_nl_space_new(struct fn_ctx *c, __u64 limit, __u64 *progress)
{
	struct spt_nl_spaces l = { 0 };
	int ret;

	*progress = 0;
	ret = spt_nl_request(&c->nl, SPT_GENL_CMD_SPACE_NEW, 0, NULL,
			     spt_nl_space_cb, &l, NULL);
	if (l.nr == 1)
		c->new_id = l.v[0].id;
	if (!ret && l.nr != 1)
		ret = -EPROTO;
	free(l.v);
	return ret;
}

static int call_nl_space_del(struct fn_ctx *c, __u64 limit, __u64 *progress)
{
	struct spt_nl_args a = { .has_id = true, .id = c->id };
	int ret;

	*progress = 0;
	ret = spt_nl_request(&c->nl, SPT_GENL_CMD_SPACE_DEL, 0, &a, NULL,
			     NULL, NULL);
	if (!ret)
		c->id = 0;
	return ret;
}

/* ---- the observable state ---------------------------------------------- */

struct fn_leaf {
	__u64 va_start, va_end, phys;
	__u32 flags, level, prot, cache;
};

struct fn_state {
	struct spt_stats st;		/* pool counters and the space's tree */
	struct fn_leaf *v;		/* every leaf of the space, in order */
	size_t nr;
	bool have_space;
};

static void state_free(struct fn_state *s)
{
	free(s->v);
	s->v = NULL;
	s->nr = 0;
}

static __u64 leaf_size(__u32 level)
{
	return SZ_4K << (9 * (level - 1));
}

/*
 * The space's leaves from a MAPPING_GET dump, each run cut back into its
 * leaves (how runs merge depends on where tracked frames happen to lie).
 */
static int state_take(int fd, struct spt_nl *nl, __u32 id,
		      struct fn_state *s)
{
	struct spt_nl_runs r;
	size_t i, cap = 0;
	__u64 j;

	memset(s, 0, sizeof(*s));
	if (!id)
		return _spt_stats(fd, 0, &s->st);
	s->have_space = true;
	if (_spt_stats(fd, id, &s->st))
		return -1;
	if (spt_nl_runs_get(nl, id, false, 0, 0, &r) || r.bad) {
		free(r.v);
		return -1;
	}
	for (i = 0; i < r.nr; i++) {
		const struct spt_nl_run *run = &r.v[i];
		__u64 size = leaf_size(run->level);

		if (run->pages * size != run->end - run->va)
			goto err;
		for (j = 0; j < run->pages; j++) {
			if (s->nr == cap) {
				void *p;

				cap = cap ? 2 * cap : 64;
				p = realloc(s->v, cap * sizeof(*s->v));
				if (!p)
					goto err;
				s->v = p;
			}
			s->v[s->nr++] = (struct fn_leaf) {
				.va_start = run->va + j * size,
				.va_end = run->va + (j + 1) * size,
				/* Tracked frames differ from run to run. */
				.phys = run->flags & SPT_QUERY_TRACKED ? 0 :
					run->phys + j * size,
				.flags = run->flags, .level = run->level,
				.prot = run->prot, .cache = run->cache,
			};
		}
	}
	free(r.v);
	return 0;
err:
	free(r.v);
	return -1;
}

/*
 * Compare two states, each relative to its own baseline: the pool
 * counters by difference, the space (if any) absolutely.
 */
static int state_cmp(const struct fn_state *b0, const struct fn_state *a,
		     const struct fn_state *b1, const struct fn_state *b,
		     char *why, size_t len)
{
	const struct spt_stats *x0 = &b0->st, *x = &a->st;
	const struct spt_stats *y0 = &b1->st, *y = &b->st;
	size_t i;

#define DELTA_NE(f) (x->f - x0->f != y->f - y0->f)
	if (DELTA_NE(pool_used_frames) || DELTA_NE(pool_node_frames) ||
	    DELTA_NE(pool_data_frames) || DELTA_NE(nr_spaces)) {
		snprintf(why, len,
			 "pool used/node/data/spaces changed by %lld/%lld/%lld/%lld, want %lld/%lld/%lld/%lld",
			 (long long)(x->pool_used_frames - x0->pool_used_frames),
			 (long long)(x->pool_node_frames - x0->pool_node_frames),
			 (long long)(x->pool_data_frames - x0->pool_data_frames),
			 (long long)(x->nr_spaces - x0->nr_spaces),
			 (long long)(y->pool_used_frames - y0->pool_used_frames),
			 (long long)(y->pool_node_frames - y0->pool_node_frames),
			 (long long)(y->pool_data_frames - y0->pool_data_frames),
			 (long long)(y->nr_spaces - y0->nr_spaces));
		return -1;
	}
#undef DELTA_NE
	if (a->have_space != b->have_space) {
		snprintf(why, len, "space exists: %d, want %d", a->have_space,
			 b->have_space);
		return -1;
	}
	if (!a->have_space)
		return 0;
	if (memcmp(x->space_nodes, y->space_nodes, sizeof(x->space_nodes)) ||
	    memcmp(x->space_leaves, y->space_leaves,
		   sizeof(x->space_leaves)) ||
	    x->space_data_frames != y->space_data_frames) {
		snprintf(why, len,
			 "tree: nodes L1..L4 %llu/%llu/%llu/%llu leaves %llu/%llu/%llu data %llu, want %llu/%llu/%llu/%llu %llu/%llu/%llu %llu",
			 x->space_nodes[0], x->space_nodes[1],
			 x->space_nodes[2], x->space_nodes[3],
			 x->space_leaves[0], x->space_leaves[1],
			 x->space_leaves[2], x->space_data_frames,
			 y->space_nodes[0], y->space_nodes[1],
			 y->space_nodes[2], y->space_nodes[3],
			 y->space_leaves[0], y->space_leaves[1],
			 y->space_leaves[2], y->space_data_frames);
		return -1;
	}
	if (a->nr != b->nr) {
		snprintf(why, len, "%zu leaves, want %zu", a->nr, b->nr);
		return -1;
	}
	for (i = 0; i < a->nr; i++) {
		const struct fn_leaf *p = &a->v[i], *q = &b->v[i];

		if (memcmp(p, q, sizeof(*p))) {
			snprintf(why, len,
				 "leaf [0x%llx,0x%llx) phys 0x%llx flags %u level %u prot %#x, want [0x%llx,0x%llx) phys 0x%llx flags %u level %u prot %#x",
				 p->va_start, p->va_end, p->phys, p->flags,
				 p->level, p->prot, q->va_start, q->va_end,
				 q->phys, q->flags, q->level, q->prot);
			return -1;
		}
	}
	return 0;
}

/* ---- the fixture ------------------------------------------------------- */

FIXTURE(failnth) {
	struct spt_env env;
	struct spt_fail_nth knob;
	struct spt_nl mon;
	struct spt_nl aux;	/* for the state dumps */
	struct fn_ctx c;
};

FIXTURE_VARIANT(failnth) {
	struct fn_case k;
};

#define FN_CASE(_name, _prep, _call, ...)				\
	FIXTURE_VARIANT_ADD(failnth, _name) {				\
		.k = { .name = #_name, .prepare = _prep,		\
		       .call = _call, __VA_ARGS__ },			\
	}

FN_CASE(version, prep_empty, call_version);
FN_CASE(space_create, NULL, call_create);
FN_CASE(space_create_fd_owned, NULL, call_create_fd_owned);
FN_CASE(space_destroy, prep_mapped, call_destroy);
FN_CASE(space_info, prep_mapped, call_info);
FN_CASE(map_4k_nodes, prep_empty, call_map_4k_nodes);
FN_CASE(map_4k_windows, prep_mapped, call_map_4k_windows);
FN_CASE(map_2m, prep_mapped, call_map_2m);
FN_CASE(map_largest, prep_mapped, call_map_largest);
FN_CASE(map_replace_split, prep_mapped, call_map_replace);
FN_CASE(map_phys, prep_mapped, call_map_phys, .phys = true);
FN_CASE(map_share_alias, prep_mapped, call_map_share);
FN_CASE(map_user, prep_mapped, call_map_user);
FN_CASE(mmap_region, prep_mapped, call_mmap);
FN_CASE(unmap_split_head, prep_mapped, call_unmap_head);
FN_CASE(unmap_split_tail, prep_mapped, call_unmap_tail);
FN_CASE(protect_split_head, prep_mapped, call_protect_head);
FN_CASE(protect_split_tail, prep_mapped, call_protect_tail);
FN_CASE(query, prep_mapped, call_query);
FN_CASE(query_batch, prep_mapped, call_query_batch);
FN_CASE(query_range, prep_mapped, call_query_range);
FN_CASE(rw_read, prep_mapped, call_read);
FN_CASE(rw_write, prep_mapped, call_write);
FN_CASE(stats, prep_mapped, call_stats);
FN_CASE(check, prep_mapped, call_check);
FN_CASE(load, prep_mapped, call_load, .load = true);
FN_CASE(nl_space_get_do, prep_mapped, call_nl_space_get);
FN_CASE(nl_space_get_dump, prep_mapped, call_nl_space_dump);
FN_CASE(nl_mapping_get_dump, prep_mapped, call_nl_mapping_dump);
FN_CASE(nl_space_new, NULL, call_nl_space_new);
FN_CASE(nl_space_del, prep_mapped, call_nl_space_del);

FIXTURE_SETUP(failnth)
{
	spt_env_setup(_metadata, &self->env);
	self->knob.wfd = self->knob.rfd = -1;
	self->mon.sk = NULL;
	self->aux.sk = NULL;
	self->c = (struct fn_ctx){ .fd = self->env.fd };
	if (access(SPT_FAIL_NTH, W_OK))
		SPT_SETUP_SKIP("%s not available", SPT_FAIL_NTH);
	ASSERT_EQ(0, spt_fail_nth_open(&self->knob));
	self->c.phys_ok = spt_env_allow_phys(&self->env) == 0;
	ASSERT_EQ(0, spt_nl_open(&self->c.nl));
	ASSERT_EQ(0, spt_nl_open(&self->aux));
	ASSERT_EQ(0, spt_nl_monitor_open(&self->mon));
	nl_socket_set_buffer_size(self->mon.sk, 4 << 20, 0);
}

FIXTURE_TEARDOWN(failnth)
{
	if (self->knob.wfd >= 0)
		spt_fail_nth_arm(&self->knob, 0);
	spt_fail_nth_close(&self->knob);
	spt_nl_close(&self->c.nl);
	spt_nl_close(&self->aux);
	spt_nl_close(&self->mon);
	spt_env_teardown(_metadata, &self->env);
}

/* Events are only there to be allocated: throw them away. */
static void drain(struct spt_nl *mon)
{
	struct spt_nl_events *l = calloc(1, sizeof(*l));

	if (!l)
		return;
	do {
		l->nr = 0;
		spt_nl_monitor_drain(mon, l);
	} while (l->nr == sizeof(l->v) / sizeof(l->v[0]));
	free(l);
}

static void destroy_all(struct fn_ctx *c)
{
	if (c->id)
		_spt_space_destroy(c->fd, c->id);
	if (c->new_id)
		_spt_space_destroy(c->fd, c->new_id);
	c->id = 0;
	c->new_id = 0;
}

/* Build the state; returns its baseline. */
static void fn_prepare(struct __test_metadata *_metadata,
		       FIXTURE_DATA(failnth) *self,
		       const struct fn_case *k, struct fn_state *base)
{
	struct fn_ctx *c = &self->c;

	c->id = 0;
	c->new_id = 0;
	if (k->prepare)
		ASSERT_EQ(0, k->prepare(c));
	drain(&self->mon);
	ASSERT_EQ(0, state_take(c->fd, &self->aux, c->id, base));
}

TEST_F_TIMEOUT(failnth, sweep, 900)
{
	const struct fn_case *k = &variant->k;
	struct fn_ctx *c = &self->c;
	unsigned int n, fired_ok = 0, op_failed = 0, failed = 0, partial = 0;
	struct spt_counters now;
	int fd_owned_fd = -1;

	if (k->phys && !c->phys_ok)
		SKIP(return, "allow_phys cannot be set");
	if (k->load) {
		/* Needs an isolated CPU (the VMs boot with isolcpus=1). */
		__u64 p;

		ASSERT_EQ(0, prep_mapped(c));
		if (call_load(c, ~0ULL, &p) == -ENODEV) {
			destroy_all(c);
			SKIP(return, "no isolated CPU for load windows");
		}
		destroy_all(c);
	}
	if (!strcmp(k->name, "space_create_fd_owned")) {
		/* Its own descriptor: closing it is the cleanup. */
		fd_owned_fd = spt_open();
		ASSERT_LE(0, fd_owned_fd);
	}

	for (n = 1; n < MAX_N; n++) {
		struct fn_state base, after;
		__u64 progress = 0;
		long left;
		int ret;

		if (fd_owned_fd >= 0)
			c->fd = fd_owned_fd;
		fn_prepare(_metadata, self, k, &base);
		ASSERT_EQ(0, spt_fail_nth_arm(&self->knob, n));
		ret = k->call(c, ~0ULL, &progress);
		left = spt_fail_nth_left(&self->knob);
		ASSERT_EQ(0, spt_fail_nth_arm(&self->knob, 0));
		drain(&self->mon);
		if (ret && ret != -ENOMEM)
			TH_LOG("%s: n=%u: %s", k->name, n, strerror(-ret));
		ASSERT_TRUE(!ret || ret == -ENOMEM);
		/* ENOMEM only from our injection. */
		if (ret)
			ASSERT_EQ(0, left);
		if (c->id)
			ASSERT_EQ(0, spt_check_log(_metadata, c->fd, c->id));
		if (c->new_id)
			ASSERT_EQ(0, spt_check_log(_metadata, c->fd,
						   c->new_id));
		ASSERT_EQ(0, state_take(c->fd, &self->aux, c->id, &after));

		if (!ret && left > 0) {
			/* Nothing fired: the command needs no more. */
			state_free(&base);
			state_free(&after);
			destroy_all(c);
			break;
		}
		if (!ret) {
			/*
			 * It fired, yet the command succeeded: a best-effort
			 * allocation (an event), or an in-window op of a
			 * load window that reported ENOMEM.
			 */
			if (c->op_enomem)
				op_failed++;
			else
				fired_ok++;
		} else if (!progress) {
			char why[512] = "";

			failed++;
			if (state_cmp(&base, &after, &base, &base, why,
				      sizeof(why)))
				TH_LOG("%s: n=%u: failed without progress but changed: %s",
				       k->name, n, why);
			ASSERT_EQ(0, state_cmp(&base, &after, &base, &base,
					       why, sizeof(why)));
		} else {
			/* Redo just the reported part, without injection. */
			struct fn_state base2, ref;
			char why[512] = "";
			__u64 p2 = 0;

			failed++;
			partial++;
			destroy_all(c);
			fn_prepare(_metadata, self, k, &base2);
			ASSERT_EQ(0, k->call(c, progress, &p2));
			ASSERT_EQ(progress, p2);
			ASSERT_EQ(0, state_take(c->fd, &self->aux, c->id,
						&ref));
			if (state_cmp(&base, &after, &base2, &ref, why,
				      sizeof(why)))
				TH_LOG("%s: n=%u: progress 0x%llx but state differs from the same command on that part: %s",
				       k->name, n, progress, why);
			ASSERT_EQ(0, state_cmp(&base, &after, &base2, &ref,
					       why, sizeof(why)));
			state_free(&base2);
			state_free(&ref);
		}
		state_free(&base);
		state_free(&after);
		destroy_all(c);
		ASSERT_EQ(0, spt_counters_read(self->env.fd, &now));
		ASSERT_COUNTERS_EQ(&self->env.base, &now);
	}
	if (fd_owned_fd >= 0) {
		close(fd_owned_fd);
		c->fd = self->env.fd;
	}
	ASSERT_GT(MAX_N, n);
	ASSERT_EQ(0, spt_counters_read(self->env.fd, &now));
	ASSERT_COUNTERS_EQ(&self->env.base, &now);
	ksft_print_msg("fail-nth %s: %u injection points: %u failed the command with ENOMEM (%u of them after partial progress), %u failed an in-window op, %u dropped an event\n",
		       k->name, n - 1, failed, partial, op_failed, fired_ok);
	fflush(stdout);
}

TEST_HARNESS_MAIN
