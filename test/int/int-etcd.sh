#!/bin/bash
# Integration: etcd as a component ([etcd], issue 13). Its release tarball, built from
# Debian's real etcd and etcdctl in the release layout, is served with a SHA256SUMS by the
# nginx mirror over TLS; apply installs it into a --root tree like the chapter (binaries,
# /etc/etcd, the data directory 0700, the chapter's unit byte for byte), through pins, mirrors,
# the cache and the state like the Kubernetes binaries. A data directory that holds a member
# (made by a real etcd) is never bootstrapped again, preflight tells a member of this cluster
# from another's, and reset keeps the data unless --purge-etcd-data.
set -eu
. "${top_srcdir:-$(dirname "$0")/../..}/test/lib/common.sh"
command -v etcd >/dev/null && command -v etcdctl >/dev/null || {
        echo "1..0 # SKIP Debian's etcd-server and etcd-client are not installed (scripts/deps)"
        exit 77
}
ks_setup
G=$top_srcdir/test/golden
EV=v3.4.23
ET=etcd-$EV-linux-amd64.tar.gz
summary() { printf '%s\n' "$OUT" | tail -n 1; }
requests() { wc -l < "$MIRROR_ACCESS_LOG"; }

# the release layout (etcd-io/etcd scripts/release): etcd-<v>-linux-<arch>/{etcd,etcdctl,...}
mk=$WORK/etcd-rel/etcd-$EV-linux-amd64; mkdir -p "$mk/Documentation"
cp /usr/bin/etcd /usr/bin/etcdctl "$mk/"
echo "etcd" > "$mk/README.md"
tar -C "$WORK/etcd-rel" -czf "$WORK/$ET" "etcd-$EV-linux-amd64"
publish_etcd() { # dir-under-www tarball
        mkdir -p "$MIRROR_WWW/$1/$EV"
        cp "$2" "$MIRROR_WWW/$1/$EV/$ET"
        (cd "$MIRROR_WWW/$1/$EV" && { echo "0000000000000000000000000000000000000000000000000000000000000000  etcd-$EV-darwin-amd64.zip"; sha256sum "$ET"; } > SHA256SUMS)
        chmod -R a+rX "$MIRROR_WWW/$1"
}
publish_etcd etcd "$WORK/$ET"
cat >> "$CONF" <<CONF

[etcd]
version = $EV
base-url = $MIRROR_URL/etcd

[host controller-0]
address = 10.240.0.10
internal-ip = 10.240.0.10

[host controller-1]
address = 10.240.0.11
internal-ip = 10.240.0.11

[host controller-2]
address = 10.240.0.12
internal-ip = 10.240.0.12
CONF
# without etcd-servers: the members' client URLs
sed -i '/^etcd-servers = /d' "$CONF"

n0=$(requests)
ks -c "$CONF" --root "$ROOT" --output json apply
tap_is "$RC" 0 "apply with [etcd] succeeds" || printf '%s\n' "$ERR" >&2
tap_ok "etcd from the release tarball, byte for byte" cmp /usr/bin/etcd "$ROOT/usr/local/bin/etcd"
tap_ok "etcdctl too" cmp /usr/bin/etcdctl "$ROOT/usr/local/bin/etcdctl"
tap_is "$(find "$ROOT" -name README.md | wc -l)" 0 "other members are not extracted"
tap_is "$(tail -n +$((n0 + 1)) "$MIRROR_ACCESS_LOG" | grep -c "$ET HTTP")" 1 "the etcd tarball was fetched once"
tap_is "$(tail -n +$((n0 + 1)) "$MIRROR_ACCESS_LOG" | grep -c "$EV/SHA256SUMS HTTP")" 1 "its digest came from SHA256SUMS"
tap_ok "etcd.service is the chapter's, byte for byte" cmp "$G/etcd.service" "$ROOT/etc/systemd/system/etcd.service"
tap_is "$(stat -c %a "$ROOT/var/lib/etcd")" 700 "the data directory is 0700"
tap_is "$(stat -c %a "$ROOT/etc/etcd/kubernetes-key.pem") $(stat -c %a "$ROOT/etc/etcd/kubernetes.pem") $(stat -c %a "$ROOT/etc/etcd/ca.pem")" "600 644 644" "/etc/etcd holds the chapter's three files, the key 0600"
tap_ok "the CA in /etc/etcd is the cluster's" cmp "$PKI/ca.pem" "$ROOT/etc/etcd/ca.pem"
tap_like "$(cat "$ROOT/etc/systemd/system/kube-apiserver.service")" \
        'etcd-servers=https://10\.240\.0\.10:2379,https://10\.240\.0\.11:2379,https://10\.240\.0\.12:2379' \
        "etcd-servers defaults to the members' client URLs"
