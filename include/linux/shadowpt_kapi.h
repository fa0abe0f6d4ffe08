/* SPDX-License-Identifier: GPL-2.0 */
/*
 * shadowpt in-kernel API: what shadowpt.ko exports to other modules.
 *
 * Build a client module with -I<shadowpt>/include -I<shadowpt>/uapi and
 * KBUILD_EXTRA_SYMBOLS=<shadowpt build>/Module.symvers; see
 * samples/shadowpt_client/ and docs/kapi.md.
 */
#ifndef _LINUX_SHADOWPT_KAPI_H
#define _LINUX_SHADOWPT_KAPI_H

#include <linux/bits.h>
#include <linux/types.h>
#include <linux/shadowpt.h>

/**
 * DOC: shadowpt in-kernel API
 *
 * The same spaces, cursors and load windows that /dev/shadowpt drives, for
 * kernel code. A space created here also gets an id (shadowpt_space_id()),
 * so sptctl can dump, check and even destroy it. The cursor functions are
 * thin wrappers over the page-table core (module/core/pt.h), itself a C
 * counterpart of the Cursor / CursorMut of Asterinas OSTD: a cursor locks a
 * virtual-address range of one space, and everything between
 * shadowpt_cursor_new() and shadowpt_cursor_drop() happens with that range
 * to itself.
 *
 * Arguments are checked as the ioctls check them: a bad argument gives a
 * precise negative errno (the table in <linux/shadowpt.h>, plus EDEADLK and
 * EBUSY as documented below) and changes nothing.
 *
 * Context. Every function may sleep, except the ones called on an open
 * cursor (query, find_next, jump, map, unmap, protect_next, va), which do
 * not sleep and must not be given the chance: a cursor holds spin-type
 * node locks with preemption disabled from shadowpt_cursor_new() until
 * shadowpt_cursor_drop(), which must be called by the same task. A task
 * that holds a cursor and calls a function that may sleep (another
 * shadowpt_cursor_new() included, which could wait for its own locks) gets
 * -EDEADLK and nothing happens.
 *
 * Lifetimes. A space handle holds a reference on its space; the space
 * outlives a destroy through the uAPI (its handle then gives -ENOENT) and is
 * only freed when its handle is destroyed. shadowpt_space_destroy() refuses
 * (-EBUSY) while the handle has cursors open or frames allocated that are
 * not mapped. Every handle holds a reference on shadowpt.ko (the symbol
 * dependency of the client module), so shadowpt cannot be unloaded under a
 * client; handles a client leaked when it was unloaded are destroyed, with
 * a warning, when shadowpt is.
 */

struct shadowpt_space;
struct shadowpt_cursor;
struct shadowpt_frame;

/**
 * struct shadowpt_space_opts - options of shadowpt_space_create()
 * @levels: paging levels: 0 for those of the running kernel, else 4 or 5,
 *          which must be those of the running kernel (a space is loaded
 *          into CR3, whose format CR4.LA57 fixes)
 * @flags: must be 0
 * @limit_bytes: most pool memory the space may hold in data frames, a
 *               multiple of 4 KiB; 0 for the module parameter space_mb,
 *               which it may not exceed
 */
struct shadowpt_space_opts {
	u32 levels;
	u32 flags;
	u64 limit_bytes;
};

/**
 * shadowpt_space_create() - create an empty space
 * @opts: options, or NULL for the defaults
 * @out: receives the handle
 *
 * The space's kernel half is the running kernel's, as for
 * SPT_IOCTL_SPACE_CREATE; it counts against the max_spaces parameter.
 *
 * Context: process context; may sleep.
 * Return: 0; -EINVAL for a bad option; -EOPNOTSUPP for a level count the
 * running kernel does not use; -ENOSPC if max_spaces spaces exist; -ENOMEM;
 * -EDEADLK if the caller holds a cursor; -ENOENT if the new space was
 * destroyed through the uAPI before this returned.
 */
int shadowpt_space_create(const struct shadowpt_space_opts *opts,
			  struct shadowpt_space **out);

