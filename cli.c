/*
 * cli.c - the commands' shared voice (cli.h): messages, usage, and the
 * checks every command words alike.
 */
#define _GNU_SOURCE
#include <errno.h>
#include <getopt.h>
#include <stdarg.h>
#include <stdio.h>
#include <string.h>
#include <time.h>

#include "cli.h"
#include "cowdev.h"
#include "device.h"
#include "probe.h"
#include "faults.h"
#include "lock.h"

/* The Makefile passes VERSION's content; there is no other. */
const char dmsnap_version[] = DMSNAP_VERSION;
int quiet, verbose;
const char *synopsis = "COMMAND";
const char name_rule[] = " printable ASCII bytes without '/' or blanks";

/* ---- messages ---- */

/* stdout first, so that a message follows what was printed before it. */
static void vreport(const char *prefix, int err, const char *fmt, va_list ap)
{
	size_t len = strlen(fmt);

	fflush(stdout);
	fputs(prefix, stderr);
	vfprintf(stderr, fmt, ap);
	if (len && fmt[len - 1] == ':')
		fprintf(stderr, " %s", strerror(err < 0 ? -err : err));
	putc('\n', stderr);
}

int fail(int err, const char *fmt, ...)
{
	va_list ap;

	va_start(ap, fmt);
	vreport("dmsnap: ", err, fmt, ap);
	va_end(ap);
	return EXIT_FAIL;
}

void warn(int err, const char *fmt, ...)
{
	va_list ap;

	va_start(ap, fmt);
	vreport("dmsnap: ", err, fmt, ap);
	va_end(ap);
}

void note(const char *fmt, ...)
{
	va_list ap;

	if (quiet)
		return;
	va_start(ap, fmt);
	vreport("dmsnap: ", 0, fmt, ap);
	va_end(ap);
}

void errf(const char *fmt, ...)
{
	va_list ap;

	fflush(stdout);
	va_start(ap, fmt);
	vfprintf(stderr, fmt, ap);
	va_end(ap);
}

/* What to do about the kernel's answer, where we know. */
static const char *dm_hint(int err, enum dm_cmd cmd)
{
	switch (err) {
	case -EPERM:
	case -EACCES:
		return "device-mapper needs root (CAP_SYS_ADMIN)";
	case -ENXIO:
		if (cmd == DM_TABLE_LOAD_CMD)
			return "a device the table names does not exist; check each MAJ:MIN or path in it";
		return "no such device; see 'dmsnap ls'";
	case -EEXIST:
		return "a device of that name exists; remove it or pick another name";
	case -ENAMETOOLONG:
		return "names are at most 127 bytes";
	case -EBUSY:
		if (cmd == DM_DEV_CREATE_CMD)
			return "a device of that name or uuid exists already; remove it or pick another name";
		if (cmd == DM_DEV_REMOVE_CMD)
			return "it is open (mounted, or used by another device); unmount it or try 'remove --retry'";
		if (cmd == DM_TABLE_LOAD_CMD)
			return "a device in the table is in use (mounted or claimed); wrap devices before mounting them";
		return "the device is busy";
	case -EINVAL:
		if (cmd == DM_TABLE_LOAD_CMD)
			return "the kernel rejected the table; 'dmesg | tail' says why";
		if (cmd == DM_DEV_SUSPEND_CMD)
			return "is it already suspended, or not suspended?";
		return NULL;
	case -ENODEV:
		if (cmd == DM_TABLE_LOAD_CMD)
			return "a device the table names does not exist; check each MAJ:MIN or path in it";
		return "device-mapper is not available: load dm-mod (modprobe dm-mod)";
	case -ENOTTY:
		return "device-mapper is not available: load dm-mod (modprobe dm-mod)";
	default:
		return NULL;
	}
}

static void dm_report(int err, enum dm_cmd cmd, const char *name)
{
	const char *hint = dm_hint(err, cmd);

	if (err == -EINVAL && cmd != DM_TABLE_LOAD_CMD && name && dm_check_name(name)) {
		warn(0, "%s: invalid device name: names are 1-127%s", name, name_rule);
		return;
	}
	if (hint)
		errf("dmsnap: %s: %s: %s (%s)\n", name ? name : "-", dm_cmd_name(cmd), strerror(-err), hint);
	else
		warn(err, "%s: %s:", name ? name : "-", dm_cmd_name(cmd));
}

