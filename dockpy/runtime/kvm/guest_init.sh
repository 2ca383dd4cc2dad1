#!/bin/sh
# /init of dockpy's microVM, run by static busybox as PID 1.
#
# Recipe: load the modules -> find the host's ports and disks -> mount the
# image's EROFS layers and the container's writable dir (virtiofs) as one
# overlay -> give it /proc, /sys and a minimal /dev -> mount the volumes ->
# run the container's process -> report its exit status and how many bytes
# it sent on stdout and stderr -> wait for the host to end the VM once it has
# taken them all (or, without counts, power off).
# What to run comes from /dockpy/spec, a shell file dockpy appends to the
# initramfs for each run (see guest_spec.py). Any failure before the process
# starts is reported as "error <message>" instead of an exit status.
#
# Under TCG emulation every process costs 5-30 ms, so /init forks as little as
# it can: builtins over applets, one modprobe for all modules, one mount -a for
# all of the root's mounts.

export PATH=/bin
ROOT=/newroot
control_port= stdin_port= stdout_port= stderr_port=

# The writable layer is complete before the host hears the status.
# Output written to a port is only queued for QEMU, which takes it as fast as
# the host's reader does: powering off could end QEMU while it still holds
# some. A report with the ports' byte counts lets the host end the VM once it
# has them all, which also saves the guest's shutdown.
report() {
    write_back_pending_pages
    trace reported  # before the status: the host may end the VM as soon as it has it
    await control_port_open && echo "$1" >&3
    echo "dockpy-init: $1" > /dev/console
    case "$1" in *" sent "*) sleep 2147483647 ;; esac
    poweroff -n -f
}

# Writes to the writable layer and the volumes reach the host as they are made
# (virtiofs without a writeback cache); only pages of files mapped shared and
# written through memory can still be waiting. sync(2) would also make the
# host flush its whole filesystem to disk (FUSE_SYNCFS: seconds on a busy
# host), which a container's exit does not promise, so it runs only when the
# kernel counts pages still to write.
write_back_pending_pages() {
    pending=0
    while read -r field value _; do
        case "$field" in Dirty: | Writeback: | WritebackTmp:) pending=$((pending + value)) ;; esac
    done < /proc/meminfo
    [ "$pending" = 0 ] || sync
}

fail() { report "error $*"; }

# Sets $sent to the bytes the guest has queued on port $1 (a /dev/vport* path)
# for the host, as virtio_console counts them in debugfs ("bytes_sent: N").
port_bytes_sent() {
    sent=
    while read -r field value; do
        [ "$field" = bytes_sent: ] && { sent=$value; break; }  # the lines after it cost a read(2) per byte
    done 2>/dev/null < "/sys/kernel/debug/virtio-ports/${1##*/}"
    [ -n "$sent" ]
}

# "sent STDOUT STDERR" for the report, or nothing if debugfs cannot tell.
output_counts() {
    counts=
    [ "$terminal" != 1 ] && port_bytes_sent "$stdout_port" && stdout_sent=$sent && port_bytes_sent "$stderr_port" && counts=" sent $stdout_sent $sent"
}

# With "dockpy.trace" on the kernel command line, milestones go to the console
# as kernel messages, stamped to the microsecond with the guest's clock
# (/proc/uptime counts hundredths), for bench/kvm_bench.py's breakdown of a boot.
trace() {
    [ -n "$tracing" ] && echo "<3>dockpy-trace $1" > /dev/kmsg
}

mount_kernel_filesystems() {
    mount -t proc proc /proc
    mount -t sysfs sysfs /sys
    mount -t devtmpfs devtmpfs /dev
}

# debugfs holds the output ports' byte counts (see port_bytes_sent).
plan_debugfs() {
    plan_mount debugfs /sys/kernel/debug debugfs rw
}

# modules.boot names what every boot loads, modules.disks what EROFS layer
# disks need (a boot whose layers all came in the initrd does without), and
# modules.shares what virtiofs needs (fuse is one of the largest modules):
# only with a share to mount, so a --read-only root without volumes does without.
load_modules() {
    read -r release < /proc/sys/kernel/osrelease
    modules=
    add_modules "/lib/modules/$release/modules.boot"
    case " $layers " in *" disk "*) add_modules "/lib/modules/$release/modules.disks" ;; esac
    [ -n "$upper" ] || [ "$volumes" -gt 0 ] && add_modules "/lib/modules/$release/modules.shares"
    modprobe -a $modules 2> /dockpy/modprobe.log || fail "cannot load kernel modules: $(cat /dockpy/modprobe.log)"
}

