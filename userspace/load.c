// SPDX-License-Identifier: GPL-2.0
/*
 * sptctl load: run a short program with a space in CR3 (SPT_IOCTL_LOAD)
 * and show what the MMU did with each operation.
 */
#include <errno.h>
#include <stdlib.h>
#include <string.h>

#include "sptctl.h"

static const char *const op_names[] = {
	[SPT_LOAD_OP_READ] = "read",
	[SPT_LOAD_OP_WRITE] = "write",
	[SPT_LOAD_OP_FETCH] = "fetch",
	[SPT_LOAD_OP_UNMAP] = "unmap",
	[SPT_LOAD_OP_PROTECT] = "protect",
	[SPT_LOAD_OP_MAP] = "map",
	[SPT_LOAD_OP_INVLPG] = "invlpg",
	[SPT_LOAD_OP_FLUSH] = "flush",
	[SPT_LOAD_OP_AD_CLEAR] = "ad-clear",
	[SPT_LOAD_OP_AD_READ] = "ad-read",
};

static const char *const flush_names[] = {
	[SPT_LOAD_FLUSH_CR3] = "cr3",
	[SPT_LOAD_FLUSH_INVPCID_SINGLE] = "invpcid",
	[SPT_LOAD_FLUSH_INVPCID_ALL] = "invpcid-all",
};

static const char *const result_names[] = {
	[SPT_LOAD_NOT_RUN] = "not run",
	[SPT_LOAD_OK] = "ok",
	[SPT_LOAD_FAULT] = "fault",
	[SPT_LOAD_PREDICTED] = "predicted fault",
	[SPT_LOAD_ERROR] = "error",
};

/* The fault bits other than NOT_PRESENT (which carries a level), in words. */
static const struct {
	uint32_t bit;
	const char *words;
} fault_words[] = {
	{ SPT_FAULT_READ_ONLY, "write to read-only page" },
	{ SPT_FAULT_USER, "fetch from user page (SMEP)" },
	{ SPT_FAULT_NX, "no-execute page" },
	{ SPT_FAULT_MISMATCH, "MISMATCH hardware vs walker" },
	{ SPT_FAULT_STALE, "stale translation (noflush)" },
	{ SPT_FAULT_RSVD, "reserved bit on the walk (not accessed)" },
	{ SPT_FAULT_PKEY, "protection key denies (PKRU)" },
};

const char *fmt_load_status(char *buf, uint32_t status)
{
	switch (status) {
	case SPT_LOAD_DONE:
		return "done";
	case SPT_LOAD_STOPPED_TIME:
		return "stopped";
	}
	snprintf(buf, FMT_BUF, "status%u", status);
	return buf;
}

static const char *name_of(const char *const *names, size_t n, uint32_t v,
			   char *buf)
{
	if (v < n && names[v])
		return names[v];
	snprintf(buf, FMT_BUF, "?%u", v);
	return buf;
}

#define OP_NAME(op, buf) \
	name_of(op_names, ARRAY_SIZE(op_names), (op), (buf))
#define RESULT_NAME(st, buf) \
	name_of(result_names, ARRAY_SIZE(result_names), (st), (buf))
#define FLUSH_NAME(m, buf) \
	name_of(flush_names, ARRAY_SIZE(flush_names), (m), (buf))

/* "not present at level 1, ..." into buf; "" when there is nothing. */
static void fault_text(const struct spt_load_op *op, char *buf, size_t n)
{
	size_t at = 0, i;

	buf[0] = '\0';
	if (op->out_fault & SPT_FAULT_NOT_PRESENT)
		at += (size_t)snprintf(buf, n, "not present at level %u",
				       op->out_level);
	for (i = 0; i < ARRAY_SIZE(fault_words) && at < n; i++)
		if (op->out_fault & fault_words[i].bit)
			at += (size_t)snprintf(buf + at, n - at, "%s%s",
					       at ? ", " : "",
					       fault_words[i].words);
}

/* ---- parsing the program ---- */

static void parse_width(const struct cmd *cmd, const char *word,
			const char *s, uint32_t *width)
{
	uint32_t w;

	if (!parse_u32(s, &w) || (w != 1 && w != 2 && w != 4 && w != 8))
		cmd_usage_error(cmd, "%s: SIZE '%s' is not 1, 2, 4 or 8",
				word, s);
	*width = w;
}

