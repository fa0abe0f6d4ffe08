/* SPDX-License-Identifier: GPL-2.0 */
/*
 * The model-based fuzzer's operations, generator and executor, shared by
 * fuzz_model.c (seeded runs, shrinking) and fuzz_libfuzzer.c.
 *
 * A sequence is a flat list of self-contained operations: OPEN starts a
 * cursor session over a range (dropping any open one), CLOSE ends it, and
 * the cursor operations carry absolute addresses (or FZ_CUR: "where the
 * cursor is"). Dropping any operation from a sequence leaves a valid
 * sequence (operations without an open cursor are skipped), which is what
 * the shrinker relies on. Every result is compared with the model; after
 * every session the table is checked (spt_pt_check with the exact refcount
 * equation, node/leaf counts, pool usage, the session's range walked and
 * compared), and every FZ_FULL_EVERY sessions the whole table is compared.
 */
#ifndef SPT_TESTS_FUZZ_H
#define SPT_TESTS_FUZZ_H

#include "model.h"

enum fz_kind {
	FZ_OPEN,	/* [a, b); mut */
	FZ_CLOSE,
	FZ_JUMP,	/* a */
	FZ_MAP,		/* at a; untracked: pa b, level; tracked: slot */
	FZ_MAPRANGE,	/* at a, len b, pa c: spt_largest_level() loop */
	FZ_UNMAP,	/* at a, len b */
	FZ_PROTECT,	/* at a, len b: protect_next loop; set, clear, cache */
	FZ_QUERY,	/* at a */
	FZ_FIND,	/* at a, len b */
	FZ_PUT,		/* drop the handle in slot */
	FZ_DUP,		/* slot2 = another handle on slot's frame */
	/*
	 * at a, b leaves of level: tracked: the frames of slots slot,
	 * slot + 1, ...; untracked: from pa c, contiguous (set == 0) or
	 * as an array; clear != 0: frame clear - 1 is a bad one
	 */
	FZ_MAPRUN,
	FZ_PROTECTRUN,	/* at a, len b: spt_cursor_protect; set, clear, cache */
	FZ_NR_KINDS
};

#define FZ_CUR		(~0ULL)
#define FZ_SLOTS	16
#define FZ_FULL_EVERY	64
#define FZ_KEEP_CACHE	0xff

struct fz_op {
	u64 a, b, c;
	u8 kind, level, flags, cache;
	u8 set, clear, slot, slot2;
	u8 tracked, keep, mut, pad;
};

struct fz_slot {
	u64 pa;
	u8 level;
	bool live;
};

/* What the run exercised (printed by fuzz_model). */
struct fz_stats {
	u64 map_ok[SPT_MAX_LEAF_LEVEL], map_tracked, map_einval, replaced;
	u64 unmap_calls, unmap_leaves, unmap_einval;
	u64 protect_changed, protect_einval;
	u64 run_calls, run_leaves, run_stopped, protect_runs;
	u64 query_mapped, query_absent, find_hit, find_miss;
	u64 open_einval, jump_einval, max_leaves, walks;
};

struct fz {
	struct tenv e;
	struct model m;
	struct spt_cursor c;
	bool open, mut;
	u64 cs, ce, mva;	/* the session's range, expected cursor va */
	struct fz_slot slots[FZ_SLOTS];
	u64 data_frames;	/* expected data frames in use (4 KiB units) */
	u64 ops;		/* core calls made */
	u64 nr_ops;		/* operations that reached the core */
	u64 sessions;
	u64 last_pa;		/* for "physically adjacent" maps */
	bool failed;
	char err[1024];
	bool clear_pending;	/* generator: state too big, clear it */
	struct fz_stats st;
};

/* Print the statistics as "# " lines. */
void fz_print_stats(const struct fz *f);

/* Entropy for the generator: a seeded PRNG or the fuzz input's bytes. */
struct fz_rng {
	u64 s;
	const u8 *buf;
	size_t len, pos;
};

u64 fz_rand(struct fz_rng *r);
/* [0, n): from the fuzz input, only as many bytes as n needs. */
u64 fz_below(struct fz_rng *r, u64 n);

/* Set up (levels 4 or 5) and tear down; fz_finish() checks everything. */
void fz_init(struct fz *f, unsigned int levels, u64 arena_bytes);
bool fz_finish(struct fz *f);	/* false on failure (f->err) */

/* Generate the next operation from the current state. */
void fz_gen(struct fz *f, struct fz_rng *r, struct fz_op *op);
/* Execute one operation; false on a mismatch (f->failed, f->err). */
bool fz_exec(struct fz *f, const struct fz_op *op);

void fz_op_str(const struct fz_op *op, char *buf, size_t len);
/* One line of numbers, and back (for repro files). */
void fz_op_write(const struct fz_op *op, char *buf, size_t len);
bool fz_op_read(struct fz_op *op, const char *line);

#endif /* SPT_TESTS_FUZZ_H */
