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

# lacks NAME TEXT PATTERN: no line of TEXT matches the grep regex PATTERN.
lacks() {
	if ! printf '%s\n' "$2" | grep -q -e "$3"; then
		pass "$1"
	else
		fail "$1" "a line matches '$3':"
		printf '%s\n' "$2" | grep -e "$3" | tail -n 5 | sed 's/^/    | /'
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

# state_as_before NAME: dm_state is what /tmp/state.before holds (dm_state >/tmp/state.before
# before a command run some other way than through unchanged).
state_as_before() {
	dm_state >/tmp/state.after
	if cmp -s /tmp/state.before /tmp/state.after; then
		pass "$1"
	else
		fail "$1" "dm state changed:"
		diff /tmp/state.before /tmp/state.after | sed 's/^/    | /'
		return 1
	fi
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

# devno DEV: DEV's major:minor, as a dm table names it.
devno() { cat "/sys/class/block/$(basename "$(readlink -f "$1")")/dev"; }

# raw_copy DEV BYTES FILE: DEV's first BYTES (a multiple of 512) into FILE, read
# around the page cache, which can hold what was there before a dm target wrote.
raw_copy() {
	blockdev --flushbufs "$1"
	dd if="$1" of="$3" bs=512 count=$(($2 / 512)) iflag=direct 2>/dev/null
}

# bytes_kept NAME DEV FILE: DEV still begins with FILE (a raw_copy of it);
# otherwise says how many bytes changed and where.
bytes_kept() {
	local size n first last
	size=$(wc -c <"$3")
	raw_copy "$2" "$size" /tmp/bytes.now
	if cmp -s "$3" /tmp/bytes.now; then
		pass "$1"
		return 0
	fi
	cmp -l "$3" /tmp/bytes.now >/tmp/bytes.diff 2>&1
	n=$(wc -l </tmp/bytes.diff)
	first=$(awk 'NR == 1 { print $1 - 1 }' /tmp/bytes.diff)
	last=$(awk 'END { print $1 - 1 }' /tmp/bytes.diff)
	fail "$1" "$2: $n of its first $size bytes changed, between offsets $first and $last"
	return 1
}

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
	if [ "$(head -c 7 /tmp/cow_record)" != dmsnapR ]; then
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

# --- dmsnap's layout, as the kernel holds it --------------------------------

# dm_look [info] [table] [status]: the kernel's view of every device, taken once
# (a dmsetup call for each part, about 70 ms each under TCG; all three by default)
# into $DM_VIEW for the *_in checks below, which read it instead of asking
# dmsetup again: "info NAME MAJOR MINOR ATTR OPEN SEGMENTS EVENTS [UUID]",
# "table NAME: LINE", "status NAME: LINE". ATTR is dmsetup's: L live table,
# I inactive table, s suspended, then r or w.
DM_VIEW=/tmp/dm.view
dm_look() {
	local part
	[ $# -gt 0 ] || set -- info table status
	for part; do
		case $part in
		info) dmsetup info -c --noheadings --separator ' ' -o name,major,minor,attr,open,segments,events,uuid ;;
		*) dmsetup "$part" ;;
		esac 2>&1 | sed "s/^/$part /"
	done | grep -v ' No devices found$' | sed 's/ *$//' >$DM_VIEW
}

# has_dev NAME: a dm device of that name exists (read from sysfs: no dmsetup call).
has_dev() { grep -qsxF -- "$1" /sys/block/dm-*/dm/name; }

# settled_in: in the view, no device suspended, none holding an inactive table,
# none without a live table (a half-made snapshot). Says what is wrong, else silent.
settled_in() {
	awk '$1 != "info" { next }
		substr($5, 3, 1) == "s" { s = s $2 " " }
		substr($5, 2, 1) == "I" { i = 1 }
		substr($5, 1, 2) == "--" { n = 1 }
		END {
			if (s != "") { print "suspended: " s; exit 1 }
			if (i) { print "an inactive table is loaded"; exit 1 }
			if (n) { print "a device has no table"; exit 1 }
		}' "$DM_VIEW"
}

# snapshots_in NAME: in the view, the snapshots live over NAME_dup, one name a line, sorted.
snapshots_in() {
	awk -v dup="$1_dup" '$1 == "info" && $2 == dup { d = $3 ":" $4 }
		$1 == "table" && $5 == "snapshot" && $6 == d && d != "" { sub(":$", "", $2); print $2 }' "$DM_VIEW" | sort
}

# protected_in NAME: in the view, NAME carries snapshot-origin exactly while
# snapshots of NAME_dup live (else writes bypass them), linear otherwise; none
# of them invalid.
protected_in() {
	local t n s
	t=$(awk -v d="$1:" '$1 == "table" && $2 == d { print $5; exit }' "$DM_VIEW")
	n=$(snapshots_in "$1" | grep -c .)
	case $t in
	snapshot-origin) [ "$n" -gt 0 ] || { echo "$1 is snapshot-origin without snapshots"; return 1; } ;;
	linear) [ "$n" -eq 0 ] || { echo "$1 is linear under $n live snapshot(s): writes to $1 bypass them"; return 1; } ;;
	*) echo "$1 has a $t table"; return 1 ;;
	esac
	for s in $(snapshots_in "$1"); do
		grep -q "^status $s: .*\(Invalid\|Overflow\)" "$DM_VIEW" && { echo "$s is invalid"; return 1; }
	done
	return 0
}

