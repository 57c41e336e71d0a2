/*
 * unit.c - host tests of the pure functions of dm_ioctl.c, targets.c,
 * report.c (dmsetup's column reports) and util.c (numbers, files).
 *
 * One line per test (PASS: name / FAIL: name: why), then "N passed, N failed";
 * exits 1 if anything failed.  Kernel replies are crafted with the real
 * structs, laid out as drivers/md/dm-ioctl.c lays them out, then copied into
 * a buffer of exactly their size so that a sanitizer build catches any read
 * past the end.  Byte layouts assume a little-endian host, as the ABI does on
 * x86 and arm64.
 */
#define _GNU_SOURCE
#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <stdarg.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "../../dm_ioctl.h"
#include "../../probe.h"
#include "../../mangle.h"
#include "../../record.h"
#include "../../report.h"
#include "../../targets.h"
#include "../../util.h"
#include "kernel_load.h"

#include "harness.h"

/* s with control and non-ASCII bytes escaped, so that one test stays one line. */
static const char *shown(const char *s)
{
	static char buf[2][160];
	static int next;
	char *out = buf[next++ % 2], *o = out;

	for (; *s && o < out + sizeof buf[0] - 5; s++) {
		unsigned char c = (unsigned char)*s;
		if (c >= ' ' && c < 0x7f && c != '\\')
			*o++ = (char)c;
		else
			o += sprintf(o, "\\x%02x", c);
	}
	*o = '\0';
	return out;
}

/* A test of one return value. */
static void expect(const char *name, long long got, long long want)
{
	begin(name);
	check_int("return", got, want);
	end();
}

/* ---- crafted replies ---- */

#define WIRE_MAX (64u * 1024)
#define HDR sizeof(struct dm_ioctl)

/* A reply under construction: header, then records appended as the kernel does. */
struct wire {
	union {
		struct dm_ioctl io;
		uint64_t align;
		unsigned char b[WIRE_MAX];
	} buf;
	size_t len;          /* bytes used, header included */
	size_t prev;         /* data offset of the last linked record, for its next */
	int linked;
};

static struct wire w;

static void wire_new(void)
{
	memset(&w, 0, sizeof w);
	w.buf.io.version[0] = 4;
	w.buf.io.version[1] = 47;
	w.buf.io.data_start = HDR;
	w.len = HDR;
}

/* Data offset (from data_start) where the next byte goes. */
static size_t wire_off(void)
{
	return w.len - HDR;
}

static void *wire_at(size_t off)
{
	return w.buf.b + HDR + off;
}

static size_t wire_put(const void *p, size_t n)
{
	size_t off = wire_off();

	if (w.len + n > WIRE_MAX) {
		fprintf(stderr, "unit: wire buffer too small\n");
		exit(2);
	}
	memcpy(w.buf.b + w.len, p, n);
	w.len += n;
	return off;
}

/* The kernel's align_ptr(): records start 8-aligned. */
static void wire_align(void)
{
	static const char zeros[8];

	wire_put(zeros, (8 - w.len % 8) % 8);
}

static size_t wire_str(const char *s)
{
	return wire_put(s, strlen(s) + 1);
}

/* Cut the data so it ends at data offset off. */
static void wire_end_at(size_t off)
{
	w.len = HDR + off;
}

/* TABLE_STATUS: spec, status string; next = aligned end, from the data start. */
static size_t wire_target(uint64_t start, uint64_t length, const char *type, const char *params)
{
	struct dm_target_spec spec = { .sector_start = start, .length = length };
	size_t off;

	wire_align();
	strncpy(spec.target_type, type, sizeof spec.target_type - 1);
	off = wire_put(&spec, sizeof spec);
	wire_str(params);
	((struct dm_target_spec *)wire_at(off))->next = (uint32_t)((wire_off() + 7) & ~(size_t)7);
	w.buf.io.target_count++;
	return off;
}

static struct dm_target_spec *spec_at(size_t off)
{
	return wire_at(off);
}

/* Link a new record: the previous one's next counts from itself. */
static void wire_link(size_t off, size_t next_field)
{
	if (w.linked) {
		uint32_t next = (uint32_t)(off - w.prev);
		memcpy((char *)wire_at(w.prev) + next_field, &next, sizeof next);
	}
	w.prev = off;
	w.linked = 1;
}

/* LIST_DEVICES (6.1): record, name, then event_nr, flags and maybe a uuid, each 8-aligned. */
static size_t wire_name(uint32_t major, uint32_t minor, const char *name, uint32_t event_nr,
			const char *uuid)
{
	struct dm_name_list rec = { .dev = dm_encode_dev(major, minor) };
	uint32_t trailer[2] = { event_nr, uuid ? DM_NAME_LIST_FLAG_HAS_UUID : 0 };
	size_t off;

	wire_align();
	off = wire_put(&rec, offsetof(struct dm_name_list, name));
	wire_link(off, offsetof(struct dm_name_list, next));
	wire_str(name);
	wire_align();
	wire_put(trailer, sizeof trailer);
	if (uuid) {
		wire_align();
		wire_str(uuid);
	}
	return off;
}

static struct dm_name_list *name_at(size_t off)
{
	return wire_at(off);
}

/* LIST_VERSIONS: record, then its name. */
static size_t wire_version(const char *name, uint32_t a, uint32_t b, uint32_t c)
{
	struct dm_target_versions rec = { .version = { a, b, c } };
	size_t off;

	wire_align();
	off = wire_put(&rec, sizeof rec);
	wire_link(off, offsetof(struct dm_target_versions, next));
	wire_str(name);
	return off;
}

static struct dm_target_versions *version_at(size_t off)
{
	return wire_at(off);
}

/* TABLE_DEPS: count, padding, then n devices (count may lie). */
static void wire_deps(uint32_t count, const uint64_t *dev, size_t n)
{
	struct dm_target_deps deps = { .count = count };

	wire_put(&deps, sizeof deps);
	wire_put(dev, n * sizeof *dev);
}

/* The reply as dm_get_table() and friends hand it over: data_size = bytes used unless set. */
static struct dm_reply wire_reply(void)
{
	struct dm_reply r = { .size = w.len };

	if (!w.buf.io.data_size)
		w.buf.io.data_size = (uint32_t)w.len;
	r.io = malloc(w.len);
	if (!r.io) {
		perror("unit: malloc");
		exit(2);
	}
	memcpy(r.io, w.buf.b, w.len);
	return r;
}

/* Ours to free: dm_reply_free() is for replies dm_ioctl.c allocated. */
static void wire_free(struct dm_reply *r)
{
	free(r->io);
	r->io = NULL;
}

/* ---- walking replies, with a bound so a looping decoder fails instead of hanging ---- */

#define WALK_MAX 16

struct walk {
	int n;          /* records returned */
	int end;        /* the last return: 0 (done) or -errno */
	struct dm_target t[WALK_MAX];
	struct dm_name name[WALK_MAX];
	struct dm_version ver[WALK_MAX];
};

static struct walk walk_targets(struct dm_reply *r)
{
	struct walk k = { 0 };

	while ((k.end = dm_next_target(r, &k.t[k.n])) > 0)
		if (++k.n == WALK_MAX) {
			k.end = -ELOOP;
			break;
		}
	return k;
}

static struct walk walk_names(struct dm_reply *r)
{
	struct walk k = { 0 };

	while ((k.end = dm_next_name(r, &k.name[k.n])) > 0)
		if (++k.n == WALK_MAX) {
			k.end = -ELOOP;
			break;
		}
	return k;
}

static struct walk walk_versions(struct dm_reply *r)
{
	struct walk k = { 0 };

	while ((k.end = dm_next_version(r, &k.ver[k.n])) > 0)
		if (++k.n == WALK_MAX) {
			k.end = -ELOOP;
			break;
		}
	return k;
}

static void check_walk(const struct walk *k, int n, int end)
{
	check_int("records", k->n, n);
	check_int("last return", k->end, end);
}

/* ---- names and uuids ---- */

static char *repeat(char c, size_t n)
{
	char *s = malloc(n + 1);

	if (!s)
		exit(2);
	memset(s, c, n);
	s[n] = '\0';
	return s;
}

