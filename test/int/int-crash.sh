#!/bin/bash
# Integration: crash safety. apply is killed with SIGKILL at many points (a fixed seed): during
# downloads, while copying from the cache, between the publishing renames, while the state file
# is saved. After every kill, before anything else runs:
#   - every entry at a final path is a whole one of the old or of the new end state (content and
#     mode: a key or kubeconfig is never there with another mode than 0600), every cache entry
#     holds exactly the bytes its name says, the state file is whole, and staged secrets are 0600;
# then a new, uninterrupted apply
#   - succeeds and leaves exactly the reference end state (an uninterrupted apply of the same
#     configuration into an empty root),
#   - leaves no staging file (".NAME.ks-" and 12 hex digits) anywhere in the root, cache included,
#   - and one more apply changes nothing.
# Roots: fresh ones (a cold run), and shared ones that keep their state and cache from trial to
# trial while their configuration flips between releases (downloads, or copies from the cache),
# PKI and flags.
set -eu
. "${top_srcdir:-$(dirname "$0")/../..}/test/lib/common.sh"
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
                # the AES-CTR keystream of a fixed pass phrase: the same bytes on every run
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
# openssl's SHA-256 is several times faster than sha256sum's; both print "HEX[ *]NAME"
SHA256=(openssl dgst -sha256 -r)
"${SHA256[@]}" /dev/null >/dev/null 2>&1 || SHA256=(sha256sum)

# Every entry kubestrap installs, one line each: path, type, mode, and the sha256 of a regular
# file or the target of a symlink. Not var/cache (checked on its own) nor var/lib/kubestrap (the
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
staging() { find "$1" -name '.*.ks-*' -printf '%P\n' | sort; }
now_ms() { local t=${EPOCHREALTIME/[.,]/}; NOW=$((t / 1000)); }
# A fixed-seed LCG, the same numbers with any bash: RND = 0..$1
lcg=$SEED
rnd() { lcg=$(((lcg * 1103515245 + 12345) % 2147483648)); RND=$(((lcg >> 8) % ($1 + 1))); }
sleep_ms() {
        local f
        [ "$1" -gt 0 ] || return 0
        printf -v f '%d.%03d' $(($1 / 1000)) $(($1 % 1000))
        sleep "$f"
}
# the least of some numbers
min() { local v=$1 x; shift; for x; do [ "$x" -ge "$v" ] || v=$x; done; echo "$v"; }

# An apply in the background: PID in KPID.
start_apply() { # root conf
        "$KUBESTRAP" -c "$2" --root "$1" --output json apply > "$WORK/bg.out" 2> "$WORK/bg.err" &
        KPID=$!
}
# Is it still running (not exited and waiting to be reaped)? No fork, so it can be polled.
running() {
        local _p _c st
        read -r _p _c st _ 2>/dev/null < /proc/"$KPID"/stat || return 1
        [ "$st" != Z ]
}
# Reaps it, quietly (bash would print "Killed"); its exit status in KRC.
reap() { KRC=0; { wait "$KPID"; } 2>/dev/null || KRC=$?; }
timed_apply() { # root conf -> TOOK (ms)
        local t0
        now_ms; t0=$NOW
        start_apply "$1" "$2"
        reap
        now_ms; TOOK=$((NOW - t0))
}

