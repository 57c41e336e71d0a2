# dmsetup_link: a link named dmsetup makes dmsnap dmsetup. Real-world sequences run
# once with the real dmsetup and once through the link (on the same disks, from the
# same state): every step's output, messages, exit code, the kernel's tables and the
# data read back must be the same. Then single commands, side by side on one state.
# timeout: 600

# Both are run as "dmsetup" (getopt's messages name argv[0]), each from its own PATH.
mkdir -p /tmp/bin
ln -sf "$DMSNAP" /tmp/bin/dmsetup
LINK="env PATH=/tmp/bin dmsetup"
ORACLE="env PATH=$(dirname "$(command -v dmsetup)") dmsetup"

# --- sequences: run with DM=$ORACLE into /tmp/run.oracle, then DM=$LINK into /tmp/run.link

STEP=0
# step NAME CMD...: run CMD (a shell snippet may use $DM), keep what it said and left.
step() {
	local name=$1 rc=0 dir=$RUN/$(printf '%02d' $STEP)-$1
	STEP=$((STEP + 1))
	shift
	mkdir -p "$dir"
	"$@" >"$dir/out" 2>"$dir/err" || rc=$?
	echo "$rc" >"$dir/rc"
	{ $ORACLE table; $ORACLE info -c --noheadings; } >"$dir/state" 2>&1
}

# The device holding the data, read around the page cache.
data() { blockdev --flushbufs "$1" && sha256sum <"$1" | cut -c1-16; }

# A local-top hook: a linear wrapper the size of the disk, made from blockdev --getsz.
hook() {
	step wrap-create sh -c 'echo "0 $(blockdev --getsz /dev/vdc) linear /dev/vdc 0" | $DM create md2'
	step wrap-mknodes $DM mknodes
	step wrap-info $DM info -c --noheadings -o name,attr,devno,tables_loaded md2
	step wrap-dup-create sh -c '$DM create md2_dup --table "0 $(blockdev --getsz /dev/vdc) linear /dev/vdc 0"'
	step wrap-dup-mknodes $DM mknodes
	step wrap-table $DM table md2
	step wrap-suspend $DM suspend md2
	step wrap-suspend-again $DM suspend md2
	step wrap-resume $DM resume md2
	step wrap-resume-again $DM resume md2
	step wrap-data data /dev/mapper/md2
}

# A snapshot and a merge back, finding devices with ls -o devname and info -c.
snap_merge() {
	local sz
	sz=$(blockdev --getsz /dev/vdc)
	step snap-write sh -c 'dd if=/dev/urandom of=/dev/mapper/md2 bs=64k count=16 conv=fsync 2>/dev/null; echo written'
	step snap-before data /dev/mapper/md2
	step snap-cow-zero sh -c 'dd if=/dev/zero of=/dev/vdd bs=4k count=1 conv=fsync 2>/dev/null'
	step snap-create $DM create md2_snap --table "0 $sz snapshot /dev/mapper/md2_dup /dev/vdd P 8"
	step snap-load $DM load md2 --table "0 $sz snapshot-origin /dev/mapper/md2_dup"
	step snap-suspend $DM suspend md2
	step snap-resume-snap $DM resume md2_snap
	step snap-resume $DM resume md2
	step snap-mknodes $DM mknodes
	step snap-ls-devname $DM ls -o devname
	step snap-ls-target $DM ls --target snapshot
	step snap-info $DM info -c --noheadings --separator ' ' -o name,attr,open,segments,events md2_snap
	step snap-info-rows $DM info -c --rows --nameprefixes -o name,uuid,blkdevname,suspended,readonly md2 md2_snap
	step snap-showkeys $DM table --showkeys
	step snap-table-target $DM table --target snapshot-origin
	step snap-status-target sh -c '$DM status --target snapshot | cut -d" " -f1-4'
	step snap-overwrite sh -c 'dd if=/dev/urandom of=/dev/mapper/md2 bs=64k count=4 conv=fsync 2>/dev/null; echo written'
	step snap-still data /dev/mapper/md2_snap
	step snap-tree $DM ls --tree
	step snap-tree-opts $DM ls --tree -o blkdevname,ascii
	step merge-remove-snap $DM remove md2_snap
	step merge-load $DM load md2 --table "0 $sz snapshot-merge /dev/mapper/md2_dup /dev/vdd P 8"
	step merge-suspend $DM suspend md2
	step merge-resume $DM resume md2
	step merge-wait sh -c 'for i in $(seq 100); do set -- $($DM status md2); [ "${4%/*}" = "$5" ] && exit 0; sleep 0.2; done; exit 1'
	step merge-back $DM load md2 --table "0 $sz linear /dev/mapper/md2_dup 0"
	step merge-switch sh -c '$DM suspend md2 && $DM resume md2'
	step merge-data data /dev/mapper/md2
}

