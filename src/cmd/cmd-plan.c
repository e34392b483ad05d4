/* kubestrap plan: show what apply would change, with unified diffs of text files. */
#include "cmd.h"
#include "log.h"
#include "pipeline.h"
#include "report.h"

static int cmd_plan(struct cmd_ctx *ctx)
{
        struct run_times times = {.start_usec = now_usec()};
        struct job job;
        int r = job_prepare(ctx, &job, true);
        if (r != EXIT_OK) {
                report_summary("plan", NULL, 0, 1, &times);
                job_done(&job);
                return r;
        }
        report_release(job.marker, job.model->cfg.cluster.version, job.version_from, job.installed);
        size_t changed = 0;
        for (size_t i = 0; i < job.plan->n_items; i++) {
                const struct item *it = &job.plan->items[i];
                if (it->action == ACTION_NONE && !log_verbose)
                        continue;
                changed += it->action != ACTION_NONE;
                report_item(&job.target, it, "plan", true);
        }
        report_summary("plan", job.plan, changed, 0, &times);
        job_done(&job);
        return EXIT_OK;
}

const struct command cmd_plan_entry = {
    .name = "plan",
    .min_args = 0,
    .max_args = 0,
    .flags = CMD_SKEW,
    .usage = "plan",
    .summary = "show what apply would change (with diffs)",
    .exec = cmd_plan,
};
