// SPDX-License-Identifier: GPL-2.0
/*
 * The "shadowpt" generic netlink family: the list of spaces, the mappings
 * of a space as merged runs (streamed: a dump resumes where the previous
 * message filled up, so a space with a million mappings never needs one
 * giant buffer), create/destroy for admins, and the "events" multicast
 * group (admins only too).
 *
 * Privilege: everything that changes state, and the events, need
 * CAP_SYS_ADMIN, the capability that opening /dev/shadowpt needs (not
 * CAP_NET_ADMIN: GENL_ADMIN_PERM is not used). Dumps are open to everyone
 * and cheap to ask for: every message is produced with bounded work, in
 * slices of a space of at most 2 MiB under one read cursor each, with
 * rescheduling between slices; and the family runs its commands without
 * genl_mutex (parallel_ops: nothing here relies on it).
 */
#include <linux/kernel.h>
#include <linux/sizes.h>
#include <linux/capability.h>
#include <net/genetlink.h>
#include <net/netlink.h>
#include <linux/shadowpt.h>

#include "shadowpt.h"
#include "compat.h"
#include "space.h"
#include "space_events.h"
#include "genl.h"
#include "prop.h"
#include "merged_runs.h"
#include "failinject.h"

static struct genl_family spt_genl_family;

enum { SPT_GENL_MCGRP_EVENTS_ID };

static const struct genl_multicast_group spt_genl_mcgrps[] = {
	[SPT_GENL_MCGRP_EVENTS_ID] = {
		.name = SPT_GENL_MCGRP_EVENTS,
		.flags = GENL_MCAST_CAP_SYS_ADMIN,
	},
};

static const struct nla_policy spt_genl_policy[SPT_A_MAX + 1] = {
	[SPT_A_SPACE_ID] = { .type = NLA_U32 },
	[SPT_A_SPACE_FLAGS] = { .type = NLA_U32 },
	[SPT_A_RUN_VA] = { .type = NLA_U64 },
	[SPT_A_RUN_END] = { .type = NLA_U64 },
};

/*
 * CAP_SYS_ADMIN, of the sender and of the socket's opener: the capability
 * that opening /dev/shadowpt needs. It is needed for state changes, and
 * physical addresses (root, run starts) go only to callers with it: the
 * dumps stay readable by everyone, without them.
 */
static bool spt_genl_admin(const struct sk_buff *skb)
{
	return netlink_capable(skb, CAP_SYS_ADMIN);
}

static bool spt_genl_show_pa(const struct sk_buff *skb)
{
	return spt_genl_admin(skb);
}

/*
 * Slices (of at most 2 MiB, see space_ops.c) a dump walks for one
 * message: it stops there once the message holds something.
 */
#define SPT_GENL_DUMP_SLICES	64

/* One SPACE_GET message. */
static int spt_genl_fill_space(struct sk_buff *skb, struct spt_space *s,
			       u32 portid, u32 seq, int flags, bool show_pa)
{
	struct spt_pt_counts counts;
	struct spt_space_snap snap;
	u64 bytes = 0;
	unsigned int i;
	void *hdr;

	/* From the table's counters: O(1). */
	spt_space_counts(s, &counts);
	spt_space_snap(s, &snap);
	for (i = 0; i < SPT_MAX_LEAF_LEVEL; i++)
		bytes += counts.leaves[i] * spt_level_size(i + 1);

	hdr = genlmsg_put(skb, portid, seq, &spt_genl_family, flags,
			  SPT_GENL_CMD_SPACE_GET);
	if (!hdr)
		return -EMSGSIZE;
	if (nla_put_u32(skb, SPT_A_SPACE_ID, snap.id) ||
	    nla_put_u32(skb, SPT_A_SPACE_FLAGS, snap.flags) ||
	    nla_put_u32(skb, SPT_A_SPACE_LEVELS, snap.levels) ||
	    (show_pa && nla_put_u64_64bit(skb, SPT_A_SPACE_ROOT_PA,
					  snap.root_pa, SPT_A_PAD)) ||
	    nla_put_u32(skb, SPT_A_SPACE_OWNER_PID, snap.owner_pid) ||
	    nla_put_u64_64bit(skb, SPT_A_SPACE_DATA_FRAMES,
			      snap.data_frames, SPT_A_PAD) ||
	    nla_put_u64_64bit(skb, SPT_A_SPACE_NODE_FRAMES,
			      snap.node_frames, SPT_A_PAD) ||
	    nla_put_u64_64bit(skb, SPT_A_SPACE_MAPPED_BYTES, bytes,
			      SPT_A_PAD)) {
		genlmsg_cancel(skb, hdr);
		return -EMSGSIZE;
	}
	genlmsg_end(skb, hdr);
	return 0;
}