# Shutdown: tear everything down, reading the tree first, quietly.
teardown() {
	step down-tree $DM ls --tree -o notrunc
	step down-remove-v sh -c 'for d in $($DM ls | cut -f1 | sort); do $DM remove -v --noudevsync "$d"; echo "$d: $?"; done'
	step down-ls $DM ls
	step down-remove-all $DM remove_all
}

# Devices left to the next run are gone; disks as the first run found them.
reset() {
	$ORACLE remove_all --force >/dev/null 2>&1
	rm -f /dev/mapper/md2*
	dd if=/dev/zero of=/dev/vdc bs=1M count=8 conv=fsync 2>/dev/null
	dd if=/dev/zero of=/dev/vdd bs=1M count=8 conv=fsync 2>/dev/null
}

for tool in oracle link; do
	reset
	RUN=/tmp/run.$tool
	STEP=0
	rm -rf "$RUN"
	if [ $tool = oracle ]; then DM=$ORACLE; else DM=$LINK; fi
	export DM
	hook
	snap_merge
	teardown
done

# snap-write wrote random data: each run's own data is compared within the run, by step.
for dir in /tmp/run.oracle/*; do
	name=${dir##*/}
	other=/tmp/run.link/$name
	if [ "${name#*-snap-write}" != "$name" ] || [ "${name#*-snap-overwrite}" != "$name" ]; then
		continue
	fi
	if [ "${name#*-snap-before}" != "$name" ] || [ "${name#*-snap-still}" != "$name" ] ||
		[ "${name#*-merge-data}" != "$name" ] || [ "${name#*-wrap-data}" != "$name" ]; then
		# data steps: the link's run must see its own data as the oracle's run saw its own
		assert_eq "seq $name: exit" "$(cat "$other/rc")" "$(cat "$dir/rc")"
		continue
	fi
	if cmp -s "$dir/out" "$other/out" && cmp -s "$dir/err" "$other/err" && cmp -s "$dir/rc" "$other/rc" &&
		cmp -s "$dir/state" "$other/state"; then
		pass "seq $name"
	else
		fail "seq $name" "the link differs from dmsetup (exit $(cat "$other/rc") vs $(cat "$dir/rc"))"
		for f in out err rc state; do
			diff "$dir/$f" "$other/$f" | head -8 | sed "s/^/    | $f: /"
		done
	fi
done
# The snapshot kept what the origin held when it was taken; the merge brought it back.
for run in oracle link; do
	d=/tmp/run.$run
	assert_eq "$run: snapshot kept the data" "$(cat $d/*-snap-still/out)" "$(cat $d/*-snap-before/out)"
	assert_eq "$run: merge brought it back" "$(cat $d/*-merge-data/out)" "$(cat $d/*-snap-before/out)"
done

# --- single commands side by side on one state: same stdout, stderr and exit code

# same NAME ARGS...: dmsetup ARGS and the link's ARGS say the same and exit alike.
# (SAME_ERR=no: stdout and the exit code only.)
same_cmd() {
	local name=$1 rc1=0 rc2=0
	shift
	$ORACLE "$@" >/tmp/want.out 2>/tmp/want.err </dev/null || rc1=$?
	$LINK "$@" >/tmp/got.out 2>/tmp/got.err </dev/null || rc2=$?
	if [ "${SAME_ERR:-}" = no ]; then
		cp /tmp/got.err /tmp/want.err
	fi
	if cmp -s /tmp/want.out /tmp/got.out && cmp -s /tmp/want.err /tmp/got.err && [ $rc1 = $rc2 ]; then
		pass "same $name"
	else
		fail "same $name" "dmsetup $* differs (exit $rc2 vs $rc1)"
		diff /tmp/want.out /tmp/got.out | head -10 | sed 's/^/    | out: /'
		diff /tmp/want.err /tmp/got.err | head -10 | sed 's/^/    | err: /'
	fi
}

