/*
 * cow.h - choosing a COW for a snapshot and writing dmsnap's record on it.
 *
 * Convention: check_cow and recheck_cow are the cmd_* layer's (they print
 * and return exit codes); reopen_cow and write_record return 0 or -errno.
 */
#ifndef DMSNAP_COW_H
#define DMSNAP_COW_H

#include <stdint.h>

#include "probe.h"
#include "record.h"
#include "world.h"

/* The COW a snapshot is to use, as the user named it and as checked. */
struct cow_choice {
	const char *path;
	const char *origin;      /* NAME, for messages */
	struct blockdev dev;
	int fd;                  /* open exclusively from the check to the header's zeroing; -1 closed */
	int record_fd;           /* the same device reopened shared, for the record once the kernel holds it */
	const char *sig;         /* the signature the check found (NULL: none) */
	uint64_t chunk;          /* sectors; 0 until chosen */
	int force, reattach, transient;
	struct cow_record origin_id;  /* what the record must say of NAME */
	struct cow_record rec;        /* what the record on it says (reattach), rec.nmembers 0: none */
};

/*
 * The COW opened exclusively and checked: not on the origin or any other
 * wrapped origin of w, unused, blank
 * (or --force / --reattach), a fitting chunk.  c->fd stays open.
 */
int check_cow(struct cow_choice *c, const struct world *w, const struct wrapper *wr, const struct blockdev *origin);
/* major:minor is wr's origin, its duplicate or its device, or lies on one of them. */
int lies_on_origin(uint32_t major, uint32_t minor, const struct wrapper *wr);
/*
 * A device to be part of the COW: opened exclusively (c->fd), not on the
 * origin (nor on another of w's; NULL: not looked at, where no --force can
 * override a device holding data), unused.
 */
int check_member(struct cow_choice *c, const struct world *w, const struct wrapper *wr);
/* Right before the header is zeroed: the COW still holds what the check saw. */
int recheck_cow(const struct cow_choice *c);
/* The checked COW opened again through its descriptor, without the exclusive claim the kernel is about to take. */
int reopen_cow(struct cow_choice *c);
/* Once the kernel has written the new store's header: dmsnap's record beside it. */
int write_record(struct cow_choice *c);
void close_cow(struct cow_choice *c);

#endif
