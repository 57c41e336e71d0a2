/*
 * backup.c - the whole backup in one command (run), and watching COW use
 * (watch).  A full COW invalidates a snapshot silently; both commands make
 * that loud: warnings from 80 % up, exit status 3 when it happens.
 *
 * Waiting is event-driven: DM_DEV_WAIT on a snapshot returns when the
 * kernel raises an event on it (invalidation does).  COW growth raises no
 * event, so an alarm interrupts the wait to sample usage, which also bounds
 * every wait.
 */
#define _GNU_SOURCE
#include <errno.h>
#include <limits.h>
#include <fcntl.h>
#include <signal.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mount.h>
#include <sys/stat.h>
#include <sys/time.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include <getopt.h>
#include <stdio.h>

#include "backup.h"
#include "cli.h"
#include "grow.h"
#include "device.h"
#include "lock.h"
#include "snap.h"
#include "util.h"
#include "world.h"

#define FIRST_WARN_PERCENT 80
#define WARN_STEP_PERCENT  5
#define GROW_POLL_MS 50  /* watch --grow-with: how often usage is looked at between rounds */
#define CHILD_GRACE_SECONDS 10  /* after forwarding a signal, before SIGKILL */
#define ENV_VAR_LEN (PATH_MAX + 32)  /* DMSNAP_MOUNT=DIR */

static volatile sig_atomic_t got_signal, got_child;

static void on_signal(int sig)
{
	got_signal = sig;
}

static void on_child(int sig)
{
	(void)sig;
	got_child = 1;
}

/* The timer's signal only interrupts DM_DEV_WAIT: nothing to note. */
static void on_alarm(int sig)
{
	(void)sig;
}

/* Without SA_RESTART so that a signal interrupts DM_DEV_WAIT. */
static void handle(int sig, void (*fn)(int))
{
	struct sigaction sa = { .sa_handler = fn };

	sigemptyset(&sa.sa_mask);
	sigaction(sig, &sa, NULL);
}

static void handle_stop_signals(void (*fn)(int))
{
	handle(SIGINT, fn);
	handle(SIGTERM, fn);
	handle(SIGHUP, fn);
}

/* Usage past the next threshold: warn, and move the threshold up. */
struct usage_watch {
	unsigned next_percent;
	int invalid;
	int blind;  /* a status could not be read: the snapshot's health is unknown */
};

static void check_usage(const char *snap, const struct dm_snap_status *st, struct usage_watch *u)
{
	unsigned pm = permille_used(st);

	if (st->state == DM_SNAP_INVALID && !u->invalid) {
		u->invalid = 1;
		warn(0, "%s: snapshot INVALID: its COW filled up; its content cannot be trusted", snap);
		return;
	}
	if (st->state != DM_SNAP_ACTIVE || pm < u->next_percent * 10)
		return;
	warn(0, "%s: COW %u.%u%% full (%llu of %llu sectors); the snapshot becomes invalid at 100%%", snap,
	     pm / 10, pm % 10, (unsigned long long)st->used, (unsigned long long)st->total);
	u->next_percent = (pm / 10 / WARN_STEP_PERCENT + 1) * WARN_STEP_PERCENT;
}

/* Blocks until an event on name, a signal, or ms have passed; event_nr is updated. */
static int wait_event_or_tick(int fd, const char *name, uint32_t *event_nr, unsigned ms)
{
	struct itimerval tick = { .it_value = { (time_t)(ms / 1000), (suseconds_t)(ms % 1000 * 1000) } };
	struct dm_info info;
	int r = 0;

	setitimer(ITIMER_REAL, &tick, NULL);
	if (!got_child && !got_signal && (r = dm_wait_event(fd, name, *event_nr, &info)) == 0)
		*event_nr = info.event_nr;
	setitimer(ITIMER_REAL, &(struct itimerval){ 0 }, NULL);
	return r == -EINTR ? 0 : r;
}

