#!/bin/bash
# test/int/mirror-selftest.sh - TAP self-test of test/lib/mirror.sh (and tap.sh):
# starts a real nginx mirror and checks it with curl.
set -eu

here=$(cd "$(dirname "$0")/.." && pwd)
# shellcheck source=test/lib/tap.sh
. "$here/lib/tap.sh"
# shellcheck source=test/lib/mirror.sh
. "$here/lib/mirror.sh"
# shellcheck source=test/lib/etcd.sh
. "$here/lib/etcd.sh"

for tool in nginx openssl curl ss; do
    if ! command -v "$tool" >/dev/null 2>&1; then
        echo "1..0 # SKIP $tool not installed"
        exit 0
    fi
done

tmp=$(mktemp -d)
# shellcheck disable=SC2317 # invoked by the EXIT trap
cleanup() {
    etcd_stop
    mirror_stop
    rm -rf "$tmp"
}
trap cleanup EXIT

VER=v1.21.0 ARCH=amd64 NAME=kube-apiserver
REL="$VER/bin/linux/$ARCH/$NAME"

t0=$(date +%s%N)
if mirror_start "$tmp"; then   # $tmp is mode 0700, as mktemp -d made it
    tap_pass "mirror_start"
else
    tap_bail "mirror_start failed"
fi
t1=$(date +%s%N)
mkdir "$tmp/work"
tap_diag "MIRROR_URL=$MIRROR_URL UNTRUSTED=$MIRROR_UNTRUSTED_URL HTTP=$MIRROR_HTTP_URL"

for v in MIRROR_DIR MIRROR_CA MIRROR_URL MIRROR_UNTRUSTED_URL MIRROR_HTTP_URL \
    MIRROR_REDIRECT_HTTP_URL MIRROR_REDIRECT_HTTPS_URL MIRROR_ACCESS_LOG MIRROR_WWW; do
    tap_like "$(env | grep "^$v=" || true)" "^$v=." "$v exported"
done
tap_like "$MIRROR_URL" '^https://127\.0\.0\.1:[0-9]+$' "MIRROR_URL form"
tap_is "$MIRROR_REDIRECT_HTTP_URL" "$MIRROR_URL/redirect-http" "MIRROR_REDIRECT_HTTP_URL form"
tap_is "$MIRROR_REDIRECT_HTTPS_URL" "$MIRROR_URL/redirect-https" "MIRROR_REDIRECT_HTTPS_URL form"

src="$tmp/work/src"
head -c 1048576 /dev/urandom >"$src"
chmod 0600 "$src"
want256=$(sha256sum <"$src" | cut -d' ' -f1)
want512=$(sha512sum <"$src" | cut -d' ' -f1)

tap_ok "mirror_publish" mirror_publish "$VER" "$ARCH" "$NAME" "$src"
tap_is "$(cat "$MIRROR_WWW/$REL.sha256")" "$want256" "sha256 sidecar on disk"

# --- trusted HTTPS download ----------------------------------------------
n0=$(mirror_requests)
dl="$tmp/work/dl"
mkdir "$dl"
tap_ok "trusted download with --cacert" \
    curl -fsS --cacert "$MIRROR_CA" -o "$dl/$NAME" "$MIRROR_URL/$REL"
tap_ok "sha256 sidecar download" \
    curl -fsS --cacert "$MIRROR_CA" -o "$dl/$NAME.sha256" "$MIRROR_URL/$REL.sha256"
tap_ok "sha512 sidecar download" \
    curl -fsS --cacert "$MIRROR_CA" -o "$dl/$NAME.sha512" "$MIRROR_URL/$REL.sha512"
got256=$(sha256sum <"$dl/$NAME" | cut -d' ' -f1)
tap_is "$got256" "$want256" "downloaded file is the published file"
tap_ok "sha256 sidecar is exactly the hex digest plus newline" \
    cmp "$dl/$NAME.sha256" <(printf '%s\n' "$got256")
side512=$(cat "$dl/$NAME.sha512")
tap_like "$side512" "^[0-9a-f]{128}  $NAME\$" "sha512 sidecar has the '<hex>  name' form"
tap_is "$side512" "$want512  $NAME" "sha512 sidecar matches the file"
# shellcheck disable=SC2016 # expanded by the inner bash
tap_ok "sha512sum -c accepts the sidecar" \
    bash -c 'cd "$1" && sha512sum -c --status "$2.sha512"' _ "$dl" "$NAME"
