# shellcheck shell=bash
# test/lib/common.sh - the integration fixture: a real nginx HTTPS mirror serving stand-in
# binaries in the dl.k8s.io layout, a throwaway PKI, and a kubestrap config pointing at both.
#
#   . "$top_srcdir/test/lib/common.sh"; ks_setup
# gives WORK (temp dir, removed on exit), ROOT (empty --root tree), CONF (config file),
# PKI (source-dir), and the MIRROR_* variables of mirror.sh (the etcd release too, under
# MIRROR_ETCD_URL). ks NAME... runs kubestrap.

: "${top_srcdir:=$(cd "$(dirname "${BASH_SOURCE[0]}")/../.." && pwd)}"
: "${top_builddir:=$top_srcdir}"
: "${KUBESTRAP:=$top_builddir/kubestrap}"
: "${STANDIN:=$top_builddir/test/standin}"
: "${KUBESTRAP_TEMPLATES:=$top_srcdir/templates}"
export KUBESTRAP_TEMPLATES

. "$top_srcdir/test/lib/tap.sh"
. "$top_srcdir/test/lib/mirror.sh"
. "$top_srcdir/test/lib/etcd.sh"

VERSION=v1.21.0
ARCH=amd64
BINARIES="kube-apiserver kube-controller-manager kube-scheduler kubectl"

# ks_wait_progress JSON-OUTPUT: waits (up to 10 s) until a progress event of a running
# "kubestrap --output json" counts a megabyte.
ks_wait_progress() {
        local _
        for _ in $(seq 200); do
                grep -q '"event":"progress","bytes":[1-9][0-9]\{6\},' "$1" 2>/dev/null && return 0
                sleep 0.05
        done
}

# ks_cut_midway JSON-OUTPUT: then kills nginx's workers: every open connection dies (the master
# starts new workers, so the next request is served).
ks_cut_midway() {
        ks_wait_progress "$1"
        pkill -KILL -P "$(cat "$MIRROR_PID_FILE")" || true
}

# ks_apply_cut ROOT NAME: "kubestrap apply" on ROOT (JSON to $WORK/NAME.out, stderr to
# $WORK/NAME.err), its transfers cut by ks_cut_midway; RC is its exit status.
ks_apply_cut() {
        "$KUBESTRAP" -c "$CONF" --root "$1" --output json apply > "$WORK/$2.out" 2> "$WORK/$2.err" &
        local pid=$!
        ks_cut_midway "$WORK/$2.out"
        RC=0
        wait "$pid" || RC=$?
}

ks_cleanup() {
        etcd_stop 2>/dev/null || true
        mirror_stop 2>/dev/null || true
        [ -n "${WORK:-}" ] && rm -rf "$WORK"
}

# Each binary is the stand-in plus its own name appended, so the four digests differ.
ks_publish_binaries() { # version
        local v=${1:-$VERSION} b
        for b in $BINARIES; do
                cat "$STANDIN" > "$WORK/$b.bin"
                printf '\n%s %s\n' "$b" "$v" >> "$WORK/$b.bin"
                mirror_publish "$v" "$ARCH" "$b" "$WORK/$b.bin"
        done
}

ks_write_config() { # extra lines appended to [download] via $1, rest of file from example
        sed -e "s|^version = .*|version = $VERSION|" \
            -e "s|^base-url = .*|base-url = $MIRROR_URL|" \
            -e "s|^;ca-file = .*|ca-file = $MIRROR_CA|" \
            -e "s|^;signature-roots = .*|signature-roots = $MIRROR_SIGSTORE/roots.pem|" \
            -e "s|^;ct-log-keys = .*|ct-log-keys = $MIRROR_SIGSTORE/ct-log-keys.pem|" \
            -e "s|^source-dir = .*|source-dir = $PKI|" \
            "$top_srcdir/examples/controller-0.conf" > "$CONF"
        chmod 0644 "$CONF"
}

ks_setup() {
        WORK=$(mktemp -d /tmp/kubestrap-test.XXXXXX)
        chmod 0755 "$WORK"
        trap ks_cleanup EXIT
        mkdir -p "$WORK/mirror" "$WORK/root"
        ROOT=$WORK/root
        CONF=$WORK/kubestrap.conf
        PKI=$WORK/pki
        mirror_start "$WORK/mirror" >/dev/null || tap_bail "could not start the nginx mirror"
        ks_publish_binaries "$VERSION"
        mirror_publish_etcd "$ARCH" || tap_bail "could not publish the etcd release"
        "$top_srcdir/scripts/make-pki" "$PKI" >/dev/null || tap_bail "could not make the PKI"
        ks_write_config
}

# Runs kubestrap; stdout in $OUT, stderr in $ERR, exit status in $RC. With KS_TIMEOUT=SECONDS
# a run that hangs is killed then (RC 124) instead of stopping the test.
ks() {
        local o e
        o=$(mktemp) e=$(mktemp)
        set +e
        ${KS_TIMEOUT:+timeout "$KS_TIMEOUT"} "$KUBESTRAP" "$@" >"$o" 2>"$e"
        RC=$?
        set -e
        OUT=$(cat "$o") ERR=$(cat "$e")
        rm -f "$o" "$e"
}

# Sets a key in a section of $CONF (adds it if missing).
ks_set() { # section key value
        local section=$1 key=$2 value=$3
        awk -v s="[$section]" -v k="$key" -v v="$value" '
                $0 == s { print; print k " = " v; insec = 1; next }
                /^\[/ { insec = 0 }
                insec && ($1 == k) && ($2 == "=") { next }
                { print }' "$CONF" > "$CONF.new" && mv "$CONF.new" "$CONF"
        chmod 0644 "$CONF"
}

# mtime in nanoseconds and inode, to prove a file was not rewritten
ks_stamp() { stat -c '%i %Y.%y' "$1"; }

# ks_hardlink_tar SOURCE-TAR OUT-TAR ENTRY TARGET: OUT-TAR (gzipped if it ends in .gz) is
# SOURCE-TAR's entries after a first one, ENTRY: a pax hard link to TARGET that carries data.
# libarchive calls such an entry a regular file; extracted to disk it would link TARGET and
# write and chmod through the link.
ks_hardlink_tar() {
        python3 - "$@" <<'PY'
import io, sys, tarfile
src, out, entry, target = sys.argv[1:]
data = b"written through a hard-link entry\n"
mode = "w:gz" if out.endswith(".gz") else "w"
with tarfile.open(src) as good, tarfile.open(out, mode, format=tarfile.PAX_FORMAT) as t:
    ti = tarfile.TarInfo(entry)
    ti.type, ti.linkname, ti.size, ti.mode = tarfile.LNKTYPE, target, len(data), 0o755
    ti.pax_headers = {"linkpath": target}  # a pax header makes libarchive honour the size
    t.addfile(ti, io.BytesIO(data))
    for m in good.getmembers():
        t.addfile(m, good.extractfile(m) if m.isreg() else None)
PY
}
