/* kubestrap preflight: is this machine fit to be a controller, and is the PKI right? (apply
 * runs the same checks first; --ignore NAME turns one failure into a warning). */
#include "cmd.h"

static int cmd_preflight(struct cmd_ctx *ctx)
{
        return preflight_command(ctx, true);
}

const struct command cmd_preflight_entry = {
    .name = "preflight",
    .min_args = 0,
    .max_args = 0,
    .flags = CMD_NEEDS_CONFIG,
    .usage = "preflight",
    .summary = "check the machine and the PKI before changing anything",
    .exec = cmd_preflight,
};
