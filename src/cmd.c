/* The command table and the steps that several commands share (prepare a plan, report it). */
#include "cmd.h"

#include <errno.h>
#include <stdio.h>
#include <string.h>

#include "log.h"
#include "preflight.h"
#include "status.h"
#include "util.h"

/* clang-format off */
static const struct command *const commands[] = {
        &cmd_plan_entry,
        &cmd_apply_entry,
        &cmd_fetch_entry,
        &cmd_status_entry,
        &cmd_verify_entry,
        &cmd_reset_entry,
        &cmd_preflight_entry,
        &cmd_fanout_entry,
        &cmd_tmux_entry,
        &cmd_cloud_init_entry,
        &cmd_cache_entry,
        &cmd_version_entry,
};
/* clang-format on */

const struct command *cmd_find(const char *name)
{
        for (size_t i = 0; i < ELEMENTSOF(commands); i++)
                if (streq(commands[i]->name, name))
                        return commands[i];
        return NULL;
}

void cmd_print_list(void)
{
        for (size_t i = 0; i < ELEMENTSOF(commands); i++)
                printf("  %-10s %s\n", commands[i]->name, commands[i]->summary);
}

int cmd_load_model(struct cmd_ctx *ctx, struct model **ret)
{
        char **errors = NULL;
        _cleanup_free_ char *err = NULL;
        const char *config = ctx->config_path;
        int r;
        if (ctx->bundle_path && !ctx->bundle) {
                r = bundle_open(ctx->bundle_path, &ctx->bundle, &err);
                if (r < 0) {
                        log_error("%s", err ? err : strerror(-r));
                        return r == -ENOMEM || r == -EIO ? EXIT_RUN_FAILED : EXIT_USAGE;
                }
                render_set_shipped_dir(ctx->bundle->templates_dir);
        }
        /* the bundle's own config unless one was named */
        if (ctx->bundle && !ctx->config_explicit)
                config = ctx->bundle->config_path;
        r = model_load(config, ret, &errors);
        if (r < 0) {
                for (char **e = errors; e && *e; e++)
                        log_error("%s", *e);
                if (!errors)
                        log_error_errno(r, "%s: %m", config);
                strv_free(errors);
                return EXIT_USAGE;
        }
        for (char **w = (*ret)->warnings; w && *w; w++)
                log_warning("%s", *w);
        if (ctx->host) {
                r = model_select_host(*ret, ctx->host, &err);
                if (r < 0) {
                        log_error("%s", err ? err : strerror(-r));
                        *ret = model_free(*ret);
                        return EXIT_USAGE;
                }
        }
        if (ctx->bundle) {
                /* what the bundle carries replaces what the config names on the sender */
                r = model_set(*ret, "pki.source-dir", ctx->bundle->pki_dir);
                if (r >= 0 && ctx->bundle->ca_file)
                        r = model_set(*ret, "download.ca-file", ctx->bundle->ca_file);
                if (r < 0) {
                        *ret = model_free(*ret);
                        return log_error_errno(r, "bundle %s: %m", ctx->bundle_path),
                               EXIT_RUN_FAILED;
                }
        }
        return EXIT_OK;
}

int cmd_load_state(struct target *t, const struct model *m, struct state **ret)
{
        const char *dir = model_get(m, "paths.state-dir");
        int r = state_load(t, dir, ret);
        if (r < 0) {
                _cleanup_free_ char *shown = target_display(t, dir);
                _cleanup_free_ char *file = shown ? path_join(shown, STATE_FILE) : NULL;
                log_error("Failed to read the state %s: %s", file ? file : dir, fileio_strerror(r));
        }
        return r;
}

int cmd_lock(struct target *t)
{
        pid_t holder = 0;
        int r = target_lock(t, &holder);
        if (r == -EBUSY && holder > 0)
                log_error(
                    "another kubestrap run (pid %d) is working on %s; try again when it is done",
                    (int)holder, t->root);
        else if (r == -EBUSY)
                log_error("another kubestrap run is working on %s; try again when it is done",
                          t->root);
        else if (r < 0)
                log_error_errno(r, "Failed to lock %s: %m", t->root);
        return r < 0 ? EXIT_RUN_FAILED : EXIT_OK;
}

