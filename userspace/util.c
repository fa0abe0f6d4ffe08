// SPDX-License-Identifier: GPL-2.0
/*
 * sptctl helpers: errors, numbers, formatting, tables and JSON.
 */
#include <ctype.h>
#include <errno.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <linux/shadowpt.h>

#include "util.h"

static void verr(int err, const char *fmt, va_list ap)
{
	fflush(stdout);
	fputs("sptctl: ", stderr);
	vfprintf(stderr, fmt, ap);
	if (err)
		fprintf(stderr, ": %s", strerror(err));
	fputc('\n', stderr);
}

void err_msg(int err, const char *fmt, ...)
{
	va_list ap;

	va_start(ap, fmt);
	verr(err, fmt, ap);
	va_end(ap);
}

void die(int err, const char *fmt, ...)
{
	va_list ap;

	va_start(ap, fmt);
	verr(err, fmt, ap);
	va_end(ap);
	exit(EXIT_FAIL);
}

void note(const char *fmt, ...)
{
	va_list ap;

	va_start(ap, fmt);
	verr(0, fmt, ap);
	va_end(ap);
}

void *xrealloc(void *p, size_t n)
{
	p = realloc(p, n ? n : 1);
	if (!p)
		die(ENOMEM, "out of memory");
	return p;
}

void *xmalloc(size_t n)
{
	return xrealloc(NULL, n);
}

char *xstrdup(const char *s)
{
	size_t n = strlen(s) + 1;

	return memcpy(xmalloc(n), s, n);
}

/* ---- numbers ---- */

/* Decimal, or hex with 0x; sets *end past the digits. */
static bool parse_digits(const char *s, uint64_t *out, const char **end)
{
	unsigned long long v;
	char *e;
	int base = 10;

	/* strtoull accepts leading space and signs: we do not. */
	if (!isdigit((unsigned char)s[0]))
		return false;
	if (s[0] == '0' && (s[1] == 'x' || s[1] == 'X')) {
		if (!isxdigit((unsigned char)s[2]))
			return false;
		base = 16;
	}
	errno = 0;
	v = strtoull(s, &e, base);
	if (errno)
		return false;
	*out = v;
	*end = e;
	return true;
}

bool parse_size(const char *s, uint64_t *out)
{
	static const char units[] = "KMGTP";
	const char *e, *u;
	uint64_t v;
	unsigned int shift;

	if (!parse_digits(s, &v, &e))
		return false;
	if (!*e) {
		*out = v;
		return true;
	}
	u = strchr(units, toupper((unsigned char)*e));
	if (!u)
		return false;
	shift = 10 * (unsigned int)(u - units + 1);
	e++;
	if (!strcasecmp(e, "iB") || !strcasecmp(e, "B"))
		e += strlen(e);
	if (*e || v > (UINT64_MAX >> shift))
		return false;
	*out = v << shift;
	return true;
}

bool parse_addr(const char *s, uint64_t *out)
{
	return parse_size(s, out);
}

bool parse_u64(const char *s, uint64_t *out)
{
	const char *e;

	return parse_digits(s, out, &e) && !*e;
}

bool parse_u32(const char *s, uint32_t *out)
{
	uint64_t v;

	if (!parse_u64(s, &v) || v > UINT32_MAX)
		return false;
	*out = (uint32_t)v;
	return true;
}

bool parse_prot(const char *s, uint32_t *out)
{
	uint32_t prot = 0, bit;
	bool r = false;

	if (!*s)
		return false;
	for (; *s; s++) {
		switch (tolower((unsigned char)*s)) {
		case '-':
			continue;
		case 'r':
			if (r)
				return false;
			r = true;
			continue;
		case 'w':
			bit = SPT_PROT_WRITE;
			break;
		case 'x':
			bit = SPT_PROT_EXEC;
			break;
		case 'u':
			bit = SPT_PROT_USER;
			break;
		default:
			return false;
		}
		if (prot & bit)
			return false;
		prot |= bit;
	}
	*out = prot;
	return true;
}

