# concurrent: two dmsnap commands at once on one origin. The first is held at a
# named step (dmsnap-faults, DMSNAP_PAUSE): inside snap's work (cow-checked,
# synced) or right after it took dmsnap's lock (locked). The second waits for it,
# saying for whom, or is refused clearly; it never works on what the first is
# changing. Afterwards nothing is half done, every snapshot is protected (its
# origin carries snapshot-origin: a write to the origin leaves the snapshot as it
# was), show is content and recover finds nothing to do.
# timeout: 900

ORIGIN=/mnt/o

setup() {
	ok "mkfs.xfs vda" mkxfs /dev/vda || return 1
	ok "wrap" dmsnap wrap /dev/vda md2 || return 1
	mkdir -p $ORIGIN
	ok "mount origin" mount /dev/mapper/md2 $ORIGIN || return 1
	random_file $ORIGIN/data 4
	marker_setup
	[ -n "$MARK" ] || { fail "marker" "no extent for $ORIGIN/marker"; return 1; }
}

# --- the marker: one sector of $ORIGIN/marker's data, written and read beneath the
# filesystem, so that what a snapshot shows of it is plain to see.

marker_setup() {
	dd if=/dev/zero of=$ORIGIN/marker bs=4k count=1 conv=fsync 2>/dev/null
	MARK=$(xfs_io -r -c fiemap $ORIGIN/marker | sed -n 's/^.*0: \[0\.\.[0-9]*\]: *\([0-9][0-9]*\)\.\..*/\1/p')
}

# mark TEXT: TEXT goes to the marker sector through md2 (copied out first, if protected).
mark() { printf '%-511s\n' "$1" | dd of=/dev/mapper/md2 bs=512 seek="$MARK" conv=notrunc,fsync 2>/dev/null; }

# mark_of DEV: what DEV shows in the marker sector.
mark_of() {
	blockdev --flushbufs "$1"
	dd if="$1" bs=512 skip="$MARK" count=1 2>/dev/null | head -n 1 | tr -d ' '
}

# --- checks ------------------------------------------------------------------

# exited NAME RC WANT OUT: the command (output in OUT) exited WANT.
exited() {
	if [ "$2" -eq "$3" ]; then
		pass "$1"
	else
		fail "$1" "exit $2, want $3"
		tail -n 8 "$4" | sed 's/^/    | /'
		return 1
	fi
}

# after LABEL [SNAP=MARKER]...: the state once both commands are done. md2's
# snapshots are exactly the SNAPs given; each still shows its MARKER after md2 is
# written; nothing suspended or half loaded; show exits 0; recover finds nothing.
after() {
	local label=$1 want="" pair s new
	shift
	new=$(echo "$label" | tr -c 'a-zA-Z0-9\n' _)-new
	for pair in "$@"; do want="$want${pair%%=*} "; done
	ok "$label: nothing suspended or half loaded" dm_settled || return 1
	ok "$label: md2 protects its snapshots" protected md2
	assert_eq "$label: md2's snapshots" "$(snapshots_of md2 | tr '\n' ' ')" "$want"
	mark "$new"
	assert_eq "$label: md2 shows the new marker" "$(mark_of /dev/mapper/md2)" "$new"
	for pair in "$@"; do
		s=${pair%%=*}
		assert_eq "$label: $s still shows the marker of its time" "$(mark_of "/dev/mapper/$s")" "${pair#*=}"
	done
	expect_exit 0 "$label: show exits 0" dmsnap show md2
	recover_idle "$label"
}

# recover_idle LABEL: recover has nothing to repair.
recover_idle() {
	ok "$1: recover" dmsnap recover &&
		assert_eq "$1: recover finds nothing to do" "$(cat "$OUT")" "md2: consistent, nothing to do"
}

# reset: md2 linear and mounted, no snapshots, whatever a failed case left.
reset() {
	wait
	rm -f "$PAUSE"
	dmsnap recover >/dev/null 2>&1
	dmsetup table md2 | grep -q snapshot-merge && dmsnap merge --wait md2 >/dev/null 2>&1
	[ -z "$(snapshots_of md2)" ] || dmsnap drop md2 >/dev/null 2>&1
	grep -q " $ORIGIN " /proc/mounts || mount /dev/mapper/md2 $ORIGIN
	for cow in /dev/vdc /dev/vdd; do # blank, whatever the case left on them
		dd if=/dev/zero of=$cow bs=1M count=1 conv=fsync 2>/dev/null
		dd if=/dev/zero of=$cow bs=1M seek=$(($(sectors $cow) / 2048 - 1)) count=1 conv=fsync 2>/dev/null
		blockdev --flushbufs $cow
	done
	return 0
}

