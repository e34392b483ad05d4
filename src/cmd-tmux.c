/* kubestrap tmux: one tmux window with a pane per controller (ssh), input synchronized, the
 * way the seed works by hand; optionally with a command typed into every pane. */
#include <errno.h>
#include <stdio.h>
#include <string.h>
#include <unistd.h>

#include "cmd.h"
#include "log.h"
#include "proc.h"

/* Runs "tmux [-L socket] ARGS..."; the socket (KUBESTRAP_TMUX_SOCKET) keeps tests apart from
 * the operator's own tmux server. */
static int tmux(const char *socket, const char *const *args)
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
        const char *session = "kubestrap", *type = NULL, *socket = getenv("KUBESTRAP_TMUX_SOCKET");
        _cleanup_strv_free_ char **names = NULL;
        for (int i = 0; i < ctx->argc; i++) {
                const char *a = ctx->argv[i];
                if (streq(a, "--session") && i + 1 < ctx->argc)
                        session = ctx->argv[++i];
                else if (streq(a, "--type") && i + 1 < ctx->argc)
                        type = ctx->argv[++i];
                else if (a[0] == '-') {
                        log_error(
                            "usage: kubestrap tmux [--session NAME] [--type COMMAND] [HOST...]");
                        return EXIT_USAGE;
                } else if (strv_extend(&names, a) < 0)
                        return EXIT_RUN_FAILED;
        }
        struct model *m = NULL;
        int r = cmd_load_model(ctx, &m);
        if (r != EXIT_OK)
                return r;
        const struct host *hosts[16];
        size_t n = 0;
        for (size_t h = 0; !names && h < m->n_hosts && n < ELEMENTSOF(hosts); h++)
                hosts[n++] = &m->hosts[h];
        for (char **nm = names; nm && *nm && n < ELEMENTSOF(hosts); nm++) {
                hosts[n] = model_host(m, *nm);
                if (!hosts[n]) {
                        log_error("tmux: no [host %s] in %s", *nm, ctx->config_path);
                        model_free(m);
                        return EXIT_USAGE;
                }
                n++;
        }
        if (n == 0) {
                log_error("tmux: %s has no [host NAME] sections", ctx->config_path);
                model_free(m);
                return EXIT_USAGE;
        }
        /* ssh as fanout runs it, interactive: the operator types into the panes */
        const char *opts = model_get(m, "fanout.ssh-options");
        char win[128];
        snprintf(win, sizeof(win), "%s:controllers", session);
        r = 0;
        for (size_t i = 0; i < n && r >= 0; i++) {
                _cleanup_free_ char *cmd = NULL;
                r = asprintf_safe(&cmd, "ssh %s %s", opts ? opts : "", hosts[i]->address);
                const char *first[] = {"new-session", "-d",          "-s", session,
                                       "-n",          "controllers", cmd,  NULL};
                const char *more[] = {"split-window", "-t", win, cmd, NULL};
                /* tiled after each pane, so the next split has room */
                const char *tile[] = {"select-layout", "-t", win, "tiled", NULL};
                if (r >= 0)
                        r = tmux(socket, i == 0 ? first : more);
                if (r >= 0)
                        r = tmux(socket, tile);
        }
        const char *sync[] = {"set-window-option", "-t", win, "synchronize-panes", "on", NULL};
        if (r >= 0)
                r = tmux(socket, sync);
        /* synchronized: typing into one pane types into all of them */
        const char *keys[] = {"send-keys", "-t", win, type ? type : "", "Enter", NULL};
        if (r >= 0 && type)
                r = tmux(socket, keys);
        if (r >= 0)
                printf("tmux session '%s' has %zu panes, input synchronized; attach with: tmux "
                       "%s%s attach -t %s\n",
                       session, n, socket ? "-L " : "", socket ? socket : "", session);
        model_free(m);
        return r < 0 ? EXIT_RUN_FAILED : EXIT_OK;
}

const struct command cmd_tmux_entry = {
    .name = "tmux",
    .min_args = 0,
    .max_args = -1,
    .flags = CMD_NEEDS_CONFIG,
    .usage = "tmux [--session NAME] [--type COMMAND] [HOST...]",
    .summary = "a tmux window with one synchronized ssh pane per host",
    .exec = cmd_tmux,
};
