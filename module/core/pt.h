/* SPDX-License-Identifier: GPL-2.0 */
/*
 * The shadowpt page-table core: public interface.
 *
 * A C counterpart of Asterinas OSTD's page table (ostd/src/mm/page_table):
 * a configuration (PageTableConfig), a page table owning a root node, and
 * cursors (Cursor / CursorMut) over a locked virtual-address range. Portable
 * C: the same files build into shadowpt.ko and into tests/ in user space.
 *
 * Levels are numbered as in the reference: level 1 is the PTE table, whose
 * leaves are 4 KiB; level 2 leaves are 2 MiB; level 3 leaves 1 GiB; the root
 * is level 4 or 5. A leaf at level L maps spt_level_size(L) bytes.
 */
#ifndef SPT_CORE_PT_H
#define SPT_CORE_PT_H

#include "../env/spt_env.h"
#include <linux/shadowpt.h>
#include "../frame/pool.h"

#define SPT_PAGE_SHIFT		12
#define SPT_PAGE_SIZE		BIT_ULL(SPT_PAGE_SHIFT)
#define SPT_NR_ENTRIES		512
#define SPT_MAX_LEVELS		5
#define SPT_MAX_LEAF_LEVEL	3	/* 1 GiB leaves */

static inline u64 spt_level_size(unsigned int level)
{
	return 1ULL << (SPT_PAGE_SHIFT + 9 * (level - 1));
}

/* Cache policies; the PTE bits for each come from the config's PAT table. */
enum spt_cache {
	SPT_CACHE_WB = 0,
	SPT_CACHE_WT,
	SPT_CACHE_UC_MINUS,
	SPT_CACHE_UC,
	SPT_CACHE_WC,
	SPT_CACHE_PAT0,		/* PAT entry 0..7 by index, for windows' PATs */
	SPT_CACHE_PAT7 = SPT_CACHE_PAT0 + 7,
	SPT_CACHE_NR,
};

/*
 * Page property flags (struct spt_prop.flags) are the uAPI's SPT_PROT_*
 * bits (uapi/linux/shadowpt.h, a header with no dependencies that the core
 * may include): present implies readable; GLOBAL is refused by the uAPI;
 * ACCESSED and DIRTY are set by hardware (DIRTY on leaves only).
 */
#define SPT_PROT_ALL		0x3fU

struct spt_prop {
	u8 flags;	/* SPT_PROP_* */
	u8 cache;	/* enum spt_cache */
};

/*
 * What a leaf maps. Tracked items are pool frames: mapping takes a
 * reference on the frame's slot, unmapping drops it, and the frame goes back
 * to the pool with its last reference. Untracked items are raw physical
 * ranges with no slot and no refcount (like the reference's untracked
 * kernel mappings).
 */
struct spt_item {
	u64 pa;			/* aligned to spt_level_size(level) */
	u8 level;		/* 1, 2 or 3 (3: untracked only) */
	bool tracked;
	/*
	 * Tracked, level 1: may be a 4 KiB piece of a 2 MiB frame (a share
	 * of part of it), whose reference is on the frame's head. Only
	 * spt_cursor_map() takes such items.
	 */
	bool piece;
	/*
	 * Untracked, level 1 only: a pinned user page (SPT_MAP_USER), whose
	 * pin the table's unpin hook releases with the leaf; pin_write: it
	 * was pinned writable (only then may the leaf be made writable).
	 */
	bool pinned, pin_write;
};

/*
 * Per-machine paging configuration (the reference's PagingConstsTrait +
 * PageTableConfig). Filled once: by the module from the running CPU and
 * kernel, by tests with fixed values.
 */
struct spt_cfg {
	unsigned int levels;		/* 4 or 5 */
	u64 pa_mask;			/* PTE bits 12..MAXPHYADDR-1 */
	/*
	 * PTE bits (PWT | PCD | PAT) selecting each cache policy in a 4 KiB
	 * leaf (PAT at bit 7). Huge leaves move PAT to bit 12.
	 */
	u64 cache_bits[SPT_CACHE_NR];
	/*
	 * Managed top-level index range (TOP_LEVEL_INDEX_RANGE): user half,
	 * 0..255. Entries outside it (the kernel half) are copied from the
	 * running kernel at creation, never modified through a cursor and
	 * never take references (TOP_LEVEL_CAN_UNMAP applies only inside).
	 */
	unsigned int top_first, top_last;	/* inclusive */
};

