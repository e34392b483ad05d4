/* Download progress for people (a live line on a terminal, or a line per file and step in a
 * log) and machines (JSON events). */
#pragma once

#include "fetch.h"

/* Without a terminal: what was last told of one file. */
struct progress_file {
        long long started_usec, told_usec;
        bool ended;
};

struct progress {
        long long started_usec;
        long long last_usec;
        bool tty;
        bool drawn;
        /* Without a terminal, a line per file: when it starts, every interval_usec while it
         * runs, and when it is verified; the files of the current fetch run. */
        bool lines;
        long long interval_usec;
        const struct fetch_job *run;
        bool run_over; /* its last call came: the next call is a new run */
        struct progress_file *files;
        size_t n_files, cap_files;
};

/* The interval between a running file's lines in a log: 10 s, or KUBESTRAP_PROGRESS_INTERVAL_MS
 * (milliseconds, for tests). */
#define PROGRESS_INTERVAL_USEC (10 * 1000000LL)

void progress_init(struct progress *p);
/* A fetch_progress_t: pass a struct progress as userdata. */
void progress_update(const struct fetch_job *jobs, size_t n, void *userdata);
/* Clears the live line, if one was drawn; forgets the files of the last run. */
void progress_finish(struct progress *p);
