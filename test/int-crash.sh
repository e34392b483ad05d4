#!/bin/bash
# Integration: crash safety. apply is killed with SIGKILL at many points chosen by a fixed seed:
# during downloads, while copying from the cache, in the middle of the publishing renames, while
# the state file is saved. After every kill, before anything else runs:
#   - every file at a final path is a complete file of the old or of the new end state (content
#     and mode: a key or kubeconfig is never there with another mode), every cache entry holds
#     exactly the bytes its name says, the state file is whole;
# then a new uninterrupted apply
#   - succeeds and leaves exactly the reference end state (an uninterrupted apply of the same
#     configuration into an empty root),
#   - leaves no staging file (".NAME.ks-" + 12 hex) anywhere in the root, cache included,
#   - and one more apply changes nothing.
# Roots: fresh ones (a cold run), and shared ones that accumulate state across trials while
# their configuration flips between a version (downloads, or copies from the cache), PKI and
# flags (no binary at all, a short run that is mostly publishing).
set -eu
. "${top_srcdir:-$(dirname "$0")/..}/test/lib/common.sh"
# 8 MiB per binary at 8 MiB/s (per stream, the four in parallel): a cold apply takes about 1 s
MIRROR_SLOW_RATE=8m
export MIRROR_SLOW_RATE
ks_setup

TRIALS=${CRASH_TRIALS:-40}
SEED=${CRASH_SEED:-1234}
SIZE=$((8 << 20))
VA=v1.30.0 VB=v1.30.1

# --- fixture: big deterministic binaries, a second PKI, three configurations ----------------
for v in $VA $VB; do
        for b in $BINARIES; do
                # a keystream of AES-CTR under a fixed pass phrase: the same bytes on every run
                openssl enc -aes-128-ctr -pbkdf2 -nosalt -pass "pass:kubestrap-crash-$v-$b" \
                        </dev/zero 2>/dev/null | head -c "$SIZE" > "$WORK/$b.$v"
                [ "$(stat -c %s "$WORK/$b.$v")" = "$SIZE" ] || tap_bail "could not make $b.$v"
                mirror_publish "$v" "$ARCH" "$b" "$WORK/$b.$v"
        done
done
"$top_srcdir/scripts/make-pki" "$WORK/pki2" >/dev/null || tap_bail "could not make a second PKI"
ks_set download base-url "$MIRROR_SLOW_URL"
base=$CONF
# A: release VA, PKI 1. B: release VB, PKI 2, one flag. C: release VA, PKI 2, three flags.
CONF=$WORK/A.conf; cp "$base" "$CONF"
ks_set cluster version "$VA"
CONF=$WORK/B.conf; cp "$base" "$CONF"
ks_set cluster version "$VB"
ks_set pki source-dir "$WORK/pki2"
ks_set kube-controller-manager v 4
CONF=$WORK/C.conf; cp "$base" "$CONF"
ks_set cluster version "$VA"
ks_set pki source-dir "$WORK/pki2"
ks_set kube-apiserver v 3
ks_set kube-controller-manager v 4
ks_set kube-scheduler v 3
CONF=$base

