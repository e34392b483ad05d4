/* Renders the unit files, kube-scheduler.yaml and the nginx site from templates and the model. */
#include "render.h"

#include <errno.h>
#include <fcntl.h>
#include <string.h>

#include "log.h"
#include "template.h"
#include "validate.h"
#include "util.h"
#include "versions.h"

#ifndef TEMPLATEDIR
#define TEMPLATEDIR "/usr/share/kubestrap/templates"
#endif

static const char *shipped_override;

void render_set_shipped_dir(const char *dir)
{
        shipped_override = dir;
}

const char *render_shipped_dir(void)
{
        if (shipped_override)
                return shipped_override;
        const char *e = getenv("KUBESTRAP_TEMPLATES");

        return e && *e ? e : TEMPLATEDIR;
}

struct lookup_ctx {
        const struct model *m;
        const char *flags;
        const struct component *component;
        const char *lb_servers;
};

/* Besides the config's "section.key": {{ flags }}, {{ component }}, the component's versioned
 * values as {{ component.NAME }} and a PKI file's name in the [pki] layout as
 * {{ pki-file.<its kthw-2021 name> }}. */
static const char *lookup(const char *name, bool *ret_raw, void *userdata)
{
        struct lookup_ctx *c = userdata;
        if (c->flags && streq(name, "flags")) {
                *ret_raw = true; /* built from values escaped one by one */
                return c->flags;
        }
        if (c->lb_servers && streq(name, "lb-servers")) {
                *ret_raw = true; /* built from validated host names and addresses */
                return c->lb_servers;
        }
        if (c->component && streq(name, "component"))
                return c->component->name;
        if (c->component && startswith(name, "component."))
                return version_value(c->m, c->component, name + strlen("component."));
        if (startswith(name, "pki-file.")) {
                const char *n = name + strlen("pki-file.");
                for (size_t i = 0; i < n_pki_files; i++)
                        if (streq(pki_files[i].name, n))
                                return model_pki_name(c->m, n);
                return NULL;
        }
        return model_get(c->m, name);
}

/* Opens a template directory: refused when anyone but root or us could write to it or to a
 * directory above it, since whoever can rename entries there can swap a template. */
static int open_template_dir(struct target *t, const char *dir, bool in_target, int *ret_fd,
                             char **ret_error)
{
        _cleanup_close_ int dfd = -1;
        int r;
        if (in_target)
                r = target_open_dir(t, dir, false, &dfd);
        else {
                dfd = open(dir, O_PATH | O_DIRECTORY | O_CLOEXEC);
                r = dfd < 0 ? -errno : 0;
        }
        if (r < 0)
                return r;
        _cleanup_free_ char *culprit = NULL;
        r = check_dir_trusted(dfd, &culprit);
        if (r == -EPERM) {
                _cleanup_free_ char *shown = in_target ? target_display(t, dir) : strdup(dir);
                if (culprit)
                        asprintf_safe(ret_error,
                                      "%s: refusing a template directory under %s, which is "
                                      "writable by group or others or owned by another user",
                                      shown ? shown : dir, culprit);
                else
                        asprintf_safe(ret_error,
                                      "%s: refusing a template directory writable by group or "
                                      "others or owned by another user",
                                      shown ? shown : dir);
                return -EINVAL;
        }
        if (r < 0)
                return r;
        *ret_fd = TAKE_FD(dfd);
        return 0;
}

/* Reads template name from directory dfd (shown as dir in messages); -ENOENT when absent. */
static int read_template(int dfd, const char *shown_dir, const char *name, char **ret,
                         char **ret_source, char **ret_error)
{
        _cleanup_free_ char *path = path_join(shown_dir, name);
        if (!path)
                return -ENOMEM;
        int r = read_file_trusted_at(dfd, name, 1 << 20, ret, NULL);
        if (r == -ENOENT)
                return r;
        if (r < 0) {
                asprintf_safe(ret_error, "%s: %s", path,
                              r == -EPERM ? "refusing a template writable by group or others"
                                          : fileio_strerror(r));
                return r == -ENOMEM ? r : -EINVAL;
        }
        *ret_source = TAKE_PTR(path);
        return 0;
}

