# powercut: the power goes at every step (issue 13, item 5). Each volume is an
# ext4 on a 16 MiB dm-linear slice of vda with an 8 MiB COW slice of vdc (the
# slices stand for LVM volumes: hook.rdinit brings them back before the hook);
# each is stopped at one step of snap, drop, merge or snap --reattach
# (dmsnap-faults: SIGKILL before a given ioctl, or a DMSNAP_PAUSE point, then
# SIGKILL) and left so, untouched, until the power cut: for the disks that is
# a power cut at that step. The next boot runs initramfs-hook (hook.rdinit)
# with the volumes and their COWs configured (a few on purpose without, for
# the steps by hand), then checks each: nothing suspended, the origin mounts,
# holds what it should and passes e2fsck -fn, a surviving snapshot is as at
# snap time or cleanly gone (no store, or a record the hook refuses), a merge
# that was under way continues and ends with the snapshot's content. The grow
# volumes' COWs are grown by a third slice (on vdd); g-full's then holds more
# copy-outs than its first device could, so the hook must find both.
#   Boot 1: snap, drop, merge and grow steps; the power goes.
#   Boot 2: the hook; checks; the steps by hand; snap --reattach steps; the power goes.
#   Boot 3: the hook, cut by the power while it reattaches h-cut (held at cow-checked).
#   Boot 4: the hook; checks of boots 2 and 3.
# One "powercut: STEP -> STATE -> BROUGHT BACK BY" line per step (the issue's table).
# boots: 4
# timeout: 600
# boot2-cmdline: rdinit=/tests/hook.rdinit
# boot3-cmdline: rdinit=/tests/hook.rdinit
# boot4-cmdline: rdinit=/tests/hook.rdinit

KEEP=/dev/vde
FAULTS=/usr/sbin/dmsnap-faults

# (snap makes the COW's own device first: its load is TABLE_LOAD#1, its resume
# DEV_SUSPEND#1.)
# NAME, slice (0: the big one on vdb/vdd), what boot 1 or 2 does, the step, the
# outcome wanted after the reboot (snap: the snapshot is back as at snap time;
# none: no snapshot; merged: the merge went on and the origin is the
# snapshot), and the step in words.
VOLUMES="
s-synced   1 snap     pause:synced           none   snap: held at 'synced' (COW checked, origin synced, nothing written)
s-create   2 snap     kill:DM_TABLE_LOAD#2   none   snap: killed after the COW header was zeroed and the snapshot device created, before its table load
s-loaded   3 snap     kill:DM_TABLE_LOAD#3   snap   snap: killed after the snapshot table load and the record, before the origin's table load
s-suspend  4 snap     kill:DM_DEV_SUSPEND#2  snap   snap: killed before the suspend (both tables loaded)
s-frozen   5 snap     kill:DM_DEV_SUSPEND#3  snap   snap: killed with the origin suspended and frozen, before the snapshot's resume
s-swap     6 snap     kill:DM_DEV_SUSPEND#4  snap   snap: killed after the snapshot's resume, before the origin swap (origin suspended)
s-done     7 snap     kill:DM_LIST_DEVICES#2 snap   snap: killed after the origin swap (snapshot complete), then origin written
d-locked   8 drop     pause:locked           snap   drop: held at 'locked' (nothing done yet)
d-marked   9 drop     kill:DM_TABLE_LOAD#1   none   drop: killed after the record said dropping, before the linear table load
d-suspend 10 drop     kill:DM_DEV_REMOVE#1   none   drop: killed with the origin suspended, before the snapshot's removal
d-removed 11 drop     kill:DM_DEV_SUSPEND#2  none   drop: killed after the snapshot's removal, before the resume and the COW's retirement
d-done    12 drop     kill:DM_LIST_DEVICES#2 none   drop: killed after the resume and the COW's retirement
m-marked  13 merge    kill:DM_TABLE_LOAD#1   merged merge: killed after the record said merging, before the snapshot-merge load
m-before  14 merge    kill:DM_DEV_SUSPEND#3  merged merge: killed with snapshot and origin suspended, before the handover
m-after   15 merge    kill:DM_DEV_REMOVE#1   merged merge: killed after the handover, before the old snapshot's removal
m-finish  16 merge    finish                 merged merge: killed when done, with the linear table loaded and the origin suspended, before the COW's retirement
m-running  0 merge    running                merged merge: running in the background (32 MiB of scattered exceptions, COW reads 20 ms late)
r-create  17 reattach kill:DM_TABLE_LOAD#2   snap   snap --reattach: killed after the snapshot device's creation, before its table load
r-loaded  18 reattach kill:DM_DEV_SUSPEND#2  snap   snap --reattach: killed before the suspend (both tables loaded)
r-frozen  19 reattach kill:DM_DEV_SUSPEND#3  snap   snap --reattach: killed with the origin suspended, before the snapshot's resume
r-swap    20 reattach kill:DM_DEV_SUSPEND#4  snap   snap --reattach: killed before the origin swap (origin suspended)
h-cut     21 hook     pause:cow-checked      snap   the boot hook: cut in boot 3 while reattaching h-cut (held at cow-checked), after its wrap
h-merge   22 hook     kill:DM_DEV_REMOVE#1   merged the boot hook: boot 3 continued h-merge's merge (started in boot 2), then the power went
g-label   23 grow     pause:labelled         snap   grow: held at 'labelled' (the new device labelled, the record not naming it yet)
g-named   24 grow     kill:DM_TABLE_LOAD#1   snap   grow: killed after the record named the new device, before the COW device's table load
g-loaded  25 grow     kill:DM_DEV_SUSPEND#1  snap   grow: killed with the COW device's new table loaded, before its suspend
g-frozen  26 grow     kill:DM_DEV_SUSPEND#2  snap   grow: killed with the COW device suspended on its new table, before its resume
g-full    27 grow     full                   snap   grow: done, then 10 MiB written to the origin: more copy-outs than the first COW device holds
"

