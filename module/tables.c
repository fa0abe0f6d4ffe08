// SPDX-License-Identifier: GPL-2.0
/*
 * SPT_IOCTL_TABLES: a space's page-table nodes mapped read-only into the
 * caller, for walks without a system call.
 *
 * The descriptor is an anonymous-inode file holding a reference on the
 * space. Its mappings are VM_PFNMAP and filled by the fault handler:
 * offset 0 is the header page (struct spt_tables_header), offset
 * SPT_TABLES_NODE_OFFSET + pa the node at pa if pa is a node of this space
 * now, the zero page otherwise. The files of a space share an
 * address_space of the space's own (file->f_mapping), so that a node's
 * user mappings can be zapped without touching any other anonymous inode's.
 *
 * Which pas are nodes: a cache (@nodes) filled by a lockless walk of the
 * whole table (under RCU, as the lockless queries) when a fault misses it.
 * @lock orders the faults with the zaps: a node is zapped (and dropped
 * from the cache) by the change that unlinked it, in spt_flush_finish(),
 * before its frame is queued for reclamation. A fault that found the node
 * reachable under @lock either ran before that zap (which then removes
 * what it installed) or after the unlink was visible (and found nothing).
 * The zero pages served at other offsets are zapped at the end of every
 * change, so that a walk retried after the change reads a node linked by
 * it. All of this happens only for a space that has had a descriptor.
 */
#include <linux/fs.h>
#include <linux/mm.h>
#include <linux/anon_inodes.h>
#include <linux/file.h>
#include <linux/slab.h>
#include <linux/xarray.h>
#include <linux/mutex.h>
#include <linux/rcupdate.h>
#include <linux/shadowpt.h>

#include "shadowpt.h"
#include "compat.h"
#include "space_internal.h"
#include "core/node.h"
#include "tables.h"

struct spt_space_tables {
	struct spt_tables_header *hdr;	/* a zeroed page of its own */
	struct mutex lock;		/* faults vs zaps */
	struct xarray nodes;		/* pfn -> level: nodes seen reachable */
	struct xarray zeros;		/* pfn: zero page served there */
	struct address_space mapping;	/* every file's f_mapping */
	u64 map_size;
};

/* Serialises the first descriptor's setup of a space. */
static DEFINE_MUTEX(spt_tables_setup_mutex);

static atomic64_t *spt_tables_ctr(u64 *field)
{
	return (atomic64_t *)field;
}

void spt_tables_change_begin(struct spt_space *s)
{
	struct spt_space_tables *t = READ_ONCE(s->tables);

	if (!t)
		return;
	atomic64_inc(spt_tables_ctr(&t->hdr->changes_begun));
	/* The begin is visible before any entry the change writes. */
	smp_mb__after_atomic();
}

void spt_tables_change_end(struct spt_space *s)
{
	struct spt_space_tables *t = READ_ONCE(s->tables);

	if (!t)
		return;
	/* Every entry the change wrote is visible before the end is. */
	smp_mb__before_atomic();
	atomic64_inc(spt_tables_ctr(&t->hdr->changes_done));
}

void spt_tables_kill(struct spt_space *s)
{
	struct spt_space_tables *t = READ_ONCE(s->tables);

	if (t)
		WRITE_ONCE(t->hdr->dead, 1);
}

static void spt_tables_zap(struct spt_space_tables *t, unsigned long pfn)
{
	unmap_mapping_range(&t->mapping,
			    SPT_TABLES_NODE_OFFSET + ((u64)pfn << PAGE_SHIFT),
			    PAGE_SIZE, 1);
}

void spt_tables_flush(struct spt_space *s, struct spt_flusher *fl)
{
	struct spt_space_tables *t = READ_ONCE(s->tables);
	unsigned long pfn;
	void *entry;
	u64 cur;

	if (!t)
		return;
	mutex_lock(&t->lock);
	for (cur = fl->head; cur; ) {
		u64 pa = (cur - 1) << PAGE_SHIFT;
		struct spt_meta *m = spt_pool_meta(s->pt.pool, pa);
		unsigned long word;

		if (WARN_ON_ONCE(!m))
			break;
		word = READ_ONCE(m->word);
		if (m->usage == SPT_USAGE_PT) {
			cur = word >> SPT_META_LINK_SHIFT;
			if (xa_erase(&t->nodes, pa >> PAGE_SHIFT))
				spt_tables_zap(t, pa >> PAGE_SHIFT);
		} else {
			cur = word;
		}
	}
	xa_for_each(&t->zeros, pfn, entry) {
		xa_erase(&t->zeros, pfn);
		spt_tables_zap(t, pfn);
	}
	mutex_unlock(&t->lock);
}

