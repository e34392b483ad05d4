#!/bin/bash
# Integration: the tutorial's current edition (v1.32.3, test/golden/kthw-2025/, derived from
# the seed's by derive-from-2021.sh) renders byte for byte from that edition's values and PKI
# names; the layout is detected from the files; a version outside v1.21-v1.36 is refused.
set -eu
. "${top_srcdir:-$(dirname "$0")/../..}/test/lib/common.sh"
ks_setup
G=$top_srcdir/test/golden/kthw-2025

# The derived golden files are what the script makes of the seed's today.
"$G/derive-from-2021.sh" "$top_srcdir/test/golden" "$WORK/derived"
for f in kube-apiserver.service kube-controller-manager.service kube-scheduler.service kube-scheduler.yaml; do
        tap_ok "kthw-2025/$f is what derive-from-2021.sh makes of the seed's" cmp "$G/$f" "$WORK/derived/$f"
done

# The current edition's PKI names: the seed's files, renamed as the notes list.
P25=$WORK/pki-2025
mkdir -p "$P25"
while read -r old new; do
        cp -p "$PKI/$old" "$P25/$new"
done <<'NAMES'
ca.pem ca.crt
ca-key.pem ca.key
kubernetes.pem kube-api-server.crt
kubernetes-key.pem kube-api-server.key
service-account.pem service-accounts.crt
service-account-key.pem service-accounts.key
encryption-config.yaml encryption-config.yaml
kube-controller-manager.kubeconfig kube-controller-manager.kubeconfig
kube-scheduler.kubeconfig kube-scheduler.kubeconfig
admin.kubeconfig admin.kubeconfig
NAMES

# The edition's values: one local etcd over http, its issuer name, its file names, and the two
# flags it leaves out that are no version rule (--advertise-address; --leader-elect=true, the
# default) as the operator's removals.
VERSION=v1.32.3 ks_publish_binaries v1.32.3
ks_set cluster version v1.32.3
ks_set cluster etcd-servers http://127.0.0.1:2379
ks_set cluster public-address server.kubernetes.local
ks_set pki source-dir "$P25"
ks_set pki layout kthw-2025
ks_set kube-apiserver -advertise-address ""
ks_set kube-controller-manager -leader-elect ""
R2=$WORK/root-2025
mkdir -p "$R2"
# The throwaway certificate names 203.0.113.10, and server.kubernetes.local resolves only in the
# tutorial's /etc/hosts: san and dns are ignored.
ks -c "$CONF" --root "$R2" --ignore san --ignore dns apply
tap_is "$RC" 0 "apply of the current edition's config succeeds"
[ "$RC" = 0 ] || printf "%s\n" "$ERR" | sed "s|^|# |"
for u in kube-apiserver kube-controller-manager kube-scheduler; do
        tap_ok "$u.service is the current edition's, byte for byte" cmp "$G/$u.service" "$R2/etc/systemd/system/$u.service"
done
tap_ok "kube-scheduler.yaml is the current edition's (kubescheduler.config.k8s.io/v1)" \
        cmp "$G/kube-scheduler.yaml" "$R2/etc/kubernetes/config/kube-scheduler.yaml"
tap_ok "the PKI is installed under the edition's names" \
        test -f "$R2/var/lib/kubernetes/ca.crt" -a -f "$R2/var/lib/kubernetes/kube-api-server.key" -a -f "$R2/var/lib/kubernetes/service-accounts.crt"
tap_ok "and not under the seed's" test ! -e "$R2/var/lib/kubernetes/ca.pem"
tap_like "$(cat "$R2/etc/nginx/sites-available/kubernetes.default.svc.cluster.local")" \
        'proxy_ssl_trusted_certificate /var/lib/kubernetes/ca.crt;' "the nginx site trusts ca.crt"

ks -c "$CONF" --root "$R2" --ignore san --ignore dns preflight
tap_like "$OUT$ERR" 'kube-api-server.crt is signed by ca.crt' "preflight checks the chain under the edition's names"
tap_like "$OUT$ERR" 'cert-key.*each certificate matches its key' "and the certificate/key pairs"

# Without the key, the layout comes from the files: nothing changes.
sed -i '/^layout = /d' "$CONF"
ks -c "$CONF" --root "$R2" --ignore san --ignore dns apply
tap_is "$RC" 0 "apply without [pki] layout succeeds"
tap_like "$OUT" 'nothing to do|0 changed' "the layout detected from ca.crt renders the same files"

# --- the supported range ----------------------------------------------------------------
for v in v1.20.15 v1.37.0; do
        ks_set cluster version "$v"
        line=$(grep -n '^version = ' "$CONF" | cut -d: -f1)
        ks -c "$CONF" --root "$R2" plan
        tap_is "$RC" 2 "version = $v: exit 2"
        tap_like "$ERR" "$CONF:$line: \[cluster\] version: invalid value '$v': kubestrap supports Kubernetes v1.21 to v1.36" \
                "version = $v is refused, naming file, line, key and the range"
done

# --- etcd-servers: plain http only to a local etcd ----------------------------------------
ks_set cluster version v1.32.3
ks_set cluster etcd-servers http://10.240.0.10:2379
ks -c "$CONF" --root "$R2" plan
tap_like "$ERR" "\[cluster\] etcd-servers: invalid value 'http://10.240.0.10:2379': plain http:// is only allowed to a local etcd" \
        "http:// to another host is refused"

tap_done
