#!/bin/bash
# Integration: the front-end load balancer. 'kubestrap lb --print gcloud' prints the seed's
# commands byte for byte for the seed's values (test/golden/gcloud-load-balancer.sh, extracted
# from the seed), follows the configuration, and refuses values that are not one shell word.
set -eu
. "${top_srcdir:-$(dirname "$0")/../..}/test/lib/common.sh"
ks_setup
G=$top_srcdir/test/golden

# the seed's inventory: three controllers, and a load balancer that is none of them
for i in 0 1 2; do
        printf '\n[host controller-%s]\naddress = root@10.240.0.1%s\ninternal-ip = 10.240.0.1%s\n' "$i" "$i" "$i" >> "$CONF"
done
printf '\n[host lb-0]\naddress = root@10.240.0.20\nrole = lb\n' >> "$CONF"
cp "$CONF" "$WORK/inventory.conf"

# --- lb --print gcloud ---------------------------------------------------------------------
ks -c "$CONF" lb --print gcloud
tap_is "$RC" 0 "lb --print gcloud succeeds"
printf '%s\n' "$OUT" > "$WORK/gcloud.sh"
tap_ok "the seed's gcloud commands, byte for byte" cmp "$G/gcloud-load-balancer.sh" "$WORK/gcloud.sh"
tap_ok "what it prints is valid shell" bash -n "$WORK/gcloud.sh"

ks_set lb network prod-net
ks_set lb region europe-west1
ks_set cluster public-address 198.51.100.7
ks -c "$CONF" lb --print gcloud
tap_is "$RC" 0 "lb --print gcloud with other values"
tap_like "$OUT" '^    --network prod-net \\$' "the network is the configured one"
tap_like "$OUT" '^  gcloud compute firewall-rules create prod-net-allow-health-check \\$' "so is the firewall rule's name"
tap_like "$OUT" '^    --region europe-west1 \\$' "a configured region replaces gcloud's own"
tap_like "$OUT" '^    --address 198.51.100.7 \\$' "the public address"
tap_like "$OUT" '^   --instances controller-0,controller-1,controller-2$' "the instances are the inventory's controllers, not the lb host"
tap_unlike "$OUT" 'lb-0' "the lb host is not an instance"

# values that would break a shell line are refused with the key named, nothing printed
cp "$WORK/inventory.conf" "$CONF"
ks_set lb network 'net;reboot'
ks -c "$CONF" lb --print gcloud
tap_is "$RC" 2 "a network with ';': exit 2"
tap_like "$ERR" "\\[lb\\] network: invalid value 'net;reboot'" "the error names [lb] network"
tap_is "$OUT" "" "nothing printed"
cp "$WORK/inventory.conf" "$CONF"
ks_set lb region '$(id)'
ks -c "$CONF" lb --print gcloud
tap_is "$RC" 2 "a region with \$(...): exit 2"
tap_like "$ERR" "\\[lb\\] region: invalid value" "the error names [lb] region"
cp "$WORK/inventory.conf" "$CONF"
ks_set cluster public-address '`id`'
ks -c "$CONF" lb --print gcloud
tap_is "$RC" 2 "a public address with backquotes: exit 2"
tap_like "$ERR" "\\[cluster\\] public-address: invalid value" "the error names [cluster] public-address"
cp "$WORK/inventory.conf" "$CONF"
printf '\n[host lb-1]\naddress = root@10.240.0.21\nrole = balancer\n' >> "$CONF"
ks -c "$CONF" lb --print gcloud
tap_is "$RC" 2 "an unknown role: exit 2"
tap_like "$ERR" "\\[host lb-1\\] role: invalid value 'balancer': expected controller or lb" "the error names the host's role"

# without controllers in the inventory there is no target pool to fill
ks_write_config
ks -c "$CONF" lb --print gcloud
tap_is "$RC" 2 "no controllers in the inventory: exit 2"
tap_like "$ERR" "no \\[host NAME\\] with role = controller" "the error says the instances come from the inventory"
ks -c "$CONF" lb --print nginx
tap_is "$RC" 2 "--print takes only gcloud"
ks -c "$CONF" lb
tap_is "$RC" 2 "lb without --print is a usage error"

