/* SPDX-License-Identifier: GPL-2.0 */
/*
 * sptctl helpers: error reporting, number parsing, formatting of sizes,
 * protections and cache modes, aligned text tables and a streaming JSON
 * writer (stdout only: nothing is held in memory but the nesting state).
 */
#ifndef SPTCTL_UTIL_H
#define SPTCTL_UTIL_H

#include <stdarg.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>

#define ARRAY_SIZE(a)	(sizeof(a) / sizeof((a)[0]))

/* Exit codes: 0 success, 1 an operation failed, 2 bad usage. */
#define EXIT_FAIL	1
#define EXIT_USAGE	2

/* "sptctl: <what>: <strerror(err)>" on stderr; err is a positive errno. */
void err_msg(int err, const char *fmt, ...)
	__attribute__((format(printf, 2, 3)));
/* Same, then exit(EXIT_FAIL). */
void die(int err, const char *fmt, ...)
	__attribute__((format(printf, 2, 3), noreturn));
/* "sptctl: <what>" on stderr (no errno). */
void note(const char *fmt, ...) __attribute__((format(printf, 1, 2)));
void *xmalloc(size_t n);
void *xrealloc(void *p, size_t n);
char *xstrdup(const char *s);

/*
 * Numbers. parse_size: decimal or 0x-hex, optional binary suffix K, M, G,
 * T, P (also KiB, KB...), case-insensitive. parse_addr: the same (so "2M"
 * is an address too). parse_u64/parse_u32: decimal or 0x-hex, no suffix.
 * All return false on garbage or overflow.
 */
bool parse_size(const char *s, uint64_t *out);
bool parse_addr(const char *s, uint64_t *out);
bool parse_u64(const char *s, uint64_t *out);
bool parse_u32(const char *s, uint32_t *out);
/* "rwxu" letters in any order, '-' ignored; r is implied. */
bool parse_prot(const char *s, uint32_t *out);
/* wb, wt, uc-, uc, wc (case-insensitive). */
bool parse_cache(const char *s, uint32_t *out);

/* Formatting into caller buffers of at least FMT_BUF bytes. */
#define FMT_BUF		32
/* Largest binary unit that divides exactly: "16M", "4K", "6K", "100". */
const char *fmt_size(char *buf, uint64_t bytes);
/* "0x%016llx" */
const char *fmt_addr(char *buf, uint64_t addr);
/* "rwxuAD" with '-' for clear bits: "rw-u--". */
const char *fmt_prot(char *buf, uint32_t prot);
/* "WB", "WT", "UC-", "UC", "WC" or "?N". */
const char *fmt_cache(char *buf, uint32_t cache);
/* Bytes one entry of a level maps: 1 -> 4K, 2 -> 2M ... 5 -> 256T; else 0. */
uint64_t level_size(uint32_t level);

/* An aligned text table: add cells row by row, print once. */
struct table {
	unsigned int ncols;
	const char *align;	/* one of 'l'/'r' per column */
	char **cells;		/* headers first, then rows */
	size_t ncells, cap;
};

/* align: 'l' or 'r' per column; then the headers, NULL-terminated. */
void table_init(struct table *t, const char *align, ...);
void table_cell(struct table *t, const char *fmt, ...)
	__attribute__((format(printf, 2, 3)));
void table_print(struct table *t);	/* prints to stdout and frees */

/*
 * Streaming JSON to stdout. key is NULL for array elements and for the
 * top-level value. A top-level value is followed by a newline and a flush.
 */
void json_obj_begin(const char *key);
void json_obj_end(void);
void json_arr_begin(const char *key);
void json_arr_end(void);
void json_u64(const char *key, uint64_t v);
void json_i64(const char *key, int64_t v);
void json_bool(const char *key, bool v);
void json_str(const char *key, const char *s);
void json_null(const char *key);
/* key: v as a number, and key_hex: "0x..." as a string. */
void json_addr(const char *key, uint64_t v);
/* A hex string of bytes ("48656c6c6f") written in parts. */
void json_hex_begin(const char *key);
void json_hex_part(const void *buf, size_t len);
void json_hex_end(void);

#endif /* SPTCTL_UTIL_H */
