/*
 * report.h - dmsetup's column reports, as libdevmapper's dm_report prints
 * them for `info -c` and `splitname`: fields picked with -o, aligned columns,
 * a separator, DM_ name prefixes, or fields as rows.  Also LVM's VG-LV-layer
 * split of a device name, which splitname shows.
 *
 * Pure: no kernel, no globals.  0 or -errno, never printing but for
 * report_output(), which writes where it is told.
 */
#ifndef DMSNAP_REPORT_H
#define DMSNAP_REPORT_H

#include <stddef.h>
#include <stdio.h>

/*
 * The fields a report may show: fields holds each one's -o name and column
 * heading ("id\0Heading\0" ...), ending with an empty name; attrs[f] is
 * field f's minimum width and flags: RF_NUM, and its section (flags &
 * RF_SECTION), which "<section>_all" picks, sections naming them in order
 * ("name\0info\0...").
 */
#define RF_NUM     0x80  /* a number: right-aligned */
#define RF_SECTION 0x0f

/* Output flags: dmsetup's defaults are HEADINGS | ALIGNED with separator " ". */
enum {
	REPORT_HEADINGS = 1,
	REPORT_ALIGNED = 2,
	REPORT_PREFIXES = 4,  /* DM_FIELD='value' */
	REPORT_UNQUOTED = 8,  /* DM_FIELD=value */
	REPORT_ROWS = 16,     /* one line per field, never aligned */
};

#define REPORT_MAX_FIELDS 64

struct report {
	const char *fields;
	const unsigned char (*attrs)[2];
	size_t nsel, nrows, cap;
	unsigned char sel[REPORT_MAX_FIELDS];  /* indexes into fields, in -o order */
	size_t width[REPORT_MAX_FIELDS];
	unsigned flags;
	const char *sep;
	char **cells;                          /* nrows * nsel strings */
};

/*
 * Picks the fields of list ("f1,f2", case-insensitive, "<section>_all" for
 * a section).  -EINVAL: *bad and *badlen say which name is unknown.  1:
 * "help" or "?" was asked for.
 */
int report_init(struct report *r, const char *fields, const unsigned char (*attrs)[2], const char *sections,
		const char *list, unsigned flags, const char *sep, const char **bad, size_t *badlen);
/* Is s (len bytes) name, ignoring case? */
int same_name(const char *name, const char *s, size_t len);
/* Field f's name, or with heading its heading. */
const char *report_name(const char *fields, size_t f, int heading);
/* One object: a value for each picked field, copied. */
int report_row(struct report *r, char *const *values);
/* Everything reported so far (headings first), then forgets the rows. */
void report_output(struct report *r, FILE *f);
void report_free(struct report *r);

/*
 * LVM's device names: VG-LV[-LAYER] with '-' inside a part doubled.  Splits
 * name in place; parts not there are "".
 */
void split_lvm_name(char *name, char **vg, char **lv, char **layer);

#endif
