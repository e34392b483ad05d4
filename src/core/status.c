/* What the node is running now: each unit's state, each endpoint's health, and the API
 * server's version locally and through the cluster's public address. */
#include "status.h"

#include <errno.h>
#include <inttypes.h>
#include <stdio.h>
#include <string.h>

#include "bus.h"
#include "etcd.h"
#include "health.h"
#include "http.h"
#include "fileio.h"
#include "log.h"
#include "util.h"

static struct status_row *add_row(struct status *s, const char *component, const char *unit)
{
        if (ARRAY_RESERVE(s->rows, s->cap, s->n + 1) < 0) {
                s->oom = true;
                return NULL;
        }
        struct status_row *r = &s->rows[s->n++];
        *r = (struct status_row){.component = strdup(component), .unit = strdup(unit ? unit : "-")};
        return r;
}

/* "gitVersion": "v1.21.0" out of a /version answer, without a JSON library for one field. */
static char *git_version(const char *json)
{
        const char *p = json ? strstr(json, "\"gitVersion\"") : NULL;
        if (!p)
                return NULL;
        p = strchr(p + 12, '"');
        if (!p)
                return NULL;
        const char *e = strchr(p + 1, '"');
        return e ? strndup(p + 1, (size_t)(e - p - 1)) : NULL;
}

/* The cluster CA: the node's, else [pki] source-dir's (a workstation running verify, where
 * lib-dir holds none). */
struct ca {
        char *pem, *path;
        size_t len;
        int error;
};

static void ca_read(const struct model *m, const char *root, struct ca *ca)
{
        ca->error = health_read_ca(m, root, &ca->pem, &ca->len, &ca->path);
        /* another root is a node's tree: its own CA or none, never the source's */
        if (ca->error >= 0 || ca->error == -ENOMEM || (root && *root && !streq(root, "/")))
                return;
        _cleanup_free_ char *src = path_join(m->cfg.pki.source_dir, model_pki_name(m, "ca.pem"));
        if (src && read_file_trusted(src, 1 << 20, &ca->pem, &ca->len) >= 0)
                ca->error = 0;
}

/* Each controller of the inventory as the load balancer checks it: its /readyz on the
 * secure port, from wherever this runs. */
static void backend_rows(struct status *s, const struct model *m, const struct ca *ca)
{
        _cleanup_free_ const struct host **ctl = NULL;
        size_t n = 0;
        if (model_hosts_of(m, NODE_CONTROLLER, &ctl, &n) < 0) {
                s->oom = true;
                return;
        }
        for (size_t i = 0; i < n; i++) {
                _cleanup_free_ char *label = strjoin3("backend ", ctl[i]->name, NULL);
                struct status_row *r = label ? add_row(s, label, NULL) : NULL;
                if (!r)
                        return;
                const char *ip = model_host_ip(ctl[i]);
                bool v6 = strchr(ip, ':') != NULL;
                asprintf_safe(&r->target, "https://%s%s%s:%u/readyz", v6 ? "[" : "", ip,
                              v6 ? "]" : "", component_api_port());
                struct http_call c = {.url = r->target,
                                      .ca_pem = ca->pem,
                                      .ca_pem_len = ca->len,
                                      /* without the CA: the state, as haproxy's check sees it */
                                      .insecure_tls = ca->error < 0,
                                      .timeout_ms = 2000};
                int q = r->target ? http_call_run(&c) : -ENOMEM;
                r->ok = q >= 0 && c.status == 200;
                /* on the load balancer they are its backends: all must be UP */
                r->info = m->role != NODE_LB;
                if (r->ok)
                        r->detail = strdup("UP");
                else if (q >= 0)
                        asprintf_safe(&r->detail, "DOWN (HTTP %ld)", c.status);
                else
                        asprintf_safe(&r->detail, "DOWN (%s)", c.error ? c.error : strerror(-q));
                http_call_done(&c);
        }
}

static void version_row(struct status *s, const struct model *m, const struct ca *ca,
                        const char *label, const char *host)
{
        struct status_row *r = add_row(s, label, NULL);
        if (!r)
                return;
        bool v6 = strchr(host, ':') != NULL;
        asprintf_safe(&r->target, "https://%s%s%s:%u/version", v6 ? "[" : "", host, v6 ? "]" : "",
                      component_api_port());
        if (ca->error < 0) {
                r->ok = false;
                asprintf_safe(&r->detail, "cannot read the cluster CA %s: %s", ca->path,
                              strerror(-ca->error));
                return;
        }
        struct http_call c = {
            .url = r->target, .ca_pem = ca->pem, .ca_pem_len = ca->len, .timeout_ms = 3000};
        int q = r->target ? http_call_run(&c) : -ENOMEM;
        _cleanup_free_ char *v = q >= 0 && c.status == 200 ? git_version(c.response) : NULL;
        const char *want = m->cfg.cluster.version;
        r->ok = v && streq(v, want);
        if (r->ok)
                r->detail = strdup(v);
        else if (v)
                asprintf_safe(&r->detail, "%s (configured: %s)", v, want);
        else if (q >= 0)
                asprintf_safe(&r->detail, "HTTP %ld", c.status);
        else
                asprintf_safe(&r->detail, "%s", c.error ? c.error : strerror(-q));
        http_call_done(&c);
}

