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
#include "cow.h"
#include "group.h"
#include "probe.h"
#include "world.h"

int parse_pairs(const char *cmd, char **pos, int npos, const struct snap_plan *t, struct snap_plan **p, size_t *n)
{
	/* A COW's path may hold a ':' (/dev/disk/by-path/...), and so may a NAME. */
	int plain = npos == 2 && !(strchr(pos[0], ':') && strchr(pos[1], ':'));

	*n = plain ? 1 : (size_t)npos;
	if (npos < 1)
		return usage_error();
	if (*n > 1 && (t->cow.reattach || t->snapname[0]))
		return bad_usage("%s: %s takes one NAME COW, not a group", cmd,
				 t->cow.reattach ? "--reattach" : "-s");
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
		if (!colon || colon == pos[i] || !colon[1])
			return bad_usage("%s: '%s' is not NAME:COW", cmd, pos[i]);
		*colon = '\0';
		q->name = pos[i];
		q->cow.path = colon + 1;
	}
	return EXIT_OK;
}

/* Pair i against pair j; cow: each pair's COW as major, minor (0, 0: not a block device). */
static int check_pair(const struct snap_plan *p, const struct wrapper *wr, const uint32_t (*cow)[2], size_t i, size_t j)
{
	if (!strcmp(p[i].name, p[j].name))
		return fail(0, "%s is given twice: a group snapshots each origin once", p[i].name);
	if (cow[i][0] && cow[i][0] == cow[j][0] && cow[i][1] == cow[j][1])
		return fail(0, "COW %s of %s is also the COW of %s: each snapshot needs its own", p[i].cow.path, p[i].name,
			    p[j].name);
	if (cow[i][0] && lies_on_origin(cow[i][0], cow[i][1], &wr[j]))
		return fail(0, "COW %s of %s is %s, another origin of the group, or lies on it", p[i].cow.path, p[i].name,
			    p[j].name);
	if (lies_on_origin(wr[i].top->info.major, wr[i].top->info.minor, &wr[j]))
		return fail(0, "%s lies on %s: freezing both at once would deadlock; snap them apart", p[i].name,
			    p[j].name);
	return EXIT_OK;
}

int check_group(int fd, const struct snap_plan *p, size_t n)
{
	uint32_t (*cow)[2];
	struct wrapper *wr;
	struct world w = { 0 };
	struct stat st;
	size_t i, found = 0;
	int r = EXIT_OK;

	if (n < 2)
		return EXIT_OK;
	cow = calloc(n, sizeof *cow);
	if (!(wr = calloc(n, sizeof *wr)) || !cow)
		r = fail(-ENOMEM, "snap:");
	else
		r = scan_or_fail(fd, &w, 0);
	for (i = 0; r == EXIT_OK && i < n; i++) {
		if ((r = wrapper_or_fail(&w, p[i].name, &wr[i])) == EXIT_OK)
			found++;
		/* Not a block device: the pair's own check says so. */
		if (stat(p[i].cow.path, &st) == 0 && S_ISBLK(st.st_mode)) {
			cow[i][0] = major(st.st_rdev);
			cow[i][1] = minor(st.st_rdev);
		}
	}
	for (i = 0; r == EXIT_OK && i < n * n; i++)
		if (i / n != i % n)
			r = check_pair(p, wr, (const uint32_t (*)[2])cow, i / n, i % n);
	while (found)
		wrapper_free(&wr[--found]);
	world_free(&w);
	free(wr);
	free(cow);
	return r;
}
