/*
 * merge.c - rollback (merge a snapshot back into its origin) and recover
 * (repair whatever a killed dmsnap or a half-typed walkthrough left).
 *
 * Merge follows the kernel's snapshot.rst handover: NAME gets a
 * snapshot-merge table on the snapshot's COW; the snapshot is suspended so
 * that the new table can take its exceptions over when NAME resumes; the
 * old snapshot device then only returns errors and goes.  The kernel copies
 * chunks back in the background; when the COW holds nothing but metadata
 * (used == metadata) NAME returns to linear.
 */
#define _GNU_SOURCE
#include <errno.h>
#include <signal.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>
#include <fcntl.h>

#include <getopt.h>
#include <stdio.h>

#include "cli.h"
#include "cowdev.h"
#include "grow.h"
#include "device.h"
#include "faults.h"
#include "lock.h"
#include "merge.h"
#include "probe.h"
#include "targets.h"
#include "window.h"
#include "world.h"

#define MERGE_STALL_SECONDS 60  /* no progress for this long: stop waiting, the kernel goes on */
#define RECOVER_ROUNDS      16  /* each round fixes one thing; a bound against a state that will not settle */

static int merge_done(const struct dm_snap_status *st)
{
	return st->state == DM_SNAP_ACTIVE && st->used == st->metadata;
}

/* Loads table t into name's inactive slot and swaps it in; without a freeze, nothing needs one. */
static int swap_table(int fd, const char *name, const struct dm_target *t)
{
	int r;

	if ((r = dm_load(fd, name, t, 1, 0)) < 0)
		return dm_fail(r, DM_TABLE_LOAD_CMD, name);
	if ((r = dm_suspend(fd, name, DM_SKIP_LOCKFS_FLAG)) < 0) {
		dm_clear(fd, name);
		return dm_fail(r, DM_DEV_SUSPEND_CMD, name);
	}
	if ((r = dm_resume(fd, name, NULL)) < 0) {
		dm_warn(r, DM_DEV_SUSPEND_CMD, name);
		dm_clear(fd, name);
		warn_unresumed(ensure_resumed(fd, name), name);
		return EXIT_FAIL;
	}
	return EXIT_OK;
}

static int restore_linear(int fd, const struct wrapper *wr)
{
	struct target_line line;

	build_linear(&line, wr->sectors, wr->base_major, wr->base_minor);
	return swap_table(fd, wr->top->name, &line.t);
}

/* ---- merge ---- */

static void show_progress(const char *name, unsigned permille, int tty)
{
	if (quiet)
		return;
	if (tty) {
		int bar = (int)(permille / 25);  /* 40 columns */
		errf("\r%s: merging [%-40.*s] %3u.%u%%", name, bar,
			"########################################", permille / 10, permille % 10);
	} else {
		errf("%s: merged %u.%u%%\n", name, permille / 10, permille % 10);
	}
}

/* Waits until the kernel has copied everything back; EXIT_OK when done. */
static int wait_merge(int fd, const char *name)
{
	struct dm_snap_status st;
	int tty = isatty(2), r;
	uint64_t start = 0, last = UINT64_MAX;
	time_t progress_at = time(NULL), printed = 0;

	for (;;) {
		if ((r = read_snap_status(fd, name, &st)) < 0)
			return fail(r, "%s: read merge status:", name);
		if (st.state != DM_SNAP_ACTIVE)
			return fail(0, "%s: merge failed (status '%s'); 'dmesg' says why", name,
				    st.state == DM_SNAP_MERGE_FAILED ? "Merge failed" : "Invalid");
		uint64_t left = st.used - st.metadata;
		if (!start)
			start = left ? left : 1;
		if (left < last) {
			last = left;
			progress_at = time(NULL);
		}
		if (tty || time(NULL) - printed >= 5 || left == 0) {
			show_progress(name, (unsigned)(1000 - left * 1000 / start), tty);
			printed = time(NULL);
		}
		if (left == 0)
			break;
		if (time(NULL) - progress_at > MERGE_STALL_SECONDS) {
			if (tty)
				errf("\n");
			return fail(0, "%s: no merge progress for %d s; the kernel goes on: run 'dmsnap merge %s --wait' later",
				    name, MERGE_STALL_SECONDS, name);
		}
		nanosleep(&(struct timespec){ 0, 250 * 1000 * 1000 }, NULL);
	}
	if (tty && !quiet)
		errf("\n");
	return EXIT_OK;
}

