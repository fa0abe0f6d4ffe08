// SPDX-License-Identifier: GPL-2.0
/*
 * SPT_IOCTL_TABLES: the page-table nodes of a space mapped read-only, and
 * walks through the mapping with no system call. Bad inputs and mmap
 * refusals ("tables_bad"); the walk agrees with SPT_IOCTL_QUERY on a mix
 * of 4 KiB, 2 MiB and (untracked) 1 GiB leaves; a node freed by an unmap
 * reads as zeros, and another space's nodes never show ("tables"); a
 * writer thread against a walker thread, every completed walk consistent
 * with one state ("tables_race"); the descriptor after destroy, and close
 * giving everything back (the fixture's teardown compares the counters).
 */
#include <pthread.h>

#include "shadowpt_utils.h"

#define TB_VA		SPT_TEST_VA
#define TB_PA_MASK	0x000ffffffffff000ULL
#define TB_PS		(1ULL << 7)

struct tmap {
	int tfd;
	struct spt_tables cmd;
	void *base;
	__u64 len;
};

static int tables_cmd(int fd, __u32 id, __u32 flags, struct spt_tables *out)
{
	struct spt_tables cmd = {
		.size = sizeof(cmd), .flags = flags, .space_id = id,
		.out_fd = -1,
	};
	int ret = ioctl(fd, SPT_IOCTL_TABLES, &cmd);

	if (out)
		*out = cmd;
	return ret ? ret : cmd.out_fd;
}

static int tmap_open(int fd, __u32 id, struct tmap *m)
{
	m->tfd = tables_cmd(fd, id, 0, &m->cmd);
	if (m->tfd < 0)
		return -1;
	m->len = m->cmd.out_map_size;
	m->base = mmap(NULL, m->len, PROT_READ, MAP_SHARED | MAP_NORESERVE,
		       m->tfd, 0);
	if (m->base == MAP_FAILED) {
		close(m->tfd);
		return -1;
	}
	return 0;
}

static void tmap_close(struct tmap *m)
{
	munmap(m->base, m->len);
	close(m->tfd);
}

static volatile struct spt_tables_header *tmap_hdr(struct tmap *m)
{
	return m->base;
}

static const volatile __u64 *tmap_node(struct tmap *m, __u64 pa)
{
	return (const volatile __u64 *)((char *)m->base +
					SPT_TABLES_NODE_OFFSET + pa);
}

struct twalk {
	bool mapped;
	unsigned int level;
	__u64 phys;	/* of the VA */
	__u64 pte;
	__u64 node[5];	/* the node read at each level (index level - 1) */
};

/* One walk, no retry. */
static void walk_once(struct tmap *m, __u64 va, struct twalk *w)
{
	unsigned int level = m->cmd.out_levels;
	__u64 pa = m->cmd.out_root_pa;

	memset(w, 0, sizeof(*w));
	for (;; level--) {
		unsigned int shift = 12 + 9 * (level - 1);
		__u64 pte = tmap_node(m, pa)[(va >> shift) & 511];

		w->node[level - 1] = pa;
		w->level = level;
		w->pte = pte;
		if (!(pte & 1))
			return;
		if (level == 1 || (level <= 3 && (pte & TB_PS))) {
			__u64 size = 1ULL << shift;

			w->mapped = true;
			w->phys = ((pte & TB_PA_MASK) & ~(size - 1)) +
				  (va & (size - 1));
			return;
		}
		pa = pte & TB_PA_MASK;
	}
}

/*
 * Walks of @nr VAs consistent with one state: 0, -ENOENT (destroyed), or
 * -EAGAIN after @tries retries. *@retries counts the retries.
 */
static int walk(struct tmap *m, const __u64 *vas, unsigned int nr,
		struct twalk *w, unsigned long tries, unsigned long *retries)
{
	volatile struct spt_tables_header *h = tmap_hdr(m);

	while (tries--) {
		__u64 done, begun;
		unsigned int i;

		done = __atomic_load_n(&h->changes_done, __ATOMIC_ACQUIRE);
		begun = __atomic_load_n(&h->changes_begun, __ATOMIC_ACQUIRE);
		if (__atomic_load_n(&h->dead, __ATOMIC_ACQUIRE))
			return -ENOENT;
		if (begun == done) {
			for (i = 0; i < nr; i++)
				walk_once(m, vas[i], &w[i]);
			__atomic_thread_fence(__ATOMIC_ACQUIRE);
			if (__atomic_load_n(&h->changes_begun,
					    __ATOMIC_ACQUIRE) == begun)
				return 0;
		}
		if (retries)
			(*retries)++;
		sched_yield();
	}
	return -EAGAIN;
}

