# long_names: every name dmsnap derives from NAME (NAME_dup, NAME_snap,
# NAME_snap2 ... NAME_snap10) is checked against the kernel's 127 bytes before
# anything is made: a name that would not fit is refused, naming the limit, never
# cut short (NAME_sna, NAME_snap1). Names starting with '-' are refused; '--'
# ends the options of every command. (NAME stands for the long name in messages.)
# timeout: 450

COWS=10
SLICE=4096 # sectors (2 MiB) per COW slice of vdc

# name_of LEN: a wrapper name of LEN bytes (only letters: no digit that could be
# mistaken for the limit in a message).
name_of() {
	local s=n
	while [ ${#s} -lt "$1" ]; do s=${s}n; done
	echo "$s"
}

# snap_name NAME K: dmsnap's default name for the K-th snapshot of NAME.
snap_name() { if [ "$2" -eq 1 ]; then echo "${1}_snap"; else echo "${1}_snap$2"; fi; }

# fresh: no dm device but COW slices cow1..cow10 of vdc, blank.
fresh() {
	local i
	dmsetup remove_all --force >/dev/null 2>&1
	find /dev/mapper -mindepth 1 ! -name control -exec rm -f {} +
	dd if=/dev/zero of=/dev/vdc bs=1M count=$((COWS * SLICE / 2048)) oflag=direct 2>/dev/null
	for i in $(seq $COWS); do
		echo "0 $SLICE linear /dev/vdc $(((i - 1) * SLICE))" | dmsetup create "cow$i" || return 1
	done
	mknodes
}

# limit_refusal: the last command (output in $OUT, states in /tmp/state.*) failed
# cleanly, naming the limit. Prints what is wrong.
limit_refusal() {
	if ! cmp -s /tmp/state.before /tmp/state.after; then
		echo "refused, but the dm state changed"
		diff /tmp/state.before /tmp/state.after | grep '^[-+][^-+]'
	elif ! grep -q 127 "$OUT"; then
		echo "refused without naming the limit (127)"
		cat "$OUT"
	fi
}

# run_cmd CMD...: CMD with the dm state before and after; sets RC.
run_cmd() {
	RC=0
	dm_state >/tmp/state.before
	"$@" >"$OUT" 2>&1 || RC=$?
	dm_state >/tmp/state.after
}

# default_names NAME: snap with default names up to NAME_snap10. Each either makes
# exactly that name, or, when it is longer than 127 bytes, is refused naming the
# limit. Prints what went wrong.
default_names() {
	local name=$1 k want
	for k in $(seq $COWS); do
		want=$(snap_name "$name" "$k")
		run_cmd dmsnap snap "$name" "/dev/mapper/cow$k"
		if [ $RC -ge 126 ]; then
			echo "snap $k crashed (exit $RC)"
			return
		elif [ $RC -ne 0 ]; then
			if [ ${#want} -le 127 ]; then
				echo "snap $k refused, though $want (${#want} bytes) fits:"
				cat "$OUT"
			else
				limit_refusal | sed "1s/^/snap $k ($want, ${#want} bytes): /"
			fi
			return
		elif [ "$(cat "$OUT")" != "/dev/mapper/$want" ]; then
			echo "snap $k: want $want (${#want} bytes), made:"
			diff /tmp/state.before /tmp/state.after | grep '^+table'
			cat "$OUT"
			return
		elif ! dmsetup info "$want" >/dev/null 2>&1; then
			echo "snap $k printed /dev/mapper/$want, but there is no such device"
			return
		fi
	done
}

# length LEN: wrap, ten default snapshots, show, drop and unwrap with NAME of LEN bytes.
length() {
	local len=$1 name why
	name=$(name_of "$len")
	ok "$len bytes: fresh COWs" fresh || return
	run_cmd dmsnap wrap /dev/vda "$name"
	if [ $RC -ne 0 ]; then
		if [ $RC -ge 126 ]; then
			fail "$len bytes: wrap" "crashed (exit $RC)"
		elif [ "$len" -le 122 ]; then
			fail "$len bytes: wrap" "refused, though NAME_dup and NAME_snap fit:"
			show_output
		elif [ -n "$(limit_refusal)" ]; then
			fail "$len bytes: wrap refused" "$(limit_refusal | head -n 1)"
			limit_refusal | tail -n +2 | sed 's/^/    | /'
		else
			pass "$len bytes: wrap refused, naming the limit"
		fi
		return
	fi
	if [ "$len" -ge 124 ]; then
		fail "$len bytes: wrap" "accepted, but ${name}_dup is $((len + 4)) bytes"
		dmsetup ls | sed 's/^/    | /'
		return
	fi
	pass "$len bytes: wrap"
	why=$(default_names "$name" | sed "s/$name/NAME/g")
	if [ -z "$why" ]; then
		pass "$len bytes: default snapshot names, each whole or refused naming the limit"
	else
		fail "$len bytes: default snapshot names" "$(echo "$why" | head -n 1)"
		echo "$why" | tail -n +2 | head -n 12 | sed 's/^/    | /'
	fi
	ok "$len bytes: drop" dmsnap drop "$name"
	assert_eq "$len bytes: no snapshot left" "$(dmsetup ls | grep -c "^${name}_s")" 0
	ok "$len bytes: unwrap" dmsnap unwrap "$name"
}

# -s names: 127 bytes work, 128 are refused naming the limit, '-x' is refused.
snapshot_names() {
	local long
	long=$(name_of 127 | tr n s)
	ok "-s: fresh COWs" fresh || return
	ok "-s: wrap vda as md" dmsnap wrap /dev/vda md || return
	ok "-s of 127 bytes" dmsnap snap -s "$long" md /dev/mapper/cow1 &&
		assert_eq "-s of 127 bytes: that name" "$(cat "$OUT")" "/dev/mapper/$long"
	unchanged "-s of 128 bytes refused" dmsnap snap -s "${long}s" md /dev/mapper/cow2 &&
		contains "-s of 128 bytes: names the limit" "$(cat "$OUT")" 127
	unchanged "-s -dash refused" dmsnap snap -s -dash md /dev/mapper/cow2 &&
		contains "-s -dash: says why" "$(cat "$OUT")" "-dash"
	ok "-s: drop" dmsnap drop md
	ok "-s: unwrap" dmsnap unwrap md
	unchanged "wrap -- DEV -dash refused" dmsnap wrap -- /dev/vda -dash &&
		contains "wrap -- DEV -dash: says why" "$(cat "$OUT")" "-dash"
	dmsetup remove -- -dash >/dev/null 2>&1
	dmsetup remove -- -dash_dup >/dev/null 2>&1
	fresh
}

# Every command with '--' before its operands works as without it. An ext4 on vda
# for run, which mounts the snapshot.
double_dash() {
	ok "--: fresh COWs" fresh || return
	ok "--: mkfs.ext4 vda" mkext4 /dev/vda || return
	ok "wrap -- DEV NAME" dmsnap wrap -- /dev/vda md || ok "--: wrap (without --)" dmsnap wrap /dev/vda md || return
	ok "snap -- NAME COW" dmsnap snap -- md /dev/vdd || ok "--: snap (without --)" dmsnap snap md /dev/vdd || return
	ok "show -- NAME" dmsnap show -- md && contains "show -- NAME: lists md_snap" "$(cat "$OUT")" '^  md_snap '
	ok "watch --once -- NAME" dmsnap watch --once -- md && contains "watch -- NAME: md_snap" "$(cat "$OUT")" '^md_snap: '
	if ok "drop -- NAME SNAPNAME" dmsnap drop -- md md_snap; then
		fails "drop --: md_snap gone" dmsetup info md_snap
	else
		dmsnap drop md >/dev/null 2>&1
	fi
	ok "--: snap for merge" dmsnap snap md /dev/vdd || return
	if ok "merge --wait -- NAME SNAPNAME" dmsnap merge --wait -- md md_snap; then
		assert_eq "merge --: md linear again" "$(dmsetup table md | cut -d' ' -f3)" linear
	else
		dmsnap drop md >/dev/null 2>&1
	fi
	ok "recover -- NAME" dmsnap recover -- md
	# shellcheck disable=SC2016 # expanded by the command run starts
	ok "run -- NAME COW -- CMD" dmsnap run -- md /dev/vdd -- sh -c 'grep -q " $DMSNAP_MOUNT ext4 " /proc/mounts'
	assert_eq "run --: snapshot dropped after" "$(dmsetup ls | grep -c '^md_snap')" 0
	ok "unwrap -- NAME" dmsnap unwrap -- md || dmsnap unwrap md >/dev/null 2>&1
	fails "unwrap --: md gone" dmsetup info md
}

for len in $(seq 118 127); do
	length "$len"
done
snapshot_names
double_dash
