#!/bin/bash
# Integration: download.source = tarball. The release tarball is streamed once through
# libarchive (hashed while its members are extracted), warm runs need no request, and tarballs
# with "../", absolute, symlink-escaping or hard-link-escaping entries, or a wrong digest
# install nothing.
set -eu
. "${top_srcdir:-$(dirname "$0")/../..}/test/lib/common.sh"
ks_setup
T=kubernetes-server-linux-amd64.tar.gz
summary() { printf '%s\n' "$OUT" | tail -n 1; }
requests() { wc -l < "$MIRROR_ACCESS_LOG"; }
snapshot() { (cd "$1" && find . -mindepth 1 ! -type d -printf '%p %i %T@ %m %l\n' | sort); }

# a release-shaped tarball: the four binaries among other members
mk=$WORK/tar; mkdir -p "$mk/kubernetes/server/bin" "$mk/kubernetes/addons"
for b in $BINARIES; do cp "$MIRROR_WWW/$VERSION/bin/linux/amd64/$b" "$mk/kubernetes/server/bin/$b"; done
head -c 100000 /dev/urandom > "$mk/kubernetes/server/bin/kube-proxy"
echo "license text" > "$mk/kubernetes/LICENSES"
publish_tarball() { # version source-tarball
        mkdir -p "$MIRROR_WWW/$1"
        cp "$2" "$MIRROR_WWW/$1/$T"
        sha256sum "$2" | cut -d' ' -f1 > "$MIRROR_WWW/$1/$T.sha256"
        mirror_sign "$MIRROR_WWW/$1/$T" # v1.26 and later require its signature
        chmod -R a+rX "$MIRROR_WWW/$1"
}
tar -C "$mk" -czf "$WORK/good.tar.gz" kubernetes
publish_tarball "$VERSION" "$WORK/good.tar.gz"
ks_set download source tarball

n0=$(requests)
ks -c "$CONF" --root "$ROOT" --output json apply
tap_is "$RC" 0 "apply from the release tarball succeeds"
for b in $BINARIES; do
        tap_ok "$b extracted byte-identical" cmp "$mk/kubernetes/server/bin/$b" "$ROOT/usr/local/bin/$b"
done
tap_is "$(stat -c %a "$ROOT/usr/local/bin/kubectl")" 755 "extracted binaries are 0755"
tap_is "$(tail -n +$((n0 + 1)) "$MIRROR_ACCESS_LOG" | grep -c "$T HTTP")" 1 "the tarball was fetched once"
tap_is "$(find "$ROOT" -name 'kube-proxy' | wc -l)" 0 "members not asked for are not extracted"

n0=$(requests)
ks -c "$CONF" --root "$ROOT" --output json apply
tap_like "$(summary)" '"changed":0,' "warm apply from the tarball changes nothing"
tap_is "$(requests)" "$n0" "and makes no HTTP request"

# switching a tree installed from separate binaries to the tarball (same bytes) changes nothing
ks_set download source binaries
other=$WORK/other; mkdir "$other"
ks -c "$CONF" --root "$other" apply
ks_set download source tarball
before=$(snapshot "$other/usr/local/bin")
ks -c "$CONF" --root "$other" --output json apply
tap_is "$RC" 0 "switching the source to the tarball succeeds"
tap_like "$(summary)" '"changed":0,' "identical binaries are not replaced"
tap_is "$(snapshot "$other/usr/local/bin")" "$before" "binaries untouched"

# --- hostile tarballs: refused, nothing installed ---------------------------------------
check_refused() { # desc version tarball expected-message
        local fresh=$WORK/fresh-$2
        mkdir -p "$fresh"
        publish_tarball "$2" "$3"
        ks_set cluster version "$2"
        ks -c "$CONF" --root "$fresh" apply
        tap_is "$RC" 1 "$1: the run fails"
        tap_like "$ERR" "$4" "$1: message"
        tap_is "$(find "$fresh" -mindepth 1 -not -path '*/var/cache*' -not -path '*/var/lib/kubestrap*' | wc -l)" 0 \
                "$1: nothing installed"
}
ev=$WORK/evil; mkdir -p "$ev/kubernetes/server/bin" "$ev/x"
for b in $BINARIES; do cp "$mk/kubernetes/server/bin/$b" "$ev/kubernetes/server/bin/$b"; done
echo evil > "$ev/evil"
tar -C "$ev/x" -P -czf "$WORK/dotdot.tar.gz" ../kubernetes ../evil
check_refused "'..' entry" v1.30.1 "$WORK/dotdot.tar.gz" "refusing entry '\.\./kubernetes/': a path outside the archive"
tar -P -czf "$WORK/abs.tar.gz" "$ev/evil" -C "$ev" kubernetes
check_refused "absolute entry" v1.30.2 "$WORK/abs.tar.gz" "refusing entry '/tmp/.*/evil': a path outside the archive"
ln -s ../../../../etc "$ev/kubernetes/server/bin/escape"
tar -C "$ev" -czf "$WORK/symlink.tar.gz" kubernetes
check_refused "symlink escaping the archive" v1.30.3 "$WORK/symlink.tar.gz" \
        "refusing entry 'kubernetes/server/bin/escape': a link pointing outside the archive"
rm "$ev/kubernetes/server/bin/escape"
# A pax hard link carrying data, its target outside: the stream extractor writes members only
# to its own staging files and never resolves a name on disk, and it refuses the entry.
victim=$WORK/tarball-victim; echo "victim's own text" > "$victim"; chmod 0600 "$victim"
ks_hardlink_tar "$WORK/good.tar.gz" "$WORK/hardlink.tar.gz" kubernetes/server/bin/notes "$victim"
check_refused "hard link with data pointing outside" v1.30.7 "$WORK/hardlink.tar.gz" \
        "refusing entry 'kubernetes/server/bin/notes': a hard link outside the archive"
