# group_faults: every ioctl step of a two-pair group snap (dmsnap-faults,
# DMSNAP_FAIL) made to fail (EIO), then killed and followed by `dmsnap recover`.
# After a failure both origins run on their old tables with nothing left over;
# after a kill and recover the group is all or nothing: both origins have their
# snapshot or neither has (recover completes a member a kill caught frozen when
# the other's snapshot went live). Either way nothing is suspended, the origins'
# files are unchanged, and a plain snap of each works.
# timeout: 900

GROUP="data:/dev/vdc log:/dev/vdd"
STATE0= # quick_state of the two origins alone, once known
KNOWN= # the state look_only last read (fresh)

setup() {
	ok "mkfs.ext4 vda" mkext4 /dev/vda || return 1
	ok "mkfs.ext4 vdb" mkext4 /dev/vdb || return 1
	ok "wrap vda as data" dmsnap wrap /dev/vda data || return 1
	ok "wrap vdb as log" dmsnap wrap /dev/vdb log || return 1
	mkdir -p /mnt/data /mnt/log
	mount /dev/mapper/data /mnt/data && mount /dev/mapper/log /mnt/log || { fail "mount" "failed"; return 1; }
	random_file /mnt/data/f 1 && random_file /mnt/log/f 1 && sync
	sha256sum /mnt/data/f /mnt/log/f >/tmp/sums
}

# quick_state: every table and every device's attributes (suspended, inactive
# table...): what a look-only step must leave as it found.
quick_state() {
	dmsetup table 2>&1
	dmsetup info -c --noheadings -o name,attr 2>&1
}

# fresh: both origins linear, no snapshot, whatever a case left. KNOWN is the
# quick_state look_only read when nothing has run since: no need to ask again.
fresh() {
	local known=$KNOWN
	KNOWN=
	[ "${known:-$(quick_state)}" = "$STATE0" ] && return 0
	dmsnap recover >/dev/null 2>&1
	dmsnap drop data >/dev/null 2>&1
	dmsnap drop log >/dev/null 2>&1
}

# sound: in the view (dm_look) taken after the case, nothing suspended or half
# loaded, each origin protected (snapshot-origin exactly while it has live valid
# snapshots), no device but the two wrappers and their snapshots; then the files
# as they were, both origins writable.
sound() {
	local d
	settled_in || return 1
	protected_in data || return 1
	protected_in log || return 1
	for d in $(awk '$1 == "info" { print $2 }' "$DM_VIEW"); do
		case $d in data | data_dup | data_snap* | log | log_dup | log_snap*) ;; *) echo "leftover device $d"; return 1 ;; esac
	done
	sha256sum -c -s /tmp/sums || { echo "an origin's file changed"; return 1; }
	echo x >/mnt/data/alive && echo x >/mnt/log/alive && sync || { echo "not writable"; return 1; }
}

# plain_snaps I: after dropping what a case left, a plain snap of each origin on
# the same COWs succeeds (no --force: whatever was undone left them reusable).
# Only from the first change on: a step before it left nothing to reuse.
plain_snaps() {
	[ "$1" -ge "$CREATED" ] || return 0
	fresh
	dmsnap snap data /dev/vdc >/tmp/plain.out 2>&1 && dmsnap snap log /dev/vdd >>/tmp/plain.out 2>&1 &&
		dmsnap drop data >>/tmp/plain.out 2>&1 && dmsnap drop log >>/tmp/plain.out 2>&1 ||
		{ tail -n 3 /tmp/plain.out; return 1; }
}

# look_only I RC WHAT: a step before the first change (nothing may have changed)
# or after the switch (the group is complete: its post-check read the kernel)
# is judged by the state alone, against the state before or after a clean
# group snap; 1 for the steps that change something, judged in full.
look_only() {
	local want=$STATE0 state
	[ "$1" -lt "$CREATED" ] || [ "$1" -gt "$SWITCHED" ] || return 1
	[ "$1" -lt "$CREATED" ] || want=$SNAPPED
	state=$(quick_state)
	KNOWN=$state
	if [ "$2" -eq 0 ] || [ "$2" -ge 126 ]; then
		fail "step $1 ($what) $3" "exit $2, want a clean failure"
		sed 's/^/    | /' /tmp/case.out | tail -n 5
	elif [ "$state" != "$want" ]; then
		fail "step $1 ($what) $3" "the state is not the one $([ "$1" -lt "$CREATED" ] && echo before || echo after) a group snap"
		echo "$state" | sed 's/^/    | /'
	else
		pass "step $1 ($what) $3"
	fi
	return 0
}

