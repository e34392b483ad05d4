/* Renders the unit files, kube-scheduler.yaml and the nginx site from templates and the model. */
#pragma once

#include <sys/types.h>

#include "fileio.h"
#include "model.h"

struct rendered_file {
        char *path; /* inside the target */
        char *content;
        mode_t mode;
        char *source; /* template file it came from */
        const struct component *component;
        enum template_kind kind; /* TEMPLATE_UNIT, TEMPLATE_CONFIG or TEMPLATE_SITE */
        char **wanted_by;        /* units: targets from [Install] WantedBy= */
        char *enable_link;       /* sites in sites-available: the sites-enabled link to make */
};

struct render_result {
        struct rendered_file *files;
        size_t n_files;
};

/* The directory holding the shipped templates: $KUBESTRAP_TEMPLATES or the installed one. */
const char *render_shipped_dir(void);
/* Templates from elsewhere (an unpacked bundle) take the shipped ones' place. */
void render_set_shipped_dir(const char *dir);

/* Renders everything. Template and flag-edit problems are configuration errors: -EINVAL with
 * *ret_error naming the template file and line or the config file, line and key. */
int render_all(const struct model *m, struct target *t, struct render_result **ret,
               char **ret_error);
struct render_result *render_result_free(struct render_result *r);

/* The load balancer's backend lines ("\tserver NAME ADDRESS:PORT", one per line), from the
 * inventory's controllers; -EINVAL with *ret_error when it has none. */
int render_lb_servers(const struct model *m, char **ret, char **ret_error);
/* Exposed for tests: applies edits to a rendered flags list and formats the ExecStart tail. */
int render_flags(const struct model *m, const struct component *c, const char *flags_name,
                 const char *flags_text, char **ret_block, char **ret_error);
