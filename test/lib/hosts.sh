# shellcheck shell=bash
# test/lib/hosts.sh - booted Debian test hosts for system tests: up to four
# systemd-nspawn containers (real systemd as PID 1, sshd, nginx), each in its
# own network namespace behind a veth on a test bridge.
#
#   . "$top_srcdir/test/lib/hosts.sh"
#   wd=$(mktemp -d /tmp/ks-hosts.XXXXXX)
#   trap 'hosts_down; rm -rf "$wd"' EXIT
#   hosts_up 3 "$wd"                 # in the main shell, not in $(...)
#   host_exec 0 systemctl is-system-running
#   host_ssh 1 hostname
#   host_copy_in 2 ./kubestrap /usr/local/bin/kubestrap
#   host_reboot 2
#
# Addressing: bridge ksbr0 = 10.240.0.1/24 on the machine; host I is
# controller-I at 10.240.0.1I (host 3: lb-0 at 10.240.0.20) in network
# namespace ks-controller-I (veth ksv-cI on the bridge, eth0 inside).  No NAT, no route outward, no IPv6: the
# hosts can only talk to each other and to 10.240.0.1.
#
# hosts_up exports, for each host I:
#   HOST_ROOT_I    merged overlay root as seen from the machine (note: the
#                  container's /run and /tmp are private tmpfs, not in it)
#   HOST_LEADER_I  PID (machine's view) of the container's init
#   HOST_IP_I      10.240.0.1I
# and HOSTS_N, HOSTS_WORKDIR, HOSTS_KEY (root's private key), HOSTS_SSH_OPTS
# (unquoted-expandable ssh options: ssh $HOSTS_SSH_OPTS root@$HOST_IP_0 ...).
#
# WORKDIR holds host-I/{upper,work,merged}, host-I.log (nspawn's console
# output), host-I.pid (nspawn), host-I.uuid, the ssh control sockets ssh-IP.
# The base rootfs is built once by debootstrap and cached as a zstd tarball
# (plus its unpacked tree, the shared overlay lower dir) in HOSTS_CACHE_DIR
# (default /var/cache/kubestrap-test), keyed on a hash of the package lists
# and of the preparation code.  The Debian mirror is read at run time from the
# machine's apt sources (or $HOSTS_MIRROR).
#
# Processes: nspawn runs as a background job of the shell that called
# hosts_up/host_reboot, and so does one ssh ControlMaster per host (started
# by hosts_up, so host_ssh never daemonizes a ControlPersist master: those get
# re-parented to PID 1, which on these machines reaps orphans only late).
# Call hosts_up and host_reboot in the main shell, not in $(...).
# Always arrange for hosts_down to run (EXIT trap); it is idempotent and also
# clears leftovers of an earlier, killed run (by name: ks-controller-*,
# ksbr0, overlays on the cached base).
#
# Works with "set -eu".  Functions return non-zero after a message on
# stderr; progress goes to stderr as "# hosts: ..." lines.
# Requires root, systemd-nspawn (systemd-container), iproute2, util-linux
# (nsenter, mountpoint, flock), zstd, uuid-runtime, openssh-client;
# debootstrap only to build the base.

: "${HOSTS_CACHE_DIR:=/var/cache/kubestrap-test}"
: "${HOSTS_BOOT_TIMEOUT:=60}"  # seconds until all hosts are running
: "${HOSTS_STOP_TIMEOUT:=15}"  # seconds for a clean poweroff before SIGKILL
: "${HOSTS_LOCK_FILE:=/run/lock/kubestrap-test-hosts.lock}"
: "${HOSTS_LOCK_WAIT:=900}"    # seconds to wait for another run's hosts
: "${HOSTS_EXTRA_PACKAGES:=}"  # more packages: a base of their own (a flavour)

# set while /run/netns is a mount point made by a test run's "ip netns add"
_HOSTS_NETNS_MARK=/run/lock/kubestrap-test-hosts.netns-mount

HOSTS_BRIDGE=ksbr0
HOSTS_BRIDGE_IP=10.240.0.1
# hosts 0-2 are controller-0..2; host 3 is lb-0, the load balancer (role = lb)
HOSTS_MAX=4

# The packages of the base (see /work/shared/notes/testhosts.md), and the
# runtime libraries kubestrap links against, so that a binary built on the
# machine runs inside.
_HOSTS_PACKAGES="systemd systemd-sysv dbus libpam-systemd nginx-light openssh-server ca-certificates curl iproute2 procps haproxy"
_HOSTS_RUNTIME_LIBS="libcurl4 libarchive13 libsystemd0 libssl3 libjson-c5 libyaml-0-2"

# Units that only slow down or fail in a container.
_HOSTS_MASK="console-getty.service getty@tty1.service apt-daily.timer apt-daily-upgrade.timer dpkg-db-backup.timer e2scrub_all.timer e2scrub_reap.service fstrim.timer man-db.timer logrotate.timer systemd-pstore.service systemd-firstboot.service"

_hosts_say() { printf '# hosts: %s\n' "$*" >&2; }
_hosts_err() { printf 'hosts: %s\n' "$*" >&2; }

# _hosts_now: seconds since the epoch with microseconds.
_hosts_now() { printf '%s' "${EPOCHREALTIME:-$(date +%s.%N)}"; }

