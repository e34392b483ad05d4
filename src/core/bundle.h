/* Air-gap bundles: one archive with the binaries, their digests, the templates, the config and
 * the PKI, written by 'fetch --bundle' and installed by '--bundle FILE apply' with no network. */
#pragma once

#include "digest.h"
#include "model.h"

#define BUNDLE_TOP "kubestrap-bundle"

struct bundle_binary {
        char *name;
        enum digest_alg alg;
        char hex[DIGEST_HEX_MAX];
        char *path; /* unpacked file */
};

struct bundle {
        char *dir; /* private temp dir the bundle was unpacked into */
        char *config_path;
        char *pki_dir;
        char *templates_dir;
        char *ca_file; /* the download server's extra CA, if the config named one */
        char *version, *arch;
        char *etcd_version; /* the etcd release its etcd and etcdctl are, NULL: none */
        struct bundle_binary *bins;
        size_t n_bins, cap_bins;
};

/* Unpacks FILE (or stdin for "-") into a private directory and reads its manifest. Errors
 * name the bundle and what is wrong with it. */
int bundle_open(const char *file, struct bundle **ret, char **ret_error);
/* Removes the unpacked files. */
struct bundle *bundle_close(struct bundle *b);
const struct bundle_binary *bundle_find(const struct bundle *b, const char *name);

struct bundle_source {
        const char *name;
        enum digest_alg alg;
        const char *hex;
        int fd; /* the verified binary */
};
/* Writes a bundle to out_fd: the given binaries (already verified), the config file, the PKI
 * files of the model and the templates in use. */
int bundle_write(int out_fd, const struct model *m, const char *config_path,
                 const struct bundle_source *bins, size_t n_bins, char **ret_error);