n1=$(mirror_requests)
tap_ok "access log grew by >= 3 ($n0 -> $n1)" test "$n1" -ge $((n0 + 3))
tap_like "$(tail -n 3 "$MIRROR_ACCESS_LOG")" "\"GET /$REL\\.sha512 HTTP/[0-9.]+\" 200 " \
    "access log has request line and status"

tap_ok "trusted cert also valid for https://localhost" \
    curl -fsS --cacert "$MIRROR_CA" -o /dev/null \
    "${MIRROR_URL/127.0.0.1/localhost}/$REL.sha256"

if curl -V | grep -qw HTTP2; then
    tap_is "$(curl -sS --http2 --cacert "$MIRROR_CA" -o /dev/null \
        -w '%{http_version}' "$MIRROR_URL/$REL.sha256")" 2 "trusted server speaks HTTP/2"
else
    tap_skip "trusted server speaks HTTP/2" "curl without HTTP2"
fi

# --- untrusted HTTPS -----------------------------------------------------
rc=0
curl -sS --cacert "$MIRROR_CA" -o /dev/null "$MIRROR_UNTRUSTED_URL/$REL" \
    2>"$tmp/work/untrusted.err" || rc=$?
tap_is "$rc" 60 "untrusted server fails verification against MIRROR_CA (curl 60)"
tap_like "$(cat "$tmp/work/untrusted.err")" 'certificate' "curl complains about the certificate"
tap_ok "untrusted server itself works (-k)" \
    curl -fsSk -o /dev/null "$MIRROR_UNTRUSTED_URL/$REL.sha256"

# --- plain HTTP ----------------------------------------------------------
tap_is "$(curl -fsS "$MIRROR_HTTP_URL/$REL" | sha256sum | cut -d' ' -f1)" "$want256" \
    "plain HTTP serves the file"

# --- redirects -----------------------------------------------------------
out=$(curl -sS --cacert "$MIRROR_CA" -o /dev/null -w '%{http_code} %{redirect_url}' \
    "$MIRROR_REDIRECT_HTTP_URL/$REL")
tap_like "$out" '^302 http://' "/redirect-http/ gives 302 with Location http://"
tap_is "${out#302 }" "$MIRROR_HTTP_URL/$REL" "/redirect-http/ Location is the plain URL"
tap_is "$(curl -fsSL --cacert "$MIRROR_CA" "$MIRROR_REDIRECT_HTTP_URL/$REL" |
    sha256sum | cut -d' ' -f1)" "$want256" "following /redirect-http/ gets the file"

out=$(curl -sS --cacert "$MIRROR_CA" -o /dev/null -w '%{http_code} %{redirect_url}' \
    "$MIRROR_REDIRECT_HTTPS_URL/$REL.sha512")
tap_is "$out" "302 $MIRROR_URL/$REL.sha512" "/redirect-https/ gives 302 to the https URL"
tap_is "$(curl -fsSL --cacert "$MIRROR_CA" "$MIRROR_REDIRECT_HTTPS_URL/$REL.sha512")" \
    "$want512  $NAME" "following /redirect-https/ gets the sidecar"

# --- 404 -----------------------------------------------------------------
tap_is "$(curl -sS --cacert "$MIRROR_CA" -o /dev/null -w '%{http_code}' \
    "$MIRROR_URL/$VER/bin/linux/$ARCH/kubectl")" 404 "missing file gives 404"
rc=0
curl -fsS --cacert "$MIRROR_CA" -o /dev/null "$MIRROR_URL/v9.9.9/bin/linux/$ARCH/$NAME" \
    2>/dev/null || rc=$?
tap_is "$rc" 22 "curl -f on a missing file fails (22)"
n2=$(mirror_requests)
tap_ok "access log keeps growing ($n1 -> $n2)" test "$n2" -gt "$n1"
tap_like "$(tail -n 1 "$MIRROR_ACCESS_LOG")" '" 404 ' "404 is logged"

