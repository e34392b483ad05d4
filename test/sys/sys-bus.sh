#!/bin/bash
# test/sys/sys-bus.sh - TAP system test of src/sys/bus.c and src/sys/journal.c against the real systemd of
# a booted test host (test/lib/hosts.sh), through the test/sys/test-bus-hosts CLI: from the machine
# over the host's bus socket and journal directory, and inside the host itself.
#
# Needs root and a machine that can boot the test hosts; exits 77 (skip) otherwise.
# KS_TEST_KEEP=1 keeps the work directory (host logs) afterwards.
set -eu

: "${top_srcdir:=$(cd "$(dirname "$0")/../.." && pwd)}"
: "${top_builddir:=$top_srcdir}"
TB=${TEST_BUS_HOSTS:-$top_builddir/test/sys/test-bus-hosts}

# shellcheck source=test/lib/tap.sh
. "$top_srcdir/test/lib/tap.sh"
# shellcheck source=test/lib/hosts.sh
. "$top_srcdir/test/lib/hosts.sh"

skip_all() {
    echo "1..0 # SKIP $*"
    exit 0 # TAP: the "1..0 # SKIP" plan says it; 77 would be an error under tap-driver
}

[ "${KS_SYSTEM_TESTS:-}" != skip ] || skip_all "KS_SYSTEM_TESTS=skip (they ran in the main pass)"
[ "$(id -u)" = 0 ] || skip_all "needs root"
[ -x "$TB" ] || skip_all "$TB is not built"
command -v systemd-nspawn >/dev/null || skip_all "no systemd-nspawn (hosts_deps installs it)"
if ! command -v debootstrap >/dev/null && ! ls "$HOSTS_CACHE_DIR"/base-*.tar.zst >/dev/null 2>&1; then
    skip_all "no cached base rootfs and no debootstrap to build one"
fi

wd=$(mktemp -d /tmp/ks-bus.XXXXXX)
# shellcheck disable=SC2317 # invoked by the EXIT trap
cleanup() {
    hosts_down || true
    if [ "${KS_TEST_KEEP:-0}" = 1 ]; then echo "# kept $wd"; else rm -rf "$wd"; fi
}
trap cleanup EXIT

t_start=$EPOCHREALTIME
hosts_up 1 "$wd" || skip_all "the test host did not boot (logs: KS_TEST_KEEP=1)"
tap_diag "host up in $(awk -v a="$t_start" -v b="$EPOCHREALTIME" 'BEGIN { printf "%.2f", b - a }') s"

BUS=unix:path=/proc/$HOST_LEADER_0/root/run/dbus/system_bus_socket
UNITDIR=/etc/systemd/system

# tb ARGS...: runs the CLI from the machine against host 0's systemd; its output in OUT,
# wall time in MS.
tb() {
    local t0=$EPOCHREALTIME
    OUT=$(DBUS_SYSTEM_BUS_ADDRESS=$BUS "$TB" "$@" 2>&1) || true
    MS=$(awk -v a="$t0" -v b="$EPOCHREALTIME" 'BEGIN { printf "%d", (b - a) * 1000 }')
}
# tb_in ARGS...: the same, run inside host 0 (its own bus and journal).
tb_in() {
    OUT=$(host_exec 0 /usr/local/bin/test-bus-hosts "$@" 2>&1) || true
}
# val KEY: the value of KEY=... in OUT.
val() { printf '%s\n' "$OUT" | sed -n "s/^$1=//p" | tail -n 1; }
# status UNIT: tb status UNIT, fields then available through val.
status() { tb status "$1"; }

# unit NAME: writes stdin to host 0's /etc/systemd/system/NAME.
# shellcheck disable=SC2016 # $1 is expanded by the host's sh
unit() { host_exec 0 sh -c 'cat >"$1"' sh "$UNITDIR/$1"; }

# --- a unit that does not exist ----------------------------------------------
tb status ks-nope.service
tap_is "$(val rc)" ENOENT "status of an unknown unit: ENOENT"
tap_like "$(val message)" 'ks-nope\.service' "  the error message names the unit"
tb start ks-nope.service
tap_is "$(val rc)" ENOENT "start of an unknown unit: ENOENT"
tap_like "$(val message)" 'ks-nope\.service' "  the error message names the unit"

# --- units --------------------------------------------------------------------
install='[Install]
WantedBy=multi-user.target'
printf '[Unit]\nDescription=ks-ok v1\n[Service]\nExecStart=/bin/sleep infinity\n%s\n' "$install" | unit ks-ok.service
# In a unit file "$$" stands for one "$", so the shell's $$ is written "$$$$".
# shellcheck disable=SC2016 # the $ are for systemd and the unit's shell
printf '[Service]\nExecStart=/bin/sh -c %s\nRestart=on-failure\nRestartSec=200ms\n%s\n' \
    "'echo boom-\$\$\$\$; exit 3'" "$install" | unit ks-crash.service
