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

/* What a host of the inventory is for ([host NAME] role): a controller runs the control plane,
 * a load balancer only what fronts it. Each component runs on one role. */
enum node_role {
        NODE_CONTROLLER,
        NODE_LB,
};

/* Kubernetes minor versions, both ends included; 0 leaves that end open. */
struct minor_range {
        unsigned from, until;
};

/* How a probe's TLS is checked. */
enum probe_tls {
        PROBE_TLS_CLUSTER_CA, /* https, verified against the cluster CA in <lib-dir> */
        PROBE_TLS_INSECURE,   /* https, self-signed serving certificate */
        PROBE_PLAIN_HTTP,     /* http with a Host header, as a load balancer asks */
        PROBE_LB_BACKENDS,    /* every backend UP in haproxy's stats socket (path: the socket) */
        PROBE_LB_VERSION,     /* https://<public-address>:port/path, cluster CA: through the LB */
        PROBE_LB_VIP,         /* the same through [lb] virtual-ip: one lb host holds it */
        /* etcd's client port: https verified against the CA in [paths] etcd-dir, with the
         * client certificate there (--client-cert-auth); plain http when etcd-servers is */
        PROBE_ETCD_CLIENT,
};

struct component_probe {
        unsigned port;
        const char *path; /* "/healthz" */
        enum probe_tls tls;
        const char *host_header;   /* PROBE_PLAIN_HTTP: the Host asked for, NULL: none */
        struct minor_range minors; /* the releases that serve the path */
        const char *expect;        /* a string the answer must hold ('"health":"true"'), or NULL */
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

/* When a component row runs (on the hosts of its role) or one of its templates is rendered:
 * one rule for both, decided by model_when(). */
enum when {
        WHEN_ALWAYS,
        WHEN_ETCD,      /* an [etcd] section is there: kubestrap runs etcd */
        WHEN_ETCD_TLS,  /* etcd-servers is https: the chapter's TLS cluster */
        WHEN_ETCD_HTTP, /* etcd-servers is plain http: the current edition's single member */
        WHEN_LB_VIP,    /* [lb] virtual-ip is set: an address moves between the lb hosts */
};

struct component_template {
        enum template_kind kind;
        const char *name; /* file under templates/ */
        const char *dest; /* installed name; NULL: the template's name */
        enum when when;
};

/* A version rule on a default flag, applied before the operator's edits (who can still add the
 * flag back): the flag is dropped in the minors given, or, for FLAG_NEEDS_ETCD_TLS, whenever
 * etcd-servers is plain http. */
enum flag_rule_kind {
        FLAG_DROP,
        FLAG_NEEDS_ETCD_TLS,
};

struct flag_rule {
        enum flag_rule_kind when;
        struct minor_range minors;
        const char *flag; /* without the leading "--" */
        const char *why;  /* the release note it follows */
};

/* A value that depends on the minor, for the component's templates as
 * {{ component.NAME }}: the first row whose range holds the minor wins. */
struct component_value {
        const char *name;
        struct minor_range minors;
        const char *value;
};

/* How a running component takes a changed input: kube-* only read flags and files at start;
 * nginx re-reads its sites on reload. */
enum restart_mode {
        RESTART_FULL,
        RESTART_RELOAD,
};

struct component {
        enum node_role role; /* the hosts it runs on */
        enum when when;      /* and only then (model_runs) */
        const char *name;    /* also its [NAME] flag-edit section when it has flags */
        const char *label;   /* for status tables */
        const char *unit;    /* "kube-apiserver.service" */
        /* Provided by a downloaded binary (one of binary_names) or by a distribution package
         * that kubestrap only checks for and never installs. */
        const char *binary;
        const char *package;             /* program name looked for on PATH ("nginx") */
        const char *install_hint;        /* "apt-get install nginx-light" */
        const char *purpose;             /* why it is needed, for "not installed" messages */
        const char *const *check_config; /* argv that checks its config before (re)loading */
        /* argv that checks its staged config file before it is published; "{}" stands for
         * the staged file's path (haproxy -c -f {}) */
        const char *const *check_staged;
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
        /* What changes with the Kubernetes version (versions.c applies them). */
        const struct flag_rule *flag_rules;
        size_t n_flag_rules;
        const struct component_value *values;
        size_t n_values;
        /* files of <lib-dir> it reads, NULL-terminated, by their kthw-2021 names (the [pki]
         * layout maps them: model_pki_name) */
        const char *const *pki;
        const char *const *after; /* names of components it needs running first */
        /* Its own release artifact (a tarball with its own version and URL layout, release.h),
         * NULL: none; and PKI files copied into a directory of its own (model key), by their
         * kthw-2021 names, only when it speaks TLS. */
        const char *artifact;
        const char *pki_dir;
        const char *const *own_pki;
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
const char *node_role_to_string(enum node_role r);
int node_role_from_string(const char *s, enum node_role *ret);
/* A template of kind, or NULL. */
const struct component_template *component_template(const struct component *c,
                                                    enum template_kind kind);
/* The components in start order: each after what it depends on, otherwise in table order.
 * -ELOOP when the dependencies form a cycle, -ENOENT when one names no row. */
int component_start_order(const struct component **ret, size_t n);
