/*
 * merge.h - rollback (merge a snapshot back into its origin) and recover
 * (repair whatever a killed dmsnap or a half-typed walkthrough left).
 *
 * Convention: cmd_* print and return the exit codes of cli.h.
 */
#ifndef DMSNAP_MERGE_H
#define DMSNAP_MERGE_H

int cmd_merge(int argc, char **argv);
int cmd_recover(int argc, char **argv);

#endif
