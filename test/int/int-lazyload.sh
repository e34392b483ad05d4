#!/bin/bash
# Integration: libcurl is loaded only when a transfer or a probe needs it (issue 16, item 10). A
# no-op apply --root maps none of its ~35 libraries (LD_DEBUG=files lists every object the
# loader maps, at start and by dlopen), so linking it eagerly again fails here; without
# libcurl, a no-op still works and a download names the library and the package to install.
set -eu
. "${top_srcdir:-$(dirname "$0")/../..}/test/lib/common.sh"
ks_setup

# ks_via CMD... -- ARGS...: like ks, kubestrap ARGS run through CMD (an env or a wrapper)
ks_via() {
        local pre=() o e
        while [ "$1" != -- ]; do pre+=("$1"); shift; done
        shift
        o=$(mktemp) e=$(mktemp)
        RC=0
        "${pre[@]}" "$KUBESTRAP" "$@" >"$o" 2>"$e" || RC=$?
        OUT=$(cat "$o") ERR=$(cat "$e")
        rm -f "$o" "$e"
}
# ks_loaded ARGS...: with the loader's list of every object it mapped in $ERR
ks_loaded() { ks_via env LD_DEBUG=files -- "$@"; }
curl_lines() { printf '%s\n' "$ERR" | grep -c 'file=libcurl\.so\.4 ' || true; }

ks_loaded -c "$CONF" --root "$ROOT" --output json apply
tap_is "$RC" 0 "a fresh apply succeeds"
tap_like "$ERR" 'file=libcurl\.so\.4 .*dynamically loaded by' "it loads libcurl when it downloads, by dlopen"
tap_like "$(printf '%s\n' "$OUT" | tail -n 1)" '"changed":24,' "and installs everything"

ks_loaded -c "$CONF" --root "$ROOT" --output json apply
tap_is "$RC" 0 "a no-op apply succeeds"
tap_like "$(printf '%s\n' "$OUT" | tail -n 1)" '"changed":0,"unchanged":24,"failed":0' "it changes nothing"
tap_is "$(curl_lines)" 0 "a no-op apply --root does not map libcurl"
tap_unlike "$ERR" 'file=libgnutls|file=libldap|file=libssh2' "nor any of its dependencies"

ks_loaded -c "$CONF" --root "$ROOT" plan
tap_is "$RC" 0 "plan on the converged tree succeeds"
tap_is "$(curl_lines)" 0 "and does not map libcurl either"

ks version
tap_like "$OUT" 'libcurl/[0-9]' "version names the libcurl it would use (and loads it for that)"

# Without libcurl: an empty file over it in a mount namespace of our own (needs root).
lib=$(readlink -f /lib/*-linux-gnu/libcurl.so.4 2>/dev/null | head -n 1)
if [ "$(id -u)" != 0 ] || [ ! -f "$lib" ] || ! unshare -m true 2>/dev/null; then
        tap_skip "runs without libcurl" "needs root, unshare and $lib"
else
        # kubestrap in a mount namespace where libcurl.so.4 is an empty file
        no_curl() { ks_via unshare -m sh -c 'mount --bind /dev/null "$1" && shift && exec "$@"' sh "$lib" -- "$@"; }
        no_curl -c "$CONF" --root "$ROOT" apply
        tap_is "$RC" 0 "without libcurl, a no-op apply --root still succeeds"
        mkdir "$WORK/empty"
        no_curl -c "$CONF" --root "$WORK/empty" apply
        tap_is "$RC" 1 "without libcurl, an apply that must download fails"
        tap_like "$ERR" "$MIRROR_URL/[^ ]*: cannot load libcurl\.so\.4 \([^)]*\): install libcurl4" \
                "naming the URL, the library, why it could not be loaded and the package"
        tap_is "$(find "$WORK/empty" -mindepth 1 | wc -l)" 0 "and leaves the tree as it was"
fi
tap_done
