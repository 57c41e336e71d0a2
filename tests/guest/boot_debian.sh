# boot_debian: the initramfs-tools variant.  Boot 1 (standard /init) builds the
# root on md2 as boot_root does; boot 2 boots an image made by Debian's
# mkinitramfs (boot_debian.host) with initramfs-hook as hooks/dmsnap and
# scripts/local-top/dmsnap and "wrap md2 /dev/md2" in /etc/dmsnap.conf: udev and
# mdadm assemble md2, the hook wraps it, initramfs-tools mounts root=UUID=(md2's
# XFS) through /dev/mapper/md2 and runs the root's /sbin/init, which runs boot2 here.
# Boot 3 boots the same image with vdb blank: md2 is missing a member, so mdadm
# leaves it inactive; the hook waits for the moment mdadm's last resort would
# start it degraded, starts it, and wraps it.
# boots: 3
# timeout: 200

. /tests/boot_root.sh

boot1() {
	make_root # its "md2 xfs uuid" line gives boot 2 root=UUID=, as Debian's installer does
}

# no_debian_image: true (after a SKIP) when the host could not build the image.
no_debian_image() {
	grep -qw dmsnap.nodebian /proc/cmdline || return 1
	skip "root through initramfs-tools" "the host could not build the image (its SKIP line says why)"
}

boot2() {
	no_debian_image && return
	root_through_wrapper
	contains "the hook ran from local-top" "$(dmesg)" 'dmsnap-boot: root on /dev/mapper/md2, wrapping /dev/md2'
	# After a coldplug in the initramfs (boot_debian.host), with 54-dmsnap.rules:
	assert_eq "/dev/mapper links survive a coldplug" "$(tr '\n' ' ' </run/coldplug.mapper)" "control md2 md2_dup "
	contains "udev database: md2 as libdevmapper's" "$(cat "/run/udev/data/b$(dm_devno md2)" 2>&1)" \
		'DM_UDEV_PRIMARY_SOURCE_FLAG=1'
	sed 's/^/boot_debian: after coldplug: /' /run/coldplug.by-uuid
	local dup
	for dup in /sys/class/block/dm-*; do [ "$(cat "$dup/dm/name")" = md2_dup ] && break; done
	if grep -q "/${dup##*/}\$" /run/coldplug.by-uuid; then
		fail "by-uuid never names md2_dup (${dup##*/})" "$(cat /run/coldplug.by-uuid)"
	else
		pass "by-uuid never names md2_dup"
	fi
	mkdir -p /data /mnt/s
	echo snapshot-time >/data/marker
	sync
	echo 3 >/proc/sys/vm/drop_caches
	bounded "snap of the running root" 60 dmsnap -v snap md2 /dev/vdc || return
	echo "boot_debian: md2, the running root, was suspended for $(sed -n 's/.*suspended for \(.*\) ms/\1/p' "$OUT") ms"
	echo after-snapshot >/data/marker
	sync
	ok "mount the snapshot" mount -o ro,nouuid /dev/mapper/md2_snap /mnt/s || return
	assert_eq "snapshot holds the snapshot-time marker" "$(cat /mnt/s/data/marker)" snapshot-time
	umount /mnt/s
	bounded "drop" 60 dmsnap drop md2
}

# Degraded: root still comes through the wrapper, and snapshots work.
boot3() {
	no_debian_image && return
	root_through_wrapper
	assert_eq "md2 runs degraded (vdb is blank)" "$(cat /sys/block/md2/md/degraded 2>&1)" 1
	contains "the hook waited for mdadm's last resort" "$(dmesg)" \
		'dmsnap-boot: md2: /dev/md2 is missing members; as mdadm would, waiting until'
	contains "the hook started md2 degraded" "$(dmesg)" 'dmsnap-boot: md2: started /dev/md2 degraded'
	dmesg | grep 'dmsnap-boot: md2: .*degraded' | sed 's/^/show: boot_debian: /'
	mkdir -p /mnt/s
	echo degraded-snapshot >/data/marker
	sync
	bounded "snap of the degraded running root" 60 dmsnap snap md2 /dev/vdc || return
	echo after-degraded-snapshot >/data/marker
	sync
	ok "mount the snapshot" mount -o ro,nouuid /dev/mapper/md2_snap /mnt/s || return
	assert_eq "snapshot of the degraded root holds its marker" "$(cat /mnt/s/data/marker)" degraded-snapshot
	umount /mnt/s
	bounded "drop" 60 dmsnap drop md2
}

[ "$SCENARIO" != boot_debian ] || boot$BOOT
