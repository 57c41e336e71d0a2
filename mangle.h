/*
 * mangle.h - names and uuids in the form udev takes, as libdevmapper
 * writes them: each byte outside [0-9A-Za-z#+-.:=@_] as \xNN.  Pure
 * string functions: no kernel, no printing, tested on the host.
 */
#ifndef DMSNAP_MANGLE_H
#define DMSNAP_MANGLE_H

#include <stddef.h>

/*
 * s mangled into buf, which holds size + 1 bytes (a \xNN is written with
 * its NUL): 0, 1 for a string that mixes mangled and plain bytes (or ends
 * in a cut \xN), 2 for one whose mangled form does not fit in size bytes.
 */
int dm_mangle(const char *s, char *buf, size_t size);
/* s decoded as --manglename none reads it, into buf (strlen(s) + 1 bytes): buf, or s if nothing was. */
const char *dm_unmangle(const char *s, char *buf);
/* Does s hold "\x5cx", the sign of a string mangled twice? */
int dm_mangled_twice(const char *s);

#endif
