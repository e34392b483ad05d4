/* Waiting for the control plane to be healthy: probes with a short, growing backoff, never a
 * fixed sleep, and an error that says which endpoint failed and how. */
#pragma once

#include <stdbool.h>
#include <stdint.h>

#include "model.h"

struct probe {
        const char *name; /* "kube-apiserver", ..., "nginx" */
        const char *unit; /* unit behind it, for diagnostics (NULL: none) */
        char *url;
        const char *host_header;
        char *ca_file; /* verify against the cluster CA */
        bool insecure; /* self-signed serving certificate */
        bool http;     /* the plain-HTTP nginx probe */

        /* out */
        bool healthy;
        long status;
        char *detail; /* why it is not healthy yet */
        long long healthy_after_usec;
};

/* The seed's four probes for this node. */
int health_probes_for(const struct model *m, struct probe **ret, size_t *ret_n);
void health_probes_free(struct probe *p, size_t n);

/* Called between probe rounds; a negative return stops the wait (a unit crashed). */
typedef int (*health_check_t)(void *userdata);

/* Probes until every probe is healthy (0), the timeout passes (-ETIMEDOUT) or check fails. */
int health_wait(struct probe *p, size_t n, uint64_t timeout_usec, health_check_t check,
                void *userdata);
/* One probe, once. */
int health_probe_once(struct probe *p);
