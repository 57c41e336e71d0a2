# grow: a live snapshot's COW grows by more devices while a writer would overflow
# it; the origin is never suspended; the snapshot stays valid and shows the
# snapshot-time content; a bare COW is refused, a grown COW drops and merges clean.
# timeout: 400

O=/mnt/o S=/mnt/s

total() { dmsnap show -p md2 | sed -n "s/.*snapshot=$1 .*total_sectors=\([0-9]*\).*/\1/p"; }
state() { dmsnap show -p md2 | sed -n "s/.*snapshot=$1 .*state=\([a-z]*\).*/\1/p"; }

# writer FILE MIB: MIB of new data, 1 MiB and an fsync at a time.
writer() {
	local i=0
	while [ $i -lt "$2" ]; do
		dd if=/dev/zero of="$1" bs=1M count=1 seek=$i conv=notrunc,fsync 2>/dev/null || return 1
		i=$((i + 1))
	done
}

# watch_suspended DEV FILE: until FILE goes, note in FILE.seen any moment DEV is suspended.
watch_suspended() {
	while [ -e "$2" ]; do
		dmsetup info "$1" 2>/dev/null | grep -q 'State: *SUSPENDED' && echo "$1 suspended" >>"$2.seen"
	done
}

ok "mkfs.xfs vda" mkxfs /dev/vda || exit 1
ok "wrap" dmsnap wrap /dev/vda md2 || exit 1
mkdir -p $O $S
mount /dev/mapper/md2 $O && random_file $O/data 8 && sync
sums=$(checksum_tree $O)

# --- grow under a writer that would overflow the first COW ---
ok "snap on the 64 MiB vde" dmsnap snap md2 /dev/vde || exit 1
assert_eq "the COW sits behind its own device" "$(dmsetup table md2_snap-cow | cut -d' ' -f3)" linear
snap_sum=$(md5sum </dev/mapper/md2_snap)
before=$(total md2_snap)
writer $O/big 150 &
W=$!
wait_for 60 sh -c "[ \$(stat -c %s $O/big 2>/dev/null || echo 0) -ge $((20 << 20)) ]"
touch /tmp/watching
watch_suspended md2 /tmp/watching &
ok "grow while the writer runs" env DMSNAP_TRACE=1 dmsnap-faults grow md2 /dev/vdd
cp /tmp/lib.out /tmp/grow.trace
lacks "the record names the new member" "$(cat /tmp/grow.trace)" 'no dmsnap record'
assert_eq "the record on the first member says snapshot" "$(cow_record /dev/vde)" snapshot
assert_eq "and is of version 2 (members)" "$(head -c 8 /tmp/cow_record)" dmsnapR2
rm /tmp/watching
ok "the writer was still running during grow" running $W
lacks "grow never suspends the origin (its ioctls)" "$(cat /tmp/grow.trace)" 'DM_DEV_SUSPEND md2$'
contains "grow switches the COW's own device" "$(cat /tmp/grow.trace)" 'DM_DEV_SUSPEND md2_snap-cow'
assert_eq "md2 never seen suspended while grow ran" "$(cat /tmp/watching.seen 2>/dev/null)" ""
ok "writer finished (150 MiB through a 64 MiB COW + 256 MiB)" wait $W
sync
after=$(total md2_snap)
ok "show reports the larger total ($before -> $after)" test "$after" -gt $((before + 400000))
assert_eq "snapshot still valid after the writer" "$(state md2_snap)" active
contains "show names the first device and how many more" "$(dmsnap show -p md2)" 'cow=/dev/vde+1 ' 
assert_eq "snapshot device reads as at snap time (md5)" "$(md5sum </dev/mapper/md2_snap)" "$snap_sum"
mount -o ro,nouuid /dev/mapper/md2_snap $S && {
	assert_eq "snapshot files as at snap time" "$(checksum_tree $S)" "$sums"
	umount $S
}
assert_eq "the COW device maps both members" "$(dmsetup table md2_snap-cow | wc -l)" 2

# --- refusals: the new member is checked like a COW ---
mkfs.ext4 -q -F /dev/vdb
unchanged "grow by a device holding a filesystem" dmsnap grow md2 /dev/vdb
contains "says what it holds" "$(cat /tmp/lib.out)" 'ext'
unchanged "grow by the origin itself" dmsnap grow md2 /dev/vda
unchanged "grow by a member already in use" dmsnap grow md2 /dev/vdd
fails "grow of a snapshot that is not there" dmsnap grow md2 nosuch /dev/vdc
dd if=/dev/zero of=/dev/vdb bs=1M count=1 conv=fsync 2>/dev/null