static void test_names(void)
{
	static const struct { const char *name; int want; } cases[] = {
		{ "", -EINVAL }, { "a", 0 }, { "vg-root_snap.1", 0 }, { "a/b", -EINVAL },
		{ "/", -EINVAL }, { ".", -EINVAL }, { "..", -EINVAL }, { "...", 0 },
		{ "control", -EINVAL }, { "control2", 0 }, { "a\nb", -EINVAL }, { "a b", -EINVAL },
		{ "a\tb", -EINVAL }, { "a\xff", -EINVAL }, { "caf\xc3\xa9", -EINVAL },
		{ "a\x7f", -EINVAL }, { "a\x01", -EINVAL },
	};
	static const size_t lens[] = { 1, 127, 128, 4096 };
	char title[200];

	for (size_t i = 0; i < sizeof cases / sizeof *cases; i++) {
		snprintf(title, sizeof title, "name: \"%s\"", shown(cases[i].name));
		expect(title, dm_check_name(cases[i].name), cases[i].want);
	}
	for (size_t i = 0; i < sizeof lens / sizeof *lens; i++) {
		char *s = repeat('a', lens[i]);
		snprintf(title, sizeof title, "name: %zu bytes", lens[i]);
		expect(title, dm_check_name(s), lens[i] < DM_NAME_LEN ? 0 : -ENAMETOOLONG);
		free(s);
	}
	expect("name: NULL", dm_check_name(NULL), -EINVAL);
}

static void test_uuids(void)
{
	char *u128 = repeat('u', 128), *u129 = repeat('u', 129);

	expect("uuid: 128 bytes", dm_check_uuid(u128), 0);
	expect("uuid: 129 bytes", dm_check_uuid(u129), -ENAMETOOLONG);
	expect("uuid: LVM style", dm_check_uuid("LVM-abcdef0123456789-xyz"), 0);
	expect("uuid: blank inside", dm_check_uuid("DMSNAP a"), -EINVAL);
	expect("uuid: slash", dm_check_uuid("DMSNAP/a"), -EINVAL);
	free(u128);
	free(u129);
}

/* ---- table lines ---- */

/* Parse a copy of line; on success check every field. */
static void line_case(const char *title, const char *line, int want, uint64_t start,
		      uint64_t length, const char *type, const char *params)
{
	char buf[256];
	struct dm_target t = { 0 };
	int r;

	snprintf(buf, sizeof buf, "%s", line);
	r = dm_parse_line(buf, &t);
	begin(title);
	check_int("return", r, want);
	if (r == 0 && want == 0) {
		check_u64("start", t.start, start);
		check_u64("length", t.length, length);
		check_str("type", t.type, type);
		check_str("params", t.params, params);
	}
	end();
}

static void test_lines(void)
{
	line_case("line: linear", "0 2048 linear 254:1 0", 0, 0, 2048, "linear", "254:1 0");
	line_case("line: tabs", "0\t2048\tlinear\t/dev/vdc\t0", 0, 0, 2048, "linear", "/dev/vdc\t0");
	line_case("line: extra blanks", "  10   20 \t snapshot   254:1 254:2 P 32", 0, 10, 20,
		  "snapshot", "254:1 254:2 P 32");
	line_case("line: empty params", "0 100 zero", 0, 0, 100, "zero", "");
	line_case("line: empty params, trailing blanks", "0 100 zero  \t", 0, 0, 100, "zero", "");
	line_case("line: trailing newline", "0 8 linear /dev/vdc 0\n", 0, 0, 8, "linear", "/dev/vdc 0");
	line_case("line: stops at the first newline", "0 8 zero\n8 8 error", 0, 0, 8, "zero", "");
	line_case("line: empty", "", -EINVAL, 0, 0, NULL, NULL);
	line_case("line: newline only", "\n", -EINVAL, 0, 0, NULL, NULL);
	line_case("line: start only", "0", -EINVAL, 0, 0, NULL, NULL);
	line_case("line: no type", "0 2048", -EINVAL, 0, 0, NULL, NULL);
	line_case("line: no type, blank", "0 2048 ", -EINVAL, 0, 0, NULL, NULL);
	line_case("line: negative start", "-1 2048 zero", -EINVAL, 0, 0, NULL, NULL);
	line_case("line: negative length", "0 -2048 zero", -EINVAL, 0, 0, NULL, NULL);
	line_case("line: plus sign", "+5 10 zero", -EINVAL, 0, 0, NULL, NULL);
	line_case("line: hex", "0x10 10 zero", -EINVAL, 0, 0, NULL, NULL);
	line_case("line: junk after number", "10k 10 zero", -EINVAL, 0, 0, NULL, NULL);
	line_case("line: start 2^64", "18446744073709551616 1 zero", -ERANGE, 0, 0, NULL, NULL);
	line_case("line: length 2^64", "0 18446744073709551616 zero", -ERANGE, 0, 0, NULL, NULL);
	line_case("line: start+length overflows", "18446744073709551615 1 zero", -ERANGE, 0, 0, NULL, NULL);
	line_case("line: start+length = 2^64-1", "18446744073709551614 1 zero", 0,
		  18446744073709551614ull, 1, "zero", "");
	line_case("line: length 0", "0 0 zero", -ERANGE, 0, 0, NULL, NULL);
	line_case("line: type of 15", "0 1 abcdefghijklmno x", 0, 0, 1, "abcdefghijklmno", "x");
	line_case("line: type of 16", "0 1 abcdefghijklmnop x", -ENAMETOOLONG, 0, 0, NULL, NULL);
}

/* ---- TABLE_LOAD payloads ---- */

static void check_bytes(const char *what, const void *got, const void *want, size_t n)
{
	const unsigned char *g = got, *x = want;

	for (size_t i = 0; i < n; i++)
		if (g[i] != x[i]) {
			fail("%s: byte %zu is 0x%02x, want 0x%02x", what, i, g[i], x[i]);
			return;
		}
}

static void test_encode_one(void)
{
	static const unsigned char want[56] = {
		/* sector_start 0 */         0, 0, 0, 0, 0, 0, 0, 0,
		/* length 2048 */            0x00, 0x08, 0, 0, 0, 0, 0, 0,
		/* status */                 0, 0, 0, 0,
		/* next: 40 + 11, to 8 */    56, 0, 0, 0,
		/* target_type */            'l', 'i', 'n', 'e', 'a', 'r', 0, 0, 0, 0, 0, 0, 0, 0, 0, 0,
		/* params, NUL, padding */   '2', '5', '4', ':', '1', ' ', '2', '0', '4', '8', 0, 0, 0, 0, 0, 0,
	};
	struct dm_target t = { 0, 2048, "linear", "254:1 2048" };
	unsigned char buf[64];

	memset(buf, 0xaa, sizeof buf);  /* padding must be written, not left */
	begin("encode: one target, exact bytes");
	check_int("length", dm_encode_targets((char *)buf, sizeof buf, &t, 1), 56);
	check_bytes("payload", buf, want, sizeof want);
	check_int("byte past the end untouched", buf[56], 0xaa);
	end();
}

static const struct dm_target three[] = {
	{ 0, 1024, "linear", "254:1 0" },                 /* 40 + 8: no padding */
	{ 1024, 1024, "zero", "" },                       /* 40 + 1: 7 bytes of padding */
	{ 2048, 4096, "snapshot", "254:1 254:2 P 32" },   /* 40 + 17: 7 bytes of padding */
};

static void test_encode_three(void)
{
	static const size_t at[] = { 0, 48, 96 }, next[] = { 48, 48, 64 };
	unsigned char buf[200];
	struct dm_target_spec spec;

	memset(buf, 0xaa, sizeof buf);
	begin("encode: three targets, offsets, next and padding");
	check_int("length", dm_encode_targets((char *)buf, sizeof buf, three, 3), 160);
	for (int i = 0; i < 3; i++) {
		memcpy(&spec, buf + at[i], sizeof spec);
		check_u64("sector_start", spec.sector_start, three[i].start);
		check_u64("length", spec.length, three[i].length);
		check_int("status", spec.status, 0);
		check_int("next", spec.next, (long long)next[i]);
		check_str("type", spec.target_type, three[i].type);
		check_str("params", (char *)buf + at[i] + sizeof spec, three[i].params);
		for (size_t b = at[i] + sizeof spec + strlen(three[i].params); b < at[i] + next[i]; b++)
			check_int("padding", buf[b], 0);
	}
	end();
}

static void test_encode_kernel_reads(void)
{
	char buf[160];
	struct dm_target got[3];

	begin("encode: the kernel's reading gives the targets back");
	check_int("length", dm_encode_targets(buf, sizeof buf, three, 3), 160);
	check_int("kernel accepts", kernel_read_load(buf, sizeof buf, 3, got), 0);
	for (int i = 0; i < 3; i++) {
		check_u64("start", got[i].start, three[i].start);
		check_u64("length", got[i].length, three[i].length);
		check_str("type", got[i].type, three[i].type);
		check_str("params", got[i].params, three[i].params);
	}
	end();
}