/**
 * shadowpt_space_destroy() - destroy a space and release its handle
 * @sp: the handle
 *
 * Unmaps everything, frees every frame and node, and frees the handle.
 *
 * Context: process context; may sleep (TLB flush, RCU grace period).
 * Return: 0; -ENOENT if the space had already been destroyed through the
 * uAPI (the handle is released all the same); -EBUSY if the handle has
 * cursors open or unmapped frames allocated, and -EDEADLK if the caller
 * holds a cursor: nothing changes then and the handle stays valid.
 */
int shadowpt_space_destroy(struct shadowpt_space *sp);

/**
 * shadowpt_space_id() - the id of a space in the uAPI
 * @sp: the handle
 *
 * Context: any.
 * Return: the id sptctl and the ioctls know the space by (>= 1).
 */
u32 shadowpt_space_id(const struct shadowpt_space *sp);

/**
 * shadowpt_space_levels() - the paging levels of a space
 * @sp: the handle
 *
 * Context: any.
 * Return: 4 or 5.
 */
unsigned int shadowpt_space_levels(const struct shadowpt_space *sp);

/**
 * shadowpt_space_user_end() - the end of the managed (user) half
 * @sp: the handle
 *
 * Context: any.
 * Return: 2^47 with 4-level paging, 2^56 with 5-level paging; every range
 * given to a cursor lies below it.
 */
u64 shadowpt_space_user_end(const struct shadowpt_space *sp);

/**
 * shadowpt_space_check() - run the invariant checker on a space
 * @sp: the handle
 * @msg: receives the first violation, NUL-terminated (may be NULL)
 * @msg_len: size of @msg
 *
 * The checker of SPT_IOCTL_CHECK: structure, child counts, alignment,
 * reserved bits, the kernel half, and the refcount of every tracked frame.
 *
 * Context: process context; may sleep.
 * Return: 0; -EUCLEAN with @msg filled in; -ENOENT if the space was
 * destroyed through the uAPI; -EDEADLK if the caller holds a cursor.
 */
int shadowpt_space_check(struct shadowpt_space *sp, char *msg,
			 size_t msg_len);

/**
 * shadowpt_frame_alloc() - allocate a zeroed pool frame for a space
 * @sp: the space it will be mapped in (it is charged to its limit)
 * @level: 1 for 4 KiB, 2 for 2 MiB
 * @out: receives the frame handle
 *
 * A tracked frame, as the reference's Frame: the handle holds its one
 * reference until shadowpt_cursor_map_frame() gives it to a mapping or
 * shadowpt_frame_free() gives it back.
 *
 * Context: process context; may sleep.
 * Return: 0; -EINVAL for another @level; -ENOSPC past the space's limit;
 * -ENOMEM past the pool limit (pool_mb); -ENOENT if the space was destroyed
 * through the uAPI; -EDEADLK if the caller holds a cursor.
 */
int shadowpt_frame_alloc(struct shadowpt_space *sp, unsigned int level,
			 struct shadowpt_frame **out);

/**
 * shadowpt_frame_free() - give back a frame that was never mapped
 * @f: the frame handle, or NULL
 *
 * Context: process context, also under a cursor; does not sleep.
 */
void shadowpt_frame_free(struct shadowpt_frame *f);

/**
 * shadowpt_frame_pa() - physical address of a frame
 * @f: the frame handle
 *
 * Context: any.
 * Return: the physical address, aligned to the frame's size.
 */
u64 shadowpt_frame_pa(const struct shadowpt_frame *f);

/**
 * shadowpt_frame_ptr() - kernel pointer to a frame's memory
 * @f: the frame handle
 *
 * For filling a frame before it is mapped; the pointer must not be used
 * after the frame was mapped or freed.
 *
 * Context: any.
 * Return: the frame's address in the kernel's direct map.
 */
void *shadowpt_frame_ptr(const struct shadowpt_frame *f);

/* Open the cursor for changes (a CursorMut), not only for reading. */
#define SHADOWPT_CURSOR_MUT	BIT(0)

