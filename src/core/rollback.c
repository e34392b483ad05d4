/* Rollback: the files an upgrade replaces are kept, before it publishes, under
 * <state-dir>/previous/<release>/<path> and recorded in the state; a failed health gate (or
 * `kubestrap rollback`) publishes them back. */
#include "rollback.h"

#include <errno.h>
#include <fcntl.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "util.h"

const char *rollback_release(const struct state *st)
{
        const struct state_entry *e = state_find(st, STATE_PREVIOUS_KEY);
        return e && e->kind == STATE_KIND_PREVIOUS_RELEASE && !streq(e->url, "-") ? e->url : NULL;
}

/* What a running unit uses and an upgrade replaces; PKI and links stay as they are. */
static bool worth_keeping(const struct item *it)
{
        if (it->action != ACTION_UPDATE)
                return false;
        if (it->kind == ITEM_DOWNLOAD)
                return true;
        return it->kind == ITEM_FILE &&
               (it->role == ROLE_UNIT || it->role == ROLE_CONFIG || it->role == ROLE_SITE);
}

static char *previous_root(const char *state_dir)
{
        return path_join(state_dir, ROLLBACK_DIR);
}

void rollback_drop(struct target *t, const char *state_dir, struct state *st)
{
        _cleanup_free_ char *root = previous_root(state_dir);
        _cleanup_free_ bool *keep = calloc(st->n ? st->n : 1, sizeof(*keep));
        if (!root || !keep)
                return;
        size_t l = strlen(root);
        for (size_t i = 0; i < st->n; i++) {
                const struct state_entry *e = &st->entries[i];
                bool under = startswith(e->path, root) && e->path[l] == '/';
                keep[i] = !(e->kind == STATE_KIND_PREVIOUS_RELEASE ||
                            (e->kind == STATE_KIND_PREVIOUS && under) ||
                            (e->kind == STATE_KIND_DIR && under));
                if (e->kind != STATE_KIND_PREVIOUS)
                        continue;
                _cleanup_close_ int dfd = -1;
                const char *name;
                if (target_open_parent(t, e->path, false, &dfd, &name) >= 0)
                        (void)unlinkat(dfd, name, 0);
                /* then the directories it leaves empty, up to previous/ itself */
                _cleanup_free_ char *dir = strdup(e->path);
                for (char *slash = dir ? strrchr(dir, '/') : NULL; slash && slash - dir >= (long)l;
                     slash = strrchr(dir, '/')) {
                        *slash = 0;
                        _cleanup_close_ int pfd = -1;
                        const char *dname;
                        if (target_open_parent(t, dir, false, &pfd, &dname) < 0 ||
                            unlinkat(pfd, dname, AT_REMOVEDIR) < 0)
                                break;
                }
        }
        state_retain(st, keep);
}

/* Stages a copy of the file name in sdfd beside dname in ddfd, with the source's mode; checked
 * against hex when given. The staging file's name in *ret_tmp; the caller publishes it. */
static int stage_copy(int sdfd, const char *sname, int ddfd, const char *dname, enum digest_alg alg,
                      const char *hex, char **ret_tmp)
{
        _cleanup_close_ int in = open_regular_at(sdfd, sname);
        if (in < 0)
                return in;
        struct stat sb;
        if (fstat(in, &sb) < 0)
                return -errno;
        _cleanup_free_ char *tmp = NULL;
        int out = stage_open(ddfd, dname, &tmp);
        if (out < 0)
                return out;
        int r =
            hex ? digest_copy_verified(in, out, alg, hex) : copy_fd(in, out, (uint64_t)sb.st_size);
        if (r >= 0)
                r = stage_finish(out, sb.st_mode & 07777, true);
        close(out);
        if (r < 0) {
                stage_abort(ddfd, tmp);
                return r;
        }
        *ret_tmp = TAKE_PTR(tmp);
        return 0;
}

/* Hard link when the file system allows (the old inode is about to lose its name to the
 * rename anyway), else a staged copy with the same mode. */
