/* Running one kubestrap verb on many controllers over OpenSSH: the configuration, PKI and
 * templates travel as a bundle on the session's stdin; bounded parallelism or a rolling
 * (serial) order gated on each host's success; each line a host writes goes to the caller. */
#include "fanout.h"

#include <errno.h>
#include <fcntl.h>
#include <poll.h>
#include <signal.h>
#include <dirent.h>
#include <spawn.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

#include "jsonread.h"
#include "util.h"

extern char **environ;

const char *fanout_result_to_string(enum fanout_result r)
{
        switch (r) {
        case FANOUT_OK:
                return "ok";
        case FANOUT_FAILED:
                return "failed";
        case FANOUT_UNREACHABLE:
                return "unreachable";
        case FANOUT_ROLLED_BACK:
                return "rolled back";
        default:
                return "skipped";
        }
}

struct child {
        struct fanout_host *fh;
        pid_t pid;
        int out, err;
        struct buf out_buf, err_buf;
        bool running;
};

/* Single quotes for the remote shell: ssh hands the command line to it as one string. */
static int shell_quote(struct buf *b, const char *s)
{
        int r = buf_puts(b, "'");
        for (; r >= 0 && *s; s++)
                r = *s == '\'' ? buf_puts(b, "'\\''") : buf_append(b, s, 1);
        return r >= 0 ? buf_puts(b, "'") : r;
}

static void on_stdout_line(const struct fanout_options *o, struct child *c, const char *line)
{
        struct fanout_host *fh = c->fh;
        _cleanup_jevent_ struct jevent *e = NULL;
        const char *event = jevent_parse(line, &e) >= 0 ? jevent_str(e, "event") : NULL;
        if (event && streq(event, "summary")) {
                fh->changed = jevent_int(e, "changed", -1);
                fh->plan_ms = jevent_int(e, "plan_ms", -1);
                fh->install_ms = jevent_int(e, "install_ms", -1);
                fh->start_ms = jevent_int(e, "start_ms", -1);
                fh->healthy_ms = jevent_int(e, "healthy_ms", -1);
        } else if (event && streq(event, "rolled_back"))
                fh->rolled_back = true;
        else if (event && streq(event, "error")) {
                free(fh->error);
                const char *msg = jevent_str(e, "message");
                fh->error = msg ? strdup(msg) : NULL;
        }
        if (o->on_line)
                o->on_line(fh, event ? e : NULL, line, false, o->userdata);
}

static void on_stderr_line(const struct fanout_options *o, struct child *c, const char *line)
{
        struct fanout_host *fh = c->fh;
        /* ssh's own complaints (and the remote's stderr) explain an unreachable host */
        free(fh->error);
        fh->error = strdup(line);
        if (o->on_line)
                o->on_line(fh, NULL, line, true, o->userdata);
}

#define FANOUT_LINE_MAX (1024 * 1024)

static void drain(const struct fanout_options *o, struct child *c, int *fd, struct buf *b,
                  bool is_err)
{
        char chunk[8192];
        ssize_t n = read(*fd, chunk, sizeof(chunk));
        if (n < 0 && (errno == EINTR || errno == EAGAIN))
                return;
        if (n > 0)
                buf_append(b, chunk, (size_t)n);
        /* hand on complete lines; at EOF also the rest; a line longer than FANOUT_LINE_MAX in
         * pieces of that size, so what a host sends cannot grow our memory without bound */
        for (;;) {
                char *nl = b->data ? memchr(b->data, '\n', b->len) : NULL;
                bool full = !nl && b->len >= FANOUT_LINE_MAX;
                if (!nl && !full && !(n <= 0 && b->len))
                        break;
                size_t l = nl ? (size_t)(nl - b->data) : full ? FANOUT_LINE_MAX : b->len;
                _cleanup_free_ char *line = strndup(b->data, l);
                if (line)
                        (is_err ? on_stderr_line : on_stdout_line)(o, c, line);
                size_t consumed = nl ? l + 1 : l;
                memmove(b->data, b->data + consumed, b->len - consumed);
                b->len -= consumed;
        }
        if (n <= 0) {
                close(*fd);
                *fd = -1;
        }
}

static int split_words(const char *s, char ***argv)
{
        _cleanup_free_ char *copy = strdup(s ? s : "");
        char *save = NULL;
        if (!copy)
                return -ENOMEM;
        for (char *t = strtok_r(copy, " \t", &save); t; t = strtok_r(NULL, " \t", &save)) {
                int r = strv_extend(argv, t);
                if (r < 0)
                        return r;
        }
        return 0;
}

int fanout_ssh_argv(const struct model *m, const char *const *extra, const char *address,
                    char ***ret_argv)
{
        _cleanup_strv_free_ char **argv = NULL;
        int r = strv_extend(&argv, "ssh");
        for (const char *const *x = extra; r >= 0 && x && *x; x++)
                r = strv_extend(&argv, *x);
        if (r >= 0)
                r = split_words(m->cfg.fanout.ssh_options, &argv);
        /* "--": the destination can never be taken for an option, whatever it holds */
        if (r >= 0)
                r = strv_extend(&argv, "--");
        if (r >= 0)
                r = strv_extend(&argv, address);
        if (r < 0)
                return r;
        *ret_argv = TAKE_PTR(argv);
        return 0;
}

