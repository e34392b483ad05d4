/* Air-gap bundles: one archive with the binaries, their digests, the templates, the config and
 * the PKI, written by 'fetch --bundle' and installed by '--bundle FILE apply' with no network. */
#include "bundle.h"

#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "archive.h"
#include "fileio.h"
#include "render.h"
#include "util.h"

static int add_file(struct archive_writer *w, const char *dir, const char *name, const char *as,
                    unsigned mode, bool optional, char **ret_error)
{
        _cleanup_free_ char *path = path_join(dir, name);
        if (!path)
                return -ENOMEM;
        /* O_NONBLOCK: a FIFO there is refused below instead of waited on */
        _cleanup_close_ int fd = open(path, O_RDONLY | O_CLOEXEC | O_NOCTTY | O_NONBLOCK);
        if (fd < 0) {
                if (optional && errno == ENOENT)
                        return 0;
                int r = -errno;
                asprintf_safe(ret_error, "%s: %s", path, strerror(-r));
                return r;
        }
        int r = check_fd_trusted(fd);
        if (r < 0) {
                asprintf_safe(ret_error, "%s: %s", path,
                              r == -EPERM ? "refusing a file writable by group or others"
                                          : fileio_strerror(r));
                return r;
        }
        _cleanup_free_ char *member = path_join(BUNDLE_TOP, as);
        if (!member)
                return -ENOMEM;
        return archive_writer_add_fd(w, member, fd, mode);
}

static int add_template(struct archive_writer *w, const char *over, const char *name,
                        char **ret_error)
{
        _cleanup_free_ char *as = strjoin3("templates/", name, NULL);
        _cleanup_free_ char *o = path_join(over, name);
        if (!as || !o)
                return -ENOMEM;
        /* the operator's override if this machine has one, else the shipped template */
        bool have_override = access(o, F_OK) == 0;
        return add_file(w, have_override ? over : render_shipped_dir(), name, as, 0644, false,
                        ret_error);
}

