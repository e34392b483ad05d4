#!/bin/bash
# test/sys/hosts-selftest.sh - TAP self-test of test/lib/hosts.sh: boots three
# Debian hosts (systemd-nspawn, real systemd, sshd, nginx) on the test bridge,
# checks networking, ssh, file copy, the runtime libraries of kubestrap,
# sd-bus from the machine, a reboot, and that hosts_down leaves nothing.
#
# Needs root; exits 77 (skip) without it or without systemd-nspawn, overlayfs,
# network namespaces or writable cgroups.  Missing machine-side packages are
# installed with hosts_deps unless KS_TEST_NO_INSTALL=1.  The first run builds
# the cached base rootfs (debootstrap, about a minute).  KS_TEST_KEEP=1 keeps
# the work directory (logs) after the run.
set -eu

here=$(cd "$(dirname "$0")/.." && pwd)
# shellcheck source=test/lib/tap.sh
. "$here/lib/tap.sh"
# shellcheck source=test/lib/hosts.sh
. "$here/lib/hosts.sh"

skip_all() {
    echo "1..0 # SKIP $*"
    exit 0 # TAP: the "1..0 # SKIP" plan says it; 77 would be an error under tap-driver
}

now() { printf '%s' "$EPOCHREALTIME"; }
since() { awk -v a="$1" -v b="$EPOCHREALTIME" 'BEGIN { printf "%.2f", b - a }'; }

# --- can this machine do it? ------------------------------------------------
[ "${KS_SYSTEM_TESTS:-}" != skip ] || skip_all "KS_SYSTEM_TESTS=skip (they ran in the main pass)"
[ "$(id -u)" = 0 ] || skip_all "needs root"

missing_tools() {
    local t m=''
    for t in systemd-nspawn nsenter unshare ip zstd uuidgen ssh ssh-keygen flock mountpoint curl; do
        command -v "$t" >/dev/null 2>&1 || m="$m $t"
    done
    printf '%s' "$m"
}
missing=$(missing_tools)
if [ -n "$missing" ] && [ "${KS_TEST_NO_INSTALL:-0}" != 1 ] && command -v apt-get >/dev/null; then
    hosts_deps >/dev/null 2>&1 || true
    missing=$(missing_tools)
fi
[ -z "$missing" ] || skip_all "missing:$missing (run hosts_deps from test/lib/hosts.sh)"

if ! grep -qw overlay /proc/filesystems; then
    modprobe overlay 2>/dev/null || true
    grep -qw overlay /proc/filesystems || skip_all "no overlayfs in this kernel"
fi
unshare --net true 2>/dev/null || skip_all "cannot create network namespaces"
cgroots=$(_hosts_cgroup_roots)
[ -n "$cgroots" ] || skip_all "no usable cgroup hierarchy under /sys/fs/cgroup"
for r in $cgroots; do
    if ! mkdir "$r/ks-probe-$$" 2>/dev/null || ! rmdir "$r/ks-probe-$$"; then
        skip_all "cannot create cgroups in $r"
    fi
done
if ! command -v debootstrap >/dev/null && ! ls "$HOSTS_CACHE_DIR"/base-*.tar.zst >/dev/null 2>&1; then
    skip_all "no cached base rootfs and no debootstrap to build one"
fi

# --- bring-up ---------------------------------------------------------------
netns_was_mounted=0
mountpoint -q /run/netns 2>/dev/null && netns_was_mounted=1

wd=$(mktemp -d /tmp/ks-hosts.XXXXXX)
# shellcheck disable=SC2317 # invoked by the EXIT trap
cleanup() {
    hosts_down || true
    if [ "${KS_TEST_KEEP:-0}" = 1 ]; then
        echo "# kept $wd"
    else
        rm -rf "$wd"
    fi
}
trap cleanup EXIT

t=$(now)
if hosts_base; then
    tap_pass "hosts_base: cached base rootfs"
else
    tap_bail "hosts_base failed (mirror unreachable?)"
fi
tap_diag "base ready: $(since "$t") s ($HOSTS_BASE_TARBALL)"

t=$(now)
if hosts_up 3 "$wd"; then
    tap_pass "hosts_up 3"
else
    tap_bail "hosts_up failed; logs in $wd (KS_TEST_KEEP=1 keeps them)"
fi
tap_diag "boot of 3 hosts: $(since "$t") s"

