# bench: the guest half of `make bench` (tests/bench/README.md). Not a test:
# "# manual" keeps it out of the default run (make check). Timings leave as raw samples,
# one "BENCH: sample KEY VALUE" line each, for tests/bench/report to turn into
# medians and ratios on the host; only the set-up steps are checked (ok/fail).
# Methods alternate within every round, so a slow spell of the host (TCG) hits
# all of them alike.
# manual
# own-boot
# timeout: 1800

ROUNDS=5         # of every figure
EXTRA=6          # more freeze rounds of the cheap methods: floor, dmsnap, writer alone
EXTRA_BUF=14     # and more still of floor and dmsnap under the streaming writer, the noisiest
CHURN=200        # create+remove cycles per churn round (x ROUNDS = 1000)
ORIGIN=/mnt/o    # XFS on /dev/mapper/md2: dmsnap's wrapper of plain /dev/vda
LVDIR=/mnt/l     # XFS on bvg/lv: an LV of the same size on /dev/vdb
T=/tmp/tm.out    # tm's line for the last timed command
TR=/sys/kernel/tracing

say() { echo "BENCH: $*"; }
sample() { say "sample $1 $2"; }

# val KEY LINE: the value of KEY=value in LINE.
val() { printf '%s\n' "$2" | tr ' ' '\n' | sed -n "s/^$1=//p" | head -n 1; }

# timed CMD... (';' separates the commands of a sequence): run it under tm;
# TM holds tm's line; the status is the sequence's.
timed() {
	local rc=0
	rm -f $T
	tm -o $T "$@" >/tmp/timed.out 2>&1 || rc=$?
	TM=$(cat $T 2>/dev/null)
	if [ $rc -ne 0 ]; then
		fail "$WHAT" "exit $rc: $*"
		sed 's/^/    | /' /tmp/timed.out | tail -n 10
	fi
	return $rc
}

# --- the kernel's view of a suspension: kprobes on dm_suspend and dm_resume ---

trace_setup() {
	mount -t tracefs nodev $TR &&
		echo 'p:dmb/s dm_suspend md=%di:x64' >>$TR/kprobe_events &&
		echo 'p:dmb/r dm_resume md=%di:x64' >>$TR/kprobe_events &&
		echo 'r:dmb/rr dm_resume' >>$TR/kprobe_events &&
		echo mono >$TR/trace_clock && echo 1 >$TR/events/dmb/enable && echo 1 >$TR/tracing_on
}
trace_clear() { [ -z "$TRACE" ] || echo >$TR/trace; }

# suspended_ms MD: milliseconds device MD (a mapped_device address) spent between
# dm_suspend's entry and the return of the dm_resume that follows, summed over the
# windows in the trace since trace_clear; then the number of windows, the start of
# the first and the end of the last (CLOCK_MONOTONIC seconds).
suspended_ms() {
	[ -n "$TRACE" ] || { echo "- 0 0 0"; return; }
	grep -v '^#' $TR/trace | awk -v md="$1" '
	{
		ts = ""; ev = ""; m = ""
		for (i = 2; i <= NF; i++)
			if ($i ~ /^[0-9]+\.[0-9]+:$/) { ts = substr($i, 1, length($i) - 1); ev = $(i + 1); break }
		pid = $1; sub(/.*-/, "", pid)
		if (match($0, /md=0x[0-9a-f]+/)) m = substr($0, RSTART + 3, RLENGTH - 3)
	}
	ev == "s:" && m == md && start == "" { start = ts; if (first == "") first = ts }
	ev == "r:" && m == md && start != "" { closer = pid }
	ev == "rr:" && closer != "" && pid == closer { sum += ts - start; n++; start = ""; closer = ""; last = ts }
	END { printf "%.3f %d %s %s\n", sum * 1000, n, first + 0, last + 0 }'
}

# md_of NAME: the mapped_device address of NAME, from a bare suspend+resume.
md_of() {
	trace_clear
	dmfloor "$1" >/dev/null || return 1
	grep -v '^#' $TR/trace | grep ' s: ' | tail -n 1 | sed 's/.*md=//'
}

