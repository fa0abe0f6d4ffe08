// SPDX-License-Identifier: GPL-2.0
/*
 * sptctl query | read | write
 */
#include <ctype.h>
#include <errno.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "sptctl.h"

/* SPT_IOCTL_RW moves at most this much per call. */
#define RW_CHUNK	(16ULL << 20)

/* What a mapped leaf is: a pool frame, a pinned user page or raw memory. */
static const char *leaf_kind(uint32_t flags)
{
	if (flags & SPT_QUERY_TRACKED)
		return "pool";
	return flags & SPT_QUERY_PINNED ? "pinned" : "phys";
}

static void query_row(struct table *t, uint64_t va,
		      const struct spt_query_entry *e)
{
	bool mapped = e->flags & SPT_QUERY_MAPPED;
	char b1[FMT_BUF], b2[FMT_BUF], b3[FMT_BUF];

	if (opt_json) {
		json_obj_begin(NULL);
		json_addr("va", va);
		json_bool("mapped", mapped);
		json_addr("va_start", e->va_start);
		json_addr("va_end", e->va_end);
		json_u64("level", e->level);
		json_u64("size", e->va_end - e->va_start);
		if (mapped) {
			json_addr("phys", e->phys);
			json_str("prot", fmt_prot(b1, e->prot));
			json_u64("prot_bits", e->prot);
			json_str("cache", fmt_cache(b2, e->cache));
			json_bool("tracked", e->flags & SPT_QUERY_TRACKED);
			json_str("kind", leaf_kind(e->flags));
		}
		json_obj_end();
		return;
	}
	table_cell(t, "%s", fmt_addr(b1, va));
	table_cell(t, "%s-%s", fmt_addr(b2, e->va_start),
		   fmt_addr(b3, e->va_end));
	if (!mapped) {
		table_cell(t, "-");
		table_cell(t, "%u/%s", e->level,
			   fmt_size(b1, e->va_end - e->va_start));
		table_cell(t, "-");
		table_cell(t, "-");
		table_cell(t, "unmapped");
		return;
	}
	table_cell(t, "%s", fmt_addr(b1, e->phys));
	table_cell(t, "%u/%s", e->level,
		   fmt_size(b2, e->va_end - e->va_start));
	table_cell(t, "%s", fmt_prot(b1, e->prot));
	table_cell(t, "%s", fmt_cache(b2, e->cache));
	table_cell(t, "%s", e->flags & SPT_QUERY_TRACKED ? "yes" :
			    e->flags & SPT_QUERY_PINNED ? "pinned" : "no");
}

static void query_end(struct table *t)
{
	if (opt_json)
		json_arr_end();
	else
		table_print(t);
}

/* The pages of a --len query: a word each (--pages), else the runs. */
#define QUERY_CHUNK	4096

static void range_row(struct table *t, uint64_t va, uint64_t end, uint64_t pa,
		      uint32_t level, uint32_t prot, uint32_t cache,
		      uint32_t flags)
{
	struct spt_query_entry e = {
		.va_start = va, .va_end = end, .phys = pa, .flags = flags,
		.level = level, .prot = prot, .cache = cache,
	};

	query_row(t, va, &e);
}

/*
 * sptctl query ID VA --len LEN: what [VA, VA+LEN) maps to, by
 * SPT_IOCTL_QUERY_RANGE: the merged runs (RANGE is the run), or with
 * --pages one row per 4 KiB page (unmapped ones included).
 */
