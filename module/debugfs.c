// SPDX-License-Identifier: GPL-2.0
/*
 * debugfs: <debugfs>/shadowpt/stats and <debugfs>/shadowpt/spaces/<id>/.
 *
 * "stats" is one "name value" line per counter: the pool's counters, the
 * live spaces, the page-table nodes per level and the leaves per level
 * summed over every space (their counters: spt_space_counts), tracked and
 * untracked mappings (leaves, by walking the merged runs) and the TLB
 * flushes of flush.c.
 *
 * "spaces/<id>/mappings" lists the mappings of a space as merged runs
 * (merged_runs.h), one line each, in the spirit of
 * /sys/kernel/debug/page_tables/:
 * the VA range, its size, leaf size and number of leaves, RW/ro, USR,
 * NX/x, GLB, accessed and dirty, the cache mode, tracked or untracked, and
 * the physical range. It is a seq_file that walks one run per record, so
 * a space with a million mappings is listed without a big buffer and
 * without holding its cursors between reads, nor for more than a 2 MiB
 * slice at a time (the listing is a live view: the whole is not a
 * snapshot). Runs are cut at SPT_RUN_MAX_PAGES leaves, as in the netlink
 * dump.
 *
 * Lifetime: the file's inode keeps the space id, not the space; open()
 * looks it up and holds a reference until release(). The directory comes
 * with the space's CREATED event; destroying a space removes it first
 * (the DESTROYING event, sent before the space's rwsem is taken: the
 * removal waits for reads in progress), and then tears the table down;
 * a reader still holding the file open is refused by debugfs (EIO) or, if
 * it got in before, by spt_space_walk (ENOENT) - never handed a
 * freed table.
 */
#include <linux/debugfs.h>
#include <linux/seq_file.h>
#include <linux/fs.h>
#include <linux/kernel.h>
#include <linux/shadowpt.h>

#include "shadowpt.h"
#include "space.h"
#include "space_events.h"
#include "flush.h"
#include "merged_runs.h"
#include "debugfs.h"
#include "failinject.h"

static struct dentry *spt_debugfs_spaces;

/* ---- stats ---- */

struct spt_dbg_tally {
	u64 nodes[SPT_MAX_LEVELS];
	u64 leaves[SPT_MAX_LEAF_LEVEL];
	u64 tracked, untracked;			/* leaves */
	u64 tracked_bytes, untracked_bytes;
};

static int spt_dbg_tally_run(const struct spt_run *r, void *arg)
{
	struct spt_dbg_tally *t = arg;

	if (r->flags & SPT_QUERY_TRACKED) {
		t->tracked += r->pages;
		t->tracked_bytes += r->end - r->va;
	} else {
		t->untracked += r->pages;
		t->untracked_bytes += r->end - r->va;
	}
	return 0;
}

static void spt_dbg_tally_space(struct spt_space *s, struct spt_dbg_tally *t)
{
	struct spt_pt_counts counts;
	struct spt_run run = {};
	u64 va = 0;
	unsigned int i;

	spt_space_counts(s, &counts);
	for (i = 0; i < SPT_MAX_LEVELS; i++)
		t->nodes[i] += counts.nodes[i];
	for (i = 0; i < SPT_MAX_LEAF_LEVEL; i++)
		t->leaves[i] += counts.leaves[i];
	/* A space being destroyed (ENOENT) has nothing left to count. */
	spt_merged_runs_walk(s, &va, spt_cfg_user_end(&spt_machine_cfg), &run,
			     0, spt_dbg_tally_run, t);
}

