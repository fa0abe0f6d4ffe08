// SPDX-License-Identifier: GPL-2.0
/*
 * /dev/shadowpt: the ioctl face. Every command's struct starts with
 * __u32 size; a dispatch table gives each command its struct size and the
 * size of its first release, and copy_struct_from_user() applies the
 * extensible-struct rules (smaller than the first release: EINVAL; larger
 * with a non-zero tail, or larger than SPT_STRUCT_SIZE_MAX: E2BIG).
 * Handlers validate everything before they change anything, and write back
 * what they did (also on a partial failure).
 */
#include <linux/module.h>
#include <linux/miscdevice.h>
#include <linux/fs.h>
#include <linux/uaccess.h>
#include <linux/capability.h>
#include <linux/slab.h>
#include <linux/sizes.h>
#include <linux/sched.h>
#include <linux/shadowpt.h>

#include "shadowpt.h"
#include "space.h"
#include "prop.h"
#include "load.h"
#include "usermode.h"
#include "failinject.h"
#include "flush.h"
#include "procmap.h"
#include "tables.h"

struct spt_ucmd {
	struct file *file;
	void __user *ubuffer;
	u32 user_size;
	u32 out_start;		/* offset of the command's first result */
	void *cmd;
};

union spt_ucmd_buffer {
	struct spt_version version;
	struct spt_space_create create;
	struct spt_space_destroy destroy;
	struct spt_space_info info;
	struct spt_map map;
	struct spt_unmap unmap;
	struct spt_protect protect;
	struct spt_entry_bits entry_bits;
	struct spt_query_va query;
	struct spt_query_batch batch;
	struct spt_rw rw;
	struct spt_stats stats;
	struct spt_check check;
	struct spt_load load;
	struct spt_query_range range;
	struct spt_user_run run;
	struct spt_mmap mmap;
	struct spt_tables tables;
};

/*
 * Copy the (possibly partial) result back to the caller's struct: the
 * results only, from the command's first out field on (what comes before
 * is what the caller sent).
 */
static int spt_ucmd_respond(struct spt_ucmd *ucmd, size_t cmd_len)
{
	size_t len = min_t(size_t, ucmd->user_size, cmd_len);

	if (len > ucmd->out_start &&
	    copy_to_user(ucmd->ubuffer + ucmd->out_start,
			 ucmd->cmd + ucmd->out_start, len - ucmd->out_start))
		return -EFAULT;
	return 0;
}

/* Report progress and the error together: the error wins unless EFAULT. */
static int spt_ucmd_respond_err(struct spt_ucmd *ucmd, size_t cmd_len,
				int ret)
{
	int r = spt_ucmd_respond(ucmd, cmd_len);

	return ret ? ret : r;
}

static int spt_get_space(u32 id, struct spt_space **s)
{
	*s = spt_space_get(id);
	return *s ? 0 : -ENOENT;
}

static int spt_ioctl_version(struct spt_ucmd *ucmd)
{
	struct spt_version *cmd = ucmd->cmd;

	if (cmd->flags)
		return -EINVAL;
	cmd->out_api_version = SPT_API_VERSION;
	cmd->out_levels = spt_machine_cfg.levels;
	cmd->out_phys_bits = boot_cpu_data.x86_phys_bits;
	cmd->out_meta_slot_bytes = sizeof(struct spt_meta);
	cmd->out_user_end = spt_cfg_user_end(&spt_machine_cfg);
	cmd->out_page_sizes = SZ_4K | SZ_2M |
			      (spt_machine_phys_max_level >= 3 ? SZ_1G : 0);
	return spt_ucmd_respond(ucmd, sizeof(*cmd));
}

static int spt_ioctl_space_create(struct spt_ucmd *ucmd)
{
	struct spt_space_create *cmd = ucmd->cmd;
	struct spt_space_snap snap;
	struct spt_space *s;
	int ret;

	if (cmd->flags & ~SPT_SPACE_FD_OWNED)
		return -EINVAL;
	/* With our own reference: a destroy may come before the answer. */
	ret = spt_space_create(cmd->flags,
			       cmd->flags & SPT_SPACE_FD_OWNED ? ucmd->file :
			       NULL, 0, &s);
	if (ret)
		return ret;
	spt_space_snap(s, &snap);
	cmd->out_space_id = snap.id;
	cmd->out_levels = snap.levels;
	cmd->out_root_pa = snap.root_pa;
	ret = spt_ucmd_respond(ucmd, sizeof(*cmd));
	if (ret)
		spt_space_destroy_exact(s);
	spt_space_put(s);
	return ret;
}

static int spt_ioctl_space_destroy(struct spt_ucmd *ucmd)
{
	struct spt_space_destroy *cmd = ucmd->cmd;

	if (cmd->flags || cmd->__reserved)
		return -EINVAL;
	return spt_space_destroy(cmd->space_id);
}

static int spt_ioctl_space_info(struct spt_ucmd *ucmd)
{
	struct spt_space_info *cmd = ucmd->cmd;
	struct spt_pt_counts counts;
	struct spt_space_snap snap;
	struct spt_space *s;
	unsigned int i;
	int ret;

	if (cmd->flags)
		return -EINVAL;
	ret = spt_get_space(cmd->space_id, &s);
	if (ret)
		return ret;
	/* The mapped bytes by a walk; the nodes from the table's counter. */
	spt_space_counts(s, &counts);
	spt_space_snap(s, &snap);
	spt_space_put(s);
	cmd->out_flags = snap.flags;
	cmd->out_root_pa = snap.root_pa;
	cmd->out_levels = snap.levels;
	cmd->out_owner_pid = snap.owner_pid;
	cmd->out_data_frames = snap.data_frames;
	cmd->out_node_frames = snap.node_frames;
	cmd->out_mapped_bytes = 0;
	for (i = 0; i < SPT_MAX_LEAF_LEVEL; i++)
		cmd->out_mapped_bytes += counts.leaves[i] *
					 spt_level_size(i + 1);
	cmd->out_loaded_cpus = snap.loaded_cpus;
	return spt_ucmd_respond(ucmd, sizeof(*cmd));
}