reset
VDC=$(sectors /dev/vdc)
$ORACLE create lin --table "0 $VDC linear /dev/vdc 0"
$ORACLE create lin2 --table "0 1024 linear $(cat /sys/block/vdd/dev) 0"
printf '0 100 zero\n100 50 error\n150 200 linear /dev/vde 8\n' | $ORACLE create multi
$ORACLE create -u DMSNAP-TEST-uuid-1 withuuid --table "0 64 zero"
$ORACLE create -u LVM-abcdef vg-lv--x-real --table "0 64 zero"
$ORACLE create -r ro --table "0 64 zero"
$ORACLE create --notable empty
$ORACLE mknodes
$ORACLE create top --table "0 100 linear /dev/mapper/lin 0
100 100 linear /dev/mapper/multi 0"
$ORACLE mknodes
$ORACLE load lin2 --table "0 128 zero"
$ORACLE suspend ro

same_cmd "ls" ls
same_cmd "ls --tree" ls --tree
same_cmd "ls --tree -o blkdevname" ls --tree -o blkdevname
same_cmd "ls --tree -o nodevice" ls --tree -o nodevice
same_cmd "ls --tree -o utf" ls --tree -o utf
same_cmd "ls --tree -o bad" ls --tree -o ascii,bogus
# lin under top and under dia (a diamond), three levels, and withuuid used only by
# an inactive table (still a root: the tree follows live tables)
$ORACLE create dia --table "0 100 linear /dev/mapper/top 0
100 100 linear /dev/mapper/lin 0"
$ORACLE mknodes
$ORACLE load empty --table "0 64 linear /dev/mapper/withuuid 0"
same_cmd "ls --tree, a diamond" ls --tree
same_cmd "ls --tree, a diamond, -o blkdevname,device" ls --tree -o blkdevname,device
same_cmd "ls --tree, a diamond, -o utf,nodevice" ls --tree -o utf,nodevice
$ORACLE clear empty
$ORACLE remove dia
same_cmd "ls -o devname" ls -o devname
same_cmd "ls -o blkdevname" ls -o blkdevname
same_cmd "ls -o bad" ls -o bogus
same_cmd "ls --target" ls --target linear
same_cmd "ls --target none" ls --target nosuch
same_cmd "info -c" info -c
same_cmd "-c info NAME" -c info lin
same_cmd "info NAME -c" info lin -c
same_cmd "info -c --noheadings" info -c --noheadings
same_cmd "info -c --rows" info -c --rows
same_cmd "info -c --nameprefixes" info -c --nameprefixes
same_cmd "info -c --rows --nameprefixes" info -c --rows --nameprefixes lin ro
same_cmd "info -c --unquoted" info -c --unquoted --nameprefixes -o name
same_cmd "info -c --separator" info -c --separator '|' -o name,attr
same_cmd "info -c all fields" info -c -o name,uuid,major,minor,devno,open,segments,events,attr,suspended,readonly,tables_loaded lin lin2 ro top
same_cmd "info -c blkdevname" info -c -o name,blkdevname lin withuuid
same_cmd "info -c blkdevname of no table" info -c -o blkdevname empty
same_cmd "info -c +field" info -c -o +devno
same_cmd "info -c info_all" info -c -o info_all lin
same_cmd "info -c split" info -c -o name,subsystem,vg_name,lv_name,lv_layer
# dmsetup lists its fields first; dmsnap names only the one it does not know.
rc=0
$LINK info -c -o live_table >/tmp/got.out 2>/tmp/got.err || rc=$?
assert_eq "unknown field: exit" "$rc" 1
assert_eq "unknown field: message" "$(tail -n 1 /tmp/got.err)" "Unrecognised field: live_table"
# dmsetup also says on stderr why it could not read the table-less device's read-ahead.
SAME_ERR=no
same_cmd "info (all), stdout" info
SAME_ERR=
same_cmd "info NAME..." info lin ro withuuid
same_cmd "info missing" info nosuch
same_cmd "info -c missing among" info -c lin nosuch ro
same_cmd "info /dev/mapper/NAME" info /dev/mapper/lin
same_cmd "info /dev/dm-N" info /dev/dm-0
same_cmd "info mapper/NAME" info mapper/multi
same_cmd "info /dev/vdc" info /dev/vdc
same_cmd "info /dev/nosuch" info /dev/nosuch
same_cmd "info -u" info -u DMSNAP-TEST-uuid-1
same_cmd "info -u missing" info -u nosuch
same_cmd "info -j -m" info -j 253 -m 2
same_cmd "info -j -m missing" info -j 254 -m 99
same_cmd "info -j alone" info -j 253
same_cmd "table" table
same_cmd "table NAME NAME" table lin multi
same_cmd "table --target" table --target linear
same_cmd "table --target NAME" table --target linear multi
same_cmd "table -v" table -v lin
same_cmd "table missing" table nosuch
same_cmd "table -u missing" table -u nosuch
same_cmd "table -j -m missing" table -j 254 -m 77
same_cmd "table --inactive" table --inactive lin2
same_cmd "status" status
same_cmd "status --target" status --target linear
same_cmd "status missing" status nosuch
same_cmd "deps" deps
same_cmd "deps -o devname" deps -o devname
same_cmd "deps -o blkdevname" deps -o blkdevname top
same_cmd "deps missing" deps nosuch
same_cmd "splitname" splitname vg-lv
same_cmd "splitname layer" splitname vg--x-lv-lay
same_cmd "splitname subsystem" splitname a-b FOO
same_cmd "splitname -o" splitname -o vg_name,lv_layer,subsystem a--b-c-d LVM
same_cmd "splitname --nameprefixes" splitname --nameprefixes vg-lv
same_cmd "splitname --rows" splitname --rows vg-lv
same_cmd "splitname --noheadings" splitname --noheadings vg-lv
same_cmd "splitname no data" splitname -o name vg-lv
same_cmd "targets" targets
same_cmd "udevcreatecookie" udevcreatecookie
same_cmd "udevreleasecookie" udevreleasecookie
same_cmd "udevreleasecookie COOKIE" udevreleasecookie 0x0d4d1234
same_cmd "udevreleasecookie bad" udevreleasecookie bogus
same_cmd "udevcomplete" udevcomplete 0x0d4d1234
same_cmd "udevcomplete 0" udevcomplete 0
# udev's 10-dm.rules import these: every flag bit, named or not, and bad cookies
for c in 0x00010000 0x00ff0000 0xff000000 0xffffffff 0x0d4d0041 0x1234 4294967295 0 bogus 0x100000000 -1 "1 2"; do
	same_cmd "udevflags $c" udevflags "$c"
