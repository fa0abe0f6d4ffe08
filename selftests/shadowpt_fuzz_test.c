// SPDX-License-Identifier: GPL-2.0
/*
 * shadowpt_fuzz_test: a seeded, multi-threaded ioctl fuzzer.
 *
 * Worker threads (SPT_FUZZ_THREADS, default 4, pinned round-robin to the
 * online CPUs so that calls really run in parallel even though CPU 1 is
 * isolated) issue random SPT_IOCTL_* calls for SPT_FUZZ_SECONDS (default 60)
 * from a seed (SPT_FUZZ_SEED, default: time; always printed). Each call is
 * one of:
 *  - valid: a well-formed call on a space of this run (tiny VA region, so
 *    that maps, unmaps, protects, reads, writes, queries and load windows on
 *    the isolated CPU really collide); its result must be success or an
 *    errno the uAPI allows for that command;
 *  - single fault: a valid call with exactly one thing wrong (size below
 *    the struct, non-zero tail, unknown flag, non-zero reserved field,
 *    unaligned / zero / overflowing / non-canonical range, bad prot or
 *    cache, bad size flags, bad count/entry_size/op_size, a struct pointer
 *    that is NULL, PROT_NONE, a kernel or non-canonical address or that
 *    straddles into a PROT_NONE page, a destroyed id, an unknown ioctl
 *    number): the exact errno is checked;
 *  - chaos: every field from a set of "interesting" values (pointers only
 *    from a safe set: the thread's scratch buffers, NULL, a never-mapped
 *    hole below mmap_min_addr, a PROT_NONE page, kernel and non-canonical
 *    addresses); only the errno's membership in the command's set is
 *    checked.
 * Spaces come and go (also fd-owned ones on four shared descriptors, which
 * threads replace with dup2() while others are inside calls on them); a
 * netlink thread dumps spaces and mappings meanwhile. Any EUCLEAN from
 * SPT_IOCTL_CHECK or SPT_FAULT_MISMATCH from a load window fails the run.
 *
 * Afterwards: SPT_IOCTL_CHECK on every live space (from a netlink dump),
 * every live space must be one this run created, and once they are all
 * destroyed the pool counters are back to their values at the start. The
 * op counts per ioctl and errno are printed as a TAP diagnostic table.
 */
#include <pthread.h>
#include <sched.h>
#include <stdarg.h>
#include <stdatomic.h>

#include "shadowpt_nl.h"

#define NR_CMDS		18
#define CMD_BADNR	NR_CMDS		/* row of the table: unknown numbers */
#define NR_ROWS		(NR_CMDS + 3)
#define ROW_NL_SPACE	(NR_CMDS + 1)
#define ROW_NL_MAPPING	(NR_CMDS + 2)
#define NR_ERRNO	134
#define NR_SLOTS	4
#define MAX_THREADS	64
#define MAX_LIVE	40
#define MAX_DEAD	4096
#define SCRATCH		(2 * 4096)
#define DATA_BYTES	(64 * 1024)
#define BATCH_MAX	256
#define OPS_MAX		32
#define FAIL_LOG_MAX	25

static const char *const row_name[NR_ROWS] = {
	"VERSION", "SPACE_CREATE", "SPACE_DESTROY", "SPACE_INFO", "MAP",
	"UNMAP", "PROTECT", "QUERY", "QUERY_BATCH", "RW", "STATS", "CHECK",
	"LOAD", "QUERY_RANGE", "RUN", "ENTRY_BITS", "MMAP", "TABLES",
	"(bad number)", "nl SPACE_GET", "nl MAPPING_GET",
};

static const unsigned long cmd_nr[NR_CMDS] = {
	SPT_IOCTL_VERSION, SPT_IOCTL_SPACE_CREATE, SPT_IOCTL_SPACE_DESTROY,
	SPT_IOCTL_SPACE_INFO, SPT_IOCTL_MAP, SPT_IOCTL_UNMAP,
	SPT_IOCTL_PROTECT, SPT_IOCTL_QUERY, SPT_IOCTL_QUERY_BATCH,
	SPT_IOCTL_RW, SPT_IOCTL_STATS, SPT_IOCTL_CHECK, SPT_IOCTL_LOAD,
	SPT_IOCTL_QUERY_RANGE, SPT_IOCTL_RUN, SPT_IOCTL_ENTRY_BITS,
	SPT_IOCTL_MMAP,
	SPT_IOCTL_TABLES,
};

enum {
	C_VERSION, C_CREATE, C_DESTROY, C_INFO, C_MAP, C_UNMAP, C_PROTECT,
	C_QUERY, C_BATCH, C_RW, C_STATS, C_CHECK, C_LOAD, C_RANGE, C_RUN,
	C_BITS, C_MMAP, C_TABLES,
};

static const size_t cmd_size[NR_CMDS] = {
	sizeof(struct spt_version), sizeof(struct spt_space_create),
	sizeof(struct spt_space_destroy), sizeof(struct spt_space_info),
	sizeof(struct spt_map), sizeof(struct spt_unmap),
	sizeof(struct spt_protect), sizeof(struct spt_query_va),
	sizeof(struct spt_query_batch), sizeof(struct spt_rw),
	sizeof(struct spt_stats), sizeof(struct spt_check),
	sizeof(struct spt_load), sizeof(struct spt_query_range),
	sizeof(struct spt_user_run), sizeof(struct spt_entry_bits),
	sizeof(struct spt_mmap),
	sizeof(struct spt_tables),
};

/* spt_version grew after its first release (out_page_sizes). */
#define SPT_VERSION_SIZE0 offsetofend(struct spt_version, out_user_end)
/* spt_stats too (the reclaim_* fields). */
#define SPT_STATS_SIZE0 offsetofend(struct spt_stats, space_data_frames)
/* spt_load too (out_tsc_khz, out_cpu_features). */
#define SPT_LOAD_SIZE0 offsetofend(struct spt_load, out_ns)

/* spt_map too (the SPT_MAP_SHARE source fields). */
#define SPT_MAP_SIZE0 offsetofend(struct spt_map, out_mapped)

#define MAP_FLAGS (SPT_MAP_4K | SPT_MAP_2M | SPT_MAP_LARGEST | SPT_MAP_PHYS | \
		   SPT_MAP_REPLACE | SPT_MAP_SHARE | SPT_MAP_USER)
static const __u32 cmd_flags[NR_CMDS] = {
	0, SPT_SPACE_FD_OWNED, 0, 0, MAP_FLAGS, 0, SPT_PROTECT_CACHE, 0, 0,
	SPT_RW_WRITE, 0, 0, SPT_LOAD_CPU | SPT_LOAD_FORCE,
	SPT_QUERY_RANGE_COMPACT, SPT_LOAD_CPU | SPT_LOAD_FORCE,
	SPT_ENTRY_BITS_RSVD,
	SPT_MMAP_RELEASE, 0,
};

/* Offset of __reserved, 0 if the command has none. */
static const size_t cmd_resv[NR_CMDS] = {
	[C_DESTROY] = offsetof(struct spt_space_destroy, __reserved),
	[C_MAP] = offsetof(struct spt_map, __reserved),
	[C_UNMAP] = offsetof(struct spt_unmap, __reserved),
	[C_PROTECT] = offsetof(struct spt_protect, __reserved),
	[C_QUERY] = offsetof(struct spt_query_va, __reserved),
	[C_RW] = offsetof(struct spt_rw, __reserved),
	[C_STATS] = offsetof(struct spt_stats, __reserved),
	[C_MMAP] = offsetof(struct spt_mmap, __reserved),
};

#define EB(e)	(1ULL << (e))
#define E_BASE	(EB(EINVAL) | EB(E2BIG) | EB(EFAULT))
/* What each command may fail with here (root, allow_phys=1, no signals). */
static const __u64 cmd_errs[NR_CMDS] = {
	[C_VERSION] = E_BASE,
	[C_CREATE] = E_BASE | EB(ENOMEM) | EB(ENOSPC),
	[C_DESTROY] = E_BASE | EB(ENOENT) | EB(EBUSY),
	[C_INFO] = E_BASE | EB(ENOENT),
	[C_MAP] = E_BASE | EB(ENOENT) | EB(EEXIST) | EB(ENOMEM) |
		  EB(ENOSPC) | EB(EBUSY) | EB(ENXIO),
	[C_UNMAP] = E_BASE | EB(ENOENT) | EB(ENOMEM) | EB(EBUSY),
	[C_PROTECT] = E_BASE | EB(ENOENT) | EB(ENOMEM) | EB(EBUSY),
	[C_QUERY] = E_BASE | EB(ENOENT),
	[C_BATCH] = E_BASE | EB(ENOENT) | EB(ENOMEM),
	[C_RW] = E_BASE | EB(ENOENT) | EB(ENXIO) | EB(EACCES) | EB(ENOMEM),
	[C_STATS] = E_BASE | EB(ENOENT),
	[C_CHECK] = E_BASE | EB(ENOENT),
	[C_LOAD] = E_BASE | EB(ENOENT) | EB(ENOMEM) | EB(ENOSPC) |
		   EB(ENODEV) | EB(EXDEV) | EB(EBUSY) | EB(EEXIST),
	[C_RANGE] = E_BASE | EB(ENOENT) | EB(ENOMEM),
	/* allow_runs=1 (set by main); EFAULT: code or stack not mapped */
	/* and EOPNOTSUPP for SPT_BITS_RSVD (MAXPHYADDR 52): one_call() */
	[C_BITS] = E_BASE | EB(ENOENT),
	/* ENXIO: a page not mapped; EINVAL also untracked or pinned */
	[C_MMAP] = E_BASE | EB(ENOENT) | EB(ENOMEM) | EB(ENXIO),
	[C_RUN] = E_BASE | EB(ENOENT) | EB(ENOMEM) | EB(ENODEV) |
		  EB(EXDEV),
	[C_TABLES] = E_BASE | EB(ENOENT) | EB(ENOMEM) | EB(EMFILE),
};

