/* kubestrap cache [prune]: what the download cache holds and why each entry is kept; prune
 * removes the entries nothing installed uses and the configuration does not pin. */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "cache.h"
#include "cmd.h"
#include "log.h"
#include "model.h"
#include "pipeline.h"
#include "report.h"
#include "state.h"

static int cmd_cache(struct cmd_ctx *ctx)
{
        bool prune = ctx->argc > 0;
        if (prune && !streq(ctx->argv[0], "prune")) {
                return cmd_usage_error(ctx, "unknown action '%s' (the only one is 'prune')",
                                       ctx->argv[0]);
        }
        struct model *m = NULL;
        int r = cmd_load_model(ctx, &m);
        if (r != EXIT_OK)
                return r;
        struct target t = {.root_fd = -1, .lock_fd = -1};
        struct state *st = NULL;
        struct cache_entry *v = NULL;
        size_t n = 0;
        int ret = EXIT_RUN_FAILED;
        const char *cache_dir = m->cfg.paths.cache_dir;
        r = target_open(ctx->root, &t);
        if (r < 0) {
                log_error_errno(r, "--root %s: %m", ctx->root);
                ret = EXIT_USAGE;
                goto out;
        }
        /* pruning while a run reads the cache would pull entries from under it */
        if (prune && cmd_lock(&t) != EXIT_OK)
                goto out;
        r = cmd_load_state(&t, m, &st);
        if (r < 0)
                goto out;
        if (prune)
                cache_sweep(&t, cache_dir);
        r = cache_list(&t, cache_dir, &v, &n);
        if (r < 0) {
                log_error_errno(r, "%s: %m", cache_dir);
                goto out;
        }
        struct cache_totals c = {.prune = prune};
        for (size_t i = 0; i < n; i++) {
                const char *path;
                const char *why = cache_keep_reason(&v[i], st, m->pins, &path);
                if (why) {
                        c.kept++;
                        c.kept_bytes += v[i].size;
                        report_cache_entry(cache_dir, &v[i], why, path, 0);
                        continue;
                }
                c.unused++;
                c.unused_bytes += v[i].size;
                if (!prune) {
                        report_cache_entry(cache_dir, &v[i], "unused", NULL, 0);
                        continue;
                }
                int q = cache_remove(&t, cache_dir, &v[i]);
                if (q < 0)
                        c.failed++;
                else {
                        c.removed++;
                        c.freed_bytes += v[i].size;
                }
                report_cache_entry(cache_dir, &v[i], "removed", NULL, q);
        }
        report_cache_summary(cache_dir, &c);
        ret = c.failed ? EXIT_RUN_FAILED : EXIT_OK;
out:
        free(v);
        state_free(st);
        target_close(&t);
        model_free(m);
        return ret;
}

const struct command cmd_cache_entry = {
    .name = "cache",
    .min_args = 0,
    .max_args = 1,
    .usage = "cache [prune]",
    .summary = "list the download cache and why each entry is kept; prune removes unused ones",
    .exec = cmd_cache,
};
