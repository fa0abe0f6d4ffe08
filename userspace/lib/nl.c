// SPDX-License-Identifier: LGPL-2.1 OR GPL-2.0
/*
 * libshadowpt: the generic netlink family "shadowpt" through libnl-genl-3.
 * libnl delivers each message of a dump to the NL_CB_VALID callback as soon
 * as it has read it, so a dump of any length runs in constant memory. Errors
 * come back two ways: an NLMSG_ERROR (the request was refused before the
 * dump started) or the errno carried by NLMSG_DONE (the dump failed); both
 * are returned as a negative errno. A dump that the callback stops is still
 * read to its end (its other messages are dropped), so that the socket is
 * ready for the next request.
 */
#include <errno.h>
#include <poll.h>
#include <stdlib.h>
#include <string.h>
#include <netlink/netlink.h>
#include <netlink/genl/genl.h>
#include <netlink/genl/ctrl.h>

#include "libshadowpt.h"

#define SPT_EXPORT	__attribute__((visibility("default")))

typedef int (*msg_fn)(struct nlattr **tb, uint8_t cmd, void *ctx);

struct spt_nl {
	struct nl_sock *sk;
	struct nl_cb *cb;
	int family;
	/* State of the current dump or receive. */
	msg_fn fn;
	void *ctx;
	int err;	/* positive errno, 0 */
};

static int fail(int err)
{
	errno = err;
	return -err;
}

/* libnl error codes back to errno. */
static int nlerr_to_errno(int nlerr)
{
	switch (nlerr < 0 ? -nlerr : nlerr) {
	case NLE_SUCCESS:
		return 0;
	case NLE_INTR:
		return EINTR;
	case NLE_AGAIN:
		return EAGAIN;
	case NLE_NOMEM:
		return ENOMEM;
	case NLE_EXIST:
		return EEXIST;
	case NLE_INVAL:
		return EINVAL;
	case NLE_RANGE:
		return ERANGE;
	case NLE_MSGSIZE:
		return EMSGSIZE;
	case NLE_OPNOTSUPP:
		return EOPNOTSUPP;
	case NLE_OBJ_NOTFOUND:
		return ENOENT;
	case NLE_BUSY:
		return EBUSY;
	case NLE_NOACCESS:
		return EACCES;
	case NLE_PERM:
		return EPERM;
	case NLE_NODEV:
		return ENODEV;
	case NLE_SEQ_MISMATCH:
		return EPROTO;
	case NLE_MSG_TRUNC:
	case NLE_MSG_TOOSHORT:
	case NLE_MSG_OVERFLOW:
	case NLE_PARSE_ERR:
		return EBADMSG;
	default:
		return EIO;
	}
}

static bool get_u32(struct nlattr *a, uint32_t *v)
{
	*v = 0;
	if (!a || nla_len(a) < (int)sizeof(uint32_t))
		return false;
	*v = nla_get_u32(a);
	return true;
}

static bool get_u64(struct nlattr *a, uint64_t *v)
{
	*v = 0;
	if (!a || nla_len(a) < (int)sizeof(uint64_t))
		return false;
	*v = nla_get_u64(a);
	return true;
}

static int on_valid(struct nl_msg *msg, void *arg)
{
	struct spt_nl *nl = arg;
	struct nlmsghdr *nlh = nlmsg_hdr(msg);
	struct nlattr *tb[SPT_A_MAX + 1];
	struct genlmsghdr *gh;
	int ret;

	/* After an error: drain the rest of the dump. */
	if (nlh->nlmsg_type != nl->family || nl->err)
		return NL_SKIP;
	ret = genlmsg_parse(nlh, 0, tb, SPT_A_MAX, NULL);
	if (ret < 0) {
		nl->err = EBADMSG;
		return NL_SKIP;
	}
	gh = nlmsg_data(nlh);
	ret = nl->fn(tb, gh->cmd, nl->ctx);
	nl->err = ret < 0 ? -ret : ret;
	return NL_OK;
}

