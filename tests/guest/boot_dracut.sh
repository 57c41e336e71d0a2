# boot_dracut: the dracut variant.  Boot 1 (standard /init) builds the root on
# md2 as boot_root does.  Boots 2 to 4 boot images made by Debian 12's own
# dracut (boot_dracut.host) with modules.d/90dmsnap and "wrap md2 /dev/md2
# /dev/vdd" in /etc/dmsnap.conf, root=UUID= (md2's XFS) and rd.md.uuid=:
# dracut's udev assembles md2, its initqueue waits for /dev/disk/by-uuid/UUID,
# the module's pre-mount hook wraps md2 and the wrapper takes that link over,
# so dracut mounts root through /dev/mapper/md2; then the root's /sbin/init
# runs bootN here.  Boot 2, under systemd: a persistent snapshot of the running
# root on vdd.  Boot 3, dracut's own init and root=LABEL= (by-label, taken
# over the same way): the snapshot is reattached before the mount and reads as
# at snapshot time.  Boot 4, under systemd again, a bad
# configuration: root=/dev/md2, a path no wrapper can take over, and an entry
# for a device that never appears: root boots from md2 itself, nothing holds
# it, and the console says why (boot_dracut.host checks it).
# boots: 4
# timeout: 150

. /tests/boot_root.sh

boot1() {
	make_root || return
	# systemd switches root only into an OS tree, which os-release marks.
	ok "assemble md2 again" mdadm --assemble /dev/md2 /dev/vda /dev/vdb || return
	ok "mount md2" mount /dev/md2 /mnt/r || return
	printf 'ID=dmsnap-test\nNAME="dmsnap test root"\n' >/mnt/r/etc/os-release
	umount /mnt/r
	echo "boot_dracut: md2 array uuid $(mdadm --detail --export /dev/md2 | sed -n 's/^MD_UUID=//p')"
	mdadm --stop /dev/md2 >/dev/null 2>&1
}

# root_link_is DEV: dracut's root, /dev/disk/by-uuid/UUID or by-label/LABEL, names DEV.
root_link_is() {
	local link
	link=$(sed -n 's|.*root=UUID=\([^ ]*\).*|/dev/disk/by-uuid/\1|p; s|.*root=LABEL=\([^ ]*\).*|/dev/disk/by-label/\1|p' /proc/cmdline)
	assert_eq "${link:-root=UUID= or LABEL=} names $1" "$(devno "$link" 2>&1)" "$(devno "$1")"
}

boot2() {
	contains "the initramfs ran systemd" "$(dmesg)" 'systemd\[1\]: Running in initrd'
	root_through_wrapper
	root_link_is /dev/mapper/md2
	contains "the pre-mount hook wrapped root" "$(dmesg)" 'dmsnap-boot: root on /dev/mapper/md2, wrapping /dev/md2'
	contains "vdd held no snapshot yet" "$(dmesg)" 'dmsnap-boot: md2: /dev/vdd holds no snapshot store'
	mkdir -p /data
	echo snapshot-time >/data/marker
	random_file /data/a 4
	sync
	checksum_tree /data >/sums.snap
	echo 3 >/proc/sys/vm/drop_caches
	bounded "persistent snap of the running root on vdd" 60 dmsnap snap md2 /dev/vdd || return
	echo after-snapshot >/data/marker
	random_file /data/b 2
	sync
}

boot3() {
	lacks "the initramfs ran dracut's own init, not systemd" "$(dmesg)" 'systemd\[1\]'
	root_through_wrapper origin
	root_link_is /dev/mapper/md2
	contains "the pre-mount hook reattached vdd" "$(dmesg)" 'dmsnap-boot: md2: snapshot reattached from /dev/vdd'
	contains "dmsnap show: md2_snap active on vdd" "$(dmsnap show -p md2)" \
		'snapshot=md2_snap cow=/dev/vdd state=active'
	mkdir -p /mnt/s
	ok "mount the reattached snapshot" mount -o ro,nouuid /dev/mapper/md2_snap /mnt/s || return
	assert_eq "reattached snapshot holds boot 2's marker" "$(cat /mnt/s/data/marker)" snapshot-time
	assert_eq "reattached snapshot files as at snap time" "$(checksum_tree /mnt/s/data)" "$(cat /sums.snap)"
	assert_eq "root kept the writes after it" "$(cat /data/marker)" after-snapshot
	umount /mnt/s
	bounded "drop the reattached snapshot of the running root" 60 dmsnap drop md2
}

boot4() {
	assert_eq "/ mounted from /dev/md2" "$(root_dev)" /dev/md2
	assert_eq "nothing holds md2" "$(ls /sys/class/block/md2/holders)" ""
	lacks "no wrapper of md2" "$(dmsnap ls 2>&1)" "^md2"
	ok "root is writable" touch /written-in-boot-4
	contains "log: md2 left unwrapped" "$(dmesg)" 'dmsnap-boot: md2: root=/dev/md2 names /dev/md2 itself'
	contains "log: md9 missing" "$(dmesg)" 'dmsnap-boot: md9: /dev/md9 did not appear within 3 s: not wrapped'
	assert_eq "the root's data as boot 3 left it" "$(cat /data/marker)" after-snapshot
}

[ "$SCENARIO" != boot_dracut ] || boot$BOOT
