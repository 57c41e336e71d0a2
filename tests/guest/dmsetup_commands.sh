# dmsetup_commands: dmsnap stands in for dmsetup. Every dmsetup-compatible command
# drives the kernel, and its output is byte for byte dmsetup's for the same state.
# Bad input is refused with a clear error and leaves the kernel as it was.

VDC=$(sectors /dev/vdc)

# parity NAME ARGS...: dmsnap ARGS and dmsetup ARGS print the same bytes and exit alike.
parity() {
	local name=$1 rc1=0 rc2=0
	shift
	dmsetup "$@" >/tmp/want 2>/dev/null || rc1=$?
	dmsnap "$@" >/tmp/got 2>/tmp/got.err || rc2=$?
	if cmp -s /tmp/want /tmp/got && [ "$rc1" = "$rc2" ]; then
		pass "$name"
	else
		fail "$name" "dmsnap $* differs from dmsetup (exit $rc2 vs $rc1)"
		diff /tmp/want /tmp/got | head -20 | sed 's/^/    | /'
		sed 's/^/    | stderr: /' /tmp/got.err | head -5
	fi
}

make_devices() {
	ok "create linear" dmsnap create lin --table "0 $VDC linear /dev/vdc 0" || return
	ok "create by major:minor" dmsnap create lin2 --table "0 1024 linear $(cat /sys/block/vdd/dev) 0"
	printf '0 100 zero\n100 50 error\n150 200 linear /dev/vde 8\n' >/tmp/multi.table
	ok "create multi-target from stdin" sh -c 'dmsnap create multi </tmp/multi.table'
	ok "create from FILE" dmsnap create fromfile /tmp/multi.table
	ok "create with uuid" dmsnap create -u DMSNAP-TEST-uuid-1 withuuid --table "0 64 zero"
	ok "create read-only" dmsnap create -r ro --table "0 64 zero"
	ok "create without table" dmsnap create --notable empty
	ok "create from empty stdin" sh -c 'dmsnap create empty2 </dev/null'
	ok "load inactive table" dmsnap load lin --table "0 128 zero"
	ok "suspend" dmsnap suspend lin2
}

compare_outputs() {
	parity "ls" ls
	parity "table (all)" table
	parity "table NAME" table multi
	parity "table --inactive (all)" table --inactive
	parity "table --inactive NAME" table --inactive lin
	parity "table of a device without one" table empty
	parity "status (all)" status
	parity "status NAME" status multi
	parity "status --inactive" status --inactive
	parity "info (all)" info
	parity "info NAME" info lin
	parity "info suspended" info lin2
	parity "info read-only" info ro
	parity "info with uuid" info withuuid
	parity "deps (all)" deps
	parity "deps NAME" deps multi
	parity "targets" targets
	assert_eq "version: driver line" "$(dmsnap version | grep Driver)" "$(dmsetup version | grep Driver)"
	assert_eq "node made on create" "$(stat -c %t:%T /dev/mapper/multi)" \
		"$(printf '%x:%x' $(dmsetup info -c --noheadings -o major,minor --separator ' ' multi))"
}

# Each dmsetup-compatible command changes the kernel as dmsetup would.
state_changes() {
	ok "resume swaps the inactive table" dmsnap resume lin
	assert_eq "new table live" "$(dmsetup table lin)" "0 128 zero "
	ok "resume a suspended device" dmsnap resume lin2
	contains "lin2 active" "$(dmsetup info lin2)" 'State: *ACTIVE'
	ok "reload" dmsnap reload lin2 --table "0 512 zero"
	ok "clear" dmsnap clear lin2
	contains "inactive table cleared" "$(dmsetup info lin2)" 'Tables present: *LIVE$'
	ok "suspend --nolockfs --noflush" dmsnap suspend --nolockfs --noflush lin2
	ok "resume after noflush" dmsnap resume lin2
	ok "remove" dmsnap remove lin2
	fails "removed device gone" dmsetup info lin2
	fails "node removed" test -e /dev/mapper/lin2
}

mknodes_cmd() {
	rm -f /dev/mapper/multi /dev/mapper/ro
	mknod /dev/mapper/stale b 7 99
	ok "mknodes" dmsnap mknodes
	ok "mknodes made missing node" test -b /dev/mapper/multi
	ok "mknodes made the other" test -b /dev/mapper/ro
	fails "mknodes removed the stale node" test -e /dev/mapper/stale
	rm /dev/mapper/fromfile
	ok "mknodes NAME" dmsnap mknodes fromfile
	ok "mknodes NAME made it" test -b /dev/mapper/fromfile
	rm -f /dev/mapper/control
	ok "control node made when missing" dmsnap ls
	ok "control node is 10:236" sh -c '[ "$(stat -c %t:%T /dev/mapper/control)" = a:ec ]'
}

