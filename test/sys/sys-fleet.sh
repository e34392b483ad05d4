#!/bin/bash
# System test: 'kubestrap fanout' to a fleet of lightweight hosts (test/lib/fleet.sh: network
# namespaces on the test bridge, each with its own real sshd, no systemd): more hosts than the
# default -j, all planned; --group shows each host's output in one piece, in text and in JSON,
# with the same lines as without it; an unreachable host's ssh complaint is grouped too.
set -eu
. "${top_srcdir:-$(dirname "$0")/../..}/test/lib/common.sh"
. "$top_srcdir/test/lib/hosts.sh"
. "$top_srcdir/test/lib/fleet.sh"
skip_all() { echo "1..0 # SKIP $*"; exit 0; }
[ "${KS_SYSTEM_TESTS:-}" != skip ] || skip_all "KS_SYSTEM_TESTS=skip (they ran in the main pass)"
[ "$(id -u)" = 0 ] || skip_all "needs root"
N=6
wd=$(mktemp -d /tmp/ks-sfl.XXXXXX)
chmod 0755 "$wd"
sys_fleet_end() {
        mirror_stop 2>/dev/null || true
        fleet_down
        if [ "${KS_TEST_KEEP:-0}" = 1 ]; then echo "# kept $wd"; else rm -rf "$wd"; fi
}
trap sys_fleet_end EXIT
hosts_deps >/dev/null || skip_all "the host tools cannot be installed"
fleet_up "$N" "$wd" || skip_all "the fleet did not come up (KS_TEST_KEEP=1 keeps the logs)"
MIRROR_EXTRA_ADDR=$FLEET_GW
export MIRROR_EXTRA_ADDR
mkdir -p "$wd/mirror"
mirror_start "$wd/mirror" >/dev/null || tap_bail "could not start the mirror"
WORK=$wd
ks_publish_binaries "$VERSION"
"$top_srcdir/scripts/make-pki" "$wd/pki" "$(fleet_ip 0)" "$(fleet_ip 0)" >/dev/null || tap_bail "no PKI"
conf=$wd/fleet.conf
fleet_conf "$conf" "$N" "$MIRROR_EXTRA_URL" "$MIRROR_CA" "$wd/pki"
# a host nobody answers for: its ssh complaint goes through the same grouping
printf '\n[host fleet-down]\naddress = root@%s.250\ninternal-ip = %s.250\n' "$FLEET_NET" "$FLEET_NET" >>"$conf"
sed -i 's/ConnectTimeout=30/ConnectTimeout=3/' "$conf"
hosts=$(for ((i = 0; i < N; i++)); do printf 'fleet-%s ' "$i"; done)

# prefixes FILE: the host of each line a host wrote ("fleet-3: ..."), in the order shown
prefixes() { sed -n 's/^\(fleet-[a-z0-9]*\): .*/\1/p' "$1"; }
# runs: how many runs of one host's lines there are (N when each host's lines are together)
runs() { prefixes "$1" | uniq | wc -l; }

# --- all hosts, more than -j at once, as they come ---------------------------------------------
set +e
"$KUBESTRAP" -c "$conf" fanout -j 2 $hosts -- plan >"$wd/plain.out" 2>"$wd/plain.err"
rc=$?
set -e
tap_is "$rc" 0 "fanout -j 2 -- plan on $N hosts succeeds"
tap_is "$(grep -cE '^fleet-[0-9]+ +ok ' "$wd/plain.out")" "$N" "every host is planned and ok in the table"
tap_is "$(grep -c '^fleet-[0-9]*: plan: 24 changed, 0 unchanged, 0 failed' "$wd/plain.out")" "$N" "each host plans its own empty tree"

# --- --group: the same lines, each host's together -------------------------------------------
set +e
"$KUBESTRAP" -c "$conf" fanout --group $hosts -- plan >"$wd/group.out" 2>"$wd/group.err"
rc=$?
set -e
tap_is "$rc" 0 "fanout --group -- plan succeeds"
tap_is "$(runs "$wd/group.out")" "$N" "--group: each host's lines are shown in one piece"
tap_diag "without --group the same lines came in $(runs "$wd/plain.out") runs of one host's lines"
# the same lines but for the time each plan took
norm() { grep -E '^fleet-[0-9]+: ' "$1" | sed 's/([0-9]* ms)//; s/[0-9]*ms//g' | sort; }
tap_is "$(norm "$wd/group.out")" "$(norm "$wd/plain.out")" "--group: the same lines as without it"
tap_is "$(prefixes "$wd/group.out" | grep -c .)" "$(prefixes "$wd/plain.out" | grep -c .)" "--group: none lost"

set +e
"$KUBESTRAP" -c "$conf" --output json fanout --group $hosts -- plan >"$wd/group.json" 2>"$wd/group.jerr"
rc=$?
set -e
tap_is "$rc" 0 "fanout --group --output json succeeds"
tap_is "$(sed -n 's/^{"host":"\(fleet-[0-9]*\)".*/\1/p' "$wd/group.json" | uniq | wc -l)" "$N" \
        "--group, JSON: each host's events in one piece"
tap_is "$(grep -c '"event":"host",.*"result":"ok"' "$wd/group.json")" "$N" "one ok result event per host"

# --- an unreachable host among them -----------------------------------------------------------
set +e
"$KUBESTRAP" -c "$conf" fanout --group fleet-0 fleet-down fleet-1 -- plan >"$wd/down.out" 2>"$wd/down.err"
rc=$?
set -e
tap_is "$rc" 1 "a fleet with an unreachable host fails"
tap_like "$(cat "$wd/down.out")" '^fleet-down +unreachable ' "the table calls it unreachable"
tap_like "$(cat "$wd/down.err")" '^fleet-down: ssh: connect to host 10\.240\.1\.250' "its ssh complaint is shown, with the host"
tap_is "$(grep -cE '^fleet-[01] +ok ' "$wd/down.out")" 2 "and the others are planned all the same"
tap_done
