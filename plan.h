/*
 * plan.h - one snapshot as snap, run and a group plan it: names, the COW
 * chosen and checked, the tables built, all before anything changes.  A
 * type only: snap.c fills it and acts on it, group.c checks pairs of them.
 */
#ifndef DMSNAP_PLAN_H
#define DMSNAP_PLAN_H

#include <stdint.h>

#include "cow.h"
#include "cowdev.h"
#include "dm_ioctl.h"
#include "targets.h"

/* What snap (and run) will do, worked out before anything changes. */
struct snap_plan {
	const char *name, *mount_dir;
	char snapname[DM_NAME_LEN];
	struct cow_choice cow;
	int no_sync, swap_origin;
	uint32_t origin_major, origin_minor;  /* NAME */
	struct target_line snap_line, origin_line;
	char cowname[DM_NAME_LEN];  /* the COW's own device; "" when the name would not fit: a bare COW */
	struct cow_layout layout;
	uint32_t snap_major, snap_minor;  /* once taken */
};

#endif
