# recover_cow: after `dmsnap recover`, the COW is usable again. snap and drop are
# killed (SIGKILL) before each of their ioctls in turn (dmsnap-faults,
# DMSNAP_FAIL=N:kill) and at each step they can be held at (DMSNAP_PAUSE, then
# kill -9); recover then leaves md2 consistent, and a plain snap (no --force) on
# the same COW and a drop work. Where recover finished the killed snap, its
# snapshot is dropped first: that COW is rightly in use until then.
# A table of every kill point and its outcome goes to the log.
# timeout: 1800

ORIGIN=/mnt/o
COW=/dev/vdc

setup() {
	ok "mkfs.xfs vda" mkxfs /dev/vda || return 1
	ok "wrap" dmsnap wrap /dev/vda md2 || return 1
	mkdir -p $ORIGIN
	ok "mount origin" mount /dev/mapper/md2 $ORIGIN || return 1
	random_file $ORIGIN/data 4 && sync
}

# blank_cow: the COW as new: its first and last MiB zero (what dmsnap looks at).
blank_cow() {
	local mib=$(($(sectors $COW) / 2048))
	dd if=/dev/zero of=$COW bs=1M count=1 conv=fsync 2>/dev/null
	dd if=/dev/zero of=$COW bs=1M seek=$((mib - 1)) count=1 conv=fsync 2>/dev/null
	blockdev --flushbufs $COW
}

# start linear|snapshot: md2 mounted, linear with a blank COW, or with one plain
# snapshot on it. Whatever the last case left is cleared by hand first.
start() {
	dmsnap recover >/dev/null 2>&1
	has_dev md2_snap && dmsnap drop md2 >/dev/null 2>&1
	grep -q " $ORIGIN " /proc/mounts || mount /dev/mapper/md2 $ORIGIN
	blank_cow
	[ "$1" = linear ] || dmsnap snap md2 $COW >/dev/null 2>/tmp/start.err ||
		{ echo "start: plain snap on a blank COW failed: $(cat /tmp/start.err)"; return 1; }
}

# steps CMD...: the ioctls CMD issues, traced, one "N CMD NAME" a line in /tmp/steps.
steps() {
	DMSNAP_TRACE=1 "$@" 2>&1 >/dev/null | sed -n 's/^dmsnap-trace: //p' >/tmp/steps
}

row() { printf 'recover-cow-table: %-5s %-24s %s\n' "$@"; }

# afterwards WORKFLOW POINT: recover, then the plain snap and drop on the same COW.
# One verdict per kill point, naming the first step that went wrong.
afterwards() {
	local wf=$1 point=$2 why="" how
	dmsnap recover >/tmp/recover.out 2>&1 || why="recover failed: $(tail -n 1 /tmp/recover.out)"
	dm_look
	[ -n "$why" ] || why=$(settled_in) || true
	[ -n "$why" ] || why=$(protected_in md2) || true
	how=$(grep -v 'nothing to do' /tmp/recover.out | cut -d: -f2- | tr '\n' ' ' | cut -c1-70)
	if [ -z "$why" ] && [ -n "$(snapshots_in md2)" ]; then
		how="${how:-nothing to do} + drop of the kept snapshot"
		dmsnap drop md2 >/tmp/case.out 2>&1 || why="drop of the snapshot recover kept failed: $(tail -n 1 /tmp/case.out)"
	fi
	if [ -z "$why" ]; then
		dmsnap snap md2 $COW >/tmp/case.out 2>&1 || why="plain snap on $COW refused: $(tail -n 1 /tmp/case.out)"
	fi
	[ -n "$why" ] || dmsnap drop md2 >/tmp/case.out 2>&1 || why="drop failed: $(tail -n 1 /tmp/case.out)"
	if [ -z "$why" ]; then
		pass "$wf killed at $point: recover, then plain snap and drop on $COW"
		row "$wf" "$point" "ok (recover: ${how:-nothing to do})"
	else
		fail "$wf killed at $point: recover, then plain snap and drop on $COW" "$why"
		sed 's/^/    | recover: /' /tmp/recover.out | tail -n 4
		row "$wf" "$point" "FAILED: $why"
	fi
}

# kills WORKFLOW STATE CMD...: CMD killed before each of its ioctls, then afterwards.
kills() {
	local wf=$1 state=$2 n i what
	shift 2
	start "$state" || { fail "$wf: start" "could not set up"; return; }
	steps "$@"
	n=$(grep -c . /tmp/steps)
	[ "$n" -gt 0 ] || { fail "$wf: traced" "no ioctl traced"; return; }
	cp /tmp/steps /tmp/steps.$wf
	for i in $(seq "$n"); do
		what=$(sed -n "${i}p" /tmp/steps.$wf | cut -d' ' -f2-)
		start "$state" || { fail "$wf: start before ioctl $i" "could not set up"; continue; }
		DMSNAP_FAIL=$i:kill "$@" >/dev/null 2>&1
		afterwards "$wf" "ioctl $i $what"
	done
}

# paused WORKFLOW STATE STEP CMD...: CMD held at STEP, killed there, then afterwards.
paused() {
	local wf=$1 state=$2 step=$3
	shift 3
	start "$state" || { fail "$wf: start before $step" "could not set up"; return; }
	if hold "$step" /tmp/held.out "$@"; then
		kill -9 "$HELD"
		wait "$HELD"
		rm -f "$PAUSE"
		afterwards "$wf" "step $step"
	else
		fail "$wf held at $step" "it did not get there within 20 s"
		rm -f "$PAUSE"
		wait "$HELD"
	fi
}

setup || return 0
kills snap linear dmsnap-faults snap md2 $COW
for step in locked cow-checked synced; do paused snap linear $step dmsnap-faults snap md2 $COW; done
kills drop snapshot dmsnap-faults drop md2
paused drop snapshot locked dmsnap-faults drop md2
start linear
umount $ORIGIN
ok "origin xfs_repair -n clean after every case" xfs_repair -n /dev/mapper/md2