for v in HOSTS_SSH_OPTS HOSTS_KEY HOSTS_WORKDIR HOST_ROOT_0 HOST_LEADER_0 HOST_IP_0 \
    HOST_ROOT_2 HOST_LEADER_2 HOST_IP_2; do
    tap_like "$(env | grep "^$v=" || true)" "^$v=." "$v exported"
done
tap_like "$HOSTS_SSH_OPTS" "ControlPath=$wd/" "ssh control sockets in WORKDIR"
tap_is "$(stat -c %a "$HOSTS_KEY")" 600 "private key mode 0600"

# --- each host ----------------------------------------------------------------
mids=''
for i in 0 1 2; do
    ip=10.240.0.1$i
    rootv=HOST_ROOT_$i ipv=HOST_IP_$i
    tap_is "${!ipv}" "$ip" "host $i: HOST_IP_$i"
    tap_ok "host $i: HOST_ROOT_$i is the overlay root" test -x "${!rootv}/usr/lib/systemd/systemd"
    state=$(host_exec "$i" systemctl is-system-running 2>&1 || true)
    tap_is "$state" running "host $i: systemctl is-system-running"
    tap_like "$(host_exec "$i" ip -4 -o addr show dev eth0 2>&1 || true)" " $ip/24 " "host $i: $ip/24 on eth0"
    tap_like "$(ip -o link show master "$HOSTS_BRIDGE" 2>&1 || true)" ": ksv-c$i@" "host $i: veth on $HOSTS_BRIDGE"
    tap_unlike "$(host_exec "$i" ip route 2>&1 || true)" '^default|via' "host $i: no route outward"
    if command -v ping >/dev/null; then
        tap_ok "host $i: ping from the machine" ping -c 1 -W 2 "$ip"
    else
        tap_skip "host $i: ping from the machine" "ping not installed"
    fi
    tap_like "$(curl -sS --noproxy '*' -m 5 "http://$ip/" 2>&1 || true)" 'Welcome to nginx' \
        "host $i: curl http://$ip/ reaches nginx"
    tap_is "$(host_ssh "$i" hostname 2>&1 || true)" "controller-$i" "host $i: ssh root@$ip hostname"
    mid=$(host_ssh "$i" cat /etc/machine-id 2>&1 || true)
    tap_like "$mid" '^[0-9a-f]{32}$' "host $i: machine-id over ssh"
    mids="$mids$mid"$'\n'
done
tap_is "$(printf '%s' "$mids" | sort -u | grep -c .)" 3 "machine-ids differ"
tap_like "$(host_ssh 0 'ssh -V' 2>&1 || true)" 'OpenSSH' "ssh command output comes back"
tap_is "$(host_exec 1 getent hosts controller-2 2>&1 | awk '{ print $1 }' || true)" 10.240.0.12 \
    "hosts know each other by name"
tap_ok "host 1 reaches nginx on host 2 over the bridge" \
    host_exec 1 curl -fsS -o /dev/null -m 5 http://controller-2/

t=$(now)
for _ in 1 2 3 4 5 6 7 8 9 10; do host_ssh 0 true; done
tap_diag "ssh true (ControlMaster): $(awk -v s="$(since "$t")" 'BEGIN { printf "%.0f", s * 100 }') ms each"

# --- host_copy_in -----------------------------------------------------------
src=$wd/copy-src
printf 'copied %s\n' "$RANDOM" >"$src"
chmod 0750 "$src"
tap_ok "host_copy_in to a file" host_copy_in 1 "$src" /root/ks-copied
tap_is "$(host_ssh 1 'stat -c %a /root/ks-copied; cat /root/ks-copied' 2>&1 || true)" \
    "$(printf '750\n%s' "$(cat "$src")")" "copied file visible over ssh, mode kept"
tap_ok "host_copy_in to a directory in the host's own /tmp" host_copy_in 1 "$src" /tmp/
tap_is "$(host_ssh 1 cat /tmp/copy-src 2>&1 || true)" "$(cat "$src")" "copy in /tmp/ visible over ssh"

# --- runtime libraries: a program built here runs there ----------------------
cdir=$wd/libcheck
mkdir "$cdir"
cat >"$cdir/libcheck.c" <<'EOF'
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <archive.h>
#include <curl/curl.h>
#include <yaml.h>
#include <openssl/crypto.h>
#include <openssl/ssl.h>
#include <systemd/sd-bus.h>
#include <systemd/sd-id128.h>

