/* The cluster-level step of the seed: the ClusterRole that lets the API server reach the
 * kubelets, and its binding to user "kubernetes", applied over the API with admin's
 * certificate. */
#include "rbac.h"

#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "digest.h"
#include "fileio.h"
#include "http.h"
#include "kubeconfig.h"
#include "util.h"

#define API_PATH "/apis/rbac.authorization.k8s.io/v1/"

/* The seed's two objects, as it feeds them to kubectl apply. */
static const char cluster_role[] = "apiVersion: rbac.authorization.k8s.io/v1\n"
                                   "kind: ClusterRole\n"
                                   "metadata:\n"
                                   "  annotations:\n"
                                   "    rbac.authorization.kubernetes.io/autoupdate: \"true\"\n"
                                   "  labels:\n"
                                   "    kubernetes.io/bootstrapping: rbac-defaults\n"
                                   "  name: system:kube-apiserver-to-kubelet\n"
                                   "rules:\n"
                                   "  - apiGroups:\n"
                                   "      - \"\"\n"
                                   "    resources:\n"
                                   "      - nodes/proxy\n"
                                   "      - nodes/stats\n"
                                   "      - nodes/log\n"
                                   "      - nodes/spec\n"
                                   "      - nodes/metrics\n"
                                   "    verbs:\n"
                                   "      - \"*\"\n";

static const char cluster_role_binding[] = "apiVersion: rbac.authorization.k8s.io/v1\n"
                                           "kind: ClusterRoleBinding\n"
                                           "metadata:\n"
                                           "  name: system:kube-apiserver\n"
                                           "  namespace: \"\"\n"
                                           "roleRef:\n"
                                           "  apiGroup: rbac.authorization.k8s.io\n"
                                           "  kind: ClusterRole\n"
                                           "  name: system:kube-apiserver-to-kubelet\n"
                                           "subjects:\n"
                                           "  - apiGroup: rbac.authorization.k8s.io\n"
                                           "    kind: User\n"
                                           "    name: kubernetes\n";

static const struct {
        const char *resource, *name, *body;
} objects[] = {
    {"clusterroles", "system:kube-apiserver-to-kubelet", cluster_role},
    {"clusterrolebindings", "system:kube-apiserver", cluster_role_binding},
};

struct creds {
        char *cert, *key;
        char *tmpdir; /* when taken out of admin.kubeconfig */
};

static void creds_done(struct creds *c)
{
        if (c->tmpdir)
                rm_rf(c->tmpdir);
        free(c->cert);
        free(c->key);
        free(c->tmpdir);
}

/* Embedded data goes to a file of its own, 0600 in a private directory: libcurl reads the
 * client certificate and key from files. */
static int blob_file(const struct kubeconfig_blob *b, const char *dir, const char *name,
                     char **ret_path)
{
        if (b->file) {
                *ret_path = strdup(b->file);
                return *ret_path ? 0 : -ENOMEM;
        }
        _cleanup_free_ char *path = path_join(dir, name);
        if (!path)
                return -ENOMEM;
        _cleanup_close_ int fd =
            open(path, O_WRONLY | O_CREAT | O_EXCL | O_NOFOLLOW | O_CLOEXEC, 0600);
        if (fd < 0)
                return -errno;
        int r = write_all(fd, b->data, b->len);
        if (r < 0)
                return r;
        *ret_path = TAKE_PTR(path);
        return 0;
}

/* admin.pem and admin-key.pem, or the credentials of admin.kubeconfig's current context.
 * -ENOKEY: neither is there; a kubeconfig that is there but unusable is an error of its own
 * (*ret_error names it, its context and user). */
