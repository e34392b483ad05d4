/* kubestrap status: show what the node runs: units, health, the nginx proxy and /version. */
#include "cmd.h"
#include "log.h"
#include "pipeline.h"
#include "report.h"
#include "status.h"

int status_verb(struct cmd_ctx *ctx, const char *verb, bool strict)
{
        struct model *m = NULL;
        int r = cmd_load_model(ctx, &m);
        if (r != EXIT_OK)
                return r;
        r = cmd_installed_version(ctx, m);
        if (r != EXIT_OK) {
                model_free(m);
                return r;
        }
        struct status s;
        r = status_collect(m, ctx->root, &s);
        if (r < 0) {
                status_done(&s);
                model_free(m);
                return log_error_errno(r, "Failed to collect the status: %m"), EXIT_RUN_FAILED;
        }
        report_status(&s);
        /* which binaries were signature-verified, and by whom: what the state recorded */
        struct target t = {.root_fd = -1, .lock_fd = -1};
        struct state *st = NULL;
        if (target_open(ctx->root, &t) >= 0 && cmd_load_state(&t, m, &st) >= 0)
                report_signed(st);
        state_free(st);
        target_close(&t);
        bool ok = s.all_ok;
        report_status_summary(verb, ok);
        status_done(&s);
        model_free(m);
        return strict && !ok ? EXIT_RUN_FAILED : EXIT_OK;
}

static int cmd_status(struct cmd_ctx *ctx)
{
        return status_verb(ctx, "status", false);
}

const struct command cmd_status_entry = {
    .name = "status",
    .min_args = 0,
    .max_args = 0,
    .usage = "status",
    .summary = "units, health, proxy and /version of this node",
    .exec = cmd_status,
};
