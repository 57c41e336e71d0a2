/*
 * snap.c - taking a snapshot and dropping it (snap.h).
 *
 * Each workflow has three parts: look (read the kernel, check input), plan
 * (build every table), act (the ioctls).  The suspended window is one short
 * function that only issues prepared ioctls; its caller always resumes.
 */
#define _GNU_SOURCE
#include <errno.h>
#include <fcntl.h>
#include <getopt.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include "cli.h"
#include "cow.h"
#include "device.h"
#include "faults.h"
#include "group.h"
#include "grow.h"
#include "lock.h"
#include "snap.h"
#include "util.h"
#include "window.h"
#include "world.h"


/* ---- small shared steps ---- */

static void warn_window(int r)
{
	if (r < 0 && verbose)
		warn(r, "mlockall (carrying on unlocked):");
}

/* ---- snap ---- */

/* NAME_snap, NAME_snap2, ...: the first free name; -ENAMETOOLONG rather than a cut one. */
static int default_snapname(const struct world *w, const char *name, char *buf, size_t size)
{
	for (int i = 1; i < 1000; i++) {
		int n = i == 1 ? snprintf(buf, size, "%s_snap", name) : snprintf(buf, size, "%s_snap%d", name, i);
		if (n < 0 || (size_t)n >= size || n >= DM_NAME_LEN)
			return -ENAMETOOLONG;
		if (!find_dev(w, buf))
			return 0;
	}
	return -EEXIST;
}

/*
 * The suspended window: freeze every origin, then for each in turn activate
 * its snapshot and let it go on through snapshot-origin (swapped in by its
 * resume when it was loaded).  In this order: resuming an origin before its
 * snapshot would let writes escape the COW, and before every origin is
 * frozen would split the group's instant.  Once all are frozen, an origin
 * with its snapshot live may go on: none waits for the others' snapshots,
 * which keeps each suspension close to a bare suspend and resume of the group.
 * Only prepared ioctls in here.  Returns 0, or
 * the failed step's -errno with *step naming it; then the first *swapped
 * origins run their snapshot-origin and the others are back on the table
 * they had (the one whose resume failed may stay suspended: the caller
 * deals with that).
 */
static int switch_under_freeze(int fd, const struct snap_plan *p, size_t n, size_t *swapped, long *suspended_us,
			       const char **step)
{
	struct timespec t0, t1;
	size_t frozen, i;
	int r = 0;

	*swapped = 0;
	clock_gettime(CLOCK_MONOTONIC, &t0);
	for (frozen = 0; frozen < n && !(r = dm_suspend(fd, *step = p[frozen].name, 0)); frozen++)
		;
	while (!r && *swapped < n && !(r = dm_resume(fd, *step = p[*swapped].snapname, NULL)) &&
	       !(r = dm_resume(fd, *step = p[*swapped].name, NULL)))
		++*swapped;
	clock_gettime(CLOCK_MONOTONIC, &t1);
	*suspended_us = elapsed_us(&t0, &t1);
	/* Not swapped yet: back as it was. */
	for (i = *swapped; r && i < frozen; i++) {
		dm_clear(fd, p[i].name);
		dm_resume(fd, p[i].name, NULL);
	}
	return r;
}

/*
 * Undo a snap that failed after its first change; NAME ends resumed.  The
 * header goes only from a store this snap made new: a reattached store is
 * someone's snapshot and stays exactly as it was.
 */
/* The COW's device (or a bare COW) after the snapshot went or was never made: a new store is retired. */
static void undo_cow(int fd, const struct snap_plan *p)
{
	char cow[128];
	int r = release_cow(fd, p->snap_line.params, p->cow.reattach ? KEEP_STORE : RETIRE_STORE, cow, sizeof cow);

	if (r < 0)
		warn(r, "%s: removing or clearing its COW %s met an error ('dmsnap recover' removes what stays; the next snap on it may need --force):",
		     p->snapname, cow);
}

