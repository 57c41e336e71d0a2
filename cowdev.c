/*
 * cowdev.c - a snapshot's COW behind a linear device of its own (cowdev.h).
 */
#define _GNU_SOURCE
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "cowdev.h"
#include "device.h"
#include "probe.h"
#include "targets.h"
#include "util.h"

/* The uuid must fit too: it is what marks the device as a COW's. */
int cowdev_name(const char *snapname, char *buf, size_t size)
{
	return (size_t)snprintf(buf, size, "%s%s", snapname, COW_SUFFIX) >= size || strlen(buf) >= DM_NAME_LEN ||
			       strlen(COW_UUID_PREFIX) + strlen(snapname) >= DM_UUID_LEN
		       ? -ENAMETOOLONG : 0;
}

/* The table over the members, back to back. */
static size_t build_layout(const struct cow_layout *l, struct target_line *lines, struct dm_target *t)
{
	uint64_t start = 0;

	for (size_t i = 0; i < l->n; i++) {
		build_linear_at(&lines[i], start, l->m[i].sectors, l->m[i].major, l->m[i].minor, l->m[i].offset);
		t[i] = lines[i].t;
		start += l->m[i].sectors;
	}
	return l->n;
}

static struct target_line lines[MAX_MEMBERS];
static struct dm_target targets[MAX_MEMBERS];

int cowdev_create(int fd, const char *snapname, const struct cow_layout *l, struct dm_info *info,
		  enum dm_cmd *failed)
{
	char name[DM_NAME_LEN], uuid[DM_UUID_LEN];
	int fits = snprintf(uuid, sizeof uuid, "%s%s", COW_UUID_PREFIX, snapname) < (int)sizeof uuid;

	int r;

	*failed = DM_DEV_CREATE_CMD;
	if (cowdev_name(snapname, name, sizeof name))
		return -ENAMETOOLONG;
	if ((r = create_device(fd, name, fits ? uuid : NULL, targets, build_layout(l, lines, targets), 0, info,
			       failed)) == 0)
		ensure_node(name, info->major, info->minor);  /* the record is written through it */
	return r;
}

int cowdev_of(uint32_t major, uint32_t minor, char *name, size_t size)
{
	char path[64], uuid[DM_UUID_LEN];

	sys_block(path, sizeof path, major, minor, "/dm/uuid");
	if (!read_line_file(path, uuid, sizeof uuid) || strncmp(uuid, COW_UUID_PREFIX, strlen(COW_UUID_PREFIX)))
		return 0;
	sys_block(path, sizeof path, major, minor, "/dm/name");
	return read_line_file(path, name, size);
}

void cow_path(uint32_t major, uint32_t minor, char *buf, size_t size)
{
	static struct cow_layout l;
	char name[DM_NAME_LEN];

	if (!cowdev_of(major, minor, name, sizeof name) || cowdev_layout(dm_control(), name, &l) < 0) {
		devno_path(major, minor, buf, size);
		return;
	}
	int n = devno_path(l.m[0].major, l.m[0].minor, buf, size);
	if (l.n > 1 && n > 0 && (size_t)n < size)
		snprintf(buf + n, size - (size_t)n, "+%zu", l.n - 1);
}

int cowdev_layout(int fd, const char *name, struct cow_layout *l)
{
	struct dm_reply rep;
	struct dm_target t;
	int r;

	l->n = 0;
	if ((r = dm_get_table(fd, name, DM_STATUS_TABLE_FLAG, &rep)) < 0)
		return r;
	while ((r = dm_next_target(&rep, &t)) > 0) {
		struct cow_member *m = &l->m[l->n];
		if (l->n == MAX_MEMBERS || strcmp(t.type, "linear") ||
		    dm_parse_linear(t.params, &m->major, &m->minor, &m->offset)) {
			r = -EMEDIUMTYPE;
			break;
		}
		m->sectors = t.length;
		l->n++;
	}
	dm_reply_free(&rep);
	return r < 0 ? r : l->n ? 0 : -ENODATA;
}

int cowdev_switch(int fd, const char *name, const struct cow_layout *l, enum dm_cmd *failed)
{
	int r;

	*failed = DM_TABLE_LOAD_CMD;
	if ((r = dm_load(fd, name, targets, build_layout(l, lines, targets), 0)) < 0)
		return r;
	*failed = DM_DEV_SUSPEND_CMD;
	/* Copy-outs wait while it switches; the snapshot and its origin go on. */
	if ((r = dm_suspend(fd, name, DM_SKIP_LOCKFS_FLAG)) < 0) {
		dm_clear(fd, name);
		return r;
	}
	if ((r = dm_resume(fd, name, NULL)) < 0) {
		dm_clear(fd, name);
		ensure_resumed(fd, name);
	}
	return r;
}

