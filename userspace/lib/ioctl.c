// SPDX-License-Identifier: LGPL-2.1 OR GPL-2.0
/*
 * libshadowpt: the ioctls of /dev/shadowpt. Each function fills the uAPI
 * struct with the size this library was built with, issues the ioctl and
 * returns 0 or the negative errno (also left in errno).
 */
#include <errno.h>
#include <fcntl.h>
#include <stddef.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>
#include <sys/ioctl.h>
#include <sys/mman.h>

#include "internal.h"

/* Bytes one SPT_IOCTL_RW moves at most. */
#define RW_CHUNK	(16ULL << 20)

struct spt_load_prog {
	struct spt_load_op *ops;
	uint32_t n, cap;
};

static int fail(int err)
{
	errno = err;
	return -err;
}

/* Set the leading size field and issue the ioctl. */
static int spt_call(struct spt *h, unsigned long req, void *arg,
		    uint32_t size)
{
	if (!h)
		return fail(EINVAL);
	memcpy(arg, &size, sizeof(size));
	if (ioctl(h->fd, req, arg) < 0)
		return fail(errno);
	return 0;
}

SPT_EXPORT int spt_open_path(const char *path, struct spt **out)
{
	struct spt *h;
	int err;

	if (!path || !out)
		return fail(EINVAL);
	h = calloc(1, sizeof(*h));
	if (!h)
		return fail(ENOMEM);
	h->fd = open(path, O_RDWR | O_CLOEXEC);
	if (h->fd < 0) {
		err = errno;
		free(h);
		return fail(err);
	}
	*out = h;
	return 0;
}

SPT_EXPORT int spt_open(struct spt **out)
{
	return spt_open_path(SPT_DEVICE_PATH, out);
}

SPT_EXPORT void spt_close(struct spt *h)
{
	if (!h)
		return;
	while (h->tables)
		spt_tables_close(h->tables);
	close(h->fd);
	free(h);
}

SPT_EXPORT int spt_fd(const struct spt *h)
{
	return h ? h->fd : fail(EINVAL);
}

SPT_EXPORT int spt_version(struct spt *h, struct spt_version *out)
{
	if (!out)
		return fail(EINVAL);
	memset(out, 0, sizeof(*out));
	return spt_call(h, SPT_IOCTL_VERSION, out, sizeof(*out));
}

SPT_EXPORT int spt_space_create(struct spt *h, uint32_t flags,
				struct spt_space_create *out)
{
	struct spt_space_create c = { .flags = flags };
	int ret = spt_call(h, SPT_IOCTL_SPACE_CREATE, &c, sizeof(c));

	if (ret)
		return ret;
	if (out)
		*out = c;
	return (int)c.out_space_id;
}

SPT_EXPORT int spt_space_destroy(struct spt *h, uint32_t space_id)
{
	struct spt_space_destroy d = { .space_id = space_id };

	return spt_call(h, SPT_IOCTL_SPACE_DESTROY, &d, sizeof(d));
}

SPT_EXPORT int spt_space_info(struct spt *h, uint32_t space_id,
			      struct spt_space_info *out)
{
	if (!out)
		return fail(EINVAL);
	memset(out, 0, sizeof(*out));
	out->space_id = space_id;
	return spt_call(h, SPT_IOCTL_SPACE_INFO, out, sizeof(*out));
}

SPT_EXPORT int spt_map(struct spt *h, uint32_t space_id, uint64_t va,
		       uint64_t length, uint32_t flags, uint32_t prot,
		       uint32_t cache, uint64_t phys, uint64_t *mapped)
{
	struct spt_map m = {
		.flags = flags, .space_id = space_id, .prot = prot,
		.cache = cache, .va = va, .length = length, .phys = phys,
	};
	int ret = spt_call(h, SPT_IOCTL_MAP, &m, sizeof(m));

	if (mapped)
		*mapped = m.out_mapped;
	return ret;
}