# --- a grow killed after naming its member, before mapping it: the next grow forgets it ---
DMSNAP_FAIL=DM_TABLE_LOAD#1:kill dmsnap-faults grow md2 /dev/vdb >/dev/null 2>&1
assert_eq "the cut grow left its label on vdb" "$(dd if=/dev/vdb bs=8 count=1 iflag=direct 2>/dev/null)" dmsnapM1
ok "recover after the cut grow" dmsnap recover md2
ok "the next grow (by vdc)" dmsnap grow md2 /dev/vdc
assert_eq "vdb's stale label is gone" "$(dd if=/dev/vdb bs=4096 count=1 iflag=direct 2>/dev/null | tr -d '\000' | wc -c)" 0
assert_eq "the COW maps vde, vdd, vdc" "$(dmsetup table md2_snap-cow | cut -d' ' -f4 | tr '\n' ' ')" \
	"$(devno /dev/vde) $(devno /dev/vdd) $(devno /dev/vdc) "
assert_eq "and the record names three members" "$(cow_record /dev/vde; od -An -tu4 -j188 -N4 /tmp/cow_record | tr -d ' ')" "snapshot
3"

# --- a COW made by the seed's steps stays bare: show and drop work, grow says why ---
dmsetup create md2_hand --table "0 $(sectors /dev/mapper/md2_dup) snapshot /dev/mapper/md2_dup /dev/vdb P 32" && mknodes
ok "show sees the hand-made snapshot" dmsnap show md2
contains "both snapshots listed" "$(cat /tmp/lib.out)" 'md2_hand'
fails "grow refuses a bare COW" dmsnap grow md2 md2_hand /dev/vdb
contains "says why" "$(cat /tmp/lib.out)" 'bare device'
fails "grow with two snapshots needs a name" dmsnap grow md2 /dev/vdb
ok "drop the hand-made one" dmsnap drop md2 md2_hand
ok "drop the grown one" dmsnap drop md2
assert_eq "its COW device is gone" "$(dmsetup ls | grep -c cow)" 0
assert_eq "the appended members are retired (labels gone)" "$(dd if=/dev/vdd bs=4096 count=1 iflag=direct 2>/dev/null | tr -d '\000' | wc -c)$(dd if=/dev/vdc bs=4096 count=1 iflag=direct 2>/dev/null | tr -d '\000' | wc -c)" 00
ok "a later snap takes the old member without --force" dmsnap snap md2 /dev/vdd
ok "and drops it" dmsnap drop md2

# --- a grown snapshot merges back ---
ok "snap on vde" dmsnap snap md2 /dev/vde || exit 1
sums2=$(checksum_tree $O)
ok "grow by vdc" dmsnap grow md2 md2_snap /dev/vdc
writer $O/big 100
rm -f $O/data
sync
umount $O
ok "merge the grown snapshot" dmsnap merge --wait md2 md2_snap
assert_eq "no COW device left" "$(dmsetup ls | grep -c cow)" 0
mount /dev/mapper/md2 $O && {
	assert_eq "origin is the snapshot again" "$(checksum_tree $O)" "$sums2"
	umount $O
}
ok "origin xfs_repair -n clean" xfs_repair -n /dev/mapper/md2

# --- watch grows by spares in order: 200 MiB through a 64 MiB first COW ---
mount /dev/mapper/md2 $O || exit 1
rm -f $O/big
sync
ok "snap on vde for watch" dmsnap snap md2 /dev/vde || exit 1
snap_sum=$(md5sum </dev/mapper/md2_snap)
# at the default 5 s between rounds: the writer fills the first COW's half in less (it
# went from under 50 % to full between two 1 s samples once), so watch must look between rounds
dmsnap watch --grow-at 50 --grow-with /dev/vdd,/dev/vdc md2 >/tmp/watch.out 2>&1 &
WP=$!
ok "writer of 200 MiB" writer $O/big2 200
sync
sleep 2
kill $WP
wait $WP
grep -v '% used' /tmp/watch.out | sed 's/^/    watch: /'
tail -n 2 /tmp/watch.out | sed 's/^/    watch: /'
assert_eq "two spares consumed in order" "$(grep 'growing its COW' /tmp/watch.out | tr '\n' ' ')" \
	"md2_snap: growing its COW by /dev/vdd md2_snap: growing its COW by /dev/vdc "
assert_eq "the COW device maps vde, vdd, vdc in order" "$(dmsetup table md2_snap-cow | cut -d' ' -f4 | tr '\n' ' ')" \
	"$(devno /dev/vde) $(devno /dev/vdd) $(devno /dev/vdc) "
assert_eq "snapshot survived three first COWs of writes" "$(state md2_snap)" active
assert_eq "snapshot reads as at snap time (md5)" "$(md5sum </dev/mapper/md2_snap)" "$snap_sum"
lacks "no overflow warning while spares lasted" "$(cat /tmp/watch.out)" 'full'
umount $O
ok "drop" dmsnap drop md2
