/* The command table: one entry per verb, each defined in its own src/cmd-<verb>.c. */
#pragma once

#include <stdbool.h>

#include "fileio.h"
#include "model.h"
#include "plan.h"
#include "render.h"

enum {
        EXIT_OK = 0,
        EXIT_RUN_FAILED = 1,
        EXIT_USAGE = 2,
};

#define CMD_NEEDS_CONFIG (1u << 0)
#define CMD_LOCKS        (1u << 1) /* changes the target: one run at a time */

struct cmd_ctx {
        const char *config_path;
        const char *root;
        bool verify; /* re-hash installed binaries even when their stat fingerprint matches */
        bool config_explicit;
        const char *bundle_path; /* --bundle FILE|- */
        unsigned flags;          /* of the command being run */
        char **ignore;           /* --ignore NAME: preflight checks whose failure only warns */
        bool skip_preflight;
        const char *host;      /* --host NAME: this run is for [host NAME] of the inventory */
        struct bundle *bundle; /* opened from bundle_path by cmd_load_model() */

        int argc; /* arguments after the verb */
        char **argv;
};

struct command {
        const char *name;
        int min_args, max_args;
        unsigned flags;
        const char *usage;
        const char *summary;
        int (*exec)(struct cmd_ctx *ctx);
};

extern const struct command cmd_plan_entry;
extern const struct command cmd_apply_entry;
extern const struct command cmd_fetch_entry;
extern const struct command cmd_status_entry;
extern const struct command cmd_verify_entry;
extern const struct command cmd_reset_entry;
extern const struct command cmd_preflight_entry;
extern const struct command cmd_fanout_entry;
extern const struct command cmd_tmux_entry;
extern const struct command cmd_cloud_init_entry;
extern const struct command cmd_cache_entry;
extern const struct command cmd_version_entry;

const struct command *cmd_find(const char *name);
void cmd_print_list(void);

/* Shared by plan and apply: config -> model -> render -> plan -> compare. Prints errors and
 * returns an exit code (EXIT_OK when the plan is ready). */
struct job {
        struct model *model;
        struct render_result *rendered;
        struct plan *plan;
        struct state *state;
        const struct bundle *bundle; /* the run's (ctx->bundle), not owned */
        struct target target;
        bool target_open;
};
int job_prepare(struct cmd_ctx *ctx, struct job *job, bool want_diff);
/* Takes the target's lock, or says which process holds it; returns an exit code. */
int cmd_lock(struct target *t);
/* Loads the configuration (-c's, or the --bundle's, which is opened once per run into
 * ctx->bundle) and applies --host; prints errors; returns an exit code. */
int cmd_load_model(struct cmd_ctx *ctx, struct model **ret);
/* Loads the state of target t; a failure is logged naming the state file. */
int cmd_load_state(struct target *t, const struct model *m, struct state **ret);

void job_done(struct job *job);

/* Reporting of plan items and run summaries, human or JSON. */
void report_item(const struct target *t, const struct item *it, const char *event, bool show_diff);
void report_warnings(const struct plan *p);
int status_command(struct cmd_ctx *ctx, const char *verb, bool strict);
/* Runs the preflight checks and prints what is not fine (everything when verbose). */
int preflight_check(struct cmd_ctx *ctx, const struct model *m, bool verbose);
int preflight_command(struct cmd_ctx *ctx, bool verbose);
/* Phase times of a run, for the summary (0: phase not run). */
struct run_times {
        long long start_usec; /* when the run began */
        long long plan_usec, install_usec, start_usec_phase, healthy_usec;
};
void report_summary(const char *verb, const struct plan *p, size_t changed, size_t failed,
                    const struct run_times *t);
