/* Talking to the system manager (systemd) over D-Bus: reload, enable, start and watch units. */
#include "bus.h"

#include <errno.h>
#include <limits.h>
#include <stddef.h>
#include <stdlib.h>
#include <string.h>
#include <systemd/sd-bus.h>
#include <unistd.h>

#include "util.h"

#define SD_DESTINATION "org.freedesktop.systemd1"
#define SD_PATH        "/org/freedesktop/systemd1"
#define SD_MANAGER     "org.freedesktop.systemd1.Manager"
#define SD_UNIT        "org.freedesktop.systemd1.Unit"
#define SD_SERVICE     "org.freedesktop.systemd1.Service"

#define SD_PRIVATE_ADDRESS "unix:path=/run/systemd/private"

#define SETTLE_POLL_USEC 100000ULL

struct bus {
        sd_bus *bus;
        char *error; /* message of the last failed call's D-Bus error */
        bool subscribed;
        bool direct; /* systemd's private socket, no bus daemon in between */
};

/* now + usec on the monotonic clock, saturating so that "forever" stays in the future. */
static long long deadline_after(uint64_t usec)
{
        long long now = now_usec();
        if (usec > (uint64_t)(LLONG_MAX - now))
                return LLONG_MAX;
        return now + (long long)usec;
}

static void bus_clear_error(struct bus *b)
{
        free(b->error);
        b->error = NULL;
}

/* Keeps the manager's message (it names the unit, which errno cannot) and passes r on. */
static int bus_failed(struct bus *b, const sd_bus_error *e, int r)
{
        bus_clear_error(b);
        /* Out of memory here only loses the message, not the error itself. */
        if (e && sd_bus_error_is_set(e) && e->message)
                b->error = strdup(e->message);
        return r;
}

static int bus_open_private(sd_bus **ret)
{
        _cleanup_(sd_bus_unrefp) sd_bus *sb = NULL;
        int r = sd_bus_new(&sb);
        if (r < 0)
                return r;
        r = sd_bus_set_address(sb, SD_PRIVATE_ADDRESS);
        if (r < 0)
                return r;
        r = sd_bus_start(sb);
        if (r < 0)
                return r;
        *ret = TAKE_PTR(sb);
        return 0;
}

int bus_open(struct bus **ret)
{
        _cleanup_(sd_bus_unrefp) sd_bus *sb = NULL;
        bool direct = false;
        int r = sd_bus_open_system(&sb);
        /* Minimal nodes often run no D-Bus daemon; root can still reach systemd on its private
         * socket, as systemctl does. Not when the caller named a bus: then that one is meant. */
        if (r < 0 && !getenv("DBUS_SYSTEM_BUS_ADDRESS") && geteuid() == 0) {
                int r2 = bus_open_private(&sb);
                if (r2 >= 0) {
                        r = 0;
                        direct = true;
                }
        }
        if (r < 0)
                return r;
        struct bus *b = calloc(1, sizeof(*b));
        if (!b)
                return -ENOMEM;
        b->bus = TAKE_PTR(sb);
        b->direct = direct;
        *ret = b;
        return 0;
}

struct bus *bus_close(struct bus *b)
{
        if (!b)
                return NULL;
        /* flush_close_unref: nothing we sent may be lost just because we exit right after. */
        sd_bus_flush_close_unref(b->bus);
        free(b->error);
        free(b);
        return NULL;
}

const char *bus_last_error(struct bus *b)
{
        return b ? b->error : NULL;
}

int bus_reload(struct bus *b)
{
        _cleanup_(sd_bus_error_free) sd_bus_error e = SD_BUS_ERROR_NULL;
        bus_clear_error(b);
        /* The manager answers only after the reload, so the reply is the "done" we wait for. */
        int r = sd_bus_call_method(b->bus, SD_DESTINATION, SD_PATH, SD_MANAGER, "Reload", &e, NULL,
                                   NULL);
        if (r < 0)
                return bus_failed(b, &e, r);
        return 0;
}

