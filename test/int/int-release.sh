#!/bin/bash
# Integration: version markers and the skew policy. [cluster] version = stable-1.NN is resolved
# from <base-url>/stable-1.NN.txt (trimmed, checked), shown by plan, recorded in the state and
# in a bundle; a jump of more than one minor from the installed release is refused (exit 2).
set -eu
. "${top_srcdir:-$(dirname "$0")/../..}/test/lib/common.sh"
ks_setup
STATE=var/lib/kubestrap/installed
# plan_version VERSION: sets [cluster] version and runs plan on ROOT
plan_version() { ks_set cluster version "$1"; ks -c "$CONF" --root "$ROOT" plan; }

# --- a marker resolves to the release the mirror serves -----------------------------------
printf 'v1.21.0' > "$MIRROR_WWW/stable-1.21.txt"
plan_version stable-1.21
tap_is "$RC" 0 "plan with version = stable-1.21"
tap_like "$OUT" "version: stable-1.21 → v1.21.0 \\(from $MIRROR_URL/stable-1.21.txt\\)" \
        "plan shows the marker, the release and where it came from"
ks -c "$CONF" --root "$ROOT" apply
tap_is "$RC" 0 "apply with version = stable-1.21"
tap_ok "the v1.21.0 binary is installed" cmp "$MIRROR_WWW/v1.21.0/bin/linux/amd64/kube-apiserver" \
        "$ROOT/usr/local/bin/kube-apiserver"
tap_like "$(cat "$ROOT/$STATE")" "^release	release:kubernetes	v1.21.0	" "the state records the release"

# --- trimming, missing and bad markers -----------------------------------------------------
printf ' v1.21.0 \n\n' > "$MIRROR_WWW/stable-1.21.txt"
ks -c "$CONF" --root "$ROOT" plan
tap_is "$RC" 0 "a marker with blanks and newlines around the version"
tap_like "$OUT" "stable-1.21 → v1.21.0 " "is trimmed"

plan_version stable-1.29
tap_is "$RC" 1 "a missing marker fails the run"
tap_like "$ERR" "$MIRROR_URL/stable-1.29.txt" "naming its URL"

printf '<html>oops</html>' > "$MIRROR_WWW/stable-1.29.txt"
ks -c "$CONF" --root "$ROOT" plan
tap_is "$RC" 1 "a marker holding no version is refused"
tap_like "$ERR" "stable-1.29.txt holds '<html>oops</html>', not a release v1.29.x" \
        "naming the URL and what it held"
printf 'v1.30.1' > "$MIRROR_WWW/stable-1.29.txt"
ks -c "$CONF" --root "$ROOT" plan
tap_is "$RC" 1 "a stable-1.29 marker naming v1.30.1 is refused"

# A marker naming a release kubestrap cannot render: stable-1.NN is checked when the
# configuration loads, stable once it is read.
plan_version stable-1.37
tap_is "$RC" 2 "stable-1.37 is refused when the configuration loads"
tap_like "$ERR" "version: invalid value 'stable-1.37': kubestrap supports Kubernetes v1.21 to v1.36" \
        "naming the supported range"
printf 'v1.37.0' > "$MIRROR_WWW/stable.txt"
plan_version stable
tap_is "$RC" 2 "stable naming v1.37.0 is refused once read"
tap_like "$ERR" "version = stable in .* is v1.37.0 \\(from $MIRROR_URL/stable.txt\\), but kubestrap supports Kubernetes v1.21 to v1.36" \
        "naming the marker, the release it named and the range"
rm -f "$MIRROR_WWW/stable.txt"

plan_version stable-1.x
tap_is "$RC" 2 "a malformed marker is a configuration error"
tap_like "$ERR" "stable-1.NN" "which says what a marker looks like"

# --- an air-gap bundle records the resolved release --------------------------------------
printf 'v1.21.0\n' > "$MIRROR_WWW/stable-1.21.txt"
ks_set cluster version stable-1.21
mkdir "$WORK/fetchroot"
ks -c "$CONF" --root "$WORK/fetchroot" fetch --bundle "$WORK/b.tar"
tap_is "$RC" 0 "fetch --bundle from a marker config"
tap_like "$(tar -xOf "$WORK/b.tar" kubestrap-bundle/MANIFEST)" "^version v1.21.0$" \
        "the manifest records the resolved release"

# fanout reads a marker once and the bundle it hands the hosts records the release (the hosts
# refused a bundle that held the marker). The "ssh" here runs the remote command locally.
mkdir -p "$WORK/fakessh" "$WORK/fanroot"
printf '#!/bin/sh\nfor a; do last=$a; done\nexec sh -c "$last"\n' > "$WORK/fakessh/ssh"
chmod 0755 "$WORK/fakessh/ssh"
{ cat "$CONF"; printf '\n[fanout]\nremote-command = %s --root %s\n\n[host h-0]\naddress = root@h-0\ninternal-ip = 10.240.0.10\n' \
        "$KUBESTRAP" "$WORK/fanroot"; } > "$WORK/fan.conf"
