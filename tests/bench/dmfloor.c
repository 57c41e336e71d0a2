/*
 * dmfloor - the floor of a snapshot's freeze: one bare suspend + resume of a
 * dm device from one process, both ioctls back to back, for tests/guest/bench.sh.
 * With several devices (a group snapshot's floor): every suspend in order,
 * then every resume in order.
 *
 *   dmfloor NAME [NAME...]
 *
 * Everything is prepared before the suspend (control opened, both buffers
 * built, memory locked, signals blocked), as dmsnap does around its window.
 * The suspend is the default one (flush and freeze the filesystem on NAME),
 * which is what a consistent snapshot needs.  Prints
 *
 *   dmfloor NAME was suspended for X ms
 *   dmfloor NAME NAME2 ... were suspended for X ms
 *
 * timed like dmsnap's -v: from before the first suspend ioctl to after the last resume.
 */
#define _GNU_SOURCE
#include <errno.h>
#include <fcntl.h>
#include <signal.h>
#include <stdio.h>
#include <string.h>
#include <sys/mman.h>
#include <time.h>
#include <unistd.h>

#include "../../dm_ioctl.h"

static void prepare(struct dm_ioctl *io, const char *name, uint32_t flags)
{
	memset(io, 0, sizeof *io);
	io->version[0] = DM_VERSION_MAJOR;
	io->version[1] = DM_VERSION_MINOR;
	io->version[2] = DM_VERSION_PATCH;
	io->data_size = sizeof *io;
	io->data_start = sizeof *io;
	io->flags = flags;
	strncpy(io->name, name, sizeof io->name - 1);
}

#define MAXDEV 16

int main(int argc, char **argv)
{
	struct dm_ioctl suspend[MAXDEV], resume[MAXDEV];
	struct timespec t0, t1;
	sigset_t all;
	int fd, n = argc - 1, failed = -1, err = 0, i, j;

	for (i = 1; i < argc; i++)
		if (strlen(argv[i]) >= DM_NAME_LEN)
			n = 0;
	if (n < 1 || n > MAXDEV) {
		fprintf(stderr, "usage: dmfloor NAME [NAME...] (at most %d)\n", MAXDEV);
		return 2;
	}
	if ((fd = open(DM_CONTROL_PATH, O_RDWR | O_CLOEXEC)) < 0) {
		fprintf(stderr, "dmfloor: %s: %s\n", DM_CONTROL_PATH, strerror(errno));
		return 1;
	}
	for (i = 0; i < n; i++) {
		prepare(&suspend[i], argv[i + 1], DM_SUSPEND_FLAG);
		prepare(&resume[i], argv[i + 1], 0);
	}
	mlockall(MCL_CURRENT | MCL_FUTURE);
	sigfillset(&all);
	sigprocmask(SIG_BLOCK, &all, NULL);

	clock_gettime(CLOCK_MONOTONIC, &t0);
	for (i = 0; i < n; i++)
		if (ioctl(fd, DM_IOCTL_REQUEST(DM_DEV_SUSPEND_CMD), &suspend[i]) < 0) {
			failed = i;
			err = errno;
			break;
		}
	/* Resume what was suspended, whatever failed. */
	for (j = 0; j < i; j++)
		if (ioctl(fd, DM_IOCTL_REQUEST(DM_DEV_SUSPEND_CMD), &resume[j]) < 0 && failed < 0) {
			failed = j;
			err = errno;
		}
	clock_gettime(CLOCK_MONOTONIC, &t1);

	if (failed >= 0) {
		fprintf(stderr, "dmfloor: %s: %s\n", argv[failed + 1], strerror(err));
		return 1;
	}
	printf("dmfloor");
	for (i = 1; i < argc; i++)
		printf(" %s", argv[i]);
	printf(" %s suspended for %.3f ms\n", n == 1 ? "was" : "were",
	       (t1.tv_sec - t0.tv_sec) * 1e3 + (t1.tv_nsec - t0.tv_nsec) / 1e6);
	return 0;
}
