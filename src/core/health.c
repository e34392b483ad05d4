/* Waiting for the control plane to be healthy: probes with a short, growing backoff, never a
 * fixed sleep, and an error that says which endpoint failed and how. */
#include "health.h"

#include <errno.h>
#include <string.h>
#include <time.h>

#include "http.h"
#include "fileio.h"
#include "lb.h"
#include "util.h"
#include "versions.h"

/* A file of dir, named by its kthw-2021 name, read through the target inside root. */
static int read_pki_in(const struct model *m, const char *root, const char *dir, char **ret,
                       size_t *ret_len, char **ret_path)
{
        _cleanup_free_ char *path = path_join(dir, model_pki_name(m, "ca.pem"));
        struct target t = {.root_fd = -1, .lock_fd = -1};
        if (!path)
                return -ENOMEM;
        if (ret_path) {
                bool in_root = root && *root && !streq(root, "/");
                *ret_path = in_root ? path_join(root, path) : strdup(path);
                if (!*ret_path)
                        return -ENOMEM;
        }
        int r = target_open(root, &t);
        if (r >= 0) {
                _cleanup_close_ int dfd = -1;
                const char *name;
                r = target_open_parent(&t, path, false, &dfd, &name);
                if (r >= 0)
                        r = read_file_at(dfd, name, 1 << 20, ret, ret_len);
                target_close(&t);
        }
        return r;
}

int health_read_ca(const struct model *m, const char *root, char **ret, size_t *ret_len,
                   char **ret_path)
{
        return read_pki_in(m, root, m->cfg.paths.lib_dir, ret, ret_len, ret_path);
}

/* etcd's client TLS: its CA and client certificate in [paths] etcd-dir, as etcdctl uses them.
 * libcurl reads the certificate and key itself, by their paths inside root. */
static int probe_etcd_tls(const struct model *m, const char *root, struct probe *p)
{
        const char *dir = m->cfg.paths.etcd_dir;
        bool in_root = root && *root && !streq(root, "/");
        _cleanup_free_ char *base = in_root ? path_join(root, dir) : strdup(dir);
        if (!base)
                return -ENOMEM;
        p->ca_error = read_pki_in(m, root, dir, &p->ca_pem, &p->ca_pem_len, &p->ca_path);
        if (p->ca_error == -ENOMEM)
                return -ENOMEM;
        p->cert_file = path_join(base, model_pki_name(m, "kubernetes.pem"));
        p->key_file = path_join(base, model_pki_name(m, "kubernetes-key.pem"));
        return p->cert_file && p->key_file ? 0 : -ENOMEM;
}

static int probe_init(const struct model *m, const char *root, const struct component *c,
                      const struct component_probe *cp, struct probe *p)
{
        /* etcd speaks the scheme of etcd-servers: the chapter's TLS or the edition's http */
        bool etcd_http = cp->tls == PROBE_ETCD_CLIENT && !version_etcd_tls(m);
        bool http = cp->tls == PROBE_PLAIN_HTTP || etcd_http;
        /* a default port stays out of the URL, as a load balancer would write it */
        bool default_port = cp->port == (http ? 80 : 443);
        *p = (struct probe){.component = c,
                            .name = c->name,
                            .unit = c->unit,
                            .port = cp->port,
                            .host_header = cp->host_header,
                            .insecure = cp->tls == PROBE_TLS_INSECURE,
                            .http = http,
                            .lb_stats = cp->tls == PROBE_LB_BACKENDS,
                            .expect = cp->expect};
        const char *host =
            cp->tls == PROBE_LB_VIP ? m->cfg.lb.virtual_ip : m->cfg.cluster.public_address;
        bool v6 = strchr(host, ':') != NULL;
        int r = p->lb_stats ? ((p->url = strdup(cp->path)) ? 0 : -ENOMEM)
                : cp->tls == PROBE_LB_VERSION || cp->tls == PROBE_LB_VIP
                    ? asprintf_safe(&p->url, "https://%s%s%s:%u%s", v6 ? "[" : "", host,
                                    v6 ? "]" : "", cp->port, cp->path)
                : default_port
                    ? asprintf_safe(&p->url, "%s://127.0.0.1%s", http ? "http" : "https", cp->path)
                    : asprintf_safe(&p->url, "%s://127.0.0.1:%u%s", http ? "http" : "https",
                                    cp->port, cp->path);
        if (r < 0)
                return -ENOMEM;
        if (cp->tls == PROBE_TLS_CLUSTER_CA || cp->tls == PROBE_LB_VERSION ||
            cp->tls == PROBE_LB_VIP) {
                p->ca_error = health_read_ca(m, root, &p->ca_pem, &p->ca_pem_len, &p->ca_path);
                if (p->ca_error == -ENOMEM)
                        return -ENOMEM;
        }
        if (cp->tls == PROBE_ETCD_CLIENT && !etcd_http)
                return probe_etcd_tls(m, root, p);
        return 0;
}