# names KIND...: the volumes of these kinds (all without KIND).
names() {
	local kinds=" $* "
	echo "$VOLUMES" | while read -r name idx kind rest; do
		[ -n "$name" ] || continue
		[ $# -eq 0 ] || case $kinds in *" $kind "*) ;; *) continue ;; esac
		echo "$name"
	done
}

# field NAME N: the Nth field of NAME's line: 2 slice, 3 kind, 4 action, 5 outcome, 6 the step in words.
field() {
	echo "$VOLUMES" | while read -r name idx kind action expect desc; do
		[ "$name" = "$1" ] || continue
		case $2 in 2) echo "$idx" ;; 3) echo "$kind" ;; 4) echo "$action" ;; 5) echo "$expect" ;; 6) echo "$desc" ;; esac
	done
}

# slices: o-NAME and c-NAME for every volume (and g-NAME, a grow's spare), as an
# LVM activation would make them.
slices() {
	local name idx
	for name in $(names); do
		idx=$(field "$name" 2)
		if [ "$idx" = 0 ]; then
			dmsetup create "o-$name" --table "0 262144 linear /dev/vdb 0"
			dmsetup create "c-$name" --table "0 131072 linear /dev/vdd 0"
		elif [ "$(field "$name" 3)" = grow ]; then # past m-running's on vdb and vdd
			dmsetup create "o-$name" --table "0 32768 linear /dev/vdb $((262144 + (idx - 23) * 32768))"
			dmsetup create "c-$name" --table "0 16384 linear /dev/vdc $(((idx - 1) * 16384))"
			dmsetup create "g-$name" --table "0 16384 linear /dev/vdd $((131072 + (idx - 23) * 16384))"
		else
			dmsetup create "o-$name" --table "0 32768 linear /dev/vda $(((idx - 1) * 32768))"
			dmsetup create "c-$name" --table "0 16384 linear /dev/vdc $(((idx - 1) * 16384))"
		fi
	done
	mknodes
}

# conf NAME[:-]...: /etc/dmsnap.conf wrapping each NAME over o-NAME, with its COW
# unless the name ends in ':-'.
conf() {
	local v
	echo "# powercut, boot $BOOT" >/etc/dmsnap.conf
	for v in "$@"; do
		case $v in
		*:-) echo "wrap ${v%:-} /dev/mapper/o-${v%:-}" ;;
		*) echo "wrap $v /dev/mapper/o-$v /dev/mapper/c-$v" ;;
		esac
	done >>/etc/dmsnap.conf
}