/*
 * Record every node reachable from the node @pa of @level (RCU held, @lock
 * held): true if @want is one of them. Only pool frames that are nodes are
 * followed; a cache entry that cannot be allocated is left out (the next
 * fault there walks again).
 */
static bool spt_tables_scan(struct spt_space_tables *t, struct spt_pt *pt,
			    u64 pa, unsigned int level, u64 want)
{
	const u64 *ptes = spt_node_ptes(pt, pa);
	unsigned int i, first = 0, last = SPT_NR_ENTRIES - 1;
	bool found = pa == want;

	xa_store(&t->nodes, pa >> PAGE_SHIFT, xa_mk_value(level),
		 GFP_NOWAIT | __GFP_NOWARN);
	if (level == 1)
		return found;
	if (level == pt->cfg->levels) {
		first = pt->cfg->top_first;
		last = pt->cfg->top_last;
	}
	for (i = first; i <= last; i++) {
		u64 pte = READ_ONCE(ptes[i]);
		struct spt_meta *m;
		u64 child;

		if (!spt_pte_present(pte) || spt_pte_is_leaf(pte, level))
			continue;
		child = spt_pte_table_pa(pt->cfg, pte);
		m = spt_pool_meta(pt->pool, child);
		if (!m || READ_ONCE(m->usage) != SPT_USAGE_PT)
			continue;
		if (spt_tables_scan(t, pt, child, level - 1, want))
			found = true;
	}
	return found;
}

/* Is @pa a node of @s now? @lock held. */
static bool spt_tables_is_node(struct spt_space *s,
			       struct spt_space_tables *t, u64 pa)
{
	bool found;

	if (xa_load(&t->nodes, pa >> PAGE_SHIFT))
		return true;
	rcu_read_lock();
	/* A space being destroyed serves nothing but the header. */
	found = !READ_ONCE(s->dead) &&
		spt_tables_scan(t, &s->pt, s->pt.root_pa, s->pt.cfg->levels,
				pa);
	rcu_read_unlock();
	return found;
}

static vm_fault_t spt_tables_fault(struct vm_fault *vmf)
{
	struct vm_area_struct *vma = vmf->vma;
	struct spt_space *s = vma->vm_file->private_data;
	struct spt_space_tables *t = s->tables;
	u64 off = (u64)vmf->pgoff << PAGE_SHIFT;
	unsigned long pfn;
	vm_fault_t ret;
	u64 pa;

	if (!off)
		return vmf_insert_pfn(vma, vmf->address,
				      virt_to_phys(t->hdr) >> PAGE_SHIFT);
	pa = off - SPT_TABLES_NODE_OFFSET;
	mutex_lock(&t->lock);
	if (spt_tables_is_node(s, t, pa)) {
		pfn = pa >> PAGE_SHIFT;
	} else {
		pfn = page_to_pfn(ZERO_PAGE(0));
		if (xa_is_err(xa_store(&t->zeros, pa >> PAGE_SHIFT,
				       xa_mk_value(0), GFP_KERNEL))) {
			/* Not recorded, so not served: the access retries. */
			mutex_unlock(&t->lock);
			return VM_FAULT_OOM;
		}
	}
	ret = vmf_insert_pfn(vma, vmf->address, pfn);
	mutex_unlock(&t->lock);
	return ret;
}

static const struct vm_operations_struct spt_tables_vm_ops = {
	.fault = spt_tables_fault,
};

static int spt_tables_mmap(struct file *file, struct vm_area_struct *vma)
{
	struct spt_space *s = file->private_data;
	u64 len = vma->vm_end - vma->vm_start;

	/*
	 * MAP_SHARED of a read-only file: VM_MAYSHARE without VM_SHARED
	 * (and a writable one never gets here).
	 */
	if (!(vma->vm_flags & VM_MAYSHARE) || vma->vm_pgoff ||
	    len > s->tables->map_size)
		return -EINVAL;
	if (vma->vm_flags & VM_WRITE)
		return -EACCES;
	if (vma->vm_flags & VM_EXEC)
		return -EPERM;
	spt_vm_flags_mod(vma, VM_PFNMAP | VM_IO | VM_DONTEXPAND | VM_DONTDUMP,
			 VM_MAYWRITE | VM_MAYEXEC);
	vma->vm_ops = &spt_tables_vm_ops;
	return 0;
}

