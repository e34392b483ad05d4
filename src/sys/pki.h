/* Certificate checks through OpenSSL's X.509 side (digest.c is its EVP side): does a key fit
 * its certificate, does the CA sign it, which names and addresses it covers, when it ends. */
#pragma once

#include <stdbool.h>
#include <time.h>

struct cert_info {
        char **dns; /* subjectAltName DNS entries */
        char **ips; /* subjectAltName IP entries, as text */
        time_t not_after;
        char *subject;
};

int pki_cert_info(const char *path, struct cert_info *ret, char **ret_error);
void cert_info_done(struct cert_info *c);
/* 0 when key is the private key of cert's public key; -EKEYREJECTED when not. */
int pki_key_matches(const char *cert, const char *key, char **ret_error);
/* 0 when ca signed cert (and it is within its validity); -EKEYREJECTED when not. */
int pki_verify(const char *cert, const char *ca, char **ret_error);