# _hosts_elapsed START: seconds since START, 2 decimals.
_hosts_elapsed() {
    awk -v a="$1" -v b="$(_hosts_now)" 'BEGIN { printf "%.2f", b - a }'
}

# _hosts_before DEADLINE: true while the clock is before DEADLINE.
_hosts_before() {
    awk -v d="$1" -v n="$(_hosts_now)" 'BEGIN { exit !(n < d) }'
}

# _hosts_deadline SECONDS
_hosts_deadline() {
    awk -v n="$(_hosts_now)" -v s="$1" 'BEGIN { printf "%.6f", n + s }'
}

_hosts_ip() {
    case $1 in
    3) printf '10.240.0.20' ;;
    *) printf '10.240.0.1%s' "$1" ;;
    esac
}
_hosts_name() {
    case $1 in
    3) printf 'lb-0' ;;
    *) printf 'controller-%s' "$1" ;;
    esac
}
_hosts_ns() { printf 'ks-controller-%s' "$1"; }
_hosts_veth() { printf 'ksv-c%s' "$1"; }

# _hosts_cgroup_roots: the hierarchies nspawn's cgroup is created in.
_hosts_cgroup_roots() {
    local r found=0
    for r in /sys/fs/cgroup/unified /sys/fs/cgroup/systemd; do
        if [ -e "$r/cgroup.procs" ]; then
            printf '%s\n' "$r"
            found=1
        fi
    done
    if [ "$found" = 0 ] && [ -e /sys/fs/cgroup/cgroup.controllers ]; then
        printf '%s\n' /sys/fs/cgroup
    fi
}