static int on_finish(struct nl_msg *msg, void *arg)
{
	struct spt_nl *nl = arg;
	struct nlmsghdr *nlh = nlmsg_hdr(msg);
	int e;

	/* NLMSG_DONE carries the dump's error, if any (negative errno). */
	if (nlh->nlmsg_len >= NLMSG_LENGTH(sizeof(int))) {
		memcpy(&e, nlmsg_data(nlh), sizeof(e));
		if (e < 0 && !nl->err)
			nl->err = -e;
	}
	return NL_STOP;
}

static int on_error(struct sockaddr_nl *who, struct nlmsgerr *e, void *arg)
{
	struct spt_nl *nl = arg;

	(void)who;
	nl->err = e->error < 0 ? -e->error : EIO;
	return NL_STOP;
}

static int seq_any(struct nl_msg *msg, void *arg)
{
	(void)msg;
	(void)arg;
	return NL_OK;
}

SPT_EXPORT void spt_nl_close(struct spt_nl *nl)
{
	if (!nl)
		return;
	if (nl->cb)
		nl_cb_put(nl->cb);
	if (nl->sk)
		nl_socket_free(nl->sk);
	free(nl);
}

SPT_EXPORT int spt_nl_open(struct spt_nl **out)
{
	struct spt_nl *nl;
	int ret;

	if (!out)
		return fail(EINVAL);
	nl = calloc(1, sizeof(*nl));
	if (!nl)
		return fail(ENOMEM);
	nl->sk = nl_socket_alloc();
	nl->cb = nl_cb_alloc(NL_CB_DEFAULT);
	if (!nl->sk || !nl->cb) {
		spt_nl_close(nl);
		return fail(ENOMEM);
	}
	ret = genl_connect(nl->sk);
	if (ret < 0) {
		spt_nl_close(nl);
		return fail(nlerr_to_errno(ret));
	}
	/* Read each message whole, whatever size the kernel chose. */
	nl_socket_enable_msg_peek(nl->sk);
	nl->family = genl_ctrl_resolve(nl->sk, SPT_GENL_NAME);
	if (nl->family < 0) {
		ret = nlerr_to_errno(nl->family);
		spt_nl_close(nl);
		return fail(ret);
	}
	nl_cb_set(nl->cb, NL_CB_VALID, NL_CB_CUSTOM, on_valid, nl);
	nl_cb_set(nl->cb, NL_CB_FINISH, NL_CB_CUSTOM, on_finish, nl);
	nl_cb_err(nl->cb, NL_CB_CUSTOM, on_error, nl);
	*out = nl;
	return 0;
}

SPT_EXPORT int spt_nl_fd(const struct spt_nl *nl)
{
	return nl ? nl_socket_get_fd(nl->sk) : fail(EINVAL);
}

/* Send a dump request and run it to its end. */
static int spt_do_dump(struct spt_nl *nl, uint8_t cmd, bool has_space,
		       uint32_t space_id, uint64_t from, uint64_t to,
		       msg_fn fn, void *ctx)
{
	struct nl_msg *msg;
	int ret;

	if (!nl)
		return fail(EINVAL);
	msg = nlmsg_alloc();
	if (!msg)
		return fail(ENOMEM);
	if (!genlmsg_put(msg, NL_AUTO_PORT, NL_AUTO_SEQ, nl->family, 0,
			 NLM_F_DUMP, cmd, SPT_GENL_VERSION) ||
	    (has_space && nla_put_u32(msg, SPT_A_SPACE_ID, space_id) < 0) ||
	    (from && nla_put_u64(msg, SPT_A_RUN_VA, from) < 0) ||
	    (to && nla_put_u64(msg, SPT_A_RUN_END, to) < 0)) {
		nlmsg_free(msg);
		return fail(EMSGSIZE);
	}
	ret = nl_send_auto(nl->sk, msg);
	nlmsg_free(msg);
	if (ret < 0)
		return fail(nlerr_to_errno(ret));
	nl->fn = fn;
	nl->ctx = ctx;
	nl->err = 0;
	ret = nl_recvmsgs(nl->sk, nl->cb);
	if (nl->err)
		return fail(nl->err);
	ret = nlerr_to_errno(ret);
	return ret ? fail(ret) : 0;
}