/* Samples a snapshot's use; an unreadable status leaves the watch blind, which is said. */
static void sample(int fd, const char *snap, struct usage_watch *u)
{
	struct dm_snap_status st;
	int r = read_snap_status(fd, snap, &st);

	if (r == 0) {
		check_usage(snap, &st, u);
	} else if (!u->blind) {
		u->blind = 1;
		warn(r, "%s: cannot read the snapshot's status:", snap);
	}
}

/* ---- run ---- */

/* One snapshot of the run: where it is mounted, how full its COW is. */
struct run_mount {
	char dir[PATH_MAX];
	int made_dir, mounted;
	struct usage_watch u;
};

/* A run of one snapshot, mounted on DIR, or of a group's, each on DIR/NAME. */
struct run_state {
	struct snap_plan *p;
	size_t n;
	char dir[PATH_MAX];  /* DMSNAP_MOUNT */
	int made_dir;
	struct run_mount *m;
};

static int make_mount_dir(struct run_state *rs)
{
	if (rs->p->mount_dir) {
		snprintf(rs->dir, sizeof rs->dir, "%s", rs->p->mount_dir);
		return EXIT_OK;
	}
	snprintf(rs->dir, sizeof rs->dir, "/run/dmsnap-%s.XXXXXX", rs->p->snapname);
	if (!mkdtemp(rs->dir)) {
		snprintf(rs->dir, sizeof rs->dir, "/tmp/dmsnap-%s.XXXXXX", rs->p->snapname);
		if (!mkdtemp(rs->dir))
			return fail(errno, "make a mount point under /run or /tmp:");
	}
	rs->made_dir = 1;
	return EXIT_OK;
}

/* Snapshot i read-only, by signature; XFS refuses a second mount of one UUID without nouuid. */
static int mount_snapshot(struct run_state *rs, size_t i)
{
	const struct snap_plan *p = &rs->p[i];
	struct run_mount *m = &rs->m[i];
	char dev[sizeof DM_DIR + DM_NAME_LEN];
	const char *type;
	int fd;

	snprintf(dev, sizeof dev, "%s/%s", DM_DIR, p->snapname);
	if ((fd = open(dev, O_RDONLY | O_CLOEXEC)) < 0)
		return fail(errno, "open %s:", dev);
	type = find_fstype(fd, p->snap_line.t.length << DM_SECTOR_SHIFT);
	close(fd);
	if (!type)
		return fail(0, "%s: no filesystem dmsnap knows how to mount (xfs, ext2/3/4, btrfs, f2fs, vfat, iso9660, squashfs); use 'dmsnap snap' and mount it yourself",
			    dev);
	if ((size_t)snprintf(m->dir, sizeof m->dir, "%s%s%s", rs->dir, rs->n > 1 ? "/" : "", rs->n > 1 ? p->name : "") >=
	    sizeof m->dir)
		return fail(-ENAMETOOLONG, "%s/%s:", rs->dir, p->name);
	if (rs->n > 1 && mkdir(m->dir, 0700) == 0)
		m->made_dir = 1;
	else if (rs->n > 1 && errno != EEXIST)
		return fail(errno, "mkdir %s:", m->dir);
	if (mount(dev, m->dir, type, MS_RDONLY | MS_NODEV | MS_NOSUID, !strcmp(type, "xfs") ? "nouuid" : "") < 0)
		return fail(errno, "mount %s (%s) read-only on %s:", dev, type, m->dir);
	m->mounted = 1;
	return EXIT_OK;
}

static int mount_snapshots(struct run_state *rs)
{
	if (make_mount_dir(rs))
		return EXIT_FAIL;
	for (size_t i = 0; i < rs->n; i++)
		if (mount_snapshot(rs, i))
			return EXIT_FAIL;
	return EXIT_OK;
}

extern char **environ;

