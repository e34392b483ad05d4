# shellcheck shell=bash
# test/lib/mirror.sh - run a real nginx serving a throwaway download mirror
# (dl.k8s.io layout: <base>/<version>/bin/linux/<arch>/<name>, with
# <name>.sha256 and <name>.sha512 sidecars) over HTTPS on 127.0.0.1.
#
#   . "$(dirname "$0")/lib/mirror.sh"
#   dir=$(mktemp -d); trap 'mirror_stop; rm -rf "$dir"' EXIT
#   mirror_start "$dir" || exit 1
#   mirror_publish v1.21.0 amd64 kube-apiserver ./some-file
#   mirror_publish_standin amd64 "$STANDIN" v1.34.2     # the four stand-ins of a version
#   mirror_publish_standins amd64 "$STANDIN"            # $MIRROR_STANDIN_VERSIONS and markers
#   curl --cacert "$MIRROR_CA" "$MIRROR_URL/v1.21.0/bin/linux/amd64/kube-apiserver"
#
# mirror_start exports:
#   MIRROR_DIR                 the directory given to mirror_start
#   MIRROR_WWW                 $MIRROR_DIR/www (document root of all servers)
#   MIRROR_CA                  PEM of the CA that signed the trusted server cert
#   MIRROR_URL                 https://127.0.0.1:PORT (trusted cert, http2 if available)
#   MIRROR_H1_URL              https://127.0.0.1:PORT (trusted cert, HTTP/1.1 only)
#   MIRROR_UNTRUSTED_URL       https://127.0.0.1:PORT (cert from an unrelated CA)
#   MIRROR_UNTRUSTED_CA        PEM of that unrelated CA
#   MIRROR_HTTP_URL            http://127.0.0.1:PORT (plain HTTP)
#   MIRROR_REDIRECT_HTTP_URL   $MIRROR_URL/redirect-http   (302 -> $MIRROR_HTTP_URL/<rest>)
#   MIRROR_REDIRECT_HTTPS_URL  $MIRROR_URL/redirect-https  (302 -> $MIRROR_URL/<rest>)
#   MIRROR_SLOW_URL            $MIRROR_URL/slow     (same files, limit_rate $MIRROR_SLOW_RATE, default 2m)
#   MIRROR_FAIL503_URL         $MIRROR_URL/fail503  (always 503)
#   MIRROR_STALL_URL           $MIRROR_URL/stall    (same files at 1 byte a second)
#   MIRROR_NORANGE_URL         $MIRROR_URL/norange  (as /slow, but ignores Range: max_ranges 0)
#   MIRROR_CHUNKED_URL         $MIRROR_URL/chunked  (same files, no Content-Length: length-less
#                              over HTTP/2; empty when nginx lacks the sub module)
#   MIRROR_H1_CHUNKED_URL      $MIRROR_H1_URL/chunked (the same, Transfer-Encoding: chunked)
#   MIRROR_DRIP_URL            $MIRROR_URL/drip     (same files at 1100 bytes a second, just
#                              above curl's stall limit of 1 KiB/s)
#   MIRROR_EXTRA_URL           with MIRROR_EXTRA_ADDR set before mirror_start (e.g. a test
#                              bridge's address): the trusted server on that address too
#   MIRROR_ETCD_URL            $MIRROR_URL/etcd: the etcd releases' base (github's layout:
#                              <base>/<version>/etcd-<version>-linux-<arch>.tar.gz and
#                              <base>/<version>/SHA256SUMS), filled by mirror_publish_etcd
#   MIRROR_EXTRA_ETCD_URL      $MIRROR_EXTRA_URL/etcd, with MIRROR_EXTRA_ADDR
#   MIRROR_ETCD_VERSION        the version mirror_publish_etcd publishes (Debian's etcd: v3.4.23)
#   MIRROR_ACCESS_LOG          access log (one line per request, all servers)
#   MIRROR_ERROR_LOG           nginx error log
#   MIRROR_PID_FILE            nginx master pid file
#   MIRROR_SIGSTORE            the test's Sigstore-like hierarchy (test/sigtool ca): roots.pem
#                              and ct-log-keys.pem for [download] signature-roots/ct-log-keys;
#                              every file published gets FILE.sig and FILE.cert signed by it
#
# nginx runs with "daemon off" as a background job of the shell that calls
# mirror_start (so that shell reaps it; a daemonized master gets re-parented
# to PID 1, which in some containers never reaps it).  Consequences: call
# mirror_start in the test's main shell, not in $(...) or a subshell, and do
# not use a bare "wait" (it would wait for nginx): wait for your own PIDs.
#
# Requires: nginx, openssl, curl, ss (iproute2), sha256sum/sha512sum.
# Works with "set -eu" in the caller; functions return non-zero on failure
# after printing a message to stderr.