struct space_ctx {
	int (*fn)(const struct spt_space_desc *s, void *arg);
	void *arg;
};

static int space_msg(struct nlattr **tb, uint8_t cmd, void *ctx)
{
	struct space_ctx *c = ctx;
	struct spt_space_desc s;

	if (cmd != SPT_GENL_CMD_SPACE_GET)
		return 0;
	memset(&s, 0, sizeof(s));
	if (!get_u32(tb[SPT_A_SPACE_ID], &s.id))
		return -EBADMSG;
	get_u32(tb[SPT_A_SPACE_FLAGS], &s.flags);
	get_u32(tb[SPT_A_SPACE_LEVELS], &s.levels);
	get_u32(tb[SPT_A_SPACE_OWNER_PID], &s.owner_pid);
	if (get_u64(tb[SPT_A_SPACE_ROOT_PA], &s.root_pa))
		s.has |= SPT_HAS_ROOT_PA;
	get_u64(tb[SPT_A_SPACE_DATA_FRAMES], &s.data_frames);
	get_u64(tb[SPT_A_SPACE_NODE_FRAMES], &s.node_frames);
	get_u64(tb[SPT_A_SPACE_MAPPED_BYTES], &s.mapped_bytes);
	return c->fn(&s, c->arg);
}

SPT_EXPORT int spt_dump_spaces(struct spt_nl *nl,
			       int (*fn)(const struct spt_space_desc *s,
					 void *arg),
			       void *arg)
{
	struct space_ctx c = { fn, arg };

	if (!fn)
		return fail(EINVAL);
	return spt_do_dump(nl, SPT_GENL_CMD_SPACE_GET, false, 0, 0, 0,
			   space_msg, &c);
}

struct run_ctx {
	int (*fn)(const struct spt_run *r, void *arg);
	void *arg;
};

static int run_msg(struct nlattr **tb, uint8_t cmd, void *ctx)
{
	struct run_ctx *c = ctx;
	struct spt_run r;

	if (cmd != SPT_GENL_CMD_MAPPING_GET)
		return 0;
	memset(&r, 0, sizeof(r));
	if (!get_u64(tb[SPT_A_RUN_VA], &r.va) ||
	    !get_u64(tb[SPT_A_RUN_END], &r.end) || r.end < r.va)
		return -EBADMSG;
	if (get_u64(tb[SPT_A_RUN_PHYS], &r.phys))
		r.has |= SPT_HAS_PHYS;
	get_u64(tb[SPT_A_RUN_PAGES], &r.pages);
	get_u32(tb[SPT_A_RUN_LEVEL], &r.level);
	get_u32(tb[SPT_A_RUN_PROT], &r.prot);
	get_u32(tb[SPT_A_RUN_CACHE], &r.cache);
	get_u32(tb[SPT_A_RUN_FLAGS], &r.flags);
	return c->fn(&r, c->arg);
}

SPT_EXPORT int spt_dump_mappings(struct spt_nl *nl, uint32_t space_id,
				 uint64_t from, uint64_t to,
				 int (*fn)(const struct spt_run *r, void *arg),
				 void *arg)
{
	struct run_ctx c = { fn, arg };

	if (!fn)
		return fail(EINVAL);
	return spt_do_dump(nl, SPT_GENL_CMD_MAPPING_GET, true, space_id, from,
			   to, run_msg, &c);
}

