/*
 * world_unit.c - host tests of world.c's classification (identify_wrapper)
 * and recover's repair plan (plan_repair) on states captured from a real
 * kernel.
 *
 * Every file in the fixture directory is one point of the guest fault matrix
 * (tests/guest/faults.sh): dmsnap killed before one ioctl step, then what the
 * kernel held (dmsetup's info, table, inactive table and status lines), what
 * `dmsnap recover` printed, and the state it left.  Each state is loaded into
 * a struct world as scan_world() fills it; the first repair plan_repair()
 * chooses must be the one recover made in the guest, and the state recover
 * left must need none.  Hand-written states cover what the matrix does not
 * reach; hostile texts check that the loader refuses what it cannot read whole.
 *
 * usage: world_unit FIXTURE_DIR
 * One line per test (PASS: name / FAIL: name: why), then "N passed, N failed";
 * exits 1 if anything failed.  Texts are copied into buffers of exactly their
 * size so that a sanitizer build catches any read past the end.
 */
#define _GNU_SOURCE
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <stdarg.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "../../dm_ioctl.h"
#include "../../probe.h"
#include "../../targets.h"
#include "../../util.h"
#include "../../world.h"

/*
 * device.c (get_single_target, which world.c's scan_world needs) and
 * record.c call into probe.c for what they do to COW devices.  Nothing here
 * may touch a device: these stand in for probe.c and stop the test if
 * anything reaches them.
 */
static _Noreturn void touched(const char *what)
{
	fprintf(stderr, "world_unit: %s called: the code under test touched a device\n", what);
	abort();
}

int probe_blockdev(const char *path, struct blockdev *bd)
{
	(void)path, (void)bd;
	touched("probe_blockdev");
}

int open_exclusive(const char *path, int flags)
{
	(void)path, (void)flags;
	touched("open_exclusive");
}

int devno_path(uint32_t major, uint32_t minor, char *buf, size_t size)
{
	(void)major, (void)minor, (void)buf, (void)size;
	touched("devno_path");
}

int probe_fd(int fd, struct blockdev *bd)
{
	(void)fd, (void)bd;
	touched("probe_fd");
}

void drop_cache(int fd)
{
	(void)fd;
	touched("drop_cache");
}

int read_cow_header(int fd, struct cow_header *h)
{
	(void)fd, (void)h;
	touched("read_cow_header");
}

#include "harness.h"

static const char *kind_word(enum repair_kind k)
{
	static const char *const words[] = {
		"REPAIR_NONE", "REPAIR_SWAP_IN_ORIGIN", "REPAIR_SWAP_IN_LINEAR", "REPAIR_CLEAR_INACTIVE",
		"REPAIR_RESUME", "REPAIR_REMOVE", "REPAIR_REMOVE_RETIRE", "REPAIR_TO_LINEAR", "REPAIR_REMOVE_COW",
	};

	return (unsigned)k < sizeof words / sizeof *words ? words[k] : "(no such kind)";
}

static void check_kind(const char *what, enum repair_kind got, enum repair_kind want)
{
	if (got != want)
		fail("%s: got %s, want %s", what, kind_word(got), kind_word(want));
}

/* ---- the loader: a fixture's text into struct world, as scan_world() fills it ---- */

#define MAX_DEVS     64    /* per state: more is not a state the matrix makes */
#define MAX_LINE     4096
#define MAX_RECOVER  32

enum table_kind { LIVE, INACTIVE, STATUS };

/* What a state's lines said about each device, beyond struct dev itself. */
struct seen {
	unsigned table, inactive, status;   /* lines of each kind, "NAME:" included */
	unsigned bare;                      /* kinds (1 << table_kind) said with a bare "NAME:" */
	unsigned live_targets, status_targets;
	char status_type[DM_MAX_TYPE_NAME];
	char *status_params;                /* the first status line's */
};

struct state {
	struct world w;
	struct seen seen[MAX_DEVS];
	int lines;
};

struct fixture {
	char what[256];              /* the case line: workflow, step, ioctl */
	struct state before, after;
	char *recover[MAX_RECOVER];  /* recover's output, stdout and stderr in order */
	size_t nrecover;
	int recover_exit;            /* -1: not recorded */
};

static char load_err[256];

static int refuse(int line, const char *fmt, ...) __attribute__((format(printf, 2, 3)));
static int refuse(int line, const char *fmt, ...)
{
	va_list ap;
	int n = snprintf(load_err, sizeof load_err, "line %d: ", line);

	va_start(ap, fmt);
	vsnprintf(load_err + n, sizeof load_err - (size_t)n, fmt, ap);
	va_end(ap);
	return -EINVAL;
}

static void state_free(struct state *s)
{
	for (size_t i = 0; i < s->w.n; i++)
		free(s->seen[i].status_params);
	world_free(&s->w);
	memset(s, 0, sizeof *s);
}

static void fixture_free(struct fixture *f)
{
	state_free(&f->before);
	state_free(&f->after);
	for (size_t i = 0; i < f->nrecover; i++)
		free(f->recover[i]);
	memset(f, 0, sizeof *f);
}

/* A whole field as a number no larger than max. */
static int field_u64(const char *s, uint64_t max, uint64_t *v)
{
	char *end;

	return parse_u64(s, &end, v) || *end || *v > max ? -EINVAL : 0;
}

