# group_snapshot: `dmsnap snap NAME:COW NAME2:COW2` takes its snapshots at one
# instant. A writer alternates numbered records between the filesystems of two
# wrapped volumes (write + fdatasync to data, then to log, then data...): in
# every group snapshot the last record on log is the last on data or the one
# before, never one whose data record is missing. Two separate snaps are shown
# to break that (how often is printed, not judged). Then run with two pairs,
# the one-pair forms, and the refusals, after which nothing changed anywhere.
# timeout: 600

ROUNDS=20
DATA=/mnt/data
LOG=/mnt/log

setup() {
	ok "mkfs.ext4 vda" mkext4 /dev/vda || return 1
	ok "mkfs.ext4 vdb" mkext4 /dev/vdb || return 1
	ok "wrap vda as data" dmsnap wrap /dev/vda data || return 1
	ok "wrap vdb as log" dmsnap wrap /dev/vdb log || return 1
	mkdir -p $DATA $LOG /mnt/sd /mnt/sl
	ok "mount data" mount /dev/mapper/data $DATA || return 1
	ok "mount log" mount /dev/mapper/log $LOG || return 1
	ok "sync -d works here" sh -c "echo 0 >$DATA/rec && sync -d $DATA/rec && echo 0 >$LOG/rec && sync -d $LOG/rec"
}

# writer: records 1, 2, ... appended to data then to log, each made durable
# before the next is written, until /tmp/stop appears.
writer() {
	local i=0
	while [ ! -e /tmp/stop ]; do
		i=$((i + 1))
		echo $i >>$DATA/rec && sync -d $DATA/rec || return 1
		echo $i >>$LOG/rec && sync -d $LOG/rec || return 1
	done
}

# last_records: "D L", the last record in each snapshot (mounted read-only).
last_records() {
	local d l
	mount -o ro /dev/mapper/data_snap /mnt/sd || return 1
	mount -o ro /dev/mapper/log_snap /mnt/sl || { umount /mnt/sd; return 1; }
	d=$(tail -n 1 /mnt/sd/rec)
	l=$(tail -n 1 /mnt/sl/rec)
	umount /mnt/sd
	umount /mnt/sl
	echo "$d $l"
}