# Type=oneshot: for Type=simple the start job is "done" as soon as the process is forked, so
# /bin/false would never make it "failed".
printf '[Service]\nType=oneshot\nExecStart=/bin/false\n%s\n' "$install" | unit ks-fail.service
printf '[Unit]\nRequires=ks-fail.service\nAfter=ks-fail.service\n[Service]\nExecStart=/bin/sleep infinity\n' |
    unit ks-dep.service
printf '[Service]\nType=oneshot\nExecStart=/bin/sleep 60\n' | unit ks-slow.service

# --- reload -------------------------------------------------------------------
tb reload
tap_is "$(val rc)" 0 "reload"
status ks-ok.service
tap_is "$(val load_state)/$(val fragment_path)" "loaded/$UNITDIR/ks-ok.service" "ks-ok.service loaded from $UNITDIR"

# --- enable -------------------------------------------------------------------
tb enable ks-ok.service ks-crash.service ks-fail.service
tap_is "$(val rc)/$(val changed)" 0/1 "enable: changed"
wants=$HOST_ROOT_0$UNITDIR/multi-user.target.wants
links=''
for u in ks-ok ks-crash ks-fail; do links="$links$(readlink "$wants/$u.service" || echo missing) "; done
tap_is "$links" "$UNITDIR/ks-ok.service $UNITDIR/ks-crash.service $UNITDIR/ks-fail.service " \
    "enable: symlinks in multi-user.target.wants"
tb enable ks-ok.service ks-crash.service ks-fail.service
tap_is "$(val rc)/$(val changed)" 0/0 "enable again: unchanged"
tb enable ks-nope.service
tap_is "$(val rc)" ENOENT "enable of an unknown unit: ENOENT"
tap_like "$(val message)" 'ks-nope\.service' "  the error message names the unit"

# --- start, restart ---------------------------------------------------------
tb start ks-ok.service
tap_is "$(val rc)/$(val result.ks-ok.service)" 0/done "start ks-ok: done"
status ks-ok.service
tap_is "$(val active_state)/$(val sub_state)" active/running "ks-ok active/running"
pid1=$(val main_pid) enter1=$(val active_enter_usec)
tap_like "$pid1" '^[1-9][0-9]*$' "ks-ok has a MainPID"
tap_is "$(host_exec 0 cat "/proc/$pid1/comm" 2>&1)" sleep "  and it is the sleep inside the host"
tb restart ks-ok.service
tap_is "$(val rc)/$(val result.ks-ok.service)" 0/done "restart ks-ok: done"
status ks-ok.service
pid2=$(val main_pid) enter2=$(val active_enter_usec)
tap_ok "restart: new MainPID ($pid1 -> $pid2)" test "$pid2" -gt 0 -a "$pid2" != "$pid1"
tap_ok "restart: later ActiveEnterTimestamp" test "$enter2" -gt "$enter1"
# An inactive unit is unloaded soon and read afresh when asked for; a running one keeps what
# was read until a reload, which is what a reload is for.
printf '[Unit]\nDescription=ks-ok v2\n[Service]\nExecStart=/bin/sleep infinity\n%s\n' "$install" | unit ks-ok.service
tap_is "$(host_exec 0 systemctl show -P NeedDaemonReload ks-ok.service)" yes "changed file of a running unit: systemd wants a reload"
tb reload
tap_is "$(val rc)" 0 "reload again"
tap_is "$(host_exec 0 systemctl show -P Description ks-ok.service)/$(host_exec 0 systemctl show -P NeedDaemonReload ks-ok.service)" \
    "ks-ok v2/no" "reload returned after systemd had read the change"
tb reload-or-restart ks-ok.service
tap_is "$(val rc)/$(val result.ks-ok.service)" 0/done "reload-or-restart ks-ok: done"

tb start ks-fail.service
tap_is "$(val rc)/$(val result.ks-fail.service)" 0/failed "start ks-fail: failed"
status ks-fail.service
tap_is "$(val active_state) $(val result) $(val exec_main_code) $(val exec_main_status)" \
    "failed exit-code 1 1" "ks-fail: failed, exited (CLD_EXITED) with status 1"

tb start ks-dep.service ks-ok.service
tap_is "$(val rc) $(val result.ks-dep.service) $(val result.ks-ok.service)" "0 dependency done" \
    "two jobs at once: ks-dep fails on its dependency, ks-ok done"

