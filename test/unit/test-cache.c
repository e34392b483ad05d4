/* Unit tests for cache.h on a temp dir: the <alg>/<hex> layout, put (link or copy), take
 * (verified, a damaged entry dropped), list, what prune keeps and why, remove, fetch's scratch
 * directory and the sweep of what interrupted runs left. */
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <sys/stat.h>
#include <unistd.h>

#include "cache.h"
#include "fileio.h"
#include "tap.h"
#include "tree.h"
#include "util.h"

static char root[] = "/tmp/ks-test-cache-XXXXXX";
static char hex[DIGEST_HEX_MAX]; /* of "hello\n" */

static const char *entry(const char *h)
{
        static char p[512];
        snprintf(p, sizeof(p), "%s/cache/sha256/%s", root, h);
        return p;
}

static char *fd_text(int fd)
{
        char *s = NULL;
        struct stat st;
        if (fstat(fd, &st) < 0 || lseek(fd, 0, SEEK_SET) < 0)
                return NULL;
        s = calloc(1, (size_t)st.st_size + 1);
        if (s && read(fd, s, (size_t)st.st_size) != st.st_size) {
                free(s);
                return NULL;
        }
        return s;
}

static nlink_t links_of(const char *path)
{
        struct stat st;
        return lstat(path, &st) < 0 ? 0 : st.st_nlink;
}

static size_t list_n(struct target *t)
{
        struct cache_entry *v = NULL;
        size_t n = 0;
        if (cache_list(t, "/cache", &v, &n) < 0)
                return (size_t)-1;
        free(v);
        return n;
}

/* A verified file in dir as a staged download would be: "hello\n", open read-write. */
static int staged(const char *dir, int *ret_dirfd)
{
        char f[512];
        snprintf(f, sizeof(f), "%s/src", dir);
        if (write_file(f, "hello\n", 0644) < 0)
                return -1;
        *ret_dirfd = open(dir, O_PATH | O_DIRECTORY | O_CLOEXEC);
        return open(f, O_RDWR | O_CLOEXEC);
}

static void test_layout(void)
{
        struct cache_entry e = {.alg = DIGEST_SHA512};
        strcpy(e.hex, "ab");
        _cleanup_free_ char *p = cache_entry_path("/var/cache/kubestrap", &e);
        is_str(p, "/var/cache/kubestrap/sha512/ab", "an entry is <cache-dir>/<alg>/<hex>");
}

