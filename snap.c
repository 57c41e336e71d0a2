/*
 * snap.c - the snapshot lifecycle: wrap, snap, show, drop, unwrap.
 *
 * Layout (the walkthrough's, so that dmsetup and dmsnap can take turns):
 *   NAME      linear DEV 0            -> snapshot-origin NAME_dup while snapshots exist
 *   NAME_dup  linear DEV 0
 *   SNAP      snapshot NAME_dup COW P CHUNK
 * No state lives outside the kernel: every command reads the tables.
 *
 * Each workflow has three parts: look (read the kernel, check input), plan
 * (build every table), act (the ioctls).  The suspended window is one short
 * function that only issues prepared ioctls; its caller always resumes.
 */
#define _GNU_SOURCE
#include <errno.h>
#include <fcntl.h>
#include <signal.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include "dmsnap.h"
#include "faults.h"

#define DEFAULT_CHUNK   32       /* sectors, as the walkthrough and LVM use */
#define MAX_CHUNK       (1u << 21)  /* the kernel's limit: INT_MAX bytes */
#define ZERO_BYTES      65536
#define RETIRED_HEADER_BYTES 4096  /* enough to erase the magic of a dropped snapshot's store */

/* ---- reading the kernel's state ---- */

void world_free(struct world *w)
{
	for (size_t i = 0; i < w->n; i++) {
		mem_free(w->d[i].live_params);
		mem_free(w->d[i].inactive_params);
	}
	mem_free(w->d);
	memset(w, 0, sizeof *w);
}

static int scan_device(int fd, const char *name, struct dev *d)
{
	int r;

	memset(d, 0, sizeof *d);
	fmt(d->name, sizeof d->name, "%s", name);
	if ((r = dm_get_info(fd, name, &d->info)) < 0)
		return r;
	if (d->info.flags & DM_ACTIVE_PRESENT_FLAG &&
	    (r = get_single_target(fd, name, DM_STATUS_TABLE_FLAG, &d->live, &d->live_params)) < 0)
		return r;
	if (d->info.flags & DM_INACTIVE_PRESENT_FLAG &&
	    (r = get_single_target(fd, name, DM_STATUS_TABLE_FLAG | DM_QUERY_INACTIVE_TABLE_FLAG,
				   &d->inactive, &d->inactive_params)) < 0)
		return r;
	return 0;
}

/* Every device with its live and inactive (first) target. */
int scan_world(int fd, struct world *w)
{
	struct dm_reply list;
	struct dm_name n;
	int r;

	memset(w, 0, sizeof *w);
	if ((r = dm_list_devices(fd, &list)) < 0)
		return dm_fail(r, DM_LIST_DEVICES_CMD, NULL);
	while ((r = dm_next_name(&list, &n)) > 0) {
		struct dev *more = mem_grow(w->d, (w->n + 1) * sizeof *more);
		if (!more) {
			r = -ENOMEM;
			break;
		}
		w->d = more;
		int s = scan_device(fd, n.name, &w->d[w->n]);
		if (s == -ENXIO) {  /* removed while we looked */
			mem_free(w->d[w->n].live_params);
			continue;
		}
		w->n++;
		if (s < 0) {
			r = s;
			break;
		}
	}
	dm_reply_free(&list);
	if (r < 0) {
		world_free(w);
		return fail(r, "reading device-mapper state:");
	}
	return EXIT_OK;
}

struct dev *find_dev(struct world *w, const char *name)
{
	for (size_t i = 0; i < w->n; i++)
		if (!strcmp(w->d[i].name, name))
			return &w->d[i];
	return NULL;
}

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

static enum wrap_mode wrapper_mode(const struct wrapper *wr)
{
	const struct dev *top = wr->top;
	uint32_t ma = wr->dup->info.major, mi = wr->dup->info.minor;

	if (top->info.target_count != 1 || !top->live_params)
		return MODE_OTHER;
	if (is_type(top, "linear"))
		return first_arg_is(top->live_params, wr->base_major, wr->base_minor) ? MODE_LINEAR : MODE_OTHER;
	if (!first_arg_is(top->live_params, ma, mi))
		return MODE_OTHER;
	if (is_type(top, "snapshot-origin"))
		return MODE_ORIGIN;
	if (is_type(top, "snapshot-merge"))
		return MODE_MERGE;
	return MODE_OTHER;
}

void dup_name(const char *name, char *buf, size_t size)
{
	fmt(buf, size, "%s_dup", name);
}

/*
 * NAME is a wrapper when NAME_dup exists and is `linear DEV 0`; NAME itself
 * is then linear over DEV, or snapshot-origin / snapshot-merge over NAME_dup.
 * Returns 0, or why not: -ENXIO no NAME, -ENOENT no NAME_dup, -EINVAL odd NAME_dup.
 */
