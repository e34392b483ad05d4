/* Download progress for people (a live line on a terminal) and machines (JSON events). */
#include "progress.h"

#include <stdio.h>
#include <unistd.h>

#include "log.h"
#include "util.h"

void progress_init(struct progress *p)
{
        *p = (struct progress){.started_usec = now_usec()};
        /* Nothing of it when stderr is a file or pipe: logs stay readable. */
        p->tty = arg_output == OUTPUT_HUMAN && isatty(STDERR_FILENO);
}

void progress_update(const struct fetch_job *jobs, size_t n, void *userdata)
{
        struct progress *p = userdata;
        long long now = now_usec();
        /* a few updates a second are plenty, and cheap next to the transfer */
        if (now - p->last_usec < (p->tty ? 100000 : 500000))
                return;
        p->last_usec = now;
        uint64_t bytes = 0, total = 0;
        bool all_known = true;
        size_t done = 0;
        for (size_t i = 0; i < n; i++) {
                bytes += jobs[i].bytes;
                total += jobs[i].total;
                all_known = all_known && jobs[i].total > 0;
                done += jobs[i].total > 0 && jobs[i].bytes >= jobs[i].total;
        }
        double secs = (double)(now - p->started_usec) / 1e6;
        double rate = secs > 0 ? (double)bytes / secs : 0;
        if (arg_output == OUTPUT_JSON) {
                struct json_event e;
                json_begin(&e, "progress");
                json_int(&e, "bytes", (long long)bytes);
                json_int(&e, "total", all_known ? (long long)total : 0);
                json_int(&e, "files", (long long)n);
                json_int(&e, "files_done", (long long)done);
                json_int(&e, "rate", (long long)rate);
                json_end(&e);
                return;
        }
        if (!p->tty)
                return;
        char b[32], t[32], r[32], line[256];
        human_size((double)bytes, b, sizeof(b));
        human_size((double)total, t, sizeof(t));
        human_size(rate, r, sizeof(r));
        int len = snprintf(line, sizeof(line), "downloading %zu/%zu files: %s", done, n, b);
        if (all_known && total > 0) {
                double eta = rate > 0 ? (double)(total - bytes) / rate : 0;
                len += snprintf(line + len, sizeof(line) - (size_t)len,
                                " of %s (%3.0f%%), %s/s, ETA %.0f s", t,
                                100.0 * (double)bytes / (double)total, r, eta);
        } else
                len += snprintf(line + len, sizeof(line) - (size_t)len, ", %s/s", r);
        /* per file, in a compact tail */
        for (size_t i = 0; i < n && len < (int)sizeof(line) - 16; i++)
                if (jobs[i].total)
                        len += snprintf(line + len, sizeof(line) - (size_t)len, " [%u%%]",
                                        (unsigned)(100 * jobs[i].bytes / jobs[i].total));
        fprintf(stderr, "\r%s\033[K", line);
        fflush(stderr);
        p->drawn = true;
}

void progress_finish(struct progress *p)
{
        if (p->drawn) {
                fputs("\r\033[K", stderr);
                fflush(stderr);
        }
        p->drawn = false;
}
