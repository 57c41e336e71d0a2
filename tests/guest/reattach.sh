# reattach: a persistent snapshot outlives a reboot. Boot 2 wraps the origin
# again and rebuilds the snapshot from its COW, before anything writes to it.
# boots: 2

boot1() {
	ok "mkfs.xfs vda" mkxfs /dev/vda || return
	ok "wrap" dmsnap wrap /dev/vda md2 || return
	mkdir -p /mnt/o
	mount /dev/mapper/md2 /mnt/o
	echo snapshot-time >/mnt/o/marker
	random_file /mnt/o/data 8
	sync
	# The snap-time sums go to vdd, the one place that outlives the boot.
	checksum_tree /mnt/o | dd of=/dev/vdd conv=fsync 2>/dev/null
	ok "snap" dmsnap snap md2 /dev/vdc
	echo after-snapshot >/mnt/o/marker
	random_file /mnt/o/data 8
	sync
	umount /mnt/o
}

boot2() {
	local sums
	sums=$(dd if=/dev/vdd bs=4096 count=1 2>/dev/null | tr -d '\000')
	ok "wrap again after the reboot" dmsnap wrap /dev/vda md2 || return
	fails "a valid COW is not zeroed without --reattach" dmsnap snap md2 /dev/vdc
	contains "says --reattach" "$(cat /tmp/lib.out)" 'reattach'
	ok "snap --reattach" dmsnap snap --reattach md2 /dev/vdc || return
	mkdir -p /mnt/s /mnt/o
	ok "mount reattached snapshot" mount -o ro,nouuid /dev/mapper/md2_snap /mnt/s || return
	assert_eq "snapshot shows the snapshot time" "$(cat /mnt/s/marker)" snapshot-time
	assert_eq "snapshot files as at snap time" "$(checksum_tree /mnt/s)" "$sums"
	mount /dev/mapper/md2 /mnt/o
	assert_eq "origin shows the present" "$(cat /mnt/o/marker)" after-snapshot
	umount /mnt/s /mnt/o
	ok "drop" dmsnap drop md2
}

boot$BOOT
