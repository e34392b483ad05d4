#!/bin/bash
# System test: Kubernetes versions on three booted controllers, driven by 'kubestrap fanout'
# from this machine: a fresh control plane from the stable-1.34 marker; a jump of two minors
# refused with nothing changed; a serial upgrade v1.33.4 -> v1.34.2, host after host, each
# restarting kube-apiserver first and the controller-manager and scheduler once it answers,
# nginx left running; and the seed's v1beta1 scheduler file forced onto a v1.34 scheduler
# through a template override, caught as a crash loop with the scheduler's own words; then on
# to v1.35 and v1.36, host after host.
# (Rollback has its own test, sys-rollback.sh.)
set -eu
. "${top_srcdir:-$(dirname "$0")/../..}/test/lib/system.sh"
sys_begin 3 ks-ver
t_all=$EPOCHREALTIME
conf=$wd/cluster.conf
prov_fanout_up "$wd" "$conf" || tap_bail "could not set up the mirror, the PKI and the hosts"

ks() { set +e; OUT=$("$KUBESTRAP" -c "$conf" "$@" 2>"$wd/err"); RC=$?; set -e; ERR=$(cat "$wd/err"); }
row() { printf '%s\n' "$OUT" | grep "^$1 " || true; }
set_version() { prov_set_version "$conf" "$1"; }
elapsed() { awk -v a="$1" -v b="$EPOCHREALTIME" 'BEGIN { printf "%.2f", b - a }'; }
# the release kube-apiserver of host I reports on /version
served() {
        local ip=HOST_IP_$1
        curl -s --cacert "$wd/pki/ca.pem" "https://${!ip}:6443/version" | sed -n 's/.*"gitVersion": *"\([^"]*\)".*/\1/p'
}
# show I UNIT PROPERTY: a property of a unit in host I
show() { host_exec "$1" systemctl show -p "$3" --value "$2.service"; }
recorded() { host_exec "$1" sh -c "awk -F '\t' '\$1 == \"release\" { print \$3 }' /var/lib/kubestrap/installed"; }
binaries_ino() { host_exec "$1" stat -c '%n %i' /usr/local/bin/kube-apiserver /usr/local/bin/kube-controller-manager /usr/local/bin/kube-scheduler; }

# --- a fresh control plane from the stable-1.34 marker ------------------------------------
set_version stable-1.34
t0=$EPOCHREALTIME
ks fanout -- apply
tap_is "$RC" 0 "version = stable-1.34: fan-out apply provisions three hosts"
[ "$RC" = 0 ] || tap_diag "$ERR $OUT"
tap_diag "three fresh v1.34 hosts in parallel: $(elapsed "$t0") s"
for i in 0 1 2; do
        tap_like "$(row controller-$i)" "^controller-$i +ok " "controller-$i ok"
        tap_is "$(served $i)" v1.34.2 "controller-$i: /version says v1.34.2 (stable-1.34's release)"
        tap_is "$(recorded $i)" v1.34.2 "controller-$i: the state records release v1.34.2"
        tap_like "$(host_exec $i cat /etc/kubernetes/config/kube-scheduler.yaml)" \
                '^apiVersion: kubescheduler.config.k8s.io/v1$' "controller-$i: kube-scheduler.yaml is kubescheduler.config.k8s.io/v1"
done
ks --output json fanout -- status
tap_is "$RC" 0 "status: every check passes on the three hosts"
[ "$RC" = 0 ] || tap_diag "$OUT"
for i in 0 1 2; do
        tap_is "$(printf '%s\n' "$OUT" | grep "^{\"host\":\"controller-$i\",\"event\":\"status\",\"component\":\"kube-scheduler\"" |
                sed -n 's/.*"target":"\([^"]*\)".*/\1/p' | tr '\n' ' ')" "https://127.0.0.1:10259/livez https://127.0.0.1:10259/readyz " \
                "controller-$i: the v1.34 scheduler is probed on /livez and /readyz"
done

# --- back to v1.33.4: reset, then a fresh v1.33 -------------------------------------------
ks fanout -- reset
tap_is "$RC" 0 "reset on the three hosts"
tap_ok "reset removed kube-apiserver" host_exec 0 test ! -e /etc/systemd/system/kube-apiserver.service
set_version v1.33.4
ks fanout -- apply
tap_is "$RC" 0 "a fresh v1.33.4 on the three hosts"
[ "$RC" = 0 ] || tap_diag "$ERR $OUT"
for i in 0 1 2; do tap_is "$(served $i)" v1.33.4 "controller-$i serves v1.33.4"; done

