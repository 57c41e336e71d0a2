/*
 * probe.h - what dmsnap needs to know about block devices before it touches
 * them: number, size, block size, users, signatures, names.
 *
 * Convention: 0 or -errno, never printing (the predicates return 1 or 0).
 */
#ifndef DMSNAP_PROBE_H
#define DMSNAP_PROBE_H

#include <stddef.h>
#include <stdint.h>

struct blockdev {
	const char *path;
	uint32_t major, minor;
	uint64_t sectors;
	unsigned logical_block;  /* bytes */
};
int probe_blockdev(const char *path, struct blockdev *bd);
int probe_fd(int fd, struct blockdev *bd);
/* /sys/dev/block/MAJOR:MINOR followed by rest, in buf; buf. */
char *sys_block(char *buf, size_t size, uint32_t major, uint32_t minor, const char *rest);
/* Writes back and forgets the device's cached pages, so that reads see what dm targets wrote beneath. */
void drop_cache(int fd);
/* O_EXCL: fails with -EBUSY while the device is mounted or claimed by dm or md. */
int open_exclusive(const char *path, int flags);
/*
 * What the first known signature on the device is ("an XFS filesystem"), or
 * NULL; *holds says it is a container or a member of one (a partition table,
 * md, LVM, LUKS...): something no --force may overwrite.
 */
const char *find_signature(int fd, uint64_t bytes, int *holds);
/* Bytes at each end of a device that a blank (or retired) COW has all zero. */
#define BLANK_SPAN (128 * 1024)
/* 1 if the first or last BLANK_SPAN bytes hold anything but zeros. */
int holds_data(int fd, uint64_t bytes);
/* The filesystem type to mount the device as, or NULL. */
const char *find_fstype(int fd, uint64_t bytes);

/* dm-snapshot's persistent store header. */
struct cow_header {
	int present;   /* dm-snapshot's magic is there */
	int valid;     /* and the kernel had not marked the snapshot invalid */
	uint32_t version, chunk;
};
int read_cow_header(int fd, struct cow_header *h);

/* A user-facing name for a device number: /dev/mapper/NAME, /dev/KNAME or MAJ:MIN. */
int devno_path(uint32_t major, uint32_t minor, char *buf, size_t size);
/* Where major:minor is mounted; 1 if found. */
int mount_point_of(uint32_t major, uint32_t minor, char *buf, size_t size);
/* Is major:minor the base device, a partition of it, built on it, or a loop device over a file on it? */
int stacked_on(uint32_t major, uint32_t minor, uint32_t base_major, uint32_t base_minor);
/* What sysfs says uses a device: its partitions (the first one's name in name), its holders (dm, md, bcache...). */
int has_partitions(uint32_t major, uint32_t minor, char *name, size_t size);
int has_holders(uint32_t major, uint32_t minor);
/* Who uses a device, for a message: "mounted on DIR", "held by md3", "an active swap area"... */
#define USERS_LEN 256
int describe_users(uint32_t major, uint32_t minor, char *buf, size_t size);
/* Another process holds the device open. */
int open_elsewhere(uint32_t major, uint32_t minor);
int logical_block_of(uint32_t major, uint32_t minor, unsigned *bytes);

#endif