/* ---- configuration and shared state ------------------------------------ */

static unsigned long long seed;
static unsigned int nr_threads = 4;
static unsigned int seconds = 60;
static __u64 user_end;
static int nr_online = 1;

static int slots[NR_SLOTS];	/* shared descriptors, replaced by dup2() */
static __u32 anchors[NR_SLOTS];	/* id-owned, never destroyed meanwhile */
/*
 * Unmapped memory that stays unmapped: 16 KiB below vm.mmap_min_addr
 * (64 KiB on Debian), where no mmap() without MAP_FIXED ever places
 * anything. (A munmap()ed region is not: a thread stack created later
 * can land there, and the kernel's answers written "into the hole" then
 * smash that stack.)
 */
static char *const hole = (char *)0x4000;
static char *protnone;		/* PROT_NONE */
static atomic_bool stop;

static pthread_mutex_t reg_lock = PTHREAD_MUTEX_INITIALIZER;
static struct {
	__u32 id;
	int slot;		/* fd-owned by slots[slot], or -1 */
} live[MAX_LIVE];
static unsigned int nr_live;
static __u32 dead[MAX_DEAD];	/* destroyed for sure: ENOENT */
static unsigned int nr_dead;
static __u32 *created;		/* every id this run created */
static unsigned int nr_created, cap_created;
static bool created_lost;	/* out of memory: the check below is off */

static pthread_mutex_t log_lock = PTHREAD_MUTEX_INITIALIZER;
static atomic_ulong nr_fail_log;

struct thr {
	int idx;
	pthread_t tid;
	__u64 rng;
	char *scratch;		/* SCRATCH bytes RW, then a PROT_NONE page */
	char *data;		/* RW buffer */
	__u64 *vas;
	struct spt_query_entry *ents;
	struct spt_load_op *ops;
	char msg[256];
	unsigned long count[NR_ROWS][NR_ERRNO + 1];
	unsigned long calls, det_checks, det_fail, bad_errno, corrupt;
};

static struct thr thr[MAX_THREADS + 1];

/* ---- random numbers ----------------------------------------------------- */

static __u64 splitmix(__u64 *x)
{
	__u64 z = (*x += 0x9e3779b97f4a7c15ULL);

	z = (z ^ (z >> 30)) * 0xbf58476d1ce4e5b9ULL;
	z = (z ^ (z >> 27)) * 0x94d049bb133111ebULL;
	return z ^ (z >> 31);
}

static __u64 rnd(struct thr *t)
{
	return splitmix(&t->rng);
}

static __u64 below(struct thr *t, __u64 n)
{
	return n ? rnd(t) % n : 0;
}

static bool chance(struct thr *t, unsigned int percent)
{
	return below(t, 100) < percent;
}

/* The region where valid calls collide: 64 MiB at SPT_TEST_VA. */
#define REGION		(64 * SZ_1M)

static __u64 rand_va(struct thr *t)
{
	unsigned int r = below(t, 100);

	if (r < 75)
		return SPT_TEST_VA + below(t, REGION / SZ_4K) * SZ_4K;
	if (r < 85)
		return SPT_TEST_VA + below(t, REGION / SZ_2M) * SZ_2M;
	if (r < 90)
		return user_end - SZ_4K * (1 + below(t, 16));
	if (r < 95)	/* around a 512 GiB / 1 GiB boundary */
		return SPT_TEST_VA + (r & 1 ? SZ_512G : SZ_1G) -
		       SZ_4K * (1 + below(t, 8));
	return below(t, user_end) & ~(SZ_4K - 1);
}

static __u64 rand_len(struct thr *t)
{
	unsigned int r = below(t, 1000);

	if (r < 600)
		return SZ_4K * (1 + below(t, 32));
	if (r < 800)
		return SZ_2M * (1 + below(t, 2));
	if (r < 950)
		return SZ_4K * (1 + below(t, 2048));
	if (r < 995)
		return SZ_2M * (1 + below(t, 64));
	return SZ_4K << below(t, 36);
}

static __u64 rand_ptr(struct thr *t, void *good)
{
	switch (below(t, 8)) {
	case 0: return 0;
	case 1: return (uintptr_t)hole + below(t, 4) * 1024;
	case 2: return (uintptr_t)protnone;
	case 3: return 0xffffffff81000000ULL;
	case 4: return 0x8000000000000000ULL + SZ_4K * below(t, 4);
	case 5: return (uintptr_t)t->scratch + SCRATCH - 8;	/* straddles */
	default: return (uintptr_t)good;
	}
}

static __u64 interesting64(struct thr *t)
{
	static const __u64 v[] = {
		0, 1, 4095, 4096, 4097, SZ_2M, SZ_2M + 4096, SZ_1G, SZ_512G,
		1ULL << 47, (1ULL << 47) - 4096, 1ULL << 56,
		(1ULL << 56) - 4096, 1ULL << 63, ~0ULL, ~0ULL - 4095,
		0x00007ffffffff000ULL, 0xffff800000000000ULL, SZ_16M,
		SZ_16M + 1, SPT_TEST_VA, SPT_TEST_PHYS,
	};

	switch (below(t, 4)) {
	case 0: return rnd(t);
	case 1: return rnd(t) & ~(SZ_4K - 1);
	default: return v[below(t, sizeof(v) / sizeof(v[0]))];
	}
}

static __u32 interesting32(struct thr *t)
{
	static const __u32 v[] = {
		0, 1, 2, 3, 4, 5, 7, 8, 16, 31, 32, 255, 256, 4096, 4097,
		SPT_QUERY_BATCH_MAX, SPT_QUERY_BATCH_MAX + 1, 0x7fffffff,
		0x80000000, 0xffffffff,
	};

	if (chance(t, 30))
		return rnd(t);
	return v[below(t, sizeof(v) / sizeof(v[0]))];
}

/* ---- spaces ------------------------------------------------------------- */

enum idkind { ID_ANCHOR, ID_LIVE, ID_DEAD };

static void reg_add(__u32 id, int slot)
{
	pthread_mutex_lock(&reg_lock);
	if (nr_created == cap_created) {
		unsigned int cap = cap_created ? 2 * cap_created : 4096;
		__u32 *v = realloc(created, cap * sizeof(*v));

		if (v) {
			created = v;
			cap_created = cap;
		}
	}
	if (nr_created < cap_created)
		created[nr_created++] = id;
	else
		created_lost = true;
	if (nr_live < MAX_LIVE) {
		live[nr_live].id = id;
		live[nr_live].slot = slot;
		nr_live++;
	}
	pthread_mutex_unlock(&reg_lock);
}

static void reg_dead(__u32 id)
{
	unsigned int i;

	pthread_mutex_lock(&reg_lock);
	for (i = 0; i < nr_live; i++) {
		if (live[i].id == id) {
			live[i] = live[--nr_live];
			break;
		}
	}
	if (nr_dead < MAX_DEAD)
		dead[nr_dead++] = id;
	pthread_mutex_unlock(&reg_lock);
}

/* Descriptor @slot was replaced: its fd-owned spaces are going away. */
static void reg_forget_slot(int slot)
{
	unsigned int i;

	pthread_mutex_lock(&reg_lock);
	for (i = 0; i < nr_live;) {
		if (live[i].slot == slot)
			live[i] = live[--nr_live];
		else
			i++;
	}
	pthread_mutex_unlock(&reg_lock);
}

static __u32 pick_id(struct thr *t, enum idkind kind)
{
	__u32 id = 0;

	pthread_mutex_lock(&reg_lock);
	switch (kind) {
	case ID_ANCHOR:
		id = anchors[below(t, NR_SLOTS)];
		break;
	case ID_LIVE:
		if (nr_live)
			id = live[below(t, nr_live)].id;
		else
			id = anchors[below(t, NR_SLOTS)];
		break;
	case ID_DEAD:
		if (nr_dead && chance(t, 70))
			id = dead[below(t, nr_dead)];
		else	/* never allocated in a run: ids go up from 1 */
			id = chance(t, 50) ? 0 : 0xffffff00U + below(t, 256);
		break;
	}
	pthread_mutex_unlock(&reg_lock);
	return id;
}

