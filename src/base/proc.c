/* Running a helper program (nginx -t, diff) and collecting what it printed. */
#include "proc.h"

#include <errno.h>
#include <fcntl.h>
#include <spawn.h>
#include <sys/wait.h>
#include <unistd.h>

#include "util.h"

extern char **environ;

int proc_run(char *const argv[], char **ret_output)
{
        return proc_run_with(argv, NULL, ret_output);
}

int proc_run_with(char *const argv[], const struct proc_options *o, char **ret_output)
{
        size_t max = o && o->max_output ? o->max_output : 1 << 16;
        int pfd[2];
        if (pipe2(pfd, O_CLOEXEC) < 0)
                return -errno;
        posix_spawn_file_actions_t fa;
        posix_spawn_file_actions_init(&fa);
        posix_spawn_file_actions_adddup2(&fa, pfd[1], STDOUT_FILENO);
        if (!o || !o->stdout_only)
                posix_spawn_file_actions_adddup2(&fa, pfd[1], STDERR_FILENO);
        if (o && o->stdin_fd > 0)
                posix_spawn_file_actions_adddup2(&fa, o->stdin_fd, STDIN_FILENO);
        else
                posix_spawn_file_actions_addopen(&fa, STDIN_FILENO, "/dev/null", O_RDONLY, 0);
        pid_t pid;
        int r = posix_spawnp(&pid, argv[0], &fa, NULL, argv, environ);
        posix_spawn_file_actions_destroy(&fa);
        close(pfd[1]);
        if (r != 0) {
                close(pfd[0]);
                return -r;
        }
        struct buf out = {0};
        char chunk[4096];
        int oom = 0; /* the child is still drained and reaped, then this is the answer */
        for (;;) {
                ssize_t n = read(pfd[0], chunk, sizeof(chunk));
                if (n < 0 && errno == EINTR)
                        continue;
                if (n <= 0)
                        break;
                if (out.len < max && !oom)
                        oom = buf_append(&out, chunk, (size_t)n);
        }
        close(pfd[0]);
        int status;
        while (waitpid(pid, &status, 0) < 0)
                if (errno != EINTR) {
                        buf_done(&out);
                        return -errno;
                }
        if (oom < 0) {
                buf_done(&out);
                return oom;
        }
        if (ret_output)
                *ret_output = buf_steal(&out);
        buf_done(&out);
        return WIFEXITED(status) ? WEXITSTATUS(status) : 128 + WTERMSIG(status);
}
