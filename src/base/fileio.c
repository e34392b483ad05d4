/* File helpers: trusted reads, atomic writes and staging, and path resolution inside --root. */
#include "fileio.h"

#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <ftw.h>
#include <linux/openat2.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/random.h>
#include <sys/file.h>
#include <sys/sysmacros.h>
#include <sys/syscall.h>
#include <unistd.h>

#include "util.h"

/* EISDIR for a directory, ENOTREG for anything else that is not a regular file (a FIFO would
 * block every read, a device would be read forever). */
static int check_regular(const struct stat *st)
{
        if (S_ISREG(st->st_mode))
                return 0;
        return S_ISDIR(st->st_mode) ? -EISDIR : -ENOTREG;
}

/* Owned by root or us, and writable by nobody else (group-writable only for root's group). */
static bool stat_trusted(const struct stat *st)
{
        if (st->st_mode & S_IWOTH)
                return false;
        if ((st->st_mode & S_IWGRP) && st->st_gid != 0)
                return false;
        return st->st_uid == 0 || st->st_uid == geteuid();
}

int check_fd_trusted(int fd)
{
        struct stat st;
        if (fstat(fd, &st) < 0)
                return -errno;
        int r = check_regular(&st);
        if (r < 0)
                return r;
        return stat_trusted(&st) ? 0 : -EPERM;
}

const char *fileio_strerror(int r)
{
        return r == -ENOTREG ? "not a regular file" : strerror(-r);
}

int check_dir_trusted(int dfd, char **ret_culprit)
{
        _cleanup_close_ int fd = openat(dfd, ".", O_PATH | O_DIRECTORY | O_CLOEXEC);
        if (fd < 0)
                return -errno;
        for (bool first = true;; first = false) {
                struct stat st, up;
                if (fstat(fd, &st) < 0)
                        return -errno;
                /* Above the directory itself a sticky one (/tmp) is fine: others may not
                 * rename or remove what they do not own there. */
                bool sticky_ok = !first && (st.st_mode & S_ISVTX);
                if (!stat_trusted(&st) &&
                    !(sticky_ok && (st.st_uid == 0 || st.st_uid == geteuid()))) {
                        if (ret_culprit && !first) {
                                char link[64];
                                snprintf(link, sizeof(link), "/proc/self/fd/%d", fd);
                                char *path = realpath(link, NULL);
                                *ret_culprit = path;
                        }
                        return -EPERM;
                }
                int pfd = openat(fd, "..", O_PATH | O_DIRECTORY | O_CLOEXEC);
                if (pfd < 0)
                        return -errno;
                if (fstat(pfd, &up) < 0) {
                        int r = -errno;
                        close(pfd);
                        return r;
                }
                close(fd);
                fd = pfd;
                if (up.st_dev == st.st_dev && up.st_ino == st.st_ino)
                        return 0; /* "/" is its own parent */
        }
}

static int read_fd(int fd, size_t max, char **ret, size_t *ret_len)
{
        struct buf b = {0};
        char chunk[65536];
        for (;;) {
                ssize_t n = read(fd, chunk, sizeof(chunk));
                if (n < 0) {
                        if (errno == EINTR)
                                continue;
                        int r = -errno;
                        buf_done(&b);
                        return r;
                }
                if (n == 0)
                        break;
                if (b.len + (size_t)n > max) {
                        buf_done(&b);
                        return -EFBIG;
                }
                if (buf_append(&b, chunk, (size_t)n) < 0) {
                        buf_done(&b);
                        return -ENOMEM;
                }
        }
        if (ret_len)
                *ret_len = b.len;
        *ret = buf_steal(&b);
        return *ret ? 0 : -ENOMEM;
}

/* O_NONBLOCK: opening a FIFO must not wait for a writer; it is refused right after. */
#define OPEN_READ_FLAGS (O_RDONLY | O_CLOEXEC | O_NOCTTY | O_NONBLOCK)

int read_file_trusted(const char *path, size_t max, char **ret, size_t *ret_len)
{
        _cleanup_close_ int fd = open(path, OPEN_READ_FLAGS);
        if (fd < 0)
                return -errno;
        int r = check_fd_trusted(fd);
        if (r < 0)
                return r;
        return read_fd(fd, max, ret, ret_len);
}

int read_file_trusted_at(int dirfd, const char *name, size_t max, char **ret, size_t *ret_len)
{
        _cleanup_close_ int fd = openat(dirfd, name, OPEN_READ_FLAGS | O_NOFOLLOW);
        if (fd < 0)
                return -errno;
        /* checked and read through the same descriptor: nothing can be swapped in between */
        int r = check_fd_trusted(fd);
        if (r < 0)
                return r;
        return read_fd(fd, max, ret, ret_len);
}

