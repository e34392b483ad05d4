#!/bin/bash
# Integration: configuration errors through the command line, each with its exact message
# (file, line, section, key) and exit status 2, and nothing written to the --root tree.
set -eu
. "${top_srcdir:-$(dirname "$0")/../..}/test/lib/common.sh"
ks_setup

# check NAME "sed expression" "expected exact stderr line"
check() {
        local desc=$1 edit=$2 want=$3 conf=$WORK/bad.conf
        sed -e "$edit" "$CONF" > "$conf"
        chmod 0644 "$conf"
        ks -c "$conf" --root "$ROOT" apply
        tap_is "$RC" 2 "$desc: exit status 2"
        tap_is "$(printf '%s\n' "$ERR" | grep -F -x -- "$want" || true)" "$want" "$desc: exact message"
        tap_is "$(find "$ROOT" -mindepth 1 | wc -l)" 0 "$desc: nothing written"
}
line_of() { grep -n -m1 -- "$1" "$CONF" | cut -d: -f1; }
C=$WORK/bad.conf

check "misspelt key" 's/^version = /verison = /' \
        "kubestrap: $C:$(line_of '^version'): [cluster] verison: unknown key (did you mean 'version'?)"
check "key in the wrong section" 's/^internal-ip = .*/internal-ip = 10.240.0.10\nversion = v1.21.0/' \
        "kubestrap: $C:$(($(line_of '^internal-ip') + 1)): [node] version: unknown key (it belongs in [cluster])"
check "misspelt section" 's/^\[cluster\]/[clustr]/' \
        "kubestrap: $C:$(line_of '^\[cluster\]'): [clustr]: unknown section (did you mean [cluster]?)"
check "duplicate key" 's/^cluster-cidr = .*/&\ncluster-cidr = 10.201.0.0\/16/' \
        "kubestrap: $C:$(($(line_of '^cluster-cidr') + 1)): [cluster] cluster-cidr: duplicate key (first set on line $(line_of '^cluster-cidr'))"
check "CIDR with host bits" 's/^service-cluster-ip-range = .*/service-cluster-ip-range = 10.32.0.1\/24/' \
        "kubestrap: $C:$(line_of '^service-cluster-ip-range'): [cluster] service-cluster-ip-range: invalid value '10.32.0.1/24': address has bits set beyond the prefix length"
check "short version" 's/^version = .*/version = v1.21/' \
        "kubestrap: $C:$(line_of '^version'): [cluster] version: invalid value 'v1.21': expected a version such as v1.21.0, or a marker: stable or stable-1.NN"
check "plain http base-url" 's|^base-url = .*|base-url = http://mirror.invalid/release|' \
        "kubestrap: $C:$(line_of '^base-url'): [download] base-url: invalid value 'http://mirror.invalid/release': expected an https:// URL (plain http is never used)"
check "relative path" 's|^source-dir = .*|source-dir = pki|' \
        "kubestrap: $C:$(line_of '^source-dir'): [pki] source-dir: invalid value 'pki': expected an absolute path"
check "missing required key" '/^public-address = /d' \
        "kubestrap: $C: [cluster] public-address: required key is missing"
check "port range reversed" 's/^service-node-port-range = .*/service-node-port-range = 32767-30000/' \
        "kubestrap: $C:$(line_of '^service-node-port-range'): [cluster] service-node-port-range: invalid value '32767-30000': ports must be 1-65535 and the first not above the second"
check "internal-ip not an address" 's/^internal-ip = .*/internal-ip = controller-0/' \
        "kubestrap: $C:$(line_of '^internal-ip'): [node] internal-ip: invalid value 'controller-0': expected an IP address or 'auto'"
check "unknown arch" 's/^arch = .*/arch = x86_64/' \
        "kubestrap: $C:$(line_of '^arch'): [download] arch: invalid value 'x86_64': expected one of amd64, arm64, arm, ppc64le, s390x"
