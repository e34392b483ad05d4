#!/bin/bash
# Integration: 'kubestrap cloud-init' user-data (issue 16, item 6): every write_files entry is
# gzip+base64 ("gz+b64") and decodes to the file it stands for; the example controller's fits
# EC2's 16 KB; the output is the same for the same input; --deb carries a package (installed
# by runcmd before the first-boot unit starts) and warns above 16 KB; --apt-source names a
# repository instead; bad options are usage errors and write nothing.
set -eu
. "${top_srcdir:-$(dirname "$0")/../..}/test/lib/common.sh"
ks_setup

# decode USER-DATA DIR: the write_files entries as files under DIR; prints "path mode size"
decode() {
        python3 - "$1" "$2" <<'PY'
import base64, gzip, os, sys, yaml
ud = yaml.safe_load(open(sys.argv[1]))
for f in ud["write_files"]:
    dest = sys.argv[2] + f["path"]
    os.makedirs(os.path.dirname(dest), exist_ok=True)
    data = gzip.decompress(base64.b64decode(f["content"]))
    with open(dest, "wb") as out:
        out.write(data)
    print(f["path"], f["permissions"], f["encoding"], len(data))
PY
}

ks -c "$CONF" cloud-init
tap_is "$RC" 0 "cloud-init: exit 0"
tap_is "$ERR" "" "nothing on stderr (no size warning)"
printf '%s\n' "$OUT" > "$WORK/ud"
size=$(wc -c < "$WORK/ud")
tap_ok "the example controller's user-data fits EC2's 16384 bytes ($size)" test "$size" -le 16384
tap_is "$(grep -c '^    encoding: ' "$WORK/ud") $(grep -c '^    encoding: gz+b64$' "$WORK/ud")" \
        "$(grep -c '^  - path: ' "$WORK/ud") $(grep -c '^  - path: ' "$WORK/ud")" "every entry is gz+b64"
entries=$(decode "$WORK/ud" "$WORK/node") && rc=0 || rc=$?
tap_is "$rc" 0 "every entry decodes (gzip, base64)"
tap_like "$entries" "^/etc/kubestrap/kubestrap.conf 0644 gz\\+b64 " "the configuration first"
tap_ok "the CA key decodes to the file itself" cmp "$PKI/ca-key.pem" "$WORK/node/etc/kubestrap/pki/ca-key.pem"
tap_ok "the mirror's CA too" cmp "$MIRROR_CA" "$WORK/node/etc/kubestrap/download-ca.pem"
ks -c "$CONF" cloud-init
tap_is "$OUT" "$(cat "$WORK/ud")" "the same input gives the same user-data (no time stamps)"

# --deb: a package file (an ar archive, as dpkg-deb writes), large enough to pass 16 KB
deb=$WORK/kubestrap_0.1.0_amd64.deb
{ printf '!<arch>\n'; head -c 40000 /dev/urandom; } > "$deb"
ks -c "$CONF" cloud-init --deb "$deb"
tap_is "$RC" 0 "--deb: exit 0"
printf '%s\n' "$OUT" > "$WORK/ud-deb"
tap_like "$ERR" "^kubestrap: warning: cloud-init: the user-data is [0-9]+ bytes, above EC2's limit of 16384 bytes" \
        "above 16 KB: a warning on stderr"
entries=$(decode "$WORK/ud-deb" "$WORK/node-deb")
tap_like "$entries" $'\n/var/lib/kubestrap/kubestrap_0.1.0_amd64.deb 0644 gz\\+b64 40008$' "the package is carried last"
tap_ok "byte for byte" cmp "$deb" "$WORK/node-deb/var/lib/kubestrap/kubestrap_0.1.0_amd64.deb"
tap_is "$(sed -n '/^runcmd:/,$p' "$WORK/ud-deb")" "runcmd:
  - [env, DEBIAN_FRONTEND=noninteractive, apt-get, install, -y, -q, '/var/lib/kubestrap/kubestrap_0.1.0_amd64.deb']
  - [systemctl, daemon-reload]
  - [systemctl, enable, --now, --no-block, kubestrap-firstboot.service]" \
        "runcmd installs it with apt-get before it starts the first-boot unit"

# --apt-source: the repository, and the package from it, before runcmd
line='deb [signed-by=/usr/share/keyrings/kubestrap.gpg] https://packages.invalid/debian bookworm main'
ks -c "$CONF" cloud-init --apt-source "$line"
tap_is "$RC/$ERR" "0/" "--apt-source: exit 0, no warning"
tap_is "$(python3 -c 'import sys, yaml; u = yaml.safe_load(sys.stdin)
print(u["apt"]["sources"]["kubestrap.list"]["source"]); print(u["packages"], u["package_update"])' <<<"$OUT")" \
        "$line
['kubestrap'] True" "the source line and the package, as cloud-init reads them"

# bad options: a usage error (exit 2), nothing on stdout
bad() { # description expected-stderr-pattern args...
        local d=$1 want=$2
        shift 2
        ks -c "$CONF" cloud-init "$@"
        tap_is "$RC/$OUT" "2/" "$d: exit 2, nothing written"
        tap_like "$ERR" "$want" "$d: said"
}
bad "both --deb and --apt-source" "give one" --deb "$deb" --apt-source "$line"
cp "$deb" "$WORK/kubestrap latest.deb"
bad "a package name with a blank" "expected a package file named like kubestrap_VERSION_ARCH.deb" --deb "$WORK/kubestrap latest.deb"
bad "a quote in the apt line" "without quotes" --apt-source "deb 'x' bookworm main"
bad "not an apt line" "expected one line 'deb" --apt-source "https://packages.invalid/debian"
printf 'not a package\n' > "$WORK/kubestrap_0.1.0_all.deb"
ks -c "$CONF" cloud-init --deb "$WORK/kubestrap_0.1.0_all.deb"
tap_is "$RC/$OUT" "1/" "a file that is not a package: exit 1, nothing written"
tap_like "$ERR" "kubestrap_0.1.0_all.deb: not a Debian package" "and named"
ks -c "$CONF" cloud-init --deb "$WORK/kubestrap_9_amd64.deb"
tap_like "$RC/$ERR" "^1/.*kubestrap_9_amd64.deb: No such file" "a missing package: named"
tap_done
