#!/bin/bash
# Integration: every section and key the program reads (validate --list-keys, from the schema
# itself) is documented in kubestrap.conf(5) and shown in examples/controller-0.conf, so a key
# added without its documentation fails here.
set -eu
. "${top_srcdir:-$(dirname "$0")/../..}/test/lib/common.sh"

MAN=$top_srcdir/man/kubestrap.conf.5
EXAMPLE=$top_srcdir/examples/controller-0.conf

keys=$("$KUBESTRAP" validate --list-keys)
tap_is "$?" 0 "validate --list-keys: exit 0 without a configuration"
tap_like "$keys" $'^cluster\tversion\tversion\t\\(required\\)' "the first key, with its type and that it is required"
tap_like "$keys" $'\ndownload\tretries\tretries\t3\n' "a default"
tap_like "$keys" $'\nhost NAME\taddress\t' "the inventory's keys"
tap_like "$keys" $'\nkube-apiserver\tFLAG\tflag-edit\t' "a component's flag edits"
tap_is "$(printf '%s\n' "$keys" | awk -F'\t' 'NF != 4' | head -n 3)" "" "four tab-separated fields on every line"

# "section<TAB>key" for every key the man page documents: the items (.TP) under each .SS
# [section] heading; one heading may name several sections, one item several keys.
man_keys() {
        awk '
        { gsub(/\\-/, "-") }
        /^\.SS / {
                n = 0; s = $0
                while (match(s, /\[[^]]+\]/)) {
                        sec[++n] = substr(s, RSTART + 1, RLENGTH - 2); s = substr(s, RSTART + RLENGTH)
                }
                next
        }
        /^\.SH / { n = 0; next }
        /^\.TP/ { tag = 1; next }
        tag && n {
                tag = 0; s = $0; sub(/ \(.*/, "", s)
                while (match(s, /\\fB[^\\]+\\fR/)) {
                        k = substr(s, RSTART + 3, RLENGTH - 6); s = substr(s, RSTART + RLENGTH)
                        for (i = 1; i <= n; i++) print sec[i] "\t" k
                }
        }
        { tag = 0 }' "$MAN"
}

# "section<TAB>key" for every key the example sets or shows commented out (";key = ..."); a
# section header may be commented out too (";[host controller-0]"): any [host NAME] counts as
# "host NAME", and a component section counts for its flag edits ("FLAG"), whatever they are.
example_keys() {
        awk -v comps="$(printf '%s\n' "$keys" | awk -F'\t' '$2 == "FLAG" { print $1 }')" '
        BEGIN { n = split(comps, c, "\n"); for (i = 1; i <= n; i++) comp[c[i]] = 1 }
        /^[;#]?[[:space:]]*\[[^]]+\][[:space:]]*$/ {
                s = $0; sub(/^[;#]?[[:space:]]*\[/, "", s); sub(/\].*/, "", s)
                if (s ~ /^host /) s = "host NAME"
                sec = s
                if (sec in comp) print sec "\tFLAG"
                next
        }
        !(sec in comp) && /^[;#]?[[:space:]]*[A-Za-z0-9._-]+[[:space:]]*=/ {
                s = $0; sub(/^[;#]?[[:space:]]*/, "", s); sub(/[[:space:]]*=.*/, "", s)
                print sec "\t" s
        }' "$EXAMPLE"
}

# the keys of LIST (section<TAB>key ...) that DOC (the same) lacks
missing() { comm -23 <(printf '%s\n' "$1" | cut -f1,2 | sort -u) <(printf '%s\n' "$2" | cut -f1,2 | sort -u); }

documented=$(man_keys)
shown=$(example_keys)
tap_is "$(missing "$keys" "$documented")" "" "kubestrap.conf(5) documents every key"
tap_is "$(missing "$keys" "$shown")" "" "examples/controller-0.conf shows every key"
# and the other way: nothing documented that the program does not read (a renamed key)
tap_is "$(missing "$documented" "$keys")" "" "kubestrap.conf(5) documents no key the program lacks"
tap_is "$(missing "$shown" "$keys")" "" \
        "the example shows no key the program lacks"

# the checks above would catch a key added without documentation
tap_is "$(missing "$keys"$'\ncluster\tnew-key\ttext\t(none)' "$documented")" $'cluster\tnew-key' \
        "a key missing from the man page is named"
tap_is "$(missing "$keys"$'\netcd\tnew-key\tpath\t(none)' "$shown")" $'etcd\tnew-key' \
        "a key missing from the example is named"

# the man page is well-formed (groff's own warnings, when groff is here)
if command -v groff >/dev/null; then
        tap_is "$(LC_ALL=C groff -man -ww -z "$MAN" 2>&1)" "" "kubestrap.conf.5: groff reports nothing"
else
        tap_skip "groff is not installed"
fi
tap_done
