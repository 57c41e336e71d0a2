# cow_gets_filesystem: snap looks at the COW again right before it zeroes its
# header. A filesystem that appears on the (blank) COW while snap is past its
# check -- before or after the origin's sync, which can take seconds -- is not
# destroyed: snap refuses, nothing is created, the COW keeps every byte.

ORIGIN=/mnt/o
COW=/dev/vdc
FS=/tmp/fs.img
SPAN=1048576 # the COW's first MiB: the ext4 superblock and group descriptors

setup() {
	ok "mkfs.xfs vda" mkxfs /dev/vda || return 1
	ok "wrap" dmsnap wrap /dev/vda md2 || return 1
	mkdir -p $ORIGIN
	mount /dev/mapper/md2 $ORIGIN && random_file $ORIGIN/data 2 && sync
	# A small ext4 image, written onto the COW with dd: a plain write, as any
	# other program's, which an exclusive open by dmsnap does not stop.
	truncate -s 16M $FS && mkext4 $FS || return 1
}

# appears_at STEP: the COW is blank at the check and holds ext4 from STEP on.
appears_at() {
	local step=$1
	dd if=/dev/zero of=$COW bs=1M count=16 conv=fsync 2>/dev/null
	dm_state >/tmp/state.before
	if ! start_paused "$step" dmsnap-faults snap md2 $COW; then
		not_held "ext4 at $step: snap held" "$step"
		dmsnap drop md2 >/dev/null 2>&1
		return
	fi
	dd if=$FS of=$COW bs=1M conv=notrunc,fsync 2>/dev/null
	raw_copy $COW $SPAN /tmp/cow.before
	resume_paused
	if [ "$PAUSED_RC" -ne 0 ] && [ "$PAUSED_RC" -lt 126 ]; then
		pass "ext4 at $step: snap refuses"
	else
		fail "ext4 at $step: snap refuses" "exit $PAUSED_RC"
		tail -n 5 $PAUSED_OUT | sed 's/^/    | /'
	fi
	contains "ext4 at $step: says what it found" "$(cat $PAUSED_OUT)" 'ext4\|filesystem\|signature'
	bytes_kept "ext4 at $step: the COW is untouched" $COW /tmp/cow.before
	state_as_before "ext4 at $step: nothing created"
	dmsnap drop md2 >/dev/null 2>&1
}

setup || return 0
appears_at cow-checked
appears_at synced
umount $ORIGIN