# --- the writers ------------------------------------------------------------

# writer_start VAR FILE [-b]: a stall writer on FILE, paused; its pid in VAR, its
# lines in /tmp/VAR.out, the samples of its last window in /tmp/VAR.dump.
writer_start() {
	local var=$1 file=$2 out=/tmp/$1.out i=0
	shift 2
	stall -d "/tmp/$var.dump" "$@" "$file" >"$out" 2>&1 &
	eval "$var=$!"
	while ! grep -q '^stall ready' "$out" && [ $i -lt 600 ]; do sleep 0.1; i=$((i + 1)); done
	kill -STOP $!
}

# window PID FILE: end the writer's window; prints its stall line.
window() {
	local out=$2 n i=0
	n=$(grep -c '^stall max' "$out")
	kill -USR2 "$1"
	while [ "$(grep -c '^stall max' "$out")" -le "$n" ] && [ $i -lt 600 ]; do sleep 0.05; i=$((i + 1)); done
	grep '^stall max' "$out" | tail -n 1
}

# --- the four ways to take a snapshot (and to drop it) ----------------------

snap_floor() { timed dmfloor md2; }
snap_dmsnap() { timed dmsnap snap -v md2 /dev/vdc; }
drop_dmsnap() { timed dmsnap drop md2; }
# The README's walkthrough, each command as typed (sizes worked out before).
snap_dmsetup() {
	timed dd if=/dev/zero of=/dev/vdd bs=4k count=1 \; dmsetup suspend md2 \; \
		dmsetup create md2_snap --table "0 $SZ snapshot /dev/mapper/md2_dup /dev/vdd P 32" \; \
		dmsetup load md2 --table "0 $SZ snapshot-origin /dev/mapper/md2_dup" \; dmsetup resume md2
}
drop_dmsetup() {
	timed dmsetup suspend md2 \; dmsetup remove md2_snap \; \
		dmsetup load md2 --table "0 $SZ linear /dev/vda 0" \; dmsetup resume md2
}
snap_lvm() { timed lvcreate -q -s -c 16k -L 48M -n lvsnap bvg/lv; }
drop_lvm() { timed lvremove -q -y bvg/lvsnap; }
snap_none() { sleep 1; TM=""; }
# Group snapshots of N origins g1..gN (COWs gc1..gcN), and their floor: dmfloor
# suspending and resuming the same N devices from one process.
gpairs() { local k=1; while [ $k -le "$1" ]; do printf ' g%d:/dev/mapper/gc%d' $k $k; k=$((k + 1)); done; }
gnames() { local k=1; while [ $k -le "$1" ]; do printf ' g%d' $k; k=$((k + 1)); done; }
snap_gfloor2() { timed dmfloor $(gnames 2); }
snap_gfloor4() { timed dmfloor $(gnames 4); }
snap_gsnap2() { timed dmsnap snap -v $(gpairs 2); }
snap_gsnap4() { timed dmsnap snap -v $(gpairs 4); }
drop_g() { local g; for g in $(gnames 4); do dmsnap drop "$g" >/dev/null 2>&1; done; }

