/*
 * tm - time a command, or a sequence of commands as a user would type them,
 * for tests/guest/bench.sh.
 *
 *   tm [-o FILE] CMD [ARG...] [';' CMD [ARG...]]...
 *
 * Runs each command in turn (fork, exec, wait4: no shell in between), stopping
 * at the first that fails, and appends one line to FILE (default stderr):
 *
 *   tm rc=R start=S total_ms=T maxrss_kb=K s1=START-END s2=START-END ...
 *
 * S is the first fork's time in CLOCK_MONOTONIC seconds (the clock of the
 * kernel's trace with trace_clock mono); START and END of step N are
 * milliseconds from it; maxrss_kb is
 * the largest ru_maxrss of the steps (wait4).  The commands' own output goes
 * where tm's goes.
 */
#define _GNU_SOURCE
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/resource.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#define MAXSTEPS 32

static double now_ms(void)
{
	struct timespec t;

	clock_gettime(CLOCK_MONOTONIC, &t);
	return t.tv_sec * 1e3 + t.tv_nsec / 1e6;
}

int main(int argc, char **argv)
{
	double t0, start[MAXSTEPS], end[MAXSTEPS];
	const char *out = NULL;
	long maxrss = 0;
	int i = 1, nsteps = 0, rc = 0;
	FILE *f = stderr;

	if (argc > 2 && strcmp(argv[1], "-o") == 0) {
		out = argv[2];
		i = 3;
	}
	if (i >= argc) {
		fprintf(stderr, "usage: tm [-o FILE] CMD [ARG...] [';' CMD [ARG...]]...\n");
		return 2;
	}
	t0 = now_ms();
	while (i < argc && nsteps < MAXSTEPS) {
		int j = i, status;
		struct rusage ru;
		pid_t pid;

		while (j < argc && strcmp(argv[j], ";") != 0)
			j++;
		argv[j < argc ? j : argc] = NULL; /* argv[argc] is NULL already */
		start[nsteps] = now_ms() - t0;
		if ((pid = fork()) < 0) {
			perror("tm: fork");
			return 1;
		}
		if (pid == 0) {
			execvp(argv[i], argv + i);
			fprintf(stderr, "tm: %s: %s\n", argv[i], strerror(errno));
			_exit(127);
		}
		if (wait4(pid, &status, 0, &ru) < 0) {
			perror("tm: wait4");
			return 1;
		}
		end[nsteps++] = now_ms() - t0;
		if (ru.ru_maxrss > maxrss)
			maxrss = ru.ru_maxrss;
		rc = WIFEXITED(status) ? WEXITSTATUS(status) : 128 + WTERMSIG(status);
		if (rc)
			break;
		i = j + 1;
	}
	if (out && !(f = fopen(out, "a"))) {
		fprintf(stderr, "tm: %s: %s\n", out, strerror(errno));
		return 1;
	}
	fprintf(f, "tm rc=%d start=%.6f total_ms=%.3f maxrss_kb=%ld", rc, t0 / 1e3, end[nsteps - 1], maxrss);
	for (i = 0; i < nsteps; i++)
		fprintf(f, " s%d=%.3f-%.3f", i + 1, start[i], end[i]);
	fputc('\n', f);
	fclose(f);
	return rc;
}