struct merge_plan {
	const char *name, *source;   /* source: a snapshot name or a COW path */
	struct dev *snap;            /* NULL when merging straight from a COW */
	struct dm_snap_table tab;
	struct target_line line;     /* snapshot-merge, for NAME */
	enum cow_state was;          /* the COW's record before the merge */
	int recorded;                /* the record says merging */
	struct cow_layout layout;    /* a grown COW's members, reassembled (layout.n > 1) */
	char cowname[DM_NAME_LEN];   /* and its device, once made */
};

/*
 * Merging straight from a COW (after a reboot): a valid store, not another
 * snapshot's, and (when it has dmsnap's record) NAME's.  Checked through one
 * descriptor; the table names the device checked by its number.
 */
static int look_merge_cow(const struct wrapper *wr, struct merge_plan *m)
{
	struct cow_record rec, origin;
	struct cow_header h;
	struct blockdev cow;
	char want[256], got[256];
	int fd, r;

	if ((fd = open_exclusive(m->source, O_RDONLY)) < 0)
		return fail(fd, "open COW %s:", m->source);
	if ((r = probe_fd(fd, &cow)) < 0) {
		close(fd);
		return fail(r, "COW %s:", m->source);
	}
	for (size_t i = 0; i < wr->nsnaps; i++) {
		struct dm_snap_table t;
		if (wr->snaps[i]->live_params && dm_parse_snap_table(wr->snaps[i]->live_params, &t) == 0 &&
		    t.cow_major == cow.major && t.cow_minor == cow.minor) {
			close(fd);
			return fail(0, "COW %s belongs to the snapshot %s: 'dmsnap merge %s %s'", m->source,
				    wr->snaps[i]->name, m->name, wr->snaps[i]->name);
		}
	}
	drop_cache(fd);
	r = read_cow_header(fd, &h);
	int has_rec = r == 0 && h.valid && record_read(fd, h.chunk, &rec) == 0;
	close(fd);
	if (r < 0 || !h.valid)
		return fail(0, "COW %s holds no valid snapshot store to merge", m->source);
	m->tab = (struct dm_snap_table){ .cow_major = cow.major, .cow_minor = cow.minor, .mode = "P", .chunk = h.chunk };
	m->was = has_rec ? rec.state : COW_SNAPSHOT;
	if (!has_rec) {
		note("COW %s has no dmsnap record (made by hand?): merging on its chunk size alone", m->source);
		return EXIT_OK;
	}
	origin_identity(wr->base_major, wr->base_minor, wr->sectors, m->name, &origin);
	describe_record(&origin, want, sizeof want);
	describe_record(&rec, got, sizeof got);
	if (!record_matches(&rec, &origin))
		return fail(0, "COW %s belongs to %s, not to %s: not merging it", m->source, got, want);
	if (rec.state == COW_DROPPING)
		return fail(0, "COW %s held a snapshot that was dropped: nothing to merge", m->source);
	struct cow_choice c = { .path = m->source, .origin = m->name, .dev = cow, .reattach = 1, .rec = rec };
	return assemble_cow(&c, wr, &m->layout);
}

/* A grown COW merges through its reassembled device, made here and named in the merge's table. */
static int stage_grown_cow(int fd, struct merge_plan *m)
{
	struct dm_info info;
	enum dm_cmd failed;
	int r;

	if (m->layout.n < 2)
		return EXIT_OK;
	char snap[DM_NAME_LEN];

	snprintf(snap, sizeof snap, "%s_snap", m->name);
	if ((r = cowdev_create(fd, snap, &m->layout, &info, &failed)) < 0)
		return dm_fail(r, failed, m->name);
	cowdev_name(snap, m->cowname, sizeof m->cowname);
	m->tab.cow_major = info.major;
	m->tab.cow_minor = info.minor;
	return EXIT_OK;
}

