#!/bin/bash
# Integration: the download path against the real nginx mirror: parallel HTTP/2 transfers,
# a transfer cut half-way that resumes by Range, retries and fall-over to a mirror, the cache,
# and a warm run that makes no HTTP request and hashes nothing.
set -eu
. "${top_srcdir:-$(dirname "$0")/../..}/test/lib/common.sh"
MIRROR_SLOW_RATE=1m
export MIRROR_SLOW_RATE
ks_setup
ks_set download retry-delay-ms 50
summary() { printf '%s\n' "$OUT" | tail -n 1; }
field() { summary | sed -n "s/.*\"$1\":\([0-9]*\).*/\1/p"; }
requests() { wc -l < "$MIRROR_ACCESS_LOG"; }
# staged_under_way DIR PATH-PATTERN: waits (up to 5 s) for a staged file of over 200 KiB
staged_under_way() {
        local _
        for _ in $(seq 100); do
                [ -n "$(find "$1" -path "$2" -size +200k 2>/dev/null | head -n 1)" ] && return 0
                sleep 0.05
        done
}
# publish_random VERSION SUFFIX: 3 MiB of random bytes per binary ($WORK/NAME.SUFFIX) as
# VERSION on the mirror, and that version in the config
publish_random() {
        local b
        for b in $BINARIES; do
                head -c $((3 * 1024 * 1024)) /dev/urandom > "$WORK/$b$2"
                mirror_publish "$1" "$ARCH" "$b" "$WORK/$b$2"
        done
        ks_set cluster version "$1"
}

# --- parallel, multiplexed ------------------------------------------------------------
n0=$(requests)
ks -c "$CONF" --root "$ROOT" --output json apply
tap_is "$RC" 0 "cold apply succeeds"
new=$(tail -n +$((n0 + 1)) "$MIRROR_ACCESS_LOG")
tap_is "$(printf '%s\n' "$new" | grep -c '/bin/linux/amd64/[a-z-]* HTTP/2.0" 200')" 4 "four binaries fetched over HTTP/2"
tap_is "$(printf '%s\n' "$new" | grep '/bin/linux/amd64/[a-z-]* HTTP' | sed 's/.*c=//' | sort -u | wc -l)" 1 \
        "all four multiplexed on one connection"
tap_is "$(field sidecars_fetched)" 4 "four sidecars fetched"

# --- warm: no request, no hashing -------------------------------------------------------
n0=$(requests)
ks -c "$CONF" --root "$ROOT" --output json apply
tap_like "$(summary)" '"changed":0,' "warm apply changes nothing"
tap_is "$(requests)" "$n0" "warm apply makes no HTTP request (nginx access log unchanged)"
tap_is "$(field hashed_bytes)" 0 "warm apply hashes nothing (stat fingerprints match)"
ks -c "$CONF" --root "$ROOT" --output json --verify apply
tap_is "$(field hashed_bytes)" "$(cat "$ROOT"/usr/local/bin/kube* | wc -c)" "--verify re-hashes every installed binary"
tap_is "$(requests)" "$n0" "--verify needs no request either"

# a binary changed behind our back is noticed (its ctime moved) and repaired; the cache entry
# shares its inode (a hard link), so it is found damaged too and the file is fetched again
cp -p "$ROOT/usr/local/bin/kubectl" "$WORK/kubectl.orig"
printf 'x' | dd of="$ROOT/usr/local/bin/kubectl" bs=1 seek=100 conv=notrunc status=none
touch -r "$WORK/kubectl.orig" "$ROOT/usr/local/bin/kubectl"
ks -c "$CONF" --root "$ROOT" --output json apply
tap_like "$(summary)" '"changed":1,' "a tampered binary with its old mtime is found and replaced"
tap_ok "replaced by the verified original" cmp "$WORK/kubectl.orig" "$ROOT/usr/local/bin/kubectl"
tap_is "$(field from_cache)" 0 "the damaged cache entry was not used"
tap_is "$(field downloaded_bytes)" "$(stat -c %s "$WORK/kubectl.orig")" "the file was fetched again, verified"
n0=$(requests)

