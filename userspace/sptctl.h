/* SPDX-License-Identifier: GPL-2.0 */
/*
 * sptctl: the command table, shared option parsing and the one ioctl
 * helper every command goes through.
 */
#ifndef SPTCTL_H
#define SPTCTL_H

#include <stdbool.h>
#include <stdint.h>
#include <linux/shadowpt.h>
#include <libshadowpt.h>

#include "util.h"

/* -j/--json, given before or after the command. */
extern bool opt_json;

struct cmd {
	const char *group;	/* "space", "map", ... */
	const char *sub;	/* "create" for "space create", else NULL */
	int (*run)(const struct cmd *cmd, int argc, char **argv);
	const char *synopsis;	/* arguments after the command name */
	const char *help;	/* description and options, for --help */
};

/* Options of one command; the table ends with a NULL name. */
enum opt_type {
	OPT_FLAG,	/* bool */
	OPT_STR,	/* const char * */
	OPT_SIZE,	/* uint64_t, parse_size() */
	OPT_ADDR,	/* uint64_t, parse_addr() */
	OPT_U64,	/* uint64_t, plain number */
	OPT_PROT,	/* uint32_t, parse_prot() */
	OPT_CACHE,	/* uint32_t, parse_cache() */
};

struct opt {
	const char *name;	/* long name without "--" */
	enum opt_type type;
	void *dest;
	bool *seen;		/* optional: set when given */
};

/*
 * Parse argv (argv[0] is the command word) with the command's options plus
 * -j/--json and -h/--help. --help prints the command's help and exits 0;
 * a bad option or a positional count outside [min, max] prints usage and
 * exits 2. Returns the number of positionals, stored in *pos.
 */
int cmd_parse(const struct cmd *cmd, int argc, char **argv,
	      const struct opt *opts, int min, int max, char ***pos);
/* Print "sptctl: <msg>" and the usage hint for cmd, exit 2. */
void cmd_usage_error(const struct cmd *cmd, const char *fmt, ...)
	__attribute__((format(printf, 2, 3), noreturn));

/* Positional parsers: exit 2 with "invalid WHAT 'arg'" on garbage. */
uint32_t arg_space(const struct cmd *cmd, const char *s);
uint64_t arg_addr(const struct cmd *cmd, const char *what, const char *s);
uint64_t arg_size(const struct cmd *cmd, const char *what, const char *s);
uint32_t arg_prot(const struct cmd *cmd, const char *s);

/*
 * The libshadowpt handle of /dev/shadowpt, opened on first use (dies if
 * that fails). Every device operation goes through libshadowpt.
 */
struct spt *sptlib(void);
/* A new netlink handle; dies with a hint when the family is missing. */
struct spt_nl *sptnl_open(void);

/* The commands, one file per group. */
int cmd_version(const struct cmd *cmd, int argc, char **argv);
int cmd_space_create(const struct cmd *cmd, int argc, char **argv);
int cmd_space_list(const struct cmd *cmd, int argc, char **argv);
int cmd_space_destroy(const struct cmd *cmd, int argc, char **argv);
int cmd_space_info(const struct cmd *cmd, int argc, char **argv);
int cmd_map(const struct cmd *cmd, int argc, char **argv);
int cmd_unmap(const struct cmd *cmd, int argc, char **argv);
int cmd_protect(const struct cmd *cmd, int argc, char **argv);
int cmd_bits(const struct cmd *cmd, int argc, char **argv);
int cmd_query(const struct cmd *cmd, int argc, char **argv);
int cmd_read(const struct cmd *cmd, int argc, char **argv);
int cmd_peek(const struct cmd *cmd, int argc, char **argv);
int cmd_write(const struct cmd *cmd, int argc, char **argv);
int cmd_dump(const struct cmd *cmd, int argc, char **argv);
int cmd_stats(const struct cmd *cmd, int argc, char **argv);
int cmd_check(const struct cmd *cmd, int argc, char **argv);
int cmd_monitor(const struct cmd *cmd, int argc, char **argv);
int cmd_load(const struct cmd *cmd, int argc, char **argv);
int cmd_run(const struct cmd *cmd, int argc, char **argv);

/* enum spt_load_window_status: "done", "stopped" (load.c; FMT_BUF buf). */
const char *fmt_load_status(char *buf, uint32_t status);

#endif /* SPTCTL_H */
