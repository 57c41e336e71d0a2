/*
 * world.c - reading the kernel's state once, and classifying it (world.h).
 *
 * Layout (the walkthrough's, so that dmsetup and dmsnap can take turns):
 *   NAME      linear DEV 0            -> snapshot-origin NAME_dup while snapshots exist
 *   NAME_dup  linear DEV 0
 *   SNAP      snapshot NAME_dup COW P CHUNK
 * No state lives outside the kernel: every command reads the tables.
 */
#define _GNU_SOURCE
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "cowdev.h"
#include "device.h"
#include "targets.h"
#include "util.h"
#include "world.h"

/* ---- reading ---- */

void world_free(struct world *w)
{
	for (size_t i = 0; i < w->n; i++) {
		free(w->d[i].live_params);
		free(w->d[i].inactive_params);
		free(w->d[i].status);
	}
	free(w->d);
	memset(w, 0, sizeof *w);
}

static int has_status(const struct dev *d)
{
	return d->live_params && (!strcmp(d->live.type, "snapshot") || !strcmp(d->live.type, "snapshot-merge"));
}

/* The size of the device a linear table maps, from sysfs; 0 when unknown. */
static uint64_t linear_under_sectors(const struct dev *d)
{
	char path[64], line[32], *end;
	uint32_t major, minor;
	uint64_t offset, sectors;

	if (!d->live_params || strcmp(d->live.type, "linear") ||
	    dm_parse_linear(d->live_params, &major, &minor, &offset))
		return 0;
	snprintf(path, sizeof path, "/sys/dev/block/%u:%u/size", major, minor);
	if (!read_line_file(path, line, sizeof line) || parse_u64(line, &end, &sectors) || *end)
		return 0;
	return sectors;
}

static int scan_device(int fd, const char *name, struct dev *d, int statuses)
{
	struct dm_target t;
	int r;

	memset(d, 0, sizeof *d);
	snprintf(d->name, sizeof d->name, "%s", name);
	if ((r = dm_get_info(fd, name, &d->info)) < 0)
		return r;
	if (d->info.flags & DM_ACTIVE_PRESENT_FLAG &&
	    (r = get_single_target(fd, name, DM_STATUS_TABLE_FLAG, &d->live, &d->live_params)) < 0)
		return r;
	if (d->info.flags & DM_INACTIVE_PRESENT_FLAG &&
	    (r = get_single_target(fd, name, DM_STATUS_TABLE_FLAG | DM_QUERY_INACTIVE_TABLE_FLAG,
				   &d->inactive, &d->inactive_params)) < 0)
		return r;
	/* A status that cannot be read is left NULL for the reader to report, snapshot by snapshot. */
	if (statuses && has_status(d) && (r = get_single_target(fd, name, 0, &t, &d->status)) == -ENXIO)
		return r;
	d->under_sectors = linear_under_sectors(d);
	return 0;
}

static void dev_free(struct dev *d)
{
	free(d->live_params);
	free(d->inactive_params);
	free(d->status);
}

int scan_world(int fd, struct world *w, int statuses)
{
	struct dm_reply list;
	struct dm_name n;
	int r;

	memset(w, 0, sizeof *w);
	if ((r = dm_list_devices(fd, &list)) < 0)
		return r;
	while ((r = dm_next_name(&list, &n)) > 0) {
		struct dev *more = grow_block(w->d, w->n * sizeof *more, (w->n + 1) * sizeof *more);
		if (!more) {
			r = -ENOMEM;
			break;
		}
		w->d = more;
		int s = scan_device(fd, n.name, &w->d[w->n], statuses);
		if (s == -ENXIO) {  /* removed while we looked */
			dev_free(&w->d[w->n]);
			continue;
		}
		w->n++;
		if (s < 0) {
			r = s;
			break;
		}
	}
	dm_reply_free(&list);
	if (r < 0)
		world_free(w);
	return r < 0 ? r : 0;
}

struct dev *find_dev(const struct world *w, const char *name)
{
	for (size_t i = 0; i < w->n; i++)
		if (!strcmp(w->d[i].name, name))
			return &w->d[i];
	return NULL;
}

/* ---- classifying ---- */

static int is_type(const struct dev *d, const char *type)
{
	return d->live_params && !strcmp(d->live.type, type);
}