/* environ with vars (NAME=VALUE) in place of any it had; NULL without memory. */
static char **with_env(char **vars, size_t nvars)
{
	size_t n = 0, k = 0, j;
	char **env;

	while (environ[n])
		n++;
	if (!(env = malloc((n + nvars + 1) * sizeof *env)))
		return NULL;
	for (size_t i = 0; i < n; i++) {
		for (j = 0; j < nvars && strncmp(environ[i], vars[j], strcspn(vars[j], "=") + 1); j++)
			;
		if (j == nvars)
			env[k++] = environ[i];
	}
	for (j = 0; j < nvars; j++)
		env[k++] = vars[j];
	env[k] = NULL;
	return env;
}

/* KEY=each snapshot's device (or origin), blank-separated; NULL without memory. */
static char *pairs_var(const char *key, const struct run_state *rs, int origins)
{
	size_t size = strlen(key) + rs->n * (sizeof DM_DIR + DM_NAME_LEN), len = strlen(key);
	char *s = malloc(size);

	if (s)
		strcpy(s, key);
	for (size_t i = 0; s && i < rs->n; i++)
		len += (size_t)snprintf(s + len, size - len, "%s%s%s", i ? " " : "", origins ? "" : DM_DIR "/",
					origins ? rs->p[i].name : rs->p[i].snapname);
	return s;
}

static pid_t start_command(const struct run_state *rs, char **cmd, const sigset_t *mask)
{
	char mount_var[ENV_VAR_LEN], *vars[3], **env;
	pid_t pid;

	fflush(stdout);
	if ((pid = fork()) != 0)
		return pid;
	handle_stop_signals(SIG_DFL);
	handle(SIGCHLD, SIG_DFL);
	handle(SIGALRM, SIG_DFL);
	sigprocmask(SIG_SETMASK, mask, NULL);
	snprintf(mount_var, sizeof mount_var, "DMSNAP_MOUNT=%s", rs->dir);
	vars[0] = mount_var;
	vars[1] = pairs_var("DMSNAP_DEVICE=", rs, 0);
	vars[2] = pairs_var("DMSNAP_ORIGIN=", rs, 1);
	if (vars[1] && vars[2] && (env = with_env(vars, 3)))
		execvpe(cmd[0], cmd, env);
	warn(errno, "run %s:", cmd[0]);
	_exit(127);
}

/* Waits for the command, watching every COW; forwards stop signals. */
static int supervise(int fd, const struct run_state *rs, pid_t pid)
{
	const char *first = rs->p->snapname;
	struct dm_info info;
	uint32_t event_nr = 0;
	int status = 0, forwarded = 0, r;
	time_t kill_at = 0;

	if ((r = dm_get_info(fd, first, &info)) == 0)
		event_nr = info.event_nr;
	else
		rs->m->u.blind = 1;
	for (;;) {
		if (waitpid(pid, &status, WNOHANG) == pid)
			break;
		got_child = 0;
		if (got_signal && !forwarded) {
			kill(pid, got_signal);
			forwarded = 1;
			kill_at = time(NULL) + CHILD_GRACE_SECONDS;
		}
		if (kill_at && time(NULL) >= kill_at)
			kill(pid, SIGKILL);
		if ((r = wait_event_or_tick(fd, first, &event_nr, 1000)) < 0 && !rs->m->u.blind) {
			rs->m->u.blind = 1;
			dm_warn(r, DM_DEV_WAIT_CMD, first);
		}
		for (size_t i = 0; i < rs->n; i++)
			sample(fd, rs->p[i].snapname, &rs->m[i].u);
	}
	for (size_t i = 0; i < rs->n; i++)
		sample(fd, rs->p[i].snapname, &rs->m[i].u);
	return WIFEXITED(status) ? WEXITSTATUS(status) : 128 + WTERMSIG(status);
}

