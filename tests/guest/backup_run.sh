# backup_run: the whole backup in one command. run snaps, mounts the snapshot
# read-only, runs the backup command, and always tears down: on success, on the
# command's failure, on SIGTERM, and loudly (exit 3) when the COW overflows.
# timeout: 900

setup() {
	ok "mkfs.xfs vda" mkxfs /dev/vda || return 1
	ok "wrap" dmsnap wrap /dev/vda md2 || return 1
	mkdir -p /mnt/o
	ok "mount origin" mount /dev/mapper/md2 /mnt/o || return 1
	mkdir /mnt/o/set
	for i in 1 2 3 4 5 6; do random_file /mnt/o/set/f$i 4; done
	sync
	checksum_tree /mnt/o/set >/tmp/set.before
}

torn_down() {
	assert_eq "$1: origin linear again" "$(dmsetup table md2 | cut -d' ' -f3)" linear
	fails "$1: no snapshot left" dmsetup info md2_snap
	fails "$1: nothing left mounted" grep -q dmsnap /proc/mounts
	assert_eq "$1: no mount point left" "$(ls -d /run/dmsnap-md2_snap.* 2>/dev/null)" ""
}

# scribbler: once the snapshot exists, rewrite the whole file set on the origin.
scribbler() {
	while [ ! -e /dev/mapper/md2_snap ]; do sleep 0.1; done
	for i in 1 2 3 4 5 6; do random_file /mnt/o/set/f$i 4; done
	sync
}

tar_backup() {
	scribbler &
	ok "run: tar of the snapshot" dmsnap run md2 /dev/vdc -- \
		sh -c 'sleep 3; tar -C "$DMSNAP_MOUNT/set" -cf /tmp/backup.tar .'
	wait
	rm -rf /tmp/restore && mkdir /tmp/restore && tar -C /tmp/restore -xf /tmp/backup.tar
	assert_eq "run: backup equals the pre-snapshot file set" "$(checksum_tree /tmp/restore)" \
		"$(cat /tmp/set.before)"
	fails "run: the origin did change meanwhile" sh -c '[ "$(checksum_tree /mnt/o/set)" = "$(cat /tmp/set.before)" ]'
	torn_down "run"
	checksum_tree /mnt/o/set >/tmp/set.before
}

environment_and_mount_dir() {
	mkdir -p /mnt/backup-here
	ok "run --mount DIR" dmsnap run --mount /mnt/backup-here md2 /dev/vdc -- \
		sh -c 'echo "$DMSNAP_MOUNT $DMSNAP_DEVICE $DMSNAP_ORIGIN" >/tmp/env; grep -q " /mnt/backup-here xfs ro" /proc/mounts'
	assert_eq "run: environment" "$(cat /tmp/env)" "/mnt/backup-here /dev/mapper/md2_snap md2"
	ok "run: the given DIR stays" test -d /mnt/backup-here
	torn_down "run --mount"
}

command_fails() {
	expect_exit 7 "run: CMD's exit status" dmsnap run md2 /dev/vdc -- sh -c 'exit 7'
	torn_down "failed CMD"
	expect_exit 127 "run: a missing CMD" dmsnap run md2 /dev/vdc -- /no/such/command
	torn_down "missing CMD"
}

sigterm() {
	local pid rc=0
	dmsnap run md2 /dev/vdc -- sleep 60 >/tmp/run.out 2>&1 &
	pid=$!
	for i in $(seq 100); do [ -e /dev/mapper/md2_snap ] && grep -q dmsnap /proc/mounts && break; sleep 0.1; done
	sleep 0.5
	kill -TERM $pid
	wait $pid || rc=$?
	assert_eq "SIGTERM: exit 143" "$rc" 143
	torn_down "SIGTERM"
	ok "SIGTERM: origin writable" sh -c 'echo x >/mnt/o/alive && sync'
}

# /tmp/slow_fill: /tmp/big onto the origin 4 MiB at a time, so that the
# watchers' one-second samples see the COW pass 80% before it overflows.
echo 'for i in $(seq 0 23); do
	dd if=/tmp/big of=/mnt/o/big bs=1M count=4 skip=$((i * 4)) seek=$((i * 4)) conv=notrunc,fsync 2>/dev/null || exit
	sleep 0.5
done' >/tmp/slow_fill

overflow() {
	random_file /tmp/big 96
	expect_exit 3 "overflow: run exits 3" dmsnap run md2 /dev/vde -- sh /tmp/slow_fill
	contains "overflow: says the backup is incomplete" "$(cat /tmp/lib.out)" 'backup is INCOMPLETE'
	contains "overflow: warned on the way" "$(cat /tmp/lib.out)" 'COW [89][0-9].[0-9]% full'
	same "overflow: origin writes succeeded, data intact" /tmp/big /mnt/o/big
	torn_down "overflow"
	rm /mnt/o/big && sync
}

watch_overflow() {
	local pid rc=0
	ok "snap on the small COW" dmsnap snap md2 /dev/vde || return
	dmsnap watch --interval 1 md2 >/tmp/watch.out 2>&1 &
	pid=$!
	sleep 1
	sh /tmp/slow_fill
	for i in $(seq 60); do kill -0 $pid 2>/dev/null || break; sleep 1; done
	kill $pid 2>/dev/null
	wait $pid || rc=$?
	assert_eq "watch: exits 3 on invalid" "$rc" 3
	contains "watch: warned at 80%+" "$(cat /tmp/watch.out)" 'COW [89][0-9].[0-9]% full'
	contains "watch: reported INVALID" "$(cat /tmp/watch.out)" 'INVALID'
	expect_exit 3 "show exits 3 with an invalid snapshot" dmsnap show md2
	expect_exit 3 "watch --once exits 3" dmsnap watch --once md2
	ok "drop the invalid snapshot" dmsnap drop md2
	torn_down "watch"
}

watch_once() {
	ok "snap" dmsnap snap md2 /dev/vdc
	ok "watch --once" dmsnap watch --once md2
	contains "watch --once reports use" "$(cat /tmp/lib.out)" '^md2_snap: [0-9.]*% used'
	ok "drop" dmsnap drop md2
}

setup || return 0
tar_backup
environment_and_mount_dir
command_fails
sigterm
overflow
watch_overflow
watch_once
umount /mnt/o
ok "origin xfs_repair -n clean" xfs_repair -n /dev/mapper/md2