# The files a run from OLD to NEW has to publish (CHANGED, relative to the root), with the
# mtime each has now, so that a poll without forks sees when each one is renamed into place.
arm() { # root old new
        local j
        mapfile -t CHANGED < <(awk 'FILENAME == ARGV[1] { old[$0] = 1; next }
                                    !($0 in old) && $2 == "f" { print $1 }' "$2" "$3")
        rm -rf "$WORK/snaps"
        mkdir "$WORK/snaps"
        for j in "${!CHANGED[@]}"; do
                if [ -f "$1/${CHANGED[$j]}" ]; then
                        touch -r "$1/${CHANGED[$j]}" "$WORK/snaps/$j"
                else
                        touch -d @0 "$WORK/snaps/$j"
                fi
        done
}
# Kills the run the moment K of the CHANGED files are in place (bounded: 30 s).
kill_after() { # root k
        local j n deadline
        now_ms; deadline=$((NOW + 30000))
        while running && [ "$NOW" -lt "$deadline" ]; do
                n=0
                for j in "${!CHANGED[@]}"; do
                        [ "$1/${CHANGED[$j]}" -nt "$WORK/snaps/$j" ] && n=$((n + 1))
                done
                if [ "$n" -ge "$2" ]; then
                        kill -KILL "$KPID" 2>/dev/null || true
                        return 0
                fi
                now_ms
        done
}
# Kills the run the moment the state file's staging file appears.
kill_at_state_save() { # root
        local f sd=$1/var/lib/kubestrap
        while running; do
                for f in "$sd"/.installed.ks-*; do break; done
                if [ -e "$f" ]; then
                        kill -KILL "$KPID" 2>/dev/null || true
                        return 0
                fi
        done
}

# What a kill may leave: each entry whole, as the old or the new end state has it.
check_killed() { # root old new -> PROBLEMS
        local r=$1 sd=$1/var/lib/kubestrap c=$1/var/cache/kubestrap/sha256 x
        listing "$r" > "$WORK/now"
        {
                cat "$2" "$3" | grep -vxF -f - "$WORK/now" | sed 's/^/neither old nor new: /' || true
                # secrets are never readable by others, not even while staged
                find "$r" \( -name '.*-key.pem.ks-*' -o -name '.*.kubeconfig.ks-*' \
                        -o -name '.encryption-config.yaml.ks-*' -o -name '.installed.ks-*' \) \
                        ! -perm 0600 -printf 'staged secret %P has mode %m\n'
                if [ -d "$c" ]; then
                        (cd "$c" && find . -maxdepth 1 -type f ! -name '.*' -exec "${SHA256[@]}" {} + |
                                awk '{ n = $2; sub(/^\*?\.\//, "", n)
                                       if (n != $1) print "cache entry " n " holds " $1 }')
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

# Where the kill landed, from what it left: how many new entries (not directories) are in place.
PH_BEFORE=0 PH_DURING=0 PH_AFTER=0 PH_FINISHED=0 STAGED_AT_KILL=0
classify() { # rc old new -> PHASE
        local counts published need
        counts=$(awk 'FILENAME == ARGV[1] { old[$0] = 1; next }
                      FILENAME == ARGV[2] { if (!($0 in old) && $2 != "d") { want[$0] = 1; n++ }; next }
                      ($0 in want) { d++ }
                      END { print d + 0, n + 0 }' "$2" "$3" "$WORK/now")
        read -r published need <<<"$counts"
        if [ "$1" = 0 ]; then
                PHASE="finished before the kill"; PH_FINISHED=$((PH_FINISHED + 1))
        elif [ "$published" = 0 ]; then
                PHASE="before publishing"; PH_BEFORE=$((PH_BEFORE + 1))
        elif [ "$published" -lt "$need" ]; then
                PHASE="publishing, $published of $need in place"; PH_DURING=$((PH_DURING + 1))
        else
                PHASE="all $need published"; PH_AFTER=$((PH_AFTER + 1))
        fi
}

# After a kill: a new apply converges to the reference, leaves no staging file, and is the last
# one with anything to do.
check_recovery() { # root conf ref label
        local x
        ks -c "$2" --root "$1" --output json apply
        listing "$1" > "$WORK/now"
        x=$(diff "$3" "$WORK/now" || true)
        [ "$RC" = 0 ] || x="exit $RC: $ERR
$x"
        tap_is "$x" "" "$4: the next apply converges to the reference"
        x=$(staging "$1")
        tap_is "$x" "" "$4: and leaves no staging file"
        # once reported, gone: a later trial is judged by what its own kill leaves
        [ -z "$x" ] || (cd "$1" && printf '%s\n' "$x" | xargs rm -f)
        ks -c "$2" --root "$1" --output json apply
        tap_like "$(printf '%s\n' "$OUT" | tail -n 1)" '"changed":0,' "$4: one more apply changes nothing"
}

# --- reference end states, and how long runs take -------------------------------------------
# The shared roots start as the reference roots: S1 of A, S2 of B, S3 of C.
S1=$WORK/s1 S2=$WORK/s2 S3=$WORK/s3
mkdir "$S1" "$S2" "$S3"
: > "$WORK/ref.none"
timed_apply "$S1" "$WORK/A.conf"
T_COLD=$TOOK
tap_is "$KRC" 0 "reference: a cold apply of A succeeds"
listing "$S1" > "$WORK/ref.A"
ks -c "$WORK/B.conf" --root "$S2" apply
tap_is "$RC" 0 "reference: a cold apply of B succeeds"
listing "$S2" > "$WORK/ref.B"
ks -c "$WORK/C.conf" --root "$S3" apply
tap_is "$RC" 0 "reference: a cold apply of C succeeds"
listing "$S3" > "$WORK/ref.C"
tap_is "$(grep -c ' f ' "$WORK/ref.A") $(grep -c ' l ' "$WORK/ref.A") $(grep -c ' f 600 ' "$WORK/ref.A")" \
        "18 4 6" "the reference has 18 files (6 of them secrets, 0600) and 4 symlinks"
tap_is "$(sort -u "$WORK/ref.A" "$WORK/ref.B" "$WORK/ref.C" | wc -l)" \
        "$(($(wc -l < "$WORK/ref.A") + 4 + 9 + 1 + 2))" \
        "B and C differ from A as meant (4 binaries, 9 PKI files, 1 unit; 2 more units in C)"
tap_is "$(staging "$S1")$(staging "$S2")$(staging "$S3")" "" "no staging files after the reference runs"

# S1 flips A -> B (a download), then B -> A and A -> B from its cache, timed.
ks -c "$WORK/B.conf" --root "$S1" apply
tap_is "$RC" 0 "S1: switching A to B downloads B"
timed_apply "$S1" "$WORK/A.conf"
tap_like "$(tail -n 1 "$WORK/bg.out")" '"changed":14,.*"from_cache":4,' \
        "S1: back to A takes the binaries from the cache"
t=$TOOK
timed_apply "$S1" "$WORK/B.conf"
T_SWITCH=$(min "$t" "$TOOK")
# S3 flips C -> A -> C, twice, timed: PKI files and units, no binary.
t=""
for x in A C A C; do
        timed_apply "$S3" "$WORK/$x.conf"
        t="$t $TOOK"
done
# shellcheck disable=SC2086 # one number per word
T_WARM=$(min $t)
tap_like "$(tail -n 1 "$WORK/bg.out")" '"changed":12,' "S3: A to C changes 9 PKI files and 3 units"
tap_diag "cold apply ${T_COLD} ms, switch from the cache ${T_SWITCH} ms, PKI and units only ${T_WARM} ms (least of$t)"

# --- trials ---------------------------------------------------------------------------------
# Four kinds, in turn:
#   fresh    an empty root, a cold run of A, B or C; SIGKILL at a random time within the cold
#            run's time (mostly during the downloads)
#   switch   S1 flipping between A and B; every other time without its cache, so that it
#            downloads; SIGKILL at a random time within the run's time
#   warm     S3 flipping between C and A (9 PKI files, 3 units, no binary); SIGKILL at a random
#            time within the run's time, or once a random number of them are in place
#   publish  S2 flipping between B and A (4 binaries from the cache, 9 PKI files, 1 unit);
#            SIGKILL the moment a random number (1 to 14) of them are in place
# TRIALS of them, and more (at most 20) while fewer than 30 kills landed before the run ended.
declare -A at=([s1]=B [s2]=B [s3]=C)
flip() { case $1 in A) [ "$2" = s3 ] && echo C || echo B ;; *) echo A ;; esac; }
now_ms; t_trials=$NOW
n_fresh=0 n_switch=0 n_warm=0 i=0
while [ "$i" -lt "$TRIALS" ] || { [ $((i - PH_FINISHED)) -lt 30 ] && [ "$i" -lt $((TRIALS + 20)) ]; }; do
        i=$((i + 1))
        k=0 delay=0
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
                new=$(flip "$old" s1); at[s1]=$new
                if [ $((n_switch % 2)) = 1 ]; then
                        kind="switch, no cache"
                        rm -rf "$root/var/cache"
                        rnd "$T_COLD"; delay=$RND
                else
                        rnd "$T_SWITCH"; delay=$RND
                fi
                ;;
        2)
                n_warm=$((n_warm + 1))
                kind=warm root=$S3 old=${at[s3]}
                new=$(flip "$old" s3); at[s3]=$new
                if [ $((n_warm % 2)) = 1 ]; then
                        rnd "$T_WARM"; delay=$RND
                else
                        rnd 11; k=$((RND + 1))
                fi
                ;;
        3)
                kind=publish root=$S2 old=${at[s2]}
                new=$(flip "$old" s2); at[s2]=$new
                rnd 13; k=$((RND + 1))
                ;;
        esac
        oldref=$WORK/ref.$old newref=$WORK/ref.$new
        what="trial $i ($kind, ${old/none/empty} to $new)"

        if [ "$k" -gt 0 ]; then
                arm "$root" "$oldref" "$newref"
                start_apply "$root" "$WORK/$new.conf"
                kill_after "$root" "$k"
                when="once $k of ${#CHANGED[@]} were in place"
        else
                start_apply "$root" "$WORK/$new.conf"
                sleep_ms "$delay"
                kill -KILL "$KPID" 2>/dev/null || true
                when="at $delay ms"
        fi
        reap

        check_killed "$root" "$oldref" "$newref"
        classify "$KRC" "$oldref" "$newref"
        n_staged=$(staging "$root" | wc -l)
        [ "$n_staged" = 0 ] || STAGED_AT_KILL=$((STAGED_AT_KILL + 1))
        tap_is "$PROBLEMS" "" "$what: SIGKILL $when ($PHASE, $n_staged staged): every final path whole, old or new"
        check_recovery "$root" "$WORK/$new.conf" "$newref" "$what"
        [ "$kind" != fresh ] || rm -rf "$root"
