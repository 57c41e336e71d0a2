/*
 * group.h - several origins snapped at one instant: the pairs as given
 * (NAME COW, or NAME:COW ...), and the refusals that need every pair.
 *
 * Convention: the cmd_* layer's: both print and return the exit codes of cli.h.
 */
#ifndef DMSNAP_GROUP_H
#define DMSNAP_GROUP_H

#include <stddef.h>

#include "plan.h"

/*
 * The pairs among pos[0..npos), each a copy of t with its NAME and COW, in
 * *p (malloc'd: free() it) and *n.  Two arguments are NAME COW unless both
 * hold a ':'; otherwise each is NAME:COW, the first ':' ending NAME.
 */
int parse_pairs(const char *cmd, char **pos, int npos, const struct snap_plan *t, struct snap_plan **p, size_t *n);
/*
 * Before any COW is opened: no origin twice, no COW twice, no COW that is
 * (or lies on) another pair's origin, no origin that lies on another.
 */
int check_group(int fd, const struct snap_plan *p, size_t n);

#endif
