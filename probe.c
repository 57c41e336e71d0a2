/*
 * probe.c - what dmsnap needs to know about block devices before it
 * touches them: number, size, block size, users, signatures, names.
 */
#define _GNU_SOURCE
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/ioctl.h>
#include <sys/stat.h>
#include <sys/sysmacros.h>
#include <unistd.h>
#include <limits.h>

#include "dm_ioctl.h"
#include "probe.h"
#include "util.h"

#ifndef BLKSSZGET
#define BLKSSZGET _IO(0x12, 104)
#endif
#ifndef BLKGETSIZE64
#define BLKGETSIZE64 _IOR(0x12, 114, size_t)
#endif

int probe_blockdev(const char *path, struct blockdev *bd)
{
	struct stat st;
	uint64_t bytes;
	int fd, lbs, r = 0;

	memset(bd, 0, sizeof *bd);
	bd->path = path;
	if (stat(path, &st) < 0)
		return -errno;
	if (!S_ISBLK(st.st_mode))
		return -ENOTBLK;
	bd->major = major(st.st_rdev);
	bd->minor = minor(st.st_rdev);
	if ((fd = open(path, O_RDONLY | O_CLOEXEC)) < 0)
		return -errno;
	if (ioctl(fd, BLKGETSIZE64, &bytes) < 0 || ioctl(fd, BLKSSZGET, &lbs) < 0)
		r = -errno;
	close(fd);
	bd->sectors = bytes >> DM_SECTOR_SHIFT;
	bd->logical_block = (unsigned)lbs;
	return r;
}

int open_exclusive(const char *path, int flags)
{
	int fd = open(path, flags | O_EXCL | O_CLOEXEC);

	return fd < 0 ? -errno : fd;
}

struct signature {
	const char *what;
	const char *fstype;  /* for mount(2), or NULL */
	long long offset;  /* from the start; negative: from the end, 64 KiB aligned (md 0.90) */
	const char *magic;
	size_t len;
};

/* Enough to recognise what a careless COW argument would destroy. */
static const struct signature signatures[] = {
	{ "an XFS filesystem", "xfs", 0, "XFSB", 4 },
	{ "an ext2/3/4 filesystem", "ext4", 1080, "\x53\xef", 2 },
	{ "a btrfs filesystem", "btrfs", 65600, "_BHRfS_M", 8 },
	{ "an F2FS filesystem", "f2fs", 1024, "\x10\x20\xf5\xf2", 4 },
	{ "a swap area", NULL, 4086, "SWAPSPACE2", 10 },
	{ "a swap area", NULL, 4086, "SWAP-SPACE", 10 },
	{ "a LUKS volume", NULL, 0, "LUKS\xba\xbe", 6 },
	{ "an LVM physical volume", NULL, 512, "LABELONE", 8 },
	{ "an md RAID member (1.1)", NULL, 0, "\xfc\x4e\x2b\xa9", 4 },
	{ "an md RAID member (1.2)", NULL, 4096, "\xfc\x4e\x2b\xa9", 4 },
	{ "an md RAID member (0.90)", NULL, -65536, "\xfc\x4e\x2b\xa9", 4 },
	{ "a FAT filesystem", "vfat", 54, "FAT1", 4 },
	{ "a FAT filesystem", "vfat", 82, "FAT32", 5 },
	{ "an NTFS filesystem", NULL, 3, "NTFS    ", 8 },
	{ "an ISO 9660 filesystem", "iso9660", 32769, "CD001", 5 },
	{ "a squashfs filesystem", "squashfs", 0, "hsqs", 4 },
};

static const struct signature *signature_of(int fd, uint64_t bytes)
{
	char buf[16];

	for (size_t i = 0; i < sizeof signatures / sizeof *signatures; i++) {
		const struct signature *s = &signatures[i];
		long long off = s->offset;

		if (off < 0) {
			if (bytes < 131072)
				continue;
			off = (long long)(bytes & ~(uint64_t)65535) + off;
		}
		if ((uint64_t)off + s->len > bytes)
			continue;
		if (pread(fd, buf, s->len, off) == (ssize_t)s->len && !memcmp(buf, s->magic, s->len))
			return s;
	}
	return NULL;
}

const char *find_signature(int fd, uint64_t bytes)
{
	const struct signature *s = signature_of(fd, bytes);

	return s ? s->what : NULL;
}

const char *find_fstype(int fd, uint64_t bytes)
{
	const struct signature *s = signature_of(fd, bytes);

	return s ? s->fstype : NULL;
}

/* dm-snapshot's persistent store header, little-endian on disk. */
#define SNAP_MAGIC 0x70416e53u

