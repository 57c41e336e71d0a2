# concurrent_soak: a minute of snap/drop, run, show and recover loops on two
# wrapped origins at once, with writers on both. Every snap, drop and run
# succeeds (each loop has its own COW and snapshot name; commands wait for one
# another); recover, between them, never finds anything to repair. Afterwards
# nothing is suspended or half made, no snapshot is left, recover has nothing to
# do, every COW takes a plain snap again and both filesystems are clean.
# timeout: 600

SOAK_SECONDS=60
ORIGINS="md2 o2"
LOG=/tmp/soak

setup() {
	ok "mkfs.xfs vda" mkxfs /dev/vda || return 1
	ok "mkfs.xfs vdb" mkxfs /dev/vdb || return 1
	ok "wrap md2" dmsnap wrap /dev/vda md2 || return 1
	ok "wrap o2" dmsnap wrap /dev/vdb o2 || return 1
	mkdir -p /mnt/md2 /mnt/o2 $LOG
	ok "mount md2" mount /dev/mapper/md2 /mnt/md2 || return 1
	ok "mount o2" mount /dev/mapper/o2 /mnt/o2 || return 1
	# Four COWs of 128 MiB: two halves of vdc, two of vdd.
	local half
	for d in vdc vdd; do
		half=$(($(sectors /dev/$d) / 2))
		ok "COWs on $d" dmsetup create ${d}1 --table "0 $half linear /dev/$d 0" || return 1
		dmsetup create ${d}2 --table "0 $half linear /dev/$d $half" || return 1
	done
	mknodes
}

now() { cut -d' ' -f1 /proc/uptime | cut -d. -f1; }

# logged LOOP CMD...: run CMD; a failure goes to the loop's log with its output.
logged() {
	local loop=$1 rc=0
	shift
	"$@" >$LOG/$loop.out 2>&1 || rc=$?
	echo $rc >>$LOG/$loop.rcs
	[ $rc -eq 0 ] && return 0
	{ echo "exit $rc: $*"; sed 's/^/  /' $LOG/$loop.out | tail -n 4; } >>$LOG/$loop.fail
	return $rc
}

# snap_drop NAME COW: snapshot NAME_s on COW, drop it, over and over.
snap_drop() {
	while [ "$(now)" -lt "$END" ]; do
		logged snap_drop.$1 dmsnap snap -s "$1_s" "$1" "$2" && logged snap_drop.$1 dmsnap drop "$1" "$1_s"
	done
}

# runs NAME COW: whole backups of NAME through COW, over and over.
runs() {
	while [ "$(now)" -lt "$END" ]; do
		logged runs.$1 dmsnap run -s "$1_r" "$1" "$2" -- sh -c 'ls -R "$DMSNAP_MOUNT" >/dev/null; sleep 1'
	done
}

# writer NAME: files written and removed on NAME's filesystem.
writer() {
	local i=0
	while [ "$(now)" -lt "$END" ]; do
		dd if=/dev/zero of=/mnt/$1/w$((i % 8)) bs=64k count=16 2>/dev/null
		i=$((i + 1))
		[ $((i % 8)) -ne 0 ] || sync
	done
}

# watcher: show's exit status tallied; recover must find nothing to do.
watcher() {
	while [ "$(now)" -lt "$END" ]; do
		dmsnap show >$LOG/show.out 2>&1
		echo $? | tee -a $LOG/show.rcs | grep -qx 0 || [ -e $LOG/show.odd ] || cp $LOG/show.out $LOG/show.odd
		logged recover sh -c "dmsnap recover >$LOG/recover.said"
		grep -v 'consistent, nothing to do' $LOG/recover.said >>$LOG/recover.did
		sleep 1
	done
}

# tally LOOP: "N runs, exits: RC xN ...".
tally() {
	echo "$(grep -c . $LOG/$1.rcs 2>/dev/null) runs, exits: $(sort $LOG/$1.rcs 2>/dev/null | uniq -c |
		awk '{ printf "%s x%s ", $2, $1 }')"
}

soak() {
	END=$(($(now) + SOAK_SECONDS))
	snap_drop md2 /dev/mapper/vdc1 &
	snap_drop o2 /dev/mapper/vdd1 &
	runs md2 /dev/mapper/vdc2 &
	runs o2 /dev/mapper/vdd2 &
	writer md2 &
	writer o2 &
	watcher &
	wait
	local loop
	for loop in snap_drop.md2 snap_drop.o2 runs.md2 runs.o2 recover; do
		echo "show: concurrent_soak: $loop: $(tally $loop)"
		if [ -s $LOG/$loop.fail ]; then
			fail "$loop: every command succeeded" "$(grep -c '^exit' $LOG/$loop.fail) failed; the first:"
			head -n 10 $LOG/$loop.fail | sed 's/^/    | /'
		elif [ "$(grep -c . $LOG/$loop.rcs 2>/dev/null)" -gt 0 ]; then
			pass "$loop: every command succeeded"
		else
			fail "$loop: every command succeeded" "it never ran"
		fi
	done
	echo "show: concurrent_soak: show: $(tally show)"
	# show reads without the lock: it may catch a switch half way. Said, not failed.
	[ ! -e $LOG/show.odd ] || echo "show: concurrent_soak: show's first odd output: $(tr '\n' ' ' <$LOG/show.odd)"
	if [ -s $LOG/recover.did ]; then
		fail "recover between the commands found nothing to repair" "it did:"
		sort $LOG/recover.did | uniq -c | head -n 10 | sed 's/^/    | /'
	else
		pass "recover between the commands found nothing to repair"
	fi
}

afterwards() {
	local o c
	ok "nothing suspended or half made" dm_settled
	for o in $ORIGINS; do
		ok "$o linear and consistent" protected $o
		assert_eq "$o has no snapshot left" "$(snapshots_of $o)" ""
	done
	assert_eq "no other devices" "$(dmsetup ls | cut -f1 | sort | tr '\n' ' ')" \
		"md2 md2_dup o2 o2_dup vdc1 vdc2 vdd1 vdd2 "
	ok "recover" dmsnap recover
	assert_eq "recover finds nothing to do" "$(sort "$OUT")" "md2: consistent, nothing to do
o2: consistent, nothing to do"
	assert_eq "no snapshot mounted" "$(grep -c dmsnap /proc/mounts)" 0
	for c in vdc1 vdd1; do
		ok "$c takes a plain snap of md2 again" dmsnap snap md2 /dev/mapper/$c
	done
	for c in vdc2 vdd2; do
		ok "$c takes a plain snap of o2 again" dmsnap snap o2 /dev/mapper/$c
	done
	ok "drop md2's" dmsnap drop md2
	ok "drop o2's" dmsnap drop o2
	for o in $ORIGINS; do
		umount /mnt/$o
		ok "$o: xfs_repair -n clean" xfs_repair -n /dev/mapper/$o
	done
}

setup || return 0
soak
afterwards
