/* Bringing the control plane up after the files are in place: reload and enable through
 * systemd, start what is not running, restart only what changed, watch for crash loops, wait
 * for health, and explain every failure with the unit's state and journal. */
#include "service.h"

#include <errno.h>
#include <stdio.h>
#include <string.h>

#include "bus.h"
#include "health.h"
#include "journal.h"
#include "proc.h"
#include "rbac.h"
#include "render.h"
#include "util.h"

#define NGINX_UNIT "nginx.service"

const char *service_action_to_string(enum service_action a)
{
        switch (a) {
        case SERVICE_STARTED:
                return "started";
        case SERVICE_RESTARTED:
                return "restarted";
        case SERVICE_RELOADED:
                return "reloaded";
        default:
                return "unchanged";
        }
}

char *service_diagnose(const char *unit)
{
        struct bus *b = NULL;
        struct unit_status st = {0};
        struct buf out = {0};
        if (bus_open(&b) >= 0 && bus_unit_status(b, unit, &st) >= 0)
                buf_printf(&out,
                           "\n  %s: %s/%s, result %s, main process exited with status %d, "
                           "restarted %u times",
                           unit, st.active_state ? st.active_state : "?",
                           st.sub_state ? st.sub_state : "?", st.result ? st.result : "?",
                           st.exec_main_status, st.n_restarts);
        unit_status_done(&st);
        bus_close(b);
        char **lines = NULL;
        if (journal_last_lines(NULL, unit, 10, &lines) >= 0 && lines && lines[0]) {
                buf_printf(&out, "\n  last journal lines of %s:", unit);
                for (char **l = lines; *l; l++)
                        buf_printf(&out, "\n    %s", *l);
        }
        strv_free(lines);
        return buf_steal(&out);
}

static int fail(char **ret_error, int r, const char *unit, const char *fmt, ...) _printf_(4, 5);
static int fail(char **ret_error, int r, const char *unit, const char *fmt, ...)
{
        va_list ap;
        char *msg = NULL;
        va_start(ap, fmt);
        if (vasprintf(&msg, fmt, ap) < 0)
                msg = NULL;
        va_end(ap);
        _cleanup_free_ char *diag = unit ? service_diagnose(unit) : NULL;
        asprintf_safe(ret_error, "%s%s", msg ? msg : "?", diag ? diag : "");
        free(msg);
        return r;
}

static bool item_changed(const struct plan *p, const char *path)
{
        for (size_t i = 0; i < p->n_items; i++)
                if (p->items[i].action != ACTION_NONE && streq(p->items[i].path, path))
                        return true;
        return false;
}

static const struct item *item_find(const struct plan *p, const char *path)
{
        for (size_t i = 0; i < p->n_items; i++)
                if (streq(p->items[i].path, path))
                        return &p->items[i];
        return NULL;
}

/* A unit's inputs are the files its unit text names (binary, certificates, kubeconfigs,
 * config files) and, one level down, the files those config files name (the scheduler's
 * kubeconfig in kube-scheduler.yaml). A flag added by the operator is covered the same way. */
static bool inputs_changed(const struct plan *p, const char *unit_text)
{
        for (size_t i = 0; i < p->n_items; i++) {
                const struct item *it = &p->items[i];
                if (it->kind == ITEM_DIR || it->kind == ITEM_SYMLINK ||
                    !strstr(unit_text, it->path))
                        continue;
                if (it->action != ACTION_NONE)
                        return true;
                if (it->kind == ITEM_FILE && it->content)
                        for (size_t j = 0; j < p->n_items; j++)
                                if (p->items[j].action != ACTION_NONE &&
                                    p->items[j].kind != ITEM_DIR &&
                                    strstr(it->content, p->items[j].path))
                                        return true;
        }
        return false;
}

static bool is_running(const struct unit_status *s)
{
        return s->active_state &&
               (streq(s->active_state, "active") || streq(s->active_state, "activating") ||
                streq(s->active_state, "reloading"));
}

struct crash_watch {
        struct bus *b;
        char **units;
        uint32_t *restarts;
        const char *crashed;
};

/* Between health probes: a unit whose restart count grows is crash-looping, and waiting out
 * the timeout would only hide why. */
static int crash_check(void *userdata)
{
        struct crash_watch *w = userdata;
        for (size_t i = 0; w->units[i]; i++) {
                struct unit_status st = {0};
                if (bus_unit_status(w->b, w->units[i], &st) < 0)
                        continue;
                bool bad = st.n_restarts > w->restarts[i] ||
                           (st.active_state && streq(st.active_state, "failed"));
                unit_status_done(&st);
                if (bad) {
                        w->crashed = w->units[i];
                        return -ECHILD;
                }
        }
        return 0;
}