int read_cow_header(int fd, struct cow_header *h)
{
	unsigned char b[16];

	memset(h, 0, sizeof *h);
	if (pread(fd, b, sizeof b, 0) != (ssize_t)sizeof b)
		return -EIO;
	uint32_t w[4];
	for (int i = 0; i < 4; i++)
		w[i] = b[4 * i] | b[4 * i + 1] << 8 | b[4 * i + 2] << 16 | (uint32_t)b[4 * i + 3] << 24;
	h->present = w[0] == SNAP_MAGIC;
	h->valid = h->present && w[1] != 0;
	h->version = w[2];
	h->chunk = w[3];
	return 0;
}

/* KEY's value in the KEY=VALUE lines of text (a uevent file), cut at its line's end. */
static char *line_value(char *text, const char *key)
{
	size_t n = strlen(key);
	char *line = text;

	while (line) {
		if (!strncmp(line, key, n)) {
			line[n + strcspn(line + n, "\n")] = '\0';
			return line + n;
		}
		if ((line = strchr(line, '\n')))
			line++;
	}
	return NULL;
}

int devno_path(uint32_t major, uint32_t minor, char *buf, size_t size)
{
	char sys[96], text[1024], *name;

	snprintf(sys, sizeof sys, "/sys/dev/block/%u:%u/dm/name", major, minor);
	if (read_line_file(sys, text, sizeof text))
		return snprintf(buf, size, "%s/%s", DM_DIR, text);
	snprintf(sys, sizeof sys, "/sys/dev/block/%u:%u/uevent", major, minor);
	if (read_small_file(sys, text, sizeof text) && (name = line_value(text, "DEVNAME=")))
		return snprintf(buf, size, "/dev/%s", name);
	return snprintf(buf, size, "%u:%u", major, minor);
}

/* Where major:minor is mounted, from mountinfo's third and fifth fields; 1 if found. */
int mount_point_of(uint32_t major, uint32_t minor, char *buf, size_t size)
{
	char dev[32], *text, *line, *next;
	size_t len;
	int fd = open("/proc/self/mountinfo", O_RDONLY | O_CLOEXEC), found = 0;

	if (fd < 0)
		return 0;
	text = read_all(fd, &len);
	close(fd);
	snprintf(dev, sizeof dev, "%u:%u", major, minor);
	for (line = text; !found && line && *line; line = next) {
		char *save, *field[5];
		int n = 0;
		if ((next = strchr(line, '\n')))
			*next++ = '\0';
		for (char *w = strtok_r(line, " ", &save); w && n < 5; w = strtok_r(NULL, " ", &save))
			field[n++] = w;
		if (n == 5 && !strcmp(field[2], dev)) {
			snprintf(buf, size, "%s", field[4]);
			found = 1;
		}
	}
	free(text);
	return found;
}

/* Where /sys/dev/block/MAJ:MIN points, relative to that directory. */
static int sysfs_link(uint32_t major, uint32_t minor, char *buf, size_t size)
{
	char link[64];
	ssize_t n;

	snprintf(link, sizeof link, "/sys/dev/block/%u:%u", major, minor);
	if ((n = readlink(link, buf, size - 1)) < 0)
		return -errno;
	buf[n] = '\0';
	return 0;
}

struct stack_query {
	const char *slaves;
	uint32_t base_major, base_minor;
};

static int slave_stacked_on(const char *slave, void *arg)
{
	const struct stack_query *q = arg;
	char path[320], line[32];
	uint32_t major, minor;

	snprintf(path, sizeof path, "%s/%s/dev", q->slaves, slave);
	return read_line_file(path, line, sizeof line) && dm_parse_devno(line, &major, &minor) == 0 &&
	       stacked_on(major, minor, q->base_major, q->base_minor);
}

/*
 * Is major:minor the base device, a partition of it, or built on it
 * (its slaves, recursively)?  sysfs knows; without sysfs only equality counts.
 */
int stacked_on(uint32_t major, uint32_t minor, uint32_t base_major, uint32_t base_minor)
{
	char dev[PATH_MAX], base[PATH_MAX], slaves[64];
	struct stack_query q = { slaves, base_major, base_minor };
	size_t len;

	if (major == base_major && minor == base_minor)
		return 1;
	if (sysfs_link(major, minor, dev, sizeof dev) < 0 || sysfs_link(base_major, base_minor, base, sizeof base) < 0)
		return 0;
	len = strlen(base);
	if (!strncmp(dev, base, len) && dev[len] == '/')
		return 1;  /* a partition lives below its disk */
	snprintf(slaves, sizeof slaves, "/sys/dev/block/%u:%u/slaves", major, minor);
	return each_entry(slaves, slave_stacked_on, &q) == 1;
}

int logical_block_of(uint32_t major, uint32_t minor, unsigned *bytes)
{
	char path[96], line[32], *end;
	uint64_t v;

	snprintf(path, sizeof path, "/sys/dev/block/%u:%u/queue/logical_block_size", major, minor);
	if (!read_line_file(path, line, sizeof line))
		return -ENOENT;
	if (parse_u64(line, &end, &v) || !v || v > 65536)
		return -EINVAL;
	*bytes = (unsigned)v;
	return 0;
}
