/* SPDX-License-Identifier: GPL-2.0 */
/*
 * The user-space frame pool (pool_user.c): module/frame/pool.h implemented
 * over an arena that stands in for physical memory, for the host tests.
 *
 * - Physical addresses start at SPT_POOL_USER_BASE (4 GiB, not 0, so that
 *   "pa == 0" bugs show); pa -> slot and pa -> pointer are O(1).
 * - The arena is cut into 2 MiB chunks (2 MiB aligned in pa), each either
 *   split into 4 KiB frames or handed out whole as one 2 MiB frame; a split
 *   chunk whose frames are all free again becomes whole-free. spt_pool_meta
 *   returns NULL for pas outside the chunks in use (like the kernel pool,
 *   which has no slots for chunks it gave back).
 * - Frames are zeroed on alloc and poisoned with 0x6b on free; under
 *   AddressSanitizer free frames are also poisoned for ASan, so a read of
 *   a freed node or frame is reported.
 * - Counting: struct spt_pool_stats (chunk_frames = frames of chunks in
 *   use), a limit in frames (checked against used frames) and a one-shot
 *   failure injection.
 * - Thread-safe (one mutex); allocation may be called with node locks held.
 */
#ifndef SPT_POOL_USER_H
#define SPT_POOL_USER_H

#include <frame/pool.h>

#define SPT_POOL_USER_BASE	0x100000000ULL

/*
 * A pool over an arena of @arena_mib MiB (rounded up to 2 MiB), with no
 * limit. NULL if the arena cannot be mapped.
 */
struct spt_pool *spt_pool_user_create(u64 arena_mib);

/*
 * Free the pool. Frames still in use are leaks: each is reported on stderr
 * (pa, usage, level, refcount) and their number returned (0 = clean).
 */
u64 spt_pool_user_destroy(struct spt_pool *pool);

/* Make the @n-th next spt_pool_alloc() fail (1 = the next one; 0 = off). */
void spt_pool_user_fail_nth(struct spt_pool *pool, u64 n);

/* Refuse allocations that would take used frames past @limit_frames. */
void spt_pool_user_set_limit(struct spt_pool *pool, u64 limit_frames);

/* Frames handed out right now (nodes + data, 2 MiB frames count 512). */
u64 spt_pool_user_used(struct spt_pool *pool);

/* Is @pa the start of a frame currently handed out? */
bool spt_pool_user_in_use(struct spt_pool *pool, u64 pa);

#endif /* SPT_POOL_USER_H */
