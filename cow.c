/*
 * cow.c - choosing a COW: checked through one exclusive descriptor (what it
 * is, where it lies, who uses it, what it holds), checked again before its
 * header is zeroed, and dmsnap's record written beside the kernel's header
 * (cow.h).
 */
#define _GNU_SOURCE
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/sysmacros.h>
#include <unistd.h>

#include "cli.h"
#include "cow.h"
#include "probe.h"
#include "record.h"

#define MAX_CHUNK       (1u << 21)  /* the kernel's limit: INT_MAX bytes */
#define DEFAULT_CHUNK   32          /* sectors, as the walkthrough and LVM use */

void close_cow(struct cow_choice *c)
{
	if (c->fd >= 0)
		close(c->fd);
	c->fd = -1;
}

/*
 * The checked COW, opened again through its descriptor (so the very same
 * device) without the exclusive claim the kernel is about to take.
 */
int reopen_cow(struct cow_choice *c)
{
	char path[64];
	struct blockdev bd;
	int r;

	snprintf(path, sizeof path, "/proc/self/fd/%d", c->fd);
	if ((c->record_fd = open(path, O_RDWR | O_CLOEXEC)) < 0)
		return -errno;
	if ((r = probe_fd(c->record_fd, &bd)) == 0 && (bd.major != c->dev.major || bd.minor != c->dev.minor))
		r = -ENODEV;
	return r;
}

/* Once the kernel has written the new store's header: dmsnap's record beside it. */
int write_record(struct cow_choice *c)
{
	struct cow_header h;
	struct cow_record rec = c->origin_id;
	int r;

	drop_cache(c->record_fd);
	if ((r = read_cow_header(c->record_fd, &h)) < 0)
		return r;
	if (!h.valid || h.chunk != c->chunk)
		return -EIO;  /* not the header the kernel should have written */
	rec.state = COW_SNAPSHOT;
	rec.chunk = (uint32_t)c->chunk;
	return record_write(c->record_fd, &rec);
}

static int is_power_of_two(uint64_t x)
{
	return x && !(x & (x - 1));
}

int lies_on_origin(uint32_t ma, uint32_t mi, const struct wrapper *wr)
{
	return stacked_on(ma, mi, wr->base_major, wr->base_minor) ||
	       stacked_on(ma, mi, wr->top->info.major, wr->top->info.minor) ||
	       stacked_on(ma, mi, wr->dup->info.major, wr->dup->info.minor);
}

/*
 * Nor any other wrapped origin: a linear one has no holder and may be
 * unmounted, so nothing else would stop --force from overwriting its data.
 */
static int check_other_origins(const struct cow_choice *c, const struct world *w, const struct wrapper *own)
{
	struct wrapper other;
	int r = EXIT_OK;

	for (size_t i = 0; r == EXIT_OK && i < w->n; i++) {
		if (&w->d[i] == own->top || identify_wrapper(w, w->d[i].name, &other))
			continue;
		if (lies_on_origin(c->dev.major, c->dev.minor, &other))
			r = fail(0, "COW %s is the origin %s or lies on it: not touching it, --force or not", c->path,
				 other.top->name);
		wrapper_free(&other);
	}
	return r;
}

/* The COW must not be the origin, on it, a snapshot of it, or another origin. */
static int check_cow_place(const struct cow_choice *c, const struct world *w, const struct wrapper *wr)
{
	if (lies_on_origin(c->dev.major, c->dev.minor, wr))
		return fail(0, "COW %s is %s itself or lies on it: the snapshot would write into what it preserves",
			    c->path, c->origin);
	for (size_t i = 0; i < wr->nsnaps; i++)
		if (stacked_on(c->dev.major, c->dev.minor, wr->snaps[i]->info.major, wr->snaps[i]->info.minor))
			return fail(0, "COW %s is the snapshot %s: snapshots of snapshots do not work", c->path,
				    wr->snaps[i]->name);
	return w ? check_other_origins(c, w, wr) : EXIT_OK;
}

