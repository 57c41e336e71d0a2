# demo: the admin's walkthrough, done with dmsnap in a real kernel, each command
# shown with its output (make demo). XFS on md RAID1 /dev/md2, COW on /dev/vdc.
# manual
# timeout: 300

# say TEXT: a line of the demo.
say() { echo "show: $*"; }

# step CMD...: show the command and its output; PASS/FAIL keeps the demo honest.
step() {
	local rc=0
	say "# $*"
	"$@" >/tmp/step.out 2>&1 || rc=$?
	sed 's/^/show:   /' /tmp/step.out
	if [ $rc -eq 0 ]; then pass "$*"; else fail "$*" "exit $rc"; fi
	return $rc
}

say ""
say "== 0. the machine: md RAID1 /dev/md2 with XFS, a spare disk /dev/vdc for the COW"
make_md2 && mkxfs /dev/md2
say ""
say "== 1. at boot, before mounting: wrap md2, mount the wrapper"
step dmsnap wrap /dev/md2 || return 0
step dmsnap table
mkdir -p /srv /mnt/snap
step mount /dev/mapper/md2 /srv
for i in 1 2 3; do random_file /srv/file$i 8; done
sync
checksum_tree /srv >/tmp/before
say ""
say "== 2. take a snapshot: one command (checks, zeroes the COW header, freezes for milliseconds)"
step dmsnap snap -v md2 /dev/vdc || return 0
step dmsnap table
say ""
say "== 3. the origin goes on changing; the snapshot does not"
random_file /srv/file1 8
echo "written after the snapshot" >/srv/new
sync
step mount -o ro,nouuid /dev/mapper/md2_snap /mnt/snap
step ls -l /mnt/snap /srv
if [ "$(checksum_tree /mnt/snap)" = "$(cat /tmp/before)" ]; then
	pass "snapshot holds the snap-time files"
	say "  snapshot checksums equal the snap-time files"
else
	fail "snapshot holds the snap-time files" "checksums differ"
fi
say ""
say "== 4. watch the COW (a full COW invalidates the snapshot)"
step dmsnap show
step dmsnap status md2_snap
say ""
say "== 5. tear down: drop the snapshot, md2 goes back to linear"
step umount /mnt/snap
step dmsnap drop md2
step dmsnap table md2
say ""
say "== the whole backup in one command, failing loudly if the snapshot broke"
step dmsnap run md2 /dev/vdc -- sh -c 'tar -C "$DMSNAP_MOUNT" -cf /tmp/backup.tar . && tar -tvf /tmp/backup.tar'
step dmsnap show
step umount /srv
step dmsnap unwrap md2
