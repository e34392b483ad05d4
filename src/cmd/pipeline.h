/* The steps that several verbs share: load the configuration (or the bundle's), lock the
 * target, render, read the state, build and compare the plan; and the preflight gate. */
#pragma once

#include <stdbool.h>

#include "cmd.h"
#include "fileio.h"
#include "model.h"
#include "plan.h"
#include "render.h"
#include "state.h"

/* Shared by plan, apply and fetch: config -> model -> render -> plan -> compare. */
struct job {
        struct model *model;
        struct render_result *rendered;
        struct plan *plan;
        struct state *state;
        const struct bundle *bundle; /* the run's (ctx->bundle), not owned */
        struct target target;
        bool target_open;
        char *marker;          /* cluster.version as configured, when a marker; else NULL */
        char *version_from;    /* where the marker was resolved: its URL, or the bundle */
        const char *installed; /* the release the state records (in state), or NULL */
};
/* Prints errors and returns an exit code (EXIT_OK when the plan is ready); job_done() in
 * either case. */
int job_prepare(struct cmd_ctx *ctx, struct job *job, bool want_diff);
void job_done(struct job *job);

/* Publishes the files kept for rollback back and records that (rollback.h); then, unless
 * --root, restarts their units in wave order and waits for health at the kept release. The
 * release rolled back to in *ret_release. Errors in *ret_error. */
int job_rollback(struct cmd_ctx *ctx, struct job *job, char **ret_release, char **ret_error);

/* Takes the target's lock, or says which process holds it; returns an exit code. */
int cmd_lock(struct target *t);
/* Loads the configuration (-c's, or the --bundle's, which is opened once per run into
 * ctx->bundle) and applies --host; prints errors; returns an exit code. */
int cmd_load_model(struct cmd_ctx *ctx, struct model **ret);
/* cmd_load_model, then the inventory hosts the verb runs on (fanout, tmux): the named ones (each
 * must have a [host NAME] section), else all of them. Prints errors naming the verb and the
 * config; on failure nothing is returned. */
int cmd_load_hosts(struct cmd_ctx *ctx, char *const *names, struct model **ret_model,
                   const struct host ***ret_hosts, size_t *ret_n);
/* Loads the state of target t; a failure is logged naming the state file. */
int cmd_load_state(struct target *t, const struct model *m, struct state **ret);

/* A marker in the configuration stands for the release the state records (what status
 * compares with the running apiserver); left as it is when none is recorded. No network. */
int cmd_installed_version(struct cmd_ctx *ctx, struct model *m);

/* Runs the preflight checks and reports what is not fine (everything when verbose); returns
 * an exit code. */
int preflight_check(struct cmd_ctx *ctx, const struct model *m, bool verbose);
