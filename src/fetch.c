/* Downloads that are verified as they arrive: every byte is hashed and written in one pass. */
#include "fetch.h"

#include <errno.h>
#include <string.h>

#include "fileio.h"
#include "util.h"

char *fetch_binary_url(const char *base_url, const char *version, const char *arch,
                       const char *name)
{
        char *u = NULL;
        size_t l = strlen(base_url);
        while (l > 0 && base_url[l - 1] == '/')
                l--;
        if (asprintf(&u, "%.*s/%s/bin/linux/%s/%s", (int)l, base_url, version, arch, name) < 0)
                return NULL;
        return u;
}

int fetch_sidecar(const char *url, enum digest_alg alg, const char *name,
                  const struct http_options *o, char ret_hex[DIGEST_HEX_MAX], char **ret_error)
{
        _cleanup_free_ char *surl = strjoin3(url, ".", digest_alg_to_string(alg));
        _cleanup_free_ char *body = NULL, *err = NULL;
        size_t len = 0;
        if (!surl)
                return -ENOMEM;
        /* A sidecar is one line; a large answer is not one and is not read whole. */
        int r = http_get_small(surl, o, 4096, &body, &len, &err);
        if (r < 0) {
                asprintf_safe(ret_error, "%s: %s", surl, err ? err : strerror(-r));
                return r;
        }
        r = digest_parse_sidecar(body, len, alg, name, ret_hex);
        if (r == -ENOENT)
                asprintf_safe(ret_error, "%s: checksum file names another file, not '%s'", surl,
                              name);
        else if (r < 0)
                asprintf_safe(ret_error,
                              "%s: malformed checksum file (expected %zu hex digits, "
                              "optionally followed by the file name)",
                              surl, digest_hex_len(alg));
        return r < 0 ? -EBADMSG : 0;
}

struct sink {
        int fd;
        struct digest *d;
};

static int sink_write(const void *data, size_t len, void *userdata)
{
        struct sink *s = userdata;
        int r = digest_update(s->d, data, len);
        if (r < 0)
                return r;
        return write_all(s->fd, data, len);
}

int fetch_verified(const char *url, const struct http_options *o, int fd, enum digest_alg alg,
                   const char *expect_hex, char **ret_error)
{
        _cleanup_(digest_freep) struct digest *d = NULL;
        _cleanup_free_ char *err = NULL;
        int r = digest_new(alg, &d);
        if (r < 0)
                return r;
        struct sink s = {.fd = fd, .d = d};
        r = http_get(url, o, sink_write, &s, &err);
        if (r < 0) {
                asprintf_safe(ret_error, "%s: %s", url, err ? err : strerror(-r));
                return r;
        }
        char got[DIGEST_HEX_MAX];
        r = digest_final_hex(d, got);
        if (r < 0)
                return r;
        if (!streq(got, expect_hex)) {
                asprintf_safe(ret_error, "%s: digest mismatch: expected %s:%s, got %s:%s", url,
                              digest_alg_to_string(alg), expect_hex, digest_alg_to_string(alg),
                              got);
                return -EBADMSG;
        }
        return 0;
}