/* The snapshot to merge: refuse anything that would lose data or surprise a reader of NAME. */
static int look_merge(int fd, struct world *w, const struct wrapper *wr, struct merge_plan *m)
{
	struct dm_snap_status st;
	int r;

	if (wr->top->info.open_count > 0)
		return fail(0, "%s is open (mounted?): a merge changes what it shows at once; unmount it first (for the root filesystem: merge from the initramfs)",
			    m->name);
	if (strchr(m->source, '/')) {
		if ((r = look_merge_cow(wr, m)))
			return r;
	} else {
		for (size_t i = 0; i < wr->nsnaps; i++)
			if (!strcmp(wr->snaps[i]->name, m->source))
				m->snap = wr->snaps[i];
		if (!m->snap)
			return fail(0, "%s is not a snapshot of %s ('dmsnap show %s' lists them)", m->source, m->name,
				    m->name);
		if (m->snap->info.open_count > 0)
			return fail(0, "%s is open (mounted?): unmount it first", m->source);
		if (!m->snap->live_params || dm_parse_snap_table(m->snap->live_params, &m->tab) < 0)
			return fail(0, "%s is not an active snapshot: 'dmsnap recover %s' first", m->source, m->name);
		m->was = COW_SNAPSHOT;
		if (!strcmp(m->tab.mode, "N"))
			return fail(0, "%s is transient (-n): the kernel merges only persistent snapshots", m->source);
		if ((r = read_snap_status(fd, m->source, &st)) < 0 || st.state != DM_SNAP_ACTIVE)
			return fail(0, "%s is %s: nothing trustworthy to merge", m->source,
				    r < 0 ? "unreadable" : "invalid");
	}
	if (wr->nsnaps > (m->snap ? 1u : 0u))
		return fail(0, "%s has other snapshots: drop them first (a merge rewrites the origin under them)",
			    m->name);
	(void)w;
	return EXIT_OK;
}

/* Hand the snapshot's exceptions over to snapshot-merge on NAME. */
static int start_merge(int fd, const struct merge_plan *m)
{
	const char *snap = m->snap ? m->snap->name : NULL;
	sigset_t saved;
	int r, removed;

	if ((r = dm_load(fd, m->name, &m->line.t, 1, 0)) < 0)
		return dm_fail(r, DM_TABLE_LOAD_CMD, m->name);
	/* Signals wait: a merge stopped between these steps would leave a snapshot suspended for good. */
	fflush(stdout);
	open_window(&saved);
	if (snap && (r = dm_suspend(fd, snap, DM_SKIP_LOCKFS_FLAG)) < 0) {
		dm_clear(fd, m->name);
		close_window(&saved);
		return dm_fail(r, DM_DEV_SUSPEND_CMD, snap);
	}
	fault_pause("merge-switch");
	if ((r = dm_suspend(fd, m->name, 0)) < 0 || (r = dm_resume(fd, m->name, NULL)) < 0) {
		dm_clear(fd, m->name);
		int still = ensure_resumed(fd, m->name), snap_still = snap ? ensure_resumed(fd, snap) : 0;
		close_window(&saved);
		dm_warn(r, DM_DEV_SUSPEND_CMD, m->name);
		warn_unresumed(still, m->name);
		warn_unresumed(snap_still, snap);
		return fail(0, "%s: merge not started; nothing changed", m->name);
	}
	/* The handed-over snapshot now only returns errors: it goes (once more if it would not: the error may pass). */
	removed = r = snap ? remove_device(fd, snap, REMOVE_TRIES, 0) : 0;
	if (r < 0)
		r = remove_device(fd, snap, REMOVE_TRIES, 0);
	/* Suspended, it would hang whoever reads it: resume it until recover removes it. */
	int snap_still = r < 0 ? ensure_resumed(fd, snap) : 0;
	close_window(&saved);
	if (removed < 0)
		dm_warn(removed, DM_DEV_REMOVE_CMD, snap);
	if (r < 0) {
		warn_unresumed(snap_still, snap);
		warn(0, "%s: merge started; 'dmsnap recover %s' removes the old snapshot device", m->name, m->name);
	}
	return EXIT_OK;
}

