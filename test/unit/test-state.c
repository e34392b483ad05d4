/* Unit tests for state.h: the kinds and their words, the file format read and written back
 * byte for byte, put/find/retain, the stat fingerprint, and a damaged file. */
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <sys/stat.h>
#include <unistd.h>

#include "fileio.h"
#include "state.h"
#include "tap.h"
#include "tree.h"
#include "util.h"

static char root[] = "/tmp/ks-test-state-XXXXXX";

#define HEX_A "0123456789abcdef0123456789abcdef0123456789abcdef0123456789abcdef"
#define HEX_B "fedcba9876543210fedcba9876543210fedcba9876543210fedcba9876543210"

/* One line of each kind, as apply writes them: the format the file must keep. */
static const char state_text[] =
    "# kubestrap state v1: kind path url digest-url alg hex dev ino size mtime_ns ctime_ns\n"
    "dir\t/etc/kubernetes\t-\t-\tsha256\t-\t0\t0\t0\t0\t0\n"
    "download\t/usr/local/bin/kubectl\thttps://dl.example/v1.31.0/bin/linux/amd64/kubectl\t"
    "https://dl.example/v1.31.0/bin/linux/amd64/kubectl.sha256\tsha256\t" HEX_A
    "\t2049\t131\t4096\t1700000000123456789\t-1700000000000000001\n"
    "file\t/etc/kubernetes/config/kube-scheduler.yaml\t-\t-\tsha256\t" HEX_B "\t0\t0\t0\t0\t0\n"
    "link\t/etc/nginx/sites-enabled/kubernetes.default.svc.cluster.local\t"
    "/etc/nginx/sites-available/kubernetes.default.svc.cluster.local\t-\tsha256\t-\t0\t0\t0\t0\t0\n"
    "digest\ttarball:https://dl.example/v1.31.0/kubernetes-server-linux-amd64.tar.gz\t"
    "https://dl.example/v1.31.0/kubernetes-server-linux-amd64.tar.gz\t"
    "https://dl.example/v1.31.0/kubernetes-server-linux-amd64.tar.gz.sha256\tsha256\t" HEX_A
    "\t0\t0\t0\t0\t0\n";

static ino_t inode_of(const char *path)
{
        struct stat st;
        return stat(path, &st) < 0 ? 0 : st.st_ino;
}

static void test_kinds(void)
{
        static const char *const words[] = {"download", "file",    "link",     "dir",
                                            "digest",   "release", "previous", "previous-release"};
        is_int(_STATE_KIND_MAX, ELEMENTSOF(words), "eight kinds");
        for (int k = 0; k < _STATE_KIND_MAX; k++) {
                is_str(state_kind_to_string(k), words[k], "kind %d is '%s' in the file", k,
                       words[k]);
                is_int(state_kind_from_string(words[k]), k, "'%s' reads back as kind %d", words[k],
                       k);
        }
        is_int(state_kind_from_string("Download"), -EINVAL, "kinds are case-sensitive");
        is_int(state_kind_from_string("-"), -EINVAL, "'-' is no kind");
        ok(state_kind_to_string(_STATE_KIND_MAX) == NULL, "no word past the last kind");
        /* a kept file is a path reset removes; the kept release is only a record */
        ok(state_entry_is_path(&(struct state_entry){.kind = STATE_KIND_PREVIOUS}),
           "a kept file is a path");
        ok(!state_entry_is_path(&(struct state_entry){.kind = STATE_KIND_PREVIOUS_RELEASE}),
           "the kept release is not");
}