static int query_range(uint32_t id, uint64_t va, uint64_t len, bool pages)
{
	uint64_t end = va + len, next, *words = NULL;
	struct spt_query_run *runs = NULL;
	size_t nr, i;
	struct table t;
	int err = 0;

	if (pages)
		words = xmalloc(QUERY_CHUNK * sizeof(*words));
	else
		runs = xmalloc(QUERY_CHUNK * sizeof(*runs));
	if (opt_json)
		json_arr_begin(NULL);
	else
		table_init(&t, "lllllll", "VA", "RANGE", "PHYS",
			   "LEVEL/SIZE", "PROT", "CACHE", "TRACKED", NULL);
	while (va < end && !err) {
		err = -spt_query_runs(sptlib(), id, va, end - va,
				      pages ? SPT_QUERY_RANGE_COMPACT : 0,
				      pages ? (void *)words : (void *)runs,
				      QUERY_CHUNK, &nr, &next);
		for (i = 0; i < nr; i++) {
			uint64_t w = pages ? words[i] : 0;
			uint64_t p = va + i * 4096;

			if (!pages)
				range_row(&t, runs[i].start, runs[i].end,
					  runs[i].pa,
					  runs[i].level, runs[i].prot,
					  runs[i].cache, runs[i].flags);
			else
				range_row(&t, p, p + 4096,
					  SPT_QPAGE_PA(w), w ?
					  SPT_QPAGE_LEVEL(w) : 1,
					  SPT_QPAGE_PROT(w),
					  SPT_QPAGE_CACHE(w), w & 3);
		}
		va = next;
	}
	query_end(&t);
	free(words);
	free(runs);
	if (err)
		die(err, "query space %u: stopped at 0x%llx", id,
		    (unsigned long long)va);
	return 0;
}

int cmd_query(const struct cmd *cmd, int argc, char **argv)
{
	struct spt_query_entry *out;
	struct table t;
	uint32_t id;
	uint64_t *vas, len = 0;
	size_t n, i, at;
	bool has_len = false, pages = false, tables = false;
	struct spt_tables_map *tm = NULL;
	const struct opt opts[] = {
		{ "len", OPT_SIZE, &len, &has_len },
		{ "pages", OPT_FLAG, &pages, NULL },
		{ "tables", OPT_FLAG, &tables, NULL },
		{ NULL, 0, NULL, NULL },
	};
	char **pos;
	int err = 0;

	n = (size_t)cmd_parse(cmd, argc, argv, opts, 2, -1, &pos);
	id = arg_space(cmd, pos[0]);
	n--;
	if (pages && !has_len)
		cmd_usage_error(cmd, "--pages needs --len");
	if (tables && has_len)
		cmd_usage_error(cmd, "--tables is not for --len");
	if (tables) {
		err = -spt_tables_open(sptlib(), id, &tm);
		if (err)
			die(err, "tables of space %u", id);
	}
	if (has_len) {
		if (n != 1)
			cmd_usage_error(cmd, "--len takes one VA");
		return query_range(id, arg_addr(cmd, "VA", pos[1]), len,
				   pages);
	}
	vas = xmalloc(n * sizeof(*vas));
	for (i = 0; i < n; i++)
		vas[i] = arg_addr(cmd, "VA", pos[1 + i]);
	out = xmalloc(n * sizeof(*out));

	if (n == 1) {
		err = -spt_query(sptlib(), id, vas[0], &out[0]);
		if (err)
			die(err, "query space %u 0x%llx", id,
			    (unsigned long long)vas[0]);
		at = 1;
	} else {
		/* libshadowpt splits it into SPT_QUERY_BATCH_MAX calls. */
		err = -spt_query_batch(sptlib(), id, vas, n, out, &at);
	}

	if (opt_json)
		json_arr_begin(NULL);
	else
		table_init(&t, "lllllll", "VA", "RANGE", "PHYS",
			   "LEVEL/SIZE", "PROT", "CACHE", "TRACKED", NULL);
	for (i = 0; i < at; i++)
		query_row(&t, vas[i], &out[i]);
	query_end(&t);
	free(vas);
	free(out);
	spt_tables_close(tm);
	if (err)
		die(err, "query space %u: %zu of %zu addresses translated", id,
		    at, n);
	return 0;
}

/* ---- read ---- */