/* "VA[:SIZE]"; for write "VA=VALUE[:SIZE]". */
static void parse_access(const struct cmd *cmd, const char *word,
			 const char *arg, struct spt_load_op *op)
{
	char *s = xstrdup(arg), *colon, *eq;
	uint64_t v;

	op->width = 8;
	colon = strchr(s, ':');
	if (colon) {
		*colon = '\0';
		parse_width(cmd, word, colon + 1, &op->width);
	}
	if (op->op == SPT_LOAD_OP_WRITE) {
		eq = strchr(s, '=');
		if (!eq)
			cmd_usage_error(cmd, "write: '%s' is not VA=VALUE[:SIZE]",
					arg);
		*eq = '\0';
		if (!parse_u64(eq + 1, &v) ||
		    (op->width < 8 && v >> (8 * op->width)))
			cmd_usage_error(cmd, "write: invalid VALUE '%s' for %u bytes",
					eq + 1, op->width);
		op->value = v;
	}
	op->va = arg_addr(cmd, "VA", s);
	free(s);
}

/* One op from pos[*i] on; advances *i past its arguments. */
static void parse_op(const struct cmd *cmd, char **pos, int npos, int *i,
		     struct spt_load_op *op)
{
	static const struct {
		const char *word;
		uint32_t op;
		int nargs;
		const char *args;
	} ops[] = {
		{ "read", SPT_LOAD_OP_READ, 1, "VA[:SIZE]" },
		{ "write", SPT_LOAD_OP_WRITE, 1, "VA=VALUE[:SIZE]" },
		{ "fetch", SPT_LOAD_OP_FETCH, 1, "VA" },
		{ "unmap", SPT_LOAD_OP_UNMAP, 2, "VA LEN" },
		{ "protect", SPT_LOAD_OP_PROTECT, 3, "VA LEN PROT" },
		{ "map", SPT_LOAD_OP_MAP, 3, "VA LEN PROT" },
		{ "invlpg", SPT_LOAD_OP_INVLPG, 1, "VA" },
		{ "ad-clear", SPT_LOAD_OP_AD_CLEAR, 1, "VA" },
		{ "ad-read", SPT_LOAD_OP_AD_READ, 1, "VA" },
		{ "flush", SPT_LOAD_OP_FLUSH, 0, "" },
		{ "flush-invpcid", SPT_LOAD_OP_FLUSH, 0, "" },
		{ "flush-invpcid-all", SPT_LOAD_OP_FLUSH, 0, "" },
	};
	const char *word = pos[*i];
	size_t k;

	/* "noflush unmap|protect|map ...": the change leaves the TLB alone. */
	if (!strcmp(word, "noflush")) {
		if (++*i >= npos)
			cmd_usage_error(cmd, "noflush needs unmap, protect or "
					"map after it");
		word = pos[*i];
		if (strcmp(word, "unmap") && strcmp(word, "protect") &&
		    strcmp(word, "map"))
			cmd_usage_error(cmd, "noflush goes with unmap, protect "
					"or map, not '%s'", word);
		op->flags = SPT_LOAD_OP_F_NOFLUSH;
	}
	for (k = 0; k < ARRAY_SIZE(ops); k++)
		if (!strcmp(word, ops[k].word))
			break;
	if (k == ARRAY_SIZE(ops))
		cmd_usage_error(cmd, "unknown op '%s' (read, write, fetch, "
				"[noflush] unmap|protect|map, invlpg, flush, "
				"flush-invpcid, flush-invpcid-all, ad-clear, "
				"ad-read)", word);
	if (npos - *i - 1 < ops[k].nargs)
		cmd_usage_error(cmd, "%s needs %s", word, ops[k].args);
	op->op = ops[k].op;
	switch (op->op) {
	case SPT_LOAD_OP_READ:
	case SPT_LOAD_OP_WRITE:
		parse_access(cmd, word, pos[*i + 1], op);
		break;
	case SPT_LOAD_OP_FETCH:
	case SPT_LOAD_OP_INVLPG:
	case SPT_LOAD_OP_AD_CLEAR:
	case SPT_LOAD_OP_AD_READ:
		op->va = arg_addr(cmd, "VA", pos[*i + 1]);
		break;
	case SPT_LOAD_OP_FLUSH:
		op->value = !strcmp(word, "flush") ? SPT_LOAD_FLUSH_CR3 :
			    !strcmp(word, "flush-invpcid") ?
				SPT_LOAD_FLUSH_INVPCID_SINGLE :
				SPT_LOAD_FLUSH_INVPCID_ALL;
		break;
	default:
		op->va = arg_addr(cmd, "VA", pos[*i + 1]);
		op->length = arg_size(cmd, "LEN", pos[*i + 2]);
		if (op->op != SPT_LOAD_OP_UNMAP)
			op->prot = arg_prot(cmd, pos[*i + 3]);
	}
	*i += 1 + ops[k].nargs;
}

