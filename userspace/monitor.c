// SPDX-License-Identifier: GPL-2.0
/*
 * sptctl monitor: one line per event of the "events" multicast group,
 * flushed as it comes (so `sptctl monitor | grep` sees events live).
 */
#include <errno.h>
#include <poll.h>
#include <string.h>
#include <time.h>

#include "sptctl.h"

struct mon_ctx {
	uint64_t seen;
};

static int print_event(const struct spt_event *e, void *arg)
{
	struct mon_ctx *m = arg;
	uint32_t type = e->type, id = e->space_id, err = e->err;
	uint32_t pid = e->pid, cpu = e->cpu, faults = e->faults;
	uint32_t status = e->status;
	uint64_t va = e->va, len = e->len, count = e->count;
	char tbuf[16], b1[FMT_BUF], b2[FMT_BUF];
	const char *name = spt_event_name(type);

	if (!name) {
		snprintf(tbuf, sizeof(tbuf), "event%u", type);
		name = tbuf;
	}
	m->seen++;
	if (type == SPT_EVENT_LOAD) {
		/* A load window: no range, ops run instead of leaves. */
		if (opt_json) {
			json_obj_begin(NULL);
			json_str("type", name);
			json_u64("type_id", type);
			json_u64("space", id);
			json_u64("cpu", cpu);
			json_u64("ops", count);
			json_u64("faults", faults);
			json_str("status", fmt_load_status(b1, status));
			json_u64("status_id", status);
			json_u64("pid", pid);
			json_obj_end();
			return 0;
		}
		printf("%-15s space=%u cpu=%u ops=%llu faults=%u status=%s pid=%u\n",
		       name, id, cpu, (unsigned long long)count, faults,
		       fmt_load_status(b1, status), pid);
		fflush(stdout);
		return 0;
	}
	if (opt_json) {
		json_obj_begin(NULL);
		json_str("type", name);
		json_u64("type_id", type);
		json_u64("space", id);
		json_addr("va", va);
		json_u64("len", len);
		json_u64("count", count);
		json_u64("errno", err);
		if (err)
			json_str("error", strerrorname_np((int)err) ?
					  strerrorname_np((int)err) : "?");
		json_u64("pid", pid);
		json_obj_end();	/* ends the line and flushes */
		return 0;
	}
	printf("%-15s space=%u va=%s len=%s count=%llu errno=%s pid=%u\n",
	       name, id, fmt_addr(b1, va), fmt_size(b2, len),
	       (unsigned long long)count,
	       err ? (strerrorname_np((int)err) ?: "?") : "0", pid);
	fflush(stdout);
	return 0;
}

static int64_t now_ms(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (int64_t)ts.tv_sec * 1000 + ts.tv_nsec / 1000000;
}

int cmd_monitor(const struct cmd *cmd, int argc, char **argv)
{
	uint64_t count = 0, timeout = 0;
	bool has_count = false, has_timeout = false;
	const struct opt opts[] = {
		{ "count", OPT_U64, &count, &has_count },
		{ "timeout", OPT_U64, &timeout, &has_timeout },
		{ NULL, 0, NULL, NULL },
	};
	struct mon_ctx m = { 0 };
	int64_t deadline = 0;
	struct spt_nl *nl;
	char **pos;
	int err;

	cmd_parse(cmd, argc, argv, opts, 0, 0, &pos);
	if (has_count && !count)
		cmd_usage_error(cmd, "--count must be at least 1");
	if (has_timeout && timeout > INT32_MAX / 1000)
		cmd_usage_error(cmd, "--timeout too large");
	nl = sptnl_open();
	err = -spt_nl_subscribe(nl);
	if (err)
		die(err, "subscribe to %s/%s", SPT_GENL_NAME,
		    SPT_GENL_MCGRP_EVENTS);
	if (has_timeout)
		deadline = now_ms() + (int64_t)timeout * 1000;
	/* Scripts may wait for this before they cause events. */
	fprintf(stderr, "sptctl: monitor: listening\n");

	while (!has_count || m.seen < count) {
		struct pollfd pfd = { .fd = spt_nl_fd(nl), .events = POLLIN };
		int wait = -1, n;

		if (has_timeout) {
			int64_t left = deadline - now_ms();

			if (left <= 0)
				break;
			wait = (int)left;
		}
		n = poll(&pfd, 1, wait);
		if (n < 0) {
			if (errno == EINTR)
				continue;
			die(errno, "monitor: poll");
		}
		if (!n)
			continue;
		/* Drain what is queued; stop early when --count is met. */
		while (!has_count || m.seen < count) {
			err = -spt_nl_events(nl, print_event, &m);
			if (err == EAGAIN)
				break;
			if (err == ENOBUFS) {
				err_msg(err, "monitor: events were lost");
				continue;
			}
			if (err)
				die(err, "monitor");
		}
	}
	spt_nl_close(nl);
	if (has_count && m.seen < count)
		die(ETIMEDOUT, "monitor: %llu of %llu events before the timeout",
		    (unsigned long long)m.seen, (unsigned long long)count);
	return 0;
}