static int open_regular_flags(int dirfd, const char *name, int flags)
{
        int fd = openat(dirfd, name, OPEN_READ_FLAGS | flags);
        if (fd < 0)
                return -errno;
        struct stat st;
        int r = fstat(fd, &st) < 0 ? -errno : check_regular(&st);
        if (r < 0) {
                close(fd);
                return r;
        }
        return fd;
}

int open_regular_at(int dirfd, const char *name)
{
        return open_regular_flags(dirfd, name, O_NOFOLLOW);
}

FILE *fopen_regular(const char *path)
{
        int fd = open_regular_flags(AT_FDCWD, path, 0);
        FILE *f = fd >= 0 ? fdopen(fd, "re") : NULL;
        if (!f && fd >= 0)
                close(fd);
        if (fd < 0)
                errno = -fd;
        return f;
}

int read_file_at(int dirfd, const char *name, size_t max, char **ret, size_t *ret_len)
{
        _cleanup_close_ int fd = open_regular_at(dirfd, name);
        if (fd < 0)
                return fd;
        return read_fd(fd, max, ret, ret_len);
}

int chmod_regular_at(int dirfd, const char *name, mode_t mode, bool chown_root)
{
        /* Never by name: a symlink (or a file swapped for one since it was compared) would
         * carry the change to a file outside the tree. */
        _cleanup_close_ int fd = open_regular_at(dirfd, name);
        if (fd < 0)
                return fd;
        return stage_finish(fd, mode, chown_root);
}

int dir_chmod_at(int dirfd, const char *name, mode_t mode)
{
        /* The umask must not decide who can enter /etc or /usr/local/bin. */
        _cleanup_close_ int fd =
            openat(dirfd, name, O_RDONLY | O_DIRECTORY | O_NOFOLLOW | O_CLOEXEC);
        if (fd < 0)
                return -errno;
        return fchmod(fd, mode) < 0 ? -errno : 0;
}

int target_open(const char *root, struct target *ret)
{
        const char *r = root && *root ? root : "/";
        int fd = open(r, O_PATH | O_DIRECTORY | O_CLOEXEC);
        if (fd < 0)
                return -errno;
        *ret = (struct target){.root_fd = fd, .root = strdup(r), .lock_fd = -1};
        if (!ret->root) {
                close(fd);
                return -ENOMEM;
        }
        return 0;
}

/* /proc/locks names the PID behind a lock by device and inode: "1: FLOCK ADVISORY WRITE
 * 1234 08:01:5678 0 EOF". */
static pid_t lock_holder(const struct stat *st)
{
        _cleanup_fclose_ FILE *f = fopen("/proc/locks", "re");
        char line[256];
        while (f && fgets(line, sizeof(line), f)) {
                unsigned maj, min;
                unsigned long long ino;
                int pid;
                char kind[16];
                if (sscanf(line, "%*s %15s %*s %*s %d %x:%x:%llu", kind, &pid, &maj, &min, &ino) !=
                    5)
                        continue;
                if (streq(kind, "FLOCK") && ino == (unsigned long long)st->st_ino &&
                    makedev(maj, min) == st->st_dev)
                        return pid;
        }
        return 0;
}

int target_lock(struct target *t, pid_t *ret_holder)
{
        int fd = openat(t->root_fd, ".", O_RDONLY | O_DIRECTORY | O_CLOEXEC);
        if (fd < 0)
                return -errno;
        if (flock(fd, LOCK_EX | LOCK_NB) < 0) {
                int r = errno == EWOULDBLOCK ? -EBUSY : -errno;
                struct stat st;
                if (ret_holder)
                        *ret_holder = fstat(fd, &st) == 0 ? lock_holder(&st) : 0;
                close(fd);
                return r;
        }
        t->lock_fd = fd; /* held until target_close() or exit */
        return 0;
}

void target_close(struct target *t)
{
        if (t->root_fd >= 0)
                close(t->root_fd);
        t->root_fd = -1;
        if (t->lock_fd > 0)
                close(t->lock_fd);
        t->lock_fd = -1;
        free(t->root);
        t->root = NULL;
        t->created_dirs = strv_free(t->created_dirs);
}

/* openat2 with RESOLVE_IN_ROOT or RESOLVE_BENEATH fails with EAGAIN when a rename anywhere on
 * the machine races with a ".." in the lookup; openat2(2) says to retry. A bound keeps a
 * machine that renames without pause from holding a run forever. */