# --- helpers ------------------------------------------------------------------------------
# Every file kubestrap installs, one line each: path, type, mode and the sha256 of a regular file
# or the target of a symlink. Not var/cache (checked on its own) nor var/lib/kubestrap (the
# state file records inode numbers); staging files are looked at apart.
listing() { # root
        (cd "$1" && {
                find . -mindepth 1 \( -path ./var/cache -o -path ./var/lib/kubestrap \
                        -o -name '.*.ks-*' \) -prune -o -type f -exec "${SHA256[@]}" {} + |
                        sed 's/^\([0-9a-f]*\) [ *]\(.*\)$/S \2 \1/'
                find . -mindepth 1 \( -path ./var/cache -o -path ./var/lib/kubestrap \
                        -o -name '.*.ks-*' \) -prune -o -printf 'T %p %y %m %l\n'
        } | awk '$1 == "S" { h[$2] = $3; next }
                 { print $2, $3, $4, ($3 == "f" ? h[$2] : $3 == "l" ? $5 : "") }' | sort)
}
# openssl's SHA-256 is several times faster than sha256sum's; both print "HEX[ *]NAME"
SHA256=(openssl dgst -sha256 -r)
"${SHA256[@]}" /dev/null >/dev/null 2>&1 || SHA256=(sha256sum)
staging() { find "$1" -name '.*.ks-*' -printf '%P\n' | sort; }
now_ms() { local t=${EPOCHREALTIME/[.,]/}; NOW=$((t / 1000)); }
# A fixed-seed LCG (the same numbers with any bash): RND = 0..$1
lcg=$SEED
rnd() { lcg=$(((lcg * 1103515245 + 12345) % 2147483648)); RND=$(((lcg >> 8) % ($1 + 1))); }
sleep_ms() { local f; [ "$1" -gt 0 ] || return 0; printf -v f '%d.%03d' $(($1 / 1000)) $(($1 % 1000)); sleep "$f"; }

# Starts an apply in the background (PID in KPID).
start_apply() { # root conf
        "$KUBESTRAP" -c "$2" --root "$1" --output json apply > "$WORK/killed.out" 2> "$WORK/killed.err" &
        KPID=$!
}
# Waits (bounded) until the first binary reaches its final path: a file newer than the one
# that was there, or any file where there was none.
wait_publish() { # root snap
        local f=$1/usr/local/bin/kube-apiserver deadline
        now_ms; deadline=$((NOW + 15000))
        while ! [ "$f" -nt "$2" ]; do
                now_ms
                [ "$NOW" -lt "$deadline" ] && running || return 1
        done
}
# Is the background apply still running (not exited and waiting to be reaped)? No fork.
running() {
        local _p _c st
        read -r _p _c st _ 2>/dev/null < /proc/"$KPID"/stat || return 1
        [ "$st" != Z ]
}
# Reaps it, quietly (bash would print "Killed"); its exit status in KRC.
reap() { KRC=0; { wait "$KPID"; } 2>/dev/null || KRC=$?; }
# Runs an apply to its end, the way a trial starts one: its time in ms in TOOK, the time from
# its first binary published to its end in PUB (its whole time when it publishes no binary).
timed_apply() { # root conf
        local t0 t1
        snap_binary "$1"
        now_ms; t0=$NOW
        start_apply "$1" "$2"
        wait_publish "$1" "$WORK/snap" || true
        now_ms; t1=$NOW
        reap
        now_ms; TOOK=$((NOW - t0)) PUB=$((NOW - t1))
}
# the shortest of several runs: a kill before it rarely finds the run over already
min() { local v=$1; shift; for x; do [ "$x" -ge "$v" ] || v=$x; done; echo "$v"; }
snap_binary() { # root -> $WORK/snap has the mtime of the installed kube-apiserver (or 1970)
        if [ -e "$1/usr/local/bin/kube-apiserver" ]; then
                touch -r "$1/usr/local/bin/kube-apiserver" "$WORK/snap"
        else
                touch -d @0 "$WORK/snap"
        fi
}

# What a kill may leave: each entry must be whole, as the old or the new end state has it.
check_killed() { # root old new -> PROBLEMS
        local r=$1 sd=$1/var/lib/kubestrap c=$1/var/cache/kubestrap/sha256 x
        listing "$r" > "$WORK/now"
        {
                cat "$2" "$3" | grep -vxF -f - "$WORK/now" | sed 's/^/not old, not new: /' || true
                # secrets are never readable by others, not even while staged
                find "$r" \( -name '.*-key.pem.ks-*' -o -name '.*.kubeconfig.ks-*' \
                        -o -name '.encryption-config.yaml.ks-*' -o -name '.installed.ks-*' \) \
                        ! -perm 0600 -printf 'staged secret %P has mode %m\n'
                if [ -d "$c" ]; then
                        (cd "$c" && find . -maxdepth 1 -type f ! -name '.*' -exec "${SHA256[@]}" {} + |
                                awk '{ n = $2; sub(/^\*?\.\//, "", n); if (n != $1) print "cache entry " n " holds " $1 }')
                fi
                if [ -e "$sd/installed" ]; then
                        x=$(head -n 1 "$sd/installed")
                        [ "$x" = "# kubestrap state v1: kind path url digest-url alg hex dev ino size mtime_ns ctime_ns" ] ||
                                echo "state file starts with '$x'"
                        [ -z "$(tail -c 1 "$sd/installed")" ] || echo "state file does not end with a newline"
                        [ "$(stat -c %a "$sd/installed")" = 600 ] || echo "state file not 0600"
                fi
        } > "$WORK/problems"
        PROBLEMS=$(cat "$WORK/problems")
}

# Where the kill landed, from what it left: published entries that are new (not directories).
PH_BEFORE=0 PH_DURING=0 PH_AFTER=0 PH_FINISHED=0 STAGED_AT_KILL=0
classify() { # rc old new -> PHASE
        local counts published need
        counts=$(awk 'FILENAME == ARGV[1] { old[$0] = 1; next }
                      FILENAME == ARGV[2] { if (!($0 in old) && $2 != "d") { want[$0] = 1; n++ }; next }
                      ($0 in want) { d++ }
                      END { print d + 0, n + 0 }' "$2" "$3" "$WORK/now")
        read -r published need <<<"$counts"
        if [ "$1" = 0 ]; then PHASE="finished before the kill"; PH_FINISHED=$((PH_FINISHED + 1))
        elif [ "$published" = 0 ]; then PHASE="before publishing"; PH_BEFORE=$((PH_BEFORE + 1))
        elif [ "$published" -lt "$need" ]; then PHASE="publishing, $published of $need in place"; PH_DURING=$((PH_DURING + 1))
        else PHASE="all $need published"; PH_AFTER=$((PH_AFTER + 1))
        fi
}

# --- reference end states, and how long the runs take ---------------------------------------
# Shared root S1 doubles as the reference root of A: a cold apply, timed, with the moment the
# first binary is published.
S1=$WORK/s1 S2=$WORK/s2 S3=$WORK/s3
mkdir "$S1" "$S2" "$S3"
: > "$WORK/ref.none"
timed_apply "$S1" "$WORK/A.conf"
T_COLD=$TOOK
tap_is "$KRC" 0 "reference: a cold apply of A succeeds (${T_COLD} ms, the last ${PUB} ms publishing)"
listing "$S1" > "$WORK/ref.A"
ks -c "$WORK/B.conf" --root "$S2" apply
tap_is "$RC" 0 "reference: a cold apply of B succeeds"
listing "$S2" > "$WORK/ref.B"
ks -c "$WORK/C.conf" --root "$S3" apply
tap_is "$RC" 0 "reference: a cold apply of C succeeds"
listing "$S3" > "$WORK/ref.C"
tap_is "$(grep -c ' f ' "$WORK/ref.A") $(grep -c ' l ' "$WORK/ref.A")" "18 4" \
        "the reference lists 18 files and 4 symlinks"
tap_is "$(grep -c ' 600 ' "$WORK/ref.A")" 6 "with 6 secrets at 0600"
tap_is "$(sort -u "$WORK/ref.A" "$WORK/ref.B" "$WORK/ref.C" | wc -l)" \
        "$(($(wc -l < "$WORK/ref.A") + 4 + 9 + 1 + 2))" \
        "B and C differ from A as meant (4 binaries, 9 PKI files, 1 unit; 2 more units in C)"
tap_is "$(staging "$S1")$(staging "$S2")$(staging "$S3")" "" "no staging files after the reference runs"

# S1 then flips A -> B (a download), B -> A and A -> B (from its cache), timed.
ks -c "$WORK/B.conf" --root "$S1" apply
tap_is "$RC" 0 "S1: switching A to B"
timed_apply "$S1" "$WORK/A.conf"
t_s=$TOOK t_p=$PUB
tap_like "$(tail -n 1 "$WORK/killed.out")" '"changed":14,.*"from_cache":4,' \
        "S1: and back to A, the binaries from the cache"
timed_apply "$S1" "$WORK/B.conf"
T_SWITCH=$(min "$t_s" "$TOOK") T_PUB=$(min "$t_p" "$PUB")
# S3 (at C) flips to A and back, twice: PKI and units only (timed).
t_w=""
for x in A C A C; do
        timed_apply "$S3" "$WORK/$x.conf"
        t_w="$t_w $TOOK"
done
# shellcheck disable=SC2086 # one number per word
T_WARM=$(min $t_w)
tap_like "$(tail -n 1 "$WORK/killed.out")" '"changed":12,' \
        "S3: C to A and back changes 9 PKI files and 3 units (runs of$t_w ms)"
[ "$T_PUB" -ge 5 ] || T_PUB=5
[ "$T_WARM" -ge 5 ] || T_WARM=5

# --- trials ---------------------------------------------------------------------------------
# Four kinds, in turn:
#   fresh    an empty root, cold (A, B, C in turn), killed within the cold run's time
#   switch   S1 (and so on with its state) flipping A <-> B; every other time without its
#            cache, so the switch downloads; killed within the time the run takes
#   warm     S3 flipping C <-> A: no binary, nine PKI files and three units to publish
#   publish  S2 flipping B <-> A, killed within T_PUB after the first binary was published
declare -A at=([s1]=B [s2]=B [s3]=C)
other() { case $1:$2 in s1:A) echo B ;; s1:B) echo A ;; s2:B) echo A ;; s2:A) echo B ;; s3:C) echo A ;; *) echo C ;; esac; }
now_ms; t_trials=$NOW
n_fresh=0 n_switch=0 i=0
# TRIALS, and more (up to 20) while fewer than 30 kills landed before the run had finished
while [ "$i" -lt "$TRIALS" ] || { [ $((i - PH_FINISHED)) -lt 30 ] && [ "$i" -lt $((TRIALS + 20)) ]; }; do
        i=$((i + 1))
        case $(((i - 1) % 4)) in
        0)
                n_fresh=$((n_fresh + 1))
                kind=fresh root=$WORK/fresh$i old=none
                new=$(printf 'ABC' | cut -c $(((n_fresh - 1) % 3 + 1)))
                mkdir "$root"
                rnd "$T_COLD"; delay=$RND
                ;;
        1)
                n_switch=$((n_switch + 1))
                kind=switch root=$S1 old=${at[s1]}
                new=$(other s1 "$old")
                if [ $((n_switch % 2)) = 1 ]; then
                        kind="switch, no cache"
                        rm -rf "$root/var/cache"
                        rnd "$T_COLD"; delay=$RND
                else
                        rnd "$T_SWITCH"; delay=$RND
                fi
                at[s1]=$new
                ;;
        2)
                kind=warm root=$S3 old=${at[s3]}
                new=$(other s3 "$old"); at[s3]=$new
                rnd "$T_WARM"; delay=$RND
                ;;
        3)
                kind=publish root=$S2 old=${at[s2]}
                new=$(other s2 "$old"); at[s2]=$new
                rnd "$T_PUB"; delay=$RND
                ;;
        esac
        oldref=$WORK/ref.$old newref=$WORK/ref.$new
        [ "$old" = none ] && oldref=$WORK/ref.none
        what="trial $i ($kind, $old to $new)"

        snap_binary "$root"
        start_apply "$root" "$WORK/$new.conf"
        if [ "$kind" = publish ]; then
                wait_publish "$root" "$WORK/snap" || true
                when="${delay} ms after the first rename"
        else
                when="at ${delay} ms"
        fi
        sleep_ms "$delay"
        kill -KILL "$KPID" 2>/dev/null || true
        reap

        check_killed "$root" "$oldref" "$newref"
        classify "$KRC" "$oldref" "$newref"
        n_staged=$(staging "$root" | wc -l)
        [ "$n_staged" = 0 ] || STAGED_AT_KILL=$((STAGED_AT_KILL + 1))
        tap_is "$PROBLEMS" "" "$what: SIGKILL $when ($PHASE, $n_staged staged): every final path whole, old or new"

        ks -c "$WORK/$new.conf" --root "$root" --output json apply
        listing "$root" > "$WORK/now"
        x=$(diff "$newref" "$WORK/now" || true)
        [ "$RC" = 0 ] || x="exit $RC: $ERR