# The mirror is on this machine: a proxy from the caller's environment (a company proxy, say)
# must not stand between it and its clients, nor between it and its own readiness probe. A test
# about proxies sets the variables for each of its own runs (test/int/int-proxy.sh).
unset http_proxy HTTP_PROXY https_proxy HTTPS_PROXY all_proxy ALL_PROXY no_proxy NO_PROXY

_mirror_err() {
    printf 'mirror: %s\n' "$*" >&2
}

# _mirror_nginx_version_ge MAJOR MINOR PATCH
_mirror_nginx_version_ge() {
    local v a b c
    v=$(nginx -v 2>&1 | sed -n 's|.*nginx/\([0-9][0-9]*\.[0-9][0-9]*\.[0-9][0-9]*\).*|\1|p')
    [ -n "$v" ] || return 1
    IFS=. read -r a b c <<<"$v"
    [ "$a" -ne "$1" ] && { [ "$a" -gt "$1" ]; return; }
    [ "$b" -ne "$2" ] && { [ "$b" -gt "$2" ]; return; }
    [ "$c" -ge "$3" ]
}

# _mirror_port_free PORT: true if nothing listens on 127.0.0.1:PORT (or *:PORT)
_mirror_port_free() {
    local out
    out=$(ss -Hltn "sport = :$1" 2>/dev/null) || return 1
    [ -z "$out" ]
}

# _mirror_pick_ports N: prints N distinct free ports in 20000-60000.
_mirror_pick_ports() {
    local n=$1 tries=0 port picked=' ' count=0
    while [ "$count" -lt "$n" ]; do
        tries=$((tries + 1))
        if [ "$tries" -gt 200 ]; then
            _mirror_err "could not find $n free TCP ports on 127.0.0.1"
            return 1
        fi
        port=$((20000 + (RANDOM * 32768 + RANDOM) % 40001))
        case $picked in *" $port "*) continue ;; esac
        _mirror_port_free "$port" || continue
        picked="$picked$port "
        count=$((count + 1))
    done
    # shellcheck disable=SC2086 # split on purpose
    printf "%s\n" $picked
}

# _mirror_make_ca DIR CN: self-signed CA -> DIR/ca.pem, DIR/ca.key
_mirror_make_ca() {
    local d=$1 cn=$2
    mkdir -p "$d" || return 1
    openssl req -x509 -new -nodes \
        -newkey ec -pkeyopt ec_paramgen_curve:prime256v1 \
        -keyout "$d/ca.key" -out "$d/ca.pem" -days 7 -sha256 \
        -subj "/O=kubestrap tests/CN=$cn" \
        -addext 'basicConstraints=critical,CA:TRUE' \
        -addext 'keyUsage=critical,keyCertSign,cRLSign' \
        -addext 'subjectKeyIdentifier=hash' \
        >"$d/openssl.log" 2>&1
}

# _mirror_make_server DIR: server cert for 127.0.0.1/localhost signed by
# DIR/ca.pem -> DIR/server.pem, DIR/server.key
_mirror_make_server() {
    local d=$1
    cat >"$d/server.ext" <<'EOF' || return 1
basicConstraints=critical,CA:FALSE
keyUsage=critical,digitalSignature
extendedKeyUsage=serverAuth
subjectAltName=IP:127.0.0.1,DNS:localhost
subjectKeyIdentifier=hash
authorityKeyIdentifier=keyid,issuer
EOF
    if [ -n "${MIRROR_EXTRA_ADDR:-}" ]; then
        sed -i "s/^subjectAltName=.*/&,IP:$MIRROR_EXTRA_ADDR/" "$d/server.ext" || return 1
    fi
    openssl req -new -nodes \
        -newkey ec -pkeyopt ec_paramgen_curve:prime256v1 \
        -keyout "$d/server.key" -out "$d/server.csr" \
        -subj '/O=kubestrap tests/CN=127.0.0.1' \
        >>"$d/openssl.log" 2>&1 || return 1
    openssl x509 -req -in "$d/server.csr" -CA "$d/ca.pem" -CAkey "$d/ca.key" \
        -set_serial "0x$(openssl rand -hex 15)" -days 7 -sha256 \
        -extfile "$d/server.ext" -out "$d/server.pem" \
        >>"$d/openssl.log" 2>&1
}

# _mirror_has_sub: nginx has the sub module (sub_filter), which serves the /chunked/ location
_mirror_has_sub() {
    nginx -V 2>&1 | grep -q -- '--with-http_sub_module'
}

_mirror_nginx_has() {
    # _mirror_nginx_has MODULE: false if nginx was built --without-MODULE
    ! nginx -V 2>&1 | grep -q -- "--without-$1\\b"
}