# _hosts_alive PID: true if PID exists and is not a zombie.
_hosts_alive() {
    local st
    [ -n "${1:-}" ] || return 1
    st=$(cat "/proc/$1/stat" 2>/dev/null) || return 1
    st=${st##*) }
    [ "${st%% *}" != Z ]
}

_hosts_comm() { cat "/proc/$1/comm" 2>/dev/null || true; }

# _hosts_leader NSPAWN_PID: prints the child of nspawn that is PID 1 of its
# own PID namespace (the container's init).
_hosts_leader() {
    local p st ppid nspid
    for p in /proc/[0-9]*; do
        st=$(cat "$p/stat" 2>/dev/null) || continue
        st=${st##*) }
        ppid=${st#* }
        ppid=${ppid%% *}
        [ "$ppid" = "$1" ] || continue
        nspid=$(sed -n 's/^NSpid:[[:space:]]*//p' "$p/status" 2>/dev/null) || continue
        case $nspid in
        *[[:space:]]1) printf '%s\n' "${p#/proc/}"; return 0 ;;
        esac
    done
    return 1
}

# _hosts_cgroup_pids I: every process in host I's cgroup trees.
_hosts_cgroup_pids() {
    local r d
    while read -r r; do
        d="$r/$(_hosts_ns "$1")"
        [ -d "$d" ] || continue
        find "$d" -name cgroup.procs -exec cat {} + 2>/dev/null || true
    done < <(_hosts_cgroup_roots) | sort -un
}

# _hosts_cgroup_remove I: removes host I's (empty) cgroup dirs, depth-first.
_hosts_cgroup_remove() {
    local r d
    while read -r r; do
        d="$r/$(_hosts_ns "$1")"
        [ -d "$d" ] || continue
        find "$d" -depth -type d -exec rmdir {} + 2>/dev/null || true
        if [ -d "$d" ]; then
            _hosts_err "could not remove cgroup $d"
            return 1
        fi
    done < <(_hosts_cgroup_roots)
}

# --------------------------------------------------------------------------
# Dependencies and the base rootfs

# hosts_deps: installs the machine-side tools (only those missing).
hosts_deps() {
    local p missing=''
    for p in debootstrap systemd-container zstd iproute2 uuid-runtime openssh-client; do
        if ! dpkg-query -W -f '${db:Status-Status}' "$p" 2>/dev/null | grep -qx installed; then
            missing="$missing $p"
        fi
    done
    [ -n "$missing" ] || return 0
    _hosts_say "installing$missing"
    # shellcheck disable=SC2086 # a list of package names
    DEBIAN_FRONTEND=noninteractive apt-get install -y -q --no-install-recommends $missing >&2 ||
        { apt-get update -q >&2 &&
            DEBIAN_FRONTEND=noninteractive apt-get install -y -q --no-install-recommends $missing >&2; } ||
        { _hosts_err "could not install$missing"; return 1; }
}

# _hosts_codename: the machine's Debian release (the base must match it).
_hosts_codename() {
    local c
    c=$(. /etc/os-release && printf '%s' "${VERSION_CODENAME:-}")
    [ -n "$c" ] || { _hosts_err "no VERSION_CODENAME in /etc/os-release"; return 1; }
    printf '%s\n' "$c"
}

# _hosts_mirror CODENAME: the Debian mirror URL serving CODENAME, from the
# machine's apt sources (deb822 *.sources first, then sources.list).
_hosts_mirror() {
    local suite=$1 f url=''
    if [ -n "${HOSTS_MIRROR:-}" ]; then
        printf '%s\n' "$HOSTS_MIRROR"
        return 0
    fi
    for f in /etc/apt/sources.list.d/*.sources; do
        [ -f "$f" ] || continue
        url=$(awk -v suite="$suite" '
            function flush() {
                if (deb && hit && uri != "" && out == "") out = uri
                deb = 0; hit = 0; uri = ""
            }
            /^[[:space:]]*$/ { flush(); next }
            /^#/ { next }
            tolower($1) == "types:" { for (i = 2; i <= NF; i++) if ($i == "deb") deb = 1 }
            tolower($1) == "suites:" { for (i = 2; i <= NF; i++) if ($i == suite) hit = 1 }
            tolower($1) == "uris:" { uri = $2 }
            END { flush(); if (out != "") print out }' "$f")
        [ -n "$url" ] && break
    done
    if [ -z "$url" ] && [ -f /etc/apt/sources.list ]; then
        url=$(awk -v suite="$suite" '
            $1 == "deb" {
                i = 2
                if ($i ~ /^\[/) { while (i <= NF && $i !~ /\]$/) i++; i++ }
                if ($(i + 1) == suite) { print $i; exit }
            }' /etc/apt/sources.list)
    fi
    if [ -z "$url" ]; then
        _hosts_err "no apt source for $suite in /etc/apt (set HOSTS_MIRROR)"
        return 1
    fi
    printf '%s\n' "$url"
}

# _hosts_prepare_base ROOT PUBKEY_FILE: turns a fresh debootstrap tree into
# the test hosts' base.  Its text is part of the cache key.
_hosts_prepare_base() {
    local r=$1 pub=$2 u i
    # machine identity: empty machine-id (nspawn --uuid fills it), hostname
    # written per host by hosts_up
    : >"$r/etc/machine-id"
    rm -f "$r/var/lib/dbus/machine-id" "$r/etc/hostname"
    # the hosts have no route to any mirror; keep none in the image
    rm -f "$r/etc/apt/sources.list" "$r/var/log/bootstrap.log"
    rm -f "$r/etc/resolv.conf"
    printf 'nameserver 127.0.0.1\n' >"$r/etc/resolv.conf"
    {
        printf '127.0.0.1\tlocalhost\n'
        printf '::1\t\tlocalhost ip6-localhost ip6-loopback\n'
        printf '%s\tks-test-gateway\n' "$HOSTS_BRIDGE_IP"
        for i in 0 1 2 3; do
            printf '%s\t%s\n' "$(_hosts_ip "$i")" "$(_hosts_name "$i")"
        done
    } >"$r/etc/hosts"
    for u in $_HOSTS_MASK; do
        ln -sfn /dev/null "$r/etc/systemd/system/$u"
    done
    mkdir -p "$r/etc/ssh/sshd_config.d"
    cat >"$r/etc/ssh/sshd_config.d/kubestrap-test.conf" <<'EOF'
# kubestrap test hosts: the default post-quantum kex costs ~65 ms a connection
KexAlgorithms curve25519-sha256
PasswordAuthentication no
PermitRootLogin prohibit-password
UseDNS no
EOF
    install -d -m 0700 "$r/root/.ssh"
    install -m 0600 "$pub" "$r/root/.ssh/authorized_keys"
    rm -f "$r"/var/cache/apt/archives/*.deb "$r"/var/cache/apt/*.bin
    find "$r/var/lib/apt/lists" -maxdepth 1 -type f -delete 2>/dev/null || true
}

# _hosts_base_key CODENAME PUBKEY_FILE: the cache key.
_hosts_base_key() {
    {
        printf 'suite=%s\narch=%s\n' "$1" "$(dpkg --print-architecture)"
        printf 'packages=%s\nruntime=%s\nextra=%s\n' \
            "$_HOSTS_PACKAGES" "$_HOSTS_RUNTIME_LIBS" "$HOSTS_EXTRA_PACKAGES"
        printf 'mask=%s\n' "$_HOSTS_MASK"
        cat "$2"
        declare -f _hosts_prepare_base
    } | sha256sum | cut -c1-16
}

# hosts_base [CACHE_DIR]: builds (debootstrap, ~1 min) or reuses the cached
# base.  Sets HOSTS_BASE_TARBALL, HOSTS_BASE_DIR (unpacked, the overlay
# lower dir) and HOSTS_KEY (root's private key, CACHE_DIR/id_ed25519).
hosts_base() {
    local cache=${1:-$HOSTS_CACHE_DIR} lockfd rc=0
    mkdir -p "$cache" || return 1
    chmod 0700 "$cache"
    exec {lockfd}>"$cache/.lock"
    flock -w "$HOSTS_LOCK_WAIT" "$lockfd" || { _hosts_err "cache $cache is locked"; exec {lockfd}>&-; return 1; }
    _hosts_base_locked "$cache" || rc=$?
    exec {lockfd}>&-
    return "$rc"
}

# _hosts_flavour: "" for the plain base; for HOSTS_EXTRA_PACKAGES, their
# sorted names joined by "_" (no package name has one) and a "-".  Bases are
# named base-FLAVOUR-HASH, so that each flavour keeps its own cached base.
_hosts_flavour() {
    local f
    # shellcheck disable=SC2086 # a list of names
    f=$(printf '%s\n' $HOSTS_EXTRA_PACKAGES | sort -u | paste -sd_ -)
    [ -z "$f" ] || printf '%s-' "$f"
}

_hosts_base_locked() {
    local cache=$1 suite key h fl tarball dir mirror pkgs t0 old rest
    suite=$(_hosts_codename) || return 1
    key=$cache/id_ed25519
    if [ ! -s "$key" ] || [ ! -s "$key.pub" ]; then
        rm -f "$key" "$key.pub"
        ssh-keygen -q -t ed25519 -N '' -C kubestrap-test-hosts -f "$key" >/dev/null ||
            { _hosts_err "ssh-keygen failed"; return 1; }
    fi
    chmod 0600 "$key"
    h=$(_hosts_base_key "$suite" "$key.pub") || return 1
    fl=$(_hosts_flavour)
    tarball=$cache/base-$fl$h.tar.zst
    dir=$cache/base-$fl$h

    if [ ! -s "$tarball" ]; then
        command -v debootstrap >/dev/null ||
            { _hosts_err "debootstrap is not installed (hosts_deps)"; return 1; }
        mirror=$(_hosts_mirror "$suite") || return 1
        pkgs="$_HOSTS_PACKAGES $_HOSTS_RUNTIME_LIBS $HOSTS_EXTRA_PACKAGES"
        # shellcheck disable=SC2086 # a list of names
        pkgs=$(printf '%s\n' $pkgs | sort -u | paste -sd, -)
        rm -rf "$dir" "$dir.tmp" "$tarball.tmp"
        t0=$(_hosts_now)
        _hosts_say "debootstrap $suite (base $h) into $dir.tmp"
        # the log says $MIRROR, not the mirror's name
        if ! (
            set -o pipefail
            debootstrap --variant=minbase --include="$pkgs" "$suite" "$dir.tmp" "$mirror" 2>&1 |
                awk -v m="$mirror" '{
                    while ((k = index($0, m)) > 0)
                        $0 = substr($0, 1, k - 1) "$MIRROR" substr($0, k + length(m))
                    print
                }' >"$cache/debootstrap.log"
        ); then
            _hosts_err "debootstrap failed; see $cache/debootstrap.log"
            tail -n 15 "$cache/debootstrap.log" >&2
            if [ -f "$dir.tmp/debootstrap/debootstrap.log" ]; then
                tail -n 15 "$dir.tmp/debootstrap/debootstrap.log" >&2
            fi
            rm -rf "$dir.tmp"
            return 1
        fi
        _hosts_prepare_base "$dir.tmp" "$key.pub" || { rm -rf "$dir.tmp"; return 1; }
        tar --numeric-owner --xattrs --acls -C "$dir.tmp" -cf - . |
            zstd -q -T0 -3 -o "$tarball.tmp" ||
            { _hosts_err "could not write $tarball"; rm -rf "$dir.tmp" "$tarball.tmp"; return 1; }
        mv -f "$tarball.tmp" "$tarball"
        mv "$dir.tmp" "$dir"
        _hosts_say "base built in $(_hosts_elapsed "$t0") s: $tarball ($(du -h "$tarball" | cut -f1))"
    elif [ ! -d "$dir" ]; then
        t0=$(_hosts_now)
        rm -rf "$dir.tmp"
        mkdir "$dir.tmp"
        zstd -q -dc "$tarball" | tar --numeric-owner --xattrs --acls -xpf - -C "$dir.tmp" ||
            { _hosts_err "could not unpack $tarball"; rm -rf "$dir.tmp"; return 1; }
        mv "$dir.tmp" "$dir"
        _hosts_say "base unpacked in $(_hosts_elapsed "$t0") s"
    fi

    # drop this flavour's bases of older keys that no overlay uses (not the
    # other flavours': tests that use them would build them again each time)
    for old in "$cache/base-$fl"*; do
        case $old in
        "$dir" | "$tarball") continue ;;
        esac
        rest=${old#"$cache/base-$fl"}
        [[ $rest =~ ^[0-9a-f]{16}(\.tar\.zst)?(\.tmp)?$ ]] || continue
        if [ -d "$old" ] && grep -qF "lowerdir=$old" /proc/self/mountinfo; then
            continue
        fi
        rm -rf "$old"
    done

    HOSTS_BASE_TARBALL=$tarball
    HOSTS_BASE_DIR=$dir
    HOSTS_KEY=$key
    export HOSTS_BASE_TARBALL HOSTS_BASE_DIR HOSTS_KEY
}

# --------------------------------------------------------------------------
# Bring-up

# _hosts_lock: one set of test hosts per machine (fixed names and addresses).
# The lock fd is not passed to nspawn or ssh.
_hosts_lock() {
    [ -z "${_HOSTS_LOCK_FD:-}" ] || return 0
    mkdir -p "$(dirname "$HOSTS_LOCK_FILE")"
    exec {_HOSTS_LOCK_FD}>"$HOSTS_LOCK_FILE"
    if ! flock -n "$_HOSTS_LOCK_FD"; then
        _hosts_say "waiting for another run's test hosts ($HOSTS_LOCK_FILE)"
        if ! flock -w "$HOSTS_LOCK_WAIT" "$_HOSTS_LOCK_FD"; then
            exec {_HOSTS_LOCK_FD}>&-
            _HOSTS_LOCK_FD=''
            _hosts_err "test hosts are in use by another run"
            return 1
        fi
    fi
}

# hosts_unlocked CMD...: runs CMD without the lock's descriptor, for what may outlive the test
# (a tmux server): holding it would keep every later run waiting for the lock.
hosts_unlocked() {
    if [ -n "${_HOSTS_LOCK_FD:-}" ]; then
        "$@" {_HOSTS_LOCK_FD}>&-
    else
        "$@"
    fi
}

_hosts_unlock() {
    [ -n "${_HOSTS_LOCK_FD:-}" ] || return 0
    exec {_HOSTS_LOCK_FD}>&-
    _HOSTS_LOCK_FD=''
}

_hosts_set_ipv6_off() { # [nsenter args...] IFACE
    local ifc=${*: -1}
    set -- "${@:1:$#-1}"
    # shellcheck disable=SC2016 # expanded by that sh
    "$@" sh -c 'f=/proc/sys/net/ipv6/conf/$1/disable_ipv6; [ ! -e "$f" ] || echo 1 >"$f"' sh "$ifc"
}

_hosts_bridge_up() {
    local other
    if ! ip link show "$HOSTS_BRIDGE" >/dev/null 2>&1; then
        other=$(ip -4 -o addr show to 10.240.0.0/24 | awk '{ print $2 }' | sort -u)
        if [ -n "$other" ]; then
            _hosts_err "10.240.0.0/24 is already in use on: $other"
            return 1
        fi
        ip link add "$HOSTS_BRIDGE" type bridge || return 1
    fi
    _hosts_set_ipv6_off env "$HOSTS_BRIDGE"
    if ! ip -4 -o addr show dev "$HOSTS_BRIDGE" | grep -q " $HOSTS_BRIDGE_IP/24 "; then
        ip addr add "$HOSTS_BRIDGE_IP/24" dev "$HOSTS_BRIDGE" || return 1
    fi
    ip link set "$HOSTS_BRIDGE" up
}

# _hosts_net_up I: netns with eth0 = 10.240.0.1I/24, veth peer on the bridge.
_hosts_net_up() {
    local i=$1 ns veth
    ns=$(_hosts_ns "$i")
    veth=$(_hosts_veth "$i")
    if [ ! -e /run/netns ] || ! mountpoint -q /run/netns; then
        : >"$_HOSTS_NETNS_MARK"
    fi
    ip netns add "$ns" || return 1
    ip link add "$veth" type veth peer name eth0 netns "$ns" || return 1
    _hosts_set_ipv6_off env "$veth"
    _hosts_set_ipv6_off nsenter --net="/run/netns/$ns" eth0
    ip link set "$veth" master "$HOSTS_BRIDGE" &&
        ip link set "$veth" up &&
        ip -n "$ns" link set lo up &&
        ip -n "$ns" addr add "$(_hosts_ip "$i")/24" dev eth0 &&
        ip -n "$ns" link set eth0 up
}

# _hosts_fs_up I: overlay root (shared lower, per-host upper) and hostname.
_hosts_fs_up() {
    local i=$1 d
    d=$HOSTS_WORKDIR/host-$i
    mkdir -p "$d/upper" "$d/work" "$d/merged"
    mount -t overlay "ks-controller-$i" \
        -o "lowerdir=$HOSTS_BASE_DIR,upperdir=$d/upper,workdir=$d/work" "$d/merged" ||
        { _hosts_err "could not mount the overlay for host $i"; return 1; }
    if [ -L "$d/merged/etc/hostname" ]; then
        rm -f "$d/merged/etc/hostname"
    fi
    _hosts_name "$i" >"$d/merged/etc/hostname"
    printf '\n' >>"$d/merged/etc/hostname"
    [ -s "$HOSTS_WORKDIR/host-$i.uuid" ] || uuidgen >"$HOSTS_WORKDIR/host-$i.uuid"
    export "HOST_ROOT_$i=$d/merged" "HOST_IP_$i=$(_hosts_ip "$i")"
}

# _hosts_start I: boots host I (background job of the current shell).
_hosts_start() {
    local i=$1 ns name cg r pid uuid
    ns=$(_hosts_ns "$i")
    name=$(_hosts_name "$i")
    cg=$ns
    uuid=$(cat "$HOSTS_WORKDIR/host-$i.uuid")
    _hosts_cgroup_remove "$i" || return 1
    while read -r r; do
        mkdir -p "$r/$cg" || return 1
    done < <(_hosts_cgroup_roots)
    printf '\n=== %s: boot %s\n' "$(date '+%F %T')" "$name" >>"$HOSTS_WORKDIR/host-$i.log"
    (
        if [ -n "${_HOSTS_LOCK_FD:-}" ]; then exec {_HOSTS_LOCK_FD}>&-; fi
        # own cgroup in every hierarchy, or all containers share one
        while read -r r; do
            echo "$BASHPID" >"$r/$cg/cgroup.procs"
        done < <(_hosts_cgroup_roots)
        export SYSTEMD_NSPAWN_UNIFIED_HIERARCHY=1
        exec systemd-nspawn -b -D "$HOSTS_WORKDIR/host-$i/merged" -M "$name" \
            --register=no --keep-unit --console=read-only --resolv-conf=off \
            --link-journal=no --setenv=SYSTEMD_COLORS=0 --network-namespace-path="/run/netns/$ns" --uuid="$uuid"
    ) </dev/null >>"$HOSTS_WORKDIR/host-$i.log" 2>&1 &
    pid=$!
    printf '%s\n' "$pid" >"$HOSTS_WORKDIR/host-$i.pid"
    unset "HOST_LEADER_$i"
}

# _hosts_wait_ready DEADLINE I...: polls until each host's systemd says
# running (or degraded: its failed units are printed) and sets HOST_LEADER_I.
_hosts_wait_ready() {
    local deadline=$1 i pid leader state pending v
    shift
    pending=" $* "
    while :; do
        for i in $pending; do
            pid=$(cat "$HOSTS_WORKDIR/host-$i.pid")
            if ! _hosts_alive "$pid"; then
                _hosts_err "host $i: systemd-nspawn exited during boot; end of $HOSTS_WORKDIR/host-$i.log:"
                tail -n 25 "$HOSTS_WORKDIR/host-$i.log" >&2
                return 1
            fi
            v=HOST_LEADER_$i
            leader=${!v:-}
            if [ -z "$leader" ] || ! _hosts_alive "$leader"; then
                leader=$(_hosts_leader "$pid") || continue
                export "HOST_LEADER_$i=$leader"
            fi
            state=$(nsenter -t "$leader" -a systemctl is-system-running 2>/dev/null) || true
            case $state in
            running) ;;
            degraded)
                _hosts_say "host $i is degraded; failed units:"
                nsenter -t "$leader" -a systemctl --failed --no-legend --plain 2>&1 |
                    sed 's/^/# hosts:   /' >&2 || true
                ;;
            *) continue ;;
            esac
            pending=${pending/ $i / }
        done
        [ -n "${pending// /}" ] || return 0
        if ! _hosts_before "$deadline"; then
            for i in $pending; do
                v=HOST_LEADER_$i
                leader=${!v:-}
                _hosts_err "host $i not running after ${HOSTS_BOOT_TIMEOUT} s (state: $(
                    [ -n "$leader" ] && nsenter -t "$leader" -a systemctl is-system-running 2>/dev/null
                ))"
                [ -n "$leader" ] && nsenter -t "$leader" -a systemctl list-jobs --no-pager >&2 2>&1
                tail -n 15 "$HOSTS_WORKDIR/host-$i.log" >&2
            done
            return 1
        fi
        sleep 0.05
    done
}

_hosts_ssh_opts() {
    local wd=$1 key=$2
    printf '%s' "-F /dev/null -i $key -o IdentitiesOnly=yes -o BatchMode=yes" \
        " -o StrictHostKeyChecking=no -o UserKnownHostsFile=/dev/null -o LogLevel=ERROR" \
        " -o ConnectTimeout=5 -o ControlMaster=auto -o ControlPath=$wd/ssh-%h -o ControlPersist=60"
}

# _hosts_master_start I: one ControlMaster per host, as a background job of
# this shell (see the header), so that host_ssh never daemonizes one.
_hosts_master_start() {
    local i=$1
    # shellcheck disable=SC2086 # option string; the first -o given wins
    (
        if [ -n "${_HOSTS_LOCK_FD:-}" ]; then exec {_HOSTS_LOCK_FD}>&-; fi
        exec ssh -o ControlMaster=yes -o ControlPersist=no $HOSTS_SSH_OPTS -N "root@$(_hosts_ip "$i")"
    ) </dev/null >>"$HOSTS_WORKDIR/host-$i.ssh.log" 2>&1 &
    printf '%s\n' "$!" >"$HOSTS_WORKDIR/host-$i.ssh.pid"
}

# _hosts_master_wait I...: waits until the masters of hosts I... accept.
_hosts_master_wait() {
    local i ip pid deadline
    deadline=$(_hosts_deadline 10)
    for i in "$@"; do
        ip=$(_hosts_ip "$i")
        pid=$(cat "$HOSTS_WORKDIR/host-$i.ssh.pid")
        # shellcheck disable=SC2086
        until ssh $HOSTS_SSH_OPTS -O check "root@$ip" >/dev/null 2>&1; do
            if ! _hosts_alive "$pid" || ! _hosts_before "$deadline"; then
                _hosts_err "ssh to host $i ($ip) failed:"
                cat "$HOSTS_WORKDIR/host-$i.ssh.log" >&2
                return 1
            fi
            sleep 0.02
        done
    done
}

_hosts_master_stop() {
    local i=$1 ip pid deadline
    [ -n "${HOSTS_WORKDIR:-}" ] || return 0
    ip=$(_hosts_ip "$i")
    if [ -S "$HOSTS_WORKDIR/ssh-$ip" ]; then
        # shellcheck disable=SC2086
        ssh ${HOSTS_SSH_OPTS:-} -o ControlPath="$HOSTS_WORKDIR/ssh-%h" -O exit "root@$ip" >/dev/null 2>&1 || true
    fi
    pid=$(cat "$HOSTS_WORKDIR/host-$i.ssh.pid" 2>/dev/null) || return 0
    if [ "$(_hosts_comm "$pid")" = ssh ]; then
        deadline=$(_hosts_deadline 5)
        while _hosts_alive "$pid" && _hosts_before "$deadline"; do sleep 0.02; done
        _hosts_alive "$pid" && kill -KILL "$pid" 2>/dev/null
        wait "$pid" 2>/dev/null || true
    fi
    rm -f "$HOSTS_WORKDIR/host-$i.ssh.pid" "$HOSTS_WORKDIR/ssh-$ip"
}

# hosts_up N WORKDIR: boots hosts 0..N-1 (controller-0..2, then lb-0).
hosts_up() {
    local n=${1:-} wd=${2:-} i t0 all=''
    case $n in
    [1-4]) ;;
    *) _hosts_err "usage: hosts_up N(1-$HOSTS_MAX) WORKDIR"; return 1 ;;
    esac
    [ -n "$wd" ] || { _hosts_err "usage: hosts_up N WORKDIR"; return 1; }
    [ "$(id -u)" = 0 ] || { _hosts_err "hosts_up needs root"; return 1; }
    mkdir -p "$wd" && wd=$(cd "$wd" && pwd) || return 1
    # ssh control sockets live in WORKDIR: sun_path is 108 bytes
    if [ "${#wd}" -gt 70 ]; then
        _hosts_err "WORKDIR path too long for ssh control sockets: $wd"
        return 1
    fi
    _hosts_lock || return 1
    _hosts_teardown || return 1   # leftovers of an earlier, killed run
    HOSTS_WORKDIR=$wd HOSTS_N=$n
    export HOSTS_WORKDIR HOSTS_N
    hosts_base "$HOSTS_CACHE_DIR" || return 1
    HOSTS_SSH_OPTS=$(_hosts_ssh_opts "$wd" "$HOSTS_KEY")
    export HOSTS_SSH_OPTS

    t0=$(_hosts_now)
    _hosts_bridge_up || { _hosts_err "could not set up bridge $HOSTS_BRIDGE"; return 1; }
    for ((i = 0; i < n; i++)); do
        _hosts_net_up "$i" || { _hosts_err "could not set up the network of host $i"; return 1; }
        _hosts_fs_up "$i" || return 1
        all="$all $i"
    done
    for i in $all; do
        _hosts_start "$i" || return 1
    done
    # shellcheck disable=SC2086
    _hosts_wait_ready "$(_hosts_deadline "$HOSTS_BOOT_TIMEOUT")" $all || return 1
    for i in $all; do
        _hosts_master_start "$i"
    done
    # shellcheck disable=SC2086
    _hosts_master_wait $all || return 1
    _hosts_say "$n host(s) up in $(_hosts_elapsed "$t0") s"
}

# --------------------------------------------------------------------------
# Using the hosts

_hosts_leader_of() {
    local v l=''
    case ${1:-} in
    [0-3]) v=HOST_LEADER_$1 && l=${!v:-} ;;
    esac
    if [ -z "$l" ] || ! _hosts_alive "$l"; then
        _hosts_err "host ${1:-?} is not running"
        return 1
    fi
    printf '%s\n' "$l"
}

# host_exec I CMD...: runs CMD as root inside host I (all its namespaces,
# a clean environment); stdin/stdout/stderr and exit status are CMD's.
host_exec() {
    local i=${1:-} l
    shift || true
    l=$(_hosts_leader_of "$i") || return 125
    [ $# -gt 0 ] || set -- /bin/bash -l
    nsenter -t "$l" -a -- env -i \
        PATH=/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin \
        HOME=/root USER=root LOGNAME=root LANG=C.UTF-8 TERM="${TERM:-dumb}" "$@"
}

# host_ssh I CMD...: ssh root@HOST_IP_I CMD... (words joined as by ssh).
host_ssh() {
    local i=${1:-}
    shift || true
    case $i in
    [0-3]) ;;
    *) _hosts_err "host_ssh: bad host '$i'"; return 255 ;;
    esac
    # shellcheck disable=SC2086,SC2029 # option string; CMD runs remotely
    ssh $HOSTS_SSH_OPTS "root@$(_hosts_ip "$i")" "$@"
}

# host_copy_in I SRC DEST: copies SRC into host I as DEST (a directory or a
# name ending in / gets SRC's base name), keeping mode and mtime; owner root.
# Goes through the container (paths resolve inside it, and /tmp and /run are
# its own).
host_copy_in() {
    local i=${1:-} src=${2:-} dest=${3:-} mode mtime
    if [ ! -f "$src" ] || [ -z "$dest" ]; then
        _hosts_err "usage: host_copy_in I SRC DEST (SRC a file)"
        return 1
    fi
    mode=$(stat -c %a "$src") && mtime=$(stat -c %Y "$src") || return 1
    # shellcheck disable=SC2016,SC2094 # expanded by that sh; SRC is only read
    host_exec "$i" /bin/sh -c '
        set -e
        d=$1
        case $d in */) d=$d$4 ;; esac
        [ ! -d "$d" ] || d=$d/$4
        mkdir -p "$(dirname "$d")"
        t=$d.ks-copy.$$
        cat >"$t"
        chmod "$2" "$t"
        touch -d "@$3" "$t"
        mv -f "$t" "$d"' sh "$dest" "$mode" "$mtime" "$(basename "$src")" <"$src"
}

# _hosts_stop I: clean poweroff (SIGTERM to nspawn), SIGKILL after
# HOSTS_STOP_TIMEOUT; waits until host I's cgroups are empty.
_hosts_stop() {
    local i=$1 pid='' p deadline left
    if [ -n "${HOSTS_WORKDIR:-}" ] && [ -f "$HOSTS_WORKDIR/host-$i.pid" ]; then
        pid=$(cat "$HOSTS_WORKDIR/host-$i.pid")
        [ "$(_hosts_comm "$pid")" = systemd-nspawn ] || pid=''
    fi
    if [ -z "$pid" ]; then # e.g. a killed run's hosts: find nspawn by cgroup
        for p in $(_hosts_cgroup_pids "$i"); do
            [ "$(_hosts_comm "$p")" = systemd-nspawn ] && pid=$p && break
        done
    fi
    if [ -n "$pid" ] && _hosts_alive "$pid"; then
        kill -TERM "$pid" 2>/dev/null || true
        deadline=$(_hosts_deadline "$HOSTS_STOP_TIMEOUT")
        while _hosts_alive "$pid" && _hosts_before "$deadline"; do sleep 0.05; done
    fi
    # anything left: container first (nspawn reaps it), then the rest
    left=$(_hosts_cgroup_pids "$i")
    if [ -n "$left" ]; then
        _hosts_say "host $i did not power off in time; killing it"
        for p in $left; do
            [ "$p" = "$pid" ] || kill -KILL "$p" 2>/dev/null || true
        done
        sleep 0.2
        [ -z "$pid" ] || kill -KILL "$pid" 2>/dev/null || true
        deadline=$(_hosts_deadline 5)
        while [ -n "$(_hosts_cgroup_pids "$i")" ] && _hosts_before "$deadline"; do sleep 0.05; done
    fi
    if [ -n "$pid" ]; then wait "$pid" 2>/dev/null || true; fi
    if [ -n "$(_hosts_cgroup_pids "$i")" ]; then
        _hosts_err "host $i: processes left in its cgroup: $(_hosts_cgroup_pids "$i" | tr '\n' ' ')"
        return 1
    fi
    unset "HOST_LEADER_$i"
}

# host_reboot I: systemctl reboot inside host I; nspawn exits (status 133);
# boots it again on the same overlay (same upper dir, same machine uuid) and
# waits until it is running.
host_reboot() {
    local i=${1:-} pid deadline t0
    _hosts_leader_of "$i" >/dev/null || return 1
    t0=$(_hosts_now)
    pid=$(cat "$HOSTS_WORKDIR/host-$i.pid")
    _hosts_master_stop "$i"
    host_exec "$i" systemctl reboot || true
    deadline=$(_hosts_deadline "$HOSTS_STOP_TIMEOUT")
    while _hosts_alive "$pid" && _hosts_before "$deadline"; do sleep 0.05; done
    _hosts_stop "$i" || return 1
    _hosts_start "$i" || return 1
    _hosts_wait_ready "$(_hosts_deadline "$HOSTS_BOOT_TIMEOUT")" "$i" || return 1
    _hosts_master_start "$i"
    _hosts_master_wait "$i" || return 1
    _hosts_say "host $i rebooted in $(_hosts_elapsed "$t0") s"
}

# _hosts_overlay_mounts: mount points of the overlays of this run's WORKDIR
# and of any other overlay on the cached base (a killed run's).
_hosts_overlay_mounts() {
    awk -v wd="${HOSTS_WORKDIR:-/nonexistent}/host-" -v cache="lowerdir=$HOSTS_CACHE_DIR/base-" '
        {
            for (k = 7; k <= NF && $k != "-"; k++) ;
            if ($(k + 1) == "overlay" && (index($5, wd) == 1 || index($(k + 3), cache)))
                print $5
        }' /proc/self/mountinfo
}

# hosts_down: stops every test host and removes everything hosts_up made
# (processes, overlay mounts, cgroups, veths, netns, bridge).  Idempotent.
hosts_down() {
    local rc=0
    _hosts_teardown || rc=1
    _hosts_unlock
    return "$rc"
}

_hosts_teardown() {
    local i rc=0 m ns veth
    for ((i = 0; i < HOSTS_MAX; i++)); do
        _hosts_master_stop "$i"
        _hosts_stop "$i" || rc=1
    done
    # overlays: ours in WORKDIR, and any other on the cached base (killed runs)
    while read -r m; do
        umount "$m" 2>/dev/null || umount -l "$m" || rc=1
    done < <(_hosts_overlay_mounts)
    for ((i = 0; i < HOSTS_MAX; i++)); do
        _hosts_cgroup_remove "$i" || rc=1
        ns=$(_hosts_ns "$i")
        veth=$(_hosts_veth "$i")
        if ip link show "$veth" >/dev/null 2>&1; then ip link del "$veth" || rc=1; fi
        if [ -e "/run/netns/$ns" ]; then ip netns del "$ns" || rc=1; fi
        unset "HOST_ROOT_$i" "HOST_IP_$i" "HOST_LEADER_$i"
    done
    if ip link show "$HOSTS_BRIDGE" >/dev/null 2>&1; then ip link del "$HOSTS_BRIDGE" || rc=1; fi
    # our first "ip netns add" made /run/netns a mount point: undo that
    if [ -e "$_HOSTS_NETNS_MARK" ]; then
        if mountpoint -q /run/netns && [ -z "$(ls -A /run/netns)" ]; then
            umount /run/netns || rc=1
        fi
        rm -f "$_HOSTS_NETNS_MARK"
    fi
    return "$rc"
}
