/* SPDX-License-Identifier: GPL-2.0 */
/*
 * A space's memory in a process (SPT_IOCTL_MMAP, procmap.c): the regions
 * of an open /dev/shadowpt, each holding one reference on the pool frame
 * of every 4 KiB page it covers, and the process mappings of them
 * (mmap(2) on the file, VM_PFNMAP). A region lives while its file keeps
 * it (until close or SPT_MMAP_RELEASE) or any VMA maps it.
 *
 * The references of all regions on each frame are counted in one table,
 * for the checker: refcount == leaves in every space + region references
 * (spt_procmap_handles()).
 */
#ifndef SPT_PROCMAP_H
#define SPT_PROCMAP_H

#include <linux/types.h>

struct file;
struct vm_area_struct;
struct spt_space;

/* The open file's region list (file->private_data); 0 or -ENOMEM. */
int spt_procmap_open(struct file *file);
/* The file is closed: its regions stay only while mapped. */
void spt_procmap_release(struct file *file);
/*
 * A region of @file over [@va, @va + @len) of @s: *@offset is its mmap
 * offset, *@writable whether it may be mapped writable.
 */
int spt_procmap_make(struct file *file, struct spt_space *s, u64 va,
		     u64 len, u64 *offset, bool *writable);
/* SPT_MMAP_RELEASE: the file gives back its region at @offset. */
int spt_procmap_drop(struct file *file, u64 offset);
/* The file's ->mmap(). */
int spt_procmap_mmap(struct file *file, struct vm_area_struct *vma);

/* Region references on the frame whose head is at @pa (CHECK's handles). */
u32 spt_procmap_handles(u64 pa, void *arg);
/*
 * Region references are dropped without the spaces' locks (munmap):
 * a check that saw a refcount mismatch asks whether one was dropped while
 * it ran (spt_procmap_stable() false: run it again).
 */
unsigned long spt_procmap_stable_begin(void);
bool spt_procmap_stable(unsigned long cookie);
/* Sleep until no drop is in flight (at most a second). */
void spt_procmap_wait_stable(void);

/* Frames held by regions now, and the references they hold on them. */
void spt_procmap_counts(u64 *frames, u64 *refs);

#endif /* SPT_PROCMAP_H */
