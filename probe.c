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
#ifndef BLKFLSBUF
#define BLKFLSBUF _IO(0x12, 97)
#endif
#ifndef BLKGETSIZE64
#define BLKGETSIZE64 _IOR(0x12, 114, size_t)
#endif

char *sys_block(char *buf, size_t size, uint32_t major, uint32_t minor, const char *rest)
{
	snprintf(buf, size, "/sys/dev/block/%u:%u%s", major, minor, rest);
	return buf;
}

/* Number, size and block size of the device open on fd. */
int probe_fd(int fd, struct blockdev *bd)
{
	struct stat st;
	uint64_t bytes;
	int lbs;

	if (fstat(fd, &st) < 0)
		return -errno;
	if (!S_ISBLK(st.st_mode))
		return -ENOTBLK;
	bd->major = major(st.st_rdev);
	bd->minor = minor(st.st_rdev);
	if (ioctl(fd, BLKGETSIZE64, &bytes) < 0 || ioctl(fd, BLKSSZGET, &lbs) < 0)
		return -errno;
	bd->sectors = bytes >> DM_SECTOR_SHIFT;
	bd->logical_block = (unsigned)lbs;
	return 0;
}

int probe_blockdev(const char *path, struct blockdev *bd)
{
	int fd, r;

	memset(bd, 0, sizeof *bd);
	bd->path = path;
	if ((fd = open(path, O_RDONLY | O_CLOEXEC | O_NONBLOCK)) < 0)
		return -errno;
	r = probe_fd(fd, bd);
	close(fd);
	return r;
}

void drop_cache(int fd)
{
	ioctl(fd, BLKFLSBUF, 0);
}

int open_exclusive(const char *path, int flags)
{
	int fd = open(path, flags | O_EXCL | O_CLOEXEC);

	return fd < 0 ? -errno : fd;
}

/* Where a signature sits. */
enum where {
	AT_START,      /* offset bytes from the start */
	AT_END,        /* offset bytes before the end */
	MD090_END,     /* md 0.90: the last 64 KiB-aligned 64 KiB */
	MD10_END,      /* md 1.0: 8 KiB before the end, 4 KiB-aligned */
};

#define MAGIC_MAX 32  /* the longest magic read: IMSM's 24 bytes */

/*
 * Packed small: the table is the largest in the binary.  text is the magic
 * (len bytes, NULs and all) followed by the name of what holds it.
 */
struct signature {
	const char *text;
	uint32_t offset;     /* the farthest is 128 KiB */
	uint8_t where;       /* enum where */
	uint8_t len;
	uint8_t holds;       /* a container or member of one: never overwritten, --force or not */
	uint8_t fstype;      /* for mount(2): 1 + its index in fstypes, or 0 */
};

static const char fstypes[] = "xfs\0ext4\0btrfs\0f2fs\0vfat\0iso9660\0squashfs";

/*
 * What a careless COW argument would destroy, from the formats' own
 * documentation; named so the user recognises it.  Containers first (an md
 * 0.90 or 1.0 member starts with the filesystem it holds), the MBR last (a
 * FAT, exFAT, NTFS or UDF boot sector also ends in its 55 AA).
 */