static int spt_dbg_stats_show(struct seq_file *m, void *unused)
{
	static const char * const leaf_names[SPT_MAX_LEAF_LEVEL] = {
		"4k", "2m", "1g",
	};
	struct spt_dbg_tally t = {};
	struct spt_reclaim_stats rs;
	struct spt_pool_stats st;
	struct spt_space *s;
	u64 flushes, ipis;
	u32 id = 1, nr = 0;
	unsigned int i;

	while ((s = spt_space_next(&id))) {
		spt_dbg_tally_space(s, &t);
		spt_space_put(s);
		nr++;
		if (id == U32_MAX)
			break;
		id++;
	}
	spt_pool_stats_read(&st, &rs);
	spt_flush_counts(&flushes, &ipis);

	seq_printf(m, "spaces %u\n", spt_space_count());
	seq_printf(m, "spaces_walked %u\n", nr);
	seq_printf(m, "levels %u\n", spt_machine_cfg.levels);
	seq_printf(m, "pool_limit_frames %llu\n", st.limit_frames);
	seq_printf(m, "pool_chunks %llu\n", st.chunk_frames / SPT_NR_ENTRIES);
	seq_printf(m, "pool_frames %llu\n", st.chunk_frames);
	seq_printf(m, "pool_free_frames %llu\n", st.free_frames);
	seq_printf(m, "pool_used_frames %llu\n", st.used_frames);
	seq_printf(m, "pool_node_frames %llu\n", st.node_frames);
	seq_printf(m, "pool_data_frames %llu\n", st.data_frames);
	seq_printf(m, "pool_returned_frames %llu\n", st.returned_frames);
	seq_printf(m, "pool_allocs %llu\n", st.allocs);
	seq_printf(m, "pool_alloc_failures %llu\n", st.alloc_failures);
	seq_printf(m, "meta_bytes %llu\n", st.meta_bytes);
	seq_printf(m, "meta_bytes_per_frame %zu\n", sizeof(struct spt_meta));
	for (i = 0; i < SPT_MAX_LEVELS; i++)
		seq_printf(m, "nodes_l%u %llu\n", i + 1, t.nodes[i]);
	for (i = 0; i < SPT_MAX_LEAF_LEVEL; i++)
		seq_printf(m, "leaves_%s %llu\n", leaf_names[i], t.leaves[i]);
	seq_printf(m, "tracked_mappings %llu\n", t.tracked);
	seq_printf(m, "tracked_bytes %llu\n", t.tracked_bytes);
	seq_printf(m, "untracked_mappings %llu\n", t.untracked);
	seq_printf(m, "untracked_bytes %llu\n", t.untracked_bytes);
	seq_printf(m, "tlb_flushes %llu\n", flushes);
	seq_printf(m, "tlb_flush_ipis %llu\n", ipis);
	seq_printf(m, "reclaim_pending_frames %llu\n", rs.pending_frames);
	seq_printf(m, "reclaim_pending_nodes %llu\n", rs.pending_nodes);
	seq_printf(m, "reclaim_pending_batches %llu\n", rs.pending_batches);
	seq_printf(m, "reclaim_max_frames %llu\n", rs.max_frames);
	seq_printf(m, "reclaim_peak_frames %llu\n", rs.peak_frames);
	seq_printf(m, "reclaim_queued %llu\n", rs.queued);
	seq_printf(m, "reclaim_released %llu\n", rs.released);
	seq_printf(m, "reclaim_waits %llu\n", rs.waits);
	return 0;
}
DEFINE_SHOW_ATTRIBUTE(spt_dbg_stats);

/* ---- spaces/<id>/mappings ---- */

struct spt_dbg_map {
	struct spt_space *s;
	u64 va;			/* where the next walk starts */
	struct spt_run run;	/* the walk's pending run */
	struct spt_run cur;	/* record number idx, if have */
	loff_t idx;		/* records produced since the start */
	bool have, eof;
};

static int spt_dbg_map_emit(const struct spt_run *r, void *arg)
{
	struct spt_dbg_map *it = arg;

	it->cur = *r;
	return 1;	/* one record at a time */
}