# --- cache: a fresh tree with the cache of the old one ------------------------------------
rm -f "$ROOT"/usr/local/bin/*
ks -c "$CONF" --root "$ROOT" --output json apply
tap_is "$(field from_cache)" 4 "removed binaries come back from the cache"
tap_is "$(requests)" "$n0" "without any HTTP request"
# a damaged cache entry is caught when read, and fetched again
c=$(ls "$ROOT"/var/cache/kubestrap/sha256/ | head -n 1)
rm -f "$ROOT/usr/local/bin/kube-scheduler" "$ROOT/usr/local/bin/kubectl" "$ROOT/usr/local/bin/kube-apiserver" "$ROOT/usr/local/bin/kube-controller-manager"
for f in "$ROOT"/var/cache/kubestrap/sha256/*; do cp "$f" "$f.x"; echo junk >> "$f.x"; mv "$f.x" "$f"; done
ks -c "$CONF" --root "$ROOT" --output json apply
tap_is "$RC" 0 "damaged cache entries do not break the run"
tap_is "$(field from_cache)" 0 "damaged cache entries are not used"
for b in $BINARIES; do
        tap_ok "$b right after re-download" cmp "$MIRROR_WWW/$VERSION/bin/linux/amd64/$b" "$ROOT/usr/local/bin/$b"
done

# --- a transfer cut half-way resumes with a Range request ---------------------------------
V2=v1.22.0
publish_random "$V2" .big
ks_set download base-url "$MIRROR_SLOW_URL"
n0=$(requests)
"$KUBESTRAP" -c "$CONF" --root "$ROOT" --output json apply > "$WORK/resume.out" 2> "$WORK/resume.err" &
pid=$!
# wait until the transfers are under way (bytes on disk in staging), then kill nginx's workers
staged_under_way "$ROOT/usr/local/bin" '*/.kube-apiserver.ks-*'
# one run at a time: a second apply on the same tree fails at once and names the first
ks -c "$CONF" --root "$ROOT" apply
tap_is "$RC" 1 "a second run while one is working fails at once"
tap_is "$ERR" "kubestrap: another kubestrap run (pid $pid) is working on $ROOT; try again when it is done" \
        "and says which process holds the lock"
master=$(cat "$MIRROR_PID_FILE")
pkill -KILL -P "$master" || true   # the master starts new workers; open connections die
rc=0; wait "$pid" || rc=$?
tap_is "$rc" 0 "apply survives the cut and completes"
for b in $BINARIES; do
        tap_ok "$b complete and identical after the cut" cmp "$WORK/$b.big" "$ROOT/usr/local/bin/$b"
done
tail -n +$((n0 + 1)) "$MIRROR_ACCESS_LOG" > "$WORK/resume.log"
tap_like "$(grep -c '/slow/v1.22.0/bin/linux/amd64/[a-z-]* HTTP/2.0" 206' "$WORK/resume.log")" '^[1-9]' \
        "the retry asked for the rest (206 Partial Content)"
tap_is "$(grep -c 'apiserver HTTP/2.0" 200' "$WORK/resume.log")" 0 \
        "kube-apiserver was not fetched from the start again" 
tap_like "$(grep -c '"event":"progress"' "$WORK/resume.out")" '^[1-9]' "JSON output carries progress events"
tap_like "$(grep -m1 '"event":"progress"' "$WORK/resume.out")" '"bytes":[0-9]+,"total":[0-9]+,"files":4,' "progress events count bytes, total and files"
tap_is "$(grep -c 'downloading' "$WORK/resume.err")" 0 "no progress display when stderr is not a terminal"

# on a terminal (script(1) gives it one), a live line with rate and ETA
V4=v1.22.3
publish_random "$V4" .big4
script -qec "$KUBESTRAP -c $CONF --root $ROOT apply" /dev/null > "$WORK/tty.out" 2>&1 || true
tap_like "$(tr '\r' '\n' < "$WORK/tty.out" | grep -m1 'ETA')" 'downloading [0-9]/4 files: .* of 12\.0 MiB \( *[0-9]+%\), .*/s, ETA [0-9]+ s' \
        "a terminal gets a live progress line with total, rate and ETA"
tap_like "$(cat "$WORK/tty.out")" 'apply: 4 changed' "and the run completes"

