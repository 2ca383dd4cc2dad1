#!/bin/sh
# /init of dockpy's microVM, run by static busybox as PID 1.
#
# Recipe: load the modules -> find the host's ports and disks -> mount the
# image's EROFS layers and the container's writable dir (virtiofs) as one
# overlay -> give it /proc, /sys and a minimal /dev -> mount the volumes ->
# run the container's process -> report its exit status -> power off.
# What to run comes from /dockpy/spec, a shell file dockpy appends to the
# initramfs for each run (see guest_spec.py). Any failure before the process
# starts is reported as "error <message>" instead of an exit status.

export PATH=/bin
ROOT=/newroot

report() {
    [ -n "$status_port" ] && echo "$1" > "$status_port"
    echo "dockpy-init: $1" > /dev/console
    sync
    poweroff -f
}

fail() { report "error $*"; }

# With "dockpy.trace" on the kernel command line, milestones go to the console
# with the guest's uptime, for bench/kvm_bench.py's breakdown of a boot.
trace() {
    [ -n "$tracing" ] && read -r uptime _ < /proc/uptime && echo "dockpy-trace $uptime $1" > /dev/console
}

mount_kernel_filesystems() {
    mount -t proc proc /proc
    mount -t sysfs sysfs /sys
    mount -t devtmpfs devtmpfs /dev
}

load_modules() {
    for module in /lib/modules/*.ko; do
        insmod "$module" || fail "cannot load kernel module ${module##*/}"
    done
}

# Ports and disks appear asynchronously after their driver loads: poll briefly.
await() {
    tries=500
    until "$@"; do
        tries=$((tries - 1))
        [ "$tries" -gt 0 ] || return 1
        sleep 0.01
    done
}

# Lookups set $found instead of printing: under TCG every $(...) fork costs.
port_named() {
    for port in /sys/class/virtio-ports/*; do
        name=
        read -r name < "$port/name" 2>/dev/null  # fails at a missing final newline, yet sets name
        [ "$name" = "$1" ] && { found=/dev/${port##*/}; return 0; }
    done
    return 1
}

find_port() {
    await port_named "$1" || fail "virtio port $1 did not appear"
}

