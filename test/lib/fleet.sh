# shellcheck shell=bash
# test/lib/fleet.sh - many lightweight hosts for fan-out: each a network namespace on the test
# bridge with its own sshd, no systemd. Enough for verbs that need no service manager (plan,
# fetch, verify of a --root tree); bench/fleet and test/sys/sys-fleet.sh use it.
#
#   . "$top_srcdir/test/lib/hosts.sh"; . "$top_srcdir/test/lib/fleet.sh"
#   trap 'fleet_down' EXIT
#   fleet_up 100 "$wd"              # in the main shell, not in $(...)
#   fleet_conf "$wd/fleet.conf" 100 "$MIRROR_EXTRA_URL" "$MIRROR_CA" "$wd/pki"
#
# Every sshd runs chrooted in one overlay of the booted test hosts' cached base (hosts_base:
# the same Debian, sshd, runtime libraries and root key), with $KUBESTRAP as
# /usr/local/bin/kubestrap; nothing is installed on the machine. Host I plans and fetches into
# its own --root, /srv/fleet/hI in that overlay (FLEET_ROOT/srv/fleet/hI from the machine),
# named by sshd's SetEnv KS_FLEET_ROOT; fleet_conf's remote-command passes it on.
#
# Addressing: the booted hosts use 10.240.0.0/24 on bridge ksbr0; the fleet adds
# 10.240.1.1/24 (FLEET_GW) to the same bridge and puts host I at 10.240.1.(10+I), I < 240, in
# network namespace ks-fleet-I (veth ksv-fI). Bring-up takes the machine lock of hosts.sh
# (the sys tests' hosts and a fleet never share the bridge), fleet_down gives it back.

FLEET_NET=10.240.1
FLEET_GW=$FLEET_NET.1
FLEET_MAX=240

fleet_ns() { printf 'ks-fleet-%s' "$1"; }
fleet_ip() { printf '%s.%s' "$FLEET_NET" $((10 + $1)); }
_fleet_say() { printf '# fleet: %s\n' "$*" >&2; }

# _fleet_teardown: every sshd, namespace, veth and overlay of a fleet, also a killed run's (by
# name), and the bridge.
_fleet_teardown() {
        local ns pid m
        for ns in $(ip netns list 2>/dev/null | awk '$1 ~ /^ks-fleet-/ { print $1 }'); do
                for pid in $(ip netns pids "$ns" 2>/dev/null); do kill "$pid" 2>/dev/null || true; done
        done
        sleep 0.2
        for ns in $(ip netns list 2>/dev/null | awk '$1 ~ /^ks-fleet-/ { print $1 }'); do
                for pid in $(ip netns pids "$ns" 2>/dev/null); do kill -KILL "$pid" 2>/dev/null || true; done
                ip link del "ksv-f${ns#ks-fleet-}" 2>/dev/null || true
                ip netns del "$ns" || true
        done
        while read -r m; do umount "$m" 2>/dev/null || umount -l "$m" || true; done < <(
                awk '$5 ~ "^/tmp/[^/]*/fleet-root" { print $5 }' /proc/self/mountinfo | sort -r)
        _hosts_teardown >/dev/null 2>&1 || true
}

# fleet_down: stops the fleet and gives the machine lock back. Idempotent.
fleet_down() {
        _fleet_teardown
        _hosts_unlock
}

