/* The release signatures policy ([download] signatures and its keys): which mode applies to a
 * release, the trust it is checked against, and one binary's check with a message that names
 * the binary, the URL and the reason. */
#pragma once

#include <stdbool.h>
#include <stddef.h>

#include "model.h"
#include "sigstore.h"

enum signature_mode {
        SIGNATURE_OFF,
        SIGNATURE_IF_PRESENT, /* verified when .sig and .cert exist; a warning when not */
        SIGNATURE_REQUIRE,
};

struct signature_policy {
        enum signature_mode mode;
        const char *identity, *issuer; /* the model's strings */
        char *roots_path, *logs_path;
        struct sigstore_trust *trust; /* NULL when off */
};

/* The first release Kubernetes signed (kubernetes/release: every file since v1.26). */
#define SIGNATURE_FIRST_MINOR 26

/* The mode for release version (resolved, "vX.Y.Z"): the configured one, else require from
 * v1.26 and off below. */
enum signature_mode signature_mode_for(const struct model *m, const char *version);
const char *signature_mode_to_string(enum signature_mode mode);

/* Loads the trust when the mode is not off. Errors name the file and why. */
int signature_policy_new(const struct model *m, const char *version, struct signature_policy **ret,
                         char **ret_error);
struct signature_policy *signature_policy_free(struct signature_policy *p);

/* Checks one file: what names it ("kube-apiserver"), the URL it came from, its SHA-256 (hex)
 * computed as it arrived, the .sig and .cert as fetched. On success *ret_signed_by is
 * "IDENTITY (ISSUER)"; on refusal *ret_error is "NAME (URL): signature refused: REASON". */
int signature_check(const struct signature_policy *p, const char *name, const char *url,
                    const char *sha256_hex, const char *sig, size_t sig_len, const char *cert,
                    size_t cert_len, char **ret_signed_by, char **ret_error);
