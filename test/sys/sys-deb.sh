#!/bin/bash
# System test: the Debian package. dpkg-buildpackage builds it from the distributed tree,
# lintian finds nothing but what debian/kubestrap.lintian-overrides explains, and on a booted
# host without kubestrap 'apt-get install ./kubestrap_*.deb' installs the program, templates,
# manual pages, completion, /etc/kubestrap's example (a conffile) and the first-boot unit
# (not enabled, not started); the host then provisions itself with the packaged kubestrap
# against the test mirror, and a second apply changes nothing.
set -eu
. "${top_srcdir:-$(dirname "$0")/../..}/test/lib/system.sh"
. "$top_srcdir/test/lib/deb.sh"
# a system test: skipped as a whole where the others are (the package is built and checked in
# the main pass; a pass that skips the hosts skips it too)
[ "${KS_SYSTEM_TESTS:-}" != skip ] || skip_all "KS_SYSTEM_TESTS=skip (they ran in the main pass)"

# the package first (no hosts, no lock needed): a failed build is a failure, not a skip
if ! command -v dpkg-buildpackage >/dev/null || ! command -v dh >/dev/null; then
        skip_all "dpkg-buildpackage or debhelper is not installed (scripts/deps)"
fi
deb_build
tap_is "$DEB_WHY" "" "dpkg-buildpackage -us -uc -b builds the package"
[ -n "$DEB" ] || tap_bail "no package to test"
contents=$(dpkg-deb -c "$DEB" | awk '{ print $6 }' | sed 's|^\./|/|')
for f in /usr/sbin/kubestrap /usr/share/kubestrap/templates/kube-apiserver.service \
        /usr/share/kubestrap/templates/nginx-healthz.conf /usr/share/man/man8/kubestrap.8.gz \
        /usr/share/man/man5/kubestrap.conf.5.gz /usr/share/bash-completion/completions/kubestrap /usr/share/zsh/vendor-completions/_kubestrap \
        /etc/kubestrap/kubestrap.conf.example /lib/systemd/system/kubestrap-firstboot.service \
        /usr/share/doc/kubestrap/copyright; do
        tap_is "$(printf '%s\n' "$contents" | grep -x -c -- "$f")" 1 "the package holds $f"
done
tap_is "$(dpkg-deb --ctrl-tarfile "$DEB" | tar -xO ./conffiles)" "/etc/kubestrap/kubestrap.conf.example" \
        "the example is a conffile (the operator's kubestrap.conf is theirs)"
tap_like "$(dpkg-deb -f "$DEB" Depends)" "libarchive13" "it depends on libarchive, which is opened with dlopen"
tap_like "$(dpkg-deb -f "$DEB" Depends)" "libcurl4" "and on libcurl, also opened with dlopen"
tap_like "$(dpkg-deb -f "$DEB" Depends)" "libjson-c5" "and on the linked libraries (dpkg-shlibdeps)"
tap_like "$(dpkg-deb -c "$DEB")" "/usr/share/kubestrap/sigstore/roots.pem" "it ships the Sigstore roots"
if command -v lintian >/dev/null; then
        out=$(lintian --pedantic -I "$DEB_DIR"/kubestrap_*.changes 2>&1 | grep -v 'running with root privileges') && rc=0 || rc=$?
        tap_is "$out" "" "lintian --pedantic -I: nothing beyond the explained overrides"
else
        tap_skip "lintian --pedantic -I: nothing beyond the explained overrides" "lintian is not installed"
fi

sys_begin 1 ks-deb
IP=$HOST_IP_0
tap_is "$(host_exec 0 sh -c 'command -v kubestrap || echo none')" none "the host has no kubestrap"
host_copy_in 0 "$DEB" "/root/${DEB##*/}"
out=$(host_exec 0 env DEBIAN_FRONTEND=noninteractive apt-get install -y -q \
        "/root/${DEB##*/}" 2>&1) && rc=0 || rc=$?
tap_is "$rc" 0 "apt-get install ./${DEB##*/} on the host (its dependencies are in the base)"
[ "$rc" = 0 ] || tap_diag "$out"
tap_is "$(host_exec 0 dpkg-query -W -f='${Status}' kubestrap)" "install ok installed" "dpkg has it installed"
tap_like "$(host_exec 0 kubestrap --version 2>&1)" "^kubestrap 0\.1\.0" "/usr/sbin/kubestrap runs"
tap_is "$(host_exec 0 systemctl is-enabled kubestrap-firstboot.service 2>&1)" disabled \
        "the first-boot unit is there, not enabled: installing provisions nothing"
tap_is "$(host_exec 0 test -e /etc/kubestrap/kubestrap.conf && echo yes || echo no)" no \
        "no configuration is made up: only the example"
tap_is "$(host_exec 0 bash -c '. /usr/share/bash-completion/completions/kubestrap;
        COMP_WORDS=(kubestrap ap); COMP_CWORD=1; _kubestrap; echo "${COMPREPLY[*]}"')" apply \
        "the installed completion: kubestrap ap<TAB> is apply"

# the operator's part: the configuration (the example, pointed at the mirror), the PKI and the
# mirror's CA; then the packaged kubestrap with its packaged templates (no KUBESTRAP_TEMPLATES)
prov_mirror_up "$wd" || tap_bail "mirror did not start"
"$top_srcdir/scripts/make-pki" "$wd/pki" "$IP" "$IP" >/dev/null
prov_conf "$wd/kubestrap.conf" "$IP" "$IP"
host_exec 0 mkdir -p /etc/kubestrap/pki
host_copy_in 0 "$MIRROR_CA" /etc/kubestrap/mirror-ca.pem
for f in "$wd"/pki/*; do host_copy_in 0 "$f" "/etc/kubestrap/pki/${f##*/}"; done
host_copy_in 0 "$wd/kubestrap.conf" /etc/kubestrap/kubestrap.conf
out=$(host_exec 0 env -u KUBESTRAP_TEMPLATES kubestrap apply 2>&1) && rc=0 || rc=$?
tap_is "$rc" 0 "the installed kubestrap apply provisions the host"
[ "$rc" = 0 ] || tap_diag "$out"
tap_is "$(curl -s -o /dev/null -w '%{http_code}' -H 'Host: kubernetes.default.svc.cluster.local' "http://$IP/healthz")" 200 \
        "its health check answers through nginx"
tap_is "$(host_exec 0 systemctl is-active kube-apiserver.service kube-controller-manager.service kube-scheduler.service | sort -u)" \
        active "the three units run"
out=$(host_exec 0 env -u KUBESTRAP_TEMPLATES kubestrap --output json apply 2>&1 | tail -n 1)
tap_like "$out" '"changed":0,' "a second apply changes nothing"
# removing the package keeps what the operator and kubestrap put there
host_exec 0 env DEBIAN_FRONTEND=noninteractive apt-get purge -y -q kubestrap >/dev/null 2>&1
tap_is "$(host_exec 0 sh -c 'ls /usr/sbin/kubestrap /etc/kubestrap/kubestrap.conf.example /etc/kubestrap/kubestrap.conf 2>&1 | sed "s/.*cannot access .\(.*\).: .*/gone \1/"')" \
        "gone /usr/sbin/kubestrap
gone /etc/kubestrap/kubestrap.conf.example
/etc/kubestrap/kubestrap.conf" "purge removes the program and the example, not the operator's configuration"
tap_is "$(host_exec 0 systemctl is-active kube-apiserver.service)" active "nor the control plane it installed"
tap_done
