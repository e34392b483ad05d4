/* The release tarball, streamed once: a thread downloads and hashes it into a pipe while this
 * one extracts the wanted members from the pipe. */
#include "tarball.h"

#include <errno.h>
#include <fcntl.h>
#include <pthread.h>
#include <string.h>
#include <unistd.h>

#include "util.h"

struct tarball_stream {
        struct fetch_job job;
        const struct tarball_source *src;
        int r;
};

static void *tarball_thread(void *userdata)
{
        struct tarball_stream *ts = userdata;
        ts->r = fetch_run(&ts->job, 1, ts->src->http, ts->src->policy, ts->src->progress,
                          ts->src->userdata);
        close(ts->job.fd); /* end of stream for the reader */
        ts->job.fd = -1;
        return NULL;
}

/* Streams the tarball once from URLS. On -ESPIPE, *ret_stopped is the index in URLS of the URL
 * that would have to start over. */
static int stream_tarball(const struct tarball_source *src, struct archive_want *want, size_t n,
                          char **urls, struct tarball_result *res, size_t *ret_stopped,
                          char **ret_error)
{
        int pfd[2];
        if (pipe2(pfd, O_CLOEXEC) < 0)
                return -errno;
        /* A deeper pipe lets the two sides run longer without waking each other up. */
        (void)fcntl(pfd[1], F_SETPIPE_SZ, 1 << 20);
        struct tarball_stream ts = {
            .job = {.urls = urls,
                    .fd = pfd[1],
                    .alg = src->alg,
                    .expect_hex = src->hex,
                    .want_sha256 = src->want_sha256},
            .src = src,
        };
        pthread_t th;
        int r = -pthread_create(&th, NULL, tarball_thread, &ts);
        if (r < 0) {
                close(pfd[0]);
                close(pfd[1]);
                return r;
        }
        _cleanup_free_ char *xerr = NULL;
        int xr = archive_extract(pfd[0], want, n, &xerr);
        close(pfd[0]); /* a writer still going gets EPIPE and stops */
        pthread_join(th, NULL);
        r = ts.r;
        if (r >= 0 && ts.job.result < 0 && !(xr < 0 && ts.job.result == -EPIPE)) {
                /* the tarball's own failure (or digest mismatch) explains more than the reader's */
                r = ts.job.result;
                asprintf_safe(ret_error, "%s", ts.job.error);
                *ret_stopped = ts.job.url_index;
        } else if (r >= 0 && xr < 0) {
                r = xr;
                asprintf_safe(ret_error, "%s: %s", ts.job.url_used ? ts.job.url_used : urls[0],
                              xerr ? xerr : strerror(-xr));
        }
        if (r >= 0) {
                res->bytes = ts.job.bytes;
                res->url_used = ts.job.url_used;
                memcpy(res->sha256, ts.job.sha256, sizeof(res->sha256));
        }
        fetch_job_done(&ts.job);
        return r;
}

/* A stream handed to the extractor as it arrives cannot be rewound, so a transfer that has to
 * start from zero (a server that answers a Range request with the whole file, or the next
 * mirror after the primary failed half-way) fails the stream with -ESPIPE. Then the whole
 * tarball starts over from that URL, into emptied staging files; at most once per URL. */
int tarball_extract(const struct tarball_source *src, struct archive_want *want, size_t n,
                    struct tarball_result *res, char **ret_error)
{
        char **urls = src->urls;
        for (size_t round = 0;; round++) {
                _cleanup_free_ char *err = NULL;
                size_t stopped = 0;
                int r = stream_tarball(src, want, n, urls, res, &stopped, &err);
                if (r != -ESPIPE || round >= strv_length(src->urls) || !urls[stopped]) {
                        *ret_error = TAKE_PTR(err);
                        return r;
                }
                _cleanup_free_ char *w = NULL;
                asprintf_safe(&w, "%s; starting the tarball over from %s", err ? err : "",
                              urls[stopped]);
                if (w)
                        (void)strv_extend(src->warnings, w);
                for (size_t i = 0; i < n; i++)
                        if (ftruncate(want[i].fd, 0) < 0 || lseek(want[i].fd, 0, SEEK_SET) < 0)
                                return -errno;
                urls += stopped;
        }
}
