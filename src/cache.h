/* The download cache, <cache-dir>/<alg>/<hex>: listing its entries, removing one, and sweeping
 * what interrupted runs left in it. The entries are written and read by plan.c. */
#pragma once

#include <stdint.h>

#include "digest.h"
#include "fileio.h"

/* plan_fetch's scratch directory at the top of the cache: the prefix and 6 of these */
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
int cache_remove(struct target *t, const char *cache_dir, const struct cache_entry *e);
/* Staging names of interrupted runs, and fetch scratch directories (emptied of ours, then
 * removed unless something else is in them). */
void cache_sweep(struct target *t, const char *cache_dir);