# --- the stand-ins of every version, and the markers ------------------------------------
STANDIN=${STANDIN:-$here/standin}
if [ -x "$STANDIN" ]; then
    t2=$(date +%s%N)
    tap_ok "mirror_publish_standins" mirror_publish_standins "$ARCH" "$STANDIN"
    t3=$(date +%s%N)
    tap_diag "mirror_start took $(((t1 - t0) / 1000000)) ms, publishing $MIRROR_STANDIN_VERSIONS" \
        "$MIRROR_STANDIN_CRASH_VERSIONS took $(((t3 - t2) / 1000000)) ms"
    tap_ok "publishing every version takes under 3 s" test $(((t3 - t2) / 1000000)) -lt 3000

    marker() { curl -fsS --cacert "$MIRROR_CA" "$MIRROR_URL/$1"; }
    # as dl.k8s.io serves them: the version and nothing else, no trailing newline
    tap_ok "stable.txt is v1.36.0, without a newline" cmp <(marker stable.txt) <(printf v1.36.0)
    tap_ok "stable-1.txt is v1.36.0" cmp <(marker stable-1.txt) <(printf v1.36.0)
    tap_ok "stable-1.34.txt is the higher of two patches, v1.34.2" cmp <(marker stable-1.34.txt) <(printf v1.34.2)
    # shellcheck disable=SC2086 # a list of words
    for m in $(printf '%s\n' $MIRROR_STANDIN_VERSIONS | sed 's/^v\([0-9]*\.[0-9]*\)\..*/\1/' | uniq); do
        # shellcheck disable=SC2086
        v=$(printf '%s\n' $MIRROR_STANDIN_VERSIONS | grep -F "v$m." | sort -V | tail -n 1)
        tap_is "$(marker "stable-$m.txt")" "$v" "stable-$m.txt is $v, the highest published v$m"
    done
    tap_is "$(curl -sS --cacert "$MIRROR_CA" -o /dev/null -w '%{http_code}' "$MIRROR_URL/stable-1.20.txt")" 404 \
        "no marker for a minor the mirror lacks"
    tap_unlike "$(cat "$MIRROR_WWW"/stable*.txt)" crash "no marker names a -crash release"

    # serve_version FILE: runs FILE as kube-apiserver (the mirror's own server certificate)
    # on a free port, with a real etcd, and prints its /version.
    "$here/../scripts/make-pki" "$tmp/work/pki" >/dev/null && etcd_start "$tmp/work/etcd" "$tmp/work/pki" ||
        tap_bail "could not start etcd for the API servers"
    serve_version() {
        local log="$tmp/work/apiserver.log" pid port='' out=''
        "$1" --tls-cert-file="$MIRROR_DIR/ca/server.pem" --tls-private-key-file="$MIRROR_DIR/ca/server.key" \
            "${KS_ETCD_APISERVER_FLAGS[@]}" --bind-address=127.0.0.1 --secure-port=0 >"$log" 2>&1 &
        pid=$!
        # until it says where it listens, or exits; generous, since under ASan on a loaded
        # machine a start can take seconds (the bound only keeps a broken stand-in from hanging)
        for _ in $(seq 600); do
            port=$(sed -n 's/.*stand-in listening on 127.0.0.1:\([0-9]*\)$/\1/p' "$log")
            [ -n "$port" ] && break
            kill -0 "$pid" 2>/dev/null || break
            sleep 0.05
        done
        [ -n "$port" ] || echo "# $1 did not say where it listens: $(cat "$log")" >&2
        [ -n "$port" ] && out=$(curl -fsS --cacert "$MIRROR_CA" "https://127.0.0.1:$port/version")
        kill "$pid" 2>/dev/null || true
        wait "$pid" 2>/dev/null || true
        printf '%s\n' "$out"
    }
    for v in $MIRROR_STANDIN_VERSIONS; do
        d="$tmp/work/$v"
        mkdir -p "$d"
        for b in kube-apiserver kubectl; do
            curl -fsS --cacert "$MIRROR_CA" -o "$d/$b" "$MIRROR_URL/$v/bin/linux/$ARCH/$b"
            curl -fsS --cacert "$MIRROR_CA" -o "$d/$b.sha256" "$MIRROR_URL/$v/bin/linux/$ARCH/$b.sha256"
            chmod 0755 "$d/$b"
        done
        tap_is "$(sha256sum <"$d/kube-apiserver" | cut -d' ' -f1)" "$(cat "$d/kube-apiserver.sha256")" \
            "$v kube-apiserver matches its sha256 sidecar"
        tap_is "$("$d/kubectl" version --client)" "Client Version: $v" "$v kubectl says $v"
        tap_like "$(serve_version "$d/kube-apiserver")" "\"gitVersion\":\"$v\"" "$v kube-apiserver answers /version with $v"
    done
    tap_unlike "$(sha256sum "$MIRROR_WWW"/v1.34.[12]/bin/linux/"$ARCH"/kube-apiserver | cut -d' ' -f1 | uniq -d)" . \
        "each version's binary has its own digest"
    for v in $MIRROR_STANDIN_CRASH_VERSIONS; do
        mkdir -p "$tmp/work/$v"
        curl -fsS --cacert "$MIRROR_CA" -o "$tmp/work/$v/kube-scheduler" "$MIRROR_URL/$v/bin/linux/$ARCH/kube-scheduler"
        chmod 0755 "$tmp/work/$v/kube-scheduler"
        rc=0
        out=$("$tmp/work/$v/kube-scheduler" --config=/nonexistent 2>&1) || rc=$?
        tap_is "$rc $out" "1 kube-scheduler stand-in $v: built to crash at start (a bad release)" \
            "$v kube-scheduler crashes at start"
    done