static void test_put_take(struct target *t)
{
        int out = -1, dfd = -1, fd;
        is_int(list_n(t), 0, "a missing cache lists as empty");
        out = open(in_root("/out"), O_RDWR | O_CREAT | O_TRUNC | O_CLOEXEC, 0644);
        is_int(cache_take(t, "/cache", DIGEST_SHA256, hex, out), -ENOENT,
               "take from a missing cache: -ENOENT");

        ok(mkdir(in_root("/stage"), 0755) == 0, "staging dir");
        fd = staged(in_root("/stage"), &dfd);
        ok(fd >= 0 && dfd >= 0, "a staged download");
        is_int(cache_put(t, "/cache", DIGEST_SHA256, hex, dfd, "src", fd), 0, "put");
        ok(exists(entry(hex)), "the entry is <cache>/sha256/<hex>");
        is_int(links_of(entry(hex)), 2, "a hard link to the staged file, not a copy");

        struct cache_entry *v = NULL;
        size_t n = 0;
        is_int(cache_list(t, "/cache", &v, &n), 0, "list");
        ok(n == 1 && v[0].alg == DIGEST_SHA256 && streq(v[0].hex, hex) && v[0].size == 6 &&
               v[0].nlink == 2,
           "lists the entry with its size and link count");
        free(v);

        /* Names that are not a digest of their directory's algorithm are not entries. */
        _cleanup_free_ char *upper = strdup(hex);
        for (char *c = upper; c && *c; c++)
                if (*c >= 'a' && *c <= 'f')
                        *c = (char)(*c - 'a' + 'A');
        ok(write_file(entry("not-a-digest"), "x", 0644) == 0 &&
               write_file(entry(upper), "x", 0644) == 0 &&
               mkdir(entry("0000000000000000000000000000000000000000000000000000000000000000"),
                     0755) == 0 &&
               write_file(in_root("/cache/sha512/ab"), "x", 0644) == -ENOENT,
           "junk next to the entry");
        is_int(list_n(t), 1, "junk, upper-case names and directories are not listed");

        int in = -1;
        is_int(cache_open_entry(t, "/cache", DIGEST_SHA256, hex, &in), 0, "open the entry");
        _cleanup_free_ char *got = in >= 0 ? fd_text(in) : NULL;
        is_str(got, "hello\n", "it reads as what was put");
        if (in >= 0)
                close(in);
        is_int(cache_open_entry(t, "/cache", DIGEST_SHA512, hex, &in), -ENOENT,
               "no entry under another algorithm");

        is_int(cache_take(t, "/cache", DIGEST_SHA256, hex, out), 0, "take");
        _cleanup_free_ char *taken = fd_text(out);
        is_str(taken, "hello\n", "take copies the entry out");

        /* Damaged (the installed binary edited in place damages its linked entry too). */
        ok(ftruncate(out, 0) == 0 && lseek(out, 0, SEEK_SET) == 0, "output emptied");
        is_int(write_file(entry(hex), "evil\n", 0644), 0, "entry damaged in place");
        is_int(cache_take(t, "/cache", DIGEST_SHA256, hex, out), -EBADMSG,
               "a damaged entry: -EBADMSG");
        struct stat st;
        ok(fstat(out, &st) == 0 && st.st_size == 0, "nothing of it stays in the output");
        ok(!exists(entry(hex)), "the damaged entry is removed");

        /* Put again over a stale entry. */
        ok(ftruncate(fd, 0) == 0 && lseek(fd, 0, SEEK_SET) == 0 && write_all(fd, "hello\n", 6) == 0,
           "staged file restored");
        is_int(write_file(entry(hex), "stale\n", 0644), 0, "a stale entry");
        is_int(cache_put(t, "/cache", DIGEST_SHA256, hex, dfd, "src", fd), 0,
               "put over a stale entry");
        is_int(links_of(entry(hex)), 2, "the stale entry is replaced by the link");
        close(fd);
        close(dfd);

        /* Across file systems (another mount): a copy. */
        char shm[] = "/dev/shm/ks-test-cache-XXXXXX";
        struct stat a, b;
        if (mkdtemp(shm) && stat(shm, &a) == 0 && stat(root, &b) == 0 && a.st_dev != b.st_dev) {
                fd = staged(shm, &dfd);
                ok(unlink(entry(hex)) == 0, "entry removed before the copy");
                is_int(cache_put(t, "/cache", DIGEST_SHA256, hex, dfd, "src", fd), 0,
                       "put across file systems");
                is_int(links_of(entry(hex)), 1, "is a copy");
                ok(stat(entry(hex), &st) == 0 && (st.st_mode & 07777) == 0644 && st.st_size == 6,
                   "0644, every byte");
                close(fd);
                close(dfd);
        } else
                ok(1, "put across file systems # SKIP no second file system");
        rm_rf(shm);
        close(out);
}

static void test_keep_reason(void)
{
        struct cache_entry e = {.alg = DIGEST_SHA256, .size = 6, .nlink = 1};
        memcpy(e.hex, hex, sizeof(hex));
        struct pin pins[_BINARY_MAX] = {{0}};
        struct state st = {0};
        struct state_entry se[2] = {
            {.kind = STATE_KIND_FILE, .path = (char *)"/etc/x", .alg = DIGEST_SHA256},
            {.kind = STATE_KIND_DOWNLOAD,
             .path = (char *)"/usr/local/bin/kubectl",
             .alg = DIGEST_SHA256},
        };
        memcpy(se[0].hex, hex, sizeof(hex));
        memcpy(se[1].hex, hex, sizeof(hex));
        const char *path = "x";

        ok(cache_keep_reason(&e, NULL, pins, &path) == NULL && path == NULL,
           "nothing needs it: pruned");
        st.entries = se;
        st.n = 1;
        ok(cache_keep_reason(&e, &st, pins, &path) == NULL,
           "a rendered file with the same digest does not keep it");
        st.n = 2;
        is_str(cache_keep_reason(&e, &st, pins, &path), "installed",
               "a binary the state names keeps it");
        is_str(path, "/usr/local/bin/kubectl", "for that binary's path");
        se[1].alg = DIGEST_SHA512;
        ok(cache_keep_reason(&e, &st, pins, &path) == NULL,
           "the same hex under another algorithm does not");
        e.nlink = 2;
        is_str(cache_keep_reason(&e, &st, pins, &path), "linked", "a hard link elsewhere keeps it");
        ok(path == NULL, "with no path");
        e.nlink = 1;
        pins[BINARY_SCHEDULER] = (struct pin){.set = true, .alg = DIGEST_SHA256};
        memcpy(pins[BINARY_SCHEDULER].hex, hex, sizeof(hex));
        is_str(cache_keep_reason(&e, &st, pins, &path), "pinned", "a pin keeps it");
        is_str(path, binary_names[BINARY_SCHEDULER], "naming the pinned binary");
        pins[BINARY_SCHEDULER].set = false;
        ok(cache_keep_reason(&e, &st, pins, &path) == NULL, "an unset pin does not");
}

