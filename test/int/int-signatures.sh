#!/bin/bash
# Integration: release signatures (issue 14). The mirror signs every file it publishes with the
# test's Sigstore-like hierarchy (test/sigtool.c); each hostile case is published over one
# binary's .sig/.cert (or bytes) and must be refused with its reason, the binary and the URL
# named, and nothing installed. Then .sig missing under require and if-present, the cache's
# record, the tarball's own signature, and a bundle re-verified offline.
set -eu
. "${top_srcdir:-$(dirname "$0")/../..}/test/lib/common.sh"
ks_setup
V=v1.32.3
VERSION=$V ks_publish_binaries $V
ks_set cluster version $V
DIR=$MIRROR_WWW/$V/bin/linux/$ARCH
ID=krel-staging@k8s-releng-prod.iam.gserviceaccount.com

fresh_root() { rm -rf "$ROOT" && mkdir -p "$ROOT"; }
# all but the cache (cache-dir is inside --root)
keep_cache() { find "$ROOT" -mindepth 1 -maxdepth 1 ! -name cache -exec rm -rf {} +; }
ks_set paths cache-dir /cache
C=$ROOT/cache/signed/sha256

# --- the good case: every binary verified, and plan/status say by whom
fresh_root
ks -c "$CONF" --root "$ROOT" plan
tap_is "$RC" 0 "plan with signatures (default for $V: require)"
tap_like "$OUT" "signatures: require \\(identity $ID, issuer https://accounts.google.com;" \
        "plan says signatures are required and for whom"
ks -c "$CONF" --root "$ROOT" apply
tap_is "$RC" 0 "apply with every binary signed by the expected identity"
[ "$RC" = 0 ] || printf '%s\n' "$ERR" | sed 's/^/# /'
tap_ok "kube-apiserver installed" test -x "$ROOT/usr/local/bin/kube-apiserver"
ks -c "$CONF" --root "$ROOT" status
tap_like "$OUT" "kube-apiserver.*signature-verified: $ID \\(https://accounts.google.com\\)" \
        "status says kube-apiserver is signature-verified and by whom"
tap_like "$OUT" "kubectl.*signature-verified: $ID" "and kubectl"

# cloud-init carries the roots and CT log keys the config names, and points the node at them
ks -c "$CONF" cloud-init
tap_is "$RC" 0 "cloud-init user-data written"
tap_like "$OUT" "path: /etc/kubestrap/signature-roots.pem" "cloud-init carries the signature roots"
tap_like "$OUT" "path: /etc/kubestrap/ct-log-keys.pem" "and the CT log keys"
printf '%s\n' "$OUT" > "$WORK/user-data"
nconf=$(python3 - "$WORK/user-data" <<'PY'
import base64, gzip, sys, yaml
for f in yaml.safe_load(open(sys.argv[1]))["write_files"]:
    if f["path"] == "/etc/kubestrap/kubestrap.conf":
        sys.stdout.write(gzip.decompress(base64.b64decode(f["content"])).decode())
PY
)
tap_like "$nconf" "signature-roots = /etc/kubestrap/signature-roots.pem" "and the node's config points at its copy"

