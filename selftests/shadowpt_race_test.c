// SPDX-License-Identifier: GPL-2.0
/*
 * Races (each case repeated SPT_RACE_ITERS times, default 10; threads are
 * pinned round-robin to the online CPUs, the isolated one included, so
 * they really run at the same time):
 *  - destroy a space while other threads map/unmap, protect, query, read,
 *    dump it over netlink (MAPPING_GET) and run load windows on it: every
 *    call succeeds or fails with ENOENT, nothing else;
 *  - close the descriptor that owns a space while a thread maps through it
 *    and another maps through a second descriptor by id;
 *  - two maps of the same range at once: one wins, the other gets EEXIST
 *    and gives back the frames it had allocated;
 *  - destroy one space from several threads and over netlink at once:
 *    exactly one of them succeeds;
 *  - many threads allocate and free frames in their own spaces at once
 *    (the pool's lock); checker and counters afterwards;
 *  - create against destroy of the next ids (ioctl, netlink SPACE_NEW,
 *    fd-owned spaces closed at once), while descriptors are opened and
 *    closed: ids are predictable, so a space can be destroyed the moment
 *    it is published, and its creator must not be left using a freed
 *    space (the debugfs directory, events and counters tell);
 *  - last: rmmod while another process holds /dev/shadowpt open and works
 *    on its space: refused (EAGAIN/EBUSY), the holder is not disturbed.
 * After every case the checker passes on what is left and the pool
 * counters are back to their values before it (fixture teardown).
 */
#include <dirent.h>
#include <pthread.h>
#include <sched.h>
#include <stdatomic.h>

#include "shadowpt_nl.h"

static unsigned int iters(void)
{
	const char *v = getenv("SPT_RACE_ITERS");

	return v && atoi(v) > 0 ? atoi(v) : 10;
}

/*
 * Online CPUs, read once in the fixture: sysconf() opens a sysfs file, and
 * a thread doing that while another closes a descriptor could take over
 * its number (an ioctl racing the close would then get ENOTTY).
 */
static long nr_online;

static void pin(unsigned int i)
{
	long n = nr_online;
	cpu_set_t set;

	CPU_ZERO(&set);
	CPU_SET(i % (n > 0 ? n : 1), &set);
	pthread_setaffinity_np(pthread_self(), sizeof(set), &set);
}

static __u64 rnd_state = 0x2545f4914f6cdd1dULL;

static unsigned int rnd_below(unsigned int n)
{
	rnd_state ^= rnd_state << 13;
	rnd_state ^= rnd_state >> 7;
	rnd_state ^= rnd_state << 17;
	return rnd_state % n;
}

FIXTURE(race) {
	int fd;
	struct spt_counters base;
};

FIXTURE_SETUP(race)
{
	self->fd = spt_open();
	if (self->fd < 0)
		SPT_SETUP_SKIP("open %s: %s", SPT_DEVICE_PATH,
			       strerror(errno));
	ASSERT_EQ(0, spt_counters_read(self->fd, &self->base));
	rnd_state ^= getpid();
	nr_online = sysconf(_SC_NPROCESSORS_ONLN);
}

FIXTURE_TEARDOWN(race)
{
	spt_expect_counters_back(_metadata, &self->base);
	if (self->fd >= 0)
		close(self->fd);
}

/* =====================================================================
 * Racers: each works on a space until it is gone (ENOENT).
 */

enum racer_kind {
	R_MAP, R_PROTECT, R_QUERY, R_RW, R_DUMP, R_LOAD, R_NR,
};

static const char *const racer_name[R_NR] = {
	"map/unmap", "protect", "query", "rw", "netlink dump", "load",
};

struct racer {
	pthread_t tid;
	int fd;
	__u32 id;
	enum racer_kind kind;
	unsigned int idx;
	atomic_bool *stop;
	unsigned long ops, windows;
	int bad_err;		/* first unexpected errno, 0 if none */
	bool gone;		/* saw ENOENT */
	bool mismatch;		/* load window: MMU and walker disagreed */
	bool no_cpu;		/* load window: no isolated CPU (ENODEV) */
};

/* Where racer @i maps: its own 2 MiB below SPT_TEST_VA + 64 MiB. */
#define RACER_VA(i)	(SPT_TEST_VA + 64 * SZ_1M + (i) * SZ_2M)

/* 0 to go on, 1 when the space is gone, -1 on an unexpected result. */
static int racer_result(struct racer *r, int ret, int err, bool enxio_ok)
{
	r->ops++;
	if (!ret)
		return 0;
	if (err == ENOENT) {
		r->gone = true;
		return 1;
	}
	if (enxio_ok && err == ENXIO)
		return 0;
	if (!r->bad_err)
		r->bad_err = err ? err : -1;
	return -1;
}

