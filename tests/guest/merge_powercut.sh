# merge_powercut: a merge survives a power cut (issue 13, item 2). Boot 1 takes
# a snapshot of two XFS volumes, md2 (vda, COW vdc) and md3 (vdb, COW vdd),
# overwrites 48 MiB of scattered chunks of each, and starts merging both back
# with their COWs behind dm-delay (reads 5 ms late) so that the merges are
# still running when the power goes. Boot 2 starts at hook.rdinit:
# initramfs-hook, configured with md2's COW, finds dmsnap's record saying
# "merging" and continues the merge before anything reads md2, so md2 reads as
# the snapshot from the first read; the merge completes; xfs_repair -n is clean.
# md3, not configured, is wrapped by hand: snap --reattach says the merge was
# under way (exit 4) and `dmsnap merge --wait md3 COW` continues it. On the way
# the record is read around the page cache: there after the snap and through
# use and merge, gone when an overflow invalidates a store, gone when the
# finished merge retires the COW.
# boots: 2
# timeout: 600
# boot2-cmdline: rdinit=/tests/hook.rdinit

SCATTER=3072 # 4 KiB writes 32 KiB apart: a 16 KiB chunk copied out each, 48 MiB of exceptions
DELAY=5      # ms added to each read of a COW while it merges
KEEP=/dev/vde # the snapshot-time sums outlive boot 1 at the start of vde

# slow NAME DEV MS: NAME is DEV behind dm-delay, reads MS ms late (an LVM volume
# holding the COW would be a dm device as well); an existing NAME is reloaded.
slow() {
	local t
	t="0 $(sectors "$2") delay $2 0 $3 $2 0 0"
	if dmsetup info "$1" >/dev/null 2>&1; then
		dmsetup load "$1" --table "$t" && dmsetup suspend "$1" && dmsetup resume "$1"
	else
		dmsetup create "$1" --table "$t" && mknodes
	fi
}

# left NAME: sectors still to merge into NAME (used - metadata), per show -p.
left() {
	dmsnap show -p "$1" | sed -n 's/.*state=merging used_sectors=\([0-9]*\) .*metadata_sectors=\([0-9]*\) .*/\1 \2/p' |
		{ read -r u m && echo $((u - m)); }
}

# scatter FILE: SCATTER 4 KiB writes 32 KiB apart over FILE, in place, synced.
scatter() {
	awk -v n=$SCATTER 'BEGIN { for (i = 0; i < n; i++) printf "pwrite -q -S 0x5a %d 4096\n", i * 32768; print "fsync" }' |
		xfs_io "$1"
}

# volume NAME DEV COW DISK: XFS on DEV, wrapped as NAME, 96 MiB of snapshot-time
# data, snapshotted on COW (a slow dm device over DISK), then overwritten here and there.
volume() {
	local name=$1 dev=$2 cow=$3 disk=$4 mnt=/mnt/$1
	ok "$name: mkfs.xfs $dev" mkxfs "$dev" || return 1
	ok "$name: wrap $dev" dmsnap wrap "$dev" "$name" || return 1
	mkdir -p "$mnt" /mnt/s /keep
	ok "$name: mount" mount "/dev/mapper/$name" "$mnt" || return 1
	echo snapshot-time >"$mnt/marker"
	random_file "$mnt/big" 96
	sync
	checksum_tree "$mnt" >"/keep/$name.tree"
	ok "$name: snap on $cow" dmsnap snap "$name" "$cow" || return 1
	assert_eq "$name: record after the snap" "$(cow_record "$disk")" snapshot
	assert_eq "$name: the kernel's header after the snap" "$(cow_header "$disk")" valid
	echo after-snapshot >"$mnt/marker"
	ok "$name: $SCATTER scattered writes" scatter "$mnt/big"
	sync
	assert_eq "$name: record after writes through the snapshot" "$(cow_record "$disk")" snapshot
}

boot1() {
	slow md2cow /dev/vdc 0 && slow md3cow /dev/vdd 0 || { fail "dm-delay COWs" "dmsetup failed"; return; }
	# md3 gets a second, small snapshot that overflows: the kernel rewrites its
	# header chunk, and dmsnap's record goes with it.
	dmsetup create ovcow --table "0 16384 linear /dev/vde 65536" && mknodes
	volume md2 /dev/vda /dev/mapper/md2cow /dev/vdc || return
	volume_md3 || return
	ok "md2: umount" umount /mnt/md2
	ok "md3: umount" umount /mnt/md3
	snapshot_sums md2 raw
	snapshot_sums md3
	keep_files $KEEP /keep/md2.tree /keep/md2.raw /keep/md3.tree

	slow md2cow /dev/vdc $DELAY && slow md3cow /dev/vdd $DELAY
	ok "md3: merge (background)" dmsnap merge md3 md3_snap || return
	ok "md2: merge (background)" dmsnap merge md2 md2_snap || return
	local l2 l3
	l2=$(left md2) l3=$(left md3)
	echo "merge_powercut: at the power cut md2 has ${l2:-?} sectors left to merge, md3 ${l3:-?}"
	ok "md2: show -p: merging with data left" test "${l2:-0}" -gt 0
	ok "md3: show -p: merging with data left" test "${l3:-0}" -gt 0
	assert_eq "md2: record while merging" "$(cow_record /dev/vdc)" merging
	assert_eq "md3: record while merging" "$(cow_record /dev/vdd)" merging
	power_cut
}

