# boot_debian: the initramfs-tools variant.  Boot 1 (standard /init) builds the
# root on md2 as boot_root does; boot 2 boots an image made by Debian's
# mkinitramfs (boot_debian.host) with initramfs-hook as hooks/dmsnap and
# scripts/local-top/dmsnap and "wrap md2 /dev/md2 /dev/vdc" in /etc/dmsnap.conf:
# udev and mdadm assemble md2, the hook wraps it, initramfs-tools mounts
# root=UUID=(md2's XFS) through /dev/mapper/md2 and runs the root's /sbin/init,
# which runs boot2 here; it leaves a persistent snapshot of the root on vdc.
# Boot 3 boots the same image with vdb blank: md2 is missing a member, so mdadm
# leaves it inactive; the hook waits for the moment mdadm's last resort would
# start it degraded, starts it, wraps it and reattaches the snapshot. After a
# coldplug (as systemd does next) every /dev/mapper link is still there, the
# reattached snapshot's and its COW device's too.
# boots: 3
# timeout: 200

. /tests/boot_root.sh

# never_named NAME: after the coldplug, no /dev/disk/by-uuid link names NAME,
# which carries root's filesystem UUID too.
never_named() {
	local d
	for d in /sys/class/block/dm-*; do [ "$(cat "$d/dm/name")" = "$1" ] && break; done
	if grep -q "/${d##*/}\$" /run/coldplug.by-uuid; then
		fail "by-uuid never names $1 (${d##*/})" "$(cat /run/coldplug.by-uuid)"
	else
		pass "by-uuid never names $1"
	fi
}

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
	never_named md2_dup
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
	# kept for boot 3's hook to reattach
}

# Degraded: root still comes through the wrapper, the snapshot is back, and snapshots work.
boot3() {
	no_debian_image && return
	root_through_wrapper origin
	contains "the hook reattached boot 2's snapshot" "$(dmesg)" 'dmsnap-boot: md2: snapshot reattached from /dev/vdc'
	assert_eq "/dev/mapper links survive a coldplug, the reattached snapshot's and its COW's too" \
		"$(tr '\n' ' ' </run/coldplug.mapper)" "control md2 md2_dup md2_snap md2_snap-cow "
	never_named md2_snap
	contains "udev database: the reattached snapshot as libdevmapper's" \
		"$(cat "/run/udev/data/b$(dm_devno md2_snap)" 2>&1)" 'DM_UDEV_DISABLE_DISK_RULES_FLAG=1'
	mkdir -p /mnt/s
	ok "mount the reattached snapshot" mount -o ro,nouuid /dev/mapper/md2_snap /mnt/s &&
		assert_eq "it holds boot 2's snapshot-time marker" "$(cat /mnt/s/data/marker)" snapshot-time &&
		umount /mnt/s
	bounded "drop the reattached snapshot" 60 dmsnap drop md2
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
