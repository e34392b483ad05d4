/* Unit tests for the file safety under plan/apply (fileio.h on a temp dir), diff.h, and the
 * plan's comparison of each item with the target (create, update, chmod, unchanged). */
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <ftw.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <sys/stat.h>
#include <unistd.h>

#include "diff.h"
#include "fileio.h"
#include "plan.h"
#include "tap.h"
#include "tree.h"
#include "util.h"

static char root[] = "/tmp/ks-test-plan-XXXXXX";
static char outside[] = "/tmp/ks-test-outside-XXXXXX";

static void skip(const char *what, const char *why)
{
        ok(1, "%s # SKIP %s", what, why);
}

static bool is_dir(const char *path, mode_t *ret_mode)
{
        struct stat st;
        if (lstat(path, &st) < 0 || !S_ISDIR(st.st_mode))
                return false;
        if (ret_mode)
                *ret_mode = st.st_mode & 07777;
        return true;
}

/* Counts staging leftovers (".NAME.ks-XXXXXXXXXXXX") in a directory. */
static int count_staging(const char *dir)
{
        DIR *d = opendir(dir);
        if (!d)
                return -1;
        int n = 0;
        struct dirent *de;
        while ((de = readdir(d)))
                if (de->d_name[0] == '.' && strstr(de->d_name, ".ks-"))
                        n++;
        closedir(d);
        return n;
}

/* Counts the entries of a directory other than . and .. */
static int count_entries(const char *dir)
{
        DIR *d = opendir(dir);
        if (!d)
                return -1;
        int n = 0;
        struct dirent *de;
        while ((de = readdir(d)))
                if (!streq(de->d_name, ".") && !streq(de->d_name, ".."))
                        n++;
        closedir(d);
        return n;
}

static bool same_inode(int fd, const char *path)
{
        struct stat a, b;
        return fstat(fd, &a) == 0 && stat(path, &b) == 0 && a.st_dev == b.st_dev &&
               a.st_ino == b.st_ino;
}

static void test_target_open(void)
{
        struct target t;
        is_int(target_open(root, &t), 0, "target_open on a temp dir");
        ok(t.root_fd >= 0, "root fd open");
        is_str(t.root, root, "root kept as given");
        ok(t.created_dirs == NULL, "no dirs created yet");
        char *d = target_display(&t, "/etc/x");
        is_str(d, in_root("/etc/x"), "target_display prefixes the root");
        free(d);
        target_close(&t);
        ok(t.root_fd == -1 && t.root == NULL, "target_close resets");

        is_int(target_open(NULL, &t), 0, "target_open without root");
        is_str(t.root, "/", "no root means /");
        d = target_display(&t, "/etc/x");
        is_str(d, "/etc/x", "target_display of / is the path itself");
        free(d);
        target_close(&t);

        is_int(target_open(in_root("/missing"), &t), -ENOENT, "target_open of a missing dir fails");
        ok(write_file(in_root("/plainfile"), "x", 0644) == 0, "plain file made");
        is_int(target_open(in_root("/plainfile"), &t), -ENOTDIR, "target_open of a file fails");
        unlink(in_root("/plainfile"));
}