static bool is_anchor(__u32 id)
{
	unsigned int i;

	for (i = 0; i < NR_SLOTS; i++)
		if (anchors[i] == id)
			return true;
	return false;
}

static __u32 rand_id(struct thr *t)
{
	unsigned int r = below(t, 100);

	if (r < 45)
		return pick_id(t, ID_ANCHOR);
	if (r < 85)
		return pick_id(t, ID_LIVE);
	return pick_id(t, ID_DEAD);
}

/* ---- recording ---------------------------------------------------------- */

static unsigned long spt_mmap_min_addr(void)
{
	unsigned long v = 0;
	FILE *f = fopen("/proc/sys/vm/mmap_min_addr", "r");

	if (f) {
		if (fscanf(f, "%lu", &v) != 1)
			v = 0;
		fclose(f);
	}
	return v;
}

static int spt_set_mmap_min_addr(unsigned long v)
{
	FILE *f = fopen("/proc/sys/vm/mmap_min_addr", "w");
	int ret;

	if (!f)
		return -1;
	ret = fprintf(f, "%lu\n", v) < 0;
	ret |= fclose(f) != 0;
	return ret || spt_mmap_min_addr() != v ? -1 : 0;
}

static void fail_log(struct thr *t, const char *fmt, ...)
{
	va_list ap;

	if (atomic_fetch_add(&nr_fail_log, 1) >= FAIL_LOG_MAX)
		return;
	pthread_mutex_lock(&log_lock);
	printf("# thread %d: ", t->idx);
	va_start(ap, fmt);
	vprintf(fmt, ap);
	va_end(ap);
	printf("\n");
	fflush(stdout);
	pthread_mutex_unlock(&log_lock);
}

static void count(struct thr *t, int row, int ret, int err)
{
	int e = ret ? err : 0;

	if (e < 0 || e > NR_ERRNO)
		e = NR_ERRNO;
	t->count[row][e]++;
	t->calls++;
}

/* ---- issuing a call ----------------------------------------------------- */

enum where {
	W_NORMAL, W_STRADDLE, W_NULL, W_HOLE, W_PROTNONE, W_KERNEL,
	W_NONCANON, W_NR,
};

/*
 * Put @k (the struct, @ksize bytes) at the chosen place with size field
 * @usize: past ksize the bytes are zero, or one of them @dirty. Call ioctl
 * @nr and copy the kernel's answer back to @k. Returns the ioctl's result.
 */
static int call(struct thr *t, int fd, unsigned long nr, void *k,
		size_t ksize, __u32 usize, enum where w, bool dirty, int *err)
{
	char *p = t->scratch;
	size_t n;
	int ret;

	memcpy(k, &usize, sizeof(usize));
	switch (w) {
	case W_NORMAL:
		n = usize < SCRATCH ? usize : SCRATCH;
		memset(p, 0, n > ksize ? n : ksize);
		memcpy(p, k, ksize);
		if (dirty && n > ksize)
			p[ksize + below(t, n - ksize)] = 1 + below(t, 255);
		break;
	case W_STRADDLE:
		/* The first bytes (at least the size) readable, then a hole. */
		n = 4 + below(t, ksize - 4);
		p = t->scratch + SCRATCH - n;
		memcpy(p, k, n);
		break;
	case W_NULL: p = NULL; break;
	case W_HOLE: p = hole; break;
	case W_PROTNONE: p = protnone; break;
	case W_KERNEL: p = (char *)0xffffffff81000000ULL; break;
	default: p = (char *)0x8000000000000000ULL; break;
	}
	ret = ioctl(fd, nr, p);
	*err = ret ? errno : 0;
	if (w == W_NORMAL)
		memcpy(k, p, ksize);
	return ret;
}

/* ---- building calls ----------------------------------------------------- */

union ucmd {
	struct spt_version version;
	struct spt_space_create create;
	struct spt_space_destroy destroy;
	struct spt_space_info info;
	struct spt_map map;
	struct spt_unmap unmap;
	struct spt_protect protect;
	struct spt_query_va query;
	struct spt_query_batch batch;
	struct spt_rw rw;
	struct spt_stats stats;
	struct spt_check check;
	struct spt_load load;
	struct spt_query_range range;
	struct spt_user_run run;
	struct spt_entry_bits bits;
	struct spt_mmap mmap;
	struct spt_tables tables;
	char raw[512];
};

static __u32 rand_prot(struct thr *t)
{
	return below(t, SPT_PROT_SETTABLE + 1);
}

/* The CPU has INVPCID: FLUSH ops may ask for it (else EOPNOTSUPP). */
static bool has_invpcid(void)
{
	static int has = -1;
	char line[4096];
	FILE *f;

	if (has >= 0)
		return has;
	has = 0;
	f = fopen("/proc/cpuinfo", "r");
	while (f && fgets(line, sizeof(line), f))
		if (!strncmp(line, "flags", 5)) {
			has = strstr(line, " invpcid") != NULL;
			break;
		}
	if (f)
		fclose(f);
	return has;
}

/* The CPU has SMAP: READ/WRITE ops may ask for SPT_LOAD_OP_F_SMAP. */
static bool has_smap(void)
{
	static int has = -1;
	char line[4096];
	FILE *f;

	if (has >= 0)
		return has;
	has = 0;
	f = fopen("/proc/cpuinfo", "r");
	while (f && fgets(line, sizeof(line), f))
		if (!strncmp(line, "flags", 5)) {
			has = strstr(line, " smap") != NULL;
			break;
		}
	if (f)
		fclose(f);
	return has;
}

static void fill_load_ops(struct thr *t, unsigned int nr)
{
	unsigned int i;

	memset(t->ops, 0, nr * sizeof(*t->ops));
	for (i = 0; i < nr; i++) {
		struct spt_load_op *op = &t->ops[i];
		__u64 va = SPT_TEST_VA + below(t, REGION / SZ_4K) * SZ_4K;

		op->op = 1 + below(t, SPT_LOAD_OP_AD_READ);
		switch (op->op) {
		case SPT_LOAD_OP_READ:
		case SPT_LOAD_OP_WRITE:
			op->width = 1U << below(t, 4);
			op->va = va + below(t, SZ_4K / op->width) * op->width;
			if (op->op == SPT_LOAD_OP_WRITE)
				op->value = rnd(t);
			/* At CPL 3 (allow_runs=1), or with SMAP in force. */
			if (chance(t, 20))
				op->flags = SPT_LOAD_OP_F_USER;
			else if (chance(t, 20) && has_smap())
				op->flags = SPT_LOAD_OP_F_SMAP;
			break;
		case SPT_LOAD_OP_FETCH:
			op->va = va;
			if (chance(t, 20))
				op->flags = SPT_LOAD_OP_F_USER;
			break;
		case SPT_LOAD_OP_INVLPG:
		case SPT_LOAD_OP_AD_CLEAR:
		case SPT_LOAD_OP_AD_READ:
			op->va = va;
			break;
		case SPT_LOAD_OP_FLUSH:
			op->value = has_invpcid() ? below(t, 3) : 0;
			break;
		default:
			op->va = va;
			op->length = SZ_4K * (1 + below(t, 16));
			if (op->op != SPT_LOAD_OP_UNMAP)
				op->prot = rand_prot(t);
			/* Root with allow_phys=1: NOFLUSH UNMAP is allowed. */
			if (chance(t, 30))
				op->flags = SPT_LOAD_OP_F_NOFLUSH;
			break;
		}
	}
}

