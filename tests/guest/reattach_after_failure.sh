# reattach_after_failure: a `snap --reattach` that fails, is killed or is
# interrupted leaves the persistent snapshot's store as it found it: the header
# chunk and the first metadata area of the COW are byte-identical afterwards
# (after `dmsnap recover` for a kill), and a second --reattach brings back the
# snapshot-time content. Every ioctl step of --reattach is failed (EIO) and, in
# turn, killed (SIGKILL); the command is also interrupted at its pause points.
# One fault-table: row per case goes to the log, as in faults.sh.
# timeout: 600

ORIGIN=/mnt/o
SNAPMNT=/mnt/s
COW=/dev/vdc
SPAN=32768           # header chunk + first metadata area: 2 chunks of the default 32 sectors
SAVED=/tmp/store.img # the COW's first 8 MiB as the "reboot" left them: all the store uses
SUMS=                # the files at snapshot time

row() { printf 'fault-table: %-8s %3s %-24s %-5s %s\n' "$@"; }

resume_suspended() {
	local name
	for name in $(dmsetup info -c --noheadings -o name,suspended 2>/dev/null |
		awk -F: '$2 == "Suspended" { print $1 }'); do
		dmsetup resume "$name"
	done
}

# as_at_boot: what a boot finds: md2 wrapped again, no snapshot, the store as
# the reboot left it. Nothing writes to md2 from here on: without a snapshot in
# place a write would bypass the store and change what it shows.
as_at_boot() {
	umount $SNAPMNT 2>/dev/null
	resume_suspended
	dmsetup remove_all --force >/dev/null 2>&1
	rm -f /dev/mapper/md2*
	dd if=$SAVED of=$COW bs=1M conv=notrunc,fsync 2>/dev/null
	blockdev --flushbufs $COW
	dmsnap wrap /dev/vda md2 >/dev/null
}

# make_store: a persistent snapshot of md2, the origin changed after it, then
# a "reboot": every dm device goes, md2 is wrapped again.
make_store() {
	ok "mkfs.xfs vda" mkxfs /dev/vda || return 1
	ok "wrap" dmsnap wrap /dev/vda md2 || return 1
	mkdir -p $ORIGIN $SNAPMNT
	mount /dev/mapper/md2 $ORIGIN || return 1
	echo snapshot-time >$ORIGIN/marker
	random_file $ORIGIN/data 2
	sync
	SUMS=$(checksum_tree $ORIGIN)
	ok "snap" dmsnap snap md2 $COW || return 1
	echo after-snapshot >$ORIGIN/marker
	random_file $ORIGIN/data 2
	sync
	umount $ORIGIN
	dmsetup remove_all --force
	blockdev --flushbufs $COW
	dd if=$COW of=$SAVED bs=1M count=8 iflag=direct 2>/dev/null
	head -c $SPAN $SAVED >/tmp/span.saved
	assert_eq "the store has a valid header" "$(head -c 8 $SAVED | od -An -tx1 | tr -d ' ')" 536e417001000000 ||
		return 1
	as_at_boot
}

# store_kept NAME: the store's header chunk and first metadata area are as saved.
store_kept() {
	bytes_kept "$1" $COW /tmp/span.saved && return
	echo "    | header now:$(head -c 16 /tmp/bytes.now | od -An -tx1)"
	return 1
}

# snapshot_back NAME: md2_snap (live already, or from a second --reattach) shows
# the snapshot-time files. Read-only device, so reading it writes nothing.
snapshot_back() {
	local got
	if ! dmsetup table md2_snap 2>/dev/null | grep -q ' snapshot '; then
		dmsnap snap --reattach md2 $COW >$OUT 2>&1 || {
			fail "$1" "the second --reattach failed"
			show_output
			return 1
		}
	fi
	mknodes
	blockdev --setro /dev/mapper/md2_snap
	if ! mount -o ro,norecovery,nouuid /dev/mapper/md2_snap $SNAPMNT >$OUT 2>&1; then
		fail "$1" "mount md2_snap failed"
		show_output
		return 1
	fi
	got=$(checksum_tree $SNAPMNT)
	umount $SNAPMNT
	assert_eq "$1" "$got" "$SUMS"
}

