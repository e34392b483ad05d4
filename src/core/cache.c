/* The download cache, <cache-dir>/<alg>/<hex>: verified binaries by digest, taken out and put
 * in, listed, removed and swept. Entries are hashed again while copied out, so a damaged or
 * tampered entry is caught and replaced. */
#include "cache.h"

#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/random.h>
#include <sys/stat.h>
#include <unistd.h>

#include "state.h"
#include "util.h"

static int alg_dir(struct target *t, const char *cache_dir, enum digest_alg alg, int *ret_fd,
                   DIR **ret)
{
        _cleanup_free_ char *d = path_join(cache_dir, digest_alg_to_string(alg));
        return d ? target_opendir(t, d, ret_fd, ret) : -ENOMEM;
}

int cache_list(struct target *t, const char *cache_dir, struct cache_entry **ret, size_t *ret_n)
{
        struct cache_entry *v = NULL;
        size_t n = 0;
        int r = 0;
        for (int a = 0; a < _DIGEST_MAX && r >= 0; a++) {
                _cleanup_close_ int dfd = -1;
                DIR *d;
                int q = alg_dir(t, cache_dir, a, &dfd, &d);
                if (q == -ENOENT)
                        continue;
                if (q < 0) {
                        r = q;
                        break;
                }
                for (struct dirent *de; r >= 0 && (de = readdir(d));) {
                        /* only names that are a digest of this algorithm: staging files and
                         * anything else are not entries */
                        char hex[DIGEST_HEX_MAX];
                        if (strlen(de->d_name) != digest_hex_len(a) ||
                            digest_normalize_hex(a, de->d_name, hex) < 0 || !streq(hex, de->d_name))
                                continue;
                        struct stat st;
                        if (fstatat(dfd, de->d_name, &st, AT_SYMLINK_NOFOLLOW) < 0 ||
                            !S_ISREG(st.st_mode))
                                continue;
                        struct cache_entry *nv = realloc(v, (n + 1) * sizeof(*v));
                        if (!nv) {
                                r = -ENOMEM;
                                break;
                        }
                        v = nv;
                        v[n] = (struct cache_entry){
                            .alg = a, .size = (uint64_t)st.st_size, .nlink = st.st_nlink};
                        memcpy(v[n].hex, hex, sizeof(hex));
                        n++;
                }
                closedir(d);
        }
        if (r < 0) {
                free(v);
                return r;
        }
        *ret = v;
        *ret_n = n;
        return 0;
}

/* <cache-dir>/<alg>, O_PATH. Made with create: a failed run's undo removes it again only
 * while it is empty. */
static int open_alg_dir(struct target *t, const char *cache_dir, enum digest_alg alg, bool create,
                        int *ret_fd)
{
        _cleanup_free_ char *d = path_join(cache_dir, digest_alg_to_string(alg));
        return d ? target_open_dir(t, d, create, ret_fd) : -ENOMEM;
}

/* <cache-dir>/signed/<alg>: the signature records, apart from the entries so that an entry's
 * directory holds nothing but files named by their digest. */
static int open_signed_dir(struct target *t, const char *cache_dir, enum digest_alg alg,
                           bool create, int *ret_fd)
{
        _cleanup_free_ char *d = NULL;
        if (asprintf_safe(&d, "%s/signed/%s", cache_dir, digest_alg_to_string(alg)) < 0 || !d)
                return -ENOMEM;
        return target_open_dir(t, d, create, ret_fd);
}

char *cache_entry_path(const char *cache_dir, const struct cache_entry *e)
{
        char *p = NULL; /* cache_dir as configured, trailing slash and all */
        if (asprintf(&p, "%s/%s/%s", cache_dir, digest_alg_to_string(e->alg), e->hex) < 0)
                return NULL;
        return p;
}

const char *cache_keep_reason(const struct cache_entry *e, const struct state *st,
                              const struct pin pins[_BINARY_MAX], const char **ret_path)
{
        *ret_path = NULL;
        for (size_t i = 0; st && i < st->n; i++) {
                const struct state_entry *s = &st->entries[i];
                if (s->kind == STATE_KIND_DOWNLOAD && s->alg == e->alg && streq(s->hex, e->hex)) {
                        *ret_path = s->path;
                        return "installed";
                }
        }
        /* Rollback reads its own copies (hard links, or copies, under <state-dir>/previous),
         * never the cache; the entry of a kept binary is still kept, so the release rolled
         * back to is installed again without a download. */
        for (size_t i = 0; st && i < st->n; i++) {
                const struct state_entry *s = &st->entries[i];
                if (s->kind == STATE_KIND_PREVIOUS && s->alg == e->alg && streq(s->hex, e->hex)) {
                        *ret_path = s->path;
                        return "rollback";
                }
        }
        if (e->nlink > 1)
                return "linked"; /* the installed binaries are hard links of their entries */
        for (int b = 0; b < _BINARY_MAX; b++)
                if (pins[b].set && pins[b].alg == e->alg && streq(pins[b].hex, e->hex)) {
                        *ret_path = binary_names[b];
                        return "pinned";
                }
        return NULL;
}

