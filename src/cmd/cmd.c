/* The command table, and the command line parsed against it: the global options and the
 * verb's own, before or after the verb, with --help for each. */
#include "cmd.h"

#include <ctype.h>
#include <errno.h>
#include <getopt.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "bundle.h"
#include "log.h"
#include "preflight.h"
#include "report.h"
#include "util.h"

#define DEFAULT_CONFIG "/etc/kubestrap/kubestrap.conf"
#define TOP_USAGE      "[-c FILE] [--root DIR] [--output human|json] [-v] VERB [ARGS]"

/* clang-format off */
static const struct command *const commands[] = {
        &cmd_plan_entry,
        &cmd_apply_entry,
        &cmd_fetch_entry,
        &cmd_status_entry,
        &cmd_verify_entry,
        &cmd_reset_entry,
        &cmd_rollback_entry,
        &cmd_preflight_entry,
        &cmd_fanout_entry,
        &cmd_tmux_entry,
        &cmd_cloud_init_entry,
        &cmd_cache_entry,
        &cmd_lb_entry,
        &cmd_validate_entry,
        &cmd_version_entry,
};

/* In this order: set_global() switches on the index. */
enum {
        G_CONFIG, G_ROOT, G_OUTPUT, G_VERBOSE, G_VERIFY, G_BUNDLE, G_IGNORE, G_SKIP_PREFLIGHT,
        G_HOST, G_HELP, G_VERSION, _G_MAX,
};
static const struct cmd_option global_options[] = {
        [G_CONFIG]  = {"config",  'c', "FILE",  "configuration (default " DEFAULT_CONFIG ")"},
        [G_ROOT]    = {"root",    'r', "DIR",   "install into DIR instead of / (no systemd needed)"},
        [G_OUTPUT]  = {"output",  'o', "MODE",  "human (default) or json (one event per line)"},
        [G_VERBOSE] = {"verbose", 'v', NULL,    "also list unchanged items and debug messages"},
        [G_VERIFY]  = {"verify",  0,   NULL,    "re-hash installed binaries even if they look untouched"},
        [G_BUNDLE]  = {"bundle",  0,   "FILE",  "install from an air-gap bundle ('-': stdin), no network"},
        [G_IGNORE]  = {"ignore",  0,   "CHECK", "a failing preflight check only warns (repeatable; 'all': every one)"},
        [G_SKIP_PREFLIGHT] = {"skip-preflight", 0, NULL, "apply without the preflight checks"},
        [G_HOST]    = {"host",    0,   "NAME",  "run for [host NAME] of the inventory (its internal-ip)"},
        [G_HELP]    = {"help",    'h', NULL,    "show this help"},
        [G_VERSION] = {"version", 0,   NULL,    "print the version (as the 'version' verb)"},
};
/* clang-format on */

const struct command *cmd_find(const char *name)
{
        for (size_t i = 0; i < ELEMENTSOF(commands); i++)
                if (streq(commands[i]->name, name))
                        return commands[i];
        return NULL;
}

static size_t n_options(const struct cmd_option *o)
{
        size_t n = 0;
        while (o && o[n].name)
                n++;
        return n;
}

static void print_options(const struct cmd_option *o, size_t n, const struct cmd_option *shadow)
{
        for (size_t i = 0; i < n; i++) {
                char left[64];
                if (shadow && n_options(shadow) && o != shadow) {
                        bool hidden = false; /* the verb's own of the same name wins */
                        for (const struct cmd_option *s = shadow; s->name; s++)
                                hidden = hidden || streq(s->name, o[i].name);
                        if (hidden)
                                continue;
                }
                snprintf(left, sizeof(left), "%c%c%c --%s%s%s", o[i].short_name ? '-' : ' ',
                         o[i].short_name ? o[i].short_name : ' ', o[i].short_name ? ',' : ' ',
                         o[i].name, o[i].arg ? " " : "", o[i].arg ? o[i].arg : "");
                printf("  %-22s %s\n", left, o[i].help);
        }
}

static void help_top(void)
{
        printf("Usage: kubestrap " TOP_USAGE "\n"
               "\n"
               "Turns this machine into a Kubernetes control-plane node.\n"
               "\n"
               "Options (before or after the verb):\n");
        print_options(global_options, _G_MAX, NULL);
        printf("\nVerbs ('kubestrap VERB --help' shows each one's options):\n");
        for (size_t i = 0; i < ELEMENTSOF(commands); i++)
                printf("  %-10s %s\n", commands[i]->name, commands[i]->summary);
        printf("\nExit status: 0 success, 1 the run failed, 2 usage or configuration error.\n");
        fflush(stdout);
}

static void help_verb(const struct command *cmd)
{
        /* the summary as a sentence: it is written for the verb list */
        printf("Usage: kubestrap %s\n\n%c%s.\n", cmd->usage,
               toupper((unsigned char)cmd->summary[0]), cmd->summary + 1);
        if (n_options(cmd->options)) {
                printf("\nOptions:\n");
                print_options(cmd->options, n_options(cmd->options), NULL);
        }
        printf("\nGlobal options:\n");
        print_options(global_options, _G_MAX, cmd->options);
        fflush(stdout);
}

