/* SPDX-License-Identifier: GPL-2.0 */
/*
 * Generic netlink helpers (libnl-genl-3) for the shadowpt selftests: one
 * request function that sends a command (do or dump) and hands every reply
 * to a callback, parsers for the three kinds of messages (space, run,
 * event), and an event monitor socket.
 */
#ifndef SHADOWPT_SELFTEST_NL_H
#define SHADOWPT_SELFTEST_NL_H

#include <netlink/netlink.h>
#include <netlink/genl/genl.h>
#include <netlink/genl/ctrl.h>
#include <netlink/msg.h>
#include <netlink/attr.h>

#include "shadowpt_utils.h"

struct spt_nl {
	struct nl_sock *sk;
	int family;
};

struct spt_nl_space {
	__u32 id, flags, levels, owner_pid;
	__u64 root_pa, data_frames, node_frames, mapped_bytes;
};

struct spt_nl_run {
	__u64 va, end, phys, pages;
	__u32 level, prot, cache, flags;
};

struct spt_nl_event {
	__u32 type, space_id, pid;
	bool has_range;		/* map/unmap/protect: va, len, count, err */
	__u32 err;
	__u64 va, len, count;
	bool has_load;		/* load window: cpu, count, faults, status */
	__u32 cpu, faults, status;
};

/* Optional attributes of a request. */
struct spt_nl_args {
	bool has_id;
	__u32 id;
	bool has_flags;
	__u32 flags;
	bool has_va, has_end;
	__u64 va, end;
};

/* Called for each reply; non-zero stops the request (returned). */
typedef int (*spt_nl_fn)(struct nlattr **tb, __u8 cmd, void *arg);

static inline void spt_nl_close(struct spt_nl *nl)
{
	if (nl->sk)
		nl_socket_free(nl->sk);
	nl->sk = NULL;
}

/* 0, or -1 (no socket, or no "shadowpt" family: module not loaded). */
static inline int spt_nl_open(struct spt_nl *nl)
{
	nl->sk = nl_socket_alloc();
	if (!nl->sk)
		return -1;
	if (genl_connect(nl->sk))
		goto err;
	nl_socket_set_buffer_size(nl->sk, 4 << 20, 0);
	nl_socket_set_msg_buf_size(nl->sk, 64 << 10);
	nl_socket_enable_msg_peek(nl->sk);
	nl->family = genl_ctrl_resolve(nl->sk, SPT_GENL_NAME);
	if (nl->family < 0)
		goto err;
	return 0;
err:
	spt_nl_close(nl);
	return -1;
}

struct spt_nl_req {
	spt_nl_fn fn;
	void *arg;
	bool done;
	int err;	/* negative errno from the kernel */
	int stop;	/* what fn returned */
	unsigned long nr_msgs;
};

static int spt_nl_valid_cb(struct nl_msg *msg, void *arg)
{
	struct spt_nl_req *req = arg;
	struct nlmsghdr *nlh = nlmsg_hdr(msg);
	struct genlmsghdr *gnlh = nlmsg_data(nlh);
	struct nlattr *tb[SPT_A_MAX + 1];

	if (genlmsg_parse(nlh, 0, tb, SPT_A_MAX, NULL)) {
		req->err = -EBADMSG;
		req->done = true;
		return NL_STOP;
	}
	req->nr_msgs++;
	if (req->fn) {
		req->stop = req->fn(tb, gnlh->cmd, req->arg);
		if (req->stop) {
			req->done = true;
			return NL_STOP;
		}
	}
	return NL_OK;
}

static int spt_nl_finish_cb(struct nl_msg *msg, void *arg)
{
	struct spt_nl_req *req = arg;
	struct nlmsghdr *nlh = nlmsg_hdr(msg);

	/* A dump that failed carries the error in its DONE message. */
	if (nlmsg_datalen(nlh) >= (int)sizeof(int)) {
		int e = *(int *)nlmsg_data(nlh);

		if (e < 0)
			req->err = e;
	}
	req->done = true;
	return NL_STOP;
}

static int spt_nl_ack_cb(struct nl_msg *msg, void *arg)
{
	struct spt_nl_req *req = arg;

	req->done = true;
	return NL_STOP;
}