/* ---- output ---- */

/* "read/8", "write/2 0x1234", "unmap 4K", "protect 4K r-x-" */
static void op_desc(const struct spt_load_op *op, char *buf, size_t n)
{
	char b1[FMT_BUF], b2[FMT_BUF], b3[FMT_BUF];

	switch (op->op) {
	case SPT_LOAD_OP_READ:
		snprintf(buf, n, "read/%u", op->width);
		break;
	case SPT_LOAD_OP_WRITE:
		snprintf(buf, n, "write/%u 0x%llx", op->width,
			 (unsigned long long)op->value);
		break;
	case SPT_LOAD_OP_UNMAP:
		snprintf(buf, n, "%sunmap %s",
			 op->flags & SPT_LOAD_OP_F_NOFLUSH ? "noflush " : "",
			 fmt_size(b1, op->length));
		break;
	case SPT_LOAD_OP_PROTECT:
	case SPT_LOAD_OP_MAP:
		/* The settable bits only: "rwxu" without the A and D. */
		snprintf(buf, n, "%s%s %s %.4s",
			 op->flags & SPT_LOAD_OP_F_NOFLUSH ? "noflush " : "",
			 OP_NAME(op->op, b3), fmt_size(b1, op->length),
			 fmt_prot(b2, op->prot));
		break;
	case SPT_LOAD_OP_FLUSH:
		snprintf(buf, n, "flush %s", FLUSH_NAME(op->value, b1));
		break;
	default:
		snprintf(buf, n, "%s", OP_NAME(op->op, b1));
	}
}

static bool op_ad(const struct spt_load_op *op)
{
	return op->op == SPT_LOAD_OP_AD_CLEAR || op->op == SPT_LOAD_OP_AD_READ;
}

static bool op_accesses(const struct spt_load_op *op)
{
	return op->op == SPT_LOAD_OP_READ || op->op == SPT_LOAD_OP_WRITE ||
	       op->op == SPT_LOAD_OP_FETCH;
}

/* "x2".."x4096": a repeat count; 0 if @word is not one. */
static uint32_t parse_repeat(const struct cmd *cmd, const char *word)
{
	uint32_t r;

	if (word[0] != 'x' || word[1] < '0' || word[1] > '9')
		return 0;
	if (!parse_u32(word + 1, &r) || r < 1 || r > SPT_LOAD_MAX_OPS)
		cmd_usage_error(cmd, "repeat '%s' is not x1..x%u", word,
				SPT_LOAD_MAX_OPS);
	return r;
}

static bool op_changes(const struct spt_load_op *op)
{
	return op->op == SPT_LOAD_OP_UNMAP || op->op == SPT_LOAD_OP_PROTECT ||
	       op->op == SPT_LOAD_OP_MAP;
}

