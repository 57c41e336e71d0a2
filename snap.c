/*
 * snap.c - the snapshot lifecycle: wrap, snap, drop, unwrap (snap.h).
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
#include <sys/stat.h>
#include <sys/sysmacros.h>
#include <unistd.h>

#include "cli.h"
#include "device.h"
#include "faults.h"
#include "lock.h"
#include "snap.h"
#include "util.h"
#include "window.h"
#include "world.h"

#define DEFAULT_CHUNK   32       /* sectors, as the walkthrough and LVM use */
#define MAX_CHUNK       (1u << 21)  /* the kernel's limit: INT_MAX bytes */

/* ---- small shared steps ---- */

static void warn_unresumed(int r, const char *name)
{
	if (r < 0)
		warn(r, "%s is still SUSPENDED and I/O to it is blocked; run 'dmsnap resume %s' now:", name, name);
}

static void warn_window(int r)
{
	if (r < 0 && verbose)
		warn(r, "mlockall (carrying on unlocked):");
}

static void close_cow(struct snap_plan *p)
{
	if (p->cow_fd >= 0)
		close(p->cow_fd);
	p->cow_fd = -1;
}

/*
 * The checked COW, opened again through its descriptor (so the very same
 * device) without the exclusive claim the kernel is about to take.
 */
static int reopen_cow(struct snap_plan *p)
{
	char path[64];
	struct blockdev bd;
	int r;

	snprintf(path, sizeof path, "/proc/self/fd/%d", p->cow_fd);
	if ((p->record_fd = open(path, O_RDWR | O_CLOEXEC)) < 0)
		return -errno;
	if ((r = probe_fd(p->record_fd, &bd)) == 0 && (bd.major != p->cow.major || bd.minor != p->cow.minor))
		r = -ENODEV;
	return r;
}

/* Once the kernel has written the new store's header: dmsnap's record beside it. */
static int write_record(struct snap_plan *p)
{
	struct cow_header h;
	struct cow_record rec = p->origin_id;
	int r;

	drop_cache(p->record_fd);
	if ((r = read_cow_header(p->record_fd, &h)) < 0)
		return r;
	if (!h.valid || h.chunk != p->chunk)
		return -EIO;  /* not the header the kernel should have written */
	rec.state = COW_SNAPSHOT;
	rec.chunk = (uint32_t)p->chunk;
	return record_write(p->record_fd, &rec);
}

/* ---- wrap ---- */

static const char *base_name(const char *path)
{
	const char *slash = strrchr(path, '/');

	return slash ? slash + 1 : path;
}