# --- a jump of two minors is refused, and nothing changes ---------------------------------
for i in 0 1 2; do eval "ino_$i=\$(binaries_ino $i)"; done
set_version v1.35.0
ks fanout -- plan
tap_is "$RC" 2 "plan v1.33.4 -> v1.35.0 via fanout: exit 2"
tap_like "$OUT" "controller-0: .*v1.33.4 → v1.35.0 refused: .*must not skip minor versions" \
        "the refusal names both versions and the rule"
ks --output json fanout -- apply
tap_is "$RC" 2 "apply v1.33.4 -> v1.35.0 via fanout: exit 2"
for i in 0 1 2; do
        tap_like "$(printf '%s\n' "$OUT" | grep "\"event\":\"host\",\"host\":\"controller-$i\"")" \
                '"result":"failed","exit":2,.*"error":".*v1.33.4 → v1.35.0 refused' "controller-$i: failed with exit 2, naming both versions"
        ino=ino_$i
        tap_is "$(binaries_ino $i)" "${!ino}" "controller-$i: the binaries are the same files (inodes unchanged)"
        tap_is "$(served $i)" v1.33.4 "controller-$i still serves v1.33.4"
done

# --- serial upgrade v1.33.4 -> v1.34.2 -----------------------------------------------------
for i in 0 1 2; do eval "nginx_$i=\$(show $i nginx MainPID)"; done
set_version v1.34.2
t0=$EPOCHREALTIME
ks fanout --serial -- apply
t_upgrade=$(elapsed "$t0")
tap_is "$RC" 0 "fanout --serial upgrades the three hosts to v1.34.2"
[ "$RC" = 0 ] || tap_diag "$ERR $OUT"
tap_diag "three-host serial upgrade v1.33.4 -> v1.34.2: $t_upgrade s"
# the hosts' lines come in host order: each host's last line before the next host's first
# (after etcd's first pass, which runs on every host at once)
rolling() { printf '%s\n' "$OUT" | sed -n "/^fanout: etcd's first pass is done/,\$p"; }
tap_like "$OUT" "^fanout: etcd's first pass is done on 3 host\\(s\\); now one host at a time" "etcd's first pass comes first"
order=$(rolling | sed -n 's/^\(controller-[012]\): .*/\1/p' | uniq | tr '\n' ' ')
tap_is "$order" "controller-0 controller-1 controller-2 " "fan-out output: one host after the other"
prev=0
for i in 0 1 2; do
        tap_like "$(row controller-$i)" "^controller-$i +ok " "controller-$i ok"
        # CLOCK_MONOTONIC, the same kernel's, so comparable across the hosts
        a=$(show $i kube-apiserver ExecMainStartTimestampMonotonic)
        c=$(show $i kube-controller-manager ExecMainStartTimestampMonotonic)
        s=$(show $i kube-scheduler ExecMainStartTimestampMonotonic)
        # when this apiserver began to answer: the stand-in's "listening" line
        l=$(host_exec $i journalctl -u kube-apiserver.service -o json --no-pager |
                python3 -c 'import json, sys
t = [json.loads(l)["__MONOTONIC_TIMESTAMP"] for l in sys.stdin if "stand-in listening" in l]
print(t[-1] if t else 0)')
        tap_ok "controller-$i: upgraded after the host before it finished" test "$a" -gt "$prev"
        tap_ok "controller-$i: kube-apiserver restarted before the controller-manager" test "$a" -lt "$c"
        tap_ok "controller-$i: kube-apiserver restarted before the scheduler" test "$a" -lt "$s"
        tap_ok "controller-$i: kube-apiserver listened before both restarted ($a < $l < $c, $s)" \
                sh -c "[ $l -gt $a ] && [ $l -lt $c ] && [ $l -lt $s ]"
        prev=$(( c > s ? c : s ))
        nginx=nginx_$i
        tap_is "$(show $i nginx MainPID)" "${!nginx}" "controller-$i: nginx kept its PID (its files did not change)"
        tap_is "$(served $i)" v1.34.2 "controller-$i serves v1.34.2"
        tap_is "$(recorded $i)" v1.34.2 "controller-$i: the state records v1.34.2"
done
ks fanout -- status
tap_is "$RC" 0 "all healthy after the upgrade"

# --- the seed's v1beta1 scheduler file forced onto v1.34 through a template override ---------
mkdir -m 0755 "$wd/tpl"
cp "$top_srcdir/test/golden/kube-scheduler.yaml" "$wd/tpl/kube-scheduler.yaml"
chmod 0644 "$wd/tpl/kube-scheduler.yaml"
sed "s|^;template-dir = .*|template-dir = $wd/tpl|" "$conf" > "$wd/override.conf"
chmod 0644 "$wd/override.conf"
t0=$EPOCHREALTIME
set +e; OUT=$("$KUBESTRAP" -c "$wd/override.conf" fanout controller-0 -- apply 2>&1); RC=$?; set -e
tap_diag "the crash loop was caught in $(elapsed "$t0") s"
tap_is "$RC" 1 "apply with the v1beta1 override fails"
tap_like "$(host_exec 0 cat /etc/kubernetes/config/kube-scheduler.yaml)" '^apiVersion: kubescheduler.config.k8s.io/v1beta1$' \
        "the override was rendered"
tap_like "$(row controller-0)" '^controller-0 +failed ' "controller-0's result is failed"
tap_like "$OUT" 'controller-0: error: .*kube-scheduler.* keeps crashing' "the error says the scheduler crash-loops"
# the journal excerpt's lines come one per line under the host's name; klog quotes the error
# inside err="...", so its quotes come backslashed, as from the real scheduler
tap_like "$OUT" '^controller-0: +kube-scheduler\[[0-9]+\]: .*no kind \\?"KubeSchedulerConfiguration\\?" is registered for version \\?"kubescheduler.config.k8s.io/v1beta1\\?"' \
        "the error carries the scheduler's journal line"
ks fanout controller-0 -- apply
tap_is "$RC" 0 "re-applying without the override restores controller-0"
[ "$RC" = 0 ] || tap_diag "$ERR $OUT"
tap_like "$(host_exec 0 cat /etc/kubernetes/config/kube-scheduler.yaml)" '^apiVersion: kubescheduler.config.k8s.io/v1$' \
        "kube-scheduler.yaml is v1 again"
# Starts asked for in a row put a unit over systemd's start limit (5 in 10 s); apply still
# starts it: the limit is for Restart= loops, and apply resets it first.
host_exec 0 sh -c 'for n in 1 2 3 4 5 6; do systemctl restart kube-scheduler.service 2>/dev/null; done' || true
tap_is "$(show 0 kube-scheduler Result)" start-limit-hit "kube-scheduler is over its start limit"
ks fanout controller-0 -- apply
tap_is "$RC" 0 "apply starts it all the same"
[ "$RC" = 0 ] || tap_diag "$ERR $OUT"
tap_is "$(show 0 kube-scheduler ActiveState)" active "kube-scheduler is active again"

# --- on to v1.35 and v1.36, one minor and one host at a time --------------------------------
for v in v1.35.0 v1.36.0; do
        set_version $v
        t0=$EPOCHREALTIME
        ks fanout --serial -- apply
        tap_is "$RC" 0 "fanout --serial upgrades the three hosts to $v"
        [ "$RC" = 0 ] || tap_diag "$ERR $OUT"
        tap_diag "three-host serial upgrade to $v: $(elapsed "$t0") s"
        tap_is "$(rolling | sed -n 's/^\(controller-[012]\): .*/\1/p' | uniq | tr '\n' ' ')" \
                "controller-0 controller-1 controller-2 " "$v: one host after the other"
        for i in 0 1 2; do tap_is "$(served $i)" $v "controller-$i serves $v"; done
done
ks fanout -- status
tap_is "$RC" 0 "all three hosts healthy at the end"

# --- a bad release in a serial roll: the first host rolls back by itself, the roll stops --------
set_version v1.36.1-crash
t0=$EPOCHREALTIME
ks fanout --serial -- apply
tap_diag "serial roll to a crashing release, stopped after one rollback: $(elapsed "$t0") s"
tap_is "$RC" 1 "fanout --serial to a crashing release fails"
tap_like "$(row controller-0)" '^controller-0 +rolled back ' "controller-0 rolled back"
tap_like "$OUT" '^controller-0: .*rolled back to v1\.36\.0' "and says to which release"
for i in 1 2; do
        tap_like "$(row controller-$i)" "^controller-$i +skipped " "controller-$i was not touched"
done
for i in 0 1 2; do
        tap_is "$(served $i)" v1.36.0 "controller-$i still serves v1.36.0"
        tap_is "$(recorded $i)" v1.36.0 "controller-$i: the state records v1.36.0"
done
set_version v1.36.0

tap_diag "sys-versions took $(elapsed "$t_all") s after the hosts booted"
tap_done
