/*
 * util.c - formatted output, memory, file reads and option parsing, small
 * (util.h says why).  Pure code but for write(2), mmap(2) and read(2).
 */
#define _GNU_SOURCE
#include <errno.h>
#include <fcntl.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/syscall.h>
#include <unistd.h>

#include "util.h"

/* ---- formatting ---- */

void sink_flush(struct sink *s)
{
	size_t done = 0;

	while (s->fd >= 0 && done < s->len) {
		ssize_t n = write(s->fd, s->buf + done, s->len - done);
		if (n < 0 && errno == EINTR)
			continue;
		if (n <= 0)
			break;  /* a closed pipe or full disk: output is lost, as with stdio */
		done += (size_t)n;
	}
	s->len = 0;
}

static void put(struct sink *s, const char *p, size_t n)
{
	for (; n; n--, p++) {
		if (s->fd >= 0 && s->len == s->cap)
			sink_flush(s);
		if (s->len < s->cap)
			s->buf[s->len] = *p;
		s->len++;
	}
}

static void pad(struct sink *s, char c, long n)
{
	while (n-- > 0)
		put(s, &c, 1);
}

static int read_count(const char **f, va_list *ap)
{
	int n = 0;

	if (**f == '*') {
		(*f)++;
		return va_arg(*ap, int);
	}
	while (**f >= '0' && **f <= '9')
		n = n * 10 + *(*f)++ - '0';
	return n;
}

/* The argument of a %d, %u or %x with `size` l's (or a z), as magnitude and sign. */
static unsigned long long number_arg(va_list *ap, char conv, int size, int *neg)
{
	long long v;

	if (conv != 'd')
		return size > 1 ? va_arg(*ap, unsigned long long) : size ? va_arg(*ap, unsigned long) : va_arg(*ap, unsigned);
	v = size > 1 ? va_arg(*ap, long long) : size ? va_arg(*ap, long) : va_arg(*ap, int);
	*neg = v < 0;
	return *neg ? -(unsigned long long)v : (unsigned long long)v;
}

/* va_list travels by pointer so that the helpers can take arguments from it. */
static void format(struct sink *s, const char *f, va_list *ap)
{
	while (*f) {
		const char *lit = f;
		while (*f && *f != '%')
			f++;
		put(s, lit, (size_t)(f - lit));
		if (!*f++)
			return;

		int left = 0, zero = 0, prec = -1, size = 0, neg = 0, width;
		for (; *f == '-' || *f == '0'; f++)
			*f == '-' ? (left = 1) : (zero = 1);
		width = read_count(&f, ap);
		if (*f == '.') {
			f++;
			prec = read_count(&f, ap);
		}
		for (; *f == 'l' || *f == 'z'; f++)
			size++;

		char num[24], *digit = num + sizeof num, conv = *f++;
		const char *str, *end = digit;
		unsigned long long v, base = conv == 'x' ? 16 : 10;
		switch (conv) {
		case 's':
			str = va_arg(*ap, const char *);
			end = str + (prec < 0 ? strlen(str) : strnlen(str, (size_t)prec));
			zero = 0;
			break;
		case 'c':
			num[0] = (char)va_arg(*ap, int);
			str = num;
			end = num + 1;
			break;
		case 'd':
		case 'u':
		case 'x':
			v = number_arg(ap, conv, size, &neg);
			do
				*--digit = "0123456789abcdef"[v % base];
			while (v /= base);
			if (neg && zero) {
				put(s, "-", 1);  /* -007: the sign goes before the zeros */
				width--;
			} else if (neg) {
				*--digit = '-';
			}
			str = digit;
			break;
		case '%':
			str = "%";
			end = str + 1;
			break;
		default:
			return;  /* not ours: the format attribute keeps these out */
		}
		if (!left)
			pad(s, zero ? '0' : ' ', width - (end - str));
		put(s, str, (size_t)(end - str));
		if (left)
			pad(s, ' ', width - (end - str));
	}
}

void sink_vprintf(struct sink *s, const char *f, va_list ap)
{
	va_list copy;

	va_copy(copy, ap);
	format(s, f, &copy);
	va_end(copy);
}

void sink_printf(struct sink *s, const char *f, ...)
{
	va_list ap;

	va_start(ap, f);
	format(s, f, &ap);
	va_end(ap);
}

int fmt(char *buf, size_t size, const char *f, ...)
{
	struct sink s = { buf, size ? size - 1 : 0, 0, -1 };
	va_list ap;

	va_start(ap, f);
	format(&s, f, &ap);
	va_end(ap);
	if (size)
		buf[s.len < s.cap ? s.len : s.cap] = '\0';
	return (int)s.len;
}

static char out_buf[4096];
static struct sink out_sink = { out_buf, sizeof out_buf, 0, 1 };

void out(const char *f, ...)
{
	va_list ap;

	va_start(ap, f);
	format(&out_sink, f, &ap);
	va_end(ap);
}

void out_flush(void)
{
	sink_flush(&out_sink);
}

void errf(const char *f, ...)
{
	char buf[512];
	struct sink s = { buf, sizeof buf, 0, 2 };
	va_list ap;

	out_flush();
	va_start(ap, f);
	format(&s, f, &ap);
	va_end(ap);
	sink_flush(&s);
}

/* ---- memory ---- */