int cache_remove(struct target *t, const char *cache_dir, const struct cache_entry *e)
{
        _cleanup_close_ int dfd = -1;
        int r = open_alg_dir(t, cache_dir, e->alg, false, &dfd);
        if (r < 0)
                return r;
        static const char *const ext[] = {".signed", ".sig", ".cert"};
        _cleanup_close_ int sfd = -1;
        bool have = open_signed_dir(t, cache_dir, e->alg, false, &sfd) >= 0;
        for (size_t i = 0; have && i < ELEMENTSOF(ext); i++) {
                _cleanup_free_ char *side = strjoin3(e->hex, ext[i], NULL);
                if (side)
                        (void)unlinkat(sfd, side, 0);
        }
        return unlinkat(dfd, e->hex, 0) < 0 ? -errno : 0;
}

int cache_put_signed(struct target *t, const char *cache_dir, enum digest_alg alg, const char *hex,
                     const char *signed_by, const char *sig, size_t sig_len, const char *cert,
                     size_t cert_len)
{
        _cleanup_close_ int cdir = -1;
        _cleanup_free_ char *rec = strjoin3(hex, ".signed", NULL), *line = NULL;
        _cleanup_free_ char *sp = strjoin3(hex, ".sig", NULL), *cp = strjoin3(hex, ".cert", NULL);
        if (!rec || !sp || !cp || asprintf_safe(&line, "%s\n", signed_by) < 0 || !line)
                return -ENOMEM;
        int r = open_signed_dir(t, cache_dir, alg, true, &cdir);
        /* the record last: it vouches for the two files beside it */
        if (r >= 0 && sig)
                r = atomic_write_at(cdir, sp, sig, sig_len, 0644, true);
        if (r >= 0 && cert)
                r = atomic_write_at(cdir, cp, cert, cert_len, 0644, true);
        if (r >= 0)
                r = atomic_write_at(cdir, rec, line, strlen(line), 0644, true);
        return r;
}

int cache_open_signature(struct target *t, const char *cache_dir, enum digest_alg alg,
                         const char *hex, const char *ext, int *ret_fd)
{
        _cleanup_close_ int cdir = -1;
        _cleanup_free_ char *name = strjoin3(hex, ext, NULL);
        if (!name)
                return -ENOMEM;
        int r = open_signed_dir(t, cache_dir, alg, false, &cdir);
        if (r < 0)
                return r;
        int fd = open_regular_at(cdir, name);
        if (fd < 0)
                return fd;
        *ret_fd = fd;
        return 0;
}

int cache_signed_by(struct target *t, const char *cache_dir, enum digest_alg alg, const char *hex,
                    char **ret)
{
        _cleanup_close_ int cdir = -1;
        _cleanup_free_ char *rec = strjoin3(hex, ".signed", NULL), *text = NULL;
        size_t len = 0;
        if (!rec)
                return -ENOMEM;
        if (open_signed_dir(t, cache_dir, alg, false, &cdir) < 0)
                return -ENOENT;
        int r = read_file_trusted_at(cdir, rec, 4096, &text, &len);
        if (r < 0)
                return r;
        if (len == 0 || text[len - 1] != '\n' || memchr(text, 0, len))
                return -EBADMSG;
        text[len - 1] = 0;
        *ret = TAKE_PTR(text);
        return 0;
}

int cache_open_entry(struct target *t, const char *cache_dir, enum digest_alg alg, const char *hex,
                     int *ret_fd)
{
        _cleanup_close_ int cdir = -1;
        int r = open_alg_dir(t, cache_dir, alg, false, &cdir);
        if (r < 0)
                return r;
        int fd = open_regular_at(cdir, hex);
        if (fd < 0)
                return fd;
        *ret_fd = fd;
        return 0;
}

int cache_take(struct target *t, const char *cache_dir, enum digest_alg alg, const char *hex,
               int out_fd)
{
        _cleanup_close_ int cdir = -1;
        if (open_alg_dir(t, cache_dir, alg, false, &cdir) < 0)
                return -ENOENT;
        _cleanup_close_ int in = open_regular_at(cdir, hex);
        if (in < 0)
                return in;
        int r = digest_copy_verified(in, out_fd, alg, hex);
        if (r == -EBADMSG)
                (void)unlinkat(cdir, hex, 0); /* damaged: fetch it again */
        return r;
}

