/* Bringing the control plane up after the files are in place: reload and enable through
 * systemd, start what is not running, restart only what changed, watch for crash loops, wait
 * for health, and explain every failure with the unit's state and journal. */
#pragma once

#include <stdbool.h>
#include <stdint.h>

#include "bus.h"
#include "model.h"
#include "plan.h"

enum service_action {
        SERVICE_UNCHANGED,
        SERVICE_STARTED,
        SERVICE_RESTARTED,
};

struct service_result {
        const struct component *component;
        const char *unit; /* the component's name, as reports show it */
        enum service_action action;
        uint32_t main_pid;
        long long healthy_after_usec; /* from the start of the health wait, -1: no probe */
};

struct service_report {
        struct service_result *units; /* one per component whose unit kubestrap renders */
        size_t n_units, cap_units;
        long long start_usec;   /* when service_converge began */
        long long jobs_usec;    /* reload + enable + jobs */
        long long healthy_usec; /* until every probe answered */
        bool rbac_applied;      /* the cluster-level RBAC objects were created by this run */
        char **notes;           /* things done, for the report */
};

struct service_options {
        uint64_t health_timeout_usec;
};

/* Everything after publishing, on a running systemd. Errors carry diagnostics: state, exit
 * status and the last journal lines of the unit at fault. */
int service_converge(const struct model *m, const struct plan *p, const struct service_options *o,
                     struct service_report *rep, char **ret_error);
void service_report_done(struct service_report *rep);
const char *service_action_to_string(enum service_action a);

/* A component's place in the start order's waves: 0 without `after`, else one past the waves
 * of what it comes after (kube-apiserver 0; the controller-manager, scheduler and nginx 1). A
 * wave's jobs run, and its health is awaited, before a later wave's jobs. */
unsigned service_wave(const struct component *c);

/* State, exit status and last journal lines of a unit, as text for an error message. */
char *service_diagnose(const char *unit);

/* The restart decision, apart from systemd so it can be tested: one entry per component, in
 * start order. */
struct service_unit {
        const struct component *component;
        bool changed; /* its unit file, a file the unit names, or its config or site changed */
        bool running; /* active, activating or reloading */
        bool queue;   /* out: a job is queued */
        enum bus_job_mode mode;     /* out, when queued */
        enum service_action action; /* out */
};
/* Sets changed for each unit from the plan's actions; *ret_reload when a unit file changed
 * (systemd must reload before the jobs). */
void service_changes(const struct plan *p, struct service_unit *u, size_t n, bool *ret_reload);
/* Start what is not running, restart (or reload, for a server that re-reads its config on
 * reload) what changed, leave the rest alone. */
void service_decide(struct service_unit *u, size_t n);

/* For reset: stops and disables units (jobs waited for). Error text in *ret_error. */
int service_stop_disable(char **units, char **ret_error);
/* For reset, after files went: systemd reloads, and each unit listed that is active reloads
 * (a server that keeps running without the site removed from it). Best effort. */
void service_reload_after_removal(char **reload_units);