/**
 * shadowpt_cursor_new() - lock a range of a space
 * @sp: the handle
 * @start: start of the range, 4 KiB aligned
 * @end: end of the range (exclusive), 4 KiB aligned, above @start and at
 *       most shadowpt_space_user_end()
 * @flags: 0 for a read-only Cursor, SHADOWPT_CURSOR_MUT for a CursorMut
 * @out: receives the cursor, positioned at @start
 *
 * Locks the deepest existing node that covers the range and its
 * descendants in it (a CursorMut creates the intermediate nodes it needs
 * first), so cursors over disjoint ranges work in parallel and one over an
 * overlapping range waits. A CursorMut reserves a few pool frames for the
 * nodes its operations may need; past those it allocates without sleeping.
 * The caller must not sleep until shadowpt_cursor_drop(); it may hold one
 * cursor at a time.
 *
 * Context: process context, may sleep before it locks; returns with
 * preemption disabled.
 * Return: 0; -EINVAL for a bad range or flag; -ENOMEM; -ENOENT if the
 * space was destroyed through the uAPI; -EDEADLK if the caller already
 * holds a cursor.
 */
int shadowpt_cursor_new(struct shadowpt_space *sp, u64 start, u64 end,
			u32 flags, struct shadowpt_cursor **out);

/**
 * shadowpt_cursor_drop() - unlock a cursor's range and free the cursor
 * @c: the cursor, by the task that opened it
 *
 * For a CursorMut, then flushes the TLBs of the CPUs that have the space
 * loaded for what changed, waits for an RCU grace period and gives what
 * was unmapped back to the pool.
 *
 * Context: drops the cursor's locks first; may then sleep.
 */
void shadowpt_cursor_drop(struct shadowpt_cursor *c);

/**
 * shadowpt_cursor_va() - the current position of a cursor
 * @c: the cursor
 *
 * Context: under the cursor; does not sleep.
 * Return: the virtual address the cursor is at (the range's end when it
 * has moved past everything).
 */
u64 shadowpt_cursor_va(const struct shadowpt_cursor *c);

/**
 * struct shadowpt_mapping - what shadowpt_cursor_query() found
 * @va_start: start of the leaf containing the cursor's position, or of the
 *            largest absent slot containing it
 * @va_end: end (exclusive) of that leaf or slot; not clipped to the range
 * @pa: physical address mapped at @va_start (0 if not mapped)
 * @level: leaf level (1: 4 KiB, 2: 2 MiB, 3: 1 GiB), or the level of the
 *         absent entry
 * @prot: SPT_PROT_* bits, SPT_PROT_ACCESSED and SPT_PROT_DIRTY included
 * @cache: enum spt_cache_mode
 * @mapped: a leaf maps the position
 * @tracked: the leaf maps a pool frame (not a raw physical range)
 */
struct shadowpt_mapping {
	u64 va_start;
	u64 va_end;
	u64 pa;
	u32 level;
	u32 prot;
	u32 cache;
	bool mapped;
	bool tracked;
};

/**
 * shadowpt_cursor_query() - what is mapped at the cursor's position
 * @c: the cursor
 * @m: receives the mapping, or the absent slot
 *
 * Does not move the cursor.
 *
 * Context: under the cursor; does not sleep.
 * Return: 0; -ERANGE if the cursor is at the end of its range.
 */
int shadowpt_cursor_query(struct shadowpt_cursor *c,
			  struct shadowpt_mapping *m);

/**
 * shadowpt_cursor_find_next() - move to the next mapped address
 * @c: the cursor
 * @len: how far to look from the position: a non-zero multiple of 4 KiB
 *       that does not pass the end of the range
 *
 * Context: under the cursor; does not sleep.
 * Return: 1 with the cursor at the first mapped address in
 * [position, position + @len) (the start of its leaf, or the position if
 * it is mapped itself); 0 with the cursor at position + @len if nothing is
 * mapped there; -EINVAL for a bad @len (the cursor does not move).
 */
int shadowpt_cursor_find_next(struct shadowpt_cursor *c, u64 len);