done
same_cmd "udevflags without a cookie" udevflags
same_cmd "help" help
same_cmd "--help" --help
same_cmd "no command"
same_cmd "unknown command" bogus
same_cmd "wrong arguments" splitname
same_cmd "unknown option" --bogus info
same_cmd "unknown short option" -Z info
same_cmd "missing option argument" info --verbose
same_cmd "missing short argument" info -o
same_cmd "global options ignored" -y --noudevsync --noudevrules --verifyudev --noflush --nolockfs info lin
export DM_DISABLE_UDEV=1
same_cmd "DM_DISABLE_UDEV" info lin
unset DM_DISABLE_UDEV
same_cmd "wait EVENT_NR" wait lin 5
same_cmd "wait -v" -v wait lin 5
same_cmd "wait missing" wait nosuch 1
same_cmd "wait no device" wait
same_cmd "message" message lin 0 hello
same_cmd "message missing" message nosuch 0 hello
same_cmd "message bad sector" message lin x hello
same_cmd "message no text" message lin 0
same_cmd "remove missing" remove nosuch
exec 3</dev/mapper/multi
same_cmd "remove busy" remove multi
same_cmd "remove --retry busy" remove --retry multi
exec 3<&-
same_cmd "remove -u missing" remove -u nosuch
same_cmd "remove -j -m missing" remove -j 254 -m 77
same_cmd "remove missing path" remove /dev/mapper/nosuch
same_cmd "remove -f missing" -f remove nosuch
same_cmd "wipe_table missing" wipe_table nosuch
same_cmd "suspend no device" suspend
same_cmd "resume missing" resume nosuch
same_cmd "create with /" create x/y --table "0 8 zero"
same_cmd "create existing" create lin --table "0 8 zero"
same_cmd "create bad format" create garbage --table "zero 8 0"
same_cmd "create no file" create x3 /nonexistent
same_cmd "load missing" load nosuch --table "0 8 zero"
same_cmd "load --notable" load lin --notable
same_cmd "load no device" load
same_cmd "rename missing" rename nosuch x
same_cmd "rename to existing" rename lin2 lin
same_cmd "rename with /" rename lin2 a/b
same_cmd "rename --setuuid twice" rename withuuid --setuuid other