static void expect_walk_is_query(struct __test_metadata *_metadata,
				 int fd, __u32 id, struct tmap *m, __u64 va)
{
	struct spt_query_entry e = { 0 };
	struct twalk w;

	ASSERT_EQ(0, walk(m, &va, 1, &w, 1000, NULL));
	ASSERT_EQ(0, _spt_query(fd, id, va, &e));
	EXPECT_EQ(!!(e.flags & SPT_QUERY_MAPPED), w.mapped);
	if (w.mapped) {
		EXPECT_EQ(e.level, w.level);
		EXPECT_EQ(e.phys, w.phys);
	}
	if (w.mapped != !!(e.flags & SPT_QUERY_MAPPED) ||
	    (w.mapped && (e.level != w.level || e.phys != w.phys)))
		TH_LOG("va %#llx: walk %d/%u/%#llx, query %u/%u/%#llx",
		       (unsigned long long)va, w.mapped, w.level,
		       (unsigned long long)w.phys, e.flags, e.level,
		       (unsigned long long)e.phys);
}

/* Does the page at @p read as all zeros? */
static bool page_zero(const volatile __u64 *p)
{
	unsigned int i;

	for (i = 0; i < 512; i++)
		if (p[i])
			return false;
	return true;
}

FIXTURE(tables) {
	struct spt_env env;
	__u32 id;
	struct tmap m;
};

FIXTURE_SETUP(tables)
{
	spt_env_setup(_metadata, &self->env);
	ASSERT_EQ(0, spt_env_create(_metadata, &self->env, 0, &self->id));
	ASSERT_EQ(0, tmap_open(self->env.fd, self->id, &self->m));
}

FIXTURE_TEARDOWN(tables)
{
	tmap_close(&self->m);
	spt_env_teardown(_metadata, &self->env);
}

TEST_F(tables, header)
{
	volatile struct spt_tables_header *h = tmap_hdr(&self->m);
	struct spt_space_info info;
	int flags = fcntl(self->m.tfd, F_GETFD);

	test_cmd_space_info(self->id, &info);
	EXPECT_EQ(SPT_TABLES_MAGIC, h->magic);
	EXPECT_EQ(sizeof(struct spt_tables_header), h->header_size);
	EXPECT_EQ(sizeof(struct spt_tables_header),
		  self->m.cmd.out_header_size);
	EXPECT_EQ(self->id, h->space_id);
	EXPECT_EQ(info.out_levels, h->levels);
	EXPECT_EQ(info.out_levels, self->m.cmd.out_levels);
	EXPECT_EQ(info.out_root_pa, h->root_pa);
	EXPECT_EQ(info.out_root_pa, self->m.cmd.out_root_pa);
	EXPECT_EQ(h->changes_begun, h->changes_done);
	EXPECT_EQ(0, h->dead);
	EXPECT_NE(-1, flags);
	EXPECT_TRUE(flags & FD_CLOEXEC);
	EXPECT_EQ(O_RDONLY, fcntl(self->m.tfd, F_GETFL) & O_ACCMODE);
	/* A change moves both counters, and leaves them equal. */
	{
		__u64 b = h->changes_begun;

		test_cmd_map(self->id, SPT_MAP_4K, TB_VA, SZ_4K, 0, 0);
		EXPECT_LT(b, h->changes_begun);
		EXPECT_EQ(h->changes_begun, h->changes_done);
	}
}