/* What sysfs and /proc say still uses the COW: no --force overrides these. */
static int check_cow_users(const struct cow_choice *c)
{
	char part[64];

	if (has_partitions(c->dev.major, c->dev.minor, part, sizeof part))
		return fail(0, "COW %s has partitions (%s...): it is a disk in use, not a spare device (did you mean a partition?)",
			    c->path, part);
	if (has_holders(c->dev.major, c->dev.minor))
		return fail(0, "COW %s is held by another device (see /sys/dev/block/%u:%u/holders): not touching it",
			    c->path, c->dev.major, c->dev.minor);
	if (open_elsewhere(c->dev.major, c->dev.minor))
		return fail(0, "COW %s is open in another process (see 'fuser -v %s'): not touching it", c->path,
			    c->path);
	return EXIT_OK;
}

/* A store to reattach: dmsnap's record, when it has one, must say it is NAME's snapshot. */
static int check_record(const struct cow_choice *c, const struct cow_record *rec)
{
	char want[256], got[256];

	if (!rec) {
		note("COW %s has no dmsnap record (made by hand, or a chunk under %d sectors): reattaching on its chunk size alone",
		     c->path, RECORD_MIN_CHUNK);
		return EXIT_OK;
	}
	describe_record(&c->origin_id, want, sizeof want);
	describe_record(rec, got, sizeof got);
	if (!record_matches(rec, &c->origin_id))
		return fail(0, "COW %s belongs to %s, not to %s: not reattaching it (is the configuration pairing the right COW?)",
			    c->path, got, want);
	if (rec->state == COW_MERGING) {
		fail(0, "COW %s holds a merge into %s that was under way: 'dmsnap merge %s %s' continues it",
		     c->path, c->origin, c->origin, c->path);
		return EXIT_MERGING;
	}
	if (rec->state == COW_DROPPING)
		return fail(0, "COW %s held a snapshot that was being dropped: nothing to reattach (the next snap reuses it)",
			    c->path);
	return EXIT_OK;
}

/* What the COW holds decides: reattach needs a valid store, a new snapshot a blank device (or --force). */
static int check_cow_content(struct cow_choice *c, const struct cow_header *h)
{
	int holds, data = holds_data(c->fd, c->dev.sectors << DM_SECTOR_SHIFT);
	const char *sig = find_signature(c->fd, c->dev.sectors << DM_SECTOR_SHIFT, &holds);

	struct cow_record rec;
	int has_rec = h->valid && record_read(c->fd, h->chunk, &rec) == 0;

	if (has_rec)
		c->rec = rec;

	c->sig = sig;
	if (c->reattach) {
		if (!h->valid)
			return fail(0, "COW %s holds no valid snapshot store to reattach%s", c->path,
				    h->present ? " (it was invalidated)" : "");
		if (c->chunk && c->chunk != h->chunk)
			return fail(0, "COW %s was made with chunk %u, not %llu: drop -c", c->path, h->chunk,
				    (unsigned long long)c->chunk);
		c->chunk = h->chunk;
		return check_record(c, has_rec ? &rec : NULL);
	} else if (h->valid && has_rec && rec.state == COW_DROPPING) {
		note("COW %s held a dropped snapshot's store (its drop was interrupted): reusing it", c->path);
	} else if (h->valid && !c->force) {
		return fail(0, "COW %s holds a valid snapshot store (chunk %u): --reattach to use it again, --force to zero it",
			    c->path, h->chunk);
	} else if (sig && holds) {
		return fail(0, "COW %s holds %s: dmsnap never overwrites that, --force or not (wipe it yourself if it is truly spare)",
			    c->path, sig);
	} else if (sig && !c->force) {
		return fail(0, "COW %s holds %s: refusing to overwrite it (--force destroys it)", c->path, sig);
	} else if (data && !h->present && !c->force) {
		return fail(0, "COW %s holds data dmsnap does not recognise (its first or last %d KiB are not blank): refusing to overwrite it (--force destroys it)",
			    c->path, BLANK_SPAN / 1024);
	} else if (sig || h->valid || (data && !h->present)) {
		note("--force: destroying %s on %s", sig ? sig : h->valid ? "a valid snapshot store" : "unrecognised data",
		     c->path);
	}
	return EXIT_OK;
}

