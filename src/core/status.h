/* What the node is running now: each unit's state, each endpoint's health, and the API
 * server's version locally and through the cluster's public address. */
#pragma once

#include <stdbool.h>

#include "model.h"

struct status_row {
        char *component;
        char *unit;
        char *state; /* "active/running", "-" when unknown */
        unsigned pid, restarts;
        char *target; /* the URL probed */
        bool ok;
        bool info;    /* shown, not counted: another host's state (a backend, seen from a
                       * controller) does not fail this host's verify */
        char *detail; /* "ok", a version, or why not */
};

struct status {
        struct status_row *rows;
        size_t n, cap;
        bool oom; /* a row could not be recorded: status_collect fails */
        bool all_ok;
};

/* Collects the status; without systemd (no bus) the unit columns say so. Files (the cluster
 * CA) are read inside root (NULL: "/"). */
int status_collect(const struct model *m, const char *root, struct status *ret);
void status_done(struct status *s);
