// SPDX-License-Identifier: GPL-2.0
/*
 * sptctl space create | list | destroy | info
 */
#include <errno.h>
#include <string.h>

#include "sptctl.h"

int cmd_space_create(const struct cmd *cmd, int argc, char **argv)
{
	struct spt_space_create c = { 0 };
	bool fd_owned = false;
	const struct opt opts[] = {
		{ "fd-owned", OPT_FLAG, &fd_owned, NULL },
		{ NULL, 0, NULL, NULL },
	};
	char **pos;
	char buf[FMT_BUF];
	int err;

	cmd_parse(cmd, argc, argv, opts, 0, 0, &pos);
	c.flags = fd_owned ? SPT_SPACE_FD_OWNED : 0;
	err = spt_space_create(sptlib(), c.flags, &c);
	if (err < 0)
		die(-err, "space create");
	if (opt_json) {
		json_obj_begin(NULL);
		json_u64("id", c.out_space_id);
		json_u64("levels", c.out_levels);
		json_addr("root_pa", c.out_root_pa);
		json_bool("fd_owned", fd_owned);
		json_obj_end();
	} else {
		/* Just the id, for id=$(sptctl space create). */
		printf("%u\n", c.out_space_id);
		if (fd_owned)
			note("space %u (root %s) is fd-owned: destroyed as sptctl exits",
			     c.out_space_id, fmt_addr(buf, c.out_root_pa));
	}
	return 0;
}

struct list_ctx {
	struct table t;
	unsigned int n;
};

static int list_one(const struct spt_space_desc *s, void *arg)
{
	struct list_ctx *l = arg;
	uint32_t id = s->id, flags = s->flags, levels = s->levels;
	uint32_t pid = s->owner_pid;
	uint64_t root = s->root_pa, data = s->data_frames;
	uint64_t nodes = s->node_frames, bytes = s->mapped_bytes;
	char b1[FMT_BUF], b2[FMT_BUF];
	/* Only callers with CAP_SYS_ADMIN are told physical addresses. */
	bool has_root = s->has & SPT_HAS_ROOT_PA;

	l->n++;
	if (opt_json) {
		json_obj_begin(NULL);
		json_u64("id", id);
		json_bool("fd_owned", flags & SPT_SPACE_FD_OWNED);
		json_u64("levels", levels);
		if (has_root)
			json_addr("root_pa", root);
		else
			json_null("root_pa");
		json_u64("owner_pid", pid);
		json_u64("data_frames", data);
		json_u64("node_frames", nodes);
		json_u64("mapped_bytes", bytes);
		json_obj_end();
		return 0;
	}
	table_cell(&l->t, "%u", id);
	table_cell(&l->t, "%u", levels);
	table_cell(&l->t, "%s", has_root ? fmt_addr(b1, root) : "-");
	table_cell(&l->t, "%u", pid);
	table_cell(&l->t, "%s", flags & SPT_SPACE_FD_OWNED ? "fd" : "id");
	table_cell(&l->t, "%llu", (unsigned long long)nodes);
	table_cell(&l->t, "%llu", (unsigned long long)data);
	table_cell(&l->t, "%s", fmt_size(b2, bytes));
	return 0;
}

int cmd_space_list(const struct cmd *cmd, int argc, char **argv)
{
	struct list_ctx l = { 0 };
	struct spt_nl *nl;
	char **pos;
	int err;

	cmd_parse(cmd, argc, argv, NULL, 0, 0, &pos);
	nl = sptnl_open();
	if (opt_json)
		json_arr_begin(NULL);
	else
		table_init(&l.t, "rrlrlrrr", "ID", "LEVELS", "ROOT_PA", "PID",
			   "OWNER", "NODES", "DATA_FRAMES", "MAPPED", NULL);
	err = -spt_dump_spaces(nl, list_one, &l);
	if (opt_json) {
		json_arr_end();
	} else {
		table_print(&l.t);
		if (!l.n)
			printf("(no spaces)\n");
	}
	spt_nl_close(nl);
	if (err)
		die(err, "space list");
	return 0;
}

int cmd_space_destroy(const struct cmd *cmd, int argc, char **argv)
{
	struct spt_space_destroy d = { 0 };
	char **pos;
	int err;

	cmd_parse(cmd, argc, argv, NULL, 1, 1, &pos);
	d.space_id = arg_space(cmd, pos[0]);
	err = -spt_space_destroy(sptlib(), d.space_id);
	if (err)
		die(err, "space destroy %u", d.space_id);
	if (opt_json) {
		json_obj_begin(NULL);
		json_u64("id", d.space_id);
		json_bool("destroyed", true);
		json_obj_end();
	} else {
		printf("destroyed space %u\n", d.space_id);
	}
	return 0;
}

int cmd_space_info(const struct cmd *cmd, int argc, char **argv)
{
	struct spt_space_info in = { 0 };
	char b[FMT_BUF], cpus[64 * 4] = "";
	unsigned int cpu;
	char **pos;
	int err;

	cmd_parse(cmd, argc, argv, NULL, 1, 1, &pos);
	in.space_id = arg_space(cmd, pos[0]);
	err = -spt_space_info(sptlib(), in.space_id, &in);
	if (err)
		die(err, "space info %u", in.space_id);
	if (opt_json) {
		json_obj_begin(NULL);
		json_u64("id", in.space_id);
		json_bool("fd_owned", in.out_flags & SPT_SPACE_FD_OWNED);
		json_u64("levels", in.out_levels);
		json_addr("root_pa", in.out_root_pa);
		json_u64("owner_pid", in.out_owner_pid);
		json_u64("data_frames", in.out_data_frames);
		json_u64("node_frames", in.out_node_frames);
		json_u64("mapped_bytes", in.out_mapped_bytes);
		json_arr_begin("loaded_cpus");
		for (cpu = 0; cpu < 64; cpu++)
			if (in.out_loaded_cpus & (1ULL << cpu))
				json_u64(NULL, cpu);
		json_arr_end();
		json_obj_end();
		return 0;
	}
	for (cpu = 0; cpu < 64; cpu++) {
		size_t at = strlen(cpus);

		if (in.out_loaded_cpus & (1ULL << cpu))
			snprintf(cpus + at, sizeof(cpus) - at, "%s%u",
				 at ? "," : "", cpu);
	}
	printf("space         %u\n", in.space_id);
	printf("owner         %s, pid %u\n",
	       in.out_flags & SPT_SPACE_FD_OWNED ? "file descriptor" : "id",
	       in.out_owner_pid);
	printf("levels        %u\n", in.out_levels);
	printf("root_pa       %s\n", fmt_addr(b, in.out_root_pa));
	printf("node_frames   %llu\n",
	       (unsigned long long)in.out_node_frames);
	printf("data_frames   %llu\n",
	       (unsigned long long)in.out_data_frames);
	printf("mapped        %s (%llu bytes)\n",
	       fmt_size(b, in.out_mapped_bytes),
	       (unsigned long long)in.out_mapped_bytes);
	printf("loaded_cpus   %s\n", *cpus ? cpus : "none");
	return 0;
}
