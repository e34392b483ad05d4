#!/bin/bash
# System test: kubestrap provisions a booted Debian host (systemd as PID 1, real nginx) from
# the HTTPS mirror on the test bridge, with the stand-in control-plane binaries: everything
# active and healthy, the nginx proxy answering, a second apply restarting nothing, one changed
# flag restarting one unit, a crashing API server explained by its journal, a reboot coming
# back by itself, and the RBAC objects applied once.
set -eu
. "${top_srcdir:-$(dirname "$0")/../..}/test/lib/system.sh"
sys_begin 1 ks-sys
IP=$HOST_IP_0
conf=$wd/kubestrap.conf
prov_one_up "$wd" "$conf" || tap_bail "could not provision the host (mirror, PKI, kubestrap)"
put_conf() { host_copy_in 0 "$conf" /etc/kubestrap/kubestrap.conf; }

apply() {
        local t0=$EPOCHREALTIME
        set +e
        OUT=$(prov_kubestrap 0 --output json apply 2>"$wd/err")
        RC=$?
        set -e
        ERR=$(cat "$wd/err")
        MS=$(awk -v a="$t0" -v b="$EPOCHREALTIME" 'BEGIN { printf "%d", (b - a) * 1000 }')
}
summary() { printf '%s\n' "$OUT" | tail -n 1; }
field() { summary | sed -n "s/.*\"$1\":\([0-9-]*\).*/\1/p"; }
unit_event() { printf '%s\n' "$OUT" | grep "\"event\":\"unit\",\"unit\":\"$1\""; }
pids() {
        for u in kube-apiserver kube-controller-manager kube-scheduler; do
                host_exec 0 systemctl show -p MainPID -p ActiveEnterTimestamp --value "$u.service" | tr '\n' ' '
                echo
        done
}
proxy() { curl -s -o /dev/null -w '%{http_code}' -H 'Host: kubernetes.default.svc.cluster.local' "http://$IP/healthz"; }

ks_in() { # runs kubestrap VERB in the host: RC, OUT
        set +e
        OUT=$(prov_kubestrap 0 "$@" 2>&1)
        RC=$?
        set -e
}

# --- preflight on the live machine: a foreign process on the API server's port -----------
host_copy_in 0 "$STANDIN" /usr/local/bin/squatter
host_exec 0 mkdir -p /tmp/sq
host_copy_in 0 "$wd/pki/kubernetes.pem" /tmp/sq/c.pem
host_copy_in 0 "$wd/pki/kubernetes-key.pem" /tmp/sq/k.pem
# UNIT PROGRAM: a TLS server on 6443 from a transient unit of its own (the stand-in as a
# controller-manager: as an API server it would wait for an etcd that is not there yet)
squat() {
        host_exec 0 systemd-run --unit="$1" --setenv=STANDIN_ROLE=kube-controller-manager "$2" \
                --secure-port=6443 --kubeconfig=/tmp/sq/c.pem --tls-cert-file=/tmp/sq/c.pem \
                --tls-private-key-file=/tmp/sq/k.pem >/dev/null 2>&1
        for _ in $(seq 50); do host_exec 0 sh -c 'ss -ltn | grep -q ":6443 "' && break; sleep 0.1; done
        apply
}
squat squatter /usr/local/bin/squatter
tap_is "$RC" 1 "apply refuses while another program holds port 6443"
tap_like "$OUT" '"name":"ports","status":"FAIL","ignored":false,"message":"port 6443 \(for kube-apiserver\) is in use by squatter \(pid [0-9]+, cgroup /system.slice/squatter.service\), not by kube-apiserver.service"' \
        "preflight names the process on the port, its cgroup and the unit that should hold it"
tap_ok "and nothing was installed" host_exec 0 test ! -e /usr/local/bin/kube-apiserver
host_exec 0 systemctl stop squatter.service
# a name proves nothing: the same program called kube-apiserver, outside our unit, is refused too
host_copy_in 0 "$STANDIN" /tmp/sq/kube-apiserver
squat squatter2 /tmp/sq/kube-apiserver
tap_is "$RC" 1 "apply refuses a foreign process called kube-apiserver on port 6443"
tap_like "$OUT" '"message":"port 6443 \(for kube-apiserver\) is in use by kube-apiserver \(pid [0-9]+, cgroup /system.slice/squatter2.service\), not by kube-apiserver.service"' \
        "naming it and its cgroup"
