/* Helpers for the unit tests that work in a temp directory tree (tree_root, set by main). */
#pragma once

#include <errno.h>
#include <fcntl.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "fileio.h"
#include "util.h"

static const char *tree_root;

/* tree_root + rel, in one of four rotating static buffers: copy it to keep it. */
static inline const char *in_root(const char *rel)
{
        static char p[4][512];
        static int i;
        i = (i + 1) % 4;
        snprintf(p[i], sizeof(p[i]), "%s%s", tree_root, rel);
        return p[i];
}

static inline bool exists(const char *path)
{
        struct stat st;
        return lstat(path, &st) == 0;
}

static inline char *slurp(const char *path)
{
        char *s = NULL;
        return read_file_at(AT_FDCWD, path, 64 << 20, &s, NULL) < 0 ? NULL : s;
}

/* Creates or truncates path (the same inode when it exists) and sets its mode. */
static inline int write_file(const char *path, const char *text, mode_t mode)
{
        int fd = open(path, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, mode);
        if (fd < 0)
                return -errno;
        int r = write_all(fd, text, strlen(text));
        if (r >= 0 && fchmod(fd, mode) < 0)
                r = -errno;
        close(fd);
        return r;
}

/* Makes the temp tree from template (a mkdtemp pattern) and opens it as the target; exits
 * with a TAP bail-out when that fails. */
static inline void tree_setup(char *template, struct target *ret)
{
        umask(022);
        tree_root = template;
        if (!mkdtemp(template) || target_open(template, ret) < 0) {
                printf("Bail out! temp tree %s: %s\n", template, strerror(errno));
                exit(1);
        }
}
