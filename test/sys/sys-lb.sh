#!/bin/bash
# System test: the front-end load balancer on booted hosts. Three controllers and a fourth host,
# lb-0 (role = lb), provisioned by one 'kubestrap fanout -- apply'; /version answers through
# haproxy on the public address; a stopped kube-apiserver leaves rotation while requests keep
# succeeding, and comes back when started (the time from the failure to its removal is measured
# and reported, never asserted); a second apply reloads nothing; a broken haproxy template is
# refused by haproxy -c and nothing is reloaded.
set -eu
. "${top_srcdir:-$(dirname "$0")/../..}/test/lib/system.sh"
sys_begin 4 ks-lb
conf=$wd/cluster.conf
prov_lb_up "$wd" "$conf" || tap_bail "could not set up the mirror, the PKI and the hosts"
ks() { set +e; OUT=$("$KUBESTRAP" -c "$conf" "$@" 2>"$wd/err"); RC=$?; set -e; ERR=$(cat "$wd/err"); }
LB=$HOST_IP_3
# /version through the load balancer, verified against the cluster CA, as the seed checks it
version() { curl -s -o /dev/null -w '%{http_code}' --max-time 5 --cacert "$wd/pki/ca.pem" "https://$LB:6443/version"; }
# haproxy's own view of one server, from its stats socket on lb-0 ("show stat": field 17 is status)
server_state() {
        host_exec 3 perl -MIO::Socket::UNIX -e '
                my $s = IO::Socket::UNIX->new(Peer => "/run/haproxy/admin.sock") or die "socket: $!";
                print $s "show stat\n";
                while (<$s>) { my @f = split /,/; print "$f[17]\n" if $f[0] eq "kube-apiserver" && $f[1] eq $ARGV[0] }' "$1"
}
workers() { host_exec 3 sh -c 'pgrep -P "$(systemctl show -p MainPID --value haproxy)" | sort | tr "\n" " "'; }
now() { printf '%s' "$EPOCHREALTIME"; }
ms_since() { awk -v a="$1" -v b="$EPOCHREALTIME" 'BEGIN { printf "%d", (b - a) * 1000 }'; }
# wait_state SERVER STATE TRAFFIC: polls haproxy's view (at most 600 times) until SERVER is
# STATE; with TRAFFIC=1 asks /version through the load balancer between polls and counts the
# requests and those that failed
wait_state() {
        local _ st=''
        tries=0 failed=0
        for _ in $(seq 600); do
                st=$(server_state "$1")
                [ "$st" = "$2" ] && return 0
                [ "$3" = 1 ] || continue
                tries=$((tries + 1))
                [ "$(version)" = 200 ] || failed=$((failed + 1))
        done
        return 1
}

# --- one fan-out provisions every host for its role ------------------------------------------
ks fanout -- apply
tap_is "$RC" 0 "fanout apply: three controllers and the load balancer"
[ "$RC" = 0 ] || tap_diag "$ERR $OUT"
tap_like "$OUT" '^lb-0 +ok ' "table: lb-0 ok"
tap_is "$(version)" 200 "/version answers through the load balancer"
tap_like "$(curl -s --cacert "$wd/pki/ca.pem" "https://$LB:6443/version")" '"gitVersion": *"v1.21.0"' \
        "the API servers' version, through the public address"
tap_ok "haproxy runs on lb-0" host_exec 3 systemctl is-active --quiet haproxy
tap_ok "lb-0 runs no Kubernetes component" host_exec 3 sh -c \
        '! test -e /usr/local/bin/kube-apiserver && ! test -e /etc/systemd/system/kube-apiserver.service && ! systemctl is-active --quiet kube-apiserver'
tap_ok "controllers run no haproxy config of ours" host_exec 0 sh -c '! grep -q kube-apiserver /etc/haproxy/haproxy.cfg'
for i in 0 1 2; do
        tap_is "$(server_state controller-$i)" UP "haproxy sees controller-$i UP"
done
ks --output json fanout lb-0 -- verify
tap_is "$RC" 0 "verify on the load balancer passes"
rows() { printf '%s\n' "$OUT" | grep '"event":"status"' | grep -F "\"component\":\"$1\""; }
tap_like "$(rows 'haproxy (load balancer)' | grep -F '/run/haproxy/admin.sock')" '"ok":true' \
        "its haproxy row: every backend UP in the stats socket"
tap_like "$(rows 'version (public)')" '"ok":true.*"detail":"v1.21.0"' "its /version through the public address"
tap_is "$(rows 'backend controller-1' | grep -c '"ok":true')" 1 "and each backend's /readyz"
ks --output json fanout controller-2 -- status
tap_like "$(rows 'backend controller-0')" '"ok":true.*"detail":"UP"' "status on a controller shows each backend's state"

