/* Offline checks of Sigstore keyless signatures through OpenSSL alone: the ECDSA signature
 * over a file's SHA-256, the leaf's chain to pinned roots at its notBefore, its codeSigning
 * usage, SAN identity and OIDC issuer extension, and its embedded SCT against pinned CT logs.
 * Kept apart from digest.c (hashing) and pki.c (the cluster's own certificates) because it
 * is the one place that decides whether a release binary is trusted. */
#include "sigstore.h"

#include <ctype.h>
#include <stdbool.h>
#include <errno.h>
#include <openssl/ct.h>
#include <openssl/err.h>
#include <openssl/evp.h>
#include <openssl/pem.h>
#include <openssl/x509.h>
#include <openssl/x509v3.h>
#include <stdio.h>
#include <string.h>
#include <sys/mman.h>
#include <unistd.h>

#include "digest.h"
#include "util.h"

/* Fulcio's OIDC issuer extensions (sigstore/fulcio pkg/certificate/extensions.go): .1.8 holds
 * a DER UTF8String, the deprecated .1.1 the raw bytes. */
#define OID_ISSUER_V2 "1.3.6.1.4.1.57264.1.8"
#define OID_ISSUER_V1 "1.3.6.1.4.1.57264.1.1"

/* .sig and .cert are a few KiB; anything far larger is not one. */
#define SIGSTORE_INPUT_MAX (64u << 10)

struct sigstore_trust {
        X509_STORE *store;
        CTLOG_STORE *logs;
};

struct sigstore_trust *sigstore_trust_free(struct sigstore_trust *t)
{
        if (!t)
                return NULL;
        X509_STORE_free(t->store);
        CTLOG_STORE_free(t->logs);
        free(t);
        return NULL;
}

void sigstore_result_done(struct sigstore_result *r)
{
        free(r->reason);
        free(r->identity);
        free(r->issuer);
        free(r->log);
        *r = (struct sigstore_result){0};
}

static char *b64(const unsigned char *data, size_t len)
{
        char *s = NULL;
        return base64_encode(data, len, &s) < 0 ? NULL : s;
}

/* A CT log is named by its log ID (SHA-256 of its key), base64, as trusted_root.json does. */
static char *pubkey_log_id(EVP_PKEY *k)
{
        unsigned char *der = NULL;
        int l = i2d_PUBKEY(k, &der);
        if (l <= 0)
                return NULL;
        unsigned char md[32];
        int ok = EVP_Digest(der, (size_t)l, md, NULL, EVP_sha256(), NULL);
        OPENSSL_free(der);
        return ok == 1 ? b64(md, sizeof(md)) : NULL;
}

static int load_roots(X509_STORE *store, const char *pem, size_t len, char **ret_error)
{
        BIO *bio = BIO_new_mem_buf(pem, (int)len);
        size_t n = 0, self_signed = 0;
        if (!bio)
                return -ENOMEM;
        for (;;) {
                X509 *x = PEM_read_bio_X509(bio, NULL, NULL, NULL);
                if (!x)
                        break;
                if (X509_get_extension_flags(x) & EXFLAG_SS)
                        self_signed++;
                int ok = X509_STORE_add_cert(store, x);
                X509_free(x);
                if (ok != 1) {
                        BIO_free(bio);
                        return -ENOMEM;
                }
                n++;
        }
        BIO_free(bio);
        ERR_clear_error(); /* the loop ends on "no start line" */
        if (n == 0 || self_signed == 0) {
                asprintf_safe(ret_error, "%s",
                              n == 0 ? "no PEM certificate in it"
                                     : "no self-signed root certificate in it");
                return -EBADMSG;
        }
        return 0;
}

/* OpenSSL 3.0 fills a CTLOG_STORE only from a file in its own config format, so the keys are
 * written in that format into a memory file and loaded through /proc/self/fd: nothing of it
 * is visible in the file system. */
