#!/bin/bash
# Integration: hostile and broken input, each refused with a clear error and the --root tree
# left as it was: bad sidecars, a full disk, an unreadable PKI file, values that would inject
# unit directives.
set -eu
. "${top_srcdir:-$(dirname "$0")/..}/test/lib/common.sh"
ks_setup
snapshot() { (cd "$1" && find . -mindepth 1 ! -type d -printf '%p %i %T@ %m %l\n' | sort); }
ks -c "$CONF" --root "$ROOT" apply
good=$(snapshot "$ROOT")

# --- sidecars -----------------------------------------------------------------------------
publish() { # version sidecar-content-for-kubectl
        for b in $BINARIES; do mirror_publish "$1" "$ARCH" "$b" "$WORK/$b.bin"; done
        printf '%s' "$2" > "$MIRROR_WWW/$1/bin/linux/amd64/kubectl.sha256"
}
check() { # desc version expected-error
        ks_set cluster version "$2"
        ks -c "$CONF" --root "$ROOT" apply
        tap_is "$RC" 1 "$1: the run fails"
        tap_like "$ERR" "$3" "$1: message"
        tap_is "$(snapshot "$ROOT")" "$good" "$1: tree unchanged"
}
publish v1.23.1 "$(head -c 8192 /dev/zero | tr '\0' 'a')"
check "sidecar too large" v1.23.1 "v1.23.1/bin/linux/amd64/kubectl.sha256: checksum file larger than 4096 bytes"
publish v1.23.2 "not a digest at all"
check "malformed sidecar" v1.23.2 "v1.23.2/bin/linux/amd64/kubectl.sha256: malformed checksum file \(expected 64 hex digits, optionally followed by the file name\)"
publish v1.23.3 "$(sha256sum "$WORK/kubectl.bin" | cut -d' ' -f1)  kube-apiserver"
check "sidecar naming another file" v1.23.3 "v1.23.3/bin/linux/amd64/kubectl.sha256: checksum file names another file, not 'kubectl'"
printf '%s\n%s\n' "$(sha256sum "$WORK/kubectl.bin" | cut -d' ' -f1)" "$(sha256sum "$WORK/kubectl.bin" | cut -d' ' -f1)" > "$WORK/two"
publish v1.23.4 "$(cat "$WORK/two")"
check "sidecar with two digests" v1.23.4 "kubectl.sha256: malformed checksum file"
ks_set cluster version "$VERSION"

# --- a full disk: a 2 MiB tmpfs cannot take the binaries ------------------------------------
small=$WORK/small; mkdir "$small"
if mount -t tmpfs -o size=2m tmpfs "$small" 2>/dev/null; then
        head -c 1m /dev/urandom > "$WORK/big"
        for b in $BINARIES; do cat "$WORK/$b.bin" "$WORK/big" > "$WORK/$b.big"; mirror_publish v1.23.5 "$ARCH" "$b" "$WORK/$b.big"; done
        ks_set cluster version v1.23.5
        ks -c "$CONF" --root "$small" apply
        tap_is "$RC" 1 "disk full: the run fails"
        tap_like "$ERR" "No space left on device" "disk full: the error says so"
        tap_is "$(find "$small" -mindepth 1 | wc -l)" 0 "disk full: the tree is left as it was (empty)"
        umount "$small"
        ks_set cluster version "$VERSION"
else
        tap_skip "disk full" "cannot mount a tmpfs here"; tap_skip "disk full message" "-"; tap_skip "disk full tree" "-"
fi

# --- an unreadable PKI file (root reads anything: a directory where a key should be) ---------
cp -a "$PKI" "$WORK/pki-bad"; rm "$WORK/pki-bad/ca-key.pem"; mkdir "$WORK/pki-bad/ca-key.pem"
ks_set pki source-dir "$WORK/pki-bad"
ks -c "$CONF" --root "$ROOT" --skip-preflight apply
tap_is "$RC" 1 "unreadable PKI file: the run fails"
tap_like "$ERR" "$WORK/pki-bad/ca-key.pem \(from \[pki\] source-dir in $CONF\): Is a directory" "names the file and why"
tap_is "$(snapshot "$ROOT")" "$good" "tree unchanged"
ks_set pki source-dir "$PKI"

# --- values that would inject unit directives ----------------------------------------------
printf '[kube-apiserver]\n+foo = x\\nExecStartPre=/bin/evil\n' >> "$CONF"
ks -c "$CONF" --root "$ROOT" apply
tap_is "$RC" 2 "a backslash sequence in a flag value is refused"
tap_like "$ERR" "\[kube-apiserver\] \+foo: invalid value 'x\\\\nExecStartPre=/bin/evil': blanks, quotes and backslashes are not allowed in flag values" \
        "the refusal names the key"
sed -i '$d' "$CONF"; sed -i '$d' "$CONF"
printf '[kube-apiserver]\n+foo = %%n%%H$USER\n' >> "$CONF"
ks -c "$CONF" --root "$ROOT" apply
tap_is "$RC" 0 "% and \$ in a value are accepted..."
tap_like "$(cat "$ROOT/etc/systemd/system/kube-apiserver.service")" '  --foo=%%n%%H\$\$USER$' \
        "...and escaped, so systemd passes them on literally"
tap_is "$(grep -c '^ExecStart' "$ROOT/etc/systemd/system/kube-apiserver.service")" 1 "still exactly one ExecStart"
# a template override trying a newline through a value: values cannot carry one (inih lines),
# and a template may not use an undefined name to smuggle text
mkdir -p "$ROOT/etc/kubestrap/templates"
printf -- '--v=2\n--x={{ cluster.name }}\n{{ evil }}\n' > "$ROOT/etc/kubestrap/templates/kube-scheduler.flags"
ks -c "$CONF" --root "$ROOT" apply
tap_is "$RC" 2 "a template with an unknown placeholder is refused"
tap_like "$ERR" "kube-scheduler.flags:3: undefined variable 'evil'" "naming the template and line"

tap_done
