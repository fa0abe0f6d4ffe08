// SPDX-License-Identifier: GPL-2.0
/*
 * Model-based fuzzer of the page-table core.
 *
 *   fuzz_model [--seed S] [--ops N] [--levels 4|5] [--shrink-seconds T]
 *   fuzz_model --replay FILE [--levels 4|5]
 *
 * Generates a seeded random sequence of cursor operations (fuzz.c) until N
 * core calls were made, comparing everything with the model. The run
 * happens in a child process that logs every operation to shared memory
 * before executing it, so even a crash (sanitizer report, WARN_ON abort)
 * leaves the sequence behind. On failure the parent shrinks it: the
 * shortest failing prefix by bisection, then delta debugging (drop chunks
 * of operations, halving the chunk size) with each candidate replayed in a
 * fresh child. It prints the seed, the shortest sequence found, writes it
 * to fuzz-repro-<levels>-<seed>.txt (for --replay), and exits 1.
 */
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include "fuzz.h"

#define ARENA_BYTES	(256ULL << 20)

struct shared {
	u64 ops;		/* operations executed */
	u64 calls;		/* core calls */
	u64 sessions;
	u64 n;			/* operations logged */
	u64 cap;
	struct fz_op log[];
};

static double now(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return ts.tv_sec + ts.tv_nsec / 1e9;
}

static void print_op(const char *prefix, u64 i, const struct fz_op *op)
{
	char buf[256];

	fz_op_str(op, buf, sizeof(buf));
	printf("%s%4llu: %s\n", prefix, (unsigned long long)i, buf);
}

/* Generate and run; every op logged before it runs. Exit status. */
static int run_generate(u64 seed, u64 nops, unsigned int levels,
			struct shared *sh)
{
	struct fz_rng rng = { .s = seed * 0x9E3779B97F4A7C15ULL + 1 };
	struct fz f;
	struct fz_op op;

	fz_init(&f, levels, ARENA_BYTES);
	while (f.nr_ops < nops && sh->n < sh->cap) {
		fz_gen(&f, &rng, &op);
		sh->log[sh->n++] = op;
		if (!fz_exec(&f, &op)) {
			printf("# FAILED at operation %llu (%llu executed, core call %llu): %s\n",
			       (unsigned long long)sh->n - 1,
			       (unsigned long long)f.nr_ops,
			       (unsigned long long)f.ops, f.err);
			print_op("#   ", sh->n - 1, &op);
			return 1;
		}
		sh->ops = f.nr_ops;
		sh->calls = f.ops;
		sh->sessions = f.sessions;
	}
	sh->ops = f.nr_ops;
	sh->calls = f.ops;
	sh->sessions = f.sessions;
	fz_print_stats(&f);
	if (!fz_finish(&f)) {
		printf("# FAILED in the final check (after %llu operations): %s\n",
		       (unsigned long long)sh->n, f.err);
		return 1;
	}
	return 0;
}

/* Replay a fixed sequence. Exit status. */
static int run_ops(const struct fz_op *ops, u64 n, unsigned int levels,
		   bool verbose)
{
	struct fz f;
	u64 i;

	fz_init(&f, levels, ARENA_BYTES);
	for (i = 0; i < n; i++) {
		if (!fz_exec(&f, &ops[i])) {
			if (verbose) {
				printf("# failed at operation %llu: %s\n",
				       (unsigned long long)i, f.err);
				print_op("#   ", i, &ops[i]);
			}
			return 1;
		}
	}
	if (!fz_finish(&f)) {
		if (verbose)
			printf("# failed in the final check: %s\n", f.err);
		return 1;
	}
	if (verbose)
		printf("# replay of %llu operations passed\n",
		       (unsigned long long)n);
	return 0;
}

static unsigned long nr_replays;

/* Does this sequence fail (in a fresh child, output discarded)? */
static bool fails(const struct fz_op *ops, u64 n, unsigned int levels)
{
	int status;
	pid_t pid;

	nr_replays++;
	fflush(stdout);
	pid = fork();
	if (pid < 0) {
		perror("fork");
		exit(2);
	}
	if (!pid) {
		int fd = open("/dev/null", O_WRONLY);

		dup2(fd, 1);
		dup2(fd, 2);
		alarm(120);	/* a hang (lock never released) is a failure */
		_exit(run_ops(ops, n, levels, false));
	}
	waitpid(pid, &status, 0);
	return !(WIFEXITED(status) && WEXITSTATUS(status) == 0);
}