static int keep_file(struct target *t, const char *path, const char *kept)
{
        _cleanup_close_ int sfd = -1, kfd = -1;
        const char *sname, *kname;
        int r = target_open_parent(t, path, false, &sfd, &sname);
        if (r >= 0)
                r = target_open_parent(t, kept, true, &kfd, &kname);
        if (r < 0)
                return r;
        (void)unlinkat(kfd, kname, 0); /* a leftover of an interrupted run */
        if (linkat(sfd, sname, kfd, kname, 0) == 0)
                return 0;
        _cleanup_free_ char *tmp = NULL;
        r = stage_copy(sfd, sname, kfd, kname, DIGEST_SHA256, NULL, &tmp);
        if (r >= 0)
                r = stage_commit(kfd, tmp, kname);
        if (r < 0 && tmp)
                stage_abort(kfd, tmp);
        return r;
}

/* The digest the state knows for the installed file, else the file's own. */
static int installed_digest(struct target *t, const struct state *st, const char *path,
                            enum digest_alg *ret_alg, char hex[DIGEST_HEX_MAX])
{
        const struct state_entry *e = state_find(st, path);
        if (e && (e->kind == STATE_KIND_DOWNLOAD || e->kind == STATE_KIND_FILE) && e->hex[0]) {
                *ret_alg = e->alg;
                memcpy(hex, e->hex, DIGEST_HEX_MAX);
                return 0;
        }
        _cleanup_close_ int dfd = -1;
        const char *name;
        int r = target_open_parent(t, path, false, &dfd, &name);
        if (r < 0)
                return r;
        _cleanup_close_ int fd = open_regular_at(dfd, name);
        if (fd < 0)
                return fd;
        *ret_alg = DIGEST_SHA256;
        return digest_fd(fd, DIGEST_SHA256, hex);
}

int rollback_keep(const struct plan *p, struct target *t, const char *state_dir, struct state *st)
{
        const char *installed = state_release(st);
        if (!installed || !p->version || streq(installed, p->version))
                return 0;
        _cleanup_free_ char *release = strdup(installed); /* rollback_drop may free it */
        _cleanup_free_ char *root = previous_root(state_dir);
        _cleanup_free_ char *base = root ? path_join(root, installed) : NULL;
        if (!release || !base)
                return -ENOMEM;
        rollback_drop(t, state_dir, st);
        for (size_t i = 0; i < p->n_items; i++) {
                const struct item *it = &p->items[i];
                if (!worth_keeping(it))
                        continue;
                _cleanup_free_ char *kept = strjoin3(base, it->path, NULL);
                if (!kept)
                        return -ENOMEM;
                struct state_entry e = {.kind = STATE_KIND_PREVIOUS, .path = kept, .url = it->path};
                const struct state_entry *old = state_find(st, it->path);
                if (old && old->kind == STATE_KIND_DOWNLOAD)
                        e.digest_url = old->url;
                int r = installed_digest(t, st, it->path, &e.alg, e.hex);
                if (r == -ENOENT)
                        continue; /* nothing there to keep */
                if (r >= 0)
                        r = keep_file(t, it->path, kept);
                if (r < 0)
                        return r;
                _cleanup_close_ int kfd = -1;
                const char *kname;
                struct stat sb;
                if (target_open_parent(t, kept, false, &kfd, &kname) >= 0 &&
                    fstatat(kfd, kname, &sb, AT_SYMLINK_NOFOLLOW) == 0)
                        state_set_stat(&e, &sb);
                r = state_put(st, &e);
                if (r < 0)
                        return r;
        }
        struct state_entry rel = {.kind = STATE_KIND_PREVIOUS_RELEASE,
                                  .path = (char *)STATE_PREVIOUS_KEY,
                                  .url = release};
        int r = state_put(st, &rel);
        return r < 0 ? r : 1;
}