int main(int argc, char **argv)
{
        yaml_parser_t yp;
        sd_id128_t id;
        SSL_CTX *ctx;
        CURL *c;

        if (!yaml_parser_initialize(&yp))
                return fprintf(stderr, "libyaml failed\n"), 1;
        yaml_parser_delete(&yp);
        if (curl_global_init(CURL_GLOBAL_DEFAULT) != 0 || !(c = curl_easy_init()))
                return fprintf(stderr, "curl failed\n"), 1;
        curl_easy_cleanup(c);
        if (!(ctx = SSL_CTX_new(TLS_client_method())))
                return fprintf(stderr, "openssl failed\n"), 1;
        SSL_CTX_free(ctx);
        if (sd_id128_get_machine(&id) < 0)
                return fprintf(stderr, "sd_id128_get_machine failed\n"), 1;
        printf("curl=%s archive=%s openssl=%s yaml=%s machine=" SD_ID128_FORMAT_STR "\n",
               curl_version_info(CURLVERSION_NOW)->version, archive_version_string(),
               OpenSSL_version(OPENSSL_VERSION), yaml_get_version_string(),
               SD_ID128_FORMAT_VAL(id));
        if (argc > 1 && strcmp(argv[1], "bus") == 0) {
                sd_bus_error err = SD_BUS_ERROR_NULL;
                sd_bus *bus = NULL;
                char *ver = NULL, *virt = NULL;
                int r = sd_bus_open_system(&bus);
                if (r < 0)
                        return fprintf(stderr, "sd_bus_open_system: %s\n", strerror(-r)), 1;
                r = sd_bus_get_property_string(bus, "org.freedesktop.systemd1", "/org/freedesktop/systemd1",
                                               "org.freedesktop.systemd1.Manager", "Version", &err, &ver);
                if (r >= 0)
                        r = sd_bus_get_property_string(bus, "org.freedesktop.systemd1",
                                                       "/org/freedesktop/systemd1",
                                                       "org.freedesktop.systemd1.Manager", "Virtualization",
                                                       &err, &virt);
                if (r < 0)
                        return fprintf(stderr, "get-property: %s\n", err.message ? err.message : strerror(-r)), 1;
                printf("systemd=%s virtualization=%s\n", ver, virt);
                free(ver);
                free(virt);
                sd_bus_unref(bus);
        }
        curl_global_cleanup();
        return 0;
}
EOF
cflags=''
if command -v gcc >/dev/null && command -v pkg-config >/dev/null &&
    cflags=$(pkg-config --cflags --libs libcurl libarchive libsystemd libssl libcrypto yaml-0.1 2>&1); then
    # shellcheck disable=SC2086 # pkg-config output
    if gcc -O2 -Wall -o "$cdir/libcheck" "$cdir/libcheck.c" $cflags >"$cdir/gcc.log" 2>&1; then
        tap_pass "libcheck built on the machine"
        tap_ok "host_copy_in libcheck" host_copy_in 2 "$cdir/libcheck" /usr/local/bin/ks-libcheck
        out=$(host_ssh 2 ks-libcheck bus 2>&1 || true)
        tap_like "$out" '^curl=[0-9.]+ archive=libarchive [0-9.]+ openssl=OpenSSL 3\.[^ ]* .* yaml=0\.[0-9.]+ machine=[0-9a-f]{32}$' \
            "libcurl, libarchive, libssl, libyaml, libsystemd load inside host 2"
        tap_like "$out" '^systemd=252.* virtualization=systemd-nspawn$' "sd-bus inside host 2"
        tap_unlike "$(host_exec 2 ldd /usr/local/bin/ks-libcheck 2>&1 || true)" 'not found' \
            "ldd inside host 2: no missing library"
        # sd_bus_open_system() from the machine, to a container's systemd
        out=$(DBUS_SYSTEM_BUS_ADDRESS="unix:path=/proc/$HOST_LEADER_2/root/run/dbus/system_bus_socket" \
            "$cdir/libcheck" bus 2>&1 || true)
        tap_like "$out" 'virtualization=systemd-nspawn$' "sd_bus_open_system from the machine reaches host 2"
    else
        tap_fail "libcheck built on the machine" "$(tail -n 20 "$cdir/gcc.log")"
    fi