static int racer_step(struct racer *r, struct spt_nl *nl, char *buf)
{
	__u64 va = SPT_TEST_VA + rnd_below(4096) * SZ_4K, n, d;
	int ret;

	switch (r->kind) {
	case R_MAP:
		ret = _spt_map(r->fd, r->id, SPT_MAP_4K, RACER_VA(r->idx),
			       SZ_64K, 0, SPT_PROT_WRITE, 0, &n);
		if (racer_result(r, ret, errno, false))
			return 1;
		ret = _spt_unmap(r->fd, r->id, RACER_VA(r->idx), SZ_64K, &n,
				 &d);
		return racer_result(r, ret, errno, false);
	case R_PROTECT:
		ret = _spt_protect(r->fd, r->id, 0, SPT_TEST_VA, 8 * SZ_1M,
				   rnd_below(8), 0, &n, &d);
		return racer_result(r, ret, errno, false);
	case R_QUERY: {
		struct spt_query_entry e[16];
		__u64 vas[16];
		__u32 done, i;

		ret = _spt_query(r->fd, r->id, va, &e[0]);
		if (racer_result(r, ret, errno, false))
			return 1;
		for (i = 0; i < 16; i++)
			vas[i] = va + i * SZ_64K;
		ret = _spt_query_batch(r->fd, r->id, vas, e, 16, &done);
		return racer_result(r, ret, errno, false);
	}
	case R_RW:
		ret = _spt_rw(r->fd, r->id, r->ops & 1 ? SPT_RW_WRITE : 0, va,
			      buf, SZ_4K, &d);
		return racer_result(r, ret, errno, true);
	case R_DUMP: {
		struct spt_nl_runs l;

		ret = spt_nl_runs_get(nl, r->id, false, 0, 0, &l);
		free(l.v);
		return racer_result(r, ret ? -1 : 0, -ret, false);
	}
	case R_LOAD: {
		struct spt_load_op ops[8];
		struct spt_load out;
		unsigned int i;

		memset(ops, 0, sizeof(ops));
		for (i = 0; i < 8; i++) {
			ops[i].op = i & 1 ? SPT_LOAD_OP_WRITE :
				    SPT_LOAD_OP_READ;
			ops[i].width = 8;
			ops[i].va = va + i * SZ_4K;
			ops[i].value = i & 1 ? 0x1234 : 0;
		}
		ret = _spt_load(r->fd, r->id, ops, 8, &out);
		if (ret && errno == ENODEV) {
			r->no_cpu = true;
			return 1;
		}
		if (!ret) {
			r->windows++;
			for (i = 0; i < 8; i++)
				if (ops[i].out_fault & SPT_FAULT_MISMATCH)
					r->mismatch = true;
		}
		return racer_result(r, ret, errno, false);
	}
	default:
		return -1;
	}
}

static void *racer_fn(void *p)
{
	struct racer *r = p;
	struct spt_nl nl = { 0 };
	char *buf = malloc(SZ_4K);

	pin(r->idx);
	if (!buf || (r->kind == R_DUMP && spt_nl_open(&nl))) {
		r->bad_err = -2;
		free(buf);
		return NULL;
	}
	while (!atomic_load(r->stop))
		if (racer_step(r, &nl, buf))
			break;
	spt_nl_close(&nl);
	free(buf);
	return NULL;
}

static bool racers_report(struct __test_metadata *_metadata,
			  struct racer *r, unsigned int nr)
{
	bool ok = true;
	unsigned int i;

	for (i = 0; i < nr; i++) {
		if (r[i].bad_err || r[i].mismatch) {
			TH_LOG("%s racer: %s%s", racer_name[r[i].kind],
			       r[i].bad_err > 0 ? strerror(r[i].bad_err) :
			       r[i].bad_err ? "setup/netlink failure" : "",
			       r[i].mismatch ? " MMU/walker mismatch" : "");
			ok = false;
		}
	}
	return ok;
}

/* Space with 8 MiB of tracked mappings (4 KiB and 2 MiB) at SPT_TEST_VA. */
static __u32 busy_space(struct __test_metadata *_metadata, int fd, int cfd,
			__u32 flags)
{
	__u32 id = 0;
	__u64 n;

	if (_spt_space_create(cfd, flags, &id))
		return 0;
	if (_spt_map(fd, id, SPT_MAP_LARGEST, SPT_TEST_VA, 8 * SZ_1M, 0,
		     SPT_PROT_WRITE, 0, &n) ||
	    _spt_map(fd, id, SPT_MAP_4K, SPT_TEST_VA + 16 * SZ_1M, SZ_1M, 0,
		     SPT_PROT_WRITE, 0, &n)) {
		TH_LOG("map: %s", strerror(errno));
		_spt_space_destroy(cfd, id);
		return 0;
	}
	return id;
}

