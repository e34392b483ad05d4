/* kubestrap status: show what the node runs: units, health, the nginx proxy and /version. */
#include "cmd.h"

static int cmd_status(struct cmd_ctx *ctx)
{
        return status_command(ctx, "status", false);
}

const struct command cmd_status_entry = {
    .name = "status",
    .min_args = 0,
    .max_args = 0,
    .flags = CMD_NEEDS_CONFIG,
    .usage = "status",
    .summary = "units, health, proxy and /version of this node",
    .exec = cmd_status,
};
