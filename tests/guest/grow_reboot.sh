# grow_reboot: a grown COW survives reboots. Boot 1 snaps md2 (vda) on the 64 MiB
# vde, grows it by vdd then vdc, and writes more than vde could hold. Boots 2 and 3
# start at the boot hook (hook.rdinit) with a configuration naming only vde: in
# boot 2 the hook reassembles the COW from its three members (found by their
# labels) and reattaches the snapshot as at snap time; in boot 3 vdc's label
# comes back 2 s after the hook starts (as a disk that comes late): the hook
# waits for it and reattaches; in boot 4 it is gone (as if its disk were
# missing): no reattach, a console line naming the member, md2 boots wrapped,
# the store kept. With the label back, snap --reattach works again, and merge
# straight from the first device reassembles it too.
# boots: 4
# timeout: 600
# boot2-cmdline: rdinit=/tests/hook.rdinit
# boot3-cmdline: rdinit=/tests/hook.rdinit
# boot4-cmdline: rdinit=/tests/hook.rdinit

O=/mnt/o S=/mnt/s KEEP=/dev/vdb

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
	keep_files $KEEP /tmp/sums /tmp/snap_md5
}

# In the initramfs: the configuration names the first device only.
hook_boot() {
	if [ "$BOOT" -ge 3 ]; then
		dd if=/dev/vdc of=/tmp/late bs=4096 count=1 iflag=direct 2>/dev/null
		dd if=/dev/zero of=/dev/vdc bs=4096 count=1 oflag=direct conv=notrunc 2>/dev/null
	fi
	[ "$BOOT" = 3 ] && (sleep 2 && dd if=/tmp/late of=/dev/vdc bs=4096 count=1 oflag=direct conv=notrunc 2>/dev/null) &
	printf '%s\n' "wrap md2 /dev/vda /dev/vde" >/etc/dmsnap.conf
	/usr/local/share/dmsnap/initramfs-hook wrap
}

boot2() {
	restore_files $KEEP
	contains "the hook reattached the snapshot" "$(dmesg)" 'dmsnap-boot: md2: snapshot reattached from /dev/vde'
	assert_eq "the COW device is reassembled from three members in order" \
		"$(dmsetup table md2_snap-cow | cut -d' ' -f4 | tr '\n' ' ')" "$(devno /dev/vde) $(devno /dev/vdd) $(devno /dev/vdc) "
	assert_eq "snapshot reads as at snap time (md5)" "$(md5sum </dev/mapper/md2_snap)" "$(cat /tmp/snap_md5)"
	mkdir -p $S
	mount -o ro,nouuid /dev/mapper/md2_snap $S && {
		assert_eq "snapshot files as at snap time" "$(checksum_tree $S)" "$(cat /tmp/sums)"
		umount $S
	}
	assert_eq "valid" "$(dmsnap show -p md2 | sed -n 's/.*state=\([a-z]*\).*/\1/p')" active
	# Mounting it replayed its log into it: what boot 3 must find is this.
	md5sum </dev/mapper/md2_snap >/tmp/snap_md5
	dd if=/dev/vdc of=/tmp/label bs=4096 count=1 iflag=direct 2>/dev/null
	keep_files $KEEP /tmp/sums /tmp/snap_md5 /tmp/label
}

# The member's label came back while the hook waited.
boot3() {
	restore_files $KEEP
	contains "the hook waited for the late member and reattached" "$(dmesg)" \
		'dmsnap-boot: md2: snapshot reattached from /dev/vde'
	lacks "no line about a missing member" "$(dmesg)" 'no block device here'
	assert_eq "the COW device is reassembled from three members in order" \
		"$(dmsetup table md2_snap-cow | cut -d' ' -f4 | tr '\n' ' ')" "$(devno /dev/vde) $(devno /dev/vdd) $(devno /dev/vdc) "
	assert_eq "snapshot reads as at snap time (md5)" "$(md5sum </dev/mapper/md2_snap)" "$(cat /tmp/snap_md5)"
	keep_files $KEEP /tmp/sums /tmp/snap_md5 /tmp/label
}

boot4() {
	restore_files $KEEP
	contains "the hook says which member is missing" "$(dmesg)" \
		'dmsnap-boot: md2: snapshot on /dev/vde not reattached: COW /dev/vde: member 3 of its 3 is on no block device here (a disk missing?): not using it'
	assert_eq "md2 booted wrapped, linear" "$(dmsetup table md2 | cut -d' ' -f3)" linear
	assert_eq "no snapshot" "$(dmsnap show -p md2 2>&1)" ""
	assert_eq "no COW device left" "$(dmsetup ls | grep -c cow)" 0
	assert_eq "the first member's store is kept" "$(cow_header /dev/vde)" valid
	unchanged "snap --reattach refuses the same way" dmsnap snap --reattach md2 /dev/vde
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

[ -n "${HOOK_RDINIT:-}" ] || boot$BOOT
