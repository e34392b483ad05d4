#!/bin/bash
# Smoke test for the Kubernetes stand-in binary (test/standin.c); prints TAP.
# Usage: test/int/standin-smoke.sh [path/to/standin]   (default: $STANDIN, else ./test/standin)
set -eu

BIN=${1:-${STANDIN:-./test/standin}}
if [ ! -x "$BIN" ]; then
    echo "Bail out! $BIN is not an executable (build it first)"
    exit 1
fi
BIN=$(cd "$(dirname "$BIN")" && pwd)/$(basename "$BIN")

TMP=$(mktemp -d)
PIDS=()
cleanup() {
    for pid in "${PIDS[@]}"; do
        kill "$pid" 2>/dev/null || true
        wait "$pid" 2>/dev/null || true
    done
    rm -rf "$TMP"
}
trap cleanup EXIT

N=0
FAILED=0
# check DESCRIPTION COMMAND...: one TAP line per check; failures show the command's output.
check() {
    local desc=$1 out
    shift
    N=$((N + 1))
    if out=$("$@" 2>&1); then
        echo "ok $N - $desc"
    else
        echo "not ok $N - $desc"
        [ -z "$out" ] || printf '%s\n' "$out" | sed 's/^/# /'
        FAILED=$((FAILED + 1))
    fi
}

# Throwaway PKI: a CA, a serving cert for 127.0.0.1 and an admin client cert.
pki() {
    local name=$1 subj=$2 ext=$3
    openssl req -newkey ec -pkeyopt ec_paramgen_curve:P-256 -nodes -subj "$subj" \
        -keyout "$TMP/$name.key" -out "$TMP/$name.csr" 2>/dev/null
    printf '%s\n' "$ext" >"$TMP/$name.ext"
    openssl x509 -req -in "$TMP/$name.csr" -CA "$TMP/ca.crt" -CAkey "$TMP/ca.key" -CAcreateserial \
        -days 1 -extfile "$TMP/$name.ext" -out "$TMP/$name.crt" 2>/dev/null
}
openssl req -x509 -newkey ec -pkeyopt ec_paramgen_curve:P-256 -nodes -days 1 -subj /CN=standin-test-ca \
    -addext basicConstraints=critical,CA:TRUE -keyout "$TMP/ca.key" -out "$TMP/ca.crt" 2>/dev/null
pki server /CN=kube-apiserver "subjectAltName=IP:127.0.0.1,DNS:localhost
extendedKeyUsage=serverAuth"
pki admin "/O=system:masters/CN=admin" "extendedKeyUsage=clientAuth"

mkdir "$TMP/bin"
for role in kube-apiserver kube-controller-manager kube-scheduler kubectl; do
    ln -s "$BIN" "$TMP/bin/$role"
done

CURL=(curl -sS --max-time 5)
CA=(--cacert "$TMP/ca.crt")
ADMIN=(--cacert "$TMP/ca.crt" --cert "$TMP/admin.crt" --key "$TMP/admin.key")

# launch ROLE ARGS...: runs ROLE on a random port of 127.0.0.1 until its
# /healthz answers; sets PORT and PID. Retries when the port is taken.
launch() {
    local role=$1 log
    shift
    log="$TMP/$role.log"
    for _ in 1 2 3 4 5; do
        PORT=$((20000 + RANDOM % 12000)) # below the ephemeral range
        # Own stdout too: an inherited pipe would keep our reader waiting.
        "$TMP/bin/$role" --bind-address=127.0.0.1 --secure-port="$PORT" "$@" >"$log" 2>&1 &
        PID=$!
        for _ in $(seq 100); do
            kill -0 "$PID" 2>/dev/null || break
            # The log line proves the port is ours and not some other listener's.
            if grep -q "stand-in listening on 127.0.0.1:$PORT" "$log" &&
                curl -sk --max-time 1 -o /dev/null "https://127.0.0.1:$PORT/healthz"; then
                PIDS+=("$PID")
                return 0
            fi
            sleep 0.05
        done
        kill "$PID" 2>/dev/null || true
        wait "$PID" 2>/dev/null || true
        grep -q 'address already in use' "$log" || break
    done
    sed 's/^/# /' "$log"
    return 1
}

