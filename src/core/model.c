/* The typed, validated model of one controller node, built from the INI configuration. */
#include "model.h"

#include <errno.h>
#include <stddef.h>
#include <limits.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "config.h"
#include "log.h"
#include "netinfo.h"
#include "util.h"
#include "validate.h"
#include "versions.h"

const char *const binary_names[_BINARY_MAX] = {
#define BINARY_NAME(id, name) [BINARY_##id] = name,
    RELEASE_BINARIES(BINARY_NAME)
#undef BINARY_NAME
};

/* The kthw-2025 names are the current edition's (shared notes, "File names"); the notes name no
 * change for the kubeconfigs, the encryption config and admin's files, which keep theirs. */
/* clang-format off */
const struct pki_file pki_files[] = {
        {"ca.pem",                             "ca.crt",                             false, false},
        {"ca-key.pem",                         "ca.key",                             true,  false},
        {"kubernetes-key.pem",                 "kube-api-server.key",                true,  false},
        {"kubernetes.pem",                     "kube-api-server.crt",                false, false},
        {"service-account-key.pem",            "service-accounts.key",               true,  false},
        {"service-account.pem",                "service-accounts.crt",               false, false},
        {"encryption-config.yaml",             "encryption-config.yaml",             true,  false}, /* holds the encryption key */
        {"kube-controller-manager.kubeconfig", "kube-controller-manager.kubeconfig", true,  false}, /* holds a client key */
        {"kube-scheduler.kubeconfig",          "kube-scheduler.kubeconfig",          true,  false},
        {"admin.pem",                          "admin.pem",                          false, true},
        {"admin-key.pem",                      "admin-key.pem",                      true,  true},
        {"admin.kubeconfig",                   "admin.kubeconfig",                   true,  true},
};
/* clang-format on */
const size_t n_pki_files = ELEMENTSOF(pki_files);

enum vtype {
        T_NAME,
        T_IP_OR_AUTO,
        T_HOST,
        T_CIDR,
        T_PORT_RANGE,
        T_HTTPS_URL,
        T_HTTPS_URL_LIST,
        T_ETCD_URL_LIST,
        T_VERSION,
        T_PKI_LAYOUT,
        T_PATH,
        T_COUNT,
        T_ARCH,
        T_CHECKSUM,
        T_PIN,
        T_SMALL,
        T_DELAY,
        T_SOURCE,
        T_RBAC,
        T_SECONDS,
        T_TEXT,
        T_BYTES,
        T_DEADLINE,
        T_GCP_NAME,
        T_IP,
        T_INTERVAL,
        T_ETCD_VERSION,
        T_INITIAL_CLUSTER,
        T_SIGNATURES,
};

/* Each type's name as validate --list-keys prints it (and kubestrap.conf(5) documents it). */
static const char *const type_names[] = {
    [T_NAME] = "name",
    [T_IP_OR_AUTO] = "ip-or-auto",
    [T_HOST] = "host",
    [T_CIDR] = "cidr",
    [T_PORT_RANGE] = "port-range",
    [T_HTTPS_URL] = "https-url",
    [T_HTTPS_URL_LIST] = "https-url-list",
    [T_ETCD_URL_LIST] = "etcd-url-list",
    [T_VERSION] = "version",
    [T_PKI_LAYOUT] = "pki-layout",
    [T_PATH] = "path",
    [T_COUNT] = "count",
    [T_ARCH] = "arch",
    [T_CHECKSUM] = "checksum",
    [T_PIN] = "digest",
    [T_SMALL] = "retries",
    [T_DELAY] = "milliseconds",
    [T_SOURCE] = "source",
    [T_RBAC] = "rbac",
    [T_SECONDS] = "seconds",
    [T_TEXT] = "text",
    [T_BYTES] = "bytes",
    [T_DEADLINE] = "seconds",
};

/* Where a value lands in struct config, and as what. */
enum cfg_kind {
        CFG_NONE, /* kept as text only (digest pins: see struct pin) */
        CFG_STR,
        CFG_UINT,
        CFG_RBAC,
        CFG_SOURCE,
};

struct key_spec {
        const char *section;
        const char *key;
        enum vtype type;
        const char *def; /* NULL: required; "": optional, empty */
        bool repeat;     /* may be given on several lines, joined with blanks */
        enum cfg_kind kind;
        size_t offset; /* in struct config */
};

#define STR(f)  CFG_STR, offsetof(struct config, f)
#define UINT(f) CFG_UINT, offsetof(struct config, f)
#define NONE    CFG_NONE, 0