static void test_open_dir(void)
{
        struct target t;
        if (target_open(root, &t) < 0) {
                ok(0, "target_open for open_dir");
                return;
        }
        int fd = -1;
        is_int(target_open_dir(&t, "etc", true, &fd), -EINVAL, "relative dir refused");
        is_int(target_open_dir(&t, "/a/b/c", false, &fd), -ENOENT, "missing dir without create");
        ok(!exists(in_root("/a")), "nothing created without create");

        is_int(target_open_dir(&t, "/a/b/c", true, &fd), 0, "missing dirs created");
        mode_t mode = 0;
        ok(is_dir(in_root("/a/b/c"), &mode), "root/a/b/c is a directory");
        is_int(mode, 0755, "created with mode 0755");
        ok(same_inode(fd, in_root("/a/b/c")), "returned fd is root/a/b/c");
        close(fd);
        is_int(strv_length(t.created_dirs), 3, "three dirs recorded");
        if (strv_length(t.created_dirs) == 3) {
                is_str(t.created_dirs[0], "/a", "recorded /a first");
                is_str(t.created_dirs[1], "/a/b", "recorded /a/b");
                is_str(t.created_dirs[2], "/a/b/c", "recorded /a/b/c last");
        }
        is_int(target_open_dir(&t, "/a/b/c", true, &fd), 0, "existing dir opens with create");
        close(fd);
        is_int(target_open_dir(&t, "/a/b/c/", true, &fd), 0, "trailing slash accepted");
        close(fd);
        is_int(strv_length(t.created_dirs), 3, "existing dirs are not recorded again");

        target_undo_dirs(&t);
        ok(!exists(in_root("/a")), "target_undo_dirs removed all three");
        ok(t.created_dirs == NULL, "target_undo_dirs clears the record");

        /* Undo leaves directories that are no longer empty. */
        is_int(target_open_dir(&t, "/a/b", true, &fd), 0, "dirs created again");
        close(fd);
        ok(write_file(in_root("/a/b/keep"), "x", 0644) == 0, "file put into root/a/b");
        target_undo_dirs(&t);
        ok(exists(in_root("/a/b/keep")), "undo keeps non-empty dirs and their files");
        rm_rf(in_root("/a"));

        /* target_open_parent splits and creates. */
        const char *name = NULL;
        is_int(
            target_open_parent(&t, "/etc/kubernetes/config/kube-scheduler.yaml", true, &fd, &name),
            0, "target_open_parent creates the parent");
        is_str(name, "kube-scheduler.yaml", "target_open_parent returns the basename");
        ok(same_inode(fd, in_root("/etc/kubernetes/config")),
           "target_open_parent fd is the parent");
        close(fd);
        is_int(target_open_parent(&t, "/etc/", true, &fd, &name), -EINVAL,
               "path ending in / refused");
        is_int(target_open_parent(&t, "etc/x", true, &fd, &name), -EINVAL, "relative path refused");
        is_int(target_open_parent(&t, "/top", false, &fd, &name), 0, "file in the root itself");
        ok(same_inode(fd, root), "parent of /top is the root");
        close(fd);
        target_undo_dirs(&t);
        ok(!exists(in_root("/etc")), "undo after target_open_parent");
        target_close(&t);
}