check "removal with a value" 's/^\[kube-apiserver\]/&\n-v = 2/' \
        "kubestrap: $C:$(($(line_of '^\[kube-apiserver\]') + 1)): [kube-apiserver] -v: a removal takes no value (write '-v =')"
check "flag value that would split the command line" 's/^\[kube-apiserver\]/&\nv = 2 --evil/' \
        "kubestrap: $C:$(($(line_of '^\[kube-apiserver\]') + 1)): [kube-apiserver] v: invalid value '2 --evil': blanks, quotes and backslashes are not allowed in flag values"
check "misspelt flag" 's/^\[kube-apiserver\]/&\nservce-cluster-ip-range = 10.33.0.0\/24/' \
        "kubestrap: $C:$(($(line_of '^\[kube-apiserver\]') + 1)): [kube-apiserver] servce-cluster-ip-range: no such flag in the defaults (did you mean 'service-cluster-ip-range'?); write '+servce-cluster-ip-range = ...' to add a new flag"
check "syntax error" 's/^\[node\]/[node/' \
        "kubestrap: $C:$(line_of '^\[node\]'): syntax error: expected '[section]' or 'key = value'"
long=$(head -c 70000 /dev/zero | tr '\0' x)
check "over-long line" "s/^name = kubernetes/name = $long/" \
        "kubestrap: $C:$(line_of '^name = '): line too long (at most 65536 bytes)"
check "bad pinned digest" 's/^;digest.kubectl = .*/digest.kubectl = sha256:abc/' \
        "kubestrap: $C:$(line_of '^;digest.kubectl'): [download] digest.kubectl: invalid value 'sha256:abc': expected sha256:<64 hex digits> or sha512:<128 hex digits>"
check "unknown signatures mode" 's/^;signatures = .*/signatures = maybe/' \
        "kubestrap: $C:$(line_of '^;signatures'): [download] signatures: invalid value 'maybe': expected require, if-present or off"
check "relative signature-roots" 's|^signature-roots = .*|signature-roots = roots.pem|' \
        "kubestrap: $C:$(line_of '^signature-roots'): [download] signature-roots: invalid value 'roots.pem': expected an absolute path"
check "plain http signature-issuer" 's|^;signature-issuer = .*|signature-issuer = http://accounts.google.com|' \
        "kubestrap: $C:$(line_of '^;signature-issuer'): [download] signature-issuer: invalid value 'http://accounts.google.com': expected an https:// URL (plain http is never used)"

# all problems are reported in one run
sed -e 's/^version = .*/version = 1.21/' -e 's/^cluster-cidr = .*/cluster-cidr = 10.200.0.0\/99/' "$CONF" > "$C"
ks -c "$C" --root "$ROOT" plan
tap_is "$(printf '%s\n' "$ERR" | grep -c "^kubestrap: $C:")" 2 "two errors, both reported at once"

# a config writable by others is refused (a root tool must not run what others may edit)
cp "$CONF" "$C"; chmod 0666 "$C"
ks -c "$C" --root "$ROOT" plan
tap_is "$RC" 2 "world-writable config: exit 2"
tap_is "$ERR" "kubestrap: $C: refusing a file writable by group or others" "world-writable config: message"

ks -c "$WORK/nonexistent.conf" --root "$ROOT" plan
tap_is "$RC" 2 "missing config: exit 2"
tap_is "$ERR" "kubestrap: $WORK/nonexistent.conf: No such file or directory" "missing config: message"

ks -c "$CONF" --root "$ROOT" frobnicate
tap_is "$RC" 2 "unknown verb: exit 2"
tap_like "$ERR" "unknown verb 'frobnicate'" "unknown verb: message"
ks -c "$CONF" --output yaml plan
tap_is "$RC" 2 "bad --output: exit 2"

