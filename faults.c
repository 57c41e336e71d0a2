/*
 * faults.c - fault injection for tests, built only into dmsnap-faults
 * (make dmsnap-faults), never into dmsnap.
 *
 *   DMSNAP_TRACE=1          print every ioctl to stderr as "dmsnap-trace: N CMD NAME"
 *   DMSNAP_FAIL=N:ACTION    act on the N-th ioctl (counted from 1)
 *   DMSNAP_FAIL=CMD#K:ACTION  or on the K-th ioctl of one kind (DM_DEV_SUSPEND#2)
 * ACTION is an errno (EIO, EBUSY, ENOMEM, EINVAL, ENXIO, EPERM or a number):
 * that ioctl fails without being issued; or "kill": SIGKILL before it.
 *   DMSNAP_PAUSE=STEP:PATH  see faults.h
 */
#define _GNU_SOURCE
#include <errno.h>
#include <signal.h>
#include <stdlib.h>
#include <string.h>
#include <fcntl.h>
#include <time.h>
#include <unistd.h>

#include <stdio.h>

#include "dm_ioctl.h"
#include "faults.h"

static unsigned seen, seen_kind, fail_at;
static char fail_kind[32];
static int fail_errno, fail_kill, trace;

static int hook(enum dm_cmd cmd, const char *name)
{
	int match;

	seen++;
	if (trace && fflush(stdout) == 0)
		fprintf(stderr, "dmsnap-trace: %u %s %s\n", seen, dm_cmd_name(cmd), name[0] ? name : "-");
	if (fail_kind[0]) {
		match = !strcmp(fail_kind, dm_cmd_name(cmd)) && ++seen_kind == fail_at;
	} else {
		match = seen == fail_at;
	}
	if (!match)
		return 0;
	if (fail_kill)
		raise(SIGKILL);
	return -fail_errno;
}

static int parse_errno(const char *s)
{
	static const struct { const char *name; int value; } names[] = {
		{ "EIO", EIO }, { "EBUSY", EBUSY }, { "ENOMEM", ENOMEM },
		{ "EINVAL", EINVAL }, { "ENXIO", ENXIO }, { "EPERM", EPERM },
	};

	for (size_t i = 0; i < sizeof names / sizeof *names; i++)
		if (!strcmp(s, names[i].name))
			return names[i].value;
	return atoi(s);
}

void faults_install(void)
{
	const char *spec = getenv("DMSNAP_FAIL"), *colon, *hash;

	trace = getenv("DMSNAP_TRACE") != NULL;
	if (spec && (colon = strchr(spec, ':'))) {
		if ((hash = memchr(spec, '#', (size_t)(colon - spec))) && hash - spec < (int)sizeof fail_kind) {
			memcpy(fail_kind, spec, (size_t)(hash - spec));
			fail_at = (unsigned)atoi(hash + 1);
		} else {
			fail_at = (unsigned)atoi(spec);
		}
		fail_kill = !strcmp(colon + 1, "kill");
		fail_errno = fail_kill ? 0 : parse_errno(colon + 1);
		if (!fail_kill && fail_errno <= 0)
			fail_errno = EIO;
	}
	if (trace || fail_at)
		dm_ioctl_hook = hook;
}

/* Holds the process at step until the test removes the pause file. */
void fault_pause(const char *step)
{
	const char *spec = getenv("DMSNAP_PAUSE"), *colon;
	struct timespec tick = { 0, 10 * 1000 * 1000 };
	int fd;

	if (!spec || !(colon = strchr(spec, ':')) || strlen(step) != (size_t)(colon - spec) ||
	    strncmp(spec, step, strlen(step)))
		return;
	if ((fd = open(colon + 1, O_WRONLY | O_CREAT | O_CLOEXEC, 0644)) >= 0)
		close(fd);
	for (int i = 0; i < 12000 && access(colon + 1, F_OK) == 0; i++)
		nanosleep(&tick, NULL);
}