static void test_containment(void)
{
        struct target t;
        if (target_open(root, &t) < 0) {
                ok(0, "target_open for containment");
                return;
        }
        int fd = -1;
        const char *tag = strrchr(root, '-') + 1; /* unique per run */
        char name[64], host_path[96];
        snprintf(name, sizeof(name), "ks-contained-%s", tag);
        snprintf(host_path, sizeof(host_path), "/%s", name);

        /* A symlink to "/" inside the root means the root itself. */
        ok(symlink("/", in_root("/to-slash")) == 0, "symlink root/to-slash -> /");
        char p[128];
        snprintf(p, sizeof(p), "/to-slash/%s", name);
        is_int(target_open_dir(&t, p, true, &fd), 0, "open_dir through a symlink to / succeeds");
        snprintf(p, sizeof(p), "/%s", name);
        ok(is_dir(in_root(p), NULL), "the dir was made inside the root");
        ok(!exists(host_path), "nothing made in the real /");
        if (exists(host_path))
                rmdir(host_path);
        if (fd >= 0)
                ok(same_inode(fd, in_root(p)), "fd is the dir inside the root");
        close(fd);
        target_undo_dirs(&t);
        ok(!exists(in_root(p)), "undo removed it from the root");

        /* ".." cannot climb above the root either. */
        ok(symlink("../../../../..", in_root("/up")) == 0, "symlink root/up -> ../../../../..");
        snprintf(p, sizeof(p), "/up/%s", name);
        fd = -1;
        is_int(target_open_dir(&t, p, true, &fd), 0, "open_dir through a '..' symlink succeeds");
        snprintf(p, sizeof(p), "/%s", name);
        ok(is_dir(in_root(p), NULL), "'..' stops at the root: dir made inside");
        ok(!exists(host_path), "nothing made in the real / via '..'");
        if (exists(host_path))
                rmdir(host_path);
        close(fd);
        target_undo_dirs(&t);
        fd = -1;
        is_int(target_open_dir(&t, "/../../../..", false, &fd), 0, "'/../../..' opens");
        ok(same_inode(fd, root), "'/../../..' is the root itself");
        close(fd);

        /* An absolute symlink to a directory outside: resolved inside the root, never outside. */
        ok(symlink(outside, in_root("/etc")) == 0, "symlink root/etc -> the outside dir");
        fd = -1;
        int r = target_open_dir(&t, "/etc/x", true, &fd);
        char inside_target[512];
        snprintf(inside_target, sizeof(inside_target), "%s%s/x", root, outside);
        ok(r < 0 || same_inode(fd, inside_target),
           "/etc/x through the symlink fails or lands inside the root (r=%d)", r);
        if (fd >= 0)
                close(fd);
        is_int(count_entries(outside), 0, "nothing was created in the outside dir");
        ok(!exists(in_root("/tmp")) || r == 0, "nothing half-made inside the root on failure");
        /* Regression (was a bug in src/fileio.c target_open_dir): mkdirat() failing with EEXIST
         * (here the dangling symlink; in a race, another process's new dir) is still recorded in
         * created_dirs, so target_undo_dirs() may remove a directory this run did not make. */
        ok(!strv_contains(t.created_dirs, "/etc"),
           "the pre-existing symlink /etc is not recorded as created");
        target_undo_dirs(&t);
        ok(exists(in_root("/etc")), "undo leaves the pre-existing symlink");

        /* Absolute symlinks are resolved against the root: /lnk -> /real is root/real. */
        ok(mkdir(in_root("/real"), 0755) == 0, "root/real made");
        ok(symlink("/real", in_root("/lnk")) == 0, "symlink root/lnk -> /real");
        fd = -1;
        is_int(target_open_dir(&t, "/lnk/sub", true, &fd), 0,
               "open_dir through an absolute in-root symlink");
        ok(is_dir(in_root("/real/sub"), NULL), "dir made at root/real/sub");
        close(fd);
        target_undo_dirs(&t);
        ok(!exists(in_root("/real/sub")), "undo removed root/real/sub");

        /* A file where a directory is wanted is an error, not replaced. */
        ok(write_file(in_root("/afile"), "x", 0644) == 0, "root/afile made");
        is_int(target_open_dir(&t, "/afile/sub", true, &fd), -ENOTDIR,
               "file in the way gives -ENOTDIR");
        target_close(&t);
        unlink(in_root("/afile"));
        unlink(in_root("/etc"));
        unlink(in_root("/lnk"));
        unlink(in_root("/up"));
        unlink(in_root("/to-slash"));
        rmdir(in_root("/real"));
        is_int(count_entries(root), 0, "root is empty again");
}