SPT_EXPORT int spt_map_share(struct spt *h, uint32_t space_id, uint64_t va,
			     uint64_t length, uint32_t src_space_id,
			     uint64_t src_va, uint32_t prot, uint32_t cache,
			     uint64_t *mapped)
{
	struct spt_map m = {
		.flags = SPT_MAP_SHARE, .space_id = space_id, .prot = prot,
		.cache = cache, .va = va, .length = length,
		.src_space_id = src_space_id, .src_va = src_va,
	};
	int ret = spt_call(h, SPT_IOCTL_MAP, &m, sizeof(m));

	if (mapped)
		*mapped = m.out_mapped;
	return ret;
}

SPT_EXPORT int spt_map_user(struct spt *h, uint32_t space_id, uint64_t va,
			    uint64_t length, const void *addr, uint32_t prot,
			    uint32_t cache, uint64_t *mapped)
{
	struct spt_map m = {
		.flags = SPT_MAP_USER | SPT_MAP_4K, .space_id = space_id,
		.prot = prot, .cache = cache, .va = va, .length = length,
		.src_va = (uintptr_t)addr,
	};
	int ret = spt_call(h, SPT_IOCTL_MAP, &m, sizeof(m));

	if (mapped)
		*mapped = m.out_mapped;
	return ret;
}

SPT_EXPORT int spt_mmap(struct spt *h, uint32_t space_id, uint64_t va,
			uint64_t length, int prot, void **addr)
{
	struct spt_mmap m = {
		.space_id = space_id, .va = va, .length = length,
	};
	struct spt_mmap r = { .flags = SPT_MMAP_RELEASE };
	void *p;
	int ret, err;

	if (!addr || (prot & ~(PROT_READ | PROT_WRITE)) || length > SIZE_MAX)
		return fail(EINVAL);
	ret = spt_call(h, SPT_IOCTL_MMAP, &m, sizeof(m));
	if (ret)
		return ret;
	p = mmap(NULL, length, prot, MAP_SHARED, h->fd, m.out_offset);
	err = p == MAP_FAILED ? errno : 0;
	/* The mapping holds the region from now on. */
	r.offset = m.out_offset;
	ret = spt_call(h, SPT_IOCTL_MMAP, &r, sizeof(r));
	if (err)
		return fail(err);
	if (ret) {
		munmap(p, length);
		return ret;
	}
	*addr = p;
	return 0;
}

SPT_EXPORT int spt_munmap(void *addr, uint64_t length)
{
	if (length > SIZE_MAX || munmap(addr, length))
		return fail(length > SIZE_MAX ? EINVAL : errno);
	return 0;
}

SPT_EXPORT int spt_map_4k(struct spt *h, uint32_t space_id, uint64_t va,
			  uint64_t length, uint32_t prot)
{
	return spt_map(h, space_id, va, length, SPT_MAP_4K, prot,
		       SPT_CACHE_MODE_WB, 0, NULL);
}

SPT_EXPORT int spt_map_2m(struct spt *h, uint32_t space_id, uint64_t va,
			  uint64_t length, uint32_t prot)
{
	return spt_map(h, space_id, va, length, SPT_MAP_2M, prot,
		       SPT_CACHE_MODE_WB, 0, NULL);
}

SPT_EXPORT int spt_map_largest(struct spt *h, uint32_t space_id, uint64_t va,
			       uint64_t length, uint32_t prot)
{
	return spt_map(h, space_id, va, length, SPT_MAP_LARGEST, prot,
		       SPT_CACHE_MODE_WB, 0, NULL);
}

SPT_EXPORT int spt_map_phys(struct spt *h, uint32_t space_id, uint64_t va,
			    uint64_t length, uint64_t phys, uint32_t prot)
{
	return spt_map(h, space_id, va, length, SPT_MAP_PHYS, prot,
		       SPT_CACHE_MODE_WB, phys, NULL);
}