/* Defaults are the seed's (Kubernetes The Hard Way, controller chapter). */
static const struct key_spec schema[] = {
    {"cluster", "name", T_NAME, "kubernetes", false, STR(cluster.name)},
    {"cluster", "version", T_VERSION, NULL, false, STR(cluster.version)},
    {"cluster", "public-address", T_HOST, NULL, false, STR(cluster.public_address)},
    {"cluster", "service-cluster-ip-range", T_CIDR, "10.32.0.0/24", false,
     STR(cluster.service_cluster_ip_range)},
    {"cluster", "cluster-cidr", T_CIDR, "10.200.0.0/16", false, STR(cluster.cluster_cidr)},
    {"cluster", "service-node-port-range", T_PORT_RANGE, "30000-32767", false,
     STR(cluster.service_node_port_range)},
    {"cluster", "etcd-servers", T_ETCD_URL_LIST, NULL, false, STR(cluster.etcd_servers)},
    {"cluster", "apiserver-count", T_COUNT, "3", false, UINT(cluster.apiserver_count)},
    {"cluster", "apply-rbac", T_RBAC, "once", false, CFG_RBAC,
     offsetof(struct config, cluster.apply_rbac)},
    {"node", "internal-ip", T_IP_OR_AUTO, "auto", false, STR(node.internal_ip)},
    {"node", "etcd-data-dir", T_PATH, "", false, STR(node.etcd_data_dir)},
    {"download", "base-url", T_HTTPS_URL, "https://dl.k8s.io/release", false,
     STR(download.base_url)},
    {"download", "arch", T_ARCH, "amd64", false, STR(download.arch)},
    {"download", "ca-file", T_PATH, "", false, STR(download.ca_file)},
    {"download", "checksum", T_CHECKSUM, "sha256", false, NONE},
    {"download", "mirrors", T_HTTPS_URL_LIST, "", false, STR(download.mirrors)},
    {"download", "retries", T_SMALL, "3", false, UINT(download.retries)},
    {"download", "retry-delay-ms", T_DELAY, "250", false, UINT(download.retry_delay_ms)},
    {"download", "connect-timeout", T_SECONDS, "30", false, UINT(download.connect_timeout)},
    {"download", "stall-timeout", T_SECONDS, "60", false, UINT(download.stall_timeout)},
    /* A file (or the release tarball) larger than this is stopped as it arrives; a server
     * that drips faster than the stall limit is cut at the timeout. Real releases are far
     * below both: a few hundred MB for the tarball. */
    {"download", "max-size", T_BYTES, "2147483648", false, UINT(download.max_size)},
    {"download", "timeout", T_DEADLINE, "1800", false, UINT(download.timeout)},
    {"download", "source", T_SOURCE, "binaries", false, CFG_SOURCE,
     offsetof(struct config, download.source)},
    /* Release signatures (issue 14). signatures left empty follows the version: require from
     * v1.26 (the first release signed), off below; signature.c decides. The identity and
     * issuer are the ones Kubernetes signs with (kubernetes/release gcb/release/cloudbuild.yaml);
     * empty roots and log keys are the Sigstore ones shipped in the package's data directory. */
    {"download", "signatures", T_SIGNATURES, "", false, STR(download.signatures)},
    {"download", "signature-identity", T_TEXT,
     "krel-staging@k8s-releng-prod.iam.gserviceaccount.com", false,
     STR(download.signature_identity)},
    {"download", "signature-issuer", T_HTTPS_URL, "https://accounts.google.com", false,
     STR(download.signature_issuer)},
    {"download", "signature-roots", T_PATH, "", false, STR(download.signature_roots)},
    {"download", "ct-log-keys", T_PATH, "", false, STR(download.ct_log_keys)},
/* download.digest.<binary>: one pin key per release binary */
/* clang-format off */
#define PIN_KEY(id, name) {"download", "digest." name, T_PIN, "", false, NONE},
    RELEASE_BINARIES(PIN_KEY)
#undef PIN_KEY
    /* clang-format on */
    /* the etcd release tarball's own digest (its SHA256SUMS line otherwise) */
    {"download", "digest.etcd", T_PIN, "", false, NONE},
    {"health", "timeout", T_SECONDS, "120", false, UINT(health.timeout)},
    {"pki", "source-dir", T_PATH, NULL, false, STR(pki.source_dir)},
    {"pki", "layout", T_PKI_LAYOUT, "", false, STR(pki.layout)},
    {"fanout", "ssh-options", T_TEXT, "", true, STR(fanout.ssh_options)},
    {"fanout", "remote-command", T_TEXT, "kubestrap", false, STR(fanout.remote_command)},
    /* The seed's network, and its region as gcloud's own setting ("" prints the seed's
     * $(gcloud config get-value compute/region)). */
    {"lb", "network", T_GCP_NAME, "kubernetes-the-hard-way", false, STR(lb.network)},
    {"lb", "region", T_GCP_NAME, "", false, STR(lb.region)},
    /* haproxy's "inter": a stopped API server leaves rotation after two failed checks */
    {"lb", "check-interval", T_INTERVAL, "1000", false, UINT(lb.check_interval)},
    {"lb", "virtual-ip", T_IP, "", false, STR(lb.virtual_ip)},
    {"lb", "interface", T_NAME, "eth0", false, STR(lb.interface)},
    {"paths", "bin-dir", T_PATH, "/usr/local/bin", false, STR(paths.bin_dir)},
    {"paths", "lib-dir", T_PATH, "/var/lib/kubernetes", false, STR(paths.lib_dir)},
    {"paths", "config-dir", T_PATH, "/etc/kubernetes/config", false, STR(paths.config_dir)},
    {"paths", "unit-dir", T_PATH, "/etc/systemd/system", false, STR(paths.unit_dir)},
    {"paths", "nginx-dir", T_PATH, "/etc/nginx", false, STR(paths.nginx_dir)},
    {"paths", "haproxy-dir", T_PATH, "/etc/haproxy", false, STR(paths.haproxy_dir)},
    {"paths", "keepalived-dir", T_PATH, "/etc/keepalived", false, STR(paths.keepalived_dir)},
    {"paths", "template-dir", T_PATH, "/etc/kubestrap/templates", false, STR(paths.template_dir)},
    {"paths", "state-dir", T_PATH, "/var/lib/kubestrap", false, STR(paths.state_dir)},
    {"paths", "cache-dir", T_PATH, "/var/cache/kubestrap", false, STR(paths.cache_dir)},
    {"paths", "etcd-dir", T_PATH, "/etc/etcd", false, STR(paths.etcd_dir)},
    /* [etcd] (KTHW "Bootstrapping the etcd Cluster"): version is required once the section is
     * there (load_entries); name, initial-cluster and etcd-servers default from the inventory
     * (resolve_etcd). */
    {"etcd", "version", T_ETCD_VERSION, "", false, STR(etcd.version)},
    {"etcd", "base-url", T_HTTPS_URL, "https://github.com/etcd-io/etcd/releases/download", false,
     STR(etcd.base_url)},
    {"etcd", "mirrors", T_HTTPS_URL_LIST, "", false, STR(etcd.mirrors)},
    {"etcd", "name", T_NAME, "", false, STR(etcd.name)},
    {"etcd", "initial-cluster", T_INITIAL_CLUSTER, "", false, STR(etcd.initial_cluster)},
    {"etcd", "cluster-token", T_NAME, "etcd-cluster-0", false, STR(etcd.cluster_token)},
    {"etcd", "data-dir", T_PATH, "/var/lib/etcd", false, STR(etcd.data_dir)},
};

static const char *const base_sections[] = {
    "cluster", "node", "download", "health", "fanout", "lb", "pki", "paths", "etcd",
};

/* A component whose flags kubestrap renders is configured in a section named after it. */
static bool has_flags(const struct component *c)
{
        return component_template(c, TEMPLATE_FLAGS) != NULL;
}

/* The known sections: the fixed ones, then one per component with flags; NULL past the end. */
static const char *section_name(size_t i)
{
        if (i < ELEMENTSOF(base_sections))
                return base_sections[i];
        i -= ELEMENTSOF(base_sections);
        FOREACH_COMPONENT (c)
                if (has_flags(c) && i-- == 0)
                        return c->name;
        return NULL;
}

