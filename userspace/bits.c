// SPDX-License-Identifier: GPL-2.0
/*
 * sptctl bits ID VA LEN --level N [--set BITS] [--clear BITS] [--rsvd]:
 * SPT_IOCTL_ENTRY_BITS, deliberate bits on the page-table entries of one
 * level (leaves or child entries).
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "sptctl.h"

static const struct {
	const char *name;
	uint64_t bits;
} bit_names[] = {
	{ "w", SPT_BITS_W }, { "u", SPT_BITS_U }, { "pwt", SPT_BITS_PWT },
	{ "pcd", SPT_BITS_PCD }, { "nx", SPT_BITS_NX },
	{ "rsvd", SPT_BITS_RSVD },
};

/*
 * "w,u,nx,pwt,pcd,rsvd,avl=N,pkey=N" (avl: 0..63 in bits 52..57, pkey:
 * 0..15 in bits 59..62); "" or "none": 0.
 */
static uint64_t parse_bits(const struct cmd *cmd, const char *what,
			   const char *s)
{
	char *copy = strdup(s), *tok, *save = NULL, *end;
	uint64_t out = 0, v;
	size_t i;

	if (!copy)
		die(12, "out of memory");
	for (tok = strtok_r(copy, ",", &save); tok;
	     tok = strtok_r(NULL, ",", &save)) {
		if (!strcmp(tok, "none"))
			continue;
		if (!strncmp(tok, "avl=", 4) || !strncmp(tok, "pkey=", 5)) {
			bool avl = tok[0] == 'a';

			v = strtoull(tok + (avl ? 4 : 5), &end, 0);
			if (*end || end == tok + (avl ? 4 : 5) ||
			    v > (avl ? 63 : 15))
				cmd_usage_error(cmd, "invalid %s '%s'", what,
						tok);
			out |= v << (avl ? 52 : 59);
			continue;
		}
		for (i = 0; i < sizeof(bit_names) / sizeof(bit_names[0]); i++)
			if (!strcmp(tok, bit_names[i].name))
				break;
		if (i == sizeof(bit_names) / sizeof(bit_names[0]))
			cmd_usage_error(cmd,
					"invalid %s '%s' (w, u, nx, pwt, pcd, rsvd, avl=N, pkey=N)",
					what, tok);
		out |= bit_names[i].bits;
	}
	free(copy);
	return out;
}

/* The names of the changeable bits set in @bits, comma-separated. */
static void fmt_bits(char *buf, size_t n, uint64_t bits)
{
	size_t i, len = 0;

	buf[0] = 0;
	for (i = 0; i < sizeof(bit_names) / sizeof(bit_names[0]); i++)
		if (bits & bit_names[i].bits)
			len += snprintf(buf + len, n - len, "%s%s",
					len ? "," : "", bit_names[i].name);
	if (bits & SPT_BITS_AVL)
		len += snprintf(buf + len, n - len, "%savl=%llu",
				len ? "," : "",
				(unsigned long long)((bits >> 52) & 63));
	if (bits & SPT_BITS_PKEY)
		len += snprintf(buf + len, n - len, "%spkey=%llu",
				len ? "," : "",
				(unsigned long long)((bits >> 59) & 15));
	if (!len)
		snprintf(buf, n, "none");
}

int cmd_bits(const struct cmd *cmd, int argc, char **argv)
{
	struct spt_entry_bits r = { 0 };
	const char *set = "", *clear = "";
	bool rsvd = false, has_level = false;
	uint64_t level = 0;
	const struct opt opts[] = {
		{ "level", OPT_U64, &level, &has_level },
		{ "set", OPT_STR, &set, NULL },
		{ "clear", OPT_STR, &clear, NULL },
		{ "rsvd", OPT_FLAG, &rsvd, NULL },
		{ NULL, 0, NULL, NULL },
	};
	char b1[FMT_BUF], b2[FMT_BUF], names[128];
	char **pos;
	int err;

	cmd_parse(cmd, argc, argv, opts, 3, 3, &pos);
	if (!has_level || !level || level > 5)
		cmd_usage_error(cmd, "--level N (1..5) is needed");
	r.space_id = arg_space(cmd, pos[0]);
	r.va = arg_addr(cmd, "VA", pos[1]);
	r.length = arg_size(cmd, "LEN", pos[2]);
	r.level = level;
	r.set = parse_bits(cmd, "--set", set);
	r.clear = parse_bits(cmd, "--clear", clear);
	r.flags = rsvd ? SPT_ENTRY_BITS_RSVD : 0;
	err = -spt_entry_bits(sptlib(), &r);
	if (err)
		die(err, "bits: space %u %s+%s level %u", r.space_id,
		    fmt_addr(b1, r.va), fmt_size(b2, r.length), r.level);
	fmt_bits(names, sizeof(names), r.out_bits);
	if (opt_json) {
		json_obj_begin(NULL);
		json_u64("space", r.space_id);
		json_addr("va", r.va);
		json_u64("length", r.length);
		json_u64("level", r.level);
		json_u64("entries", r.out_entries);
		json_u64("changed", r.out_changed);
		json_addr("bits", r.out_bits);
		json_str("names", names);
		json_obj_end();
		return 0;
	}
	printf("space %u: level %u entries of %s-%s: %llu met, %llu changed; first: 0x%llx (%s)\n",
	       r.space_id, r.level, fmt_addr(b1, r.va),
	       fmt_addr(b2, r.va + r.length),
	       (unsigned long long)r.out_entries,
	       (unsigned long long)r.out_changed,
	       (unsigned long long)r.out_bits, names);
	return 0;
}
