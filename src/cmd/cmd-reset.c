/* kubestrap reset: the verb around reset.c, which does the work; here are the lock, the state
 * and the report of each path. */
#include <errno.h>
#include <sys/stat.h>
#include <stdlib.h>
#include <stdio.h>
#include <unistd.h>

#include "cmd.h"
#include "log.h"
#include "pipeline.h"
#include "report.h"
#include "reset.h"
#include "state.h"

/* A reset typed at a terminal asks first, as kubeadm reset does; without one (cloud-init,
 * fanout, a script) it goes ahead, as it always has. */
static bool confirmed(const char *root)
{
        if (!isatty(STDIN_FILENO) || !isatty(STDERR_FILENO))
                return true;
        fprintf(stderr,
                "kubestrap reset: stop kubestrap's units and remove what it installed on %s? "
                "[y/N] ",
                root);
        _cleanup_free_ char *line = NULL;
        size_t n = 0;
        if (getline(&line, &n, stdin) < 0)
                return false;
        return line[0] == 'y' || line[0] == 'Y';
}

static int cmd_reset(struct cmd_ctx *ctx)
{
        bool dry_run = cmd_opt(ctx, "dry-run") != NULL, yes = cmd_opt(ctx, "yes") != NULL;
        bool purge = cmd_opt(ctx, "purge-etcd-data") != NULL;
        struct run_times times = {.start_usec = now_usec()};
        struct model *m = NULL;
        struct state *st = NULL;
        struct target t = {.root_fd = -1, .lock_fd = -1};
        size_t removed = 0, kept = 0, failed = 0;
        /* before the first "goto": their cleanup runs at the labels */
        _cleanup_free_ char *err = NULL;
        _cleanup_close_ int data_fd = -1;
        int r = cmd_load_model(ctx, &m);
        if (r != EXIT_OK)
                return r;
        r = target_open(ctx->root, &t);
        if (r < 0) {
                log_error_errno(r, "--root %s: %m", ctx->root);
                model_free(m);
                return EXIT_USAGE;
        }
        if (cmd_lock(&t) != EXIT_OK) {
                r = -EBUSY;
                goto out;
        }
        const char *state_dir = m->cfg.paths.state_dir;
        r = cmd_load_state(&t, m, &st);
        if (r < 0)
                goto out;
        /* nothing installed, but etcd's data may still be there (kept by an earlier reset) */
        bool etcd_data =
            model_runs_etcd(m) && target_open_dir(&t, m->cfg.etcd.data_dir, false, &data_fd) >= 0;
        if (st->n == 0 && !etcd_data) {
                report_reset_nothing(t.root);
                r = 0;
                goto summary;
        }

        struct reset_result res;
        if (dry_run) {
                r = reset_preview(m, &t, st, &res);
                if (r >= 0)
                        r = reset_etcd_data(m, &t, purge, &res);
                if (r < 0)
                        log_error_errno(r, "reset --dry-run: %m");
                else
                        report_reset_preview(&res, !ctx->root);
                reset_result_done(&res);
                goto out;
        }
        if (!yes && !confirmed(t.root)) {
                log_error("reset: not confirmed; nothing was changed (--yes skips the question)");
                r = -ECANCELED;
                goto out;
        }
        r = reset_run(m, &t, st, !ctx->root, &res, &err);
        /* after the units stopped: etcd's data, kept unless asked */
        if (r >= 0 || r == -EIO) {
                int q = reset_etcd_data(m, &t, purge, &res);
                r = q < 0 && q != -EIO ? q : r;
        }
        if (r < 0 && (err || r != -EIO)) {
                if (err)
                        log_error("%s", err);
                else
                        log_error_errno(r, "reset: %m");
                reset_result_done(&res);
                goto out;
        }
        for (size_t i = 0; i < res.n_events; i++) {
                const struct reset_event *e = &res.events[i];
                if (e->outcome == RESET_FAILED)
                        log_error_errno(e->error, "%s: %m", e->path);
                else
                        report_reset_path(e->outcome == RESET_REMOVED ? "removed" : "kept", e->path,
                                          e->reason);
        }
        if (res.save_error)
                log_error_errno(res.save_error, "Failed to update the state in %s: %m", state_dir);
        removed = res.removed;
        kept = res.kept;
        failed = res.failed + (res.save_error != 0);
        reset_result_done(&res);

        r = failed ? -EIO : 0;
summary:
        report_reset_summary(removed, kept, failed, (now_usec() - times.start_usec) / 1000);
out:
        state_free(st);
        target_close(&t);
        model_free(m);
        return r < 0 ? EXIT_RUN_FAILED : EXIT_OK;
}

static const struct cmd_option reset_options[] = {
    {"dry-run", 0, NULL, "say what would be stopped, removed and kept; change nothing"},
    {"yes", 'y', NULL, "do not ask first (reset asks only on a terminal)"},
    {"purge-etcd-data", 0, NULL, "also remove etcd's data directory (kept otherwise)"},
    {0},
};

const struct command cmd_reset_entry = {
    .name = "reset",
    .min_args = 0,
    .max_args = 0,
    .flags = CMD_LOCKS,
    .usage = "reset [--dry-run] [--yes] [--purge-etcd-data]",
    .options = reset_options,
    .summary = "stop our units and remove exactly what kubestrap installed",
    .exec = cmd_reset,
};
