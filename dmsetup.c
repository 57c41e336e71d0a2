/*
 * dmsetup.c - the dmsetup-compatible commands (dmsetup.h): their table
 * input, their options and their output, byte for byte as dmsetup prints it.
 */
#define _GNU_SOURCE
#include <errno.h>
#include <fcntl.h>
#include <getopt.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "cli.h"
#include "device.h"
#include "dmsetup.h"
#include "util.h"

#define REMOVE_RETRY_TRIES 50  /* remove --retry: 5 s */

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
			struct dm_target *more = realloc(tb->t, (cap = cap ? cap * 2 : 8) * sizeof *more);
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
		text = strdup(inline_table);
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

static const struct option dm_options[] = {
	{ "table", required_argument, NULL, OPT_TABLE },
	{ "notable", no_argument, NULL, OPT_NOTABLE },
	{ "inactive", no_argument, NULL, OPT_INACTIVE },
	{ "nolockfs", no_argument, NULL, OPT_NOLOCKFS },
	{ "noflush", no_argument, NULL, OPT_NOFLUSH },
	{ "retry", no_argument, NULL, OPT_RETRY },
	{ "deferred", no_argument, NULL, OPT_DEFERRED },
	{ "readonly", no_argument, NULL, 'r' },
	{ "uuid", required_argument, NULL, 'u' },
	{ "help", no_argument, NULL, 'h' },
	{ 0 },
};

struct dm_opts {
	const char *table, *uuid;
	int notable, inactive, nolockfs, noflush, retry, deferred, readonly;
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
 * Parses the options every dmsetup-compatible command shares; `allowed`
 * lists the ones this command takes, the others are usage errors.
 * Positional arguments: NAME then FILE, up to max_args of them.  After
 * --help the command returns what this returns, with o->help set.
 */
static int parse_dm_opts(int argc, char **argv, const char *allowed, int min_args, int max_args,
			 struct dm_opts *o)
{
	int c, nargs;

