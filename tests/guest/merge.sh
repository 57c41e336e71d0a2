# merge: roll the origin back to a snapshot. The snapshot's content flows back
# into the origin; the origin ends linear with the snapshot-time files.
# timeout: 600

setup() {
	ok "mkfs.xfs vda" mkxfs /dev/vda || return 1
	ok "wrap" dmsnap wrap /dev/vda md2 || return 1
	mkdir -p /mnt/o
	mount /dev/mapper/md2 /mnt/o || return 1
	for i in 1 2 3 4; do random_file /mnt/o/f$i 8; done
	sync
	checksum_tree /mnt/o >/tmp/before
}

change_origin() {
	random_file /mnt/o/f1 8
	rm /mnt/o/f2
	random_file /mnt/o/new 16
	sync
}

merge_wait() {
	ok "snap" dmsnap snap md2 /dev/vdc || return 1
	change_origin
	fails "merge refused while the origin is mounted" dmsnap merge --wait md2 md2_snap
	contains "merge says why" "$(cat /tmp/lib.out)" 'unmount'
	umount /mnt/o
	ok "merge --wait" dmsnap merge --wait md2 md2_snap || return 1
	assert_eq "linear after the merge" "$(dmsetup table md2 | cut -d' ' -f3)" linear
	fails "snapshot device gone" dmsetup info md2_snap
	ok "mount merged origin" mount /dev/mapper/md2 /mnt/o || return 1
	assert_eq "origin equals the snapshot time" "$(checksum_tree /mnt/o)" "$(cat /tmp/before)"
	umount /mnt/o
	ok "xfs_repair -n after merge" xfs_repair -n /dev/mapper/md2
}

merge_background() {
	mount /dev/mapper/md2 /mnt/o
	ok "snap" dmsnap snap md2 /dev/vdc || return 1
	change_origin
	umount /mnt/o
	ok "merge in the background" dmsnap merge md2 md2_snap || return 1
	ok "merge --wait finishes it" dmsnap merge --wait md2
	assert_eq "linear after the merge" "$(dmsetup table md2 | cut -d' ' -f3)" linear
	mount /dev/mapper/md2 /mnt/o
	assert_eq "origin equals the snapshot time" "$(checksum_tree /mnt/o)" "$(cat /tmp/before)"
}

refusals() {
	ok "transient snap" dmsnap snap -n md2 /dev/vdc
	umount /mnt/o
	fails "transient snapshots are not merged" dmsnap merge md2 md2_snap
	contains "says why" "$(cat /tmp/lib.out)" 'transient'
	ok "drop" dmsnap drop md2
	fails "merge of a missing snapshot" dmsnap merge md2 nosuch
	fails "merge with nothing named" dmsnap merge md2
}

setup || return 0
merge_wait
merge_background
refusals