static void test_atomic(void)
{
        struct target t;
        if (target_open(root, &t) < 0) {
                ok(0, "target_open for atomic writes");
                return;
        }
        int dfd = -1;
        is_int(target_open_dir(&t, "/etc/kubernetes", true, &dfd), 0, "dir for atomic writes");
        char dir[512];
        snprintf(dir, sizeof(dir), "%s", in_root("/etc/kubernetes"));
        struct stat st;

        is_int(atomic_write_at(dfd, "a.conf", "hello\n", 6, 0640, false), 0,
               "atomic_write_at new file");
        char *s = slurp(in_root("/etc/kubernetes/a.conf"));
        is_str(s, "hello\n", "content written");
        free(s);
        ok(stat(in_root("/etc/kubernetes/a.conf"), &st) == 0 && (st.st_mode & 07777) == 0640,
           "mode 0640");
        ino_t first = st.st_ino;

        is_int(atomic_write_at(dfd, "a.conf", "bye\n", 4, 0600, true), 0,
               "atomic_write_at replaces");
        s = slurp(in_root("/etc/kubernetes/a.conf"));
        is_str(s, "bye\n", "content replaced");
        free(s);
        ok(stat(in_root("/etc/kubernetes/a.conf"), &st) == 0 && (st.st_mode & 07777) == 0600,
           "mode 0600");
        ok(st.st_ino != first, "replaced by rename: a new inode");
        if (geteuid() == 0)
                ok(st.st_uid == 0 && st.st_gid == 0, "chown_root makes root:root");
        else
                skip("chown_root makes root:root", "not root");
        is_int(atomic_write_at(dfd, "empty", "", 0, 0644, false), 0, "atomic_write_at of no bytes");
        ok(stat(in_root("/etc/kubernetes/empty"), &st) == 0 && st.st_size == 0,
           "empty file written");
        is_int(count_staging(dir), 0, "no '.*.ks-*' temp files left");

        /* A symlink at the final name is replaced, never written through. */
        char victim[512];
        snprintf(victim, sizeof(victim), "%s/victim", outside);
        ok(write_file(victim, "original\n", 0644) == 0, "outside victim file");
        ok(symlink(victim, in_root("/etc/kubernetes/evil")) == 0, "symlink evil -> outside victim");
        is_int(atomic_write_at(dfd, "evil", "pwned\n", 6, 0644, false), 0,
               "atomic_write_at over a symlink");
        s = slurp(victim);
        is_str(s, "original\n", "the symlink's target is untouched");
        free(s);
        ok(lstat(in_root("/etc/kubernetes/evil"), &st) == 0 && S_ISREG(st.st_mode),
           "the symlink was replaced by a regular file");
        unlink(victim);

        /* Staging, then abort: nothing left. */
        int before = count_entries(dir);
        char *tmp = NULL;
        int fd = stage_open(dfd, "b.conf", &tmp);
        ok(fd >= 0, "stage_open");
        ok(tmp && startswith(tmp, ".b.conf.ks-") && strlen(tmp) == strlen(".b.conf.ks-") + 12,
           "staging name is .b.conf.ks-<12 hex> (%s)", tmp ? tmp : "(null)");
        char tpath[1024];
        snprintf(tpath, sizeof(tpath), "%s/%s", dir, tmp ? tmp : "?");
        ok(stat(tpath, &st) == 0 && (st.st_mode & 07777) == 0600,
           "staging file exists with mode 0600");
        ok(!exists(in_root("/etc/kubernetes/b.conf")), "final name not there while staging");
        if (fd >= 0) {
                ok(write_all(fd, "partial", 7) == 0, "wrote into the staging file");
                close(fd);
        }
        stage_abort(dfd, tmp);
        free(tmp);
        tmp = NULL;
        ok(!exists(tpath), "stage_abort removed the staging file");
        ok(!exists(in_root("/etc/kubernetes/b.conf")), "stage_abort leaves no final file");
        is_int(count_entries(dir), before, "stage_abort leaves the dir as before");
        stage_abort(dfd, NULL); /* must be harmless */

        /* Staging, finish, commit. */
        fd = stage_open(dfd, "c.conf", &tmp);
        ok(fd >= 0 && write_all(fd, "c\n", 2) == 0, "staged c.conf");
        is_int(stage_finish(fd, 0644, false), 0, "stage_finish");
        is_int(stage_commit(dfd, tmp, "c.conf"), 0, "stage_commit");
        if (fd >= 0)
                close(fd);
        free(tmp);
        s = slurp(in_root("/etc/kubernetes/c.conf"));
        is_str(s, "c\n", "committed content at the final name");
        free(s);
        is_int(count_staging(dir), 0, "no staging files after commit");

        /* Symlinks replaced atomically. */
        is_int(atomic_symlink_at(dfd, "current", "v1.21.0"), 0, "atomic_symlink_at new");
        char l[64] = "";
        ssize_t n = readlink(in_root("/etc/kubernetes/current"), l, sizeof(l) - 1);
        l[n > 0 ? n : 0] = 0;
        is_str(l, "v1.21.0", "symlink points to v1.21.0");
        is_int(atomic_symlink_at(dfd, "current", "v1.22.0"), 0, "atomic_symlink_at replaces");
        n = readlink(in_root("/etc/kubernetes/current"), l, sizeof(l) - 1);
        l[n > 0 ? n : 0] = 0;
        is_str(l, "v1.22.0", "symlink now points to v1.22.0");
        is_int(atomic_symlink_at(dfd, "a.conf", "elsewhere"), 0,
               "atomic_symlink_at over a regular file");
        ok(lstat(in_root("/etc/kubernetes/a.conf"), &st) == 0 && S_ISLNK(st.st_mode),
           "file replaced by a symlink");
        is_int(count_staging(dir), 0, "no staging files after symlinks");

        close(dfd);
        target_close(&t);
        rm_rf(in_root("/etc"));
}