# flush NAME: NAME's filesystem to disk (syncfs: a global sync could wait on a
# volume left suspended).
flush() { sync -f "/mnt/$1/marker"; }

# content NAME WHEN: marker and data; their sums in /keep/NAME.WHEN.
content() {
	echo "$1 $2" >"/mnt/$1/marker"
	random_file "/mnt/$1/data" 1
	flush "$1"
	checksum_tree "/mnt/$1" | grep -v ' ./alive$' >"/keep/$1.$2"
}

# setup NAME: ext4 on o-NAME, wrapped as NAME, mounted, snapshot-time content.
setup() {
	mkext4 "/dev/mapper/o-$1" >/dev/null 2>&1 || { fail "$1: mkfs.ext4" "failed"; return 1; }
	dmsnap wrap "/dev/mapper/o-$1" "$1" >"$OUT" 2>&1 || { fail "$1: wrap" "failed"; show_output; return 1; }
	mkdir -p "/mnt/$1"
	mount "/dev/mapper/$1" "/mnt/$1" || { fail "$1: mount" "failed"; return 1; }
	content "$1" before
}

# snapped NAME: a complete snapshot of NAME, then the origin written ("after").
snapped() {
	dmsnap snap "$1" "/dev/mapper/c-$1" >"$OUT" 2>&1 || { fail "$1: snap" "failed"; show_output; return 1; }
	content "$1" after
}

# stop NAME ACTION CMD...: run CMD (dmsnap-faults) and stop it at ACTION:
# kill:IOCTL#K, SIGKILL before that ioctl; pause:STEP, held there by
# DMSNAP_PAUSE, then SIGKILL. Either way it is left as it stopped.
stop() {
	local name=$1 action=$2 rc=0 pid i=0
	shift 2
	case $action in
	kill:*)
		DMSNAP_FAIL=${action#kill:}:kill "$@" >"$OUT" 2>&1 || rc=$?
		if [ $rc -eq 137 ]; then
			pass "$name: stopped: $* killed before ${action#kill:}"
		else
			fail "$name: stopped" "exit $rc, not killed before ${action#kill:}: $*"
			show_output
			return 1
		fi ;;
	pause:*)
		rm -f /tmp/pause
		DMSNAP_PAUSE=${action#pause:}:/tmp/pause "$@" >"$OUT" 2>&1 &
		pid=$!
		while [ ! -e /tmp/pause ] && kill -0 $pid 2>/dev/null && [ $i -lt 600 ]; do
			sleep 0.1
			i=$((i + 1))
		done
		if [ -e /tmp/pause ]; then
			kill -9 $pid
			wait $pid
			rm -f /tmp/pause
			pass "$name: stopped: $* held at ${action#pause:}, then killed"
		else
			kill -9 $pid 2>/dev/null
			fail "$name: stopped" "never reached ${action#pause:}: $*"
			show_output
			return 1
		fi ;;
	esac
}

# left NAME: sectors still to merge into NAME, per show -p.
left() {
	dmsnap show -p "$1" | sed -n 's/.*state=merging used_sectors=\([0-9]*\) .*metadata_sectors=\([0-9]*\) .*/\1 \2/p' |
		{ read -r u m && echo $((u - m)); }
}

# ---- boot 1: snap, drop and merge, each stopped at its step ----

boot1() {
	local name
	mkdir -p /keep /mnt/s
	slices
	for name in $(names); do
		[ "$name" = m-running ] || setup "$name"
	done
	big_setup
	# What each step starts from: drop, merge, reattach and the hook's volumes have a
	# complete snapshot and later writes; the merges' origins are unmounted.
	for name in $(names drop merge reattach hook grow); do
		[ "$name" = m-running ] && continue
		snapped "$name"
		[ "$(field "$name" 3)" != merge ] || umount "/mnt/$name"
	done

	for name in $(names snap); do
		stop "$name" "$(field "$name" 4)" $FAULTS snap "$name" "/dev/mapper/c-$name"
	done
	# s-done's snapshot was complete when its snap was killed: the origin goes on.
	content s-done after
	for name in $(names drop); do
		stop "$name" "$(field "$name" 4)" $FAULTS drop "$name"
	done
	for name in m-marked m-before m-after; do
		stop "$name" "$(field "$name" 4)" $FAULTS merge "$name" "${name}_snap"
	done
	merge_finish
	for name in $(names grow); do
		if [ "$name" = g-full ]; then
			grown_full
		else
			stop "$name" "$(field "$name" 4)" $FAULTS grow "$name" "/dev/mapper/g-$name"
		fi
	done
	keep_files $KEEP /keep
	big_merge
	power_cut
}