enum read_fmt { READ_DUMP, READ_HEX, READ_RAW };

/* One hexdump -C style line per 16 bytes, addressed by VA. */
static void hexdump(uint64_t va, const unsigned char *p, size_t len)
{
	size_t i, j;

	for (i = 0; i < len; i += 16) {
		size_t n = len - i < 16 ? len - i : 16;

		printf("0x%016llx ", (unsigned long long)(va + i));
		for (j = 0; j < 16; j++) {
			if (j == 8)
				putchar(' ');
			if (j < n)
				printf(" %02x", p[i + j]);
			else
				fputs("   ", stdout);
		}
		fputs("  |", stdout);
		for (j = 0; j < n; j++)
			putchar(isprint(p[i + j]) ? p[i + j] : '.');
		puts("|");
	}
}

static void read_out(enum read_fmt fmt, uint64_t va, const void *buf,
		     size_t len)
{
	if (opt_json) {
		json_hex_part(buf, len);
		return;
	}
	switch (fmt) {
	case READ_DUMP:
		hexdump(va, buf, len);
		break;
	case READ_HEX: {
		const unsigned char *p = buf;
		size_t i;

		for (i = 0; i < len; i++)
			printf("%02x", p[i]);
		break;
	}
	case READ_RAW:
		if (fwrite(buf, 1, len, stdout) != len)
			die(errno, "write to stdout");
		break;
	}
}

int cmd_read(const struct cmd *cmd, int argc, char **argv)
{
	bool hex = false, raw = false;
	const struct opt opts[] = {
		{ "hex", OPT_FLAG, &hex, NULL },
		{ "raw", OPT_FLAG, &raw, NULL },
		{ NULL, 0, NULL, NULL },
	};
	enum read_fmt fmt;
	struct spt_rw rw = { 0 };
	uint64_t va, len, done = 0;
	size_t chunk;
	unsigned char *buf;
	char **pos;
	int err = 0;

	cmd_parse(cmd, argc, argv, opts, 3, 3, &pos);
	rw.space_id = arg_space(cmd, pos[0]);
	va = arg_addr(cmd, "VA", pos[1]);
	len = arg_size(cmd, "LEN", pos[2]);
	if (hex && raw)
		cmd_usage_error(cmd, "--hex and --raw exclude each other");
	if (opt_json && (hex || raw))
		cmd_usage_error(cmd, "--json prints the bytes as hex already");
	if (!len)
		cmd_usage_error(cmd, "LEN must not be 0");
	fmt = hex ? READ_HEX : raw ? READ_RAW : READ_DUMP;
	buf = xmalloc(len < RW_CHUNK ? len : RW_CHUNK);

	if (opt_json) {
		json_obj_begin(NULL);
		json_u64("space", rw.space_id);
		json_addr("va", va);
		json_u64("length", len);
		json_hex_begin("data_hex");
	}
	while (done < len) {
		rw.va = va + done;
		rw.length = len - done < RW_CHUNK ? len - done : RW_CHUNK;
		err = -spt_read(sptlib(), rw.space_id, rw.va, buf, rw.length,
				&chunk);
		/* Print what was read, also when the call stopped early. */
		read_out(fmt, rw.va, buf, chunk);
		done += chunk;
		if (err)
			break;
	}
	if (opt_json) {
		json_hex_end();
		json_u64("done", done);
		if (err) {
			json_u64("errno", err);
			json_str("error", strerror(err));
		}
		json_obj_end();
	} else if (fmt == READ_HEX && done) {
		putchar('\n');
	}
	free(buf);
	if (fflush(stdout))
		die(errno, "write to stdout");
	if (err)
		die(err, "read space %u 0x%llx: %llu of %llu bytes read",
		    rw.space_id, (unsigned long long)(va + done),
		    (unsigned long long)done, (unsigned long long)len);
	return 0;
}

/* ---- write ---- */