SPT_EXPORT int spt_nl_subscribe(struct spt_nl *nl)
{
	int grp, ret;

	if (!nl)
		return fail(EINVAL);
	grp = genl_ctrl_resolve_grp(nl->sk, SPT_GENL_NAME,
				    SPT_GENL_MCGRP_EVENTS);
	if (grp < 0)
		return fail(nlerr_to_errno(grp));
	/* Events carry no sequence number of ours. */
	nl_cb_set(nl->cb, NL_CB_SEQ_CHECK, NL_CB_CUSTOM, seq_any, NULL);
	ret = nl_socket_add_membership(nl->sk, grp);
	if (ret < 0)
		return fail(nlerr_to_errno(ret));
	/* Room for bursts (a script mapping in a loop). */
	nl_socket_set_buffer_size(nl->sk, 4 << 20, 0);
	ret = nl_socket_set_nonblocking(nl->sk);
	if (ret < 0)
		return fail(nlerr_to_errno(ret));
	return 0;
}

struct event_ctx {
	int (*fn)(const struct spt_event *e, void *arg);
	void *arg;
};

static int event_msg(struct nlattr **tb, uint8_t cmd, void *ctx)
{
	struct event_ctx *c = ctx;
	struct spt_event e;

	if (cmd != SPT_GENL_CMD_EVENT)
		return 0;
	memset(&e, 0, sizeof(e));
	if (!get_u32(tb[SPT_A_EVENT_TYPE], &e.type))
		return -EBADMSG;
	get_u32(tb[SPT_A_SPACE_ID], &e.space_id);
	get_u64(tb[SPT_A_EVENT_VA], &e.va);
	get_u64(tb[SPT_A_EVENT_LEN], &e.len);
	get_u64(tb[SPT_A_EVENT_COUNT], &e.count);
	get_u32(tb[SPT_A_EVENT_ERRNO], &e.err);
	get_u32(tb[SPT_A_EVENT_PID], &e.pid);
	get_u32(tb[SPT_A_EVENT_CPU], &e.cpu);
	get_u32(tb[SPT_A_EVENT_FAULTS], &e.faults);
	get_u32(tb[SPT_A_EVENT_STATUS], &e.status);
	return c->fn(&e, c->arg);
}

SPT_EXPORT int spt_nl_events(struct spt_nl *nl,
			     int (*fn)(const struct spt_event *e, void *arg),
			     void *arg)
{
	struct event_ctx c = { fn, arg };
	int ret;

	if (!nl || !fn)
		return fail(EINVAL);
	nl->fn = event_msg;
	nl->ctx = &c;
	nl->err = 0;
	errno = 0;
	ret = nl_recvmsgs(nl->sk, nl->cb);
	if (nl->err)
		return fail(nl->err);
	/* libnl folds ENOBUFS (messages dropped) into NLE_NOMEM. */
	if (ret == -NLE_NOMEM && errno == ENOBUFS)
		return fail(ENOBUFS);
	ret = ret < 0 ? nlerr_to_errno(ret) : 0;
	return ret ? fail(ret) : 0;
}

SPT_EXPORT int spt_nl_wait(struct spt_nl *nl, int timeout_ms)
{
	struct pollfd pfd = { .events = POLLIN };
	int n;

	if (!nl)
		return fail(EINVAL);
	pfd.fd = nl_socket_get_fd(nl->sk);
	n = poll(&pfd, 1, timeout_ms);
	if (n < 0)
		return fail(errno);
	return n ? 1 : 0;
}

static const char *const event_names[] = {
	[SPT_EVENT_SPACE_CREATED] = "space_created",
	[SPT_EVENT_SPACE_DESTROYED] = "space_destroyed",
	[SPT_EVENT_MAP] = "map",
	[SPT_EVENT_UNMAP] = "unmap",
	[SPT_EVENT_PROTECT] = "protect",
	[SPT_EVENT_LOAD] = "load",
};

SPT_EXPORT const char *spt_event_name(uint32_t type)
{
	if (type >= sizeof(event_names) / sizeof(event_names[0]))
		return NULL;
	return event_names[type];
}
