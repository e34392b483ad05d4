/* kubestrap fanout: run a verb on many controllers over SSH, in parallel or rolling one at a
 * time, with a table of results and per-phase times at the end. */
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "bundle.h"
#include "cmd.h"
#include "fanout.h"
#include "log.h"

static void print_ms(long ms)
{
        if (ms < 0)
                printf(" %8s", "-");
        else
                printf(" %6ldms", ms);
}

static void print_table(const struct fanout_host *fh, size_t n)
{
        if (arg_output == OUTPUT_JSON) {
                for (size_t i = 0; i < n; i++) {
                        struct json_event e;
                        json_begin(&e, "host");
                        json_str(&e, "host", fh[i].host->name);
                        json_str(&e, "result", fanout_result_to_string(fh[i].result));
                        json_int(&e, "exit", fh[i].exit_code);
                        json_int(&e, "changed", fh[i].changed);
                        json_int(&e, "plan_ms", fh[i].plan_ms);
                        json_int(&e, "install_ms", fh[i].install_ms);
                        json_int(&e, "start_ms", fh[i].start_ms);
                        json_int(&e, "healthy_ms", fh[i].healthy_ms);
                        json_int(&e, "total_ms",
                                 fh[i].started_usec ? (fh[i].ended_usec - fh[i].started_usec) / 1000
                                                    : -1);
                        if (fh[i].error && fh[i].result != FANOUT_OK)
                                json_str(&e, "error", fh[i].error);
                        json_end(&e);
                }
                return;
        }
        printf("\n%-16s %-12s %7s %8s %8s %8s %8s %8s\n", "HOST", "RESULT", "CHANGED", "PLAN",
               "INSTALL", "START", "HEALTHY", "TOTAL");
        for (size_t i = 0; i < n; i++) {
                printf("%-16s %-12s", fh[i].host->name, fanout_result_to_string(fh[i].result));
                if (fh[i].changed >= 0)
                        printf(" %7ld", fh[i].changed);
                else
                        printf(" %7s", "-");
                print_ms(fh[i].plan_ms);
                print_ms(fh[i].install_ms);
                print_ms(fh[i].start_ms);
                print_ms(fh[i].healthy_ms);
                print_ms(fh[i].started_usec ? (fh[i].ended_usec - fh[i].started_usec) / 1000 : -1);
                if (fh[i].error && fh[i].result != FANOUT_OK)
                        printf("  %s", fh[i].error);
                printf("\n");
        }
        fflush(stdout);
}

