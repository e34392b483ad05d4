/* The download cache, <cache-dir>/<alg>/<hex>: verified binaries by digest (and in
 * <cache-dir>/signed/<alg>/ who signed them). Taking an entry
 * out and putting one in, listing and removing entries, fetch's scratch directory, and
 * sweeping what interrupted runs left in it. No other module knows this layout. */
#pragma once

#include <stdint.h>

#include "digest.h"
#include "fileio.h"
#include "model.h"
#include "state.h"

/* fetch's scratch directory at the top of the cache: the prefix and 6 of these */
#define CACHE_SCRATCH_PREFIX ".fetch-"
#define CACHE_SCRATCH_CHARS  "abcdefghijklmnopqrstuvwxyz0123456789"

struct cache_entry {
        enum digest_alg alg;
        char hex[DIGEST_HEX_MAX];
        uint64_t size;
        uint64_t nlink; /* > 1: hard-linked elsewhere too, i.e. installed */
};

/* Every entry, in directory order; a missing cache is an empty one. */
int cache_list(struct target *t, const char *cache_dir, struct cache_entry **ret, size_t *ret_n);
/* <cache-dir>/<alg>/<hex>, for messages. */
char *cache_entry_path(const char *cache_dir, const struct cache_entry *e);
/* Why an entry stays: "installed" at a path the state names, "linked" (hard-linked elsewhere:
 * an installed copy the state no longer knows of), or "pinned" by the configuration, with
 * *ret_path the path or binary it is for. NULL: nothing needs it, prune removes it. */
const char *cache_keep_reason(const struct cache_entry *e, const struct state *st,
                              const struct pin pins[_BINARY_MAX], const char **ret_path);
int cache_remove(struct target *t, const char *cache_dir, const struct cache_entry *e);
/* Staging names of interrupted runs, and fetch scratch directories (emptied of ours, then
 * removed unless something else is in them). */
void cache_sweep(struct target *t, const char *cache_dir);

/* Opens entry alg/hex for reading, as it is: the caller hashes what it reads. */
int cache_open_entry(struct target *t, const char *cache_dir, enum digest_alg alg, const char *hex,
                     int *ret_fd);
/* Copies entry alg/hex into out_fd, hashing on the way: -ENOENT when there is none, -EBADMSG
 * (out_fd emptied, the damaged entry removed) when its bytes are not hex. */
int cache_take(struct target *t, const char *cache_dir, enum digest_alg alg, const char *hex,
               int out_fd);
/* Makes the verified file dir_fd/name (open as fd) entry alg/hex, replacing any old one. */
int cache_put(struct target *t, const char *cache_dir, enum digest_alg alg, const char *hex,
              int dir_fd, const char *name, int fd);

/* The record that entry alg/hex passed a release-signature check, and by whom
 * ("IDENTITY (ISSUER)"): signed/<alg>/<hex>.signed, with the .sig and .cert it was checked
 * with (<hex>.sig, <hex>.cert) for a bundle to carry. An entry without one (cached before
 * signatures were checked, or with them off) is not taken where a signature is required. */
int cache_put_signed(struct target *t, const char *cache_dir, enum digest_alg alg, const char *hex,
                     const char *signed_by, const char *sig, size_t sig_len, const char *cert,
                     size_t cert_len);
/* Opens <hex>.sig or <hex>.cert (ext ".sig"/".cert") of entry alg/hex; -ENOENT if none. */
int cache_open_signature(struct target *t, const char *cache_dir, enum digest_alg alg,
                         const char *hex, const char *ext, int *ret_fd);
/* -ENOENT when the entry has no record. */
int cache_signed_by(struct target *t, const char *cache_dir, enum digest_alg alg, const char *hex,
                    char **ret);

/* A fresh scratch directory in the cache (made if missing), for downloads meant for the cache
 * only: they are staged there and join the cache the way apply's do. */
struct cache_scratch {
        int cache_fd, fd; /* the cache and the scratch directory, O_PATH */
        char name[sizeof(CACHE_SCRATCH_PREFIX) + 6];
};
int cache_scratch_open(struct target *t, const char *cache_dir, struct cache_scratch *ret);
/* Removes the scratch directory (empty by then; else it stays for cache_sweep). */
void cache_scratch_close(struct cache_scratch *s);
