#!/bin/bash
# The layers of src/ point one way: cmd/ (verbs, reporting) may use core/, sys/ and base/;
# core/ (model, plan, install, service…) may use sys/ and base/; sys/ (one wrapper per
# external library) may use base/; base/ (strings, files, logging) uses none of them. Every
# #include "x.h" in src/ is checked against the folder that holds x.h.
set -eu
. "${top_srcdir:-$(dirname "$0")/../..}/test/lib/tap.sh"
src=${top_srcdir:-$(dirname "$0")/../..}/src
rank() { case $1 in base) echo 0 ;; sys) echo 1 ;; core) echo 2 ;; cmd) echo 3 ;; *) echo 9 ;; esac; }
declare -A home
for d in base sys core cmd; do
        for h in "$src/$d"/*.h; do home[$(basename "$h")]=$d; done
done
tap_is "$(find "$src" -maxdepth 1 -name '*.[ch]' | wc -l)" 0 "no source file outside the four layers"
for f in "$src"/*/*.[ch]; do
        layer=$(basename "$(dirname "$f")")
        bad=""
        while read -r h; do
                to=${home[$h]:-}
                if [ -z "$to" ]; then
                        bad="$bad $h(unknown)"
                elif [ "$(rank "$to")" -gt "$(rank "$layer")" ]; then
                        bad="$bad $h($to)"
                fi
        done < <(sed -n 's/^#include "\([^"]*\)".*/\1/p' "$f")
        tap_is "${bad# }" "" "${f#"$src"/}: includes only its own layer and those below"
done
tap_done
