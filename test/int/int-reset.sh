#!/bin/bash
# Integration: reset removes exactly what kubestrap installed (its state file says what),
# keeps what the operator changed or added, and is safe to run twice.
set -eu
. "${top_srcdir:-$(dirname "$0")/../..}/test/lib/common.sh"
ks_setup
# every path with inode, mode (and mtime for files): equal listings mean nothing was touched
snapshot() {
        (cd "$1" && { find . -mindepth 1 ! -type d -printf '%p %i %T@ %m %l\n'
                      find . -mindepth 1 -type d -printf '%p %i %m\n'; } | sort)
}

# a tree that had nothing: after apply and reset it is empty again
mkdir "$WORK/clean"
ks -c "$CONF" --root "$WORK/clean" apply
tap_is "$RC" 0 "apply into an empty tree"
# --dry-run says what reset would do and changes nothing
before=$(snapshot "$WORK/clean")
ks -c "$CONF" --root "$WORK/clean" reset --dry-run
tap_is "$RC" 0 "reset --dry-run succeeds"
tap_like "$OUT" "^would remove /usr/local/bin/kube-apiserver$" "it names each file it would remove"
tap_like "$OUT" "^would remove /var/lib/kubernetes$" "and the directories that would be empty"
tap_like "$OUT" "^reset --dry-run: would remove [1-9][0-9]*, keep [0-9]+; nothing was changed$" "its summary"
tap_like "$OUT" "^would remove /var/lib$" "the state directory goes too, and the directory above it"
tap_like "$OUT" "^would keep /var/cache/kubestrap: not empty$" "the download cache stays, as reset leaves it"
tap_is "$(snapshot "$WORK/clean")" "$before" "the tree is unchanged"
echo "# edited by hand" >> "$WORK/clean/etc/kubernetes/config/kube-scheduler.yaml"
ks -c "$CONF" --root "$WORK/clean" --output json reset --dry-run
tap_like "$OUT" '"event":"would_keep","path":"/etc/kubernetes/config/kube-scheduler.yaml","reason":"changed since kubestrap installed it"' \
        "an edited file would be kept, with the reason"
tap_like "$OUT" '"event":"would_keep","path":"/etc/kubernetes/config","reason":"not empty"' \
        "and so would its directory"
tap_like "$(printf '%s\n' "$OUT" | tail -n 1)" '^\{"event":"summary","verb":"reset","dry_run":true,' "a JSON summary that says it was a dry run"
ks -c "$CONF" --root "$WORK/clean" apply
tap_is "$RC" 0 "apply puts the edited file back"
# at a terminal reset asks first; "n" changes nothing (script(1) gives it a terminal)
before=$(snapshot "$WORK/clean")
set +e
printf 'n\n' | script -qec "'$KUBESTRAP' -c '$CONF' --root '$WORK/clean' reset" /dev/null > "$WORK/ask.out" 2>&1
rc=$?
set -e
tap_is "$rc" 1 "declined at the terminal: exit 1"
tap_like "$(cat "$WORK/ask.out")" "remove what it installed on $WORK/clean\\? \\[y/N\\]" "it asked, naming the root"
tap_is "$(snapshot "$WORK/clean")" "$before" "and nothing was changed"
ks -c "$CONF" --root "$WORK/clean" --output json reset
tap_is "$RC" 0 "reset succeeds"
tap_like "$(printf '%s\n' "$OUT" | tail -n 1)" '^\{"event":"summary","verb":"reset","changed":[1-9][0-9]*,"unchanged":0,"failed":0' "reset summary"
tap_is "$(find "$WORK/clean" -mindepth 1 -not -path '*/var/cache*' -not -path "$WORK/clean/var" | wc -l)" 0 \
        "the tree is as empty as before (only the download cache stays)"

