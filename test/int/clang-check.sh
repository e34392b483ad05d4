#!/bin/bash
# Every source file also compiles under clang. Beyond portability, clang refuses a goto that
# jumps past the declaration of an __attribute__((cleanup)) variable, which gcc accepts and
# which would free an uninitialized pointer on that path.
set -eu
: "${top_srcdir:=$(cd "$(dirname "$0")/../.." && pwd)}"
: "${top_builddir:=$top_srcdir}"
. "$top_srcdir/test/lib/tap.sh"
if ! command -v clang >/dev/null; then echo "1..0 # SKIP clang is not installed"; exit 0; fi
flags=$(pkg-config --cflags libcurl libarchive libsystemd libcrypto yaml-0.1)
for f in "$top_srcdir"/src/*/*.c "$top_srcdir"/test/*.c "$top_srcdir"/test/*/*.c "$top_srcdir"/fuzz/*.c; do
        # shellcheck disable=SC2086
        tap_ok "clang: ${f#"$top_srcdir"/}" clang -fsyntax-only -std=gnu11 -Werror -Wall -Wno-unused-parameter \
                -include "$top_builddir/ksconfig.h" -iquote "$top_srcdir/src/base" -iquote "$top_srcdir/src/sys" -iquote "$top_srcdir/src/core" -iquote "$top_srcdir/src/cmd" -iquote "$top_srcdir/test/lib" $flags "$f"
done
tap_done
