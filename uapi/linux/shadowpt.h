/* SPDX-License-Identifier: GPL-2.0 WITH Linux-syscall-note */
/*
 * shadowpt: x86-64 address spaces of your own.
 *
 * The interface of /dev/shadowpt (ioctls) and of the generic netlink family
 * "shadowpt" (dumps and events). A *space* is a page table with its own root:
 * its user half (top-level entries 0..255) is built by the module's
 * page-table core; its kernel half (256..511) is a copy of the running
 * kernel's, never changed. Spaces have numeric ids and outlive the file
 * descriptor that created them, unless created with SPT_SPACE_FD_OWNED.
 *
 * Conventions (those of iommufd): every ioctl takes one struct that starts
 * with __u32 size (the caller's sizeof) and __u32 flags. Unknown flags and
 * reserved fields must be zero. 64-bit values and user pointers are
 * __aligned_u64. A struct smaller than its first release is refused
 * (EINVAL); a larger one is accepted if the bytes past what the kernel knows
 * are zero (otherwise E2BIG), and behaves like the exact size, up to
 * SPT_STRUCT_SIZE_MAX (4096) bytes: a size above that is refused with E2BIG
 * before any of the struct past its size field is read. Fields named
 * out_* are written by the kernel. The ioctl number carries no size: the
 * size field is the version.
 *
 * Addresses: va and length must be 4 KiB aligned, length non-zero, and
 * [va, va + length) inside the user half: [0, 2^47) with 4-level paging,
 * [0, 2^56) with 5-level paging (SPT_IOCTL_VERSION tells which).
 *
 * Errors (errno after an ioctl returns -1), the same for every command:
 *   EINVAL     malformed argument: size below the first release, unknown
 *              flag, non-zero reserved field, unaligned va/length, zero
 *              length, range overflow or outside the user half, global bit
 *              or unknown bits in prot, unknown cache mode, bad page size;
 *              MAP: SPT_MAP_PHYS together with a size flag, a tracked map
 *              with phys != 0 or without exactly one size flag,
 *              SPT_MAP_SHARE with any other flag or phys != 0, source
 *              fields without SPT_MAP_SHARE; LOAD: cpu
 *              != 0 without SPT_LOAD_CPU, an in-window MAP over 2 MiB or
 *              UNMAP/PROTECT over 1 GiB (the whole call is refused, nothing
 *              runs); an element size (entry_size, op_size) below the
 *              element's first release or above SPT_ELEM_SIZE_MAX.
 *   E2BIG      size larger than the kernel's struct with non-zero tail; an
 *              input element (LOAD op) larger than the kernel's with a
 *              non-zero tail.
 *   ENOTTY     unknown ioctl number.
 *   EFAULT     a user pointer (the struct itself, a buffer) is not
 *              accessible. The struct of a command that reports results
 *              (all but SPACE_DESTROY and CHECK) must be writable: that is
 *              checked before anything is done, so a read-only struct
 *              fails with nothing changed (for VERSION, SPACE_INFO, QUERY
 *              and STATS, which change nothing, by the answer itself).
 *   ENOENT     no space with this id (never created, or destroyed).
 *   EEXIST     map over a range that is already (partly) mapped, without
 *              SPT_MAP_REPLACE.
 *   ENXIO      read/write through a space hit an address that is not
 *              mapped (out_done says how far it got); MAP with
 *              SPT_MAP_SHARE: part of the source range is not mapped.
 *   EACCES     read/write through a space hit an untracked mapping (raw
 *              physical memory is never touched by software access), or
 *              a write hit a leaf pinned read-only (SPT_MAP_USER).
 *   EPERM      untracked (SPT_MAP_PHYS) mapping without CAP_SYS_RAWIO,
 *              without the module parameter allow_phys=1, or while the
 *              kernel is locked down (lockdown=integrity or stricter).
 *              Mappings made before allow_phys was turned off stay (they
 *              can be queried and unmapped), but load windows read and
 *              write through untracked leaves only for a caller who could
 *              map them now (else the op ends SPT_LOAD_ERROR, EPERM).
 *              A load window with an UNMAP op flagged
 *              SPT_LOAD_OP_F_NOFLUSH needs the same permission.
 *              SPT_IOCTL_RUN without the module parameter allow_runs=1
 *              or without CAP_SYS_ADMIN; so is SPT_IOCTL_LOAD with an op
 *              flagged SPT_LOAD_OP_F_USER.
 *   ENOMEM     the frame pool is exhausted (module parameter pool_mb) or
 *              the kernel could not allocate memory.
 *   ENOSPC     a per-space limit (space_mb) or the number of spaces
 *              (max_spaces) would be exceeded. space_mb bounds a space's
 *              tracked frames, and separately its page-table nodes (so
 *              sparse or untracked maps cannot fill the pool with nodes;
 *              the node check is made before each 2 MiB (tracked) or
 *              1 GiB (untracked) step, which may pass it by its own
 *              nodes). Frames that were unmapped or replaced stop counting
 *              at once, also while they wait to be reclaimed.
 *   EBUSY      never returned: destroy waits for the calls (load windows
 *              included) in progress on the space, and the calls that come
 *              after it began get ENOENT.
 *   EUCLEAN    SPT_IOCTL_CHECK found a broken invariant (message returned).
 *   EINTR      a long operation was interrupted by a signal (out_done says
 *              how far it got; the space is consistent).
 *   EOPNOTSUPP load window: an op needs a CPU feature the CPU lacks
 *              (FLUSH with an INVPCID method and no INVPCID,
 *              SPT_LOAD_OP_F_TIMED and no RDTSCP, SPT_LOAD_OP_F_SMAP
 *              and no SMAP).
 *   ENODEV     load window: the named CPU does not exist (cpu >= the
 *              number of possible CPUs) or is offline, or no CPU is
 *              isolated (boot with isolcpus=) and none was named.
 *   EXDEV      load window: the named CPU is not isolated and
 *              SPT_LOAD_FORCE was not given.
 * An operation that fails part-way (map, unmap, protect, rw, query batch,
 * query range) still writes its out_done/out_mapped/out_entries field,
 * says exactly how far it got, and leaves the space consistent. Every other
 * failure changes nothing.
 *
 * Arrays of elements (QUERY_BATCH entries, LOAD ops) carry their element
 * size (entry_size, op_size) and follow the struct rule per element: from
 * the element's first release (struct spt_query_entry: its sizeof; struct
 * spt_load_op: 64 bytes, up to out_value) up to SPT_ELEM_SIZE_MAX bytes;
 * the bytes past what the kernel knows must be zero in an input element
 * (else E2BIG) and are zeroed in an output element. An element smaller
 * than the kernel's behaves as if the fields it lacks were zero on input,
 * and they are not written back.
 */
#ifndef _UAPI_LINUX_SHADOWPT_H
#define _UAPI_LINUX_SHADOWPT_H

#include <linux/types.h>
#include <linux/ioctl.h>

#define SPT_DEVICE_PATH		"/dev/shadowpt"
#define SPT_API_VERSION		1

#define SPT_TYPE		0xb7

/* Largest struct size (the size field) the kernel accepts: E2BIG above. */
#define SPT_STRUCT_SIZE_MAX	4096

/* Largest element size (entry_size, op_size) the kernel accepts. */
#define SPT_ELEM_SIZE_MAX	4096
enum {
	SPT_CMD_BASE = 0x80,
	SPT_CMD_VERSION = SPT_CMD_BASE,
	SPT_CMD_SPACE_CREATE,
	SPT_CMD_SPACE_DESTROY,
	SPT_CMD_SPACE_INFO,
	SPT_CMD_MAP,
	SPT_CMD_UNMAP,
	SPT_CMD_PROTECT,
	SPT_CMD_QUERY,
	SPT_CMD_QUERY_BATCH,
	SPT_CMD_RW,
	SPT_CMD_STATS,
	SPT_CMD_CHECK,
	SPT_CMD_LOAD,
	SPT_CMD_QUERY_RANGE,
	SPT_CMD_RUN,
	SPT_CMD_ENTRY_BITS = SPT_CMD_BASE + 0x0f,
	SPT_CMD_MMAP = SPT_CMD_BASE + 0x10,
	SPT_CMD_TABLES = SPT_CMD_BASE + 0x11,
};

/* Page protection bits (prot fields). Present implies readable. */
#define SPT_PROT_WRITE		(1U << 0)	/* RW set */
#define SPT_PROT_EXEC		(1U << 1)	/* NX clear */
#define SPT_PROT_USER		(1U << 2)	/* U/S set */
#define SPT_PROT_GLOBAL		(1U << 3)	/* always refused: EINVAL */
/* Reported by queries only (hardware-set bits); refused as input. */
#define SPT_PROT_ACCESSED	(1U << 4)
#define SPT_PROT_DIRTY		(1U << 5)

/* Cache policies (cache fields), through the PAT as the kernel set it. */
enum spt_cache_mode {
	SPT_CACHE_MODE_WB = 0,
	SPT_CACHE_MODE_WT = 1,
	SPT_CACHE_MODE_UC_MINUS = 2,
	SPT_CACHE_MODE_UC = 3,
	SPT_CACHE_MODE_WC = 4,
	/*
	 * SPT_CACHE_MODE_PAT(n), n = 0..7: the leaf selects entry n of the
	 * PAT (PWT = n & 1, PCD = n & 2, PAT = n & 4) whatever type the host
	 * gives it: for windows with their own PAT (SPT_LOAD_PAT). QUERY and
	 * the dumps report the named mode above that has the same bits, if
	 * any, so a leaf mapped with SPT_CACHE_MODE_PAT(0) reads back as
	 * SPT_CACHE_MODE_WB.
	 */
	SPT_CACHE_MODE_PAT0 = 5,
	SPT_CACHE_MODE_PAT7 = 12,
};

#define SPT_CACHE_MODE_PAT(n)	(SPT_CACHE_MODE_PAT0 + (n))

