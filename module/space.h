/* SPDX-License-Identifier: GPL-2.0 */
/*
 * Spaces: a page table with an id, a lifetime and limits, and the
 * operations on it (space.c), with its quota (quota.h). The faces reach
 * a space's table through these functions; what happens to spaces reaches
 * the faces through the events of space_events.h.
 */
#ifndef SPT_SPACE_H
#define SPT_SPACE_H

#include <linux/types.h>
#include <linux/refcount.h>
#include <linux/rwsem.h>
#include <linux/cpumask.h>
#include <linux/atomic.h>

#include "core/pt.h"

struct file;

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
	struct spt_pt pt;
	u64 kernel_top[SPT_NR_ENTRIES];	/* the kernel half it was given */
	/* 4 KiB pool frames mapped (or held to map): written by quota.c */
	atomic64_t data_frames;
	/* space_mb at creation: of data frames, and of page-table nodes */
	u64 limit_frames;
	cpumask_var_t loaded;		/* CPUs that have it in CR3 now */
};

/* The module-wide id table: destroy what is left (module exit). */
void spt_spaces_exit(void);

/*
 * Create a space with the quota @limit_frames (0: space_mb now) and publish
 * its id (last, once everything else exists). *@out comes with a reference
 * of the caller's own, to drop with spt_space_put(): someone may destroy
 * the space as soon as its id is published, and the reference keeps the
 * struct (not the table) alive.
 */
int spt_space_create(u32 flags, struct file *owner, u64 limit_frames,
		     struct spt_space **out);
/* Look up and take a reference; NULL if no such live space. */
struct spt_space *spt_space_get(u32 id);
void spt_space_put(struct spt_space *s);
int spt_space_destroy(u32 id);
/* Destroy @s if its id still names it (else -ENOENT); caller holds a ref. */
int spt_space_destroy_exact(struct spt_space *s);
/* Destroy every space owned by @file (on its release). */
void spt_space_release_file(struct file *file);
u32 spt_space_count(void);
/*
 * Iterate over live spaces with id >= *@id: returns the next one with a
 * reference held and sets *@id to its id, or NULL.
 */
struct spt_space *spt_space_next(u32 *id);

/*
 * Take the space for an operation (its rwsem for reading): -ENOENT if it is
 * being destroyed. Every operation below does this itself.
 */
int spt_space_enter(struct spt_space *s);
void spt_space_leave(struct spt_space *s);

/* Operations; each validates its range and returns 0 or -errno. */
int spt_space_map(struct spt_space *s, u64 va, u64 len, u32 map_flags,
		  u64 phys, const struct spt_prop *prop, u64 *mapped);
int spt_space_unmap(struct spt_space *s, u64 va, u64 len, u64 *unmapped,
		    u64 *done);
int spt_space_protect(struct spt_space *s, u64 va, u64 len,
		      const struct spt_prot_op *op, u64 *nr, u64 *done);
int spt_space_query(struct spt_space *s, u64 va, struct spt_query *q);
int spt_space_rw(struct spt_space *s, u64 va, void __user *buf, u64 len,
		 bool write, u64 *done);
int spt_space_check(struct spt_space *s, char *msg, size_t msg_len);
/*
 * Nodes per level and leaves per size, by a walk in slices (preemptible;
 * all zero for a space being destroyed). Returns the slices walked.
 */
unsigned long spt_space_counts(struct spt_space *s,
			       struct spt_pt_counts *counts);

/*
 * One bounded step of a walk over the mappings of [*va, end): the leaves
 * in the slice of at most 2 MiB that starts at *va, in order, under one
 * read cursor, calling @fn for each (also for a leaf that begins before
 * *va or ends past the slice). Returns 0 with *va advanced past the slice
 * (past a leaf or an absent entry that reaches further, at most to end);
 * what @fn returned if non-zero, with *va the start of that leaf (at least
 * the old *va), where the next step resumes; or -ENOENT if the space is
 * being destroyed. The caller loops until *va == end, and may reschedule
 * between steps.
 */
int spt_space_walk_slice(struct spt_space *s, u64 *va, u64 end,
			 int (*fn)(const struct spt_query *q, void *arg),
			 void *arg);

/* Is [va, va + len) a valid, aligned, non-empty user-half range? */
bool spt_range_ok(u64 va, u64 len, u64 align);

#endif /* SPT_SPACE_H */
