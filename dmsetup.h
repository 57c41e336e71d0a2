/*
 * dmsetup.h - the dmsetup-compatible commands: same arguments, same output.
 *
 * Convention: cmd_* print and return the exit codes of cli.h.
 */
#ifndef DMSNAP_DMSETUP_H
#define DMSNAP_DMSETUP_H

int cmd_create(int argc, char **argv);
int cmd_load(int argc, char **argv);
int cmd_suspend(int argc, char **argv);
int cmd_resume(int argc, char **argv);
int cmd_remove(int argc, char **argv);
int cmd_clear(int argc, char **argv);
int cmd_table(int argc, char **argv);
int cmd_status(int argc, char **argv);
int cmd_info(int argc, char **argv);
int cmd_ls(int argc, char **argv);
int cmd_deps(int argc, char **argv);
int cmd_targets(int argc, char **argv);
int cmd_version(int argc, char **argv);
int cmd_mknodes(int argc, char **argv);

/* Invoked as dmsetup: dmsetup's options, commands, output, messages and exit codes. */
int dmsetup_main(int argc, char **argv);

#endif
