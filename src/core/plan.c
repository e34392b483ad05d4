/* The plan: every item the node should have (binaries with their digests resolved, PKI,
 * rendered files, links) and how each compares with what the node has. */
#include "plan.h"

#include <errno.h>
#include <fcntl.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "diff.h"
#include "fetch.h"
#include "release.h"
#include "util.h"
#include "versions.h"

const char *item_role_to_string(enum item_role r)
{
        static const char *const labels[] = {
            [ROLE_DIRECTORY] = "directory",
            [ROLE_BINARY] = "binary",
            [ROLE_PKI] = "pki",
            [ROLE_UNIT] = "unit",
            [ROLE_CONFIG] = "config",
            [ROLE_SITE] = "nginx site",
            [ROLE_SITE_LINK] = "nginx site",
            [ROLE_ENABLE_LINK] = "enable",
        };
        return labels[r];
}

static struct item *plan_add(struct plan *p, enum item_kind kind, const char *path, mode_t mode,
                             enum item_role role)
{
        struct item *n = realloc(p->items, (p->n_items + 1) * sizeof(*n));
        if (!n)
                return NULL;
        p->items = n;
        struct item *it = &n[p->n_items];
        *it = (struct item){.kind = kind,
                            .mode = mode,
                            .role = role,
                            .what = item_role_to_string(role),
                            .path = strdup(path)};
        if (!it->path)
                return NULL;
        p->n_items++;
        return it;
}

const char *item_action_to_string(enum item_action a)
{
        switch (a) {
        case ACTION_CREATE:
                return "create";
        case ACTION_UPDATE:
                return "update";
        case ACTION_CHMOD:
                return "chmod";
        default:
                return "unchanged";
        }
}

size_t plan_count(const struct plan *p, enum item_action a)
{
        size_t n = 0;
        for (size_t i = 0; i < p->n_items; i++)
                n += p->items[i].action == a;
        return n;
}

int plan_mirrors(const struct model *m, char ***ret)
{
        const char *v = m->cfg.download.mirrors;
        if (!v || !*v)
                return 0;
        _cleanup_free_ char *copy = strdup(v);
        if (!copy)
                return -ENOMEM;
        char *save = NULL;
        for (char *tok = strtok_r(copy, ",", &save); tok; tok = strtok_r(NULL, ",", &save)) {
                int r = strv_extend(ret, tok);
                if (r < 0)
                        return r;
        }
        return 0;
}

/* One checksum sidecar to fetch: for a binary, or for the release tarball. */
struct sidecar_req {
        char **urls;     /* of the file itself; ".<alg>" is appended */
        char **sum_urls; /* or a checksum list naming many files (SHA256SUMS), asked as is */
        enum digest_alg alg;
        const char *name; /* the file's name, which a "HEX  NAME" sidecar must match */
        char *ret_hex;    /* DIGEST_HEX_MAX */
        char **ret_from;  /* the sidecar URL that answered */
};