/*
 * The PAT-index policies of a config: SPT_CACHE_PAT0 + i has PWT = i & 1,
 * PCD = i & 2 and PAT = i & 4 (PTE bits 3, 4 and 7: a 4 KiB leaf's layout,
 * like every cache_bits entry).
 */
static inline void spt_cfg_set_pat_indexes(struct spt_cfg *cfg)
{
	unsigned int i;

	for (i = 0; i < 8; i++)
		cfg->cache_bits[SPT_CACHE_PAT0 + i] =
			(u64)(i & 3) << 3 | (u64)(i & 4) << 5;
}

/* Highest user-half address + 1 for a config: 2^47 or 2^56. */
u64 spt_cfg_user_end(const struct spt_cfg *cfg);

struct spt_flusher;

/*
 * A page table: a root node and the pool its nodes come from.
 *
 * @tlb_gen counts the changes that need a TLB flush (an entry removed,
 * replaced, split or re-protected, a node unlinked). A cursor bumps it
 * once, while it still holds the locks of the nodes whose entries it
 * changed, before the change can be seen unlocked. So a CPU that runs on
 * the table and reads spt_pt_tlb_gen() while holding a cursor over va,
 * and finds the value it read when it last flushed its TLB, holds no
 * stale translation for va.
 */
struct spt_pt {
	const struct spt_cfg *cfg;
	struct spt_pool *pool;
	/* spt_pool_va_offset(pool): a node's entries are at pa + this. */
	unsigned long va_offset;
	u64 root_pa;
	atomic_t tlb_gen;
	/*
	 * Nodes per level (index L - 1), linked or being linked, the root
	 * included; leaves per leaf level. Kept by the node and entry
	 * operations as the tree changes (unlinked nodes and their leaves
	 * stop counting at once); spt_pt_check() compares them with a walk.
	 */
	atomic_long_t nr_level_nodes[SPT_MAX_LEVELS];
	atomic_long_t nr_leaves[SPT_MAX_LEAF_LEVEL];
	/* Pinned leaves (SPT_PTE_PINNED), kept like nr_leaves. */
	atomic_long_t nr_pinned;
	/*
	 * Called for every pinned leaf removed (unmapped, replaced, torn
	 * down), under the cursor's locks: it must not sleep or fail, and
	 * queues the pin on @fl (fl->pinned) to be released after the TLB
	 * flush and grace period. NULL: the table has no pinned leaves.
	 */
	void (*unpin)(struct spt_pt *pt, u64 pa, bool write,
		      struct spt_flusher *fl);
};

/* Nodes the table holds now, every level (unlinked ones stop counting). */
long spt_pt_nr_nodes(const struct spt_pt *pt);

static inline int spt_pt_tlb_gen(const struct spt_pt *pt)
{
	return atomic_read(&pt->tlb_gen);
}

/*
 * The deferred-free list (the reference's TlbFlusher, minus the flush
 * itself): frames and nodes whose last reference went while a cursor was
 * changing the table are queued here, not freed. The owner of the cursor
 * flushes the TLBs that may still hold translations through them, waits for
 * an RCU grace period (lock-free walkers may still be reading a node), and
 * then calls spt_flusher_release(). Queued slots are linked through meta->word,
 * so queueing never allocates and never fails (nodes keep their lock and
 * stray bits there: see SPT_META_LINK_SHIFT in core/node.h).
 *
 * The flush span covers every leaf that was removed, replaced, split or
 * re-protected, and the whole span of every node that was unlinked (the
 * paging-structure caches may hold it). It is empty when start == end.
 */
struct spt_flusher {
	/* The frame number + 1 of the first slot, 0 = empty. */
	u64 head;
	unsigned long nr_frames;	/* queued data frames */
	unsigned long nr_nodes;		/* queued page-table nodes */
	/* 4 KiB pages of the queued data frames (a 2 MiB frame is 512). */
	unsigned long data_frames;
	/*
	 * Of data_frames, the pages of shared frames (SPT_META_SHARED):
	 * their last reference charges nobody.
	 */
	unsigned long data_shared;
	/*
	 * 4 KiB pages of the leaves released that mapped shared frames
	 * (each space counts its own leaves of those).
	 */
	unsigned long shared_pages;
	/*
	 * What the owner already took off its quota, of data_frames -
	 * data_shared + shared_pages.
	 */
	unsigned long data_settled;
	/* The VA span that changed and needs a TLB flush ([start, end)). */
	u64 flush_start, flush_end;
	/*
	 * Pins of removed pinned leaves (the unpin hook's list, opaque to
	 * the core; spt_flusher_release() leaves it to the owner) and
	 * their number.
	 */
	void *pinned;
	unsigned long nr_pinned;
};