/**
 * struct spt_version - SPT_IOCTL_VERSION: what this module supports
 * @size: sizeof(struct spt_version)
 * @flags: must be 0
 * @out_api_version: SPT_API_VERSION of the module
 * @out_levels: paging levels of the running kernel, 4 or 5
 * @out_phys_bits: MAXPHYADDR of the CPU
 * @out_meta_slot_bytes: bytes of metadata per 4 KiB pool frame
 * @out_user_end: end of the user half (2^47 or 2^56)
 * @out_page_sizes: leaf sizes this CPU supports, as a bit mask of sizes
 *                  (bit 12: 4 KiB, bit 21: 2 MiB, bit 30: 1 GiB). Without
 *                  1 GiB pages (no GBPAGES), SPT_MAP_PHYS uses 2 MiB
 *                  leaves at most. (Added after the first release: a
 *                  caller with the 32-byte struct does not get it.)
 *
 * Changes nothing; also the cheapest ioctl (a null-ioctl baseline).
 */
struct spt_version {
	__u32 size;
	__u32 flags;
	__u32 out_api_version;
	__u32 out_levels;
	__u32 out_phys_bits;
	__u32 out_meta_slot_bytes;
	__aligned_u64 out_user_end;
	__aligned_u64 out_page_sizes;
};

#define SPT_IOCTL_VERSION _IO(SPT_TYPE, SPT_CMD_VERSION)

/* Space is destroyed when the creating file descriptor is closed. */
#define SPT_SPACE_FD_OWNED	(1U << 0)

/**
 * struct spt_space_create - SPT_IOCTL_SPACE_CREATE: make an empty space
 * @size: sizeof(struct spt_space_create)
 * @flags: 0 or SPT_SPACE_FD_OWNED
 * @out_space_id: id of the new space (>= 1)
 * @out_levels: paging levels of the space (those of the running kernel)
 * @out_root_pa: physical address of the root (8 KiB aligned)
 */
struct spt_space_create {
	__u32 size;
	__u32 flags;
	__u32 out_space_id;
	__u32 out_levels;
	__aligned_u64 out_root_pa;
};

#define SPT_IOCTL_SPACE_CREATE _IO(SPT_TYPE, SPT_CMD_SPACE_CREATE)

/**
 * struct spt_space_destroy - SPT_IOCTL_SPACE_DESTROY: free a space
 * @size: sizeof(struct spt_space_destroy)
 * @flags: must be 0
 * @space_id: the space; every frame, node and slot it held is freed
 * @__reserved: must be 0
 */
struct spt_space_destroy {
	__u32 size;
	__u32 flags;
	__u32 space_id;
	__u32 __reserved;
};

#define SPT_IOCTL_SPACE_DESTROY _IO(SPT_TYPE, SPT_CMD_SPACE_DESTROY)

/**
 * struct spt_space_info - SPT_IOCTL_SPACE_INFO: describe one space
 * @size: sizeof(struct spt_space_info)
 * @flags: must be 0
 * @space_id: the space
 * @out_flags: SPT_SPACE_FD_OWNED if it is tied to a file descriptor
 * @out_root_pa: physical address of the root
 * @out_levels: paging levels
 * @out_owner_pid: pid of the process that created it
 * @out_data_frames: 4 KiB pool frames it holds references on
 * @out_node_frames: page-table nodes, the root included
 * @out_mapped_bytes: bytes mapped (tracked and untracked)
 * @out_loaded_cpus: bit N set while the space is loaded on CPU N (N < 64)
 */
struct spt_space_info {
	__u32 size;
	__u32 flags;
	__u32 space_id;
	__u32 out_flags;
	__aligned_u64 out_root_pa;
	__u32 out_levels;
	__u32 out_owner_pid;
	__aligned_u64 out_data_frames;
	__aligned_u64 out_node_frames;
	__aligned_u64 out_mapped_bytes;
	__aligned_u64 out_loaded_cpus;
};

#define SPT_IOCTL_SPACE_INFO _IO(SPT_TYPE, SPT_CMD_SPACE_INFO)

/* Leaf size of a tracked map: exactly one of these. */
#define SPT_MAP_4K		(1U << 0)	/* 4 KiB frames */
/* 2 MiB frames; va and length must be 2 MiB aligned. */
#define SPT_MAP_2M		(1U << 1)
/* 2 MiB frames where the range is aligned, 4 KiB frames elsewhere. */
#define SPT_MAP_LARGEST		(1U << 2)
/* Map the raw physical range at @phys, untracked (no size flag needed). */
#define SPT_MAP_PHYS		(1U << 3)
/* Replace whatever is mapped in the range instead of failing (EEXIST). */
#define SPT_MAP_REPLACE		(1U << 4)
/*
 * Map at @va what backs [@src_va, @src_va + @length) of the space
 * @src_space_id (which may be @space_id itself: an alias), each leaf
 * taking a reference on the pool frame it maps (no size flag, @phys 0,
 * not with SPT_MAP_PHYS or SPT_MAP_REPLACE: EINVAL).
 */
#define SPT_MAP_SHARE		(1U << 5)
/*
 * Map at @va the caller's own memory at [@src_va, @src_va + @length):
 * its pages are pinned (FOLL_LONGTERM, and FOLL_WRITE if @prot has
 * SPT_PROT_WRITE) and mapped as 4 KiB "pinned" leaves. Only with
 * SPT_MAP_4K (no other flag, @phys and @src_space_id 0: EINVAL).
 */
#define SPT_MAP_USER		(1U << 6)

/**
 * struct spt_map - SPT_IOCTL_MAP: map a range
 * @size: sizeof(struct spt_map)
 * @flags: one of SPT_MAP_4K, SPT_MAP_2M, SPT_MAP_LARGEST (tracked: fresh
 *         zeroed frames from the pool), or SPT_MAP_PHYS (untracked: the
 *         physical range at @phys, leaves as large as alignment allows, up
 *         to 1 GiB; needs CAP_SYS_RAWIO and allow_phys=1); optionally
 *         SPT_MAP_REPLACE
 * @space_id: the space
 * @prot: SPT_PROT_WRITE | SPT_PROT_EXEC | SPT_PROT_USER
 * @cache: enum spt_cache_mode
 * @__reserved: must be 0
 * @va: start, 4 KiB aligned (2 MiB for SPT_MAP_2M)
 * @length: bytes, aligned like @va
 * @phys: physical start for SPT_MAP_PHYS (4 KiB aligned), else 0
 * @out_mapped: bytes mapped from @va on, also when the call fails
 * @src_space_id: SPT_MAP_SHARE: the source space, else 0 (added after
 *                the first release, like the fields below)
 * @__reserved2: must be 0
 * @src_va: SPT_MAP_SHARE: start of the source range (4 KiB aligned; the
 *          address rule applies to [@src_va, @src_va + @length));
 *          SPT_MAP_USER: the caller's address (4 KiB aligned); else 0
 *
 * SPT_MAP_SHARE: page by page, @va + off maps what @src_va + off maps in
 * the source, with @prot and @cache of this call, and the same memory is
 * then seen through both addresses (software RW and load windows alike).
 * A pool frame is mapped tracked: each leaf holds a reference, so that a
 * frame's refcount is the number of leaves mapping it in every space
 * (SPT_IOCTL_CHECK verifies it over all the spaces that ever shared), and
 * unmapping or destroying one side leaves the frame to the others; it
 * returns to the pool with its last leaf. A 2 MiB frame is shared as one
 * 2 MiB leaf where the source leaf is covered whole and @va is 2 MiB
 * aligned, else as 4 KiB leaves into it (the source keeps its leaf: each
 * 4 KiB leaf references the 2 MiB frame). An untracked (SPT_MAP_PHYS)
 * source leaf is aliased untracked (leaves of at most 2 MiB) and needs
 * what SPT_MAP_PHYS needs (EPERM, checked first, nothing changed).
 * Quota: a shared frame counts once in the pool, and in the data frames
 * (space_mb) of each space by the 4 KiB pages that space's own leaves
 * map of it; the space whose frame is shared first is then charged for
 * what it maps of the frame instead of the whole frame.
 * Errors of SPT_MAP_SHARE besides the usual ones: ENOENT (no source
 * space), ENXIO (part of the source range is not mapped: checked before
 * anything is done, nothing changed; if the source changes during the
 * call, the map stops at the first unmapped source page with ENXIO and
 * @out_mapped says how far it got), EEXIST (anything mapped at [@va,
 * @va + @length), which also refuses an alias overlapping its source),
 * ENOMEM (also a frame whose refcount would pass its maximum).
 * Locking: the two spaces are entered (held against destroy) in the
 * order of their ids; the source's leaves are read a piece at a time
 * under a read cursor, their frames referenced, and then mapped under
 * the destination's cursor: never two cursors at once. A pinned source
 * leaf (SPT_MAP_USER) is not shared: EINVAL, nothing changed.
 *
 * SPT_MAP_USER: the space then keeps the pages valid whatever the
 * process does (munmap, exit): each pinned leaf holds one pin, charged
 * to the caller's user in RLIMIT_MEMLOCK (locked_vm, as io_uring does)
 * unless the caller has CAP_IPC_LOCK; the pin and the charge are given
 * back when the leaf is unmapped or the space destroyed, after the TLB
 * flush and grace period (the page is marked dirty if the leaf was
 * writable). Software RW reads and writes pinned leaves; SPT_IOCTL_PROTECT
 * never makes a leaf pinned read-only writable (it keeps it read-only).
 * The whole call is checked and pinned before anything is mapped.
 * Errors of SPT_MAP_USER besides the usual ones: EFAULT (part of
 * [@src_va, @src_va + @length) is not mapped in the caller, is a kernel
 * address, or is read-only while @prot has SPT_PROT_WRITE: what
 * pin_user_pages_fast() gives; also a MAP_SHARED file whose filesystem
 * needs dirty tracking, refused by FOLL_LONGTERM on 6.12), ENOMEM (the
 * pages would pass RLIMIT_MEMLOCK), EEXIST (anything mapped at [@va,
 * @va + @length); SPT_MAP_REPLACE is refused, EINVAL): nothing changed.
 */