/* Stages a verified copy of the kept file beside its old path; published by the caller. */
static int restore_stage(struct target *t, const struct state_entry *e, int *ret_dirfd,
                         const char **ret_name, char **ret_tmp)
{
        _cleanup_close_ int kdfd = -1, dfd = -1;
        const char *kname, *name;
        int r = target_open_parent(t, e->path, false, &kdfd, &kname);
        if (r >= 0)
                r = target_open_parent(t, e->url, true, &dfd, &name);
        if (r < 0)
                return r;
        _cleanup_free_ char *tmp = NULL;
        r = stage_copy(kdfd, kname, dfd, name, e->alg, e->hex, &tmp);
        if (r < 0)
                return r;
        *ret_dirfd = TAKE_FD(dfd);
        *ret_name = name;
        *ret_tmp = TAKE_PTR(tmp);
        return 0;
}

/* A copy of the kept file's record: recording the restored files may move the entries. */
struct restore {
        char *path, *from;
        enum digest_alg alg;
        char hex[DIGEST_HEX_MAX];
        int dirfd;
        const char *name;
        char *tmp;
};

static void restores_free(struct restore *s, size_t n)
{
        for (size_t i = 0; i < n; i++) {
                if (s[i].tmp)
                        stage_abort(s[i].dirfd, s[i].tmp);
                free(s[i].tmp);
                free(s[i].path);
                free(s[i].from);
                if (s[i].dirfd >= 0)
                        close(s[i].dirfd);
        }
        free(s);
}

/* The restored file is installed again: its record says so, with the URL it came from, so
 * the next plan trusts its digest only for that URL. */
static int record_restored(struct state *st, const struct restore *s)
{
        bool download = !streq(s->from, "-");
        struct state_entry n = {.kind = download ? STATE_KIND_DOWNLOAD : STATE_KIND_FILE,
                                .path = s->path,
                                .url = download ? s->from : NULL,
                                .alg = s->alg};
        memcpy(n.hex, s->hex, sizeof(n.hex));
        struct stat sb;
        if (download && fstatat(s->dirfd, s->name, &sb, AT_SYMLINK_NOFOLLOW) == 0)
                state_set_stat(&n, &sb);
        return state_put(st, &n);
}

int rollback_restore(struct plan *p, struct target *t, const char *state_dir, struct state *st,
                     char **ret_error)
{
        const char *release = rollback_release(st);
        if (!release)
                return -ENOENT;
        _cleanup_free_ char *version = strdup(release);
        struct restore *s = calloc(st->n + 1, sizeof(*s));
        size_t n = 0;
        int r = s && version ? 0 : -ENOMEM;
        /* Stage every kept file first: nothing is published unless all of them verify. */
        for (size_t i = 0; i < st->n && r >= 0; i++) {
                const struct state_entry *e = &st->entries[i];
                if (e->kind != STATE_KIND_PREVIOUS)
                        continue;
                s[n] = (struct restore){.path = strdup(e->url),
                                        .from = strdup(e->digest_url),
                                        .alg = e->alg,
                                        .dirfd = -1};
                memcpy(s[n].hex, e->hex, sizeof(s[n].hex));
                r = s[n].path && s[n].from ? 0 : -ENOMEM;
                if (r >= 0)
                        r = restore_stage(t, e, &s[n].dirfd, &s[n].name, &s[n].tmp);
                if (r < 0) {
                        _cleanup_free_ char *shown = target_display(t, e->path);
                        asprintf_safe(ret_error, "%s: %s", shown,
                                      r == -EBADMSG ? "does not match its recorded digest"
                                                    : strerror(-r));
                }
                n++;
        }
        for (size_t i = 0; i < n && r >= 0; i++) {
                r = stage_commit(s[i].dirfd, s[i].tmp, s[i].name);
                if (r < 0) {
                        _cleanup_free_ char *shown = target_display(t, s[i].path);
                        asprintf_safe(ret_error, "%s: %s", shown, strerror(-r));
                        break;
                }
                free(s[i].tmp);
                s[i].tmp = NULL;
                for (size_t k = 0; p && k < p->n_items; k++)
                        if (streq(p->items[k].path, s[i].path))
                                p->items[k].action = ACTION_UPDATE;
                r = record_restored(st, &s[i]);
        }
        restores_free(s, n);
        if (r < 0)
                return r;
        r = state_put_release(st, version);
        if (r < 0)
                return r;
        rollback_drop(t, state_dir, st);
        return 0;
}