static const char *const arches[] = {"amd64", "arm64", "arm", "ppc64le", "s390x"};

static const struct key_spec *schema_find(const char *section, const char *key)
{
        for (size_t i = 0; i < ELEMENTSOF(schema); i++)
                if (streq(schema[i].section, section) && streq(schema[i].key, key))
                        return &schema[i];
        return NULL;
}

/* "section.key" (the key may hold dots itself: digest.kube-apiserver) */
static const struct key_spec *schema_find_name(const char *name)
{
        const char *dot = strchr(name, '.');
        for (size_t i = 0; dot && i < ELEMENTSOF(schema); i++)
                if (strlen(schema[i].section) == (size_t)(dot - name) &&
                    strncmp(schema[i].section, name, (size_t)(dot - name)) == 0 &&
                    streq(schema[i].key, dot + 1))
                        return &schema[i];
        return NULL;
}

const char *model_suggest(const char *section, const char *key)
{
        const char *best = NULL;
        unsigned best_d = UINT_MAX;
        for (size_t i = 0; i < ELEMENTSOF(schema); i++) {
                if (section && !streq(schema[i].section, section))
                        continue;
                unsigned d = edit_distance(key, schema[i].key);
                if (d < best_d) {
                        best_d = d;
                        best = schema[i].key;
                }
        }
        /* Only near misses: a distance of up to a third of the name, at least 2. */
        size_t limit = strlen(key) / 3 > 2 ? strlen(key) / 3 : 2;
        return best_d <= limit ? best : NULL;
}

static const char *suggest_section(const char *s)
{
        const char *best = NULL;
        unsigned best_d = UINT_MAX;
        for (size_t i = 0; section_name(i); i++) {
                unsigned d = edit_distance(s, section_name(i));
                if (d < best_d) {
                        best_d = d;
                        best = section_name(i);
                }
        }
        return best_d <= 3 ? best : NULL;
}

static const struct component *component_from_section(const char *s)
{
        const struct component *c = component_find(s);
        return c && has_flags(c) ? c : NULL;
}

bool model_key_at(size_t i, struct model_key *ret)
{
        if (i < ELEMENTSOF(schema)) {
                const struct key_spec *k = &schema[i];
                *ret = (struct model_key){k->section, k->key,
                                          (size_t)k->type < ELEMENTSOF(type_names) &&
                                                  type_names[k->type]
                                              ? type_names[k->type]
                                              : "text",
                                          k->def, k->repeat};
                return true;
        }
        i -= ELEMENTSOF(schema);
        /* the inventory's keys (add_host_key) */
        static const struct model_key host_keys[] = {
            {"host NAME", "address", "ssh-address", NULL, false},
            {"host NAME", "internal-ip", "ip-or-auto", "", false},
            {"host NAME", "role", "text", "controller", false},
        };
        if (i < ELEMENTSOF(host_keys)) {
                *ret = host_keys[i];
                return true;
        }
        i -= ELEMENTSOF(host_keys);
        /* one flag-edit section per component with flags (add_edit) */
        for (size_t s = ELEMENTSOF(base_sections); section_name(s); s++)
                if (i-- == 0) {
                        *ret = (struct model_key){section_name(s), "FLAG", "flag-edit", "", false};
                        return true;
                }
        return false;
}

/* Keys that older versions accepted and that do nothing now: a config that sets one still
 * loads, with a warning, so an upgrade of kubestrap does not break a working node. */
static const struct {
        const char *section, *key, *why;
} retired_keys[] = {
    {"health", "settle-ms", "it never had an effect"},
};

static const char *retired_key(const char *section, const char *key)
{
        for (size_t i = 0; i < ELEMENTSOF(retired_keys); i++)
                if (streq(retired_keys[i].section, section) && streq(retired_keys[i].key, key))
                        return retired_keys[i].why;
        return NULL;
}

struct loader {
        struct model *m;
        const char *file;
        char **errors;
};

static void add_error(struct loader *l, unsigned line, const char *section, const char *key,
                      const char *fmt, ...) _printf_(5, 6);
static void add_error(struct loader *l, unsigned line, const char *section, const char *key,
                      const char *fmt, ...)
{
        va_list ap;
        char *msg = NULL, *full = NULL;
        va_start(ap, fmt);
        if (vasprintf(&msg, fmt, ap) < 0)
                msg = NULL;
        va_end(ap);
        char where[32] = "";
        if (line)
                snprintf(where, sizeof(where), ":%u", line);
        if (key)
                asprintf_safe(&full, "%s%s: [%s] %s: %s", l->file, where, section, key,
                              msg ? msg : "?");
        else if (section)
                asprintf_safe(&full, "%s%s: [%s]: %s", l->file, where, section, msg ? msg : "?");
        else
                asprintf_safe(&full, "%s%s: %s", l->file, where, msg ? msg : "?");
        free(msg);
        if (!full)
                return;
        log_note_where(full, &(struct err_where){
                                 .file = l->file, .line = line, .section = section, .key = key});
        strv_push(&l->errors, full);
}

static struct var *var_find(struct model *m, const char *name)
{
        for (size_t i = 0; i < m->n_vars; i++)
                if (streq(m->vars[i].name, name))
                        return &m->vars[i];
        return NULL;
}

const char *model_get(const struct model *m, const char *name)
{
        struct var *v = var_find((struct model *)m, name);
        return v ? v->value : NULL;
}

static const struct key_spec *schema_find_name(const char *name);

/* Keeps struct config in step with the value just set (v->value owns the text). */
static void config_store(struct model *m, const char *name, const char *value)
{
        const struct key_spec *k = schema_find_name(name);
        if (!k || k->kind == CFG_NONE)
                return;
        char *field = (char *)&m->cfg + k->offset;
        unsigned u = 0;
        switch (k->kind) {
        case CFG_STR:
                *(const char **)field = value;
                break;
        case CFG_UINT:
                /* validated when loaded; "" (an optional number left empty) reads as 0 */
                (void)safe_atou(value, &u);
                *(unsigned *)field = u;
                break;
        case CFG_RBAC:
                *(enum rbac_mode *)field = streq(value, "always")  ? RBAC_ALWAYS
                                           : streq(value, "never") ? RBAC_NEVER
                                                                   : RBAC_ONCE;
                break;
        case CFG_SOURCE:
                *(enum download_source *)field =
                    streq(value, "tarball") ? SOURCE_TARBALL : SOURCE_BINARIES;
                break;
        case CFG_NONE:
                break;
        }
}

