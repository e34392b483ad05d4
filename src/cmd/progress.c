/* Download progress: how far the transfers are, a few times a second on a terminal or as JSON,
 * and in a log a line per file and step, for report.c to show. */
#include "progress.h"

#include <stdlib.h>
#include <string.h>

#include "report.h"
#include "util.h"

void progress_init(struct progress *p)
{
        *p = (struct progress){.started_usec = now_usec(),
                               .tty = report_progress_live(),
                               .lines = report_progress_lines(),
                               .interval_usec = PROGRESS_INTERVAL_USEC};
        unsigned ms;
        const char *e = getenv("KUBESTRAP_PROGRESS_INTERVAL_MS");
        if (e && safe_atou(e, &ms) >= 0 && ms > 0)
                p->interval_usec = (long long)ms * 1000;
}

static void forget_files(struct progress *p)
{
        free(p->files);
        p->files = NULL;
        p->n_files = p->cap_files = 0;
        p->run = NULL;
        p->run_over = false;
}

/* A log is read later, by people who want to know it did not hang: a line when each file
 * starts, one every interval while it runs, one when it is verified; never a carriage return. */
static void update_lines(struct progress *p, const struct fetch_job *jobs, size_t n, long long now)
{
        if (p->run != jobs || p->n_files != n || p->run_over) { /* a new fetch run */
                forget_files(p);
                if (ARRAY_RESERVE(p->files, p->cap_files, n) < 0)
                        return; /* out of memory: the log only misses these lines */
                memset(p->files, 0, n * sizeof(*p->files));
                p->run = jobs;
                p->n_files = n;
        }
        bool all_done = true;
        for (size_t i = 0; i < n; i++) {
                const struct fetch_job *j = &jobs[i];
                struct progress_file *f = &p->files[i];
                struct progress_line l = {.url = j->urls[0], .bytes = j->bytes, .total = j->total};
                all_done = all_done && j->done;
                if (f->ended)
                        continue;
                if (!f->started_usec) {
                        f->started_usec = f->told_usec = now;
                        l.step = PROGRESS_STARTED;
                        report_progress_line(&l);
                } else if (!j->done && !(j->total > 0 && j->bytes >= j->total) &&
                           now - f->told_usec >= p->interval_usec) {
                        /* (a file all received waits for its line until it is verified) */
                        f->told_usec = now;
                        l.secs = (double)(now - f->started_usec) / 1e6;
                        l.rate = l.secs > 0 ? (double)j->bytes / l.secs : 0;
                        l.step = PROGRESS_RUNNING;
                        report_progress_line(&l);
                }
        }
        if (!all_done)
                return;
        /* the run's last call: digests are checked now */
        p->run_over = true;
        for (size_t i = 0; i < n; i++) {
                const struct fetch_job *j = &jobs[i];
                if (p->files[i].ended || j->result < 0) /* a failure is reported as an error */
                        continue;
                p->files[i].ended = true;
                struct progress_line l = {
                    .step = j->verified ? PROGRESS_VERIFIED : PROGRESS_RECEIVED,
                    .url = j->urls[0],
                    .bytes = j->bytes,
                    .total = j->total,
                    .secs = (double)(now - p->files[i].started_usec) / 1e6,
                    .alg = j->alg,
                    .hex = j->hex,
                };
                report_progress_line(&l);
        }
}

void progress_update(const struct fetch_job *jobs, size_t n, void *userdata)
{
        struct progress *p = userdata;
        long long now = now_usec();
        if (p->lines) {
                update_lines(p, jobs, n, now);
                return;
        }
        /* a few updates a second are plenty, and cheap next to the transfer */
        if (now - p->last_usec < (p->tty ? 100000 : 500000))
                return;
        p->last_usec = now;
        struct progress_figures f = {.all_known = true, .files = n, .jobs = jobs};
        for (size_t i = 0; i < n; i++) {
                f.bytes += jobs[i].bytes;
                f.total += jobs[i].total;
                f.all_known = f.all_known && jobs[i].total > 0;
                f.files_done += jobs[i].total > 0 && jobs[i].bytes >= jobs[i].total;
        }
        double secs = (double)(now - p->started_usec) / 1e6;
        f.rate = secs > 0 ? (double)f.bytes / secs : 0;
        if (report_progress(&f))
                p->drawn = true;
}

void progress_finish(struct progress *p)
{
        if (p->drawn)
                report_progress_clear();
        p->drawn = false;
        forget_files(p);
}
