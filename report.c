/*
 * report.c - dmsetup's column reports and name rules (report.h).
 */
#define _GNU_SOURCE
#include <ctype.h>
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "report.h"
#include "util.h"

const char *report_name(const char *fields, size_t f, int heading)
{
	return nth_string(fields, (unsigned)(2 * f + !!heading));
}

static int add_field(struct report *r, size_t f)
{
	if (r->nsel == REPORT_MAX_FIELDS)
		return -E2BIG;
	r->sel[r->nsel] = (unsigned char)f;
	r->width[r->nsel++] = r->attrs[f][0];
	return 0;
}

/* Is s (len bytes) name, ignoring case? */
int same_name(const char *name, const char *s, size_t len)
{
	for (size_t i = 0; i < len; i++)
		if (!name[i] || tolower((unsigned char)name[i]) != tolower((unsigned char)s[i]))
			return 0;
	return !name[len];
}

/* One name of the -o list: a field, or "<section>_all". */
static int pick(struct report *r, const char *sections, const char *name, size_t len)
{
	const char *id;
	size_t f;
	int s, ret = -EINVAL;

	for (f = 0; *(id = report_name(r->fields, f, 0)); f++)
		if (same_name(id, name, len))
			return add_field(r, f);
	for (s = 0; *sections; s++, sections += strlen(sections) + 1) {
		size_t n = strlen(sections);
		if (len == n + 4 && same_name(sections, name, n) && same_name("_all", name + n, 4))
			for (ret = 0, f = 0; *report_name(r->fields, f, 0) && !ret; f++)
				if ((r->attrs[f][1] & RF_SECTION) == s)
					ret = add_field(r, f);
	}
	return ret;
}

int report_init(struct report *r, const char *fields, const unsigned char (*attrs)[2], const char *sections,
		const char *list, unsigned flags, const char *sep, const char **bad, size_t *badlen)
{
	const char *p = list;

	memset(r, 0, sizeof *r);
	r->fields = fields;
	r->attrs = attrs;
	r->flags = flags & REPORT_ROWS ? flags & ~REPORT_ALIGNED : flags;
	r->sep = sep;
	/* As libdevmapper: commas may repeat, but a list may not end with one. */
	while (*p) {
		p += strspn(p, ",");
		size_t len = strcspn(p, ",");
		if (same_name("help", p, len) || same_name("?", p, len))
			return 1;
		if (pick(r, sections, p, len)) {
			*bad = p;
			*badlen = len;
			return -EINVAL;
		}
		p += len;
	}
	return 0;
}

int report_row(struct report *r, char *const *values)
{
	if (r->nrows == r->cap) {
		size_t cap = r->cap ? r->cap * 2 : 16;
		char **more = grow_block(r->cells, r->cap * (r->nsel ? r->nsel : 1) * sizeof *more,
					  cap * (r->nsel ? r->nsel : 1) * sizeof *more);
		if (!more)
			return -ENOMEM;
		r->cells = more;
		r->cap = cap;
	}
	for (size_t i = 0; i < r->nsel; i++) {
		char **cell = &r->cells[r->nrows * r->nsel + i];
		size_t len = strlen(values[i]);
		if (!(*cell = strdup(values[i]))) {
			while (i--)
				free(r->cells[r->nrows * r->nsel + i]);
			return -ENOMEM;
		}
		if (len > r->width[i])
			r->width[i] = len;
	}
	r->nrows++;
	return 0;
}

/* One value: DM_ID='value' with prefixes, padded when aligned. */
static void put_field(const struct report *r, size_t i, const char *value, FILE *f)
{
	int quote = (r->flags & (REPORT_PREFIXES | REPORT_UNQUOTED)) == REPORT_PREFIXES;
	int w = (int)r->width[i];

	if (r->flags & REPORT_PREFIXES) {
		fputs("DM_", f);
		for (const char *c = report_name(r->fields, r->sel[i], 0); *c; c++)
			putc(toupper((unsigned char)*c), f);
		fputs(quote ? "='" : "=", f);
	}
	if (!(r->flags & REPORT_ALIGNED))
		fputs(value, f);
	else
		fprintf(f, r->attrs[r->sel[i]][1] & RF_NUM ? "%*s" : "%-*s", w, value);
	if (quote)
		putc('\'', f);
}

void report_output(struct report *r, FILE *f)
{
	size_t i, row, n = r->nsel;

	if (!r->nrows)
		return;
	if (r->flags & REPORT_ROWS) {
		for (i = 0; i < n; i++) {
			if (r->flags & REPORT_HEADINGS)
				fprintf(f, "%s%s", report_name(r->fields, r->sel[i], 1), r->sep);
			for (row = 0; row < r->nrows; row++) {
				put_field(r, i, r->cells[row * n + i], f);
				if (row + 1 < r->nrows)
					fputs(r->sep, f);
			}
			putc('\n', f);
		}
	} else {
		if (r->flags & REPORT_HEADINGS) {
			for (i = 0; i < n; i++)
				fprintf(f, "%s%-*s", i ? r->sep : "",
					r->flags & REPORT_ALIGNED ? (int)r->width[i] : 0, report_name(r->fields, r->sel[i], 1));
			putc('\n', f);
		}
		for (row = 0; row < r->nrows; row++) {
			for (i = 0; i < n; i++) {
				if (i)
					fputs(r->sep, f);
				put_field(r, i, r->cells[row * n + i], f);
			}
			putc('\n', f);
		}
	}
	for (i = 0; i < r->nrows * n; i++)
		free(r->cells[i]);
	r->nrows = 0;
}

void report_free(struct report *r)
{
	for (size_t i = 0; i < r->nrows * r->nsel; i++)
		free(r->cells[i]);
	free(r->cells);
	r->cells = NULL;
	r->nrows = r->cap = 0;
}

/* Up to the next lone '-' (a "--" is one '-' of the part); returns what follows it. */
static char *unquote(char *s)
{
	char *o = s;

	for (; *s; s++) {
		if (s[0] == '-' && s[1]) {
			if (s[1] != '-')
				break;
			s++;
		}
		*o++ = *s;
	}
	char *next = *s ? s + 1 : s;
	*o = '\0';
	return next;
}

void split_lvm_name(char *name, char **vg, char **lv, char **layer)
{
	*vg = name;
	*lv = unquote(name);
	*layer = unquote(*lv);
	unquote(*layer);
}
