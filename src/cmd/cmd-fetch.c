/* kubestrap fetch: download and verify the binaries into the cache, and optionally write an
 * air-gap bundle (binaries, digests, templates, config, PKI) for 'kubestrap --bundle FILE apply'.
 */
#include <errno.h>
#include <fcntl.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "bundle.h"
#include "cache.h"
#include "cmd.h"
#include "fileio.h"
#include "install.h"
#include "log.h"
#include "pipeline.h"
#include "progress.h"
#include "report.h"

static int write_bundle(struct job *job, const char *out, const char *config_path)
{
        /* every download of the plan: the release's binaries and etcd's, when it has them */
        _cleanup_free_ struct bundle_source *src =
            calloc(job->plan->n_items ? job->plan->n_items : 1, sizeof(*src));
        size_t n = 0;
        _cleanup_free_ char *err = NULL, *tmp = NULL;
        int r = src ? 0 : -ENOMEM;
        for (size_t i = 0; i < job->plan->n_items && r >= 0; i++) {
                struct item *it = &job->plan->items[i];
                if (it->kind != ITEM_DOWNLOAD)
                        continue;
                src[n] = (struct bundle_source){
                    .name = strrchr(it->path, '/') + 1, .alg = it->alg, .hex = it->hex, .fd = -1};
                r = cache_open_entry(&job->target, job->plan->cache_dir, it->alg, it->hex,
                                     &src[n].fd);
                if (r < 0)
                        log_error_errno(r, "%s is not in the cache: %m", it->path);
                n++;
        }
        _cleanup_close_ int fd = -1, dir_fd = -1;
        _cleanup_free_ char *dir = NULL;
        const char *name = NULL;
        if (r >= 0 && streq(out, "-")) {
                fd = dup(STDOUT_FILENO);
                if (fd < 0)
                        r = -errno;
        } else if (r >= 0) {
                /* The keys go into a new file of ours: a random hidden name beside the bundle,
                 * created O_EXCL|O_NOFOLLOW 0600 (stage_open), mode and owner set through the
                 * descriptor, then renamed. A fixed name could be taken first by anyone who can
                 * write the directory: a file of theirs would be reused with their owner and
                 * mode, and a leftover would block every later run. Leftovers of an interrupted
                 * run are ours alone and swept; anybody else's file is left alone. */
                const char *slash = strrchr(out, '/');
                name = slash ? slash + 1 : out;
                dir = slash == out ? strdup("/")
                      : slash      ? strndup(out, (size_t)(slash - out))
                                   : strdup(".");
                if (!dir)
                        r = -ENOMEM;
                else if (!*name || streq(name, ".") || streq(name, ".."))
                        r = -EISDIR;
                else {
                        dir_fd = open(dir, O_PATH | O_DIRECTORY | O_CLOEXEC);
                        if (dir_fd < 0)
                                r = -errno;
                }
                if (r >= 0) {
                        stage_sweep_own(dir_fd, name);
                        fd = stage_open(dir_fd, name, &tmp);
                        if (fd < 0)
                                r = fd;
                }
        }
        if (r >= 0)
                r = bundle_write(fd, job->model, config_path, src, n, &err);
        if (r >= 0 && tmp)
                r = stage_finish(fd, 0600, true);
        if (r >= 0 && tmp)
                r = stage_commit(dir_fd, tmp, name);
        if (r < 0 && tmp)
                stage_abort(dir_fd, tmp);
        for (size_t i = 0; i < n; i++)
                if (src[i].fd >= 0)
                        close(src[i].fd);
        if (r < 0 && err)
                log_error("bundle %s: %s", out, err);
        else if (r < 0)
                log_error_errno(r, "bundle %s: %m", out);
        return r;
}

static int cmd_fetch(struct cmd_ctx *ctx)
{
        struct run_times times = {.start_usec = now_usec()};
        const char *bundle_out = cmd_opt(ctx, "bundle");
        /* A bundle on stdout leaves stdout to the bundle: reports go to stderr then. */
        if (bundle_out && streq(bundle_out, "-") && report_is_json()) {
                log_error("--output json and a bundle on stdout cannot share stdout");
                return EXIT_USAGE;
        }
        struct job job;
        _cleanup_free_ char *err = NULL;
        (void)interrupt_catch();
        int r = job_prepare(ctx, &job, false);
        if (r != EXIT_OK) {
                job_done(&job);
                return r;
        }
        struct progress bar;
        progress_init(&bar);
        struct install_hooks hooks = {.progress = progress_update, .userdata = &bar};
        install_sweep_staging(job.plan, &job.target);
        r = install_fetch(job.plan, &job.target, &hooks, &err);
        progress_finish(&bar);
        if (r < 0 && interrupted_by) {
                log_error("fetch interrupted by %s: nothing was added to the cache",
                          signal_name(interrupted_by));
                job_done(&job);
                return 128 + interrupted_by;
        }
        if (r < 0) {
                log_error("fetch failed: %s", err ? err : strerror(-r));
                job_done(&job);
                return EXIT_RUN_FAILED;
        }
        if (bundle_out) {
                r = write_bundle(&job, bundle_out,
                                 job.bundle ? job.bundle->config_path : ctx->config_path);
                if (r < 0) {
                        job_done(&job);
                        return EXIT_RUN_FAILED;
                }
        }
        if (!(bundle_out && streq(bundle_out, "-")))
                report_summary("fetch", job.plan, 0, 0, &times);
        else
                fprintf(stderr, "kubestrap: bundle written to stdout\n");
        job_done(&job);
        return EXIT_OK;
}

static const struct cmd_option fetch_options[] = {
    {"bundle", 0, "FILE", "also write an air-gap bundle to FILE ('-': stdout)"},
    {0},
};

const struct command cmd_fetch_entry = {
    .name = "fetch",
    .min_args = 0,
    .max_args = 0,
    .flags = CMD_LOCKS,
    .usage = "fetch [--bundle FILE|-]",
    .options = fetch_options,
    .summary = "download and verify the binaries into the cache; --bundle writes an air-gap bundle",
    .exec = cmd_fetch,
};
