// SPDX-License-Identifier: GPL-2.0
/*
 * sptctl run: user code at CPL 3 inside a space (SPT_IOCTL_RUN).
 */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "sptctl.h"

static const char *const reg_names[SPT_RUN_NR_REGS] = {
	"rax", "rcx", "rdx", "rbx", "rsp", "rbp", "rsi", "rdi",
	"r8", "r9", "r10", "r11", "r12", "r13", "r14", "r15",
};

static const char *const exc_names[32] = {
	"#DE", "#DB", "NMI", "#BP", "#OF", "#BR", "#UD", "#NM", "#DF", NULL,
	"#TS", "#NP", "#SS", "#GP", "#PF", NULL, "#MF", "#AC", "#MC", "#XM",
	"#VE", "#CP",
};

static const char *reason_name(uint32_t r)
{
	switch (r) {
	case SPT_RUN_EXIT_EXCEPTION: return "exception";
	case SPT_RUN_EXIT_SYSCALL: return "syscall";
	case SPT_RUN_EXIT_SYSENTER: return "sysenter";
	case SPT_RUN_EXIT_INT: return "int";
	case SPT_RUN_EXIT_TIME: return "time";
	case SPT_RUN_EXIT_NMI: return "nmi";
	}
	return "unknown";
}

/* "present write user fetch" of a #PF error code. */
static void pf_bits(uint64_t ec, char *buf, size_t n)
{
	snprintf(buf, n, "%s%s%s%s%s",
		 ec & 1 ? "present" : "not-present",
		 ec & 2 ? " write" : " read",
		 ec & 4 ? " user" : " supervisor",
		 ec & 8 ? " reserved-bit" : "",
		 ec & 16 ? " fetch" : "");
}

static void fault_words(uint32_t f, char *buf, size_t n)
{
	snprintf(buf, n, "%s%s%s%s%s%s%s",
		 f & SPT_FAULT_NOT_PRESENT ? "not-present " : "",
		 f & SPT_FAULT_READ_ONLY ? "read-only " : "",
		 f & SPT_FAULT_SUPERVISOR ? "supervisor " : "",
		 f & SPT_FAULT_NX ? "no-execute " : "",
		 f & SPT_FAULT_RSVD ? "reserved-bit " : "",
		 f & SPT_FAULT_PKEY ? "protection-key " : "",
		 f & SPT_FAULT_MISMATCH ? "MISMATCH " : "");
	if (*buf)
		buf[strlen(buf) - 1] = '\0';
	else
		snprintf(buf, n, "-");
}

static int reg_index(const char *name, size_t len)
{
	int i;

	for (i = 0; i < SPT_RUN_NR_REGS; i++)
		if (strlen(reg_names[i]) == len &&
		    !strncmp(reg_names[i], name, len))
			return i;
	return -1;
}

static void load_code(const struct cmd *cmd, uint32_t id, const char *arg)
{
	const char *at = strrchr(arg, '@');
	char path[4096];
	uint64_t va;
	size_t len, done = 0;
	char *buf;
	FILE *f;
	int err;

	if (!at || at == arg || (size_t)(at - arg) >= sizeof(path) ||
	    !parse_addr(at + 1, &va))
		cmd_usage_error(cmd, "invalid --code '%s' (FILE@VA)", arg);
	memcpy(path, arg, (size_t)(at - arg));
	path[at - arg] = '\0';
	f = fopen(path, "rb");
	if (!f)
		die(errno, "%s", path);
	buf = xmalloc(1 << 20);
	len = fread(buf, 1, 1 << 20, f);
	if (ferror(f))
		die(EIO, "%s", path);
	fclose(f);
	err = -spt_write(sptlib(), id, va, buf, len, &done);
	if (err)
		die(err, "write %s at 0x%llx (is it mapped?)", path,
		    (unsigned long long)va);
	free(buf);
}