add_modules() {
    while read -r module; do
        modules="$modules $module"
    done < "$1"
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

# The host's ports, dockpy.NAME, found in one pass over sysfs: sets $NAME_port
# (control_port, stdout_port...) to each one's /dev/vport*.
# Lookups set variables instead of printing: under TCG every $(...) fork costs.
scan_ports() {
    for port in /sys/class/virtio-ports/*; do
        name=
        read -r name 2>/dev/null < "$port/name"  # fails at a missing final newline, yet sets name
        case "$name" in
        dockpy.control | dockpy.stdin | dockpy.stdout | dockpy.stderr) eval "${name#dockpy.}_port=/dev/\${port##*/}" ;;
        esac
    done
}

# Whether every port this run has is there (their names arrive from QEMU while /init mounts the root).
process_ports_known() {
    scan_ports
    [ -n "$control_port" ] || return 1
    [ "$terminal" = 1 ] && return 0
    [ -n "$stdout_port" ] && [ -n "$stderr_port" ] && { [ "$interactive" != 1 ] || [ -n "$stdin_port" ]; }
}

# The control port carries the status to the host and the host's signals in. A
# port opens only once at a time, so /init holds it open on fd 3 from its first
# use (a report can come before the other ports are looked for: a setup error)
# and the signal forwarder reads from that; the container's process does not get it.
control_port_open() {
    [ -n "$control_open" ] && return 0
    [ -n "$control_port" ] || scan_ports
    [ -n "$control_port" ] && exec 3<> "$control_port" && control_open=1
}

disk_with_serial() {
    for disk in /sys/block/vd*; do
        serial=
        read -r serial 2>/dev/null < "$disk/serial"
        [ "$serial" = "$1" ] && { found=/dev/${disk##*/}; return 0; }
    done
    return 1
}

# The root's mounts, in order, as lines of an fstab that one "mount -a" mounts.
FSTAB=/dockpy/fstab

plan_mount() {
    echo "$1 $2 $3 $4 0 0" >> "$FSTAB"
}

# $layers, top first: the directory an archive unpacked into, or "disk" for
# the next EROFS disk (serial dockpy-layerN, mounted on /l/N).
# /dockpy/init-layer is Docker's "init layer": mount points and /etc files that must
# exist in the root but are not the container's changes, so they never reach its
# upper dir. Its directories come with the initramfs, its /etc/hostname and /etc/hosts
# with the spec (guest_spec.py); it is the overlay's top lower layer.
plan_layers() {
    lowers=/dockpy/init-layer
    index=0
    for layer in $layers; do
        if [ "$layer" = disk ]; then
            await disk_with_serial "dockpy-layer$index" || fail "layer disk $index did not appear"
            plan_mount "$found" "/l/$index" erofs ro
            layer=/l/$index
            index=$((index + 1))
        fi
        lowers="$lowers:$layer"
    done
}

plan_root() {
    options="lowerdir=$lowers,redirect_dir=off,index=off,metacopy=off,xino=off"
    if [ -n "$upper" ]; then
        plan_mount dockpy.rw /dockpy/rw virtiofs rw
        options="$options,upperdir=/dockpy/rw/$upper,workdir=/dockpy/rw/$work"
    fi
    plan_mount overlay "$ROOT" overlay "$options"
}

# The container's /dev: the few nodes Docker gives a container, prepared in the
# initramfs as /dockpy/dev (making them here would cost a dozen forks) and
# bound over the root's /dev, so the guest's disks and ports stay out of reach.
plan_container_filesystems() {
    plan_mount proc "$ROOT/proc" proc rw
    plan_mount sysfs "$ROOT/sys" sysfs ro,nosuid,nodev,noexec
    plan_mount /dockpy/dev "$ROOT/dev" none bind
    plan_mount devpts "$ROOT/dev/pts" devpts newinstance,ptmxmode=0666,gid=5,mode=620
    [ "$terminal" = 1 ] && plan_console
}

# -t: the virtio console becomes the container's /dev/console, as Docker binds
# its pty there; the process opens it by that path, so ttyname() (tty(1))
# finds it inside the container's /dev.
plan_console() {
    await test -c /dev/hvc0 || fail "the terminal (virtio console) did not appear"
    : > /dockpy/dev/console
    plan_mount /dev/hvc0 "$ROOT/dev/console" none bind
}

mount_planned() {
    mount -a -T "$FSTAB" 2> /dockpy/mount.log || fail "cannot mount the container's root filesystem: $(cat /dockpy/mount.log)"
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
# The files are read with the shell's own "read": no process per lookup.
resolve_user() {
    name=${user%%:*}
    group=
    case "$user" in *:*) group=${user#*:} ;; esac
    [ -n "$name" ] || name=0
    if passwd_entry "$name"; then
        uid=$entry_uid gid=$entry_gid home=${entry_home:-/}
    else
        case "$name" in *[!0-9]*) fail "unable to find user $name: no matching entries in passwd file" ;; esac
        uid=$name gid=0 home=/
    fi
    [ -n "$group" ] && resolve_group
}

# The first passwd line whose name (or, for a number, uid) is $1: sets entry_uid, entry_gid, entry_home.
passwd_entry() {
    [ -r "$ROOT/etc/passwd" ] || return 1
    while IFS=: read -r entry_name _ entry_uid entry_gid _ entry_home _ || [ -n "$entry_name" ]; do
        case "$1" in
        *[!0-9]*) [ "$entry_name" = "$1" ] && return 0 ;;
        *) [ "$entry_uid" = "$1" ] && return 0 ;;
        esac
    done < "$ROOT/etc/passwd"
    return 1
}

