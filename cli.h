/*
 * cli.h - what every command does alike: messages, exit codes, usage, and
 * the common checks whose failure every command words the same way.
 *
 * Convention: the cmd_* functions print and return these exit codes; every
 * layer below them returns 0 or -errno and never prints.  The functions
 * here are the cmd_* layer's own: they print.
 */
#ifndef DMSNAP_CLI_H
#define DMSNAP_CLI_H

#include <stdint.h>

struct option;

#include "dm_ioctl.h"
#include "world.h"

/* Exit statuses, documented in dmsnap.8. */
enum {
	EXIT_OK = 0,
	EXIT_FAIL = 1,
	EXIT_USAGE = 2,
	EXIT_INVALID = 3,  /* a snapshot is invalid or unprotected: its content cannot be trusted */
	EXIT_MERGING = 4,  /* snap --reattach: the COW holds a merge under way, for 'merge NAME COW' to continue */
	EXIT_MISSING = 5,  /* snap --reattach, merge NAME COW: a member of a grown COW is on no device (yet) */
};

#define PRINTF(f, a) __attribute__((format(printf, f, a)))

extern const char dmsnap_version[];  /* the file VERSION, as the Makefile passes it */
extern int quiet;    /* -q: no progress or "made" lines, errors only */
extern int verbose;  /* -v: timings and each step */

/*
 * "dmsnap: MSG" on stderr; a MSG ending in ':' gets ": strerror(err)"
 * appended.  fail() returns EXIT_FAIL so that handlers can `return fail(...)`;
 * warn() is its twin for batch work that goes on; note() is progress (-q hides it).
 */
int fail(int err, const char *fmt, ...) PRINTF(2, 3);
void warn(int err, const char *fmt, ...) PRINTF(2, 3);
void note(const char *fmt, ...) PRINTF(1, 2);
/* Raw stderr, after whatever stdout holds. */
void errf(const char *fmt, ...) PRINTF(1, 2);
/* A failed ioctl: names the device, the ioctl and, when known, the fix. */
int dm_fail(int err, enum dm_cmd cmd, const char *name);
void dm_warn(int err, enum dm_cmd cmd, const char *name);

/* What a device name (or uuid) may hold, for the messages that refuse one. */
extern const char name_rule[];

/* The running command's synopsis, set by dispatch. */
extern const char *synopsis;
int usage_error(void);  /* synopsis on stderr; EXIT_USAGE */
/* What is wrong with the command line, after "dmsnap: " on stderr; EXIT_USAGE. */
int bad_usage(const char *fmt, ...) PRINTF(1, 2);
int show_help(void);    /* synopsis on stdout; EXIT_OK */
/*
 * getopt_long's table of a command's long options, then --help ('h'):
 * spec holds a NUL-ended word each (its short letter, '=' if it takes an
 * argument or else ' ', its name), then an empty one.  At most six words:
 * the table is static, eight entries with --help and the end.
 */
const struct option *long_opts(const char *spec);

/* The control file, or -1 after saying why it cannot be had. */
int need_control(void);
/* The kernel's state, or EXIT_FAIL after saying why it cannot be read. */
int scan_or_fail(int fd, struct world *w, int statuses);
/* NAME as a wrapper (EXIT_OK) or EXIT_FAIL after saying what it is instead. */
int wrapper_or_fail(struct world *w, const char *name, struct wrapper *wr);
/* The state (without statuses) read afresh, NAME's wrapper found in it, both handed to fn: fn's result, or EXIT_FAIL. */
int on_wrapper(int fd, const char *name, int (*fn)(int fd, struct world *w, struct wrapper *wr, void *arg), void *arg);
/* The target type, loading its module; EXIT_FAIL naming the module when it is missing. */
int require_target(int fd, const char *type, const char *module);
/*
 * dmsnap's lock (lock.h), waiting at most a bounded time and naming who
 * holds it; EXIT_FAIL after saying why it was not had.  lock_release() after.
 */
int lock_or_fail(int fd);
/*
 * The lock shared, for a reader, so that it never shows a switch halfway;
 * after a short wait it goes on without (and says so): a stuck workflow must
 * not keep 'show' from telling.  1 when taken (lock_release() after), else 0.
 */
int read_lock(int fd);
/* After ensure_resumed(): says loudly when name stays suspended (r < 0). */
void warn_unresumed(int r, const char *name);
/* A device that could not be opened exclusively: EXIT_FAIL naming its mount, holder or swap, then why it matters. */
int busy_fail(const char *path, uint32_t major, uint32_t minor, const char *why);
/* 0 when dev is unused, else EXIT_FAIL naming its mount or users, then why it matters. */
int refuse_open(const struct dev *d, const char *why);
/* Says how removing d went (r from remove_device): a removed snapshot's COW is retired, one that stayed is a snapshot's again; counts failures. */
void removed(int r, const struct dev *d, int is_snapshot, int *failed);
/* /dev/mapper/NAME for a device just made or resumed; warns when it cannot be made. */
void node_or_warn(const char *name, const struct dm_info *info);

#endif
