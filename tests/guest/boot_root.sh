# boot_root: root on md2, mounted through dmsnap's wrapper by initramfs-hook at
# boot; the running root snapshotted from inside itself; a persistent snapshot of
# it rebuilt by the hook on the next boot.  Boot 1 (standard /init) builds RAID1
# md2 with XFS and a busybox root on it.  Boots 2 and 3 start a Slackware-style
# initramfs init (boot_root.host) that runs the hook and switch_roots into md2,
# whose /sbin/init (written here) runs this file's boot2 / boot3 from inside.
# boots: 3
# timeout: 240

# ---- shared with boot_badconfig and boot_debian (they source this file) ----

# root_init: /sbin/init of the root on md2: sets up, runs /tests/$SCENARIO.sh
# (dmsnap.run= names it) like the standard /init does, then end_boot.
root_init() {
	cat <<'EOF'
#!/bin/sh
# /sbin/init of the test root on md2, written by boot_root.sh in boot 1.
export PATH=/usr/sbin:/usr/bin:/sbin:/bin HOME=/root
[ -r /proc/mounts ] || mount -t proc proc /proc
[ -d /sys/class/block ] || mount -t sysfs sys /sys
[ -c /dev/console ] || mount -t devtmpfs dev /dev
exec 0</dev/console 1>/dev/console 2>&1
mount -o remount,rw / || echo "root-init: cannot remount / read-write"
mount -t tmpfs tmp /tmp
grep -q ' /run ' /proc/mounts || mount -t tmpfs run /run
dmesg -n 1
BOOT=1 SCENARIO=unknown
for w in $(cat /proc/cmdline); do
	case $w in
	dmsnap.boot=*) BOOT=${w#*=} ;;
	dmsnap.run=*) SCENARIO=${w#*=} ;;
	esac
done
export BOOT SCENARIO RESULTS=/run/dmsnap-results DMSNAP=/usr/sbin/dmsnap
echo "==== dmsnap-guest: begin $SCENARIO ===="
echo "root-init: up after $(cut -d' ' -f1 /proc/uptime) s, / on $(awk '$2 == "/" { d = $1 } END { print d }' /proc/mounts)"
: >"$RESULTS"
t=$(sed -n 's/^# timeout: *//p' "/tests/$SCENARIO.sh" | head -n 1)
timeout "${t:-240}" sh -u -c '. /tests/lib.sh && . "$0"' "/tests/$SCENARIO.sh" </dev/null
rc=$?
. /tests/lib.sh
if [ $rc -ne 0 ] && ! grep -q FAIL "$RESULTS"; then
	fail guest "exited with status $rc without reporting a failure (143: timed out)"
elif [ ! -s "$RESULTS" ]; then
	fail guest "ran no test on boot $BOOT"
fi
dmesg >/tmp/kmsg
sed 's/^/kmsg: /' /tmp/kmsg
if grep -qE 'BUG:|Oops|WARNING:|Call Trace:|blocked for more than' /tmp/kmsg; then
	fail kernel "$(grep -m1 -E 'BUG:|Oops|WARNING:|Call Trace:|blocked for more than' /tmp/kmsg)"
fi
echo "root-init: done after $(cut -d' ' -f1 /proc/uptime) s"
end_boot
EOF
}

# make_root: RAID1 md2 of vda+vdb, XFS, and a copy of this busybox initramfs
# (busybox, dmsnap, the oracles, /tests) as its root, with root_init as /sbin/init.
make_root() {
	local d
	ok "create md2 (RAID1 of vda, vdb)" make_md2 || return 1
	# (labelled: boot_dracut also boots it by root=LABEL=)
	ok "mkfs.xfs md2" mkxfs -L dmsnaproot /dev/md2 || return 1
	mkdir -p /mnt/r
	ok "mount md2" mount /dev/md2 /mnt/r || return 1
	for d in bin sbin usr lib lib64 etc tests; do
		[ -e "/$d" ] && cp -a "/$d" /mnt/r/
	done
	mkdir -p /mnt/r/proc /mnt/r/sys /mnt/r/dev /mnt/r/run /mnt/r/tmp /mnt/r/mnt /mnt/r/root
	rm -f /mnt/r/sbin/init # busybox's init applet; /sbin is /bin here
	root_init >/mnt/r/sbin/init
	chmod 755 /mnt/r/sbin/init
	ok "root filesystem on md2" test -x /mnt/r/usr/sbin/dmsnap -a -x /mnt/r/bin/busybox -a -r /mnt/r/tests/lib.sh
	umount /mnt/r
	echo "make_root: md2 xfs uuid $(blkid -s UUID -o value /dev/md2)"
	mdadm --stop /dev/md2 >/dev/null 2>&1
}

# root_dev: what / is mounted from.
root_dev() { awk '$2 == "/" { d = $1 } END { print d }' /proc/mounts; }

# bounded NAME SECS CMD...: ok NAME CMD..., but a CMD still running after SECS is
# a FAIL (a hang): md2 is then resumed from here so the guest can go on and report.
bounded() {
	local name=$1 secs=$2 pid i=0 rc
	shift 2
	"$@" >"$OUT" 2>&1 &
	pid=$!
	while kill -0 $pid 2>/dev/null && [ $i -lt $((secs * 10)) ]; do
		sleep 0.1
		i=$((i + 1))
	done
	if kill -0 $pid 2>/dev/null; then
		fail "$name" "still running after $secs s (hung): $*"
		dmsnap resume md2 >/dev/null 2>&1
		kill -9 $pid 2>/dev/null
		return 1
	fi
	wait $pid
	rc=$?
	succeeded "$name" $rc "$@"
}

