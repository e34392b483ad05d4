/* Unit tests for versions.h: for every supported minor, the rendered files and probes follow
 * the facts in shared/notes/k8s-versions.md (scheduler config API table, dropped flags, health
 * endpoints), etcd TLS flags follow etcd-servers, and the [pki] layout renames the files. */
#include <errno.h>
#include <stdlib.h>

#include "fileio.h"
#include "health.h"
#include "model.h"
#include "render.h"
#include "tap.h"
#include "tree.h"
#include "util.h"
#include "versions.h"

/* The notes' KubeSchedulerConfiguration table, kept apart from the rules it checks. */
static const struct {
        const char *api;
        unsigned from, removed; /* removed: 0 = still served */
} sched_api[] = {
    {"kubescheduler.config.k8s.io/v1beta1", 19, 23},
    {"kubescheduler.config.k8s.io/v1beta2", 22, 28},
    {"kubescheduler.config.k8s.io/v1beta3", 23, 29},
    {"kubescheduler.config.k8s.io/v1", 25, 0},
};

static bool served(const char *api, unsigned minor)
{
        for (size_t i = 0; i < ELEMENTSOF(sched_api); i++)
                if (streq(sched_api[i].api, api))
                        return minor >= sched_api[i].from &&
                               (!sched_api[i].removed || minor < sched_api[i].removed);
        return false;
}

static struct target root;

static char *conf_text(const char *version, const char *etcd, const char *extra)
{
        char *text = NULL;
        asprintf_safe(&text,
                      "[cluster]\nversion = %s\npublic-address = 203.0.113.10\n"
                      "etcd-servers = %s\n[node]\ninternal-ip = 10.240.0.10\n[pki]\n"
                      "source-dir = %s\n%s",
                      version, etcd, in_root("/pki"), extra ? extra : "");
        return text;
}

/* Loads; returns the first error (or "" when it loads) and the model in *ret when asked. */
static char *load_ret(const char *version, const char *etcd, const char *extra, struct model **ret)
{
        _cleanup_free_ char *text = conf_text(version, etcd, extra);
        struct model *m = NULL;
        _cleanup_strv_free_ char **errors = NULL;
        int r = text ? model_load_string("test.conf", text, &m, &errors) : -ENOMEM;
        if (ret)
                *ret = m;
        else
                model_free(m);
        return strdup(r >= 0 ? "" : errors && errors[0] ? errors[0] : "?");
}

static struct model *load(const char *version, const char *etcd, const char *extra)
{
        struct model *m = NULL;
        _cleanup_free_ char *e = load_ret(version, etcd, extra, &m);
        if (e && *e)
                printf("# %s\n", e);
        return m;
}

static char *load_error(const char *version, const char *etcd, const char *extra)
{
        return load_ret(version, etcd, extra, NULL);
}

/* The rendered file of component NAME and kind, or NULL. */
static const char *rendered(const struct render_result *rr, const char *name,
                            enum template_kind kind)
{
        for (size_t i = 0; rr && i < rr->n_files; i++)
                if (streq(rr->files[i].component->name, name) && rr->files[i].kind == kind)
                        return rr->files[i].content;
        return NULL;
}

static struct render_result *render(const struct model *m)
{
        struct render_result *rr = NULL;
        _cleanup_free_ char *err = NULL;
        if (!m || render_all(m, &root, &rr, &err) < 0) {
                printf("# render: %s\n", err ? err : "failed");
                return NULL;
        }
        return rr;
}

/* The probe paths of component NAME, joined with blanks. */
static char *probe_paths(const struct model *m, const char *name)
{
        struct probe *p = NULL;
        size_t n = 0;
        struct buf b = {0};
        if (health_probes_for(m, tree_root, &p, &n) < 0)
                return NULL;
        for (size_t i = 0; i < n; i++)
                if (streq(p[i].component->name, name))
                        buf_printf(&b, "%s%s", b.len ? " " : "", strchr(p[i].url + 8, '/'));
        health_probes_free(p, n);
        return buf_steal(&b);
}