# a tree with the operator's own files next to ours
mkdir -p "$ROOT/usr/local/bin" "$ROOT/etc/systemd/system"
echo mine > "$ROOT/usr/local/bin/operator-tool"
echo '[Unit]' > "$ROOT/etc/systemd/system/other.service"
ks -c "$CONF" --root "$ROOT" apply
echo "# edited by hand" >> "$ROOT/etc/kubernetes/config/kube-scheduler.yaml"
ks -c "$CONF" --root "$ROOT" reset
tap_is "$RC" 0 "reset with an edited file succeeds"
tap_like "$OUT" "kept /etc/kubernetes/config/kube-scheduler.yaml: changed since kubestrap installed it" \
        "an edited file is kept and named"
tap_like "$OUT" "removed /usr/local/bin/kube-apiserver" "binaries are removed"
tap_like "$OUT" "removed /etc/systemd/system/multi-user.target.wants/kube-apiserver.service" "enable links are removed"
for f in usr/local/bin/kubectl var/lib/kubernetes/ca-key.pem etc/systemd/system/kube-apiserver.service \
         etc/nginx/sites-enabled/kubernetes.default.svc.cluster.local; do
        tap_ok "$f is gone" test ! -e "$ROOT/$f"
done
tap_is "$(cat "$ROOT/usr/local/bin/operator-tool")" mine "the operator's own file stays"
tap_ok "another unit stays" test -f "$ROOT/etc/systemd/system/other.service"
tap_ok "the edited file stays" grep -q 'edited by hand' "$ROOT/etc/kubernetes/config/kube-scheduler.yaml"
tap_ok "directories still holding something stay" test -d "$ROOT/usr/local/bin"
# the state lists exactly what is left: the kept file (and the directories still there)
state=$ROOT/var/lib/kubestrap/installed
tap_is "$(grep -v '^#' "$state" | awk -F '\t' '$1 != "dir" { print $2 }')" \
        /etc/kubernetes/config/kube-scheduler.yaml "the state lists only the kept file"
gone=$(grep -v '^#' "$state" | awk -F '\t' '$1 == "dir" { print $2 }' |
        while read -r d; do [ -d "$ROOT$d" ] || echo "$d"; done)
tap_is "$gone" "" "and no directory that is gone"
ks -c "$CONF" --root "$ROOT" cache
tap_is "$(printf '%s\n' "$OUT" | grep -c ' installed ' || true)" 0 "cache no longer calls the removed binaries installed"
tap_like "$OUT" "^cache: 0 entries kept \([0-9.]+ [KM]?i?B\), 4 unused" "it calls them unused"
ks -c "$CONF" --root "$ROOT" cache prune
tap_like "$OUT" "^cache prune: removed 4 entries" "and cache prune removes them"
tap_is "$(find "$ROOT/var/cache/kubestrap/sha256" -type f | wc -l)" 0 "the cache is empty"

ks -c "$CONF" --root "$ROOT" reset
tap_is "$RC" 0 "reset is safe to run twice"
tap_like "$OUT" "reset: 3 removed, 1 kept, 0 failed" "the second run reports the kept file"
tap_is "$(printf '%s\n' "$OUT" | grep '^removed' | grep -vc '^removed /var/cache' || true)" 0 \
        "and removes only the cache directories that prune emptied"
rm "$ROOT/etc/kubernetes/config/kube-scheduler.yaml"
ks -c "$CONF" --root "$ROOT" reset
tap_like "$OUT" "reset: [1-9][0-9]* removed, 0 kept" "once the file is gone, its directories go too"
tap_ok "state file removed" test ! -e "$ROOT/var/lib/kubestrap/installed"
ks -c "$CONF" --root "$ROOT" reset
tap_like "$OUT" "nothing recorded as installed by kubestrap" "and then there is nothing left to reset"

# interrupted runs leave staging files; the next apply removes them before anything else
ks -c "$CONF" --root "$ROOT" apply
touch "$ROOT/usr/local/bin/.kubectl.ks-0123456789ab" "$ROOT/usr/local/bin/.kubectl.ks-notours"
ks -c "$CONF" --root "$ROOT" apply
tap_ok "a stale staging file is removed by the next run" test ! -e "$ROOT/usr/local/bin/.kubectl.ks-0123456789ab"
tap_ok "a file that only looks similar stays" test -e "$ROOT/usr/local/bin/.kubectl.ks-notours"

tap_done
