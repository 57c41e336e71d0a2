# boot_badconfig: a wrong configuration never stops the boot: root=/dev/md2 is
# mounted from md2 itself, nothing holds md2, and the console says why.  Boot 2:
# typos and missing devices on the kernel command line and in /etc/dmsnap.conf,
# plus an invalidated COW.  Boot 3: root=/dev/mapper/md2 and a wrap killed halfway
# (dmsnap-faults), whose leftover would hold md2 if the hook did not remove it.  Console lines are
# checked on the host (boot_badconfig.host), their kernel-log copies here.
# boots: 3
# timeout: 240

. /tests/boot_root.sh

# root_direct: / from md2 itself, writable, and no wrapper holds md2.
root_direct() {
	assert_eq "/ mounted from /dev/md2" "$(root_dev)" /dev/md2
	assert_eq "nothing holds md2" "$(ls /sys/class/block/md2/holders)" ""
	ok "root is writable" touch /written-in-boot-$BOOT
}

boot1() {
	make_root
	# A COW the kernel had invalidated (overflowed): magic "SnAp", valid 0.
	printf 'SnAp\000\000\000\000\001\000\000\000\040\000\000\000' |
		dd of=/dev/vdd bs=512 conv=notrunc,sync,fsync 2>/dev/null
	assert_eq "invalidated COW header on vdd" "$(dd if=/dev/vdd bs=4 count=1 2>/dev/null)" SnAp
}

boot2() {
	local log
	root_direct
	assert_eq "only the valid entry is wrapped" "$(dmsnap ls | cut -f1 | cut -d' ' -f1 | sort | tr '\n' ' ')" \
		"scratch scratch_dup "
	assert_eq "scratch: no snapshot from the invalid COW" "$(dmsnap show -p scratch)" ""
	log=$(dmesg)
	contains "log: not NAME:DEV" "$log" "dmsnap-boot: dmsnap.wrap: 'md2/dev/md2' is not NAME:DEV"
	contains "log: md9 missing" "$log" 'dmsnap-boot: md9: /dev/md9 did not appear within 3 s: not wrapped'
	contains "log: vda busy, naming its holder" "$log" 'dmsnap-boot: vda: /dev/vda not wrapped: /dev/vda is held by md2'
	contains "log: bad name" "$log" "dmsnap-boot: dmsnap.wrap=bad/name:/dev/md2: 'bad/name' cannot name a wrapper"
	contains "log: conf keyword" "$log" "dmsnap-boot: /etc/dmsnap.conf:2: unknown keyword 'wrpa'"
	contains "log: conf fields" "$log" "dmsnap-boot: /etc/dmsnap.conf:3: want 'wrap NAME DEV \[COW\]'"
	contains "log: invalid COW" "$log" 'dmsnap-boot: scratch: snapshot on /dev/vdd not reattached: .*invalidated'
	contains "log: root unwrapped" "$log" 'dmsnap-boot: root: mounting /dev/md2 directly'
}

boot3() {
	if ! grep -q DMSNAP_FAIL /proc/cmdline; then
		skip "wrap killed halfway" "no dmsnap-faults beside the dmsnap under test (make dmsnap-faults)"
		return
	fi
	root_direct
	assert_eq "no dm device left" "$(dmsnap ls)" "No devices found"
	contains "log: wrap killed" "$(dmesg)" 'dmsnap-boot: md2: /dev/md2 not wrapped: dmsnap died of signal 9'
	contains "log: leftover removed" "$(dmesg)" 'dmsnap-boot: md2: removed the half-made md2_dup'
	ok "md2 can be wrapped now" dmsnap ls
}

[ "$SCENARIO" != boot_badconfig ] || boot$BOOT
