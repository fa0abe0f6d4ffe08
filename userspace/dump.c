// SPDX-License-Identifier: GPL-2.0
/*
 * sptctl dump: the mappings of a space as merged runs, printed like
 * /sys/kernel/debug/page_tables. Each netlink message is printed as it
 * arrives (fixed-width columns, no table to size first), so a space with a
 * million mappings is dumped in constant memory.
 */
#include <errno.h>

#include "sptctl.h"
#include "dot.h"

struct dump_ctx {
	uint64_t runs;
};

static int dump_run(const struct spt_run *r, void *arg)
{
	struct dump_ctx *d = arg;
	uint64_t va = r->va, end = r->end, phys = r->phys, pages = r->pages;
	uint32_t level = r->level, prot = r->prot, cache = r->cache;
	char b1[FMT_BUF], b2[FMT_BUF], b3[FMT_BUF], b4[FMT_BUF], b5[FMT_BUF];
	char b6[FMT_BUF], b7[FMT_BUF];
	/* Only callers with CAP_SYS_ADMIN are told physical addresses. */
	bool has_phys = r->has & SPT_HAS_PHYS;
	bool tracked = r->flags & SPT_QUERY_TRACKED;

	d->runs++;

	if (opt_json) {
		json_obj_begin(NULL);
		json_addr("va", va);
		json_addr("end", end);
		json_u64("size", end - va);
		if (has_phys)
			json_addr("phys", phys);
		else
			json_null("phys");
		json_u64("level", level);
		json_u64("page_size", level_size(level));
		json_u64("pages", pages);
		json_str("prot", fmt_prot(b1, prot));
		json_u64("prot_bits", prot);
		json_str("cache", fmt_cache(b2, cache));
		json_bool("tracked", tracked);
		json_obj_end();
		return 0;
	}
	printf("%s-%s %7s %8llu x %-3s phys %s  %s  %-3s  %s\n",
	       fmt_addr(b1, va), fmt_addr(b2, end), fmt_size(b3, end - va),
	       (unsigned long long)pages, fmt_size(b4, level_size(level)),
	       has_phys ? fmt_addr(b5, phys) : "-", fmt_prot(b6, prot),
	       fmt_cache(b7, cache),
	       tracked ? "tracked" : "untracked");
	return 0;
}

int cmd_dump(const struct cmd *cmd, int argc, char **argv)
{
	struct dump_req req = { 0 };
	struct dump_ctx d = { 0 };
	bool dot = false;
	const struct opt opts[] = {
		{ "dot", OPT_FLAG, &dot, NULL },
		{ "from", OPT_ADDR, &req.from, &req.has_from },
		{ "to", OPT_ADDR, &req.to, &req.has_to },
		{ NULL, 0, NULL, NULL },
	};
	struct spt_nl *nl;
	char **pos;
	int err;

	cmd_parse(cmd, argc, argv, opts, 1, 1, &pos);
	req.space_id = arg_space(cmd, pos[0]);
	if (req.has_from && req.has_to && req.to <= req.from)
		cmd_usage_error(cmd, "--to must be above --from");
	if (dot && opt_json)
		cmd_usage_error(cmd, "--dot and --json exclude each other");
	nl = sptnl_open();
	if (dot) {
		err = dot_dump(nl, &req);
		spt_nl_close(nl);
		if (err)
			die(err, "dump --dot space %u", req.space_id);
		return 0;
	}
	if (opt_json)
		json_arr_begin(NULL);
	err = -spt_dump_mappings(nl, req.space_id, req.from, req.to, dump_run,
				 &d);
	if (opt_json)
		json_arr_end();
	spt_nl_close(nl);
	if (err)
		die(err, "dump space %u (after %llu runs)", req.space_id,
		    (unsigned long long)d.runs);
	return 0;
}