static void test_encode_limits(void)
{
	char buf[160];
	struct dm_target long_type = { 0, 1, "", "" };

	memset(long_type.type, 'x', sizeof long_type.type);  /* no NUL */
	expect("encode: cap one byte short", dm_encode_targets(buf, 159, three, 3), -ENOSPC);
	expect("encode: cap 0", dm_encode_targets(buf, 0, three, 1), -ENOSPC);
	expect("encode: cap exact", dm_encode_targets(buf, 160, three, 3), 160);
	expect("encode: no targets", dm_encode_targets(buf, 0, three, 0), 0);
	expect("encode: type without NUL", dm_encode_targets(buf, sizeof buf, &long_type, 1),
	       -ENAMETOOLONG);
}

static void test_encode_many(void)
{
	enum { N = 10000 };
	struct dm_target *t = calloc(N, sizeof *t), *got = calloc(N, sizeof *got);
	char (*params)[24] = calloc(N, sizeof *params);
	size_t total = 0;
	char *buf;
	int bad = -1;

	if (!t || !got || !params)
		exit(2);
	for (int i = 0; i < N; i++) {
		snprintf(params[i], sizeof params[i], "254:1 %d", i * 8);  /* lengths vary */
		t[i] = (struct dm_target){ (uint64_t)i * 8, 8, "linear", params[i] };
		total += (sizeof(struct dm_target_spec) + strlen(params[i]) + 1 + 7) & ~(size_t)7;
	}
	buf = malloc(total);
	if (!buf)
		exit(2);
	begin("encode: 10000 targets");
	check_int("length", dm_encode_targets(buf, total, t, N), (long long)total);
	check_int("kernel accepts", kernel_read_load(buf, total, N, got), 0);
	for (int i = 0; i < N && bad < 0; i++)
		if (got[i].start != t[i].start || strcmp(got[i].params, t[i].params))
			bad = i;
	check_int("first target read back wrong", bad, -1);
	check_int("one byte short", dm_encode_targets(buf, total - 1, t, N), -ENOSPC);
	end();
	free(buf);
	free(params);
	free(got);
	free(t);
}

/* ---- TABLE_STATUS replies ---- */

static void test_status_normal(void)
{
	struct dm_reply r;
	struct walk k;

	wire_new();
	wire_target(0, 2097152, "snapshot", "6496/25189857 64");
	wire_target(2097152, 1024, "linear", "");
	r = wire_reply();
	k = walk_targets(&r);
	begin("status: two targets");
	check_walk(&k, 2, 0);
	check_u64("1 start", k.t[0].start, 0);
	check_u64("1 length", k.t[0].length, 2097152);
	check_str("1 type", k.t[0].type, "snapshot");
	check_str("1 params", k.t[0].params, "6496/25189857 64");
	check_u64("2 start", k.t[1].start, 2097152);
	check_u64("2 length", k.t[1].length, 1024);
	check_str("2 type", k.t[1].type, "linear");
	check_str("2 params", k.t[1].params, "");
	end();
	wire_free(&r);
}

static void test_status_no_table(void)
{
	struct dm_reply r;
	struct walk k;

	/* No table: the kernel leaves data_size as sent and target_count 0. */
	wire_new();
	wire_put("\0\0\0\0\0\0\0\0", 8);
	r = wire_reply();
	k = walk_targets(&r);
	begin("status: no table");
	check_walk(&k, 0, 0);
	end();
	wire_free(&r);
}

/*
 * What the 6.1 kernel really returns for a device without a table (seen in
 * the guest): data_size reset to the header's end (305), below data_start.
 */
static void test_status_kernel_no_table(void)
{
	struct dm_reply r;
	struct walk k;
	uint32_t count = 99;

	wire_new();
	w.buf.io.data_size = offsetof(struct dm_ioctl, data);
	r = wire_reply();
	k = walk_targets(&r);
	begin("status: kernel's no-table reply (data_size 305 < data_start)");
	check_walk(&k, 0, 0);
	check_int("deps of it", dm_deps_count(&r, &count), 0);
	check_int("deps count", count, 0);
	end();
	wire_free(&r);
}

/* Three targets, one change to the wire, then expect n records and the last return. */
static void status_case(const char *title, void (*spoil)(const size_t at[3]), int n, int last)
{
	size_t at[3];
	struct dm_reply r;
	struct walk k;

	wire_new();
	at[0] = wire_target(0, 8, "linear", "254:1 0");
	at[1] = wire_target(8, 8, "zero", "");
	at[2] = wire_target(16, 8, "error", "");
	spoil(at);
	r = wire_reply();
	k = walk_targets(&r);
	begin(title);
	check_walk(&k, n, last);
	end();
	wire_free(&r);
}

static void next_backwards(const size_t at[3])
{
	spec_at(at[1])->next = 0;
}

static void next_itself(const size_t at[3])
{
	spec_at(at[1])->next = (uint32_t)at[1];
}

/* Into its own spec: decoding from there would read a spec out of its params. */
static void next_inside(const size_t at[3])
{
	spec_at(at[1])->next = (uint32_t)at[1] + 8;
}

static void next_past_end(const size_t at[3])
{
	spec_at(at[0])->next = 1u << 20;
}

static void next_wraps(const size_t at[3])
{
	spec_at(at[0])->next = UINT32_MAX;
}

static void start_past_size(const size_t at[3])
{
	(void)at;
	w.buf.io.data_size = (uint32_t)w.len;
	w.buf.io.data_start = (uint32_t)w.len + 8;
}

static void start_in_header(const size_t at[3])
{
	(void)at;
	w.buf.io.data_start = 0;
}

static void size_past_buffer(const size_t at[3])
{
	(void)at;
	w.buf.io.data_size = (uint32_t)w.len + 1;
}

static void count_huge(const size_t at[3])
{
	(void)at;
	w.buf.io.target_count = UINT32_MAX;
}

static void type_unterminated(const size_t at[3])
{
	memset(spec_at(at[1])->target_type, 'x', DM_MAX_TYPE_NAME);
}

/* data_size ends inside the last spec: its params are outside the data. */
static void data_cut_in_spec(const size_t at[3])
{
	w.buf.io.data_size = (uint32_t)(HDR + at[2] + 20);
}

static void test_status_hostile(void)
{
	status_case("status: next points backwards", next_backwards, 1, -EPROTO);
	status_case("status: next points at itself", next_itself, 1, -EPROTO);
	status_case("status: next points inside its own record", next_inside, 1, -EPROTO);
	status_case("status: next past the end", next_past_end, 1, -EPROTO);
	status_case("status: next 2^32-1", next_wraps, 1, -EPROTO);
	status_case("status: data_start > data_size", start_past_size, 0, -EPROTO);
	status_case("status: data_start inside the header", start_in_header, 0, -EPROTO);
	status_case("status: data_size > allocated size", size_past_buffer, 0, -EPROTO);
	status_case("status: target_count 2^32-1, three records", count_huge, 3, -EPROTO);
	status_case("status: type not NUL-terminated", type_unterminated, 1, -EPROTO);
	status_case("status: data ends inside a spec", data_cut_in_spec, 2, -EPROTO);
}

static void test_status_unterminated(void)
{
	struct dm_reply r;
	struct walk k;

	wire_new();
	wire_target(0, 8, "snapshot", "6496/25189857 64");
	w.len--;  /* the params' NUL falls outside the reply */
	r = wire_reply();
	k = walk_targets(&r);
	begin("status: params not NUL-terminated");
	check_walk(&k, 0, -EPROTO);
	end();
	wire_free(&r);
}

static void test_status_short_buffer(void)
{
	struct dm_reply r = { .size = 16 };
	struct dm_target t;

	/* A buffer smaller than the header: not even target_count may be read. */
	r.io = calloc(1, r.size);
	if (!r.io)
		exit(2);
	expect("status: buffer smaller than the header", dm_next_target(&r, &t), -EPROTO);
	wire_free(&r);
}

/* ---- LIST_DEVICES replies ---- */

static void test_names_empty(void)
{
	struct dm_reply r;
	struct walk k;

	/* 6.1: no devices, data_size = data_start, the "dev = 0" record past it. */
	wire_new();
	wire_put("\0\0\0\0\0\0\0\0", 8);
	w.buf.io.data_size = HDR;
	r = wire_reply();
	k = walk_names(&r);
	begin("names: none (data_size == data_start)");
	check_walk(&k, 0, 0);
	end();
	wire_free(&r);

	wire_new();
	wire_put("\0\0\0\0\0\0\0\0\0\0\0\0\0\0\0\0", 16);
	r = wire_reply();
	k = walk_names(&r);
	begin("names: none (one record with dev 0)");
	check_walk(&k, 0, 0);
	end();
	wire_free(&r);
}

