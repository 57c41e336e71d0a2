/*
 * util.h - the little dmsnap needs that the C library lacks: strict numbers,
 * small sysfs/proc file reads, a directory walk with a callback.
 *
 * Convention: 0 or -errno (the file reads: 1 read, 0 not), never printing.
 */
#ifndef DMSNAP_UTIL_H
#define DMSNAP_UTIL_H

#include <stddef.h>
#include <stdint.h>

/* Strict unsigned decimal: a digit first, no sign, no blanks, no overflow (-ERANGE). */
int parse_u64(const char *s, char **end, uint64_t *v);

/*
 * strtoull's reading (blanks, a sign that negates, "0x" and "0" in base 0,
 * "0x" in base 16), for the places that must read numbers as dmsetup or
 * /proc/locks write them: musl's strto* bring its 2.5 KB stdio scanner,
 * which the 128 KiB budget cannot carry.  Past ULLONG_MAX: ULLONG_MAX and
 * *over set.  *end after the digits, or s when there are none.
 */
unsigned long long scan_ull(const char *s, char **end, int base, int *over);

/*
 * p's first old bytes moved into a new block of size bytes, p freed; NULL
 * (p untouched) when memory is short.  realloc for dmsnap's few growing
 * arrays: musl's brings 1.3 KB of in-place resizing they do not need.
 */
void *grow_block(void *p, size_t old, size_t size);
/* atoi's reading, through scan_ull. */
int scan_int(const char *s);

/*
 * strtok_r's reading without its state: the next word of *s (words are
 * separated by runs of sep's bytes), cut at its end, *s moved past it;
 * NULL when none is left.  (musl's strtok_r is one more object.)
 */
char *next_word(char **s, const char *sep);

/* The n-th (from 0) of the NUL-separated strings in list. */
const char *nth_string(const char *list, unsigned n);

/* A small file's first size - 1 bytes, NUL-terminated; 1 if read, 0 if not. */
int read_small_file(const char *path, char *buf, size_t size);
/* The same, cut at the first newline. */
int read_line_file(const char *path, char *buf, size_t size);
/* All of fd, NUL-terminated, in malloc'd memory; NULL with errno set. */
char *read_all(int fd, size_t *len);
/* fn(name, arg) for each entry of dir but . and ..; stops at fn's first non-zero and returns it. */
int each_entry(const char *dir, int (*fn)(const char *name, void *arg), void *arg);

#endif