SPT_EXPORT int spt_unmap(struct spt *h, uint32_t space_id, uint64_t va,
			 uint64_t length, uint64_t *unmapped, uint64_t *done)
{
	struct spt_unmap u = { .space_id = space_id, .va = va,
			       .length = length };
	int ret = spt_call(h, SPT_IOCTL_UNMAP, &u, sizeof(u));

	if (unmapped)
		*unmapped = u.out_unmapped;
	if (done)
		*done = u.out_done;
	return ret;
}

SPT_EXPORT int spt_protect(struct spt *h, uint32_t space_id, uint64_t va,
			   uint64_t length, uint32_t flags, uint32_t prot,
			   uint32_t cache, uint64_t *protected, uint64_t *done)
{
	struct spt_protect p = {
		.flags = flags, .space_id = space_id, .prot = prot,
		.cache = cache, .va = va, .length = length,
	};
	int ret = spt_call(h, SPT_IOCTL_PROTECT, &p, sizeof(p));

	if (protected)
		*protected = p.out_protected;
	if (done)
		*done = p.out_done;
	return ret;
}

SPT_EXPORT int spt_query(struct spt *h, uint32_t space_id, uint64_t va,
			 struct spt_query_entry *out)
{
	struct spt_query_va q = { .space_id = space_id, .va = va };
	int ret;

	if (!out)
		return fail(EINVAL);
	if (h && h->tables) {
		ret = spt_tables_try_query(h, space_id, &va, 1, out);
		if (ret <= 0)
			return ret;
	}
	ret = spt_call(h, SPT_IOCTL_QUERY, &q, sizeof(q));
	*out = q.out;
	return ret;
}

SPT_EXPORT int spt_query_batch(struct spt *h, uint32_t space_id,
			       const uint64_t *vas, size_t count,
			       struct spt_query_entry *out, size_t *done)
{
	size_t at = 0;
	int ret = 0;

	if (done)
		*done = 0;
	if (!count)
		return fail(EINVAL);
	if (h && h->tables && vas && out) {
		ret = spt_tables_try_query(h, space_id, vas, count, out);
		if (!ret && done)
			*done = count;
		if (ret <= 0)
			return ret;
	}
	while (at < count) {
		size_t cnt = count - at;
		struct spt_query_batch b = {
			.space_id = space_id,
			.vas = (uintptr_t)(vas + at),
			.entries = (uintptr_t)(out + at),
			.entry_size = sizeof(*out),
		};

		if (cnt > SPT_QUERY_BATCH_MAX)
			cnt = SPT_QUERY_BATCH_MAX;
		b.count = (uint32_t)cnt;
		ret = spt_call(h, SPT_IOCTL_QUERY_BATCH, &b, sizeof(b));
		at += ret ? b.out_done : cnt;
		if (done)
			*done = at;
		if (ret)
			return ret;
	}
	return 0;
}

SPT_EXPORT int spt_query_range(struct spt *h, uint32_t space_id, uint64_t va,
			       uint64_t length,
			       int (*fn)(const struct spt_query_entry *e,
					 void *arg),
			       void *arg)
{
	uint64_t end = va + length;
	struct spt_query_entry e;
	int ret;

	if (!fn || end < va)
		return fail(EINVAL);
	while (va < end) {
		ret = spt_query(h, space_id, va, &e);
		if (ret)
			return ret;
		ret = fn(&e, arg);
		if (ret)
			return fail(ret < 0 ? -ret : ret);
		if (e.va_end <= va)
			return fail(EPROTO);
		va = e.va_end;
	}
	return 0;
}