static int var_set(struct model *m, const char *name, const char *value, unsigned line)
{
        struct var *v = var_find(m, name);
        if (!v) {
                struct var *n = realloc(m->vars, (m->n_vars + 1) * sizeof(*n));
                if (!n)
                        return -ENOMEM;
                m->vars = n;
                v = &m->vars[m->n_vars++];
                *v = (struct var){.name = strdup(name)};
                if (!v->name)
                        return -ENOMEM;
        }
        char *c = strdup(value);
        if (!c)
                return -ENOMEM;
        free(v->value);
        v->value = c;
        v->line = line;
        config_store(m, name, c);
        return 0;
}

int model_set(struct model *m, const char *name, const char *value)
{
        return var_set(m, name, value, 0);
}

static int check_value(struct loader *l, const struct key_spec *k, const char *value, unsigned line)
{
        const char *why = NULL;
        int r = 0;

        if (string_has_cc(value)) {
                add_error(l, line, k->section, k->key, "control characters are not allowed");
                return -EINVAL;
        }
        if (k->def && !k->def[0] && !value[0])
                return 0; /* optional and left empty */
        switch (k->type) {
        case T_NAME:
                r = validate_name(value, &why);
                break;
        case T_IP_OR_AUTO:
                r = streq(value, "auto") ? 0 : validate_ip(value, &why);
                if (r < 0)
                        why = "expected an IP address or 'auto'";
                break;
        case T_HOST:
                r = validate_host(value, &why);
                break;
        case T_CIDR:
                r = validate_cidr(value, &why);
                break;
        case T_PORT_RANGE:
                r = validate_port_range(value, &why);
                break;
        case T_HTTPS_URL:
                r = validate_https_url(value, &why);
                break;
        case T_HTTPS_URL_LIST:
                r = validate_https_url_list(value, &why);
                break;
        case T_ETCD_URL_LIST:
                r = validate_etcd_url_list(value, &why);
                break;
        case T_VERSION: {
                unsigned minor = 0;
                r = validate_version_or_marker(value, &why);
                /* "stable" names no minor yet: its release is checked once resolved
                 * (pipeline.c); "stable-1.NN" names one */
                bool marker = startswith(value, "stable");
                if (r >= 0 && !streq(value, "stable") &&
                    ((marker ? safe_atou(value + strlen("stable-1."), &minor)
                             : version_minor(value, &minor)) < 0 ||
                     !version_supported(minor))) {
                        r = -ERANGE;
                        why = "kubestrap supports Kubernetes " VERSION_RANGE_TEXT;
                }
                break;
        }
        case T_PKI_LAYOUT:
                r = streq(value, "kthw-2021") || streq(value, "kthw-2025") ? 0 : -EINVAL;
                why = "expected kthw-2021 or kthw-2025 (or leave it out to detect it from the "
                      "files in [pki] source-dir)";
                break;
        case T_PATH:
                r = validate_abs_path(value, &why);
                break;
        case T_COUNT:
                r = validate_uint(value, 1, 1000, &why);
                break;
        case T_ARCH:
                r = -EINVAL;
                for (size_t i = 0; i < ELEMENTSOF(arches); i++)
                        if (streq(value, arches[i]))
                                r = 0;
                why = "expected one of amd64, arm64, arm, ppc64le, s390x";
                break;
        case T_CHECKSUM:
                r = digest_alg_from_string(value) >= 0 ? 0 : -EINVAL;
                why = "expected sha256 or sha512";
                break;
        case T_SMALL:
                r = validate_uint(value, 0, 20, &why);
                break;
        case T_DELAY:
                r = validate_uint(value, 0, 60000, &why);
                break;
        case T_RBAC:
                r = streq(value, "once") || streq(value, "always") || streq(value, "never")
                        ? 0
                        : -EINVAL;
                why = "expected once, always or never";
                break;
        case T_TEXT:
                r = 0; /* free text; control characters were refused above */
                break;
        case T_SECONDS:
                r = validate_uint(value, 1, 3600, &why);
                break;
        case T_BYTES:
                r = validate_uint(value, 1, UINT_MAX, NULL);
                why = "expected a number of bytes from 1 to 4294967295";
                break;
        case T_DEADLINE:
                r = validate_uint(value, 1, 86400, NULL);
                why = "expected seconds from 1 to 86400";
                break;
        case T_SOURCE:
                r = streq(value, "binaries") || streq(value, "tarball") ? 0 : -EINVAL;
                why = "expected 'binaries' or 'tarball'";
                break;
        case T_GCP_NAME:
                r = validate_gcp_name(value, &why);
                break;
        case T_IP:
                r = validate_ip(value, &why);
                break;
        case T_INTERVAL:
                r = validate_uint(value, 100, 60000, NULL);
                why = "expected milliseconds from 100 to 60000";
                break;
        case T_ETCD_VERSION:
                r = validate_version(value, &why);
                break;
        case T_INITIAL_CLUSTER:
                r = validate_initial_cluster(value, &why);
                break;
        case T_SIGNATURES:
                r = streq(value, "require") || streq(value, "if-present") || streq(value, "off")
                        ? 0
                        : -EINVAL;
                why = "expected require, if-present or off";
                break;
        case T_PIN: {
                enum digest_alg alg;
                char hex[DIGEST_HEX_MAX];
                r = digest_parse_pin(value, &alg, hex);
                why = "expected sha256:<64 hex digits> or sha512:<128 hex digits>";
                break;
        }
        }
        if (r < 0) {
                add_error(l, line, k->section, k->key, "invalid value '%s': %s", value,
                          why ? why : "invalid");
                return -EINVAL;
        }
        return 0;
}