static int explain_busy(const char *path, uint32_t major, uint32_t minor, const char *why)
{
	char users[USERS_LEN];

	describe_users(major, minor, users, sizeof users);
	return fail(0, "%s is %s: %s", path, users, why);
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
	if (scan_or_fail(fd, &w))
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
			return explain_busy(path, bd->major, bd->minor,
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
	static const struct option list[] = { { "if-missing", no_argument, NULL, 'm' },
					      { "help", no_argument, NULL, 'h' }, { 0 } };
	int if_missing = 0, c, fd, r;
	struct blockdev bd;
	char dup[DM_NAME_LEN + sizeof DUP_SUFFIX];

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
		return fail(0, "'%s' cannot name a wrapper: 1-%d printable ASCII bytes without '/' or blanks, not starting with '-' (%s%s must fit in the kernel's %d)",
			    name, DM_NAME_LEN - 1 - (int)strlen(DUP_SUFFIX), name, DUP_SUFFIX, DM_NAME_LEN - 1);
	if ((r = probe_blockdev(path, &bd)) < 0)
		return fail(r, "wrap %s:", path);
	/* device-mapper's claim on a disk blocks every partition on it: root on sda2 would not come up. */
	if (has_partitions(bd.major, bd.minor))
		return fail(0, "%s has partitions: wrapping the whole disk would lock them all; wrap the partition that holds the filesystem",
			    path);
	if ((fd = need_control()) < 0 || lock_or_fail(fd))
		return EXIT_FAIL;
	r = wrap_locked(fd, path, name, &bd, if_missing);
	lock_release(fd);
	return r;
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

static int is_power_of_two(uint64_t x)
{
	return x && !(x & (x - 1));
}

/* The COW must not be the origin, on it, or a snapshot of it. */
static int check_cow_place(const struct snap_plan *p, const struct wrapper *wr)
{
	if (stacked_on(p->cow.major, p->cow.minor, wr->base_major, wr->base_minor) ||
	    stacked_on(p->cow.major, p->cow.minor, wr->top->info.major, wr->top->info.minor) ||
	    stacked_on(p->cow.major, p->cow.minor, wr->dup->info.major, wr->dup->info.minor))
		return fail(0, "COW %s is %s itself or lies on it: the snapshot would write into what it preserves",
			    p->cow_path, p->name);
	for (size_t i = 0; i < wr->nsnaps; i++)
		if (stacked_on(p->cow.major, p->cow.minor, wr->snaps[i]->info.major, wr->snaps[i]->info.minor))
			return fail(0, "COW %s is the snapshot %s: snapshots of snapshots do not work", p->cow_path,
				    wr->snaps[i]->name);
	return EXIT_OK;
}

/* What sysfs and /proc say still uses the COW: no --force overrides these. */
static int check_cow_users(const struct snap_plan *p)
{
	if (has_partitions(p->cow.major, p->cow.minor))
		return fail(0, "COW %s has partitions: it is a disk in use, not a spare device (did you mean a partition?)",
			    p->cow_path);
	if (has_holders(p->cow.major, p->cow.minor))
		return fail(0, "COW %s is held by another device (see /sys/dev/block/%u:%u/holders): not touching it",
			    p->cow_path, p->cow.major, p->cow.minor);
	if (open_elsewhere(p->cow.major, p->cow.minor))
		return fail(0, "COW %s is open in another process (see 'fuser -v %s'): not touching it", p->cow_path,
			    p->cow_path);
	return EXIT_OK;
}

/* A store to reattach: dmsnap's record, when it has one, must say it is NAME's snapshot. */
static int check_record(const struct snap_plan *p, const struct cow_record *rec)
{
	char want[256], got[256];

	if (!rec) {
		note("dmsnap: COW %s has no dmsnap record (made by hand, or a chunk under %d sectors): reattaching on its chunk size alone",
		     p->cow_path, RECORD_MIN_CHUNK);
		return EXIT_OK;
	}
	describe_record(&p->origin_id, want, sizeof want);
	describe_record(rec, got, sizeof got);
	if (!record_matches(rec, &p->origin_id))
		return fail(0, "COW %s belongs to %s, not to %s: not reattaching it (is the configuration pairing the right COW?)",
			    p->cow_path, got, want);
	if (rec->state == COW_MERGING) {
		fail(0, "COW %s holds a merge into %s that was under way: 'dmsnap merge %s %s' continues it",
		     p->cow_path, p->name, p->name, p->cow_path);
		return EXIT_MERGING;
	}
	if (rec->state == COW_DROPPING)
		return fail(0, "COW %s held a snapshot that was being dropped: nothing to reattach (the next snap reuses it)",
			    p->cow_path);
	return EXIT_OK;
}

/* What the COW holds decides: reattach needs a valid store, a new snapshot a blank device (or --force). */
static int check_cow_content(struct snap_plan *p, const struct cow_header *h)
{
	int holds, data = holds_data(p->cow_fd, p->cow.sectors << DM_SECTOR_SHIFT);
	const char *sig = find_signature(p->cow_fd, p->cow.sectors << DM_SECTOR_SHIFT, &holds);

	struct cow_record rec;
	int has_rec = h->valid && record_read(p->cow_fd, h->chunk, &rec) == 0;

	p->cow_sig = sig;
	if (p->reattach) {
		if (!h->valid)
			return fail(0, "COW %s holds no valid snapshot store to reattach%s", p->cow_path,
				    h->present ? " (it was invalidated)" : "");
		if (p->chunk && p->chunk != h->chunk)
			return fail(0, "COW %s was made with chunk %u, not %llu: drop -c", p->cow_path, h->chunk,
				    (unsigned long long)p->chunk);
		p->chunk = h->chunk;
		return check_record(p, has_rec ? &rec : NULL);
	} else if (h->valid && has_rec && rec.state == COW_DROPPING) {
		note("dmsnap: COW %s held a dropped snapshot's store (its drop was interrupted): reusing it", p->cow_path);
	} else if (h->valid && !p->force) {
		return fail(0, "COW %s holds a valid snapshot store (chunk %u): --reattach to use it again, --force to zero it",
			    p->cow_path, h->chunk);
	} else if (sig && holds) {
		return fail(0, "COW %s holds %s: dmsnap never overwrites that, --force or not (wipe it yourself if it is truly spare)",
			    p->cow_path, sig);
	} else if (sig && !p->force) {
		return fail(0, "COW %s holds %s: refusing to overwrite it (--force destroys it)", p->cow_path, sig);
	} else if (data && !h->present && !p->force) {
		return fail(0, "COW %s holds data dmsnap does not recognise (its first or last %d KiB are not blank): refusing to overwrite it (--force destroys it)",
			    p->cow_path, BLANK_SPAN / 1024);
	} else if (sig || h->valid || (data && !h->present)) {
		note("dmsnap: --force: destroying %s on %s", sig ? sig : h->valid ? "a valid snapshot store" : "unrecognised data",
		     p->cow_path);
	}
	return EXIT_OK;
}

/* The chunk fits both devices and the COW has room for header, metadata and data. */
static int check_chunk(struct snap_plan *p, const struct blockdev *origin)
{
	if (!p->chunk)
		p->chunk = DEFAULT_CHUNK;
	uint64_t lbs = (origin->logical_block > p->cow.logical_block ? origin->logical_block
								       : p->cow.logical_block) >> DM_SECTOR_SHIFT;
	if (!is_power_of_two(p->chunk) || p->chunk > MAX_CHUNK || p->chunk < lbs)
		return fail(0, "chunk %llu: must be a power of two from %llu (the devices' block size) to %u sectors",
			    (unsigned long long)p->chunk, (unsigned long long)lbs, MAX_CHUNK);
	if (p->cow.sectors < 3 * p->chunk)
		return fail(0, "COW %s has %llu sectors: too small for chunk %llu (at least %llu)", p->cow_path,
			    (unsigned long long)p->cow.sectors, (unsigned long long)p->chunk,
			    (unsigned long long)(3 * p->chunk));
	return EXIT_OK;
}

/* The COW opened exclusively, once: what is checked is what is written, whatever its path points to later. */
static int open_cow(struct snap_plan *p)
{
	struct stat st;
	int fd;

	if ((fd = open_exclusive(p->cow_path, O_RDWR)) < 0) {
		if (fd == -EBUSY && stat(p->cow_path, &st) == 0)
			return explain_busy(p->cow_path, major(st.st_rdev), minor(st.st_rdev),
					    "a COW device must be unused (another snapshot's COW, mounted, or an md member?)");
		return fail(fd, "open COW %s:", p->cow_path);
	}
	p->cow_fd = fd;
	if ((fd = probe_fd(fd, &p->cow)) < 0)
		return fail(fd, "COW %s:", p->cow_path);
	p->cow.path = p->cow_path;
	/* What a dm target wrote beneath it may not be in the page cache yet. */
	drop_cache(p->cow_fd);
	return EXIT_OK;
}

/* The COW must be a spare block device that nothing else uses, big enough, and (unless --force) blank. */
static int check_cow(struct snap_plan *p, const struct wrapper *wr, const struct blockdev *origin)
{
	struct cow_header h;
	int r;

	if (open_cow(p) || check_cow_place(p, wr) || check_cow_users(p))
		return EXIT_FAIL;
	if ((r = read_cow_header(p->cow_fd, &h)) < 0)
		return fail(r, "read COW %s:", p->cow_path);
	if ((r = check_cow_content(p, &h)))
		return r;
	return check_chunk(p, origin);
}

/*
 * Right before the header is zeroed (the sync may have taken seconds): the
 * COW still holds what it held when it was checked.
 */
static int recheck_cow(const struct snap_plan *p)
{
	struct cow_header h;
	int holds;

	drop_cache(p->cow_fd);
	const char *sig = find_signature(p->cow_fd, p->cow.sectors << DM_SECTOR_SHIFT, &holds);
	if (read_cow_header(p->cow_fd, &h) < 0 || sig != p->cow_sig || (p->reattach && (!h.valid || h.chunk != p->chunk)))
		return fail(0, "COW %s changed while snap was preparing (it now holds %s): no snapshot taken; %s unchanged",
			    p->cow_path, sig ? sig : h.valid ? "a snapshot store" : "something else", p->name);
	return EXIT_OK;
}

/*
 * The suspended window: freeze NAME, activate the snapshot, let NAME go on
 * through snapshot-origin (swapped in by this resume when it was loaded).
 * In this order: resuming NAME before the snapshot would let writes escape
 * the COW.  Only prepared ioctls in here.  Returns 0 or the failed step's
 * -errno with *step naming it; NAME may be left suspended only when its
 * resume failed, and the caller deals with that.
 */
static int switch_under_freeze(int fd, const char *name, const char *snapname, long *suspended_us,
			       const char **step)
{
	struct timespec t0, t1;
	int r;

	*step = name;
	clock_gettime(CLOCK_MONOTONIC, &t0);
	if ((r = dm_suspend(fd, name, 0)) < 0)
		return r;
	*step = snapname;
	if ((r = dm_resume(fd, snapname, NULL)) < 0) {
		/* Not swapped yet: put NAME back as it was. */
		dm_clear(fd, name);
		dm_resume(fd, name, NULL);
		return r;
	}
	*step = name;
	r = dm_resume(fd, name, NULL);
	clock_gettime(CLOCK_MONOTONIC, &t1);
	*suspended_us = elapsed_us(&t0, &t1);
	return r;
}

/*
 * Undo a snap that failed after its first change; NAME ends resumed.  The
 * header goes only from a store this snap made new: a reattached store is
 * someone's snapshot and stays exactly as it was.
 */
static void undo_snap(int fd, const struct snap_plan *p)
{
	struct dm_info info;
	char cow[128];
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
	if (!p->reattach && (r = retire_cow(p->snap_line.params, cow, sizeof cow)) < 0)
		warn(r, "%s: could not clear the header of its COW %s (the next snap on it needs --force):",
		     p->snapname, cow);
}

int parse_snap_args(int argc, char **argv, struct snap_plan *p, int *help)
{
	static const struct option list[] = {
		{ "transient", no_argument, NULL, 'n' }, { "force", no_argument, NULL, 'f' },
		{ "reattach", no_argument, NULL, 'R' }, { "mount", required_argument, NULL, 'm' },
		{ "no-sync", no_argument, NULL, 'S' }, { "help", no_argument, NULL, 'h' }, { 0 } };
	const char *cmd = argv[0], *snapname = NULL;
	int is_run = strcmp(cmd, "snap") != 0, c;
	char *end;

	memset(p, 0, sizeof *p);
	p->cow_fd = p->record_fd = -1;
	*help = 0;
	while ((c = getopt_long(argc, argv, "c:s:nvqh", list, NULL)) != -1) {
		switch (c) {
		case 'c':
			if (parse_u64(optarg, &end, &p->chunk) || *end || !p->chunk) {
				errf("dmsnap: %s: -c takes a chunk size in sectors, got '%s'\n", cmd, optarg);
				return EXIT_USAGE;
			}
			break;
		case 's': snapname = optarg; break;
		case 'n': p->transient = 1; break;
		case 'f': p->force = 1; break;
		case 'R': p->reattach = 1; break;
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
	if (argc - optind != 2)
		return usage_error();
	if (p->reattach && p->force) {
		errf("dmsnap: snap: --reattach keeps the COW's content, --force zeroes it; give one\n");
		return EXIT_USAGE;
	}
	if (p->reattach && p->transient) {
		errf("dmsnap: snap: --reattach needs a persistent store, -n makes a transient one; give one\n");
		return EXIT_USAGE;
	}
	p->name = argv[optind];
	p->cow_path = argv[optind + 1];
	if (snapname) {
		if (snapname[0] == '-' || dm_check_name(snapname)) {
			errf("dmsnap: %s: '%s' is not a snapshot name: 1-127 printable ASCII bytes without '/' or blanks, not starting with '-'\n",
			     cmd, snapname);
			return EXIT_USAGE;
		}
		snprintf(p->snapname, sizeof p->snapname, "%s", snapname);
	}
	return EXIT_OK;
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
	if (wr->mode == MODE_OTHER)
		return fail(0, "%s has a table dmsnap did not make (see 'dmsnap table %s'): not snapshotting it",
			    p->name, p->name);
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
	origin_identity(wr->base_major, wr->base_minor, wr->sectors, p->name, &p->origin_id);
	if ((r = check_cow(p, wr, &origin)))
		return r;
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
				   .cow_major = p->cow.major, .cow_minor = p->cow.minor, .chunk = p->chunk };

	snprintf(s.mode, sizeof s.mode, "%s", p->transient ? "N" : "P");
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
		errf("dmsnap: synced %s in %ld.%03ld ms before the freeze\n", mnt, us / 1000, us % 1000);
	}
}

/* Everything before the freeze: COW header, snapshot device, NAME's inactive table. */
static int stage_snap(int fd, struct snap_plan *p, struct dm_info *snap_info)
{
	char uuid[DM_UUID_LEN];
	int r;

	if (recheck_cow(p))
		return EXIT_FAIL;
	/* A zero header tells the kernel the store is new; an old one would be reloaded silently. */
	if (!p->reattach && (r = zero_range(p->cow_fd, 0, p->chunk << DM_SECTOR_SHIFT)) < 0)
		return fail(r, "zero the header of COW %s:", p->cow_path);
	if (!p->reattach && !p->transient && p->chunk >= RECORD_MIN_CHUNK && (r = reopen_cow(p)) < 0)
		return fail(r, "reopen COW %s:", p->cow_path);
	/* The table names the device checked by its number; the kernel claims it now. */
	close_cow(p);
	/*
	 * The uuid marks the device as dmsnap's, so recover knows an empty
	 * leftover is ours, and whether its store was new or reattached.
	 */
	int fits = snprintf(uuid, sizeof uuid, "%s%s", p->reattach ? REATTACH_UUID_PREFIX : SNAP_UUID_PREFIX,
			    p->snapname) < (int)sizeof uuid;
	if ((r = dm_create(fd, p->snapname, fits ? uuid : NULL, snap_info)) < 0)
		return dm_fail(r, DM_DEV_CREATE_CMD, p->snapname);
	if ((r = dm_load(fd, p->snapname, &p->snap_line.t, 1, 0)) < 0) {
		dm_warn(r, DM_TABLE_LOAD_CMD, p->snapname);
		undo_snap(fd, p);
		return fail(0, "%s: no snapshot taken; %s unchanged", p->snapname, p->name);
	}
	if (p->record_fd >= 0 && (r = write_record(p)) < 0) {
		warn(r, "%s: writing dmsnap's record on COW %s:", p->snapname, p->cow_path);
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
static int prepare_snap(int fd, struct snap_plan *p)
{
	struct world w;
	struct wrapper wr;
	int r;

	if (scan_or_fail(fd, &w))
		return EXIT_FAIL;
	if ((r = wrapper_or_fail(&w, p->name, &wr)) == EXIT_OK) {
		if ((r = look_snap(fd, &w, p, &wr)) == EXIT_OK)
			plan_snap(p, &wr);
		wrapper_free(&wr);
	}
	world_free(&w);
	return r;
}

/* act: signals wait until the state is consistent again. */
static int act_snap(int fd, struct snap_plan *p)
{
	struct dm_info snap_info;
	sigset_t saved;
	const char *step;
	long us = 0;
	int r;

	fault_pause("cow-checked");
	if (!p->no_sync)
		sync_before_freeze(p);
	fault_pause("synced");
	if (stop_pending())
		return fail(0, "interrupted: no snapshot taken; %s unchanged", p->name);
	fflush(stdout);
	warn_window(open_window(&saved));
	if ((r = stage_snap(fd, p, &snap_info))) {
		close_window(&saved);
		return r;
	}
	fault_pause("staged");
	if (stop_pending()) {
		undo_snap(fd, p);
		close_window(&saved);
		return fail(0, "interrupted before the freeze: no snapshot taken; %s unchanged", p->name);
	}
	r = switch_under_freeze(fd, p->name, p->snapname, &us, &step);
	if (r < 0) {
		undo_snap(fd, p);
		close_window(&saved);
		dm_warn(r, DM_DEV_SUSPEND_CMD, step);
		return fail(0, "%s: no snapshot taken; %s resumed with its old table", p->snapname, p->name);
	}
	close_window(&saved);
	p->snap_major = snap_info.major;
	p->snap_minor = snap_info.minor;
	node_or_warn(p->snapname, &snap_info);
	if (verbose)
		errf("dmsnap: %s was suspended for %ld.%03ld ms\n", p->name, us / 1000, us % 1000);
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

/* look, plan, act under dmsnap's lock: the whole snap once its arguments are parsed. */
int take_snapshot(int fd, struct snap_plan *p)
{
	int r;

	if (lock_or_fail(fd))
		return EXIT_FAIL;
	if ((r = prepare_snap(fd, p)) == EXIT_OK && (r = act_snap(fd, p)) == EXIT_OK)
		r = on_wrapper(fd, p->name, check_snapped, p->snapname);
	close_cow(p);
	if (p->record_fd >= 0)
		close(p->record_fd);
	p->record_fd = -1;
	lock_release(fd);
	return r;
}

int cmd_snap(int argc, char **argv)
{
	struct snap_plan p;
	int help, fd, r;

	if ((r = parse_snap_args(argc, argv, &p, &help)) || help)
		return r;
	if ((fd = need_control()) < 0)
		return EXIT_FAIL;
	/* A stop signal is noted, cleaned up after, and said: never a half-made snapshot. */
	catch_stop_signals();
	if ((r = take_snapshot(fd, &p)))
		return r;
	printf("%s/%s\n", DM_DIR, p.snapname);
	if (stop_pending())
		return fail(0, "interrupted after the snapshot was complete: %s stays ('dmsnap drop %s %s' removes it)",
			    p.snapname, p.name, p.snapname);
	return EXIT_OK;
}

/* ---- drop ---- */

static int refuse_open(const struct dev *d, const char *why)
{
	char mnt[4096];

	if (d->info.open_count <= 0)
		return 0;
	if (mount_point_of(d->info.major, d->info.minor, mnt, sizeof mnt))
		return fail(0, "%s is mounted on %s: umount it first; %s", d->name, mnt, why);
	return fail(0, "%s is open (%d users): close it first; %s", d->name, d->info.open_count, why);
}

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

/* Says how a removal went; a removed snapshot's COW is retired, one that stayed is a snapshot's again. */
static void removed(int r, const struct dev *d, int is_snapshot, int *failed)
{
	char cow[128];

	if (r < 0) {
		dm_warn(r, DM_DEV_REMOVE_CMD, d->name);
		if (is_snapshot)
			mark_cow(d->live_params, d->live.length, "", COW_SNAPSHOT);
		(*failed)++;
		return;
	}
	if (is_snapshot && (r = retire_cow(d->live_params ? d->live_params : d->inactive_params, cow, sizeof cow)) < 0)
		warn(r, "%s: could not clear the header of its COW %s (the next snap on it needs --force):", d->name,
		     cow);
	note("dmsnap: removed %s", d->name);
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
	if (wr->mode == MODE_MERGE || wr->mode == MODE_OTHER)
		return fail(0, "%s is %s: not dropping anything", name,
			    wr->mode == MODE_MERGE ? "merging a snapshot back" : "holding a table dmsnap did not make");
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
		note("dmsnap: %s has no snapshots", name);
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
	static const struct option list[] = { { "help", no_argument, NULL, 'h' }, { 0 } };
	int c, fd;

	while ((c = getopt_long(argc, argv, "h", list, NULL)) != -1)
		return c == 'h' ? show_help() : usage_error();
	if (argc - optind < 1 || argc - optind > 2)
		return usage_error();
	if ((fd = need_control()) < 0)
		return EXIT_FAIL;
	return drop_snapshots(fd, argv[optind], argc - optind == 2 ? argv[optind + 1] : NULL);
}

/* ---- unwrap ---- */

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
	static const struct option list[] = { { "help", no_argument, NULL, 'h' }, { 0 } };
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
