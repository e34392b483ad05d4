/* Talking to the system manager (systemd) over D-Bus: reload, enable, start and watch units. */
#pragma once

#include <stdbool.h>
#include <stdint.h>

/* An sd-bus connection to the system manager. */
struct bus;

/* Connects to the system bus; honours DBUS_SYSTEM_BUS_ADDRESS, so a container's manager is
 * reachable from the machine through /proc/LEADER/root/run/dbus/system_bus_socket. Without
 * that variable, root falls back to systemd's private socket when no bus daemon answers. */
int bus_open(struct bus **ret);
struct bus *bus_close(struct bus *b);

/* The message of the D-Bus error that made the latest call on b fail (e.g. "Unit foo.service
 * not found."), or NULL when it succeeded or failed without one. Valid until the next call. */
const char *bus_last_error(struct bus *b);

/* Manager.Reload; returns once the manager has finished reloading. */
int bus_reload(struct bus *b);

/* Manager.EnableUnitFiles(units, runtime=false, force=false). ret_changed: whether the manager
 * reported any symlink change (false when everything was already enabled). No reload. */
int bus_enable_units(struct bus *b, char **units, bool *ret_changed);

/* Manager.DisableUnitFiles(units, runtime=false). No reload. */
int bus_disable_units(struct bus *b, char **units);

enum bus_job_mode {
        BUS_START,
        BUS_RESTART,
        BUS_RELOAD_OR_RESTART,
        BUS_STOP,
};

/* Queues one job per unit (mode "replace") and waits for all their JobRemoved signals.
 * ret_results[i] is the job result for units[i]: "done", "failed", "timeout", "dependency",
 * "canceled", "skipped"... Note that "done" for a Type=simple service only means it was forked;
 * use bus_unit_settle() to see whether it stays up. Fails at once (bus_last_error() says why)
 * if a job cannot be queued, and returns -ETIMEDOUT if not all finished within timeout_usec.
 * Before a start, restart or reload the unit's start rate limiter and failed state are reset
 * (as systemctl reset-failed): the limit is for Restart= loops, not for starts asked for. */
int bus_run_jobs(struct bus *b, char **units, const enum bus_job_mode *modes, uint64_t timeout_usec,
                 char ***ret_results);

struct unit_status {
        char *active_state, *sub_state, *load_state, *result; /* ActiveState, SubState, ... */
        uint32_t main_pid, n_restarts;                        /* MainPID, NRestarts */
        int32_t exec_main_status;                             /* ExecMainStatus */
        int32_t exec_main_code;                               /* ExecMainCode (CLD_EXITED...) */
        uint64_t active_enter_usec, exec_main_start_usec;     /* realtime, 0 if never */
        char *fragment_path;                                  /* FragmentPath */
};

/* Loads the unit if needed and reads its state. The service fields stay 0/NULL for other unit
 * types. -ENOENT (with the manager's message in bus_last_error()) if no such unit exists. */
int bus_unit_status(struct bus *b, const char *unit, struct unit_status *ret);
void unit_status_done(struct unit_status *s);

/* Watches a started unit for a while, to notice a crash loop that Restart=on-failure hides
 * from a one-off "active" check. Returns 0 once it has been active with the same MainPID and
 * NRestarts for settle_usec; -ECHILD as soon as NRestarts grows or it leaves
 * active/activating; -ETIMEDOUT if it did not settle within timeout_usec. ret_last (may be
 * NULL) gets the last status read, also on -ECHILD and -ETIMEDOUT. */
int bus_unit_settle(struct bus *b, const char *unit, uint64_t settle_usec, uint64_t timeout_usec,
                    struct unit_status *ret_last);
