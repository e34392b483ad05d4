#!/bin/bash
# System test: etcd on three booted controllers (issue 13), Debian's real etcd from the test
# mirror's release tarball, brought up by 'kubestrap fanout' from this machine: a three-member
# TLS cluster that replicates; API servers (stand-ins that start only on a healthy etcd and
# check it in their health endpoints) that are healthy; one member down, which the cluster
# survives and status names; two down, which take the control plane's health with them until
# they return; a second apply that restarts nothing; a reset that keeps the data and a
# re-apply that rejoins as the same member; and a rolling (--serial) apply of a new cluster.
# It reports the time from apply to "etcd healthy" and to "all healthy" on three hosts.
set -eu
. "${top_srcdir:-$(dirname "$0")/../..}/test/lib/system.sh"
sys_begin 3 ks-etcd
conf=$wd/cluster.conf
prov_fanout_up "$wd" "$conf" || tap_bail "could not set up the mirror, the PKI and the hosts"

ks() { set +e; OUT=$("$KUBESTRAP" -c "$conf" "$@" 2>"$wd/err"); RC=$?; set -e; ERR=$(cat "$wd/err"); }
row() { printf '%s\n' "$OUT" | grep "^$1 " || true; }
elapsed() { awk -v a="$1" -v b="$2" 'BEGIN { printf "%.2f", b - a }'; }
# ectl I ARGS...: etcdctl in host I against its own member, with the chapter's files
ectl() {
        local i=$1
        shift
        host_exec "$i" env ETCDCTL_API=3 /usr/local/bin/etcdctl --endpoints=https://127.0.0.1:2379 \
                --cacert=/etc/etcd/ca.pem --cert=/etc/etcd/kubernetes.pem --key=/etc/etcd/kubernetes-key.pem "$@"
}
# member_id I NAME: the ID of member NAME as host I's member lists it
member_id() { ectl "$1" member list | awk -F ', ' -v n="$2" '$3 == n { print $1 }'; }
started_members() { ectl "$1" member list | grep -c ', started, ' || true; }
# health I: etcd's /health at host I's client URL, asked from this machine with the PKI's cert
health() {
        local ip=HOST_IP_$1
        curl -s --max-time 2 --cacert "$wd/pki/ca.pem" --cert "$wd/pki/kubernetes.pem" \
                --key "$wd/pki/kubernetes-key.pem" "https://${!ip}:2379/health" || true
}
proxy() { curl -s -o /dev/null -w '%{http_code}' -H 'Host: kubernetes.default.svc.cluster.local' "http://$1/healthz"; }
pids() { # I: the main PIDs of host I's units
        local u
        for u in etcd kube-apiserver kube-controller-manager kube-scheduler nginx; do
                printf '%s=%s ' "$u" "$(host_exec "$1" systemctl show -p MainPID --value "$u.service")"
        done
}

# --- a three-member TLS cluster by parallel fan-out ----------------------------------------
# From this machine, the moment all three members say healthy (a poller) and the moment the
# fan-out returns (every host's health gate passed: etcd, then the control plane).
: > "$wd/etcd-healthy"
(
        while :; do
                if [ "$(health 0)$(health 1)$(health 2)" = '{"health":"true"}{"health":"true"}{"health":"true"}' ]; then
                        echo "$EPOCHREALTIME" > "$wd/etcd-healthy"
                        break
                fi
                sleep 0.05
        done
) &
poller=$!
t0=$EPOCHREALTIME
ks fanout controller-0 controller-1 controller-2 -- apply
t_all=$EPOCHREALTIME
tap_is "$RC" 0 "parallel fan-out brings up etcd and the control plane on three hosts"
[ "$RC" = 0 ] || tap_diag "$ERR $OUT"
for _ in $(seq 100); do [ -s "$wd/etcd-healthy" ] && break; sleep 0.1; done
kill "$poller" 2>/dev/null || true
wait "$poller" 2>/dev/null || true
if [ -s "$wd/etcd-healthy" ]; then
        tap_diag "three hosts: apply start to etcd healthy (all three members) $(elapsed "$t0" "$(cat "$wd/etcd-healthy")") s," \
                "to all healthy (fan-out done) $(elapsed "$t0" "$t_all") s"