static void undo_snap(int fd, const struct snap_plan *p)
{
	struct dm_info info;
	int r;

	if (p->swap_origin && dm_get_info(fd, p->name, &info) == 0 && info.flags & DM_INACTIVE_PRESENT_FLAG)
		dm_clear(fd, p->name);
	warn_unresumed(ensure_resumed(fd, p->name), p->name);
	if ((r = remove_device(fd, p->snapname, REMOVE_TRIES, 0)) < 0) {
		dm_warn(r, DM_DEV_REMOVE_CMD, p->snapname);
		warn(0, "%s stays behind: 'dmsnap recover %s' removes it", p->snapname, p->name);
		return;
	}
	/* Loading the snapshot wrote a fresh header: clear it, or the retry would need --force. */
	undo_cow(fd, p);
}

int parse_snap_args(int argc, char **argv, struct snap_plan **group, size_t *n, int *help)
{
	struct snap_plan t, *p = &t;
	const struct option *list = long_opts("n transient\0f force\0R reattach\0m=mount\0S no-sync\0");
	const char *cmd = argv[0], *snapname = NULL;
	int is_run = strcmp(cmd, "snap") != 0, c;
	char *end;

	memset(p, 0, sizeof *p);
	p->cow.fd = p->cow.record_fd = -1;
	*group = NULL;
	*help = 0;
	while ((c = getopt_long(argc, argv, "c:s:nvqh", list, NULL)) != -1) {
		switch (c) {
		case 'c':
			if (parse_u64(optarg, &end, &p->cow.chunk) || *end || !p->cow.chunk)
				return bad_usage("%s: -c takes a chunk size in sectors, got '%s'", cmd, optarg);
			break;
		case 's': snapname = optarg; break;
		case 'n': p->cow.transient = 1; break;
		case 'f': p->cow.force = 1; break;
		case 'R': p->cow.reattach = 1; break;
		case 'S': p->no_sync = 1; break;
		case 'm':
			if (!is_run)
				return usage_error();
			p->mount_dir = optarg;
			break;
		case 'v': verbose = 1; break;
		case 'q': quiet = 1; break;
		case 'h': *help = 1; return show_help();
		default: return usage_error();
		}
	}
	if (p->cow.reattach && p->cow.force)
		return bad_usage("snap: --reattach keeps the COW's content, --force zeroes it; give one");
	if (p->cow.reattach && p->cow.transient)
		return bad_usage("snap: --reattach needs a persistent store, -n makes a transient one; give one");
	if (snapname) {
		if (snapname[0] == '-' || dm_check_name(snapname))
			return bad_usage("%s: '%s' is not a device name for a snapshot: 1-127%s, not starting with '-'", cmd,
					 snapname, name_rule);
		snprintf(p->snapname, sizeof p->snapname, "%s", snapname);
	}
	return parse_pairs(cmd, argv + optind, argc - optind, p, group, n);
}

static int look_snap(int fd, const struct world *w, struct snap_plan *p, const struct wrapper *wr)
{
	struct blockdev origin = { .logical_block = 512 };
	int r;

	if (wr->top->info.flags & DM_SUSPEND_FLAG || wr->top->info.flags & DM_INACTIVE_PRESENT_FLAG)
		return fail(0, "%s is %s: another operation is half done; 'dmsnap recover %s' repairs it", p->name,
			    wr->top->info.flags & DM_SUSPEND_FLAG ? "suspended" : "holding an inactive table", p->name);
	if (wr->mode == MODE_MERGE)
		return fail(0, "%s is merging a snapshot back; wait for 'dmsnap merge' to finish", p->name);
	if (p->snapname[0]) {
		if (find_dev(w, p->snapname))
			return fail(0, "snapshot name %s is taken: pick another with -s", p->snapname);
	} else if ((r = default_snapname(w, p->name, p->snapname, sizeof p->snapname)) == -ENAMETOOLONG) {
		return fail(0, "%s: its snapshot's name would pass the kernel's %d bytes: give a shorter one with -s",
			    p->name, DM_NAME_LEN - 1);
	} else if (r < 0) {
		return fail(r, "%s: no free snapshot name; give one with -s:", p->name);
	}
	/* Unknown block size (no sysfs): 512 lets the kernel have the last word. */
	logical_block_of(wr->base_major, wr->base_minor, &origin.logical_block);
	origin_identity(wr->base_major, wr->base_minor, wr->sectors, p->name, &p->cow.origin_id);
	p->cow.origin = p->name;
	if ((r = check_cow(&p->cow, w, wr, &origin)) || (r = assemble_cow(&p->cow, wr, &p->layout)))
		return r;
	/* A name that would not fit leaves a bare COW: everything but grow works on it. */
	if (cowdev_name(p->snapname, p->cowname, sizeof p->cowname))
		p->cowname[0] = 0;
	else if (find_dev(w, p->cowname))
		return fail(0, "%s is taken: its snapshot's COW device would have that name; pick another snapshot name with -s",
			    p->cowname);
	if (require_target(fd, "snapshot", "dm-snapshot") || require_target(fd, "snapshot-origin", "dm-snapshot"))
		return EXIT_FAIL;
	p->swap_origin = wr->mode == MODE_LINEAR;
	p->origin_major = wr->top->info.major;
	p->origin_minor = wr->top->info.minor;
	return EXIT_OK;
}