TEST_F(tables, bad_mmaps)
{
	__u64 len = self->m.len;
	void *p;

	EXPECT_EQ(MAP_FAILED, mmap(NULL, SZ_4K, PROT_READ | PROT_WRITE,
				   MAP_SHARED, self->m.tfd, 0));
	EXPECT_EQ(EACCES, errno);
	EXPECT_EQ(MAP_FAILED, mmap(NULL, SZ_4K, PROT_READ, MAP_PRIVATE,
				   self->m.tfd, 0));
	EXPECT_EQ(EINVAL, errno);
	EXPECT_EQ(MAP_FAILED, mmap(NULL, SZ_4K, PROT_READ, MAP_SHARED,
				   self->m.tfd, SZ_4K));
	EXPECT_EQ(EINVAL, errno);
	EXPECT_EQ(MAP_FAILED, mmap(NULL, len + SZ_4K, PROT_READ,
				   MAP_SHARED | MAP_NORESERVE, self->m.tfd,
				   0));
	EXPECT_EQ(EINVAL, errno);
	EXPECT_EQ(MAP_FAILED, mmap(NULL, SZ_4K, PROT_READ | PROT_EXEC,
				   MAP_SHARED, self->m.tfd, 0));
	EXPECT_EQ(EPERM, errno);
	/* The read-only mapping cannot be made writable or executable. */
	p = mmap(NULL, SZ_4K * 2, PROT_READ, MAP_SHARED, self->m.tfd, 0);
	ASSERT_NE(MAP_FAILED, p);
	EXPECT_EQ(-1, mprotect(p, SZ_4K, PROT_READ | PROT_WRITE));
	EXPECT_EQ(EACCES, errno);
	EXPECT_EQ(-1, mprotect(p, SZ_4K, PROT_READ | PROT_EXEC));
	EXPECT_EQ(EACCES, errno);
	EXPECT_EQ(SPT_TABLES_MAGIC, *(volatile __u32 *)p);
	/* Reading beyond the header within the mapping: the zero page. */
	EXPECT_TRUE(page_zero((volatile __u64 *)((char *)p + SZ_4K)));
	/* A smaller mapping of its own, no larger than allowed. */
	EXPECT_EQ(0, munmap(p, SZ_4K * 2));
	EXPECT_EQ(-1, write(self->m.tfd, "x", 1));
}

TEST_F(tables, bad_ioctls)
{
	struct spt_tables cmd;
	__u32 gone;

	EXPECT_ERRNO(ENOENT, tables_cmd(self->env.fd, 0, 0, NULL));
	EXPECT_ERRNO(ENOENT, tables_cmd(self->env.fd, 0xfffffff0, 0, NULL));
	EXPECT_ERRNO(EINVAL, tables_cmd(self->env.fd, self->id, 1, NULL));
	EXPECT_ERRNO(EINVAL, tables_cmd(self->env.fd, self->id, 1U << 31,
					NULL));
	ASSERT_EQ(0, _spt_space_create(self->env.fd, 0, &gone));
	ASSERT_EQ(0, _spt_space_destroy(self->env.fd, gone));
	EXPECT_ERRNO(ENOENT, tables_cmd(self->env.fd, gone, 0, NULL));
	/* Too small a struct: EINVAL; a non-zero tail: E2BIG. */
	memset(&cmd, 0, sizeof(cmd));
	cmd.size = offsetof(struct spt_tables, out_header_size);
	cmd.space_id = self->id;
	EXPECT_ERRNO(EINVAL, ioctl(self->env.fd, SPT_IOCTL_TABLES, &cmd));
	{
		char big[sizeof(cmd) + 8] = { 0 };
		struct spt_tables *c = (void *)big;

		c->size = sizeof(big);
		c->space_id = self->id;
		big[sizeof(cmd) + 3] = 1;
		EXPECT_ERRNO(E2BIG, ioctl(self->env.fd, SPT_IOCTL_TABLES, c));
	}
	/* A read-only struct: EFAULT and no descriptor. */
	{
		struct spt_tables *ro = mmap(NULL, SZ_4K, PROT_READ | PROT_WRITE,
					     MAP_PRIVATE | MAP_ANONYMOUS, -1,
					     0);
		int before = dup(0), after;

		ASSERT_NE(MAP_FAILED, ro);
		ro->size = sizeof(*ro);
		ro->space_id = self->id;
		ASSERT_EQ(0, mprotect(ro, SZ_4K, PROT_READ));
		EXPECT_ERRNO(EFAULT, ioctl(self->env.fd, SPT_IOCTL_TABLES, ro));
		after = dup(0);
		/* No descriptor was left behind between the two dups. */
		EXPECT_EQ(before + 1, after);
		close(before);
		close(after);
		munmap(ro, SZ_4K);
	}
}

static __u64 rnd_state = 88172645463325252ULL;

