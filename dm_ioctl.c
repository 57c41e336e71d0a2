/*
 * dm_ioctl.c - the kernel boundary: encode requests, decode replies, one
 * function per ioctl.  Returns -errno, never prints, never exits.
 *
 * Replies are input: every offset the kernel hands back is checked against
 * the buffer before it is followed.
 */
#define _GNU_SOURCE
#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/sysmacros.h>
#include <unistd.h>

#include "dm_ioctl.h"
#include "util.h"

_Static_assert(sizeof(struct dm_ioctl) == 312, "dm_ioctl ABI size");
_Static_assert(sizeof(struct dm_target_spec) == 40, "dm_target_spec ABI size");

#define REPLY_FIRST_SIZE (16u * 1024)
#define REPLY_MAX_SIZE   (64u * 1024 * 1024)
#define ALIGN8(x)        (((x) + 7) & ~(size_t)7)

int (*dm_ioctl_hook)(enum dm_cmd cmd, const char *name);

/* ---- pure helpers ---- */

/*
 * Names end up as /dev/mapper nodes and in line-based output: besides the
 * kernel's rules (length, no '/') the names dmsnap makes or is given
 * (strict) refuse blanks and anything unprintable.  A request itself
 * names whatever the kernel takes, so that dmsetup's spelling reaches
 * every device (its mangle renames exactly those).
 */
static int check_label(const char *s, size_t max, int strict)
{
	size_t n = strnlen(s, max);

	if (n == max)
		return -ENAMETOOLONG;
	for (const unsigned char *p = (const unsigned char *)s; *p; p++)
		if ((strict && (*p <= ' ' || *p >= 0x7f)) || *p == '/')
			return -EINVAL;
	return 0;
}

static int check_name(const char *name, int strict)
{
	if (!name || !*name || !strcmp(name, ".") || !strcmp(name, "..") || !strcmp(name, "control"))
		return -EINVAL;
	return check_label(name, DM_NAME_LEN, strict);
}

int dm_check_name(const char *name)
{
	return check_name(name, 1);
}

int dm_check_uuid(const char *uuid)
{
	return check_label(uuid, DM_UUID_LEN, 1);
}

static char *skip_blanks(char *s)
{
	while (*s == ' ' || *s == '\t')
		s++;
	return s;
}

/* "start length type [params]"; params may be empty.  Modifies line. */
int dm_parse_line(char *line, struct dm_target *t)
{
	char *p = skip_blanks(line), *end;
	int r;

	line[strcspn(line, "\n")] = '\0';
	if ((r = parse_u64(p, &end, &t->start)) || (*end != ' ' && *end != '\t'))
		return r ? r : -EINVAL;
	p = skip_blanks(end);
	if ((r = parse_u64(p, &end, &t->length)) || (*end != ' ' && *end != '\t'))
		return r ? r : -EINVAL;
	if (t->length == 0 || t->start > UINT64_MAX - t->length)
		return -ERANGE;
	p = skip_blanks(end);
	size_t n = strcspn(p, " \t");
	if (n == 0)
		return -EINVAL;
	if (n >= DM_MAX_TYPE_NAME)
		return -ENAMETOOLONG;
	memcpy(t->type, p, n);
	t->type[n] = '\0';
	t->params = skip_blanks(p + n);
	return 0;
}

/* TABLE_LOAD payload: specs back to back, each followed by its parameters. */
long dm_encode_targets(char *buf, size_t cap, const struct dm_target *t, size_t n)
{
	size_t off = 0;

	for (size_t i = 0; i < n; i++) {
		size_t plen = strlen(t[i].params) + 1;
		size_t rec = ALIGN8(sizeof(struct dm_target_spec) + plen);
		struct dm_target_spec spec = {
			.sector_start = t[i].start,
			.length = t[i].length,
			.next = (uint32_t)rec,
		};

		if (strnlen(t[i].type, DM_MAX_TYPE_NAME) == DM_MAX_TYPE_NAME)
			return -ENAMETOOLONG;
		if (rec > UINT32_MAX || rec > cap - off || off > LONG_MAX - rec)
			return -ENOSPC;
		strcpy(spec.target_type, t[i].type);
		memset(buf + off, 0, rec);
		memcpy(buf + off, &spec, sizeof spec);
		memcpy(buf + off + sizeof spec, t[i].params, plen);
		off += rec;
	}
	return (long)off;
}

/* Does the header fit in the buffer and frame data inside it? */
static int reply_ok(const struct dm_reply *r)
{
	const struct dm_ioctl *io = r->io;

	return r->size >= sizeof *io && io->data_start >= sizeof *io && io->data_start <= r->size &&
	       io->data_size <= r->size;
}