TEST_F_TIMEOUT(race, destroy_during_ops, 600)
{
	unsigned int it, i, n = iters();
	unsigned long ops = 0, windows = 0;
	bool no_cpu = false;

	for (it = 0; it < n; it++) {
		struct racer r[R_NR];
		atomic_bool stop = false;
		__u32 id = busy_space(_metadata, self->fd, self->fd, 0);
		struct spt_space_info info;

		ASSERT_NE(0, id);
		for (i = 0; i < R_NR; i++) {
			r[i] = (struct racer){ .fd = self->fd, .id = id,
					       .kind = i, .idx = i,
					       .stop = &stop };
			ASSERT_EQ(0, pthread_create(&r[i].tid, NULL, racer_fn,
						    &r[i]));
		}
		usleep(rnd_below(30000));
		EXPECT_EQ(0, _spt_space_destroy(self->fd, id));
		/* Everyone must see ENOENT soon; the flag is a backstop. */
		usleep(200000);
		atomic_store(&stop, true);
		for (i = 0; i < R_NR; i++) {
			pthread_join(r[i].tid, NULL);
			ops += r[i].ops;
			windows += r[i].windows;
			no_cpu |= r[i].no_cpu;
		}
		ASSERT_TRUE(racers_report(_metadata, r, R_NR));
		for (i = 0; i < R_NR; i++)
			if (!r[i].no_cpu && r[i].kind != R_DUMP)
				EXPECT_TRUE(r[i].gone);
		EXPECT_ERRNO(ENOENT, _spt_space_info(self->fd, id, &info));
		EXPECT_ERRNO(ENOENT, _spt_space_destroy(self->fd, id));
	}
	TH_LOG("%u iterations, %lu racing calls, %lu load windows%s", n,
	       ops, windows, no_cpu ? " (no isolated CPU: no windows)" : "");
}

struct mapper {
	pthread_t tid;
	int fd;
	__u32 id;
	__u64 va, len;
	unsigned int idx;
	int ret, err;
	__u64 mapped;
	unsigned long rounds;
};

/* One long map through the owner's descriptor. */
static void *long_map_fn(void *p)
{
	struct mapper *m = p;

	pin(m->idx);
	m->ret = _spt_map(m->fd, m->id, SPT_MAP_4K, m->va, m->len, 0,
			  SPT_PROT_WRITE, 0, &m->mapped);
	m->err = m->ret ? errno : 0;
	return NULL;
}

/* Map/unmap by id through another descriptor until ENOENT. */
static void *id_map_fn(void *p)
{
	struct mapper *m = p;
	__u64 n, d;

	pin(m->idx);
	for (;;) {
		m->ret = _spt_map(m->fd, m->id, SPT_MAP_4K, m->va, m->len, 0,
				  0, 0, &n);
		if (!m->ret)
			m->ret = _spt_unmap(m->fd, m->id, m->va, m->len, &n,
					    &d);
		m->err = m->ret ? errno : 0;
		if (m->ret)
			return NULL;
		m->rounds++;
	}
}

TEST_F_TIMEOUT(race, close_owner_fd_during_map, 600)
{
	unsigned int it, n = iters(), completed = 0, refused = 0;

	for (it = 0; it < n; it++) {
		struct spt_space_info info;
		struct mapper a, b;
		int fd2 = spt_open();
		__u32 id;

		ASSERT_LE(0, fd2);
		ASSERT_EQ(0, _spt_space_create(fd2, SPT_SPACE_FD_OWNED, &id));
		a = (struct mapper){ .fd = fd2, .id = id, .va = SPT_TEST_VA,
				     .len = 16 * SZ_1M, .idx = 0 };
		b = (struct mapper){ .fd = self->fd, .id = id,
				     .va = SPT_TEST_VA + SZ_1G, .len = SZ_64K,
				     .idx = 1 };
		ASSERT_EQ(0, pthread_create(&a.tid, NULL, long_map_fn, &a));
		ASSERT_EQ(0, pthread_create(&b.tid, NULL, id_map_fn, &b));
		usleep(rnd_below(40000));
		/* The map in flight keeps the file; release runs after it. */
		ASSERT_EQ(0, close(fd2));
		pthread_join(a.tid, NULL);
		pthread_join(b.tid, NULL);
		if (a.ret) {
			/* EBADF: the map had not started when we closed. */
			if (a.err != EBADF)
				EXPECT_EQ(ENOENT, a.err);
			refused++;
		} else {
			EXPECT_EQ(a.len, a.mapped);
			completed++;
		}
		EXPECT_EQ(-1, b.ret);
		EXPECT_EQ(ENOENT, b.err);
		EXPECT_ERRNO(ENOENT, _spt_space_info(self->fd, id, &info));
	}
	TH_LOG("%u iterations: map completed before release %u, refused %u",
	       n, completed, refused);
}

struct racing_map {
	pthread_t tid;
	int fd;
	__u32 id;
	unsigned int idx;
	atomic_int *go;
	int ret, err;
	__u64 mapped;
};

