#!/bin/bash
# Integration (--root): an apply that installs another release keeps the files it replaces
# under <state-dir>/previous/<release>/, recorded in the state; `kubestrap rollback --root`
# puts them back byte for byte; cache prune keeps their entries; reset removes them.
set -eu
. "${top_srcdir:-$(dirname "$0")/../..}/test/lib/common.sh"
ks_setup
mirror_publish_standins "$ARCH" "$STANDIN" || tap_bail "could not publish the versioned stand-ins"

S=$ROOT/var/lib/kubestrap
P=$S/previous/v1.33.4
FILES="/usr/local/bin/kube-apiserver /usr/local/bin/kube-controller-manager
/usr/local/bin/kube-scheduler /usr/local/bin/kubectl
/etc/systemd/system/kube-apiserver.service /etc/systemd/system/kube-controller-manager.service
/etc/systemd/system/kube-scheduler.service /etc/kubernetes/config/kube-scheduler.yaml"

ks_set cluster version v1.33.4
ks -c "$CONF" --root "$ROOT" apply
tap_is "$RC" 0 "apply v1.33.4 succeeds"
[ "$RC" = 0 ] || printf "%s\n" "$ERR" | sed "s|^|# |"
tap_ok "a first install keeps nothing" test ! -e "$S/previous"
mkdir -p "$WORK/before"
for f in $FILES; do
        mkdir -p "$WORK/before$(dirname "$f")"
        cp -p "$ROOT$f" "$WORK/before$f"
done

ks -c "$CONF" --root "$ROOT" rollback
tap_is "$RC" 1 "rollback with nothing kept: exit 1"
tap_like "$ERR" "nothing is kept to roll back to in /var/lib/kubestrap/previous" "and says nothing is kept"

# The release changes, and with it the apiserver's unit (an operator's flag removal): that
# unit and the binaries are kept; what the upgrade leaves alone is not.
ks_set cluster version v1.34.2
ks_set kube-apiserver -advertise-address ""
ks -c "$CONF" --root "$ROOT" apply
tap_is "$RC" 0 "apply v1.34.2 (an upgrade) succeeds"
[ "$RC" = 0 ] || printf "%s\n" "$ERR" | sed "s|^|# |"
for f in $FILES; do
        if cmp -s "$WORK/before$f" "$ROOT$f"; then
                tap_ok "$f is unchanged by the upgrade, and not kept" test ! -e "$P$f"
        else
                tap_ok "$f of v1.33.4 is kept under previous/v1.33.4" cmp "$WORK/before$f" "$P$f"
        fi
done
tap_ok "the apiserver's unit changed and is kept" test -f "$P/etc/systemd/system/kube-apiserver.service"
tap_is "$(stat -c %a "$P/usr/local/bin/kube-apiserver")" 755 "a kept binary keeps its mode"
tap_ok "the installed apiserver is v1.34.2's" grep -q 'standin-version=v1.34.2' "$ROOT/usr/local/bin/kube-apiserver"
tap_like "$(grep -P '^previous\t' "$S/installed" | cut -f2,3 | grep kube-apiserver$ | head -1)" \
        "^/var/lib/kubestrap/previous/v1.33.4/usr/local/bin/kube-apiserver	/usr/local/bin/kube-apiserver$" \
        "the state records the kept file and where it was installed"
tap_like "$(grep -P '^previous-release\t' "$S/installed" | cut -f2,3)" "^release:previous	v1.33.4$" \
        "and the release it belongs to"

ks -c "$CONF" --root "$ROOT" cache prune
tap_is "$RC" 0 "cache prune succeeds"
tap_like "$OUT" "rollback.*/var/lib/kubestrap/previous/v1.33.4/usr/local/bin/kube-apiserver" \
        "cache prune keeps the kept binaries' entries, saying why"

ks -c "$CONF" --root "$ROOT" rollback
tap_is "$RC" 0 "rollback --root succeeds"
[ "$RC" = 0 ] || printf "%s\n" "$ERR" | sed "s|^|# |"
tap_like "$(printf '%s\n' "$OUT" | tail -1)" "^rolled back to v1.33.4$" "its last line: rolled back to v1.33.4"
for f in $FILES; do
        tap_ok "$f is v1.33.4's again, byte for byte" cmp "$WORK/before$f" "$ROOT$f"
        tap_is "$(stat -c %a "$ROOT$f")" "$(stat -c %a "$WORK/before$f")" "$f has its mode back"
done
tap_ok "the kept set is gone" test ! -e "$S/previous"
tap_like "$(grep -P '^release\t' "$S/installed" | cut -f3)" "^v1.33.4$" "the state records v1.33.4 again"

# The next plan sees v1.33.4 installed, and nothing needs hashing twice to know it.
ks -c "$CONF" --root "$ROOT" plan
tap_like "$OUT" "kube-apiserver v1.33.4 → v1.34.2" "plan upgrades from v1.33.4 again"
ks_set cluster version v1.33.4
sed -i '/^-advertise-address = /d' "$CONF"
ks -c "$CONF" --root "$ROOT" plan
tap_like "$OUT" "0 to change" "with v1.33.4's config nothing is to change"

ks -c "$CONF" --root "$ROOT" --output json rollback
tap_is "$RC" 1 "a second rollback: exit 1"
tap_like "$OUT" '"event":"error".*nothing is kept' "and says so (JSON)"

# An upgrade again, then reset: the kept files go with the rest.
ks_set cluster version v1.34.2
ks -c "$CONF" --root "$ROOT" apply
tap_ok "the upgrade kept v1.33.4 again" test -f "$P/usr/local/bin/kube-apiserver"
ks -c "$CONF" --root "$ROOT" --output json rollback
tap_like "$OUT" '"event":"rolled_back","version":"v1.33.4"' "rollback in JSON: a rolled_back event"
ks -c "$CONF" --root "$ROOT" apply
ks -c "$CONF" --root "$ROOT" reset
tap_is "$RC" 0 "reset succeeds"
tap_ok "reset removes the kept files and the state directory" test ! -e "$S"

# fanout --serial: a host that rolled back (its exit is 1, its JSON says rolled_back) is
# "rolled back" in the table, and the roll stops there. An ssh on PATH plays both hosts.
mkdir -p "$WORK/bin"
cat > "$WORK/bin/ssh" <<'SH'
#!/bin/sh
cat > /dev/null
echo '{"event":"error","message":"apply: the control plane is not healthy after the upgrade to v1.34.3-crash, rolling back to v1.33.4"}'
echo '{"event":"rolled_back","version":"v1.33.4","duration_ms":221}'
exit 1
SH
chmod +x "$WORK/bin/ssh"
printf '\n[host c1]\naddress = 127.0.0.1\ninternal-ip = 10.240.0.11\n' >> "$CONF"
printf '\n[host c2]\naddress = 127.0.0.2\ninternal-ip = 10.240.0.12\n' >> "$CONF"
PATH=$WORK/bin:$PATH ks -c "$CONF" fanout --serial -- apply
tap_is "$RC" 1 "fanout --serial: exit 1"
tap_like "$OUT" "c1 +rolled back " "the host that rolled back is 'rolled back' in the table"
tap_like "$OUT" "c2 +skipped " "and the next host is left alone"
tap_like "$OUT" "c1: rolled back to v1.33.4 \(in 221 ms\)" "its rolled_back event is shown"

tap_done