static void plan_snap(struct snap_plan *p, const struct wrapper *wr)
{
	struct dm_snap_table s = { .origin_major = wr->dup->info.major, .origin_minor = wr->dup->info.minor,
				   .cow_major = p->cow.dev.major, .cow_minor = p->cow.dev.minor, .chunk = p->cow.chunk };

	snprintf(s.mode, sizeof s.mode, "%s", p->cow.transient ? "N" : "P");
	build_snapshot(&p->snap_line, "snapshot", wr->sectors, &s);
	build_origin(&p->origin_line, wr->sectors, wr->dup->info.major, wr->dup->info.minor);
}

/*
 * The freeze flushes NAME's filesystem while every writer waits: flush it
 * once before, so that the freeze has little left to write.
 */
static void sync_before_freeze(const struct snap_plan *p)
{
	char mnt[4096];
	struct timespec t0, t1;
	int fd;

	if (!mount_point_of(p->origin_major, p->origin_minor, mnt, sizeof mnt) ||
	    (fd = open(mnt, O_RDONLY | O_DIRECTORY | O_CLOEXEC)) < 0)
		return;
	clock_gettime(CLOCK_MONOTONIC, &t0);
	if (syncfs(fd) < 0)
		warn(errno, "syncfs %s (the freeze will flush instead):", mnt);
	clock_gettime(CLOCK_MONOTONIC, &t1);
	close(fd);
	if (verbose) {
		long us = elapsed_us(&t0, &t1);
		warn(0, "synced %s in %ld.%03ld ms before the freeze", mnt, us / 1000, us % 1000);
	}
}

/* The COW behind its own device, and the snapshot's table naming that device. */
static int stage_cow(int fd, struct snap_plan *p)
{
	struct dm_snap_table s;
	struct dm_info info;
	enum dm_cmd failed;
	int r;

	if (!p->cowname[0])
		return EXIT_OK;
	if ((r = cowdev_create(fd, p->snapname, &p->layout, &info, &failed)) < 0) {
		dm_warn(r, failed, p->cowname);
		return fail(0, "%s: no snapshot taken; %s unchanged", p->snapname, p->name);
	}
	dm_parse_snap_table(p->snap_line.params, &s);
	s.cow_major = info.major;
	s.cow_minor = info.minor;
	build_snapshot(&p->snap_line, "snapshot", p->snap_line.t.length, &s);
	return EXIT_OK;
}

/*
 * Everything before the freeze: COW header, COW device, snapshot device,
 * NAME's inactive table.  group ends the snapshot's uuid ("" alone).
 */
