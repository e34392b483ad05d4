/* Waiting for the control plane to be healthy: probes with a short, growing backoff, never a
 * fixed sleep, and an error that says which endpoint failed and how. */
#include "health.h"

#include <errno.h>
#include <string.h>
#include <time.h>

#include "http.h"
#include "render.h"
#include "util.h"

int health_probes_for(const struct model *m, struct probe **ret, size_t *ret_n)
{
        const char *lib = model_get(m, "paths.lib-dir");
        struct probe *p = calloc(4, sizeof(*p));
        if (!p)
                return -ENOMEM;
        p[0] = (struct probe){.name = "kube-apiserver",
                              .unit = "kube-apiserver.service",
                              .url = strdup("https://127.0.0.1:6443/healthz"),
                              .ca_file = path_join(lib, "ca.pem")};
        p[1] = (struct probe){.name = "kube-controller-manager",
                              .unit = "kube-controller-manager.service",
                              .url = strdup("https://127.0.0.1:10257/healthz"),
                              .insecure = true};
        p[2] = (struct probe){.name = "kube-scheduler",
                              .unit = "kube-scheduler.service",
                              .url = strdup("https://127.0.0.1:10259/healthz"),
                              .insecure = true};
        p[3] = (struct probe){.name = "nginx",
                              .unit = "nginx.service",
                              .url = strdup("http://127.0.0.1/healthz"),
                              .host_header = NGINX_SITE_NAME,
                              .http = true};
        for (int i = 0; i < 4; i++)
                if (!p[i].url || (i == 0 && !p[i].ca_file)) {
                        health_probes_free(p, 4);
                        return -ENOMEM;
                }
        *ret = p;
        *ret_n = 4;
        return 0;
}

void health_probes_free(struct probe *p, size_t n)
{
        for (size_t i = 0; p && i < n; i++) {
                free(p[i].url);
                free(p[i].ca_file);
                free(p[i].detail);
        }
        free(p);
}

int health_probe_once(struct probe *p)
{
        struct http_call c = {.url = p->url,
                              .host_header = p->host_header,
                              .ca_file = p->ca_file,
                              .insecure_tls = p->insecure,
                              .allow_http = p->http,
                              .timeout_ms = 2000};
        int r = http_call_run(&c);
        free(p->detail);
        p->detail = NULL;
        p->status = c.status;
        if (r >= 0 && c.status == 200) {
                p->healthy = true;
        } else if (p->http && r >= 0 && (c.status == 502 || c.status == 504)) {
                /* nginx answered, the API server behind it did not */
                asprintf_safe(&p->detail,
                              "nginx answers but the API server behind it does not (HTTP %ld)",
                              c.status);
        } else if (p->http && r == -ECONNREFUSED) {
                asprintf_safe(&p->detail, "nginx is not listening on 127.0.0.1:80");
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