static int add_edit(struct loader *l, const struct component *comp, const char *key,
                    const char *value, unsigned line)
{
        struct model *m = l->m;
        size_t c = component_index(comp);
        const char *why = NULL;
        char op = '=';
        const char *name = key;
        if (key[0] == '+' || key[0] == '-') {
                op = key[0];
                name = key + 1;
        }
        if (validate_flag_name(name, &why) < 0) {
                add_error(l, line, comp->name, key, "invalid flag name: %s", why);
                return -EINVAL;
        }
        if (op == '-' && value[0]) {
                add_error(l, line, comp->name, key, "a removal takes no value (write '-%s =')",
                          name);
                return -EINVAL;
        }
        if (validate_flag_value(value, &why) < 0) {
                add_error(l, line, comp->name, key, "invalid value '%s': %s", value, why);
                return -EINVAL;
        }
        for (size_t i = 0; i < m->n_edits[c]; i++)
                if (streq(m->edits[c][i].name, name)) {
                        add_error(l, line, comp->name, key, "flag '%s' already edited on line %u",
                                  name, m->edits[c][i].line);
                        return -EINVAL;
                }
        struct flag_edit *n = realloc(m->edits[c], (m->n_edits[c] + 1) * sizeof(*n));
        if (!n)
                return -ENOMEM;
        m->edits[c] = n;
        n[m->n_edits[c]] = (struct flag_edit){
            .op = op, .name = strdup(name), .value = strdup(value), .line = line};
        if (!n[m->n_edits[c]].name || !n[m->n_edits[c]].value)
                return -ENOMEM;
        m->n_edits[c]++;
        return 0;
}

/* "[host NAME]": one controller of the inventory, for fanout, tmux and cloud-init. */
static const char *host_section_name(const char *section)
{
        return startswith(section, "host ") && section[5] ? section + 5 : NULL;
}

static struct host *host_get(struct loader *l, const char *name, unsigned line)
{
        struct model *m = l->m;
        for (size_t i = 0; i < m->n_hosts; i++)
                if (streq(m->hosts[i].name, name))
                        return &m->hosts[i];
        struct host *n = realloc(m->hosts, (m->n_hosts + 1) * sizeof(*n));
        if (!n)
                return NULL;
        m->hosts = n;
        n[m->n_hosts] = (struct host){.name = strdup(name), .line = line};
        return n[m->n_hosts].name ? &n[m->n_hosts++] : NULL;
}

static int add_host_key(struct loader *l, const char *section, const char *name, const char *key,
                        const char *value, unsigned line)
{
        const char *why = NULL;
        if (validate_name(name, &why) < 0) {
                add_error(l, line, section, NULL, "host name: %s", why);
                return 0;
        }
        struct host *h = host_get(l, name, line);
        if (!h)
                return -ENOMEM;
        if (streq(key, "role")) {
                if (h->role_set) {
                        add_error(l, line, section, key, "duplicate key");
                        return 0;
                }
                if (node_role_from_string(value, &h->role) < 0)
                        add_error(l, line, section, key,
                                  "invalid value '%s': expected controller or lb", value);
                h->role_set = true;
                return 0;
        }
        char **slot = streq(key, "address")       ? &h->address
                      : streq(key, "internal-ip") ? &h->internal_ip
                                                  : NULL;
        if (!slot) {
                const char *s = edit_distance(key, "address") <= 2       ? "address"
                                : edit_distance(key, "internal-ip") <= 3 ? "internal-ip"
                                                                         : NULL;
                if (s)
                        add_error(l, line, section, key, "unknown key (did you mean '%s'?)", s);
                else
                        add_error(l, line, section, key,
                                  "unknown key (a host has address, internal-ip and role)");
                return 0;
        }
        if (*slot) {
                add_error(l, line, section, key, "duplicate key");
                return 0;
        }
        int r = streq(key, "address") ? validate_ssh_address(value, &why)
                                      : (streq(value, "auto") ? 0 : validate_ip(value, &why));
        if (r < 0 || string_has_cc(value)) {
                add_error(l, line, section, key, "invalid value '%s': %s", value,
                          why ? why : "expected HOST or USER@HOST");
                return 0;
        }
        *slot = strdup(value);
        return *slot ? 0 : -ENOMEM;
}

static void check_section(struct loader *l, const char *section, unsigned line)
{
        if (host_section_name(section))
                return;
        for (size_t i = 0; section_name(i); i++)
                if (streq(section, section_name(i)))
                        return;
        const char *s = suggest_section(section);
        if (s)
                add_error(l, line, section, NULL, "unknown section (did you mean [%s]?)", s);
        else
                add_error(l, line, section, NULL, "unknown section");
}

static int load_entries(struct loader *l, struct ini_file *f)
{
        struct model *m = l->m;
        int r;

        for (size_t i = 0; f->sections && f->sections[i]; i++) {
                check_section(l, f->sections[i], f->section_lines[i]);
                m->etcd = m->etcd || streq(f->sections[i], "etcd");
        }

        for (size_t i = 0; i < f->n_entries; i++) {
                struct ini_entry *e = &f->entries[i];
                const struct component *c = component_from_section(e->section);
                if (c) {
                        r = add_edit(l, c, e->key, e->value, e->line);
                        if (r == -ENOMEM)
                                return r;
                        continue;
                }
                const char *hn = host_section_name(e->section);
                if (hn) {
                        r = add_host_key(l, e->section, hn, e->key, e->value, e->line);
                        if (r < 0)
                                return r;
                        continue;
                }
                bool known_section = false;
                for (size_t s = 0; section_name(s); s++)
                        known_section = known_section || streq(section_name(s), e->section);
                if (!known_section)
                        continue; /* reported once per section above */
                const char *why = retired_key(e->section, e->key);
                if (why) {
                        char *w = NULL;
                        asprintf_safe(&w, "%s:%u: [%s] %s: ignored (%s); remove it", l->file,
                                      e->line, e->section, e->key, why);
                        if (!w || strv_push(&m->warnings, w) < 0)
                                return -ENOMEM;
                        continue;
                }
                const struct key_spec *k = schema_find(e->section, e->key);
                if (!k) {
                        const char *s = model_suggest(e->section, e->key);
                        const char *other = NULL;
                        /* the first section that has it: [cluster] version, not [etcd] */
                        for (size_t j = 0; j < ELEMENTSOF(schema) && !s && !other; j++)
                                if (streq(schema[j].key, e->key))
                                        other = schema[j].section;
                        if (s)
                                add_error(l, e->line, e->section, e->key,
                                          "unknown key (did you mean '%s'?)", s);
                        else if (other)
                                add_error(l, e->line, e->section, e->key,
                                          "unknown key (it belongs in [%s])", other);
                        else
                                add_error(l, e->line, e->section, e->key, "unknown key");
                        continue;
                }
                _cleanup_free_ char *name = strjoin3(e->section, ".", e->key);
                if (!name)
                        return -ENOMEM;
                struct var *prev = var_find(m, name);
                if (prev && prev->line && k->repeat) {
                        _cleanup_free_ char *joined = strjoin3(prev->value, " ", e->value);
                        if (!joined)
                                return -ENOMEM;
                        (void)check_value(l, k, e->value, e->line);
                        r = var_set(m, name, joined, prev->line);
                        if (r < 0)
                                return r;
                        continue;
                }
                if (prev && prev->line) {
                        add_error(l, e->line, e->section, e->key,
                                  "duplicate key (first set on line %u)", prev->line);
                        continue;
                }
                /* Kept even when invalid (the run stops anyway), so it is not also reported
                 * as missing or, when repeated, as a duplicate of nothing. */
                (void)check_value(l, k, e->value, e->line);
                r = var_set(m, name, e->value, e->line);
                if (r < 0)
                        return r;
        }

        for (size_t i = 0; i < m->n_hosts; i++)
                if (!m->hosts[i].address) {
                        _cleanup_free_ char *sect = strjoin3("host ", m->hosts[i].name, NULL);
                        add_error(l, m->hosts[i].line, sect ? sect : "host", "address",
                                  "required key is missing");
                }

        /* Required keys last, so they are reported after what is wrong in the file. */
        for (size_t i = 0; i < ELEMENTSOF(schema); i++) {
                const struct key_spec *k = &schema[i];
                _cleanup_free_ char *name = strjoin3(k->section, ".", k->key);
                if (!name)
                        return -ENOMEM;
                if (var_find(m, name))
                        continue;
                /* with [etcd], kubestrap knows the members' client URLs (resolve_etcd) */
                bool etcd_default = m->etcd && streq(name, "cluster.etcd-servers");
                if ((!k->def && !etcd_default) || (m->etcd && streq(name, "etcd.version"))) {
                        add_error(l, 0, k->section, k->key, "required key is missing");
                        continue;
                }
                if (!k->def)
                        continue;
                r = var_set(m, name, k->def, 0);
                if (r < 0)
                        return r;
        }
        return 0;
}

