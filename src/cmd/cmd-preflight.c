/* kubestrap preflight: is this machine fit to be a controller, and is the PKI right? (apply
 * runs the same checks first; --ignore NAME turns one failure into a warning). */
#include <stdio.h>

#include "cmd.h"
#include "pipeline.h"
#include "report.h"

static int cmd_preflight(struct cmd_ctx *ctx)
{
        /* the names --ignore takes, one per line, for shell completion and scripts */
        if (cmd_opt(ctx, "list-checks")) {
                for (size_t i = 0; preflight_check_name(i); i++)
                        printf("%s\n", preflight_check_name(i));
                return fflush(stdout) == 0 ? EXIT_OK : EXIT_RUN_FAILED;
        }
        struct model *m = NULL;
        int r = cmd_load_model(ctx, &m);
        if (r != EXIT_OK)
                return r;
        r = preflight_check(ctx, m, true);
        model_free(m);
        report_preflight_summary(r != EXIT_OK);
        return r;
}

static const struct cmd_option options[] = {
    {"list-checks", 0, NULL, "list the checks' names (for --ignore) instead; no config read"},
    {0},
};

const struct command cmd_preflight_entry = {
    .name = "preflight",
    .min_args = 0,
    .max_args = 0,
    .usage = "preflight [--list-checks]",
    .summary = "check the machine and the PKI before changing anything",
    .options = options,
    .exec = cmd_preflight,
};