static void test_round_trip(struct target *t)
{
        char a_dir[512], a_path[512], b_path[512];
        snprintf(a_dir, sizeof(a_dir), "%s/a", root);
        snprintf(a_path, sizeof(a_path), "%s/a/" STATE_FILE, root);
        snprintf(b_path, sizeof(b_path), "%s/b/" STATE_FILE, root);
        ok(mkdir(a_dir, 0700) == 0, "state dir made");
        is_int(write_file(a_path, state_text, 0600), 0, "state file written");

        struct state *s = NULL;
        is_int(state_load(t, "/a", &s), 0, "state loads");
        if (!s)
                return;
        is_int(s->n, 5, "one entry per line, the header skipped");
        const enum state_kind want[] = {STATE_KIND_DIR, STATE_KIND_DOWNLOAD, STATE_KIND_FILE,
                                        STATE_KIND_LINK, STATE_KIND_DIGEST};
        for (size_t i = 0; i < s->n && i < ELEMENTSOF(want); i++)
                is_int(s->entries[i].kind, want[i], "entry %zu has kind %s", i,
                       state_kind_to_string(want[i]));

        const struct state_entry *e = state_find(s, "/usr/local/bin/kubectl");
        ok(e != NULL, "state_find finds the binary");
        if (e) {
                is_str(e->url, "https://dl.example/v1.31.0/bin/linux/amd64/kubectl", "its URL");
                is_str(e->digest_url, "https://dl.example/v1.31.0/bin/linux/amd64/kubectl.sha256",
                       "its sidecar");
                is_int(e->alg, DIGEST_SHA256, "its algorithm");
                is_str(e->hex, HEX_A, "its digest");
                ok(e->dev == 2049 && e->ino == 131 && e->size == 4096, "dev, ino and size");
                ok(e->mtime_ns == 1700000000123456789LL && e->ctime_ns == -1700000000000000001LL,
                   "mtime and ctime in ns, signed");
        }
        e = state_find(s, "/etc/kubernetes");
        ok(e && e->url && streq(e->url, "-") && !e->hex[0], "'-' fields: no URL, no digest");
        _cleanup_free_ char *key =
            state_tarball_key("https://dl.example/v1.31.0/kubernetes-server-linux-amd64.tar.gz");
        e = state_find(s, key);
        ok(e && e->kind == STATE_KIND_DIGEST && streq(e->hex, HEX_A),
           "the tarball's digest is found under state_tarball_key");
        ok(state_release(s) == NULL, "a state without a release record names no release");
        ok(state_find(s, "/nope") == NULL, "state_find of an unknown path is NULL");
        ok(state_find(NULL, "/nope") == NULL, "state_find on no state is NULL");

        /* Saved elsewhere, the file is what was read, byte for byte. (What was loaded is
         * forgotten first: a state equal to it is not written at all.) */
        free(s->loaded_text);
        s->loaded_text = NULL;
        is_int(state_save(t, "/b", s), 0, "state saves into a new dir");
        _cleanup_free_ char *b_text = slurp(b_path);
        is_str(b_text, state_text, "saved file is byte-identical to the one loaded");
        struct stat st;
        ok(stat(b_path, &st) == 0 && (st.st_mode & 07777) == 0600, "state file is 0600");

        /* Unchanged: not rewritten (a no-op run leaves every mtime alone). */
        ino_t before = inode_of(a_path);
        is_int(state_save(t, "/a", s), 0, "unchanged state saves");
        ok(before && inode_of(a_path) == before, "unchanged state is not rewritten");

        /* A change is written atomically (a new inode) and reads back. */
        struct state_entry n = {.kind = STATE_KIND_FILE, .path = (char *)"/etc/new", .alg = 0};
        memcpy(n.hex, HEX_B, sizeof(HEX_B));
        is_int(state_put(s, &n), 0, "state_put adds an entry");
        is_int(s->n, 6, "six entries");
        is_int(state_save(t, "/a", s), 0, "changed state saves");
        ok(inode_of(a_path) != before, "changed state is replaced by rename");
        _cleanup_free_ char *a_text = slurp(a_path);
        _cleanup_free_ char *want_text = NULL;
        asprintf_safe(&want_text, "%sfile\t/etc/new\t-\t-\tsha256\t" HEX_B "\t0\t0\t0\t0\t0\n",
                      state_text);
        is_str(a_text, want_text, "the new entry is the last line, '-' for empty fields");
        state_free(s);
}

static void test_put_retain(void)
{
        struct state *s = calloc(1, sizeof(*s));
        const char *paths[] = {"/p0", "/p1", "/p2", "/p3"};
        for (size_t i = 0; i < ELEMENTSOF(paths); i++) {
                struct state_entry e = {
                    .kind = STATE_KIND_LINK, .path = (char *)paths[i], .url = (char *)"/old"};
                is_int(state_put(s, &e), 0, "put %s", paths[i]);
        }
        struct state_entry e = {
            .kind = STATE_KIND_DOWNLOAD, .path = (char *)"/p1", .url = (char *)"/new"};
        is_int(state_put(s, &e), 0, "put an existing path again");
        is_int(s->n, 4, "replaced, not added");
        const struct state_entry *f = state_find(s, "/p1");
        ok(f && f->kind == STATE_KIND_DOWNLOAD && streq(f->url, "/new"), "with the new fields");

        bool keep[] = {true, false, true, false};
        state_retain(s, keep);
        is_int(s->n, 2, "state_retain keeps the flagged entries");
        ok(s->n == 2 && streq(s->entries[0].path, "/p0") && streq(s->entries[1].path, "/p2"),
           "in their order");
        ok(state_find(s, "/p1") == NULL && state_find(s, "/p3") == NULL, "the others are gone");
        state_free(s);
        ok(state_free(NULL) == NULL, "state_free(NULL) is NULL");
}

static void test_stat(void)
{
        char f[512];
        snprintf(f, sizeof(f), "%s/fp", root);
        is_int(write_file(f, "x", 0600), 0, "a file to fingerprint");
        struct stat st;
        ok(stat(f, &st) == 0, "stat it");
        struct state_entry e = {0};
        state_set_stat(&e, &st);
        ok(state_stat_matches(&e, &st), "its fingerprint matches itself");
        struct stat other = st;
        other.st_ctim.tv_nsec ^= 1;
        ok(!state_stat_matches(&e, &other), "a moved ctime does not match");
        other = st;
        other.st_size++;
        ok(!state_stat_matches(&e, &other), "another size does not match");
        other = st;
        other.st_ino++;
        ok(!state_stat_matches(&e, &other), "another inode does not match");
}