tap_ok "etcd is enabled like the others" test -L "$ROOT/etc/systemd/system/multi-user.target.wants/etcd.service"

n0=$(requests)
ks -c "$CONF" --root "$ROOT" --output json apply
tap_like "$(summary)" '"changed":0,' "a second apply changes nothing"
tap_is "$(requests)" "$n0" "and asks the mirror nothing (digests from the state)"

# --host picks the member's name; the inventory's addresses make initial-cluster
ks -c "$CONF" --root "$ROOT" --host controller-1 plan
tap_like "$OUT" '--name controller-1' "--host controller-1 renders that member's name"

# --- without [etcd]: nothing of it ------------------------------------------------------
plain=$WORK/plain; mkdir "$plain"
sed '/^\[etcd\]/,/^$/d' "$CONF" > "$WORK/noetcd.conf"; chmod 0644 "$WORK/noetcd.conf"
echo "etcd-servers = https://10.240.0.10:2379" > /dev/null
sed -i 's/^\[cluster\]$/[cluster]\netcd-servers = https:\/\/10.240.0.10:2379,https:\/\/10.240.0.11:2379,https:\/\/10.240.0.12:2379/' "$WORK/noetcd.conf"
ks -c "$WORK/noetcd.conf" --root "$plain" apply
tap_is "$RC" 0 "without [etcd], apply succeeds"
tap_is "$(cd "$plain" && find . -path '*etcd*' | sort | tr '\n' ' ')" "" "and installs nothing of etcd"

# --- a wrong digest: refused, nothing installed --------------------------------------------
bad=$WORK/bad; mkdir "$bad"
cp "$WORK/$ET" "$WORK/evil.tar.gz"; printf 'x' >> "$WORK/evil.tar.gz"
mkdir -p "$MIRROR_WWW/evil/$EV"; cp "$WORK/evil.tar.gz" "$MIRROR_WWW/evil/$EV/$ET"
cp "$MIRROR_WWW/etcd/$EV/SHA256SUMS" "$MIRROR_WWW/evil/$EV/"; chmod -R a+rX "$MIRROR_WWW/evil"
sed "s|^base-url = $MIRROR_URL/etcd|base-url = $MIRROR_URL/evil|" "$CONF" > "$WORK/evil.conf"; chmod 0644 "$WORK/evil.conf"
ks -c "$WORK/evil.conf" --root "$bad" apply
tap_ok "a tarball that does not match SHA256SUMS fails" test "$RC" -ne 0
tap_like "$ERR" "$MIRROR_URL/evil/$EV/$ET" "the error names its URL"
tap_is "$(find "$bad" -type f | wc -l)" 0 "nothing installed"

# --- mirrors: the primary 404s, [etcd] mirrors serves ---------------------------------------
mir=$WORK/mir; mkdir "$mir"
sed -e "s|^base-url = $MIRROR_URL/etcd|base-url = $MIRROR_URL/nothing-here\nmirrors = $MIRROR_URL/etcd|" "$CONF" > "$WORK/mir.conf"; chmod 0644 "$WORK/mir.conf"
ks -c "$WORK/mir.conf" --root "$mir" --output json apply
tap_is "$RC" 0 "[etcd] mirrors: the next base URL serves the tarball and SHA256SUMS"
tap_ok "etcd installed from the mirror" cmp /usr/bin/etcd "$mir/usr/local/bin/etcd"