/* The API server's own view of etcd: the "[+]etcd ok" or "[-]etcd failed" line of
 * /readyz?verbose (the Kubernetes API health endpoints' documented listing). An API server that
 * lists no etcd check (or does not serve the listing) gets no row: nothing is known then. */
static void apiserver_etcd_row(struct status *s, const struct ca *ca)
{
        if (ca->error < 0)
                return;
        _cleanup_free_ char *url = NULL;
        if (asprintf_safe(&url, "https://127.0.0.1:%u/readyz?verbose", component_api_port()) < 0)
                return;
        struct http_call c = {
            .url = url, .ca_pem = ca->pem, .ca_pem_len = ca->len, .timeout_ms = 3000};
        int q = http_call_run(&c);
        const char *line = q >= 0 && c.response ? strstr(c.response, "]etcd ") : NULL;
        if (line && line - c.response >= 2 && line[-2] == '[') {
                struct status_row *row = add_row(s, "etcd (apiserver's view)", NULL);
                if (row) {
                        size_t l = strcspn(line - 2, "\n");
                        row->ok = line[-1] == '+';
                        row->target = strdup(url);
                        row->detail = strndup(line - 2, l > 200 ? 200 : l);
                }
        }
        http_call_done(&c);
}

/* One row per etcd member as the local member lists them: its ID, whether it leads, and its
 * own /health at its client URL (so a member that is down is named). */
static void etcd_rows(struct status *s, const struct model *m, const char *root)
{
        struct etcd_cluster c;
        if (etcd_cluster_collect(m, root, &c) < 0) {
                s->oom = true;
                return;
        }
        if (c.error) {
                struct status_row *row = add_row(s, "etcd members", NULL);
                if (row) {
                        row->detail = strdup(c.error);
                        row->target = strdup("127.0.0.1:2379");
                }
        }
        for (size_t i = 0; i < c.n; i++) {
                const struct etcd_member *e = &c.members[i];
                _cleanup_free_ char *label =
                    strjoin3("etcd member ", e->name[0] ? e->name : "?", NULL);
                struct status_row *row = label ? add_row(s, label, NULL) : NULL;
                if (!row)
                        break;
                row->ok = e->healthy;
                row->target = strdup(e->client_url ? e->client_url : "-");
                asprintf_safe(&row->detail, "id %016" PRIx64 "%s, %s", e->id,
                              e->leader ? ", leader" : "",
                              e->healthy  ? "healthy"
                              : e->detail ? e->detail
                                          : "not healthy");
        }
        etcd_cluster_done(&c);
}

int status_collect(const struct model *m, const char *root, struct status *s)
{
        *s = (struct status){.all_ok = true};
        struct probe *probes = NULL;
        size_t n = 0;
        struct bus *b = NULL;
        int r = health_probes_for(m, root, &probes, &n);
        if (r < 0)
                return r;
        bool have_bus = bus_open(&b) >= 0;
        for (size_t i = 0; i < n; i++) {
                struct status_row *row = add_row(s, probes[i].component->label, probes[i].unit);
                if (!row)
                        break;
                struct unit_status st = {0};
                if (have_bus && bus_unit_status(b, probes[i].unit, &st) >= 0) {
                        asprintf_safe(&row->state, "%s/%s", st.active_state ? st.active_state : "?",
                                      st.sub_state ? st.sub_state : "?");
                        row->pid = st.main_pid;
                        row->restarts = st.n_restarts;
                } else
                        row->state = strdup(have_bus ? "not loaded" : "no systemd");
                unit_status_done(&st);
                row->target = strdup(probes[i].url);
                row->ok = health_probe_once(&probes[i]) == 0;
                row->detail = strdup(row->ok ? "ok" : probes[i].detail ? probes[i].detail : "?");
        }
        bus_close(b);
        health_probes_free(probes, n);
        /* /version with the cluster CA: here when this host serves the API, and through the
         * public address (the load balancer) from any host */
        struct ca ca = {0};
        ca_read(m, root, &ca);
        if (ca.error == -ENOMEM)
                s->oom = true;
        const struct component *api = component_api();
        bool api_here = api && model_runs(m, api);
        bool etcd_here = model_runs_etcd(m);
        if (api_here && etcd_here)
                apiserver_etcd_row(s, &ca);
        if (api_here)
                version_row(s, m, &ca, "version (local)", "127.0.0.1");
        version_row(s, m, &ca, "version (public)", m->cfg.cluster.public_address);
        backend_rows(s, m, &ca);
        free(ca.pem);
        free(ca.path);
        if (etcd_here)
                etcd_rows(s, m, root);
        for (size_t i = 0; i < s->n; i++)
                s->all_ok = s->all_ok && (s->rows[i].ok || s->rows[i].info);
        return s->oom ? -ENOMEM : 0;
}

void status_done(struct status *s)
{
        for (size_t i = 0; i < s->n; i++) {
                free(s->rows[i].component);
                free(s->rows[i].unit);
                free(s->rows[i].state);
                free(s->rows[i].target);
                free(s->rows[i].detail);
        }
        free(s->rows);
        *s = (struct status){0};
}
