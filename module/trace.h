/* SPDX-License-Identifier: GPL-2.0 */
/*
 * Tracepoints of shadowpt: events/shadowpt/ in tracefs. One event per
 * space operation (with what it achieved), per page-table node allocated
 * or freed, per load window, and per TLB flush before free. docs/design.md
 * lists them. trace.c instantiates them (CREATE_TRACE_POINTS); everyone
 * else just includes this header.
 *
 * Physical addresses (a space's root, a node) are recorded: tracefs is
 * readable by root only, and they are what ties these events to CR3
 * values and to the meta slots of the pool.
 */
#undef TRACE_SYSTEM
#define TRACE_SYSTEM shadowpt

#if !defined(SPT_TRACE_H) || defined(TRACE_HEADER_MULTI_READ)
#define SPT_TRACE_H

#include <linux/tracepoint.h>
#include <linux/shadowpt.h>

TRACE_EVENT(spt_space_create,
	    TP_PROTO(u32 space, unsigned int levels, u64 root_pa),
	    TP_ARGS(space, levels, root_pa),
	    TP_STRUCT__entry(__field(u32, space)
			     __field(u32, levels)
			     __field(u64, root_pa)),
	    TP_fast_assign(__entry->space = space;
			   __entry->levels = levels;
			   __entry->root_pa = root_pa;),
	    TP_printk("space=%u levels=%u root=0x%llx", __entry->space,
		      __entry->levels, __entry->root_pa)
);

TRACE_EVENT(spt_space_destroy,
	    TP_PROTO(u32 space),
	    TP_ARGS(space),
	    TP_STRUCT__entry(__field(u32, space)),
	    TP_fast_assign(__entry->space = space;),
	    TP_printk("space=%u", __entry->space)
);

/*
 * A map operation: [va, va + len) asked for, @done bytes mapped from va
 * on, as @count leaves whose largest level is @level (0: none), @err 0 or
 * the -errno it returned.
 */
TRACE_EVENT(spt_map,
	    TP_PROTO(u32 space, u64 va, u64 len, u32 flags, u64 done,
		     unsigned int level, u64 count, int err),
	    TP_ARGS(space, va, len, flags, done, level, count, err),
	    TP_STRUCT__entry(__field(u32, space)
			     __field(u32, flags)
			     __field(u64, va)
			     __field(u64, len)
			     __field(u64, done)
			     __field(u64, count)
			     __field(u32, level)
			     __field(int, err)),
	    TP_fast_assign(__entry->space = space;
			   __entry->flags = flags;
			   __entry->va = va;
			   __entry->len = len;
			   __entry->done = done;
			   __entry->count = count;
			   __entry->level = level;
			   __entry->err = err;),
	    TP_printk("space=%u va=0x%llx len=0x%llx flags=%s done=0x%llx level=%u count=%llu err=%d",
		      __entry->space, __entry->va, __entry->len,
		      __print_flags(__entry->flags, "|",
				    { SPT_MAP_4K, "4K" }, { SPT_MAP_2M, "2M" },
				    { SPT_MAP_LARGEST, "LARGEST" },
				    { SPT_MAP_PHYS, "PHYS" },
				    { SPT_MAP_REPLACE, "REPLACE" },
				    { SPT_MAP_SHARE, "SHARE" }),
		      __entry->done, __entry->level, __entry->count,
		      __entry->err)
);

/*
 * An unmap operation: [va, va + len) asked for, @done bytes from va on
 * dealt with, @count leaves removed.
 */
TRACE_EVENT(spt_unmap,
	    TP_PROTO(u32 space, u64 va, u64 len, u64 done, u64 count, int err),
	    TP_ARGS(space, va, len, done, count, err),
	    TP_STRUCT__entry(__field(u32, space)
			     __field(int, err)
			     __field(u64, va)
			     __field(u64, len)
			     __field(u64, done)
			     __field(u64, count)),
	    TP_fast_assign(__entry->space = space;
			   __entry->err = err;
			   __entry->va = va;
			   __entry->len = len;
			   __entry->done = done;
			   __entry->count = count;),
	    TP_printk("space=%u va=0x%llx len=0x%llx done=0x%llx count=%llu err=%d",
		      __entry->space, __entry->va, __entry->len, __entry->done,
		      __entry->count, __entry->err)
);

/*
 * A protect operation: @count leaves changed (after any split), the
 * largest of them of @level (0: none).
 */