# --- retries and fall-over to a mirror -----------------------------------------------------
V3=v1.22.1
for b in $BINARIES; do mirror_publish "$V3" "$ARCH" "$b" "$WORK/$b.bin"; done
ks_set cluster version "$V3"
ks_set download base-url "$MIRROR_FAIL503_URL"
ks_set download retries 2
ks_set download mirrors "https://127.0.0.1:1/nothing,$MIRROR_URL"
n0=$(requests)
ks -c "$CONF" --root "$ROOT" --output json apply
tap_is "$RC" 0 "a failing primary falls over to a working mirror"
tap_is "$(tail -n +$((n0 + 1)) "$MIRROR_ACCESS_LOG" | grep -c 'fail503/v1.22.1/bin/linux/amd64/kubectl.sha256 HTTP/[0-9.]*" 503')" 3 \
        "the primary's 503 was tried three times (retries = 2)"
tap_like "$OUT" '"event":"warning","message":"https://127.0.0.1:[0-9]+/fail503/v1.22.1/bin/linux/amd64/kube-apiserver.sha256: HTTP 503; https://127.0.0.1:1/nothing/v1.22.1/bin/linux/amd64/kube-apiserver.sha256: [^"]*connect' \
        "a warning names each failed URL and why"
tap_ok "kubectl from the mirror is right" cmp "$WORK/kubectl.bin" "$ROOT/usr/local/bin/kubectl"

ks_set download mirrors ""
ks_set cluster version v1.22.2
ks -c "$CONF" --root "$ROOT" apply
tap_is "$RC" 1 "no mirror left: the run fails"
tap_like "$ERR" "fail503/v1.22.2/bin/linux/amd64/kube-apiserver.sha256: HTTP 503" "the error names the URL and the status"

# --- an interrupted fetch leaves a scratch directory; the next run removes it ------------------
V5=v1.22.4
publish_random "$V5" .big5
ks_set download base-url "$MIRROR_SLOW_URL"
CACHE=$ROOT/var/cache/kubestrap
"$KUBESTRAP" -c "$CONF" --root "$ROOT" fetch > /dev/null 2>&1 &
pid=$!
staged_under_way "$CACHE" '*/.fetch-*/.kube-apiserver.ks-*'
kill -KILL "$pid"
wait "$pid" 2>/dev/null || true
tap_like "$(find "$CACHE" -maxdepth 1 -name '.fetch-*' -type d | wc -l)" '^[1-9]' \
        "a fetch killed mid-transfer leaves its scratch directory in the cache"
# a directory of that shape holding something that is not ours is emptied of ours only
mkdir "$CACHE/.fetch-zz0099"
echo mine > "$CACHE/.fetch-zz0099/notes"
touch "$CACHE/.fetch-zz0099/.kubectl.ks-0123456789ab"
ks_set download base-url "$MIRROR_URL"
ks -c "$CONF" --root "$ROOT" fetch
tap_is "$RC" 0 "the next fetch succeeds"
tap_is "$(find "$CACHE" -maxdepth 1 -name '.fetch-*' | sort)" "$CACHE/.fetch-zz0099" \
        "and removes the scratch directories it left, except one holding a foreign file"
tap_is "$(ls -A "$CACHE/.fetch-zz0099")" notes "whose staging file went, the foreign file stayed"
for b in $BINARIES; do
        tap_ok "$b is in the cache after the second fetch" \
                test -f "$CACHE/sha256/$(sha256sum < "$WORK/$b.big5" | cut -d' ' -f1)"
done

# --- a server that all but stops sending: cut after stall-timeout, then the mirror ---------------
publish_random v1.22.5 .big6
ks_set download base-url "$MIRROR_STALL_URL"
ks_set download stall-timeout 1
ks_set download retries 1
ks_set download mirrors "$MIRROR_URL"
n0=$(requests)
ks -c "$CONF" --root "$ROOT" --output json apply
tap_is "$RC" 0 "a stalled server is given up on and the mirror serves the files"
tap_like "$OUT" '"event":"warning","message":"https://127.0.0.1:[0-9]+/stall/v1.22.5/bin/linux/amd64/kube[a-z-]*.sha256: Operation too slow\. Less than 1024 bytes/sec transferred the last 1 seconds' \
        "the warning names the stalled URL and says it was too slow"
tap_is "$(tail -n +$((n0 + 1)) "$MIRROR_ACCESS_LOG" | grep -c '/stall/v1.22.5/bin/linux/amd64/kubectl.sha256 ')" 2 \
        "the stalled URL was tried twice (retries = 1)"
for b in $BINARIES; do
        tap_ok "$b from the mirror is right" cmp "$WORK/$b.big6" "$ROOT/usr/local/bin/$b"
