#!/bin/bash
# The baseline for bench/run: what a reader of "Kubernetes The Hard Way" types by hand on a
# controller (the seed procedure), as a script, so it can be timed against kubestrap apply.
#
#   bench/baseline.sh BASE_URL CA PKI_DIR ROOT
#
# - one wget for the four binaries, fetched IN TURN (sequentially), as the seed does;
# - the .sha256 sidecars (not in the seed, but the fair thing to compare with), checked with
#   sha256sum -c against a "HEX  NAME" check file;
# - chmod +x, mv into ROOT/usr/local/bin;
# - mkdir -p, copy the PKI into ROOT/var/lib/kubernetes (modes kept: keys stay 0600);
# - the three units, kube-scheduler.yaml and the nginx /healthz site written with heredocs
#   (the seed's text, from test/golden/), "systemctl enable" as its WantedBy= symlinks and the
#   sites-enabled link, both inside ROOT.
# The download lands in ROOT/root (the seed downloads into root's home, then moves).
# Like a reader, nothing is fsynced: the files are in the page cache when this exits.
set -euo pipefail
if [ $# -ne 4 ]; then
        echo "usage: $0 BASE_URL CA PKI_DIR ROOT" >&2
        exit 2
fi
BASE_URL=$1 CA=$2 PKI=$3 ROOT=$4
VERSION=${VERSION:-v1.21.0}
ARCH=${ARCH:-amd64}
# In the seed these come from the instance metadata; controller-0's values:
INTERNAL_IP=${INTERNAL_IP:-10.240.0.10}
KUBERNETES_PUBLIC_ADDRESS=${KUBERNETES_PUBLIC_ADDRESS:-203.0.113.10}
BINS=(kube-apiserver kube-controller-manager kube-scheduler kubectl)
URL=$BASE_URL/$VERSION/bin/linux/$ARCH

mkdir -p "$ROOT/root" "$ROOT/etc/kubernetes/config"
cd "$ROOT/root"

# --- download, verify, install the binaries ---------------------------------------------
wget -q --https-only --ca-certificate="$CA" \
        "$URL/kube-apiserver" \
        "$URL/kube-controller-manager" \
        "$URL/kube-scheduler" \
        "$URL/kubectl"
wget -q --https-only --ca-certificate="$CA" \
        "$URL/kube-apiserver.sha256" \
        "$URL/kube-controller-manager.sha256" \
        "$URL/kube-scheduler.sha256" \
        "$URL/kubectl.sha256"
for b in "${BINS[@]}"; do
        printf '%s  %s\n' "$(cat "$b.sha256")" "$b"
done >SHA256SUMS
sha256sum -c --quiet SHA256SUMS
rm -f SHA256SUMS ./*.sha256

chmod +x kube-apiserver kube-controller-manager kube-scheduler kubectl
mkdir -p "$ROOT/usr/local/bin"
mv kube-apiserver kube-controller-manager kube-scheduler kubectl "$ROOT/usr/local/bin/"

# --- the PKI -----------------------------------------------------------------------------
mkdir -p "$ROOT/var/lib/kubernetes/"
cp --preserve=mode "$PKI/ca.pem" "$PKI/ca-key.pem" "$PKI/kubernetes-key.pem" \
        "$PKI/kubernetes.pem" "$PKI/service-account-key.pem" "$PKI/service-account.pem" \
        "$PKI/encryption-config.yaml" "$ROOT/var/lib/kubernetes/"
cp --preserve=mode "$PKI/kube-controller-manager.kubeconfig" "$ROOT/var/lib/kubernetes/"
cp --preserve=mode "$PKI/kube-scheduler.kubeconfig" "$ROOT/var/lib/kubernetes/"

# --- units and configuration (the seed's heredocs) ---------------------------------------
mkdir -p "$ROOT/etc/systemd/system"
cat <<EOF >"$ROOT/etc/systemd/system/kube-apiserver.service"
[Unit]
Description=Kubernetes API Server
Documentation=https://github.com/kubernetes/kubernetes

[Service]
ExecStart=/usr/local/bin/kube-apiserver \\
  --advertise-address=${INTERNAL_IP} \\
  --allow-privileged=true \\
  --apiserver-count=3 \\
  --audit-log-maxage=30 \\
  --audit-log-maxbackup=3 \\
  --audit-log-maxsize=100 \\
  --audit-log-path=/var/log/audit.log \\
  --authorization-mode=Node,RBAC \\
  --bind-address=0.0.0.0 \\
  --client-ca-file=/var/lib/kubernetes/ca.pem \\
  --enable-admission-plugins=NamespaceLifecycle,NodeRestriction,LimitRanger,ServiceAccount,DefaultStorageClass,ResourceQuota \\
  --etcd-cafile=/var/lib/kubernetes/ca.pem \\
  --etcd-certfile=/var/lib/kubernetes/kubernetes.pem \\
  --etcd-keyfile=/var/lib/kubernetes/kubernetes-key.pem \\
  --etcd-servers=https://10.240.0.10:2379,https://10.240.0.11:2379,https://10.240.0.12:2379 \\
  --event-ttl=1h \\
  --encryption-provider-config=/var/lib/kubernetes/encryption-config.yaml \\
  --kubelet-certificate-authority=/var/lib/kubernetes/ca.pem \\
  --kubelet-client-certificate=/var/lib/kubernetes/kubernetes.pem \\
  --kubelet-client-key=/var/lib/kubernetes/kubernetes-key.pem \\
  --runtime-config='api/all=true' \\
  --service-account-key-file=/var/lib/kubernetes/service-account.pem \\
  --service-account-signing-key-file=/var/lib/kubernetes/service-account-key.pem \\
  --service-account-issuer=https://${KUBERNETES_PUBLIC_ADDRESS}:6443 \\
  --service-cluster-ip-range=10.32.0.0/24 \\
  --service-node-port-range=30000-32767 \\
  --tls-cert-file=/var/lib/kubernetes/kubernetes.pem \\
  --tls-private-key-file=/var/lib/kubernetes/kubernetes-key.pem \\
  --v=2
Restart=on-failure
RestartSec=5

[Install]
WantedBy=multi-user.target
EOF

cat <<EOF >"$ROOT/etc/systemd/system/kube-controller-manager.service"
[Unit]
Description=Kubernetes Controller Manager
Documentation=https://github.com/kubernetes/kubernetes

[Service]
ExecStart=/usr/local/bin/kube-controller-manager \\
  --bind-address=0.0.0.0 \\
  --cluster-cidr=10.200.0.0/16 \\
  --cluster-name=kubernetes \\
  --cluster-signing-cert-file=/var/lib/kubernetes/ca.pem \\
  --cluster-signing-key-file=/var/lib/kubernetes/ca-key.pem \\
  --kubeconfig=/var/lib/kubernetes/kube-controller-manager.kubeconfig \\
  --leader-elect=true \\
  --root-ca-file=/var/lib/kubernetes/ca.pem \\
  --service-account-private-key-file=/var/lib/kubernetes/service-account-key.pem \\
  --service-cluster-ip-range=10.32.0.0/24 \\
  --use-service-account-credentials=true \\
  --v=2
Restart=on-failure
RestartSec=5

[Install]
WantedBy=multi-user.target
EOF

cat <<EOF >"$ROOT/etc/kubernetes/config/kube-scheduler.yaml"
apiVersion: kubescheduler.config.k8s.io/v1beta1
kind: KubeSchedulerConfiguration
clientConnection:
  kubeconfig: "/var/lib/kubernetes/kube-scheduler.kubeconfig"
leaderElection:
  leaderElect: true
EOF

cat <<EOF >"$ROOT/etc/systemd/system/kube-scheduler.service"
[Unit]
Description=Kubernetes Scheduler
Documentation=https://github.com/kubernetes/kubernetes

[Service]
ExecStart=/usr/local/bin/kube-scheduler \\
  --config=/etc/kubernetes/config/kube-scheduler.yaml \\
  --v=2
Restart=on-failure
RestartSec=5

[Install]
WantedBy=multi-user.target
EOF

# "systemctl enable kube-apiserver kube-controller-manager kube-scheduler", offline
mkdir -p "$ROOT/etc/systemd/system/multi-user.target.wants"
for u in kube-apiserver kube-controller-manager kube-scheduler; do
        ln -sfn "/etc/systemd/system/$u.service" \
                "$ROOT/etc/systemd/system/multi-user.target.wants/$u.service"
done

# --- the nginx /healthz proxy ------------------------------------------------------------
cat >kubernetes.default.svc.cluster.local <<EOF
server {
  listen      80;
  server_name kubernetes.default.svc.cluster.local;

  location /healthz {
     proxy_pass                    https://127.0.0.1:6443/healthz;
     proxy_ssl_trusted_certificate /var/lib/kubernetes/ca.pem;
  }
}
EOF
mkdir -p "$ROOT/etc/nginx/sites-available" "$ROOT/etc/nginx/sites-enabled"
mv kubernetes.default.svc.cluster.local "$ROOT/etc/nginx/sites-available/kubernetes.default.svc.cluster.local"
ln -sfn /etc/nginx/sites-available/kubernetes.default.svc.cluster.local \
        "$ROOT/etc/nginx/sites-enabled/kubernetes.default.svc.cluster.local"