else
    tap_skip "the stand-ins of every version" "no stand-in build at $STANDIN"
fi

# --- the etcd release, made from Debian's binaries ------------------------------------
if [ -x "$MIRROR_ETCD_BIN" ] && [ -x "$MIRROR_ETCD_CTL" ]; then
    E=$MIRROR_ETCD_VERSION TGZ=etcd-$MIRROR_ETCD_VERSION-linux-$ARCH.tar.gz
    tap_is "$MIRROR_ETCD_URL" "$MIRROR_URL/etcd" "MIRROR_ETCD_URL is the etcd base under the mirror"
    tap_ok "mirror_publish_etcd" mirror_publish_etcd "$ARCH"
    ed="$tmp/work/etcd"
    mkdir -p "$ed"
    tap_ok "the tarball downloads from <base>/<version>/" \
        curl -fsS --cacert "$MIRROR_CA" -o "$ed/$TGZ" "$MIRROR_ETCD_URL/$E/$TGZ"
    tap_ok "SHA256SUMS downloads from next to it" \
        curl -fsS --cacert "$MIRROR_CA" -o "$ed/SHA256SUMS" "$MIRROR_ETCD_URL/$E/SHA256SUMS"
    tap_like "$(cat "$ed/SHA256SUMS")" "^[0-9a-f]{64}  $TGZ\$" "SHA256SUMS has shasum -a 256's '<hex>  name' lines"
    # shellcheck disable=SC2016 # expanded by the inner bash
    tap_ok "sha256sum -c accepts SHA256SUMS for the tarball" bash -c 'cd "$1" && sha256sum -c --status SHA256SUMS' _ "$ed"
    top=etcd-$E-linux-$ARCH
    tap_is "$(tar -tzf "$ed/$TGZ" | sort | tr '\n' ' ')" \
        "$top/ $top/Documentation/ $top/Documentation/README.md $top/README-etcdctl.md $top/README.md $top/READMEv2-etcdctl.md $top/etcd $top/etcdctl " \
        "the release layout: one top directory with etcd, etcdctl, the READMEs and Documentation/"
    tar -C "$ed" -xzf "$ed/$TGZ"
    tap_like "$("$ed/$top/etcd" --version)" "^etcd Version: ${E#v}" "its etcd is ${E#v}"
    tap_like "$("$ed/$top/etcdctl" version)" "^etcdctl version: ${E#v}" "its etcdctl is ${E#v}"
    tap_ok "and they are Debian's binaries, byte for byte" \
        sh -c 'cmp -s "$1/etcd" "$2" && cmp -s "$1/etcdctl" "$3"' _ "$ed/$top" "$MIRROR_ETCD_BIN" "$MIRROR_ETCD_CTL"
    cp "$MIRROR_WWW/etcd/$E/$TGZ" "$ed/first.tgz"
    mirror_publish_etcd "$ARCH"
    tap_ok "publishing again gives the same bytes (SHA256SUMS stays valid)" cmp -s "$ed/first.tgz" "$MIRROR_WWW/etcd/$E/$TGZ"
    tap_is "$(grep -c . "$MIRROR_WWW/etcd/$E/SHA256SUMS")" 1 "and one line per file in SHA256SUMS"
else
    tap_skip "the etcd release" "no $MIRROR_ETCD_BIN or $MIRROR_ETCD_CTL (scripts/deps installs them)"
fi

# --- stop ----------------------------------------------------------------
pid=$(cat "$MIRROR_PID_FILE")
tap_ok "mirror_stop" mirror_stop
if _mirror_alive "$pid"; then
    tap_fail "nginx master $pid is gone" "still running"
else
    tap_pass "nginx master $pid is gone"
fi
rc=0
curl -sS --max-time 5 --cacert "$MIRROR_CA" -o /dev/null "$MIRROR_URL/$REL.sha256" \
    2>/dev/null || rc=$?
tap_is "$rc" 7 "nothing listens after mirror_stop (curl 7)"
tap_ok "mirror_stop twice is harmless" mirror_stop

tap_done
