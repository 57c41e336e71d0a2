# ext4: the same lifecycle on ext4. The freeze during snap leaves a clean journal,
# so the snapshot mounts with plain -o ro: no noload needed.

setup() {
	ok "mkfs.ext4 on vdd" mkext4 /dev/vdd || return 1
	ok "wrap vdd as data" dmsnap wrap /dev/vdd data || return 1
	mkdir -p /mnt/data /mnt/datasnap
	ok "mount /dev/mapper/data" mount /dev/mapper/data /mnt/data || return 1
	random_file /mnt/data/a 8
	random_file /mnt/data/b 8
	checksum_tree /mnt/data >/tmp/before
}

snapshot_ext4() {
	# Written but not synced: the freeze must flush it into the snapshot.
	random_file /mnt/data/unsynced 2
	checksum_tree /mnt/data >/tmp/before
	ok "snap data (COW vde, 64 MiB)" dmsnap snap data /dev/vde || return 1
	random_file /mnt/data/a 8
	echo changed >/mnt/data/b
	sync
	ok "snapshot mounts with plain -o ro" mount -o ro /dev/mapper/data_snap /mnt/datasnap || return 1
	assert_eq "snapshot holds the snap-time files" "$(checksum_tree /mnt/datasnap)" "$(cat /tmp/before)"
	umount /mnt/datasnap
	ok "e2fsck -n clean on the snapshot" e2fsck -fn /dev/mapper/data_snap
	contains "journal was clean (no recovery flag)" "$(dumpe2fs -h /dev/mapper/data_snap 2>/dev/null)" \
		'^Filesystem state: *clean'
	ok "drop" dmsnap drop data
	ok "umount origin" umount /mnt/data
	ok "unwrap" dmsnap unwrap data
	ok "e2fsck -n clean on the origin" e2fsck -fn /dev/vdd
}

setup && snapshot_ext4
