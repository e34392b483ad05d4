/* Offline checks of Sigstore keyless signatures (cosign sign-blob's .sig and .cert) through
 * OpenSSL's EVP, X.509 and CT interfaces: signature, chain, identity, issuer, embedded SCT. */
#pragma once

#include <stddef.h>
#include <time.h>

/* The refusals, one errno each, so callers and tests can tell them apart:
 *   -ENOMSG        .sig is not base64 of a DER ECDSA signature
 *   -EPROTO        .cert is not (base64 of) a PEM certificate, or its key is not ECDSA P-256
 *   -EBADMSG       the signature does not match the file's bytes
 *   -ENOKEY        no chain from the leaf to a configured root
 *   -EKEYEXPIRED   a certificate of the chain was not valid at the leaf's notBefore
 *   -EKEYREJECTED  the chain was refused for another reason (named in the reason)
 *   -ENOEXEC       the leaf lacks the codeSigning extended key usage
 *   -EACCES        the leaf's SAN identity is not the expected one
 *   -EPERM         the leaf's OIDC issuer extension is missing or not the expected one
 *   -ENODATA       the leaf carries no embedded SCT
 *   -ENOPKG        an SCT was issued by a log that is not among the configured CT log keys
 *   -EILSEQ        an SCT's signature does not verify against its log's key */

struct sigstore_trust;

/* roots_pem: the trusted roots and intermediates (self-signed ones end a chain);
 * ctlog_pem: the public keys of the trusted CT logs. Errors say which input and why. */
int sigstore_trust_new(const char *roots_pem, size_t roots_len, const char *ctlog_pem,
                       size_t ctlog_len, struct sigstore_trust **ret, char **ret_error);
struct sigstore_trust *sigstore_trust_free(struct sigstore_trust *t);
static inline void sigstore_trust_freep(struct sigstore_trust **t)
{
        sigstore_trust_free(*t);
}

struct sigstore_result {
        char *reason;     /* why it was refused */
        char *identity;   /* the leaf's SAN identity (email, else URI), when it could be read */
        char *issuer;     /* the leaf's OIDC issuer, when it could be read */
        char *log;        /* the CT log that logged the leaf (success) or the one refused */
        time_t signed_at; /* the leaf's notBefore */
};
void sigstore_result_done(struct sigstore_result *r);

/* Verifies .sig and .cert (as published: base64, raw PEM accepted for the cert) for a file
 * whose SHA-256 (hex) the caller computed while receiving it. Fills res either way. */
int sigstore_verify(const struct sigstore_trust *t, const char *sha256_hex, const char *sig,
                    size_t sig_len, const char *cert, size_t cert_len, const char *want_identity,
                    const char *want_issuer, struct sigstore_result *res);

/* The SHA-256 fingerprint of the first certificate or public key in a PEM text, as
 * colon-separated uppercase hex (the form `openssl x509 -fingerprint` prints); for a public
 * key it is the hash of its DER SubjectPublicKeyInfo, i.e. the CT log ID. */
int sigstore_pem_fingerprint(const char *pem, size_t len, char **ret);
