# cow_swapped: a COW knows its origin (issue 13, item 3). Boot 1 snapshots two
# XFS volumes of the same size, vola (vda, COW vdc) and volb (vdb, COW vdd).
# Boot 2 starts at hook.rdinit with the two COWs swapped in /etc/dmsnap.conf:
# both volumes boot wrapped without snapshots, the hook says why on the console
# naming both origins, and neither COW is written (both checksummed whole
# before the hook and after). The direct commands refuse the same way
# (`snap --reattach volb COW_of_vola`, `merge volb COW_of_vola`); the right
# pairing still reattaches, and the record stays through reattach and use. A
# store made by the seed's dmsetup steps (no record) is still reattached, with
# a note.
# boots: 2
# timeout: 600
# boot2-cmdline: rdinit=/tests/hook.rdinit

KEEP=/dev/vde

# volume NAME DEV COW: XFS on DEV wrapped as NAME, snapshotted on COW, written after.
volume() {
	local name=$1 mnt=/mnt/$1
	ok "$name: mkfs.xfs $2" mkxfs "$2" || return 1
	ok "$name: wrap $2" dmsnap wrap "$2" "$name" || return 1
	mkdir -p "$mnt" /mnt/s /keep
	ok "$name: mount" mount "/dev/mapper/$name" "$mnt" || return 1
	echo "$name at snapshot time" >"$mnt/marker"
	random_file "$mnt/data" 8
	sync
	checksum_tree "$mnt" >"/keep/$name.tree"
	ok "$name: snap on $3" dmsnap snap "$name" "$3" || return 1
	assert_eq "$name: record after the snap" "$(cow_record "$3")" snapshot
	echo "$name after the snapshot" >"$mnt/marker"
	random_file "$mnt/data" 8
	sync
	umount "$mnt"
	ok "$name: mount the snapshot" mount -o ro,nouuid "/dev/mapper/${name}_snap" /mnt/s || return 1
	assert_eq "$name: snapshot files as at snap time" "$(checksum_tree /mnt/s)" "$(cat "/keep/$name.tree")"
	umount /mnt/s
}

boot1() {
	volume vola /dev/vda /dev/vdc || return
	volume volb /dev/vdb /dev/vdd || return
	assert_eq "the two origins have the same size" "$(sectors /dev/vda)" "$(sectors /dev/vdb)"
	keep_files $KEEP /keep/vola.tree /keep/volb.tree
}

# In the initramfs (hook.rdinit): both COWs checksummed whole, then the hook
# with the COWs swapped.
hook_boot() {
	md5sum </dev/vdc >/hook/vdc.md5
	md5sum </dev/vdd >/hook/vdd.md5
	printf '%s\n' "# cow_swapped: the COWs swapped by mistake" \
		"wrap vola /dev/vda /dev/vdd" "wrap volb /dev/vdb /dev/vdc" >/etc/dmsnap.conf
	/usr/local/share/dmsnap/initramfs-hook wrap
}