static void *racing_map_fn(void *p)
{
	struct racing_map *m = p;

	pin(m->idx);
	while (!atomic_load(m->go))
		sched_yield();
	m->ret = _spt_map(m->fd, m->id, SPT_MAP_4K, SPT_TEST_VA, 4 * SZ_2M, 0,
			  SPT_PROT_WRITE, 0, &m->mapped);
	m->err = m->ret ? errno : 0;
	return NULL;
}

/*
 * Two maps of the same range at once, without SPT_MAP_REPLACE: both may
 * pass the "range empty" check and allocate their window's frames; one
 * maps, the other fails with EEXIST and must give its frames back.
 */
TEST_F_TIMEOUT(race, map_vs_map, 600)
{
	unsigned int it, n = iters(), late = 0;

	for (it = 0; it < n; it++) {
		struct racing_map m[2];
		atomic_int go = 0;
		unsigned int i, wins = 0;
		__u64 total = 0;
		__u32 id;

		ASSERT_EQ(0, _spt_space_create(self->fd, 0, &id));
		for (i = 0; i < 2; i++) {
			m[i] = (struct racing_map){ .fd = self->fd, .id = id,
						    .idx = i, .go = &go };
			ASSERT_EQ(0, pthread_create(&m[i].tid, NULL,
						    racing_map_fn, &m[i]));
		}
		usleep(1000);
		atomic_store(&go, 1);
		for (i = 0; i < 2; i++) {
			pthread_join(m[i].tid, NULL);
			total += m[i].mapped;
			if (!m[i].ret)
				wins++;
			else
				EXPECT_EQ(EEXIST, m[i].err);
			if (m[i].ret && !m[i].mapped)
				late++;
		}
		EXPECT_EQ(1, wins);
		EXPECT_EQ(4 * SZ_2M, total);
		EXPECT_EQ(0, spt_check_log(_metadata, self->fd, id));
		EXPECT_EQ(0, _spt_space_destroy(self->fd, id));
	}
	TH_LOG("%u rounds, %u losers failed with nothing mapped", n, late);
}

struct destroyer {
	pthread_t tid;
	int fd;
	__u32 id;
	unsigned int idx;
	atomic_int *go;
	int ret, err;
};

static void *destroy_fn(void *p)
{
	struct destroyer *d = p;
	struct spt_nl nl = { 0 };
	bool via_nl = d->idx == 3;

	pin(d->idx);
	if (via_nl && spt_nl_open(&nl)) {
		d->ret = -2;
		return NULL;
	}
	while (!atomic_load(d->go))
		sched_yield();
	if (via_nl) {
		struct spt_nl_args a = { .has_id = true, .id = d->id };

		d->ret = spt_nl_request(&nl, SPT_GENL_CMD_SPACE_DEL, 0, &a,
					NULL, NULL, NULL);
		d->err = -d->ret;
		d->ret = d->ret ? -1 : 0;
		spt_nl_close(&nl);
	} else {
		d->ret = _spt_space_destroy(d->fd, d->id);
		d->err = d->ret ? errno : 0;
	}
	return NULL;
}

TEST_F_TIMEOUT(race, destroy_from_everywhere, 300)
{
	unsigned int it, i, n = iters() * 4, nl_wins = 0;

	for (it = 0; it < n; it++) {
		struct destroyer d[4];
		atomic_int go = 0;
		unsigned int wins = 0;
		__u32 id = busy_space(_metadata, self->fd, self->fd, 0);

		ASSERT_NE(0, id);
		for (i = 0; i < 4; i++) {
			d[i] = (struct destroyer){ .fd = self->fd, .id = id,
						   .idx = i, .go = &go };
			ASSERT_EQ(0, pthread_create(&d[i].tid, NULL,
						    destroy_fn, &d[i]));
		}
		usleep(1000);
		atomic_store(&go, 1);
		for (i = 0; i < 4; i++) {
			pthread_join(d[i].tid, NULL);
			if (!d[i].ret) {
				wins++;
				nl_wins += i == 3;
			} else {
				EXPECT_EQ(ENOENT, d[i].err);
			}
		}
		EXPECT_EQ(1, wins);
	}
	TH_LOG("%u rounds, netlink won %u", n, nl_wins);
}

struct churner {
	pthread_t tid;
	int fd;
	__u32 id;
	unsigned int idx;
	atomic_bool *stop;
	unsigned long rounds;
	int err;
};