tap_is "$(cat "$victim") $(stat -c %a "$victim")" "victim's own text 600" \
        "hard link with data pointing outside: the file outside is untouched"

# a tarball that does not match its digest: members were staged, none is published
tar -C "$mk" -czf "$WORK/tampered.tar.gz" kubernetes
mkdir -p "$MIRROR_WWW/v1.22.4"
publish_tarball v1.22.4 "$WORK/tampered.tar.gz"
echo "trailing junk" >> "$MIRROR_WWW/v1.22.4/$T"
ks_set cluster version v1.22.4
before=$(snapshot "$ROOT")
ks -c "$CONF" --root "$ROOT" apply
tap_is "$RC" 1 "a tarball with the wrong digest fails the run"
tap_like "$ERR" "v1.22.4/$T: digest mismatch: expected sha256:" "the message names the tarball and the digests"
tap_is "$(snapshot "$ROOT")" "$before" "nothing published from it"
tap_is "$(find "$ROOT" -name '.*.ks-*' | wc -l)" 0 "no staging files left"

# --- a stream cut half-way that cannot resume starts over ------------------------------------
# The extractor has already consumed what came before the cut, so the tarball starts over
# from zero (once per URL) instead of failing the run. 8 MB of noise at the end of the tarball
# keep the transfer going for seconds at MIRROR_SLOW_RATE.
head -c 8000000 /dev/urandom > "$mk/kubernetes/server/zz-noise"
tar -C "$mk" -czf "$WORK/big.tar.gz" kubernetes
# (a) the server answers the retry's Range request with the whole file
publish_tarball v1.30.5 "$WORK/big.tar.gz"
ks_set cluster version v1.30.5
ks_set download base-url "$MIRROR_NORANGE_URL"
ks_set download retry-delay-ms 50
R=$WORK/norange; mkdir "$R"
n0=$(requests)
ks_apply_cut "$R" norange
tap_is "$RC" 0 "a cut stream from a server deaf to Range completes"
tap_like "$(cat "$WORK/norange.out")" '"event":"warning","message":"https://127.0.0.1:[0-9]+/norange/v1.30.5/kubernetes-server-linux-amd64.tar.gz: sent the whole file again, not the rest \(HTTP 200 to a Range request\), and a stream cannot start over; starting the tarball over from https://127.0.0.1:[0-9]+/norange/v1.30.5/' \
        "the warning says why it started over"
tap_is "$(tail -n +$((n0 + 1)) "$MIRROR_ACCESS_LOG" | grep -c "norange/v1.30.5/$T HTTP/2.0\" 200")" 2 \
        "the tarball was sent whole twice: the retry and the new start"
for b in $BINARIES; do
        tap_ok "$b extracted byte-identical after starting over" cmp "$mk/kubernetes/server/bin/$b" "$R/usr/local/bin/$b"
done
tap_is "$(find "$R" -name '.*.ks-*' | wc -l)" 0 "no staging files left"

# (b) the primary is cut with no retries left: the mirror has to start from zero
publish_tarball v1.30.6 "$WORK/big.tar.gz"
ks_set cluster version v1.30.6
ks_set download base-url "$MIRROR_SLOW_URL"
ks_set download retries 0
ks_set download mirrors "$MIRROR_URL"
R=$WORK/tomirror; mkdir "$R"
ks_apply_cut "$R" tomirror
tap_is "$RC" 0 "a stream cut on the primary completes from the mirror"
tap_like "$(cat "$WORK/tomirror.out")" '"event":"warning","message":"https://127.0.0.1:[0-9]+/slow/v1.30.6/[^"]*; https://127.0.0.1:[0-9]+/v1.30.6/kubernetes-server-linux-amd64.tar.gz: not tried: a streamed transfer cannot start over; starting the tarball over from https://127.0.0.1:[0-9]+/v1.30.6/' \
        "the warning names the primary's failure and the mirror it starts over from"
for b in $BINARIES; do
        tap_ok "$b from the mirror is byte-identical" cmp "$mk/kubernetes/server/bin/$b" "$R/usr/local/bin/$b"
done

# --- a tarball without a length past [download] max-size is stopped as it arrives (issue 10,
# finding 10); the big tarball is about 8 MB, the limit 1 MiB
if [ -n "$MIRROR_CHUNKED_URL" ]; then
        publish_tarball v1.30.7 "$WORK/big.tar.gz"
        ks_set cluster version v1.30.7
        ks_set download base-url "$MIRROR_CHUNKED_URL"
        ks_set download mirrors ""
        ks_set download max-size 1048576
        R=$WORK/oversize; mkdir "$R"
        n0=$(requests)
        ks -c "$CONF" --root "$R" apply
        tap_is "$RC" 1 "a tarball past max-size fails the run"
        tap_like "$ERR" "chunked/v1\.30\.7/$T: larger than the size limit of 1048576 bytes \(\[download\] max-size\)" \
                "the message names the tarball's URL and the limit"
        tap_is "$(tail -n +$((n0 + 1)) "$MIRROR_ACCESS_LOG" | grep -c "chunked/v1.30.7/$T HTTP")" 1 \
                "it was asked for once, not again"
        tap_is "$(find "$R" -path '*/bin/*' | wc -l)" 0 "nothing installed, no staging file left"
else
        tap_skip "a tarball without a length" "nginx has no sub module"
fi

tap_done