static int find_creds(const char *pki, struct creds *c, char **ret_error)
{
        _cleanup_free_ char *cert = path_join(pki, "admin.pem");
        _cleanup_free_ char *key = path_join(pki, "admin-key.pem");
        if (!cert || !key)
                return -ENOMEM;
        if (access(cert, R_OK) == 0 && access(key, R_OK) == 0) {
                c->cert = TAKE_PTR(cert);
                c->key = TAKE_PTR(key);
                return 0;
        }
        _cleanup_free_ char *kc = path_join(pki, "admin.kubeconfig");
        if (!kc)
                return -ENOMEM;
        struct kubeconfig_creds k = {0};
        int r = kubeconfig_read_creds(kc, &k, ret_error);
        if (r == -ENOENT)
                return -ENOKEY;
        if (r < 0 && !*ret_error)
                asprintf_safe(ret_error, "RBAC: %s: %s", kc, fileio_strerror(r));
        if (r < 0)
                return r;
        if (!k.cert.file || !k.key.file) {
                c->tmpdir = strdup("/tmp/kubestrap-admin.XXXXXX");
                if (!c->tmpdir || !mkdtemp(c->tmpdir))
                        r = -errno;
        }
        if (r >= 0)
                r = blob_file(&k.cert, c->tmpdir, "admin.pem", &c->cert);
        if (r >= 0)
                r = blob_file(&k.key, c->tmpdir, "admin-key.pem", &c->key);
        kubeconfig_creds_done(&k);
        return r;
}

int rbac_ensure(const struct model *m, bool *ret_applied, char **ret_error)
{
        *ret_applied = false;
        if (m->cfg.cluster.apply_rbac == RBAC_NEVER)
                return 0;
        bool always = m->cfg.cluster.apply_rbac == RBAC_ALWAYS;
        struct creds c = {0};
        _cleanup_free_ char *ca = path_join(m->cfg.paths.lib_dir, model_pki_name(m, "ca.pem"));
        int r = ca ? find_creds(m->cfg.pki.source_dir, &c, ret_error) : -ENOMEM;
        if (r < 0 && *ret_error) { /* a kubeconfig that is there but unusable */
                creds_done(&c);
                return r;
        }
        if (r == -ENOKEY && !always) {
                creds_done(&c);
                return 0; /* another node (or the operator) holds admin's key */
        }
        if (r < 0) {
                asprintf_safe(ret_error,
                              "RBAC: no admin credentials (admin.pem and admin-key.pem, "
                              "or admin.kubeconfig) in %s: %s",
                              m->cfg.pki.source_dir, strerror(-r == ENOKEY ? ENOENT : -r));
                creds_done(&c);
                return r;
        }
        for (size_t i = 0; i < ELEMENTSOF(objects) && r >= 0; i++) {
                _cleanup_free_ char *url = NULL;
                r = asprintf_safe(&url, "https://127.0.0.1:%u" API_PATH "%s/%s",
                                  component_api_port(), objects[i].resource, objects[i].name);
                if (r < 0)
                        break;
                struct http_call get = {
                    .url = url, .ca_file = ca, .cert_file = c.cert, .key_file = c.key};
                r = http_call_run(&get);
                long status = get.status;
                if (r < 0)
                        asprintf_safe(ret_error, "RBAC: GET %s: %s", url,
                                      get.error ? get.error : strerror(-r));
                http_call_done(&get);
                if (r < 0)
                        break;
                /* Once per cluster: an object that is there was made by the first node. */
                if (status == 200 && !always)
                        continue;
                if (status != 200 && status != 404) {
                        asprintf_safe(ret_error, "RBAC: GET %s: HTTP %ld", url, status);
                        r = -EPROTO;
                        break;
                }
                _cleanup_free_ char *apply =
                    strjoin3(url, "?fieldManager=kubestrap&force=true", NULL);
                struct http_call patch = {.method = "PATCH",
                                          .url = apply,
                                          .ca_file = ca,
                                          .cert_file = c.cert,
                                          .key_file = c.key,
                                          .content_type = "application/apply-patch+yaml",
                                          .body = objects[i].body};
                r = apply ? http_call_run(&patch) : -ENOMEM;
                if (r >= 0 && patch.status != 200 && patch.status != 201) {
                        asprintf_safe(ret_error,
                                      "RBAC: server-side apply of %s %s: HTTP %ld %.200s",
                                      objects[i].resource, objects[i].name, patch.status,
                                      patch.response ? patch.response : "");
                        r = -EPROTO;
                } else if (r < 0)
                        asprintf_safe(ret_error, "RBAC: PATCH %s: %s", url,
                                      patch.error ? patch.error : strerror(-r));
                else
                        *ret_applied = true;
                http_call_done(&patch);
        }
        creds_done(&c);
        return r;
}