static void test_every_minor(void)
{
        for (unsigned minor = VERSION_MINOR_MIN; minor <= VERSION_MINOR_MAX; minor++) {
                _cleanup_free_ char *v = NULL;
                asprintf_safe(&v, "v1.%u.0", minor);
                struct model *m = load(v, "https://10.240.0.10:2379", NULL);
                struct render_result *rr = render(m);
                ok(rr != NULL, "%s renders", v);
                const char *yaml = rendered(rr, "kube-scheduler", TEMPLATE_CONFIG);
                const char *api = yaml && startswith(yaml, "apiVersion: ") ? yaml + 12 : "";
                _cleanup_free_ char *api_line = strndup(api, strcspn(api, "\n"));
                ok(api_line && served(api_line, minor),
                   "%s: kube-scheduler.yaml's apiVersion %s is served by 1.%u", v, api_line, minor);
                const char *unit = rendered(rr, "kube-apiserver", TEMPLATE_UNIT);
                ok(unit && (strstr(unit, "--apiserver-count=") != NULL) == (minor < 24),
                   "%s: --apiserver-count %s", v, minor < 24 ? "present" : "dropped (from 1.24)");
                ok(unit && strstr(unit, "--etcd-cafile=") && strstr(unit, "--etcd-certfile=") &&
                       strstr(unit, "--etcd-keyfile="),
                   "%s: https etcd-servers keep the etcd TLS flags", v);
                _cleanup_free_ char *sched = probe_paths(m, "kube-scheduler");
                _cleanup_free_ char *api_p = probe_paths(m, "kube-apiserver");
                _cleanup_free_ char *cm = probe_paths(m, "kube-controller-manager");
                is_str(sched, minor >= 31 ? "/livez /readyz" : "/healthz",
                       "%s: kube-scheduler probes", v);
                is_str(api_p, "/livez /readyz", "%s: kube-apiserver probes /livez then /readyz", v);
                is_str(cm, "/healthz", "%s: kube-controller-manager probes /healthz", v);
                render_result_free(rr);
                model_free(m);

                m = load(v, "http://127.0.0.1:2379", NULL);
                rr = render(m);
                unit = rendered(rr, "kube-apiserver", TEMPLATE_UNIT);
                ok(unit && !strstr(unit, "--etcd-cafile") && !strstr(unit, "--etcd-certfile") &&
                       !strstr(unit, "--etcd-keyfile") &&
                       strstr(unit, "  --etcd-servers=http://127.0.0.1:2379 \\\n"),
                   "%s: http etcd-servers drop the etcd TLS flags", v);
                render_result_free(rr);
                model_free(m);
        }
}

/* Renders VERSION and looks for NEEDLE in the component's file of KIND. */
static void rendered_has(const char *version, const char *extra, const char *name,
                         enum template_kind kind, const char *needle, const char *what)
{
        struct model *m = load(version, "https://10.240.0.10:2379", extra);
        struct render_result *rr = render(m);
        const char *text = rendered(rr, name, kind);
        ok(text && strstr(text, needle), "%s", what);
        render_result_free(rr);
        model_free(m);
}

static void test_seed_and_operator(void)
{
        rendered_has("v1.21.0", NULL, "kube-scheduler", TEMPLATE_CONFIG,
                     "apiVersion: kubescheduler.config.k8s.io/v1beta1\n",
                     "1.21 keeps the seed's v1beta1");
        rendered_has("v1.24.0", "[kube-apiserver]\n+apiserver-count = 3\n", "kube-apiserver",
                     TEMPLATE_UNIT, "  --apiserver-count=3\n",
                     "an operator's '+apiserver-count' adds back what 1.24's rule dropped");
}

static void test_range(void)
{
        static const char *const bad[] = {"v1.20.15", "v1.37.0", "v2.0.0", "v0.21.0"};
        for (size_t i = 0; i < ELEMENTSOF(bad); i++) {
                _cleanup_free_ char *e = load_error(bad[i], "https://10.240.0.10:2379", NULL);
                _cleanup_free_ char *want = NULL;
                asprintf_safe(&want,
                              "test.conf:2: [cluster] version: invalid value '%s': kubestrap "
                              "supports Kubernetes v1.21 to v1.36",
                              bad[i]);
                is_str(e, want, "%s is refused, naming file, line, key and the range", bad[i]);
        }
        static const char *const good[] = {"v1.21.0", "v1.36.9", "v1.34.2-rc.1"};
        for (size_t i = 0; i < ELEMENTSOF(good); i++) {
                _cleanup_free_ char *e = load_error(good[i], "https://10.240.0.10:2379", NULL);
                is_str(e, "", "%s loads", good[i]);
        }
        unsigned minor = 0;
        is_int(version_minor("v1.32.3", &minor), 0, "v1.32.3 parses");
        is_int(minor, 32, "its minor is 32");
        is_int(version_minor("stable-1.34", &minor), -EINVAL, "a marker is not a version");
}

