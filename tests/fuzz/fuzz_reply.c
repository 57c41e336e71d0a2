/*
 * fuzz_reply.c - the input is a kernel reply: struct dm_ioctl, then data.
 * It is walked as TABLE_STATUS targets, LIST_DEVICES names, LIST_VERSIONS
 * records and TABLE_DEPS, each from a fresh iterator.  ASan watches every
 * read (the buffer is exactly the input's size); the walk must end within one
 * step per byte, and whatever it returns must lie inside the data.
 *
 * The first input byte is not part of the reply: bit 0 forces data_start to
 * the header size and bit 1 data_size to the buffer size, so that the fuzzer
 * also spends its time past the header checks.
 */
#include <errno.h>

#include "../../dm_ioctl.h"
#include "fuzz.h"

struct buf {
	const char *base;      /* the header */
	size_t start, end;     /* data_start and data_size, as the header says */
	size_t steps;          /* a walk that takes more is looping */
};

static void check_inside(const struct buf *b, const char *s)
{
	size_t at = (size_t)(s - b->base);

	REQUIRE(at >= b->start && at < b->end);
	REQUIRE(memchr(s, '\0', b->end - at) != NULL);
}

static void walk_targets(struct dm_ioctl *io, size_t size, const struct buf *b)
{
	struct dm_reply r = { .io = io, .size = size };
	struct dm_target t;
	const char *prev_end = NULL;
	size_t steps = 0;
	int ret;

	while ((ret = dm_next_target(&r, &t)) == 1) {
		REQUIRE(++steps <= b->steps);
		REQUIRE(memchr(t.type, '\0', sizeof t.type));
		check_inside(b, t.params);
		/* Each spec starts after the previous one's params: no record read out of another. */
		REQUIRE(!prev_end || t.params - sizeof(struct dm_target_spec) >= prev_end);
		prev_end = t.params + strlen(t.params) + 1;
	}
	REQUIRE(ret == 0 || ret == -EPROTO);
}

static void walk_names(struct dm_ioctl *io, size_t size, const struct buf *b)
{
	struct dm_reply r = { .io = io, .size = size };
	struct dm_name n;
	size_t steps = 0;
	int ret;

	while ((ret = dm_next_name(&r, &n)) == 1) {
		REQUIRE(++steps <= b->steps);
		REQUIRE(n.major <= 0xfff && n.minor <= 0xfffff);
		check_inside(b, n.name);
	}
	REQUIRE(ret == 0 || ret == -EPROTO);
}

static void walk_versions(struct dm_ioctl *io, size_t size, const struct buf *b)
{
	struct dm_reply r = { .io = io, .size = size };
	struct dm_version v;
	size_t steps = 0;
	int ret;

	while ((ret = dm_next_version(&r, &v)) == 1) {
		REQUIRE(++steps <= b->steps);
		check_inside(b, v.name);
	}
	REQUIRE(ret == 0 || ret == -EPROTO);
}

static void walk_deps(struct dm_ioctl *io, size_t size)
{
	struct dm_reply r = { .io = io, .size = size };
	uint32_t count, major, minor;

	if (dm_deps_count(&r, &count))
		return;
	/* A reply without payload (no table) has no dm_target_deps: count 0. */
	REQUIRE(count == 0 || io->data_size - io->data_start >= 8 + (uint64_t)count * 8);
	for (uint32_t i = 0; i < count; i++) {
		dm_decode_dev(dm_deps_dev(&r, i), &major, &minor);
		REQUIRE(major <= 0xfff && minor <= 0xfffff);
	}
}

static void check_info(const struct dm_ioctl *io)
{
	struct dm_info info;

	dm_info_from(io, &info);
	REQUIRE(strlen(info.name) < DM_NAME_LEN && strlen(info.uuid) < DM_UUID_LEN);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	struct dm_ioctl *io;
	struct buf b = { .base = NULL };
	uint8_t mode;

	if (size == 0)
		return 0;
	mode = data[0];
	data++, size--;
	io = malloc(size ? size : 1);
	if (!io)
		abort();
	memcpy(io, data, size);
	b.base = (const char *)io;
	if (size >= sizeof *io) {
		if (mode & 1)
			io->data_start = sizeof *io;
		if (mode & 2)
			io->data_size = (uint32_t)size;
		check_info(io);
		/* Only meaningful where the decoders accept the header; elsewhere nothing may be returned. */
		b.start = io->data_start;
		b.end = io->data_size;
		b.steps = size;
	}
	walk_targets(io, size, &b);
	walk_names(io, size, &b);
	walk_versions(io, size, &b);
	walk_deps(io, size);
	free(io);
	return 0;
}