disk_with_serial() {
    for disk in /sys/block/vd*; do
        serial=
        read -r serial < "$disk/serial" 2>/dev/null
        [ "$serial" = "$1" ] && { found=/dev/${disk##*/}; return 0; }
    done
    return 1
}

mount_layers() {
    lowers=/dockpy/init-layer
    index=0
    while [ "$index" -lt "$layers" ]; do
        await disk_with_serial "dockpy-layer$index" || fail "layer disk $index did not appear"
        mkdir -p "/l/$index"
        mount -t erofs -o ro "$found" "/l/$index" || fail "cannot mount layer $index"
        lowers="$lowers:/l/$index"
        index=$((index + 1))
    done
}

# Docker's "init layer": mount points and hostname files that must exist in the
# root but are not the container's changes, so they never reach its upper dir.
make_init_layer() {
    mount -t tmpfs -o mode=755 tmpfs /dockpy/init-layer
    mkdir -p /dockpy/init-layer/proc /dockpy/init-layer/sys /dockpy/init-layer/dev /dockpy/init-layer/etc
    echo "$hostname" > /dockpy/init-layer/etc/hostname
    printf '127.0.0.1\tlocalhost\n::1\tlocalhost ip6-localhost ip6-loopback\n127.0.1.1\t%s\n' "$hostname" > /dockpy/init-layer/etc/hosts
}

mount_root() {
    options="lowerdir=$lowers,redirect_dir=off,index=off,metacopy=off,xino=off"
    if [ -n "$upper" ]; then
        mount -t virtiofs dockpy.rw /dockpy/rw || fail "cannot mount the container's writable layer"
        options="$options,upperdir=/dockpy/rw/$upper,workdir=/dockpy/rw/$work"
    fi
    mount -t overlay overlay -o "$options" "$ROOT" || fail "cannot mount the overlay root filesystem"
}

# The container's /dev: the few nodes Docker gives a container, prepared in the
# initramfs as /dockpy/dev (making them here would cost a dozen forks) and
# bound over the root's /dev, so the guest's disks and ports stay out of reach.
mount_minimal_dev() {
    mount --bind /dockpy/dev "$ROOT/dev"
    mount -t devpts -o newinstance,ptmxmode=0666,gid=5,mode=620 devpts "$ROOT/dev/pts"
}

mount_container_filesystems() {
    mount -t proc proc "$ROOT/proc"
    mount -t sysfs -o ro,nosuid,nodev,noexec sysfs "$ROOT/sys"
    mount_minimal_dev
}

mount_volumes() {
    index=0
    while [ "$index" -lt "$volumes" ]; do
        eval "target=\$volume_${index}_target read_only=\$volume_${index}_read_only"
        mkdir -p "$ROOT$target" || fail "cannot create mount point $target"
        flags=rw
        [ "$read_only" = 1 ] && flags=ro
        mount -t virtiofs -o "$flags" "dockpy.vol$index" "$ROOT$target" || fail "cannot mount volume on $target"
        index=$((index + 1))
    done
}

# Docker's -u rules: NAME or UID[:GROUP or GID]; names come from the image's own
# /etc/passwd and /etc/group; a numeric uid without an entry runs with gid 0.
resolve_user() {
    name=${user%%:*}
    group=
    case "$user" in *:*) group=${user#*:} ;; esac
    [ -n "$name" ] || name=0
    entry=$(awk -F: -v u="$name" '(u ~ /^[0-9]+$/ ? $3 == u : $1 == u) { print $3 " " $4 " " $6; exit }' "$ROOT/etc/passwd" 2>/dev/null)
    if [ -n "$entry" ]; then
        set -- $entry
        uid=$1 gid=$2 home=${3:-/}
    else
        case "$name" in *[!0-9]*) fail "unable to find user $name: no matching entries in passwd file" ;; esac
        uid=$name gid=0 home=/
    fi
    [ -n "$group" ] && resolve_group
}

resolve_group() {
    case "$group" in
    *[!0-9]*)
        gid=$(awk -F: -v g="$group" '$1 == g { print $3; exit }' "$ROOT/etc/group" 2>/dev/null)
        [ -n "$gid" ] || fail "unable to find group $group: no matching entries in group file"
        ;;
    *) gid=$group ;;
    esac
}

forward_signals() {
    while read -r signal; do
        kill -s "$signal" "$child" 2>/dev/null
    done < "$signal_port"
}

mount_kernel_filesystems
tracing=
case " $(cat /proc/cmdline) " in
*" dockpy.probe "*)
    echo "dockpy-probe-ok" > /dev/console
    poweroff -f
    ;;
*" dockpy.trace "*) tracing=1 ;;
esac
trace init
load_modules
trace modules-loaded
find_port dockpy.status
status_port=$found
[ -f /dockpy/spec ] || fail "no /dockpy/spec in the initramfs"
. /dockpy/spec
make_init_layer
mount_layers
mount_root
mount_container_filesystems
mount_volumes
trace mounted
hostname "$hostname"
ip link set lo up
resolve_user
mkdir -p "$ROOT$workdir" || fail "cannot create working directory $workdir"

# The spec left "ENV... ARGS..." in "$@"; put the program that enters the root
# between them: env -i ENV... nsenter ... -- ARGS... (exit 127/126 if ARGS[0]
# is missing or not executable).
index=0
for argument do
    shift
    [ "$index" = "$env_count" ] && set -- "$@" nsenter "-r$ROOT" "-w$ROOT$workdir" -S "$uid" -G "$gid" -F --
    set -- "$@" "$argument"
    index=$((index + 1))
done

if [ "$terminal" = 1 ]; then
    await test -c /dev/hvc0 || fail "the terminal (virtio console) did not appear"
    setsid -c env -i "HOME=$home" "$@" < /dev/hvc0 > /dev/hvc0 2>&1 &
else
    stdin=/dev/null
    [ "$interactive" = 1 ] && find_port dockpy.stdin && stdin=$found
    find_port dockpy.stdout
    stdout=$found
    find_port dockpy.stderr
    env -i "HOME=$home" "$@" < "$stdin" > "$stdout" 2> "$found" &
fi
child=$!
trace process-started
find_port dockpy.signal
signal_port=$found
forward_signals &
wait "$child"
status=$?
trace process-exited
report "exit $status"
