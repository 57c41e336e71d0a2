# cow_holds_something: the admin names the wrong device as the COW: the disk
# (sdc) instead of its partition (sdc1), an md member, a PV, a LUKS volume, a
# filesystem, a device in use, something built on the origin itself.
#
# For every format Debian's own tools make, where blkid -p (the oracle) names
# a type, snap refuses, says what it found, writes not one byte of the COW (its
# first and last MiB compared) and leaves the kernel's dm state as it was.
# --force destroys a filesystem, as asked. It never overrides what holds other
# devices (partition tables, RAID members, PVs, LUKS, bcache, dm-integrity) nor
# what would deadlock or corrupt (partitions or holders in sysfs, a mounted or
# open device, anything stacked on the origin, a loop file on it included).
#
# Every case prints one line for the table:
#   format: NAME blkid=TYPE want=refuse|refuse-always|take refused=yes|no force=refused|taken|-
# timeout: 1200

HANG=60 # seconds a snap or a drop may take before it counts as hung
ZEROS=$(dd if=/dev/zero bs=1M count=2 2>/dev/null | sha256sum | cut -d' ' -f1)
COW=/dev/vdc
TREE=/tmp/tree # what the image formats (squashfs, ISO 9660, ...) hold

# --- looking at the COW ------------------------------------------------------

mib() { echo $(($(blockdev --getsize64 "$1") / 1048576)); }

# ends DEV: DEV's first and last MiB, read around the page cache: the kernel
# writes a snapshot store beneath it, through dm.
ends() {
	blockdev --flushbufs "$1"
	{
		dd if="$1" bs=1M count=1 iflag=direct
		dd if="$1" bs=1M skip=$(($(mib "$1") - 1)) count=1 iflag=direct
	} 2>/dev/null
}

ends_sum() { ends "$1" | sha256sum | cut -d' ' -f1; }

# put_ends DEV HEAD TAIL: files HEAD and TAIL (1 MiB each) over DEV's first and last MiB.
put_ends() {
	dd if="$2" of="$1" bs=1M conv=fsync 2>/dev/null &&
		dd if="$3" of="$1" bs=1M seek=$(($(mib "$1") - 1)) conv=fsync 2>/dev/null
}

# fill DEV: someone's data over DEV's first and last MiB, so that a snap's zeroes
# show. Plain text: no blkid prober takes it for a signature.
fill() {
	yes "someone's data, not a COW's" | head -c 1048576 >/tmp/fill
	put_ends "$1" /tmp/fill /tmp/fill
}

# found DEV: what blkid -p, the oracle, names on DEV: TYPE, pt:PTTYPE, both, or none.
found() {
	local t p
	t=$(blkid -p -o value -s TYPE "$1" 2>/dev/null)
	p=$(blkid -p -o value -s PTTYPE "$1" 2>/dev/null)
	[ -z "$p" ] || t="${t:+$t,}pt:$p"
	echo "${t:-none}"
}