chmod 0644 "$WORK/fan.conf"
PATH=$WORK/fakessh:$PATH ks -c "$WORK/fan.conf" fanout -- plan
tap_is "$RC" 0 "fanout plan from a marker config"
[ "$RC" = 0 ] || tap_diag "$ERR $OUT"
tap_like "$OUT" '^h-0: version: marker=stable-1.21 version=v1.21.0 from=bundle ' \
        "the host plans the release fanout read, from the bundle"

# A host that sends a line of 3 MiB with no newline: fanout hands it on in pieces of 1 MiB
# instead of buffering whatever a host sends.
mkdir -p "$WORK/longssh"
printf '#!/bin/sh\nhead -c 3145728 /dev/zero | tr "\\\\000" x\nexit 0\n' > "$WORK/longssh/ssh"
chmod 0755 "$WORK/longssh/ssh"
PATH=$WORK/longssh:$PATH ks -c "$WORK/fan.conf" fanout -- plan
tap_is "$RC" 0 "a host's 3 MiB line: the fan-out ends"
tap_is "$(printf '%s\n' "$OUT" | grep -c '^h-0: x')" 3 "the line arrives in three pieces"
tap_is "$(printf '%s\n' "$OUT" | awk '/^h-0: x/ { if (length($0) > m) m = length($0) } END { print m }')" \
        $((1048576 + 5)) "each at most 1 MiB (plus the host's name)"
# A host's error of several lines (a crash loop's journal excerpt) is shown as several lines,
# each under the host's name.
sed -e 's/^remote-command = .*/remote-command = printf '"'"'{"event":"error","message":"crashed\\\\n  kube-scheduler[7]: no kind"}\\n'"'"'; false/' \
        "$WORK/fan.conf" > "$WORK/fan2.conf"
chmod 0644 "$WORK/fan2.conf"
PATH=$WORK/fakessh:$PATH ks -c "$WORK/fan2.conf" fanout -- plan
tap_is "$RC" 1 "a host failing with an error of two lines"
tap_like "$OUT" '^h-0: error: crashed$' "its first line"
tap_like "$OUT" '^h-0:   kube-scheduler\[7\]: no kind$' "its second line, under the host's name"

mirror_stop
mkdir "$WORK/air"
ks --root "$WORK/air" --bundle "$WORK/b.tar" apply
tap_is "$RC" 0 "the bundle installs with the mirror stopped (no marker read)"
tap_like "$OUT" "stable-1.21 → v1.21.0 \\(from bundle " "the release came from the bundle"
tap_like "$(cat "$WORK/air/$STATE")" "^release	release:kubernetes	v1.21.0	" \
        "the state records the bundle's release"

# --- skew: the state says v1.21.0 is installed --------------------------------------------
plan_version v1.23.0
tap_is "$RC" 2 "v1.21.0 → v1.23.0 is refused"
tap_like "$ERR" "kube-apiserver v1.21.0 → v1.23.0 refused: kube-apiserver must not skip minor versions: v1.21.x → v1.23.x; upgrade to v1.22 first" \
        "naming both versions and the rule"
ks -c "$CONF" --root "$ROOT" apply
tap_is "$RC" 2 "apply refuses it too"

# v1.22.0 is not on the (stopped) mirror: pinned digests let plan run without a request
ks_set cluster version v1.22.0
for b in $BINARIES; do
        ks_set download "digest.$b" "sha256:$(sha256sum "$MIRROR_WWW/v1.21.0/bin/linux/amd64/$b" | cut -d' ' -f1)"
done
ks -c "$CONF" --root "$ROOT" plan
tap_is "$RC" 0 "v1.21.0 → v1.22.0 is one minor: allowed"
tap_like "$OUT" "kube-apiserver v1.21.0 → v1.22.0" "plan shows the apiserver's change"
tap_like "$OUT" "kube-scheduler v1.21.0 → v1.22.0" "and the scheduler's"
# downgrades: the state is made to say a later release is installed
ks_set cluster version v1.21.0
sed -i 's/^\(release\trelease:kubernetes\t\)v1.21.0/\1v1.22.3/' "$ROOT/$STATE"
ks -c "$CONF" --root "$ROOT" plan
tap_is "$RC" 0 "one minor down (what a rollback does) is allowed"
tap_like "$OUT" "kube-apiserver v1.22.3 → v1.21.0" "and shown"
sed -i 's/^\(release\trelease:kubernetes\t\)v1.22.3/\1v1.23.1/' "$ROOT/$STATE"
ks -c "$CONF" --root "$ROOT" plan
tap_is "$RC" 2 "two minors down is refused"
tap_like "$ERR" "v1.23.x → v1.21.x; downgrade to v1.22 first" "naming the rule"

tap_done
