/* SPDX-License-Identifier: GPL-2.0 */
/*
 * Spaces: a page table with an id, a lifetime and limits (space.c), the
 * operations on it (space_ops.c, space_cursor.c), with its quota
 * (quota.h). The faces reach a space only through these functions (struct
 * spt_space is private: space_internal.h); what happens to spaces reaches
 * the faces through the events of space_events.h.
 */
#ifndef SPT_SPACE_H
#define SPT_SPACE_H

#include <linux/types.h>

#include "core/pt.h"
#include "core/lockless.h"

struct file;
struct spt_space;

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

/* What never changes after creation. */
u32 spt_space_id(const struct spt_space *s);
unsigned int spt_space_levels(const struct spt_space *s);

/* A space's description and counters, read together (not atomically). */
struct spt_space_snap {
	u32 id;
	u32 flags;			/* SPT_SPACE_FD_OWNED */
	pid_t owner_pid;
	unsigned int levels;
	u64 root_pa;
	u64 data_frames;		/* charged to its quota */
	u64 limit_frames;
	u64 node_frames;		/* page-table nodes, root included */
	u64 loaded_cpus;		/* CPUs 0..63 that have it loaded */
};

void spt_space_snap(const struct spt_space *s, struct spt_space_snap *snap);

/*
 * Take the space for an operation (its rwsem for reading): -ENOENT if it is
 * being destroyed. Every operation below does this itself.
 */
int spt_space_enter(struct spt_space *s);
void spt_space_leave(struct spt_space *s);

/* Operations; each validates its range and returns 0 or -errno. */
int spt_space_map(struct spt_space *s, u64 va, u64 len, u32 map_flags,
		  u64 phys, const struct spt_prop *prop, u64 *mapped);
/*
 * SPT_MAP_SHARE: map at [va, va + len) of @s what backs [src_va,
 * src_va + len) of @src (may be @s), a reference per tracked leaf.
 */
int spt_space_share(struct spt_space *s, u64 va, u64 len,
		    struct spt_space *src, u64 src_va,
		    const struct spt_prop *prop, u64 *mapped);
int spt_space_unmap(struct spt_space *s, u64 va, u64 len, u64 *unmapped,
		    u64 *done);
/*
 * SPT_MAP_USER: pin the caller's [@uaddr, @uaddr + @len) and map it at
 * @va (4 KiB pinned leaves); nothing changed on an error before mapping.
 */
int spt_space_map_user(struct spt_space *s, u64 va, u64 len, u64 uaddr,
		       const struct spt_prop *prop, u64 *mapped);
/*
 * SPT_IOCTL_MMAP: a reference on the pool frame of each 4 KiB page of
 * [@va, @va + @len), for a process region (procmap.c): @pas[i] the page,
 * @heads[i] its frame's head (the reference), *@writable if every leaf had
 * SPT_PROT_WRITE. The caller has entered @s. Nothing kept on an error.
 * spt_space_ungrab() drops such references (a frame whose last one it was
 * goes back to the pool after a grace period).
 */
int spt_space_grab(struct spt_space *s, u64 va, u64 len, u64 *pas,
		   u64 *heads, bool *writable);
void spt_space_ungrab(const u64 *heads, unsigned long nr);
int spt_space_protect(struct spt_space *s, u64 va, u64 len,
		      const struct spt_prot_op *op, u64 *nr, u64 *done);
/*
 * SPT_IOCTL_ENTRY_BITS: PTE bits @clear and @set (SPT_PTE_BITS_ALL) on the
 * present entries of @level meeting [@va, @va + @len); the counts and
 * the first entry met (after the change). -EINVAL, -ENOENT.
 */
int spt_space_entry_bits(struct spt_space *s, unsigned int level, u64 va,
			 u64 len, u64 clear, u64 set, u64 *entries,
			 u64 *changed, u64 *first);
/* Without locks (core/lockless.h); -ENOENT if @s is being destroyed. */
int spt_space_query(struct spt_space *s, u64 va, struct spt_query *q);
/* The same by id, with no reference taken: -ENOENT if there is none. */
int spt_space_query_id(u32 id, u64 va, struct spt_query *q);
/*
 * A piece of SPT_IOCTL_QUERY_RANGE over [va, end), without locks: one
 * call fills the kernel buffer from va on, with one word per page
 * (@pages, at most @cap) or with merged runs (@runs, whose pending run
 * carries over to the next call), looking at a bounded number of entries,
 * and moves va past what it reported (see core/lockless.h). Returns 0, or
 * -ENOENT if @s is being destroyed.
 */
struct spt_range_query {
	u64 va, end;
	u64 *pages;			/* compact mode, else NULL */
	unsigned int cap, nr;		/* compact mode */
	struct spt_lockless_runs runs;	/* runs mode */
};

int spt_space_query_range(struct spt_space *s, struct spt_range_query *rq);
int spt_space_rw(struct spt_space *s, u64 va, void __user *buf, u64 len,
		 bool write, u64 *done);
int spt_space_check(struct spt_space *s, char *msg, size_t msg_len);
/*
 * Nodes per level and leaves per size, from the table's counters (O(1);
 * all zero for a space being destroyed). While operations run, they are
 * those of no single moment.
 */
void spt_space_counts(struct spt_space *s, struct spt_pt_counts *counts);

/*
 * A walk over the mappings of [va, end), in slices of at most 2 MiB, each
 * under one read cursor and with the space entered for it alone;
 * rescheduling between slices. @fn is called for each leaf in order (also
 * for one that begins before va or ends past a slice).
 */