/* An operator's copy in <template-dir> wins over the shipped one. */
static int load_template(const struct model *m, struct target *t, const char *name, char **ret,
                         char **ret_source, char **ret_error)
{
        const char *dir = m->cfg.paths.template_dir;
        _cleanup_close_ int dfd = -1;
        int r = dir ? open_template_dir(t, dir, true, &dfd, ret_error) : -ENOENT;
        if (r >= 0) {
                _cleanup_free_ char *shown = target_display(t, dir);
                r = shown ? read_template(dfd, shown, name, ret, ret_source, ret_error) : -ENOMEM;
                if (r != -ENOENT)
                        return r;
        } else if (r != -ENOENT) {
                if (!*ret_error) {
                        _cleanup_free_ char *shown = target_display(t, dir);
                        asprintf_safe(ret_error, "%s: %s", shown ? shown : dir, strerror(-r));
                }
                return r;
        }
        const char *shipped = render_shipped_dir();
        _cleanup_close_ int sfd = -1;
        r = open_template_dir(t, shipped, false, &sfd, ret_error);
        if (r >= 0)
                r = read_template(sfd, shipped, name, ret, ret_source, ret_error);
        if (r < 0 && !*ret_error) {
                _cleanup_free_ char *path = path_join(shipped, name);
                asprintf_safe(ret_error, "%s: %s", path ? path : shipped, strerror(-r));
        }
        return r;
}

struct flag {
        char *name;
        char *value; /* NULL: bare flag */
};

static void flags_free(struct flag *f, size_t n)
{
        for (size_t i = 0; i < n; i++) {
                free(f[i].name);
                free(f[i].value);
        }
        free(f);
}

static int flags_add(struct flag **f, size_t *n, const char *name, size_t name_len,
                     const char *value, bool escape)
{
        struct flag *nf = realloc(*f, (*n + 1) * sizeof(**f));
        if (!nf)
                return -ENOMEM;
        *f = nf;
        struct flag *x = &nf[*n];
        *x = (struct flag){.name = strndup(name, name_len)};
        if (!x->name)
                return -ENOMEM;
        if (value) {
                struct buf b = {0};
                int r = escape ? template_escape_append(&b, value, TEMPLATE_ESCAPE_SYSTEMD)
                               : buf_puts(&b, value);
                if (r < 0 || !(x->value = buf_steal(&b))) {
                        buf_done(&b);
                        free(x->name);
                        return -ENOMEM;
                }
        }
        (*n)++;
        return 0;
}

static void flag_remove(struct flag *f, size_t *n, size_t at)
{
        free(f[at].name);
        free(f[at].value);
        memmove(&f[at], &f[at + 1], (*n - at - 1) * sizeof(*f));
        (*n)--;
}

static ssize_t flags_find(struct flag *f, size_t n, const char *name)
{
        for (size_t i = 0; i < n; i++)
                if (streq(f[i].name, name))
                        return (ssize_t)i;
        return -1;
}

static const char *flags_suggest(struct flag *f, size_t n, const char *name)
{
        const char *best = NULL;
        unsigned best_d = 3;
        for (size_t i = 0; i < n; i++) {
                unsigned d = edit_distance(name, f[i].name);
                if (d < best_d) {
                        best_d = d;
                        best = f[i].name;
                }
        }
        return best;
}

