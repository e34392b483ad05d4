/* A Sigstore-like hierarchy made with OpenSSL for the tests (see sigtool.h). The leaf is made
 * the way Fulcio makes one: a precertificate with the RFC 6962 poison extension goes to the CT
 * log, whose SCT (signed over the precertificate's TBS without the poison, RFC 6962 3.2) is
 * embedded into the final certificate. */
#include "sigtool.h"

#include <errno.h>
#include <openssl/ct.h>
#include <openssl/err.h>
#include <openssl/evp.h>
#include <openssl/pem.h>
#include <openssl/rand.h>
#include <openssl/x509.h>
#include <openssl/x509v3.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#define DEFAULT_IDENTITY "krel-staging@k8s-releng-prod.iam.gserviceaccount.com"
#define DEFAULT_ISSUER   "https://accounts.google.com"
#define DAY              (24 * 3600L)

static char *path_of(const char *dir, const char *name)
{
        char *p = NULL;
        if (asprintf(&p, "%s/%s", dir, name) < 0)
                return NULL;
        return p;
}

static int write_pem(const char *dir, const char *name, X509 *x, EVP_PKEY *k, bool pub_only,
                     bool append)
{
        char *p = path_of(dir, name);
        FILE *f = p ? fopen(p, append ? "ae" : "we") : NULL;
        free(p);
        if (!f)
                return -errno;
        int ok = x          ? PEM_write_X509(f, x)
                 : pub_only ? PEM_write_PUBKEY(f, k)
                            : PEM_write_PrivateKey(f, k, NULL, NULL, 0, NULL, NULL);
        return fclose(f) == 0 && ok == 1 ? 0 : -EIO;
}

/* A certificate (key false) or private key (key true) of the hierarchy, from dir/name. */
static void *read_pem(const char *dir, const char *name, bool key)
{
        char *p = path_of(dir, name);
        FILE *f = p ? fopen(p, "re") : NULL;
        free(p);
        void *v = !f    ? NULL
                  : key ? (void *)PEM_read_PrivateKey(f, NULL, NULL, NULL)
                        : (void *)PEM_read_X509(f, NULL, NULL, NULL);
        if (f)
                fclose(f);
        return v;
}

static int add_ext(X509 *x, X509 *issuer, int nid, const char *value)
{
        X509V3_CTX ctx;
        X509V3_set_ctx(&ctx, issuer ? issuer : x, x, NULL, NULL, 0);
        X509_EXTENSION *e = X509V3_EXT_conf_nid(NULL, &ctx, nid, value);
        int ok = e && X509_add_ext(x, e, -1) == 1;
        X509_EXTENSION_free(e);
        return ok ? 0 : -EINVAL;
}

static int add_raw_ext(X509 *x, const char *oid, bool critical, const void *der, size_t len)
{
        ASN1_OBJECT *o = OBJ_txt2obj(oid, 1);
        ASN1_OCTET_STRING *os = ASN1_OCTET_STRING_new();
        X509_EXTENSION *e = NULL;
        int ok = o && os && ASN1_OCTET_STRING_set(os, der, (int)len) == 1 &&
                 (e = X509_EXTENSION_create_by_OBJ(NULL, o, critical, os)) &&
                 X509_add_ext(x, e, -1) == 1;
        X509_EXTENSION_free(e);
        ASN1_OCTET_STRING_free(os);
        ASN1_OBJECT_free(o);
        return ok ? 0 : -EINVAL;
}