# started ROLE ARGS...: launch, reported as a check. Not run through check:
# launch must set PORT and PID in this shell, not in a command substitution.
started() {
    local rc=0
    launch "$@" || rc=$?
    check "$1 starts" test "$rc" -eq 0
}

# expect_exit1 PATTERN COMMAND...: COMMAND must exit 1 and print PATTERN on stderr.
expect_exit1() {
    local pattern=$1 rc=0
    shift
    timeout 5 "$@" >/dev/null 2>"$TMP/err" || rc=$?
    if [ "$rc" -ne 1 ]; then
        echo "exit status $rc, expected 1"
        cat "$TMP/err"
        return 1
    fi
    grep -qF -- "$pattern" "$TMP/err" || { echo "stderr lacks '$pattern':"; cat "$TMP/err"; return 1; }
}

# expect STRING COMMAND...: COMMAND must succeed and print exactly STRING.
expect() {
    local want=$1 got
    shift
    got=$("$@") || return 1
    [ "$got" = "$want" ] || { echo "got '$got', want '$want'"; return 1; }
}

http_code() { "${CURL[@]}" -o /dev/null -w '%{http_code}' "$@"; }

VERSION=$("$TMP/bin/kube-apiserver" --version | sed -n 's/^Kubernetes //p')
check "--version prints Kubernetes <version>" test -n "$VERSION"

# --- kube-apiserver ---
APISERVER=(--tls-cert-file="$TMP/server.crt" --tls-private-key-file="$TMP/server.key"
    --client-ca-file="$TMP/ca.crt" --audit-log-path="$TMP/audit/audit.log")
started kube-apiserver "${APISERVER[@]}"
API="https://127.0.0.1:$PORT"
API_PID=$PID
RBAC="$API/apis/rbac.authorization.k8s.io/v1/clusterroles/standin-test"

check "kube-apiserver /healthz is ok" expect ok "${CURL[@]}" "${CA[@]}" "$API/healthz"
check "kube-apiserver /readyz and /livez over one connection" \
    expect okok "${CURL[@]}" "${CA[@]}" "$API/readyz" "$API/livez"
has_git_version() { "${CURL[@]}" "${CA[@]}" "$API/version" | grep -qF "\"gitVersion\":\"$VERSION\""; }
check "kube-apiserver /version has gitVersion $VERSION" has_git_version
check "unknown path is 404" expect 404 http_code "${CA[@]}" "$API/api/v1/nodes"
check "malformed request is 400" expect 400 http_code "${CA[@]}" --request-target bogus "$API/"

printf 'kind: ClusterRole\nmetadata:\n  name: standin-test\n' >"$TMP/role1.yaml"
printf 'kind: ClusterRole\nmetadata:\n  name: standin-test\nrules: []\n' >"$TMP/role2.yaml"
PATCH=(-X PATCH -H 'Content-Type: application/apply-patch+yaml')
check "PATCH clusterrole without client cert is 401" \
    expect 401 http_code "${CA[@]}" "${PATCH[@]}" --data-binary @"$TMP/role1.yaml" "$RBAC?fieldManager=test"
check "GET missing clusterrole is 404" expect 404 http_code "${CA[@]}" "$RBAC"
check "PATCH clusterrole with client cert creates it (201)" \
    expect 201 http_code "${ADMIN[@]}" "${PATCH[@]}" --data-binary @"$TMP/role1.yaml" "$RBAC?fieldManager=test&force=true"
check "PATCH again updates it (200)" \
    expect 200 http_code "${ADMIN[@]}" "${PATCH[@]}" --data-binary @"$TMP/role2.yaml" "$RBAC?fieldManager=test&force=true"
returns_stored_body() { cmp <("${CURL[@]}" "${CA[@]}" -f "$RBAC") "$TMP/role2.yaml"; }
check "GET clusterrole returns the stored body" returns_stored_body
check "audit log records the CN of the client" \
    grep -qx "PATCH /apis/rbac.authorization.k8s.io/v1/clusterroles/standin-test 201 admin" "$TMP/audit/audit.log"

