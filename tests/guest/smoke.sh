# smoke: the guest has everything the dmsnap scenarios build on: device-mapper with
# the snapshot targets, md RAID1, XFS, ext4, LVM snapshots, and the binary under test.

device_mapper() {
	ok "dm-mod loaded" test -d /sys/module/dm_mod
	ok "dmsetup version" dmsetup version
	contains "snapshot targets" "$(dmsetup targets)" '^snapshot-origin'
}

linear_device() {
	local size
	size=$(sectors /dev/vdc)
	ok "linear create" dmsetup create smoke-lin --table "0 $size linear /dev/vdc 0" || return
	ok "linear node by mknodes" sh -c 'dmsetup mknodes && test -b /dev/mapper/smoke-lin'
	assert_eq "linear size" "$(sectors /dev/mapper/smoke-lin)" "$size"
	ok "linear remove" dmsetup remove smoke-lin
	fails "linear gone" dmsetup info smoke-lin
}

# Targets outside the boot list load on demand, as on a normal system.
on_demand_target() {
	ok "zero target loads on demand" dmsetup create smoke-zero --table "0 8 zero" || return
	dmsetup remove smoke-zero
}

# md2 + XFS, as on the servers dmsnap is for; data must come back from the disk.
md_xfs() {
	local sum
	ok "md2 create" make_md2 || return
	contains "md2 is raid1" "$(cat /proc/mdstat)" '^md2 : active raid1'
	ok "mkfs.xfs on md2" mkxfs /dev/md2 || return
	mkdir -p /mnt/xfs
	ok "mount xfs" mount /dev/md2 /mnt/xfs || return
	random_file /mnt/xfs/data 8
	sum=$(checksum_tree /mnt/xfs)
	ok "umount xfs" umount /mnt/xfs
	ok "xfs_repair -n clean" xfs_repair -n /dev/md2
	ok "mount xfs again" mount -o ro /dev/md2 /mnt/xfs || return
	assert_eq "xfs data from disk" "$(checksum_tree /mnt/xfs)" "$sum"
	umount /mnt/xfs
	ok "md2 stop" mdadm --stop /dev/md2
}

ext4() {
	ok "mkfs.ext4" mkext4 /dev/vdc || return
	mkdir -p /mnt/ext4
	ok "mount ext4" mount /dev/vdc /mnt/ext4 || return
	ok "write ext4" random_file /mnt/ext4/data 4
	umount /mnt/ext4
	ok "e2fsck clean" e2fsck -fn /dev/vdc
}

# LVM's own snapshot, the benchmarks' baseline.
lvm_snapshot() {
	ok "lvm version" lvm version || return
	ok "pvcreate" pvcreate /dev/vdd || return
	ok "vgcreate" vgcreate smokevg /dev/vdd || return
	ok "lvcreate" lvcreate -L 64M -n origin smokevg || return
	ok "mkfs on lv" mkext4 /dev/smokevg/origin
	ok "lvcreate -s" lvcreate -s -L 32M -n snap smokevg/origin || return
	contains "lv snapshot table" "$(dmsetup table smokevg-snap)" ' snapshot '
	ok "lv snapshot has the fs" e2fsck -fn /dev/smokevg/snap
	ok "vgremove" vgremove -f smokevg
}

# Scenarios that need a target missing unload it; the kernel must not load it back.
module_hiding() {
	local table
	table="0 $(sectors /dev/vde) snapshot-origin /dev/vde"
	ok "hide dm-snapshot" hide_module dm_snapshot || return
	fails "no snapshot-origin without module" dmsetup create smoke-orig --table "$table"
	ok "restore modules" restore_modules
	ok "snapshot-origin with module" dmsetup create smoke-orig --table "$table"
	dmsetup remove smoke-orig
}

binary() {
	ok "dmsnap on PATH" command -v dmsnap
	ok "dmsnap runs" sh -c '"$DMSNAP" --version || "$DMSNAP" version'
}

device_mapper
linear_device
on_demand_target
md_xfs
ext4
lvm_snapshot
module_hiding
binary
