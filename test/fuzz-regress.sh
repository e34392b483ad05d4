#!/bin/bash
# Replays every seed input (fuzz/corpus/<target>/) and every saved crash
# (fuzz/regressions/<target>/) through fuzz/replay-<target>, the fuzz target linked with
# fuzz/replay-main.c instead of libFuzzer: one test point per input, passing when the target
# returns without crashing. Needs neither clang nor libFuzzer; under --enable-asan the replays
# are sanitized like the fuzzers.
set -eu
: "${top_srcdir:=$(cd "$(dirname "$0")/.." && pwd)}"
: "${top_builddir:=$top_srcdir}"
. "$top_srcdir/test/lib/tap.sh"

TARGETS="config template sidecar"
for t in $TARGETS; do
        if [ ! -x "$top_builddir/fuzz/replay-$t" ]; then
                echo "1..0 # SKIP $top_builddir/fuzz/replay-$t is not built (make check builds it)"
                exit 77
        fi
done
# A hang is a finding too, but must not stall make check.
limit=()
command -v timeout >/dev/null && limit=(timeout 60)

out=$(mktemp)
trap 'rm -f "$out"' EXIT
for t in $TARGETS; do
        n=0
        for f in "$top_srcdir/fuzz/corpus/$t"/* "$top_srcdir/fuzz/regressions/$t"/*; do
                [ -f "$f" ] || continue
                n=$((n + 1))
                rel=${f#"$top_srcdir/"}
                if "${limit[@]}" "$top_builddir/fuzz/replay-$t" "$f" >"$out" 2>&1; then
                        tap_pass "$t: $rel"
                else
                        rc=$?
                        tap_fail "$t: $rel" "exit status $rc; last lines of output:" \
                                "$(grep -v '^running ' "$out" | tail -n 30)"
                fi
        done
        [ "$n" -gt 0 ] || tap_fail "$t: fuzz/corpus/$t has inputs" "no seed input found"
done
tap_done