# The hostile cases run through three paths. A path is set by MODE: the file whose signature
# is attacked (F), its name and URL in the messages (NAME, URLRE), how an attacker who also
# controls its digest makes that match again (fix_digest), and how the install runs (run).
T=kubernetes-server-linux-$ARCH.tar.gz
fix_digest() {
        case $MODE in
        direct | tarball) sha256sum < "$F" | cut -d' ' -f1 > "$F.sha256" ;;
        bundle) sed -i "s|^binary kube-scheduler sha256 .*|binary kube-scheduler sha256 $(sha256sum < "$F" | cut -d' ' -f1)|" \
                        "$BD/kubestrap-bundle/MANIFEST" ;;
        esac
}
run() {
        fresh_root
        case $MODE in
        direct | tarball) ks -c "$CONF" --root "$ROOT" apply ;;
        bundle)
                tar -C "$BD" -cf "$WORK/hostile-bundle.tar" kubestrap-bundle
                ks --root "$ROOT" --bundle "$WORK/hostile-bundle.tar" apply
                ;;
        esac
}
refused_as() { # DESCRIPTION EXPECTED-REASON
        run
        tap_unlike "$RC" "^0$" "$MODE: $1: refused"
        tap_like "$ERR" "$NAME \\($URLRE\\): signature refused: $2" "$MODE: $1: names $NAME, its URL and the reason"
        printf '%s\n' "$ERR" | grep 'signature refused' | sed "s/^/# $MODE message: /" || true
        tap_ok "$MODE: $1: nothing installed" test ! -e "$ROOT/usr/local/bin/kube-apiserver"
}
refused() { # SIGTOOL-OPTIONS DESCRIPTION EXPECTED-REASON
        # shellcheck disable=SC2086 # options as words
        mirror_sign $1 "$F"
        refused_as "$2" "$3"
        mirror_sign "$F" # good again
}
flip_byte() { # FILE OFFSET
        local b
        b=$(od -An -tu1 -j "$2" -N1 "$1" | tr -d ' ')
        printf "$(printf '\\%03o' $(((b ^ 1) & 255)))" | dd of="$1" bs=1 seek="$2" conv=notrunc status=none
}
hostile_cases() {
        refused "--identity mallory@example.com" "wrong identity" \
                "signed by mallory@example.com, expected $ID \\(signature-identity\\)"
        refused "--issuer https://token.actions.githubusercontent.com" "wrong issuer" \
                "issued for OIDC issuer https://token.actions.githubusercontent.com, expected https://accounts.google.com"
        refused "--chain other" "chain to another root" \
                "no trusted chain: the leaf certificate: unable to get local issuer certificate"
        refused "--chain late" "leaf notBefore outside the intermediate's validity" \
                "no trusted chain: the issuing certificate /O=kubestrap-test/CN=kubestrap-test-late-intermediate: certificate has expired"
        refused "--no-eku" "missing EKU codeSigning" "the certificate is not for code signing"
        refused "--sct unknown" "SCT from an unknown log" \
                "the embedded SCT comes from CT log .*, which is not among the ct-log-keys"
        refused "--sct bad" "SCT with a bad signature" "the embedded SCT of CT log .* does not verify"

        # flipped bytes: in the file (its digest made to match, as a mirror that serves both
        # would), in the .sig (the signature value's last bytes), in the .cert (the issuer's
        # signature over the leaf)
        cp "$F" "$WORK/good.bin"
        if [ "$MODE" = tarball ]; then # a byte of a member: the archive stays readable
                flip_byte "$mk/kubernetes/server/bin/kube-scheduler" 100
                tar -C "$mk" -czf "$F" kubernetes
                flip_byte "$mk/kubernetes/server/bin/kube-scheduler" 100
        else
                flip_byte "$F" 100
        fi
        fix_digest
        refused_as "flipped byte in the file" "the signature \\(.sig\\) does not match the file's bytes"
        cp "$WORK/good.bin" "$F"
        fix_digest
        base64 -d "$F.sig" > "$WORK/sig.der"
        flip_byte "$WORK/sig.der" $(($(stat -c %s "$WORK/sig.der") - 3))
        base64 -w0 "$WORK/sig.der" > "$F.sig"
        refused_as "flipped byte in the .sig" "the signature \\(.sig\\) does not match"
        mirror_sign "$F"
        base64 -d "$F.cert" > "$WORK/leaf.pem"
        openssl x509 -in "$WORK/leaf.pem" -outform DER -out "$WORK/leaf.der"
        flip_byte "$WORK/leaf.der" $(($(stat -c %s "$WORK/leaf.der") - 5))
        openssl x509 -inform DER -in "$WORK/leaf.der" | base64 -w0 > "$F.cert"
        refused_as "flipped byte in the .cert" \
                "no trusted chain: the leaf certificate: certificate signature failure"
        mv "$F.sig" "$WORK/saved.sig"
        refused_as ".sig missing with require" "no signature: .*signatures = require"
        mv "$WORK/saved.sig" "$F.sig"
        mirror_sign "$F"
}

MODE=direct F=$DIR/kube-scheduler NAME=kube-scheduler URLRE="$MIRROR_URL/$V/bin/linux/$ARCH/kube-scheduler"
hostile_cases

# --- .sig missing with if-present: a warning, and it installs
mv "$DIR/kube-scheduler.sig" "$WORK/ks.sig"
ks_set download signatures if-present
fresh_root
ks -c "$CONF" --root "$ROOT" apply
tap_is "$RC" 0 ".sig missing with if-present: installs"
tap_like "$OUT$ERR" "kube-scheduler \\($URLRE\\): not signature-verified: $URLRE.sig: HTTP 404 \\(\\[download\\] signatures = if-present\\)" \
        ".sig missing with if-present: warns, naming the binary and the .sig URL"
