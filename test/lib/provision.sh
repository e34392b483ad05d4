# shellcheck shell=bash
# test/lib/provision.sh - what an operator puts on a controller before running kubestrap,
# for the booted test hosts (test/lib/hosts.sh): the HTTPS mirror on the test bridge with the
# stand-in binaries, a PKI for the hosts' addresses, a config per host, and the copy-in.
# Needs: KUBESTRAP, STANDIN, top_srcdir; mirror.sh and hosts.sh sourced.

PROV_BRIDGE_ADDR=10.240.0.1

# prov_mirror_up DIR: the mirror on 127.0.0.1 and the bridge, with the stand-ins of every
# version in MIRROR_STANDIN_VERSIONS (v1.21.0, the seed's, and the current minors), the bad
# releases of MIRROR_STANDIN_CRASH_VERSIONS, the stable markers, and the etcd release under
# MIRROR_EXTRA_ETCD_URL (mirror.sh).
prov_mirror_up() {
        local d=$1
        MIRROR_EXTRA_ADDR=$PROV_BRIDGE_ADDR
        export MIRROR_EXTRA_ADDR
        mkdir -p "$d/mirror"
        mirror_start "$d/mirror" >/dev/null || return 1
        mirror_publish_standins amd64 "$STANDIN" && mirror_publish_etcd amd64
}

# prov_etcd_conf: the [etcd] section of the booted hosts' configs: Debian's etcd from the
# mirror's etcd release; the members, and the API servers' etcd-servers, follow from the
# inventory (or the one host). Every booted control plane thus runs on a real etcd.
prov_etcd_conf() {
        printf '\n[etcd]\nversion = %s\nbase-url = %s\n' "$MIRROR_ETCD_VERSION" "$MIRROR_EXTRA_ETCD_URL"
}
# The sed expressions that go with it, for a config made from the example: no etcd-servers
# (the members' own).
PROV_ETCD_SED=(-e '/^etcd-servers = /d')

# prov_set_version CONF VERSION: [cluster] version = VERSION (the Kubernetes release; [etcd] has
# a version of its own, which stays).
prov_set_version() {
        sed -i "/^\[cluster\]\$/,/^\[/ s|^version = .*|version = $2|" "$1"
}

# prov_conf OUT INTERNAL_IP PUBLIC_ADDRESS: the example config pointed at the mirror, with etcd.
prov_conf() {
        sed -e "s|^base-url = .*|base-url = $MIRROR_EXTRA_URL|" "${PROV_ETCD_SED[@]}" \
            -e "s|^;ca-file = .*|ca-file = /etc/kubestrap/mirror-ca.pem|" \
            -e "s|^;signature-roots = .*|signature-roots = /etc/kubestrap/sigstore-roots.pem|" \
            -e "s|^;ct-log-keys = .*|ct-log-keys = /etc/kubestrap/ct-log-keys.pem|" \
            -e "s|^source-dir = .*|source-dir = /etc/kubestrap/pki|" \
            -e "s|^internal-ip = .*|internal-ip = $2|" \
            -e "s|^public-address = .*|public-address = $3|" \
            "$top_srcdir/examples/controller-0.conf" > "$1"
        printf '\n[health]\ntimeout = 30\n' >> "$1"
        prov_etcd_conf >> "$1"
}

# prov_inventory N: the [host] sections of hosts 0..N-1 (controller-I at HOST_IP_I), for a
# host's own config: with them, [etcd] makes one cluster of N members, each host the member
# whose internal-ip is its own.
prov_inventory() {
        local i ip
        for ((i = 0; i < $1; i++)); do
                ip=HOST_IP_$i
                printf '\n[host controller-%s]\naddress = root@%s\ninternal-ip = %s\n' "$i" "${!ip}" "${!ip}"
        done
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
        host_copy_in "$i" "$MIRROR_SIGSTORE/roots.pem" /etc/kubestrap/sigstore-roots.pem || return 1
        host_copy_in "$i" "$MIRROR_SIGSTORE/ct-log-keys.pem" /etc/kubestrap/ct-log-keys.pem ||
                return 1
        for f in "$pki"/*; do host_copy_in "$i" "$f" "/etc/kubestrap/pki/${f##*/}" || return 1; done
        host_copy_in "$i" "$conf" /etc/kubestrap/kubestrap.conf
}