int health_probes_for(const struct model *m, const char *root, struct probe **ret, size_t *ret_n)
{
        size_t n = 0, k = 0;
        /* Only the paths the configured release serves (versions.c). */
        FOREACH_COMPONENT (c)
                for (size_t i = 0; model_runs(m, c) && i < c->n_probes; i++)
                        n += version_has_probe(m, &c->probes[i]);
        struct probe *p = calloc(n ? n : 1, sizeof(*p));
        if (!p)
                return -ENOMEM;
        FOREACH_COMPONENT (c)
                for (size_t i = 0; model_runs(m, c) && i < c->n_probes; i++) {
                        if (!version_has_probe(m, &c->probes[i]))
                                continue;
                        if (probe_init(m, root, c, &c->probes[i], &p[k++]) < 0) {
                                health_probes_free(p, k);
                                return -ENOMEM;
                        }
                }
        *ret = p;
        *ret_n = n;
        return 0;
}

void health_probes_free(struct probe *p, size_t n)
{
        for (size_t i = 0; p && i < n; i++) {
                free(p[i].url);
                free(p[i].ca_pem);
                free(p[i].ca_path);
                free(p[i].detail);
                free(p[i].cert_file);
                free(p[i].key_file);
        }
        free(p);
}

/* haproxy's own view: every server of the API servers' backend UP. */
static int probe_lb_stats(struct probe *p)
{
        struct lb_server *s = NULL;
        size_t n = 0;
        bool all = false;
        free(p->detail);
        p->detail = NULL;
        int r = lb_stats_read(p->url, LB_BACKEND, &s, &n);
        if (r < 0) {
                asprintf_safe(&p->detail, "haproxy's stats socket: %s", strerror(-r));
                return -EAGAIN;
        }
        _cleanup_free_ char *d = lb_servers_describe(s, n, &all);
        lb_servers_free(s, n);
        p->healthy = all;
        if (!all)
                asprintf_safe(&p->detail, "backend %s: %s", LB_BACKEND, d ? d : "?");
        return all ? 0 : -EAGAIN;
}

int health_probe_once(struct probe *p)
{
        if (p->lb_stats)
                return probe_lb_stats(p);
        if (p->ca_error < 0) {
                free(p->detail);
                p->detail = NULL;
                asprintf_safe(&p->detail, "cannot read the cluster CA %s: %s", p->ca_path,
                              strerror(-p->ca_error));
                return -EAGAIN;
        }
        struct http_call c = {.url = p->url,
                              .host_header = p->host_header,
                              .ca_pem = p->ca_pem,
                              .ca_pem_len = p->ca_pem_len,
                              .cert_file = p->cert_file,
                              .key_file = p->key_file,
                              .insecure_tls = p->insecure,
                              .allow_http = p->http,
                              .timeout_ms = 2000};
        int r = http_call_run(&c);
        free(p->detail);
        p->detail = NULL;
        p->status = c.status;
        if (r >= 0 && c.status == 200 && p->expect &&
            !(c.response && strstr(c.response, p->expect))) {
                size_t l = c.response ? strcspn(c.response, "\n") : 0;
                asprintf_safe(&p->detail, "HTTP 200 without %s: %.*s", p->expect,
                              (int)(l > 200 ? 200 : l), c.response ? c.response : "");
        } else if (r >= 0 && c.status == 200) {
                p->healthy = true;
        } else if (p->http && r >= 0 && (c.status == 502 || c.status == 504)) {
                /* the proxy answered, the API server behind it did not */
                asprintf_safe(&p->detail,
                              "%s answers but the API server behind it does not (HTTP %ld)",
                              p->name, c.status);
        } else if (p->http && r == -ECONNREFUSED) {
                asprintf_safe(&p->detail, "%s is not listening on 127.0.0.1:%u", p->name, p->port);
        } else if (r >= 0) {
                /* the body of a failed /healthz lists the failing checks */
                size_t l = c.response ? strcspn(c.response, "\n") : 0;
                asprintf_safe(&p->detail, "HTTP %ld%s%.*s", c.status, l ? ": " : "",
                              (int)(l > 200 ? 200 : l), c.response ? c.response : "");
        } else
                asprintf_safe(&p->detail, "%s", c.error ? c.error : strerror(-r));
        http_call_done(&c);
        return p->healthy ? 0 : -EAGAIN;
}

int health_wait(struct probe *p, size_t n, uint64_t timeout_usec, health_check_t check,
                void *userdata)
{
        long long start = now_usec();
        long long deadline = start + (long long)timeout_usec;
        long delay_ms =
            20; /* short at first: a stand-in is up in milliseconds, a real one in seconds */
        for (;;) {
                bool all = true;
                for (size_t i = 0; i < n; i++) {
                        if (p[i].healthy)
                                continue;
                        if (health_probe_once(&p[i]) == 0)
                                p[i].healthy_after_usec = now_usec() - start;
                        all = all && p[i].healthy;
                }
                if (all)
                        return 0;
                if (check) {
                        int r = check(userdata);
                        if (r < 0)
                                return r;
                }
                if (now_usec() >= deadline)
                        return -ETIMEDOUT;
                if (interrupted_by)
                        return -EINTR;
                struct timespec ts = {.tv_sec = delay_ms / 1000,
                                      .tv_nsec = (delay_ms % 1000) * 1000000L};
                nanosleep(&ts, NULL);
                delay_ms = delay_ms * 3 / 2;
                if (delay_ms > 500)
                        delay_ms = 500;
        }
}