static int stage_snap(int fd, struct snap_plan *p, struct dm_info *snap_info, const char *group)
{
	char uuid[DM_UUID_LEN];
	int r;

	if (recheck_cow(&p->cow))
		return EXIT_FAIL;
	/* A zero header tells the kernel the store is new; an old one would be reloaded silently. */
	if (!p->cow.reattach && (r = zero_range(p->cow.fd, 0, p->cow.chunk << DM_SECTOR_SHIFT)) < 0)
		return fail(r, "zero the header of COW %s:", p->cow.path);
	if (!p->cow.reattach && !p->cow.transient && p->cow.chunk >= RECORD_MIN_CHUNK && (r = reopen_cow(&p->cow)) < 0)
		return fail(r, "reopen COW %s:", p->cow.path);
	/* The table names the device checked by its number; the kernel claims it now. */
	close_cow(&p->cow);
	if (stage_cow(fd, p))
		return EXIT_FAIL;
	/*
	 * The uuid marks the device as dmsnap's, so recover knows an empty
	 * leftover is ours, whether its store was new or reattached, and which
	 * group it belongs to.
	 */
	int fits = snprintf(uuid, sizeof uuid, "%s%s%s", p->cow.reattach ? REATTACH_UUID_PREFIX : SNAP_UUID_PREFIX,
			    p->snapname, group) < (int)sizeof uuid;
	if ((r = dm_create(fd, p->snapname, fits ? uuid : NULL, snap_info)) < 0) {
		dm_warn(r, DM_DEV_CREATE_CMD, p->snapname);
		undo_cow(fd, p);
		return fail(0, "%s: no snapshot taken; %s unchanged", p->snapname, p->name);
	}
	if ((r = dm_load(fd, p->snapname, &p->snap_line.t, 1, 0)) < 0) {
		dm_warn(r, DM_TABLE_LOAD_CMD, p->snapname);
		undo_snap(fd, p);
		return fail(0, "%s: no snapshot taken; %s unchanged", p->snapname, p->name);
	}
	if (p->cow.record_fd >= 0 && (r = write_record(&p->cow)) < 0) {
		warn(r, "%s: writing dmsnap's record on COW %s:", p->snapname, p->cow.path);
		undo_snap(fd, p);
		return fail(0, "%s: no snapshot taken; %s unchanged", p->snapname, p->name);
	}
	if (p->swap_origin && (r = dm_load(fd, p->name, &p->origin_line.t, 1, 0)) < 0) {
		dm_warn(r, DM_TABLE_LOAD_CMD, p->name);
		undo_snap(fd, p);
		return fail(0, "%s: no snapshot taken; %s unchanged", p->snapname, p->name);
	}
	return EXIT_OK;
}

/* look and plan, from one reading of the kernel's state. */
/*
 * A snapshot removed by hand (the walkthrough's dmsetup teardown) leaves
 * its COW's device, which nothing uses and which holds the COW: such
 * devices go before the look, their stores kept, as recover removes them.
 * 1 when one went (w is then stale).
 */
static int release_orphan_cows(int fd, const struct world *w)
{
	char path[128];
	int gone = 0;

	for (size_t i = 0; i < w->n; i++)
		if (is_orphan_cow(&w->d[i]))
			gone |= cowdev_remove(fd, w->d[i].name, KEEP_STORE, path, sizeof path) == 0;
	return gone;
}

static int prepare_snap(int fd, struct snap_plan *p)
{
	struct world w;
	struct wrapper wr;
	int r;

	if (scan_or_fail(fd, &w, 0))
		return EXIT_FAIL;
	if (release_orphan_cows(fd, &w)) {
		world_free(&w);
		if (scan_or_fail(fd, &w, 0))
			return EXIT_FAIL;
	}
	if ((r = wrapper_or_fail(&w, p->name, &wr)) == EXIT_OK) {
		if ((r = look_snap(fd, &w, p, &wr)) == EXIT_OK)
			plan_snap(p, &wr);
		wrapper_free(&wr);
	}
	world_free(&w);
	return r;
}

static int drop_from(int fd, struct world *w, struct wrapper *wr, void *arg);

/*
 * Undo the pairs [0, staged) of a group that failed: every origin ends
 * resumed on its old table.  The first swapped already run snapshot-origin
 * with their new snapshot, which goes as a drop would take it.
 */
