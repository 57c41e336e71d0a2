# faults: every ioctl step of snap, drop, run, merge and grow, made to fail (EIO) and
# killed (SIGKILL) in turn with the test build (dmsnap-faults, DMSNAP_FAIL).
# After an error dmsnap exits non-zero and the state is consistent; after a kill,
# `dmsnap recover` makes it consistent. The origin stays writable and clean.
# A table of every step and its outcome goes to the log. With dmsnap.fixtures on
# the kernel's command line (DMSNAP_GUEST_CMDLINE=dmsnap.fixtures), so does every
# state a kill left, with what recover did about it: the fixtures of
# tests/unit/world_unit.c (tests/unit/extract-fixtures takes them out of a kept
# log). Without it each kill case asks dmsetup four times less (about 0.4 s).
# timeout: 2400

ORIGIN=/mnt/o
FIXTURES=$(grep -qw 'dmsnap\.fixtures' /proc/cmdline && echo yes)

# look: the view consistent reads (dmsetup's info and status: a status line
# names its target as a table line does).
look() { dm_look info status; }

# consistent: in the view taken after the case, nothing suspended or half
# loaded, md2 linear exactly when it has no snapshots (or merging), every
# snapshot live and valid, no device but md2's, every COW device in use.
consistent() {
	settled_in || return 1
	awk '$1 == "status" && $2 == "md2:" { t = $5 }
		$1 == "status" && $5 == "snapshot" { snaps++ }
		$1 == "status" && $5 == "snapshot" && $6 == "Invalid" { invalid = 1 }
		$1 == "info" && $2 !~ /^(md2|md2_dup|md2_snap.*)$/ && left == "" { left = $2 }
		$1 == "info" && $2 ~ /-cow$/ && $6 == 0 && unused == "" { unused = $2 }
		END {
			if (t == "linear" && snaps > 0) { print "linear md2 with " snaps " snapshots"; exit 1 }
			if (t == "snapshot-origin" && snaps == 0) { print "snapshot-origin without snapshots"; exit 1 }
			if (t != "linear" && t != "snapshot-origin" && t != "snapshot-merge") { print "md2 has table \047" t "\047"; exit 1 }
			if (invalid) { print "an invalid snapshot"; exit 1 }
			if (left != "") { print "leftover device " left; exit 1 }
			if (unused != "") { print "a COW device no snapshot uses: " unused; exit 1 }
		}' "$DM_VIEW"
}

# writable: the origin takes a write (mounting it for the check if needed).
writable() {
	if grep -q " $ORIGIN " /proc/mounts; then
		echo x >$ORIGIN/alive && sync
	else
		mount /dev/mapper/md2 $ORIGIN && echo x >$ORIGIN/alive && sync && umount $ORIGIN
	fi
}

# to_state linear|snapshot [mounted|unmounted]: bring md2 to a case's starting point.
to_state() {
	dmsnap recover md2 >/dev/null 2>&1
	if dmsnap table md2 2>/dev/null | grep -q snapshot-merge; then dmsnap merge --wait md2 >/dev/null 2>&1; fi
	grep -q " /run/dmsnap-" /proc/mounts && umount /run/dmsnap-* 2>/dev/null
	rmdir /run/dmsnap-* 2>/dev/null
	case $1 in
	linear) has_dev md2_snap && dmsnap drop md2 >/dev/null 2>&1 ;;
	snapshot) has_dev md2_snap || dmsnap snap --force md2 /dev/vdc >/dev/null 2>&1 ;;
	grown) # a fresh snapshot, and vdd blank to grow it by
		has_dev md2_snap && dmsnap drop md2 >/dev/null 2>&1
		dd if=/dev/zero of=/dev/vdd bs=128k count=1 conv=fsync 2>/dev/null
		dmsnap snap --force md2 /dev/vdc >/dev/null 2>&1 ;;
	esac
	case ${2:-mounted} in
	mounted) grep -q " $ORIGIN " /proc/mounts || mount /dev/mapper/md2 $ORIGIN ;;
	unmounted) grep -q " $ORIGIN " /proc/mounts && umount $ORIGIN ;;
	esac
	return 0
}

# reported RC: the injected error did not pass unnoticed: a failure exit, or
# (where dmsnap retried its way through, or the work was already done) exit 0
# with the error said on stderr.
reported() {
	[ "$1" -lt 126 ] && { [ "$1" -ne 0 ] || grep -q 'I/O error' /tmp/case.out; }
}

# steps STATE MOUNT CMD...: how many ioctls CMD issues from that state (traced).
steps() {
	local state=$1 mount=$2
	shift 2
	to_state "$state" "$mount"
	DMSNAP_TRACE=1 "$@" 2>/tmp/trace >/dev/null
	grep -c '^dmsnap-trace:' /tmp/trace
	cp /tmp/trace /tmp/trace.full
}