/* Every sidecar that is needed, all fetched at once. */
static int fetch_sidecars(struct plan *p, struct sidecar_req *req, size_t n, char **ret_error)
{
        struct fetch_job *jobs = calloc(n ? n : 1, sizeof(*jobs));
        int r = 0;
        if (!jobs)
                return -ENOMEM;
        for (size_t i = 0; i < n && r >= 0; i++) {
                /* a list of every file of a release is longer than one line */
                jobs[i] = (struct fetch_job){
                    .fd = -1, .alg = req[i].alg, .max_mem = req[i].sum_urls ? 65536 : 4096};
                for (char **u = req[i].sum_urls; u && *u && r >= 0; u++)
                        r = strv_extend(&jobs[i].urls, *u);
                for (char **u = req[i].urls; !req[i].sum_urls && *u && r >= 0; u++) {
                        char *su = release_sidecar_url(*u, req[i].alg);
                        r = su ? strv_push(&jobs[i].urls, su) : -ENOMEM;
                }
        }
        if (r >= 0)
                r = fetch_run(jobs, n, &p->http, &p->policy, NULL, NULL);
        for (size_t i = 0; i < n && r >= 0; i++) {
                struct fetch_job *j = &jobs[i];
                if (j->result < 0) {
                        r = j->result == -EFBIG ? -EBADMSG : j->result;
                        if (j->result == -EFBIG)
                                asprintf_safe(ret_error, "%s: checksum file larger than %zu bytes",
                                              j->urls[j->url_index], j->max_mem);
                        else
                                asprintf_safe(ret_error, "%s", j->error);
                        break;
                }
                p->sidecars_fetched++;
                if (j->error)
                        (void)strv_extend(&p->warnings, j->error);
                int q = req[i].sum_urls ? digest_parse_sums(j->body, j->body_len, req[i].alg,
                                                            req[i].name, req[i].ret_hex)
                                        : digest_parse_sidecar(j->body, j->body_len, req[i].alg,
                                                               req[i].name, req[i].ret_hex);
                if (q == -ENOENT && req[i].sum_urls)
                        asprintf_safe(ret_error, "%s: no line for '%s'", j->url_used, req[i].name);
                else if (q == -ENOENT)
                        asprintf_safe(ret_error, "%s: checksum file names another file, not '%s'",
                                      j->url_used, req[i].name);
                else if (q < 0)
                        asprintf_safe(ret_error,
                                      "%s: malformed checksum file (expected %zu hex digits, "
                                      "optionally followed by the file name)",
                                      j->url_used, digest_hex_len(req[i].alg));
                if (q < 0) {
                        r = -EBADMSG;
                        break;
                }
                *req[i].ret_from = strdup(j->url_used);
                if (!*req[i].ret_from)
                        r = -ENOMEM;
        }
        for (size_t i = 0; i < n; i++) {
                strv_free(jobs[i].urls);
                fetch_job_done(&jobs[i]);
        }
        free(jobs);
        return r;
}

/* A tarball binaries are extracted from: its digest pinned, remembered in the state from the
 * last time it was read, or asked of its checksum file (a sidecar, or the SHA256SUMS list when
 * sum_urls is given). *ret is its index in p->tarballs. */
static int add_tarball(struct plan *p, const struct state *st, char **urls, enum digest_alg alg,
                       const struct pin *pin, char **sum_urls, size_t *ret, char **ret_error)
{
        struct plan_tarball *n = realloc(p->tarballs, (p->n_tarballs + 1) * sizeof(*n));
        if (!n) {
                strv_free(urls);
                return -ENOMEM;
        }
        p->tarballs = n;
        struct plan_tarball *tb = &n[p->n_tarballs++];
        *tb = (struct plan_tarball){.urls = urls, .alg = alg};
        _cleanup_free_ char *key = state_tarball_key(urls[0]);
        if (!key)
                return -ENOMEM;
        const struct state_entry *te = state_find(st, key);
        if (pin && pin->set) {
                /* the operator's own statement: no checksum file asked */
                tb->alg = pin->alg;
                memcpy(tb->hex, pin->hex, sizeof(tb->hex));
                tb->digest_from = strdup("pinned");
        } else if (te && te->alg == alg && te->hex[0]) {
                memcpy(tb->hex, te->hex, sizeof(tb->hex));
                tb->digest_from = strdup(te->digest_url);
                tb->remember = true;
        } else {
                struct sidecar_req req = {.urls = urls,
                                          .sum_urls = sum_urls,
                                          .alg = alg,
                                          .name = strrchr(urls[0], '/') + 1,
                                          .ret_hex = tb->hex,
                                          .ret_from = &tb->digest_from};
                int r = fetch_sidecars(p, &req, 1, ret_error);
                if (r < 0)
                        return r;
                tb->remember = true;
        }
        if (!tb->digest_from)
                return -ENOMEM;
        *ret = p->n_tarballs - 1;
        return 0;
}

/* A binary that is the member of tarball ti: its digest is learnt when the tarball is read,
 * or remembered from the last time it was. */
