/*
 * dm_ioctl.h - the device-mapper ioctl ABI (interface version 4) and a thin
 * layer over /dev/mapper/control.
 *
 * Written from the kernel's documented ABI so that musl-gcc builds need no
 * kernel headers.  Everything here returns -errno and never prints or exits:
 * the caller decides what to say.
 */
#ifndef DM_IOCTL_H
#define DM_IOCTL_H

#include <stddef.h>
#include <stdint.h>
#include <sys/ioctl.h>

#define DM_NAME_LEN       128  /* name bytes including the NUL */
#define DM_UUID_LEN       129  /* uuid bytes including the NUL */
#define DM_MAX_TYPE_NAME  16   /* target type bytes including the NUL */
#define DM_DIR            "/dev/mapper"
#define DM_CONTROL_PATH   DM_DIR "/control"
#define DM_CONTROL_MAJOR  10
#define DM_CONTROL_MINOR  236

#define DM_VERSION_MAJOR  4    /* the kernel refuses any other major */
#define DM_VERSION_MINOR  0
#define DM_VERSION_PATCH  0

/* Header of every ioctl; variable data follows at data_start. */
struct dm_ioctl {
	uint32_t version[3];   /* in: what we speak; out: the kernel's */
	uint32_t data_size;    /* whole buffer, this header included */
	uint32_t data_start;   /* offset of the data from this header */
	uint32_t target_count;
	int32_t open_count;
	uint32_t flags;
	uint32_t event_nr;
	uint32_t padding;
	uint64_t dev;          /* huge-encoded dev_t */
	char name[DM_NAME_LEN];
	char uuid[DM_UUID_LEN];
	char data[7];          /* pads the header to 312 bytes */
};

/* One target: in TABLE_LOAD its parameter string follows it. */
struct dm_target_spec {
	uint64_t sector_start;
	uint64_t length;
	int32_t status;
	/*
	 * TABLE_LOAD: offset of the next spec from this one.
	 * TABLE_STATUS reply: offset of the next spec from the data start.
	 */
	uint32_t next;
	char target_type[DM_MAX_TYPE_NAME];
};

/* TABLE_DEPS reply. */
struct dm_target_deps {
	uint32_t count;
	uint32_t padding;
	uint64_t dev[];
};

/* LIST_DEVICES reply record; next is relative to this record, 0 at the end. */
struct dm_name_list {
	uint64_t dev;          /* 0 in the first record: no devices */
	uint32_t next;
	char name[];
};

/* TARGET_MSG request: the message follows the sector. */
struct dm_target_msg {
	uint64_t sector;
	char message[];
};

/* LIST_VERSIONS reply record; next is relative to this record, 0 at the end. */
struct dm_target_versions {
	uint32_t next;
	uint32_t version[3];
	char name[];
};

enum dm_cmd {
	DM_VERSION_CMD = 0,
	DM_REMOVE_ALL_CMD,
	DM_LIST_DEVICES_CMD,
	DM_DEV_CREATE_CMD,
	DM_DEV_REMOVE_CMD,
	DM_DEV_RENAME_CMD,
	DM_DEV_SUSPEND_CMD,
	DM_DEV_STATUS_CMD,
	DM_DEV_WAIT_CMD,
	DM_TABLE_LOAD_CMD,
	DM_TABLE_CLEAR_CMD,
	DM_TABLE_DEPS_CMD,
	DM_TABLE_STATUS_CMD,
	DM_LIST_VERSIONS_CMD,
	DM_TARGET_MSG_CMD,
	DM_DEV_SET_GEOMETRY_CMD,
	DM_DEV_ARM_POLL_CMD,
	DM_GET_TARGET_VERSION_CMD,  /* interface 4.41 */
};

#define DM_IOCTL_TYPE 0xfd
#define DM_IOCTL_REQUEST(cmd) _IOWR(DM_IOCTL_TYPE, (cmd), struct dm_ioctl)

#define DM_READONLY_FLAG               (1u << 0)
#define DM_SUSPEND_FLAG                (1u << 1)
#define DM_PERSISTENT_DEV_FLAG         (1u << 3)
#define DM_STATUS_TABLE_FLAG           (1u << 4)
#define DM_ACTIVE_PRESENT_FLAG         (1u << 5)
#define DM_INACTIVE_PRESENT_FLAG       (1u << 6)
#define DM_BUFFER_FULL_FLAG            (1u << 8)
#define DM_SKIP_LOCKFS_FLAG            (1u << 10)
#define DM_NOFLUSH_FLAG                (1u << 11)
#define DM_QUERY_INACTIVE_TABLE_FLAG   (1u << 12)
#define DM_UEVENT_GENERATED_FLAG       (1u << 13)
#define DM_UUID_FLAG                   (1u << 14)
#define DM_DATA_OUT_FLAG               (1u << 16)
#define DM_DEFERRED_REMOVE_FLAG        (1u << 17)

#define DM_NAME_LIST_FLAG_HAS_UUID     1u

/*
 * The udev cookie sent with resume and remove (the kernel passes it to the
 * uevent as DM_COOKIE).  Its high half says "libdevmapper-style event, no
 * one waits on a semaphore", as dmsetup --noudevsync sends it; with a bare 0
 * udev's dm rules treat a coldplug as a device not ready and drop its
 * /dev/mapper link.
 */