# m-running: a 64 MiB file on a 128 MiB ext4, snapshotted, 2048 scattered 4 KiB
# writes (32 MiB of exceptions), its COW behind dm-delay.
big_setup() {
	local t
	t="0 131072 delay /dev/vdd 0 0 /dev/vdd 0 0"
	dmsetup remove c-m-running && dmsetup create c-m-running --table "$t" && mknodes
	mkext4 /dev/mapper/o-m-running >/dev/null 2>&1 && dmsnap wrap /dev/mapper/o-m-running m-running >/dev/null &&
		mkdir -p /mnt/m-running && mount /dev/mapper/m-running /mnt/m-running ||
		{ fail "m-running: set up" "failed"; return 1; }
	echo "m-running before" >/mnt/m-running/marker
	random_file /mnt/m-running/data 64
	flush m-running
	checksum_tree /mnt/m-running >/keep/m-running.before
	ok "m-running: snap" dmsnap snap m-running /dev/mapper/c-m-running || return 1
	echo "m-running after" >/mnt/m-running/marker
	awk 'BEGIN { for (i = 0; i < 2048; i++) printf "pwrite -q -S 0x5a %d 4096\n", i * 32768; print "fsync" }' |
		xfs_io /mnt/m-running/data
	flush m-running
	umount /mnt/m-running
}

big_merge() {
	local l
	dmsetup load c-m-running --table "0 131072 delay /dev/vdd 0 20 /dev/vdd 0 0" &&
		dmsetup suspend c-m-running && dmsetup resume c-m-running
	ok "m-running: merge (background)" dmsnap merge m-running m-running_snap || return
	l=$(left m-running)
	echo "show: powercut-note: m-running has ${l:-?} sectors left to merge at the power cut"
	ok "m-running: merging with data left at the power cut" test "${l:-0}" -gt 0
}

# m-finish: the merge is done; what finishes it (back to linear, COW retired) is
# killed with the linear table loaded and the origin suspended.
merge_finish() {
	local rc=0 i=0
	DMSNAP_FAIL=DM_DEV_SUSPEND#5:kill $FAULTS merge m-finish m-finish_snap >"$OUT" 2>&1 || rc=$?
	if [ $rc -eq 0 ]; then # still merging when merge looked: wait, then merge --wait finishes
		while [ "$(left m-finish)" != 0 ] && [ $i -lt 300 ]; do sleep 0.1; i=$((i + 1)); done
		rc=0
		DMSNAP_FAIL=DM_DEV_SUSPEND#2:kill $FAULTS merge --wait m-finish >"$OUT" 2>&1 || rc=$?
	fi
	if [ $rc -eq 137 ]; then
		pass "m-finish: stopped: the merge's finish killed before the resume"
	else
		fail "m-finish: stopped" "exit $rc, not killed in the finish"
		show_output
	fi
}

# g-full: grown by its spare, then 10 MiB written: copy-outs past the first COW device's 8 MiB.
grown_full() {
	ok "g-full: grow" dmsnap grow g-full /dev/mapper/g-g-full || return
	random_file /mnt/g-full/big 10
	flush g-full
	checksum_tree /mnt/g-full | grep -v ' ./alive$' >/keep/g-full.after
	ok "g-full: the COW holds more than its first device could" \
		test "$(dmsnap show -p g-full | sed -n 's/.*used_sectors=\([0-9]*\) .*/\1/p')" -gt 16384
	assert_eq "g-full: the snapshot is valid before the cut" \
		"$(dmsnap show -p g-full | sed -n 's/.*state=\([a-z]*\).*/\1/p')" active
}

# ---- after a reboot ----