static __u64 rnd(void)
{
	rnd_state ^= rnd_state << 13;
	rnd_state ^= rnd_state >> 7;
	rnd_state ^= rnd_state << 17;
	return rnd_state;
}

TEST_F(tables, walk_matches_query)
{
	bool have_1g = false;
	unsigned int i;
	__u64 va;

	/* 16 slots of 2 MiB: each 2 MiB leaves, 4 KiB pages, or nothing. */
	for (i = 0; i < 16; i++) {
		va = TB_VA + i * SZ_2M;
		switch (rnd() % 3) {
		case 0:
			test_cmd_map(self->id, SPT_MAP_2M, va, SZ_2M, 0,
				     SPT_PROT_WRITE);
			break;
		case 1: {
			__u64 off = (rnd() % 256) * SZ_4K;
			__u64 len = (1 + rnd() % 64) * SZ_4K;

			test_cmd_map(self->id, SPT_MAP_4K, va + off, len, 0,
				     0);
			break;
		}
		}
	}
	/* And far away, in other upper-level nodes. */
	test_cmd_map(self->id, SPT_MAP_4K, TB_VA + SZ_512G + SZ_4K, SZ_4K, 0,
		     SPT_PROT_USER);
	if (!spt_env_allow_phys(&self->env) &&
	    !_spt_map(self->env.fd, self->id, SPT_MAP_PHYS, TB_VA + 4 * SZ_1G,
		      SZ_1G, SPT_TEST_PHYS, 0, 0, NULL))
		have_1g = true;
	for (i = 0; i < 16 * 512; i++)
		expect_walk_is_query(_metadata, self->env.fd, self->id,
				     &self->m, TB_VA + i * SZ_4K + (i & 0xfff));
	expect_walk_is_query(_metadata, self->env.fd, self->id, &self->m,
			     TB_VA + SZ_512G + SZ_4K + 5);
	expect_walk_is_query(_metadata, self->env.fd, self->id, &self->m,
			     TB_VA + SZ_512G + 2 * SZ_4K);
	expect_walk_is_query(_metadata, self->env.fd, self->id, &self->m, 0);
	if (have_1g) {
		for (i = 0; i < 64; i++)
			expect_walk_is_query(_metadata, self->env.fd, self->id,
					     &self->m, TB_VA + 4 * SZ_1G +
					     (rnd() % SZ_1G));
	}
	ASSERT_EQ(0, spt_check_log(_metadata, self->env.fd, self->id));
}

TEST_F(tables, freed_node_reads_zero)
{
	struct twalk w;
	__u64 va = TB_VA + 7 * SZ_2M, l1;
	const volatile __u64 *node;

	test_cmd_map(self->id, SPT_MAP_4K, va, SZ_4K, 0, SPT_PROT_WRITE);
	ASSERT_EQ(0, walk(&self->m, &va, 1, &w, 1000, NULL));
	ASSERT_TRUE(w.mapped);
	ASSERT_EQ(1, w.level);
	l1 = w.node[0];
	node = tmap_node(&self->m, l1);
	EXPECT_EQ(w.pte, node[(va >> 12) & 511]);
	EXPECT_FALSE(page_zero(node));
	/* The unmap empties the PTE node and frees it: zapped first. */
	test_cmd_unmap(self->id, va, SZ_4K, NULL);
	ASSERT_EQ(0, walk(&self->m, &va, 1, &w, 1000, NULL));
	EXPECT_FALSE(w.mapped);
	/* CHECK drains the reclamation queue: the frame is back. */
	ASSERT_EQ(0, spt_check_log(_metadata, self->env.fd, self->id));
	EXPECT_TRUE(page_zero(node));
	/* Mapped again here (the pool may hand the same frame out). */
	test_cmd_map(self->id, SPT_MAP_4K, va, SZ_4K, 0, SPT_PROT_WRITE);
	ASSERT_EQ(0, walk(&self->m, &va, 1, &w, 1000, NULL));
	ASSERT_TRUE(w.mapped);
	EXPECT_EQ(w.pte, tmap_node(&self->m, w.node[0])[(va >> 12) & 511]);
	/* The old frame reads zeros unless it is a node of the path now. */
	{
		bool on_path = false;
		unsigned int l;

		for (l = 0; l < self->m.cmd.out_levels; l++)
			on_path |= w.node[l] == l1;
		if (!on_path)
			EXPECT_TRUE(page_zero(node));
	}
}

