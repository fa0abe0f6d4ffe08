// SPDX-License-Identifier: GPL-2.0
/*
 * What an unprivileged process can and cannot do: open the device (no),
 * use a descriptor it inherited (yes, but no untracked maps without
 * CAP_SYS_RAWIO), change state over netlink (no: GENL_ADMIN_PERM), read
 * the space list and mappings over netlink (yes).
 *
 * Each check runs in a forked child that drops its privileges; the child's
 * exit status says what went wrong (0: as expected), and it prints why.
 */
#include "shadowpt_nl.h"

#define NOBODY	65534

FIXTURE(unpriv) {
	struct spt_env env;
	__u32 id;
	bool phys_ok;
};

FIXTURE_SETUP(unpriv)
{
	spt_env_setup(_metadata, &self->env);
	self->phys_ok = spt_env_allow_phys(&self->env) == 0;
	test_cmd_space_create(0, &self->id);
	test_cmd_map(self->id, SPT_MAP_4K, SPT_TEST_VA, SZ_64K, 0, 0);
}

FIXTURE_TEARDOWN(unpriv)
{
	spt_env_teardown(_metadata, &self->env);
}

#define CHILD_FAIL(code, fmt, ...)					\
	({								\
		fprintf(stderr, "# child: " fmt "\n", ##__VA_ARGS__);	\
		return code;						\
	})

static int open_as_nobody(void *arg)
{
	int fd;

	if (spt_become_nobody())
		CHILD_FAIL(10, "cannot become nobody: %s", strerror(errno));
	fd = open(SPT_DEVICE_PATH, O_RDWR);
	if (fd >= 0)
		CHILD_FAIL(1, "open succeeded as uid %d", getuid());
	if (errno != EACCES && errno != EPERM)
		CHILD_FAIL(2, "open: %s", strerror(errno));
	fd = open(SPT_DEVICE_PATH, O_RDONLY);
	if (fd >= 0 || (errno != EACCES && errno != EPERM))
		CHILD_FAIL(3, "open O_RDONLY: %d %s", fd, strerror(errno));
	return 0;
}

TEST_F(unpriv, open_as_nobody)
{
	EXPECT_EQ(0, spt_run_child(open_as_nobody, NULL));
}

/* Root without CAP_SYS_ADMIN passes the file mode but not the driver. */
static int open_without_sys_admin(void *arg)
{
	int fd;

	if (spt_drop_effective_cap(CAP_SYS_ADMIN))
		CHILD_FAIL(10, "capset: %s", strerror(errno));
	fd = open(SPT_DEVICE_PATH, O_RDWR);
	if (fd >= 0)
		CHILD_FAIL(1, "open succeeded without CAP_SYS_ADMIN");
	if (errno != EPERM)
		CHILD_FAIL(2, "open: %s (want EPERM)", strerror(errno));
	return 0;
}

TEST_F(unpriv, open_without_cap_sys_admin)
{
	EXPECT_EQ(0, spt_run_child(open_without_sys_admin, NULL));
}

struct inherited {
	int fd;
	__u32 id;
	bool phys_ok;
};

/*
 * The capability is checked at open (like iommufd): a descriptor handed
 * to an unprivileged process works, except for untracked maps, which need
 * CAP_SYS_RAWIO at the time of the call.
 */
static int use_inherited_fd(void *p)
{
	struct inherited *a = p;
	struct spt_query_entry e;
	__u32 id;

	if (spt_become_nobody())
		CHILD_FAIL(10, "cannot become nobody: %s", strerror(errno));
	if (_spt_query(a->fd, a->id, SPT_TEST_VA, &e) || !e.flags)
		CHILD_FAIL(1, "query: %s", strerror(errno));
	if (_spt_space_create(a->fd, SPT_SPACE_FD_OWNED, &id))
		CHILD_FAIL(2, "create: %s", strerror(errno));
	if (_spt_map(a->fd, id, SPT_MAP_4K, SPT_TEST_VA, SZ_64K, 0, 0, 0,
		     NULL))
		CHILD_FAIL(3, "map: %s", strerror(errno));
	if (a->phys_ok) {
		if (!_spt_map(a->fd, id, SPT_MAP_PHYS, SPT_TEST_VA + SZ_1G,
			      SZ_4K, SPT_TEST_PHYS, 0, 0, NULL))
			CHILD_FAIL(4, "untracked map worked without CAP_SYS_RAWIO");
		if (errno != EPERM)
			CHILD_FAIL(5, "untracked map: %s (want EPERM)",
				   strerror(errno));
	}
	if (_spt_space_destroy(a->fd, id))
		CHILD_FAIL(6, "destroy: %s", strerror(errno));
	return 0;
}

TEST_F(unpriv, inherited_fd)
{
	struct inherited a = { .fd = self->env.fd, .id = self->id,
			       .phys_ok = self->phys_ok };

	if (!self->phys_ok)
		TH_LOG("allow_phys cannot be set: untracked map not tried");
	EXPECT_EQ(0, spt_run_child(use_inherited_fd, &a));
}

/* ---- netlink ---- */

struct nl_arg {
	__u32 id;		/* a space root made */
	__u64 nr_spaces;
	int how;		/* 0: nobody; 1: socket opened as root first;
				 * 2: root without CAP_NET_ADMIN */
};

static int drop(struct nl_arg *a)
{
	if (a->how == 2)
		return spt_drop_effective_cap(CAP_NET_ADMIN);
	return spt_become_nobody();
}

static int state_changes_refused(void *p)
{
	struct nl_arg *a = p;
	struct spt_nl_args del = { .has_id = true, .id = a->id };
	struct spt_nl nl;
	int ret;

	if (a->how == 1 && spt_nl_open(&nl))
		CHILD_FAIL(10, "netlink as root");
	if (drop(a))
		CHILD_FAIL(11, "cannot drop privileges: %s", strerror(errno));
	if (a->how != 1 && spt_nl_open(&nl))
		CHILD_FAIL(12, "netlink: family not found");
	ret = spt_nl_request(&nl, SPT_GENL_CMD_SPACE_NEW, 0, NULL, NULL, NULL,
			     NULL);
	if (ret != -EPERM)
		CHILD_FAIL(1, "SPACE_NEW: %d (want %d)", ret, -EPERM);
	ret = spt_nl_request(&nl, SPT_GENL_CMD_SPACE_DEL, 0, &del, NULL, NULL,
			     NULL);
	if (ret != -EPERM)
		CHILD_FAIL(2, "SPACE_DEL: %d (want %d)", ret, -EPERM);
	spt_nl_close(&nl);
	return 0;
}

static void check_refused(struct __test_metadata *_metadata,
			  FIXTURE_DATA(unpriv) *self, int how)
{
	struct nl_arg a = { .id = self->id, .how = how };
	struct spt_space_info info;
	struct spt_counters c, d;

	ASSERT_EQ(0, spt_counters_read(self->env.fd, &c));
	EXPECT_EQ(0, spt_run_child(state_changes_refused, &a));
	/* The space is still there, and no new one appeared. */
	ASSERT_EQ(0, _spt_space_info(self->env.fd, self->id, &info));
	EXPECT_EQ(SZ_64K, info.out_mapped_bytes);
	ASSERT_EQ(0, spt_counters_read(self->env.fd, &d));
	EXPECT_EQ(c.nr_spaces, d.nr_spaces);
}

TEST_F(unpriv, netlink_new_del_refused_nobody)
{
	check_refused(_metadata, self, 0);
}

/* The check is on the sender, not only on who opened the socket. */
TEST_F(unpriv, netlink_new_del_refused_root_socket)
{
	check_refused(_metadata, self, 1);
}

TEST_F(unpriv, netlink_new_del_refused_no_cap_net_admin)
{
	check_refused(_metadata, self, 2);
}

static int dumps_allowed(void *p)
{
	struct nl_arg *a = p;
	struct spt_nl_spaces l;
	struct spt_nl_runs r;
	struct spt_nl nl;
	int ret;

	if (spt_become_nobody())
		CHILD_FAIL(10, "cannot become nobody: %s", strerror(errno));
	if (spt_nl_open(&nl))
		CHILD_FAIL(11, "netlink: family not found");
	ret = spt_nl_spaces_get(&nl, 0, &l);
	if (ret)
		CHILD_FAIL(1, "SPACE_GET dump: %d", ret);
	if (l.nr != a->nr_spaces || !spt_nl_spaces_find(&l, a->id))
		CHILD_FAIL(2, "SPACE_GET dump: %zu spaces, want %llu with %u",
			   l.nr, a->nr_spaces, a->id);
	free(l.v);
	ret = spt_nl_spaces_get(&nl, a->id, &l);
	if (ret || l.nr != 1)
		CHILD_FAIL(3, "SPACE_GET do: %d", ret);
	free(l.v);
	ret = spt_nl_runs_get(&nl, a->id, false, 0, 0, &r);
	if (ret || r.nr < 1)
		CHILD_FAIL(4, "MAPPING_GET dump: %d, %zu runs", ret, r.nr);
	free(r.v);
	spt_nl_close(&nl);
	return 0;
}

TEST_F(unpriv, netlink_dumps_allowed)
{
	struct nl_arg a = { .id = self->id };
	struct spt_counters c;

	ASSERT_EQ(0, spt_counters_read(self->env.fd, &c));
	a.nr_spaces = c.nr_spaces;
	EXPECT_EQ(0, spt_run_child(dumps_allowed, &a));
}

TEST_HARNESS_MAIN
