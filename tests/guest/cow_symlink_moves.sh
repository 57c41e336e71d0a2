# cow_symlink_moves: the device snap checks is the device it writes. The COW is
# given as a symlink (as udev's /dev/disk/by-* links are, which change at any
# moment) and the link moves to another device while snap is between its check
# of the COW and the write of its header: the other device -- an ext4
# filesystem -- is untouched, and a snapshot taken uses the device checked.

ORIGIN=/mnt/o
LINK=/tmp/cow-link
OTHER=/dev/vdd
SPAN=1048576 # what the other device's check covers: its first MiB

setup() {
	ok "mkfs.xfs vda" mkxfs /dev/vda || return 1
	ok "wrap" dmsnap wrap /dev/vda md2 || return 1
	mkdir -p $ORIGIN /mnt/other
	mount /dev/mapper/md2 $ORIGIN && random_file $ORIGIN/data 2 && sync
}

# moved_at STEP: the link points at vdc for the check and at vdd from STEP on.
moved_at() {
	local step=$1 vdc
	mkext4 $OTHER && mount $OTHER /mnt/other && echo precious >/mnt/other/file && umount /mnt/other
	raw_copy $OTHER $SPAN /tmp/other.before
	vdc=$(devno /dev/vdc)
	ln -sfn /dev/vdc $LINK
	if ! start_paused "$step" dmsnap-faults snap md2 $LINK; then
		not_held "link moved at $step: snap held" "$step"
		dmsnap drop md2 >/dev/null 2>&1
		return
	fi
	ln -sfn $OTHER $LINK
	resume_paused
	bytes_kept "link moved at $step: the other device is untouched" $OTHER /tmp/other.before
	ok "link moved at $step: its ext4 checks clean" e2fsck -fn $OTHER
	if [ "$PAUSED_RC" -eq 0 ]; then
		contains "link moved at $step: the snapshot's COW is the device checked ($vdc)" \
			"$(dmsetup table md2_snap-cow)" "linear $vdc 0"
		ok "link moved at $step: drop" dmsnap drop md2
	else
		# Refusing is fine too, if it leaves nothing behind.
		assert_eq "link moved at $step: snap refused and took no snapshot" \
			"$(dmsetup table | grep -c ' snapshot')" 0
		dmsnap recover md2 >/dev/null 2>&1
	fi
}

setup || return 0
moved_at cow-checked
moved_at synced
umount $ORIGIN