ioctl_at() { sed -n "s/^dmsnap-trace: $1 \([A-Z_]*\) \(.*\)/\1 \2/p" /tmp/trace.full; }

matrix() {
	local n i what rc why snaps
	fresh
	STATE0=$(quick_state)
	DMSNAP_TRACE=1 dmsnap-faults snap $GROUP >/dev/null 2>/tmp/trace.full
	SNAPPED=$(quick_state)
	n=$(grep -c '^dmsnap-trace:' /tmp/trace.full)
	# The last resume of an origin ends the switch: a failure at it or before
	# must leave both origins as they were.
	SWITCHED=$(grep '^dmsnap-trace: [0-9]* DM_DEV_SUSPEND log$' /tmp/trace.full | tail -n 1 | cut -d' ' -f2)
	CREATED=$(grep '^dmsnap-trace: [0-9]* DM_DEV_CREATE' /tmp/trace.full | head -n 1 | cut -d' ' -f2)
	echo "show: $SCENARIO: $n ioctls, the first change at $CREATED, the switch ends at $SWITCHED"
	[ "$n" -gt 0 ] && [ -n "$SWITCHED" ] && [ -n "$CREATED" ] || { fail "traced" "no ioctl or no switch traced"; return; }
	for i in $(seq "$n"); do
		what=$(ioctl_at "$i")
		fresh
		rc=0
		DMSNAP_FAIL=$i:EIO dmsnap-faults snap $GROUP >/tmp/case.out 2>&1 || rc=$?
		if look_only "$i" "$rc" "EIO"; then continue; fi
		dm_look
		snaps=$(snapshots_in data | grep -c .)$(snapshots_in log | grep -c .)
		if [ $rc -eq 0 ] && ! grep -q 'I/O error' /tmp/case.out; then
			fail "step $i ($what) EIO" "exit 0 and no error said"
		elif [ $rc -ge 126 ]; then
			fail "step $i ($what) EIO" "crashed: exit $rc"
		elif [ "$snaps" != 00 ]; then
			fail "step $i ($what) EIO" "exit $rc but snapshots left (data, log): $snaps"
		elif ! why=$(sound); then
			fail "step $i ($what) EIO" "$why"
		elif ! why=$(plain_snaps "$i"); then
			fail "step $i ($what) EIO: plain snaps after" "$why"
		else
			pass "step $i ($what) EIO"
			continue
		fi
		sed 's/^/    | /' /tmp/case.out | tail -n 5
	done
	for i in $(seq "$n"); do
		what=$(ioctl_at "$i")
		fresh
		DMSNAP_FAIL=$i:kill dmsnap-faults snap $GROUP >/tmp/case.out 2>&1
		dmsnap recover >/tmp/recover.out 2>&1
		if look_only "$i" 1 "kill+recover"; then continue; fi
		dm_look
		snaps=$(snapshots_in data | grep -c .)$(snapshots_in log | grep -c .)
		if [ "$snaps" != 00 ] && [ "$snaps" != 11 ]; then
			fail "step $i ($what) kill+recover" "a part of the group left (snapshots of data, log): $snaps"
			sed 's/^/    | /' /tmp/recover.out | tail -n 5
		elif ! why=$(sound); then
			fail "step $i ($what) kill+recover" "$why"
			sed 's/^/    | /' /tmp/recover.out | tail -n 5
		elif ! why=$(plain_snaps "$i"); then
			fail "step $i ($what) kill+recover: plain snaps after" "$why"
		else
			pass "step $i ($what) kill+recover"
		fi
	done
}

setup || return 0
matrix
fresh
ok "settled at the end" dm_settled