int bus_enable_units(struct bus *b, char **units, bool *ret_changed)
{
        _cleanup_(sd_bus_message_unrefp) sd_bus_message *m = NULL;
        _cleanup_(sd_bus_message_unrefp) sd_bus_message *reply = NULL;
        _cleanup_(sd_bus_error_free) sd_bus_error e = SD_BUS_ERROR_NULL;
        int r;

        bus_clear_error(b);
        r = sd_bus_message_new_method_call(b->bus, &m, SD_DESTINATION, SD_PATH, SD_MANAGER,
                                           "EnableUnitFiles");
        if (r < 0)
                return r;
        r = sd_bus_message_append_strv(m, units);
        if (r < 0)
                return r;
        r = sd_bus_message_append(m, "bb", 0, 0); /* runtime, force */
        if (r < 0)
                return r;
        r = sd_bus_call(b->bus, m, 0, &e, &reply);
        if (r < 0)
                return bus_failed(b, &e, r);

        int carries_install_info;
        r = sd_bus_message_read(reply, "b", &carries_install_info);
        if (r < 0)
                return r;
        r = sd_bus_message_enter_container(reply, 'a', "(sss)");
        if (r < 0)
                return r;
        size_t n_changes = 0;
        for (;;) {
                const char *type, *path, *source;
                r = sd_bus_message_read(reply, "(sss)", &type, &path, &source);
                if (r < 0)
                        return r;
                if (r == 0)
                        break;
                n_changes++;
        }
        r = sd_bus_message_exit_container(reply);
        if (r < 0)
                return r;
        *ret_changed = n_changes > 0;
        return 0;
}

int bus_disable_units(struct bus *b, char **units)
{
        _cleanup_(sd_bus_message_unrefp) sd_bus_message *m = NULL;
        _cleanup_(sd_bus_error_free) sd_bus_error e = SD_BUS_ERROR_NULL;
        bus_clear_error(b);
        int r = sd_bus_message_new_method_call(b->bus, &m, SD_DESTINATION, SD_PATH, SD_MANAGER,
                                               "DisableUnitFiles");
        if (r < 0)
                return r;
        r = sd_bus_message_append_strv(m, units);
        if (r < 0)
                return r;
        r = sd_bus_message_append(m, "b", 0); /* runtime */
        if (r < 0)
                return r;
        r = sd_bus_call(b->bus, m, 0, &e, NULL);
        return r < 0 ? bus_failed(b, &e, r) : 0;
}

static int bus_subscribe(struct bus *b)
{
        _cleanup_(sd_bus_error_free) sd_bus_error e = SD_BUS_ERROR_NULL;
        if (b->subscribed)
                return 0;
        /* Without a subscriber the manager does not emit JobRemoved at all. */
        int r = sd_bus_call_method(b->bus, SD_DESTINATION, SD_PATH, SD_MANAGER, "Subscribe", &e,
                                   NULL, NULL);
        if (r < 0 && !sd_bus_error_has_name(&e, "org.freedesktop.systemd1.AlreadySubscribed"))
                return bus_failed(b, &e, r);
        b->subscribed = true;
        return 0;
}

struct job_wait {
        size_t n;
        char **paths;   /* job object path per unit */
        char **results; /* JobRemoved result per unit, NULL while running */
        size_t n_left;
        int error;
};

static void job_wait_done(struct job_wait *w)
{
        for (size_t i = 0; i < w->n; i++) {
                if (w->paths)
                        free(w->paths[i]);
                if (w->results)
                        free(w->results[i]);
        }
        free(w->paths);
        free(w->results);
}

static int on_job_removed(sd_bus_message *m, void *userdata, sd_bus_error *ret_error)
{
        struct job_wait *w = userdata;
        uint32_t id;
        const char *path, *unit, *result;
        (void)ret_error;

        /* A malformed signal is not ours to judge; our own jobs' signals still come. */
        if (sd_bus_message_read(m, "uoss", &id, &path, &unit, &result) < 0)
                return 0;
        /* Two entries naming the same unit share one job, so look at all of them. */
        for (size_t i = 0; i < w->n; i++) {
                if (!w->paths[i] || w->results[i] || !streq(w->paths[i], path))
                        continue;
                w->results[i] = strdup(result);
                if (!w->results[i]) {
                        w->error = -ENOMEM;
                        return 0;
                }
                w->n_left--;
        }
        return 0;
}

