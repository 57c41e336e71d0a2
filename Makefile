.POSIX:
# dmsnap: one static binary, built with musl (apt-get install musl-tools).
CC = musl-gcc
# Size first (the 128 KiB gate): -Oz and link-time optimisation, no vector
# registers or jump tables in dmsnap (it has no floating point); a small common
# page size lets the data segment follow the code in the file without padding
# it to 4 KiB (the kernel still maps it on its own pages).
CFLAGS = -Oz -flto=auto -flto-partition=one -Wall -Wextra -std=c11 -fno-pie -ffunction-sections -fdata-sections -fno-asynchronous-unwind-tables
# dmsnap's own code (the benchmark's helpers use floating point).  Each flag
# after -fno-jump-tables was kept because it made dmsnap smaller with
# Debian 12's gcc 12.2 (64 to 576 bytes each, 2,688 together), and none
# changes what the code does: printf calls stay printf (not puts or putchar,
# two more of musl's objects), identical constants share one copy (dmsnap
# never compares their addresses), and the rest turn off optimisations that
# -Oz still makes for speed (jump threading, dominator and loop-invariant
# motion, sibling calls, partial inlining, if-conversion...); -malign-data=abi
# keeps arrays at the ABI's alignment, not 32 bytes (192 bytes of padding).
DMSNAP_CFLAGS = $(CFLAGS) -mgeneral-regs-only -fno-jump-tables -fno-builtin-printf -fmerge-all-constants \
	-malign-data=abi -fipa-pta -fno-caller-saves -fno-shrink-wrap -fno-thread-jumps -fno-tree-dominator-opts \
	-fno-optimize-sibling-calls -fno-tree-loop-im -fno-partial-inlining -fno-tree-tail-merge -fno-ipa-modref \
	-fno-if-conversion -fno-tree-sink
LDFLAGS = -static -no-pie -s -Wl,--gc-sections -Wl,-z,noseparate-code -Wl,-z,norelro -Wl,--build-id=none \
	-Wl,-z,common-page-size=64
# -s leaves the compilers' version strings (.comment, 136 bytes): they go too.
STRIP = strip
PREFIX = /usr/local
DESTDIR =
# dracut looks for its modules here only, whatever PREFIX is.
DRACUTMODDIR = /usr/lib/dracut/modules.d/90dmsnap
# make install DMSETUP_LINK=1: also sbin/dmsetup -> dmsnap (dmsnap.8, "Invoked as dmsetup").
DMSETUP_LINK =
SRCS = dmsnap.c dmsetup.c wrap.c snap.c group.c grow.c cow.c cowdev.c show.c backup.c merge.c world.c device.c window.c cli.c probe.c targets.c dm_ioctl.c lock.c record.c report.c mangle.c util.c
OBJS = dmsnap.o dmsetup.o wrap.o snap.o group.o grow.o cow.o cowdev.o show.o backup.o merge.o world.o device.o window.o cli.o probe.o targets.o dm_ioctl.o lock.o record.o report.o mangle.o util.o
HDRS = backup.h cli.h cow.h cowdev.h device.h dm_ioctl.h dmsetup.h faults.h group.h grow.h lock.h mangle.h merge.h plan.h probe.h record.h report.h show.h snap.h targets.h util.h window.h world.h wrap.h

all: dmsnap

dmsnap: $(OBJS)
	$(CC) $(DMSNAP_CFLAGS) $(LDFLAGS) -o $@ $(OBJS)
	$(STRIP) -R .comment $@
	@echo "dmsnap: `wc -c < $@` bytes, static"

# The test build: the same sources plus DMSNAP_FAIL / DMSNAP_TRACE / DMSNAP_PAUSE (faults.c).
dmsnap-faults: $(SRCS) faults.c $(HDRS) VERSION
	$(CC) $(DMSNAP_CFLAGS) -DDMSNAP_FAULTS -DDMSNAP_VERSION=\"`cat VERSION`\" $(LDFLAGS) -o $@ $(SRCS) faults.c

.c.o:
	$(CC) $(DMSNAP_CFLAGS) -c $<

$(OBJS): $(HDRS)

check: deps dmsnap dmsnap-faults
	tests/check

# The host unit tests alone: seconds, no guest.
unit: deps
	tests/check --unit-only

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
	if [ -n "$(DMSETUP_LINK)" ]; then ln -sf dmsnap $(DESTDIR)$(PREFIX)/sbin/dmsetup; fi
	mkdir -p $(DESTDIR)$(DRACUTMODDIR)
	cp modules.d/90dmsnap/module-setup.sh modules.d/90dmsnap/dmsnap-pre-mount.sh initramfs-hook $(DESTDIR)$(DRACUTMODDIR)/

clean:
	rm -f dmsnap dmsnap-faults $(OBJS) $(BENCH)

# --- Set-up, version, packages ---
# make demo and make check first install the Debian packages they need
# (tests/packages) when run as root, else print the apt-get line and stop: the
# compiler itself may be missing, so this comes before anything is compiled.
deps:
	tests/deps

# The version's one place is VERSION; cli.c holds it for --version and version.
cli.o: cli.c VERSION
	$(CC) $(DMSNAP_CFLAGS) -DDMSNAP_VERSION=\"`cat VERSION`\" -c cli.c

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

.PHONY: all check unit demo bench fuzz install clean deps dist package-check fresh-test