static int add_member(struct plan *p, const struct state *st, size_t ti, const char *path,
                      char *member)
{
        const struct plan_tarball *tb = &p->tarballs[ti];
        struct item *it = plan_add(p, ITEM_DOWNLOAD, path, 0755, ROLE_BINARY);
        if (!it) {
                free(member);
                return -ENOMEM;
        }
        it->member = member;
        it->tarball = ti;
        it->url = member ? strjoin3(tb->urls[0], "#", member) : NULL;
        it->digest_from = strjoin3("tarball:", tb->hex, NULL);
        if (!it->url || !it->digest_from)
                return -ENOMEM;
        it->alg = tb->alg;
        const struct state_entry *e = state_find(st, path);
        if (e && e->kind == STATE_KIND_DOWNLOAD && streq(e->url, it->url) &&
            streq(e->digest_url, it->digest_from) && e->alg == it->alg && e->hex[0])
                memcpy(it->hex, e->hex, sizeof(it->hex));
        else
                it->verify_after = true;
        return 0;
}

/* download.source = tarball: the binaries are members of the release tarball. */
static int add_tarball_binaries(const struct model *m, const struct state *st, struct plan *p,
                                char **mirrors, char **ret_error)
{
        const char *bin = m->cfg.paths.bin_dir;
        const char *version = m->cfg.cluster.version, *arch = m->cfg.download.arch;
        char **urls = NULL;
        char *u = release_tarball_url(m->cfg.download.base_url, version, arch);
        if (!u || strv_push(&urls, u) < 0)
                return strv_free(urls), -ENOMEM;
        for (char **mi = mirrors; mi && *mi; mi++) {
                u = release_tarball_url(*mi, version, arch);
                if (!u || strv_push(&urls, u) < 0)
                        return strv_free(urls), -ENOMEM;
        }
        size_t ti;
        int r = add_tarball(p, st, urls, m->checksum, NULL, NULL, &ti, ret_error);
        if (r >= 0)
                p->tarballs[ti].release_signed = true;
        for (int b = 0; b < _BINARY_MAX && r >= 0; b++) {
                _cleanup_free_ char *path = path_join(bin, binary_names[b]);
                r = path ? add_member(p, st, ti, path, release_tarball_member(binary_names[b]))
                         : -ENOMEM;
                if (r >= 0)
                        p->items[p->n_items - 1].release_signed = true;
        }
        return r;
}

/* etcd's release tarball: base-url and mirrors of [etcd], its version, SHA256SUMS (sha256
 * whatever [download] checksum says, since that is the file etcd publishes) or the digest.etcd
 * pin; etcd and etcdctl are its members, as the chapter moves them. */
static const char *const etcd_binaries[] = {"etcd", "etcdctl"};

static int add_etcd_binaries(const struct model *m, const struct state *st, struct plan *p,
                             char **ret_error)
{
        const char *version = m->cfg.etcd.version, *arch = m->cfg.download.arch;
        _cleanup_strv_free_ char **bases = NULL, **sums = NULL;
        char **urls = NULL;
        int r = strv_extend(&bases, m->cfg.etcd.base_url);
        _cleanup_free_ char *mirrors = strdup(m->cfg.etcd.mirrors);
        char *save = NULL;
        for (char *tok = mirrors ? strtok_r(mirrors, ",", &save) : NULL; tok && r >= 0;
             tok = strtok_r(NULL, ",", &save))
                r = strv_extend(&bases, tok);
        if (!mirrors)
                r = -ENOMEM;
        for (char **b = bases; r >= 0 && b && *b; b++) {
                char *u = release_etcd_tarball_url(*b, version, arch);
                r = u ? strv_push(&urls, u) : -ENOMEM;
                char *su = r >= 0 ? release_etcd_sums_url(*b, version) : NULL;
                r = su ? strv_push(&sums, su) : -ENOMEM;
        }
        if (r < 0)
                return strv_free(urls), r;
        size_t ti;
        r = add_tarball(p, st, urls, DIGEST_SHA256, &m->etcd_pin, sums, &ti, ret_error);
        for (size_t i = 0; i < ELEMENTSOF(etcd_binaries) && r >= 0; i++) {
                _cleanup_free_ char *path = path_join(m->cfg.paths.bin_dir, etcd_binaries[i]);
                r = path ? add_member(p, st, ti, path,
                                      release_etcd_member(version, arch, etcd_binaries[i]))
                         : -ENOMEM;
        }
        return r;
}