void spt_flusher_init(struct spt_flusher *fl);
/*
 * Queue a slot whose refcount just reached 0 (a node or a data head; also
 * a data frame whose last reference was held outside any table).
 */
void spt_flusher_queue(struct spt_flusher *fl, u64 pa, struct spt_meta *m);
/* Give every queued frame/node back to the pool and reset @fl. Sleeps. */
void spt_flusher_release(struct spt_flusher *fl, struct spt_pool *pool);

/*
 * Create a page table: allocate the root (level cfg->levels) and, if
 * @kernel_top is non-NULL, copy its entries outside [top_first, top_last]
 * into the root (the shared kernel half). Returns 0 or -ENOMEM.
 */
int spt_pt_init(struct spt_pt *pt, const struct spt_cfg *cfg,
		struct spt_pool *pool, const u64 *kernel_top);

/*
 * Tear down everything in the managed range: drop every tracked reference,
 * queue every node (and the root) on @fl. Caller must be the last user.
 * Sleeps.
 */
void spt_pt_destroy(struct spt_pt *pt, struct spt_flusher *fl);

/*
 * A view of one page-table node (core/node.h): its physical address, its
 * 512 entries, its meta slot and its level.
 */
struct spt_node {
	u64 pa;
	u64 *ptes;
	struct spt_meta *meta;
	unsigned int level;
};

/*
 * A cursor over [start, end) of one page table. While it lives, it holds
 * the locks of the covering node and all its existing descendants in the
 * range (see locking.c), so the range is its own; cursors over disjoint
 * ranges run in parallel. A Cursor only reads; a CursorMut (the same
 * struct, opened with spt_cursor_mut_new) may also change the table and
 * must be given a flusher.
 */
struct spt_cursor {
	struct spt_pt *pt;
	u64 va;				/* current position */
	u64 start, end;			/* the locked range (barrier_va) */
	unsigned int guard_level;	/* level of the covering node */
	/*
	 * path[L - 1] = node at level L on the way to va (pa 0 if none).
	 * Levels above guard_level: the ancestors seen on the way down (not
	 * locked; used to remove a guard node the cursor left empty).
	 */
	struct spt_node path[SPT_MAX_LEVELS];
	unsigned int level;		/* lowest level present in path[] */
	struct spt_flusher *fl;		/* NULL for a read-only cursor */
	bool in_rcu;
	bool tlb_dirty;			/* changed what needs a TLB flush */
};

/*
 * Open a cursor. @start and @end must be page aligned, start < end, and
 * within the managed range: otherwise -EINVAL. A read-only cursor
 * (spt_cursor_new) never allocates and never changes the table: it locks
 * the deepest existing node covering the range. A CursorMut may allocate
 * intermediate nodes to find a covering node below the root (-ENOMEM on
 * failure, with nothing left behind); nodes it creates but leaves empty are
 * unlinked again by spt_cursor_drop (the checker forbids empty non-root
 * nodes).
 */
int spt_cursor_new(struct spt_cursor *c, struct spt_pt *pt, u64 start,
		   u64 end);
int spt_cursor_mut_new(struct spt_cursor *c, struct spt_pt *pt, u64 start,
		       u64 end, struct spt_flusher *fl);
/* Release every lock the cursor holds. */
void spt_cursor_drop(struct spt_cursor *c);

static inline u64 spt_cursor_va(const struct spt_cursor *c)
{
	return c->va;
}

/*
 * What query reports about the slot that contains the cursor's va: the
 * leaf, or the absent entry of the lowest existing node on the way (its
 * span is not clipped to the cursor's range).
 */
struct spt_query {
	u64 va_start, va_end;	/* the slot: a leaf, or the absent span */
	bool mapped;
	struct spt_item item;	/* if mapped */
	struct spt_prop prop;	/* if mapped */
	unsigned int level;	/* leaf level, or level of the absent entry */
	/*
	 * A present entry on the walk has a reserved bit (SPT_PTE_RSVD);
	 * @prop (if mapped) is the effective permission of the walk: W and
	 * U only if every level has them, EXEC only if none has NX.
	 */
	bool rsvd;
	u8 pkey;		/* if mapped: the leaf's protection key */
};

/*
 * Query the mapping at the cursor's va without moving it. Returns 0, or
 * -ERANGE if the cursor is at the end of its range.
 */
int spt_cursor_query(struct spt_cursor *c, struct spt_query *q);

