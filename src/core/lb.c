/* The front-end load balancer: the seed's gcloud commands with the configuration's values, and
 * haproxy's stats socket read for the state of each API server behind it. */
#include "lb.h"

#include <errno.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/time.h>
#include <sys/un.h>
#include <unistd.h>

#include "fileio.h"
#include "util.h"

/* Google's health checkers, as the seed's firewall rule lets them in. */
#define GCP_HEALTH_CHECK_RANGES "209.85.152.0/22,209.85.204.0/22,35.191.0.0/16"

/* One word for the shell as it is: nothing it would expand, split or redirect, and no option. */
static bool shell_word(const char *s)
{
        if (!*s || s[0] == '-')
                return false;
        for (const char *p = s; *p; p++)
                if (!((*p >= 'a' && *p <= 'z') || (*p >= 'A' && *p <= 'Z') ||
                      (*p >= '0' && *p <= '9') || strchr("._:,/-", *p)))
                        return false;
        return true;
}

/* The nginx proxy's probe is what Google's health check asks: its path and Host header. */
static const struct component_probe *proxy_probe(void)
{
        FOREACH_COMPONENT (c)
                for (size_t i = 0; i < c->n_probes; i++)
                        if (c->probes[i].tls == PROBE_PLAIN_HTTP && c->probes[i].host_header)
                                return &c->probes[i];
        return NULL;
}

int lb_gcloud_script(const struct model *m, char **ret, char **ret_error)
{
        _cleanup_free_ const struct host **ctl = NULL;
        _cleanup_(buf_donep) struct buf inst = {0};
        size_t n = 0;
        const struct component_probe *hc = proxy_probe();
        if (!hc)
                return -ENOENT;
        int r = model_controllers(m, "the target pool's instances", &ctl, &n, ret_error);
        if (r < 0)
                return r;
        for (size_t i = 0; i < n; i++) {
                r = buf_printf(&inst, "%s%s", i ? "," : "", ctl[i]->name);
                if (r < 0)
                        return r;
        }
        const char *region = m->cfg.lb.region;
        const struct {
                const char *key, *value;
        } words[] = {
            {"[cluster] name", m->cfg.cluster.name},
            {"[cluster] public-address", m->cfg.cluster.public_address},
            {"[lb] network", m->cfg.lb.network},
            {"[lb] region", region[0] ? region : "-"},
            {"[host NAME] sections", inst.data ? inst.data : ""},
        };
        for (size_t i = 0; i < ELEMENTSOF(words); i++)
                if (!shell_word(words[i].value) && !(i == 3 && !region[0])) {
                        asprintf_safe(ret_error,
                                      "%s: %s = '%s' is not one plain shell word; refusing to "
                                      "print it into a command",
                                      m->config_path, words[i].key, words[i].value);
                        return -EINVAL;
                }
        _cleanup_free_ char *region_arg =
            region[0] ? strdup(region) : strdup("$(gcloud config get-value compute/region)");
        if (!region_arg)
                return -ENOMEM;
        const char *name = m->cfg.cluster.name;
        /* The seed's block, line for line (its "   --instances" has three blanks, kept). */
        struct buf b = {0};
        r = buf_printf(&b,
                       "{\n"
                       "  gcloud compute http-health-checks create %s \\\n"
                       "    --description \"Kubernetes Health Check\" \\\n"
                       "    --host \"%s\" \\\n"
                       "    --request-path \"%s\"\n"
                       "\n"
                       "  gcloud compute firewall-rules create %s-allow-health-check \\\n"
                       "    --network %s \\\n"
                       "    --source-ranges " GCP_HEALTH_CHECK_RANGES " \\\n"
                       "    --allow tcp\n"
                       "\n"
                       "  gcloud compute target-pools create %s-target-pool \\\n"
                       "    --http-health-check %s\n"
                       "\n"
                       "  gcloud compute target-pools add-instances %s-target-pool \\\n"
                       "   --instances %s\n"
                       "\n"
                       "  gcloud compute forwarding-rules create %s-forwarding-rule \\\n"
                       "    --address %s \\\n"
                       "    --ports %u \\\n"
                       "    --region %s \\\n"
                       "    --target-pool %s-target-pool\n"
                       "}\n",
                       name, hc->host_header, hc->path, m->cfg.lb.network, m->cfg.lb.network, name,
                       name, name, inst.data, name, m->cfg.cluster.public_address,
                       component_api_port(), region_arg, name);
        if (r < 0 || !(*ret = buf_steal(&b))) {
                buf_done(&b);
                return -ENOMEM;
        }
        return 0;
}

void lb_servers_free(struct lb_server *s, size_t n)
{
        for (size_t i = 0; s && i < n; i++) {
                free(s[i].name);
                free(s[i].status);
                free(s[i].check);
                free(s[i].addr);
        }
        free(s);
}

/* Field i of a CSV line (haproxy quotes nothing in "show stat"), as a new string. */
static char *csv_field(const char *line, size_t len, int i)
{
        const char *p = line, *end = line + len;
        for (; i > 0 && p < end; i--) {
                const char *c = memchr(p, ',', (size_t)(end - p));
                if (!c)
                        return NULL;
                p = c + 1;
        }
        const char *c = memchr(p, ',', (size_t)(end - p));
        return strndup(p, c ? (size_t)(c - p) : (size_t)(end - p));
}