/* Always: unmount, remove the mount points we made, drop the snapshots. */
static int tear_down(int fd, struct run_state *rs)
{
	int r = EXIT_OK, busy = 0;

	for (size_t i = 0; i < rs->n; i++) {
		struct run_mount *m = &rs->m[i];
		const struct snap_plan *p = &rs->p[i];

		for (int k = 0; m->mounted && k < 50; k++) {
			if (umount(m->dir) == 0 || errno == EINVAL)
				m->mounted = 0;
			else
				nanosleep(&(struct timespec){ 0, 100 * 1000 * 1000 }, NULL);
		}
		if (m->mounted) {
			busy = r = fail(errno, "umount %s (still busy after 5 s; the snapshot %s stays, 'dmsnap drop %s %s' later):",
					m->dir, p->snapname, p->name, p->snapname);
			continue;
		}
		if (m->made_dir && rmdir(m->dir) < 0)
			warn(errno, "rmdir %s:", m->dir);
		if (drop_snapshots(fd, p->name, p->snapname))
			r = EXIT_FAIL;
	}
	if (rs->made_dir && !busy && rmdir(rs->dir) < 0)
		warn(errno, "rmdir %s:", rs->dir);
	return r;
}

/* Are argv[1..end) snap options only, with their values? */
static int options_only(int end, char **argv)
{
	for (int i = 1; i < end; i++) {
		const char *a = argv[i];
		size_t n = strlen(a);
		if (a[0] != '-' || n < 2)
			return 0;
		if (!strcmp(a, "-c") || !strcmp(a, "-s") || (n >= 4 && !strncmp(a, "--mount", n)))
			i++;  /* its value follows */
	}
	return 1;
}

/*
 * Where the backup command starts: `run [OPTS] NAME COW -- CMD`, or, with
 * the first -- ending the options as in every command, `run [OPTS] -- NAME
 * COW -- CMD` (getopt then takes NAME and COW after that first --).
 * Returns the index of the -- before CMD (argc if none).
 */
static int split_run_args(int argc, char **argv)
{
	int first = 1, second, i;

	while (first < argc && strcmp(argv[first], "--"))
		first++;
	if (first == argc || !options_only(first, argv))
		return first;
	for (second = first + 1; second < argc && strcmp(argv[second], "--"); second++)
		;
	/* Between the two: NAME COW, or NAME:COW pairs. */
	for (i = first + 1; i < second && strchr(argv[i], ':'); i++)
		;
	return second == first + 3 || (i == second && i > first + 1) ? second : first;
}

int cmd_run(int argc, char **argv)
{
	struct run_state rs = { 0 };
	sigset_t none, all;
	int dashes = 1, help, fd, r, code = EXIT_FAIL;
	pid_t pid;

	if (argc == 2 && (!strcmp(argv[1], "--help") || !strcmp(argv[1], "-h")))
		return show_help();
	if ((dashes = split_run_args(argc, argv)) >= argc - 1) {
		warn(0, "run: give the backup command after '--'");
		return usage_error();
	}
	if ((r = parse_snap_args(dashes, argv, &rs.p, &rs.n, &help)) || help)
		return r;
	if (rs.p->mount_dir && strlen(rs.p->mount_dir) >= sizeof rs.dir)
		return bad_usage("run: --mount DIR is %zu bytes: paths are at most %zu", strlen(rs.p->mount_dir),
				 sizeof rs.dir - 1);
	if (!(rs.m = calloc(rs.n, sizeof *rs.m)))
		return fail(-ENOMEM, "run:");
	for (size_t i = 0; i < rs.n; i++)
		rs.m[i].u.next_percent = FIRST_WARN_PERCENT;
	if ((fd = need_control()) < 0)
		return EXIT_FAIL;
	/* Caught from here on: a stop signal tears down instead of leaving a snapshot behind. */
	handle_stop_signals(on_signal);
	handle(SIGCHLD, on_child);
	handle(SIGALRM, on_alarm);
	if ((r = take_snapshot(fd, rs.p, rs.n)))
		return r;
	sigemptyset(&none);
	if (got_signal)
		warn(0, "interrupted: tearing down");
	else if (mount_snapshots(&rs) == EXIT_OK) {
		if ((pid = start_command(&rs, argv + dashes + 1, &none)) > 0)
			code = supervise(fd, &rs, pid);
		else
			warn(errno, "run %s: fork:", argv[dashes + 1]);
	}
	sigfillset(&all);
	sigprocmask(SIG_BLOCK, &all, NULL);
	r = tear_down(fd, &rs);
	if (got_signal)
		return fail(0, "stopped by signal %d; snapshot dropped", (int)got_signal), 128 + got_signal;
	int invalid = 0, blind = 0;
	for (size_t i = 0; i < rs.n; i++) {
		if (rs.m[i].u.invalid)
			invalid = fail(0, "the backup is INCOMPLETE: %s overflowed its COW %s while the command ran (exit %d); use a bigger COW",
				       rs.p[i].snapname, rs.p[i].cow.path, code);
		blind |= rs.m[i].u.blind;
	}
	if (invalid)
		return EXIT_INVALID;
	if (blind && code == 0)
		return fail(0, "the backup is UNVERIFIED: a snapshot's status could not be read, so an overflow may have gone unseen");
	return code ? code : r;
}

