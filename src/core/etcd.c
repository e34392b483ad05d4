/* etcd beyond its table row: member IDs, the data directory's member, the bootstrap decision
 * and the cluster's members for status. */
#include "etcd.h"

#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "digest.h"
#include "http.h"
#include "jsonread.h"
#include "util.h"
#include "versions.h"

static int cmp_str(const void *a, const void *b)
{
        return strcmp(*(char *const *)a, *(char *const *)b);
}

int etcd_member_id(const char *initial_cluster, const char *name, const char *token, uint64_t *ret)
{
        _cleanup_free_ char *copy = strdup(initial_cluster);
        _cleanup_strv_free_ char **urls = NULL;
        char *save = NULL;
        int r = copy ? 0 : -ENOMEM;
        /* a member may be listed once per peer URL: NAME=URL1,NAME=URL2 */
        for (char *tok = copy ? strtok_r(copy, ",", &save) : NULL; tok && r >= 0;
             tok = strtok_r(NULL, ",", &save)) {
                char *eq = strchr(tok, '=');
                if (eq && (size_t)(eq - tok) == strlen(name) &&
                    strncmp(tok, name, strlen(name)) == 0)
                        r = strv_extend(&urls, eq + 1);
        }
        if (r < 0)
                return r;
        if (!urls)
                return -ENOENT;
        qsort(urls, strv_length(urls), sizeof(*urls), cmp_str);
        struct buf b = {0};
        for (char **u = urls; *u && r >= 0; u++)
                r = buf_puts(&b, *u);
        if (r >= 0)
                r = buf_puts(&b, token);
        unsigned char h[20];
        if (r >= 0)
                r = digest_sha1_raw(b.data, b.len, h);
        buf_done(&b);
        if (r < 0)
                return r;
        uint64_t id = 0;
        for (int i = 0; i < 8; i++)
                id = id << 8 | h[i];
        *ret = id;
        return 0;
}

/* A protobuf varint at *p (below end); advances *p. */
static int varint(const unsigned char **p, const unsigned char *end, uint64_t *ret)
{
        uint64_t v = 0;
        for (unsigned shift = 0; shift < 64; shift += 7) {
                if (*p >= end)
                        return -EBADMSG;
                unsigned char c = *(*p)++;
                v |= (uint64_t)(c & 0x7f) << shift;
                if (!(c & 0x80)) {
                        *ret = v;
                        return 0;
                }
        }
        return -EBADMSG;
}

/* The varint fields 1 and 2 of a message, and field 3's bytes if it has them: walpb.Record is
 * {type, crc, data}, etcdserverpb.Metadata {NodeID, ClusterID}. */
static int fields(const unsigned char *p, const unsigned char *end, uint64_t *f1, uint64_t *f2,
                  const unsigned char **f3, size_t *f3_len)
{
        while (p < end) {
                uint64_t key, v;
                int r = varint(&p, end, &key);
                if (r < 0)
                        return r;
                if ((key & 7) == 0) {
                        r = varint(&p, end, &v);
                        if (r < 0)
                                return r;
                        if (key >> 3 == 1)
                                *f1 = v;
                        else if (key >> 3 == 2)
                                *f2 = v;
                } else if ((key & 7) == 2) {
                        r = varint(&p, end, &v);
                        if (r < 0 || v > (uint64_t)(end - p))
                                return -EBADMSG;
                        if (key >> 3 == 3 && f3) {
                                *f3 = p;
                                *f3_len = (size_t)v;
                        }
                        p += v;
                } else
                        return -EBADMSG;
        }
        return 0;
}

/* The first metadata record in the opening frames of a WAL file: each frame is a little-endian
 * 64-bit length (its top byte, when set, holding the padding to 8 bytes) and a record. */
static int wal_metadata(const unsigned char *buf, size_t n, uint64_t *ret_node,
                        uint64_t *ret_cluster)
{
        size_t pos = 0;
        for (int rec = 0; rec < 4 && pos + 8 <= n; rec++) {
                uint64_t lf = 0;
                for (int i = 7; i >= 0; i--)
                        lf = lf << 8 | buf[pos + (size_t)i];
                uint64_t len = lf & 0x00ffffffffffffffULL;
                uint64_t pad = (lf >> 63) ? (lf >> 56) & 7 : 0;
                if (len > n - pos - 8 || pad > n - pos - 8 - len)
                        return -EBADMSG;
                const unsigned char *r = buf + pos + 8;
                uint64_t type = 0, crc = 0;
                const unsigned char *data = NULL;
                size_t data_len = 0;
                int q = fields(r, r + len, &type, &crc, &data, &data_len);
                if (q < 0)
                        return q;
                if (type == 1) { /* metadataType */
                        uint64_t node = 0, cluster = 0;
                        q = data ? fields(data, data + data_len, &node, &cluster, NULL, NULL)
                                 : -EBADMSG;
                        if (q < 0 || node == 0)
                                return -EBADMSG;
                        *ret_node = node;
                        *ret_cluster = cluster;
                        return 0;
                }
                pos += 8 + len + pad;
        }
        return -EBADMSG;
}