/*
 * Move forward to the first mapped address in [va, va + len). Returns true
 * and leaves the cursor at that address (the start of the leaf, or va if va
 * itself is mapped), or false and leaves the cursor at min(va + len, end).
 * va + len must not pass the end of the range (-> false, no move).
 */
bool spt_cursor_find_next(struct spt_cursor *c, u64 len);

/* Move to @va, which must be page aligned and in [start, end): -EINVAL. */
int spt_cursor_jump(struct spt_cursor *c, u64 va);

/*
 * Map @item with @prop at the cursor's va and advance past it. va must be
 * aligned to the item's size and the item must fit in the range (-EINVAL).
 * Whatever was mapped there before is unmapped first (the reference's
 * replacing semantics; frames queued on fl); *@replaced (if non-NULL)
 * receives the number of leaves replaced. For a tracked item the caller
 * passes in one reference (a handle) which the mapping keeps: on success
 * the caller no longer owns it; its slot must be a DATA head of the item's
 * size, or with @item->piece a 4 KiB piece of a 2 MiB frame (a 1 GiB item
 * is untracked only). @prop may not have
 * SPT_PROT_GLOBAL (the managed range is never global) or bits outside
 * SPT_PROT_ALL. A 4 KiB or 2 MiB item inside an existing huge leaf splits
 * that leaf first. Returns 0, -EINVAL (also for a read-only cursor),
 * -ENOMEM (nodes could not be allocated, or a split huge frame would pass
 * SPT_REF_MAX; nothing changed, the caller still owns its reference).
 */
int spt_cursor_map(struct spt_cursor *c, const struct spt_item *item,
		   const struct spt_prop *prop, unsigned long *replaced);

/*
 * Unmap everything in [va, va + len) and move to va + len. Absent ranges
 * are skipped. A huge leaf that is only partly covered is split first.
 * Page-table nodes that become empty are unlinked and queued on fl.
 * Returns the number of leaves removed (>= 0), or -ENOMEM if a split
 * failed: then the cursor's va says how far it got, and everything below
 * va is unmapped. -EINVAL if len is not page aligned or passes the range.
 */
long spt_cursor_unmap(struct spt_cursor *c, u64 len);

/* A protect operation: new = (old & ~clear) | set; cache < 0 keeps it. */
struct spt_prot_op {
	u8 set, clear;		/* SPT_PROP_* */
	s8 cache;		/* enum spt_cache, or -1 */
};

/*
 * A run of leaves of one level, mapped one after the other from the
 * cursor's va by spt_cursor_map_run(): the @nr frames of the array @pas,
 * or, if @pas is NULL, the physically contiguous frames from @pa.
 */
struct spt_map_run {
	const u64 *pas;
	u64 pa;
	unsigned long nr;
	u8 level;		/* 1, 2 or 3 (3: untracked only) */
	bool tracked;
};

/*
 * Map @run with @prop from the cursor's va, as spt_cursor_map() would one
 * item after the other (replacing what is there; one reference passed in
 * per tracked frame), and move past what was mapped. Validated once: the
 * cursor, the level, @prop, and that the run fits in the range (-EINVAL,
 * nothing done); a contiguous run's whole physical range too. An array's
 * frames are checked one by one as they are mapped: the map stops at the
 * first bad one (-EINVAL) or when nodes cannot be had (-ENOMEM). *@done is
 * always the exact number of leaves mapped (and of references taken
 * over), also on an error.
 */
int spt_cursor_map_run(struct spt_cursor *c, const struct spt_map_run *run,
		       const struct spt_prop *prop, unsigned long *done);

/*
 * Find the next mapped leaf in [va, va + len), split it if it crosses the
 * end of that window (or begins before va), apply @op and move past it.
 * Returns 1 with [*start, *end) the range changed, 0 if nothing is mapped
 * in the window (cursor at va + len), -ENOMEM if a split failed (cursor
 * not moved past the leaf), -EINVAL for a bad len, a read-only cursor, or
 * an op that sets SPT_PROT_GLOBAL, names bits outside SPT_PROT_ALL or an
 * unknown cache policy.
 */
int spt_cursor_protect_next(struct spt_cursor *c, u64 len,
			    const struct spt_prot_op *op, u64 *start,
			    u64 *end);

/*
 * Apply @op to every mapped leaf in [va, va + len) and move to va + len
 * (spt_cursor_protect_next() in a loop, a node of 4 KiB leaves at a time).
 * *@count grows by the leaves changed (after splits), *@max_level (if not
 * NULL) rises to the largest level among them. Returns 0, or what
 * spt_cursor_protect_next() returns on an error (-ENOMEM: the cursor's
 * va says how far it got).
 */