struct spt_map {
	__u32 size;
	__u32 flags;
	__u32 space_id;
	__u32 prot;
	__u32 cache;
	__u32 __reserved;
	__aligned_u64 va;
	__aligned_u64 length;
	__aligned_u64 phys;
	__aligned_u64 out_mapped;
	__u32 src_space_id;
	__u32 __reserved2;
	__aligned_u64 src_va;
};

#define SPT_IOCTL_MAP _IO(SPT_TYPE, SPT_CMD_MAP)

/**
 * struct spt_unmap - SPT_IOCTL_UNMAP: unmap a range
 * @size: sizeof(struct spt_unmap)
 * @flags: must be 0
 * @space_id: the space
 * @__reserved: must be 0
 * @va: start, 4 KiB aligned
 * @length: bytes; absent parts of the range are skipped, huge leaves that
 *          stick out are split
 * @out_unmapped: number of leaves removed
 * @out_done: bytes processed from @va on, also when the call fails
 */
struct spt_unmap {
	__u32 size;
	__u32 flags;
	__u32 space_id;
	__u32 __reserved;
	__aligned_u64 va;
	__aligned_u64 length;
	__aligned_u64 out_unmapped;
	__aligned_u64 out_done;
};

#define SPT_IOCTL_UNMAP _IO(SPT_TYPE, SPT_CMD_UNMAP)

/* Also set the cache mode (otherwise @cache must be 0 and is kept). */
#define SPT_PROTECT_CACHE	(1U << 0)

/**
 * struct spt_protect - SPT_IOCTL_PROTECT: change the protection of a range
 * @size: sizeof(struct spt_protect)
 * @flags: 0 or SPT_PROTECT_CACHE
 * @space_id: the space
 * @prot: the new SPT_PROT_WRITE | SPT_PROT_EXEC | SPT_PROT_USER
 * @cache: enum spt_cache_mode, with SPT_PROTECT_CACHE
 * @__reserved: must be 0
 * @va: start, 4 KiB aligned
 * @length: bytes; absent parts are skipped, huge leaves that stick out
 *          are split
 * @out_protected: number of leaves changed
 * @out_done: bytes processed from @va on, also when the call fails
 */
struct spt_protect {
	__u32 size;
	__u32 flags;
	__u32 space_id;
	__u32 prot;
	__u32 cache;
	__u32 __reserved;
	__aligned_u64 va;
	__aligned_u64 length;
	__aligned_u64 out_protected;
	__aligned_u64 out_done;
};

#define SPT_IOCTL_PROTECT _IO(SPT_TYPE, SPT_CMD_PROTECT)

/* struct spt_query_entry.flags */
#define SPT_QUERY_MAPPED	(1U << 0)
#define SPT_QUERY_TRACKED	(1U << 1)
/*
 * The leaf maps a page of a process pinned by SPT_MAP_USER (neither a
 * pool frame nor raw physical memory; not TRACKED). A mapped leaf with
 * neither TRACKED nor PINNED is raw physical memory (SPT_MAP_PHYS).
 * QUERY and QUERY_BATCH only.
 */
#define SPT_QUERY_PINNED	(1U << 2)

/**
 * struct spt_query_entry - what one VA translates to
 * @va_start: start of the leaf containing the VA, or of the largest absent
 *            slot containing it
 * @va_end: end (exclusive) of that leaf or slot
 * @phys: physical address the VA translates to (0 if not mapped)
 * @flags: SPT_QUERY_MAPPED, SPT_QUERY_TRACKED (a pool frame),
 *         SPT_QUERY_PINNED (a pinned page of a process)
 * @level: leaf level (1: 4 KiB, 2: 2 MiB, 3: 1 GiB), or the level of the
 *         absent entry
 * @prot: SPT_PROT_* including SPT_PROT_ACCESSED and SPT_PROT_DIRTY
 * @cache: enum spt_cache_mode
 */
struct spt_query_entry {
	__aligned_u64 va_start;
	__aligned_u64 va_end;
	__aligned_u64 phys;
	__u32 flags;
	__u32 level;
	__u32 prot;
	__u32 cache;
};

/**
 * struct spt_query_va - SPT_IOCTL_QUERY: translate one VA by software walk
 * @size: sizeof(struct spt_query_va)
 * @flags: must be 0
 * @space_id: the space
 * @__reserved: must be 0
 * @va: any user-half address (need not be aligned)
 * @out: the translation
 */
struct spt_query_va {
	__u32 size;
	__u32 flags;
	__u32 space_id;
	__u32 __reserved;
	__aligned_u64 va;
	struct spt_query_entry out;
};

#define SPT_IOCTL_QUERY _IO(SPT_TYPE, SPT_CMD_QUERY)

/* At most this many VAs per SPT_IOCTL_QUERY_BATCH call. */
#define SPT_QUERY_BATCH_MAX	(1U << 20)

/**
 * struct spt_query_batch - SPT_IOCTL_QUERY_BATCH: translate many VAs
 * @size: sizeof(struct spt_query_batch)
 * @flags: must be 0
 * @space_id: the space
 * @count: number of VAs, 1..SPT_QUERY_BATCH_MAX
 * @vas: user pointer to __u64[count]
 * @entries: user pointer to struct spt_query_entry[count]
 * @entry_size: sizeof(struct spt_query_entry) of the caller (see the
 *              element-size rule above)
 * @out_done: entries written, also when the call fails: exactly those
 *            that reached @entries whole (on EFAULT, the entries before
 *            the first inaccessible byte of @vas or @entries)
 */
struct spt_query_batch {
	__u32 size;
	__u32 flags;
	__u32 space_id;
	__u32 count;
	__aligned_u64 vas;
	__aligned_u64 entries;
	__u32 entry_size;
	__u32 out_done;
};

#define SPT_IOCTL_QUERY_BATCH _IO(SPT_TYPE, SPT_CMD_QUERY_BATCH)

/* Write @length bytes from @buf into the space (default: read). */
#define SPT_RW_WRITE		(1U << 0)

/**
 * struct spt_rw - SPT_IOCTL_RW: read or write bytes through a space
 * @size: sizeof(struct spt_rw)
 * @flags: 0 (read) or SPT_RW_WRITE
 * @space_id: the space
 * @__reserved: must be 0
 * @va: start (any alignment)
 * @length: bytes, 1..16 MiB
 * @buf: user pointer to the caller's buffer
 * @out_done: bytes copied, also when the call fails: on EFAULT exactly the
 *            bytes before the first inaccessible byte of @buf
 *
 * Software translation (the reference's VmReader/VmWriter): the space's
 * tracked frames are read or written through the kernel's direct map,
 * whatever their protection (like a debugger's poke). Unmapped: ENXIO;
 * untracked: EACCES.
 */
struct spt_rw {
	__u32 size;
	__u32 flags;
	__u32 space_id;
	__u32 __reserved;
	__aligned_u64 va;
	__aligned_u64 length;
	__aligned_u64 buf;
	__aligned_u64 out_done;
};

#define SPT_IOCTL_RW _IO(SPT_TYPE, SPT_CMD_RW)

/**
 * struct spt_stats - SPT_IOCTL_STATS: pool counters, and one space's tree
 * @size: sizeof(struct spt_stats)
 * @flags: must be 0
 * @space_id: a space, or 0 for the pool only (space fields then 0)
 * @__reserved: must be 0
 * @pool_limit_frames: pool limit, 4 KiB frames
 * @pool_chunk_frames: frames the pool holds from the buddy allocator
 * @pool_used_frames: frames handed out (nodes and data)
 * @pool_free_frames: frames free in the pool
 * @pool_node_frames: frames used as page-table nodes, all spaces
 * @pool_data_frames: frames used as data, all spaces
 * @pool_returned_frames: frames given back to the buddy allocator so far
 * @pool_meta_bytes: bytes of meta slots allocated now
 * @pool_allocs: successful allocations so far
 * @pool_alloc_failures: failed allocations so far
 * @nr_spaces: live spaces
 * @meta_slot_bytes: bytes of metadata per 4 KiB frame
 * @space_nodes: page-table nodes of the space per level (index L - 1)
 * @space_leaves: leaves of the space per size (4 KiB, 2 MiB, 1 GiB)
 * @space_data_frames: 4 KiB pool frames the space references
 * @reclaim_pending_frames: frames unmapped or replaced (a page-table node
 *	counts 1, a 2 MiB frame 512) that wait for an RCU grace period before
 *	the pool hands them out again; counted in @pool_free_frames, not in
 *	@pool_used_frames, @pool_node_frames or @pool_data_frames
 * @reclaim_max_frames: the bound on @reclaim_pending_frames (a quarter of
 *	the pool limit): a change that would pass it first waits for the
 *	oldest grace period
 * @reclaim_waits: times a change or an allocation waited for a grace
 *	period (the bound reached, or the pool short of frames) since load
 * @procmap_frames: pool frames (a 2 MiB frame counts 1) that regions of
 *	SPT_IOCTL_MMAP hold now, all open files (added after reclaim_waits)
 * @procmap_refs: the references those regions hold on them (one per
 *	4 KiB page of each region): each is one in the frame's refcount
 */
struct spt_stats {
	__u32 size;
	__u32 flags;
	__u32 space_id;
	__u32 __reserved;
	__aligned_u64 pool_limit_frames;
	__aligned_u64 pool_chunk_frames;
	__aligned_u64 pool_used_frames;
	__aligned_u64 pool_free_frames;
	__aligned_u64 pool_node_frames;
	__aligned_u64 pool_data_frames;
	__aligned_u64 pool_returned_frames;
	__aligned_u64 pool_meta_bytes;
	__aligned_u64 pool_allocs;
	__aligned_u64 pool_alloc_failures;
	__aligned_u64 nr_spaces;
	__aligned_u64 meta_slot_bytes;
	__aligned_u64 space_nodes[5];
	__aligned_u64 space_leaves[3];
	__aligned_u64 space_data_frames;
	__aligned_u64 reclaim_pending_frames;
	__aligned_u64 reclaim_max_frames;
	__aligned_u64 reclaim_waits;
	__aligned_u64 procmap_frames;
	__aligned_u64 procmap_refs;
};

