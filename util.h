/*
 * util.h - the little of the C library dmsnap uses that musl would bring
 * in big: formatted output, memory, whole-file reads, option parsing.
 * musl's stdio, malloc and getopt_long alone weigh 30 KB, and the binary
 * must stay under 64 KiB (issue 2) to sit comfortably in an initramfs.
 */
#ifndef DMSNAP_UTIL_H
#define DMSNAP_UTIL_H

#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <sys/types.h>

#define PRINTF(f, a) __attribute__((format(printf, f, a)))

/*
 * Formatting: %s %c %d %u %x %% with '-' and '0' flags, width and
 * precision (digits or '*') and the l, ll and z sizes.  Nothing else.
 */
struct sink {
	char *buf;
	size_t cap, len;  /* len counts every byte formatted, kept or not */
	int fd;           /* >= 0: buf is written to fd whenever it fills */
};
void sink_vprintf(struct sink *s, const char *f, va_list ap);
void sink_printf(struct sink *s, const char *f, ...) PRINTF(2, 3);
void sink_flush(struct sink *s);

int fmt(char *buf, size_t size, const char *f, ...) PRINTF(3, 4);  /* snprintf's contract */
void out(const char *f, ...) PRINTF(1, 2);   /* standard output, buffered */
void out_flush(void);                         /* before exit, fork or waiting */
void errf(const char *f, ...) PRINTF(1, 2);  /* standard error, after out_flush */

/* Memory: one mapping per block; dmsnap makes a few dozen. */
void *mem_alloc(size_t n);
void *mem_grow(void *p, size_t n);  /* realloc's contract */
void mem_free(void *p);
char *mem_strdup(const char *s);

/* Strict unsigned decimal: a digit first, no sign, no overflow (-ERANGE). */
int parse_u64(const char *s, char **end, uint64_t *v);

/* A small file's first size - 1 bytes, NUL-terminated; 0 if it cannot be read. */
int read_small_file(const char *path, char *buf, size_t size);
/* The same, cut at the first newline. */
int read_line_file(const char *path, char *buf, size_t size);
/* All of fd, NUL-terminated, in mem_alloc'd memory; NULL with errno set. */
char *read_all(int fd, size_t *len);
/* fn(name, arg) for each entry of dir but . and ..; stops at fn's first non-zero. */
int each_entry(const char *dir, int (*fn)(const char *name, void *arg), void *arg);

/*
 * Options, as GNU getopt_long takes them: -x, -xVALUE, -x VALUE, clusters
 * (-nv), --name, --name=VALUE, --name VALUE, unique prefixes (--inact),
 * "--" ending options, and operands anywhere.  get_opt returns the key,
 * '?' after printing the error, -1 at the end; the operands are then
 * args[0..nargs - 1], in order.
 */
enum { OPT_ARG = 1, OPT_SHORT = 2 };
struct opt {
	const char *name;  /* --name, or NULL */
	int key;           /* returned; -KEY works too with OPT_SHORT */
	int flags;
};
struct opts {
	const struct opt *list;  /* ends with { 0 } */
	char **args;
	int nargs;
	char *arg;               /* the option's value */
	int next;                /* argv index */
	const char *cluster;     /* rest of "-abc" */
	int done;                /* after "--" */
};
void opts_start(struct opts *o, const struct opt *list, char **argv);
int get_opt(struct opts *o, int argc, char **argv);

#endif