# JSON output reports config errors as events and still ends with a summary
sed -e 's/^version = .*/version = 1.21/' "$CONF" > "$C"; chmod 0644 "$C"
ks -c "$C" --root "$ROOT" --output json apply
tap_like "$(printf '%s\n' "$OUT" | head -n 1)" '^\{"event":"error","message":".*\[cluster\] version: invalid value' "JSON error event"
tap_like "$(printf '%s\n' "$OUT" | tail -n 1)" '^\{"event":"summary","verb":"apply","changed":0,"unchanged":0,"failed":1,' "JSON summary last"

# [host] address reaches ssh's argument list (and, before, a tmux shell string): only HOST or
# USER@HOST with a POSIX user name, never anything starting with '-'
check_host() { # description address expected-reason
        printf '%s\n\n[host c9]\naddress = %s\ninternal-ip = 10.240.0.19\n' "$(cat "$CONF")" "$2" > "$C"
        chmod 0644 "$C"
        rm -f "$WORK/injected"
        ks -c "$C" --root "$ROOT" apply
        local want="kubestrap: $C:$(grep -n -m1 '^address = ' "$C" | cut -d: -f1): [host c9] address: invalid value '$2': $3"
        tap_is "$RC" 2 "$1: exit status 2"
        tap_is "$(printf '%s\n' "$ERR" | grep -F -x -- "$want" || true)" "$want" "$1: exact message"
        tap_is "$(find "$ROOT" -mindepth 1 | wc -l)" 0 "$1: nothing written"
}
check_host "shell in the user part" "\$(id>$WORK/injected)x@127.0.0.1" "the user name may hold only A-Z a-z 0-9 . _ -"
check_host "address that is an ssh option" "-oProxyCommand=id@127.0.0.1" "an address must not start with '-'"
check_host "user that is an ssh option" "-lroot@127.0.0.1" "an address must not start with '-'"
check_host "empty user" "@127.0.0.1" "expected HOST or USER@HOST (the user is empty)"
tap_ok "no command ran from the address" test ! -e "$WORK/injected"

# cloud-init: every config it writes is one the node's own reader takes. Repeated ssh-options
# were joined into one line longer than inih reads (197 bytes), so the first boot failed.
long_opts() { printf -- '-o SendEnv=KS_%s_%s' "$1" "$(printf 'x%.0s' $(seq 40))" | sed 's/$/ /'; }
{
        cat "$CONF"
        printf '\n[fanout]\n'
        for n in 1 2 3 4; do printf 'ssh-options = %s%s%s\n' "$(long_opts "${n}a")" "$(long_opts "${n}b")" "$(long_opts "${n}c")"; done
        printf 'ssh-options = -o BatchMode=yes\n'
        printf '\n[host controller-0]\naddress = ops.user_1@10.240.0.10\ninternal-ip = 10.240.0.10\n'
} > "$C"
chmod 0644 "$C"
for host in "" controller-0; do
        ks -c "$C" ${host:+--host "$host"} cloud-init
        tap_is "$RC" 0 "cloud-init ${host:-(no host)}: user-data written"
        printf '%s\n' "$OUT" > "$WORK/user-data"
        node=$WORK/node-${host:-none}
        rm -rf "$node"; mkdir -p "$node"
        # the files where the user-data puts them, under $node instead of /
        python3 - "$WORK/user-data" "$node" <<'PY'
import base64, gzip, os, sys, yaml
ud = yaml.safe_load(open(sys.argv[1]))
for f in ud["write_files"]:
    dest = sys.argv[2] + f["path"]
    os.makedirs(os.path.dirname(dest), exist_ok=True)
    assert f["encoding"] == "gz+b64", f["encoding"]
    with open(dest, "wb") as out:
        out.write(gzip.decompress(base64.b64decode(f["content"])))
    os.chmod(dest, int(f["permissions"], 8))