# held_fail LABEL: the first command never reached its step (the pre-lock build has
# no 'locked' step): say so and let it finish.
held_fail() {
	fail "$1: first command held" "it did not reach its step within 20 s"
	tail -n 5 /tmp/a.out | sed 's/^/    | /'
	rm -f "$PAUSE"
	wait "$HELD"
}

# --- the pairs -----------------------------------------------------------------

# The issue's interleaving: snap looked (md2 already snapshot-origin, no switch
# planned) and syncs; meanwhile drop removes the last snapshot and puts md2 back to
# linear. snap must not then create its snapshot over a linear md2.
drop_during_snap() {
	local l="drop during snap" ra rb
	ok "$l: first snapshot" dmsnap snap md2 /dev/vdc || return
	mark old1
	hold synced /tmp/a.out dmsnap-faults snap md2 /dev/vdd || { held_fail "$l"; return; }
	dmsnap drop md2 md2_snap >/tmp/b.out 2>&1 &
	local b=$!
	waits_for "$l: drop waits for the held snap" "$HELD" "dmsnap-faults snap md2 /dev/vdd" /tmp/b.out $b
	release
	wait "$HELD"; ra=$?; wait "$RELEASER"
	wait $b; rb=$?
	exited "$l: snap exits 0" $ra 0 /tmp/a.out
	exited "$l: drop exits 0" $rb 0 /tmp/b.out
	after "$l" md2_snap2=old1
}

# The other order: drop holds the lock; snap waits, then looks again (md2 linear
# now) and switches it to snapshot-origin itself.
snap_during_drop() {
	local l="snap during drop" ra rb
	ok "$l: first snapshot" dmsnap snap md2 /dev/vdc || return
	mark old2
	hold locked /tmp/a.out dmsnap-faults drop md2 || { held_fail "$l"; return; }
	dmsnap snap md2 /dev/vdd >/tmp/b.out 2>&1 &
	local b=$!
	waits_for "$l: snap waits for the held drop" "$HELD" "dmsnap-faults drop md2" /tmp/b.out $b
	release
	wait "$HELD"; ra=$?; wait "$RELEASER"
	wait $b; rb=$?
	exited "$l: drop exits 0" $ra 0 /tmp/a.out
	exited "$l: snap exits 0" $rb 0 /tmp/b.out
	after "$l" md2_snap=old2
}

# Two snaps given one COW: the first makes its snapshot, the second is refused
# and says the COW is in use.
same_cow() {
	local l="two snaps on one COW" ra rb
	mark old3
	hold cow-checked /tmp/a.out dmsnap-faults snap md2 /dev/vdd || { held_fail "$l"; return; }
	dmsnap snap md2 /dev/vdd >/tmp/b.out 2>&1 &
	local b=$!
	waits_for "$l: second snap waits for the first" "$HELD" "dmsnap-faults snap md2 /dev/vdd" /tmp/b.out $b
	release
	wait "$HELD"; ra=$?; wait "$RELEASER"
	wait $b; rb=$?
	exited "$l: first snap exits 0" $ra 0 /tmp/a.out
	exited "$l: second snap is refused" $rb 1 /tmp/b.out
	contains "$l: second snap says the COW is in use" "$(cat /tmp/b.out)" 'COW /dev/vdd is in use\|must be unused'
	after "$l" md2_snap=old3
}

# recover while a snap is between its look and its switch: recover waits, then
# finds a finished snapshot and nothing to repair.
recover_during_snap() {
	local l="recover during snap" ra rb
	mark old4
	hold synced /tmp/a.out dmsnap-faults snap md2 /dev/vdd || { held_fail "$l"; return; }
	dmsnap recover >/tmp/b.out 2>/tmp/b.err &
	local b=$!
	waits_for "$l: recover waits for the held snap" "$HELD" "dmsnap-faults snap md2 /dev/vdd" /tmp/b.err $b
	release
	wait "$HELD"; ra=$?; wait "$RELEASER"
	wait $b; rb=$?
	exited "$l: snap exits 0" $ra 0 /tmp/a.out
	exited "$l: recover exits 0" $rb 0 /tmp/b.err
	assert_eq "$l: recover found nothing to do" "$(cat /tmp/b.out)" "md2: consistent, nothing to do"
	after "$l" md2_snap=old4
}