SPT_EXPORT int spt_query_runs(struct spt *h, uint32_t space_id, uint64_t va,
			      uint64_t length, uint32_t flags, void *out,
			      size_t max, size_t *nr, uint64_t *next)
{
	size_t esize = flags & SPT_QUERY_RANGE_COMPACT ? sizeof(uint64_t) :
			sizeof(struct spt_query_run);
	uint64_t end = va + length;
	size_t at = 0;
	int ret = 0;

	if (nr)
		*nr = 0;
	if (next)
		*next = va;
	if (!max || end < va)
		return fail(EINVAL);
	do {
		size_t cnt = max - at;
		struct spt_query_range r = {
			.flags = flags, .space_id = space_id,
			.entry_size = (uint32_t)esize, .va = va,
			.length = end - va,
			.entries = (uintptr_t)((char *)out + at * esize),
		};

		if (cnt > SPT_QUERY_RANGE_MAX)
			cnt = SPT_QUERY_RANGE_MAX;
		r.max_entries = (uint32_t)cnt;
		ret = spt_call(h, SPT_IOCTL_QUERY_RANGE, &r, sizeof(r));
		at += r.out_entries;
		if (nr)
			*nr = at;
		if (r.out_next > va && r.out_next <= end)
			va = r.out_next;
		if (next)
			*next = va;
		if (ret)
			return ret;
	} while (va < end && at < max);
	return 0;
}

static int spt_rw(struct spt *h, uint32_t flags, uint32_t space_id,
		  uint64_t va, void *buf, size_t length, size_t *done)
{
	size_t at = 0;
	int ret;

	if (done)
		*done = 0;
	if (!length)
		return fail(EINVAL);
	while (at < length) {
		struct spt_rw rw = {
			.flags = flags, .space_id = space_id, .va = va + at,
			.length = length - at < RW_CHUNK ? length - at :
							    RW_CHUNK,
			.buf = (uintptr_t)((char *)buf + at),
		};

		ret = spt_call(h, SPT_IOCTL_RW, &rw, sizeof(rw));
		at += rw.out_done;
		if (done)
			*done = at;
		if (ret)
			return ret;
	}
	return 0;
}

SPT_EXPORT int spt_read(struct spt *h, uint32_t space_id, uint64_t va,
			void *buf, size_t length, size_t *done)
{
	return spt_rw(h, 0, space_id, va, buf, length, done);
}

SPT_EXPORT int spt_write(struct spt *h, uint32_t space_id, uint64_t va,
			 const void *buf, size_t length, size_t *done)
{
	return spt_rw(h, SPT_RW_WRITE, space_id, va, (void *)buf, length,
		      done);
}

SPT_EXPORT int spt_stats(struct spt *h, uint32_t space_id,
			 struct spt_stats *out)
{
	/*
	 * The first release's struct, whatever the header now says: a caller
	 * built against it has no room for fields appended since.
	 */
	size_t size = offsetof(struct spt_stats, space_data_frames) +
		      sizeof(out->space_data_frames);

	if (!out)
		return fail(EINVAL);
	memset(out, 0, size);
	out->space_id = space_id;
	return spt_call(h, SPT_IOCTL_STATS, out, size);
}

SPT_EXPORT int spt_check(struct spt *h, uint32_t space_id, char *msg,
			 size_t msg_len)
{
	struct spt_check c = { .space_id = space_id };

	if (msg && msg_len) {
		c.msg = (uintptr_t)msg;
		c.msg_len = msg_len > UINT32_MAX ? UINT32_MAX :
						   (uint32_t)msg_len;
	}
	return spt_call(h, SPT_IOCTL_CHECK, &c, sizeof(c));
}

/*
 * The first releases of struct spt_load_op and struct spt_load: what a
 * caller of spt_load() and spt_load_run() built before LIBSHADOWPT_1.2
 * has room for.
 */
#define SPT_LOAD_OP_SIZE_V1 \
	(offsetof(struct spt_load_op, out_value) + sizeof(uint64_t))
#define SPT_LOAD_SIZE_V1 \
	(offsetof(struct spt_load, out_ns) + sizeof(uint64_t))