# --- a host with role = lb: haproxy in front of the inventory's controllers ----------------
if ! command -v haproxy >/dev/null; then
        tap_skip "the lb host's haproxy.cfg" "haproxy is not installed (scripts/deps)"
        tap_done
        exit 0
fi
cp "$WORK/inventory.conf" "$CONF"
ks -c "$CONF" --root "$ROOT" --host lb-0 apply
tap_is "$RC" 0 "apply on the lb host (--root)"
[ "$RC" = 0 ] || tap_diag "$ERR"
H=$ROOT/etc/haproxy/haproxy.cfg
tap_is "$(grep -c '^	server ' "$H")" 3 "haproxy.cfg has one server per controller of the inventory"
tap_like "$(cat "$H")" '	server controller-1 10.240.0.11:6443$' "each at its internal-ip and the API port"
tap_like "$(cat "$H")" 'option httpchk GET /readyz' "checked on /readyz"
tap_like "$(cat "$H")" 'default-server inter 1000 fall 2 rise 2 check check-ssl verify none observe layer4' "over TLS, every check-interval, and watching clients' connections"
tap_ok "haproxy itself accepts it (haproxy -c)" haproxy -c -q -f "$H"
tap_is "$(cd "$ROOT" && find . -type f ! -path './var/lib/kubestrap/*' | sort | tr '\n' ' ')" \
        "./etc/haproxy/haproxy.cfg ./var/lib/kubernetes/ca.pem " \
        "the lb host gets haproxy.cfg and the cluster CA, no Kubernetes binary, unit or key"
ks -c "$CONF" --root "$ROOT" --host lb-0 apply
tap_like "$OUT" 'apply: 0 changed' "a second apply on the lb host changes nothing"

# a template haproxy refuses is never published: the staged file is checked first
before=$(ks_stamp "$H")
T=$ROOT/etc/kubestrap/templates
mkdir -p "$T"
sed 's/balance roundrobin/balance nonsense/' "$top_srcdir/templates/haproxy.cfg" > "$T/haproxy.cfg"
chmod 0644 "$T/haproxy.cfg"
ks -c "$CONF" --root "$ROOT" --host lb-0 apply
tap_is "$RC" 1 "a broken haproxy template: apply fails"
tap_like "$ERR" "haproxy rejects the configuration staged for $H \\(haproxy -c -f /dev/stdin\\)" "the error names the file and haproxy -c"
tap_like "$ERR" "balance only supports" "and says what haproxy found wrong"
tap_is "$(ks_stamp "$H")" "$before" "the published haproxy.cfg is untouched"
tap_is "$(find "$ROOT/etc/haproxy" -name '.*' | wc -l)" 0 "no staging file is left behind"
rm -f "$T/haproxy.cfg"

# the bundle for a load balancer (fanout sends one to each lb host) has the cluster CA, no key
ks -c "$CONF" --host lb-0 fetch --bundle "$WORK/lb.ks"
tap_is "$RC" 0 "a bundle for the lb host"
list=$(tar -tf "$WORK/lb.ks")
tap_like "$list" '/pki/ca\.pem$' "it carries the cluster CA"
tap_unlike "$list" '[-]key\.pem|kubeconfig|encryption-config' "and no key, kubeconfig or encryption config"
ks -c "$CONF" --host controller-0 fetch --bundle "$WORK/ctl.ks"
tap_like "$(tar -tf "$WORK/ctl.ks")" '/pki/ca-key\.pem$' "a controller's bundle still has its keys"

# the same inventory with [etcd]: the controllers run etcd, the load balancer none of it
cp "$WORK/inventory.conf" "$CONF"
printf '\n[etcd]\nversion = v3.4.23\n' >> "$CONF"
mkdir -p "$WORK/lb2"
ks -c "$CONF" --root "$WORK/lb2" --host lb-0 apply
tap_is "$RC" 0 "apply on the lb host with [etcd] (--root)"
[ "$RC" = 0 ] || tap_diag "$ERR"
tap_is "$(cd "$WORK/lb2" && find . -type f ! -path './var/lib/kubestrap/*' | sort | tr '\n' ' ')" \
        "./etc/haproxy/haproxy.cfg ./var/lib/kubernetes/ca.pem " \
        "it still gets haproxy.cfg and the cluster CA only: no etcd binary, unit or key"
