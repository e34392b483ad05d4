/* Waiting for the control plane to be healthy: probes with a short, growing backoff, never a
 * fixed sleep, and an error that says which endpoint failed and how. */
#pragma once

#include <stdbool.h>
#include <stdint.h>

#include "model.h"

struct probe {
        const struct component *component;
        const char *name; /* the component's: "kube-apiserver", ..., "nginx" */
        const char *unit; /* unit behind it, for diagnostics (NULL: none) */
        unsigned port;
        char *url;
        const char *host_header;
        char *ca_pem; /* the cluster CA to verify against, read from the target */
        size_t ca_pem_len;
        int ca_error; /* why it could not be read (-errno), with ca_path naming it */
        char *ca_path;
        bool insecure;              /* self-signed serving certificate */
        bool http;                  /* plain HTTP, as a load balancer asks (the nginx proxy) */
        bool lb_stats;              /* url is haproxy's stats socket: every backend UP */
        char *cert_file, *key_file; /* a client certificate (etcd's --client-cert-auth) */
        const char *expect;         /* the answer must hold this, or NULL */

        /* out */
        bool healthy;
        long status;
        char *detail; /* why it is not healthy yet */
        long long healthy_after_usec;
};

/* Every probe of the components that run on the model's host role, in table order. The cluster CA
 * is read from the node's lib-dir inside root (NULL: "/"), never from the machine running kubestrap
 * when root is another tree. */
int health_probes_for(const struct model *m, const char *root, struct probe **ret, size_t *ret_n);
/* Reads the cluster CA (<lib-dir>/ca.pem or ca.crt, by [pki] layout) inside root through the target
 * (no symlink followed). ret_path: the path as seen from here, for messages, also on failure (may
 * be NULL). */
int health_read_ca(const struct model *m, const char *root, char **ret, size_t *ret_len,
                   char **ret_path);
void health_probes_free(struct probe *p, size_t n);

/* Called between probe rounds; a negative return stops the wait (a unit crashed). */
typedef int (*health_check_t)(void *userdata);

/* Probes until every probe is healthy (0), the timeout passes (-ETIMEDOUT) or check fails. */
int health_wait(struct probe *p, size_t n, uint64_t timeout_usec, health_check_t check,
                void *userdata);
/* One probe, once. */
int health_probe_once(struct probe *p);