#define SPT_IOCTL_STATS _IO(SPT_TYPE, SPT_CMD_STATS)

/**
 * struct spt_check - SPT_IOCTL_CHECK: run the invariant checker on a space
 * @size: sizeof(struct spt_check)
 * @flags: must be 0
 * @space_id: the space
 * @msg_len: size of the buffer at @msg (may be 0)
 * @msg: user pointer; on EUCLEAN receives the first violation, in words,
 *       NUL-terminated and truncated to @msg_len; otherwise (if @msg_len)
 *       the empty string. Checked first: EFAULT when it is not writable.
 *
 * A space that took part in SPT_MAP_SHARE (either side) is checked
 * together with every live space that did: a frame's refcount is compared
 * with its leaves in all of them, and a violation found in another of
 * those spaces is reported as "space N: ...".
 */
struct spt_check {
	__u32 size;
	__u32 flags;
	__u32 space_id;
	__u32 msg_len;
	__aligned_u64 msg;
};

#define SPT_IOCTL_CHECK _IO(SPT_TYPE, SPT_CMD_CHECK)

/* Operations of a load window program (struct spt_load_op.op). */
enum spt_load_op_type {
	SPT_LOAD_OP_READ = 1,	/* read @width bytes at @va */
	SPT_LOAD_OP_WRITE,	/* write @value (@width bytes) at @va */
	SPT_LOAD_OP_FETCH,	/* execute an "endbr64; ret" stub at @va */
	SPT_LOAD_OP_UNMAP,	/* unmap [@va, @va + @length) in the window */
	SPT_LOAD_OP_PROTECT,	/* set @prot on [@va, @va + @length) */
	SPT_LOAD_OP_MAP,	/* map fresh 4 KiB frames with @prot */
	SPT_LOAD_OP_INVLPG,	/* invalidate this CPU's translation of @va */
	SPT_LOAD_OP_FLUSH,	/* flush this CPU's TLB (method in @value) */
	SPT_LOAD_OP_AD_CLEAR,	/* clear A and D of the leaf at @va, INVLPG */
	SPT_LOAD_OP_AD_READ,	/* A and D of the leaf at @va, as they are */
};

/*
 * struct spt_load_op.flags. Bits 0..7 are the TLB experiments' (these),
 * bits 8..15 are reserved for the user-mode ops; an unknown bit, or a flag
 * on an op that does not take it, is EINVAL.
 *
 * SPT_LOAD_OP_F_NOFLUSH, on UNMAP, PROTECT and MAP: the entries change
 * (and other CPUs get their flush as always) but this CPU's TLB is left
 * as it is: until an INVLPG of the page, a FLUSH, an in-window change
 * without the flag (which reloads CR3) or the end of the window, the
 * range is *pending*, and an access to a page of it may use any
 * translation the page had since the window last invalidated it (the
 * window's own change and other threads' changes to that page alike): a
 * READ or WRITE there may succeed through a stale translation or fault,
 * and where that differs from the software walker it is reported as
 * SPT_FAULT_STALE, never as SPT_FAULT_MISMATCH. Accesses outside pending
 * ranges keep the guarantee of struct spt_load (a change made since the
 * window's last flush, by any thread, is invalidated before the access,
 * by INVLPG of the page while something is pending, by a CR3 reload
 * otherwise). A FETCH always invalidates its page first if it is pending
 * (a kernel-mode fetch fault cannot be recovered from). No frame or
 * page-table node is reused while a stale translation may reach it: what
 * the window's own ops unlink is queued for reclamation only after the
 * window has ended, and what other threads unlink only after their flush
 * IPI, which this CPU takes when the window ends, and a grace period
 * after that; a stale translation reaches the old frame, never another
 * mapping's. NOFLUSH on UNMAP needs the permission to map untracked
 * memory now (see EPERM; else the whole call is refused with EPERM):
 * a stale translation of an unmapped untracked leaf reaches raw
 * physical memory.
 */
#define SPT_LOAD_OP_F_NOFLUSH	(1U << 0)
/*
 * SPT_LOAD_OP_F_TIMED, on READ, WRITE and FETCH: out_cycles receives the
 * TSC cycles of the access (RDTSCP with LFENCE before and after, on both
 * sides of the access: the count includes that overhead, and for a
 * faulting access the exception's handling). Needs an op_size that covers
 * out_cycles (else EINVAL) and a CPU with RDTSCP (else EOPNOTSUPP).
 * struct spt_load's out_tsc_khz converts cycles to time.
 */
#define SPT_LOAD_OP_F_TIMED	(1U << 1)
/*
 * SPT_LOAD_OP_F_USER, on READ, WRITE and FETCH: the access is made at
 * CPL 3 (a user-mode access: U/S, R/W and NX of the walk decide, as
 * SPT_FAULT_SUPERVISOR, SPT_FAULT_READ_ONLY, SPT_FAULT_NX; SMEP and SMAP
 * do not apply). READ and WRITE run a module stub (the access, then
 * syscall) from a page the module maps at a user address of another
 * top-level entry than @va's, in a private copy of the space's root: the
 * space's own tables are not changed, but the switch to that copy and
 * back reloads CR3, so this CPU's TLB is flushed (PCID 0) around the
 * access and no range stays pending (see SPT_LOAD_OP_F_NOFLUSH). FETCH
 * enters user mode at @va, where it writes "syscall" first if the page
 * is mapped to a frame of the pool (whatever the prediction: the MMU
 * decides; an untracked leaf ends SPT_LOAD_ERROR, EACCES). Needs the
 * module parameter allow_runs=1 and CAP_SYS_ADMIN, as SPT_IOCTL_RUN
 * (else the whole call is refused with EPERM); a CPU whose exit from
 * user mode is not possible ends the op SPT_LOAD_ERROR, ENODEV.
 *
 * SPT_LOAD_OP_F_SMAP, on READ and WRITE: the kernel-mode access is made
 * with SMAP in force (no stac), so that it faults on a user page
 * (SPT_FAULT_SMAP). Needs a CPU with SMAP (else the whole call is refused
 * with EOPNOTSUPP).
 *
 * With either flag, a faulting access is caught by the module's own
 * exception handler (not the kernel's), out_value receives the #PF error
 * code (X86_PF_* bits: P, W, U, I; the MMU's, to compare with out_fault),
 * and the error code is also checked against the walker: P against the
 * walk, W, U and I against the access; any disagreement is
 * SPT_FAULT_MISMATCH. USER and SMAP together, or either with
 * SPT_LOAD_OP_F_TIMED, is EINVAL.
 */
#define SPT_LOAD_OP_F_USER	(1U << 8)
#define SPT_LOAD_OP_F_SMAP	(1U << 9)

/*
 * SPT_LOAD_OP_FLUSH's @value: how the TLB is flushed, echoed in
 * out_value. INVPCID_SINGLE (INVPCID type 1, PCID 0: this space's
 * translations) and INVPCID_ALL (type 2: every PCID, global entries
 * included) need a CPU with INVPCID (else the whole call is refused with
 * EOPNOTSUPP).
 */
enum spt_load_flush_method {
	SPT_LOAD_FLUSH_CR3 = 0,		/* reload CR3 (flushes PCID 0) */
	SPT_LOAD_FLUSH_INVPCID_SINGLE,
	SPT_LOAD_FLUSH_INVPCID_ALL,
};

/* struct spt_load_op.out_status */
enum spt_load_status {
	SPT_LOAD_NOT_RUN = 0,	/* the window stopped before this op */
	SPT_LOAD_OK,		/* done; READ: out_value holds the value */
	SPT_LOAD_FAULT,		/* the MMU faulted (explained in out_fault) */
	SPT_LOAD_PREDICTED,	/* kernel FETCH not executed: it would fault */
	/*
	 * Not done, out_errno says why: UNMAP/PROTECT/MAP failed (its
	 * errno); FETCH of an untracked leaf (EACCES: the stub is written
	 * only into frames of the pool); READ/WRITE of an untracked leaf
	 * by a caller not allowed to map one now (EPERM, see EPERM above).
	 */
	SPT_LOAD_ERROR,
};

/* struct spt_load_op.out_fault: the software walker's explanation. */
#define SPT_FAULT_NOT_PRESENT	(1U << 0)	/* entry absent at out_level */
#define SPT_FAULT_READ_ONLY	(1U << 1)	/* write to a read-only page */
/* Fetch from a user page (SMEP). */
#define SPT_FAULT_USER		(1U << 2)
/* Fetch from a no-execute page. */
#define SPT_FAULT_NX		(1U << 3)
/*
 * The MMU and the software walker disagreed: a bug, always reported, and
 * nothing else. Changes made by other threads (also while a window runs)
 * take effect in the window before its next access to what they changed.
 */
#define SPT_FAULT_MISMATCH	(1U << 4)
/*
 * READ/WRITE in a range pending after a NOFLUSH op: the MMU's outcome
 * differed from the software walker's (a stale translation was used).
 * Allowed by the architecture: not a bug.
 */
#define SPT_FAULT_STALE		(1U << 5)
/*
 * SPT_LOAD_OP_F_SMAP: a kernel-mode READ or WRITE of a user page, SMAP in
 * force.
 */
#define SPT_FAULT_SMAP		(1U << 9)

