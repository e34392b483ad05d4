/* The release tarball, streamed once: downloaded (and hashed) by one thread into a pipe while
 * libarchive extracts the wanted members from the other end. Beside fetch and archive, not in
 * either, since it is the one place that joins the two: fetch stays a verified download and
 * archive a reader of tar streams, each knowing nothing of the other. */
#pragma once

#include <stdbool.h>
#include <stdint.h>

#include "archive.h"
#include "digest.h"
#include "fetch.h"
#include "http.h"

struct tarball_source {
        char **urls; /* the primary, then mirrors */
        enum digest_alg alg;
        const char *hex; /* the tarball's own digest, checked at the end of the stream */
        const struct http_options *http;
        const struct fetch_policy *policy;
        fetch_progress_t progress;
        void *userdata;
        char ***warnings; /* strv appended to: a tarball that had to start over */
        bool want_sha256; /* also its SHA-256, in the same pass, for its signature */
};

struct tarball_result {
        const char *url_used;        /* one of src->urls */
        uint64_t bytes;              /* downloaded by the run that succeeded */
        char sha256[DIGEST_HEX_MAX]; /* with want_sha256 */
};

/* Extracts want[] (each fd an empty file at offset 0) from the tarball at src->urls; the
 * members' digests land in want[].hex. A transfer that must start from zero starts the whole
 * tarball over, into emptied files, at most once per URL. Errors name the URL. */
int tarball_extract(const struct tarball_source *src, struct archive_want *want, size_t n,
                    struct tarball_result *res, char **ret_error);
