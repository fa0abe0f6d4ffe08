// SPDX-License-Identifier: GPL-2.0
/*
 * sptctl version | stats | check
 */
#include <errno.h>
#include <string.h>
#include <sys/ioctl.h>

#include "sptctl.h"

int cmd_version(const struct cmd *cmd, int argc, char **argv)
{
	struct spt_version v = { 0 };
	char b1[FMT_BUF], b2[FMT_BUF];
	char **pos;
	int err;

	cmd_parse(cmd, argc, argv, NULL, 0, 0, &pos);
	err = -spt_version(sptlib(), &v);
	if (err)
		die(err, "version");
	if (opt_json) {
		json_obj_begin(NULL);
		json_u64("api_version", v.out_api_version);
		json_u64("sptctl_api_version", SPT_API_VERSION);
		json_u64("levels", v.out_levels);
		json_u64("phys_bits", v.out_phys_bits);
		json_u64("meta_slot_bytes", v.out_meta_slot_bytes);
		json_addr("user_end", v.out_user_end);
		json_u64("page_sizes", v.out_page_sizes);
		json_obj_end();
		return 0;
	}
	printf("api_version      %u (sptctl built for %u)\n",
	       v.out_api_version, SPT_API_VERSION);
	printf("levels           %u\n", v.out_levels);
	printf("phys_bits        %u\n", v.out_phys_bits);
	printf("meta_slot_bytes  %u\n", v.out_meta_slot_bytes);
	printf("user_end         %s (%s)\n", fmt_addr(b1, v.out_user_end),
	       fmt_size(b2, v.out_user_end));
	printf("page_sizes       4K 2M%s\n",
	       v.out_page_sizes & (1ULL << 30) ? " 1G" : "");
	return 0;
}

struct stat_field {
	const char *name;
	size_t off;
	bool frames;	/* also shown in bytes */
};

#define POOL_FIELD(f, frames) { #f, offsetof(struct spt_stats, f), frames }

static const struct stat_field pool_fields[] = {
	POOL_FIELD(pool_limit_frames, true),
	POOL_FIELD(pool_chunk_frames, true),
	POOL_FIELD(pool_used_frames, true),
	POOL_FIELD(pool_free_frames, true),
	POOL_FIELD(pool_node_frames, true),
	POOL_FIELD(pool_data_frames, true),
	POOL_FIELD(pool_returned_frames, true),
	POOL_FIELD(pool_meta_bytes, false),
	POOL_FIELD(pool_allocs, false),
	POOL_FIELD(pool_alloc_failures, false),
	POOL_FIELD(nr_spaces, false),
	POOL_FIELD(meta_slot_bytes, false),
};

static uint64_t field(const struct spt_stats *st, const struct stat_field *f)
{
	uint64_t v;

	memcpy(&v, (const char *)st + f->off, sizeof(v));
	return v;
}

static const char *const leaf_names[] = { "4K", "2M", "1G" };

/*
 * The fields appended to struct spt_stats after the first release, which
 * spt_stats() does not ask for: the whole struct, straight from the
 * handle's descriptor. 0 or -errno.
 */
static int stats_tail(uint32_t id, struct spt_stats *full)
{
	memset(full, 0, sizeof(*full));
	full->size = sizeof(*full);
	full->space_id = id;
	return ioctl(spt_fd(sptlib()), SPT_IOCTL_STATS, full) ? -errno : 0;
}

int cmd_stats(const struct cmd *cmd, int argc, char **argv)
{
	struct spt_stats st = { 0 }, full;
	char b[FMT_BUF];
	unsigned int i;
	char **pos;
	int err;

	if (cmd_parse(cmd, argc, argv, NULL, 0, 1, &pos))
		st.space_id = arg_space(cmd, pos[0]);
	err = -spt_stats(sptlib(), st.space_id, &st);
	if (err) {
		if (st.space_id)
			die(err, "stats space %u", st.space_id);
		die(err, "stats");
	}
	err = stats_tail(st.space_id, &full);
	if (err)
		die(err, "stats");
	if (opt_json) {
		/* The uapi field names, flat. */
		json_obj_begin(NULL);
		json_u64("space_id", st.space_id);
		for (i = 0; i < ARRAY_SIZE(pool_fields); i++)
			json_u64(pool_fields[i].name,
				 field(&st, &pool_fields[i]));
		json_u64("procmap_frames", full.procmap_frames);
		json_u64("procmap_refs", full.procmap_refs);
		if (st.space_id) {
			json_arr_begin("space_nodes");
			for (i = 0; i < ARRAY_SIZE(st.space_nodes); i++)
				json_u64(NULL, st.space_nodes[i]);
			json_arr_end();
			json_arr_begin("space_leaves");
			for (i = 0; i < ARRAY_SIZE(st.space_leaves); i++)
				json_u64(NULL, st.space_leaves[i]);
			json_arr_end();
			json_u64("space_data_frames", st.space_data_frames);
		}
		json_obj_end();
		return 0;
	}
	printf("pool:\n");
	for (i = 0; i < ARRAY_SIZE(pool_fields); i++) {
		const struct stat_field *f = &pool_fields[i];
		uint64_t v = field(&st, f);

		printf("  %-22s %12llu", f->name, (unsigned long long)v);
		if (f->frames)
			printf("  (%s)", fmt_size(b, v * 4096));
		putchar('\n');
	}
	printf("  %-22s %12llu\n", "procmap_frames",
	       (unsigned long long)full.procmap_frames);
	printf("  %-22s %12llu\n", "procmap_refs",
	       (unsigned long long)full.procmap_refs);
	if (!st.space_id)
		return 0;
	printf("space %u:\n", st.space_id);
	printf("  %-22s", "nodes per level");
	for (i = 0; i < ARRAY_SIZE(st.space_nodes); i++)
		printf("  L%u %llu", i + 1,
		       (unsigned long long)st.space_nodes[i]);
	printf("\n  %-22s", "leaves");
	for (i = 0; i < ARRAY_SIZE(st.space_leaves); i++)
		printf("  %s %llu", leaf_names[i],
		       (unsigned long long)st.space_leaves[i]);
	printf("\n  %-22s %12llu  (%s)\n", "data_frames",
	       (unsigned long long)st.space_data_frames,
	       fmt_size(b, st.space_data_frames * 4096));
	return 0;
}

int cmd_check(const struct cmd *cmd, int argc, char **argv)
{
	char msg[1024] = "";
	struct spt_check c = { 0 };
	char **pos;
	int err;

	cmd_parse(cmd, argc, argv, NULL, 1, 1, &pos);
	c.space_id = arg_space(cmd, pos[0]);
	err = -spt_check(sptlib(), c.space_id, msg, sizeof(msg));
	if (err && err != EUCLEAN)
		die(err, "check space %u", c.space_id);
	msg[sizeof(msg) - 1] = '\0';
	if (opt_json) {
		json_obj_begin(NULL);
		json_u64("space", c.space_id);
		json_bool("ok", !err);
		if (err)
			json_str("violation", msg);
		json_obj_end();
	} else if (!err) {
		printf("OK\n");
	} else {
		printf("%s\n", msg);
	}
	if (err)
		die(err, "check space %u", c.space_id);
	return 0;
}
