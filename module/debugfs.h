/* SPDX-License-Identifier: GPL-2.0 */
/*
 * debugfs files of shadowpt under <debugfs>/shadowpt/ (the directory is
 * main.c's): "stats", and per live space "spaces/<id>/mappings".
 */
#ifndef SPT_DEBUGFS_H
#define SPT_DEBUGFS_H

struct dentry;
struct spt_space;

/* Create "stats" and "spaces/" in @dir (main.c removes @dir recursively). */
void spt_debugfs_init(struct dentry *dir);

/*
 * The entries of one space: added once its id is published, removed
 * before it is torn down. Removal waits for reads in progress; a reader
 * that keeps the file open afterwards holds only a reference to the
 * space and gets EIO (debugfs) or ENOENT (a destroyed space).
 */
void spt_debugfs_space_add(struct spt_space *s);
void spt_debugfs_space_remove(struct spt_space *s);

#endif /* SPT_DEBUGFS_H */
