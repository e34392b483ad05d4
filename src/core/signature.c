/* The release signatures policy: the mode for a release, the trust loaded from the configured
 * (or shipped) roots and CT log keys, and one binary's check worded for the operator. */
#include "signature.h"

#include <errno.h>
#include <string.h>

#include "fileio.h"
#include "util.h"
#include "versions.h"

#ifndef SIGSTOREDIR
#define SIGSTOREDIR "/usr/share/kubestrap/sigstore"
#endif

/* PEM files of a few certificates or keys; a megabyte is far beyond any real one. */
#define TRUST_FILE_MAX (1u << 20)

const char *signature_mode_to_string(enum signature_mode mode)
{
        return mode == SIGNATURE_REQUIRE      ? "require"
               : mode == SIGNATURE_IF_PRESENT ? "if-present"
                                              : "off";
}

enum signature_mode signature_mode_for(const struct model *m, const char *version)
{
        const char *s = m->cfg.download.signatures;
        if (s && streq(s, "require"))
                return SIGNATURE_REQUIRE;
        if (s && streq(s, "if-present"))
                return SIGNATURE_IF_PRESENT;
        if (s && streq(s, "off"))
                return SIGNATURE_OFF;
        unsigned minor = 0;
        /* a version that is no plain release (not resolved) is taken as a current one */
        if (version_minor(version, &minor) < 0)
                return SIGNATURE_REQUIRE;
        return minor >= SIGNATURE_FIRST_MINOR ? SIGNATURE_REQUIRE : SIGNATURE_OFF;
}

struct signature_policy *signature_policy_free(struct signature_policy *p)
{
        if (!p)
                return NULL;
        sigstore_trust_free(p->trust);
        free(p->roots_path);
        free(p->logs_path);
        free(p);
        return NULL;
}

static void signature_policy_freep(struct signature_policy **p)
{
        signature_policy_free(*p);
}

int signature_policy_new(const struct model *m, const char *version, struct signature_policy **ret,
                         char **ret_error)
{
        _cleanup_(signature_policy_freep) struct signature_policy *p = calloc(1, sizeof(*p));
        if (!p)
                return -ENOMEM;
        p->mode = signature_mode_for(m, version);
        p->identity = m->cfg.download.signature_identity;
        p->issuer = m->cfg.download.signature_issuer;
        const char *roots = m->cfg.download.signature_roots, *logs = m->cfg.download.ct_log_keys;
        p->roots_path = roots && *roots ? strdup(roots) : strdup(SIGSTOREDIR "/roots.pem");
        p->logs_path = logs && *logs ? strdup(logs) : strdup(SIGSTOREDIR "/ct-log-keys.pem");
        if (!p->roots_path || !p->logs_path)
                return -ENOMEM;
        if (p->mode == SIGNATURE_OFF) {
                *ret = TAKE_PTR(p);
                return 0;
        }
        _cleanup_free_ char *rt = NULL, *lt = NULL, *why = NULL;
        size_t rl = 0, ll = 0;
        const char *failed = p->roots_path;
        int r = read_file_trusted(p->roots_path, TRUST_FILE_MAX, &rt, &rl);
        if (r >= 0) {
                failed = p->logs_path;
                r = read_file_trusted(p->logs_path, TRUST_FILE_MAX, &lt, &ll);
        }
        if (r < 0) {
                asprintf_safe(ret_error, "%s: %s ([download] %s, signatures = %s)", failed,
                              fileio_strerror(r),
                              failed == p->roots_path ? "signature-roots" : "ct-log-keys",
                              signature_mode_to_string(p->mode));
                return r;
        }
        r = sigstore_trust_new(rt, rl, lt, ll, &p->trust, &why);
        if (r < 0) {
                asprintf_safe(ret_error, "%s: %s",
                              why && startswith(why, "CT") ? p->logs_path : p->roots_path,
                              why ? why : strerror(-r));
                return r;
        }
        *ret = TAKE_PTR(p);
        return 0;
}

int signature_check(const struct signature_policy *p, const char *name, const char *url,
                    const char *sha256_hex, const char *sig, size_t sig_len, const char *cert,
                    size_t cert_len, char **ret_signed_by, char **ret_error)
{
        struct sigstore_result res = {0};
        int r = sigstore_verify(p->trust, sha256_hex, sig, sig_len, cert, cert_len, p->identity,
                                p->issuer, &res);
        if (r >= 0)
                asprintf_safe(ret_signed_by, "%s (%s)", res.identity, res.issuer);
        else
                asprintf_safe(ret_error, "%s (%s): signature refused: %s", name, url,
                              res.reason ? res.reason : strerror(-r));
        sigstore_result_done(&res);
        return r;
}