resolve_group() {
    case "$group" in
    *[!0-9]*) group_id "$group" || fail "unable to find group $group: no matching entries in group file" ;;
    *) gid=$group ;;
    esac
}

group_id() {
    [ -r "$ROOT/etc/group" ] || return 1
    while IFS=: read -r entry_name _ entry_gid _ || [ -n "$entry_name" ]; do
        [ "$entry_name" = "$1" ] && { gid=$entry_gid; return 0; }
    done < "$ROOT/etc/group"
    return 1
}

# Sets $program to the file the process's command ($1) names in the container, as
# execvp(3) would find it there: as given with a slash, else the first match in the
# process's PATH ($search_path); empty if there is none. Started by a bare name,
# busybox would run its own applet of that name (sh, ls, ...) instead of the
# image's program. A symlink counts as found without following it: an absolute
# one resolves only inside the container's root. A relative PATH entry (an empty
# one is ".") is relative to the working directory, as for execvp(3).
find_program() {
    program=$1
    case "$1" in */*) return 0 ;; esac
    program=
    set -f  # split $search_path at colons only, never expand its entries as patterns
    IFS=:
    for directory in $search_path; do
        case "$directory" in /*) candidate=$ROOT$directory/$1 ;; *) candidate=$ROOT$workdir/${directory:-.}/$1 ;; esac
        { [ -L "$candidate" ] || { [ -f "$candidate" ] && [ -x "$candidate" ]; }; } && program=${directory:-.}/$1 && break
    done
    unset IFS
    set +f
}

# Runs in the forked child, its stdio set: "$@" is "ENV... nsenter ... -- PROGRAM ARGS...".
# Exits 127 (as Docker) if the command was not found; nsenter exits 127 or 126 if
# it cannot run it. With -t the process leads a session whose controlling tty is its stdin.
run_process() {
    [ -n "$program" ] || { echo "exec: \"$command\": executable file not found in \$PATH" >&2; exit 127; }
    [ "$terminal" = 1 ] && exec setsid -c env -i "HOME=$home" "$@"
    exec env -i "HOME=$home" "$@"
}

forward_signals() {
    while read -r signal; do
        kill -s "$signal" "$child" 2>/dev/null
    done <&3
}

mount_kernel_filesystems
tracing=
read -r cmdline < /proc/cmdline  # the shell's own read: $(cat ...) would cost a process
case " $cmdline " in
*" dockpy.probe "*)
    echo "dockpy-probe-ok" > /dev/console
    poweroff -f
    ;;
*" dockpy.trace "*) tracing=1 ;;
esac
trace init
[ -f /dockpy/spec ] || fail "no /dockpy/spec in the initramfs"
. /dockpy/spec
load_modules
trace modules-loaded
plan_layers
plan_root
plan_container_filesystems
plan_debugfs
mount_planned
mount_volumes
trace mounted
echo "$hostname" > /proc/sys/kernel/hostname  # as hostname(1) does, without its process
echo 0x9 > /sys/class/net/lo/flags  # IFF_LOOPBACK | IFF_UP: "ip link set lo up" without its process
resolve_user
[ -d "$ROOT$workdir" ] || mkdir -p "$ROOT$workdir" || fail "cannot create working directory $workdir"

# The spec left "ENV... ARGS..." in "$@"; put the program that enters the root
# between them, and the command's path in the container for the command:
# ENV... nsenter ... -- PROGRAM ARGS[1:].
index=0
for argument do
    shift
    if [ "$index" = "$env_count" ]; then
        command=$argument
        find_program "$command"
        set -- "$@" nsenter "-r$ROOT" "-w$ROOT$workdir" -S "$uid" -G "$gid" -F -- "$program"
    else
        set -- "$@" "$argument"
    fi
    index=$((index + 1))
done

await process_ports_known || fail "the virtio ports did not appear"
if [ "$terminal" = 1 ]; then
    run_process "$@" < "$ROOT/dev/console" > "$ROOT/dev/console" 2>&1 &
else
    run_process "$@" < "${stdin_port:-/dev/null}" > "$stdout_port" 2> "$stderr_port" &
fi
child=$!
trace process-started
control_port_open || fail "cannot open the control port"  # opened after the fork: the process must not hold it
forward_signals &
wait "$child"
status=$?
trace process-exited
output_counts
report "exit $status$counts"