/* "NAME MAJOR MINOR ATTR OPEN SEGMENTS EVENTS [UUID]", dmsetup info -c's fields. */
static int load_info(struct state *s, char *rest, int ln)
{
	char *f[8], *p = rest;
	size_t n = 0;
	uint64_t major, minor, open, segments, events;

	/* Split on every single blank: an empty field (two blanks) is an error, not skipped. */
	while (p && n < 8)
		f[n++] = strsep(&p, " ");
	if (p || n < 7)
		return refuse(ln, "info: want 7 or 8 fields (name major minor attr open segments events [uuid])");
	for (size_t i = 0; i < n; i++)
		if (!f[i][0])
			return refuse(ln, "info: field %zu is empty", i + 1);
	if (dm_check_name(f[0]))
		return refuse(ln, "info: \"%s\" is not a device name", f[0]);
	if (find_dev(&s->w, f[0]))
		return refuse(ln, "info: %s twice", f[0]);
	if (field_u64(f[1], 0xfff, &major) || field_u64(f[2], 0xfffff, &minor) || field_u64(f[4], INT32_MAX, &open) ||
	    field_u64(f[5], UINT32_MAX, &segments) || field_u64(f[6], UINT32_MAX, &events))
		return refuse(ln, "info %s: major, minor, open, segments and events are numbers in range", f[0]);
	if (strlen(f[3]) != 4 || !strchr("L-", f[3][0]) || !strchr("I-", f[3][1]) || !strchr("s-", f[3][2]) ||
	    !strchr("rw", f[3][3]))
		return refuse(ln, "info %s: attr \"%s\" is not [L-][I-][s-][rw]", f[0], f[3]);
	if (n == 8 && dm_check_uuid(f[7]))
		return refuse(ln, "info %s: \"%s\" is not a uuid", f[0], f[7]);
	if (s->w.n == MAX_DEVS)
		return refuse(ln, "info: more than %d devices", MAX_DEVS);

	struct dev *more = realloc(s->w.d, (s->w.n + 1) * sizeof *more);
	if (!more)
		return refuse(ln, "out of memory");
	s->w.d = more;
	struct dev *d = &s->w.d[s->w.n++];
	memset(d, 0, sizeof *d);
	memset(&s->seen[s->w.n - 1], 0, sizeof s->seen[0]);
	snprintf(d->name, sizeof d->name, "%s", f[0]);
	snprintf(d->info.name, sizeof d->info.name, "%s", f[0]);
	snprintf(d->info.uuid, sizeof d->info.uuid, "%s", n == 8 ? f[7] : "");
	d->info.major = (uint32_t)major;
	d->info.minor = (uint32_t)minor;
	d->info.open_count = (int32_t)open;
	d->info.target_count = (uint32_t)segments;
	d->info.event_nr = (uint32_t)events;
	d->info.flags = (f[3][0] == 'L' ? DM_ACTIVE_PRESENT_FLAG : 0) | (f[3][1] == 'I' ? DM_INACTIVE_PRESENT_FLAG : 0) |
			(f[3][2] == 's' ? DM_SUSPEND_FLAG : 0) | (f[3][3] == 'r' ? DM_READONLY_FLAG : 0);
	return 0;
}

/* "NAME:" (no table) or "NAME: START LENGTH TYPE [PARAMS]", as dmsetup table and status print them. */
static int load_table(struct state *s, enum table_kind kind, char *rest, int ln)
{
	static const char *const words[] = { "table", "inactive", "status" };
	char *colon = strchr(rest, ':'), *params;
	struct dm_target t;
	int r;

	if (!colon || (colon[1] && colon[1] != ' '))
		return refuse(ln, "%s: no \"NAME:\"", words[kind]);
	*colon = '\0';
	struct dev *d = find_dev(&s->w, rest);
	if (!d)
		return refuse(ln, "%s: %s has no info line before it", words[kind], rest);
	struct seen *seen = &s->seen[d - s->w.d];
	unsigned *lines = kind == LIVE ? &seen->table : kind == INACTIVE ? &seen->inactive : &seen->status;
	if (seen->bare & 1u << kind || (!colon[1] && *lines))
		return refuse(ln, "%s %s: a bare \"%s:\" and other lines of this kind", words[kind], d->name, d->name);
	(*lines)++;
	if (!colon[1]) {
		seen->bare |= 1u << kind;
		return 0;  /* "NAME:": no table of this kind */
	}
	if ((r = dm_parse_line(colon + 2, &t)) < 0)
		return refuse(ln, "%s %s: not \"START LENGTH TYPE [PARAMS]\" (%s)", words[kind], d->name, num(r));
	if (kind == STATUS) {
		if (seen->status_targets++ == 0) {
			snprintf(seen->status_type, sizeof seen->status_type, "%s", t.type);
			if (!(seen->status_params = strdup(t.params)))
				return refuse(ln, "out of memory");
		}
		return 0;
	}
	if (kind == LIVE && seen->live_targets++ > 0)
		return 0;  /* scan_world keeps the first target only */
	if (kind == INACTIVE && d->inactive_params)
		return 0;
	if (!(params = strdup(t.params)))
		return refuse(ln, "out of memory");
	t.params = params;
	if (kind == LIVE) {
		d->live = t;
		d->live_params = params;
	} else {
		d->inactive = t;
		d->inactive_params = params;
	}
	return 0;
}

/* Every device said all about itself, and what it said agrees; then its status as scan_world() keeps it. */
static int finish_state(struct state *s, const char *prefix, int ln)
{
	for (size_t i = 0; i < s->w.n; i++) {
		struct dev *d = &s->w.d[i];
		struct seen *seen = &s->seen[i];
		if (!seen->table || !seen->inactive || !seen->status)
			return refuse(ln, "%s%s: no %stable, %sinactive or %sstatus line", prefix, d->name, prefix, prefix,
				      prefix);
		if (!!(d->info.flags & DM_ACTIVE_PRESENT_FLAG) != !!d->live_params ||
		    !!(d->info.flags & DM_INACTIVE_PRESENT_FLAG) != !!d->inactive_params)
			return refuse(ln, "%s%s: the attr's L and I disagree with its table lines", prefix, d->name);
		if (seen->live_targets != d->info.target_count || seen->status_targets != seen->live_targets)
			return refuse(ln, "%s%s: %u segments, %u table lines, %u status lines", prefix, d->name,
				      d->info.target_count, seen->live_targets, seen->status_targets);
		if (d->live_params && strcmp(seen->status_type, d->live.type))
			return refuse(ln, "%s%s: status of a %s, table of a %s", prefix, d->name, seen->status_type,
				      d->live.type);
		if (d->live_params && (!strcmp(d->live.type, "snapshot") || !strcmp(d->live.type, "snapshot-merge"))) {
			d->status = seen->status_params;
			seen->status_params = NULL;
		}
	}
	return 0;
}

/* One line: "KEYWORD REST"; the keywords are the ones tests/guest/faults.sh prints. */
static int load_line(struct fixture *f, char *line, int ln)
{
	char *rest = strchr(line, ' ');
	struct state *s = &f->before;
	const char *key = line;
	uint64_t v;

	if (!rest)
		return refuse(ln, "no \"KEYWORD \" in \"%.40s\"", line);
	*rest++ = '\0';
	if (!strcmp(key, "case")) {
		if (ln != 1)
			return refuse(ln, "case: only as the first line");
		snprintf(f->what, sizeof f->what, "%s", rest);
		return 0;
	}
	if (ln == 1)
		return refuse(ln, "the first line is not \"case WHAT\"");
	if (!strcmp(key, "recover")) {
		if (f->after.lines || f->recover_exit >= 0)
			return refuse(ln, "recover: after recover-exit or the after- state");
		if (f->nrecover == MAX_RECOVER)
			return refuse(ln, "recover: more than %d lines", MAX_RECOVER);
		if (!(f->recover[f->nrecover] = strdup(rest)))
			return refuse(ln, "out of memory");
		f->nrecover++;
		return 0;
	}
	if (!strcmp(key, "recover-exit")) {
		if (f->recover_exit >= 0 || field_u64(rest, 255, &v))
			return refuse(ln, "recover-exit: one, a number 0..255");
		f->recover_exit = (int)v;
		return 0;
	}
	if (!strncmp(key, "after-", 6)) {
		if (f->recover_exit < 0)
			return refuse(ln, "%s before recover-exit", key);
		s = &f->after;
		key += 6;
	} else if (f->nrecover || f->recover_exit >= 0) {
		return refuse(ln, "%s after recover's lines: the state before comes first", key);
	}
	s->lines++;
	if (!strcmp(key, "info"))
		return load_info(s, rest, ln);
	if (!strcmp(key, "table"))
		return load_table(s, LIVE, rest, ln);
	if (!strcmp(key, "inactive"))
		return load_table(s, INACTIVE, rest, ln);
	if (!strcmp(key, "status"))
		return load_table(s, STATUS, rest, ln);
	return refuse(ln, "unknown keyword \"%.20s\"", line);
}

