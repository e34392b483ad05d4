/* A Sigstore-like hierarchy made with OpenSSL for the tests: roots, intermediates, CT logs,
 * and 10-minute leaves with embedded SCTs that sign blobs in the release format. */
#pragma once

#include <stdbool.h>
#include <stddef.h>

/* Writes into dir: roots.pem (root, intermediate, the "late" intermediate), ct-log-keys.pem
 * (the trusted log's key), and the keys and certificates the signing needs. */
int sigtool_make_ca(const char *dir);

enum sigtool_chain {
        SIGTOOL_CHAIN_GOOD,  /* leaf under the intermediate of roots.pem */
        SIGTOOL_CHAIN_OTHER, /* leaf under another root's intermediate, not in roots.pem */
        SIGTOOL_CHAIN_LATE,  /* leaf issued after the "late" intermediate had expired */
};
enum sigtool_sct {
        SIGTOOL_SCT_GOOD,    /* signed by the log of ct-log-keys.pem */
        SIGTOOL_SCT_UNKNOWN, /* signed by another log */
        SIGTOOL_SCT_BAD,     /* the trusted log's ID, a signature over other bytes */
        SIGTOOL_SCT_NONE,
};
struct sigtool_opts {
        const char *identity; /* SAN email; NULL: the release default */
        const char *issuer;   /* OIDC issuer; NULL: https://accounts.google.com */
        bool issuer_v1_only;  /* only the deprecated raw .1.1 extension */
        bool no_eku;
        enum sigtool_chain chain;
        enum sigtool_sct sct;
        bool raw_pem; /* .cert as raw PEM instead of base64 of PEM */
};

/* Signs data with a fresh leaf; ret_sig and ret_cert hold the .sig and .cert contents
 * (NUL-terminated, malloc'ed). The leaf's notBefore is an hour ago: it expired 50 minutes ago,
 * as a real release signature has by the time anyone installs it. */
int sigtool_sign(const char *dir, const struct sigtool_opts *o, const void *data, size_t len,
                 char **ret_sig, char **ret_cert);