static void test_names_one(void)
{
	struct dm_reply r;
	struct walk k;

	wire_new();
	wire_name(254, 0, "vg-root", 1, NULL);
	r = wire_reply();
	k = walk_names(&r);
	begin("names: one");
	check_walk(&k, 1, 0);
	check_str("name", k.name[0].name, "vg-root");
	check_int("major", k.name[0].major, 254);
	check_int("minor", k.name[0].minor, 0);
	end();
	wire_free(&r);
}

static void build_three_names(size_t at[3])
{
	wire_new();
	at[0] = wire_name(254, 0, "md2-wrap", 7, "DMSNAP-md2-wrap");
	at[1] = wire_name(254, 1, "x", 0, NULL);
	at[2] = wire_name(259, 300, "md2-snap-2024-06-01", 3, "DMSNAP-md2-snap-2024-06-01");
}

static void test_names_three(void)
{
	static const struct { const char *name; uint32_t major, minor; } want[] = {
		{ "md2-wrap", 254, 0 }, { "x", 254, 1 }, { "md2-snap-2024-06-01", 259, 300 },
	};
	size_t at[3];
	struct dm_reply r;
	struct walk k;

	build_three_names(at);
	r = wire_reply();
	k = walk_names(&r);
	begin("names: three with event_nr, flags and uuid trailers");
	check_walk(&k, 3, 0);
	for (int i = 0; i < 3 && i < k.n; i++) {
		check_str("name", k.name[i].name, want[i].name);
		check_int("major", k.name[i].major, want[i].major);
		check_int("minor", k.name[i].minor, want[i].minor);
	}
	end();
	wire_free(&r);
}

/* Three names, one change to the wire, then expect n records and the last return. */
static void names_case(const char *title, void (*spoil)(const size_t at[3]), int n, int last)
{
	size_t at[3];
	struct dm_reply r;
	struct walk k;

	build_three_names(at);
	spoil(at);
	r = wire_reply();
	k = walk_names(&r);
	begin(title);
	check_walk(&k, n, last);
	end();
	wire_free(&r);
}

static void name_next_beyond(const size_t at[3])
{
	name_at(at[0])->next = 4096;
}

static void name_next_zero(const size_t at[3])
{
	name_at(at[0])->next = 0;
}

static void name_last_cut(const size_t at[3])
{
	wire_end_at(at[2] + 4);  /* inside its dev */
}

static void name_size_past_buffer(const size_t at[3])
{
	(void)at;
	w.buf.io.data_size = (uint32_t)w.len + 8;
}

static void test_names_hostile(void)
{
	size_t at;
	struct dm_reply r;
	struct walk k;

	wire_new();
	at = wire_name(254, 0, "vg-root", 1, NULL);
	wire_end_at(at + offsetof(struct dm_name_list, name) + 7);  /* "vg-root" without NUL */
	r = wire_reply();
	k = walk_names(&r);
	begin("names: name not NUL-terminated");
	check_walk(&k, 0, -EPROTO);
	end();
	wire_free(&r);

	names_case("names: next beyond the end", name_next_beyond, 0, -EPROTO);
	names_case("names: next 0 on the first ends the list", name_next_zero, 1, 0);
	names_case("names: last record cut short", name_last_cut, 2, -EPROTO);
	names_case("names: data_size > allocated size", name_size_past_buffer, 0, -EPROTO);
}

/* ---- LIST_VERSIONS replies ---- */

static void build_versions(size_t at[3])
{
	wire_new();
	at[0] = wire_version("linear", 1, 4, 0);
	at[1] = wire_version("snapshot", 1, 16, 0);
	at[2] = wire_version("snapshot-origin", 1, 9, 0);
}

static void test_versions(void)
{
	static const struct { const char *name; uint32_t v[3]; } want[] = {
		{ "linear", { 1, 4, 0 } }, { "snapshot", { 1, 16, 0 } }, { "snapshot-origin", { 1, 9, 0 } },
	};
	size_t at[3];
	struct dm_reply r;
	struct walk k;

	build_versions(at);
	r = wire_reply();
	k = walk_versions(&r);
	begin("versions: three");
	check_walk(&k, 3, 0);
	for (int i = 0; i < 3 && i < k.n; i++) {
		check_str("name", k.ver[i].name, want[i].name);
		for (int j = 0; j < 3; j++)
			check_int("version", k.ver[i].version[j], want[i].v[j]);
	}
	end();
	wire_free(&r);
}

/* Three versions, one change to the wire, then expect n records and the last return. */
static void versions_case(const char *title, void (*spoil)(const size_t at[3]), int n, int last)
{
	size_t at[3];
	struct dm_reply r;
	struct walk k;

	build_versions(at);
	spoil(at);
	r = wire_reply();
	k = walk_versions(&r);
	begin(title);
	check_walk(&k, n, last);
	end();
	wire_free(&r);
}

static void version_none(const size_t at[3])
{
	(void)at;
	wire_end_at(0);
}

static void version_unterminated(const size_t at[3])
{
	(void)at;
	w.len--;  /* "snapshot-origin" loses its NUL */
}

static void version_next_beyond(const size_t at[3])
{
	version_at(at[1])->next = 1u << 16;
}

static void version_start_past_size(const size_t at[3])
{
	(void)at;
	w.buf.io.data_size = (uint32_t)w.len;
	w.buf.io.data_start = (uint32_t)w.len + 1;
}

static void test_versions_hostile(void)
{
	versions_case("versions: empty", version_none, 0, 0);
	versions_case("versions: name not NUL-terminated", version_unterminated, 2, -EPROTO);
	versions_case("versions: next beyond the end", version_next_beyond, 1, -EPROTO);
	versions_case("versions: data_start > data_size", version_start_past_size, 0, -EPROTO);
}

/* ---- TABLE_DEPS replies ---- */

static void deps_case(const char *title, uint32_t count, size_t n, int want)
{
	const uint64_t dev[2] = { dm_encode_dev(254, 1), dm_encode_dev(259, 3) };
	struct dm_reply r;
	uint32_t got = 0xdead, major, minor;

	wire_new();
	wire_deps(count, dev, n);
	r = wire_reply();
	begin(title);
	check_int("return", dm_deps_count(&r, &got), want);
	if (want == 0) {
		check_int("count", got, count);
		for (uint32_t i = 0; i < got && i < 2; i++) {
			dm_decode_dev(dm_deps_dev(&r, i), &major, &minor);
			check_int("major", major, i ? 259 : 254);
			check_int("minor", minor, i ? 3 : 1);
		}
	}
	end();
	wire_free(&r);
}

static void test_deps(void)
{
	struct dm_reply r;
	uint32_t count;

	deps_case("deps: two devices", 2, 2, 0);
	deps_case("deps: none", 0, 0, 0);
	deps_case("deps: count larger than the data", 3, 2, -EPROTO);
	deps_case("deps: count 2^32-1", UINT32_MAX, 2, -EPROTO);

	wire_new();
	wire_put("\1\0\0\0", 4);
	r = wire_reply();
	expect("deps: data shorter than count and padding", dm_deps_count(&r, &count), -EPROTO);
	wire_free(&r);
}

/* ---- snapshot status and table ---- */

static void snap_status_case(const char *s, int want, enum dm_snap_state state, uint64_t used,
			     uint64_t total, uint64_t metadata)
{
	struct dm_snap_status st;
	char title[200];
	int r = dm_parse_snap_status(s, &st);

	snprintf(title, sizeof title, "snap status: \"%s\"", shown(s));
	begin(title);
	check_int("return", r, want);
	if (r == 0 && want == 0) {
		check_int("state", st.state, state);
		check_u64("used", st.used, used);
		check_u64("total", st.total, total);
		check_u64("metadata", st.metadata, metadata);
	}
	end();
}