/* --bundle: the binaries and their digests come from the bundle (already checked against its
 * manifest), and must be the release the configuration asks for; etcd's too, with [etcd]. */
static int add_bundle_binaries(const struct model *m, struct plan *p, char **ret_error)
{
        const struct bundle *bu = p->bundle;
        const char *bin = m->cfg.paths.bin_dir;
        if (!streq(bu->version, m->cfg.cluster.version) || !streq(bu->arch, m->cfg.download.arch)) {
                asprintf_safe(ret_error, "the bundle holds %s/%s but %s asks for %s/%s",
                              bu->version, bu->arch, m->config_path, m->cfg.cluster.version,
                              m->cfg.download.arch);
                return -EINVAL;
        }
        if (m->etcd && !(bu->etcd_version && streq(bu->etcd_version, m->cfg.etcd.version))) {
                asprintf_safe(ret_error, "the bundle holds %s%s but %s asks for etcd %s",
                              bu->etcd_version ? "etcd " : "no etcd",
                              bu->etcd_version ? bu->etcd_version : "", m->config_path,
                              m->cfg.etcd.version);
                return -EINVAL;
        }
        size_t n = _BINARY_MAX + (m->etcd ? ELEMENTSOF(etcd_binaries) : 0);
        for (size_t b = 0; b < n; b++) {
                const char *name =
                    b < _BINARY_MAX ? binary_names[b] : etcd_binaries[b - _BINARY_MAX];
                const struct pin *pin = b < _BINARY_MAX ? &m->pins[b] : NULL;
                const struct bundle_binary *x = bundle_find(bu, name);
                if (!x) {
                        asprintf_safe(ret_error, "the bundle has no %s", name);
                        return -ENOENT;
                }
                if (pin && pin->set && (pin->alg != x->alg || !streq(pin->hex, x->hex))) {
                        asprintf_safe(ret_error,
                                      "bundle's %s does not match the digest pinned in %s", name,
                                      m->config_path);
                        return -EBADMSG;
                }
                _cleanup_free_ char *path = path_join(bin, name);
                struct item *it = path ? plan_add(p, ITEM_DOWNLOAD, path, 0755, ROLE_BINARY) : NULL;
                if (!it)
                        return -ENOMEM;
                it->alg = x->alg;
                memcpy(it->hex, x->hex, sizeof(it->hex));
                it->local_path = strdup(x->path);
                it->release_signed = b < _BINARY_MAX;
                it->url = strjoin3("bundle:", name, NULL);
                it->digest_from = strdup("bundle");
                if (!it->local_path || !it->url || !it->digest_from)
                        return -ENOMEM;
        }
        return 0;
}

