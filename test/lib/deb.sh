# shellcheck shell=bash
# test/lib/deb.sh - the kubestrap Debian package, built the way a distribution builds it
# (dpkg-buildpackage -us -uc -b) from this tree's distribution (make distdir), once per content
# of that tree: under $top_builddir/test/deb/HASH, reused by every test that asks for it
# (sys-deb, sys-firstboot), so a CI run builds it once.
#   deb_build || skip "$DEB_WHY"   # sets DEB (the .deb) and DEB_DIR (with the .changes and build.log)

deb_build() {
        local cache=$top_builddir/test/deb tmp hash
        DEB='' DEB_DIR='' DEB_WHY=''
        if ! command -v dpkg-buildpackage >/dev/null || ! command -v dh >/dev/null; then
                DEB_WHY="dpkg-buildpackage or debhelper is not installed (scripts/deps)"
                return 1
        fi
        mkdir -p "$cache"
        exec {_deb_lock}>"$cache/.lock"
        flock "$_deb_lock"
        tmp=$(mktemp -d "$cache/dist.XXXXXX")
        if ! make -s -C "$top_builddir" distdir distdir="$tmp/kubestrap-src" >"$tmp/distdir.log" 2>&1; then
                DEB_WHY="make distdir failed: $(tail -n 3 "$tmp/distdir.log")"
                rm -rf "$tmp"
                flock -u "$_deb_lock"
                return 1
        fi
        hash=$(cd "$tmp/kubestrap-src" && find . -type f -print0 | LC_ALL=C sort -z | xargs -0 sha256sum |
                sha256sum | cut -c1-16)
        if [ ! -d "$cache/$hash" ]; then
                # a clean environment, as on a build daemon: a make check above us would hand its
                # TESTS and jobserver down through MAKEFLAGS, and its test variables (KUBESTRAP,
                # top_srcdir) would point the package's own tests at this tree's build
                if ! (cd "$tmp/kubestrap-src" && env -i PATH="$PATH" HOME="${HOME:-/root}" LC_ALL=C.UTF-8 \
                        dpkg-buildpackage -us -uc -b) >"$tmp/build.log" 2>&1; then
                        DEB_WHY="dpkg-buildpackage failed: $(tail -n 5 "$tmp/build.log")"
                        rm -rf "$tmp"
                        flock -u "$_deb_lock"
                        return 1
                fi
                rm -rf "$tmp/kubestrap-src" "$tmp/distdir.log"
                mv "$tmp" "$cache/$hash"
        else
                rm -rf "$tmp"
        fi
        flock -u "$_deb_lock"
        DEB_DIR=$cache/$hash
        DEB=$(ls "$DEB_DIR"/kubestrap_*.deb)
}