# fleet_up N WORKDIR: hosts 0..N-1 up, each sshd listening. Sets FLEET_ROOT and FLEET_N.
fleet_up() {
        local n=${1:-} wd=${2:-} i ns r _
        case $n in '' | *[!0-9]*) n=0 ;; esac
        if [ "$n" -lt 1 ] || [ "$n" -gt "$FLEET_MAX" ] || [ -z "$wd" ]; then
                _hosts_err "usage: fleet_up N(1-$FLEET_MAX) WORKDIR"
                return 1
        fi
        _hosts_lock || return 1
        _fleet_teardown
        hosts_base "$HOSTS_CACHE_DIR" >/dev/null || return 1
        r=$wd/fleet-root
        mkdir -p "$wd/fleet-upper" "$wd/fleet-work" "$r"
        mount -t overlay ks-fleet -o "lowerdir=$HOSTS_BASE_DIR,upperdir=$wd/fleet-upper,workdir=$wd/fleet-work" "$r" ||
                { _hosts_err "could not mount the fleet's overlay"; return 1; }
        mount --rbind /dev "$r/dev" && mount --rbind /proc "$r/proc" || return 1
        install -m 0755 "$KUBESTRAP" "$r/usr/local/bin/kubestrap" || return 1
        mkdir -p "$r/run/sshd" "$r/srv/fleet"
        FLEET_ROOT=$r FLEET_N=$n
        export FLEET_ROOT FLEET_N

        _hosts_bridge_up || { _hosts_err "could not set up bridge $HOSTS_BRIDGE"; return 1; }
        ip addr add "$FLEET_GW/24" dev "$HOSTS_BRIDGE" || return 1
        for ((i = 0; i < n; i++)); do
                ns=$(fleet_ns "$i")
                ip netns add "$ns" &&
                        ip link add "ksv-f$i" type veth peer name eth0 netns "$ns" &&
                        ip link set "ksv-f$i" master "$HOSTS_BRIDGE" up &&
                        ip -n "$ns" link set lo up &&
                        ip -n "$ns" addr add "$(fleet_ip "$i")/24" dev eth0 &&
                        ip -n "$ns" link set eth0 up ||
                        { _hosts_err "could not set up the network of fleet host $i"; return 1; }
                mkdir -p "$r/srv/fleet/h$i"
                # no PAM: pam_systemd would wait for a logind that is not there
                ip netns exec "$ns" chroot "$r" /usr/sbin/sshd -D -e -o UsePAM=no -o PidFile=none \
                        -o LogLevel=ERROR -o "SetEnv=KS_FLEET_ROOT=/srv/fleet/h$i" \
                        -o "ListenAddress=$(fleet_ip "$i")" 2>>"$wd/fleet-sshd.log" &
        done
        for ((i = 0; i < n; i++)); do
                for _ in $(seq 100); do
                        ip netns exec "$(fleet_ns "$i")" bash -c "exec 3<>/dev/tcp/$(fleet_ip "$i")/22" 2>/dev/null &&
                                continue 2
                        sleep 0.1
                done
                _hosts_err "the sshd of fleet host $i does not listen (see $wd/fleet-sshd.log)"
                return 1
        done
        _fleet_say "$n host(s) up"
}

# fleet_conf OUT N MIRROR_URL MIRROR_CA PKI_DIR: the example configuration pointed at the
# mirror and the PKI, with hosts fleet-0..fleet-(N-1) and how to reach them.
fleet_conf() {
        local c=$1 n=$2 i
        sed -e "s|^version = .*|version = v1.21.0|" -e "s|^base-url = .*|base-url = $3|" \
                -e "s|^;ca-file = .*|ca-file = $4|" -e "s|^source-dir = .*|source-dir = $5|" \
                -e "s|^public-address = .*|public-address = $(fleet_ip 0)|" \
                "$top_srcdir/examples/controller-0.conf" >"$c" || return 1
        {
                # shellcheck disable=SC2016 # expanded by the remote shell
                printf '\n[fanout]\nremote-command = kubestrap --root "$KS_FLEET_ROOT"\n'
                printf 'ssh-options = -F /dev/null -i %s -o LogLevel=ERROR\n' "$HOSTS_KEY"
                printf 'ssh-options = -o StrictHostKeyChecking=no -o UserKnownHostsFile=/dev/null\n'
                printf 'ssh-options = -o KexAlgorithms=curve25519-sha256 -o ConnectTimeout=30\n'
                for ((i = 0; i < n; i++)); do
                        printf '\n[host fleet-%s]\naddress = root@%s\ninternal-ip = %s\n' "$i" "$(fleet_ip "$i")" "$(fleet_ip "$i")"
                done
        } >>"$c"
        chmod 0644 "$c"
}