int dm_fail(int err, enum dm_cmd cmd, const char *name)
{
	dm_report(err, cmd, name);
	return EXIT_FAIL;
}

void dm_warn(int err, enum dm_cmd cmd, const char *name)
{
	dm_report(err, cmd, name);
}

/* ---- usage ---- */

int usage_error(void)
{
	errf("usage: dmsnap %s\n", synopsis);
	return EXIT_USAGE;
}

int bad_usage(const char *fmt, ...)
{
	va_list ap;

	va_start(ap, fmt);
	vreport("dmsnap: ", 0, fmt, ap);
	va_end(ap);
	return EXIT_USAGE;
}

int show_help(void)
{
	printf("usage: dmsnap %s\n", synopsis);
	return EXIT_OK;
}

const struct option *long_opts(const char *spec)
{
	/* as strings they are a quarter of the size of struct option tables */
	static struct option o[8];
	size_t n = 0;

	for (; *spec; spec += strlen(spec) + 1)
		o[n++] = (struct option){ spec + 2, spec[1] == '=' ? required_argument : no_argument, NULL, *spec };
	o[n] = (struct option){ "help", no_argument, NULL, 'h' };
	o[n + 1] = (struct option){ 0 };
	return o;
}

/* ---- shared checks ---- */

int need_control(void)
{
	int fd = dm_control();

	if (fd == -ENXIO || fd == -ENODEV)
		warn(fd, "%s: device-mapper is not in this kernel: load dm-mod (modprobe dm-mod):", DM_CONTROL_PATH);
	else if (fd < 0)
		warn(fd, "open %s:", DM_CONTROL_PATH);
	return fd < 0 ? -1 : fd;
}

int scan_or_fail(int fd, struct world *w, int statuses)
{
	int r = scan_world(fd, w, statuses);

	return r < 0 ? fail(r, "reading device-mapper state:") : EXIT_OK;
}

int wrapper_or_fail(struct world *w, const char *name, struct wrapper *wr)
{
	char dup[DM_NAME_LEN + sizeof DUP_SUFFIX];

	snprintf(dup, sizeof dup, "%s%s", name, DUP_SUFFIX);
	switch (identify_wrapper(w, name, wr)) {
	case 0:
		return EXIT_OK;
	case -ENXIO:
		return fail(0, "%s: no such device; 'dmsnap wrap DEV %s' makes it", name, name);
	case -ENOENT:
		return fail(0, "%s: not wrapped: its duplicate %s is missing ('dmsnap show' lists wrapped devices)",
			    name, dup);
	case -ENOMEM:
		return fail(-ENOMEM, "%s:", name);
	case -EMEDIUMTYPE:
		return fail(0, "%s: not a dmsnap wrapper: it holds a table dmsnap does not make (see 'dmsnap table %s'); not touching it",
			    name, name);
	default:
		return fail(0, "%s: not a dmsnap wrapper: %s is not one 'linear DEV 0' target over the whole of DEV (see 'dmsnap table %s'); not touching it",
			    name, dup, dup);
	}
}

int on_wrapper(int fd, const char *name, int (*fn)(int fd, struct world *w, struct wrapper *wr, void *arg), void *arg)
{
	struct world w;
	struct wrapper wr;
	int r;

	if (scan_or_fail(fd, &w, 0))
		return EXIT_FAIL;
	if ((r = wrapper_or_fail(&w, name, &wr)) == EXIT_OK) {
		r = fn(fd, &w, &wr, arg);
		wrapper_free(&wr);
	}
	world_free(&w);
	return r;
}

int require_target(int fd, const char *type, const char *module)
{
	int r = target_ready(fd, type, module);

	if (r == -ENOENT)
		return fail(0, "target type '%s' is not available: load %s (modprobe %s)", type, module, module);
	if (r < 0)
		return dm_fail(r, DM_LIST_VERSIONS_CMD, NULL);
	return EXIT_OK;
}

