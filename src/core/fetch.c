/* Downloads that are verified as they arrive: every byte is hashed and written in one pass,
 * all files in parallel, with retries, resumption by Range and fall-over to mirrors. */
#include "fetch.h"

#include <errno.h>
#include <fcntl.h>
#include <pthread.h>
#include <string.h>
#include <sys/random.h>
#include <sys/stat.h>
#include <time.h>

#include "fileio.h"
#include "log.h"
#include "util.h"

/* The writer: a second thread that hashes and writes what the receiving thread hands it, so
 * that TLS on one side and SHA-2 plus the page cache on the other run on two cores. Bytes
 * still pass once: copied from curl's buffer into a slot, hashed and written from there.
 * Bounded memory: one slot of FETCH_SLOT_SIZE being filled per file job, plus FETCH_QUEUED
 * for the writer; the receiver waits for a free one. With 4 files that is 1 MiB (bench/).
 * The house style has the write callback feed digest and file itself; on one thread that left
 * the second core idle, and the cold install took 1.3x the floor instead of 0.9x
 * (bench/README.md), so here the callback only copies. Memory jobs (sidecars) stay inline. */
#define FETCH_SLOT_SIZE (64u << 10)
#define FETCH_QUEUED    12u

struct fetch_slot {
        struct fetch_job *job;
        size_t len;
        struct fetch_slot *next;
        unsigned char data[FETCH_SLOT_SIZE];
};

struct fetch_writer {
        pthread_t thread;
        pthread_mutex_t lock;
        pthread_cond_t work, freed, idle;
        struct fetch_slot *free, *head, *tail; /* free list; queue in arrival order */
        bool busy, quit;
        struct fetch_slot *slots;
};

static int hash(struct fetch_job *j, const void *data, size_t len)
{
        int r = digest_update(j->d, data, len);
        if (r >= 0 && j->d256)
                r = digest_update(j->d256, data, len);
        return r;
}

static int store(struct fetch_job *j, const void *data, size_t len)
{
        int r = hash(j, data, len);
        return r < 0 ? r : write_behind(j->fd, data, len, &j->stored, &j->synced);
}

static void *writer_main(void *userdata)
{
        struct fetch_writer *w = userdata;
        pthread_mutex_lock(&w->lock);
        for (;;) {
                while (!w->head && !w->quit)
                        pthread_cond_wait(&w->work, &w->lock);
                struct fetch_slot *s = w->head;
                if (!s)
                        break;
                w->head = s->next;
                if (!w->head)
                        w->tail = NULL;
                w->busy = true;
                pthread_mutex_unlock(&w->lock);

                /* after a failure the job's later bytes are dropped: it fails as a whole */
                int r = s->job->werr < 0 ? 0 : store(s->job, s->data, s->len);

                pthread_mutex_lock(&w->lock);
                if (r < 0)
                        s->job->werr = r;
                s->next = w->free;
                w->free = s;
                w->busy = false;
                pthread_cond_signal(&w->freed);
                if (!w->head)
                        pthread_cond_broadcast(&w->idle);
        }
        pthread_mutex_unlock(&w->lock);
        return NULL;
}

static int writer_start(size_t files, struct fetch_writer **ret)
{
        struct fetch_writer *w = calloc(1, sizeof(*w));
        if (!w)
                return -ENOMEM;
        /* A slot per file: with every job holding one half filled, the queue still has
         * FETCH_QUEUED, so the receiver never waits for a slot only it could hand over.
         * Slots are touched only when used: a small download costs a few pages, not all. */
        size_t n = FETCH_QUEUED + files;
        w->slots = malloc(n * sizeof(*w->slots));
        if (!w->slots) {
                free(w);
                return -ENOMEM;
        }
        for (size_t i = 0; i < n; i++) {
                w->slots[i].next = w->free;
                w->free = &w->slots[i];
        }
        pthread_mutex_init(&w->lock, NULL);
        pthread_cond_init(&w->work, NULL);
        pthread_cond_init(&w->freed, NULL);
        pthread_cond_init(&w->idle, NULL);
        int r = -pthread_create(&w->thread, NULL, writer_main, w);
        if (r < 0) {
                free(w->slots);
                free(w);
                return r;
        }
        *ret = w;
        return 0;
}

/* Hands the job's partly filled slot to the writer (or gives an empty one back). */
static void writer_flush(struct fetch_writer *w, struct fetch_job *j)
{
        struct fetch_slot *s = j->fill;
        if (!s)
                return;
        j->fill = NULL;
        pthread_mutex_lock(&w->lock);
        if (s->len == 0) {
                s->next = w->free;
                w->free = s;
                pthread_cond_signal(&w->freed);
        } else {
                s->next = NULL;
                if (w->tail)
                        w->tail->next = s;
                else
                        w->head = s;
                w->tail = s;
                pthread_cond_signal(&w->work);
        }
        pthread_mutex_unlock(&w->lock);
}