static int load_logs(CTLOG_STORE *logs, const char *pem, size_t len, char **ret_error)
{
        _cleanup_buf_ struct buf conf = {0}, names = {0};
        BIO *bio = BIO_new_mem_buf(pem, (int)len);
        size_t n = 0;
        int r = 0;
        if (!bio)
                return -ENOMEM;
        for (;;) {
                EVP_PKEY *k = PEM_read_bio_PUBKEY(bio, NULL, NULL, NULL);
                if (!k)
                        break;
                unsigned char *der = NULL;
                int l = i2d_PUBKEY(k, &der);
                _cleanup_free_ char *id = pubkey_log_id(k);
                _cleanup_free_ char *key = l > 0 ? b64(der, (size_t)l) : NULL;
                OPENSSL_free(der);
                EVP_PKEY_free(k);
                if (!id || !key) {
                        r = -ENOMEM;
                        break;
                }
                r = buf_printf(&names, "%slog%zu", n ? "," : "", n);
                if (r >= 0)
                        r = buf_printf(&conf, "[log%zu]\ndescription = %s\nkey = %s\n", n, id, key);
                if (r < 0)
                        break;
                n++;
        }
        BIO_free(bio);
        ERR_clear_error();
        if (r < 0)
                return r;
        if (n == 0) {
                asprintf_safe(ret_error, "no PEM public key in it");
                return -EBADMSG;
        }
        _cleanup_close_ int fd = memfd_create("ct-log-keys", MFD_CLOEXEC);
        if (fd < 0)
                return -errno;
        r = buf_puts(&names, "\n");
        if (r >= 0)
                r = dprintf(fd, "enabled_logs = %.*s%.*s", (int)names.len, names.data,
                            (int)conf.len, conf.data) < 0
                        ? -EIO
                        : 0;
        if (r < 0)
                return r;
        char path[64];
        snprintf(path, sizeof(path), "/proc/self/fd/%d", fd);
        if (CTLOG_STORE_load_file(logs, path) != 1) {
                ERR_clear_error();
                asprintf_safe(ret_error, "OpenSSL refused the CT log keys");
                return -EBADMSG;
        }
        return 0;
}

int sigstore_trust_new(const char *roots_pem, size_t roots_len, const char *ctlog_pem,
                       size_t ctlog_len, struct sigstore_trust **ret, char **ret_error)
{
        _cleanup_(sigstore_trust_freep) struct sigstore_trust *t = calloc(1, sizeof(*t));
        if (!t)
                return -ENOMEM;
        t->store = X509_STORE_new();
        t->logs = CTLOG_STORE_new();
        if (!t->store || !t->logs)
                return -ENOMEM;
        _cleanup_free_ char *why = NULL;
        int r = load_roots(t->store, roots_pem, roots_len, &why);
        if (r < 0) {
                asprintf_safe(ret_error, "signature roots: %s", why ? why : strerror(-r));
                return r;
        }
        r = load_logs(t->logs, ctlog_pem, ctlog_len, &why);
        if (r < 0) {
                asprintf_safe(ret_error, "CT log keys: %s", why ? why : strerror(-r));
                return r;
        }
        *ret = TAKE_PTR(t);
        return 0;
}

/* Standard base64 with surrounding whitespace (a trailing newline) tolerated. */
static int decode_b64(const char *in, size_t len, char **ret, size_t *ret_len)
{
        while (len > 0 && isspace((unsigned char)in[len - 1]))
                len--;
        while (len > 0 && isspace((unsigned char)in[0])) {
                in++;
                len--;
        }
        if (len == 0 || len > SIGSTORE_INPUT_MAX || memchr(in, 0, len))
                return -EINVAL;
        _cleanup_free_ char *s = strndup(in, len);
        if (!s)
                return -ENOMEM;
        return base64_decode(s, ret, ret_len);
}

/* The .cert is base64 of a PEM document; cosign also takes raw PEM (loadCertFromPEM). */
static int parse_cert(const char *cert, size_t len, X509 **ret)
{
        _cleanup_free_ char *dec = NULL;
        size_t dec_len = 0;
        const char *pem = cert;
        size_t pem_len = len;
        if (decode_b64(cert, len, &dec, &dec_len) >= 0) {
                pem = dec;
                pem_len = dec_len;
        }
        if (pem_len > SIGSTORE_INPUT_MAX)
                return -EPROTO;
        BIO *bio = BIO_new_mem_buf(pem, (int)pem_len);
        if (!bio)
                return -ENOMEM;
        X509 *x = PEM_read_bio_X509(bio, NULL, NULL, NULL);
        BIO_free(bio);
        ERR_clear_error();
        if (!x)
                return -EPROTO;
        *ret = x;
        return 0;
}

