/*
 * record.c - dmsnap's record on a persistent COW (record.h).
 */
#define _GNU_SOURCE
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "probe.h"
#include "record.h"

/*
 * Layout, little-endian: "dmsnapR1", state u32, chunk u32, origin sectors
 * u64, has_uuid u32, 4 spare, uuid 16, origin name 128, crc32 u32 of all
 * before it; the rest of the page zero.
 */
#define MAGIC "dmsnapR1"
#define CRC_AT 184

static void put32(unsigned char *p, uint32_t v)
{
	for (int i = 0; i < 4; i++)
		p[i] = (unsigned char)(v >> 8 * i);
}

static void put64(unsigned char *p, uint64_t v)
{
	for (int i = 0; i < 8; i++)
		p[i] = (unsigned char)(v >> 8 * i);
}

static uint32_t get32(const unsigned char *p)
{
	return p[0] | p[1] << 8 | p[2] << 16 | (uint32_t)p[3] << 24;
}

static uint64_t get64(const unsigned char *p)
{
	return get32(p) | (uint64_t)get32(p + 4) << 32;
}

/* CRC-32 (IEEE), bit by bit: 184 bytes a record do not need a table. */
static uint32_t crc32(const unsigned char *p, size_t n)
{
	uint32_t c = 0xffffffffu;

	while (n--) {
		c ^= *p++;
		for (int k = 0; k < 8; k++)
			c = c >> 1 ^ (0xedb88320u & -(c & 1));
	}
	return ~c;
}

/*
 * Version 2 ("dmsnapR2", a COW of several members) is version 1 with the
 * store's id at 176, then the member count at 188, each member's sectors
 * from 192 and a second CRC of all before it at MEMBERS_CRC_AT.
 */
#define MAGIC2 "dmsnapR2"
#define MEMBERS_AT 192
#define MEMBERS_CRC_AT (MEMBERS_AT + 8 * MAX_MEMBERS)

void record_encode(const struct cow_record *r, unsigned char *buf)
{
	int v2 = r->nmembers > 1 || r->store_id;

	memset(buf, 0, RECORD_BYTES);
	memcpy(buf, v2 ? MAGIC2 : MAGIC, 8);
	put32(buf + 8, (uint32_t)r->state);
	put32(buf + 12, r->chunk);
	put64(buf + 16, r->origin_sectors);
	put32(buf + 24, (uint32_t)r->has_uuid);
	memcpy(buf + 32, r->fs_uuid, 16);
	memcpy(buf + 48, r->origin, strnlen(r->origin, DM_NAME_LEN - 1));
	if (v2) {
		put64(buf + 176, r->store_id);
		put32(buf + 188, r->nmembers);
		for (uint32_t i = 0; i < r->nmembers && i < MAX_MEMBERS; i++)
			put64(buf + MEMBERS_AT + 8 * i, r->member_sectors[i]);
	}
	put32(buf + CRC_AT, crc32(buf, CRC_AT));
	if (v2)
		put32(buf + MEMBERS_CRC_AT, crc32(buf, MEMBERS_CRC_AT));
}

int record_decode(const unsigned char *buf, struct cow_record *r)
{
	int v2 = !memcmp(buf, MAGIC2, 8);

	memset(r, 0, sizeof *r);
	if (memcmp(buf, MAGIC, 8) && !v2)
		return -ENOENT;
	if (get32(buf + CRC_AT) != crc32(buf, CRC_AT) ||
	    (v2 && get32(buf + MEMBERS_CRC_AT) != crc32(buf, MEMBERS_CRC_AT)))
		return -EBADMSG;
	r->state = (enum cow_state)get32(buf + 8);
	r->nmembers = v2 ? get32(buf + 188) : 1;
	if (r->state < COW_SNAPSHOT || r->state > COW_DROPPING || !r->nmembers || r->nmembers > MAX_MEMBERS)
		return -EBADMSG;
	r->chunk = get32(buf + 12);
	r->origin_sectors = get64(buf + 16);
	r->has_uuid = get32(buf + 24) != 0;
	memcpy(r->fs_uuid, buf + 32, 16);
	memcpy(r->origin, buf + 48, DM_NAME_LEN - 1);
	r->store_id = v2 ? get64(buf + 176) : 0;
	for (uint32_t i = 0; v2 && i < r->nmembers; i++)
		r->member_sectors[i] = get64(buf + MEMBERS_AT + 8 * i);
	return 0;
}

