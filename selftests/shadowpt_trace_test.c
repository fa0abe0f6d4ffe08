// SPDX-License-Identifier: GPL-2.0
/*
 * The shadowpt tracepoints (events/shadowpt/ in tracefs). Each test uses a
 * tracefs instance of its own (instances/shadowpt_test_<pid>), so the
 * global trace buffer is left alone: it enables the shadowpt events there,
 * runs a scripted session through the ioctls and checks that the expected
 * events, with the expected fields, appear in the buffer in order.
 *
 * Needs tracefs at /sys/kernel/tracing (scripts/vm mounts it); skips
 * without it. Does not use perf.
 */
#include <dirent.h>

#include "shadowpt_utils.h"

#define TRACEFS		"/sys/kernel/tracing"
#define SPT_EVENTS_DIR	TRACEFS "/events/shadowpt"

static const char * const spt_event_names[] = {
	"spt_space_create", "spt_space_destroy", "spt_map", "spt_unmap",
	"spt_protect", "spt_node_alloc", "spt_node_free", "spt_load_begin",
	"spt_load_end", "spt_tlb_flush",
};

static int spt_write_str(const char *path, const char *s)
{
	int fd = open(path, O_WRONLY | O_TRUNC | O_CLOEXEC);
	ssize_t n;

	if (fd < 0)
		return -1;
	n = write(fd, s, strlen(s));
	close(fd);
	return n == (ssize_t)strlen(s) ? 0 : -1;
}

struct spt_ev {
	char name[32];
	char args[256];
};

/* Parse trace output lines "...: <event>: <args>" of our events. */
static int spt_parse_trace(char *text, struct spt_ev *evs, int max)
{
	char *line, *save = NULL;
	int n = 0;

	for (line = strtok_r(text, "\n", &save); line && n < max;
	     line = strtok_r(NULL, "\n", &save)) {
		char *p = strstr(line, ": spt_"), *colon;

		if (line[0] == '#' || !p)
			continue;
		p += 2;
		colon = strchr(p, ':');
		if (!colon || colon - p >= (long)sizeof(evs[n].name))
			continue;
		memcpy(evs[n].name, p, colon - p);
		evs[n].name[colon - p] = '\0';
		snprintf(evs[n].args, sizeof(evs[n].args), "%s",
			 colon[1] == ' ' ? colon + 2 : colon + 1);
		n++;
	}
	return n;
}

/* Is every space-separated "key=value" of @want a whole token of @args? */
static bool spt_args_match(const char *args, const char *want)
{
	char w[256], *tok, *save = NULL;

	snprintf(w, sizeof(w), "%s", want);
	for (tok = strtok_r(w, " ", &save); tok;
	     tok = strtok_r(NULL, " ", &save)) {
		const char *p = args;
		size_t l = strlen(tok);
		bool found = false;

		while ((p = strstr(p, tok))) {
			if ((p == args || p[-1] == ' ') &&
			    (p[l] == ' ' || p[l] == '\0')) {
				found = true;
				break;
			}
			p++;
		}
		if (!found)
			return false;
	}
	return true;
}

/* Index of the first event @name matching @want in [from, to), or -1. */
static int spt_find(const struct spt_ev *evs, int from, int to,
		    const char *name, const char *want)
{
	int i;

	for (i = from < 0 ? 0 : from; i < to; i++)
		if (!strcmp(evs[i].name, name) &&
		    spt_args_match(evs[i].args, want))
			return i;
	return -1;
}

static void spt_log_events(struct __test_metadata *_metadata,
			   const struct spt_ev *evs, int n)
{
	int i;

	for (i = 0; i < n; i++)
		TH_LOG("  [%d] %s: %s", i, evs[i].name, evs[i].args);
}

FIXTURE(trace)
{
	struct spt_env env;
	char inst[128];
	char path[256];
	struct spt_ev *evs;	/* spt_evs: too big for the stack */
	int nr_evs;
};

static struct spt_ev spt_evs[8192];