/* Allocate and free frames in a space of one's own, as fast as possible. */
static void *churn_fn(void *p)
{
	struct churner *c = p;
	__u64 va = SPT_TEST_VA, n, d;
	unsigned int k = 0;

	pin(c->idx);
	while (!atomic_load(c->stop)) {
		__u64 len = (1 + (k++ % 16)) * SZ_64K;
		__u32 flags = k % 5 ? SPT_MAP_4K : SPT_MAP_2M;

		if (flags == SPT_MAP_2M)
			len = SZ_2M;
		if (_spt_map(c->fd, c->id, flags, va, len, 0, SPT_PROT_WRITE,
			     0, &n) ||
		    _spt_unmap(c->fd, c->id, va, len, &n, &d)) {
			c->err = errno;
			break;
		}
		c->rounds++;
	}
	return NULL;
}

TEST_F_TIMEOUT(race, pool_churn_in_parallel, 300)
{
	const char *v = getenv("SPT_RACE_SECS");
	unsigned int secs = v && atoi(v) > 0 ? atoi(v) : 5, i;
	struct churner c[6];
	atomic_bool stop = false;
	unsigned long rounds = 0;
	struct spt_counters now;

	for (i = 0; i < 6; i++) {
		c[i] = (struct churner){ .fd = self->fd, .idx = i,
					 .stop = &stop };
		ASSERT_EQ(0, _spt_space_create(self->fd, 0, &c[i].id));
	}
	for (i = 0; i < 6; i++)
		ASSERT_EQ(0, pthread_create(&c[i].tid, NULL, churn_fn, &c[i]));
	sleep(secs);
	atomic_store(&stop, true);
	for (i = 0; i < 6; i++) {
		pthread_join(c[i].tid, NULL);
		rounds += c[i].rounds;
		if (c[i].err)
			TH_LOG("churner %u: %s", i, strerror(c[i].err));
		EXPECT_EQ(0, c[i].err);
		EXPECT_EQ(0, spt_check_log(_metadata, self->fd, c[i].id));
	}
	/* Every space is empty again: no data frame is left. */
	ASSERT_EQ(0, spt_counters_read(self->fd, &now));
	EXPECT_EQ(self->base.data_frames, now.data_frames);
	for (i = 0; i < 6; i++)
		EXPECT_EQ(0, _spt_space_destroy(self->fd, c[i].id));
	TH_LOG("%lu map+unmap rounds in %u s on 6 threads", rounds, secs);
}

/* =====================================================================
 * Create against destroy of the next ids. Ids are handed out cyclically,
 * so another thread can destroy a space as soon as its id is published,
 * before its creator is done with it (issue 19: the creator then used a
 * freed space, and a directory made after the destroy stayed in debugfs).
 * A creator loops (ioctl create, netlink SPACE_NEW, or an fd-owned space
 * on a descriptor of its own, closed at once), using and destroying each
 * space; a destroyer destroys the next two ids over and over (ioctl and
 * netlink SPACE_DEL); a third thread opens and closes descriptors (each
 * release looks at every space). Every call succeeds or fails with
 * ENOENT; afterwards no space is left, debugfs has no directory of a
 * destroyed space, and the events monitor saw each space's CREATED before
 * its DESTROYED.
 */

enum creator_kind { CK_IOCTL, CK_NETLINK, CK_FD_OWNED };

struct cd_race {
	int fd;
	enum creator_kind kind;
	unsigned int rounds;
	atomic_uint last;	/* the id the creator got last */
	atomic_bool stop;	/* the creator is done */
	unsigned int created, stolen;
	unsigned long destroyed, destroy_calls, closes;
	int bad_create, bad_use, bad_destroy, bad_close;	/* errno */
};

/* The first unexpected errno of a kind (-1 for "not an errno"). */
static void cd_bad(int *slot, int err)
{
	if (!*slot)
		*slot = err ? err : -1;
}

static int cd_new_cb(struct nlattr **tb, __u8 cmd, void *arg)
{
	return spt_nl_parse_space(tb, arg) ? -EBADMSG : 0;
}

/* Create one space the creator's way: 0 or a positive errno. */
static int cd_create(struct cd_race *r, struct spt_nl *nl, int *fd,
		     __u32 *id)
{
	struct spt_nl_space ns = { 0 };
	int ret;

	switch (r->kind) {
	case CK_NETLINK:
		ret = spt_nl_request(nl, SPT_GENL_CMD_SPACE_NEW, 0, NULL,
				     cd_new_cb, &ns, NULL);
		*id = ns.id;
		return -ret;
	case CK_FD_OWNED:
		*fd = spt_open();
		if (*fd < 0)
			return errno;
		return _spt_space_create(*fd, SPT_SPACE_FD_OWNED, id) ?
		       errno : 0;
	default:
		return _spt_space_create(r->fd, 0, id) ? errno : 0;
	}
}

