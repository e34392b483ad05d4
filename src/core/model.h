/* The typed, validated model of one controller node, built from the INI configuration. */
#pragma once

#include <stdbool.h>
#include <stddef.h>

#include "component.h"
#include "digest.h"

/* The release's downloadable binaries: RELEASE_BINARIES in component.h, next to the component
 * rows that name them. */
/* clang-format off */
enum binary {
#define BINARY_ENUM(id, name) BINARY_##id,
        RELEASE_BINARIES(BINARY_ENUM)
#undef BINARY_ENUM
        _BINARY_MAX,
};
/* clang-format on */

/* The seed's PKI files in [pki] source-dir, in the order it moves them. admin's are not
 * installed: only the cluster-level RBAC step uses them, and a node may not have them. */
struct pki_file {
        const char *name;      /* kthw-2021, the seed's */
        const char *name_2025; /* kthw-2025, the current edition's */
        bool secret;           /* installed 0600: keys, and files that hold one */
        bool admin;
};

/* Which edition's file names [pki] source-dir holds; the same names go into <lib-dir> and the
 * units. */
enum pki_layout {
        PKI_LAYOUT_2021,
        PKI_LAYOUT_2025,
};
extern const struct pki_file pki_files[];
extern const size_t n_pki_files;
extern const char *const binary_names[_BINARY_MAX];

/* One edit of a component's flags from its config section:
 * "NAME = V" replaces, "+NAME = V" adds, "-NAME =" removes. */
struct flag_edit {
        char op; /* '=', '+', '-' */
        char *name;
        char *value;
        unsigned line;
};

struct var {
        char *name; /* "section.key" */
        char *value;
        unsigned line; /* 0: default */
};

struct pin {
        bool set;
        enum digest_alg alg;
        char hex[DIGEST_HEX_MAX];
};

/* One host of the inventory: "[host NAME]" with address (ssh target), internal-ip and role. */
struct host {
        char *name;
        char *address;
        char *internal_ip; /* NULL: the node's own ([node] internal-ip) */
        enum node_role role;
        bool role_set;
        unsigned line;
};

enum rbac_mode {
        RBAC_ONCE,   /* create the objects when missing (the default) */
        RBAC_ALWAYS, /* apply them on every run */
        RBAC_NEVER,
};

enum download_source {
        SOURCE_BINARIES, /* one download per binary */
        SOURCE_TARBALL,  /* the members of kubernetes-server-linux-<arch>.tar.gz */
};

/* The configuration, typed: filled from the schema in model.c (where every default is written,
 * once) as each value is loaded or set. Strings are never NULL; "" is an optional value left
 * empty. Read it instead of looking keys up by name. */
struct config {
        struct {
                const char *name, *version, *public_address, *service_cluster_ip_range,
                    *cluster_cidr, *service_node_port_range, *etcd_servers;
                unsigned apiserver_count;
                enum rbac_mode apply_rbac;
        } cluster;
        struct {
                const char *internal_ip, *etcd_data_dir;
        } node;
        struct {
                const char *base_url, *arch, *ca_file, *mirrors;
                unsigned retries, retry_delay_ms, connect_timeout, stall_timeout, max_size, timeout;
                enum download_source source;
                const char *signatures; /* "", require, if-present, off: signature.c */
                const char *signature_identity;
                const char *signature_issuer;
                const char *signature_roots; /* "": SIGSTOREDIR/roots.pem */
                const char *ct_log_keys;     /* "": SIGSTOREDIR/ct-log-keys.pem */
        } download;
        struct {
                unsigned timeout;
        } health;
        struct {
                const char *source_dir;
                const char *layout; /* "": detected from the files (model_pki_layout) */
        } pki;
        struct {
                const char *ssh_options, *remote_command;
        } fanout;
        struct {
                const char *network, *region, *virtual_ip, *interface;
                unsigned check_interval; /* ms between haproxy's health checks of a backend */
        } lb;
        struct {
                const char *bin_dir, *lib_dir, *config_dir, *unit_dir, *nginx_dir, *haproxy_dir,
                    *keepalived_dir, *template_dir, *state_dir, *cache_dir, *etcd_dir;
        } paths;
        /* [etcd]: only read when the section is there (model.etcd) */
        struct {
                const char *version, *base_url, *mirrors, *name, *initial_cluster, *cluster_token,
                    *data_dir;
        } etcd;
};

