/* The command table: one entry per verb, each defined in its own src/cmd-<verb>.c with the
 * options it takes; cmd.c parses a command line against it (global options and the verb's,
 * anywhere on the line). */
#pragma once

#include <stdbool.h>

#include "util.h"

enum {
        EXIT_OK = 0,
        EXIT_RUN_FAILED = 1,
        EXIT_USAGE = 2,
        EXIT_PLAN_CHANGES = 2, /* plan --detailed-exitcode: changes pending (errors are 1 then) */
};

#define CMD_LOCKS       (1u << 0) /* changes the target: one run at a time */
#define CMD_PASSTHROUGH (1u << 1) /* what follows "--" is the verb's, untouched (ctx->tail) */
#define CMD_SKEW        (1u << 2) /* plans or installs a release here: the skew policy applies */

/* One option of a verb (or a global one): --name, -short, and its argument's placeholder. */
struct cmd_option {
        const char *name;
        char short_name; /* 0: none */
        const char *arg; /* NULL: takes no argument */
        const char *help;
};

struct command;

struct cmd_ctx {
        const char *config_path;
        const char *root;
        bool verify; /* re-hash installed binaries even when their stat fingerprint matches */
        bool config_explicit;
        const char *bundle_path; /* --bundle FILE|- */
        unsigned flags;          /* of the command being run */
        char **ignore;           /* --ignore NAME: preflight checks whose failure only warns */
        bool skip_preflight;
        const char *host;      /* --host NAME: this run is for [host NAME] of the inventory */
        bool etcd_bootstrap;   /* apply --etcd-bootstrap: etcd alone, and only a new member */
        struct bundle *bundle; /* opened from bundle_path by cmd_load_model() */

        const struct command *cmd;
        const char **values; /* the verb's options as given, by their index in cmd->options;
                              * "" for one without argument; NULL: not given */
        int argc;            /* the verb's other arguments */
        char **argv;
        int argv_start; /* where argv starts in what cmd_parse allocated */
        char **tail;    /* CMD_PASSTHROUGH: after "--" (NULL: no "--") */
};

struct command {
        const char *name;
        int min_args, max_args; /* arguments besides options (-1: any number) */
        unsigned flags;
        const char *usage;
        const char *summary;
        const struct cmd_option *options; /* the verb's own, ended by {0} (NULL: none) */
        int (*exec)(struct cmd_ctx *ctx);
};

extern const struct command cmd_plan_entry;
extern const struct command cmd_apply_entry;
extern const struct command cmd_fetch_entry;
extern const struct command cmd_status_entry;
extern const struct command cmd_verify_entry;
extern const struct command cmd_reset_entry;
extern const struct command cmd_rollback_entry;
extern const struct command cmd_preflight_entry;
extern const struct command cmd_fanout_entry;
extern const struct command cmd_tmux_entry;
extern const struct command cmd_cloud_init_entry;
extern const struct command cmd_cache_entry;
extern const struct command cmd_lb_entry;
extern const struct command cmd_validate_entry;
extern const struct command cmd_version_entry;

const struct command *cmd_find(const char *name);
/* Parses the command line into ctx. *ret_cmd is the verb to run, or NULL when there is
 * nothing to run (--help printed, or a usage error reported): exit with the code returned. */
int cmd_parse(int argc, char *argv[], struct cmd_ctx *ctx, const struct command **ret_cmd);
void cmd_ctx_done(struct cmd_ctx *ctx);

/* The value of the verb's option NAME (its long name): NULL when not given, "" when given
 * and it takes no argument. */
const char *cmd_opt(const struct cmd_ctx *ctx, const char *name);
/* Reports a usage error of the verb (one line with its usage, and where help is); returns
 * EXIT_USAGE. */
int cmd_usage_error(const struct cmd_ctx *ctx, const char *fmt, ...) _printf_(2, 3);

/* status and verify: the same checks; verify fails the run when one fails. */
int status_verb(struct cmd_ctx *ctx, const char *verb, bool strict);
