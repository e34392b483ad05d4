#!/bin/bash
# System test: 'kubestrap cloud-init' user-data is valid per cloud-init's own schema checker
# (Debian's cloud-init package, unpacked on this machine), and the real cloud-init, booting a
# host without kubestrap with that user-data (carrying kubestrap's .deb, --deb) as its NoCloud
# seed, provisions it: cloud-init's systemd stages run at boot, write_files puts the config,
# PKI and package in place with their modes (gz+b64), runcmd installs the package with apt-get
# and starts its first-boot unit, which runs kubestrap apply once.
# The hosts boot from a base with cloud-init in it (HOSTS_EXTRA_PACKAGES, its own cached base;
# test/HOSTS.md); without a mirror to build that base, the boot checks are skipped.
set -eu
. "${top_srcdir:-$(dirname "$0")/../..}/test/lib/system.sh"
. "$top_srcdir/test/lib/deb.sh"
# the package the host installs from its user-data: built once per run (sys-deb built it)
if ! command -v dpkg-buildpackage >/dev/null || ! command -v dh >/dev/null; then
        skip_all "dpkg-buildpackage or debhelper is not installed (scripts/deps)"
fi
deb_build || { echo "Bail out! the package did not build: $DEB_WHY"; exit 1; }
# python3-cffi-backend: python3-cryptography (for cloud-init) needs it through a virtual package,
# which debootstrap does not resolve
HOSTS_EXTRA_PACKAGES="cloud-init python3-cffi-backend"
no_ci=''
if [ "${KS_SYSTEM_TESTS:-}" != skip ] && [ "$(id -u)" = 0 ] && command -v systemd-nspawn >/dev/null &&
        ! hosts_base; then
        no_ci="no hosts' base with cloud-init could be built (no Debian mirror?)"
        HOSTS_EXTRA_PACKAGES=''
fi
sys_begin 1 ks-fb
IP=$HOST_IP_0
prov_mirror_up "$wd" || tap_bail "mirror did not start"
"$top_srcdir/scripts/make-pki" "$wd/pki" "$IP" "$IP" >/dev/null
conf=$wd/cluster.conf
sed -e "s|^base-url = .*|base-url = $MIRROR_EXTRA_URL|" -e "s|^;ca-file = .*|ca-file = $MIRROR_CA|" \
    -e "s|^;signature-roots = .*|signature-roots = $MIRROR_SIGSTORE/roots.pem|" \
    -e "s|^;ct-log-keys = .*|ct-log-keys = $MIRROR_SIGSTORE/ct-log-keys.pem|" \
    -e "s|^source-dir = .*|source-dir = $wd/pki|" -e "s|^public-address = .*|public-address = $IP|" \
    -e "s|^internal-ip = .*|internal-ip = auto|" "${PROV_ETCD_SED[@]}" \
    "$top_srcdir/examples/controller-0.conf" > "$conf"
printf '\n[health]\ntimeout = 30\n\n[host controller-0]\naddress = root@%s\ninternal-ip = %s\n' "$IP" "$IP" >> "$conf"
prov_etcd_conf >> "$conf"
chmod 0644 "$conf"

ud=$wd/user-data
"$KUBESTRAP" -c "$conf" --host controller-0 cloud-init --deb "$DEB" > "$ud" 2> "$wd/ud.err"
tap_is "$?" 0 "cloud-init user-data with the package is written"
tap_like "$(cat "$wd/ud.err")" "above EC2's limit of 16384 bytes" "it warns that it is too large for EC2"
tap_is "$(head -n 1 "$ud")" "#cloud-config" "it starts with #cloud-config"
tap_is "$(grep -c '^    encoding: gz+b64$' "$ud")" "$(grep -c '^  - path: ' "$ud")" "every entry is gz+b64"
tap_like "$(grep -c '^  - path: /etc/kubestrap/pki/' "$ud")" '^(9|1[0-2])$' "it carries the PKI"
tap_like "$(grep -A2 'path: /etc/kubestrap/pki/ca-key.pem' "$ud")" "permissions: '0600'" "keys are written 0600"