int bundle_write(int out_fd, const struct model *m, const char *config_path,
                 const struct bundle_source *bins, size_t n_bins, char **ret_error)
{
        struct archive_writer *w = NULL;
        struct buf manifest = {0};
        int r = archive_writer_new(out_fd, &w);
        if (r < 0)
                return r;
        r = buf_printf(&manifest, "format 1\nversion %s\narch %s\n", m->cfg.cluster.version,
                       m->cfg.download.arch);
        if (r >= 0 && m->etcd)
                r = buf_printf(&manifest, "etcd-version %s\n", m->cfg.etcd.version);
        for (size_t i = 0; i < n_bins && r >= 0; i++)
                r = buf_printf(&manifest, "binary %s %s %s\n", bins[i].name,
                               digest_alg_to_string(bins[i].alg), bins[i].hex);
        if (r >= 0)
                r = archive_writer_add_data(w, BUNDLE_TOP "/MANIFEST", manifest.data, manifest.len,
                                            0644);
        for (size_t i = 0; i < n_bins && r >= 0; i++) {
                _cleanup_free_ char *member = strjoin3(BUNDLE_TOP "/bin/", bins[i].name, NULL);
                r = member ? archive_writer_add_fd(w, member, bins[i].fd, 0755) : -ENOMEM;
                /* the release signature, so the node checks it again, offline */
                _cleanup_free_ char *ms = member ? strjoin3(member, ".sig", NULL) : NULL;
                _cleanup_free_ char *mc = member ? strjoin3(member, ".cert", NULL) : NULL;
                if (r >= 0 && bins[i].sig_fd >= 0 && bins[i].cert_fd >= 0)
                        r = ms && mc ? archive_writer_add_fd(w, ms, bins[i].sig_fd, 0644) : -ENOMEM;
                if (r >= 0 && bins[i].sig_fd >= 0 && bins[i].cert_fd >= 0)
                        r = archive_writer_add_fd(w, mc, bins[i].cert_fd, 0644);
        }
        /* The config as written: the target resolves its paths and values itself. */
        if (r >= 0) {
                _cleanup_free_ char *dir = strdup(config_path);
                char *slash = dir ? strrchr(dir, '/') : NULL;
                if (!dir)
                        r = -ENOMEM;
                else if (slash) {
                        *slash = 0;
                        r = add_file(w, *dir ? dir : "/", slash + 1, "kubestrap.conf", 0600, false,
                                     ret_error);
                } else
                        r = add_file(w, ".", dir, "kubestrap.conf", 0600, false, ret_error);
        }
        const char *pki = m->cfg.pki.source_dir;
        for (size_t i = 0; i < n_pki_files && r >= 0; i++) {
                /* a load balancer's bundle carries the cluster CA, none of the keys */
                if (m->role != NODE_CONTROLLER && !model_needs_pki(m, pki_files[i].name))
                        continue;
                const char *name = model_pki_name(m, pki_files[i].name);
                _cleanup_free_ char *as = strjoin3("pki/", name, NULL);
                /* admin's files are only needed for the cluster-level steps */
                r = as ? add_file(w, pki, name, as, 0600, pki_files[i].admin, ret_error) : -ENOMEM;
        }
        /* the extra CA for the download server, so the node needs nothing copied first */
        const char *ca = m->cfg.download.ca_file;
        if (r >= 0 && ca && *ca) {
                _cleanup_free_ char *dir = strdup(ca);
                char *slash = dir ? strrchr(dir, '/') : NULL;
                if (!slash)
                        r = -ENOMEM;
                else {
                        *slash = 0;
                        r = add_file(w, *dir ? dir : "/", slash + 1, "download-ca.pem", 0644, false,
                                     ret_error);
                }
        }
        const struct {
                const char *path, *as;
        } trust[] = {{m->cfg.download.signature_roots, "signature-roots.pem"},
                     {m->cfg.download.ct_log_keys, "ct-log-keys.pem"}};
        for (size_t i = 0; i < ELEMENTSOF(trust) && r >= 0; i++) {
                if (!trust[i].path || !*trust[i].path)
                        continue; /* the node's shipped ones */
                _cleanup_free_ char *dir = strdup(trust[i].path);
                char *slash = dir ? strrchr(dir, '/') : NULL;
                if (!slash)
                        r = -ENOMEM;
                else {
                        *slash = 0;
                        r = add_file(w, *dir ? dir : "/", slash + 1, trust[i].as, 0644, false,
                                     ret_error);
                }
        }
        const char *over = m->cfg.paths.template_dir;
        /* every template of every component, so the bundle renders with no other files */
        FOREACH_COMPONENT (c)
                for (size_t i = 0; i < c->n_templates && r >= 0; i++)
                        r = add_template(w, over, c->templates[i].name, ret_error);
        if (r >= 0)
                r = archive_writer_close(w, ret_error);
        archive_writer_free(w);
        buf_done(&manifest);
        return r;
}

struct bundle *bundle_close(struct bundle *b)
{
        if (!b)
                return NULL;
        if (b->dir)
                rm_rf(b->dir);
        for (size_t i = 0; i < b->n_bins; i++) {
                free(b->bins[i].name);
                free(b->bins[i].path);
        }
        free(b->bins);
        free(b->etcd_version);
        free(b->dir);
        free(b->config_path);
        free(b->pki_dir);
        free(b->templates_dir);
        free(b->ca_file);
        free(b->signature_roots);
        free(b->ct_log_keys);
        free(b->version);
        free(b->arch);
        free(b);
        return NULL;
}

const struct bundle_binary *bundle_find(const struct bundle *b, const char *name)
{
        for (size_t i = 0; b && i < b->n_bins; i++)
                if (streq(b->bins[i].name, name))
                        return &b->bins[i];
        return NULL;
}

