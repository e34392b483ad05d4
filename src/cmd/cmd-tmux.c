/* kubestrap tmux: one tmux window with a pane per controller (ssh), input synchronized, the
 * way the seed works by hand; optionally with a command typed into every pane. */
#include <errno.h>
#include <stdio.h>
#include <string.h>
#include <unistd.h>

#include "cmd.h"
#include "fanout.h"
#include "log.h"
#include "pipeline.h"
#include "proc.h"

/* Runs "tmux [-L socket] ARGS... [COMMAND...]"; the socket (KUBESTRAP_TMUX_SOCKET) keeps tests
 * apart from the operator's own tmux server. */
static int tmux(const char *socket, const char *const *args, char *const *command)
{
        _cleanup_strv_free_ char **argv = NULL;
        _cleanup_free_ char *out = NULL;
        int r = strv_extend(&argv, "tmux");
        if (r >= 0 && socket) {
                r = strv_extend(&argv, "-L");
                if (r >= 0)
                        r = strv_extend(&argv, socket);
        }
        for (const char *const *x = args; r >= 0 && *x; x++)
                r = strv_extend(&argv, *x);
        for (char *const *x = command; r >= 0 && x && *x; x++)
                r = strv_extend(&argv, *x);
        if (r < 0)
                return r;
        r = proc_run(argv, &out);
        if (r == -ENOENT)
                return log_error_errno(r, "tmux is not installed (apt-get install tmux)");
        if (r != 0) {
                log_error("tmux %s failed: %s", args[0], out && *out ? out : "(no message)");
                return -EIO;
        }
        return 0;
}

static int cmd_tmux(struct cmd_ctx *ctx)
{
        const char *session = cmd_opt(ctx, "session"), *type = cmd_opt(ctx, "type");
        const char *socket = getenv("KUBESTRAP_TMUX_SOCKET");
        char **names = ctx->argc > 0 ? ctx->argv : NULL;
        if (!session)
                session = "kubestrap";
        struct model *m = NULL;
        _cleanup_free_ const struct host **hosts = NULL;
        size_t n = 0;
        int r = cmd_load_hosts(ctx, names, &m, &hosts, &n);
        if (r != EXIT_OK)
                return r;
        /* ssh as fanout runs it, interactive: the operator types into the panes. The command is
         * handed to tmux as separate words, which it executes directly: no shell ever parses
         * anything that came from the configuration. */
        _cleanup_free_ char *win = strjoin3(session, ":", "controllers");
        r = win ? 0 : -ENOMEM;
        for (size_t i = 0; i < n && r >= 0; i++) {
                _cleanup_strv_free_ char **cmd = NULL;
                r = fanout_ssh_argv(m, NULL, hosts[i]->address, &cmd);
                const char *first[] = {"new-session", "-d",          "-s", session,
                                       "-n",          "controllers", NULL};
                const char *more[] = {"split-window", "-t", win, NULL};
                /* tiled after each pane, so the next split has room */
                const char *tile[] = {"select-layout", "-t", win, "tiled", NULL};
                if (r >= 0)
                        r = tmux(socket, i == 0 ? first : more, cmd);
                if (r >= 0)
                        r = tmux(socket, tile, NULL);
        }
        const char *sync[] = {"set-window-option", "-t", win, "synchronize-panes", "on", NULL};
        if (r >= 0)
                r = tmux(socket, sync, NULL);
        /* synchronized: typing into one pane types into all of them */
        const char *keys[] = {"send-keys", "-t", win, type ? type : "", "Enter", NULL};
        if (r >= 0 && type)
                r = tmux(socket, keys, NULL);
        if (r >= 0)
                printf("tmux session '%s' has %zu panes, input synchronized; attach with: tmux "
                       "%s%s attach -t %s\n",
                       session, n, socket ? "-L " : "", socket ? socket : "", session);
        model_free(m);
        return r < 0 ? EXIT_RUN_FAILED : EXIT_OK;
}

static const struct cmd_option tmux_options[] = {
    {"session", 0, "NAME", "the tmux session's name (default kubestrap)"},
    {"type", 0, "COMMAND", "type COMMAND into every pane (with Enter)"},
    {0},
};

const struct command cmd_tmux_entry = {
    .name = "tmux",
    .min_args = 0,
    .max_args = -1,
    .usage = "tmux [--session NAME] [--type COMMAND] [HOST...]",
    .options = tmux_options,
    .summary = "a tmux window with one synchronized ssh pane per host",
    .exec = cmd_tmux,
};