/* Does this table line's first word name major:minor? */
static int first_arg_is(const char *params, uint32_t major, uint32_t minor)
{
	uint32_t ma, mi;

	return params && dm_first_devno(params, &ma, &mi) == 0 && ma == major && mi == minor;
}

/* A snapshot of dup: live, or only loaded (a snap cut short). */
static int is_snapshot_of(const struct dev *d, const struct dev *dup)
{
	if (d->live_params)
		return !strcmp(d->live.type, "snapshot") &&
		       first_arg_is(d->live_params, dup->info.major, dup->info.minor);
	return d->inactive_params && !strcmp(d->inactive.type, "snapshot") &&
	       first_arg_is(d->inactive_params, dup->info.major, dup->info.minor);
}

/* One linear target over the whole of major:minor, from its start (when sysfs tells its size). */
static int is_whole_linear(const struct dev *d, uint32_t major, uint32_t minor, uint64_t sectors)
{
	uint32_t ma, mi;
	uint64_t offset;

	return is_type(d, "linear") && d->info.target_count == 1 &&
	       dm_parse_linear(d->live_params, &ma, &mi, &offset) == 0 && ma == major && mi == minor &&
	       offset == 0 && d->live.start == 0 && d->live.length == sectors;
}

/* What NAME carries over NAME_dup: 0 with *mode, or -EMEDIUMTYPE for a table dmsnap does not make. */
static int wrapper_mode(const struct wrapper *wr, enum wrap_mode *mode)
{
	const struct dev *top = wr->top;
	uint32_t ma = wr->dup->info.major, mi = wr->dup->info.minor;

	if (top->info.target_count != 1 || !top->live_params || top->live.start != 0 ||
	    top->live.length != wr->sectors)
		return -EMEDIUMTYPE;
	if (is_type(top, "linear")) {
		*mode = MODE_LINEAR;
		return is_whole_linear(top, wr->base_major, wr->base_minor, wr->sectors) ? 0 : -EMEDIUMTYPE;
	}
	if (!first_arg_is(top->live_params, ma, mi))
		return -EMEDIUMTYPE;
	if (is_type(top, "snapshot-origin"))
		*mode = MODE_ORIGIN;
	else if (is_type(top, "snapshot-merge"))
		*mode = MODE_MERGE;
	else
		return -EMEDIUMTYPE;
	return 0;
}

int dup_name(const char *name, char *buf, size_t size)
{
	return (size_t)snprintf(buf, size, "%s%s", name, DUP_SUFFIX) >= size || strlen(buf) >= DM_NAME_LEN
		       ? -ENAMETOOLONG : 0;
}

int is_dup_name(const char *name)
{
	size_t n = strlen(name), k = strlen(DUP_SUFFIX);

	return n > k && !strcmp(name + n - k, DUP_SUFFIX);
}

const char *mode_word(enum wrap_mode m)
{
	return nth_string("linear\0snapshot-origin\0merging", m);
}

void wrapper_free(struct wrapper *wr)
{
	free(wr->snaps);
	free(wr->helpers);
	wr->snaps = wr->helpers = NULL;
	wr->nsnaps = wr->nhelpers = 0;
}

/* The snapshots and helper origins over NAME_dup, however many the kernel holds. */
static int collect_users(const struct world *w, struct wrapper *wr)
{
	if (!(wr->snaps = calloc(w->n, sizeof *wr->snaps)) || !(wr->helpers = calloc(w->n, sizeof *wr->helpers))) {
		wrapper_free(wr);
		return -ENOMEM;
	}
	for (size_t i = 0; i < w->n; i++) {
		struct dev *d = &w->d[i];
		if (d == wr->top)
			continue;
		if (is_snapshot_of(d, wr->dup))
			wr->snaps[wr->nsnaps++] = d;
		else if (is_type(d, "snapshot-origin") &&
			 first_arg_is(d->live_params, wr->dup->info.major, wr->dup->info.minor))
			wr->helpers[wr->nhelpers++] = d;
	}
	return 0;
}

/*
 * NAME is a wrapper when NAME_dup exists and is `linear DEV 0`; NAME itself
 * is then linear over DEV, or snapshot-origin / snapshot-merge over NAME_dup.
 */