# dirty_begin: 200 MB of dirty pages on md2's filesystem, kept from writeback, so
# that the freeze of a snap --no-sync lasts seconds. dirty_end undoes it.
VM=/proc/sys/vm
dirty_begin() {
	VM_SAVED=$(cat $VM/dirty_ratio $VM/dirty_background_ratio $VM/dirty_expire_centisecs $VM/dirty_writeback_centisecs)
	echo 80 >$VM/dirty_ratio && echo 70 >$VM/dirty_background_ratio &&
		echo 360000 >$VM/dirty_expire_centisecs && echo 0 >$VM/dirty_writeback_centisecs
	dd if=/dev/zero of=$ORIGIN/bulk bs=1M count=200 2>/dev/null
}
dirty_end() {
	set -- $VM_SAVED
	echo "$1" >$VM/dirty_ratio && echo "$2" >$VM/dirty_background_ratio &&
		echo "$3" >$VM/dirty_expire_centisecs && echo "$4" >$VM/dirty_writeback_centisecs
	rm -f $ORIGIN/bulk
}

# The same without a pause point: recover starts while snap is inside its freeze
# (snap's trace says when it began). md2 then holds snapshot-origin in its
# inactive slot, not yet swapped in: a recover that does not wait would clear it
# as an unfinished operation.
recover_during_freeze() {
	local l="recover during the freeze" ra rb
	mark old5
	dirty_begin
	DMSNAP_TRACE=1 dmsnap-faults snap --no-sync md2 /dev/vdd >/tmp/a.out 2>&1 &
	local a=$!
	if wait_for 60 grep -q 'DM_DEV_SUSPEND md2$' /tmp/a.out; then
		dmsnap recover >/tmp/b.out 2>/tmp/b.err &
		local b=$!
		wait $a; ra=$?
		wait $b; rb=$?
		exited "$l: snap exits 0" $ra 0 /tmp/a.out
		exited "$l: recover exits 0" $rb 0 /tmp/b.err
		assert_eq "$l: recover found nothing to do" "$(cat /tmp/b.out)" "md2: consistent, nothing to do"
		after "$l" md2_snap=old5
	else
		fail "$l: snap reached its freeze" "no DM_DEV_SUSPEND md2 in its trace within 60 s"
		wait $a
	fi
	dirty_end
}

# A snap that fails (an injected EIO on its freeze) and cleans up while another
# snap is inside its freeze: the first looked before the second loaded md2's
# inactive table, and its cleanup clears "its" inactive table. With the lock the
# second waits until the first is done and then works alone.
failed_snap_during_snap() {
	local l="failing snap beside a snap" ra rb
	mark old6
	hold synced /tmp/a.out env DMSNAP_FAIL=DM_DEV_SUSPEND#2:EIO dmsnap-faults snap -s failing md2 /dev/vdc ||
		{ held_fail "$l"; return; }
	dirty_begin
	DMSNAP_TRACE=1 dmsnap-faults snap --no-sync md2 /dev/vdd >/tmp/b.out 2>&1 &
	local b=$!
	# The second snap is in its freeze (no lock), or waits for the first (lock).
	wait_for 60 grep -q 'DM_DEV_SUSPEND md2$\|waiting for pid' /tmp/b.out
	contains "$l: second snap waits for the first" "$(cat /tmp/b.out)" \
		"waiting for pid $HELD (dmsnap-faults snap -s failing md2 /dev/vdc)"
	release
	wait "$HELD"; ra=$?; wait "$RELEASER"
	wait $b; rb=$?
	exited "$l: failing snap exits 1" $ra 1 /tmp/a.out
	exited "$l: second snap exits 0" $rb 0 /tmp/b.out
	after "$l" md2_snap=old6
	dirty_end
}