static const struct signature signatures[] = {
	{ "-FVE-FS-" "a BitLocker volume", 3, AT_START, 8, 1, 0 },
	{ "LUKS\xba\xbe" "a LUKS volume", 0, AT_START, 6, 1, 0 },
	{ "SKUL\xba\xbe" "a LUKS2 volume (second header)", 16384, AT_START, 6, 1, 0 },
	{ "LABELONE" "an LVM physical volume", 0, AT_START, 8, 1, 0 },
	{ "LABELONE" "an LVM physical volume", 512, AT_START, 8, 1, 0 },
	{ "LABELONE" "an LVM physical volume", 1024, AT_START, 8, 1, 0 },
	{ "LABELONE" "an LVM physical volume", 1536, AT_START, 8, 1, 0 },
	{ "\xfc\x4e\x2b\xa9" "an md RAID member (1.1)", 0, AT_START, 4, 1, 0 },
	{ "\xfc\x4e\x2b\xa9" "an md RAID member (1.2)", 4096, AT_START, 4, 1, 0 },
	{ "\xfc\x4e\x2b\xa9" "an md RAID member (0.90)", 0, MD090_END, 4, 1, 0 },
	{ "\xfc\x4e\x2b\xa9" "an md RAID member (1.0)", 0, MD10_END, 4, 1, 0 },
	{ "\xc6\x85\x73\xf6\x4e\x1a\x45\xca\x82\x65\xf5\x7f\x48\xba\x6d\x81" "a bcache device", 4120, AT_START, 16, 1, 0 },
	{ "\x0c\xb1\xba\x00\x00\x00\x00\x00" "a ZFS pool member", 131072, AT_START, 8, 1, 0 },
	{ "\x0c\xb1\xba\x00\x00\x00\x00\x00" "a ZFS pool member", 131072, AT_END, 8, 1, 0 },
	{ "integrt\0" "a dm-integrity device", 0, AT_START, 8, 1, 0 },
	{ "verity\0\0" "a dm-verity hash device", 0, AT_START, 8, 0, 0 },
	{ "dmvdo001" "a VDO volume", 0, AT_START, 8, 1, 0 },
	{ "\xde\x11\xde\x11" "a DDF RAID member", 512, AT_END, 4, 1, 0 },
	{ "Intel Raid ISM Cfg Sig. " "an Intel IMSM RAID member", 1024, AT_END, 24, 1, 0 },
	{ "EFI PART" "a GPT partition table", 512, AT_START, 8, 1, 0 },
	{ "EFI PART" "a GPT partition table", 4096, AT_START, 8, 1, 0 },
	{ "EFI PART" "a GPT partition table (backup)", 512, AT_END, 8, 1, 0 },
	{ "\xda\xbe" "a Sun partition table", 508, AT_START, 2, 1, 0 },
	{ "\x0b\xe5\xa9\x41" "an SGI partition table", 0, AT_START, 4, 1, 0 },
	{ "XFSB" "an XFS filesystem", 0, AT_START, 4, 0, 1 },
	{ "\x53\xef" "an ext2/3/4 filesystem", 1080, AT_START, 2, 0, 2 },
	{ "_BHRfS_M" "a btrfs filesystem", 65600, AT_START, 8, 0, 3 },
	{ "\x10\x20\xf5\xf2" "an F2FS filesystem", 1024, AT_START, 4, 0, 4 },
	{ "SWAPSPACE2" "a swap area", 4086, AT_START, 10, 0, 0 },
	{ "SWAP-SPACE" "a swap area", 4086, AT_START, 10, 0, 0 },
	{ "FAT1" "a FAT filesystem", 54, AT_START, 4, 0, 5 },
	{ "FAT32" "a FAT filesystem", 82, AT_START, 5, 0, 5 },
	{ "EXFAT   " "an exFAT filesystem", 3, AT_START, 8, 0, 0 },
	{ "NTFS    " "an NTFS filesystem", 3, AT_START, 8, 0, 0 },
	{ "CD001" "an ISO 9660 filesystem", 32769, AT_START, 5, 0, 6 },
	{ "BEA01" "a UDF filesystem", 32769, AT_START, 5, 0, 0 },
	{ "hsqs" "a squashfs filesystem", 0, AT_START, 4, 0, 7 },
	{ "\xe2\xe1\xf5\xe0" "an EROFS filesystem", 1024, AT_START, 4, 0, 0 },
	{ "\x34\x34" "a NILFS2 filesystem", 1030, AT_START, 2, 0, 0 },
	{ "JFS1" "a JFS filesystem", 32768, AT_START, 4, 0, 0 },
	{ "ReIsEr" "a ReiserFS filesystem", 65588, AT_START, 6, 0, 0 },
	{ "ReIsEr" "a ReiserFS filesystem", 8244, AT_START, 6, 0, 0 },
	{ "H+\0\4" "an HFS+ filesystem", 1024, AT_START, 4, 0, 0 },
	{ "\x01\x16\x19\x70" "a GFS2 filesystem", 65536, AT_START, 4, 0, 0 },
	{ "OCFSV2" "an OCFS2 filesystem", 8192, AT_START, 6, 0, 0 },
	{ "\x7f\x13" "a minix filesystem", 1040, AT_START, 2, 0, 0 },
	{ "\x8f\x13" "a minix filesystem", 1040, AT_START, 2, 0, 0 },
	{ "\x68\x24" "a minix filesystem", 1040, AT_START, 2, 0, 0 },
	{ "\x78\x24" "a minix filesystem", 1040, AT_START, 2, 0, 0 },
	{ "\x5a\x4d" "a minix filesystem", 1048, AT_START, 2, 0, 0 },
	{ "\xce\xfa\xad\x1b" "a BFS filesystem", 0, AT_START, 4, 0, 0 },
	{ "\x45\x3d\xcd\x28" "a cramfs filesystem", 0, AT_START, 4, 0, 0 },
	{ "\x45\x3d\xcd\x28" "a cramfs filesystem", 512, AT_START, 4, 0, 0 },
	{ "\x55\xaa" "an MBR partition table", 510, AT_START, 2, 1, 0 },
};