# prov_kubestrap I ARGS...: runs kubestrap in host I with the shipped templates.
prov_kubestrap() {
        local i=$1
        shift
        host_exec "$i" env KUBESTRAP_TEMPLATES=/usr/local/share/kubestrap/templates kubestrap "$@"
}

# prov_fanout_conf OUT WD [PUBLIC]: the operator workstation's config for 'kubestrap fanout' to
# hosts 0..2 (controller-I at HOST_IP_I): the example config pointed at the mirror, the PKI in
# WD/pki, the hosts' ssh key, ssh control sockets in WD, a three-member etcd; public-address
# PUBLIC (default: controller-0's address).
prov_fanout_conf() {
        local out=$1 d=$2 public=${3:-$HOST_IP_0} i ip
        sed -e "s|^base-url = .*|base-url = $MIRROR_EXTRA_URL|" "${PROV_ETCD_SED[@]}" \
            -e "s|^;ca-file = .*|ca-file = $MIRROR_CA|" \
            -e "s|^;signature-roots = .*|signature-roots = $MIRROR_SIGSTORE/roots.pem|" \
            -e "s|^;ct-log-keys = .*|ct-log-keys = $MIRROR_SIGSTORE/ct-log-keys.pem|" \
            -e "s|^source-dir = .*|source-dir = $d/pki|" \
            -e "s|^public-address = .*|public-address = $public|" \
            "$top_srcdir/examples/controller-0.conf" > "$out" || return 1
        cat >> "$out" <<EOF

[health]
timeout = 10

[fanout]
# the key may repeat: its lines are joined with blanks
ssh-options = -F /dev/null -i $HOSTS_KEY -o LogLevel=ERROR -o ConnectTimeout=3
ssh-options = -o StrictHostKeyChecking=no -o UserKnownHostsFile=/dev/null
ssh-options = -o KexAlgorithms=curve25519-sha256 -o ControlPath=$d/cm-%C
EOF
        prov_etcd_conf >> "$out"
        for i in 0 1 2; do
                ip=HOST_IP_$i
                printf '\n[host controller-%s]\naddress = root@%s\ninternal-ip = %s\n' "$i" "${!ip}" "${!ip}" >> "$out"
        done
        chmod 0644 "$out"
}

# prov_fanout_up WD CONF [PUBLIC]: what a fan-out to hosts 0..2 needs: the mirror, a PKI for the
# three addresses (and PUBLIC, the public address: controller-0's by default) in WD/pki, the
# kubestrap binary (and nothing else) in each host, and the workstation's config CONF
# (prov_fanout_conf).
# prov_one_up DIR CONF: host 0 provisioned from the mirror in DIR: a PKI for its address,
# CONF for it, and kubestrap, the config and the PKI copied in (sys-apply, sys-rollback).
prov_one_up() {
        local d=$1
        prov_mirror_up "$d" || return 1
        "$top_srcdir/scripts/make-pki" "$d/pki" "$HOST_IP_0" "$HOST_IP_0" >/dev/null || return 1
        prov_conf "$2" "$HOST_IP_0" "$HOST_IP_0"
        prov_install 0 "$2" "$d/pki"
}

prov_fanout_up() {
        local d=$1 public=${3:-$HOST_IP_0} i
        prov_mirror_up "$d" || return 1
        "$top_srcdir/scripts/make-pki" "$d/pki" "$HOST_IP_0,$HOST_IP_1,$HOST_IP_2" "$public" >/dev/null || return 1
        for i in 0 1 2; do host_copy_in "$i" "$KUBESTRAP" /usr/local/sbin/kubestrap || return 1; done
        prov_fanout_conf "$2" "$d" "$public"
}

# prov_lb_up WD CONF: prov_fanout_up's three controllers behind a fourth host, lb-0 (host 3,
# role = lb), whose address is the cluster's public address (in the API server's SANs).
prov_lb_up() {
        prov_fanout_up "$1" "$2" "$HOST_IP_3" || return 1
        host_copy_in 3 "$KUBESTRAP" /usr/local/sbin/kubestrap || return 1
        printf '\n[host lb-0]\naddress = root@%s\nrole = lb\n' "$HOST_IP_3" >> "$2"
}