static int spt_nl_err_cb(struct sockaddr_nl *nla, struct nlmsgerr *e,
			 void *arg)
{
	struct spt_nl_req *req = arg;

	req->err = e->error;
	req->done = true;
	return NL_STOP;
}

static inline struct nl_cb *spt_nl_cb(struct spt_nl_req *req)
{
	struct nl_cb *cb = nl_cb_alloc(NL_CB_DEFAULT);

	if (!cb)
		return NULL;
	nl_cb_set(cb, NL_CB_VALID, NL_CB_CUSTOM, spt_nl_valid_cb, req);
	nl_cb_set(cb, NL_CB_FINISH, NL_CB_CUSTOM, spt_nl_finish_cb, req);
	nl_cb_set(cb, NL_CB_ACK, NL_CB_CUSTOM, spt_nl_ack_cb, req);
	nl_cb_err(cb, NL_CB_CUSTOM, spt_nl_err_cb, req);
	return cb;
}

/*
 * Send @cmd (with NLM_F_DUMP in @flags for a dump) and run @fn on every
 * reply until the kernel is done. Returns 0, the kernel's -errno, what @fn
 * returned if it stopped the request, or -EIO for a local failure.
 * *@nr_msgs (if non-NULL) receives the number of replies.
 */
static inline int spt_nl_request(struct spt_nl *nl, __u8 cmd, int flags,
				 const struct spt_nl_args *a, spt_nl_fn fn,
				 void *arg, unsigned long *nr_msgs)
{
	struct spt_nl_req req = { .fn = fn, .arg = arg };
	struct nl_msg *msg;
	struct nl_cb *cb;
	int ret = -EIO;

	msg = nlmsg_alloc();
	if (!msg)
		return -EIO;
	if (!genlmsg_put(msg, NL_AUTO_PORT, NL_AUTO_SEQ, nl->family, 0, flags,
			 cmd, SPT_GENL_VERSION))
		goto out_msg;
	if (a && a->has_id && nla_put_u32(msg, SPT_A_SPACE_ID, a->id))
		goto out_msg;
	if (a && a->has_flags && nla_put_u32(msg, SPT_A_SPACE_FLAGS, a->flags))
		goto out_msg;
	if (a && a->has_va && nla_put_u64(msg, SPT_A_RUN_VA, a->va))
		goto out_msg;
	if (a && a->has_end && nla_put_u64(msg, SPT_A_RUN_END, a->end))
		goto out_msg;
	cb = spt_nl_cb(&req);
	if (!cb)
		goto out_msg;
	if (nl_send_auto(nl->sk, msg) < 0)
		goto out_cb;
	while (!req.done) {
		int r = nl_recvmsgs(nl->sk, cb);

		if (r < 0 && !req.done) {
			req.err = -EIO;
			break;
		}
	}
	ret = req.stop ? req.stop : req.err;
	if (nr_msgs)
		*nr_msgs = req.nr_msgs;
out_cb:
	nl_cb_put(cb);
out_msg:
	nlmsg_free(msg);
	return ret;
}

static inline __u32 spt_nla_u32(struct nlattr **tb, int a, bool *ok)
{
	if (!tb[a]) {
		*ok = false;
		return 0;
	}
	return nla_get_u32(tb[a]);
}

static inline __u64 spt_nla_u64(struct nlattr **tb, int a, bool *ok)
{
	if (!tb[a]) {
		*ok = false;
		return 0;
	}
	return nla_get_u64(tb[a]);
}

/* Parsers: 0, or -1 if an attribute is missing. */
static inline int spt_nl_parse_space(struct nlattr **tb, struct spt_nl_space *s)
{
	bool ok = true;

	s->id = spt_nla_u32(tb, SPT_A_SPACE_ID, &ok);
	s->flags = spt_nla_u32(tb, SPT_A_SPACE_FLAGS, &ok);
	s->levels = spt_nla_u32(tb, SPT_A_SPACE_LEVELS, &ok);
	s->owner_pid = spt_nla_u32(tb, SPT_A_SPACE_OWNER_PID, &ok);
	s->root_pa = spt_nla_u64(tb, SPT_A_SPACE_ROOT_PA, &ok);
	s->data_frames = spt_nla_u64(tb, SPT_A_SPACE_DATA_FRAMES, &ok);
	s->node_frames = spt_nla_u64(tb, SPT_A_SPACE_NODE_FRAMES, &ok);
	s->mapped_bytes = spt_nla_u64(tb, SPT_A_SPACE_MAPPED_BYTES, &ok);
	return ok ? 0 : -1;
}