/* The short host name, as the chapter's ETCD_NAME=$(hostname -s). */
static int short_hostname(char **ret)
{
        char h[256];
        if (gethostname(h, sizeof(h)) < 0)
                return -errno;
        h[sizeof(h) - 1] = 0;
        h[strcspn(h, ".")] = 0;
        *ret = strdup(h);
        return *ret ? 0 : -ENOMEM;
}

/* [etcd]'s defaults. name: the inventory host whose internal-ip is this node's, else the short
 * host name (model_select_host puts the host's own name in when a run is for one host).
 * initial-cluster: every [host NAME] at https://<internal-ip>:2380, or this node alone.
 * etcd-servers: the members' client URLs, https://<host>:2379 each. */
static int resolve_etcd(struct loader *l)
{
        struct model *m = l->m;
        const char *ip = m->cfg.node.internal_ip;
        bool http =
            startswith(m->cfg.cluster.etcd_servers ? m->cfg.cluster.etcd_servers : "", "http://");
        int r = 0;
        const char *v = model_get(m, "download.digest.etcd");
        if (v && v[0] && digest_parse_pin(v, &m->etcd_pin.alg, m->etcd_pin.hex) == 0)
                m->etcd_pin.set = true;
        if (!m->cfg.etcd.name[0]) {
                _cleanup_free_ char *name = NULL;
                for (size_t i = 0; i < m->n_hosts && !name; i++)
                        if (m->hosts[i].internal_ip && streq(m->hosts[i].internal_ip, ip))
                                name = strdup(m->hosts[i].name);
                r = name ? 0 : short_hostname(&name);
                if (r >= 0 && !name)
                        r = -ENOMEM;
                if (r < 0)
                        return r;
                if ((r = var_set(m, "etcd.name", name, 0)) < 0)
                        return r;
        }
        if (!m->cfg.etcd.initial_cluster[0]) {
                struct buf b = {0};
                size_t n_members = 0;
                for (size_t i = 0; i < m->n_hosts && r >= 0; i++) {
                        const struct host *h = &m->hosts[i];
                        /* a load balancer runs no etcd member */
                        if (h->role != NODE_CONTROLLER)
                                continue;
                        n_members++;
                        if (!h->internal_ip || streq(h->internal_ip, "auto")) {
                                _cleanup_free_ char *sect = strjoin3("host ", h->name, NULL);
                                add_error(l, h->line, sect ? sect : "host", "internal-ip",
                                          "[etcd] initial-cluster is built from every host's "
                                          "internal-ip: give an address, or set initial-cluster");
                                continue;
                        }
                        r = buf_printf(&b, "%s%s=https://%s:2380", b.len ? "," : "", h->name,
                                       h->internal_ip);
                }
                if (r >= 0 && n_members == 0)
                        r = http ? buf_printf(&b, "%s=http://127.0.0.1:2380", m->cfg.etcd.name)
                                 : buf_printf(&b, "%s=https://%s:2380", m->cfg.etcd.name, ip);
                _cleanup_free_ char *ic = r >= 0 ? buf_steal(&b) : NULL;
                buf_done(&b);
                if (r >= 0 && !ic && !l->errors)
                        r = -ENOMEM;
                if (r >= 0 && ic && (r = var_set(m, "etcd.initial-cluster", ic, 0)) < 0)
                        return r;
                if (r < 0)
                        return r;
        }
        /* decided against the data directory before rendering (etcd_prepare) */
        if ((r = var_set(m, "etcd.initial-cluster-state", "new", 0)) < 0)
                return r;
        if (m->cfg.cluster.etcd_servers || l->errors)
                return 0;
        /* every member's client URL: its peer URL's host at 2379 */
        _cleanup_free_ char *copy = strdup(m->cfg.etcd.initial_cluster);
        struct buf b = {0};
        char *save = NULL;
        for (char *tok = copy ? strtok_r(copy, ",", &save) : NULL; tok && r >= 0;
             tok = strtok_r(NULL, ",", &save)) {
                char *url = strchr(tok, '=') + 1;
                char *host = strstr(url, "://") + 3;
                size_t hl = strcspn(host, "/");
                char *colon = memrchr(host, ':', hl);
                if (colon && !(host[0] == '[' && memchr(colon, ']', hl - (size_t)(colon - host))))
                        hl = (size_t)(colon - host);
                r = buf_printf(&b, "%s%.*s%.*s:2379", b.len ? "," : "", (int)(host - url), url,
                               (int)hl, host);
        }
        _cleanup_free_ char *servers = r >= 0 && copy ? buf_steal(&b) : NULL;
        buf_done(&b);
        if (!servers)
                return -ENOMEM;
        return var_set(m, "cluster.etcd-servers", servers, 0);
}

