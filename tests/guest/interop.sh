# interop: dmsnap and the walkthrough's dmsetup commands take turns on the same
# devices, because dmsnap keeps no state outside the kernel's tables.

SIZE=$(sectors /dev/vda)
VDA=$(cat /sys/block/vda/dev)

# The walkthrough's steps, typed as an admin would.
dmsetup_wrap() {
	echo "0 $SIZE linear /dev/vda 0" | dmsetup create md2 &&
		echo "0 $SIZE linear /dev/vda 0" | dmsetup create md2_dup && dmsetup mknodes
}
dmsetup_snap() {
	dd if=/dev/zero of=/dev/vdc bs=4096 count=1 conv=fsync 2>/dev/null &&
		dmsetup suspend md2 &&
		echo "0 $SIZE snapshot /dev/mapper/md2_dup /dev/vdc P 32" | dmsetup create md2_snap &&
		echo "0 $SIZE snapshot-origin /dev/mapper/md2_dup" | dmsetup load md2 &&
		dmsetup resume md2 && dmsetup mknodes
}
dmsetup_drop() {
	dmsetup suspend md2 && dmsetup remove md2_snap &&
		echo "0 $SIZE linear /dev/vda 0" | dmsetup load md2 && dmsetup resume md2
}

snapshot_content() {
	mkdir -p /mnt/s
	mount -o ro,nouuid /dev/mapper/md2_snap /mnt/s && cat /mnt/s/marker && umount /mnt/s
}

hand_wrap_dmsnap_snap_hand_drop() {
	ok "mkfs.xfs vda" mkxfs /dev/vda || return 1
	ok "wrap by dmsetup" dmsetup_wrap || return 1
	mkdir -p /mnt/o
	mount /dev/mapper/md2 /mnt/o
	echo before >/mnt/o/marker && sync
	ok "dmsnap snap on a hand-made wrapper" dmsnap snap md2 /dev/vdc || return 1
	echo after >/mnt/o/marker && sync
	assert_eq "snapshot content" "$(snapshot_content)" before
	ok "drop by dmsetup" dmsetup_drop
	assert_eq "linear after hand drop" "$(dmsetup table md2)" "0 $SIZE linear $VDA 0"
	ok "dmsnap show after hand drop" dmsnap show md2
	umount /mnt/o
	dmsetup remove md2 && dmsetup remove md2_dup
}

dmsnap_wrap_hand_snap_dmsnap_drop() {
	ok "wrap by dmsnap" dmsnap wrap /dev/vda md2 || return 1
	mount /dev/mapper/md2 /mnt/o
	echo before >/mnt/o/marker && sync
	ok "snap by dmsetup" dmsetup_snap || return 1
	echo after >/mnt/o/marker && sync
	contains "dmsnap show sees the hand-made snapshot" "$(dmsnap show md2)" 'md2_snap .*active'
	assert_eq "snapshot content" "$(snapshot_content)" before
	ok "drop by dmsnap" dmsnap drop md2
	assert_eq "linear after dmsnap drop" "$(dmsetup table md2)" "0 $SIZE linear $VDA 0"
	umount /mnt/o
	ok "unwrap by dmsnap" dmsnap unwrap md2
}

# The walkthrough variant with a helper device 'origin' holding snapshot-origin.
helper_origin_device() {
	ok "wrap" dmsnap wrap /dev/vda md2 || return 1
	ok "snap" dmsnap snap md2 /dev/vdc || return 1
	ok "hand-made helper origin" sh -c "echo '0 $SIZE snapshot-origin /dev/mapper/md2_dup' | dmsetup create origin"
	ok "drop" dmsnap drop md2
	fails "helper origin removed with the last snapshot" dmsetup info origin
	ok "unwrap" dmsnap unwrap md2
}

hand_wrap_dmsnap_snap_hand_drop
dmsnap_wrap_hand_snap_dmsnap_drop
helper_origin_device
