# small_promises: what dmsnap says and leaves when a step goes wrong.
#  - a table naming a device that does not exist: the message names that device
#    and does not send the user off to load dm-mod;
#  - run --mount DIR too long for dmsnap: refused before anything is made, never
#    truncated to another directory;
#  - snap interrupted: it cleans up, then says "interrupted", exits non-zero,
#    and the state is as before;
#  - snap's undo removes the new snapshot with the removal's retries, and says
#    so when the snapshot stays (held open);
#  - merge interrupted in its switch: the handover is done or not at all.
# timeout: 600

ORIGIN=/mnt/o
COW=/dev/vdc
SPAN=1048576 # the COW's first MiB: its header and the first metadata areas

setup() {
	ok "mkfs.xfs vda" mkxfs /dev/vda || return 1
	ok "wrap" dmsnap wrap /dev/vda md2 || return 1
	mkdir -p $ORIGIN
	mount /dev/mapper/md2 $ORIGIN && echo snapshot-time >$ORIGIN/marker && random_file $ORIGIN/data 2 && sync
}

# blank_cow: random bytes on the COW, so that any write shows; /tmp/cow.before
# says whether anything wrote to it since.  Random bytes are data dmsnap does not
# recognise: snap takes them with --force only.
blank_cow() {
	dd if=/dev/urandom of=$COW bs=1M count=1 conv=fsync 2>/dev/null
	raw_copy $COW $SPAN /tmp/cow.before
}

# absent_major: a block major no driver has here (7, loop, makes any minor on open).
absent_major() {
	local m
	for m in 240 241 242 243 244 245 246 247 248 249 250; do
		sed -n '/^Block devices:/,$p' /proc/devices | grep -q "^ *$m " || { echo $m; return; }
	done
}

missing_device() {
	local dev
	for dev in /dev/nosuch "$(absent_major):99"; do
		unchanged "table naming missing $dev: create fails, leaves nothing" \
			dmsnap create x --table "0 100 linear $dev 0"
		contains "table naming missing $dev: the message names it" "$(cat $OUT)" "$dev"
		lacks "table naming missing $dev: the message does not say load dm-mod" "$(cat $OUT)" 'dm-mod'
	done
}

# long_mount_dir: a 300-byte DIR that exists (too long for dmsnap's buffer of
# today: it must be refused or used as it is), and one longer than PATH_MAX.
long_mount_dir() {
	local part=ddddddddddddddddddddddddddddddddddddddddddddddddddddddddddddddddddddddddddddddddddddddddddddddd
	local dir=/tmp/$part/$part/$part/ddddddd rc=0 huge
	mkdir -p "$dir"
	blank_cow
	dmsnap run --force --mount "$dir" md2 $COW -- sh -c '[ "$DMSNAP_MOUNT" = "$0" ] && grep -q " $0 " /proc/mounts' \
		"$dir" >$OUT 2>&1 || rc=$?
	if [ $rc -eq 0 ]; then
		pass "run --mount with a ${#dir}-byte DIR: mounted on DIR itself or refused untouched"
	elif [ $rc -lt 126 ] && raw_copy $COW $SPAN /tmp/cow.now && cmp -s /tmp/cow.before /tmp/cow.now; then
		pass "run --mount with a ${#dir}-byte DIR: mounted on DIR itself or refused untouched"
	else
		fail "run --mount with a ${#dir}-byte DIR: mounted on DIR itself or refused untouched" \
			"exit $rc, and a snapshot was made on the COW"
		show_output
	fi
	huge=$(printf '/%0254d' $(seq 17) | tr 0 e) # 17 x 255 bytes: beyond PATH_MAX
	blank_cow
	unchanged "run --mount with a ${#huge}-byte DIR: fails, leaves no device" dmsnap run --force --mount "$huge" md2 $COW -- true
	bytes_kept "run --mount with a ${#huge}-byte DIR: the COW is untouched" $COW /tmp/cow.before
	rm -rf "/tmp/$part"
}

# interrupted_at STEP SIG: snap held at STEP gets SIG.
interrupted_at() {
	local step=$1 sig=$2 name="SIG$2 at $1"
	blank_cow
	dm_state >/tmp/state.before
	if ! start_paused "$step" dmsnap-faults snap --force md2 $COW; then
		not_held "$name: snap held" "$step"
		dmsnap drop md2 >/dev/null 2>&1
		return
	fi
	kill -"$sig" "$PAUSED_PID"
	resume_paused
	if [ "$PAUSED_RC" -ne 0 ]; then
		pass "$name: snap fails"
	else
		fail "$name: snap fails" "exit 0: it took the snapshot"
	fi
	contains "$name: says interrupted" "$(cat $PAUSED_OUT)" 'interrupted'
	state_as_before "$name: dm state as before"
	# Past staging the header is zeroed already: that is the snap's, not a leftover.
	[ "$step" = staged ] || bytes_kept "$name: the COW is untouched" $COW /tmp/cow.before
	dmsnap recover md2 >/dev/null 2>&1
	dmsnap drop md2 >/dev/null 2>&1
}

