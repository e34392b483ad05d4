#!/bin/bash
# System test: 'kubestrap cloud-init' user-data is valid per cloud-init's own schema checker
# (Debian's cloud-init package, unpacked), and a booted host that has only what that user-data
# writes, plus the shipped first-boot unit enabled, provisions itself at its next boot.
set -eu
. "${top_srcdir:-$(dirname "$0")/..}/test/lib/system.sh"
UNIT=$top_builddir/units/kubestrap-firstboot.service
[ -f "$UNIT" ] || skip_all "$UNIT is not built"
sys_begin 1 ks-fb
IP=$HOST_IP_0
prov_mirror_up "$wd" || tap_bail "mirror did not start"
"$top_srcdir/scripts/make-pki" "$wd/pki" "$IP" "$IP" >/dev/null
conf=$wd/cluster.conf
sed -e "s|^base-url = .*|base-url = $MIRROR_EXTRA_URL|" -e "s|^;ca-file = .*|ca-file = $MIRROR_CA|" \
    -e "s|^source-dir = .*|source-dir = $wd/pki|" -e "s|^public-address = .*|public-address = $IP|" \
    -e "s|^internal-ip = .*|internal-ip = auto|" \
    "$top_srcdir/examples/controller-0.conf" > "$conf"
printf '\n[health]\ntimeout = 30\n\n[host controller-0]\naddress = root@%s\ninternal-ip = %s\n' "$IP" "$IP" >> "$conf"
chmod 0644 "$conf"

ud=$wd/user-data
"$KUBESTRAP" -c "$conf" --host controller-0 cloud-init > "$ud"
tap_is "$?" 0 "cloud-init user-data is written"
tap_is "$(head -n 1 "$ud")" "#cloud-config" "it starts with #cloud-config"
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
        sed 's/permissions: .0600./permissions: [0600]/' "$ud" > "$wd/broken"
        out=$(schema "$wd/broken") && rc=0 || rc=$?
        tap_isnt_zero() { if [ "$1" != 0 ]; then tap_pass "$2"; else tap_fail "$2"; fi; }
        tap_isnt_zero "$rc" "the same checker rejects a broken variant (it really checks)"
else
        tap_skip "cloud-init schema accepts the user-data" "cloud-init package not downloadable here"
        tap_skip "and says so" "-"
        tap_skip "the same checker rejects a broken variant" "-"
fi

# The host gets what cloud-init would write (write_files), the binary and the shipped unit.
host_copy_in 0 "$KUBESTRAP" /usr/local/sbin/kubestrap
host_exec 0 mkdir -p /usr/local/lib/systemd/system /usr/local/share/kubestrap/templates
host_copy_in 0 "$UNIT" /usr/local/lib/systemd/system/kubestrap-firstboot.service
for t in "$top_srcdir"/templates/*; do host_copy_in 0 "$t" "/usr/local/share/kubestrap/templates/${t##*/}"; done
awk '/^  - path: /{p=$3} /^    permissions: /{m=$2; gsub("\047", "", m)} /^    content: /{print p, m, $2}' "$ud" |
while read -r path mode content; do
        printf '%s' "$content" | base64 -d > "$wd/f"
        chmod "$mode" "$wd/f"
        host_exec 0 mkdir -p "${path%/*}"
        host_copy_in 0 "$wd/f" "$path"
done
tap_is "$(host_exec 0 stat -c %a /etc/kubestrap/pki/kubernetes-key.pem)" 600 "the key landed 0600"
# runcmd's enable (the --now part would start it at once; a reboot shows the boot path)
host_exec 0 systemctl daemon-reload
host_exec 0 systemctl enable kubestrap-firstboot.service >/dev/null 2>&1
host_reboot 0
ok=0
for _ in $(seq 200); do
        [ "$(curl -s -o /dev/null -w '%{http_code}' -H 'Host: kubernetes.default.svc.cluster.local' "http://$IP/healthz")" = 200 ] && { ok=1; break; }
        sleep 0.1
done
tap_is "$ok" 1 "the host provisioned itself at boot: its health check answers"
tap_is "$(host_exec 0 systemctl is-active kubestrap-firstboot.service)" active "the first-boot unit ran and succeeded"
tap_ok "it left its marker" host_exec 0 test -e /var/lib/kubestrap/firstboot.done
tap_like "$(host_exec 0 grep -o -- '--advertise-address=[0-9.]*' /etc/systemd/system/kube-apiserver.service)" \
        "--advertise-address=$IP" "with the host's internal-ip from the inventory"
host_reboot 0
tap_is "$(host_exec 0 systemctl show -p ConditionResult --value kubestrap-firstboot.service)" no \
        "on the next boot the first-boot unit does not run again"
for _ in $(seq 100); do host_exec 0 systemctl is-active -q kube-apiserver.service && break; sleep 0.1; done
tap_is "$(host_exec 0 systemctl is-active kube-apiserver.service)" active "and the control plane comes up by itself"

tap_done