/* A fixture's text (len bytes, not NUL-terminated); 0, or -EINVAL with load_err saying why. */
static int load_fixture(const char *text, size_t len, struct fixture *f)
{
	char line[MAX_LINE];
	size_t pos = 0;
	int ln = 0, r = 0;

	memset(f, 0, sizeof *f);
	f->recover_exit = -1;
	load_err[0] = '\0';
	while (pos < len && r == 0) {
		const char *nl = memchr(text + pos, '\n', len - pos);
		size_t n = nl ? (size_t)(nl - (text + pos)) : len - pos;
		ln++;
		if (!nl)
			r = refuse(ln, "no newline at its end: the text was cut short");
		else if (n >= sizeof line)
			r = refuse(ln, "longer than %zu bytes", sizeof line - 1);
		else if (memchr(text + pos, '\0', n))
			r = refuse(ln, "a NUL byte");
		else {
			memcpy(line, text + pos, n);
			line[n] = '\0';
			r = load_line(f, line, ln);
		}
		pos += n + 1;
	}
	if (r == 0 && ln == 0)
		r = refuse(0, "empty");
	if (r == 0 && !f->before.w.n)
		r = refuse(ln, "no device in the state");
	if (r == 0)
		r = finish_state(&f->before, "", ln);
	if (r == 0 && f->recover_exit >= 0 && !f->after.lines)
		r = refuse(ln, "recover-exit without the after- state");
	if (r == 0)
		r = finish_state(&f->after, "after-", ln);
	if (r < 0)
		fixture_free(f);
	return r;
}

/* A text copied into a buffer of exactly its size: a read past its end is a sanitizer report. */
static int load_text(const char *text, size_t len, struct fixture *f)
{
	char *copy = malloc(len ? len : 1);
	int r;

	if (!copy) {
		snprintf(load_err, sizeof load_err, "out of memory");
		return -ENOMEM;
	}
	memcpy(copy, text, len);
	r = load_fixture(copy, len, f);
	free(copy);
	return r;
}

static int load_file(const char *path, struct fixture *f)
{
	int fd = open(path, O_RDONLY | O_CLOEXEC);
	size_t len;
	char *text;
	int r;

	if (fd < 0) {
		snprintf(load_err, sizeof load_err, "open: %s", strerror(errno));
		return -errno;
	}
	text = read_all(fd, &len);
	close(fd);
	if (!text) {
		snprintf(load_err, sizeof load_err, "read: %s", strerror(errno));
		return -EIO;
	}
	r = load_text(text, len, f);
	free(text);
	return r;
}

/* ---- what recover said, as plan_repair's answer ---- */

#define WRAPPER "md2"  /* the fault matrix's wrapper */
#define CONSISTENT "consistent, nothing to do"
#define MERGING "a merge is running: 'dmsnap merge --wait NAME' waits for it and finishes"

/* recover's first line about a device (its warnings start "dmsnap: "), or NULL. */
static const char *first_said(const struct fixture *f)
{
	for (size_t i = 0; i < f->nrecover; i++)
		if (strncmp(f->recover[i], "dmsnap: ", 8))
			return f->recover[i];
	return NULL;
}

/*
 * The repair a line of recover's says it made, on device d as the state
 * before had it: the oracle, written from what each repair means.  A snapshot
 * on a reattached store (DMSNAPR-) is someone's snapshot: its store is never
 * retired, only the device goes.
 */
static enum repair_kind kind_said(const char *what, const struct dev *d)
{
	static const struct { const char *said; enum repair_kind kind; } kinds[] = {
		{ "snap was stopped after the snapshot went live: switched to snapshot-origin (snapshot complete)",
		  REPAIR_SWAP_IN_ORIGIN },
		{ "drop was stopped after the snapshots went: back to linear", REPAIR_SWAP_IN_LINEAR },
		{ "was left suspended: resumed", REPAIR_RESUME },
		{ "a COW device left in its switch (grow was stopped): resumed with its new table", REPAIR_RESUME },
		{ "had no table (snap was stopped): removed", REPAIR_REMOVE },
		{ "was handed over to the merge: removed", REPAIR_REMOVE },
		{ "helper snapshot-origin device: removed", REPAIR_REMOVE },
		{ "never went live (snap was stopped): removed", REPAIR_REMOVE_RETIRE },
		{ "went live but its origin never switched to snapshot-origin, so writes bypassed it: removed",
		  REPAIR_REMOVE_RETIRE },
		{ "snapshot-origin without snapshots: back to linear", REPAIR_TO_LINEAR },
		{ "merge had finished: back to linear", REPAIR_TO_LINEAR },
		{ "a snapshot's COW device that no snapshot uses (snap or drop was stopped): removed", REPAIR_REMOVE_COW },
		{ CONSISTENT, REPAIR_NONE },
		{ MERGING, REPAIR_NONE },
	};

	if (!strncmp(what, "cleared an unfinished ", 22))
		return REPAIR_CLEAR_INACTIVE;
	for (size_t i = 0; i < sizeof kinds / sizeof *kinds; i++)
		if (!strcmp(what, kinds[i].said))
			return kinds[i].kind == REPAIR_REMOVE_RETIRE && d &&
					       !strncmp(d->info.uuid, REATTACH_UUID_PREFIX, strlen(REATTACH_UUID_PREFIX))
				       ? REPAIR_REMOVE : kinds[i].kind;
	return (enum repair_kind)-1;
}

/* What recover prints for a repair (merge.c's repair() and recover_one()). */
static void said_for(const struct wrapper *wr, const struct repair *rp, char *buf, size_t size)
{
	if (rp->kind == REPAIR_NONE)
		snprintf(buf, size, "%s: %s", wr->top->name, wr->mode == MODE_MERGE ? MERGING : CONSISTENT);
	else if (rp->kind == REPAIR_CLEAR_INACTIVE)
		snprintf(buf, size, "%s: cleared an unfinished %s table %s", rp->dev->name, rp->dev->inactive.type, rp->why);
	else
		snprintf(buf, size, "%s: %s", rp->dev->name, rp->why);
}

