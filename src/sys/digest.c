/* Message digests through OpenSSL's EVP interface, and parsing of checksum sidecar files. */
#include "digest.h"

#include <ctype.h>
#include <errno.h>
#include <openssl/evp.h>
#include <string.h>
#include <unistd.h>

#include "fileio.h"
#include "util.h"

struct digest {
        EVP_MD_CTX *ctx;
        enum digest_alg alg;
};

static const char *const alg_names[_DIGEST_MAX] = {
    [DIGEST_SHA256] = "sha256",
    [DIGEST_SHA512] = "sha512",
};

int digest_alg_from_string(const char *s)
{
        for (int i = 0; i < _DIGEST_MAX; i++)
                if (streq(s, alg_names[i]))
                        return i;
        return -EINVAL;
}

const char *digest_alg_to_string(enum digest_alg alg)
{
        return alg < _DIGEST_MAX ? alg_names[alg] : "unknown";
}

size_t digest_hex_len(enum digest_alg alg)
{
        return alg == DIGEST_SHA512 ? 128 : 64;
}

int digest_new(enum digest_alg alg, struct digest **ret)
{
        const EVP_MD *md = alg == DIGEST_SHA512 ? EVP_sha512() : EVP_sha256();
        struct digest *d = calloc(1, sizeof(*d));
        if (!d)
                return -ENOMEM;
        d->alg = alg;
        d->ctx = EVP_MD_CTX_new();
        if (!d->ctx || EVP_DigestInit_ex(d->ctx, md, NULL) != 1) {
                digest_free(d);
                return -ENOMEM;
        }
        *ret = d;
        return 0;
}

int digest_update(struct digest *d, const void *data, size_t len)
{
        return EVP_DigestUpdate(d->ctx, data, len) == 1 ? 0 : -EIO;
}

int digest_final_hex(struct digest *d, char ret[DIGEST_HEX_MAX])
{
        unsigned char md[EVP_MAX_MD_SIZE];
        unsigned int n = 0;
        if (EVP_DigestFinal_ex(d->ctx, md, &n) != 1)
                return -EIO;
        for (unsigned i = 0; i < n; i++)
                snprintf(ret + 2 * i, 3, "%02x", md[i]);
        ret[2 * n] = 0;
        return 0;
}

struct digest *digest_free(struct digest *d)
{
        if (!d)
                return NULL;
        EVP_MD_CTX_free(d->ctx);
        free(d);
        return NULL;
}

/* Hashes fd from its position to the end, writing every chunk to out_fd too when >= 0. */
static int hash_copy(int fd, int out_fd, enum digest_alg alg, char ret[DIGEST_HEX_MAX])
{
        _cleanup_(digest_freep) struct digest *d = NULL;
        int r = digest_new(alg, &d);
        if (r < 0)
                return r;
        static char chunk[1 << 17];
        for (;;) {
                ssize_t n = read(fd, chunk, sizeof(chunk));
                if (n < 0) {
                        if (errno == EINTR)
                                continue;
                        return -errno;
                }
                if (n == 0)
                        break;
                r = digest_update(d, chunk, (size_t)n);
                if (r >= 0 && out_fd >= 0)
                        r = write_all(out_fd, chunk, (size_t)n);
                if (r < 0)
                        return r;
        }
        return digest_final_hex(d, ret);
}

int digest_fd(int fd, enum digest_alg alg, char ret[DIGEST_HEX_MAX])
{
        return hash_copy(fd, -1, alg, ret);
}

int digest_copy_verified(int in_fd, int out_fd, enum digest_alg alg, const char *expect_hex)
{
        char hex[DIGEST_HEX_MAX];
        int r = hash_copy(in_fd, out_fd, alg, hex);
        if (r < 0)
                return r;
        if (streq(hex, expect_hex))
                return 0;
        /* nothing of a wrong file stays where it could be taken for the right one */
        if (ftruncate(out_fd, 0) < 0 || lseek(out_fd, 0, SEEK_SET) < 0)
                return -errno;
        return -EBADMSG;
}

int digest_normalize_hex(enum digest_alg alg, const char *hex, char ret[DIGEST_HEX_MAX])
{
        size_t want = digest_hex_len(alg);
        if (strlen(hex) != want)
                return -EINVAL;
        for (size_t i = 0; i < want; i++) {
                if (!isxdigit((unsigned char)hex[i]))
                        return -EINVAL;
                ret[i] = (char)tolower((unsigned char)hex[i]);
        }
        ret[want] = 0;
        return 0;
}

int digest_parse_pin(const char *s, enum digest_alg *ret_alg, char ret[DIGEST_HEX_MAX])
{
        enum digest_alg alg;
        const char *hex;
        if (startswith(s, "sha256:")) {
                alg = DIGEST_SHA256;
                hex = s + 7;
        } else if (startswith(s, "sha512:")) {
                alg = DIGEST_SHA512;
                hex = s + 7;
        } else {
                hex = s;
                alg = strlen(s) == 128 ? DIGEST_SHA512 : DIGEST_SHA256;
        }
        int r = digest_normalize_hex(alg, hex, ret);
        if (r < 0)
                return r;
        *ret_alg = alg;
        return 0;
}

