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

#include "dmsnap.h"

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
		ensure_resumed(fd, name);
		return EXIT_FAIL;
	}
	return EXIT_OK;
}

static int restore_linear(int fd, const struct wrapper *wr)
{
	char params[64];
	struct dm_target t = { .start = 0, .length = wr->sectors, .type = "linear", .params = params };

	fmt(params, sizeof params, "%u:%u 0", wr->base_major, wr->base_minor);
	return swap_table(fd, wr->top->name, &t);
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
	char params[96];
	struct dm_target t;
};

/* The snapshot to merge: refuse anything that would lose data or surprise a reader of NAME. */
static int look_merge(int fd, struct world *w, const struct wrapper *wr, struct merge_plan *m)
{
	struct dm_snap_status st;
	struct blockdev cow;
	int r;

	if (wr->top->info.open_count > 0)
		return fail(0, "%s is open (mounted?): a merge changes what it shows at once; unmount it first (for the root filesystem: merge from the initramfs)",
			    m->name);
	if (wr->mode != MODE_LINEAR && wr->mode != MODE_ORIGIN)
		return fail(0, "%s has a table dmsnap did not make: not merging", m->name);
	if (strchr(m->source, '/')) {
		struct cow_header h;
		if ((r = probe_blockdev(m->source, &cow)) < 0)
			return fail(r, "COW %s:", m->source);
		for (size_t i = 0; i < wr->nsnaps; i++)
			if (dm_parse_snap_table(wr->snaps[i]->live_params ? wr->snaps[i]->live_params : "", &m->tab) == 0 &&
			    m->tab.cow_major == cow.major && m->tab.cow_minor == cow.minor)
				return fail(0, "COW %s belongs to the snapshot %s: 'dmsnap merge %s %s'", m->source,
					    wr->snaps[i]->name, m->name, wr->snaps[i]->name);
		int cfd = open_exclusive(m->source, O_RDONLY);
		if (cfd < 0)
			return fail(cfd, "open COW %s:", m->source);
		r = read_cow_header(cfd, &h);
		close(cfd);
		if (r < 0 || !h.valid)
			return fail(0, "COW %s holds no valid snapshot store to merge", m->source);
		m->tab = (struct dm_snap_table){ .cow_major = cow.major, .cow_minor = cow.minor, .mode = "P",
						 .chunk = h.chunk };
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
	int r;

	if ((r = dm_load(fd, m->name, &m->t, 1, 0)) < 0)
		return dm_fail(r, DM_TABLE_LOAD_CMD, m->name);
	if (snap && (r = dm_suspend(fd, snap, DM_SKIP_LOCKFS_FLAG)) < 0) {
		dm_clear(fd, m->name);
		return dm_fail(r, DM_DEV_SUSPEND_CMD, snap);
	}
	if ((r = dm_suspend(fd, m->name, 0)) < 0 || (r = dm_resume(fd, m->name, NULL)) < 0) {
		dm_warn(r, DM_DEV_SUSPEND_CMD, m->name);
		dm_clear(fd, m->name);
		ensure_resumed(fd, m->name);
		if (snap)
			ensure_resumed(fd, snap);
		return fail(0, "%s: merge not started; nothing changed", m->name);
	}
	if (!snap)
		return EXIT_OK;
	/* The handed-over snapshot now only returns errors: it goes. */
	if ((r = dm_remove(fd, snap, 0)) < 0) {
		dm_warn(r, DM_DEV_REMOVE_CMD, snap);
		r = dm_remove(fd, snap, 0);  /* once more: the error may have passed */
	}
	if (r == 0) {
		remove_node(snap);
	} else {
		/* Suspended, it would hang whoever reads it: resume it until recover removes it. */
		ensure_resumed(fd, snap);
		warn(0, "%s: merge started; 'dmsnap recover %s' removes the old snapshot device", m->name, m->name);
	}
	return EXIT_OK;
}

/* Merge finished: NAME back to linear over DEV. */
static int finish_merge(int fd, const char *name)
{
	struct world w;
	struct wrapper wr;
	int r;

	if (scan_world(fd, &w))
		return EXIT_FAIL;
	r = find_wrapper(&w, name, &wr);
	if (r == EXIT_OK && wr.mode == MODE_MERGE && (r = restore_linear(fd, &wr)) == EXIT_OK)
		retire_cow(name, wr.top->live_params);
	world_free(&w);
	if (r == EXIT_OK)
		note("dmsnap: %s: merge complete; %s is linear again", name, name);
	return r;
}

int cmd_merge(int argc, char **argv)
{
	static const struct opt list[] = { { "wait", 'w', 0 }, { "help", 'h', OPT_SHORT }, { 0 } };
	struct merge_plan m = { 0 };
	struct world w;
	struct wrapper wr;
	struct opts o;
	int wait = 0, c, fd, r;

	opts_start(&o, list, argv);
	while ((c = get_opt(&o, argc, argv)) != -1) {
		if (c == 'w')
			wait = 1;
		else
			return c == 'h' ? (usage_of("merge"), EXIT_OK) : usage_of("merge");
	}
	if (o.nargs < 1 || o.nargs > 2)
		return usage_of("merge");
	m.name = o.args[0];
	m.source = o.nargs == 2 ? o.args[1] : NULL;
	fd = control();
	if (scan_world(fd, &w))
		return EXIT_FAIL;
	if ((r = find_wrapper(&w, m.name, &wr)) == EXIT_OK && wr.mode != MODE_MERGE) {
		if (!m.source)
			r = fail(0, "%s is not merging: name the snapshot (or COW) to merge", m.name);
		else if ((r = look_merge(fd, &w, &wr, &m)) == EXIT_OK && (r = need_target(fd, "snapshot-merge", "dm-snapshot")) == EXIT_OK) {
			fmt(m.params, sizeof m.params, "%u:%u %u:%u P %llu", wr.dup->info.major,
				 wr.dup->info.minor, m.tab.cow_major, m.tab.cow_minor, (unsigned long long)m.tab.chunk);
			m.t = (struct dm_target){ .start = 0, .length = wr.sectors, .type = "snapshot-merge",
						  .params = m.params };
			if (!m.snap)
				note("dmsnap: merging straight from %s: right only if %s was not written since its snapshot but through snapshot-origin",
				     m.source, m.name);
			r = start_merge(fd, &m);
		}
	}
	world_free(&w);
	if (r)
		return r;
	if (!wait) {
		struct dm_snap_status st;
		if ((r = read_snap_status(fd, m.name, &st)) < 0)
			warn(r, "%s: merge started, but its progress cannot be read:", m.name);
		else if (merge_done(&st))
			return finish_merge(fd, m.name);
		note("dmsnap: %s: merging in the background; 'dmsnap merge --wait %s' waits and finishes", m.name,
		     m.name);
		return EXIT_OK;
	}
	if ((r = wait_merge(fd, m.name)))
		return r;
	return finish_merge(fd, m.name);
}

/* ---- recover ---- */

/* What recover found and did, on stdout; returns 1: one repair done. */
static int says(const char *name, const char *what)
{
	out("%s: %s\n", name, what);
	out_flush();
	return 1;
}

static int is_empty_leftover(const struct dev *d, const char *name)
{
	size_t n = strlen(name);

	return !d->live_params && !d->inactive_params &&
	       ((!strncmp(d->name, name, n) && !strncmp(d->name + n, "_snap", 5)) ||
		!strncmp(d->info.uuid, SNAP_UUID_PREFIX, strlen(SNAP_UUID_PREFIX)));
}

static int remove_or_warn(int fd, const char *name)
{
	int r = remove_device(fd, name, REMOVE_TRIES, 0);

	if (r < 0)
		dm_warn(r, DM_DEV_REMOVE_CMD, name);
	else
		remove_node(name);
	return r;
}

/* A snapshot no one can trust or use: it goes, and so does its COW's header. */
static int remove_snapshot(int fd, const struct dev *s)
{
	int r = remove_or_warn(fd, s->name);

	if (r == 0)
		retire_cow(s->name, s->live_params ? s->live_params : s->inactive_params);
	return r;
}

/* NAME's inactive table says what was under way when dmsnap stopped. */
static int fix_inactive(int fd, const struct wrapper *wr)
{
	const struct dev *top = wr->top;
	const char *name = top->name, *type = top->inactive.type;
	int suspended = top->info.flags & DM_SUSPEND_FLAG, live_snaps = 0;

	for (size_t i = 0; i < wr->nsnaps; i++)
		live_snaps += wr->snaps[i]->live_params && !(wr->snaps[i]->info.flags & DM_SUSPEND_FLAG);
	if (!strcmp(type, "snapshot-origin") && wr->mode == MODE_LINEAR && suspended && live_snaps) {
		dm_resume(fd, name, NULL);
		return says(name, "snap was stopped after the snapshot went live: switched to snapshot-origin (snapshot complete)");
	}
	if (!strcmp(type, "linear") && wr->mode == MODE_ORIGIN && wr->nsnaps == 0) {
		dm_resume(fd, name, NULL);
		return says(name, "drop was stopped after the snapshots went: back to linear");
	}
	dm_clear(fd, name);
	if (suspended)
		dm_resume(fd, name, NULL);
	char what[96];
	fmt(what, sizeof what, "cleared an unfinished %s table (that operation did not happen)", type);
	return says(name, what);
}

/* One repair, the most urgent first; 0 when there is nothing left to do, -1 when a repair failed. */
static int fix_one(int fd, struct world *w, const struct wrapper *wr)
{
	const struct dev *top = wr->top;
	const char *name = top->name;
	struct dm_snap_status st;

	if (top->info.flags & DM_INACTIVE_PRESENT_FLAG)
		return fix_inactive(fd, wr);
	if (top->info.flags & DM_SUSPEND_FLAG) {
		if (dm_resume(fd, name, NULL) < 0)
			return ensure_resumed(fd, name), -1;
		return says(name, "was left suspended: resumed");
	}
	for (size_t i = 0; i < wr->nsnaps; i++) {
		const struct dev *s = wr->snaps[i];
		if (!s->live_params)
			return remove_snapshot(fd, s) < 0 ? -1
				: says(s->name, "never went live (snap was stopped): removed");
		if (wr->mode == MODE_MERGE)
			return remove_or_warn(fd, s->name) < 0 ? -1
				: says(s->name, "was handed over to the merge: removed");
		if (wr->mode == MODE_LINEAR)
			return remove_snapshot(fd, s) < 0 ? -1
				: says(s->name, "went live but its origin never switched to snapshot-origin, so writes bypassed it: removed");
		if (s->info.flags & DM_SUSPEND_FLAG) {
			dm_resume(fd, s->name, NULL);
			return says(s->name, "was left suspended: resumed");
		}
	}
	for (size_t i = 0; i < w->n; i++)
		if (is_empty_leftover(&w->d[i], name))
			return remove_or_warn(fd, w->d[i].name) < 0 ? -1
				: says(w->d[i].name, "had no table (snap was stopped): removed");
	if (wr->mode == MODE_ORIGIN && wr->nsnaps == 0)
		return restore_linear(fd, wr) ? -1 : says(name, "snapshot-origin without snapshots: back to linear");
	if (wr->mode == MODE_MERGE && read_snap_status(fd, name, &st) == 0 && merge_done(&st))
		return restore_linear(fd, wr) ? -1 : says(name, "merge had finished: back to linear");
	if (wr->mode == MODE_LINEAR)
		for (size_t i = 0; i < wr->nhelpers; i++)
			if (wr->helpers[i]->info.open_count == 0)
				return remove_or_warn(fd, wr->helpers[i]->name) < 0 ? -1
					: says(wr->helpers[i]->name, "helper snapshot-origin device: removed");
	return 0;
}

static int recover_one(int fd, const char *name)
{
	int acted = 0, r = 1;

	for (int round = 0; r > 0 && round < RECOVER_ROUNDS; round++) {
		struct world w;
		struct wrapper wr;
		if (scan_world(fd, &w))
			return EXIT_FAIL;
		if (find_wrapper(&w, name, &wr)) {
			world_free(&w);
			return EXIT_FAIL;
		}
		r = fix_one(fd, &w, &wr);
		if (r == 0 && wr.mode == MODE_MERGE)
			says(name, "a merge is running: 'dmsnap merge --wait NAME' waits for it and finishes");
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

int cmd_recover(int argc, char **argv)
{
	struct world w;
	int fd, failed = 0;

	if (argc == 2 && !strcmp(argv[1], "--help"))
		return usage_of("recover"), EXIT_OK;
	if (argc > 2)
		return usage_of("recover");
	fd = control();
	if (argc == 2)
		return recover_one(fd, argv[1]);
	if (scan_world(fd, &w))
		return EXIT_FAIL;
	size_t n = 0;
	for (size_t i = 0; i < w.n; i++) {
		struct wrapper wr;
		char dup[DM_NAME_LEN + 8];
		dup_name(w.d[i].name, dup, sizeof dup);
		if (!find_dev(&w, dup))
			continue;
		if (find_wrapper(&w, w.d[i].name, &wr) == EXIT_OK) {
			n++;
			failed += recover_one(fd, w.d[i].name) != EXIT_OK;
		}
	}
	world_free(&w);
	if (scan_world(fd, &w))
		return EXIT_FAIL;
	for (size_t i = 0; i < w.n; i++)
		if (w.d[i].info.flags & DM_SUSPEND_FLAG)
			warn(0, "%s is suspended and not dmsnap's: 'dmsnap resume %s' if nobody is working on it",
			     w.d[i].name, w.d[i].name);
	world_free(&w);
	if (n == 0)
		out("no wrapped devices\n");
	if (failed)
		return fail(0, "%d of %zu wrapped devices could not be recovered", failed, n);
	return EXIT_OK;
}