static void undo_group(int fd, struct snap_plan *p, size_t staged, size_t swapped, const sigset_t *saved)
{
	for (size_t i = swapped; i < staged; i++)
		undo_snap(fd, &p[i]);
	close_window(saved);
	for (size_t i = 0; i < swapped; i++)
		on_wrapper(fd, p[i].name, drop_from, p[i].snapname);
}

/* act: signals wait until the state is consistent again. */
static int act_snap(int fd, struct snap_plan *p, size_t n)
{
	const char *step = NULL, *who = n > 1 ? "every origin" : p->name;
	char group[40] = "";
	struct dm_info *info;
	size_t staged = 0, swapped = 0;
	sigset_t saved;
	long us = 0;
	int r = EXIT_OK;

	fault_pause("cow-checked");
	for (size_t i = 0; i < n; i++)
		if (!p[i].no_sync)
			sync_before_freeze(&p[i]);
	fault_pause("synced");
	if (stop_pending())
		return fail(0, "interrupted: no snapshot taken; %s unchanged", who);
	if (!(info = calloc(n, sizeof *info)))
		return fail(-ENOMEM, "%s:", p->name);
	/* Unique while this boot's devices last: the process and the second. */
	if (n > 1)
		snprintf(group, sizeof group, GROUP_TAG "%d.%lld", (int)getpid(), (long long)time(NULL));
	fflush(stdout);
	warn_window(open_window(&saved));
	while (staged < n && (r = stage_snap(fd, &p[staged], &info[staged], group)) == EXIT_OK)
		staged++;
	if (r == EXIT_OK) {
		fault_pause("staged");
		r = stop_pending() ? -EINTR : switch_under_freeze(fd, p, n, &swapped, &us, &step);
	}
	if (r != EXIT_OK) {
		undo_group(fd, p, staged, swapped, &saved);
		free(info);
		if (r == -EINTR)
			return fail(0, "interrupted before the freeze: no snapshot taken; %s unchanged", who);
		if (r < 0)
			dm_warn(r, DM_DEV_SUSPEND_CMD, step);
		if (n > 1)
			return fail(0, "no snapshot of the group taken; every origin resumed with its old table");
		return r < 0 ? fail(0, "%s: no snapshot taken; %s resumed with its old table", p->snapname, p->name) : r;
	}
	close_window(&saved);
	for (size_t i = 0; i < n; i++) {
		p[i].snap_major = info[i].major;
		p[i].snap_minor = info[i].minor;
		node_or_warn(p[i].snapname, &info[i]);
	}
	free(info);
	if (verbose)
		warn(0, "%s%s suspended for %ld.%03ld ms", n > 1 ? "the group's origins were" : p->name,
		     n > 1 ? "" : " was", us / 1000, us % 1000);
	return EXIT_OK;
}

/*
 * After the switch, what the kernel holds is what snap made: NAME carries
 * snapshot-origin and the snapshot is live over NAME_dup.  Anything else
 * (a command that bypassed the lock) is said loudly.
 */
static int check_snapped(int fd, struct world *w, struct wrapper *wr, void *arg)
{
	const char *snapname = arg;
	int found = 0;

	(void)fd, (void)w;
	for (size_t i = 0; i < wr->nsnaps; i++)
		found |= !strcmp(wr->snaps[i]->name, snapname) && wr->snaps[i]->live_params &&
			 !(wr->snaps[i]->info.flags & DM_SUSPEND_FLAG);
	if (wr->mode != MODE_ORIGIN || !found)
		return fail(0, "%s: after the switch %s is %s and %s %s: something changed it behind dmsnap's back; 'dmsnap show %s'",
			    snapname, wr->top->name, mode_word(wr->mode), snapname, found ? "is live" : "is not live",
			    wr->top->name);
	return EXIT_OK;
}