# merge asked for while a second snap is on its way: merge waits, then sees two
# snapshots and refuses (a merge rewrites the origin under the others).
merge_during_snap() {
	local l="merge during snap" ra rb
	mark old7a
	ok "$l: first snapshot" dmsnap snap md2 /dev/vdc || return
	mark old7b
	umount $ORIGIN
	hold synced /tmp/a.out dmsnap-faults snap md2 /dev/vdd || { held_fail "$l"; return; }
	dmsnap merge md2 md2_snap >/tmp/b.out 2>&1 &
	local b=$!
	waits_for "$l: merge waits for the held snap" "$HELD" "dmsnap-faults snap md2 /dev/vdd" /tmp/b.out $b
	release
	wait "$HELD"; ra=$?; wait "$RELEASER"
	wait $b; rb=$?
	exited "$l: snap exits 0" $ra 0 /tmp/a.out
	exited "$l: merge is refused" $rb 1 /tmp/b.out
	contains "$l: merge says why" "$(cat /tmp/b.out)" 'other snapshots'
	after "$l" md2_snap=old7a md2_snap2=old7b
}

# snap asked for while a merge starts: snap waits; then either the merge is still
# running (snap refused, says so) or it is done (snap works). The merge brings
# back the snapshot's marker either way.
snap_during_merge() {
	local l="snap during merge" ra rb want
	mark old8a
	ok "$l: snapshot to merge" dmsnap snap md2 /dev/vdc || return
	mark old8b
	grep -q " $ORIGIN " /proc/mounts && umount $ORIGIN
	hold locked /tmp/a.out dmsnap-faults merge md2 md2_snap || { held_fail "$l"; return; }
	dmsnap snap md2 /dev/vdd >/tmp/b.out 2>&1 &
	local b=$!
	waits_for "$l: snap waits for the held merge" "$HELD" "dmsnap-faults merge md2 md2_snap" /tmp/b.out $b
	release
	wait "$HELD"; ra=$?; wait "$RELEASER"
	wait $b; rb=$?
	exited "$l: merge exits 0" $ra 0 /tmp/a.out
	if [ $rb -eq 0 ]; then
		pass "$l: snap went ahead after the merge"
		want=md2_snap=old8a
	else
		exited "$l: snap refused while merging" $rb 1 /tmp/b.out &&
			contains "$l: snap says a merge runs" "$(cat /tmp/b.out)" 'merging'
		! dmsetup table md2 | grep -q snapshot-merge || ok "$l: merge --wait" dmsnap merge --wait md2
		want=""
	fi
	assert_eq "$l: the merge brought the snapshot's marker back" "$(mark_of /dev/mapper/md2)" old8a
	after "$l" $want
}

# Two backups at once: each run's command sees its snapshot as it was taken,
# while md2 is written meanwhile; both tear down completely.
two_runs() {
	local l="two runs" ra rb
	mark old9
	rm -f /tmp/go /tmp/started.* /tmp/seen.*
	cat >/tmp/backup.sh <<EOF
touch /tmp/started.\$1
i=0
while [ ! -e /tmp/go ] && [ \$i -lt 600 ]; do sleep 0.1; i=\$((i + 1)); done
blockdev --flushbufs "\$DMSNAP_DEVICE"
dd if="\$DMSNAP_DEVICE" bs=512 skip=$MARK count=1 2>/dev/null | head -n 1 | tr -d ' ' >/tmp/seen.\$1
EOF
	hold synced /tmp/a.out dmsnap-faults run md2 /dev/vdc -- sh /tmp/backup.sh A || { held_fail "$l"; return; }
	dmsnap run md2 /dev/vdd -- sh /tmp/backup.sh B >/tmp/b.out 2>&1 &
	local b=$!
	waits_for "$l: second run waits for the first" "$HELD" "dmsnap-faults run md2 /dev/vdc -- sh /tmp/backup.sh A" \
		/tmp/b.out $b
	release
	if wait_for 30 test -e /tmp/started.A -a -e /tmp/started.B; then
		pass "$l: both backup commands run"
		ok "$l: md2 protects both snapshots while they run" protected md2
		assert_eq "$l: two snapshots live" "$(snapshots_of md2 | grep -c .)" 2
	else
		fail "$l: both backup commands run" "started: $(ls /tmp/started.* 2>/dev/null | tr '\n' ' ')"
	fi
	mark old9-new
	touch /tmp/go
	wait "$HELD"; ra=$?; wait "$RELEASER"
	wait $b; rb=$?
	exited "$l: first run exits 0" $ra 0 /tmp/a.out
	exited "$l: second run exits 0" $rb 0 /tmp/b.out
	assert_eq "$l: first backup saw its snapshot's time" "$(cat /tmp/seen.A 2>/dev/null)" old9
	assert_eq "$l: second backup saw its snapshot's time" "$(cat /tmp/seen.B 2>/dev/null)" old9
	assert_eq "$l: no mount left" "$(grep -c dmsnap /proc/mounts)" 0
	after "$l"
	ok "$l: first COW takes a plain snap again" dmsnap snap md2 /dev/vdc &&
		ok "$l: second COW too" dmsnap snap md2 /dev/vdd && ok "$l: drop both" dmsnap drop md2
}

