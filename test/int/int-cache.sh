#!/bin/bash
# Integration: kubestrap cache [prune]. After an upgrade the old version's binaries stay in
# the cache; "cache" says what each entry is kept for, "prune" removes exactly the unused ones
# (not what is installed, not what the configuration pins), and a warm run still needs nothing.
set -eu
. "${top_srcdir:-$(dirname "$0")/../..}/test/lib/common.sh"
ks_setup
CACHE=$ROOT/var/cache/kubestrap
entries() { find "$CACHE/sha256" -type f -regextype posix-extended -regex '.*/[0-9a-f]{64}' | wc -l; }
sum() { sha256sum "$1" | cut -d' ' -f1; }
requests() { wc -l < "$MIRROR_ACCESS_LOG"; }

ks -c "$CONF" --root "$ROOT" apply
tap_is "$RC" 0 "first version installed"
ks -c "$CONF" --root "$ROOT" cache
tap_is "$RC" 0 "cache lists"
tap_is "$(printf '%s\n' "$OUT" | grep -c ' installed /usr/local/bin/kube')" 4 "four entries, each installed"
tap_like "$OUT" "^cache: 4 entries kept \([0-9.]+ [KM]iB\), 0 unused" "and nothing unused"

# an upgrade: v1's four entries are no longer installed anywhere
old_ctl=$(sum "$ROOT/usr/local/bin/kubectl")
old_api=$(sum "$ROOT/usr/local/bin/kube-apiserver")
ks_publish_binaries v1.22.0
ks_set cluster version v1.22.0
ks -c "$CONF" --root "$ROOT" apply
tap_is "$RC" 0 "second version installed"
tap_is "$(entries)" 8 "the cache holds both versions"
# The upgrade kept v1's binaries for a rollback, as hard links of the same inodes: their cache
# entries say so (pruning them would free nothing).
ks -c "$CONF" --root "$ROOT" --output json cache
tap_is "$(printf '%s\n' "$OUT" | grep -c '"status":"rollback"')" 4 "the old version's four are kept for a rollback"
tap_like "$OUT" "\"digest\":\"$old_ctl\",\"size\":[0-9]+,\"status\":\"rollback\",\"for\":\"/var/lib/kubestrap/previous/v1.21.0/usr/local/bin/kubectl\"" \
        "naming the kept copy"
# Without the kept set (its files and records gone), they are unused.
rm -r "$ROOT/var/lib/kubestrap/previous"
sed -i '/^previous/d' "$ROOT/var/lib/kubestrap/installed"
ks -c "$CONF" --root "$ROOT" --output json cache
tap_is "$(printf '%s\n' "$OUT" | grep -c '"status":"unused"')" 4 "the old version's four are unused"
tap_like "$OUT" "\"digest\":\"$old_ctl\",\"size\":[0-9]+,\"status\":\"unused\"" "the old kubectl among them"
tap_is "$(entries)" 8 "listing removes nothing"

# a pin keeps an entry (a rollback the operator prepared), whatever is installed
ks_set download digest.kube-apiserver "sha256:$old_api"
ks -c "$CONF" --root "$ROOT" --output json cache
tap_like "$OUT" "\"digest\":\"$old_api\",\"size\":[0-9]+,\"status\":\"pinned\",\"for\":\"kube-apiserver\"" \
        "a pinned digest is kept, for its binary"
ks -c "$CONF" --root "$ROOT" cache prune
tap_is "$RC" 0 "prune succeeds"
tap_like "$OUT" "^cache prune: removed 3 entries \([0-9.]+ [KM]iB\), 0 failed; kept 5" "and removes the three unused"
tap_is "$(entries)" 5 "five entries left"
tap_ok "the pinned one stays" test -f "$CACHE/sha256/$old_api"
tap_ok "the old kubectl is gone" test ! -e "$CACHE/sha256/$old_ctl"
for b in $BINARIES; do
        tap_ok "installed $b untouched" cmp "$WORK/$b.bin" "$ROOT/usr/local/bin/$b"
done
ks_set download digest.kube-apiserver ""

# without the state file, what is hard-linked from an installed binary still counts as in use
mv "$ROOT/var/lib/kubestrap/installed" "$WORK/installed"
ks -c "$CONF" --root "$ROOT" cache prune
tap_like "$OUT" "removed 1 entries" "with no state file, prune removes only the unlinked entry (the pin is gone)"
tap_is "$(printf '%s\n' "$OUT" | grep -c ' linked$')" 4 "the four installed entries are kept as linked"
mv "$WORK/installed" "$ROOT/var/lib/kubestrap/installed"

# nothing installed was lost: a warm run needs no request, and a removed binary comes back
# from the cache, not the network
n0=$(requests)
ks -c "$CONF" --root "$ROOT" --output json apply
tap_like "$(printf '%s\n' "$OUT" | tail -n 1)" '"changed":0,' "a warm apply after prune changes nothing"
rm "$ROOT/usr/local/bin/kubectl"
ks -c "$CONF" --root "$ROOT" --output json apply
tap_like "$(printf '%s\n' "$OUT" | tail -n 1)" '"from_cache":1' "a removed binary comes back from the cache"
tap_is "$(requests)" "$n0" "with no HTTP request"

