/* Unit tests for the component table's invariants and for the service restart decision. */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "component.h"
#include "model.h"
#include "plan.h"
#include "service.h"
#include "tap.h"
#include "util.h"

static void test_unique(void)
{
        bool names = true, units = true, ports = true;
        FOREACH_COMPONENT (a)
                FOREACH_COMPONENT (b) {
                        if (a >= b)
                                continue;
                        names = names && !streq(a->name, b->name);
                        units = units && !streq(a->unit, b->unit);
                        for (size_t i = 0; i < a->n_ports; i++)
                                for (size_t j = 0; j < b->n_ports; j++)
                                        ports = ports && (a->role != b->role ||
                                                          a->ports[i].port != b->ports[j].port);
                }
        ok(names, "component names are unique");
        ok(units, "component units are unique");
        ok(ports, "component ports are unique on each role's hosts");
}

static void test_rows(void)
{
        size_t apis = 0;
        FOREACH_COMPONENT (c) {
                apis += c->serves_api;
                ok(endswith(c->unit, ".service"), "%s: unit %s is a service", c->name, c->unit);
                ok(!!c->binary + !!c->package + !!c->artifact == 1,
                   "%s: one provider, a binary, a package or an artifact of its own", c->name);
                bool bin_known = !c->binary;
                for (int b = 0; c->binary && b < _BINARY_MAX; b++)
                        bin_known = bin_known || streq(binary_names[b], c->binary);
                ok(bin_known, "%s: its binary is one the release ships", c->name);
                ok(!c->package || (c->install_hint && c->purpose),
                   "%s: a package comes with an install hint and a purpose", c->name);
                ok(c->renders_unit == (component_template(c, TEMPLATE_UNIT) != NULL),
                   "%s: a unit template exactly when kubestrap renders the unit", c->name);
                ok(!component_template(c, TEMPLATE_SITE) || c->config_dir,
                   "%s: a site needs the directory it goes in", c->name);
                ok(c->n_probes > 0, "%s: has a health probe", c->name);
                bool probe_ports = true;
                for (size_t i = 0; i < c->n_probes; i++) {
                        /* a unix socket (haproxy's stats) or the virtual IP is no port of
                         * its own */
                        bool found = c->probes[i].tls == PROBE_LB_BACKENDS ||
                                     c->probes[i].tls == PROBE_LB_VIP;
                        for (size_t j = 0; j < c->n_ports; j++)
                                found = found || c->ports[j].port == c->probes[i].port;
                        probe_ports = probe_ports && found;
                }
                ok(probe_ports, "%s: its probes ask its own ports", c->name);
                bool pki_known = true;
                for (const char *const *f = c->pki; f && *f; f++) {
                        bool found = false;
                        for (size_t i = 0; i < n_pki_files; i++)
                                found = found || streq(pki_files[i].name, *f);
                        pki_known = pki_known && found;
                }
                ok(pki_known, "%s: its PKI files are among [pki] source-dir's", c->name);
                bool same_role = true;
                for (const char *const *a = c->after; a && *a; a++)
                        same_role =
                            same_role && component_find(*a) && component_find(*a)->role == c->role;
                ok(same_role, "%s: what it starts after runs on the same hosts", c->name);
                ok(!c->check_staged || strv_contains((char **)c->check_staged, "{}"),
                   "%s: its staged-file check names the file ({})", c->name);
        }
        is_int((int)apis, 1, "exactly one component serves the API");
        is_int((int)component_api_port(), 6443, "the API port comes from its row");
}

static void test_templates_exist(void)
{
        const char *top = getenv("top_srcdir");
        if (!top) {
                ok(1, "# SKIP top_srcdir not set: templates not checked");
                return;
        }
        FOREACH_COMPONENT (c)
                for (size_t i = 0; i < c->n_templates; i++) {
                        char path[1024];
                        snprintf(path, sizeof(path), "%s/templates/%s", top, c->templates[i].name);
                        ok(access(path, R_OK) == 0, "%s: template %s exists", c->name,
                           c->templates[i].name);
                }
}

static void test_order(void)
{
        const struct component **order = calloc(n_components, sizeof(*order));
        if (!order)
                abort();
        is_int(component_start_order(order, n_components), 0,
               "dependencies name existing rows and have no cycle");
        bool respects = true;
        for (size_t k = 0; k < n_components; k++)
                for (const char *const *a = order[k]->after; a && *a; a++) {
                        const struct component *d = component_find(*a);
                        bool before = false;
                        for (size_t j = 0; j < k; j++)
                                before = before || order[j] == d;
                        respects = respects && d && before;
                }
        ok(respects, "start order puts every component after what it needs");
        is_str(order[0]->name, "etcd", "etcd starts first (when [etcd] turns it on)");
        is_str(order[1]->name, "kube-apiserver", "then the API server");
        is_int(component_start_order(order, n_components - 1), -ENOBUFS, "short array refused");
        free(order);
}

/* ---- the restart decision ---- */