tap_ok "and nothing was installed either" host_exec 0 test ! -e /usr/local/bin/kube-apiserver
host_exec 0 systemctl stop squatter2.service
ks_in preflight
tap_is "$RC" 0 "preflight passes once the port is free"
for c in root systemd ports swap nginx san; do
        tap_like "$OUT" "preflight $c +ok" "live check '$c' passes"
done

# --- first apply ------------------------------------------------------------------------
apply
tap_is "$RC" 0 "apply provisions the host"
[ "$RC" = 0 ] || tap_diag "$ERR"
tap_like "$(summary)" '"changed":[1-9][0-9]*,.*"failed":0' "summary counts the changes"
tap_diag "first apply: ${MS} ms wall; plan $(field plan_ms) ms, install $(field install_ms) ms, systemd jobs $(field start_ms) ms, health wait $(field healthy_ms) ms"
for u in kube-apiserver kube-controller-manager kube-scheduler nginx; do
        tap_is "$(host_exec 0 systemctl is-active "$u.service")" active "$u.service is active"
        tap_is "$(host_exec 0 systemctl is-enabled "$u.service")" enabled "$u.service is enabled"
done
tap_like "$(unit_event kube-apiserver)" '"action":"started"' "kube-apiserver reported as started"
tap_is "$(proxy)" 200 "the nginx /healthz proxy on $IP:80 answers 200 from the machine"
tap_is "$(curl -s --cacert "$wd/pki/ca.pem" "https://$IP:6443/version" | sed -n 's/.*"gitVersion": *"\([^"]*\)".*/\1/p')" v1.21.0 \
        "/version through the node's address"
tap_is "$(host_exec 0 readlink /etc/nginx/sites-enabled/kubernetes.default.svc.cluster.local)" \
        /etc/nginx/sites-available/kubernetes.default.svc.cluster.local "nginx site enabled the seed's way"
tap_is "$(host_exec 0 grep -c 'PATCH /apis/rbac.authorization.k8s.io/v1/' /var/log/audit.log)" 2 \
        "RBAC: the ClusterRole and its binding were applied (server-side apply)"

ks_in verify
tap_is "$RC" 0 "kubestrap verify passes on the provisioned host"
tap_like "$OUT" 'kube-scheduler +kube-scheduler.service +active/running +[0-9]+ ok' "verify's table shows the scheduler unit and health"
tap_like "$OUT" "version \(public\) .* ok   v1.21.0 \(https://$IP:6443/version\)" "verify checks /version through the public address"
ks_in --output json status
tap_is "$(printf '%s\n' "$OUT" | grep -c '"event":"status"')" 10 \
        "status in JSON: one event per check (the API server's /livez and /readyz are two; etcd's /health, its one member and the API server's view of it are three)"
tap_like "$(printf '%s\n' "$OUT" | grep '"component":"nginx proxy"')" '"ok":true' "the proxy check is in it"

# --- second apply: nothing restarted ------------------------------------------------------
before=$(pids)
apply
tap_is "$RC" 0 "second apply succeeds"
tap_like "$(summary)" '"changed":0,' "second apply changes no file"
tap_is "$(pids)" "$before" "second apply restarts nothing (same main PIDs and start timestamps)"
tap_is "$(printf '%s\n' "$OUT" | grep -c '"action":"unchanged"')" 4 "all four units (etcd's too) reported unchanged"
tap_is "$(host_exec 0 grep -c 'PATCH /apis/rbac' /var/log/audit.log)" 2 "RBAC not applied again (once per cluster)"

# --- "ours" is decided by the unit, not by the program's name ---------------------------
api_pid() { host_exec 0 systemctl show -p MainPID --value kube-apiserver.service; }
wait_api() { # the API server's main process, from the expected program, listening on 6443
        for _ in $(seq 100); do
                host_exec 0 sh -c "readlink /proc/\$(systemctl show -p MainPID --value kube-apiserver.service)/exe |
                        grep -q '$1' && ss -ltn | grep -q ':6443 '" && return 0
                sleep 0.1
        done
        return 1
}
# the binary replaced under the running API server: /proc/PID/exe says "... (deleted)"
host_exec 0 sh -c 'cp /usr/local/bin/kube-apiserver /tmp/ka && rm /usr/local/bin/kube-apiserver &&
        install -m 0755 /tmp/ka /usr/local/bin/kube-apiserver && rm /tmp/ka'
