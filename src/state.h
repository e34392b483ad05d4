/* What kubestrap installed, kept in <state-dir>/installed: paths, digests, and the stat
 * fingerprint of each binary so an unchanged file is not hashed again. */
#pragma once

#include <stdbool.h>
#include <stdint.h>
#include <sys/stat.h>

#include "digest.h"
#include "fileio.h"

#define STATE_FILE "installed" /* in <state-dir> */

struct state_entry {
        char *kind; /* "download", "file", "link", "dir" */
        char *path;
        char *url;        /* download: where it came from */
        char *digest_url; /* download: the sidecar the digest came from ("pinned" if pinned) */
        enum digest_alg alg;
        char hex[DIGEST_HEX_MAX];
        uint64_t dev, ino, size;
        int64_t mtime_ns, ctime_ns;
};

struct state {
        struct state_entry *entries;
        size_t n;
        char *loaded_text; /* what was on disk, to skip rewriting an unchanged state */
};

/* Loads <state-dir>/installed from the target; a missing file is an empty state. A
 * malformed one is ignored as a whole (it only ever saves work). */
int state_load(struct target *t, const char *state_dir, struct state **ret);
int state_save(struct target *t, const char *state_dir, struct state *s);
struct state *state_free(struct state *s);
struct state_entry *state_find(struct state *s, const char *path);
/* Adds or replaces the entry for path. */
int state_put(struct state *s, const struct state_entry *e);
/* Drops every entry whose keep[i] is false (keep has one flag per entry), keeping the order. */
void state_retain(struct state *s, const bool *keep);
void state_set_stat(struct state_entry *e, const struct stat *st);
bool state_stat_matches(const struct state_entry *e, const struct stat *st);