TEST_F(tables, other_space_reads_zero)
{
	struct tmap m2;
	struct twalk w;
	__u32 id2;
	__u64 va = TB_VA + 3 * SZ_2M;
	unsigned int l;

	ASSERT_EQ(0, spt_env_create(_metadata, &self->env, 0, &id2));
	test_cmd_map(id2, SPT_MAP_4K, va, 4 * SZ_4K, 0, SPT_PROT_WRITE);
	test_cmd_map(self->id, SPT_MAP_4K, va, SZ_4K, 0, 0);
	ASSERT_EQ(0, tmap_open(self->env.fd, id2, &m2));
	ASSERT_EQ(0, walk(&m2, &va, 1, &w, 1000, NULL));
	ASSERT_TRUE(w.mapped);
	/* Every node of the second space, through the first's mapping. */
	for (l = 0; l < m2.cmd.out_levels; l++) {
		EXPECT_FALSE(page_zero(tmap_node(&m2, w.node[l])));
		EXPECT_TRUE(page_zero(tmap_node(&self->m, w.node[l])));
	}
	/* And its data frame. */
	EXPECT_TRUE(page_zero(tmap_node(&self->m, w.phys & ~0xfffULL)));
	/* Still its own after the first space changed (zero pages zapped). */
	test_cmd_map(self->id, SPT_MAP_4K, va + SZ_4K, SZ_4K, 0, 0);
	for (l = 0; l < m2.cmd.out_levels; l++)
		EXPECT_TRUE(page_zero(tmap_node(&self->m, w.node[l])));
	expect_walk_is_query(_metadata, self->env.fd, self->id, &self->m, va);
	tmap_close(&m2);
}

TEST_F(tables, after_destroy)
{
	volatile struct spt_tables_header *h = tmap_hdr(&self->m);
	__u64 va = TB_VA, root = self->m.cmd.out_root_pa;
	struct twalk w;
	void *p;

	test_cmd_map(self->id, SPT_MAP_4K, va, 8 * SZ_4K, 0, 0);
	ASSERT_EQ(0, walk(&self->m, &va, 1, &w, 1000, NULL));
	ASSERT_TRUE(w.mapped);
	ASSERT_EQ(0, _spt_space_destroy(self->env.fd, self->id));
	EXPECT_EQ(1, h->dead);
	EXPECT_EQ(-ENOENT, walk(&self->m, &va, 1, &w, 1000, NULL));
	EXPECT_EQ(h->changes_begun, h->changes_done);
	/* The nodes are gone from the mapping. */
	EXPECT_TRUE(page_zero(tmap_node(&self->m, root)));
	EXPECT_TRUE(page_zero(tmap_node(&self->m, w.node[0])));
	/* A new mapping of the old descriptor: header, zeros. */
	p = mmap(NULL, self->m.len, PROT_READ, MAP_SHARED | MAP_NORESERVE,
		 self->m.tfd, 0);
	ASSERT_NE(MAP_FAILED, p);
	EXPECT_EQ(1, ((volatile struct spt_tables_header *)p)->dead);
	EXPECT_TRUE(page_zero((volatile __u64 *)((char *)p +
		SPT_TABLES_NODE_OFFSET + root)));
	munmap(p, self->m.len);
	/* No new descriptor for it. */
	EXPECT_ERRNO(ENOENT, tables_cmd(self->env.fd, self->id, 0, NULL));
}

TEST_F(tables, many_descriptors)
{
	struct tmap more[4];
	unsigned int i;
	__u64 va = TB_VA + SZ_2M;

	test_cmd_map(self->id, SPT_MAP_4K, va, SZ_4K, 0, 0);
	for (i = 0; i < 4; i++)
		ASSERT_EQ(0, tmap_open(self->env.fd, self->id, &more[i]));
	for (i = 0; i < 4; i++)
		expect_walk_is_query(_metadata, self->env.fd, self->id,
				     &more[i], va);
	/* Close some while others stay; the space outlives none of them. */
	tmap_close(&more[0]);
	tmap_close(&more[2]);
	test_cmd_unmap(self->id, va, SZ_4K, NULL);
	expect_walk_is_query(_metadata, self->env.fd, self->id, &more[1], va);
	tmap_close(&more[1]);
	tmap_close(&more[3]);
}

