/*
 * dmsetup.c - the dmsetup-compatible commands (dmsetup.h): their table
 * input, their options and their output, byte for byte as dmsetup prints it.
 *
 * Two spellings share this code: dmsnap's (`dmsnap info`, with dmsnap's
 * options and messages, and stricter checks where dmsnap's commands change
 * state) and dmsetup's own, when dmsnap is invoked as `dmsetup`
 * (dmsetup_main: its options before or after the command, its devices
 * named five ways, its messages as libdevmapper words them, its exit codes).
 */
#define _GNU_SOURCE
#include <errno.h>
#include <fcntl.h>
#include <getopt.h>
#include <limits.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/sem.h>
#include <sys/stat.h>
#include <sys/sysmacros.h>
#include <time.h>
#include <unistd.h>

#include "cli.h"
#include "device.h"
#include "dmsetup.h"
#include "mangle.h"
#include "probe.h"
#include "report.h"
#include "util.h"

#define REMOVE_RETRY_TRIES 50  /* dmsnap remove --retry: 5 s */
#define REMOVE_RETRIES 25      /* dmsetup remove --retry: libdevmapper's, 200 ms apart */

/* ---- what the commands share ---- */

/* dmsetup's switches; the long names follow this order. */
enum {
	S_READONLY, S_COLUMNS, S_FORCE, S_HELP, S_MAJOR, S_MINOR, S_NOTABLE, S_OPTIONS, S_UUID, S_UID, S_GID,
	S_MODE, S_VERBOSE, S_YES, S_ADDNODEONCREATE, S_ADDNODEONRESUME, S_CHECKS, S_DEFERRED, S_INACTIVE,
	S_MANGLENAME, S_NAMEPREFIXES, S_NOFLUSH, S_NOHEADINGS, S_NOLOCKFS, S_NOOPENCOUNT, S_NOUDEVRULES,
	S_NOUDEVSYNC, S_READAHEAD, S_RETRY, S_ROWS, S_SEPARATOR, S_SETUUID, S_SHOWKEYS, S_TABLE, S_TARGET,
	S_TREE, S_UDEVCOOKIE, S_UNBUFFERED, S_UNQUOTED, S_VERIFYUDEV, S_VERSION, NSWITCHES
};

static const char switch_names[] =
	"readonly\0columns\0force\0help\0major\0minor\0notable\0options\0uuid\0uid\0gid\0mode\0verbose\0yes\0"
	"addnodeoncreate\0addnodeonresume\0checks\0deferred\0inactive\0manglename\0nameprefixes\0noflush\0"
	"noheadings\0nolockfs\0noopencount\0noudevrules\0noudevsync\0readahead\0retry\0rows\0separator\0"
	"setuuid\0showkeys\0table\0target\0tree\0udevcookie\0unbuffered\0unquoted\0verifyudev\0version\0";
/* The switches that take an argument (dmsetup's --verbose does). */
#define ARG_SWITCHES                                                                                         \
	(1ull << S_MAJOR | 1ull << S_MINOR | 1ull << S_OPTIONS | 1ull << S_UUID | 1ull << S_UID | 1ull << S_GID | \
	 1ull << S_MODE | 1ull << S_VERBOSE | 1ull << S_MANGLENAME | 1ull << S_READAHEAD | 1ull << S_SEPARATOR | \
	 1ull << S_TABLE | 1ull << S_TARGET | 1ull << S_UDEVCOOKIE)
static struct option longopts[NSWITCHES + 1];

/* getopt_long's table of dmsetup's long options, made once from switch_names. */
static const struct option *long_options(void)
{
	const char *name = switch_names;

	if (!longopts[0].name)
		for (int i = 0; i < NSWITCHES; i++, name += strlen(name) + 1)
			longopts[i] = (struct option){ name, ARG_SWITCHES >> i & 1 ? required_argument : no_argument,
						       NULL, 256 + i };
	return longopts;
}

static int as_dmsetup;          /* invoked as dmsetup: its options, words and exit codes */
static unsigned char sw[NSWITCHES];
static char *sarg[NSWITCHES];
static int ctl = -1;            /* /dev/mapper/control */
static int multi;               /* several devices: dmsetup prefixes their lines with "NAME: " */
static const char *op_cmd = ""; /* the command running */

/* The device a command works on, and how it was named (libdevmapper's messages show it so). */
static char dname[DM_NAME_LEN];
static enum { BY_NAME, BY_UUID, BY_DEVNO } named_by;
static int e_major = -1, e_minor;  /* a device number the messages show (-j -m, or after a create) */

static enum { DN_DEVNO, DN_BLK, DN_MAP } dn_type;  /* ls and deps -o devno, blkdevname or devname */
static struct report rep;
static int reporting;

static int need_ctl(void)
{
	if (ctl < 0)
		ctl = need_control();
	return ctl < 0;
}

/*
 * A failed ioctl, in libdevmapper's words (op: its name for the ioctl) or,
 * for the commands of dmsnap's spelling that come here, dmsnap's; returns 1.
 */
static int ioerr(const char *op, int err)
{
	char devno[32] = "";

	if (!as_dmsetup)
		return dm_fail(err, *op == 'i' ? DM_DEV_STATUS_CMD : *op == 'd' ? DM_TABLE_DEPS_CMD :
				    *op == 'n' ? DM_LIST_DEVICES_CMD : *op == 'v' ? DM_VERSION_CMD :
				    *op == 'c' ? DM_TABLE_CLEAR_CMD : *op == 'r' || op[1] == 'u' ? DM_DEV_SUSPEND_CMD :
				    DM_TABLE_STATUS_CMD, dname);
	if (e_major >= 0)
		snprintf(devno, sizeof devno, "(%d:%d)", e_major, e_minor);
	/* glibc's words where musl's differ: dmsetup is built with glibc */
	errf("device-mapper: %s ioctl on %s %s%s failed: %s\n", op, named_by == BY_NAME ? dname : "",
	     named_by == BY_UUID ? sarg[S_UUID] : "", devno, err == -EBUSY ? "Device or resource busy" : strerror(-err));
	return 1;
}

static int say(const char *msg)
{
	errf("%s\n", msg);
	return 1;
}

/* ---- table input ---- */

struct table {
	struct dm_target *t;
	size_t n;
	char *text;  /* the lines; t[i].params point into it */
};

static void table_free(struct table *tb)
{
	free(tb->t);
	free(tb->text);
	memset(tb, 0, sizeof *tb);
}

/*
 * A line as dmsetup reads it: sscanf's "%llu %llu %s", a sign allowed, and
 * the parameters up to a '#'.  The kernel judges the rest.
 */
static int dmsetup_line(char *p, struct dm_target *t)
{
	char *end, *type;
	size_t len;
	int over;

	t->start = scan_ull(p, &end, 10, &over);
	if (end == p || (t->length = scan_ull(type = end, &end, 10, &over), end == type))
		return -EINVAL;
	type = end + strspn(end, " \t\n\v\f\r");
	len = strcspn(type, " \t\n\v\f\r");
	if (!len)
		return -EINVAL;
	snprintf(t->type, sizeof t->type, "%.*s", (int)len, type);
	t->params = type + len + strspn(type + len, " \t\n\v\f\r");
	((char *)t->params)[strcspn(t->params, "#")] = '\0';
	return 0;
}

/*
 * Lines of "start length type params": blank lines and '#' comments are
 * skipped as dmsetup does; no lines at all make an empty table (create
 * then makes a device without one, as dmsetup does).  dmsnap's spelling
 * wants targets to cover 0..end without gaps: saying which line is wrong
 * beats the kernel's bare EINVAL.
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
		char *p = line + strspn(line, " \t\v\f\r");
		if (!*p || *p == '#')
			continue;
		if (tb->n == cap) {
			struct dm_target *more = grow_block(tb->t, tb->n * sizeof *more, (cap = cap ? cap * 2 : 8) * sizeof *more);
			if (!more)
				return fail(-ENOMEM, "%s:", what);
			tb->t = more;
		}
		struct dm_target *t = &tb->t[tb->n];
		int r = as_dmsetup ? dmsetup_line(p, t) : dm_parse_line(p, t);
		if (r && as_dmsetup) {
			errf("Invalid format on line %zu of table %s.\n", lineno, what);
			return 1;
		}
		if (r == -ENAMETOOLONG)
			return fail(0, "%s line %zu: target type longer than %d bytes", what, lineno,
				    DM_MAX_TYPE_NAME - 1);
		if (r == -ERANGE)
			return fail(0, "%s line %zu: length must be 1 or more and start+length must fit in 64 bits",
				    what, lineno);
		if (r)
			return fail(0, "%s line %zu: expected 'START LENGTH TYPE [ARGS]', got '%s'", what, lineno,
				    p);
		if (t->start != next && !as_dmsetup)
			return fail(0, "%s line %zu: starts at sector %llu, expected %llu (targets must follow each other from 0)",
				    what, lineno, (unsigned long long)t->start, (unsigned long long)next);
		next = t->start + t->length;
		tb->n++;
	}
	return EXIT_OK;
}

/* The table of create/load: --table LINE (one line to dmsetup), FILE or standard input. */
static int read_table(const char *inline_table, const char *file, struct table *tb)
{
	char *text;
	size_t len;
	int fd;

	memset(tb, 0, sizeof *tb);
	if (inline_table) {
		text = strdup(inline_table);
		for (char *p = text; as_dmsetup && p && *p; p++)
			*p = *p == '\n' ? ' ' : *p;
		file = as_dmsetup ? "" : "--table";
	} else if (file) {
		if ((fd = open(file, O_RDONLY | O_CLOEXEC)) < 0) {
			if (!as_dmsetup)
				return fail(errno, "%s:", file);
			errf("Couldn't open '%s' for reading.\n", file);
			return 1;
		}
		text = read_all(fd, &len);
		close(fd);
	} else {
		text = read_all(0, &len);
		file = as_dmsetup ? "on stdin" : "standard input";
	}
	if (!text)
		return fail(errno, "%s:", file);
	return parse_table(text, file, tb);
}