static int spt_tables_release(struct inode *inode, struct file *file)
{
	spt_space_put(file->private_data);
	return 0;
}

static const struct file_operations spt_tables_fops = {
	.owner = THIS_MODULE,
	.mmap = spt_tables_mmap,
	.release = spt_tables_release,
};

static struct spt_space_tables *spt_tables_new(struct spt_space *s)
{
	struct spt_space_tables *t;
	unsigned int i;

	t = kzalloc(sizeof(*t), GFP_KERNEL_ACCOUNT);
	if (!t)
		return NULL;
	t->hdr = (void *)get_zeroed_page(GFP_KERNEL_ACCOUNT);
	if (!t->hdr) {
		kfree(t);
		return NULL;
	}
	mutex_init(&t->lock);
	xa_init(&t->nodes);
	xa_init(&t->zeros);
	address_space_init_once(&t->mapping);
	t->map_size = SPT_TABLES_NODE_OFFSET +
		      (1ULL << boot_cpu_data.x86_phys_bits);
	t->hdr->magic = SPT_TABLES_MAGIC;
	t->hdr->header_size = sizeof(*t->hdr);
	t->hdr->space_id = s->id;
	t->hdr->levels = s->pt.cfg->levels;
	t->hdr->root_pa = s->pt.root_pa;
	for (i = 0; i < ARRAY_SIZE(t->hdr->cache_modes); i++) {
		u64 bits = (i & 1 ? SPT_PTE_PWT : 0) |
			   (i & 2 ? SPT_PTE_PCD : 0) |
			   (i & 4 ? SPT_PTE_PAT : 0);
		unsigned int c = spt_pte_cache(s->pt.cfg, bits, 1);

		t->hdr->cache_modes[i] = c < SPT_CACHE_NR ? c : SPT_CACHE_UC;
	}
	return t;
}

void spt_tables_free(struct spt_space_tables *t)
{
	if (!t)
		return;
	xa_destroy(&t->nodes);
	xa_destroy(&t->zeros);
	free_page((unsigned long)t->hdr);
	kfree(t);
}

/*
 * The first descriptor of @s gives it its tables, with no change in flight
 * (the rwsem for writing), so that every change counted begins and ends
 * with them.
 */
static int spt_tables_setup(struct spt_space *s)
{
	struct spt_space_tables *t;
	int ret = 0;

	if (READ_ONCE(s->tables))
		return 0;
	t = spt_tables_new(s);
	if (!t)
		return -ENOMEM;
	mutex_lock(&spt_tables_setup_mutex);
	down_write(&s->rwsem);
	if (s->dead)
		ret = -ENOENT;
	else if (!s->tables)
		swap(s->tables, t);
	up_write(&s->rwsem);
	mutex_unlock(&spt_tables_setup_mutex);
	spt_tables_free(t);
	return ret;
}

int spt_tables_open(u32 id, struct spt_tables_fd *o)
{
	struct spt_space *s = spt_space_get(id);
	int ret;

	if (!s)
		return -ENOENT;
	ret = spt_tables_setup(s);
	if (ret)
		goto err_put;
	o->fd = get_unused_fd_flags(O_CLOEXEC);
	if (o->fd < 0) {
		ret = o->fd;
		goto err_put;
	}
	o->file = anon_inode_getfile("[shadowpt-tables]", &spt_tables_fops, s,
				     O_RDONLY);
	if (IS_ERR(o->file)) {
		put_unused_fd(o->fd);
		ret = PTR_ERR(o->file);
		goto err_put;
	}
	/* From here on the file's release drops the space's reference. */
	s->tables->mapping.host = file_inode(o->file);
	s->tables->mapping.a_ops = o->file->f_mapping->a_ops;
	o->file->f_mapping = &s->tables->mapping;
	o->levels = s->pt.cfg->levels;
	o->root_pa = s->pt.root_pa;
	o->map_size = s->tables->map_size;
	return 0;

err_put:
	spt_space_put(s);
	return ret;
}

void spt_tables_fd_install(struct spt_tables_fd *o)
{
	fd_install(o->fd, o->file);
}

void spt_tables_fd_abort(struct spt_tables_fd *o)
{
	fput(o->file);
	put_unused_fd(o->fd);
}