static void *cd_creator(void *p)
{
	struct cd_race *r = p;
	struct spt_nl nl = { 0 };
	unsigned int i;

	pin(0);
	if (r->kind == CK_NETLINK && spt_nl_open(&nl)) {
		cd_bad(&r->bad_create, -2);
		goto out;
	}
	for (i = 0; i < r->rounds; i++) {
		struct spt_nl_args del = { .has_id = true };
		struct spt_space_info info = { 0 };
		int fd = -1, err;
		__u32 id = 0;

		err = cd_create(r, &nl, &fd, &id);
		if (err || !id) {
			cd_bad(&r->bad_create, err);
			if (fd >= 0)
				close(fd);
			break;
		}
		r->created++;
		atomic_store(&r->last, id);
		/* Use it, then destroy it, unless the destroyer was first. */
		err = _spt_space_info(r->fd, id, &info) ? errno : 0;
		if (err == ENOENT)
			r->stolen++;
		else if (err || info.out_data_frames)
			cd_bad(&r->bad_use, err);
		if (r->kind == CK_FD_OWNED) {
			/* Its release destroys it, before close returns. */
			if (close(fd))
				cd_bad(&r->bad_close, errno);
			if (!_spt_space_info(r->fd, id, &info))
				cd_bad(&r->bad_use, EEXIST);	/* still there */
			else if (errno != ENOENT)
				cd_bad(&r->bad_use, errno);
			continue;
		}
		del.id = id;
		err = r->kind == CK_NETLINK ?
		      -spt_nl_request(&nl, SPT_GENL_CMD_SPACE_DEL, 0, &del,
				      NULL, NULL, NULL) :
		      _spt_space_destroy(r->fd, id) ? errno : 0;
		if (err && err != ENOENT)
			cd_bad(&r->bad_destroy, err);
	}
out:
	spt_nl_close(&nl);
	atomic_store(&r->stop, true);
	return NULL;
}

/* Destroy the next two ids, over and over, by ioctl and over netlink. */
static void *cd_destroyer(void *p)
{
	struct cd_race *r = p;
	struct spt_nl nl = { 0 };
	bool via_nl = !spt_nl_open(&nl);
	unsigned long k = 0;

	pin(1);
	if (!via_nl)
		cd_bad(&r->bad_destroy, -2);
	while (!atomic_load(&r->stop)) {
		__u32 id = atomic_load(&r->last) + 1 + (k & 1);
		struct spt_nl_args del = { .has_id = true, .id = id };
		int err;

		if (via_nl && (k & 2))
			err = -spt_nl_request(&nl, SPT_GENL_CMD_SPACE_DEL, 0,
					      &del, NULL, NULL, NULL);
		else
			err = _spt_space_destroy(r->fd, id) ? errno : 0;
		if (!err)
			r->destroyed++;
		else if (err != ENOENT)
			cd_bad(&r->bad_destroy, err);
		k++;
	}
	r->destroy_calls = k;
	spt_nl_close(&nl);
	return NULL;
}

/* Open and close descriptors: every release looks at every space. */
static void *cd_closer(void *p)
{
	struct cd_race *r = p;

	pin(2);
	while (!atomic_load(&r->stop)) {
		int fd = spt_open();

		if (fd < 0 || close(fd)) {
			cd_bad(&r->bad_close, errno);
			break;
		}
		r->closes++;
	}
	return NULL;
}

/* The events monitor: CREATED, then DESTROYED, for every space. */
struct cd_mon {
	pthread_t tid;
	struct spt_nl nl;
	atomic_bool stop;
	unsigned char state[1 << 16];	/* by id & 0xffff: 1 made, 2 gone */
	unsigned long events, out_of_order, bad;
	__u32 first_bad;
	bool overrun;
};

static int cd_event_cb(struct nlattr **tb, __u8 cmd, void *arg)
{
	struct cd_mon *m = arg;
	struct spt_nl_event e;
	unsigned char *st;

	if (cmd != SPT_GENL_CMD_EVENT || spt_nl_parse_event(tb, &e)) {
		m->bad++;
		return 0;
	}
	m->events++;
	st = &m->state[e.space_id & 0xffff];
	if (e.type == SPT_EVENT_SPACE_CREATED) {
		*st = 1;
	} else if (e.type == SPT_EVENT_SPACE_DESTROYED) {
		if (*st != 1 && !m->out_of_order++)
			m->first_bad = e.space_id;
		*st = 2;
	}
	return 0;
}

static void cd_mon_drain(struct cd_mon *m, struct nl_cb *cb)
{
	for (;;) {
		int r = nl_recvmsgs(m->nl.sk, cb);

		if (r == -NLE_AGAIN)
			return;
		if (r == -NLE_NOMEM)	/* ENOBUFS: events were dropped */
			m->overrun = true;
		else if (r < 0)
			return;
	}
}

static void *cd_monitor(void *p)
{
	struct cd_mon *m = p;
	struct spt_nl_req req = { .fn = cd_event_cb, .arg = m };
	struct nl_cb *cb = spt_nl_cb(&req);

	if (!cb) {
		m->bad++;
		return NULL;
	}
	nl_cb_set(cb, NL_CB_SEQ_CHECK, NL_CB_CUSTOM, spt_nl_seq_ok_cb, NULL);
	while (!atomic_load(&m->stop)) {
		cd_mon_drain(m, cb);
		usleep(1000);
	}
	cd_mon_drain(m, cb);
	nl_cb_put(cb);
	return NULL;
}