FIXTURE_SETUP(trace)
{
	struct stat st;

	if (stat(TRACEFS "/instances", &st))
		SPT_SETUP_SKIP("no tracefs at " TRACEFS);
	self->evs = spt_evs;
	spt_env_setup(_metadata, &self->env);
	snprintf(self->inst, sizeof(self->inst),
		 TRACEFS "/instances/shadowpt_test_%d", getpid());
	ASSERT_EQ(0, mkdir(self->inst, 0700));
	snprintf(self->path, sizeof(self->path), "%s/events/shadowpt/enable",
		 self->inst);
	ASSERT_EQ(0, spt_write_str(self->path, "1"));
}

FIXTURE_TEARDOWN(trace)
{
	snprintf(self->path, sizeof(self->path), "%s/events/shadowpt/enable",
		 self->inst);
	EXPECT_EQ(0, spt_write_str(self->path, "0"));
	EXPECT_EQ(0, rmdir(self->inst));
	spt_env_teardown(_metadata, &self->env);
}

/* Read and parse this instance's buffer into self->evs. */
#define spt_read_events()						\
	({								\
		char *__t;						\
		snprintf(self->path, sizeof(self->path), "%s/trace",	\
			 self->inst);					\
		__t = spt_slurp(self->path);				\
		ASSERT_NE(NULL, __t);					\
		self->nr_evs = spt_parse_trace(__t, self->evs,		\
					       ARRAY_SIZE(spt_evs));	\
		free(__t);						\
	})

/* Every event has its directory, id and format with our fields. */
TEST_F(trace, events_exist)
{
	static const struct {
		const char *event, *field;
	} fields[] = {
		{ "spt_space_create", "field:u64 root_pa;" },
		{ "spt_map", "field:u64 va;" },
		{ "spt_map", "field:u32 level;" },
		{ "spt_map", "field:u64 count;" },
		{ "spt_unmap", "field:u64 count;" },
		{ "spt_protect", "field:u32 level;" },
		{ "spt_node_alloc", "field:u64 pa;" },
		{ "spt_node_free", "field:u32 level;" },
		{ "spt_load_end", "field:u32 faults;" },
		{ "spt_tlb_flush", "field:u64 pages;" },
	};
	char path[256];
	unsigned int i;
	char *fmt;

	for (i = 0; i < ARRAY_SIZE(spt_event_names); i++) {
		snprintf(path, sizeof(path), SPT_EVENTS_DIR "/%s/id",
			 spt_event_names[i]);
		EXPECT_EQ(0, access(path, R_OK))
			TH_LOG("%s: %s", path, strerror(errno));
	}
	for (i = 0; i < ARRAY_SIZE(fields); i++) {
		snprintf(path, sizeof(path), SPT_EVENTS_DIR "/%s/format",
			 fields[i].event);
		fmt = spt_slurp(path);
		ASSERT_NE(NULL, fmt);
		EXPECT_NE(NULL, strstr(fmt, fields[i].field))
			TH_LOG("%s has no \"%s\"", path, fields[i].field);
		free(fmt);
	}
}

/*
 * create, map (ok, EEXIST, untracked), protect, query, unmap, a load
 * window, destroy: the events in order, with their fields.
 */