static X509 *new_cert(X509_NAME *subject, EVP_PKEY *k, time_t not_before, time_t not_after)
{
        X509 *x = X509_new();
        unsigned char serial[16];
        BIGNUM *bn = NULL;
        if (!x || RAND_bytes(serial, sizeof(serial)) != 1)
                goto fail;
        serial[0] &= 0x7f;
        bn = BN_bin2bn(serial, sizeof(serial), NULL);
        if (!bn || !BN_to_ASN1_INTEGER(bn, X509_get_serialNumber(x)) ||
            X509_set_version(x, X509_VERSION_3) != 1 || X509_set_subject_name(x, subject) != 1 ||
            X509_set_pubkey(x, k) != 1 ||
            !X509_time_adj_ex(X509_getm_notBefore(x), 0, 0, &(time_t){not_before}) ||
            !X509_time_adj_ex(X509_getm_notAfter(x), 0, 0, &(time_t){not_after}))
                goto fail;
        BN_free(bn);
        return x;
fail:
        BN_free(bn);
        X509_free(x);
        return NULL;
}

static X509_NAME *name(const char *o, const char *cn)
{
        X509_NAME *n = X509_NAME_new();
        if (n && o)
                X509_NAME_add_entry_by_txt(n, "O", MBSTRING_ASC, (const unsigned char *)o, -1, -1,
                                           0);
        if (n && cn)
                X509_NAME_add_entry_by_txt(n, "CN", MBSTRING_ASC, (const unsigned char *)cn, -1, -1,
                                           0);
        return n;
}

/* A CA certificate: the root (P-384, self-signed) or an intermediate (pathlen 0, EKU
 * codeSigning) as Fulcio's are. */
static int make_ca(const char *dir, const char *prefix, const char *cn, X509 *issuer,
                   EVP_PKEY *issuer_key, time_t nb, time_t na, X509 **ret, EVP_PKEY **ret_key)
{
        EVP_PKEY *k = EVP_EC_gen("P-384");
        X509_NAME *n = name("kubestrap-test", cn);
        X509 *x = k && n ? new_cert(n, k, nb, na) : NULL;
        int r = -EINVAL;
        X509_NAME_free(n);
        if (!x)
                goto out;
        if (X509_set_issuer_name(x, X509_get_subject_name(issuer ? issuer : x)) != 1)
                goto out;
        if (add_ext(x, issuer, NID_basic_constraints,
                    issuer ? "critical,CA:TRUE,pathlen:0" : "critical,CA:TRUE,pathlen:1") < 0 ||
            add_ext(x, issuer, NID_key_usage, "critical,keyCertSign,cRLSign") < 0 ||
            add_ext(x, issuer, NID_subject_key_identifier, "hash") < 0 ||
            (issuer && add_ext(x, issuer, NID_ext_key_usage, "codeSigning") < 0) ||
            (issuer && add_ext(x, issuer, NID_authority_key_identifier, "keyid:always") < 0))
                goto out;
        if (X509_sign(x, issuer_key ? issuer_key : k, EVP_sha384()) <= 0)
                goto out;
        char file[128];
        snprintf(file, sizeof(file), "%s.pem", prefix);
        r = write_pem(dir, file, x, NULL, false, false);
        snprintf(file, sizeof(file), "%s.key", prefix);
        if (r >= 0)
                r = write_pem(dir, file, NULL, k, false, false);
out:
        if (r >= 0 && ret) {
                *ret = x;
                x = NULL;
        }
        if (r >= 0 && ret_key) {
                *ret_key = k;
                k = NULL;
        }
        X509_free(x);
        EVP_PKEY_free(k);
        return r;
}

static int make_log(const char *dir, const char *prefix, bool trusted)
{
        EVP_PKEY *k = EVP_EC_gen("P-256");
        char file[128];
        snprintf(file, sizeof(file), "%s.key", prefix);
        int r = k ? write_pem(dir, file, NULL, k, false, false) : -ENOMEM;
        if (r >= 0 && trusted)
                r = write_pem(dir, "ct-log-keys.pem", NULL, k, true, false);
        EVP_PKEY_free(k);
        return r;
}