# _mirror_write_conf DIR HTTPS_PORT UNTRUSTED_PORT HTTP_PORT HTTP1_PORT
_mirror_write_conf() {
    local d=$1 p_tls=$2 p_bad=$3 p_http=$4 p_h1=$5 user='' h2_listen='' h2_dir='' temps chunked=
    # The master runs as root only if we are root; then workers need a user.
    if [ "$(id -u)" = 0 ]; then
        user="user www-data;"
        id www-data >/dev/null 2>&1 || user="user nobody;"
    fi
    if nginx -V 2>&1 | grep -q -- '--with-http_v2_module'; then
        if _mirror_nginx_version_ge 1 25 1; then
            h2_dir='http2 on;'
        else
            h2_listen=' http2'
        fi
    fi
    # sub_filter edits the body, so nginx drops the Content-Length: the body arrives chunked
    # (HTTP/1.1) or length-less (HTTP/2), and only the client can stop it. The pattern never
    # occurs, so the bytes are the file's.
    if _mirror_has_sub; then
        chunked="location /chunked/ { alias $d/www/; sub_filter_types *; sub_filter 'kubestrap-no-such-text' ''; }"
    fi
    temps="client_body_temp_path $d/tmp/client_body;"
    _mirror_nginx_has http_proxy_module &&
        temps="$temps proxy_temp_path $d/tmp/proxy;"
    _mirror_nginx_has http_fastcgi_module &&
        temps="$temps fastcgi_temp_path $d/tmp/fastcgi;"
    _mirror_nginx_has http_uwsgi_module &&
        temps="$temps uwsgi_temp_path $d/tmp/uwsgi;"
    _mirror_nginx_has http_scgi_module &&
        temps="$temps scgi_temp_path $d/tmp/scgi;"

    cat >"$d/nginx.conf" <<EOF
# generated by test/lib/mirror.sh
$user
daemon off;
master_process on;
worker_processes 1;
pid $d/nginx.pid;
error_log $d/error.log info;

events {
    worker_connections 256;
}

http {
    log_format mirror '\$remote_addr [\$time_local] \$scheme:\$server_port '
                      '"\$request" \$status \$body_bytes_sent '
                      '"\$http_user_agent" \$server_protocol c=\$connection';
    access_log $d/access.log mirror;
    $temps

    default_type application/octet-stream;
    types {
        text/plain sha256 sha512;
    }
    sendfile on;
    server_tokens off;
    autoindex off;
    keepalive_timeout 10;

    # (a) trusted HTTPS
    server {
        listen 127.0.0.1:$p_tls ssl$h2_listen;${MIRROR_EXTRA_ADDR:+
        listen $MIRROR_EXTRA_ADDR:$p_tls ssl$h2_listen;}
        $h2_dir
        server_name _;
        ssl_certificate     $d/ca/server.pem;
        ssl_certificate_key $d/ca/server.key;
        root $d/www;

        location ~ ^/redirect-http/(.*)\$ {
            return 302 http://127.0.0.1:$p_http/\$1\$is_args\$args;
        }
        location ~ ^/redirect-https/(.*)\$ {
            return 302 https://127.0.0.1:$p_tls/\$1\$is_args\$args;
        }
        # the same files, slowly, so a test can cut a transfer half-way
        location /slow/ {
            alias $d/www/;
            limit_rate ${MIRROR_SLOW_RATE:-2m};
        }
        # slowly, and deaf to Range: a cut transfer can only start over
        location /norange/ {
            alias $d/www/;
            limit_rate ${MIRROR_SLOW_RATE:-2m};
            max_ranges 0;
        }
        # a server that has all but stopped sending: 1 byte a second
        location /stall/ {
            alias $d/www/;
            limit_rate 1;
        }
        # a server dripping just above curl's stall limit (1 KiB/s): only a deadline cuts it
        location /drip/ {
            alias $d/www/;
            limit_rate 1100;
        }
        $chunked
        # a server in trouble: every request answers 503
        location /fail503/ {
            return 503;
        }
    }

    # (b) HTTPS with a certificate from an unrelated CA
    server {
        listen 127.0.0.1:$p_bad ssl;
        server_name _;
        ssl_certificate     $d/untrusted/server.pem;
        ssl_certificate_key $d/untrusted/server.key;
        root $d/www;
    }

    # (c) plain HTTP
    server {
        listen 127.0.0.1:$p_http;
        server_name _;
        root $d/www;
    }

    # (d) trusted HTTPS without HTTP/2, like many internal mirrors: one request per connection
    server {
        listen 127.0.0.1:$p_h1 ssl;
        server_name _;
        ssl_certificate     $d/ca/server.pem;
        ssl_certificate_key $d/ca/server.key;
        root $d/www;
        $chunked
    }
}
EOF
}

_mirror_show_error_log() {
    local log=${1:-${MIRROR_DIR:-}/error.log}
    if [ -s "$log" ]; then
        printf 'mirror: --- tail of %s ---\n' "$log" >&2
        tail -n 20 "$log" >&2
        printf 'mirror: ---\n' >&2
    fi
}

