/*
 * lock.h - one dmsnap workflow at a time.  Every workflow that changes the
 * kernel's state holds an flock on /dev/mapper/control from its look to its
 * last switch: the node exists wherever dmsnap works (an initramfs without
 * /run included), and the kernel drops the lock when its holder dies, so no
 * stale lock file is ever left behind.
 *
 * Convention: 0 or -errno, never printing.
 */
#ifndef DMSNAP_LOCK_H
#define DMSNAP_LOCK_H

#include <sys/types.h>

/* fd: the control file's.  0 when taken, -EWOULDBLOCK while another process holds it. */
int lock_try(int fd, int shared);
void lock_release(int fd);
/* Who holds the lock on fd's file, from /proc/locks; 0 when it cannot tell. */
pid_t lock_holder(int fd);
/* That process's command line, blanks for NULs, in buf. */
void process_command(pid_t pid, char *buf, size_t size);

#endif