int identify_wrapper(const struct world *w, const char *name, struct wrapper *wr)
{
	char dup[DM_NAME_LEN + sizeof DUP_SUFFIX];
	uint64_t offset;
	int r;

	memset(wr, 0, sizeof *wr);
	if (!(wr->top = find_dev(w, name)))
		return -ENXIO;
	if (dup_name(name, dup, sizeof dup) || !(wr->dup = find_dev(w, dup)))
		return -ENOENT;
	if (!is_type(wr->dup, "linear") ||
	    dm_parse_linear(wr->dup->live_params, &wr->base_major, &wr->base_minor, &offset))
		return -EINVAL;
	wr->sectors = wr->dup->live.length;
	/* Anything else (an offset, a part, several targets) would shift or cut what a snapshot shows. */
	if (!is_whole_linear(wr->dup, wr->base_major, wr->base_minor,
			     wr->dup->under_sectors ? wr->dup->under_sectors : wr->sectors))
		return -EINVAL;
	if ((r = wrapper_mode(wr, &wr->mode)) < 0)
		return r;
	return collect_users(w, wr);
}

/* ---- repairs ---- */

static int has_prefix(const char *s, const char *prefix)
{
	return !strncmp(s, prefix, strlen(prefix));
}

/* A device without a table that an interrupted snap of NAME left. */
int is_orphan_cow(const struct dev *d)
{
	return has_prefix(d->info.uuid, COW_UUID_PREFIX) && !d->info.open_count &&
	       !(d->info.flags & (DM_SUSPEND_FLAG | DM_INACTIVE_PRESENT_FLAG));
}

static int is_empty_leftover(const struct dev *d, const char *name)
{
	size_t n = strlen(name);

	return !d->live_params && !d->inactive_params &&
	       ((!strncmp(d->name, name, n) && !strncmp(d->name + n, "_snap", 5)) ||
		has_prefix(d->info.uuid, SNAP_UUID_PREFIX) || has_prefix(d->info.uuid, REATTACH_UUID_PREFIX));
}

static enum repair_kind set_repair(struct repair *rp, enum repair_kind kind, const struct dev *d, const char *why)
{
	*rp = (struct repair){ kind, d, why };
	return kind;
}

/* A snapshot that goes: its store's header goes too, unless the store was reattached (someone's snapshot). */
static enum repair_kind removal_of(const struct dev *s)
{
	return has_prefix(s->info.uuid, REATTACH_UUID_PREFIX) ? REPAIR_REMOVE : REPAIR_REMOVE_RETIRE;
}

/* NAME's inactive table says what was under way when dmsnap stopped. */
static enum repair_kind plan_inactive(const struct wrapper *wr, struct repair *rp)
{
	const struct dev *top = wr->top;
	int suspended = top->info.flags & DM_SUSPEND_FLAG, live_snaps = 0;

	for (size_t i = 0; i < wr->nsnaps; i++)
		live_snaps += wr->snaps[i]->live_params && !(wr->snaps[i]->info.flags & DM_SUSPEND_FLAG);
	if (!strcmp(top->inactive.type, "snapshot-origin") && wr->mode == MODE_LINEAR && suspended && live_snaps)
		return set_repair(rp, REPAIR_SWAP_IN_ORIGIN, top,
			   "snap was stopped after the snapshot went live: switched to snapshot-origin (snapshot complete)");
	if (!strcmp(top->inactive.type, "linear") && wr->mode == MODE_ORIGIN && wr->nsnaps == 0)
		return set_repair(rp, REPAIR_SWAP_IN_LINEAR, top, "drop was stopped after the snapshots went: back to linear");
	return set_repair(rp, REPAIR_CLEAR_INACTIVE, top, "(that operation did not happen)");
}

/* The first snapshot of NAME that needs a repair, if any. */
static int plan_snapshots(const struct wrapper *wr, struct repair *rp)
{
	for (size_t i = 0; i < wr->nsnaps; i++) {
		const struct dev *s = wr->snaps[i];
		if (!s->live_params)
			set_repair(rp, removal_of(s), s, "never went live (snap was stopped): removed");
		else if (wr->mode == MODE_MERGE)
			set_repair(rp, REPAIR_REMOVE, s, "was handed over to the merge: removed");
		else if (wr->mode == MODE_LINEAR)
			set_repair(rp, removal_of(s), s,
				   "went live but its origin never switched to snapshot-origin, so writes bypassed it: removed");
		else if (s->info.flags & DM_SUSPEND_FLAG)
			set_repair(rp, REPAIR_RESUME, s, "was left suspended: resumed");
		else
			continue;
		return 1;
	}
	return 0;
}