static void test_trusted(void)
{
        char *s = NULL;
        size_t len = 0;
        char f[512];
        snprintf(f, sizeof(f), "%s", in_root("/trusted"));

        ok(write_file(f, "data\n", 0644) == 0, "0644 file made");
        is_int(read_file_trusted(f, 1024, &s, &len), 0, "0644 file is trusted");
        is_str(s, "data\n", "content read");
        is_int(len, 5, "length read");
        free(s);
        s = NULL;
        is_int(read_file_trusted(f, 4, &s, &len), -EFBIG, "file over max gives -EFBIG");
        ok(s == NULL, "nothing returned over max");

        ok(chmod(f, 0666) == 0, "chmod 0666");
        is_int(read_file_trusted(f, 1024, &s, &len), -EPERM, "world-writable file refused");
        ok(chmod(f, 0602) == 0, "chmod 0602");
        is_int(read_file_trusted(f, 1024, &s, &len), -EPERM, "other-writable (0602) file refused");

        if (geteuid() == 0) {
                ok(chmod(f, 0620) == 0 && chown(f, 0, 1) == 0, "0620 with group daemon (1)");
                is_int(read_file_trusted(f, 1024, &s, &len), -EPERM,
                       "group-writable by a non-root group refused");
                ok(chown(f, 0, 0) == 0, "group back to root");
                is_int(read_file_trusted(f, 1024, &s, &len), 0,
                       "group-writable by root's group accepted");
                free(s);
                s = NULL;
                ok(chmod(f, 0644) == 0 && chown(f, 1, 0) == 0, "0644 owned by uid 1");
                is_int(read_file_trusted(f, 1024, &s, &len), -EPERM,
                       "file owned by another user refused");
        } else {
                skip("0620 with a non-root group refused", "not root");
                skip("0620 with root's group accepted", "not root");
                skip("file owned by another user refused", "not root");
        }
        unlink(f);

        is_int(read_file_trusted(in_root("/missing"), 1024, &s, &len), -ENOENT, "missing file");
        is_int(read_file_trusted(root, 1024, &s, &len), -EISDIR, "directory refused");

        /* read_file_at does not follow a symlink at the name. */
        ok(write_file(in_root("/real"), "r", 0644) == 0 && symlink("real", in_root("/lnk")) == 0,
           "file and symlink to it");
        int dfd = open(root, O_PATH | O_DIRECTORY | O_CLOEXEC);
        is_int(read_file_at(dfd, "real", 16, &s, &len), 0, "read_file_at reads a file");
        is_str(s, "r", "read_file_at content");
        free(s);
        s = NULL;
        is_int(read_file_at(dfd, "lnk", 16, &s, &len), -ELOOP, "read_file_at refuses a symlink");
        close(dfd);
        unlink(in_root("/lnk"));
        unlink(in_root("/real"));
}