static int nginx_check_config(char **ret_error)
{
        char *argv[] = {"nginx", "-t", NULL};
        _cleanup_free_ char *out = NULL;
        int r = proc_run(argv, &out);
        if (r == -ENOENT) {
                asprintf_safe(ret_error, "nginx is not installed; it answers the load balancer's "
                                         "health check: install it (apt-get install nginx-light)");
                return -ENOENT;
        }
        if (r != 0) {
                asprintf_safe(ret_error, "nginx rejects its configuration (nginx -t):\n%s",
                              out ? out : "");
                return -EINVAL;
        }
        return 0;
}

int service_converge(const struct model *m, const struct plan *p, const struct service_options *o,
                     struct service_report *rep, char **ret_error)
{
        *rep = (struct service_report){.start_usec = now_usec()};
        /* declared before the first "goto finish": their cleanup runs there */
        _cleanup_strv_free_ char **todo = NULL, **watch = NULL;
        struct bus *b = NULL;
        char **units = NULL, **results = NULL;
        _cleanup_free_ enum bus_job_mode *modes = NULL;
        _cleanup_free_ uint32_t *restarts = NULL;
        const char *unit_dir = model_get(m, "paths.unit-dir");
        bool reload = false;
        int r = bus_open(&b);
        if (r < 0) {
                asprintf_safe(ret_error,
                              "cannot reach systemd over D-Bus (%s); use --root to "
                              "install files only",
                              strerror(-r));
                return r;
        }

        /* Which units need what, decided before anything is asked of systemd. */
        for (int c = 0; c < _COMPONENT_MAX; c++) {
                _cleanup_free_ char *unit = strjoin3(component_names[c], ".service", NULL);
                _cleanup_free_ char *path = unit ? path_join(unit_dir, unit) : NULL;
                if (!path) {
                        r = -ENOMEM;
                        goto finish;
                }
                const struct item *it = item_find(p, path);
                reload = reload || item_changed(p, path);
                r = ARRAY_RESERVE(rep->units, rep->cap_units, rep->n_units + 1);
                if (r < 0)
                        goto finish;
                struct service_result *res = &rep->units[rep->n_units++];
                *res =
                    (struct service_result){.unit = component_names[c], .healthy_after_usec = -1};
                if (item_changed(p, path) || (it && it->content && inputs_changed(p, it->content)))
                        res->action = SERVICE_RESTARTED; /* or STARTED if it is not running */
        }
        if (reload) {
                r = bus_reload(b);
                if (r < 0) {
                        r = fail(ret_error, r, NULL, "systemd reload failed: %s",
                                 bus_last_error(b) ? bus_last_error(b) : strerror(-r));
                        goto finish;
                }
        }
        for (size_t i = 0; i < rep->n_units; i++) {
                char *u = strjoin3(rep->units[i].unit, ".service", NULL);
                if (!u || strv_push(&units, u) < 0) {
                        r = -ENOMEM;
                        goto finish;
                }
        }
        bool nginx_changed = false;
        for (size_t i = 0; i < p->n_items; i++)
                nginx_changed = nginx_changed || (p->items[i].action != ACTION_NONE &&
                                                  streq(p->items[i].what, "nginx site"));
        r = nginx_check_config(ret_error);
        if (r < 0)
                goto finish;
        r = strv_extend(&units, NGINX_UNIT);
        if (r < 0)
                goto finish;
        bool enabled_changed = false;
        r = bus_enable_units(b, units, &enabled_changed);
        if (r < 0) {
                r = fail(ret_error, r, NULL, "enabling %s %s %s failed: %s", units[0], units[1],
                         units[2], bus_last_error(b) ? bus_last_error(b) : strerror(-r));
                goto finish;
        }
        if (enabled_changed)
                (void)strv_extend(&rep->notes, "enabled the units (WantedBy=multi-user.target)");