/**
 * struct spt_load_op - one operation of a load window and its result
 * @op: enum spt_load_op_type
 * @width: READ/WRITE: 1, 2, 4 or 8 bytes, @va aligned to it; else 0
 * @va: the address (FLUSH: 0)
 * @value: WRITE: the value; FLUSH: enum spt_load_flush_method; else 0
 * @length: UNMAP/PROTECT/MAP: bytes (4 KiB aligned; MAP at most 2 MiB and
 *          only over unmapped addresses, else EEXIST;
 *          UNMAP/PROTECT at most 1 GiB); else 0
 * @prot: PROTECT/MAP: SPT_PROT_WRITE | SPT_PROT_EXEC | SPT_PROT_USER
 * @flags: SPT_LOAD_OP_F_* bits (SPT_LOAD_OP_F_NOFLUSH on UNMAP, PROTECT,
 *         MAP; SPT_LOAD_OP_F_TIMED and SPT_LOAD_OP_F_USER on READ, WRITE,
 *         FETCH; SPT_LOAD_OP_F_SMAP on READ, WRITE); an unknown bit or one
 *         the op does not take is EINVAL
 * @out_status: enum spt_load_status (out_* fields are ignored on input and
 *              always overwritten, so an answered array can be sent again)
 * @out_fault: SPT_FAULT_* bits for FAULT and PREDICTED
 * @out_level: with SPT_FAULT_NOT_PRESENT: level of the absent entry
 * @out_errno: with SPT_LOAD_ERROR: the positive errno
 * @out_value: READ: the value read; UNMAP/PROTECT/MAP: leaves changed;
 *             FLUSH: the method used (enum spt_load_flush_method);
 *             AD_CLEAR: the A and D bits the leaf had, AD_READ: those it
 *             has (SPT_PROT_ACCESSED | SPT_PROT_DIRTY); a READ, WRITE or
 *             FETCH flagged SPT_LOAD_OP_F_USER or SPT_LOAD_OP_F_SMAP that
 *             ended SPT_LOAD_FAULT: the #PF error code
 * @out_cycles: with SPT_LOAD_OP_F_TIMED: the access's TSC cycles (once
 *              it ran); else 0. Added after the first release.
 *
 * READ and WRITE are done by the CPU through the space's page tables in
 * kernel mode (with SMAP lifted, so user pages are accessible as well,
 * unless flagged SPT_LOAD_OP_F_SMAP; at CPL 3 if flagged
 * SPT_LOAD_OP_F_USER). FETCH calls the stub after writing it (through the
 * kernel's mapping of the frame) and only where the software walker says
 * the fetch is allowed: a kernel-mode instruction fetch fault cannot be
 * recovered from, so a fetch that would fault is reported as
 * SPT_LOAD_PREDICTED and not executed. A FETCH flagged SPT_LOAD_OP_F_USER
 * is always executed (at CPL 3 a fault is caught): the MMU decides.
 *
 * INVLPG (@va anywhere in the user half, width, value, length and prot 0)
 * runs the INVLPG instruction on @va: this CPU's translation of @va's page
 * and every paging-structure cache entry of PCID 0 go; the page is no
 * longer pending (see SPT_LOAD_OP_F_NOFLUSH). FLUSH (every field but
 * @op and @value 0) flushes this CPU's translations of the space: no
 * range is pending after it.
 *
 * AD_CLEAR and AD_READ (@va in the user half, width, value, length, prot
 * 0) track accesses without unmapping: AD_CLEAR clears the accessed and
 * dirty bits of the whole leaf that maps @va (any size; it is not split),
 * as a PROTECT would (the table's flush generation moves, other CPUs get
 * their flush) and runs INVLPG of @va, so that the next access sets them
 * again as it implies (A on a read or fetch, A and D on a write); AD_READ
 * reads them as the hardware left them. An unmapped @va ends either with
 * SPT_LOAD_ERROR, ENXIO.
 */
struct spt_load_op {
	__u32 op;
	__u32 width;
	__aligned_u64 va;
	__aligned_u64 value;
	__aligned_u64 length;
	__u32 prot;
	__u32 flags;
	__u32 out_status;
	__u32 out_fault;
	__u32 out_level;
	__u32 out_errno;
	__aligned_u64 out_value;
	__aligned_u64 out_cycles;
};

/* Run on @cpu (otherwise: the first isolated CPU). */
#define SPT_LOAD_CPU		(1U << 0)
/* Allow a CPU that is not isolated. */
#define SPT_LOAD_FORCE		(1U << 1)
/* Load struct spt_load's @pat into IA32_PAT for the window (see there). */
#define SPT_LOAD_PAT		(1U << 2)

/* At most this many ops in one window. */
#define SPT_LOAD_MAX_OPS	4096

/* struct spt_load.out_cpu_features: what the window's CPU has. */
#define SPT_LOAD_CPU_PCID	(1U << 0)
#define SPT_LOAD_CPU_INVPCID	(1U << 1)
#define SPT_LOAD_CPU_SMEP	(1U << 2)
#define SPT_LOAD_CPU_SMAP	(1U << 3)
#define SPT_LOAD_CPU_LA57	(1U << 4)
#define SPT_LOAD_CPU_PKU	(1U << 5)
#define SPT_LOAD_CPU_RDTSCP	(1U << 6)

/* struct spt_load.out_status */
enum spt_load_window_status {
	SPT_LOAD_DONE = 1,	/* every op ran */
	/* time bound (window_us parameter) ran out: later ops NOT_RUN */
	SPT_LOAD_STOPPED_TIME,
};

/**
 * struct spt_load - SPT_IOCTL_LOAD: run a program with the space in CR3
 * @size: sizeof(struct spt_load)
 * @flags: SPT_LOAD_CPU, SPT_LOAD_FORCE, SPT_LOAD_PAT
 * @space_id: the space
 * @cpu: with SPT_LOAD_CPU, the CPU to run on
 * @nr_ops: 1..SPT_LOAD_MAX_OPS
 * @op_size: sizeof(struct spt_load_op) of the caller (see the element-size
 *           rule above)
 * @ops: user pointer to struct spt_load_op[nr_ops]; results written back
 * @out_status: enum spt_load_window_status
 * @out_cpu: the CPU the window ran on
 * @out_ops_run: ops that ran
 * @out_faults: ops that faulted (FAULT or PREDICTED)
 * @out_ns: time with the space loaded, in nanoseconds
 * @out_tsc_khz: the TSC frequency in kHz (the kernel's tsc_khz), for
 *               out_cycles; 0 if unknown. Added after the first release.
 * @out_cpu_features: SPT_LOAD_CPU_* bits: what the window's CPU has (as
 *                    the kernel detected it). Added after the first
 *                    release.
 * @pat: with SPT_LOAD_PAT, the IA32_PAT the window runs with (else 0):
 *       byte n is PAT entry n's memory type, one of 0 (UC), 1 (WC), 4
 *       (WT), 5 (WP), 6 (WB), 7 (UC-) (else EINVAL). Entries 0..3 must be
 *       the host's (else EINVAL): the kernel's own mappings, which the
 *       window also uses (its code, stack, data, the MMIO of NMI
 *       handlers), select them. Entries 4..7 are free: a leaf selects an
 *       entry by its PWT, PCD and PAT bits, i.e. by its cache mode (with
 *       Linux's PAT, SPT_CACHE_MODE_WB, WC, UC_MINUS, UC select entries
 *       0..3 and SPT_CACHE_MODE_WT entry 7; struct spt_query's cache mode
 *       names the host's entry). The window writes the MSR after
 *       interrupts are off, before it loads the space (that CR3 write
 *       flushes the space's translations) and writes the host's value
 *       back before interrupts are on again, then flushes the whole TLB
 *       (global entries included). Caches are not flushed: a frame also
 *       mapped write-back by the kernel's direct map is accessed with two
 *       memory types, as the SDM describes. Added after the first
 *       release: a caller whose @size does not cover it cannot set
 *       SPT_LOAD_PAT (EINVAL).
 *
 * The window runs on the target CPU with preemption and interrupts off: it
 * saves CR3, loads the space's root with PCID 0 (which Linux never uses;
 * the write flushes it), runs the ops, and restores the saved CR3 exactly.
 * It never schedules and never returns to user mode. In-window UNMAP,
 * PROTECT and MAP go through the page-table cursor and invalidate this CPU's
 * TLB for what they change (unless flagged SPT_LOAD_OP_F_NOFLUSH). Each
 * READ, WRITE and FETCH holds its page against changes for the duration of
 * the access, and first invalidates this CPU's TLB if any change was made
 * to the space (by any thread) since its last invalidation: the MMU never
 * uses a translation older than the table the software walker reads,
 * except in the ranges pending after NOFLUSH ops (see there). The
 * window's time bound is the module parameter window_us (1..1000000
 * microseconds).
 */
struct spt_load {
	__u32 size;
	__u32 flags;
	__u32 space_id;
	__u32 cpu;
	__u32 nr_ops;
	__u32 op_size;
	__aligned_u64 ops;
	__u32 out_status;
	__u32 out_cpu;
	__u32 out_ops_run;
	__u32 out_faults;
	__aligned_u64 out_ns;
	__u32 out_tsc_khz;
	__u32 out_cpu_features;
	__aligned_u64 pat;
};

#define SPT_IOCTL_LOAD _IO(SPT_TYPE, SPT_CMD_LOAD)

/**
 * struct spt_query_run - one merged run of SPT_IOCTL_QUERY_RANGE
 * @start: first VA of the run (4 KiB aligned)
 * @end: end of the run (exclusive)
 * @pa: physical address @start translates to
 * @level: leaf level of every leaf of the run (1: 4 KiB, 2: 2 MiB,
 *         3: 1 GiB)
 * @prot: SPT_PROT_* including SPT_PROT_ACCESSED and SPT_PROT_DIRTY
 * @cache: enum spt_cache_mode
 * @flags: SPT_QUERY_MAPPED, and SPT_QUERY_TRACKED for pool frames
 *
 * A run is a stretch of leaves of one level, contiguous in virtual and
 * physical addresses, with equal @prot, @cache and @flags, clipped to the
 * range asked for (a leaf that begins before it or ends after it is
 * reported in part). Runs are reported in address order and only where
 * something is mapped: what lies between runs is not mapped.
 */
struct spt_query_run {
	__aligned_u64 start;
	__aligned_u64 end;
	__aligned_u64 pa;
	__u32 level;
	__u32 prot;
	__u32 cache;
	__u32 flags;
};

