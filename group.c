/*
 * group.c - a group's pairs, parsed and checked against each other
 * (group.h).  Each pair is then checked on its own as a single snap is, and
 * snap.c takes them all in one window.
 */
#define _GNU_SOURCE
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/sysmacros.h>

#include "cli.h"
#include "group.h"
#include "probe.h"
#include "dm_ioctl.h"

int parse_pairs(const char *cmd, char **pos, int npos, const struct snap_plan *t, struct snap_plan **p, size_t *n)
{
	/* A COW's path may hold a ':' (/dev/disk/by-path/...), and so may a NAME. */
	int plain = npos == 2 && !(strchr(pos[0], ':') && strchr(pos[1], ':'));

	*n = plain ? 1 : (size_t)npos;
	if (npos < 1)
		return usage_error();
	if (*n > 1 && (t->cow.reattach || t->snapname[0])) {
		errf("dmsnap: %s: %s takes one NAME COW, not a group\n", cmd,
		     t->cow.reattach ? "--reattach" : "-s");
		return EXIT_USAGE;
	}
	if (!(*p = calloc(*n, sizeof **p)))
		return fail(-ENOMEM, "%s:", cmd);
	for (size_t i = 0; i < *n; i++) {
		char *colon = strchr(pos[i], ':');
		struct snap_plan *q = &(*p)[i];

		*q = *t;
		if (plain) {
			q->name = pos[0];
			q->cow.path = pos[1];
			break;
		}
		if (!colon || colon == pos[i] || !colon[1]) {
			errf("dmsnap: %s: '%s' is not NAME:COW\n", cmd, pos[i]);
			return EXIT_USAGE;
		}
		*colon = '\0';
		q->name = pos[i];
		q->cow.path = colon + 1;
	}
	return EXIT_OK;
}

/* Pair i against pair j; d: each pair's COW and origin as major, minor (0, 0: not known yet). */
static int check_pair(const struct snap_plan *p, const uint32_t (*d)[4], size_t i, size_t j)
{
	if (j < i && !strcmp(p[i].name, p[j].name))
		return fail(0, "%s is given twice: a group snapshots each origin once", p[i].name);
	if (j < i && d[i][0] && d[i][0] == d[j][0] && d[i][1] == d[j][1])
		return fail(0, "COW %s of %s is also the COW of %s: each snapshot needs its own", p[i].cow.path, p[i].name,
			    p[j].name);
	if (d[j][2] && stacked_on(d[i][0], d[i][1], d[j][2], d[j][3]))
		return fail(0, "COW %s of %s is %s, another origin of the group, or lies on it", p[i].cow.path, p[i].name,
			    p[j].name);
	if (d[j][2] && stacked_on(d[i][2], d[i][3], d[j][2], d[j][3]))
		return fail(0, "%s lies on %s: freezing both at once would deadlock; snap them apart", p[i].name,
			    p[j].name);
	return EXIT_OK;
}

int check_group(int fd, const struct snap_plan *p, size_t n)
{
	uint32_t (*d)[4] = calloc(n, sizeof *d);
	struct dm_info info;
	struct stat st;
	int r = EXIT_OK;

	if (!d)
		return fail(-ENOMEM, "snap:");
	/* What is not a block device or a dm device yet, each pair's own check says. */
	for (size_t i = 0; i < n; i++) {
		if (stat(p[i].cow.path, &st) == 0 && S_ISBLK(st.st_mode)) {
			d[i][0] = major(st.st_rdev);
			d[i][1] = minor(st.st_rdev);
		}
		if (dm_get_info(fd, p[i].name, &info) == 0) {
			d[i][2] = info.major;
			d[i][3] = info.minor;
		}
	}
	for (size_t i = 0; r == EXIT_OK && i < n; i++)
		for (size_t j = 0; r == EXIT_OK && j < n; j++)
			if (j != i)
				r = check_pair(p, (const uint32_t (*)[4])d, i, j);
	free(d);
	return r;
}