/*
 * A writer changes two pages together (map both, protect both, unmap
 * both: one change each); a walker must never complete a walk that sees
 * them differ.
 */
struct race_ctx {
	int fd;
	__u32 id;
	volatile bool stop;
	unsigned long changes;
};

#define RACE_VA		(TB_VA + 5 * SZ_2M - SZ_4K)	/* two L1 nodes */

static void *race_writer(void *arg)
{
	struct race_ctx *c = arg;

	while (!c->stop) {
		if (_spt_map(c->fd, c->id, SPT_MAP_4K, RACE_VA, 2 * SZ_4K, 0,
			     SPT_PROT_WRITE, 0, NULL))
			break;
		if (_spt_protect(c->fd, c->id, 0, RACE_VA, 2 * SZ_4K, 0, 0,
				 NULL, NULL))
			break;
		if (_spt_unmap(c->fd, c->id, RACE_VA, 2 * SZ_4K, NULL, NULL))
			break;
		c->changes += 3;
	}
	return NULL;
}

TEST_F(tables, race_walk_vs_changes)
{
	struct race_ctx c = { .fd = self->env.fd, .id = self->id };
	__u64 vas[2] = { RACE_VA, RACE_VA + SZ_4K };
	unsigned long walks = 0, retries = 0, seen[3] = { 0 };
	struct timespec t0, t;
	pthread_t th;
	struct twalk w[2];

	ASSERT_EQ(0, pthread_create(&th, NULL, race_writer, &c));
	clock_gettime(CLOCK_MONOTONIC, &t0);
	do {
		int ret = walk(&self->m, vas, 2, w, 1UL << 30, &retries);

		ASSERT_EQ(0, ret);
		walks++;
		ASSERT_EQ(w[0].mapped, w[1].mapped);
		if (w[0].mapped) {
			/* Both writable or both read-only. */
			ASSERT_EQ(w[0].pte & 2, w[1].pte & 2);
			ASSERT_EQ(1, w[0].level);
			ASSERT_EQ(1, w[1].level);
			seen[(w[0].pte & 2) ? 1 : 2]++;
		} else {
			seen[0]++;
		}
		clock_gettime(CLOCK_MONOTONIC, &t);
	} while (t.tv_sec - t0.tv_sec < 4 || c.changes < 30);
	c.stop = true;
	pthread_join(th, NULL);
	TH_LOG("%lu walks (%lu unmapped, %lu rw, %lu ro), %lu retries, "
	       "%lu changes", walks, seen[0], seen[1], seen[2], retries,
	       c.changes);
	EXPECT_LE(30, c.changes);
	ASSERT_EQ(0, spt_check_log(_metadata, self->env.fd, self->id));
}

/* A descriptor keeps its space's memory only until it is closed. */
TEST(tables_close_frees)
{
	struct spt_env env;
	struct tmap m;
	__u32 id;
	int i;

	spt_env_setup(_metadata, &env);
	for (i = 0; i < 8; i++) {
		ASSERT_EQ(0, spt_env_create(_metadata, &env, 0, &id));
		ASSERT_EQ(0, _spt_map(env.fd, id, SPT_MAP_4K, TB_VA,
				      64 * SZ_4K, 0, 0, 0, NULL));
		ASSERT_EQ(0, tmap_open(env.fd, id, &m));
		expect_walk_is_query(_metadata, env.fd, id, &m, TB_VA);
		if (i & 1) {
			/* Destroyed while mapped, then closed. */
			ASSERT_EQ(0, _spt_space_destroy(env.fd, id));
			tmap_close(&m);
		} else {
			/* Closed first (a fork keeps a mapping a while). */
			pid_t pid = fork();

			ASSERT_LE(0, pid);
			if (!pid) {
				struct twalk w;
				__u64 va = TB_VA;

				_exit(walk(&m, &va, 1, &w, 1000, NULL) ||
				      !w.mapped);
			}
			tmap_close(&m);
			{
				int st;

				ASSERT_EQ(pid, waitpid(pid, &st, 0));
				EXPECT_TRUE(WIFEXITED(st) &&
					    !WEXITSTATUS(st));
			}
			ASSERT_EQ(0, _spt_space_destroy(env.fd, id));
		}
	}
	/* Counters back where they started (frames, nodes, spaces). */
	spt_env_teardown(_metadata, &env);
}

TEST_HARNESS_MAIN
