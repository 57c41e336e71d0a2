/*
 * record.h - dmsnap's record on a persistent COW: what the store is for
 * (a snapshot, a merge under way, a drop under way) and whose it is (the
 * origin's size and filesystem UUID), so that a reboot or a killed dmsnap
 * can be finished and a COW is never paired with the wrong origin.
 *
 * It lives in the store's header chunk, from byte 4096, where the kernel
 * never writes but to zero the whole chunk (a new store, an invalidated
 * one): so a record never outlives its store.  docs/cow-record.md has the
 * layout.  Stores with chunks under 16 sectors have no room for it.
 *
 * Convention: 0 or -errno, never printing.
 */
#ifndef DMSNAP_RECORD_H
#define DMSNAP_RECORD_H

#include <stddef.h>
#include <stdint.h>

#include "dm_ioctl.h"

#define RECORD_OFFSET 4096
#define RECORD_BYTES  4096   /* written whole: one page, never the header's */
#define RECORD_MIN_CHUNK (2 * RECORD_OFFSET >> DM_SECTOR_SHIFT)

/*
 * A COW grown past its first device spans members; each appended member
 * starts with a label (MEMBER_LABEL_SECTORS, not mapped) naming its store
 * and place, so that a boot finds it however the disks were renumbered.
 */
#define MAX_MEMBERS 64
#define MEMBER_LABEL_SECTORS 8

enum cow_state {
	COW_SNAPSHOT = 1,  /* a snapshot's store: reattach it */
	COW_MERGING = 2,   /* being merged into its origin: continue the merge */
	COW_DROPPING = 3,  /* its snapshot was dropped: free to reuse */
};

struct cow_record {
	enum cow_state state;
	uint32_t chunk;              /* sectors, as the store's header */
	uint64_t origin_sectors;
	int has_uuid;
	unsigned char fs_uuid[16];   /* the origin's filesystem UUID */
	char origin[DM_NAME_LEN];    /* the wrapper's name, for messages */
	uint64_t store_id;           /* names the store on its members' labels; 0 none yet */
	uint32_t nmembers;           /* devices the COW spans, in order (a record of version 1: one) */
	uint64_t member_sectors[MAX_MEMBERS];  /* what each maps into the COW */
};

/* Pure: the record as bytes (RECORD_BYTES), and back: -ENOENT none there, -EBADMSG damaged. */
void record_encode(const struct cow_record *r, unsigned char *buf);
int record_decode(const unsigned char *buf, struct cow_record *r);
/* Does the record describe this origin?  Size always, the UUID when both know one. */
int record_matches(const struct cow_record *r, const struct cow_record *origin);

/* A member's label (RECORD_BYTES at its start): store id, index, sectors mapped; decode: -ENOENT none. */
void label_encode(uint64_t id, uint32_t index, uint64_t sectors, unsigned char *buf);
int label_decode(const unsigned char *buf, uint64_t *id, uint32_t *index, uint64_t *sectors);

/* Through fd (the COW's): read it (around the page cache), or write it and sync. */
int record_read(int fd, uint64_t chunk, struct cow_record *r);
int record_write(int fd, const struct cow_record *r);
/* What identifies the origin (device major:minor, sectors long): its size, and its filesystem's UUID when it can be read. */
void origin_identity(uint32_t major, uint32_t minor, uint64_t sectors, const char *name, struct cow_record *r);
/* "NAME (N sectors, filesystem UUID U)" for messages. */
void describe_record(const struct cow_record *r, char *buf, size_t size);

#endif