struct model {
        struct config cfg;
        char *config_path;
        struct var *vars;
        size_t n_vars;
        /* per component, indexed by component_index(): its [NAME] section's flag edits */
        struct flag_edit **edits;
        size_t *n_edits;
        enum digest_alg checksum;
        struct pin pins[_BINARY_MAX];
        struct host *hosts;
        size_t n_hosts;
        enum node_role role; /* this run's: its --host's role, else controller */
        char **warnings;     /* keys that are accepted but do nothing any more, named */
        bool etcd;           /* an [etcd] section is there: kubestrap runs etcd */
        struct pin etcd_pin; /* [download] digest.etcd: the etcd release tarball's digest */
        /* apply --etcd-bootstrap: this run is about etcd alone (fanout --serial's first pass) */
        bool only_etcd;
};

/* Loads and validates. On configuration errors returns -EINVAL with every problem in
 * *ret_errors, each naming file, line, section and key. */
int model_load(const char *path, struct model **ret, char ***ret_errors);
/* Same, from text (used by tests and bundles); name is used in messages. */
int model_load_string(const char *name, const char *text, struct model **ret, char ***ret_errors);
struct model *model_free(struct model *m);
const char *model_get(const struct model *m, const char *name);
const struct host *model_host(const struct model *m, const char *name);
/* The configuration as INI text: every key set in the file (defaults left out), flag edits,
 * and overrides given as "section.key=value" (no inventory). Values are validated already. */
int model_write_ini(const struct model *m, char *const *overrides, char **ret);
/* Whether component c runs on this run's host: its role, its `when` holds, and not a run about
 * etcd alone (apply --etcd-bootstrap) unless it is etcd. The one on/off rule of a row. */
bool model_runs(const struct model *m, const struct component *c);
/* Whether this run's host runs etcd: a row that [etcd] turns on runs here (a controller). */
bool model_runs_etcd(const struct model *m);
/* Whether a row's or a template's `when` holds for this configuration. */
bool model_when(const struct model *m, enum when w);
/* The inventory's hosts of a role, in file order; *ret_n may be 0. */
int model_hosts_of(const struct model *m, enum node_role role, const struct host ***ret,
                   size_t *ret_n);
/* The inventory's controllers, for what is built from them (the load balancer's backends, the
 * target pool's instances): -EINVAL with *ret_error saying so, naming `for`, when there is
 * none. */
int model_controllers(const struct model *m, const char *what, const struct host ***ret,
                      size_t *ret_n, char **ret_error);
/* Whether a component that runs on the model's host role reads PKI file name_2021 (a load
 * balancer: the cluster CA only). */
bool model_needs_pki(const struct model *m, const char *name_2021);
/* The address another host reaches h at: its internal-ip, else its ssh address's host. */
const char *model_host_ip(const struct host *h);
/* Applies the [host NAME] overrides (internal-ip, role) for a run on that host. */
int model_select_host(struct model *m, const char *name, char **ret_error);
/* Replaces a value after loading (e.g. the PKI directory of an unpacked bundle). */
int model_set(struct model *m, const char *name, const char *value);

/* The [pki] layout: as set, or detected from [pki] source-dir (ca.crt alone: kthw-2025; ca.pem,
 * both or neither: kthw-2021, the seed's names). Detected when asked, because an unpacked
 * bundle replaces source-dir after loading. */
enum pki_layout model_pki_layout(const struct model *m);
/* A PKI file's name in the model's layout, from its kthw-2021 name; other names unchanged. */
const char *model_pki_name(const struct model *m, const char *name_2021);

/* One key of the configuration, as kubestrap.conf(5) documents it. */
struct model_key {
        const char *section; /* "host NAME": any [host ...] section */
        const char *key;     /* "FLAG": any flag name, with '+' or '-' in front */
        const char *type;
        const char *def; /* NULL: required; "": optional, empty */
        bool repeat;     /* may be given on several lines */
};
/* The i-th key: the schema's, the inventory's, then each component's flag edits; false past
 * the end. */
bool model_key_at(size_t i, struct model_key *ret);

/* Finds the key names known in a section, for suggestions ("did you mean"). */
const char *model_suggest(const char *section, const char *key);
