/* Running a helper program (nginx -t) and collecting what it printed. */
#pragma once

/* Runs argv (searched in PATH), returns its exit status (>= 0) or -errno; *ret_output gets
 * stdout and stderr together. */
int proc_run(char *const argv[], char **ret_output);