# check NAME EXPECT WANT [BY]: after the reboot: NAME wrapped and not suspended; a
# continued merge finished; the snapshot back as at snap time (EXPECT snap) or
# gone (none) or merged (merged; grep -E alternatives allowed); the origin
# mounts, holds /keep/NAME.WANT, takes a write and passes e2fsck -fn. Prints
# NAME's line of the table, BY (what was done by hand) in its last column.
check() {
	look "$@"
	echo "show: powercut: $(field "$1" 6) -> $ROW"
}

# look NAME EXPECT WANT [BY]: check's checks; the table line's end in ROW.
look() {
	local name=$1 expect=$2 want=$3 got=none by state extra=${4:+; $4} cow
	by=$(dmesg | sed -n "s/.*dmsnap-boot: $name: //p" | grep -v '^wraps ' | tail -n 1)
	if ! dmsnap table "$name" >/dev/null 2>&1; then
		fail "$name: wrapped after the reboot" "no wrapper"
		ROW="NOT WRAPPED -> ${by:-nothing}"
		return 1
	fi
	assert_eq "$name: not suspended" "$(dmsetup info -c --noheadings -o suspended "$name")" Active
	case $by in *"merge from "*" continued"*) got=merged ;; esac
	if [ "$(dmsnap table "$name" | cut -d' ' -f3)" = snapshot-merge ]; then
		got=merged
		ok "$name: merge --wait finishes the continued merge" dmsnap merge --wait "$name"
		extra="; merge --wait finished it"
	fi
	if dmsetup info "${name}_snap" >/dev/null 2>&1; then
		got=snap
		if mount -o ro "/dev/mapper/${name}_snap" /mnt/s >"$OUT" 2>&1; then
			assert_eq "$name: the snapshot is as at snap time" "$(checksum_tree /mnt/s)" "$(cat "/keep/$name.before")" &&
				state="snapshot back, as at snap time" || state="snapshot back, NOT as at snap time"
			umount /mnt/s
		else
			fail "$name: mount the snapshot" "failed"
			show_output
			state="snapshot back, does NOT mount"
		fi
	elif [ $got = merged ]; then
		state="merged, COW $(cow_record "/dev/mapper/c-$name")/$(cow_header "/dev/mapper/c-$name")"
	else
		cow="$(cow_record "/dev/mapper/c-$name")/$(cow_header "/dev/mapper/c-$name")"
		state="no snapshot (COW: record/header $cow)"
	fi
	if echo "$got" | grep -qxE "$expect"; then
		pass "$name: after the power cut: $got"
	else
		fail "$name: after the power cut" "got $got, want $expect"
	fi
	mkdir -p "/mnt/$name"
	if mount "/dev/mapper/$name" "/mnt/$name" >"$OUT" 2>&1; then
		if assert_eq "$name: the origin holds what it held at the cut ($want)" \
			"$(checksum_tree "/mnt/$name" | grep -v ' ./alive$')" "$(cat "/keep/$name.$want")"; then
			state="origin as $want; $state"
		else
			state="origin NOT as $want; $state"
		fi
		ok "$name: the origin takes a write" sh -c "echo x >/mnt/$name/alive && sync -f /mnt/$name/alive && rm /mnt/$name/alive"
		umount "/mnt/$name"
	else
		fail "$name: mount the origin" "failed"
		show_output
		state="origin does NOT mount; $state"
	fi
	ok "$name: e2fsck -fn" e2fsck -fn "/dev/mapper/$name"
	ROW="$state -> ${by:+hook, boot $BOOT: }${by:-hook, boot $BOOT: wrapped it, nothing else}$extra"
}

# nothing_suspended: no dm device is left suspended after the hook.
nothing_suspended() {
	assert_eq "boot $BOOT: nothing suspended" \
		"$(dmsetup info -c --noheadings -o name,suspended | grep -v ':Active$')" ""
}

hook() { /usr/local/share/dmsnap/initramfs-hook wrap; }