/* The fixture's first repair: plan_repair on the state before says what recover said and did. */
static void check_first_repair(const struct fixture *f)
{
	const char *said = first_said(f), *colon;
	struct wrapper wr;
	struct repair rp;
	char want[512], name[DM_NAME_LEN];
	int r;

	if ((r = identify_wrapper(&f->before.w, WRAPPER, &wr)) < 0) {
		fail("identify_wrapper(%s): %s", WRAPPER, num(r));
		return;
	}
	plan_repair(&f->before.w, &wr, &rp);
	said_for(&wr, &rp, want, sizeof want);
	if (!said)
		fail("recover said nothing about a device; plan_repair: %s %s", kind_word(rp.kind), rp.dev->name);
	else if (!(colon = strstr(said, ": ")) || (size_t)(colon - said) >= sizeof name)
		fail("recover's line \"%s\" names no device", said);
	else {
		memcpy(name, said, (size_t)(colon - said));
		name[colon - said] = '\0';
		const struct dev *d = find_dev(&f->before.w, name);
		check_str("device", rp.dev->name, name);
		check_kind("repair", rp.kind, kind_said(colon + 2, d));
		check_str("recover's first line", want, said);
	}
	wrapper_free(&wr);
}

/*
 * What recover left needs nothing more; but a merge it found running goes on
 * in the kernel and may have finished by the time the state was read again.
 */
static void check_after(const struct fixture *f)
{
	struct wrapper wr;
	struct repair rp;
	int r;

	check_int("recover's exit status", f->recover_exit, 0);
	if ((r = identify_wrapper(&f->after.w, WRAPPER, &wr)) < 0) {
		fail("identify_wrapper(%s) after recover: %s", WRAPPER, num(r));
		return;
	}
	plan_repair(&f->after.w, &wr, &rp);
	if (!(wr.mode == MODE_MERGE && rp.kind == REPAIR_TO_LINEAR))
		if (rp.kind != REPAIR_NONE)
			fail("plan_repair after recover: %s %s (%s)", kind_word(rp.kind), rp.dev->name, rp.why);
	wrapper_free(&wr);
}

/* ---- the captured fixtures ---- */

static int is_fixture(const struct dirent *e)
{
	return e->d_name[0] != '.';
}

static int test_fixtures(const char *dir)
{
	struct dirent **list;
	int n = scandir(dir, &list, is_fixture, versionsort);
	char name[320], path[4096];

	begin("fixtures: the fault matrix's captured states are there");
	if (n < 0)
		fail("%s: %s", dir, strerror(errno));
	else if (n == 0)
		fail("%s holds none: tests/unit/extract-fixtures makes them from a guest log", dir);
	end();
	for (int i = 0; i < n; i++) {
		struct fixture f;
		int r;
		snprintf(path, sizeof path, "%s/%s", dir, list[i]->d_name);
		r = load_file(path, &f);

		snprintf(name, sizeof name, "fixture %s: first repair as recover made it", list[i]->d_name);
		begin(name);
		if (r < 0)
			fail("does not load: %s", load_err);
		else
			check_first_repair(&f);
		end();

		snprintf(name, sizeof name, "fixture %s: recover left nothing to repair", list[i]->d_name);
		begin(name);
		if (r < 0)
			fail("does not load: %s", load_err);
		else
			check_after(&f);
		end();

		if (r == 0)
			fixture_free(&f);
		free(list[i]);
	}
	if (n >= 0)
		free(list);
	return n;
}

/* ---- hand-written states: what the matrix may not reach ---- */

/* Each device as dm_dump prints it: info, live table, inactive table, status. */
#define DUP \
	"info md2_dup 253 0 L--w 1 1 0\n" \
	"table md2_dup: 0 819200 linear 254:0 0\n" \
	"inactive md2_dup:\n" \
	"status md2_dup: 0 819200 linear\n"
#define TOP_LINEAR \
	"info md2 253 1 L--w 1 1 0\n" \
	"table md2: 0 819200 linear 254:0 0\n" \
	"inactive md2:\n" \
	"status md2: 0 819200 linear\n"
#define TOP_ORIGIN \
	"info md2 253 1 L--w 1 1 2\n" \
	"table md2: 0 819200 snapshot-origin 253:0\n" \
	"inactive md2:\n" \
	"status md2: 0 819200 snapshot-origin\n"
#define TOP_MERGE(status) \
	"info md2 253 1 L--w 0 1 3\n" \
	"table md2: 0 819200 snapshot-merge 253:0 254:32 P 32\n" \
	"inactive md2:\n" \
	"status md2: 0 819200 snapshot-merge " status "\n"
#define SNAP_LIVE(uuid) \
	"info md2_snap 253 2 L--w 0 1 0 " uuid "\n" \
	"table md2_snap: 0 819200 snapshot 253:0 254:32 P 32\n" \
	"inactive md2_snap:\n" \
	"status md2_snap: 0 819200 snapshot 8384/524288 64\n"
#define SNAP_LOADED(uuid) \
	"info md2_snap 253 2 -I-w 0 0 0 " uuid "\n" \
	"table md2_snap:\n" \
	"inactive md2_snap: 0 819200 snapshot 253:0 254:32 P 32\n" \
	"status md2_snap:\n"

/* md2 linear with snapshot-origin loaded, frozen (attr LIsw) or not (LI-w); another origin's snapshot (uuid). */
#define TOP_LOADED(attr) \
	"info md2 253 1 " attr " 1 1 0\n" \
	"table md2: 0 819200 linear 254:0 0\n" \
	"inactive md2: 0 819200 snapshot-origin 253:0\n" \
	"status md2: 0 819200 linear\n"
#define LOG_SNAP(attr, uuid) \
	"info log_snap 253 5 " attr " 0 1 0 " uuid "\n" \
	"table log_snap: 0 409600 snapshot 253:3 254:48 P 32\n" \
	"inactive log_snap:\n" \
	"status log_snap: 0 409600 snapshot 64/262144 64\n"

static void plan_case(const char *title, const char *text, enum repair_kind kind, const char *dev, const char *why)
{
	struct fixture f;
	struct wrapper wr;
	struct repair rp;
	int r;

	begin(title);
	if ((r = load_text(text, strlen(text), &f)) < 0) {
		fail("does not load: %s", load_err);
	} else if ((r = identify_wrapper(&f.before.w, WRAPPER, &wr)) < 0) {
		fail("identify_wrapper: %s", num(r));
		fixture_free(&f);
	} else {
		check_kind("plan_repair's return", plan_repair(&f.before.w, &wr, &rp), kind);
		check_kind("repair", rp.kind, kind);
		check_str("device", rp.dev ? rp.dev->name : NULL, dev);
		if (why)
			check_str("why", rp.why, why);
		wrapper_free(&wr);
		fixture_free(&f);
	}
	end();
}