/* A well-formed call of @cmd on space @id. */
static void fill_valid(struct thr *t, int cmd, union ucmd *u, __u32 id)
{
	memset(u, 0, sizeof(*u));
	switch (cmd) {
	case C_CREATE:
		u->create.flags = chance(t, 50) ? SPT_SPACE_FD_OWNED : 0;
		break;
	case C_DESTROY:
		u->destroy.space_id = id;
		break;
	case C_INFO:
		u->info.space_id = id;
		break;
	case C_MAP:
		u->map.space_id = id;
		u->map.prot = rand_prot(t);
		u->map.va = rand_va(t);
		u->map.length = rand_len(t);
		switch (below(t, 10)) {
		case 0: case 1: case 2: case 3:
			u->map.flags = SPT_MAP_4K;
			break;
		case 4: case 5:
			u->map.flags = SPT_MAP_2M;
			u->map.va &= ~(SZ_2M - 1);
			u->map.length = (u->map.length + SZ_2M - 1) &
					~(SZ_2M - 1);
			break;
		case 6: case 7: case 8:
			u->map.flags = SPT_MAP_LARGEST;
			break;
		default:
			u->map.flags = SPT_MAP_PHYS;
			u->map.phys = SPT_TEST_PHYS + below(t, 512) * SZ_4K;
			u->map.cache = below(t, SPT_CACHE_MODE_PAT7 + 1);
			break;
		}
		if (u->map.va + u->map.length > user_end ||
		    u->map.va + u->map.length < u->map.va)
			u->map.length = user_end - u->map.va;
		if (chance(t, 30))
			u->map.flags |= SPT_MAP_REPLACE;
		if (chance(t, 15)) {
			/* A share from a space (maybe this one) and a VA. */
			u->map.flags = SPT_MAP_SHARE;
			u->map.phys = 0;
			u->map.src_space_id = chance(t, 30) ? id : rand_id(t);
			u->map.src_va = chance(t, 50) ? rand_va(t) :
					u->map.va ^ SZ_2M;
			if (u->map.length > user_end - u->map.src_va)
				u->map.length = user_end - u->map.src_va;
			if (!u->map.length)
				u->map.length = SZ_4K;
			if (u->map.length > 8 * SZ_2M)
				u->map.length = 8 * SZ_2M;
			if (u->map.va + u->map.length > user_end)
				u->map.va = user_end - u->map.length;
			if (u->map.src_va + u->map.length > user_end)
				u->map.src_va = user_end - u->map.length;
		} else if (chance(t, 10)) {
			/*
			 * Its own scratch pages pinned (SPT_MAP_USER); the
			 * page after them is PROT_NONE (EFAULT).
			 */
			u->map.flags = SPT_MAP_USER | SPT_MAP_4K;
			u->map.phys = 0;
			u->map.src_space_id = 0;
			u->map.src_va = (uintptr_t)t->scratch +
					below(t, 3) * SZ_4K;
			u->map.length = (1 + below(t, 3)) * SZ_4K;
			if (u->map.va + u->map.length > user_end)
				u->map.va = user_end - u->map.length;
		}
		break;
	case C_UNMAP:
		u->unmap.space_id = id;
		u->unmap.va = rand_va(t);
		u->unmap.length = chance(t, 5) ? user_end - u->unmap.va :
				  rand_len(t);
		if (u->unmap.length > user_end - u->unmap.va)
			u->unmap.length = user_end - u->unmap.va;
		break;
	case C_PROTECT:
		u->protect.space_id = id;
		u->protect.prot = rand_prot(t);
		if (chance(t, 30)) {
			u->protect.flags = SPT_PROTECT_CACHE;
			u->protect.cache = below(t, SPT_CACHE_MODE_PAT7 + 1);
		}
		u->protect.va = rand_va(t);
		u->protect.length = rand_len(t);
		if (u->protect.length > user_end - u->protect.va)
			u->protect.length = user_end - u->protect.va;
		break;
	case C_QUERY:
		u->query.space_id = id;
		u->query.va = rand_va(t) + below(t, SZ_4K);
		break;
	case C_BATCH: {
		unsigned int i, n = 1 + below(t, BATCH_MAX);

		for (i = 0; i < n; i++)
			t->vas[i] = rand_va(t) + below(t, SZ_4K);
		u->batch.space_id = id;
		u->batch.count = n;
		u->batch.vas = (uintptr_t)t->vas;
		u->batch.entries = (uintptr_t)t->ents;
		u->batch.entry_size = sizeof(struct spt_query_entry);
		break;
	}
	case C_RW:
		u->rw.space_id = id;
		u->rw.flags = chance(t, 50) ? SPT_RW_WRITE : 0;
		u->rw.va = rand_va(t) + below(t, SZ_4K);
		u->rw.length = 1 + below(t, DATA_BYTES);
		if (u->rw.length > user_end - u->rw.va)	/* valid: inside */
			u->rw.length = user_end - u->rw.va;
		u->rw.buf = (uintptr_t)t->data;
		break;
	case C_STATS:
		u->stats.space_id = chance(t, 30) ? 0 : id;
		break;
	case C_CHECK:
		u->check.space_id = id;
		u->check.msg_len = sizeof(t->msg);
		u->check.msg = (uintptr_t)t->msg;
		break;
	case C_LOAD: {
		unsigned int n = 1 + below(t, OPS_MAX);

		fill_load_ops(t, n);
		u->load.space_id = id;
		u->load.nr_ops = n;
		u->load.op_size = sizeof(struct spt_load_op);
		u->load.ops = (uintptr_t)t->ops;
		break;
	}
	case C_TABLES:
		u->tables.space_id = id;
		break;
	case C_RUN:
		/*
		 * Whatever the other calls left in the region: mostly not
		 * user+exec (EFAULT), else random bytes run at CPL 3 until
		 * an exception, a syscall or the time bound.
		 */
		u->run.space_id = id;
		u->run.rip = rand_va(t) + below(t, SZ_4K);
		u->run.regs[SPT_REG_RSP] = rand_va(t) + below(t, SZ_4K);
		u->run.rflags = rnd(t) & SPT_RUN_RFLAGS_ALLOWED;
		break;
	case C_BITS: {
		/* The SPT_BITS_* classes but the key and the reserved bit. */
		static const __u64 cls[] = {
			SPT_BITS_W, SPT_BITS_U, SPT_BITS_PWT, SPT_BITS_PCD,
			SPT_BITS_NX, 1ULL << 52, 1ULL << 57,
		};
		unsigned int i;

		u->bits.space_id = id;
		u->bits.level = 1 + below(t, 4);	/* every space has 4 */
		for (i = 0; i < sizeof(cls) / sizeof(cls[0]); i++) {
			unsigned int r = below(t, 4);

			if (r == 0)
				u->bits.set |= cls[i];
			else if (r == 1)
				u->bits.clear |= cls[i];
		}
		if (u->bits.level == 1 && chance(t, 20))
			u->bits.set |= (__u64)below(t, 16) << 59;
		if (u->bits.level == 1 && chance(t, 20))
			u->bits.clear |= SPT_BITS_PKEY & ~u->bits.set;
		if (chance(t, 10)) {
			u->bits.flags = SPT_ENTRY_BITS_RSVD;
			u->bits.set |= SPT_BITS_RSVD;
		} else if (chance(t, 30)) {
			u->bits.clear |= SPT_BITS_RSVD;
		}
		u->bits.va = rand_va(t);
		u->bits.length = rand_len(t);
		if (u->bits.length > user_end - u->bits.va)
			u->bits.length = user_end - u->bits.va;
		break;
	}
	case C_MMAP:
		/* A region of up to 64 pages; released after a look. */
		u->mmap.space_id = id;
		u->mmap.va = rand_va(t);
		u->mmap.length = SZ_4K * (1 + below(t, 64));
		if (u->mmap.length > user_end - u->mmap.va)
			u->mmap.length = user_end - u->mmap.va;
		break;
	case C_RANGE:
		/* t->ents holds BATCH_MAX runs, or 5 words per entry. */
		u->range.space_id = id;
		u->range.va = rand_va(t);
		u->range.length = chance(t, 5) ? user_end - u->range.va :
				  rand_len(t);
		if (u->range.length > user_end - u->range.va)
			u->range.length = user_end - u->range.va;
		u->range.entries = (uintptr_t)t->ents;
		if (chance(t, 50)) {
			u->range.flags = SPT_QUERY_RANGE_COMPACT;
			u->range.entry_size = 8;
			u->range.max_entries = 1 + below(t, BATCH_MAX * 5);
		} else {
			u->range.entry_size = sizeof(struct spt_query_run);
			u->range.max_entries = 1 + below(t, BATCH_MAX);
		}
		break;
	}
}