static int cmd_fanout(struct cmd_ctx *ctx)
{
        struct fanout_options o = {.max_fail = -2};
        _cleanup_strv_free_ char **names = NULL;
        int i = 0;
        for (; i < ctx->argc; i++) {
                const char *a = ctx->argv[i];
                unsigned v;
                if (streq(a, "--")) {
                        i++;
                        break;
                } else if (streq(a, "--serial"))
                        o.serial = true;
                else if ((streq(a, "-j") || streq(a, "--max-fail")) && i + 1 < ctx->argc &&
                         safe_atou(ctx->argv[i + 1], &v) >= 0) {
                        if (streq(a, "-j"))
                                o.jobs = v;
                        else
                                o.max_fail = v;
                        i++;
                } else if (a[0] == '-') {
                        log_error("fanout: unknown option '%s'", a);
                        return EXIT_USAGE;
                } else if (strv_extend(&names, a) < 0)
                        return EXIT_RUN_FAILED;
        }
        if (i >= ctx->argc || i == 0 || !streq(ctx->argv[i - 1], "--")) {
                log_error("usage: kubestrap fanout [-j N] [--serial] [--max-fail K] [HOST...] -- "
                          "VERB [ARGS]");
                return EXIT_USAGE;
        }
        o.verb_argv = ctx->argv + i;
        if (streq(o.verb_argv[0], "fanout") || streq(o.verb_argv[0], "tmux")) {
                log_error("fanout: '%s' cannot run on the hosts", o.verb_argv[0]);
                return EXIT_USAGE;
        }
        /* A rolling change stops at the first failure; a parallel one lets the others finish. */
        if (o.max_fail == -2)
                o.max_fail = o.serial ? 0 : -1;

        struct model *m = NULL;
        int r = cmd_load_model(ctx, &m);
        if (r != EXIT_OK)
                return r;
        /* as many hosts as the inventory has */
        _cleanup_free_ const struct host **hosts = calloc(names        ? strv_length(names)
                                                          : m->n_hosts ? m->n_hosts
                                                                       : 1,
                                                          sizeof(*hosts));
        size_t n = 0;
        if (!hosts) {
                log_error("fanout: out of memory");
                model_free(m);
                return EXIT_RUN_FAILED;
        }
        if (!names)
                for (size_t h = 0; h < m->n_hosts; h++)
                        hosts[n++] = &m->hosts[h];
        for (char **nm = names; nm && *nm; nm++) {
                const struct host *h = model_host(m, *nm);
                if (!h) {
                        log_error("fanout: no [host %s] in %s", *nm, ctx->config_path);
                        model_free(m);
                        return EXIT_USAGE;
                }
                hosts[n++] = h;
        }
        if (n == 0) {
                log_error("fanout: %s has no [host NAME] sections", ctx->config_path);
                model_free(m);
                return EXIT_USAGE;
        }

        /* One bundle for all: config, PKI, templates (each node fetches its binaries). It and
         * ssh's control sockets live in a directory only we can enter. */
        _cleanup_free_ char *dir = NULL, *path = NULL, *err = NULL;
        r = fanout_private_dir(&dir);
        if (r < 0) {
                log_error_errno(r, "fanout: cannot make a private directory for ssh: %m");
                model_free(m);
                return EXIT_RUN_FAILED;
        }
        path = path_join(dir, "bundle");
        int fd = path ? open(path, O_WRONLY | O_CREAT | O_EXCL | O_NOFOLLOW | O_CLOEXEC, 0600) : -1;
        r = !path    ? -ENOMEM
            : fd < 0 ? -errno
                     : bundle_write(fd, m, ctx->config_path, NULL, 0, &err);
        if (fd >= 0)
                close(fd);
        if (r < 0) {
                log_error("fanout: cannot make the bundle: %s", err ? err : strerror(-r));
                fanout_private_dir_remove(dir);
                model_free(m);
                return EXIT_RUN_FAILED;
        }
        o.bundle_path = path;
        o.private_dir = dir;
        struct fanout_host *fh = NULL;
        r = fanout_run(m, hosts, n, &o, &fh);
        fanout_private_dir_remove(dir);
        if (r < 0) {
                log_error_errno(r, "fanout: %m");
                free(fh);
                model_free(m);
                return EXIT_RUN_FAILED;
        }
        print_table(fh, n);
        int worst = EXIT_OK;
        for (size_t k = 0; k < n; k++) {
                int code = fh[k].result == FANOUT_OK            ? EXIT_OK
                           : fh[k].result == FANOUT_SKIPPED     ? EXIT_RUN_FAILED
                           : fh[k].result == FANOUT_UNREACHABLE ? EXIT_RUN_FAILED
                           : fh[k].exit_code == EXIT_USAGE      ? EXIT_USAGE
                                                                : EXIT_RUN_FAILED;
                if (code > worst)
                        worst = code;
                free(fh[k].error);
        }
        free(fh);
        model_free(m);
        return worst;
}

const struct command cmd_fanout_entry = {
    .name = "fanout",
    .min_args = 2,
    .max_args = -1,
    .flags = CMD_NEEDS_CONFIG,
    .usage = "fanout [-j N] [--serial] [--max-fail K] [HOST...] -- VERB [ARGS]",
    .summary = "run a verb on the inventory's hosts over SSH (parallel or rolling)",
    .exec = cmd_fanout,
};