# _mirror_probe URL [CURL ARGS...]: status 0 if URL/.mirror-probe answers 200,
# 2 if nginx answers with another HTTP status (no point in waiting longer),
# 1 if it does not answer (yet).  The status is left in _mirror_probe_code.
_mirror_probe_code=000
_mirror_nginx_pid=""
_mirror_probe() {
    local url=$1
    shift
    _mirror_probe_code=$(curl -s -o /dev/null -w "%{http_code}" --max-time 2 "$@" \
        "$url/.mirror-probe" 2>/dev/null) || true
    case $_mirror_probe_code in
    200) return 0 ;;
    "" | 000) return 1 ;;
    *) return 2 ;;
    esac
}

# The test hierarchy's tool (test/sigtool.c): $SIGTOOL, else beside $STANDIN (a build's test/).
_mirror_sigtool() {
    if [ -n "${SIGTOOL:-}" ]; then
        printf '%s\n' "$SIGTOOL"
    else
        printf '%s/sigtool\n' "$(dirname "${STANDIN:-${top_builddir:-.}/test/standin}")"
    fi
}

# mirror_start DIR
mirror_start() {
    local d=${1-} ports p_tls p_bad p_http p_h1 attempt ng_opts user_hint=""
    if [ -z "$d" ] || [ ! -d "$d" ]; then
        _mirror_err "mirror_start: '${d}' is not an existing directory"
        return 1
    fi
    d=$(cd "$d" && pwd -P) || return 1
    local cmd
    for cmd in nginx openssl curl ss sha256sum sha512sum; do
        command -v "$cmd" >/dev/null 2>&1 || {
            _mirror_err "mirror_start: '$cmd' not found in PATH"
            return 1
        }
    done
    if [ -n "${MIRROR_PID_FILE:-}" ] && [ -s "$MIRROR_PID_FILE" ] &&
        _mirror_alive "$(cat "$MIRROR_PID_FILE")"; then
        _mirror_err "mirror_start: a mirror is already running ($MIRROR_PID_FILE)"
        return 1
    fi

    # nginx workers (www-data when we are root) must traverse DIR and read www.
    [ "$(id -u)" = 0 ] && user_hint="(www-data) "
    chmod 0755 "$d" || return 1
    mkdir -p "$d/www" "$d/tmp" || return 1
    chmod 0755 "$d/www" || return 1
    printf 'ok\n' >"$d/www/.mirror-probe" && chmod 0644 "$d/www/.mirror-probe" || return 1

    if ! _mirror_make_ca "$d/ca" 'kubestrap test CA' ||
        ! _mirror_make_server "$d/ca"; then
        _mirror_err "mirror_start: generating the trusted CA/cert failed:"
        cat "$d/ca/openssl.log" >&2 2>/dev/null
        return 1
    fi
    if ! _mirror_make_ca "$d/untrusted" 'kubestrap UNTRUSTED test CA' ||
        ! _mirror_make_server "$d/untrusted"; then
        _mirror_err "mirror_start: generating the untrusted CA/cert failed:"
        cat "$d/untrusted/openssl.log" >&2 2>/dev/null
        return 1
    fi
    chmod 0644 "$d/ca/ca.pem" "$d/untrusted/ca.pem" "$d/ca/server.pem" \
        "$d/untrusted/server.pem" || return 1

    : >"$d/access.log" || return 1
    : >"$d/error.log" || return 1

    ng_opts=(-c "$d/nginx.conf" -p "$d/")
    # -e (error log before the config is read) exists since nginx 1.19.5
    _mirror_nginx_version_ge 1 19 5 && ng_opts+=(-e "$d/error.log")

    export MIRROR_DIR="$d"
    export MIRROR_WWW="$d/www"
    export MIRROR_CA="$d/ca/ca.pem"
    export MIRROR_UNTRUSTED_CA="$d/untrusted/ca.pem"
    export MIRROR_ACCESS_LOG="$d/access.log"
    export MIRROR_ERROR_LOG="$d/error.log"
    export MIRROR_PID_FILE="$d/nginx.pid"
    export MIRROR_SIGSTORE="$d/sigstore"
    mkdir -p "$MIRROR_SIGSTORE" && "$(_mirror_sigtool)" ca "$MIRROR_SIGSTORE" ||
        { _mirror_err "mirror_start: cannot make the signing hierarchy"; return 1; }

    # Ports are checked free, but another process may grab one before nginx
    # binds it: retry with new ports if nginx dies with EADDRINUSE.
    local state url ca
    for attempt in 1 2 3; do
        ports=$(_mirror_pick_ports 4) || return 1
        read -r p_tls p_bad p_http p_h1 <<<"${ports//$'\n'/ }"
        _mirror_write_conf "$d" "$p_tls" "$p_bad" "$p_http" "$p_h1" || {
            _mirror_err "mirror_start: cannot write $d/nginx.conf"
            return 1
        }
        export MIRROR_URL="https://127.0.0.1:$p_tls"
        export MIRROR_H1_URL="https://127.0.0.1:$p_h1"
        [ -n "${MIRROR_EXTRA_ADDR:-}" ] && export MIRROR_EXTRA_URL="https://$MIRROR_EXTRA_ADDR:$p_tls" \
            MIRROR_EXTRA_ETCD_URL="https://$MIRROR_EXTRA_ADDR:$p_tls/etcd"
        export MIRROR_ETCD_URL="$MIRROR_URL/etcd"
        export MIRROR_UNTRUSTED_URL="https://127.0.0.1:$p_bad"
        export MIRROR_HTTP_URL="http://127.0.0.1:$p_http"
        export MIRROR_REDIRECT_HTTP_URL="$MIRROR_URL/redirect-http"
        export MIRROR_REDIRECT_HTTPS_URL="$MIRROR_URL/redirect-https"
        export MIRROR_SLOW_URL="$MIRROR_URL/slow"
        export MIRROR_FAIL503_URL="$MIRROR_URL/fail503"
        export MIRROR_STALL_URL="$MIRROR_URL/stall"
        export MIRROR_NORANGE_URL="$MIRROR_URL/norange"
        export MIRROR_DRIP_URL="$MIRROR_URL/drip"
        export MIRROR_CHUNKED_URL='' MIRROR_H1_CHUNKED_URL=''
        if _mirror_has_sub; then
            export MIRROR_CHUNKED_URL="$MIRROR_URL/chunked"
            export MIRROR_H1_CHUNKED_URL="$MIRROR_H1_URL/chunked"
        fi

        rm -f "$d/nginx.pid"
        : >"$d/error.log"
        # "daemon off" + background job: the calling shell stays nginx's
        # parent and reaps it (a daemonized master would be re-parented to
        # PID 1, which in some containers never reaps it: zombie).
        nginx "${ng_opts[@]}" </dev/null >"$d/nginx.out" 2>&1 &
        _mirror_nginx_pid=$!

        # Bounded readiness poll (about 10 s): all three servers must serve
        # a file from www (200 also proves the worker user can read it).
        # state 0: up; 1: no answer yet; 2: answers but not 200; 3: nginx died
        state=1
        for _ in $(seq 1 100); do
            if ! _mirror_alive "$_mirror_nginx_pid"; then
                state=3
                break
            fi
            state=0
            for url in "$MIRROR_URL" "$MIRROR_UNTRUSTED_URL" "$MIRROR_HTTP_URL"; do
                ca=$MIRROR_CA
                [ "$url" = "$MIRROR_UNTRUSTED_URL" ] && ca=$MIRROR_UNTRUSTED_CA
                _mirror_probe "$url" --cacert "$ca" || state=$?
                [ "$state" = 0 ] || break
            done
            [ "$state" = 1 ] || break
            sleep 0.1
        done
        [ "$state" = 0 ] && [ -s "$d/nginx.pid" ] && return 0

        case $state in
        3)
            wait "$_mirror_nginx_pid" 2>/dev/null || true
            if [ "$attempt" != 3 ] &&
                grep -q 'Address already in use' "$d/nginx.out" "$d/error.log" 2>/dev/null; then
                continue
            fi
            _mirror_err "mirror_start: nginx exited at startup (nginx ${ng_opts[*]}):"
            cat "$d/nginx.out" >&2
            ;;
        2)
            _mirror_err "mirror_start: $url/.mirror-probe answered HTTP" \
                "$_mirror_probe_code instead of 200 (403: can the nginx worker user" \
                "${user_hint}read $d/www and traverse every parent directory of it?)"
            ;;
        *)
            _mirror_err "mirror_start: nginx did not answer on $url within 10s"
            ;;
        esac
        _mirror_show_error_log "$d/error.log"
        mirror_stop
        return 1
    done
    return 1
}

