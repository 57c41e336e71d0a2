/*
 * window.c - what a process does around suspending a device it may live on (window.h).
 */
#define _GNU_SOURCE
#include <errno.h>
#include <signal.h>
#include <string.h>
#include <sys/mman.h>

#include "window.h"

int open_window(sigset_t *saved)
{
	volatile char stack[64 * 1024];
	sigset_t all;
	int r = 0;

	memset((char *)stack, 0, sizeof stack);
	if (mlockall(MCL_CURRENT | MCL_FUTURE) < 0)
		r = -errno;
	sigfillset(&all);
	sigprocmask(SIG_BLOCK, &all, saved);
	return r;
}

void close_window(const sigset_t *saved)
{
	sigprocmask(SIG_SETMASK, saved, NULL);
}

static volatile sig_atomic_t stop_caught;

static void on_stop(int sig)
{
	stop_caught = sig;
}

void catch_stop_signals(void)
{
	struct sigaction sa = { .sa_handler = on_stop };

	sigemptyset(&sa.sa_mask);
	sigaction(SIGINT, &sa, NULL);
	sigaction(SIGTERM, &sa, NULL);
	sigaction(SIGHUP, &sa, NULL);
}

int stop_pending(void)
{
	sigset_t pending;

	sigpending(&pending);
	return stop_caught || sigismember(&pending, SIGINT) || sigismember(&pending, SIGTERM) ||
	       sigismember(&pending, SIGHUP);
}

long elapsed_us(const struct timespec *a, const struct timespec *b)
{
	return (b->tv_sec - a->tv_sec) * 1000000L + (b->tv_nsec - a->tv_nsec) / 1000;
}