static const char *const cache_names[] = {
	[SPT_CACHE_MODE_WB] = "WB",
	[SPT_CACHE_MODE_WT] = "WT",
	[SPT_CACHE_MODE_UC_MINUS] = "UC-",
	[SPT_CACHE_MODE_UC] = "UC",
	[SPT_CACHE_MODE_WC] = "WC",
	[SPT_CACHE_MODE_PAT(0)] = "PAT0",
	[SPT_CACHE_MODE_PAT(1)] = "PAT1",
	[SPT_CACHE_MODE_PAT(2)] = "PAT2",
	[SPT_CACHE_MODE_PAT(3)] = "PAT3",
	[SPT_CACHE_MODE_PAT(4)] = "PAT4",
	[SPT_CACHE_MODE_PAT(5)] = "PAT5",
	[SPT_CACHE_MODE_PAT(6)] = "PAT6",
	[SPT_CACHE_MODE_PAT(7)] = "PAT7",
};

bool parse_cache(const char *s, uint32_t *out)
{
	uint32_t i;

	for (i = 0; i < ARRAY_SIZE(cache_names); i++) {
		if (!strcasecmp(s, cache_names[i])) {
			*out = i;
			return true;
		}
	}
	return false;
}

/* ---- formatting ---- */

const char *fmt_size(char *buf, uint64_t bytes)
{
	static const char units[] = "KMGTPE";
	int i = -1;

	while (bytes && !(bytes & 1023) && units[i + 1]) {
		bytes >>= 10;
		i++;
	}
	if (i < 0)
		snprintf(buf, FMT_BUF, "%llu", (unsigned long long)bytes);
	else
		snprintf(buf, FMT_BUF, "%llu%c", (unsigned long long)bytes,
			 units[i]);
	return buf;
}

const char *fmt_addr(char *buf, uint64_t addr)
{
	snprintf(buf, FMT_BUF, "0x%016llx", (unsigned long long)addr);
	return buf;
}

const char *fmt_prot(char *buf, uint32_t prot)
{
	snprintf(buf, FMT_BUF, "r%c%c%c%c%c",
		 prot & SPT_PROT_WRITE ? 'w' : '-',
		 prot & SPT_PROT_EXEC ? 'x' : '-',
		 prot & SPT_PROT_USER ? 'u' : '-',
		 prot & SPT_PROT_ACCESSED ? 'A' : '-',
		 prot & SPT_PROT_DIRTY ? 'D' : '-');
	if (prot & SPT_PROT_GLOBAL)
		strcat(buf, "G");
	return buf;
}

const char *fmt_cache(char *buf, uint32_t cache)
{
	if (cache < ARRAY_SIZE(cache_names))
		snprintf(buf, FMT_BUF, "%s", cache_names[cache]);
	else
		snprintf(buf, FMT_BUF, "?%u", cache);
	return buf;
}

uint64_t level_size(uint32_t level)
{
	if (level < 1 || level > 5)
		return 0;
	return 4096ULL << (9 * (level - 1));
}

/* ---- tables ---- */

static void table_push(struct table *t, char *cell)
{
	if (t->ncells == t->cap) {
		t->cap = t->cap ? 2 * t->cap : 64;
		t->cells = xrealloc(t->cells, t->cap * sizeof(*t->cells));
	}
	t->cells[t->ncells++] = cell;
}

void table_init(struct table *t, const char *align, ...)
{
	const char *h;
	va_list ap;

	memset(t, 0, sizeof(*t));
	t->align = align;
	va_start(ap, align);
	while ((h = va_arg(ap, const char *))) {
		table_push(t, xstrdup(h));
		t->ncols++;
	}
	va_end(ap);
}

void table_cell(struct table *t, const char *fmt, ...)
{
	va_list ap;
	char *s;

	va_start(ap, fmt);
	if (vasprintf(&s, fmt, ap) < 0)
		die(ENOMEM, "out of memory");
	va_end(ap);
	table_push(t, s);
}

