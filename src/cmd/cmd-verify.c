/* kubestrap verify: check that the control plane is up and serving the configured version; exit 1
 * if not. */
#include "cmd.h"

static int cmd_verify(struct cmd_ctx *ctx)
{
        return status_verb(ctx, "verify", true);
}

const struct command cmd_verify_entry = {
    .name = "verify",
    .min_args = 0,
    .max_args = 0,
    .usage = "verify",
    .summary = "like status, and exit 1 unless everything is healthy",
    .exec = cmd_verify,
};