static int add_binaries(const struct model *m, const struct state *st, struct plan *p,
                        char **ret_error)
{
        const char *bin = m->cfg.paths.bin_dir;
        _cleanup_strv_free_ char **mirrors = NULL;
        size_t need[_BINARY_MAX]; /* indices: p->items moves while it grows */
        struct sidecar_req req[_BINARY_MAX];
        size_t n_need = 0;
        int r = plan_mirrors(m, &mirrors);
        if (r < 0)
                return r;
        /* a bundle without binaries (fanout's) carries config, PKI and templates only */
        if (p->bundle && p->bundle->n_bins > 0)
                return add_bundle_binaries(m, p, ret_error);
        if (m->only_etcd)
                return add_etcd_binaries(m, st, p, ret_error);
        if (m->etcd) {
                r = add_etcd_binaries(m, st, p, ret_error);
                if (r < 0)
                        return r;
        }
        if (m->cfg.download.source == SOURCE_TARBALL)
                return add_tarball_binaries(m, st, p, mirrors, ret_error);
        for (int b = 0; b < _BINARY_MAX; b++) {

                _cleanup_free_ char *path = path_join(bin, binary_names[b]);
                struct item *it = path ? plan_add(p, ITEM_DOWNLOAD, path, 0755, ROLE_BINARY) : NULL;
                if (!it)
                        return -ENOMEM;
                it->release_signed = true;
                it->url = release_binary_url(m->cfg.download.base_url, m->cfg.cluster.version,
                                             m->cfg.download.arch, binary_names[b]);
                if (!it->url || strv_extend(&it->urls, it->url) < 0)
                        return -ENOMEM;
                for (char **mi = mirrors; mi && *mi; mi++) {
                        char *u = release_binary_url(*mi, m->cfg.cluster.version,
                                                     m->cfg.download.arch, binary_names[b]);
                        if (!u || strv_push(&it->urls, u) < 0)
                                return -ENOMEM;
                }
                const struct state_entry *e = state_find(st, path);
                if (m->pins[b].set) {
                        /* A pinned digest is the operator's own statement: no sidecar asked. */
                        it->alg = m->pins[b].alg;
                        memcpy(it->hex, m->pins[b].hex, sizeof(it->hex));
                        it->digest_from = strdup("pinned");
                } else if (e && e->kind == STATE_KIND_DOWNLOAD && streq(e->url, it->url) &&
                           e->alg == m->checksum && !streq(e->digest_url, "pinned") && e->hex[0]) {
                        /* A release's checksum never changes: the one verified when this very
                         * URL was installed is as good as asking again, and costs no request. */
                        it->alg = e->alg;
                        memcpy(it->hex, e->hex, sizeof(it->hex));
                        it->digest_from = strdup(e->digest_url);
                } else {
                        it->alg = m->checksum;
                        need[n_need++] = (size_t)(it - p->items);
                        continue;
                }
                if (!it->digest_from)
                        return -ENOMEM;
        }
        for (size_t i = 0; i < n_need; i++) {
                struct item *it = &p->items[need[i]];
                req[i] = (struct sidecar_req){.urls = it->urls,
                                              .alg = it->alg,
                                              .name = strrchr(it->path, '/') + 1,
                                              .ret_hex = it->hex,
                                              .ret_from = &it->digest_from};
        }
        return n_need ? fetch_sidecars(p, req, n_need, ret_error) : 0;
}

/* A file of [pki] source-dir, by its name in the layout, read as a trusted file. */
static int read_pki_source(const struct model *m, const char *name, char **ret, size_t *ret_len,
                           char **ret_error)
{
        _cleanup_free_ char *from = path_join(m->cfg.pki.source_dir, name);
        if (!from)
                return -ENOMEM;
        int r = read_file_trusted(from, 1 << 20, ret, ret_len);
        if (r < 0)
                asprintf_safe(ret_error, "%s (from [pki] source-dir in %s): %s", from,
                              m->config_path,
                              r == -EPERM ? "refusing a file writable by group or others"
                                          : fileio_strerror(r));
        return r;
}

static int add_pki(const struct model *m, struct plan *p, char **ret_error)
{
        const char *lib = m->cfg.paths.lib_dir;
        for (size_t i = 0; i < n_pki_files; i++) {
                /* a load balancer gets the cluster CA only, to check /version through it */
                if (pki_files[i].admin || !model_needs_pki(m, pki_files[i].name))
                        continue;
                /* the [pki] layout's names, in the source and in <lib-dir> alike */
                const char *name = model_pki_name(m, pki_files[i].name);
                _cleanup_free_ char *to = path_join(lib, name);
                char *content = NULL;
                size_t len = 0;
                int r = to ? read_pki_source(m, name, &content, &len, ret_error) : -ENOMEM;
                if (r < 0)
                        return r;
                struct item *it =
                    plan_add(p, ITEM_FILE, to, pki_files[i].secret ? 0600 : 0644, ROLE_PKI);
                if (!it) {
                        free(content);
                        return -ENOMEM;
                }
                it->content = content;
                it->len = len;
                it->secret = pki_files[i].secret;
                it->text = !it->secret;
        }
        return 0;
}

