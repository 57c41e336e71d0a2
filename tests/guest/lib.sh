# lib.sh: helpers for the guest scenarios. /init sources it before each scenario,
# under sh -u, with SCENARIO (the scenario's name), BOOT (1, 2, ...), DMSNAP (the
# binary under test) and RESULTS set.
#
# Every check prints one line: "PASS: scenario/name", "FAIL: scenario/name: reason"
# (then the command's output tail, indented) or "SKIP: scenario/name: reason".
# Successful steps print nothing else. Checks return the checked command's status,
# so a scenario can stop a step that cannot go on: ok "mount" mount ... || return

OUT=/tmp/lib.out # output of the last checked command

# --- reporting -------------------------------------------------------------

pass() { echo "PASS: $SCENARIO/$1"; echo PASS >>"$RESULTS"; }
skip() { echo "SKIP: $SCENARIO/$1: $2"; echo SKIP >>"$RESULTS"; }

# fail NAME REASON: one FAIL line; details follow on indented lines.
fail() {
	local name=$1
	shift
	echo "FAIL: $SCENARIO/$name: $*"
	echo FAIL >>"$RESULTS"
}

# show_output: the tail of the last command's output, indented under its FAIL line.
show_output() { tail -n 15 "$OUT" | sed 's/^/    | /'; }

# --- checks ----------------------------------------------------------------

# succeeded NAME RC CMD...: PASS if CMD (already run, output in $OUT) exited 0.
succeeded() {
	local name=$1 rc=$2
	shift 2
	if [ "$rc" -eq 0 ]; then
		pass "$name"
	else
		fail "$name" "exit $rc: $*"
		show_output
	fi
	return "$rc"
}

# ok NAME CMD...: CMD must succeed.
ok() {
	local name=$1 rc=0
	shift
	"$@" >"$OUT" 2>&1 || rc=$?
	succeeded "$name" $rc "$@"
}

# fails NAME CMD...: CMD must fail cleanly: a non-zero exit below 126, so a crash,
# a kill or a missing command is not mistaken for a refusal.
fails() {
	local name=$1 rc=0
	shift
	"$@" >"$OUT" 2>&1 || rc=$?
	if [ $rc -eq 0 ]; then
		fail "$name" "succeeded but should fail: $*"
		show_output
		return 1
	elif [ $rc -ge 126 ]; then
		fail "$name" "crashed or could not run (exit $rc): $*"
		show_output
		return 1
	fi
	pass "$name"
}

# expect_exit N NAME CMD...: CMD must exit with status N.
expect_exit() {
	local want=$1 name=$2 rc=0
	shift 2
	"$@" >"$OUT" 2>&1 || rc=$?
	if [ $rc -eq "$want" ]; then
		pass "$name"
	else
		fail "$name" "exit $rc, want $want: $*"
		show_output
		return 1
	fi
}

# assert_eq NAME GOT WANT
assert_eq() {
	if [ "$2" = "$3" ]; then
		pass "$1"
	else
		fail "$1" "got '$2', want '$3'"
		return 1
	fi
}

# contains NAME TEXT PATTERN: TEXT has a line matching the grep regex PATTERN.
contains() {
	if printf '%s\n' "$2" | grep -q -e "$3"; then
		pass "$1"
	else
		fail "$1" "no line matches '$3' in:"
		printf '%s\n' "$2" | tail -n 15 | sed 's/^/    | /'
		return 1
	fi
}

# same NAME FILE1 FILE2: identical contents (files or block devices).
same() {
	if cmp "$2" "$3" >"$OUT" 2>&1; then
		pass "$1"
	else
		fail "$1" "$2 and $3 differ"
		show_output
		return 1
	fi
}

# dm_state: the kernel's dm state (tables, statuses, info) in a stable order.
dm_state() {
	{
		dmsetup table 2>&1 | sed 's/^/table /'
		dmsetup status 2>&1 | sed 's/^/status /'
		dmsetup info -c --noheadings 2>&1 | sed 's/^/info /'
	} | sort
}

# unchanged NAME CMD...: CMD must fail cleanly and leave the dm state as it found it.
unchanged() {
	local name=$1 rc=0
	shift
	dm_state >/tmp/state.before
	"$@" >"$OUT" 2>&1 || rc=$?
	dm_state >/tmp/state.after
	if [ $rc -eq 0 ] || [ $rc -ge 126 ]; then
		fail "$name" "exit $rc, want a clean failure: $*"
		show_output
		return 1
	elif ! cmp -s /tmp/state.before /tmp/state.after; then
		fail "$name" "dm state changed by: $*"
		diff /tmp/state.before /tmp/state.after | sed 's/^/    | /'
		return 1
	fi
	pass "$name"
}