int render_flags(const struct model *m, const struct component *comp, const char *flags_name,
                 const char *text, char **ret_block, char **ret_error)
{
        size_t c = component_index(comp);
        struct flag *f = NULL;
        size_t n = 0;
        unsigned line = 0;
        int r = 0;

        for (const char *p = text; *p && r >= 0;) {
                const char *nl = strchr(p, '\n');
                size_t len = nl ? (size_t)(nl - p) : strlen(p);
                line++;
                while (len > 0 && (p[len - 1] == ' ' || p[len - 1] == '\t' || p[len - 1] == '\r'))
                        len--;
                const char *s = p;
                while (s < p + len && (*s == ' ' || *s == '\t'))
                        s++;
                size_t sl = (size_t)(p + len - s);
                if (sl > 0 && *s != '#') {
                        if (sl < 3 || s[0] != '-' || s[1] != '-') {
                                r = log_note_error(
                                    ret_error, -EINVAL,
                                    &(struct err_where){.file = flags_name, .line = line},
                                    "%s:%u: expected '--flag=value'", flags_name, line);
                                break;
                        }
                        const char *eq = memchr(s, '=', sl);
                        size_t nlen = eq ? (size_t)(eq - s - 2) : sl - 2;
                        _cleanup_free_ char *value =
                            eq ? strndup(eq + 1, (size_t)(s + sl - eq - 1)) : NULL;
                        if (eq && !value)
                                r = -ENOMEM;
                        else
                                r = flags_add(&f, &n, s + 2, nlen, value, false);
                }
                p += nl ? len + (size_t)(nl - p - len) + 1 : strlen(p);
        }

        /* The release's rules first (versions.c), so the operator's edits below still have the
         * last word: a dropped flag can be added back with "+NAME = ...". */
        for (size_t i = 0; r >= 0 && i < n;) {
                if (!version_drops_flag(m, comp, f[i].name)) {
                        i++;
                        continue;
                }
                flag_remove(f, &n, i);
        }

        for (size_t i = 0; r >= 0 && i < m->n_edits[c]; i++) {
                const struct flag_edit *e = &m->edits[c][i];
                ssize_t at = flags_find(f, n, e->name);
                const char *sect = comp->name;
                if (e->op == '=' && at < 0) {
                        const char *s = flags_suggest(f, n, e->name);
                        if (s)
                                asprintf_safe(
                                    ret_error,
                                    "%s:%u: [%s] %s: no such flag in the defaults (did you "
                                    "mean '%s'?); write '+%s = ...' to add a new flag",
                                    m->config_path, e->line, sect, e->name, s, e->name);
                        else
                                asprintf_safe(ret_error,
                                              "%s:%u: [%s] %s: no such flag in the defaults; write "
                                              "'+%s = ...' to add a new flag",
                                              m->config_path, e->line, sect, e->name, e->name);
                        r = -EINVAL;
                } else if (e->op == '+' && at >= 0) {
                        asprintf_safe(ret_error,
                                      "%s:%u: [%s] +%s: flag is already set; write '%s = ...' to "
                                      "replace its value",
                                      m->config_path, e->line, sect, e->name, e->name);
                        r = -EINVAL;
                } else if (e->op == '-' && at < 0) {
                        asprintf_safe(ret_error, "%s:%u: [%s] -%s: no such flag to remove",
                                      m->config_path, e->line, sect, e->name);
                        r = -EINVAL;
                } else if (e->op == '-') {
                        flag_remove(f, &n, (size_t)at);
                } else if (e->op == '=') {
                        struct buf b = {0};
                        r = template_escape_append(&b, e->value, TEMPLATE_ESCAPE_SYSTEMD);
                        char *v = r >= 0 ? buf_steal(&b) : NULL;
                        if (!v) {
                                buf_done(&b);
                                r = -ENOMEM;
                        } else {
                                free(f[at].value);
                                f[at].value = v;
                        }
                } else {
                        r = flags_add(&f, &n, e->name, strlen(e->name),
                                      e->value[0] ? e->value : NULL, true);
                }
                if (r == -EINVAL && *ret_error) /* the operator's edit, in the config */
                        log_note_where(*ret_error, &(struct err_where){.file = m->config_path,
                                                                       .line = e->line,
                                                                       .section = sect,
                                                                       .key = e->name});
        }

        /* The seed's layout: one flag per line, continued with " \". */
        struct buf b = {0};
        for (size_t i = 0; r >= 0 && i < n; i++) {
                r = buf_printf(&b, " \\\n  --%s", f[i].name);
                if (r >= 0 && f[i].value)
                        r = buf_printf(&b, "=%s", f[i].value);
        }
        flags_free(f, n);
        if (r < 0) {
                buf_done(&b);
                return r;
        }
        *ret_block = buf_steal(&b);
        return *ret_block ? 0 : -ENOMEM;
}

/* WantedBy= targets of a rendered unit's [Install] section, for enabling without systemd. */
static int parse_wanted_by(const char *unit, char ***ret)
{
        bool install = false;
        for (const char *p = unit; *p;) {
                const char *nl = strchr(p, '\n');
                size_t len = nl ? (size_t)(nl - p) : strlen(p);
                if (len > 0 && p[0] == '[')
                        install = len == 9 && strncmp(p, "[Install]", 9) == 0;
                else if (install && len > 9 && strncmp(p, "WantedBy=", 9) == 0) {
                        _cleanup_free_ char *v = strndup(p + 9, len - 9);
                        if (!v)
                                return -ENOMEM;
                        char *save = NULL;
                        for (char *tok = strtok_r(v, " \t", &save); tok;
                             tok = strtok_r(NULL, " \t", &save)) {
                                const char *why = NULL;
                                /* The target becomes a directory name: keep it a plain name. */
                                if (strchr(tok, '/') || tok[0] == '.' ||
                                    validate_flag_name(tok, &why) < 0)
                                        return -EINVAL;
                                int r = strv_extend(ret, tok);
                                if (r < 0)
                                        return r;
                        }
                }
                p += len;
                if (*p)
                        p++;
        }
        return 0;
}

