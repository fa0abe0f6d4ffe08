/* SPDX-License-Identifier: LGPL-2.1 OR GPL-2.0 */
/*
 * libshadowpt: the C library of shadowpt. One function per operation of
 * /dev/shadowpt and of the generic netlink family "shadowpt".
 *
 * Conventions: every function that can fail returns 0 (or a count) on
 * success and a negative errno on failure, and also leaves that errno in
 * errno. The errno is the kernel's, unchanged (uapi/linux/shadowpt.h lists
 * them); the library adds only -EINVAL for a NULL handle or argument it
 * needs, -ENOMEM, and -EBADMSG for a netlink message without a mandatory
 * attribute. The library sets the size fields of the uAPI structs (the
 * size it was built with) and the element sizes of arrays; callers never
 * do. Operations that fail part-way still report how far they got through
 * their out parameters. Output pointers may be NULL when not wanted.
 *
 * Link with -lshadowpt (pkg-config shadowpt). Thread safety: a handle may
 * be used by one thread at a time; separate handles are independent.
 */
#ifndef LIBSHADOWPT_H
#define LIBSHADOWPT_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <linux/shadowpt.h>

#ifdef __cplusplus
extern "C" {
#endif

/* The library's own version (not the module's API version). */
#define LIBSHADOWPT_VERSION_MAJOR	1
#define LIBSHADOWPT_VERSION_MINOR	0

struct spt;
struct spt_nl;
struct spt_load_prog;

/**
 * spt_open() - open /dev/shadowpt
 * @out: receives the handle
 *
 * Return: 0, or the negative errno of open(2) (-ENOENT: module not loaded,
 * -EACCES/-EPERM: not privileged).
 */
int spt_open(struct spt **out);

/**
 * spt_open_path() - open a shadowpt device at another path
 * @path: device node path
 * @out: receives the handle
 *
 * Return: 0 or a negative errno.
 */
int spt_open_path(const char *path, struct spt **out);

/**
 * spt_close() - close a handle; fd-owned spaces it created are destroyed
 * @h: the handle (NULL is ignored)
 */
void spt_close(struct spt *h);

/**
 * spt_fd() - the file descriptor of a handle
 * @h: the handle
 *
 * Return: the descriptor of /dev/shadowpt, owned by the handle.
 */
int spt_fd(const struct spt *h);

/**
 * spt_version() - SPT_IOCTL_VERSION: API version and paging configuration
 * @h: the handle
 * @out: receives the answer (size set by the library)
 *
 * Return: 0 or a negative errno.
 */
int spt_version(struct spt *h, struct spt_version *out);

/**
 * spt_space_create() - SPT_IOCTL_SPACE_CREATE: make an empty space
 * @h: the handle
 * @flags: 0 or SPT_SPACE_FD_OWNED
 * @out: optional: the whole answer (root, levels)
 *
 * Return: the new space id (>= 1), or a negative errno (-ENOSPC when
 * max_spaces is reached).
 */
int spt_space_create(struct spt *h, uint32_t flags,
		     struct spt_space_create *out);

/**
 * spt_space_destroy() - SPT_IOCTL_SPACE_DESTROY: free a space
 * @h: the handle
 * @space_id: the space
 *
 * Return: 0 or a negative errno (-ENOENT: no such space).
 */
int spt_space_destroy(struct spt *h, uint32_t space_id);

/**
 * spt_space_info() - SPT_IOCTL_SPACE_INFO: describe one space
 * @h: the handle
 * @space_id: the space
 * @out: receives the description
 *
 * Return: 0 or a negative errno.
 */
int spt_space_info(struct spt *h, uint32_t space_id,
		   struct spt_space_info *out);

/**
 * spt_map() - SPT_IOCTL_MAP: map a range, tracked or untracked
 * @h: the handle
 * @space_id: the space
 * @va: start (4 KiB aligned; 2 MiB with SPT_MAP_2M)
 * @length: bytes
 * @flags: SPT_MAP_4K, SPT_MAP_2M, SPT_MAP_LARGEST or SPT_MAP_PHYS,
 *         optionally with SPT_MAP_REPLACE
 * @prot: SPT_PROT_WRITE | SPT_PROT_EXEC | SPT_PROT_USER
 * @cache: enum spt_cache_mode
 * @phys: physical start with SPT_MAP_PHYS, else 0
 * @mapped: optional: bytes mapped from @va on, also on failure
 *
 * Return: 0 or a negative errno (-EEXIST, -ENOMEM, -ENOSPC, -EPERM...).
 */
int spt_map(struct spt *h, uint32_t space_id, uint64_t va, uint64_t length,
	    uint32_t flags, uint32_t prot, uint32_t cache, uint64_t phys,
	    uint64_t *mapped);

/**
 * spt_map_4k() - map fresh 4 KiB frames (write-back)
 * @h: the handle
 * @space_id: the space
 * @va: start, 4 KiB aligned
 * @length: bytes
 * @prot: SPT_PROT_* bits
 *
 * Return: 0 or a negative errno.
 */
int spt_map_4k(struct spt *h, uint32_t space_id, uint64_t va, uint64_t length,
	       uint32_t prot);

/**
 * spt_map_2m() - map fresh 2 MiB frames (write-back)
 * @h: the handle
 * @space_id: the space
 * @va: start, 2 MiB aligned
 * @length: bytes, 2 MiB aligned
 * @prot: SPT_PROT_* bits
 *
 * Return: 0 or a negative errno.
 */
int spt_map_2m(struct spt *h, uint32_t space_id, uint64_t va, uint64_t length,
	       uint32_t prot);

/**
 * spt_map_largest() - map 2 MiB frames where aligned, 4 KiB elsewhere
 * @h: the handle
 * @space_id: the space
 * @va: start, 4 KiB aligned
 * @length: bytes
 * @prot: SPT_PROT_* bits
 *
 * Return: 0 or a negative errno.
 */
int spt_map_largest(struct spt *h, uint32_t space_id, uint64_t va,
		    uint64_t length, uint32_t prot);

/**
 * spt_map_phys() - map a raw physical range, untracked (write-back)
 * @h: the handle
 * @space_id: the space
 * @va: start, 4 KiB aligned
 * @length: bytes
 * @phys: physical start, 4 KiB aligned
 * @prot: SPT_PROT_* bits
 *
 * Return: 0 or a negative errno (-EPERM without CAP_SYS_RAWIO and
 * allow_phys=1).
 */
int spt_map_phys(struct spt *h, uint32_t space_id, uint64_t va,
		 uint64_t length, uint64_t phys, uint32_t prot);

/**
 * spt_map_share() - SPT_IOCTL_MAP with SPT_MAP_SHARE: share memory
 * @h: the handle
 * @space_id: the space to map in
 * @va: start, 4 KiB aligned
 * @length: bytes, 4 KiB aligned
 * @src_space_id: the space whose memory is mapped (may be @space_id: an
 *                alias)
 * @src_va: start of the source range, 4 KiB aligned
 * @prot: SPT_PROT_* bits of the new leaves
 * @cache: enum spt_cache_mode of the new leaves
 * @mapped: optional: bytes mapped from @va on, also on failure
 *
 * Maps at @va what backs [@src_va, @src_va + @length) of the source: the
 * same frames, each leaf holding a reference (LIBSHADOWPT_1.2).
 *
 * Return: 0 or a negative errno (-ENXIO: part of the source range is not
 * mapped; -ENOENT: no such space; -EEXIST, -ENOSPC, -EPERM...).
 */
int spt_map_share(struct spt *h, uint32_t space_id, uint64_t va,
		  uint64_t length, uint32_t src_space_id, uint64_t src_va,
		  uint32_t prot, uint32_t cache, uint64_t *mapped);

/**
 * spt_mmap() - SPT_IOCTL_MMAP + mmap(2): a space's memory in this process
 * @h: the handle
 * @space_id: the space
 * @va: start in the space, 4 KiB aligned
 * @length: bytes, 4 KiB aligned, at most SPT_MMAP_MAX
 * @prot: PROT_READ, optionally | PROT_WRITE
 * @addr: where the mapping is, on success
 *
 * Maps the pool frames that back [@va, @va + @length) of the space into
 * the calling process, MAP_SHARED: the process and the space see the same
 * memory. The frames stay allocated while the mapping exists (also after
 * the space unmaps them or is destroyed), until spt_munmap() or exit; the
 * region is given back to the handle at once (SPT_MMAP_RELEASE), so that
 * the mapping alone holds it (LIBSHADOWPT_1.3).
 *
 * Return: 0 or a negative errno (-ENXIO: part of the range is not mapped;
 * -EINVAL: raw physical or pinned leaves, bad arguments; -EACCES:
 * PROT_WRITE and a leaf was read-only; -ENOENT: no such space).
 */
int spt_mmap(struct spt *h, uint32_t space_id, uint64_t va, uint64_t length,
	     int prot, void **addr);

/**
 * spt_munmap() - unmap what spt_mmap() mapped
 * @addr: the address spt_mmap() gave
 * @length: its length (or a part of the mapping: munmap(2) rules)
 *
 * Return: 0 or a negative errno (LIBSHADOWPT_1.3).
 */
int spt_munmap(void *addr, uint64_t length);

/**
 * spt_map_user() - SPT_IOCTL_MAP with SPT_MAP_USER: map the caller's memory
 * @h: the handle
 * @space_id: the space to map in
 * @va: start, 4 KiB aligned
 * @length: bytes, 4 KiB aligned
 * @addr: the caller's memory, 4 KiB aligned
 * @prot: SPT_PROT_* bits of the new leaves (SPT_PROT_WRITE pins writable)
 * @cache: enum spt_cache_mode of the new leaves
 * @mapped: optional: bytes mapped from @va on, also on failure
 *
 * Pins [@addr, @addr + @length) of the calling process (charged to its
 * RLIMIT_MEMLOCK unless it has CAP_IPC_LOCK) and maps it at @va as 4 KiB
 * leaves; the space keeps the pages after munmap or exit, until they are
 * unmapped or the space is destroyed (LIBSHADOWPT_1.2).
 *
 * Return: 0 or a negative errno (-EFAULT: not mapped, or read-only with
 * SPT_PROT_WRITE; -ENOMEM: over RLIMIT_MEMLOCK; -EEXIST, -ENOENT...).
 */
int spt_map_user(struct spt *h, uint32_t space_id, uint64_t va,
		 uint64_t length, const void *addr, uint32_t prot,
		 uint32_t cache, uint64_t *mapped);

/**
 * spt_unmap() - SPT_IOCTL_UNMAP: unmap a range
 * @h: the handle
 * @space_id: the space
 * @va: start, 4 KiB aligned
 * @length: bytes
 * @unmapped: optional: leaves removed
 * @done: optional: bytes processed, also on failure
 *
 * Return: 0 or a negative errno.
 */
int spt_unmap(struct spt *h, uint32_t space_id, uint64_t va, uint64_t length,
	      uint64_t *unmapped, uint64_t *done);

/**
 * spt_protect() - SPT_IOCTL_PROTECT: change protection (and cache mode)
 * @h: the handle
 * @space_id: the space
 * @va: start, 4 KiB aligned
 * @length: bytes
 * @flags: 0 or SPT_PROTECT_CACHE
 * @prot: the new SPT_PROT_* bits
 * @cache: with SPT_PROTECT_CACHE the new cache mode, else 0
 * @protected: optional: leaves changed
 * @done: optional: bytes processed, also on failure
 *
 * Return: 0 or a negative errno.
 */
int spt_protect(struct spt *h, uint32_t space_id, uint64_t va,
		uint64_t length, uint32_t flags, uint32_t prot, uint32_t cache,
		uint64_t *protected, uint64_t *done);

/**
 * spt_query() - SPT_IOCTL_QUERY: translate one VA
 * @h: the handle
 * @space_id: the space
 * @va: any user-half address
 * @out: receives the translation
 *
 * Return: 0 or a negative errno.
 */
int spt_query(struct spt *h, uint32_t space_id, uint64_t va,
	      struct spt_query_entry *out);

/**
 * spt_query_batch() - SPT_IOCTL_QUERY_BATCH: translate many VAs
 * @h: the handle
 * @space_id: the space
 * @vas: the addresses
 * @count: how many (any number: split into calls of SPT_QUERY_BATCH_MAX)
 * @out: receives @count entries
 * @done: optional: entries written, also on failure
 *
 * Return: 0 or a negative errno.
 */
int spt_query_batch(struct spt *h, uint32_t space_id, const uint64_t *vas,
		    size_t count, struct spt_query_entry *out, size_t *done);

/**
 * spt_query_range() - walk [va, va + length) leaf by leaf
 * @h: the handle
 * @space_id: the space
 * @va: start
 * @length: bytes
 * @fn: called with each leaf or absent slot met (in VA order); return 0
 *      to go on, a negative errno to stop with it
 * @arg: passed to @fn
 *
 * One SPT_IOCTL_QUERY per entry met: an absent slot of any level is one
 * step.
 *
 * Return: 0 or a negative errno.
 */
int spt_query_range(struct spt *h, uint32_t space_id, uint64_t va,
		    uint64_t length,
		    int (*fn)(const struct spt_query_entry *e, void *arg),
		    void *arg);

/**
 * spt_query_runs() - SPT_IOCTL_QUERY_RANGE: a range as merged runs or pages
 * @h: the handle
 * @space_id: the space
 * @va: start (4 KiB aligned)
 * @length: bytes (4 KiB aligned, non-zero)
 * @flags: 0 (merged runs: @out is struct spt_query_run[@max]) or
 *         SPT_QUERY_RANGE_COMPACT (a word per 4 KiB page: @out is
 *         uint64_t[@max], see SPT_QPAGE_*)
 * @out: the entries
 * @max: room at @out (any number: split into calls of
 *       SPT_QUERY_RANGE_MAX)
 * @nr: optional: entries written, also on failure
 * @next: optional: where to resume, also on failure: @va + @length once
 *        the whole range is reported, else the first VA not reported
 *
 * Without locks in the kernel: see the uAPI for what it reports under
 * concurrent changes. Fills @out until it is full or the range is
 * reported; a full @out is no error (check @next).
 *
 * Return: 0 or a negative errno.
 */
int spt_query_runs(struct spt *h, uint32_t space_id, uint64_t va,
		   uint64_t length, uint32_t flags, void *out, size_t max,
		   size_t *nr, uint64_t *next);

/**
 * spt_read() - SPT_IOCTL_RW: read bytes through a space
 * @h: the handle
 * @space_id: the space
 * @va: start, any alignment
 * @buf: destination
 * @length: bytes (any number: split into calls of 16 MiB)
 * @done: optional: bytes copied, also on failure
 *
 * Return: 0 or a negative errno (-ENXIO unmapped, -EACCES untracked).
 */
int spt_read(struct spt *h, uint32_t space_id, uint64_t va, void *buf,
	     size_t length, size_t *done);

/**
 * spt_write() - SPT_IOCTL_RW: write bytes through a space
 * @h: the handle
 * @space_id: the space
 * @va: start, any alignment
 * @buf: source
 * @length: bytes (any number: split into calls of 16 MiB)
 * @done: optional: bytes copied, also on failure
 *
 * Return: 0 or a negative errno.
 */
int spt_write(struct spt *h, uint32_t space_id, uint64_t va, const void *buf,
	      size_t length, size_t *done);

/**
 * spt_stats() - SPT_IOCTL_STATS: pool counters and a space's tree
 * @h: the handle
 * @space_id: a space, or 0 for the pool only
 * @out: receives the counters
 *
 * Return: 0 or a negative errno.
 */
int spt_stats(struct spt *h, uint32_t space_id, struct spt_stats *out);

/**
 * spt_check() - SPT_IOCTL_CHECK: run the invariant checker on a space
 * @h: the handle
 * @space_id: the space
 * @msg: optional buffer for the first violation (NUL-terminated)
 * @msg_len: its size (0 with a NULL @msg)
 *
 * Return: 0, -EUCLEAN with @msg filled, or another negative errno.
 */
int spt_check(struct spt *h, uint32_t space_id, char *msg, size_t msg_len);

/**
 * spt_load() - SPT_IOCTL_LOAD: run ops with the space in CR3
 * @h: the handle
 * @space_id: the space
 * @flags: SPT_LOAD_CPU, SPT_LOAD_FORCE
 * @cpu: with SPT_LOAD_CPU the CPU, else 0
 * @ops: the program; results are written back into it
 * @nr_ops: 1..SPT_LOAD_MAX_OPS
 * @out: optional: the window's results (status, cpu, ops run, faults, ns)
 *
 * The first releases of the structs: @ops are read and written as 64-byte
 * elements (up to out_value) and @out up to out_ns (out->size says so),
 * as a caller built before LIBSHADOWPT_1.2 has them; spt_load2() uses the
 * header's sizes.
 *
 * Return: 0 or a negative errno (-ENODEV: no isolated CPU, -EXDEV: CPU
 * not isolated without SPT_LOAD_FORCE).
 */
int spt_load(struct spt *h, uint32_t space_id, uint32_t flags, uint32_t cpu,
	     struct spt_load_op *ops, uint32_t nr_ops, struct spt_load *out);

/**
 * spt_load2() - spt_load() with the structs of this header
 * @h: the handle
 * @space_id: the space
 * @flags: SPT_LOAD_CPU, SPT_LOAD_FORCE
 * @cpu: with SPT_LOAD_CPU the CPU, else 0
 * @ops: the program, sizeof(struct spt_load_op) per op (out_cycles for
 *       SPT_LOAD_OP_F_TIMED included; SPT_LOAD_OP_F_USER and
 *       SPT_LOAD_OP_F_SMAP accesses need no other call: their #PF error
 *       code comes back in out_value); results are written back into it
 * @nr_ops: 1..SPT_LOAD_MAX_OPS
 * @out: optional: struct spt_load up to out_cpu_features (out_tsc_khz
 *       included; spt_load3() fills the rest)
 *
 * Return: 0 or a negative errno, as spt_load().
 */
int spt_load2(struct spt *h, uint32_t space_id, uint32_t flags, uint32_t cpu,
	      struct spt_load_op *ops, uint32_t nr_ops, struct spt_load *out);

/**
 * spt_load3() - spt_load2() with a window PAT
 * @h: the handle
 * @space_id: the space
 * @flags: SPT_LOAD_CPU, SPT_LOAD_FORCE, SPT_LOAD_PAT
 * @cpu: with SPT_LOAD_CPU the CPU, else 0
 * @pat: with SPT_LOAD_PAT the IA32_PAT the window runs with (struct
 *       spt_load's @pat: valid memory types, entries 0..3 the host's),
 *       else 0
 * @ops: the program, sizeof(struct spt_load_op) per op; results are
 *       written back into it
 * @nr_ops: 1..SPT_LOAD_MAX_OPS
 * @out: optional: the whole struct spt_load of this header
 *
 * spt_load2() fills @out only up to out_cpu_features (its struct as of
 * LIBSHADOWPT_1.2). Since LIBSHADOWPT_1.3.
 *
 * Return: 0 or a negative errno, as spt_load() (-EINVAL for a bad @pat).
 */
int spt_load3(struct spt *h, uint32_t space_id, uint32_t flags, uint32_t cpu,
	      uint64_t pat, struct spt_load_op *ops, uint32_t nr_ops,
	      struct spt_load *out);

/**
 * spt_user_run() - SPT_IOCTL_RUN: run code at CPL 3 inside a space
 * @h: the handle
 * @run: the request (space_id, flags, cpu, rip, rflags, regs; @run->size
 *       is set here); the exit is written back into its out_ fields
 *
 * Needs the module parameter allow_runs=1 and CAP_SYS_ADMIN. Since
 * LIBSHADOWPT_1.2.
 *
 * Return: 0 (the exit in @run->out_reason) or a negative errno (-EPERM,
 * -EFAULT: the code or stack page not mapped as needed, -EINVAL, -ENODEV,
 * -EXDEV, -ENOENT).
 */
int spt_user_run(struct spt *h, struct spt_user_run *run);

/**
 * spt_entry_bits() - SPT_IOCTL_ENTRY_BITS: set and clear bits of the
 * page-table entries of one level (leaf or not) over a range
 * @h: the handle
 * @req: the request (flags, space_id, level, va, length, set, clear:
 *       SPT_BITS_*; @req->size is set here); out_entries, out_changed and
 *       out_bits are written back
 *
 * Since LIBSHADOWPT_1.3.
 *
 * Return: 0 or a negative errno (-EINVAL, -EOPNOTSUPP: no reserved bit
 * 51 on this CPU, -ENOENT).
 */
int spt_entry_bits(struct spt *h, struct spt_entry_bits *req);

/**
 * spt_load_prog_new() - an empty load program (the op builder)
 *
 * Return: the program, or NULL with errno ENOMEM.
 */
struct spt_load_prog *spt_load_prog_new(void);

/**
 * spt_load_prog_free() - free a program
 * @p: the program (NULL is ignored)
 */
void spt_load_prog_free(struct spt_load_prog *p);

/**
 * spt_load_prog_add() - append one op
 * @p: the program
 * @op: enum spt_load_op_type
 * @va: the address
 * @width: READ/WRITE width (1, 2, 4, 8), else 0
 * @value: WRITE value, else 0
 * @length: UNMAP/PROTECT/MAP bytes, else 0
 * @prot: PROTECT/MAP protection, else 0
 *
 * Return: the op's index, or a negative errno (-E2BIG past
 * SPT_LOAD_MAX_OPS, -ENOMEM).
 */
int spt_load_prog_add(struct spt_load_prog *p, uint32_t op, uint64_t va,
		      uint32_t width, uint64_t value, uint64_t length,
		      uint32_t prot);

/**
 * spt_load_prog_read() - append a READ of @width bytes at @va
 * @p: the program
 * @va: the address, aligned to @width
 * @width: 1, 2, 4 or 8
 *
 * Return: the op's index, or a negative errno.
 */
int spt_load_prog_read(struct spt_load_prog *p, uint64_t va, uint32_t width);

/**
 * spt_load_prog_write() - append a WRITE of @value at @va
 * @p: the program
 * @va: the address, aligned to @width
 * @width: 1, 2, 4 or 8
 * @value: the value
 *
 * Return: the op's index, or a negative errno.
 */
int spt_load_prog_write(struct spt_load_prog *p, uint64_t va, uint32_t width,
			uint64_t value);

/**
 * spt_load_prog_fetch() - append a FETCH (run a stub) at @va
 * @p: the program
 * @va: the address
 *
 * Return: the op's index, or a negative errno.
 */
int spt_load_prog_fetch(struct spt_load_prog *p, uint64_t va);

/**
 * spt_load_prog_unmap() - append an in-window UNMAP
 * @p: the program
 * @va: start, 4 KiB aligned
 * @length: bytes (at most 1 GiB)
 *
 * Return: the op's index, or a negative errno.
 */
int spt_load_prog_unmap(struct spt_load_prog *p, uint64_t va,
			uint64_t length);

/**
 * spt_load_prog_protect() - append an in-window PROTECT
 * @p: the program
 * @va: start, 4 KiB aligned
 * @length: bytes (at most 1 GiB)
 * @prot: SPT_PROT_* bits
 *
 * Return: the op's index, or a negative errno.
 */
int spt_load_prog_protect(struct spt_load_prog *p, uint64_t va,
			  uint64_t length, uint32_t prot);

/**
 * spt_load_prog_map() - append an in-window MAP of fresh 4 KiB frames
 * @p: the program
 * @va: start, 4 KiB aligned
 * @length: bytes (at most 2 MiB)
 * @prot: SPT_PROT_* bits
 *
 * Return: the op's index, or a negative errno.
 */
int spt_load_prog_map(struct spt_load_prog *p, uint64_t va, uint64_t length,
		      uint32_t prot);

/**
 * spt_load_prog_invlpg() - append an INVLPG of @va (this CPU's TLB)
 * @p: the program
 * @va: the address (any, in the user half)
 *
 * Return: the op's index, or a negative errno.
 */
int spt_load_prog_invlpg(struct spt_load_prog *p, uint64_t va);

/**
 * spt_load_prog_flush() - append a FLUSH of this CPU's TLB
 * @p: the program
 * @method: enum spt_load_flush_method (SPT_LOAD_FLUSH_CR3, or an INVPCID
 *          method: the run then fails with -EOPNOTSUPP on a CPU without
 *          INVPCID)
 *
 * Return: the op's index, or a negative errno.
 */
int spt_load_prog_flush(struct spt_load_prog *p, uint32_t method);

/**
 * spt_load_prog_ad_clear() - append an AD_CLEAR of the leaf at @va
 * @p: the program
 * @va: the address
 *
 * Return: the op's index, or a negative errno.
 */
int spt_load_prog_ad_clear(struct spt_load_prog *p, uint64_t va);

/**
 * spt_load_prog_ad_read() - append an AD_READ of the leaf at @va
 * @p: the program
 * @va: the address
 *
 * Return: the op's index, or a negative errno.
 */
int spt_load_prog_ad_read(struct spt_load_prog *p, uint64_t va);

/**
 * spt_load_prog_set_flags() - set the SPT_LOAD_OP_F_* flags of an op
 * @p: the program
 * @i: the op's index (what the append returned)
 * @flags: SPT_LOAD_OP_F_* bits, e.g. SPT_LOAD_OP_F_NOFLUSH on an UNMAP,
 *         PROTECT or MAP (checked by the kernel when the program runs)
 *
 * Return: 0, or -EINVAL when @i is out of range.
 */
int spt_load_prog_set_flags(struct spt_load_prog *p, uint32_t i,
			    uint32_t flags);

/**
 * spt_load_prog_len() - number of ops in a program
 * @p: the program
 *
 * Return: the count.
 */
uint32_t spt_load_prog_len(const struct spt_load_prog *p);

/**
 * spt_load_prog_op() - one op of a program, with its results after a run
 * @p: the program
 * @i: index below spt_load_prog_len()
 *
 * Return: the op, or NULL when @i is out of range.
 */
const struct spt_load_op *spt_load_prog_op(const struct spt_load_prog *p,
					   uint32_t i);

/**
 * spt_load_run() - run a program in a load window
 * @h: the handle
 * @space_id: the space
 * @p: the program; its ops receive their results
 * @flags: SPT_LOAD_CPU, SPT_LOAD_FORCE
 * @cpu: with SPT_LOAD_CPU the CPU, else 0
 * @out: optional: the window's results
 *
 * Return: 0 or a negative errno.
 */
int spt_load_run(struct spt *h, uint32_t space_id, struct spt_load_prog *p,
		 uint32_t flags, uint32_t cpu, struct spt_load *out);

/**
 * spt_load_run2() - spt_load_run() filling the whole struct spt_load
 * @h: the handle
 * @space_id: the space
 * @p: the program; its ops receive their results (out_cycles included)
 * @flags: SPT_LOAD_CPU, SPT_LOAD_FORCE
 * @cpu: with SPT_LOAD_CPU the CPU, else 0
 * @out: optional: the window's results, out_tsc_khz and out_cpu_features
 *       included (spt_load_run() fills the first release's fields only)
 *
 * Return: 0 or a negative errno.
 */
int spt_load_run2(struct spt *h, uint32_t space_id, struct spt_load_prog *p,
		  uint32_t flags, uint32_t cpu, struct spt_load *out);

/* Has bits of struct spt_space_desc, struct spt_run, struct spt_event. */
#define SPT_HAS_ROOT_PA		(1U << 0)	/* spt_space_desc.root_pa */
#define SPT_HAS_PHYS		(1U << 1)	/* spt_run.phys */

/**
 * struct spt_space_desc - one space of a SPACE_GET dump
 * @id: space id
 * @flags: SPT_SPACE_FD_OWNED
 * @levels: paging levels
 * @owner_pid: creator's pid
 * @has: SPT_HAS_ROOT_PA when @root_pa was told (CAP_SYS_ADMIN only)
 * @__pad: 0
 * @root_pa: physical address of the root, or 0
 * @data_frames: 4 KiB pool frames referenced
 * @node_frames: page-table nodes
 * @mapped_bytes: bytes mapped
 */
struct spt_space_desc {
	uint32_t id;
	uint32_t flags;
	uint32_t levels;
	uint32_t owner_pid;
	uint32_t has;
	uint32_t __pad;
	uint64_t root_pa;
	uint64_t data_frames;
	uint64_t node_frames;
	uint64_t mapped_bytes;
};

/**
 * struct spt_run - one merged run of a MAPPING_GET dump
 * @va: first VA
 * @end: end, exclusive
 * @phys: physical address of @va (with SPT_HAS_PHYS in @has)
 * @pages: leaves merged in the run
 * @level: leaf level (1: 4 KiB, 2: 2 MiB, 3: 1 GiB)
 * @prot: SPT_PROT_* bits
 * @cache: enum spt_cache_mode
 * @flags: SPT_QUERY_TRACKED
 * @has: SPT_HAS_PHYS when @phys was told (CAP_SYS_ADMIN only)
 * @__pad: 0
 */
struct spt_run {
	uint64_t va;
	uint64_t end;
	uint64_t phys;
	uint64_t pages;
	uint32_t level;
	uint32_t prot;
	uint32_t cache;
	uint32_t flags;
	uint32_t has;
	uint32_t __pad;
};

/**
 * struct spt_event - one message of the "events" multicast group
 * @type: enum spt_event_type
 * @space_id: the space
 * @pid: who did it
 * @err: 0, or the positive errno of a failed map/unmap/protect
 * @va: map/unmap/protect: start
 * @len: map/unmap/protect: bytes done
 * @count: leaves or frames concerned; load: ops run
 * @cpu: load: the CPU
 * @faults: load: ops that faulted
 * @status: load: enum spt_load_window_status
 * @__pad: 0
 */
struct spt_event {
	uint32_t type;
	uint32_t space_id;
	uint32_t pid;
	uint32_t err;
	uint64_t va;
	uint64_t len;
	uint64_t count;
	uint32_t cpu;
	uint32_t faults;
	uint32_t status;
	uint32_t __pad;
};

/**
 * spt_nl_open() - connect to the generic netlink family "shadowpt"
 * @out: receives the netlink handle
 *
 * Needs no privilege (dumps hide physical addresses from the
 * unprivileged).
 *
 * Return: 0, -ENOENT when the family is not registered (module not
 * loaded), or another negative errno.
 */
int spt_nl_open(struct spt_nl **out);

/**
 * spt_nl_close() - close a netlink handle
 * @nl: the handle (NULL is ignored)
 */
void spt_nl_close(struct spt_nl *nl);

/**
 * spt_dump_spaces() - SPACE_GET dump: every space, one callback each
 * @nl: the netlink handle
 * @fn: called per space; return 0 to go on, a negative errno to stop
 * @arg: passed to @fn
 *
 * Messages are handled as they arrive: constant memory.
 *
 * Return: 0, @fn's error, or a negative errno.
 */
int spt_dump_spaces(struct spt_nl *nl,
		    int (*fn)(const struct spt_space_desc *s, void *arg),
		    void *arg);

/**
 * spt_dump_mappings() - MAPPING_GET dump: a space's merged runs
 * @nl: the netlink handle
 * @space_id: the space
 * @from: lowest VA of interest, or 0
 * @to: end of the range of interest, or 0 for the whole space
 * @fn: called per run in VA order; return 0 to go on, a negative errno
 *      to stop
 * @arg: passed to @fn
 *
 * Return: 0, @fn's error, or a negative errno (-ENOENT: no such space).
 */
int spt_dump_mappings(struct spt_nl *nl, uint32_t space_id, uint64_t from,
		      uint64_t to,
		      int (*fn)(const struct spt_run *r, void *arg),
		      void *arg);

/**
 * spt_nl_subscribe() - join the "events" multicast group
 * @nl: the netlink handle (then used only for events)
 *
 * The socket becomes non-blocking; poll spt_nl_fd() and call
 * spt_nl_events().
 *
 * Return: 0 or a negative errno (-EPERM without CAP_SYS_ADMIN).
 */
int spt_nl_subscribe(struct spt_nl *nl);

/**
 * spt_nl_fd() - the socket of a netlink handle, for poll(2)
 * @nl: the netlink handle
 *
 * Return: the descriptor.
 */
int spt_nl_fd(const struct spt_nl *nl);

/**
 * spt_nl_events() - handle the events waiting, in the order sent
 * @nl: a subscribed netlink handle
 * @fn: called per event; return 0 to go on, a negative errno to stop
 * @arg: passed to @fn
 *
 * Return: 0 after at least one read, -EAGAIN when nothing was waiting,
 * -ENOBUFS when the kernel dropped events (reception goes on), @fn's
 * error, or another negative errno.
 */
int spt_nl_events(struct spt_nl *nl,
		  int (*fn)(const struct spt_event *e, void *arg), void *arg);

/**
 * spt_nl_wait() - wait for events (poll on the socket)
 * @nl: a subscribed netlink handle
 * @timeout_ms: milliseconds, or -1 for ever
 *
 * Return: 1 when events are waiting, 0 on timeout, or a negative errno.
 */
int spt_nl_wait(struct spt_nl *nl, int timeout_ms);

/**
 * spt_event_name() - name of an event type ("map", "load"...)
 * @type: enum spt_event_type
 *
 * Return: a static string, or NULL for an unknown type.
 */
const char *spt_event_name(uint32_t type);

/* A space's page tables mapped read-only (spt_tables_open()). */
struct spt_tables_map;

/**
 * spt_tables_open() - SPT_IOCTL_TABLES: map a space's page tables
 * @h: the handle
 * @space_id: the space
 * @out: receives the mapping (spt_tables_close() it, or spt_close() @h)
 *
 * From then on spt_query() and spt_query_batch() of @space_id through @h
 * walk the mapping, with no system call; a walk that keeps racing with
 * changes of the space (SPT_TABLES_TRIES attempts, about 64) or an
 * address outside the user half is left to the ioctl, and a destroyed
 * space answers -ENOENT as the ioctl does. Since LIBSHADOWPT_1.3.
 *
 * Return: 0 or a negative errno (-ENOENT: no such space).
 */
int spt_tables_open(struct spt *h, uint32_t space_id,
		    struct spt_tables_map **out);

/**
 * spt_tables_walk() - translate VAs through the mapping, no system call
 * @t: from spt_tables_open()
 * @vas: user-half addresses (-EINVAL otherwise)
 * @count: how many, at least 1
 * @out: receives @count entries, as SPT_IOCTL_QUERY gives them, all from
 *       one state of the space
 *
 * Return: 0, -ENOENT (the space was destroyed), -EAGAIN (every attempt
 * raced with a change: try again or ask the kernel), or -EINVAL.
 */
int spt_tables_walk(struct spt_tables_map *t, const uint64_t *vas,
		    size_t count, struct spt_query_entry *out);

/**
 * spt_tables_close() - unmap and close
 * @t: from spt_tables_open(), or NULL
 */
void spt_tables_close(struct spt_tables_map *t);

#ifdef __cplusplus
}
#endif

#endif /* LIBSHADOWPT_H */