#define SPT_MAP_SIZES	(SPT_MAP_4K | SPT_MAP_2M | SPT_MAP_LARGEST)

/* SPT_MAP_SHARE: the flags and reserved fields are checked. */
static int spt_ioctl_map_share(struct spt_ucmd *ucmd)
{
	struct spt_map *cmd = ucmd->cmd;
	struct spt_space *s, *src;
	struct spt_prop prop;
	int ret;

	if (cmd->flags != SPT_MAP_SHARE || cmd->phys ||
	    !spt_range_ok(cmd->va, cmd->length, SPT_PAGE_SIZE) ||
	    !spt_range_ok(cmd->src_va, cmd->length, SPT_PAGE_SIZE) ||
	    !spt_prop_from_uapi(cmd->prot, cmd->cache, &prop))
		return -EINVAL;
	ret = spt_get_space(cmd->space_id, &s);
	if (ret)
		return ret;
	ret = spt_get_space(cmd->src_space_id, &src);
	if (!ret) {
		ret = spt_space_share(s, cmd->va, cmd->length, src,
				      cmd->src_va, &prop, &cmd->out_mapped);
		spt_space_put(src);
	}
	spt_space_put(s);
	return spt_ucmd_respond_err(ucmd, sizeof(*cmd), ret);
}

/* SPT_MAP_USER: the flags and reserved fields are checked. */
static int spt_ioctl_map_user(struct spt_ucmd *ucmd)
{
	struct spt_map *cmd = ucmd->cmd;
	struct spt_prop prop;
	struct spt_space *s;
	int ret;

	if (cmd->flags != (SPT_MAP_USER | SPT_MAP_4K) || cmd->phys ||
	    cmd->src_space_id || !IS_ALIGNED(cmd->src_va, SPT_PAGE_SIZE) ||
	    !spt_range_ok(cmd->va, cmd->length, SPT_PAGE_SIZE) ||
	    !spt_prop_from_uapi(cmd->prot, cmd->cache, &prop))
		return -EINVAL;
	ret = spt_get_space(cmd->space_id, &s);
	if (ret)
		return ret;
	ret = spt_space_map_user(s, cmd->va, cmd->length, cmd->src_va, &prop,
				 &cmd->out_mapped);
	spt_space_put(s);
	return spt_ucmd_respond_err(ucmd, sizeof(*cmd), ret);
}

static int spt_ioctl_map(struct spt_ucmd *ucmd)
{
	struct spt_map *cmd = ucmd->cmd;
	u32 sizes = cmd->flags & SPT_MAP_SIZES;
	u64 align = SPT_PAGE_SIZE;
	struct spt_prop prop;
	struct spt_space *s;
	int ret;

	cmd->out_mapped = 0;
	if (cmd->flags & ~(SPT_MAP_SIZES | SPT_MAP_PHYS | SPT_MAP_REPLACE |
			   SPT_MAP_SHARE | SPT_MAP_USER) ||
	    cmd->__reserved || cmd->__reserved2)
		return -EINVAL;
	if (cmd->flags & SPT_MAP_SHARE)
		return spt_ioctl_map_share(ucmd);
	if (cmd->flags & SPT_MAP_USER)
		return spt_ioctl_map_user(ucmd);
	if (cmd->src_space_id || cmd->src_va)
		return -EINVAL;
	if (cmd->flags & SPT_MAP_PHYS) {
		if (sizes || !IS_ALIGNED(cmd->phys, SPT_PAGE_SIZE) ||
		    cmd->phys + cmd->length < cmd->phys ||
		    cmd->phys + cmd->length - 1 >
		    (spt_machine_cfg.pa_mask | (SPT_PAGE_SIZE - 1)))
			return -EINVAL;
	} else if (hweight32(sizes) != 1 || cmd->phys) {
		return -EINVAL;
	}
	if (cmd->flags & SPT_MAP_2M)
		align = SZ_2M;
	if (!spt_range_ok(cmd->va, cmd->length, align) ||
	    !spt_prop_from_uapi(cmd->prot, cmd->cache, &prop))
		return -EINVAL;
	if (cmd->flags & SPT_MAP_PHYS) {
		ret = spt_phys_permission(true);
		if (ret)
			return ret;
	}
	ret = spt_get_space(cmd->space_id, &s);
	if (ret)
		return ret;
	ret = spt_space_map(s, cmd->va, cmd->length, cmd->flags, cmd->phys,
			    &prop, &cmd->out_mapped);
	spt_space_put(s);
	return spt_ucmd_respond_err(ucmd, sizeof(*cmd), ret);
}

