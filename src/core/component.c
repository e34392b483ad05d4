/* The component table: everything kubestrap knows about each thing it runs, in one place.
 * Adding a component is a row here plus its templates under templates/. */
#include "component.h"

#include <errno.h>
#include <string.h>

#include "util.h"

static const struct component_port apiserver_ports[] = {{6443, "secure API"}};
/* /livez, then /readyz: served since 1.16 (/healthz is deprecated), and what kubeadm probes.
 * The nginx proxy below still asks /healthz, as the seed's load balancer does. */
static const struct component_probe apiserver_probes[] = {
    {6443, "/livez", PROBE_TLS_CLUSTER_CA, NULL, {0, 0}, NULL},
    {6443, "/readyz", PROBE_TLS_CLUSTER_CA, NULL, {0, 0}, NULL},
};
static const struct flag_rule apiserver_flag_rules[] = {
    {FLAG_DROP,
     {24, 0},
     "apiserver-count",
     "deprecated in 1.24 with --endpoint-reconciler-type=master-count; the default reconciler "
     "is lease"},
    /* The client certificate for etcd only means something on a TLS connection: the current
     * edition runs one local etcd on http://127.0.0.1:2379 and drops the three. */
    {FLAG_NEEDS_ETCD_TLS, {0, 0}, "etcd-cafile", "etcd-servers is plain http"},
    {FLAG_NEEDS_ETCD_TLS, {0, 0}, "etcd-certfile", "etcd-servers is plain http"},
    {FLAG_NEEDS_ETCD_TLS, {0, 0}, "etcd-keyfile", "etcd-servers is plain http"},
};
static const struct component_template apiserver_templates[] = {
    {TEMPLATE_UNIT, "kube-apiserver.service", NULL, WHEN_ALWAYS},
    {TEMPLATE_FLAGS, "kube-apiserver.flags", NULL, WHEN_ALWAYS},
};
static const char *const apiserver_pki[] = {"ca.pem",
                                            "ca-key.pem",
                                            "kubernetes.pem",
                                            "kubernetes-key.pem",
                                            "service-account.pem",
                                            "service-account-key.pem",
                                            "encryption-config.yaml",
                                            NULL};

static const struct component_port cm_ports[] = {{10257, "health"}};
static const struct component_probe cm_probes[] = {
    {10257, "/healthz", PROBE_TLS_INSECURE, NULL, {0, 0}, NULL}};
static const struct component_template cm_templates[] = {
    {TEMPLATE_UNIT, "kube-controller-manager.service", NULL, WHEN_ALWAYS},
    {TEMPLATE_FLAGS, "kube-controller-manager.flags", NULL, WHEN_ALWAYS},
};
static const char *const cm_pki[] = {"ca.pem", "ca-key.pem", "service-account-key.pem",
                                     "kube-controller-manager.kubeconfig", NULL};

static const struct component_port sched_ports[] = {{10259, "health"}};
/* The scheduler serves /livez and /readyz since 1.31; before, /healthz only. */
static const struct component_probe sched_probes[] = {
    {10259, "/healthz", PROBE_TLS_INSECURE, NULL, {0, 30}, NULL},
    {10259, "/livez", PROBE_TLS_INSECURE, NULL, {31, 0}, NULL},
    {10259, "/readyz", PROBE_TLS_INSECURE, NULL, {31, 0}, NULL},
};
/* kube-scheduler.yaml's apiVersion: one the minor serves (v1beta1 1.19–1.22, v1beta2 1.22–1.27,
 * v1beta3 1.23–1.28, v1 from 1.25). 1.21 keeps the seed's v1beta1; each later minor takes the
 * newest it serves, so no rendered file leans on an API in its last release. */
static const struct component_value sched_values[] = {
    {"config-api", {0, 21}, "kubescheduler.config.k8s.io/v1beta1"},
    {"config-api", {22, 22}, "kubescheduler.config.k8s.io/v1beta2"},
    {"config-api", {23, 24}, "kubescheduler.config.k8s.io/v1beta3"},
    {"config-api", {25, 0}, "kubescheduler.config.k8s.io/v1"},
};
static const struct component_template sched_templates[] = {
    {TEMPLATE_UNIT, "kube-scheduler.service", NULL, WHEN_ALWAYS},
    {TEMPLATE_FLAGS, "kube-scheduler.flags", NULL, WHEN_ALWAYS},
    {TEMPLATE_CONFIG, "kube-scheduler.yaml", NULL, WHEN_ALWAYS},
};
static const char *const sched_pki[] = {"kube-scheduler.kubeconfig", NULL};