/*
 * Bytes of data the reply really holds, or 0 if its header lies.  The
 * kernel sets data_size to the header's end before each command and raises
 * it only when it writes a payload: data_size below data_start is "none"
 * (a device without a table, for instance).
 */
static size_t reply_data_size(const struct dm_reply *r)
{
	const struct dm_ioctl *io = r->io;

	return reply_ok(r) && io->data_size > io->data_start ? io->data_size - io->data_start : 0;
}

static const char *reply_data(const struct dm_reply *r)
{
	return (const char *)r->io + r->io->data_start;
}

/* Is there a NUL in data[from, len)? */
static int has_nul(const char *data, size_t from, size_t len)
{
	return from < len && memchr(data + from, '\0', len - from) != NULL;
}

/* TABLE_STATUS reply: returns 1 and fills t, 0 at the end, -EPROTO if malformed. */
int dm_next_target(struct dm_reply *r, struct dm_target *t)
{
	size_t len = reply_data_size(r), end;
	const char *data;
	struct dm_target_spec spec;

	if (r->done)
		return 0;
	if (!reply_ok(r))
		return -EPROTO;
	if (r->seen >= r->io->target_count)
		return 0;
	data = reply_data(r);
	if (r->pos > len || len - r->pos < sizeof spec)
		return -EPROTO;
	memcpy(&spec, data + r->pos, sizeof spec);
	if (!memchr(spec.target_type, '\0', sizeof spec.target_type) ||
	    !has_nul(data, r->pos + sizeof spec, len))
		return -EPROTO;
	t->start = spec.sector_start;
	t->length = spec.length;
	strcpy(t->type, spec.target_type);
	t->params = data + r->pos + sizeof spec;
	end = r->pos + sizeof spec + strlen(t->params) + 1;
	r->seen++;
	/* next counts from the data start; it must move past this record or we would loop
	 * or read a spec out of these params. */
	if (r->seen < r->io->target_count && spec.next < end)
		return -EPROTO;
	r->pos = spec.next;
	return 1;
}

/* LIST_DEVICES reply: returns 1 and fills n, 0 at the end, -EPROTO if malformed. */
int dm_next_name(struct dm_reply *r, struct dm_name *n)
{
	size_t len = reply_data_size(r);
	const char *data;
	struct dm_name_list rec;

	if (r->done)
		return 0;
	if (!reply_ok(r))
		return -EPROTO;
	/* No devices: the kernel sets data_size to data_start, its "dev = 0" record lies past it. */
	if (r->pos == 0 && len == 0) {
		r->done = 1;
		return 0;
	}
	data = reply_data(r);
	if (r->pos > len || len - r->pos < sizeof rec)
		return -EPROTO;
	memcpy(&rec, data + r->pos, sizeof rec);
	if (r->pos == 0 && rec.dev == 0) {  /* the kernel's "no devices" */
		r->done = 1;
		return 0;
	}
	if (!has_nul(data, r->pos + offsetof(struct dm_name_list, name), len) ||
	    rec.next > len - r->pos)
		return -EPROTO;
	n->name = data + r->pos + offsetof(struct dm_name_list, name);
	dm_decode_dev(rec.dev, &n->major, &n->minor);
	r->seen++;
	r->done = rec.next == 0;
	r->pos += rec.next;
	return 1;
}

/* LIST_VERSIONS reply: returns 1 and fills v, 0 at the end, -EPROTO if malformed. */
int dm_next_version(struct dm_reply *r, struct dm_version *v)
{
	size_t len = reply_data_size(r);
	const char *data;
	struct dm_target_versions rec;

	if (r->done)
		return 0;
	if (!reply_ok(r))
		return -EPROTO;
	if (r->pos == 0 && len == 0)
		return 0;
	data = reply_data(r);
	if (r->pos > len || len - r->pos < sizeof rec ||
	    !has_nul(data, r->pos + offsetof(struct dm_target_versions, name), len))
		return -EPROTO;
	memcpy(&rec, data + r->pos, sizeof rec);
	if (rec.next > len - r->pos)
		return -EPROTO;
	v->name = data + r->pos + offsetof(struct dm_target_versions, name);
	memcpy(v->version, rec.version, sizeof v->version);
	r->seen++;
	r->done = rec.next == 0;
	r->pos += rec.next;
	return 1;
}

