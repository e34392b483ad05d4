/* kubestrap rollback: put back the release the last upgrade replaced, from the files kept
 * under the state directory, restart its units in wave order and wait for health. */
#include "cmd.h"
#include "log.h"
#include "pipeline.h"
#include "report.h"
#include "rollback.h"

static int cmd_rollback(struct cmd_ctx *ctx)
{
        struct job job;
        _cleanup_free_ char *err = NULL, *release = NULL;
        int r = job_prepare(ctx, &job, false);
        if (r != EXIT_OK) {
                job_done(&job);
                return r;
        }
        const char *kept = rollback_release(job.state);
        if (!kept) {
                log_error("rollback: nothing is kept to roll back to in %s/%s (apply keeps the "
                          "files it replaces only when it installs another release)",
                          job.model->cfg.paths.state_dir, ROLLBACK_DIR);
                job_done(&job);
                return EXIT_RUN_FAILED;
        }
        long long t0 = now_usec();
        r = job_rollback(ctx, &job, &release, &err);
        if (r < 0) {
                if (err)
                        log_error("rollback to %s failed: %s", kept, err);
                else
                        log_error_errno(r, "rollback to %s failed: %m", kept);
                job_done(&job);
                return EXIT_RUN_FAILED;
        }
        report_rolled_back(release, now_usec() - t0);
        job_done(&job);
        return EXIT_OK;
}

const struct command cmd_rollback_entry = {
    .name = "rollback",
    .min_args = 0,
    .max_args = 0,
    .flags = CMD_LOCKS,
    .usage = "rollback",
    .summary = "put back the release the last upgrade replaced, kept under the state directory",
    .exec = cmd_rollback,
};
