/* Downloads that are verified as they arrive: every byte is hashed and written in one pass. */
#pragma once

#include "digest.h"
#include "http.h"

/* URL of a release binary in the dl.k8s.io layout. */
char *fetch_binary_url(const char *base_url, const char *version, const char *arch,
                       const char *name);

/* Fetches "<url>.<alg>" and parses it. Errors name the sidecar URL. */
int fetch_sidecar(const char *url, enum digest_alg alg, const char *name,
                  const struct http_options *o, char ret_hex[DIGEST_HEX_MAX], char **ret_error);

/* Downloads url into fd, hashing on the way; -EBADMSG when the digest is not expect_hex. */
int fetch_verified(const char *url, const struct http_options *o, int fd, enum digest_alg alg,
                   const char *expect_hex, char **ret_error);