/* Produce the next record: 1, 0 at the end, or -errno. */
static int spt_dbg_map_advance(struct spt_dbg_map *it)
{
	int ret;

	it->have = false;
	if (it->eof)
		return 0;
	ret = spt_merged_runs_walk(it->s, &it->va,
				   spt_cfg_user_end(&spt_machine_cfg),
				   &it->run, 0, spt_dbg_map_emit, it);
	if (ret == 1) {
		/* The run was complete: resume after it, nothing pending. */
		it->va = it->cur.end;
		it->run.end = it->run.va;
		it->have = true;
		it->idx++;
		return 1;
	}
	it->eof = true;
	return ret;
}

/* Position on record @pos (1-based; 0 is the header line). */
static void *spt_dbg_map_seek(struct spt_dbg_map *it, loff_t pos)
{
	int ret;

	if (pos < it->idx || (pos == it->idx && !it->have)) {
		/* Backwards (or a lost record): start over. */
		it->va = 0;
		it->run = (struct spt_run) {};
		it->idx = 0;
		it->have = false;
		it->eof = false;
	}
	while (it->idx < pos) {
		ret = spt_dbg_map_advance(it);
		if (ret < 0)
			return ERR_PTR(ret);
		if (!ret)
			return NULL;
	}
	return it;
}

static void *spt_dbg_map_start(struct seq_file *m, loff_t *pos)
{
	if (!*pos)
		return SEQ_START_TOKEN;
	return spt_dbg_map_seek(m->private, *pos);
}

static void *spt_dbg_map_next(struct seq_file *m, void *v, loff_t *pos)
{
	++*pos;
	return spt_dbg_map_seek(m->private, *pos);
}

static void spt_dbg_map_stop(struct seq_file *m, void *v)
{
}

/* Like ptdump: the largest unit that divides @bytes. */
static void spt_dbg_size(char *buf, size_t len, u64 bytes)
{
	static const char units[] = "KMGTPE";
	const char *u = units;

	bytes >>= 10;
	while (!(bytes & 1023) && bytes && u[1]) {
		bytes >>= 10;
		u++;
	}
	scnprintf(buf, len, "%llu%c", bytes, *u);
}

static const char * const spt_dbg_cache_names[] = {
	[SPT_CACHE_MODE_WB] = "WB",
	[SPT_CACHE_MODE_WT] = "WT",
	[SPT_CACHE_MODE_UC_MINUS] = "UC-",
	[SPT_CACHE_MODE_UC] = "UC",
	[SPT_CACHE_MODE_WC] = "WC",
	[SPT_CACHE_MODE_PAT(0)] = "PAT0",
	[SPT_CACHE_MODE_PAT(1)] = "PAT1",
	[SPT_CACHE_MODE_PAT(2)] = "PAT2",
	[SPT_CACHE_MODE_PAT(3)] = "PAT3",
	[SPT_CACHE_MODE_PAT(4)] = "PAT4",
	[SPT_CACHE_MODE_PAT(5)] = "PAT5",
	[SPT_CACHE_MODE_PAT(6)] = "PAT6",
	[SPT_CACHE_MODE_PAT(7)] = "PAT7",
};

static int spt_dbg_map_show(struct seq_file *m, void *v)
{
	struct spt_dbg_map *it = m->private;
	const struct spt_run *r = &it->cur;
	char size[16], leaf[16];

	if (v == SEQ_START_TOKEN) {
		seq_printf(m, "# space %u, %u-level: va range, size, leaf size x leaves, flags, cache, kind, phys range\n",
			   spt_space_id(it->s), spt_machine_cfg.levels);
		return 0;
	}
	spt_dbg_size(size, sizeof(size), r->end - r->va);
	spt_dbg_size(leaf, sizeof(leaf), spt_level_size(r->level));
	seq_printf(m, "0x%016llx-0x%016llx %6s %2s x%-6llu %s %s %s %s %s %s %-3s %-9s 0x%016llx-0x%016llx\n",
		   r->va, r->end, size, leaf, r->pages,
		   r->prot & SPT_PROT_WRITE ? "RW" : "ro",
		   r->prot & SPT_PROT_USER ? "USR" : "  -",
		   r->prot & SPT_PROT_EXEC ? " x" : "NX",
		   r->prot & SPT_PROT_GLOBAL ? "GLB" : "  -",
		   r->prot & SPT_PROT_ACCESSED ? "A" : "-",
		   r->prot & SPT_PROT_DIRTY ? "D" : "-",
		   r->cache < ARRAY_SIZE(spt_dbg_cache_names) ?
		   spt_dbg_cache_names[r->cache] : "?",
		   r->flags & SPT_QUERY_TRACKED ? "tracked" : "untracked",
		   r->phys, r->phys + (r->end - r->va));
	return 0;
}