struct spt_listing {
	u64 va, end;		/* va advances as the walk goes */
	unsigned int max_slices;	/* at most this many now; 0: no limit */
	unsigned long slices;	/* slices walked: grows */
	int (*fn)(const struct spt_query *q, void *arg);
	void *arg;
};

/*
 * Returns 0 with va == end; -EAGAIN after max_slices slices, with va where
 * the next call resumes; what @fn returned if non-zero, with va the start
 * of that leaf (the next call gives it to @fn again); or -ENOENT if the
 * space is being destroyed.
 */
int spt_space_walk(struct spt_space *s, struct spt_listing *l);

/*
 * For load windows (load.c), on the window's CPU with interrupts off,
 * between spt_space_enter() and spt_space_leave(); nothing here sleeps
 * (nodes come from what the pool reserved beforehand).
 *
 * spt_space_load_begin/end: @cpu has the space in CR3 from now on / no
 * longer (flush.c sends the TLB flushes of changes to those CPUs).
 * spt_space_load_cr3: write the space's root to CR3 with PCID 0 (which
 * flushes PCID 0) and set *@tlb_gen to the table's flush generation from
 * before the write.
 * spt_space_load_page: hold @va's page under a read cursor (no change to
 * it can happen meanwhile), bring this CPU's TLB in line with the table
 * (CR3 written again if the generation moved since *@tlb_gen), and call
 * @fn with the page's mapping (with @tlb_gen NULL: the TLB left alone).
 * 0, or the cursor's error (@fn not called).
 */
void spt_space_load_begin(struct spt_space *s, unsigned int cpu);
void spt_space_load_end(struct spt_space *s, unsigned int cpu);
void spt_space_load_cr3(struct spt_space *s, int *tlb_gen);
int spt_space_load_page(struct spt_space *s, u64 va, int *tlb_gen,
			void (*fn)(const struct spt_query *q, void *arg),
			void *arg);
/*
 * spt_space_tlb_gen: the table's flush generation now.
 * spt_space_load_page_nosync: spt_space_load_page() that leaves the TLB
 * alone: @fn brings it in line itself (a window with NOFLUSH changes
 * pending), reading spt_space_tlb_gen() under the cursor.
 */
int spt_space_tlb_gen(struct spt_space *s);
int spt_space_load_page_nosync(struct spt_space *s, u64 va,
			       void (*fn)(const struct spt_query *q, void *arg),
			       void *arg);

/*
 * One change under one mutable cursor over [va, va + len), its unlinked
 * frames and nodes queued on @fl (for spt_flush_finish()), without
 * sleeping: a load window's op, and each slice of spt_space_unmap(),
 * spt_space_protect() and a tracked spt_space_map(). *@count grows by
 * the leaves unmapped, protected or mapped. On an error, *@stop (if not
 * NULL) is where the change stopped; else it is va + len.
 *
 * spt_space_map_frames_nosleep maps the @nr frames of @pas, of @level,
 * one after the other from @va on (len: their size), only if nothing is
 * mapped there unless @replace (else -EEXIST, nothing mapped); the entry
 * of each frame mapped is set to 0 (the mapping owns it now).
 */
int spt_space_unmap_nosleep(struct spt_space *s, u64 va, u64 len,
			    struct spt_flusher *fl, u64 *count, u64 *stop);
int spt_space_protect_nosleep(struct spt_space *s, u64 va, u64 len,
			      const struct spt_prot_op *op,
			      struct spt_flusher *fl, u64 *count,
			      unsigned int *level, u64 *stop);
int spt_space_map_frames_nosleep(struct spt_space *s, u64 va, u64 *pas,
				 unsigned int nr, unsigned int level,
				 const struct spt_prop *prop, bool replace,
				 struct spt_flusher *fl, u64 *count);

/*
 * A cursor over [start, end) of a space, for the in-kernel API: the
 * core's cursor (core/pt.h) with the space entered for its lifetime, and
 * for a mutable one a flusher (its changes are flushed on close). Open
 * may sleep; every other call does not, until close (which may).
 */
struct spt_space_cursor {
	struct spt_cursor c;
	struct spt_flusher fl;
	struct spt_space *s;
	bool mut;
};

/*
 * Enter @s and open the cursor; a mutable one first reserves @reserve
 * pool frames for nodes. 0 or -errno (nothing held).
 */
int spt_space_cursor_open(struct spt_space_cursor *sc, struct spt_space *s,
			  u64 start, u64 end, bool mut, unsigned int reserve);
/* Drop the cursor, flush what it changed, and leave the space. */
void spt_space_cursor_close(struct spt_space_cursor *sc);
u64 spt_space_cursor_va(const struct spt_space_cursor *sc);
u64 spt_space_cursor_end(const struct spt_space_cursor *sc);
int spt_space_cursor_query(struct spt_space_cursor *sc, struct spt_query *q);
bool spt_space_cursor_find_next(struct spt_space_cursor *sc, u64 len);
int spt_space_cursor_jump(struct spt_space_cursor *sc, u64 va);
/* Map @item at the cursor: -EEXIST over a mapping unless @replace. */
int spt_space_cursor_map(struct spt_space_cursor *sc,
			 const struct spt_item *item,
			 const struct spt_prop *prop, bool replace);
long spt_space_cursor_unmap(struct spt_space_cursor *sc, u64 len);
int spt_space_cursor_protect_next(struct spt_space_cursor *sc, u64 len,
				  const struct spt_prot_op *op, u64 *start,
				  u64 *end);

/* Is [va, va + len) a valid, aligned, non-empty user-half range? */
bool spt_range_ok(u64 va, u64 len, u64 align);

#endif /* SPT_SPACE_H */