/* cb->args: [0] next space id to look at, [1] set once complete. */
static int spt_genl_space_dump(struct sk_buff *skb, struct netlink_callback *cb)
{
	u32 id = max_t(u32, cb->args[0], 1);
	bool show_pa = spt_genl_show_pa(cb->skb);
	struct spt_space *s;

	if (cb->args[1])
		return 0;
	while ((s = spt_space_next(&id))) {
		int ret = spt_genl_fill_space(skb, s,
					      NETLINK_CB(cb->skb).portid,
					      cb->nlh->nlmsg_seq, NLM_F_MULTI,
					      show_pa);

		spt_space_put(s);
		if (ret) {
			cb->args[0] = id;
			return skb->len;
		}
		if (id == U32_MAX)
			break;
		id++;
	}
	cb->args[1] = 1;
	return skb->len;
}

static int spt_genl_space_get(struct sk_buff *skb, struct genl_info *info)
{
	struct spt_space *s;
	struct sk_buff *msg;
	int ret;

	if (!info->attrs[SPT_A_SPACE_ID])
		return -EINVAL;
	s = spt_space_get(nla_get_u32(info->attrs[SPT_A_SPACE_ID]));
	if (!s)
		return -ENOENT;
	ret = -ENOMEM;
	msg = spt_genlmsg_new(NLMSG_DEFAULT_SIZE, GFP_KERNEL);
	if (!msg)
		goto out;
	ret = spt_genl_fill_space(msg, s, info->snd_portid, info->snd_seq, 0,
				  spt_genl_show_pa(skb));
	if (ret) {
		nlmsg_free(msg);
		goto out;
	}
	ret = genlmsg_reply(msg, info);
out:
	spt_space_put(s);
	return ret;
}

struct spt_dump_ctx {
	struct sk_buff *skb;
	struct netlink_callback *cb;
	bool show_pa;
};

/* spt_merged_runs_walk() emit: one message per run; 1 when the skb is full. */
static int spt_genl_put_run(const struct spt_run *r, void *arg)
{
	struct spt_dump_ctx *d = arg;
	void *hdr;

	hdr = genlmsg_put(d->skb, NETLINK_CB(d->cb->skb).portid,
			  d->cb->nlh->nlmsg_seq, &spt_genl_family, NLM_F_MULTI,
			  SPT_GENL_CMD_MAPPING_GET);
	if (!hdr)
		return 1;
	if (nla_put_u64_64bit(d->skb, SPT_A_RUN_VA, r->va, SPT_A_PAD) ||
	    nla_put_u64_64bit(d->skb, SPT_A_RUN_END, r->end, SPT_A_PAD) ||
	    (d->show_pa &&
	     nla_put_u64_64bit(d->skb, SPT_A_RUN_PHYS, r->phys, SPT_A_PAD)) ||
	    nla_put_u32(d->skb, SPT_A_RUN_LEVEL, r->level) ||
	    nla_put_u32(d->skb, SPT_A_RUN_PROT, r->prot) ||
	    nla_put_u32(d->skb, SPT_A_RUN_CACHE, r->cache) ||
	    nla_put_u32(d->skb, SPT_A_RUN_FLAGS, r->flags) ||
	    nla_put_u64_64bit(d->skb, SPT_A_RUN_PAGES, r->pages, SPT_A_PAD)) {
		genlmsg_cancel(d->skb, hdr);
		return 1;
	}
	genlmsg_end(d->skb, hdr);
	return 0;
}

/*
 * A MAPPING_GET dump between messages (cb->args[0]): the walk resumes at
 * @va with @run pending, so that no message walks again what an earlier
 * one walked.
 */
struct spt_genl_map_dump {
	u64 va, end;		/* where the walk resumes; the dump's end */
	struct spt_run run;	/* pending (not yet sent) */
	u32 id;
	bool show_pa, complete;
};

static int spt_genl_mapping_start(struct netlink_callback *cb)
{
	struct nlattr **attrs = spt_genl_dump_attrs(cb);
	u64 end = spt_cfg_user_end(&spt_machine_cfg);
	struct spt_genl_map_dump *m;

	if (!attrs[SPT_A_SPACE_ID])
		return -EINVAL;
	m = spt_kzalloc(sizeof(*m), GFP_KERNEL);
	if (!m)
		return -ENOMEM;
	m->id = nla_get_u32(attrs[SPT_A_SPACE_ID]);
	m->va = attrs[SPT_A_RUN_VA] ?
		ALIGN_DOWN(nla_get_u64(attrs[SPT_A_RUN_VA]), PAGE_SIZE) : 0;
	if (attrs[SPT_A_RUN_END] && nla_get_u64(attrs[SPT_A_RUN_END]) < end)
		end = ALIGN(nla_get_u64(attrs[SPT_A_RUN_END]), PAGE_SIZE);
	m->end = end;
	m->show_pa = spt_genl_show_pa(cb->skb);
	cb->args[0] = (long)m;
	return 0;
}