PY
        nconf=$node/etc/kubestrap/kubestrap.conf
        tap_is "$(awk 'length($0) > 65536' "$nconf" | wc -l)" 0 "cloud-init ${host:-(no host)}: no line longer than the reader takes"
        tap_is "$(grep -v '^ssh-options = ' "$C" | sed -n '/^\[fanout\]/,$p' | wc -l) $(awk '/^ssh-options = /{ sub(/^ssh-options = /, ""); printf "%s ", $0 }' "$nconf" | wc -w)" \
                "$(grep -v '^ssh-options = ' "$C" | sed -n '/^\[fanout\]/,$p' | wc -l) $(awk '/^ssh-options = /{ sub(/^ssh-options = /, ""); printf "%s ", $0 }' "$C" | wc -w)" \
                "cloud-init ${host:-(no host)}: every ssh option is kept"
        # the node's paths, mapped under $node; the lines stay as written
        sed -i "s|= /etc/kubestrap/|= $node/etc/kubestrap/|" "$nconf"
        rm -rf "$WORK/noderoot"; mkdir "$WORK/noderoot"
        ks -c "$nconf" --root "$WORK/noderoot" plan
        tap_is "$RC" 0 "cloud-init ${host:-(no host)}: the node-side plan reads the written config"
        [ "$RC" = 0 ] || tap_diag "$ERR"
done
# A key with a byte that is not UTF-8 and a terminal escape (issue 10, finding 12): the
# terminal sees it escaped, --output json stays valid UTF-8 JSON.
sed -e 's/^\[node\]/&\nname\xff\x1b[31m = x/' "$CONF" > "$C"; chmod 0644 "$C"
"$KUBESTRAP" -c "$C" --root "$ROOT" plan > "$WORK/esc.out" 2> "$WORK/esc.err" && RC=0 || RC=$?
tap_is "$RC" 2 "hostile key: exit 2"
tap_ok "hostile key: no raw ESC on stderr" sh -c "! grep -q -P '\x1b' '$WORK/esc.err'"
tap_ok "hostile key: stderr is valid UTF-8" iconv -f utf-8 -t utf-8 -o /dev/null "$WORK/esc.err"
want="kubestrap: $C:$(($(line_of '^\[node\]') + 1)): [node] name\\xff\\x1b[31m: unknown key"
tap_is "$(grep -F -x -- "$want" "$WORK/esc.err" || true)" "$want" "hostile key: shown escaped"
"$KUBESTRAP" -c "$C" --root "$ROOT" --output json plan > "$WORK/esc.json" 2> /dev/null || true
tap_ok "hostile key: JSON output is valid UTF-8" iconv -f utf-8 -t utf-8 -o /dev/null "$WORK/esc.json"
tap_ok "hostile key: every JSON line parses" python3 -c '
import json, sys
for line in open(sys.argv[1], "rb"):
    json.loads(line.decode("utf-8"))