/* Merge finished: NAME back to linear over DEV. */
static int finish_merging(int fd, struct world *w, struct wrapper *wr, void *arg)
{
	const char *name = wr->top->name;
	char cow[128];
	int r = EXIT_OK, retired;

	(void)w, (void)arg;
	if (wr->mode == MODE_MERGE && (r = restore_linear(fd, wr)) == EXIT_OK &&
	    (retired = release_cow(fd, wr->top->live_params, RETIRE_STORE, cow, sizeof cow)) < 0)
		warn(retired, "%s: removing or clearing its COW %s met an error ('dmsnap recover' removes what stays; the next snap on it may need --force):",
		     name, cow);
	if (r == EXIT_OK)
		note("%s: merge complete; %s is linear again", name, name);
	return r;
}

static int finish_merge(int fd, const char *name)
{
	int r;

	if (lock_or_fail(fd))
		return EXIT_FAIL;
	r = on_wrapper(fd, name, finish_merging, NULL);
	lock_release(fd);
	return r;
}

/* After the handover NAME carries snapshot-merge, or something changed it behind dmsnap's back. */
static int check_merging(int fd, struct world *w, struct wrapper *wr, void *arg)
{
	(void)fd, (void)w, (void)arg;
	if (wr->mode != MODE_MERGE)
		return fail(0, "%s: after the handover it is %s, not merging: something changed it behind dmsnap's back",
			    wr->top->name, mode_word(wr->mode));
	return EXIT_OK;
}

/*
 * Before the handover the COW says a merge is under way: after a power cut
 * the boot continues the merge instead of mounting a half-merged origin.
 */
static int record_merge(struct merge_plan *m, uint64_t sectors)
{
	int r = mark_cow(m->line.params, sectors, m->name, COW_MERGING);

	if (r == -ENOSPC) {
		note("%s: its chunk leaves no room for dmsnap's record: a reboot before the merge ends will not continue it",
		     m->name);
		return EXIT_OK;
	}
	if (r < 0)
		return fail(r, "%s: recording the merge on its COW (nothing changed):", m->name);
	m->recorded = 1;
	return EXIT_OK;
}

/* look and plan from one reading of the state, then hand the snapshot over. */
static int begin_merge(int fd, struct merge_plan *m)
{
	struct world w;
	struct wrapper wr;
	int r;

	if (scan_or_fail(fd, &w, 0))
		return EXIT_FAIL;
	if ((r = wrapper_or_fail(&w, m->name, &wr))) {
		world_free(&w);
		return r;
	}
	if (wr.mode == MODE_MERGE)
		r = EXIT_OK;  /* already merging: only the waiting is left */
	else if (!m->source)
		r = fail(0, "%s is not merging: name the snapshot (or COW) to merge", m->name);
	else if ((r = look_merge(fd, &w, &wr, m)) == EXIT_OK &&
		 (r = require_target(fd, "snapshot-merge", "dm-snapshot")) == EXIT_OK &&
		 (r = stage_grown_cow(fd, m)) == EXIT_OK) {
		struct dm_snap_table s = { .origin_major = wr.dup->info.major, .origin_minor = wr.dup->info.minor,
					   .cow_major = m->tab.cow_major, .cow_minor = m->tab.cow_minor,
					   .mode = "P", .chunk = m->tab.chunk };
		build_snapshot(&m->line, "snapshot-merge", wr.sectors, &s);
		if (!m->snap)
			note("merging straight from %s: right only if %s was not written since its snapshot but through snapshot-origin",
			     m->source, m->name);
		if ((r = record_merge(m, wr.sectors)) == EXIT_OK && (r = start_merge(fd, m)) == EXIT_OK)
			r = on_wrapper(fd, m->name, check_merging, NULL);
		else if (r == EXIT_OK || m->recorded)
			mark_cow(m->line.params, wr.sectors, m->name, m->was);
		if (r != EXIT_OK && m->cowname[0])
			cowdev_remove(fd, m->cowname, KEEP_STORE, m->cowname, sizeof m->cowname);
	}
	wrapper_free(&wr);
	world_free(&w);
	return r;
}

