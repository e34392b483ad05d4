#!/bin/bash
# Integration: air gap. 'fetch --bundle' writes one archive (binaries, digests, templates,
# config, PKI); '--bundle FILE apply' (or from stdin) installs from it with the mirror stopped,
# and a tampered or hostile bundle installs nothing.
set -eu
. "${top_srcdir:-$(dirname "$0")/../..}/test/lib/common.sh"
ks_setup
B=$WORK/bundle.tar

ks -c "$CONF" --root "$WORK/fetchroot" fetch --bundle "$B"
tap_is "$RC" 2 "fetch into a missing --root is a usage error"
mkdir "$WORK/fetchroot"
ks -c "$CONF" --root "$WORK/fetchroot" fetch --bundle "$B"
tap_is "$RC" 0 "fetch --bundle succeeds"
tap_is "$(stat -c %a "$B")" 600 "the bundle is 0600 (it carries private keys)"
list=$(tar -tf "$B" | sort)
for m in MANIFEST kubestrap.conf bin/kube-apiserver bin/kubectl pki/ca-key.pem pki/admin.pem \
         templates/kube-apiserver.flags templates/nginx-healthz.conf; do
        tap_like "$list" "^kubestrap-bundle/$m$" "bundle holds $m"
done
tap_like "$(tar -xOf "$B" kubestrap-bundle/MANIFEST)" "binary kubectl sha256 $(sha256sum "$MIRROR_WWW/$VERSION/bin/linux/amd64/kubectl" | cut -d' ' -f1)" \
        "the manifest carries the verified digest"

# --- the bundle is root's alone, whoever else can write where it goes ---------------------
# Another user plants what a run might reuse: a file of theirs (0666) at the temp name the
# bundle used to be written to, a symlink there, and a staging-like file of theirs; a
# leftover of an interrupted run of ours is swept. Once in a sticky world-writable directory,
# once in a directory that user owns.
as_nobody() { setpriv --reuid=nobody --regid=nogroup --clear-groups -- "$@"; }
mkdir "$WORK/sticky" "$WORK/theirs"; chmod 1777 "$WORK/sticky"; chown nobody "$WORK/theirs"
echo "root's own" > "$WORK/linked"; chmod 0644 "$WORK/linked"
for d in "$WORK/sticky" "$WORK/theirs"; do
        # shellcheck disable=SC2016 # $1 and $2 are the inner shell's
        as_nobody sh -c 'umask 0; echo planted > "$1/b.tar.ks-partial"; chmod 0666 "$1/b.tar.ks-partial"
                ln -s "$2" "$1/l.tar.ks-partial"; echo theirs > "$1/.b.tar.ks-ba9876543210"
                chmod 0600 "$1/.b.tar.ks-ba9876543210"' sh "$d" "$WORK/linked"
        (umask 077; echo leftover > "$d/.b.tar.ks-0123456789ab")
        ks -c "$CONF" --root "$WORK/fetchroot" fetch --bundle "$d/b.tar"
        tap_is "$RC" 0 "${d##*/}: fetch --bundle beside another user's file at the old temp name"
        tap_is "$(stat -c '%a %U %h' "$d/b.tar")" "600 root 1" "${d##*/}: the bundle is root's, 0600"
        tap_like "$(tar -tf "$d/b.tar" 2>&1)" "kubestrap-bundle/pki/ca-key.pem" "${d##*/}: and a whole bundle"
        tap_is "$(cat "$d/b.tar.ks-partial") $(stat -c '%a %U' "$d/b.tar.ks-partial")" "planted 666 nobody" \
                "${d##*/}: the other user's file never got the keys"
        tap_is "$(cat "$d/.b.tar.ks-ba9876543210")" theirs "${d##*/}: a staging-like file of theirs is left alone"
        tap_is "$(find "$d" -user root -name '.*.ks-*' | wc -l)" 0 "${d##*/}: our leftover is swept, no temp file left"
        ks -c "$CONF" --root "$WORK/fetchroot" fetch --bundle "$d/l.tar"
        tap_is "$RC" 0 "${d##*/}: fetch --bundle beside a symlink at the old temp name"
        tap_is "$(stat -c '%a %U %F' "$d/l.tar")" "600 root regular file" "${d##*/}: the bundle is root's own file"
        tap_is "$(cat "$WORK/linked") $(stat -c %a "$WORK/linked")" "root's own 644" "${d##*/}: the symlink is not followed"
        tap_ok "${d##*/}: the symlink is still there" test -L "$d/l.tar.ks-partial"
done

# reference: a normal networked apply
mkdir "$WORK/ref"
ks -c "$CONF" --root "$WORK/ref" apply
tap_is "$RC" 0 "reference apply over the network"