int dm_deps_count(const struct dm_reply *r, uint32_t *count)
{
	struct dm_target_deps deps;
	size_t len = reply_data_size(r);

	if (!reply_ok(r))
		return -EPROTO;
	if (len == 0) {  /* no table, no payload */
		*count = 0;
		return 0;
	}
	if (len < sizeof deps)
		return -EPROTO;
	memcpy(&deps, reply_data(r), sizeof deps);
	if (deps.count > (len - sizeof deps) / sizeof(uint64_t))
		return -EPROTO;
	*count = deps.count;
	return 0;
}

/* Only after dm_deps_count() vouched for i < count. */
uint64_t dm_deps_dev(const struct dm_reply *r, uint32_t i)
{
	uint64_t dev;

	memcpy(&dev, reply_data(r) + sizeof(struct dm_target_deps) + i * sizeof dev, sizeof dev);
	return dev;
}

/* The kernel's huge_encode_dev: minor's low byte, major, then the rest of minor. */
void dm_decode_dev(uint64_t dev, uint32_t *major, uint32_t *minor)
{
	*major = (uint32_t)((dev & 0xfff00) >> 8);
	*minor = (uint32_t)((dev & 0xff) | ((dev >> 12) & 0xfff00));
}

uint64_t dm_encode_dev(uint32_t major, uint32_t minor)
{
	return (minor & 0xff) | ((uint64_t)major << 8) | ((uint64_t)(minor & ~0xffu) << 12);
}

void dm_info_from(const struct dm_ioctl *io, struct dm_info *info)
{
	memcpy(info->name, io->name, sizeof info->name);
	info->name[DM_NAME_LEN - 1] = '\0';
	memcpy(info->uuid, io->uuid, sizeof info->uuid);
	info->uuid[DM_UUID_LEN - 1] = '\0';
	dm_decode_dev(io->dev, &info->major, &info->minor);
	info->flags = io->flags;
	info->event_nr = io->event_nr;
	info->target_count = io->target_count;
	info->open_count = io->open_count;
}

const char *dm_cmd_name(enum dm_cmd cmd)
{
	/* in enum dm_cmd's order, the last one's name then "DM_UNKNOWN" for anything past it */
	const char *name = "DM_VERSION\0DM_REMOVE_ALL\0DM_LIST_DEVICES\0DM_DEV_CREATE\0"
			   "DM_DEV_REMOVE\0DM_DEV_RENAME\0DM_DEV_SUSPEND\0DM_DEV_STATUS\0"
			   "DM_DEV_WAIT\0DM_TABLE_LOAD\0DM_TABLE_CLEAR\0DM_TABLE_DEPS\0"
			   "DM_TABLE_STATUS\0DM_LIST_VERSIONS\0DM_TARGET_MSG\0DM_DEV_SET_GEOMETRY\0DM_UNKNOWN";

	return nth_string(name, (unsigned)cmd < DM_DEV_SET_GEOMETRY_CMD + 1 ? cmd : DM_DEV_SET_GEOMETRY_CMD + 1);
}

int dm_parse_devno(const char *s, uint32_t *major, uint32_t *minor)
{
	char *end;
	uint64_t ma, mi;

	if (parse_u64(s, &end, &ma) || *end != ':' || parse_u64(end + 1, &end, &mi) || *end)
		return -EINVAL;
	if (ma > 0xfff || mi > 0xfffff)
		return -ERANGE;
	*major = (uint32_t)ma;
	*minor = (uint32_t)mi;
	return 0;
}

void dm_reply_free(struct dm_reply *r)
{
	free(r->io);
	memset(r, 0, sizeof *r);
}

const char *dm_msg_response(const struct dm_reply *r)
{
	size_t len = reply_data_size(r);

	if (!len || !(r->io->flags & DM_DATA_OUT_FLAG) || !has_nul(reply_data(r), 0, len))
		return NULL;
	return reply_data(r);
}

/* ---- the ioctls ---- */

/* Zero, version, sizes and name: every request starts here. */
static int prepare(struct dm_ioctl *io, size_t size, const char *name)
{
	memset(io, 0, size);
	io->version[0] = DM_VERSION_MAJOR;
	io->version[1] = DM_VERSION_MINOR;
	io->version[2] = DM_VERSION_PATCH;
	io->data_size = (uint32_t)size;
	io->data_start = sizeof *io;
	if (name) {
		int r = check_name(name, 0);
		if (r)
			return r;
		strcpy(io->name, name);
	}
	return 0;
}

static int call(int fd, enum dm_cmd cmd, struct dm_ioctl *io)
{
	if (dm_ioctl_hook) {
		int r = dm_ioctl_hook(cmd, io->name);
		if (r)
			return r;
	}
	return ioctl(fd, DM_IOCTL_REQUEST(cmd), io) < 0 ? -errno : 0;
}