done
now_ms
tap_diag "$i trials in $(((NOW - t_trials) / 1000)) s; kills landed: $PH_BEFORE before publishing" \
        "(downloads, cache copies, staging), $PH_DURING between the publishing renames, $PH_AFTER after" \
        "all were published (state file, exit), $PH_FINISHED after the run had ended;" \
        "$STAGED_AT_KILL left staging files behind"
tap_ok "at least 30 of the $i trials were killed before the run ended" test $((i - PH_FINISHED)) -ge 30
tap_ok "kills landed during downloads or staging, and between the renames" \
        test "$PH_BEFORE" -gt 0 -a "$PH_DURING" -gt 0

# --- a kill while the state file is saved -----------------------------------------------------
# The state file is staged and renamed like every file, but it is no item of the plan. Kill a
# run the moment its staging file appears (S3 flips between C and A, so every run saves a new
# state); the window is an fsync of a small file, so it may take a few attempts.
caught=0
for attempt in $(seq 1 20); do
        old=${at[s3]} new=$(flip "${at[s3]}" s3)
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
        check_recovery "$S3" "$WORK/$new.conf" "$WORK/ref.$new" "state file"
else
        tap_skip "SIGKILL while the state file was saved" "its staging file was not caught in 20 runs"
fi

tap_done
