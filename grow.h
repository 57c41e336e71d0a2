/*
 * grow.h - growing a live snapshot's COW by more devices (grow, and watch
 * --grow-with), and reassembling a grown COW for snap --reattach.
 *
 * Convention: cmd_grow, grow_snapshot and assemble_cow print and return
 * the exit codes of cli.h.
 */
#ifndef DMSNAP_GROW_H
#define DMSNAP_GROW_H

#include "cow.h"
#include "cowdev.h"

/* Under the lock: snapname of NAME (NULL: its only one) grown by each of devs in turn. */
int grow_snapshot(int fd, const char *name, const char *snapname, char **devs, int ndevs);
/* The members of the COW c (checked, exclusively opened c->fd) in order: itself, then those its record lists. */
int assemble_cow(const struct cow_choice *c, const struct wrapper *wr, struct cow_layout *l);

int cmd_grow(int argc, char **argv);

#endif
