/* kubestrap plan: show what apply would change, with unified diffs of text files. */
#include "cmd.h"
#include "log.h"
#include "pipeline.h"
#include "report.h"

static int cmd_plan(struct cmd_ctx *ctx)
{
        struct run_times times = {.start_usec = now_usec()};
        struct job job;
        /* terraform's -detailed-exitcode: a pipeline can gate on pending changes */
        bool detailed = cmd_opt(ctx, "detailed-exitcode") != NULL;
        int r = job_prepare(ctx, &job, true);
        if (r != EXIT_OK) {
                report_summary("plan", NULL, 0, 1, &times);
                job_done(&job);
                return detailed ? EXIT_RUN_FAILED : r;
        }
        report_release(job.marker, job.model->cfg.cluster.version, job.version_from, job.installed);
        report_signatures(job.plan);
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
        return detailed && changed > 0 ? EXIT_PLAN_CHANGES : EXIT_OK;
}

static const struct cmd_option plan_options[] = {
    {"detailed-exitcode", 0, NULL,
     "exit 0 when nothing would change, 2 when changes are pending, 1 on any error"},
    {0},
};

const struct command cmd_plan_entry = {
    .name = "plan",
    .min_args = 0,
    .max_args = 0,
    .flags = CMD_SKEW,
    .usage = "plan [--detailed-exitcode]",
    .summary = "show what apply would change (with diffs)",
    .options = plan_options,
    .exec = cmd_plan,
};
