/*
 * show.c - wrapped devices and their snapshots, as the kernel holds them (show.h).
 */
#define _GNU_SOURCE
#include <getopt.h>
#include <stdio.h>
#include <string.h>

#include "cli.h"
#include "cowdev.h"
#include "lock.h"
#include "probe.h"
#include "show.h"
#include "targets.h"
#include "util.h"
#include "world.h"

struct snap_view {
	const char *name;
	char cow[128];
	const char *state;
	struct dm_snap_status st;
	uint64_t chunk;
};

static const char *state_word(enum dm_snap_state s)
{
	return nth_string("active\0invalid\0overflow\0merge-failed\0unknown", s);
}

/* What the snapshots of the wrappers shown are worth: each counts toward the exit status. */
struct verdict {
	int invalid;      /* overflowed */
	int unprotected;  /* live, but its origin no longer copies out: writes bypass it */
	int unreadable;   /* its status could not be read or parsed */
};

/* Status and table of one snapshot (or of NAME while it merges), from the scan. */
static void view_snapshot(const struct dev *d, int merging, struct snap_view *v)
{
	struct dm_snap_table tab;

	memset(v, 0, sizeof *v);
	v->name = d->name;
	v->state = "inactive";
	snprintf(v->cow, sizeof v->cow, "?");
	const char *table = d->live_params ? d->live_params : d->inactive_params;
	if (table && dm_parse_snap_table(table, &tab) == 0) {
		cow_path(tab.cow_major, tab.cow_minor, v->cow, sizeof v->cow);
		v->chunk = tab.chunk;
	}
	if (!d->live_params || d->info.flags & DM_SUSPEND_FLAG)
		return;
	if (d->status && dm_parse_snap_status(d->status, &v->st) == 0)
		v->state = merging && v->st.state == DM_SNAP_ACTIVE ? "merging" : state_word(v->st.state);
	else
		v->state = "unknown";
}

/* Tenths, in integers: a size is never shown with more precision than that. */
static void human_size(uint64_t sectors, char *buf, size_t size)
{
	uint64_t tenths = sectors * 10 / 2;  /* KiB */
	int u = 0;

	while (tenths >= 10240 && u < 4) {
		tenths /= 1024;
		u++;
	}
	snprintf(buf, size, "%llu.%llu %.3s", (unsigned long long)(tenths / 10), (unsigned long long)(tenths % 10),
		 "KiBMiBGiBTiBPiB" + u * 3);
}

static void print_view(const char *origin, const struct snap_view *v, int parsable)
{
	int counted = v->st.state == DM_SNAP_ACTIVE && strcmp(v->state, "inactive") && strcmp(v->state, "unknown");
	char used[32], total[32];

	if (parsable) {
		printf("origin=%s snapshot=%s cow=%s state=%s", origin, v->name, v->cow, v->state);
		if (counted)
			printf(" used_sectors=%llu total_sectors=%llu metadata_sectors=%llu percent=%u.%u",
			       (unsigned long long)v->st.used, (unsigned long long)v->st.total,
			       (unsigned long long)v->st.metadata, permille_used(&v->st) / 10,
			       permille_used(&v->st) % 10);
		else
			printf(" used_sectors= total_sectors= metadata_sectors= percent=");
		printf(" chunk=%llu\n", (unsigned long long)v->chunk);
		return;
	}
	printf("  %-16s cow %-16s %-9s", v->name, v->cow, v->state);
	if (counted) {
		human_size(v->st.used, used, sizeof used);
		human_size(v->st.total, total, sizeof total);
		printf(" used %s of %s (%u.%u%%)", used, total, permille_used(&v->st) / 10,
		       permille_used(&v->st) % 10);
	}
	human_size(v->chunk, used, sizeof used);
	printf(" chunk %s\n", used);
}

