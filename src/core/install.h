/* Installing a plan: stage every change, publish by rename, record what was installed. */
#pragma once

#include "fetch.h"
#include "fileio.h"
#include "plan.h"
#include "state.h"

/* Called once per item that was changed, in order. */
typedef void (*install_progress_t)(const struct item *it, void *userdata);
struct install_hooks {
        install_progress_t done;   /* once per item changed */
        fetch_progress_t progress; /* download progress */
        /* once everything is staged and verified, before the first rename (rollback keeps
         * the files about to be replaced); a failure aborts the install */
        int (*before_publish)(void *userdata);
        void *userdata;
};

/* Stages every change (downloads verified, renders written) into temp files, then publishes
 * them all by rename. A failure before publishing leaves the target as it was. Records what
 * was installed into st (the caller saves it). */
int install_apply(struct plan *p, struct target *t, struct state *st, const struct install_hooks *h,
                  char **ret_error);
/* Removes staging files an interrupted run left next to the plan's files, and in the cache. */
void install_sweep_staging(struct plan *p, struct target *t);
/* Downloads every binary into the cache only (for 'fetch'), verified like apply does. */
int install_fetch(struct plan *p, struct target *t, const struct install_hooks *h,
                  char **ret_error);
