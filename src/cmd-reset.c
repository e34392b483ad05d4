/* kubestrap reset: stop and disable our units and remove exactly what kubestrap installed, as
 * recorded in its state file; files changed since are kept (and named). Safe to run twice. */
#include <errno.h>
#include <stdlib.h>
#include <fcntl.h>
#include <stdio.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "bus.h"
#include "cmd.h"
#include "log.h"
#include "state.h"

static void report(const char *event, const char *path, const char *why)
{
        if (arg_output == OUTPUT_JSON) {
                struct json_event e;
                json_begin(&e, event);
                json_str(&e, "path", path);
                if (why)
                        json_str(&e, "reason", why);
                json_end(&e);
        } else if (why)
                printf("kept %s: %s\n", path, why);
        else
                printf("removed %s\n", path);
}

/* Is the file at path still what we installed? Only then is it ours to remove. */
static const char *still_ours(int dfd, const char *name, const struct state_entry *e)
{
        struct stat st;
        if (fstatat(dfd, name, &st, AT_SYMLINK_NOFOLLOW) < 0)
                return errno == ENOENT ? "gone already" : strerror(errno);
        if (e->kind == STATE_KIND_LINK) {
                char buf[4096];
                ssize_t n = S_ISLNK(st.st_mode) ? readlinkat(dfd, name, buf, sizeof(buf) - 1) : -1;
                if (n < 0)
                        return "no longer our symlink";
                buf[n] = 0;
                return streq(buf, e->url) ? NULL : "points elsewhere now";
        }
        if (!S_ISREG(st.st_mode))
                return "no longer a regular file";
        if (e->kind == STATE_KIND_DOWNLOAD && state_stat_matches(e, &st))
                return NULL;
        _cleanup_close_ int fd = open_regular_at(dfd, name);
        char hex[DIGEST_HEX_MAX];
        if (fd < 0 || digest_fd(fd, e->alg, hex) < 0)
                return "unreadable";
        return streq(hex, e->hex) ? NULL : "changed since kubestrap installed it";
}

static void remove_state(struct target *t, const char *state_dir)
{
        _cleanup_close_ int sdfd = -1, pfd = -1;
        const char *sname;
        if (target_open_dir(t, state_dir, false, &sdfd) < 0)
                return;
        (void)unlinkat(sdfd, "installed", 0);
        if (target_open_parent(t, state_dir, false, &pfd, &sname) >= 0)
                (void)unlinkat(pfd, sname, AT_REMOVEDIR);
}

/* Longer paths sort last, and are visited first (the loop runs backwards). */
static int deeper_first(const void *a, const void *b)
{
        const struct state_entry *x = a, *y = b;
        size_t lx = strlen(x->path), ly = strlen(y->path);
        return lx < ly ? -1 : lx > ly ? 1 : strcmp(x->path, y->path);
}

