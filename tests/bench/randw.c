/*
 * randw - scattered small overwrites, for tests/guest/bench.sh: the write
 * pattern that makes a snapshot's chunk size cost space and time.
 *
 *   randw FILE MIB N
 *
 * N buffered 4 KiB pwrites at 4 KiB-aligned offsets drawn (fixed seed) from the
 * first MIB MiB of FILE, which must already be that long, then one fsync.  Prints
 *
 *   randw n=N ms=T writes_s=W
 *
 * timed from the first write to fsync's return.
 */
#define _GNU_SOURCE
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

static double now_ms(void)
{
	struct timespec t;

	clock_gettime(CLOCK_MONOTONIC, &t);
	return t.tv_sec * 1e3 + t.tv_nsec / 1e6;
}

int main(int argc, char **argv)
{
	static char buf[4096];
	unsigned long long x = 88172645463325252ULL; /* xorshift64, fixed seed */
	long blocks, n, i;
	double t0, ms;
	int fd;

	if (argc != 4 || (blocks = atol(argv[2]) * 256) <= 0 || (n = atol(argv[3])) <= 0) {
		fprintf(stderr, "usage: randw FILE MIB N\n");
		return 2;
	}
	if ((fd = open(argv[1], O_WRONLY)) < 0) {
		fprintf(stderr, "randw: %s: %s\n", argv[1], strerror(errno));
		return 1;
	}
	memset(buf, 0xa5, sizeof buf);
	t0 = now_ms();
	for (i = 0; i < n; i++) {
		x ^= x << 13;
		x ^= x >> 7;
		x ^= x << 17;
		buf[0] = (char)i;
		if (pwrite(fd, buf, sizeof buf, (off_t)(x % blocks) * sizeof buf) != (ssize_t)sizeof buf) {
			perror("randw: write");
			return 1;
		}
	}
	if (fsync(fd) < 0) {
		perror("randw: fsync");
		return 1;
	}
	ms = now_ms() - t0;
	printf("randw n=%ld ms=%.3f writes_s=%.1f\n", n, ms, n / (ms / 1e3));
	return 0;
}