/* Every field from the interesting values; pointers from the safe set. */
static void fill_chaos(struct thr *t, int cmd, union ucmd *u)
{
	fill_valid(t, cmd, u, rand_id(t));
	if (chance(t, 50))
		u->create.flags = chance(t, 50) ? interesting32(t) :
				  1U << below(t, 32);
	switch (cmd) {
	case C_MAP:
		if (chance(t, 30))
			u->map.prot = interesting32(t);
		if (chance(t, 30))
			u->map.cache = interesting32(t);
		if (chance(t, 30))
			u->map.__reserved = interesting32(t);
		if (chance(t, 40))
			u->map.va = interesting64(t);
		if (chance(t, 40))
			u->map.length = chance(t, 80) ? rand_len(t) :
					interesting64(t);
		if (chance(t, 30)) {
			u->map.phys = interesting64(t);
			/* Never RAM: a window may write through it. */
			if (u->map.phys < SPT_TEST_PHYS)
				u->map.phys += SPT_TEST_PHYS;
		}
		if (chance(t, 20))
			u->map.out_mapped = rnd(t);
		if (chance(t, 10))
			u->map.src_space_id = chance(t, 50) ? rand_id(t) :
					      interesting32(t);
		if (chance(t, 10))
			u->map.src_va = interesting64(t);
		if (chance(t, 5))
			u->map.__reserved2 = interesting32(t);
		break;
	case C_UNMAP:
	case C_PROTECT:
		if (cmd == C_PROTECT && chance(t, 30))
			u->protect.prot = interesting32(t);
		if (cmd == C_PROTECT && chance(t, 30))
			u->protect.cache = interesting32(t);
		if (chance(t, 40))
			u->unmap.va = interesting64(t);
		if (chance(t, 40)) {
			if (cmd == C_PROTECT)
				u->protect.length = interesting64(t);
			else
				u->unmap.length = interesting64(t);
		}
		break;
	case C_QUERY:
		if (chance(t, 50))
			u->query.va = interesting64(t);
		break;
	case C_BATCH:
		if (chance(t, 30))
			u->batch.count = chance(t, 50) ? interesting32(t) :
					 u->batch.count;
		if (u->batch.count > BATCH_MAX &&
		    u->batch.count <= SPT_QUERY_BATCH_MAX)
			u->batch.vas = rand_ptr(t, NULL);	/* never ours */
		if (chance(t, 30))
			u->batch.vas = rand_ptr(t, t->vas);
		if (chance(t, 30))
			u->batch.entries = rand_ptr(t, t->ents);
		if (chance(t, 20))
			u->batch.entry_size = interesting32(t);
		if (u->batch.count > BATCH_MAX) {	/* never our buffers */
			u->batch.vas = rand_ptr(t, NULL);
			u->batch.entries = rand_ptr(t, NULL);
		} else if ((__u64)u->batch.count * u->batch.entry_size >
			   BATCH_MAX * sizeof(*t->ents)) {
			/* Larger elements would overrun ours. */
			u->batch.entries = rand_ptr(t, NULL);
		}
		break;
	case C_RW:
		if (chance(t, 30))
			u->rw.flags = interesting32(t);
		if (chance(t, 30))
			u->rw.va = interesting64(t);
		if (chance(t, 30))
			u->rw.length = interesting64(t);
		if (u->rw.length > DATA_BYTES && u->rw.length <= SZ_16M)
			u->rw.buf = rand_ptr(t, NULL);		/* never ours */
		else if (chance(t, 30))
			u->rw.buf = rand_ptr(t, t->data);
		break;
	case C_CHECK:
		if (chance(t, 30))
			u->check.msg_len = interesting32(t);
		if (u->check.msg_len > sizeof(t->msg))
			u->check.msg = rand_ptr(t, NULL);	/* never ours */
		else if (chance(t, 30))
			u->check.msg = rand_ptr(t, t->msg);
		break;
	case C_LOAD:
		if (chance(t, 30))
			u->load.cpu = below(t, 4) == 0 ? interesting32(t) :
				      below(t, 4);
		if (chance(t, 20))
			u->load.nr_ops = interesting32(t);
		if (u->load.nr_ops > OPS_MAX)
			u->load.ops = rand_ptr(t, NULL);	/* never ours */
		else if (chance(t, 30))
			u->load.ops = rand_ptr(t, t->ops);
		if (chance(t, 20))
			u->load.op_size = interesting32(t);
		if ((__u64)u->load.nr_ops * u->load.op_size >
		    OPS_MAX * sizeof(*t->ops))	/* would overrun ours */
			u->load.ops = rand_ptr(t, NULL);
		if (chance(t, 20)) {
			struct spt_load_op *op =
				&t->ops[below(t, OPS_MAX)];

			op->op = interesting32(t);
			op->width = interesting32(t);
			op->va = interesting64(t);
			op->length = interesting64(t);
			op->prot = interesting32(t);
			op->flags = chance(t, 50) ? 0 : interesting32(t);
		}
		break;
	case C_RUN:
		if (chance(t, 30))
			u->run.cpu = below(t, 4) == 0 ? interesting32(t) :
				     below(t, 4);
		if (chance(t, 30))
			u->run.rip = interesting64(t);
		if (chance(t, 30))
			u->run.regs[SPT_REG_RSP] = interesting64(t);
		if (chance(t, 30))
			u->run.rflags = interesting64(t);
		if (chance(t, 30))
			u->run.regs[below(t, SPT_RUN_NR_REGS)] =
				interesting64(t);
		break;
	case C_RANGE:
		if (chance(t, 30))
			u->range.va = interesting64(t);
		if (chance(t, 30))
			u->range.length = interesting64(t);
		if (chance(t, 20))
			u->range.max_entries = interesting32(t);
		if (chance(t, 20))
			u->range.entry_size = interesting32(t);
		if (chance(t, 30))
			u->range.entries = rand_ptr(t, t->ents);
		/* Never ours if it could overrun t->ents. */
		if ((__u64)u->range.max_entries * u->range.entry_size >
		    BATCH_MAX * sizeof(*t->ents))
			u->range.entries = rand_ptr(t, NULL);
		break;
	case C_BITS:
		if (chance(t, 30))
			u->bits.level = chance(t, 50) ? interesting32(t) :
					below(t, 7);
		if (chance(t, 30))
			u->bits.set = chance(t, 50) ? interesting64(t) :
				      1ULL << below(t, 64);
		if (chance(t, 30))
			u->bits.clear = chance(t, 50) ? interesting64(t) :
					1ULL << below(t, 64);
		if (chance(t, 30))
			u->bits.va = interesting64(t);
		if (chance(t, 30))
			u->bits.length = interesting64(t);
		break;
	default:
		break;
	}
	if (cmd_resv[cmd] && chance(t, 10))
		*(__u32 *)(u->raw + cmd_resv[cmd]) = interesting32(t);
}

