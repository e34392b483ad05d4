/* kubestrap apply: make the node match the plan, verified and atomically, file by file. */
#include "cmd.h"
#include "install.h"
#include "log.h"
#include "pipeline.h"
#include "progress.h"
#include "report.h"
#include "service.h"

/* Passed to both hooks: progress_update() sees the struct progress at its start. */
struct apply_progress {
        struct progress bar;
        const struct target *t;
        size_t changed;
};

static void on_done(const struct item *it, void *userdata)
{
        struct apply_progress *p = userdata;
        progress_finish(&p->bar);
        p->changed++;
        report_item(p->t, it, "change", false);
}

/* With --root there is no systemd to talk to: files only. Returns an exit code. */
static int converge(struct job *job, struct run_times *times)
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
        struct install_hooks hooks = {
            .done = on_done, .progress = progress_update, .userdata = progress};
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
        (void)interrupt_catch(); /* Ctrl-C leaves the machine as it was, not half-written */
        int r = job_prepare(ctx, &job, false);
        times.plan_usec = now_usec() - times.start_usec;
        /* a plan that failed to build or compare has no counters to show */
        const struct plan *shown = r == EXIT_OK ? job.plan : NULL;
        if (r == EXIT_OK)
                report_release(job.marker, job.model->cfg.cluster.version, job.version_from,
                               job.installed);
        if (r == EXIT_OK && !ctx->skip_preflight)
                r = preflight_check(ctx, job.model, false);
        if (r == EXIT_OK) {
                progress.t = &job.target;
                progress_init(&progress.bar);
                long long t0 = now_usec();
                r = install(&job, &progress);
                times.install_usec = now_usec() - t0;
        }
        if (r == EXIT_OK && !ctx->root)
                r = converge(&job, &times);
        report_summary("apply", shown, progress.changed, r == EXIT_OK ? 0 : 1, &times);
        job_done(&job);
        return r;
}

const struct command cmd_apply_entry = {
    .name = "apply",
    .min_args = 0,
    .max_args = 0,
    .flags = CMD_LOCKS | CMD_SKEW,
    .usage = "apply",
    .summary = "download, verify and install everything the plan lists",
    .exec = cmd_apply,
};