static int cmd_reset(struct cmd_ctx *ctx)
{
        struct run_times times = {.start_usec = now_usec()};
        struct model *m = NULL;
        struct state *st = NULL;
        struct target t = {.root_fd = -1, .lock_fd = -1};
        size_t removed = 0, kept = 0, failed = 0;
        /* before the first "goto": its cleanup runs at the labels */
        _cleanup_strv_free_ char **units = NULL;
        _cleanup_free_ bool *stays = NULL;
        int r = cmd_load_model(ctx, &m);
        if (r != EXIT_OK)
                return r;
        r = target_open(ctx->root, &t);
        if (r < 0) {
                log_error_errno(r, "--root %s: %m", ctx->root);
                model_free(m);
                return EXIT_USAGE;
        }
        if (cmd_lock(&t) != EXIT_OK) {
                r = -EBUSY;
                goto out;
        }
        const char *state_dir = model_get(m, "paths.state-dir");
        r = cmd_load_state(&t, m, &st);
        if (r < 0)
                goto out;
        if (st->n == 0) {
                if (arg_output != OUTPUT_JSON)
                        printf("reset: nothing recorded as installed by kubestrap on %s\n", t.root);
                r = 0;
                goto summary;
        }

        /* Units first: nothing may run from the files about to go. */
        const char *unit_dir = model_get(m, "paths.unit-dir");
        for (size_t i = 0; i < st->n; i++) {
                const char *p = st->entries[i].path;
                if (st->entries[i].kind == STATE_KIND_FILE && startswith(p, unit_dir) &&
                    endswith(p, ".service") && p[strlen(unit_dir)] == '/')
                        (void)strv_extend(&units, p + strlen(unit_dir) + 1);
        }
        struct bus *b = NULL;
        if (!ctx->root && units) {
                r = bus_open(&b);
                if (r < 0) {
                        log_error_errno(r,
                                        "cannot reach systemd to stop %s: %m (use --root to "
                                        "remove files only)",
                                        units[0]);
                        goto out;
                }
                /* bus_run_jobs reads one mode per unit: as many as there are units. */
                size_t n = strv_length(units);
                _cleanup_free_ enum bus_job_mode *modes = calloc(n, sizeof(*modes));
                if (!modes) {
                        r = log_error_errno(-ENOMEM, "reset: %m");
                        bus_close(b);
                        goto out;
                }
                for (size_t i = 0; i < n; i++)
                        modes[i] = BUS_STOP;
                char **results = NULL;
                r = bus_run_jobs(b, units, modes, 90 * 1000000ULL, &results);
                strv_free(results);
                if (r >= 0)
                        r = bus_disable_units(b, units);
                if (r < 0) {
                        log_error("stopping or disabling %s failed: %s", units[0],
                                  bus_last_error(b) ? bus_last_error(b) : strerror(-r));
                        bus_close(b);
                        goto out;
                }
        }

        /* Files and links, then directories deepest first, and only while empty. */
        bool nginx_site = false;
        qsort(st->entries, st->n, sizeof(st->entries[0]), deeper_first);
        /* What is still on the machine afterwards: exactly what the state keeps listing. */
        stays = calloc(st->n, sizeof(*stays));
        if (!stays) {
                r = log_error_errno(-ENOMEM, "reset: %m");
                goto out;
        }
        for (int pass = 0; pass < 2; pass++) {
                /* Our own record goes before the directories, so its own can go too; kept
                 * files stay listed, so a later reset can try again. */
                if (pass == 1 && kept == 0 && failed == 0)
                        remove_state(&t, state_dir);
                for (size_t k = st->n; k > 0; k--) {
                        const struct state_entry *e = &st->entries[k - 1];
                        bool is_dir = e->kind == STATE_KIND_DIR;
                        if (e->kind == STATE_KIND_DIGEST || is_dir != (pass == 1))
                                continue;
                        _cleanup_close_ int dfd = -1;
                        const char *name;
                        r = target_open_parent(&t, e->path, false, &dfd, &name);
                        if (r < 0) {
                                stays[k - 1] = r != -ENOENT;
                                continue;
                        }
                        if (is_dir) {
                                if (unlinkat(dfd, name, AT_REMOVEDIR) == 0) {
                                        removed++;
                                        report("removed", e->path, NULL);
                                } else /* not empty: something else lives there */
                                        stays[k - 1] = errno != ENOENT;
                                continue;
                        }
                        const char *why = still_ours(dfd, name, e);
                        if (why && streq(why, "gone already"))
                                continue;
                        if (why) {
                                kept++;
                                stays[k - 1] = true;
                                report("kept", e->path, why);
                                continue;
                        }
                        if (unlinkat(dfd, name, 0) < 0) {
                                failed++;
                                stays[k - 1] = true;
                                log_error_errno(-errno, "%s: %m", e->path);
                                continue;
                        }
                        nginx_site = nginx_site || strstr(e->path, "nginx");
                        removed++;
                        report("removed", e->path, NULL);
                }
        }

        if (b) {
                (void)bus_reload(b);
                /* nginx stays (it is the distribution's), without our site */
                if (nginx_site) {
                        char *ngx[] = {(char *)"nginx.service", NULL};
                        enum bus_job_mode mode = BUS_RELOAD_OR_RESTART;
                        struct unit_status us = {0};
                        char **results = NULL;
                        if (bus_unit_status(b, "nginx.service", &us) >= 0 && us.active_state &&
                            streq(us.active_state, "active"))
                                (void)bus_run_jobs(b, ngx, &mode, 30 * 1000000ULL, &results);
                        unit_status_done(&us);
                        strv_free(results);
                }
                bus_close(b);
        }

        /* The state lists what is left, not what was there: otherwise "cache" would go on
         * calling the removed binaries installed, and "cache prune" would keep them. */
        if (kept || failed) {
                state_retain(st, stays);
                r = state_save(&t, state_dir, st);
                if (r < 0) {
                        failed++;
                        log_error_errno(r, "Failed to update the state in %s: %m", state_dir);
                }
        }

        r = failed ? -EIO : 0;
summary:
        if (arg_output == OUTPUT_JSON) {
                struct json_event e;
                json_begin(&e, "summary");
                json_str(&e, "verb", "reset");
                json_int(&e, "changed", (long long)removed);
                json_int(&e, "unchanged", (long long)kept);
                json_int(&e, "failed", (long long)failed);
                json_int(&e, "duration_ms", (now_usec() - times.start_usec) / 1000);
                json_end(&e);
        } else
                printf("reset: %zu removed, %zu kept, %zu failed\n", removed, kept, failed);
out:
        state_free(st);
        target_close(&t);
        model_free(m);
        return r < 0 ? EXIT_RUN_FAILED : EXIT_OK;
}

const struct command cmd_reset_entry = {
    .name = "reset",
    .min_args = 0,
    .max_args = 0,
    .flags = CMD_NEEDS_CONFIG | CMD_LOCKS,
    .usage = "reset",
    .summary = "stop our units and remove exactly what kubestrap installed",
    .exec = cmd_reset,
};