static const struct seq_operations spt_dbg_map_sops = {
	.start = spt_dbg_map_start,
	.next = spt_dbg_map_next,
	.stop = spt_dbg_map_stop,
	.show = spt_dbg_map_show,
};

static int spt_dbg_map_open(struct inode *inode, struct file *file)
{
	u32 id = (u32)(uintptr_t)inode->i_private;
	struct spt_dbg_map *it;
	struct spt_space *s;

	s = spt_space_get(id);
	if (!s)
		return -ENOENT;
	it = spt_seq_open_private(file, &spt_dbg_map_sops, sizeof(*it));
	if (!it) {
		spt_space_put(s);
		return -ENOMEM;
	}
	it->s = s;
	return 0;
}

static int spt_dbg_map_release(struct inode *inode, struct file *file)
{
	struct seq_file *m = file->private_data;
	struct spt_dbg_map *it = m->private;

	spt_space_put(it->s);
	return seq_release_private(inode, file);
}

static const struct file_operations spt_dbg_map_fops = {
	.owner = THIS_MODULE,
	.open = spt_dbg_map_open,
	.read = seq_read,
	.llseek = seq_lseek,
	.release = spt_dbg_map_release,
};

/* A space's entries: made before its id is published. */
static void spt_debugfs_space_add(u32 id)
{
	struct dentry *dir;
	char name[16];

	snprintf(name, sizeof(name), "%u", id);
	dir = debugfs_create_dir(name, spt_debugfs_spaces);
	debugfs_create_file("mappings", 0400, dir, (void *)(uintptr_t)id,
			    &spt_dbg_map_fops);
}

/*
 * Removed before the space is torn down: the removal waits for reads in
 * progress; a reader that keeps the file open afterwards holds only a
 * reference to the space and gets EIO (debugfs) or ENOENT (a destroyed
 * space).
 */
static void spt_debugfs_space_remove(u32 id)
{
	char name[16];

	if (IS_ERR_OR_NULL(spt_debugfs_spaces))
		return;
	snprintf(name, sizeof(name), "%u", id);
	debugfs_lookup_and_remove(name, spt_debugfs_spaces);
}

static int spt_debugfs_space_event(struct notifier_block *nb,
				   unsigned long kind, void *data)
{
	const struct spt_space_event *ev = data;

	if (kind == SPT_SPACE_EV_CREATED)
		spt_debugfs_space_add(ev->space_id);
	else if (kind == SPT_SPACE_EV_DESTROYING)
		spt_debugfs_space_remove(ev->space_id);
	return NOTIFY_DONE;
}

static struct notifier_block spt_debugfs_space_nb = {
	.notifier_call = spt_debugfs_space_event,
};

int spt_debugfs_init(struct dentry *dir)
{
	debugfs_create_file("stats", 0400, dir, NULL, &spt_dbg_stats_fops);
	spt_debugfs_spaces = debugfs_create_dir("spaces", dir);
	return spt_space_events_register(&spt_debugfs_space_nb);
}

void spt_debugfs_exit(void)
{
	spt_space_events_unregister(&spt_debugfs_space_nb);
}