# undo_with_snapshot_open: the snap fails at its freeze while something holds
# the new snapshot device open, so its undo cannot remove it.
undo_with_snapshot_open() {
	local name="undo with the snapshot held open" holder
	blank_cow
	if ! start_paused staged env DMSNAP_FAIL=DM_DEV_SUSPEND#2:EIO dmsnap-faults snap --force md2 $COW; then
		not_held "$name: snap held" staged
		dmsnap drop md2 >/dev/null 2>&1
		return
	fi
	mknodes
	sleep 600 </dev/mapper/md2_snap &
	holder=$!
	sleep 1
	if ! kill -0 $holder 2>/dev/null; then
		fail "$name: md2_snap held open" "could not open /dev/mapper/md2_snap"
		resume_paused
		return
	fi
	resume_paused
	kill $holder
	wait $holder 2>/dev/null
	if [ "$PAUSED_RC" -ne 0 ] && [ "$PAUSED_RC" -lt 126 ]; then
		pass "$name: snap fails"
	else
		fail "$name: snap fails" "exit $PAUSED_RC"
	fi
	if dmsetup info md2_snap >/dev/null 2>&1; then
		contains "$name: says md2_snap stays" "$(cat $PAUSED_OUT)" \
			'md2_snap.*\(remov\|stays\|still\|left\|remain\|recover\)'
	else
		fail "$name: says md2_snap stays" "md2_snap is gone although it was held open"
	fi
	ok "$name: recover removes it once closed" dmsnap recover md2
	assert_eq "$name: no snapshot left" "$(dmsetup ls | grep -c md2_snap)" 0
	dmsnap drop md2 >/dev/null 2>&1
}

# undo_retries: the undo's removal of the new snapshot meets one EBUSY (as when
# blkid or udev looks at it) and goes on trying: nothing is left behind.
undo_retries() {
	local name="undo meeting a busy snapshot"
	blank_cow
	dm_state >/tmp/state.before
	if ! start_paused staged env DMSNAP_FAIL=DM_DEV_REMOVE#1:EBUSY dmsnap-faults snap --force md2 $COW; then
		not_held "$name: snap held" staged
		dmsnap drop md2 >/dev/null 2>&1
		return
	fi
	kill -INT "$PAUSED_PID" # signals are blocked there: snap undoes what it staged
	resume_paused
	state_as_before "$name: retried, nothing left" || tail -n 3 $PAUSED_OUT | sed 's/^/    | /'
	dmsnap recover md2 >/dev/null 2>&1
	dmsnap drop md2 >/dev/null 2>&1
}

# merge_interrupted: SIGTERM reaches merge between the snapshot's suspend and
# md2's switch (SIGINT would be ignored here, see lib.sh). Afterwards, without
# recover: either the handover is complete (md2 snapshot-merge, or linear again
# if the merge had finished; the snapshot gone; nothing suspended or inactive)
# or everything is as it was.
merge_interrupted() {
	local name="SIGTERM in merge's switch" after
	blank_cow
	ok "$name: snap" dmsnap snap --force md2 $COW || return
	echo after-snapshot >$ORIGIN/marker
	sync
	umount $ORIGIN
	dm_state >/tmp/state.before
	if ! start_paused merge-switch dmsnap-faults merge md2 md2_snap; then
		not_held "$name: merge held" merge-switch
	else
		kill -TERM "$PAUSED_PID"
		resume_paused
		dm_state >/tmp/state.after
		after=$(cat /tmp/state.after)
		if cmp -s /tmp/state.before /tmp/state.after; then
			pass "$name: all or nothing (nothing)"
		elif printf '%s\n' "$after" | grep -q '^table md2: 0 [0-9]* \(snapshot-merge\|linear\) ' &&
			! dmsetup info md2_snap >/dev/null 2>&1 &&
			! dmsetup info | grep -q 'State: *SUSPENDED' &&
			! dmsetup info | grep -q 'Tables present: .*INACTIVE'; then
			pass "$name: all or nothing (all)"
		else
			fail "$name: all or nothing" "exit $PAUSED_RC; half a handover:"
			diff /tmp/state.before /tmp/state.after | sed 's/^/    | /'
		fi
	fi
	dmsnap recover md2 >/dev/null 2>&1
	if dmsetup table md2 | grep -q snapshot-merge; then
		ok "$name: the merge finishes" dmsnap merge --wait md2
	elif dmsetup info md2_snap >/dev/null 2>&1; then
		ok "$name: a second merge" dmsnap merge --wait md2 md2_snap
	fi
	mount /dev/mapper/md2 $ORIGIN
	assert_eq "$name: md2 shows the snapshot time" "$(cat $ORIGIN/marker)" snapshot-time
}

setup || return 0
missing_device
long_mount_dir
interrupted_at cow-checked INT
interrupted_at synced TERM
interrupted_at staged INT
undo_with_snapshot_open
undo_retries
merge_interrupted
umount $ORIGIN