/* Waits until everything handed over is hashed and written. */
static void writer_wait(struct fetch_writer *w)
{
        pthread_mutex_lock(&w->lock);
        while (w->head || w->busy)
                pthread_cond_wait(&w->idle, &w->lock);
        pthread_mutex_unlock(&w->lock);
}

static struct fetch_writer *writer_stop(struct fetch_writer *w)
{
        if (!w)
                return NULL;
        pthread_mutex_lock(&w->lock);
        w->quit = true;
        pthread_cond_signal(&w->work);
        pthread_mutex_unlock(&w->lock);
        pthread_join(w->thread, NULL);
        pthread_mutex_destroy(&w->lock);
        pthread_cond_destroy(&w->work);
        pthread_cond_destroy(&w->freed);
        pthread_cond_destroy(&w->idle);
        free(w->slots);
        free(w);
        return NULL;
}

/* Copies received bytes into the job's slot, handing full slots to the writer. */
static int writer_take(struct fetch_writer *w, struct fetch_job *j, const char *data, size_t len)
{
        while (len > 0) {
                if (!j->fill) {
                        pthread_mutex_lock(&w->lock);
                        while (!w->free && j->werr == 0)
                                pthread_cond_wait(&w->freed, &w->lock);
                        int r = j->werr;
                        if (r == 0) {
                                j->fill = w->free;
                                w->free = j->fill->next;
                                j->fill->job = j;
                                j->fill->len = 0;
                        }
                        pthread_mutex_unlock(&w->lock);
                        if (r < 0)
                                return r;
                }
                size_t n = FETCH_SLOT_SIZE - j->fill->len;
                if (n > len)
                        n = len;
                memcpy(j->fill->data + j->fill->len, data, n);
                j->fill->len += n;
                data += n;
                len -= n;
                if (j->fill->len == FETCH_SLOT_SIZE)
                        writer_flush(w, j);
        }
        return 0;
}

/* Starts the job's body from zero: a server that ignored our Range, or another URL. */
static int job_restart(struct fetch_job *j)
{
        if (j->writer) {
                writer_flush(j->writer, j);
                writer_wait(j->writer);
        }
        j->werr = 0;
        j->d = digest_free(j->d);
        j->d256 = digest_free(j->d256);
        int r = digest_new(j->alg, &j->d);
        if (r >= 0 && j->want_sha256 && j->alg != DIGEST_SHA256)
                r = digest_new(DIGEST_SHA256, &j->d256);
        if (r < 0)
                return r;
        j->mem.len = 0;
        if (j->fd >= 0 && j->written > 0) {
                struct stat st;
                if (fstat(j->fd, &st) < 0)
                        return -errno;
                /* A stream handed on as it arrives (a pipe into the tar reader) cannot be
                 * taken back: resuming with Range works, starting over does not. */
                if (S_ISFIFO(st.st_mode))
                        return -ESPIPE;
                if (ftruncate(j->fd, 0) < 0 || lseek(j->fd, 0, SEEK_SET) < 0)
                        return -errno;
        }
        j->written = 0;
        j->stored = 0;
        j->synced = 0;
        return 0;
}

static int job_begin(long status, void *userdata)
{
        struct fetch_job *j = userdata;
        /* The whole body where the rest was asked for. curl itself stops such a transfer
         * (CURLE_RANGE_ERROR, -ENOTSUP); should one get here, it goes the same way: fetch_run
         * starts the job over from zero. */
        if (j->written > 0 && status != 206)
                return -ENOTSUP;
        if (j->written > 0)
                j->resumes++;
        return 0;
}

static int job_sink(const void *data, size_t len, void *userdata)
{
        struct fetch_job *j = userdata;
        int r;
        if (j->writer)
                r = writer_take(j->writer, j, data, len);
        else if (j->mem.len + len > j->max_mem)
                r = -EFBIG;
        else {
                r = hash(j, data, len);
                if (r >= 0)
                        r = buf_append(&j->mem, data, len);
        }
        if (r < 0)
                return r;
        j->written += len;
        return 0;
}

struct progress_ctx {
        struct fetch_job *jobs;
        size_t n;
        size_t *map; /* transfer index -> job index */
        fetch_progress_t fn;
        void *userdata;
};

static void on_progress(size_t index, uint64_t now, uint64_t total, void *userdata)
{
        struct progress_ctx *p = userdata;
        struct fetch_job *j = &p->jobs[p->map[index]];
        j->bytes = j->attempt_base + now;
        if (total > 0)
                j->total = j->attempt_base + total; /* a resumed transfer reports the rest */
        p->fn(p->jobs, p->n, p->userdata);
}