static void test_damaged(struct target *t)
{
        static const char *const bad[] = {
            /* an unknown kind */
            "# "
            "x\ndir\t/d\t-\t-\tsha256\t-\t0\t0\t0\t0\t0\nsocket\t/"
            "s\t-\t-\tsha256\t-\t0\t0\t0\t0\t0\n",
            /* a field short */
            "dir\t/d\t-\t-\tsha256\t-\t0\t0\t0\t0\t0\ndir\t/e\t-\t-\tsha256\t-\t0\t0\t0\t0\n",
            /* an unknown algorithm */
            "dir\t/d\t-\t-\tmd5\t-\t0\t0\t0\t0\t0\n",
            /* a digest of the wrong length */
            "file\t/d\t-\t-\tsha256\tabc\t0\t0\t0\t0\t0\n",
            /* a number that is not one */
            "dir\t/d\t-\t-\tsha256\t-\tx\t0\t0\t0\t0\n",
        };
        char d[512], f[512];
        snprintf(d, sizeof(d), "%s/c", root);
        snprintf(f, sizeof(f), "%s/c/" STATE_FILE, root);
        ok(mkdir(d, 0700) == 0, "dir for damaged states");
        for (size_t i = 0; i < ELEMENTSOF(bad); i++) {
                struct state *s = NULL;
                is_int(write_file(f, bad[i], 0600), 0, "damaged state %zu written", i);
                is_int(state_load(t, "/c", &s), 0, "damaged state %zu loads", i);
                ok(s && s->n == 0, "damaged state %zu is dropped as a whole", i);
                state_free(s);
        }
        struct state *s = NULL;
        is_int(state_load(t, "/missing", &s), 0, "a missing state dir loads");
        ok(s && s->n == 0, "as an empty state");
        state_free(s);
        s = NULL;
        ok(unlink(f) == 0, "file removed");
        is_int(state_load(t, "/c", &s), 0, "a missing state file loads");
        ok(s && s->n == 0 && !s->loaded_text, "as an empty state with nothing loaded");
        state_free(s);
}

/* Who signed a download (issue 14) is a twelfth field, written only when known: a line without
 * it (every line of an older state) still loads, and one with it reads back. */
static void test_signed_by(struct target *t)
{
        char dir[512], path[512];
        snprintf(dir, sizeof(dir), "%s/sig", root);
        snprintf(path, sizeof(path), "%s/sig/" STATE_FILE, root);
        ok(mkdir(dir, 0700) == 0, "signed-by: state dir made");
        struct state *s = calloc(1, sizeof(*s));
        struct state_entry e = {.kind = STATE_KIND_DOWNLOAD,
                                .path = (char *)"/usr/local/bin/kubectl",
                                .url = (char *)"https://x/kubectl",
                                .signed_by = (char *)"me@example.com (https://issuer.example)"};
        struct state_entry plain = {.kind = STATE_KIND_DOWNLOAD,
                                    .path = (char *)"/usr/local/bin/kube-scheduler",
                                    .url = (char *)"https://x/kube-scheduler"};
        is_int(state_put(s, &e), 0, "signed-by: put a signed download");
        is_int(state_put(s, &plain), 0, "signed-by: put an unsigned one");
        is_int(state_save(t, "/sig", s), 0, "signed-by: saves");
        state_free(s);
        _cleanup_free_ char *text = slurp(path);
        like_str(text, "\t0\tme@example.com (https://issuer.example)\n",
                 "signed-by: the signer is the twelfth field");
        like_str(text,
                 "/usr/local/bin/kube-scheduler\thttps://x/"
                 "kube-scheduler\t-\tsha256\t-\t0\t0\t0\t0\t0\n",
                 "signed-by: an unsigned download keeps eleven fields");
        s = NULL;
        is_int(state_load(t, "/sig", &s), 0, "signed-by: loads again");
        const struct state_entry *a = s ? state_find(s, "/usr/local/bin/kubectl") : NULL;
        const struct state_entry *b = s ? state_find(s, "/usr/local/bin/kube-scheduler") : NULL;
        is_str(a ? a->signed_by : NULL, "me@example.com (https://issuer.example)",
               "signed-by: reads back");
        is_str(b ? b->signed_by : NULL, "-", "signed-by: an eleven-field line reads as unsigned");
        state_free(s);
}

int main(void)
{
        struct target t;
        tree_setup(root, &t);
        test_kinds();
        test_round_trip(&t);
        test_put_retain();
        test_stat();
        test_damaged(&t);
        test_signed_by(&t);
        target_close(&t);
        rm_rf(root);
        ok(!exists(root), "temp dir removed");
        return done_testing();
}