static void test_plans(void)
{
	plan_case("plan: linear, no snapshots: consistent", "case hand\n" TOP_LINEAR DUP, REPAIR_NONE, "md2",
		  CONSISTENT);
	plan_case("plan: snapshot-origin with a live snapshot: consistent",
		  "case hand\n" TOP_ORIGIN DUP SNAP_LIVE("DMSNAP-md2_snap"), REPAIR_NONE, "md2", CONSISTENT);
	plan_case("plan: merge finished (used == metadata): back to linear",
		  "case hand\n" TOP_MERGE("64/524288 64") DUP, REPAIR_TO_LINEAR, "md2", "merge had finished: back to linear");
	plan_case("plan: merge running (used > metadata): nothing to do", "case hand\n" TOP_MERGE("8384/524288 64") DUP,
		  REPAIR_NONE, "md2", NULL);
	plan_case("plan: merge failed: not back to linear", "case hand\n" TOP_MERGE("Merge failed") DUP, REPAIR_NONE, "md2",
		  NULL);
	plan_case("plan: merging snapshot left behind: removed, its store kept",
		  "case hand\n" TOP_MERGE("8384/524288 64") DUP SNAP_LIVE("DMSNAP-md2_snap"), REPAIR_REMOVE, "md2_snap",
		  "was handed over to the merge: removed");
	plan_case("plan: new snapshot never live: removed and its store retired",
		  "case hand\n" TOP_LINEAR DUP SNAP_LOADED("DMSNAP-md2_snap"), REPAIR_REMOVE_RETIRE, "md2_snap",
		  "never went live (snap was stopped): removed");
	plan_case("plan: reattached snapshot never live: removed, its store kept",
		  "case hand\n" TOP_LINEAR DUP SNAP_LOADED("DMSNAPR-md2_snap"), REPAIR_REMOVE, "md2_snap",
		  "never went live (snap was stopped): removed");
	plan_case("plan: snapshot without a uuid never live: removed and retired",
		  "case hand\n" TOP_LINEAR DUP
		  "info md2_snap 253 2 -I-w 0 0 0\ntable md2_snap:\n"
		  "inactive md2_snap: 0 819200 snapshot 253:0 254:32 P 32\nstatus md2_snap:\n",
		  REPAIR_REMOVE_RETIRE, "md2_snap", NULL);
	plan_case("plan: new snapshot live over linear md2: removed and retired",
		  "case hand\n" TOP_LINEAR DUP SNAP_LIVE("DMSNAP-md2_snap"), REPAIR_REMOVE_RETIRE, "md2_snap",
		  "went live but its origin never switched to snapshot-origin, so writes bypassed it: removed");
	plan_case("plan: reattached snapshot live over linear md2: removed, its store kept",
		  "case hand\n" TOP_LINEAR DUP SNAP_LIVE("DMSNAPR-md2_snap"), REPAIR_REMOVE, "md2_snap", NULL);
	plan_case("plan: md2 left suspended: resumed",
		  "case hand\n"
		  "info md2 253 1 L-sw 1 1 0\ntable md2: 0 819200 linear 254:0 0\ninactive md2:\n"
		  "status md2: 0 819200 linear\n" DUP,
		  REPAIR_RESUME, "md2", "was left suspended: resumed");
	plan_case("plan: snapshot left suspended under snapshot-origin: resumed",
		  "case hand\n" TOP_ORIGIN DUP
		  "info md2_snap 253 2 L-sw 0 1 0 DMSNAP-md2_snap\n"
		  "table md2_snap: 0 819200 snapshot 253:0 254:32 P 32\ninactive md2_snap:\n"
		  "status md2_snap: 0 819200 snapshot 64/524288 64\n",
		  REPAIR_RESUME, "md2_snap", NULL);
	plan_case("plan: snapshot-origin loaded, md2 suspended, snapshot live: swapped in",
		  "case hand\n" TOP_LOADED("LIsw") DUP
		  SNAP_LIVE("DMSNAP-md2_snap"),
		  REPAIR_SWAP_IN_ORIGIN, "md2", NULL);
	plan_case("plan: snapshot-origin loaded, snapshot live, md2 never suspended: cleared (writes went past it)",
		  "case hand\n" TOP_LOADED("LI-w") DUP
		  SNAP_LIVE("DMSNAP-md2_snap"),
		  REPAIR_CLEAR_INACTIVE, "md2", "(that operation did not happen)");
	plan_case("plan: snapshot-origin loaded, snapshot not live yet: cleared",
		  "case hand\n" TOP_LOADED("LI-w") DUP
		  SNAP_LOADED("DMSNAP-md2_snap"),
		  REPAIR_CLEAR_INACTIVE, "md2", "(that operation did not happen)");
	plan_case("plan: group member frozen, staged, the group's other snapshot live: its snapshot resumed",
		  "case hand\n" TOP_LOADED("LIsw") DUP SNAP_LOADED("DMSNAP-md2_snap+G12.34") LOG_SNAP("L--w", "DMSNAP-log_snap+G12.34"),
		  REPAIR_RESUME, "md2_snap", "the rest of its group went live: resumed, at the group's instant");
	plan_case("plan: group member frozen under snapshot-origin, staged, the other live: its snapshot resumed",
		  "case hand\n"
		  "info md2 253 1 L-sw 1 1 2\ntable md2: 0 819200 snapshot-origin 253:0\ninactive md2:\n"
		  "status md2: 0 819200 snapshot-origin\n" DUP
		  SNAP_LOADED("DMSNAP-md2_snap+G12.34") LOG_SNAP("L--w", "DMSNAP-log_snap+G12.34"),
		  REPAIR_RESUME, "md2_snap", NULL);
	plan_case("plan: group member frozen, staged, the other snapshot of another group: cleared",
		  "case hand\n" TOP_LOADED("LIsw") DUP SNAP_LOADED("DMSNAP-md2_snap+G12.34") LOG_SNAP("L--w", "DMSNAP-log_snap+G12.345"),
		  REPAIR_CLEAR_INACTIVE, "md2", "(that operation did not happen)");
	plan_case("plan: group member frozen, staged, the other snapshot staged too: cleared",
		  "case hand\n" TOP_LOADED("LIsw") DUP SNAP_LOADED("DMSNAP-md2_snap+G12.34")
		  "info log_snap 253 5 -I-w 0 0 0 DMSNAP-log_snap+G12.34\ntable log_snap:\n"
		  "inactive log_snap: 0 409600 snapshot 253:3 254:48 P 32\nstatus log_snap:\n",
		  REPAIR_CLEAR_INACTIVE, "md2", NULL);
	plan_case("plan: group member frozen, staged, the other snapshot live but suspended: cleared",
		  "case hand\n" TOP_LOADED("LIsw") DUP SNAP_LOADED("DMSNAP-md2_snap+G12.34") LOG_SNAP("L-sw", "DMSNAP-log_snap+G12.34"),
		  REPAIR_CLEAR_INACTIVE, "md2", NULL);
	plan_case("plan: group member staged but never frozen, the other live: cleared (writes went past it)",
		  "case hand\n" TOP_LOADED("LI-w") DUP
		  SNAP_LOADED("DMSNAP-md2_snap+G12.34") LOG_SNAP("L--w", "DMSNAP-log_snap+G12.34"),
		  REPAIR_CLEAR_INACTIVE, "md2", NULL);
	plan_case("plan: a snapshot taken alone, frozen and staged, another group's snapshot live: cleared",
		  "case hand\n" TOP_LOADED("LIsw") DUP SNAP_LOADED("DMSNAP-md2_snap") LOG_SNAP("L--w", "DMSNAP-log_snap+G12.34"),
		  REPAIR_CLEAR_INACTIVE, "md2", NULL);
	plan_case("plan: linear loaded after the snapshots went: swapped in",
		  "case hand\n"
		  "info md2 253 1 LI-w 1 1 0\ntable md2: 0 819200 snapshot-origin 253:0\n"
		  "inactive md2: 0 819200 linear 254:0 0\nstatus md2: 0 819200 snapshot-origin\n" DUP,
		  REPAIR_SWAP_IN_LINEAR, "md2", NULL);
	plan_case("plan: snapshot-origin without snapshots: back to linear", "case hand\n" TOP_ORIGIN DUP, REPAIR_TO_LINEAR,
		  "md2", "snapshot-origin without snapshots: back to linear");
	plan_case("plan: tableless device of a snap (uuid DMSNAP-): removed",
		  "case hand\n" TOP_LINEAR DUP
		  "info other 253 2 ---w 0 0 0 DMSNAP-other\ntable other:\ninactive other:\nstatus other:\n",
		  REPAIR_REMOVE, "other", "had no table (snap was stopped): removed");
	plan_case("plan: tableless device nobody claims: left alone",
		  "case hand\n" TOP_LINEAR DUP "info other 253 2 ---w 0 0 0\ntable other:\ninactive other:\nstatus other:\n",
		  REPAIR_NONE, "md2", NULL);
	plan_case("plan: unused helper snapshot-origin: removed",
		  "case hand\n" TOP_LINEAR DUP
		  "info md2_help 253 3 L--w 0 1 0\ntable md2_help: 0 819200 snapshot-origin 253:0\n"
		  "inactive md2_help:\nstatus md2_help: 0 819200 snapshot-origin\n",
		  REPAIR_REMOVE, "md2_help", "helper snapshot-origin device: removed");
	plan_case("plan: helper snapshot-origin in use: left alone",
		  "case hand\n" TOP_LINEAR DUP
		  "info md2_help 253 3 L--w 1 1 0\ntable md2_help: 0 819200 snapshot-origin 253:0\n"
		  "inactive md2_help:\nstatus md2_help: 0 819200 snapshot-origin\n",
		  REPAIR_NONE, "md2", NULL);
}