static int openat2_retry(int dirfd, const char *path, struct open_how *how)
{
        for (int tries = 0;; tries++) {
                long fd = syscall(SYS_openat2, dirfd, path, how, sizeof(*how));
                if (fd >= 0)
                        return (int)fd;
                if (errno != EAGAIN || tries >= 64)
                        return -errno;
        }
}

static int openat2_in_root(int rootfd, const char *path)
{
        struct open_how how = {
            .flags = O_PATH | O_DIRECTORY | O_CLOEXEC,
            .resolve = RESOLVE_IN_ROOT | RESOLVE_NO_MAGICLINKS,
        };
        return openat2_retry(rootfd, path, &how);
}

int target_open_dir(struct target *t, const char *dir, bool create, int *ret_fd)
{
        if (dir[0] != '/')
                return -EINVAL;
        int fd = openat2_in_root(t->root_fd, dir);
        if (fd >= 0 || fd != -ENOENT || !create) {
                if (fd < 0)
                        return fd;
                *ret_fd = fd;
                return 0;
        }
        /* Walk down, creating what is missing; each step is again resolved inside the root. */
        _cleanup_free_ char *p = strdup(dir);
        if (!p)
                return -ENOMEM;
        for (char *s = p + 1;; s++) {
                if (*s != '/' && *s != 0)
                        continue;
                char saved = *s;
                *s = 0;
                int cfd = openat2_in_root(t->root_fd, p);
                if (cfd == -ENOENT) {
                        char *slash = strrchr(p, '/');
                        _cleanup_free_ char *parent =
                            slash == p ? strdup("/") : strndup(p, (size_t)(slash - p));
                        if (!parent)
                                return -ENOMEM;
                        _cleanup_close_ int pfd = openat2_in_root(t->root_fd, parent);
                        if (pfd < 0)
                                return pfd;
                        /* Only what this run made is recorded, so undo never removes a
                         * directory someone else created meanwhile. */
                        if (mkdirat(pfd, slash + 1, 0755) == 0) {
                                int r = strv_extend(&t->created_dirs, p);
                                if (r >= 0)
                                        r = dir_chmod_at(pfd, slash + 1, 0755);
                                if (r < 0)
                                        return r;
                        } else if (errno != EEXIST)
                                return -errno;

                        cfd = openat2_in_root(t->root_fd, p);
                }
                if (cfd < 0)
                        return cfd;
                if (saved == 0) {
                        *ret_fd = cfd;
                        return 0;
                }
                close(cfd);
                *s = saved;
        }
}

int target_open_parent(struct target *t, const char *path, bool create, int *ret_dirfd,
                       const char **ret_name)
{
        const char *slash = strrchr(path, '/');
        if (path[0] != '/' || !slash || !slash[1])
                return -EINVAL;
        _cleanup_free_ char *dir =
            slash == path ? strdup("/") : strndup(path, (size_t)(slash - path));
        if (!dir)
                return -ENOMEM;
        int r = target_open_dir(t, dir, create, ret_dirfd);
        if (r < 0)
                return r;
        *ret_name = slash + 1;
        return 0;
}

char *target_display(const struct target *t, const char *path)
{
        if (!t->root || streq(t->root, "/"))
                return strdup(path);
        return path_join(t->root, path);
}

void target_undo_dirs(struct target *t)
{
        size_t n = strv_length(t->created_dirs);
        while (n > 0) {
                n--;
                const char *d = t->created_dirs[n];
                const char *slash = strrchr(d, '/');
                _cleanup_free_ char *parent =
                    slash == d ? strdup("/") : strndup(d, (size_t)(slash - d));
                if (!parent)
                        continue;
                _cleanup_close_ int pfd = openat2_in_root(t->root_fd, parent);
                if (pfd >= 0)
                        (void)unlinkat(pfd, slash + 1, AT_REMOVEDIR);
        }
        t->created_dirs = strv_free(t->created_dirs);
}

int target_opendir(struct target *t, const char *dir, int *ret_fd, DIR **ret)
{
        _cleanup_close_ int dfd = -1;
        int r = target_open_dir(t, dir, false, &dfd);
        if (r < 0)
                return r;
        int rfd = openat(dfd, ".", O_RDONLY | O_DIRECTORY | O_CLOEXEC);
        DIR *d = rfd >= 0 ? fdopendir(rfd) : NULL;
        if (!d) {
                r = -errno;
                if (rfd >= 0)
                        close(rfd);
                return r;
        }
        *ret_fd = dfd;
        dfd = -1;
        *ret = d;
        return 0;
}

/* Removes staging files of NAME (any name when NULL) from the directory listed by d and
 * reached through dfd. With own_only, only those this user made and no one else can have
 * touched: regular, ours, 0600, one link; in a shared directory a name proves nothing. */
