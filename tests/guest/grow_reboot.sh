# grow_reboot: a grown COW survives reboots. The configuration names only its
# first device; snap --reattach finds the other members by their labels however
# the disks are numbered, and refuses (saying which member) when one is missing:
# the origin then stays wrapped, without a snapshot.
# boots: 3

O=/mnt/o S=/mnt/s

boot1() {
	ok "mkfs.xfs vda" mkxfs /dev/vda || return
	ok "wrap" dmsnap wrap /dev/vda md2 || return
	mkdir -p $O
	mount /dev/mapper/md2 $O && random_file $O/data 8 && sync
	checksum_tree $O >/tmp/sums
	ok "snap on the 64 MiB vde" dmsnap snap md2 /dev/vde || return
	md5sum </dev/mapper/md2_snap >/tmp/snap_md5
	ok "grow by vdd" dmsnap grow md2 /dev/vdd || return
	ok "grow by vdc" dmsnap grow md2 md2_snap /dev/vdc || return
	# 120 MiB of new data: the first COW alone could not hold the copies.
	dd if=/dev/zero of=$O/big bs=1M count=120 conv=fsync 2>/dev/null
	assert_eq "valid before the reboot" "$(dmsnap show -p md2 | sed -n 's/.*state=\([a-z]*\).*/\1/p')" active
	umount $O
	keep_files /dev/vdb /tmp/sums /tmp/snap_md5
}

boot2() {
	restore_files /dev/vdb
	ok "wrap again" dmsnap wrap /dev/vda md2 || return
	ok "snap --reattach naming only the first device" dmsnap snap --reattach md2 /dev/vde || return
	assert_eq "the COW device is reassembled from three members in order" \
		"$(dmsetup table md2_snap-cow | cut -d' ' -f4 | tr '\n' ' ')" "$(devno /dev/vde) $(devno /dev/vdd) $(devno /dev/vdc) "
	assert_eq "snapshot reads as at snap time (md5)" "$(md5sum </dev/mapper/md2_snap)" "$(cat /tmp/snap_md5)"
	mkdir -p $S
	mount -o ro,nouuid /dev/mapper/md2_snap $S && {
		assert_eq "snapshot files as at snap time" "$(checksum_tree $S)" "$(cat /tmp/sums)"
		umount $S
	}
	# Mounting it replayed its log into it: what boot 3 must find is this.
	md5sum </dev/mapper/md2_snap >/tmp/snap_md5
	assert_eq "valid" "$(dmsnap show -p md2 | sed -n 's/.*state=\([a-z]*\).*/\1/p')" active
	# The snapshot goes down with the boot, not dropped: its store stays for boot 3.
	dmsetup remove md2_snap && dmsetup remove md2_snap-cow && dmsnap recover md2 >/dev/null
	# Member 3 goes missing: its label is wiped (as if its disk were not there).
	dd if=/dev/vdc of=/tmp/label bs=4096 count=1 iflag=direct 2>/dev/null
	keep_files /dev/vdb /tmp/sums /tmp/snap_md5 /tmp/label
	dd if=/dev/zero of=/dev/vdc bs=4096 count=1 oflag=direct conv=notrunc 2>/dev/null
}

boot3() {
	restore_files /dev/vdb
	ok "wrap" dmsnap wrap /dev/vda md2 || return
	unchanged "no reattach with a member missing" dmsnap snap --reattach md2 /dev/vde
	contains "says which member is missing" "$(cat /tmp/lib.out)" 'member 3 of its 3 is on no block device'
	assert_eq "origin stays wrapped, linear" "$(dmsetup table md2 | cut -d' ' -f3)" linear
	assert_eq "no COW device left" "$(dmsetup ls | grep -c cow)" 0
	assert_eq "the first member's store is kept" "$(cow_header /dev/vde)" valid
	dd if=/tmp/label of=/dev/vdc bs=4096 count=1 oflag=direct conv=notrunc 2>/dev/null
	ok "with the member back, it reattaches" dmsnap snap --reattach md2 /dev/vde
	assert_eq "snapshot reads as at snap time (md5)" "$(md5sum </dev/mapper/md2_snap)" "$(cat /tmp/snap_md5)"
	# Gone again (as after a reboot), the grown store merges straight from its first device.
	dmsetup remove md2_snap && dmsetup remove md2_snap-cow && dmsnap recover md2 >/dev/null
	ok "merge straight from the grown COW" dmsnap merge --wait md2 /dev/vde
	assert_eq "origin reads as the snapshot (md5)" "$(md5sum </dev/mapper/md2)" "$(cat /tmp/snap_md5)"
	assert_eq "no COW device left" "$(dmsetup ls | grep -c cow)" 0
	assert_eq "the store is retired" "$(cow_header /dev/vde)" none
}

boot$BOOT