static int identify_wrapper(struct world *w, const char *name, struct wrapper *wr)
{
	char dup[DM_NAME_LEN + 8];
	uint64_t offset;

	memset(wr, 0, sizeof *wr);
	dup_name(name, dup, sizeof dup);
	if (!(wr->top = find_dev(w, name)))
		return -ENXIO;
	if (!(wr->dup = find_dev(w, dup)))
		return -ENOENT;
	if (!is_type(wr->dup, "linear") || wr->dup->info.target_count != 1 ||
	    dm_parse_linear(wr->dup->live_params, &wr->base_major, &wr->base_minor, &offset) || offset)
		return -EINVAL;
	wr->sectors = wr->dup->live.length;
	wr->mode = wrapper_mode(wr);
	for (size_t i = 0; i < w->n; i++) {
		struct dev *d = &w->d[i];
		if (d == wr->top)
			continue;
		if (is_snapshot_of(d, wr->dup)) {
			if (wr->nsnaps < MAX_SNAPS)
				wr->snaps[wr->nsnaps++] = d;
		} else if (is_type(d, "snapshot-origin") && first_arg_is(d->live_params, wr->dup->info.major,
									 wr->dup->info.minor)) {
			if (wr->nhelpers < MAX_SNAPS)
				wr->helpers[wr->nhelpers++] = d;
		}
	}
	return 0;
}

int find_wrapper(struct world *w, const char *name, struct wrapper *wr)
{
	char dup[DM_NAME_LEN + 8];

	dup_name(name, dup, sizeof dup);
	switch (identify_wrapper(w, name, wr)) {
	case 0:
		return EXIT_OK;
	case -ENXIO:
		return fail(0, "%s: no such device; 'dmsnap wrap DEV %s' makes it", name, name);
	case -ENOENT:
		return fail(0, "%s: not wrapped: its duplicate %s is missing ('dmsnap show' lists wrapped devices)",
			    name, dup);
	default:
		return fail(0, "%s: not wrapped: %s is not 'linear DEV 0' (see 'dmsnap table %s')", name, dup, dup);
	}
}

/* ---- small shared steps ---- */

static void linear_target(struct dm_target *t, char *params, size_t size, uint64_t sectors, uint32_t major,
			  uint32_t minor)
{
	fmt(params, size, "%u:%u 0", major, minor);
	*t = (struct dm_target){ .start = 0, .length = sectors, .type = "linear", .params = params };
}

/* Is the target type registered? 1 yes, 0 no, -errno if the kernel would not say. */
static int target_available(int fd, const char *type)
{
	struct dm_reply rep;
	struct dm_version v;
	int found = 0, r;

	if ((r = dm_list_versions(fd, &rep)) < 0)
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
	out_flush();
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

/* The kernel loads dm-snapshot on first use through modprobe; without one, say which module. */
int need_target(int fd, const char *type, const char *module)
{
	int r = target_available(fd, type);

	if (r == 0) {
		run_modprobe(module);
		r = target_available(fd, type);
	}
	if (r < 0)
		return dm_fail(r, DM_LIST_VERSIONS_CMD, NULL);
	if (r == 0)
		return fail(0, "target type '%s' is not available: load %s (modprobe %s)", type, module, module);
	return EXIT_OK;
}

/* If name is still suspended (a failed resume), try again, then say so loudly. */
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
	warn(r, "%s is still SUSPENDED and I/O to it is blocked; run 'dmsnap resume %s' now:", name, name);
	return r;
}

/*
 * While NAME is suspended every I/O to it waits, and NAME may hold the root
 * filesystem this program came from: lock every page we will touch, grow
 * the stack now, and keep signals for after the resume.
 */
static void prepare_window(sigset_t *saved)
{
	volatile char stack[64 * 1024];
	sigset_t all;

	memset((char *)stack, 0, sizeof stack);
	if (mlockall(MCL_CURRENT | MCL_FUTURE) < 0 && verbose)
		warn(errno, "mlockall (carrying on unlocked):");
	sigfillset(&all);
	sigprocmask(SIG_BLOCK, &all, saved);
}

static int signal_pending(void)
{
	sigset_t pending;

	sigpending(&pending);
	return sigismember(&pending, SIGINT) || sigismember(&pending, SIGTERM) ||
	       sigismember(&pending, SIGHUP);
}

static long elapsed_us(const struct timespec *a, const struct timespec *b)
{
	return (b->tv_sec - a->tv_sec) * 1000000L + (b->tv_nsec - a->tv_nsec) / 1000;
}

/* ---- wrap ---- */

static const char *base_name(const char *path)
{
	const char *slash = strrchr(path, '/');

	return slash ? slash + 1 : path;
}

static int explain_busy(const char *path, uint32_t major, uint32_t minor, const char *why)
{
	char mnt[4096];

	if (mount_point_of(major, minor, mnt, sizeof mnt))
		return fail(0, "%s is mounted on %s: %s", path, mnt, why);
	return fail(0, "%s is in use (open by md, dm or a mount): %s", path, why);
}