same_cmd "target-version" target-version linear
same_cmd "target-version several" target-version linear striped zero snapshot
same_cmd "target-version of a module not loaded" target-version delay
same_cmd "target-version unknown first" target-version nosuch linear
same_cmd "target-version unknown after" target-version linear nosuch
same_cmd "target-version none" target-version
same_cmd "target-version a/b" target-version a/b
same_cmd "target-version path" target-version /dev/mapper/lin
same_cmd "target-version too long" target-version "$(printf '%0200d' 0)"
same_cmd "target-version empty" target-version ''
same_cmd "setgeometry missing" setgeometry nosuch 1 2 3 4
same_cmd "setgeometry -u missing" setgeometry -u nosuch 1 2 3 4 5
same_cmd "setgeometry -j -m missing" setgeometry -j 254 -m 99 1 2 3 4 5
# (the kernel refuses these: nothing changes)
same_cmd "setgeometry out of range" setgeometry lin 70000 1 1 0
same_cmd "setgeometry not numbers" setgeometry lin x 2 3 4
same_cmd "setgeometry trailing bytes" setgeometry lin 1 2 3 4x
same_cmd "setgeometry start beyond the end" setgeometry lin 1 2 3 999999999
same_cmd "setgeometry too few" setgeometry lin 1 2 3
same_cmd "setgeometry negative" setgeometry lin -1 2 3 4
same_cmd "udevcookies none" udevcookies
same_cmd "udevcookies argument" udevcookies x
same_cmd "udevcomplete_all none, asks" udevcomplete_all
same_cmd "udevcomplete_all AGE, asks" udevcomplete_all 5
same_cmd "udevcomplete_all -y none" udevcomplete_all -y
same_cmd "udevcomplete_all bad age" udevcomplete_all -y x
same_cmd "udevcomplete_all age 5x" udevcomplete_all -y 5x
same_cmd "udevcomplete_all age -1" udevcomplete_all -y -- -1
same_cmd "udevcomplete_all two ages" udevcomplete_all -y 1 2

# What the link does not carry out, it says so and fails.
for cmd in "stats list" "measure"; do
	# shellcheck disable=SC2086
	expect_exit 1 "not carried out: $cmd" $LINK $cmd
	contains "not carried out: $cmd: says so" "$(cat "$OUT")" 'not carried out by dmsnap'
done

# verdict NAME RC1 RC2 FILES...: /tmp/want.F and /tmp/got.F alike for each F, and the exit codes.
verdict() {
	local name=$1 rc1=$2 rc2=$3 f same=1
	shift 3
	for f in "$@"; do
		cmp -s /tmp/want.$f /tmp/got.$f || same=0
	done
	if [ $same = 1 ] && [ "$rc1" = "$rc2" ]; then
		pass "$name"
	else
		fail "$name" "the link differs from dmsetup (exit $rc2 vs $rc1)"
		for f in "$@"; do
			diff /tmp/want.$f /tmp/got.$f | head -8 | sed "s/^/    | $f: /"
		done
	fi
}

# State-changing commands: each tool on a fresh copy of the same device; same words, same result.
# The copies are made through the link (a dmsetup call costs 60-90 ms under TCG, the
# link's 10): both tools start from the same state, which the oracle then reads.
twice() {
	local name=$1 setup=$2 rc1=0 rc2=0
	shift 2
	for tool in oracle link; do
		$LINK remove_all --force >/dev/null 2>&1
		DM=$LINK sh -c "$setup" >/dev/null 2>&1
		$LINK mknodes
		if [ $tool = oracle ]; then
			$ORACLE "$@" >/tmp/want.out 2>/tmp/want.err </dev/null || rc1=$?
			{ $ORACLE table; $ORACLE info -c --noheadings; eval "${TWICE_STATE:-:}"; } >/tmp/want.state 2>&1
		else
			$LINK "$@" >/tmp/got.out 2>/tmp/got.err </dev/null || rc2=$?
			{ $ORACLE table; $ORACLE info -c --noheadings; eval "${TWICE_STATE:-:}"; } >/tmp/got.state 2>&1
		fi
	done
	verdict "twice $name" $rc1 $rc2 out err state
}