/* struct spt_query_range.flags: one __u64 per 4 KiB page, not runs. */
#define SPT_QUERY_RANGE_COMPACT	(1U << 0)

/*
 * A page's word in compact mode: 0 if the page is not mapped; else
 * SPT_QUERY_MAPPED (bit 0), SPT_QUERY_TRACKED (bit 1), the page's
 * SPT_PROT_* bits at SPT_QPAGE_PROT_SHIFT, its physical address (4 KiB
 * aligned, bits 12..51), the level of the leaf it belongs to at
 * SPT_QPAGE_LEVEL_SHIFT and its enum spt_cache_mode at
 * SPT_QPAGE_CACHE_SHIFT. Other bits are 0.
 */
#define SPT_QPAGE_PROT_SHIFT	4
#define SPT_QPAGE_PA_MASK	0x000ffffffffff000ULL
#define SPT_QPAGE_LEVEL_SHIFT	52
#define SPT_QPAGE_CACHE_SHIFT	56
#define SPT_QPAGE_PROT(w)	((__u32)((w) >> SPT_QPAGE_PROT_SHIFT) & 0x3f)
#define SPT_QPAGE_PA(w)		((w) & SPT_QPAGE_PA_MASK)
#define SPT_QPAGE_LEVEL(w)	((__u32)((w) >> SPT_QPAGE_LEVEL_SHIFT) & 0x3)
#define SPT_QPAGE_CACHE(w)	((__u32)((w) >> SPT_QPAGE_CACHE_SHIFT) & 0x7)

/* At most this many entries (runs or pages) per SPT_IOCTL_QUERY_RANGE. */
#define SPT_QUERY_RANGE_MAX	(1U << 20)

/**
 * struct spt_query_range - SPT_IOCTL_QUERY_RANGE: what a range maps to
 * @size: sizeof(struct spt_query_range)
 * @flags: 0 (merged runs) or SPT_QUERY_RANGE_COMPACT (a word per page)
 * @space_id: the space
 * @entry_size: runs: sizeof(struct spt_query_run) of the caller (see the
 *              element-size rule above); compact: must be 8
 * @va: start of the range (the address rule above)
 * @length: bytes (the address rule above)
 * @entries: user pointer to @max_entries struct spt_query_run (of
 *           @entry_size bytes each), or compact, to __u64[@max_entries]
 * @max_entries: room at @entries, 1..SPT_QUERY_RANGE_MAX
 * @out_entries: entries written, also when the call fails: exactly those
 *               that reached @entries whole
 * @out_next: where to resume: @va + @length once the whole range has
 *            been reported; otherwise the first VA not yet reported (a
 *            call with @va = @out_next, and @length shortened to match,
 *            goes on from there). Compact: @va + 4 KiB * @out_entries.
 *
 * Like PAGEMAP_SCAN: returns 0 when @entries is full as well (then
 * @out_next < @va + @length). Reads the table without locks (as the MMU
 * would): each page is reported as it was at some moment during the call,
 * while other calls may change the space; the call is not a snapshot.
 * Errors: EINVAL (unknown flag, bad range, @max_entries 0 or too large,
 * bad @entry_size), EFAULT (@entries not writable: @out_entries says what
 * was written), ENOENT, EINTR (a signal: @out_entries and @out_next say
 * how far it got), ENOMEM.
 */
struct spt_query_range {
	__u32 size;
	__u32 flags;
	__u32 space_id;
	__u32 entry_size;
	__aligned_u64 va;
	__aligned_u64 length;
	__aligned_u64 entries;
	__u32 max_entries;
	__u32 out_entries;
	__aligned_u64 out_next;
};

#define SPT_IOCTL_QUERY_RANGE _IO(SPT_TYPE, SPT_CMD_QUERY_RANGE)

/* struct spt_user_run.regs / out_regs: the hardware's register numbering. */
enum spt_run_reg {
	SPT_REG_RAX = 0,
	SPT_REG_RCX,
	SPT_REG_RDX,
	SPT_REG_RBX,
	SPT_REG_RSP,
	SPT_REG_RBP,
	SPT_REG_RSI,
	SPT_REG_RDI,
	SPT_REG_R8,
	SPT_REG_R9,
	SPT_REG_R10,
	SPT_REG_R11,
	SPT_REG_R12,
	SPT_REG_R13,
	SPT_REG_R14,
	SPT_REG_R15,
	SPT_RUN_NR_REGS,
};

/* struct spt_user_run.out_reason: why the user code stopped. */
enum spt_run_exit {
	/*
	 * An exception: out_vector (0..31), out_error_code for the vectors
	 * that have one (8, 10..14, 17, 21, 29, 30), out_cr2 and out_fault
	 * for #PF (14). int3 is #BP (vector 3); "int $n" with n < 32 other
	 * than 3 is a #GP with error code (n << 3) | 2 (QEMU's TCG reports
	 * (n << 4) | 2).
	 */
	SPT_RUN_EXIT_EXCEPTION = 1,
	/* syscall: out_rip (= out_regs[RCX]) is the instruction after it */
	SPT_RUN_EXIT_SYSCALL,
	/* sysenter (where the CPU has it): out_rip and out_regs[RSP] are 0 */
	SPT_RUN_EXIT_SYSENTER,
	/* "int $n" with 32 <= n <= 255: out_vector is n */
	SPT_RUN_EXIT_INT,
	/* the time bound (module parameter window_us) ended the run */
	SPT_RUN_EXIT_TIME,
	/* an NMI from elsewhere ended the run; it was handed to the kernel */
	SPT_RUN_EXIT_NMI,
};

/* struct spt_user_run.out_flags */
/* The time bound or an NMI came before the first user instruction. */
#define SPT_RUN_OUT_NOT_ENTERED	(1U << 0)
/*
 * The space was changed (by another thread) during the run: a change that
 * needed a TLB flush, or the faulting page was mapped after the fault (the
 * MMU sees it now). The walker's out_fault describes the table after the
 * change, so a disagreement is not reported as SPT_FAULT_MISMATCH.
 */
#define SPT_RUN_OUT_CHANGED	(1U << 1)

/*
 * struct spt_user_run.out_fault bits for a #PF, besides SPT_FAULT_*, and
 * of struct spt_load_op.out_fault for SPT_LOAD_OP_F_USER accesses:
 */
/* a user-mode access to a supervisor page (U/S clear on the walk) */
#define SPT_FAULT_SUPERVISOR	(1U << 6)
/*
 * struct spt_load_op.out_fault and struct spt_user_run.out_fault: a
 * present entry on the walk has a reserved bit set (SPT_BITS_RSVD, set
 * with SPT_IOCTL_ENTRY_BITS and SPT_ENTRY_BITS_RSVD): the MMU raises a #PF
 * with the RSVD bit in its error code. A load window never touches such
 * a page (Linux treats a reserved-bit fault on a user-half address as a
 * corrupted page table and oopses): READ, WRITE and FETCH end
 * SPT_LOAD_PREDICTED with this bit. A run (SPT_IOCTL_RUN, private IDT)
 * takes the fault, and its error code must have RSVD exactly when the
 * walker reports this bit (else SPT_FAULT_MISMATCH).
 */
#define SPT_FAULT_RSVD		(1U << 7)
/*
 * struct spt_load_op.out_fault and struct spt_user_run.out_fault: the
 * page's protection key (SPT_BITS_PKEY, a 4 KiB leaf of an effective user
 * page) is access- or write-disabled in the PKRU of the calling thread
 * (CPUs with PKU, where Linux enables CR4.PKE; keys apply to supervisor
 * accesses to user pages too). Never for FETCH.
 */
#define SPT_FAULT_PKEY		(1U << 8)

/* struct spt_user_run.rflags: the bits a caller may set (others: EINVAL). */
#define SPT_RUN_RFLAGS_ALLOWED	0x40dd5ULL	/* CF PF AF ZF SF TF DF OF AC */

/**
 * struct spt_user_run - SPT_IOCTL_RUN: run code in user mode inside a space
 * @size: sizeof(struct spt_user_run)
 * @flags: SPT_LOAD_CPU, SPT_LOAD_FORCE (as for SPT_IOCTL_LOAD)
 * @space_id: the space
 * @cpu: with SPT_LOAD_CPU, the CPU to run on
 * @rip: where the user code starts: a user address, mapped with
 *       SPT_PROT_USER | SPT_PROT_EXEC when the run starts
 * @rflags: the arithmetic flags, TF, DF and AC (SPT_RUN_RFLAGS_ALLOWED;
 *          bit 1 may be given and is always set); IF, IOPL, NT and the
 *          rest must be 0
 * @regs: the general registers at entry (enum spt_run_reg); @regs[RSP]
 *        is the stack pointer: the page below it (rsp - 1) must be mapped
 *        with SPT_PROT_USER | SPT_PROT_WRITE when the run starts
 * @out_reason: enum spt_run_exit
 * @out_vector: the vector (exceptions, int $n; 2 for TIME and NMI)
 * @out_error_code: the error code the CPU pushed (exceptions that have one)
 * @out_cr2: #PF: the faulting address
 * @out_rip: the user rip at the exit (the faulting instruction for faults,
 *           the next one for traps, int $n and syscall)
 * @out_rflags: the user rflags at the exit
 * @out_regs: the general registers at the exit
 * @out_cpu: the CPU the run took place on
 * @out_fault: #PF: the software walker's explanation of cr2 for the access
 *             the error code describes (SPT_FAULT_NOT_PRESENT with
 *             @out_level, _READ_ONLY, _SUPERVISOR, _NX), and
 *             SPT_FAULT_MISMATCH if the walker and the error code's P, W,
 *             U and I bits disagree (a bug; see SPT_RUN_OUT_CHANGED)
 * @out_level: with SPT_FAULT_NOT_PRESENT, the level of the absent entry
 * @out_flags: SPT_RUN_OUT_*
 * @out_ns: time of the load window, in nanoseconds
 *
 * Needs the module parameter allow_runs=1 and CAP_SYS_ADMIN (else EPERM),
 * and runs in a load window (CPU choice, ENODEV and EXDEV as for
 * SPT_IOCTL_LOAD): the space's root is in CR3 and the CPU enters CPL 3
 * at @rip with interrupts masked (IF 0, IOPL 0), a private IDT whose
 * every vector leads back to the module, and syscall/sysenter pointed
 * there too. The run ends at the first exception, syscall, sysenter, int
 * $n, the time bound (window_us; needs a second online CPU, which sends
 * an NMI, else ENODEV) or an NMI, whichever comes first; the CPU's state
 * (IDT, MSRs, GS, FS, segment registers, debug registers, PKRU, FPU and
 * vector registers) is then restored and an NMI handed to the kernel.
 * Other errors: EINVAL (unknown flag, non-zero reserved field, @rip or
 * @regs[RSP] outside the user half, rflags bits not allowed), EFAULT (the
 * struct; @rip's page not mapped user and executable, or the stack page
 * not mapped user and writable, when the run starts: nothing ran), ENOENT.
 */
