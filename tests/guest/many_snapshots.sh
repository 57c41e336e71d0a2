# many_snapshots: seventy snapshots of one origin, more than dmsnap's table once
# held (64). Each snapshot shows the origin as it was at its own time, though the
# origin is written after every snap; show, watch, merge and drop see every one;
# drop removes them all and puts the origin back to linear. A dmsnap with a limit
# may instead refuse the snap past it (64 or more), with an error that names the limit.
# The COWs are linear slices of vdd; the origin is vdb, wrapped as "many".
# timeout: 600

N=70
SLICE=6144 # sectors per COW (3 MiB): room for the 71 chunks the oldest snapshot receives
ORIGIN=/dev/mapper/many

# snap_name I: the default name of the I-th snapshot.
snap_name() { if [ "$1" -eq 1 ]; then echo many_snap; else echo "many_snap$1"; fi; }

# put DEV CHUNK TEXT: TEXT, blank-padded, as 16 KiB chunk CHUNK (dmsnap's default chunk)
# of DEV, around the page cache.
put() {
	printf "%-16384s" "$3" | dd of="$1" bs=16k seek="$2" count=1 iflag=fullblock oflag=direct \
		conv=notrunc 2>/dev/null
}

# get DEV CHUNK: the first four bytes of chunk CHUNK of DEV, read around the page cache
# (a zero chunk reads as the empty string).
get() { dd if="$1" bs=16k skip="$2" count=1 iflag=direct 2>/dev/null | head -c 4; }

setup() {
	local i
	ok "wrap vdb" dmsnap wrap /dev/vdb many || return 1
	for i in $(seq $N); do
		echo "0 $SLICE linear /dev/vdd $(((i - 1) * SLICE))" | dmsetup create "cow$i" || break
	done
	ok "$N COW slices of vdd" test "$(dmsetup ls | grep -c '^cow')" -eq $N || return 1
	mknodes
	put $ORIGIN 0 test
	assert_eq "a marker written to the origin reads back" "$(get $ORIGIN 0)" test || return 1
}

# take: before snapshot I the origin's chunk 0 says mI; after it, chunk I says wI,
# which copies chunk I out into every snapshot taken so far. Sets TAKEN.
take() {
	local i rc m
	TAKEN=0
	for i in $(seq $N); do
		m=$(printf 'm%03d' "$i")
		put $ORIGIN 0 "$m"
		dm_state >/tmp/state.before
		rc=0
		dmsnap snap many "/dev/mapper/cow$i" >"$OUT" 2>&1 || rc=$?
		if [ $rc -ne 0 ]; then
			dm_state >/tmp/state.after
			if [ $rc -ge 126 ]; then
				fail "snap $i" "crashed or could not run (exit $rc)"
				show_output
			elif ! cmp -s /tmp/state.before /tmp/state.after; then
				fail "snap $i refused" "but the dm state changed"
				diff /tmp/state.before /tmp/state.after | sed 's/^/    | /'
			elif [ "$TAKEN" -lt 64 ]; then
				fail "snap $i refused" "after only $TAKEN snapshots (64 worked before)"
				show_output
			elif ! grep -q "$TAKEN\|limit" "$OUT"; then
				fail "snap $i refused" "without naming the limit ($TAKEN snapshots taken)"
				show_output
			else
				pass "snap $i refused, naming the limit of $TAKEN"
			fi
			return
		fi
		if [ "$(cat "$OUT")" != "/dev/mapper/$(snap_name "$i")" ]; then
			fail "snap $i" "printed '$(cat "$OUT")', want /dev/mapper/$(snap_name "$i")"
			return
		fi
		TAKEN=$i
		put $ORIGIN "$i" "$(printf 'w%03d' "$i")"
	done
	pass "$N snapshots of one origin taken"
}

# Snapshot J: chunk 0 mJ (its own time), chunk J zero (written after it), chunk J-1
# w(J-1) (written before it), and the kernel still calls it valid.
verify() {
	local j s bad="" want
	put $ORIGIN 0 last
	for j in $(seq "$TAKEN"); do
		s=/dev/mapper/$(snap_name "$j")
		want=$(printf 'm%03d' "$j")
		[ "$(get "$s" 0)" = "$want" ] || bad="$bad $(snap_name "$j"):chunk0='$(get "$s" 0)'"
		[ -z "$(get "$s" "$j")" ] || bad="$bad $(snap_name "$j"):chunk$j='$(get "$s" "$j")'"
		if [ "$j" -gt 1 ]; then
			want=$(printf 'w%03d' $((j - 1)))
			[ "$(get "$s" $((j - 1)))" = "$want" ] || bad="$bad $(snap_name "$j"):chunk$((j - 1))='$(get "$s" $((j - 1)))'"
		fi
		dmsetup status "$(snap_name "$j")" | grep -q ' snapshot [0-9]*/[0-9]* [0-9]*$' ||
			bad="$bad $(snap_name "$j"):status='$(dmsetup status "$(snap_name "$j")")'"
	done
	if [ -z "$bad" ]; then
		pass "each of the $TAKEN snapshots shows the origin at its own time"
	else
		fail "each of the $TAKEN snapshots shows the origin at its own time" "wrong:$bad"
	fi
	assert_eq "the origin shows its latest write" "$(get $ORIGIN 0)" last
}

# show, watch, merge and recover see every snapshot.
see_all() {
	local last
	last=$(snap_name "$TAKEN")
	ok "show -p many" dmsnap show -p many
	assert_eq "show -p lists all $TAKEN snapshots" "$(grep -c '^origin=many snapshot=many_snap[0-9]* ' "$OUT")" "$TAKEN"
	contains "show -p lists $last" "$(cat "$OUT")" "^origin=many snapshot=$last cow=/dev/mapper/cow$TAKEN state=active "
	ok "show" dmsnap show
	contains "show counts $TAKEN snapshots" "$(cat "$OUT")" "^many: .*, $TAKEN snapshots$"
	ok "watch --once many" dmsnap watch --once many
	assert_eq "watch reports all $TAKEN snapshots" "$(grep -c '^many_snap[0-9]*: ' "$OUT")" "$TAKEN"
	unchanged "merge of $last refused" dmsnap merge many "$last" &&
		contains "merge of $last: because of the other snapshots" "$(cat "$OUT")" 'other snapshot'
	dm_state >/tmp/state.before
	ok "recover many" dmsnap recover many
	assert_eq "recover many: nothing to repair" "$(dm_state)" "$(cat /tmp/state.before)"
}

drop_all() {
	local last left
	last=$(snap_name "$TAKEN")
	ok "drop $last by name" dmsnap drop many "$last"
	fails "$last gone" dmsetup info "$last"
	fails "$last-cow, its COW's device, gone" dmsetup info "$last-cow"
	# (each with its COW's device, SNAPNAME-cow)
	assert_eq "the other $((TAKEN - 1)) stay" "$(dmsetup ls | grep '^many_snap' | grep -vc -- '-cow')" $((TAKEN - 1))
	assert_eq "many keeps snapshot-origin" "$(dmsetup table many | cut -d' ' -f3)" snapshot-origin
	ok "drop many (all)" dmsnap drop many
	left=$(dmsetup ls | grep '^many_snap' | cut -f1 | tr '\n' ' ')
	assert_eq "no snapshot left" "$left" ""
	assert_eq "many back to linear over vdb" "$(dmsetup table many)" \
		"0 $(sectors /dev/vdb) linear $(cat /sys/block/vdb/dev) 0"
	ok "unwrap many" dmsnap unwrap many
}

setup || return 0
take
[ "$TAKEN" -gt 1 ] || return 0
verify
see_all
drop_all