int etcd_data_member(struct target *t, const char *data_dir, uint64_t *ret_node,
                     uint64_t *ret_cluster)
{
        _cleanup_free_ char *wal = path_join(data_dir, "member/wal");
        _cleanup_close_ int dfd = -1;
        if (!wal)
                return -ENOMEM;
        int r = target_open_dir(t, wal, false, &dfd);
        if (r < 0)
                return r;
        /* O_PATH cannot be listed: a readable descriptor of the same directory */
        int lfd = openat(dfd, ".", O_RDONLY | O_DIRECTORY | O_CLOEXEC);
        if (lfd < 0)
                return -errno;
        DIR *d = fdopendir(lfd);
        if (!d) {
                r = -errno;
                close(lfd);
                return r;
        }
        /* the oldest log opens with the metadata: the lowest "<seq>-<index>.wal" */
        _cleanup_free_ char *first = NULL;
        for (struct dirent *de = readdir(d); de; de = readdir(d)) {
                size_t l = strlen(de->d_name);
                if (l < 5 || !streq(de->d_name + l - 4, ".wal") || de->d_name[0] == '.')
                        continue;
                if (first && strcmp(de->d_name, first) >= 0)
                        continue;
                free(first);
                first = strdup(de->d_name);
                if (!first) {
                        closedir(d);
                        return -ENOMEM;
                }
        }
        closedir(d);
        if (!first)
                return -ENOENT;
        _cleanup_close_ int fd = open_regular_at(dfd, first);
        if (fd < 0)
                return fd;
        unsigned char buf[4096];
        ssize_t n = pread(fd, buf, sizeof(buf), 0);
        if (n < 0)
                return -errno;
        return wal_metadata(buf, (size_t)n, ret_node, ret_cluster);
}

int etcd_prepare(struct model *m, struct target *t, char **ret_error)
{
        /* a load balancer runs no member */
        if (!model_runs_etcd(m))
                return 0;
        uint64_t id, node = 0, cluster = 0;
        int r = etcd_member_id(m->cfg.etcd.initial_cluster, m->cfg.etcd.name,
                               m->cfg.etcd.cluster_token, &id);
        if (r == -ENOENT) {
                asprintf_safe(ret_error,
                              "%s: [etcd] name '%s' is not a member of initial-cluster (%s); "
                              "set [etcd] name, or run for a [host NAME] with --host",
                              m->config_path, m->cfg.etcd.name, m->cfg.etcd.initial_cluster);
                return -EINVAL;
        }
        if (r < 0)
                return r;
        const char *state = "new";
        r = etcd_data_member(t, m->cfg.etcd.data_dir, &node, &cluster);
        if (r >= 0) {
                /* a member already: never bootstrap it again, unless our unit says new */
                _cleanup_free_ char *unit = path_join(m->cfg.paths.unit_dir, "etcd.service");
                _cleanup_free_ char *text = NULL;
                _cleanup_close_ int dfd = -1;
                const char *name = NULL;
                state = "existing";
                if (unit && target_open_parent(t, unit, false, &dfd, &name) >= 0 &&
                    read_file_at(dfd, name, 1 << 20, &text, NULL) >= 0 &&
                    strstr(text, "--initial-cluster-state new"))
                        state = "new";
        } else if (r != -ENOENT && r != -EBADMSG)
                return r;
        return model_set(m, "etcd.initial-cluster-state", state);
}

static void member_done(struct etcd_member *e)
{
        free(e->name);
        free(e->client_url);
        free(e->detail);
}

void etcd_cluster_done(struct etcd_cluster *c)
{
        for (size_t i = 0; i < c->n; i++)
                member_done(&c->members[i]);
        free(c->members);
        free(c->error);
        *c = (struct etcd_cluster){0};
}

/* The client TLS of the chapter's etcdctl: --cacert, --cert, --key from /etc/etcd. */
struct etcd_tls {
        char *ca, *cert, *key;
        bool http;
};

static void etcd_tls_done(struct etcd_tls *tls)
{
        free(tls->ca);
        free(tls->cert);
        free(tls->key);
}

static int etcd_tls_init(const struct model *m, const char *root, struct etcd_tls *tls)
{
        *tls = (struct etcd_tls){.http = !version_etcd_tls(m)};
        if (tls->http)
                return 0;
        const char *dir = m->cfg.paths.etcd_dir;
        bool in_root = root && *root && !streq(root, "/");
        _cleanup_free_ char *base = in_root ? path_join(root, dir) : strdup(dir);
        if (!base)
                return -ENOMEM;
        tls->ca = path_join(base, model_pki_name(m, "ca.pem"));
        tls->cert = path_join(base, model_pki_name(m, "kubernetes.pem"));
        tls->key = path_join(base, model_pki_name(m, "kubernetes-key.pem"));
        return tls->ca && tls->cert && tls->key ? 0 : -ENOMEM;
}