static void test_snap_status(void)
{
	snap_status_case("6496/25189857 64", 0, DM_SNAP_ACTIVE, 6496, 25189857, 64);
	snap_status_case("0/2097152 0", 0, DM_SNAP_ACTIVE, 0, 2097152, 0);
	snap_status_case("64/64 64", 0, DM_SNAP_ACTIVE, 64, 64, 64);
	snap_status_case("Invalid", 0, DM_SNAP_INVALID, 0, 0, 0);
	snap_status_case("Overflow", 0, DM_SNAP_OVERFLOW, 0, 0, 0);
	snap_status_case("Merge failed", 0, DM_SNAP_MERGE_FAILED, 0, 0, 0);
	snap_status_case("Unknown", 0, DM_SNAP_UNKNOWN, 0, 0, 0);
	snap_status_case("", -EINVAL, 0, 0, 0, 0);
	snap_status_case("invalid", -EINVAL, 0, 0, 0, 0);
	snap_status_case("Merge", -EINVAL, 0, 0, 0, 0);
	snap_status_case("1/2", -EINVAL, 0, 0, 0, 0);
	snap_status_case("3/2 1", -EINVAL, 0, 0, 0, 0);
	snap_status_case("64/2048 128", -EINVAL, 0, 0, 0, 0);
	snap_status_case("a/b c", -EINVAL, 0, 0, 0, 0);
	snap_status_case("18446744073709551616/1 0", -EINVAL, 0, 0, 0, 0);
	snap_status_case("6496/25189857 64 ", -EINVAL, 0, 0, 0, 0);
	snap_status_case("6496 /25189857 64", -EINVAL, 0, 0, 0, 0);
	snap_status_case("-1/2 0", -EINVAL, 0, 0, 0, 0);
}

static void snap_table_case(const char *s, int want, uint32_t oma, uint32_t omi, uint32_t cma,
			    uint32_t cmi, const char *mode, uint64_t chunk)
{
	struct dm_snap_table t;
	char title[200];
	int r = dm_parse_snap_table(s, &t);

	snprintf(title, sizeof title, "snap table: \"%s\"", shown(s));
	begin(title);
	check_int("return", r, want);
	if (r == 0 && want == 0) {
		check_int("origin major", t.origin_major, oma);
		check_int("origin minor", t.origin_minor, omi);
		check_int("cow major", t.cow_major, cma);
		check_int("cow minor", t.cow_minor, cmi);
		check_str("mode", t.mode, mode);
		check_u64("chunk", t.chunk, chunk);
	}
	end();
}

static void test_snap_table(void)
{
	snap_table_case("254:1 253:3 P 32", 0, 254, 1, 253, 3, "P", 32);
	snap_table_case("254:1 253:3 PO 8", 0, 254, 1, 253, 3, "PO", 8);
	snap_table_case("259:65536 9:2 N 1024", 0, 259, 65536, 9, 2, "N", 1024);
	snap_table_case("254:1 253:3 X 32", -EINVAL, 0, 0, 0, 0, NULL, 0);
	snap_table_case("254:1 253:3 POX 32", -EINVAL, 0, 0, 0, 0, NULL, 0);
	snap_table_case("254:1 253:3 p 32", -EINVAL, 0, 0, 0, 0, NULL, 0);
	snap_table_case("/dev/vdc 253:3 P 32", -EINVAL, 0, 0, 0, 0, NULL, 0);
	snap_table_case("254 253:3 P 32", -EINVAL, 0, 0, 0, 0, NULL, 0);
	snap_table_case("4096:0 253:3 P 32", -EINVAL, 0, 0, 0, 0, NULL, 0);
	snap_table_case("254:1 253:x P 32", -EINVAL, 0, 0, 0, 0, NULL, 0);
	/* The kernel prints discard features after the chunk: a count, then the words. */
	snap_table_case("254:1 253:3 P 32 2 discard_zeroes_cow discard_passdown_origin", 0,
			254, 1, 253, 3, "P", 32);
	snap_table_case("254:1 253:3 P 32 1 discard_zeroes_cow", 0, 254, 1, 253, 3, "P", 32);
	snap_table_case("254:1 253:3 P 32 2 discard_zeroes_cow", -EINVAL, 0, 0, 0, 0, NULL, 0);
	snap_table_case("254:1 253:3 P 32 1 discard_zeroes_cow extra", -EINVAL, 0, 0, 0, 0, NULL, 0);
	snap_table_case("254:1 253:3 P 32 1 unknown_feature", -EINVAL, 0, 0, 0, 0, NULL, 0);
	snap_table_case("254:1 253:3 P 32 0", -EINVAL, 0, 0, 0, 0, NULL, 0);
	snap_table_case("254:1 253:3 P 32 3 a b c", -EINVAL, 0, 0, 0, 0, NULL, 0);
	snap_table_case("254:1 253:3 P 32x", -EINVAL, 0, 0, 0, 0, NULL, 0);
	snap_table_case("254:1 253:3 P", -EINVAL, 0, 0, 0, 0, NULL, 0);
	snap_table_case("", -EINVAL, 0, 0, 0, 0, NULL, 0);
	snap_table_case("254:1 253:3 P -32", -EINVAL, 0, 0, 0, 0, NULL, 0);
	snap_table_case("254:1 253:3 P +32", -EINVAL, 0, 0, 0, 0, NULL, 0);
	snap_table_case("254:1 253:3 P 18446744073709551616", -EINVAL, 0, 0, 0, 0, NULL, 0);
	/* Three words that a 31-byte %s would split into four fields. */
	snap_table_case("0:00000000000000000000000000000254:1 P 32", -EINVAL, 0, 0, 0, 0, NULL, 0);
}

static void linear_case(const char *s, int want, uint32_t major, uint32_t minor, uint64_t offset)
{
	uint32_t ma = 0, mi = 0;
	uint64_t off = 0;
	char title[200];
	int r = dm_parse_linear(s, &ma, &mi, &off);

	snprintf(title, sizeof title, "linear params: \"%s\"", shown(s));
	begin(title);
	check_int("return", r, want);
	if (r == 0 && want == 0) {
		check_int("major", ma, major);
		check_int("minor", mi, minor);
		check_u64("offset", off, offset);
	}
	end();
}

/* How the kernel prints a wrapper's and a duplicate's table. */
static void test_linear(void)
{
	linear_case("9:2 0", 0, 9, 2, 0);
	linear_case("253:0 2048", 0, 253, 0, 2048);
	linear_case("9:2", -EINVAL, 0, 0, 0);
	linear_case("9:2 0 1", -EINVAL, 0, 0, 0);
	linear_case("/dev/md2 0", -EINVAL, 0, 0, 0);
	linear_case("9:2 -1", -EINVAL, 0, 0, 0);
	linear_case("9:2 18446744073709551616", -EINVAL, 0, 0, 0);
	linear_case("", -EINVAL, 0, 0, 0);
}

/* parse(s) returns want and, on success, major:minor. */
static void devno_case(const char *what, int (*parse)(const char *, uint32_t *, uint32_t *), const char *s,
		       int want, uint32_t major, uint32_t minor)
{
	uint32_t ma = 0, mi = 0;
	char title[200];
	int r = parse(s, &ma, &mi);

	snprintf(title, sizeof title, "%s: \"%s\"", what, shown(s));
	begin(title);
	check_int("return", r, want);
	if (r == 0 && want == 0) {
		check_int("major", ma, major);
		check_int("minor", mi, minor);
	}
	end();
}

static void test_first_devno(void)
{
	const char *what = "first devno";
	int (*parse)(const char *, uint32_t *, uint32_t *) = dm_first_devno;

	devno_case(what, parse, "253:1", 0, 253, 1);
	devno_case(what, parse, "253:1 253:4 P 32", 0, 253, 1);
	devno_case(what, parse, "  253:1", 0, 253, 1);
	devno_case(what, parse, "", -EINVAL, 0, 0);
	devno_case(what, parse, "md2_dup", -EINVAL, 0, 0);
	devno_case(what, parse, "253:1x 9:2", -EINVAL, 0, 0);
	devno_case(what, parse, "000000000000000000000000253:1", -EINVAL, 0, 0);
}

/* ---- built lines parse back to what they were built from ---- */

