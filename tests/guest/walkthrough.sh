# walkthrough: the admin's backup procedure on XFS over md RAID1, one dmsnap
# command per step: wrap, mount, snap under a live writer, mount the snapshot,
# check it, watch the COW, drop; three rounds; two snapshots at once; unwrap.

ORIGIN=/mnt/origin
SNAPDIR=/mnt/snap
WLOG=/tmp/writer.log   # "file sha256" of every file the writer finished

# writer: keeps creating 256 KiB files with fsync on the origin until /tmp/stop exists.
writer() {
	local i=0
	mkdir -p $ORIGIN/w
	while [ ! -e /tmp/stop ]; do
		i=$((i + 1))
		dd if=/dev/urandom of=$ORIGIN/w/f$i bs=64k count=4 conv=fsync 2>/dev/null
		echo "f$i $(sha256sum <$ORIGIN/w/f$i | cut -d' ' -f1)" >>$WLOG
	done
}

start_writer() { rm -f /tmp/stop $WLOG; writer & WRITER=$!; sleep 1; }
stop_writer() { touch /tmp/stop; wait $WRITER; }

# writer_files_ok DIR: every writer file in DIR, but the newest (cut by the freeze
# mid-write, or not), has the content the writer logged.
writer_files_ok() {
	local dir=$1 newest bad=0 f sum want
	newest=$(ls $dir/w | sed 's/^f//' | sort -n | tail -1)
	for f in $(ls $dir/w); do
		[ "$f" = "f$newest" ] && continue
		sum=$(sha256sum <$dir/w/$f | cut -d' ' -f1)
		want=$(grep "^$f " $WLOG | cut -d' ' -f2)
		[ "$sum" = "$want" ] || { echo "$f: $sum, logged $want"; bad=1; }
	done
	return $bad
}

setup() {
	ok "md2 RAID1" make_md2 || return 1
	ok "mkfs.xfs md2" mkxfs /dev/md2 || return 1
	ok "wrap md2" dmsnap wrap /dev/md2 || return 1
	assert_eq "wrap prints the mapper path" "$(cat /tmp/lib.out)" /dev/mapper/md2
	MD2=$(cat /sys/block/md2/dev)
	assert_eq "md2 is linear over md2" "$(dmsetup table md2)" "0 $(sectors /dev/md2) linear $MD2 0"
	assert_eq "md2_dup is the same" "$(dmsetup table md2_dup)" "0 $(sectors /dev/md2) linear $MD2 0"
	fails "wrapping twice refused" dmsnap wrap /dev/md2
	ok "wrap --if-missing accepts it" dmsnap wrap --if-missing /dev/md2
	mkdir -p $ORIGIN $SNAPDIR
	ok "mount /dev/mapper/md2" mount /dev/mapper/md2 $ORIGIN || return 1
	mkdir $ORIGIN/static
	for i in 1 2 3 4; do random_file $ORIGIN/static/s$i 4; done
	sync
	checksum_tree $ORIGIN/static >/tmp/static.before
}

