# shellcheck shell=bash
# test/lib/provision.sh - what an operator puts on a controller before running kubestrap,
# for the booted test hosts (test/lib/hosts.sh): the HTTPS mirror on the test bridge with the
# stand-in binaries, a PKI for the hosts' addresses, a config per host, and the copy-in.
# Needs: KUBESTRAP, STANDIN, top_srcdir; mirror.sh and hosts.sh sourced.

PROV_BRIDGE_ADDR=10.240.0.1

# prov_mirror_up DIR: the mirror on 127.0.0.1 and the bridge, with the stand-ins of every
# version in MIRROR_STANDIN_VERSIONS (v1.21.0, the seed's, and the current minors), the bad
# releases of MIRROR_STANDIN_CRASH_VERSIONS, and the stable markers (mirror.sh).
prov_mirror_up() {
        local d=$1
        MIRROR_EXTRA_ADDR=$PROV_BRIDGE_ADDR
        export MIRROR_EXTRA_ADDR
        mkdir -p "$d/mirror"
        mirror_start "$d/mirror" >/dev/null || return 1
        mirror_publish_standins amd64 "$STANDIN"
}

# prov_conf OUT INTERNAL_IP PUBLIC_ADDRESS: the example config pointed at the mirror.
prov_conf() {
        sed -e "s|^base-url = .*|base-url = $MIRROR_EXTRA_URL|" \
            -e "s|^;ca-file = .*|ca-file = /etc/kubestrap/mirror-ca.pem|" \
            -e "s|^source-dir = .*|source-dir = /etc/kubestrap/pki|" \
            -e "s|^internal-ip = .*|internal-ip = $2|" \
            -e "s|^public-address = .*|public-address = $3|" \
            "$top_srcdir/examples/controller-0.conf" > "$1"
        printf '\n[health]\ntimeout = 30\n' >> "$1"
}

# prov_install I CONF PKI_DIR: kubestrap, its templates, the config, the PKI and the mirror's
# CA into host I.
prov_install() {
        local i=$1 conf=$2 pki=$3 t f
        host_exec "$i" mkdir -p /etc/kubestrap/pki /usr/local/share/kubestrap/templates || return 1
        host_copy_in "$i" "$KUBESTRAP" /usr/local/sbin/kubestrap || return 1
        for t in "$top_srcdir"/templates/*; do
                host_copy_in "$i" "$t" "/usr/local/share/kubestrap/templates/${t##*/}" || return 1
        done
        host_copy_in "$i" "$MIRROR_CA" /etc/kubestrap/mirror-ca.pem || return 1
        for f in "$pki"/*; do host_copy_in "$i" "$f" "/etc/kubestrap/pki/${f##*/}" || return 1; done
        host_copy_in "$i" "$conf" /etc/kubestrap/kubestrap.conf
}

# prov_kubestrap I ARGS...: runs kubestrap in host I with the shipped templates.
prov_kubestrap() {
        local i=$1
        shift
        host_exec "$i" env KUBESTRAP_TEMPLATES=/usr/local/share/kubestrap/templates kubestrap "$@"
}