# --- network off: the mirror is stopped -------------------------------------------------
mirror_stop
mkdir "$WORK/air"
ks --root "$WORK/air" --bundle "$B" --output json apply
tap_is "$RC" 0 "apply from the bundle with no network"
tap_like "$(printf '%s\n' "$OUT" | tail -n 1)" '"changed":24,.*"downloaded_bytes":0,' "everything installed, nothing downloaded"
for f in usr/local/bin/kube-apiserver usr/local/bin/kubectl var/lib/kubernetes/ca-key.pem \
         etc/systemd/system/kube-apiserver.service etc/kubernetes/config/kube-scheduler.yaml; do
        tap_ok "$f same as a networked apply" cmp "$WORK/ref/$f" "$WORK/air/$f"
done
tap_is "$(find /tmp -maxdepth 1 -name 'kubestrap-bundle.*' | wc -l)" 0 "the unpacked bundle is removed afterwards"

ks --root "$WORK/air" --bundle "$B" --output json apply
tap_like "$(printf '%s\n' "$OUT" | tail -n 1)" '"changed":0,' "a second apply from the bundle changes nothing"

mkdir "$WORK/stdin"
"$KUBESTRAP" --root "$WORK/stdin" --bundle - apply < "$B" > "$WORK/stdin.out" 2>&1
tap_is "$?" 0 "apply from a bundle on stdin"
tap_ok "stdin bundle installed kubectl" cmp "$WORK/ref/usr/local/bin/kubectl" "$WORK/stdin/usr/local/bin/kubectl"

# --- tampered and hostile bundles --------------------------------------------------------
t=$WORK/t; mkdir "$t"; tar -C "$t" -xf "$B"
printf 'x' >> "$t/kubestrap-bundle/bin/kubectl"
tar -C "$t" -cf "$WORK/tampered.tar" kubestrap-bundle
mkdir "$WORK/bad1"
ks --root "$WORK/bad1" --bundle "$WORK/tampered.tar" apply
tap_is "$RC" 2 "a tampered bundle is refused"
tap_is "$ERR" "kubestrap: bundle $WORK/tampered.tar: bin/kubectl does not match its digest in the MANIFEST" "the message names the file"
tap_is "$(find "$WORK/bad1" -mindepth 1 | wc -l)" 0 "nothing installed from it"

mkdir -p "$t/x"; echo evil > "$t/evil"
tar -C "$t/x" -P -cf "$WORK/hostile.tar" ../evil
mkdir "$WORK/bad2"
ks --root "$WORK/bad2" --bundle "$WORK/hostile.tar" apply
tap_is "$RC" 2 "a bundle with a '..' entry is refused"
tap_like "$ERR" "refusing entry '\.\./evil'" "the message names the entry"
tap_is "$(find "$WORK/bad2" -mindepth 1 | wc -l)" 0 "nothing installed from it"
tap_is "$(find / -maxdepth 2 -name evil 2>/dev/null | wc -l)" 0 "nothing written outside either"

# A pax hard-link entry carrying data (ks_hardlink_tar), its target a file outside by absolute
# path. Every other entry is a real bundle's, so only that entry can be refused.
victim=$WORK/victim
ks_hardlink_tar "$B" "$WORK/hardlink.tar" kubestrap-bundle/notes "$victim"
hardlink_run() { # desc kubestrap-args...: one run, against a fresh victim and an empty root
        local desc="hard link with data, $1" was
        shift
        echo "victim's own text" > "$victim"; chmod 0600 "$victim"; was=$(stat -c '%a %U %s' "$victim")
        rm -rf "$WORK/hl"; mkdir "$WORK/hl"
        ks --root "$WORK/hl" "$@"
        tap_is "$RC" 2 "$desc: refused"
        tap_like "$ERR" "bundle .*: refusing entry 'kubestrap-bundle/notes': a hard link" \
                "$desc: the message names the bundle and the entry"
        tap_is "$(cat "$victim")" "victim's own text" "$desc: the file outside is not written"
        tap_is "$(stat -c '%a %U %s' "$victim")" "$was" "$desc: nor its mode changed"
        tap_is "$(find "$WORK/hl" -mindepth 1 | wc -l)" 0 "$desc: nothing installed"
}
for verb in plan apply; do
        hardlink_run "--bundle FILE $verb" --bundle "$WORK/hardlink.tar" "$verb"
        hardlink_run "--bundle - $verb" --bundle - "$verb" < "$WORK/hardlink.tar"
done
tap_is "$(find /tmp -maxdepth 1 -name 'kubestrap-bundle.*' | wc -l)" 0 "no unpacked bundle left behind"

sed 's/^version = .*/version = v1.22.0/' "$CONF" > "$WORK/other.conf"; chmod 644 "$WORK/other.conf"
mkdir "$WORK/bad3"
ks -c "$WORK/other.conf" --root "$WORK/bad3" --bundle "$B" apply
tap_is "$RC" 2 "a bundle of another release than the config asks for is refused"
tap_like "$ERR" "the bundle holds v1.21.0/amd64 but $WORK/other.conf asks for v1.22.0/amd64" "the message names both"

tap_done
