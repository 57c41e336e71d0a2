/*
 * dmfloor - the floor of a snapshot's freeze: one bare suspend + resume of a
 * dm device from one process, both ioctls back to back, for tests/guest/bench.sh.
 *
 *   dmfloor NAME
 *
 * Everything is prepared before the suspend (control opened, both buffers
 * built, memory locked, signals blocked), as dmsnap does around its window.
 * The suspend is the default one (flush and freeze the filesystem on NAME),
 * which is what a consistent snapshot needs.  Prints
 *
 *   dmfloor NAME was suspended for X ms
 *
 * timed like dmsnap's -v: from before the suspend ioctl to after the resume.
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

int main(int argc, char **argv)
{
	struct dm_ioctl suspend, resume;
	struct timespec t0, t1;
	sigset_t all;
	int fd, r1, r2, e1 = 0, e2 = 0;

	if (argc != 2 || strlen(argv[1]) >= DM_NAME_LEN) {
		fprintf(stderr, "usage: dmfloor NAME\n");
		return 2;
	}
	if ((fd = open(DM_CONTROL_PATH, O_RDWR | O_CLOEXEC)) < 0) {
		fprintf(stderr, "dmfloor: %s: %s\n", DM_CONTROL_PATH, strerror(errno));
		return 1;
	}
	prepare(&suspend, argv[1], DM_SUSPEND_FLAG);
	prepare(&resume, argv[1], 0);
	mlockall(MCL_CURRENT | MCL_FUTURE);
	sigfillset(&all);
	sigprocmask(SIG_BLOCK, &all, NULL);

	clock_gettime(CLOCK_MONOTONIC, &t0);
	r1 = ioctl(fd, DM_IOCTL_REQUEST(DM_DEV_SUSPEND_CMD), &suspend);
	if (r1 < 0)
		e1 = errno;
	r2 = ioctl(fd, DM_IOCTL_REQUEST(DM_DEV_SUSPEND_CMD), &resume);
	if (r2 < 0)
		e2 = errno;
	clock_gettime(CLOCK_MONOTONIC, &t1);

	if (r1 < 0 || r2 < 0) {
		fprintf(stderr, "dmfloor: %s: suspend: %s, resume: %s\n", argv[1], r1 < 0 ? strerror(e1) : "ok",
			r2 < 0 ? strerror(e2) : "ok");
		return 1;
	}
	printf("dmfloor %s was suspended for %.3f ms\n", argv[1],
	       (t1.tv_sec - t0.tv_sec) * 1e3 + (t1.tv_nsec - t0.tv_nsec) / 1e6);
	return 0;
}