# --- a pin: no SHA256SUMS asked; a wrong pin refused ---------------------------------------
pin=$WORK/pin; mkdir "$pin"
sed "s|^\[download\]$|[download]\ndigest.etcd = sha256:$(sha256sum < "$WORK/$ET" | cut -d' ' -f1)|" "$CONF" > "$WORK/pin.conf"; chmod 0644 "$WORK/pin.conf"
n0=$(requests)
ks -c "$WORK/pin.conf" --root "$pin" apply
tap_is "$RC" 0 "apply with a digest.etcd pin"
tap_is "$(tail -n +$((n0 + 1)) "$MIRROR_ACCESS_LOG" | grep -c "SHA256SUMS")" 0 "a pinned tarball needs no SHA256SUMS"
sed -i "s|^digest.etcd = sha256:.*|digest.etcd = sha256:$(printf '%064d' 0)|" "$WORK/pin.conf"
pin2=$WORK/pin2; mkdir "$pin2"
ks -c "$WORK/pin.conf" --root "$pin2" apply
tap_ok "a wrong pin is refused" test "$RC" -ne 0
tap_is "$(find "$pin2" -name etcd -type f | wc -l)" 0 "and etcd is not installed"

# --- configuration errors -------------------------------------------------------------------
printf '[cluster]\nversion = v1.21.0\npublic-address = 1.2.3.4\n[pki]\nsource-dir = /tmp\n[etcd]\nbase-url = %s\n' "$MIRROR_URL" > "$WORK/e1.conf"; chmod 0644 "$WORK/e1.conf"
ks -c "$WORK/e1.conf" --root "$WORK/r1" plan
tap_like "$ERR" "e1.conf: \[etcd\] version: required key is missing" "[etcd] without version: named"
ks_set etcd name controller-9
ks -c "$CONF" --root "$ROOT" plan
tap_is "$RC" 2 "a name that is not in initial-cluster: a configuration error"
tap_like "$ERR" "\[etcd\] name 'controller-9' is not a member of initial-cluster" "and says so"
ks -c "$CONF" validate
tap_like "$ERR" "\[etcd\] name 'controller-9' is not a member of initial-cluster" "validate says so too"
ks_set etcd name controller-0
ks -c "$CONF" validate
tap_is "$RC" 0 "and accepts the member's own name"
ks_set etcd initial-cluster "controller-0=ftp://x:2380"
ks -c "$CONF" --root "$ROOT" plan
tap_like "$ERR" "\[etcd\] initial-cluster: invalid value" "a bad initial-cluster is named"
sed -i '/^initial-cluster = /d' "$CONF"