static void test_remove(struct target *t)
{
        struct cache_entry e = {.alg = DIGEST_SHA256};
        memcpy(e.hex, hex, sizeof(hex));
        is_int(cache_remove(t, "/cache", &e), 0, "remove");
        ok(!exists(entry(hex)), "the entry is gone");
        is_int(cache_remove(t, "/cache", &e), -ENOENT, "removing it again: -ENOENT");
        is_int(list_n(t), 0, "the cache lists as empty");
}

static void test_scratch_sweep(struct target *t)
{
        struct cache_scratch sc;
        is_int(cache_scratch_open(t, "/cache", &sc), 0, "scratch dir made");
        ok(startswith(sc.name, CACHE_SCRATCH_PREFIX) &&
               strlen(sc.name) == strlen(CACHE_SCRATCH_PREFIX) + 6 &&
               strspn(sc.name + strlen(CACHE_SCRATCH_PREFIX), CACHE_SCRATCH_CHARS) == 6,
           "named .fetch-XXXXXX");
        char sd[512];
        snprintf(sd, sizeof(sd), "%s/cache/%s", root, sc.name);
        struct stat st;
        ok(stat(sd, &st) == 0 && S_ISDIR(st.st_mode) && (st.st_mode & 07777) == 0700,
           "a 0700 directory in the cache");
        cache_scratch_close(&sc);
        ok(!exists(sd), "closed: removed");

        /* An interrupted fetch: its scratch dir with a staging file in it, and a staging file
         * of an interrupted apply's cache_put. */
        is_int(cache_scratch_open(t, "/cache", &sc), 0, "another scratch dir");
        snprintf(sd, sizeof(sd), "%s/cache/%s", root, sc.name);
        _cleanup_free_ char *tmp1 = NULL, *tmp2 = NULL;
        int dfd = openat(sc.fd, ".", O_PATH | O_DIRECTORY | O_CLOEXEC);
        int f1 = dfd >= 0 ? stage_open(dfd, "kubectl", &tmp1) : -1;
        int alg_fd = open(in_root("/cache/sha256"), O_PATH | O_DIRECTORY | O_CLOEXEC);
        int f2 = alg_fd >= 0 ? stage_open(alg_fd, hex, &tmp2) : -1;
        ok(f1 >= 0 && f2 >= 0, "staging files left behind");
        close(f1);
        close(f2);
        close(dfd);
        close(sc.fd);
        close(sc.cache_fd); /* interrupted: never closed through the cache */
        /* and a directory that only looks like one, with a file of someone else's in it */
        char other[512];
        snprintf(other, sizeof(other), "%s/cache/" CACHE_SCRATCH_PREFIX "zzzzzz", root);
        ok(mkdir(other, 0700) == 0 &&
               write_file(in_root("/cache/.fetch-zzzzzz/keep"), "x", 0644) == 0,
           "a scratch-named dir with a foreign file");
        ok(mkdir(in_root("/cache/.fetch-toolong"), 0700) == 0, "a dir with a longer name");

        cache_sweep(t, "/cache");
        ok(!exists(sd), "sweep removes the interrupted scratch dir");
        char leftover[600];
        snprintf(leftover, sizeof(leftover), "%s/cache/sha256/%s", root, tmp2 ? tmp2 : "?");
        ok(!exists(leftover), "and the staging file in <alg>/");
        ok(exists(in_root("/cache/.fetch-zzzzzz/keep")), "a foreign file is left alone");
        ok(exists(in_root("/cache/.fetch-toolong")), "and so is a name that is not ours");
        is_int(list_n(t), 0, "nothing became an entry");
}

int main(void)
{
        struct target t;
        tree_setup(root, &t);
        if (digest_buffer(DIGEST_SHA256, "hello\n", 6, hex) < 0) {
                printf("Bail out! digest_buffer\n");
                return 1;
        }
        test_layout();
        test_put_take(&t);
        test_keep_reason();
        test_remove(&t);
        test_scratch_sweep(&t);
        target_close(&t);
        rm_rf(root);
        ok(!exists(root), "temp dir removed");
        return done_testing();
}