TEST_F(trace, session)
{
	unsigned int levels = self->env.ver.out_levels, l;
	bool phys = !spt_env_allow_phys(&self->env);
	struct spt_load_op op = {
		.op = SPT_LOAD_OP_READ, .width = 8, .va = SPT_TEST_VA,
	};
	struct spt_query_entry q;
	struct spt_load load;
	int i0, im, ie, ip, it, ipr, iu, ilb, ile, id, i, n;
	bool loaded;
	char w[256];
	__u64 mapped;
	__u32 sid;

	test_cmd_space_create(0, &sid);
	test_cmd_map(sid, SPT_MAP_4K, SPT_TEST_VA, SZ_64K, 0, SPT_PROT_WRITE);
	test_err_map(EEXIST, sid, SPT_MAP_4K, SPT_TEST_VA, SZ_64K, 0,
		     SPT_PROT_WRITE);
	if (phys) {
		ASSERT_EQ(0, _spt_map(self->env.fd, sid, SPT_MAP_PHYS,
				      SPT_TEST_VA + SZ_1G, SZ_2M + SZ_4K,
				      SPT_TEST_PHYS, 0, SPT_CACHE_MODE_UC,
				      &mapped));
	} else {
		TH_LOG("allow_phys not settable: no untracked map traced");
	}
	test_cmd_protect(sid, 0, SPT_TEST_VA, SZ_64K, 0, SPT_CACHE_MODE_WB,
			 NULL);
	test_cmd_query(sid, SPT_TEST_VA, &q);
	test_cmd_unmap(sid, SPT_TEST_VA, 2 * SZ_1G, NULL);
	loaded = !_spt_load(self->env.fd, sid, &op, 1, &load);
	if (!loaded)
		TH_LOG("no load window (%s): load events not checked",
		       strerror(errno));
	test_cmd_space_destroy(sid);
	/*
	 * Nodes go back to the pool (spt_node_free) once their grace period
	 * has passed, by the reclaim worker: wait until nothing is pending.
	 */
	for (i = 0; i < 1000; i++) {
		struct spt_stats st = { .size = sizeof(st) };

		ASSERT_EQ(0, ioctl(self->env.fd, SPT_IOCTL_STATS, &st));
		if (!st.reclaim_pending_frames)
			break;
		usleep(10000);
	}
	ASSERT_GT(1000, i) TH_LOG("frames still pending after 10 s");

	spt_read_events();
	n = self->nr_evs;

	snprintf(w, sizeof(w), "space=%u levels=%u", sid, levels);
	i0 = spt_find(self->evs, 0, n, "spt_space_create", w);
	ASSERT_LE(0, i0) spt_log_events(_metadata, self->evs, n);
	/* The root is allocated before the space is published. */
	snprintf(w, sizeof(w), "level=%u", levels);
	EXPECT_LE(0, spt_find(self->evs, 0, i0, "spt_node_alloc", w));

	snprintf(w, sizeof(w),
		 "space=%u va=0x%llx len=0x10000 flags=4K done=0x10000 level=1 count=16 err=0",
		 sid, SPT_TEST_VA);
	im = spt_find(self->evs, i0, n, "spt_map", w);
	ASSERT_LT(i0, im) spt_log_events(_metadata, self->evs, n);
	/* The map made one node per level below the root. */
	for (l = 1; l < levels; l++) {
		snprintf(w, sizeof(w), "level=%u", l);
		EXPECT_LE(0, spt_find(self->evs, i0, im, "spt_node_alloc", w))
			TH_LOG("no node_alloc level=%u before the map", l);
	}

	snprintf(w, sizeof(w),
		 "space=%u va=0x%llx len=0x10000 done=0x0 level=0 count=0 err=%d",
		 sid, SPT_TEST_VA, -EEXIST);
	ie = spt_find(self->evs, im, n, "spt_map", w);
	ASSERT_LT(im, ie) spt_log_events(_metadata, self->evs, n);

	ip = ie;
	if (phys) {
		/* 2 MiB + 4 KiB at a 1 GiB-aligned pa: a 2M and a 4K leaf. */
		snprintf(w, sizeof(w),
			 "space=%u va=0x%llx len=0x201000 flags=PHYS done=0x201000 level=2 count=2 err=0",
			 sid, SPT_TEST_VA + SZ_1G);
		ip = spt_find(self->evs, ie, n, "spt_map", w);
		ASSERT_LT(ie, ip) spt_log_events(_metadata, self->evs, n);
	}

	/* protect: its flush (no CPU has the space loaded), then itself. */
	snprintf(w, sizeof(w), "space=%u cpus=0 start=0x%llx pages=16", sid,
		 SPT_TEST_VA);
	it = spt_find(self->evs, ip, n, "spt_tlb_flush", w);
	ASSERT_LT(ip, it) spt_log_events(_metadata, self->evs, n);
	snprintf(w, sizeof(w),
		 "space=%u va=0x%llx len=0x10000 done=0x10000 level=1 count=16 err=0",
		 sid, SPT_TEST_VA);
	ipr = spt_find(self->evs, it, n, "spt_protect", w);
	ASSERT_LT(it, ipr) spt_log_events(_metadata, self->evs, n);

	/*
	 * unmap: the event; every node below the root goes back to the pool
	 * once its grace period has passed (which may be before the event).
	 */
	snprintf(w, sizeof(w),
		 "space=%u va=0x%llx len=0x80000000 done=0x80000000 count=%d err=0",
		 sid, SPT_TEST_VA, phys ? 18 : 16);
	iu = spt_find(self->evs, ipr, n, "spt_unmap", w);
	ASSERT_LT(ipr, iu) spt_log_events(_metadata, self->evs, n);
	for (l = 1; l < levels; l++) {
		snprintf(w, sizeof(w), "level=%u", l);
		EXPECT_LE(0, spt_find(self->evs, ipr, n, "spt_node_free", w))
			TH_LOG("no node_free level=%u after the protect", l);
	}
	snprintf(w, sizeof(w), "space=%u", sid);
	EXPECT_LT(ipr, spt_find(self->evs, ipr, iu, "spt_tlb_flush", w));

	ilb = iu;
	if (loaded) {
		snprintf(w, sizeof(w), "space=%u cpu=%u ops=1", sid,
			 load.out_cpu);
		ilb = spt_find(self->evs, iu, n, "spt_load_begin", w);
		ASSERT_LT(iu, ilb) spt_log_events(_metadata, self->evs, n);
		/* A read of what was unmapped: one fault. */
		snprintf(w, sizeof(w),
			 "space=%u cpu=%u ops=1 faults=1 status=%d err=0", sid,
			 load.out_cpu, SPT_LOAD_DONE);
		ile = spt_find(self->evs, ilb, n, "spt_load_end", w);
		ASSERT_LT(ilb, ile) spt_log_events(_metadata, self->evs, n);
		ilb = ile;
	}

	snprintf(w, sizeof(w), "space=%u", sid);
	id = spt_find(self->evs, ilb, n, "spt_space_destroy", w);
	ASSERT_LT(ilb, id) spt_log_events(_metadata, self->evs, n);
	snprintf(w, sizeof(w), "level=%u", levels);
	EXPECT_LT(ilb, spt_find(self->evs, ilb, n, "spt_node_free", w))
		TH_LOG("the root is not freed after the last load window");

	/* Nothing of this space after its destroy event. */
	for (i = id + 1; i < n; i++) {
		snprintf(w, sizeof(w), "space=%u", sid);
		EXPECT_FALSE(spt_args_match(self->evs[i].args, w))
			TH_LOG("after destroy: %s: %s", self->evs[i].name,
			       self->evs[i].args);
	}
	/* Every node allocated in the session was freed. */
	for (l = 1; l <= levels; l++) {
		int a = 0, f = 0;

		for (i = 0; i < n; i++) {
			snprintf(w, sizeof(w), "level=%u", l);
			if (!spt_args_match(self->evs[i].args, w))
				continue;
			a += !strcmp(self->evs[i].name, "spt_node_alloc");
			f += !strcmp(self->evs[i].name, "spt_node_free");
		}
		EXPECT_EQ(a, f) TH_LOG("level %u: %d allocated, %d freed",
				       l, a, f);
	}
}

/* With the events off in this instance, the same operations log nothing. */
TEST_F(trace, disabled_logs_nothing)
{
	__u32 sid;

	snprintf(self->path, sizeof(self->path), "%s/events/shadowpt/enable",
		 self->inst);
	ASSERT_EQ(0, spt_write_str(self->path, "0"));
	snprintf(self->path, sizeof(self->path), "%s/trace", self->inst);
	ASSERT_EQ(0, spt_write_str(self->path, ""));
	test_cmd_space_create(0, &sid);
	test_cmd_map(sid, SPT_MAP_4K, SPT_TEST_VA, SZ_64K, 0, SPT_PROT_WRITE);
	test_cmd_unmap(sid, SPT_TEST_VA, SZ_64K, NULL);
	test_cmd_space_destroy(sid);
	spt_read_events();
	EXPECT_EQ(0, self->nr_evs)
		spt_log_events(_metadata, self->evs, self->nr_evs);
}

TEST_HARNESS_MAIN
