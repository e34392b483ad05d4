/* Bringing the control plane up after the files are in place: reload and enable through
 * systemd, start what is not running, restart only what changed, watch for crash loops, wait
 * for health, and explain every failure with the unit's state and journal. */
#pragma once

#include <stdbool.h>
#include <stdint.h>

#include "model.h"
#include "plan.h"

enum service_action {
        SERVICE_UNCHANGED,
        SERVICE_STARTED,
        SERVICE_RESTARTED,
        SERVICE_RELOADED,
};

struct service_result {
        const char *unit;
        enum service_action action;
        uint32_t main_pid;
        long long healthy_after_usec; /* from the start of the health wait, -1: no probe */
};

struct service_report {
        struct service_result *units; /* one per component */
        size_t n_units, cap_units;
        long long start_usec;   /* when service_converge began */
        long long jobs_usec;    /* reload + enable + jobs */
        long long healthy_usec; /* until every probe answered */
        long long total_usec;
        bool rbac_applied; /* the cluster-level RBAC objects were created by this run */
        char **notes;      /* things done, for the report */
};

struct service_options {
        uint64_t health_timeout_usec;
        uint64_t settle_usec;
        bool skip_rbac;
};

/* Everything after publishing, on a running systemd. Errors carry diagnostics: state, exit
 * status and the last journal lines of the unit at fault. */
int service_converge(const struct model *m, const struct plan *p, const struct service_options *o,
                     struct service_report *rep, char **ret_error);
void service_report_done(struct service_report *rep);
const char *service_action_to_string(enum service_action a);

/* State, exit status and last journal lines of a unit, as text for an error message. */
char *service_diagnose(const char *unit);
