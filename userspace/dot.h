/* SPDX-License-Identifier: GPL-2.0 */
/* sptctl dump --dot: a space's page-table tree as a Graphviz graph. */
#ifndef SPTCTL_DOT_H
#define SPTCTL_DOT_H

#include "nl.h"

/*
 * Print the tree of req->space_id (bounded by req's from/to) as a dot
 * graph on stdout. Returns 0 or a positive errno (E2BIG: too large to
 * draw; narrow it with from/to).
 */
int dot_dump(struct spt_nl *nl, const struct spt_nl_req *req);

#endif /* SPTCTL_DOT_H */
