/* SPDX-License-Identifier: LGPL-2.1 OR GPL-2.0 */
/* libshadowpt: what ioctl.c and tables.c share. Not installed. */
#ifndef LIBSHADOWPT_INTERNAL_H
#define LIBSHADOWPT_INTERNAL_H

#include "libshadowpt.h"

#define SPT_EXPORT	__attribute__((visibility("default")))

struct spt {
	int fd;
	/* spt_tables_open(): the queries of those spaces walk them */
	struct spt_tables_map *tables;
};

/*
 * Queries through an open tables mapping of @space_id, if any: 0 done,
 * 1 not done (no mapping, a VA outside the user half, or a walk that
 * kept racing with changes: ask the kernel), or a negative errno.
 */
int spt_tables_try_query(struct spt *h, uint32_t space_id,
			 const uint64_t *vas, size_t count,
			 struct spt_query_entry *out);
/* spt_close(): the mappings opened through @h. */
void spt_tables_close_all(struct spt *h);

#endif /* LIBSHADOWPT_INTERNAL_H */
