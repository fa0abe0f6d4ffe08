// SPDX-License-Identifier: GPL-2.0
/*
 * A space's memory in a process (SPT_IOCTL_MMAP): regions of an open
 * /dev/shadowpt and their VMAs.
 *
 * A region is made by SPT_IOCTL_MMAP: spt_space_grab() takes one
 * reference on the frame of each 4 KiB page of the range (the frames
 * are then charged like shared ones, see quota.c), and the region gets
 * an mmap offset of its own in the file (4 KiB pages from 1 on, a page
 * of gap between regions). mmap(2) of (a part of) it maps the pages with
 * remap_pfn_range() (VM_PFNMAP: no struct page references, nothing for
 * get_user_pages() to take), MAP_SHARED only, never to grow.
 *
 * Lifetime: the region's own count is one for the file's list (until
 * close or SPT_MMAP_RELEASE) plus one per VMA (->open on fork, split and
 * mremap; ->close at munmap and exit). A VMA holds the file, and the file
 * the module: no rmmod while anything is mapped. The last put drops the
 * frame references (spt_space_ungrab(): a frame whose last reference it
 * was is queued for reclamation after a grace period).
 *
 * The references of every region on each frame are also counted in
 * spt_procmap_refs (head frame number -> count) for the checker. A region
 * counts its references there with its space entered (so a CHECK, which
 * holds every sharing space for writing, never sees a reference taken
 * and not yet counted); the drop at the last put needs no space, and so
 * is bracketed by two counters a CHECK compares (spt_procmap_stable()).
 *
 * Locks: the file's mutex (its list and offsets); spt_procmap_mutex (the
 * counts' read-modify-write), taken inside a space's rwsem (make) or
 * inside mmap_lock (->close); nothing is taken inside either.
 */
#include <linux/mm.h>
#include <linux/fs.h>
#include <linux/slab.h>
#include <linux/mutex.h>
#include <linux/xarray.h>
#include <linux/refcount.h>
#include <linux/list.h>
#include <linux/atomic.h>
#include <linux/delay.h>
#include <linux/shadowpt.h>

#include "shadowpt.h"
#include "compat.h"
#include "failinject.h"
#include "space.h"
#include "procmap.h"

struct spt_procmap_file {
	struct mutex lock;		/* the list and next_pgoff */
	struct list_head regions;
	unsigned long next_pgoff;	/* of the next region */
};

struct spt_region {
	refcount_t ref;		/* the file's list + VMAs */
	struct list_head node;	/* in the file's list while it keeps it */
	unsigned long pgoff;	/* mmap offset, in pages */
	unsigned long npages;
	bool writable;
	u64 *pas;		/* the 4 KiB page of each page */
	u64 *heads;		/* its frame's head: the reference */
};

static DEFINE_XARRAY(spt_procmap_refs);
static DEFINE_MUTEX(spt_procmap_mutex);
static atomic_long_t spt_procmap_frames = ATOMIC_LONG_INIT(0);
static atomic_long_t spt_procmap_nrefs = ATOMIC_LONG_INIT(0);
/* Drops of region references begun and finished. */
static atomic_long_t spt_procmap_drops_begun = ATOMIC_LONG_INIT(0);
static atomic_long_t spt_procmap_drops_done = ATOMIC_LONG_INIT(0);

/* One more (@up) or one less reference on the frame at @head. */
static int spt_procmap_count(u64 head, bool up)
{
	unsigned long key = head >> PAGE_SHIFT;
	void *e = xa_load(&spt_procmap_refs, key);
	unsigned long n = e ? xa_to_value(e) : 0;
	int ret;

	lockdep_assert_held(&spt_procmap_mutex);
	if (!up) {
		if (WARN_ON_ONCE(!n))
			return 0;
		atomic_long_dec(&spt_procmap_nrefs);
		if (n == 1) {
			xa_erase(&spt_procmap_refs, key);
			atomic_long_dec(&spt_procmap_frames);
			return 0;
		}
		/* Replacing a value allocates nothing. */
		xa_store(&spt_procmap_refs, key, xa_mk_value(n - 1),
			 GFP_KERNEL);
		return 0;
	}
	if (!n && spt_fail_alloc())
		return -ENOMEM;
	ret = xa_err(xa_store(&spt_procmap_refs, key, xa_mk_value(n + 1),
			      GFP_KERNEL));
	if (ret)
		return ret;
	atomic_long_inc(&spt_procmap_nrefs);
	if (!n)
		atomic_long_inc(&spt_procmap_frames);
	return 0;
}

