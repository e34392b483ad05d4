/* Version markers: the release that <base-url>/stable.txt or stable-1.NN.txt names, read over
 * the verified HTTPS client with the [download] settings, mirrors tried in order. */
#include "marker.h"

#include <errno.h>
#include <string.h>

#include "fetch.h"
#include "log.h"
#include "plan.h"
#include "release.h"
#include "skew.h"
#include "util.h"
#include "validate.h"

/* A marker holds a dozen bytes; anything much larger is not one. */
#define MARKER_MAX 256

bool marker_is(const char *version)
{
        return validate_version_marker(version, NULL) >= 0;
}

bool marker_matches(const char *marker, const char *version)
{
        struct kube_version v;
        unsigned minor;
        if (kube_version_parse(version, &v) < 0)
                return false;
        if (streq(marker, "stable"))
                return true;
        /* stable-1.NN: validated when the config was loaded */
        return safe_atou(marker + strlen("stable-1."), &minor) >= 0 && v.major == 1 &&
               v.minor == minor;
}

int marker_parse(const char *marker, const char *body, size_t len, char **ret_version)
{
        /* kubeadm trims too: dl.k8s.io writes no newline, a mirror's copy may have one */
        while (len > 0 && strchr(" \t\r\n", body[0])) {
                body++;
                len--;
        }
        while (len > 0 && strchr(" \t\r\n", body[len - 1]))
                len--;
        if (len == 0 || memchr(body, 0, len))
                return -EBADMSG;
        _cleanup_free_ char *v = strndup(body, len);
        if (!v)
                return -ENOMEM;
        if (validate_version(v, NULL) < 0 || !marker_matches(marker, v))
                return -EBADMSG;
        *ret_version = TAKE_PTR(v);
        return 0;
}

/* What a bad marker file held, short and printable, for the message. */
static char *shown_content(const char *body, size_t len)
{
        _cleanup_buf_ struct buf b = {0};
        _cleanup_free_ char *s = strndup(body, len > 64 ? 64 : len);
        if (!s || log_escape_append(&b, s) < 0)
                return NULL;
        if (len > 64 && buf_puts(&b, "…") < 0)
                return NULL;
        return buf_steal(&b);
}

int marker_resolve(const struct model *m, char **ret_version, char **ret_url, char **ret_error)
{
        const char *marker = m->cfg.cluster.version;
        struct http_options http;
        struct fetch_policy policy;
        _cleanup_strv_free_ char **mirrors = NULL;
        struct fetch_job j = {.fd = -1, .alg = DIGEST_SHA256, .max_mem = MARKER_MAX};
        plan_download_options(m, &http, &policy);
        int r = plan_mirrors(m, &mirrors);
        char *u = r >= 0 ? release_marker_url(m->cfg.download.base_url, marker) : NULL;
        r = u ? strv_push(&j.urls, u) : -ENOMEM;
        for (char **mi = mirrors; mi && *mi && r >= 0; mi++) {
                u = release_marker_url(*mi, marker);
                r = u ? strv_push(&j.urls, u) : -ENOMEM;
        }
        if (r >= 0)
                r = fetch_run(&j, 1, &http, &policy, NULL, NULL);
        if (r >= 0 && j.result == -EFBIG) {
                r = -EBADMSG;
                asprintf_safe(ret_error, "%s: larger than %d bytes, not a version marker",
                              j.urls[j.url_index], MARKER_MAX);
        } else if (r >= 0 && j.result < 0) {
                r = j.result;
                asprintf_safe(ret_error, "version marker %s: %s", marker,
                              j.error ? j.error : strerror(-r));
        }
        _cleanup_free_ char *version = NULL;
        if (r >= 0) {
                r = marker_parse(marker, j.body ? j.body : "", j.body_len, &version);
                if (r == -EBADMSG) {
                        _cleanup_free_ char *held = shown_content(j.body ? j.body : "", j.body_len);
                        bool any = streq(marker, "stable");
                        asprintf_safe(ret_error, "%s holds '%s', not a release v%s.x", j.url_used,
                                      held ? held : "?", any ? "X.Y" : marker + strlen("stable-"));
                }
        }
        _cleanup_free_ char *url = r >= 0 ? strdup(j.url_used) : NULL;
        if (r >= 0 && !url)
                r = -ENOMEM;
        strv_free(j.urls);
        fetch_job_done(&j);
        if (r < 0)
                return r;
        *ret_version = TAKE_PTR(version);
        *ret_url = TAKE_PTR(url);
        return 0;
}
