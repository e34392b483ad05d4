#!/bin/bash
# Makes the controller's PKI exactly as "Kubernetes The Hard Way" (the 2021 edition, for
# Kubernetes v1.21), docs/04-certificate-authority.md, does: cfssl with the chapter's CSRs, its
# ca-config.json and, for the API server, its -hostname list (10.32.0.1, the three controllers,
# the public address, 127.0.0.1 and KUBERNETES_HOSTNAMES, which has kubernetes.svc.cluster.local
# but not kubernetes.default.svc.cluster.local). scripts/make-pki then adds what the later
# chapters make (kubeconfigs, encryption config) around these certificates.
# Usage: test/lib/kthw-pki.sh DIR [PUBLIC_ADDRESS] [HOSTNAME_LIST]
#   HOSTNAME_LIST replaces the chapter's -hostname list (to make a deliberately short one).
set -eu
here=$(cd "$(dirname "$0")" && pwd)
dir=$1
KUBERNETES_PUBLIC_ADDRESS=${2:-203.0.113.10}
KUBERNETES_HOSTNAMES=kubernetes,kubernetes.default,kubernetes.default.svc,kubernetes.default.svc.cluster,kubernetes.svc.cluster.local
hostnames=${3:-10.32.0.1,10.240.0.10,10.240.0.11,10.240.0.12,${KUBERNETES_PUBLIC_ADDRESS},127.0.0.1,${KUBERNETES_HOSTNAMES}}
command -v cfssl > /dev/null && command -v cfssljson > /dev/null || {
        echo "kthw-pki.sh: needs cfssl and cfssljson (scripts/deps installs golang-cfssl)" >&2
        exit 77
}
mkdir -p "$dir"
cd "$dir"
umask 077

cat > ca-config.json <<CFG
{
  "signing": {
    "default": {
      "expiry": "8760h"
    },
    "profiles": {
      "kubernetes": {
        "usages": ["signing", "key encipherment", "server auth", "client auth"],
        "expiry": "8760h"
      }
    }
  }
}
CFG

csr() { # FILE CN O OU
        cat > "$1" <<CSR
{
  "CN": "$2",
  "key": {
    "algo": "rsa",
    "size": 2048
  },
  "names": [
    {
      "C": "US",
      "L": "Portland",
      "O": "$3",
      "OU": "$4",
      "ST": "Oregon"
    }
  ]
}
CSR
}

csr ca-csr.json Kubernetes Kubernetes CA
cfssl gencert -initca ca-csr.json 2> /dev/null | cfssljson -bare ca

gencert() { # NAME [HOSTNAMES]
        cfssl gencert \
                -ca=ca.pem \
                -ca-key=ca-key.pem \
                -config=ca-config.json \
                ${2:+-hostname="$2"} \
                -profile=kubernetes \
                "$1-csr.json" 2> /dev/null | cfssljson -bare "$1"
}
csr admin-csr.json admin system:masters "Kubernetes The Hard Way"
gencert admin
csr kube-controller-manager-csr.json system:kube-controller-manager \
        system:kube-controller-manager "Kubernetes The Hard Way"
gencert kube-controller-manager
csr kube-scheduler-csr.json system:kube-scheduler system:kube-scheduler "Kubernetes The Hard Way"
gencert kube-scheduler
csr kubernetes-csr.json kubernetes Kubernetes "Kubernetes The Hard Way"
gencert kubernetes "$hostnames"
csr service-account-csr.json service-accounts Kubernetes "Kubernetes The Hard Way"
gencert service-account
rm -f ./*.csr ./*-csr.json ca-config.json

"$here/../../scripts/make-pki" "$dir" > /dev/null
