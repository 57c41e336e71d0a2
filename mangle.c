/*
 * mangle.c - libdevmapper's name mangling (mangle.h), which dmsetup's
 * mangle command and --manglename follow.
 */
#include <ctype.h>
#include <stdio.h>
#include <string.h>

#include "mangle.h"

/* Each unsafe byte as \xNN, a \xNN already there kept: both in one string is an error. */
int dm_mangle(const char *s, char *buf, size_t size)
{
	size_t len = strlen(s), j = 0;
	int kept = 0, coded = 0;

	for (size_t i = 0; i < len; i++) {
		unsigned char c = (unsigned char)s[i];
		int plain = isalnum(c) || strchr("#+-.:=@_", c), whole = s[i] == '\\' && s[i + 1] == 'x';
		if (whole ? len - i < 4 || coded : !plain && kept)
			return 1;
		if (size - j < (plain ? 1u : 4u))
			return 2;
		if (whole)
			memcpy(buf + j, s + i, 4), i += 3, j += 4, kept = 1;
		else if (plain)
			buf[j++] = (char)c;
		else
			j += (size_t)snprintf(buf + j, 5, "\\x%02x", c), coded = 1;
	}
	if (j == size)
		return 2;
	buf[j] = '\0';
	return 0;
}

/* The value of hex digit c, or -1. */
static int hex_digit(int c)
{
	const char *d = c ? strchr("0123456789abcdef", tolower(c)) : NULL;

	return d ? (int)(d - "0123456789abcdef") : -1;
}

/*
 * As libdevmapper reads it: a \x without a hex digit after it ends the
 * string, unless nothing was decoded before it (then s stays as it is); a
 * \xN with one digit is that digit, and the byte after it is skipped too.
 */
const char *dm_unmangle(const char *s, char *buf)
{
	size_t j = 0, n = strlen(s);
	int decoded = 0, hi, lo;

	for (size_t i = 0; i < n; i++, j++) {
		buf[j] = s[i];
		if (s[i] == '\\' && s[i + 1] == 'x') {
			if ((hi = hex_digit(s[i + 2])) < 0)
				break;
			lo = hex_digit(s[i + 3]);
			buf[j] = (char)(lo < 0 ? hi : hi << 4 | lo);
			i += 3;
			decoded = 1;
		}
	}
	buf[j] = '\0';
	return decoded ? buf : s;
}

int dm_mangled_twice(const char *s)
{
	for (; (s = strchr(s, '\\')); s++)
		if (!strncmp(s, "\\x5cx", 5))
			return 1;
	return 0;
}