        /* Start what is not running, restart what changed, leave the rest alone. */
        size_t n_todo = 0, n_units = strv_length(units);
        modes = calloc(n_units, sizeof(*modes));
        restarts = calloc(n_units, sizeof(*restarts));
        if (!modes || !restarts) {
                r = -ENOMEM;
                goto finish;
        }
        for (size_t i = 0; units[i]; i++) {
                struct unit_status st = {0};
                r = bus_unit_status(b, units[i], &st);
                if (r < 0) {
                        r = fail(ret_error, r, NULL, "%s: %s", units[i],
                                 bus_last_error(b) ? bus_last_error(b) : strerror(-r));
                        goto finish;
                }
                bool running = is_running(&st);
                bool is_nginx = streq(units[i], NGINX_UNIT);
                enum bus_job_mode mode;
                bool queue = true;
                if (!running)
                        mode = BUS_START;
                else if (is_nginx && nginx_changed)
                        mode = BUS_RELOAD_OR_RESTART; /* nginx re-reads its sites on reload */
                else if (!is_nginx && rep->units[i].action == SERVICE_RESTARTED)
                        mode = BUS_RESTART;
                else
                        queue = false;
                unit_status_done(&st);
                if (!is_nginx)
                        rep->units[i].action = !queue              ? SERVICE_UNCHANGED
                                               : mode == BUS_START ? SERVICE_STARTED
                                                                   : SERVICE_RESTARTED;
                if (!queue)
                        continue;
                if (is_nginx)
                        (void)strv_extend(&rep->notes,
                                          mode == BUS_START ? "started nginx" : "reloaded nginx");
                r = strv_extend(&todo, units[i]);
                if (r < 0)
                        goto finish;
                modes[n_todo++] = mode;
        }
        if (n_todo > 0) {
                r = bus_run_jobs(b, todo, modes, o->health_timeout_usec, &results);
                if (r < 0) {
                        r = fail(ret_error, r, NULL, "systemd jobs failed: %s",
                                 bus_last_error(b) ? bus_last_error(b) : strerror(-r));
                        goto finish;
                }
                for (size_t i = 0; i < n_todo; i++)
                        if (!streq(results[i], "done")) {
                                r = fail(ret_error, -EIO, todo[i], "%s: start job %s", todo[i],
                                         results[i]);
                                goto finish;
                        }
        }
        rep->jobs_usec = now_usec() - rep->start_usec;

        /* A unit restarted by Restart=on-failure looks "active" half the time: watch the
         * restart counter from here on. */
        for (size_t i = 0; units[i]; i++) {
                struct unit_status st = {0};
                if (bus_unit_status(b, units[i], &st) >= 0) {
                        restarts[i] = st.n_restarts;
                        if (i < rep->n_units)
                                rep->units[i].main_pid = st.main_pid;
                }
                unit_status_done(&st);
                r = strv_extend(&watch, units[i]);
                if (r < 0)
                        goto finish;
        }
        struct probe *probes = NULL;
        size_t n_probes = 0;
        r = health_probes_for(m, NULL, &probes, &n_probes);
        if (r < 0)
                goto finish;
        struct crash_watch w = {.b = b, .units = watch, .restarts = restarts};
        long long hstart = now_usec();
        r = health_wait(probes, n_probes, o->health_timeout_usec, crash_check, &w);
        rep->healthy_usec = now_usec() - hstart;
        for (size_t i = 0; i < n_probes && i < rep->n_units; i++)
                rep->units[i].healthy_after_usec =
                    probes[i].healthy ? probes[i].healthy_after_usec : -1;
        if (r == -ECHILD) {
                r = fail(ret_error, r, w.crashed,
                         "%s keeps crashing (Restart=on-failure restarted it)", w.crashed);
        } else if (r < 0) {
                for (size_t i = 0; i < n_probes; i++)
                        if (!probes[i].healthy) {
                                r = fail(ret_error, r, probes[i].unit,
                                         "%s did not become healthy within %llu s: %s %s",
                                         probes[i].name,
                                         (unsigned long long)(o->health_timeout_usec / 1000000),
                                         probes[i].url, probes[i].detail ? probes[i].detail : "");
                                break;
                        }
        }
        /* Units are healthy; once the main PIDs are final, record them. */
        for (size_t i = 0; r >= 0 && i < rep->n_units; i++) {
                struct unit_status st = {0};
                if (bus_unit_status(b, watch[i], &st) >= 0)
                        rep->units[i].main_pid = st.main_pid;
                unit_status_done(&st);
        }
        health_probes_free(probes, n_probes);
        if (r < 0)
                goto finish;

        if (!o->skip_rbac) {
                r = rbac_ensure(m, &rep->rbac_applied, ret_error);
                if (r < 0)
                        goto finish;
        }
        r = 0;
finish:
        rep->total_usec = now_usec() - rep->start_usec;
        strv_free(units);
        strv_free(results);
        bus_close(b);
        return r;
}

void service_report_done(struct service_report *rep)
{
        rep->notes = strv_free(rep->notes);
        free(rep->units);
        rep->units = NULL;
        rep->n_units = rep->cap_units = 0;
}
