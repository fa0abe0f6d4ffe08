/* SPDX-License-Identifier: GPL-2.0 */
/* sptbench's tables row (tables_row.c). */
#ifndef SPTBENCH_TABLES_ROW_H
#define SPTBENCH_TABLES_ROW_H

#include <stdint.h>
#include <stddef.h>
#include <linux/shadowpt.h>

/* What PTEditor's resolve gives per VA: each level's entry. */
struct tb_entry {
	uint64_t e[5];
};

int tb_open(uint32_t id);
int tb_walk(const uint64_t *vas, size_t n, struct spt_query_entry *out);
void tb_bare(const uint64_t *vas, size_t n, struct tb_entry *out);
void tb_close(void);

#endif