$x"
        tap_is "$x" "" "$what: the next apply converges to the reference"
        x=$(staging "$root")
        tap_is "$x" "" "$what: and leaves no staging file"
        # once reported, gone: a later trial is judged by what its own kill leaves
        [ -z "$x" ] || (cd "$root" && printf '%s\n' "$x" | xargs rm -f)
        ks -c "$WORK/$new.conf" --root "$root" --output json apply
        tap_like "$(printf '%s\n' "$OUT" | tail -n 1)" '"changed":0,' "$what: one more apply changes nothing"
        case $kind in fresh) rm -rf "$root" ;; esac
done
now_ms
t_end=$NOW

# --- a kill while the state file is being saved ------------------------------------------------
# The state file is staged and renamed like every file, but it is not an item of the plan. Kill
# the run the moment its staging file appears (S3 flips C <-> A: every run saves a new state);
# the window is the fsync of a small file, so a few attempts may be needed.
kill_at_state_save() { # root
        local f sd=$1/var/lib/kubestrap
        while running; do
                for f in "$sd"/.installed.ks-*; do break; done
                if [ -e "$f" ]; then
                        kill -KILL "$KPID"
                        break
                fi
        done
}
caught=0
for attempt in $(seq 1 20); do
        old=${at[s3]} new=$(other s3 "${at[s3]}")
        at[s3]=$new
        start_apply "$S3" "$WORK/$new.conf"
        kill_at_state_save "$S3"
        reap
        if [ "$KRC" != 0 ] && staging "$S3" | grep -q '^var/lib/kubestrap/\.installed\.ks-'; then
                caught=$attempt
                break
        fi
        ks -c "$WORK/$new.conf" --root "$S3" apply