static void test_round_trips(void)
{
	struct dm_snap_table in = { .origin_major = 254, .origin_minor = 7, .cow_major = 4095,
				    .cow_minor = 1048575, .mode = "PO", .chunk = 2097152,
				    .features = "2 discard_zeroes_cow discard_passdown_origin" }, out;
	struct target_line l;
	uint32_t ma, mi;
	uint64_t off;

	begin("targets: snapshot, snapshot-merge, linear and origin lines parse back");
	build_snapshot(&l, "snapshot", 819200, &in);
	check_str("type", l.t.type, "snapshot");
	check_u64("length", l.t.length, 819200);
	check_int("params point into the line", l.t.params == l.params, 1);
	check_int("parses", dm_parse_snap_table(l.t.params, &out), 0);
	check_u64("origin", (uint64_t)out.origin_major << 32 | out.origin_minor, (uint64_t)254 << 32 | 7);
	check_u64("cow", (uint64_t)out.cow_major << 32 | out.cow_minor, (uint64_t)4095 << 32 | 1048575);
	check_str("mode", out.mode, "PO");
	check_u64("chunk", out.chunk, 2097152);
	check_str("same features", out.features, in.features);
	in.features[0] = '\0';
	snprintf(in.mode, sizeof in.mode, "P");
	build_snapshot(&l, "snapshot-merge", 8, &in);
	check_str("merge line", l.t.params, "254:7 4095:1048575 P 2097152");
	check_int("merge parses", dm_parse_snap_table(l.t.params, &out), 0);
	check_str("no features", out.features, "");
	build_linear(&l, 1000, 9, 2);
	check_str("linear type", l.t.type, "linear");
	check_int("linear parses", dm_parse_linear(l.t.params, &ma, &mi, &off), 0);
	check_u64("linear device", (uint64_t)ma << 32 | mi, (uint64_t)9 << 32 | 2);
	check_u64("linear offset 0", off, 0);
	build_origin(&l, 1000, 253, 1);
	check_str("origin type", l.t.type, "snapshot-origin");
	check_int("origin parses", dm_first_devno(l.t.params, &ma, &mi), 0);
	check_u64("origin device", (uint64_t)ma << 32 | mi, (uint64_t)253 << 32 | 1);
	end();
}

/* ---- what a COW holds: signatures at both ends, unknown data ---- */

/* A 1 MiB file holding magic at off (negative: from the end); what find_signature says of it. */
static const char *signature_in(const char *magic, size_t len, long off, int *holds, int *data)
{
	static char path[] = "/tmp/dmsnap-unit-sig.XXXXXX";
	static const char *what;
	long size = 1 << 20;
	int fd;

	strcpy(path + strlen(path) - 6, "XXXXXX");
	if ((fd = mkstemp(path)) < 0 || ftruncate(fd, size) < 0 ||
	    (len && pwrite(fd, magic, len, off < 0 ? size + off : off) != (ssize_t)len)) {
		fail("temporary file: %s", strerror(errno));
		return NULL;
	}
	what = find_signature(fd, (uint64_t)size, holds);
	*data = holds_data(fd, (uint64_t)size);
	close(fd);
	unlink(path);
	return what;
}

static void signature_case(const char *name, const char *magic, size_t len, long off, const char *want, int holds_want)
{
	int holds = -1, data = -1;
	const char *got = signature_in(magic, len, off, &holds, &data);

	begin(name);
	check_str("named", got ? got : "(none)", want ? want : "(none)");
	check_int("never overwritten", holds, holds_want);
	long from_start = off < 0 ? (1L << 20) + off : off;
	check_int("data at an end", data, len && (from_start < BLANK_SPAN || from_start >= (1L << 20) - BLANK_SPAN));
	end();
}

static void test_signatures(void)
{
	signature_case("signature: blank", "", 0, 0, NULL, 0);
	signature_case("signature: ext4", "\x53\xef", 2, 1080, "an ext2/3/4 filesystem", 0);
	signature_case("signature: IMSM, 24 bytes before the last 1 KiB", "Intel Raid ISM Cfg Sig. ", 24, -1024,
		       "an Intel IMSM RAID member", 1);
	signature_case("signature: md 1.0 near the end", "\xfc\x4e\x2b\xa9", 4, -8192, "an md RAID member (1.0)", 1);
	signature_case("signature: GPT", "EFI PART", 8, 512, "a GPT partition table", 1);
	signature_case("signature: MBR", "\x55\xaa", 2, 510, "an MBR partition table", 1);
	signature_case("signature: LVM label in sector 3", "LABELONE", 8, 1536, "an LVM physical volume", 1);
	signature_case("signature: bcache", "\xc6\x85\x73\xf6\x4e\x1a\x45\xca\x82\x65\xf5\x7f\x48\xba\x6d\x81",
		       16, 4120, "a bcache device", 1);
	signature_case("signature: unknown bytes in the middle are not looked at", "x", 1, 512 * 1024, NULL, 0);
	signature_case("signature: unknown bytes at the start are data", "someone's data", 14, 100, NULL, 0);
}

/* ---- dmsnap's record on a COW ---- */

static void test_record(void)
{
	struct cow_record in = { .state = COW_MERGING, .chunk = 32, .origin_sectors = 819200, .has_uuid = 1,
				 .fs_uuid = { 1, 2, 3, 4, 5, 6, 7, 8, 9, 10, 11, 12, 13, 14, 15, 16 },
				 .origin = "md2" }, out, other;
	static unsigned char buf[RECORD_BYTES];

	begin("record: round trip, damage and absence told apart, origins matched");
	record_encode(&in, buf);
	check_int("decodes", record_decode(buf, &out), 0);
	check_int("state", out.state, COW_MERGING);
	check_u64("chunk", out.chunk, 32);
	check_u64("origin sectors", out.origin_sectors, 819200);
	check_int("uuid", out.has_uuid && !memcmp(out.fs_uuid, in.fs_uuid, 16), 1);
	check_str("origin", out.origin, "md2");
	check_int("the rest of the page is zero", buf[RECORD_BYTES - 1] | buf[200], 0);
	buf[60] ^= 1;
	check_int("a flipped bit is damage", record_decode(buf, &out), -EBADMSG);
	memset(buf, 0, sizeof buf);
	check_int("zeros are no record", record_decode(buf, &out), -ENOENT);
	in.state = 9;
	record_encode(&in, buf);
	check_int("an unknown state is damage", record_decode(buf, &out), -EBADMSG);
	in.state = COW_SNAPSHOT;
	other = in;
	check_int("same origin matches", record_matches(&in, &other), 1);
	other.fs_uuid[0] = 99;
	check_int("another filesystem does not", record_matches(&in, &other), 0);
	other.has_uuid = 0;
	check_int("an unreadable uuid leaves the size", record_matches(&in, &other), 1);
	other.origin_sectors++;
	check_int("another size does not", record_matches(&in, &other), 0);
	check_int("one member is version 1", (record_encode(&in, buf), buf[7]), '1');
	in.nmembers = 3, in.store_id = 0x1122334455667788ull, in.member_sectors[2] = 524256;
	record_encode(&in, buf);
	check_int("members make version 2", buf[7], '2');
	check_int("version 2 decodes", record_decode(buf, &out), 0);
	check_int("members", (int)out.nmembers, 3);
	check_u64("store id", out.store_id, in.store_id);
	check_u64("a member's sectors", out.member_sectors[2], 524256);
	buf[200] ^= 1;
	check_int("a flipped member bit is damage", record_decode(buf, &out), -EBADMSG);
	uint64_t id, sectors;
	uint32_t index;
	label_encode(7, 2, 99, buf);
	check_int("a label decodes", label_decode(buf, &id, &index, &sectors), 0);
	check_u64("its id, index, sectors", id * 10000 + index * 100 + sectors, 70299);
	buf[20] ^= 1;
	check_int("a damaged label is none", label_decode(buf, &id, &index, &sectors), -ENOENT);
	char said[160];
	in.fs_uuid[0] = 0xab, in.fs_uuid[15] = 0xf0;
	describe_record(&in, (char *)said, sizeof said);
	check_str("described", said, "md2 (819200 sectors, filesystem UUID ab020304-0506-0708-090a-0b0c0d0e0ff0)");
	in.has_uuid = 0, in.origin[0] = '\0';
	describe_record(&in, (char *)said, sizeof said);
	check_str("described without a uuid or a name", said, "? (819200 sectors)");
	describe_record(&in, (char *)said, 8);
	check_str("described, cut to its buffer", said, "? (8192");
	end();
}

/* ---- libdevmapper's name mangling (what dmsetup_link compares with the real dmsetup) ---- */

static void mangle_case(const char *s, size_t size, int want, const char *mangled)
{
	char buf[200];

	check_int(s, dm_mangle(s, buf, size), want);
	if (want == 0)
		check_str(s, buf, mangled);
}

