/*
 * targets.h - the table lines dmsnap loads and reads back (linear,
 * snapshot-origin, snapshot, snapshot-merge) and the snapshot status line:
 * builders and parsers, pure, tested on the host by round trips.
 *
 * Convention: 0 or -errno (-EINVAL for a line that does not parse); no I/O.
 */
#ifndef DMSNAP_TARGETS_H
#define DMSNAP_TARGETS_H

#include <stdint.h>

#include "dm_ioctl.h"

/* Snapshot status: "<used>/<total> <metadata>" in sectors, or a word. */
enum dm_snap_state { DM_SNAP_ACTIVE, DM_SNAP_INVALID, DM_SNAP_OVERFLOW, DM_SNAP_MERGE_FAILED, DM_SNAP_UNKNOWN };
struct dm_snap_status {
	enum dm_snap_state state;
	uint64_t used, total, metadata;  /* valid when state is DM_SNAP_ACTIVE */
};

/*
 * A snapshot or snapshot-merge line: "<origin> <cow> <P|PO|N> <chunk>
 * [<count> <feature>...]" with devices as major:minor, as the kernel prints it.
 */
#define SNAP_FEATURES_LEN 64
struct dm_snap_table {
	uint32_t origin_major, origin_minor;
	uint32_t cow_major, cow_minor;
	char mode[3];          /* "P", "PO" or "N" */
	uint64_t chunk;        /* sectors */
	char features[SNAP_FEATURES_LEN];  /* "<count> <feature>..." or "" */
};

int dm_parse_snap_status(const char *s, struct dm_snap_status *st);
int dm_parse_snap_table(const char *params, struct dm_snap_table *t);
/* "<dev> <offset>" of a linear target. */
int dm_parse_linear(const char *params, uint32_t *major, uint32_t *minor, uint64_t *offset);
/* The device a snapshot, snapshot-origin or snapshot-merge line starts with. */
int dm_first_devno(const char *params, uint32_t *major, uint32_t *minor);
/* Used, in tenths of a percent of the COW. */
unsigned permille_used(const struct dm_snap_status *st);

/* A line to load; t.params points into params, so a built line is not copied. */
struct target_line {
	struct dm_target t;
	char params[128];
};
/* "linear MAJ:MIN 0" over the whole device. */
void build_linear(struct target_line *l, uint64_t sectors, uint32_t major, uint32_t minor);
/* "linear MAJ:MIN OFFSET" at start: one member of a COW's own device. */
void build_linear_at(struct target_line *l, uint64_t start, uint64_t sectors, uint32_t major, uint32_t minor,
		     uint64_t offset);
/* "snapshot-origin MAJ:MIN". */
void build_origin(struct target_line *l, uint64_t sectors, uint32_t major, uint32_t minor);
/* type is "snapshot" or "snapshot-merge". */
void build_snapshot(struct target_line *l, const char *type, uint64_t sectors, const struct dm_snap_table *s);

#endif
