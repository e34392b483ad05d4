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
#include "state.h"

static void report_entry(const char *cache_dir, const struct cache_entry *e, const char *status,
                         const char *path, int err)
{
        char size[32];
        human_size((double)e->size, size, sizeof(size));
        if (arg_output == OUTPUT_JSON) {
                struct json_event j;
                json_begin(&j, "cache_entry");
                json_str(&j, "digest_alg", digest_alg_to_string(e->alg));
                json_str(&j, "digest", e->hex);
                json_int(&j, "size", (long long)e->size);
                json_str(&j, "status", status);
                if (path)
                        json_str(&j, "for", path);
                if (err < 0)
                        json_str(&j, "error", strerror(-err));
                json_end(&j);
        } else if (err < 0) { /* the whole path: it is what the operator has to look at */
                _cleanup_free_ char *shown = cache_entry_path(cache_dir, e);
                printf("%s: could not remove: %s\n", shown ? shown : e->hex, strerror(-err));
        } else
                printf("%s:%.16s… %10s  %s%s%s\n", digest_alg_to_string(e->alg), e->hex, size,
                       status, path ? " " : "", path ? path : "");
}

static int cmd_cache(struct cmd_ctx *ctx)
{
        bool prune = ctx->argc > 0;
        if (prune && !streq(ctx->argv[0], "prune")) {
                log_error("cache: unknown action '%s' (the only one is 'prune')", ctx->argv[0]);
                return EXIT_USAGE;
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
        const char *cache_dir = model_get(m, "paths.cache-dir");
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
        uint64_t kept_bytes = 0, unused_bytes = 0, freed = 0;
        size_t kept = 0, unused = 0, removed = 0, failed = 0;
        for (size_t i = 0; i < n; i++) {
                const char *path;
                const char *why = cache_keep_reason(&v[i], st, m->pins, &path);
                if (why) {
                        kept++;
                        kept_bytes += v[i].size;
                        report_entry(cache_dir, &v[i], why, path, 0);
                        continue;
                }
                unused++;
                unused_bytes += v[i].size;
                if (!prune) {
                        report_entry(cache_dir, &v[i], "unused", NULL, 0);
                        continue;
                }
                int q = cache_remove(&t, cache_dir, &v[i]);
                if (q < 0)
                        failed++;
                else {
                        removed++;
                        freed += v[i].size;
                }
                report_entry(cache_dir, &v[i], "removed", NULL, q);
        }
        char a[32], b[32];
        human_size((double)kept_bytes, a, sizeof(a));
        human_size((double)(prune ? freed : unused_bytes), b, sizeof(b));
        if (arg_output == OUTPUT_JSON) {
                struct json_event j;
                json_begin(&j, "summary");
                json_str(&j, "verb", prune ? "cache prune" : "cache");
                json_int(&j, "kept", (long long)kept);
                json_int(&j, "kept_bytes", (long long)kept_bytes);
                json_int(&j, "unused", (long long)(unused - removed));
                json_int(&j, "removed", (long long)removed);
                json_int(&j, "freed_bytes", (long long)freed);
                json_int(&j, "failed", (long long)failed);
                json_end(&j);
        } else if (prune)
                printf("cache prune: removed %zu entries (%s), %zu failed; kept %zu (%s) in %s\n",
                       removed, b, failed, kept, a, cache_dir);
        else
                printf("cache: %zu entries kept (%s), %zu unused (%s, 'kubestrap cache prune' "
                       "removes them) in %s\n",
                       kept, a, unused, b, cache_dir);
        ret = failed ? EXIT_RUN_FAILED : EXIT_OK;
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
    .flags = CMD_NEEDS_CONFIG,
    .usage = "cache [prune]",
    .summary = "list the download cache and why each entry is kept; prune removes unused ones",
    .exec = cmd_cache,
};