/* struct spt_load of LIBSHADOWPT_1.2 (spt_load2(), spt_load_run2()). */
#define SPT_LOAD_SIZE_V2 \
	(offsetof(struct spt_load, out_cpu_features) + sizeof(uint32_t))

static int spt_load_sized(struct spt *h, uint32_t space_id, uint32_t flags,
			  uint32_t cpu, void *ops, uint32_t nr_ops,
			  uint32_t op_size, struct spt_load *out,
			  size_t out_size, uint64_t pat)
{
	struct spt_load l = {
		.flags = flags, .space_id = space_id, .cpu = cpu,
		.nr_ops = nr_ops, .op_size = op_size,
		.ops = (uintptr_t)ops, .pat = pat,
	};
	int ret = spt_call(h, SPT_IOCTL_LOAD, &l, sizeof(l));

	if (out) {
		memcpy(out, &l, out_size);
		out->size = out_size;
	}
	return ret;
}

SPT_EXPORT int spt_load(struct spt *h, uint32_t space_id, uint32_t flags,
			uint32_t cpu, struct spt_load_op *ops, uint32_t nr_ops,
			struct spt_load *out)
{
	return spt_load_sized(h, space_id, flags, cpu, ops, nr_ops,
			      SPT_LOAD_OP_SIZE_V1, out, SPT_LOAD_SIZE_V1, 0);
}

SPT_EXPORT int spt_load2(struct spt *h, uint32_t space_id, uint32_t flags,
			 uint32_t cpu, struct spt_load_op *ops,
			 uint32_t nr_ops, struct spt_load *out)
{
	return spt_load_sized(h, space_id, flags, cpu, ops, nr_ops,
			      sizeof(*ops), out, SPT_LOAD_SIZE_V2, 0);
}

SPT_EXPORT int spt_load3(struct spt *h, uint32_t space_id, uint32_t flags,
			 uint32_t cpu, uint64_t pat, struct spt_load_op *ops,
			 uint32_t nr_ops, struct spt_load *out)
{
	return spt_load_sized(h, space_id, flags, cpu, ops, nr_ops,
			      sizeof(*ops), out, sizeof(*out), pat);
}

SPT_EXPORT int spt_user_run(struct spt *h, struct spt_user_run *run)
{
	if (!run)
		return fail(EINVAL);
	return spt_call(h, SPT_IOCTL_RUN, run, sizeof(*run));
}

SPT_EXPORT int spt_entry_bits(struct spt *h, struct spt_entry_bits *req)
{
	if (!req)
		return fail(EINVAL);
	return spt_call(h, SPT_IOCTL_ENTRY_BITS, req, sizeof(*req));
}

SPT_EXPORT struct spt_load_prog *spt_load_prog_new(void)
{
	struct spt_load_prog *p = calloc(1, sizeof(*p));

	if (!p)
		errno = ENOMEM;
	return p;
}

SPT_EXPORT void spt_load_prog_free(struct spt_load_prog *p)
{
	if (!p)
		return;
	free(p->ops);
	free(p);
}

SPT_EXPORT int spt_load_prog_add(struct spt_load_prog *p, uint32_t op,
				 uint64_t va, uint32_t width, uint64_t value,
				 uint64_t length, uint32_t prot)
{
	struct spt_load_op *o;

	if (!p)
		return fail(EINVAL);
	if (p->n == SPT_LOAD_MAX_OPS)
		return fail(E2BIG);
	if (p->n == p->cap) {
		uint32_t cap = p->cap ? p->cap * 2 : 16;

		o = realloc(p->ops, cap * sizeof(*o));
		if (!o)
			return fail(ENOMEM);
		p->ops = o;
		p->cap = cap;
	}
	o = &p->ops[p->n];
	memset(o, 0, sizeof(*o));
	o->op = op;
	o->va = va;
	o->width = width;
	o->value = value;
	o->length = length;
	o->prot = prot;
	return (int)p->n++;
}