TWO='$DM create a --table "0 8 zero"; $DM create b --table "0 8 zero"; $DM create -u UUID-c c --table "0 16 zero"'
twice "remove several" "$TWO" remove a b
twice "remove several, one missing" "$TWO" remove a nosuch b
twice "remove -u" "$TWO" remove -u UUID-c
twice "remove -j -m" "$TWO" remove -j 253 -m 1
twice "remove /dev/mapper/NAME" "$TWO" remove /dev/mapper/b
twice "remove -v --noudevsync" "$TWO" -v remove --noudevsync a
twice "remove --force" "$TWO" remove --force a
twice "remove_all" "$TWO" remove_all
twice "remove_all -f" "$TWO" remove_all -f
twice "suspend several" "$TWO" suspend a b
twice "suspend -v" "$TWO" suspend -v c
twice "suspend suspended" "$TWO; \$DM suspend a" suspend a
twice "resume running" "$TWO" resume a
twice "resume -v" "$TWO; \$DM suspend a" resume -v a
twice "clear" "$TWO; \$DM load a --table '0 4 zero'" clear a
twice "rename" "$TWO" rename a d
twice "rename -u" "$TWO" rename -u UUID-c e
twice "rename --setuuid" "$TWO" rename a --setuuid NEW-UUID
twice "wipe_table" "$TWO" wipe_table a c
twice "wipe_table -f" "$TWO" wipe_table -f a
twice "create -v" "$TWO" create -v v --table "0 8 zero"
twice "create -u -r" "$TWO" create -u UUID-V -r v --table "0 8 zero"
twice "create --notable" "$TWO" create --notable v
twice "create from stdin" "$TWO" create v /dev/null
twice "create comment" "$TWO" create v --table "0 8 zero # a comment"
twice "create bad target" "$TWO" create v --table "0 8 nosuch"
twice "load -v" "$TWO" load -v a --table "0 16 zero"
twice "reload -u" "$TWO" reload -u UUID-c --table "0 32 zero"
twice "wait -u" "$TWO" wait -u UUID-c 3
# The geometry the kernel keeps is part of the state compared (HDIO_GETGEO, through sfdisk).
TWICE_STATE='sfdisk -g /dev/mapper/a /dev/mapper/b /dev/mapper/c'
twice "setgeometry" "$TWO" setgeometry a 1 2 3 4
twice "setgeometry -u" "$TWO" setgeometry -u UUID-c 1 2 3 4 5
twice "setgeometry -j -m" "$TWO" setgeometry -j 253 -m 1 2 2 2 0 9
twice "setgeometry /dev/mapper/NAME" "$TWO" setgeometry /dev/mapper/b 1 1 1 0
twice "setgeometry without a table" "\$DM create --notable c" setgeometry c 1 2 3 0
TWICE_STATE=
$ORACLE remove_all --force >/dev/null 2>&1

# --- mangle: devices whose names (and uuids) the kernel holds as they were sent, made
# with --manglename none as an old libdevmapper or dmsnap would; each tool on a fresh
# copy. The state: the kernel's names and uuids, and any node in /dev/mapper that names
# no device (without udev dmsetup here makes and renames no node; the link renames its
# node, as its rename does: it must leave none behind).
mangle_state() {
	for d in /sys/block/dm-*/dm; do
		[ -e "$d/name" ] && echo "$(cat "$d/name") uuid=$(cat "$d/uuid")"
	done | sort
	for n in /dev/mapper/*; do
		n=${n#/dev/mapper/}
		[ "$n" = control ] || grep -qxF -- "$n" /sys/block/dm-*/dm/name 2>/dev/null || echo "stale node: $n"
	done
}
mangle_twice() {
	local name=$1 setup=$2 rc1=0 rc2=0
	shift 2
	for tool in oracle link; do
		# by the kernel's REMOVE_ALL: no names sent, so none to mangle
		$LINK remove_all >/dev/null 2>&1
		find /dev/mapper ! -name control -type b -exec rm -f {} +
		DM="$ORACLE --manglename none" sh -c "$setup" >/dev/null 2>&1
		if [ $tool = oracle ]; then
			$ORACLE "$@" >/tmp/want.out 2>/tmp/want.err </dev/null || rc1=$?
			mangle_state >/tmp/want.state
		else
			$LINK "$@" >/tmp/got.out 2>/tmp/got.err </dev/null || rc2=$?
			mangle_state >/tmp/got.state
		fi
	done
	verdict "mangle $name" $rc1 $rc2 out err state
}