# One round of the walkthrough with the writer running throughout.
round() {
	local n=$1 used1 used2
	start_writer
	ok "round $n: snap under a writer" dmsnap snap md2 /dev/vdc || { stop_writer; return 1; }
	assert_eq "round $n: snap prints the mapper path" "$(cat /tmp/lib.out)" /dev/mapper/md2_snap
	assert_eq "round $n: md2 is snapshot-origin" "$(dmsetup table md2 | cut -d' ' -f3)" snapshot-origin
	# After the snapshot the origin changes: the snapshot must not.
	random_file $ORIGIN/static/s1 4
	sync
	used1=$(dmsnap show -p md2 | sed -n 's/.*used_sectors=\([0-9]*\).*/\1/p')
	random_file $ORIGIN/after 16
	sync
	used2=$(dmsnap show -p md2 | sed -n 's/.*used_sectors=\([0-9]*\).*/\1/p')
	ok "round $n: show reports growing use ($used1 -> $used2)" test "$used2" -gt "$used1"
	stop_writer
	ok "round $n: mount snapshot ro,nouuid" mount -o ro,nouuid /dev/mapper/md2_snap $SNAPDIR || return 1
	assert_eq "round $n: snapshot has the snap-time static files" "$(checksum_tree $SNAPDIR/static)" \
		"$(cat /tmp/static.before)"
	ok "round $n: snapshot's writer files are whole" writer_files_ok $SNAPDIR
	fails "round $n: snapshot has no file from after the snap" test -e $SNAPDIR/after
	ok "round $n: origin's writer files intact" writer_files_ok $ORIGIN
	fails "round $n: drop refused while the snapshot is mounted" dmsnap drop md2
	contains "round $n: drop names the mount" "$(cat /tmp/lib.out)" "mounted on $SNAPDIR"
	ok "round $n: origin still writable after the refusal" sh -c "echo x >$ORIGIN/alive && sync"
	ok "round $n: umount snapshot" umount $SNAPDIR
	ok "round $n: xfs_repair -n on the snapshot" xfs_repair -n /dev/mapper/md2_snap
	ok "round $n: drop" dmsnap drop md2
	assert_eq "round $n: md2 back to linear" "$(dmsetup table md2)" "0 $(sectors /dev/md2) linear $MD2 0"
	fails "round $n: snapshot device gone" dmsetup info md2_snap
	# The next round starts from the origin as it is now.
	rm -rf $ORIGIN/after $ORIGIN/w
	sync
	checksum_tree $ORIGIN/static >/tmp/static.before
}

show_output_formats() {
	ok "show" dmsnap show
	contains "show names the origin" "$(cat /tmp/lib.out)" '^md2: /dev/md2'
	contains "show lists the snapshot" "$(cat /tmp/lib.out)" 'md2_snap .*cow /dev/vdc .*active'
	contains "show -p is key=value" "$(dmsnap show -p)" \
		'^origin=md2 snapshot=md2_snap cow=/dev/vdc state=active used_sectors=[0-9]* total_sectors=[0-9]* metadata_sectors=[0-9]* percent=[0-9.]* chunk=32$'
}

two_snapshots() {
	local a b
	echo first >$ORIGIN/marker && sync
	ok "first of two snapshots" dmsnap snap -s first md2 /dev/vdc || return 1
	echo second >$ORIGIN/marker && sync
	ok "second snapshot beside it" dmsnap snap md2 /dev/vdd || return 1
	assert_eq "second gets NAME_snap" "$(cat /tmp/lib.out)" /dev/mapper/md2_snap
	echo third >$ORIGIN/marker && sync
	show_output_formats_two=$(dmsnap show -p md2 | wc -l)
	assert_eq "show lists both" "$show_output_formats_two" 2
	mkdir -p /mnt/a /mnt/b
	mount -o ro,nouuid /dev/mapper/first /mnt/a && mount -o ro,nouuid /dev/mapper/md2_snap /mnt/b
	a=$(cat /mnt/a/marker) b=$(cat /mnt/b/marker)
	umount /mnt/a /mnt/b
	assert_eq "first snapshot shows its time" "$a" first
	assert_eq "second snapshot shows its time" "$b" second
	assert_eq "origin shows now" "$(cat $ORIGIN/marker)" third
	ok "drop one of two" dmsnap drop md2 first
	assert_eq "origin keeps snapshot-origin for the other" "$(dmsetup table md2 | cut -d' ' -f3)" snapshot-origin
	ok "the other still reads" sh -c 'mount -o ro,nouuid /dev/mapper/md2_snap /mnt/b && grep -q second /mnt/b/marker && umount /mnt/b'
	ok "drop the last" dmsnap drop md2
	assert_eq "linear after the last" "$(dmsetup table md2 | cut -d' ' -f3)" linear
}

finish() {
	fails "unwrap refused while mounted" dmsnap unwrap md2
	ok "umount origin" umount $ORIGIN
	ok "unwrap" dmsnap unwrap md2
	fails "wrapper gone" dmsetup info md2
	fails "duplicate gone" dmsetup info md2_dup
	ok "xfs_repair -n on md2" xfs_repair -n /dev/md2
}

setup || return 0
round 1
ok "snap -v reports the freeze" dmsnap snap -v md2 /dev/vdc && contains "suspended time printed" "$(cat /tmp/lib.out)" 'was suspended for [0-9.]* ms'
show_output_formats
dmsnap drop md2 >/dev/null 2>&1
round 2
round 3
two_snapshots
finish