int lb_stats_parse(const char *csv, const char *backend, struct lb_server **ret, size_t *ret_n)
{
        /* columns by name, from the "# pxname,svname,..." header: their order is haproxy's */
        static const char *const want[] = {"pxname",       "svname",  "status",
                                           "check_status", "lastchg", "addr"};
        int col[ELEMENTSOF(want)];
        struct lb_server *s = NULL;
        size_t n = 0, cap = 0;
        if (!startswith(csv, "# "))
                return -EBADMSG;
        const char *nl = strchr(csv, '\n');
        size_t hlen = nl ? (size_t)(nl - csv) : strlen(csv);
        for (size_t k = 0; k < ELEMENTSOF(want); k++) {
                col[k] = -1;
                for (int i = 0;; i++) {
                        _cleanup_free_ char *f = csv_field(csv + 2, hlen - 2, i);
                        if (!f)
                                break;
                        if (streq(f, want[k])) {
                                col[k] = i;
                                break;
                        }
                }
                /* addr came with haproxy 1.9; the rest is older */
                if (col[k] < 0 && !streq(want[k], "addr"))
                        return -EBADMSG;
        }
        for (const char *l = nl ? nl + 1 : NULL; l && *l;) {
                const char *e = strchr(l, '\n');
                size_t len = e ? (size_t)(e - l) : strlen(l);
                _cleanup_free_ char *px = csv_field(l, len, col[0]);
                _cleanup_free_ char *sv = csv_field(l, len, col[1]);
                if (px && sv && streq(px, backend) && !streq(sv, "BACKEND") &&
                    !streq(sv, "FRONTEND")) {
                        if (ARRAY_RESERVE(s, cap, n + 1) < 0) {
                                lb_servers_free(s, n);
                                return -ENOMEM;
                        }
                        _cleanup_free_ char *chg = csv_field(l, len, col[4]);
                        s[n] = (struct lb_server){
                            .name = TAKE_PTR(sv),
                            .status = csv_field(l, len, col[2]),
                            .check = csv_field(l, len, col[3]),
                            .addr = col[5] >= 0 ? csv_field(l, len, col[5]) : strdup(""),
                        };
                        n++;
                        if (chg)
                                (void)safe_atou(chg, &s[n - 1].last_change_s);
                        if (!s[n - 1].status || !s[n - 1].check || !s[n - 1].addr) {
                                lb_servers_free(s, n);
                                return -ENOMEM;
                        }
                }
                l = e ? e + 1 : NULL;
        }
        *ret = s;
        *ret_n = n;
        return 0;
}

int lb_stats_read(const char *socket_path, const char *backend, struct lb_server **ret,
                  size_t *ret_n)
{
        struct sockaddr_un sa = {.sun_family = AF_UNIX};
        if (strlen(socket_path) >= sizeof(sa.sun_path))
                return -ENAMETOOLONG;
        strcpy(sa.sun_path, socket_path);
        _cleanup_close_ int fd = socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0);
        if (fd < 0)
                return -errno;
        /* a wedged haproxy must not hang a health wait or a status */
        struct timeval tv = {.tv_sec = 2};
        if (setsockopt(fd, SOL_SOCKET, SO_RCVTIMEO, &tv, sizeof(tv)) < 0 ||
            setsockopt(fd, SOL_SOCKET, SO_SNDTIMEO, &tv, sizeof(tv)) < 0)
                return -errno;
        if (connect(fd, (struct sockaddr *)&sa, sizeof(sa)) < 0)
                return -errno;
        /* one command, then haproxy answers and closes (non-interactive mode) */
        int r = write_all(fd, "show stat\n", 10);
        if (r < 0)
                return r;
        _cleanup_(buf_donep) struct buf b = {0};
        for (;;) {
                char chunk[4096];
                ssize_t k = read(fd, chunk, sizeof(chunk));
                if (k < 0 && errno == EINTR)
                        continue;
                if (k < 0)
                        return errno == EAGAIN ? -ETIMEDOUT : -errno;
                if (k == 0)
                        break;
                if (b.len + (size_t)k > (1u << 20))
                        return -EFBIG; /* far beyond one backend's few servers */
                r = buf_append(&b, chunk, (size_t)k);
                if (r < 0)
                        return r;
        }
        return lb_stats_parse(b.data ? b.data : "", backend, ret, ret_n);
}

char *lb_servers_describe(const struct lb_server *s, size_t n, bool *ret_all_up)
{
        struct buf b = {0};
        bool all = n > 0;
        int r = n ? 0 : buf_puts(&b, "no servers");
        for (size_t i = 0; i < n && r >= 0; i++) {
                bool up = streq(s[i].status, "UP");
                all = all && up;
                r = buf_printf(&b, "%s%s %s", i ? ", " : "", s[i].name, s[i].status);
                if (r >= 0 && !up && s[i].check[0])
                        r = buf_printf(&b, " (%s)", s[i].check);
        }
        if (r < 0) {
                buf_done(&b);
                return NULL;
        }
        *ret_all_up = all;
        return buf_steal(&b);
}