static void test_diff(void)
{
        char *d = NULL;
        const char *a = "one\nold\nthree\n", *b = "one\nnew\nthree\n";
        is_int(diff_unified(a, strlen(a), b, strlen(b), "/etc/x.conf", &d), 0,
               "diff of different texts");
        is_str(d,
               "--- a/etc/x.conf\n"
               "+++ b/etc/x.conf\n"
               "@@ -1,3 +1,3 @@\n"
               " one\n"
               "-old\n"
               "+new\n"
               " three\n",
               "unified diff with labels");
        free(d);
        d = NULL;
        is_int(diff_unified(a, strlen(a), a, strlen(a), "/etc/x.conf", &d), 0,
               "diff of equal texts");
        is_str(d, "", "equal texts give an empty diff");
        free(d);
        d = NULL;
        is_int(diff_unified("", 0, "x\n", 2, "/new", &d), 0, "diff against empty");
        is_str(d, "--- a/new\n+++ b/new\n@@ -0,0 +1 @@\n+x\n", "diff of a new file");
        free(d);
        d = NULL;
        is_int(diff_unified("x", 1, "x\n", 2, "/f", &d), 0, "diff of a missing final newline");
        like_str(d, "\\ No newline at end of file", "missing newline noted");
        free(d);
        d = NULL;
        /* diff's output is taken whole, however long (proc_run keeps only 64 KiB by default) */
        struct buf big = {0};
        for (int i = 0; i < 20000; i++)
                buf_printf(&big, "line %d\n", i);
        is_int(diff_unified("", 0, big.data, big.len, "/big", &d), 0, "diff of a long file");
        ok(d && strlen(d) > big.len, "the whole diff, past 64 KiB (%zu bytes)", d ? strlen(d) : 0);
        free(d);
        buf_done(&big);
}

/* An item as plan_build makes them; the plan owns what it points to. */
static struct item *add_item(struct plan *p, enum item_kind kind, const char *path, mode_t mode,
                             const char *content)
{
        struct item *n = realloc(p->items, (p->n_items + 1) * sizeof(*n));
        if (!n)
                abort();
        p->items = n;
        struct item *it = &n[p->n_items++];
        *it = (struct item){.kind = kind, .path = strdup(path), .mode = mode, .what = "test"};
        if (content) {
                it->content = strdup(content);
                it->len = strlen(content);
                it->text = true;
        }
        return it;
}

/* Compares without diffs; the bytes hashed to do it, or -1 on failure. */
static long long compare_hashed(struct plan *p, struct target *t, const struct state *st,
                                bool verify)
{
        _cleanup_free_ char *err = NULL;
        p->bytes_hashed = 0;
        return plan_compare(p, t, st, verify, false, &err) < 0 ? -1 : (long long)p->bytes_hashed;
}