int cmd_wrap(int argc, char **argv)
{
	static const struct opt list[] = { { "if-missing", 'm', 0 }, { "help", 'h', OPT_SHORT }, { 0 } };
	struct opts o;
	int if_missing = 0, c, fd, r;
	struct blockdev bd;
	struct world w;
	struct wrapper wr;
	char dup[DM_NAME_LEN + 8], params[64];
	struct dm_target t;
	struct dm_info info;
	enum dm_cmd failed;

	opts_start(&o, list, argv);
	while ((c = get_opt(&o, argc, argv)) != -1) {
		if (c == 'm')
			if_missing = 1;
		else
			return c == 'h' ? (usage_of("wrap"), EXIT_OK) : usage_of("wrap");
	}
	if (o.nargs < 1 || o.nargs > 2)
		return usage_of("wrap");
	const char *path = o.args[0];
	const char *name = o.nargs == 2 ? o.args[1] : base_name(path);

	/* look */
	if (dm_check_name(name) || strlen(name) + 4 >= DM_NAME_LEN)
		return fail(0, "'%s' cannot name a wrapper: 1-123 printable ASCII bytes without '/' or blanks (%s_dup must fit in 127)",
			    name, name);
	if ((r = probe_blockdev(path, &bd)) < 0)
		return fail(r, "wrap %s:", path);
	fd = control();
	if (scan_world(fd, &w))
		return EXIT_FAIL;
	dup_name(name, dup, sizeof dup);
	if (find_dev(&w, name) || find_dev(&w, dup)) {
		int same = find_wrapper(&w, name, &wr) == EXIT_OK && wr.base_major == bd.major &&
			   wr.base_minor == bd.minor;
		world_free(&w);
		if (same && if_missing) {
			out("%s/%s\n", DM_DIR, name);
			return EXIT_OK;
		}
		if (same)
			return fail(0, "%s already wraps %s (--if-missing accepts that)", name, path);
		return fail(0, "%s or %s exists already and does not wrap %s: pick another NAME", name, dup, path);
	}
	world_free(&w);
	if ((r = open_exclusive(path, O_RDONLY)) < 0) {
		if (r == -EBUSY)
			return explain_busy(path, bd.major, bd.minor,
					    "device-mapper must claim it, so wrap it before mounting (at boot: see initramfs-hook) and mount /dev/mapper/NAME");
		return fail(r, "open %s:", path);
	}
	close(r);

	/* plan */
	linear_target(&t, params, sizeof params, bd.sectors, bd.major, bd.minor);

	/* act */
	if ((r = create_device(fd, dup, NULL, &t, 1, 0, &info, &failed)) < 0)
		return dm_fail(r, failed, dup);
	if ((r = create_device(fd, name, NULL, &t, 1, 0, &info, &failed)) < 0) {
		dm_warn(r, failed, name);
		if (dm_remove(fd, dup, 0) == 0)
			remove_node(dup);
		return fail(0, "%s: not wrapped; nothing changed", path);
	}
	out("%s/%s\n", DM_DIR, name);
	return EXIT_OK;
}

/* ---- snap ---- */

