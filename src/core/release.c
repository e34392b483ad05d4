/* The Kubernetes release layout: the URL of each release file and the tarball's member paths,
 * written once for plan and fetch. */
#include "release.h"

#include <stdio.h>
#include <string.h>

#include "util.h"

/* base_url without trailing slashes, then "/<version>/" and the rest */
static char *release_url(const char *base_url, const char *version, const char *rest)
{
        char *u = NULL;
        size_t l = strlen(base_url);
        while (l > 0 && base_url[l - 1] == '/')
                l--;
        if (asprintf(&u, "%.*s/%s/%s", (int)l, base_url, version, rest) < 0)
                return NULL;
        return u;
}

char *release_marker_url(const char *base_url, const char *marker)
{
        char *u = NULL;
        size_t l = strlen(base_url);
        while (l > 0 && base_url[l - 1] == '/')
                l--;
        if (asprintf(&u, "%.*s/%s.txt", (int)l, base_url, marker) < 0)
                return NULL;
        return u;
}

char *release_binary_url(const char *base_url, const char *version, const char *arch,
                         const char *name)
{
        _cleanup_free_ char *rest = NULL;
        if (asprintf(&rest, "bin/linux/%s/%s", arch, name) < 0)
                return NULL;
        return release_url(base_url, version, rest);
}

char *release_tarball_url(const char *base_url, const char *version, const char *arch)
{
        _cleanup_free_ char *rest = NULL;
        if (asprintf(&rest, "kubernetes-server-linux-%s.tar.gz", arch) < 0)
                return NULL;
        return release_url(base_url, version, rest);
}

char *release_tarball_member(const char *name)
{
        return strjoin3("kubernetes/server/bin/", name, NULL);
}

char *release_sidecar_url(const char *file_url, enum digest_alg alg)
{
        return strjoin3(file_url, ".", digest_alg_to_string(alg));
}

char *release_etcd_tarball_url(const char *base_url, const char *version, const char *arch)
{
        _cleanup_free_ char *rest = NULL;
        if (asprintf(&rest, "etcd-%s-linux-%s.tar.gz", version, arch) < 0)
                return NULL;
        return release_url(base_url, version, rest);
}

char *release_etcd_sums_url(const char *base_url, const char *version)
{
        return release_url(base_url, version, "SHA256SUMS");
}

char *release_etcd_member(const char *version, const char *arch, const char *name)
{
        char *m = NULL;
        if (asprintf(&m, "etcd-%s-linux-%s/%s", version, arch, name) < 0)
                return NULL;
        return m;
}
