// SPDX-License-Identifier: GPL-2.0
/*
 * sptctl map | unmap | protect
 */
#include <errno.h>
#include <fcntl.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>
#include <sys/mman.h>

#include "sptctl.h"

/* "what failed: strerror" and how far the kernel got before it failed. */
static void die_partial(int err, const char *what, uint32_t id, uint64_t va,
			uint64_t len, uint64_t done)
{
	char b1[FMT_BUF], b2[FMT_BUF], b3[FMT_BUF];

	if (done)
		note("%s: %s of %s from %s were done before the error", what,
		     fmt_size(b1, done), fmt_size(b2, len), fmt_addr(b3, va));
	die(err, "%s space %u %s +%s", what, id, fmt_addr(b1, va),
	    fmt_size(b2, len));
}

static void print_range_result(const char *verb, uint32_t id, uint64_t va,
			       uint64_t len, const char *done_key,
			       uint64_t done, const char *count_key,
			       uint64_t count)
{
	char b1[FMT_BUF], b2[FMT_BUF], b3[FMT_BUF];

	if (opt_json) {
		json_obj_begin(NULL);
		json_u64("space", id);
		json_addr("va", va);
		json_u64("length", len);
		json_u64(done_key, done);
		if (count_key)
			json_u64(count_key, count);
		json_obj_end();
		return;
	}
	printf("space %u: %s %s-%s (%s)", id, verb, fmt_addr(b1, va),
	       fmt_addr(b2, va + len), fmt_size(b3, len));
	if (count_key)
		printf(", %llu %s", (unsigned long long)count, count_key);
	putchar('\n');
}

/* map ID VA LEN --share SRC_ID:SRC_VA */
static int map_share(const struct cmd *cmd, struct spt_map *m,
		     const char *share, bool other)
{
	char *src = strdup(share), *colon = src ? strchr(src, ':') : NULL;
	char b1[FMT_BUF], b2[FMT_BUF], b3[FMT_BUF], b4[FMT_BUF];
	uint64_t out = 0;
	int err;

	if (other)
		cmd_usage_error(cmd, "--share takes no --4k, --2m, --largest, --phys or --replace");
	if (!colon)
		cmd_usage_error(cmd, "--share wants SRC_ID:SRC_VA");
	*colon = '\0';
	m->src_space_id = arg_space(cmd, src);
	m->src_va = arg_addr(cmd, "SRC_VA", colon + 1);
	free(src);
	err = -spt_map_share(sptlib(), m->space_id, m->va, m->length,
			     m->src_space_id, m->src_va, m->prot, m->cache,
			     &out);
	if (err)
		die_partial(err, "map --share", m->space_id, m->va, m->length,
			    out);
	if (opt_json) {
		json_obj_begin(NULL);
		json_u64("space", m->space_id);
		json_addr("va", m->va);
		json_u64("length", m->length);
		json_u64("mapped", out);
		json_u64("src_space", m->src_space_id);
		json_addr("src_va", m->src_va);
		json_obj_end();
		return 0;
	}
	printf("space %u: shared %s-%s (%s) from space %u at %s\n",
	       m->space_id, fmt_addr(b1, m->va), fmt_addr(b2, m->va + m->length),
	       fmt_size(b3, m->length), m->src_space_id,
	       fmt_addr(b4, m->src_va));
	return 0;
}

/*
 * map ID VA LEN --file PATH: the file mapped MAP_SHARED and pinned into
 * the space (SPT_MAP_USER); the pins outlive this one-shot process.
 */
static int map_file(const struct cmd *cmd, struct spt_map *m,
		    const char *path, bool other)
{
	bool w = m->prot & SPT_PROT_WRITE;
	char b1[FMT_BUF], b2[FMT_BUF], b3[FMT_BUF];
	uint64_t out = 0;
	void *p;
	int fd, err;

	if (other)
		cmd_usage_error(cmd, "--file takes no --4k, --2m, --largest, --phys, --replace or --share");
	fd = open(path, w ? O_RDWR : O_RDONLY);
	if (fd < 0)
		die(errno, "open %s", path);
	p = mmap(NULL, m->length, w ? PROT_READ | PROT_WRITE : PROT_READ,
		 MAP_SHARED, fd, 0);
	if (p == MAP_FAILED)
		die(errno, "mmap %s", path);
	close(fd);
	err = -spt_map_user(sptlib(), m->space_id, m->va, m->length, p,
			    m->prot, m->cache, &out);
	munmap(p, m->length);
	if (err)
		die_partial(err, "map --file", m->space_id, m->va, m->length,
			    out);
	if (opt_json) {
		json_obj_begin(NULL);
		json_u64("space", m->space_id);
		json_addr("va", m->va);
		json_u64("length", m->length);
		json_u64("mapped", out);
		json_str("file", path);
		json_obj_end();
		return 0;
	}
	printf("space %u: mapped %s-%s (%s) from %s (pinned)\n", m->space_id,
	       fmt_addr(b1, m->va), fmt_addr(b2, m->va + m->length),
	       fmt_size(b3, m->length), path);
	return 0;
}