static const char *job_method(enum bus_job_mode mode)
{
        switch (mode) {
        case BUS_START:
                return "StartUnit";
        case BUS_RESTART:
                return "RestartUnit";
        case BUS_RELOAD_OR_RESTART:
                return "ReloadOrRestartUnit";
        case BUS_STOP:
                return "StopUnit";
        }
        return NULL;
}

/* A start asked for is not refused by the start rate limiter, which is there for Restart=
 * loops: a unit that crash-looped a moment ago (an apply that failed, was fixed and runs again)
 * would be "start-limit-hit" for StartLimitIntervalSec. ResetFailedUnit clears the limiter and
 * the failed state; a unit not loaded yet has none, so its error is of no interest. */
static void reset_start_limit(struct bus *b, const char *unit)
{
        _cleanup_(sd_bus_error_free) sd_bus_error e = SD_BUS_ERROR_NULL;
        (void)sd_bus_call_method(b->bus, SD_DESTINATION, SD_PATH, SD_MANAGER, "ResetFailedUnit", &e,
                                 NULL, "s", unit);
}

int bus_run_jobs(struct bus *b, char **units, const enum bus_job_mode *modes, uint64_t timeout_usec,
                 char ***ret_results)
{
        _cleanup_(sd_bus_slot_unrefp) sd_bus_slot *slot = NULL;
        _cleanup_(job_wait_done) struct job_wait w = {0};
        long long deadline = deadline_after(timeout_usec);
        int r;

        bus_clear_error(b);
        w.n = strv_length(units);
        w.paths = calloc(w.n + 1, sizeof(char *));
        w.results = calloc(w.n + 1, sizeof(char *));
        if (!w.paths || !w.results)
                return -ENOMEM;
        for (size_t i = 0; i < w.n; i++)
                if (!job_method(modes[i]))
                        return -EINVAL;

        r = bus_subscribe(b);
        if (r < 0)
                return r;
        /* The match is in place (AddMatch is synchronous) before the first job exists, so no
         * JobRemoved can slip by; signals that come while we queue the other jobs wait in the
         * connection's queue until sd_bus_process() below, when all job paths are known. */
        /* On the private socket signals carry no sender name, so only there match without one. */
        r = sd_bus_match_signal(b->bus, &slot, b->direct ? NULL : SD_DESTINATION, SD_PATH,
                                SD_MANAGER, "JobRemoved", on_job_removed, &w);
        if (r < 0)
                return r;

        for (size_t i = 0; i < w.n; i++) {
                _cleanup_(sd_bus_message_unrefp) sd_bus_message *reply = NULL;
                _cleanup_(sd_bus_error_free) sd_bus_error e = SD_BUS_ERROR_NULL;
                const char *path;
                if (modes[i] != BUS_STOP)
                        reset_start_limit(b, units[i]);
                r = sd_bus_call_method(b->bus, SD_DESTINATION, SD_PATH, SD_MANAGER,
                                       job_method(modes[i]), &e, &reply, "ss", units[i], "replace");
                if (r < 0)
                        return bus_failed(b, &e, r);
                r = sd_bus_message_read(reply, "o", &path);
                if (r < 0)
                        return r;
                w.paths[i] = strdup(path);
                if (!w.paths[i])
                        return -ENOMEM;
                w.n_left++;
        }

        while (w.n_left > 0) {
                r = sd_bus_process(b->bus, NULL);
                if (r < 0)
                        return r;
                if (w.error < 0)
                        return w.error;
                if (r > 0)
                        continue;
                long long now = now_usec();
                if (now >= deadline)
                        return -ETIMEDOUT;
                r = sd_bus_wait(b->bus, (uint64_t)(deadline - now));
                if (r < 0 && r != -EINTR)
                        return r;
        }

        *ret_results = TAKE_PTR(w.results);
        return 0;
}

/* The properties we read, each into its field of struct unit_status. */
struct unit_prop {
        const char *name;
        char type; /* D-Bus type: s, u, i or t */
        size_t offset;
};

