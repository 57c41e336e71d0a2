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
#include <fcntl.h>
#include <signal.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mount.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include "dmsnap.h"

#define FIRST_WARN_PERCENT 80
#define WARN_STEP_PERCENT  5
#define CHILD_GRACE_SECONDS 10  /* after forwarding a signal, before SIGKILL */

static volatile sig_atomic_t got_signal, got_child, got_alarm;

static void on_signal(int sig)
{
	got_signal = sig;
}

static void on_child(int sig)
{
	(void)sig;
	got_child = 1;
}

static void on_alarm(int sig)
{
	(void)sig;
	got_alarm = 1;
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

/* Blocks until an event on name, a signal, or the alarm; event_nr is updated. */
static int wait_event_or_tick(int fd, const char *name, uint32_t *event_nr, unsigned seconds)
{
	struct dm_info info;
	int r = 0;

	got_alarm = 0;
	alarm(seconds);
	if (!got_child && !got_signal && (r = dm_wait_event(fd, name, *event_nr, &info)) == 0)
		*event_nr = info.event_nr;
	alarm(0);
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

struct run_state {
	struct snap_plan p;
	char dir[256], dev[sizeof DM_DIR + DM_NAME_LEN];
	int made_dir, mounted;
};

static int make_mount_dir(struct run_state *rs)
{
	if (rs->p.mount_dir) {
		fmt(rs->dir, sizeof rs->dir, "%s", rs->p.mount_dir);
		return EXIT_OK;
	}
	fmt(rs->dir, sizeof rs->dir, "/run/dmsnap-%s.XXXXXX", rs->p.snapname);
	if (!mkdtemp(rs->dir)) {
		fmt(rs->dir, sizeof rs->dir, "/tmp/dmsnap-%s.XXXXXX", rs->p.snapname);
		if (!mkdtemp(rs->dir))
			return fail(errno, "make a mount point under /run or /tmp:");
	}
	rs->made_dir = 1;
	return EXIT_OK;
}

/* Read-only, by signature; XFS refuses a second mount of one UUID without nouuid. */
static int mount_snapshot(struct run_state *rs)
{
	const char *type;
	int fd;

	fmt(rs->dev, sizeof rs->dev, "%s/%s", DM_DIR, rs->p.snapname);
	if ((fd = open(rs->dev, O_RDONLY | O_CLOEXEC)) < 0)
		return fail(errno, "open %s:", rs->dev);
	type = find_fstype(fd, rs->p.snap_t.length << DM_SECTOR_SHIFT);
	close(fd);
	if (!type)
		return fail(0, "%s: no filesystem dmsnap knows how to mount (xfs, ext2/3/4, btrfs, f2fs, vfat, iso9660, squashfs); use 'dmsnap snap' and mount it yourself",
			    rs->dev);
	if (make_mount_dir(rs))
		return EXIT_FAIL;
	if (mount(rs->dev, rs->dir, type, MS_RDONLY | MS_NODEV | MS_NOSUID,
		  !strcmp(type, "xfs") ? "nouuid" : "") < 0)
		return fail(errno, "mount %s (%s) read-only on %s:", rs->dev, type, rs->dir);
	rs->mounted = 1;
	return EXIT_OK;
}

extern char **environ;

/* environ with vars (NAME=VALUE) in place of any it had; NULL without memory. */
static char **with_env(char vars[][300], size_t nvars)
{
	size_t n = 0, k = 0, j;
	char **env;

	while (environ[n])
		n++;
	if (!(env = mem_alloc((n + nvars + 1) * sizeof *env)))
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

static pid_t start_command(const struct run_state *rs, char **cmd, const sigset_t *mask)
{
	char vars[3][300], **env;
	pid_t pid;

	out_flush();
	if ((pid = fork()) != 0)
		return pid;
	handle_stop_signals(SIG_DFL);
	handle(SIGCHLD, SIG_DFL);
	handle(SIGALRM, SIG_DFL);
	sigprocmask(SIG_SETMASK, mask, NULL);
	fmt(vars[0], sizeof vars[0], "DMSNAP_MOUNT=%s", rs->dir);
	fmt(vars[1], sizeof vars[1], "DMSNAP_DEVICE=%s", rs->dev);
	fmt(vars[2], sizeof vars[2], "DMSNAP_ORIGIN=%s", rs->p.name);
	if ((env = with_env(vars, 3)))
		execvpe(cmd[0], cmd, env);
	errf("dmsnap: run %s: %s\n", cmd[0], strerror(errno));
	_exit(127);
}

/* Waits for the command, watching the COW; forwards stop signals. */
static int supervise(int fd, const struct run_state *rs, pid_t pid, struct usage_watch *u)
{
	struct dm_info info;
	uint32_t event_nr = 0;
	int status = 0, forwarded = 0, r;
	time_t kill_at = 0;

	if ((r = dm_get_info(fd, rs->p.snapname, &info)) == 0)
		event_nr = info.event_nr;
	else
		u->blind = 1;
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
		if ((r = wait_event_or_tick(fd, rs->p.snapname, &event_nr, 1)) < 0 && !u->blind) {
			u->blind = 1;
			dm_warn(r, DM_DEV_WAIT_CMD, rs->p.snapname);
		}
		sample(fd, rs->p.snapname, u);
	}
	sample(fd, rs->p.snapname, u);
	return WIFEXITED(status) ? WEXITSTATUS(status) : 128 + WTERMSIG(status);
}

/* Always: unmount, remove the mount point we made, drop the snapshot. */
static int tear_down(int fd, struct run_state *rs)
{
	int r = EXIT_OK;

	for (int i = 0; rs->mounted && i < 50; i++) {
		if (umount(rs->dir) == 0 || errno == EINVAL)
			rs->mounted = 0;
		else
			nanosleep(&(struct timespec){ 0, 100 * 1000 * 1000 }, NULL);
	}
	if (rs->mounted)
		return fail(errno, "umount %s (still busy after 5 s; the snapshot %s stays, 'dmsnap drop %s %s' later):",
			    rs->dir, rs->p.snapname, rs->p.name, rs->p.snapname);
	if (rs->made_dir && rmdir(rs->dir) < 0)
		warn(errno, "rmdir %s:", rs->dir);
	if (drop_snapshots(fd, rs->p.name, rs->p.snapname))
		r = EXIT_FAIL;
	return r;
}

int cmd_run(int argc, char **argv)
{
	struct run_state rs = { 0 };
	struct usage_watch u = { FIRST_WARN_PERCENT, 0, 0 };
	sigset_t none, all;
	int dashes = 1, fd, r, code = EXIT_FAIL;
	pid_t pid;

	while (dashes < argc && strcmp(argv[dashes], "--"))
		dashes++;
	if (dashes >= argc - 1) {
		errf("dmsnap: run: give the backup command after '--'\n");
		return usage_of("run");
	}
	if ((r = parse_snap_args(dashes, argv, &rs.p)))
		return r;
	fd = control();
	/* Caught from here on: a stop signal tears down instead of leaving a snapshot behind. */
	handle_stop_signals(on_signal);
	handle(SIGCHLD, on_child);
	handle(SIGALRM, on_alarm);
	if ((r = take_snapshot(fd, &rs.p)))
		return r;
	sigemptyset(&none);
	if (got_signal)
		warn(0, "interrupted: tearing down");
	else if (mount_snapshot(&rs) == EXIT_OK) {
		if ((pid = start_command(&rs, argv + dashes + 1, &none)) > 0)
			code = supervise(fd, &rs, pid, &u);
		else
			warn(errno, "run %s: fork:", argv[dashes + 1]);
	}
	sigfillset(&all);
	sigprocmask(SIG_BLOCK, &all, NULL);
	r = tear_down(fd, &rs);
	if (got_signal)
		return fail(0, "stopped by signal %d; snapshot dropped", (int)got_signal), 128 + got_signal;
	if (u.invalid)
		return fail(0, "the backup is INCOMPLETE: %s overflowed its COW %s while the command ran (exit %d); use a bigger COW",
			    rs.p.snapname, rs.p.cow_path, code), EXIT_INVALID;
	if (u.blind && code == 0)
		return fail(0, "the backup is UNVERIFIED: %s's status could not be read, so an overflow may have gone unseen",
			    rs.p.snapname);
	return code ? code : r;
}

/* ---- watch ---- */

int cmd_watch(int argc, char **argv)
{
	static const struct opt list[] = {
		{ "warn", 'w', OPT_ARG }, { "once", 'o', 0 }, { "interval", 'i', OPT_ARG },
		{ "help", 'h', OPT_SHORT }, { 0 } };
	unsigned warn_at = FIRST_WARN_PERCENT, interval = 5;
	int once = 0, c, fd, r;
	struct opts o;
	uint64_t v;
	char *end;

	opts_start(&o, list, argv);
	while ((c = get_opt(&o, argc, argv)) != -1) {
		switch (c) {
		case 'w':
			if (parse_u64(o.arg, &end, &v) || *end || v == 0 || v > 100) {
				errf("dmsnap: watch: --warn takes a percentage from 1 to 100\n");
				return EXIT_USAGE;
			}
			warn_at = (unsigned)v;
			break;
		case 'i':
			if (parse_u64(o.arg, &end, &v) || *end || v == 0 || v > 3600) {
				errf("dmsnap: watch: --interval takes seconds from 1 to 3600\n");
				return EXIT_USAGE;
			}
			interval = (unsigned)v;
			break;
		case 'o': once = 1; break;
		case 'h': usage_of("watch"); return EXIT_OK;
		default: return usage_of("watch");
		}
	}
	if (o.nargs != 1)
		return usage_of("watch");
	const char *name = o.args[0];
	struct usage_watch u[MAX_SNAPS];
	char last[MAX_SNAPS][DM_NAME_LEN] = { { 0 } };

	fd = control();
	handle_stop_signals(on_signal);
	handle(SIGALRM, on_alarm);
	for (size_t k = 0; !got_signal; k++) {
		struct world w;
		struct wrapper wr;
		struct dm_snap_status st;
		uint32_t event_nr;

		if (scan_world(fd, &w))
			return EXIT_FAIL;
		if (find_wrapper(&w, name, &wr)) {
			world_free(&w);
			return EXIT_FAIL;
		}
		int invalid = 0;
		for (size_t i = 0; i < wr.nsnaps; i++) {
			const char *snap = wr.snaps[i]->name;
			if (strcmp(last[i], snap)) {  /* a new snapshot in this slot: fresh thresholds */
				fmt(last[i], sizeof last[i], "%s", snap);
				u[i] = (struct usage_watch){ warn_at, 0, 0 };
			}
			if (read_snap_status(fd, snap, &st) < 0)
				continue;
			unsigned pm = permille_used(&st);
			if (st.state == DM_SNAP_ACTIVE)
				out("%s: %u.%u%% used (%llu of %llu sectors)\n", snap, pm / 10, pm % 10,
				       (unsigned long long)st.used, (unsigned long long)st.total);
			else
				out("%s: %s\n", snap, st.state == DM_SNAP_INVALID ? "INVALID" : "not active");
			out_flush();
			check_usage(snap, &st, &u[i]);
			invalid |= u[i].invalid;
		}
		const char *wait_on = wr.nsnaps ? wr.snaps[k % wr.nsnaps]->name : name;
		event_nr = wr.nsnaps ? wr.snaps[k % wr.nsnaps]->info.event_nr : wr.top->info.event_nr;
		char wait_name[DM_NAME_LEN];
		fmt(wait_name, sizeof wait_name, "%s", wait_on);
		world_free(&w);
		if (invalid)
			return EXIT_INVALID;
		if (once)
			return EXIT_OK;
		if ((r = wait_event_or_tick(fd, wait_name, &event_nr, interval)) < 0)
			return dm_fail(r, DM_DEV_WAIT_CMD, wait_name);
	}
	return EXIT_OK;
}