static int spt_ioctl_unmap(struct spt_ucmd *ucmd)
{
	struct spt_unmap *cmd = ucmd->cmd;
	struct spt_space *s;
	int ret;

	cmd->out_unmapped = 0;
	cmd->out_done = 0;
	if (cmd->flags || cmd->__reserved ||
	    !spt_range_ok(cmd->va, cmd->length, SPT_PAGE_SIZE))
		return -EINVAL;
	ret = spt_get_space(cmd->space_id, &s);
	if (ret)
		return ret;
	ret = spt_space_unmap(s, cmd->va, cmd->length, &cmd->out_unmapped,
			      &cmd->out_done);
	spt_space_put(s);
	return spt_ucmd_respond_err(ucmd, sizeof(*cmd), ret);
}

static int spt_ioctl_protect(struct spt_ucmd *ucmd)
{
	struct spt_protect *cmd = ucmd->cmd;
	struct spt_prot_op op;
	struct spt_prop prop;
	struct spt_space *s;
	int ret;

	cmd->out_protected = 0;
	cmd->out_done = 0;
	if (cmd->flags & ~SPT_PROTECT_CACHE || cmd->__reserved ||
	    (!(cmd->flags & SPT_PROTECT_CACHE) && cmd->cache) ||
	    !spt_range_ok(cmd->va, cmd->length, SPT_PAGE_SIZE) ||
	    !spt_prop_from_uapi(cmd->prot, cmd->cache, &prop))
		return -EINVAL;
	op.set = prop.flags;
	op.clear = SPT_PROT_SETTABLE;
	op.cache = cmd->flags & SPT_PROTECT_CACHE ? (s8)prop.cache : -1;
	ret = spt_get_space(cmd->space_id, &s);
	if (ret)
		return ret;
	ret = spt_space_protect(s, cmd->va, cmd->length, &op,
				&cmd->out_protected, &cmd->out_done);
	spt_space_put(s);
	return spt_ucmd_respond_err(ucmd, sizeof(*cmd), ret);
}

static int spt_ioctl_entry_bits(struct spt_ucmd *ucmd)
{
	struct spt_entry_bits *cmd = ucmd->cmd;
	struct spt_space *s;
	int ret;

	cmd->out_entries = 0;
	cmd->out_changed = 0;
	cmd->out_bits = 0;
	if (cmd->flags & ~SPT_ENTRY_BITS_RSVD ||
	    (cmd->set | cmd->clear) & ~SPT_BITS_ALL ||
	    cmd->set & cmd->clear ||
	    (cmd->set & SPT_BITS_RSVD && !(cmd->flags & SPT_ENTRY_BITS_RSVD)) ||
	    ((cmd->set | cmd->clear) & SPT_BITS_PKEY && cmd->level != 1) ||
	    !cmd->level || cmd->level > spt_machine_cfg.levels ||
	    !spt_range_ok(cmd->va, cmd->length, SPT_PAGE_SIZE))
		return -EINVAL;
	/* Bit 51 is an address bit where MAXPHYADDR is 52. */
	if (cmd->set & SPT_BITS_RSVD &&
	    spt_machine_cfg.pa_mask & SPT_BITS_RSVD)
		return -EOPNOTSUPP;
	ret = spt_get_space(cmd->space_id, &s);
	if (ret)
		return ret;
	ret = spt_space_entry_bits(s, cmd->level, cmd->va, cmd->length,
				   cmd->clear, cmd->set, &cmd->out_entries,
				   &cmd->out_changed, &cmd->out_bits);
	cmd->out_bits &= ~spt_machine_cfg.pa_mask;
	spt_space_put(s);
	return spt_ucmd_respond_err(ucmd, sizeof(*cmd), ret);
}

static void spt_query_to_uapi(u64 va, const struct spt_query *q,
			      struct spt_query_entry *e)
{
	e->va_start = q->va_start;
	e->va_end = q->va_end;
	e->level = q->level;
	if (q->mapped) {
		e->phys = q->item.pa + (va - q->va_start);
		e->flags = SPT_QUERY_MAPPED |
			   (q->item.tracked ? SPT_QUERY_TRACKED : 0) |
			   (q->item.pinned ? SPT_QUERY_PINNED : 0);
		e->prot = spt_prop_to_uapi(&q->prop);
		e->cache = q->prop.cache;
	} else {
		e->phys = 0;
		e->flags = 0;
		e->prot = 0;
		e->cache = 0;
	}
}

static bool spt_va_ok(u64 va)
{
	return va < spt_cfg_user_end(&spt_machine_cfg);
}

static int spt_ioctl_query(struct spt_ucmd *ucmd)
{
	struct spt_query_va *cmd = ucmd->cmd;
	struct spt_query q;
	int ret;

	if (cmd->flags || cmd->__reserved || !spt_va_ok(cmd->va))
		return -EINVAL;
	/* No reference: the lookup and the walk share one RCU section. */
	ret = spt_space_query_id(cmd->space_id, cmd->va, &q);
	if (ret)
		return ret;
	spt_query_to_uapi(cmd->va, &q, &cmd->out);
	return spt_ucmd_respond(ucmd, sizeof(*cmd));
}

/*
 * Arrays of elements (QUERY_BATCH entries, LOAD ops) follow the struct size
 * rule per element: the caller's element size is at least the element's
 * first release (@min) and at most SPT_ELEM_SIZE_MAX; the tail of a larger
 * input element must be zero (E2BIG), and the tail of a larger output
 * element is zeroed; a smaller element reads as zero past its end and
 * gets only its own fields back.
 */
static bool spt_elem_size_ok(u32 usize, size_t min)
{
	return usize >= min && usize <= SPT_ELEM_SIZE_MAX;
}

/* The first release of struct spt_load_op ended at out_value. */
#define SPT_LOAD_OP_SIZE_V1	offsetofend(struct spt_load_op, out_value)

