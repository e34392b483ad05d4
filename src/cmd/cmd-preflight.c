/* kubestrap preflight: is this machine fit to be a controller, and is the PKI right? (apply
 * runs the same checks first; --ignore NAME turns one failure into a warning). */
#include "cmd.h"
#include "pipeline.h"
#include "report.h"

static int cmd_preflight(struct cmd_ctx *ctx)
{
        struct model *m = NULL;
        int r = cmd_load_model(ctx, &m);
        if (r != EXIT_OK)
                return r;
        r = preflight_check(ctx, m, true);
        model_free(m);
        report_preflight_summary(r != EXIT_OK);
        return r;
}

const struct command cmd_preflight_entry = {
    .name = "preflight",
    .min_args = 0,
    .max_args = 0,
    .usage = "preflight",
    .summary = "check the machine and the PKI before changing anything",
    .exec = cmd_preflight,
};