#define DM_UDEV_DISABLE_LIBRARY_FALLBACK 0x0020u
#define DM_UDEV_PRIMARY_SOURCE_FLAG      0x0040u
#define DM_UDEV_FLAGS_SHIFT              16
#define DM_UDEV_COOKIE ((DM_UDEV_PRIMARY_SOURCE_FLAG | DM_UDEV_DISABLE_LIBRARY_FALLBACK) << DM_UDEV_FLAGS_SHIFT)

/* Sectors are 512 bytes whatever the device's block size. */
#define DM_SECTOR_SHIFT 9

/* ---- decoded forms ---- */

/* One table line: start length type params. */
struct dm_target {
	uint64_t start;
	uint64_t length;
	char type[DM_MAX_TYPE_NAME];
	const char *params;    /* points into a line or a reply */
};

/* What DEV_STATUS (and most replies) say about a device. */
struct dm_info {
	char name[DM_NAME_LEN];
	char uuid[DM_UUID_LEN];
	uint32_t major, minor;
	uint32_t flags;        /* DM_*_FLAG as the kernel returned them */
	uint32_t event_nr;
	uint32_t target_count;
	int32_t open_count;
};

struct dm_name {
	const char *name;
	uint32_t major, minor;
};

struct dm_version {
	const char *name;
	uint32_t version[3];
};

/* A reply of variable size, owned by the caller: dm_reply_free(). */
struct dm_reply {
	struct dm_ioctl *io;
	size_t size;           /* bytes allocated: io->data_size is not trusted */
	size_t pos;            /* iterator state for dm_next_*(), from data_start */
	uint32_t seen;         /* records returned so far */
	int done;
};

/* ---- pure functions: no kernel, testable on the host ---- */

/*
 * A name or uuid dmsnap makes or takes: the kernel's rules and printable
 * ASCII without blanks.  Requests take any name the kernel does.
 */
int dm_check_name(const char *name);
int dm_check_uuid(const char *uuid);
int dm_parse_line(char *line, struct dm_target *t);
long dm_encode_targets(char *buf, size_t cap, const struct dm_target *t, size_t n);
int dm_next_target(struct dm_reply *r, struct dm_target *t);
int dm_next_name(struct dm_reply *r, struct dm_name *n);
int dm_next_version(struct dm_reply *r, struct dm_version *v);
int dm_deps_count(const struct dm_reply *r, uint32_t *count);
uint64_t dm_deps_dev(const struct dm_reply *r, uint32_t i);
void dm_decode_dev(uint64_t dev, uint32_t *major, uint32_t *minor);
uint64_t dm_encode_dev(uint32_t major, uint32_t minor);
void dm_info_from(const struct dm_ioctl *io, struct dm_info *info);
const char *dm_cmd_name(enum dm_cmd cmd);
int dm_parse_devno(const char *s, uint32_t *major, uint32_t *minor);
void dm_reply_free(struct dm_reply *r);
/* A TARGET_MSG reply's answer, NULL if the target gave none (or the reply lies). */
const char *dm_msg_response(const struct dm_reply *r);

/* ---- one function per ioctl; fd is from dm_open_control() ---- */

int dm_open_control(void);
int dm_get_version(int fd, uint32_t version[3]);
int dm_create(int fd, const char *name, const char *uuid, struct dm_info *info);
int dm_remove(int fd, const char *name, int deferred);
int dm_suspend(int fd, const char *name, uint32_t flags);
int dm_resume(int fd, const char *name, struct dm_info *info);
/* flags: DM_SKIP_LOCKFS_FLAG, DM_NOFLUSH_FLAG, for the suspend a table swap needs. */
int dm_resume_flags(int fd, const char *name, uint32_t flags, struct dm_info *info);
int dm_load(int fd, const char *name, const struct dm_target *t, size_t n, int readonly);
int dm_clear(int fd, const char *name);
int dm_get_info(int fd, const char *name, struct dm_info *info);
int dm_get_table(int fd, const char *name, uint32_t flags, struct dm_reply *r);
int dm_get_deps(int fd, const char *name, uint32_t flags, struct dm_reply *r);
int dm_list_devices(int fd, struct dm_reply *r);
/* Every registered target type, or with type one (the kernel loads its module). */
int dm_list_versions(int fd, const char *type, struct dm_reply *r);
int dm_wait_event(int fd, const char *name, uint32_t event_nr, struct dm_info *info);
/* DEV_STATUS of the device with this uuid or, with uuid NULL, this huge-encoded dev. */
int dm_get_info_by(int fd, const char *uuid, uint64_t dev, struct dm_info *info);
/* New name, or with set_uuid the uuid of a device that has none. */
int dm_rename(int fd, const char *name, const char *new, int set_uuid, struct dm_info *info);
/* geometry: "CYLINDERS HEADS SECTORS START", as the kernel parses it. */
int dm_set_geometry(int fd, const char *name, const char *geometry);
int dm_target_msg(int fd, const char *name, uint64_t sector, const char *msg, struct dm_reply *r);
/* Removes every device nobody has open; flags: DM_DEFERRED_REMOVE_FLAG or 0. */
int dm_remove_all(int fd, uint32_t flags);

/*
 * Tests only (dmsnap-faults sets it): called before every ioctl; a non-zero
 * return (-errno) fails that ioctl without issuing it.
 */
extern int (*dm_ioctl_hook)(enum dm_cmd cmd, const char *name);

#endif
