# foreign_wrappers: a NAME/NAME_dup pair is dmsnap's wrapper only when each is
# one linear target over the whole device from offset 0, of equal lengths. Pairs
# an admin made otherwise with dmsetup (an offset, a partial length, two
# targets, different lengths), each with a snapshot of NAME_dup made by hand, are
# refused by snap, drop, merge, unwrap and recover NAME, and not shown as
# wrappers: nothing created or removed, the data untouched. wrap refuses a whole
# disk that has partitions: device-mapper's claim on it would block them all.
# timeout: 600

BASE=/dev/vde
S=$(sectors $BASE)
H=$((S / 2))
VDE=$(cat /sys/block/vde/dev)
VDD=$(cat /sys/block/vdd/dev)

devno() { dmsetup info -c --noheadings -o major,minor "$1" | tr -d ' '; }

# reset: no dm device, blank COWs.
reset() {
	local n
	for n in $(dmsetup info -c --noheadings -o name,suspended 2>/dev/null |
		awk -F: '$2 == "Suspended" { print $1 }'); do
		dmsetup resume "$n"
	done
	dmsetup remove_all --force >/dev/null 2>&1
	find /dev/mapper -mindepth 1 ! -name control -exec rm -f {} +
	dd if=/dev/zero of=/dev/vdc bs=64k count=1 oflag=direct 2>/dev/null
	dd if=/dev/zero of=/dev/vdd bs=64k count=1 oflag=direct 2>/dev/null
}

# make_pair TOP DUP [nosnap]: fw and fw_dup from these tables (one target a line,
# "\n" between lines), then fw_snap, a snapshot of fw_dup on vdd named as dmsnap would.
make_pair() {
	reset || return 1
	printf '%b' "$1" | dmsetup create fw && printf '%b' "$2" | dmsetup create fw_dup || return 1
	[ "${3:-}" = nosnap ] ||
		echo "0 $(dmsetup table fw_dup | awk '{ n += $2 } END { print n }') snapshot $(devno fw_dup) $VDD P 32" |
		dmsetup create fw_snap || return 1
	mknodes
}

# state: every device's tables and info (dm_state without the statuses, which
# only change with the data, checked apart).
state() {
	dmsetup table 2>&1 | sed 's/^/table /' | sort
	dmsetup info -c --noheadings 2>&1 | sed 's/^/info /' | sort
}

# data: the size and first 256 KiB of vde and of fw, read around the page cache
# (fw at another offset shows other bytes).
data() {
	local d
	for d in $BASE /dev/mapper/fw; do
		echo "$d $(sectors "$d" 2>&1) $(dd if="$d" bs=64k count=4 iflag=direct 2>/dev/null | sha256sum)"
	done
}

# left_alone CMD...: CMD exits below 126, and the dm state and the data are as
# before: returns CMD's status, else prints why and returns 255. $OUT holds CMD's output.
left_alone() {
	local rc=0
	state >/tmp/state.before
	data >/tmp/data.before
	"$@" >"$OUT" 2>&1 || rc=$?
	state >/tmp/state.after
	data >/tmp/data.after
	if [ $rc -ge 126 ]; then
		echo "crashed or could not run (exit $rc)"
	elif ! cmp -s /tmp/state.before /tmp/state.after; then
		echo "exit $rc, and the dm state changed"
		diff /tmp/state.before /tmp/state.after | grep '^[-+][^-+]'
	elif ! cmp -s /tmp/data.before /tmp/data.after; then
		echo "exit $rc, and the data changed"
		diff /tmp/data.before /tmp/data.after | grep '^[-+][^-+]'
	else
		return $rc
	fi
	return 255
}

# refuses NAME CMD...: CMD fails cleanly, says something about fw, and changes nothing.
refuses() {
	local name=$1 rc=0 why
	shift
	why=$(left_alone "$@") || rc=$?
	if [ $rc -eq 255 ]; then
		fail "$name" "$(echo "$why" | head -n 1): $*"
		echo "$why" | tail -n +2 | head -n 12 | sed 's/^/    | /'
		show_output
	elif [ $rc -eq 0 ]; then
		fail "$name" "succeeded on a pair that is not dmsnap's: $*"
		show_output
	elif ! grep -q 'fw' "$OUT"; then
		fail "$name" "refused without saying why: $*"
		show_output
	else
		pass "$name"
	fi
}

# ignores NAME CMD...: CMD (over every device) changes nothing and lists no fw.
ignores() {
	local name=$1 rc=0 why
	shift
	why=$(left_alone "$@") || rc=$?
	if [ $rc -eq 255 ]; then
		fail "$name" "$(echo "$why" | head -n 1): $*"
		echo "$why" | tail -n +2 | head -n 12 | sed 's/^/    | /'
	elif grep -q '^origin=fw ' "$OUT"; then
		fail "$name" "lists fw as dmsnap's: $*"
		show_output
	else
		pass "$name"
	fi
}