# unchanged-style checks whose error must also name the device, the ioctl or the fix.
refused() {
	local name=$1 pattern=$2
	shift 2
	unchanged "$name" "$@" && contains "$name: message" "$(cat /tmp/lib.out)" "$pattern"
}

bad_input() {
	local n127 n128
	n127=$(printf 'n%.0s' $(seq 127))
	n128=${n127}x
	refused "create existing name" 'lin.*DM_DEV_CREATE.*exists' dmsnap create lin --table "0 8 zero"
	refused "remove missing" 'nosuch.*DM_DEV_REMOVE.*No such device' dmsnap remove nosuch
	exec 3</dev/mapper/multi
	refused "remove open device" 'multi.*DM_DEV_REMOVE.*open' dmsnap remove multi
	exec 3<&-
	refused "load bad device" 'fromfile.*DM_TABLE_LOAD' dmsnap load fromfile --table "0 8 linear /dev/nonexistent 0"
	refused "load unknown target" 'fromfile.*DM_TABLE_LOAD' dmsnap load fromfile --table "0 8 no-such-target"
	refused "load with a gap" 'line 2.*starts at sector 10' dmsnap load fromfile --table "$(printf '0 8 zero\n10 8 zero')"
	refused "load garbage" 'expected' dmsnap load fromfile --table "zero 0 8"
	refused "load negative length" 'expected' dmsnap load fromfile --table "0 -8 zero"
	refused "load overflowing sectors" 'fit in 64 bits' dmsnap load fromfile --table "18446744073709551615 8 zero"
	dmsnap suspend ro
	refused "suspend twice" 'already suspended' dmsnap suspend ro
	dmsnap resume ro
	refused "resume a running device" 'nothing to resume' dmsnap resume ro
	ok "name of 127 bytes" dmsnap create "$n127" --table "0 8 zero"
	ok "name of 127 bytes in ls" sh -c "dmsnap ls | grep -q '^$n127	'"
	ok "remove 127" dmsnap remove "$n127"
	refused "name of 128 bytes" 'not a device name' dmsnap create "$n128" --table "0 8 zero"
	refused "name of 4096 bytes" 'not a device name' dmsnap create "$(printf 'n%.0s' $(seq 4096))" --table "0 8 zero"
	refused "name not UTF-8" 'not a device name' dmsnap create "$(printf 'a\377b')" --table "0 8 zero"
	refused "uuid of 129 bytes" 'uuid is at most 128' dmsnap create -u "$n128"x x --table "0 8 zero"
	refused "name with slash" 'not a device name' dmsnap create "a/b" --table "0 8 zero"
	refused "name with newline" 'not a device name' dmsnap create "$(printf 'a\nb')" --table "0 8 zero"
	refused "empty name" 'not a device name' dmsnap create "" --table "0 8 zero"
	refused "unknown option" 'usage' dmsnap table --bogus
	refused "option of another command" 'does not take --table' dmsnap suspend --table x lin
	refused "table and FILE" 'give one' dmsnap create x --table "0 8 zero" /tmp/multi.table
	expect_exit 2 "usage error exits 2" dmsnap create
	expect_exit 1 "kernel error exits 1" dmsnap remove nosuch
}

# 10 000 targets: the buffer grows as it must, the kernel takes them, every one reads back.
many_targets() {
	seq 0 9999 | sed 's/.*/& 1 zero/' >/tmp/many.table
	ok "create 10000 targets" dmsnap create many /tmp/many.table || return
	assert_eq "10000 targets read back" "$(dmsnap table many | wc -l)" 10000
	parity "table of 10000 targets" table many
	ok "remove many" dmsnap remove many
}

help_and_version() {
	ok "--help" dmsnap --help
	contains "--help lists snap" "$(dmsnap --help)" 'snap .*NAME COW'
	ok "COMMAND --help" dmsnap create --help
	contains "--version" "$(dmsnap --version)" '^dmsnap '
}

cleanup() {
	dmsetup remove_all >/dev/null 2>&1
	ok "all removed" sh -c '[ "$(dmsnap ls)" = "No devices found" ]'
	parity "ls with no devices" ls
	parity "table with no devices" table
}

make_devices
compare_outputs
state_changes
mknodes_cmd
bad_input
many_targets
help_and_version
cleanup