TRACE_EVENT(spt_protect,
	    TP_PROTO(u32 space, u64 va, u64 len, u64 done, unsigned int level,
		     u64 count, int err),
	    TP_ARGS(space, va, len, done, level, count, err),
	    TP_STRUCT__entry(__field(u32, space)
			     __field(u32, level)
			     __field(u64, va)
			     __field(u64, len)
			     __field(u64, done)
			     __field(u64, count)
			     __field(int, err)),
	    TP_fast_assign(__entry->space = space;
			   __entry->level = level;
			   __entry->va = va;
			   __entry->len = len;
			   __entry->done = done;
			   __entry->count = count;
			   __entry->err = err;),
	    TP_printk("space=%u va=0x%llx len=0x%llx done=0x%llx level=%u count=%llu err=%d",
		      __entry->space, __entry->va, __entry->len, __entry->done,
		      __entry->level, __entry->count, __entry->err)
);

/* A page-table node of @level got its frame at @pa, or gave it back. */
DECLARE_EVENT_CLASS(spt_node,
		    TP_PROTO(unsigned int level, u64 pa),
		    TP_ARGS(level, pa),
		    TP_STRUCT__entry(__field(u32, level)
				     __field(u64, pa)),
		    TP_fast_assign(__entry->level = level;
				   __entry->pa = pa;),
		    TP_printk("level=%u pa=0x%llx", __entry->level, __entry->pa)
);

DEFINE_EVENT(spt_node, spt_node_alloc,
	     TP_PROTO(unsigned int level, u64 pa),
	     TP_ARGS(level, pa)
);

DEFINE_EVENT(spt_node, spt_node_free,
	     TP_PROTO(unsigned int level, u64 pa),
	     TP_ARGS(level, pa)
);

/* A load window is about to run @ops ops on @cpu. */
TRACE_EVENT(spt_load_begin,
	    TP_PROTO(u32 space, unsigned int cpu, u32 ops),
	    TP_ARGS(space, cpu, ops),
	    TP_STRUCT__entry(__field(u32, space)
			     __field(u32, cpu)
			     __field(u32, ops)),
	    TP_fast_assign(__entry->space = space;
			   __entry->cpu = cpu;
			   __entry->ops = ops;),
	    TP_printk("space=%u cpu=%u ops=%u", __entry->space, __entry->cpu,
		      __entry->ops)
);

/*
 * A load window ran @ops ops, @faults of which faulted (or were predicted
 * to), in @ns; @status is enum spt_load_window_status, @err the window's
 * -errno (0: it ran).
 */
TRACE_EVENT(spt_load_end,
	    TP_PROTO(u32 space, unsigned int cpu, u32 ops, u32 faults,
		     u32 status, u64 ns, int err),
	    TP_ARGS(space, cpu, ops, faults, status, ns, err),
	    TP_STRUCT__entry(__field(u32, space)
			     __field(u32, cpu)
			     __field(u32, ops)
			     __field(u32, faults)
			     __field(u32, status)
			     __field(int, err)
			     __field(u64, ns)),
	    TP_fast_assign(__entry->space = space;
			   __entry->cpu = cpu;
			   __entry->ops = ops;
			   __entry->faults = faults;
			   __entry->status = status;
			   __entry->err = err;
			   __entry->ns = ns;),
	    TP_printk("space=%u cpu=%u ops=%u faults=%u status=%u ns=%llu err=%d",
		      __entry->space, __entry->cpu, __entry->ops,
		      __entry->faults, __entry->status, __entry->ns,
		      __entry->err)
);

/*
 * The end of a change to a space: @cpus CPUs that had it loaded were sent
 * a flush for the @pages 4 KiB pages of [start, end), and @nodes nodes and
 * @frames data frames go back to the pool after the grace period.
 */
TRACE_EVENT(spt_tlb_flush,
	    TP_PROTO(u32 space, unsigned int cpus, u64 start, u64 end,
		     unsigned long nodes, unsigned long frames),
	    TP_ARGS(space, cpus, start, end, nodes, frames),
	    TP_STRUCT__entry(__field(u32, space)
			     __field(u32, cpus)
			     __field(u64, start)
			     __field(u64, pages)
			     __field(unsigned long, nodes)
			     __field(unsigned long, frames)),
	    TP_fast_assign(__entry->space = space;
			   __entry->cpus = cpus;
			   __entry->start = start;
			   __entry->pages = (end - start) >> PAGE_SHIFT;
			   __entry->nodes = nodes;
			   __entry->frames = frames;),
	    TP_printk("space=%u cpus=%u start=0x%llx pages=%llu nodes=%lu frames=%lu",
		      __entry->space, __entry->cpus, __entry->start,
		      __entry->pages, __entry->nodes, __entry->frames)
);

#endif /* SPT_TRACE_H */

/* This part must be outside the include guard. */
#undef TRACE_INCLUDE_PATH
#define TRACE_INCLUDE_PATH .
#undef TRACE_INCLUDE_FILE
#define TRACE_INCLUDE_FILE trace
#include <trace/define_trace.h>