/* A component's PKI files in a directory of its own (etcd's /etc/etcd, as the chapter copies
 * them), and its data directory (0700, the chapter's chmod). Only for TLS: a plain-http etcd
 * reads no certificate. */
static int add_component_files(const struct model *m, struct plan *p, char **ret_error)
{
        int r = 0;
        FOREACH_COMPONENT (c) {
                if (!model_runs(m, c))
                        continue;
                if (streq(c->name, "etcd")) {
                        struct item *it =
                            plan_add(p, ITEM_DIR, m->cfg.etcd.data_dir, 0700, ROLE_DIRECTORY);
                        if (!it)
                                return -ENOMEM;
                        it->secret = true; /* its mode is enforced */
                }
                if (!c->pki_dir || !c->own_pki || !version_etcd_tls(m))
                        continue;
                const char *dir = model_get(m, c->pki_dir);
                if (!plan_add(p, ITEM_DIR, dir, 0755, ROLE_DIRECTORY))
                        return -ENOMEM;
                for (const char *const *f = c->own_pki; *f && r >= 0; f++) {
                        const char *name = model_pki_name(m, *f);
                        const struct pki_file *pf = NULL;
                        for (size_t i = 0; i < n_pki_files; i++)
                                if (streq(pki_files[i].name, *f))
                                        pf = &pki_files[i];
                        _cleanup_free_ char *to = path_join(dir, name);
                        char *content = NULL;
                        size_t len = 0;
                        r = to ? read_pki_source(m, name, &content, &len, ret_error) : -ENOMEM;
                        if (r < 0)
                                return r;
                        bool secret = pf && pf->secret;
                        struct item *it =
                            plan_add(p, ITEM_FILE, to, secret ? 0600 : 0644, ROLE_PKI);
                        if (!it) {
                                free(content);
                                return -ENOMEM;
                        }
                        it->content = content;
                        it->len = len;
                        it->secret = secret;
                        it->text = !secret;
                        it->component = c;
                }
        }
        return r;
}

void plan_download_options(const struct model *m, struct http_options *ret_http,
                           struct fetch_policy *ret_policy)
{
        const char *ca = m->cfg.download.ca_file;
        *ret_http = (struct http_options){
            .ca_file = ca && *ca ? ca : NULL,
            .max_size = m->cfg.download.max_size,
            .connect_timeout = (long)m->cfg.download.connect_timeout,
            .stall_timeout = (long)m->cfg.download.stall_timeout,
        };
        *ret_policy = FETCH_POLICY_DEFAULT;
        ret_policy->attempts = m->cfg.download.retries + 1;
        ret_policy->backoff_ms = m->cfg.download.retry_delay_ms;
        ret_policy->timeout_s = m->cfg.download.timeout;
}

