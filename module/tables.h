/* SPDX-License-Identifier: GPL-2.0 */
/*
 * SPT_IOCTL_TABLES: a space's page-table nodes mapped read-only into the
 * caller (tables.c), and the change counters its walkers check. The
 * counters and the zaps are the space layer's part: a space that never
 * had a tables descriptor pays one pointer test per change.
 */
#ifndef SPT_TABLES_H
#define SPT_TABLES_H

#include <linux/types.h>

struct spt_space;
struct spt_flusher;
struct spt_space_tables;

struct file;

/* A descriptor made, not yet installed, and what the caller is told. */
struct spt_tables_fd {
	int fd;
	struct file *file;
	u32 levels;
	u64 root_pa;
	u64 map_size;
};

/*
 * A new descriptor (O_CLOEXEC, read-only) for the tables of space @id,
 * reserved but not installed: 0, or -ENOENT (no such space, or dying),
 * -ENOMEM, -EMFILE. Then either install it, or abort (nothing is left).
 */
int spt_tables_open(u32 id, struct spt_tables_fd *o);
void spt_tables_fd_install(struct spt_tables_fd *o);
void spt_tables_fd_abort(struct spt_tables_fd *o);

/* Around every change of a space (the space entered, or being killed). */
void spt_tables_change_begin(struct spt_space *s);
void spt_tables_change_end(struct spt_space *s);
/*
 * Before @fl's list is queued for reclamation (flush.c): the user
 * mappings of the nodes on it are zapped, and so are the zero pages
 * served where no node was. Sleeps.
 */
void spt_tables_flush(struct spt_space *s, struct spt_flusher *fl);
/* Destroy: the header says dead (before the table is torn down). */
void spt_tables_kill(struct spt_space *s);
/* The space's last reference is gone: free what the tables held. */
void spt_tables_free(struct spt_space_tables *t);

#endif /* SPT_TABLES_H */