/* Copy @n elements in: 0, -EFAULT or -E2BIG. */
static int spt_elems_in(void *dst, size_t ksize, const void __user *src,
			u32 usize, u32 n)
{
	u32 i;
	int ret;

	if (usize == ksize) {
		if (copy_from_user(dst, src, (size_t)n * ksize))
			return -EFAULT;
		return 0;
	}
	for (i = 0; i < n; i++) {
		ret = copy_struct_from_user(dst + i * ksize, ksize,
					    src + (size_t)i * usize, usize);
		if (ret)
			return ret;
	}
	return 0;
}

/* Copy @n elements out; returns how many reached the caller whole. */
static u32 spt_elems_out(void __user *dst, u32 usize, const void *src,
			 size_t ksize, u32 n)
{
	u32 i;

	if (usize == ksize)
		return ((size_t)n * ksize -
			copy_to_user(dst, src, (size_t)n * ksize)) / ksize;
	for (i = 0; i < n; i++) {
		void __user *d = dst + (size_t)i * usize;

		if (usize < ksize) {
			if (copy_to_user(d, src + i * ksize, usize))
				break;
			continue;
		}
		if (copy_to_user(d, src + i * ksize, ksize) ||
		    clear_user(d + ksize, usize - ksize))
			break;
	}
	return i;
}

#define SPT_BATCH_CHUNK	256

/* Translate @n VAs; *@done says how many entries of @out are filled. */
static int spt_batch_chunk(struct spt_space *s, const u64 *vas,
			   unsigned int n, struct spt_query_entry *out,
			   unsigned int *done)
{
	unsigned int i;
	int ret;

	for (i = 0; i < n; i++) {
		struct spt_query q;

		if (!spt_va_ok(vas[i])) {
			ret = -EINVAL;
			goto out;
		}
		ret = spt_space_query(s, vas[i], &q);
		if (ret)
			goto out;
		spt_query_to_uapi(vas[i], &q, &out[i]);
	}
	ret = 0;
out:
	*done = i;
	return ret;
}

static int spt_ioctl_query_batch(struct spt_ucmd *ucmd)
{
	struct spt_query_batch *cmd = ucmd->cmd;
	u64 __user *uvas = u64_to_user_ptr(cmd->vas);
	void __user *uout = u64_to_user_ptr(cmd->entries);
	struct spt_query_entry *out;
	struct spt_space *s;
	u64 *vas;
	int ret;

	cmd->out_done = 0;
	if (cmd->flags || !cmd->count || cmd->count > SPT_QUERY_BATCH_MAX ||
	    !spt_elem_size_ok(cmd->entry_size, sizeof(*out)))
		return -EINVAL;
	ret = spt_get_space(cmd->space_id, &s);
	if (ret)
		return ret;
	vas = spt_kmalloc_array(SPT_BATCH_CHUNK, sizeof(*vas), GFP_KERNEL);
	out = spt_kmalloc_array(SPT_BATCH_CHUNK, sizeof(*out), GFP_KERNEL);
	if (!vas || !out) {
		ret = -ENOMEM;
		goto out;
	}
	/* out_done counts exactly the entries that reached the caller. */
	while (cmd->out_done < cmd->count) {
		unsigned int n = min_t(u32, cmd->count - cmd->out_done,
				       SPT_BATCH_CHUNK);
		unsigned int got, put;
		size_t left;

		left = copy_from_user(vas, uvas + cmd->out_done,
				      n * sizeof(*vas));
		got = n - DIV_ROUND_UP(left, sizeof(*vas));
		ret = spt_batch_chunk(s, vas, got, out, &got);
		if (!ret && left)
			ret = -EFAULT;
		put = spt_elems_out(uout + (size_t)cmd->out_done *
				    cmd->entry_size, cmd->entry_size, out,
				    sizeof(*out), got);
		cmd->out_done += put;
		if (put < got)
			ret = -EFAULT;
		if (ret)
			break;
		if (fatal_signal_pending(current)) {
			ret = -EINTR;
			break;
		}
		cond_resched();
	}
out:
	kfree(vas);
	kfree(out);
	spt_space_put(s);
	return spt_ucmd_respond_err(ucmd, sizeof(*cmd), ret);
}

static int spt_ioctl_rw(struct spt_ucmd *ucmd)
{
	struct spt_rw *cmd = ucmd->cmd;
	u64 end = spt_cfg_user_end(&spt_machine_cfg);
	struct spt_space *s;
	int ret;

	cmd->out_done = 0;
	if (cmd->flags & ~SPT_RW_WRITE || cmd->__reserved || !cmd->length ||
	    cmd->length > SZ_16M || cmd->va >= end ||
	    cmd->length > end - cmd->va)
		return -EINVAL;
	ret = spt_get_space(cmd->space_id, &s);
	if (ret)
		return ret;
	ret = spt_space_rw(s, cmd->va, u64_to_user_ptr(cmd->buf), cmd->length,
			   cmd->flags & SPT_RW_WRITE, &cmd->out_done);
	spt_space_put(s);
	return spt_ucmd_respond_err(ucmd, sizeof(*cmd), ret);
}

