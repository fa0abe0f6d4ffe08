// SPDX-License-Identifier: GPL-2.0
/*
 * sptctl: drive shadowpt address spaces from the command line.
 *
 * This file holds the command table, the option parsing every command
 * shares, and the libshadowpt handle; the commands live in one file per
 * group (space.c, map.c, query.c, dump.c, stats.c, monitor.c, load.c).
 */
#include <errno.h>
#include <fcntl.h>
#include <getopt.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "sptctl.h"

bool opt_json;

/*
 * The uAPI as compiled here: the size of each struct's first release (the
 * kernel refuses anything smaller) and 8-byte multiples, so that 32- and
 * 64-bit builds agree. A change to ../uapi that moves a field fails here.
 */
#define UAPI_SIZE(s, n) \
	_Static_assert(sizeof(struct s) == (n) && sizeof(struct s) % 8 == 0, \
		       "uapi struct " #s " changed size")
UAPI_SIZE(spt_version, 40);
UAPI_SIZE(spt_space_create, 24);
UAPI_SIZE(spt_space_destroy, 16);
UAPI_SIZE(spt_space_info, 64);
UAPI_SIZE(spt_map, 72);
UAPI_SIZE(spt_unmap, 48);
UAPI_SIZE(spt_protect, 56);
UAPI_SIZE(spt_query_entry, 40);
UAPI_SIZE(spt_query_va, 64);
UAPI_SIZE(spt_query_batch, 40);
UAPI_SIZE(spt_rw, 48);
UAPI_SIZE(spt_stats, 224);
UAPI_SIZE(spt_check, 24);
UAPI_SIZE(spt_load_op, 72);
UAPI_SIZE(spt_load, 72);
UAPI_SIZE(spt_query_run, 40);
UAPI_SIZE(spt_query_range, 56);
UAPI_SIZE(spt_user_run, 352);
UAPI_SIZE(spt_mmap, 56);

#define OPT_GLOBAL_HELP \
	"  -j, --json   output JSON instead of text\n" \
	"  -h, --help   this help\n"

static const struct cmd commands[] = {
	{ "version", NULL, cmd_version, "",
	  "Show what the loaded module supports (SPT_IOCTL_VERSION): API\n"
	  "version, paging levels, physical address bits, bytes of metadata\n"
	  "per frame and the end of the user half.\n" },
	{ "space", "create", cmd_space_create, "[--fd-owned]",
	  "Create an empty space and print its id.\n"
	  "  --fd-owned   tie the space to sptctl's file descriptor: it is\n"
	  "               destroyed when sptctl exits, i.e. at once (for tests\n"
	  "               of the release path)\n" },
	{ "space", "list", cmd_space_list, "",
	  "List every live space (netlink dump).\n" },
	{ "space", "destroy", cmd_space_destroy, "ID",
	  "Destroy a space and free everything it holds.\n" },
	{ "space", "info", cmd_space_info, "ID",
	  "Describe one space (SPT_IOCTL_SPACE_INFO).\n" },
	{ "map", NULL, cmd_map,
	  "ID VA LEN [--4k|--2m|--largest] [--phys PA] [--prot PROT]\n"
	  "           [--cache MODE] [--replace] | ID VA LEN --share SRC_ID:SRC_VA\n"
	  "           | ID VA LEN --file PATH",
	  "Map [VA, VA+LEN) with fresh zeroed frames from the pool (tracked),\n"
	  "or the physical range at PA (untracked), or what backs\n"
	  "[SRC_VA, SRC_VA+LEN) of space SRC_ID (the same frames: --share).\n"
	  "  --4k         4 KiB leaves (default)\n"
	  "  --2m         2 MiB leaves; VA and LEN 2 MiB aligned\n"
	  "  --largest    2 MiB leaves where aligned, 4 KiB elsewhere\n"
	  "  --phys PA    untracked map of physical PA (needs allow_phys=1)\n"
	  "  --prot PROT  letters r, w, x, u (default rw)\n"
	  "  --cache MODE wb, wt, uc-, uc, wc, or pat0..pat7 (PAT entry\n"
	  "               by index; default wb)\n"
	  "  --replace    replace what is mapped instead of failing\n"
	  "  --share SRC_ID:SRC_VA  share the source's frames (SRC_ID may be ID:\n"
	  "               an alias); with --prot and --cache only\n"
	  "  --file PATH  map the first LEN bytes of the file PATH: mapped\n"
	  "               MAP_SHARED and pinned (SPT_MAP_USER, charged to\n"
	  "               RLIMIT_MEMLOCK); the space keeps the pages after\n"
	  "               sptctl exits; with --prot and --cache only (the\n"
	  "               file is opened read-write if PROT has w; on 6.12\n"
	  "               only tmpfs/shmem files can be pinned writable)\n" },
	{ "unmap", NULL, cmd_unmap, "ID VA LEN",
	  "Unmap [VA, VA+LEN); huge leaves sticking out are split.\n" },
	{ "protect", NULL, cmd_protect, "ID VA LEN PROT [--cache MODE]",
	  "Set the protection (letters r, w, x, u) of what is mapped in\n"
	  "[VA, VA+LEN); huge leaves sticking out are split.\n"
	  "  --cache MODE also set the cache mode (wb, wt, uc-, uc, wc,\n"
	  "               pat0..pat7)\n" },
	{ "bits", NULL, cmd_bits,
	  "ID VA LEN --level N [--set BITS] [--clear BITS] [--rsvd]",
	  "Set and clear bits of the page-table entries of level N (1: 4 KiB\n"
	  "leaves .. 4 or 5: the root's entries) whose span meets [VA, VA+LEN),\n"
	  "child entries and huge leaves included (SPT_IOCTL_ENTRY_BITS). The MMU\n"
	  "ANDs W and U down the walk and ORs NX; query shows the result.\n"
	  "BITS: comma-separated w, u, nx, pwt, pcd, rsvd, avl=N (0..63, bits\n"
	  "52..57), pkey=N (0..15, level 1 only). Prints the entries met and\n"
	  "changed, and the first one's bits after the change.\n"
	  "  --rsvd       allow rsvd (bit 51, reserved) in --set: accesses\n"
	  "               then take a reserved-bit #PF\n" },
	{ "query", NULL, cmd_query,
	  "ID VA [VA...] [--tables] | ID VA --len LEN [--pages]",
	  "Translate addresses by a software walk: the leaf (or absent slot)\n"
	  "containing each VA, its physical address, level, protection (with\n"
	  "the hardware A and D bits), cache mode, whether it is tracked.\n"
	  "  --len LEN    [VA, VA+LEN) by one range query: its merged runs\n"
	  "               (RANGE is the run; unmapped parts are left out)\n"
	  "  --pages      with --len: one row per 4 KiB page instead\n"
	  "  --tables     walk the space's page tables mapped read-only\n"
	  "               (SPT_IOCTL_TABLES), no system call per query\n" },
	{ "read", NULL, cmd_read, "ID VA LEN [--hex|--raw]",
	  "Read bytes through the space (tracked frames only).\n"
	  "  --hex        one hex string (input for write --hex)\n"
	  "  --raw        the bytes themselves\n"
	  "  (default: a hexdump with addresses)\n" },
	{ "peek", NULL, cmd_peek, "ID VA LEN",
	  "Read bytes through a mapping of the space's frames in this\n"
	  "process (SPT_IOCTL_MMAP + mmap; pool frames only): a hexdump\n"
	  "with addresses, or -j: {space, va, length, data_hex}.\n" },
	{ "write", NULL, cmd_write, "ID VA (STRING | --hex HEX | --file FILE)",
	  "Write bytes through the space (tracked frames only): the bytes of\n"
	  "STRING (no terminating NUL), of the hex string HEX, or of FILE\n"
	  "(- for stdin).\n" },
	{ "dump", NULL, cmd_dump, "ID [--from VA] [--to VA] [--dot]",
	  "Print the mappings as merged runs (contiguous VA and physical\n"
	  "addresses, same properties), streamed from the kernel:\n"
	  "  START-END  SIZE  LEAVES x LEAF  phys PA  PROT  CACHE  TRACKED\n"
	  "  --from VA    start at VA (runs may begin before it)\n"
	  "  --to VA      stop at VA\n"
	  "  --dot        the tree instead, as a Graphviz graph: the root, the\n"
	  "               nodes that lead to leaves, and the leaves of each\n"
	  "               node as runs (render: dot -Tsvg)\n" },
	{ "stats", NULL, cmd_stats, "[ID]",
	  "Pool counters, and with ID the space's nodes per level and leaves\n"
	  "per size.\n" },
	{ "check", NULL, cmd_check, "ID",
	  "Run the invariant checker on a space: prints OK, or the first\n"
	  "violation and exits 1.\n" },
	{ "load", NULL, cmd_load,
	  "ID [--cpu N] [--force] [--timed] [--pat PAT] OP...",
	  "Run OPs with the space in CR3, with interrupts off, on an isolated\n"
	  "CPU (a load window): the MMU itself walks the space. OPs:\n"
	  "  read VA[:SIZE]           read SIZE bytes (1, 2, 4, 8; default 8)\n"
	  "  write VA=VALUE[:SIZE]    write VALUE as SIZE bytes\n"
	  "  fetch VA                 execute a stub at VA (written there first;\n"
	  "                           only on supervisor exec pages, otherwise\n"
	  "                           the fault is predicted, not taken)\n"
	  "  unmap VA LEN             unmap in the window\n"
	  "  protect VA LEN PROT      set PROT (letters r, w, x, u) in the window\n"
	  "  map VA LEN PROT          map fresh 4 KiB frames (LEN <= 2M)\n"
	  "  noflush unmap|protect|map ...  the same, but this CPU's TLB is\n"
	  "                           left alone (stale translations may be\n"
	  "                           used, shown as \"stale\") until:\n"
	  "  invlpg VA                INVLPG of VA on this CPU\n"
	  "  flush                    flush this CPU's TLB (CR3 reload);\n"
	  "  flush-invpcid, flush-invpcid-all  by INVPCID type 1 / 2\n"
	  "  ad-clear VA              clear the A and D bits of VA's leaf\n"
	  "                           (and INVLPG); ad-read VA: read them\n"
	  "--pat PAT runs the window with IA32_PAT = PAT (bytes 4..7 free,\n"
	  "0..3 the host's; restored before interrupts are on again).\n"
	  "An access followed by \"user\" is made at CPL 3 (read, write, fetch;\n"
	  "allow_runs=1 and CAP_SYS_ADMIN), by \"smap\" in kernel mode with\n"
	  "SMAP in force (read, write): the MMU decides, a fault shows its #PF\n"
	  "error code (\"read VA:4 user\", \"write VA=1 smap x3\").\n"
	  "An access followed by xN (\"read VA x2\") is repeated N times and\n"
	  "timed (a CYCLES column: the first is a TLB miss, the next hits).\n"
	  "One row per op: ok, fault (with the walker's explanation), predicted\n"
	  "fault, error or not run (the window's time bound, module parameter\n"
	  "window_us, ran out). Faults are results: the exit status is 0 when\n"
	  "the window ran.\n"
	  "  --cpu N      run on CPU N (default: the first isolated CPU)\n"
	  "  --force      allow a CPU that is not isolated (isolcpus=)\n"
	  "  --timed      time every read, write and fetch (TSC cycles)\n" },
	{ "run", NULL, cmd_run,
	  "ID --entry VA --stack VA [--reg NAME=VALUE]... [--code FILE@VA]...\n"
	  "    [--rflags N] [--cpu N] [--force]",
	  "Run user code at CPL 3 in the space (SPT_IOCTL_RUN; module parameter\n"
	  "allow_runs=1): from --entry (a page mapped u+x) with the stack\n"
	  "pointer --stack (the page below it mapped u+w), until the first\n"
	  "exception, syscall, int $n or the time bound (window_us). Prints the\n"
	  "exit (reason, vector, error code; for #PF cr2, the error code's bits\n"
	  "and the software walker's explanation) and the registers.\n"
	  "  --reg NAME=VALUE  initial register (rax..r15; repeatable)\n"
	  "  --code FILE@VA    write FILE's bytes at VA first (repeatable)\n"
	  "  --rflags N        arithmetic flags, TF, DF, AC (IF/IOPL refused)\n"
	  "  --cpu N           run on CPU N (default: the first isolated CPU)\n"
	  "  --force           allow a CPU that is not isolated\n" },
	{ "monitor", NULL, cmd_monitor, "[--count N] [--timeout SEC]",
	  "Print one line per event of the \"events\" multicast group (with\n"
	  "-j one JSON object per line). Says \"listening\" on stderr once\n"
	  "subscribed.\n"
	  "  --count N    exit after N events (exit 1 if the timeout comes\n"
	  "               first)\n"
	  "  --timeout SEC exit after SEC seconds\n" },
};

static void cmd_name(const struct cmd *cmd, char *buf, size_t n)
{
	snprintf(buf, n, "%s%s%s", cmd->group, cmd->sub ? " " : "",
		 cmd->sub ? cmd->sub : "");
}

static void print_usage_line(FILE *f, const struct cmd *cmd)
{
	char name[64];

	cmd_name(cmd, name, sizeof(name));
	fprintf(f, "  sptctl [-j] %s%s%s\n", name, *cmd->synopsis ? " " : "",
		cmd->synopsis);
}

static void usage(FILE *f)
{
	size_t i;

	fputs("usage: sptctl [-j|--json] COMMAND [ARGS...]\n\n", f);
	for (i = 0; i < ARRAY_SIZE(commands); i++)
		print_usage_line(f, &commands[i]);
	fputs("\nNumbers: sizes and addresses are decimal or 0x-hex, with an\n"
	      "optional binary suffix K, M, G, T (16M = 0x1000000).\n"
	      "'sptctl COMMAND --help' describes a command; see sptctl(8).\n",
	      f);
}

static void cmd_help(const struct cmd *cmd)
{
	fputs("usage:\n", stdout);
	print_usage_line(stdout, cmd);
	printf("\n%s", cmd->help);
	fputs(OPT_GLOBAL_HELP, stdout);
}

void cmd_usage_error(const struct cmd *cmd, const char *fmt, ...)
{
	char name[64];
	va_list ap;

	cmd_name(cmd, name, sizeof(name));
	fflush(stdout);
	fprintf(stderr, "sptctl: %s: ", name);
	va_start(ap, fmt);
	vfprintf(stderr, fmt, ap);
	va_end(ap);
	fputc('\n', stderr);
	print_usage_line(stderr, cmd);
	fprintf(stderr, "Try 'sptctl %s --help'.\n", name);
	exit(EXIT_USAGE);
}

static bool opt_store(const struct opt *o, const char *arg)
{
	switch (o->type) {
	case OPT_FLAG:
		*(bool *)o->dest = true;
		return true;
	case OPT_STR:
		*(const char **)o->dest = arg;
		return true;
	case OPT_SIZE:
		return parse_size(arg, o->dest);
	case OPT_ADDR:
		return parse_addr(arg, o->dest);
	case OPT_U64:
		return parse_u64(arg, o->dest);
	case OPT_PROT:
		return parse_prot(arg, o->dest);
	case OPT_CACHE:
		return parse_cache(arg, o->dest);
	}
	return false;
}

int cmd_parse(const struct cmd *cmd, int argc, char **argv,
	      const struct opt *opts, int min, int max, char ***pos)
{
	struct option lopts[32];
	int n = 0, c, npos;

	lopts[n++] = (struct option){ "json", no_argument, NULL, 'j' };
	lopts[n++] = (struct option){ "help", no_argument, NULL, 'h' };
	for (c = 0; opts && opts[c].name; c++) {
		if (n >= (int)ARRAY_SIZE(lopts) - 1)
			die(E2BIG, "too many options");
		lopts[n++] = (struct option){
			opts[c].name,
			opts[c].type == OPT_FLAG ? no_argument :
						   required_argument,
			NULL, 256 + c,
		};
	}
	lopts[n] = (struct option){ NULL, 0, NULL, 0 };

	optind = 0;	/* glibc: rescan from argv[1] with fresh state */
	opterr = 0;
	while ((c = getopt_long(argc, argv, ":jh", lopts, NULL)) != -1) {
		const struct opt *o;

		switch (c) {
		case 'j':
			opt_json = true;
			continue;
		case 'h':
			cmd_help(cmd);
			exit(0);
		case ':':
			cmd_usage_error(cmd, "option '%s' needs an argument",
					argv[optind - 1]);
		case '?':
			cmd_usage_error(cmd, "unknown option '%s'",
					argv[optind - 1]);
		}
		o = &opts[c - 256];
		if (!opt_store(o, optarg))
			cmd_usage_error(cmd, "invalid --%s '%s'", o->name,
					optarg);
		if (o->seen)
			*o->seen = true;
	}
	npos = argc - optind;
	if (npos < min)
		cmd_usage_error(cmd, "missing argument");
	if (max >= 0 && npos > max)
		cmd_usage_error(cmd, "too many arguments");
	*pos = argv + optind;
	return npos;
}

uint32_t arg_space(const struct cmd *cmd, const char *s)
{
	uint32_t id;

	if (!parse_u32(s, &id))
		cmd_usage_error(cmd, "invalid space ID '%s'", s);
	return id;
}

uint64_t arg_addr(const struct cmd *cmd, const char *what, const char *s)
{
	uint64_t v;

	if (!parse_addr(s, &v))
		cmd_usage_error(cmd, "invalid %s '%s'", what, s);
	return v;
}

uint64_t arg_size(const struct cmd *cmd, const char *what, const char *s)
{
	uint64_t v;

	if (!parse_size(s, &v))
		cmd_usage_error(cmd, "invalid %s '%s'", what, s);
	return v;
}

uint32_t arg_prot(const struct cmd *cmd, const char *s)
{
	uint32_t v;

	if (!parse_prot(s, &v))
		cmd_usage_error(cmd, "invalid PROT '%s' (letters r, w, x, u)",
				s);
	return v;
}

struct spt *sptlib(void)
{
	static struct spt *h;
	int err;

	if (!h) {
		err = spt_open(&h);
		if (err)
			die(-err, "open %s", SPT_DEVICE_PATH);
	}
	return h;
}

struct spt_nl *sptnl_open(void)
{
	struct spt_nl *nl;
	int err = spt_nl_open(&nl);

	if (err == -ENOMEM)
		die(ENOMEM, "netlink socket");
	if (err)
		die(-err, "generic netlink family \"%s\" (is shadowpt loaded?)",
		    SPT_GENL_NAME);
	return nl;
}

static const struct cmd *find_cmd(int argc, char **argv, int *words)
{
	bool group_known = false;
	size_t i;

	for (i = 0; i < ARRAY_SIZE(commands); i++) {
		const struct cmd *c = &commands[i];

		if (strcmp(c->group, argv[0]))
			continue;
		group_known = true;
		if (!c->sub) {
			*words = 1;
			return c;
		}
		if (argc > 1 && !strcmp(c->sub, argv[1])) {
			*words = 2;
			return c;
		}
	}
	if (group_known) {
		/* "space" alone, "space --help" or an unknown subcommand. */
		bool help = argc > 1 && (!strcmp(argv[1], "--help") ||
					 !strcmp(argv[1], "-h"));

		if (argc > 1 && !help)
			fprintf(stderr, "sptctl: %s: unknown command '%s'\n",
				argv[0], argv[1]);
		fprintf(help ? stdout : stderr, "usage:\n");
		for (i = 0; i < ARRAY_SIZE(commands); i++)
			if (!strcmp(commands[i].group, argv[0]))
				print_usage_line(help ? stdout : stderr,
						 &commands[i]);
		exit(help ? 0 : EXIT_USAGE);
	}
	return NULL;
}

int main(int argc, char **argv)
{
	static const struct option gopts[] = {
		{ "json", no_argument, NULL, 'j' },
		{ "help", no_argument, NULL, 'h' },
		{ NULL, 0, NULL, 0 },
	};
	const struct cmd *cmd;
	int c, words;

	/* Global options stop at the command word ('+'). */
	opterr = 0;
	while ((c = getopt_long(argc, argv, "+jh", gopts, NULL)) != -1) {
		switch (c) {
		case 'j':
			opt_json = true;
			break;
		case 'h':
			usage(stdout);
			return 0;
		default:
			fprintf(stderr, "sptctl: unknown option '%s'\n",
				argv[optind - 1]);
			usage(stderr);
			return EXIT_USAGE;
		}
	}
	argc -= optind;
	argv += optind;
	if (!argc) {
		usage(stderr);
		return EXIT_USAGE;
	}
	if (!strcmp(argv[0], "help")) {
		usage(stdout);
		return 0;
	}
	cmd = find_cmd(argc, argv, &words);
	if (!cmd) {
		fprintf(stderr, "sptctl: unknown command '%s'\n", argv[0]);
		usage(stderr);
		return EXIT_USAGE;
	}
	/* The command sees its own word as argv[0]. */
	return cmd->run(cmd, argc - words + 1, argv + words - 1);
}
