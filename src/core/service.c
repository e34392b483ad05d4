/* Bringing the control plane up after the files are in place: reload and enable through
 * systemd, start what is not running, restart only what changed, watch for crash loops, wait
 * for health, and explain every failure with the unit's state and journal. */
#include "service.h"

#include <errno.h>
#include <signal.h>
#include <stdio.h>
#include <string.h>

#include "bus.h"
#include "health.h"
#include "journal.h"
#include "log.h"
#include "proc.h"
#include "rbac.h"
#include "render.h"
#include "util.h"

const char *service_action_to_string(enum service_action a)
{
        switch (a) {
        case SERVICE_STARTED:
                return "started";
        case SERVICE_RESTARTED:
                return "restarted";
        case SERVICE_UNCHANGED:
                break;
        }
        return "unchanged";
}

char *service_diagnose(const char *unit)
{
        struct bus *b = NULL;
        struct unit_status st = {0};
        struct buf out = {0};
        if (bus_open(&b) >= 0 && bus_unit_status(b, unit, &st) >= 0) {
                /* ExecMainStatus is the current main process's: once Restart= has started a
                 * new one, it no longer tells how the last one ended (the journal does). */
                _cleanup_free_ char *main = NULL;
                if (st.main_pid)
                        asprintf_safe(&main, "main process running (pid %u)", st.main_pid);
                else if (st.exec_main_code == CLD_KILLED || st.exec_main_code == CLD_DUMPED)
                        asprintf_safe(&main, "main process killed by signal %d",
                                      st.exec_main_status);
                else if (st.exec_main_code == CLD_EXITED)
                        asprintf_safe(&main, "main process exited with status %d",
                                      st.exec_main_status);
                buf_printf(&out, "\n  %s: %s/%s, result %s, %s, restarted %u times", unit,
                           st.active_state ? st.active_state : "?",
                           st.sub_state ? st.sub_state : "?", st.result ? st.result : "?",
                           main ? main : "main process not started", st.n_restarts);
        }
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
        if (unit)
                log_note_where(msg, &(struct err_where){.unit = unit});
        free(msg);
        return r;
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

void service_changes(const struct plan *p, struct service_unit *u, size_t n, bool *ret_reload)
{
        bool reload = false;
        for (size_t k = 0; k < n; k++) {
                u[k].changed = false;
                for (size_t i = 0; i < p->n_items; i++) {
                        const struct item *it = &p->items[i];
                        if (it->component != u[k].component)
                                continue;
                        bool changed = it->action != ACTION_NONE;
                        if (it->role == ROLE_UNIT) {
                                reload = reload || changed;
                                changed =
                                    changed || (it->content && inputs_changed(p, it->content));
                        } else if (it->role == ROLE_ENABLE_LINK)
                                changed = false; /* enabling is not a reason to restart */
                        u[k].changed = u[k].changed || changed;
                }
        }
        *ret_reload = reload;
}

void service_decide(struct service_unit *u, size_t n)
{
        for (size_t k = 0; k < n; k++) {
                u[k].queue = true;
                if (!u[k].running) {
                        u[k].mode = BUS_START;
                        u[k].action = SERVICE_STARTED;
                } else if (u[k].changed) {
                        /* nginx re-reads its sites on reload; kube-* read flags only at start */
                        u[k].mode = u[k].component->restart == RESTART_RELOAD
                                        ? BUS_RELOAD_OR_RESTART
                                        : BUS_RESTART;
                        u[k].action = SERVICE_RESTARTED;
                } else {
                        u[k].queue = false;
                        u[k].action = SERVICE_UNCHANGED;
                }
        }
}

static char *join_words(char *const *l)
{
        struct buf b = {0};
        for (size_t i = 0; l && l[i]; i++)
                if (buf_printf(&b, "%s%s", i ? " " : "", l[i]) < 0) {
                        buf_done(&b);
                        return NULL;
                }
        return buf_steal(&b);
}

/* A server that kubestrap does not install is checked before it is asked to (re)load. */
static int check_config(const struct component *c, char **ret_error)
{
        if (!c->check_config)
                return 0;
        _cleanup_free_ char *cmd = join_words((char *const *)c->check_config);
        _cleanup_free_ char *out = NULL;
        int r = proc_run((char **)c->check_config, &out);
        if (r == -ENOENT) {
                asprintf_safe(ret_error, "%s is not installed; %s: install it (%s)", c->package,
                              c->purpose, c->install_hint);
                return -ENOENT;
        }
        if (r != 0) {
                asprintf_safe(ret_error, "%s rejects its configuration (%s):\n%s", c->name,
                              cmd ? cmd : c->check_config[0], out ? out : "");
                if (*ret_error)
                        log_note_where(*ret_error, &(struct err_where){.unit = c->unit});
                return -EINVAL;
        }
        return 0;
}

static const char *bus_error(struct bus *b, int r)
{
        return bus_last_error(b) ? bus_last_error(b) : strerror(-r);
}

unsigned service_wave(const struct component *c)
{
        unsigned wave = 0;
        /* the table has no cycles (test-component checks), so this ends */
        for (const char *const *a = c ? c->after : NULL; a && *a; a++) {
                unsigned d = service_wave(component_find(*a)) + 1;
                if (d > wave)
                        wave = d;
        }
        return wave;
}

/* Stable, so each component's probes keep their table order: a wave's probes are a prefix. */
static void sort_probes_by_wave(struct probe *p, size_t n)
{
        for (size_t i = 1; i < n; i++)
                for (size_t j = i;
                     j > 0 && service_wave(p[j - 1].component) > service_wave(p[j].component);
                     j--) {
                        struct probe t = p[j];
                        p[j] = p[j - 1];
                        p[j - 1] = t;
                }
}

/* Restart counters from now on, and the main PIDs as they are. */
static void watch_restarts(struct crash_watch *w, struct service_report *rep)
{
        for (size_t k = 0; w->units[k]; k++) {
                struct unit_status st = {0};
                if (bus_unit_status(w->b, w->units[k], &st) >= 0) {
                        w->restarts[k] = st.n_restarts;
                        for (size_t j = 0; j < rep->n_units; j++)
                                if (streq(rep->units[j].component->unit, w->units[k]))
                                        rep->units[j].main_pid = st.main_pid;
                }
                unit_status_done(&st);
        }
}

/* Waits until every probe answers, or says which unit crashed or which endpoint did not. */
static int wait_healthy(struct probe *probes, size_t n, const struct service_options *o,
                        struct crash_watch *w, char **ret_error)
{
        int r = health_wait(probes, n, o->health_timeout_usec, crash_check, w);
        if (r == -ECHILD)
                return fail(ret_error, r, w->crashed,
                            "%s keeps crashing (Restart=on-failure restarted it)", w->crashed);
        for (size_t i = 0; r < 0 && i < n; i++)
                if (!probes[i].healthy)
                        return fail(ret_error, r, probes[i].unit,
                                    "%s did not become healthy within %llu s: %s %s",
                                    probes[i].name,
                                    (unsigned long long)(o->health_timeout_usec / 1000000),
                                    probes[i].url, probes[i].detail ? probes[i].detail : "");
        return r;
}

int service_converge(const struct model *m, const struct plan *p, const struct service_options *o,
                     struct service_report *rep, char **ret_error)
{
        *rep = (struct service_report){.start_usec = now_usec()};
        /* declared before the first "goto finish": their cleanup runs there */
        _cleanup_strv_free_ char **units = NULL;
        _cleanup_free_ struct service_unit *u = NULL;
        _cleanup_free_ const struct component **order = NULL;
        _cleanup_free_ enum bus_job_mode *modes = NULL;
        _cleanup_free_ uint32_t *restarts = NULL;
        struct probe *probes = NULL;
        size_t n_probes = 0, n = n_components;
        struct bus *b = NULL;
        int r = bus_open(&b);
        if (r < 0) {
                asprintf_safe(ret_error,
                              "cannot reach systemd over D-Bus (%s); use --root to "
                              "install files only",
                              strerror(-r));
                return r;
        }
        u = calloc(n, sizeof(*u));
        order = calloc(n, sizeof(*order));
        modes = calloc(n, sizeof(*modes));
        restarts = calloc(n, sizeof(*restarts));
        if (!u || !order || !modes || !restarts) {
                r = -ENOMEM;
                goto finish;
        }
        r = component_start_order(order, n);
        if (r < 0)
                goto finish;
        /* only what runs on this host's role (a load balancer: haproxy) */
        size_t kept = 0;
        for (size_t k = 0; k < n; k++)
                if (model_runs(m, order[k]))
                        order[kept++] = order[k];
        n = kept;
        for (size_t k = 0; k < n; k++) {
                u[k].component = order[k];
                r = strv_extend(&units, order[k]->unit);
                if (r < 0)
                        goto finish;
                if (!order[k]->renders_unit)
                        continue;
                r = ARRAY_RESERVE(rep->units, rep->cap_units, rep->n_units + 1);
                if (r < 0)
                        goto finish;
                rep->units[rep->n_units++] = (struct service_result){
                    .component = order[k], .unit = order[k]->name, .healthy_after_usec = -1};
        }

        /* Which units need what, decided before anything is asked of systemd. */
        bool reload = false;
        service_changes(p, u, n, &reload);
        if (reload) {
                r = bus_reload(b);
                if (r < 0) {
                        r = fail(ret_error, r, NULL, "systemd reload failed: %s", bus_error(b, r));
                        goto finish;
                }
        }
        for (size_t k = 0; k < n; k++) {
                r = check_config(u[k].component, ret_error);
                if (r < 0)
                        goto finish;
        }
        bool enabled_changed = false;
        r = bus_enable_units(b, units, &enabled_changed);
        if (r < 0) {
                _cleanup_free_ char *list = join_words(units);
                r = fail(ret_error, r, NULL, "enabling %s failed: %s", list ? list : units[0],
                         bus_error(b, r));
                goto finish;
        }
        if (enabled_changed)
                (void)strv_extend(&rep->notes, "enabled the units (WantedBy=multi-user.target)");

        /* Start what is not running, restart what changed, leave the rest alone. */
        for (size_t k = 0; k < n; k++) {
                struct unit_status st = {0};
                r = bus_unit_status(b, units[k], &st);
                if (r < 0) {
                        r = fail(ret_error, r, NULL, "%s: %s", units[k], bus_error(b, r));
                        log_note_where(*ret_error, &(struct err_where){.unit = units[k]});
                        goto finish;
                }
                u[k].running = is_running(&st);
                unit_status_done(&st);
        }
        service_decide(u, n);
        for (size_t k = 0; k < n; k++) {
                for (size_t j = 0; j < rep->n_units; j++)
                        if (rep->units[j].component == u[k].component)
                                rep->units[j].action = u[k].action;
                if (!u[k].queue || u[k].component->renders_unit)
                        continue;
                _cleanup_free_ char *note = NULL;
                if (asprintf_safe(&note, "%s %s", u[k].mode == BUS_START ? "started" : "reloaded",
                                  u[k].component->name) >= 0)
                        (void)strv_push(&rep->notes, TAKE_PTR(note));
        }
        r = health_probes_for(m, NULL, &probes, &n_probes);
        if (r < 0)
                goto finish;
        sort_probes_by_wave(probes, n_probes);
        struct crash_watch w = {.b = b, .units = units, .restarts = restarts};

        /* The upgrade order of the version-skew policy: kube-apiserver first, then what runs
         * against it. Units go in waves (a unit's wave is one past those it comes after); when
         * a later wave has jobs, this wave's health is awaited before they run, so the
         * controller-manager and scheduler restart against an apiserver that answers. */
        unsigned last = 0;
        for (size_t k = 0; k < n; k++)
                if (service_wave(u[k].component) > last)
                        last = service_wave(u[k].component);
        for (unsigned wave = 0; wave <= last; wave++) {
                _cleanup_strv_free_ char **todo = NULL, **results = NULL;
                size_t n_todo = 0;
                bool later = false;
                for (size_t k = 0; k < n; k++) {
                        unsigned uw = service_wave(u[k].component);
                        later = later || (u[k].queue && uw > wave);
                        if (!u[k].queue || uw != wave)
                                continue;
                        r = strv_extend(&todo, units[k]);
                        if (r < 0)
                                goto finish;
                        modes[n_todo++] = u[k].mode;
                }
                if (n_todo == 0)
                        continue;
                r = bus_run_jobs(b, todo, modes, o->health_timeout_usec, &results);
                if (r < 0) {
                        r = fail(ret_error, r, NULL, "systemd jobs failed: %s", bus_error(b, r));
                        goto finish;
                }
                for (size_t i = 0; i < n_todo; i++)
                        if (!streq(results[i], "done")) {
                                r = fail(ret_error, -EIO, todo[i], "%s: start job %s", todo[i],
                                         results[i]);
                                goto finish;
                        }
                if (!later)
                        continue;
                watch_restarts(&w, rep);
                size_t n_gate = 0;
                while (n_gate < n_probes && service_wave(probes[n_gate].component) <= wave)
                        n_gate++;
                r = wait_healthy(probes, n_gate, o, &w, ret_error);
                if (r < 0)
                        goto finish;
        }
        rep->jobs_usec = now_usec() - rep->start_usec;

        /* A unit restarted by Restart=on-failure looks "active" half the time: watch the
         * restart counter from here on. */
        watch_restarts(&w, rep);
        long long hstart = now_usec();
        r = wait_healthy(probes, n_probes, o, &w, ret_error);
        rep->healthy_usec = now_usec() - hstart;
        /* A unit is healthy when the last of its probes is. */
        for (size_t j = 0; j < rep->n_units; j++) {
                struct service_result *res = &rep->units[j];
                bool all = true, any = false;
                long long after = -1;
                for (size_t i = 0; i < n_probes; i++) {
                        if (probes[i].component != res->component)
                                continue;
                        any = true;
                        all = all && probes[i].healthy;
                        if (probes[i].healthy && probes[i].healthy_after_usec > after)
                                after = probes[i].healthy_after_usec;
                }
                res->healthy_after_usec = any && all ? after : -1;
        }
        if (r < 0)
                goto finish;
        /* Units are healthy; once the main PIDs are final, record them. */
        for (size_t j = 0; j < rep->n_units; j++) {
                struct unit_status st = {0};
                if (bus_unit_status(b, rep->units[j].component->unit, &st) >= 0)
                        rep->units[j].main_pid = st.main_pid;
                unit_status_done(&st);
        }

        /* the cluster-level step goes through an API server of this host; etcd alone
         * (--etcd-bootstrap) has none to take the objects */
        r = m->role == NODE_CONTROLLER && !m->only_etcd
                ? rbac_ensure(m, &rep->rbac_applied, ret_error)
                : 0;
        if (r < 0)
                goto finish;
finish:
        health_probes_free(probes, n_probes);
        bus_close(b);
        return r;
}

int service_stop_disable(char **units, char **ret_error)
{
        struct bus *b = NULL;
        char **results = NULL;
        int r = bus_open(&b);
        if (r < 0) {
                asprintf_safe(ret_error,
                              "cannot reach systemd to stop %s: %s (use --root to remove files "
                              "only)",
                              units[0], strerror(-r));
                return r;
        }
        /* bus_run_jobs reads one mode per unit: as many as there are units. */
        size_t n = strv_length(units);
        _cleanup_free_ enum bus_job_mode *modes = calloc(n, sizeof(*modes));
        if (!modes) {
                bus_close(b);
                return -ENOMEM;
        }
        for (size_t i = 0; i < n; i++)
                modes[i] = BUS_STOP;
        r = bus_run_jobs(b, units, modes, 90 * 1000000ULL, &results);
        strv_free(results);
        if (r >= 0)
                r = bus_disable_units(b, units);
        if (r < 0)
                asprintf_safe(ret_error, "stopping or disabling %s failed: %s", units[0],
                              bus_error(b, r));
        bus_close(b);
        return r;
}

void service_reload_after_removal(char **reload_units)
{
        struct bus *b = NULL;
        if (bus_open(&b) < 0)
                return;
        (void)bus_reload(b);
        for (char **u = reload_units; u && *u; u++) {
                char *one[] = {*u, NULL};
                enum bus_job_mode mode = BUS_RELOAD_OR_RESTART;
                struct unit_status us = {0};
                char **results = NULL;
                if (bus_unit_status(b, *u, &us) >= 0 && us.active_state &&
                    streq(us.active_state, "active"))
                        (void)bus_run_jobs(b, one, &mode, 30 * 1000000ULL, &results);
                unit_status_done(&us);
                strv_free(results);
        }
        bus_close(b);
}

void service_report_done(struct service_report *rep)
{
        rep->notes = strv_free(rep->notes);
        free(rep->units);
        rep->units = NULL;
        rep->n_units = rep->cap_units = 0;
}