done
ks_set download mirrors ""
ks_set cluster version v1.22.6
for b in $BINARIES; do mirror_publish v1.22.6 "$ARCH" "$b" "$WORK/$b.big6"; done
ks -c "$CONF" --root "$ROOT" apply
tap_is "$RC" 1 "with no mirror left, a stalled server fails the run"
tap_like "$ERR" "stall/v1.22.6/bin/linux/amd64/kube[a-z-]*\.sha256: Operation too slow" "naming the URL and why"
ks_set download stall-timeout 0
ks -c "$CONF" --root "$ROOT" apply
tap_is "$RC" 2 "stall-timeout = 0 is a configuration error"
tap_like "$ERR" "\[download\] stall-timeout: invalid value '0'" "naming the key"
ks_set download stall-timeout 60

# --- a server deaf to Range: a cut transfer starts over from zero --------------------------------
publish_random v1.22.7 .big7
ks_set download base-url "$MIRROR_NORANGE_URL"
ks_set download retries 2
n0=$(requests)
ks_apply_cut "$ROOT" norange
tap_is "$RC" 0 "a transfer cut on a server that ignores Range completes"
tail -n +$((n0 + 1)) "$MIRROR_ACCESS_LOG" > "$WORK/norange.log"
tap_is "$(grep -c 'norange/v1.22.7/bin/linux/amd64/[a-z-]* HTTP/2.0" 206' "$WORK/norange.log")" 0 \
        "the server never sent a part"
tap_like "$(grep -c 'norange/v1.22.7/bin/linux/amd64/[a-z-]* HTTP/2.0" 200' "$WORK/norange.log")" '^([5-9]|1[0-2])$' \
        "so the cut files were fetched again from zero"
for b in $BINARIES; do
        tap_ok "$b right after starting over" cmp "$WORK/$b.big7" "$ROOT/usr/local/bin/$b"
done

# --- interrupted mid-download: the machine is left as it was -----------------------------------
publish_random v1.22.9 .big9
ks_set download base-url "$MIRROR_SLOW_URL"
interrupt() { # NAME SIGNAL [wrapper...]: apply on a fresh root, signalled once under way
        local name=$1 sig=$2 pid
        shift 2
        mkdir "$WORK/$name"
        "$@" "$KUBESTRAP" -c "$CONF" --root "$WORK/$name" --output json apply > "$WORK/$name.out" 2>&1 &
        pid=$!
        ks_wait_progress "$WORK/$name.out"
        kill "-$sig" "$pid"
        RC=0
        wait "$pid" || RC=$?
}
interrupt term TERM
tap_is "$RC" 143 "SIGTERM mid-download: exit status 128+15"
tap_like "$(cat "$WORK/term.out")" '"event":"error","message":"apply interrupted by SIGTERM: nothing was changed"' \
        "and says nothing was changed"
tap_is "$(find "$WORK/term" -mindepth 1 | wc -l)" 0 "the root is left empty: no staging file, no directory"
# Ctrl-C; a shell starts background jobs with SIGINT ignored, so the wrapper restores it
# (a command, not a function: $! must be kubestrap itself, not a subshell)
interrupt int INT python3 -c 'import os, signal, sys
signal.signal(signal.SIGINT, signal.SIG_DFL)
os.execvp(sys.argv[1], sys.argv[1:])'
tap_is "$RC" 130 "SIGINT mid-download: exit status 128+2"
tap_like "$(cat "$WORK/int.out")" '"message":"apply interrupted by SIGINT: nothing was changed"' "and says so"
tap_is "$(find "$WORK/int" -mindepth 1 | wc -l)" 0 "the root is left empty"
# a background job whose SIGINT its shell ignores keeps ignoring it, as is the convention
interrupt bg INT
tap_is "$RC" 0 "SIGINT ignored at start stays ignored: the run completes"
for b in $BINARIES; do
        tap_ok "$b complete after the ignored SIGINT" cmp "$WORK/$b.big9" "$WORK/bg/usr/local/bin/$b"
done