/**
 * shadowpt_cursor_jump() - move the cursor
 * @c: the cursor
 * @va: the new position: 4 KiB aligned, inside the cursor's range
 *
 * Context: under the cursor; does not sleep.
 * Return: 0; -EINVAL for a bad @va (the cursor does not move).
 */
int shadowpt_cursor_jump(struct shadowpt_cursor *c, u64 va);

/* Map over whatever is mapped there (else -EEXIST, as SPT_MAP_REPLACE). */
#define SHADOWPT_MAP_REPLACE	BIT(0)

/**
 * shadowpt_cursor_map_frame() - map a tracked frame at the cursor
 * @c: a CursorMut
 * @f: a frame allocated for the cursor's space
 * @prot: SPT_PROT_WRITE | SPT_PROT_EXEC | SPT_PROT_USER
 * @cache: enum spt_cache_mode
 * @flags: 0 or SHADOWPT_MAP_REPLACE
 *
 * The cursor's position must be aligned to the frame's size and the frame
 * must fit in the range; the cursor moves past it. On success the mapping
 * owns the frame and @f is freed; on failure the caller still owns @f.
 * With SHADOWPT_MAP_REPLACE, what was mapped there is unmapped first (a
 * huge leaf that sticks out is split).
 *
 * Context: under the cursor; does not sleep.
 * Return: 0; -EINVAL for a read-only cursor, a frame of another space,
 * bad @prot, @cache or @flags, a misaligned position or a frame that does
 * not fit; -EEXIST if something is mapped there and SHADOWPT_MAP_REPLACE
 * was not given; -ENOMEM if a node could not be allocated.
 */
int shadowpt_cursor_map_frame(struct shadowpt_cursor *c,
			      struct shadowpt_frame *f, u32 prot, u32 cache,
			      u32 flags);

/**
 * shadowpt_cursor_map_phys() - map a raw physical range at the cursor
 * @c: a CursorMut
 * @pa: physical address, aligned to the leaf's size and below MAXPHYADDR
 * @level: leaf level: 1 (4 KiB), 2 (2 MiB) or 3 (1 GiB; only on a CPU with
 *         1 GiB pages, see SPT_IOCTL_VERSION's out_page_sizes)
 * @prot: SPT_PROT_WRITE | SPT_PROT_EXEC | SPT_PROT_USER
 * @cache: enum spt_cache_mode
 * @flags: 0 or SHADOWPT_MAP_REPLACE
 *
 * An untracked item, as SPT_MAP_PHYS: no frame metadata, no refcount. As
 * for the ioctl, the module parameter allow_phys must be set and the kernel
 * must not be locked down; the capability check of the ioctl
 * (CAP_SYS_RAWIO) does not apply to kernel code, which can map anything
 * anyway. The cursor moves past the leaf.
 *
 * Context: under the cursor; does not sleep.
 * Return: 0; -EINVAL for a read-only cursor, bad @pa, @level, @prot,
 * @cache or @flags, a misaligned position or a leaf that does not fit;
 * -EPERM without allow_phys or under lockdown; -EEXIST if something is
 * mapped there and SHADOWPT_MAP_REPLACE was not given; -ENOMEM if a node
 * could not be allocated.
 */
int shadowpt_cursor_map_phys(struct shadowpt_cursor *c, u64 pa,
			     unsigned int level, u32 prot, u32 cache,
			     u32 flags);

/**
 * shadowpt_cursor_unmap() - unmap from the cursor's position on
 * @c: a CursorMut
 * @len: bytes: a non-zero multiple of 4 KiB that does not pass the end of
 *       the range
 *
 * Absent parts are skipped; a huge leaf that sticks out of the range is
 * split; nodes that become empty are freed. The cursor moves to
 * position + @len. Frames go back to the pool in shadowpt_cursor_drop().
 *
 * Context: under the cursor; does not sleep.
 * Return: the number of leaves removed; -EINVAL for a read-only cursor or
 * a bad @len (nothing changes); -ENOMEM if a split failed: the cursor is
 * then where it stopped, and everything below it is unmapped.
 */
