/* The Kubernetes release layout (dl.k8s.io; a mirror or an air-gap directory has the same):
 * where a release's binaries, checksum sidecars and server tarball are, and the binaries' paths
 * inside that tarball, and the version markers that name a release. Signature (.sig, .cert)
 * URLs belong here too when something needs them. */
#pragma once

#include "digest.h"

/* <base>/<marker>.txt: "stable" or "stable-1.NN", holding a version such as v1.34.2 */
char *release_marker_url(const char *base_url, const char *marker);
/* <base>/<version>/bin/linux/<arch>/<name> */
char *release_binary_url(const char *base_url, const char *version, const char *arch,
                         const char *name);
/* <base>/<version>/kubernetes-server-linux-<arch>.tar.gz */
char *release_tarball_url(const char *base_url, const char *version, const char *arch);
/* kubernetes/server/bin/<name>: a binary's member path in the server tarball */
char *release_tarball_member(const char *name);
/* <file-url>.<alg>: the checksum published next to any release file */
char *release_sidecar_url(const char *file_url, enum digest_alg alg);

/* etcd's release layout (etcd-io/etcd scripts/release), an artifact with its own version:
 * <base>/<version>/etcd-<version>-linux-<arch>.tar.gz, its digest a line of
 * <base>/<version>/SHA256SUMS, and the binaries under etcd-<version>-linux-<arch>/. */
char *release_etcd_tarball_url(const char *base_url, const char *version, const char *arch);
char *release_etcd_sums_url(const char *base_url, const char *version);
char *release_etcd_member(const char *version, const char *arch, const char *name);