struct spt_user_run {
	__u32 size;
	__u32 flags;
	__u32 space_id;
	__u32 cpu;
	__aligned_u64 rip;
	__aligned_u64 rflags;
	__aligned_u64 regs[SPT_RUN_NR_REGS];
	__u32 out_reason;
	__u32 out_vector;
	__aligned_u64 out_error_code;
	__aligned_u64 out_cr2;
	__aligned_u64 out_rip;
	__aligned_u64 out_rflags;
	__aligned_u64 out_regs[SPT_RUN_NR_REGS];
	__u32 out_cpu;
	__u32 out_fault;
	__u32 out_level;
	__u32 out_flags;
	__aligned_u64 out_ns;
};

#define SPT_IOCTL_RUN _IO(SPT_TYPE, SPT_CMD_RUN)

/* SPT_IOCTL_MMAP: give back the region at @offset instead of making one. */
#define SPT_MMAP_RELEASE	(1U << 0)

/* At most this many bytes per SPT_IOCTL_MMAP region (256 MiB). */
#define SPT_MMAP_MAX		(1ULL << 28)

/**
 * struct spt_mmap - SPT_IOCTL_MMAP: a space's memory in the caller's process
 * @size: sizeof(struct spt_mmap)
 * @flags: 0 (make a region), or SPT_MMAP_RELEASE (give one back)
 * @space_id: the space (0 with SPT_MMAP_RELEASE)
 * @__reserved: must be 0
 * @va: start in the space, 4 KiB aligned (0 with SPT_MMAP_RELEASE)
 * @length: bytes, 4 KiB aligned, 1..SPT_MMAP_MAX (0 with
 *          SPT_MMAP_RELEASE)
 * @offset: SPT_MMAP_RELEASE: the @out_offset of the region to give back;
 *          else 0
 * @out_offset: the mmap() offset of the region (4 KiB aligned, never 0,
 *              unique in this open file)
 * @out_prot: SPT_PROT_WRITE if the region may be mapped writable, else 0
 * @__reserved2: must be 0
 *
 * Makes a *region* of the open file: the module takes one reference on
 * the pool frame of every 4 KiB page of [@va, @va + @length) (a 2 MiB
 * frame: one reference on it per 4 KiB page of the region), and hands
 * back an offset for mmap(2) on the same file. mmap(fd, @out_offset +
 * n * 4096, len) maps pages n .. n + len / 4096 - 1 of the region into
 * the caller, MAP_SHARED only: the process and the space then see the
 * same memory (writes of either are seen by the other: RW ioctl, load
 * windows). The frames are the ones mapped at the time of this call: a
 * later unmap, replace or destroy in the space does not change what the
 * process sees, and a frame stays allocated until its last reference
 * goes, be it a leaf in a space, a region or a process mapping.
 *
 * Accounting: a frame's refcount is the number of leaves mapping it in
 * every space plus the references of the regions that hold it
 * (SPT_IOCTL_CHECK verifies it). Each region holds its references while
 * it exists: until the file is closed or SPT_MMAP_RELEASE, and then until
 * the last process mapping of it is gone (munmap, exit; a mapping
 * inherited by fork(2) or split by a partial munmap counts too). The
 * frames count in the pool until their last reference goes; a frame is
 * then charged like a shared one (SPT_MAP_SHARE): each space for the
 * 4 KiB pages its own leaves map of it, and a frame held by regions only
 * charges nobody.
 *
 * Protection: @out_prot says SPT_PROT_WRITE when every leaf of the range
 * was writable (SPT_PROT_WRITE) at the time of the call; otherwise the
 * region is read-only and mmap() with PROT_WRITE, or a later mprotect()
 * to it, fails with EACCES. A later SPT_IOCTL_PROTECT in the space does
 * not change the region.
 *
 * Errors of SPT_IOCTL_MMAP besides the usual ones: ENXIO (a page of the
 * range is not mapped), EINVAL (a page of the range is untracked,
 * SPT_MAP_PHYS, or pinned, SPT_MAP_USER: only pool frames are mapped
 * into processes; @length over SPT_MMAP_MAX; SPT_MMAP_RELEASE with any
 * field but @offset set, or an @offset that names no region of this
 * file), ENOMEM (also a frame whose refcount would pass its maximum),
 * ENOENT (no space): nothing changed, no region made.
 * Errors of mmap(2) on /dev/shadowpt: EINVAL (the offset and length do
 * not fall inside one region of this file, MAP_PRIVATE), EACCES
 * (PROT_WRITE on a read-only region). The mapping cannot grow (mremap).
 */
struct spt_mmap {
	__u32 size;
	__u32 flags;
	__u32 space_id;
	__u32 __reserved;
	__aligned_u64 va;
	__aligned_u64 length;
	__aligned_u64 offset;
	__aligned_u64 out_offset;
	__u32 out_prot;
	__u32 __reserved2;
};

#define SPT_IOCTL_MMAP _IO(SPT_TYPE, SPT_CMD_MMAP)

/**
 * struct spt_tables - SPT_IOCTL_TABLES: the page tables, for mmap
 * @size: sizeof(struct spt_tables)
 * @flags: must be 0 (EINVAL)
 * @space_id: the space (ENOENT if there is none, or it is being destroyed)
 * @out_fd: a new descriptor (O_CLOEXEC, read-only) to mmap; it keeps
 *          working after the space is destroyed: the header then says
 *          dead and every node offset reads zeros. Closing it (and
 *          unmapping) frees everything it held.
 * @out_map_size: the largest length that may be mapped:
 *                SPT_TABLES_NODE_OFFSET + 2^(physical address bits)
 * @out_root_pa: physical address of the space's root node
 * @out_levels: paging levels of the space (4 or 5)
 * @out_header_size: sizeof(struct spt_tables_header) of the kernel
 *
 * The descriptor can only be mapped shared, read-only, not executable,
 * at offset 0 (MAP_PRIVATE, a non-zero offset, a length above
 * @out_map_size: EINVAL; PROT_WRITE: EACCES, also by mprotect later;
 * PROT_EXEC: EPERM); MAP_NORESERVE is fine, nothing is reserved. Offset 0
 * is struct spt_tables_header; offset SPT_TABLES_NODE_OFFSET + pa is the
 * page-table node at physical address pa while it is a node of this space,
 * and the zero page at any other offset in range (never a node of another
 * space, a data frame or a free frame of the pool: a node that leaves the
 * space is unmapped from every such mapping before its frame can be used
 * again). Reading a node needs no system call: see struct
 * spt_tables_header for the walk's retry rule. The root's entries of the
 * kernel half are those of the running kernel (CAP_SYS_ADMIN, as for
 * opening the device).
 */
struct spt_tables {
	__u32 size;
	__u32 flags;
	__u32 space_id;
	__s32 out_fd;
	__aligned_u64 out_map_size;
	__aligned_u64 out_root_pa;
	__u32 out_levels;
	__u32 out_header_size;
};

#define SPT_IOCTL_TABLES _IO(SPT_TYPE, SPT_CMD_TABLES)

/* struct spt_tables_header.magic: "SPTT" */
#define SPT_TABLES_MAGIC	0x54545053U
/* Where the nodes start in the mapping: node pa at this + pa. */
#define SPT_TABLES_NODE_OFFSET	4096ULL

/**
 * struct spt_tables_header - page 0 of an SPT_IOCTL_TABLES mapping
 * @magic: SPT_TABLES_MAGIC
 * @header_size: sizeof(struct spt_tables_header) of the kernel
 * @space_id: the space
 * @levels: 4 or 5
 * @root_pa: the root node (fixed for the life of the space)
 * @changes_begun: changes of the space begun since the first descriptor
 * @changes_done: of them, changes finished
 * @dead: non-zero once the space is being destroyed (then for good)
 * @__reserved: 0
 * @cache_modes: the enum spt_cache_mode of a leaf whose PAT, PCD and PWT
 *               bits are i = PAT << 2 | PCD << 1 | PWT (PAT is PTE bit 7
 *               in a 4 KiB leaf, bit 12 in a 2 MiB or 1 GiB one), as
 *               SPT_IOCTL_QUERY reports it
 *
 * A change is anything that can alter what a walk sees (map, unmap,
 * protect, replace, a split or a merge, a node freed, a load window,
 * destroy). A walk is consistent with one state of the space when, read
 * with acquire semantics: done = @changes_done, then begun =
 * @changes_begun, begun == done (else a change is in progress: retry),
 * the walk, then @changes_begun still equal to begun (else retry). A node
 * offset that reads zeros during a change is the zero page; the retry
 * reads it again once the change has finished.
 */
struct spt_tables_header {
	__u32 magic;
	__u32 header_size;
	__u32 space_id;
	__u32 levels;
	__aligned_u64 root_pa;
	__aligned_u64 changes_begun;
	__aligned_u64 changes_done;
	__u32 dead;
	__u32 __reserved;
	__u8 cache_modes[8];
};