static void op_row(struct table *t, uint32_t i, const struct spt_load_op *op,
		   bool timed)
{
	char desc[64], why[160], b1[FMT_BUF];

	op_desc(op, desc, sizeof(desc));
	fault_text(op, why, sizeof(why));
	table_cell(t, "%u", i);
	table_cell(t, "%s", desc);
	table_cell(t, "%s", fmt_addr(b1, op->va));
	table_cell(t, "%s", RESULT_NAME(op->out_status, b1));
	if (op->out_status == SPT_LOAD_OK && op->op == SPT_LOAD_OP_READ)
		table_cell(t, "0x%0*llx", 2 * (int)op->width,
			   (unsigned long long)op->out_value);
	else if (op->out_status != SPT_LOAD_NOT_RUN && op_changes(op))
		table_cell(t, "%llu %s", (unsigned long long)op->out_value,
			   op->out_value == 1 ? "leaf" : "leaves");
	else if (op->out_status == SPT_LOAD_OK && op->op == SPT_LOAD_OP_FLUSH)
		table_cell(t, "by %s", FLUSH_NAME(op->out_value, b1));
	else if (op->out_status == SPT_LOAD_OK && op_ad(op))
		table_cell(t, "%s%c%c", op->op == SPT_LOAD_OP_AD_CLEAR ?
			   "was " : "",
			   op->out_value & SPT_PROT_ACCESSED ? 'A' : '-',
			   op->out_value & SPT_PROT_DIRTY ? 'D' : '-');
	else
		table_cell(t, "%s", "");
	if (op->out_status == SPT_LOAD_ERROR)
		table_cell(t, "%s", strerror((int)op->out_errno));
	else
		table_cell(t, "%s", why);
	if (!timed)
		return;
	if (op->flags & SPT_LOAD_OP_F_TIMED && op->out_status != SPT_LOAD_NOT_RUN)
		table_cell(t, "%llu", (unsigned long long)op->out_cycles);
	else
		table_cell(t, "%s", "");
}

/* What the window's CPU has, as words. */
static const struct {
	uint32_t bit;
	const char *name;
} cpu_words[] = {
	{ SPT_LOAD_CPU_PCID, "pcid" },
	{ SPT_LOAD_CPU_INVPCID, "invpcid" },
	{ SPT_LOAD_CPU_SMEP, "smep" },
	{ SPT_LOAD_CPU_SMAP, "smap" },
	{ SPT_LOAD_CPU_LA57, "la57" },
	{ SPT_LOAD_CPU_PKU, "pku" },
	{ SPT_LOAD_CPU_RDTSCP, "rdtscp" },
};

static void op_json(uint32_t i, const struct spt_load_op *op)
{
	char b1[FMT_BUF], b2[FMT_BUF];
	size_t k;

	json_obj_begin(NULL);
	json_u64("index", i);
	json_str("op", OP_NAME(op->op, b1));
	json_addr("va", op->va);
	if (op->op == SPT_LOAD_OP_READ || op->op == SPT_LOAD_OP_WRITE)
		json_u64("width", op->width);
	if (op->op == SPT_LOAD_OP_WRITE)
		json_addr("value", op->value);
	if (op_changes(op)) {
		json_u64("length", op->length);
		json_bool("noflush", op->flags & SPT_LOAD_OP_F_NOFLUSH);
	}
	if (op->op == SPT_LOAD_OP_FLUSH)
		json_str("method", FLUSH_NAME(op->value, b1));
	if (op->op == SPT_LOAD_OP_FLUSH && op->out_status == SPT_LOAD_OK)
		json_str("flushed_by", FLUSH_NAME(op->out_value, b1));
	json_u64("flags", op->flags);
	if (op->op == SPT_LOAD_OP_PROTECT || op->op == SPT_LOAD_OP_MAP) {
		snprintf(b2, sizeof(b2), "%.4s", fmt_prot(b1, op->prot));
		json_str("prot", b2);
	}
	json_str("result", RESULT_NAME(op->out_status, b1));
	json_u64("status_id", op->out_status);
	if (op->out_status == SPT_LOAD_OK && op->op == SPT_LOAD_OP_READ)
		json_addr("value", op->out_value);
	if (op_ad(op) && op->out_status == SPT_LOAD_OK) {
		json_bool("accessed", op->out_value & SPT_PROT_ACCESSED);
		json_bool("dirty", op->out_value & SPT_PROT_DIRTY);
	}
	if (op->flags & SPT_LOAD_OP_F_TIMED) {
		json_bool("timed", true);
		json_u64("cycles", op->out_cycles);
	}
	if (op->out_status != SPT_LOAD_NOT_RUN && op_changes(op))
		json_u64("leaves", op->out_value);
	json_u64("fault_bits", op->out_fault);
	json_arr_begin("faults");
	if (op->out_fault & SPT_FAULT_NOT_PRESENT) {
		snprintf(b1, sizeof(b1), "not present at level %u",
			 op->out_level);
		json_str(NULL, b1);
	}
	for (k = 0; k < ARRAY_SIZE(fault_words); k++)
		if (op->out_fault & fault_words[k].bit)
			json_str(NULL, fault_words[k].words);
	json_arr_end();
	if (op->out_fault & SPT_FAULT_NOT_PRESENT)
		json_u64("level", op->out_level);
	json_bool("mismatch", op->out_fault & SPT_FAULT_MISMATCH);
	json_bool("stale", op->out_fault & SPT_FAULT_STALE);
	if (op->out_status == SPT_LOAD_ERROR) {
		json_u64("errno", op->out_errno);
		json_str("error", strerror((int)op->out_errno));
	}
	json_obj_end();
}