# leftovers of killed runs go too; a file that is not an entry is left alone
touch "$CACHE/sha256/.kubectl.ks-0123456789ab" "$CACHE/sha256/notes"
mkdir "$CACHE/.fetch-abc123" && touch "$CACHE/.fetch-abc123/.kubectl.ks-0123456789ab"
ks -c "$CONF" --root "$ROOT" cache prune
tap_ok "a staging leftover is swept" test ! -e "$CACHE/sha256/.kubectl.ks-0123456789ab"
tap_ok "a fetch scratch directory is swept" test ! -e "$CACHE/.fetch-abc123"
tap_ok "a file that is not an entry is left alone" test -f "$CACHE/sha256/notes"

# a cache on another file system (its own partition): entries are copies, not hard links, and
# everything still works; the state file is what says they are installed
R2=$WORK/split; mkdir -p "$R2/cache"
if mount -t tmpfs -o size=64m tmpfs "$R2/cache" 2> /dev/null; then
        ks_set paths cache-dir /cache
        ks -c "$CONF" --root "$R2" apply
        tap_is "$RC" 0 "apply with the cache on another file system succeeds"
        tap_is "$(find "$R2/cache/sha256" -type f -links 1 -regextype posix-extended -regex '.*/[0-9a-f]{64}' | wc -l)" 4 \
                "its four entries are copies (one link each)"
        for b in $BINARIES; do
                tap_ok "cache entry of $b is right" cmp "$WORK/$b.bin" "$R2/cache/sha256/$(sum "$WORK/$b.bin")"
        done
        ks -c "$CONF" --root "$R2" cache
        tap_is "$(printf '%s\n' "$OUT" | grep -c ' installed /usr/local/bin/kube')" 4 "cache knows them as installed from the state file"
        rm "$R2/usr/local/bin/kube-scheduler"
        n0=$(requests)
        ks -c "$CONF" --root "$R2" --output json apply
        tap_like "$(printf '%s\n' "$OUT" | tail -n 1)" '"from_cache":1' "a removed binary comes back from the other file system"
        tap_is "$(requests)" "$n0" "with no request"
        tap_ok "and is right" cmp "$WORK/kube-scheduler.bin" "$R2/usr/local/bin/kube-scheduler"
        umount "$R2/cache"
        ks_set paths cache-dir /var/cache/kubestrap
else
        tap_skip "cache on another file system" "cannot mount a tmpfs here"
fi

# a cache that cannot take an entry does not fail the install; it says so
R3=$WORK/nocache; mkdir -p "$R3/var/cache/kubestrap"
touch "$R3/var/cache/kubestrap/sha256" # a file where the directory of entries goes
ks -c "$CONF" --root "$R3" --output json apply
tap_is "$RC" 0 "apply succeeds when the cache cannot keep the binaries"
tap_like "$OUT" '"event":"warning","message":"/usr/local/bin/kubectl: not kept in the cache /var/cache/kubestrap: Not a directory"' \
        "and warns, naming the binary, the cache and why"
tap_ok "the binaries are installed all the same" cmp "$WORK/kubectl.bin" "$R3/usr/local/bin/kubectl"

# one run at a time: while another holds the tree's lock, prune refuses (listing does not need it)
flock -o "$ROOT" sleep 5 & # -o: the lock stays with flock itself, which the kill below ends
holder=$!
for _ in $(seq 50); do grep -q FLOCK /proc/locks && break; sleep 0.05; done
ks -c "$CONF" --root "$ROOT" cache prune
tap_is "$RC" 1 "prune refuses while another run holds the lock"
tap_like "$ERR" "another kubestrap run \(pid [0-9]+\) is working on $ROOT" "and says who holds it"
ks -c "$CONF" --root "$ROOT" cache
tap_is "$RC" 0 "listing works meanwhile"
kill "$holder" 2> /dev/null || true
wait "$holder" 2> /dev/null || true

# after reset nothing is installed: prune empties the cache
ks -c "$CONF" --root "$ROOT" reset
tap_is "$RC" 0 "reset succeeds"
tap_like "$(entries)" '^[1-9]' "reset leaves the cache"
# an entry that cannot be removed (immutable) fails prune, naming its path; the rest goes
stuck=$(find "$CACHE/sha256" -type f -regextype posix-extended -regex '.*/[0-9a-f]{64}' | head -n 1)
if chattr +i "$stuck" 2> /dev/null; then
        ks -c "$CONF" --root "$ROOT" cache prune
        chattr -i "$stuck"
        tap_is "$RC" 1 "prune fails when an entry cannot be removed"
        tap_like "$OUT" "^/var/cache/kubestrap/sha256/${stuck##*/}: could not remove: Operation not permitted$" \
                "naming the entry's path and why"
        tap_is "$(entries)" 1 "the others are removed all the same"
else
        tap_skip "prune fails when an entry cannot be removed" "no chattr +i on this file system"
fi
ks -c "$CONF" --root "$ROOT" cache prune
tap_is "$(entries)" 0 "and prune after it empties the cache"

ks -c "$CONF" --root "$ROOT" cache nonsense
tap_is "$RC" 2 "an unknown action is a usage error"
tap_is "$ERR" "kubestrap: unknown action 'nonsense' (the only one is 'prune'); usage: kubestrap cache [prune]
Try 'kubestrap cache --help'." "naming it, with the verb's usage"

tap_done