static int spt_ioctl_stats(struct spt_ucmd *ucmd)
{
	struct spt_stats *cmd = ucmd->cmd;
	struct spt_reclaim_stats rs;
	struct spt_pool_stats st;
	struct spt_pt_counts counts;
	struct spt_space_snap snap;
	struct spt_space *s = NULL;
	unsigned int i;
	int ret;

	if (cmd->flags || cmd->__reserved)
		return -EINVAL;
	/* Without a space, its fields are 0, whatever the caller sent. */
	memset(cmd->space_nodes, 0, sizeof(cmd->space_nodes));
	memset(cmd->space_leaves, 0, sizeof(cmd->space_leaves));
	cmd->space_data_frames = 0;
	if (cmd->space_id) {
		ret = spt_get_space(cmd->space_id, &s);
		if (ret)
			return ret;
		spt_space_counts(s, &counts);
		for (i = 0; i < SPT_MAX_LEVELS; i++)
			cmd->space_nodes[i] = counts.nodes[i];
		for (i = 0; i < SPT_MAX_LEAF_LEVEL; i++)
			cmd->space_leaves[i] = counts.leaves[i];
		spt_space_snap(s, &snap);
		cmd->space_data_frames = snap.data_frames;
		spt_space_put(s);
	}
	spt_pool_stats_read(&st, &rs);
	cmd->pool_limit_frames = st.limit_frames;
	cmd->pool_chunk_frames = st.chunk_frames;
	cmd->pool_used_frames = st.used_frames;
	cmd->pool_free_frames = st.free_frames;
	cmd->pool_node_frames = st.node_frames;
	cmd->pool_data_frames = st.data_frames;
	cmd->pool_returned_frames = st.returned_frames;
	cmd->pool_meta_bytes = st.meta_bytes;
	cmd->pool_allocs = st.allocs;
	cmd->pool_alloc_failures = st.alloc_failures;
	cmd->nr_spaces = spt_space_count();
	cmd->meta_slot_bytes = sizeof(struct spt_meta);
	cmd->reclaim_pending_frames = rs.pending_frames;
	cmd->reclaim_max_frames = rs.max_frames;
	cmd->reclaim_waits = rs.waits;
	spt_procmap_counts(&cmd->procmap_frames, &cmd->procmap_refs);
	return spt_ucmd_respond(ucmd, sizeof(*cmd));
}

#define SPT_CHECK_MSG_MAX	256

static int spt_ioctl_check(struct spt_ucmd *ucmd)
{
	struct spt_check *cmd = ucmd->cmd;
	char msg[SPT_CHECK_MSG_MAX] = "";
	struct spt_space *s;
	int ret;

	if (cmd->flags)
		return -EINVAL;
	/* The message buffer must be writable whatever the outcome. */
	if (cmd->msg_len &&
	    put_user('\0', (char __user *)u64_to_user_ptr(cmd->msg)))
		return -EFAULT;
	ret = spt_get_space(cmd->space_id, &s);
	if (ret)
		return ret;
	ret = spt_space_check(s, msg, sizeof(msg));
	spt_space_put(s);
	if (ret == -EUCLEAN && cmd->msg_len) {
		size_t n = min_t(size_t, cmd->msg_len, sizeof(msg));

		msg[n - 1] = '\0';
		if (copy_to_user(u64_to_user_ptr(cmd->msg), msg,
				 strnlen(msg, n - 1) + 1))
			return -EFAULT;
	}
	return ret;
}

/* A TIMED op needs out_cycles in the caller's element: else -EINVAL. */
static int spt_load_ops_fit(const struct spt_load_op *ops, u32 n, u32 usize)
{
	u32 i;

	if (usize >= offsetofend(struct spt_load_op, out_cycles))
		return 0;
	for (i = 0; i < n; i++)
		if (ops[i].flags & SPT_LOAD_OP_F_TIMED)
			return -EINVAL;
	return 0;
}

static bool spt_load_ops_user(const struct spt_load_op *ops, u32 nr)
{
	u32 i;

	for (i = 0; i < nr; i++)
		if (ops[i].flags & SPT_LOAD_OP_F_USER)
			return true;
	return false;
}

static int spt_ioctl_load(struct spt_ucmd *ucmd)
{
	struct spt_load *cmd = ucmd->cmd;
	void __user *uops = u64_to_user_ptr(cmd->ops);
	struct spt_load_result res;
	struct spt_load_req req;
	struct spt_load_op *ops;
	struct spt_space *s;
	size_t bytes;
	int ret;

	if (cmd->flags & ~(SPT_LOAD_CPU | SPT_LOAD_FORCE | SPT_LOAD_PAT) ||
	    (!(cmd->flags & SPT_LOAD_CPU) && cmd->cpu) ||
	    (!(cmd->flags & SPT_LOAD_PAT) && cmd->pat) || !cmd->nr_ops ||
	    cmd->nr_ops > SPT_LOAD_MAX_OPS ||
	    !spt_elem_size_ok(cmd->op_size, SPT_LOAD_OP_SIZE_V1))
		return -EINVAL;
	bytes = (size_t)cmd->nr_ops * sizeof(*ops);
	ops = spt_kvmalloc(bytes, GFP_KERNEL);
	if (!ops)
		return -ENOMEM;
	ret = spt_elems_in(ops, sizeof(*ops), uops, cmd->op_size, cmd->nr_ops);
	if (ret)
		goto out;
	ret = spt_load_ops_fit(ops, cmd->nr_ops, cmd->op_size);
	if (ret)
		goto out;
	/*
	 * The results go back into the same array: it must be writable.
	 * Writing back what was read (tails are zero) changes nothing.
	 */
	ret = -EFAULT;
	if (spt_elems_out(uops, cmd->op_size, ops, sizeof(*ops),
			  cmd->nr_ops) != cmd->nr_ops)
		goto out;
	ret = spt_get_space(cmd->space_id, &s);
	if (ret)
		goto out;
	req = (struct spt_load_req) {
		.flags = cmd->flags, .cpu = cmd->cpu, .pat = cmd->pat,
		.ops = ops, .nr_ops = cmd->nr_ops,
		.phys_ok = !spt_phys_permission(true),
	};
	/* Asked only for USER ops: a refusal of capable() is audited. */
	if (spt_load_ops_user(ops, cmd->nr_ops))
		req.runs_ok = READ_ONCE(spt_param_allow_runs) &&
			      capable(CAP_SYS_ADMIN);
	ret = spt_load_window(s, &req, &res);
	spt_space_put(s);
	if (ret)
		goto out;
	cmd->out_status = res.status;
	cmd->out_cpu = res.cpu;
	cmd->out_ops_run = res.ops_run;
	cmd->out_faults = res.faults;
	cmd->out_ns = res.ns;
	cmd->out_tsc_khz = res.tsc_khz;
	cmd->out_cpu_features = res.cpu_features;
	ret = -EFAULT;
	if (spt_elems_out(uops, cmd->op_size, ops, sizeof(*ops),
			  cmd->nr_ops) != cmd->nr_ops)
		goto out;
	ret = spt_ucmd_respond(ucmd, sizeof(*cmd));
out:
	kvfree(ops);
	return ret;
}

