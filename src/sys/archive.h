/* Reading and writing tar archives through libarchive: release tarballs and air-gap bundles. */
#pragma once

#include <stddef.h>

#include "digest.h"

struct archive_want {
        const char *path;         /* member path inside the archive */
        int fd;                   /* its data is written here */
        enum digest_alg alg;      /* and hashed with this */
        char hex[DIGEST_HEX_MAX]; /* out */
        unsigned long long size;  /* out */
        int found;                /* out */
};

/* Reads a tar (optionally gzip, xz or zstd compressed) stream from in_fd to its end and
 * extracts the wanted members. Any entry with an absolute path, a ".." component, or a link
 * pointing outside the archive is refused (-EPERM, message names it): a release tarball has
 * none, so one that does is not what it claims to be. */
int archive_extract(int in_fd, struct archive_want *want, size_t n_want, char **ret_error);

/* Writing: a plain pax tar (the payload is compressed binaries already). */
struct archive_writer;
int archive_writer_new(int out_fd, struct archive_writer **ret);
int archive_writer_add_fd(struct archive_writer *w, const char *path, int fd, unsigned mode);
int archive_writer_add_data(struct archive_writer *w, const char *path, const void *data,
                            size_t len, unsigned mode);
int archive_writer_close(struct archive_writer *w, char **ret_error);
struct archive_writer *archive_writer_free(struct archive_writer *w);

/* Reading a bundle: unpacks its plain files and directories into dir (private and empty),
 * every name resolved below it without following symlinks, files created O_EXCL. Any other
 * entry (hard link, even one carrying data; symlink; device; "..") is refused (-EPERM, the
 * message names it). */
int archive_unpack_all(int in_fd, const char *dir, char **ret_error);

/* data compressed as one gzip stream (RFC 1952) into *ret (*ret_len bytes): deterministic, no
 * time stamp or name in the header. */
int archive_gzip(const void *data, size_t len, char **ret, size_t *ret_len, char **ret_error);

/* Prints an entry name with non-printable bytes escaped, for messages. */
char *archive_safe_name(const char *name);