static int read_manifest(struct bundle *b, const char *top, char **ret_error)
{
        _cleanup_free_ char *path = path_join(top, "MANIFEST");
        _cleanup_free_ char *text = NULL;
        if (!path)
                return -ENOMEM;
        int r = read_file_trusted(path, 1 << 16, &text, NULL);
        if (r < 0) {
                asprintf_safe(ret_error, "no MANIFEST in the bundle (%s)", strerror(-r));
                return -EBADMSG;
        }
        unsigned line = 0;
        char *save = NULL;
        for (char *l = strtok_r(text, "\n", &save); l; l = strtok_r(NULL, "\n", &save)) {
                char a[64], bname[64], c[DIGEST_HEX_MAX + 1];
                line++;
                if (sscanf(l, "version %63s", a) == 1)
                        b->version = strdup(a);
                else if (sscanf(l, "arch %63s", a) == 1)
                        b->arch = strdup(a);
                else if (sscanf(l, "etcd-version %63s", a) == 1)
                        b->etcd_version = strdup(a);
                else if (sscanf(l, "binary %63s %63s %129s", bname, a, c) == 3) {
                        if (ARRAY_RESERVE(b->bins, b->cap_bins, b->n_bins + 1) < 0)
                                return -ENOMEM;
                        struct bundle_binary *x = &b->bins[b->n_bins];
                        *x = (struct bundle_binary){0};
                        int alg = digest_alg_from_string(a);
                        if (alg < 0 || digest_normalize_hex((enum digest_alg)alg, c, x->hex) < 0 ||
                            strchr(bname, '/')) {
                                asprintf_safe(ret_error, "MANIFEST:%u: malformed binary line",
                                              line);
                                return -EBADMSG;
                        }
                        x->alg = (enum digest_alg)alg;
                        x->name = strdup(bname);
                        x->path = x->name ? strjoin3(top, "/bin/", bname) : NULL;
                        if (!x->path)
                                return -ENOMEM;
                        b->n_bins++;
                } else if (!startswith(l, "format ")) {
                        asprintf_safe(ret_error, "MANIFEST:%u: unknown line", line);
                        return -EBADMSG;
                }
        }
        if (!b->version || !b->arch) {
                asprintf_safe(ret_error, "MANIFEST has no version or arch");
                return -EBADMSG;
        }
        return 0;
}

int bundle_open(const char *file, struct bundle **ret, char **ret_error)
{
        struct bundle *b = calloc(1, sizeof(*b));
        _cleanup_free_ char *err = NULL;
        if (!b)
                return -ENOMEM;
        const char *tmp = getenv("TMPDIR");
        b->dir = strjoin3(tmp && *tmp ? tmp : "/tmp", "/kubestrap-bundle.XXXXXX", NULL);
        if (!b->dir || !mkdtemp(b->dir)) { /* mkdtemp makes it 0700: secrets inside */
                int r = b->dir ? -errno : -ENOMEM;
                free(b->dir);
                b->dir = NULL;
                bundle_close(b);
                return r;
        }
        _cleanup_close_ int fd =
            streq(file, "-") ? dup(STDIN_FILENO) : open(file, O_RDONLY | O_CLOEXEC | O_NOCTTY);
        int r = fd < 0 ? -errno : archive_unpack_all(fd, b->dir, &err);
        _cleanup_free_ char *top = path_join(b->dir, BUNDLE_TOP);
        if (r >= 0 && !top)
                r = -ENOMEM;
        if (r >= 0)
                r = read_manifest(b, top, &err);
        if (r >= 0) {
                b->config_path = path_join(top, "kubestrap.conf");
                b->pki_dir = path_join(top, "pki");
                b->templates_dir = path_join(top, "templates");
                _cleanup_free_ char *ca = path_join(top, "download-ca.pem");
                if (ca && access(ca, F_OK) == 0)
                        b->ca_file = TAKE_PTR(ca);
                _cleanup_free_ char *sr = path_join(top, "signature-roots.pem");
                _cleanup_free_ char *cl = path_join(top, "ct-log-keys.pem");
                if (sr && access(sr, F_OK) == 0)
                        b->signature_roots = TAKE_PTR(sr);
                if (cl && access(cl, F_OK) == 0)
                        b->ct_log_keys = TAKE_PTR(cl);
                if (!b->config_path || !b->pki_dir || !b->templates_dir)
                        r = -ENOMEM;
        }
        /* Every binary is checked against the manifest before anything else looks at it. */
        for (size_t i = 0; r >= 0 && i < b->n_bins; i++) {
                _cleanup_close_ int bfd = open(b->bins[i].path, O_RDONLY | O_CLOEXEC | O_NOFOLLOW);
                char hex[DIGEST_HEX_MAX];
                r = bfd < 0 ? -errno : digest_fd(bfd, b->bins[i].alg, hex);
                if (r < 0)
                        asprintf_safe(&err, "bin/%s: %s", b->bins[i].name, strerror(-r));
                else if (!streq(hex, b->bins[i].hex)) {
                        asprintf_safe(&err, "bin/%s does not match its digest in the MANIFEST",
                                      b->bins[i].name);
                        r = -EBADMSG;
                }
        }
        if (r < 0) {
                asprintf_safe(ret_error, "bundle %s: %s", streq(file, "-") ? "(stdin)" : file,
                              err ? err : strerror(-r));
                bundle_close(b);
                return r;
        }
        *ret = b;
        return 0;
}