/* A valid store not marked dropped: someone's snapshot, to reattach. */
static int holds_kept_store(const char *name, const struct dm_info *info)
{
	char path[sizeof DM_DIR + DM_NAME_LEN];
	struct cow_header h;
	struct cow_record rec;
	int fd, kept = 0;

	snprintf(path, sizeof path, "%s/%s", DM_DIR, name);
	if (ensure_node(name, info->major, info->minor) < 0 || (fd = open(path, O_RDONLY | O_CLOEXEC)) < 0)
		return 1;  /* unknown: keep */
	drop_cache(fd);
	if (read_cow_header(fd, &h) == 0 && h.valid)
		kept = record_read(fd, h.chunk, &rec) < 0 || rec.state != COW_DROPPING;
	close(fd);
	return kept;
}

int cowdev_remove(int fd, const char *name, enum cow_fate fate, char *path, size_t size)
{
	struct cow_layout l;
	struct dm_info info;
	int r, met;

	snprintf(path, size, "%s", name);
	if ((r = dm_get_info(fd, name, &info)) == -ENXIO || (r == 0 && info.open_count))
		return 0;  /* gone, or still a store: a merge's, or a snapshot's not gone */
	met = r;  /* an error overcome is still said */
	if (fate == RETIRE_UNLESS_KEPT)
		fate = r == 0 && !holds_kept_store(name, &info) ? RETIRE_STORE : KEEP_STORE;
	/* No table (made, never loaded): nothing to retire; else its members stay, which is said. */
	if ((r = cowdev_layout(fd, name, &l)) < 0)
		l.n = 0, met = met ? met : r == -ENODATA ? 0 : r;
	/* Once more if it would not go: the error may pass. */
	if ((r = remove_device(fd, name, REMOVE_TRIES, 0)) < 0 &&
	    (met = met ? met : r, r = remove_device(fd, name, REMOVE_TRIES, 0)) < 0)
		return r;
	for (size_t i = 0; fate == RETIRE_STORE && i < l.n && r == 0; i++)
		r = retire_dev(l.m[i].major, l.m[i].minor, path, size);
	return r < 0 ? r : met;
}

int release_cow(int fd, const char *params, enum cow_fate fate, char *path, size_t size)
{
	struct dm_snap_table t;
	char name[DM_NAME_LEN];

	snprintf(path, size, "?");
	if (!params || dm_parse_snap_table(params, &t) < 0)
		return 0;
	if (cowdev_of(t.cow_major, t.cow_minor, name, sizeof name))
		return cowdev_remove(fd, name, fate, path, size);
	return fate == RETIRE_STORE ? retire_cow(params, path, size) : 0;
}

/* ---- finding members at boot ---- */

struct member_search {
	uint64_t id, sectors;
	uint32_t index;
	char *path;
	size_t size;
	int found;
};

static int look_for_label(const char *devno, void *arg)
{
	static unsigned char buf[RECORD_BYTES];
	struct member_search *s = arg;
	struct blockdev bd;
	uint32_t major, minor, index;
	uint64_t id, sectors;
	char path[128];
	int fd;

	if (dm_parse_devno(devno, &major, &minor) || devno_path(major, minor, path, sizeof path) <= 0 ||
	    (fd = open(path, O_RDONLY | O_CLOEXEC)) < 0)
		return 0;
	drop_cache(fd);
	if (probe_fd(fd, &bd) == 0 && pread(fd, buf, sizeof buf, 0) == (ssize_t)sizeof buf &&
	    label_decode(buf, &id, &index, &sectors) == 0 && id == s->id && index == s->index &&
	    sectors == s->sectors && bd.sectors >= MEMBER_LABEL_SECTORS + sectors) {
		size_t len = s->found ? strlen(s->path) : 0;
		snprintf(s->path + len, s->size - len, "%s%s", s->found ? " and " : "", path);
		s->found++;
	}
	close(fd);
	return 0;
}

int find_member(uint64_t id, uint32_t index, uint64_t sectors, char *path, size_t size)
{
	struct member_search s = { id, sectors, index, path, size, 0 };
	int r;

	path[0] = 0;
	if ((r = each_entry("/sys/dev/block", look_for_label, &s)) < 0)
		return r;
	return s.found == 1 ? 0 : s.found ? -ENOTUNIQ : -ENOENT;
}