static void test_mangle(void)
{
	char name[140], buf[200];

	begin("mangle: unsafe bytes as \\xNN, a \\xNN kept, mixed and too long refused");
	mangle_case("Az09#+-.:=@_", 128, 0, "Az09#+-.:=@_");
	mangle_case("a b", 128, 0, "a\\x20b");
	mangle_case("caf\xc3\xa9/\t", 128, 0, "caf\\xc3\\xa9\\x2f\\x09");
	mangle_case("a\\x20b", 128, 0, "a\\x20b");
	mangle_case("a\\x20b c", 128, 1, NULL);
	mangle_case("a b\\x20c", 128, 1, NULL);
	mangle_case("ab\\x2", 128, 1, NULL);
	mangle_case("a b", 4, 2, NULL);
	mangle_case("a b", 6, 2, NULL);
	mangle_case("a b", 7, 0, "a\\x20b");
	memset(name, 'n', 127), name[127] = '\0';
	mangle_case(name, 128, 0, name);
	memset(name, 'n', 128), name[128] = '\0';
	mangle_case(name, 128, 2, NULL);
	memset(name, ' ', 31), strcpy(name + 31, "abc");
	check_int("31 blanks and 3 letters: 127 bytes mangled", dm_mangle(name, buf, 128), 0);
	check_int("their length", (int)strlen(buf), 127);
	name[33] = ' ';
	check_int("32 blanks and 2 letters: 130", dm_mangle(name, buf, 128), 2);
	end();

	begin("unmangle: each \\xNN decoded as --manglename none reads it");
	check_str("decoded", dm_unmangle("a\\x20b\\x4A\\x4a", buf), "a bJJ");
	strcpy(name, "plain");
	check_int("nothing to decode: the string itself", dm_unmangle(name, buf) == name, 1);
	check_str("a bad \\x first: as it was", dm_unmangle("a\\xzz", buf), "a\\xzz");
	check_str("a bad \\x after a good one cuts the rest", dm_unmangle("\\x41b\\xzzc", buf), "Ab");
	check_str("one digit is that digit, the next byte skipped", dm_unmangle("\\x4zq", buf), "\x04q");
	check_int("mangled twice", dm_mangled_twice("a\\x5cx20b"), 1);
	check_int("mangled once", dm_mangled_twice("a\\x20b\\x5c"), 0);
	end();
}

/* ---- device numbers ---- */

static void test_devno(void)
{
	devno_case("devno", dm_parse_devno, "254:1", 0, 254, 1);
	devno_case("devno", dm_parse_devno, "259:0", 0, 259, 0);
	devno_case("devno", dm_parse_devno, "4095:1048575", 0, 4095, 1048575);
	devno_case("devno", dm_parse_devno, "4096:0", -ERANGE, 0, 0);
	devno_case("devno", dm_parse_devno, "0:1048576", -ERANGE, 0, 0);
	devno_case("devno", dm_parse_devno, "254:", -EINVAL, 0, 0);
	devno_case("devno", dm_parse_devno, ":1", -EINVAL, 0, 0);
	devno_case("devno", dm_parse_devno, "254:1x", -EINVAL, 0, 0);
	devno_case("devno", dm_parse_devno, "254:1 ", -EINVAL, 0, 0);
	devno_case("devno", dm_parse_devno, " 254:1", -EINVAL, 0, 0);
	devno_case("devno", dm_parse_devno, "-1:0", -EINVAL, 0, 0);
	devno_case("devno", dm_parse_devno, "254", -EINVAL, 0, 0);
}

static void test_dev_encoding(void)
{
	static const struct { uint32_t major, minor; uint64_t dev; } cases[] = {
		{ 254, 1, 0xfe01 },           /* minor low byte, then major */
		{ 8, 256, 0x100800 },         /* minor's high bits above the major */
		{ 259, 0, 0x10300 },          /* NVMe: major above 255 */
		{ 259, 65537, 0x10010301 },
		{ 4095, 1048575, 0xffffffff },
	};
	uint32_t major, minor;

	begin("dev: encode matches the kernel's huge_encode_dev, decode round-trips");
	for (size_t i = 0; i < sizeof cases / sizeof *cases; i++) {
		check_u64("encoded", dm_encode_dev(cases[i].major, cases[i].minor), cases[i].dev);
		dm_decode_dev(cases[i].dev, &major, &minor);
		check_int("major", major, cases[i].major);
		check_int("minor", minor, cases[i].minor);
	}
	end();
}

/* ---- headers ---- */

static void test_info_from(void)
{
	struct dm_ioctl io;
	struct dm_info info;

	memset(&io, 'n', sizeof io);  /* name and uuid with no NUL anywhere */
	io.dev = dm_encode_dev(254, 3);
	io.target_count = 2;
	dm_info_from(&io, &info);
	begin("info: unterminated name and uuid are cut, dev decoded");
	check_int("name length", (long long)strlen(info.name), DM_NAME_LEN - 1);
	check_int("uuid length", (long long)strlen(info.uuid), DM_UUID_LEN - 1);
	check_int("major", info.major, 254);
	check_int("minor", info.minor, 3);
	check_int("target_count", info.target_count, 2);
	end();

	begin("cmd names");
	check_str("TABLE_LOAD", dm_cmd_name(DM_TABLE_LOAD_CMD), "DM_TABLE_LOAD");
	check_str("out of range", dm_cmd_name((enum dm_cmd)99), "DM_UNKNOWN");
	check_str("the last", dm_cmd_name(DM_DEV_SET_GEOMETRY_CMD), "DM_DEV_SET_GEOMETRY");
	check_str("the first", dm_cmd_name(DM_VERSION_CMD), "DM_VERSION");
	check_str("past the last", dm_cmd_name(DM_DEV_ARM_POLL_CMD), "DM_UNKNOWN");
	end();
}

static void test_parse_u64(void)
{
	static const struct { const char *s; int r; uint64_t v; size_t used; } cases[] = {
		{ "0", 0, 0, 1 },
		{ "32", 0, 32, 2 },
		{ "18446744073709551615", 0, UINT64_MAX, 20 },
		{ "18446744073709551616", -ERANGE, 0, 0 },
		{ "99999999999999999999", -ERANGE, 0, 0 },
		{ "12ab", 0, 12, 2 },
		{ "", -EINVAL, 0, 0 },
		{ "-1", -EINVAL, 0, 0 },
		{ "+1", -EINVAL, 0, 0 },
		{ " 1", -EINVAL, 0, 0 },
	};
	char *stop;
	uint64_t v;

	begin("parse_u64: strict decimal, overflow refused");
	for (size_t i = 0; i < sizeof cases / sizeof *cases; i++) {
		int r = parse_u64(cases[i].s, &stop, &v);
		check_int(cases[i].s, r, cases[i].r);
		if (r == 0) {
			check_u64(cases[i].s, v, cases[i].v);
			check_u64("digits used", (uint64_t)(stop - cases[i].s), cases[i].used);
		}
	}
	end();
}

/* scan_ull against the host C library's strtoull (glibc here): value, end and ERANGE alike. */
static void test_scan_ull(void)
{
	static const char *const inputs[] = {
		"0", "12", "  42x", " -1", "+7", "0x1f", "0X1F", "0x", "0xg", "077", "08", "\t9", "",
		"abc", "-0x10", "0x0d4d0001", "ff:00", "fe", "1e", "- 1", "--1", "+-1", "0x-1",
		"18446744073709551615", "18446744073709551616", "99999999999999999999999", "0xffffffffffffffff",
		"0x10000000000000000", "1777777777777777777777", "2000000000000000000000",
	};
	static const int bases[] = { 0, 10, 16 };

	begin("scan_ull: strtoull's reading of every case, in bases 0, 10 and 16");
	for (size_t i = 0; i < sizeof inputs / sizeof *inputs; i++)
		for (size_t b = 0; b < sizeof bases / sizeof *bases; b++) {
			char *want_end, *end, what[96];
			int over;
			unsigned long long want, got;

			errno = 0;
			want = strtoull(inputs[i], &want_end, bases[b]);
			int range = errno == ERANGE;
			got = scan_ull(inputs[i], &end, bases[b], &over);
			snprintf(what, sizeof what, "\"%s\" in base %d", inputs[i], bases[b]);
			check_u64(what, got, want);
			check_u64(what, (uint64_t)(end - inputs[i]), (uint64_t)(want_end - inputs[i]));
			check_int(what, over, range);
		}
	end();
}

/* next_word against the host C library's strtok_r: the same words, in the same order, on the same inputs. */
static void test_next_word(void)
{
	static const char *const inputs[] = {
		"", " ", "a", " a", "a ", "  a  b\t\tc ", "1: FLOCK  ADVISORY  WRITE 1234 fd:01:42 0 EOF",
		"\t\t", "x\ty z", "one two three four five six",
	};

	begin("next_word: strtok_r's words for every case");
	for (size_t i = 0; i < sizeof inputs / sizeof *inputs; i++) {
		char a[64], b[64], *save, *p = b, *want, *got;
		int k = 0;

		snprintf(a, sizeof a, "%s", inputs[i]);
		snprintf(b, sizeof b, "%s", inputs[i]);
		do {
			want = strtok_r(k ? NULL : a, " \t", &save);
			got = next_word(&p, " \t");
			check_str(inputs[i], got ? got : "(none)", want ? want : "(none)");
			k++;
		} while (want && got);
	}
	end();
}

