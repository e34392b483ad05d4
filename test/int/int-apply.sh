#!/bin/bash
# Integration: the built kubestrap against a real nginx HTTPS mirror, installing into --root trees:
# fresh apply, idempotence, one changed flag, and every download failure leaving the tree as it was.
set -eu
. "${top_srcdir:-$(dirname "$0")/../..}/test/lib/common.sh"
ks_setup

# Everything kubestrap owns, with inode and mtime: equal listings mean nothing was rewritten.
# Directories are listed without mtime: staging a file next to its target touches the directory.
snapshot() {
        (cd "$1" && { find . -mindepth 1 ! -type d -printf '%p %i %T@ %m %l\n'
                      find . -mindepth 1 -type d -printf '%p %i %m\n'; } | sort)
}
staging_files() { find "$1" -name '.*.ks-*' | wc -l; }

# --- fresh apply -------------------------------------------------------------
ks -c "$CONF" --root "$ROOT" --output json apply
tap_is "$RC" 0 "fresh apply succeeds"
summary=$(printf '%s\n' "$OUT" | tail -n 1)
tap_like "$summary" '^\{"event":"summary","verb":"apply","changed":24,"unchanged":0,"failed":0,' \
        "JSON summary is the last line and counts 24 changes"
tap_is "$(printf '%s\n' "$OUT" | grep -c '"event":"change"')" 24 "one change event per item"
for b in $BINARIES; do
        tap_ok "$b installed byte-identical to the mirror" cmp "$WORK/$b.bin" "$ROOT/usr/local/bin/$b"
done
tap_is "$(stat -c %a "$ROOT/usr/local/bin/kube-apiserver")" 755 "binaries are 0755"
tap_is "$(stat -c %a "$ROOT/var/lib/kubernetes/ca-key.pem")" 600 "private keys are 0600"
tap_is "$(stat -c %a "$ROOT/var/lib/kubernetes/encryption-config.yaml")" 600 "encryption config is 0600"
tap_is "$(stat -c %a "$ROOT/var/lib/kubernetes/kube-scheduler.kubeconfig")" 600 "kubeconfigs are 0600"
tap_is "$(stat -c %a "$ROOT/var/lib/kubernetes/ca.pem")" 644 "certificates are 0644"
tap_is "$(stat -c %U:%G "$ROOT/var/lib/kubernetes/ca-key.pem")" root:root "keys are root-owned"
tap_ok "PKI copied verbatim" cmp "$PKI/kubernetes-key.pem" "$ROOT/var/lib/kubernetes/kubernetes-key.pem"
tap_is "$(readlink "$ROOT/etc/systemd/system/multi-user.target.wants/kube-scheduler.service")" \
        /etc/systemd/system/kube-scheduler.service "unit enabled by its WantedBy symlink"
tap_is "$(readlink "$ROOT/etc/nginx/sites-enabled/kubernetes.default.svc.cluster.local")" \
        /etc/nginx/sites-available/kubernetes.default.svc.cluster.local "nginx site enabled like the seed"
tap_is "$(staging_files "$ROOT")" 0 "no staging files left"

# --- idempotence --------------------------------------------------------------
before=$(snapshot "$ROOT")
sleep 0.01
ks -c "$CONF" --root "$ROOT" --output json apply
tap_is "$RC" 0 "second apply succeeds"
tap_like "$(printf '%s\n' "$OUT" | tail -n 1)" '"changed":0,"unchanged":24,"failed":0' "second apply changes nothing"
tap_is "$(snapshot "$ROOT")" "$before" "second apply rewrote nothing (inodes and mtimes equal)"
ks -c "$CONF" --root "$ROOT" plan
tap_like "$OUT" '^plan: 0 to change, 24 unchanged, 0 failed' "plan on a converged tree is empty"

# --- one changed flag ---------------------------------------------------------
ks_set kube-controller-manager v 4
ks -c "$CONF" --root "$ROOT" plan
tap_like "$OUT" 'update +.*/etc/systemd/system/kube-controller-manager.service' "plan names the one unit"
tap_like "$OUT" '^    -  --v=2$' "plan diff shows the old flag"
tap_like "$OUT" '^    \+  --v=4$' "plan diff shows the new flag"
tap_like "$OUT" '^plan: 1 to change, 23 unchanged' "plan counts one change"
# the unit is the only entry allowed to change (and our own record of it)
others() { snapshot "$ROOT" | grep -v -e 'kube-controller-manager.service ' -e 'var/lib/kubestrap/installed '; }
before=$(others)
ks -c "$CONF" --root "$ROOT" apply
tap_is "$RC" 0 "apply of the changed flag succeeds"
tap_like "$OUT" '^updated .*/etc/systemd/system/kube-controller-manager.service$' "apply reports the unit"
tap_like "$OUT" 'apply: 1 changed, 23 unchanged' "exactly one item changed"
tap_is "$(others)" "$before" "nothing else was touched"
tap_like "$(cat "$ROOT/etc/systemd/system/kube-controller-manager.service")" '--v=4$' "new flag in place"

