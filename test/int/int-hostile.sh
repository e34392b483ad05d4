#!/bin/bash
# Integration: hostile and broken input, each refused with a clear error and the --root tree
# left as it was: bad sidecars, a full disk, an unreadable PKI file, values that would inject
# unit directives.
set -eu
. "${top_srcdir:-$(dirname "$0")/../..}/test/lib/common.sh"
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
publish v1.22.1 "$(head -c 8192 /dev/zero | tr '\0' 'a')"
check "sidecar too large" v1.22.1 "v1.22.1/bin/linux/amd64/kubectl.sha256: checksum file larger than 4096 bytes"
publish v1.22.2 "not a digest at all"
check "malformed sidecar" v1.22.2 "v1.22.2/bin/linux/amd64/kubectl.sha256: malformed checksum file \(expected 64 hex digits, optionally followed by the file name\)"
publish v1.22.3 "$(sha256sum "$WORK/kubectl.bin" | cut -d' ' -f1)  kube-apiserver"
check "sidecar naming another file" v1.22.3 "v1.22.3/bin/linux/amd64/kubectl.sha256: checksum file names another file, not 'kubectl'"
printf '%s\n%s\n' "$(sha256sum "$WORK/kubectl.bin" | cut -d' ' -f1)" "$(sha256sum "$WORK/kubectl.bin" | cut -d' ' -f1)" > "$WORK/two"
publish v1.22.4 "$(cat "$WORK/two")"
check "sidecar with two digests" v1.22.4 "kubectl.sha256: malformed checksum file"
ks_set cluster version "$VERSION"

# --- a full disk: a 2 MiB tmpfs cannot take the binaries ------------------------------------
small=$WORK/small; mkdir "$small"
if mount -t tmpfs -o size=2m tmpfs "$small" 2>/dev/null; then
        head -c 1m /dev/urandom > "$WORK/big"
        for b in $BINARIES; do cat "$WORK/$b.bin" "$WORK/big" > "$WORK/$b.big"; mirror_publish v1.22.5 "$ARCH" "$b" "$WORK/$b.big"; done
        ks_set cluster version v1.22.5
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
# a template override trying a newline through a value: values cannot carry one (INI lines),
# and a template may not use an undefined name to smuggle text
mkdir -p "$ROOT/etc/kubestrap/templates"
printf -- '--v=2\n--x={{ cluster.name }}\n{{ evil }}\n' > "$ROOT/etc/kubestrap/templates/kube-scheduler.flags"
ks -c "$CONF" --root "$ROOT" apply
tap_is "$RC" 2 "a template with an unknown placeholder is refused"
tap_like "$ERR" "kube-scheduler.flags:3: undefined variable 'evil'" "naming the template and line"

# --- non-regular files: a FIFO where a file belongs is refused at once, naming it ---------------
# (opening a FIFO waits for a writer: every verb hung; timeout makes a hang a failure here)
rm -f "$ROOT/etc/kubestrap/templates/kube-scheduler.flags"
kst() { KS_TIMEOUT=10 ks "$@"; }
before=$(snapshot "$ROOT")
state=$ROOT/var/lib/kubestrap/installed
mv "$state" "$WORK/installed.saved"
mkfifo "$state"
for verb in plan apply reset cache; do
        kst -c "$CONF" --root "$ROOT" $verb
        tap_unlike "$RC" '^(0|124)$' "FIFO at the state file: $verb fails and does not hang"
        tap_like "$ERR" "$state: not a regular file" "FIFO at the state file: $verb names it"
done
rm "$state"; mv "$WORK/installed.saved" "$state"
mkfifo "$WORK/fifo.conf"
for verb in plan apply status preflight cache; do
        kst -c "$WORK/fifo.conf" --root "$ROOT" $verb
        tap_unlike "$RC" '^(0|124)$' "FIFO as the config: $verb fails and does not hang"
        tap_like "$ERR" "$WORK/fifo.conf: not a regular file" "FIFO as the config: $verb names it"