' "$WORK/esc.json"
tap_is "$(python3 -c '
import json, sys
print(ascii(json.loads(open(sys.argv[1], "rb").readline())["message"].rsplit("] ", 1)[1]))
' "$WORK/esc.json")" "'name\\ufffd\\x1b[31m: unknown key'" "hostile key: JSON carries U+FFFD and the ESC as a character"

# fanout and tmux name a host the inventory lacks, and an inventory with no host at all
cp "$CONF" "$C"; chmod 0644 "$C"
for verb in "fanout nosuch -- plan" "tmux nosuch"; do
        # shellcheck disable=SC2086 # the verb and its words
        ks -c "$C" $verb
        tap_is "$RC" 2 "${verb%% *} with an unknown host: exit 2"
        tap_is "$ERR" "kubestrap: ${verb%% *}: no [host nosuch] in $C" "${verb%% *} names the host and the config"
done
ks -c "$C" fanout -- plan
tap_is "$ERR" "kubestrap: fanout: $C has no [host NAME] sections" "fanout with an empty inventory says so"

# validate: the configuration and its templates, offline (0 or 2), nothing fetched or changed
ks -c "$CONF" --root "$ROOT" validate
tap_is "$RC" 0 "validate: a good configuration"
tap_like "$OUT" "^validate: $CONF is valid \\([1-9][0-9]* files rendered from its templates\\)$" "validate says so"
printf '%s\n\n[kube-apiserver]\nnonsense-flag = 1\n' "$(cat "$CONF")" > "$C"; chmod 0644 "$C"
ks -c "$C" --root "$ROOT" validate
tap_is "$RC" 2 "validate: a flag edit of a flag that is not there: exit 2"
tap_like "$ERR" "^kubestrap: $C:[0-9]+: \\[kube-apiserver\\] nonsense-flag: no such flag" "naming file, line, section and key"
mkdir -m 0755 "$WORK/tpl"
cp "$KUBESTRAP_TEMPLATES"/* "$WORK/tpl/"
printf 'apiVersion: {{ nosuch.key }}\n' > "$WORK/tpl/kube-scheduler.yaml"
chmod 0644 "$WORK/tpl"/*
KUBESTRAP_TEMPLATES=$WORK/tpl ks -c "$CONF" --root "$ROOT" validate
tap_is "$RC" 2 "validate: a template with an unknown placeholder: exit 2"
tap_like "$ERR" "$WORK/tpl/kube-scheduler.yaml:1" "naming the template and its line"
tap_is "$(find "$ROOT" -mindepth 1 | wc -l)" 0 "validate changed nothing in the root"

# Long lists on one line (Debian's inih stopped at 197 bytes): 4 KiB of etcd servers and of
# mirrors are read whole and reach the rendered unit
etcd=$(for i in $(seq 0 169); do printf 'https://10.240.%d.%d:2379,' $((i / 200)) $((i % 200 + 10)); done)
etcd=${etcd%,}
mirrors=$(for i in $(seq 100); do printf 'https://mirror-%03d.example.test/k8s,' "$i"; done)
mirrors=${mirrors%,}
sed -e "s|^etcd-servers = .*|etcd-servers = $etcd|" -e "s|^\[download\]|&\nmirrors = $mirrors|" "$CONF" > "$C"
chmod 0644 "$C"
tap_like "$(awk '/^etcd-servers = / { print length($0) }' "$C") $(awk '/^mirrors = / { print length($0) }' "$C")" '^4[0-9]{3} 3[0-9]{3}$' \
        "the lines are 4 KiB and 3.5 KiB long"
ks -c "$C" --root "$ROOT" validate
tap_is "$RC" 0 "a 4 KiB etcd-servers and mirrors: valid"
rm -rf "$WORK/longroot"; mkdir "$WORK/longroot"
ks -c "$C" --root "$WORK/longroot" --skip-preflight apply
tap_is "$RC" 0 "and applied"
tap_is "$(grep -c -F -- "--etcd-servers=$etcd" "$WORK/longroot/etc/systemd/system/kube-apiserver.service")" 1 \
        "the unit has every etcd server"
# a 1 MiB line passes the file limit, which the error names
{ cat "$CONF"; printf 'x = '; head -c 1048576 /dev/zero | tr '\0' x; printf '\n'; } > "$C"
chmod 0644 "$C"
ks -c "$C" --root "$ROOT" validate
tap_is "$RC" 2 "a 1 MiB line: exit 2"
tap_is "$ERR" "kubestrap: $C: larger than 1048576 bytes, the most a configuration may be" "a 1 MiB line: the limit named"

# A key that did nothing and was retired ([health] settle-ms) still loads, with a warning that
# names file and line: upgrading kubestrap must not break a node's working config.
printf '%s\n\n[health]\nsettle-ms = 300\n' "$(cat "$CONF")" > "$C"; chmod 0644 "$C"
ks -c "$C" --root "$ROOT" plan
tap_is "$RC" 0 "retired key settle-ms: the config still loads"
tap_like "$ERR" "^kubestrap: warning: $C:$(grep -n '^settle-ms' "$C" | cut -d: -f1): \\[health\\] settle-ms: ignored \\(it never had an effect\\); remove it\$" \
        "retired key settle-ms: a warning names file, line and key"

tap_done
