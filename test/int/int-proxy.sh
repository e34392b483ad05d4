#!/bin/bash
# Integration: the proxy environment variables, with a real forward proxy (tinyproxy) between
# kubestrap and the real nginx mirror: https_proxy and HTTPS_PROXY tunnel every download,
# no_proxy and NO_PROXY go around the proxy, a dead proxy fails the run naming the URL and why,
# and the health probes never go through a proxy.
set -eu
if ! command -v tinyproxy >/dev/null; then echo "1..0 # SKIP tinyproxy is not installed"; exit 0; fi
. "${top_srcdir:-$(dirname "$0")/../..}/test/lib/common.sh"
# mirror.sh (through common.sh) has unset every proxy variable of the caller: each run below
# sets its own.
ks_setup
ks_set download retry-delay-ms 50
requests() { wc -l < "$MIRROR_ACCESS_LOG"; }
proxy_lines() { wc -l < "$PROXY_LOG"; }
# what the proxy logged since line $1: client connections, and the CONNECT targets
since() { tail -n +$(($1 + 1)) "$PROXY_LOG"; }
clients() { since "$1" | grep -c ': Connect (file descriptor [0-9]*): ' || true; }
targets() { since "$1" | sed -n 's/.*: Request (file descriptor [0-9]*): CONNECT \([^ ]*\) HTTP.*/\1/p'; }
# nginx connections that served the requests since line $1 of its access log
connections() { tail -n +$(($1 + 1)) "$MIRROR_ACCESS_LOG" | sed 's/.*c=//' | sort -u | wc -l; }
# shellcheck disable=SC2317 # invoked by tap_ok
same_as_mirror() { # root
        local b
        for b in $BINARIES; do cmp "$MIRROR_WWW/$VERSION/bin/linux/$ARCH/$b" "$1/usr/local/bin/$b" || return 1; done
}

