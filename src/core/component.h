/* The components kubestrap runs, as data: one row per component with its unit, what provides
 * it, ports, health probes, templates, PKI files and start order. Every module iterates this
 * table; none knows a component by its position or its display name. */
#pragma once

#include <stdbool.h>
#include <stddef.h>

/* The release binaries kubestrap downloads, as X(ID, name): each becomes BINARY_<ID> in
 * model.h, a name in binary_names[] and a [download] digest.<name> pin key. Component rows name
 * theirs in .binary; kubectl is a tool with no unit. A component that brings a binary of its
 * own adds it here, next to its row. */
#define RELEASE_BINARIES(X)                                                                        \
        X(APISERVER, "kube-apiserver")                                                             \
        X(CONTROLLER_MANAGER, "kube-controller-manager")                                           \
        X(SCHEDULER, "kube-scheduler")                                                             \
        X(KUBECTL, "kubectl")

/* How a probe's TLS is checked. */
enum probe_tls {
        PROBE_TLS_CLUSTER_CA, /* https, verified against <lib-dir>/ca.pem */
        PROBE_TLS_INSECURE,   /* https, self-signed serving certificate */
        PROBE_PLAIN_HTTP,     /* http with a Host header, as a load balancer asks */
};

struct component_probe {
        unsigned port;
        const char *path; /* "/healthz" */
        enum probe_tls tls;
        const char *host_header; /* PROBE_PLAIN_HTTP: the Host asked for, NULL: none */
};

struct component_port {
        unsigned port;
        const char *purpose; /* for messages: "secure API", "health" */
};

/* What kubestrap does with a template: the unit and its flags are rendered into the unit
 * directory; a config file into [paths] config-dir; a site into the web server's site
 * directory (sites-available, or conf.d where there is none). */
enum template_kind {
        TEMPLATE_UNIT,
        TEMPLATE_FLAGS,
        TEMPLATE_CONFIG,
        TEMPLATE_SITE,
};

struct component_template {
        enum template_kind kind;
        const char *name; /* file under templates/ */
        const char *dest; /* installed name; NULL: the template's name */
};

/* How a running component takes a changed input: kube-* only read flags and files at start;
 * nginx re-reads its sites on reload. */
enum restart_mode {
        RESTART_FULL,
        RESTART_RELOAD,
};

struct component {
        const char *name;  /* also its [NAME] flag-edit section when it has flags */
        const char *label; /* for status tables */
        const char *unit;  /* "kube-apiserver.service" */
        /* Provided by a downloaded binary (one of binary_names) or by a distribution package
         * that kubestrap only checks for and never installs. */
        const char *binary;
        const char *package;             /* program name looked for on PATH ("nginx") */
        const char *install_hint;        /* "apt-get install nginx-light" */
        const char *purpose;             /* why it is needed, for "not installed" messages */
        const char *const *check_config; /* argv that checks its config before (re)loading */
        bool renders_unit; /* kubestrap writes the unit file; else it manages an existing one */
        bool serves_api;   /* the Kubernetes API: version checks and RBAC go here */
        enum restart_mode restart;
        const char *config_dir; /* model key of the directory its sites live in, or NULL */
        const struct component_port *ports;
        size_t n_ports;
        const struct component_probe *probes;
        size_t n_probes;
        const struct component_template *templates;
        size_t n_templates;
        const char *const *pki;   /* files of <lib-dir> it reads, NULL-terminated */
        const char *const *after; /* names of components it needs running first */
};

extern const struct component components[];
extern const size_t n_components;

#define FOREACH_COMPONENT(c)                                                                       \
        for (const struct component *c = components; c < components + n_components; c++)

const struct component *component_find(const char *name);
const struct component *component_by_unit(const char *unit);
/* The component that serves the Kubernetes API, and its secure port. */
const struct component *component_api(void);
unsigned component_api_port(void);
/* Position in the table, for arrays kept per component (flag edits). */
size_t component_index(const struct component *c);
/* A template of kind, or NULL. */
const struct component_template *component_template(const struct component *c,
                                                    enum template_kind kind);
/* The components in start order: each after what it depends on, otherwise in table order.
 * -ELOOP when the dependencies form a cycle, -ENOENT when one names no row. */
int component_start_order(const struct component **ret, size_t n);
