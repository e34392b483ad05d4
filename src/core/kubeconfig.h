/* The client credentials of a kubeconfig's current context, read as kubectl reads them. */
#pragma once

#include <stddef.h>

/* A certificate or key: the decoded *-data bytes, or a file (its path resolved against the
 * kubeconfig's directory when relative, as kubectl resolves it). */
struct kubeconfig_blob {
        char *data;
        size_t len;
        char *file;
};

struct kubeconfig_creds {
        char *context, *user; /* the names that led to them */
        struct kubeconfig_blob cert, key;
};

/* Reads the credentials of the user of text's current-context; path names the kubeconfig in
 * messages and is where relative file paths start. Errors (-EINVAL, -EBADMSG for YAML that
 * does not parse) set *ret_error to a message naming the kubeconfig, the context and the
 * user. */
int kubeconfig_parse_creds(const char *path, const char *text, size_t len,
                           struct kubeconfig_creds *ret, char **ret_error);
/* The same for the file at path (read as a trusted file, at most 1 MiB). */
int kubeconfig_read_creds(const char *path, struct kubeconfig_creds *ret, char **ret_error);
void kubeconfig_creds_done(struct kubeconfig_creds *c);