/* One single-fault call: *want is the errno it must fail with. */
static enum where fill_fault(struct thr *t, int cmd, union ucmd *u,
			     __u32 *usize, bool *dirty, int *want)
{
	size_t ks = cmd_size[cmd];
	bool has_id = cmd != C_VERSION && cmd != C_CREATE;
	unsigned int r;

	fill_valid(t, cmd, u, pick_id(t, ID_ANCHOR));
	if (cmd == C_STATS)
		u->stats.space_id = pick_id(t, ID_ANCHOR);
	if (cmd == C_DESTROY)	/* anchors stay: only dead ids here */
		u->destroy.space_id = pick_id(t, ID_DEAD);
	if (cmd == C_CREATE)	/* nothing to clean up after a success */
		u->create.flags = 0;
	*usize = ks;
	*dirty = false;
	*want = EINVAL;
	for (;;) {
		r = below(t, 12);
		switch (r) {
		case 0:		/* struct smaller than its first release */
			*usize = below(t, cmd == C_VERSION ? SPT_VERSION_SIZE0 :
					  cmd == C_STATS ? SPT_STATS_SIZE0 :
					  cmd == C_MAP ? SPT_MAP_SIZE0 :
					  cmd == C_LOAD ? SPT_LOAD_SIZE0 : ks);
			return W_NORMAL;
		case 1:		/* larger, non-zero tail */
			*usize = ks + 1 + below(t, SCRATCH - ks);
			*dirty = true;
			*want = E2BIG;
			return W_NORMAL;
		case 2: {	/* an unknown flag */
			__u32 bad = ~cmd_flags[cmd];

			do {
				u->create.flags = cmd_flags[cmd] & rnd(t);
				u->create.flags |= 1U << below(t, 32);
			} while (!(u->create.flags & bad));
			return W_NORMAL;
		}
		case 3:		/* reserved field */
			if (!cmd_resv[cmd])
				continue;
			*(__u32 *)(u->raw + cmd_resv[cmd]) = 1 + below(t, ~0U);
			return W_NORMAL;
		case 4: {	/* the struct itself not accessible */
			static const enum where bad[] = {
				W_STRADDLE, W_NULL, W_PROTNONE, W_KERNEL,
				W_NONCANON,
			};

			*want = EFAULT;
			return bad[below(t, sizeof(bad) / sizeof(bad[0]))];
		}
		case 5:		/* a destroyed id */
			if (!has_id)
				continue;
			if (cmd == C_STATS && !u->stats.space_id)
				continue;
			u->info.space_id = pick_id(t, ID_DEAD);
			if (cmd == C_STATS && !u->stats.space_id)
				u->stats.space_id = 0xfffffff0U;
			*want = ENOENT;
			return W_NORMAL;
		default:
			break;
		}
		/* Command-specific bad arguments (validated before lookup). */
		switch (cmd) {
		case C_MAP:
			switch (below(t, 10)) {
			case 0: u->map.va |= 1 + below(t, SZ_4K - 1); break;
			case 1: u->map.length |= 1 + below(t, SZ_4K - 1); break;
			case 2: u->map.length = 0; break;
			case 3: u->map.va = user_end + below(t, 4) * SZ_4K;
				break;
			case 4: u->map.va = ~0ULL << (12 + below(t, 8));
				break;
			case 5: u->map.prot |= SPT_PROT_GLOBAL <<
					       below(t, 29);
				break;
			case 6: u->map.cache = SPT_CACHE_MODE_PAT7 + 1 +
					       below(t, 100);
				break;
			case 7:		/* no size flag, or two */
				u->map.flags &= SPT_MAP_REPLACE;
				if (chance(t, 50))
					u->map.flags |= SPT_MAP_4K |
							SPT_MAP_LARGEST;
				u->map.phys = 0;
				break;
			case 8:		/* phys without SPT_MAP_PHYS */
				u->map.flags = SPT_MAP_4K;
				u->map.va &= ~(SZ_4K - 1);
				u->map.phys = SZ_4K * (1 + below(t, 100));
				break;
			default:	/* 2 MiB map of a 4 KiB-aligned va */
				u->map.flags = SPT_MAP_2M;
				u->map.phys = 0;
				u->map.va = SPT_TEST_VA + SZ_4K;
				u->map.length = SZ_2M;
				break;
			}
			return W_NORMAL;
		case C_UNMAP:
		case C_PROTECT: {
			__u64 *va = cmd == C_UNMAP ? &u->unmap.va :
					&u->protect.va;
			__u64 *len = cmd == C_UNMAP ? &u->unmap.length :
					 &u->protect.length;

			switch (below(t, cmd == C_PROTECT ? 8 : 5)) {
			case 0: *va |= 1 + below(t, SZ_4K - 1); break;
			case 1: *len |= 1 + below(t, SZ_4K - 1); break;
			case 2: *len = 0; break;
			case 3: *va = user_end; *len = SZ_4K; break;
			case 4: *len = ~0ULL & ~(SZ_4K - 1); break;
			case 5: u->protect.prot |= SPT_PROT_GLOBAL <<
						   below(t, 29);
				break;
			case 6: u->protect.flags = 0;
				u->protect.cache = 1 + below(t, 4);
				break;
			default:
				u->protect.flags = SPT_PROTECT_CACHE;
				u->protect.cache = SPT_CACHE_MODE_PAT7 + 1 +
						   below(t, 1000);
				break;
			}
			return W_NORMAL;
		}
		case C_QUERY:
			u->query.va = user_end + below(t, 1ULL << 40);
			return W_NORMAL;
		case C_BATCH:
			switch (below(t, 3)) {
			case 0: u->batch.count = 0; break;
			case 1: u->batch.count = SPT_QUERY_BATCH_MAX + 1 +
						 below(t, 1000);
				break;
			default: u->batch.entry_size = chance(t, 50) ?
					sizeof(struct spt_query_entry) - 8 :
					SPT_ELEM_SIZE_MAX + 8;
				break;
			}
			return W_NORMAL;
		case C_RW:
			switch (below(t, 3)) {
			case 0: u->rw.length = 0; break;
			case 1: u->rw.length = SZ_16M + 1 + below(t, SZ_16M);
				break;
			default: u->rw.va = user_end + below(t, SZ_1G); break;
			}
			return W_NORMAL;
		case C_MMAP:
			switch (below(t, 4)) {
			case 0: u->mmap.va |= 1 + below(t, SZ_4K - 1); break;
			case 1: u->mmap.length = 0; break;
			case 2: u->mmap.length = SPT_MMAP_MAX + SZ_4K; break;
			default: u->mmap.offset = SZ_4K; break;
			}
			return W_NORMAL;
		case C_RANGE:
			switch (below(t, 7)) {
			case 0: u->range.va |= 1 + below(t, SZ_4K - 1); break;
			case 1: u->range.length |= 1 + below(t, SZ_4K - 1);
				break;
			case 2: u->range.length = 0; break;
			case 3: u->range.va = user_end; break;
			case 4: u->range.max_entries = chance(t, 50) ? 0 :
					SPT_QUERY_RANGE_MAX + 1 + below(t, 99);
				break;
			case 5: u->range.entry_size = u->range.flags ?
					8 * (2 + below(t, 8)) :
					sizeof(struct spt_query_run) - 8;
				break;
			default: u->range.entry_size = SPT_ELEM_SIZE_MAX + 8;
				break;
			}
			return W_NORMAL;
		case C_BITS:
			switch (below(t, 9)) {
			case 0: u->bits.level = chance(t, 50) ? 0 :
						6 + below(t, 1000);
				break;
			case 1: u->bits.set |= SPT_BITS_W;
				u->bits.clear |= SPT_BITS_W;
				break;
			case 2: u->bits.set |= 1ULL << (below(t, 2) ? 0 :
							 5 + below(t, 8));
				break;
			case 3: u->bits.flags = 0;
				u->bits.set |= SPT_BITS_RSVD;
				u->bits.clear &= ~SPT_BITS_RSVD;
				break;
			case 4: u->bits.level = 2 + below(t, 3);
				u->bits.set |= 1ULL << 60;
				u->bits.clear &= ~(1ULL << 60);
				break;
			case 5: u->bits.va |= 1 + below(t, SZ_4K - 1); break;
			case 6: u->bits.length = 0; break;
			case 7: u->bits.va = user_end; break;
			default: u->bits.length = ~0ULL & ~(SZ_4K - 1); break;
			}
			return W_NORMAL;
		case C_RUN:
			switch (below(t, 4)) {
			case 0: u->run.rip = user_end + below(t, SZ_1G); break;
			case 1: u->run.regs[SPT_REG_RSP] = user_end + 1 +
							   below(t, SZ_1G);
				break;
			case 2: u->run.cpu = 1 + below(t, 4);	/* no flag */
				break;
			default: u->run.rflags |= 0x200ULL << below(t, 10);
				if (!(u->run.rflags & ~SPT_RUN_RFLAGS_ALLOWED))
					u->run.rflags |= 0x200;
				break;
			}
			return W_NORMAL;
		case C_LOAD:
			switch (below(t, 5)) {
			case 0: u->load.nr_ops = 0; break;
			case 1: u->load.nr_ops = SPT_LOAD_MAX_OPS + 1 +
						 below(t, 100);
				break;
			case 2: u->load.op_size =
					offsetofend(struct spt_load_op,
						    out_value) - 8;
				break;
			case 3: u->load.cpu = 1 + below(t, 4);	/* no flag */
				break;
			default: {	/* one malformed op */
				struct spt_load_op *op =
					&t->ops[below(t, u->load.nr_ops)];

				/*
				 * A flag no op takes (bits 8, 9: USER and
				 * SMAP, that READ takes, both at once), or
				 * an unknown op.
				 */
				unsigned int b = 2 + below(t, 28);

				if (chance(t, 10))
					op->flags = SPT_LOAD_OP_F_USER |
						    SPT_LOAD_OP_F_SMAP;
				else if (chance(t, 50))
					op->flags = 1U << (b >= 8 ? b + 2 : b);
				else
					op->op = SPT_LOAD_OP_AD_READ + 1 +
						 below(t, 100);
				break;
			}
			}
			return W_NORMAL;
		default:
			continue;
		}
	}
}

/* ---- one worker call ---------------------------------------------------- */

static void check_load_ops(struct thr *t, const union ucmd *u)
{
	unsigned int i, n = u->load.nr_ops;

	if ((uintptr_t)u->load.ops != (uintptr_t)t->ops || n > OPS_MAX)
		return;
	for (i = 0; i < n && i < u->load.out_ops_run; i++) {
		if (t->ops[i].out_fault & SPT_FAULT_MISMATCH) {
			t->corrupt++;
			fail_log(t, "LOAD op %u (type %u va 0x%llx): MMU and walker disagree (fault 0x%x)",
				 i, t->ops[i].op,
				 (unsigned long long)t->ops[i].va,
				 t->ops[i].out_fault);
		}
	}
}

static void after_success(struct thr *t, int cmd, int fd, union ucmd *u)
{
	switch (cmd) {
	case C_CREATE: {
		int slot = -1, i;

		if (u->create.flags & SPT_SPACE_FD_OWNED)
			for (i = 0; i < NR_SLOTS; i++)
				if (slots[i] == fd)
					slot = i;
		reg_add(u->create.out_space_id, slot);
		break;
	}
	case C_DESTROY:
		reg_dead(u->destroy.space_id);
		break;
	case C_LOAD:
		check_load_ops(t, u);
		break;
	case C_MMAP: {
		struct spt_mmap rel = {
			.size = sizeof(rel), .flags = SPT_MMAP_RELEASE,
			.offset = u->mmap.out_offset,
		};
		volatile char *p;

		if (u->mmap.flags)
			break;
		/* Another thread may have replaced the slot meanwhile. */
		p = mmap(NULL, u->mmap.length, PROT_READ, MAP_SHARED, fd,
			 u->mmap.out_offset);
		if (p != MAP_FAILED) {
			(void)p[u->mmap.length - 1];
			munmap((void *)p, u->mmap.length);
		}
		if (chance(t, 90))
			ioctl(fd, SPT_IOCTL_MMAP, &rel);
		break;
	}
	case C_TABLES: {
		/* The header, and a walk's first read: the root node. */
		size_t len = SPT_TABLES_NODE_OFFSET + u->tables.out_root_pa +
			     SZ_4K;
		void *p = mmap(NULL, len, PROT_READ, MAP_SHARED | MAP_NORESERVE,
			       u->tables.out_fd, 0);

		if (p == MAP_FAILED ||
		    *(volatile __u32 *)p != SPT_TABLES_MAGIC) {
			t->corrupt++;
			fail_log(t, "TABLES of space %u: no header (%s)",
				 u->tables.space_id,
				 p == MAP_FAILED ? strerror(errno) : "magic");
		} else {
			(void)*(volatile __u64 *)((char *)p + len - 8);
		}
		if (p != MAP_FAILED)
			munmap(p, len);
		close(u->tables.out_fd);
		break;
	}
	case C_VERSION:
		if (u->version.out_api_version != SPT_API_VERSION ||
		    u->version.out_user_end != user_end) {
			t->bad_errno++;
			fail_log(t, "VERSION returned api %u user_end 0x%llx",
				 u->version.out_api_version,
				 (unsigned long long)u->version.out_user_end);
		}
		break;
	case C_RANGE: {
		const struct spt_query_range *r = &u->range;

		/* Full, or the whole range reported; never past it. */
		if (r->out_entries > r->max_entries ||
		    r->out_next <= r->va || r->out_next > r->va + r->length ||
		    (r->out_entries < r->max_entries &&
		     r->out_next != r->va + r->length) ||
		    ((r->flags & SPT_QUERY_RANGE_COMPACT) &&
		     r->out_next != r->va + (__u64)r->out_entries * SZ_4K)) {
			t->corrupt++;
			fail_log(t, "QUERY_RANGE va 0x%llx len 0x%llx max %u: out_entries %u out_next 0x%llx",
				 (unsigned long long)r->va,
				 (unsigned long long)r->length,
				 r->max_entries, r->out_entries,
				 (unsigned long long)r->out_next);
		}
		break;
	}
	default:
		break;
	}
}

