/* What kubestrap installed, kept in <state-dir>/installed: paths, digests, and the stat
 * fingerprint of each binary so an unchanged file is not hashed again. */
#include "state.h"

#include <errno.h>
#include <fcntl.h>
#include <inttypes.h>
#include <stdio.h>
#include <string.h>

#include "util.h"

#define STATE_HEADER                                                                               \
        "# kubestrap state v1: kind path url digest-url alg hex dev ino size mtime_ns ctime_ns\n"

static const char *const state_kind_names[_STATE_KIND_MAX] = {
    [STATE_KIND_DOWNLOAD] = "download", [STATE_KIND_FILE] = "file",
    [STATE_KIND_LINK] = "link",         [STATE_KIND_DIR] = "dir",
    [STATE_KIND_DIGEST] = "digest",     [STATE_KIND_RELEASE] = "release",
    [STATE_KIND_PREVIOUS] = "previous", [STATE_KIND_PREVIOUS_RELEASE] = "previous-release",
};

const char *state_kind_to_string(enum state_kind k)
{
        return k >= 0 && k < _STATE_KIND_MAX ? state_kind_names[k] : NULL;
}

int state_kind_from_string(const char *s)
{
        for (int k = 0; k < _STATE_KIND_MAX; k++)
                if (streq(state_kind_names[k], s))
                        return k;
        return -EINVAL;
}

char *state_tarball_key(const char *tarball_url)
{
        return strjoin3("tarball:", tarball_url, NULL);
}

static void entry_done(struct state_entry *e)
{
        free(e->path);
        free(e->url);
        free(e->digest_url);
        free(e->signed_by);
}

struct state *state_free(struct state *s)
{
        if (!s)
                return NULL;
        for (size_t i = 0; i < s->n; i++)
                entry_done(&s->entries[i]);
        free(s->entries);
        free(s->loaded_text);
        free(s);
        return NULL;
}

/* The index of path's entry, or s->n; callers that own s get a writable slot from it. */
static size_t find_index(const struct state *s, const char *path)
{
        size_t i = 0;
        while (i < s->n && !streq(s->entries[i].path, path))
                i++;
        return i;
}

const struct state_entry *state_find(const struct state *s, const char *path)
{
        size_t i = s ? find_index(s, path) : 0;
        return s && i < s->n ? &s->entries[i] : NULL;
}

static char *dup_field(const char *s)
{
        return strdup(s && *s ? s : "-");
}

int state_put(struct state *s, const struct state_entry *e)
{
        size_t i = find_index(s, e->path);
        struct state_entry *slot = i < s->n ? &s->entries[i] : NULL;
        if (!slot) {
                struct state_entry *n = realloc(s->entries, (s->n + 1) * sizeof(*n));
                if (!n)
                        return -ENOMEM;
                s->entries = n;
                slot = &s->entries[s->n++];
        } else
                entry_done(slot);
        *slot = *e;
        slot->path = dup_field(e->path);
        slot->url = dup_field(e->url);
        slot->digest_url = dup_field(e->digest_url);
        slot->signed_by = dup_field(e->signed_by);
        if (!slot->path || !slot->url || !slot->digest_url || !slot->signed_by)
                return -ENOMEM;
        return 0;
}

void state_retain(struct state *s, const bool *keep)
{
        size_t n = 0;
        for (size_t i = 0; i < s->n; i++) {
                if (!keep[i]) {
                        entry_done(&s->entries[i]);
                        continue;
                }
                s->entries[n++] = s->entries[i];
        }
        s->n = n;
}

const char *state_release(const struct state *s)
{
        const struct state_entry *e = state_find(s, STATE_RELEASE_KEY);
        return e && e->kind == STATE_KIND_RELEASE && !streq(e->url, "-") ? e->url : NULL;
}

int state_put_release(struct state *s, const char *version)
{
        /* state_put copies both strings */
        struct state_entry e = {
            .kind = STATE_KIND_RELEASE, .path = (char *)STATE_RELEASE_KEY, .url = (char *)version};
        return state_put(s, &e);
}

bool state_entry_is_path(const struct state_entry *e)
{
        return e->kind != STATE_KIND_DIGEST && e->kind != STATE_KIND_RELEASE &&
               e->kind != STATE_KIND_PREVIOUS_RELEASE;
}

void state_set_stat(struct state_entry *e, const struct stat *st)
{
        e->dev = (uint64_t)st->st_dev;
        e->ino = (uint64_t)st->st_ino;
        e->size = (uint64_t)st->st_size;
        e->mtime_ns = (int64_t)st->st_mtim.tv_sec * 1000000000LL + st->st_mtim.tv_nsec;
        e->ctime_ns = (int64_t)st->st_ctim.tv_sec * 1000000000LL + st->st_ctim.tv_nsec;
}