int job_prepare(struct cmd_ctx *ctx, struct job *job, bool want_diff)
{
        _cleanup_free_ char *err = NULL;

        *job = (struct job){0};
        int r = cmd_load_model(ctx, &job->model);
        if (r != EXIT_OK)
                return r;
        job->bundle = ctx->bundle;
        r = target_open(ctx->root, &job->target);
        if (r < 0) {
                log_error_errno(r, "--root %s: %m", ctx->root);
                return EXIT_USAGE;
        }
        job->target_open = true;
        /* Before anything is read: what this run compares must not move under it. */
        if (ctx->flags & CMD_LOCKS) {
                r = cmd_lock(&job->target);
                if (r != EXIT_OK)
                        return r;
        }
        r = render_all(job->model, &job->target, &job->rendered, &err);
        if (r < 0) {
                if (err)
                        log_error("%s", err);
                else
                        log_error_errno(r, "Failed to render templates: %m");
                return EXIT_USAGE;
        }
        r = cmd_load_state(&job->target, job->model, &job->state);
        if (r < 0)
                return EXIT_RUN_FAILED;
        struct plan_options po = {.bundle = job->bundle, .link_units = ctx->root != NULL};
        r = plan_build(job->model, job->rendered, job->state, &po, &job->plan, &err);
        if (r < 0) {
                if (err)
                        log_error("%s", err);
                else
                        log_error_errno(r, "Failed to build the plan: %m");
                /* a bundle that does not fit the configuration is the operator's to fix */
                return r == -EINVAL ? EXIT_USAGE : EXIT_RUN_FAILED;
        }
        r = plan_compare(job->plan, &job->target, job->state, ctx->verify, want_diff, &err);
        if (r < 0) {
                log_error("%s", err ? err : strerror(-r));
                return EXIT_RUN_FAILED;
        }
        return EXIT_OK;
}

void job_done(struct job *job)
{
        plan_free(job->plan);
        state_free(job->state);
        render_result_free(job->rendered);
        model_free(job->model);
        if (job->target_open)
                target_close(&job->target);

        *job = (struct job){0};
}

static const char *item_detail(const struct item *it, char *buf, size_t size)
{
        switch (it->kind) {
        case ITEM_DOWNLOAD:
                if (it->verify_after) {
                        snprintf(buf, size, "%s, %s of the release tarball, digest known once read",
                                 it->what, it->member);
                        break;
                }

                snprintf(buf, size, "%s, %s:%.12s… from %s", it->what,
                         digest_alg_to_string(it->alg), it->hex, it->url);
                break;
        case ITEM_SYMLINK:
                snprintf(buf, size, "%s, -> %s", it->what, it->link_target);
                break;
        case ITEM_DIR:
                snprintf(buf, size, "%s", it->what);
                break;
        default:
                snprintf(buf, size, "%s, %04o%s", it->what, (unsigned)it->mode,
                         it->secret ? ", secret: content not shown" : "");
        }
        return buf;
}

void report_item(const struct target *t, const struct item *it, const char *event, bool show_diff)
{
        char detail[1024];
        if (arg_output == OUTPUT_JSON) {
                struct json_event e;
                char mode[8];
                snprintf(mode, sizeof(mode), "%04o", (unsigned)it->mode);
                json_begin(&e, event);
                json_str(&e, "action", item_action_to_string(it->action));
                json_str(&e, "kind", it->what);
                json_str(&e, "path", it->path);
                if (it->kind != ITEM_SYMLINK)
                        json_str(&e, "mode", mode);
                if (it->kind == ITEM_DOWNLOAD) {
                        json_str(&e, "url", it->url);
                        json_str(&e, "digest_alg", digest_alg_to_string(it->alg));
                        json_str(&e, "digest", it->hex);
                        json_str(&e, "digest_from", it->digest_from);
                }
                if (it->kind == ITEM_SYMLINK)
                        json_str(&e, "target", it->link_target);
                if (show_diff && it->diff)
                        json_str(&e, "diff", it->diff);
                json_end(&e);
                return;
        }
        static const char sym[] = {[ACTION_NONE] = '=',
                                   [ACTION_CREATE] = '+',
                                   [ACTION_UPDATE] = '~',
                                   [ACTION_CHMOD] = '~'};
        _cleanup_free_ char *shown = target_display(t, it->path);
        if (streq(event, "plan"))
                printf("%c %-9s %s (%s)\n", sym[it->action], item_action_to_string(it->action),
                       shown ? shown : it->path, item_detail(it, detail, sizeof(detail)));
        else
                printf("%s %s\n",
                       it->action == ACTION_CREATE   ? "created"
                       : it->action == ACTION_UPDATE ? "updated"
                                                     : "fixed mode of",
                       shown ? shown : it->path);
        if (show_diff && it->diff) {
                /* indent the diff under its item */
                for (const char *p = it->diff; *p;) {
                        const char *nl = strchr(p, '\n');
                        size_t len = nl ? (size_t)(nl - p) : strlen(p);
                        printf("    %.*s\n", (int)len, p);
                        p += len + (nl ? 1 : 0);
                }
        }
        fflush(stdout);
}

void report_warnings(const struct plan *p)
{
        for (char **w = p ? p->warnings : NULL; w && *w; w++) {
                if (arg_output == OUTPUT_JSON) {
                        struct json_event e;
                        json_begin(&e, "warning");
                        json_str(&e, "message", *w);
                        json_end(&e);
                } else
                        log_warning("%s", *w);
        }
}

