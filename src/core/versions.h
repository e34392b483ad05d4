/* What changes with the Kubernetes version: the supported range, a version's minor, and the
 * version rules of the component rows (dropped flags, config values, probes) applied for one. */
#pragma once

#include <stdbool.h>

#include "component.h"
#include "model.h"

/* The minors kubestrap renders for: v1.21 (the seed) to v1.36. */
#define VERSION_MINOR_MIN  21U
#define VERSION_MINOR_MAX  36U
#define VERSION_RANGE_TEXT "v1.21 to v1.36" /* for messages; keep it with the two above */

/* The minor of "v1.NN.P[-pre]": -EINVAL for anything else, -ERANGE for a major other than 1. */
int version_minor(const char *version, unsigned *ret);
bool version_supported(unsigned minor);
/* The minor the model renders for. A version that is not a plain release (a marker not resolved
 * yet) reads as the newest supported minor, whose rules are the current ones. */
unsigned version_model_minor(const struct model *m);

bool minor_range_has(const struct minor_range *r, unsigned minor);
/* True when every [cluster] etcd-servers URL is https: only then does kube-apiserver get the
 * etcd client certificate flags. */
bool version_etcd_tls(const struct model *m);
/* True when the component's version rules drop this flag for the model. */
bool version_drops_flag(const struct model *m, const struct component *c, const char *flag);
/* The component's versioned value NAME ("config-api") for the model's minor, or NULL. */
const char *version_value(const struct model *m, const struct component *c, const char *name);
/* Whether a probe of the row is served by the model's minor. */
bool version_has_probe(const struct model *m, const struct component_probe *p);