/* nginx answers the load balancer's plain-HTTP health check by proxying to the API server. */
static const struct component_port nginx_ports[] = {{80, "health proxy"}};
static const struct component_probe nginx_probes[] = {
    {80, "/healthz", PROBE_PLAIN_HTTP, "kubernetes.default.svc.cluster.local", {0, 0}, NULL}};
static const struct component_template nginx_templates[] = {
    {TEMPLATE_SITE, "nginx-healthz.conf", "kubernetes.default.svc.cluster.local", WHEN_ALWAYS},
};
static const char *const nginx_pki[] = {"ca.pem", NULL};
static const char *const nginx_check[] = {"nginx", "-t", NULL};

/* etcd, the chapter's "Bootstrapping the etcd Cluster": its client and peer ports, the health
 * gate the apiserver's own check uses, and the chapter's three PKI files in /etc/etcd. */
static const struct component_port etcd_ports[] = {{2379, "client"}, {2380, "peer"}};
static const struct component_probe etcd_probes[] = {
    {2379, "/health", PROBE_ETCD_CLIENT, NULL, {0, 0}, "\"health\":\"true\""}};
static const struct component_template etcd_templates[] = {
    {TEMPLATE_UNIT, "etcd.service", NULL, WHEN_ETCD_TLS},
    {TEMPLATE_UNIT, "etcd-http.service", "etcd.service", WHEN_ETCD_HTTP},
};
static const char *const etcd_pki[] = {NULL};
static const char *const etcd_own_pki[] = {"ca.pem", "kubernetes.pem", "kubernetes-key.pem", NULL};

static const char *const after_apiserver[] = {"kube-apiserver", NULL};
static const char *const after_etcd[] = {"etcd", NULL};

/* haproxy on a load balancer host (role = lb) in front of the inventory's controllers. Its
 * health gate: every backend UP in haproxy's own view (the stats socket the template opens),
 * then /version through the load balancer, as the seed checks it. */
static const struct component_port haproxy_ports[] = {{6443, "API through the load balancer"}};
static const struct component_probe haproxy_probes[] = {
    {0, "/run/haproxy/admin.sock", PROBE_LB_BACKENDS, NULL, {0, 0}, NULL},
    {6443, "/version", PROBE_LB_VERSION, NULL, {0, 0}, NULL},
};
static const struct component_template haproxy_templates[] = {
    {TEMPLATE_CONFIG, "haproxy.cfg", NULL, WHEN_ALWAYS},
};
static const char *const haproxy_pki[] = {"ca.pem", NULL};
/* on the staged file, through its descriptor: a config haproxy refuses is never published */
static const char *const haproxy_check[] = {"haproxy", "-c", "-f", "{}", NULL};

/* keepalived, when [lb] virtual-ip is set: the address moves to another lb host when this one's
 * haproxy stops. It listens on no port (VRRP is an IP protocol); its gate: /version through the
 * virtual IP, wherever it is held. */
static const struct component_probe keepalived_probes[] = {
    {6443, "/version", PROBE_LB_VIP, NULL, {0, 0}, NULL},
};
static const struct component_template keepalived_templates[] = {
    {TEMPLATE_CONFIG, "keepalived.conf", NULL, WHEN_ALWAYS},
};
static const char *const keepalived_pki[] = {"ca.pem", NULL};
static const char *const keepalived_check[] = {"keepalived", "-t", "-f", "{}", NULL};
static const char *const after_haproxy[] = {"haproxy", NULL};

