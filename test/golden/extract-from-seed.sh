#!/bin/bash
# Regenerates the golden files from the seed procedure (shared/seeds/004_*.txt) by running
# its own heredocs through bash with controller-0's values, so the golden text is the seed's,
# not a copy typed by hand. Usage: test/golden/extract-from-seed.sh SEED OUTDIR [ETCD-CHAPTER]
# ETCD-CHAPTER: the v1.21 edition's docs/07-bootstrapping-etcd.md (KTHW commit 79a3f79), whose
# etcd.service heredoc becomes etcd.service, with controller-0's ETCD_NAME.
set -eu
seed=$1 out=$2 etcd_chapter=${3:-}
INTERNAL_IP=10.240.0.10
KUBERNETES_PUBLIC_ADDRESS=203.0.113.10
ETCD_NAME=controller-0
export INTERNAL_IP KUBERNETES_PUBLIC_ADDRESS ETCD_NAME
extract() { # $1: the heredoc's target as written in the seed, $2: output name, $3: other file
        awk -v target="$1" '
                index($0, "cat") == 1 && index($0, target) { on = 1; print "cat <<EOF"; next }
                on && $0 == "EOF" { print "EOF"; exit }
                on { print }' "${3:-$seed}" > "$out/$2.sh"
        [ -s "$out/$2.sh" ] || { echo "no heredoc for $1 in $seed" >&2; exit 1; }
        bash "$out/$2.sh" > "$out/$2"
        rm -f "$out/$2.sh"
}
extract /etc/systemd/system/kube-apiserver.service kube-apiserver.service
extract /etc/systemd/system/kube-controller-manager.service kube-controller-manager.service
extract /etc/systemd/system/kube-scheduler.service kube-scheduler.service
extract /etc/kubernetes/config/kube-scheduler.yaml kube-scheduler.yaml
extract "> kubernetes.default.svc.cluster.local" kubernetes.default.svc.cluster.local
# The load balancer's gcloud commands (run from the workstation): the seed's block from the
# health check to the forwarding rule, the public address filled in as above.
{
        printf '{\n'
        awk '/^  gcloud compute http-health-checks create/ { on = 1 }
             on { print }
             on && fw && !/\\$/ { exit }
             /forwarding-rules create/ { fw = 1 }' "$seed" |
                sed "s/\${KUBERNETES_PUBLIC_ADDRESS}/$KUBERNETES_PUBLIC_ADDRESS/"
        printf '}\n'
} > "$out/gcloud-load-balancer.sh"
grep -q 'forwarding-rules create' "$out/gcloud-load-balancer.sh" ||
        { echo "no load balancer block in $seed" >&2; exit 1; }
if [ -n "$etcd_chapter" ]; then
        extract /etc/systemd/system/etcd.service etcd.service "$etcd_chapter"
fi
