/* The plan: every item the node should have, compared with what it has, and how to apply it. */
#pragma once

#include <stdbool.h>
#include <sys/types.h>

#include "digest.h"
#include "fileio.h"
#include "http.h"
#include "model.h"
#include "render.h"

enum item_kind {
        ITEM_DIR,
        ITEM_FILE,
        ITEM_DOWNLOAD,
        ITEM_SYMLINK,
};

enum item_action {
        ACTION_NONE,
        ACTION_CREATE,
        ACTION_UPDATE,
        ACTION_CHMOD, /* content right, mode or owner wrong */
};

struct item {
        enum item_kind kind;
        char *path;       /* inside the target */
        const char *what; /* "binary", "pki", "unit", ... for reports */
        mode_t mode;
        bool secret;   /* never show content */
        bool text;     /* diffable */
        char *content; /* ITEM_FILE */
        size_t len;
        char *url; /* ITEM_DOWNLOAD */
        enum digest_alg alg;
        char hex[DIGEST_HEX_MAX];
        char *digest_from; /* "pinned" or the sidecar URL */
        char *link_target; /* ITEM_SYMLINK */

        enum item_action action;
        char *diff; /* ITEM_FILE updates of text files */
};

struct plan {
        struct item *items;
        size_t n_items;
        struct http_options http;
};

/* Builds the desired items from the model and rendered files; resolves digests (pins, or
 * sidecars over the network). Errors come back in *ret_error naming file or URL. */
int plan_build(const struct model *m, const struct render_result *rr, struct plan **ret,
               char **ret_error);
/* Compares every item with the target and sets its action (and diff when want_diff). */
int plan_compare(struct plan *p, struct target *t, bool want_diff, char **ret_error);

/* Called once per item that was changed, in order. */
typedef void (*plan_progress_t)(const struct item *it, void *userdata);
/* Stages every change (downloads verified, renders written) into temp files, then publishes
 * them all by rename. A failure before publishing leaves the target as it was. */
int plan_apply(struct plan *p, struct target *t, plan_progress_t done, void *userdata,
               char **ret_error);
struct plan *plan_free(struct plan *p);

const char *item_action_to_string(enum item_action a);
size_t plan_count(const struct plan *p, enum item_action a);