static int add_file(struct render_result *res, const char *dir, const char *name, char *content,
                    mode_t mode, char *source, const struct component *c, enum template_kind kind,
                    struct rendered_file **ret)
{
        struct rendered_file *n = realloc(res->files, (res->n_files + 1) * sizeof(*n));
        if (!n) {
                free(content);
                free(source);
                return -ENOMEM;
        }
        res->files = n;
        n[res->n_files] = (struct rendered_file){
            .path = path_join(dir, name),
            .content = content,
            .mode = mode,
            .source = source,
            .component = c,
            .kind = kind,
        };
        res->n_files++;
        if (ret)
                *ret = &n[res->n_files - 1];
        return n[res->n_files - 1].path ? 0 : -ENOMEM;
}

static int render_one(const struct model *m, struct target *t, const char *tname,
                      struct lookup_ctx *ctx, enum template_escape esc, char **ret,
                      char **ret_source, char **ret_error)
{
        _cleanup_free_ char *text = NULL, *source = NULL;
        int r = load_template(m, t, tname, &text, &source, ret_error);
        if (r < 0)
                return r;
        r = template_render(source, text, lookup, ctx, esc, ret, ret_error);
        if (r < 0)
                return r;
        *ret_source = TAKE_PTR(source);
        return 0;
}

/* The component's unit template for this configuration: etcd's TLS unit (the chapter's) or
 * its plain-http one (the current edition's), by etcd-servers. */
static const struct component_template *unit_template(const struct model *m,
                                                      const struct component *c)
{
        for (size_t i = 0; i < c->n_templates; i++) {
                const struct component_template *ct = &c->templates[i];
                if (ct->kind != TEMPLATE_UNIT)
                        continue;
                if (model_when(m, ct->when))
                        return ct;
        }
        return NULL;
}

/* A unit file from its template, with the flags block rendered and edited first. */
static int render_unit(const struct model *m, struct target *t, const struct component *c,
                       struct render_result *res, char **ret_error)
{
        const struct component_template *ut = unit_template(m, c);
        const struct component_template *ft = component_template(c, TEMPLATE_FLAGS);
        _cleanup_free_ char *flags_text = NULL, *flags_src = NULL, *block = NULL;
        char *unit = NULL, *unit_src = NULL;
        struct lookup_ctx ctx = {.m = m, .component = c};
        int r = 0;
        if (ft) {
                r = render_one(m, t, ft->name, &ctx, TEMPLATE_ESCAPE_SYSTEMD, &flags_text,
                               &flags_src, ret_error);
                if (r >= 0)
                        r = render_flags(m, c, flags_src, flags_text, &block, ret_error);
                if (r < 0)
                        return r;
                ctx.flags = block;
        }
        r = render_one(m, t, ut->name, &ctx, TEMPLATE_ESCAPE_SYSTEMD, &unit, &unit_src, ret_error);
        if (r < 0)
                return r;
        struct rendered_file *f = NULL;
        r = add_file(res, m->cfg.paths.unit_dir, ut->dest ? ut->dest : c->unit, unit, 0644,
                     unit_src, c, TEMPLATE_UNIT, &f);
        if (r < 0)
                return r;
        r = parse_wanted_by(f->content, &f->wanted_by);
        if (r == -EINVAL)
                asprintf_safe(ret_error, "%s: WantedBy= must name plain unit names", f->source);
        return r;
}

/* A site of a web server: the seed's sites-available (Debian, Ubuntu) with its sites-enabled
 * link, or conf.d where the distribution has no sites-* directories. */