static struct item mk(enum item_role role, const struct component *c, const char *path,
                      enum item_action a, const char *content)
{
        return (struct item){.kind = role == ROLE_SITE_LINK ? ITEM_SYMLINK : ITEM_FILE,
                             .role = role,
                             .component = c,
                             .path = (char *)path,
                             .action = a,
                             .content = (char *)content};
}

static void test_decide(void)
{
        const struct component *api = component_find("kube-apiserver");
        const struct component *sched = component_find("kube-scheduler");
        const struct component *cm = component_find("kube-controller-manager");
        const struct component *ngx = component_find("nginx");
        struct item items[] = {
            mk(ROLE_UNIT, api, "/u/kube-apiserver.service", ACTION_NONE,
               "ExecStart=/b/kube-apiserver --tls-cert-file=/l/kubernetes.pem"),
            mk(ROLE_UNIT, cm, "/u/kube-controller-manager.service", ACTION_NONE,
               "ExecStart=/b/kube-controller-manager"),
            mk(ROLE_UNIT, sched, "/u/kube-scheduler.service", ACTION_NONE,
               "ExecStart=/b/kube-scheduler --config=/c/kube-scheduler.yaml"),
            mk(ROLE_CONFIG, sched, "/c/kube-scheduler.yaml", ACTION_NONE,
               "kubeconfig: /l/kube-scheduler.kubeconfig"),
            mk(ROLE_PKI, NULL, "/l/kubernetes.pem", ACTION_NONE, "x"),
            mk(ROLE_PKI, NULL, "/l/kube-scheduler.kubeconfig", ACTION_NONE, "x"),
            mk(ROLE_SITE, ngx, "/n/sites-available/site", ACTION_NONE, "server {}"),
            mk(ROLE_SITE_LINK, ngx, "/n/sites-enabled/site", ACTION_NONE, NULL),
        };
        struct plan p = {.items = items, .n_items = ELEMENTSOF(items)};
        struct service_unit u[] = {
            {.component = api}, {.component = cm}, {.component = sched}, {.component = ngx}};
        size_t n = ELEMENTSOF(u);
        bool reload = true;

        /* Nothing changed, everything runs: nothing to do. */
        for (size_t i = 0; i < n; i++)
                u[i].running = true;
        service_changes(&p, u, n, &reload);
        service_decide(u, n);
        ok(!reload, "unchanged: no daemon reload");
        bool none = true;
        for (size_t i = 0; i < n; i++)
                none = none && !u[i].queue && u[i].action == SERVICE_UNCHANGED;
        ok(none, "unchanged and running: no jobs");

        /* Not running: started, changed or not. */
        u[1].running = false;
        service_changes(&p, u, n, &reload);
        service_decide(u, n);
        ok(u[1].queue && u[1].mode == BUS_START && u[1].action == SERVICE_STARTED,
           "not running: started");
        u[1].running = true;

        /* A PKI file a unit names changed: only that unit restarts, no daemon reload. */
        items[4].action = ACTION_UPDATE;
        service_changes(&p, u, n, &reload);
        service_decide(u, n);
        ok(!reload, "PKI change: no daemon reload");
        ok(u[0].queue && u[0].mode == BUS_RESTART && u[0].action == SERVICE_RESTARTED,
           "PKI change: the API server restarts");
        ok(!u[1].queue && !u[2].queue && !u[3].queue, "PKI change: the others stay");
        items[4].action = ACTION_NONE;

        /* One level down: the kubeconfig named in kube-scheduler.yaml. */
        items[5].action = ACTION_UPDATE;
        service_changes(&p, u, n, &reload);
        service_decide(u, n);
        ok(u[2].queue && u[2].mode == BUS_RESTART, "kubeconfig in the yaml: scheduler restarts");
        ok(!u[0].queue && !u[1].queue, "kubeconfig in the yaml: API server, cm stay");
        items[5].action = ACTION_NONE;

        /* A unit file changed: daemon reload and restart. */
        items[1].action = ACTION_UPDATE;
        service_changes(&p, u, n, &reload);
        service_decide(u, n);
        ok(reload, "unit file change: daemon reload");
        ok(u[1].queue && u[1].mode == BUS_RESTART, "unit file change: that unit restarts");
        items[1].action = ACTION_NONE;

        /* The site changed: nginx reloads, nobody restarts, no daemon reload. */
        items[7].action = ACTION_CREATE;
        service_changes(&p, u, n, &reload);
        service_decide(u, n);
        ok(!reload, "site change: no daemon reload");
        ok(u[3].queue && u[3].mode == BUS_RELOAD_OR_RESTART && u[3].action == SERVICE_RESTARTED,
           "site link change: nginx reloads");
        ok(!u[0].queue && !u[1].queue && !u[2].queue, "site change: kube-* stay");
        u[3].running = false;
        service_decide(u, n);
        ok(u[3].mode == BUS_START, "site change, nginx stopped: started");
}

int main(void)
{
        test_unique();
        test_rows();
        test_templates_exist();
        test_order();
        test_decide();
        return done_testing();
}