# In the initramfs (hook.rdinit): the slices, then the hook with this boot's configuration.
hook_boot() {
	local i=0 name
	slices
	case $BOOT in
	2) # boot 1's volumes with their COWs, but two left for the steps by hand;
	   # the reattach volumes without theirs, for now
		# shellcheck disable=SC2046 # one argument per volume
		conf $(for name in $(names snap drop merge grow); do
			case $name in d-removed | m-before) echo "$name:-" ;; *) echo "$name" ;; esac
		done) r-create:- r-loaded:- r-frozen:- r-swap:- h-merge h-cut
		hook ;;
	3) # cut while the hook reattaches h-cut, after h-merge's merge
		conf h-merge h-cut r-create r-loaded r-frozen r-swap
		DMSNAP=$FAULTS DMSNAP_PAUSE=cow-checked:/hook/pause /usr/local/share/dmsnap/initramfs-hook wrap &
		while [ ! -e /hook/pause ] && [ $i -lt 600 ]; do sleep 0.1; i=$((i + 1)); done
		contains "boot 3: the hook is held in h-cut's reattach" "$(ps -o args)" 'snap --reattach h-cut'
		contains "boot 3: the hook has handled h-merge before" "$(dmesg)" 'dmsnap-boot: h-merge: \(merge\|.*nothing to reattach\)'
		dmesg | sed -n 's/.*\(dmsnap-boot: .*\)/powercut-note: boot 3, before the cut: \1/p' | sed 's/^/show: /'
		power_cut ;;
	4) conf h-merge h-cut r-create r-loaded r-frozen r-swap
		hook ;;
	esac
}

boot2() {
	local name
	restore_files $KEEP
	mkdir -p /mnt/s
	nothing_suspended
	for name in $(names snap drop merge grow); do
		case $name in
		d-removed | m-before) ;;
		s-done | d-* | g-*) check "$name" "$(field "$name" 5)" after ;;
		*) check "$name" "$(field "$name" 5)" before ;;
		esac
	done
	by_hand_drop
	by_hand_merge
	# Boot 3's volumes, as they start (no table line: their steps come later).
	look h-cut snap after
	look h-merge snap after

	# For boot 4: snap --reattach stopped at each step, on unmounted origins as at boot.
	for name in $(names reattach); do
		stop "$name" "$(field "$name" 4)" $FAULTS snap --reattach "$name" "/dev/mapper/c-$name"
	done
	# For boot 3's hook: h-merge merging back (killed after the handover).
	mkdir -p /mnt/h-merge
	mount /dev/mapper/h-merge /mnt/h-merge && echo "h-merge after, boot 2" >/mnt/h-merge/marker &&
		flush h-merge && umount /mnt/h-merge
	stop h-merge kill:DM_DEV_REMOVE#1 $FAULTS merge h-merge h-merge_snap
	power_cut
}

# d-removed, not configured with its COW: the record says dropping; reattach
# refuses it, a new snap takes the COW without --force.
by_hand_drop() {
	local c=/dev/mapper/c-d-removed
	assert_eq "d-removed: the COW's record says dropping" "$(cow_record $c)" dropping
	fails "d-removed: snap --reattach refused" dmsnap snap --reattach d-removed $c
	contains "d-removed: it says the snapshot was being dropped" "$(cat "$OUT")" 'being dropped'
	ok "d-removed: a new snap takes the COW without --force" dmsnap snap d-removed $c
	contains "d-removed: noting the interrupted drop" "$(cat "$OUT")" 'its drop was interrupted'
	ok "d-removed: drop it" dmsnap drop d-removed
	check d-removed none after \
		"by hand: snap --reattach refused ('being dropped'), a new snap took the COW without --force, drop"
}

# m-before, not configured with its COW: snap --reattach exits 4, merge COW continues.
by_hand_merge() {
	local c=/dev/mapper/c-m-before
	assert_eq "m-before: the COW's record says merging" "$(cow_record $c)" merging
	expect_exit 4 "m-before: snap --reattach exits 4" dmsnap snap --reattach m-before $c
	ok "m-before: merge --wait NAME COW continues it" dmsnap merge --wait m-before $c
	check m-before none before "by hand: snap --reattach exit 4, then 'dmsnap merge --wait m-before COW' continued the merge"
}

boot4() {
	local name
	restore_files $KEEP
	mkdir -p /mnt/s
	nothing_suspended
	for name in $(names reattach); do
		check "$name" snap after
	done
	check h-cut snap after
	# Boot 3's hook continued the merge (and finished it, or it goes on now).
	check h-merge 'merged|none' before
}

[ -n "${HOOK_RDINIT:-}" ] || boot$BOOT