static int where_in(const struct signature *s, uint64_t bytes, uint64_t *off)
{
	*off = s->offset;
	switch (s->where) {
	case AT_START:
		break;
	case AT_END:
		if (bytes < s->offset)
			return 0;
		*off = bytes - s->offset;
		break;
	case MD090_END:
		if (bytes < 131072)
			return 0;
		*off = (bytes & ~(uint64_t)65535) - 65536;
		break;
	case MD10_END:
		if (bytes < 12288)
			return 0;
		*off = (bytes - 8192) & ~(uint64_t)4095;
		break;
	}
	return *off + s->len <= bytes;
}

static const struct signature *signature_of(int fd, uint64_t bytes)
{
	char buf[MAGIC_MAX];
	uint64_t off;

	for (size_t i = 0; i < sizeof signatures / sizeof *signatures; i++) {
		const struct signature *s = &signatures[i];
		if (s->len > sizeof buf)
			continue;  /* not in this table: a longer magic needs a larger MAGIC_MAX */
		if (where_in(s, bytes, &off) && pread(fd, buf, s->len, (off_t)off) == (ssize_t)s->len &&
		    !memcmp(buf, s->text, s->len))
			return s;
	}
	return NULL;
}

const char *find_signature(int fd, uint64_t bytes, int *holds)
{
	const struct signature *s = signature_of(fd, bytes);

	*holds = s && s->holds;
	return s ? s->text + s->len : NULL;
}

const char *find_fstype(int fd, uint64_t bytes)
{
	const struct signature *s = signature_of(fd, bytes);

	return s && s->fstype ? nth_string(fstypes, s->fstype - 1u) : NULL;
}

/* Is any byte of [off, off + len) not zero? */
static int nonzero_at(int fd, uint64_t off, uint64_t len)
{
	static char buf[16384];

	while (len) {
		size_t n = len < sizeof buf ? (size_t)len : sizeof buf;
		if (pread(fd, buf, n, (off_t)off) != (ssize_t)n)
			return 1;  /* unreadable is not known to be blank */
		for (size_t i = 0; i < n; i++)
			if (buf[i])
				return 1;
		off += n;
		len -= n;
	}
	return 0;
}

