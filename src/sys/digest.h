/* Message digests through OpenSSL's EVP interface, and parsing of checksum sidecar files. */
#pragma once

#include <stddef.h>

enum digest_alg {
        DIGEST_SHA256,
        DIGEST_SHA512,
        _DIGEST_MAX,
};

#define DIGEST_HEX_MAX 129 /* sha512 hex + NUL */

struct digest;

int digest_alg_from_string(const char *s);
const char *digest_alg_to_string(enum digest_alg alg);
size_t digest_hex_len(enum digest_alg alg);

int digest_new(enum digest_alg alg, struct digest **ret);
int digest_update(struct digest *d, const void *data, size_t len);
int digest_final_hex(struct digest *d, char ret[DIGEST_HEX_MAX]);
struct digest *digest_free(struct digest *d);
static inline void digest_freep(struct digest **d)
{
        digest_free(*d);
}

/* A checksum list (SHA256SUMS: "<hex>  <name>" per line): the digest of the line naming name
 * exactly. -ENOENT when no line does, -EBADMSG when a line is malformed. */
int digest_parse_sums(const char *text, size_t len, enum digest_alg alg, const char *name,
                      char ret[DIGEST_HEX_MAX]);
/* SHA-1, raw: not for verifying anything, only to compute an identifier that is defined with
 * it (an etcd member ID). */
int digest_sha1_raw(const void *data, size_t len, unsigned char ret[20]);
int digest_buffer(enum digest_alg alg, const void *data, size_t len, char ret[DIGEST_HEX_MAX]);
/* Hashes an open file from its current position to the end. */
int digest_fd(int fd, enum digest_alg alg, char ret[DIGEST_HEX_MAX]);
/* Copies in_fd (from its position) to out_fd, hashing on the way; -EBADMSG, with out_fd
 * emptied again, when the bytes are not expect_hex. */
int digest_copy_verified(int in_fd, int out_fd, enum digest_alg alg, const char *expect_hex);

/* Checks that hex is exactly a lowercase/uppercase hex string of the length alg needs and
 * stores it lowercased. */
int digest_normalize_hex(enum digest_alg alg, const char *hex, char ret[DIGEST_HEX_MAX]);

/* "sha256:HEX", "sha512:HEX", or bare HEX (algorithm from its length). */
int digest_parse_pin(const char *s, enum digest_alg *ret_alg, char ret[DIGEST_HEX_MAX]);

/* A sidecar is the hex digest alone (dl.k8s.io) or "HEX  NAME" (coreutils), optionally
 * followed by a newline. A name, when present, must be the file's name. */
int digest_parse_sidecar(const char *text, size_t len, enum digest_alg alg, const char *name,
                         char ret[DIGEST_HEX_MAX]);

/* Standard base64 (kubeconfig's *-data fields), whitespace not allowed. */
int base64_decode(const char *in, char **ret, size_t *ret_len);
int base64_encode(const void *in, size_t len, char **ret);