/* The chunk fits both devices and the COW has room for header, metadata and data. */
static int check_chunk(struct cow_choice *c, const struct blockdev *origin)
{
	if (!c->chunk)
		c->chunk = DEFAULT_CHUNK;
	uint64_t lbs = (origin->logical_block > c->dev.logical_block ? origin->logical_block
								       : c->dev.logical_block) >> DM_SECTOR_SHIFT;
	if (!is_power_of_two(c->chunk) || c->chunk > MAX_CHUNK || c->chunk < lbs)
		return fail(0, "chunk %llu: must be a power of two from %llu (the devices' block size) to %u sectors",
			    (unsigned long long)c->chunk, (unsigned long long)lbs, MAX_CHUNK);
	if (c->dev.sectors < 3 * c->chunk)
		return fail(0, "COW %s has %llu sectors: too small for chunk %llu (at least %llu)", c->path,
			    (unsigned long long)c->dev.sectors, (unsigned long long)c->chunk,
			    (unsigned long long)(3 * c->chunk));
	return EXIT_OK;
}

/* The COW opened exclusively, once: what is checked is what is written, whatever its path points to later. */
static int open_cow(struct cow_choice *c)
{
	struct stat st;
	int fd;

	if ((fd = open_exclusive(c->path, O_RDWR)) < 0) {
		if (fd == -EBUSY && stat(c->path, &st) == 0)
			return busy_fail(c->path, major(st.st_rdev), minor(st.st_rdev),
					    "a COW device must be unused (another snapshot's COW, mounted, or an md member?)");
		return fail(fd, "open COW %s:", c->path);
	}
	c->fd = fd;
	if ((fd = probe_fd(fd, &c->dev)) < 0)
		return fail(fd, "COW %s:", c->path);
	c->path = c->path;
	/* What a dm target wrote beneath it may not be in the page cache yet. */
	drop_cache(c->fd);
	return EXIT_OK;
}

int check_member(struct cow_choice *c, const struct world *w, const struct wrapper *wr)
{
	/* Again on the device opened, which is the one used. */
	return open_cow(c) || check_cow_place(c, w, wr) || check_cow_users(c) ? EXIT_FAIL : EXIT_OK;
}

/* The COW must be a spare block device that nothing else uses, big enough, and (unless --force) blank. */
int check_cow(struct cow_choice *c, const struct world *w, const struct wrapper *wr, const struct blockdev *origin)
{
	struct cow_header h;
	int r;

	struct stat st;

	/* The origin (or what lies on it) is claimed by dm: say where it lies before the claim makes it merely busy. */
	if (stat(c->path, &st) == 0 && S_ISBLK(st.st_mode)) {
		c->dev.major = major(st.st_rdev);
		c->dev.minor = minor(st.st_rdev);
		if (check_cow_place(c, w, wr))
			return EXIT_FAIL;
	}
	if (check_member(c, w, wr))
		return EXIT_FAIL;
	if ((r = read_cow_header(c->fd, &h)) < 0)
		return fail(r, "read COW %s:", c->path);
	if ((r = check_cow_content(c, &h)))
		return r;
	return check_chunk(c, origin);
}

/*
 * Right before the header is zeroed (the sync may have taken seconds): the
 * COW still holds what it held when it was checked.
 */
int recheck_cow(const struct cow_choice *c)
{
	struct cow_header h;
	int holds;

	drop_cache(c->fd);
	const char *sig = find_signature(c->fd, c->dev.sectors << DM_SECTOR_SHIFT, &holds);
	if (read_cow_header(c->fd, &h) < 0 || sig != c->sig || (c->reattach && (!h.valid || h.chunk != c->chunk)))
		return fail(0, "COW %s changed while snap was preparing (it now holds %s): no snapshot taken; %s unchanged",
			    c->path, sig ? sig : h.valid ? "a snapshot store" : "something else", c->origin);
	return EXIT_OK;
}
