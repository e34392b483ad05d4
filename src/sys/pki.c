/* Certificate checks through OpenSSL's X.509 side (digest.c is its EVP side): does a key fit
 * its certificate, does the CA sign it, which names and addresses it covers, when it ends. */
#include "pki.h"

#include <arpa/inet.h>
#include <errno.h>
#include <openssl/err.h>
#include <openssl/pem.h>
#include <openssl/x509.h>
#include <openssl/x509v3.h>
#include <stdio.h>
#include <string.h>

#include "fileio.h"
#include "util.h"

static int load_cert(const char *path, X509 **ret, char **ret_error)
{
        FILE *f = fopen_regular(path);
        if (!f) {
                int r = -errno;
                asprintf_safe(ret_error, "%s: %s", path, fileio_strerror(r));
                return r;
        }
        X509 *x = PEM_read_X509(f, NULL, NULL, NULL);
        fclose(f);
        if (!x) {
                asprintf_safe(ret_error, "%s: not a PEM certificate", path);
                return -EBADMSG;
        }
        *ret = x;
        return 0;
}

int pki_cert_info(const char *path, struct cert_info *ret, char **ret_error)
{
        X509 *x = NULL;
        int r = load_cert(path, &x, ret_error);
        if (r < 0)
                return r;
        *ret = (struct cert_info){0};
        GENERAL_NAMES *names = X509_get_ext_d2i(x, NID_subject_alt_name, NULL, NULL);
        for (int i = 0; names && i < sk_GENERAL_NAME_num(names); i++) {
                const GENERAL_NAME *g = sk_GENERAL_NAME_value(names, i);
                if (g->type == GEN_DNS) {
                        const unsigned char *s = ASN1_STRING_get0_data(g->d.dNSName);
                        int l = ASN1_STRING_length(g->d.dNSName);
                        char *c = strndup((const char *)s, (size_t)l);
                        if (c)
                                strv_push(&ret->dns, c);
                } else if (g->type == GEN_IPADD) {
                        char buf[INET6_ADDRSTRLEN];
                        int l = ASN1_STRING_length(g->d.iPAddress);
                        const unsigned char *a = ASN1_STRING_get0_data(g->d.iPAddress);
                        if ((l == 4 && inet_ntop(AF_INET, a, buf, sizeof(buf))) ||
                            (l == 16 && inet_ntop(AF_INET6, a, buf, sizeof(buf))))
                                strv_extend(&ret->ips, buf);
                }
        }
        GENERAL_NAMES_free(names);
        struct tm tm;
        if (ASN1_TIME_to_tm(X509_get0_notAfter(x), &tm) == 1)
                ret->not_after = timegm(&tm);
        char *subj = X509_NAME_oneline(X509_get_subject_name(x), NULL, 0);
        ret->subject = subj ? strdup(subj) : NULL;
        OPENSSL_free(subj);
        X509_free(x);
        return 0;
}

void cert_info_done(struct cert_info *c)
{
        strv_free(c->dns);
        strv_free(c->ips);
        free(c->subject);
        *c = (struct cert_info){0};
}

int pki_key_matches(const char *cert, const char *key, char **ret_error)
{
        X509 *x = NULL;
        int r = load_cert(cert, &x, ret_error);
        if (r < 0)
                return r;
        FILE *f = fopen_regular(key);
        if (!f) {
                r = -errno;
                asprintf_safe(ret_error, "%s: %s", key, fileio_strerror(r));
                X509_free(x);
                return r;
        }
        EVP_PKEY *k = PEM_read_PrivateKey(f, NULL, NULL, NULL);
        fclose(f);
        if (!k) {
                asprintf_safe(ret_error, "%s: not a PEM private key", key);
                X509_free(x);
                return -EBADMSG;
        }
        r = X509_check_private_key(x, k) == 1 ? 0 : -EKEYREJECTED;
        ERR_clear_error();
        EVP_PKEY_free(k);
        X509_free(x);
        return r;
}

int pki_verify(const char *cert, const char *ca, char **ret_error)
{
        X509 *x = NULL, *c = NULL;
        int r = load_cert(cert, &x, ret_error);
        if (r >= 0)
                r = load_cert(ca, &c, ret_error);
        X509_STORE *store = X509_STORE_new();
        X509_STORE_CTX *ctx = X509_STORE_CTX_new();
        if (r >= 0 && (!store || !ctx || X509_STORE_add_cert(store, c) != 1 ||
                       X509_STORE_CTX_init(ctx, store, x, NULL) != 1))
                r = -ENOMEM;
        if (r >= 0 && X509_verify_cert(ctx) != 1) {
                asprintf_safe(ret_error, "%s",
                              X509_verify_cert_error_string(X509_STORE_CTX_get_error(ctx)));
                r = -EKEYREJECTED;
        }
        X509_STORE_CTX_free(ctx);
        X509_STORE_free(store);
        X509_free(x);
        X509_free(c);
        ERR_clear_error();
        return r;
}
