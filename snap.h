/*
 * snap.h - the snapshot lifecycle: wrap, snap, drop, unwrap, and the two
 * steps run shares with them (take a snapshot, drop it).
 *
 * Convention: cmd_*, parse_snap_args, take_snapshot and drop_snapshots
 * print and return the exit codes of cli.h.
 */
#ifndef DMSNAP_SNAP_H
#define DMSNAP_SNAP_H

#include <stdint.h>

#include "dm_ioctl.h"
#include "probe.h"
#include "record.h"
#include "targets.h"

/* What snap (and run) will do, worked out before anything changes. */
struct snap_plan {
	const char *name, *cow_path, *mount_dir;
	char snapname[DM_NAME_LEN];
	struct blockdev cow;
	int cow_fd;           /* open exclusively from the check to the header's zeroing; -1 closed */
	int record_fd;        /* the same device reopened shared, to write the record once the kernel holds it */
	const char *cow_sig;  /* the signature the check found (NULL: none) */
	struct cow_record origin_id;  /* what the COW's record must say of NAME */
	uint64_t chunk;
	int transient, force, reattach, no_sync, swap_origin;
	uint32_t origin_major, origin_minor;  /* NAME */
	struct target_line snap_line, origin_line;
	uint32_t snap_major, snap_minor;  /* once taken */
};
/* snap's options; run (argv[0] "run") also takes --mount DIR.  *help: --help was shown. */
int parse_snap_args(int argc, char **argv, struct snap_plan *p, int *help);
int take_snapshot(int fd, struct snap_plan *p);
/* Drops snapname (NULL: every snapshot) of name; NAME goes back to linear with the last. */
int drop_snapshots(int fd, const char *name, const char *snapname);

int cmd_wrap(int argc, char **argv);
int cmd_snap(int argc, char **argv);
int cmd_drop(int argc, char **argv);
int cmd_unwrap(int argc, char **argv);

#endif