int plan_build(const struct model *m, const struct render_result *rr, const struct state *st,
               const struct plan_options *o, struct plan **ret, char **ret_error)
{
        struct plan *p = calloc(1, sizeof(*p));
        if (!p)
                return -ENOMEM;
        p->bundle = o->bundle;

        plan_download_options(m, &p->http, &p->policy);
        /* etcd alone installs no Kubernetes release: none is recorded */
        p->version = m->only_etcd ? NULL : strdup(m->cfg.cluster.version);
        p->cache_dir = strdup(m->cfg.paths.cache_dir);
        int r = p->cache_dir && (p->version || m->only_etcd) ? 0 : -ENOMEM;
        bool controller = m->role == NODE_CONTROLLER;
        const char *dirs[] = {m->cfg.paths.config_dir, m->cfg.paths.lib_dir};
        for (size_t i = controller ? 0 : 1; i < ELEMENTSOF(dirs) && r >= 0 && !m->only_etcd; i++)
                if (!plan_add(p, ITEM_DIR, dirs[i], 0755, ROLE_DIRECTORY))
                        r = -ENOMEM;
        if (r >= 0)
                r = signature_policy_new(m, m->cfg.cluster.version, &p->sig, ret_error);
        /* a load balancer runs no Kubernetes binary */
        if (r >= 0 && controller)
                r = add_binaries(m, st, p, ret_error);
        if (r >= 0 && !m->only_etcd)
                r = add_pki(m, p, ret_error);
        if (r >= 0)
                r = add_component_files(m, p, ret_error);
        for (size_t i = 0; r >= 0 && i < rr->n_files; i++) {
                const struct rendered_file *f = &rr->files[i];
                struct item *it = plan_add(p, ITEM_FILE, f->path, f->mode,
                                           f->kind == TEMPLATE_UNIT   ? ROLE_UNIT
                                           : f->kind == TEMPLATE_SITE ? ROLE_SITE
                                                                      : ROLE_CONFIG);
                if (!it || !(it->content = strdup(f->content))) {
                        r = -ENOMEM;
                        break;
                }
                it->component = f->component;
                it->len = strlen(f->content);
                it->text = true;
        }
        /* nginx's way of enabling a site: a link in sites-enabled, as the seed makes it. */
        for (size_t i = 0; r >= 0 && i < rr->n_files; i++) {
                const struct rendered_file *f = &rr->files[i];
                if (!f->enable_link)
                        continue;
                struct item *it = plan_add(p, ITEM_SYMLINK, f->enable_link, 0777, ROLE_SITE_LINK);
                if (!it || !(it->link_target = strdup(f->path)))
                        r = -ENOMEM;
                else
                        it->component = f->component;
        }
        /* Enabling like systemctl enable: <unit-dir>/<target>.wants/<unit> -> <unit-dir>/<unit>. */
        const char *ud = m->cfg.paths.unit_dir;
        /* With systemd running, EnableUnitFiles does this (and knows more than we do). */
        for (size_t i = 0; r >= 0 && o->link_units && i < rr->n_files; i++) {
                const struct rendered_file *f = &rr->files[i];
                const char *unit = strrchr(f->path, '/') + 1;
                for (char **w = f->wanted_by; w && *w && r >= 0; w++) {
                        _cleanup_free_ char *wants = strjoin3(*w, ".wants/", unit);
                        _cleanup_free_ char *link = wants ? path_join(ud, wants) : NULL;
                        struct item *it =
                            link ? plan_add(p, ITEM_SYMLINK, link, 0777, ROLE_ENABLE_LINK) : NULL;
                        if (!it || !(it->link_target = strdup(f->path)))
                                r = -ENOMEM;
                        else
                                it->component = f->component;
                }
        }
        if (r < 0) {
                plan_free(p);
                return r;
        }
        *ret = p;
        return 0;
}

static bool owner_ok(const struct stat *st)
{
        return geteuid() != 0 || (st->st_uid == 0 && st->st_gid == 0);
}