# --- digest mismatch: nothing installed, old binary intact ------------------------
good=$(snapshot "$ROOT")
VERSION=v1.21.1 ks_publish_binaries v1.21.1
echo tampered >> "$MIRROR_WWW/v1.21.1/bin/linux/amd64/kube-scheduler"
ks_set cluster version v1.21.1
ks -c "$CONF" --root "$ROOT" apply
tap_is "$RC" 1 "digest mismatch fails the run"
tap_like "$ERR" "v1.21.1/bin/linux/amd64/kube-scheduler: digest mismatch: expected sha256:[0-9a-f]{64}, got sha256:[0-9a-f]{64}" \
        "the error names the URL and both digests"
tap_is "$(snapshot "$ROOT")" "$good" "tree unchanged: old binaries intact, no other file published"
tap_is "$(staging_files "$ROOT")" 0 "no staging files left after the failure"

# --- 404 ------------------------------------------------------------------------------
ks_set cluster version v1.21.99
ks -c "$CONF" --root "$ROOT" apply
tap_is "$RC" 1 "a missing release fails the run"
tap_like "$ERR" "$MIRROR_URL/v1.21.99/bin/linux/amd64/kube-apiserver.sha256: HTTP 404" "404 names the URL"
tap_is "$(snapshot "$ROOT")" "$good" "tree unchanged after 404"

# a failure on an empty tree leaves it empty (created directories are removed again)
ks_set cluster version v1.21.1
fresh=$WORK/fresh; mkdir "$fresh"
ks -c "$CONF" --root "$fresh" apply
tap_is "$RC" 1 "failure on a fresh tree"
tap_is "$(find "$fresh" -mindepth 1 | wc -l)" 0 "fresh tree left empty, directories removed"

# --- TLS and scheme -----------------------------------------------------------------
ks_set cluster version "$VERSION"
ks_set download base-url "$MIRROR_UNTRUSTED_URL"
ks -c "$CONF" --root "$ROOT" apply
tap_is "$RC" 1 "untrusted server certificate fails the run"
tap_like "$ERR" "$MIRROR_UNTRUSTED_URL/.*(certificate|SSL)" "error names the URL and the certificate problem"
tap_is "$(snapshot "$ROOT")" "$good" "tree unchanged after a TLS failure"

ks_set download base-url "$MIRROR_HTTP_URL"
ks -c "$CONF" --root "$ROOT" apply
tap_is "$RC" 2 "an http:// base-url is a configuration error"
tap_like "$ERR" "kubestrap.conf:[0-9]+: \[download\] base-url: invalid value 'http://127.0.0.1:[0-9]+': expected an https:// URL \(plain http is never used\)" \
        "the error names file, line, section and key"

ks_set download base-url "$MIRROR_REDIRECT_HTTP_URL"
ks -c "$CONF" --root "$ROOT" apply
tap_is "$RC" 1 "a redirect to http fails the run"
tap_like "$ERR" "redirect-http/$VERSION/.*: refused redirect to non-https URL http://127.0.0.1" "the error names the URL and the refused redirect"
tap_is "$(snapshot "$ROOT")" "$good" "tree unchanged after a refused redirect"

ks_set download base-url "$MIRROR_REDIRECT_HTTPS_URL"
mkdir "$WORK/viaredirect" "$WORK/pinned" "$WORK/sha512"
ks -c "$CONF" --root "$WORK/viaredirect" apply
tap_is "$RC" 0 "a redirect that stays on https is followed"
tap_ok "binary through the https redirect is intact" cmp "$MIRROR_WWW/$VERSION/bin/linux/amd64/kubectl" "$WORK/viaredirect/usr/local/bin/kubectl"

# --- pinned digests and sha512 sidecars ------------------------------------------------
ks_set download base-url "$MIRROR_URL"
ks_set download digest.kubectl "sha256:$(printf '0%.0s' $(seq 64))"
ks -c "$CONF" --root "$WORK/pinned" apply
tap_is "$RC" 1 "a wrong pinned digest fails even though the sidecar is right"
tap_like "$ERR" "kubectl: digest mismatch: expected sha256:0{64}" "pinned digest is what is checked"
tap_is "$(find "$WORK/pinned" -mindepth 1 | wc -l)" 0 "nothing installed on a pin mismatch"
ks_set download digest.kubectl "sha512:$(sha512sum "$MIRROR_WWW/$VERSION/bin/linux/amd64/kubectl" | cut -d' ' -f1)"
n0=$(grep -c 'kubectl.sha' "$MIRROR_ACCESS_LOG" || true)
ks -c "$CONF" --root "$WORK/pinned" apply
tap_is "$RC" 0 "a right sha512 pin installs"
tap_is "$(grep -c 'kubectl.sha' "$MIRROR_ACCESS_LOG" || true)" "$n0" "no sidecar requested for a pinned binary"
ks_set download digest.kubectl ""
ks_set download checksum sha512
ks -c "$CONF" --root "$WORK/sha512" apply
tap_is "$RC" 0 "sha512 sidecars (coreutils 'digest  name' format) verify"
tap_like "$(grep -c 'kube-apiserver.sha512' "$MIRROR_ACCESS_LOG")" '^[1-9]' "the sha512 sidecar was fetched"