# on_pair CHECK NAME [nosnap] CMD...: CHECK (refuses or ignores) CMD on the pair
# made from $top and $dup, with fw_snap unless nosnap; made again when a command
# changed it.
on_pair() {
	local check=$1 name=$2 want=with
	shift 2
	[ "$1" != nosnap ] || { want=nosnap; shift; }
	if [ "$PAIR" != $want ]; then
		PAIR=""
		if ! make_pair "$top" "$dup" $want >"$OUT" 2>&1; then
			fail "$name" "could not make the pair with dmsetup"
			show_output
			return
		fi
		PAIR=$want
	fi
	$check "$name" "$@"
	cmp -s /tmp/state.before /tmp/state.after && cmp -s /tmp/data.before /tmp/data.after || PAIR=""
}

# foreign CASE TOP DUP: every command on the pair.
foreign() {
	local c=$1 top=$2 dup=$3
	PAIR=""
	on_pair refuses "$c: snap refused" dmsnap snap fw /dev/vdc
	on_pair refuses "$c: show fw refused" dmsnap show fw
	on_pair ignores "$c: show -p ignores it" dmsnap show -p
	on_pair refuses "$c: drop refused" dmsnap drop fw
	on_pair refuses "$c: merge refused" dmsnap merge fw fw_snap
	on_pair refuses "$c: recover fw refused" dmsnap recover fw
	on_pair ignores "$c: recover (all) leaves it" dmsnap recover
	on_pair refuses "$c: unwrap refused" nosnap dmsnap unwrap fw
}

# The control: a pair exactly like dmsnap's, made with dmsetup, is dmsnap's.
ours() {
	ok "dmsnap's layout made with dmsetup" make_pair "0 $S linear $VDE 0\n" "0 $S linear $VDE 0\n" nosnap || return
	ok "it is snapshotted" dmsnap snap fw /dev/vdc
	ok "and dropped" dmsnap drop fw
	ok "and unwrapped" dmsnap unwrap fw
}

# A disk with two partitions, on a loop device: wrap refuses it, naming them.
partitioned_disk() {
	local img=/tmp/disk.img loop p1
	modprobe loop
	truncate -s 64M $img
	# MBR: two type-83 partitions of 20 MiB, at sectors 2048 and 43008.
	printf '\000\000\000\000\203\000\000\000\000\010\000\000\000\240\000\000' |
		dd of=$img bs=1 seek=446 conv=notrunc 2>/dev/null
	printf '\000\000\000\000\203\000\000\000\000\250\000\000\000\240\000\000' |
		dd of=$img bs=1 seek=462 conv=notrunc 2>/dev/null
	printf '\125\252' | dd of=$img bs=1 seek=510 conv=notrunc 2>/dev/null
	loop=$(losetup -f)
	ok "losetup -P $loop" losetup -P "$loop" $img || return
	p1=${loop##*/}p1
	ok "the kernel sees its partitions" test -e "/sys/block/${loop##*/}/$p1" || { losetup -d "$loop"; return; }
	ok "mkfs.ext4 on $p1" mkext4 "/dev/$p1"
	unchanged "wrap of a disk with partitions refused" dmsnap wrap "$loop" disk &&
		contains "wrap names the partitions" "$(cat "$OUT")" "$p1"
	mkdir -p /mnt/p1
	ok "$p1 can still be mounted" mount "/dev/$p1" /mnt/p1 && umount /mnt/p1
	dmsetup info disk >/dev/null 2>&1 && dmsnap unwrap disk >/dev/null 2>&1
	ok "wrap of the partition itself" dmsnap wrap "/dev/$p1" part && ok "unwrap it" dmsnap unwrap part
	# Whatever the refusals did not refuse.
	dmsetup remove_all --force >/dev/null 2>&1
	losetup -d "$loop"
	rm -f $img
}

ok "random data on vde's first 2 MiB" dd if=/dev/urandom of=$BASE bs=64k count=32 oflag=direct || return 0
ours
foreign "both at an offset" "0 $((S - 2048)) linear $VDE 2048\n" "0 $((S - 2048)) linear $VDE 2048\n"
foreign "NAME at an offset" "0 $((S - 2048)) linear $VDE 2048\n" "0 $((S - 2048)) linear $VDE 0\n"
foreign "both partial" "0 $H linear $VDE 0\n" "0 $H linear $VDE 0\n"
foreign "NAME of two targets" "0 $H linear $VDE 0\n$H $H linear $VDE $H\n" "0 $S linear $VDE 0\n"
foreign "NAME_dup of two targets" "0 $S linear $VDE 0\n" "0 $H linear $VDE 0\n$H $H linear $VDE $H\n"
foreign "NAME_dup shorter" "0 $S linear $VDE 0\n" "0 $H linear $VDE 0\n"
foreign "NAME shorter" "0 $H linear $VDE 0\n" "0 $S linear $VDE 0\n"
reset
partitioned_disk
