/*
 * grow.c - growing a live snapshot's COW (grow.h).  The COW's own linear
 * device gets one more target and is switched alone: the origin is never
 * suspended, copy-outs wait for the short switch.  Each new member is
 * checked like a COW, labelled, named in the record, then mapped: a reboot
 * at any point finds every member the table maps.
 */
#define _GNU_SOURCE
#include <errno.h>
#include <fcntl.h>
#include <getopt.h>
#include <signal.h>
#include <stdio.h>
#include <string.h>
#include <sys/random.h>
#include <unistd.h>

#include "cli.h"
#include "device.h"
#include "faults.h"
#include "grow.h"
#include "lock.h"
#include "probe.h"
#include "window.h"

struct grow_args {
	const char *snapname;
	char **devs;
	int ndevs;
};

/* The COW's record through its device: the descriptor, or -errno when there is none to keep up to date. */
static int open_record(const char *cowname, uint64_t chunk, struct cow_record *rec)
{
	char path[sizeof DM_DIR + DM_NAME_LEN];
	struct cow_header h;
	int fd;

	snprintf(path, sizeof path, "%s/%s", DM_DIR, cowname);
	if ((fd = open(path, O_RDWR | O_CLOEXEC)) < 0)
		return -errno;
	drop_cache(fd);
	if (read_cow_header(fd, &h) < 0 || !h.valid || h.chunk != chunk || record_read(fd, chunk, rec) < 0) {
		close(fd);
		return -ENOENT;
	}
	return fd;
}

/* dev checked like a COW, labelled, named in the record, then mapped at the COW's end. */
static int grow_by(int fd, const struct wrapper *wr, const char *snap, const char *cowname, uint64_t chunk,
		   const char *dev, struct cow_layout *l, int rec_fd, struct cow_record *rec)
{
	static unsigned char label[RECORD_BYTES];
	struct cow_choice c = { .path = dev, .origin = wr->top->name, .fd = -1, .record_fd = -1, .chunk = chunk };
	struct blockdev origin = { .logical_block = 512 };
	struct cow_member *m = &l->m[l->n];
	struct cow_record was = *rec;
	enum dm_cmd failed;
	int r;

	if (l->n == MAX_MEMBERS)
		return fail(0, "%s: its COW has %d members already", snap, MAX_MEMBERS);
	logical_block_of(wr->base_major, wr->base_minor, &origin.logical_block);
	if (check_cow(&c, NULL, wr, &origin)) {
		close_cow(&c);
		return EXIT_FAIL;
	}
	*m = (struct cow_member){ c.dev.major, c.dev.minor, MEMBER_LABEL_SECTORS,
				  (c.dev.sectors - MEMBER_LABEL_SECTORS) / chunk * chunk };
	label_encode(rec->store_id, (uint32_t)l->n, m->sectors, label);
	r = pwrite(c.fd, label, sizeof label, 0) == (ssize_t)sizeof label && fsync(c.fd) == 0 ? 0 : -EIO;
	close_cow(&c);
	fault_pause("labelled");
	/* Named before it is mapped: a reboot in between finds a member the store never used. */
	rec->member_sectors[l->n] = m->sectors;
	rec->nmembers = (uint32_t)l->n + 1;
	if (r == 0 && rec_fd >= 0)
		r = record_write(rec_fd, rec);
	if (r == 0) {
		/* Signals wait: stopped in the switch, the COW would hold up every copy-out. */
		sigset_t saved;
		open_window(&saved);
		l->n++;
		r = cowdev_switch(fd, cowname, l, &failed);
		close_window(&saved);
		if (r < 0) {
			l->n--;
			dm_warn(r, failed, cowname);
		}
	}
	if (r < 0) {
		/* Back as it was: the record without it, the device blank again for the next try. */
		*rec = was;
		if (rec_fd >= 0)
			record_write(rec_fd, rec);
		retire_dev(m->major, m->minor, (char *)label, sizeof label);
		return fail(r, "%s: its COW was not grown by %s; the snapshot goes on as it was:", snap, dev);
	}
	note("%s: COW grown by %s (%llu sectors more)", snap, dev, (unsigned long long)m->sectors);
	return EXIT_OK;
}

