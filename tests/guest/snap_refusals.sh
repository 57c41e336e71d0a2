# snap_refusals: snap checks everything before it touches anything. Each bad
# request fails with a clear reason, the kernel state stays as it was, and the
# origin keeps running (never left suspended).

setup() {
	ok "mkfs.xfs vda" mkxfs /dev/vda || return 1
	ok "wrap vda" dmsnap wrap /dev/vda md2 || return 1
	mkdir -p /mnt/o /mnt/c
	ok "mount origin" mount /dev/mapper/md2 /mnt/o || return 1
	echo data >/mnt/o/file && sync
}

# refused NAME PATTERN CMD...: a clean failure, an unchanged kernel, a reason matching PATTERN.
refused() {
	local name=$1 pattern=$2
	shift 2
	unchanged "$name" "$@" && contains "$name: says why" "$(cat /tmp/lib.out)" "$pattern"
}

origin_running() {
	contains "$1: origin active" "$(dmsetup info md2)" 'State: *ACTIVE'
	ok "$1: origin writable" sh -c 'echo x >/mnt/o/alive && sync'
}

bad_cows() {
	refused "COW = the origin's device" 'lies on it\|itself' dmsnap snap md2 /dev/vda
	refused "COW = the wrapper" 'lies on it\|itself' dmsnap snap md2 /dev/mapper/md2
	refused "COW = the duplicate" 'lies on it\|itself' dmsnap snap md2 /dev/mapper/md2_dup
	mkext4 /dev/vdd && mount /dev/vdd /mnt/c
	refused "COW mounted" 'mounted on /mnt/c' dmsnap snap md2 /dev/vdd
	umount /mnt/c
	refused "COW with ext4" 'ext2/3/4 filesystem.*--force' dmsnap snap md2 /dev/vdd
	mkxfs /dev/vdb # XFS wants 300 MB: vdb, the biggest spare disk
	refused "COW with XFS" 'XFS filesystem.*--force' dmsnap snap md2 /dev/vdb
	ok "XFS on the refused COW intact" xfs_repair -n /dev/vdb
	dd if=/dev/zero of=/dev/vde bs=1k count=8 2>/dev/null
	refused "COW too small for the chunk" 'too small' dmsnap snap -c 65536 md2 /dev/vde
	refused "COW a regular file" 'COW /tmp/file' sh -c 'truncate -s 64M /tmp/file && dmsnap snap md2 /tmp/file'
	refused "COW a directory" 'COW /tmp:' dmsnap snap md2 /tmp
	refused "COW a char device" 'COW /dev/null' dmsnap snap md2 /dev/null
	ln -sf /dev/vda /tmp/link-to-origin
	refused "COW a symlink to the origin" 'lies on it\|itself' dmsnap snap md2 /tmp/link-to-origin
	refused "COW missing" 'No such file' dmsnap snap md2 /dev/nonexistent
	origin_running "after bad COWs"
}

bad_options() {
	refused "chunk 3" 'power of two' dmsnap snap -c 3 md2 /dev/vde
	refused "chunk 0" 'chunk size' dmsnap snap -c 0 md2 /dev/vde
	refused "chunk 2^40" 'power of two' dmsnap snap -c 1099511627776 md2 /dev/vde
	refused "chunk not a number" 'chunk size' dmsnap snap -c x md2 /dev/vde
	refused "snapshot name of 128 bytes" 'not a device name' dmsnap snap -s "$(printf 'n%.0s' $(seq 128))" md2 /dev/vde
	refused "origin not wrapped" 'no such device' dmsnap snap nosuch /dev/vde
	refused "snapshot name taken" 'taken' dmsnap snap -s md2_dup md2 /dev/vde
	refused "--force with --reattach" 'give one' dmsnap snap --force --reattach md2 /dev/vde
	origin_running "after bad options"
}

missing_module() {
	ok "hide dm-snapshot" hide_module dm_snapshot || return
	refused "dm-snapshot missing" "target type 'snapshot' is not available: load dm-snapshot" dmsnap snap md2 /dev/vde
	ok "restore modules" restore_modules
	origin_running "after the missing module"
}

forced_cow() {
	ok "--force zeroes an XFS COW" dmsnap snap --force md2 /dev/vdb
	contains "--force says what it destroyed" "$(cat /tmp/lib.out)" 'destroying an XFS filesystem on /dev/vdb'
	ok "drop" dmsnap drop md2
	ok "a dropped snapshot's COW is taken again without --force" dmsnap snap md2 /dev/vdb
	ok "drop again" dmsnap drop md2
	# A snapshot store left valid (as by a reboot, or dmsetup remove) is refused.
	ok "a store left by hand" sh -c "dmsnap snap md2 /dev/vdc && dmsetup suspend md2 && dmsetup remove md2_snap &&
		echo '0 $(sectors /dev/vda) linear /dev/vda 0' | dmsetup load md2 && dmsetup resume md2"
	dmsnap recover md2 >/dev/null # whatever the step above left, md2 must run on
	refused "a valid old COW header is refused" 'valid snapshot store.*--reattach' dmsnap snap md2 /dev/vdc
}

# A failure of the COW device's resume, and after NAME's inactive table is loaded (the test build fails that ioctl):
# NAME active with its linear table, nothing left over.
failure_midway() {
	local before
	before=$(dm_state)
	for step in DM_DEV_SUSPEND#1 DM_DEV_SUSPEND#2 DM_DEV_SUSPEND#3 DM_DEV_SUSPEND#4; do
		expect_exit 1 "fail $step: snap exits 1" env DMSNAP_FAIL=$step:EIO dmsnap-faults snap md2 /dev/vde
		assert_eq "fail $step: kernel state as before" "$(dm_state)" "$before"
		origin_running "fail $step"
	done
}

# Another wrapped origin, linear and unmounted (nothing holds it): --force
# overrides a signature, never someone's data, by any of its names.
other_origin() {
	mkext4 /dev/vde && ok "wrap a second origin" dmsnap wrap /dev/vde other || return
	raw_copy /dev/vde 1048576 /tmp/other.before
	refused "COW = another origin's duplicate, --force" 'origin other or lies on it' \
		dmsnap snap --force md2 /dev/mapper/other_dup
	refused "COW = another origin, --force" 'origin other or lies on it' dmsnap snap --force md2 /dev/mapper/other
	refused "COW = another origin's disk, --force" 'held by another device\|origin other' \
		dmsnap snap --force md2 /dev/vde
	bytes_kept "the other origin's first MiB unchanged" /dev/vde /tmp/other.before
	ok "e2fsck of the other origin clean" e2fsck -fn /dev/mapper/other
	ok "unwrap the second origin" dmsnap unwrap other
	dd if=/dev/zero of=/dev/vde bs=1M count=64 oflag=direct 2>/dev/null # blank again for failure_midway
}

setup || return 0
bad_cows
other_origin
bad_options
missing_module
forced_cow
failure_midway
umount /mnt/o