	memset(o, 0, sizeof *o);
	while ((c = getopt_long(argc, argv, "ru:h", dm_options, NULL)) != -1) {
		const char *word = NULL;
		switch (c) {
		case OPT_TABLE: o->table = optarg; word = "table"; break;
		case OPT_NOTABLE: o->notable = 1; word = "notable"; break;
		case OPT_INACTIVE: o->inactive = 1; word = "inactive"; break;
		case OPT_NOLOCKFS: o->nolockfs = 1; word = "nolockfs"; break;
		case OPT_NOFLUSH: o->noflush = 1; word = "noflush"; break;
		case OPT_RETRY: o->retry = 1; word = "retry"; break;
		case OPT_DEFERRED: o->deferred = 1; word = "deferred"; break;
		case 'r': o->readonly = 1; word = "readonly"; break;
		case 'u': o->uuid = optarg; word = "uuid"; break;
		case 'h': o->help = 1; return show_help();
		default: return usage_error();
		}
		if (!has_word(allowed, word)) {
			errf("dmsnap: %s does not take --%s\n", argv[0], word);
			return usage_error();
		}
	}
	nargs = argc - optind;
	if (nargs < min_args || nargs > max_args)
		return usage_error();
	o->name = nargs > 0 ? argv[optind] : NULL;
	o->file = nargs > 1 ? argv[optind + 1] : NULL;
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

/* Does a table word name a block device (MAJ:MIN or a path) that is not there? */
static int names_missing_device(const char *word)
{
	char path[64];
	uint32_t major, minor;
	struct stat st;

	if (dm_parse_devno(word, &major, &minor) == 0) {
		snprintf(path, sizeof path, "/sys/dev/block/%u:%u", major, minor);
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

int cmd_create(int argc, char **argv)
{
	struct dm_opts o;
	struct table tb = { 0 };
	struct dm_info info;
	enum dm_cmd failed;
	int fd, r;

	if ((r = parse_dm_opts(argc, argv, "table notable readonly uuid", 1, 2, &o)) || o.help)
		return r;
	if (o.uuid && dm_check_uuid(o.uuid)) {
		errf("dmsnap: create: uuid is at most 128 printable ASCII bytes without '/' or blanks\n");
		return EXIT_USAGE;
	}
	if (!o.notable && (r = read_table(o.table, o.file, &tb)))
		return r;
	if ((fd = need_control()) < 0)
		r = EXIT_FAIL;
	else if ((r = create_device(fd, o.name, o.uuid, tb.t, tb.n, o.readonly, &info, &failed)) < 0)
		r = load_fail(r, failed, o.name, &tb);
	else if (tb.n)
		node_or_warn(o.name, &info);
	table_free(&tb);
	return r;
}

int cmd_load(int argc, char **argv)
{
	struct dm_opts o;
	struct table tb;
	int fd, r;

	if ((r = parse_dm_opts(argc, argv, "table readonly", 1, 2, &o)) || o.help)
		return r;
	if ((r = read_table(o.table, o.file, &tb)) == EXIT_OK && tb.n == 0)
		r = fail(0, "%s: no table lines to load", o.name);
	else if (r == EXIT_OK && (fd = need_control()) < 0)
		r = EXIT_FAIL;
	else if (r == EXIT_OK && (r = dm_load(fd, o.name, tb.t, tb.n, o.readonly)) < 0)
		r = load_fail(r, DM_TABLE_LOAD_CMD, o.name, &tb);
	table_free(&tb);
	return r;
}

/* The kernel shrugs at a second suspend or a resume of a running device; we say so. */
int cmd_suspend(int argc, char **argv)
{
	struct dm_opts o;
	struct dm_info info;
	uint32_t flags;
	int fd, r;

	if ((r = parse_dm_opts(argc, argv, "nolockfs noflush", 1, 1, &o)) || o.help)
		return r;
	if ((fd = need_control()) < 0)
		return EXIT_FAIL;
	if ((r = dm_get_info(fd, o.name, &info)) < 0)
		return dm_fail(r, DM_DEV_STATUS_CMD, o.name);
	if (info.flags & DM_SUSPEND_FLAG)
		return fail(0, "%s is already suspended; 'dmsnap resume %s' resumes it", o.name, o.name);
	flags = (o.nolockfs ? DM_SKIP_LOCKFS_FLAG : 0) | (o.noflush ? DM_NOFLUSH_FLAG : 0);
	if ((r = dm_suspend(fd, o.name, flags)) < 0)
		return dm_fail(r, DM_DEV_SUSPEND_CMD, o.name);
	return EXIT_OK;
}

int cmd_resume(int argc, char **argv)
{
	struct dm_opts o;
	struct dm_info info;
	int fd, r;

	if ((r = parse_dm_opts(argc, argv, "", 1, 1, &o)) || o.help)
		return r;
	if ((fd = need_control()) < 0)
		return EXIT_FAIL;
	if ((r = dm_get_info(fd, o.name, &info)) < 0)
		return dm_fail(r, DM_DEV_STATUS_CMD, o.name);
	if (!(info.flags & (DM_SUSPEND_FLAG | DM_INACTIVE_PRESENT_FLAG)))
		return fail(0, "%s is neither suspended nor holding an inactive table: nothing to resume", o.name);
	if ((r = dm_resume(fd, o.name, &info)) < 0)
		return dm_fail(r, DM_DEV_SUSPEND_CMD, o.name);
	node_or_warn(o.name, &info);
	return EXIT_OK;
}

int cmd_remove(int argc, char **argv)
{
	struct dm_opts o;
	int fd, r;

	if ((r = parse_dm_opts(argc, argv, "retry deferred", 1, 1, &o)) || o.help)
		return r;
	if ((fd = need_control()) < 0)
		return EXIT_FAIL;
	if ((r = remove_device(fd, o.name, o.retry ? REMOVE_RETRY_TRIES : 1, o.deferred)) < 0)
		return dm_fail(r, DM_DEV_REMOVE_CMD, o.name);
	return EXIT_OK;
}

int cmd_clear(int argc, char **argv)
{
	struct dm_opts o;
	int fd, r;

	if ((r = parse_dm_opts(argc, argv, "", 1, 1, &o)) || o.help)
		return r;
	if ((fd = need_control()) < 0)
		return EXIT_FAIL;
	if ((r = dm_clear(fd, o.name)) < 0)
		return dm_fail(r, DM_TABLE_CLEAR_CMD, o.name);
	return EXIT_OK;
}

/* Runs show(name, prefix) for one device or, with no name, for every device. */
static int for_devices(const char *name, int (*show)(int fd, const char *name, int prefix, void *arg),
		       void *arg)
{
	int fd = need_control(), r, failed = 0, any = 0;
	struct dm_reply list;
	struct dm_name n;

	if (fd < 0)
		return EXIT_FAIL;
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
		printf("No devices found\n");
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
		printf(prefix ? "%s: \n" : "\n", name);
	while ((r = dm_next_target(&rep, &t)) > 0) {
		if (prefix)
			printf("%s: ", name);
		printf("%llu %llu %s %s\n", (unsigned long long)t.start, (unsigned long long)t.length, t.type,
		       t.params);
	}
	dm_reply_free(&rep);
	return r < 0 ? dm_fail(r, DM_TABLE_STATUS_CMD, name) : EXIT_OK;
}

static int table_or_status(int argc, char **argv, uint32_t flags)
{
	struct dm_opts o;
	int r;

	if ((r = parse_dm_opts(argc, argv, "inactive", 0, 1, &o)) || o.help)
		return r;
	if (o.inactive)
		flags |= DM_QUERY_INACTIVE_TABLE_FLAG;
	return for_devices(o.name, show_targets, &flags);
}

int cmd_table(int argc, char **argv)
{
	return table_or_status(argc, argv, DM_STATUS_TABLE_FLAG);
}

int cmd_status(int argc, char **argv)
{
	return table_or_status(argc, argv, 0);
}

/* libdevmapper reads read-ahead from sysfs in KiB and prints sectors. */
static long read_ahead_sectors(uint32_t major, uint32_t minor)
{
	char path[64], line[24], *end;
	uint64_t kb;

	snprintf(path, sizeof path, "/sys/dev/block/%u:%u/bdi/read_ahead_kb", major, minor);
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
	printf("Name:              %s\n", i.name);
	printf("State:             %s%s%s\n", i.flags & DM_SUSPEND_FLAG ? "SUSPENDED" : "ACTIVE",
	       i.flags & DM_READONLY_FLAG ? " (READ-ONLY)" : "",
	       i.flags & DM_DEFERRED_REMOVE_FLAG ? " (DEFERRED REMOVE)" : "");
	if (ra >= 0)
		printf("Read Ahead:        %ld\n", ra);
	printf("Tables present:    %s\n",
	       live && inactive ? "LIVE & INACTIVE" : live ? "LIVE" : inactive ? "INACTIVE" : "None");
	printf("Open count:        %d\n", i.open_count);
	printf("Event number:      %u\n", i.event_nr);
	printf("Major, minor:      %u, %u\n", i.major, i.minor);
	printf("Number of targets: %u\n", i.target_count);
	if (i.uuid[0])
		printf("UUID: %s\n", i.uuid);
	printf("\n");
	return EXIT_OK;
}

int cmd_info(int argc, char **argv)
{
	struct dm_opts o;
	int r;

	if ((r = parse_dm_opts(argc, argv, "", 0, 1, &o)) || o.help)
		return r;
	return for_devices(o.name, show_info, NULL);
}

int cmd_ls(int argc, char **argv)
{
	struct dm_opts o;
	struct dm_reply list;
	struct dm_name n;
	int fd, r, any = 0;

	if ((r = parse_dm_opts(argc, argv, "", 0, 0, &o)) || o.help)
		return r;
	if ((fd = need_control()) < 0)
		return EXIT_FAIL;
	if ((r = dm_list_devices(fd, &list)) < 0)
		return dm_fail(r, DM_LIST_DEVICES_CMD, NULL);
	while ((r = dm_next_name(&list, &n)) > 0) {
		printf("%s\t(%u:%u)\n", n.name, n.major, n.minor);
		any = 1;
	}
	if (r == 0 && !any)
		printf("No devices found\n");
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
		printf("%s: ", name);
	printf("%u dependencies\t:", count);
	for (uint32_t i = 0; i < count; i++) {
		dm_decode_dev(dm_deps_dev(&rep, i), &major, &minor);
		printf(" (%u, %u)", major, minor);
	}
	printf("\n");
	dm_reply_free(&rep);
	return EXIT_OK;
}

int cmd_deps(int argc, char **argv)
{
	struct dm_opts o;
	int r;

	if ((r = parse_dm_opts(argc, argv, "", 0, 1, &o)) || o.help)
		return r;
	return for_devices(o.name, show_deps, NULL);
}

int cmd_targets(int argc, char **argv)
{
	struct dm_opts o;
	struct dm_reply rep;
	struct dm_version v;
	int fd, r;

	if ((r = parse_dm_opts(argc, argv, "", 0, 0, &o)) || o.help)
		return r;
	if ((fd = need_control()) < 0)
		return EXIT_FAIL;
	if ((r = dm_list_versions(fd, &rep)) < 0)
		return dm_fail(r, DM_LIST_VERSIONS_CMD, NULL);
	while ((r = dm_next_version(&rep, &v)) > 0)
		printf("%-16s v%u.%u.%u\n", v.name, v.version[0], v.version[1], v.version[2]);
	dm_reply_free(&rep);
	return r < 0 ? dm_fail(r, DM_LIST_VERSIONS_CMD, NULL) : EXIT_OK;
}

int cmd_version(int argc, char **argv)
{
	struct dm_opts o;
	uint32_t v[3];
	int fd, r;

	if ((r = parse_dm_opts(argc, argv, "", 0, 0, &o)) || o.help)
		return r;
	printf("Library version:   dmsnap %s\n", dmsnap_version);
	if ((fd = need_control()) < 0)
		return EXIT_FAIL;
	if ((r = dm_get_version(fd, v)) < 0)
		return dm_fail(r, DM_VERSION_CMD, NULL);
	printf("Driver version:    %u.%u.%u\n", v[0], v[1], v[2]);
	return EXIT_OK;
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

int cmd_mknodes(int argc, char **argv)
{
	struct dm_opts o;
	int r;

	if ((r = parse_dm_opts(argc, argv, "", 0, 1, &o)) || o.help)
		return r;
	return make_nodes(o.name);
}