int cmd_merge(int argc, char **argv)
{
	const struct option *list = long_opts("w wait\0");
	struct merge_plan m = { 0 };
	int wait = 0, c, fd, r;

	while ((c = getopt_long(argc, argv, "h", list, NULL)) != -1) {
		if (c == 'w')
			wait = 1;
		else
			return c == 'h' ? show_help() : usage_error();
	}
	if (argc - optind < 1 || argc - optind > 2)
		return usage_error();
	m.name = argv[optind];
	m.source = argc - optind == 2 ? argv[optind + 1] : NULL;
	if ((fd = need_control()) < 0 || lock_or_fail(fd))
		return EXIT_FAIL;
	r = begin_merge(fd, &m);
	lock_release(fd);
	if (r)
		return r;
	if (!wait) {
		struct dm_snap_status st;
		if ((r = read_snap_status(fd, m.name, &st)) < 0)
			warn(r, "%s: merge started, but its progress cannot be read:", m.name);
		else if (merge_done(&st))
			return finish_merge(fd, m.name);
		note("%s: merging in the background; 'dmsnap merge --wait %s' waits and finishes", m.name,
		     m.name);
		return EXIT_OK;
	}
	if ((r = wait_merge(fd, m.name)))
		return r;
	return finish_merge(fd, m.name);
}

/* ---- recover ---- */

/* What recover found and did, on stdout. */
static void says(const char *name, const char *what)
{
	printf("%s: %s\n", name, what);
	fflush(stdout);
}

/* Carries out one planned repair; 0 done, -1 it failed (and said why). */
static int repair(int fd, const struct wrapper *wr, const struct repair *rp)
{
	const char *name = rp->dev->name;
	char cow[128], what[160];
	int r;

	switch (rp->kind) {
	case REPAIR_NONE:
		return 0;
	case REPAIR_SWAP_IN_ORIGIN:
	case REPAIR_SWAP_IN_LINEAR:
		dm_resume(fd, name, NULL);
		break;
	case REPAIR_CLEAR_INACTIVE:
		dm_clear(fd, name);
		if (rp->dev->info.flags & DM_SUSPEND_FLAG)
			dm_resume(fd, name, NULL);
		snprintf(what, sizeof what, "cleared an unfinished %s table %s", rp->dev->inactive.type, rp->why);
		says(name, what);
		return 0;
	case REPAIR_RESUME:
		if ((r = dm_resume(fd, name, NULL)) < 0) {
			if (rp->dev != wr->top)
				dm_warn(r, DM_DEV_SUSPEND_CMD, name);
			else if ((r = ensure_resumed(fd, name)) < 0)
				warn(r, "%s is still SUSPENDED and I/O to it is blocked; run 'dmsnap resume %s' now:",
				     name, name);
			return -1;
		}
		break;
	case REPAIR_REMOVE_COW:
		if ((r = cowdev_remove(fd, name, RETIRE_UNLESS_KEPT, cow, sizeof cow)) < 0) {
			warn(r, "%s: removing it met an error:", name);
			return -1;
		}
		break;
	case REPAIR_REMOVE:
	case REPAIR_REMOVE_RETIRE:
		if ((r = remove_device(fd, name, REMOVE_TRIES, 0)) < 0) {
			dm_warn(r, DM_DEV_REMOVE_CMD, name);
			return -1;
		}
		/* A snapshot's COW device goes with it (unless a merge holds it); a new store is retired. */
		if ((r = release_cow(fd, rp->dev->live_params ? rp->dev->live_params : rp->dev->inactive_params,
				     rp->kind == REPAIR_REMOVE ? KEEP_STORE : RETIRE_STORE, cow, sizeof cow)) < 0)
			warn(r, "%s: removing or clearing its COW %s met an error ('dmsnap recover' removes what stays; the next snap on it may need --force):",
			     name, cow);
		break;
	case REPAIR_TO_LINEAR:
		if (restore_linear(fd, wr))
			return -1;
		/* A finished merge's store is done with: the next snap takes the COW as blank. */
		if (wr->mode == MODE_MERGE && (r = release_cow(fd, wr->top->live_params, RETIRE_STORE, cow, sizeof cow)) < 0)
			warn(r, "%s: removing or clearing its COW %s met an error ('dmsnap recover' removes what stays; the next snap on it may need --force):",
			     name, cow);
		break;
	}
	says(name, rp->why);
	return 0;
}

