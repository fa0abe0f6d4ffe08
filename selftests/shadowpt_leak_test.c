// SPDX-License-Identifier: GPL-2.0
/*
 * Nothing leaks: after every test the module's counters (SPT_IOCTL_STATS
 * with space_id 0: pool_used/node/data_frames, nr_spaces) are back to
 * their values before it (checked by every fixture's teardown). Here: a
 * process killed mid-session, create/destroy cycles, close with mappings,
 * netlink create/delete, destroy racing with operations, and every
 * allocation of a scripted session failing in turn (debugfs fail-nth).
 */
#include <pthread.h>

#include "shadowpt_nl.h"

FIXTURE(leak) {
	struct spt_env env;
	bool phys_ok;
};

FIXTURE_SETUP(leak)
{
	spt_env_setup(_metadata, &self->env);
	self->phys_ok = spt_env_allow_phys(&self->env) == 0;
}

FIXTURE_TEARDOWN(leak)
{
	spt_env_teardown(_metadata, &self->env);
}

#define ASSERT_NO_LEAK()						\
	({								\
		struct spt_counters __c;				\
		ASSERT_EQ(0, spt_counters_read(self->env.fd, &__c));	\
		ASSERT_COUNTERS_EQ(&self->env.base, &__c);		\
	})

/* =====================================================================
 * A child builds spaces and is SIGKILLed: its fd-owned spaces go with its
 * descriptor, its id-owned ones stay.
 */

enum kill_mode {
	KILL_IDLE,	/* child waits after building its space */
	KILL_BUSY,	/* child keeps mapping/protecting/unmapping/rw */
	KILL_MANY,	/* child has 16 fd-owned spaces */
	KILL_SHARED,	/* child and grandchild share the descriptor */
	KILL_ID_OWNED,	/* child's space is id-owned: it stays */
};

FIXTURE(kill) {
	struct spt_env env;
};

FIXTURE_VARIANT(kill) {
	enum kill_mode mode;
	int rounds;
};

FIXTURE_VARIANT_ADD(kill, idle) { .mode = KILL_IDLE, .rounds = 1 };
FIXTURE_VARIANT_ADD(kill, busy) { .mode = KILL_BUSY, .rounds = 8 };
FIXTURE_VARIANT_ADD(kill, many) { .mode = KILL_MANY, .rounds = 1 };
FIXTURE_VARIANT_ADD(kill, shared) { .mode = KILL_SHARED, .rounds = 1 };
FIXTURE_VARIANT_ADD(kill, id_owned) { .mode = KILL_ID_OWNED, .rounds = 1 };

FIXTURE_SETUP(kill)
{
	spt_env_setup(_metadata, &self->env);
}

FIXTURE_TEARDOWN(kill)
{
	spt_env_teardown(_metadata, &self->env);
}

/* Bytes child_space() maps. */
#define CHILD_SPACE_BYTES	(SZ_2M + 2 * SZ_2M + 2 * SZ_2M)

/*
 * Build one space with some of every tracked kind (8 MiB of frames with
 * the nodes; 16 of them fit the default pool); returns its id or 0.
 */
static __u32 child_space(int fd, __u32 flags)
{
	__u32 id;

	if (_spt_space_create(fd, flags, &id))
		return 0;
	if (_spt_map(fd, id, SPT_MAP_4K, SPT_TEST_VA, SZ_2M, 0, 0, 0, NULL) ||
	    _spt_map(fd, id, SPT_MAP_2M, SPT_TEST_VA + SZ_1G, 2 * SZ_2M, 0, 0,
		     0, NULL) ||
	    _spt_map(fd, id, SPT_MAP_LARGEST, SPT_TEST_VA + 2 * SZ_1G + SZ_4K,
		     2 * SZ_2M, 0, 0, 0, NULL))
		return 0;
	return id;
}

static void child_busy(int fd, __u32 id)
{
	static char buf[SZ_64K];
	unsigned int i;

	for (i = 0;; i++) {
		__u64 va = SPT_TEST_VA + 3 * SZ_1G + (i % 64) * SZ_2M;

		_spt_map(fd, id, i & 1 ? SPT_MAP_2M : SPT_MAP_4K, va, SZ_2M,
			 0, 0, 0, NULL);
		_spt_protect(fd, id, 0, va + SZ_4K, SZ_64K, SPT_PROT_WRITE, 0,
			     NULL, NULL);
		_spt_rw(fd, id, SPT_RW_WRITE, va, buf, sizeof(buf), NULL);
		_spt_unmap(fd, id, va + SZ_1M, SZ_4K, NULL, NULL);
		if (i % 3 == 0)
			_spt_unmap(fd, id, va, SZ_2M, NULL, NULL);
	}
}

