/*
 * snap.h - taking a snapshot and dropping it, as commands and as the two
 * steps run shares with them.
 *
 * Convention: cmd_*, parse_snap_args, take_snapshot and drop_snapshots
 * print and return the exit codes of cli.h.
 */
#ifndef DMSNAP_SNAP_H
#define DMSNAP_SNAP_H

#include <stddef.h>
#include <stdint.h>

#include "plan.h"

/* snap's options; run (argv[0] "run") also takes --mount DIR.  *help: --help was shown. */
/* A group (or one pair) is p[0..*n), malloc'd: free() it. */
int parse_snap_args(int argc, char **argv, struct snap_plan **p, size_t *n, int *help);
/* p[0..n) at one instant, under one lock (group.h). */
int take_snapshot(int fd, struct snap_plan *p, size_t n);
/* Drops snapname (NULL: every snapshot) of name; NAME goes back to linear with the last. */
int drop_snapshots(int fd, const char *name, const char *snapname);

int cmd_snap(int argc, char **argv);
int cmd_drop(int argc, char **argv);

#endif