int holds_data(int fd, uint64_t bytes)
{
	uint64_t head = bytes < BLANK_SPAN ? bytes : BLANK_SPAN;

	return nonzero_at(fd, 0, head) || nonzero_at(fd, bytes - head, head);
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

	sys_block(sys, sizeof sys, major, minor, "/dm/name");
	if (read_line_file(sys, text, sizeof text))
		return snprintf(buf, size, "%s/%s", DM_DIR, text);
	sys_block(sys, sizeof sys, major, minor, "/uevent");
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
		char *field[5], *w;
		int n = 0;
		if ((next = strchr(line, '\n')))
			*next++ = '\0';
		while (n < 5 && (w = next_word(&line, " ")))
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

	sys_block(link, sizeof link, major, minor, "");
	if ((n = readlink(link, buf, size - 1)) < 0)
		return -errno;
	buf[n] = '\0';
	return 0;
}

#define STACK_DEPTH 16  /* a bound against a cycle in what sysfs or the loop driver says */

static int stacked_within(uint32_t major, uint32_t minor, uint32_t base_major, uint32_t base_minor, int depth);

struct stack_query {
	const char *slaves;
	uint32_t base_major, base_minor;
	int depth;
};

static int slave_stacked_on(const char *slave, void *arg)
{
	const struct stack_query *q = arg;
	char path[320], line[32];
	uint32_t major, minor;

	snprintf(path, sizeof path, "%s/%s/dev", q->slaves, slave);
	return read_line_file(path, line, sizeof line) && dm_parse_devno(line, &major, &minor) == 0 &&
	       stacked_within(major, minor, q->base_major, q->base_minor, q->depth + 1);
}

/* A loop device's backing file: the device its filesystem lives on. */
static int loop_backing(uint32_t major, uint32_t minor, uint32_t *bmajor, uint32_t *bminor)
{
	char path[96], file[PATH_MAX];
	struct stat st;

	sys_block(path, sizeof path, major, minor, "/loop/backing_file");
	if (!read_line_file(path, file, sizeof file) || stat(file, &st) < 0)
		return -ENOENT;
	*bmajor = major(st.st_dev);
	*bminor = minor(st.st_dev);
	return 0;
}

static int stacked_within(uint32_t major, uint32_t minor, uint32_t base_major, uint32_t base_minor, int depth)
{
	char dev[PATH_MAX], base[PATH_MAX], slaves[64];
	struct stack_query q = { slaves, base_major, base_minor, depth };
	uint32_t bmajor, bminor;
	size_t len;

	if (major == base_major && minor == base_minor)
		return 1;
	if (depth > STACK_DEPTH)
		return 1;  /* cannot tell: assume the worst */
	if (loop_backing(major, minor, &bmajor, &bminor) == 0 &&
	    stacked_within(bmajor, bminor, base_major, base_minor, depth + 1))
		return 1;
	if (sysfs_link(major, minor, dev, sizeof dev) < 0 || sysfs_link(base_major, base_minor, base, sizeof base) < 0)
		return 0;
	len = strlen(base);
	if (!strncmp(dev, base, len) && dev[len] == '/')
		return 1;  /* a partition lives below its disk */
	sys_block(slaves, sizeof slaves, major, minor, "/slaves");
	return each_entry(slaves, slave_stacked_on, &q) == 1;
}

/*
 * Is major:minor the base device, a partition of it, built on it (its
 * slaves, recursively), or a loop device whose file lives on any of those?
 * sysfs knows; without sysfs only equality counts.
 */
int stacked_on(uint32_t major, uint32_t minor, uint32_t base_major, uint32_t base_minor)
{
	return stacked_within(major, minor, base_major, base_minor, 0);
}

static int any_entry(const char *name, void *arg)
{
	(void)name;
	(void)arg;
	return 1;
}

struct partition_query {
	const char *dir;
	char *name;
	size_t size;
};

/* A partition's directory holds a "partition" file; its name is kept in arg. */
static int is_partition_dir(const char *name, void *arg)
{
	struct partition_query *q = arg;
	char path[PATH_MAX];

	snprintf(path, sizeof path, "%s/%s/partition", q->dir, name);
	if (access(path, F_OK) < 0)
		return 0;
	snprintf(q->name, q->size, "%s", name);
	return 1;
}

