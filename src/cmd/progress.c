/* Download progress: how far the transfers are, a few times a second, for report.c to show. */
#include "progress.h"

#include "report.h"
#include "util.h"

void progress_init(struct progress *p)
{
        *p = (struct progress){.started_usec = now_usec(), .tty = report_progress_live()};
}

void progress_update(const struct fetch_job *jobs, size_t n, void *userdata)
{
        struct progress *p = userdata;
        long long now = now_usec();
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
}