# dm_devno NAME: major:minor of the dm device NAME.
dm_devno() {
	local d
	for d in /sys/class/block/dm-*; do
		[ "$(cat "$d/dm/name")" != "$1" ] || cat "$d/dev"
	done
}

# root_through_wrapper [origin]: / comes from /dev/mapper/md2, a dmsnap wrapper
# of md2: linear over it, or snapshot-origin over md2_dup when a snapshot exists.
root_through_wrapper() {
	local md2 want
	md2=$(cat /sys/class/block/md2/dev)
	want="0 $(sectors /dev/md2) linear $md2 0"
	[ "${1:-}" != origin ] || want="0 $(sectors /dev/md2) snapshot-origin $(dm_devno md2_dup)"
	assert_eq "/ mounted from /dev/mapper/md2" "$(root_dev)" /dev/mapper/md2
	assert_eq "dmsnap table md2: ${1:-linear}" "$(dmsnap table md2 2>&1)" "$want"
	assert_eq "dmsnap table md2_dup: linear over md2" "$(dmsnap table md2_dup 2>&1)" \
		"0 $(sectors /dev/md2) linear $md2 0"
	mkdir -p /mnt/md2
	if mount -o ro,nouuid /dev/md2 /mnt/md2 >"$OUT" 2>&1; then
		fail "md2 itself cannot be mounted beside the wrapper" "it was mounted"
		umount /mnt/md2
	else
		pass "md2 itself cannot be mounted beside the wrapper"
	fi
}

# ---- boot_root ----

boot1() {
	make_root
}

# The running root: a snapshot taken from inside it, read back, dropped; then a
# persistent one on vdd, left for boot 3.
boot2() {
	local ms
	root_through_wrapper
	contains "the hook logged the wrap" "$(dmesg)" 'dmsnap-boot: root on /dev/mapper/md2, wrapping /dev/md2'
	mkdir -p /data /mnt/s
	echo snapshot-time >/data/marker
	random_file /data/a 4
	sync
	checksum_tree /data >/sums.snap
	echo 3 >/proc/sys/vm/drop_caches
	bounded "snap of the running root (caches dropped) does not hang" 60 \
		dmsnap -v snap md2 /dev/vdc || return
	ms=$(sed -n 's/.*was suspended for \(.*\) ms/\1/p' "$OUT")
	echo "boot_root: md2, the running root, was suspended for $ms ms"
	contains "snap -v reports the suspended time" "$ms" '^[0-9]'
	echo after-snapshot >/data/marker
	random_file /data/a 4
	sync
	ok "mount the snapshot" mount -o ro,nouuid /dev/mapper/md2_snap /mnt/s || return
	assert_eq "snapshot holds the snapshot-time marker" "$(cat /mnt/s/data/marker)" snapshot-time
	assert_eq "snapshot files as at snap time" "$(checksum_tree /mnt/s/data)" "$(cat /sums.snap)"
	assert_eq "snapshot has the root's own init" "$(head -c 9 /mnt/s/sbin/init)" '#!/bin/sh'
	assert_eq "root has moved on" "$(cat /data/marker)" after-snapshot
	umount /mnt/s
	bounded "drop (suspends the running root again) does not hang" 60 dmsnap drop md2 || return
	assert_eq "md2 linear again after drop" "$(dmsnap table md2 | cut -d' ' -f3)" linear
	# What the hook looks for before it reattaches: gone with the drop.
	assert_eq "drop cleared the COW's header" "$(dd if=/dev/vdc bs=4 count=1 2>/dev/null | tr -d '\000')" ""

	# For boot 3: a persistent snapshot on vdd, then more writes, then power off.
	echo persistent-snapshot >/data/marker
	sync
	checksum_tree /data >/sums.persistent
	bounded "persistent snap of the running root on vdd" 60 dmsnap snap md2 /dev/vdd || return
	echo after-persistent >/data/marker
	random_file /data/b 2
	sync
}

# The hook found boot 2's COW on vdd and rebuilt the snapshot before the mount.
boot3() {
	root_through_wrapper origin
	contains "the hook reattached vdd" "$(dmesg)" 'dmsnap-boot: md2: snapshot reattached from /dev/vdd'
	contains "dmsnap show: md2_snap active on vdd" "$(dmsnap show -p md2)" \
		'snapshot=md2_snap cow=/dev/vdd state=active'
	mkdir -p /mnt/s
	ok "mount the reattached snapshot" mount -o ro,nouuid /dev/mapper/md2_snap /mnt/s || return
	assert_eq "reattached snapshot holds boot 2's marker" "$(cat /mnt/s/data/marker)" persistent-snapshot
	assert_eq "reattached snapshot files as at snap time" "$(checksum_tree /mnt/s/data)" \
		"$(cat /sums.persistent)"
	assert_eq "root kept the writes after it" "$(cat /data/marker)" after-persistent
	umount /mnt/s
	bounded "drop the reattached snapshot of the running root" 60 dmsnap drop md2

	# rc.S (docs/boot.md): data volumes wrapped late; root is left as it is.
	printf 'wrap md2 /dev/md2 /dev/vdd\nwrap scratch /dev/vde\n' >/tmp/rcS.conf
	ok "rc.S: initramfs-hook wrap" env DMSNAP_CONF=/tmp/rcS.conf /usr/local/share/dmsnap/initramfs-hook wrap
	assert_eq "rc.S: the data volume is wrapped" "$(dmsnap table scratch 2>&1 | cut -d' ' -f3)" linear
	contains "rc.S: root already wrapped, left alone" "$(dmesg)" 'dmsnap-boot: md2: already wraps /dev/md2'
	assert_eq "rc.S: no snapshot reattached to root" "$(dmsnap show -p md2)" ""
}

[ "$SCENARIO" != boot_root ] || boot$BOOT
