// SPDX-License-Identifier: GPL-2.0
/*
 * Instantiates the tracepoints of trace.h, and the hooks through which the
 * portable core reports its page-table nodes (declared in env/spt_env.h,
 * no-ops in user space).
 */
#define CREATE_TRACE_POINTS
#include "trace.h"

#include "env/spt_env.h"

void spt_trace_node_alloc(unsigned int level, u64 pa)
{
	trace_spt_node_alloc(level, pa);
}

void spt_trace_node_free(unsigned int level, u64 pa)
{
	trace_spt_node_free(level, pa);
}