# --- a mirror without HTTP/2: the files still come in parallel, over several connections -----
publish_random v1.22.8 .big8
ks_set download base-url "$MIRROR_H1_URL"
R=$WORK/h1; mkdir "$R"
n0=$(requests)
ks -c "$CONF" --root "$R" apply
tap_is "$RC" 0 "apply from an HTTP/1.1-only mirror succeeds"
tail -n +$((n0 + 1)) "$MIRROR_ACCESS_LOG" | grep '/v1.22.8/bin/linux/amd64/[a-z-]* HTTP/1.1" 200' > "$WORK/h1.log" || true
tap_is "$(wc -l < "$WORK/h1.log")" 4 "four binaries fetched over HTTP/1.1"
tap_like "$(sed 's/.*c=//' "$WORK/h1.log" | sort -u | wc -l)" '^[2-4]$' \
        "on more than one connection at once (HTTP/1.1 cannot multiplex)"
for b in $BINARIES; do
        tap_ok "$b from the HTTP/1.1 mirror is right" cmp "$WORK/$b.big8" "$R/usr/local/bin/$b"
done

# --- limits of a download (issue 10, finding 10) ---------------------------------------------
# a body that carries no length (nginx's sub_filter drops it) is stopped the moment it passes
# [download] max-size, not retried, and nothing is installed: over HTTP/2 and chunked HTTP/1.1
publish_random v1.23.0 .big10
ks_set download mirrors ""
ks_set download retries 2
ks_set download max-size 1048576
over_limit() { # NAME BASE-URL
        local R=$WORK/$1 n0 b
        mkdir "$R"
        ks_set download base-url "$2"
        n0=$(requests)
        ks -c "$CONF" --root "$R" apply
        tap_is "$RC" 1 "$1: a body without a length past max-size fails the run"
        tap_like "$ERR" "$2/v1\.23\.0/bin/linux/amd64/kube[a-z-]*: larger than the size limit of 1048576 bytes \(\[download\] max-size\)" \
                "$1: the error names the URL and the limit"
        tap_is "$(find "$R" -path '*/bin/*' | wc -l)" 0 "$1: nothing installed, no staging file left"
        tail -n +$((n0 + 1)) "$MIRROR_ACCESS_LOG" > "$WORK/$1.log"
        for b in $BINARIES; do
                tap_is "$(grep -c "chunked/v1.23.0/bin/linux/amd64/$b HTTP" "$WORK/$1.log")" 1 \
                        "$1: $b was asked for once, not again"
        done
}
if [ -n "$MIRROR_CHUNKED_URL" ]; then
        over_limit chunked-h2 "$MIRROR_CHUNKED_URL"
        over_limit chunked-h1 "$MIRROR_H1_CHUNKED_URL"
        # the same files within the limit still come through without a length
        ks_set download max-size 4194304
        ks_set download base-url "$MIRROR_H1_CHUNKED_URL"
        R=$WORK/chunked-ok; mkdir "$R"
        ks -c "$CONF" --root "$R" apply
        tap_is "$RC" 0 "a chunked body within max-size installs"
        for b in $BINARIES; do
                tap_ok "$b right after a chunked transfer" cmp "$WORK/$b.big10" "$R/usr/local/bin/$b"
        done
else
        tap_skip "bodies without a length" "nginx has no sub module"
fi
ks_set download max-size 0
ks -c "$CONF" --root "$ROOT" apply
tap_is "$RC" 2 "max-size = 0 is a configuration error"
tap_like "$ERR" "\[download\] max-size: invalid value '0': expected a number of bytes" "naming the key"
ks_set download max-size 2147483648

# a server dripping 1100 bytes a second stays above the stall limit (1 KiB/s): [download] timeout
# cuts it, over all retries, and the run fails naming the setting
ks_set download base-url "$MIRROR_DRIP_URL"
ks_set download timeout 2
ks_set download retries 3
R=$WORK/drip; mkdir "$R"
ks -c "$CONF" --root "$R" apply
tap_is "$RC" 1 "a transfer dripping past the timeout fails the run"
tap_like "$ERR" "drip/v1\.23\.0/bin/linux/amd64/kube[a-z-]*: not finished within the \[download\] timeout of 2 s" \
        "the error names the URL and the timeout setting"
tap_is "$(find "$R" -path '*/bin/*' | wc -l)" 0 "nothing installed, no staging file left"
ks_set download timeout 0
ks -c "$CONF" --root "$ROOT" apply
tap_is "$RC" 2 "timeout = 0 is a configuration error"
tap_like "$ERR" "\[download\] timeout: invalid value '0': expected seconds" "naming the key"
ks_set download timeout 1800

tap_done