/* Why the window did not run, beyond strerror. */
static void load_hint(int err, uint32_t id, bool has_cpu, uint32_t cpu)
{
	switch (err) {
	case EXDEV:
		note("load: CPU %u is not isolated (boot with isolcpus=); "
		     "--force runs the window there anyway", cpu);
		break;
	case ENODEV:
		if (has_cpu)
			note("load: CPU %u is offline", cpu);
		else
			note("load: no CPU is isolated (boot with isolcpus=); "
			     "name one with --cpu N --force");
		break;
	case EINVAL:
		if (has_cpu)
			note("load: is CPU %u a possible CPU?", cpu);
		note("load: a malformed op? read/write: VA aligned to SIZE; "
		     "fetch: 5 bytes before a page end at most; "
		     "unmap/protect/map: VA and LEN 4 KiB aligned, map at most "
		     "2M, unmap/protect at most 1G; all in the user half");
		break;
	case ENOENT:
		note("load: no space %u", id);
		break;
	case EOPNOTSUPP:
		note("load: this CPU lacks INVPCID (flush-invpcid: use flush, "
		     "a CR3 reload) or RDTSCP (timed accesses)");
		break;
	case EPERM:
		note("load: noflush unmap needs the permission to map "
		     "untracked memory (CAP_SYS_RAWIO, allow_phys=1)");
		break;
	case EBUSY:
		note("load: the space is being destroyed");
		break;
	}
}