static int hex_to_bytes(const char *hex, unsigned char *out, size_t n)
{
        if (strlen(hex) != 2 * n)
                return -EINVAL;
        for (size_t i = 0; i < n; i++) {
                unsigned v;
                if (!isxdigit((unsigned char)hex[2 * i]) ||
                    !isxdigit((unsigned char)hex[2 * i + 1]) || sscanf(hex + 2 * i, "%2x", &v) != 1)
                        return -EINVAL;
                out[i] = (unsigned char)v;
        }
        return 0;
}

static int check_signature(X509 *leaf, const unsigned char md[32], const unsigned char *sig,
                           size_t sig_len, struct sigstore_result *res)
{
        EVP_PKEY *k = X509_get0_pubkey(leaf);
        char group[32] = "";
        size_t gl = 0;
        if (!k || !EVP_PKEY_is_a(k, "EC") ||
            EVP_PKEY_get_utf8_string_param(k, "group", group, sizeof(group), &gl) != 1 ||
            !streq(group, "prime256v1")) {
                ERR_clear_error();
                asprintf_safe(&res->reason, "the certificate's key is not ECDSA P-256 (%s)",
                              group[0] ? group : "another key type");
                return -EPROTO;
        }
        EVP_PKEY_CTX *pctx = EVP_PKEY_CTX_new(k, NULL);
        if (!pctx)
                return -ENOMEM;
        /* The digest was computed while the file arrived: verify against it, not the bytes. */
        int ok = EVP_PKEY_verify_init(pctx) == 1 &&
                         EVP_PKEY_CTX_set_signature_md(pctx, EVP_sha256()) == 1
                     ? EVP_PKEY_verify(pctx, sig, sig_len, md, 32)
                     : -1;
        EVP_PKEY_CTX_free(pctx);
        ERR_clear_error();
        if (ok != 1) {
                asprintf_safe(&res->reason, "the signature (.sig) does not match the file's "
                                            "bytes under the certificate's key");
                return -EBADMSG;
        }
        return 0;
}

static char *cert_name(X509 *x, int depth)
{
        if (!x)
                return strdup(depth == 0 ? "the leaf certificate" : "a certificate of the chain");
        /* Fulcio's leaves have an empty subject: they are named by their place */
        X509_NAME *n = X509_get_subject_name(x);
        char *s = n && X509_NAME_entry_count(n) > 0 ? X509_NAME_oneline(n, NULL, 0) : NULL;
        char *out = NULL;
        asprintf_safe(&out, "%s certificate%s%s", depth == 0 ? "the leaf" : "the issuing",
                      s ? " " : "", s ? s : "");
        OPENSSL_free(s);
        return out;
}

static const char *fmt_time(time_t t, char buf[32])
{
        struct tm tm;
        if (!gmtime_r(&t, &tm) || !strftime(buf, 32, "%Y-%m-%dT%H:%M:%SZ", &tm))
                snprintf(buf, 32, "@%lld", (long long)t);
        return buf;
}

/* Builds the chain to a configured root as it stood when the leaf was issued: Fulcio's leaves
 * live 10 minutes, so "now" would refuse every one of them (cosign checks at notBefore too). */
