/* kubestrap validate: is the configuration, with the templates it uses, what kubestrap can
 * install? Checked offline, before a change is rolled out: nothing is fetched or changed. */
#include "cmd.h"
#include "etcd.h"
#include "log.h"
#include "pipeline.h"
#include "render.h"
#include "report.h"

static int cmd_validate(struct cmd_ctx *ctx)
{
        struct model *m = NULL;
        /* every configuration error, each naming file, line, section and key */
        int r = cmd_load_model(ctx, &m);
        if (r != EXIT_OK)
                return r;
        struct target t = {.root_fd = -1, .lock_fd = -1};
        r = target_open(ctx->root, &t);
        if (r < 0) {
                log_error_errno(r, "--root %s: %m", ctx->root);
                model_free(m);
                return EXIT_USAGE;
        }
        /* the templates, rendered in memory: a bad placeholder or flag edit names its file and
         * line (a version marker is not read: the newest rules it could name apply) */
        _cleanup_free_ char *err = NULL;
        struct render_result *rendered = NULL;
        /* etcd's member must be one of initial-cluster's (and reads its data directory) */
        r = etcd_prepare(m, &t, &err);
        if (r >= 0)
                r = render_all(m, &t, &rendered, &err);
        if (r < 0) {
                if (err)
                        log_error("%s", err);
                else
                        log_error_errno(r, "Failed to render templates: %m");
        } else if (rendered)
                report_validate(m->config_path, rendered->n_files);
        render_result_free(rendered);
        target_close(&t);
        model_free(m);
        return r < 0 ? EXIT_USAGE : EXIT_OK;
}

const struct command cmd_validate_entry = {
    .name = "validate",
    .min_args = 0,
    .max_args = 0,
    .usage = "validate",
    .summary = "check the configuration and templates offline; exit 0 or 2",
    .exec = cmd_validate,
};