else
    tap_skip "libcheck built on the machine" "gcc, pkg-config or -dev packages missing: $cflags"
fi

# --- sd-bus with busctl ---------------------------------------------------------
for i in 0 1 2; do
    lv=HOST_LEADER_$i
    bus="unix:path=/proc/${!lv}/root/run/dbus/system_bus_socket"
    tap_like "$(busctl --address="$bus" get-property org.freedesktop.systemd1 /org/freedesktop/systemd1 \
        org.freedesktop.systemd1.Manager Version 2>&1 || true)" '^s "252' \
        "host $i: busctl --address reaches its systemd"
done
tap_is "$(DBUS_SYSTEM_BUS_ADDRESS="unix:path=/proc/$HOST_LEADER_1/root/run/dbus/system_bus_socket" \
    busctl get-property org.freedesktop.hostname1 /org/freedesktop/hostname1 \
    org.freedesktop.hostname1 Hostname 2>&1 || true)" 's "controller-1"' \
    "DBUS_SYSTEM_BUS_ADDRESS: hostnamed of host 1"

# --- reboot -------------------------------------------------------------------
leader_before=$HOST_LEADER_1
mid_before=$(host_exec 1 cat /etc/machine-id || true)
host_exec 1 touch /run/ks-before-reboot /root/ks-persists
t=$(now)
tap_ok "host_reboot 1" host_reboot 1
tap_diag "reboot of host 1: $(since "$t") s"
tap_is "$(host_exec 1 systemctl is-system-running 2>&1 || true)" running "host 1 running after reboot"
tap_unlike "$HOST_LEADER_1" "^$leader_before\$" "host 1 has a new init"
tap_ok "host 1: /run is fresh after reboot" host_exec 1 test ! -e /run/ks-before-reboot
tap_ok "host 1: the overlay kept /root" host_ssh 1 test -e /root/ks-persists -a -e /root/ks-copied
tap_is "$(host_ssh 1 cat /etc/machine-id 2>&1 || true)" "$mid_before" "host 1: same machine-id after reboot"
tap_like "$(curl -sS --noproxy '*' -m 5 http://10.240.0.11/ 2>&1 || true)" 'Welcome to nginx' \
    "host 1: nginx answers after reboot"
tap_is "$(host_exec 0 systemctl is-system-running 2>&1 || true)" running "host 0 unaffected"

# --- teardown -----------------------------------------------------------------
nspawn_pids=$(cat "$wd"/host-*.pid)
t=$(now)
tap_ok "hosts_down" hosts_down
tap_diag "hosts_down: $(since "$t") s"
tap_ok "hosts_down again" hosts_down

tap_is "$(ip netns list 2>/dev/null | grep -c '^ks-controller-' || true)" 0 "no netns ks-controller-* left"
tap_ok "no bridge $HOSTS_BRIDGE left" sh -c "! ip link show $HOSTS_BRIDGE 2>/dev/null"
tap_is "$(ip -o link show 2>/dev/null | grep -c ': ksv-c' || true)" 0 "no veth left"
tap_is "$(awk -v wd="$wd" -v c="$HOSTS_CACHE_DIR" 'index($5, wd) == 1 || index($0, c)' /proc/self/mountinfo)" "" \
    "no mounts left in WORKDIR or on the cache"
if [ "$netns_was_mounted" = 0 ]; then
    tap_ok "/run/netns is no mount point any more" sh -c '! mountpoint -q /run/netns'
fi
left=''
for p in /proc/[0-9]*; do
    [ "${p#/proc/}" = "$$" ] && continue
    c=$(cat "$p/comm" 2>/dev/null) || continue
    case $c in
    systemd-nspawn) left="$left ${p#/proc/}:$c" ;;
    esac
    if tr '\0' ' ' <"$p/cmdline" 2>/dev/null | grep -qF "$wd"; then
        left="$left ${p#/proc/}:$c"
    fi
done
tap_is "$left" "" "no systemd-nspawn or WORKDIR process left"
gone=1
for p in $nspawn_pids; do [ ! -e "/proc/$p" ] || gone=0; done
tap_is "$gone" 1 "nspawn processes reaped (no zombies)"
tap_is "$(for r in $cgroots; do ls -d "$r"/ks-controller-* 2>/dev/null; done)" "" "no cgroup dirs left"

tap_done
