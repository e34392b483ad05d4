/* kubestrap: parse the command line and hand over to the verb's command. */
#include <signal.h>

#include "cmd.h"

int main(int argc, char *argv[])
{
        struct cmd_ctx ctx;
        const struct command *cmd;

        /* Writes into a pipe whose reader has gone are errors to handle, not a reason to die. */
        signal(SIGPIPE, SIG_IGN);

        int r = cmd_parse(argc, argv, &ctx, &cmd);
        if (cmd)
                r = cmd->exec(&ctx);
        cmd_ctx_done(&ctx);
        return r;
}
