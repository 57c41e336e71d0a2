/*
 * cowdev.h - a snapshot's COW behind a linear device of its own
 * (SNAPNAME-cow), so that grow can append members to it while the snapshot
 * is live: the kernel's store asks its COW's size whenever it needs a chunk.
 * Member 0 is mapped whole (it holds the store's header and dmsnap's
 * record); each appended member after its label (record.h).
 *
 * Convention: 0 or -errno, never printing.
 */
#ifndef DMSNAP_COWDEV_H
#define DMSNAP_COWDEV_H

#include <stddef.h>
#include <stdint.h>

#include "dm_ioctl.h"
#include "record.h"

#define COW_UUID_PREFIX "DMSNAPC-"  /* never a wrapper, never a snapshot: a store's device */
#define COW_SUFFIX "-cow"

struct cow_member {
	uint32_t major, minor;
	uint64_t offset, sectors;  /* where its mapped part starts on it, and how long it is */
};
struct cow_layout {
	size_t n;
	struct cow_member m[MAX_MEMBERS];
};

/* SNAPNAME-cow; -ENAMETOOLONG when it (or its uuid) would not fit. */
int cowdev_name(const char *snapname, char *buf, size_t size);
/* The COW's device made over the members in order, resumed; *failed names the ioctl that failed. */
int cowdev_create(int fd, const char *snapname, const struct cow_layout *l, struct dm_info *info,
		  enum dm_cmd *failed);
/* 1 when major:minor is a COW's device (its name in name), else 0. */
int cowdev_of(uint32_t major, uint32_t minor, char *name, size_t size);
/* The COW a user knows: its first member ("+N" when grown by N more), or the device itself when bare. */
void cow_path(uint32_t major, uint32_t minor, char *buf, size_t size);
/* The members its live table maps. */
int cowdev_layout(int fd, const char *name, struct cow_layout *l);
/* The longer table loaded and swapped in: that device alone is suspended, with no filesystem to freeze. */
int cowdev_switch(int fd, const char *name, const struct cow_layout *l, enum dm_cmd *failed);

enum cow_fate {
	KEEP_STORE,          /* a reattached store: someone's snapshot */
	RETIRE_STORE,        /* its snapshot is gone: both ends of every member zeroed */
	RETIRE_UNLESS_KEPT,  /* an orphan: retired unless it holds a valid store not marked dropped */
};
/* Removes the COW's device name (when nothing holds it) and its members' fate; path names what failed. */
int cowdev_remove(int fd, const char *name, enum cow_fate fate, char *path, size_t size);
/*
 * After its snapshot (or merge) went: the COW its table line names; a COW's
 * device goes, a bare COW is retired or kept.
 */
int release_cow(int fd, const char *params, enum cow_fate fate, char *path, size_t size);

/*
 * The block device whose label says member index of store id, mapping
 * sectors: 0 with its path; -ENOENT none, -ENOTUNIQ two (path names both).
 */
int find_member(uint64_t id, uint32_t index, uint64_t sectors, char *path, size_t size);

#endif