/* Replace shared descriptor @k: its fd-owned spaces die (maybe later). */
static void replace_slot(struct thr *t)
{
	int k = below(t, NR_SLOTS), fd = spt_open();

	if (fd < 0)
		return;
	reg_forget_slot(k);
	dup2(fd, slots[k]);
	close(fd);
}

static void one_call(struct thr *t)
{
	union ucmd u;
	unsigned int mode = below(t, 100);
	int fd = slots[below(t, NR_SLOTS)];
	int cmd = below(t, NR_CMDS), ret, err, want = -1;
	__u32 usize;
	bool dirty = false;
	enum where w = W_NORMAL;

	if (mode < 1) {
		replace_slot(t);
		return;
	}
	if (mode < 4) {		/* an unknown or malformed ioctl number */
		static const unsigned long bad[] = {
			_IO(SPT_TYPE, SPT_CMD_BASE - 1),
			_IO(SPT_TYPE, SPT_CMD_LAST + 1),
			_IO(SPT_TYPE, 0xff),
			_IO(SPT_TYPE + 1, SPT_CMD_VERSION),
			_IOWR(SPT_TYPE, SPT_CMD_MAP, struct spt_map),
			_IOR(SPT_TYPE, SPT_CMD_VERSION, struct spt_version),
		};

		fill_valid(t, C_VERSION, &u, 0);
		ret = call(t, fd, bad[below(t, sizeof(bad) / sizeof(bad[0]))],
			   &u, sizeof(u.version), sizeof(u.version), W_NORMAL,
			   false, &err);
		count(t, CMD_BADNR, ret, err);
		t->det_checks++;
		if (ret != -1 || err != ENOTTY) {
			t->det_fail++;
			fail_log(t, "unknown ioctl number: ret %d errno %d, want ENOTTY",
				 ret, err);
		}
		return;
	}
	if (cmd == C_CREATE && nr_live >= MAX_LIVE - 4)
		cmd = C_DESTROY;	/* keep below max_spaces */
	usize = cmd_size[cmd];
	if (mode < 55) {
		int id_kind = below(t, 10);

		fill_valid(t, cmd, &u, id_kind < 5 ? pick_id(t, ID_ANCHOR) :
				       id_kind < 9 ? pick_id(t, ID_LIVE) :
				       pick_id(t, ID_DEAD));
		if (cmd == C_DESTROY)
			u.destroy.space_id = id_kind < 8 ?
					     pick_id(t, ID_LIVE) :
					     pick_id(t, ID_DEAD);
		if (chance(t, 10))	/* larger, zero tail: like exact */
			usize += 1 + below(t, SPT_STRUCT_SIZE_MAX - usize);
	} else if (mode < 80) {
		w = fill_fault(t, cmd, &u, &usize, &dirty, &want);
	} else {
		fill_chaos(t, cmd, &u);
		switch (below(t, 10)) {
		case 0: usize = interesting32(t); break;
		case 1: usize = below(t, usize); break;
		case 2: usize += 1 + below(t, SCRATCH); dirty = chance(t, 50);
			break;
		case 3: w = below(t, W_NR); break;
		default: break;
		}
	}
	if (cmd == C_DESTROY && is_anchor(u.destroy.space_id))
		return;		/* the anchors stay */
	ret = call(t, fd, cmd_nr[cmd], &u, cmd_size[cmd], usize, w, dirty,
		   &err);
	count(t, cmd, ret, err);
	if (ret != 0 && ret != -1) {
		t->bad_errno++;
		fail_log(t, "%s returned %d", row_name[cmd], ret);
		return;
	}
	if (want >= 0) {
		t->det_checks++;
		if (ret != -1 || err != want) {
			t->det_fail++;
			fail_log(t, "%s with one fault (size %u, where %d): ret %d errno %s, want %s",
				 row_name[cmd], usize, w, ret,
				 ret ? strerror(err) : "-", strerror(want));
		}
	}
	if (ret == 0) {
		after_success(t, cmd, fd, &u);
		return;
	}
	if (cmd == C_CHECK && err == EUCLEAN) {
		t->corrupt++;
		fail_log(t, "CHECK of space %u: %s", u.check.space_id,
			 (uintptr_t)u.check.msg == (uintptr_t)t->msg ?
			 t->msg : "(message not kept)");
		return;
	}
	if (cmd == C_BITS && err == EOPNOTSUPP &&
	    (u.bits.set & SPT_BITS_RSVD))
		return;
	if (err > 63 || !(cmd_errs[cmd] & EB(err))) {
		t->bad_errno++;
		fail_log(t, "%s failed with %s, not one of its errnos",
			 row_name[cmd], strerror(err));
	}
}

static void pin(int i)
{
	cpu_set_t set;

	CPU_ZERO(&set);
	CPU_SET(i % nr_online, &set);
	/* Best effort: the isolated CPU is allowed when asked for. */
	pthread_setaffinity_np(pthread_self(), sizeof(set), &set);
}

static void *worker(void *arg)
{
	struct thr *t = arg;

	pin(t->idx);
	while (!atomic_load_explicit(&stop, memory_order_relaxed))
		one_call(t);
	return NULL;
}

/* ---- netlink ------------------------------------------------------------ */

static void *nl_worker(void *arg)
{
	struct thr *t = arg;
	struct spt_nl nl = { 0 };

	if (spt_nl_open(&nl)) {
		fail_log(t, "netlink: cannot open the shadowpt family");
		t->bad_errno++;
		return NULL;
	}
	while (!atomic_load_explicit(&stop, memory_order_relaxed)) {
		int ret, row;

		if (chance(t, 30)) {
			struct spt_nl_spaces l;
			__u32 id = chance(t, 50) ? 0 : rand_id(t);

			row = ROW_NL_SPACE;
			ret = spt_nl_spaces_get(&nl, id, &l);
			free(l.v);
			if (!id && ret) {
				t->bad_errno++;
				fail_log(t, "netlink SPACE_GET dump: %d", ret);
			}
		} else {
			struct spt_nl_runs l;
			bool bounded = chance(t, 50);
			__u64 va = chance(t, 80) ? rand_va(t) :
				   interesting64(t);
			__u64 end = va + (chance(t, 80) ? rand_len(t) :
					  interesting64(t));

			row = ROW_NL_MAPPING;
			ret = spt_nl_runs_get(&nl, rand_id(t), bounded, va, end,
					      &l);
			free(l.v);
		}
		count(t, row, ret, -ret);
		if (ret && ret != -ENOENT && ret != -EINVAL) {
			t->bad_errno++;
			fail_log(t, "netlink %s: %d", row_name[row], ret);
		}
	}
	spt_nl_close(&nl);
	return NULL;
}

/* ---- setup, run, verdict ------------------------------------------------ */

static unsigned long env_ul(const char *name, unsigned long def)
{
	const char *v = getenv(name);

	return v && *v ? strtoull(v, NULL, 0) : def;
}