int digest_parse_sidecar(const char *text, size_t len, enum digest_alg alg, const char *name,
                         char ret[DIGEST_HEX_MAX])
{
        size_t want = digest_hex_len(alg);
        /* A real sidecar is one short line; anything much larger is not one. */
        if (len > want + 2 + 4096 || len < want)
                return -EBADMSG;
        if (memchr(text, 0, len))
                return -EBADMSG;
        size_t i = 0;
        char hex[DIGEST_HEX_MAX];
        for (; i < len && isxdigit((unsigned char)text[i]); i++) {
                if (i >= want)
                        return -EBADMSG;
                hex[i] = text[i];
        }
        if (i != want)
                return -EBADMSG;
        hex[i] = 0;
        /* rest: optional "  NAME" or " *NAME", then optional newline */
        const char *rest = text + i;
        size_t rlen = len - i;
        if (rlen > 0 && rest[rlen - 1] == '\n')
                rlen--;
        if (rlen > 0 && rest[rlen - 1] == '\r')
                rlen--;
        if (rlen > 0) {
                if (rest[0] != ' ' && rest[0] != '\t')
                        return -EBADMSG;
                size_t j = 0;
                while (j < rlen && (rest[j] == ' ' || rest[j] == '\t'))
                        j++;
                if (j < rlen && rest[j] == '*') /* binary-mode marker */
                        j++;
                const char *fname = rest + j;
                size_t flen = rlen - j;
                if (memchr(fname, '\n', flen))
                        return -EBADMSG; /* more than one line */
                if (flen > 0) {
                        /* Accept "name" or "path/to/name" as long as the last component matches. */
                        const char *slash = memrchr(fname, '/', flen);
                        if (slash) {
                                flen -= (size_t)(slash + 1 - fname);
                                fname = slash + 1;
                        }
                        if (name && (flen != strlen(name) || memcmp(fname, name, flen) != 0))
                                return -ENOENT;
                }
        }
        return digest_normalize_hex(alg, hex, ret);
}

int digest_parse_sums(const char *text, size_t len, enum digest_alg alg, const char *name,
                      char ret[DIGEST_HEX_MAX])
{
        if (memchr(text, 0, len))
                return -EBADMSG;
        for (const char *p = text; p < text + len;) {
                const char *nl = memchr(p, '\n', (size_t)(text + len - p));
                size_t l = nl ? (size_t)(nl - p) : (size_t)(text + len - p);
                /* every line must be well formed, not only ours: a damaged list is not read */
                if (l > 0) {
                        int r = digest_parse_sidecar(p, l, alg, NULL, ret);
                        if (r < 0)
                                return r;
                        const char *fname = p + digest_hex_len(alg);
                        size_t flen = l - digest_hex_len(alg);
                        while (flen > 0 && (*fname == ' ' || *fname == '\t' || *fname == '*')) {
                                fname++;
                                flen--;
                        }
                        if (flen > 0 && fname[flen - 1] == '\r')
                                flen--;
                        if (flen == strlen(name) && memcmp(fname, name, flen) == 0)
                                return 0;
                }
                p += l + 1;
        }
        return -ENOENT;
}

int digest_sha1_raw(const void *data, size_t len, unsigned char ret[20])
{
        unsigned int n = 0;
        return EVP_Digest(data, len, ret, &n, EVP_sha1(), NULL) == 1 && n == 20 ? 0 : -EIO;
}

int base64_decode(const char *in, char **ret, size_t *ret_len)
{
        size_t l = strlen(in);
        if (l == 0 || l % 4 != 0 || l > (64u << 20))
                return -EINVAL;
        unsigned char *out = malloc(l / 4 * 3 + 1);
        if (!out)
                return -ENOMEM;
        int n = EVP_DecodeBlock(out, (const unsigned char *)in, (int)l);
        if (n < 0) {
                free(out);
                return -EINVAL;
        }
        /* EVP_DecodeBlock counts padding as data: take it off again. */
        if (in[l - 1] == '=')
                n--;
        if (in[l - 2] == '=')
                n--;
        out[n] = 0;
        *ret = (char *)out;
        *ret_len = (size_t)n;
        return 0;
}

int digest_buffer(enum digest_alg alg, const void *data, size_t len, char ret[DIGEST_HEX_MAX])
{
        _cleanup_(digest_freep) struct digest *d = NULL;
        int r = digest_new(alg, &d);
        if (r >= 0)
                r = digest_update(d, data, len);
        if (r >= 0)
                r = digest_final_hex(d, ret);
        return r;
}

int base64_encode(const void *in, size_t len, char **ret)
{
        if (len > (256u << 20))
                return -E2BIG;
        char *out = malloc(4 * ((len + 2) / 3) + 1);
        if (!out)
                return -ENOMEM;
        EVP_EncodeBlock((unsigned char *)out, in, (int)len);
        *ret = out;
        return 0;
}
