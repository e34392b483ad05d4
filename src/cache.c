/* The download cache, <cache-dir>/<alg>/<hex>: listing its entries, removing one, and sweeping
 * what interrupted runs left in it. */
#include "cache.h"

#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

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

int cache_remove(struct target *t, const char *cache_dir, const struct cache_entry *e)
{
        _cleanup_free_ char *d = path_join(cache_dir, digest_alg_to_string(e->alg));
        _cleanup_close_ int dfd = -1;
        int r = d ? target_open_dir(t, d, false, &dfd) : -ENOMEM;
        if (r < 0)
                return r;
        return unlinkat(dfd, e->hex, 0) < 0 ? -errno : 0;
}

void cache_sweep(struct target *t, const char *cache_dir)
{
        /* the cache is all ours: any staging name in it is a leftover */
        for (int a = 0; a < _DIGEST_MAX; a++) {
                _cleanup_free_ char *d = path_join(cache_dir, digest_alg_to_string(a));
                if (d)
                        target_sweep_staging(t, d, NULL);
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