static int etcd_call(const struct etcd_tls *tls, const char *url, const char *method,
                     struct http_call *c)
{
        *c = (struct http_call){.method = method,
                                .url = url,
                                .content_type = method ? "application/json" : NULL,
                                .body = method ? "{}" : NULL,
                                .ca_file = tls->ca,
                                .cert_file = tls->cert,
                                .key_file = tls->key,
                                .allow_http = tls->http,
                                .timeout_ms = 3000};
        return http_call_run(c);
}

static uint64_t id_of(const struct jevent *e, const char *key)
{
        /* the gateway writes 64-bit IDs as decimal strings */
        const char *s = jevent_str(e, key);
        unsigned long long v = 0;
        if (s && *s) {
                char *end = NULL;
                errno = 0;
                v = strtoull(s, &end, 10);
                if (errno || *end)
                        v = 0;
        }
        return v;
}

int etcd_cluster_collect(const struct model *m, const char *root, struct etcd_cluster *ret)
{
        *ret = (struct etcd_cluster){0};
        struct etcd_tls tls;
        int r = etcd_tls_init(m, root, &tls);
        if (r < 0)
                return r;
        /* the local member first; when it is down, the others of etcd-servers */
        _cleanup_strv_free_ char **endpoints = NULL;
        r = strv_extend(&endpoints, tls.http ? "http://127.0.0.1:2379" : "https://127.0.0.1:2379");
        _cleanup_free_ char *servers = strdup(m->cfg.cluster.etcd_servers);
        char *save = NULL;
        for (char *tok = servers ? strtok_r(servers, ",", &save) : NULL; tok && r >= 0;
             tok = strtok_r(NULL, ",", &save))
                r = strv_extend(&endpoints, tok);
        if (r < 0 || !servers) {
                etcd_tls_done(&tls);
                return -ENOMEM;
        }
        _cleanup_jevent_ struct jevent *list = NULL, *status = NULL;
        _cleanup_free_ char *status_url = NULL;
        for (char **ep = endpoints; *ep && !list && r >= 0; ep++) {
                size_t l = strlen(*ep);
                while (l > 0 && (*ep)[l - 1] == '/')
                        l--;
                _cleanup_free_ char *list_url = NULL;
                struct http_call c;
                if (asprintf_safe(&list_url, "%.*s/v3/cluster/member/list", (int)l, *ep) < 0 ||
                    asprintf_safe(&status_url, "%.*s/v3/maintenance/status", (int)l, *ep) < 0) {
                        r = -ENOMEM;
                        break;
                }
                int q = etcd_call(&tls, list_url, "POST", &c);
                bool answered =
                    q >= 0 && c.status == 200 && c.response && jevent_parse(c.response, &list) >= 0;
                if (!answered && !ret->error && q >= 0)
                        asprintf_safe(&ret->error, "%s: HTTP %ld", list_url, c.status);
                else if (!answered && !ret->error)
                        asprintf_safe(&ret->error, "%s: %s", list_url,
                                      c.error ? c.error : strerror(-q));
                http_call_done(&c);
                if (!answered) {
                        free(status_url);
                        status_url = NULL;
                }
        }
        if (r < 0) {
                etcd_tls_done(&tls);
                return r;
        }
        struct http_call c = {0};
        if (list && etcd_call(&tls, status_url, "POST", &c) >= 0 && c.status == 200 && c.response &&
            jevent_parse(c.response, &status) >= 0)
                ret->leader = id_of(status, "leader");
        if (list) {
                http_call_done(&c);
                /* another member answered for the cluster: the local one's failure stays
                 * known through its own /health row */
                free(ret->error);
                ret->error = NULL;
        }
        for (size_t i = 0; list; i++) {
                _cleanup_jevent_ struct jevent *mem = NULL;
                if (jevent_object_at(list, "members", i, &mem) < 0)
                        break;
                if (ARRAY_RESERVE(ret->members, ret->cap, ret->n + 1) < 0) {
                        r = -ENOMEM;
                        break;
                }
                struct etcd_member *e = &ret->members[ret->n++];
                const char *name = jevent_str(mem, "name");
                const char *cu = jevent_str_at(mem, "clientURLs", 0);
                /* a member that never started has no name and no client URL yet */
                *e = (struct etcd_member){.id = id_of(mem, "ID"),
                                          .name = strdup(name ? name : ""),
                                          .client_url = cu ? strdup(cu) : NULL};
                e->leader = e->id && e->id == ret->leader;
                if (!e->name)
                        r = -ENOMEM;
                if (!cu) {
                        e->detail = strdup("not started");
                        continue;
                }
                _cleanup_free_ char *hurl = strjoin3(cu, "/health", NULL);
                struct http_call h = {0};
                int q = hurl ? etcd_call(&tls, hurl, NULL, &h) : -ENOMEM;
                e->healthy = q >= 0 && h.status == 200 && h.response &&
                             strstr(h.response, "\"health\":\"true\"");
                if (!e->healthy && q >= 0)
                        asprintf_safe(&e->detail, "%s: HTTP %ld", hurl, h.status);
                else if (!e->healthy)
                        asprintf_safe(&e->detail, "%s", h.error ? h.error : strerror(-q));
                http_call_done(&h);
        }
        etcd_tls_done(&tls);
        return r < 0 && r != -EBADMSG ? r : 0;
}