# The lock is on /dev/mapper/control, not in /run: snap, run and drop work with
# /run unmounted or an empty read-only /run, and still wait for each other.
without_run() {
	local l="without /run" ra rb
	ok "$l: snap with /run unmounted" unshare -m sh -c 'umount /run && dmsnap snap md2 /dev/vdc' || return
	mark old10
	hold cow-checked /tmp/a.out unshare -m sh -c 'umount /run && exec dmsnap-faults snap md2 /dev/vdd' ||
		{ held_fail "$l"; return; }
	unshare -m sh -c 'mount -t tmpfs -o ro none /run && exec dmsnap drop md2 md2_snap' >/tmp/b.out 2>&1 &
	local b=$!
	waits_for "$l: drop (read-only /run) waits for snap (no /run)" "$HELD" "dmsnap-faults snap md2 /dev/vdd" \
		/tmp/b.out $b
	release
	wait "$HELD"; ra=$?; wait "$RELEASER"
	wait $b; rb=$?
	exited "$l: snap exits 0" $ra 0 /tmp/a.out
	exited "$l: drop exits 0" $rb 0 /tmp/b.out
	after "$l" md2_snap2=old10
	ok "$l: run with a read-only /run" unshare -m sh -c 'mount -t tmpfs -o ro none /run &&
		dmsnap run md2 /dev/vdc -- sh -c "grep -q \" \$DMSNAP_MOUNT \" /proc/mounts && echo \$DMSNAP_MOUNT" >/tmp/run.dir'
	contains "$l: run mounted its snapshot under /tmp" "$(cat /tmp/run.dir)" '^/tmp/dmsnap-'
	ok "$l: drop with /run unmounted" unshare -m sh -c 'umount /run && dmsnap drop md2'
	ok "$l: /run is still there for everyone else" test -e /run/guest/results
}

# A second node for the control device (a chroot's or a container's own /dev) is
# another inode: does a dmsnap there still wait for one here?
other_control_node() {
	local l="own /dev/mapper/control" ra rb
	ok "$l: first snapshot" dmsnap snap md2 /dev/vdc || return
	mark old11
	hold synced /tmp/a.out dmsnap-faults snap md2 /dev/vdd || { held_fail "$l"; return; }
	unshare -m sh -c 'mount -t tmpfs none /dev/mapper && mknod /dev/mapper/control c 10 236 &&
		exec dmsnap drop md2 md2_snap' >/tmp/b.out 2>&1 &
	local b=$!
	waits_for "$l: drop through another control node waits for the held snap" "$HELD" \
		"dmsnap-faults snap md2 /dev/vdd" /tmp/b.out $b
	release
	wait "$HELD"; ra=$?; wait "$RELEASER"
	wait $b; rb=$?
	exited "$l: snap exits 0" $ra 0 /tmp/a.out
	exited "$l: drop exits 0" $rb 0 /tmp/b.out
	after "$l" md2_snap2=old11
}

setup || return 0
for pair in drop_during_snap snap_during_drop same_cow recover_during_snap recover_during_freeze \
	failed_snap_during_snap merge_during_snap snap_during_merge two_runs without_run other_control_node; do
	t0=$(cut -d' ' -f1 /proc/uptime)
	$pair
	echo "show: concurrent: $pair took $(awk -v t="$t0" '{ printf "%.1f", $1 - t }' /proc/uptime) s"
	reset
done
umount $ORIGIN
ok "origin xfs_repair -n clean" xfs_repair -n /dev/mapper/md2
