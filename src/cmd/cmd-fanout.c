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
#include "jsonread.h"
#include "log.h"
#include "marker.h"
#include "pipeline.h"
#include "report.h"

static void show_line(const struct fanout_host *fh, const struct jevent *e, const char *line,
                      bool is_stderr)
{
        if (is_stderr)
                report_remote_stderr(fh->host->name, line);
        else
                report_remote_stdout(fh->host->name, e, line);
}

/* --group: each host's lines are held until it ends, then shown together, so a hundred hosts'
 * output does not interleave line by line. Per host, records of a marker byte ('e' stderr,
 * 'o' stdout) and the line with its NUL: a line never holds a NUL (fanout.c cuts at one). The
 * memory is what the hosts wrote, as with a pipe into less. */
struct grouping {
        struct buf *held; /* one per host, by fanout_host.index; NULL: show lines as they come */
};

/* Each line a host writes, shown as it comes (or held, with --group). */
static void on_line(const struct fanout_host *fh, const struct jevent *e, const char *line,
                    bool is_stderr, void *userdata)
{
        struct grouping *g = userdata;
        if (!g->held) {
                show_line(fh, e, line, is_stderr);
                return;
        }
        struct buf *b = &g->held[fh->index];
        if (buf_append(b, is_stderr ? "e" : "o", 1) < 0 ||
            buf_append(b, line, strlen(line) + 1) < 0)
                show_line(fh, e, line, is_stderr); /* out of memory: better shown than lost */
}

static void on_done(const struct fanout_host *fh, void *userdata)
{
        struct grouping *g = userdata;
        if (!g->held)
                return;
        struct buf *b = &g->held[fh->index];
        for (size_t at = 0; at < b->len;) {
                const char *line = b->data + at + 1;
                _cleanup_jevent_ struct jevent *e = NULL;
                bool is_stderr = b->data[at] == 'e';
                /* parsed again as fanout.c did: e only when it is one of our events */
                if (!is_stderr && (jevent_parse(line, &e) < 0 || !jevent_str(e, "event")))
                        e = jevent_free(e);
                show_line(fh, e, line, is_stderr);
                at += strlen(line) + 2;
        }
        buf_done(b);
}

/* A marker ([cluster] version = stable-1.NN) is read once here, for the whole run, when the
 * remote verb plans or installs a release: the bundle records the release, so every host gets
 * the same one even if the marker moves during a rolling upgrade. The hosts take the release
 * from the bundle and never read the marker (one left in the bundle was refused there). */
static int resolve_marker(struct model *m, char *const *verb_argv)
{
        const struct command *verb = NULL;
        for (char *const *a = verb_argv; a && *a && !verb; a++)
                verb = cmd_find(*a);
        if (!marker_is(m->cfg.cluster.version) || !verb || !(verb->flags & CMD_SKEW))
                return EXIT_OK;
        _cleanup_free_ char *version = NULL, *from = NULL, *err = NULL;
        int r = marker_resolve(m, &version, &from, &err);
        if (r < 0) {
                log_error("fanout: %s", err ? err : strerror(-r));
                return EXIT_RUN_FAILED;
        }
        r = model_set(m, "cluster.version", version);
        if (r < 0)
                return log_error_errno(r, "fanout: %m"), EXIT_RUN_FAILED;
        return EXIT_OK;
}

/* The bundle for the hosts of m's role, into a new file of ours. */
static int write_bundle(const struct model *m, const char *path, const char *config_path,
                        char **ret_error)
{
        _cleanup_close_ int fd =
            open(path, O_WRONLY | O_CREAT | O_EXCL | O_NOFOLLOW | O_CLOEXEC, 0600);
        if (fd < 0)
                return -errno;
        return bundle_write(fd, m, config_path, NULL, 0, ret_error);
}

/* A new etcd cluster is healthy only once a quorum of its members runs, and a new member's
 * start job (Type=notify) only returns then: a rolling apply would wait on its first host for
 * ever. So --serial first runs "apply --etcd-bootstrap" on every host at once, which installs
 * and starts etcd alone where its data directory holds no member yet and leaves every other
 * host alone; then the rolling pass finds etcd healthy, and a member with data only ever
 * restarts in it, one at a time. Returns an exit code. */