# --- failover: a stopped kube-apiserver leaves rotation, requests keep succeeding -----------
# Five runs with no client traffic (the active checks alone find it), five with /version asked
# through the load balancer all along (a client's refused connection marks it down at once).
interval=$(sed -n 's/.*default-server inter \([0-9]*\) .*/\1/p' "$HOST_ROOT_3/etc/haproxy/haproxy.cfg")
removal_idle=() removal_busy=() back=() lost=0 sent=0
for run in 1 2 3 4 5 6 7 8 9 10; do
        i=$(( (run - 1) % 3 )) traffic=$(( run > 5 ))
        host_exec "$i" systemctl stop kube-apiserver
        t0=$(now)
        wait_state controller-$i DOWN "$traffic" || { tap_diag "run $run: controller-$i never left rotation"; lost=-1; break; }
        if [ "$traffic" = 1 ]; then removal_busy+=("$(ms_since "$t0")"); else removal_idle+=("$(ms_since "$t0")"); fi
        sent=$((sent + tries)) lost=$((lost + failed))
        # out of rotation: requests go to the two others
        [ "$(version)" = 200 ] || lost=$((lost + 1))
        sent=$((sent + 1))
        host_exec "$i" systemctl start kube-apiserver
        t0=$(now)
        wait_state controller-$i UP "$traffic" || { tap_diag "run $run: controller-$i never came back"; lost=-1; break; }
        back+=("$(ms_since "$t0")")
        sent=$((sent + tries)) lost=$((lost + failed))
done
tap_is "$(( ${#removal_idle[@]} + ${#removal_busy[@]} ))" 10 "each stopped kube-apiserver left rotation (10 runs)"
tap_is "${#back[@]}" 10 "and came back once started"
tap_is "$lost" 0 "no /version request through the load balancer failed meanwhile ($sent sent)"
median() { printf '%s\n' "$@" | sort -n | awk '{ a[NR] = $1 } END { print (NR % 2) ? a[(NR + 1) / 2] : int((a[NR / 2] + a[NR / 2 + 1]) / 2) }'; }
tap_diag "check interval ${interval} ms (fall 2, rise 2)"
tap_diag "failure to removal, no traffic (active checks): ${removal_idle[*]} ms, median $(median "${removal_idle[@]}") ms"
tap_diag "failure to removal, with traffic (observe layer4): ${removal_busy[*]} ms, median $(median "${removal_busy[@]}") ms"
tap_diag "start to back in rotation: ${back[*]} ms, median $(median "${back[@]}") ms"

# --- a second apply restarts and reloads nothing -----------------------------------------------
before=$(workers) cfg=$(stat -c '%i %Y' "$HOST_ROOT_3/etc/haproxy/haproxy.cfg")
ks fanout -- apply
tap_is "$RC" 0 "a second fanout apply succeeds"
tap_like "$OUT" '^lb-0 +ok +0 ' "lb-0: nothing changed"
tap_unlike "$OUT" 'reloaded haproxy|restarted' "nothing restarted or reloaded"
tap_is "$(workers)" "$before" "haproxy's workers are the same processes (no reload)"
tap_is "$(stat -c '%i %Y' "$HOST_ROOT_3/etc/haproxy/haproxy.cfg")" "$cfg" "haproxy.cfg was not rewritten"

# --- a broken template is refused by haproxy -c, nothing is reloaded ---------------------------
host_exec 3 mkdir -p /etc/kubestrap/templates
sed 's/^\tbalance roundrobin$/\tbalance no-such-algorithm/' "$top_srcdir/templates/haproxy.cfg" > "$wd/broken.cfg"
host_copy_in 3 "$wd/broken.cfg" /etc/kubestrap/templates/haproxy.cfg
host_exec 3 chmod 0644 /etc/kubestrap/templates/haproxy.cfg
ks fanout lb-0 -- apply
tap_is "$RC" 1 "apply with a broken haproxy template fails"
tap_like "$OUT$ERR" 'haproxy rejects the configuration staged for /etc/haproxy/haproxy.cfg' "haproxy -c refused the staged file"
tap_is "$(workers)" "$before" "nothing was reloaded"
tap_is "$(stat -c '%i %Y' "$HOST_ROOT_3/etc/haproxy/haproxy.cfg")" "$cfg" "the published haproxy.cfg is untouched"
tap_is "$(version)" 200 "/version still answers through the load balancer"
host_exec 3 rm -f /etc/kubestrap/templates/haproxy.cfg

tap_done