# --- a data directory that holds a member: made by a real etcd ------------------------------
# Debian's etcd bootstraps controller-0 of this configuration's cluster (its peer URL and token,
# listening on loopback ports of its own), so the data directory holds that very member.
ks -c "$CONF" --root "$ROOT" --output json preflight
tap_like "$OUT" '"name":"etcd-data","status":"ok".*holds no member yet: controller-0 bootstraps' "preflight: an empty data directory bootstraps"
boot_member() { # data-dir name token
        local port=$(( 30000 + RANDOM % 20000 ))
        etcd --name "$2" --data-dir "$1" --initial-cluster-token "$3" \
             --initial-cluster "controller-0=https://10.240.0.10:2380,controller-1=https://10.240.0.11:2380,controller-2=https://10.240.0.12:2380" \
             --initial-advertise-peer-urls "https://10.240.0.1${2#controller-}:2380" \
             --listen-peer-urls "http://127.0.0.1:$port" --listen-client-urls "http://127.0.0.1:$((port + 1))" \
             --advertise-client-urls "http://127.0.0.1:$((port + 1))" > "$WORK/etcd-$2.log" 2>&1 &
        local pid=$! i
        # the member's log exists once it wrote its first record
        for i in $(seq 100); do
                ls "$1"/member/wal/*.wal >/dev/null 2>&1 && break
                sleep 0.1
        done
        kill "$pid"; wait "$pid" 2>/dev/null || true
}
rm -rf "$ROOT/var/lib/etcd"; mkdir -m 0700 "$ROOT/var/lib/etcd"
boot_member "$ROOT/var/lib/etcd" controller-0 etcd-cluster-0
tap_ok "a real etcd wrote its write-ahead log" ls "$ROOT"/var/lib/etcd/member/wal/0000000000000000-0000000000000000.wal
ks -c "$CONF" --root "$ROOT" --output json preflight
tap_like "$OUT" '"name":"etcd-data","status":"ok".*holds member f98dc20bce6225a0 .controller-0. of cluster [0-9a-f]+: it rejoins' "preflight: the data directory holds this configuration's member"
ks -c "$CONF" --root "$ROOT" plan
tap_unlike "$OUT" 'initial-cluster-state' "the installed unit keeps 'new': etcd ignores it with data, so it is not rewritten"
# a tree whose unit is not ours yet (after reset, or etcd set up by hand): 'existing'
rm "$ROOT/etc/systemd/system/etcd.service"
ks -c "$CONF" --root "$ROOT" apply
tap_like "$(cat "$ROOT/etc/systemd/system/etcd.service")" '--initial-cluster-state existing' "a member with data is never bootstrapped again: --initial-cluster-state existing"
ks_set etcd cluster-token other-token
ks -c "$CONF" --root "$ROOT" --output json preflight
tap_like "$OUT" '"name":"etcd-data","status":"FAIL".*holds member f98dc20bce6225a0 of cluster [0-9a-f]+, but controller-0 with this token and initial-cluster is member [0-9a-f]+' "preflight: another cluster's member is refused"
before=$(ks_stamp "$ROOT/etc/systemd/system/etcd.service")
ks -c "$CONF" --root "$ROOT" apply
tap_ok "and apply stops" test "$RC" -ne 0
tap_is "$(ks_stamp "$ROOT/etc/systemd/system/etcd.service")" "$before" "before changing anything"
ks_set etcd cluster-token etcd-cluster-0

# --- reset keeps the data directory unless --purge-etcd-data --------------------------------
ks -c "$CONF" --root "$ROOT" reset --yes
tap_is "$RC" 0 "reset succeeds"
tap_ok "reset keeps etcd's data directory" test -e "$ROOT/var/lib/etcd/member/wal/0000000000000000-0000000000000000.wal"
tap_like "$OUT$ERR" "kept /var/lib/etcd.*--purge-etcd-data removes it" "and says so"
ks -c "$CONF" --root "$ROOT" reset --dry-run --purge-etcd-data
tap_like "$OUT" "would remove /var/lib/etcd" "reset --dry-run --purge-etcd-data says it would go"
[ -n "$OUT" ] || tap_diag "exit $RC: $ERR"
tap_ok "and leaves it" test -d "$ROOT/var/lib/etcd/member"
tap_ok "etcd's binary went" test ! -e "$ROOT/usr/local/bin/etcd"
ks -c "$CONF" --root "$ROOT" apply
tap_like "$(cat "$ROOT/etc/systemd/system/etcd.service")" '--initial-cluster-state existing' "re-apply after reset rejoins with the kept data: existing"
# a link in the data directory to something outside: the link goes, never what it names
mkdir "$WORK/outside"; echo keep > "$WORK/outside/file"
ln -s "$WORK/outside" "$ROOT/var/lib/etcd/member/escape"
ks -c "$CONF" --root "$ROOT" reset --yes --purge-etcd-data
tap_ok "--purge-etcd-data removes it" test ! -e "$ROOT/var/lib/etcd"
tap_like "$OUT" "removed /var/lib/etcd" "and says so"
tap_ok "without following a link out of it" test -f "$WORK/outside/file"

# --- the current edition: one member on plain http renders its unit ---------------------------
cur=$WORK/cur; mkdir "$cur"
sed -e 's|^etcd-servers = .*|etcd-servers = http://127.0.0.1:2379|' "$WORK/noetcd.conf" > "$WORK/cur.conf"
sed -i '/^\[host /,$d' "$WORK/cur.conf"
printf '\n[etcd]\nversion = %s\nbase-url = %s/etcd\nname = controller\n' "$EV" "$MIRROR_URL" >> "$WORK/cur.conf"; chmod 0644 "$WORK/cur.conf"
ks -c "$WORK/cur.conf" --root "$cur" apply
tap_is "$RC" 0 "a single plain-http member (the current edition)" || printf '%s\n' "$ERR" >&2
tap_ok "renders the current edition's etcd.service, byte for byte" cmp "$G/kthw-2025/etcd.service" "$cur/etc/systemd/system/etcd.service"
tap_ok "and copies no certificate for it" test ! -e "$cur/etc/etcd"

# --- air gap: the bundle carries etcd and etcdctl; installed with no request -----------------
B=$WORK/etcd-bundle.tar; mkdir "$WORK/fetchroot"
ks -c "$CONF" --root "$WORK/fetchroot" fetch --bundle "$B"
tap_is "$RC" 0 "fetch --bundle with [etcd]" || printf '%s\n' "$ERR" >&2
list=$(tar -tf "$B" | sort)
for b in etcd etcdctl $BINARIES; do
        tap_like "$list" "^kubestrap-bundle/bin/$b$" "the bundle holds $b"
done
tap_like "$(tar -xOf "$B" kubestrap-bundle/MANIFEST)" "etcd-version $EV" "its manifest names etcd's release"
tap_like "$(tar -xOf "$B" kubestrap-bundle/MANIFEST)" "binary etcd sha256 $(sha256sum < /usr/bin/etcd | cut -d' ' -f1)" "with etcd's digest"
air=$WORK/air; mkdir "$air"
n0=$(requests)
ks -c "$CONF" --root "$air" --bundle "$B" apply
tap_is "$RC" 0 "--bundle apply with [etcd]" || printf '%s\n' "$ERR" >&2
tap_is "$(requests)" "$n0" "asks the mirror nothing"
tap_ok "etcd from the bundle, byte for byte" cmp /usr/bin/etcd "$air/usr/local/bin/etcd"
sed "s/^version = $EV/version = v3.4.24/" "$CONF" > "$WORK/other-etcd.conf"; chmod 0644 "$WORK/other-etcd.conf"
mkdir "$WORK/air2"; ks -c "$WORK/other-etcd.conf" --root "$WORK/air2" --bundle "$B" plan
tap_like "$ERR" "the bundle holds etcd $EV but .* asks for etcd v3.4.24" "a bundle of another etcd release is refused, named"

# --- apply --etcd-bootstrap (fanout --serial's first pass): etcd alone, only a new member -----
eb=$WORK/eb; mkdir "$eb"
ks -c "$CONF" --root "$eb" apply --etcd-bootstrap
tap_is "$RC" 0 "apply --etcd-bootstrap" || printf '%s\n' "$ERR" >&2
tap_is "$(cd "$eb" && find . -type f ! -path './var/lib/kubestrap/*' ! -path './var/cache/*' | sort | tr '\n' ' ')" \
        "./etc/etcd/ca.pem ./etc/etcd/kubernetes-key.pem ./etc/etcd/kubernetes.pem ./etc/systemd/system/etcd.service ./usr/local/bin/etcd ./usr/local/bin/etcdctl " \
        "installs etcd's files and nothing of Kubernetes"
tap_ok "enables etcd alone" test -L "$eb/etc/systemd/system/multi-user.target.wants/etcd.service" -a ! -e "$eb/etc/systemd/system/multi-user.target.wants/kube-apiserver.service"
ks -c "$CONF" --root "$eb" --output json apply
tap_is "$RC" 0 "the full apply after it" || printf '%s\n' "$ERR" >&2
tap_unlike "$OUT" '"path":"[^"]*etcd' "leaves etcd's files as the first pass made them"
boot_member "$eb/var/lib/etcd" controller-0 etcd-cluster-0
rm "$eb/etc/systemd/system/etcd.service"
ks -c "$CONF" --root "$eb" --output json apply --etcd-bootstrap
tap_like "$OUT" '"event":"note","message":"etcd: /var/lib/etcd holds member f98dc20bce6225a0 already; nothing to bootstrap"' "a member with data is left to the rolling pass"
tap_ok "and nothing is installed" test ! -e "$eb/etc/systemd/system/etcd.service"
ks -c "$WORK/noetcd.conf" --root "$eb" apply --etcd-bootstrap
tap_is "$RC" 2 "--etcd-bootstrap without [etcd]: a usage error"

# --- preflight on this machine: the fsync check before the data directory exists ------------
# (live checks: no --root; only the etcd-disk line is looked at)
ks_set etcd data-dir "$WORK/not-yet/etcd"
ks -c "$CONF" --output json preflight
tap_like "$OUT" "\"name\":\"etcd-disk\",\"status\":\"(ok|warn)\".*writes in $WORK\"" "etcd-disk tests the nearest directory there, before apply makes the data directory"
tap_ok "and makes nothing" test ! -e "$WORK/not-yet"

# --- status against a real TLS etcd with the chapter's flags, client certificate required ----
# In a network namespace of its own (loopback only): etcd's client port 2379, which the health
# gate and status ask, is nobody else's there.
if unshare --net true 2>/dev/null; then
        T=$WORK/tls; mkdir -p "$T/root/etc/etcd"
        "$top_srcdir/scripts/make-pki" "$T/pki" 127.0.0.1 127.0.0.1 >/dev/null
        cp "$T/pki/ca.pem" "$T/pki/kubernetes.pem" "$T/pki/kubernetes-key.pem" "$T/root/etc/etcd/"
        printf '[cluster]\nversion = v1.21.0\npublic-address = 127.0.0.1\n[node]\ninternal-ip = 127.0.0.1\n[pki]\nsource-dir = %s\n[etcd]\nversion = %s\nname = controller-0\ninitial-cluster = controller-0=https://127.0.0.1:2380\n' \
                "$T/pki" "$EV" > "$T/k.conf"; chmod 0644 "$T/k.conf"
        # shellcheck disable=SC2016 # expanded by the inner shell
        unshare --net bash -c '
                T=$1 KUBESTRAP=$2 P=$1/pki
                ip link set lo up
                etcd --name controller-0 --data-dir "$T/root/var/lib/etcd" \
                     --cert-file="$P/kubernetes.pem" --key-file="$P/kubernetes-key.pem" \
                     --peer-cert-file="$P/kubernetes.pem" --peer-key-file="$P/kubernetes-key.pem" \
                     --trusted-ca-file="$P/ca.pem" --peer-trusted-ca-file="$P/ca.pem" \
                     --peer-client-cert-auth --client-cert-auth \
                     --initial-advertise-peer-urls https://127.0.0.1:2380 --listen-peer-urls https://127.0.0.1:2380 \
                     --listen-client-urls https://127.0.0.1:2379 --advertise-client-urls https://127.0.0.1:2379 \
                     --initial-cluster-token etcd-cluster-0 --initial-cluster controller-0=https://127.0.0.1:2380 \
                     --initial-cluster-state new > "$T/etcd.log" 2>&1 &
                pid=$!
                for _ in $(seq 100); do
                        curl -sf --cacert "$P/ca.pem" --cert "$P/kubernetes.pem" --key "$P/kubernetes-key.pem" \
                             https://127.0.0.1:2379/health >/dev/null && break
                        sleep 0.1
                done
                "$KUBESTRAP" -c "$T/k.conf" --root "$T/root" status > "$T/status.out" 2>&1
                "$KUBESTRAP" -c "$T/k.conf" --root "$T/root" --output json preflight > "$T/preflight.out" 2>&1
                curl -s -o /dev/null -w "%{http_code}" --cacert "$P/ca.pem" https://127.0.0.1:2379/health > "$T/nocert.out"
                mv "$T/root/etc/etcd/kubernetes-key.pem" "$T/key.away"
                "$KUBESTRAP" -c "$T/k.conf" --root "$T/root" status > "$T/status-nokey.out" 2>&1
                kill "$pid"; wait "$pid"
        ' _ "$T" "$KUBESTRAP" || true
        st=$(cat "$T/status.out")
        tap_like "$st" '^etcd +etcd\.service .* ok +ok \(https://127\.0\.0\.1:2379/health\)' "the health gate: {\"health\":\"true\"} over TLS with the client certificate"
        tap_like "$st" '^etcd member controller-0 .* ok +id [0-9a-f]{16}, leader, healthy \(https://127\.0\.0\.1:2379\)' "status: the member, its ID, leader and health"
        tap_like "$(cat "$T/preflight.out")" '"name":"etcd-data","status":"ok".*holds member [0-9a-f]{16} .controller-0.' "preflight: the running member's data directory is this configuration's member"
        tap_unlike "$(cat "$T/nocert.out")" '^200$' "(etcd itself refuses a client without a certificate)"
        tap_like "$(cat "$T/status-nokey.out")" '^etcd +etcd\.service .* FAIL .*kubernetes-key\.pem' "without the client key the gate fails, naming it"
else
        for _ in 1 2 3 4 5; do tap_skip "status against a TLS etcd" "no network namespace here (unshare --net)"; done
fi

# --- cloud-init: the members resolved from the inventory travel with the node's config --------
sed -i -e '/^name = controller-0$/d' -e '/^data-dir = /d' "$CONF"
ks -c "$CONF" --host controller-2 cloud-init
tap_is "$RC" 0 "cloud-init --host controller-2 with [etcd]"
node_conf=$(printf '%s\n' "$OUT" | awk '/path: \/etc\/kubestrap\/kubestrap.conf/ { on = 1 } on && /content:/ { print $2; exit }' | base64 -d | gzip -dc)
tap_like "$node_conf" '^initial-cluster = controller-0=https://10\.240\.0\.10:2380,controller-1=https://10\.240\.0\.11:2380,controller-2=https://10\.240\.0\.12:2380$' "initial-cluster, built from the inventory, is written for the node"
tap_like "$node_conf" '^name = controller-2$' "and the member's name"
tap_like "$node_conf" '^etcd-servers = https://10\.240\.0\.10:2379,' "and etcd-servers"

# --- a signed Kubernetes release ([download] signatures = require, the default from v1.26):
# etcd is not signed by the Kubernetes release process and keeps its SHA256SUMS check, from the
# network and from a bundle, while the Kubernetes binaries are signature-verified
VERSION=v1.32.3 ks_publish_binaries v1.32.3
sed -e 's/^version = v1\.21\.0$/version = v1.32.3/' "$CONF" > "$WORK/signed.conf"; chmod 0644 "$WORK/signed.conf"
sroot=$WORK/signed-root; mkdir "$sroot"
ks -c "$WORK/signed.conf" --root "$sroot" apply
tap_is "$RC" 0 "signatures = require with [etcd]: apply succeeds" || printf '%s\n' "$ERR" >&2
tap_ok "etcd installed beside a signed release" cmp /usr/bin/etcd "$sroot/usr/local/bin/etcd"
ks -c "$WORK/signed.conf" --root "$sroot" status
tap_like "$OUT" "kube-apiserver.*signature-verified" "the Kubernetes binaries are signature-verified"
SB=$WORK/signed-bundle.tar; mkdir "$WORK/signed-fetch"
ks -c "$WORK/signed.conf" --root "$WORK/signed-fetch" fetch --bundle "$SB"
tap_is "$RC" 0 "fetch --bundle of a signed release with [etcd]" || printf '%s\n' "$ERR" >&2
sair=$WORK/signed-air; mkdir "$sair"
ks -c "$WORK/signed.conf" --root "$sair" --bundle "$SB" apply
tap_is "$RC" 0 "--bundle apply: etcd needs no release signature, Kubernetes' binaries are checked offline" || printf '%s\n' "$ERR" >&2
tap_ok "etcd from the signed bundle" cmp /usr/bin/etcd "$sair/usr/local/bin/etcd"

tap_done