static void test_compare(void)
{
        struct target t;
        if (target_open(root, &t) < 0) {
                ok(0, "target_open for compare");
                return;
        }
        struct plan *p = calloc(1, sizeof(*p));
        char *err = NULL;
        ok(mkdir(in_root("/pc"), 0755) == 0 && mkdir(in_root("/pc/dir"), 0755) == 0,
           "dirs for the compare tests");
        ok(write_file(in_root("/pc/same"), "same\n", 0644) == 0 &&
               write_file(in_root("/pc/mode"), "same\n", 0600) == 0 &&
               write_file(in_root("/pc/changed"), "one\nold\n", 0644) == 0 &&
               write_file(in_root("/pc/secret"), "key-old\n", 0600) == 0 &&
               write_file(in_root("/pc/bin"), "binary\n", 0755) == 0 &&
               write_file(in_root("/pc/badbin"), "binary\n", 0755) == 0 &&
               symlink("/right", in_root("/pc/link")) == 0 &&
               symlink("/wrong", in_root("/pc/badlink")) == 0 &&
               write_file(in_root("/pc/filelink"), "x", 0644) == 0 &&
               mkfifo(in_root("/pc/fifo"), 0644) == 0,
           "files, links and a fifo on the target");

        struct {
                struct item *it;
                enum item_action want;
                const char *what;
        } c[] = {
            {add_item(p, ITEM_DIR, "/pc/dir", 0755, NULL), ACTION_NONE, "an existing dir"},
            {add_item(p, ITEM_DIR, "/pc/newdir", 0755, NULL), ACTION_CREATE, "a missing dir"},
            {add_item(p, ITEM_FILE, "/pc/new", 0644, "new\n"), ACTION_CREATE, "a missing file"},
            {add_item(p, ITEM_FILE, "/pc/none/deeper/f", 0644, "x"), ACTION_CREATE,
             "a file whose parent is missing"},
            {add_item(p, ITEM_FILE, "/pc/same", 0644, "same\n"), ACTION_NONE,
             "same content and mode"},
            {add_item(p, ITEM_FILE, "/pc/mode", 0644, "same\n"), ACTION_CHMOD,
             "same content, another mode"},
            {add_item(p, ITEM_FILE, "/pc/changed", 0644, "one\nnew\n"), ACTION_UPDATE,
             "other content"},
            {add_item(p, ITEM_FILE, "/pc/secret", 0600, "key-new\n"), ACTION_UPDATE,
             "other secret content"},
            {add_item(p, ITEM_FILE, "/pc/fifo", 0644, "x"), ACTION_UPDATE, "not a regular file"},
            {add_item(p, ITEM_SYMLINK, "/pc/link", 0777, NULL), ACTION_NONE,
             "a link to the right target"},
            {add_item(p, ITEM_SYMLINK, "/pc/badlink", 0777, NULL), ACTION_UPDATE,
             "a link to another target"},
            {add_item(p, ITEM_SYMLINK, "/pc/filelink", 0777, NULL), ACTION_UPDATE,
             "a file where a link belongs"},
            {add_item(p, ITEM_SYMLINK, "/pc/newlink", 0777, NULL), ACTION_CREATE, "a missing link"},
            {add_item(p, ITEM_DOWNLOAD, "/pc/bin", 0755, NULL), ACTION_NONE,
             "a binary with the right digest"},
            {add_item(p, ITEM_DOWNLOAD, "/pc/badbin", 0755, NULL), ACTION_UPDATE,
             "a binary with another digest"},
            {add_item(p, ITEM_DOWNLOAD, "/pc/tarbin", 0755, NULL), ACTION_CREATE,
             "a missing binary"},
        };
        /* items move while the plan grows: take them again by index */
        for (size_t i = 0; i < ELEMENTSOF(c); i++)
                c[i].it = &p->items[i];
        for (size_t i = 0; i < p->n_items; i++) {
                struct item *it = &p->items[i];
                if (it->kind == ITEM_SYMLINK)
                        it->link_target = strdup("/right");
                if (it->kind == ITEM_DOWNLOAD) {
                        it->alg = DIGEST_SHA256;
                        digest_buffer(DIGEST_SHA256, "binary\n", 7, it->hex);
                }
                if (streq(it->path, "/pc/secret")) {
                        it->secret = true;
                        it->text = false;
                }
        }
        p->items[14].hex[0] = p->items[14].hex[0] == '0' ? '1' : '0'; /* /pc/badbin */

        is_int(plan_compare(p, &t, NULL, false, true, &err), 0, "plan_compare");
        for (size_t i = 0; i < ELEMENTSOF(c); i++)
                is_str(item_action_to_string(c[i].it->action), item_action_to_string(c[i].want),
                       "%s: %s", c[i].what, item_action_to_string(c[i].want));
        like_str(p->items[6].diff, "-old\n+new\n", "an update of a text file has its diff");
        ok(!p->items[7].diff, "a secret's update has none");
        is_int(p->bytes_hashed, 14, "both installed binaries hashed");
        is_int(plan_count(p, ACTION_CREATE), 5, "plan_count: creates");
        is_int(plan_count(p, ACTION_UPDATE), 6, "plan_count: updates");
        is_int(plan_count(p, ACTION_CHMOD), 1, "plan_count: chmods");
        is_int(plan_count(p, ACTION_NONE), 4, "plan_count: unchanged");

        /* Without want_diff, no diff. */
        free(p->items[6].diff);
        p->items[6].diff = NULL;
        is_int(plan_compare(p, &t, NULL, false, false, &err), 0, "plan_compare without diffs");
        ok(!p->items[6].diff, "no diff when not asked");

        /* A binary the state knows by its stat fingerprint is not hashed again... */
        struct state *st = calloc(1, sizeof(*st));
        struct stat sb;
        struct state_entry e = {
            .kind = STATE_KIND_DOWNLOAD, .path = (char *)"/pc/bin", .alg = DIGEST_SHA256};
        memcpy(e.hex, p->items[13].hex, sizeof(e.hex));
        ok(lstat(in_root("/pc/bin"), &sb) == 0, "stat the binary");
        state_set_stat(&e, &sb);
        is_int(state_put(st, &e), 0, "the state knows it");
        is_int(compare_hashed(p, &t, st, false), 7, "with it, only the other binary is hashed");
        is_int(p->items[13].action, ACTION_NONE, "and the known binary is unchanged");
        /* ...unless verify asks for it, */
        is_int(compare_hashed(p, &t, st, true), 14, "verify hashes it anyway");
        /* or it was changed since (its ctime moved), even with the same size. */
        ok(write_file(in_root("/pc/bin"), "BINARY\n", 0755) == 0, "binary edited in place");
        is_int(compare_hashed(p, &t, st, false), 14, "an edited binary is hashed");
        is_int(p->items[13].action, ACTION_UPDATE, "and updated");
        /* A digest known only after the tarball is read: updated, decided again later. */
        p->items[13].verify_after = true;
        is_int(plan_compare(p, &t, NULL, false, false, &err), 0, "plan_compare, digest unknown");
        is_int(p->items[13].action, ACTION_UPDATE, "an installed binary of unknown digest");
        state_free(st);
        plan_free(p);

        /* A directory where a file belongs is refused, with the path in the message. */
        p = calloc(1, sizeof(*p));
        add_item(p, ITEM_FILE, "/pc/dir", 0644, "x");
        is_int(plan_compare(p, &t, NULL, false, false, &err), -EISDIR,
               "a directory in a file's place: -EISDIR");
        like_str(err, "/pc/dir: is a directory, refusing to replace it", "naming it");
        free(err);
        plan_free(p);
        target_close(&t);
        rm_rf(in_root("/pc"));
}