/* look, plan, act under dmsnap's lock: the whole snap of p[0..n) once its arguments are parsed. */
int take_snapshot(int fd, struct snap_plan *p, size_t n)
{
	size_t i;
	int r;

	if (lock_or_fail(fd))
		return EXIT_FAIL;
	r = check_group(fd, p, n);
	for (i = 0; r == EXIT_OK && i < n; i++)
		r = prepare_snap(fd, &p[i]);
	if (r == EXIT_OK)
		r = act_snap(fd, p, n);
	for (i = 0; r == EXIT_OK && i < n; i++)
		r = on_wrapper(fd, p[i].name, check_snapped, p[i].snapname);
	for (i = 0; i < n; i++) {
		close_cow(&p[i].cow);
		if (p[i].cow.record_fd >= 0)
			close(p[i].cow.record_fd);
		p[i].cow.record_fd = -1;
	}
	lock_release(fd);
	return r;
}

int cmd_snap(int argc, char **argv)
{
	struct snap_plan *p;
	size_t n;
	int help, fd, r;

	if ((r = parse_snap_args(argc, argv, &p, &n, &help)) || help) {
		free(p);
		return r;
	}
	if ((fd = need_control()) < 0)
		r = EXIT_FAIL;
	/* A stop signal is noted, cleaned up after, and said: never a half-made snapshot. */
	catch_stop_signals();
	if (!r && !(r = take_snapshot(fd, p, n))) {
		for (size_t i = 0; i < n; i++)
			printf("%s/%s\n", DM_DIR, p[i].snapname);
		for (size_t i = 0; i < n && stop_pending(); i++)
			r = fail(0, "interrupted after the snapshot was complete: %s stays ('dmsnap drop %s %s' removes it)",
				 p[i].snapname, p[i].name, p[i].snapname);
	}
	free(p);
	return r;
}

/* ---- drop ---- */

/*
 * Before its snapshot goes, a store is marked as dropped: should this drop
 * be cut short before the header is cleared, the next snap reuses the COW
 * and a reboot does not bring the snapshot back.
 */
static void mark_dropping(struct dev **drop, size_t n, const struct wrapper *wr)
{
	for (size_t i = 0; i < n; i++) {
		int r = mark_cow(drop[i]->live_params, wr->sectors, wr->top->name, COW_DROPPING);
		if (r < 0 && r != -ENOSPC && r != -EINVAL && verbose)
			warn(r, "%s: marking its COW as dropped:", drop[i]->name);
	}
}

/*
 * Last snapshot gone: NAME goes back to linear.  The linear table is loaded
 * first; NAME is suspended without a filesystem freeze (nothing needs to be
 * consistent), the snapshots go, NAME resumes with linear swapped in.
 * Nothing is printed while NAME is suspended: stderr may be a file on it.
 */
static int drop_last(int fd, const struct wrapper *wr, struct dev **drop, size_t n)
{
	struct target_line line;
	int r, failed = 0, *err;
	sigset_t saved;

	if (!(err = calloc(n ? n : 1, sizeof *err)))
		return fail(-ENOMEM, "%s:", wr->top->name);
	build_linear(&line, wr->sectors, wr->base_major, wr->base_minor);
	if ((r = dm_load(fd, wr->top->name, &line.t, 1, 0)) < 0) {
		free(err);
		return dm_fail(r, DM_TABLE_LOAD_CMD, wr->top->name);
	}
	fflush(stdout);
	warn_window(open_window(&saved));
	if ((r = dm_suspend(fd, wr->top->name, DM_SKIP_LOCKFS_FLAG)) < 0) {
		dm_clear(fd, wr->top->name);
		close_window(&saved);
		free(err);
		return dm_fail(r, DM_DEV_SUSPEND_CMD, wr->top->name);
	}
	for (size_t i = 0; i < n; i++)
		failed += (err[i] = remove_device(fd, drop[i]->name, REMOVE_TRIES, 0)) < 0;
	/* A snapshot that would not go still needs snapshot-origin above it. */
	if (failed)
		dm_clear(fd, wr->top->name);
	int resumed = dm_resume(fd, wr->top->name, NULL), still = resumed < 0 ? ensure_resumed(fd, wr->top->name) : 0;
	close_window(&saved);
	if (resumed < 0)
		dm_warn(resumed, DM_DEV_SUSPEND_CMD, wr->top->name);
	warn_unresumed(still, wr->top->name);
	failed = 0;
	for (size_t i = 0; i < n; i++)
		removed(err[i], drop[i], 1, &failed);
	free(err);
	if (failed)
		return fail(0, "%s: %d snapshot%s could not be removed; %s keeps snapshot-origin", wr->top->name,
			    failed, failed == 1 ? "" : "s", wr->top->name);
	for (size_t i = 0; i < wr->nhelpers; i++)
		if (wr->helpers[i]->info.open_count == 0)
			removed(remove_device(fd, wr->helpers[i]->name, REMOVE_TRIES, 0), wr->helpers[i], 0, &failed);
	return failed ? EXIT_FAIL : EXIT_OK;
}