# freeze MODE ROUND METHOD: one window of the MODE writer around METHOD's snapshot.
freeze() {
	local mode=$1 round=$2 m=$3 w pid out line md key=freeze.$1.$3
	WHAT="freeze $mode round $round: $m"
	case $m in
	lvm) w=L$mode md=$MD_LV ;;
	g*) w=G$mode md=$MD_G1 ;;
	*) w=O$mode md=$MD_MD2 ;;
	esac
	eval "pid=\$$w"
	out=/tmp/$w.out
	kill -CONT "$pid"
	sleep 0.7 # warm-up: the writer's steady state
	kill -USR1 "$pid"
	sleep 0.3
	trace_clear
	"snap_$m" || { kill -STOP "$pid"; return 1; }
	sleep 0.4 # stalls caused by the snapshot but seen after it
	line=$(window "$pid" "$out")
	kill -STOP "$pid"
	say "detail $key round $round $line"
	sample "$key.window_ms" "$(val max_ms "$line")"
	if [ "$m" = none ]; then
		sample "$key.stall_ms" "$(val max_ms "$line")"
		return 0
	fi
	set -- $(suspended_ms "$md")
	say "detail $key round $round command from $(val start "$TM") suspended $*"
	if [ "$1" != - ]; then
		sample "$key.suspended_ms" "$1"
		sample "$key.suspensions" "$2"
	fi
	# The stall the snapshot causes: the longest write that overlaps the span from
	# the command's start to the end of the origin's suspension. Slower writes after
	# it (each first write to a chunk copies it to the COW) are the snapshot's
	# running cost, the same whoever made it: window_ms has them.
	if [ "$4" != 0 ]; then
		line=$(awk -v a="$(val start "$TM")" -v b="$4" \
			'{ if ($1 <= b && $1 + $2 / 1000 >= a && $2 > m) { m = $2; at = $1 } } END { printf "%.3f %.6f", m, at }' /tmp/$w.dump)
		sample "$key.stall_ms" "${line% *}"
		# > 0: the stall began before the suspension did (by this many ms)
		say "detail $key round $round stall ${line% *} lead_ms $(awk -v s="$3" -v at="${line#* }" 'BEGIN { printf "%.1f", (s - at) * 1000 }')"
	else
		sample "$key.stall_ms" "$(val max_ms "$line")"
	fi
	sample "$key.cmd_ms" "$(val total_ms "$TM")"
	case $m in
	dmsnap | gsnap*)
		sample "$key.self_ms" "$(sed -n 's/.* suspended for \([0-9.]*\) ms.*/\1/p' /tmp/timed.out)"
		sample "$key.syncfs_ms" "$(sed -n 's/.*synced .* in \([0-9.]*\) ms before the freeze.*/\1/p' /tmp/timed.out)" ;;
	floor | gfloor*) sample "$key.self_ms" "$(sed -n 's/.* suspended for \([0-9.]*\) ms.*/\1/p' /tmp/timed.out)" ;;
	dmsetup) # as the user sees it: from typing suspend (step 2) to resume's return (step 5)
		sample "$key.typed_ms" "$(awk -v a="$(val s2 "$TM")" -v b="$(val s5 "$TM")" \
			'BEGIN { split(a, x, "-"); split(b, y, "-"); printf "%.3f", y[2] - x[1] }')" ;;
	esac
	case $m in
	dmsnap | dmsetup | lvm) "drop_$m" ;;
	gsnap*) drop_g ;;
	esac
}

# --- set-up -----------------------------------------------------------------

setup() {
	ok "wrap /dev/vda as md2" dmsnap wrap /dev/vda md2 || return 1
	ok "mkfs.xfs md2" mkxfs /dev/mapper/md2 || return 1
	mkdir -p $ORIGIN $LVDIR
	ok "mount md2" mount /dev/mapper/md2 $ORIGIN || return 1
	SZ=$(sectors /dev/mapper/md2)
	ok "pvcreate vdb vde" pvcreate -q /dev/vdb /dev/vde || return 1
	ok "vgcreate bvg" vgcreate -q bvg /dev/vdb /dev/vde || return 1
	ok "lvcreate bvg/lv on all of vdb" lvcreate -q -y -n lv -l 100%PVS bvg /dev/vdb || return 1
	ok "mkfs.xfs bvg/lv" mkxfs /dev/bvg/lv || return 1
	ok "mount bvg/lv" mount /dev/bvg/lv $LVDIR || return 1
	say "note origin md2 = dmsnap wrap of plain /dev/vda: $SZ sectors; bvg/lv: $(sectors /dev/bvg/lv) sectors on /dev/vdb"
	say "note kernel $(uname -r), $(grep -c ^processor /proc/cpuinfo) vCPU, $(awk '/MemTotal/ { print $2 }' /proc/meminfo) KiB"
	TRACE=""
	if trace_setup 2>/dev/null; then
		TRACE=1
		MD_MD2=$(md_of md2) MD_LV=$(md_of bvg-lv)
	else
		say "note no kprobes: suspended times from the trace are missing"
		MD_MD2="" MD_LV=""
	fi
}

# --- 1. freeze cost under a writer ------------------------------------------