static void identify_case(const char *title, const char *text, int want)
{
	struct fixture f;
	struct wrapper wr;
	int r;

	begin(title);
	if ((r = load_text(text, strlen(text), &f)) < 0) {
		fail("does not load: %s", load_err);
	} else {
		check_int("identify_wrapper", r = identify_wrapper(&f.before.w, WRAPPER, &wr), want);
		if (r == 0)
			wrapper_free(&wr);
		fixture_free(&f);
	}
	end();
}

static void test_identify(void)
{
	struct fixture f;
	struct wrapper wr;
	const char *text = "case hand\n" TOP_ORIGIN DUP SNAP_LIVE("DMSNAP-md2_snap");

	begin("identify: snapshot-origin over md2_dup with one snapshot");
	if (load_text(text, strlen(text), &f) < 0) {
		fail("does not load: %s", load_err);
	} else {
		check_int("identify_wrapper", identify_wrapper(&f.before.w, WRAPPER, &wr), 0);
		check_int("mode", wr.mode, MODE_ORIGIN);
		check_int("base major", wr.base_major, 254);
		check_int("base minor", wr.base_minor, 0);
		check_int("sectors", (long long)wr.sectors, 819200);
		check_int("snapshots", (long long)wr.nsnaps, 1);
		check_int("helpers", (long long)wr.nhelpers, 0);
		if (wr.nsnaps == 1)
			check_str("snapshot", wr.snaps[0]->name, "md2_snap");
		wrapper_free(&wr);
		fixture_free(&f);
	}
	end();

	identify_case("identify: refuses without NAME", "case hand\n" DUP, -ENXIO);
	identify_case("identify: refuses without NAME_dup", "case hand\n" TOP_LINEAR, -ENOENT);
	identify_case("identify: refuses NAME_dup with an offset",
		      "case hand\n" TOP_LINEAR
		      "info md2_dup 253 0 L--w 1 1 0\ntable md2_dup: 0 819200 linear 254:0 8\n"
		      "inactive md2_dup:\nstatus md2_dup: 0 819200 linear\n",
		      -EINVAL);
	identify_case("identify: refuses NAME_dup that is not linear",
		      "case hand\n" TOP_LINEAR
		      "info md2_dup 253 0 L--w 1 1 0\ntable md2_dup: 0 819200 zero\n"
		      "inactive md2_dup:\nstatus md2_dup: 0 819200 zero\n",
		      -EINVAL);
	identify_case("identify: refuses NAME_dup of two targets",
		      "case hand\n" TOP_LINEAR
		      "info md2_dup 253 0 L--w 1 2 0\ntable md2_dup: 0 409600 linear 254:0 0\n"
		      "table md2_dup: 409600 409600 linear 254:0 409600\n"
		      "inactive md2_dup:\nstatus md2_dup: 0 409600 linear\nstatus md2_dup: 409600 409600 linear\n",
		      -EINVAL);
	identify_case("identify: refuses NAME_dup without a table",
		      "case hand\n" TOP_LINEAR "info md2_dup 253 0 ---w 0 0 0\ntable md2_dup:\ninactive md2_dup:\nstatus md2_dup:\n",
		      -EINVAL);
}

/* ---- the loader itself: what it reads, and what it refuses ---- */