int cmd_map(const struct cmd *cmd, int argc, char **argv)
{
	bool f4k = false, f2m = false, largest = false, replace = false;
	bool has_phys = false, has_share = false, has_file = false;
	const char *share = NULL, *file = NULL;
	struct spt_map m = { .prot = SPT_PROT_WRITE,
			     .cache = SPT_CACHE_MODE_WB };
	uint64_t out = 0;
	const struct opt opts[] = {
		{ "4k", OPT_FLAG, &f4k, NULL },
		{ "2m", OPT_FLAG, &f2m, NULL },
		{ "largest", OPT_FLAG, &largest, NULL },
		{ "phys", OPT_ADDR, &m.phys, &has_phys },
		{ "prot", OPT_PROT, &m.prot, NULL },
		{ "cache", OPT_CACHE, &m.cache, NULL },
		{ "replace", OPT_FLAG, &replace, NULL },
		{ "share", OPT_STR, &share, &has_share },
		{ "file", OPT_STR, &file, &has_file },
		{ NULL, 0, NULL, NULL },
	};
	char **pos;
	int err;

	cmd_parse(cmd, argc, argv, opts, 3, 3, &pos);
	m.space_id = arg_space(cmd, pos[0]);
	m.va = arg_addr(cmd, "VA", pos[1]);
	m.length = arg_size(cmd, "LEN", pos[2]);
	if (f4k + f2m + largest > 1)
		cmd_usage_error(cmd, "--4k, --2m, --largest: at most one");
	if (has_file)
		return map_file(cmd, &m, file, f4k || f2m || largest ||
				has_phys || replace || has_share);
	if (has_share)
		return map_share(cmd, &m, share,
				 f4k || f2m || largest || has_phys || replace);
	if (has_phys) {
		if (f4k || f2m || largest)
			cmd_usage_error(cmd, "--phys chooses its leaf sizes");
		m.flags = SPT_MAP_PHYS;
	} else {
		m.flags = f2m ? SPT_MAP_2M :
			  largest ? SPT_MAP_LARGEST : SPT_MAP_4K;
	}
	if (replace)
		m.flags |= SPT_MAP_REPLACE;
	err = -spt_map(sptlib(), m.space_id, m.va, m.length, m.flags, m.prot,
		       m.cache, m.phys, &out);
	m.out_mapped = out;
	if (err)
		die_partial(err, "map", m.space_id, m.va, m.length,
			    m.out_mapped);
	print_range_result("mapped", m.space_id, m.va, m.length, "mapped",
			   m.out_mapped, NULL, 0);
	return 0;
}

int cmd_unmap(const struct cmd *cmd, int argc, char **argv)
{
	struct spt_unmap u = { 0 };
	uint64_t leaves, done;
	char **pos;
	int err;

	cmd_parse(cmd, argc, argv, NULL, 3, 3, &pos);
	u.space_id = arg_space(cmd, pos[0]);
	u.va = arg_addr(cmd, "VA", pos[1]);
	u.length = arg_size(cmd, "LEN", pos[2]);
	err = -spt_unmap(sptlib(), u.space_id, u.va, u.length, &leaves,
			 &done);
	u.out_unmapped = leaves;
	u.out_done = done;
	if (err)
		die_partial(err, "unmap", u.space_id, u.va, u.length,
			    u.out_done);
	print_range_result("unmapped", u.space_id, u.va, u.length, "done",
			   u.out_done, "leaves", u.out_unmapped);
	return 0;
}

int cmd_protect(const struct cmd *cmd, int argc, char **argv)
{
	struct spt_protect p = { 0 };
	bool has_cache = false;
	const struct opt opts[] = {
		{ "cache", OPT_CACHE, &p.cache, &has_cache },
		{ NULL, 0, NULL, NULL },
	};
	uint64_t leaves, done;
	char **pos;
	int err;

	cmd_parse(cmd, argc, argv, opts, 4, 4, &pos);
	p.space_id = arg_space(cmd, pos[0]);
	p.va = arg_addr(cmd, "VA", pos[1]);
	p.length = arg_size(cmd, "LEN", pos[2]);
	p.prot = arg_prot(cmd, pos[3]);
	p.flags = has_cache ? SPT_PROTECT_CACHE : 0;
	err = -spt_protect(sptlib(), p.space_id, p.va, p.length, p.flags,
			   p.prot, p.cache, &leaves, &done);
	p.out_protected = leaves;
	p.out_done = done;
	if (err)
		die_partial(err, "protect", p.space_id, p.va, p.length,
			    p.out_done);
	print_range_result("protected", p.space_id, p.va, p.length, "done",
			   p.out_done, "leaves", p.out_protected);
	return 0;
}
