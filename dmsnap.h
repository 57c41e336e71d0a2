/*
 * dmsnap.h - what dmsnap's parts share: the error convention, the control
 * file, device nodes, block-device probing and the command handlers.
 */
#ifndef DMSNAP_H
#define DMSNAP_H

#include <stdint.h>
#include <sys/types.h>

#include "dm_ioctl.h"
#include "util.h"

/* Exit statuses, documented in dmsnap.8. */
enum {
	EXIT_OK = 0,
	EXIT_FAIL = 1,
	EXIT_USAGE = 2,
	EXIT_INVALID = 3,  /* a snapshot is invalid: its content cannot be trusted */
};

/*
 * Error convention: "dmsnap: MSG" on stderr; a MSG ending in ':' gets
 * ": strerror(-err)" appended.  fail() returns EXIT_FAIL so that handlers
 * can `return fail(...)`; warn() is its twin for batch work that goes on.
 */
int fail(int err, const char *fmt, ...) PRINTF(2, 3);
void warn(int err, const char *fmt, ...) PRINTF(2, 3);
void note(const char *fmt, ...) PRINTF(1, 2);
/* A failed ioctl: names the device, the ioctl and, when known, the fix. */
int dm_fail(int err, enum dm_cmd cmd, const char *name);
void dm_warn(int err, enum dm_cmd cmd, const char *name);
/* Prints the command's usage line to stderr; returns EXIT_USAGE. */
int usage_of(const char *cmd);

extern int quiet;    /* -q: no progress or "made" lines, errors only */
extern int verbose;  /* -v: timings and each step */

/* The control file, opened (and version-checked) on first use. */
int control(void);

/* /dev/mapper nodes: dmsnap never needs them itself, users and mount do. */
int ensure_node(const char *name, uint32_t major, uint32_t minor);
int ensure_node_of(const char *name, const struct dm_info *info);  /* warns on failure */
void remove_node(const char *name);
int make_all_nodes(const char *only);

int remove_device(int fd, const char *name, int tries, int deferred);
/* The workflows' bound: some removals run while NAME is suspended, so 1 s. */
#define REMOVE_TRIES 10
int create_device(int fd, const char *name, const char *uuid, const struct dm_target *t, size_t n,
		  int readonly, struct dm_info *info, enum dm_cmd *failed);

/* Fetches a device's table or status; 0 with *t unset if it has none. */
int get_single_target(int fd, const char *name, uint32_t flags, struct dm_target *t, char **params);

/* probe.c: block devices */
struct blockdev {
	const char *path;
	uint32_t major, minor;
	uint64_t sectors;
	unsigned logical_block;  /* bytes */
};
int probe_blockdev(const char *path, struct blockdev *bd);
int open_exclusive(const char *path, int flags);
const char *find_signature(int fd, uint64_t bytes);
const char *find_fstype(int fd, uint64_t bytes);
struct cow_header {
	int present;   /* dm-snapshot's magic is there */
	int valid;     /* and the kernel had not marked the snapshot invalid */
	uint32_t version, chunk;
};
int read_cow_header(int fd, struct cow_header *h);
int devno_path(uint32_t major, uint32_t minor, char *buf, size_t size);
int mount_point_of(uint32_t major, uint32_t minor, char *buf, size_t size);

int stacked_on(uint32_t major, uint32_t minor, uint32_t base_major, uint32_t base_minor);
int logical_block_of(uint32_t major, uint32_t minor, unsigned *bytes);

/* snap.c: the kernel's state as dmsnap sees it */
struct dev {
	char name[DM_NAME_LEN];
	struct dm_info info;
	struct dm_target live, inactive;   /* first target of each table */
	char *live_params, *inactive_params;  /* NULL: no such table */
};

struct world {
	struct dev *d;
	size_t n;
};

#define MAX_SNAPS 64
#define SNAP_UUID_PREFIX "DMSNAP-"

enum wrap_mode {
	MODE_LINEAR,  /* NAME = linear DEV 0: no snapshots */
	MODE_ORIGIN,  /* NAME = snapshot-origin NAME_dup */
	MODE_MERGE,   /* NAME = snapshot-merge NAME_dup COW ... */
	MODE_OTHER,   /* a table dmsnap did not make */
};

struct wrapper {
	struct dev *top, *dup;
	uint32_t base_major, base_minor;  /* DEV */
	uint64_t sectors;
	enum wrap_mode mode;
	struct dev *snaps[MAX_SNAPS];     /* snapshot NAME_dup ... (live or inactive-only) */
	size_t nsnaps;
	struct dev *helpers[MAX_SNAPS];   /* other snapshot-origin NAME_dup devices */
	size_t nhelpers;
};

int scan_world(int fd, struct world *w);
void world_free(struct world *w);
struct dev *find_dev(struct world *w, const char *name);
int find_wrapper(struct world *w, const char *name, struct wrapper *wr);
void dup_name(const char *name, char *buf, size_t size);
int need_target(int fd, const char *type, const char *module);
int ensure_resumed(int fd, const char *name);

/* What snap (and run) will do, worked out before anything changes. */
struct snap_plan {
	const char *name, *cow_path, *mount_dir;
	char snapname[DM_NAME_LEN];
	struct blockdev cow;
	uint64_t chunk;
	int transient, force, reattach, no_sync, swap_origin;
	uint32_t origin_major, origin_minor;  /* NAME */
	char snap_params[96], origin_params[32];
	struct dm_target snap_t, origin_t;
	uint32_t snap_major, snap_minor;  /* once taken */
};
int parse_snap_args(int argc, char **argv, struct snap_plan *p);
int take_snapshot(int fd, struct snap_plan *p);
int drop_snapshots(int fd, const char *name, const char *snapname);
int read_snap_status(int fd, const char *name, struct dm_snap_status *st);
void retire_cow(const char *name, const char *params);
unsigned permille_used(const struct dm_snap_status *st);

/* snap.c: the snapshot workflows */
int cmd_wrap(int argc, char **argv);
int cmd_snap(int argc, char **argv);
int cmd_show(int argc, char **argv);
int cmd_drop(int argc, char **argv);
int cmd_unwrap(int argc, char **argv);

/* backup.c: backups in one command, COW watching */
int cmd_run(int argc, char **argv);
int cmd_watch(int argc, char **argv);

/* merge.c: rollback and repair */
int cmd_merge(int argc, char **argv);
int cmd_recover(int argc, char **argv);

#endif
