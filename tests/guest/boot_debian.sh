# boot_debian: the initramfs-tools variant.  Boot 1 (standard /init) builds the
# root on md2 as boot_root does; boot 2 boots an image made by Debian's
# mkinitramfs (boot_debian.host) with initramfs-hook as hooks/dmsnap and
# scripts/local-top/dmsnap and "wrap md2 /dev/md2" in /etc/dmsnap.conf: udev and
# mdadm assemble md2, the hook wraps it, initramfs-tools mounts root=UUID=(md2's
# XFS) through /dev/mapper/md2 and runs the root's /sbin/init, which runs boot2 here.
# boots: 2
# timeout: 200

. /tests/boot_root.sh

boot1() {
	make_root # its "md2 xfs uuid" line gives boot 2 root=UUID=, as Debian's installer does
}

boot2() {
	if grep -qw dmsnap.nodebian /proc/cmdline; then
		skip "root through initramfs-tools" "the host could not build the image (its SKIP line says why)"
		return
	fi
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

[ "$SCENARIO" != boot_debian ] || boot$BOOT
