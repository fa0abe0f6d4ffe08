/* SPDX-License-Identifier: GPL-2.0 */
/* sptctl dump --dot: a space's page-table tree as a Graphviz graph. */
#ifndef SPTCTL_DOT_H
#define SPTCTL_DOT_H

#include "sptctl.h"

/* What to dump: a space, optionally bounded by --from/--to. */
struct dump_req {
	uint32_t space_id;
	bool has_from, has_to;
	uint64_t from, to;
};

/*
 * Print the tree of req->space_id (bounded by req's from/to) as a dot
 * graph on stdout. Returns 0 or a positive errno (E2BIG: too large to
 * draw; narrow it with from/to).
 */
int dot_dump(struct spt_nl *nl, const struct dump_req *req);

#endif /* SPTCTL_DOT_H */