int sigtool_make_ca(const char *dir)
{
        time_t now = time(NULL);
        X509 *root = NULL, *other = NULL, *inter = NULL, *late = NULL;
        EVP_PKEY *root_k = NULL, *other_k = NULL;
        int r = make_ca(dir, "root", "kubestrap-test-root", NULL, NULL, now - 400 * DAY,
                        now + 3650 * DAY, &root, &root_k);
        if (r >= 0)
                r = make_ca(dir, "intermediate", "kubestrap-test-intermediate", root, root_k,
                            now - 300 * DAY, now + 3000 * DAY, &inter, NULL);
        /* valid for ten days that ended twenty days ago: a leaf of an hour ago is outside */
        if (r >= 0)
                r = make_ca(dir, "late", "kubestrap-test-late-intermediate", root, root_k,
                            now - 30 * DAY, now - 20 * DAY, &late, NULL);
        if (r >= 0)
                r = make_ca(dir, "other-root", "kubestrap-other-root", NULL, NULL, now - 400 * DAY,
                            now + 3650 * DAY, &other, &other_k);
        if (r >= 0)
                r = make_ca(dir, "other-intermediate", "kubestrap-test-intermediate", other,
                            other_k, now - 300 * DAY, now + 3000 * DAY, NULL, NULL);
        if (r >= 0)
                r = write_pem(dir, "roots.pem", root, NULL, false, false);
        if (r >= 0)
                r = write_pem(dir, "roots.pem", inter, NULL, false, true);
        if (r >= 0)
                r = write_pem(dir, "roots.pem", late, NULL, false, true);
        if (r >= 0)
                r = make_log(dir, "ct-log", true);
        if (r >= 0)
                r = make_log(dir, "other-ct-log", false);
        X509_free(root);
        X509_free(other);
        X509_free(inter);
        X509_free(late);
        EVP_PKEY_free(root_k);
        EVP_PKEY_free(other_k);
        return r;
}

static int sha256_spki(X509_PUBKEY *pk, unsigned char md[32])
{
        unsigned char *der = NULL;
        int l = i2d_X509_PUBKEY(pk, &der);
        int ok = l > 0 && EVP_Digest(der, (size_t)l, md, NULL, EVP_sha256(), NULL) == 1;
        OPENSSL_free(der);
        return ok ? 0 : -EINVAL;
}

static void put(unsigned char **p, uint64_t v, int bytes)
{
        for (int i = bytes - 1; i >= 0; i--)
                *(*p)++ = (unsigned char)(v >> (8 * i));
}

/* The log's side: an SCT for the precertificate, signed over RFC 6962's digitally-signed
 * struct: version, signature type, timestamp, entry type precert_entry, the issuer key's
 * hash, the TBS without the poison (3-byte length), and no extensions. */
