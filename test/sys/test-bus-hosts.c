/* A small CLI over bus.h and journal.h for test/sys/sys-bus.sh, which runs it against the systemd
 * of a booted test host; it prints key=value lines and "rc=0" or "rc=ENAME" last. */
#include <errno.h>
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "bus.h"
#include "journal.h"
#include "util.h"

static const char *usage_text =
    "usage: test-bus-hosts [-t TIMEOUT_MS] [-D JOURNAL_DIR] COMMAND ARGS...\n"
    "  reload\n"
    "  enable UNIT...\n"
    "  start|restart|reload-or-restart UNIT...   prints result.UNIT=RESULT\n"
    "  status UNIT\n"
    "  settle UNIT SETTLE_MS                     bounded by -t\n"
    "  journal UNIT N                            from -D, or the local journal\n";

static uint64_t arg_timeout_usec = 30000000ULL;
static const char *arg_journal_dir = NULL;

static void bus_closep(struct bus **b)
{
        bus_close(*b);
}

static const char *errname(int r)
{
        const char *n = strerrorname_np(-r);
        return n ? n : "EUNKNOWN";
}

/* Prints the outcome and turns it into the exit status. */
static int finish(struct bus *b, int r)
{
        const char *m = bus_last_error(b);
        if (m)
                printf("message=%s\n", m);
        if (r < 0)
                printf("rc=%s\n", errname(r));
        else
                printf("rc=0\n");
        return r < 0 ? EXIT_FAILURE : EXIT_SUCCESS;
}

static void print_status(const struct unit_status *s)
{
        printf("active_state=%s\n", s->active_state ? s->active_state : "");
        printf("sub_state=%s\n", s->sub_state ? s->sub_state : "");
        printf("load_state=%s\n", s->load_state ? s->load_state : "");
        printf("result=%s\n", s->result ? s->result : "");
        printf("main_pid=%" PRIu32 "\n", s->main_pid);
        printf("n_restarts=%" PRIu32 "\n", s->n_restarts);
        printf("exec_main_status=%" PRIi32 "\n", s->exec_main_status);
        printf("exec_main_code=%" PRIi32 "\n", s->exec_main_code);
        printf("active_enter_usec=%" PRIu64 "\n", s->active_enter_usec);
        printf("exec_main_start_usec=%" PRIu64 "\n", s->exec_main_start_usec);
        printf("fragment_path=%s\n", s->fragment_path ? s->fragment_path : "");
}

static int run_jobs(struct bus *b, enum bus_job_mode mode, char **units)
{
        _cleanup_strv_free_ char **results = NULL;
        size_t n = strv_length(units);
        _cleanup_free_ enum bus_job_mode *modes = calloc(n ? n : 1, sizeof(*modes));
        if (!modes)
                return -ENOMEM;
        for (size_t i = 0; i < n; i++)
                modes[i] = mode;
        int r = bus_run_jobs(b, units, modes, arg_timeout_usec, &results);
        if (r < 0)
                return r;
        for (size_t i = 0; i < n; i++)
                printf("result.%s=%s\n", units[i], results[i]);
        return 0;
}

static int run_journal(int argc, char **argv)
{
        _cleanup_strv_free_ char **lines = NULL;
        unsigned n;
        if (argc != 2 || safe_atou(argv[1], &n) < 0)
                return -EINVAL;
        int r = journal_last_lines(arg_journal_dir, argv[0], n, &lines);
        if (r < 0)
                return r;
        for (size_t i = 0; lines[i]; i++)
                printf("line=%s\n", lines[i]);
        return 0;
}

static int run(struct bus *b, const char *cmd, int argc, char **argv)
{
        if (streq(cmd, "reload") && argc == 0)
                return bus_reload(b);
        if (streq(cmd, "enable") && argc > 0) {
                bool changed;
                int r = bus_enable_units(b, argv, &changed);
                if (r >= 0)
                        printf("changed=%d\n", changed);
                return r;
        }
        if (streq(cmd, "start") && argc > 0)
                return run_jobs(b, BUS_START, argv);
        if (streq(cmd, "restart") && argc > 0)
                return run_jobs(b, BUS_RESTART, argv);
        if (streq(cmd, "reload-or-restart") && argc > 0)
                return run_jobs(b, BUS_RELOAD_OR_RESTART, argv);
        if (streq(cmd, "status") && argc == 1) {
                struct unit_status s;
                int r = bus_unit_status(b, argv[0], &s);
                if (r >= 0) {
                        print_status(&s);
                        unit_status_done(&s);
                }
                return r;
        }
        if (streq(cmd, "settle") && argc == 2) {
                struct unit_status s = {0};
                unsigned ms;
                if (safe_atou(argv[1], &ms) < 0)
                        return -EINVAL;
                long long t0 = now_usec();
                int r = bus_unit_settle(b, argv[0], (uint64_t)ms * 1000, arg_timeout_usec, &s);
                printf("elapsed_ms=%lld\n", (now_usec() - t0) / 1000);
                print_status(&s);
                unit_status_done(&s);
                return r;
        }
        return -EINVAL;
}

int main(int argc, char **argv)
{
        _cleanup_(bus_closep) struct bus *b = NULL;
        unsigned ms;
        int c, r;

        for (;;) {
                c = getopt(argc, argv, "+t:D:h");
                if (c < 0)
                        break;
                switch (c) {
                case 't':
                        if (safe_atou(optarg, &ms) < 0) {
                                fputs(usage_text, stderr);
                                return 2;
                        }
                        arg_timeout_usec = (uint64_t)ms * 1000;
                        break;
                case 'D':
                        arg_journal_dir = optarg;
                        break;
                default:
                        fputs(usage_text, stderr);
                        return c == 'h' ? 0 : 2;
                }
        }
        if (optind >= argc) {
                fputs(usage_text, stderr);
                return 2;
        }
        const char *cmd = argv[optind];
        int n = argc - optind - 1;
        char **args = argv + optind + 1;

        /* The journal needs no bus, so it also works where no manager runs. */
        if (streq(cmd, "journal"))
                return finish(NULL, run_journal(n, args));

        r = bus_open(&b);
        if (r < 0) {
                fprintf(stderr, "test-bus-hosts: cannot connect to the system bus: %s\n",
                        strerror(-r));
                return finish(NULL, r);
        }
        r = run(b, cmd, n, args);
        if (r == -EINVAL && !bus_last_error(b))
                fputs(usage_text, stderr);
        return finish(b, r);
}
