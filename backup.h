/*
 * backup.h - the whole backup in one command (run), and watching COW use (watch).
 *
 * Convention: cmd_* print and return the exit codes of cli.h.
 */
#ifndef DMSNAP_BACKUP_H
#define DMSNAP_BACKUP_H

int cmd_run(int argc, char **argv);
int cmd_watch(int argc, char **argv);

#endif