static int compare_item(struct plan *p, struct item *it, struct target *t, const struct state *sst,
                        bool verify, bool want_diff, char **ret_error)
{
        _cleanup_close_ int dfd = -1;
        const char *name = NULL;
        int r;

        if (it->kind == ITEM_DIR) {
                struct stat dst;
                r = target_open_dir(t, it->path, false, &dfd);
                it->action = r == -ENOENT ? ACTION_CREATE : ACTION_NONE;
                /* a private directory (etcd's data) keeps its mode */
                if (r >= 0 && it->secret && fstat(dfd, &dst) == 0 &&
                    (dst.st_mode & 07777) != it->mode)
                        it->action = ACTION_CHMOD;
                return r == -ENOENT || r >= 0 ? 0 : r;
        }
        r = target_open_parent(t, it->path, false, &dfd, &name);
        if (r == -ENOENT) {
                it->action = ACTION_CREATE;
                return 0;
        }
        if (r < 0)
                return r;

        struct stat st;
        if (fstatat(dfd, name, &st, AT_SYMLINK_NOFOLLOW) < 0) {
                if (errno != ENOENT)
                        return -errno;
                it->action = ACTION_CREATE;
                return 0;
        }
        if (S_ISDIR(st.st_mode)) {
                _cleanup_free_ char *shown = target_display(t, it->path);
                asprintf_safe(ret_error, "%s: is a directory, refusing to replace it", shown);
                return -EISDIR;
        }

        if (it->kind == ITEM_SYMLINK) {
                char buf[4096];
                ssize_t n = S_ISLNK(st.st_mode) ? readlinkat(dfd, name, buf, sizeof(buf) - 1) : -1;
                if (n >= 0)
                        buf[n] = 0;
                it->action = n >= 0 && streq(buf, it->link_target) ? ACTION_NONE : ACTION_UPDATE;
                return 0;
        }
        if (!S_ISREG(st.st_mode)) {
                it->action = ACTION_UPDATE;
                return 0;
        }

        bool same;
        if (it->kind == ITEM_DOWNLOAD && it->verify_after) {
                /* Not known until the tarball is read: decided again after extraction. */
                it->action = ACTION_UPDATE;
                return 0;
        }
        if (it->kind == ITEM_DOWNLOAD) {
                const struct state_entry *e = state_find(sst, it->path);
                if (!verify && e && e->alg == it->alg && streq(e->hex, it->hex) &&
                    state_stat_matches(e, &st))
                        same = true; /* the very file we installed and hashed, untouched */
                else {
                        _cleanup_close_ int fd = open_regular_at(dfd, name);
                        char hex[DIGEST_HEX_MAX];
                        if (fd < 0)
                                return fd;
                        r = digest_fd(fd, it->alg, hex);
                        if (r < 0)
                                return r;
                        p->bytes_hashed += (uint64_t)st.st_size;
                        same = streq(hex, it->hex);
                }
        } else {
                _cleanup_free_ char *old = NULL;
                size_t old_len = 0;
                r = read_file_at(dfd, name, 64 << 20, &old, &old_len);
                if (r < 0)
                        return r;
                same = old_len == it->len && memcmp(old, it->content, old_len) == 0;
                if (!same && want_diff && it->text && !it->secret) {
                        r = diff_unified(old, old_len, it->content, it->len, it->path, &it->diff);
                        if (r < 0)
                                it->diff = NULL; /* a missing diff(1) only costs the preview */
                }
        }
        if (!same)
                it->action = ACTION_UPDATE;
        else if ((st.st_mode & 07777) != it->mode || !owner_ok(&st))
                it->action = ACTION_CHMOD;
        else
                it->action = ACTION_NONE;
        return 0;
}

int plan_compare(struct plan *p, struct target *t, const struct state *st, bool verify,
                 bool want_diff, char **ret_error)
{
        for (size_t i = 0; i < p->n_items; i++) {
                int r = compare_item(p, &p->items[i], t, st, verify, want_diff, ret_error);
                if (r < 0) {
                        if (!*ret_error) {
                                _cleanup_free_ char *shown = target_display(t, p->items[i].path);
                                asprintf_safe(ret_error, "%s: %s", shown, strerror(-r));
                        }
                        return r;
                }
        }
        return 0;
}

struct plan *plan_free(struct plan *p)

{
        if (!p)
                return NULL;
        for (size_t i = 0; i < p->n_items; i++) {
                struct item *it = &p->items[i];
                free(it->path);
                free(it->content);
                free(it->url);
                strv_free(it->urls);
                free(it->member);
                free(it->local_path);

                free(it->digest_from);
                free(it->signed_by);
                free(it->link_target);
                free(it->diff);
        }
        free(p->items);
        free(p->cache_dir);
        free(p->version);
        strv_free(p->warnings);
        for (size_t i = 0; i < p->n_tarballs; i++) {
                strv_free(p->tarballs[i].urls);
                free(p->tarballs[i].digest_from);
        }
        free(p->tarballs);
        signature_policy_free(p->sig);

        free(p);
        return NULL;
}