static int check_chain(const struct sigstore_trust *t, X509 *leaf, X509 **ret_issuer,
                       struct sigstore_result *res)
{
        X509_STORE_CTX *ctx = X509_STORE_CTX_new();
        if (!ctx)
                return -ENOMEM;
        int r = 0;
        if (X509_STORE_CTX_init(ctx, t->store, leaf, NULL) != 1) {
                X509_STORE_CTX_free(ctx);
                return -ENOMEM;
        }
        X509_VERIFY_PARAM_set_time(X509_STORE_CTX_get0_param(ctx), res->signed_at);
        if (X509_verify_cert(ctx) != 1) {
                int err = X509_STORE_CTX_get_error(ctx);
                int depth = X509_STORE_CTX_get_error_depth(ctx);
                _cleanup_free_ char *who = cert_name(X509_STORE_CTX_get_current_cert(ctx), depth);
                char when[32];
                switch (err) {
                case X509_V_ERR_UNABLE_TO_GET_ISSUER_CERT:
                case X509_V_ERR_UNABLE_TO_GET_ISSUER_CERT_LOCALLY:
                case X509_V_ERR_SELF_SIGNED_CERT_IN_CHAIN:
                case X509_V_ERR_DEPTH_ZERO_SELF_SIGNED_CERT:
                        r = -ENOKEY;
                        break;
                case X509_V_ERR_CERT_NOT_YET_VALID:
                case X509_V_ERR_CERT_HAS_EXPIRED:
                        r = -EKEYEXPIRED;
                        break;
                default:
                        r = -EKEYREJECTED;
                }
                /* for a missing issuer, name the one the certificate asks for */
                X509 *cur = X509_STORE_CTX_get_current_cert(ctx);
                char *by = r == -ENOKEY && cur
                               ? X509_NAME_oneline(X509_get_issuer_name(cur), NULL, 0)
                               : NULL;
                asprintf_safe(&res->reason,
                              "no trusted chain: %s: %s%s%s%s (checked at the leaf's notBefore "
                              "%s against the signature roots)",
                              who ? who : "a certificate", X509_verify_cert_error_string(err),
                              by ? " (issuer " : "", by ? by : "", by ? ")" : "",
                              fmt_time(res->signed_at, when));
                OPENSSL_free(by);
        } else {
                STACK_OF(X509) *chain = X509_STORE_CTX_get0_chain(ctx);
                X509 *issuer = sk_X509_num(chain) > 1 ? sk_X509_value(chain, 1) : NULL;
                if (!issuer || X509_up_ref(issuer) != 1)
                        r = -EKEYREJECTED;
                else
                        *ret_issuer = issuer;
                if (r < 0)
                        asprintf_safe(&res->reason, "no trusted chain: the leaf is self-signed");
        }
        X509_STORE_CTX_free(ctx);
        ERR_clear_error();
        return r;
}

static char *asn1_string_dup(const ASN1_STRING *s)
{
        int l = ASN1_STRING_length(s);
        const unsigned char *d = ASN1_STRING_get0_data(s);
        if (l < 0 || memchr(d, 0, (size_t)l))
                return strdup("(a name with a NUL byte)");
        return strndup((const char *)d, (size_t)l);
}

/* The SAN names the signer: an email for service accounts (Kubernetes' releases), a URI for
 * workload identities. Only an email match counts: signature-identity is an email. */
static int check_identity(X509 *leaf, const char *want, struct sigstore_result *res)
{
        GENERAL_NAMES *names = X509_get_ext_d2i(leaf, NID_subject_alt_name, NULL, NULL);
        bool match = false;
        for (int i = 0; names && i < sk_GENERAL_NAME_num(names); i++) {
                const GENERAL_NAME *g = sk_GENERAL_NAME_value(names, i);
                const ASN1_STRING *s = g->type == GEN_EMAIL ? g->d.rfc822Name
                                       : g->type == GEN_URI ? g->d.uniformResourceIdentifier
                                                            : NULL;
                if (!s)
                        continue;
                const unsigned char *d = ASN1_STRING_get0_data(s);
                int l = ASN1_STRING_length(s);
                if (g->type == GEN_EMAIL && l >= 0 && (size_t)l == strlen(want) &&
                    memcmp(d, want, (size_t)l) == 0) {
                        match = true;
                        free(res->identity);
                        res->identity = strdup(want);
                } else if (!res->identity)
                        res->identity = asn1_string_dup(s);
        }
        GENERAL_NAMES_free(names);
        ERR_clear_error();
        if (match)
                return 0;
        asprintf_safe(&res->reason, "signed by %s, expected %s (signature-identity)",
                      res->identity ? res->identity : "(no SAN email or URI)", want);
        return -EACCES;
}

