/*
 * harness.h - the host tests' harness: one test = begin(), checks, end();
 * "PASS: name" or "FAIL: name: the first failed check", and the counts for
 * the closing "N passed, N failed" line.
 */
#ifndef DMSNAP_TEST_HARNESS_H
#define DMSNAP_TEST_HARNESS_H

#include <errno.h>
#include <stdarg.h>
#include <stdint.h>
#include <stdio.h>
#include <string.h>

static int n_passed, n_failed;
static const char *test_name;
static char test_why[512];   /* the first failed check of the current test */

static inline void begin(const char *name)
{
	test_name = name;
	test_why[0] = '\0';
}

static inline void fail(const char *fmt, ...)
{
	va_list ap;

	if (test_why[0])
		return;
	va_start(ap, fmt);
	vsnprintf(test_why, sizeof test_why, fmt, ap);
	va_end(ap);
}

static inline void end(void)
{
	if (test_why[0]) {
		printf("FAIL: %s: %s\n", test_name, test_why);
		n_failed++;
	} else {
		printf("PASS: %s\n", test_name);
		n_passed++;
	}
}

/* -EINVAL reads better than -22 in a failure. */
static inline const char *num(long long v)
{
	static const struct { int e; const char *name; } errs[] = {
		{ EINVAL, "-EINVAL" }, { ERANGE, "-ERANGE" }, { ENAMETOOLONG, "-ENAMETOOLONG" },
		{ ENOSPC, "-ENOSPC" }, { EPROTO, "-EPROTO" }, { ELOOP, "-ELOOP" }, { ENOENT, "-ENOENT" },
		{ ENXIO, "-ENXIO" }, { ENOMEM, "-ENOMEM" }, { EBADMSG, "-EBADMSG" },
	};
	static char buf[4][32];
	static int next;
	char *s = buf[next++ % 4];

	for (size_t i = 0; i < sizeof errs / sizeof *errs; i++)
		if (v == -errs[i].e)
			return errs[i].name;
	snprintf(s, sizeof buf[0], "%lld", v);
	return s;
}

static inline void check_int(const char *what, long long got, long long want)
{
	if (got != want)
		fail("%s: got %s, want %s", what, num(got), num(want));
}

static inline void check_u64(const char *what, uint64_t got, uint64_t want)
{
	if (got != want)
		fail("%s: got %llu, want %llu", what, (unsigned long long)got, (unsigned long long)want);
}

static inline void check_str(const char *what, const char *got, const char *want)
{
	if (!got || !want || strcmp(got, want))
		fail("%s: got \"%s\", want \"%s\"", what, got ? got : "(null)", want ? want : "(null)");
}

#endif
