/*
 * util.c - strict numbers, small file reads and a directory walk (util.h).
 */
#define _GNU_SOURCE
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "util.h"

/* strtoull takes signs, blanks and "0x": kernel replies and table lines must not. */
int parse_u64(const char *s, char **end, uint64_t *v)
{
	uint64_t x = 0;

	if (*s < '0' || *s > '9')
		return -EINVAL;
	for (; *s >= '0' && *s <= '9'; s++) {
		if (x > (UINT64_MAX - (uint64_t)(*s - '0')) / 10)
			return -ERANGE;
		x = x * 10 + (uint64_t)(*s - '0');
	}
	*end = (char *)s;
	*v = x;
	return 0;
}

void *grow_block(void *p, size_t old, size_t size)
{
	void *q = malloc(size);

	if (q && p) {
		memcpy(q, p, old);
		free(p);
	}
	return q;
}

static int digit_value(char c)
{
	return c >= '0' && c <= '9' ? c - '0' : c >= 'a' && c <= 'z' ? c - 'a' + 10 : c >= 'A' && c <= 'Z' ? c - 'A' + 10 : 99;
}

unsigned long long scan_ull(const char *s, char **end, int base, int *over)
{
	const char *p = s + strspn(s, " \t\n\v\f\r");
	unsigned long long x = 0;
	int neg = *p == '-', d, any = 0;

	*over = 0;
	p += neg || *p == '+';
	if ((base == 0 || base == 16) && p[0] == '0' && (p[1] | 32) == 'x' && digit_value(p[2]) < 16)
		p += 2, base = 16;
	else if (base == 0)
		base = *p == '0' ? 8 : 10;
	for (; (d = digit_value(*p)) < base; p++, any = 1) {
		if (x > (~0ull - (unsigned)d) / (unsigned)base)
			*over = 1;
		x = x * (unsigned)base + (unsigned)d;
	}
	*end = (char *)(any ? p : s);
	return *over ? ~0ull : neg ? -x : x;
}

int scan_int(const char *s)
{
	char *end;
	int over;

	return (int)scan_ull(s, &end, 10, &over);
}

char *next_word(char **s, const char *sep)
{
	char *w = *s + strspn(*s, sep);
	size_t n = strcspn(w, sep);

	if (!*w)
		return NULL;
	*s = w + n + (w[n] != '\0');
	w[n] = '\0';
	return w;
}

const char *nth_string(const char *list, unsigned n)
{
	while (n--)
		list += strlen(list) + 1;
	return list;
}

int read_small_file(const char *path, char *buf, size_t size)
{
	int fd = open(path, O_RDONLY | O_CLOEXEC);
	ssize_t n;

	if (fd < 0)
		return 0;
	n = read(fd, buf, size - 1);
	close(fd);
	if (n < 0)
		return 0;
	buf[n] = '\0';
	return 1;
}

int read_line_file(const char *path, char *buf, size_t size)
{
	if (!read_small_file(path, buf, size))
		return 0;
	buf[strcspn(buf, "\n")] = '\0';
	return 1;
}

char *read_all(int fd, size_t *len)
{
	size_t cap = 4096;
	char *buf = malloc(cap), *bigger;
	ssize_t n;

	*len = 0;
	while (buf) {
		n = read(fd, buf + *len, cap - *len - 1);
		if (n < 0 && errno == EINTR)
			continue;
		if (n <= 0) {
			if (n == 0) {
				buf[*len] = '\0';
				return buf;
			}
			break;
		}
		*len += (size_t)n;
		if (*len + 1 == cap) {
			if (!(bigger = grow_block(buf, cap, cap * 2)))
				break;
			cap *= 2;
			buf = bigger;
		}
	}
	int err = errno;
	free(buf);
	errno = err;
	return NULL;
}

int each_entry(const char *dir, int (*fn)(const char *name, void *arg), void *arg)
{
	DIR *d = opendir(dir);
	struct dirent *e;
	int r = 0;

	if (!d)
		return -errno;
	while (!r && (e = readdir(d)))
		if (strcmp(e->d_name, ".") && strcmp(e->d_name, ".."))
			r = fn(e->d_name, arg);
	closedir(d);
	return r;
}
