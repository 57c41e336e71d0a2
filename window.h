/*
 * window.h - the suspended window.  While a device is suspended every I/O
 * to it waits, and it may hold the root filesystem this program came from:
 * before suspending, lock every page we will touch, grow the stack, and
 * hold signals until the device runs again.
 *
 * Convention: 0 or -errno, never printing.
 */
#ifndef DMSNAP_WINDOW_H
#define DMSNAP_WINDOW_H

#include <signal.h>
#include <time.h>

/* Locks memory and blocks every signal (the old mask in *saved); -errno if mlockall failed (signals are blocked all the same). */
int open_window(sigset_t *saved);
void close_window(const sigset_t *saved);
/* From now on a stop signal (INT, TERM, HUP) is only noted, for stop_pending(). */
void catch_stop_signals(void);
/* A stop signal was noted, or arrived while signals were blocked. */
int stop_pending(void);
long elapsed_us(const struct timespec *a, const struct timespec *b);

#endif