static int spt_ioctl_run(struct spt_ucmd *ucmd)
{
	struct spt_user_run *cmd = ucmd->cmd;
	struct spt_run_result res;
	struct spt_run_req req;
	struct spt_space *s;
	int ret;

	if (cmd->flags & ~(SPT_LOAD_CPU | SPT_LOAD_FORCE) ||
	    (!(cmd->flags & SPT_LOAD_CPU) && cmd->cpu))
		return -EINVAL;
	if (!READ_ONCE(spt_param_allow_runs) || !capable(CAP_SYS_ADMIN))
		return -EPERM;
	req.flags = cmd->flags;
	req.cpu = cmd->cpu;
	req.rip = cmd->rip;
	req.rflags = cmd->rflags;
	memcpy(req.regs, cmd->regs, sizeof(req.regs));
	ret = spt_get_space(cmd->space_id, &s);
	if (ret)
		return ret;
	ret = spt_usermode_run(s, &req, &res);
	spt_space_put(s);
	if (ret)
		return ret;
	cmd->out_reason = res.reason;
	cmd->out_vector = res.vector;
	cmd->out_error_code = res.error_code;
	cmd->out_cr2 = res.cr2;
	cmd->out_rip = res.rip;
	cmd->out_rflags = res.rflags;
	memcpy(cmd->out_regs, res.regs, sizeof(cmd->out_regs));
	cmd->out_cpu = res.cpu;
	cmd->out_fault = res.fault;
	cmd->out_level = res.level;
	cmd->out_flags = res.flags;
	cmd->out_ns = res.ns;
	return spt_ucmd_respond(ucmd, sizeof(*cmd));
}

static int spt_ioctl_tables(struct spt_ucmd *ucmd)
{
	struct spt_tables *cmd = ucmd->cmd;
	struct spt_tables_fd o;
	int ret;

	if (cmd->flags)
		return -EINVAL;
	ret = spt_tables_open(cmd->space_id, &o);
	if (ret)
		return ret;
	cmd->out_fd = o.fd;
	cmd->out_map_size = o.map_size;
	cmd->out_root_pa = o.root_pa;
	cmd->out_levels = o.levels;
	cmd->out_header_size = sizeof(struct spt_tables_header);
	/* The descriptor exists only once the caller has been told. */
	ret = spt_ucmd_respond(ucmd, sizeof(*cmd));
	if (ret) {
		spt_tables_fd_abort(&o);
		return ret;
	}
	spt_tables_fd_install(&o);
	return 0;
}

/* Kernel buffer of a range query: at most this many bytes at a time. */
#define SPT_RANGE_CHUNK_BYTES	SZ_16K

/*
 * Where a range query that stopped after @put entries of the last piece
 * (which held @n) resumes.
 */
static u64 spt_range_next(const struct spt_range_query *rq, unsigned int put,
			  unsigned int n)
{
	if (rq->pages)
		return rq->va - ((u64)(n - put) << PAGE_SHIFT);
	if (put < n)
		return rq->runs.out[put].start;
	return rq->runs.pending ? rq->runs.run.start : rq->va;
}