static int etcd_first_pass(const struct model *m, const struct host *const *all, size_t n_all,
                           const struct fanout_options *o)
{
        if (!o->serial || !m->etcd || !streq(o->verb_argv[0], "apply"))
                return EXIT_OK;
        /* only the controllers run a member: a load balancer has no etcd to bring up */
        _cleanup_free_ const struct host **hosts = calloc(n_all ? n_all : 1, sizeof(*hosts));
        if (!hosts)
                return log_error_errno(-ENOMEM, "fanout: %m"), EXIT_RUN_FAILED;
        size_t n = 0;
        for (size_t k = 0; k < n_all; k++)
                if (all[k]->role == NODE_CONTROLLER)
                        hosts[n++] = all[k];
        if (n < 2)
                return EXIT_OK;
        _cleanup_strv_free_ char **argv = NULL;
        int r = 0;
        for (char **a = o->verb_argv; *a && r >= 0; a++)
                r = strv_extend(&argv, *a);
        if (r >= 0)
                r = strv_extend(&argv, "--etcd-bootstrap");
        if (r < 0)
                return log_error_errno(r, "fanout: %m"), EXIT_RUN_FAILED;
        struct fanout_options first = *o;
        first.serial = false;
        first.jobs = 0;
        first.max_fail = -1;
        first.verb_argv = argv;
        struct fanout_host *fh = NULL;
        r = fanout_run(m, hosts, n, &first, &fh);
        if (r < 0) {
                free(fh);
                return log_error_errno(r, "fanout: %m"), EXIT_RUN_FAILED;
        }
        size_t bad = 0;
        for (size_t k = 0; k < n; k++)
                bad += fh[k].result != FANOUT_OK;
        if (bad)
                report_fanout_hosts(fh, n);
        for (size_t k = 0; k < n; k++)
                free(fh[k].error);
        free(fh);
        if (bad) {
                log_error("fanout: etcd's bootstrap failed on %zu host(s); the rolling pass was "
                          "not started",
                          bad);
                return EXIT_RUN_FAILED;
        }
        /* where the first pass ends and the roll begins, for whoever reads the output */
        report_note("fanout: etcd's first pass is done on %zu host(s); now one host at a time", n);
        return EXIT_OK;
}

/* "-j N", "--max-fail K": a count, or a usage error */
static int count_opt(struct cmd_ctx *ctx, const char *name, const char *shown, unsigned *ret)
{
        const char *v = cmd_opt(ctx, name);
        if (v && safe_atou(v, ret) < 0)
                return cmd_usage_error(ctx, "%s needs a number, got '%s'", shown, v);
        return EXIT_OK;
}

