/* Undoing an install: stop and disable our units, then remove exactly what kubestrap
 * installed, as recorded in its state; files changed since are kept and named. */
#pragma once

#include <stdbool.h>
#include <stddef.h>

#include "fileio.h"
#include "model.h"
#include "state.h"

enum reset_outcome {
        RESET_REMOVED,
        RESET_KEPT,   /* still there: changed since, or no longer ours (reason says how) */
        RESET_FAILED, /* could not be removed (error says why) */
};

/* One path reset looked at, in the order it did. */
struct reset_event {
        enum reset_outcome outcome;
        char *path;
        const char *reason; /* RESET_KEPT: static text */
        int error;          /* RESET_FAILED: -errno */
};

struct reset_result;
/* etcd's data directory is the cluster's, not a file kubestrap installed: an event says it is
 * kept, unless purge (reset --purge-etcd-data) removes it (not on a dry run). */
int reset_etcd_data(const struct model *m, struct target *t, bool purge, struct reset_result *res);

struct reset_result {
        bool dry_run; /* nothing was changed: the events say what would be */
        char **units; /* the units stopped and disabled (or that would be) */
        struct reset_event *events;
        size_t n_events, cap_events;
        size_t removed, kept, failed;
        int save_error; /* the updated state could not be saved (-errno) */
};

/* use_systemd: stop and disable the units first and reload systemd (and the servers whose
 * sites went) afterwards; false under --root. A failure to stop is returned with *ret_error
 * before anything is removed; per-path failures are events and make the return -EIO. The
 * state is reordered and, when something stays, trimmed to what stays and saved. */
int reset_run(const struct model *m, struct target *t, struct state *st, bool use_systemd,
              struct reset_result *ret, char **ret_error);
/* What reset_run would do, changing nothing: a file is "removed" when it is still what
 * kubestrap installed; a directory when it is empty but for what would go. */
int reset_preview(const struct model *m, struct target *t, struct state *st,
                  struct reset_result *ret);
void reset_result_done(struct reset_result *r);
