/*
 * fuzz_snap.c - snapshot status and table strings, and major:minor: whatever
 * parses must be in range and must print back (in the kernel's format) to
 * something that parses to the same values.
 */
#include "../../targets.h"
#include "fuzz.h"

static void check_status(const char *s)
{
	struct dm_snap_status st, again;
	char line[80];

	if (dm_parse_snap_status(s, &st))
		return;
	if (st.state != DM_SNAP_ACTIVE)
		return;
	REQUIRE(st.metadata <= st.used && st.used <= st.total);
	snprintf(line, sizeof line, "%llu/%llu %llu", (unsigned long long)st.used,
		 (unsigned long long)st.total, (unsigned long long)st.metadata);
	REQUIRE(dm_parse_snap_status(line, &again) == 0);
	REQUIRE(again.state == DM_SNAP_ACTIVE && again.used == st.used &&
		again.total == st.total && again.metadata == st.metadata);
}

static void check_table(const char *s)
{
	struct dm_snap_table t, again;
	char line[96];

	if (dm_parse_snap_table(s, &t))
		return;
	REQUIRE(!strcmp(t.mode, "P") || !strcmp(t.mode, "PO") || !strcmp(t.mode, "N"));
	REQUIRE(t.origin_major <= 0xfff && t.origin_minor <= 0xfffff);
	REQUIRE(t.cow_major <= 0xfff && t.cow_minor <= 0xfffff);
	snprintf(line, sizeof line, "%u:%u %u:%u %s %llu", t.origin_major, t.origin_minor,
		 t.cow_major, t.cow_minor, t.mode, (unsigned long long)t.chunk);
	REQUIRE(dm_parse_snap_table(line, &again) == 0);
	REQUIRE(!memcmp(&t, &again, offsetof(struct dm_snap_table, mode)));
	REQUIRE(!strcmp(t.mode, again.mode) && t.chunk == again.chunk);
}

static void check_devno(const char *s)
{
	uint32_t major, minor, ma, mi;
	char line[32];

	if (dm_parse_devno(s, &major, &minor))
		return;
	REQUIRE(major <= 0xfff && minor <= 0xfffff);
	snprintf(line, sizeof line, "%u:%u", major, minor);
	REQUIRE(dm_parse_devno(line, &ma, &mi) == 0 && ma == major && mi == minor);
	dm_decode_dev(dm_encode_dev(major, minor), &ma, &mi);
	REQUIRE(ma == major && mi == minor);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	char *s = fuzz_text(data, size);

	check_status(s);
	check_table(s);
	check_devno(s);
	free(s);
	return 0;
}