# --- devices and filesystems -----------------------------------------------

# make_md2: RAID1 /dev/md2 of vda and vdb, no resync (the disks are zero anyway).
make_md2() {
	mdadm --create /dev/md2 --run --quiet --assume-clean --metadata=0.90 \
		--level=1 --raid-devices=2 /dev/vda /dev/vdb
}

# mkxfs DEV [OPTS...] / mkext4 DEV [OPTS...]: quiet mkfs that overwrites old signatures.
mkxfs() { mkfs.xfs -f -q "$@"; }
mkext4() { mkfs.ext4 -F -q "$@"; }

# sectors DEV: size in 512-byte sectors, as dm tables want it.
sectors() { blockdev --getsz "$1"; }

# mknodes: /dev/mapper nodes for every dm device (there is no udev here).
mknodes() { dmsetup mknodes; }

# checksum_tree DIR: sha256 of every file under DIR, sorted by path.
checksum_tree() { (cd "$1" && find . -type f -exec sha256sum {} + | sort -k 2); }

# random_file PATH MIB: MIB mebibytes of random data.
random_file() { dd if=/dev/urandom of="$1" bs=1M count="$2" 2>/dev/null; }

# with_timeout SECS CMD...: CMD, killed (non-zero exit) if it runs longer than SECS.
with_timeout() { timeout "$@"; }

# cow_header DEV: the kernel's snapshot store header on DEV, read around the page
# cache: "valid", "invalid" (the kernel dropped the store: it overflowed) or "none".
cow_header() {
	dd if="$1" of=/tmp/cow_header bs=4096 count=1 iflag=direct 2>/dev/null || { echo unreadable; return 1; }
	if [ "$(head -c 4 /tmp/cow_header)" != SnAp ]; then
		echo none
	elif [ "$(od -An -tu4 -j4 -N4 /tmp/cow_header | tr -d ' ')" = 1 ]; then
		echo valid
	else
		echo invalid
	fi
}

# cow_record DEV: the state dmsnap's record on the COW DEV says (docs/cow-record.md),
# read around the page cache: "snapshot", "merging", "dropping", "damaged" or "none".
cow_record() {
	dd if="$1" of=/tmp/cow_record bs=4096 skip=1 count=1 iflag=direct 2>/dev/null || { echo unreadable; return 1; }
	if [ "$(head -c 8 /tmp/cow_record)" != dmsnapR1 ]; then
		echo none
		return 0
	fi
	case $(od -An -tu4 -j8 -N4 /tmp/cow_record | tr -d ' ') in
	1) echo snapshot ;;
	2) echo merging ;;
	3) echo dropping ;;
	*) echo damaged ;;
	esac
}

# keep_files DEV FILE...: FILEs (absolute paths) saved at the start of DEV for a
# later boot (a spare disk outlives the boot; /tmp does not); restore_files DEV
# puts them back in place.
keep_files() {
	local dev=$1
	shift
	tar -cf /tmp/keep.tar "$@" 2>/dev/null && dd if=/tmp/keep.tar of="$dev" bs=64k conv=fsync 2>/dev/null
}
restore_files() { dd if="$1" bs=64k count=64 2>/dev/null | tar -xf - -C / 2>/dev/null; }

# --- kernel and machine ----------------------------------------------------

# hide_module NAME: unload NAME and stop the kernel from loading it back on demand.
# /init restores both before the next scenario; restore_modules does it now.
hide_module() {
	if ! rmmod "$1"; then
		echo "$1 is held by $(cat "/sys/module/$1/refcnt" 2>/dev/null) users; dm tables:"
		dmsetup table
		return 1
	fi
	echo /bin/false >/proc/sys/kernel/modprobe
}

restore_modules() {
	local rel name
	echo /sbin/modprobe >/proc/sys/kernel/modprobe
	while read -r rel; do
		name=${rel##*/}
		name=${name%.ko}
		[ -d "/sys/module/$(echo "$name" | tr - _)" ] || insmod "/lib/modules/$(uname -r)/$rel"
	done </lib/modules/load.order
}

# power_cut: end this boot like a pulled plug: no sync, no unmount. The host
# goes on with the next boot of the scenario.
power_cut() {
	echo "==== dmsnap-guest: power cut in $SCENARIO ===="
	sleep 1 # let the serial port drain
	poweroff -n -f # -n: no sync
}

# end_boot: how a boot that does not run the standard /init (another rdinit=, a
# switch_root) ends: the markers the host waits for, then a clean power off.
end_boot() {
	echo "==== dmsnap-guest: end $SCENARIO ===="
	sync
	echo "==== dmsnap-guest: done boot $BOOT ===="
	sleep 1 # let the serial port drain
	poweroff -f
}