LONG=$(printf 'x%.0s' $(seq 110))
SAFE='$DM create a --table "0 8 zero"; $DM create -u UUID-c c --table "0 8 zero"'
RAW='$DM create "a b" --table "0 8 zero"; $DM create -u "UUID-x" "tab	and:colon" --table "0 8 zero"'
MANGLED='$DM create "a\\x20b" --table "0 8 zero"; $DM create -u "U\\x20V" "p\\x2fq" --table "0 8 zero"'
MIXED='$DM create "m\\x20n o" --table "0 8 zero"; $DM create "ab\\x4" --table "0 8 zero"'
ALL="$SAFE; $RAW; $MANGLED"
mangle_twice "safe names, no device" "$SAFE" mangle
mangle_twice "safe names, by name" "$SAFE" mangle c a
mangle_twice "no devices at all" ":" mangle
mangle_twice "a name with a blank" "$RAW" mangle "a b"
mangle_twice "a name with a tab and a colon" "$RAW" mangle "tab	and:colon"
mangle_twice "raw names, no device" "$RAW" mangle
mangle_twice "already mangled" "$MANGLED" mangle "a\\x20b"
mangle_twice "already mangled, no device" "$MANGLED" mangle
mangle_twice "mixed mangled and not" "$MIXED" mangle "m\\x20n o"
mangle_twice "a cut \\x at the end" "$MIXED" mangle "ab\\x4"
mangle_twice "a backslash alone" '$DM create "a\\b" --table "0 8 zero"' mangle 'a\b'
# 110 + 6 blanks mangled: 135 bytes; 122 + 1: 127, the most a name holds; 123 + 1: 128
mangle_twice "mangled form too long" "\$DM create \"$LONG      y\" --table '0 8 zero'" mangle
mangle_twice "mangled form just fits" "\$DM create \"${LONG}123456789012 y\" --table '0 8 zero'" mangle
mangle_twice "mangled form one too long" "\$DM create \"${LONG}1234567890123 y\" --table '0 8 zero'" mangle
mangle_twice "mangled form full, then a \\x" "\$DM create \"${LONG}1234567890  \\\\x41\" --table '0 8 zero'" mangle
mangle_twice "mixed devices, one missing" "$ALL" mangle a "a b" nosuch "a\\x20b"
mangle_twice "mixed devices, all" "$ALL" mangle
mangle_twice "missing" "$SAFE" mangle nosuch
mangle_twice "by path" "$RAW" mangle "/dev/mapper/a b"
mangle_twice "-v" "$ALL" -v mangle
mangle_twice "-v one" "$RAW" mangle -v "a b"
mangle_twice "--manglename auto" "$ALL" --manglename auto mangle
mangle_twice "--manglename hex" "$ALL" --manglename hex mangle
mangle_twice "--manglename none" "$ALL" --manglename none mangle
mangle_twice "--manglename NONE, to a/b" "$MANGLED" --manglename NONE mangle "p\\x2fq"
mangle_twice "--manglename none, bad hex" '$DM create "a\\x41\\xzz" --table "0 8 zero"; $DM create "b\\xzz" --table "0 8 zero"; $DM create "c\\x4g" --table "0 8 zero"' --manglename none mangle
mangle_twice "--manglename none, \\x00" '$DM create "n\\x00" --table "0 8 zero"' --manglename none mangle
mangle_twice "mangled twice, auto" '$DM create "a\\x5cx20b" --table "0 8 zero"' mangle
mangle_twice "mangled twice, hex" '$DM create "a\\x5cx20b" --table "0 8 zero"' --manglename hex mangle
mangle_twice "a uuid to mangle" '$DM create -u "U U" u --table "0 8 zero"' mangle
mangle_twice "a uuid to mangle, the name too" '$DM create -u "U U" "u v" --table "0 8 zero"' mangle "u v"
mangle_twice "a uuid to mangle, none" '$DM create -u "U U" u --table "0 8 zero"' --manglename none mangle
mangle_twice "a uuid mangled twice" '$DM create -u "U\\x5cx20" u --table "0 8 zero"' mangle
mangle_twice "a uuid mixed" '$DM create -u "U\\x20 V" u --table "0 8 zero"' mangle
mangle_twice "a mangled uuid, none" '$DM create -u "U\\x20V" u --table "0 8 zero"' --manglename none mangle u
mangle_twice "--setuuid taken" "$RAW" mangle --setuuid "a b"
# dmsetup 1.02.185 crashes on mangle -u and -j -m (it reads a name it was not given):
# the link mangles the device they name.
$LINK remove_all >/dev/null 2>&1
$ORACLE --manglename none create -u UU "u v" --table "0 8 zero"
expect_exit 0 "mangle -u (dmsetup crashes)" $LINK mangle -u UU
assert_eq "mangle -u: renamed" "$(cat /sys/block/dm-*/dm/name)" 'u\x20v'
$ORACLE --manglename none rename 'u\x20v' "u v"
expect_exit 0 "mangle -j -m (dmsetup crashes)" $LINK mangle -j "$(cut -d: -f1 /sys/block/dm-*/dev)" \
	-m "$(cut -d: -f2 /sys/block/dm-*/dev)"
