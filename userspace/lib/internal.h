/* SPDX-License-Identifier: LGPL-2.1 OR GPL-2.0 */
/* libshadowpt: what ioctl.c and tables.c share. Not installed. */
#ifndef LIBSHADOWPT_INTERNAL_H
#define LIBSHADOWPT_INTERNAL_H

#include <errno.h>

#include "libshadowpt.h"

#define SPT_EXPORT	__attribute__((visibility("default")))

struct spt {
	int fd;
	/* spt_tables_open(): the queries of those spaces walk them */
	struct spt_tables_map *tables;
};

struct spt_tables_map {
	struct spt *h;
	struct spt_tables_map *next;	/* on h->tables */
	uint32_t space_id;
	unsigned int levels;
	uint64_t root_pa;
	uint64_t user_end;
	int fd;
	struct spt_tables_header *hdr;	/* read with __atomic loads */
	const char *base;		/* the mapping */
	uint64_t len;
	uint8_t cache[8];
};

/*
 * Queries through an open tables mapping of @space_id, if any: 0 done,
 * 1 not done (no mapping, a VA outside the user half, or a walk that
 * kept racing with changes: ask the kernel), or a negative errno.
 */
static inline int spt_tables_try_query(struct spt *h, uint32_t space_id,
				       const uint64_t *vas, size_t count,
				       struct spt_query_entry *out)
{
	struct spt_tables_map *t;
	int ret;

	for (t = h->tables; t; t = t->next)
		if (t->space_id == space_id)
			break;
	if (!t)
		return 1;
	ret = spt_tables_walk(t, vas, count, out);
	if (ret == -EINVAL || ret == -EAGAIN)
		return 1;
	return ret;
}

#endif /* LIBSHADOWPT_INTERNAL_H */
