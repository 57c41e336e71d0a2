#!/bin/bash
# 90dmsnap: dracut module for dmsnap (docs/boot.md).  At boot, before root is
# mounted, it wraps the devices of /etc/dmsnap.conf (and dmsnap.wrap=),
# reattaches their persistent snapshots and has root mounted through its
# wrapper.  The work is initramfs-hook's, installed beside this file by make
# install and copied into the image; dmsnap-pre-mount.sh only calls it.
# dracut sources this file with bash and calls check, depends, installkernel
# and install; $moddir is this directory, $initdir the image's tree.
# shellcheck disable=SC2154 # moddir, initdir: dracut's

dmsnap_conf() { echo "${DMSNAP_CONF:-/etc/dmsnap.conf}"; }

# 0: in every image once /etc/dmsnap.conf exists; 255: only when asked for
# (--add dmsnap, add_dracutmodules+=" dmsnap "), for dmsnap.wrap= alone.
check() {
    [[ -x $moddir/initramfs-hook ]] || return 1
    "$moddir/initramfs-hook" which > /dev/null || return 1
    [[ -e $(dmsnap_conf) ]] && return 0
    return 255
}

# dm: dmsetup's udev rules (55-dm, 60-persistent-storage-dm), by which the
# wrapper gets root's /dev/disk/by-uuid link; rootfs-block: root= itself.
depends() {
    echo dm rootfs-block
}

installkernel() {
    hostonly='' instmods dm_mod dm_snapshot
}

install() {
    local bin conf
    bin=$("$moddir/initramfs-hook" which) || return 1
    inst_binary "$bin" /sbin/dmsnap
    inst_script "$moddir/initramfs-hook" /lib/dmsnap/initramfs-hook
    # What initramfs-hook runs at boot besides the shell.
    inst_multiple cat dd readlink sleep ln
    inst_multiple -o blkid findfs udevadm modprobe mdadm
    conf=$(dmsnap_conf)
    if [[ -e $conf ]]; then
        "$moddir/initramfs-hook" check > /dev/null
        inst_simple "$conf" /etc/dmsnap.conf
    fi
    # The wrappers made at boot keep udev's flags into the running system, and
    # take root's by-uuid link over (initramfs-hook udev-rule).
    mkdir -p "$initdir/etc/udev/rules.d"
    "$moddir/initramfs-hook" udev-rule > "$initdir/etc/udev/rules.d/54-dmsnap.rules"
    # After mdraid's pre-mount hook (10), before fsck and the mount of root.
    inst_hook pre-mount 40 "$moddir/dmsnap-pre-mount.sh"
}