assert_eq "mangle -j -m: renamed" "$(cat /sys/block/dm-*/dm/name)" 'u\x20v'
same_cmd "--manglename unknown" --manglename bogus mangle
same_cmd "--manglename unknown, ls" --manglename bogus ls
same_cmd "--manglename unknown, then a bad option" --manglename bogus --bogus ls
same_cmd "a bad option, then --manglename unknown" --bogus --manglename bogus ls
same_cmd "--manglename Hex" --manglename Hex targets
same_cmd "--manglename prefix" --manglename he targets
$LINK remove_all >/dev/null 2>&1
find /dev/mapper ! -name control -type b -exec rm -f {} +

# --- udev cookies: semaphores as dmsetup makes them while udev runs. The guest runs no
# udev, so dmsetup (and dmsnap always) makes none, and dmsetup's udevcomplete wakes none:
# udev's control socket, faked for the moment, makes dmsetup believe udev runs.
as_if_udev() {
	local rc=0
	mkdir -p /run/udev && : >/run/udev/control
	"$@" || rc=$?
	rm -f /run/udev/control
	return $rc
}
cookie() { as_if_udev $ORACLE udevcreatecookie; }
# The clock a minute and a half on: what was made before is older than a minute.
later() { date -s "@$(($(date +%s) + 90))" >/dev/null; }
# The cookies left: their values (their keys and semids differ from run to run).
cookie_state() { $ORACLE udevcookies | awk 'NR > 1 { print $3 }' | sort | tr '\n' ' '; }

cookie >/dev/null
C2=$(cookie)
as_if_udev $ORACLE udevcomplete "$C2" >/dev/null
assert_eq "dmsetup made cookies" "$(cookie_state)" "0 1 "
same_cmd "udevcookies" udevcookies
same_cmd "udevcookies -v" -v udevcookies
same_cmd "udevcomplete_all young" udevcomplete_all -y 5
assert_eq "young cookies kept" "$(cookie_state)" "0 1 "
$ORACLE udevcomplete_all -y >/dev/null

# cookie_twice NAME SETUP INPUT ARGS...: each tool on cookies made afresh by SETUP, answering INPUT.
cookie_twice() {
	local name=$1 setup=$2 input=$3 rc1=0 rc2=0
	shift 3
	for tool in oracle link; do
		$ORACLE udevcomplete_all -y >/dev/null
		eval "$setup" >/dev/null
		if [ $tool = oracle ]; then
			printf "$input" | $ORACLE "$@" >/tmp/want.out 2>/tmp/want.err || rc1=$?
			cookie_state >/tmp/want.state
		else
			printf "$input" | $LINK "$@" >/tmp/got.out 2>/tmp/got.err || rc2=$?
			cookie_state >/tmp/got.state
		fi
	done
	verdict "cookies $name" $rc1 $rc2 out err state
}

TWO_COOKIES='cookie; C=$(cookie); as_if_udev $ORACLE udevcomplete $C'
cookie_twice "udevcomplete_all -y" "$TWO_COOKIES" "" udevcomplete_all -y
cookie_twice "udevcomplete_all, yes" "$TWO_COOKIES" 'y\n' udevcomplete_all
cookie_twice "udevcomplete_all, no" "$TWO_COOKIES" 'n\n' udevcomplete_all
cookie_twice "udevcomplete_all, no answer" "$TWO_COOKIES" '' udevcomplete_all
cookie_twice "udevcomplete_all, y without a newline" "$TWO_COOKIES" 'y' udevcomplete_all
cookie_twice "udevcomplete_all, asked again" "$TWO_COOKIES" 'x\nyes\n' udevcomplete_all 3
cookie_twice "udevcomplete_all, changed mind" "$TWO_COOKIES" 'yn\n' udevcomplete_all
cookie_twice "udevcomplete_all AGE, young" "$TWO_COOKIES" "" udevcomplete_all -y 5
cookie_twice "udevcomplete_all AGE, one old" "cookie; later; cookie" "" udevcomplete_all -y 1
assert_eq "AGE: the old one went, the young one stayed" "$(cat /tmp/want.out) $(cat /tmp/want.state)" \
	"1 semaphores with keys prefixed by 3405 (0xd4d) destroyed. 1 skipped. 1 "
cookie_twice "udevcomplete_all AGE -1" "$TWO_COOKIES" "" udevcomplete_all -y -- -1
$ORACLE udevcomplete_all -y >/dev/null
$ORACLE remove_all --force >/dev/null 2>&1
