.POSIX:
# dmsnap: one static binary.  musl-gcc when present, else cc -static.
CC = `command -v musl-gcc || echo cc`
CFLAGS = -Os -Wall -Wextra -std=c11 -fno-pie -ffunction-sections -fdata-sections -fno-asynchronous-unwind-tables
LDFLAGS = -static -no-pie -s -Wl,--gc-sections -Wl,-z,noseparate-code -Wl,-z,norelro -Wl,--build-id=none
PREFIX = /usr/local
DESTDIR =
SRCS = dmsnap.c snap.c backup.c merge.c probe.c dm_ioctl.c util.c
OBJS = dmsnap.o snap.o backup.o merge.o probe.o dm_ioctl.o util.o

all: dmsnap

dmsnap: $(OBJS)
	@command -v musl-gcc >/dev/null || echo "note: musl-gcc not found (apt-get install musl-tools); linking with cc -static"
	$(CC) $(LDFLAGS) -o $@ $(OBJS)
	@echo "dmsnap: `wc -c < $@` bytes, static"

# The test build: the same sources plus DMSNAP_FAIL / DMSNAP_TRACE (faults.c).
dmsnap-faults: $(SRCS) faults.c faults.h dm_ioctl.h dmsnap.h util.h
	$(CC) $(CFLAGS) -DDMSNAP_FAULTS $(LDFLAGS) -o $@ $(SRCS) faults.c

.c.o:
	$(CC) $(CFLAGS) -c $<

$(OBJS): dm_ioctl.h util.h
dmsnap.o snap.o backup.o merge.o probe.o: dmsnap.h

check: dmsnap dmsnap-faults
	tests/check

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

clean:
	rm -f dmsnap dmsnap-faults $(OBJS) $(BENCH)

.PHONY: all check demo bench fuzz install clean
