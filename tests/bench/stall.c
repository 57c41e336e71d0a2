/*
 * stall - a writer that measures its own write stalls, for tests/guest/bench.sh.
 *
 *   stall [-b] [-s MIB] [-d DUMP] FILE
 *
 * Default: loop { pwrite 4 KiB; fdatasync } over the first MIB (default 4) MiB
 * of FILE, like a database committing.  -b: buffered streaming, 1 MiB writes
 * cycling over MIB (default 32) MiB of FILE, never synced: the page cache and
 * the filesystem's freeze decide when it waits.  FILE is overwritten in place
 * (written once at start), so the filesystem never fills and a snapshot's COW
 * never takes more than MIB MiB.
 *
 * One iteration (a write, plus its fdatasync) is one sample.  The samples form
 * windows:  SIGUSR1 starts a new window; SIGUSR2 prints the current window as one
 * line and goes on writing; SIGTERM prints it and exits.  A signal that arrives
 * while an iteration is blocked is acted on when the iteration ends, so the
 * stall in progress always counts in the window it ends.  Output line:
 *
 *   stall max_ms=M max_at=A p50_ms=P p99_ms=Q n=N secs=S hist=<1:a,<2:b,<4:c,...
 *
 * max_at is when the longest sample began, in CLOCK_MONOTONIC seconds (the
 * clock of the kernel's trace with trace_clock mono).  hist counts samples per
 * power-of-two millisecond bucket (<1 ms, <2 ms, ...).  With -d, the window's
 * samples go to DUMP first (rewritten at each print), one "START_S DURATION_MS"
 * line each, START in CLOCK_MONOTONIC seconds: the bench picks from it the
 * stalls that overlap a given span.  "stall ready" is printed once FILE is
 * allocated and the signals are set.
 */
#define _GNU_SOURCE
#include <errno.h>
#include <fcntl.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#define SMALL 4096
#define BIG (1024 * 1024)
#define NBUCKETS 16
#define MAXSAMPLES (1 << 18)

static volatile sig_atomic_t want_reset, want_print, want_exit;

static void on_signal(int sig)
{
	if (sig == SIGUSR1)
		want_reset = 1;
	else if (sig == SIGUSR2)
		want_print = 1;
	else
		want_exit = 1;
}

static double now_ms(void)
{
	struct timespec t;

	clock_gettime(CLOCK_MONOTONIC, &t);
	return t.tv_sec * 1e3 + t.tv_nsec / 1e6;
}

static float *samples; /* this window's latencies, ms */
static double *starts; /* and when each began, ms */
static long nsamples;
static const char *dump;
static double window_start, max_ms, max_at; /* the longest, and when it began */

static int cmp_float(const void *a, const void *b)
{
	float x = *(const float *)a, y = *(const float *)b;

	return (x > y) - (x < y);
}

static void dump_window(void)
{
	FILE *f = fopen(dump, "w");
	long i;

	if (!f) {
		fprintf(stderr, "stall: %s: %s\n", dump, strerror(errno));
		return;
	}
	for (i = 0; i < nsamples; i++)
		fprintf(f, "%.6f %.3f\n", starts[i] / 1e3, samples[i]);
	fclose(f);
}

static void print_window(void)
{
	long hist[NBUCKETS] = { 0 }, i;
	int b, last = 0;

	if (dump)
		dump_window();

	for (i = 0; i < nsamples; i++) {
		double v = samples[i];

		for (b = 0; b < NBUCKETS - 1 && v >= (double)(1L << b); b++)
			;
		hist[b]++;
	}
	qsort(samples, nsamples, sizeof *samples, cmp_float);
	printf("stall max_ms=%.3f max_at=%.6f p50_ms=%.3f p99_ms=%.3f n=%ld secs=%.2f hist=", max_ms, max_at / 1e3,
	       nsamples ? samples[nsamples / 2] : 0.0, nsamples ? samples[nsamples * 99 / 100] : 0.0,
	       nsamples, (now_ms() - window_start) / 1e3);
	for (b = 0; b < NBUCKETS; b++)
		if (hist[b])
			last = b;
	for (b = 0; b <= last; b++)
		printf("%s<%ld:%ld", b ? "," : "", 1L << b, hist[b]);
	putchar('\n');
	fflush(stdout);
}

static void usage(void)
{
	fprintf(stderr, "usage: stall [-b] [-s MIB] [-d DUMP] FILE\n");
	exit(2);
}

int main(int argc, char **argv)
{
	struct sigaction sa;
	int buffered = 0, fd, c;
	long mib = 0, bs, nblocks, blk = 0;
	char *buf;

	while ((c = getopt(argc, argv, "bs:d:")) != -1) {
		switch (c) {
		case 'b':
			buffered = 1;
			break;
		case 's':
			mib = atol(optarg);
			break;
		case 'd':
			dump = optarg;
			break;
		default:
			usage();
		}
	}
	if (optind != argc - 1)
		usage();
	if (mib <= 0)
		mib = buffered ? 32 : 4;
	bs = buffered ? BIG : SMALL;
	nblocks = mib * 1024 * 1024 / bs;
	if (!(buf = malloc(BIG)) || !(samples = malloc(MAXSAMPLES * sizeof *samples)) ||
	    !(starts = malloc(MAXSAMPLES * sizeof *starts))) {
		perror("stall: malloc");
		return 1;
	}
	memset(buf, 0x5a, BIG);
	if ((fd = open(argv[optind], O_WRONLY | O_CREAT, 0644)) < 0) {
		fprintf(stderr, "stall: %s: %s\n", argv[optind], strerror(errno));
		return 1;
	}
	/* Allocate the whole file first: the loop then only overwrites. */
	for (long off = 0; off < mib * 1024 * 1024; off += BIG) {
		if (pwrite(fd, buf, BIG, off) != BIG) {
			perror("stall: write");
			return 1;
		}
	}
	if (fsync(fd) < 0) {
		perror("stall: fsync");
		return 1;
	}

	memset(&sa, 0, sizeof sa);
	sa.sa_handler = on_signal;
	sa.sa_flags = SA_RESTART;
	sigaction(SIGUSR1, &sa, NULL);
	sigaction(SIGUSR2, &sa, NULL);
	sigaction(SIGTERM, &sa, NULL);
	sigaction(SIGINT, &sa, NULL);
	printf("stall ready\n");
	fflush(stdout);

	window_start = now_ms();
	for (;;) {
		double t0 = now_ms(), t1;

		buf[0]++;
		if (pwrite(fd, buf, bs, blk * bs) != bs) {
			perror("stall: write");
			return 1;
		}
		if (!buffered && fdatasync(fd) < 0) {
			perror("stall: fdatasync");
			return 1;
		}
		blk = (blk + 1) % nblocks;
		t1 = now_ms();
		if (nsamples < MAXSAMPLES) {
			starts[nsamples] = t0;
			samples[nsamples++] = t1 - t0;
		}
		if (t1 - t0 > max_ms) {
			max_ms = t1 - t0;
			max_at = t0;
		}
		if (want_print || want_exit) {
			want_print = 0;
			print_window();
			if (want_exit)
				return 0;
		}
		if (want_reset) {
			want_reset = 0;
			nsamples = 0;
			max_ms = max_at = 0;
			window_start = now_ms();
		}
	}
}