tap_like "$(host_exec 0 readlink "/proc/$(api_pid)/exe")" '^/usr/local/bin/kube-apiserver \(deleted\)$' \
        "the running API server's binary was replaced under it"
ks_in preflight
tap_like "$OUT" "preflight ports +ok" "preflight ports calls it ours all the same"
apply
tap_is "$RC" 0 "and apply succeeds"
# our unit running the program under another name (a drop-in)
cat > "$wd/renamed.sh" <<'SH'
set -e
cp /usr/local/bin/kube-apiserver /usr/local/bin/apiserver-renamed
mkdir -p /etc/systemd/system/kube-apiserver.service.d
{
        echo '[Service]'
        echo 'Environment=STANDIN_ROLE=kube-apiserver'
        echo 'ExecStart='
        awk '/^ExecStart=/ { on = 1 } on { print; if ($0 !~ /\\$/) exit }' \
                /etc/systemd/system/kube-apiserver.service |
                sed 's|/usr/local/bin/kube-apiserver|/usr/local/bin/apiserver-renamed|'
} > /etc/systemd/system/kube-apiserver.service.d/renamed.conf
systemctl daemon-reload
systemctl restart kube-apiserver.service
SH
host_copy_in 0 "$wd/renamed.sh" /tmp/renamed.sh
host_exec 0 sh /tmp/renamed.sh
tap_ok "our unit now runs the API server as apiserver-renamed" wait_api '/apiserver-renamed$'
ks_in preflight
tap_like "$OUT" "preflight ports +ok" "preflight ports calls it ours"
apply
tap_is "$RC" 0 "and apply succeeds"
host_exec 0 sh -c 'rm -r /etc/systemd/system/kube-apiserver.service.d /usr/local/bin/apiserver-renamed &&
        systemctl daemon-reload && systemctl restart kube-apiserver.service'
wait_api '/kube-apiserver$' || tap_bail "the API server did not come back from /usr/local/bin/kube-apiserver"

# --- one flag changed: only that unit restarts ------------------------------------------
sed -i 's/^\[kube-controller-manager\]$/&\nv = 4/' "$conf"
put_conf
before=$(pids)
apply
tap_is "$RC" 0 "apply with one changed controller-manager flag succeeds"
after=$(pids)
tap_is "$(sed -n 1p <<<"$after")" "$(sed -n 1p <<<"$before")" "kube-apiserver not restarted"
tap_isnt() { if [ "$1" != "$2" ]; then tap_pass "$3"; else tap_fail "$3" "both: $1"; fi; }
tap_isnt "$(sed -n 2p <<<"$after")" "$(sed -n 2p <<<"$before")" "kube-controller-manager restarted"
tap_is "$(sed -n 3p <<<"$after")" "$(sed -n 3p <<<"$before")" "kube-scheduler not restarted"
tap_like "$(unit_event kube-controller-manager)" '"action":"restarted"' "reported as restarted"
tap_like "$(host_exec 0 systemctl show -p ExecStart --value kube-controller-manager.service)" '--v=4' "running with the new flag"

# --- a crashing API server: the failure shows its journal ----------------------------------
sed -i 's|^\[kube-apiserver\]$|&\ntls-cert-file = /var/lib/kubernetes/missing.pem|' "$conf"
put_conf
apply
tap_is "$RC" 1 "a crash-looping API server fails the run"
tap_like "$ERR" "kube-apiserver.service keeps crashing" "the error names the unit"
tap_like "$ERR" "last journal lines of kube-apiserver.service:" "the error carries its journal"
# the main process's line is true to the moment it was read: a new process that Restart=
# started is running, or the last one exited non-zero (never "exited with status 0")
tap_like "$ERR" "kube-apiserver.service: [a-z]+/[a-z-]+, result [a-z-]+, (main process running \(pid [0-9]+\)|main process exited with status [1-9][0-9]*|main process killed by signal [0-9]+), restarted [0-9]+ times" \
        "the unit's line says how its main process stands"
tap_like "$ERR" "Error: open /var/lib/kubernetes/missing.pem: no such file or directory" \
        "with the stand-in's own message"
ks_in verify
tap_is "$RC" 1 "verify fails while the API server is down"
tap_like "$OUT" 'nginx proxy .*FAIL nginx answers but the API server behind it does not \(HTTP 502\)' \
        "and tells a 502 from nginx apart from nginx being down"
