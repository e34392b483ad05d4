/* kubestrap apply: make the node match the plan, verified and atomically, file by file. */
#include "cmd.h"
#include "install.h"
#include "log.h"
#include "progress.h"
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

static void report_units(const struct service_report *rep)
{
        for (size_t i = 0; i < rep->n_units; i++) {
                const struct service_result *u = &rep->units[i];
                if (arg_output == OUTPUT_JSON) {
                        struct json_event e;
                        json_begin(&e, "unit");
                        json_str(&e, "unit", u->unit);
                        json_str(&e, "action", service_action_to_string(u->action));
                        json_int(&e, "main_pid", u->main_pid);
                        json_int(&e, "healthy_ms",
                                 u->healthy_after_usec >= 0 ? u->healthy_after_usec / 1000 : -1);
                        json_end(&e);
                } else
                        printf("%s: %s (pid %u), healthy after %.2f s\n", u->unit,
                               service_action_to_string(u->action), u->main_pid,
                               (double)u->healthy_after_usec / 1e6);
        }
        for (char **n = rep->notes; n && *n; n++)
                if (arg_output == OUTPUT_JSON) {
                        struct json_event e;
                        json_begin(&e, "note");
                        json_str(&e, "message", *n);
                        json_end(&e);
                } else
                        printf("%s\n", *n);
        if (rep->rbac_applied && arg_output != OUTPUT_JSON)
                printf("applied the system:kube-apiserver-to-kubelet ClusterRole and binding\n");
        fflush(stdout);
}

static int cmd_apply(struct cmd_ctx *ctx)
{
        struct run_times times = {.start_usec = now_usec()};
        struct job job;
        _cleanup_free_ char *err = NULL;
        (void)interrupt_catch(); /* Ctrl-C leaves the machine as it was, not half-written */
        int r = job_prepare(ctx, &job, false);
        times.plan_usec = now_usec() - times.start_usec;
        if (r != EXIT_OK) {
                report_summary("apply", NULL, 0, 1, &times);
                job_done(&job);
                return r;
        }
        if (!ctx->skip_preflight) {
                r = preflight_check(ctx, job.model, false);
                if (r != EXIT_OK) {
                        report_summary("apply", job.plan, 0, 1, &times);
                        job_done(&job);
                        return r;
                }
        }
        struct apply_progress progress = {.t = &job.target};
        progress_init(&progress.bar);
        struct install_hooks hooks = {
            .done = on_done, .progress = progress_update, .userdata = &progress};
        long long t0 = now_usec();
        install_sweep_staging(job.plan, &job.target);
        target_sweep_staging(&job.target, model_get(job.model, "paths.state-dir"), "installed");
        r = install_apply(job.plan, &job.target, job.state, &hooks, &err);
        progress_finish(&progress.bar);
        if (r >= 0) {
                r = state_save(&job.target, model_get(job.model, "paths.state-dir"), job.state);
                if (r < 0)
                        err = strdup("failed to record what was installed in the state file");
        }
        times.install_usec = now_usec() - t0;
        if (r < 0 && interrupted_by) {
                log_error("apply interrupted by %s: nothing was changed",
                          signal_name(interrupted_by));
                report_summary("apply", job.plan, progress.changed, 1, &times);
                job_done(&job);
                return 128 + interrupted_by;
        }
        if (r < 0) {
                if (err)
                        log_error("apply failed, nothing further changed: %s", err);
                else
                        log_error_errno(r, "apply failed, nothing further changed: %m");
                report_summary("apply", job.plan, progress.changed, 1, &times);
                job_done(&job);
                return EXIT_RUN_FAILED;
        }

        /* With --root there is no systemd to talk to: files only. */
        if (!ctx->root) {
                struct service_options so = {
                    .health_timeout_usec =
                        model_get_uint(job.model, "health.timeout", 120) * 1000000ULL,
                    .settle_usec = model_get_uint(job.model, "health.settle-ms", 1500) * 1000ULL,
                };
                struct service_report rep;
                r = service_converge(job.model, job.plan, &so, &rep, &err);
                times.start_usec_phase = rep.jobs_usec;
                times.healthy_usec = rep.healthy_usec;
                report_units(&rep);
                service_report_done(&rep);
                if (r < 0 && interrupted_by) {
                        log_error("apply interrupted by %s: the files are in place, the units "
                                  "may still be starting; run apply again",
                                  signal_name(interrupted_by));
                        report_summary("apply", job.plan, progress.changed, 1, &times);
                        job_done(&job);
                        return 128 + interrupted_by;
                }
                if (r < 0) {
                        log_error("apply: files are in place, but the control plane is not "
                                  "healthy: %s",
                                  err ? err : strerror(-r));
                        report_summary("apply", job.plan, progress.changed, 1, &times);
                        job_done(&job);
                        return EXIT_RUN_FAILED;
                }
        }
        report_summary("apply", job.plan, progress.changed, 0, &times);
        job_done(&job);
        return EXIT_OK;
}

const struct command cmd_apply_entry = {
    .name = "apply",
    .min_args = 0,
    .max_args = 0,
    .flags = CMD_NEEDS_CONFIG | CMD_LOCKS,
    .usage = "apply",
    .summary = "download, verify and install everything the plan lists",
    .exec = cmd_apply,
};