tb -t 300 start ks-slow.service
tap_is "$(val rc)" ETIMEDOUT "a job that takes longer than the timeout: ETIMEDOUT"
tap_ok "  after the timeout, not later ($MS ms)" test "$MS" -lt 3000

# --- settle -----------------------------------------------------------------------
tb start ks-crash.service
tap_is "$(val rc)/$(val result.ks-crash.service)" 0/done "start ks-crash: done (it was forked)"
tb -t 15000 settle ks-crash.service 2000
tap_is "$(val rc)" ECHILD "settle ks-crash: ECHILD"
tap_ok "  NRestarts >= 1 ($(val n_restarts))" test "$(val n_restarts)" -ge 1
tap_ok "  noticed before the settle time ($(val elapsed_ms) ms)" test "$(val elapsed_ms)" -lt 2000
tb -t 10000 settle ks-ok.service 500
tap_is "$(val rc)/$(val active_state)" 0/active "settle ks-ok: settled"
tap_ok "  after about the settle time ($(val elapsed_ms) ms)" test "$(val elapsed_ms)" -ge 500 -a "$(val elapsed_ms)" -lt 2000
tb -t 300 settle ks-ok.service 5000
tap_is "$(val rc)" ETIMEDOUT "settle longer than its timeout: ETIMEDOUT"
tb -t 10000 settle ks-fail.service 500
tap_is "$(val rc)/$(val active_state)" ECHILD/failed "settle of a failed unit: ECHILD at once"

# --- journal from the machine ---------------------------------------------------------
# Debian keeps a persistent journal when /var/log/journal exists; otherwise it is in /run.
jdir=/proc/$HOST_LEADER_0/root/var/log/journal
if [ -z "$(find "$jdir" -name '*.journal' 2>/dev/null | head -n 1)" ]; then
    jdir=/proc/$HOST_LEADER_0/root/run/log/journal
fi
tap_diag "journal of the host: $jdir"
# Stream output reaches the journal a moment after the process wrote it: poll, bounded.
deadline=$((${EPOCHREALTIME/./} + 5000000))
while :; do
    tb -D "$jdir" journal ks-crash.service 50
    if printf '%s\n' "$OUT" | grep -q 'boom-' || [ "${EPOCHREALTIME/./}" -gt "$deadline" ]; then break; fi
    sleep 0.1
done
tap_is "$(val rc)" 0 "journal_last_lines from the machine"
tap_like "$OUT" '^line=sh\[([0-9]+)\]: boom-\1$' "  the unit's output as ident[pid]: message"
tap_like "$OUT" '^line=systemd\[1\]: ks-crash\.service: ' "  systemd's own messages about the unit"
tap_unlike "$OUT" 'ks-ok|ks-fail' "  nothing about other units"
tb -D "$jdir" journal ks-crash.service 3
tap_is "$(printf '%s\n' "$OUT" | grep -c '^line=')" 3 "  the last 3 lines are 3 lines"
tb -D "$jdir" journal ks-nope.service 10
tap_is "$(val rc)/$(printf '%s\n' "$OUT" | grep -c '^line=' || true)" 0/0 "  none for a unit without entries"

# --- inside the host: its own bus and local journal ---------------------------------------
tap_ok "copy the CLI into the host" host_copy_in 0 "$TB" /usr/local/bin/test-bus-hosts
tb_in status ks-ok.service
tap_is "$(val rc)/$(val active_state)" 0/active "inside: status ks-ok active"
tb_in -t 10000 settle ks-crash.service 1000
tap_is "$(val rc)" ECHILD "inside: settle ks-crash ECHILD"
tb_in journal ks-crash.service 50
tap_like "$OUT" '^line=sh\[([0-9]+)\]: boom-\1$' "inside: the local journal has the crash output"

# --- inside, without a D-Bus daemon: systemd's private socket ------------------------------
host_exec 0 systemctl stop dbus.socket dbus.service
tap_is "$(host_exec 0 systemctl is-active dbus.socket dbus.service | tr '\n' ' ')" "inactive inactive " \
    "dbus stopped in the host"
tb_in restart ks-ok.service
tap_is "$(val rc)/$(val result.ks-ok.service)" 0/done "no bus daemon: restart over systemd's private socket"
tb_in -t 10000 settle ks-ok.service 300
tap_is "$(val rc)/$(val active_state)" 0/active "no bus daemon: settle ks-ok"
tb status ks-ok.service
tap_like "$(val rc)" '^(ECONNREFUSED|ENOENT)$' "a bus named in DBUS_SYSTEM_BUS_ADDRESS is not replaced by the private socket"

tap_diag "total $(awk -v a="$t_start" -v b="$EPOCHREALTIME" 'BEGIN { printf "%.2f", b - a }') s"
tap_done