sed -i '/^tls-cert-file = /d' "$conf"
put_conf
apply
tap_is "$RC" 0 "fixing the flag brings it back"
tap_is "$(proxy)" 200 "and the proxy answers again"

# --- SIGTERM while waiting for health: stops waiting and says what it leaves ------------------
# The API server moved to another port: it runs, but 6443 never answers.
sed -i 's|^\[kube-apiserver\]$|&\n+secure-port = 6444|' "$conf"
put_conf
prov_kubestrap 0 --output json apply > "$wd/int.out" 2> "$wd/int.err" &
pid=$!
for _ in $(seq 200); do
        host_exec 0 systemctl show -p ExecStart --value kube-apiserver.service | grep -q -- '--secure-port=6444' &&
                host_exec 0 systemctl is-active -q kube-apiserver.service && break
        sleep 0.05
done
sleep 0.3 # into the health wait
host_exec 0 pkill -TERM -x kubestrap || true
RC=0
wait "$pid" || RC=$?
tap_is "$RC" 143 "SIGTERM during the health wait: exit status 143"
tap_like "$(cat "$wd/int.out")" '"event":"error","message":"apply interrupted by SIGTERM: the files are in place, the units may still be starting; run apply again"' \
        "and says the files are in place"
sed -i '/^+secure-port = 6444$/d' "$conf"
put_conf
apply
tap_is "$RC" 0 "the next apply brings the API server back to 6443"

# --- reboot: the units come back by themselves ---------------------------------------------
host_reboot 0
ok=0
for _ in $(seq 100); do
        [ "$(proxy)" = 200 ] && { ok=1; break; }
        sleep 0.1
done
tap_is "$ok" 1 "after a reboot the control plane is healthy again without kubestrap"
for u in kube-apiserver kube-controller-manager kube-scheduler; do
        tap_is "$(host_exec 0 systemctl is-active "$u.service")" active "$u.service active after reboot"
done
apply
tap_is "$RC" 0 "apply after the reboot succeeds"
tap_like "$(summary)" '"changed":0,' "and has nothing to change"

# --- reset: our units stopped and gone, nginx stays without our site -----------------------
# with more units recorded than the 8 stop modes reset once had room for: ten more, running
cat > "$wd/extra.sh" <<'SH'
set -e
for i in $(seq 10); do
        u=/etc/systemd/system/ks-extra-$i.service
        printf '[Service]\nExecStart=/bin/sleep infinity\n' > "$u"
        printf 'file\t%s\t-\t-\tsha256\t%s\t0\t0\t0\t0\t0\n' "$u" \
                "$(sha256sum "$u" | cut -d' ' -f1)" >> /var/lib/kubestrap/installed
done
systemctl daemon-reload
systemctl start $(seq -f 'ks-extra-%g.service' 10)
SH
host_copy_in 0 "$wd/extra.sh" /tmp/extra.sh
host_exec 0 sh /tmp/extra.sh
tap_is "$(host_exec 0 systemctl is-active $(seq -f 'ks-extra-%g.service' 10) | sort -u)" active \
        "ten more units recorded in the state, running"
ks_in reset
tap_is "$RC" 0 "reset succeeds on the host"
tap_is "$(host_exec 0 systemctl is-active $(seq -f 'ks-extra-%g.service' 10) | sort -u)" inactive \
        "all thirteen recorded units are stopped, the ninth and later too"
for u in kube-apiserver kube-controller-manager kube-scheduler; do
        tap_is "$(host_exec 0 systemctl is-active "$u.service" || true)" inactive "$u.service stopped"
        tap_ok "$u.service unit file removed" host_exec 0 test ! -e "/etc/systemd/system/$u.service"
done
tap_ok "no enable links left" host_exec 0 sh -c '! ls /etc/systemd/system/multi-user.target.wants/kube-* 2>/dev/null'
tap_ok "binaries removed" host_exec 0 test ! -e /usr/local/bin/kube-apiserver
tap_is "$(host_exec 0 systemctl is-active nginx.service)" active "nginx (the distribution's) keeps running"
# nginx's reload is graceful: old workers finish their connections first
code=$(proxy); for _ in $(seq 50); do [ "$code" = 404 ] && break; sleep 0.1; code=$(proxy); done
tap_is "$code" 404 "without our site: the health check is gone"
ks_in reset
tap_is "$RC" 0 "a second reset is harmless"

tap_done