/* The child: report the ids on @wfd, then wait or work until killed. */
static void kill_child(enum kill_mode mode, int wfd)
{
	__u32 ids[17] = { 0 };
	int fd = spt_open(), n = 0, i;

	if (fd < 0)
		_exit(1);
	switch (mode) {
	case KILL_MANY:
		for (i = 0; i < 16; i++)
			ids[n++] = child_space(fd, SPT_SPACE_FD_OWNED);
		break;
	case KILL_ID_OWNED:
		ids[n++] = child_space(fd, 0);
		break;
	default:
		ids[n++] = child_space(fd, SPT_SPACE_FD_OWNED);
		break;
	}
	/* With KILL_SHARED, the grandchild holds the descriptor as well. */
	if (mode != KILL_SHARED || fork() != 0) {
		if (write(wfd, ids, n * sizeof(ids[0])) < 0)
			_exit(1);
	}
	if (mode == KILL_BUSY)
		child_busy(fd, ids[0]);
	for (;;)
		pause();
}

TEST_F_TIMEOUT(kill, sigkill_mid_session, 120)
{
	struct spt_space_info info;
	struct spt_counters c;
	int round, p[2], i, n;
	__u32 ids[17];
	pid_t pid;

	for (round = 0; round < variant->rounds; round++) {
		ASSERT_EQ(0, pipe(p));
		pid = fork();
		ASSERT_LE(0, pid);
		if (pid == 0) {
			close(p[0]);
			/* Own process group: the grandchild dies with it. */
			setpgid(0, 0);
			kill_child(variant->mode, p[1]);
		}
		close(p[1]);
		n = read(p[0], ids, sizeof(ids));
		close(p[0]);
		if (n > 0 && variant->mode == KILL_BUSY)
			usleep(20000 + round * 37000);
		/* Kill before any ASSERT: a live child would hold its spaces. */
		ASSERT_EQ(0, kill(-pid, SIGKILL));
		ASSERT_EQ(pid, waitpid(pid, NULL, 0));
		ASSERT_LT(0, n);
		n /= sizeof(ids[0]);
		for (i = 0; i < n; i++) {
			ASSERT_NE(0, ids[i]);
		}
		if (variant->mode == KILL_SHARED) {
			/*
			 * Nobody waits for the grandchild: give its exit (the
			 * last close of the descriptor) time to finish.
			 */
			for (i = 0; i < 500; i++) {
				ASSERT_EQ(0, spt_counters_read(self->env.fd,
							       &c));
				if (c.nr_spaces == self->env.base.nr_spaces)
					break;
				usleep(10000);
			}
		}
		for (i = 0; i < n; i++) {
			if (variant->mode == KILL_ID_OWNED) {
				ASSERT_EQ(0, _spt_space_info(self->env.fd,
							     ids[i], &info));
				EXPECT_EQ(pid, info.out_owner_pid);
				EXPECT_EQ(CHILD_SPACE_BYTES,
					  info.out_mapped_bytes);
				EXPECT_EQ(0, spt_check_log(_metadata,
							   self->env.fd,
							   ids[i]));
				ASSERT_EQ(0, _spt_space_destroy(self->env.fd,
								ids[i]));
			} else {
				EXPECT_ERRNO(ENOENT,
					     _spt_space_info(self->env.fd,
							     ids[i], NULL));
			}
		}
		ASSERT_EQ(0, spt_counters_read(self->env.fd, &c));
		ASSERT_COUNTERS_EQ(&self->env.base, &c);
	}
}

/* =====================================================================
 * Cycles.
 */

TEST_F_TIMEOUT(leak, create_destroy_cycles, 120)
{
	__u32 id;
	int i;

	for (i = 0; i < 200; i++) {
		ASSERT_EQ(0, _spt_space_create(self->env.fd,
					       i & 1 ? SPT_SPACE_FD_OWNED : 0,
					       &id));
		ASSERT_EQ(0, _spt_map(self->env.fd, id, SPT_MAP_4K,
				      SPT_TEST_VA + i * SZ_4K, SZ_64K, 0, 0, 0,
				      NULL));
		ASSERT_EQ(0, _spt_map(self->env.fd, id, SPT_MAP_2M,
				      SPT_TEST_VA + SZ_1G, SZ_2M, 0, 0, 0,
				      NULL));
		if (self->phys_ok) {
			ASSERT_EQ(0, _spt_map(self->env.fd, id, SPT_MAP_PHYS,
					      SPT_TEST_VA + 2 * SZ_1G,
					      SZ_2M + SZ_4K, SPT_TEST_PHYS, 0,
					      0, NULL));
		}
		ASSERT_EQ(0, _spt_space_destroy(self->env.fd, id));
	}
	ASSERT_NO_LEAK();
}

