#!/bin/sh
# 90dmsnap's pre-mount hook: dracut sources it after its initqueue found root
# and before it checks and mounts it.  Root's device is $root without its
# "block:" (/dev/disk/by-uuid/... for root=UUID=) where dracut's cmdline step
# set it; under systemd that step is skipped when no module has a cmdline hook,
# so then root= itself, as dracut resolves it.  initramfs-hook runs as a
# child: whatever happens to it, this returns and the boot goes on.
# shellcheck disable=SC2154 # root: dracut's
dmsnap_root=${root#block:}
[ -n "$dmsnap_root" ] || dmsnap_root=$(label_uuid_to_dev "$(getarg root=)")
[ -x /lib/dmsnap/initramfs-hook ] && /lib/dmsnap/initramfs-hook dracut "$dmsnap_root"
unset dmsnap_root
