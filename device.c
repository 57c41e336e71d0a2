/*
 * device.c - operations on one device-mapper device (device.h).
 */
#define _GNU_SOURCE
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/sysmacros.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include "device.h"
#include "probe.h"
#include "record.h"
#include "util.h"

#define DISK_GID 6  /* Debian's "disk" group */

int dm_control(void)
{
	static int fd = -1;
	uint32_t version[3];
	int r;

	if (fd >= 0)
		return fd;
	if ((r = dm_open_control()) < 0)
		return r;
	if ((fd = r) >= 0 && (r = dm_get_version(fd, version)) < 0) {
		close(fd);
		fd = -1;
		return r;
	}
	return fd;
}

/* ---- nodes ---- */

static int udev_running(void)
{
	return access("/run/udev/control", F_OK) == 0;
}

static void node_path(const char *name, char *buf, size_t size)
{
	snprintf(buf, size, "%s/%s", DM_DIR, name);
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
	/* umask narrowed the mode; a failure here still leaves a working node. */
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

static int remove_stale_node(const char *name, void *fd)
{
	struct dm_info info;

	if (strcmp(name, "control") && dm_check_name(name) == 0 && dm_get_info(*(int *)fd, name, &info) == -ENXIO)
		remove_node(name);
	return 0;
}

void remove_stale_nodes(int fd)
{
	each_entry(DM_DIR, remove_stale_node, &fd);
}

/* ---- create, remove, resume ---- */

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
		if ((r = dm_resume(fd, name, info)) == 0)
			return 0;
	}
	remove_device(fd, name, REMOVE_TRIES, 0);
	return r;
}

int remove_device(int fd, const char *name, int tries, int deferred)
{
	struct timespec pause = { 0, 100 * 1000 * 1000 };
	int r;

	while ((r = dm_remove(fd, name, deferred)) == -EBUSY && --tries > 0)
		nanosleep(&pause, NULL);
	if (r == 0)
		remove_node(name);
	return r;
}

int ensure_resumed(int fd, const char *name)
{
	struct dm_info info;
	int r = 0;

	for (int i = 0; i < 3; i++) {
		if (dm_get_info(fd, name, &info) < 0 || !(info.flags & DM_SUSPEND_FLAG))
			return 0;
		if ((r = dm_resume(fd, name, &info)) == 0)
			return 0;
	}
	return r;
}

/* ---- reading one device ---- */

int get_single_target(int fd, const char *name, uint32_t flags, struct dm_target *t, char **params)
{
	struct dm_reply rep;
	int r;

	*params = NULL;
	if ((r = dm_get_table(fd, name, flags, &rep)) < 0)
		return r;
	if ((r = dm_next_target(&rep, t)) > 0) {
		*params = strdup(t->params);
		t->params = *params;
		r = *params ? 0 : -ENOMEM;
	}
	dm_reply_free(&rep);
	return r;
}

int read_snap_status(int fd, const char *name, struct dm_snap_status *st)
{
	struct dm_target t;
	char *params;
	int r = get_single_target(fd, name, 0, &t, &params);

	if (r == 0)
		r = params ? dm_parse_snap_status(params, st) : -ENODATA;
	free(params);
	return r;
}

/* ---- target modules ---- */

/* Is the target type registered? 1 yes, 0 no, -errno if the kernel would not say. */
static int target_available(int fd, const char *type)
{
	struct dm_reply rep;
	struct dm_version v;
	int found = 0, r;

	if ((r = dm_list_versions(fd, NULL, &rep)) < 0)
		return r;
	while (!found && (r = dm_next_version(&rep, &v)) > 0)
		found = !strcmp(v.name, type);
	dm_reply_free(&rep);
	return found ? 1 : r;
}

static void run_modprobe(const char *module)
{
	char path[256];
	/* argv[0] as the kernel passes it: busybox picks its applet by it */
	char *argv[] = { path, "-q", (char *)module, NULL };
	pid_t pid;

	if (!read_line_file("/proc/sys/kernel/modprobe", path, sizeof path) || !path[0] || access(path, X_OK) < 0)
		return;
	if ((pid = fork()) == 0) {
		int null = open("/dev/null", O_RDWR);
		if (null >= 0) {
			dup2(null, 1);
			dup2(null, 2);
		}
		execv(path, argv);
		_exit(127);
	}
	if (pid > 0)
		waitpid(pid, NULL, 0);
}

