/*
 * wrap.c - putting a device under dmsnap's wrapper pair, and taking it out
 * (wrap.h).  Layout in world.h.
 */
#define _GNU_SOURCE
#include <errno.h>
#include <fcntl.h>
#include <getopt.h>
#include <stdio.h>
#include <string.h>
#include <unistd.h>

#include "cli.h"
#include "device.h"
#include "lock.h"
#include "probe.h"
#include "targets.h"
#include "world.h"
#include "wrap.h"

static const char *base_name(const char *path)
{
	const char *slash = strrchr(path, '/');

	return slash ? slash + 1 : path;
}

/* Is NAME already there, and does it wrap bd?  EXIT_OK: free to wrap. */
static int look_wrap(int fd, const char *name, const char *path, const struct blockdev *bd, int if_missing,
		     int *done)
{
	char dup[DM_NAME_LEN + sizeof DUP_SUFFIX];
	struct world w;
	struct wrapper wr;
	int same;

	*done = 0;
	if (scan_or_fail(fd, &w, 0))
		return EXIT_FAIL;
	dup_name(name, dup, sizeof dup);
	if (!find_dev(&w, name) && !find_dev(&w, dup)) {
		world_free(&w);
		return EXIT_OK;
	}
	same = identify_wrapper(&w, name, &wr) == 0 && wr.base_major == bd->major && wr.base_minor == bd->minor;
	wrapper_free(&wr);
	world_free(&w);
	if (same && if_missing) {
		*done = 1;
		return EXIT_OK;
	}
	if (same)
		return fail(0, "%s already wraps %s (--if-missing accepts that)", name, path);
	return fail(0, "%s or %s exists already and does not wrap %s: pick another NAME", name, dup, path);
}

/* wrap's look (again, under the lock), plan and act. */
static int wrap_locked(int fd, const char *path, const char *name, const struct blockdev *bd, int if_missing)
{
	char dup[DM_NAME_LEN + sizeof DUP_SUFFIX];
	struct target_line line;
	struct dm_info info;
	enum dm_cmd failed;
	int done, r;

	dup_name(name, dup, sizeof dup);
	if ((r = look_wrap(fd, name, path, bd, if_missing, &done)) || done) {
		if (done)
			printf("%s/%s\n", DM_DIR, name);
		return r;
	}
	if ((r = open_exclusive(path, O_RDONLY)) < 0) {
		if (r == -EBUSY)
			return busy_fail(path, bd->major, bd->minor,
					    "device-mapper must claim it, so wrap it before mounting (at boot: see initramfs-hook) and mount /dev/mapper/NAME");
		return fail(r, "open %s:", path);
	}
	close(r);

	/* plan */
	build_linear(&line, bd->sectors, bd->major, bd->minor);

	/* act */
	if ((r = create_device(fd, dup, NULL, &line.t, 1, 0, &info, &failed)) < 0)
		return dm_fail(r, failed, dup);
	node_or_warn(dup, &info);
	if ((r = create_device(fd, name, NULL, &line.t, 1, 0, &info, &failed)) < 0) {
		dm_warn(r, failed, name);
		if ((r = remove_device(fd, dup, REMOVE_TRIES, 0)) < 0)
			dm_warn(r, DM_DEV_REMOVE_CMD, dup);
		return fail(0, "%s: not wrapped; nothing changed", path);
	}
	node_or_warn(name, &info);
	printf("%s/%s\n", DM_DIR, name);
	return EXIT_OK;
}

int cmd_wrap(int argc, char **argv)
{
	const struct option *list = long_opts("m if-missing\0");
	int if_missing = 0, c, fd, r;
	struct blockdev bd;
	char dup[DM_NAME_LEN + sizeof DUP_SUFFIX], part[64];

	while ((c = getopt_long(argc, argv, "h", list, NULL)) != -1) {
		if (c == 'm')
			if_missing = 1;
		else
			return c == 'h' ? show_help() : usage_error();
	}
	if (argc - optind < 1 || argc - optind > 2)
		return usage_error();
	const char *path = argv[optind];
	const char *name = argc - optind == 2 ? argv[optind + 1] : base_name(path);

	/* look */
	if (name[0] == '-' || dm_check_name(name) || dup_name(name, dup, sizeof dup))
		return fail(0, "'%s' cannot name a wrapper: 1-%d%s, not starting with '-' (%s%s must fit in the kernel's %d)",
			    name, DM_NAME_LEN - 1 - (int)strlen(DUP_SUFFIX), name_rule, name, DUP_SUFFIX, DM_NAME_LEN - 1);
	if ((r = probe_blockdev(path, &bd)) < 0)
		return fail(r, "wrap %s:", path);
	/* device-mapper's claim on a disk blocks every partition on it: root on sda2 would not come up. */
	if (has_partitions(bd.major, bd.minor, part, sizeof part))
		return fail(0, "%s has partitions (%s...): wrapping the whole disk would lock them all; wrap the partition that holds the filesystem",
			    path, part);
	if ((fd = need_control()) < 0 || lock_or_fail(fd))
		return EXIT_FAIL;
	r = wrap_locked(fd, path, name, &bd, if_missing);
	lock_release(fd);
	return r;
}

static int unwrap_it(int fd, struct world *w, struct wrapper *wr, void *arg)
{
	const char *name = wr->top->name;
	int r, failed = 0;

	(void)w, (void)arg;
	if (wr->nsnaps)
		return fail(0, "%s has %zu snapshot%s: 'dmsnap drop %s' first", name, wr->nsnaps,
			    wr->nsnaps == 1 ? "" : "s", name);
	if (wr->mode != MODE_LINEAR)
		return fail(0, "%s is %s, not linear: not unwrapping it", name, mode_word(wr->mode));
	if ((r = refuse_open(wr->top, "nothing was unwrapped")) || (r = refuse_open(wr->dup, "nothing was unwrapped")))
		return r;
	removed(remove_device(fd, wr->top->name, REMOVE_TRIES, 0), wr->top, 0, &failed);
	if (!failed)
		removed(remove_device(fd, wr->dup->name, REMOVE_TRIES, 0), wr->dup, 0, &failed);
	return failed ? EXIT_FAIL : EXIT_OK;
}

int cmd_unwrap(int argc, char **argv)
{
	const struct option *list = long_opts("");
	int c, fd, r;

	while ((c = getopt_long(argc, argv, "h", list, NULL)) != -1)
		return c == 'h' ? show_help() : usage_error();
	if (argc - optind != 1)
		return usage_error();
	if ((fd = need_control()) < 0 || lock_or_fail(fd))
		return EXIT_FAIL;
	r = on_wrapper(fd, argv[optind], unwrap_it, NULL);
	lock_release(fd);
	return r;
}
