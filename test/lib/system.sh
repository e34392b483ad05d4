# shellcheck shell=bash
# test/lib/system.sh - the common start of a system test on booted hosts: the libraries, a
# clean skip where hosts cannot be had, a work directory removed on exit (KS_TEST_KEEP=1
# keeps it), and N hosts booted.
#   . "${top_srcdir:-$(dirname "$0")/..}/test/lib/system.sh"; sys_begin N NAME
: "${top_srcdir:=$(cd "$(dirname "${BASH_SOURCE[0]}")/../.." && pwd)}"
# the integration fixture's defaults, tap.sh and mirror.sh
. "$top_srcdir/test/lib/common.sh"
. "$top_srcdir/test/lib/hosts.sh"
. "$top_srcdir/test/lib/provision.sh"

# Under the TAP driver a skip is the "1..0 # SKIP" plan with status 0.
skip_all() { echo "1..0 # SKIP $*"; exit 0; }

sys_end() {
        etcd_stop 2>/dev/null || true
        mirror_stop 2>/dev/null || true
        hosts_down || true
        if [ "${KS_TEST_KEEP:-0}" = 1 ]; then echo "# kept $wd"; else rm -rf "$wd"; fi
}

# sys_begin N NAME: sets wd (a fresh work directory) and boots hosts 0..N-1.
sys_begin() {
        [ "${KS_SYSTEM_TESTS:-}" != skip ] || skip_all "KS_SYSTEM_TESTS=skip (they ran in the main pass)"
        [ "$(id -u)" = 0 ] || skip_all "needs root"
        command -v systemd-nspawn >/dev/null || skip_all "no systemd-nspawn (scripts/deps installs it)"
        wd=$(mktemp -d "/tmp/$2.XXXXXX")
        chmod 0755 "$wd"
        trap sys_end EXIT
        hosts_up "$1" "$wd/h" || skip_all "the test hosts did not boot (KS_TEST_KEEP=1 keeps the logs)"
}
