/* kubestrap: parse the global options and hand over to the verb's command. */
#include <errno.h>
#include <getopt.h>
#include <signal.h>
#include <stdio.h>
#include <string.h>

#include "cmd.h"
#include "bundle.h"
#include "log.h"
#include "preflight.h"
#include "util.h"

#define DEFAULT_CONFIG "/etc/kubestrap/kubestrap.conf"

static void usage(FILE *f)
{
        fprintf(f,
                "Usage: kubestrap [-c FILE] [--root DIR] [--output human|json] [-v] VERB [ARGS]\n"
                "\n"
                "Turns this machine into a Kubernetes control-plane node.\n"
                "\n"
                "Options:\n"
                "  -c, --config FILE   configuration (default " DEFAULT_CONFIG ")\n"
                "  -r, --root DIR      install into DIR instead of / (no systemd needed)\n"
                "  -o, --output MODE   human (default) or json (one event per line)\n"
                "  -v, --verbose       also list unchanged items and debug messages\n"
                "      --verify        re-hash installed binaries even if they look untouched\n"
                "      --bundle FILE   install from an air-gap bundle ('-': stdin), no network\n"
                "      --ignore CHECK  a failing preflight check only warns (repeatable)\n"
                "      --skip-preflight  apply without the preflight checks\n"
                "      --host NAME     run for [host NAME] of the inventory (its internal-ip)\n"

                "  -h, --help          show this help\n"
                "\n"
                "Verbs:\n");
        if (f == stdout)
                cmd_print_list();
        else {
                fflush(f);
                cmd_print_list();
        }
        fprintf(f, "\nExit status: 0 success, 1 the run failed, 2 usage or configuration error.\n");
}

int main(int argc, char *argv[])
{
        /* clang-format off */
        static const struct option options[] = {
                {"config",  required_argument, NULL, 'c'},
                {"root",    required_argument, NULL, 'r'},
                {"output",  required_argument, NULL, 'o'},
                {"verbose", no_argument,       NULL, 'v'},
                {"verify",  no_argument,       NULL, 'V'},
                {"bundle",  required_argument, NULL, 'b'},
                {"ignore",  required_argument, NULL, 'i'},
                {"skip-preflight", no_argument, NULL, 'P'},
                {"host",    required_argument, NULL, 'H'},
                {"help",    no_argument,       NULL, 'h'},
                {},
        };
        /* clang-format on */
        struct cmd_ctx ctx = {.config_path = DEFAULT_CONFIG, .root = NULL};
        int c;

        /* Writes into a pipe whose reader has gone are errors to handle, not a reason to die. */
        signal(SIGPIPE, SIG_IGN);

        /* "+": stop at the verb so its own arguments are left alone. */

        while ((c = getopt_long(argc, argv, "+c:r:o:vh", options, NULL)) >= 0) {
                switch (c) {
                case 'c':
                        ctx.config_path = optarg;
                        ctx.config_explicit = true;
                        break;
                case 'b':
                        ctx.bundle_path = optarg;
                        break;
                case 'i':
                        if (!preflight_known(optarg)) {
                                log_error("--ignore: no preflight check is called '%s'", optarg);
                                return EXIT_USAGE;
                        }
                        if (strv_extend(&ctx.ignore, optarg) < 0)
                                return EXIT_RUN_FAILED;
                        break;
                case 'P':
                        ctx.skip_preflight = true;
                        break;
                case 'H':
                        ctx.host = optarg;
                        break;
                case 'r':
                        if (optarg[0] != '/') {
                                log_error("--root needs an absolute path, got '%s'", optarg);
                                return EXIT_USAGE;
                        }
                        ctx.root = optarg;
                        break;
                case 'o':
                        if (streq(optarg, "json"))
                                arg_output = OUTPUT_JSON;
                        else if (streq(optarg, "human"))
                                arg_output = OUTPUT_HUMAN;
                        else {
                                log_error("--output must be 'human' or 'json', got '%s'", optarg);
                                return EXIT_USAGE;
                        }
                        break;
                case 'v':
                        log_verbose++;
                        break;
                case 'V':
                        ctx.verify = true;
                        break;
                case 'h':
                        usage(stdout);
                        return EXIT_OK;
                default:
                        usage(stderr);
                        return EXIT_USAGE;
                }
        }
        if (optind >= argc) {
                usage(stderr);
                return EXIT_USAGE;
        }
        const struct command *cmd = cmd_find(argv[optind]);
        if (!cmd) {
                log_error("unknown verb '%s' (try 'kubestrap --help')", argv[optind]);
                return EXIT_USAGE;
        }
        ctx.flags = cmd->flags;
        ctx.argc = argc - optind - 1;
        ctx.argv = argv + optind + 1;
        if (ctx.argc < cmd->min_args || (cmd->max_args >= 0 && ctx.argc > cmd->max_args)) {
                log_error("usage: kubestrap %s", cmd->usage);
                return EXIT_USAGE;
        }
        int r = cmd->exec(&ctx);
        bundle_close(ctx.bundle); /* removes the unpacked files */
        strv_free(ctx.ignore);
        return r;
}