# mirror_publish VERSION ARCH NAME FILE
mirror_publish() {
    if [ $# -ne 4 ]; then
        _mirror_err "usage: mirror_publish VERSION ARCH NAME FILE"
        return 1
    fi
    local ver=$1 arch=$2 name=$3 file=$4 rel dst sum256 sum512 p
    if [ -z "${MIRROR_WWW:-}" ] || [ ! -d "$MIRROR_WWW" ]; then
        _mirror_err "mirror_publish: mirror not started (MIRROR_WWW unset)"
        return 1
    fi
    if [ ! -f "$file" ] || [ ! -r "$file" ]; then
        _mirror_err "mirror_publish: cannot read '$file'"
        return 1
    fi
    rel="$ver/bin/linux/$arch"
    mkdir -p "$MIRROR_WWW/$rel" || return 1
    # world-traversable path for the nginx worker, whatever the umask
    p=$MIRROR_WWW
    local comp
    for comp in "$ver" bin linux "$arch"; do
        p="$p/$comp"
        chmod 0755 "$p" || return 1
    done
    dst="$MIRROR_WWW/$rel/$name"
    if ! cp -f -- "$file" "$dst" || ! chmod 0644 "$dst"; then
        _mirror_err "mirror_publish: cannot copy '$file' to '$dst'"
        return 1
    fi
    sum256=$(sha256sum <"$dst" | cut -d' ' -f1) && [ -n "$sum256" ] || return 1
    sum512=$(sha512sum <"$dst" | cut -d' ' -f1) && [ -n "$sum512" ] || return 1
    printf '%s\n' "$sum256" >"$dst.sha256" || return 1
    printf '%s  %s\n' "$sum512" "$name" >"$dst.sha512" || return 1
    mirror_sign "$dst" || return 1
    chmod 0644 "$dst.sha256" "$dst.sha512"
}

# mirror_sign [SIGTOOL-OPTIONS] FILE...: FILE.sig and FILE.cert in the release format, signed
# by the hierarchy of $MIRROR_SIGSTORE (options make hostile variants: test/sigtool.c).
mirror_sign() {
    local f
    "$(_mirror_sigtool)" sign "$MIRROR_SIGSTORE" "$@" || return 1
    for f in "$@"; do
        case $f in --*) ;; *) [ ! -f "$f.sig" ] || chmod 0644 "$f.sig" "$f.cert" ;; esac
    done
}