static void spt_procmap_uncount(const u64 *heads, unsigned long nr)
{
	unsigned long i;

	mutex_lock(&spt_procmap_mutex);
	for (i = 0; i < nr; i++)
		spt_procmap_count(heads[i], false);
	mutex_unlock(&spt_procmap_mutex);
}

static void spt_region_free(struct spt_region *r)
{
	kvfree(r->pas);
	kvfree(r->heads);
	kfree(r);
}

static void spt_region_put(struct spt_region *r)
{
	if (!refcount_dec_and_test(&r->ref))
		return;
	atomic_long_inc(&spt_procmap_drops_begun);
	/*
	 * Begun is seen before any count or refcount changes (pairs with
	 * the checker's barriers in spt_procmap_stable*()).
	 */
	smp_mb__after_atomic();
	spt_procmap_uncount(r->heads, r->npages);
	spt_space_ungrab(r->heads, r->npages);
	/* Done is seen after every change. */
	smp_mb__before_atomic();
	atomic_long_inc(&spt_procmap_drops_done);
	spt_region_free(r);
}

unsigned long spt_procmap_stable_begin(void)
{
	unsigned long done = atomic_long_read(&spt_procmap_drops_done);

	/* Done before begun: a drop in flight shows as begun != done. */
	smp_rmb();
	if (atomic_long_read(&spt_procmap_drops_begun) != done)
		return ULONG_MAX;
	/* The counters before anything the check reads. */
	smp_mb();
	return done;
}

void spt_procmap_wait_stable(void)
{
	unsigned int n = 0;

	/* About a second at most: a drop may wait for a grace period. */
	while (atomic_long_read(&spt_procmap_drops_begun) !=
	       atomic_long_read(&spt_procmap_drops_done) && n++ < 5000)
		usleep_range(100, 200);
}

bool spt_procmap_stable(unsigned long cookie)
{
	/* Everything the check read before begun, read again. */
	smp_mb();
	return cookie != ULONG_MAX &&
	       atomic_long_read(&spt_procmap_drops_begun) == cookie;
}

u32 spt_procmap_handles(u64 pa, void *arg)
{
	void *e = xa_load(&spt_procmap_refs, pa >> PAGE_SHIFT);

	return e ? (u32)xa_to_value(e) : 0;
}

void spt_procmap_counts(u64 *frames, u64 *refs)
{
	*frames = atomic_long_read(&spt_procmap_frames);
	*refs = atomic_long_read(&spt_procmap_nrefs);
}

int spt_procmap_open(struct file *file)
{
	struct spt_procmap_file *pf = spt_kzalloc(sizeof(*pf), GFP_KERNEL);

	if (!pf)
		return -ENOMEM;
	mutex_init(&pf->lock);
	INIT_LIST_HEAD(&pf->regions);
	pf->next_pgoff = 1;
	file->private_data = pf;
	return 0;
}

void spt_procmap_release(struct file *file)
{
	struct spt_procmap_file *pf = file->private_data;
	struct spt_region *r, *tmp;

	/* The last reference to the file: nobody else uses the list. */
	list_for_each_entry_safe(r, tmp, &pf->regions, node) {
		list_del(&r->node);
		spt_region_put(r);
	}
	mutex_destroy(&pf->lock);
	kfree(pf);
}

/* The region's references, counted with the space entered. */
static int spt_region_grab(struct spt_region *r, struct spt_space *s, u64 va)
{
	unsigned long i = 0;
	int ret;

	ret = spt_space_enter(s);
	if (ret)
		return ret;
	ret = spt_space_grab(s, va, (u64)r->npages << PAGE_SHIFT, r->pas,
			     r->heads, &r->writable);
	if (!ret) {
		mutex_lock(&spt_procmap_mutex);
		for (; i < r->npages; i++) {
			ret = spt_procmap_count(r->heads[i], true);
			if (ret)
				break;
		}
		if (ret) {
			while (i--)
				spt_procmap_count(r->heads[i], false);
		}
		mutex_unlock(&spt_procmap_mutex);
		if (ret)
			spt_space_ungrab(r->heads, r->npages);
	}
	spt_space_leave(s);
	return ret;
}