long shadowpt_cursor_unmap(struct shadowpt_cursor *c, u64 len);

/* shadowpt_cursor_protect_next(): keep each leaf's cache mode. */
#define SHADOWPT_CACHE_KEEP	(-1)

/**
 * shadowpt_cursor_protect_next() - change the next mapped leaf
 * @c: a CursorMut
 * @len: how far to look from the position: a non-zero multiple of 4 KiB
 *       that does not pass the end of the range
 * @prot: the leaf's new SPT_PROT_WRITE | SPT_PROT_EXEC | SPT_PROT_USER
 * @cache: the new enum spt_cache_mode, or SHADOWPT_CACHE_KEEP
 * @start: receives the start of the range changed (may be NULL)
 * @end: receives its end (may be NULL)
 *
 * Finds the next leaf in [position, position + @len), splits it if it
 * begins before the position or ends after position + @len, sets its
 * protection and moves past it: call it in a loop to protect a range.
 *
 * Context: under the cursor; does not sleep.
 * Return: 1 if a leaf was changed; 0 if nothing is mapped there (the
 * cursor is at position + @len); -EINVAL for a read-only cursor, a bad
 * @len, @prot or @cache (nothing changes); -ENOMEM if a split failed.
 */
int shadowpt_cursor_protect_next(struct shadowpt_cursor *c, u64 len,
				 u32 prot, int cache, u64 *start, u64 *end);

/**
 * struct shadowpt_load_result - how a load window went
 * @status: enum spt_load_window_status
 * @cpu: the CPU it ran on
 * @ops_run: ops that ran
 * @faults: ops that faulted (SPT_LOAD_FAULT or SPT_LOAD_PREDICTED)
 * @ns: time with the space in CR3, in nanoseconds
 * @tsc_khz: TSC frequency in kHz (for SPT_LOAD_OP_F_TIMED's out_cycles)
 * @cpu_features: SPT_LOAD_CPU_* bits of the window's CPU
 */
struct shadowpt_load_result {
	u32 status;
	u32 cpu;
	u32 ops_run;
	u32 faults;
	u64 ns;
	u32 tsc_khz;
	u32 cpu_features;
};

/**
 * shadowpt_load() - run a program with a space in CR3
 * @sp: the handle
 * @flags: SPT_LOAD_CPU, SPT_LOAD_FORCE
 * @cpu: with SPT_LOAD_CPU, the CPU to run on; else 0
 * @ops: the program (struct spt_load_op, as for SPT_IOCTL_LOAD); each op's
 *       out_ fields are ignored and receive its result
 * @nr_ops: 1..SPT_LOAD_MAX_OPS
 * @res: receives how the window went
 *
 * SPT_IOCTL_LOAD for kernel callers: the window runs on the first
 * isolated CPU (or @cpu) with interrupts off, loads the space with PCID 0,
 * runs the ops through the MMU, and restores CR3 exactly. Untracked leaves
 * are read and written only while allow_phys is set and the kernel is not
 * locked down (else that op ends SPT_LOAD_ERROR with EPERM).
 *
 * Context: process context; may sleep (waits for the target CPU).
 * Return: 0; -EINVAL for bad arguments or a bad op; -ENODEV if the CPU does
 * not exist or is offline, or no CPU is isolated; -EXDEV if @cpu is not
 * isolated and SPT_LOAD_FORCE was not given; -ENOSPC or -ENOMEM for MAP
 * ops' frames; -ENOENT if the space was destroyed through the uAPI;
 * -EDEADLK if the caller holds a cursor; -EOPNOTSUPP if an op needs a
 * CPU feature the CPU lacks (INVPCID, RDTSCP); -EPERM for a NOFLUSH UNMAP
 * while untracked memory may not be mapped.
 */
int shadowpt_load(struct shadowpt_space *sp, u32 flags, u32 cpu,
		  struct spt_load_op *ops, u32 nr_ops,
		  struct shadowpt_load_result *res);

#endif /* _LINUX_SHADOWPT_KAPI_H */