int has_partitions(uint32_t major, uint32_t minor, char *name, size_t size)
{
	char dir[64];
	struct partition_query q = { dir, name, size };

	sys_block(dir, sizeof dir, major, minor, "");
	return each_entry(dir, is_partition_dir, &q) == 1;
}

int has_holders(uint32_t major, uint32_t minor)
{
	char dir[64];

	sys_block(dir, sizeof dir, major, minor, "/holders");
	return each_entry(dir, any_entry, NULL) == 1;
}

/* A holder's name: a dm device's own name, else the kernel's (md3). */
static int name_holder(const char *kname, void *arg)
{
	char path[PATH_MAX], name[DM_NAME_LEN];
	char *buf = arg;
	size_t len = strlen(buf);

	snprintf(path, sizeof path, "/sys/class/block/%s/dm/name", kname);
	if (!read_line_file(path, name, sizeof name))
		snprintf(name, sizeof name, "%s", kname);
	snprintf(buf + len, USERS_LEN - len, "%s%s", len ? ", " : "", name);
	return 0;
}

/* Is major:minor an active swap area (/proc/swaps)? */
static int is_active_swap(uint32_t major, uint32_t minor)
{
	char text[4096], *line, *next;
	struct stat st;

	if (!read_small_file("/proc/swaps", text, sizeof text))
		return 0;
	for (line = strchr(text, '\n'); line && *++line; line = next) {
		if ((next = strchr(line, '\n')))
			*next = '\0';
		line[strcspn(line, " \t")] = '\0';
		if (stat(line, &st) == 0 && S_ISBLK(st.st_mode) && major(st.st_rdev) == major &&
		    minor(st.st_rdev) == minor)
			return 1;
		if (!next)
			break;
	}
	return 0;
}

int describe_users(uint32_t major, uint32_t minor, char *buf, size_t size)
{
	char dir[64], mnt[PATH_MAX], holders[USERS_LEN] = "";

	if (mount_point_of(major, minor, mnt, sizeof mnt))
		return snprintf(buf, size, "mounted on %s", mnt);
	if (is_active_swap(major, minor))
		return snprintf(buf, size, "an active swap area (swapoff it first)");
	sys_block(dir, sizeof dir, major, minor, "/holders");
	each_entry(dir, name_holder, holders);
	if (holders[0])
		return snprintf(buf, size, "held by %s", holders);
	return snprintf(buf, size, "in use (open exclusively by md, dm, a mount or another program)");
}

struct open_query {
	uint32_t major, minor;
	char pid[16];
	int self;
};

static int fd_is_dev(const char *fd, void *arg)
{
	const struct open_query *q = arg;
	char path[64];
	struct stat st;

	snprintf(path, sizeof path, "/proc/%s/fd/%s", q->pid, fd);
	return stat(path, &st) == 0 && S_ISBLK(st.st_mode) && major(st.st_rdev) == q->major &&
	       minor(st.st_rdev) == q->minor;
}

static int pid_has_open(const char *pid, void *arg)
{
	struct open_query *q = arg;
	char dir[64];

	if (pid[0] < '0' || pid[0] > '9' || scan_int(pid) == q->self)
		return 0;
	snprintf(q->pid, sizeof q->pid, "%s", pid);
	snprintf(dir, sizeof dir, "/proc/%s/fd", pid);
	return each_entry(dir, fd_is_dev, q) == 1;
}

/* Does another process hold the device open (a plain open, which O_EXCL does not notice)? */
int open_elsewhere(uint32_t major, uint32_t minor)
{
	struct open_query q = { major, minor, "", (int)getpid() };

	return each_entry("/proc", pid_has_open, &q) == 1;
}

int logical_block_of(uint32_t major, uint32_t minor, unsigned *bytes)
{
	char path[96], line[32], *end;
	uint64_t v;

	sys_block(path, sizeof path, major, minor, "/queue/logical_block_size");
	if (!read_line_file(path, line, sizeof line))
		return -ENOENT;
	if (parse_u64(line, &end, &v) || !v || v > 65536)
		return -EINVAL;
	*bytes = (unsigned)v;
	return 0;
}
