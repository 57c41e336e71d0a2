/*
 * dmsnap - consistent block-level snapshots of live filesystems with
 * device-mapper, without LVM.  This file: the command line, the error
 * convention, device nodes and the dmsetup-compatible commands.  The
 * snapshot workflows live in snap.c, block-device probing in probe.c.
 */
#define _GNU_SOURCE
#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <stdarg.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/sysmacros.h>
#include <time.h>
#include <unistd.h>

#include "dmsnap.h"
#include "faults.h"

#ifndef DMSNAP_VERSION
#define DMSNAP_VERSION "0.1"
#endif

struct command {
	const char *name;
	int (*run)(int argc, char **argv);
	const char *synopsis;
};

static int cmd_create(int, char **), cmd_load(int, char **), cmd_suspend(int, char **),
	cmd_resume(int, char **), cmd_remove(int, char **), cmd_clear(int, char **),
	cmd_table(int, char **), cmd_status(int, char **), cmd_info(int, char **),
	cmd_ls(int, char **), cmd_deps(int, char **), cmd_targets(int, char **),
	cmd_version(int, char **), cmd_mknodes(int, char **);

/* The usage text: every form, beside the code it describes. */
static const struct command commands[] = {
	{ "wrap", cmd_wrap, "wrap [--if-missing] DEV [NAME]" },
	{ "snap", cmd_snap, "snap [-v] [-n] [-c CHUNK] [-s SNAPNAME] [--force | --reattach] [--no-sync] NAME COW" },
	{ "show", cmd_show, "show [-p] [NAME]" },
	{ "drop", cmd_drop, "drop NAME [SNAPNAME]" },
	{ "unwrap", cmd_unwrap, "unwrap NAME" },
	{ "run", cmd_run, "run [snap options] [--mount DIR] NAME COW -- CMD [ARG...]" },
	{ "watch", cmd_watch, "watch [--warn PCT] [--interval SEC] [--once] NAME" },
	{ "merge", cmd_merge, "merge [--wait] NAME [SNAPNAME | COW]" },
	{ "recover", cmd_recover, "recover [NAME]" },
	{ "create", cmd_create, "create [-r] [-u UUID] [--notable | --table LINE] NAME [FILE]" },
	{ "load", cmd_load, "load [-r] [--table LINE] NAME [FILE]" },
	{ "reload", cmd_load, "reload [-r] [--table LINE] NAME [FILE]" },
	{ "suspend", cmd_suspend, "suspend [--nolockfs] [--noflush] NAME" },
	{ "resume", cmd_resume, "resume NAME" },
	{ "remove", cmd_remove, "remove [--retry] [--deferred] NAME" },
	{ "clear", cmd_clear, "clear NAME" },
	{ "table", cmd_table, "table [--inactive] [NAME]" },
	{ "status", cmd_status, "status [--inactive] [NAME]" },
	{ "info", cmd_info, "info [NAME]" },
	{ "ls", cmd_ls, "ls" },
	{ "deps", cmd_deps, "deps [NAME]" },
	{ "targets", cmd_targets, "targets" },
	{ "version", cmd_version, "version" },
	{ "mknodes", cmd_mknodes, "mknodes [NAME]" },
};
#define NCOMMANDS (sizeof commands / sizeof *commands)

#define DISK_GID 6  /* Debian's "disk" group */
#define REMOVE_RETRY_TRIES 50  /* remove --retry: 5 s */

int quiet, verbose;

/* ---- errors ---- */

static void vreport(const char *prefix, int err, const char *fmt, va_list ap)
{
	char buf[512];
	struct sink s = { buf, sizeof buf, 0, 2 };
	size_t len = strlen(fmt);

	out_flush();
	sink_printf(&s, "%s", prefix);
	sink_vprintf(&s, fmt, ap);
	if (len && fmt[len - 1] == ':')
		sink_printf(&s, " %s", strerror(err < 0 ? -err : err));
	sink_printf(&s, "\n");
	sink_flush(&s);
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
	vreport("", 0, fmt, ap);
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
	case -ENOTTY:
	case -ENODEV:
		return "device-mapper is not available: load dm-mod (modprobe dm-mod)";
	default:
		return NULL;
	}
}

