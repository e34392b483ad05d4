/* The component table: everything kubestrap knows about each thing it runs, in one place.
 * Adding a component is a row here plus its templates under templates/. */
#include "component.h"

#include <errno.h>
#include <string.h>

#include "util.h"

static const struct component_port apiserver_ports[] = {{6443, "secure API"}};
static const struct component_probe apiserver_probes[] = {
    {6443, "/healthz", PROBE_TLS_CLUSTER_CA, NULL}};
static const struct component_template apiserver_templates[] = {
    {TEMPLATE_UNIT, "kube-apiserver.service", NULL},
    {TEMPLATE_FLAGS, "kube-apiserver.flags", NULL},
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
static const struct component_probe cm_probes[] = {{10257, "/healthz", PROBE_TLS_INSECURE, NULL}};
static const struct component_template cm_templates[] = {
    {TEMPLATE_UNIT, "kube-controller-manager.service", NULL},
    {TEMPLATE_FLAGS, "kube-controller-manager.flags", NULL},
};
static const char *const cm_pki[] = {"ca.pem", "ca-key.pem", "service-account-key.pem",
                                     "kube-controller-manager.kubeconfig", NULL};

static const struct component_port sched_ports[] = {{10259, "health"}};
static const struct component_probe sched_probes[] = {
    {10259, "/healthz", PROBE_TLS_INSECURE, NULL}};
static const struct component_template sched_templates[] = {
    {TEMPLATE_UNIT, "kube-scheduler.service", NULL},
    {TEMPLATE_FLAGS, "kube-scheduler.flags", NULL},
    {TEMPLATE_CONFIG, "kube-scheduler.yaml", NULL},
};
static const char *const sched_pki[] = {"kube-scheduler.kubeconfig", NULL};

/* nginx answers the load balancer's plain-HTTP health check by proxying to the API server. */
static const struct component_port nginx_ports[] = {{80, "health proxy"}};
static const struct component_probe nginx_probes[] = {
    {80, "/healthz", PROBE_PLAIN_HTTP, "kubernetes.default.svc.cluster.local"}};
static const struct component_template nginx_templates[] = {
    {TEMPLATE_SITE, "nginx-healthz.conf", "kubernetes.default.svc.cluster.local"},
};
static const char *const nginx_pki[] = {"ca.pem", NULL};
static const char *const nginx_check[] = {"nginx", "-t", NULL};

static const char *const after_apiserver[] = {"kube-apiserver", NULL};

#define ROW_ARRAYS(prefix)                                                                         \
        .ports = prefix##_ports, .n_ports = ELEMENTSOF(prefix##_ports), .probes = prefix##_probes, \
        .n_probes = ELEMENTSOF(prefix##_probes), .templates = prefix##_templates,                  \
        .n_templates = ELEMENTSOF(prefix##_templates), .pki = prefix##_pki

const struct component components[] = {
    {
        .name = "kube-apiserver",
        .label = "kube-apiserver",
        .unit = "kube-apiserver.service",
        .binary = "kube-apiserver",
        .renders_unit = true,
        .serves_api = true,
        .restart = RESTART_FULL,
        ROW_ARRAYS(apiserver),
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
};
const size_t n_components = ELEMENTSOF(components);

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