static void sweep_staging(int dfd, DIR *d, const char *name, bool own_only)
{
        size_t nl = name ? strlen(name) : 0;
        for (struct dirent *de; (de = readdir(d));) {
                const char *e = de->d_name;
                const char *tag = strstr(e, ".ks-");
                if (e[0] != '.' || !tag)
                        continue;
                /* ".NAME.ks-" + 12 hex digits, as tmpname_for() makes them */
                if (name && ((size_t)(tag - e - 1) != nl || strncmp(e + 1, name, nl) != 0))
                        continue;
                const char *x = tag + 4;
                if (strlen(x) != 12 || strspn(x, "0123456789abcdef") != 12)
                        continue;
                struct stat st;
                if (own_only &&
                    (fstatat(dfd, e, &st, AT_SYMLINK_NOFOLLOW) < 0 || !S_ISREG(st.st_mode) ||
                     st.st_uid != geteuid() || (st.st_mode & 07777) != 0600 || st.st_nlink != 1))
                        continue;
                (void)unlinkat(dfd, e, 0);
        }
}

void target_sweep_staging(struct target *t, const char *dir, const char *name)
{
        _cleanup_close_ int dfd = -1;
        DIR *d;
        if (target_opendir(t, dir, &dfd, &d) < 0)
                return;
        sweep_staging(dfd, d, name, false);
        closedir(d);
}

void stage_sweep_own(int dirfd, const char *name)
{
        int fd = openat(dirfd, ".", O_RDONLY | O_DIRECTORY | O_CLOEXEC);
        DIR *d = fd >= 0 ? fdopendir(fd) : NULL;
        if (!d) {
                if (fd >= 0)
                        close(fd);
                return;
        }
        sweep_staging(dirfd, d, name, true);
        closedir(d);
}

static int rm_entry(const char *path, const struct stat *st, int flag, struct FTW *ftw)
{
        (void)st;
        (void)flag;
        (void)ftw;
        return remove(path) < 0 ? -1 : 0;
}

void rm_rf(const char *path)
{
        (void)nftw(path, rm_entry, 16, FTW_DEPTH | FTW_PHYS);
}

int write_all(int fd, const void *data, size_t len)
{
        const char *p = data;
        while (len > 0) {
                ssize_t n = write(fd, p, len);
                if (n < 0) {
                        if (errno == EINTR)
                                continue;
                        return -errno;
                }
                p += n;
                len -= (size_t)n;
        }
        return 0;
}

int copy_fd(int in_fd, int out_fd, uint64_t size)
{
        loff_t off = 0;
        while ((uint64_t)off < size) {
                ssize_t n =
                    copy_file_range(in_fd, &off, out_fd, NULL, (size_t)(size - (uint64_t)off), 0);
                if (n > 0)
                        continue;
                if (n == 0)
                        return -EIO; /* shorter than it said */
                if (errno == EINTR)
                        continue;
                if (errno != EXDEV && errno != EOPNOTSUPP && errno != ENOSYS && errno != EINVAL)
                        return -errno;
                break; /* fall back to reading and writing, from where it stopped */
        }
        char buf[1 << 16];
        while ((uint64_t)off < size) {
                size_t want = size - (uint64_t)off < sizeof(buf) ? (size_t)(size - (uint64_t)off)
                                                                 : sizeof(buf);
                ssize_t n = pread(in_fd, buf, want, off);
                if (n < 0 && errno == EINTR)
                        continue;
                if (n <= 0)
                        return n < 0 ? -errno : -EIO;
                int r = write_all(out_fd, buf, (size_t)n);
                if (r < 0)
                        return r;
                off += n;
        }
        return 0;
}

int write_behind(int fd, const void *data, size_t len, uint64_t *pos, uint64_t *synced)
{
        int r = write_all(fd, data, len);
        if (r < 0)
                return r;
        *pos += len;
        if (*pos - *synced >= WRITE_BEHIND_STEP) {
                /* only a hint: a file system without it still gets its fsync later */
                (void)sync_file_range(fd, (off64_t)*synced, (off64_t)(*pos - *synced),
                                      SYNC_FILE_RANGE_WRITE);
                *synced = *pos;
        }
        return 0;
}

/* Staging files are hidden (leading dot) and carry ".ks-" so a later run can recognise
 * leftovers of an interrupted one. */