/* Shortest failing prefix, then delta debugging. Returns the new length. */
static u64 shrink(struct fz_op *ops, u64 n, unsigned int levels,
		  double budget)
{
	double t_end = now() + budget;
	struct fz_op *tmp;
	u64 lo = 0, hi = n, chunk;

	/* Bisect the prefix: fails(hi) holds, find the smallest. */
	while (lo + 1 < hi) {
		u64 mid = lo + (hi - lo) / 2;

		if (fails(ops, mid, levels))
			hi = mid;
		else
			lo = mid;
	}
	n = hi;
	printf("# shortest failing prefix: %llu operations\n",
	       (unsigned long long)n);
	tmp = malloc(n * sizeof(*tmp));
	if (!tmp)
		return n;
	for (chunk = n / 2 ? n / 2 : 1; ; chunk /= 2) {
		bool progress = true;

		while (progress && now() < t_end) {
			u64 i;

			progress = false;
			for (i = 0; i < n && n > 1 && now() < t_end; ) {
				u64 len = i + chunk <= n ? chunk : n - i;

				/* Keep the last op: it is where it fails. */
				if (i + len >= n && len > 1)
					len = n - 1 - i;
				if (!len) {
					i++;
					continue;
				}
				memcpy(tmp, ops, i * sizeof(*ops));
				memcpy(tmp + i, ops + i + len,
				       (n - i - len) * sizeof(*ops));
				if (fails(tmp, n - len, levels)) {
					memcpy(ops, tmp,
					       (n - len) * sizeof(*ops));
					n -= len;
					progress = true;
				} else {
					i += len;
				}
			}
		}
		if (chunk <= 1 || now() >= t_end)
			break;
	}
	free(tmp);
	return n;
}

static int replay_file(const char *path, unsigned int levels)
{
	struct fz_op *ops = NULL;
	u64 n = 0, cap = 0;
	char line[512];
	FILE *fp = fopen(path, "r");
	int ret;

	if (!fp) {
		perror(path);
		return 2;
	}
	while (fgets(line, sizeof(line), fp)) {
		unsigned int l;

		if (sscanf(line, "# levels %u", &l) == 1) {
			levels = l;
			continue;
		}
		if (line[0] == '#' || line[0] == '\n')
			continue;
		if (n == cap) {
			cap = cap ? cap * 2 : 256;
			ops = realloc(ops, cap * sizeof(*ops));
			if (!ops)
				return 2;
		}
		if (!fz_op_read(&ops[n], line)) {
			fprintf(stderr, "%s: bad line: %s", path, line);
			return 2;
		}
		n++;
	}
	fclose(fp);
	setvbuf(stdout, NULL, _IOLBF, 0);
	for (u64 i = 0; i < n; i++)
		print_op("# ", i, &ops[i]);
	ret = run_ops(ops, n, levels, true);
	printf("%sok 1 - replay %s (%llu operations, %u levels)\n",
	       ret ? "not " : "", path, (unsigned long long)n, levels);
	free(ops);
	return ret;
}

static void usage(void)
{
	fprintf(stderr,
		"usage: fuzz_model [--seed S] [--ops N] [--levels 4|5] [--shrink-seconds T]\n"
		"       fuzz_model --replay FILE [--levels 4|5]\n");
	exit(2);
}

