/* kubestrap apply: make the node match the plan, verified and atomically, file by file. */
#include "cmd.h"
#include "log.h"
#include "progress.h"

/* Passed to both hooks: progress_update() sees the struct progress at its start. */
struct apply_progress {
        struct progress bar;
        const struct target *t;
        size_t changed;
};

static void on_done(const struct item *it, void *userdata)
{
        struct apply_progress *p = userdata;
        progress_finish(&p->bar);
        p->changed++;
        report_item(p->t, it, "change", false);
}

static int cmd_apply(struct cmd_ctx *ctx)
{
        long long start = now_usec();
        struct job job;
        _cleanup_free_ char *err = NULL;
        int r = job_prepare(ctx, &job, false);
        if (r != EXIT_OK) {
                report_summary("apply", NULL, 0, 1, start);
                job_done(&job);
                return r;
        }
        struct apply_progress progress = {.t = &job.target};
        progress_init(&progress.bar);
        struct apply_hooks hooks = {
            .done = on_done, .progress = progress_update, .userdata = &progress};
        r = plan_apply(job.plan, &job.target, job.state, &hooks, &err);
        progress_finish(&progress.bar);
        if (r >= 0) {
                r = state_save(&job.target, model_get(job.model, "paths.state-dir"), job.state);
                if (r < 0)
                        err = strdup("failed to record what was installed in the state file");
        }
        if (r < 0) {
                if (err)
                        log_error("apply failed, nothing further changed: %s", err);
                else
                        log_error_errno(r, "apply failed, nothing further changed: %m");
                report_summary("apply", job.plan, progress.changed, 1, start);
                job_done(&job);
                return EXIT_RUN_FAILED;
        }
        report_summary("apply", job.plan, progress.changed, 0, start);
        job_done(&job);
        return EXIT_OK;
}

const struct command cmd_apply_entry = {
    .name = "apply",
    .min_args = 0,
    .max_args = 0,
    .flags = CMD_NEEDS_CONFIG,
    .usage = "apply",
    .summary = "download, verify and install everything the plan lists",
    .exec = cmd_apply,
};