ioctl_at() { sed -n "s/^dmsnap-trace: $1 \([A-Z_]*\) \(.*\)/\1 \2/p" /tmp/trace.full; }

row() { printf 'fault-table: %-6s %3s %-28s %-5s %s\n' "$@"; }

# dm_dump PREFIX: every device's info, live and inactive table and status, one
# line each, as tests/unit/world_unit.c loads them; the view (dm_look) is kept
# for consistent.
dm_dump() {
	dm_look
	{
		grep -e '^info ' -e '^table ' "$DM_VIEW"
		dmsetup table --inactive 2>&1 | grep -v ' No devices found$' | sed 's/^/inactive /; s/ *$//'
		grep '^status ' "$DM_VIEW"
	} | sed "s/^/$1/"
}

# fixture_begin NAME WHAT: the state a kill left, before recover looks at it.
fixture_begin() {
	echo "fixture-begin: $1"
	echo "case $2"
	dm_dump ""
}

# fixture_end RC: what recover said (stdout and stderr, in order) and did (its exit
# status, the state after).
fixture_end() {
	sed 's/^/recover /' /tmp/recover.out
	echo "recover-exit $1"
	dm_dump "after-"
	echo "fixture-end"
}

# matrix WORKFLOW STATE MOUNT CMD...: each step of CMD, failed then killed.
matrix() {
	local wf=$1 state=$2 mount=$3 n i rc why
	shift 3
	n=$(steps "$state" "$mount" "$@")
	[ "$n" -gt 0 ] || { fail "$wf: traced" "no ioctl traced"; return; }
	for i in $(seq "$n"); do
		local what
		what=$(ioctl_at "$i")
		# (a) the ioctl fails with EIO
		to_state "$state" "$mount"
		rc=0
		DMSNAP_TRACE=1 DMSNAP_FAIL=$i:EIO "$@" >/tmp/case.out 2>&1 || rc=$?
		look
		# How many ioctls run issues while it watches depends on timing: a step
		# this run never reached proves nothing either way.
		if ! grep -q "^dmsnap-trace: $i " /tmp/case.out; then
			row "$wf" "$i" "$what" EIO "not reached this time"
		elif reported $rc && why=$(consistent) && writable; then
			pass "$wf step $i ($what) EIO"
			row "$wf" "$i" "$what" EIO "exit $rc, consistent"
		else
			fail "$wf step $i ($what) EIO" "exit $rc: ${why:-error unreported or origin not writable}"
			sed 's/^/    | /' /tmp/case.out | tail -5
			row "$wf" "$i" "$what" EIO "FAILED: exit $rc ${why:-}"
		fi
		# (b) SIGKILL before the ioctl, then recover (captured as fixture WF-kill-I)
		to_state "$state" "$mount"
		DMSNAP_FAIL=$i:kill "$@" >/dev/null 2>&1
		[ -z "$FIXTURES" ] || fixture_begin "$wf-kill-$i" "$wf step $i $what"
		rc=0
		dmsnap recover >/tmp/recover.out 2>&1 || rc=$?
		if [ -n "$FIXTURES" ]; then fixture_end $rc; else look; fi
		if [ $rc -eq 0 ] && why=$(consistent) && writable; then
			pass "$wf step $i ($what) kill+recover"
			row "$wf" "$i" "$what" kill "recovered: $(grep -v 'nothing to do' /tmp/recover.out | tr '\n' ' ' | cut -c1-60)"
		else
			fail "$wf step $i ($what) kill+recover" "${why:-recover failed or not writable}"
			sed 's/^/    | /' /tmp/recover.out | tail -5
			row "$wf" "$i" "$what" kill "FAILED ${why:-}"
		fi
	done
}

setup() {
	ok "mkfs.xfs vda" mkxfs /dev/vda || return 1
	ok "wrap" dmsnap wrap /dev/vda md2 || return 1
	mkdir -p $ORIGIN
	mount /dev/mapper/md2 $ORIGIN && random_file $ORIGIN/data 8 && sync
}

setup || return 0
matrix snap linear mounted dmsnap-faults snap --force md2 /dev/vdc
matrix drop snapshot mounted dmsnap-faults drop md2
matrix run linear mounted dmsnap-faults run --force md2 /dev/vdc -- true
matrix merge snapshot unmounted dmsnap-faults merge md2 md2_snap
matrix grow grown mounted dmsnap-faults grow md2 /dev/vdd
to_state linear unmounted
ok "origin xfs_repair -n clean after every case" xfs_repair -n /dev/mapper/md2