freeze_cost() {
	local mode modes r m i
	writer_start Osync $ORIGIN/stall.dat
	writer_start Lsync $LVDIR/stall.dat
	writer_start Obuf $ORIGIN/stream.dat -b
	writer_start Lbuf $LVDIR/stream.dat -b
	# The streaming writer rewrites 32 MiB, below the default dirty thresholds: with
	# these it runs at the dirty limit, as a long stream does, and each freeze has a
	# like amount to flush instead of whatever the 5 s flusher left.
	echo $((4 << 20)) >/proc/sys/vm/dirty_background_bytes
	echo $((16 << 20)) >/proc/sys/vm/dirty_bytes
	for r in $(seq $((ROUNDS + EXTRA + EXTRA_BUF))); do
		modes="sync buf"
		if [ "$r" -le $ROUNDS ]; then
			set -- none floor dmsnap dmsetup lvm
		elif [ "$r" -le $((ROUNDS + EXTRA)) ]; then
			set -- none floor dmsnap
		else
			set -- floor dmsnap
			modes=buf
		fi
		# Round r starts at the r-th method: each takes every place in the order.
		i=1
		while [ $i -lt "$r" ]; do m=$1; shift; set -- "$@" "$m"; i=$((i + 1)); done
		for mode in $modes; do
			for m in "$@"; do
				freeze $mode "$r" $m
			done
		done
	done
	kill -CONT $Osync $Lsync $Obuf $Lbuf
	kill $Osync $Lsync $Obuf $Lbuf
	wait $Osync $Lsync $Obuf $Lbuf 2>/dev/null
	echo 10 >/proc/sys/vm/dirty_background_ratio # writing a ratio clears the bytes
	echo 20 >/proc/sys/vm/dirty_ratio
	rm -f $ORIGIN/stall.dat $ORIGIN/stream.dat $LVDIR/stall.dat $LVDIR/stream.dat
	sync
}

# --- 1b. grow under a writer: the COW's own device switches, the origin does not -

# grow_cost: rounds of (snap; the fdatasync writer's window around `dmsnap grow`;
# drop) against the floor (a bare suspend+resume of md2) under the same writer.
# The stall is the longest write overlapping grow's run: copy-outs wait while the
# COW's device switches. The origin's suspensions during grow come from kprobes.
grow_cost() {
	local r
	writer_start Osync $ORIGIN/stall.dat
	for r in $(seq $ROUNDS); do
		freeze sync "$r" floor
		WHAT="grow round $r"
		dmsnap snap md2 /dev/vdc >/dev/null 2>&1 || { fail "$WHAT" "snap"; break; }
		# The control: the same window with the snapshot but nothing switched (its
		# copy-outs are a running cost, whoever grows it).
		grow_window sleep 0.5 || break
		sample grow.sync.control_stall_ms "$STALL"
		grow_window dmsnap grow md2 /dev/vdd || break
		set -- $(suspended_ms "$MD_MD2")
		[ "$1" = - ] || sample grow.sync.origin_suspensions "$2"
		sample grow.sync.stall_ms "$STALL"
		sample grow.sync.window_ms "$(val max_ms "$LINE")"
		sample grow.sync.cmd_ms "$(val total_ms "$TM")"
		dmsnap drop md2 >/dev/null 2>&1
	done
	kill -CONT "$Osync"
	kill "$Osync"
	wait "$Osync" 2>/dev/null
	rm -f $ORIGIN/stall.dat
}

# grow_window CMD...: the fdatasync writer's window around CMD; STALL is its
# longest write overlapping CMD's run, LINE the window's stall line.
grow_window() {
	local a b
	kill -CONT "$Osync"
	sleep 0.7
	kill -USR1 "$Osync"
	sleep 0.3
	trace_clear
	timed "$@" || { kill -STOP "$Osync"; return 1; }
	sleep 0.4
	LINE=$(window "$Osync" /tmp/Osync.out)
	kill -STOP "$Osync"
	a=$(val start "$TM")
	b=$(awk -v a="$a" -v t="$(val total_ms "$TM")" 'BEGIN { printf "%.6f", a + t / 1000 }')
	STALL=$(awk -v a="$a" -v b="$b" '{ if ($1 <= b && $1 + $2 / 1000 >= a && $2 > m) m = $2 } END { printf "%.3f", m }' /tmp/Osync.dump)
}