static int cmd_fanout(struct cmd_ctx *ctx)
{
        struct grouping g = {0};
        struct fanout_options o = {
            .max_fail = -2, .on_line = on_line, .on_done = on_done, .userdata = &g};
        char **names = ctx->argc > 0 ? ctx->argv : NULL;
        unsigned max_fail;
        /* Without -j, FANOUT_JOBS_DEFAULT at once (bench/fleet): 0 is "all". */
        o.jobs = FANOUT_JOBS_DEFAULT;
        int r = count_opt(ctx, "jobs", "-j", &o.jobs);
        if (r == EXIT_OK)
                r = count_opt(ctx, "max-fail", "--max-fail", &max_fail);
        if (r != EXIT_OK)
                return r;
        if (cmd_opt(ctx, "max-fail"))
                o.max_fail = max_fail;
        o.serial = cmd_opt(ctx, "serial") != NULL;
        if (!ctx->tail || !ctx->tail[0])
                return cmd_usage_error(ctx, "the verb to run goes after '--'");
        o.verb_argv = ctx->tail;
        if (streq(o.verb_argv[0], "fanout") || streq(o.verb_argv[0], "tmux")) {
                log_error("fanout: '%s' cannot run on the hosts", o.verb_argv[0]);
                return EXIT_USAGE;
        }
        /* A rolling change stops at the first failure; a parallel one lets the others finish. */
        if (o.max_fail == -2)
                o.max_fail = o.serial ? 0 : -1;

        struct model *m = NULL;
        _cleanup_free_ const struct host **hosts = NULL;
        size_t n = 0;
        r = cmd_load_hosts(ctx, names, &m, &hosts, &n);
        if (r != EXIT_OK)
                return r;
        r = resolve_marker(m, o.verb_argv);
        if (r != EXIT_OK) {
                model_free(m);
                return r;
        }

        /* One bundle for all: config, PKI, templates (each node fetches its binaries). It and
         * ssh's control sockets live in a directory only we can enter. */
        _cleanup_free_ char *dir = NULL, *path = NULL, *lb_path = NULL, *err = NULL;
        r = fanout_private_dir(&dir);
        if (r < 0) {
                log_error_errno(r, "fanout: cannot make a private directory for ssh: %m");
                model_free(m);
                return EXIT_RUN_FAILED;
        }
        path = path_join(dir, "bundle");
        r = path ? write_bundle(m, path, ctx->config_path, &err) : -ENOMEM;
        /* a load balancer's own, without the keys it has no use for */
        bool lb = false;
        for (size_t k = 0; k < n; k++)
                lb = lb || hosts[k]->role == NODE_LB;
        if (r >= 0 && lb) {
                lb_path = path_join(dir, "bundle-lb");
                enum node_role was = m->role;
                m->role = NODE_LB;
                r = lb_path ? write_bundle(m, lb_path, ctx->config_path, &err) : -ENOMEM;
                m->role = was;
        }
        if (r < 0) {
                log_error("fanout: cannot make the bundle: %s", err ? err : strerror(-r));
                fanout_private_dir_remove(dir);
                model_free(m);
                return EXIT_RUN_FAILED;
        }
        o.bundle_path = path;
        o.lb_bundle_path = lb_path;
        o.private_dir = dir;
        if (cmd_opt(ctx, "group") && !(g.held = calloc(n ? n : 1, sizeof(*g.held)))) {
                log_error_errno(-ENOMEM, "fanout: %m");
                fanout_private_dir_remove(dir);
                model_free(m);
                return EXIT_RUN_FAILED;
        }
        struct fanout_host *fh = NULL;
        r = etcd_first_pass(m, hosts, n, &o);
        if (r == EXIT_OK)
                r = fanout_run(m, hosts, n, &o, &fh);
        else
                r = -ECANCELED;
        fanout_private_dir_remove(dir);
        for (size_t k = 0; g.held && k < n; k++)
                buf_done(&g.held[k]); /* a run that stopped early: hosts never ended */
        free(g.held);
        if (r == -ECANCELED) {
                model_free(m);
                return EXIT_RUN_FAILED;
        }
        if (r < 0) {
                log_error_errno(r, "fanout: %m");
                free(fh);
                model_free(m);
                return EXIT_RUN_FAILED;
        }
        report_fanout_hosts(fh, n);
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

#define JOBS_TEXT_(n) #n
#define JOBS_TEXT(n)  JOBS_TEXT_(n) /* the number, as text for the help */
static const struct cmd_option fanout_options[] = {
    {"jobs", 'j', "N",
     "at most N hosts at once (default: " JOBS_TEXT(FANOUT_JOBS_DEFAULT) "; 0: all)"},
    {"serial", 0, NULL, "one host at a time, the next only after the previous succeeded"},
    {"max-fail", 0, "K", "start no more hosts once more than K failed (default: 0 with --serial)"},
    {"group", 0, NULL, "hold each host's output until it ends, then show it in one piece"},
    {0},
};

const struct command cmd_fanout_entry = {
    .name = "fanout",
    .min_args = 0,
    .max_args = -1,
    .flags = CMD_PASSTHROUGH,
    .usage = "fanout [-j N] [--serial] [--max-fail K] [--group] [HOST...] -- VERB [ARGS]",
    .options = fanout_options,
    .summary = "run a verb on the inventory's hosts over SSH (parallel or rolling)",
    .exec = cmd_fanout,
};