static const struct unit_prop unit_props[] = {
    {"ActiveState", 's', offsetof(struct unit_status, active_state)},
    {"SubState", 's', offsetof(struct unit_status, sub_state)},
    {"LoadState", 's', offsetof(struct unit_status, load_state)},
    {"FragmentPath", 's', offsetof(struct unit_status, fragment_path)},
    {"ActiveEnterTimestamp", 't', offsetof(struct unit_status, active_enter_usec)},
    {"Result", 's', offsetof(struct unit_status, result)},
    {"MainPID", 'u', offsetof(struct unit_status, main_pid)},
    {"NRestarts", 'u', offsetof(struct unit_status, n_restarts)},
    {"ExecMainStatus", 'i', offsetof(struct unit_status, exec_main_status)},
    {"ExecMainCode", 'i', offsetof(struct unit_status, exec_main_code)},
    {"ExecMainStartTimestamp", 't', offsetof(struct unit_status, exec_main_start_usec)},
};

static int read_prop(sd_bus_message *m, const struct unit_prop *p, struct unit_status *s)
{
        char sig[2] = {p->type, 0};
        void *field = (char *)s + p->offset;
        int r = sd_bus_message_enter_container(m, 'v', sig);
        if (r < 0)
                return r;
        if (p->type == 's') {
                const char *v;
                r = sd_bus_message_read_basic(m, 's', &v);
                if (r < 0)
                        return r;
                char *c = strdup(v);
                if (!c)
                        return -ENOMEM;
                free(*(char **)field);
                *(char **)field = c;
        } else {
                r = sd_bus_message_read_basic(m, p->type, field);
                if (r < 0)
                        return r;
        }
        return sd_bus_message_exit_container(m);
}

/* Properties.GetAll on one interface of the unit, keeping those in unit_props. */
static int get_props(struct bus *b, const char *path, const char *iface, struct unit_status *s)
{
        _cleanup_(sd_bus_message_unrefp) sd_bus_message *reply = NULL;
        _cleanup_(sd_bus_error_free) sd_bus_error e = SD_BUS_ERROR_NULL;
        int r = sd_bus_call_method(b->bus, SD_DESTINATION, path, "org.freedesktop.DBus.Properties",
                                   "GetAll", &e, &reply, "s", iface);
        if (r < 0)
                return bus_failed(b, &e, r);
        r = sd_bus_message_enter_container(reply, 'a', "{sv}");
        if (r < 0)
                return r;
        for (;;) {
                const char *name;
                r = sd_bus_message_enter_container(reply, 'e', "sv");
                if (r < 0)
                        return r;
                if (r == 0)
                        break;
                r = sd_bus_message_read_basic(reply, 's', &name);
                if (r < 0)
                        return r;
                const struct unit_prop *p = NULL;
                for (size_t i = 0; i < ELEMENTSOF(unit_props) && !p; i++)
                        if (streq(unit_props[i].name, name))
                                p = &unit_props[i];
                r = p ? read_prop(reply, p, s) : sd_bus_message_skip(reply, "v");
                if (r < 0)
                        return r;
                r = sd_bus_message_exit_container(reply);
                if (r < 0)
                        return r;
        }
        return sd_bus_message_exit_container(reply);
}

/* The manager's own words for why a unit did not load ("Unit foo.service not found."). */
static int load_error(struct bus *b, const char *path, int fallback)
{
        _cleanup_(sd_bus_message_unrefp) sd_bus_message *reply = NULL;
        _cleanup_(sd_bus_error_free) sd_bus_error e = SD_BUS_ERROR_NULL;
        const char *name, *message;
        int r = sd_bus_get_property(b->bus, SD_DESTINATION, path, SD_UNIT, "LoadError", &e, &reply,
                                    "(ss)");
        if (r < 0)
                return bus_failed(b, &e, fallback);
        r = sd_bus_message_read(reply, "(ss)", &name, &message);
        if (r < 0)
                return fallback;
        bus_clear_error(b);
        b->error = strdup(message);
        return fallback;
}