static int spt_ioctl_query_range(struct spt_ucmd *ucmd)
{
	struct spt_query_range *cmd = ucmd->cmd;
	void __user *uout = u64_to_user_ptr(cmd->entries);
	bool compact = cmd->flags & SPT_QUERY_RANGE_COMPACT;
	size_t esize = compact ? sizeof(u64) : sizeof(struct spt_query_run);
	struct spt_range_query rq = { .va = cmd->va };
	unsigned int chunk, n, put;
	struct spt_space *s;
	void *buf;
	int ret;

	cmd->out_entries = 0;
	cmd->out_next = cmd->va;
	if (cmd->flags & ~SPT_QUERY_RANGE_COMPACT ||
	    !spt_range_ok(cmd->va, cmd->length, SPT_PAGE_SIZE) ||
	    !cmd->max_entries || cmd->max_entries > SPT_QUERY_RANGE_MAX ||
	    (compact ? cmd->entry_size != sizeof(u64) :
	     !spt_elem_size_ok(cmd->entry_size, esize)))
		return -EINVAL;
	rq.end = cmd->va + cmd->length;
	ret = spt_get_space(cmd->space_id, &s);
	if (ret)
		return ret;
	chunk = min_t(u32, cmd->max_entries, SPT_RANGE_CHUNK_BYTES / esize);
	buf = spt_kmalloc_array(chunk, esize, GFP_KERNEL);
	if (!buf) {
		ret = -ENOMEM;
		goto out;
	}
	if (compact)
		rq.pages = buf;
	else
		rq.runs.out = buf;
	/* out_entries counts exactly the entries that reached the caller. */
	for (;;) {
		unsigned int room = min(chunk, cmd->max_entries -
					       cmd->out_entries);

		rq.cap = room;
		rq.nr = 0;
		rq.runs.cap = room;
		rq.runs.nr = 0;
		n = 0;
		put = 0;
		ret = spt_space_query_range(s, &rq);
		if (ret)
			break;
		n = compact ? rq.nr : rq.runs.nr;
		put = spt_elems_out(uout + (size_t)cmd->out_entries *
				    cmd->entry_size, cmd->entry_size, buf,
				    esize, n);
		cmd->out_entries += put;
		if (put < n) {
			ret = -EFAULT;
			break;
		}
		if ((rq.va >= rq.end && !rq.runs.pending) ||
		    cmd->out_entries == cmd->max_entries)
			break;
		if (fatal_signal_pending(current) || signal_pending(current)) {
			ret = -EINTR;
			break;
		}
		cond_resched();
	}
	cmd->out_next = spt_range_next(&rq, put, n);
out:
	kfree(buf);
	spt_space_put(s);
	return spt_ucmd_respond_err(ucmd, sizeof(*cmd), ret);
}

static int spt_ioctl_mmap(struct spt_ucmd *ucmd)
{
	struct spt_mmap *cmd = ucmd->cmd;
	struct spt_space *s;
	bool writable;
	int ret;

	if (cmd->__reserved || cmd->__reserved2)
		return -EINVAL;
	if (cmd->flags == SPT_MMAP_RELEASE) {
		if (cmd->space_id || cmd->va || cmd->length)
			return -EINVAL;
		return spt_procmap_drop(ucmd->file, cmd->offset);
	}
	if (cmd->flags || cmd->offset || cmd->length > SPT_MMAP_MAX ||
	    !spt_range_ok(cmd->va, cmd->length, SPT_PAGE_SIZE))
		return -EINVAL;
	ret = spt_get_space(cmd->space_id, &s);
	if (ret)
		return ret;
	ret = spt_procmap_make(ucmd->file, s, cmd->va, cmd->length,
			       &cmd->out_offset, &writable);
	spt_space_put(s);
	if (ret)
		return ret;
	cmd->out_prot = writable ? SPT_PROT_WRITE : 0;
	ret = spt_ucmd_respond(ucmd, sizeof(*cmd));
	if (ret)
		spt_procmap_drop(ucmd->file, cmd->out_offset);
	return ret;
}

/*
 * When the struct's results must be known to be writable: never (the
 * command reports nothing), before the command runs (it changes
 * something, or writes into the caller's buffers: a read-only struct
 * must fail with nothing done), or only by the answer itself (the
 * command only reads: when the answer cannot be written, nothing has
 * changed either).
 */
enum spt_wb {
	SPT_WB_NONE,
	SPT_WB_FIRST,
	SPT_WB_ANSWER,
};

struct spt_ioctl_op {
	unsigned int size;
	unsigned int min_size;
	unsigned int out_start;
	unsigned int ioctl_num;
	enum spt_wb wb;
	int (*execute)(struct spt_ucmd *ucmd);
};

/*
 * The entry for SPT_IOCTL_<_name>, at its command number: @_last is the
 * last field of the first release, @_out the first field the command
 * writes (answers copy back from there on).
 */