static void test_loader_reads(void)
{
	struct fixture f;
	const char *text = "case hand\n" TOP_MERGE("64/524288 64") DUP SNAP_LOADED("DMSNAPR-md2_snap")
			   "recover dmsnap: a warning\nrecover md2_snap: removed\nrecover-exit 0\n"
			   "after-info md2 253 1 L--w 0 1 0\nafter-table md2: 0 819200 linear 254:0 0\n"
			   "after-inactive md2:\nafter-status md2: 0 819200 linear\n";

	begin("loader: dmsetup's lines as scan_world fills struct dev");
	if (load_text(text, strlen(text), &f) < 0) {
		fail("does not load: %s", load_err);
		end();
		return;
	}
	const struct dev *top = find_dev(&f.before.w, "md2"), *snap = find_dev(&f.before.w, "md2_snap"),
			 *dup = find_dev(&f.before.w, "md2_dup");
	check_str("case", f.what, "hand");
	check_int("devices", (long long)f.before.w.n, 3);
	if (!top || !snap || !dup) {
		fail("a device is missing");
	} else {
		check_int("md2 major", top->info.major, 253);
		check_int("md2 minor", top->info.minor, 1);
		check_int("md2 flags", top->info.flags, DM_ACTIVE_PRESENT_FLAG);
		check_int("md2 events", top->info.event_nr, 3);
		check_int("md2 targets", top->info.target_count, 1);
		check_str("md2 type", top->live.type, "snapshot-merge");
		check_int("md2 length", (long long)top->live.length, 819200);
		check_str("md2 params", top->live_params, "253:0 254:32 P 32");
		check_str("md2 status", top->status, "64/524288 64");
		check_int("md2 no inactive", top->inactive_params == NULL, 1);
		check_str("md2 uuid", top->info.uuid, "");
		check_int("md2_dup open", dup->info.open_count, 1);
		check_int("md2_dup no status kept", dup->status == NULL, 1);
		check_int("md2_snap flags", snap->info.flags, DM_INACTIVE_PRESENT_FLAG);
		check_int("md2_snap no live", snap->live_params == NULL, 1);
		check_str("md2_snap inactive type", snap->inactive.type, "snapshot");
		check_str("md2_snap inactive params", snap->inactive_params, "253:0 254:32 P 32");
		check_str("md2_snap uuid", snap->info.uuid, "DMSNAPR-md2_snap");
		check_int("recover lines", (long long)f.nrecover, 2);
		check_str("first said", first_said(&f), "md2_snap: removed");
		check_int("recover exit", f.recover_exit, 0);
		check_int("after devices", (long long)f.after.w.n, 1);
	}
	fixture_free(&f);
	end();
}

/* A text the loader must refuse, and where and why: want is the start of load_err. */
static void refused(const char *title, const char *text, size_t len, const char *want)
{
	struct fixture f;
	int r;

	begin(title);
	if ((r = load_text(text, len, &f)) == 0) {
		fail("loaded");
		fixture_free(&f);
	} else {
		check_int("load", r, -EINVAL);
		if (strncmp(load_err, want, strlen(want)))
			fail("refused for \"%s\", want \"%s...\"", load_err, want);
	}
	end();
}

#define LINEAR_HEAD "case hand\ninfo md2 253 1 L--w 1 1 0\n"

static void test_loader_refuses(void)
{
	static const struct { const char *title, *text, *want; } cases[] = {
		{ "an empty text", "", "line 0: empty" },
		{ "a text without case", TOP_LINEAR DUP, "line 1: the first line is not" },
		{ "a case without what", "case\n" TOP_LINEAR DUP, "line 1: no \"KEYWORD \"" },
		{ "a state without devices", "case hand\n", "line 1: no device" },
		{ "a truncated last line", "case hand\n" TOP_LINEAR DUP "info md2_snap 253", "line 10: no newline" },
		{ "a truncated text", "case hand\n" TOP_LINEAR "info md2_dup 253 0 L--w 1 1 0\n", "line 6: md2_dup: no table" },
		{ "info with 3 fields", "case hand\ninfo md2 253 1\n", "line 2: info: want 7 or 8 fields" },
		{ "info with 9 fields", "case hand\ninfo md2 253 1 L--w 1 1 0 uuid extra\n", "line 2: info: want 7 or 8" },
		{ "info with an empty field", "case hand\ninfo md2 253  L--w 1 1 0\n", "line 2: info: field 3 is empty" },
		{ "a bare keyword", "case hand\ninfo\n", "line 2: no \"KEYWORD \"" },
		{ "an unknown keyword", "case hand\nwhatever md2\n", "line 2: unknown keyword" },
		{ "a bad attr", "case hand\ninfo md2 253 1 LX-w 1 1 0\n", "line 2: info md2: attr" },
		{ "a short attr", "case hand\ninfo md2 253 1 L-w 1 1 0\n", "line 2: info md2: attr" },
		{ "a number with garbage", "case hand\ninfo md2 253x 1 L--w 1 1 0\n", "line 2: info md2: major, minor" },
		{ "a minor out of range", "case hand\ninfo md2 253 99999999999999999999 L--w 1 1 0\n",
		  "line 2: info md2: major, minor" },
		{ "a negative open count", "case hand\ninfo md2 253 1 L--w -1 1 0\n", "line 2: info md2: major, minor" },
		{ "a device twice", "case hand\n" TOP_LINEAR TOP_LINEAR DUP, "line 6: info: md2 twice" },
		{ "a name with a slash", "case hand\ninfo md/2 253 1 ---w 0 0 0\n", "line 2: info: \"md/2\" is not" },
		{ "a uuid too long",
		  "case hand\ninfo md2 253 1 ---w 0 0 0 "
		  "0123456789012345678901234567890123456789012345678901234567890123456789"
		  "0123456789012345678901234567890123456789012345678901234567890123456789\n",
		  "line 2: info md2: \"0123" },
		{ "a table line of an unknown device", "case hand\n" DUP "table md2: 0 819200 linear 254:0 0\n",
		  "line 6: table: md2 has no info line" },
		{ "a table line beside a bare NAME:", LINEAR_HEAD "table md2:\ntable md2: 0 8 linear 254:0 0\n",
		  "line 4: table md2: a bare \"md2:\"" },
		{ "a second bare NAME:", LINEAR_HEAD "inactive md2:\ninactive md2:\n", "line 4: inactive md2: a bare" },
		{ "a table line without NAME:", "case hand\n" TOP_LINEAR DUP "table md2 0 819200 linear\n",
		  "line 10: table: no \"NAME:\"" },
		{ "a table line cut after the start", LINEAR_HEAD "table md2: 0\n", "line 3: table md2: not" },
		{ "a table line cut after the length", LINEAR_HEAD "table md2: 0 8\n", "line 3: table md2: not" },
		{ "a zero-length target", LINEAR_HEAD "table md2: 0 0 linear 254:0 0\n", "line 3: table md2: not" },
		{ "a target type too long", LINEAR_HEAD "table md2: 0 8 snapshot-origin-and-more 254:0\n",
		  "line 3: table md2: not" },
		{ "a status line cut", LINEAR_HEAD "table md2: 0 8 linear 254:0 0\ninactive md2:\nstatus md2: 0 8\n",
		  "line 5: status md2: not" },
		{ "a device without its status line", LINEAR_HEAD "table md2: 0 8 linear 254:0 0\ninactive md2:\n",
		  "line 4: md2: no table, inactive or status line" },
		{ "an attr L without a table line", LINEAR_HEAD "table md2:\ninactive md2:\nstatus md2:\n",
		  "line 5: md2: the attr's L and I disagree" },
		{ "a table without attr L",
		  "case hand\ninfo md2 253 1 ---w 1 1 0\ntable md2: 0 8 linear 254:0 0\ninactive md2:\n"
		  "status md2: 0 8 linear\n",
		  "line 5: md2: the attr's L and I disagree" },
		{ "an attr I without an inactive line", "case hand\ninfo md2 253 1 LI-w 1 1 0\n"
		  "table md2: 0 8 linear 254:0 0\ninactive md2:\nstatus md2: 0 8 linear\n",
		  "line 5: md2: the attr's L and I disagree" },
		{ "segments that disagree with the table",
		  "case hand\ninfo md2 253 1 L--w 1 2 0\ntable md2: 0 8 linear 254:0 0\ninactive md2:\n"
		  "status md2: 0 8 linear\n",
		  "line 5: md2: 2 segments, 1 table lines" },
		{ "a status of another target type",
		  LINEAR_HEAD "table md2: 0 8 linear 254:0 0\ninactive md2:\nstatus md2: 0 8 snapshot 8/64 8\n",
		  "line 5: md2: status of a snapshot, table of a linear" },
		{ "recover-exit that is not a number", "case hand\n" TOP_LINEAR DUP "recover-exit x\n",
		  "line 10: recover-exit: one" },
		{ "recover-exit twice", "case hand\n" TOP_LINEAR DUP "recover-exit 0\nrecover-exit 0\n",
		  "line 11: recover-exit: one" },
		{ "recover-exit without the state after", "case hand\n" TOP_LINEAR DUP "recover-exit 0\n",
		  "line 10: recover-exit without the after- state" },
		{ "the state after before recover-exit", "case hand\n" TOP_LINEAR DUP "after-info md2 253 1 L--w 1 1 0\n",
		  "line 10: after-info before recover-exit" },
		{ "the state before after recover's lines", "case hand\n" TOP_LINEAR "recover md2: x\n" DUP,
		  "line 7: info after recover's lines" },
		{ "recover's line after the state after",
		  "case hand\n" TOP_LINEAR DUP "recover-exit 0\n" "after-info md2 253 1 ---w 0 0 0\nrecover x\n",
		  "line 12: recover: after recover-exit" },
		{ "a second case line", "case hand\ncase hand\n" TOP_LINEAR DUP, "line 2: case: only as the first line" },
		{ "an incomplete state after", "case hand\n" TOP_LINEAR DUP "recover-exit 0\n" "after-info md2 253 1 L--w 1 1 0\n",
		  "line 11: after-md2: no after-table" },
	};
	static const char nul[] = LINEAR_HEAD "table md2: 0 8\0 linear 254:0 0\n";
	char title[160], *big;

	for (size_t i = 0; i < sizeof cases / sizeof *cases; i++) {
		snprintf(title, sizeof title, "loader: refuses %s", cases[i].title);
		refused(title, cases[i].text, strlen(cases[i].text), cases[i].want);
	}
	refused("loader: refuses a NUL byte inside a line", nul, sizeof nul - 1, "line 3: a NUL byte");
	if (!(big = malloc(MAX_LINE + 16)))
		return;
	memcpy(big, "case ", 5);
	memset(big + 5, 'x', MAX_LINE + 10);
	big[MAX_LINE + 15] = '\n';
	refused("loader: refuses a line longer than it reads", big, MAX_LINE + 16, "line 1: longer than");
	free(big);
}