int cmd_load(const struct cmd *cmd, int argc, char **argv)
{
	uint64_t cpu = 0;
	bool has_cpu = false, force = false, timed = false, any_timed = false;
	const struct opt opts[] = {
		{ "cpu", OPT_U64, &cpu, &has_cpu },
		{ "force", OPT_FLAG, &force, NULL },
		{ "timed", OPT_FLAG, &timed, NULL },
		{ NULL, 0, NULL, NULL },
	};
	struct spt_load l = { 0 };
	struct spt_load_op *ops;
	char b1[FMT_BUF];
	uint32_t n = 0, i, mismatches = 0, cap, reps;
	char **pos;
	int npos, at, err;

	npos = cmd_parse(cmd, argc, argv, opts, 2, -1, &pos);
	l.space_id = arg_space(cmd, pos[0]);
	if (has_cpu && cpu > UINT32_MAX)
		cmd_usage_error(cmd, "invalid --cpu '%llu'",
				(unsigned long long)cpu);
	/* An op per word at most, but for repeats ("read VA x2"). */
	cap = (uint32_t)npos;
	ops = calloc(cap, sizeof(*ops));
	if (!ops)
		die(ENOMEM, "out of memory");
	for (at = 1; at < npos; n++) {
		if (n == SPT_LOAD_MAX_OPS)
			cmd_usage_error(cmd, "at most %u ops in a window",
					SPT_LOAD_MAX_OPS);
		parse_op(cmd, pos, npos, &at, &ops[n]);
		if (timed && op_accesses(&ops[n]))
			ops[n].flags |= SPT_LOAD_OP_F_TIMED;
		reps = at < npos ? parse_repeat(cmd, pos[at]) : 0;
		if (!reps)
			continue;
		at++;
		if (!op_accesses(&ops[n]))
			cmd_usage_error(cmd, "xN repeats read, write and fetch "
					"only");
		if (n + reps > SPT_LOAD_MAX_OPS)
			cmd_usage_error(cmd, "at most %u ops in a window",
					SPT_LOAD_MAX_OPS);
		/* Repeated accesses are timed: a TLB miss, then hits. */
		ops[n].flags |= SPT_LOAD_OP_F_TIMED;
		if (n + reps > cap) {
			cap = n + reps + (uint32_t)npos;
			ops = realloc(ops, (size_t)cap * sizeof(*ops));
			if (!ops)
				die(ENOMEM, "out of memory");
			memset(ops + n + 1, 0,
			       (size_t)(cap - n - 1) * sizeof(*ops));
		}
		for (i = 1; i < reps; i++)
			ops[n + i] = ops[n];
		n += reps - 1;
	}
	for (i = 0; i < n; i++)
		any_timed |= !!(ops[i].flags & SPT_LOAD_OP_F_TIMED);
	l.flags = (has_cpu ? SPT_LOAD_CPU : 0) | (force ? SPT_LOAD_FORCE : 0);
	l.cpu = (uint32_t)cpu;
	l.nr_ops = n;
	l.op_size = sizeof(*ops);
	l.ops = (uintptr_t)ops;

	err = -spt_load2(sptlib(), l.space_id, l.flags, l.cpu, ops, n, &l);
	if (err) {
		err_msg(err, "load");
		load_hint(err, l.space_id, has_cpu, l.cpu);
		exit(EXIT_FAIL);
	}

	for (i = 0; i < n; i++)
		if (ops[i].out_fault & SPT_FAULT_MISMATCH)
			mismatches++;
	if (opt_json) {
		json_obj_begin(NULL);
		json_u64("space", l.space_id);
		json_u64("cpu", l.out_cpu);
		json_str("status", fmt_load_status(b1, l.out_status));
		json_u64("status_id", l.out_status);
		json_u64("nr_ops", n);
		json_u64("ops_run", l.out_ops_run);
		json_u64("faults", l.out_faults);
		json_u64("mismatches", mismatches);
		json_u64("ns", l.out_ns);
		json_u64("tsc_khz", l.out_tsc_khz);
		json_u64("cpu_feature_bits", l.out_cpu_features);
		json_arr_begin("cpu_features");
		for (i = 0; i < ARRAY_SIZE(cpu_words); i++)
			if (l.out_cpu_features & cpu_words[i].bit)
				json_str(NULL, cpu_words[i].name);
		json_arr_end();
		json_arr_begin("ops");
		for (i = 0; i < n; i++)
			op_json(i, &ops[i]);
		json_arr_end();
		json_obj_end();
	} else {
		struct table t;

		if (any_timed)
			table_init(&t, "rllllll", "#", "OP", "VA", "RESULT",
				   "VALUE", "FAULT", "CYCLES", NULL);
		else
			table_init(&t, "rlllll", "#", "OP", "VA", "RESULT",
				   "VALUE", "FAULT", NULL);
		for (i = 0; i < n; i++)
			op_row(&t, i, &ops[i], any_timed);
		table_print(&t);
		printf("space %u: cpu %u, status %s, %u of %u ops run, "
		       "%u faults, %.1f \u00b5s\n", l.space_id, l.out_cpu,
		       l.out_status == SPT_LOAD_STOPPED_TIME ?
				"stopped: time bound" :
				fmt_load_status(b1, l.out_status),
		       l.out_ops_run, n, l.out_faults, l.out_ns / 1000.0);
		printf("cpu %u has:", l.out_cpu);
		for (i = 0; i < ARRAY_SIZE(cpu_words); i++)
			if (l.out_cpu_features & cpu_words[i].bit)
				printf(" %s", cpu_words[i].name);
		printf("; tsc %u kHz\n", l.out_tsc_khz);
	}
	if (mismatches)
		note("load: %u ops where the MMU and the software walker "
		     "disagreed: a bug, please report", mismatches);
	free(ops);
	return 0;
}
