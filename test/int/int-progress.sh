#!/bin/bash
# Integration: download progress without a terminal. Through a pipe, apply writes a line when
# each file starts, lines while it runs (bytes, rate) and one when it is verified, and never a
# carriage return or a terminal control. The interval (10 s) is shortened through
# KUBESTRAP_PROGRESS_INTERVAL_MS; the mirror's /slow/ path sends 1 MiB/s, so a 3 MiB file runs
# for about 3 s, many intervals of 200 ms.
set -eu
MIRROR_SLOW_RATE=1m
export MIRROR_SLOW_RATE
. "${top_srcdir:-$(dirname "$0")/../..}/test/lib/common.sh"
ks_setup

# a 3 MiB kube-apiserver: the stand-in with its name and filler appended
big=$WORK/kube-apiserver.big
{ cat "$STANDIN"; printf '\nkube-apiserver %s\n' "$VERSION"; head -c 3145728 /dev/zero; } > "$big"
mirror_publish "$VERSION" "$ARCH" kube-apiserver "$big"
ks_set download base-url "$MIRROR_SLOW_URL"

# stderr through a pipe, as cloud-init or a CI log captures it
set +e
KUBESTRAP_PROGRESS_INTERVAL_MS=200 "$KUBESTRAP" -c "$CONF" --root "$ROOT" apply 2>&1 >/dev/null |
        cat > "$WORK/log"
set -e
tap_is "$(grep -c "^kubestrap: " "$WORK/log" || true)" 0 "apply succeeded: no error in the log"
for b in $BINARIES; do
        tap_is "$(grep -c -x "downloading $MIRROR_SLOW_URL/$VERSION/bin/linux/$ARCH/$b" "$WORK/log")" 1 \
                "$b: one line when it starts"
        tap_is "$(grep -c "^$b: [0-9.]* [KMG]*i*B verified (sha256:[0-9a-f]\{16\}…) in [0-9.]* s$" "$WORK/log")" 1 \
                "$b: one line when it is verified"
done
sum=$(sha256sum < "$big" | cut -c1-16)
tap_like "$(grep '^kube-apiserver: .* verified' "$WORK/log")" "sha256:$sum…" "the verified line shows the file's digest"
tap_like "$(grep -c '^kube-apiserver: [0-9.]* [KM]iB of 3\.[0-9] MiB ([0-9]*%), [0-9.]* [KM]iB/s$' "$WORK/log")" '^[1-9]' \
        "kube-apiserver: lines while it runs, with bytes, total and rate"
tap_is "$(grep -n "kube-apiserver" "$WORK/log" | head -n 1 | grep -c downloading)" 1 "the start line comes first"
tap_is "$(grep -n "kube-apiserver" "$WORK/log" | tail -n 1 | grep -c verified)" 1 "the verified line comes last"
tap_is "$(tr -dc '\r\033' < "$WORK/log" | wc -c)" 0 "no carriage return or escape in the log"
# without the variable (lines 10 s apart): the same start and verified lines
rm -rf "$ROOT"; mkdir "$ROOT"
set +e
"$KUBESTRAP" -c "$CONF" --root "$ROOT" apply 2>&1 >/dev/null | cat > "$WORK/log10"
set -e
tap_is "$(grep -c "^downloading " "$WORK/log10")" 4 "default interval: the start lines"
tap_is "$(grep -c " verified (" "$WORK/log10")" 4 "default interval: the verified lines"

tap_done