# --- 2. whole commands, idle ------------------------------------------------

whole() {
	local r m
	for r in $(seq $ROUNDS); do
		for m in dmsnap dmsetup lvm; do
			WHAT="whole round $r: $m snap"
			"snap_$m" || continue
			sample "whole.$m.snap_ms" "$(val total_ms "$TM")"
			sample "whole.$m.snap_maxrss_kb" "$(val maxrss_kb "$TM")"
			WHAT="whole round $r: $m drop"
			"drop_$m" || continue
			sample "whole.$m.drop_ms" "$(val total_ms "$TM")"
			sample "whole.$m.drop_maxrss_kb" "$(val maxrss_kb "$TM")"
		done
	done
}

# --- 3. churn: create+remove cycles of a linear device ----------------------

churn() {
	local r
	for r in $(seq $ROUNDS); do
		WHAT="churn round $r: dmsnap"
		timed sh -c "i=0; while [ \$i -lt $CHURN ]; do
			dmsnap create --table '0 8 linear /dev/vdd 0' churn && dmsnap remove churn || exit 1
			i=\$((i + 1)); done" &&
			sample churn.dmsnap.cycle_ms "$(awk -v t="$(val total_ms "$TM")" "BEGIN { printf \"%.3f\", t / $CHURN }")"
		WHAT="churn round $r: dmsetup"
		timed sh -c "i=0; while [ \$i -lt $CHURN ]; do
			dmsetup --noudevsync create churn --table '0 8 linear /dev/vdd 0' &&
			dmsetup --noudevsync remove churn || exit 1
			i=\$((i + 1)); done" &&
			sample churn.dmsetup.cycle_ms "$(awk -v t="$(val total_ms "$TM")" "BEGIN { printf \"%.3f\", t / $CHURN }")"
	done
}

# --- 4. origin writes by snapshots and chunk size ---------------------------

# snaps N CHUNK: N dmsnap snapshots of md2 with CHUNK-sector chunks.
snaps() {
	[ "$1" -ge 1 ] || return 0
	dmsnap snap -q -c "$2" md2 /dev/vdc >/dev/null || return 1
	[ "$1" -ge 2 ] || return 0
	dmsnap snap -q -c "$2" -s md2_snap2 md2 /dev/vdd >/dev/null
}

# cow_used_mib: what the first snapshot of md2 holds, metadata included.
cow_used_mib() {
	dmsnap show -p md2 | head -n 1 |
		awk '{ for (i = 1; i <= NF; i++) if ($i ~ /^used_sectors=/) printf "%.1f", substr($i, 14) / 2048 }'
}

# writes KIND N CHUNK: one sequential (seq: 64 MiB dd, conv=fsync) or scattered
# (rand: 2000 x 4 KiB, then fsync) overwrite of the 64 MiB file under N fresh
# snapshots with CHUNK-sector chunks.
writes() {
	local kind=$1 n=$2 c=$3 key line
	key=$kind.snaps$n
	[ "$n" = 0 ] || key=$key.chunk$c
	WHAT="writes $kind, round $r: $n snapshot(s), chunk $c"
	snaps "$n" "$c" || { fail "$WHAT" "dmsnap snap failed"; dmsnap drop md2 >/dev/null 2>&1; return 1; }
	sync
	echo 3 >/proc/sys/vm/drop_caches # the copies read the origin from the disk
	if [ "$kind" = seq ] && timed dd if=/dev/zero of=$ORIGIN/tp bs=1M count=64 conv=fsync,notrunc; then
		sample "$key.mib_s" "$(awk -v t="$(val total_ms "$TM")" 'BEGIN { printf "%.2f", 64000 / t }')"
	elif [ "$kind" = rand ] && line=$(randw $ORIGIN/tp 64 2000); then
		sample "$key.writes_s" "$(val writes_s "$line")"
	else
		fail "$WHAT" "the writes failed"
	fi
	[ "$n" = 0 ] || sample "$key.cow_used_mib" "$(cow_used_mib)"
	[ "$n" = 0 ] || dmsnap drop md2 >/dev/null || fail "$WHAT" "drop failed"
}