/* ---- watch ---- */

/* Each snapshot's thresholds, by name: a new snapshot starts fresh. */
struct watched {
	char name[DM_NAME_LEN];
	struct usage_watch u;
};

static struct usage_watch *watch_of(struct watched **list, size_t *n, const char *snap, unsigned warn_at)
{
	struct watched *more;

	for (size_t i = 0; i < *n; i++)
		if (!strcmp((*list)[i].name, snap))
			return &(*list)[i].u;
	if (!(more = grow_block(*list, *n * sizeof *more, (*n + 1) * sizeof *more)))
		return NULL;
	*list = more;
	snprintf(more[*n].name, sizeof more[*n].name, "%s", snap);
	more[*n].u = (struct usage_watch){ warn_at, 0, 0 };
	return &more[(*n)++].u;
}

/*
 * One look at every snapshot of wr: a line each, warnings past thresholds.
 * EXIT_INVALID when one is invalid or unprotected, EXIT_FAIL when a status
 * cannot be read or stdout cannot be written: a watch that cannot see must not go on quietly.
 */
static int watch_round(const struct wrapper *wr, struct watched **list, size_t *n, unsigned warn_at,
		       unsigned grow_at, char *grow)
{
	struct dm_snap_status st;
	int r = EXIT_OK;

	for (size_t i = 0; i < wr->nsnaps; i++) {
		const struct dev *d = wr->snaps[i];
		struct usage_watch *u = watch_of(list, n, d->name, warn_at);
		if (!u)
			return fail(-ENOMEM, "%s:", d->name);
		if (!d->live_params || d->info.flags & DM_SUSPEND_FLAG)
			continue;  /* not live yet: a snap or a recover is at work */
		if (!d->status || dm_parse_snap_status(d->status, &st) < 0 || st.state == DM_SNAP_UNKNOWN) {
			warn(0, "%s: its status cannot be read: its health is unknown", d->name);
			r = r ? r : EXIT_FAIL;
			continue;
		}
		if (wr->mode != MODE_ORIGIN && st.state == DM_SNAP_ACTIVE) {
			warn(0, "%s: BROKEN: %s no longer carries snapshot-origin, so writes bypass the snapshot",
			     d->name, wr->top->name);
			r = EXIT_INVALID;
			continue;
		}
		unsigned pm = permille_used(&st);
		if (st.state == DM_SNAP_ACTIVE)
			printf("%s: %u.%u%% used (%llu of %llu sectors)\n", d->name, pm / 10, pm % 10,
			       (unsigned long long)st.used, (unsigned long long)st.total);
		else
			printf("%s: %s\n", d->name, st.state == DM_SNAP_INVALID ? "INVALID" : "not active");
		if (grow_at && st.state == DM_SNAP_ACTIVE && pm >= grow_at * 10)
			snprintf(grow, DM_NAME_LEN, "%s", d->name);  /* grown, not warned of, while spares last */
		else
			check_usage(d->name, &st, u);
		if (u->invalid)
			r = EXIT_INVALID;
	}
	if (fflush(stdout) != 0)
		return fail(errno, "writing standard output:");
	return r;
}

/*
 * Whether a watched snapshot's COW has reached grow_at percent: looked at
 * between rounds, as writeback can fill a COW from the threshold to the
 * end in well under a second.
 */
