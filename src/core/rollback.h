/* Rollback: the files an upgrade replaces are kept, before it publishes, under
 * <state-dir>/previous/<release>/<path> and recorded in the state; a failed health gate (or
 * `kubestrap rollback`) publishes them back. One kept set at a time: the release before the
 * last upgrade. */
#pragma once

#include <stdbool.h>

#include "fileio.h"
#include "plan.h"
#include "state.h"

#define ROLLBACK_DIR "previous" /* in <state-dir> */

/* The release the kept files belong to, or NULL when nothing is kept. */
const char *rollback_release(const struct state *st);

/* Before an upgrade publishes: when the plan installs another release than the state records,
 * every binary, unit and config file the plan replaces is hard-linked (copied where the file
 * system will not link) to <state-dir>/previous/<installed release>/<path>, an older kept set
 * is dropped, and the kept files are recorded in st (the caller saves it). Returns 1 when a
 * set was kept, 0 when the release does not change (or none is recorded). */
int rollback_keep(const struct plan *p, struct target *t, const char *state_dir, struct state *st);

/* Publishes the kept files back at their paths (staged, verified against their digests,
 * renamed), records them as installed with the kept release, and drops the kept set. The
 * plan's items at those paths are marked changed, so service_converge() restarts their units
 * afterwards. Errors name the path in *ret_error. */
int rollback_restore(struct plan *p, struct target *t, const char *state_dir, struct state *st,
                     char **ret_error);

/* Removes the kept files and their directories, and their records (reset does the same
 * through the records; an upgrade before keeping a newer set). */
void rollback_drop(struct target *t, const char *state_dir, struct state *st);