# a directory at etcd's data-dir there is not kubestrap's: no etcd runs on a load balancer
mkdir -p "$WORK/lb2/var/lib/etcd/member"
ks -c "$CONF" --root "$WORK/lb2" --host lb-0 reset --dry-run --purge-etcd-data
tap_is "$RC" 0 "reset --dry-run --purge-etcd-data on the lb host"
tap_unlike "$OUT$ERR" 'etcd' "names no etcd data directory to keep or remove"

# cloud-init's config has no inventory: it would make the lb host a controller
ks -c "$CONF" --host lb-0 cloud-init
tap_is "$RC" 2 "cloud-init for the lb host is refused"
tap_like "$ERR" "\\[host lb-0\\] has role = lb; cloud-init provisions controllers" "saying why"

# a controller of the same inventory renders no haproxy; an lb host needs controllers
ks -c "$CONF" --root "$WORK/ctl" --host controller-0 plan
tap_unlike "$OUT" 'haproxy' "a controller's plan has no haproxy.cfg"
sed '/^\[host controller-/,/^$/d' "$WORK/inventory.conf" > "$CONF"
ks -c "$CONF" --root "$ROOT" --host lb-0 apply
tap_is "$RC" 2 "an lb host without controllers in the inventory: exit 2"
tap_like "$ERR" "no \\[host NAME\\] with role = controller: the load balancer's backends come from the inventory" "the error says so"

# --- [lb] virtual-ip: keepalived's config, checked by keepalived -t before it is published ----
cp "$WORK/inventory.conf" "$CONF"
ks -c "$CONF" --root "$ROOT" --host lb-0 plan
tap_unlike "$OUT" 'keepalived' "without [lb] virtual-ip there is no keepalived"
# keepalived -t looks the interface up on this machine (and wants multicast): the default route's
ifname=$(ip -o route show default 2>/dev/null | awk '{ for (i = 1; i < NF; i++) if ($i == "dev") { print $(i + 1); exit } }')
if command -v keepalived >/dev/null && [ -n "$ifname" ]; then
        ks_set lb virtual-ip 10.240.0.30
        ks_set lb interface no-such-if0
        ks -c "$CONF" --root "$ROOT" --host lb-0 apply
        tap_is "$RC" 1 "an interface the machine does not have: apply fails"
        tap_like "$ERR" "interface no-such-if0 .*doesn't exist" "keepalived -t names it"
        tap_ok "nothing was published" test ! -e "$ROOT/etc/keepalived/keepalived.conf"
        ks_set lb interface "$ifname"
        ks -c "$CONF" --root "$ROOT" --host lb-0 apply
        tap_is "$RC" 0 "with [lb] virtual-ip, apply on the lb host"
        [ "$RC" = 0 ] || tap_diag "$ERR"
        K=$ROOT/etc/keepalived/keepalived.conf
        tap_like "$(cat "$K")" '^        10.240.0.30$' "keepalived.conf holds the virtual IP"
        tap_like "$(cat "$K")" "^    interface $ifname\$" "on the configured interface"
        tap_ok "keepalived itself accepts it (keepalived -t)" keepalived -t -f "$K"
        sed 's/virtual_router_id 51/virtual_router_id 999/' "$top_srcdir/templates/keepalived.conf" > "$T/keepalived.conf"
        chmod 0644 "$T/keepalived.conf"
        before=$(ks_stamp "$K")
        ks -c "$CONF" --root "$ROOT" --host lb-0 apply
        tap_is "$RC" 1 "a keepalived template keepalived -t refuses: apply fails"
        tap_like "$ERR" "keepalived rejects the configuration staged for $K" "the error names the file"
        tap_is "$(ks_stamp "$K")" "$before" "keepalived.conf is untouched"
        rm -f "$T/keepalived.conf"
        ks_set lb virtual-ip 10.240.0.300
        ks -c "$CONF" --root "$ROOT" --host lb-0 plan
        tap_is "$RC" 2 "a virtual-ip that is no address: exit 2"
        tap_like "$ERR" "\\[lb\\] virtual-ip: invalid value '10.240.0.300'" "the error names [lb] virtual-ip"
else
        tap_skip "keepalived's config" "keepalived is not installed (scripts/deps), or no interface"
fi

tap_done