static int read_issuer(X509 *leaf, char **ret)
{
        ASN1_OBJECT *v2 = OBJ_txt2obj(OID_ISSUER_V2, 1), *v1 = OBJ_txt2obj(OID_ISSUER_V1, 1);
        int r = -ENOENT;
        if (!v2 || !v1) {
                r = -ENOMEM;
                goto out;
        }
        int i = X509_get_ext_by_OBJ(leaf, v2, -1);
        if (i >= 0) {
                const ASN1_OCTET_STRING *os = X509_EXTENSION_get_data(X509_get_ext(leaf, i));
                const unsigned char *p = ASN1_STRING_get0_data(os);
                ASN1_UTF8STRING *u = d2i_ASN1_UTF8STRING(NULL, &p, ASN1_STRING_length(os));
                if (u && p == ASN1_STRING_get0_data(os) + ASN1_STRING_length(os)) {
                        *ret = asn1_string_dup(u);
                        r = *ret ? 0 : -ENOMEM;
                } else
                        r = -EBADMSG;
                ASN1_UTF8STRING_free(u);
                goto out;
        }
        i = X509_get_ext_by_OBJ(leaf, v1, -1);
        if (i >= 0) {
                *ret = asn1_string_dup(X509_EXTENSION_get_data(X509_get_ext(leaf, i)));
                r = *ret ? 0 : -ENOMEM;
        }
out:
        ASN1_OBJECT_free(v2);
        ASN1_OBJECT_free(v1);
        ERR_clear_error();
        return r;
}

static int check_issuer(X509 *leaf, const char *want, struct sigstore_result *res)
{
        int r = read_issuer(leaf, &res->issuer);
        if (r == -ENOMEM)
                return r;
        if (r < 0) {
                asprintf_safe(&res->reason,
                              r == -ENOENT ? "the certificate has no OIDC issuer extension "
                                             "(" OID_ISSUER_V2 " or " OID_ISSUER_V1 "), expected %s"
                                           : "the certificate's OIDC issuer extension "
                                             "(" OID_ISSUER_V2 ") is not a UTF8String, expected %s",
                              want);
                return -EPERM;
        }
        if (streq(res->issuer, want))
                return 0;
        asprintf_safe(&res->reason, "issued for OIDC issuer %s, expected %s (signature-issuer)",
                      res->issuer, want);
        return -EPERM;
}

static char *sct_log_name(const struct sigstore_trust *t, const SCT *sct)
{
        unsigned char *id = NULL;
        size_t l = SCT_get0_log_id(sct, &id);
        const CTLOG *log = CTLOG_STORE_get0_log_by_id(t->logs, id, l);
        if (log)
                return strdup(CTLOG_get0_name(log));
        return l > 0 ? b64(id, l) : strdup("(no log ID)");
}

/* Every embedded SCT must verify against a pinned CT log: the leaf was then at least promised
 * to a public log, which is what makes a mis-issued certificate discoverable. */
static int check_scts(const struct sigstore_trust *t, X509 *leaf, X509 *issuer,
                      struct sigstore_result *res)
{
        STACK_OF(SCT) *scts = X509_get_ext_d2i(leaf, NID_ct_precert_scts, NULL, NULL);
        CT_POLICY_EVAL_CTX *ctx = NULL;
        int r = 0;
        if (!scts || sk_SCT_num(scts) == 0) {
                asprintf_safe(&res->reason, "the certificate carries no embedded SCT");
                r = -ENODATA;
                goto out;
        }
        ctx = CT_POLICY_EVAL_CTX_new();
        if (!ctx || CT_POLICY_EVAL_CTX_set1_cert(ctx, leaf) != 1 ||
            CT_POLICY_EVAL_CTX_set1_issuer(ctx, issuer) != 1) {
                r = -ENOMEM;
                goto out;
        }
        CT_POLICY_EVAL_CTX_set_shared_CTLOG_STORE(ctx, t->logs);
        (void)SCT_LIST_validate(scts, ctx);
        for (int i = 0; i < sk_SCT_num(scts) && r >= 0; i++) {
                SCT *sct = sk_SCT_value(scts, i);
                _cleanup_free_ char *name = sct_log_name(t, sct);
                switch (SCT_get_validation_status(sct)) {
                case SCT_VALIDATION_STATUS_VALID:
                        if (!res->log)
                                res->log = TAKE_PTR(name);
                        break;
                case SCT_VALIDATION_STATUS_UNKNOWN_LOG:
                        asprintf_safe(&res->reason,
                                      "the embedded SCT comes from CT log %s, which is not "
                                      "among the ct-log-keys",
                                      name ? name : "?");
                        r = -ENOPKG;
                        break;
                default:
                        asprintf_safe(&res->reason,
                                      "the embedded SCT of CT log %s does not verify (bad "
                                      "signature, or not for this certificate)",
                                      name ? name : "?");
                        r = -EILSEQ;
                }
        }
out:
        CT_POLICY_EVAL_CTX_free(ctx);
        SCT_LIST_free(scts);
        ERR_clear_error();
        return r;
}