# one_instant HOW: ROUNDS snapshots of both taken HOW (group or apart) while the
# writer runs; BROKEN counts those where log's last record is not data's last or
# the one before; FIRST and LAST are data's last records in the first and last.
one_instant() {
	local how=$1 r d l rec
	BROKEN=0 FIRST= LAST=
	for r in $(seq $ROUNDS); do
		sleep 0.3
		if [ "$how" = group ]; then
			dmsnap snap data:/dev/vdc log:/dev/vdd >/tmp/snap.out 2>&1
		else
			dmsnap snap data /dev/vdc >/tmp/snap.out 2>&1 && dmsnap snap log /dev/vdd >>/tmp/snap.out 2>&1
		fi || { fail "$how round $r: snap" "$(tail -n 3 /tmp/snap.out)"; return 1; }
		rec=$(last_records) || { fail "$how round $r: read the snapshots" "mount failed"; return 1; }
		d=${rec% *} l=${rec#* }
		[ -n "$FIRST" ] || FIRST=$d
		LAST=$d
		[ "$l" -eq "$d" ] || [ "$l" -eq $((d - 1)) ] || BROKEN=$((BROKEN + 1))
		[ "$how" = apart ] || [ "$l" -eq "$d" ] || [ "$l" -eq $((d - 1)) ] ||
			fail "group round $r: one instant" "data's last record is $d, log's $l"
		dmsnap drop data >/dev/null && dmsnap drop log >/dev/null || { fail "$how round $r: drop" "failed"; return 1; }
	done
	ok "$how: the writer went on between snapshots (records $FIRST to $LAST)" [ $((LAST - FIRST)) -ge $ROUNDS ]
}

instant() {
	rm -f /tmp/stop
	writer &
	local w=$!
	sleep 1
	one_instant group && assert_eq "group: log's last record is data's or the one before, $ROUNDS of $ROUNDS" "$BROKEN" 0
	one_instant apart && echo "show: $SCENARIO: two separate snaps broke the rule in $BROKEN of $ROUNDS rounds"
	touch /tmp/stop
	wait $w
	ok "writer ran to the end without error" [ $? -eq 0 ]
	ok "settled after the rounds" dm_settled
}

# run with two pairs: both mounted under DMSNAP_MOUNT/NAME, the lists in the
# environment, everything gone after.
run_group() {
	ok "run data:COW log:COW" dmsnap run data:/dev/vdc log:/dev/vdd -- sh -c \
		'tail -n 1 "$DMSNAP_MOUNT/data/rec" && tail -n 1 "$DMSNAP_MOUNT/log/rec" &&
		echo "$DMSNAP_DEVICE|$DMSNAP_ORIGIN" >/tmp/env && echo "$DMSNAP_MOUNT" >/tmp/dir'
	assert_eq "run: DMSNAP_DEVICE and DMSNAP_ORIGIN list the pairs" "$(cat /tmp/env)" \
		"/dev/mapper/data_snap /dev/mapper/log_snap|data log"
	ok "run: mount point removed" [ ! -e "$(cat /tmp/dir)" ]
	assert_eq "run: no snapshot left" "$(snapshots_of data)$(snapshots_of log)" ""
	ok "run -- pairs -- CMD" dmsnap run -- data:/dev/vdc log:/dev/vdd -- true
	expect_exit 1 "run: a failing command's status" dmsnap run data:/dev/vdc log:/dev/vdd -- false
	ok "settled after run" dm_settled
}

# The one-pair forms: NAME:COW is NAME COW; a COW path with a ':' stays a COW.
one_pair() {
	ok "snap data:/dev/vdc" dmsnap snap data:/dev/vdc && contains "snap NAME:COW prints the snapshot" "$(cat /tmp/lib.out)" '^/dev/mapper/data_snap$'
	ok "drop data" dmsnap drop data
	ln -sf /dev/vdc /tmp/cow:1
	ok "snap log /tmp/cow:1 (a ':' in the COW)" dmsnap snap log /tmp/cow:1
	ok "show lists a group's member" sh -c 'dmsnap show log | grep -q log_snap'
	ok "drop log" dmsnap drop log
}

# refused NAME PATTERN CMD...: a clean failure, no dm state changed, the COWs' and
# the origins' first MiB as they were, and a reason matching PATTERN.
refused() {
	local name=$1 pattern=$2 d
	shift 2
	for d in vdc vdd vde mapper/data mapper/log; do raw_copy /dev/$d 1048576 /tmp/before.${d#mapper/}; done
	unchanged "$name" "$@" && contains "$name: says why" "$(cat /tmp/lib.out)" "$pattern"
	for d in vdc vdd vde mapper/data mapper/log; do
		raw_copy /dev/$d 1048576 /tmp/after
		cmp -s /tmp/before.${d#mapper/} /tmp/after || fail "$name: /dev/$d unchanged" "its first MiB changed"
	done
}

refusals() {
	refused "origin twice" 'data is given twice' dmsnap snap data:/dev/vdc data:/dev/vdd
	refused "COW twice" 'also the COW of' dmsnap snap data:/dev/vdc log:/dev/vdc
	ln -sf /dev/vdc /tmp/samecow
	refused "COW twice, by two paths" 'also the COW of' dmsnap snap data:/dev/vdc log:/tmp/samecow
	refused "COW = another pair's origin (mounted)" 'another origin of the group' \
		dmsnap snap data:/dev/mapper/log log:/dev/vdd
	umount $LOG
	refused "COW = another pair's origin, unmounted, --force" 'another origin of the group' \
		dmsnap snap --force data:/dev/mapper/log log:/dev/vdd
	refused "COW = another pair's duplicate" 'another origin of the group\|held by another device' \
		dmsnap snap --force data:/dev/mapper/log_dup log:/dev/vdd
	mount /dev/mapper/log $LOG
	refused "bad pair last: not wrapped" 'nosuch: no such device' dmsnap snap data:/dev/vdc log:/dev/vdd nosuch:/dev/vde
	refused "bad pair first: not wrapped" 'nosuch: no such device' dmsnap snap nosuch:/dev/vde data:/dev/vdc log:/dev/vdd
	mkext4 /dev/vde
	refused "bad pair: a COW with a filesystem" 'ext2/3/4' dmsnap snap data:/dev/vdc log:/dev/vde
	refused "bad pair: COW missing" 'No such file' dmsnap snap data:/dev/vdc log:/dev/nonexistent
	expect_exit 2 "a pair without ':'" dmsnap snap data:/dev/vdc log:/dev/vdd log
	refused "two arguments, one ':', are NAME COW" 'data:/dev/vdc: no such device' dmsnap snap data:/dev/vdc log
	expect_exit 2 "a pair without a COW" dmsnap snap data:/dev/vdc log:
	expect_exit 2 "-s with a group" dmsnap snap -s x data:/dev/vdc log:/dev/vdd
	expect_exit 2 "--reattach with a group" dmsnap snap --reattach data:/dev/vdc log:/dev/vdd
	# An origin whose device lies on another's filesystem: freezing both would deadlock.
	dd if=/dev/zero of=$DATA/disk bs=1M count=16 2>/dev/null
	loop=$(losetup -f --show $DATA/disk) && ok "wrap a loop over a file on data" dmsnap wrap "$loop" inner &&
		refused "an origin on another origin" 'inner lies on data' dmsnap snap inner:/dev/vde data:/dev/vdc &&
		refused "an origin on another origin, other order" 'inner lies on data' dmsnap snap data:/dev/vdc inner:/dev/vde
	dmsnap unwrap inner >/dev/null 2>&1
	losetup -d "$loop" 2>/dev/null
	ok "settled after the refusals" dm_settled
	ok "data writable" sh -c "echo x >$DATA/alive && sync"
	ok "log writable" sh -c "echo x >$LOG/alive && sync"
}

setup || return 0
instant
run_group
one_pair
refusals