printf '%s\n' "$ERR" | grep 'not signature-verified' | sed 's/^/# direct message: /' || true
ks -c "$CONF" --root "$ROOT" status
tap_like "$OUT" "kube-scheduler: not signature-verified" "status says kube-scheduler is not signature-verified"
tap_like "$OUT" "kube-apiserver: signature-verified: $ID" "and the others are"
mv "$WORK/ks.sig" "$DIR/kube-scheduler.sig"
ks_set download signatures require

# --- the tarball: its own .sig/.cert, checked with the SHA-256 of the one streaming pass
mk=$WORK/tar; mkdir -p "$mk/kubernetes/server/bin"
for b in $BINARIES; do cp "$DIR/$b" "$mk/kubernetes/server/bin/$b"; done
tar -C "$mk" -czf "$MIRROR_WWW/$V/$T" kubernetes
chmod 0644 "$MIRROR_WWW/$V/$T"
sha256sum < "$MIRROR_WWW/$V/$T" | cut -d' ' -f1 > "$MIRROR_WWW/$V/$T.sha256"
chmod 0644 "$MIRROR_WWW/$V/$T.sha256"
mirror_sign "$MIRROR_WWW/$V/$T"
ks_set download source tarball
fresh_root
ks -c "$CONF" --root "$ROOT" apply
tap_is "$RC" 0 "tarball: installs when the tarball carries a good signature"
[ "$RC" = 0 ] || printf '%s\n' "$ERR" | sed 's/^/# /'
ks -c "$CONF" --root "$ROOT" status
tap_like "$OUT" "kube-apiserver: signature-verified: $ID" "tarball: status says its members are signature-verified"
MODE=tarball F=$MIRROR_WWW/$V/$T NAME=$T URLRE="$MIRROR_URL/$V/$T"
hostile_cases
ks_set download source binaries

# --- the cache: a verified binary records it, and an entry without the record is fetched and
# verified again rather than taken
fresh_root
ks -c "$CONF" --root "$ROOT" apply
tap_is "$RC" 0 "cache: first apply fills the cache"
h=$(sha256sum < "$DIR/kube-scheduler" | cut -d' ' -f1)
tap_is "$(cat "$C/$h.signed")" "$ID (https://accounts.google.com)" \
        "cache: the entry records that it was verified, and against which identity"
tap_ok "cache: and keeps the .sig and .cert it was verified with" test -s "$C/$h.sig" -a -s "$C/$h.cert"
keep_cache
ks -c "$CONF" --root "$ROOT" --output json apply
tap_like "$OUT" '"from_cache":4' "cache: a second install takes all four verified entries"
keep_cache
rm "$C/$h.signed"
ks -c "$CONF" --root "$ROOT" --output json apply
tap_like "$OUT" '"from_cache":3' "cache: the entry without a record is not taken"
tap_is "$(cat "$C/$h.signed")" "$ID (https://accounts.google.com)" \
        "cache: it was fetched, verified and recorded again"
keep_cache
printf '%s\n' "mallory@example.com (https://accounts.google.com)" > "$C/$h.signed"
ks -c "$CONF" --root "$ROOT" --output json apply
tap_like "$OUT" '"from_cache":3' "cache: an entry recorded for another identity is not taken"

# --- the bundle: carries each binary's .sig/.cert (and the roots and CT log keys the config
# names); the node verifies them again, offline
mkdir -p "$WORK/fetchroot"
ks -c "$CONF" --root "$WORK/fetchroot" fetch --bundle "$WORK/bundle.tar"
tap_is "$RC" 0 "bundle: fetch --bundle"
list=$(tar -tf "$WORK/bundle.tar")
tap_like "$list" "kubestrap-bundle/bin/kube-scheduler.sig" "bundle: carries the .sig"
tap_like "$list" "kubestrap-bundle/bin/kube-scheduler.cert" "bundle: and the .cert"
tap_like "$list" "kubestrap-bundle/signature-roots.pem" "bundle: and the configured roots"
BD=$WORK/bd; mkdir -p "$BD"; tar -C "$BD" -xf "$WORK/bundle.tar"
MODE=bundle F=$BD/kubestrap-bundle/bin/kube-scheduler NAME=kube-scheduler URLRE="bundle:kube-scheduler"
mirror_stop # offline from here on
run
tap_is "$RC" 0 "bundle: installs offline when every signature verifies"
[ "$RC" = 0 ] || printf '%s\n' "$ERR" | sed 's/^/# /'
ks -c "$CONF" --root "$ROOT" status
tap_like "$OUT" "kube-scheduler: signature-verified: $ID" "bundle: status says kube-scheduler is signature-verified"
hostile_cases

tap_done