void report_summary(const char *verb, const struct plan *p, size_t changed, size_t failed,
                    const struct run_times *t)
{
        long long started_usec = t->start_usec;
        report_warnings(p);
        size_t unchanged = p ? plan_count(p, ACTION_NONE) : 0;
        long long ms = (now_usec() - started_usec) / 1000;
        if (arg_output == OUTPUT_JSON) {
                struct json_event e;
                json_begin(&e, "summary");
                json_str(&e, "verb", verb);
                json_int(&e, "changed", (long long)changed);
                json_int(&e, "unchanged", (long long)unchanged);
                json_int(&e, "failed", (long long)failed);
                json_int(&e, "duration_ms", ms);
                if (p) {
                        json_int(&e, "downloaded_bytes", (long long)p->bytes_downloaded);
                        json_int(&e, "hashed_bytes", (long long)p->bytes_hashed);
                        json_int(&e, "sidecars_fetched", (long long)p->sidecars_fetched);
                        json_int(&e, "from_cache", (long long)p->from_cache);
                }
                if (t->plan_usec)
                        json_int(&e, "plan_ms", t->plan_usec / 1000);
                if (t->install_usec)
                        json_int(&e, "install_ms", t->install_usec / 1000);
                if (t->start_usec_phase)
                        json_int(&e, "start_ms", t->start_usec_phase / 1000);
                if (t->healthy_usec)
                        json_int(&e, "healthy_ms", t->healthy_usec / 1000);
                json_end(&e);
                return;
        }
        printf("%s: %zu %s, %zu unchanged, %zu failed (%lld ms)\n", verb, changed,
               streq(verb, "plan") ? "to change" : "changed", unchanged, failed, ms);
        fflush(stdout);
}

/* status and verify: the same checks; verify fails the run when one fails. */
int status_command(struct cmd_ctx *ctx, const char *verb, bool strict)
{
        struct model *m = NULL;
        int r = cmd_load_model(ctx, &m);
        if (r != EXIT_OK)
                return r;
        struct status s;
        r = status_collect(m, ctx->root, &s);
        if (r < 0) {
                status_done(&s);
                model_free(m);
                return log_error_errno(r, "Failed to collect the status: %m"), EXIT_RUN_FAILED;
        }
        status_print(&s);
        bool ok = s.all_ok;
        if (arg_output == OUTPUT_JSON) {
                struct json_event e;
                json_begin(&e, "summary");
                json_str(&e, "verb", verb);
                json_bool(&e, "ok", ok);
                json_int(&e, "failed", ok ? 0 : 1);
                json_end(&e);
        } else
                printf("%s: %s\n", verb, ok ? "all checks pass" : "some checks FAIL");
        status_done(&s);
        model_free(m);
        return strict && !ok ? EXIT_RUN_FAILED : EXIT_OK;
}

static void report_check(const struct check_result *c)
{
        if (arg_output == OUTPUT_JSON) {
                struct json_event e;
                json_begin(&e, "check");
                json_str(&e, "name", c->name);
                json_str(&e, "status", check_status_to_string(c->status));
                json_bool(&e, "ignored", c->ignored);
                json_str(&e, "message", c->message);
                if (c->hint && c->status != CHECK_PASS)
                        json_str(&e, "hint", c->hint);
                json_end(&e);
                return;
        }
        FILE *f = c->status == CHECK_PASS ? stdout : stderr;
        fprintf(f, "preflight %-11s %-4s %s%s%s%s\n", c->name, check_status_to_string(c->status),
                c->message ? c->message : "", c->ignored ? " (ignored)" : "",
                c->hint && c->status != CHECK_PASS ? "; fix: " : "",
                c->hint && c->status != CHECK_PASS ? c->hint : "");
}

int preflight_check(struct cmd_ctx *ctx, const struct model *m, bool verbose)
{
        struct preflight p;
        int r = preflight_run(m, ctx->root == NULL, ctx->ignore, &p);
        if (r < 0) {
                preflight_done(&p);
                return log_error_errno(r, "preflight: %m"), EXIT_RUN_FAILED;
        }
        for (size_t i = 0; i < p.n; i++)
                if (verbose || p.results[i].status != CHECK_PASS)
                        report_check(&p.results[i]);
        size_t failed = p.failed;
        preflight_done(&p);
        if (failed) {
                log_error("preflight: %zu check(s) failed; nothing was changed (--ignore NAME to "
                          "go ahead anyway)",
                          failed);
                return EXIT_RUN_FAILED;
        }
        return EXIT_OK;
}

int preflight_command(struct cmd_ctx *ctx, bool verbose)
{
        struct model *m = NULL;
        int r = cmd_load_model(ctx, &m);
        if (r != EXIT_OK)
                return r;
        r = preflight_check(ctx, m, verbose);
        model_free(m);
        if (arg_output == OUTPUT_JSON) {
                struct json_event e;
                json_begin(&e, "summary");
                json_str(&e, "verb", "preflight");
                json_int(&e, "failed", r == EXIT_OK ? 0 : 1);
                json_end(&e);
        } else if (r == EXIT_OK)
                printf("preflight: all checks pass\n");
        return r;
}