/* Renames anywhere on the machine make openat2 with RESOLVE_BENEATH fail with EAGAIN when the
 * path holds ".."; openat2(2) says to retry, and open_beneath does. A thread renames while
 * the main one opens through ".." a bounded number of times: every open must succeed. */
static volatile int renaming = 1;
static char rename_dir[64];

static void *rename_loop(void *arg)
{
        (void)arg;
        char a[96], b[96];
        snprintf(a, sizeof(a), "%s/a", rename_dir);
        snprintf(b, sizeof(b), "%s/b", rename_dir);
        close(open(a, O_CREAT | O_WRONLY | O_CLOEXEC, 0600));
        while (renaming) {
                (void)rename(a, b);
                (void)rename(b, a);
        }
        return NULL;
}

static void test_beneath_under_renames(void)
{
        snprintf(rename_dir, sizeof(rename_dir), "%s/renames", root);
        mkdir(rename_dir, 0755);
        char sub[96];
        snprintf(sub, sizeof(sub), "%s/x", root);
        mkdir(sub, 0755);
        int dfd = open(root, O_PATH | O_DIRECTORY | O_CLOEXEC);
        pthread_t t;
        bool started = pthread_create(&t, NULL, rename_loop, NULL) == 0;
        ok(started, "a thread renames files in a loop");
        int failed = 0, first = 0;
        for (int i = 0; i < 20000; i++) {
                int fd = open_beneath(dfd, "x/../x/../x", O_PATH | O_DIRECTORY, 0);
                if (fd < 0) {
                        failed++;
                        first = first ? first : fd;
                } else
                        close(fd);
        }
        renaming = 0;
        if (started)
                pthread_join(t, NULL);
        close(dfd);
        char a[96], b[96];
        snprintf(a, sizeof(a), "%s/a", rename_dir);
        snprintf(b, sizeof(b), "%s/b", rename_dir);
        unlink(a);
        unlink(b);
        rmdir(rename_dir);
        rmdir(sub);
        is_int(failed, 0, "20000 opens through '..' beneath a directory, none failed (first: %d)",
               first);
}

int main(void)
{
        umask(022);
        tree_root = root;
        if (!mkdtemp(root) || !mkdtemp(outside)) {
                printf("Bail out! mkdtemp: %s\n", strerror(errno));
                return 1;
        }
        test_target_open();
        test_beneath_under_renames();
        test_open_dir();
        test_containment();
        test_atomic();
        test_trusted();
        test_diff();
        test_compare();
        rm_rf(root);
        rm_rf(outside);
        ok(!exists(root) && !exists(outside), "temp dirs removed");
        return done_testing();
}