#define ROW_ARRAYS(prefix)                                                                         \
        .ports = prefix##_ports, .n_ports = ELEMENTSOF(prefix##_ports), .probes = prefix##_probes, \
        .n_probes = ELEMENTSOF(prefix##_probes), .templates = prefix##_templates,                  \
        .n_templates = ELEMENTSOF(prefix##_templates), .pki = prefix##_pki

const struct component components[] = {
    {
        .when = WHEN_ETCD,
        .name = "etcd",
        .label = "etcd",
        .unit = "etcd.service",
        .renders_unit = true,
        .restart = RESTART_FULL,
        ROW_ARRAYS(etcd),
        .artifact = "etcd",
        .pki_dir = "paths.etcd-dir",
        .own_pki = etcd_own_pki,
    },
    {
        .name = "kube-apiserver",
        .label = "kube-apiserver",
        .unit = "kube-apiserver.service",
        .binary = "kube-apiserver",
        .renders_unit = true,
        .serves_api = true,
        .restart = RESTART_FULL,
        ROW_ARRAYS(apiserver),
        .flag_rules = apiserver_flag_rules,
        .n_flag_rules = ELEMENTSOF(apiserver_flag_rules),
        /* a no-op when [etcd] is absent: then etcd is someone else's */
        .after = after_etcd,
    },
    {
        .name = "kube-controller-manager",
        .label = "kube-controller-manager",
        .unit = "kube-controller-manager.service",
        .binary = "kube-controller-manager",
        .renders_unit = true,
        .restart = RESTART_FULL,
        ROW_ARRAYS(cm),
        .after = after_apiserver,
    },
    {
        .name = "kube-scheduler",
        .label = "kube-scheduler",
        .unit = "kube-scheduler.service",
        .binary = "kube-scheduler",
        .renders_unit = true,
        .restart = RESTART_FULL,
        ROW_ARRAYS(sched),
        .values = sched_values,
        .n_values = ELEMENTSOF(sched_values),
        .after = after_apiserver,
    },
    {
        .name = "nginx",
        .label = "nginx proxy",
        .unit = "nginx.service",
        .package = "nginx",
        .install_hint = "apt-get install nginx-light",
        .purpose = "it answers the load balancer's health check",
        .check_config = nginx_check,
        .restart = RESTART_RELOAD,
        .config_dir = "paths.nginx-dir",
        ROW_ARRAYS(nginx),
        .after = after_apiserver,
    },
    {
        .role = NODE_LB,
        .name = "haproxy",
        .label = "haproxy (load balancer)",
        .unit = "haproxy.service",
        .package = "haproxy",
        .install_hint = "apt-get install haproxy",
        .purpose = "it balances the API servers behind [cluster] public-address",
        .check_staged = haproxy_check,
        /* Debian's unit reloads by USR2 to the master: new workers, no dropped listener */
        .restart = RESTART_RELOAD,
        .config_dir = "paths.haproxy-dir",
        ROW_ARRAYS(haproxy),
    },
    {
        .role = NODE_LB,
        .when = WHEN_LB_VIP,
        .name = "keepalived",
        .label = "keepalived (virtual IP)",
        .unit = "keepalived.service",
        .package = "keepalived",
        .install_hint = "apt-get install keepalived",
        .purpose = "it holds [lb] virtual-ip on one of the load balancers",
        .check_staged = keepalived_check,
        .restart = RESTART_RELOAD,
        .config_dir = "paths.keepalived-dir",
        .probes = keepalived_probes,
        .n_probes = ELEMENTSOF(keepalived_probes),
        .templates = keepalived_templates,
        .n_templates = ELEMENTSOF(keepalived_templates),
        .pki = keepalived_pki,
        .after = after_haproxy,
    },
};
const size_t n_components = ELEMENTSOF(components);

const char *node_role_to_string(enum node_role r)
{
        return r == NODE_LB ? "lb" : "controller";
}

int node_role_from_string(const char *s, enum node_role *ret)
{
        if (streq(s, "controller"))
                *ret = NODE_CONTROLLER;
        else if (streq(s, "lb"))
                *ret = NODE_LB;
        else
                return -EINVAL;
        return 0;
}

const struct component *component_find(const char *name)
{
        FOREACH_COMPONENT (c)
                if (streq(c->name, name))
                        return c;
        return NULL;
}

const struct component *component_by_unit(const char *unit)
{
        FOREACH_COMPONENT (c)
                if (streq(c->unit, unit))
                        return c;
        return NULL;
}

const struct component *component_api(void)
{
        FOREACH_COMPONENT (c)
                if (c->serves_api)
                        return c;
        return NULL;
}

unsigned component_api_port(void)
{
        const struct component *c = component_api();
        return c && c->n_ports > 0 ? c->ports[0].port : 0;
}

size_t component_index(const struct component *c)
{
        return (size_t)(c - components);
}

const struct component_template *component_template(const struct component *c,
                                                    enum template_kind kind)
{
        for (size_t i = 0; i < c->n_templates; i++)
                if (c->templates[i].kind == kind)
                        return &c->templates[i];
        return NULL;
}

/* Kahn's algorithm, taking the first ready row in table order each round: the order is stable
 * and equals the table's when the table already lists dependencies first. */
int component_start_order(const struct component **ret, size_t n)
{
        if (n < n_components)
                return -ENOBUFS;
        _cleanup_free_ bool *placed = calloc(n_components, sizeof(*placed));
        if (!placed)
                return -ENOMEM;
        for (size_t k = 0; k < n_components; k++) {
                const struct component *next = NULL;
                FOREACH_COMPONENT (c) {
                        if (placed[component_index(c)])
                                continue;
                        bool ready = true;
                        for (const char *const *a = c->after; a && *a; a++) {
                                const struct component *d = component_find(*a);
                                if (!d)
                                        return -ENOENT;
                                ready = ready && placed[component_index(d)];
                        }
                        if (ready) {
                                next = c;
                                break;
                        }
                }
                if (!next)
                        return -ELOOP;
                placed[component_index(next)] = true;
                ret[k] = next;
        }
        return 0;
}