throughput() {
	local r cfg
	WHAT="writes set-up"
	timed dd if=/dev/zero of=$ORIGIN/tp bs=1M count=64 conv=fsync || return 1
	dd if=/dev/zero of=/dev/vdd bs=64k count=1 conv=fsync 2>/dev/null # the dmsetup rounds' header
	for r in $(seq $ROUNDS); do
		for cfg in 0:0 1:8 1:32 1:128 2:8 2:32 2:128; do
			writes seq "${cfg%:*}" "${cfg#*:}"
		done
		for cfg in 0:0 1:8 1:32 1:128; do
			writes rand "${cfg%:*}" "${cfg#*:}"
		done
	done
	rm -f $ORIGIN/tp
}

# --- 5. group snapshots: N origins frozen at one instant ----------------------

# Four 64 MiB origins g1..g4 (ext4, mounted) on dm-linear pieces of vdd, their
# COWs gc1..gc4 pieces of vdc; the fdatasync writer on g1, which is suspended
# first and resumed last but one step: its stall is the group's longest.
group_setup() {
	local k
	for k in 1 2 3 4; do
		dmsetup create gp$k --table "0 131072 linear /dev/vdd $(((k - 1) * 131072))" &&
			dmsetup create gc$k --table "0 131072 linear /dev/vdc $(((k - 1) * 131072))" || return 1
	done
	mknodes
	for k in 1 2 3 4; do
		# The COW check reads both ends of each piece: blank them.
		dd if=/dev/zero of=/dev/mapper/gc$k bs=128k count=1 conv=fsync 2>/dev/null &&
			dd if=/dev/zero of=/dev/mapper/gc$k bs=128k seek=511 count=1 conv=fsync 2>/dev/null &&
			dmsnap wrap /dev/mapper/gp$k g$k >/dev/null && mkdir -p /mnt/g$k &&
			mkext4 /dev/mapper/g$k -E lazy_itable_init=0,lazy_journal_init=0 && # no zeroing behind the writer
			mount /dev/mapper/g$k /mnt/g$k || return 1
	done
	MD_G1=""
	[ -z "$TRACE" ] || MD_G1=$(md_of g1)
}

group() {
	local r m
	WHAT="group set-up"
	ok "group: four origins and COWs on pieces of vdd and vdc" group_setup || return 1
	writer_start Gsync /mnt/g1/stall.dat
	for r in $(seq $((ROUNDS + EXTRA))); do
		set -- gfloor2 gsnap2 gfloor4 gsnap4
		i=1
		while [ $i -lt "$(((r - 1) % 4 + 1))" ]; do m=$1; shift; set -- "$@" "$m"; i=$((i + 1)); done
		for m in "$@"; do
			freeze sync "$r" $m
		done
	done
	kill -CONT $Gsync
	kill $Gsync
	wait $Gsync 2>/dev/null
}

say "begin $(date -u '+%Y-%m-%d %H:%M:%S') rounds=$ROUNDS extra=$EXTRA extra_buf=$EXTRA_BUF churn=$CHURN"
setup || return 0
t0=$(cut -d' ' -f1 /proc/uptime)
# BENCH_PARTS on the host (bench.host) picks some: "group" or "freeze_cost grow_cost" alone.
parts=$(sed -n 's/.*dmsnap.bench_parts=\([^ ]*\).*/\1/p' /proc/cmdline | tr , ' ')
for part in ${parts:-freeze_cost grow_cost whole churn throughput group}; do
	s=$(cut -d' ' -f1 /proc/uptime)
	$part
	say "note part $part took $(awk -v a="$s" -v b="$(cut -d' ' -f1 /proc/uptime)" 'BEGIN { printf "%.0f", b - a }') s"
done
say "end after $(awk -v a="$t0" -v b="$(cut -d' ' -f1 /proc/uptime)" 'BEGIN { printf "%.0f", b - a }') s"
