/* What kubestrap installed, kept in <state-dir>/installed: paths, digests, and the stat
 * fingerprint of each binary so an unchanged file is not hashed again. */
#pragma once

#include <stdbool.h>
#include <stdint.h>
#include <sys/stat.h>

#include "digest.h"
#include "fileio.h"

#define STATE_FILE "installed" /* in <state-dir> */

/* What an entry is; the file spells it as state_kind_to_string() says. */
enum state_kind {
        STATE_KIND_DOWNLOAD, /* a verified binary, with its stat fingerprint */
        STATE_KIND_FILE,     /* a file we wrote (rendered, PKI), with the digest of its content */
        STATE_KIND_LINK,     /* a symlink, its target in url */
        STATE_KIND_DIR,      /* a directory we made */
        STATE_KIND_DIGEST,   /* not a path: the release tarball's digest, keyed "tarball:<url>" */
        STATE_KIND_RELEASE, /* not a path: the release installed, keyed STATE_RELEASE_KEY, in url */
        /* a file kept for rollback (rollback.h): path is the kept copy, url the path it was
         * installed at, digest_url the URL it was downloaded from ("-": rendered) */
        STATE_KIND_PREVIOUS,
        /* not a path: the release of the kept files, keyed STATE_PREVIOUS_KEY, in url */
        STATE_KIND_PREVIOUS_RELEASE,
        _STATE_KIND_MAX,
};

const char *state_kind_to_string(enum state_kind k);
int state_kind_from_string(const char *s); /* -EINVAL when unknown */

struct state_entry {
        enum state_kind kind;
        char *path;
        char *url;        /* download: where it came from */
        char *digest_url; /* download: the sidecar the digest came from ("pinned" if pinned) */
        char *signed_by;  /* download: "IDENTITY (ISSUER)" of its verified signature, or "-" */
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

/* The path-less key of the STATE_KIND_RELEASE record. */
#define STATE_RELEASE_KEY "release:kubernetes"
/* The path-less key of the STATE_KIND_PREVIOUS_RELEASE record. */
#define STATE_PREVIOUS_KEY "release:previous"

/* The path-less key under which the release tarball's digest is remembered (STATE_KIND_DIGEST). */
char *state_tarball_key(const char *tarball_url);

/* Loads <state-dir>/installed from the target; a missing file is an empty state. A
 * malformed one is ignored as a whole (it only ever saves work). */
int state_load(struct target *t, const char *state_dir, struct state **ret);
int state_save(struct target *t, const char *state_dir, struct state *s);
struct state *state_free(struct state *s);
const struct state_entry *state_find(const struct state *s, const char *path);
/* Adds or replaces the entry for path. */
int state_put(struct state *s, const struct state_entry *e);
/* Drops every entry whose keep[i] is false (keep has one flag per entry), keeping the order. */
void state_retain(struct state *s, const bool *keep);
/* The release the last apply installed (v1.34.2), or NULL: none recorded, or a state file
 * written before the record existed. */
const char *state_release(const struct state *s);
/* Records the release installed. */
int state_put_release(struct state *s, const char *version);
/* Whether an entry names a path on the machine (not a remembered digest or release). */
bool state_entry_is_path(const struct state_entry *e);
void state_set_stat(struct state_entry *e, const struct stat *st);
bool state_stat_matches(const struct state_entry *e, const struct stat *st);