/* Map, split, protect and unmap repeatedly in one space. */
TEST_F_TIMEOUT(leak, op_cycles, 120)
{
	__u64 va = SPT_TEST_VA;
	struct spt_stats created, st;
	__u32 id;
	int i;

	test_cmd_space_create(0, &id);
	test_cmd_stats(id, &created);
	for (i = 0; i < 100; i++) {
		ASSERT_EQ(0, _spt_map(self->env.fd, id, SPT_MAP_LARGEST,
				      va + SZ_2M - SZ_4K, 2 * SZ_2M, 0, 0, 0,
				      NULL));
		ASSERT_EQ(0, _spt_protect(self->env.fd, id, 0,
					  va + SZ_2M + i * SZ_4K, SZ_4K,
					  SPT_PROT_WRITE, 0, NULL, NULL));
		ASSERT_EQ(0, _spt_unmap(self->env.fd, id, va + 3 * SZ_1M,
					SZ_4K, NULL, NULL));
		ASSERT_EQ(0, _spt_map(self->env.fd, id,
				      SPT_MAP_4K | SPT_MAP_REPLACE,
				      va + SZ_2M, SZ_64K, 0, 0, 0, NULL));
		ASSERT_EQ(0, spt_check_log(_metadata, self->env.fd, id));
		ASSERT_EQ(0, _spt_unmap(self->env.fd, id, va, SZ_1G, NULL,
					NULL));
		test_cmd_stats(id, &st);
		ASSERT_EQ(created.pool_used_frames, st.pool_used_frames);
		ASSERT_EQ(0, st.space_data_frames);
	}
}

TEST_F(leak, close_with_mappings)
{
	__u32 a, b;
	int fd = spt_open();

	ASSERT_LE(0, fd);
	a = child_space(fd, SPT_SPACE_FD_OWNED);
	b = child_space(fd, SPT_SPACE_FD_OWNED);
	ASSERT_NE(0, a);
	ASSERT_NE(0, b);
	if (self->phys_ok) {
		ASSERT_EQ(0, _spt_map(fd, a, SPT_MAP_PHYS, SPT_TEST_VA + 8 * SZ_1G,
				      SZ_1G, SPT_TEST_PHYS + SZ_4K, 0, 0, NULL));
	}
	close(fd);
	ASSERT_NO_LEAK();
}

TEST_F_TIMEOUT(leak, netlink_new_del_cycles, 120)
{
	struct spt_nl nl;
	int i;

	ASSERT_EQ(0, spt_nl_open(&nl));
	for (i = 0; i < 100; i++) {
		struct spt_nl_spaces l;
		struct spt_nl_args del = { .has_id = true };

		memset(&l, 0, sizeof(l));
		ASSERT_EQ(0, spt_nl_request(&nl, SPT_GENL_CMD_SPACE_NEW, 0,
					    NULL, spt_nl_space_cb, &l, NULL));
		ASSERT_EQ(1, l.nr);
		del.id = l.v[0].id;
		free(l.v);
		ASSERT_EQ(0, _spt_map(self->env.fd, del.id, SPT_MAP_4K,
				      SPT_TEST_VA, SZ_64K, 0, 0, 0, NULL));
		ASSERT_EQ(0, spt_nl_request(&nl, SPT_GENL_CMD_SPACE_DEL, 0,
					    &del, NULL, NULL, NULL));
	}
	spt_nl_close(&nl);
	ASSERT_NO_LEAK();
}

/* =====================================================================
 * Destroy while other threads operate on the space.
 */

struct racer {
	int fd;
	__u32 id;
	int n;
	volatile bool stop;
	unsigned long ops, enoent;
};