static int render_site(const struct model *m, struct target *t, const struct component *c,
                       const struct component_template *st, struct render_result *res,
                       char **ret_error)
{
        struct lookup_ctx ctx = {.m = m};
        const char *dir = model_get(m, c->config_dir);
        const char *dest = st->dest ? st->dest : st->name;
        _cleanup_free_ char *avail = path_join(dir, "sites-available");
        _cleanup_free_ char *confd = path_join(dir, "conf.d");
        _cleanup_free_ char *conf_name = strjoin3(dest, ".conf", NULL);
        _cleanup_close_ int probe = -1;
        if (!avail || !confd || !conf_name)
                return -ENOMEM;
        bool use_confd = target_open_dir(t, avail, false, &probe) == -ENOENT &&
                         target_open_dir(t, confd, false, &probe) == 0;
        char *site = NULL, *src = NULL;
        int r = render_one(m, t, st->name, &ctx, TEMPLATE_ESCAPE_NONE, &site, &src, ret_error);
        struct rendered_file *f = NULL;
        if (r >= 0)
                r = add_file(res, use_confd ? confd : avail, use_confd ? conf_name : dest, site,
                             0644, src, c, TEMPLATE_SITE, &f);
        if (r >= 0 && !use_confd) {
                _cleanup_free_ char *en = path_join(dir, "sites-enabled");
                f->enable_link = en ? path_join(en, dest) : NULL;
                if (!f->enable_link)
                        r = -ENOMEM;
        }
        return r;
}

int render_lb_servers(const struct model *m, char **ret, char **ret_error)
{
        _cleanup_free_ const struct host **ctl = NULL;
        size_t n = 0;
        int r = model_controllers(m, "the load balancer's backends", &ctl, &n, ret_error);
        if (r < 0)
                return r;
        struct buf b = {0};
        bool v6 = false;
        for (size_t i = 0; i < n && r >= 0; i++) {
                v6 = strchr(model_host_ip(ctl[i]), ':') != NULL;
                r = buf_printf(&b, "%s\tserver %s %s%s%s:%u", i ? "\n" : "", ctl[i]->name,
                               v6 ? "[" : "", model_host_ip(ctl[i]), v6 ? "]" : "",
                               component_api_port());
        }
        if (r < 0 || !(*ret = buf_steal(&b))) {
                buf_done(&b);
                return -ENOMEM;
        }
        return 0;
}

/* Where a component's config files go: its own directory (haproxy's), else config-dir. */
static const char *config_file_dir(const struct model *m, const struct component *c)
{
        const char *d = c->config_dir ? model_get(m, c->config_dir) : NULL;
        return d ? d : m->cfg.paths.config_dir;
}

int render_all(const struct model *m, struct target *t, struct render_result **ret,
               char **ret_error)
{
        struct render_result *res = calloc(1, sizeof(*res));
        if (!res)
                return -ENOMEM;
        int r = 0;
        _cleanup_free_ char *servers = NULL;
        if (m->role == NODE_LB)
                r = render_lb_servers(m, &servers, ret_error);

        /* Units first, then config files, then sites: the plan lists them in this order. Only
         * what runs on this host's role. */
        FOREACH_COMPONENT (c)
                if (r >= 0 && c->renders_unit && model_runs(m, c))
                        r = render_unit(m, t, c, res, ret_error);
        FOREACH_COMPONENT (c)
                for (size_t i = 0; r >= 0 && model_runs(m, c) && i < c->n_templates; i++) {
                        const struct component_template *ct = &c->templates[i];
                        if (ct->kind != TEMPLATE_CONFIG || !model_when(m, ct->when))
                                continue;
                        struct lookup_ctx ctx = {.m = m, .component = c, .lb_servers = servers};
                        char *text = NULL, *src = NULL;
                        r = render_one(m, t, ct->name, &ctx, TEMPLATE_ESCAPE_NONE, &text, &src,
                                       ret_error);
                        if (r >= 0)
                                r = add_file(res, config_file_dir(m, c),
                                             ct->dest ? ct->dest : ct->name, text, 0644, src, c,
                                             TEMPLATE_CONFIG, NULL);
                }
        FOREACH_COMPONENT (c)
                for (size_t i = 0; r >= 0 && model_runs(m, c) && i < c->n_templates; i++)
                        if (c->templates[i].kind == TEMPLATE_SITE &&
                            model_when(m, c->templates[i].when))
                                r = render_site(m, t, c, &c->templates[i], res, ret_error);
        if (r < 0) {
                render_result_free(res);
                return r;
        }
        *ret = res;
        return 0;
}

struct render_result *render_result_free(struct render_result *res)
{
        if (!res)
                return NULL;
        for (size_t i = 0; i < res->n_files; i++) {
                free(res->files[i].path);
                free(res->files[i].content);
                free(res->files[i].source);
                free(res->files[i].enable_link);
                strv_free(res->files[i].wanted_by);
        }
        free(res->files);
        free(res);
        return NULL;
}