static void add_reason(struct fetch_job *j, const char *url, const char *why)
{
        char *n = NULL, *reason = NULL;
        /* the URL this part of the message is about, for an error event that quotes it */
        if (asprintf_safe(&reason, "%s: %s", url, why) >= 0) {
                log_note_where(reason, &(struct err_where){.url = url});
                free(reason);
        }
        if (j->error)
                asprintf_safe(&n, "%s; %s: %s", j->error, url, why);
        else
                asprintf_safe(&n, "%s: %s", url, why);
        free(j->error);
        j->error = n;
}

/* The file's time is up: a retry or a mirror would only run past the deadline too. */
static void job_timed_out(struct fetch_job *j, const char *url, const struct fetch_policy *p)
{
        _cleanup_free_ char *why = NULL;
        asprintf_safe(&why,
                      "not finished within the [download] timeout of %u s (the time a file may "
                      "take over all retries and mirrors); transfer stopped",
                      p->timeout_s);
        add_reason(j, url, why ? why : "timed out");
        j->done = true;
        j->result = -ETIMEDOUT;
}

static void sleep_ms(unsigned ms)
{
        struct timespec ts = {.tv_sec = ms / 1000, .tv_nsec = (long)(ms % 1000) * 1000000L};
        while (nanosleep(&ts, &ts) < 0 && errno == EINTR && !interrupted_by)
                ;
}

static unsigned backoff_for(const struct fetch_policy *p, unsigned tries)
{
        unsigned long d = p->backoff_ms;
        for (unsigned i = 1; i < tries && d < p->backoff_max_ms; i++)
                d *= 2;
        if (d > p->backoff_max_ms)
                d = p->backoff_max_ms;
        /* Jitter, so that many nodes retrying one mirror do not come back in step. */
        unsigned rnd = 0;
        if (getrandom(&rnd, sizeof(rnd), 0) != sizeof(rnd))
                rnd = 0;
        return (unsigned)d + (p->backoff_ms ? rnd % (p->backoff_ms + 1) : 0);
}