/* Values derived from the validated ones: the internal IP for 'auto', pins, checksum. */
static int resolve(struct loader *l)
{
        struct model *m = l->m;
        struct var *ip = var_find(m, "node.internal-ip");
        if (ip && streq(ip->value, "auto")) {
                _cleanup_free_ char *addr = NULL, *ifname = NULL;
                int r = netinfo_default_route_ipv4(&addr, &ifname);
                if (r == -ENOMEM)
                        return r;
                if (r < 0)
                        add_error(l, ip->line, "node", "internal-ip",
                                  "'auto' found no IPv4 address on the default route's interface "
                                  "(%s); set the address",
                                  strerror(-r));
                else if ((r = var_set(m, "node.internal-ip", addr, ip->line)) < 0)
                        return r;
        }
        const char *cs = model_get(m, "download.checksum");
        m->checksum = cs ? (enum digest_alg)digest_alg_from_string(cs) : DIGEST_SHA256;
        for (int b = 0; b < _BINARY_MAX; b++) {
                _cleanup_free_ char *name = strjoin3("download.digest.", binary_names[b], NULL);
                if (!name)
                        return -ENOMEM;
                const char *v = model_get(m, name);
                if (v && v[0] && digest_parse_pin(v, &m->pins[b].alg, m->pins[b].hex) == 0)
                        m->pins[b].set = true;
        }
        return m->etcd ? resolve_etcd(l) : 0;
}

static int load_common(const char *name, struct ini_file *f, struct model **ret, char ***ret_errors)
{
        struct model *m = calloc(1, sizeof(*m));
        if (!m)
                return -ENOMEM;
        struct loader l = {.m = m, .file = name};
        m->config_path = strdup(name);
        m->edits = calloc(n_components, sizeof(*m->edits));
        m->n_edits = calloc(n_components, sizeof(*m->n_edits));
        int r = m->config_path && m->edits && m->n_edits ? load_entries(&l, f) : -ENOMEM;
        if (r >= 0 && !l.errors)
                r = resolve(&l);
        if (r >= 0 && l.errors)
                r = -EINVAL;
        if (r < 0) {
                model_free(m);
                *ret_errors = l.errors;
                return r;
        }
        *ret = m;
        return 0;
}

int model_load(const char *path, struct model **ret, char ***ret_errors)
{
        struct ini_file *f = NULL;
        char *err = NULL;
        int r = ini_file_read(path, &f, &err);
        if (r < 0) {
                if (!err)
                        asprintf_safe(&err, "%s: %s", path, strerror(-r));
                *ret_errors = NULL;
                if (err)
                        strv_push(ret_errors, err);
                return r == -ENOMEM ? r : -EINVAL;
        }
        r = load_common(path, f, ret, ret_errors);
        ini_file_free(f);
        return r;
}

int model_load_string(const char *name, const char *text, struct model **ret, char ***ret_errors)
{
        struct ini_file *f = NULL;
        char *err = NULL;
        int r = ini_file_parse_string(name, text, &f, &err);
        if (r < 0) {
                *ret_errors = NULL;
                if (err)
                        strv_push(ret_errors, err);
                return r == -ENOMEM ? r : -EINVAL;
        }
        r = load_common(name, f, ret, ret_errors);
        ini_file_free(f);
        return r;
}

/* A key that may repeat was joined with blanks when read; written back as one line it can pass
 * what the reader accepts, so the words go on as many "key = ..." lines as it takes. */
static int write_repeated(struct buf *b, const char *key, const char *value)
{
        _cleanup_free_ char *copy = strdup(value);
        char *save = NULL;
        size_t len = 0; /* of the line being written, 0: none open */
        int r = copy ? 0 : -ENOMEM;
        for (char *w = copy ? strtok_r(copy, " \t", &save) : NULL; r >= 0 && w;
             w = strtok_r(NULL, " \t", &save)) {
                if (len > 0 && len + 1 + strlen(w) > INI_LINE_MAX) {
                        r = buf_puts(b, "\n");
                        len = 0;
                }
                if (r >= 0 && len == 0) {
                        r = buf_printf(b, "%s = %s", key, w);
                        len = strlen(key) + 3 + strlen(w);
                } else if (r >= 0) {
                        r = buf_printf(b, " %s", w);
                        len += 1 + strlen(w);
                }
        }
        return r >= 0 && len > 0 ? buf_puts(b, "\n") : r;
}

int model_write_ini(const struct model *m, char *const *overrides, char **ret)
{
        struct buf b = {0};
        int r = buf_printf(&b, "# written by kubestrap from %s\n", m->config_path);
        for (size_t si = 0; r >= 0 && section_name(si); si++) {
                const char *sec = section_name(si);
                const struct component *comp = component_from_section(sec);
                size_t c = comp ? component_index(comp) : 0;
                bool header = false;
                if (comp) {
                        for (size_t i = 0; r >= 0 && i < m->n_edits[c]; i++) {
                                const struct flag_edit *e = &m->edits[c][i];
                                if (!header)
                                        r = buf_printf(&b, "\n[%s]\n", sec);
                                header = true;
                                if (r >= 0)
                                        r = buf_printf(&b, "%s%s = %s\n",
                                                       e->op == '='   ? ""
                                                       : e->op == '+' ? "+"
                                                                      : "-",
                                                       e->name, e->value);
                        }
                        continue;
                }
                for (size_t k = 0; r >= 0 && k < ELEMENTSOF(schema); k++) {
                        if (!streq(schema[k].section, sec))
                                continue;
                        _cleanup_free_ char *name = strjoin3(sec, ".", schema[k].key);
                        if (!name) {
                                r = -ENOMEM;
                                break;
                        }
                        const struct var *v = var_find((struct model *)m, name);
                        const char *value = v ? v->value : NULL;
                        bool set = v && v->line;
                        /* "section.key=value" overrides win and are always written */
                        for (char *const *o = overrides; o && *o; o++)
                                if (startswith(*o, name) && (*o)[strlen(name)] == '=') {
                                        value = *o + strlen(name) + 1;
                                        set = true;
                                }
                        if (!set || !value)
                                continue;
                        if (!header)
                                r = buf_printf(&b, "\n[%s]\n", sec);
                        header = true;
                        if (r >= 0 && schema[k].repeat)
                                r = write_repeated(&b, schema[k].key, value);
                        else if (r >= 0)
                                r = buf_printf(&b, "%s = %s\n", schema[k].key, value);
                }
        }
        if (r < 0) {
                buf_done(&b);
                return r;
        }
        *ret = buf_steal(&b);
        return *ret ? 0 : -ENOMEM;
}