static SCT *log_sct(X509 *precert, X509 *issuer, EVP_PKEY *log_key, uint64_t ts_ms,
                    uint64_t signed_ts_ms)
{
        X509 *tbs_cert = X509_dup(precert);
        unsigned char *tbs = NULL, *input = NULL, *sig = NULL;
        unsigned char ihash[32], log_id[32];
        size_t sig_len = 0;
        SCT *sct = NULL;
        EVP_MD_CTX *md = EVP_MD_CTX_new();
        int i = tbs_cert ? X509_get_ext_by_NID(tbs_cert, NID_ct_precert_poison, -1) : -1;
        if (!md || i < 0)
                goto out;
        X509_EXTENSION_free(X509_delete_ext(tbs_cert, i));
        int tbs_len = i2d_re_X509_tbs(tbs_cert, &tbs);
        if (tbs_len <= 0 || sha256_spki(X509_get_X509_PUBKEY(issuer), ihash) < 0)
                goto out;
        X509_PUBKEY *lp = NULL;
        if (X509_PUBKEY_set(&lp, log_key) != 1)
                goto out;
        int q = sha256_spki(lp, log_id);
        X509_PUBKEY_free(lp);
        if (q < 0)
                goto out;
        size_t len = 1 + 1 + 8 + 2 + 32 + 3 + (size_t)tbs_len + 2;
        input = malloc(len);
        if (!input)
                goto out;
        unsigned char *p = input;
        put(&p, SCT_VERSION_V1, 1);
        put(&p, 0, 1); /* signature_type certificate_timestamp */
        put(&p, signed_ts_ms, 8);
        put(&p, CT_LOG_ENTRY_TYPE_PRECERT, 2);
        memcpy(p, ihash, 32);
        p += 32;
        put(&p, (uint64_t)tbs_len, 3);
        memcpy(p, tbs, (size_t)tbs_len);
        p += tbs_len;
        put(&p, 0, 2); /* no CtExtensions */
        if (EVP_DigestSignInit(md, NULL, EVP_sha256(), NULL, log_key) != 1 ||
            EVP_DigestSign(md, NULL, &sig_len, input, len) != 1 || !(sig = malloc(sig_len)) ||
            EVP_DigestSign(md, sig, &sig_len, input, len) != 1)
                goto out;
        sct = SCT_new();
        if (!sct || SCT_set_version(sct, SCT_VERSION_V1) != 1 ||
            SCT_set_log_entry_type(sct, CT_LOG_ENTRY_TYPE_PRECERT) != 1 ||
            SCT_set1_log_id(sct, log_id, sizeof(log_id)) != 1 ||
            SCT_set_signature_nid(sct, NID_ecdsa_with_SHA256) != 1 ||
            SCT_set1_signature(sct, sig, sig_len) != 1) {
                SCT_free(sct);
                sct = NULL;
                goto out;
        }
        SCT_set_timestamp(sct, ts_ms);
out:
        EVP_MD_CTX_free(md);
        X509_free(tbs_cert);
        OPENSSL_free(tbs);
        free(input);
        free(sig);
        return sct;
}

/* DER UTF8String of s: tag 0x0C, short or one-byte long form (issuer URLs are short). */
static size_t utf8string_der(const char *s, unsigned char *out, size_t cap)
{
        size_t l = strlen(s), h = l < 128 ? 2 : 3;
        if (l > 255 || l + h > cap)
                return 0;
        out[0] = 0x0c;
        if (l < 128)
                out[1] = (unsigned char)l;
        else {
                out[1] = 0x81;
                out[2] = (unsigned char)l;
        }
        memcpy(out + h, s, l);
        return l + h;
}

