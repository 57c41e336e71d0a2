/*
 * show.h - the state of wrapped devices and their snapshots, for people
 * and (show -p) for scripts.
 *
 * Convention: cmd_show prints and returns the exit codes of cli.h.
 */
#ifndef DMSNAP_SHOW_H
#define DMSNAP_SHOW_H

int cmd_show(int argc, char **argv);

#endif
