/*
 * targets.c - build and parse the table lines dmsnap uses (targets.h).
 */
#include <errno.h>
#include <stdio.h>
#include <string.h>

#include "targets.h"
#include "util.h"

int dm_parse_snap_status(const char *s, struct dm_snap_status *st)
{
	static const struct { const char *word; enum dm_snap_state state; } words[] = {
		{ "Invalid", DM_SNAP_INVALID },
		{ "Overflow", DM_SNAP_OVERFLOW },
		{ "Merge failed", DM_SNAP_MERGE_FAILED },
		{ "Unknown", DM_SNAP_UNKNOWN },
	};
	char *end;

	memset(st, 0, sizeof *st);
	for (size_t i = 0; i < sizeof words / sizeof *words; i++)
		if (!strcmp(s, words[i].word)) {
			st->state = words[i].state;
			return 0;
		}
	if (parse_u64(s, &end, &st->used) || *end != '/' ||
	    parse_u64(end + 1, &end, &st->total) || *end != ' ' ||
	    parse_u64(end + 1, &end, &st->metadata) || *end)
		return -EINVAL;
	if (st->used > st->total || st->metadata > st->used)
		return -EINVAL;
	st->state = DM_SNAP_ACTIVE;
	return 0;
}

/* Copies the i-th blank-separated word of s into buf: -ENOENT if absent, -E2BIG if too long. */
static int word(const char *s, int i, char *buf, size_t size)
{
	for (;;) {
		s += strspn(s, " \t");
		size_t n = strcspn(s, " \t");
		if (n == 0)
			return -ENOENT;
		if (i-- == 0) {
			if (n >= size)
				return -E2BIG;
			memcpy(buf, s, n);
			buf[n] = '\0';
			return 0;
		}
		s += n;
	}
}

/* Exactly n words? */
static int has_words(const char *s, int n)
{
	char w[1];

	return word(s, n - 1, w, sizeof w) != -ENOENT && word(s, n, w, sizeof w) == -ENOENT;
}

static int word_u64(const char *s, int i, uint64_t *v)
{
	char buf[24], *end;

	if (word(s, i, buf, sizeof buf) || parse_u64(buf, &end, v) || *end)
		return -EINVAL;
	return 0;
}

static int word_devno(const char *s, int i, uint32_t *major, uint32_t *minor)
{
	char buf[24];

	if (word(s, i, buf, sizeof buf))
		return -EINVAL;
	return dm_parse_devno(buf, major, minor);
}

/* The optional features after the chunk: a count, then that many known words. */
static int parse_features(const char *params, struct dm_snap_table *t)
{
	static const char *const known[] = { "discard_zeroes_cow", "discard_passdown_origin" };
	char w[32];
	uint64_t n;
	int len = 0;

	t->features[0] = '\0';
	if (has_words(params, 4))
		return 0;
	if (word_u64(params, 4, &n) || n < 1 || n > 2 || !has_words(params, 5 + (int)n))
		return -EINVAL;
	len = snprintf(t->features, sizeof t->features, "%llu", (unsigned long long)n);
	for (int i = 0; i < (int)n; i++) {
		size_t k = 0;
		if (word(params, 5 + i, w, sizeof w))
			return -EINVAL;
		while (k < sizeof known / sizeof *known && strcmp(w, known[k]))
			k++;
		if (k == sizeof known / sizeof *known)
			return -EINVAL;
		len += snprintf(t->features + len, sizeof t->features - (size_t)len, " %s", w);
	}
	return 0;
}

int dm_parse_snap_table(const char *params, struct dm_snap_table *t)
{
	char mode[4];

	if (word_devno(params, 0, &t->origin_major, &t->origin_minor) ||
	    word_devno(params, 1, &t->cow_major, &t->cow_minor) || word(params, 2, mode, sizeof mode) ||
	    word_u64(params, 3, &t->chunk) || parse_features(params, t))
		return -EINVAL;
	if (strcmp(mode, "P") && strcmp(mode, "PO") && strcmp(mode, "N"))
		return -EINVAL;
	strcpy(t->mode, mode);
	return 0;
}

/* "<dev> <offset>" of a linear target, the device as major:minor. */
int dm_parse_linear(const char *params, uint32_t *major, uint32_t *minor, uint64_t *offset)
{
	if (!has_words(params, 2) || word_devno(params, 0, major, minor) || word_u64(params, 1, offset))
		return -EINVAL;
	return 0;
}

/* The device a snapshot, snapshot-origin or snapshot-merge line starts with. */
int dm_first_devno(const char *params, uint32_t *major, uint32_t *minor)
{
	return word_devno(params, 0, major, minor);
}

unsigned permille_used(const struct dm_snap_status *st)
{
	return st->total ? (unsigned)(st->used * 1000 / st->total) : 0;
}

static void set_line(struct target_line *l, const char *type, uint64_t sectors)
{
	l->t = (struct dm_target){ .start = 0, .length = sectors, .params = l->params };
	snprintf(l->t.type, sizeof l->t.type, "%s", type);
}

void build_linear_at(struct target_line *l, uint64_t start, uint64_t sectors, uint32_t major, uint32_t minor,
		     uint64_t offset)
{
	set_line(l, "linear", sectors);
	l->t.start = start;
	snprintf(l->params, sizeof l->params, "%u:%u %llu", major, minor, (unsigned long long)offset);
}

void build_linear(struct target_line *l, uint64_t sectors, uint32_t major, uint32_t minor)
{
	build_linear_at(l, 0, sectors, major, minor, 0);
}

void build_origin(struct target_line *l, uint64_t sectors, uint32_t major, uint32_t minor)
{
	set_line(l, "snapshot-origin", sectors);
	snprintf(l->params, sizeof l->params, "%u:%u", major, minor);
}

void build_snapshot(struct target_line *l, const char *type, uint64_t sectors, const struct dm_snap_table *s)
{
	set_line(l, type, sectors);
	snprintf(l->params, sizeof l->params, "%u:%u %u:%u %s %llu%s%s", s->origin_major, s->origin_minor,
		 s->cow_major, s->cow_minor, s->mode, (unsigned long long)s->chunk, s->features[0] ? " " : "",
		 s->features);
}
