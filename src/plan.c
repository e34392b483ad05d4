/* The plan: every item the node should have, compared with what it has, and how to apply it. */
#include "plan.h"

#include <dirent.h>
#include <errno.h>
#include <pthread.h>
#include <fcntl.h>
#include <string.h>
#include <sys/random.h>
#include <sys/stat.h>

#include "archive.h"
#include "cache.h"
#include "diff.h"
#include "fetch.h"
#include "util.h"

static struct item *plan_add(struct plan *p, enum item_kind kind, const char *path, mode_t mode,
                             const char *what)
{
        struct item *n = realloc(p->items, (p->n_items + 1) * sizeof(*n));
        if (!n)
                return NULL;
        p->items = n;
        struct item *it = &n[p->n_items];
        *it = (struct item){.kind = kind, .mode = mode, .what = what, .path = strdup(path)};
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

static int split_mirrors(const struct model *m, char ***ret)
{
        const char *v = model_get(m, "download.mirrors");
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
        char **urls; /* of the file itself; ".<alg>" is appended */
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
                jobs[i] = (struct fetch_job){.fd = -1, .alg = req[i].alg, .max_mem = 4096};
                for (char **u = req[i].urls; *u && r >= 0; u++) {
                        char *su = strjoin3(*u, ".", digest_alg_to_string(req[i].alg));
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
                                asprintf_safe(ret_error, "%s: checksum file larger than 4096 bytes",
                                              j->urls[j->url_index]);
                        else
                                asprintf_safe(ret_error, "%s", j->error);
                        break;
                }
                p->sidecars_fetched++;
                if (j->error)
                        (void)strv_extend(&p->warnings, j->error);
                int q = digest_parse_sidecar(j->body, j->body_len, req[i].alg, req[i].name,
                                             req[i].ret_hex);
                if (q == -ENOENT)
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

static char *tarball_url(const char *base, const struct model *m)
{
        char *u = NULL;
        size_t l = strlen(base);
        while (l > 0 && base[l - 1] == '/')
                l--;
        if (asprintf(&u, "%.*s/%s/kubernetes-server-linux-%s.tar.gz", (int)l, base,
                     model_get(m, "cluster.version"), model_get(m, "download.arch")) < 0)
                return NULL;
        return u;
}

/* download.source = tarball: the binaries are members of the release tarball. Their digests
 * are only known once it has been read, or remembered from the last time it was. */
static int add_tarball_binaries(const struct model *m, const struct state *st, struct plan *p,
                                char **mirrors, char **ret_error)
{
        const char *bin = model_get(m, "paths.bin-dir");
        p->tarball = true;
        p->tarball_alg = m->checksum;
        char *u = tarball_url(model_get(m, "download.base-url"), m);
        if (!u || strv_push(&p->tarball_urls, u) < 0)
                return -ENOMEM;
        for (char **mi = mirrors; mi && *mi; mi++) {
                u = tarball_url(*mi, m);
                if (!u || strv_push(&p->tarball_urls, u) < 0)
                        return -ENOMEM;
        }
        _cleanup_free_ char *key = strjoin3("tarball:", p->tarball_urls[0], NULL);
        if (!key)
                return -ENOMEM;
        const struct state_entry *te = state_find(st, key);
        if (te && te->alg == p->tarball_alg && te->hex[0]) {
                memcpy(p->tarball_hex, te->hex, sizeof(p->tarball_hex));
                p->tarball_digest_from = strdup(te->digest_url);
        } else {
                struct sidecar_req req = {.urls = p->tarball_urls,
                                          .alg = p->tarball_alg,
                                          .name = strrchr(p->tarball_urls[0], '/') + 1,
                                          .ret_hex = p->tarball_hex,
                                          .ret_from = &p->tarball_digest_from};
                int r = fetch_sidecars(p, &req, 1, ret_error);
                if (r < 0)
                        return r;
        }
        if (!p->tarball_digest_from)
                return -ENOMEM;
        for (int b = 0; b < _BINARY_MAX; b++) {
                _cleanup_free_ char *path = path_join(bin, binary_names[b]);
                struct item *it = path ? plan_add(p, ITEM_DOWNLOAD, path, 0755, "binary") : NULL;
                if (!it)
                        return -ENOMEM;
                it->member = strjoin3("kubernetes/server/bin/", binary_names[b], NULL);
                it->url = it->member ? strjoin3(p->tarball_urls[0], "#", it->member) : NULL;
                it->digest_from = strjoin3("tarball:", p->tarball_hex, NULL);
                if (!it->url || !it->digest_from)
                        return -ENOMEM;
                it->alg = m->checksum;
                const struct state_entry *e = state_find(st, path);
                if (e && e->kind == STATE_KIND_DOWNLOAD && streq(e->url, it->url) &&
                    streq(e->digest_url, it->digest_from) && e->alg == it->alg && e->hex[0])
                        memcpy(it->hex, e->hex, sizeof(it->hex));
                else
                        it->verify_after = true;
        }
        return 0;
}

/* --bundle: the binaries and their digests come from the bundle (already checked against its
 * manifest), and must be the release the configuration asks for. */
static int add_bundle_binaries(const struct model *m, struct plan *p, char **ret_error)
{
        const struct bundle *bu = p->bundle;
        const char *bin = model_get(m, "paths.bin-dir");
        if (!streq(bu->version, model_get(m, "cluster.version")) ||
            !streq(bu->arch, model_get(m, "download.arch"))) {
                asprintf_safe(ret_error, "the bundle holds %s/%s but %s asks for %s/%s",
                              bu->version, bu->arch, m->config_path,
                              model_get(m, "cluster.version"), model_get(m, "download.arch"));
                return -EINVAL;
        }
        for (int b = 0; b < _BINARY_MAX; b++) {
                const struct bundle_binary *x = bundle_find(bu, binary_names[b]);
                if (!x) {
                        asprintf_safe(ret_error, "the bundle has no %s", binary_names[b]);
                        return -ENOENT;
                }
                if (m->pins[b].set &&
                    (m->pins[b].alg != x->alg || !streq(m->pins[b].hex, x->hex))) {
                        asprintf_safe(ret_error,
                                      "bundle's %s does not match the digest pinned in %s",
                                      binary_names[b], m->config_path);
                        return -EBADMSG;
                }
                _cleanup_free_ char *path = path_join(bin, binary_names[b]);
                struct item *it = path ? plan_add(p, ITEM_DOWNLOAD, path, 0755, "binary") : NULL;
                if (!it)
                        return -ENOMEM;
                it->alg = x->alg;
                memcpy(it->hex, x->hex, sizeof(it->hex));
                it->local_path = strdup(x->path);
                it->url = strjoin3("bundle:", binary_names[b], NULL);
                it->digest_from = strdup("bundle");
                if (!it->local_path || !it->url || !it->digest_from)
                        return -ENOMEM;
        }
        return 0;
}

static int add_binaries(const struct model *m, const struct state *st, struct plan *p,
                        char **ret_error)
{
        const char *bin = model_get(m, "paths.bin-dir");
        _cleanup_strv_free_ char **mirrors = NULL;
        size_t need[_BINARY_MAX]; /* indices: p->items moves while it grows */
        struct sidecar_req req[_BINARY_MAX];
        size_t n_need = 0;
        int r = split_mirrors(m, &mirrors);
        if (r < 0)
                return r;
        /* a bundle without binaries (fanout's) carries config, PKI and templates only */
        if (p->bundle && p->bundle->n_bins > 0)
                return add_bundle_binaries(m, p, ret_error);
        if (streq(model_get(m, "download.source"), "tarball"))
                return add_tarball_binaries(m, st, p, mirrors, ret_error);
        for (int b = 0; b < _BINARY_MAX; b++) {

                _cleanup_free_ char *path = path_join(bin, binary_names[b]);
                struct item *it = path ? plan_add(p, ITEM_DOWNLOAD, path, 0755, "binary") : NULL;
                if (!it)
                        return -ENOMEM;
                it->url = fetch_binary_url(model_get(m, "download.base-url"),
                                           model_get(m, "cluster.version"),
                                           model_get(m, "download.arch"), binary_names[b]);
                if (!it->url || strv_extend(&it->urls, it->url) < 0)
                        return -ENOMEM;
                for (char **mi = mirrors; mi && *mi; mi++) {
                        char *u = fetch_binary_url(*mi, model_get(m, "cluster.version"),
                                                   model_get(m, "download.arch"), binary_names[b]);
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

static int add_pki(const struct model *m, struct plan *p, char **ret_error)
{
        const char *src = model_get(m, "pki.source-dir");
        const char *lib = model_get(m, "paths.lib-dir");
        for (size_t i = 0; i < n_pki_files; i++) {
                if (pki_files[i].admin)
                        continue;
                _cleanup_free_ char *from = path_join(src, pki_files[i].name);
                _cleanup_free_ char *to = path_join(lib, pki_files[i].name);
                if (!from || !to)
                        return -ENOMEM;
                char *content = NULL;
                size_t len = 0;
                int r = read_file_trusted(from, 1 << 20, &content, &len);
                if (r < 0) {
                        asprintf_safe(ret_error, "%s (from [pki] source-dir in %s): %s", from,
                                      m->config_path,
                                      r == -EPERM ? "refusing a file writable by group or others"
                                                  : fileio_strerror(r));
                        return r;
                }
                struct item *it =
                    plan_add(p, ITEM_FILE, to, pki_files[i].secret ? 0600 : 0644, "pki");
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

int plan_build(const struct model *m, const struct render_result *rr, const struct state *st,
               const struct plan_options *o, struct plan **ret, char **ret_error)
{
        struct plan *p = calloc(1, sizeof(*p));
        if (!p)
                return -ENOMEM;
        p->bundle = o->bundle;

        const char *ca = model_get(m, "download.ca-file");
        p->http = (struct http_options){
            .ca_file = ca && *ca ? ca : NULL,
            .max_size = model_get_uint(m, "download.max-size", 2U << 30),
            .connect_timeout = (long)model_get_uint(m, "download.connect-timeout", 30),
            .stall_timeout = (long)model_get_uint(m, "download.stall-timeout", 60),
        };
        p->policy = FETCH_POLICY_DEFAULT;
        p->policy.attempts = model_get_uint(m, "download.retries", 3) + 1;
        p->policy.backoff_ms = model_get_uint(m, "download.retry-delay-ms", 250);
        p->policy.timeout_s = model_get_uint(m, "download.timeout", 1800);
        p->cache_dir = strdup(model_get(m, "paths.cache-dir"));
        int r = p->cache_dir ? 0 : -ENOMEM;
        const char *dirs[] = {"paths.config-dir", "paths.lib-dir"};
        for (size_t i = 0; i < ELEMENTSOF(dirs) && r >= 0; i++)
                if (!plan_add(p, ITEM_DIR, model_get(m, dirs[i]), 0755, "directory"))
                        r = -ENOMEM;
        if (r >= 0)
                r = add_binaries(m, st, p, ret_error);
        if (r >= 0)
                r = add_pki(m, p, ret_error);
        for (size_t i = 0; r >= 0 && i < rr->n_files; i++) {
                const struct rendered_file *f = &rr->files[i];
                struct item *it = plan_add(p, ITEM_FILE, f->path, f->mode,
                                           f->component >= 0                   ? "unit"
                                           : f->component == RENDER_NGINX_SITE ? "nginx site"
                                                                               : "config");
                if (!it || !(it->content = strdup(f->content))) {
                        r = -ENOMEM;
                        break;
                }
                it->len = strlen(f->content);
                it->text = true;
        }
        /* nginx's way of enabling a site: a link in sites-enabled, as the seed makes it. */
        if (r >= 0 && !rr->nginx_confd) {
                const char *ngx = model_get(m, "paths.nginx-dir");
                _cleanup_free_ char *avail = path_join(ngx, "sites-available/" NGINX_SITE_NAME);
                _cleanup_free_ char *en = path_join(ngx, "sites-enabled/" NGINX_SITE_NAME);
                struct item *it =
                    avail && en ? plan_add(p, ITEM_SYMLINK, en, 0777, "nginx site") : NULL;
                if (!it || !(it->link_target = strdup(avail)))
                        r = -ENOMEM;
        }
        /* Enabling like systemctl enable: <unit-dir>/<target>.wants/<unit> -> <unit-dir>/<unit>. */
        const char *ud = model_get(m, "paths.unit-dir");
        /* With systemd running, EnableUnitFiles does this (and knows more than we do). */
        for (int c = 0; r >= 0 && o->link_units && c < _COMPONENT_MAX; c++) {
                _cleanup_free_ char *unit = strjoin3(component_names[c], ".service", NULL);
                _cleanup_free_ char *unit_path = unit ? path_join(ud, unit) : NULL;
                if (!unit_path) {
                        r = -ENOMEM;
                        break;
                }
                for (char **w = rr->wanted_by[c]; w && *w && r >= 0; w++) {
                        _cleanup_free_ char *wants = strjoin3(*w, ".wants/", unit);
                        _cleanup_free_ char *link = wants ? path_join(ud, wants) : NULL;
                        struct item *it =
                            link ? plan_add(p, ITEM_SYMLINK, link, 0777, "enable") : NULL;
                        if (!it || !(it->link_target = strdup(unit_path)))
                                r = -ENOMEM;
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
                r = target_open_dir(t, it->path, false, &dfd);
                it->action = r == -ENOENT ? ACTION_CREATE : ACTION_NONE;
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

struct staged {
        int dirfd;
        char *tmp;
        const char *name;
        struct item *it;
        int fd; /* downloads: open until verified */
};

static void staged_abort_all(struct staged *s, size_t n)
{
        for (size_t i = 0; i < n; i++) {
                if (s[i].fd >= 0)
                        close(s[i].fd);
                if (s[i].tmp)
                        stage_abort(s[i].dirfd, s[i].tmp);
                free(s[i].tmp);
                if (s[i].dirfd >= 0)
                        close(s[i].dirfd);
        }
        free(s);
}

static int stage_item(struct target *t, struct item *it, struct staged *s)
{
        int r = target_open_parent(t, it->path, true, &s->dirfd, &s->name);
        if (r < 0)
                return r;
        s->it = it;
        if (it->kind == ITEM_SYMLINK || it->action == ACTION_CHMOD)
                return 0; /* done in the publish step: nothing to stage */
        int fd = stage_open(s->dirfd, s->name, &s->tmp);
        if (fd < 0)
                return fd;
        if (it->kind == ITEM_DOWNLOAD) {
                s->fd = fd; /* filled by the cache or the network, then finished */
                return 0;
        }
        r = write_all(fd, it->content, it->len);
        if (r >= 0)
                r = stage_finish(fd, it->mode, true);
        close(fd);
        return r;
}

/* The cache holds verified binaries by digest: <cache-dir>/<alg>/<hex>. Entries are hashed
 * again while copied out, so a damaged or tampered entry is caught and replaced. */
static int cache_open_dir(struct plan *p, struct target *t, enum digest_alg alg, bool create,
                          int *ret_fd)
{
        _cleanup_free_ char *dir = path_join(p->cache_dir, digest_alg_to_string(alg));
        if (!dir)
                return -ENOMEM;
        /* Cache directories may be removed again by a failed run's undo only while empty. */
        int r = target_open_dir(t, dir, create, ret_fd);
        return r;
}

/* Copies in_fd into the staged file, hashing on the way; -EBADMSG (and the staged file
 * emptied again) when the bytes are not the item's digest. */
static int copy_verified(int in_fd, struct staged *s)
{
        struct item *it = s->it;
        _cleanup_(digest_freep) struct digest *d = NULL;
        int r = digest_new(it->alg, &d);
        if (r < 0)
                return r;
        static char chunk[1 << 17];
        for (;;) {
                ssize_t n = read(in_fd, chunk, sizeof(chunk));
                if (n < 0 && errno == EINTR)
                        continue;
                if (n < 0)
                        return -errno;
                if (n == 0)
                        break;
                r = digest_update(d, chunk, (size_t)n);
                if (r >= 0)
                        r = write_all(s->fd, chunk, (size_t)n);
                if (r < 0)
                        return r;
        }
        char hex[DIGEST_HEX_MAX];
        r = digest_final_hex(d, hex);
        if (r < 0)
                return r;
        if (!streq(hex, it->hex)) {
                if (ftruncate(s->fd, 0) < 0 || lseek(s->fd, 0, SEEK_SET) < 0)
                        return -errno;
                return -EBADMSG;
        }
        return 0;
}

static int cache_take(struct plan *p, struct target *t, struct staged *s)
{
        _cleanup_close_ int cdir = -1;
        if (cache_open_dir(p, t, s->it->alg, false, &cdir) < 0)
                return -ENOENT;
        _cleanup_close_ int in = open_regular_at(cdir, s->it->hex);
        if (in < 0)
                return in;
        int r = copy_verified(in, s);
        if (r == -EBADMSG)
                (void)unlinkat(cdir, s->it->hex, 0); /* damaged: fetch it again */
        return r;
}

/* A verified download joins the cache as a hard link to the staged file: free on one file
 * system, where a copy would write every byte a second time (the cold-run benchmark's largest
 * avoidable cost). The entry shares its inode with the installed binary, so an in-place edit
 * of that binary damages the entry too; entries are re-hashed whenever they are used, so that
 * costs a download, never a wrong byte. Across file systems it is a copy. */
static int cache_put(struct plan *p, struct target *t, struct staged *s)
{
        struct item *it = s->it;
        _cleanup_close_ int cdir = -1;
        int r = cache_open_dir(p, t, it->alg, true, &cdir);
        if (r < 0)
                return r;
        struct stat st;
        if (fstatat(cdir, it->hex, &st, AT_SYMLINK_NOFOLLOW) == 0)
                (void)unlinkat(cdir, it->hex, 0); /* a stale or damaged entry: replace it */
        if (linkat(s->dirfd, s->tmp, cdir, it->hex, 0) == 0)
                return 0;
        if (errno != EXDEV)
                return -errno;
        _cleanup_free_ char *tmp = NULL;
        _cleanup_close_ int out = stage_open(cdir, it->hex, &tmp);
        if (out < 0)
                return out;
        r = fstat(s->fd, &st) < 0 ? -errno : 0;
        if (r >= 0)
                r = copy_fd(s->fd, out, (uint64_t)st.st_size);
        if (r >= 0)
                r = stage_finish(out, 0644, true);
        if (r >= 0)
                r = stage_commit(cdir, tmp, it->hex);
        if (r < 0)
                stage_abort(cdir, tmp);
        return r;
}

struct tarball_stream {
        struct fetch_job job;
        struct plan *p;
        const struct apply_hooks *h;
        int r;
};

static void *tarball_thread(void *userdata)
{
        struct tarball_stream *ts = userdata;
        ts->r = fetch_run(&ts->job, 1, &ts->p->http, &ts->p->policy, ts->h ? ts->h->progress : NULL,
                          ts->h ? ts->h->userdata : NULL);
        close(ts->job.fd); /* end of stream for the reader */
        ts->job.fd = -1;
        return NULL;
}

/* Streams the release tarball once from URLS: a thread downloads it into a pipe (hashing it on
 * the way), this thread extracts the wanted members from the pipe into their staging files.
 * On -ESPIPE, *ret_stopped is the index in URLS of the URL that would have to start over. */
static int stream_tarball(struct plan *p, struct staged **s, size_t n, const struct apply_hooks *h,
                          char **urls, size_t *ret_stopped, char **ret_error)
{
        struct archive_want want[_BINARY_MAX];
        int pfd[2];
        if (n > _BINARY_MAX)
                return -E2BIG;
        if (pipe2(pfd, O_CLOEXEC) < 0)
                return -errno;
        /* A deeper pipe lets the two sides run longer without waking each other up. */
        (void)fcntl(pfd[1], F_SETPIPE_SZ, 1 << 20);
        for (size_t i = 0; i < n; i++)
                want[i] = (struct archive_want){
                    .path = s[i]->it->member, .fd = s[i]->fd, .alg = s[i]->it->alg};
        struct tarball_stream ts = {
            .job = {.urls = urls,
                    .fd = pfd[1],
                    .alg = p->tarball_alg,
                    .expect_hex = p->tarball_hex},
            .p = p,
            .h = h,
        };
        pthread_t th;
        int r = -pthread_create(&th, NULL, tarball_thread, &ts);
        if (r < 0) {
                close(pfd[0]);
                close(pfd[1]);
                return r;
        }
        _cleanup_free_ char *xerr = NULL;
        int xr = archive_extract(pfd[0], want, n, &xerr);
        close(pfd[0]); /* a writer still going gets EPIPE and stops */
        pthread_join(th, NULL);
        r = ts.r;
        if (r >= 0 && ts.job.result < 0 && !(xr < 0 && ts.job.result == -EPIPE)) {

                /* the tarball's own failure (or digest mismatch) explains more than the reader's */
                r = ts.job.result;
                asprintf_safe(ret_error, "%s", ts.job.error);
                *ret_stopped = ts.job.url_index;
        } else if (r >= 0 && xr < 0) {
                r = xr;
                asprintf_safe(ret_error, "%s: %s", ts.job.url_used ? ts.job.url_used : urls[0],
                              xerr ? xerr : strerror(-xr));
        }
        if (r >= 0) {
                p->bytes_downloaded += ts.job.bytes;
                for (size_t i = 0; i < n; i++) {
                        memcpy(s[i]->it->hex, want[i].hex, sizeof(want[i].hex));
                        s[i]->it->url_used = ts.job.url_used;
                }
        }
        fetch_job_done(&ts.job);
        return r;
}

/* A stream handed to the extractor as it arrives cannot be rewound, so a transfer that has to
 * start from zero (a server that answers a Range request with the whole file, or the next
 * mirror after the primary failed half-way) fails the stream with -ESPIPE. Then the whole
 * tarball starts over from that URL, into emptied staging files; at most once per URL. */
static int fill_from_tarball(struct plan *p, struct staged **s, size_t n,
                             const struct apply_hooks *h, char **ret_error)
{
        char **urls = p->tarball_urls;
        for (size_t round = 0;; round++) {
                _cleanup_free_ char *err = NULL;
                size_t stopped = 0;
                int r = stream_tarball(p, s, n, h, urls, &stopped, &err);
                if (r != -ESPIPE || round >= strv_length(p->tarball_urls) || !urls[stopped]) {
                        *ret_error = TAKE_PTR(err);
                        return r;
                }
                _cleanup_free_ char *w = NULL;
                asprintf_safe(&w, "%s; starting the tarball over from %s", err ? err : "",
                              urls[stopped]);
                if (w)
                        (void)strv_extend(&p->warnings, w);
                for (size_t i = 0; i < n; i++)
                        if (ftruncate(s[i]->fd, 0) < 0 || lseek(s[i]->fd, 0, SEEK_SET) < 0)
                                return -errno;
                urls += stopped;
        }
}

/* A binary whose digest was only learnt from the tarball may turn out to be installed
 * already: then it is left alone. */
static int settle_unknown(struct plan *p, struct target *t, struct staged *s)
{
        struct item *it = s->it;
        _cleanup_close_ int fd = open_regular_at(s->dirfd, s->name);
        if (fd < 0)
                return fd == -ENOENT ? 0 : fd;
        char hex[DIGEST_HEX_MAX];
        int r = digest_fd(fd, it->alg, hex);
        if (r < 0)
                return r;
        struct stat st;
        if (fstat(fd, &st) == 0)
                p->bytes_hashed += (uint64_t)st.st_size;
        if (streq(hex, it->hex)) {
                it->action = ACTION_NONE;
                (void)t;
        }
        return 0;
}

/* Fills every staged download: from the cache when it has the digest, the rest in parallel
 * from the network. */
static int fill_downloads(struct plan *p, struct target *t, struct staged *s, size_t n,
                          const struct apply_hooks *h, char **ret_error)
{
        struct fetch_job *jobs = calloc(n ? n : 1, sizeof(*jobs));
        struct staged **owner = calloc(n ? n : 1, sizeof(*owner));
        size_t k = 0;
        int r = 0;
        if (!jobs || !owner) {
                free(jobs);
                free(owner);
                return -ENOMEM;
        }
        struct staged *from_tar[_BINARY_MAX];
        size_t n_tar = 0;
        for (size_t i = 0; i < n && r >= 0; i++) {
                if (s[i].fd < 0)
                        continue;
                if (s[i].it->hex[0] && cache_take(p, t, &s[i]) == 0) {
                        s[i].it->from_cache = true;
                        p->from_cache++;
                        continue;
                }
                if (s[i].it->local_path) {
                        /* checked against the bundle's manifest when it was opened, and
                         * again here, byte by byte, as it is copied into place */
                        _cleanup_close_ int in = open_regular_at(AT_FDCWD, s[i].it->local_path);
                        r = in < 0 ? in : copy_verified(in, &s[i]);
                        if (r < 0)
                                asprintf_safe(ret_error, "%s: %s", s[i].it->local_path,
                                              r == -EBADMSG ? "does not match its digest"
                                                            : fileio_strerror(r));
                        continue;
                }
                if (s[i].it->member) {
                        if (n_tar < _BINARY_MAX)
                                from_tar[n_tar++] = &s[i];
                        continue;
                }
                jobs[k] = (struct fetch_job){.urls = s[i].it->urls,

                                             .fd = s[i].fd,
                                             .alg = s[i].it->alg,
                                             .expect_hex = s[i].it->hex};
                owner[k++] = &s[i];
        }
        if (k > 0)
                r = fetch_run(jobs, k, &p->http, &p->policy, h ? h->progress : NULL,
                              h ? h->userdata : NULL);
        for (size_t i = 0; i < k && r >= 0; i++) {
                if (jobs[i].result < 0) {
                        r = jobs[i].result;
                        asprintf_safe(ret_error, "%s", jobs[i].error);
                        break;
                }
                owner[i]->it->url_used = jobs[i].url_used;
                if (jobs[i].error) /* earlier URLs failed before this one served the file */
                        (void)strv_extend(&p->warnings, jobs[i].error);
                p->bytes_downloaded += jobs[i].bytes;
        }
        if (r >= 0 && n_tar > 0)
                r = fill_from_tarball(p, from_tar, n_tar, h, ret_error);
        for (size_t i = 0; i < n_tar && r >= 0; i++)
                if (from_tar[i]->it->verify_after)
                        r = settle_unknown(p, t, from_tar[i]);
        for (size_t i = 0; i < n && r >= 0; i++) {
                if (s[i].fd < 0 || s[i].it->action == ACTION_NONE)
                        continue;
                r = stage_finish(s[i].fd, s[i].it->mode, true);
                int q = r >= 0 && !s[i].it->from_cache ? cache_put(p, t, &s[i]) : 0;
                if (q < 0) {
                        /* the install goes on; only the next run pays, with a download */
                        _cleanup_free_ char *w = NULL;
                        asprintf_safe(&w, "%s: not kept in the cache %s: %s", s[i].it->path,
                                      p->cache_dir, strerror(-q));
                        if (w)
                                (void)strv_extend(&p->warnings, w);
                }
        }
        for (size_t i = 0; i < k; i++)
                fetch_job_done(&jobs[i]);
        free(jobs);
        free(owner);
        return r;
}

static int publish_item(struct staged *s)
{
        struct item *it = s->it;
        if (it->kind == ITEM_SYMLINK)
                return atomic_symlink_at(s->dirfd, s->name, it->link_target);
        if (it->action == ACTION_CHMOD)
                return chmod_regular_at(s->dirfd, s->name, it->mode, true);
        int r = stage_commit(s->dirfd, s->tmp, s->name);
        if (r >= 0) {
                free(s->tmp);
                s->tmp = NULL;
        }
        return r;
}

static enum state_kind item_kind_to_state(const struct item *it)
{
        switch (it->kind) {
        case ITEM_DOWNLOAD:
                return STATE_KIND_DOWNLOAD;
        case ITEM_SYMLINK:
                return STATE_KIND_LINK;
        case ITEM_DIR:
                return STATE_KIND_DIR;
        default:
                return STATE_KIND_FILE;
        }
}

/* Remembers every item we own; binaries with their digest and stat fingerprint. */
static int record_items(struct plan *p, struct target *t, struct state *st)
{
        for (size_t i = 0; i < p->n_items; i++) {
                struct item *it = &p->items[i];
                struct state_entry e = {
                    .kind = item_kind_to_state(it), .path = it->path, .alg = it->alg};
                if (it->kind == ITEM_DOWNLOAD) {
                        _cleanup_close_ int dfd = -1;
                        const char *name;
                        struct stat sb;
                        if (target_open_parent(t, it->path, false, &dfd, &name) < 0 ||
                            fstatat(dfd, name, &sb, AT_SYMLINK_NOFOLLOW) < 0)
                                continue;
                        e.url = it->url;
                        e.digest_url = it->digest_from;
                        memcpy(e.hex, it->hex, sizeof(e.hex));
                        state_set_stat(&e, &sb);
                } else if (it->kind == ITEM_SYMLINK)
                        e.url = it->link_target;
                else if (it->kind == ITEM_FILE) {
                        /* so reset can tell our file from one the operator has since edited */
                        e.alg = DIGEST_SHA256;
                        int q = digest_buffer(DIGEST_SHA256, it->content, it->len, e.hex);
                        if (q < 0)
                                return q;
                }
                const struct state_entry *old = state_find(st, it->path);
                /* Directories are only ours if we made them; keep what an earlier run knew. */
                if (it->kind == ITEM_DIR && !old && it->action != ACTION_CREATE)
                        continue;
                int r = state_put(st, &e);
                if (r < 0)
                        return r;
        }
        /* Every directory this run made (parents included) is ours to remove on reset. */
        for (char **d = t->created_dirs; d && *d; d++) {
                if (state_find(st, *d))
                        continue;
                struct state_entry e = {.kind = STATE_KIND_DIR, .path = *d};
                int r = state_put(st, &e);
                if (r < 0)
                        return r;
        }
        if (p->tarball) {
                /* The tarball's digest, so the next run needs no sidecar request either. */
                _cleanup_free_ char *key = strjoin3("tarball:", p->tarball_urls[0], NULL);
                struct state_entry e = {.kind = STATE_KIND_DIGEST,
                                        .path = key,
                                        .url = p->tarball_urls[0],
                                        .digest_url = p->tarball_digest_from,
                                        .alg = p->tarball_alg};
                if (!key)
                        return -ENOMEM;
                memcpy(e.hex, p->tarball_hex, sizeof(e.hex));
                return state_put(st, &e);
        }
        return 0;
}

void plan_sweep_staging(struct plan *p, struct target *t)
{
        for (size_t i = 0; i < p->n_items; i++) {
                const struct item *it = &p->items[i];
                if (it->kind == ITEM_DIR)
                        continue;
                const char *slash = strrchr(it->path, '/');
                _cleanup_free_ char *dir =
                    slash == it->path ? strdup("/") : strndup(it->path, (size_t)(slash - it->path));
                if (dir)
                        target_sweep_staging(t, dir, slash + 1);
        }
        cache_sweep(t, p->cache_dir);
}

int plan_apply(struct plan *p, struct target *t, struct state *st, const struct apply_hooks *h,
               char **ret_error)
{
        struct staged *s = calloc(p->n_items + 1, sizeof(*s));
        size_t n = 0;
        const char *failed_path = NULL;
        int r = 0;
        if (!s)
                return -ENOMEM;

        /* Stage: nothing is visible at a final path yet. */
        for (size_t i = 0; i < p->n_items && r >= 0; i++) {
                struct item *it = &p->items[i];
                if (it->action == ACTION_NONE)
                        continue;
                failed_path = it->path;
                if (it->kind == ITEM_DIR) {
                        int fd;
                        r = target_open_dir(t, it->path, true, &fd);
                        if (r >= 0)
                                close(fd);
                        continue;
                }
                s[n].dirfd = -1;
                s[n].fd = -1;
                r = stage_item(t, it, &s[n]);
                n++;
        }
        if (r >= 0) {
                failed_path = NULL;
                r = fill_downloads(p, t, s, n, h, ret_error);
        }
        if (r < 0) {
                if (!*ret_error) {
                        _cleanup_free_ char *shown =
                            target_display(t, failed_path ? failed_path : "/");
                        asprintf_safe(ret_error, "%s: %s", shown, strerror(-r));
                }
                staged_abort_all(s, n);
                target_undo_dirs(t);
                return r;
        }

        /* Publish: one rename per file, each atomic. */
        for (size_t i = 0; i < p->n_items; i++)
                if (p->items[i].kind == ITEM_DIR && p->items[i].action != ACTION_NONE && h &&
                    h->done)
                        h->done(&p->items[i], h->userdata);
        for (size_t i = 0; i < n; i++) {
                if (s[i].it->action == ACTION_NONE)
                        continue; /* learnt after extraction: already installed */
                r = publish_item(&s[i]);

                if (r < 0) {
                        _cleanup_free_ char *shown = target_display(t, s[i].it->path);
                        asprintf_safe(ret_error, "%s: %s", shown, strerror(-r));
                        break;
                }
                if (h && h->done)
                        h->done(s[i].it, h->userdata);
        }
        staged_abort_all(s, n);
        if (r >= 0 && st)
                r = record_items(p, t, st);
        t->created_dirs = strv_free(t->created_dirs);
        return r;
}

int plan_fetch(struct plan *p, struct target *t, const struct apply_hooks *h, char **ret_error)
{
        _cleanup_close_ int cdir = -1;
        int r = target_open_dir(t, p->cache_dir, true, &cdir);
        if (r < 0)
                return r;
        /* Downloads are staged in a scratch directory inside the cache and land in the cache
         * (by digest) through the same path as apply's. */
        char scratch[] = CACHE_SCRATCH_PREFIX "XXXXXX";
        unsigned char rnd[6];
        if (getrandom(rnd, sizeof(rnd), 0) != (ssize_t)sizeof(rnd))
                return -errno;
        for (size_t i = 0; i < 6; i++)
                scratch[strlen(CACHE_SCRATCH_PREFIX) + i] =
                    CACHE_SCRATCH_CHARS[rnd[i] % (sizeof(CACHE_SCRATCH_CHARS) - 1)];
        if (mkdirat(cdir, scratch, 0700) < 0)
                return -errno;
        r = dir_chmod_at(cdir, scratch, 0700);
        if (r < 0) {
                (void)unlinkat(cdir, scratch, AT_REMOVEDIR);
                return r;
        }
        _cleanup_close_ int sdir = openat(cdir, scratch, O_PATH | O_DIRECTORY | O_CLOEXEC);
        struct staged *s = calloc(p->n_items + 1, sizeof(*s));
        size_t n = 0;
        r = sdir < 0 ? -errno : s ? 0 : -ENOMEM;
        for (size_t i = 0; i < p->n_items && r >= 0; i++) {
                struct item *it = &p->items[i];
                if (it->kind != ITEM_DOWNLOAD)
                        continue;
                s[n] = (struct staged){
                    .dirfd = dup(sdir), .it = it, .name = strrchr(it->path, '/') + 1};
                s[n].fd = s[n].dirfd < 0 ? -errno : stage_open(s[n].dirfd, s[n].name, &s[n].tmp);
                r = s[n].fd < 0 ? s[n].fd : 0;
                if (s[n].fd < 0)
                        s[n].fd = -1;
                n++;
        }
        if (r >= 0)
                r = fill_downloads(p, t, s, n, h, ret_error);
        if (s)
                staged_abort_all(s, n);
        (void)unlinkat(cdir, scratch, AT_REMOVEDIR);
        return r;
}

int plan_cache_open(struct plan *p, struct target *t, const struct item *it, int *ret_fd)
{
        _cleanup_close_ int cdir = -1;
        int r = cache_open_dir(p, t, it->alg, false, &cdir);
        if (r < 0)
                return r;
        int fd = open_regular_at(cdir, it->hex);
        if (fd < 0)
                return fd;
        *ret_fd = fd;
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
                free(it->link_target);
                free(it->diff);
        }
        free(p->items);
        free(p->cache_dir);
        strv_free(p->warnings);
        strv_free(p->tarball_urls);
        free(p->tarball_digest_from);

        free(p);
        return NULL;
}