/* Repairs one at a time, reading the state afresh after each, until none is left. */
static int recover_one(int fd, const char *name)
{
	int acted = 0, r = 1;

	for (int round = 0; r > 0 && round < RECOVER_ROUNDS; round++) {
		struct world w;
		struct wrapper wr;
		struct repair rp;
		if (scan_or_fail(fd, &w, WITH_STATUS))
			return EXIT_FAIL;
		if (wrapper_or_fail(&w, name, &wr)) {
			world_free(&w);
			return EXIT_FAIL;
		}
		r = plan_repair(&w, &wr, &rp) == REPAIR_NONE ? 0 : repair(fd, &wr, &rp) < 0 ? -1 : 1;
		if (r == 0 && wr.mode == MODE_MERGE)
			says(name, "a merge is running: 'dmsnap merge --wait NAME' waits for it and finishes");
		wrapper_free(&wr);
		world_free(&w);
		acted += r > 0;
	}
	if (r < 0)
		return fail(0, "%s: recovery incomplete (see above)", name);
	if (r > 0)
		return fail(0, "%s: still changing after %d repairs; run recover again", name, RECOVER_ROUNDS);
	if (!acted)
		says(name, "consistent, nothing to do");
	return EXIT_OK;
}

/* Every wrapper in turn; a failure is said and counted, and the others go on. */
static int recover_all(int fd)
{
	struct world w;
	struct wrapper wr;
	size_t n = 0;
	int failed = 0;

	if (scan_or_fail(fd, &w, 0))
		return EXIT_FAIL;
	for (size_t i = 0; i < w.n; i++)
		if (!is_dup_name(w.d[i].name) && identify_wrapper(&w, w.d[i].name, &wr) == 0) {
			wrapper_free(&wr);
			n++;
			failed += recover_one(fd, w.d[i].name) != EXIT_OK;
		}
	world_free(&w);
	if (scan_or_fail(fd, &w, 0))
		return EXIT_FAIL;
	for (size_t i = 0; i < w.n; i++)
		if (w.d[i].info.flags & DM_SUSPEND_FLAG)
			warn(0, "%s is suspended and not dmsnap's: 'dmsnap resume %s' if nobody is working on it",
			     w.d[i].name, w.d[i].name);
	world_free(&w);
	if (n == 0)
		printf("no wrapped devices\n");
	if (failed)
		return fail(0, "%d of %zu wrapped devices could not be recovered", failed, n);
	return EXIT_OK;
}

int cmd_recover(int argc, char **argv)
{
	const struct option *list = long_opts("");
	int c, fd, r;

	while ((c = getopt_long(argc, argv, "h", list, NULL)) != -1)
		return c == 'h' ? show_help() : usage_error();
	if (argc - optind > 1)
		return usage_error();
	if ((fd = need_control()) < 0 || lock_or_fail(fd))
		return EXIT_FAIL;
	r = argc - optind == 1 ? recover_one(fd, argv[optind]) : recover_all(fd);
	lock_release(fd);
	return r;
}
