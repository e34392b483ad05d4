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
top_srcdir=${top_srcdir:-$(cd "$(dirname "$0")/../.." && pwd)}
# a real etcd for the API server stand-in (test/lib/etcd.sh), and mirror.sh's port picker
. "$top_srcdir/test/lib/mirror.sh"
. "$top_srcdir/test/lib/etcd.sh"

TMP=$(mktemp -d)
PIDS=()
cleanup() {
    etcd_stop
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

"$top_srcdir/scripts/make-pki" "$TMP/pki" >/dev/null || { echo "Bail out! could not make the PKI"; exit 1; }
etcd_start "$TMP/etcd" "$TMP/pki" || { echo "Bail out! could not start etcd"; exit 1; }

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

BIN_AS_APISERVER=$TMP/bin/kube-apiserver
VERSION=$("$TMP/bin/kube-apiserver" --version | sed -n 's/^Kubernetes //p')
check "--version prints Kubernetes <version>" test -n "$VERSION"

# --- kube-apiserver ---
APISERVER=(--tls-cert-file="$TMP/server.crt" --tls-private-key-file="$TMP/server.key"
    --client-ca-file="$TMP/ca.crt" --audit-log-path="$TMP/audit/audit.log" "${KS_ETCD_APISERVER_FLAGS[@]}")
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

# --- kube-apiserver and its etcd ---
# refused ARGS...: kube-apiserver with APISERVER's files but these etcd flags exits 1 with the
# real one's last words, after a dial deadline of 1 s (STANDIN_ETCD_TIMEOUT).
refused() {
    expect_exit1 "Error: context deadline exceeded" env STANDIN_ETCD_TIMEOUT=1 "$TMP/bin/kube-apiserver" \
        --tls-cert-file="$TMP/server.crt" --tls-private-key-file="$TMP/server.key" "$@" \
        --bind-address=127.0.0.1 --secure-port=0 || return 1
    grep -q "$WHY" "$TMP/err" || { echo "stderr lacks '$WHY':"; cat "$TMP/err"; return 1; }
}
ETCD_FILES=(--etcd-cafile="$KS_ETCD_CA" --etcd-certfile="$KS_ETCD_CERT" --etcd-keyfile="$KS_ETCD_KEY")
check "kube-apiserver without --etcd-servers exits 1" \
    expect_exit1 "Error: --etcd-servers must be specified" "$TMP/bin/kube-apiserver" \
    --tls-cert-file="$TMP/server.crt" --tls-private-key-file="$TMP/server.key" --bind-address=127.0.0.1 --secure-port=0
closed=$(_mirror_pick_ports 1)
WHY="etcd https://127.0.0.1:$closed: dial tcp 127.0.0.1:$closed: connect: connection refused"
check "kube-apiserver with nothing at its --etcd-servers exits 1, naming the server" \
    refused --etcd-servers="https://127.0.0.1:$closed" "${ETCD_FILES[@]}"
WHY="etcd $KS_ETCD_URL: tls: "
check "kube-apiserver that does not trust etcd's certificate (another --etcd-cafile) exits 1" \
    refused --etcd-servers="$KS_ETCD_URL" --etcd-cafile="$TMP/ca.crt" --etcd-certfile="$KS_ETCD_CERT" --etcd-keyfile="$KS_ETCD_KEY"
WHY="etcd $KS_ETCD_URL: "
check "kube-apiserver without a client certificate for etcd (--client-cert-auth) exits 1" \
    refused --etcd-servers="$KS_ETCD_URL" --etcd-cafile="$KS_ETCD_CA"
WHY="etcd http://${KS_ETCD_URL#https://}: GET http://${KS_ETCD_URL#https://}/health: the connection closed without an answer"
check "kube-apiserver speaking plain http to a TLS etcd exits 1" \
    refused --etcd-servers="http://${KS_ETCD_URL#https://}" "${ETCD_FILES[@]}"
started kube-apiserver --tls-cert-file="$TMP/server.crt" --tls-private-key-file="$TMP/server.key" \
    --etcd-servers="https://127.0.0.1:$closed,$KS_ETCD_URL" "${ETCD_FILES[@]}"
check "kube-apiserver starts when one of its --etcd-servers is healthy" \
    grep -q "W stand-in: etcd https://127.0.0.1:$closed: .*connection refused" "$TMP/kube-apiserver.log"

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

# --- versions -----------------------------------------------------------------------------
# A published copy is the build plus "standin-version=V" after the ELF image (mirror.sh).
# at VERSION ROLE: the path of ROLE's copy baked for VERSION (made on first use).
at() {
    local f="$TMP/v/$1/$2"
    if [ ! -x "$f" ]; then
        mkdir -p "$TMP/v/$1"
        { cat "$BIN"; printf '\nstandin-version=%s\n%s\n' "$1" "$2"; } >"$f"
        chmod 0755 "$f"
    fi
    printf '%s\n' "$f"
}
# started_at VERSION ROLE ARGS...: as started, for ROLE's copy baked for VERSION.
started_at() {
    local v=$1 role=$2
    shift 2
    ln -sf "$(at "$v" "$role")" "$TMP/bin/$role"
    started "$role" "$@"
    ln -sf "$BIN" "$TMP/bin/$role"
}

check "a copy without the trailer is v1.21.0" expect "Kubernetes v1.21.0" "$BIN_AS_APISERVER" --version
check "a copy baked for v1.34.2 says so" expect "Kubernetes v1.34.2" "$(at v1.34.2 kube-apiserver)" --version
check "kubectl baked for v1.33.4" expect "Client Version: v1.33.4" "$(at v1.33.4 kubectl)" version --client

started_at v1.34.2 kube-apiserver "${APISERVER[@]}"
check "a v1.34.2 kube-apiserver has /version gitVersion v1.34.2 and minor 34" \
    bash -c '"$@" | grep -F "\"minor\":\"34\",\"gitVersion\":\"v1.34.2\""' _ "${CURL[@]}" "${CA[@]}" "https://127.0.0.1:$PORT/version"
check "a v1.34.2 kube-apiserver serves /livez and /readyz" \
    expect okok "${CURL[@]}" "${CA[@]}" "https://127.0.0.1:$PORT/livez" "https://127.0.0.1:$PORT/readyz"

# The seed's kube-apiserver flags (test/golden), its files replaced by ours.
mapfile -t SEED_FLAGS < <(sed -n 's/^  \(--[^ ]*\).*/\1/p' "$(dirname "$0")/../golden/kube-apiserver.service" |
    grep -v -e '^--bind-address=' -e '^--audit-log-path=' |
    sed -e "s|/var/lib/kubernetes/ca.pem|$TMP/ca.crt|" -e "s|/var/lib/kubernetes/kubernetes.pem|$TMP/server.crt|" \
        -e "s|/var/lib/kubernetes/[a-z-]*-key.pem|$TMP/server.key|" -e "s|/var/lib/kubernetes/[^ ]*|$TMP/ca.crt|" \
        -e "s|'||g" | grep -v '^--etcd-')
SEED_FLAGS+=("${KS_ETCD_APISERVER_FLAGS[@]}") # the seed's --etcd-* point at its hosts
check "the seed's unit has its kube-apiserver flags (${#SEED_FLAGS[@]})" test "${#SEED_FLAGS[@]}" -ge 25
started_at v1.21.0 kube-apiserver "${SEED_FLAGS[@]}"
# shellcheck disable=SC2016 # expanded by the inner bash
check "a v1.21.0 kube-apiserver with the seed's flags warns about nothing" \
    bash -c '! grep -e deprecated -e "unknown flag" "$1"' _ "$TMP/kube-apiserver.log"
started_at v1.24.0 kube-apiserver "${SEED_FLAGS[@]}"
check "a v1.24.0 kube-apiserver accepts --apiserver-count with pflag's deprecation warning" \
    grep -qx 'Flag --apiserver-count has been deprecated, apiserver-count is deprecated and will be removed in a future version.' \
    "$TMP/kube-apiserver.log"
started_at v1.36.0 kube-apiserver "${SEED_FLAGS[@]}"
check "a v1.36.0 kube-apiserver starts with the seed's flags" grep -q "listening" "$TMP/kube-apiserver.log"

# passes_flags VERSION ROLE FLAG: the flag is parsed; the run then fails on a missing file.
passes_flags() {
    expect_exit1 "Error: open $TMP/missing: no such file or directory" \
        "$(at "$1" "$2")" "$3" --tls-cert-file="$TMP/missing" --tls-private-key-file="$TMP/missing" \
        --kubeconfig="$TMP/missing" --bind-address=127.0.0.1 --secure-port=0
}
# refuses_flag VERSION ROLE FLAG: pflag's error names the flag without its value.
refuses_flag() {
    local name=${3%%=*}
    expect_exit1 "Error: unknown flag: $name" "$(at "$1" "$2")" "$3" --bind-address=127.0.0.1 --secure-port=0
}
check "v1.21 kube-apiserver accepts --kubelet-https" passes_flags v1.21.0 kube-apiserver --kubelet-https=true
check "v1.22 kube-apiserver refuses --kubelet-https" refuses_flag v1.22.0 kube-apiserver --kubelet-https=true
check "v1.23 kube-apiserver accepts --insecure-port" passes_flags v1.23.0 kube-apiserver --insecure-port=0
check "v1.24 kube-apiserver refuses --insecure-port" refuses_flag v1.24.0 kube-apiserver --insecure-port=0
check "v1.23 kube-controller-manager accepts --port" passes_flags v1.23.0 kube-controller-manager --port=0
check "v1.24 kube-controller-manager refuses --port" refuses_flag v1.24.0 kube-controller-manager --port=0
check "v1.24 kube-scheduler refuses --port" refuses_flag v1.24.0 kube-scheduler --port 0

# The scheduler's config apiVersions by minor (the notes' table). A served one gets as far as
# the kubeconfig it names (missing here); one that is not served fails with the real error.
sched_config() { # apiVersion
    printf 'apiVersion: %s\nkind: KubeSchedulerConfiguration\nclientConnection:\n  kubeconfig: "%s"\n' \
        "kubescheduler.config.k8s.io/$1" "$TMP/missing.kubeconfig" >"$TMP/sched-$1.yaml"
    printf '%s\n' "$TMP/sched-$1.yaml"
}
scheduler_table() {
    local m api first last want got bad=0
    for m in $(seq 21 36); do
        for api in v1beta1:19:22 v1beta2:22:27 v1beta3:23:28 v1:25:99; do
            IFS=: read -r api first last <<<"$api"
            want=refused
            [ "$m" -ge "$first" ] && [ "$m" -le "$last" ] && want=served
            got=other
            "$(at "v1.$m.0" kube-scheduler)" --config="$(sched_config "$api")" --bind-address=127.0.0.1 \
                --secure-port=0 >/dev/null 2>"$TMP/sched.err" && got=started
            grep -q "no kind \\\\\"KubeSchedulerConfiguration\\\\\" is registered for version" "$TMP/sched.err" && got=refused
            grep -q "open $TMP/missing.kubeconfig: no such file" "$TMP/sched.err" && got=served
            [ "$got" = "$want" ] || { echo "v1.$m with $api: $got, want $want"; cat "$TMP/sched.err"; bad=1; }
        done
    done
    return "$bad"
}
check "kube-scheduler v1.21..v1.36 serve exactly the config apiVersions of the notes' table" scheduler_table
# The journal line a crash-looping v1.34 scheduler leaves with the seed's file.
v1beta1_refused() {
    local rc=0
    "$(at v1.34.2 kube-scheduler)" --config="$TMP/scheduler.yaml" --bind-address=127.0.0.1 --secure-port=0 \
        >/dev/null 2>"$TMP/sched.err" || rc=$?
    [ "$rc" -eq 1 ] || { echo "exit status $rc"; return 1; }
    grep -Eq '^E[0-9]{4} [0-9:.]{15} +[0-9]+ run\.go:74\] "command failed" err="no kind \\"KubeSchedulerConfiguration\\" is registered for version \\"kubescheduler\.config\.k8s\.io/v1beta1\\" in scheme \\"k8s\.io/kubernetes/pkg/scheduler/apis/config/scheme/scheme\.go:30\\""$' \
        "$TMP/sched.err" || { cat "$TMP/sched.err"; return 1; }
}
check "a v1.34.2 kube-scheduler refuses the seed's v1beta1 file with the real error, exit 1" v1beta1_refused

sed 's|/v1beta1|/v1|' "$TMP/scheduler.yaml" >"$TMP/scheduler-v1.yaml"
started_at v1.30.14 kube-scheduler --config="$TMP/scheduler-v1.yaml"
check "a v1.30 kube-scheduler has /healthz" expect ok "${CURL[@]}" -k "https://127.0.0.1:$PORT/healthz"
check "a v1.30 kube-scheduler has no /livez" expect 404 http_code -k "https://127.0.0.1:$PORT/livez"
check "a v1.30 kube-scheduler has no /readyz" expect 404 http_code -k "https://127.0.0.1:$PORT/readyz"
started_at v1.31.2 kube-scheduler --config="$TMP/scheduler-v1.yaml"
check "a v1.31 kube-scheduler has /livez and /readyz" \
    expect okok "${CURL[@]}" -k "https://127.0.0.1:$PORT/livez" "https://127.0.0.1:$PORT/readyz"
started_at v1.21.0 kube-controller-manager --kubeconfig "$TMP/kubeconfig"
check "a v1.21 kube-controller-manager has /healthz, /livez and /readyz" \
    expect okokok "${CURL[@]}" -k "https://127.0.0.1:$PORT/healthz" "https://127.0.0.1:$PORT/livez" "https://127.0.0.1:$PORT/readyz"

check "a -crash build exits 1 at start, saying so" \
    expect_exit1 "kube-apiserver stand-in v1.36.1-crash: built to crash at start" \
    "$(at v1.36.1-crash kube-apiserver)" "${APISERVER[@]}" --bind-address=127.0.0.1 --secure-port=0
check "a -crash kube-scheduler too" \
    expect_exit1 "kube-scheduler stand-in v1.34.3-crash: built to crash at start" \
    "$(at v1.34.3-crash kube-scheduler)" --config="$TMP/scheduler-v1.yaml" --bind-address=127.0.0.1 --secure-port=0

# --- the API server's health follows its etcd ---------------------------------------------
started kube-apiserver "${APISERVER[@]}"
API="https://127.0.0.1:$PORT"
check "/readyz?verbose lists the etcd check as the real one does" \
    expect "$(printf '[+]ping ok\n[+]log ok\n[+]etcd ok\nreadyz check passed')" "${CURL[@]}" "${CA[@]}" "$API/readyz?verbose"
etcd_stop
check "with etcd stopped, /healthz answers 500" expect 500 http_code "${CA[@]}" "$API/healthz"
check "and /livez?verbose says the etcd check failed" \
    bash -c '"$@" | grep -qx "\[-\]etcd failed: reason withheld"' _ "${CURL[@]}" "${CA[@]}" "$API/livez?verbose"

echo "1..$N"
[ "$FAILED" -eq 0 ]