/* What follows SNAP_UUID_PREFIX and the name in a snapshot's uuid: its group's tag, "" when taken alone. */
static const char *group_of(const struct dev *d)
{
	const char *rest = d->info.uuid + strlen(SNAP_UUID_PREFIX);

	return has_prefix(d->info.uuid, SNAP_UUID_PREFIX) && has_prefix(rest, d->name) ? rest + strlen(d->name) : "";
}

/*
 * A group member a kill caught in the group's switch: NAME still frozen with
 * its snapshot staged, while another snapshot of the group went live.  NAME
 * has been frozen since the group's instant, so resuming the snapshot now
 * completes the group at that instant; undoing it would leave a part.
 */
static const struct dev *staged_member(const struct world *w, const struct wrapper *wr)
{
	for (size_t i = 0; wr->top->info.flags & DM_SUSPEND_FLAG && i < wr->nsnaps; i++) {
		const char *tag = group_of(wr->snaps[i]);
		for (size_t j = 0; *tag && !wr->snaps[i]->live_params && j < w->n; j++)
			if (!strcmp(group_of(&w->d[j]), tag) && w->d[j].live_params &&
			    !(w->d[j].info.flags & DM_SUSPEND_FLAG))
				return wr->snaps[i];
	}
	return NULL;
}

static int merge_finished(const struct dev *top)
{
	struct dm_snap_status st;

	return top->status && dm_parse_snap_status(top->status, &st) == 0 && st.state == DM_SNAP_ACTIVE &&
	       st.used == st.metadata;
}

/* The most urgent first: NAME's own state, its snapshots, leftovers, then tidying. */
enum repair_kind plan_repair(const struct world *w, const struct wrapper *wr, struct repair *rp)
{
	const struct dev *top = wr->top, *staged = staged_member(w, wr);

	set_repair(rp, REPAIR_NONE, top, "consistent, nothing to do");
	if (staged)
		return set_repair(rp, REPAIR_RESUME, staged,
				  "the rest of its group went live: resumed, at the group's instant");
	if (top->info.flags & DM_INACTIVE_PRESENT_FLAG)
		return plan_inactive(wr, rp);
	if (top->info.flags & DM_SUSPEND_FLAG)
		return set_repair(rp, REPAIR_RESUME, top, "was left suspended: resumed");
	/* A suspended COW device holds up every copy-out, so every first write to NAME. */
	for (size_t i = 0; i < w->n; i++)
		if (has_prefix(w->d[i].info.uuid, COW_UUID_PREFIX) &&
		    w->d[i].info.flags & (DM_SUSPEND_FLAG | DM_INACTIVE_PRESENT_FLAG))
			return set_repair(rp, REPAIR_RESUME, &w->d[i],
					  "a COW device left in its switch (grow was stopped): resumed with its new table");
	if (plan_snapshots(wr, rp))
		return rp->kind;
	for (size_t i = 0; i < w->n; i++)
		if (is_empty_leftover(&w->d[i], top->name))
			return set_repair(rp, REPAIR_REMOVE, &w->d[i], "had no table (snap was stopped): removed");
	for (size_t i = 0; i < w->n; i++)
		if (is_orphan_cow(&w->d[i]))
			return set_repair(rp, REPAIR_REMOVE_COW, &w->d[i],
					  "a snapshot's COW device that no snapshot uses (snap or drop was stopped): removed");
	if (wr->mode == MODE_ORIGIN && wr->nsnaps == 0)
		return set_repair(rp, REPAIR_TO_LINEAR, top, "snapshot-origin without snapshots: back to linear");
	if (wr->mode == MODE_MERGE && merge_finished(top))
		return set_repair(rp, REPAIR_TO_LINEAR, top, "merge had finished: back to linear");
	if (wr->mode == MODE_LINEAR)
		for (size_t i = 0; i < wr->nhelpers; i++)
			if (wr->helpers[i]->info.open_count == 0)
				return set_repair(rp, REPAIR_REMOVE, wr->helpers[i],
						  "helper snapshot-origin device: removed");
	return REPAIR_NONE;
}
