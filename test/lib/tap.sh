# shellcheck shell=bash
# test/lib/tap.sh - tiny TAP (Test Anything Protocol) helpers for bash tests.
#
# Usage:
#   . "$(dirname "$0")/lib/tap.sh"
#   tap_plan 3                      # optional; otherwise tap_done prints 1..N
#   tap_ok   "file exists"  test -f /etc/hostname
#   tap_is   "$got" "want"  "value matches"
#   tap_like "$got" '^v1\.'  "looks like a version"
#   tap_done                        # prints plan if needed, exits 0/1
#
# Every assertion prints exactly one "ok N" / "not ok N" line; diagnostics go
# to stdout as "# ..." lines (TAP comments).  Assertions always return 0 so
# they are safe under "set -e"; the outcome of the latest one is in
# TAP_LAST_OK (1 = passed, 0 = failed) for callers that want to branch on it.
# Safe with "set -u".

TAP_COUNT=0        # number of test points emitted so far
TAP_FAILED=0       # number of failed test points
TAP_PLANNED=''     # plan given via tap_plan, empty if none
export TAP_LAST_OK=1  # 1 if the latest assertion passed, else 0

# Escape a description for a TAP line: '#' would start a directive and
# newlines would break the line format.
_tap_desc() {
    local d=${1-}
    d=${d//\\/\\\\}
    d=${d//#/\\#}
    d=${d//$'\n'/ }
    printf '%s' "$d"
}

# _tap_diag_block LABEL TEXT: prints "# LABEL: first line" and "#   more"
_tap_diag_block() {
    local label=$1 text=${2-} first=1 line
    while IFS= read -r line || [ -n "$line" ]; do
        if [ "$first" = 1 ]; then
            printf '# %s: %s\n' "$label" "$line"
            first=0
        else
            printf '#   %s\n' "$line"
        fi
    done <<<"$text"
}

# _tap_result PASS(0|1) DESC [DIRECTIVE]
_tap_result() {
    local pass=$1 desc=${2-} directive=${3-} line
    TAP_COUNT=$((TAP_COUNT + 1))
    if [ "$pass" = 1 ]; then
        line="ok $TAP_COUNT"
        TAP_LAST_OK=1
    else
        line="not ok $TAP_COUNT"
        TAP_FAILED=$((TAP_FAILED + 1))
        TAP_LAST_OK=0
    fi
    [ -n "$desc" ] && line="$line - $(_tap_desc "$desc")"
    [ -n "$directive" ] && line="$line # $directive"
    printf '%s\n' "$line"
}

# tap_plan N: print the plan up front.
tap_plan() {
    TAP_PLANNED=$1
    printf '1..%s\n' "$1"
}

# tap_diag MSG...: print a diagnostic comment (one "# " per line).
tap_diag() {
    local line
    while IFS= read -r line || [ -n "$line" ]; do
        printf '# %s\n' "$line"
    done <<<"$*"
}

# tap_pass DESC
tap_pass() {
    _tap_result 1 "${1-}"
}

# tap_fail DESC [DIAG...]
tap_fail() {
    _tap_result 0 "${1-}"
    shift || true
    [ $# -gt 0 ] && tap_diag "$@"
    return 0
}

# tap_skip DESC REASON: "ok N - DESC # SKIP REASON"
tap_skip() {
    local reason
    reason=$(_tap_desc "${2-}")
    _tap_result 1 "${1-}" "SKIP${reason:+ $reason}"
}

# tap_ok DESC CMD [ARGS...]: ok if CMD exits 0.  CMD runs in the current
# shell (side effects are kept); its stdout/stderr is captured and shown as
# diagnostics only on failure, so it cannot corrupt the TAP stream.
tap_ok() {
    local desc=$1 out rc=0
    shift
    if [ $# -eq 0 ]; then
        tap_fail "$desc" "tap_ok: no command given"
        return 0
    fi
    out=$(mktemp "${TMPDIR:-/tmp}/tap.XXXXXX") || {
        tap_fail "$desc" "tap_ok: mktemp failed"
        return 0
    }
    if "$@" >"$out" 2>&1; then rc=0; else rc=$?; fi
    if [ "$rc" = 0 ]; then
        _tap_result 1 "$desc"
    else
        _tap_result 0 "$desc"
        _tap_diag_block "command" "$*"
        _tap_diag_block "got" "exit status $rc"
        _tap_diag_block "want" "exit status 0"
        if [ -s "$out" ]; then
            _tap_diag_block "output" "$(tail -n 20 "$out")"
        fi
    fi
    rm -f "$out"
    return 0
}

# tap_is GOT WANT DESC: string equality.
tap_is() {
    local got=$1 want=$2 desc=${3-}
    if [ "$got" = "$want" ]; then
        _tap_result 1 "$desc"
    else
        _tap_result 0 "$desc"
        _tap_diag_block "got" "'$got'"
        _tap_diag_block "want" "'$want'"
    fi
    return 0
}

# tap_like GOT REGEX DESC: ok if some line of GOT matches REGEX (grep -E).
tap_like() {
    local got=$1 re=$2 desc=${3-}
    if printf '%s\n' "$got" | grep -Eq -- "$re"; then
        _tap_result 1 "$desc"
    else
        _tap_result 0 "$desc"
        _tap_diag_block "got" "'$got'"
        _tap_diag_block "want" "match /$re/"
    fi
    return 0
}

# tap_unlike GOT REGEX DESC: ok if no line of GOT matches REGEX (grep -E).
tap_unlike() {
    local got=$1 re=$2 desc=${3-}
    if printf '%s\n' "$got" | grep -Eq -- "$re"; then
        _tap_result 0 "$desc"
        _tap_diag_block "got" "'$got'"
        _tap_diag_block "want" "no match for /$re/"
    else
        _tap_result 1 "$desc"
    fi
    return 0
}

# tap_bail MSG: abort the whole test run ("Bail out!"), exit 1.
tap_bail() {
    printf 'Bail out! %s\n' "$(_tap_desc "${1-}")"
    exit 1
}

# tap_done: print the plan (unless tap_plan was used) and exit 0 if every
# test passed and the plan (if any) was met, else exit 1.
tap_done() {
    local rc=0
    if [ -z "$TAP_PLANNED" ]; then
        printf '1..%s\n' "$TAP_COUNT"
    elif [ "$TAP_PLANNED" != "$TAP_COUNT" ]; then
        tap_diag "planned $TAP_PLANNED tests but ran $TAP_COUNT"
        rc=1
    fi
    if [ "$TAP_FAILED" -gt 0 ]; then
        tap_diag "failed $TAP_FAILED of $TAP_COUNT tests"
        rc=1
    fi
    exit "$rc"
}