static int usage_error(const struct command *cmd, const char *fmt, va_list ap)
{
        _cleanup_free_ char *msg = NULL;
        if (vasprintf(&msg, fmt, ap) < 0)
                msg = NULL;
        report_usage_error(cmd ? cmd->name : NULL, cmd ? cmd->usage : TOP_USAGE,
                           msg ? msg : "(out of memory)");
        return EXIT_USAGE;
}

/* cmd NULL: the command line as a whole (no verb yet) */
static int usage_error_of(const struct command *cmd, const char *fmt, ...) _printf_(2, 3);
static int usage_error_of(const struct command *cmd, const char *fmt, ...)
{
        va_list ap;
        va_start(ap, fmt);
        int r = usage_error(cmd, fmt, ap);
        va_end(ap);
        return r;
}

int cmd_usage_error(const struct cmd_ctx *ctx, const char *fmt, ...)
{
        va_list ap;
        va_start(ap, fmt);
        int r = usage_error(ctx->cmd, fmt, ap);
        va_end(ap);
        return r;
}

const char *cmd_opt(const struct cmd_ctx *ctx, const char *name)
{
        const struct cmd_option *o = ctx->cmd ? ctx->cmd->options : NULL;
        for (size_t i = 0; o && o[i].name; i++)
                if (streq(o[i].name, name))
                        return ctx->values ? ctx->values[i] : NULL;
        return NULL;
}

/* The values of the global options, checked where they are parsed. */
static int set_global(struct cmd_ctx *ctx, const struct command *cmd, int which, const char *arg)
{
        switch (which) {
        case G_CONFIG:
                ctx->config_path = arg;
                ctx->config_explicit = true;
                break;
        case G_ROOT:
                if (arg[0] != '/') {
                        return usage_error_of(cmd, "--root needs an absolute path, got '%s'", arg);
                }
                ctx->root = arg;
                break;
        case G_OUTPUT:
                if (streq(arg, "json"))
                        report_set_output(OUTPUT_JSON);
                else if (streq(arg, "human"))
                        report_set_output(OUTPUT_HUMAN);
                else {
                        return usage_error_of(cmd, "--output must be 'human' or 'json', got '%s'",
                                              arg);
                }
                break;
        case G_VERBOSE:
                log_verbose++;
                break;
        case G_VERIFY:
                ctx->verify = true;
                break;
        case G_BUNDLE:
                ctx->bundle_path = arg;
                break;
        case G_IGNORE:
                if (!streq(arg, "all") && !preflight_known(arg)) {
                        return usage_error_of(cmd, "--ignore: no preflight check is called '%s'",
                                              arg);
                }
                if (strv_extend(&ctx->ignore, arg) < 0)
                        return log_error_errno(-ENOMEM, "%m"), EXIT_RUN_FAILED;
                break;
        case G_SKIP_PREFLIGHT:
                ctx->skip_preflight = true;
                break;
        case G_HOST:
                ctx->host = arg;
                break;
        }
        return EXIT_OK;
}

/* getopt_long's tables for the global options and cmd's (NULL: the globals alone); an
 * option's val is 256 + its index: globals first, then the verb's. A verb's option of the same
 * long name as a global one hides it (fetch --bundle FILE is the bundle to write). */
struct getopt_tables {
        struct option *longopts;
        char *shortopts;
};

static int tables_build(const struct command *cmd, bool stop_at_verb, struct getopt_tables *t)
{
        size_t nv = cmd ? n_options(cmd->options) : 0;
        _cleanup_buf_ struct buf s = {0};
        t->longopts = calloc(_G_MAX + nv + 1, sizeof(*t->longopts));
        if (!t->longopts)
                return -ENOMEM;
        /* "+": stop at the verb; ":": a missing argument is told apart from an unknown option */
        int r = buf_puts(&s, stop_at_verb ? "+:" : ":");
        size_t k = 0;
        for (size_t i = 0; r >= 0 && i < _G_MAX + nv; i++) {
                const struct cmd_option *o =
                    i < _G_MAX ? &global_options[i] : &cmd->options[i - _G_MAX];
                bool hidden = false;
                for (size_t j = 0; i < _G_MAX && j < nv; j++)
                        hidden = hidden || streq(cmd->options[j].name, o->name) ||
                                 (o->short_name && o->short_name == cmd->options[j].short_name);
                if (hidden)
                        continue;
                t->longopts[k++] = (struct option){
                    o->name, o->arg ? required_argument : no_argument, NULL, 256 + (int)i};
                if (o->short_name)
                        r = buf_printf(&s, "%c%s", o->short_name, o->arg ? ":" : "");
        }
        if (r < 0)
                return r;
        t->shortopts = buf_steal(&s);
        return t->shortopts ? 0 : -ENOMEM;
}

static void tables_done(struct getopt_tables *t)
{
        free(t->longopts);
        free(t->shortopts);
        *t = (struct getopt_tables){0};
}

