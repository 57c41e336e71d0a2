/*
 * world.h - the kernel's device-mapper state as dmsnap reads it, and what
 * it means: which devices are wrappers, their duplicates, snapshots, helpers.
 *
 * scan_world() is the only function here that talks to the kernel; the
 * classification works on the captured state alone, so it is tested on the
 * host with states captured from a real kernel.
 *
 * Convention: 0 or -errno, never printing.
 */
#ifndef DMSNAP_WORLD_H
#define DMSNAP_WORLD_H

#include <stddef.h>
#include <stdint.h>

#include "dm_ioctl.h"

#define SNAP_UUID_PREFIX "DMSNAP-"       /* a snapshot dmsnap made on a new store */
#define REATTACH_UUID_PREFIX "DMSNAPR-"  /* a snapshot dmsnap made on a kept store */
#define DUP_SUFFIX "_dup"
/* A group's snapshots end their uuids alike, after SNAP_UUID_PREFIX and their name: this and the group's token. */
#define GROUP_TAG "+G"

struct dev {
	char name[DM_NAME_LEN];
	struct dm_info info;
	struct dm_target live, inactive;      /* first target of each table */
	char *live_params, *inactive_params;  /* NULL: no such table */
	char *status;                         /* live status of a snapshot or snapshot-merge, else NULL */
	uint64_t under_sectors;               /* live linear table: size of the device it maps, 0 unknown */
};

struct world {
	struct dev *d;
	size_t n;
};

enum wrap_mode {
	MODE_LINEAR,  /* NAME = linear DEV 0: no snapshots */
	MODE_ORIGIN,  /* NAME = snapshot-origin NAME_dup */
	MODE_MERGE,   /* NAME = snapshot-merge NAME_dup COW ... */
};

struct wrapper {
	struct dev *top, *dup;
	uint32_t base_major, base_minor;  /* DEV */
	uint64_t sectors;
	enum wrap_mode mode;
	struct dev **snaps;    /* snapshot NAME_dup ... (live or inactive-only) */
	size_t nsnaps;
	struct dev **helpers;  /* other snapshot-origin NAME_dup devices */
	size_t nhelpers;
};

/*
 * Every device with its tables, and with statuses set the status of each
 * snapshot and merging NAME (NULL where it could not be read); world_free() after.
 */
#define WITH_STATUS 1
int scan_world(int fd, struct world *w, int statuses);
void world_free(struct world *w);
struct dev *find_dev(const struct world *w, const char *name);

/*
 * NAME as a wrapper: 0, or why not: -ENXIO no NAME, -ENOENT no NAME_dup,
 * -EINVAL NAME_dup is not one linear target over the whole of one device
 * from its start, -EMEDIUMTYPE NAME holds a table dmsnap does not make (an
 * offset, a part, several targets, another target type), -ENOMEM.
 * wrapper_free() after a 0.
 */
int identify_wrapper(const struct world *w, const char *name, struct wrapper *wr);
void wrapper_free(struct wrapper *wr);
/*
 * The one most urgent repair a wrapper needs after an interrupted dmsnap
 * (or a half-typed walkthrough), decided from the captured state alone.
 */
enum repair_kind {
	REPAIR_NONE,             /* consistent */
	REPAIR_SWAP_IN_ORIGIN,   /* resume NAME: its loaded snapshot-origin goes live */
	REPAIR_SWAP_IN_LINEAR,   /* resume NAME: its loaded linear goes live */
	REPAIR_CLEAR_INACTIVE,   /* clear NAME's inactive table, resume NAME if suspended */
	REPAIR_RESUME,           /* resume dev */
	REPAIR_REMOVE,           /* remove dev */
	REPAIR_REMOVE_RETIRE,    /* remove dev, a snapshot, and zero its new store's header */
	REPAIR_TO_LINEAR,        /* load linear into NAME and swap it in */
	REPAIR_REMOVE_COW,       /* remove dev, a COW's device nothing uses, retiring a store nobody keeps */
};
struct repair {
	enum repair_kind kind;
	const struct dev *dev;  /* what the repair acts on */
	const char *why;        /* what was found, and what the repair does */
};
enum repair_kind plan_repair(const struct world *w, const struct wrapper *wr, struct repair *rp);

/* NAME_dup; -ENAMETOOLONG when it would not fit a device name. */
int dup_name(const char *name, char *buf, size_t size);
int is_dup_name(const char *name);
/* A snapshot's COW device that nothing uses and no grow left mid-switch: a leftover to remove. */
int is_orphan_cow(const struct dev *d);
const char *mode_word(enum wrap_mode m);

#endif
