/* Version markers: [cluster] version = stable | stable-1.NN names the release that the marker
 * file on the download server holds, fetched over the same verified client as the binaries. */
#pragma once

#include <stdbool.h>
#include <stddef.h>

#include "model.h"

/* Whether version is a marker rather than a release. */
bool marker_is(const char *version);
/* The content of marker's file: whitespace trimmed, one release vX.Y.Z, and of minor 1.NN for
 * stable-1.NN. -EBADMSG otherwise. */
int marker_parse(const char *marker, const char *body, size_t len, char **ret_version);
/* Whether version is one that marker may name (a bundle's release against the config's). */
bool marker_matches(const char *marker, const char *version);
/* Fetches <base-url>/<marker>.txt, then each mirror's in order, and parses it. On failure
 * *ret_error names the URLs and, for a file that holds no release, what it held. */
int marker_resolve(const struct model *m, char **ret_version, char **ret_url, char **ret_error);