# --- an nginx without sites-* (the Fedora/RHEL/Alpine layout): the site goes to conf.d -----------
ks_set download checksum sha256
mkdir -p "$WORK/confd/etc/nginx/conf.d"
ks -c "$CONF" --root "$WORK/confd" plan
tap_like "$OUT" "/etc/nginx/conf\.d/kubernetes\.default\.svc\.cluster\.local\.conf" "plan puts the site into conf.d"
ks -c "$CONF" --root "$WORK/confd" apply
tap_is "$RC" 0 "apply with conf.d succeeds"
tap_ok "the site is conf.d/kubernetes.default.svc.cluster.local.conf, as the seed writes it" \
        cmp "$top_srcdir/test/golden/kubernetes.default.svc.cluster.local" \
        "$WORK/confd/etc/nginx/conf.d/kubernetes.default.svc.cluster.local.conf"
tap_is "$(find "$WORK/confd/etc/nginx" -mindepth 1 | sort | sed "s|$WORK/confd||")" \
        "$(printf '%s\n' /etc/nginx/conf.d /etc/nginx/conf.d/kubernetes.default.svc.cluster.local.conf)" \
        "and nothing else under /etc/nginx: no sites-available, no sites-enabled link"
ks -c "$CONF" --root "$WORK/confd" --output json apply
tap_like "$OUT" '"changed":0,' "a second apply changes nothing there either"
# the way such a distribution's nginx.conf takes it: included inside http {}
printf 'pid %s;\nerror_log %s;\nevents {}\nhttp { include %s/*.conf; }\n' "$WORK/ngx.pid" \
        "$WORK/ngx.err" "$WORK/confd/etc/nginx/conf.d" > "$WORK/ngx.conf"
tap_ok "the real nginx accepts it there (nginx -t)" nginx -q -t -c "$WORK/ngx.conf" -p "$WORK"


# --- status --root reads the node's files inside the root, never the machine's own --------------
# (strace: no path under /var/lib/kubernetes is opened from the current root, by name; inside
# the root it is opened from the root's descriptor, with RESOLVE_IN_ROOT)
ks -c "$CONF" --root "$WORK/confd" status
tap_like "$OUT" "^kube-apiserver " "status --root shows the API server's row"
strace -f -qq -e trace=open,openat,openat2 -o "$WORK/status.strace" \
        "$KUBESTRAP" -c "$CONF" --root "$WORK/confd" status > /dev/null 2>&1 || true
tap_like "$(grep -c 'ca.pem' "$WORK/status.strace" || true)" '^[1-9]' "strace sees the CA being opened"
tap_is "$(grep -E '(open\(|AT_FDCWD, )"/var/lib/kubernetes' "$WORK/status.strace" || true)" "" \
        "status --root opens nothing under the machine's /var/lib/kubernetes"
mv "$WORK/confd/var/lib/kubernetes/ca.pem" "$WORK/confd-ca.pem"
ks -c "$CONF" --root "$WORK/confd" status
tap_like "$OUT" "^version \(local\) .*cannot read the cluster CA $WORK/confd/var/lib/kubernetes/ca.pem: No such file or directory" \
        "a CA missing from the root is named by its path in the root"
mv "$WORK/confd-ca.pem" "$WORK/confd/var/lib/kubernetes/ca.pem"

# --- a restrictive umask does not leak into the directories apply and fetch create ----------------
# (with umask 077 /etc, /usr/local/bin and /var/lib/kubernetes came out 0700: nginx and the
# operator's tools could not enter them, and nothing repaired them later)
mkdir "$WORK/umask" "$WORK/umask-fetch"
umask 077
ks -c "$CONF" --root "$WORK/umask" apply
rc_apply=$RC
ks -c "$CONF" --root "$WORK/umask-fetch" fetch
rc_fetch=$RC
umask 022
tap_is "$rc_apply" 0 "apply under umask 077 succeeds"
for d in etc usr/local/bin var/lib/kubernetes var/lib/kubestrap etc/systemd/system \
        etc/nginx/sites-available var/cache/kubestrap; do
        tap_is "$(stat -c %a "$WORK/umask/$d")" 755 "umask 077: apply made /$d 0755"
done
tap_is "$(cd "$WORK/umask" && find . -mindepth 1 -type d ! -perm 0755 | sort)" "" \
        "umask 077: every directory apply created is 0755"
tap_is "$rc_fetch" 0 "fetch under umask 077 succeeds"
tap_is "$(cd "$WORK/umask-fetch" && find . -mindepth 1 -type d -printf '%p %m\n' | sort | grep -v ' 755$' || true)" "" \
        "umask 077: every directory fetch created (the cache) is 0755"
tap_like "$(cd "$WORK/umask-fetch" && find . -mindepth 1 -type d | wc -l)" '^[1-9]' "and fetch did create some"

tap_done