int spt_cursor_protect(struct spt_cursor *c, u64 len,
		       const struct spt_prot_op *op, u64 *count,
		       unsigned int *max_level);

/*
 * The head slot of the tracked frame that @item (a frame, or at level 1
 * also a 4 KiB piece of a 2 MiB frame) maps into, with its pa in
 * *@head_pa; NULL if it is no such frame.
 */
struct spt_meta *spt_item_head(struct spt_pt *pt, const struct spt_item *item,
			       u64 *head_pa);

/*
 * Drop the reference a tracked @item carries and was not mapped with (an
 * untracked item carries none): the frame is queued on @fl if it was the
 * last one.
 */
void spt_item_put(struct spt_pt *pt, const struct spt_item *item,
		  struct spt_flusher *fl);

/*
 * Deliberate entry bits (SPT_IOCTL_ENTRY_BITS): on every present entry of
 * @level (leaf or child entry) whose span meets [va, end), new = (old &
 * ~clear) | set, with the deliberate mark (pte.h) kept in line; a 4 KiB
 * leaf pinned read-only never gets RW. Counts the entries met and the
 * ones changed; @first is the first entry met, after the change.
 */
struct spt_bits_op {
	unsigned int level;
	u64 va, end;
	u64 clear, set;		/* PTE bits within SPT_PTE_BITS_ALL */
	u64 entries, changed, first;
};

/*
 * A cursor for spt_cursor_entry_bits() at @level over [start, end): it
 * locks whole nodes of @level (or the managed range, at the root level)
 * and allocates nothing. Changes are flushed through @fl.
 */
int spt_cursor_bits_new(struct spt_cursor *c, struct spt_pt *pt,
			unsigned int level, u64 start, u64 end,
			struct spt_flusher *fl);

/* Apply @op under a cursor of spt_cursor_bits_new(). 0 or -EINVAL. */
int spt_cursor_entry_bits(struct spt_cursor *c, struct spt_bits_op *op);

/*
 * largest_pages: the leaf level to use at @va for the rest of
 * [va, va + len) mapping physical @pa (both advancing together): the
 * largest level <= @max_level whose size divides va and pa and fits.
 */
unsigned int spt_largest_level(u64 va, u64 pa, u64 len,
			       unsigned int max_level);

/*
 * The invariant walk (check.c). Verifies, over the whole table:
 * every present non-leaf entry points at a pool slot of usage PT whose
 * level is one below; no node is reachable twice; every non-root node has
 * nr_children == its number of present entries and > 0; leaves are aligned
 * to their size and only at levels 1..3; no reserved bits; no global bit in
 * the managed range; the kernel half equals @kernel_top (if given); tracked
 * leaves point at DATA/TAIL slots of the right size. With @expect_refs, also
 * that every tracked frame's refcount == (PTEs mapping it in this table) +
 * its handles as reported by @handles (may be NULL: 0 handles).
 * Returns 0, or -EUCLEAN with a description of the first violation in
 * @msg (size @msg_len).
 */
int spt_pt_check(struct spt_pt *pt, const u64 *kernel_top, bool expect_refs,
		 u32 (*handles)(u64 pa, void *arg), void *arg, char *msg,
		 size_t msg_len);

/*
 * The same over @n tables that may share frames: every tracked frame's
 * refcount == its leaves in all of them + its @handles (may be NULL).
 */
int spt_pt_check_many(struct spt_pt *const *pts, const u64 *const *kernel_tops,
		      unsigned int n, u32 (*handles)(u64 pa, void *arg),
		      void *arg, char *msg, size_t msg_len,
		      unsigned int *bad);

/* Node counts per level (index L - 1) and leaves per level, by a walk. */
struct spt_pt_counts {
	u64 nodes[SPT_MAX_LEVELS];
	u64 leaves[SPT_MAX_LEAF_LEVEL];
	u64 pinned;	/* pinned leaves (SPT_MAP_USER), all 4 KiB */
};

void spt_pt_count(struct spt_pt *pt, struct spt_pt_counts *counts);

/*
 * The same counts from the table's counters, in O(1): exact when no
 * cursor that changes the table is open, a moment's view otherwise.
 */
void spt_pt_counts_read(const struct spt_pt *pt, struct spt_pt_counts *counts);

#endif /* SPT_CORE_PT_H */
