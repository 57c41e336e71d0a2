/*
 * lock.c - one dmsnap workflow at a time (lock.h).
 */
#define _GNU_SOURCE
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/file.h>
#include <sys/stat.h>
#include <sys/sysmacros.h>
#include <unistd.h>

#include "lock.h"
#include "util.h"

/*
 * The control node's inode is per /dev (a chroot or a container may make its
 * own); sysfs's node for the device-mapper misc device is one wherever sysfs
 * is mounted.  Both are locked, always in this order, so neither alone lets
 * two dmsnaps through.
 */
#define SYSFS_NODE "/sys/class/misc/device-mapper/dev"

static int sysfs_fd(void)
{
	static int fd = -2;

	if (fd == -2)
		fd = open(SYSFS_NODE, O_RDONLY | O_CLOEXEC);
	return fd;
}

static int flock_nb(int fd, int op)
{
	while (flock(fd, op | LOCK_NB) < 0)
		if (errno != EINTR)
			return -errno;
	return 0;
}

int lock_try(int fd, int shared)
{
	int op = shared ? LOCK_SH : LOCK_EX, r;

	if ((r = flock_nb(fd, op)) < 0)
		return r;
	if (sysfs_fd() >= 0 && (r = flock_nb(sysfs_fd(), op)) < 0)
		flock(fd, LOCK_UN);
	return r;
}

void lock_release(int fd)
{
	if (sysfs_fd() >= 0)
		flock(sysfs_fd(), LOCK_UN);
	flock(fd, LOCK_UN);
}

/* The i-th blank-separated field of *line from where it stands (cut at its end, *line past it), or NULL. */
static char *field(char **line, int i)
{
	char *w = next_word(line, " \t");

	while (w && i-- > 0)
		w = next_word(line, " \t");
	return w;
}

/* "N: FLOCK ADVISORY WRITE PID MAJ:MIN:INODE START END", the device in hex. */
static pid_t holder_in(char *line, const struct stat *st)
{
	char *kind = field(&line, 1), *pid, *id, *end;
	unsigned long long maj, min, ino;
	int over;

	if (!kind || strcmp(kind, "FLOCK") || !(pid = field(&line, 2)) || !(id = field(&line, 0)))
		return 0;
	maj = scan_ull(id, &end, 16, &over);
	if (*end != ':' || (min = scan_ull(end + 1, &end, 16, &over), *end != ':'))
		return 0;
	ino = scan_ull(end + 1, &end, 10, &over);
	if (*end || maj != major(st->st_dev) || min != minor(st->st_dev) || ino != st->st_ino)
		return 0;
	return (pid_t)scan_ull(pid, &end, 10, &over);
}

/* Who holds an flock on fd's file. */
static pid_t holder_of_file(int fd)
{
	struct stat st;
	size_t len;
	pid_t pid = 0;
	int lfd;
	char *text;

	if (fd < 0 || fstat(fd, &st) < 0 || (lfd = open("/proc/locks", O_RDONLY | O_CLOEXEC)) < 0)
		return 0;
	text = read_all(lfd, &len);
	close(lfd);
	for (char *line = text, *next; !pid && line && *line; line = next) {
		if ((next = strchr(line, '\n')))
			*next++ = '\0';
		pid = holder_in(line, &st);
	}
	free(text);
	return pid;
}

pid_t lock_holder(int fd)
{
	pid_t pid = holder_of_file(fd);

	return pid ? pid : holder_of_file(sysfs_fd());
}

void process_command(pid_t pid, char *buf, size_t size)
{
	char path[32];
	int fd;
	ssize_t n;

	snprintf(buf, size, "?");
	snprintf(path, sizeof path, "/proc/%d/cmdline", (int)pid);
	if ((fd = open(path, O_RDONLY | O_CLOEXEC)) < 0)
		return;
	n = read(fd, buf, size - 1);
	close(fd);
	if (n <= 0)
		return;
	for (ssize_t i = 0; i < n; i++)
		if (!buf[i])
			buf[i] = ' ';
	buf[n > 0 && buf[n - 1] == ' ' ? n - 1 : n] = '\0';
}