int cmd_run(const struct cmd *cmd, int argc, char **argv)
{
	uint64_t cpu = 0, entry = 0, stack = 0, rflags = 0;
	bool has_cpu = false, force = false, has_entry = false;
	bool has_stack = false;
	const struct opt opts[] = {
		{ "entry", OPT_ADDR, &entry, &has_entry },
		{ "stack", OPT_ADDR, &stack, &has_stack },
		{ "rflags", OPT_U64, &rflags, NULL },
		{ "cpu", OPT_U64, &cpu, &has_cpu },
		{ "force", OPT_FLAG, &force, NULL },
		{ NULL, 0, NULL, NULL },
	};
	struct spt_user_run r = { 0 };
	const char **codes = xmalloc(sizeof(*codes) * (size_t)argc);
	char **rest = xmalloc(sizeof(*rest) * (size_t)(argc + 1));
	int i, nrest = 0, ncode = 0, err;
	char b1[128], b2[128];
	char **pos;

	/* --reg and --code may repeat: taken out before the common parser. */
	for (i = 0; i < argc; i++) {
		const char *a = argv[i], *val = NULL;
		bool reg = false;

		if (!strcmp(a, "--reg") || !strcmp(a, "--code")) {
			reg = a[2] == 'r';
			if (i + 1 == argc)
				cmd_usage_error(cmd, "%s needs a value", a);
			val = argv[++i];
		} else if (!strncmp(a, "--reg=", 6) ||
			   !strncmp(a, "--code=", 7)) {
			reg = a[2] == 'r';
			val = strchr(a, '=') + 1;
		}
		if (!val) {
			rest[nrest++] = argv[i];
			continue;
		}
		if (!reg) {
			codes[ncode++] = val;
			continue;
		}
		{
			const char *eq = strchr(val, '=');
			int idx = eq ? reg_index(val, (size_t)(eq - val)) : -1;

			if (idx < 0 || !parse_u64(eq + 1,
						   (uint64_t *)&r.regs[idx]))
				cmd_usage_error(cmd, "invalid --reg '%s' "
						"(NAME=VALUE, NAME rax..r15)",
						val);
		}
	}
	rest[nrest] = NULL;
	cmd_parse(cmd, nrest, rest, opts, 1, 1, &pos);
	r.space_id = arg_space(cmd, pos[0]);
	if (!has_entry || !has_stack)
		cmd_usage_error(cmd, "--entry and --stack are required");
	if (has_cpu && cpu > UINT32_MAX)
		cmd_usage_error(cmd, "invalid --cpu '%llu'",
				(unsigned long long)cpu);
	for (i = 0; i < ncode; i++)
		load_code(cmd, r.space_id, codes[i]);
	r.rip = entry;
	r.rflags = rflags;
	r.regs[SPT_REG_RSP] = stack;
	r.flags = (has_cpu ? SPT_LOAD_CPU : 0) | (force ? SPT_LOAD_FORCE : 0);
	r.cpu = (uint32_t)cpu;

	err = -spt_user_run(sptlib(), &r);
	if (err) {
		err_msg(err, "run");
		if (err == EPERM)
			note("run: needs the module parameter allow_runs=1 "
			     "and CAP_SYS_ADMIN");
		else if (err == EFAULT)
			note("run: --entry must be on a page mapped u+x, and "
			     "the page below --stack mapped u+w");
		else if (err == EXDEV)
			note("run: CPU %u is not isolated; --force runs there "
			     "anyway", r.cpu);
		exit(EXIT_FAIL);
	}
	pf_bits(r.out_error_code, b1, sizeof(b1));
	fault_words(r.out_fault, b2, sizeof(b2));
	if (opt_json) {
		json_obj_begin(NULL);
		json_u64("space", r.space_id);
		json_u64("cpu", r.out_cpu);
		json_str("reason", reason_name(r.out_reason));
		json_u64("reason_id", r.out_reason);
		json_u64("vector", r.out_vector);
		if (r.out_reason == SPT_RUN_EXIT_EXCEPTION &&
		    r.out_vector < 32 && exc_names[r.out_vector])
			json_str("exception", exc_names[r.out_vector]);
		json_u64("error_code", r.out_error_code);
		if (r.out_reason == SPT_RUN_EXIT_EXCEPTION &&
		    r.out_vector == 14) {
			json_str("error_bits", b1);
			json_addr("cr2", r.out_cr2);
			json_str("walker", b2);
			json_u64("level", r.out_level);
		}
		json_bool("mismatch", r.out_fault & SPT_FAULT_MISMATCH);
		json_bool("changed", r.out_flags & SPT_RUN_OUT_CHANGED);
		json_bool("entered", !(r.out_flags & SPT_RUN_OUT_NOT_ENTERED));
		json_addr("rip", r.out_rip);
		json_u64("rflags", r.out_rflags);
		json_u64("ns", r.out_ns);
		json_obj_begin("regs");
		for (i = 0; i < SPT_RUN_NR_REGS; i++)
			json_u64(reg_names[i], r.out_regs[i]);
		json_obj_end();
		json_obj_end();
	} else {
		printf("space %u: cpu %u, exit %s", r.space_id, r.out_cpu,
		       reason_name(r.out_reason));
		if (r.out_reason == SPT_RUN_EXIT_EXCEPTION)
			printf(" %s (vector %u), error code 0x%llx",
			       r.out_vector < 32 && exc_names[r.out_vector] ?
			       exc_names[r.out_vector] : "?", r.out_vector,
			       (unsigned long long)r.out_error_code);
		else if (r.out_reason == SPT_RUN_EXIT_INT)
			printf(" $%u", r.out_vector);
		printf(", rip 0x%llx, %.1f \u00b5s%s\n",
		       (unsigned long long)r.out_rip, r.out_ns / 1000.0,
		       r.out_flags & SPT_RUN_OUT_NOT_ENTERED ?
		       " (before the first instruction)" : "");
		if (r.out_reason == SPT_RUN_EXIT_EXCEPTION &&
		    r.out_vector == 14)
			printf("#PF at 0x%llx: %s; walker: %s%s\n",
			       (unsigned long long)r.out_cr2, b1, b2,
			       r.out_flags & SPT_RUN_OUT_CHANGED ?
			       " (the space changed meanwhile)" : "");
		for (i = 0; i < SPT_RUN_NR_REGS; i++)
			printf("%-4s 0x%016llx%s", reg_names[i],
			       (unsigned long long)r.out_regs[i],
			       i % 4 == 3 ? "\n" : "  ");
		printf("rflags 0x%llx\n", (unsigned long long)r.out_rflags);
	}
	if (r.out_fault & SPT_FAULT_MISMATCH)
		note("run: the MMU and the software walker disagreed: a bug, "
		     "please report");
	free(codes);
	free(rest);
	return 0;
}
