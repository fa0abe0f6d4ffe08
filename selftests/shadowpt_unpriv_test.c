// SPDX-License-Identifier: GPL-2.0
/*
 * What an unprivileged process can and cannot do: open the device (no),
 * use a descriptor it inherited (yes, but no untracked maps without
 * CAP_SYS_RAWIO), change state over netlink (no: CAP_SYS_ADMIN, as for the
 * device, and CAP_NET_ADMIN is neither needed nor enough), read the space
 * list and mappings over netlink (yes, but physical addresses only with
 * CAP_SYS_ADMIN), join the events group (no: CAP_SYS_ADMIN; events read
 * on a socket that joined before carry no physical address).
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
				 * 2: root without CAP_SYS_ADMIN (with
				 * CAP_NET_ADMIN); 3: root without
				 * CAP_NET_ADMIN (with CAP_SYS_ADMIN) */
};

static int drop(struct nl_arg *a)
{
	if (a->how == 2)
		return spt_drop_effective_cap(CAP_SYS_ADMIN);
	if (a->how == 3)
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

/*
 * The capability is the device's, CAP_SYS_ADMIN: CAP_NET_ADMIN alone is
 * not enough (it used to be: GENL_ADMIN_PERM)...
 */
TEST_F(unpriv, netlink_new_del_refused_cap_net_admin_only)
{
	check_refused(_metadata, self, 2);
}

static int new_del_space_cb(struct nlattr **tb, __u8 cmd, void *arg)
{
	return spt_nl_parse_space(tb, arg) ? -EBADMSG : 0;
}

static int state_changes_allowed(void *p)
{
	struct nl_arg *a = p;
	struct spt_nl_args del = { .has_id = true };
	struct spt_nl_space ns = { 0 };
	struct spt_nl nl;
	int ret;

	if (drop(a))
		CHILD_FAIL(11, "cannot drop privileges: %s", strerror(errno));
	if (spt_nl_open(&nl))
		CHILD_FAIL(12, "netlink: family not found");
	ret = spt_nl_request(&nl, SPT_GENL_CMD_SPACE_NEW, 0, NULL,
			     new_del_space_cb, &ns, NULL);
	if (ret || !ns.id)
		CHILD_FAIL(1, "SPACE_NEW: %d, id %u", ret, ns.id);
	del.id = ns.id;
	ret = spt_nl_request(&nl, SPT_GENL_CMD_SPACE_DEL, 0, &del, NULL, NULL,
			     NULL);
	if (ret)
		CHILD_FAIL(2, "SPACE_DEL of %u: %d", ns.id, ret);
	spt_nl_close(&nl);
	return 0;
}

/* ... and not needed either. */
TEST_F(unpriv, netlink_new_del_allowed_without_cap_net_admin)
{
	struct nl_arg a = { .id = self->id, .how = 3 };
	struct spt_counters c, d;

	ASSERT_EQ(0, spt_counters_read(self->env.fd, &c));
	EXPECT_EQ(0, spt_run_child(state_changes_allowed, &a));
	ASSERT_EQ(0, spt_counters_read(self->env.fd, &d));
	EXPECT_EQ(c.nr_spaces, d.nr_spaces);
}

/*
 * Dumps are open to everyone, but physical addresses (SPT_A_SPACE_ROOT_PA,
 * SPT_A_RUN_PHYS) only go to callers with CAP_SYS_ADMIN: the attribute is
 * absent for others, everything else is there.
 */
struct pa_seen {
	unsigned long msgs, with_pa, without_other;
	__u64 root_pa;
};

static int space_pa_cb(struct nlattr **tb, __u8 cmd, void *arg)
{
	struct pa_seen *p = arg;

	p->msgs++;
	if (tb[SPT_A_SPACE_ROOT_PA]) {
		p->with_pa++;
		p->root_pa = nla_get_u64(tb[SPT_A_SPACE_ROOT_PA]);
	}
	if (cmd != SPT_GENL_CMD_SPACE_GET || !tb[SPT_A_SPACE_ID] ||
	    !tb[SPT_A_SPACE_LEVELS] || !tb[SPT_A_SPACE_OWNER_PID] ||
	    !tb[SPT_A_SPACE_MAPPED_BYTES] || !tb[SPT_A_SPACE_NODE_FRAMES])
		p->without_other++;
	return 0;
}

static int run_pa_cb(struct nlattr **tb, __u8 cmd, void *arg)
{
	struct pa_seen *p = arg;

	p->msgs++;
	if (tb[SPT_A_RUN_PHYS])
		p->with_pa++;
	if (cmd != SPT_GENL_CMD_MAPPING_GET || !tb[SPT_A_RUN_VA] ||
	    !tb[SPT_A_RUN_END] || !tb[SPT_A_RUN_PAGES] ||
	    !tb[SPT_A_RUN_PROT] || !tb[SPT_A_RUN_FLAGS])
		p->without_other++;
	return 0;
}

struct dump_arg {
	__u32 id;
	__u64 nr_spaces;
	__u64 root_pa;
	int how;		/* 0: nobody; 1: root without CAP_SYS_ADMIN;
				 * 2: root */
};

#define CHECK_PA(what, p, want_msgs)					\
	({								\
		if (ret)						\
			CHILD_FAIL(20, "%s: %d", what, ret);		\
		if ((p).msgs != (want_msgs) || (p).without_other)	\
			CHILD_FAIL(21, "%s: %lu messages (want %lu), %lu incomplete", \
				   what, (p).msgs,			\
				   (unsigned long)(want_msgs),		\
				   (p).without_other);			\
		if ((p).with_pa != (a->how == 2 ? (p).msgs : 0))	\
			CHILD_FAIL(22, "%s: physical address in %lu of %lu messages (how %d)", \
				   what, (p).with_pa, (p).msgs, a->how); \
	})

static int dumps_pa(void *arg)
{
	struct dump_arg *a = arg;
	struct spt_nl_args one = { .has_id = true, .id = a->id };
	struct pa_seen p;
	struct spt_nl nl;
	int ret;

	if (a->how == 0 && spt_become_nobody())
		CHILD_FAIL(10, "cannot become nobody: %s", strerror(errno));
	if (a->how == 1 && spt_drop_effective_cap(CAP_SYS_ADMIN))
		CHILD_FAIL(10, "capset: %s", strerror(errno));
	if (spt_nl_open(&nl))
		CHILD_FAIL(11, "netlink: family not found");
	memset(&p, 0, sizeof(p));
	ret = spt_nl_request(&nl, SPT_GENL_CMD_SPACE_GET, NLM_F_DUMP, NULL,
			     space_pa_cb, &p, NULL);
	CHECK_PA("SPACE_GET dump", p, a->nr_spaces);
	memset(&p, 0, sizeof(p));
	ret = spt_nl_request(&nl, SPT_GENL_CMD_SPACE_GET, 0, &one,
			     space_pa_cb, &p, NULL);
	CHECK_PA("SPACE_GET do", p, 1);
	if (a->how == 2 && p.root_pa != a->root_pa)
		CHILD_FAIL(23, "SPACE_GET do: root 0x%llx, want 0x%llx",
			   p.root_pa, a->root_pa);
	memset(&p, 0, sizeof(p));
	/* The fixture's space: 64 KiB of 4 KiB frames, 1..16 runs. */
	ret = spt_nl_request(&nl, SPT_GENL_CMD_MAPPING_GET, NLM_F_DUMP, &one,
			     run_pa_cb, &p, NULL);
	if (!ret && (p.msgs < 1 || p.msgs > 16))
		CHILD_FAIL(24, "MAPPING_GET dump: %lu runs", p.msgs);
	CHECK_PA("MAPPING_GET dump", p, p.msgs);
	spt_nl_close(&nl);
	return 0;
}

static void check_dumps(struct __test_metadata *_metadata,
			FIXTURE_DATA(unpriv) *self, int how)
{
	struct dump_arg a = { .id = self->id, .how = how };
	struct spt_space_info info;
	struct spt_counters c;

	ASSERT_EQ(0, spt_counters_read(self->env.fd, &c));
	ASSERT_EQ(0, _spt_space_info(self->env.fd, self->id, &info));
	a.nr_spaces = c.nr_spaces;
	a.root_pa = info.out_root_pa;
	EXPECT_EQ(0, spt_run_child(dumps_pa, &a));
}

TEST_F(unpriv, netlink_dumps_allowed_without_pa)
{
	check_dumps(_metadata, self, 0);
}

TEST_F(unpriv, netlink_dumps_without_cap_sys_admin_no_pa)
{
	check_dumps(_metadata, self, 1);
}

TEST_F(unpriv, netlink_dumps_admin_with_pa)
{
	check_dumps(_metadata, self, 2);
}

/*
 * The "events" group needs CAP_SYS_ADMIN to join (they say who does what
 * to which space, and when): nobody, and root without CAP_SYS_ADMIN, are
 * refused. Its messages never carry a physical address: the child joins
 * as root, drops to nobody (the membership stays) and causes events
 * through a descriptor it inherited.
 */
static int event_pa_cb(struct nlattr **tb, __u8 cmd, void *arg)
{
	struct pa_seen *p = arg;

	p->msgs++;
	if (cmd != SPT_GENL_CMD_EVENT || !tb[SPT_A_EVENT_TYPE])
		p->without_other++;
	if (tb[SPT_A_SPACE_ROOT_PA] || tb[SPT_A_RUN_PHYS])
		p->with_pa++;
	return 0;
}

static int seq_ok(struct nl_msg *msg, void *arg)
{
	return NL_OK;
}

static int events_no_pa(void *arg)
{
	struct inherited *a = arg;
	struct spt_nl_req req = { .fn = event_pa_cb };
	struct spt_load_op op = {
		.op = SPT_LOAD_OP_READ, .width = 8, .va = SPT_TEST_VA,
	};
	struct pa_seen p = { 0 };
	struct spt_nl mon;
	struct nl_cb *cb;
	__u32 id;
	int r;

	req.arg = &p;
	if (spt_nl_monitor_open(&mon))
		CHILD_FAIL(11, "cannot join the events group as root");
	if (spt_become_nobody())
		CHILD_FAIL(10, "cannot become nobody: %s", strerror(errno));
	if (_spt_space_create(a->fd, SPT_SPACE_FD_OWNED, &id) ||
	    _spt_map(a->fd, id, SPT_MAP_4K, SPT_TEST_VA, SZ_64K, 0, 0, 0,
		     NULL) ||
	    _spt_protect(a->fd, id, 0, SPT_TEST_VA, SZ_4K, SPT_PROT_WRITE, 0,
			 NULL, NULL) ||
	    _spt_unmap(a->fd, id, SPT_TEST_VA, SZ_4K, NULL, NULL))
		CHILD_FAIL(12, "operations: %s", strerror(errno));
	/* A load window too, where there is an isolated CPU. */
	_spt_load(a->fd, id, &op, 1, NULL);
	if (_spt_space_destroy(a->fd, id))
		CHILD_FAIL(13, "destroy: %s", strerror(errno));
	cb = spt_nl_cb(&req);
	if (!cb)
		CHILD_FAIL(14, "nl_cb_alloc");
	nl_cb_set(cb, NL_CB_SEQ_CHECK, NL_CB_CUSTOM, seq_ok, NULL);
	for (;;) {
		r = nl_recvmsgs(mon.sk, cb);
		if (r == -NLE_AGAIN)
			break;
		if (r < 0 && !req.done)
			CHILD_FAIL(15, "recv: %s", nl_geterror(r));
	}
	nl_cb_put(cb);
	spt_nl_close(&mon);
	/* created, map, protect, unmap, destroyed (+ load) */
	if (p.msgs < 5 || p.without_other)
		CHILD_FAIL(16, "%lu events, %lu malformed", p.msgs,
			   p.without_other);
	if (p.with_pa)
		CHILD_FAIL(17, "%lu physical addresses in events", p.with_pa);
	return 0;
}

TEST_F(unpriv, events_without_pa)
{
	struct inherited a = { .fd = self->env.fd, .id = self->id };

	EXPECT_EQ(0, spt_run_child(events_no_pa, &a));
}

/* Join the events group after dropping privileges: refused (EPERM). */
static int events_join_refused(void *arg)
{
	int how = *(int *)arg, grp, r;
	struct spt_nl nl;

	if (how == 0 && spt_become_nobody())
		CHILD_FAIL(10, "cannot become nobody: %s", strerror(errno));
	if (how == 1 && spt_drop_effective_cap(CAP_SYS_ADMIN))
		CHILD_FAIL(10, "capset: %s", strerror(errno));
	if (spt_nl_open(&nl))
		CHILD_FAIL(11, "netlink: family not found");
	grp = genl_ctrl_resolve_grp(nl.sk, SPT_GENL_NAME,
				    SPT_GENL_MCGRP_EVENTS);
	if (grp < 0)
		CHILD_FAIL(12, "no events group: %s", nl_geterror(grp));
	r = nl_socket_add_membership(nl.sk, grp);
	if (!r)
		CHILD_FAIL(1, "joined the events group (how %d)", how);
	if (r != -NLE_PERM)
		CHILD_FAIL(2, "join: %s (want EPERM)", nl_geterror(r));
	spt_nl_close(&nl);
	return 0;
}

TEST_F(unpriv, events_join_refused_nobody)
{
	int how = 0;

	EXPECT_EQ(0, spt_run_child(events_join_refused, &how));
}

TEST_F(unpriv, events_join_refused_without_cap_sys_admin)
{
	int how = 1;

	EXPECT_EQ(0, spt_run_child(events_join_refused, &how));
}

TEST_HARNESS_MAIN
