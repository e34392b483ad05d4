/* Checks before anything is changed: is this machine fit to be a controller, and is the PKI
 * what the configuration needs? Each check has a name, a message and a fix hint. */
#pragma once

#include <stdbool.h>

#include "model.h"

enum check_status {
        CHECK_PASS,
        CHECK_WARN,
        CHECK_FAIL,
};

struct check_result {
        const char *name;
        enum check_status status;
        bool ignored; /* a failure demoted by --ignore */
        char *message;
        const char *hint;
};

struct preflight {
        struct check_result *results;
        size_t n, cap;
        bool oom; /* a result could not be recorded: preflight_run fails */
        size_t failed;
};

/* live: checks of the running machine too (root, ports, swap, systemd, nginx); without it
 * (--root) only the configuration and the PKI. ignore: names whose failure is a warning
 * ("all": every check's). */
/* root: the tree the files go to (NULL: /), for what is read from it (etcd's data directory) */
int preflight_run(const struct model *m, const char *root, bool live, char *const *ignore,
                  struct preflight *ret);
void preflight_done(struct preflight *p);
const char *check_status_to_string(enum check_status s);
/* Every check's name, for --ignore validation. */
bool preflight_known(const char *name);
