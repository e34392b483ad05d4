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

fresh_root() { rm -rf "$ROOT" "$WORK/cache" && mkdir -p "$ROOT"; }
ks_set paths cache-dir "$WORK/cache"

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

# refused VARIANT DESCRIPTION EXPECTED-REASON: kube-scheduler's .sig/.cert re-made with
# sigtool's VARIANT options (a string of words), then apply on a fresh root must fail.
refused() {
        local opts=$1 what=$2 want=$3
        # shellcheck disable=SC2086 # options as words
        mirror_sign $opts "$DIR/kube-scheduler"
        fresh_root
        ks -c "$CONF" --root "$ROOT" apply
        tap_unlike "$RC" "^0$" "$what: refused"
        tap_like "$ERR" "kube-scheduler \\($MIRROR_URL/$V/bin/linux/$ARCH/kube-scheduler\\): signature refused: $want" \
                "$what: names binary, URL and reason"
        printf '%s\n' "$ERR" | grep 'signature refused' | sed 's/^/# message: /' || true
        tap_ok "$what: nothing installed" test ! -e "$ROOT/usr/local/bin/kube-apiserver"
        mirror_sign "$DIR/kube-scheduler" # good again
}
refused "--identity mallory@example.com" "wrong identity" \
        "signed by mallory@example.com, expected $ID \\(signature-identity\\)"
refused "--issuer https://token.actions.githubusercontent.com" "wrong issuer" \
        "issued for OIDC issuer https://token.actions.githubusercontent.com, expected https://accounts.google.com"
refused "--chain other" "chain to another root" \
        "no trusted chain: the leaf certificate: unable to get local issuer certificate"
refused "--chain late" "leaf notBefore outside the intermediate's validity" \
        "no trusted chain: the issuing certificate /O=kubestrap-test/CN=kubestrap-test-late-intermediate: certificate has expired"
refused "--no-eku" "missing EKU codeSigning" "the certificate is not for code signing"
refused "--sct unknown" "SCT from an unknown log" "the embedded SCT comes from CT log .*, which is not among the ct-log-keys"
refused "--sct bad" "SCT with a bad signature" "the embedded SCT of CT log .* does not verify"

# flipped bytes: in the binary (its sidecar digest made to match, as a mirror that controls
# both would), in the .sig, in the .cert
flip_byte() { # FILE OFFSET
        local b
        b=$(od -An -tu1 -j "$2" -N1 "$1" | tr -d ' ')
        printf "$(printf '\\%03o' $(((b ^ 1) & 255)))" | dd of="$1" bs=1 seek="$2" conv=notrunc status=none
}
cp "$DIR/kube-scheduler" "$WORK/ks.good"
flip_byte "$DIR/kube-scheduler" 100
sha256sum < "$DIR/kube-scheduler" | cut -d' ' -f1 > "$DIR/kube-scheduler.sha256"
fresh_root
ks -c "$CONF" --root "$ROOT" apply
tap_unlike "$RC" "^0$" "flipped byte in the binary (sidecar matching): refused"
tap_like "$ERR" "kube-scheduler \\(.*\\): signature refused: the signature \\(.sig\\) does not match the file's bytes" \
        "flipped byte in the binary: reason"
printf '%s\n' "$ERR" | grep 'signature refused' | sed 's/^/# message: /' || true
cp "$WORK/ks.good" "$DIR/kube-scheduler"
sha256sum < "$DIR/kube-scheduler" | cut -d' ' -f1 > "$DIR/kube-scheduler.sha256"

mirror_sign "$DIR/kube-scheduler"
# the signature value's last bytes, in base64: decode, flip, encode
base64 -d "$DIR/kube-scheduler.sig" > "$WORK/sig.der"
flip_byte "$WORK/sig.der" $(($(stat -c %s "$WORK/sig.der") - 3))
base64 -w0 "$WORK/sig.der" > "$DIR/kube-scheduler.sig"
fresh_root
ks -c "$CONF" --root "$ROOT" apply
tap_unlike "$RC" "^0$" "flipped byte in the .sig: refused"
tap_like "$ERR" "kube-scheduler \\(.*\\): signature refused: the signature \\(.sig\\) does not match" \
        "flipped byte in the .sig: reason"
printf '%s\n' "$ERR" | grep 'signature refused' | sed 's/^/# message: /' || true

mirror_sign "$DIR/kube-scheduler"
base64 -d "$DIR/kube-scheduler.cert" > "$WORK/leaf.pem"
openssl x509 -in "$WORK/leaf.pem" -outform DER -out "$WORK/leaf.der"
flip_byte "$WORK/leaf.der" $(($(stat -c %s "$WORK/leaf.der") - 5)) # in the issuer's signature
openssl x509 -inform DER -in "$WORK/leaf.der" | base64 -w0 > "$DIR/kube-scheduler.cert"
fresh_root
ks -c "$CONF" --root "$ROOT" apply
tap_unlike "$RC" "^0$" "flipped byte in the .cert: refused"
tap_like "$ERR" "kube-scheduler \\(.*\\): signature refused: no trusted chain: the leaf certificate: certificate signature failure" \
        "flipped byte in the .cert: reason"
printf '%s\n' "$ERR" | grep 'signature refused' | sed 's/^/# message: /' || true
mirror_sign "$DIR/kube-scheduler"

# --- .sig missing: refused under require, a warning under if-present
mv "$DIR/kube-scheduler.sig" "$WORK/ks.sig"
fresh_root
ks -c "$CONF" --root "$ROOT" apply
tap_unlike "$RC" "^0$" ".sig missing with require: refused"
tap_like "$ERR" "kube-scheduler \\(.*\\): signature refused: no signature: $MIRROR_URL/$V/bin/linux/$ARCH/kube-scheduler.sig: .*404.*signatures = require" \
        ".sig missing with require: names the .sig URL"
printf '%s\n' "$ERR" | grep 'signature refused' | sed 's/^/# message: /' || true
ks_set download signatures if-present
fresh_root
ks -c "$CONF" --root "$ROOT" apply
tap_is "$RC" 0 ".sig missing with if-present: installs"
tap_like "$OUT$ERR" "kube-scheduler \\(.*\\): not signature-verified: .*kube-scheduler.sig.*signatures = if-present" \
        ".sig missing with if-present: warns"
printf '%s\n' "$OUT$ERR" | grep 'not signature-verified' | sed 's/^/# message: /' || true
ks -c "$CONF" --root "$ROOT" status
tap_like "$OUT" "kube-scheduler.*not signature-verified" "status says kube-scheduler is not signature-verified"
mv "$WORK/ks.sig" "$DIR/kube-scheduler.sig"
ks_set download signatures require

tap_done
