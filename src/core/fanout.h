/* Running one kubestrap verb on many controllers over OpenSSH: the configuration, PKI and
 * templates travel as a bundle on the session's stdin; bounded parallelism or a rolling
 * (serial) order gated on each host's success; each line a host writes goes to the caller. */
#pragma once

#include <stdbool.h>
#include <stddef.h>

#include "model.h"

struct fanout_host;
struct jevent;

/* Hosts at once unless told (-j). bench/fleet (bench/README.md, "Fleets"): the time grows
 * linearly with the hosts and goes to ssh and sshd; past a few dozen sessions at once they
 * only contend, and each running host holds two of our descriptors and an ssh process. */
#define FANOUT_JOBS_DEFAULT 32

struct fanout_options {
        unsigned jobs;    /* at most this many hosts at once (0: all) */
        bool serial;      /* one at a time, the next only after the previous succeeded */
        long max_fail;    /* stop starting hosts once more than this many failed (-1: never) */
        char **verb_argv; /* the remote verb and its arguments */
        const char *bundle_path;    /* the bundle every controller reads on stdin */
        const char *lb_bundle_path; /* a load balancer's: the same without the keys */
        const char *private_dir;    /* from fanout_private_dir(): ssh's control sockets */
        /* Each line a host writes, as it comes: e is the line parsed, NULL when it is not one
         * of our events or came on stderr. */
        void (*on_line)(const struct fanout_host *fh, const struct jevent *e, const char *line,
                        bool is_stderr, void *userdata);
        /* Once a started host has ended (its result set), after its last line; may be NULL. */
        void (*on_done)(const struct fanout_host *fh, void *userdata);
        void *userdata;
};

enum fanout_result {
        FANOUT_OK,
        FANOUT_FAILED,
        FANOUT_UNREACHABLE,
        FANOUT_SKIPPED,
        FANOUT_ROLLED_BACK, /* failed, and put the release it had back (a "rolled_back" event) */
};

struct fanout_host {
        const struct host *host;
        size_t index; /* its place in the list fanout_run() was given */
        enum fanout_result result;
        int exit_code;
        long long started_usec, ended_usec;
        long changed, plan_ms, install_ms, start_ms, healthy_ms;
        char *error;      /* last error event or ssh's complaint */
        bool rolled_back; /* the host said "rolled_back" */
};

/* Runs; hands each line to o->on_line as it comes; *ret: one result per host. */
int fanout_run(const struct model *m, const struct host *const *hosts, size_t n,
               const struct fanout_options *o, struct fanout_host **ret);
const char *fanout_result_to_string(enum fanout_result r);

/* "ssh EXTRA... SSH-OPTIONS... -- ADDRESS": the argument list, no shell involved. */
int fanout_ssh_argv(const struct model *m, const char *const *extra, const char *address,
                    char ***ret_argv);
/* A fresh 0700 directory of ours (under $XDG_RUNTIME_DIR, /run/user/UID or /tmp). */
int fanout_private_dir(char **ret_path);
/* Removes it with what is left in it. */
void fanout_private_dir_remove(const char *path);