/* The kernel loads dm-snapshot on first use through modprobe; without one, the caller says which module. */
int target_ready(int fd, const char *type, const char *module)
{
	int r = target_available(fd, type);

	if (r == 0) {
		run_modprobe(module);
		r = target_available(fd, type);
	}
	return r < 0 ? r : r ? 0 : -ENOENT;
}

/* ---- a COW's header ---- */

int zero_range(int fd, uint64_t off, uint64_t bytes)
{
	static char zeros[65536];  /* bss, not 64 KiB of binary */

	while (bytes) {
		size_t n = bytes < sizeof zeros ? (size_t)bytes : sizeof zeros;
		ssize_t w = pwrite(fd, zeros, n, (off_t)off);
		if (w < 0 && errno == EINTR)
			continue;
		if (w <= 0)
			return w < 0 ? -errno : -EIO;
		off += (uint64_t)w;
		bytes -= (uint64_t)w;
	}
	return fsync(fd) < 0 ? -errno : 0;
}

/*
 * Both ends go, as far as a blank COW is checked (BLANK_SPAN): the next snap
 * then takes the device as blank, and no old header can be reloaded.  Written
 * through the descriptor whose device number was checked against the table.
 */
int retire_dev(uint32_t major, uint32_t minor, char *path, size_t size)
{
	struct blockdev bd;
	int fd, r;

	devno_path(major, minor, path, size);
	if ((fd = open_exclusive(path, O_RDWR)) < 0)
		return fd;
	if ((r = probe_fd(fd, &bd)) == 0 && (bd.major != major || bd.minor != minor))
		r = -ENODEV;
	uint64_t bytes = bd.sectors << DM_SECTOR_SHIFT, span = bytes < BLANK_SPAN ? bytes : BLANK_SPAN;
	if (r == 0 && (r = zero_range(fd, 0, span)) == 0)
		r = zero_range(fd, bytes - span, span);
	close(fd);
	return r;
}

int retire_cow(const char *params, char *path, size_t size)
{
	struct dm_snap_table t;

	snprintf(path, size, "?");
	if (!params || dm_parse_snap_table(params, &t) < 0)
		return 0;  /* not a snapshot line: no COW to retire */
	return retire_dev(t.cow_major, t.cow_minor, path, size);
}

int mark_cow(const char *params, uint64_t sectors, const char *origin, enum cow_state state)
{
	struct dm_snap_table t;
	struct cow_header h;
	struct cow_record rec;
	struct blockdev bd;
	char path[128];
	int fd, r;

	if (!params || dm_parse_snap_table(params, &t) < 0 || !strcmp(t.mode, "N"))
		return -EINVAL;
	if (t.chunk < RECORD_MIN_CHUNK)
		return -ENOSPC;
	devno_path(t.cow_major, t.cow_minor, path, sizeof path);
	/* The kernel holds the store: a shared open, checked against the table's device number. */
	if ((fd = open(path, O_RDWR | O_CLOEXEC)) < 0)
		return -errno;
	if ((r = probe_fd(fd, &bd)) == 0 && (bd.major != t.cow_major || bd.minor != t.cow_minor))
		r = -ENODEV;
	drop_cache(fd);
	if (r == 0 && ((r = read_cow_header(fd, &h)) < 0 || !h.valid || h.chunk != t.chunk))
		r = r < 0 ? r : -ENOENT;
	if (r == 0) {
		if (record_read(fd, t.chunk, &rec) < 0) {
			memset(&rec, 0, sizeof rec);
			rec.chunk = (uint32_t)t.chunk;
			rec.origin_sectors = sectors;
			snprintf(rec.origin, sizeof rec.origin, "%s", origin);
		}
		rec.state = state;
		r = record_write(fd, &rec);
	}
	close(fd);
	return r;
}