static void *racer_fn(void *p)
{
	struct racer *r = p;
	char buf[256];
	unsigned int i;

	for (i = 0; !r->stop; i++) {
		__u64 va = SPT_TEST_VA + r->n * SZ_1G + (i % 32) * SZ_2M;
		int ret;

		ret = _spt_map(r->fd, r->id, SPT_MAP_4K, va, SZ_1M, 0, 0, 0,
			       NULL);
		ret |= _spt_rw(r->fd, r->id, SPT_RW_WRITE, va, buf, sizeof(buf),
			       NULL);
		ret |= _spt_protect(r->fd, r->id, 0, va, SZ_64K,
				    SPT_PROT_WRITE, 0, NULL, NULL);
		ret |= _spt_unmap(r->fd, r->id, va, SZ_2M, NULL, NULL);
		r->ops++;
		if (ret && errno == ENOENT)
			r->enoent++;
	}
	return NULL;
}

TEST_F_TIMEOUT(leak, destroy_racing_ops, 120)
{
	struct racer r[2];
	pthread_t t[2];
	int round, i;
	__u32 id;

	for (round = 0; round < 10; round++) {
		ASSERT_EQ(0, _spt_space_create(self->env.fd, 0, &id));
		for (i = 0; i < 2; i++) {
			r[i] = (struct racer){ .fd = self->env.fd, .id = id,
					       .n = i };
			ASSERT_EQ(0, pthread_create(&t[i], NULL, racer_fn,
						    &r[i]));
		}
		usleep(5000 + round * 3000);
		ASSERT_EQ(0, _spt_space_destroy(self->env.fd, id));
		usleep(2000);
		for (i = 0; i < 2; i++) {
			r[i].stop = true;
			pthread_join(t[i], NULL);
		}
		ASSERT_NO_LEAK();
	}
}

/* =====================================================================
 * fail-nth: the Nth allocation of a scripted session fails, for every N
 * until the session needs no more. Every operation must succeed or fail
 * with ENOMEM, the space must pass the check, and nothing may leak.
 */

#define STEP_OK(call)							\
	({								\
		int __r = (call);					\
		if (__r) {						\
			if (errno != ENOMEM)				\
				TH_LOG("n=%u: %s: %s", n, #call,	\
				       strerror(errno));		\
			ASSERT_EQ(ENOMEM, errno);			\
		}							\
		__r;							\
	})

TEST_F_TIMEOUT(leak, fail_nth_session, 600)
{
	__u64 va = SPT_TEST_VA;
	unsigned int n;
	long left = 0;
	__u32 id;

	if (access(SPT_FAIL_NTH, W_OK))
		SKIP(return, "%s not available", SPT_FAIL_NTH);
	for (n = 1; n < 5000; n++) {
		ASSERT_EQ(0, spt_fail_nth_set(n));
		if (STEP_OK(_spt_space_create(self->env.fd, 0, &id))) {
			ASSERT_EQ(0, spt_fail_nth_set(0));
			ASSERT_NO_LEAK();
			continue;
		}
		STEP_OK(_spt_map(self->env.fd, id, SPT_MAP_LARGEST,
				 va + SZ_2M - 2 * SZ_4K, SZ_2M + 4 * SZ_4K, 0,
				 0, 0, NULL));
		STEP_OK(_spt_map(self->env.fd, id, SPT_MAP_2M, va + SZ_1G,
				 2 * SZ_2M, 0, 0, 0, NULL));
		/* Splits of a 2 MiB leaf need a node. */
		STEP_OK(_spt_protect(self->env.fd, id, 0, va + SZ_1G + SZ_4K,
				     SZ_4K, SPT_PROT_WRITE, 0, NULL, NULL));
		STEP_OK(_spt_unmap(self->env.fd, id, va + SZ_1G + 3 * SZ_1M,
				   SZ_4K, NULL, NULL));
		STEP_OK(_spt_map(self->env.fd, id, SPT_MAP_4K | SPT_MAP_REPLACE,
				 va + SZ_1G + SZ_2M + SZ_64K, SZ_64K, 0, 0, 0,
				 NULL));
		if (self->phys_ok)
			STEP_OK(_spt_map(self->env.fd, id, SPT_MAP_PHYS,
					 va + 2 * SZ_1G + SZ_4K, SZ_2M,
					 SPT_TEST_PHYS + SZ_4K, 0, 0, NULL));
		left = spt_fail_nth_get();
		ASSERT_EQ(0, spt_fail_nth_set(0));
		ASSERT_EQ(0, spt_check_log(_metadata, self->env.fd, id));
		ASSERT_EQ(0, _spt_space_destroy(self->env.fd, id));
		ASSERT_NO_LEAK();
		if (left > 0)
			break;
	}
	TH_LOG("the session makes %u allocations", n - 1);
	ASSERT_GT(5000, n);
	ASSERT_LT(5, n);
}

TEST_HARNESS_MAIN