#define HEAD 16  /* keeps blocks 16-byte aligned, as malloc's are */

void *mem_alloc(size_t n)
{
	size_t *p;

	if (n > SIZE_MAX / 2) {
		errno = ENOMEM;
		return NULL;
	}
	p = mmap(NULL, n + HEAD, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
	if (p == MAP_FAILED)
		return NULL;
	p[0] = n + HEAD;
	return (char *)p + HEAD;
}

void *mem_grow(void *old, size_t n)
{
	size_t *p;

	if (!old)
		return mem_alloc(n);
	if (n > SIZE_MAX / 2) {
		errno = ENOMEM;
		return NULL;
	}
	p = (size_t *)((char *)old - HEAD);
	p = mremap(p, p[0], n + HEAD, MREMAP_MAYMOVE);
	if (p == MAP_FAILED)
		return NULL;
	p[0] = n + HEAD;
	return (char *)p + HEAD;
}

void mem_free(void *q)
{
	if (q) {
		size_t *p = (size_t *)((char *)q - HEAD);
		munmap(p, p[0]);
	}
}

char *mem_strdup(const char *s)
{
	size_t n = strlen(s) + 1;
	char *d = mem_alloc(n);

	return d ? memcpy(d, s, n) : NULL;
}

/* ---- numbers and files ---- */

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
	char *buf = mem_alloc(cap), *bigger;
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
			if (!(bigger = mem_grow(buf, cap *= 2)))
				break;
			buf = bigger;
		}
	}
	int err = errno;
	mem_free(buf);
	errno = err;
	return NULL;
}

/* getdents64's record; opendir would bring malloc in. */
struct dirent64_rec {
	uint64_t ino;
	int64_t off;
	unsigned short reclen;
	unsigned char type;
	char name[];
};

int each_entry(const char *dir, int (*fn)(const char *name, void *arg), void *arg)
{
	char buf[2048];
	long n;
	int fd = open(dir, O_RDONLY | O_DIRECTORY | O_CLOEXEC), r = 0;

	if (fd < 0)
		return -errno;
	while (!r && (n = syscall(SYS_getdents64, fd, buf, sizeof buf)) > 0)
		for (long at = 0; !r && at < n;) {
			struct dirent64_rec *d = (struct dirent64_rec *)(buf + at);
			at += d->reclen;
			if (strcmp(d->name, ".") && strcmp(d->name, ".."))
				r = fn(d->name, arg);
		}
	if (!r && n < 0)
		r = -errno;
	close(fd);
	return r;
}

/* ---- options ---- */

void opts_start(struct opts *o, const struct opt *list, char **argv)
{
	memset(o, 0, sizeof *o);
	o->list = list;
	o->args = argv + 1;
	o->next = 1;
}

/* "dmsnap: CMD: BEFORE--opt AFTER" */
static int opt_error(char **argv, const char *before, const char *opt, int len, const char *after)
{
	errf("dmsnap: %s: %s%.*s%s\n", argv[0], before, len, opt, after);
	return '?';
}

/* --name or --name=VALUE: an exact match, else the only one it starts. */
static int long_opt(struct opts *o, int argc, char **argv, char *word)
{
	const struct opt *hit = NULL;
	int len = (int)strcspn(word, "="), found = 0;

	for (const struct opt *p = o->list; p->key && len; p++) {  /* "--=x" names nothing */
		if (!p->name || strncmp(p->name, word, (size_t)len))
			continue;
		if (!p->name[len]) {
			hit = p;
			found = 1;
			break;
		}
		hit = p;
		found++;
	}
	if (found != 1)
		return opt_error(argv, found ? "ambiguous option " : "unknown option ", word - 2, len + 2, "");
	if (!(hit->flags & OPT_ARG)) {
		if (word[len])
			return opt_error(argv, "", word - 2, len + 2, " takes no value");
		return hit->key;
	}
	if (word[len])
		o->arg = word + len + 1;
	else if (o->next < argc)
		o->arg = argv[o->next++];
	else
		return opt_error(argv, "", word - 2, len + 2, " needs a value");
	return hit->key;
}

static int short_opt(struct opts *o, int argc, char **argv)
{
	const struct opt *p = o->list;
	char c = *o->cluster++, name[] = { '-', c, '\0' };

	while (p->key && !(p->key == c && p->flags & OPT_SHORT))
		p++;
	if (!p->key)
		return opt_error(argv, "unknown option ", name, 2, "");
	if (p->flags & OPT_ARG) {
		if (*o->cluster)
			o->arg = (char *)o->cluster;
		else if (o->next < argc)
			o->arg = argv[o->next++];
		else
			return opt_error(argv, "", name, 2, " needs a value");
		o->cluster = "";
	}
	return c;
}

int get_opt(struct opts *o, int argc, char **argv)
{
	o->arg = NULL;
	if (o->cluster && *o->cluster)
		return short_opt(o, argc, argv);
	while (o->next < argc) {
		char *word = argv[o->next++];
		if (o->done || word[0] != '-' || !word[1]) {
			o->args[o->nargs++] = word;  /* operands gather at the front, in order */
		} else if (!strcmp(word, "--")) {
			o->done = 1;
		} else if (word[1] == '-') {
			return long_opt(o, argc, argv, word + 2);
		} else {
			o->cluster = word + 1;
			return short_opt(o, argc, argv);
		}
	}
	return -1;
}