fi
for i in 0 1 2; do
        tap_like "$(row controller-$i)" "^controller-$i +ok " "controller-$i ok"
        tap_is "$(host_exec $i systemctl is-active etcd.service)" active "controller-$i: etcd.service is active"
        tap_is "$(health $i)" '{"health":"true"}' "controller-$i: its member answers /health over TLS with the client certificate"
done
tap_is "$(started_members 0)" 3 "etcdctl member list shows three started members"
tap_is "$(ectl 1 member list | awk -F ', ' '{ print $3 }' | sort | tr '\n' ' ')" "controller-0 controller-1 controller-2 " \
        "named after the inventory's hosts"
tap_like "$(ectl 2 member list | awk -F ', ' '$3 == "controller-2" { print $4 " " $5 }')" \
        "^https://$HOST_IP_2:2380 https://$HOST_IP_2:2379\$" "controller-2's peer and client URLs are its internal-ip's"
rc=0
curl -s --max-time 2 --cacert "$wd/pki/ca.pem" "https://$HOST_IP_0:2379/health" > /dev/null || rc=$?
tap_isnt() { if [ "$1" != "$2" ]; then tap_pass "$3"; else tap_fail "$3" "got $1"; fi; }
tap_isnt "$rc" 0 "a client without a certificate is refused (--client-cert-auth)"
ectl 0 put /kubestrap-test/written-on controller-0 > /dev/null
tap_is "$(ectl 2 get --print-value-only /kubestrap-test/written-on)" controller-0 \
        "a key written through controller-0's member is read through controller-2's"

# --- the control plane runs on it ------------------------------------------------------------
for i in 0 1 2; do
        ip=HOST_IP_$i
        tap_is "$(proxy "${!ip}")" 200 "controller-$i: the control plane is healthy (its API server found etcd)"
        tap_like "$(host_exec $i systemctl show -p ExecStart --value kube-apiserver.service)" \
                "--etcd-servers=https://$HOST_IP_0:2379,https://$HOST_IP_1:2379,https://$HOST_IP_2:2379 " \
                "controller-$i: etcd-servers are the members' client URLs"
done
ks fanout -- verify
tap_is "$RC" 0 "fan-out verify passes on the three hosts"
[ "$RC" = 0 ] || tap_diag "$OUT"
for i in 0 1 2; do
        tap_like "$OUT" "controller-$i: etcd \(apiserver's view\) .*\[\+\]etcd ok" "controller-$i: status shows the API server's own view of etcd"
done

# --- one member down: the cluster keeps its quorum, and status says which ------------------
host_exec 1 systemctl stop etcd.service
tap_is "$(health 0)" '{"health":"true"}' "with controller-1's etcd stopped, controller-0's member is healthy"
tap_is "$(health 2)" '{"health":"true"}' "and controller-2's"
ectl 2 put /kubestrap-test/written-on controller-2 > /dev/null
tap_is "$(ectl 0 get --print-value-only /kubestrap-test/written-on)" controller-2 "writes still commit (two of three)"
ks fanout controller-0 -- status
tap_like "$OUT" "controller-0: etcd member controller-1 id [0-9a-f]{16}, Failed to connect to $HOST_IP_1 port 2379" \
        "status names the member that is down, its ID and why"
tap_like "$OUT" "controller-0: etcd member controller-2 id [0-9a-f]{16}, (leader, )?healthy" "and shows the others healthy"
tap_like "$OUT" "controller-0: summary: verb=status ok=false failed=1" "and counts one failed check"
ks --output json fanout controller-0 -- status
tap_like "$(printf '%s\n' "$OUT" | grep '"event":"status","component":"etcd member controller-1"')" '"ok":false' \
        "in JSON, the member that is down is not ok"
ks fanout controller-0 -- verify
tap_is "$RC" 1 "verify fails while a member is down"
host_exec 1 systemctl start etcd.service
for _ in $(seq 100); do [ "$(health 1)" = '{"health":"true"}' ] && break; sleep 0.1; done
tap_is "$(ectl 1 get --print-value-only /kubestrap-test/written-on)" controller-2 \
        "controller-1's member, started again, has caught up"