/* A command with a fixed-size request and no payload. */
static int call_simple(int fd, enum dm_cmd cmd, const char *name, uint32_t flags,
		       uint32_t event_nr, struct dm_info *info)
{
	struct dm_ioctl io;
	int r = prepare(&io, sizeof io, name);

	if (r)
		return r;
	io.flags = flags;
	io.event_nr = event_nr;
	if ((r = call(fd, cmd, &io)))
		return r;
	if (info)
		dm_info_from(&io, info);
	return 0;
}

/*
 * A command whose reply has variable size: grow while the kernel says
 * BUFFER_FULL.  The request's payload (len bytes, or none) goes at data_start.
 */
static int call_payload(int fd, enum dm_cmd cmd, const char *name, uint32_t flags, const void *payload,
			size_t len, struct dm_reply *out)
{
	memset(out, 0, sizeof *out);
	if (len > REPLY_MAX_SIZE / 2)
		return -E2BIG;
	for (size_t size = REPLY_FIRST_SIZE; size <= REPLY_MAX_SIZE; size *= 2) {
		struct dm_ioctl *io;
		int r;

		if (size < sizeof *io + len)
			continue;
		if (!(io = calloc(1, size)))
			return -ENOMEM;
		if ((r = prepare(io, size, name)) == 0) {
			io->flags = flags;
			if (len)
				memcpy(io + 1, payload, len);
			r = call(fd, cmd, io);
		}
		if (r) {
			free(io);
			return r;
		}
		if (!(io->flags & DM_BUFFER_FULL_FLAG)) {
			out->io = io;
			out->size = size;
			return 0;
		}
		free(io);
	}
	return -ENOBUFS;
}

static int call_growing(int fd, enum dm_cmd cmd, const char *name, uint32_t flags, struct dm_reply *out)
{
	return call_payload(fd, cmd, name, flags, NULL, 0, out);
}

/* A command whose payload is one string and whose reply is not kept. */
static int call_string(int fd, enum dm_cmd cmd, const char *name, uint32_t flags, const char *str,
		       struct dm_info *info)
{
	struct dm_reply rep;
	int r = call_payload(fd, cmd, name, flags, str, strlen(str) + 1, &rep);

	if (r == 0 && info)
		dm_info_from(rep.io, info);
	dm_reply_free(&rep);
	return r;
}

int dm_open_control(void)
{
	int fd = open(DM_CONTROL_PATH, O_RDWR | O_CLOEXEC);

	/* Without udev nobody makes the control node: make it ourselves. */
	if (fd < 0 && errno == ENOENT) {
		if (mkdir(DM_DIR, 0755) < 0 && errno != EEXIST)
			return -errno;
		if (mknod(DM_CONTROL_PATH, S_IFCHR | 0600, makedev(DM_CONTROL_MAJOR, DM_CONTROL_MINOR)) < 0 &&
		    errno != EEXIST)
			return -errno;
		fd = open(DM_CONTROL_PATH, O_RDWR | O_CLOEXEC);
	}
	return fd < 0 ? -errno : fd;
}

int dm_get_version(int fd, uint32_t version[3])
{
	struct dm_ioctl io;
	int r;

	prepare(&io, sizeof io, NULL);
	if ((r = call(fd, DM_VERSION_CMD, &io)))
		return r;
	memcpy(version, io.version, sizeof io.version);
	return version[0] == DM_VERSION_MAJOR ? 0 : -EPROTO;
}

int dm_create(int fd, const char *name, const char *uuid, struct dm_info *info)
{
	struct dm_ioctl io;
	int r = prepare(&io, sizeof io, name);

	if (r)
		return r;
	if (uuid && *uuid) {
		if ((r = dm_check_uuid(uuid)))
			return r;
		strcpy(io.uuid, uuid);
	}
	if ((r = call(fd, DM_DEV_CREATE_CMD, &io)))
		return r;
	if (info)
		dm_info_from(&io, info);
	return 0;
}

int dm_remove(int fd, const char *name, int deferred)
{
	return call_simple(fd, DM_DEV_REMOVE_CMD, name, deferred ? DM_DEFERRED_REMOVE_FLAG : 0, DM_UDEV_COOKIE,
			   NULL);
}

int dm_suspend(int fd, const char *name, uint32_t flags)
{
	return call_simple(fd, DM_DEV_SUSPEND_CMD, name, flags | DM_SUSPEND_FLAG, 0, NULL);
}

int dm_resume(int fd, const char *name, struct dm_info *info)
{
	return dm_resume_flags(fd, name, 0, info);
}