static void test_etcd_servers(void)
{
        static const struct {
                const char *value, *error;
        } cases[] = {
            {"http://127.0.0.1:2379", ""},
            {"http://localhost:2379", ""},
            {"http://[::1]:2379", ""},
            {"https://10.240.0.10:2379,https://10.240.0.11:2379", ""},
            {"http://10.240.0.10:2379", "plain http:// is only allowed to a local etcd"},
            {"http://127.0.0.1:2379,https://10.240.0.11:2379", "all URLs must be https://"},
            {"ftp://127.0.0.1:2379", "expected an https:// URL"},
        };
        for (size_t i = 0; i < ELEMENTSOF(cases); i++) {
                _cleanup_free_ char *e = load_error("v1.32.3", cases[i].value, NULL);
                if (!cases[i].error[0])
                        is_str(e, "", "etcd-servers = %s loads", cases[i].value);
                else
                        like_str(e, cases[i].error, "etcd-servers = %s is refused", cases[i].value);
        }
}

static void test_pki_layout(void)
{
        mkdir(in_root("/pki"), 0755);
        struct model *m = load("v1.32.3", "http://127.0.0.1:2379", NULL);
        is_int(m ? (int)model_pki_layout(m) : -1, PKI_LAYOUT_2021, "neither CA file: kthw-2021");
        write_file(in_root("/pki/ca.crt"), "x", 0644);
        is_int(m ? (int)model_pki_layout(m) : -1, PKI_LAYOUT_2025, "ca.crt alone: kthw-2025");
        is_str(m ? model_pki_name(m, "service-account-key.pem") : NULL, "service-accounts.key",
               "kthw-2025 names service-accounts.key");
        is_str(m ? model_pki_name(m, "kube-scheduler.kubeconfig") : NULL,
               "kube-scheduler.kubeconfig", "a kubeconfig keeps its name");
        write_file(in_root("/pki/ca.pem"), "x", 0644);
        is_int(m ? (int)model_pki_layout(m) : -1, PKI_LAYOUT_2021, "both: kthw-2021");
        model_free(m);

        m = load("v1.32.3", "http://127.0.0.1:2379", "layout = kthw-2025\n");
        struct render_result *rr = render(m);
        const char *unit = rendered(rr, "kube-apiserver", TEMPLATE_UNIT);
        ok(unit && strstr(unit, "--client-ca-file=/var/lib/kubernetes/ca.crt") &&
               strstr(unit, "--tls-cert-file=/var/lib/kubernetes/kube-api-server.crt") &&
               !strstr(unit, ".pem"),
           "layout = kthw-2025 wins over the files and renames every file in the unit");
        const char *site = rendered(rr, "nginx", TEMPLATE_SITE);
        ok(site && strstr(site, "/var/lib/kubernetes/ca.crt;"), "and in the nginx site");
        render_result_free(rr);
        model_free(m);

        _cleanup_free_ char *e =
            load_error("v1.32.3", "http://127.0.0.1:2379", "layout = kthw-2024\n");
        like_str(e, "test.conf:9: [pki] layout: invalid value 'kthw-2024'",
                 "an unknown layout names file, line and key");
}

int main(void)
{
        char dir[] = "/tmp/kubestrap-versions.XXXXXX";
        tree_setup(dir, &root);
        test_range();
        test_etcd_servers();
        test_seed_and_operator();
        test_every_minor();
        test_pki_layout();
        target_close(&root);
        _cleanup_free_ char *cmd = strjoin3("rm -rf ", dir, NULL);
        if (cmd && system(cmd) != 0)
                printf("# could not remove %s\n", dir);
        return done_testing();
}
