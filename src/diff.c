/* Unified diffs of text files for 'plan', produced by diff(1) from diffutils.
 * diffutils is an Essential package on Debian and its output is what operators know;
 * writing our own diff algorithm would be more code to trust for no gain. */
#include "diff.h"

#include <errno.h>
#include <fcntl.h>
#include <spawn.h>
#include <stdio.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/wait.h>

#include "fileio.h"
#include "util.h"

extern char **environ;

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
        int pipefd[2];
        if (pipe2(pipefd, O_CLOEXEC) < 0)
                return -errno;
        char pa[64], pb[64];
        snprintf(pa, sizeof(pa), "/dev/fd/%d", a);
        snprintf(pb, sizeof(pb), "/dev/fd/%d", b);
        _cleanup_free_ char *la = strjoin3("a", label, NULL), *lb = strjoin3("b", label, NULL);
        if (!la || !lb) {
                close(pipefd[0]);
                close(pipefd[1]);
                return -ENOMEM;
        }
        char *argv[] = {"diff", "-u", "--label", la, "--label", lb, pa, pb, NULL};
        posix_spawn_file_actions_t fa;
        posix_spawn_file_actions_init(&fa);
        posix_spawn_file_actions_adddup2(&fa, pipefd[1], STDOUT_FILENO);
        pid_t pid;
        int r = posix_spawnp(&pid, "diff", &fa, NULL, argv, environ);
        posix_spawn_file_actions_destroy(&fa);
        close(pipefd[1]);
        if (r != 0) {
                close(pipefd[0]);
                return -r;
        }
        struct buf out = {0};
        char chunk[4096];
        for (;;) {
                ssize_t n = read(pipefd[0], chunk, sizeof(chunk));
                if (n < 0 && errno == EINTR)
                        continue;
                if (n <= 0)
                        break;
                if (buf_append(&out, chunk, (size_t)n) < 0)
                        break;
        }
        close(pipefd[0]);
        int status;
        while (waitpid(pid, &status, 0) < 0 && errno == EINTR)
                ;
        /* diff exits 0 (same) or 1 (different); 2 means trouble. */
        if (!WIFEXITED(status) || WEXITSTATUS(status) > 1) {
                buf_done(&out);
                return -EIO;
        }
        *ret = buf_steal(&out);
        return *ret ? 0 : -ENOMEM;
}
