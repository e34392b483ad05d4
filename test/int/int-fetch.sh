#!/bin/bash
# Integration: fetch_run (src/core/fetch.c) driven directly by test/int/test-fetch against the real
# nginx mirror: 20 files at once through the writer thread (more than its queue has slots),
# bodies in memory alongside, and writes failing with ENOSPC during and after a transfer.
set -eu
. "${top_srcdir:-$(dirname "$0")/../..}/test/lib/common.sh"
: "${TEST_FETCH:=$top_builddir/test/int/test-fetch}"
[ -x "$TEST_FETCH" ] || { echo "1..0 # SKIP $TEST_FETCH is not built"; exit 0; }
WORK=$(mktemp -d)
trap ks_cleanup EXIT
chmod 0755 "$WORK"
mkdir "$WORK/mirror"
mirror_start "$WORK/mirror" > /dev/null || { echo "Bail out! the mirror did not start"; exit 1; }
mkdir "$WORK/files"
names=()
# sizes around the writer's 64 KiB slots: below, at, just above and many times over
for i in $(seq 1 19); do
        head -c $(((i * 37 % 11) * 65536 + (i % 3) * 4095 + 1)) /dev/urandom > "$WORK/files/f$i"
        names+=("f$i")
done
printf x > "$WORK/files/tiny"
names+=(tiny)
for f in "${names[@]}"; do cp "$WORK/files/$f" "$MIRROR_WWW/$f"; done
chmod -R a+rX "$MIRROR_WWW"
rc=0
# TEST_FETCH_WRAPPER: e.g. "valgrind --tool=helgrind" (scripts/test --valgrind sets it)
# shellcheck disable=SC2086
timeout 600 ${TEST_FETCH_WRAPPER:-} "$TEST_FETCH" "$MIRROR_URL" "$MIRROR_CA" "$WORK/files" "${names[@]}" || rc=$?
exit "$rc"
