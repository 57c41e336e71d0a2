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

check: deps dmsnap dmsnap-faults
	tests/check

demo: deps dmsnap
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

# --- Set-up, version, packages ---
# make demo and make check first install the Debian packages they need
# (tests/packages) when run as root, else print the apt-get line and stop: the
# compiler itself may be missing, so this comes before anything is compiled.
deps:
	tests/deps

# The version's one place is VERSION; dmsnap.c prints it (--version, version).
dmsnap.o: dmsnap.c VERSION
	$(CC) $(CFLAGS) -DDMSNAP_VERSION=\"`cat VERSION`\" -c dmsnap.c

# dmsnap-VERSION.tar.gz of HEAD: a release is a commit, so uncommitted changes
# stay out of it, and make dist says so.
dist:
	@v=`cat VERSION`; \
	git diff --quiet HEAD -- || echo "dist: note: uncommitted changes are not in dmsnap-$$v.tar.gz (it packs HEAD)"; \
	git archive --prefix=dmsnap-$$v/ -o dmsnap-$$v.tar.gz HEAD && echo "dist: dmsnap-$$v.tar.gz"

# The Slackware package (slackware/dmsnap.SlackBuild) built and checked here.
package-check: dmsnap
	tests/package/check

# A fresh minimal Debian 12 in a chroot runs make demo and make check (root).
fresh-test:
	tests/fresh-debian

.PHONY: deps dist package-check fresh-test

.PHONY: all check demo bench fuzz install clean
