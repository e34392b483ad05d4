/* The steps that several verbs share: load the configuration, lock, render, read the state,
 * build and compare the plan; and the preflight gate before apply. */
#include "pipeline.h"

#include <errno.h>
#include <stdio.h>
#include <string.h>

#include "bundle.h"
#include "etcd.h"
#include "log.h"
#include "marker.h"
#include "preflight.h"
#include "report.h"
#include "rollback.h"
#include "service.h"
#include "skew.h"
#include "util.h"
#include "versions.h"

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

static int cmd_select_hosts(const struct cmd_ctx *ctx, const struct model *m, char *const *names,
                            const struct host ***ret, size_t *ret_n)
{
        const char *verb = ctx->cmd ? ctx->cmd->name : "kubestrap";
        size_t want = names ? strv_length(names) : m->n_hosts;
        _cleanup_free_ const struct host **hosts = calloc(want ? want : 1, sizeof(*hosts));
        if (!hosts)
                return log_error_errno(-ENOMEM, "%s: %m", verb), EXIT_RUN_FAILED;
        size_t n = 0;
        for (size_t h = 0; !names && h < m->n_hosts; h++)
                hosts[n++] = &m->hosts[h];
        for (char *const *nm = names; nm && *nm; nm++) {
                hosts[n] = model_host(m, *nm);
                if (!hosts[n]) {
                        log_error("%s: no [host %s] in %s", verb, *nm, ctx->config_path);
                        return EXIT_USAGE;
                }
                n++;
        }
        if (n == 0) {
                log_error("%s: %s has no [host NAME] sections", verb, ctx->config_path);
                return EXIT_USAGE;
        }
        *ret = TAKE_PTR(hosts);
        *ret_n = n;
        return EXIT_OK;
}

int cmd_load_hosts(struct cmd_ctx *ctx, char *const *names, struct model **ret_model,
                   const struct host ***ret_hosts, size_t *ret_n)
{
        struct model *m = NULL;
        int r = cmd_load_model(ctx, &m);
        if (r != EXIT_OK)
                return r;
        r = cmd_select_hosts(ctx, m, names, ret_hosts, ret_n);
        if (r != EXIT_OK) {
                model_free(m);
                return r;
        }
        *ret_model = m;
        return EXIT_OK;
}

int cmd_load_state(struct target *t, const struct model *m, struct state **ret)
{
        const char *dir = m->cfg.paths.state_dir;
        int r = state_load(t, dir, ret);
        if (r < 0) {
                _cleanup_free_ char *shown = target_display(t, dir);
                _cleanup_free_ char *file = shown ? path_join(shown, STATE_FILE) : NULL;
                log_error("Failed to read the state %s: %s", file ? file : dir, fileio_strerror(r));
        }
        return r;
}