enum pki_layout model_pki_layout(const struct model *m)
{
        const char *l = m->cfg.pki.layout;
        if (l && streq(l, "kthw-2025"))
                return PKI_LAYOUT_2025;
        if (l && streq(l, "kthw-2021"))
                return PKI_LAYOUT_2021;
        _cleanup_free_ char *pem = path_join(m->cfg.pki.source_dir, "ca.pem");
        _cleanup_free_ char *crt = path_join(m->cfg.pki.source_dir, "ca.crt");
        struct stat st;
        if (pem && crt && stat(crt, &st) == 0 && stat(pem, &st) < 0)
                return PKI_LAYOUT_2025;
        return PKI_LAYOUT_2021;
}

const char *model_pki_name(const struct model *m, const char *name_2021)
{
        if (model_pki_layout(m) == PKI_LAYOUT_2021)
                return name_2021;
        for (size_t i = 0; i < n_pki_files; i++)
                if (streq(pki_files[i].name, name_2021))
                        return pki_files[i].name_2025;
        return name_2021;
}

const struct host *model_host(const struct model *m, const char *name)
{
        for (size_t i = 0; i < m->n_hosts; i++)
                if (streq(m->hosts[i].name, name))
                        return &m->hosts[i];
        return NULL;
}

int model_select_host(struct model *m, const char *name, char **ret_error)
{
        const struct host *h = model_host(m, name);
        if (!h) {
                asprintf_safe(ret_error, "%s: no [host %s] section", m->config_path, name);
                if (*ret_error)
                        log_note_where(*ret_error,
                                       &(struct err_where){.file = m->config_path, .host = name});
                return -ENOENT;
        }
        m->role = h->role;
        /* a run for one controller of the inventory is that member of the etcd cluster */
        struct var *en = var_find(m, "etcd.name");
        if (m->etcd && h->role == NODE_CONTROLLER && en && !en->line) {
                int r = var_set(m, "etcd.name", name, 0);
                if (r < 0)
                        return r;
        }
        if (!h->internal_ip)
                return 0;
        if (streq(h->internal_ip, "auto")) {
                _cleanup_free_ char *addr = NULL;
                int r = netinfo_default_route_ipv4(&addr, NULL);
                if (r < 0) {
                        asprintf_safe(ret_error, "%s:%u: [host %s] internal-ip = auto: %s",
                                      m->config_path, h->line, name, strerror(-r));
                        if (*ret_error)
                                log_note_where(*ret_error, &(struct err_where){
                                                               .file = m->config_path,
                                                               .line = h->line,
                                                               .key = "internal-ip",
                                                               .host = name,
                                                           });
                        return r;
                }
                return var_set(m, "node.internal-ip", addr, h->line);
        }
        return var_set(m, "node.internal-ip", h->internal_ip, h->line);
}

bool model_when(const struct model *m, enum when w)
{
        switch (w) {
        case WHEN_ALWAYS:
                return true;
        case WHEN_ETCD:
                return m->etcd;
        case WHEN_ETCD_TLS:
                return version_etcd_tls(m);
        case WHEN_ETCD_HTTP:
                return !version_etcd_tls(m);
        case WHEN_LB_VIP:
                return m->cfg.lb.virtual_ip && m->cfg.lb.virtual_ip[0];
        }
        return false;
}

bool model_runs(const struct model *m, const struct component *c)
{
        if (c->role != m->role || !model_when(m, c->when))
                return false;
        /* fanout --serial's first pass brings etcd up alone */
        return !m->only_etcd || c->when == WHEN_ETCD;
}

bool model_runs_etcd(const struct model *m)
{
        FOREACH_COMPONENT (c)
                if (c->when == WHEN_ETCD && model_runs(m, c))
                        return true;
        return false;
}

int model_hosts_of(const struct model *m, enum node_role role, const struct host ***ret,
                   size_t *ret_n)
{
        const struct host **l = calloc(m->n_hosts ? m->n_hosts : 1, sizeof(*l));
        size_t n = 0;
        if (!l)
                return -ENOMEM;
        for (size_t i = 0; i < m->n_hosts; i++)
                if (m->hosts[i].role == role)
                        l[n++] = &m->hosts[i];
        *ret = l;
        *ret_n = n;
        return 0;
}

int model_controllers(const struct model *m, const char *what, const struct host ***ret,
                      size_t *ret_n, char **ret_error)
{
        int r = model_hosts_of(m, NODE_CONTROLLER, ret, ret_n);
        if (r >= 0 && *ret_n == 0) {
                free(*ret);
                *ret = NULL;
                asprintf_safe(ret_error,
                              "%s: no [host NAME] with role = controller: %s come from the "
                              "inventory",
                              m->config_path, what);
                return -EINVAL;
        }
        return r;
}

bool model_needs_pki(const struct model *m, const char *name_2021)
{
        FOREACH_COMPONENT (c)
                for (const char *const *f = c->pki; model_runs(m, c) && f && *f; f++)
                        if (streq(*f, name_2021))
                                return true;
        return false;
}

const char *model_host_ip(const struct host *h)
{
        if (h->internal_ip && !streq(h->internal_ip, "auto"))
                return h->internal_ip;
        const char *at = strrchr(h->address, '@');
        return at ? at + 1 : h->address;
}

struct model *model_free(struct model *m)
{
        if (!m)
                return NULL;
        strv_free(m->warnings);
        for (size_t i = 0; i < m->n_hosts; i++) {
                free(m->hosts[i].name);
                free(m->hosts[i].address);
                free(m->hosts[i].internal_ip);
        }
        free(m->hosts);
        for (size_t i = 0; i < m->n_vars; i++) {
                free(m->vars[i].name);
                free(m->vars[i].value);
        }
        free(m->vars);
        for (size_t c = 0; m->edits && c < n_components; c++) {
                for (size_t i = 0; i < m->n_edits[c]; i++) {
                        free(m->edits[c][i].name);
                        free(m->edits[c][i].value);
                }
                free(m->edits[c]);
        }
        free(m->edits);
        free(m->n_edits);
        free(m->config_path);
        free(m);
        return NULL;
}