static int tmpname_for(const char *name, char **ret)
{
        unsigned char rnd[6];
        if (getrandom(rnd, sizeof(rnd), 0) != (ssize_t)sizeof(rnd))
                return -errno;
        return asprintf_safe(ret, ".%s.ks-%02x%02x%02x%02x%02x%02x", name, rnd[0], rnd[1], rnd[2],
                             rnd[3], rnd[4], rnd[5]);
}

int stage_open(int dirfd, const char *name, char **ret_tmpname)
{
        for (int attempt = 0; attempt < 16; attempt++) {
                _cleanup_free_ char *tmp = NULL;
                int r = tmpname_for(name, &tmp);
                if (r < 0)
                        return r;
                /* Created 0600 so nothing is readable before mode and owner are final. */
                int fd =
                    openat(dirfd, tmp, O_RDWR | O_CREAT | O_EXCL | O_CLOEXEC | O_NOFOLLOW, 0600);
                if (fd < 0) {
                        if (errno == EEXIST)
                                continue;
                        return -errno;
                }
                *ret_tmpname = TAKE_PTR(tmp);
                return fd;
        }
        return -EEXIST;
}

int stage_finish(int fd, mode_t mode, bool chown_root)
{
        if (chown_root && geteuid() == 0 && fchown(fd, 0, 0) < 0)
                return -errno;
        if (fchmod(fd, mode) < 0)
                return -errno;
        if (fsync(fd) < 0)
                return -errno;
        return 0;
}

int stage_commit(int dirfd, const char *tmpname, const char *name)
{
        if (renameat(dirfd, tmpname, dirfd, name) < 0)
                return -errno;
        /* The rename is durable only once the directory itself is synced. O_PATH fds cannot
         * be fsynced, so reopen the directory for reading. */
        _cleanup_close_ int d = openat(dirfd, ".", O_RDONLY | O_DIRECTORY | O_CLOEXEC);
        if (d < 0)
                return -errno;
        if (fsync(d) < 0)
                return -errno;
        return 0;
}

void stage_abort(int dirfd, const char *tmpname)
{
        if (tmpname)
                (void)unlinkat(dirfd, tmpname, 0);
}

int atomic_write_at(int dirfd, const char *name, const void *data, size_t len, mode_t mode,
                    bool chown_root)
{
        _cleanup_free_ char *tmp = NULL;
        _cleanup_close_ int fd = stage_open(dirfd, name, &tmp);
        if (fd < 0)
                return fd;
        int r = write_all(fd, data, len);
        if (r >= 0)
                r = stage_finish(fd, mode, chown_root);
        if (r >= 0)
                r = stage_commit(dirfd, tmp, name);
        if (r < 0)
                stage_abort(dirfd, tmp);
        return r;
}

int atomic_symlink_at(int dirfd, const char *name, const char *target)
{
        for (int attempt = 0; attempt < 16; attempt++) {
                _cleanup_free_ char *tmp = NULL;
                int r = tmpname_for(name, &tmp);
                if (r < 0)
                        return r;
                if (symlinkat(target, dirfd, tmp) < 0) {
                        if (errno == EEXIST)
                                continue;
                        return -errno;
                }
                r = stage_commit(dirfd, tmp, name);
                if (r < 0)
                        stage_abort(dirfd, tmp);
                return r;
        }
        return -EEXIST;
}

int open_beneath(int dirfd, const char *path, int flags, mode_t mode)
{
        struct open_how how = {
            .flags = (uint64_t)(flags | O_CLOEXEC | O_NOFOLLOW),
            .mode = flags & (O_CREAT | O_TMPFILE) ? mode : 0,
            .resolve = RESOLVE_BENEATH | RESOLVE_NO_SYMLINKS | RESOLVE_NO_MAGICLINKS,
        };
        return openat2_retry(dirfd, path, &how);
}

int mkdir_beneath(int dirfd, const char *path, mode_t mode, int *ret_fd)
{
        _cleanup_free_ char *p = strdup(path);
        if (!p)
                return -ENOMEM;
        _cleanup_close_ int cur = open_beneath(dirfd, ".", O_PATH | O_DIRECTORY, 0);
        if (cur < 0)
                return cur;
        char *save = NULL;
        for (char *c = strtok_r(p, "/", &save); c; c = strtok_r(NULL, "/", &save)) {
                if (streq(c, "."))
                        continue;
                /* one component at a time: mkdirat never follows its last component, and the
                 * open below refuses a symlink raced in between */
                if (mkdirat(cur, c, mode) < 0 && errno != EEXIST)
                        return -errno;
                int next = open_beneath(cur, c, O_PATH | O_DIRECTORY, 0);
                if (next < 0)
                        return next;
                close(cur);
                cur = next;
        }
        *ret_fd = TAKE_FD(cur);
        return 0;
}