/* The index (as in tables_build) of what getopt_long returned; -1: not an option of ours. */
static int option_index(const struct command *cmd, int c)
{
        if (c >= 256)
                return c - 256;
        for (size_t i = 0; cmd && i < n_options(cmd->options); i++)
                if (cmd->options[i].short_name == c)
                        return _G_MAX + (int)i;
        for (size_t i = 0; i < _G_MAX; i++)
                if (global_options[i].short_name == c)
                        return (int)i;
        return -1;
}

/* One getopt_long pass over argv[1..argc-1]; sets what it finds in ctx (and *help,
 * *version). Returns an exit code; EXIT_OK: go on. */
static int parse_pass(int argc, char *argv[], const struct command *cmd, bool stop_at_verb,
                      struct cmd_ctx *ctx, bool *help, bool *version)
{
        struct getopt_tables t = {0};
        if (tables_build(cmd, stop_at_verb, &t) < 0) {
                tables_done(&t);
                return log_error_errno(-ENOMEM, "%m"), EXIT_RUN_FAILED;
        }
        int r = EXIT_OK, c;
        optind = 0; /* glibc: start afresh, with this pass's argv and tables */
        opterr = 0; /* the messages are ours: one line with the usage */
        while (r == EXIT_OK && (c = getopt_long(argc, argv, t.shortopts, t.longopts, NULL)) >= 0) {
                int i = c == '?' || c == ':' ? -1 : option_index(cmd, c);
                if (c == ':')
                        r = usage_error_of(cmd, "option '%s' needs an argument", argv[optind - 1]);
                else if (i < 0 && optopt >= 256)
                        r = usage_error_of(cmd, "option '%s' takes no argument", argv[optind - 1]);
                else if (i < 0 && optopt > 0)
                        r = usage_error_of(cmd, "unknown option '-%c'", optopt);
                else if (i < 0)
                        r = usage_error_of(cmd, "unknown option '%s'", argv[optind - 1]);
                else if (i == G_HELP)
                        *help = true;
                else if (i == G_VERSION)
                        *version = true;
                else if (i < _G_MAX)
                        r = set_global(ctx, cmd, i, optarg);
                else
                        ctx->values[i - _G_MAX] = optarg ? optarg : "";
        }
        tables_done(&t);
        return r;
}

int cmd_parse(int argc, char *argv[], struct cmd_ctx *ctx, const struct command **ret_cmd)
{
        bool help = false, version = false;
        *ctx = (struct cmd_ctx){.config_path = DEFAULT_CONFIG};
        *ret_cmd = NULL;

        /* Up to the verb: global options only. */
        int r = parse_pass(argc, argv, NULL, true, ctx, &help, &version);
        if (r != EXIT_OK)
                return r;
        int verb_at = optind;
        if (version) {
                *ret_cmd = ctx->cmd = &cmd_version_entry;
                return EXIT_OK;
        }
        if (verb_at >= argc && help) {
                help_top();
                return EXIT_OK;
        }
        if (verb_at >= argc)
                return usage_error_of(NULL, "no verb given");
        const struct command *cmd = cmd_find(argv[verb_at]);
        if (!cmd)
                return usage_error_of(NULL, "unknown verb '%s'", argv[verb_at]);
        ctx->cmd = cmd;
        ctx->flags = cmd->flags;

        /* After it: the global options and the verb's, in any order, up to a "--" that hands
         * the rest to the verb untouched. */
        int n = argc - verb_at;
        char **rest = argv + verb_at;
        for (int i = 1; cmd->flags & CMD_PASSTHROUGH && i < n; i++)
                if (streq(rest[i], "--")) {
                        ctx->tail = rest + i + 1;
                        n = i;
                        break;
                }
        /* getopt_long reorders what it parses: a copy, so ctx->tail stays where it is */
        ctx->argv = calloc((size_t)n + 1, sizeof(char *));
        ctx->values = calloc(n_options(cmd->options) + 1, sizeof(char *));
        if (!ctx->argv || !ctx->values)
                return log_error_errno(-ENOMEM, "%m"), EXIT_RUN_FAILED;
        memcpy(ctx->argv, rest, (size_t)n * sizeof(char *));
        r = parse_pass(n, ctx->argv, cmd, false, ctx, &help, &version);
        if (r != EXIT_OK)
                return r;
        if (help) {
                help_verb(cmd);
                return EXIT_OK;
        }
        if (version) {
                *ret_cmd = ctx->cmd = &cmd_version_entry;
                return EXIT_OK;
        }
        ctx->argc = n - optind;
        ctx->argv += optind;
        ctx->argv_start = optind;
        if (ctx->argc < cmd->min_args)
                return cmd_usage_error(ctx, "missing argument");
        if (cmd->max_args >= 0 && ctx->argc > cmd->max_args)
                return cmd_usage_error(ctx, "unexpected argument '%s'", ctx->argv[cmd->max_args]);
        *ret_cmd = cmd;
        return EXIT_OK;
}

void cmd_ctx_done(struct cmd_ctx *ctx)
{
        bundle_close(ctx->bundle); /* removes the unpacked files */
        strv_free(ctx->ignore);
        if (ctx->argv)
                free(ctx->argv - ctx->argv_start);
        free(ctx->values);
        *ctx = (struct cmd_ctx){0};
}