# dm_settled, snapshots_of NAME, protected NAME: the same, on a view taken now
# of what each reads.
dm_settled() { dm_look info && settled_in; }
snapshots_of() { dm_look info table && snapshots_in "$1"; }
protected() { dm_look && protected_in "$1"; }

# --- holding a command at a step (dmsnap-faults, DMSNAP_PAUSE) ---------------

PAUSE=/tmp/pause # the held command waits while this file exists

# wait_for SECS CMD...: poll CMD every 0.1 s until it succeeds; 1 after SECS.
wait_for() {
	local i=0 n=$(($1 * 10))
	shift
	until "$@"; do
		i=$((i + 1))
		[ $i -lt $n ] || return 1
		sleep 0.1
	done
}

# hold STEP OUT CMD...: start CMD (the test build, or a wrapper that execs it) in
# the background with DMSNAP_PAUSE=STEP:$PAUSE, its output in OUT; HELD is its
# pid. 0 once it waits at STEP; 1 if it did not get there within 20 s.
hold() {
	local step=$1 out=$2
	shift 2
	rm -f "$PAUSE"
	DMSNAP_PAUSE=$step:$PAUSE "$@" >"$out" 2>&1 &
	HELD=$!
	wait_for 20 held_or_gone && [ -e "$PAUSE" ]
}
held_or_gone() { [ -e "$PAUSE" ] || ! running "$HELD"; }

# running PID: PID exists and has not exited (a zombie not yet waited for has).
running() { [ -r "/proc/$1/stat" ] && ! grep -q '^[0-9]* (.*) Z' "/proc/$1/stat" 2>/dev/null; }

# release: let the held command go on, and through every later pause at the same
# step (run and merge take the lock twice). Then: wait $HELD; wait $RELEASER.
release() {
	rm -f "$PAUSE"
	(while running "$HELD"; do
		rm -f "$PAUSE"
		sleep 0.1
	done) &
	RELEASER=$!
}

# waits_for NAME HOLDER WHAT OUT PID: the command PID (output in OUT) says within
# 10 s that it waits for pid HOLDER (WHAT, its command line), and still waits.
waits_for() {
	local name=$1 holder=$2 what=$3 out=$4 pid=$5
	if wait_for 10 grep -qF "waiting for pid $holder ($what)" "$out" && running "$pid"; then
		pass "$name"
	else
		fail "$name" "no 'waiting for pid $holder ($what)' from pid $pid within 10 s$(running "$pid" || echo ', which has exited')"
		tail -n 5 "$out" | sed 's/^/    | /'
		return 1
	fi
}

# --- holding a command at a pause point (dmsnap-faults, DMSNAP_PAUSE) -------
#
# Signals: /init starts each scenario in the background, so SIGINT and SIGQUIT are
# ignored in every process a scenario starts (as for any `cmd &` of a
# non-interactive shell). A SIGINT still reaches a program that blocks it (it
# stays pending) or catches it, but an unprepared one ignores it instead of dying
# as it would at a terminal: SIGTERM is what kills it there.

PAUSE_FILE=/tmp/dmsnap.pause
PAUSED_OUT=/tmp/paused.out # stdout and stderr of the held command
PAUSED_PID=
PAUSED_RC=

# start_paused STEP CMD...: CMD in the background with DMSNAP_PAUSE=STEP:$PAUSE_FILE;
# returns 0 once CMD holds at STEP (PAUSED_PID is its pid), or 1 when CMD ended
# without reaching STEP (no such pause point, or it failed before): PAUSED_RC
# is then its status.
start_paused() {
	local step=$1 i
	shift
	rm -f "$PAUSE_FILE"
	DMSNAP_PAUSE="$step:$PAUSE_FILE" "$@" >"$PAUSED_OUT" 2>&1 &
	PAUSED_PID=$!
	for i in $(seq 1200); do
		[ -e "$PAUSE_FILE" ] && return 0
		kill -0 "$PAUSED_PID" 2>/dev/null || break
		sleep 0.1
	done
	PAUSED_RC=0
	wait "$PAUSED_PID" || PAUSED_RC=$?
	rm -f "$PAUSE_FILE"
	return 1
}

# resume_paused: let the held command go on and wait for it; its status in PAUSED_RC.
resume_paused() {
	rm -f "$PAUSE_FILE"
	PAUSED_RC=0
	wait "$PAUSED_PID" || PAUSED_RC=$?
}

# not_held NAME STEP: the FAIL for a command that never reached pause point STEP.
not_held() {
	fail "$1" "never held at pause point '$2' (exit $PAUSED_RC; is the step in dmsnap-faults?)"
	tail -n 5 "$PAUSED_OUT" | sed 's/^/    | /'
}

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
