// SPDX-License-Identifier: GPL-2.0
/*
 * Runs the host test programs and merges their TAP output into one stream.
 *
 *   runner [-j N] 'cmd1 args' 'cmd2 args' ...
 *
 * Each command runs under /bin/sh -c with stdout and stderr on one pipe.
 * Up to N run at once; their output is printed in command order. Lines
 * "ok ..." / "not ok ..." are renumbered into one sequence and prefixed
 * with the program name; plan lines ("1..N") are dropped; "#" lines pass
 * through; anything else (sanitizer reports, ...) becomes a "# " line. A
 * program that exits non-zero (or is killed) adds a "not ok" line of its
 * own; one that exits 0 without any TAP line counts as one "ok". The plan
 * goes last. Exit status 1 if anything failed.
 */
#include <errno.h>
#include <poll.h>
#include <signal.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

struct job {
	const char *cmd;
	char name[64];
	pid_t pid;
	int fd;
	char *out;
	size_t len, cap;
	int status;
	bool started, done, printed;
	double t0, t1;
};

static unsigned int tap_nr, tap_failed;

static double now(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return ts.tv_sec + ts.tv_nsec / 1e9;
}

static void job_name(struct job *j)
{
	const char *s = j->cmd, *e, *b;

	while (*s == ' ')
		s++;
	e = s + strcspn(s, " ");
	b = s;
	for (const char *p = s; p < e; p++)
		if (*p == '/')
			b = p + 1;
	snprintf(j->name, sizeof(j->name), "%.*s", (int)(e - b), b);
}

static void job_start(struct job *j)
{
	int p[2];

	if (pipe(p)) {
		perror("pipe");
		exit(2);
	}
	j->t0 = now();
	j->pid = fork();
	if (j->pid < 0) {
		perror("fork");
		exit(2);
	}
	if (!j->pid) {
		close(p[0]);
		dup2(p[1], 1);
		dup2(p[1], 2);
		close(p[1]);
		execl("/bin/sh", "sh", "-c", j->cmd, (char *)NULL);
		_exit(127);
	}
	close(p[1]);
	j->fd = p[0];
	j->started = true;
}

static void job_read(struct job *j)
{
	ssize_t n;

	if (j->cap - j->len < 4096) {
		j->cap = j->cap ? j->cap * 2 : 65536;
		j->out = realloc(j->out, j->cap);
		if (!j->out) {
			perror("realloc");
			exit(2);
		}
	}
	n = read(j->fd, j->out + j->len, j->cap - j->len - 1);
	if (n > 0) {
		j->len += n;
		return;
	}
	if (n < 0 && errno == EINTR)
		return;
	close(j->fd);
	j->fd = -1;
	waitpid(j->pid, &j->status, 0);
	j->t1 = now();
	j->done = true;
}

static void emit(bool ok, const char *name, const char *desc)
{
	tap_nr++;
	if (!ok)
		tap_failed++;
	printf("%sok %u - %s: %s\n", ok ? "" : "not ", tap_nr, name, desc);
}

static void job_print(struct job *j)
{
	unsigned int nr_tap = 0;
	char *line = j->out, *nl;

	if (!j->out)
		line = "";
	else
		j->out[j->len] = 0;
	printf("# ---- %s\n", j->cmd);
	while (*line) {
		bool ok;
		char *p;

		nl = strchr(line, '\n');
		if (nl)
			*nl = 0;
		ok = !strncmp(line, "ok ", 3);
		if (ok || !strncmp(line, "not ok ", 7)) {
			p = line + (ok ? 3 : 7);
			p += strspn(p, "0123456789");
			p += strspn(p, " ");
			if (*p == '-')
				p++;
			p += strspn(p, " ");
			emit(ok, j->name, p);
			nr_tap++;
		} else if (!strncmp(line, "1..", 3)) {
			/* the program's own plan: dropped */
		} else if (line[0] == '#') {
			printf("%s\n", line);
		} else {
			printf("# %s\n", line);
		}
		if (!nl)
			break;
		line = nl + 1;
	}
	if (WIFEXITED(j->status) && WEXITSTATUS(j->status) == 0) {
		if (!nr_tap)
			emit(true, j->name, "exit status 0");
	} else if (WIFEXITED(j->status)) {
		char d[64];

		snprintf(d, sizeof(d), "exit status %d",
			 WEXITSTATUS(j->status));
		emit(false, j->name, d);
	} else {
		char d[64];

		snprintf(d, sizeof(d), "killed by signal %d",
			 WTERMSIG(j->status));
		emit(false, j->name, d);
	}
	printf("# %s: %.2f s\n", j->name, j->t1 - j->t0);
	fflush(stdout);
	j->printed = true;
	free(j->out);
	j->out = NULL;
}

int main(int argc, char **argv)
{
	unsigned int par = 1, i, nr_jobs, next = 0, running = 0, printed = 0;
	struct job *jobs;
	double t0 = now();
	int a = 1;

	signal(SIGPIPE, SIG_IGN);
	if (argc > 2 && !strcmp(argv[1], "-j")) {
		par = atoi(argv[2]);
		if (!par)
			par = 1;
		a = 3;
	}
	nr_jobs = argc - a;
	jobs = calloc(nr_jobs ? nr_jobs : 1, sizeof(*jobs));
	if (!jobs)
		return 2;
	for (i = 0; i < nr_jobs; i++) {
		jobs[i].cmd = argv[a + i];
		jobs[i].fd = -1;
		job_name(&jobs[i]);
	}
	while (printed < nr_jobs) {
		struct pollfd pfd[64];
		unsigned int map[64], n = 0;

		while (running < par && next < nr_jobs) {
			job_start(&jobs[next++]);
			running++;
		}
		for (i = 0; i < nr_jobs && n < 64; i++) {
			if (jobs[i].started && !jobs[i].done) {
				pfd[n].fd = jobs[i].fd;
				pfd[n].events = POLLIN;
				map[n++] = i;
			}
		}
		if (n && poll(pfd, n, -1) < 0 && errno != EINTR) {
			perror("poll");
			return 2;
		}
		for (i = 0; i < n; i++) {
			if (pfd[i].revents) {
				job_read(&jobs[map[i]]);
				if (jobs[map[i]].done)
					running--;
			}
		}
		while (printed < nr_jobs && jobs[printed].done)
			job_print(&jobs[printed++]);
	}
	printf("1..%u\n", tap_nr);
	printf("# %u tests, %u failed, %.1f s\n", tap_nr, tap_failed,
	       now() - t0);
	free(jobs);
	return tap_failed ? 1 : 0;
}