int spt_procmap_make(struct file *file, struct spt_space *s, u64 va,
		     u64 len, u64 *offset, bool *writable)
{
	struct spt_procmap_file *pf = file->private_data;
	unsigned long n = len >> PAGE_SHIFT;
	struct spt_region *r;
	int ret = -ENOMEM;

	r = spt_kzalloc(sizeof(*r), GFP_KERNEL);
	if (!r)
		return -ENOMEM;
	r->npages = n;
	r->pas = spt_kvcalloc(n, sizeof(*r->pas), GFP_KERNEL);
	if (!r->pas)
		goto free;
	r->heads = spt_kvcalloc(n, sizeof(*r->heads), GFP_KERNEL);
	if (!r->heads)
		goto free;
	ret = spt_region_grab(r, s, va);
	if (ret)
		goto free;
	refcount_set(&r->ref, 1);
	mutex_lock(&pf->lock);
	/* Offsets stay below 2^63 (off_t): 2^51 pages is out of reach. */
	r->pgoff = pf->next_pgoff;
	pf->next_pgoff += n + 1;
	list_add_tail(&r->node, &pf->regions);
	mutex_unlock(&pf->lock);
	*offset = (u64)r->pgoff << PAGE_SHIFT;
	*writable = r->writable;
	return 0;
free:
	spt_region_free(r);
	return ret;
}

int spt_procmap_drop(struct file *file, u64 offset)
{
	struct spt_procmap_file *pf = file->private_data;
	struct spt_region *r, *found = NULL;

	if (!offset || !IS_ALIGNED(offset, PAGE_SIZE))
		return -EINVAL;
	mutex_lock(&pf->lock);
	list_for_each_entry(r, &pf->regions, node) {
		if (r->pgoff == offset >> PAGE_SHIFT) {
			list_del(&r->node);
			found = r;
			break;
		}
	}
	mutex_unlock(&pf->lock);
	if (!found)
		return -EINVAL;
	spt_region_put(found);
	return 0;
}

static void spt_region_vm_open(struct vm_area_struct *vma)
{
	struct spt_region *r = vma->vm_private_data;

	refcount_inc(&r->ref);
}

static void spt_region_vm_close(struct vm_area_struct *vma)
{
	spt_region_put(vma->vm_private_data);
}

static const struct vm_operations_struct spt_region_vm_ops = {
	.open = spt_region_vm_open,
	.close = spt_region_vm_close,
};

/* Pages @first.. of @r at the VMA's start, in physically contiguous runs. */
static int spt_region_remap(struct spt_region *r, struct vm_area_struct *vma,
			    unsigned long first)
{
	unsigned long n = vma_pages(vma), i = 0;

	while (i < n) {
		unsigned long j = i + 1;
		int ret;

		while (j < n && r->pas[first + j] ==
		       r->pas[first + i] + ((u64)(j - i) << PAGE_SHIFT))
			j++;
		ret = remap_pfn_range(vma, vma->vm_start + (i << PAGE_SHIFT),
				      r->pas[first + i] >> PAGE_SHIFT,
				      (j - i) << PAGE_SHIFT,
				      vma->vm_page_prot);
		if (ret)
			return ret;
		i = j;
	}
	return 0;
}

int spt_procmap_mmap(struct file *file, struct vm_area_struct *vma)
{
	struct spt_procmap_file *pf = file->private_data;
	unsigned long n = vma_pages(vma), pgoff = vma->vm_pgoff;
	struct spt_region *r, *found = NULL;
	int ret;

	if (!(vma->vm_flags & VM_SHARED))
		return -EINVAL;
	mutex_lock(&pf->lock);
	list_for_each_entry(r, &pf->regions, node) {
		if (pgoff >= r->pgoff && pgoff - r->pgoff < r->npages) {
			found = r;
			break;
		}
	}
	ret = -EINVAL;
	if (!found || n > found->npages - (pgoff - found->pgoff))
		goto unlock;
	ret = -EACCES;
	if ((vma->vm_flags & VM_WRITE) && !found->writable)
		goto unlock;
	refcount_inc(&found->ref);
	ret = 0;
unlock:
	mutex_unlock(&pf->lock);
	if (ret)
		return ret;
	spt_vm_flags_mod(vma, VM_DONTEXPAND | VM_DONTDUMP,
			 found->writable ? 0 : VM_MAYWRITE);
	ret = spt_region_remap(found, vma, pgoff - found->pgoff);
	if (ret) {
		/* No ->close for a VMA that failed: the reference is ours. */
		spt_region_put(found);
		return ret;
	}
	vma->vm_private_data = found;
	vma->vm_ops = &spt_region_vm_ops;
	return 0;
}
