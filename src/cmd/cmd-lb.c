/* kubestrap lb: the front-end load balancer off this host's hands; --print gcloud prints the
 * seed's commands for Google's network load balancer with the configuration's values. */
#include <stdio.h>
#include <string.h>

#include "cmd.h"
#include "lb.h"
#include "log.h"
#include "pipeline.h"

static int cmd_lb(struct cmd_ctx *ctx)
{
        const char *what = cmd_opt(ctx, "print");
        if (!what)
                return cmd_usage_error(ctx, "say what to print: --print gcloud");
        if (!streq(what, "gcloud"))
                return cmd_usage_error(ctx, "--print takes 'gcloud', not '%s'", what);
        struct model *m = NULL;
        int r = cmd_load_model(ctx, &m);
        if (r != EXIT_OK)
                return r;
        _cleanup_free_ char *text = NULL, *err = NULL;
        r = lb_gcloud_script(m, &text, &err);
        model_free(m);
        if (r < 0) {
                if (err)
                        log_error("%s", err);
                else
                        log_error_errno(r, "lb: %m");
                return r == -EINVAL ? EXIT_USAGE : EXIT_RUN_FAILED;
        }
        /* a script for the operator to read and run, like cloud-init's user-data */
        fputs(text, stdout);
        return EXIT_OK;
}

static const struct cmd_option lb_options[] = {
    {"print", 0, "gcloud", "print the commands that make Google's network load balancer"},
    {0},
};

const struct command cmd_lb_entry = {
    .name = "lb",
    .min_args = 0,
    .max_args = 0,
    .usage = "lb --print gcloud",
    .options = lb_options,
    .summary = "the front-end load balancer: print the seed's gcloud commands",
    .exec = cmd_lb,
};
