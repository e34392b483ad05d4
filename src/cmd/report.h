/* What a run tells the operator, in one place: every event (a plan item, a change, a unit, a
 * check, a status row, a summary, what fanout's hosts said) goes through one report_*
 * function here, which renders it for people (stdout/stderr) or as one JSON line on stdout
 * (--output json). No other module looks at the output mode. */
#pragma once

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "cache.h"
#include "fanout.h"
#include "fetch.h"
#include "fileio.h"
#include "jsonread.h"
#include "plan.h"
#include "preflight.h"
#include "service.h"
#include "status.h"

enum output_mode {
        OUTPUT_HUMAN,
        OUTPUT_JSON,
};

/* Set once, from --output; errors logged from then on are mirrored as JSON events. */
void report_set_output(enum output_mode mode);
bool report_is_json(void);

/* Phase times of a run, for the summary (0: phase not run). */
struct run_times {
        long long start_usec; /* when the run began */
        long long plan_usec, install_usec, start_usec_phase, healthy_usec;
};

/* A plan item: event "plan" (plan's listing, with the diff when show_diff) or "change" (apply
 * did it). */
void report_item(const struct target *t, const struct item *it, const char *event, bool show_diff);
void report_warnings(const struct plan *p);
/* plan, apply, fetch: the plan's counters and the phase times. */
/* The release this run installs: "version: stable-1.34 → v1.34.2 (from URL)" when a marker
 * named it, and one "kube-apiserver v1.33.4 → v1.34.2" line per component whose binary
 * changes release from the one installed. */
void report_release(const char *marker, const char *version, const char *from,
                    const char *installed);
void report_summary(const char *verb, const struct plan *p, size_t changed, size_t failed,
                    const struct run_times *t);
/* apply and rollback: the kept files are back and healthy at version (event "rolled_back");
 * the last line a person reads is "rolled back to VERSION". */
void report_rolled_back(const char *version, long long duration_usec);
/* apply: what the service layer did to each unit, its notes, RBAC. */
void report_units(const struct service_report *rep);
/* Something done or left alone that the person running it should know, as a "note" event. */
void report_note(const char *fmt, ...) _printf_(1, 2);

/* Download progress: a live line on a terminal (when report_progress_live()), else JSON. */
struct progress_figures {
        uint64_t bytes, total;
        bool all_known; /* every file's size is known */
        size_t files, files_done;
        double rate; /* bytes per second */
        const struct fetch_job *jobs;
};
bool report_progress_live(void);
/* Returns whether a live line was drawn (so it must be cleared). */
bool report_progress(const struct progress_figures *f);
void report_progress_clear(void);

/* preflight */
void report_check(const struct check_result *c);
void report_preflight_summary(size_t failed);

/* status and verify */
void report_status(const struct status *s);
void report_status_summary(const char *verb, bool ok);

/* cache */
void report_cache_entry(const char *cache_dir, const struct cache_entry *e, const char *status,
                        const char *path, int err);
struct cache_totals {
        bool prune;
        size_t kept, unused, removed, failed;
        uint64_t kept_bytes, unused_bytes, freed_bytes;
};
void report_cache_summary(const char *cache_dir, const struct cache_totals *c);

/* reset: event "removed" or "kept" (why: the reason it stays) */
void report_reset_path(const char *event, const char *path, const char *why);
void report_reset_nothing(const char *root);
/* validate: the configuration and its templates are good. */
void report_validate(const char *config_path, size_t n_files);
/* reset --dry-run: the units it would stop (systemd: false under --root) and each path. */
struct reset_result;
void report_reset_preview(const struct reset_result *res, bool systemd);
void report_reset_summary(size_t removed, size_t kept, size_t failed, long long duration_ms);

/* version */
void report_version(const char *version, const char *library);

/* fanout: a line a host wrote on stdout, parsed into e (NULL: not one of our events), relayed
 * with its host (JSON) or rendered "HOST: ..." with what the host sent escaped; a line it
 * wrote on stderr; the table of results at the end. */
void report_remote_stdout(const char *host, const struct jevent *e, const char *line);
void report_remote_stderr(const char *host, const char *line);
void report_fanout_hosts(const struct fanout_host *fh, size_t n);

/* A usage error: "kubestrap: MESSAGE; usage: kubestrap USAGE" and where the help is (verb
 * NULL: the command line as a whole). */
void report_usage_error(const char *verb, const char *usage, const char *message);