/* One wrapper and its snapshots, judged into *vd. */
static void show_wrapper(const struct wrapper *wr, int parsable, struct verdict *vd)
{
	char base[128], size[32];
	struct snap_view v;

	devno_path(wr->base_major, wr->base_minor, base, sizeof base);
	human_size(wr->sectors, size, sizeof size);
	if (!parsable)
		printf("%s: %s, %s, %s%s, %zu snapshot%s\n", wr->top->name, base, size, mode_word(wr->mode),
		       wr->top->info.flags & DM_SUSPEND_FLAG ? " (SUSPENDED)" : "", wr->nsnaps,
		       wr->nsnaps == 1 ? "" : "s");
	if (wr->mode == MODE_MERGE) {
		view_snapshot(wr->top, 1, &v);
		print_view(wr->top->name, &v, parsable);
	}
	for (size_t i = 0; i < wr->nsnaps; i++) {
		view_snapshot(wr->snaps[i], 0, &v);
		if (!strcmp(v.state, "unknown")) {
			warn(0, "%s: its status cannot be read: its health is unknown", v.name);
			vd->unreadable++;
		}
		else if (v.st.state == DM_SNAP_INVALID)
			vd->invalid++;
		else if (wr->mode != MODE_ORIGIN && wr->snaps[i]->live_params) {
			v.state = "broken";
			vd->unprotected++;
		}
		print_view(wr->top->name, &v, parsable);
	}
}

/* Every wrapper. */
static int show_all(const struct world *w, int parsable, struct verdict *vd)
{
	struct wrapper wr;
	int shown = 0;

	for (size_t i = 0; i < w->n; i++)
		if (!is_dup_name(w->d[i].name) && identify_wrapper(w, w->d[i].name, &wr) == 0) {
			show_wrapper(&wr, parsable, vd);
			wrapper_free(&wr);
			shown++;
		}
	if (!shown && !parsable)
		printf("No wrapped devices\n");
	return EXIT_OK;
}

/* The exit status the snapshots deserve, each problem said once. */
static int judge(const struct verdict *vd)
{
	if (vd->invalid)
		warn(0, "%d snapshot%s invalid: %s content cannot be trusted (the COW overflowed)", vd->invalid,
		     vd->invalid == 1 ? " is" : "s are", vd->invalid == 1 ? "its" : "their");
	if (vd->unprotected)
		warn(0, "%d snapshot%s BROKEN: %s origin no longer carries snapshot-origin, so writes bypass %s ('dmsnap recover' removes %s)",
		     vd->unprotected, vd->unprotected == 1 ? " is" : "s are", vd->unprotected == 1 ? "its" : "their",
		     vd->unprotected == 1 ? "it" : "them", vd->unprotected == 1 ? "it" : "them");
	if (vd->unreadable)
		warn(0, "the status of %d snapshot%s could not be read: %s health is unknown", vd->unreadable,
		     vd->unreadable == 1 ? "" : "s", vd->unreadable == 1 ? "its" : "their");
	return vd->invalid || vd->unprotected ? EXIT_INVALID : vd->unreadable ? EXIT_FAIL : EXIT_OK;
}

int cmd_show(int argc, char **argv)
{
	const struct option *list = long_opts("");
	int parsable = 0, c, fd, r;
	struct verdict vd = { 0, 0, 0 };
	struct world w;
	struct wrapper wr;

	while ((c = getopt_long(argc, argv, "ph", list, NULL)) != -1) {
		if (c == 'p')
			parsable = 1;
		else
			return c == 'h' ? show_help() : usage_error();
	}
	if (argc - optind > 1)
		return usage_error();
	const char *name = argc - optind == 1 ? argv[optind] : NULL;
	if ((fd = need_control()) < 0)
		return EXIT_FAIL;
	int locked = read_lock(fd);
	if ((r = scan_or_fail(fd, &w, WITH_STATUS)) == EXIT_OK) {
		if (!name)
			r = show_all(&w, parsable, &vd);
		else if ((r = wrapper_or_fail(&w, name, &wr)) == EXIT_OK) {
			show_wrapper(&wr, parsable, &vd);
			wrapper_free(&wr);
		}
		world_free(&w);
	}
	if (locked)
		lock_release(fd);
	return r ? r : judge(&vd);
}