/* A verified download joins the cache as a hard link to the staged file: free on one file
 * system, where a copy would write every byte a second time (the cold-run benchmark's largest
 * avoidable cost). The entry shares its inode with the installed binary, so an in-place edit
 * of that binary damages the entry too; entries are re-hashed whenever they are used, so that
 * costs a download, never a wrong byte. Across file systems it is a copy. */
int cache_put(struct target *t, const char *cache_dir, enum digest_alg alg, const char *hex,
              int dir_fd, const char *name, int fd)
{
        _cleanup_close_ int cdir = -1;
        int r = open_alg_dir(t, cache_dir, alg, true, &cdir);
        if (r < 0)
                return r;
        struct stat st;
        if (fstatat(cdir, hex, &st, AT_SYMLINK_NOFOLLOW) == 0)
                (void)unlinkat(cdir, hex, 0); /* a stale or damaged entry: replace it */
        if (linkat(dir_fd, name, cdir, hex, 0) == 0)
                return 0;
        if (errno != EXDEV)
                return -errno;
        _cleanup_free_ char *tmp = NULL;
        _cleanup_close_ int out = stage_open(cdir, hex, &tmp);
        if (out < 0)
                return out;
        r = fstat(fd, &st) < 0 ? -errno : 0;
        if (r >= 0)
                r = copy_fd(fd, out, (uint64_t)st.st_size);
        if (r >= 0)
                r = stage_finish(out, 0644, true);
        if (r >= 0)
                r = stage_commit(cdir, tmp, hex);
        if (r < 0)
                stage_abort(cdir, tmp);
        return r;
}

int cache_scratch_open(struct target *t, const char *cache_dir, struct cache_scratch *ret)
{
        struct cache_scratch s = {.cache_fd = -1, .fd = -1, .name = CACHE_SCRATCH_PREFIX};
        int r = target_open_dir(t, cache_dir, true, &s.cache_fd);
        if (r < 0)
                return r;
        /* a random name, so that cache_sweep can tell an interrupted run's from anything else */
        unsigned char rnd[6];
        if (getrandom(rnd, sizeof(rnd), 0) != (ssize_t)sizeof(rnd)) {
                r = -errno;
                close(s.cache_fd);
                return r;
        }
        for (size_t i = 0; i < 6; i++)
                s.name[strlen(CACHE_SCRATCH_PREFIX) + i] =
                    CACHE_SCRATCH_CHARS[rnd[i] % (sizeof(CACHE_SCRATCH_CHARS) - 1)];
        if (mkdirat(s.cache_fd, s.name, 0700) < 0) {
                r = -errno;
                close(s.cache_fd);
                return r;
        }
        r = dir_chmod_at(s.cache_fd, s.name, 0700);
        if (r >= 0) {
                s.fd = openat(s.cache_fd, s.name, O_PATH | O_DIRECTORY | O_CLOEXEC);
                r = s.fd < 0 ? -errno : 0;
        }
        if (r < 0) {
                cache_scratch_close(&s);
                return r;
        }
        *ret = s;
        return 0;
}

void cache_scratch_close(struct cache_scratch *s)
{
        if (s->fd >= 0)
                close(s->fd);
        if (s->cache_fd >= 0) {
                (void)unlinkat(s->cache_fd, s->name, AT_REMOVEDIR);
                close(s->cache_fd);
        }
        *s = (struct cache_scratch){.cache_fd = -1, .fd = -1};
}

void cache_sweep(struct target *t, const char *cache_dir)
{
        /* the cache is all ours: any staging name in it is a leftover */
        for (int a = 0; a < _DIGEST_MAX; a++) {
                _cleanup_free_ char *d = path_join(cache_dir, digest_alg_to_string(a)), *sd = NULL;
                if (d)
                        target_sweep_staging(t, d, NULL);
                if (asprintf_safe(&sd, "%s/signed/%s", cache_dir, digest_alg_to_string(a)) >= 0 &&
                    sd)
                        target_sweep_staging(t, sd, NULL);
        }
        _cleanup_close_ int cdir = -1;
        DIR *d;
        if (target_opendir(t, cache_dir, &cdir, &d) < 0)
                return;
        for (struct dirent *de; (de = readdir(d));) {
                const char *e = de->d_name;
                size_t pl = strlen(CACHE_SCRATCH_PREFIX);
                if (!startswith(e, CACHE_SCRATCH_PREFIX) || strlen(e) != pl + 6 ||
                    strspn(e + pl, CACHE_SCRATCH_CHARS) != 6)
                        continue;
                _cleanup_free_ char *sd = path_join(cache_dir, e);
                if (sd)
                        target_sweep_staging(t, sd, NULL);
                (void)unlinkat(cdir, e, AT_REMOVEDIR);
        }
        closedir(d);
}