int main(int argc, char **argv)
{
	u64 seed = 0, nops = 500000, n;
	unsigned int levels = 4;
	double budget = 120, t0, dt;
	const char *replay = NULL;
	bool have_seed = false;
	struct shared *sh;
	size_t bytes;
	int status, i;
	pid_t pid;

	for (i = 1; i < argc; i++) {
		if (i + 1 < argc && !strcmp(argv[i], "--seed")) {
			seed = strtoull(argv[++i], NULL, 0);
			have_seed = true;
		} else if (i + 1 < argc && !strcmp(argv[i], "--ops")) {
			nops = strtoull(argv[++i], NULL, 0);
		} else if (i + 1 < argc && !strcmp(argv[i], "--levels")) {
			levels = atoi(argv[++i]);
		} else if (i + 1 < argc && !strcmp(argv[i], "--shrink-seconds")) {
			budget = atof(argv[++i]);
		} else if (i + 1 < argc && !strcmp(argv[i], "--replay")) {
			replay = argv[++i];
		} else {
			usage();
		}
	}
	if (levels != 4 && levels != 5)
		usage();
	if (replay)
		return replay_file(replay, levels);
	if (!have_seed)
		seed = (u64)time(NULL) ^ ((u64)getpid() << 20);
	setvbuf(stdout, NULL, _IOLBF, 0);
	printf("# fuzz_model --seed %llu --ops %llu --levels %u\n",
	       (unsigned long long)seed, (unsigned long long)nops, levels);

	/* Most generated ops execute; the skipped ones are rare. */
	bytes = sizeof(*sh) + (2 * nops + 4096) * sizeof(struct fz_op);
	sh = mmap(NULL, bytes, PROT_READ | PROT_WRITE,
		  MAP_SHARED | MAP_ANONYMOUS, -1, 0);
	if (sh == MAP_FAILED) {
		perror("mmap");
		return 2;
	}
	sh->cap = 2 * nops + 4096;
	t0 = now();
	pid = fork();
	if (pid < 0) {
		perror("fork");
		return 2;
	}
	if (!pid) {
		int ret;

		alarm(900);	/* a hang (lock never released) is a failure */
		ret = run_generate(seed, nops, levels, sh);

		/* A failed run leaks by design: skip LeakSanitizer then. */
		fflush(stdout);
		if (ret)
			_exit(ret);
		exit(0);
	}
	waitpid(pid, &status, 0);
	dt = now() - t0;
	printf("# %llu operations (%llu generated, %llu core calls, %llu sessions) in %.1f s: %.0f ops/s\n",
	       (unsigned long long)sh->ops, (unsigned long long)sh->n,
	       (unsigned long long)sh->calls,
	       (unsigned long long)sh->sessions, dt, sh->ops / dt);
	if (WIFEXITED(status) && WEXITSTATUS(status) == 0) {
		printf("ok 1 - fuzz %u-level seed %llu: %llu ops\n", levels,
		       (unsigned long long)seed, (unsigned long long)sh->ops);
		return 0;
	}
	if (WIFSIGNALED(status))
		printf("# the run was killed by signal %d\n",
		       WTERMSIG(status));
	else
		printf("# the run exited with status %d\n",
		       WEXITSTATUS(status));

	n = sh->n;
	if (!fails(sh->log, n, levels)) {
		printf("# the logged sequence (%llu operations) does not fail when replayed\n",
		       (unsigned long long)n);
	} else {
		char path[128], line[256];
		double ts = now();
		FILE *fp;
		u64 k;

		n = shrink(sh->log, n, levels, budget);
		printf("# shrunk to %llu operations (%lu replays, %.1f s):\n",
		       (unsigned long long)n, nr_replays, now() - ts);
		for (k = 0; k < n; k++)
			print_op("#   ", k, &sh->log[k]);
		snprintf(path, sizeof(path), "fuzz-repro-%u-%llu.txt", levels,
			 (unsigned long long)seed);
		fp = fopen(path, "w");
		if (fp) {
			fprintf(fp, "# levels %u\n# seed %llu\n", levels,
				(unsigned long long)seed);
			for (k = 0; k < n; k++) {
				fz_op_write(&sh->log[k], line, sizeof(line));
				fprintf(fp, "%s\n", line);
			}
			fclose(fp);
			printf("# written to %s: replay with fuzz_model --replay %s\n",
			       path, path);
		}
		/* Run it once more with its diagnostics. */
		fflush(stdout);
		pid = fork();
		if (!pid) {
			alarm(120);
			_exit(run_ops(sh->log, n, levels, true));
		}
		waitpid(pid, &status, 0);
	}
	printf("# reproduce: fuzz_model --seed %llu --ops %llu --levels %u\n",
	       (unsigned long long)seed, (unsigned long long)nops, levels);
	printf("not ok 1 - fuzz %u-level seed %llu\n", levels,
	       (unsigned long long)seed);
	return 1;
}