/* ---- dmsnap's spelling: options ---- */

struct dm_opts {
	int help;  /* --help was shown: the command is done */
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
 * dmsnap's options for its dmsetup-compatible commands: dmsetup's long
 * ones (and -r, -u), but only those `allowed` lists; the others are usage
 * errors.  They land in sw[] and sarg[] as dmsetup's do.  Positional
 * arguments: NAME then FILE, up to max_args of them.  After --help the
 * command returns what this returns, with o->help set.
 */
static int parse_dm_opts(int argc, char **argv, const char *allowed, int min_args, int max_args,
			 struct dm_opts *o)
{
	int c, i, nargs;

	memset(o, 0, sizeof *o);
	while ((c = getopt_long(argc, argv, "ru:h", long_options(), NULL)) != -1) {
		if (c == 'h' || c == 256 + S_HELP)
			return o->help = 1, show_help();
		if (c == '?')
			return usage_error();
		i = c == 'r' ? S_READONLY : c == 'u' ? S_UUID : c - 256;
		if (!has_word(allowed, longopts[i].name)) {
			warn(0, "%s does not take --%s", argv[0], longopts[i].name);
			return usage_error();
		}
		sw[i] = 1;
		sarg[i] = optarg;
	}
	nargs = argc - optind;
	if (nargs < min_args || nargs > max_args)
		return usage_error();
	o->name = nargs > 0 ? argv[optind] : NULL;
	o->file = nargs > 1 ? argv[optind + 1] : NULL;
	if (sarg[S_TABLE] && o->file)
		return bad_usage("%s: --table and FILE both name a table; give one", argv[0]);
	if (sw[S_NOTABLE] && (sarg[S_TABLE] || o->file))
		return bad_usage("%s: --notable and a table contradict each other; give one", argv[0]);
	if (o->name && dm_check_name(o->name))
		return bad_usage("%s: '%.*s%s' is not a device name: names are 1-127%s", argv[0], 40, o->name,
				 strlen(o->name) > 40 ? "..." : "", name_rule);
	return EXIT_OK;
}

/* ---- devices: their names, their nodes, their info ---- */

/* libdevmapper's dm_device_get_name: the kernel's name (dm-3, vdc) or, unless kernel, a dm device's name. */
static int dev_name(uint32_t major, uint32_t minor, int kernel, char *buf, size_t size)
{
	char path[64], link[256];
	ssize_t n;

	sys_block(path, sizeof path, major, minor, "/dm/name");
	if (!kernel && read_line_file(path, buf, size))
		return 1;
	path[strlen(path) - 8] = '\0';
	if ((n = readlink(path, link, sizeof link - 1)) < 0)
		return 0;
	link[n] = '\0';
	snprintf(buf, size, "%s", strrchr(link, '/') ? strrchr(link, '/') + 1 : link);
	return 1;
}

static int not_found(const char *dev)
{
	errf("Device %s not found\n", dev);
	return 1;
}

/*
 * dmsetup's <device>: a name, a path to its node (/dev/mapper/NAME,
 * /dev/dm-N, mapper/NAME) or, without one, -u UUID or -j MAJOR -m MINOR.
 * Leaves the name in dname.  op: the ioctl blamed when -u or -j -m name
 * nothing ("info" and "status" say the device does not exist).
 */
static int find_device(const char *dev, const char *op)
{
	struct dm_info info;
	struct stat st;
	char path[PATH_MAX];
	int r;

	e_major = -1;
	named_by = BY_NAME;
	if (need_ctl())
		return 1;
	if (dev == dname)  /* for_all's device, named already */
		return 0;
	if (dev && strchr(dev, '/')) {
		const char *base = strrchr(dev, '/') + 1;
		/* As libdevmapper: a path with one '/' not at the start may be under /dev. */
		if (stat(dev, &st) && (strlen(dev) < 3 || dev[0] == '/' || strchr(dev, '/') != base - 1 ||
				       (snprintf(path, sizeof path, "/dev/%s", dev), stat(path, &st))))
			return not_found(dev);
		sys_block(path, sizeof path, major(st.st_rdev), minor(st.st_rdev), "/dm/name");
		return S_ISBLK(st.st_mode) && read_line_file(path, dname, sizeof dname) ? 0 : not_found(base);
	}
	if (dev) {
		if (strlen(dev) >= DM_NAME_LEN) {
			errf("Name \"%s\" too long.\n", dev);
			return 1;
		}
		strcpy(dname, dev);
		return 0;
	}
	if (sw[S_UUID])
		named_by = BY_UUID;
	else if (sw[S_MAJOR])
		named_by = BY_DEVNO, e_major = scan_int(sarg[S_MAJOR]), e_minor = scan_int(sarg[S_MINOR]);
	else
		return say("No device specified.");
	r = dm_get_info_by(ctl, sw[S_UUID] ? sarg[S_UUID] : NULL, dm_encode_dev(e_major, e_minor), &info);
	if (r == -ENXIO && (!strcmp(op, "info") || !strcmp(op, "status")))
		return say("Device does not exist.");
	if (r)
		return ioerr(op, r);
	strcpy(dname, info.name);
	return 0;
}

/* libdevmapper reads read-ahead from sysfs in KiB and prints sectors. */
static long read_ahead_sectors(uint32_t major, uint32_t minor)
{
	char path[64], line[24], *end;
	uint64_t kb;

	sys_block(path, sizeof path, major, minor, "/bdi/read_ahead_kb");
	if (!read_line_file(path, line, sizeof line) || parse_u64(line, &end, &kb) || kb > LONG_MAX / 2)
		return -1;
	return (long)kb * 2;
}

/* dmsetup's long form: every block ends with a blank line, the last too. */
static void print_info(const struct dm_info *i)
{
	int live = i->flags & DM_ACTIVE_PRESENT_FLAG, inactive = i->flags & DM_INACTIVE_PRESENT_FLAG;
	long ra = read_ahead_sectors(i->major, i->minor);

	printf("Name:              %s\n", i->name);
	printf("State:             %s%s%s\n", i->flags & DM_SUSPEND_FLAG ? "SUSPENDED" : "ACTIVE",
	       i->flags & DM_READONLY_FLAG ? " (READ-ONLY)" : "",
	       i->flags & DM_DEFERRED_REMOVE_FLAG ? " (DEFERRED REMOVE)" : "");
	if (ra >= 0)
		printf("Read Ahead:        %ld\n", ra);
	printf("Tables present:    %s\n",
	       live && inactive ? "LIVE & INACTIVE" : live ? "LIVE" : inactive ? "INACTIVE" : "None");
	printf("Open count:        %d\n", i->open_count);
	printf("Event number:      %u\n", i->event_nr);
	printf("Major, minor:      %u, %u\n", i->major, i->minor);
	printf("Number of targets: %u\n", i->target_count);
	if (i->uuid[0])
		printf("UUID: %s\n", i->uuid);
	printf("\n");
}

/* Nodes for every device (or one), and none for devices that are gone. */
static int make_nodes(const char *only)
{
	int fd = need_control(), r, failed = 0;
	struct dm_reply list;
	struct dm_name n;

	if (fd < 0)
		return EXIT_FAIL;
	if ((r = dm_list_devices(fd, &list)) < 0)
		return dm_fail(r, DM_LIST_DEVICES_CMD, NULL);
	while ((r = dm_next_name(&list, &n)) > 0)
		if ((!only || !strcmp(only, n.name)) && (r = ensure_node(n.name, n.major, n.minor)) < 0) {
			warn(r, "%s: cannot make %s/%s:", n.name, DM_DIR, n.name);
			failed++;
		}
	if (r < 0)
		failed += dm_fail(r, DM_LIST_DEVICES_CMD, NULL);
	if (!only)
		remove_stale_nodes(fd);
	dm_reply_free(&list);
	return failed ? EXIT_FAIL : EXIT_OK;
}

/*
 * "type vX.Y.Z" per target type, or for the one named (target-version);
 * 1 after saying why they could not be listed.
 */
static int list_targets(const char *type)
{
	struct dm_reply rep;
	struct dm_version v;
	int r;

	if (need_ctl())
		return 1;
	if ((r = dm_list_versions(ctl, type, &rep)) == 0)
		while ((r = dm_next_version(&rep, &v)) > 0)
			printf("%-16s v%u.%u.%u\n", v.name, v.version[0], v.version[1], v.version[2]);
	dm_reply_free(&rep);
	return r >= 0 ? EXIT_OK : type ? ioerr(op_cmd, r) : dm_fail(r, DM_LIST_VERSIONS_CMD, NULL);
}

/* ---- info -c and splitname: the report's fields ---- */

enum { SEC_NAME, SEC_INFO, SEC_SPLIT };
enum {
	F_NAME, F_UUID, F_READ_AHEAD, F_BLKDEVNAME, F_ATTR, F_TABLES, F_SUSPENDED, F_READONLY, F_DEVNO, F_MAJOR,
	F_MINOR, F_OPEN, F_SEGMENTS, F_EVENTS, F_SUBSYSTEM, F_VG, F_LV, F_LAYER,
};
/* dmsetup's fields but the dependency, (un)mangled and statistics ones: names and headings, ... */
static const char fields[] =
	"name\0Name\0uuid\0UUID\0read_ahead\0RAhead\0blkdevname\0BlkDevName\0attr\0Stat\0"
	"tables_loaded\0Tables\0suspended\0Suspended\0readonly\0Read-only\0devno\0DevNo\0major\0Maj\0"
	"minor\0Min\0open\0Open\0segments\0Targ\0events\0Event\0subsystem\0Subsys\0vg_name\0VG\0"
	"lv_name\0LV\0lv_layer\0LVLayer\0";
/* ... their widths, kinds and sections */
static const unsigned char field_attrs[][2] = {
	{ 16, SEC_NAME }, { 32, SEC_NAME }, { 6, SEC_NAME | RF_NUM }, { 16, SEC_INFO }, { 4, SEC_INFO },
	{ 6, SEC_INFO }, { 9, SEC_INFO }, { 9, SEC_INFO }, { 5, SEC_INFO }, { 3, SEC_INFO | RF_NUM },
	{ 3, SEC_INFO | RF_NUM }, { 4, SEC_INFO | RF_NUM }, { 4, SEC_INFO | RF_NUM }, { 6, SEC_INFO | RF_NUM },
	{ 6, SEC_SPLIT }, { 4, SEC_SPLIT }, { 4, SEC_SPLIT }, { 7, SEC_SPLIT },
};

/* A field's value for device i into buf; 1 if it has none (the object fails). */
static int field_value(int f, const struct dm_info *i, char *const split[4], char *buf, size_t size)
{
	unsigned flags = i ? i->flags : 0, live = flags & DM_ACTIVE_PRESENT_FLAG,
		 inactive = flags & DM_INACTIVE_PRESENT_FLAG;
	const char *v;
	long n;

	switch (f) {
	case F_NAME: v = i->name; break;
	case F_UUID: v = i->uuid; break;
	case F_TABLES: v = live && inactive ? "Both" : live ? "Live" : inactive ? "Inactive" : "None"; break;
	case F_SUSPENDED: v = flags & DM_SUSPEND_FLAG ? "Suspended" : "Active"; break;
	case F_READONLY: v = flags & DM_READONLY_FLAG ? "Read-only" : "Writeable"; break;
	case F_READ_AHEAD: n = read_ahead_sectors(i->major, i->minor); n = n < 0 ? 0 : n; goto number;
	case F_MAJOR: n = i->major; goto number;
	case F_MINOR: n = i->minor; goto number;
	case F_OPEN: n = i->open_count; goto number;
	case F_SEGMENTS: n = i->target_count; goto number;
	case F_EVENTS: n = i->event_nr; goto number;
	case F_DEVNO:
		return snprintf(buf, size, "%u:%u", i->major, i->minor), 0;
	case F_ATTR:
		return snprintf(buf, size, "%c%c%c%c", live ? 'L' : '-', inactive ? 'I' : '-',
				flags & DM_SUSPEND_FLAG ? 's' : '-', flags & DM_READONLY_FLAG ? 'r' : 'w'), 0;
	case F_BLKDEVNAME:
		if (dev_name(i->major, i->minor, 1, buf, size))
			return 0;
		return errf("Could not resolve block device name for %u:%u.\n", i->major, i->minor), 1;
	default: v = split[f - F_SUBSYSTEM]; break;
	}
	return snprintf(buf, size, "%s", v), 0;
number:
	return snprintf(buf, size, "%ld", n), 0;
}

/*
 * One object of the report: device i, or with i NULL splitname's name
 * parts, whose other fields have no value.  subsystem: the uuid's prefix
 * (splitname: the given one); the name is split only for "LVM".
 */
static int report_object(const struct dm_info *i, const char *name, const char *subsystem)
{
	static char buf[REPORT_MAX_FIELDS + 2][DM_UUID_LEN + DM_NAME_LEN];
	char *values[REPORT_MAX_FIELDS], *split[4] = { buf[0], "", "", "" }, *copy = buf[1];
	const char *dash = strchr(subsystem, '-');

	/* A device's subsystem is its uuid up to the first '-' (none: ""); splitname's is given. */
	snprintf(split[0], DM_UUID_LEN, "%.*s", !i ? DM_UUID_LEN : dash ? (int)(dash - subsystem) : 0, subsystem);
	snprintf(copy, sizeof buf[1], "%s", name);
	if (!strcmp(split[0], "LVM"))
		split_lvm_name(copy, &split[1], &split[2], &split[3]);
	for (size_t n = 0; n < rep.nsel; n++) {
		int f = rep.sel[n];
		values[n] = buf[n + 2];
		if (!i && f < F_SUBSYSTEM) {
			errf("_do_report_object: no data assigned to field %s\n", report_name(fields, f, 0));
			return 1;
		}
		if (field_value(f, i, split, values[n], sizeof buf[0])) {
			errf("_do_report_object: report function failed for field %s\n", report_name(fields, f, 0));
			return 1;
		}
	}
	return report_row(&rep, values) < 0;
}

/* dmsetup's _display_info: the long form, or a row with -c. */
static int display_info(const struct dm_info *i)
{
	if (!sw[S_COLUMNS]) {
		print_info(i);
		return 0;
	}
	return report_object(i, i->name, i->uuid);
}

/* After a command that changed dname: its info, with -v. */
static int info_after(void)
{
	struct dm_info i;

	return sw[S_VERBOSE] && dm_get_info(ctl, dname, &i) == 0 ? display_info(&i) : 0;
}

/*
 * ---- ls --tree: the dependency tree as libdevmapper's dm_tree shows it ----
 *
 * Its roots are the dm devices no dm device's live table uses, in the
 * kernel's list order; a device's children are its table's devices in the
 * order the kernel lists them (a device used twice appears under each
 * user).  Walked straight from the ioctls: nothing is stored.
 */

/* Whether the live table of any dm device uses dev. */
static int used_by_any(uint64_t dev)
{
	struct dm_reply list, deps;
	struct dm_name n;
	uint32_t count;
	int used = 0;

	if (dm_list_devices(ctl, &list))
		return 0;
	while (!used && dm_next_name(&list, &n) > 0) {
		if (dm_get_deps(ctl, n.name, 0, &deps))
			continue;
		if (!dm_deps_count(&deps, &count))
			for (uint32_t d = 0; d < count; d++)
				used |= dm_deps_dev(&deps, d) == dev;
		dm_reply_free(&deps);
	}
	dm_reply_free(&list);
	return used;
}

enum { TR_DEVICE = 1, TR_BLKDEVNAME = 2 };
#define MAX_DEPTH 100
static unsigned tree_sw;
static int tree_more[MAX_DEPTH];
/* Drawing: empty, branch, vertical, last; ASCII or, with -o utf, box drawing. */
static const char *const tree_ascii[] = { "  ", "|-", "| ", "`-" };
static const char *const tree_utf[] = { "  ", "\342\224\234\342\224\200", "\342\224\202 ", "\342\224\224\342\224\200" };
static const char *const *tsym = tree_ascii;

static void tree_walk(const char *name, unsigned depth);

/* One device's line, its place in the tree then its name, kernel name and number; then its children. */
static void tree_node(uint64_t dev, unsigned depth, int last)
{
	struct dm_info info = { 0 };  /* name "" for a device that is not dm's */
	uint32_t major, minor;
	char kname[64];
	int dm = dm_get_info_by(ctl, NULL, dev, &info) == 0;

	dm_decode_dev(dev, &major, &minor);
	if (depth + 2 <= MAX_DEPTH && (dm || tree_sw & (TR_DEVICE | TR_BLKDEVNAME))) {
		tree_more[depth] = !last;
		for (unsigned d = 0; d < depth; d++)
			printf(" %s", tsym[d == depth - 1 ? (tree_more[depth] ? 1 : 3) : tree_more[d + 1] ? 2 : 0]);
		fputs(info.name, stdout);
		if (tree_sw & TR_BLKDEVNAME && dev_name(major, minor, 1, kname, sizeof kname))
			printf(" <%s>", kname);
		if (tree_sw & TR_DEVICE)
			printf(" (%u:%u)", major, minor);
		putc('\n', stdout);
	}
	if (dm)
		tree_walk(info.name, depth + 1);
}

/* The devices name's live table uses, each under it. */
static void tree_walk(const char *name, unsigned depth)
{
	struct dm_reply deps;
	uint32_t count;

	if (dm_get_deps(ctl, name, 0, &deps))
		return;
	if (!dm_deps_count(&deps, &count))
		for (uint32_t d = 0; d < count; d++)
			tree_node(dm_deps_dev(&deps, d), depth, d + 1 == count);
	dm_reply_free(&deps);
}

/* The first of names (NUL-separated) that the start of s, up to a comma, abbreviates; its index, or -1. */
static int abbrev(const char *names, const char *s)
{
	size_t len = strcspn(s, ",");

	for (int i = 0; *names; names += strlen(names) + 1, i++)
		if (!strncmp(s, names, len))
			return i;
	return -1;
}

/*
 * -o: with --tree the tree's options, otherwise how ls and deps name
 * devices; each name may be abbreviated, as dmsetup matches them.
 */
static int options(const char *opts)
{
	/* but device, blkdevname, nodevice, utf and ascii, they are taken and change nothing */
	const char *names = "devno\0blkdevname\0devname\0";
	int tree = sw[S_TREE], i;

	if (tree) {
		names = "device\0blkdevname\0nodevice\0status\0table\0active\0open\0uuid\0rw\0"
			"utf\0vt100\0ascii\0inverted\0compact\0notrunc\0";
		tree_sw = TR_DEVICE;
	}
	for (const char *s = opts; s && *s; s++) {
		if ((i = abbrev(names, s)) < 0) {
			errf(tree ? "Tree options not recognised: %s.\n" : "Option not recognised: %s.\n", s);
			return 1;
		}
		if (!tree)
			dn_type = i == 0 ? DN_DEVNO : i == 1 ? DN_BLK : DN_MAP;
		else if (i == 2)
			tree_sw &= ~TR_DEVICE;
		else if (i < 2)
			tree_sw |= i ? TR_BLKDEVNAME : TR_DEVICE;
		if (tree && (i == 9 || i == 11))
			tsym = i == 9 ? tree_utf : tree_ascii;
		if (!s[strcspn(s, ",")])
			break;
		s += strcspn(s, ",");
	}
	return 0;
}

/* ---- dmsnap's spelling: a failed load names the missing device ---- */

/* Does a table word name a block device (MAJ:MIN or a path) that is not there? */
static int names_missing_device(const char *word)
{
	char path[64];
	uint32_t major, minor;
	struct stat st;

	if (dm_parse_devno(word, &major, &minor) == 0) {
		sys_block(path, sizeof path, major, minor, "");
		return access(path, F_OK) < 0;
	}
	return word[0] == '/' && (stat(word, &st) < 0 || !S_ISBLK(st.st_mode));
}

/* The first device a table names that does not exist, copied into buf; 0 if none. */
static int find_missing_device(const struct table *tb, char *buf, size_t size, size_t *line)
{
	for (size_t i = 0; i < tb->n; i++) {
		const char *p = tb->t[i].params;
		while (*(p += strspn(p, " \t"))) {
			size_t n = strcspn(p, " \t");
			snprintf(buf, size, "%.*s", (int)n, p);
			if (names_missing_device(buf)) {
				*line = i + 1;
				return 1;
			}
			p += n;
		}
	}
	return 0;
}

/* A failed load: when the table names a device that is not there, say which. */
static int load_fail(int err, enum dm_cmd cmd, const char *name, const struct table *tb)
{
	char dev[256];
	size_t line;

	if (cmd == DM_TABLE_LOAD_CMD && (err == -ENXIO || err == -ENODEV || err == -ENOENT) &&
	    find_missing_device(tb, dev, sizeof dev, &line))
		return fail(err, "%s: %s: target %zu names %s, which is not a block device here:", name,
			    dm_cmd_name(cmd), line, dev);
	return dm_fail(err, cmd, name);
}

/* ---- the commands: each returns 0 or 1 (failed, said why); dev is the device argument or NULL ---- */

static uint32_t cur_major, cur_minor;  /* the device for_all is at */

/* Runs one for every device, as dmsetup's _process_all; "No devices found" unless silent. */
static int for_all(int (*one)(const char *dev, int argc, char **argv), int silent)
{
	struct dm_reply list;
	struct dm_name n;
	int r, failed = 0, any = 0, was = multi;

	if (need_ctl())
		return 1;
	if ((r = dm_list_devices(ctl, &list)) < 0) {
		dname[0] = '\0';
		return ioerr("names", r);
	}
	multi = 1;
	while (dm_next_name(&list, &n) > 0) {
		any = 1;
		snprintf(dname, sizeof dname, "%s", n.name);
		cur_major = n.major, cur_minor = n.minor;
		failed |= one(dname, 0, NULL);
	}
	if (!any && !silent)
		printf("No devices found\n");
	multi = was;
	dm_reply_free(&list);
	return failed;
}

static int c_info(const char *dev, int argc, char **argv)
{
	struct dm_info i;
	int r;

	(void)argc, (void)argv;
	if (find_device(dev, "info"))
		return 1;
	if ((r = dm_get_info(ctl, dname, &i)) == -ENXIO && as_dmsetup)
		return say("Device does not exist.");
	return r ? ioerr("info", r) : display_info(&i);
}

static int c_deps(const char *dev, int argc, char **argv)
{
	struct dm_reply rp;
	struct dm_info i;
	uint32_t count, ma, mi;
	char buf[DM_NAME_LEN];
	int r;

	(void)argc, (void)argv;
	if (find_device(dev, "deps"))
		return 1;
	if ((r = dm_get_deps(ctl, dname, sw[S_INACTIVE] ? DM_QUERY_INACTIVE_TABLE_FLAG : 0, &rp)) ||
	    (r = dm_deps_count(&rp, &count))) {
		dm_reply_free(&rp);
		return ioerr("deps", r);
	}
	dm_info_from(rp.io, &i);
	if (sw[S_VERBOSE])
		display_info(&i);
	if (multi && !sw[S_VERBOSE])
		printf("%s: ", dname);
	printf("%u dependencies\t:", count);
	for (uint32_t d = 0; d < count; d++) {
		dm_decode_dev(dm_deps_dev(&rp, d), &ma, &mi);
		if (dn_type != DN_DEVNO && dev_name(ma, mi, dn_type == DN_BLK, buf, sizeof buf))
			printf(" (%s)", buf);
		else
			printf(" (%u, %u)", ma, mi);
	}
	printf(multi && sw[S_VERBOSE] ? "\n\n" : "\n");
	dm_reply_free(&rp);
	return 0;
}

/* table, status, and ls --target: dmsetup's _status. */
static int c_table(const char *dev, int argc, char **argv)
{
	int table = !strcmp(op_cmd, "table"), ls = *op_cmd == 'l', matched = 0, r;
	const char *op = table ? "table" : "status";
	uint32_t flags = (table ? DM_STATUS_TABLE_FLAG : 0) | (sw[S_INACTIVE] ? DM_QUERY_INACTIVE_TABLE_FLAG : 0) |
			 (sw[S_NOFLUSH] ? DM_NOFLUSH_FLAG : 0);
	struct dm_reply rp;
	struct dm_target t;
	struct dm_info i;

	(void)argc, (void)argv;
	if (find_device(dev, op))
		return 1;
	if ((r = dm_get_table(ctl, dname, flags, &rp)) == -ENXIO && !table && as_dmsetup)
		return say("Device does not exist.");
	if (r)
		return ioerr(op, r);
	dm_info_from(rp.io, &i);
	/* A device without the table still gets its line, as in dmsetup. */
	for (uint32_t k = 0; k == 0 || k < i.target_count; k++) {
		int have = k < i.target_count && dm_next_target(&rp, &t) > 0;
		if (sw[S_TARGET] && (!have || strcmp(t.type, sarg[S_TARGET])))
			continue;
		if (ls) {
			printf("%s\t(%u, %u)\n", dname, i.major, i.minor);
			break;
		}
		if (!matched && sw[S_VERBOSE])
			display_info(&i);
		if (multi && !sw[S_VERBOSE])
			printf("%s: ", dname);
		if (have) {
			/* dmsetup hides crypt's key unless --showkeys: the params are ours to change. */
			if (table && !sw[S_SHOWKEYS] && !strcmp(t.type, "crypt")) {
				char *c = (char *)t.params + strcspn(t.params, " ");
				for (c += !!*c; *c && *c != ' '; c++)
					*c = '0';
			}
			printf("%llu %llu %s %s", (unsigned long long)t.start, (unsigned long long)t.length, t.type,
			       t.params);
		}
		putc('\n', stdout);
		matched = 1;
	}
	if (multi && sw[S_VERBOSE] && matched && !ls)
		putc('\n', stdout);
	dm_reply_free(&rp);
	return 0;
}

/* suspend, resume, clear: dmsetup's _simple. */
static int c_simple(const char *dev, int argc, char **argv)
{
	struct dm_info i;
	int r;

	(void)argc, (void)argv;
	if (find_device(dev, op_cmd))
		return 1;
	if (*op_cmd == 's')
		r = dm_suspend(ctl, dname, (sw[S_NOLOCKFS] ? DM_SKIP_LOCKFS_FLAG : 0) | (sw[S_NOFLUSH] ? DM_NOFLUSH_FLAG : 0));
	else if (*op_cmd == 'c')
		r = dm_clear(ctl, dname);
	else if (!(r = dm_resume(ctl, dname, &i)))
		node_or_warn(dname, &i);
	return r ? ioerr(op_cmd, r) : info_after();
}

static int c_wait(const char *dev, int argc, char **argv)
{
	struct dm_info i;
	int r;

	if (!sw[S_UUID] && !sw[S_MAJOR]) {
		if (!argc)
			return say("No device specified.");
		argc--, argv++;
	} else {
		dev = NULL;
	}
	if (find_device(dev, "waitevent"))
		return 1;
	if ((r = dm_wait_event(ctl, dname, argc ? (uint32_t)scan_int(argv[argc - 1]) : 0, &i)))
		return ioerr("waitevent", r);
	return sw[S_VERBOSE] ? display_info(&i) : 0;
}

/* dmsetup's _error_device: an error target of the same size in place of the table. */
static int error_device(void)
{
	struct dm_reply rp;
	struct dm_target t;
	struct dm_info i;
	uint64_t size = 0;
	int r;

	if ((r = dm_get_table(ctl, dname, DM_STATUS_TABLE_FLAG, &rp)))
		ioerr("table", r);
	while (!r && dm_next_target(&rp, &t) > 0)
		size += t.length;
	dm_reply_free(&rp);
	t = (struct dm_target){ 0, size, "error", "" };
	if ((r = dm_load(ctl, dname, &t, 1, sw[S_READONLY])))
		return ioerr("reload", r);
	/* --force: no flush and no freeze, so that a device with stuck I/O lets go. */
	if ((r = dm_resume_flags(ctl, dname, sw[S_FORCE] ? DM_SKIP_LOCKFS_FLAG | DM_NOFLUSH_FLAG : 0, &i))) {
		ioerr("resume", r);
		dm_clear(ctl, dname);
		return 1;
	}
	return 0;
}

static int c_wipe(const char *dev, int argc, char **argv)
{
	(void)argc, (void)argv;
	return find_device(dev, "table") || error_device();
}

static int c_remove(const char *dev, int argc, char **argv)
{
	struct timespec pause = { 0, 200 * 1000 * 1000 };
	int r, tries = sw[S_RETRY] ? REMOVE_RETRIES : 1;

	(void)argc, (void)argv;
	if (find_device(dev, "remove"))
		return 1;
	if (sw[S_FORCE])
		error_device();
	while ((r = dm_remove(ctl, dname, sw[S_DEFERRED])) < 0) {
		ioerr("remove", r);
		if (r != -EBUSY || --tries <= 0)
			return 1;
		nanosleep(&pause, NULL);
	}
	remove_node(dname);
	return 0;
}

static int ndev;

static int count_one(const char *dev, int argc, char **argv)
{
	(void)dev, (void)argc, (void)argv;
	ndev++;
	return 0;
}

static int c_remove_all(const char *dev, int argc, char **argv)
{
	uint32_t flags = sw[S_DEFERRED] ? DM_DEFERRED_REMOVE_FLAG : 0;
	int r;

	(void)dev, (void)argc, (void)argv;
	if (need_ctl())
		return 1;
	dname[0] = '\0';
	if ((r = dm_remove_all(ctl, flags)))
		ioerr("remove_all", r);
	make_nodes(NULL);
	if (!sw[S_FORCE] || (ndev = 0, for_all(count_one, 1), !ndev))
		return 0;
	for_all(c_wipe, 1);
	dm_remove_all(ctl, flags);
	make_nodes(NULL);
	ndev = 0;
	for_all(count_one, 1);
	if (ndev)
		errf("Unable to remove %d device(s).\n", ndev);
	return 0;
}

static int c_create(const char *dev, int argc, char **argv)
{
	struct table tb = { 0 };
	struct dm_info i;
	enum dm_cmd failed;
	int r;

	if (strchr(dev, '/')) {
		errf("Name \"%s\" invalid. It contains \"/\".\n", dev);
		return 1;
	}
	if (find_device(dev, "create") || (!sw[S_NOTABLE] && read_table(sarg[S_TABLE], argc > 1 ? argv[1] : NULL, &tb)))
		return 1;
	if ((r = create_device(ctl, dname, sarg[S_UUID], tb.t, tb.n, sw[S_READONLY], &i, &failed)) && !as_dmsetup) {
		load_fail(r, failed, dname, &tb);
	} else if (r) {
		if (failed != DM_DEV_CREATE_CMD)
			e_major = (int)i.major, e_minor = (int)i.minor;
		ioerr(failed == DM_DEV_CREATE_CMD ? "create" : failed == DM_TABLE_LOAD_CMD ? "reload" : "resume", r);
	} else if (tb.n) {
		node_or_warn(dname, &i);
	}
	table_free(&tb);
	return r ? 1 : info_after();
}

static int c_load(const char *dev, int argc, char **argv)
{
	struct table tb;
	int r;

	if (sw[S_NOTABLE])
		return say("--notable only available when creating new device.");
	if (!sw[S_UUID] && !sw[S_MAJOR]) {
		if (!argc)
			return say("Please specify device.");
		argc--, argv++;
	} else if (argc > 1) {
		return say("Too many command line arguments.");
	} else {
		dev = NULL;
	}
	if (find_device(dev, "reload") || read_table(sarg[S_TABLE], argc ? argv[0] : NULL, &tb))
		return 1;
	if (!tb.n && !as_dmsetup)
		r = fail(0, "%s: no table lines to load", dname);
	else if ((r = dm_load(ctl, dname, tb.t, tb.n, sw[S_READONLY])))
		r = as_dmsetup ? ioerr("reload", r) : load_fail(r, DM_TABLE_LOAD_CMD, dname, &tb);
	table_free(&tb);
	return r ? r : info_after();
}

/* dname renamed to new (or its uuid set), after libdevmapper's checks of a new name. */
static int rename_to(const char *new, int setuuid)
{
	struct dm_info i;
	int r;

	if (!setuuid) {
		if (strchr(new, '/')) {
			errf("Name \"%s\" invalid. It contains \"/\".\n", new);
			return 1;
		}
		if (strlen(new) >= DM_NAME_LEN) {
			errf("Name \"%s\" too long\n", new);
			return 1;
		}
		if (!*new)
			return say("Non empty new name is required.");
	}
	/* The kernel finds the device to rename by name only: -u and -j -m name none, as with dmsetup. */
	if ((r = named_by != BY_NAME ? -ENXIO : dm_rename(ctl, dname, new, setuuid, NULL)))
		return ioerr("rename", r);
	if (!setuuid && dm_get_info(ctl, new, &i) == 0) {
		remove_node(dname);
		node_or_warn(new, &i);
	}
	return 0;
}

static int c_rename(const char *dev, int argc, char **argv)
{
	return find_device(argc == 2 ? dev : NULL, "rename") || rename_to(argv[argc - 1], sw[S_SETUUID]);
}

/* argv's words, blank-separated, in a new string; NULL without memory. */
static char *join(int argc, char **argv)
{
	size_t len = 1;
	char *s;

	for (int k = 0; k < argc; k++)
		len += strlen(argv[k]) + 1;
	if ((s = calloc(1, len)))
		for (int k = 0; k < argc; k++)
			strcat(strcat(s, k ? " " : ""), argv[k]);
	return s;
}

/* message DEV SECTOR WORDS..., and setgeometry DEV CYL HEAD SECT START (the kernel checks them) */
static int c_message(const char *dev, int argc, char **argv)
{
	struct dm_reply rp = { 0 };
	int geometry = *op_cmd == 's', r, over;
	const char *answer;
	char *end, *msg;
	uint64_t sector = 0;

	if (sw[S_UUID] || sw[S_MAJOR])
		dev = NULL;
	else
		argc--, argv++;
	if (find_device(dev, op_cmd))
		return 1;
	if (!geometry) {
		sector = scan_ull(argv[0], &end, 10, &over);
		if (*end || end == argv[0])
			return say("Invalid sector.");
		if (--argc <= 0)
			say("No message supplied.");
		argv++;
	}
	if (!(msg = join(geometry ? 4 : argc, argv)))
		return say("Message string allocation failed.");
	r = geometry ? dm_set_geometry(ctl, dname, msg) : dm_target_msg(ctl, dname, sector, msg, &rp);
	free(msg);
	if (!r && (answer = dm_msg_response(&rp)))
		printf(!*answer || answer[strlen(answer) - 1] == '\n' ? "%s" : "%s\n", answer);
	dm_reply_free(&rp);
	return r ? ioerr(op_cmd, r) : 0;
}

static int c_targets(const char *dev, int argc, char **argv)
{
	(void)argc, (void)argv;
	/* target-version TYPE...: one at a time, named as a device is (a path is looked up) */
	return dev ? find_device(dev, op_cmd) || list_targets(dname) : list_targets(NULL) != 0;
}

static int c_version(const char *dev, int argc, char **argv)
{
	uint32_t v[3];
	int r;

	(void)dev, (void)argc, (void)argv;
	/* dmsetup's API version, for scripts that parse it, and who answers */
	printf(as_dmsetup ? "Library version:   1.02.185 (dmsnap %s)\n" : "Library version:   dmsnap %s\n", dmsnap_version);
	if (need_ctl())
		return 1;
	if ((r = dm_get_version(ctl, v)))
		return ioerr("version", r);
	printf("Driver version:    %u.%u.%u\n", v[0], v[1], v[2]);
	return 0;
}

static int c_ls_name(const char *dev, int argc, char **argv)
{
	char buf[DM_NAME_LEN];

	(void)argc, (void)argv;
	if (dn_type != DN_DEVNO && dev_name(cur_major, cur_minor, dn_type == DN_BLK, buf, sizeof buf))
		printf("%s\t(%s)\n", dev, buf);
	else
		printf("%s\t(%u:%u)\n", dev, cur_major, cur_minor);
	return 0;
}

/* ls: names, the devices with a target of a type (--target), or the tree of what uses what (--tree). */
static int c_ls(const char *dev, int argc, char **argv)
{
	struct dm_reply list;
	struct dm_name n;
	int r, any = 0;

	(void)dev, (void)argc, (void)argv;
	if (sw[S_TARGET])
		return for_all(c_table, 0);
	if (!sw[S_TREE])
		return for_all(c_ls_name, 0);
	if (need_ctl())
		return 1;
	if ((r = dm_list_devices(ctl, &list)) < 0)
		return dname[0] = '\0', ioerr("names", r);
	/* a root is never the last: that mark shows only in its children's lines */
	while (dm_next_name(&list, &n) > 0 && ++any)
		if (!used_by_any(dm_encode_dev(n.major, n.minor)))
			tree_node(dm_encode_dev(n.major, n.minor), 0, 1);
	if (!any)
		printf("No devices found\n");
	dm_reply_free(&list);
	return 0;
}

static int c_mknodes(const char *dev, int argc, char **argv)
{
	(void)argc, (void)argv;
	return make_nodes(dev) != EXIT_OK;
}

static int c_splitname(const char *dev, int argc, char **argv)
{
	return report_object(NULL, dev, argc == 2 ? argv[1] : "LVM");
}

/*
 * ---- mangle: names and uuids in the form udev takes ----
 *
 * libdevmapper sends a name or uuid with a byte outside udev's safe set
 * [0-9A-Za-z#+-.:=@_] as \xNN, and shows it decoded.  mangle renames
 * devices made without that: to the mangled form (--manglename auto or
 * hex, auto the default), or back to the plain one (none).  Its own look
 * and rename send names as they are, as dmsetup's do; so libdevmapper
 * mangles the names it gets back the auto way in either mode, and hex
 * only skips the check for a name mangled twice.
 */
enum { MANGLE_NONE, MANGLE_AUTO, MANGLE_HEX };
static int mangle_mode = MANGLE_AUTO;

static int c_mangle(const char *dev, int argc, char **argv)
{
	char buf[2][DM_UUID_LEN + 1];  /* + 1: mangle writes a \xNN's NUL past the end */
	const char *s[2], *want[2];
	struct dm_info i;
	int r, k;

	(void)argc, (void)argv;
	if (find_device(dev, "status"))
		return 1;
	/* a device that is not there fails without a word, as with dmsetup */
	if ((r = dm_get_info(ctl, dname, &i)))
		return r == -ENXIO || ioerr("status", r);
	/* dmsetup 1.02.185 crashes on -u and -j -m here; the link renames by the name they found */
	named_by = BY_NAME;
	s[0] = dev ? dev : dname;
	s[1] = i.uuid;
	for (k = 0; k < 2; k++)
		if (mangle_mode == MANGLE_AUTO && dm_mangled_twice(s[k]))
			return errf("The %s \"%s\" seems to be mangled more than once. Manual intervention required to %s.\n",
				    k ? "UUID" : "name", s[k], k ? "correct the device UUID" : "rename the device"), 1;
	for (k = 0; k < 2; k++) {
		const char *now = k ? i.uuid : i.name;
		want[k] = buf[k];
		if (mangle_mode == MANGLE_NONE) {
			want[k] = dm_unmangle(now, buf[k]);
		} else if ((r = dm_mangle(now, buf[k], k ? DM_UUID_LEN : DM_NAME_LEN))) {
			errf(r == 1 ? "The %s \"%s\" contains mixed mangled and unmangled characters or it's already mangled improperly.\n" :
				      "Mangled form of the %s too long for \"%s\".\n", k ? "UUID" : "name", now);
			errf("Failed to mangle device %s \"%s\".\n", k ? "uuid" : "name", now);
			return 1;
		}
	}
	/* the kernel changes no uuid */
	if (strcmp(i.uuid, want[1]))
		return errf("%s: %s: UUID in incorrect form. \nUnable to change device UUID. The device must be deactivated first.\n",
			    s[0], i.uuid), 1;
	if (!strcmp(s[0], want[0]))
		return printf("%s: %s: name %salready in correct form\n", s[0], *i.uuid ? i.uuid : "[no UUID]",
			      *i.uuid ? "and UUID " : ""), 0;
	printf("%s: renaming to %s\n", s[0], want[0]);
	return rename_to(want[0], 0);
}

/* ---- udev cookies: dmsnap syncs with nobody, as dmsetup does without udev ---- */

#define DM_COOKIE_MAGIC 0x0d4d
#define LEAP(y) (!((y) & 3) && ((y) % 25 || !((y) & 15)))
/* libdevmapper's names of the cookie's flags, bit 0 first (libdevmapper.h's DM_UDEV_*_FLAG) */
static const char udev_flag_names[] = "DISABLE_DM_RULES\0DISABLE_SUBSYSTEM_RULES\0DISABLE_DISK_RULES\0"
				      "DISABLE_OTHER_RULES\0LOW_PRIORITY\0DISABLE_LIBRARY_FALLBACK\0PRIMARY_SOURCE\0";

static uint32_t cookie_value(const char *s)
{
	unsigned long long v;
	char *end;
	int over;

	v = scan_ull(s, &end, 0, &over);
	if (!v || *end || over || v > 0xffffffff) {
		say("Incorrect cookie value.");
		return 0;
	}
	return (uint32_t)v;
}

/* dmsetup's question: the last 'y' or 'n' of the first line holding one; input ending first is 'n'. */
static int ask(const char *question)
{
	int c = 0, answer = 0;
	unsigned char byte;

	do {
		if (c == '\n' || !c)
			fputs(question, stdout);
		fflush(stdout);
		/* a byte at a time: stdio's stdin would not fit the binary's budget */
		if (read(0, &byte, 1) != 1) {
			answer = 'n';
			break;
		}
		c = byte;
		if ((c | 32) == 'y' || (c | 32) == 'n')  /* either case */
			answer = c | 32;
	} while (!answer || c != '\n');
	if (c != '\n')
		putc('\n', stdout);
	return answer;
}

/*
 * A semaphore's last operation and change times, as ctime(3) words them
 * ("Thu Jan  1 00:00:00 1970") but in UTC: musl's time zone code would not
 * fit the binary's budget.
 */
static void put_times(const struct semid_ds *ds)
{
	for (int k = 0; k < 2; k++) {
		time_t t = k ? ds->sem_ctime : ds->sem_otime;
		long day = (long)(t / 86400), year = 1970, month = 0, len;

		while (day >= (len = "\37\34\37\36\37\36\37\37\36\37\36\37"[month] + (month == 1 && LEAP(year))))
			day -= len, month = (month + 1) % 12, year += !month;
		printf("%.3s %.3s%3ld %.2ld:%.2ld:%.2ld %ld%s", "ThuFriSatSunMonTueWed" + t / 86400 % 7 * 3,
		       "JanFebMarAprMayJunJulAugSepOctNovDec" + month * 3, day + 1, (long)(t / 3600 % 24),
		       (long)(t / 60 % 60), (long)(t % 60), year, k ? "\n" : "  ");
	}
}

static const char sem_words[] = "emaphores with keys prefixed by 3405 (0xd4d)";

/*
 * udevcookies lists, udevcomplete_all removes, the semaphores of udev
 * cookies (key DM_COOKIE_MAGIC << 16 | n) that other tools made (dmsnap
 * makes none), as a stuck LVM command leaves them.  udevcomplete_all [AGE]
 * spares those used in the last AGE minutes, and asks first unless -y.
 */
static int c_cookies(const char *dev, int argc, char **argv)
{
	int list = op_cmd[6] == 'o', max, sid, val, old, count[2] = { 0, 0 }, over; /* destroyed, skipped */
	unsigned age = 0;
	time_t now;
	struct semid_ds ds;
	struct seminfo si;
	char *end;

	(void)argc, (void)argv;
	if (!list) {
		/* as sscanf's %u: blanks, a sign, digits, and whatever follows them */
		if (dev && (age = (unsigned)scan_ull(dev, &end, 10, &over), end == dev))
			return say("Failed to read age_in_minutes parameter.");
		if (!sw[S_YES]) {
			errf("WARNING: This operation will destroy all semaphores %s%.0d%swith keys that have a prefix 3405 (0xd4d).\n",
			     age ? "older than " : "", (int)age, age ? " minutes " : "");
			if (ask("Do you really want to continue? [y/n]: ") == 'n')
				return printf("S%s NOT destroyed.\n", sem_words), 0;
		}
	}
	if ((max = semctl(0, 0, SEM_INFO, &si)) < 0) {
		errf("SEM_INFO: semctl failed: %s\n", strerror(errno));
		return 1;
	}
	if (list)
		printf("Cookie       Semid      Value      Last semop time           Last change time\n");
	now = time(NULL);
	for (int id = 0; id <= max; id++) {
		if ((sid = semctl(id, 0, SEM_STAT, &ds)) < 0 || (unsigned)ds.sem_perm.__key >> 16 != DM_COOKIE_MAGIC)
			continue;
		if (!list) {
			/* one that went before dmsetup could remove it is not counted, as with dmsetup */
			old = ds.sem_ctime + age * 60 > now || ds.sem_otime + age * 60 > now;
			count[old] += old || semctl(sid, 0, IPC_RMID) == 0;
		} else if ((val = semctl(sid, 0, GETVAL)) >= 0) {
			printf("0x%-10x %-10d %-10d ", (unsigned)ds.sem_perm.__key, sid, val);
			put_times(&ds);
		}
	}
	if (!list)
		printf("%d s%s destroyed. %d skipped.\n", count[0], sem_words, count[1]);
	return 0;
}

static int c_udev(const char *dev, int argc, char **argv)
{
	const char *env = getenv("DM_UDEV_COOKIE");
	uint32_t cookie;
	int sem;

	(void)argv;
	switch (op_cmd[5]) {
	case 'r':  /* udevcreatecookie: no udev sync, no cookie */
		return 0;
	case 'e':  /* udevreleasecookie: nothing to wait for */
		if (dev)
			return !cookie_value(dev);
		if (!sw[S_UDEVCOOKIE] && !(env && *env && cookie_value(env)))
			return say("No udev transaction cookie given.");
		return 0;
	}
	if (!(cookie = cookie_value(dev)))
		return 1;
	if (op_cmd[5] == 'l') {
		/*
		 * udevflags, as udev's rules import it: the high 16 bits of a
		 * cookie, the low 8 of them libdevmapper's flags (named, the
		 * eighth is not), the high 8 the subsystem's.
		 */
		const char *name = udev_flag_names;
		for (int i = 0; i < 16; i++, name += *name ? strlen(name) + 1 : 0)
			if (!(cookie >> 16 >> i & 1))
				continue;
			else if (i > 7)
				printf("DM_SUBSYSTEM_UDEV_FLAG%d='1'\n", i - 8);
			else if (*name)
				printf("DM_UDEV_%s_FLAG='1'\n", name);
			else
				printf("DM_UDEV_FLAG%d='1'\n", i);
		return 0;
	}
	/* udevcomplete, as udev's rules call it: wakes whoever waits on the cookie's semaphore. */
	if (!(cookie &= 0xffff))
		return 0;
	cookie |= DM_COOKIE_MAGIC << 16;
	printf("DM_COOKIE_COMPLETED=0x%-10x\n", cookie);
	if ((sem = semget((key_t)cookie, 1, 0)) >= 0)
		semop(sem, &(struct sembuf){ 0, -1, IPC_NOWAIT }, 1);
	(void)argc;
	return 0;
}

/* ---- dmsnap's spelling ---- */

static int dmsnap_cmd(int argc, char **argv, const char *allowed, int max_args, const char *cmd,
		      int (*run)(const char *dev, int argc, char **argv))
{
	struct dm_opts o;
	int r;

	if ((r = parse_dm_opts(argc, argv, allowed, 0, max_args, &o)) || o.help)
		return r;
	op_cmd = cmd;
	/* one device, or each device with its name before its lines; no device for one that takes none */
	return o.name ? run(o.name, 1, NULL) : max_args ? for_all(run, 0) : run(NULL, 0, NULL);
}

int cmd_table(int argc, char **argv)
{
	return dmsnap_cmd(argc, argv, "inactive", 1, "table", c_table);
}

int cmd_status(int argc, char **argv)
{
	return dmsnap_cmd(argc, argv, "inactive", 1, "status", c_table);
}

int cmd_info(int argc, char **argv)
{
	return dmsnap_cmd(argc, argv, "", 1, "info", c_info);
}

int cmd_ls(int argc, char **argv)
{
	return dmsnap_cmd(argc, argv, "", 0, "ls", c_ls);
}

int cmd_deps(int argc, char **argv)
{
	return dmsnap_cmd(argc, argv, "", 1, "deps", c_deps);
}

int cmd_targets(int argc, char **argv)
{
	return dmsnap_cmd(argc, argv, "", 0, "targets", c_targets);
}

int cmd_version(int argc, char **argv)
{
	return dmsnap_cmd(argc, argv, "", 0, "version", c_version);
}

int cmd_mknodes(int argc, char **argv)
{
	struct dm_opts o;
	int r;

	if ((r = parse_dm_opts(argc, argv, "", 0, 1, &o)) || o.help)
		return r;
	return make_nodes(o.name);
}

int cmd_create(int argc, char **argv)
{
	struct dm_opts o;
	int r;

	if ((r = parse_dm_opts(argc, argv, "table notable readonly uuid", 1, 2, &o)) || o.help)
		return r;
	if (sarg[S_UUID] && dm_check_uuid(sarg[S_UUID]))
		return bad_usage("create: uuid is at most 128%s", name_rule);
	return c_create(o.name, o.file ? 2 : 1, (char *[]){ (char *)o.name, (char *)o.file });
}

int cmd_load(int argc, char **argv)
{
	struct dm_opts o;
	int r;

	if ((r = parse_dm_opts(argc, argv, "table readonly", 1, 2, &o)) || o.help)
		return r;
	return c_load(o.name, o.file ? 2 : 1, (char *[]){ (char *)o.name, (char *)o.file });
}

/*
 * The kernel shrugs at a second suspend or a resume of a running device,
 * and so does dmsetup; dmsnap's spelling says so instead.  Also clear.
 */
static int simple(int argc, char **argv, const char *allowed, const char *cmd)
{
	struct dm_opts o;
	struct dm_info info;
	int r;

	if ((r = parse_dm_opts(argc, argv, allowed, 1, 1, &o)) || o.help)
		return r;
	if (need_ctl())
		return EXIT_FAIL;
	op_cmd = cmd;
	if (*cmd != 'c' && (r = dm_get_info(ctl, o.name, &info)) < 0)
		return dm_fail(r, DM_DEV_STATUS_CMD, o.name);
	if (*cmd == 's' && info.flags & DM_SUSPEND_FLAG)
		return fail(0, "%s is already suspended; 'dmsnap resume %s' resumes it", o.name, o.name);
	if (*cmd == 'r' && !(info.flags & (DM_SUSPEND_FLAG | DM_INACTIVE_PRESENT_FLAG)))
		return fail(0, "%s is neither suspended nor holding an inactive table: nothing to resume", o.name);
	return c_simple(o.name, 1, NULL);
}

int cmd_suspend(int argc, char **argv)
{
	return simple(argc, argv, "nolockfs noflush", "suspend");
}

int cmd_resume(int argc, char **argv)
{
	return simple(argc, argv, "", "resume");
}

int cmd_clear(int argc, char **argv)
{
	return simple(argc, argv, "", "clear");
}

int cmd_remove(int argc, char **argv)
{
	struct dm_opts o;
	int r;

	if ((r = parse_dm_opts(argc, argv, "retry deferred", 1, 1, &o)) || o.help)
		return r;
	if (need_ctl())
		return EXIT_FAIL;
	if ((r = remove_device(ctl, o.name, sw[S_RETRY] ? REMOVE_RETRY_TRIES : 1, sw[S_DEFERRED])) < 0)
		return dm_fail(r, DM_DEV_REMOVE_CMD, o.name);
	return EXIT_OK;
}

/* ==== Invoked as dmsetup ==== */

/*
 * dmsetup 1.02.185's usage: the head, each command's line ("\tNAME USAGE"),
 * the tail.  Checked byte for byte against dmsetup's in the guest.  To
 * fit the binary's budget the text is abbreviated: a byte from 1 to 31 but
 * tab and newline stands for the word of that rank in usage_words (bytes 1
 * to 8 for the first eight, 11 to 31 for the rest), which may itself hold
 * such bytes.
 */
static const char usage_words[] =
	"<device>\0"
	"    \0"
	"] [--\0"
	"readahead {[+]<sectors>|auto|none}\0"
	"|--\0"
	"noflush\003nolockfs\0"
	"<table>|<table_file>\0"
	"target <target_type>\0"
	"]\n\002\002[-\0"
	"addnodeonresume\005addnodeoncreate]\n\t\002\0"
	"\001...\0"
	"dev\0"
	" [-\0"
	"name\0"
	"c|-C\005columns]\0"
	"uuid\0"
	"<cookie>\0"
	"eparat\0"
	"ptions\0"
	"f\005force\0"
	"<minor>\0"
	"concise\0"
	" may be \0"
	"or \0"
	"able\0"
	"\016ice\0"
	"\n\t\002[-\0"
	"comma\0"
	"fields>\0";
static const char usage_head[] =
	"Usage:\n"
	"\n"
	"dmsetup\n"
	"\002\002[--version]\017h\005help\017\021\013v\005verbose\017v\005verbose ...]]\017\026\013-checks\003mangle\020 {none|hex|auto}\013r\005readonly\003noopencount\003\006\003inactive\013-u\016cookie \023\003nou\016rules\003nou\016sync\003verifyu\016\013y\005yes\003\004\003retry\013\021\017o <\037]\017O\005sort <sort_\037\013S\005select <selection>\003\020prefixes\003noheadings\013-s\024\032<s\024or>]\n"
	"\n";
static const char usage_tail[] =
	"\n"
	"\001\031\034 \020 \032(if only one) -u <\022> \032-j <major> -m \027\n"
	"<mangling_mode> is one of 'none', 'auto' and 'hex'.\n"
	"<\037 are \036-s\024ed.  Use 'help -c' f\032list.\n"
	"<\030_\034_specification> has single-\034 entries s\024ed by semi-colons:\n"
	"\002<\020>,<\022>,\027,<flags>,<t\033>\n"
	"\002\002where <flags> is 'ro' \032'rw' (the default) and any of <\022>, \027\n"
	"\002\002and <flags>\031empty. S\024e extra t\033 lines with \036s.\n"
	"\002E.g.: \0161,,,,0 100 linear 253:1 0,100 100 error;\0162,,,ro,0 1 error\n"
	"T\033_file contents\031supplied on stdin.\n"
	"O\025 are: \016no, \016\020, blk\016\020.\n"
	"Tree specific o\025 are: ascii, utf, vt100; compact, inverted, notrunc;\n"
	"\002\002\002\002\002\002   blk\016\020, [no]\034, active, open, rw and \022.\n"
	"\n";

/*
 * dmsetup's commands, each its name then its usage, in the order its help
 * lists them; their arguments (fewest, most, REPEAT: each a device in turn,
 * ALL: none is every device) and what runs them follow in the same order.
 * stats, measure and --concise are listed but not carried out.
 */
static const char dmcmd_text[] =
	"help\0[-\021\0"
	"create\0<\016_\020>\035j\005maj\032<major> -m\005min\032\027]\035U\005uid <uid>]\017G\005gid <gid>]\017M\005mode <octal_mode>]\035u\005\022 <\022>\003\014[--\004]\035n\005not\033\005t\033 {\007}]\n\tcreate --\030 [<\030_\034_spec_list>]\0"
	"remove\0[--deferred]\017\026\003retry] \015\0"
	"remove_all\0[-\026]\0"
	"suspend\0[--\006] \015\0"
	"resume\0[--\006] \015\n\t\002  \017-\014  \017-\004]\0"
	"load\0\001 [\007]\0"
	"clear\0\001\0"
	"reload\0\001 [\007]\0"
	"wipe_table\0[-\026\003\006] \015\0"
	"rename\0\001\017-set\022] <new_\020_or_\022>\0"
	"measure\0[\015]\0"
	"message\0\001 <sector> <message>\0"
	"ls\0[--\010\003exec <\036nd>]\017o <o\025>\003tree]\0"
	"info\0[\015]\0"
	"deps\0[-o <o\025>] [\015]\0"
	"stats\0<\036nd> [<o\025>] [\015]\0"
	"status\0[\015\003noflush\003\010]\0"
	"table\0[\015\003\030\003\010\003showkeys]\0"
	"wait\0\001 [<event_nr>\003noflush]\0"
	"mknodes\0[\015]\0"
	"mangle\0[\015]\0"
	"udevcreatecookie\0\0"
	"udevreleasecookie\0[\023]\0"
	"udevflags\0\023\0"
	"udevcomplete\0\023\0"
	"udevcomplete_all\0[<age_in_minutes>]\0"
	"udevcookies\0\0"
	"target-version\0[<target>...]\0"
	"targets\0\0"
	"version\0\0"
	"setgeometry\0\001 <cyl> <head> <sect> <start>\0"
	"splitname\0\001 [<subsystem>]\0";

#define REPEAT 1
#define ALL 2
#define ANY 255
static const unsigned char dmcmd_args[][3] = {
	{ 0, 0, 0 }, { 1, 2, 0 }, { 0, ANY, REPEAT }, { 0, 0, 0 }, { 0, ANY, REPEAT }, { 0, ANY, REPEAT },
	{ 0, 2, 0 }, { 0, ANY, REPEAT }, { 0, 2, 0 }, { 1, ANY, REPEAT }, { 1, 2, 0 }, { 0, ANY, 0 },
	{ 2, ANY, 0 }, { 0, 0, 0 }, { 0, ANY, REPEAT | ALL }, { 0, ANY, REPEAT | ALL }, { 1, ANY, 0 },
	{ 0, ANY, REPEAT | ALL }, { 0, ANY, REPEAT | ALL }, { 0, 2, 0 }, { 0, ANY, REPEAT },
	{ 0, ANY, REPEAT | ALL }, { 0, 0, 0 }, { 0, 1, 0 }, { 1, 1, 0 }, { 1, 1, 0 }, { 0, 1, 0 }, { 0, 0, 0 },
	{ 1, ANY, REPEAT }, { 0, 0, 0 }, { 0, 0, 0 }, { 5, 5, 0 }, { 1, 2, 0 },
};
static int c_help(const char *dev, int argc, char **argv);
static int c_unsupported(const char *dev, int argc, char **argv);
static int (*const dmcmd_run[])(const char *dev, int argc, char **argv) = {
	c_help, c_create, c_remove, c_remove_all, c_simple, c_simple, c_load, c_simple, c_load, c_wipe,
	c_rename, c_unsupported, c_message, c_ls, c_info, c_deps, c_unsupported, c_table, c_table, c_wait,
	c_mknodes, c_mangle, c_udev, c_udev, c_udev, c_udev, c_cookies, c_cookies, c_targets,
	c_targets, c_version, c_message, c_splitname,
};
#define NDMCMDS (sizeof dmcmd_run / sizeof *dmcmd_run)
_Static_assert(NDMCMDS == sizeof dmcmd_args / sizeof *dmcmd_args, "one dmcmd_args entry per command");

static void put_usage(const char *s)
{
	for (unsigned c; (c = (unsigned char)*s); s++) {
		if (c >= 32 || c == '\t' || c == '\n')
			putc((int)c, stderr);
		else
			put_usage(nth_string(usage_words, c - (c > '\n' ? 3 : 1)));
	}
}

static void usage(void)
{
	const char *p = dmcmd_text;

	put_usage(usage_head);
	for (size_t i = 0; i < NDMCMDS; i++, p += strlen(p) + 1) {
		fprintf(stderr, "\t%s ", p);
		put_usage(p += strlen(p) + 1);
		putc('\n', stderr);
	}
	put_usage(usage_tail);
}

static int c_help(const char *dev, int argc, char **argv)
{
	(void)dev, (void)argc, (void)argv;
	usage();
	return 0;
}

static int c_unsupported(const char *dev, int argc, char **argv)
{
	(void)dev, (void)argc, (void)argv;
	errf("dmsetup %s: not carried out by dmsnap\n", op_cmd);
	return 1;
}

static const char short_opts[] = ":cCfG:hj:m:M:no:ru:U:vy";
static const char short_chars[] = "cCfGhjmMnoruUvy";
static const unsigned char short_switch[] = { S_COLUMNS, S_COLUMNS, S_FORCE, S_GID, S_HELP, S_MAJOR,
	S_MINOR, S_MODE, S_NOTABLE, S_OPTIONS, S_READONLY, S_UUID, S_UID, S_VERBOSE, S_YES };

/* -c: the report's fields and form, as dmsetup's _report_init picks them. */
static int start_report(void)
{
	static char plus[4096];
	const char *def = !strcmp(op_cmd, "splitname") ? "vg_name,lv_name,lv_layer" :
							 "name,major,minor,attr,open,segments,events,uuid";
	const char *opts = sarg[S_OPTIONS], *bad, *sep = " ";
	unsigned flags = REPORT_HEADINGS | REPORT_ALIGNED;
	size_t badlen;
	int r;

	if (sw[S_NOHEADINGS])
		flags = 0, sep = ":";
	if (sw[S_ROWS])
		flags |= REPORT_ROWS;
	if (sw[S_UNQUOTED])
		flags |= REPORT_UNQUOTED;
	if (sw[S_NAMEPREFIXES])
		flags = (flags & ~REPORT_ALIGNED) | REPORT_PREFIXES;
	if (sw[S_SEPARATOR])
		flags &= ~REPORT_ALIGNED, sep = sarg[S_SEPARATOR];
	if (opts && *opts == '+')
		snprintf(plus, sizeof plus, "%s,%s", def, opts + 1), opts = plus;
	if ((r = report_init(&rep, fields, field_attrs, "name\0info\0splitname\0", opts ? opts : def, flags, sep, &bad,
			     &badlen)) < 0)
		errf("Unrecognised field: %.*s\n", (int)badlen, bad);
	reporting = !r;
	return r;
}

int dmsetup_main(int argc, char **argv)
{
	const struct option *lo = long_options();
	const char *name;
	size_t cmd;
	int c, i, r;

	as_dmsetup = 1;
	opterr = 0;
	while ((c = getopt_long(argc, argv, short_opts, lo, NULL)) != -1) {
		/* What glibc's getopt says, as dmsetup is built with it. */
		if (c == '?' || c == ':') {
			if (optopt >= 256)
				errf(c == ':' ? "%s: option '--%s' requires an argument\n" :
						"%s: option '--%s' doesn't allow an argument\n",
				     argv[0], lo[optopt - 256].name);
			else if (c == ':')
				errf("%s: option requires an argument -- '%c'\n", argv[0], optopt);
			else if (optopt)
				errf("%s: invalid option -- '%c'\n", argv[0], optopt);
			else
				errf("%s: unrecognized option '%s'\n", argv[0], argv[optind - 1]);
			goto cmdline;
		}
		i = c >= 256 ? c - 256 : short_switch[strchr(short_chars, c) - short_chars];
		sw[i] += sw[i] < 255;
		if (optarg)
			sarg[i] = optarg;
		if (i == S_MANGLENAME) {
			for (mangle_mode = MANGLE_HEX; mangle_mode >= 0 &&
			     !same_name(nth_string("none\0auto\0hex", (unsigned)mangle_mode), optarg, strlen(optarg));
			     mangle_mode--)
				;
			if (mangle_mode < 0) {
				say("Unknown name mangling mode.");
				goto cmdline;
			}
		}
	}
	if (!sw[S_MAJOR] != !sw[S_MINOR]) {
		say("Please specify both major number and minor number.");
		goto cmdline;
	}
	if (sw[S_TABLE] && sw[S_NOTABLE]) {
		say("--table and --notable are incompatible.");
		goto cmdline;
	}
	argc -= optind;
	argv += optind;
	op_cmd = sw[S_HELP] ? "help" : sw[S_VERSION] ? "version" : argc ? argv[0] : NULL;
	if (argc)
		argc--, argv++;
	if (!op_cmd) {
		usage();
		return EXIT_FAIL;
	}
	for (cmd = 0, name = dmcmd_text; cmd < NDMCMDS && strcmp(name, op_cmd); cmd++)
		name += strlen(name) + 1, name += strlen(name) + 1;
	if (cmd == NDMCMDS) {
		say("Unknown command.");
		usage();
		return EXIT_FAIL;
	}
	const unsigned char *args = dmcmd_args[cmd];
	if (!sw[S_HELP] && !sw[S_VERSION]) {
		if (argc < args[0] || (args[1] != ANY && argc > args[1])) {
			say("Incorrect number of arguments.");
			usage();
			return EXIT_FAIL;
		}
		if (dmcmd_run[cmd] == c_splitname)
			sw[S_COLUMNS] = 1;
		if ((sw[S_TREE] || !sw[S_COLUMNS]) && options(sarg[S_OPTIONS]))
			goto cmdline;
		if (sw[S_COLUMNS] && (r = start_report()))
			return r < 0;
	}
	multi = args[2] & REPEAT && argc != 1 && (argc || (!sw[S_UUID] && !sw[S_MAJOR]));
	do {
		if (args[2] & ALL && !argc && !sw[S_UUID] && !sw[S_MAJOR])
			r = for_all(dmcmd_run[cmd], 0);
		else
			r = dmcmd_run[cmd](argc ? argv[0] : NULL, argc, argv);
		if (r) {
			say("Command failed.");
			break;
		}
		argv++;
	} while (args[2] & REPEAT && argc-- > 1);
	if (reporting)
		report_output(&rep, stdout);
	return r ? EXIT_FAIL : EXIT_OK;
cmdline:
	say("Couldn't process command line.");
	return EXIT_FAIL;
}
