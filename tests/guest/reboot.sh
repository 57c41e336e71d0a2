# reboot: the disks keep their data across boots and across a power cut, and each
# boot can get its own kernel command line (header), initramfs (reboot.host) and
# first process (reboot.rdinit).
# boots: 3
# boot2-cmdline: dmsnap.marker=second
# boot3-cmdline: rdinit=/tests/reboot.rdinit

MARK1=written-in-boot-1   # then a clean shutdown
MARK2=synced-in-boot-2    # then a power cut
MARK3=unsynced-in-boot-2  # lost in the power cut

# write_at SECTOR TEXT [dd options]: TEXT at SECTOR of /dev/vdc.
write_at() { printf '%s' "$2" | dd of=/dev/vdc bs=512 seek="$1" conv=notrunc${3:+,$3} 2>/dev/null; }

# read_at SECTOR LEN: LEN bytes at SECTOR of /dev/vdc, NULs dropped.
read_at() { dd if=/dev/vdc bs=512 skip="$1" count=1 2>/dev/null | head -c "$2" | tr -d '\000'; }

boot1() {
	ok "write marker" write_at 8 "$MARK1" fsync
	fails "boot2-cmdline not on boot 1" grep -qw dmsnap.marker=second /proc/cmdline
	fails "host overlay not on boot 1" test -e /etc/dmsnap-overlay
}

boot2() {
	assert_eq "marker survives reboot" "$(read_at 8 ${#MARK1})" "$MARK1"
	contains "boot2-cmdline on boot 2" "$(cat /proc/cmdline)" 'dmsnap\.marker=second'
	assert_eq "host overlay on boot 2" "$(cat /etc/dmsnap-overlay 2>&1)" "laid over by reboot.host"
	ok "write synced marker" write_at 16 "$MARK2" fsync
	# The unsynced marker must stay in the page cache until the cut: no background
	# writeback, and an open descriptor so dd's close is not the last one (the last
	# close of a block device writes its dirty pages).
	echo 0 >/proc/sys/vm/dirty_writeback_centisecs
	exec 3</dev/vdc
	ok "write unsynced marker" write_at 24 "$MARK3"
	assert_eq "unsynced marker cached" "$(read_at 24 ${#MARK3})" "$MARK3"
	power_cut
}

boot3() {
	assert_eq "boot 3 runs reboot.rdinit" "$(tr '\000' ' ' </proc/1/cmdline)" "/bin/sh /tests/reboot.rdinit "
	assert_eq "synced marker survives power cut" "$(read_at 16 ${#MARK2})" "$MARK2"
	assert_eq "unsynced marker lost in power cut" "$(read_at 24 ${#MARK3})" ""
	assert_eq "first marker still there" "$(read_at 8 ${#MARK1})" "$MARK1"
}

boot$BOOT
