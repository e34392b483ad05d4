#!/bin/bash
# Integration: preflight checks of the configuration and the PKI (the machine checks run on the
# booted hosts, test/sys/sys-apply.sh): each failure names the file and how to fix it, apply refuses
# to change anything, and --ignore NAME turns one failure into a warning.
set -eu
. "${top_srcdir:-$(dirname "$0")/../..}/test/lib/common.sh"
ks_setup
empty() { find "$ROOT" -mindepth 1 | wc -l; }

ks -c "$CONF" --root "$ROOT" preflight
tap_is "$RC" 0 "preflight passes with the seed's PKI"
for c in pki-files key-modes cert-key ca-chain cert-expiry san dns; do
        tap_like "$OUT" "^preflight $c +ok " "check '$c' is run and passes"
done
ks -c "$CONF" --root "$ROOT" --output json preflight
tap_like "$(printf '%s\n' "$OUT" | grep '"name":"san"')" '"status":"ok"' "checks are JSON events too"

# the PKI exactly as the tutorial's chapter 04 makes it (cfssl, its -hostname list): its
# certificate names kubernetes.svc.cluster.local, not kubernetes.default.svc.cluster.local
kthw=$top_srcdir/test/lib/kthw-pki.sh
if "$kthw" "$WORK/kthw" > /dev/null 2>&1; then
        ks_set pki source-dir "$WORK/kthw"
        ks -c "$CONF" --root "$ROOT" preflight
        tap_is "$RC" 0 "preflight passes with the tutorial's PKI"
        tap_like "$ERR" "preflight san +warn kubernetes.pem does not name kubernetes.default.svc.cluster.local; fix: add them" \
                "the missing DNS name is a warning that names it"
        tap_unlike "$ERR" "kubernetes\.svc\.cluster\.local|kubernetes\.default," "and nothing else"
        mkdir "$WORK/kthw-root" "$WORK/kthw-root2"
        ks -c "$CONF" --root "$WORK/kthw-root" apply
        tap_is "$RC" 0 "apply goes ahead with the tutorial's PKI"
        # an address the control plane uses is still required: the node's, and 127.0.0.1
        ks_set node internal-ip 10.240.0.13
        ks -c "$CONF" --root "$ROOT" preflight
        tap_like "$ERR" "preflight san +FAIL kubernetes.pem does not cover 10.240.0.13; fix:" \
                "a tutorial PKI that lacks the node's address fails, naming it"
        ks_set node internal-ip 10.240.0.10
        no_lo=10.32.0.1,10.240.0.10,10.240.0.11,10.240.0.12,203.0.113.10
        no_lo=$no_lo,kubernetes,kubernetes.default,kubernetes.default.svc,kubernetes.default.svc.cluster
        no_lo=$no_lo,kubernetes.svc.cluster.local
        "$kthw" "$WORK/kthw-no-lo" 203.0.113.10 "$no_lo" > /dev/null 2>&1
        ks_set pki source-dir "$WORK/kthw-no-lo"
        ks -c "$CONF" --root "$WORK/kthw-root2" apply
        tap_is "$RC" 1 "apply refuses a tutorial PKI without 127.0.0.1"
        tap_like "$ERR" "preflight san +FAIL kubernetes.pem does not cover 127.0.0.1; fix:" "naming the address"
        ks_set pki source-dir "$PKI"
else
        tap_skip "preflight with the tutorial's PKI" "no cfssl (scripts/deps installs golang-cfssl)"
fi

# a key that does not belong to its certificate
cp -a "$PKI" "$WORK/pki2"
cp "$WORK/pki2/service-account-key.pem" "$WORK/pki2/kubernetes-key.pem"
ks_set pki source-dir "$WORK/pki2"
ks -c "$CONF" --root "$ROOT" apply
tap_is "$RC" 1 "apply refuses a key that does not match its certificate"
tap_like "$ERR" "preflight cert-key +FAIL kubernetes.pem does not match kubernetes-key.pem; fix: use the key that was issued with the certificate" \
        "the check names both files and the fix"
tap_like "$ERR" "preflight: 1 check\(s\) failed; nothing was changed" "and says nothing was changed"
tap_is "$(empty)" 0 "nothing was written"

# secrets readable by others
cp -a "$PKI" "$WORK/pki3"; chmod 0644 "$WORK/pki3/ca-key.pem"
ks_set pki source-dir "$WORK/pki3"
ks -c "$CONF" --root "$ROOT" preflight
tap_like "$ERR" "preflight key-modes +FAIL secrets readable by others: $WORK/pki3/ca-key.pem \(0644\); fix: chmod 600 them" \
        "a private key readable by others is refused"

# a certificate from another CA
"$top_srcdir/scripts/make-pki" "$WORK/other" >/dev/null
cp -a "$PKI" "$WORK/pki4"
cp "$WORK/other/kubernetes.pem" "$WORK/other/kubernetes-key.pem" "$WORK/pki4/"
ks_set pki source-dir "$WORK/pki4"
ks -c "$CONF" --root "$ROOT" preflight
tap_like "$ERR" "preflight ca-chain +FAIL kubernetes.pem is not signed by ca.pem: unable to get local issuer certificate" \
        "a certificate from another CA is refused"

