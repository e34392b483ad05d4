/* The plan: every item the node should have, and how it compares with what the node has.
 * install.h applies it. */
#pragma once

#include <stdbool.h>
#include <sys/types.h>

#include "bundle.h"
#include "digest.h"
#include "fetch.h"
#include "fileio.h"
#include "http.h"
#include "model.h"
#include "render.h"
#include "state.h"

enum item_kind {
        ITEM_DIR,
        ITEM_FILE,
        ITEM_DOWNLOAD,
        ITEM_SYMLINK,
};

/* What an item is for: decides behaviour (which unit restarts, which server reloads). */
enum item_role {
        ROLE_DIRECTORY,
        ROLE_BINARY,
        ROLE_PKI,
        ROLE_UNIT,        /* the unit file of component */
        ROLE_CONFIG,      /* an extra config file of component (kube-scheduler.yaml) */
        ROLE_SITE,        /* a web server site of component (the nginx /healthz site) */
        ROLE_SITE_LINK,   /* its sites-enabled link */
        ROLE_ENABLE_LINK, /* <target>.wants/<unit> of component, without systemd */
};

enum item_action {
        ACTION_NONE,
        ACTION_CREATE,
        ACTION_UPDATE,
        ACTION_CHMOD, /* content right, mode or owner wrong */
};

struct item {
        enum item_kind kind;
        char *path; /* inside the target */
        enum item_role role;
        const struct component *component; /* units, configs, sites and their links */
        const char *what;                  /* the role as reports show it, display only */
        mode_t mode;
        bool secret;   /* never show content */
        bool text;     /* diffable */
        char *content; /* ITEM_FILE */
        size_t len;
        char *url;   /* ITEM_DOWNLOAD */
        char **urls; /* ITEM_DOWNLOAD: the primary URL, then mirrors */
        enum digest_alg alg;
        char hex[DIGEST_HEX_MAX];
        char *digest_from; /* "pinned" or the sidecar URL */
        char *link_target; /* ITEM_SYMLINK */

        enum item_action action;
        char *diff;        /* ITEM_FILE updates of text files */
        bool from_cache;   /* ITEM_DOWNLOAD: taken from the local cache */
        char *member;      /* tarball source: path of the binary inside the release tarball */
        size_t tarball;    /* with member: which of plan->tarballs */
        char *local_path;  /* --bundle: the verified file to install */
        bool verify_after; /* tarball source: digest unknown until extracted */
        const char *url_used;
};

/* A release tarball that binaries are members of: Kubernetes' server tarball (download.source
 * = tarball), or an artifact with its own version and URL layout (etcd's). It streams once,
 * through mirrors and retries, and its digest is checked at the end of the stream. */
struct plan_tarball {
        char **urls; /* the primary, then mirrors */
        enum digest_alg alg;
        char hex[DIGEST_HEX_MAX];
        char *digest_from; /* "pinned", or the checksum file's URL */
        bool remember;     /* keep the digest in the state: it was asked of the server */
};

struct plan {
        struct item *items;
        size_t n_items;
        struct http_options http;
        struct fetch_policy policy;
        char *cache_dir;
        char *version; /* the release installed (cluster.version, a marker already resolved) */
        size_t sidecars_fetched;
        size_t from_cache;
        char **warnings;       /* e.g. a primary URL that failed before a mirror served the file */
        uint64_t bytes_hashed; /* installed binaries read to compare them */
        uint64_t bytes_downloaded;
        /* the tarballs binaries are extracted from (item->tarball indexes them) */
        struct plan_tarball *tarballs;
        size_t n_tarballs;
        const struct bundle *bundle; /* --bundle: binaries come from it, no network */
};

/* Builds the desired items from the model and rendered files; resolves digests (pins, digests
 * remembered in the state, or sidecars fetched in parallel). Errors name file or URL. */
struct plan_options {
        const struct bundle *bundle; /* binaries from an air-gap bundle */
        bool link_units;             /* enable units by WantedBy symlinks (no systemd: --root) */
};
int plan_build(const struct model *m, const struct render_result *rr, const struct state *st,
               const struct plan_options *o, struct plan **ret, char **ret_error);

/* Compares every item with the target and sets its action (and diff when want_diff). A binary
 * whose stat fingerprint matches the state is not hashed again unless verify is set. */
int plan_compare(struct plan *p, struct target *t, const struct state *st, bool verify,
                 bool want_diff, char **ret_error);

struct plan *plan_free(struct plan *p);

/* The download settings of [download]: TLS, limits, retries and the deadline, for every
 * request to the release server (binaries, sidecars, version markers). */
void plan_download_options(const struct model *m, struct http_options *ret_http,
                           struct fetch_policy *ret_policy);
/* [download] mirrors as a list, in the order they are tried after base-url. */
int plan_mirrors(const struct model *m, char ***ret);

const char *item_action_to_string(enum item_action a);
const char *item_role_to_string(enum item_role r);
size_t plan_count(const struct plan *p, enum item_action a);