void warn_unresumed(int r, const char *name)
{
	if (r < 0)
		warn(r, "%s is still SUSPENDED and I/O to it is blocked; run 'dmsnap resume %s' now:", name, name);
}

int busy_fail(const char *path, uint32_t major, uint32_t minor, const char *why)
{
	char users[USERS_LEN];

	describe_users(major, minor, users, sizeof users);
	return fail(0, "%s is %s: %s", path, users, why);
}

int refuse_open(const struct dev *d, const char *why)
{
	char mnt[4096];

	if (d->info.open_count <= 0)
		return 0;
	if (mount_point_of(d->info.major, d->info.minor, mnt, sizeof mnt))
		return fail(0, "%s is mounted on %s: umount it first; %s", d->name, mnt, why);
	return fail(0, "%s is open (%d users): close it first; %s", d->name, d->info.open_count, why);
}

void removed(int r, const struct dev *d, int is_snapshot, int *failed)
{
	char cow[128];

	if (r < 0) {
		dm_warn(r, DM_DEV_REMOVE_CMD, d->name);
		if (is_snapshot)
			mark_cow(d->live_params, d->live.length, "", COW_SNAPSHOT);
		(*failed)++;
		return;
	}
	if (is_snapshot && (r = release_cow(dm_control(), d->live_params ? d->live_params : d->inactive_params,
					    RETIRE_STORE, cow, sizeof cow)) < 0)
		warn(r, "%s: removing or clearing its COW %s met an error ('dmsnap recover' removes what stays; the next snap on it may need --force):",
		     d->name, cow);
	note("removed %s", d->name);
}

void node_or_warn(const char *name, const struct dm_info *info)
{
	int r = ensure_node(name, info->major, info->minor);

	if (r < 0)
		warn(r, "%s: cannot make %s/%s:", name, DM_DIR, name);
}

#define LOCK_WAIT_SECONDS 120  /* a snap or drop takes well under a second; a merge's switch a few */
#define LOCK_TICKS_PER_SECOND 20

static void holder_of(int fd, pid_t *pid, char *cmd, size_t size)
{
	*pid = lock_holder(fd);
	if (*pid)
		process_command(*pid, cmd, size);
	else
		snprintf(cmd, size, "unknown");
}

int lock_or_fail(int fd)
{
	struct timespec tick = { 0, 1000 * 1000 * 1000 / LOCK_TICKS_PER_SECOND };
	char cmd[256];
	pid_t pid;
	int r, i;

	for (i = 0; (r = lock_try(fd, 0)) == -EWOULDBLOCK && i < LOCK_WAIT_SECONDS * LOCK_TICKS_PER_SECOND; i++) {
		if (i == LOCK_TICKS_PER_SECOND) {
			holder_of(fd, &pid, cmd, sizeof cmd);
			note("waiting for pid %d (%s), which is changing device-mapper state", (int)pid, cmd);
		}
		nanosleep(&tick, NULL);
	}
	if (r == -EWOULDBLOCK) {
		holder_of(fd, &pid, cmd, sizeof cmd);
		return fail(0, "pid %d (%s) has held dmsnap's lock on %s for %d s: giving up, nothing changed",
			    (int)pid, cmd, DM_CONTROL_PATH, LOCK_WAIT_SECONDS);
	}
	if (r < 0)
		return fail(r, "lock %s:", DM_CONTROL_PATH);
	fault_pause("locked");
	return EXIT_OK;
}

#define READ_LOCK_TICKS (2 * LOCK_TICKS_PER_SECOND)  /* a reader waits out a switch, not a stuck workflow */

int read_lock(int fd)
{
	struct timespec tick = { 0, 1000 * 1000 * 1000 / LOCK_TICKS_PER_SECOND };
	int r;

	for (int i = 0; (r = lock_try(fd, 1)) == -EWOULDBLOCK && i < READ_LOCK_TICKS; i++)
		nanosleep(&tick, NULL);
	if (r == -EWOULDBLOCK) {
		char cmd[256];
		pid_t pid;
		holder_of(fd, &pid, cmd, sizeof cmd);
		warn(0, "pid %d (%s) is changing device-mapper state: what follows may show it halfway", (int)pid, cmd);
	}
	return r == 0;
}
