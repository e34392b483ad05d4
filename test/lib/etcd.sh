# shellcheck shell=bash
# test/lib/etcd.sh - a real etcd (Debian's, scripts/deps) for integration tests: one member on
# 127.0.0.1, TLS on both ports with client certificates required, as the tutorial runs it.
#
#   etcd_start DIR PKI   # data, log and pid in DIR; ca.pem, kubernetes.pem, kubernetes-key.pem
#                        # from PKI (scripts/make-pki); ports picked free at random
#   curl --cacert "$KS_ETCD_CA" --cert "$KS_ETCD_CERT" --key "$KS_ETCD_KEY" "$KS_ETCD_URL/health"
#   etcd_stop            # idempotent; fine in an EXIT trap
#
# etcd_start sets KS_ETCD_URL (https://127.0.0.1:PORT, the client URL), KS_ETCD_PEER_URL,
# KS_ETCD_CA, KS_ETCD_CERT, KS_ETCD_KEY (the files a client presents: the same the API server's
# --etcd-cafile/--etcd-certfile/--etcd-keyfile name), KS_ETCD_DATA_DIR, KS_ETCD_LOG and KS_ETCD_PID.
# KS_ETCD_APISERVER_FLAGS is an array of the four --etcd-* flags of kube-apiserver for it.
# None is exported, and etcd starts without the caller's ETCD_* variables: etcd reads every
# ETCD_* of its environment as a flag, and dies when one repeats a flag it was given.
# As with mirror.sh, etcd is a background job of the calling shell (which reaps it): call
# etcd_start in the test's main shell, not in $(...), and never a bare "wait".
# Needs: mirror.sh (its port picker), curl.

: "${KS_ETCD_BIN:=${MIRROR_KS_ETCD_BIN:-/usr/bin/etcd}}"
_etcd_pid=

_etcd_err() { printf 'etcd: %s\n' "$*" >&2; }

# etcd_health: the body of GET $KS_ETCD_URL/health with the client certificate, or nothing.
etcd_health() {
        curl -s --max-time 2 --cacert "$KS_ETCD_CA" --cert "$KS_ETCD_CERT" --key "$KS_ETCD_KEY" \
                "$KS_ETCD_URL/health" 2>/dev/null || true
}

etcd_start() {
        local d=${1-} pki=${2-} attempt ports cp pp state v unset=()
        if [ -z "$d" ] || [ -z "$pki" ] || [ ! -r "$pki/kubernetes-key.pem" ]; then
                _etcd_err "usage: etcd_start DIR PKI (PKI holding ca.pem, kubernetes.pem, kubernetes-key.pem)"
                return 1
        fi
        [ -x "$KS_ETCD_BIN" ] || { _etcd_err "no $KS_ETCD_BIN (scripts/deps installs etcd-server)"; return 1; }
        if [ -n "$_etcd_pid" ] && kill -0 "$_etcd_pid" 2>/dev/null; then
                _etcd_err "etcd_start: an etcd is already running (pid $_etcd_pid)"
                return 1
        fi
        mkdir -p "$d" || return 1
        d=$(cd "$d" && pwd -P) || return 1
        KS_ETCD_CA=$pki/ca.pem KS_ETCD_CERT=$pki/kubernetes.pem KS_ETCD_KEY=$pki/kubernetes-key.pem
        KS_ETCD_DATA_DIR=$d/data KS_ETCD_LOG=$d/etcd.log
        for v in $(compgen -e); do [[ $v == ETCD* ]] && unset+=(-u "$v"); done
        # Ports are checked free, but another process may take one first: new ports then.
        for attempt in 1 2 3; do
                ports=$(_mirror_pick_ports 2) || return 1
                read -r cp pp <<< "${ports//$'\n'/ }"
                KS_ETCD_URL=https://127.0.0.1:$cp KS_ETCD_PEER_URL=https://127.0.0.1:$pp
                rm -rf "$KS_ETCD_DATA_DIR"
                # The tutorial's flags, on loopback: a fresh one-member cluster each start.
                env "${unset[@]}" "$KS_ETCD_BIN" --name test --data-dir "$KS_ETCD_DATA_DIR" \
                        --cert-file "$KS_ETCD_CERT" --key-file "$KS_ETCD_KEY" \
                        --peer-cert-file "$KS_ETCD_CERT" --peer-key-file "$KS_ETCD_KEY" \
                        --trusted-ca-file "$KS_ETCD_CA" --peer-trusted-ca-file "$KS_ETCD_CA" \
                        --peer-client-cert-auth --client-cert-auth \
                        --listen-client-urls "$KS_ETCD_URL" --advertise-client-urls "$KS_ETCD_URL" \
                        --listen-peer-urls "$KS_ETCD_PEER_URL" --initial-advertise-peer-urls "$KS_ETCD_PEER_URL" \
                        --initial-cluster "test=$KS_ETCD_PEER_URL" --initial-cluster-token kubestrap-test \
                        --initial-cluster-state new </dev/null >"$KS_ETCD_LOG" 2>&1 &
                _etcd_pid=$!
                KS_ETCD_PID=$_etcd_pid
                # Bounded readiness poll (about 20 s): healthy, or dead.
                state=1
                for _ in $(seq 200); do
                        if ! kill -0 "$_etcd_pid" 2>/dev/null; then
                                state=3
                                break
                        fi
                        [ "$(etcd_health)" = '{"health":"true"}' ] && { state=0; break; }
                        sleep 0.1
                done
                if [ "$state" = 0 ]; then
                        KS_ETCD_APISERVER_FLAGS=(--etcd-servers="$KS_ETCD_URL" --etcd-cafile="$KS_ETCD_CA"
                                --etcd-certfile="$KS_ETCD_CERT" --etcd-keyfile="$KS_ETCD_KEY")
                        return 0
                fi
                if [ "$state" = 3 ]; then
                        wait "$_etcd_pid" 2>/dev/null || true
                        _etcd_pid=
                        [ "$attempt" != 3 ] && grep -q 'address already in use' "$KS_ETCD_LOG" && continue
                        _etcd_err "etcd_start: etcd exited at startup:"
                else
                        _etcd_err "etcd_start: $KS_ETCD_URL/health did not say healthy within 20 s:"
                        etcd_stop
                fi
                tail -n 20 "$KS_ETCD_LOG" >&2
                return 1
        done
        return 1
}

# etcd_stop: SIGTERM to the etcd that etcd_start started (and only to it), then reap it.
etcd_stop() {
        local pid=$_etcd_pid
        _etcd_pid=
        [ -n "$pid" ] || return 0
        if kill -0 "$pid" 2>/dev/null; then
                kill -TERM "$pid" 2>/dev/null || true
                for _ in $(seq 100); do
                        kill -0 "$pid" 2>/dev/null || break
                        sleep 0.1
                done
                kill -0 "$pid" 2>/dev/null && kill -KILL "$pid" 2>/dev/null
        fi
        wait "$pid" 2>/dev/null || true
        return 0
}