static int hexval(int c)
{
	if (c >= '0' && c <= '9')
		return c - '0';
	c = tolower(c);
	if (c >= 'a' && c <= 'f')
		return c - 'a' + 10;
	return -1;
}

/* "48 65 6c", "0x48656c": whitespace ignored. Returns the byte count. */
static bool parse_hex(const char *s, unsigned char **out, size_t *len)
{
	unsigned char *buf = xmalloc(strlen(s) / 2 + 1);
	size_t n = 0;
	int hi = -1;

	if (s[0] == '0' && (s[1] == 'x' || s[1] == 'X'))
		s += 2;
	for (; *s; s++) {
		int v;

		if (isspace((unsigned char)*s))
			continue;
		v = hexval((unsigned char)*s);
		if (v < 0)
			goto bad;
		if (hi < 0) {
			hi = v;
		} else {
			buf[n++] = (unsigned char)(hi << 4 | v);
			hi = -1;
		}
	}
	if (hi >= 0)
		goto bad;
	*out = buf;
	*len = n;
	return true;
bad:
	free(buf);
	return false;
}

/* Write len bytes at va through the space; returns 0 or errno. */
static int write_chunk(uint32_t id, uint64_t va, const void *buf, size_t len,
		       uint64_t *done)
{
	size_t chunk = 0;
	int err = -spt_write(sptlib(), id, va, buf, len, &chunk);

	*done += chunk;
	return err;
}

int cmd_write(const struct cmd *cmd, int argc, char **argv)
{
	const char *hex = NULL, *file = NULL;
	const struct opt opts[] = {
		{ "hex", OPT_STR, &hex, NULL },
		{ "file", OPT_STR, &file, NULL },
		{ NULL, 0, NULL, NULL },
	};
	uint64_t va, done = 0;
	unsigned char *buf;
	uint32_t id;
	size_t len;
	char **pos;
	int n, err = 0;

	n = cmd_parse(cmd, argc, argv, opts, 2, 3, &pos);
	id = arg_space(cmd, pos[0]);
	va = arg_addr(cmd, "VA", pos[1]);
	if (!!hex + !!file + (n == 3) != 1)
		cmd_usage_error(cmd, "give exactly one of STRING, --hex, --file");

	if (file) {
		FILE *f = strcmp(file, "-") ? fopen(file, "rb") : stdin;

		if (!f)
			die(errno, "open %s", file);
		/* Stream the file in chunks the ioctl takes at once. */
		buf = xmalloc(RW_CHUNK);
		while (!err && (len = fread(buf, 1, RW_CHUNK, f)) > 0)
			err = write_chunk(id, va + done, buf, len, &done);
		if (!err && ferror(f))
			die(EIO, "read %s", file);
		if (f != stdin)
			fclose(f);
	} else {
		if (hex) {
			if (!parse_hex(hex, &buf, &len))
				cmd_usage_error(cmd, "invalid --hex '%s'", hex);
		} else {
			len = strlen(pos[2]);
			buf = (unsigned char *)xstrdup(pos[2]);
		}
		if (!len)
			cmd_usage_error(cmd, "nothing to write");
		for (size_t at = 0; at < len && !err; at += RW_CHUNK) {
			size_t c = len - at < RW_CHUNK ? len - at : RW_CHUNK;

			err = write_chunk(id, va + at, buf + at, c, &done);
		}
	}
	free(buf);
	if (err)
		die(err, "write space %u 0x%llx (after %llu bytes written)",
		    id, (unsigned long long)(va + done),
		    (unsigned long long)done);
	if (opt_json) {
		json_obj_begin(NULL);
		json_u64("space", id);
		json_addr("va", va);
		json_u64("written", done);
		json_obj_end();
	} else {
		printf("space %u: wrote %llu bytes at 0x%llx\n", id,
		       (unsigned long long)done, (unsigned long long)va);
	}
	return 0;
}