static void dm_report(int err, enum dm_cmd cmd, const char *name)
{
	const char *hint = dm_hint(err, cmd);

	if (err == -EINVAL && cmd != DM_TABLE_LOAD_CMD && name && dm_check_name(name)) {
		warn(0, "%s: invalid device name: names are 1-127 printable ASCII bytes without '/' or blanks",
		     name);
		return;
	}
	if (hint)
		errf("dmsnap: %s: %s: %s (%s)\n", name ? name : "-", dm_cmd_name(cmd),
			strerror(-err), hint);
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

int usage_of(const char *cmd)
{
	for (size_t i = 0; i < NCOMMANDS; i++)
		if (!strcmp(commands[i].name, cmd))
			errf("usage: dmsnap %s\n", commands[i].synopsis);
	return EXIT_USAGE;
}

static void usage(void (*print)(const char *, ...))
{
	print("usage: dmsnap [-q] [-v] COMMAND [ARGS]\n"
	      "       dmsnap --help | --version | COMMAND --help\n\ncommands:\n");
	for (size_t i = 0; i < NCOMMANDS; i++)
		print("  %s\n", commands[i].synopsis);
}

/* ---- the control file ---- */

int control(void)
{
	static int fd = -1;
	uint32_t version[3];
	int r;

	if (fd >= 0)
		return fd;
	if ((r = dm_open_control()) < 0) {
		if (r == -ENXIO || r == -ENODEV)
			fail(r, "%s: device-mapper is not in this kernel: load dm-mod (modprobe dm-mod):",
			     DM_CONTROL_PATH);
		else
			fail(r, "open %s:", DM_CONTROL_PATH);
		out_flush();
		exit(EXIT_FAIL);
	}
	fd = r;
	if ((r = dm_get_version(fd, version)) < 0) {
		dm_report(r, DM_VERSION_CMD, NULL);
		out_flush();
		exit(EXIT_FAIL);
	}
	return fd;
}

/* ---- device nodes ---- */

static int udev_running(void)
{
	return access("/run/udev/control", F_OK) == 0;
}

static void node_path(const char *name, char *buf, size_t size)
{
	fmt(buf, size, "%s/%s", DM_DIR, name);
}

/* Does path name block device major:minor (following a udev symlink)? */
static int node_matches(const char *path, uint32_t major, uint32_t minor)
{
	struct stat st;

	return stat(path, &st) == 0 && S_ISBLK(st.st_mode) && major(st.st_rdev) == major &&
	       minor(st.st_rdev) == minor;
}

/*
 * udev makes /dev/mapper/NAME on the resume's change event when it runs;
 * give it a moment, then make the node ourselves so that the user's next
 * command (mount) finds it either way.
 */
int ensure_node(const char *name, uint32_t major, uint32_t minor)
{
	char path[sizeof DM_DIR + DM_NAME_LEN];
	struct timespec tick = { 0, 20 * 1000 * 1000 };

	node_path(name, path, sizeof path);
	for (int i = 0; udev_running() && i < 100 && !node_matches(path, major, minor); i++)
		nanosleep(&tick, NULL);
	if (node_matches(path, major, minor))
		return 0;
	unlink(path);
	if (mkdir(DM_DIR, 0755) < 0 && errno != EEXIST)
		return -errno;
	/* As libdevmapper makes them on Debian: 0660 root:disk. */
	if (mknod(path, S_IFBLK | 0660, makedev(major, minor)) < 0)
		return -errno;
	/* umask narrowed the mode; a failure here leaves a working node. */
	chmod(path, 0660);
	chown(path, 0, DISK_GID);
	return 0;
}

void remove_node(const char *name)
{
	char path[sizeof DM_DIR + DM_NAME_LEN];
	struct stat st;

	node_path(name, path, sizeof path);
	if (lstat(path, &st) == 0 && (S_ISBLK(st.st_mode) || S_ISLNK(st.st_mode)))
		unlink(path);
}

int ensure_node_of(const char *name, const struct dm_info *info)
{
	int r = ensure_node(name, info->major, info->minor);

	if (r < 0)
		warn(r, "%s: cannot make %s/%s:", name, DM_DIR, name);
	return r;
}

static int remove_stale_node(const char *name, void *fd)
{
	struct dm_info info;

	if (strcmp(name, "control") && dm_check_name(name) == 0 && dm_get_info(*(int *)fd, name, &info) == -ENXIO)
		remove_node(name);
	return 0;
}

/* Nodes for every device (or one), and none for devices that are gone. */
int make_all_nodes(const char *only)
{
	int fd = control(), r, failed = 0;
	struct dm_reply list;
	struct dm_name n;

	if ((r = dm_list_devices(fd, &list)) < 0)
		return dm_fail(r, DM_LIST_DEVICES_CMD, NULL);
	while ((r = dm_next_name(&list, &n)) > 0)
		if ((!only || !strcmp(only, n.name)) && ensure_node(n.name, n.major, n.minor) < 0) {
			warn(errno, "%s: cannot make %s/%s:", n.name, DM_DIR, n.name);
			failed++;
		}
	if (r < 0)
		failed += dm_fail(r, DM_LIST_DEVICES_CMD, NULL);
	if (!only)
		each_entry(DM_DIR, remove_stale_node, &fd);
	dm_reply_free(&list);
	return failed ? EXIT_FAIL : EXIT_OK;
}

/* ---- table input ---- */

struct table {
	struct dm_target *t;
	size_t n;
	char *text;  /* the lines; t[i].params point into it */
};

static void table_free(struct table *tb)
{
	mem_free(tb->t);
	mem_free(tb->text);
	memset(tb, 0, sizeof *tb);
}

/*
 * Lines of "start length type params": blank lines and '#' comments are
 * skipped as dmsetup does; no lines at all make an empty table (create
 * then makes a device without one, as dmsetup does).  Targets must cover 0..end without gaps; saying
 * which line is wrong beats the kernel's bare EINVAL.
 */
static int parse_table(char *text, const char *what, struct table *tb)
{
	size_t cap = 0, lineno = 0;
	uint64_t next = 0;

	tb->text = text;
	for (char *line = text, *end; line && *line; line = end) {
		end = strchr(line, '\n');
		if (end)
			*end++ = '\0';
		lineno++;
		char *p = line + strspn(line, " \t");
		if (!*p || *p == '#')
			continue;
		if (tb->n == cap) {
			struct dm_target *more = mem_grow(tb->t, (cap = cap ? cap * 2 : 8) * sizeof *more);
			if (!more)
				return fail(-ENOMEM, "%s:", what);
			tb->t = more;
		}
		struct dm_target *t = &tb->t[tb->n];
		int r = dm_parse_line(p, t);
		if (r == -ENAMETOOLONG)
			return fail(0, "%s line %zu: target type longer than %d bytes", what, lineno,
				    DM_MAX_TYPE_NAME - 1);
		if (r == -ERANGE)
			return fail(0, "%s line %zu: length must be 1 or more and start+length must fit in 64 bits",
				    what, lineno);
		if (r)
			return fail(0, "%s line %zu: expected 'START LENGTH TYPE [ARGS]', got '%s'", what, lineno,
				    p);
		if (t->start != next)
			return fail(0, "%s line %zu: starts at sector %llu, expected %llu (targets must follow each other from 0)",
				    what, lineno, (unsigned long long)t->start, (unsigned long long)next);
		next = t->start + t->length;
		tb->n++;
	}
	return EXIT_OK;
}

/* The table of create/load: --table LINE, FILE or standard input. */
static int read_table(const char *inline_table, const char *file, struct table *tb)
{
	char *text;
	size_t len;
	int fd;

	memset(tb, 0, sizeof *tb);
	if (inline_table) {
		text = mem_strdup(inline_table);
		file = "--table";
	} else if (file) {
		if ((fd = open(file, O_RDONLY | O_CLOEXEC)) < 0)
			return fail(errno, "%s:", file);
		text = read_all(fd, &len);
		close(fd);
	} else {
		text = read_all(0, &len);
		file = "standard input";
	}
	if (!text)
		return fail(errno, "%s:", file);
	return parse_table(text, file, tb);
}

/* ---- option parsing shared by the dmsetup-compatible commands ---- */

enum { OPT_TABLE = 256, OPT_NOTABLE, OPT_INACTIVE, OPT_NOLOCKFS, OPT_NOFLUSH, OPT_RETRY, OPT_DEFERRED };

static const struct opt dm_options[] = {
	{ "table", OPT_TABLE, OPT_ARG },
	{ "notable", OPT_NOTABLE, 0 },
	{ "inactive", OPT_INACTIVE, 0 },
	{ "nolockfs", OPT_NOLOCKFS, 0 },
	{ "noflush", OPT_NOFLUSH, 0 },
	{ "retry", OPT_RETRY, 0 },
	{ "deferred", OPT_DEFERRED, 0 },
	{ "readonly", 'r', OPT_SHORT },
	{ "uuid", 'u', OPT_SHORT | OPT_ARG },
	{ "help", 'h', OPT_SHORT },
	{ 0 },
};

struct dm_opts {
	const char *table, *uuid;
	int notable, inactive, nolockfs, noflush, retry, deferred, readonly;
	const char *name, *file;
};

/* Is word one of the blank-separated words of list? */
static int has_word(const char *list, const char *word)
{
	size_t n = strlen(word);

	for (const char *p = list + strspn(list, " "); *p; p += strcspn(p, " "), p += strspn(p, " "))
		if (!strncmp(p, word, n) && (p[n] == ' ' || p[n] == '\0'))
			return 1;
	return 0;
}

/*
 * Parses the options every dmsetup-compatible command shares; `allowed`
 * lists the ones this command takes, the others are usage errors.
 * Positional arguments: NAME then FILE, up to max_args of them.
 */
static int parse_dm_opts(int argc, char **argv, const char *allowed, int min_args, int max_args,
			 struct dm_opts *o)
{
	struct opts op;
	int c;

	memset(o, 0, sizeof *o);
	opts_start(&op, dm_options, argv);
	while ((c = get_opt(&op, argc, argv)) != -1) {
		const char *word = NULL;
		switch (c) {
		case OPT_TABLE: o->table = op.arg; word = "table"; break;
		case OPT_NOTABLE: o->notable = 1; word = "notable"; break;
		case OPT_INACTIVE: o->inactive = 1; word = "inactive"; break;
		case OPT_NOLOCKFS: o->nolockfs = 1; word = "nolockfs"; break;
		case OPT_NOFLUSH: o->noflush = 1; word = "noflush"; break;
		case OPT_RETRY: o->retry = 1; word = "retry"; break;
		case OPT_DEFERRED: o->deferred = 1; word = "deferred"; break;
		case 'r': o->readonly = 1; word = "readonly"; break;
		case 'u': o->uuid = op.arg; word = "uuid"; break;
		case 'h': usage_of(argv[0]); exit(EXIT_OK);
		default: return usage_of(argv[0]);
		}
		if (!has_word(allowed, word)) {
			errf("dmsnap: %s does not take --%s\n", argv[0], word);
			return usage_of(argv[0]);
		}
	}
	if (op.nargs < min_args || op.nargs > max_args)
		return usage_of(argv[0]);
	o->name = op.nargs > 0 ? op.args[0] : NULL;
	o->file = op.nargs > 1 ? op.args[1] : NULL;
	if (o->table && o->file) {
		errf("dmsnap: %s: --table and FILE both name a table; give one\n", argv[0]);
		return EXIT_USAGE;
	}
	if (o->notable && (o->table || o->file)) {
		errf("dmsnap: %s: --notable and a table contradict each other; give one\n", argv[0]);
		return EXIT_USAGE;
	}
	if (o->name && dm_check_name(o->name)) {
		errf("dmsnap: %s: '%.*s%s' is not a device name: names are 1-127 printable ASCII bytes without '/' or blanks\n",
			argv[0], 40, o->name, strlen(o->name) > 40 ? "..." : "");
		return EXIT_USAGE;
	}
	return EXIT_OK;
}

/* ---- dmsetup-compatible commands ---- */

/*
 * Create, load and resume; a create that fails halfway removes what it made.
 * Returns -errno with *failed naming the ioctl that failed.
 */
int create_device(int fd, const char *name, const char *uuid, const struct dm_target *t, size_t n,
		  int readonly, struct dm_info *info, enum dm_cmd *failed)
{
	int r;

	*failed = DM_DEV_CREATE_CMD;
	if ((r = dm_create(fd, name, uuid, info)) < 0 || n == 0)
		return r;
	*failed = DM_TABLE_LOAD_CMD;
	if ((r = dm_load(fd, name, t, n, readonly)) == 0) {
		*failed = DM_DEV_SUSPEND_CMD;
		if ((r = dm_resume(fd, name, info)) == 0) {
			ensure_node_of(name, info);
			return 0;
		}
	}
	dm_remove(fd, name, 0);
	return r;
}

static int cmd_create(int argc, char **argv)
{
	struct dm_opts o;
	struct table tb = { 0 };
	struct dm_info info;
	enum dm_cmd failed;
	int r;

	if ((r = parse_dm_opts(argc, argv, "table notable readonly uuid", 1, 2, &o)))
		return r;
	if (o.uuid && dm_check_uuid(o.uuid)) {
		errf("dmsnap: create: uuid is at most 128 printable ASCII bytes without '/' or blanks\n");
		return EXIT_USAGE;
	}
	if (!o.notable && (r = read_table(o.table, o.file, &tb)))
		return r;
	if ((r = create_device(control(), o.name, o.uuid, tb.t, tb.n, o.readonly, &info, &failed)) < 0)
		r = dm_fail(r, failed, o.name);
	table_free(&tb);
	return r;
}

static int cmd_load(int argc, char **argv)
{
	struct dm_opts o;
	struct table tb;
	int r;

	if ((r = parse_dm_opts(argc, argv, "table readonly", 1, 2, &o)))
		return r;
	if ((r = read_table(o.table, o.file, &tb)) == EXIT_OK && tb.n == 0)
		r = fail(0, "%s: no table lines to load", o.name);
	else if (r == EXIT_OK && (r = dm_load(control(), o.name, tb.t, tb.n, o.readonly)) < 0)
		r = dm_fail(r, DM_TABLE_LOAD_CMD, o.name);
	table_free(&tb);
	return r;
}

/* The kernel shrugs at a second suspend or a resume of a running device; we say so. */
static int cmd_suspend(int argc, char **argv)
{
	struct dm_opts o;
	struct dm_info info;
	uint32_t flags;
	int fd, r;

	if ((r = parse_dm_opts(argc, argv, "nolockfs noflush", 1, 1, &o)))
		return r;
	fd = control();
	if ((r = dm_get_info(fd, o.name, &info)) < 0)
		return dm_fail(r, DM_DEV_STATUS_CMD, o.name);
	if (info.flags & DM_SUSPEND_FLAG)
		return fail(0, "%s is already suspended; 'dmsnap resume %s' resumes it", o.name, o.name);
	flags = (o.nolockfs ? DM_SKIP_LOCKFS_FLAG : 0) | (o.noflush ? DM_NOFLUSH_FLAG : 0);
	if ((r = dm_suspend(fd, o.name, flags)) < 0)
		return dm_fail(r, DM_DEV_SUSPEND_CMD, o.name);
	return EXIT_OK;
}

static int cmd_resume(int argc, char **argv)
{
	struct dm_opts o;
	struct dm_info info;
	int fd, r;

	if ((r = parse_dm_opts(argc, argv, "", 1, 1, &o)))
		return r;
	fd = control();
	if ((r = dm_get_info(fd, o.name, &info)) < 0)
		return dm_fail(r, DM_DEV_STATUS_CMD, o.name);
	if (!(info.flags & (DM_SUSPEND_FLAG | DM_INACTIVE_PRESENT_FLAG)))
		return fail(0, "%s is neither suspended nor holding an inactive table: nothing to resume", o.name);
	if ((r = dm_resume(fd, o.name, &info)) < 0)
		return dm_fail(r, DM_DEV_SUSPEND_CMD, o.name);
	ensure_node_of(o.name, &info);
	return EXIT_OK;
}

/*
 * udev or blkid may hold a device for a moment after its last user: up to
 * tries attempts, 100 ms apart, while the kernel says EBUSY.
 */
int remove_device(int fd, const char *name, int tries, int deferred)
{
	struct timespec pause = { 0, 100 * 1000 * 1000 };
	int r;

	while ((r = dm_remove(fd, name, deferred)) == -EBUSY && --tries > 0)
		nanosleep(&pause, NULL);
	return r;
}

static int cmd_remove(int argc, char **argv)
{
	struct dm_opts o;
	int r;

	if ((r = parse_dm_opts(argc, argv, "retry deferred", 1, 1, &o)))
		return r;
	if ((r = remove_device(control(), o.name, o.retry ? REMOVE_RETRY_TRIES : 1, o.deferred)) < 0)
		return dm_fail(r, DM_DEV_REMOVE_CMD, o.name);
	remove_node(o.name);
	return EXIT_OK;
}

static int cmd_clear(int argc, char **argv)
{
	struct dm_opts o;
	int r;

	if ((r = parse_dm_opts(argc, argv, "", 1, 1, &o)))
		return r;
	if ((r = dm_clear(control(), o.name)) < 0)
		return dm_fail(r, DM_TABLE_CLEAR_CMD, o.name);
	return EXIT_OK;
}

/* Runs show(name, prefix) for one device or, with no name, for every device. */
static int for_devices(const char *name, int (*show)(int fd, const char *name, int prefix, void *arg),
		       void *arg)
{
	int fd = control(), r, failed = 0, any = 0;
	struct dm_reply list;
	struct dm_name n;

	if (name)
		return show(fd, name, 0, arg);
	if ((r = dm_list_devices(fd, &list)) < 0)
		return dm_fail(r, DM_LIST_DEVICES_CMD, NULL);
	while ((r = dm_next_name(&list, &n)) > 0) {
		any = 1;
		failed |= show(fd, n.name, 1, arg);
	}
	if (r < 0)
		failed |= dm_fail(r, DM_LIST_DEVICES_CMD, NULL);
	else if (!any)
		out("No devices found\n");
	dm_reply_free(&list);
	return failed ? EXIT_FAIL : EXIT_OK;
}

/* table and status: "start length type params" per target. */
static int show_targets(int fd, const char *name, int prefix, void *arg)
{
	uint32_t flags = *(uint32_t *)arg;
	struct dm_reply rep;
	struct dm_target t;
	int r;

	if ((r = dm_get_table(fd, name, flags, &rep)) < 0)
		return dm_fail(r, DM_TABLE_STATUS_CMD, name);
	/* dmsetup prints an empty line for a device without that table. */
	if (rep.io->target_count == 0)
		out(prefix ? "%s: \n" : "\n", name);
	while ((r = dm_next_target(&rep, &t)) > 0) {
		if (prefix)
			out("%s: ", name);
		out("%llu %llu %s %s\n", (unsigned long long)t.start, (unsigned long long)t.length, t.type,
		       t.params);
	}
	dm_reply_free(&rep);
	return r < 0 ? dm_fail(r, DM_TABLE_STATUS_CMD, name) : EXIT_OK;
}

static int table_or_status(int argc, char **argv, uint32_t flags)
{
	struct dm_opts o;
	int r;

	if ((r = parse_dm_opts(argc, argv, "inactive", 0, 1, &o)))
		return r;
	if (o.inactive)
		flags |= DM_QUERY_INACTIVE_TABLE_FLAG;
	return for_devices(o.name, show_targets, &flags);
}

static int cmd_table(int argc, char **argv)
{
	return table_or_status(argc, argv, DM_STATUS_TABLE_FLAG);
}

static int cmd_status(int argc, char **argv)
{
	return table_or_status(argc, argv, 0);
}

/* libdevmapper reads read-ahead from sysfs in KiB and prints sectors. */
static long read_ahead_sectors(uint32_t major, uint32_t minor)
{
	char path[64], line[24], *end;
	uint64_t kb;

	fmt(path, sizeof path, "/sys/dev/block/%u:%u/bdi/read_ahead_kb", major, minor);
	if (!read_line_file(path, line, sizeof line) || parse_u64(line, &end, &kb) || kb > LONG_MAX / 2)
		return -1;
	return (long)kb * 2;
}

/* dmsetup's long form: every block ends with a blank line, the last too. */
static int show_info(int fd, const char *name, int prefix, void *arg)
{
	struct dm_info i;
	int r;

	(void)prefix;
	(void)arg;
	if ((r = dm_get_info(fd, name, &i)) < 0)
		return dm_fail(r, DM_DEV_STATUS_CMD, name);
	int live = i.flags & DM_ACTIVE_PRESENT_FLAG, inactive = i.flags & DM_INACTIVE_PRESENT_FLAG;
	long ra = read_ahead_sectors(i.major, i.minor);
	out("Name:              %s\n", i.name);
	out("State:             %s%s%s\n", i.flags & DM_SUSPEND_FLAG ? "SUSPENDED" : "ACTIVE",
	       i.flags & DM_READONLY_FLAG ? " (READ-ONLY)" : "",
	       i.flags & DM_DEFERRED_REMOVE_FLAG ? " (DEFERRED REMOVE)" : "");
	if (ra >= 0)
		out("Read Ahead:        %ld\n", ra);
	out("Tables present:    %s\n",
	       live && inactive ? "LIVE & INACTIVE" : live ? "LIVE" : inactive ? "INACTIVE" : "None");
	out("Open count:        %d\n", i.open_count);
	out("Event number:      %u\n", i.event_nr);
	out("Major, minor:      %u, %u\n", i.major, i.minor);
	out("Number of targets: %u\n", i.target_count);
	if (i.uuid[0])
		out("UUID: %s\n", i.uuid);
	out("\n");
	return EXIT_OK;
}

static int cmd_info(int argc, char **argv)
{
	struct dm_opts o;
	int r;

	if ((r = parse_dm_opts(argc, argv, "", 0, 1, &o)))
		return r;
	return for_devices(o.name, show_info, NULL);
}

static int cmd_ls(int argc, char **argv)
{
	struct dm_opts o;
	struct dm_reply list;
	struct dm_name n;
	int r, any = 0;

	if ((r = parse_dm_opts(argc, argv, "", 0, 0, &o)))
		return r;
	if ((r = dm_list_devices(control(), &list)) < 0)
		return dm_fail(r, DM_LIST_DEVICES_CMD, NULL);
	while ((r = dm_next_name(&list, &n)) > 0) {
		out("%s\t(%u:%u)\n", n.name, n.major, n.minor);
		any = 1;
	}
	if (r == 0 && !any)
		out("No devices found\n");
	dm_reply_free(&list);
	return r < 0 ? dm_fail(r, DM_LIST_DEVICES_CMD, NULL) : EXIT_OK;
}

static int show_deps(int fd, const char *name, int prefix, void *arg)
{
	struct dm_reply rep;
	uint32_t count, major, minor;
	int r;

	(void)arg;
	if ((r = dm_get_deps(fd, name, 0, &rep)) < 0)
		return dm_fail(r, DM_TABLE_DEPS_CMD, name);
	if ((r = dm_deps_count(&rep, &count)) < 0) {
		dm_reply_free(&rep);
		return dm_fail(r, DM_TABLE_DEPS_CMD, name);
	}
	if (prefix)
		out("%s: ", name);
	out("%u dependencies\t:", count);
	for (uint32_t i = 0; i < count; i++) {
		dm_decode_dev(dm_deps_dev(&rep, i), &major, &minor);
		out(" (%u, %u)", major, minor);
	}
	out("\n");
	dm_reply_free(&rep);
	return EXIT_OK;
}

static int cmd_deps(int argc, char **argv)
{
	struct dm_opts o;
	int r;

	if ((r = parse_dm_opts(argc, argv, "", 0, 1, &o)))
		return r;
	return for_devices(o.name, show_deps, NULL);
}

static int cmd_targets(int argc, char **argv)
{
	struct dm_opts o;
	struct dm_reply rep;
	struct dm_version v;
	int r;

	if ((r = parse_dm_opts(argc, argv, "", 0, 0, &o)))
		return r;
	if ((r = dm_list_versions(control(), &rep)) < 0)
		return dm_fail(r, DM_LIST_VERSIONS_CMD, NULL);
	while ((r = dm_next_version(&rep, &v)) > 0)
		out("%-16s v%u.%u.%u\n", v.name, v.version[0], v.version[1], v.version[2]);
	dm_reply_free(&rep);
	return r < 0 ? dm_fail(r, DM_LIST_VERSIONS_CMD, NULL) : EXIT_OK;
}

static int cmd_version(int argc, char **argv)
{
	struct dm_opts o;
	uint32_t v[3];
	int r;

	if ((r = parse_dm_opts(argc, argv, "", 0, 0, &o)))
		return r;
	out("Library version:   dmsnap %s\n", DMSNAP_VERSION);
	if ((r = dm_get_version(control(), v)) < 0)
		return dm_fail(r, DM_VERSION_CMD, NULL);
	out("Driver version:    %u.%u.%u\n", v[0], v[1], v[2]);
	return EXIT_OK;
}

static int cmd_mknodes(int argc, char **argv)
{
	struct dm_opts o;
	int r;

	if ((r = parse_dm_opts(argc, argv, "", 0, 1, &o)))
		return r;
	return make_all_nodes(o.name);
}

/* ---- shared lookups ---- */

int get_single_target(int fd, const char *name, uint32_t flags, struct dm_target *t, char **params)
{
	struct dm_reply rep;
	int r;

	*params = NULL;
	if ((r = dm_get_table(fd, name, flags, &rep)) < 0)
		return r;
	if ((r = dm_next_target(&rep, t)) > 0) {
		*params = mem_strdup(t->params);
		t->params = *params;
		r = *params ? 0 : -ENOMEM;
	}
	dm_reply_free(&rep);
	return r;
}

/* ---- main ---- */

static const struct command *find_command(const char *name)
{
	for (size_t i = 0; i < NCOMMANDS; i++)
		if (!strcmp(commands[i].name, name))
			return &commands[i];
	return NULL;
}

static int dispatch(int argc, char **argv)
{
	const struct command *cmd;
	int i;

	for (i = 1; i < argc && argv[i][0] == '-'; i++) {
		if (!strcmp(argv[i], "-q"))
			quiet = 1;
		else if (!strcmp(argv[i], "-v"))
			verbose = 1;
		else if (!strcmp(argv[i], "--help") || !strcmp(argv[i], "-h")) {
			usage(out);
			return EXIT_OK;
		} else if (!strcmp(argv[i], "--version")) {
			out("dmsnap %s\n", DMSNAP_VERSION);
			return EXIT_OK;
		} else {
			errf("dmsnap: unknown option %s\n", argv[i]);
			usage(errf);
			return EXIT_USAGE;
		}
	}
	if (i == argc) {
		usage(errf);
		return EXIT_USAGE;
	}
	if (!(cmd = find_command(argv[i]))) {
		errf("dmsnap: unknown command '%s'; 'dmsnap --help' lists them\n", argv[i]);
		return EXIT_USAGE;
	}
	return cmd->run(argc - i, argv + i);
}

int main(int argc, char **argv)
{
	int r;

#ifdef DMSNAP_FAULTS
	faults_install();
#endif
	r = dispatch(argc, argv);
	out_flush();  /* standard output is ours to flush: no stdio */
	return r;
}