static int thr_init(struct thr *t, int idx)
{
	t->idx = idx;
	t->rng = seed ^ (0x51ed270b27ULL * (idx + 1));
	t->scratch = mmap(NULL, SCRATCH + SZ_4K, PROT_READ | PROT_WRITE,
			  MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
	if (t->scratch == MAP_FAILED ||
	    mprotect(t->scratch + SCRATCH, SZ_4K, PROT_NONE))
		return -1;
	t->data = malloc(DATA_BYTES);
	t->vas = calloc(BATCH_MAX, sizeof(*t->vas));
	t->ents = calloc(BATCH_MAX, sizeof(*t->ents));
	t->ops = calloc(OPS_MAX, sizeof(*t->ops));
	return t->data && t->vas && t->ents && t->ops ? 0 : -1;
}

static const char *errname(int e)
{
	static const char *const n[NR_ERRNO + 1] = {
		[0] = "ok", [EPERM] = "EPERM", [ENOENT] = "ENOENT",
		[EINTR] = "EINTR", [ENXIO] = "ENXIO", [E2BIG] = "E2BIG",
		[ENOMEM] = "ENOMEM", [EACCES] = "EACCES", [EFAULT] = "EFAULT",
		[EBUSY] = "EBUSY", [EEXIST] = "EEXIST", [EXDEV] = "EXDEV",
		[ENODEV] = "ENODEV", [EINVAL] = "EINVAL", [ENOSPC] = "ENOSPC",
		[ENOTTY] = "ENOTTY", [EMSGSIZE] = "EMSGSIZE",
		[EUCLEAN] = "EUCLEAN", [NR_ERRNO] = "other",
	};
	static __thread char buf[16];

	if (e >= 0 && e <= NR_ERRNO && n[e])
		return n[e];
	snprintf(buf, sizeof(buf), "errno%d", e);
	return buf;
}

static void print_table(unsigned long tot[NR_ROWS][NR_ERRNO + 1])
{
	unsigned long col[NR_ERRNO + 1] = { 0 }, all = 0;
	int r, e;

	printf("# %-16s %9s %9s  %s\n", "call", "total", "ok",
	       "failures by errno");
	for (r = 0; r < NR_ROWS; r++) {
		unsigned long sum = 0;
		char line[512];
		int n = 0;

		line[0] = '\0';
		for (e = 0; e <= NR_ERRNO; e++) {
			sum += tot[r][e];
			col[e] += tot[r][e];
			if (e && tot[r][e] && n < (int)sizeof(line) - 32)
				n += snprintf(line + n, sizeof(line) - n,
					      "%s%s=%lu", n ? " " : "",
					      errname(e), tot[r][e]);
		}
		all += sum;
		printf("# %-16s %9lu %9lu  %s\n", row_name[r], sum, tot[r][0],
		       line);
	}
	printf("# %-16s %9lu %9lu\n", "all", all, col[0]);
	printf("# per errno:");
	for (e = 1; e <= NR_ERRNO; e++)
		if (col[e])
			printf(" %s=%lu", errname(e), col[e]);
	printf("\n");
}

static bool was_created(__u32 id)
{
	unsigned int i;

	for (i = 0; i < NR_SLOTS; i++)
		if (anchors[i] == id)
			return true;
	for (i = 0; i < nr_created; i++)
		if (created[i] == id)
			return true;
	return false;
}

int main(void)
{
	static unsigned long tot[NR_ROWS][NR_ERRNO + 1];
	unsigned long calls = 0, det = 0, det_fail = 0, bad = 0, corrupt = 0;
	struct spt_counters base, now;
	struct spt_version ver;
	struct spt_nl nl = { 0 };
	struct spt_nl_spaces l = { 0 };
	struct timespec t0, t1;
	unsigned int i, checked = 0, check_fail = 0, unknown = 0;
	int fd, r, e;
	bool destroy_ok = true;
	char allow_runs0[32];

	ksft_print_header();
	ksft_set_plan(6);
	seed = env_ul("SPT_FUZZ_SEED", 0);
	if (!seed) {
		clock_gettime(CLOCK_REALTIME, &t0);
		seed = (t0.tv_sec * 1000003ULL) ^ t0.tv_nsec ^ getpid();
	}
	nr_threads = env_ul("SPT_FUZZ_THREADS", 4);
	if (nr_threads < 1)
		nr_threads = 1;
	if (nr_threads > MAX_THREADS)
		nr_threads = MAX_THREADS;
	seconds = env_ul("SPT_FUZZ_SECONDS", 60);
	nr_online = sysconf(_SC_NPROCESSORS_ONLN);
	if (nr_online < 1)
		nr_online = 1;
	printf("# seed %llu (SPT_FUZZ_SEED=%llu reproduces the op mix), %u threads, %u s, %d online CPUs\n",
	       seed, seed, nr_threads, seconds, nr_online);

	fd = spt_open();
	if (fd < 0)
		ksft_exit_skip("open %s: %s (module not loaded?)\n",
			       SPT_DEVICE_PATH, strerror(errno));
	if (_spt_version(fd, &ver) || spt_counters_read(fd, &base))
		ksft_exit_fail_msg("VERSION/STATS: %s\n", strerror(errno));
	user_end = ver.out_user_end;
	if (spt_param_get("allow_runs", allow_runs0, sizeof(allow_runs0)) ||
	    spt_param_set("allow_runs", "1"))
		ksft_exit_fail_msg("cannot set allow_runs: %s\n",
				   strerror(errno));
	printf("# %u-level paging, user half ends at 0x%llx\n",
	       ver.out_levels, (unsigned long long)user_end);

	for (i = 0; i < NR_SLOTS; i++) {
		slots[i] = spt_open();
		if (slots[i] < 0 || _spt_space_create(fd, 0, &anchors[i]))
			ksft_exit_fail_msg("setup: %s\n", strerror(errno));
	}
	for (i = 0; i <= nr_threads; i++)
		if (thr_init(&thr[i], i))
			ksft_exit_fail_msg("thread buffers: out of memory\n");
	/* Kernels built with a lower default (4 KiB): raise it for us. */
	if (spt_mmap_min_addr() < (uintptr_t)hole + 4 * SZ_4K &&
	    spt_set_mmap_min_addr(65536))
		ksft_exit_skip("vm.mmap_min_addr is below %p: no hole\n",
			       hole + 4 * SZ_4K);
	protnone = mmap(NULL, SZ_4K, PROT_NONE, MAP_PRIVATE | MAP_ANONYMOUS,
			-1, 0);
	if (protnone == MAP_FAILED)
		ksft_exit_fail_msg("mmap: %s\n", strerror(errno));

	clock_gettime(CLOCK_MONOTONIC, &t0);
	for (i = 0; i < nr_threads; i++)
		if (pthread_create(&thr[i].tid, NULL, worker, &thr[i]))
			ksft_exit_fail_msg("pthread_create\n");
	if (pthread_create(&thr[nr_threads].tid, NULL, nl_worker,
			   &thr[nr_threads]))
		ksft_exit_fail_msg("pthread_create\n");
	sleep(seconds);
	atomic_store(&stop, true);
	for (i = 0; i <= nr_threads; i++)
		pthread_join(thr[i].tid, NULL);
	clock_gettime(CLOCK_MONOTONIC, &t1);

	for (i = 0; i <= nr_threads; i++) {
		calls += thr[i].calls;
		det += thr[i].det_checks;
		det_fail += thr[i].det_fail;
		bad += thr[i].bad_errno;
		corrupt += thr[i].corrupt;
		for (r = 0; r < NR_ROWS; r++)
			for (e = 0; e <= NR_ERRNO; e++)
				tot[r][e] += thr[i].count[r][e];
	}
	printf("# %lu calls in %.1f s (%.0f/s)\n", calls,
	       (t1.tv_sec - t0.tv_sec) + (t1.tv_nsec - t0.tv_nsec) / 1e9,
	       calls / ((t1.tv_sec - t0.tv_sec) +
			(t1.tv_nsec - t0.tv_nsec) / 1e9));
	print_table(tot);

	ksft_test_result(bad == 0,
			 "every result is success or an errno of its command (%lu calls, %lu bad)\n",
			 calls, bad);
	ksft_test_result(det_fail == 0,
			 "single-fault calls fail with the exact errno (%lu checked, %lu wrong)\n",
			 det, det_fail);
	ksft_test_result(corrupt == 0,
			 "no EUCLEAN and no MMU/walker mismatch during the run (%lu)\n",
			 corrupt);

	/* Every live space: checker, then destroy. */
	if (spt_nl_open(&nl) || spt_nl_spaces_get(&nl, 0, &l)) {
		ksft_test_result_fail("netlink dump of the live spaces\n");
		l.nr = 0;
	} else {
		for (i = 0; i < l.nr; i++) {
			char msg[256] = "";

			checked++;
			if (_spt_check(fd, l.v[i].id, msg, sizeof(msg))) {
				check_fail++;
				printf("# CHECK of space %u: %s: %s\n",
				       l.v[i].id, strerror(errno), msg);
			}
			if (!created_lost && !was_created(l.v[i].id)) {
				unknown++;
				printf("# space %u is alive but no successful call created it\n",
				       l.v[i].id);
			}
		}
		ksft_test_result(check_fail == 0,
				 "SPT_IOCTL_CHECK passes on every live space (%u spaces)\n",
				 checked);
	}
	ksft_test_result(unknown == 0,
			 "every live space was created by a successful call (%u unknown)\n",
			 unknown);
	for (i = 0; i < l.nr; i++) {
		if (_spt_space_destroy(fd, l.v[i].id)) {
			destroy_ok = false;
			printf("# DESTROY %u: %s\n", l.v[i].id,
			       strerror(errno));
		}
	}
	free(l.v);
	spt_nl_close(&nl);
	for (i = 0; i < NR_SLOTS; i++)
		close(slots[i]);
	if (spt_counters_read(fd, &now))
		memset(&now, 0xff, sizeof(now));
	printf("# counters before/after: used %llu/%llu node %llu/%llu data %llu/%llu spaces %llu/%llu\n",
	       base.used_frames, now.used_frames, base.node_frames,
	       now.node_frames, base.data_frames, now.data_frames,
	       base.nr_spaces, now.nr_spaces);
	ksft_test_result(destroy_ok && !memcmp(&base, &now, sizeof(now)),
			 "counters back to their start values once every space is destroyed\n");
	close(fd);
	spt_param_set("allow_runs", allow_runs0);
	ksft_finished();
}