/* Every prefix of a text: a cut inside a line is refused, none crashes (the sanitizer build checks). */
static void cut_everywhere(const char *title, const char *text, size_t len)
{
	struct fixture f;
	size_t loaded = 0;

	begin(title);
	for (size_t cut = 0; cut < len; cut++) {
		if (load_text(text, cut, &f) == 0) {
			loaded++;
			if (cut && text[cut - 1] != '\n')
				fail("loaded though cut inside a line at byte %zu", cut);
			fixture_free(&f);
		}
	}
	if (load_text(text, len, &f) < 0)
		fail("the whole text does not load: %s", load_err);
	else
		fixture_free(&f);
	if (!loaded)
		fail("no prefix at a line's end loaded");
	end();
}

static void test_loader_cuts(const char *dir)
{
	const char *text = "case hand\n" TOP_ORIGIN DUP SNAP_LIVE("DMSNAP-md2_snap") "recover md2: consistent\n"
			   "recover-exit 0\n" "after-info md2 253 1 L--w 0 1 0\nafter-table md2: 0 819200 linear 254:0 0\n"
			   "after-inactive md2:\nafter-status md2: 0 819200 linear\n";
	struct dirent **list;
	char path[4096], title[320], *captured = NULL;
	size_t len = 0, biggest = 0;
	int n, largest = -1;

	cut_everywhere("loader: a hand-written state cut at every byte", text, strlen(text));
	if ((n = scandir(dir, &list, is_fixture, versionsort)) <= 0)
		return;  /* test_fixtures says so */
	/* The largest captured fixture: the most kinds of line, each cut. */
	for (int i = 0; i < n; i++) {
		struct stat st;
		snprintf(path, sizeof path, "%s/%s", dir, list[i]->d_name);
		if (stat(path, &st) == 0 && (size_t)st.st_size > biggest) {
			biggest = (size_t)st.st_size;
			largest = i;
		}
	}
	snprintf(title, sizeof title, "loader: fixture %s (the largest) cut at every byte",
		 largest >= 0 ? list[largest]->d_name : "(none readable)");
	if (largest >= 0) {
		snprintf(path, sizeof path, "%s/%s", dir, list[largest]->d_name);
		int fd = open(path, O_RDONLY | O_CLOEXEC);
		if (fd >= 0) {
			captured = read_all(fd, &len);
			close(fd);
		}
	}
	if (captured) {
		cut_everywhere(title, captured, len);
	} else {
		begin(title);
		fail("cannot read it");
		end();
	}
	free(captured);
	for (int i = 0; i < n; i++)
		free(list[i]);
	free(list);
}

int main(int argc, char **argv)
{
	setvbuf(stdout, NULL, _IOLBF, 0);
	if (argc != 2) {
		fprintf(stderr, "usage: world_unit FIXTURE_DIR\n");
		return 2;
	}
	test_loader_reads();
	test_loader_refuses();
	test_loader_cuts(argv[1]);
	test_identify();
	test_plans();
	test_fixtures(argv[1]);
	printf("%d passed, %d failed\n", n_passed, n_failed);
	return n_failed ? 1 : 0;
}