static int start_child(const struct model *m, const struct fanout_options *o, struct child *c)
{
        const struct host *h = c->fh->host;
        _cleanup_strv_free_ char **argv = NULL;
        _cleanup_free_ char *control = NULL;
        struct buf remote = {0};
        /* BatchMode: never stop to ask for a password in the middle of a fan-out. The user's
         * ssh_config still applies; ControlMaster shares one connection between the entries of
         * one address. The socket lives in this run's private directory and comes first (ssh
         * takes the first value of an option), so no ssh-options can move it back where
         * others could listen. Without ControlPersist a master ends with its last session. */
        control = strjoin3("ControlPath=", o->private_dir, "/%C");
        const char *extra[] = {"-o", "BatchMode=yes", "-o", "ControlMaster=auto",
                               "-o", control,         NULL};
        int r = control ? fanout_ssh_argv(m, extra, h->address, &argv) : -ENOMEM;
        r = r >= 0 ? buf_puts(&remote, m->cfg.fanout.remote_command) : r;
        r = r >= 0 ? buf_puts(&remote, " --bundle - --output json --host ") : r;
        r = r >= 0 ? shell_quote(&remote, h->name) : r;
        for (char **a = o->verb_argv; r >= 0 && a && *a; a++) {
                r = buf_puts(&remote, " ");
                if (r >= 0)
                        r = shell_quote(&remote, *a);
        }
        if (r >= 0)
                r = strv_push(&argv, buf_steal(&remote));
        buf_done(&remote);
        if (r < 0)
                return r;

        int po[2], pe[2];
        if (pipe2(po, O_CLOEXEC) < 0)
                return -errno;
        if (pipe2(pe, O_CLOEXEC) < 0) {
                r = -errno;
                close(po[0]);
                close(po[1]);
                return r;
        }
        posix_spawn_file_actions_t fa;
        posix_spawn_file_actions_init(&fa);
        /* every host reads the bundle from the start: its own open of the file */
        posix_spawn_file_actions_addopen(&fa, STDIN_FILENO,
                                         h->role == NODE_LB && o->lb_bundle_path ? o->lb_bundle_path
                                                                                 : o->bundle_path,
                                         O_RDONLY, 0);
        posix_spawn_file_actions_adddup2(&fa, po[1], STDOUT_FILENO);
        posix_spawn_file_actions_adddup2(&fa, pe[1], STDERR_FILENO);
        r = -posix_spawnp(&c->pid, "ssh", &fa, NULL, argv, environ);
        posix_spawn_file_actions_destroy(&fa);
        close(po[1]);
        close(pe[1]);
        if (r < 0) {
                close(po[0]);
                close(pe[0]);
                return r;
        }
        c->out = po[0];
        c->err = pe[0];
        c->running = true;
        c->fh->started_usec = now_usec();
        return 0;
}

static void finish_child(struct child *c)
{
        int status = 0;
        while (waitpid(c->pid, &status, 0) < 0 && errno == EINTR)
                ;
        c->running = false;
        struct fanout_host *fh = c->fh;
        fh->ended_usec = now_usec();
        fh->exit_code = WIFEXITED(status) ? WEXITSTATUS(status) : 128 + WTERMSIG(status);
        /* ssh says 255 when it could not connect or authenticate */
        fh->result = fh->exit_code == 0     ? FANOUT_OK
                     : fh->exit_code == 255 ? FANOUT_UNREACHABLE
                     : fh->rolled_back      ? FANOUT_ROLLED_BACK
                                            : FANOUT_FAILED;
        buf_done(&c->out_buf);
        buf_done(&c->err_buf);
}