# The versions the test mirror publishes with mirror_publish_standins: one per minor the tests
# move between (two patches of 1.34, so that stable-1.34 has a choice to make), and bad
# releases ("-crash": the controllers exit at start) for rollback tests. Markers skip those.
MIRROR_STANDIN_VERSIONS="v1.21.0 v1.30.14 v1.31.2 v1.32.3 v1.33.4 v1.34.1 v1.34.2 v1.35.0 v1.36.0"
MIRROR_STANDIN_CRASH_VERSIONS="v1.34.3-crash v1.36.1-crash"
MIRROR_STANDIN_ROLES="kube-apiserver kube-controller-manager kube-scheduler kubectl"

# mirror_publish_standin ARCH STANDIN VERSION...: the four binaries of each VERSION, each a
# copy of the stand-in build STANDIN with the version baked in (test/standin.c reads the line
# "standin-version=VERSION" appended after its ELF image) and its role's name, so that every
# file has its own digest; with their .sha256/.sha512 sidecars, as mirror_publish writes them.
# No rebuild, a copy per file, and one sha256sum and one sha512sum over all of them: the mirror
# publishes eleven versions and must still start in well under a second.
mirror_publish_standin() {
    if [ $# -lt 3 ]; then
        _mirror_err "usage: mirror_publish_standin ARCH STANDIN VERSION..."
        return 1
    fi
    local arch=$1 standin=$2 ver b dir files=() sum path
    shift 2
    [ -n "${MIRROR_WWW:-}" ] || { _mirror_err "mirror_publish_standin: mirror not started"; return 1; }
    [ -r "$standin" ] || { _mirror_err "mirror_publish_standin: cannot read '$standin'"; return 1; }
    for ver in "$@"; do
        dir="$MIRROR_WWW/$ver/bin/linux/$arch"
        mkdir -p "$dir" || return 1
        # world-traversable path for the nginx worker, whatever the umask
        chmod 0755 "$MIRROR_WWW/$ver" "$MIRROR_WWW/$ver/bin" "$MIRROR_WWW/$ver/bin/linux" "$dir" ||
            return 1
        for b in $MIRROR_STANDIN_ROLES; do
            { cat -- "$standin" && printf '\nstandin-version=%s\n%s\n' "$ver" "$b"; } >"$dir/$b" ||
                return 1
            files+=("$dir/$b")
        done
    done
    while read -r sum path; do
        printf '%s\n' "$sum" >"$path.sha256" || return 1
    done < <(sha256sum -- "${files[@]}")
    while read -r sum path; do
        printf '%s  %s\n' "$sum" "${path##*/}" >"$path.sha512" || return 1
    done < <(sha512sum -- "${files[@]}")
    [ "${#files[@]}" -gt 0 ] && [ -s "${files[-1]}.sha512" ] || return 1
    mirror_sign "${files[@]}" || return 1
    chmod 0644 "${files[@]}" "${files[@]/%/.sha256}" "${files[@]/%/.sha512}"
}

# mirror_publish_markers VERSION...: dl.k8s.io's markers at the document root, as
# <base-url>/stable.txt, stable-1.txt and stable-1.NN.txt: the highest stable VERSION overall
# and per minor, without a trailing newline (as dl.k8s.io serves them). Pre-releases
# (a "-" suffix) are no stable release and are left out.
mirror_publish_markers() {
    local v minor list
    [ -n "${MIRROR_WWW:-}" ] || { _mirror_err "mirror_publish_markers: mirror not started"; return 1; }
    list=$(printf '%s\n' "$@" | grep -E '^v[0-9]+\.[0-9]+\.[0-9]+$' | sort -V) || true
    [ -n "$list" ] || { _mirror_err "mirror_publish_markers: no stable version given"; return 1; }
    for v in $list; do # ascending: the last of a minor wins
        minor=${v#v}
        minor=${minor%.*}
        printf '%s' "$v" >"$MIRROR_WWW/stable-$minor.txt" || return 1
    done
    v=$(printf '%s\n' "$list" | tail -n 1)
    minor=${v#v}
    printf '%s' "$v" >"$MIRROR_WWW/stable.txt" || return 1
    printf '%s' "$v" >"$MIRROR_WWW/stable-${minor%%.*}.txt" || return 1
    chmod 0644 "$MIRROR_WWW"/stable*.txt
}

# mirror_publish_standins ARCH STANDIN: every version of MIRROR_STANDIN_VERSIONS and
# MIRROR_STANDIN_CRASH_VERSIONS, and the markers of the stable ones.
mirror_publish_standins() {
    # shellcheck disable=SC2086 # lists of words
    mirror_publish_standin "$1" "$2" $MIRROR_STANDIN_VERSIONS $MIRROR_STANDIN_CRASH_VERSIONS &&
        mirror_publish_markers $MIRROR_STANDIN_VERSIONS
}

# The etcd release the mirror publishes: Debian's etcd-server and etcd-client (scripts/deps)
# are 3.4.23, and the tarball is made from their binaries.
MIRROR_ETCD_VERSION=v3.4.23
MIRROR_ETCD_BIN=${MIRROR_ETCD_BIN:-/usr/bin/etcd}
MIRROR_ETCD_CTL=${MIRROR_ETCD_CTL:-/usr/bin/etcdctl}
export MIRROR_ETCD_VERSION

# _mirror_etcd_tarball OUT ARCH: OUT is etcd-$MIRROR_ETCD_VERSION-linux-ARCH.tar.gz with the
# layout of etcd's release tarballs (its scripts/build-binary): one top directory holding etcd,
# etcdctl, README.md, README-etcdctl.md, READMEv2-etcdctl.md and Documentation/. The binaries
# are Debian's; the texts say so, since upstream's are not on the machine. Owners, times and
# order are fixed and gzip stores no name or time, so the bytes (and SHA256SUMS) depend only
# on the binaries.
_mirror_etcd_tarball() {
    local out=$1 arch=$2 top stage v
    top=etcd-$MIRROR_ETCD_VERSION-linux-$arch
    stage=$(mktemp -d "${out%/*}/.stage.XXXXXX") || return 1
    mkdir -p "$stage/$top/Documentation" || return 1
    cp -- "$MIRROR_ETCD_BIN" "$stage/$top/etcd" && cp -- "$MIRROR_ETCD_CTL" "$stage/$top/etcdctl" ||
        { rm -rf "$stage"; return 1; }
    v=$("$MIRROR_ETCD_BIN" --version 2>/dev/null | sed -n 's/^etcd Version: //p')
    for f in README.md README-etcdctl.md READMEv2-etcdctl.md Documentation/README.md; do
        printf '# %s (kubestrap test mirror)\n\netcd %s and etcdctl from Debian'"'"'s etcd-server and etcd-client\npackages, in the layout of an etcd release tarball.\n' \
            "${f##*/}" "${v:-?}" >"$stage/$top/$f" || { rm -rf "$stage"; return 1; }
    done
    chmod 0755 "$stage/$top" "$stage/$top/Documentation" "$stage/$top/etcd" "$stage/$top/etcdctl" &&
        chmod 0644 "$stage/$top"/*.md "$stage/$top/Documentation/README.md" &&
        tar -C "$stage" --sort=name --mtime="@$(stat -L -c %Y -- "$MIRROR_ETCD_BIN")" --owner=0 --group=0 --numeric-owner -cf - "$top" |
        gzip -n >"$out.tmp" && mv -f -- "$out.tmp" "$out"
    local rc=$?
    rm -rf "$stage" "$out.tmp"
    return $rc
}

# mirror_publish_etcd [ARCH]: the etcd release $MIRROR_ETCD_VERSION for ARCH (default amd64)
# under $MIRROR_ETCD_URL: <base>/<version>/etcd-<version>-linux-<arch>.tar.gz and, next to it,
# SHA256SUMS as "shasum -a 256" writes it (<hex>, two spaces, the file's name). The tarball
# takes seconds to compress, so it is built once per pair of binaries into MIRROR_ETCD_CACHE
# (default: test/.etcd-release under $top_builddir, else the mirror's own directory) and
# copied from there.
mirror_publish_etcd() {
    local arch=${1:-amd64} cache name key dir sum f
    [ -n "${MIRROR_WWW:-}" ] || { _mirror_err "mirror_publish_etcd: mirror not started"; return 1; }
    for f in "$MIRROR_ETCD_BIN" "$MIRROR_ETCD_CTL"; do
        [ -x "$f" ] || { _mirror_err "mirror_publish_etcd: no $f (scripts/deps installs etcd-server and etcd-client)"; return 1; }
    done
    cache=${MIRROR_ETCD_CACHE:-${top_builddir:+$top_builddir/test/.etcd-release}}
    cache=${cache:-$MIRROR_DIR/etcd-release}
    name=etcd-$MIRROR_ETCD_VERSION-linux-$arch.tar.gz
    # the binaries' identity: a new etcd package makes a new tarball
    key=$(stat -L -c '%d.%i.%s.%Y' -- "$MIRROR_ETCD_BIN" "$MIRROR_ETCD_CTL" | tr '\n' _) || return 1
    mkdir -p "$cache/$key" || return 1
    if [ ! -s "$cache/$key/$name" ]; then
        _mirror_etcd_tarball "$cache/$key/$name" "$arch" || {
            _mirror_err "mirror_publish_etcd: could not build $name in $cache/$key"
            return 1
        }
    fi
    dir=$MIRROR_WWW/etcd/$MIRROR_ETCD_VERSION
    mkdir -p "$dir" && chmod 0755 "$MIRROR_WWW/etcd" "$dir" || return 1
    cp -f -- "$cache/$key/$name" "$dir/$name" || return 1
    sum=$(sha256sum <"$dir/$name" | cut -d' ' -f1) && [ -n "$sum" ] || return 1
    # one line per file in the directory, as the release's SHA256SUMS has one per asset
    if [ -f "$dir/SHA256SUMS" ]; then
        grep -v "  $name\$" "$dir/SHA256SUMS" >"$dir/SHA256SUMS.new" || true
    else
        : >"$dir/SHA256SUMS.new"
    fi
    printf '%s  %s\n' "$sum" "$name" >>"$dir/SHA256SUMS.new" &&
        sort -k2 -o "$dir/SHA256SUMS.new" "$dir/SHA256SUMS.new" &&
        mv -f -- "$dir/SHA256SUMS.new" "$dir/SHA256SUMS" &&
        chmod 0644 "$dir/$name" "$dir/SHA256SUMS"
}

# mirror_requests: number of requests logged so far (all three servers).
mirror_requests() {
    local n
    if [ -z "${MIRROR_ACCESS_LOG:-}" ] || [ ! -f "$MIRROR_ACCESS_LOG" ]; then
        echo 0
        return 0
    fi
    n=$(wc -l <"$MIRROR_ACCESS_LOG") || return 1
    echo $((n + 0))
}

# _mirror_alive PID: process exists and is not a zombie (a daemonized nginx is
# re-parented to PID 1, which in some containers never reaps it).
_mirror_alive() {
    local st
    kill -0 "$1" 2>/dev/null || return 1
    st=$(sed -n 's/^[0-9]* (.*) \([A-Za-z]\).*/\1/p' "/proc/$1/stat" 2>/dev/null) || return 0
    [ "$st" != Z ] && [ "$st" != X ]
}

# mirror_stop: stop nginx (idempotent; fine to call from an EXIT trap).
mirror_stop() {
    local pidfile=${MIRROR_PID_FILE:-} pid='' kids
    if [ -n "$pidfile" ] && [ -s "$pidfile" ]; then
        pid=$(cat "$pidfile" 2>/dev/null) || pid=''
    fi
    # no pid file (yet): fall back to the job started by mirror_start
    [ -n "$pid" ] || pid=${_mirror_nginx_pid:-}
    _mirror_nginx_pid=''
    case $pid in '' | *[!0-9]*)
        [ -n "$pidfile" ] && rm -f "$pidfile"
        return 0
        ;;
    esac
    # guard against a recycled pid: only signal a live nginx process
    if _mirror_alive "$pid" &&
        tr '\0' ' ' <"/proc/$pid/cmdline" 2>/dev/null | grep -q nginx; then
        kill -TERM "$pid" 2>/dev/null || true
        for _ in $(seq 1 100); do
            _mirror_alive "$pid" || break
            sleep 0.1
        done
        if _mirror_alive "$pid"; then
            _mirror_err "mirror_stop: nginx ($pid) ignored SIGTERM for 10s, sending SIGKILL"
            # its workers would outlive a SIGKILLed master: kill them first
            kids=$(pgrep -P "$pid" 2>/dev/null) || true
            # shellcheck disable=SC2086 # one pid per word
            [ -n "$kids" ] && kill -KILL $kids 2>/dev/null
            kill -KILL "$pid" 2>/dev/null || true
            for _ in $(seq 1 50); do
                _mirror_alive "$pid" || break
                sleep 0.1
            done
        fi
    fi
    # reap it if it is our child (no-op otherwise); it is dead, so no blocking
    _mirror_alive "$pid" || wait "$pid" 2>/dev/null || true
    [ -n "$pidfile" ] && rm -f "$pidfile"
    return 0
}