/* grow's look and act on NAME's state, under the lock. */
static int grow_on(int fd, struct world *w, struct wrapper *wr, void *arg)
{
	const struct grow_args *g = arg;
	struct dev *s = NULL;
	struct dm_snap_table tab;
	struct dm_snap_status st;
	struct cow_record rec = { .nmembers = 1 };
	static struct cow_layout l;
	char cowname[DM_NAME_LEN];
	int r = EXIT_OK, rec_fd;

	(void)w;
	for (size_t i = 0; i < wr->nsnaps; i++)
		if (g->snapname ? !strcmp(wr->snaps[i]->name, g->snapname) : wr->nsnaps == 1)
			s = wr->snaps[i];
	if (!s)
		return fail(0, g->snapname ? "%s is not a snapshot of %s ('dmsnap show %s' lists them)"
					   : "%.0s%s has no snapshot or several: name the one to grow ('dmsnap show %s')",
			    g->snapname ? g->snapname : "", wr->top->name, wr->top->name);
	if (!s->live_params || dm_parse_snap_table(s->live_params, &tab) < 0 ||
	    read_snap_status(fd, s->name, &st) < 0 || st.state != DM_SNAP_ACTIVE)
		return fail(0, "%s is not a live, valid snapshot: a bigger COW would not bring it back", s->name);
	if (!cowdev_of(tab.cow_major, tab.cow_minor, cowname, sizeof cowname))
		return fail(0, "%s: its COW is a bare device (made by hand?), which cannot grow in use: only a COW snap put behind its own device grows",
			    s->name);
	if ((r = cowdev_layout(fd, cowname, &l)) < 0)
		return fail(r, "%s: reading the table of its COW %s:", s->name, cowname);
	if ((rec_fd = open_record(cowname, tab.chunk, &rec)) >= 0) {
		if (!rec.store_id)
			getrandom(&rec.store_id, sizeof rec.store_id, GRND_NONBLOCK);
		rec.member_sectors[0] = l.m[0].sectors;
		/* Named but never mapped (a grow cut short): its label goes, or a reboot would find two of that index. */
		for (uint32_t i = (uint32_t)l.n; i < rec.nmembers; i++) {
			char path[256];
			int lfd = find_member(rec.store_id, i, rec.member_sectors[i], path, sizeof path) ? -1
				  : open_exclusive(path, O_RDWR);
			if (lfd >= 0) {
				zero_range(lfd, 0, RECORD_BYTES);
				close(lfd);
			}
		}
	} else if (strcmp(tab.mode, "N")) {
		note("%s: its COW has no dmsnap record: it grows, but a reboot cannot reassemble it", s->name);
	}
	for (int i = 0; i < g->ndevs && r == EXIT_OK; i++)
		r = grow_by(fd, wr, s->name, cowname, tab.chunk, g->devs[i], &l, rec_fd, &rec);
	if (rec_fd >= 0)
		close(rec_fd);
	return r;
}

int grow_snapshot(int fd, const char *name, const char *snapname, char **devs, int ndevs)
{
	struct grow_args g = { snapname, devs, ndevs };
	int r;

	if (lock_or_fail(fd))
		return EXIT_FAIL;
	r = on_wrapper(fd, name, grow_on, &g);
	lock_release(fd);
	return r;
}

int cmd_grow(int argc, char **argv)
{
	const struct option *list = long_opts("");
	const char *snapname = NULL;
	int c, fd;

	while ((c = getopt_long(argc, argv, "h", list, NULL)) != -1)
		return c == 'h' ? show_help() : usage_error();
	/* A device is a path; a snapshot's name never holds a '/'. */
	int i = optind + 1;
	if (argc - i > 1 && !strchr(argv[i], '/'))
		snapname = argv[i++];
	if (argc - i < 1)
		return usage_error();
	if ((fd = need_control()) < 0)
		return EXIT_FAIL;
	return grow_snapshot(fd, argv[optind], snapname, argv + i, argc - i);
}

/* ---- reassembling a grown COW ---- */

int assemble_cow(const struct cow_choice *c, const struct wrapper *wr, struct cow_layout *l)
{
	const struct cow_record *rec = &c->rec;
	char path[256];
	int r;

	l->n = 1;
	l->m[0] = (struct cow_member){ c->dev.major, c->dev.minor, 0, c->dev.sectors };
	if (!c->reattach || rec->nmembers <= 1)
		return EXIT_OK;
	if (rec->member_sectors[0] > c->dev.sectors)
		return fail(0, "COW %s is smaller than when its snapshot was taken: not using it", c->path);
	l->m[0].sectors = rec->member_sectors[0];
	for (uint32_t i = 1; i < rec->nmembers; i++, l->n++) {
		struct cow_choice m = { .path = path, .origin = c->origin, .fd = -1 };
		if ((r = find_member(rec->store_id, i, rec->member_sectors[i], path, sizeof path)) < 0) {
			fail(0, r == -ENOTUNIQ ? "COW %s: member %u of its %u is on both %s: not using it"
			     : "COW %s: member %u of its %u is on no block device here%.0s (a disk missing?): not using it",
			     c->path, i + 1, rec->nmembers, path);
			/* the boot hook waits for a disk that comes late */
			return r == -ENOTUNIQ ? EXIT_FAIL : EXIT_MISSING;
		}
		r = check_member(&m, NULL, wr);
		close_cow(&m);
		if (r)
			return r;
		l->m[i] = (struct cow_member){ m.dev.major, m.dev.minor, MEMBER_LABEL_SECTORS, rec->member_sectors[i] };
	}
	return EXIT_OK;
}
