// SPDX-License-Identifier: GPL-2.0
/*
 * sptctl dump: the mappings of a space as merged runs, printed like
 * /sys/kernel/debug/page_tables. The runs come from SPT_IOCTL_QUERY_RANGE
 * (a bufferful at a time, read without locks in the kernel) where
 * /dev/shadowpt can be opened, else from the netlink dump (each message
 * printed as it arrives). Fixed-width columns, no table to size first: a
 * space with a million mappings is dumped in constant memory.
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

#define DUMP_RUNS	1024

/*
 * The runs of [from, to) by SPT_IOCTL_QUERY_RANGE. As with the netlink
 * dump, a run may begin before --from: the range starts at the leaf that
 * holds it.
 */
static int dump_query_range(struct spt *h, const struct dump_req *req,
			    struct dump_ctx *d)
{
	static struct spt_query_run runs[DUMP_RUNS];
	struct spt_query_entry e;
	struct spt_version v;
	uint64_t va = 0, end;
	size_t nr, i;
	int err;

	err = spt_version(h, &v);
	if (err)
		return err;
	end = v.out_user_end;
	if (req->has_to && req->to < end)
		end = (req->to + 4095) & ~4095ULL;
	if (req->has_from) {
		va = req->from & ~4095ULL;
		err = spt_query(h, req->space_id, va, &e);
		if (err)
			return err;
		if (e.flags & SPT_QUERY_MAPPED)
			va = e.va_start;
	}
	while (va < end) {
		uint64_t next;

		err = spt_query_runs(h, req->space_id, va, end - va, 0, runs,
				     DUMP_RUNS, &nr, &next);
		for (i = 0; i < nr; i++) {
			const struct spt_query_run *q = &runs[i];
			uint64_t size = level_size(q->level);
			struct spt_run r = {
				.va = q->start, .end = q->end, .phys = q->pa,
				.pages = (q->end - q->start + size - 1) / size,
				.level = q->level, .prot = q->prot,
				.cache = q->cache, .flags = q->flags,
				.has = SPT_HAS_PHYS,
			};

			dump_run(&r, d);
		}
		if (err)
			return err;
		va = next;
	}
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
	struct spt *h;
	char **pos;
	int err;

	cmd_parse(cmd, argc, argv, opts, 1, 1, &pos);
	req.space_id = arg_space(cmd, pos[0]);
	if (req.has_from && req.has_to && req.to <= req.from)
		cmd_usage_error(cmd, "--to must be above --from");
	if (dot && opt_json)
		cmd_usage_error(cmd, "--dot and --json exclude each other");
	if (!dot && !spt_open(&h)) {
		if (opt_json)
			json_arr_begin(NULL);
		err = -dump_query_range(h, &req, &d);
		if (opt_json)
			json_arr_end();
		spt_close(h);
		if (err)
			die(err, "dump space %u (after %llu runs)",
			    req.space_id, (unsigned long long)d.runs);
		return 0;
	}
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
