/*
 * wrap.h - wrap a device (NAME and NAME_dup, linear over it), unwrap it.
 *
 * Convention: cmd_* print and return the exit codes of cli.h.
 */
#ifndef DMSNAP_WRAP_H
#define DMSNAP_WRAP_H

int cmd_wrap(int argc, char **argv);
int cmd_unwrap(int argc, char **argv);

#endif