static int make_file(const char *path, const char *text, size_t len)
{
	int fd = open(path, O_WRONLY | O_CREAT | O_TRUNC, 0600);
	int ok = fd >= 0 && write(fd, text, len) == (ssize_t)len;

	if (fd >= 0)
		close(fd);
	return ok;
}

static int count_entry(const char *name, void *arg)
{
	int *n = arg;

	(*n)++;
	return !strcmp(name, "stop") ? 7 : 0;
}

static void test_files(void)
{
	char dir[] = "/tmp/dmsnap-unit.XXXXXX", path[64], line[8], *all;
	static char big[10000];
	size_t len;
	int fd, n = 0;

	begin("files: read_line_file, read_all past one page, each_entry");
	if (!mkdtemp(dir)) {
		fail("mkdtemp: %s", strerror(errno));
		end();
		return;
	}
	snprintf(path, sizeof path, "%s/a", dir);
	make_file(path, "4096\nmore\n", 10);
	check_int("read_line_file", read_line_file(path, line, sizeof line), 1);
	check_str("first line", line, "4096");
	check_int("no file", read_line_file("/nonexistent/x", line, sizeof line), 0);
	memset(big, 'b', sizeof big);
	big[sizeof big - 1] = 'e';
	snprintf(path, sizeof path, "%s/b", dir);
	make_file(path, big, sizeof big);
	fd = open(path, O_RDONLY);
	all = read_all(fd, &len);
	close(fd);
	check_u64("read_all length", len, sizeof big);
	check_int("read_all last byte", all ? all[sizeof big - 1] : 0, 'e');
	check_int("read_all terminates", all ? all[sizeof big] : 1, 0);
	free(all);
	check_int("each_entry: . and .. skipped", each_entry(dir, count_entry, &n), 0);
	check_int("entries", n, 2);
	snprintf(path, sizeof path, "%s/stop", dir);
	make_file(path, "", 0);
	n = 0;
	check_int("each_entry returns fn's non-zero", each_entry(dir, count_entry, &n), 7);
	check_int("missing directory", each_entry("/nonexistent", count_entry, &n), -ENOENT);
	for (const char *f = "a\0b\0stop\0"; *f; f += strlen(f) + 1) {
		snprintf(path, sizeof path, "%s/%s", dir, f);
		unlink(path);
	}
	rmdir(dir);
	end();
}

/* ---- report.c: dmsetup's columns, as dmsetup 1.02.185 printed them in the guest ---- */

static const char rfields[] = "name\0Name\0major\0Maj\0attr\0Stat\0vg_name\0VG\0";
static const unsigned char rattrs[][2] = { { 16, 0 }, { 3, RF_NUM | 1 }, { 4, 1 }, { 4, 2 } };

/* The report of list with flags and sep for the objects (3 values each), or "error N". */
static const char *report_of(const char *list, unsigned flags, const char *sep, char *const *objects, int n)
{
	static char out[1024];
	struct report r;
	const char *bad;
	size_t badlen;
	char *buf = NULL;
	size_t size = 0;
	FILE *f;
	int ret = report_init(&r, rfields, rattrs, "name\0info\0splitname\0", list, flags, sep, &bad, &badlen);

	if (ret) {
		snprintf(out, sizeof out, "error %d %.*s", ret, (int)(ret < 0 ? badlen : 0), ret < 0 ? bad : "");
		return out;
	}
	for (int i = 0; i < n; i++) {
		char *values[REPORT_MAX_FIELDS];
		for (size_t k = 0; k < r.nsel; k++)
			values[k] = objects[i * 4 + r.sel[k]];
		report_row(&r, values);
	}
	f = open_memstream(&buf, &size);
	report_output(&r, f);
	fclose(f);
	report_free(&r);
	snprintf(out, sizeof out, "%s", buf);
	free(buf);
	return out;
}

static void test_report(void)
{
	char *objs[] = { "lin", "253", "L--w", "", "vg-lv--x-real", "253", "L-sr", "vg" };
	const unsigned dflt = REPORT_HEADINGS | REPORT_ALIGNED;

	begin("report: aligned columns, numbers to the right, widths grow");
	check_str("one", report_of("name,major,attr", dflt, " ", objs, 1),
		  "Name             Maj Stat\nlin              253 L--w\n");
	check_str("two", report_of("attr,name", dflt, " ", objs, 2),
		  "Stat Name            \nL--w lin             \nL-sr vg-lv--x-real   \n");
	end();

	begin("report: --noheadings, --separator, --nameprefixes, --unquoted");
	check_str("noheadings", report_of("name,major", 0, ":", objs, 1), "lin:253\n");
	check_str("separator", report_of("name,attr", REPORT_HEADINGS, "|", objs, 1), "Name|Stat\nlin|L--w\n");
	check_str("prefixes", report_of("name,major", REPORT_HEADINGS | REPORT_PREFIXES, " ", objs, 1),
		  "Name Maj\nDM_NAME='lin' DM_MAJOR='253'\n");
	check_str("unquoted", report_of("name", REPORT_HEADINGS | REPORT_PREFIXES | REPORT_UNQUOTED, " ", objs, 1),
		  "Name\nDM_NAME=lin\n");
	end();

	begin("report: --rows, never aligned");
	check_str("rows", report_of("name,major", dflt | REPORT_ROWS, " ", objs, 2),
		  "Name lin vg-lv--x-real\nMaj 253 253\n");
	check_str("rows prefixes", report_of("name", REPORT_ROWS | REPORT_PREFIXES, ":", objs, 2),
		  "DM_NAME='lin':DM_NAME='vg-lv--x-real'\n");
	check_str("no objects, no headings", report_of("name", dflt, " ", objs, 0), "");
	end();

	begin("report: -o names as libdevmapper takes them");
	check_str("case", report_of("NAME,Major", 0, ":", objs, 1), "lin:253\n");
	check_str("repeated commas", report_of(",name,,major", 0, ":", objs, 1), "lin:253\n");
	check_str("section", report_of("info_all", 0, ":", objs, 1), "253:L--w\n");
	check_str("unknown", report_of("name,bogus,major", 0, ":", objs, 1), "error -22 bogus");
	check_str("trailing comma", report_of("name,", 0, ":", objs, 1), "error -22 ");
	check_str("help", report_of("name,help", 0, ":", objs, 1), "error 1 ");
	check_str("none", report_of("", dflt, " ", objs, 1), "\n\n");
	end();
}

static void test_split_lvm_name(void)
{
	static const char *const cases[][4] = {
		{ "vg-lv", "vg", "lv", "" }, { "vg--x-lv-lay", "vg-x", "lv", "lay" }, { "a--b--c", "a-b-c", "", "" },
		{ "a-", "a-", "", "" }, { "a-b-c-d", "a", "b", "c" }, { "", "", "", "" },
	};

	begin("splitname: VG-LV-layer with -- for -");
	for (size_t i = 0; i < sizeof cases / sizeof *cases; i++) {
		char name[32], *vg, *lv, *layer;
		snprintf(name, sizeof name, "%s", cases[i][0]);
		split_lvm_name(name, &vg, &lv, &layer);
		check_str(cases[i][0], vg, cases[i][1]);
		check_str(cases[i][0], lv, cases[i][2]);
		check_str(cases[i][0], layer, cases[i][3]);
	}
	end();
}

int main(void)
{
	setvbuf(stdout, NULL, _IOLBF, 0);
	test_names();
	test_uuids();
	test_lines();
	test_encode_one();
	test_encode_three();
	test_encode_kernel_reads();
	test_encode_limits();
	test_encode_many();
	test_status_normal();
	test_status_no_table();
	test_status_kernel_no_table();
	test_status_hostile();
	test_status_unterminated();
	test_status_short_buffer();
	test_names_empty();
	test_names_one();
	test_names_three();
	test_names_hostile();
	test_versions();
	test_versions_hostile();
	test_deps();
	test_snap_status();
	test_snap_table();
	test_linear();
	test_first_devno();
	test_round_trips();
	test_record();
	test_mangle();
	test_signatures();
	test_devno();
	test_dev_encoding();
	test_info_from();
	test_parse_u64();
	test_scan_ull();
	test_next_word();
	test_files();
	test_report();
	test_split_lvm_name();
	printf("%d passed, %d failed\n", n_passed, n_failed);
	return n_failed ? 1 : 0;
}
