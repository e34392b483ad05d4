/* File helpers: trusted reads, atomic writes and staging, and path resolution inside --root. */
#pragma once

#include <dirent.h>
#include <errno.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdio.h>
#include <stdint.h>
#include <sys/stat.h>
#include <sys/types.h>

/* Returned for something that is there but is neither a regular file nor a directory (a FIFO,
 * a socket, a device): no errno says so. fileio_strerror() spells it out. */
#define ENOTREG EMEDIUMTYPE
const char *fileio_strerror(int r);

/* Reads a whole regular file (at most max bytes). -EPERM if writable by group or others or
 * owned by another user (a root tool must not act on input that an unprivileged user could have
 * changed). Opened O_NONBLOCK, so a FIFO is refused instead of waited on. */
int read_file_trusted(const char *path, size_t max, char **ret, size_t *ret_len);
/* The same for name in dirfd, not following a symlink; the checks and the read use one
 * descriptor. */
int read_file_trusted_at(int dirfd, const char *name, size_t max, char **ret, size_t *ret_len);
int read_file_at(int dirfd, const char *name, size_t max, char **ret, size_t *ret_len);
/* Opens name in dirfd for reading, not following a symlink; -EISDIR or -ENOTREG unless it is
 * a regular file. */
int open_regular_at(int dirfd, const char *name);
/* fopen(path, "re") for a regular file (symlinks followed); NULL and errno (ENOTREG for a FIFO,
 * which is not waited on) otherwise. */
FILE *fopen_regular(const char *path);
int check_fd_trusted(int fd);
/* -EPERM unless directory dfd and every directory above it belong to root or to us and nobody
 * else can write to them (above dfd, a sticky directory such as /tmp is fine). When a directory
 * above dfd is at fault, *ret_culprit names it (left NULL for dfd itself). */
int check_dir_trusted(int dfd, char **ret_culprit);
/* Sets the owner (root, when we are root and chown_root) and mode of the regular file name in
 * dirfd through a descriptor, never following a symlink. */
int chmod_regular_at(int dirfd, const char *name, mode_t mode, bool chown_root);
/* Gives the directory name in dirfd exactly mode, whatever the umask made of it. */
int dir_chmod_at(int dirfd, const char *name, mode_t mode);

/* The tree that kubestrap installs into: "/" or the --root directory. Paths inside are
 * resolved with RESOLVE_IN_ROOT so a symlink in the tree cannot lead outside it. */
struct target {
        int root_fd;
        char *root;          /* as given, "/" when none */
        char **created_dirs; /* directories this run created, to remove again on failure */
        int lock_fd;
};
int target_open(const char *root, struct target *ret);
void target_close(struct target *t);
/* Opens directory dir (absolute, inside the target) as O_PATH|O_DIRECTORY; with create,
 * missing components are made 0755 (whatever the umask) and remembered in created_dirs. */
int target_open_dir(struct target *t, const char *dir, bool create, int *ret_fd);
/* Splits an absolute path into its directory fd and basename. */
int target_open_parent(struct target *t, const char *path, bool create, int *ret_dirfd,
                       const char **ret_name);
/* The path as seen from the caller's namespace (root prefix + path), for messages. */
char *target_display(const struct target *t, const char *path);
/* One run at a time per target: an exclusive flock on the target's root directory (nothing is
 * created for it, so a failed run leaves no lock file behind). -EBUSY when another process
 * holds it, with its PID in *ret_holder (0 if it cannot be told). */
int target_lock(struct target *t, pid_t *ret_holder);
/* Removes directories created by this run, newest first, if they are empty. */
void target_undo_dirs(struct target *t);

/* Staging: a temp file next to the final name, invisible to readers of the final path. */
int stage_open(int dirfd, const char *name, char **ret_tmpname);
int stage_finish(int fd, mode_t mode, bool chown_root); /* fchown, fchmod, fsync */
int stage_commit(int dirfd, const char *tmpname, const char *name);
void stage_abort(int dirfd, const char *tmpname);
int atomic_write_at(int dirfd, const char *name, const void *data, size_t len, mode_t mode,
                    bool chown_root);
int atomic_symlink_at(int dirfd, const char *name, const char *target);
int write_all(int fd, const void *data, size_t len);
/* Copies the first size bytes of in_fd to out_fd (at its offset): copy_file_range, or read and
 * write where the kernel will not copy between the two (another file system: EXDEV). */
int copy_fd(int in_fd, int out_fd, uint64_t size);
/* write_all at *pos (the file offset, advanced), and start writeback of what was written since
 * *synced every WRITE_BEHIND_STEP bytes, so that the fsync before the rename finds little left
 * to do instead of the whole file. */
#define WRITE_BEHIND_STEP (8u << 20)
int write_behind(int fd, const void *data, size_t len, uint64_t *pos, uint64_t *synced);
/* Removes a private temporary tree (unpacked bundle, admin credentials), not following links. */
void rm_rf(const char *path);
/* Removes staging files an interrupted run left in dir (inside the target): those of NAME, or
 * with NAME NULL every staging file (for directories that are kubestrap's alone). */
/* A directory under the root, to list (the DIR) and to act on its entries (the fd). */
int target_opendir(struct target *t, const char *dir, int *ret_fd, DIR **ret);
void target_sweep_staging(struct target *t, const char *dir, const char *name);
/* The same in a directory that may be shared (where 'fetch --bundle' writes): only staging
 * files of NAME that this user made (regular, owned, 0600, one link) are removed. */
void stage_sweep_own(int dirfd, const char *name);

/* Inside a private directory (an unpacked bundle): every path is resolved below dirfd and no
 * step may be a symlink (openat2 RESOLVE_BENEATH|RESOLVE_NO_SYMLINKS), so nothing an entry
 * names can lead outside. open_beneath is openat2 with those rules; mkdir_beneath opens the
 * directory path below dirfd as O_PATH, creating missing components with mode. */
int open_beneath(int dirfd, const char *path, int flags, mode_t mode);
int mkdir_beneath(int dirfd, const char *path, mode_t mode, int *ret_fd);
