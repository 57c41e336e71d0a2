/*
 * fuzz_line.c - table lines: parse each line of the input as dmsnap reads a
 * table file, encode the targets as a TABLE_LOAD payload, read the payload
 * back the way the kernel does and compare.  The whole input also goes
 * through the name and uuid checks, against an independent statement of
 * their rules.
 */
#include <errno.h>

#include "../../dm_ioctl.h"
#include "../unit/kernel_load.h"
#include "fuzz.h"

#define MAX_TARGETS 64
#define ALIGN8(x) (((x) + 7) & ~(size_t)7)

static int is_blank(char c)
{
	return c == ' ' || c == '\t';
}

/* What a parsed target must look like, whatever the line was. */
static void check_target(const struct dm_target *t)
{
	size_t n = strlen(t->type);

	REQUIRE(t->length > 0 && t->start <= UINT64_MAX - t->length);
	REQUIRE(n > 0 && n < DM_MAX_TYPE_NAME);
	for (size_t i = 0; i < n; i++)
		REQUIRE(!is_blank(t->type[i]) && t->type[i] != '\n');
	REQUIRE(!is_blank(t->params[0]) && !strchr(t->params, '\n'));
}

/* The line printed back in canonical form parses to the same target. */
static void check_reparse(const struct dm_target *t)
{
	size_t size = strlen(t->params) + 64;
	char *line = malloc(size);
	struct dm_target again;

	if (!line)
		abort();
	snprintf(line, size, "%llu %llu %s %s", (unsigned long long)t->start,
		 (unsigned long long)t->length, t->type, t->params);
	REQUIRE(dm_parse_line(line, &again) == 0);
	REQUIRE(again.start == t->start && again.length == t->length);
	REQUIRE(!strcmp(again.type, t->type) && !strcmp(again.params, t->params));
	free(line);
}

/* Encode, read back as the kernel would, compare; one byte less must not fit. */
static void check_round_trip(const struct dm_target *t, size_t n)
{
	struct dm_target back[MAX_TARGETS];
	size_t cap = 0;
	char *buf;

	for (size_t i = 0; i < n; i++)
		cap += ALIGN8(sizeof(struct dm_target_spec) + strlen(t[i].params) + 1);
	buf = malloc(cap ? cap : 1);
	if (!buf)
		abort();
	REQUIRE(dm_encode_targets(buf, cap, t, n) == (long)cap);
	if (n > 0) {
		REQUIRE(kernel_read_load(buf, cap, n, back) == 0);
		for (size_t i = 0; i < n; i++) {
			REQUIRE(back[i].start == t[i].start && back[i].length == t[i].length);
			REQUIRE(!strcmp(back[i].type, t[i].type));
			REQUIRE(!strcmp(back[i].params, t[i].params));
		}
		REQUIRE(dm_encode_targets(buf, cap - 1, t, n) == -ENOSPC);
	}
	free(buf);
}

/* Names: 1..127 bytes of printable ASCII without blanks or '/', not ".", "..", "control". */
static void check_labels(const char *s)
{
	size_t n = strlen(s);
	int plain = 1;

	for (size_t i = 0; i < n; i++)
		if ((unsigned char)s[i] <= ' ' || (unsigned char)s[i] >= 0x7f || s[i] == '/')
			plain = 0;
	int name_ok = plain && n > 0 && n < DM_NAME_LEN && strcmp(s, ".") && strcmp(s, "..") &&
		      strcmp(s, "control");
	REQUIRE((dm_check_name(s) == 0) == name_ok);
	REQUIRE((dm_check_uuid(s) == 0) == (plain && n < DM_UUID_LEN));
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	char *text = fuzz_text(data, size), *p = text;
	struct dm_target t[MAX_TARGETS];
	size_t n = 0;

	check_labels(text);
	/* dm_parse_line() cuts its line at the newline: the next line starts after it. */
	while (*p && n < MAX_TARGETS) {
		char *nl = strchr(p, '\n');
		char *next = nl ? nl + 1 : p + strlen(p);

		if (dm_parse_line(p, &t[n]) == 0) {
			check_target(&t[n]);
			check_reparse(&t[n]);
			n++;
		}
		p = next;
	}
	check_round_trip(t, n);
	free(text);
	return 0;
}