void table_print(struct table *t)
{
	size_t *w = calloc(t->ncols, sizeof(*w));
	size_t i;

	if (!w)
		die(ENOMEM, "out of memory");
	for (i = 0; i < t->ncells; i++) {
		size_t n = strlen(t->cells[i]);

		if (n > w[i % t->ncols])
			w[i % t->ncols] = n;
	}
	for (i = 0; i < t->ncells; i++) {
		unsigned int c = i % t->ncols;
		bool last = c == t->ncols - 1;
		int width = (int)w[c];

		if (t->align[c] == 'r')
			printf("%*s", width, t->cells[i]);
		else
			printf("%-*s", last ? 0 : width, t->cells[i]);
		fputs(last ? "\n" : "  ", stdout);
		free(t->cells[i]);
	}
	if (t->ncells % t->ncols)
		putchar('\n');
	free(t->cells);
	free(w);
	memset(t, 0, sizeof(*t));
}

/* ---- JSON ---- */

#define JSON_MAX_DEPTH	16

static struct {
	int depth;
	bool need_comma[JSON_MAX_DEPTH];
} js;

static void json_string(const char *s)
{
	const unsigned char *p = (const unsigned char *)s;

	putchar('"');
	for (; *p; p++) {
		switch (*p) {
		case '"':
			fputs("\\\"", stdout);
			break;
		case '\\':
			fputs("\\\\", stdout);
			break;
		case '\n':
			fputs("\\n", stdout);
			break;
		case '\t':
			fputs("\\t", stdout);
			break;
		default:
			/* Control bytes, and bytes that might not be UTF-8. */
			if (*p < 0x20 || *p >= 0x7f)
				printf("\\u%04x", *p);
			else
				putchar(*p);
		}
	}
	putchar('"');
}

static void json_prefix(const char *key)
{
	if (js.depth > 0) {
		if (js.need_comma[js.depth - 1])
			putchar(',');
		js.need_comma[js.depth - 1] = true;
	}
	if (key) {
		json_string(key);
		putchar(':');
	}
}

/* After a complete value: end the line at the top level. */
static void json_done(void)
{
	if (js.depth == 0) {
		putchar('\n');
		fflush(stdout);
	}
}

static void json_open(const char *key, char c)
{
	json_prefix(key);
	putchar(c);
	if (js.depth >= JSON_MAX_DEPTH)
		die(EOVERFLOW, "JSON nesting");
	js.need_comma[js.depth++] = false;
}

static void json_close(char c)
{
	putchar(c);
	js.depth--;
	json_done();
}

void json_obj_begin(const char *key)
{
	json_open(key, '{');
}

void json_obj_end(void)
{
	json_close('}');
}

void json_arr_begin(const char *key)
{
	json_open(key, '[');
}

void json_arr_end(void)
{
	json_close(']');
}

void json_u64(const char *key, uint64_t v)
{
	json_prefix(key);
	printf("%llu", (unsigned long long)v);
	json_done();
}

void json_i64(const char *key, int64_t v)
{
	json_prefix(key);
	printf("%lld", (long long)v);
	json_done();
}

void json_bool(const char *key, bool v)
{
	json_prefix(key);
	fputs(v ? "true" : "false", stdout);
	json_done();
}

void json_str(const char *key, const char *s)
{
	json_prefix(key);
	json_string(s);
	json_done();
}

void json_null(const char *key)
{
	json_prefix(key);
	fputs("null", stdout);
	json_done();
}

void json_addr(const char *key, uint64_t v)
{
	char hkey[64], buf[FMT_BUF];

	json_u64(key, v);
	snprintf(hkey, sizeof(hkey), "%s_hex", key);
	snprintf(buf, sizeof(buf), "0x%llx", (unsigned long long)v);
	json_str(hkey, buf);
}

void json_hex_begin(const char *key)
{
	json_prefix(key);
	putchar('"');
}

void json_hex_part(const void *buf, size_t len)
{
	const unsigned char *p = buf;
	size_t i;

	for (i = 0; i < len; i++)
		printf("%02x", p[i]);
}

void json_hex_end(void)
{
	putchar('"');
	json_done();
}