int dm_resume_flags(int fd, const char *name, uint32_t flags, struct dm_info *info)
{
	return call_simple(fd, DM_DEV_SUSPEND_CMD, name, flags & ~DM_SUSPEND_FLAG, DM_UDEV_COOKIE, info);
}

int dm_load(int fd, const char *name, const struct dm_target *t, size_t n, int readonly)
{
	size_t cap = sizeof(struct dm_ioctl);
	struct dm_ioctl *io;
	long len;
	int r;

	for (size_t i = 0; i < n; i++) {
		size_t rec = ALIGN8(sizeof(struct dm_target_spec) + strlen(t[i].params) + 1);
		if (rec > REPLY_MAX_SIZE - cap)
			return -E2BIG;
		cap += rec;
	}
	if (n > UINT32_MAX)
		return -E2BIG;
	if (!(io = calloc(1, cap)))
		return -ENOMEM;
	if ((r = prepare(io, cap, name)) == 0) {
		len = dm_encode_targets((char *)io + sizeof *io, cap - sizeof *io, t, n);
		if (len < 0)
			r = (int)len;
	}
	if (r == 0) {
		io->target_count = (uint32_t)n;
		io->flags = readonly ? DM_READONLY_FLAG : 0;
		r = call(fd, DM_TABLE_LOAD_CMD, io);
	}
	free(io);
	return r;
}

int dm_clear(int fd, const char *name)
{
	return call_simple(fd, DM_TABLE_CLEAR_CMD, name, 0, 0, NULL);
}

int dm_get_info(int fd, const char *name, struct dm_info *info)
{
	return call_simple(fd, DM_DEV_STATUS_CMD, name, 0, 0, info);
}

/* flags: DM_STATUS_TABLE_FLAG for the table instead of the status,
 * DM_QUERY_INACTIVE_TABLE_FLAG for the inactive slot. */
int dm_get_table(int fd, const char *name, uint32_t flags, struct dm_reply *r)
{
	return call_growing(fd, DM_TABLE_STATUS_CMD, name, flags, r);
}

int dm_get_deps(int fd, const char *name, uint32_t flags, struct dm_reply *r)
{
	return call_growing(fd, DM_TABLE_DEPS_CMD, name, flags, r);
}

int dm_list_devices(int fd, struct dm_reply *r)
{
	return call_growing(fd, DM_LIST_DEVICES_CMD, NULL, 0, r);
}

int dm_list_versions(int fd, const char *type, struct dm_reply *r)
{
	return call_growing(fd, type ? DM_GET_TARGET_VERSION_CMD : DM_LIST_VERSIONS_CMD, type, 0, r);
}

/* Blocks until the device's event counter moves past event_nr; EINTR on a signal. */
int dm_wait_event(int fd, const char *name, uint32_t event_nr, struct dm_info *info)
{
	return call_simple(fd, DM_DEV_WAIT_CMD, name, 0, event_nr, info);
}

int dm_get_info_by(int fd, const char *uuid, uint64_t dev, struct dm_info *info)
{
	struct dm_ioctl io;
	int r;

	prepare(&io, sizeof io, NULL);
	if (uuid) {
		if (strnlen(uuid, DM_UUID_LEN) == DM_UUID_LEN)
			return -ENAMETOOLONG;
		strcpy(io.uuid, uuid);
	}
	io.dev = uuid ? 0 : dev;
	if ((r = call(fd, DM_DEV_STATUS_CMD, &io)))
		return r;
	dm_info_from(&io, info);
	return 0;
}

int dm_rename(int fd, const char *name, const char *new, int set_uuid, struct dm_info *info)
{
	int r = set_uuid ? dm_check_uuid(new) : check_name(new, 0);

	return r ? r : call_string(fd, DM_DEV_RENAME_CMD, name, set_uuid ? DM_UUID_FLAG : 0, new, info);
}

int dm_set_geometry(int fd, const char *name, const char *geometry)
{
	return call_string(fd, DM_DEV_SET_GEOMETRY_CMD, name, 0, geometry, NULL);
}

int dm_target_msg(int fd, const char *name, uint64_t sector, const char *msg, struct dm_reply *r)
{
	size_t len = strlen(msg) + 1;
	struct dm_target_msg *m = malloc(sizeof *m + len);
	int ret;

	if (!m)
		return -ENOMEM;
	m->sector = sector;
	memcpy(m->message, msg, len);
	ret = call_payload(fd, DM_TARGET_MSG_CMD, name, 0, m, sizeof *m + len, r);
	free(m);
	return ret;
}

int dm_remove_all(int fd, uint32_t flags)
{
	return call_simple(fd, DM_REMOVE_ALL_CMD, NULL, flags, 0, NULL);
}
