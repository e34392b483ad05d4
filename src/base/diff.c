/* Unified diffs of text files for 'plan', produced by diff(1) from diffutils.
 * diffutils is an Essential package on Debian and its output is what operators know;
 * writing our own diff algorithm would be more code to trust for no gain. */
#include "diff.h"

#include <errno.h>
#include <stdint.h>
#include <stdio.h>
#include <sys/mman.h>
#include <unistd.h>

#include "fileio.h"
#include "proc.h"
#include "util.h"

static int memfd_with(const char *name, const char *data, size_t len)
{
        int fd = memfd_create(name, 0); /* inherited by diff: no MFD_CLOEXEC */
        if (fd < 0)
                return -errno;
        int r = write_all(fd, data, len);
        if (r < 0) {
                close(fd);
                return r;
        }
        return fd;
}

int diff_unified(const char *old, size_t old_len, const char *new_text, size_t new_len,
                 const char *label, char **ret)
{
        _cleanup_close_ int a = memfd_with("old", old, old_len);
        if (a < 0)
                return a;
        _cleanup_close_ int b = memfd_with("new", new_text, new_len);
        if (b < 0)
                return b;
        char pa[64], pb[64];
        snprintf(pa, sizeof(pa), "/dev/fd/%d", a);
        snprintf(pb, sizeof(pb), "/dev/fd/%d", b);
        _cleanup_free_ char *la = strjoin3("a", label, NULL), *lb = strjoin3("b", label, NULL);
        if (!la || !lb)
                return -ENOMEM;
        char *argv[] = {"diff", "-u", "--label", la, "--label", lb, pa, pb, NULL};
        /* the whole diff, however long: plan shows it; diff's complaints go to our stderr */
        const struct proc_options po = {.max_output = SIZE_MAX, .stdout_only = true};
        _cleanup_free_ char *out = NULL;
        int r = proc_run_with(argv, &po, &out);
        if (r < 0)
                return r;
        /* diff exits 0 (same) or 1 (different); 2 means trouble. */
        if (r > 1)
                return -EIO;
        *ret = TAKE_PTR(out);
        return *ret ? 0 : -ENOMEM;
}