#define SPT_DEBUGFS_SPACES	"/sys/kernel/debug/shadowpt/spaces"

/* Directories in debugfs of spaces that do not exist: -1 if unreadable. */
static int stale_debugfs_dirs(struct __test_metadata *_metadata, int fd)
{
	struct spt_space_info info;
	DIR *d = opendir(SPT_DEBUGFS_SPACES);
	struct dirent *e;
	int stale = 0;

	if (!d)
		return -1;
	while ((e = readdir(d))) {
		__u32 id = strtoul(e->d_name, NULL, 10);

		if (e->d_name[0] == '.')
			continue;
		if (!_spt_space_info(fd, id, &info))
			continue;
		if (stale++ < 8)
			TH_LOG("debugfs: %s/%s, but no such space (%s)",
			       SPT_DEBUGFS_SPACES, e->d_name, strerror(errno));
	}
	closedir(d);
	return stale;
}

static void create_vs_destroy(struct __test_metadata *_metadata,
			      FIXTURE_DATA(race) *self, enum creator_kind kind)
{
	static const char *const names[] = {
		"ioctl create", "netlink SPACE_NEW", "fd-owned create+close",
	};
	struct cd_race *r = calloc(1, sizeof(*r));
	struct cd_mon *m = calloc(1, sizeof(*m));
	pthread_t creator, destroyer, closer;
	bool mon;
	__u32 id;
	int stale;

	ASSERT_NE(NULL, r);
	ASSERT_NE(NULL, m);
	r->fd = self->fd;
	r->kind = kind;
	r->rounds = iters() * 30;
	mon = !spt_nl_monitor_open(&m->nl);
	if (mon)
		nl_socket_set_buffer_size(m->nl.sk, 8 << 20, 0);
	else
		TH_LOG("no events monitor: event order not checked");
	/* Where the ids are now: the creator's come next. */
	ASSERT_EQ(0, _spt_space_create(self->fd, 0, &id));
	ASSERT_EQ(0, _spt_space_destroy(self->fd, id));
	atomic_store(&r->last, id);
	if (mon)
		ASSERT_EQ(0, pthread_create(&m->tid, NULL, cd_monitor, m));
	ASSERT_EQ(0, pthread_create(&destroyer, NULL, cd_destroyer, r));
	ASSERT_EQ(0, pthread_create(&closer, NULL, cd_closer, r));
	ASSERT_EQ(0, pthread_create(&creator, NULL, cd_creator, r));
	pthread_join(creator, NULL);
	pthread_join(destroyer, NULL);
	pthread_join(closer, NULL);
	if (mon) {
		atomic_store(&m->stop, true);
		pthread_join(m->tid, NULL);
		spt_nl_close(&m->nl);
	}
	TH_LOG("%s: %u created, %u destroyed by the other thread first (%lu destroy calls), %lu descriptors opened and closed, %lu events",
	       names[kind], r->created, r->stolen, r->destroy_calls,
	       r->closes, m->events);
	EXPECT_EQ(r->rounds, r->created);
	if (r->bad_create)
		TH_LOG("create: %s", strerror(r->bad_create));
	if (r->bad_use)
		TH_LOG("use of a new space: %s", strerror(r->bad_use));
	if (r->bad_destroy)
		TH_LOG("destroy: %s", strerror(r->bad_destroy));
	if (r->bad_close)
		TH_LOG("open/close: %s", strerror(r->bad_close));
	EXPECT_EQ(0, r->bad_create);
	EXPECT_EQ(0, r->bad_use);
	EXPECT_EQ(0, r->bad_destroy);
	EXPECT_EQ(0, r->bad_close);
	stale = stale_debugfs_dirs(_metadata, self->fd);
	if (stale < 0)
		TH_LOG("%s unreadable: debugfs not checked", SPT_DEBUGFS_SPACES);
	else
		EXPECT_EQ(0, stale);
	if (mon) {
		EXPECT_EQ(0, m->bad);
		if (m->overrun)
			TH_LOG("events dropped (ENOBUFS): order not checked");
		else if (m->out_of_order)
			TH_LOG("%lu spaces destroyed before they were created (events), the first %u",
			       m->out_of_order, m->first_bad);
		EXPECT_TRUE(m->overrun || !m->out_of_order);
	}
	free(r);
	free(m);
}

TEST_F_TIMEOUT(race, create_vs_destroy_next_ioctl, 600)
{
	create_vs_destroy(_metadata, self, CK_IOCTL);
}

