/* The plan: every item the node should have, compared with what it has, and how to apply it. */
#include "plan.h"

#include <errno.h>
#include <fcntl.h>
#include <string.h>
#include <sys/stat.h>

#include "diff.h"
#include "fetch.h"
#include "util.h"

/* The seed's PKI files, in the order it moves them, and whether each is a secret. */
static const struct {
        const char *name;
        bool secret;
} pki_files[] = {
    {"ca.pem", false},
    {"ca-key.pem", true},
    {"kubernetes-key.pem", true},
    {"kubernetes.pem", false},
    {"service-account-key.pem", true},
    {"service-account.pem", false},
    {"encryption-config.yaml", true},             /* holds the encryption key */
    {"kube-controller-manager.kubeconfig", true}, /* holds a client key */
    {"kube-scheduler.kubeconfig", true},
};

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

static int add_binaries(const struct model *m, struct plan *p, char **ret_error)
{
        const char *bin = model_get(m, "paths.bin-dir");
        for (int b = 0; b < _BINARY_MAX; b++) {
                _cleanup_free_ char *path = path_join(bin, binary_names[b]);
                struct item *it = path ? plan_add(p, ITEM_DOWNLOAD, path, 0755, "binary") : NULL;
                if (!it)
                        return -ENOMEM;
                it->url = fetch_binary_url(model_get(m, "download.base-url"),
                                           model_get(m, "cluster.version"),
                                           model_get(m, "download.arch"), binary_names[b]);
                if (!it->url)
                        return -ENOMEM;
                if (m->pins[b].set) {
                        /* A pinned digest is the operator's own statement: no sidecar asked. */
                        it->alg = m->pins[b].alg;
                        memcpy(it->hex, m->pins[b].hex, sizeof(it->hex));
                        it->digest_from = strdup("pinned in the configuration");
                } else {
                        it->alg = m->checksum;
                        int r = fetch_sidecar(it->url, m->checksum, binary_names[b], &p->http,
                                              it->hex, ret_error);
                        if (r < 0)
                                return r;
                        it->digest_from = strjoin3(it->url, ".", digest_alg_to_string(it->alg));
                }
                if (!it->digest_from)
                        return -ENOMEM;
        }
        return 0;
}