/* NAME_snap, NAME_snap2, ...: the first free name. */
static int default_snapname(struct world *w, const char *name, char *buf, size_t size)
{
	for (int i = 1; i < 1000; i++) {
		if (i == 1)
			fmt(buf, size, "%s_snap", name);
		else
			fmt(buf, size, "%s_snap%d", name, i);
		if (strlen(buf) >= DM_NAME_LEN)
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

/* The COW must be a spare block device that nothing else uses, big enough, and (unless --force) blank. */
static int check_cow(struct snap_plan *p, const struct wrapper *wr, const struct blockdev *origin)
{
	struct cow_header h;
	const char *sig;
	int fd, r;

	if ((r = probe_blockdev(p->cow_path, &p->cow)) < 0)
		return fail(r, "COW %s:", p->cow_path);
	if (stacked_on(p->cow.major, p->cow.minor, wr->base_major, wr->base_minor) ||
	    stacked_on(p->cow.major, p->cow.minor, wr->top->info.major, wr->top->info.minor) ||
	    stacked_on(p->cow.major, p->cow.minor, wr->dup->info.major, wr->dup->info.minor))
		return fail(0, "COW %s is %s itself or lies on it: the snapshot would write into what it preserves",
			    p->cow_path, p->name);
	for (size_t i = 0; i < wr->nsnaps; i++)
		if (stacked_on(p->cow.major, p->cow.minor, wr->snaps[i]->info.major, wr->snaps[i]->info.minor))
			return fail(0, "COW %s is the snapshot %s: snapshots of snapshots do not work", p->cow_path,
				    wr->snaps[i]->name);
	if ((fd = open_exclusive(p->cow_path, O_RDWR)) < 0) {
		if (fd == -EBUSY)
			return explain_busy(p->cow_path, p->cow.major, p->cow.minor,
					    "a COW device must be unused (another snapshot's COW, mounted, or an md member?)");
		return fail(fd, "open COW %s:", p->cow_path);
	}
	if ((r = read_cow_header(fd, &h)) < 0) {
		close(fd);
		return fail(r, "read COW %s:", p->cow_path);
	}
	sig = find_signature(fd, p->cow.sectors << DM_SECTOR_SHIFT);
	close(fd);
	if (p->reattach) {
		if (!h.valid)
			return fail(0, "COW %s holds no valid snapshot store to reattach%s", p->cow_path,
				    h.present ? " (it was invalidated)" : "");
		if (p->chunk && p->chunk != h.chunk)
			return fail(0, "COW %s was made with chunk %u, not %llu: drop -c", p->cow_path, h.chunk,
				    (unsigned long long)p->chunk);
		p->chunk = h.chunk;
	} else if (h.valid && !p->force) {
		return fail(0, "COW %s holds a valid snapshot store (chunk %u): --reattach to use it again, --force to zero it",
			    p->cow_path, h.chunk);
	} else if (sig && !p->force) {
		return fail(0, "COW %s holds %s: refusing to overwrite it (--force destroys it)", p->cow_path, sig);
	} else if (sig || h.valid) {
		note("dmsnap: --force: destroying %s on %s", sig ? sig : "a valid snapshot store", p->cow_path);
	}
	if (!p->chunk)
		p->chunk = DEFAULT_CHUNK;
	uint64_t lbs = (origin->logical_block > p->cow.logical_block ? origin->logical_block
								       : p->cow.logical_block) >> DM_SECTOR_SHIFT;
	if (!is_power_of_two(p->chunk) || p->chunk > MAX_CHUNK || p->chunk < lbs)
		return fail(0, "chunk %llu: must be a power of two from %llu (the devices' block size) to %u sectors",
			    (unsigned long long)p->chunk, (unsigned long long)lbs, MAX_CHUNK);
	/* A persistent store needs a header chunk, a metadata chunk and room for data. */
	if (p->cow.sectors < 3 * p->chunk)
		return fail(0, "COW %s has %llu sectors: too small for chunk %llu (at least %llu)", p->cow_path,
			    (unsigned long long)p->cow.sectors, (unsigned long long)p->chunk,
			    (unsigned long long)(3 * p->chunk));
	return EXIT_OK;
}

/*
 * A zero header tells the kernel a COW is a new store; an old one would be
 * reloaded silently.  Zeroes min(bytes, size) bytes from the start.
 */
static int zero_header(const char *path, uint64_t size, uint64_t bytes)
{
	static char zeros[ZERO_BYTES];  /* bss, not 64 KiB of binary */
	int fd = open_exclusive(path, O_WRONLY), r = 0;

	if (fd < 0)
		return fd;
	if (bytes > size)
		bytes = size;
	for (uint64_t off = 0; off < bytes && r == 0;) {
		size_t n = bytes - off < ZERO_BYTES ? (size_t)(bytes - off) : ZERO_BYTES;
		ssize_t w = pwrite(fd, zeros, n, (off_t)off);
		if (w < 0)
			r = -errno;
		else
			off += (uint64_t)w;
	}
	if (r == 0 && fsync(fd) < 0)
		r = -errno;
	close(fd);
	return r;
}

/*
 * The suspended window: freeze NAME, activate the snapshot, let NAME go on
 * through snapshot-origin (swapped in by this resume when it was loaded).
 * In this order: resuming NAME before the snapshot would let writes escape
 * the COW.  Only prepared ioctls in here.  Returns 0 or the failed step's
 * -errno in *err with *step naming it; NAME may be left suspended only when
 * its resume failed, and the caller deals with that.
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

/* Undo a snap that failed after its first change; NAME ends resumed. */
static void undo_snap(int fd, const struct snap_plan *p)
{
	struct dm_info info;

	if (p->swap_origin && dm_get_info(fd, p->name, &info) == 0 && info.flags & DM_INACTIVE_PRESENT_FLAG)
		dm_clear(fd, p->name);
	ensure_resumed(fd, p->name);
	if (dm_remove(fd, p->snapname, 0) == 0) {
		remove_node(p->snapname);
		/* Loading the snapshot wrote a fresh header: clear it, or the retry would need --force. */
		retire_cow(p->snapname, p->snap_params);
	}
}

/* snap's options; run (cmd != "snap") also takes --mount DIR. */
int parse_snap_args(int argc, char **argv, struct snap_plan *p)
{
	static const struct opt list[] = {
		{ NULL, 'c', OPT_SHORT | OPT_ARG }, { NULL, 's', OPT_SHORT | OPT_ARG },
		{ "transient", 'n', OPT_SHORT }, { "force", 'f', 0 }, { "reattach", 'R', 0 },
		{ "mount", 'm', OPT_ARG }, { "no-sync", 'S', 0 }, { NULL, 'v', OPT_SHORT },
		{ NULL, 'q', OPT_SHORT }, { "help", 'h', OPT_SHORT }, { 0 } };
	const char *cmd = argv[0], *snapname = NULL;
	int is_run = strcmp(cmd, "snap") != 0, c;
	struct opts o;
	char *end;

	memset(p, 0, sizeof *p);
	opts_start(&o, list, argv);
	while ((c = get_opt(&o, argc, argv)) != -1) {
		switch (c) {
		case 'c':
			if (parse_u64(o.arg, &end, &p->chunk) || *end || !p->chunk) {
				errf("dmsnap: %s: -c takes a chunk size in sectors, got '%s'\n", cmd, o.arg);
				return EXIT_USAGE;
			}
			break;
		case 's': snapname = o.arg; break;
		case 'n': p->transient = 1; break;
		case 'f': p->force = 1; break;
		case 'R': p->reattach = 1; break;
		case 'S': p->no_sync = 1; break;
		case 'm':
			if (!is_run)
				return usage_of(cmd);
			p->mount_dir = o.arg;
			break;
		case 'v': verbose = 1; break;
		case 'q': quiet = 1; break;
		case 'h': usage_of(cmd); exit(EXIT_OK);
		default: return usage_of(cmd);
		}
	}
	if (o.nargs != 2)
		return usage_of(cmd);
	if (p->reattach && p->force) {
		errf("dmsnap: snap: --reattach keeps the COW's content, --force zeroes it; give one\n");
		return EXIT_USAGE;
	}
	if (p->reattach && p->transient) {
		errf("dmsnap: snap: --reattach needs a persistent store, -n makes a transient one; give one\n");
		return EXIT_USAGE;
	}
	p->name = o.args[0];
	p->cow_path = o.args[1];
	if (snapname) {
		if (dm_check_name(snapname)) {
			errf("dmsnap: snap: '%s' is not a device name: 1-127 printable ASCII bytes without '/' or blanks\n",
				snapname);
			return EXIT_USAGE;
		}
		fmt(p->snapname, sizeof p->snapname, "%s", snapname);
	}
	return EXIT_OK;
}

static int look_snap(int fd, struct world *w, struct snap_plan *p, struct wrapper *wr)
{
	struct blockdev origin = { .logical_block = 512 };
	int r;

	if (find_wrapper(w, p->name, wr))
		return EXIT_FAIL;
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
	} else if ((r = default_snapname(w, p->name, p->snapname, sizeof p->snapname)) < 0) {
		return fail(r, "%s: no free snapshot name; give one with -s:", p->name);
	}
	/* Unknown block size (no sysfs): 512 lets the kernel have the last word. */
	logical_block_of(wr->base_major, wr->base_minor, &origin.logical_block);
	if (check_cow(p, wr, &origin))
		return EXIT_FAIL;
	if (need_target(fd, "snapshot", "dm-snapshot") || need_target(fd, "snapshot-origin", "dm-snapshot"))
		return EXIT_FAIL;
	p->swap_origin = wr->mode == MODE_LINEAR;
	p->origin_major = wr->top->info.major;
	p->origin_minor = wr->top->info.minor;
	return EXIT_OK;
}

static void plan_snap(struct snap_plan *p, const struct wrapper *wr)
{
	fmt(p->snap_params, sizeof p->snap_params, "%u:%u %u:%u %s %llu", wr->dup->info.major,
		 wr->dup->info.minor, p->cow.major, p->cow.minor, p->transient ? "N" : "P",
		 (unsigned long long)p->chunk);
	p->snap_t = (struct dm_target){ .start = 0, .length = wr->sectors, .type = "snapshot",
					.params = p->snap_params };
	fmt(p->origin_params, sizeof p->origin_params, "%u:%u", wr->dup->info.major, wr->dup->info.minor);
	p->origin_t = (struct dm_target){ .start = 0, .length = wr->sectors, .type = "snapshot-origin",
					  .params = p->origin_params };
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
	int r;

	if (!p->reattach && (r = zero_header(p->cow_path, p->cow.sectors << DM_SECTOR_SHIFT, p->chunk << DM_SECTOR_SHIFT)) < 0)
		return fail(r, "zero the header of COW %s:", p->cow_path);
	/* The uuid marks the device as dmsnap's, so recover knows an empty leftover is ours. */
	char uuid[DM_UUID_LEN];
	int fits = fmt(uuid, sizeof uuid, "%s%s", SNAP_UUID_PREFIX, p->snapname) < (int)sizeof uuid;
	if ((r = dm_create(fd, p->snapname, fits ? uuid : NULL, snap_info)) < 0)
		return dm_fail(r, DM_DEV_CREATE_CMD, p->snapname);
	if ((r = dm_load(fd, p->snapname, &p->snap_t, 1, 0)) < 0) {
		dm_warn(r, DM_TABLE_LOAD_CMD, p->snapname);
		undo_snap(fd, p);
		return fail(0, "%s: no snapshot taken; %s unchanged", p->snapname, p->name);
	}
	if (p->swap_origin && (r = dm_load(fd, p->name, &p->origin_t, 1, 0)) < 0) {
		dm_warn(r, DM_TABLE_LOAD_CMD, p->name);
		undo_snap(fd, p);
		return fail(0, "%s: no snapshot taken; %s unchanged", p->snapname, p->name);
	}
	return EXIT_OK;
}

/* look, plan, act: the whole snap once its arguments are parsed. */
int take_snapshot(int fd, struct snap_plan *p)
{
	struct world w;
	struct wrapper wr;
	struct dm_info snap_info;
	sigset_t saved;
	const char *step;
	long us = 0;
	int r;

	if (scan_world(fd, &w))
		return EXIT_FAIL;
	r = look_snap(fd, &w, p, &wr);
	if (r == EXIT_OK)
		plan_snap(p, &wr);
	world_free(&w);
	if (r)
		return r;

	/* act: signals wait until the state is consistent again */
	fault_pause("cow-checked");
	if (!p->no_sync)
		sync_before_freeze(p);
	fault_pause("synced");
	prepare_window(&saved);
	if ((r = stage_snap(fd, p, &snap_info))) {
		sigprocmask(SIG_SETMASK, &saved, NULL);
		return r;
	}
	if (signal_pending()) {
		undo_snap(fd, p);
		sigprocmask(SIG_SETMASK, &saved, NULL);
		return fail(0, "interrupted before the freeze: no snapshot taken; %s unchanged", p->name);
	}
	r = switch_under_freeze(fd, p->name, p->snapname, &us, &step);
	if (r < 0) {
		undo_snap(fd, p);
		sigprocmask(SIG_SETMASK, &saved, NULL);
		dm_warn(r, DM_DEV_SUSPEND_CMD, step);
		return fail(0, "%s: no snapshot taken; %s resumed with its old table", p->snapname, p->name);
	}
	sigprocmask(SIG_SETMASK, &saved, NULL);
	p->snap_major = snap_info.major;
	p->snap_minor = snap_info.minor;
	ensure_node_of(p->snapname, &snap_info);
	if (verbose)
		errf("dmsnap: %s was suspended for %ld.%03ld ms\n", p->name, us / 1000, us % 1000);
	return EXIT_OK;
}

int cmd_snap(int argc, char **argv)
{
	struct snap_plan p;
	int r;

	if ((r = parse_snap_args(argc, argv, &p)))
		return r;
	if ((r = take_snapshot(control(), &p)))
		return r;
	out("%s/%s\n", DM_DIR, p.snapname);
	return EXIT_OK;
}

/* ---- show ---- */

struct snap_view {
	const char *name;
	char cow[128];
	const char *state;
	struct dm_snap_status st;
	uint64_t chunk;
};

static const char *state_word(enum dm_snap_state s)
{
	static const char *const words[] = { "active", "invalid", "overflow", "merge-failed", "unknown" };

	return words[s];
}

/* A snapshot's (or a merging NAME's) status line, decoded. */
int read_snap_status(int fd, const char *name, struct dm_snap_status *st)
{
	struct dm_target t;
	char *params;
	int r = get_single_target(fd, name, 0, &t, &params);

	if (r == 0)
		r = params ? dm_parse_snap_status(params, st) : -ENODATA;
	mem_free(params);
	return r;
}

/* Status and table of one snapshot (or of NAME while it merges). */
static void view_snapshot(int fd, const struct dev *d, int merging, struct snap_view *v)
{
	struct dm_snap_table tab;

	memset(v, 0, sizeof *v);
	v->name = d->name;
	v->state = "inactive";
	fmt(v->cow, sizeof v->cow, "?");
	const char *table = d->live_params ? d->live_params : d->inactive_params;
	if (table && dm_parse_snap_table(table, &tab) == 0) {
		devno_path(tab.cow_major, tab.cow_minor, v->cow, sizeof v->cow);
		v->chunk = tab.chunk;
	}
	if (!d->live_params || d->info.flags & DM_SUSPEND_FLAG)
		return;
	if (read_snap_status(fd, d->name, &v->st) == 0)
		v->state = merging && v->st.state == DM_SNAP_ACTIVE ? "merging" : state_word(v->st.state);
	else
		v->state = "unknown";
}

/* Tenths, in integers: printf's floating point would double the binary. */
static void human_size(uint64_t sectors, char *buf, size_t size)
{
	static const char *const units[] = { "KiB", "MiB", "GiB", "TiB", "PiB" };
	uint64_t tenths = sectors * 10 / 2;  /* KiB */
	int u = 0;

	while (tenths >= 10240 && u < 4) {
		tenths /= 1024;
		u++;
	}
	fmt(buf, size, "%llu.%llu %s", (unsigned long long)(tenths / 10), (unsigned long long)(tenths % 10),
		 units[u]);
}

/* Used, in tenths of a percent. */
unsigned permille_used(const struct dm_snap_status *st)
{
	return st->total ? (unsigned)(st->used * 1000 / st->total) : 0;
}

static void print_view(const char *origin, const struct snap_view *v, int parsable)
{
	int counted = v->st.state == DM_SNAP_ACTIVE && strcmp(v->state, "inactive") && strcmp(v->state, "unknown");
	char used[32], total[32];

	if (parsable) {
		out("origin=%s snapshot=%s cow=%s state=%s", origin, v->name, v->cow, v->state);
		if (counted)
			out(" used_sectors=%llu total_sectors=%llu metadata_sectors=%llu percent=%u.%u",
			       (unsigned long long)v->st.used, (unsigned long long)v->st.total,
			       (unsigned long long)v->st.metadata, permille_used(&v->st) / 10,
			       permille_used(&v->st) % 10);
		else
			out(" used_sectors= total_sectors= metadata_sectors= percent=");
		out(" chunk=%llu\n", (unsigned long long)v->chunk);
		return;
	}
	out("  %-16s cow %-16s %-9s", v->name, v->cow, v->state);
	if (counted) {
		human_size(v->st.used, used, sizeof used);
		human_size(v->st.total, total, sizeof total);
		out(" used %s of %s (%u.%u%%)", used, total, permille_used(&v->st) / 10,
		       permille_used(&v->st) % 10);
	}
	human_size(v->chunk, used, sizeof used);
	out(" chunk %s\n", used);
}

static const char *mode_word(enum wrap_mode m)
{
	static const char *const words[] = { "linear", "snapshot-origin", "merging", "foreign table" };

	return words[m];
}

/* One wrapper and its snapshots; returns how many are invalid. */
static int show_wrapper(int fd, const struct wrapper *wr, int parsable)
{
	char base[128], size[32];
	struct snap_view v;
	int invalid = 0;

	devno_path(wr->base_major, wr->base_minor, base, sizeof base);
	human_size(wr->sectors, size, sizeof size);
	if (!parsable)
		out("%s: %s, %s, %s%s, %zu snapshot%s\n", wr->top->name, base, size, mode_word(wr->mode),
		       wr->top->info.flags & DM_SUSPEND_FLAG ? " (SUSPENDED)" : "", wr->nsnaps,
		       wr->nsnaps == 1 ? "" : "s");
	if (wr->mode == MODE_MERGE) {
		view_snapshot(fd, wr->top, 1, &v);
		print_view(wr->top->name, &v, parsable);
	}
	for (size_t i = 0; i < wr->nsnaps; i++) {
		view_snapshot(fd, wr->snaps[i], 0, &v);
		print_view(wr->top->name, &v, parsable);
		invalid += v.st.state == DM_SNAP_INVALID;
	}
	return invalid;
}

static int is_dup_name(const char *name)
{
	size_t n = strlen(name);

	return n > 4 && !strcmp(name + n - 4, "_dup");
}

int cmd_show(int argc, char **argv)
{
	static const struct opt list[] = { { NULL, 'p', OPT_SHORT }, { "help", 'h', OPT_SHORT }, { 0 } };
	int parsable = 0, c, fd, invalid = 0, shown = 0;
	struct world w;
	struct wrapper wr;
	struct opts o;

	opts_start(&o, list, argv);
	while ((c = get_opt(&o, argc, argv)) != -1) {
		if (c == 'p')
			parsable = 1;
		else
			return c == 'h' ? (usage_of("show"), EXIT_OK) : usage_of("show");
	}
	if (o.nargs > 1)
		return usage_of("show");
	const char *name = o.nargs == 1 ? o.args[0] : NULL;
	fd = control();
	if (scan_world(fd, &w))
		return EXIT_FAIL;
	if (name) {
		if (find_wrapper(&w, name, &wr) == EXIT_OK) {
			invalid = show_wrapper(fd, &wr, parsable);
			shown = 1;
		}
	} else {
		for (size_t i = 0; i < w.n; i++)
			if (!is_dup_name(w.d[i].name) && identify_wrapper(&w, w.d[i].name, &wr) == 0) {
				invalid += show_wrapper(fd, &wr, parsable);
				shown++;
			}
		if (!shown && !parsable)
			out("No wrapped devices\n");
		shown = 1;
	}
	world_free(&w);
	if (!shown)
		return EXIT_FAIL;
	if (invalid)
		warn(0, "%d snapshot%s invalid: %s content cannot be trusted (the COW overflowed)", invalid,
		     invalid == 1 ? " is" : "s are", invalid == 1 ? "its" : "their");
	return invalid ? EXIT_INVALID : EXIT_OK;
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
 * The COW of a snapshot that is gone (params: its snapshot or snapshot-merge
 * table): zero its header so that the next snap takes it without --force.
 */
void retire_cow(const char *name, const char *params)
{
	struct dm_snap_table t;
	struct blockdev bd;
	char path[128];
	int r;

	if (!params || dm_parse_snap_table(params, &t) < 0)
		return;
	devno_path(t.cow_major, t.cow_minor, path, sizeof path);
	r = probe_blockdev(path, &bd);
	if (r == 0 && (bd.major != t.cow_major || bd.minor != t.cow_minor))
		r = -ENODEV;
	if (r == 0)
		r = zero_header(path, bd.sectors << DM_SECTOR_SHIFT, RETIRED_HEADER_BYTES);
	if (r < 0)
		warn(r, "%s: could not clear the header of its COW %s (the next snap on it needs --force):",
		     name, path);
}

/* Says how a removal went; a removed snapshot's COW is retired. */
static void removed(int r, const struct dev *d, int is_snapshot, int *failed)
{
	if (r < 0) {
		dm_warn(r, DM_DEV_REMOVE_CMD, d->name);
		(*failed)++;
		return;
	}
	remove_node(d->name);
	if (is_snapshot)
		retire_cow(d->name, d->live_params ? d->live_params : d->inactive_params);
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
	char params[64];
	struct dm_target t;
	int r, failed = 0, err[MAX_SNAPS];
	sigset_t saved;

	linear_target(&t, params, sizeof params, wr->sectors, wr->base_major, wr->base_minor);
	if ((r = dm_load(fd, wr->top->name, &t, 1, 0)) < 0)
		return dm_fail(r, DM_TABLE_LOAD_CMD, wr->top->name);
	prepare_window(&saved);
	if ((r = dm_suspend(fd, wr->top->name, DM_SKIP_LOCKFS_FLAG)) < 0) {
		dm_clear(fd, wr->top->name);
		sigprocmask(SIG_SETMASK, &saved, NULL);
		return dm_fail(r, DM_DEV_SUSPEND_CMD, wr->top->name);
	}
	for (size_t i = 0; i < n; i++)
		failed += (err[i] = remove_device(fd, drop[i]->name, REMOVE_TRIES, 0)) < 0;
	/* A snapshot that would not go still needs snapshot-origin above it. */
	if (failed)
		dm_clear(fd, wr->top->name);
	if ((r = dm_resume(fd, wr->top->name, NULL)) < 0)
		ensure_resumed(fd, wr->top->name);
	sigprocmask(SIG_SETMASK, &saved, NULL);
	if (r < 0)
		dm_warn(r, DM_DEV_SUSPEND_CMD, wr->top->name);
	failed = 0;
	for (size_t i = 0; i < n; i++)
		removed(err[i], drop[i], 1, &failed);
	if (failed)
		return fail(0, "%s: %d snapshot%s could not be removed; %s keeps snapshot-origin", wr->top->name,
			    failed, failed == 1 ? "" : "s", wr->top->name);
	for (size_t i = 0; i < wr->nhelpers; i++)
		if (wr->helpers[i]->info.open_count == 0)
			removed(remove_device(fd, wr->helpers[i]->name, REMOVE_TRIES, 0), wr->helpers[i], 0, &failed);
	return failed ? EXIT_FAIL : EXIT_OK;
}

/* Drops snapname (NULL: every snapshot) of name; NAME goes back to linear with the last. */
int drop_snapshots(int fd, const char *name, const char *snapname)
{
	struct world w;
	struct wrapper wr;
	struct dev *drop[MAX_SNAPS];
	size_t n = 0;
	int r = EXIT_OK, failed = 0;

	if (scan_world(fd, &w))
		return EXIT_FAIL;

	/* look */
	if (find_wrapper(&w, name, &wr)) {
		world_free(&w);
		return EXIT_FAIL;
	}
	if (wr.mode == MODE_MERGE || wr.mode == MODE_OTHER)
		r = fail(0, "%s is %s: not dropping anything", name,
			 wr.mode == MODE_MERGE ? "merging a snapshot back" : "holding a table dmsnap did not make");
	for (size_t i = 0; r == EXIT_OK && i < wr.nsnaps; i++)
		if (!snapname || !strcmp(snapname, wr.snaps[i]->name))
			drop[n++] = wr.snaps[i];
	if (r == EXIT_OK && snapname && n == 0)
		r = fail(0, "%s is not a snapshot of %s ('dmsnap show %s' lists them)", snapname, name, name);
	for (size_t i = 0; r == EXIT_OK && i < n; i++)
		r = refuse_open(drop[i], "nothing was dropped and the origin keeps working");

	/* act */
	if (r == EXIT_OK && n == wr.nsnaps && wr.mode == MODE_ORIGIN)
		r = drop_last(fd, &wr, drop, n);
	else if (r == EXIT_OK) {
		for (size_t i = 0; i < n; i++)
			removed(remove_device(fd, drop[i]->name, REMOVE_TRIES, 0), drop[i], 1, &failed);
		r = failed ? EXIT_FAIL : EXIT_OK;
	}
	if (r == EXIT_OK && n == 0)
		note("dmsnap: %s has no snapshots", name);
	world_free(&w);
	return r;
}

int cmd_drop(int argc, char **argv)
{
	if (argc == 2 && !strcmp(argv[1], "--help"))
		return usage_of("drop"), EXIT_OK;
	if (argc < 2 || argc > 3)
		return usage_of("drop");
	return drop_snapshots(control(), argv[1], argc == 3 ? argv[2] : NULL);
}

/* ---- unwrap ---- */

int cmd_unwrap(int argc, char **argv)
{
	struct world w;
	struct wrapper wr;
	int fd, r = EXIT_OK, failed = 0;

	if (argc == 2 && !strcmp(argv[1], "--help"))
		return usage_of("unwrap"), EXIT_OK;
	if (argc != 2)
		return usage_of("unwrap");
	fd = control();
	if (scan_world(fd, &w))
		return EXIT_FAIL;
	if (find_wrapper(&w, argv[1], &wr))
		r = EXIT_FAIL;
	else if (wr.nsnaps)
		r = fail(0, "%s has %zu snapshot%s: 'dmsnap drop %s' first", argv[1], wr.nsnaps,
			 wr.nsnaps == 1 ? "" : "s", argv[1]);
	else if (wr.mode != MODE_LINEAR)
		r = fail(0, "%s is %s, not linear: not unwrapping it", argv[1], mode_word(wr.mode));
	else if (!(r = refuse_open(wr.top, "nothing was unwrapped")))
		r = refuse_open(wr.dup, "nothing was unwrapped");
	if (r == EXIT_OK) {
		removed(remove_device(fd, wr.top->name, REMOVE_TRIES, 0), wr.top, 0, &failed);
		if (!failed)
			removed(remove_device(fd, wr.dup->name, REMOVE_TRIES, 0), wr.dup, 0, &failed);
		r = failed ? EXIT_FAIL : EXIT_OK;
	}
	world_free(&w);
	return r;
}