int cmd_installed_version(struct cmd_ctx *ctx, struct model *m)
{
        struct target t = {.root_fd = -1, .lock_fd = -1};
        struct state *st = NULL;
        if (!marker_is(m->cfg.cluster.version))
                return EXIT_OK;
        int r = target_open(ctx->root, &t);
        if (r < 0)
                return log_error_errno(r, "--root %s: %m", ctx->root), EXIT_USAGE;
        r = cmd_load_state(&t, m, &st);
        const char *v = r >= 0 ? state_release(st) : NULL;
        if (v)
                r = model_set(m, "cluster.version", v);
        if (r < 0 && st)
                log_error_errno(r, "%m");
        state_free(st);
        target_close(&t);
        return r < 0 ? EXIT_RUN_FAILED : EXIT_OK;
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

/* A marker ([cluster] version = stable-1.NN) becomes the release it names, once per run and
 * before anything renders or plans: everything after sees one version. From a bundle it is
 * the release the bundle recorded, so the node never reads a marker. */
static int resolve_version(struct cmd_ctx *ctx, struct job *job)
{
        const char *marker = job->model->cfg.cluster.version;
        _cleanup_free_ char *version = NULL, *err = NULL;
        int r;
        if (!marker_is(marker))
                return EXIT_OK;
        job->marker = strdup(marker);
        if (!job->marker)
                return log_error_errno(-ENOMEM, "%m"), EXIT_RUN_FAILED;
        if (job->bundle) {
                if (!marker_matches(marker, job->bundle->version)) {
                        log_error("the bundle %s holds %s, which version = %s in %s does not name",
                                  ctx->bundle_path, job->bundle->version, marker,
                                  job->model->config_path);
                        return EXIT_USAGE;
                }
                version = strdup(job->bundle->version);
                r = asprintf_safe(&job->version_from, "bundle %s", ctx->bundle_path);
                if (!version || r < 0)
                        return log_error_errno(-ENOMEM, "%m"), EXIT_RUN_FAILED;
        } else {
                r = marker_resolve(job->model, &version, &job->version_from, &err);
                if (r < 0) {
                        log_error("%s", err ? err : strerror(-r));
                        return EXIT_RUN_FAILED;
                }
        }
        /* "stable" may name a release newer than this kubestrap knows how to render */
        unsigned minor = 0;
        if (version_minor(version, &minor) < 0 || !version_supported(minor)) {
                log_error("version = %s in %s is %s (from %s), but kubestrap supports Kubernetes "
                          "%s",
                          marker, job->model->config_path, version,
                          job->version_from ? job->version_from : "?", VERSION_RANGE_TEXT);
                return EXIT_USAGE;
        }
        r = model_set(job->model, "cluster.version", version);
        if (r < 0)
                return log_error_errno(r, "%m"), EXIT_RUN_FAILED;
        return EXIT_OK;
}

/* The skew policy against what the state says is installed: refused before any request for
 * the wanted release's files. */
static int check_skew(struct cmd_ctx *ctx, struct job *job)
{
        const char *wanted = job->model->cfg.cluster.version;
        enum skew_verdict v;
        job->installed = state_release(job->state);
        if (!job->installed || skew_decide(job->installed, wanted, &v) < 0)
                return EXIT_OK;
        if (!(ctx->flags & CMD_SKEW) || !skew_refused(v))
                return EXIT_OK;
        _cleanup_free_ char *msg = skew_refusal(component_api()->name, job->installed, wanted, v);
        log_error("%s", msg ? msg : "version skew refused");
        return EXIT_USAGE;
}

int job_prepare(struct cmd_ctx *ctx, struct job *job, bool want_diff)
{
        _cleanup_free_ char *err = NULL;

        *job = (struct job){0};
        int r = cmd_load_model(ctx, &job->model);
        if (r != EXIT_OK)
                return r;
        if (ctx->etcd_bootstrap && !job->model->etcd) {
                log_error("--etcd-bootstrap: %s has no [etcd] section", job->model->config_path);
                return EXIT_USAGE;
        }
        job->model->only_etcd = ctx->etcd_bootstrap;
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
        r = resolve_version(ctx, job);
        if (r != EXIT_OK)
                return r;
        r = etcd_prepare(job->model, &job->target, &err);
        if (r >= 0)
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
        r = check_skew(ctx, job);
        if (r != EXIT_OK)
                return r;
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
        free(job->marker);
        free(job->version_from);
        if (job->target_open)
                target_close(&job->target);

        *job = (struct job){0};
}

int preflight_check(struct cmd_ctx *ctx, const struct model *m, bool verbose)
{
        struct preflight p;
        int r = preflight_run(m, ctx->root, ctx->root == NULL, ctx->ignore, &p);
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

int job_rollback(struct cmd_ctx *ctx, struct job *job, char **ret_release, char **ret_error)
{
        const char *state_dir = job->model->cfg.paths.state_dir;
        _cleanup_free_ char *release = NULL;
        const char *kept = rollback_release(job->state);
        if (!kept)
                return -ENOENT;
        release = strdup(kept);
        if (!release)
                return -ENOMEM;
        int r = rollback_restore(job->plan, &job->target, state_dir, job->state, ret_error);
        if (r >= 0) {
                r = state_save(&job->target, state_dir, job->state);
                if (r < 0)
                        asprintf_safe(ret_error,
                                      "the files are back, but recording it in %s "
                                      "failed: %s",
                                      state_dir, strerror(-r));
        }
        if (r < 0 || ctx->root) {
                if (r >= 0)
                        *ret_release = TAKE_PTR(release);
                return r;
        }
        /* The health probes follow the release that runs now, not the configured one. */
        const char *configured = job->model->cfg.cluster.version;
        job->model->cfg.cluster.version = release;
        struct service_options so = {
            .health_timeout_usec = job->model->cfg.health.timeout * 1000000ULL,
        };
        struct service_report rep;
        r = service_converge(job->model, job->plan, &so, &rep, ret_error);
        job->model->cfg.cluster.version = configured;
        report_units(&rep);
        service_report_done(&rep);
        if (r >= 0)
                *ret_release = TAKE_PTR(release);
        return r;
}
