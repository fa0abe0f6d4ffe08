/* SPDX-License-Identifier: GPL-2.0 */
/*
 * debugfs files of shadowpt under <debugfs>/shadowpt/ (the directory is
 * main.c's): "stats", and per live space "spaces/<id>/mappings".
 */
#ifndef SPT_DEBUGFS_H
#define SPT_DEBUGFS_H

struct dentry;

/*
 * Create "stats" and "spaces/" in @dir (main.c removes @dir recursively),
 * and subscribe to the space events, which add and remove the entries of
 * each space.
 */
int spt_debugfs_init(struct dentry *dir);
void spt_debugfs_exit(void);

#endif /* SPT_DEBUGFS_H */
