// SPDX-License-Identifier: GPL-2.0
/*
 * Generic netlink for sptctl. libnl delivers each message of a dump to the
 * NL_CB_VALID callback as soon as it has read it, so a dump of any length
 * runs in constant memory. Errors come back two ways: an NLMSG_ERROR (the
 * request was refused before the dump started) or the errno carried by
 * NLMSG_DONE (the dump callback failed); both are turned into a positive
 * errno.
 */
#include <errno.h>
#include <string.h>
#include <netlink/netlink.h>
#include <netlink/genl/genl.h>
#include <netlink/genl/ctrl.h>

#include "nl.h"
#include "util.h"

struct spt_nl {
	struct nl_sock *sk;
	struct nl_cb *cb;
	int family;
	/* State of the current dump or receive. */
	spt_nl_fn fn;
	void *arg;
	int err;	/* positive errno, 0 */
};

/* libnl error codes back to errno, for messages. */
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

bool spt_nla_u32(struct nlattr *a, uint32_t *v)
{
	*v = 0;
	if (!a || nla_len(a) < (int)sizeof(uint32_t))
		return false;
	*v = nla_get_u32(a);
	return true;
}

bool spt_nla_u64(struct nlattr *a, uint64_t *v)
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

	if (nlh->nlmsg_type != nl->family)
		return NL_SKIP;
	ret = genlmsg_parse(nlh, 0, tb, SPT_A_MAX, NULL);
	if (ret < 0) {
		nl->err = EBADMSG;
		return NL_STOP;
	}
	gh = nlmsg_data(nlh);
	nl->err = nl->fn(tb, gh->cmd, nl->arg);
	return nl->err ? NL_STOP : NL_OK;
}

static int on_finish(struct nl_msg *msg, void *arg)
{
	struct spt_nl *nl = arg;
	struct nlmsghdr *nlh = nlmsg_hdr(msg);
	int e;

	/* NLMSG_DONE carries the dump's error, if any (negative errno). */
	if (nlh->nlmsg_len >= NLMSG_LENGTH(sizeof(int))) {
		memcpy(&e, nlmsg_data(nlh), sizeof(e));
		if (e < 0)
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

struct spt_nl *spt_nl_open(void)
{
	struct spt_nl *nl = xmalloc(sizeof(*nl));
	int ret;

	memset(nl, 0, sizeof(*nl));
	nl->sk = nl_socket_alloc();
	nl->cb = nl_cb_alloc(NL_CB_DEFAULT);
	if (!nl->sk || !nl->cb)
		die(ENOMEM, "netlink socket");
	ret = genl_connect(nl->sk);
	if (ret < 0)
		die(nlerr_to_errno(ret), "netlink connect");
	/* Read each message whole, whatever size the kernel chose. */
	nl_socket_enable_msg_peek(nl->sk);
	nl->family = genl_ctrl_resolve(nl->sk, SPT_GENL_NAME);
	if (nl->family < 0)
		die(nlerr_to_errno(nl->family),
		    "generic netlink family \"%s\" (is shadowpt loaded?)",
		    SPT_GENL_NAME);
	nl_cb_set(nl->cb, NL_CB_VALID, NL_CB_CUSTOM, on_valid, nl);
	nl_cb_set(nl->cb, NL_CB_FINISH, NL_CB_CUSTOM, on_finish, nl);
	nl_cb_err(nl->cb, NL_CB_CUSTOM, on_error, nl);
	return nl;
}

void spt_nl_close(struct spt_nl *nl)
{
	nl_cb_put(nl->cb);
	nl_socket_free(nl->sk);
	free(nl);
}

int spt_nl_dump(struct spt_nl *nl, uint8_t cmd, const struct spt_nl_req *req,
		spt_nl_fn fn, void *arg)
{
	struct nl_msg *msg = nlmsg_alloc();
	int ret;

	if (!msg)
		return ENOMEM;
	if (!genlmsg_put(msg, NL_AUTO_PORT, NL_AUTO_SEQ, nl->family, 0,
			 NLM_F_DUMP, cmd, SPT_GENL_VERSION) ||
	    (req->has_space &&
	     nla_put_u32(msg, SPT_A_SPACE_ID, req->space_id) < 0) ||
	    (req->has_from && nla_put_u64(msg, SPT_A_RUN_VA, req->from) < 0) ||
	    (req->has_to && nla_put_u64(msg, SPT_A_RUN_END, req->to) < 0)) {
		nlmsg_free(msg);
		return EMSGSIZE;
	}
	ret = nl_send_auto(nl->sk, msg);
	nlmsg_free(msg);
	if (ret < 0)
		return nlerr_to_errno(ret);
	nl->fn = fn;
	nl->arg = arg;
	nl->err = 0;
	ret = nl_recvmsgs(nl->sk, nl->cb);
	if (nl->err)
		return nl->err;
	return nlerr_to_errno(ret);
}

int spt_nl_subscribe(struct spt_nl *nl, const char *group, spt_nl_fn fn,
		     void *arg)
{
	int grp = genl_ctrl_resolve_grp(nl->sk, SPT_GENL_NAME, group);
	int ret;

	if (grp < 0)
		return nlerr_to_errno(grp);
	/* Events carry no sequence number of ours (set on our cb). */
	nl_cb_set(nl->cb, NL_CB_SEQ_CHECK, NL_CB_CUSTOM, seq_any, NULL);
	ret = nl_socket_add_membership(nl->sk, grp);
	if (ret < 0)
		return nlerr_to_errno(ret);
	/* Room for bursts (a script mapping in a loop). */
	nl_socket_set_buffer_size(nl->sk, 4 << 20, 0);
	ret = nl_socket_set_nonblocking(nl->sk);
	if (ret < 0)
		return nlerr_to_errno(ret);
	nl->fn = fn;
	nl->arg = arg;
	return 0;
}

int spt_nl_fd(struct spt_nl *nl)
{
	return nl_socket_get_fd(nl->sk);
}

int spt_nl_recv(struct spt_nl *nl)
{
	int ret;

	nl->err = 0;
	errno = 0;
	ret = nl_recvmsgs(nl->sk, nl->cb);
	if (nl->err)
		return nl->err;
	/* libnl folds ENOBUFS (messages dropped) into NLE_NOMEM. */
	if (ret == -NLE_NOMEM && errno == ENOBUFS)
		return ENOBUFS;
	return ret < 0 ? nlerr_to_errno(ret) : 0;
}