bool state_stat_matches(const struct state_entry *e, const struct stat *st)
{
        struct state_entry now = {0};
        state_set_stat(&now, st);
        /* ctime cannot be set from user space: any write, chmod or rename moves it. */
        return e->dev == now.dev && e->ino == now.ino && e->size == now.size &&
               e->mtime_ns == now.mtime_ns && e->ctime_ns == now.ctime_ns;
}

static int parse_line(char *line, struct state_entry *e)
{
        /* the twelfth field (who signed a download) is new: a state without it still loads */
        char *f[12];
        size_t n = 0;
        char *save = NULL;
        for (char *tok = strtok_r(line, "\t", &save); tok && n < 12;
             tok = strtok_r(NULL, "\t", &save))
                f[n++] = tok;
        if (n != 11 && n != 12)
                return -EBADMSG;
        int kind = state_kind_from_string(f[0]);
        int alg = digest_alg_from_string(f[4]);
        if (kind < 0 || alg < 0)
                return -EBADMSG;
        *e = (struct state_entry){.kind = (enum state_kind)kind,
                                  .path = f[1],
                                  .url = f[2],
                                  .digest_url = f[3],
                                  .signed_by = n == 12 ? f[11] : NULL,
                                  .alg = (enum digest_alg)alg};
        if (!streq(f[5], "-") && digest_normalize_hex(e->alg, f[5], e->hex) < 0)
                return -EBADMSG;
        if (sscanf(f[6], "%" SCNu64, &e->dev) != 1 || sscanf(f[7], "%" SCNu64, &e->ino) != 1 ||
            sscanf(f[8], "%" SCNu64, &e->size) != 1 ||
            sscanf(f[9], "%" SCNd64, &e->mtime_ns) != 1 ||
            sscanf(f[10], "%" SCNd64, &e->ctime_ns) != 1)
                return -EBADMSG;
        return 0;
}

int state_load(struct target *t, const char *state_dir, struct state **ret)
{
        struct state *s = calloc(1, sizeof(*s));
        if (!s)
                return -ENOMEM;
        _cleanup_close_ int dfd = -1;
        int r = target_open_dir(t, state_dir, false, &dfd);
        if (r == -ENOENT) {
                *ret = s;
                return 0;
        }
        if (r >= 0)
                r = read_file_at(dfd, STATE_FILE, 16 << 20, &s->loaded_text, NULL);
        if (r == -ENOENT) {
                *ret = s;
                return 0;
        }
        if (r < 0) {
                state_free(s);
                return r;
        }
        _cleanup_free_ char *copy = strdup(s->loaded_text);
        if (!copy) {
                state_free(s);
                return -ENOMEM;
        }
        char *save = NULL;
        for (char *line = strtok_r(copy, "\n", &save); line; line = strtok_r(NULL, "\n", &save)) {
                if (line[0] == '#')
                        continue;
                struct state_entry e;
                if (parse_line(line, &e) < 0) {
                        /* A damaged state costs a re-hash, never a wrong answer: drop it. */
                        for (size_t i = 0; i < s->n; i++)
                                entry_done(&s->entries[i]);
                        s->n = 0;
                        break;
                }
                r = state_put(s, &e);
                if (r < 0) {
                        state_free(s);
                        return r;
                }
        }
        *ret = s;
        return 0;
}

int state_save(struct target *t, const char *state_dir, struct state *s)
{
        struct buf b = {0};
        int r = buf_puts(&b, STATE_HEADER);
        for (size_t i = 0; i < s->n && r >= 0; i++) {
                const struct state_entry *e = &s->entries[i];
                /* only signed downloads carry the twelfth field: other lines stay as they were */
                bool has_signer = e->signed_by && !streq(e->signed_by, "-");
                r = buf_printf(&b,
                               "%s\t%s\t%s\t%s\t%s\t%s\t%" PRIu64 "\t%" PRIu64 "\t%" PRIu64
                               "\t%" PRId64 "\t%" PRId64 "%s%s\n",
                               state_kind_to_string(e->kind), e->path, e->url, e->digest_url,
                               digest_alg_to_string(e->alg), e->hex[0] ? e->hex : "-", e->dev,
                               e->ino, e->size, e->mtime_ns, e->ctime_ns, has_signer ? "\t" : "",
                               has_signer ? e->signed_by : "");
        }
        if (r < 0) {
                buf_done(&b);
                return r;
        }
        /* Unchanged state is not rewritten: a no-op run leaves every mtime alone. */
        if (s->loaded_text && streq(s->loaded_text, b.data)) {
                buf_done(&b);
                return 0;
        }
        _cleanup_close_ int dfd = -1;
        r = target_open_dir(t, state_dir, true, &dfd);
        if (r >= 0) {
                _cleanup_close_ int wfd = openat(dfd, ".", O_PATH | O_DIRECTORY | O_CLOEXEC);
                r = wfd < 0 ? -errno : atomic_write_at(wfd, STATE_FILE, b.data, b.len, 0600, true);
        }
        if (r >= 0) {
                free(s->loaded_text);
                s->loaded_text = buf_steal(&b);
        }
        buf_done(&b);
        return r;
}