static int past_grow_at(int fd, const struct watched *list, size_t n, unsigned grow_at)
{
	struct dm_snap_status st;

	for (size_t i = 0; i < n; i++)
		if (read_snap_status(fd, list[i].name, &st) == 0 && st.state == DM_SNAP_ACTIVE &&
		    permille_used(&st) >= grow_at * 10)
			return 1;
	return 0;
}

static int parse_watch_number(const char *arg, unsigned max, unsigned *v)
{
	uint64_t x;
	char *end;

	if (parse_u64(arg, &end, &x) || *end || x == 0 || x > max)
		return -EINVAL;
	*v = (unsigned)x;
	return 0;
}

int cmd_watch(int argc, char **argv)
{
	const struct option *list = long_opts("w=warn\0o once\0i=interval\0g=grow-with\0a=grow-at\0");
	unsigned warn_at = FIRST_WARN_PERCENT, interval = 5, grow_at = 80;
	char *spares = NULL;
	int once = 0, c, fd, r = EXIT_OK;
	struct watched *watched = NULL;
	size_t nwatched = 0;

	while ((c = getopt_long(argc, argv, "h", list, NULL)) != -1) {
		switch (c) {
		case 'w':
			if (parse_watch_number(optarg, 100, &warn_at))
				return bad_usage("watch: --warn takes a percentage from 1 to 100");
			break;
		case 'i':
			if (parse_watch_number(optarg, 3600, &interval))
				return bad_usage("watch: --interval takes seconds from 1 to 3600");
			break;
		case 'o': once = 1; break;
		case 'g': spares = optarg; break;
		case 'a':
			if (parse_watch_number(optarg, 99, &grow_at))
				return bad_usage("watch: --grow-at takes a percentage from 1 to 99");
			break;
		case 'h': return show_help();
		default: return usage_error();
		}
	}
	if (argc - optind != 1)
		return usage_error();
	const char *name = argv[optind];

	if ((fd = need_control()) < 0)
		return EXIT_FAIL;
	handle_stop_signals(on_signal);
	handle(SIGALRM, on_alarm);
	for (size_t k = 0; !got_signal && r == EXIT_OK; k++) {
		struct world w;
		struct wrapper wr;
		char wait_name[DM_NAME_LEN], grow[DM_NAME_LEN] = "";
		uint32_t event_nr;

		int locked = read_lock(fd);
		r = scan_or_fail(fd, &w, WITH_STATUS);
		if (locked)
			lock_release(fd);
		if (r)
			break;
		if ((r = wrapper_or_fail(&w, name, &wr))) {
			world_free(&w);
			break;
		}
		r = watch_round(&wr, &watched, &nwatched, warn_at, spares && *spares ? grow_at : 0, grow);
		const struct dev *on = wr.nsnaps ? wr.snaps[k % wr.nsnaps] : wr.top;
		snprintf(wait_name, sizeof wait_name, "%s", on->name);
		event_nr = on->info.event_nr;
		wrapper_free(&wr);
		world_free(&w);
		if (r || once)
			break;
		if (grow[0]) {
			/* One spare at a time, in the order given; one that fails is passed over. */
			char *dev = strsep(&spares, ",");
			printf("%s: growing its COW by %s\n", grow, dev);
			fflush(stdout);
			grow_snapshot(fd, name, grow, &dev, 1);
			continue;
		}
		/* the next round after an event, a signal or the interval; with spares left, as soon as one is needed */
		for (unsigned ms = 0, tick = spares && *spares ? GROW_POLL_MS : interval * 1000; ms < interval * 1000;
		     ms += tick) {
			uint32_t before = event_nr;
			if ((r = wait_event_or_tick(fd, wait_name, &event_nr, tick)) < 0) {
				r = dm_fail(r, DM_DEV_WAIT_CMD, wait_name);
				break;
			}
			if (got_signal || event_nr != before || past_grow_at(fd, watched, nwatched, grow_at))
				break;
		}
	}
	free(watched);
	return r;
}