# partitions_of DISK: the partitions the kernel knows on DISK (sysfs).
partitions_of() {
	local d=${1#/dev/} p
	for p in /sys/block/"$d"/"$d"*; do
		[ ! -e "$p" ] || echo "${p##*/}"
	done
}

# blank DEV: zeroes, as a new disk (discard zeroes these disks: /init relies on
# it), and no partition left in the kernel's table.
blank() {
	blkdiscard "$1" || return
	[ -z "$(partitions_of "$1")" ] || blockdev --rereadpt "$1"
	[ -z "$(partitions_of "$1")" ] || { echo "$1 keeps partitions $(partitions_of "$1")"; return 1; }
	[ "$(ends_sum "$1")" = "$ZEROS" ] || { echo "$1 does not read back as zeroes"; return 1; }
}

# fresh CMD...: CMD on a COW that holds nothing but someone's data at both ends.
fresh() { blank "$COW" && fill "$COW" && "$@"; }

# on DEV CMD...: CMD with DEV as the COW.
on() {
	local COW=$1
	shift
	"$@"
}

# --- running snap ------------------------------------------------------------

resume_suspended() {
	local name
	for name in $(dmsetup info -c --noheadings -o name,suspended | awk -F: '$2 == "Suspended" { print $1 }'); do
		dmsetup resume "$name"
	done
}

# guarded CMD...: CMD, waited for at most $HANG seconds. A snap whose COW lives on
# the origin can hang in the kernel, where no signal reaches it: then whatever is
# suspended is resumed, so that the checks after it still run, and the status is 124.
guarded() {
	local pid i=0
	"$@" &
	pid=$!
	# Looked at every 20 ms: most commands take less than 100 ms.
	while kill -0 "$pid" 2>/dev/null; do
		if [ $i -ge $((HANG * 50)) ]; then
			echo "hung for $HANG s: $*" >&2
			kill -KILL "$pid" 2>/dev/null
			# In the background: a resume may wait on the hung suspend itself.
			resume_suspended >/dev/null 2>&1 &
			sleep 2
			return 124
		fi
		sleep 0.02
		i=$((i + 1))
	done
	wait "$pid"
}

# refuses NAME SAYS [--force]: snap with $COW exits 1, its message names what it
# found (SAYS, an extended regex, any case), the dm state is as it was, and not
# one byte of the COW changed. Sets REFUSED to yes or no. The COW's ends are put
# back as they were, so that the next attempt finds what this one found.
refuses() {
	local name=$1 says=$2 rc=0 bytes state what cmd
	shift 2
	what="$name: snap${1:+ $1} refuses"
	cmd="dmsnap snap${1:+ $1} md2 $COW"
	ends "$COW" >/tmp/ends.before
	bytes=$(sha256sum </tmp/ends.before | cut -d' ' -f1)
	state=$(dm_state)
	guarded $cmd >"$OUT" 2>&1 || rc=$?
	REFUSED=no
	if [ $rc -ne 1 ]; then
		fail "$what" "exit $rc, want 1: $cmd"
		show_output
	elif [ "$(dm_state)" != "$state" ]; then
		fail "$what" "the dm state changed:"
		printf '%s\n' "$state" >/tmp/state.before
		dm_state >/tmp/state.after
		diff /tmp/state.before /tmp/state.after | sed 's/^/    | /'
	else
		REFUSED=yes
		pass "$what"
		if grep -qiE "$says" "$OUT"; then
			pass "$what: says what it found"
		else
			fail "$what: says what it found" "no line matches '$says' (any case):"
			show_output
		fi
	fi
	# Read before a drop: while the snapshot lives its store's header is on the COW.
	assert_eq "$what: not one byte written" "$(ends_sum "$COW")" "$bytes" || REFUSED=no
	# It took the snapshot (or hung taking it): drop it and put the bytes back, so
	# that what follows starts as this attempt did.
	if has_dev md2_snap; then
		guarded dmsnap drop md2 >"$OUT" 2>&1 || { fail "$what: drop after" "exit $?"; show_output; }
	fi
	if [ "$(ends_sum "$COW")" != "$bytes" ]; then
		head -c 1048576 /tmp/ends.before >/tmp/head
		tail -c 1048576 /tmp/ends.before >/tmp/tail
		put_ends "$COW" /tmp/head /tmp/tail
	fi
}

# takes NAME SAYS: snap --force destroys what $COW holds and says what (SAYS);
# the snapshot is there; drop ends it. Sets FORCED to taken or refused.
takes() {
	local name=$1 says=$2 rc=0
	guarded dmsnap snap --force md2 "$COW" >"$OUT" 2>&1 || rc=$?
	FORCED=refused
	succeeded "$name: snap --force takes it" $rc dmsnap snap --force md2 "$COW" || return
	FORCED=taken
	if grep -qiE "$says" "$OUT"; then
		pass "$name: snap --force says what it destroys"
	else
		fail "$name: snap --force says what it destroys" "no line matches '$says' (any case):"
		show_output
	fi
	contains "$name: the snapshot is active" "$(dmsetup status md2_snap 2>&1)" ' snapshot [0-9]'
	ok "$name: drop" guarded dmsnap drop md2
}

# check NAME KIND SAYS: $COW as it is now. KIND "refuse": snap refuses, --force
# takes it. KIND "refuse-always": --force is refused as well.
check() {
	local name=$1 kind=$2 says=$3 type refused
	type=$(found "$COW")
	refuses "$name" "$says"
	refused=$REFUSED
	if [ "$kind" = refuse-always ]; then
		refuses "$name" "$says" --force
		[ $REFUSED = yes ] && FORCED=refused || FORCED=taken
	else
		takes "$name" "$says"
	fi
	echo "show: format: $name blkid=$type want=$kind refused=$refused force=$FORCED"
}

# format NAME WANT KIND SAYS MAKE...: NAME made by its own tool (MAKE) on a fresh
# COW; blkid -p must name WANT (a TYPE, or pt:PTTYPE); then check.
format() {
	local name=$1 want=$2 kind=$3 says=$4 type
	shift 4
	ok "$name: made by $1" fresh "$@" || return
	type=$(found "$COW")
	assert_eq "$name: blkid -p names $want" "${type%%,*}" "$want" || return
	check "$name" "$kind" "$says"
}

# taken NAME: a COW that holds nothing and is nobody's: snap takes it without --force.
taken() {
	local rc=0
	guarded dmsnap snap md2 "$COW" >"$OUT" 2>&1 || rc=$?
	succeeded "$1: snap takes it" $rc dmsnap snap md2 "$COW" &&
		ok "$1: drop" guarded dmsnap drop md2
	[ $rc -eq 0 ] && rc=taken || rc=refused
	echo "show: format: $1 blkid=$(found "$COW") want=take refused=$([ $rc = refused ] && echo yes || echo no) force=-"
}

# --- the tools ---------------------------------------------------------------

partition_table() { echo ',,L' | sfdisk -q --label "$1" "$COW"; }

# md_member VERSION: the array is stopped, as after a disk was moved or a reboot.
md_member() {
	mdadm --create /dev/md3 --run --quiet --metadata="$1" --level=1 --raid-devices=2 "$COW" missing &&
		mdadm --stop /dev/md3 >/dev/null
}

# firmware_raid METADATA: DDF or Intel IMSM, a container of the COW and vdd, stopped.
# IMSM wants a platform and SCSI serials a virtual disk has not: mdadm's test switches.
firmware_raid() {
	blank /dev/vdd &&
		IMSM_NO_PLATFORM=1 IMSM_DEVNAME_AS_SERIAL=1 mdadm --create /dev/md/fw --run --quiet \
			--metadata="$1" --raid-devices=2 "$COW" /dev/vdd &&
		mdadm --stop /dev/md/fw >/dev/null
}

# luks TYPE: few PBKDF2 iterations: the guest has no KVM, and no one will open it.
luks() {
	echo -n secret | cryptsetup luksFormat -q --type "$1" --pbkdf pbkdf2 \
		--pbkdf-force-iterations 1000 --key-file - "$COW"
}

# image TOOL ARGS...: image formats are built from $TREE into a file, then written.
image() {
	rm -f /tmp/image
	"$@" && dd if=/tmp/image of="$COW" bs=1M conv=fsync 2>/dev/null
}

# table_overwritten: an MBR, then someone's data over it; the kernel keeps its partitions.
table_overwritten() { partition_table dos && fill "$COW"; }

loop_on_origin() {
	truncate -s 64M /mnt/o/cow.img && losetup /dev/loop0 /mnt/o/cow.img && fill /dev/loop0
}

# loop_on_loop: the origin, a loop on a file on it, ext4 on that, a loop on a file on the ext4.
loop_on_loop() {
	mkfs.ext4 -F -q /dev/loop0 && mount /dev/loop0 /mnt/l && truncate -s 32M /mnt/l/cow.img &&
		losetup /dev/loop1 /mnt/l/cow.img && fill /dev/loop1
}

# snapshot_store: what a snapshot taken by hand (dmsetup) leaves on its COW: a valid
# store. Its header chunk zeroed first, as a new store wants: on garbage the kernel
# refuses the table.
snapshot_store() {
	blank /dev/vdd && dd if=/dev/zero of="$COW" bs=4k count=1 conv=fsync 2>/dev/null &&
		dmsetup create hand_snap --table "0 $(sectors /dev/vdd) snapshot $(cat /sys/block/vdd/dev) $(cat /sys/block/vdc/dev) P 8" &&
		dmsetup remove hand_snap
}

# --- the cases ---------------------------------------------------------------

setup() {
	ok "md2 RAID1" make_md2 || return 1
	ok "mkfs.xfs md2" mkxfs /dev/md2 || return 1
	ok "wrap md2" dmsnap wrap /dev/md2 md2 || return 1
	mkdir -p /mnt/o /mnt/c /mnt/l $TREE
	ok "mount the origin" mount /dev/mapper/md2 /mnt/o || return 1
	echo data >$TREE/file
	ok "loop module" modprobe loop
}

# A blank COW and a blank partition are what snap is for: refusing them is no fix.
controls() {
	ok "blank-disk: blank" blank "$COW" && taken "blank-disk"
	ok "blank-partition: an MBR on the blank disk" partition_table dos || return
	on /dev/vdc1 taken "blank-partition"
}

partition_tables() {
	local t
	for t in dos gpt sun sgi; do
		format "partition-table-$t" "pt:$t" refuse-always "partition|MBR|$t" partition_table $t
	done
}

raid_members() {
	local v
	for v in 0.90 1.0 1.1 1.2; do
		format "md-$v" linux_raid_member refuse-always 'RAID|md member' md_member $v
	done
	format "ddf" ddf_raid_member refuse-always 'RAID|DDF' firmware_raid ddf
	format "imsm" isw_raid_member refuse-always 'RAID|IMSM|Intel|isw' firmware_raid imsm
	blank /dev/vdd
}

# Devices that hold other block devices: assembled at boot, never a COW's to take.
containers() {
	format "lvm-pv" LVM2_member refuse-always 'LVM|physical volume' pvcreate -q "$COW"
	# LVM may put its label in any of the first four sectors.
	format "lvm-pv-sector3" LVM2_member refuse-always 'LVM|physical volume' pvcreate -q --labelsector 3 "$COW"
	format "luks1" crypto_LUKS refuse-always 'LUKS' luks luks1
	format "luks2" crypto_LUKS refuse-always 'LUKS' luks luks2
	format "bcache-backing" bcache refuse-always 'bcache' make-bcache -B "$COW"
	format "bcache-cache" bcache refuse-always 'bcache' make-bcache -C "$COW"
	format "dm-integrity" DM_integrity refuse-always 'integrity' integritysetup format -q --no-wipe "$COW"
}

filesystems() {
	format "swap" swap refuse 'swap' mkswap "$COW"
	format "ext2" ext2 refuse 'ext2' mkfs.ext2 -F -q "$COW"
	format "ext3" ext3 refuse 'ext3|ext2/3/4' mkfs.ext3 -F -q "$COW"
	format "ext4" ext4 refuse 'ext4|ext2/3/4' mkfs.ext4 -F -q "$COW"
	format "btrfs" btrfs refuse 'btrfs' mkfs.btrfs -q -f "$COW"
	# FAT12 cannot span 256 MiB: a 16 MiB one at the start.
	format "fat12" vfat refuse 'FAT' mkfs.vfat -F 12 "$COW" 16384
	format "fat16" vfat refuse 'FAT' mkfs.vfat -F 16 "$COW"
	format "fat32" vfat refuse 'FAT' mkfs.vfat -F 32 "$COW"
	format "exfat" exfat refuse 'exFAT' mkfs.exfat "$COW"
	format "ntfs" ntfs refuse 'NTFS' mkfs.ntfs -f -F -q "$COW"
	format "f2fs" f2fs refuse 'F2FS' mkfs.f2fs -q -f "$COW"
	format "nilfs2" nilfs2 refuse 'NILFS' mkfs.nilfs2 -q -f "$COW"
	format "jfs" jfs refuse 'JFS' mkfs.jfs -q "$COW"
	format "reiserfs" reiserfs refuse 'reiser' mkreiserfs -q -f "$COW"
	format "udf" udf refuse 'UDF' mkudffs "$COW"
	format "gfs2" gfs2 refuse 'GFS2' mkfs.gfs2 -O -p lock_nolock -j 1 "$COW"
	format "minix" minix refuse 'minix' mkfs.minix "$COW"
	format "bfs" bfs refuse 'BFS' mkfs.bfs "$COW"
	format "squashfs" squashfs refuse 'squashfs' mksquashfs $TREE "$COW" -noappend -quiet
	format "iso9660" iso9660 refuse 'ISO.?9660' xorriso -as mkisofs -quiet -o "$COW" $TREE
	format "erofs" erofs refuse 'EROFS' image mkfs.erofs /tmp/image $TREE
	format "cramfs" cramfs refuse 'cramfs' image mkfs.cramfs $TREE /tmp/image
	format "dm-verity-hash" DM_verity_hash refuse 'verity' \
		sh -c "dd if=/dev/urandom of=/tmp/verity.data bs=1M count=1 2>/dev/null && veritysetup format /tmp/verity.data $COW"
	format "dm-snapshot-store" DM_snapshot_cow refuse 'snapshot store' snapshot_store
	blank /dev/vdd
}

# XFS wants 300 MB: vdc and vdd joined, a COW that is a dm device as on LVM.
xfs_on_dm() {
	ok "xfs: blank vdd" blank /dev/vdd || return
	ok "xfs: bigcow over vdc and vdd" dmsetup create bigcow --table "0 $(sectors /dev/vdc) linear /dev/vdc 0
$(sectors /dev/vdc) $(sectors /dev/vdd) linear /dev/vdd 0" || return
	mknodes
	on /dev/mapper/bigcow format "xfs" xfs refuse 'XFS' mkxfs /dev/mapper/bigcow
	ok "xfs: remove bigcow" dmsetup remove bigcow
	blank /dev/vdd
}

# What the kernel says in sysfs, or what is open or mounted, whatever the bytes hold.
in_use() {
	# The typo of the issue, sdc for sdc1, once the table is gone: the kernel still
	# has the partition, whatever the bytes say.
	ok "partitions-in-sysfs: an MBR, then data over it" fresh table_overwritten &&
		assert_eq "partitions-in-sysfs: blkid -p names nothing" "$(found $COW)" none &&
		contains "partitions-in-sysfs: vdc1 still known" "$(partitions_of $COW)" '^vdc1$' &&
		check "partitions-in-sysfs" refuse-always 'partition|vdc1'

	ok "held-by-dm: a dm device on the COW" fresh dmsetup create cowholder --table "0 $(sectors $COW) linear $COW 0" &&
		check "held-by-dm" refuse-always 'cowholder'
	dmsetup remove cowholder

	# Read-only, so that md writes no superblock update while the bytes are compared.
	ok "md-running: a running array on the COW" fresh sh -c \
		"mdadm --create /dev/md3 --run --quiet --metadata=1.2 --level=1 --raid-devices=2 $COW missing &&
		mdadm --readonly /dev/md3" &&
		check "md-running" refuse-always 'md3'
	mdadm --stop /dev/md3 >/dev/null 2>&1

	# Read-only, so that ext4 itself writes nothing while the bytes are compared.
	ok "mounted: ext4 mounted" fresh sh -c "mkfs.ext4 -F -q $COW && mount -o ro $COW /mnt/c" &&
		check "mounted" refuse-always '/mnt/c'
	umount /mnt/c

	ok "swap-active: swapon" fresh sh -c "mkswap $COW >/dev/null && swapon $COW" &&
		check "swap-active" refuse-always 'swap'
	swapoff $COW

	# A program with the COW open for writing (a VM's disk, a running dd).
	local holder
	ok "open: someone's data" fresh true && {
		sleep 3600 <>$COW &
		holder=$!
		check "open" refuse-always 'open|in use'
		kill $holder
		wait $holder 2>/dev/null
	}
}

# A COW whose writes land on the origin: the snapshot's copy-outs would write
# into what it preserves, and the freeze would wait for itself.
on_the_origin() {
	# A loop device whose file lives elsewhere is a fine COW.
	ok "loop-elsewhere: /tmp/elsewhere.img on /dev/loop0" sh -c \
		"truncate -s 64M /tmp/elsewhere.img && losetup /dev/loop0 /tmp/elsewhere.img" &&
		on /dev/loop0 taken "loop-elsewhere"
	losetup -d /dev/loop0

	ok "loop-on-origin: /mnt/o/cow.img on /dev/loop0" loop_on_origin || return
	on /dev/loop0 check "loop-on-origin" refuse-always 'mnt/o|cow\.img|lies on|stacked|backed'

	ok "dm-on-loop-on-origin: a dm device on /dev/loop0" \
		dmsetup create onloop --table "0 $(sectors /dev/loop0) linear /dev/loop0 0" && mknodes &&
		on /dev/mapper/onloop check "dm-on-loop-on-origin" refuse-always 'mnt/o|cow\.img|loop0|lies on|stacked|backed'
	dmsetup remove onloop

	ok "loop-on-loop-on-origin: ext4 on /dev/loop0, /mnt/l/cow.img on /dev/loop1" loop_on_loop &&
		on /dev/loop1 check "loop-on-loop-on-origin" refuse-always 'mnt/l|cow\.img|loop0|lies on|stacked|backed'
	losetup -d /dev/loop1
	umount /mnt/l
	losetup -d /dev/loop0

	# Its last 64 MiB, where a bug would do the least harm to the origin's XFS.
	local md2 end
	md2=$(cat /sys/block/md2/dev)
	end=$(sectors /dev/md2)
	ok "dm-on-md2: a dm device on the wrapped /dev/md2" \
		dmsetup create onmd2 --table "0 131072 linear $md2 $((end - 131072))" && mknodes &&
		on /dev/mapper/onmd2 check "dm-on-md2" refuse-always 'md2|lies on|stacked'
	dmsetup remove onmd2

	ok "dm-on-dup: a dm device on md2_dup" \
		dmsetup create ondup --table "0 131072 linear $(dmsetup info -c --noheadings -o major,minor md2_dup) $((end - 131072))" &&
		mknodes && on /dev/mapper/ondup check "dm-on-dup" refuse-always 'md2|lies on|stacked'
	dmsetup remove ondup

	# A dm device on another disk is a fine COW (an LV, say).
	ok "dm-elsewhere: a dm device on a blank vdd" sh -c "blkdiscard /dev/vdd &&
		dmsetup create othercow --table '0 $(sectors /dev/vdd) linear /dev/vdd 0'" &&
		mknodes && on /dev/mapper/othercow taken "dm-elsewhere"
	dmsetup remove othercow
}

setup || return 0
controls
partition_tables
raid_members
containers
filesystems
xfs_on_dm
in_use
on_the_origin
contains "the origin still active" "$(dmsetup info md2)" 'State: *ACTIVE'
ok "umount the origin" umount /mnt/o