# --- two members down: no quorum, and the control plane's health goes with it ---------------
host_exec 1 systemctl stop etcd.service
host_exec 2 systemctl stop etcd.service
code=$(proxy "$HOST_IP_0")
for _ in $(seq 100); do [ "$code" != 200 ] && break; sleep 0.1; code=$(proxy "$HOST_IP_0"); done
tap_is "$code" 500 "with two of three members stopped, controller-0's health check fails (its API server's etcd check)"
tap_like "$(health 0)" '"health":"false"' "and its member says it is not healthy (no leader)"
ks fanout controller-0 -- status
tap_like "$OUT" "controller-0: etcd \(apiserver's view\) .*\[-\]etcd failed" "status shows the API server's view: etcd failed"
host_exec 1 systemctl start etcd.service
host_exec 2 systemctl start etcd.service
code=$(proxy "$HOST_IP_0")
for _ in $(seq 200); do [ "$code" = 200 ] && break; sleep 0.1; code=$(proxy "$HOST_IP_0"); done
tap_is "$code" 200 "with the members back, the control plane is healthy again, by itself"
for _ in $(seq 100); do [ "$(health 1)$(health 2)" = '{"health":"true"}{"health":"true"}' ] && break; sleep 0.1; done

# --- a second apply restarts nothing -----------------------------------------------------------
before=$(for i in 0 1 2; do pids $i; echo; done)
ks fanout -- apply
tap_is "$RC" 0 "a second fan-out apply succeeds"
for i in 0 1 2; do tap_like "$(row controller-$i)" "^controller-$i +ok +0 " "controller-$i: nothing to change"; done
tap_is "$(for i in 0 1 2; do pids $i; echo; done)" "$before" "no unit was restarted (main PIDs unchanged)"

# --- reset keeps the data; a re-apply rejoins as the same member --------------------------------
id0=$(member_id 1 controller-0)
tap_like "$id0" '^[0-9a-f]+$' "controller-0's member ID ($id0)"
ks fanout controller-0 -- reset
tap_is "$RC" 0 "reset on controller-0"
tap_like "$OUT" "/var/lib/etcd" "reset says what it does with the data directory"
tap_ok "the etcd unit is gone" host_exec 0 test ! -e /etc/systemd/system/etcd.service
tap_ok "the data directory is kept" host_exec 0 test -d /var/lib/etcd/member
tap_isnt "$(host_exec 0 systemctl is-active etcd.service || true)" active "etcd no longer runs on controller-0"
tap_is "$(health 1)" '{"health":"true"}' "the two others keep the cluster healthy"
ks fanout controller-0 -- apply
tap_is "$RC" 0 "apply on controller-0 again"
[ "$RC" = 0 ] || tap_diag "$ERR $OUT"
tap_is "$(member_id 1 controller-0)" "$id0" "controller-0 rejoined with the same member ID"
tap_is "$(started_members 2)" 3 "three started members again"
tap_is "$(ectl 0 get --print-value-only /kubestrap-test/written-on)" controller-2 "controller-0's member kept its data"
tap_like "$(host_exec 0 systemctl show -p ExecStart --value etcd.service)" '--initial-cluster-state existing|--initial-cluster-state=existing' \
        "a member with data is not bootstrapped again"

# --- a new cluster, rolled out host after host, does not wait forever for its quorum ------------
ks fanout -- reset --purge-etcd-data
tap_is "$RC" 0 "reset --purge-etcd-data on the three hosts"
tap_ok "the data directory is gone" host_exec 0 test ! -e /var/lib/etcd/member
t0=$EPOCHREALTIME
set +e
OUT=$(timeout 600 "$KUBESTRAP" -c "$conf" fanout --serial -- apply 2>"$wd/err")
RC=$?
set -e
tap_is "$RC" 0 "fanout --serial brings up a new three-member cluster (no deadlock on the first quorum)"
[ "$RC" = 0 ] || tap_diag "$(cat "$wd/err") $OUT"
tap_diag "three hosts, --serial, new cluster: $(elapsed "$t0" "$EPOCHREALTIME") s"
tap_is "$(started_members 0)" 3 "three started members after the roll"
for i in 0 1 2; do
        ip=HOST_IP_$i
        tap_is "$(proxy "${!ip}")" 200 "controller-$i: the control plane is healthy after the roll"
done

tap_done