static inline int spt_nl_parse_run(struct nlattr **tb, struct spt_nl_run *r)
{
	bool ok = true;

	r->va = spt_nla_u64(tb, SPT_A_RUN_VA, &ok);
	r->end = spt_nla_u64(tb, SPT_A_RUN_END, &ok);
	r->phys = spt_nla_u64(tb, SPT_A_RUN_PHYS, &ok);
	r->pages = spt_nla_u64(tb, SPT_A_RUN_PAGES, &ok);
	r->level = spt_nla_u32(tb, SPT_A_RUN_LEVEL, &ok);
	r->prot = spt_nla_u32(tb, SPT_A_RUN_PROT, &ok);
	r->cache = spt_nla_u32(tb, SPT_A_RUN_CACHE, &ok);
	r->flags = spt_nla_u32(tb, SPT_A_RUN_FLAGS, &ok);
	return ok ? 0 : -1;
}

static inline int spt_nl_parse_event(struct nlattr **tb, struct spt_nl_event *e)
{
	bool ok = true;

	bool r = true, l = true;

	memset(e, 0, sizeof(*e));
	e->type = spt_nla_u32(tb, SPT_A_EVENT_TYPE, &ok);
	e->space_id = spt_nla_u32(tb, SPT_A_SPACE_ID, &ok);
	e->pid = spt_nla_u32(tb, SPT_A_EVENT_PID, &ok);
	e->va = spt_nla_u64(tb, SPT_A_EVENT_VA, &r);
	e->len = spt_nla_u64(tb, SPT_A_EVENT_LEN, &r);
	e->err = spt_nla_u32(tb, SPT_A_EVENT_ERRNO, &r);
	e->count = tb[SPT_A_EVENT_COUNT] ?
		   nla_get_u64(tb[SPT_A_EVENT_COUNT]) : 0;
	e->cpu = spt_nla_u32(tb, SPT_A_EVENT_CPU, &l);
	e->faults = spt_nla_u32(tb, SPT_A_EVENT_FAULTS, &l);
	e->status = spt_nla_u32(tb, SPT_A_EVENT_STATUS, &l);
	e->has_range = r && tb[SPT_A_EVENT_COUNT];
	e->has_load = l && tb[SPT_A_EVENT_COUNT];
	return ok ? 0 : -1;
}

/* Growable arrays filled by the dump callbacks. */
struct spt_nl_spaces {
	struct spt_nl_space *v;
	size_t nr, cap;
	bool bad;
};

static int spt_nl_space_cb(struct nlattr **tb, __u8 cmd, void *arg)
{
	struct spt_nl_spaces *l = arg;

	if (cmd != SPT_GENL_CMD_SPACE_GET)
		l->bad = true;
	if (l->nr == l->cap) {
		size_t cap = l->cap ? 2 * l->cap : 64;
		void *v = realloc(l->v, cap * sizeof(*l->v));

		if (!v)
			return -ENOMEM;
		l->v = v;
		l->cap = cap;
	}
	if (spt_nl_parse_space(tb, &l->v[l->nr]))
		l->bad = true;
	l->nr++;
	return 0;
}

/* SPACE_GET dump (or do, with @id != 0) into @l. */
static inline int spt_nl_spaces_get(struct spt_nl *nl, __u32 id,
				    struct spt_nl_spaces *l)
{
	struct spt_nl_args a = { .has_id = id != 0, .id = id };

	memset(l, 0, sizeof(*l));
	return spt_nl_request(nl, SPT_GENL_CMD_SPACE_GET, id ? 0 : NLM_F_DUMP,
			      &a, spt_nl_space_cb, l, NULL);
}