int fetch_run(struct fetch_job *jobs, size_t n, const struct http_options *o,
              const struct fetch_policy *pol, fetch_progress_t progress, void *userdata)
{
        struct fetch_policy p = pol ? *pol : FETCH_POLICY_DEFAULT;
        struct http_transfer *t = calloc(n ? n : 1, sizeof(*t));
        size_t *map = calloc(n ? n : 1, sizeof(*map));
        struct fetch_writer *w = NULL;
        int r = 0;
        if (!t || !map) {
                free(t);
                free(map);
                return -ENOMEM;
        }
        /* One deadline for the run: its files start together and run in parallel. */
        long long deadline = p.timeout_s ? now_usec() + (long long)p.timeout_s * 1000000LL : 0;
        size_t files = 0;
        for (size_t i = 0; i < n; i++)
                files += jobs[i].fd >= 0;
        if (files > 0)
                r = writer_start(files, &w);
        for (size_t i = 0; i < n && r >= 0; i++) {
                jobs[i].done = false;
                jobs[i].fill = NULL;
                jobs[i].writer = jobs[i].fd >= 0 ? w : NULL;
                r = job_restart(&jobs[i]);
        }

        for (;;) {
                size_t k = 0;
                for (size_t i = 0; i < n; i++) {
                        struct fetch_job *j = &jobs[i];
                        if (j->done)
                                continue;
                        long timeout_ms = 0;
                        if (deadline) {
                                timeout_ms = (long)((deadline - now_usec()) / 1000);
                                if (timeout_ms <= 0) { /* 0 would mean no limit to curl */
                                        job_timed_out(j, j->urls[j->url_index], &p);
                                        continue;
                                }
                        }
                        j->attempt_base = j->written;
                        j->attempts++;
                        t[k] = (struct http_transfer){
                            .url = j->urls[j->url_index],
                            .sink = job_sink,
                            .begin = job_begin,
                            .userdata = j,
                            .resume_from = j->written,
                            .timeout_ms = timeout_ms,
                        };
                        map[k++] = i;
                }
                if (k == 0 || r < 0)
                        break;
                struct progress_ctx pc = {jobs, n, map, progress, userdata};
                r = http_run(t, k, o, progress ? on_progress : NULL, &pc);
                /* everything received is hashed and written before anything is decided */
                for (size_t x = 0; x < k && w; x++)
                        writer_flush(w, &jobs[map[x]]);
                if (w)
                        writer_wait(w);
                if (r < 0)
                        break;

                unsigned wait_ms = 0;
                for (size_t x = 0; x < k; x++) {
                        struct fetch_job *j = &jobs[map[x]];
                        struct http_transfer *tr = &t[x];
                        const char *url = j->urls[j->url_index];
                        if (j->werr < 0 && tr->result != j->werr) {
                                /* the writer failed, maybe after the transfer ended: that is
                                 * the reason, and asking the server again would not help */
                                tr->result = j->werr;
                                tr->retryable = false;
                                free(tr->error);
                                tr->error = NULL;
                        }
                        if (tr->result == 0) {
                                j->done = true;
                                j->result = 0;
                                j->url_used = url;
                                j->bytes = j->written;
                                continue;
                        }
                        if (deadline && now_usec() >= deadline) {
                                job_timed_out(j, url, &p);
                                continue;
                        }
                        j->tries_here++;
                        if (tr->result == -ENOTSUP) {
                                /* A server that does not do ranges: the only way on is from zero,
                                 * which a stream already handed on cannot do (-ESPIPE). */
                                int q = job_restart(j);
                                if (q == -ESPIPE)
                                        tr->result = q;
                                else if (q < 0) {
                                        r = q;
                                        continue;
                                } else if (j->tries_here < p.attempts)
                                        continue; /* from zero, at once */
                        }
                        if (tr->retryable && j->tries_here < p.attempts) {
                                unsigned delay = backoff_for(&p, j->tries_here);
                                if (delay > wait_ms)
                                        wait_ms = delay;
                                continue; /* same URL again, resuming where it stopped */
                        }
                        add_reason(j, url,
                                   tr->result == -ESPIPE
                                       ? "sent the whole file again, not the rest (HTTP 200 to a "
                                         "Range request), and a stream cannot start over"
                                   : tr->error ? tr->error
                                               : strerror(-tr->result));
                        if (j->urls[j->url_index + 1] && tr->result != -EFBIG &&
                            tr->result != -ESPIPE) {
                                j->url_index++;
                                j->tries_here = 0;
                                int q = job_restart(j);
                                if (q != -ESPIPE) {
                                        if (q < 0)
                                                r = q;
                                        continue;
                                }
                                add_reason(j, j->urls[j->url_index],
                                           "not tried: a streamed transfer cannot start over");
                                tr->result = -ESPIPE; /* the caller may start the stream over */
                        }
                        j->done = true;
                        j->result = tr->result;
                }
                for (size_t x = 0; x < k; x++)
                        free(t[x].error);
                if (deadline && wait_ms) { /* no sleeping past the deadline */
                        long long left_ms = (deadline - now_usec()) / 1000;
                        if (left_ms < wait_ms)
                                wait_ms = left_ms > 0 ? (unsigned)left_ms : 0;
                }
                if (wait_ms)
                        sleep_ms(wait_ms);
                if (interrupted_by) {
                        r = -EINTR;
                        break;
                }
        }
        free(t);
        free(map);
        w = writer_stop(w);
        for (size_t i = 0; i < n; i++)
                jobs[i].writer = NULL;
        if (r < 0)
                return r;

        for (size_t i = 0; i < n; i++) {
                struct fetch_job *j = &jobs[i];
                if (j->result < 0)
                        continue;
                int q = digest_final_hex(j->d, j->hex);
                if (q >= 0 && j->d256)
                        q = digest_final_hex(j->d256, j->sha256);
                else if (q >= 0 && j->alg == DIGEST_SHA256)
                        memcpy(j->sha256, j->hex, sizeof(j->sha256));
                if (q < 0)
                        return q;
                if (j->fd < 0) {
                        j->body_len = j->mem.len;
                        j->body = buf_steal(&j->mem);
                        if (!j->body)
                                return -ENOMEM;
                } else if (j->expect_hex && !streq(j->hex, j->expect_hex)) {
                        free(j->error);
                        j->error = NULL;
                        asprintf_safe(&j->error, "%s: digest mismatch: expected %s:%s, got %s:%s",
                                      j->url_used, digest_alg_to_string(j->alg), j->expect_hex,
                                      digest_alg_to_string(j->alg), j->hex);
                        log_note_where(j->error, &(struct err_where){.url = j->url_used});
                        j->result = -EBADMSG;
                } else
                        j->verified = j->expect_hex;
        }
        /* the last word: every file is done, and those with a digest are verified */
        if (progress)
                progress(jobs, n, userdata);
        return 0;
}

void fetch_job_done(struct fetch_job *j)
{
        j->d = digest_free(j->d);
        j->d256 = digest_free(j->d256);
        buf_done(&j->mem);
        free(j->error);
        j->error = NULL;
        free(j->body);
        j->body = NULL;
}