done
mkfifo "$ROOT/etc/kubestrap/templates/kube-scheduler.flags"
for verb in plan apply; do
        kst -c "$CONF" --root "$ROOT" $verb
        tap_unlike "$RC" '^(0|124)$' "FIFO as a template: $verb fails and does not hang"
        tap_like "$ERR" "$ROOT/etc/kubestrap/templates/kube-scheduler.flags: not a regular file" \
                "FIFO as a template: $verb names it"
done
rm "$ROOT/etc/kubestrap/templates/kube-scheduler.flags"
mv "$PKI/ca.pem" "$WORK/ca.pem.saved"
mkfifo "$PKI/ca.pem"
for verb in plan preflight apply; do
        kst -c "$CONF" --root "$ROOT" $verb
        tap_unlike "$RC" '^(0|124)$' "FIFO in the PKI source-dir: $verb fails and does not hang"
        tap_like "$ERR" "$PKI/ca.pem( \(from [^)]*\))?: not a regular file" "FIFO in the PKI source-dir: $verb names it"
done
rm "$PKI/ca.pem"; mv "$WORK/ca.pem.saved" "$PKI/ca.pem"
tap_is "$(snapshot "$ROOT")" "$before" "FIFOs: the tree is left as it was"

# --- template directories: whoever can rename entries there can swap a template -----------------
tdir=$ROOT/etc/kubestrap/templates
chgrp 65534 "$tdir"; chmod g+w "$tdir"
ks -c "$CONF" --root "$ROOT" plan
tap_is "$RC" 2 "a group-writable template directory is refused"
tap_like "$ERR" "^kubestrap: $tdir: refusing a template directory writable by group or others" "naming it"
chmod g-w "$tdir"; chgrp 0 "$tdir"
chmod o+w "$ROOT/etc/kubestrap"
ks -c "$CONF" --root "$ROOT" plan
tap_is "$RC" 2 "a template directory under a world-writable one is refused"
tap_like "$ERR" "$tdir: refusing a template directory under $ROOT/etc/kubestrap, which is writable by group or others" \
        "naming the directory at fault"