# cloud-init's own validator, from Debian's package unpacked (not installed on this machine)
ci=/var/cache/kubestrap-test/cloud-init
if [ ! -x "$ci/usr/bin/cloud-init" ]; then
        rm -rf "$ci.tmp" && mkdir -p "$ci.tmp"
        (cd "$ci.tmp" && apt-get download cloud-init >/dev/null 2>&1 && dpkg -x cloud-init_*.deb . && rm -f ./*.deb) \
                && mv "$ci.tmp" "$ci" || rm -rf "$ci.tmp"
fi
if [ -x "$ci/usr/bin/cloud-init" ]; then
        schema() { PYTHONPATH=$ci/usr/lib/python3/dist-packages /usr/bin/python3 "$ci/usr/bin/cloud-init" schema -c "$1" 2>&1; }
        out=$(schema "$ud") && rc=0 || rc=$?
        tap_is "$rc" 0 "cloud-init schema accepts the user-data"
        tap_like "$out" "^Valid cloud-config" "and says so"
        "$KUBESTRAP" -c "$conf" --host controller-0 cloud-init > "$wd/ud-plain"
        out=$(schema "$wd/ud-plain") && rc=0 || rc=$?
        tap_is "$rc" 0 "and the user-data without the package"
        "$KUBESTRAP" -c "$conf" cloud-init --apt-source 'deb [signed-by=/usr/share/keyrings/kubestrap.gpg] https://packages.invalid/debian bookworm main' > "$wd/ud-apt"
        out=$(schema "$wd/ud-apt") && rc=0 || rc=$?
        tap_is "$rc" 0 "and the one that installs kubestrap from a repository (--apt-source)"
        sed 's/permissions: .0600./permissions: [0600]/' "$ud" > "$wd/broken"
        out=$(schema "$wd/broken") && rc=0 || rc=$?
        tap_isnt_zero() { if [ "$1" != 0 ]; then tap_pass "$2"; else tap_fail "$2"; fi; }
        tap_isnt_zero "$rc" "the same checker rejects a broken variant (it really checks)"
else
        tap_skip "cloud-init schema accepts the user-data" "cloud-init package not downloadable here"
        tap_skip "and says so" "-"
        tap_skip "and the user-data without the package" "-"
        tap_skip "and the one that installs kubestrap from a repository (--apt-source)" "-"
        tap_skip "the same checker rejects a broken variant" "-"
fi

# The booted host stands for a stock cloud image (Debian with cloud-init): no kubestrap in it;
# cloud-init's NoCloud seed brings everything, the package included, at the next boot.
if [ -n "$no_ci" ]; then
        tap_skip "the real cloud-init provisions a host from the user-data at boot" "$no_ci"
        tap_done
fi

# what write_files should leave: "path mode sha256" per entry, decoded here only to compare
awk '/^  - path: /{p=$3} /^    permissions: /{m=$2; gsub("\047", "", m)} /^    content: /{print p, m, $2}' "$ud" |
while read -r path mode content; do
        printf '%s %s %s\n' "$path" "${mode#0}" "$(printf '%s' "$content" | base64 -d | gzip -dc | sha256sum | cut -d' ' -f1)"
done > "$wd/want"
mapfile -t paths < <(cut -d' ' -f1 "$wd/want")
n=$(wc -l < "$wd/want")
# shellcheck disable=SC2016 # expanded by the host's sh
have() { host_exec 0 sh -c 'for p; do printf "%s %s %s\n" "$p" "$(stat -c %a "$p")" "$(sha256sum < "$p" | cut -d" " -f1)"; done' sh "$@" 2>&1; }

# ci_diag: what cloud-init and the first-boot unit did at this boot (after a failed check)
ci_diag() {
        tap_diag "cloud-init status --long:"$'\n'"$(host_exec 0 cloud-init status --long 2>&1)"
        tap_diag "units:"$'\n'"$(host_exec 0 systemctl list-units --all --no-legend --plain 'cloud-*' \
                kubestrap-firstboot.service 2>&1)"
        tap_diag "journal of cloud-final and the first-boot unit (this boot):"$'\n'"$(host_exec 0 journalctl -b \
                --no-pager -o short-monotonic -u cloud-final -u kubestrap-firstboot 2>&1 | grep -v ': [|+]' | tail -n 30)"
        tap_diag "/var/log/cloud-init-output.log:"$'\n'"$(host_exec 0 grep -v '^[|+]' /var/log/cloud-init-output.log 2>&1 | tail -n 30)"
        tap_diag "warnings in /var/log/cloud-init.log:"$'\n'"$(host_exec 0 grep -E 'WARNING|ERROR' /var/log/cloud-init.log 2>&1 | tail -n 20)"
}

# At the first boot, with no seed, ds-identify finds no datasource and cloud-init stays off.
tap_is "$(host_exec 0 cloud-init status 2>&1 | head -n 1) $(host_exec 0 test -e /etc/kubestrap && echo exists)" \
        "status: disabled " "before the seed, cloud-init is off and nothing of kubestrap's config is there"
tap_is "$(host_exec 0 sh -c 'command -v kubestrap; ls /lib/systemd/system/kubestrap-firstboot.service 2>/dev/null' || true)" "" \
        "and kubestrap is not installed"

# The seed: the user-data as generated, a new instance-id, and the image's cloud.cfg.d drop-in.
host_exec 0 mkdir -p /var/lib/cloud/seed/nocloud
chmod 0600 "$ud"
host_copy_in 0 "$ud" /var/lib/cloud/seed/nocloud/user-data
printf 'instance-id: ks-fb-%s\nlocal-hostname: controller-0\n' "$(cat /proc/sys/kernel/random/uuid)" > "$wd/meta-data"
host_copy_in 0 "$wd/meta-data" /var/lib/cloud/seed/nocloud/meta-data
# NoCloud only (no probing for other clouds); the harness sets up the network; this minbase
# image has no en_US.UTF-8, cloud-init's default locale on Debian, which its locale module
# would fail to set
printf 'datasource_list: [NoCloud, None]\nnetwork: {config: disabled}\nlocale: C.UTF-8\n' > "$wd/ci.cfg"
host_copy_in 0 "$wd/ci.cfg" /etc/cloud/cloud.cfg.d/90-kubestrap-test.cfg
# the boot runs cloud-init-local, cloud-init, cloud-config and cloud-final; runcmd starts the
# first-boot unit, and the boot is over when it has run (bounded by HOSTS_BOOT_TIMEOUT)
fails=$TAP_FAILED
if host_reboot 0; then tap_pass "the host boots with the seed"; else tap_fail "the host boots with the seed"; fi
tap_like "$(host_exec 0 cloud-init status --long 2>&1)" '^status: done$' "cloud-init ran at boot and is done"
tap_is "$(host_exec 0 python3 -c 'import json; r = json.load(open("/run/cloud-init/result.json"))["v1"]
print(r["datasource"].split()[0], "errors:", len(r["errors"]))' 2>&1)" "DataSourceNoCloud errors: 0" \
        "from the NoCloud seed, with no errors"
tap_is "$(have "${paths[@]}")" "$(cat "$wd/want")" "every write_files entry is on the host, byte for byte, with its mode ($n files)"
tap_is "$(host_exec 0 grep -cE "Writing to /(etc|var/lib)/kubestrap/.* - wb: \[[0-7]+\]" /var/log/cloud-init.log 2>&1)" "$n" \
        "cloud-init's log says it wrote them"
tap_is "$(host_exec 0 stat -c %a /etc/kubestrap/pki/kubernetes-key.pem 2>&1)" 600 "the key is 0600"
tap_is "$(host_exec 0 dpkg-query -W -f='${Status} ${Version}' kubestrap 2>&1)" "install ok installed 0.1.0" \
        "runcmd installed the carried package"
tap_is "$(host_exec 0 systemctl show -p FragmentPath --value kubestrap-firstboot.service 2>&1)" \
        /lib/systemd/system/kubestrap-firstboot.service "the first-boot unit is the package's"
tap_is "$(host_exec 0 systemctl is-enabled kubestrap-firstboot.service 2>&1)" enabled "runcmd enabled the first-boot unit"
ok=0
for _ in $(seq 200); do
        [ "$(curl -s -o /dev/null -w '%{http_code}' -H 'Host: kubernetes.default.svc.cluster.local' "http://$IP/healthz")" = 200 ] && { ok=1; break; }
        sleep 0.1
done
tap_is "$ok" 1 "the host provisioned itself at boot: its health check answers through nginx"
tap_is "$(host_exec 0 systemctl is-active kubestrap-firstboot.service)" active "the first-boot unit ran and succeeded"
tap_ok "it left its marker" host_exec 0 test -e /var/lib/kubestrap/firstboot.done
tap_like "$(host_exec 0 grep -o -- '--advertise-address=[0-9.]*' /etc/systemd/system/kube-apiserver.service)" \
        "--advertise-address=$IP" "with the host's internal-ip from the inventory"
[ "$TAP_FAILED" = "$fails" ] || ci_diag

conf_stamp=$(host_exec 0 stat -c '%Y %Z' /etc/kubestrap/kubestrap.conf) || true
fails=$TAP_FAILED
if host_reboot 0; then tap_pass "it boots again"; else tap_fail "it boots again"; fi
tap_is "$(host_exec 0 systemctl show -p ConditionResult --value kubestrap-firstboot.service)" no \
        "on the next boot the first-boot unit does not run again"
for _ in $(seq 100); do host_exec 0 systemctl is-active -q kube-apiserver.service && break; sleep 0.1; done
tap_is "$(host_exec 0 systemctl is-active kube-apiserver.service)" active "and the control plane comes up by itself"
# 7d4958e8...: systemd's "Starting UNIT..." (not logged for a unit skipped by its condition);
# the journal is persistent, so it covers the three boots
tap_is "$(host_exec 0 journalctl -F _BOOT_ID | wc -l) boots, started $(host_exec 0 journalctl -o cat \
        MESSAGE_ID=7d4958e842da4a758f6c1cdc7b36dcc5 UNIT=kubestrap-firstboot.service | wc -l)" \
        "3 boots, started 1" "over all boots, the first-boot unit started once"
tap_like "$(host_exec 0 cloud-init status 2>&1)" '^status: done$' "cloud-init ran again at this boot"
tap_is "$(host_exec 0 stat -c '%Y %Z' /etc/kubestrap/kubestrap.conf)" "$conf_stamp" \
        "but as the same instance: it did not write the files again"
[ "$TAP_FAILED" = "$fails" ] || ci_diag

tap_done
