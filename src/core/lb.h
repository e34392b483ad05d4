/* The front-end load balancer: the seed's gcloud commands for Google's network load balancer,
 * and haproxy's view of the API servers behind it (its stats socket). */
#pragma once

#include <stdbool.h>
#include <stddef.h>

#include "model.h"

/* The seed's gcloud commands ("Provision a Network Load Balancer") with the configuration's
 * values: network, public address, region, the inventory's controllers. With the seed's
 * values the text is the seed's, byte for byte. Every value must be one plain shell word;
 * one that is not is refused (-EINVAL, *ret_error names it), never quoted into the text. */
int lb_gcloud_script(const struct model *m, char **ret, char **ret_error);

/* One server of haproxy's backend, as "show stat" reports it. */
struct lb_server {
        char *name;             /* svname: the controller's host name */
        char *status;           /* "UP", "DOWN", "UP 1/2", "MAINT", ... */
        char *check;            /* check_status: "L7OK", "L4CON", ... */
        char *addr;             /* "10.240.0.10:6443" */
        unsigned last_change_s; /* lastchg: seconds since the status changed */
};

/* The backend every API server is in, in haproxy.cfg (templates/haproxy.cfg). */
#define LB_BACKEND "kube-apiserver"

/* Asks haproxy's stats socket (a unix socket, "show stat") for the servers of backend. */
int lb_stats_read(const char *socket_path, const char *backend, struct lb_server **ret,
                  size_t *ret_n);
/* Parses "show stat" CSV; exposed for tests. */
int lb_stats_parse(const char *csv, const char *backend, struct lb_server **ret, size_t *ret_n);
void lb_servers_free(struct lb_server *s, size_t n);
/* The servers' state as one line ("controller-0 UP, controller-1 DOWN (L4CON)"); *ret_all_up
 * when there is at least one and every one is UP. */
char *lb_servers_describe(const struct lb_server *s, size_t n, bool *ret_all_up);
