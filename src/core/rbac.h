/* The cluster-level step of the seed: the ClusterRole that lets the API server reach the
 * kubelets, and its binding to user "kubernetes", applied over the API with admin's
 * certificate. */
#pragma once

#include <stdbool.h>

#include "model.h"

/* Makes sure both objects exist (server-side apply when one is missing, or always with
 * [cluster] apply-rbac = always; nothing with never). *ret_applied tells whether anything was
 * sent. Without admin credentials in [pki] source-dir, nothing is done and ret_error says so
 * only when apply-rbac = always. */
int rbac_ensure(const struct model *m, bool *ret_applied, char **ret_error);