int bus_unit_status(struct bus *b, const char *unit, struct unit_status *ret)
{
        _cleanup_(sd_bus_message_unrefp) sd_bus_message *reply = NULL;
        _cleanup_(sd_bus_error_free) sd_bus_error e = SD_BUS_ERROR_NULL;
        _cleanup_(unit_status_done) struct unit_status s = {0};
        const char *path;
        int r;

        bus_clear_error(b);
        /* LoadUnit hands back a loaded unit as it is and loads one that is not (GetUnit would
         * fail for a unit that exists on disk but nobody has needed yet). */
        r = sd_bus_call_method(b->bus, SD_DESTINATION, SD_PATH, SD_MANAGER, "LoadUnit", &e, &reply,
                               "s", unit);
        if (r < 0)
                return bus_failed(b, &e, r);
        r = sd_bus_message_read(reply, "o", &path);
        if (r < 0)
                return r;
        r = get_props(b, path, SD_UNIT, &s);
        if (r < 0)
                return r;
        /* A missing unit still loads, as a stub; callers asking for status want an error. */
        if (s.load_state && streq(s.load_state, "not-found"))
                return load_error(b, path, -ENOENT);
        if (endswith(unit, ".service")) {
                r = get_props(b, path, SD_SERVICE, &s);
                if (r < 0)
                        return r;
        }
        *ret = s;
        s = (struct unit_status){0};
        return 0;
}

void unit_status_done(struct unit_status *s)
{
        free(s->active_state);
        free(s->sub_state);
        free(s->load_state);
        free(s->result);
        free(s->fragment_path);
        *s = (struct unit_status){0};
}

static bool status_is(const struct unit_status *s, const char *state)
{
        return s->active_state && streq(s->active_state, state);
}

/* Lets usec pass while still reading what comes in: on the private socket systemd sends every
 * signal to every client, and those must not pile up in its queue for us. */
static int bus_idle(struct bus *b, uint64_t usec)
{
        long long until = deadline_after(usec);
        for (;;) {
                int r = sd_bus_process(b->bus, NULL);
                if (r < 0)
                        return r;
                if (r > 0)
                        continue;
                long long now = now_usec();
                if (now >= until)
                        return 0;
                r = sd_bus_wait(b->bus, (uint64_t)(until - now));
                if (r < 0 && r != -EINTR)
                        return r;
        }
}

int bus_unit_settle(struct bus *b, const char *unit, uint64_t settle_usec, uint64_t timeout_usec,
                    struct unit_status *ret_last)
{
        _cleanup_(unit_status_done) struct unit_status s = {0};
        long long deadline = deadline_after(timeout_usec);
        long long stable_since = -1; /* when it was last seen active with this MainPID */
        uint32_t pid = 0, n_restarts = 0;
        int r;

        for (bool first = true;; first = false) {
                unit_status_done(&s);
                r = bus_unit_status(b, unit, &s);
                if (r < 0)
                        return r;
                long long now = now_usec();
                if (first)
                        n_restarts = s.n_restarts;

                /* In "activating" it may be starting up or waiting in auto-restart: not yet
                 * settled, but not given up either; NRestarts tells the two apart. */
                if (s.n_restarts > n_restarts ||
                    (!status_is(&s, "active") && !status_is(&s, "activating") &&
                     !status_is(&s, "reloading"))) {
                        r = -ECHILD;
                        break;
                }
                if (!status_is(&s, "active"))
                        stable_since = -1;
                else if (stable_since < 0 || s.main_pid != pid) {
                        stable_since = now;
                        pid = s.main_pid;
                }
                if (stable_since >= 0 && now - stable_since >= (long long)settle_usec) {
                        r = 0;
                        break;
                }
                if (now >= deadline) {
                        r = -ETIMEDOUT;
                        break;
                }
                uint64_t left = (uint64_t)(deadline - now);
                r = bus_idle(b, left < SETTLE_POLL_USEC ? left : SETTLE_POLL_USEC);
                if (r < 0)
                        return r;
        }

        /* The last status explains a failure too, so it is handed on in every case. */
        if (ret_last) {
                *ret_last = s;
                s = (struct unit_status){0};
        }
        return r;
}