/*
 * struct spt_entry_bits.set and .clear: the page-table entry bits a caller
 * may change, at their x86-64 positions (Intel SDM vol. 3, 4.5).
 */
#define SPT_BITS_W		(1ULL << 1)	/* R/W */
#define SPT_BITS_U		(1ULL << 2)	/* U/S */
#define SPT_BITS_PWT		(1ULL << 3)
#define SPT_BITS_PCD		(1ULL << 4)
/* Ignored by the MMU, free for the caller (the module uses 9..11, 58). */
#define SPT_BITS_AVL		(0x3fULL << 52)	/* bits 52..57 */
/* Protection key: level 1 only (else EINVAL). */
#define SPT_BITS_PKEY		(0xfULL << 59)	/* bits 59..62 */
#define SPT_BITS_NX		(1ULL << 63)	/* XD */
/*
 * A reserved bit: bit 51, above MAXPHYADDR (EOPNOTSUPP on a CPU with
 * MAXPHYADDR 52). Set only with SPT_ENTRY_BITS_RSVD; cleared any time.
 */
#define SPT_BITS_RSVD		(1ULL << 51)
#define SPT_BITS_ALL		(SPT_BITS_W | SPT_BITS_U | SPT_BITS_PWT | \
				 SPT_BITS_PCD | SPT_BITS_AVL | SPT_BITS_PKEY | \
				 SPT_BITS_NX | SPT_BITS_RSVD)

/* struct spt_entry_bits.flags: allow SPT_BITS_RSVD in @set. */
#define SPT_ENTRY_BITS_RSVD	(1U << 0)

/**
 * struct spt_entry_bits - SPT_IOCTL_ENTRY_BITS: set and clear bits of the
 * entries of one level, leaf or not
 * @size: sizeof(struct spt_entry_bits)
 * @flags: 0 or SPT_ENTRY_BITS_RSVD
 * @space_id: the space
 * @level: 1 (4 KiB leaf entries, PTEs) .. the space's paging depth (4 or 5:
 *         the root's entries)
 * @va: start, 4 KiB aligned
 * @length: bytes, 4 KiB aligned, not 0; [@va, @va + @length) in the user half
 * @set: SPT_BITS_* to set
 * @clear: SPT_BITS_* to clear (not overlapping @set)
 * @out_entries: present entries of @level whose span meets the range
 * @out_changed: how many of them changed
 * @out_bits: the first of them after the change, without its address
 *            bits (a read-back; 0 if there was none)
 *
 * Changes every *present* entry of @level whose span meets the range:
 * child-node entries and leaves (huge or not) alike; absent parts, and
 * parts mapped by a leaf of a higher level, are skipped. The MMU combines
 * the levels: a page is writable if W is set at every level of its walk,
 * user if U is, executable if NX is clear at every level; QUERY,
 * QUERY_BATCH and the walkers of load windows and runs report and predict
 * with that combination (a QUERY's prot is the effective permission).
 * Entries changed here keep their bits until SPT_IOCTL_ENTRY_BITS changes
 * them again or the entry goes: an unmap that frees a node clears the
 * entry that pointed at it (a new node gets a fully permissive entry); a
 * huge leaf split by a partial unmap or protect is replaced by a fully
 * permissive entry and leaves of the huge leaf's property; PROTECT keeps
 * the deliberate bits of leaves except the ones it sets (W, U, NX and,
 * with SPT_PROTECT_CACHE, PWT/PCD). CHECK accepts these bits on the
 * entries that carry them (the module marks them with bit 58) and still
 * reports any other deviation. The TLB is flushed as for PROTECT (over
 * the whole span of each changed entry).
 * Errors, with nothing changed: EINVAL (unknown flag or bit, @set and
 * @clear overlap, SPT_BITS_RSVD in @set without SPT_ENTRY_BITS_RSVD,
 * SPT_BITS_PKEY at a level other than 1, @level out of 1..depth, @va or
 * @length unaligned, 0, overflowing, or outside the user half),
 * EOPNOTSUPP (SPT_BITS_RSVD with MAXPHYADDR 52), ENOENT, EFAULT.
 */
struct spt_entry_bits {
	__u32 size;
	__u32 flags;
	__u32 space_id;
	__u32 level;
	__aligned_u64 va;
	__aligned_u64 length;
	__aligned_u64 set;
	__aligned_u64 clear;
	__aligned_u64 out_entries;
	__aligned_u64 out_changed;
	__aligned_u64 out_bits;
};

#define SPT_IOCTL_ENTRY_BITS _IO(SPT_TYPE, SPT_CMD_ENTRY_BITS)

/*
 * Generic netlink family SPT_GENL_NAME, version SPT_GENL_VERSION.
 *
 * SPT_GENL_CMD_SPACE_GET   dump: every space (SPT_A_SPACE_* attributes);
 *                          do with SPT_A_SPACE_ID: that space.
 * SPT_GENL_CMD_MAPPING_GET dump, needs SPT_A_SPACE_ID: the space's mappings
 *                          as merged runs (contiguous VA with contiguous
 *                          physical addresses and equal properties, as
 *                          ptdump prints them), one SPT_A_RUN_* message per
 *                          run, streamed over as many messages as needed.
 *                          A run holds at most SPT_RUN_MAX_PAGES leaves: a
 *                          longer stretch is reported as several runs.
 *                          SPT_A_RUN_VA/SPT_A_RUN_END optionally bound it.
 * SPT_GENL_CMD_SPACE_NEW / _DEL  create / destroy (admin only).
 * Multicast group SPT_GENL_MCGRP_EVENTS: SPT_GENL_CMD_EVENT messages with
 * SPT_A_EVENT_TYPE, SPT_A_SPACE_ID and SPT_A_EVENT_PID, plus for map,
 * unmap and protect the range (SPT_A_EVENT_VA, _LEN: bytes done), the
 * leaves or frames concerned (_COUNT) and _ERRNO; for a load window
 * SPT_A_EVENT_CPU, _COUNT (ops run), _FAULTS and _STATUS.
 * Privileges: the capability that opening /dev/shadowpt needs,
 * CAP_SYS_ADMIN, is needed on this face too for everything that changes
 * state (SPACE_NEW, SPACE_DEL: EPERM without it, also with CAP_NET_ADMIN;
 * both the sender and the socket's opener must have it) and to join the
 * events group (EPERM at the join; the events tell who does what to which
 * space, when). Anyone may dump, but physical addresses
 * (SPT_A_SPACE_ROOT_PA, SPT_A_RUN_PHYS) are only included for a caller
 * with CAP_SYS_ADMIN; for others the attribute is absent. Every dump
 * message is produced with bounded work, without holding more than a
 * small part of a space locked. Events carry no physical address, and are
 * best effort: one is lost if the kernel cannot allocate it.
 */
#define SPT_GENL_NAME		"shadowpt"
#define SPT_GENL_VERSION	1
#define SPT_GENL_MCGRP_EVENTS	"events"
/* Most leaves in one run of a MAPPING_GET dump (SPT_A_RUN_PAGES). */
#define SPT_RUN_MAX_PAGES	65536

enum spt_genl_cmd {
	SPT_GENL_CMD_UNSPEC,
	SPT_GENL_CMD_SPACE_GET,
	SPT_GENL_CMD_MAPPING_GET,
	SPT_GENL_CMD_SPACE_NEW,
	SPT_GENL_CMD_SPACE_DEL,
	SPT_GENL_CMD_EVENT,
	__SPT_GENL_CMD_MAX,
};

#define SPT_GENL_CMD_MAX (__SPT_GENL_CMD_MAX - 1)

enum spt_event_type {
	SPT_EVENT_SPACE_CREATED = 1,
	SPT_EVENT_SPACE_DESTROYED,
	SPT_EVENT_MAP,
	SPT_EVENT_UNMAP,
	SPT_EVENT_PROTECT,
	SPT_EVENT_LOAD,
};

enum spt_genl_attr {
	SPT_A_UNSPEC,
	SPT_A_PAD,
	SPT_A_SPACE_ID,		/* u32 */
	SPT_A_SPACE_FLAGS,	/* u32: SPT_SPACE_FD_OWNED */
	SPT_A_SPACE_LEVELS,	/* u32 */
	SPT_A_SPACE_ROOT_PA,	/* u64 */
	SPT_A_SPACE_OWNER_PID,	/* u32 */
	SPT_A_SPACE_DATA_FRAMES,	/* u64 */
	SPT_A_SPACE_NODE_FRAMES,	/* u64 */
	SPT_A_SPACE_MAPPED_BYTES,	/* u64 */
	SPT_A_RUN_VA,		/* u64: first VA of a run */
	SPT_A_RUN_END,		/* u64: end (exclusive) */
	SPT_A_RUN_PHYS,		/* u64: physical address of the first VA */
	SPT_A_RUN_LEVEL,	/* u32: leaf level of the run's leaves */
	SPT_A_RUN_PROT,		/* u32: SPT_PROT_* */
	SPT_A_RUN_CACHE,	/* u32: enum spt_cache_mode */
	SPT_A_RUN_FLAGS,	/* u32: SPT_QUERY_TRACKED */
	SPT_A_RUN_PAGES,	/* u64: number of leaves merged in the run */
	SPT_A_EVENT_TYPE,	/* u32: enum spt_event_type */
	SPT_A_EVENT_VA,		/* u64 */
	SPT_A_EVENT_LEN,	/* u64 */
	SPT_A_EVENT_COUNT,	/* u64: leaves / frames concerned */
	SPT_A_EVENT_ERRNO,	/* u32: 0, or the positive errno of a failure */
	SPT_A_EVENT_PID,	/* u32: who did it */
	SPT_A_EVENT_CPU,	/* u32: load window: the CPU */
	SPT_A_EVENT_FAULTS,	/* u32: load window: ops that faulted */
	/* u32: load window: enum spt_load_window_status */
	SPT_A_EVENT_STATUS,
	__SPT_A_MAX,
};

#define SPT_A_MAX (__SPT_A_MAX - 1)

#endif /* _UAPI_LINUX_SHADOWPT_H */