done
if [ "$caught" != 0 ]; then
        check_killed "$S3" "$WORK/ref.$old" "$WORK/ref.$new"
        tap_is "$PROBLEMS" "" "SIGKILL while the state file was saved (attempt $caught): every final path whole"
        ks -c "$WORK/$new.conf" --root "$S3" --output json apply
        listing "$S3" > "$WORK/now"
        x=$(diff "$WORK/ref.$new" "$WORK/now" || true)
        [ "$RC" = 0 ] || x="exit $RC: $ERR
$x"
        tap_is "$x" "" "the next apply converges to the reference"
        tap_is "$(staging "$S3")" "" "and removes the state file's staging file"
else
        tap_skip "SIGKILL while the state file was saved" "not caught in 20 attempts"
fi

tap_diag "$i trials in $(((t_end - t_trials) / 1000)) s (cold ${T_COLD} ms, switch ${T_SWITCH} ms, warm ${T_WARM} ms, publishing ${T_PUB} ms)"
tap_diag "kills landed: $PH_BEFORE before publishing (downloads, staging), $PH_DURING during the renames, $PH_AFTER after all were published (state file, exit), $PH_FINISHED after the run had finished; $STAGED_AT_KILL left staging files"
tap_ok "at least 30 of $i trials were killed before the run finished" test $((i - PH_FINISHED)) -ge 30

tap_done