# booted_without_snapshot NAME DEV: wrapped, linear, no snapshot.
booted_without_snapshot() {
	assert_eq "$1: wrapped at boot, linear" "$(dmsnap table "$1" 2>&1)" "0 $(sectors "$2") linear $(cat "/sys/class/block/${2#/dev/}/dev") 0"
	assert_eq "$1: no snapshot" "$(dmsnap show -p "$1" 2>&1)" ""
}

# refused NAME PATTERN CMD...: a clean failure, the kernel unchanged, PATTERN said.
refused() {
	local name=$1 pattern=$2
	shift 2
	unchanged "$name" "$@" && contains "$name: names both" "$(cat /tmp/lib.out)" "$pattern"
}

boot2() {
	local log
	restore_files $KEEP
	booted_without_snapshot vola /dev/vda
	booted_without_snapshot volb /dev/vdb
	log=$(dmesg)
	contains "vola: the hook refused volb's COW, naming both" "$log" \
		'dmsnap-boot: vola: snapshot on /dev/vdd not reattached: COW /dev/vdd belongs to volb (.*), not to vola (.*)'
	contains "volb: the hook refused vola's COW, naming both" "$log" \
		'dmsnap-boot: volb: snapshot on /dev/vdc not reattached: COW /dev/vdc belongs to vola (.*), not to volb (.*)'

	refused "snap --reattach volb on vola's COW" 'COW /dev/vdc belongs to vola (.*), not to volb (.*)' \
		dmsnap snap --reattach volb /dev/vdc
	refused "merge volb from vola's COW" 'COW /dev/vdc belongs to vola (.*), not to volb (.*)' \
		dmsnap merge volb /dev/vdc
	refused "snap --reattach vola on volb's COW" 'COW /dev/vdd belongs to volb (.*), not to vola (.*)' \
		dmsnap snap --reattach vola /dev/vdd

	blockdev --flushbufs /dev/vdc
	blockdev --flushbufs /dev/vdd
	assert_eq "vdc (vola's COW) not written by the boot or the refusals" "$(md5sum </dev/vdc)" "$(cat /hook/vdc.md5)"
	assert_eq "vdd (volb's COW) not written by the boot or the refusals" "$(md5sum </dev/vdd)" "$(cat /hook/vdd.md5)"

	right_pairing
	hand_made
}

# The right COW still reattaches; its record stays through reattach and use.
right_pairing() {
	mkdir -p /mnt/s /mnt/vola
	ok "vola: snap --reattach on its own COW" dmsnap snap --reattach vola /dev/vdc || return
	assert_eq "vola: record after the reattach" "$(cow_record /dev/vdc)" snapshot
	ok "vola: mount the reattached snapshot" mount -o ro,nouuid /dev/mapper/vola_snap /mnt/s || return
	assert_eq "vola: snapshot files as at snap time" "$(checksum_tree /mnt/s)" "$(cat /keep/vola.tree)"
	umount /mnt/s
	ok "vola: mount the origin" mount /dev/mapper/vola /mnt/vola || return
	assert_eq "vola: origin kept the writes after the snapshot" "$(cat /mnt/vola/marker)" "vola after the snapshot"
	random_file /mnt/vola/more 8
	sync
	umount /mnt/vola
	assert_eq "vola: record after writes through the reattached snapshot" "$(cow_record /dev/vdc)" snapshot
	ok "vola: drop" dmsnap drop vola
	assert_eq "vola: the drop retired the COW" "$(cow_record /dev/vdc)/$(cow_header /dev/vdc)" none/none
}

# The seed's dmsetup steps (README: snapshot by hand, tear down by hand) on
# volb with vde as COW: a store without dmsnap's record.
hand_made() {
	local n dup linear
	n=$(sectors /dev/vdb)
	dup=$(cat /sys/class/block/vdb/dev)
	linear="0 $n linear $dup 0"
	ok "volb: snapshot by hand (dmsetup)" sh -c "dd if=/dev/zero of=/dev/vde bs=4k count=1 conv=fsync 2>/dev/null &&
		dmsetup suspend volb &&
		dmsetup create volb_snap --table '0 $n snapshot /dev/mapper/volb_dup /dev/vde P 32' &&
		dmsetup load volb --table '0 $n snapshot-origin /dev/mapper/volb_dup' &&
		dmsetup resume volb" || { dmsetup resume volb; return; }
	mknodes
	mkdir -p /mnt/volb
	ok "volb: mount" mount /dev/mapper/volb /mnt/volb || return
	echo "volb after the hand-made snapshot" >/mnt/volb/marker
	sync
	umount /mnt/volb
	assert_eq "volb: a hand-made store has no record" "$(cow_record /dev/vde)/$(cow_header /dev/vde)" none/valid
	ok "volb: tear down by hand, as a reboot would" sh -c "dmsetup suspend volb && dmsetup remove volb_snap &&
		dmsetup load volb --table '$linear' && dmsetup resume volb" || { dmsetup resume volb; return; }
	ok "volb: snap --reattach the hand-made store" dmsnap snap --reattach volb /dev/vde || return
	contains "volb: with a note that it has no record" "$(cat /tmp/lib.out)" 'COW /dev/vde has no dmsnap record'
	ok "volb: mount the reattached hand-made snapshot" mount -o ro,nouuid /dev/mapper/volb_snap /mnt/s || return
	assert_eq "volb: it shows the hand-made snapshot's time" "$(cat /mnt/s/marker)" "volb after the snapshot"
	umount /mnt/s
	ok "volb: drop" dmsnap drop volb
}

[ -n "${HOOK_RDINIT:-}" ] || boot$BOOT