# a node address the API server certificate does not cover; --ignore demotes it
ks_set pki source-dir "$PKI"
ks_set node internal-ip 10.240.0.99
ks -c "$CONF" --root "$ROOT" apply
tap_is "$RC" 1 "apply refuses a certificate that does not cover the node"
tap_like "$ERR" "preflight san +FAIL kubernetes.pem does not cover 10.240.0.99; fix: issue kubernetes.pem with these subjectAltNames" \
        "the missing name is named"
ks -c "$CONF" --root "$ROOT" --ignore san apply
tap_is "$RC" 0 "--ignore san lets apply go ahead"
tap_like "$ERR" "preflight san +warn kubernetes.pem does not cover 10.240.0.99 \(ignored\)" "and the failure is still shown, as a warning"
ks -c "$CONF" --root "$ROOT" --ignore sna apply
tap_is "$RC" 2 "an unknown check name is a usage error"
tap_like "$(printf '%s\n' "$ERR" | head -n 1)" "^kubestrap: --ignore: no preflight check is called 'sna'; usage: kubestrap " "naming the bad name"
tap_is "$(printf '%s\n' "$ERR" | sed -n 2p)" "Try 'kubestrap --help'." "and where to read more"

ks_set node internal-ip 10.240.0.10
ks_set cluster public-address kubernetes-api.invalid
ks -c "$CONF" --root "$ROOT" preflight
tap_like "$ERR" "preflight dns +FAIL cannot resolve kubernetes-api.invalid" "a name that does not resolve is reported"
ks_set cluster public-address 203.0.113.10

# certificate lifetimes: the API server's certificate issued again by the same CA, with the same
# key and names, for 10 days (a warning) and for 0 days (expired: a failure)
reissue() { # DIR DAYS
        cp -a "$PKI" "$1"
        (
                cd "$1"
                openssl x509 -x509toreq -in kubernetes.pem -signkey kubernetes-key.pem -out k.csr 2> /dev/null
                printf 'subjectAltName=%s\n' "$(openssl x509 -in kubernetes.pem -noout -ext subjectAltName |
                        tail -n 1 | sed 's/^ *//; s/IP Address:/IP:/g; s/, /,/g')" > k.ext
                openssl x509 -req -in k.csr -CA ca.pem -CAkey ca-key.pem -days "$2" -extfile k.ext \
                        -out kubernetes.pem 2> /dev/null
                rm -f k.csr k.ext
        )
}
reissue "$WORK/pki-10d" 10
ks_set pki source-dir "$WORK/pki-10d"
ks -c "$CONF" --root "$ROOT" preflight
tap_is "$RC" 0 "a certificate ending in 10 days passes preflight"
tap_like "$OUT$ERR" "preflight cert-expiry +warn kubernetes.pem ends in (9|10) days; fix: renew it soon" \
        "with a warning that says how soon it ends"
tap_like "$OUT$ERR" "preflight san +ok" "the reissued certificate keeps its names"
reissue "$WORK/pki-0d" 0
sleep 1 # notAfter is the second it was issued
ks_set pki source-dir "$WORK/pki-0d"
before=$(find "$ROOT" | sort)
ks -c "$CONF" --root "$ROOT" apply
tap_is "$RC" 1 "apply refuses an expired certificate"
tap_like "$ERR" "preflight cert-expiry +FAIL kubernetes.pem expired; fix: issue a new certificate" "and says so"
tap_is "$(find "$ROOT" | sort)" "$before" "nothing was changed"
ks_set pki source-dir "$PKI"

# the etcd disk: fsync latency measured where etcd keeps its data
mkdir "$WORK/etcd"
ks_set node etcd-data-dir "$WORK/etcd"
ks -c "$CONF" --root "$ROOT" preflight
tap_like "$OUT$ERR" "preflight etcd-disk +(ok|warn) +fsync p99 [0-9]+\.[0-9]{2} ms over 100 writes in $WORK/etcd" \
        "etcd-disk measures 100 fsyncs in etcd-data-dir and reports the p99"
tap_is "$(ls -A "$WORK/etcd")" "" "and leaves nothing behind"
ks_set node etcd-data-dir "$WORK/no-such-dir"
ks -c "$CONF" --root "$ROOT" preflight
tap_like "$ERR" "preflight etcd-disk +FAIL $WORK/no-such-dir: No such file or directory; fix: create the directory" \
        "a missing etcd-data-dir is named"
full=$WORK/full; mkdir "$full"
if mount -t tmpfs -o size=64k tmpfs "$full" 2> /dev/null; then
        head -c 1m /dev/zero > "$full/fill" 2> /dev/null || true
        ks_set node etcd-data-dir "$full"
        ks -c "$CONF" --root "$ROOT" preflight
        umount "$full"
        tap_like "$ERR" "preflight etcd-disk +FAIL $full: writes fail: No space left on device" \
                "a disk that takes no writes is refused, saying why"
else
        tap_skip "a disk that takes no writes is refused" "cannot mount a tmpfs here"
fi
ks_set node etcd-data-dir ""

tap_done
