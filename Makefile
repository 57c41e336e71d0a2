.POSIX:
# dmsnap: one static binary, built with musl (apt-get install musl-tools).
CC = musl-gcc
CFLAGS = -Os -Wall -Wextra -std=c11 -fno-pie -ffunction-sections -fdata-sections -fno-asynchronous-unwind-tables
LDFLAGS = -static -no-pie -s -Wl,--gc-sections -Wl,-z,noseparate-code -Wl,-z,norelro -Wl,--build-id=none
PREFIX = /usr/local
DESTDIR =
# make install DMSETUP_LINK=1: also sbin/dmsetup -> dmsnap (dmsnap.8, "Invoked as dmsetup").
DMSETUP_LINK =
SRCS = dmsnap.c dmsetup.c snap.c show.c backup.c merge.c world.c device.c window.c cli.c probe.c targets.c dm_ioctl.c lock.c record.c report.c util.c
OBJS = dmsnap.o dmsetup.o snap.o show.o backup.o merge.o world.o device.o window.o cli.o probe.o targets.o dm_ioctl.o lock.o record.o report.o util.o
HDRS = backup.h cli.h device.h dm_ioctl.h dmsetup.h faults.h lock.h merge.h probe.h record.h report.h show.h snap.h targets.h util.h window.h world.h

all: dmsnap

dmsnap: $(OBJS)
	$(CC) $(LDFLAGS) -o $@ $(OBJS)
	@echo "dmsnap: `wc -c < $@` bytes, static"

# The test build: the same sources plus DMSNAP_FAIL / DMSNAP_TRACE / DMSNAP_PAUSE (faults.c).
dmsnap-faults: $(SRCS) faults.c $(HDRS)
	$(CC) $(CFLAGS) -DDMSNAP_FAULTS $(LDFLAGS) -o $@ $(SRCS) faults.c

.c.o:
	$(CC) $(CFLAGS) -c $<

$(OBJS): $(HDRS)

check: dmsnap dmsnap-faults
	tests/check

# The host unit tests alone: seconds, no guest.
unit:
	tests/check --unit-only

demo: dmsnap
	tests/guest/run tests/guest/demo.sh

# The benchmark's guest helpers (tests/bench/README.md), static like dmsnap.
BENCH = tests/bench/stall tests/bench/dmfloor tests/bench/tm tests/bench/randw

bench: dmsnap $(BENCH)
	tests/bench/run

tests/bench/stall: tests/bench/stall.c
	$(CC) $(CFLAGS) $(LDFLAGS) -o $@ tests/bench/stall.c
tests/bench/dmfloor: tests/bench/dmfloor.c dm_ioctl.h
	$(CC) $(CFLAGS) $(LDFLAGS) -o $@ tests/bench/dmfloor.c
tests/bench/tm: tests/bench/tm.c
	$(CC) $(CFLAGS) $(LDFLAGS) -o $@ tests/bench/tm.c
tests/bench/randw: tests/bench/randw.c
	$(CC) $(CFLAGS) $(LDFLAGS) -o $@ tests/bench/randw.c

fuzz:
	tests/fuzz/run

install: dmsnap
	mkdir -p $(DESTDIR)$(PREFIX)/sbin $(DESTDIR)$(PREFIX)/share/man/man8 $(DESTDIR)$(PREFIX)/share/dmsnap
	cp dmsnap $(DESTDIR)$(PREFIX)/sbin/dmsnap
	cp dmsnap.8 $(DESTDIR)$(PREFIX)/share/man/man8/dmsnap.8
	cp initramfs-hook $(DESTDIR)$(PREFIX)/share/dmsnap/initramfs-hook
	if [ -n "$(DMSETUP_LINK)" ]; then ln -sf dmsnap $(DESTDIR)$(PREFIX)/sbin/dmsetup; fi

clean:
	rm -f dmsnap dmsnap-faults $(OBJS) $(BENCH)

.PHONY: all check unit demo bench fuzz install clean