static int spt_genl_mapping_done(struct netlink_callback *cb)
{
	kfree((void *)cb->args[0]);
	return 0;
}

static int spt_genl_mapping_dump(struct sk_buff *skb,
				 struct netlink_callback *cb)
{
	struct spt_genl_map_dump *m = (void *)cb->args[0];
	struct spt_dump_ctx d = {
		.skb = skb, .cb = cb, .show_pa = m->show_pa,
	};
	struct spt_space *s;
	int ret;

	if (m->complete)
		return 0;
	s = spt_space_get(m->id);
	if (!s)
		return -ENOENT;
	/*
	 * A bounded number of slices per message, but never an empty
	 * message before the end (that would end the dump): a run is
	 * complete within SPT_RUN_MAX_PAGES leaves.
	 */
	do {
		ret = spt_merged_runs_walk(s, &m->va, m->end, &m->run,
					   SPT_GENL_DUMP_SLICES,
					   spt_genl_put_run, &d);
	} while (ret == -EAGAIN && !skb->len);
	if (ret == 1 || ret == -EAGAIN)
		ret = 0;	/* message full, or enough: more to come */
	else if (!ret)
		m->complete = true;
	spt_space_put(s);
	return ret ? ret : skb->len;
}

static int spt_genl_space_new(struct sk_buff *skb, struct genl_info *info)
{
	u32 flags = info->attrs[SPT_A_SPACE_FLAGS] ?
		    nla_get_u32(info->attrs[SPT_A_SPACE_FLAGS]) : 0;
	struct spt_space *s;
	struct sk_buff *msg;
	int ret;

	if (!spt_genl_admin(skb))
		return -EPERM;
	/* A netlink socket owns no space: only id-owned spaces here. */
	if (flags)
		return -EINVAL;
	msg = spt_genlmsg_new(NLMSG_DEFAULT_SIZE, GFP_KERNEL);
	if (!msg)
		return -ENOMEM;
	/* With our own reference: a SPACE_DEL may come before the reply. */
	ret = spt_space_create(0, NULL, 0, &s);
	if (ret) {
		nlmsg_free(msg);
		return ret;
	}
	ret = spt_genl_fill_space(msg, s, info->snd_portid, info->snd_seq, 0,
				  spt_genl_show_pa(skb));
	if (ret)
		nlmsg_free(msg);
	else
		ret = genlmsg_reply(msg, info);
	/* A space whose id the caller never learns is not left behind. */
	if (ret)
		spt_space_destroy_exact(s);
	spt_space_put(s);
	return ret;
}

static int spt_genl_space_del(struct sk_buff *skb, struct genl_info *info)
{
	if (!spt_genl_admin(skb))
		return -EPERM;
	if (!info->attrs[SPT_A_SPACE_ID])
		return -EINVAL;
	return spt_space_destroy(nla_get_u32(info->attrs[SPT_A_SPACE_ID]));
}

static const struct genl_ops spt_genl_ops[] = {
	{
		.cmd = SPT_GENL_CMD_SPACE_GET,
		.doit = spt_genl_space_get,
		.dumpit = spt_genl_space_dump,
	},
	{
		.cmd = SPT_GENL_CMD_MAPPING_GET,
		.start = spt_genl_mapping_start,
		.dumpit = spt_genl_mapping_dump,
		.done = spt_genl_mapping_done,
	},
	/* CAP_SYS_ADMIN checked by the handlers (spt_genl_admin). */
	{
		.cmd = SPT_GENL_CMD_SPACE_NEW,
		.doit = spt_genl_space_new,
	},
	{
		.cmd = SPT_GENL_CMD_SPACE_DEL,
		.doit = spt_genl_space_del,
	},
};

static struct genl_family spt_genl_family __ro_after_init = {
	.name = SPT_GENL_NAME,
	.version = SPT_GENL_VERSION,
	.maxattr = SPT_A_MAX,
	.policy = spt_genl_policy,
	.module = THIS_MODULE,
	.parallel_ops = true,
	.ops = spt_genl_ops,
	.n_ops = ARRAY_SIZE(spt_genl_ops),
	.resv_start_op = SPT_GENL_CMD_SPACE_GET,
	.mcgrps = spt_genl_mcgrps,
	.n_mcgrps = ARRAY_SIZE(spt_genl_mcgrps),
};