int fanout_run(const struct model *m, const struct host *const *hosts, size_t n,
               const struct fanout_options *o, struct fanout_host **ret)
{
        struct fanout_host *fh = calloc(n ? n : 1, sizeof(*fh));
        struct child *c = calloc(n ? n : 1, sizeof(*c));
        _cleanup_free_ struct pollfd *pfd = calloc(2 * n + 1, sizeof(*pfd));
        _cleanup_free_ struct child **who = calloc(2 * n + 1, sizeof(*who));
        _cleanup_free_ bool *is_err = calloc(2 * n + 1, sizeof(*is_err));
        if (!fh || !c || !pfd || !who || !is_err) {
                free(fh);
                free(c);
                return -ENOMEM;
        }
        unsigned limit = o->serial ? 1 : o->jobs ? o->jobs : (unsigned)n;
        size_t next = 0, running = 0, failed = 0;
        bool stop = false;
        for (size_t i = 0; i < n; i++) {
                fh[i] = (struct fanout_host){.host = hosts[i],
                                             .index = i,
                                             .result = FANOUT_SKIPPED,
                                             .changed = -1,
                                             .plan_ms = -1,
                                             .install_ms = -1,
                                             .start_ms = -1,
                                             .healthy_ms = -1};
                c[i] = (struct child){.fh = &fh[i], .out = -1, .err = -1};
        }
        int r = 0;
        for (;;) {
                while (!stop && next < n && running < limit) {
                        r = start_child(m, o, &c[next]);
                        if (r < 0) {
                                fh[next].result = FANOUT_FAILED;
                                asprintf_safe(&fh[next].error, "cannot run ssh: %s", strerror(-r));
                                failed++;
                        } else
                                running++;
                        next++;
                }
                if (running == 0)
                        break;
                /* every running host's two pipes: as many as there are hosts, no cap */
                size_t k = 0;
                for (size_t i = 0; i < n; i++) {
                        if (!c[i].running)
                                continue;
                        if (c[i].out >= 0) {
                                pfd[k] = (struct pollfd){.fd = c[i].out, .events = POLLIN};
                                who[k] = &c[i];
                                is_err[k++] = false;
                        }
                        if (c[i].err >= 0) {
                                pfd[k] = (struct pollfd){.fd = c[i].err, .events = POLLIN};
                                who[k] = &c[i];
                                is_err[k++] = true;
                        }
                }
                if (k > 0 && poll(pfd, k, -1) < 0 && errno != EINTR) {
                        r = -errno;
                        break;
                }
                for (size_t x = 0; x < k; x++)
                        if (pfd[x].revents)
                                drain(o, who[x], is_err[x] ? &who[x]->err : &who[x]->out,
                                      is_err[x] ? &who[x]->err_buf : &who[x]->out_buf, is_err[x]);
                for (size_t i = 0; i < n; i++) {
                        if (!c[i].running || c[i].out >= 0 || c[i].err >= 0)
                                continue;
                        finish_child(&c[i]);
                        running--;
                        if (o->on_done)
                                o->on_done(&fh[i], o->userdata);
                        if (fh[i].result != FANOUT_OK) {
                                failed++;
                                /* a rolling change stops at the first host that is not healthy,
                                 * unless told to go on past K failures */
                                if (o->max_fail >= 0 && (long)failed > o->max_fail)
                                        stop = true;
                        }
                }
        }
        free(c);
        *ret = fh;
        return r;
}

/* A directory for this run's ssh control sockets and bundle that only we can enter. A socket
 * or file at a name others can compute (the old /tmp/kubestrap-ssh-%C) lets any local user
 * listen there first: OpenSSH's mux client hands its stdin, the bundle with every private key
 * of the cluster, to whatever answers. The base is the user's runtime directory when it is
 * really ours, else /tmp, where mkdtemp's mkdir cannot be pre-empted and the sticky bit keeps
 * others from renaming ours away. */
static bool base_is_ours(const char *base)
{
        struct stat st;
        /* "BASE/ks-XXXXXX/" + 40 hex digits + the 17 bytes ssh appends must fit sun_path (107) */
        if (!base || base[0] != '/' || strlen(base) > 39 || lstat(base, &st) < 0)
                return false;
        return S_ISDIR(st.st_mode) && st.st_uid == geteuid() && (st.st_mode & 0077) == 0;
}

int fanout_private_dir(char **ret_path)
{
        char run[64];
        snprintf(run, sizeof(run), "/run/user/%u", (unsigned)geteuid());
        const char *xdg = getenv("XDG_RUNTIME_DIR");
        const char *base = base_is_ours(xdg) ? xdg : base_is_ours(run) ? run : "/tmp";
        _cleanup_free_ char *path = strjoin3(base, "/ks-", "XXXXXX");
        if (!path)
                return -ENOMEM;
        if (!mkdtemp(path))
                return -errno;
        /* checked and fixed through one descriptor: ours, a directory, 0700 whatever the umask */
        _cleanup_close_ int fd = open(path, O_RDONLY | O_DIRECTORY | O_NOFOLLOW | O_CLOEXEC);
        struct stat st;
        int r = fd < 0 || fstat(fd, &st) < 0 ? -errno : 0;
        if (r >= 0 && (!S_ISDIR(st.st_mode) || st.st_uid != geteuid()))
                r = -EPERM;
        if (r >= 0 && fchmod(fd, 0700) < 0)
                r = -errno;
        if (r < 0) {
                rmdir(path);
                return r;
        }
        *ret_path = TAKE_PTR(path);
        return 0;
}

void fanout_private_dir_remove(const char *path)
{
        int fd = open(path, O_RDONLY | O_DIRECTORY | O_NOFOLLOW | O_CLOEXEC);
        if (fd < 0)
                return;
        DIR *d = fdopendir(fd);
        if (!d) {
                close(fd);
                return;
        }
        /* the masters have removed their sockets when they ended; this is what a killed one
         * left, and the bundle */
        for (struct dirent *de = readdir(d); de; de = readdir(d))
                if (!streq(de->d_name, ".") && !streq(de->d_name, ".."))
                        unlinkat(fd, de->d_name, 0);
        closedir(d);
        rmdir(path);
}