SPT_EXPORT int spt_load_prog_read(struct spt_load_prog *p, uint64_t va,
				  uint32_t width)
{
	return spt_load_prog_add(p, SPT_LOAD_OP_READ, va, width, 0, 0, 0);
}

SPT_EXPORT int spt_load_prog_write(struct spt_load_prog *p, uint64_t va,
				   uint32_t width, uint64_t value)
{
	return spt_load_prog_add(p, SPT_LOAD_OP_WRITE, va, width, value, 0, 0);
}

SPT_EXPORT int spt_load_prog_fetch(struct spt_load_prog *p, uint64_t va)
{
	return spt_load_prog_add(p, SPT_LOAD_OP_FETCH, va, 0, 0, 0, 0);
}

SPT_EXPORT int spt_load_prog_unmap(struct spt_load_prog *p, uint64_t va,
				   uint64_t length)
{
	return spt_load_prog_add(p, SPT_LOAD_OP_UNMAP, va, 0, 0, length, 0);
}

SPT_EXPORT int spt_load_prog_protect(struct spt_load_prog *p, uint64_t va,
				     uint64_t length, uint32_t prot)
{
	return spt_load_prog_add(p, SPT_LOAD_OP_PROTECT, va, 0, 0, length,
				 prot);
}

SPT_EXPORT int spt_load_prog_map(struct spt_load_prog *p, uint64_t va,
				 uint64_t length, uint32_t prot)
{
	return spt_load_prog_add(p, SPT_LOAD_OP_MAP, va, 0, 0, length, prot);
}

SPT_EXPORT int spt_load_prog_invlpg(struct spt_load_prog *p, uint64_t va)
{
	return spt_load_prog_add(p, SPT_LOAD_OP_INVLPG, va, 0, 0, 0, 0);
}

SPT_EXPORT int spt_load_prog_flush(struct spt_load_prog *p, uint32_t method)
{
	return spt_load_prog_add(p, SPT_LOAD_OP_FLUSH, 0, 0, method, 0, 0);
}

SPT_EXPORT int spt_load_prog_ad_clear(struct spt_load_prog *p, uint64_t va)
{
	return spt_load_prog_add(p, SPT_LOAD_OP_AD_CLEAR, va, 0, 0, 0, 0);
}

SPT_EXPORT int spt_load_prog_ad_read(struct spt_load_prog *p, uint64_t va)
{
	return spt_load_prog_add(p, SPT_LOAD_OP_AD_READ, va, 0, 0, 0, 0);
}

SPT_EXPORT int spt_load_prog_set_flags(struct spt_load_prog *p, uint32_t i,
				       uint32_t flags)
{
	if (!p || i >= p->n)
		return fail(EINVAL);
	p->ops[i].flags = flags;
	return 0;
}

SPT_EXPORT uint32_t spt_load_prog_len(const struct spt_load_prog *p)
{
	return p ? p->n : 0;
}

SPT_EXPORT const struct spt_load_op *
spt_load_prog_op(const struct spt_load_prog *p, uint32_t i)
{
	return p && i < p->n ? &p->ops[i] : NULL;
}

SPT_EXPORT int spt_load_run(struct spt *h, uint32_t space_id,
			    struct spt_load_prog *p, uint32_t flags,
			    uint32_t cpu, struct spt_load *out)
{
	if (!p)
		return fail(EINVAL);
	return spt_load_sized(h, space_id, flags, cpu, p->ops, p->n,
			      sizeof(*p->ops), out, SPT_LOAD_SIZE_V1, 0);
}

SPT_EXPORT int spt_load_run2(struct spt *h, uint32_t space_id,
			     struct spt_load_prog *p, uint32_t flags,
			     uint32_t cpu, struct spt_load *out)
{
	if (!p)
		return fail(EINVAL);
	return spt_load_sized(h, space_id, flags, cpu, p->ops, p->n,
			      sizeof(*p->ops), out, SPT_LOAD_SIZE_V2, 0);
}