static struct sk_buff *spt_genl_event_new(u32 type, u32 space_id,
					  void **hdr)
{
	struct sk_buff *msg;

	if (!genl_has_listeners(&spt_genl_family, &init_net,
				SPT_GENL_MCGRP_EVENTS_ID))
		return NULL;
	msg = spt_genlmsg_new(NLMSG_DEFAULT_SIZE, GFP_KERNEL);
	if (!msg)
		return NULL;
	*hdr = genlmsg_put(msg, 0, 0, &spt_genl_family, 0, SPT_GENL_CMD_EVENT);
	if (!*hdr || nla_put_u32(msg, SPT_A_EVENT_TYPE, type) ||
	    nla_put_u32(msg, SPT_A_SPACE_ID, space_id) ||
	    nla_put_u32(msg, SPT_A_EVENT_PID, task_tgid_nr(current))) {
		nlmsg_free(msg);
		return NULL;
	}
	return msg;
}

static void spt_genl_event_send(struct sk_buff *msg, void *hdr)
{
	genlmsg_end(msg, hdr);
	genlmsg_multicast(&spt_genl_family, msg, 0, SPT_GENL_MCGRP_EVENTS_ID,
			  GFP_KERNEL);
}

/* A space event, as a multicast message: @err is 0 or a positive errno. */
static void spt_genl_event(u32 type, u32 space_id, u64 va, u64 len,
			   u64 count, int err)
{
	struct sk_buff *msg;
	void *hdr;

	msg = spt_genl_event_new(type, space_id, &hdr);
	if (!msg)
		return;
	if (nla_put_u64_64bit(msg, SPT_A_EVENT_VA, va, SPT_A_PAD) ||
	    nla_put_u64_64bit(msg, SPT_A_EVENT_LEN, len, SPT_A_PAD) ||
	    nla_put_u64_64bit(msg, SPT_A_EVENT_COUNT, count, SPT_A_PAD) ||
	    nla_put_u32(msg, SPT_A_EVENT_ERRNO, err)) {
		nlmsg_free(msg);
		return;
	}
	spt_genl_event_send(msg, hdr);
}

/* The result of a load window, as a multicast message. */
static void spt_genl_event_load(u32 space_id, u32 cpu, u32 ops_run,
				u32 faults, u32 status)
{
	struct sk_buff *msg;
	void *hdr;

	msg = spt_genl_event_new(SPT_EVENT_LOAD, space_id, &hdr);
	if (!msg)
		return;
	if (nla_put_u32(msg, SPT_A_EVENT_CPU, cpu) ||
	    nla_put_u64_64bit(msg, SPT_A_EVENT_COUNT, ops_run, SPT_A_PAD) ||
	    nla_put_u32(msg, SPT_A_EVENT_FAULTS, faults) ||
	    nla_put_u32(msg, SPT_A_EVENT_STATUS, status)) {
		nlmsg_free(msg);
		return;
	}
	spt_genl_event_send(msg, hdr);
}

static int spt_genl_space_event(struct notifier_block *nb,
				unsigned long kind, void *data)
{
	const struct spt_space_event *ev = data;

	switch (kind) {
	case SPT_SPACE_EV_CREATED:
		spt_genl_event(SPT_EVENT_SPACE_CREATED, ev->space_id, 0, 0, 0,
			       0);
		break;
	case SPT_SPACE_EV_DESTROYED:
		spt_genl_event(SPT_EVENT_SPACE_DESTROYED, ev->space_id, 0, 0,
			       0, 0);
		break;
	case SPT_SPACE_EV_CHANGED:
		spt_genl_event(ev->op, ev->space_id, ev->va, ev->len,
			       ev->count, ev->err);
		break;
	case SPT_SPACE_EV_LOADED:
		spt_genl_event_load(ev->space_id, ev->cpu, ev->ops_run,
				    ev->faults, ev->status);
		break;
	}
	return NOTIFY_DONE;
}

static struct notifier_block spt_genl_space_nb = {
	.notifier_call = spt_genl_space_event,
};

int spt_genl_init(void)
{
	int ret;

	ret = genl_register_family(&spt_genl_family);
	if (ret)
		return ret;
	ret = spt_space_events_register(&spt_genl_space_nb);
	if (ret)
		genl_unregister_family(&spt_genl_family);
	return ret;
}

void spt_genl_exit(void)
{
	spt_space_events_unregister(&spt_genl_space_nb);
	genl_unregister_family(&spt_genl_family);
}
