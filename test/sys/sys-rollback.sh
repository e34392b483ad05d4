#!/bin/bash
# System test: rollback on one booted host. An upgrade from v1.33.4 to a release built to crash
# (v1.34.3-crash) fails its health gate, puts v1.33.4's files back by itself and is healthy
# again (exit 1, the crash's journal line, "rolled back to v1.33.4"); after a good upgrade to
# v1.34.2, `kubestrap rollback` goes back to v1.33.4 on demand.
set -eu
. "${top_srcdir:-$(dirname "$0")/../..}/test/lib/system.sh"
sys_begin 1 ks-rollback
IP=$HOST_IP_0
conf=$wd/kubestrap.conf
prov_one_up "$wd" "$conf" || tap_bail "could not provision the host (mirror, PKI, kubestrap)"

set_version() {
        prov_set_version "$conf" "$1"
        host_copy_in 0 "$conf" /etc/kubestrap/kubestrap.conf
}
ks_in() { # runs kubestrap ARGS... in the host: RC, OUT (stdout), ERR (stderr), MS (wall)
        local t0=$EPOCHREALTIME
        set +e
        OUT=$(prov_kubestrap 0 "$@" 2>"$wd/err")
        RC=$?
        set -e
        ERR=$(cat "$wd/err")
        MS=$(awk -v a="$t0" -v b="$EPOCHREALTIME" 'BEGIN { printf "%d", (b - a) * 1000 }')
}
version() { curl -s --cacert "$wd/pki/ca.pem" "https://$IP:6443/version" | sed -n 's/.*"gitVersion": *"\([^"]*\)".*/\1/p'; }
active() {
        for u in kube-apiserver kube-controller-manager kube-scheduler; do
                host_exec 0 systemctl is-active "$u.service"
        done | sort -u | tr '\n' ' '
}
healthy_at() { # VERSION: every unit active, verify passes with the config at VERSION
        set_version "$1"
        ks_in verify
        tap_is "$RC" 0 "verify passes at $1"
        [ "$RC" = 0 ] || tap_diag "$OUT"
        tap_is "$(active)" "active " "the three units are active"
        tap_is "$(version)" "$1" "/version says $1"
}

# --- v1.33.4 ------------------------------------------------------------------------------
set_version v1.33.4
ks_in apply
tap_is "$RC" 0 "apply v1.33.4"
[ "$RC" = 0 ] || tap_diag "$ERR"
tap_is "$(version)" v1.33.4 "/version says v1.33.4"

# --- a bad release: the gate fails, the host rolls back by itself ---------------------------
set_version v1.34.3-crash
ks_in apply
tap_is "$RC" 1 "apply v1.34.3-crash exits 1"
tap_like "$ERR" "not healthy after the upgrade to v1.34.3-crash, rolling back to v1.33.4" \
        "the error says it rolls back"
tap_like "$ERR" "keeps crashing" "the error names the crash loop"
tap_like "$ERR" "built to crash at start \(a bad release\)" "with the crash's journal line"
tap_is "$(printf '%s\n' "$OUT" | tail -n 1)" "rolled back to v1.33.4" "the last line: rolled back to v1.33.4"
took=$(printf '%s\n' "$OUT" | sed -n 's/^rollback took \([0-9]*\) ms$/\1/p')
tap_like "$took" '^[0-9]+$' "the rollback's time is reported"
tap_diag "automatic rollback (gate failed -> healthy again at v1.33.4): ${took} ms; the whole apply ${MS} ms"
tap_ok "nothing is kept any more" host_exec 0 test ! -e /var/lib/kubestrap/previous
tap_like "$(host_exec 0 grep -P '^release\t' /var/lib/kubestrap/installed)" 'v1\.33\.4' "the state records v1.33.4"
healthy_at v1.33.4

# --- the same in JSON: one rolled_back event --------------------------------------------------
set_version v1.34.3-crash
ks_in --output json apply
tap_is "$RC" 1 "apply v1.34.3-crash in JSON exits 1"
tap_like "$OUT" '"event":"rolled_back","version":"v1.33.4","duration_ms":[0-9]+' "with a rolled_back event"
# every component of a -crash build crashes; the first one the health gate waits for is named
err_event=$(printf '%s\n' "$OUT" | grep -m1 '"event":"error","message":"apply: the control plane is not healthy')
crashed=$(printf '%s\n' "$err_event" | grep -o -m1 'kube-[a-z-]*\.service keeps crashing' | cut -d' ' -f1)
tap_like "$crashed" '^kube-(apiserver|controller-manager|scheduler)\.service$' "the error message names the crashing unit"
tap_like "$err_event" "\"unit\":\"${crashed:-none}\"" "and the error event's unit field is that unit"
tap_is "$(version)" v1.33.4 "/version says v1.33.4 again"

# --- a good upgrade, then a rollback on demand ------------------------------------------------
set_version v1.34.2
ks_in apply
tap_is "$RC" 0 "apply v1.34.2 (a good upgrade)"
[ "$RC" = 0 ] || tap_diag "$ERR"
tap_is "$(version)" v1.34.2 "/version says v1.34.2"
tap_ok "v1.33.4's files are kept" host_exec 0 test -f /var/lib/kubestrap/previous/v1.33.4/usr/local/bin/kube-apiserver
ks_in rollback
tap_is "$RC" 0 "kubestrap rollback"
[ "$RC" = 0 ] || tap_diag "$ERR"
tap_is "$(printf '%s\n' "$OUT" | tail -n 1)" "rolled back to v1.33.4" "it says rolled back to v1.33.4"
tap_diag "rollback on demand: ${MS} ms"
healthy_at v1.33.4
ks_in apply
tap_is "$RC" 0 "apply at v1.33.4 afterwards"
tap_like "$OUT" "apply: 0 changed" "changes nothing: the files are v1.33.4's"
ks_in rollback
tap_is "$RC" 1 "a second rollback is refused"
tap_like "$ERR" "nothing is kept to roll back to" "saying nothing is kept"

# --- reset removes the kept files too --------------------------------------------------------
set_version v1.34.2
ks_in apply
tap_is "$RC" 0 "upgrade to v1.34.2 again"
ks_in reset
tap_is "$RC" 0 "reset"
tap_ok "reset removed the kept files and the state directory" host_exec 0 test ! -e /var/lib/kubestrap

tap_done