serves_concurrently() {
    local i pids=()
    # One output file per client: concurrent writes to one pipe interleave.
    for i in $(seq 10); do
        "${CURL[@]}" "${CA[@]}" -o "$TMP/concurrent.$i" "$API/healthz" &
        pids+=($!)
    done
    for i in "${pids[@]}"; do wait "$i"; done
    for i in $(seq 10); do [ "$(cat "$TMP/concurrent.$i")" = ok ] || return 1; done
}
check "10 concurrent clients are served" serves_concurrently

# Bounded, unlike a bare wait, in case the signal is ignored.
rc="not running"
if kill -TERM "$API_PID" 2>/dev/null; then
    for _ in $(seq 100); do
        kill -0 "$API_PID" 2>/dev/null || break
        sleep 0.05
    done
    rc=0
    kill -0 "$API_PID" 2>/dev/null && rc="still running" || wait "$API_PID" || rc=$?
fi
check "SIGTERM makes kube-apiserver exit 0" expect 0 echo "$rc"

check "kube-apiserver with missing --tls-cert-file file exits 1" \
    expect_exit1 "Error: open $TMP/missing.crt: no such file or directory" \
    "$TMP/bin/kube-apiserver" --tls-cert-file="$TMP/missing.crt" --tls-private-key-file="$TMP/server.key" \
    --bind-address=127.0.0.1 --secure-port=0
check "kube-apiserver with missing --etcd-cafile file exits 1" \
    expect_exit1 "Error: open $TMP/etcd-ca.crt: no such file or directory" \
    "$TMP/bin/kube-apiserver" "${APISERVER[@]}" --etcd-cafile="$TMP/etcd-ca.crt" --bind-address=127.0.0.1 --secure-port=0
check "STANDIN_FAIL makes kube-apiserver exit 1" \
    expect_exit1 "injected failure" env STANDIN_FAIL="injected failure" \
    "$TMP/bin/kube-apiserver" "${APISERVER[@]}" --bind-address=127.0.0.1 --secure-port=0

# --- kube-controller-manager ---
printf 'apiVersion: v1\nkind: Config\n' >"$TMP/kubeconfig"
started kube-controller-manager --kubeconfig "$TMP/kubeconfig"
check "kube-controller-manager /healthz is ok" expect ok "${CURL[@]}" -k "https://127.0.0.1:$PORT/healthz"
check "kube-controller-manager with missing kubeconfig exits 1" \
    expect_exit1 "Error: open $TMP/nope.kubeconfig: no such file or directory" \
    "$TMP/bin/kube-controller-manager" --kubeconfig="$TMP/nope.kubeconfig" --bind-address=127.0.0.1 --secure-port=0

# --- kube-scheduler ---
printf 'apiVersion: kubescheduler.config.k8s.io/v1beta1\nkind: KubeSchedulerConfiguration\nclientConnection:\n  kubeconfig: "%s"\nleaderElection:\n  leaderElect: true\n' \
    "$TMP/kubeconfig" >"$TMP/scheduler.yaml"
printf 'clientConnection:\n  kubeconfig: %s\n' "$TMP/nope.kubeconfig" >"$TMP/scheduler-bad.yaml"
started kube-scheduler --config="$TMP/scheduler.yaml"
check "kube-scheduler /healthz is ok" expect ok "${CURL[@]}" -k "https://127.0.0.1:$PORT/healthz"
check "kube-scheduler with missing kubeconfig in its config exits 1" \
    expect_exit1 "Error: open $TMP/nope.kubeconfig: no such file or directory" \
    "$TMP/bin/kube-scheduler" --config "$TMP/scheduler-bad.yaml" --bind-address=127.0.0.1 --secure-port=0

# --- kubectl ---
check "kubectl version --client" expect "Client Version: $VERSION" "$TMP/bin/kubectl" version --client
check "kubectl get is not supported" expect_exit1 "kubectl stand-in: not supported" "$TMP/bin/kubectl" get nodes

echo "1..$N"
[ "$FAILED" -eq 0 ]
