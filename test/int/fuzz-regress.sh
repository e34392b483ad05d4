#!/bin/bash
# Replays every seed input (fuzz/corpus/<target>/) and every saved crash
# (fuzz/regressions/<target>/) through fuzz/replay-<target>, the fuzz target linked with
# fuzz/replay-main.c instead of libFuzzer: one test point per input, passing when the target
# returns without crashing. Needs neither clang nor libFuzzer; under --enable-asan the replays
# are sanitized like the fuzzers.
set -eu
: "${top_srcdir:=$(cd "$(dirname "$0")/../.." && pwd)}"
: "${top_builddir:=$top_srcdir}"
# shellcheck source=test/lib/tap.sh
. "$top_srcdir/test/lib/tap.sh"

TARGETS="config template sidecar"
for t in $TARGETS; do
        if [ ! -x "$top_builddir/fuzz/replay-$t" ]; then
                # Under automake's TAP driver a skip is this plan with status 0 (77 is an ERROR).
                echo "1..0 # SKIP $top_builddir/fuzz/replay-$t is not built (make check builds it)"
                exit 0
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
                rc=0
                "${limit[@]}" "$top_builddir/fuzz/replay-$t" "$f" >"$out" 2>&1 || rc=$?
                # UBSan only prints unless told to halt: its report is a failure either way.
                if [ "$rc" -eq 0 ] && ! grep -q 'runtime error: ' "$out"; then
                        tap_pass "$t: $rel"
                else
                        # The sanitizer's headline, the top frames and its summary, not its
                        # shadow-memory dump.
                        report=$(grep -E 'ERROR: |runtime error|^ +#[0-9] |^SUMMARY: ' "$out" | head -n 25)
                        [ -n "$report" ] || report=$(grep -v '^running ' "$out" | tail -n 25)
                        tap_fail "$t: $rel" "exit status $rc; replay with: fuzz/replay-$t $rel
$report"
                fi
        done
        [ "$n" -gt 0 ] || tap_fail "$t: fuzz/corpus/$t has inputs" "no seed input found"
done
tap_done
