/* Download progress for people (a live line on a terminal) and machines (JSON events). */
#pragma once

#include "fetch.h"

struct progress {
        long long started_usec;
        long long last_usec;
        bool tty;
        bool drawn;
};

void progress_init(struct progress *p);
/* A fetch_progress_t: pass a struct progress as userdata. */
void progress_update(const struct fetch_job *jobs, size_t n, void *userdata);
/* Clears the live line, if one was drawn. */
void progress_finish(struct progress *p);