# reported RC: the injected error was not passed over: a failure exit, or exit
# 0 with the error said (dmsnap retried its way through, or it was cleanup's).
reported() {
	[ "$1" -lt 126 ] && { [ "$1" -ne 0 ] || grep -q 'I/O error' /tmp/case.out; }
}

# after_case WHAT: the store kept, then the snapshot back; KEPT says which for the row.
after_case() {
	KEPT="store kept"
	store_kept "$1: store kept" || KEPT="STORE CHANGED"
	snapshot_back "$1: second --reattach shows the snapshot time" || KEPT="$KEPT, snapshot NOT back"
}

make_store || return 0

# The clean case first: the plumbing works and a reattach itself writes nothing.
rc=0
DMSNAP_TRACE=1 dmsnap-faults snap --reattach md2 $COW >/dev/null 2>/tmp/trace.full || rc=$?
assert_eq "a traced --reattach succeeds" "exit $rc" "exit 0" || { sed 's/^/    | /' /tmp/trace.full; return 0; }
store_kept "a --reattach leaves the store as it is"
snapshot_back "a --reattach shows the snapshot time"
dmsetup status md2_snap | awk '{ split($4, u, "/"); exit !(u[1] < 16384) }' ||
	fail "the store fits the saved 8 MiB" "status $(dmsetup status md2_snap)"
steps=$(grep -c '^dmsnap-trace:' /tmp/trace.full)
[ "$steps" -gt 0 ] || { fail "traced" "no ioctl traced"; return 0; }

for i in $(seq "$steps"); do
	what=$(sed -n "s/^dmsnap-trace: $i \([A-Z_]*\) \(.*\)/\1 \2/p" /tmp/trace.full)

	# (a) the ioctl fails with EIO
	as_at_boot
	rc=0
	DMSNAP_TRACE=1 DMSNAP_FAIL=$i:EIO dmsnap-faults snap --reattach md2 $COW >/tmp/case.out 2>&1 || rc=$?
	if ! reported $rc; then
		fail "step $i ($what) EIO: reported" "exit $rc and no error said"
		sed 's/^/    | /' /tmp/case.out | tail -5
	fi
	after_case "step $i ($what) EIO"
	row reattach "$i" "$what" EIO "exit $rc, $KEPT"

	# (b) SIGKILL before the ioctl, then recover
	as_at_boot
	DMSNAP_FAIL=$i:kill dmsnap-faults snap --reattach md2 $COW >/dev/null 2>&1
	if ! dmsnap recover >/tmp/recover.out 2>&1; then
		fail "step $i ($what) kill: recover" "recover failed"
		sed 's/^/    | /' /tmp/recover.out | tail -5
	fi
	after_case "step $i ($what) kill+recover"
	row reattach "$i" "$what" kill "$KEPT; recover: $(tr '\n' ' ' </tmp/recover.out | cut -c1-60)"
done

# Ctrl-C: SIGTERM before anything changed (where a terminal's SIGINT kills an
# unprepared dmsnap), SIGINT once the devices are staged (signals are blocked
# there, so it waits for dmsnap to act on it).
for sig_step in TERM:synced INT:staged; do
	sig=${sig_step%%:*} step=${sig_step#*:}
	as_at_boot
	if start_paused "$step" dmsnap-faults snap --reattach md2 $COW; then
		kill -"$sig" "$PAUSED_PID"
		resume_paused
		after_case "SIG$sig at $step"
		row reattach - "SIG$sig at $step" "$sig" "exit $PAUSED_RC, $KEPT"
	else
		not_held "SIG$sig at $step: held" "$step"
	fi
done
as_at_boot
