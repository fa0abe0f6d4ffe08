// SPDX-License-Identifier: GPL-2.0
/*
 * sptctl peek: a space's bytes read through a mapping of its frames in
 * this process (SPT_IOCTL_MMAP + mmap, spt_mmap()), not through RW.
 */
#include <errno.h>
#include <stdio.h>
#include <string.h>
#include <sys/mman.h>

#include "sptctl.h"

#define PAGE	4096ULL

/* One hexdump -C style line per 16 bytes, addressed by VA. */
static void peek_dump(uint64_t va, const unsigned char *p, size_t len)
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
				printf("   ");
		}
		printf("  |");
		for (j = 0; j < n; j++)
			putchar(p[i + j] >= 0x20 && p[i + j] < 0x7f ?
				p[i + j] : '.');
		printf("|\n");
	}
}

int cmd_peek(const struct cmd *cmd, int argc, char **argv)
{
	uint64_t va, len, start, end;
	void *map = NULL;
	uint32_t id;
	char **pos;
	int err;

	cmd_parse(cmd, argc, argv, NULL, 3, 3, &pos);
	id = arg_space(cmd, pos[0]);
	va = arg_addr(cmd, "VA", pos[1]);
	len = arg_size(cmd, "LEN", pos[2]);
	if (!len)
		cmd_usage_error(cmd, "LEN must not be 0");
	if (va + len < va)
		cmd_usage_error(cmd, "VA + LEN overflows");
	start = va & ~(PAGE - 1);
	end = (va + len + PAGE - 1) & ~(PAGE - 1);
	if (!end)
		cmd_usage_error(cmd, "VA + LEN overflows");
	err = -spt_mmap(sptlib(), id, start, end - start, PROT_READ, &map);
	if (err)
		die(err, "peek space %u at 0x%llx", id, (unsigned long long)va);
	if (opt_json) {
		json_obj_begin(NULL);
		json_u64("space", id);
		json_addr("va", va);
		json_u64("length", len);
		json_hex_begin("data_hex");
		json_hex_part((char *)map + (va - start), len);
		json_hex_end();
		json_obj_end();
	} else {
		peek_dump(va, (unsigned char *)map + (va - start), len);
	}
	spt_munmap(map, end - start);
	if (fflush(stdout))
		die(errno, "write to stdout");
	return 0;
}
