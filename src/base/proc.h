/* Running a helper program (nginx -t, diff) and collecting what it printed. */
#pragma once

#include <stdbool.h>
#include <stddef.h>

struct proc_options {
        size_t max_output; /* bytes kept, the rest is read and dropped; 0: 64 KiB */
        bool stdout_only;  /* stderr stays ours: stdout is the result (diff) */
        int stdin_fd;      /* > 0: the child's stdin (a file it reads as /dev/stdin); else
                            * /dev/null */
};

/* Runs argv (searched in PATH) with stdin from /dev/null (or o->stdin_fd), returns its exit status
 * (>= 0; 128 + the signal when killed) or -errno; *ret_output gets stdout and stderr together. */
int proc_run(char *const argv[], char **ret_output);
/* The same, collecting as o says (NULL: as proc_run). */
int proc_run_with(char *const argv[], const struct proc_options *o, char **ret_output);