# --- our own tinyproxy: its own config, log and loopback port, never the system service ------
# It runs in the foreground as a job of this shell, which reaps it. No ConnectPort line: CONNECT
# may reach any port (the mirror's is random, not 443).
PROXY_DIR=$WORK/proxy
PROXY_LOG=$PROXY_DIR/tinyproxy.log
proxy_pid=
proxy_stop() {
        [ -n "$proxy_pid" ] || return 0
        kill "$proxy_pid" 2>/dev/null || true
        wait "$proxy_pid" 2>/dev/null || true
        proxy_pid=
}
trap 'proxy_stop; ks_cleanup' EXIT
proxy_start() { # [extra configuration line]
        mkdir -p "$PROXY_DIR"
        for _ in 1 2 3; do
                PROXY_PORT=$(_mirror_pick_ports 1) || return 1
                cat > "$PROXY_DIR/tinyproxy.conf" <<EOF
Port $PROXY_PORT
Listen 127.0.0.1
Allow 127.0.0.1
Timeout 30
LogFile "$PROXY_LOG"
LogLevel Connect
PidFile "$PROXY_DIR/tinyproxy.pid"
${1:-}
EOF
                : > "$PROXY_LOG"
                tinyproxy -d -c "$PROXY_DIR/tinyproxy.conf" < /dev/null > "$PROXY_DIR/tinyproxy.out" 2>&1 &
                proxy_pid=$!
                # ready when this very process listens on the port (another may have taken it)
                for _ in $(seq 100); do
                        _mirror_alive "$proxy_pid" || break
                        ss -Hltnp "sport = :$PROXY_PORT" | grep -q "pid=$proxy_pid," && return 0
                        sleep 0.05
                done
                proxy_stop
        done
        return 1
}
proxy_start || { tap_diag "$(cat "$PROXY_DIR/tinyproxy.out" "$PROXY_LOG")"; tap_bail "could not start tinyproxy"; }
PROXY=http://127.0.0.1:$PROXY_PORT
MIRROR_HOSTPORT=${MIRROR_URL#https://}

# --- https_proxy: every download goes through the proxy's CONNECT tunnel ---------------------
# curl makes no exception for loopback: 127.0.0.1 is proxied like any other host.
R=$WORK/root-https_proxy
mkdir "$R"
n0=$(requests) p0=$(proxy_lines)
https_proxy=$PROXY no_proxy='' ks -c "$CONF" --root "$R" apply
tap_is "$RC" 0 "apply with https_proxy set succeeds"
tap_like "$(targets "$p0" | wc -l)" '^[1-9]' "the proxy logged CONNECT requests"
tap_is "$(targets "$p0" | sort -u)" "$MIRROR_HOSTPORT" "every CONNECT names the mirror's host:port"
tap_is "$(targets "$p0" | wc -l)" "$(connections "$n0")" \
        "as many tunnels as connections nginx served: none went around the proxy"
tap_is "$(tail -n +$((n0 + 1)) "$MIRROR_ACCESS_LOG" | grep -c '/bin/linux/amd64/[a-z-]* HTTP/2.0" 200')" 4 \
        "four binaries fetched through the tunnel, still over HTTP/2"
for b in $BINARIES; do
        tap_ok "$b is byte-identical to the mirror's" cmp "$MIRROR_WWW/$VERSION/bin/linux/$ARCH/$b" "$R/usr/local/bin/$b"
done

# the upper-case spelling is honoured too (curl reads HTTPS_PROXY; only http_proxy is lower-case only)
R=$WORK/root-HTTPS_PROXY
mkdir "$R"
p0=$(proxy_lines)
HTTPS_PROXY=$PROXY ks -c "$CONF" --root "$R" apply
tap_is "$RC" 0 "apply with HTTPS_PROXY set succeeds"
tap_is "$(targets "$p0" | sort -u)" "$MIRROR_HOSTPORT" "and tunnels to the mirror through the proxy"

# --- no_proxy naming the mirror's host: straight to the mirror --------------------------------
R=$WORK/root-no_proxy
mkdir "$R"
n0=$(requests) p0=$(proxy_lines)
https_proxy=$PROXY no_proxy=localhost,127.0.0.1 ks -c "$CONF" --root "$R" apply
tap_is "$RC" 0 "apply with no_proxy=localhost,127.0.0.1 succeeds"
tap_is "$(clients "$p0")" 0 "the proxy saw no connection at all"
tap_is "$(tail -n +$((n0 + 1)) "$MIRROR_ACCESS_LOG" | grep -c '/bin/linux/amd64/[a-z-]* HTTP/2.0" 200')" 4 \
        "the mirror served the four binaries directly"
tap_ok "and they are the mirror's" same_as_mirror "$R"

R=$WORK/root-NO_PROXY
mkdir "$R"
p0=$(proxy_lines)
HTTPS_PROXY=$PROXY NO_PROXY=127.0.0.1 ks -c "$CONF" --root "$R" apply
tap_is "$RC" 0 "apply with NO_PROXY=127.0.0.1 succeeds"
tap_is "$(clients "$p0")" 0 "the proxy saw no connection with the upper-case spelling either"

# --- a proxy that is not there: the run fails, says why, and installs nothing -----------------
# Port 1 on loopback: nothing listens there. The mirror itself is up, so only the proxy can fail.
R=$WORK/root-dead-proxy
mkdir "$R"
n0=$(requests)
https_proxy=http://127.0.0.1:1 no_proxy='' ks -c "$CONF" --root "$R" apply
tap_is "$RC" 1 "apply through a dead proxy fails"
tap_like "$ERR" "^kubestrap: ${MIRROR_URL//./\\.}/$VERSION/bin/linux/$ARCH/kube[a-z-]*\.sha256: Failed to connect to 127\.0\.0\.1 port 1 after [0-9]+ ms: Could(n't| not) connect to server \(https_proxy=http://127\.0\.0\.1:1/ in the environment; no_proxy can exempt a host\)\$" \
        "the error names the URL, the proxy's address that refused the connection and where it came from"
tap_is "$(requests)" "$n0" "no request reached the mirror: nothing went around the dead proxy"
tap_is "$(find "$R" -name 'kube*' | wc -l)" 0 "no binary installed"
tap_is "$(find "$R" -mindepth 1 | wc -l)" 0 "the root is left as it was, empty"

# a password in the proxy URL never reaches the output
https_proxy=http://scott:tiger@127.0.0.1:1 no_proxy='' ks -c "$CONF" --root "$R" apply
tap_is "$RC" 1 "a dead proxy with credentials fails the same way"
tap_like "$ERR" '\(https_proxy=http://127\.0\.0\.1:1/ in the environment' "the message names the proxy"
tap_unlike "$OUT$ERR" 'scott|tiger' "without its user name or password"
# curl quotes a setting it cannot parse; kubestrap names the variable instead of its value
https_proxy='http://scott:tiger@[::1' no_proxy='' ks -c "$CONF" --root "$R" apply
tap_is "$RC" 1 "a malformed proxy setting fails the run"
tap_like "$ERR" "Unsupported proxy syntax in '\\\$https_proxy' \(https_proxy \(unparsable, not shown\) in the environment" \
        "naming the variable, not quoting it"
tap_unlike "$OUT$ERR" 'scott|tiger' "so its password stays out of the output"

# --- the health probes never go through a proxy ----------------------------------------------
# status probes 6443 (/livez, /readyz), 10257, 10259, the nginx /healthz on port 80 and /version, all on loopback
# (public-address too, so no probe leaves the machine). Whether anything answers there does not
# matter: a proxied probe would show in the proxy's log either way.
ks_set cluster public-address 127.0.0.1
p0=$(proxy_lines)
http_proxy=$PROXY https_proxy=$PROXY HTTPS_PROXY=$PROXY no_proxy='' ks -c "$CONF" --output json status
tap_is "$(printf '%s\n' "$OUT" | grep -c '"target":"https\?://127\.0\.0\.1[:/]')" 7 "status probed its seven loopback targets"
tap_is "$(clients "$p0")" 0 "with every proxy variable set, no probe went through the proxy"
# the control: in the same environment an ordinary client does go through the proxy
p0=$(proxy_lines)
https_proxy=$PROXY no_proxy='' curl -s -o /dev/null --max-time 5 https://127.0.0.1:6443/healthz || true
tap_is "$(targets "$p0")" 127.0.0.1:6443 "while curl in the same environment is tunnelled to 127.0.0.1:6443"

# --- [etcd]: its release tarball and SHA256SUMS go through the same tunnel --------------------
# (a real etcd release layout, built from Debian's binaries; skipped without them)
if command -v etcd >/dev/null && command -v etcdctl >/dev/null; then
        EV=v3.4.23 ET=etcd-v3.4.23-linux-amd64.tar.gz
        mkdir -p "$WORK/etcd-rel/etcd-$EV-linux-amd64" "$MIRROR_WWW/etcd/$EV"
        cp /usr/bin/etcd /usr/bin/etcdctl "$WORK/etcd-rel/etcd-$EV-linux-amd64/"
        tar -C "$WORK/etcd-rel" -czf "$MIRROR_WWW/etcd/$EV/$ET" "etcd-$EV-linux-amd64"
        (cd "$MIRROR_WWW/etcd/$EV" && sha256sum "$ET" > SHA256SUMS)
        chmod -R a+rX "$MIRROR_WWW/etcd"
        printf '\n[etcd]\nversion = %s\nbase-url = %s/etcd\nname = controller-0\n' "$EV" "$MIRROR_URL" > "$WORK/etcd.conf.add"
        cat "$CONF" "$WORK/etcd.conf.add" > "$WORK/etcd.conf"; chmod 0644 "$WORK/etcd.conf"
        R=$WORK/root-etcd-proxy
        mkdir "$R"
        n0=$(requests) p0=$(proxy_lines)
        https_proxy=$PROXY no_proxy='' ks -c "$WORK/etcd.conf" --root "$R" apply
        tap_is "$RC" 0 "apply with [etcd] through the proxy succeeds"
        tap_is "$(targets "$p0" | wc -l)" "$(connections "$n0")" "every connection, etcd's too, went through the tunnel"
        tap_is "$(tail -n +$((n0 + 1)) "$MIRROR_ACCESS_LOG" | grep -c "/etcd/$EV/\(SHA256SUMS\|$ET\) HTTP")" 2 \
                "etcd's SHA256SUMS and tarball were among them"
        tap_ok "etcd is byte-identical to Debian's" cmp /usr/bin/etcd "$R/usr/local/bin/etcd"
else
        for _ in 1 2 3 4; do tap_skip "[etcd] through the proxy" "Debian's etcd is not installed"; done
fi

# --- a proxy that refuses the tunnel: named as such, and not retried -------------------------
# The same proxy, now allowing CONNECT to port 443 only: the mirror's port is refused (403).
proxy_stop
proxy_start "ConnectPort 443" || tap_bail "could not restart tinyproxy"
R=$WORK/root-refusing-proxy
mkdir "$R"
n0=$(requests) p0=$(proxy_lines)
https_proxy=http://127.0.0.1:$PROXY_PORT no_proxy='' ks -c "$CONF" --root "$R" apply
tap_is "$RC" 1 "apply through a proxy that refuses CONNECT fails"
tap_like "$ERR" "^kubestrap: ${MIRROR_URL//./\\.}/$VERSION/bin/linux/$ARCH/kube[a-z-]*\.sha256: the proxy refused the tunnel \(CONNECT answered with HTTP 403\); https_proxy=http://127\.0\.0\.1:$PROXY_PORT/ in the environment\$" \
        "the error says the proxy refused the tunnel, with its answer"
tap_is "$(targets "$p0" | wc -l)" 4 "a refusal is not retried: one CONNECT per checksum file"
tap_is "$(requests)" "$n0" "no request reached the mirror"
tap_is "$(find "$R" -mindepth 1 | wc -l)" 0 "the root is left as it was, empty"

tap_done
