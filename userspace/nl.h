/* SPDX-License-Identifier: GPL-2.0 */
/*
 * The "shadowpt" generic netlink family through libnl-genl-3: dumps that
 * hand each message to a callback as it arrives (nothing accumulates), and
 * the "events" multicast group.
 */
#ifndef SPTCTL_NL_H
#define SPTCTL_NL_H

#include <stdbool.h>
#include <stdint.h>
#include <linux/shadowpt.h>

struct nlattr;
struct spt_nl;

/*
 * Called once per message with its attributes (tb[SPT_A_*], NULL when
 * absent) and its genl command. Return 0 to go on, or a positive errno to
 * stop; that errno is then what the dump or receive returns.
 */
typedef int (*spt_nl_fn)(struct nlattr **tb, uint8_t cmd, void *arg);

/* Connect and resolve the family; dies with a hint when it is missing. */
struct spt_nl *spt_nl_open(void);
void spt_nl_close(struct spt_nl *nl);

/* Optional attributes of a dump request. */
struct spt_nl_req {
	bool has_space;
	uint32_t space_id;
	bool has_from, has_to;
	uint64_t from, to;
};

/* Run a dump of cmd to its end. Returns 0 or a positive errno. */
int spt_nl_dump(struct spt_nl *nl, uint8_t cmd, const struct spt_nl_req *req,
		spt_nl_fn fn, void *arg);

/* Join a multicast group of the family. Returns 0 or a positive errno. */
int spt_nl_subscribe(struct spt_nl *nl, const char *group, spt_nl_fn fn,
		     void *arg);
/* The socket, for poll(); it is non-blocking once subscribed. */
int spt_nl_fd(struct spt_nl *nl);
/*
 * Handle the messages that are waiting. Returns 0, EAGAIN when there was
 * nothing, ENOBUFS when the kernel dropped messages (the socket buffer
 * overflowed; reception goes on), or another positive errno.
 */
int spt_nl_recv(struct spt_nl *nl);

/* Attribute accessors that check the payload length (0 when absent). */
bool spt_nla_u32(struct nlattr *a, uint32_t *v);
bool spt_nla_u64(struct nlattr *a, uint64_t *v);

#endif /* SPTCTL_NL_H */