#define SPT_IOCTL_OP(_name, _fn, _struct, _last, _out, _wb)                 \
	[_IOC_NR(SPT_IOCTL_##_name) - SPT_CMD_BASE] = {                    \
		.size = sizeof(_struct) +                                  \
			BUILD_BUG_ON_ZERO(sizeof(union spt_ucmd_buffer) <  \
					  sizeof(_struct)),                \
		.min_size = offsetofend(_struct, _last),                   \
		.out_start = offsetof(_struct, _out),                      \
		.ioctl_num = SPT_IOCTL_##_name,                            \
		.wb = _wb,                                                 \
		.execute = _fn,                                            \
	}

static const struct spt_ioctl_op spt_ioctl_ops[] = {
	SPT_IOCTL_OP(VERSION, spt_ioctl_version, struct spt_version,
		     out_user_end, out_api_version, SPT_WB_ANSWER),
	SPT_IOCTL_OP(SPACE_CREATE, spt_ioctl_space_create,
		     struct spt_space_create, out_root_pa, out_space_id,
		     SPT_WB_FIRST),
	SPT_IOCTL_OP(SPACE_DESTROY, spt_ioctl_space_destroy,
		     struct spt_space_destroy, __reserved, size, SPT_WB_NONE),
	SPT_IOCTL_OP(SPACE_INFO, spt_ioctl_space_info,
		     struct spt_space_info, out_loaded_cpus, out_flags,
		     SPT_WB_ANSWER),
	SPT_IOCTL_OP(MAP, spt_ioctl_map, struct spt_map, out_mapped,
		     out_mapped, SPT_WB_FIRST),
	SPT_IOCTL_OP(UNMAP, spt_ioctl_unmap, struct spt_unmap, out_done,
		     out_unmapped, SPT_WB_FIRST),
	SPT_IOCTL_OP(PROTECT, spt_ioctl_protect, struct spt_protect, out_done,
		     out_protected, SPT_WB_FIRST),
	SPT_IOCTL_OP(QUERY, spt_ioctl_query, struct spt_query_va, out, out,
		     SPT_WB_ANSWER),
	SPT_IOCTL_OP(QUERY_BATCH, spt_ioctl_query_batch,
		     struct spt_query_batch, out_done, out_done, SPT_WB_FIRST),
	SPT_IOCTL_OP(RW, spt_ioctl_rw, struct spt_rw, out_done, out_done,
		     SPT_WB_FIRST),
	SPT_IOCTL_OP(STATS, spt_ioctl_stats, struct spt_stats,
		     space_data_frames, pool_limit_frames, SPT_WB_ANSWER),
	SPT_IOCTL_OP(CHECK, spt_ioctl_check, struct spt_check, msg, size,
		     SPT_WB_NONE),
	SPT_IOCTL_OP(LOAD, spt_ioctl_load, struct spt_load, out_ns, out_status,
		     SPT_WB_FIRST),
	SPT_IOCTL_OP(QUERY_RANGE, spt_ioctl_query_range,
		     struct spt_query_range, out_next, out_entries,
		     SPT_WB_FIRST),
	SPT_IOCTL_OP(RUN, spt_ioctl_run, struct spt_user_run, out_ns,
		     out_reason, SPT_WB_FIRST),
	SPT_IOCTL_OP(ENTRY_BITS, spt_ioctl_entry_bits, struct spt_entry_bits,
		     out_bits, out_entries, SPT_WB_FIRST),
	SPT_IOCTL_OP(MMAP, spt_ioctl_mmap, struct spt_mmap, __reserved2,
		     out_offset, SPT_WB_FIRST),
	SPT_IOCTL_OP(TABLES, spt_ioctl_tables, struct spt_tables,
		     out_header_size, out_fd, SPT_WB_FIRST),
};

static long spt_fops_ioctl(struct file *file, unsigned int cmd,
			   unsigned long arg)
{
	const struct spt_ioctl_op *op;
	union spt_ucmd_buffer buf;
	struct spt_ucmd ucmd = {
		.file = file,
		.ubuffer = (void __user *)arg,
		.cmd = &buf,
	};
	unsigned int nr = _IOC_NR(cmd);
	int ret;

	if (_IOC_TYPE(cmd) != SPT_TYPE || nr < SPT_CMD_BASE ||
	    nr - SPT_CMD_BASE >= ARRAY_SIZE(spt_ioctl_ops))
		return -ENOTTY;
	op = &spt_ioctl_ops[nr - SPT_CMD_BASE];
	if (op->ioctl_num != cmd)
		return -ENOTTY;
	/*
	 * The common case in one copy: a caller whose size is the kernel's.
	 * Anything else (the copy faults, another size) takes the general
	 * path, which reads the size again and applies every rule.
	 */
	if (!copy_from_user(ucmd.cmd, ucmd.ubuffer, op->size) &&
	    *(u32 *)ucmd.cmd == op->size) {
		ucmd.user_size = op->size;
	} else {
		ret = get_user(ucmd.user_size, (u32 __user *)ucmd.ubuffer);
		if (ret)
			return ret;
		if (ucmd.user_size < op->min_size)
			return -EINVAL;
		/* Past a page, the zero tail is not even looked at (E2BIG). */
		if (ucmd.user_size > SPT_STRUCT_SIZE_MAX)
			return -E2BIG;
		ret = copy_struct_from_user(ucmd.cmd, op->size, ucmd.ubuffer,
					    ucmd.user_size);
		if (ret)
			return ret;
	}
	ucmd.out_start = op->out_start;
	/*
	 * A command that changes something reports results in its struct.
	 * Writing back the result fields just read changes nothing the
	 * caller can see, and makes a read-only struct fail with EFAULT
	 * before anything is done rather than after (when the progress could
	 * no longer be reported). A command that only reads needs no such
	 * check: its answer is the only write.
	 */
	if (op->wb == SPT_WB_FIRST &&
	    spt_ucmd_respond(&ucmd, op->size))
		return -EFAULT;
	return op->execute(&ucmd);
}

static int spt_fops_open(struct inode *inode, struct file *file)
{
	int ret;

	if (!capable(CAP_SYS_ADMIN))
		return -EPERM;
	ret = nonseekable_open(inode, file);
	if (ret)
		return ret;
	return spt_procmap_open(file);
}

static int spt_fops_release(struct inode *inode, struct file *file)
{
	spt_procmap_release(file);
	spt_space_release_file(file);
	return 0;
}

static const struct file_operations spt_fops = {
	.owner = THIS_MODULE,
	.open = spt_fops_open,
	.release = spt_fops_release,
	.unlocked_ioctl = spt_fops_ioctl,
	.mmap = spt_procmap_mmap,
	.compat_ioctl = compat_ptr_ioctl,
};

static struct miscdevice spt_miscdev = {
	.minor = MISC_DYNAMIC_MINOR,
	.name = "shadowpt",
	.fops = &spt_fops,
	.mode = 0600,
};

int spt_chardev_init(void)
{
	return misc_register(&spt_miscdev);
}

void spt_chardev_exit(void)
{
	misc_deregister(&spt_miscdev);
}