# md3 as md2, plus a second snapshot on an 8 MiB COW that the writes overflow.
volume_md3() {
	local mnt=/mnt/md3
	ok "md3: mkfs.xfs /dev/vdb" mkxfs /dev/vdb || return 1
	ok "md3: wrap /dev/vdb" dmsnap wrap /dev/vdb md3 || return 1
	mkdir -p $mnt
	ok "md3: mount" mount /dev/mapper/md3 $mnt || return 1
	echo snapshot-time >$mnt/marker
	random_file $mnt/big 96
	sync
	checksum_tree $mnt >/keep/md3.tree
	ok "md3: snap on /dev/mapper/md3cow" dmsnap snap md3 /dev/mapper/md3cow || return 1
	assert_eq "md3: record after the snap" "$(cow_record /dev/vdd)" snapshot
	ok "md3: second snap on an 8 MiB COW" dmsnap snap -s md3_ov md3 /dev/mapper/ovcow || return 1
	assert_eq "md3: record on the small COW" "$(cow_record /dev/mapper/ovcow)" snapshot
	echo after-snapshot >$mnt/marker
	ok "md3: $SCATTER scattered writes" scatter $mnt/big
	sync
	contains "md3: the small snapshot overflowed" "$(dmsetup status md3_ov)" 'Invalid'
	assert_eq "md3: overflow: the kernel's header says invalid" "$(cow_header /dev/mapper/ovcow)" invalid
	assert_eq "md3: overflow: the record went with the header chunk" "$(cow_record /dev/mapper/ovcow)" none
	assert_eq "md3: the big COW's record after the writes" "$(cow_record /dev/vdd)" snapshot
	ok "md3: drop the overflowed snapshot" dmsnap drop md3 md3_ov
	dmsetup remove ovcow
}

# snapshot_sums NAME [raw]: the snapshot's files (they must equal the origin's at
# snap time), and with raw the whole snapshot device's md5.
snapshot_sums() {
	ok "$1: mount the snapshot" mount -o ro,nouuid "/dev/mapper/$1_snap" /mnt/s || return
	assert_eq "$1: snapshot files as at snap time" "$(checksum_tree /mnt/s)" "$(cat "/keep/$1.tree")"
	umount /mnt/s
	[ -z "${2:-}" ] || md5sum <"/dev/mapper/$1_snap" >"/keep/$1.raw"
}

# In the initramfs (hook.rdinit), before anything reads md2: the COW as LVM would
# bring it (dm-delay over vdc), md2 configured with it, the hook.
hook_boot() {
	assert_eq "md2: record at boot, before the hook" "$(cow_record /dev/vdc)" merging
	slow md2cow /dev/vdc $DELAY
	echo "wrap md2 /dev/vda /dev/mapper/md2cow" >/etc/dmsnap.conf
	/usr/local/share/dmsnap/initramfs-hook wrap
}

boot2() {
	local l
	restore_files $KEEP
	contains "md2: the hook continued the merge" "$(dmesg)" \
		'dmsnap-boot: md2: merge from /dev/mapper/md2cow continued'
	assert_eq "md2: merging after the hook" "$(dmsnap table md2 | cut -d' ' -f3)" snapshot-merge
	assert_eq "md2: record while the continued merge runs" "$(cow_record /dev/vdc)" merging
	l=$(left md2)
	echo "merge_powercut: md2 has ${l:-?} sectors left to merge when the first read starts"
	ok "md2: show -p: merging with data left before the first read" test "${l:-0}" -gt 0
	assert_eq "md2 reads as the snapshot while it merges (whole device)" \
		"$(md5sum </dev/mapper/md2)" "$(cat /keep/md2.raw)"
	ok "md2: merge --wait finishes it" dmsnap merge --wait md2 || return
	contains "md2: merge --wait reported progress" "$(cat /tmp/lib.out)" 'merged 100.0%'
	assert_eq "md2: linear after the merge" "$(dmsnap table md2 | cut -d' ' -f3)" linear
	assert_eq "md2: the finished merge retired its COW" "$(cow_record /dev/vdc)/$(cow_header /dev/vdc)" none/none
	blockdev --flushbufs /dev/mapper/md2
	assert_eq "md2 reads as the snapshot after the merge (whole device)" \
		"$(md5sum </dev/mapper/md2)" "$(cat /keep/md2.raw)"
	ok "md2: xfs_repair -n" xfs_repair -n /dev/mapper/md2
	mkdir -p /mnt/md2
	ok "md2: mount" mount /dev/mapper/md2 /mnt/md2 || return
	assert_eq "md2: files as at snap time" "$(checksum_tree /mnt/md2)" "$(cat /keep/md2.tree)"
	umount /mnt/md2

	# md3 by hand: not configured, so nothing continued it at boot.
	assert_eq "md3: record at boot" "$(cow_record /dev/vdd)" merging
	ok "md3: wrap by hand" dmsnap wrap /dev/vdb md3 || return
	expect_exit 4 "md3: snap --reattach: exit 4, a merge was under way" dmsnap snap --reattach md3 /dev/vdd
	contains "md3: snap --reattach says how to continue it" "$(cat /tmp/lib.out)" "dmsnap merge md3 /dev/vdd"
	assert_eq "md3: no snapshot made" "$(dmsnap show -p md3)" ""
	ok "md3: merge --wait md3 COW continues it" dmsnap merge --wait md3 /dev/vdd || return
	assert_eq "md3: linear after the merge" "$(dmsnap table md3 | cut -d' ' -f3)" linear
	assert_eq "md3: the finished merge retired its COW" "$(cow_record /dev/vdd)/$(cow_header /dev/vdd)" none/none
	ok "md3: xfs_repair -n" xfs_repair -n /dev/mapper/md3
	mkdir -p /mnt/md3
	ok "md3: mount" mount /dev/mapper/md3 /mnt/md3 || return
	assert_eq "md3: files as at snap time" "$(checksum_tree /mnt/md3)" "$(cat /keep/md3.tree)"
	umount /mnt/md3
}

[ -n "${HOOK_RDINIT:-}" ] || boot$BOOT