/* A member's label: "dmsnapM1", store id, index, sectors mapped, CRC-32 of the 28 bytes before it. */
#define LABEL_MAGIC "dmsnapM1"

void label_encode(uint64_t id, uint32_t index, uint64_t sectors, unsigned char *buf)
{
	memset(buf, 0, RECORD_BYTES);
	memcpy(buf, LABEL_MAGIC, 8);
	put64(buf + 8, id);
	put32(buf + 16, index);
	put64(buf + 20, sectors);
	put32(buf + 28, crc32(buf, 28));
}

int label_decode(const unsigned char *buf, uint64_t *id, uint32_t *index, uint64_t *sectors)
{
	if (memcmp(buf, LABEL_MAGIC, 8) || get32(buf + 28) != crc32(buf, 28))
		return -ENOENT;
	*id = get64(buf + 8);
	*index = get32(buf + 16);
	*sectors = get64(buf + 20);
	return 0;
}

int record_matches(const struct cow_record *r, const struct cow_record *origin)
{
	if (r->origin_sectors != origin->origin_sectors)
		return 0;
	return !r->has_uuid || !origin->has_uuid || !memcmp(r->fs_uuid, origin->fs_uuid, 16);
}

int record_read(int fd, uint64_t chunk, struct cow_record *r)
{
	static unsigned char buf[RECORD_BYTES];

	if (chunk < RECORD_MIN_CHUNK)
		return -ENOENT;
	drop_cache(fd);
	if (pread(fd, buf, sizeof buf, RECORD_OFFSET) != (ssize_t)sizeof buf)
		return -EIO;
	return record_decode(buf, r);
}

int record_write(int fd, const struct cow_record *r)
{
	static unsigned char buf[RECORD_BYTES];

	if (r->chunk < RECORD_MIN_CHUNK)
		return -ENOSPC;
	record_encode(r, buf);
	/* A whole page past the header's: writeback never rewrites the kernel's header sector. */
	ssize_t w = pwrite(fd, buf, sizeof buf, RECORD_OFFSET);
	if (w != (ssize_t)sizeof buf)
		return w < 0 ? -errno : -EIO;
	return fsync(fd) < 0 ? -errno : 0;
}

/* A filesystem's UUID, where the known superblocks keep it. */
static int fs_uuid(int fd, unsigned char *uuid)
{
	static const struct { uint64_t magic_at; const char *magic; size_t len; uint64_t uuid_at; } fs[] = {
		{ 0, "XFSB", 4, 32 },                 /* xfs: sb_uuid */
		{ 1080, "\x53\xef", 2, 1128 },        /* ext2/3/4: s_uuid */
		{ 65600, "_BHRfS_M", 8, 65568 },      /* btrfs: fsid */
	};
	char magic[8];

	for (size_t i = 0; i < sizeof fs / sizeof *fs; i++)
		if (pread(fd, magic, fs[i].len, (off_t)fs[i].magic_at) == (ssize_t)fs[i].len &&
		    !memcmp(magic, fs[i].magic, fs[i].len) &&
		    pread(fd, uuid, 16, (off_t)fs[i].uuid_at) == 16)
			return 1;
	return 0;
}

void origin_identity(uint32_t major, uint32_t minor, uint64_t sectors, const char *name, struct cow_record *r)
{
	char path[128];
	struct blockdev bd;
	int fd;

	memset(r, 0, sizeof *r);
	snprintf(r->origin, sizeof r->origin, "%s", name);
	r->origin_sectors = sectors;
	devno_path(major, minor, path, sizeof path);
	if ((fd = open(path, O_RDONLY | O_CLOEXEC)) < 0)
		return;
	if (probe_fd(fd, &bd) == 0 && bd.major == major && bd.minor == minor)
		r->has_uuid = fs_uuid(fd, r->fs_uuid);
	close(fd);
}

void describe_record(const struct cow_record *r, char *buf, size_t size)
{
	char uuid[64] = "";
	int n = 0;

	/* 8-4-4-4-12 hex digits: a dash before bytes 4, 6, 8 and 10 */
	for (int i = 0; r->has_uuid && i < 16; i++)
		n += snprintf(uuid + n, sizeof uuid - (size_t)n, "%s%02x",
			      i ? (0x550 >> i & 1 ? "-" : "") : ", filesystem UUID ", r->fs_uuid[i]);
	snprintf(buf, size, "%s (%llu sectors%s)", r->origin[0] ? r->origin : "?",
		 (unsigned long long)r->origin_sectors, uuid);
}