static inline const struct spt_nl_space *
spt_nl_spaces_find(const struct spt_nl_spaces *l, __u32 id)
{
	size_t i;

	for (i = 0; i < l->nr; i++)
		if (l->v[i].id == id)
			return &l->v[i];
	return NULL;
}

struct spt_nl_runs {
	struct spt_nl_run *v;
	size_t nr, cap;
	bool bad;
};

static int spt_nl_run_cb(struct nlattr **tb, __u8 cmd, void *arg)
{
	struct spt_nl_runs *l = arg;

	if (cmd != SPT_GENL_CMD_MAPPING_GET)
		l->bad = true;
	if (l->nr == l->cap) {
		size_t cap = l->cap ? 2 * l->cap : 256;
		void *v = realloc(l->v, cap * sizeof(*l->v));

		if (!v)
			return -ENOMEM;
		l->v = v;
		l->cap = cap;
	}
	if (spt_nl_parse_run(tb, &l->v[l->nr]))
		l->bad = true;
	l->nr++;
	return 0;
}

/* MAPPING_GET dump of space @id, optionally bounded by [va, end). */
static inline int spt_nl_runs_get(struct spt_nl *nl, __u32 id, bool bounded,
				  __u64 va, __u64 end, struct spt_nl_runs *l)
{
	struct spt_nl_args a = {
		.has_id = true, .id = id,
		.has_va = bounded, .va = va, .has_end = bounded, .end = end,
	};

	memset(l, 0, sizeof(*l));
	return spt_nl_request(nl, SPT_GENL_CMD_MAPPING_GET, NLM_F_DUMP, &a,
			      spt_nl_run_cb, l, NULL);
}

/* ---------------------------------------------------------------------
 * Event monitor: a second socket in the "events" group, non-blocking.
 */

static inline int spt_nl_monitor_open(struct spt_nl *nl)
{
	int grp;

	if (spt_nl_open(nl))
		return -1;
	grp = genl_ctrl_resolve_grp(nl->sk, SPT_GENL_NAME,
				    SPT_GENL_MCGRP_EVENTS);
	if (grp < 0 || nl_socket_add_membership(nl->sk, grp)) {
		spt_nl_close(nl);
		return -1;
	}
	nl_socket_disable_seq_check(nl->sk);
	nl_socket_set_nonblocking(nl->sk);
	return 0;
}

static int spt_nl_seq_ok_cb(struct nl_msg *msg, void *arg)
{
	return NL_OK;
}

struct spt_nl_events {
	struct spt_nl_event v[256];
	size_t nr;
	bool bad;
};

static int spt_nl_event_cb(struct nlattr **tb, __u8 cmd, void *arg)
{
	struct spt_nl_events *l = arg;

	if (cmd != SPT_GENL_CMD_EVENT) {
		l->bad = true;
		return 0;
	}
	if (l->nr == sizeof(l->v) / sizeof(l->v[0])) {
		l->bad = true;
		return 0;
	}
	if (spt_nl_parse_event(tb, &l->v[l->nr]))
		l->bad = true;
	l->nr++;
	return 0;
}

/*
 * Read every event queued on the monitor socket (events are queued
 * synchronously by the operation that caused them). Returns 0, or the
 * negative libnl error (see nl_geterror()) or errno from the kernel.
 */
static inline int spt_nl_monitor_drain(struct spt_nl *nl,
				       struct spt_nl_events *l)
{
	struct spt_nl_req req = { .fn = spt_nl_event_cb, .arg = l };
	struct nl_cb *cb = spt_nl_cb(&req);
	int r;

	if (!cb)
		return -1;
	/* Multicast messages carry no sequence number of ours. */
	nl_cb_set(cb, NL_CB_SEQ_CHECK, NL_CB_CUSTOM, spt_nl_seq_ok_cb, NULL);
	for (;;) {
		req.done = false;
		r = nl_recvmsgs(nl->sk, cb);
		if (r == -NLE_AGAIN)
			break;
		if (r < 0 && !req.done) {
			nl_cb_put(cb);
			return r;
		}
		if (req.err) {
			nl_cb_put(cb);
			return req.err;
		}
	}
	nl_cb_put(cb);
	return 0;
}

#endif /* SHADOWPT_SELFTEST_NL_H */