TEST_F_TIMEOUT(race, create_vs_destroy_next_netlink, 600)
{
	create_vs_destroy(_metadata, self, CK_NETLINK);
}

TEST_F_TIMEOUT(race, create_fd_owned_vs_destroy_next_and_close, 600)
{
	create_vs_destroy(_metadata, self, CK_FD_OWNED);
}

/* =====================================================================
 * rmmod while another process holds the device: LAST in this file (if the
 * kernel wrongly unloaded the module, nothing after it could run).
 */

static long read_long(const char *path)
{
	char buf[32] = "";
	FILE *f = fopen(path, "r");

	if (!f)
		return -1;
	if (!fgets(buf, sizeof(buf), f))
		buf[0] = '\0';
	fclose(f);
	return buf[0] ? strtol(buf, NULL, 10) : -1;
}

static bool module_live(void)
{
	char buf[32] = "";
	FILE *f = fopen("/sys/module/shadowpt/initstate", "r");

	if (!f)
		return false;
	if (!fgets(buf, sizeof(buf), f))
		buf[0] = '\0';
	fclose(f);
	return !strncmp(buf, "live", 4);
}

/* The holder: open, build a space, then work on it until told to stop. */
static int holder(int ready_fd, int stop_fd)
{
	__u64 va = SPT_TEST_VA, n;
	char c = 'r', buf[64];
	unsigned long rounds = 0;
	__u32 id;
	int fd = spt_open();

	if (fd < 0 || _spt_space_create(fd, SPT_SPACE_FD_OWNED, &id) ||
	    _spt_map(fd, id, SPT_MAP_4K, va, SZ_1M, 0, SPT_PROT_WRITE, 0, &n))
		return 1;
	if (write(ready_fd, &c, 1) != 1)
		return 1;
	fcntl(stop_fd, F_SETFL, O_NONBLOCK);
	while (read(stop_fd, &c, 1) != 1) {
		if (_spt_rw(fd, id, SPT_RW_WRITE, va + (rounds % 256) * SZ_4K,
			    buf, sizeof(buf), &n) ||
		    _spt_query(fd, id, va, NULL))
			return 2;
		rounds++;
	}
	if (_spt_check(fd, id, buf, sizeof(buf)))
		return 3;
	close(fd);
	return 0;
}

TEST_F_TIMEOUT(race, rmmod_while_open, 300)
{
	int ready[2], stopp[2], status, i, refused = 0, n = iters();
	long ref0, ref1;
	pid_t pid;
	char c;

	/* Only the holder may pin the module: drop our own descriptor. */
	close(self->fd);
	self->fd = -1;
	ref0 = read_long("/sys/module/shadowpt/refcnt");
	if (ref0 != 0)
		SKIP(return, "shadowpt refcnt is %ld before the test: someone else holds it",
		     ref0);
	ASSERT_EQ(0, pipe(ready));
	ASSERT_EQ(0, pipe(stopp));
	pid = fork();
	ASSERT_LE(0, pid);
	if (!pid) {
		close(ready[0]);
		close(stopp[1]);
		_exit(holder(ready[1], stopp[0]));
	}
	close(ready[1]);
	close(stopp[0]);
	ASSERT_EQ(1, read(ready[0], &c, 1));
	ref1 = read_long("/sys/module/shadowpt/refcnt");
	EXPECT_LE(1, ref1);
	if (ref1 < 1) {
		/* Unloading now would succeed and take the module away. */
		kill(pid, SIGKILL);
		waitpid(pid, NULL, 0);
		ASSERT_LE(1, ref1);
	}
	for (i = 0; i < n; i++) {
		int ret = syscall(SYS_delete_module, "shadowpt", O_NONBLOCK);

		if (!ret) {
			TH_LOG("delete_module(shadowpt) SUCCEEDED while /dev/shadowpt was open: the module is gone, later tests and rmmod cannot run");
			ASSERT_NE(0, ret);
		}
		if (errno == EAGAIN || errno == EBUSY)
			refused++;
		else
			TH_LOG("delete_module: %s (want EAGAIN/EBUSY)",
			       strerror(errno));
		usleep(rnd_below(5000));
	}
	EXPECT_EQ(n, refused);
	/* The rmmod tool too (its status, not its message, is what counts). */
	status = system("rmmod shadowpt 2>/dev/null");
	EXPECT_NE(0, status);
	ASSERT_TRUE(module_live());
	EXPECT_EQ(1, write(stopp[1], "s", 1));
	ASSERT_EQ(pid, waitpid(pid, &status, 0));
	EXPECT_TRUE(WIFEXITED(status));
	EXPECT_EQ(0, WEXITSTATUS(status));
	EXPECT_TRUE(module_live());
	EXPECT_EQ(ref0, read_long("/sys/module/shadowpt/refcnt"));
	TH_LOG("%d delete_module calls refused while a process held the device",
	       refused);
}

TEST_HARNESS_MAIN
