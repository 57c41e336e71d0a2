/*
 * device.h - operations on one device-mapper device: the control file,
 * /dev/mapper nodes, create (with rollback), remove (with retries), resume,
 * reading one table or status, target modules, and a COW's header.
 *
 * Convention: 0 or -errno, never printing.
 */
#ifndef DMSNAP_DEVICE_H
#define DMSNAP_DEVICE_H

#include <stddef.h>
#include <stdint.h>

#include "dm_ioctl.h"
#include "record.h"
#include "targets.h"

/* /dev/mapper/control, opened and version-checked once. */
int dm_control(void);

/* /dev/mapper nodes: dmsnap never needs them itself, users and mount do. */
int ensure_node(const char *name, uint32_t major, uint32_t minor);
void remove_node(const char *name);
/* Removes the nodes of devices that are gone. */
void remove_stale_nodes(int fd);

/* Create, load and resume; a create that fails halfway removes what it made. *failed names the ioctl. */
int create_device(int fd, const char *name, const char *uuid, const struct dm_target *t, size_t n,
		  int readonly, struct dm_info *info, enum dm_cmd *failed);
/*
 * The one removal: udev or blkid may hold a device for a moment after its
 * last user, so up to tries attempts 100 ms apart while the kernel says
 * EBUSY; the node goes with the device.
 */
int remove_device(int fd, const char *name, int tries, int deferred);
/* The workflows' bound: some removals run while NAME is suspended, so 1 s. */
#define REMOVE_TRIES 10
/* If name is still suspended (a failed resume), resume it; -errno if it stays suspended. */
int ensure_resumed(int fd, const char *name);

/* A device's (first) table or status line, malloc'd in *params; 0 with *params NULL if it has none. */
int get_single_target(int fd, const char *name, uint32_t flags, struct dm_target *t, char **params);
/* A snapshot's (or a merging NAME's) status, decoded. */
int read_snap_status(int fd, const char *name, struct dm_snap_status *st);

/* The target type is registered, after asking modprobe for module: 0, -ENOENT if not, -errno. */
int target_ready(int fd, const char *type, const char *module);

/* Zeroes bytes from off through fd, then syncs. */
int zero_range(int fd, uint64_t off, uint64_t bytes);
/* The COW of a snapshot that is gone (its snapshot table line): header zeroed, so the next snap takes it. */
int retire_cow(const char *params, char *path, size_t size);
/* The same for one device (a COW's member), written through a descriptor checked to be major:minor. */
int retire_dev(uint32_t major, uint32_t minor, char *path, size_t size);

/*
 * Sets the record's state on the COW a live snapshot (or snapshot-merge)
 * line names, keeping what the record said of its origin; without a record,
 * one is made from sectors and origin.  -ENOSPC: the chunk leaves no room;
 * -ENOENT: no valid store there.
 */
int mark_cow(const char *params, uint64_t sectors, const char *origin, enum cow_state state);

#endif