static X509 *make_leaf(const char *dir, const struct sigtool_opts *o, EVP_PKEY *leaf_key)
{
        const char *ca = o->chain == SIGTOOL_CHAIN_OTHER  ? "other-intermediate"
                         : o->chain == SIGTOOL_CHAIN_LATE ? "late"
                                                          : "intermediate";
        char f[64];
        snprintf(f, sizeof(f), "%s.pem", ca);
        X509 *issuer = read_pem(dir, f, false);
        snprintf(f, sizeof(f), "%s.key", ca);
        EVP_PKEY *ik = read_pem(dir, f, true);
        EVP_PKEY *log_key =
            read_pem(dir, o->sct == SIGTOOL_SCT_UNKNOWN ? "other-ct-log.key" : "ct-log.key", true);
        X509_NAME *empty = X509_NAME_new();
        time_t nb = time(NULL) - 3600;
        X509 *x = issuer && ik && log_key && empty ? new_cert(empty, leaf_key, nb, nb + 600) : NULL;
        STACK_OF(SCT) *scts = NULL;
        char san[512];
        unsigned char der[300];
        const char *issuer_url = o->issuer ? o->issuer : DEFAULT_ISSUER;
        size_t der_len = utf8string_der(issuer_url, der, sizeof(der));
        snprintf(san, sizeof(san), "critical,email:%s",
                 o->identity ? o->identity : DEFAULT_IDENTITY);
        if (!x || X509_set_issuer_name(x, X509_get_subject_name(issuer)) != 1 || der_len == 0 ||
            add_ext(x, issuer, NID_key_usage, "critical,digitalSignature") < 0 ||
            (!o->no_eku && add_ext(x, issuer, NID_ext_key_usage, "codeSigning") < 0) ||
            add_ext(x, issuer, NID_subject_key_identifier, "hash") < 0 ||
            add_ext(x, issuer, NID_authority_key_identifier, "keyid:always") < 0 ||
            add_ext(x, issuer, NID_subject_alt_name, san) < 0 ||
            add_raw_ext(x, "1.3.6.1.4.1.57264.1.1", false, issuer_url, strlen(issuer_url)) < 0 ||
            (!o->issuer_v1_only &&
             add_raw_ext(x, "1.3.6.1.4.1.57264.1.8", false, der, der_len) < 0))
                goto fail;
        if (o->sct != SIGTOOL_SCT_NONE) {
                /* the precertificate: poison last, so that taking it out and putting the SCT
                 * list in its place leaves the rest of the TBS as the log saw it */
                static const unsigned char asn1_null[] = {0x05, 0x00};
                if (add_raw_ext(x, "1.3.6.1.4.1.11129.2.4.3", true, asn1_null, 2) < 0 ||
                    X509_sign(x, ik, EVP_sha384()) <= 0)
                        goto fail;
                uint64_t ts = (uint64_t)nb * 1000 + 1234;
                SCT *sct = log_sct(x, issuer, log_key, ts, o->sct == SIGTOOL_SCT_BAD ? ts + 1 : ts);
                scts = sk_SCT_new_null();
                if (!sct || !scts || !sk_SCT_push(scts, sct)) {
                        SCT_free(sct);
                        goto fail;
                }
                int i = X509_get_ext_by_NID(x, NID_ct_precert_poison, -1);
                X509_EXTENSION_free(X509_delete_ext(x, i));
                if (X509_add1_ext_i2d(x, NID_ct_precert_scts, scts, 0, 0) != 1)
                        goto fail;
        }
        if (X509_sign(x, ik, EVP_sha384()) <= 0)
                goto fail;
        goto out;
fail:
        X509_free(x);
        x = NULL;
out:
        SCT_LIST_free(scts);
        X509_NAME_free(empty);
        X509_free(issuer);
        EVP_PKEY_free(ik);
        EVP_PKEY_free(log_key);
        return x;
}

static char *b64(const void *data, size_t len)
{
        char *out = malloc(4 * ((len + 2) / 3) + 1);
        if (out)
                EVP_EncodeBlock((unsigned char *)out, data, (int)len);
        return out;
}

int sigtool_sign(const char *dir, const struct sigtool_opts *o, const void *data, size_t len,
                 char **ret_sig, char **ret_cert)
{
        EVP_PKEY *k = EVP_EC_gen("P-256");
        X509 *leaf = k ? make_leaf(dir, o, k) : NULL;
        EVP_MD_CTX *md = EVP_MD_CTX_new();
        unsigned char sig[128];
        size_t sig_len = sizeof(sig);
        BIO *bio = BIO_new(BIO_s_mem());
        char *pem = NULL;
        int r = -EINVAL;
        if (!leaf || !md || !bio || EVP_DigestSignInit(md, NULL, EVP_sha256(), NULL, k) != 1 ||
            EVP_DigestSign(md, sig, &sig_len, data, len) != 1 || PEM_write_bio_X509(bio, leaf) != 1)
                goto out;
        long pl = BIO_get_mem_data(bio, &pem);
        char *s = b64(sig, sig_len);
        char *c = o->raw_pem ? strndup(pem, (size_t)pl) : b64(pem, (size_t)pl);
        if (!s || !c) {
                free(s);
                free(c);
                r = -ENOMEM;
                goto out;
        }
        *ret_sig = s;
        *ret_cert = c;
        r = 0;
out:
        BIO_free(bio);
        EVP_MD_CTX_free(md);
        X509_free(leaf);
        EVP_PKEY_free(k);
        ERR_clear_error();
        return r;
}