int sigstore_verify(const struct sigstore_trust *t, const char *sha256_hex, const char *sig,
                    size_t sig_len, const char *cert, size_t cert_len, const char *want_identity,
                    const char *want_issuer, struct sigstore_result *res)
{
        unsigned char md[32];
        _cleanup_free_ char *der = NULL;
        size_t der_len = 0;
        X509 *leaf = NULL, *issuer = NULL;
        sigstore_result_done(res);
        int r = hex_to_bytes(sha256_hex, md, sizeof(md));
        if (r < 0)
                return r;
        r = decode_b64(sig, sig_len, &der, &der_len);
        if (r == -ENOMEM)
                return r;
        if (r < 0 || der_len == 0) {
                asprintf_safe(&res->reason, "the signature (.sig) is not base64");
                return -ENOMSG;
        }
        /* Refuse anything but one DER ECDSA-Sig-Value, whatever EVP would tolerate. */
        const unsigned char *p = (const unsigned char *)der;
        ECDSA_SIG *es = d2i_ECDSA_SIG(NULL, &p, (long)der_len);
        bool exact = es && p == (const unsigned char *)der + der_len;
        ECDSA_SIG_free(es);
        ERR_clear_error();
        if (!exact) {
                asprintf_safe(&res->reason, "the signature (.sig) is not a DER ECDSA signature");
                return -ENOMSG;
        }
        r = parse_cert(cert, cert_len, &leaf);
        if (r == -ENOMEM)
                return r;
        if (r < 0) {
                asprintf_safe(&res->reason,
                              "the certificate (.cert) is not a PEM certificate, raw or base64");
                return -EPROTO;
        }
        struct tm tm = {0};
        if (ASN1_TIME_to_tm(X509_get0_notBefore(leaf), &tm) != 1) {
                asprintf_safe(&res->reason, "the certificate's notBefore cannot be read");
                r = -EPROTO;
                goto out;
        }
        res->signed_at = timegm(&tm);

        r = check_signature(leaf, md, (const unsigned char *)der, der_len, res);
        if (r >= 0)
                r = check_chain(t, leaf, &issuer, res);
        if (r >= 0 && (!(X509_get_extension_flags(leaf) & EXFLAG_XKUSAGE) ||
                       !(X509_get_extended_key_usage(leaf) & XKU_CODE_SIGN))) {
                /* OpenSSL 3.0 has no X509_PURPOSE for code signing: checked here. */
                asprintf_safe(&res->reason, "the certificate is not for code signing (no "
                                            "extended key usage codeSigning)");
                r = -ENOEXEC;
        }
        if (r >= 0)
                r = check_identity(leaf, want_identity, res);
        if (r >= 0)
                r = check_issuer(leaf, want_issuer, res);
        if (r >= 0)
                r = check_scts(t, leaf, issuer, res);
out:
        X509_free(issuer);
        X509_free(leaf);
        ERR_clear_error();
        return r;
}

int sigstore_pem_fingerprint(const char *pem, size_t len, char **ret)
{
        BIO *bio = BIO_new_mem_buf(pem, (int)len);
        if (!bio)
                return -ENOMEM;
        unsigned char *der = NULL;
        int l = -1;
        X509 *x = PEM_read_bio_X509(bio, NULL, NULL, NULL);
        if (x)
                l = i2d_X509(x, &der);
        else {
                ERR_clear_error();
                (void)BIO_reset(bio);
                EVP_PKEY *k = PEM_read_bio_PUBKEY(bio, NULL, NULL, NULL);
                if (k)
                        l = i2d_PUBKEY(k, &der);
                EVP_PKEY_free(k);
        }
        X509_free(x);
        BIO_free(bio);
        ERR_clear_error();
        if (l <= 0)
                return -EBADMSG;
        unsigned char md[32];
        int ok = EVP_Digest(der, (size_t)l, md, NULL, EVP_sha256(), NULL);
        OPENSSL_free(der);
        if (ok != 1)
                return -EIO;
        char *s = malloc(3 * sizeof(md));
        if (!s)
                return -ENOMEM;
        for (size_t i = 0; i < sizeof(md); i++)
                snprintf(s + 3 * i, 4, "%02X%s", md[i], i + 1 < sizeof(md) ? ":" : "");
        *ret = s;
        return 0;
}