/* Which snapshots of wr go: snapname, or all; EXIT_OK with *n of them in drop. */
static int look_drop(const struct wrapper *wr, const char *snapname, struct dev **drop, size_t *n)
{
	const char *name = wr->top->name;

	*n = 0;
	if (wr->mode == MODE_MERGE)
		return fail(0, "%s is merging a snapshot back: not dropping anything", name);
	for (size_t i = 0; i < wr->nsnaps; i++)
		if (!snapname || !strcmp(snapname, wr->snaps[i]->name))
			drop[(*n)++] = wr->snaps[i];
	if (snapname && *n == 0)
		return fail(0, "%s is not a snapshot of %s ('dmsnap show %s' lists them)", snapname, name, name);
	for (size_t i = 0; i < *n; i++)
		if (refuse_open(drop[i], "nothing was dropped and the origin keeps working"))
			return EXIT_FAIL;
	return EXIT_OK;
}

/* After dropping every snapshot: NAME is linear again (unless something changed it behind our back). */
static int check_linear(int fd, struct world *w, struct wrapper *wr, void *arg)
{
	(void)fd, (void)w, (void)arg;
	if (wr->mode != MODE_LINEAR || wr->nsnaps)
		return fail(0, "%s: after the drop it is %s with %zu snapshot%s: something changed it behind dmsnap's back; 'dmsnap show %s'",
			    wr->top->name, mode_word(wr->mode), wr->nsnaps, wr->nsnaps == 1 ? "" : "s", wr->top->name);
	return EXIT_OK;
}

/* drop's look and act, under the lock; arg: the snapshot to drop, NULL for all. */
static int drop_from(int fd, struct world *w, struct wrapper *wr, void *arg)
{
	const char *name = wr->top->name, *snapname = arg;
	struct dev **drop;
	size_t n = 0;
	int r, failed = 0;

	(void)w;
	if (!(drop = calloc(wr->nsnaps + 1, sizeof *drop)))
		return fail(-ENOMEM, "%s:", name);
	if ((r = look_drop(wr, snapname, drop, &n)) == EXIT_OK) {
		mark_dropping(drop, n, wr);
		if (n == wr->nsnaps && wr->mode == MODE_ORIGIN) {
			if ((r = drop_last(fd, wr, drop, n)) == EXIT_OK)
				r = on_wrapper(fd, name, check_linear, NULL);
		} else {
			for (size_t i = 0; i < n; i++)
				removed(remove_device(fd, drop[i]->name, REMOVE_TRIES, 0), drop[i], 1, &failed);
			r = failed ? EXIT_FAIL : EXIT_OK;
		}
	}
	if (r == EXIT_OK && n == 0)
		note("%s has no snapshots", name);
	free(drop);
	return r;
}

int drop_snapshots(int fd, const char *name, const char *snapname)
{
	int r;

	if (lock_or_fail(fd))
		return EXIT_FAIL;
	r = on_wrapper(fd, name, drop_from, (void *)snapname);
	lock_release(fd);
	return r;
}

int cmd_drop(int argc, char **argv)
{
	const struct option *list = long_opts("");
	int c, fd;

	while ((c = getopt_long(argc, argv, "h", list, NULL)) != -1)
		return c == 'h' ? show_help() : usage_error();
	if (argc - optind < 1 || argc - optind > 2)
		return usage_error();
	if ((fd = need_control()) < 0)
		return EXIT_FAIL;
	return drop_snapshots(fd, argv[optind], argc - optind == 2 ? argv[optind + 1] : NULL);
}

