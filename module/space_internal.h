/* SPDX-License-Identifier: GPL-2.0 */
/*
 * The inside of a space, for the space files (space.c, space_ops.c,
 * space_cursor.c, quota.c) and flush.c only. The faces see struct
 * spt_space as an opaque type and use the functions of space.h.
 */
#ifndef SPT_SPACE_INTERNAL_H
#define SPT_SPACE_INTERNAL_H

#include <linux/types.h>
#include <linux/refcount.h>
#include <linux/rwsem.h>
#include <linux/cpumask.h>
#include <linux/atomic.h>

#include <linux/xarray.h>

#include "core/pt.h"
#include "space.h"

struct file;
struct spt_space_tables;

struct spt_space {
	u32 id;
	u32 flags;			/* SPT_SPACE_FD_OWNED */
	pid_t owner_pid;
	struct file *owner_file;	/* fd-owned: the creating file */
	refcount_t ref;			/* lookups and the id table */
	/*
	 * Operations hold it for reading (cursors do the range locking);
	 * destroy takes it for writing, so it waits for every operation.
	 */
	struct rw_semaphore rwsem;
	bool dead;
	/*
	 * Has been the source or the destination of SPT_MAP_SHARE (never
	 * cleared): its frames may be mapped by other spaces, so CHECK
	 * verifies refcounts over all such spaces together (space_ops.c).
	 */
	bool shared;
	/* on the list of sharing spaces while shared and not torn down */
	struct list_head share_node;
	struct spt_pt pt;
	u64 kernel_top[SPT_NR_ENTRIES];	/* the kernel half it was given */
	/* 4 KiB pool frames mapped (or held to map): written by quota.c */
	atomic64_t data_frames;
	/* space_mb at creation: of data frames, and of page-table nodes */
	u64 limit_frames;
	cpumask_var_t loaded;		/* CPUs that have it in CR3 now */
	struct rcu_head rcu;		/* freed after a grace period */
	/* SPT_MAP_USER: the pins of its pinned leaves (pin.h) */
	struct xarray pins;
	/*
	 * SPT_IOCTL_TABLES (tables.c): set by the first descriptor, with
	 * no change in flight (rwsem for writing), freed with the space.
	 */
	struct spt_space_tables *tables;
};

/*
 * The space of @id, for a reader inside an RCU read-side section that
 * takes no reference: the struct stays valid memory until the section
 * ends (a space is freed after a grace period). It may be dying: check
 * "dead" before and after reading its table (spt_space_query_id()).
 */
struct spt_space *spt_space_lookup_rcu(u32 id);

/*
 * Sharing spaces (SPT_MAP_SHARE): set @s's shared flag for good and put it
 * on the list of sharing spaces, where it stays until its teardown is
 * complete, also after its id is gone from the table.
 */
void spt_space_set_shared(struct spt_space *s);
/*
 * Up to @cap of the listed spaces into @v, a reference taken on each;
 * returns how many are listed (more than @cap: none is taken, try again
 * with more room). *@gen changes whenever a space joins the list.
 */
unsigned int spt_shared_spaces_get(struct spt_space **v, unsigned int cap,
				   u64 *gen);
u64 spt_shared_spaces_gen(void);

/*
 * Is [va, va + @len) empty, va being the position of the cursor @c? 0
 * with the cursor back at va, -EEXIST if anything is mapped there, or
 * what the jump back returned. Under a mutable cursor, whose locks keep
 * every other cursor out of its range, nothing can be mapped between this
 * check and the map that follows: the one "map only if empty" of every
 * map (space_ops.c).
 */
int spt_space_expect_empty(struct spt_cursor *c, u64 len);

#endif /* SPT_SPACE_INTERNAL_H */
