/* Downloads that are verified as they arrive: every byte is hashed and written in one pass,
 * all files in parallel, with retries, resumption by Range and fall-over to mirrors. */
#pragma once

#include <stdbool.h>
#include <stdint.h>

#include "digest.h"
#include "http.h"
#include "util.h"

struct fetch_policy {
        unsigned attempts;       /* per URL, including the first */
        unsigned backoff_ms;     /* first retry delay; doubles each time, plus jitter */
        unsigned backoff_max_ms; /* cap of the delay */
        /* Seconds a file may take from the start of fetch_run, over all its attempts, resumes
         * and mirrors ([download] timeout); then it fails, not retried. 0: no limit. */
        unsigned timeout_s;
};
#define FETCH_POLICY_DEFAULT                                                                       \
        ((struct fetch_policy){                                                                    \
            .attempts = 4, .backoff_ms = 250, .backoff_max_ms = 8000, .timeout_s = 1800})

struct fetch_job {
        /* in */
        char **urls; /* candidates in order: the primary, then mirrors */
        int fd;      /* >= 0: write the body here; < 0: keep it in memory */
        enum digest_alg alg;
        const char *expect_hex; /* checked at the end when set (file jobs) */
        size_t max_mem;         /* memory jobs: largest body accepted */
        /* also the SHA-256 in the same pass when alg is another one: a signature is over
         * SHA-256 whatever the pin is, and the file is never read a second time */
        bool want_sha256;

        /* out */
        int result;
        char *error; /* names every URL tried and why it failed */
        char hex[DIGEST_HEX_MAX];
        char sha256[DIGEST_HEX_MAX]; /* when want_sha256 (or alg is SHA-256) */
        char *body;                  /* memory jobs */
        size_t body_len;
        const char *url_used;
        unsigned attempts, resumes;
        uint64_t bytes;
        uint64_t total; /* expected size once the server said, else 0 */
        bool verified;  /* its digest matched expect_hex (set when the run ends) */

        /* private */
        struct digest *d;
        struct digest *d256; /* want_sha256 with another alg */
        struct buf mem;
        uint64_t written; /* received and accepted (queued for the writer, for file jobs) */
        uint64_t stored;  /* file jobs: hashed and written by the writer thread */
        uint64_t synced;  /* written back up to here (sync_file_range) */
        struct fetch_writer *writer;
        struct fetch_slot *fill; /* being filled by the receiving thread */
        int werr;                /* the writer's first error for this job */
        uint64_t attempt_base;
        size_t url_index;
        unsigned tries_here;
        bool done;
};

/* Progress over all jobs: bytes so far, and the total when every size is known (else 0).
 * Called while transfers run and once more at the end of a successful run, when every job is
 * done and verified. */
typedef void (*fetch_progress_t)(const struct fetch_job *jobs, size_t n, void *userdata);

int fetch_run(struct fetch_job *jobs, size_t n, const struct http_options *o,
              const struct fetch_policy *p, fetch_progress_t progress, void *userdata);
void fetch_job_done(struct fetch_job *j);