static int add_pki(const struct model *m, struct plan *p, char **ret_error)
{
        const char *src = model_get(m, "pki.source-dir");
        const char *lib = model_get(m, "paths.lib-dir");
        for (size_t i = 0; i < ELEMENTSOF(pki_files); i++) {
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
                                                  : strerror(-r));
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

int plan_build(const struct model *m, const struct render_result *rr, struct plan **ret,
               char **ret_error)
{
        struct plan *p = calloc(1, sizeof(*p));
        if (!p)
                return -ENOMEM;
        const char *ca = model_get(m, "download.ca-file");
        p->http = (struct http_options){
            .ca_file = ca && *ca ? ca : NULL,
            .max_size = 2ULL << 30,
        };
        int r = 0;
        const char *dirs[] = {"paths.config-dir", "paths.lib-dir"};
        for (size_t i = 0; i < ELEMENTSOF(dirs) && r >= 0; i++)
                if (!plan_add(p, ITEM_DIR, model_get(m, dirs[i]), 0755, "directory"))
                        r = -ENOMEM;
        if (r >= 0)
                r = add_binaries(m, p, ret_error);
        if (r >= 0)
                r = add_pki(m, p, ret_error);
        for (size_t i = 0; r >= 0 && i < rr->n_files; i++) {
                const struct rendered_file *f = &rr->files[i];
                struct item *it =
                    plan_add(p, ITEM_FILE, f->path, f->mode, f->component >= 0 ? "unit" : "config");
                if (!it || !(it->content = strdup(f->content))) {
                        r = -ENOMEM;
                        break;
                }
                it->len = strlen(f->content);
                it->text = true;
        }
        /* nginx's way of enabling a site: a link in sites-enabled, as the seed makes it. */
        if (r >= 0) {
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
        for (int c = 0; r >= 0 && c < _COMPONENT_MAX; c++) {
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

static int compare_item(struct item *it, struct target *t, bool want_diff, char **ret_error)
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
        if (it->kind == ITEM_DOWNLOAD) {
                _cleanup_close_ int fd = openat(dfd, name, O_RDONLY | O_CLOEXEC | O_NOFOLLOW);
                char hex[DIGEST_HEX_MAX];
                if (fd < 0)
                        return -errno;
                r = digest_fd(fd, it->alg, hex);
                if (r < 0)
                        return r;
                same = streq(hex, it->hex);
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

int plan_compare(struct plan *p, struct target *t, bool want_diff, char **ret_error)
{
        for (size_t i = 0; i < p->n_items; i++) {
                int r = compare_item(&p->items[i], t, want_diff, ret_error);
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
};

static void staged_abort_all(struct staged *s, size_t n)
{
        for (size_t i = 0; i < n; i++) {
                if (s[i].tmp)
                        stage_abort(s[i].dirfd, s[i].tmp);
                free(s[i].tmp);
                if (s[i].dirfd >= 0)
                        close(s[i].dirfd);
        }
        free(s);
}

static int stage_item(struct plan *p, struct target *t, struct item *it, struct staged *s,
                      char **ret_error)
{
        int r = target_open_parent(t, it->path, true, &s->dirfd, &s->name);
        if (r < 0)
                return r;
        s->it = it;
        if (it->kind == ITEM_SYMLINK || it->action == ACTION_CHMOD)
                return 0; /* done in the publish step: nothing to stage */
        _cleanup_close_ int fd = stage_open(s->dirfd, s->name, &s->tmp);
        if (fd < 0)
                return fd;
        if (it->kind == ITEM_DOWNLOAD)
                r = fetch_verified(it->url, &p->http, fd, it->alg, it->hex, ret_error);
        else
                r = write_all(fd, it->content, it->len);
        if (r >= 0)
                r = stage_finish(fd, it->mode, true);
        return r;
}

static int publish_item(struct staged *s)
{
        struct item *it = s->it;
        if (it->kind == ITEM_SYMLINK)
                return atomic_symlink_at(s->dirfd, s->name, it->link_target);
        if (it->action == ACTION_CHMOD) {
                if (geteuid() == 0 && fchownat(s->dirfd, s->name, 0, 0, AT_SYMLINK_NOFOLLOW) < 0)
                        return -errno;
                return fchmodat(s->dirfd, s->name, it->mode, 0) < 0 ? -errno : 0;
        }
        int r = stage_commit(s->dirfd, s->tmp, s->name);
        if (r >= 0) {
                free(s->tmp);
                s->tmp = NULL;
        }
        return r;
}

int plan_apply(struct plan *p, struct target *t, plan_progress_t done, void *userdata,
               char **ret_error)
{
        struct staged *s = calloc(p->n_items + 1, sizeof(*s));
        size_t n = 0;
        int r = 0;
        if (!s)
                return -ENOMEM;

        /* Stage: nothing is visible at a final path yet. */
        for (size_t i = 0; i < p->n_items && r >= 0; i++) {
                struct item *it = &p->items[i];
                if (it->action == ACTION_NONE)
                        continue;
                if (it->kind == ITEM_DIR) {
                        int fd;
                        r = target_open_dir(t, it->path, true, &fd);
                        if (r >= 0)
                                close(fd);
                        continue;
                }
                s[n].dirfd = -1;
                r = stage_item(p, t, it, &s[n], ret_error);
                n++;
        }
        if (r < 0) {
                if (!*ret_error) {
                        _cleanup_free_ char *shown =
                            target_display(t, s[n ? n - 1 : 0].it ? s[n - 1].it->path : "/");
                        asprintf_safe(ret_error, "%s: %s", shown, strerror(-r));
                }
                staged_abort_all(s, n);
                target_undo_dirs(t);
                return r;
        }

        /* Publish: one rename per file, each atomic. */
        for (size_t i = 0; i < p->n_items; i++)
                if (p->items[i].kind == ITEM_DIR && p->items[i].action != ACTION_NONE && done)
                        done(&p->items[i], userdata);
        for (size_t i = 0; i < n; i++) {
                r = publish_item(&s[i]);
                if (r < 0) {
                        _cleanup_free_ char *shown = target_display(t, s[i].it->path);
                        asprintf_safe(ret_error, "%s: %s", shown, strerror(-r));
                        break;
                }
                if (done)
                        done(s[i].it, userdata);
        }
        staged_abort_all(s, n);
        t->created_dirs = strv_free(t->created_dirs);
        return r;
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
                free(it->digest_from);
                free(it->link_target);
                free(it->diff);
        }
        free(p->items);
        free(p);
        return NULL;
}
