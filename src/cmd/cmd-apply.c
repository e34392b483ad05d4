/* kubestrap apply: make the node match the plan, verified and atomically, file by file. */
#include <inttypes.h>

#include "cmd.h"
#include "etcd.h"
#include "install.h"
#include "log.h"
#include "pipeline.h"
#include "progress.h"
#include "report.h"
#include "rollback.h"
#include "service.h"

/* Passed to both hooks: progress_update() sees the struct progress at its start. */
struct apply_progress {
        struct progress bar;
        struct job *job;
        const struct target *t;
        size_t changed;
        bool kept; /* this run kept the files it replaced: a failed gate rolls back */
};

/* Before publishing an upgrade: keep what it replaces (rollback.h). */
static int keep_previous(void *userdata)
{
        struct apply_progress *p = userdata;
        struct job *job = p->job;
        int r = rollback_keep(job->plan, &job->target, job->model->cfg.paths.state_dir, job->state);
        if (r > 0)
                p->kept = true;
        return r < 0 ? r : 0;
}

static void on_done(const struct item *it, void *userdata)
{
        struct apply_progress *p = userdata;
        progress_finish(&p->bar);
        p->changed++;
        report_item(p->t, it, "change", false);
}

/* The gate failed after an upgrade: the kept files go back. Returns an exit code; the
 * release rolled back to in *ret_release. */
static int roll_back(struct cmd_ctx *ctx, struct job *job, const char *failure, long long *ret_usec,
                     char **ret_release)
{
        _cleanup_free_ char *err = NULL;
        log_error("apply: the control plane is not healthy after the upgrade to %s, rolling back "
                  "to %s: %s",
                  job->plan->version, rollback_release(job->state), failure);
        long long t0 = now_usec();
        int r = job_rollback(ctx, job, ret_release, &err);
        *ret_usec = now_usec() - t0;
        if (r < 0)
                log_error("rollback failed too: %s; the upgrade failed with: %s",
                          err ? err : strerror(-r), failure);
        return EXIT_RUN_FAILED;
}

/* With --root there is no systemd to talk to: files only. Returns an exit code. */
static int converge(struct cmd_ctx *ctx, struct job *job, bool kept, struct run_times *times,
                    long long *ret_rollback_usec, char **ret_release)
{
        _cleanup_free_ char *err = NULL;
        struct service_options so = {
            .health_timeout_usec = job->model->cfg.health.timeout * 1000000ULL,
        };
        struct service_report rep;
        int r = service_converge(job->model, job->plan, &so, &rep, &err);
        times->start_usec_phase = rep.jobs_usec;
        times->healthy_usec = rep.healthy_usec;
        report_units(&rep);
        service_report_done(&rep);
        if (r < 0 && interrupted_by) {
                log_error("apply interrupted by %s: the files are in place, the units "
                          "may still be starting; run apply again",
                          signal_name(interrupted_by));
                return 128 + interrupted_by;
        }
        if (r < 0 && kept)
                return roll_back(ctx, job, err ? err : strerror(-r), ret_rollback_usec,
                                 ret_release);
        if (r < 0) {
                log_error("apply: files are in place, but the control plane is not healthy: %s",
                          err ? err : strerror(-r));
                return EXIT_RUN_FAILED;
        }
        return EXIT_OK;
}

/* Installs what the plan lists and records it; returns an exit code. */
static int install(struct job *job, struct apply_progress *progress)
{
        _cleanup_free_ char *err = NULL;
        struct install_hooks hooks = {.done = on_done,
                                      .progress = progress_update,
                                      .before_publish = keep_previous,
                                      .userdata = progress};
        install_sweep_staging(job->plan, &job->target);
        target_sweep_staging(&job->target, job->model->cfg.paths.state_dir, "installed");
        int r = install_apply(job->plan, &job->target, job->state, &hooks, &err);
        progress_finish(&progress->bar);
        if (r >= 0) {
                r = state_save(&job->target, job->model->cfg.paths.state_dir, job->state);
                if (r < 0)
                        err = strdup("failed to record what was installed in the state file");
        }
        if (r < 0 && interrupted_by) {
                log_error("apply interrupted by %s: nothing was changed",
                          signal_name(interrupted_by));
                return 128 + interrupted_by;
        }
        if (r < 0) {
                if (err)
                        log_error("apply failed, nothing further changed: %s", err);
                else
                        log_error_errno(r, "apply failed, nothing further changed: %m");
                return EXIT_RUN_FAILED;
        }
        return EXIT_OK;
}

static int cmd_apply(struct cmd_ctx *ctx)
{
        struct run_times times = {.start_usec = now_usec()};
        struct apply_progress progress = {0};
        struct job job;
        _cleanup_free_ char *rolled_back = NULL;
        long long rollback_usec = 0;
        (void)interrupt_catch(); /* Ctrl-C leaves the machine as it was, not half-written */
        ctx->etcd_bootstrap = cmd_opt(ctx, "etcd-bootstrap") != NULL;
        int r = job_prepare(ctx, &job, false);
        /* A member with data is not a bootstrap: the rolling pass after this one takes it, so
         * its etcd never restarts together with the others'. */
        uint64_t node = 0, cluster = 0;
        if (r == EXIT_OK && ctx->etcd_bootstrap &&
            etcd_data_member(&job.target, job.model->cfg.etcd.data_dir, &node, &cluster) >= 0) {
                report_note("etcd: %s holds member %016" PRIx64 " already; nothing to bootstrap",
                            job.model->cfg.etcd.data_dir, node);
                report_summary("apply", job.plan, 0, 0, &times);
                job_done(&job);
                return EXIT_OK;
        }
        times.plan_usec = now_usec() - times.start_usec;
        /* a plan that failed to build or compare has no counters to show */
        const struct plan *shown = r == EXIT_OK ? job.plan : NULL;
        if (r == EXIT_OK)
                report_release(job.marker, job.model->cfg.cluster.version, job.version_from,
                               job.installed);
        /* Into a --root tree apply writes only what the plan lists: with nothing listed the
         * gate guards nothing, and its certificate checks (OpenSSL's key decoders, some 3 ms)
         * were most of a no-op's run. On the live machine it stays: converge may start units. */
        bool nothing_to_write =
            shown && plan_count(shown, ACTION_NONE) == shown->n_items && ctx->root;
        if (r == EXIT_OK && !ctx->skip_preflight && !nothing_to_write)
                r = preflight_check(ctx, job.model, false);
        if (r == EXIT_OK) {
                progress.t = &job.target;
                progress.job = &job;
                progress_init(&progress.bar);
                long long t0 = now_usec();
                r = install(&job, &progress);
                times.install_usec = now_usec() - t0;
        }
        if (r == EXIT_OK && !ctx->root)
                r = converge(ctx, &job, progress.kept, &times, &rollback_usec, &rolled_back);
        report_summary("apply", shown, progress.changed, r == EXIT_OK ? 0 : 1, &times);
        if (rolled_back)
                report_rolled_back(rolled_back, rollback_usec);
        job_done(&job);
        return r;
}

static const struct cmd_option apply_options[] = {
    {"etcd-bootstrap", 0, NULL,
     "etcd alone, and only where its data directory holds no member yet (fanout --serial's "
     "first pass: a new cluster's quorum)"},
    {0},
};

const struct command cmd_apply_entry = {
    .name = "apply",
    .min_args = 0,
    .max_args = 0,
    .flags = CMD_LOCKS | CMD_SKEW,
    .options = apply_options,
    .usage = "apply [--etcd-bootstrap]",
    .summary = "download, verify and install everything the plan lists",
    .exec = cmd_apply,
};