chmod o-w "$ROOT/etc/kubestrap"
# the shipped templates (or a bundle's) are held to the same rule; a sticky directory above is fine
mkdir -p "$WORK/shared/tpl"; cp "$KUBESTRAP_TEMPLATES"/* "$WORK/shared/tpl/"; chmod 0777 "$WORK/shared"
KUBESTRAP_TEMPLATES=$WORK/shared/tpl ks -c "$CONF" --root "$ROOT" plan
tap_is "$RC" 2 "shipped templates under a world-writable directory are refused"
tap_like "$ERR" "$WORK/shared/tpl: refusing a template directory under $WORK/shared, which" "naming it"
chmod 1777 "$WORK/shared"
KUBESTRAP_TEMPLATES=$WORK/shared/tpl ks -c "$CONF" --root "$ROOT" plan
tap_is "$RC" 0 "but a sticky one above (like /tmp) is fine"

# --- a template swapped between its check and its read (renameat2 RENAME_EXCHANGE) -------------
# The check (owner, mode) and the read must see the same file: a swapper exchanges a good template
# with a hostile one (another user's, mode 0666) as fast as it can while plan renders again and
# again. Each run must render the good one or refuse the hostile one, never render it.
if [ "$(id -u)" = 0 ]; then
        cp "$KUBESTRAP_TEMPLATES/kube-scheduler.yaml" "$tdir/kube-scheduler.yaml"
        { cat "$KUBESTRAP_TEMPLATES/kube-scheduler.yaml"; echo "# HOSTILE-TEMPLATE"; } > "$tdir/.hostile"
        chown 65534:65534 "$tdir/.hostile"; chmod 0666 "$tdir/.hostile"
        cat > "$WORK/swap.py" <<'PY'
import ctypes, os, sys, time
libc = ctypes.CDLL(None, use_errno=True)
AT_FDCWD, RENAME_EXCHANGE = -100, 2
a, b, stop = (x.encode() for x in sys.argv[1:4])
deadline = time.monotonic() + 300  # bounded even if the test never says stop
while not os.path.exists(stop) and time.monotonic() < deadline:
    for _ in range(2000):
        if libc.renameat2(AT_FDCWD, a, AT_FDCWD, b, RENAME_EXCHANGE) != 0:
            sys.exit("renameat2: " + os.strerror(ctypes.get_errno()))
PY
        python3 "$WORK/swap.py" "$tdir/kube-scheduler.yaml" "$tdir/.hostile" "$WORK/swap.stop" &
        swapper=$!
        runs=0 hostile=0 good=0 refused=0 other=""
        end=$((SECONDS + 120))
        while [ "$runs" -lt 200 ] && [ "$SECONDS" -lt "$end" ] && [ "$hostile" -eq 0 ]; do
                ks -c "$CONF" --root "$ROOT" plan
                runs=$((runs + 1))
                if [[ $OUT == *HOSTILE-TEMPLATE* ]]; then
                        hostile=$((hostile + 1))
                elif [ "$RC" = 0 ]; then
                        good=$((good + 1))
                elif [[ $ERR == *"$tdir/kube-scheduler.yaml: refusing a template writable by group or others"* ]]; then
                        refused=$((refused + 1))
                else
                        other="$RC $ERR"
                fi
        done
        touch "$WORK/swap.stop"; wait "$swapper"; swap_rc=$?
        tap_is "$swap_rc" 0 "the swapper ran (renameat2 RENAME_EXCHANGE)"
        tap_is "$hostile" 0 "a swapped-in template is never rendered ($runs runs)"
        tap_diag "$runs runs: $good rendered the good template, $refused refused the hostile one"
        tap_is "$((good + refused))" "$runs" "each run rendered the good template or refused the hostile one${other:+ (other: $other)}"
        rm -f "$tdir/kube-scheduler.yaml" "$tdir/.hostile"
else
        tap_skip "template swap" "needs root (another user's file)"; tap_skip "-" "-"; tap_skip "-" "-"
fi

# --- a mode fix never follows a symlink out of the tree ------------------------------------------
# kubectl needs only its mode fixed; while the other binaries download, it is replaced by a
# symlink to a file outside --root. The fix must not reach that file.
printf 'outside\n' > "$WORK/outside"; chmod 0600 "$WORK/outside"
for b in kube-apiserver kube-controller-manager kube-scheduler; do
        head -c $((3 * 1024 * 1024)) /dev/urandom > "$WORK/$b.big"
        mirror_publish v1.22.9 "$ARCH" "$b" "$WORK/$b.big"
done
mirror_publish v1.22.9 "$ARCH" kubectl "$ROOT/usr/local/bin/kubectl"
ks_set cluster version v1.22.9
ks_set download base-url "$MIRROR_SLOW_URL"
chmod 0700 "$ROOT/usr/local/bin/kubectl"
ks -c "$CONF" --root "$ROOT" plan
tap_like "$OUT" "chmod +$ROOT/usr/local/bin/kubectl" "plan: kubectl only needs its mode fixed"
"$KUBESTRAP" -c "$CONF" --root "$ROOT" --output json apply > "$WORK/chmod.out" 2>&1 &
pid=$!
ks_wait_progress "$WORK/chmod.out"
ln -s "$WORK/outside" "$ROOT/usr/local/bin/.kubectl.evil"
mv -T "$ROOT/usr/local/bin/.kubectl.evil" "$ROOT/usr/local/bin/kubectl"
RC=0; wait "$pid" || RC=$?
tap_is "$(stat -c %a "$WORK/outside")" 600 "the file outside --root keeps its mode"
tap_is "$RC" 1 "the run fails"
tap_like "$(cat "$WORK/chmod.out")" "$ROOT/usr/local/bin/kubectl: Too many levels of symbolic links" "naming the file"

tap_done
