/* Reading and writing tar archives through libarchive: release tarballs and air-gap bundles. */
#include "archive.h"

#include <archive.h>
#include <archive_entry.h>
#include <dlfcn.h>
#include <errno.h>
#include <fcntl.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "fileio.h"
#include "util.h"

/* libarchive is loaded when an archive is first touched, not at start: it brings libxml2,
 * ICU and libstdc++ along, about 2.6 MiB of resident memory that a plain apply never uses
 * (the cold-run benchmark's peak-memory target is 16 MiB). Done the way systemd loads its
 * optional libraries: one pointer per function, resolved once. */
#define ARCHIVE_SYMBOLS(X)                                                                         \
        X(archive_entry_filetype)                                                                  \
        X(archive_entry_free)                                                                      \
        X(archive_entry_hardlink)                                                                  \
        X(archive_entry_new)                                                                       \
        X(archive_entry_pathname)                                                                  \
        X(archive_entry_perm)                                                                      \
        X(archive_entry_set_filetype)                                                              \
        X(archive_entry_set_gid)                                                                   \
        X(archive_entry_set_pathname)                                                              \
        X(archive_entry_set_perm)                                                                  \
        X(archive_entry_set_size)                                                                  \
        X(archive_entry_set_uid)                                                                   \
        X(archive_entry_symlink)                                                                   \
        X(archive_error_string)                                                                    \
        X(archive_read_data_block)                                                                 \
        X(archive_read_data_skip)                                                                  \
        X(archive_read_free)                                                                       \
        X(archive_read_new)                                                                        \
        X(archive_read_next_header)                                                                \
        X(archive_read_open_fd)                                                                    \
        X(archive_read_support_filter_all)                                                         \
        X(archive_read_support_filter_gzip)                                                        \
        X(archive_read_support_filter_xz)                                                          \
        X(archive_read_support_filter_zstd)                                                        \
        X(archive_read_support_format_gnutar)                                                      \
        X(archive_read_support_format_tar)                                                         \
        X(archive_write_close)                                                                     \
        X(archive_write_data)                                                                      \
        X(archive_write_free)                                                                      \
        X(archive_write_header)                                                                    \
        X(archive_write_new)                                                                       \
        X(archive_write_open)                                                                      \
        X(archive_write_open_fd)                                                                   \
        X(archive_write_add_filter_gzip)                                                           \
        X(archive_write_set_bytes_in_last_block)                                                   \
        X(archive_write_set_filter_option)                                                         \
        X(archive_write_set_format_pax_restricted)                                                 \
        X(archive_write_set_format_raw)

#define DECLARE_SYM(name) static __typeof__(name) *sym_##name;
ARCHIVE_SYMBOLS(DECLARE_SYM)
#undef DECLARE_SYM

static int archive_dlopen(char **ret_error)
{
        static void *handle;
        if (handle)
                return 0;
        void *h = dlopen("libarchive.so.13", RTLD_NOW | RTLD_LOCAL);
        if (!h) {
                if (ret_error)
                        asprintf_safe(ret_error,
                                      "cannot load libarchive (%s): install libarchive13",
                                      dlerror());
                return -EOPNOTSUPP;
        }
#define RESOLVE_SYM(name)                                                                          \
        sym_##name = (__typeof__(sym_##name))dlsym(h, #name);                                      \
        if (!sym_##name) {                                                                         \
                if (ret_error)                                                                     \
                        asprintf_safe(ret_error, "libarchive lacks %s", #name);                    \
                dlclose(h);                                                                        \
                return -EOPNOTSUPP;                                                                \
        }
        ARCHIVE_SYMBOLS(RESOLVE_SYM)
#undef RESOLVE_SYM
        handle = h;
        return 0;
}

#define archive_entry_filetype                  sym_archive_entry_filetype
#define archive_entry_free                      sym_archive_entry_free
#define archive_entry_hardlink                  sym_archive_entry_hardlink
#define archive_entry_new                       sym_archive_entry_new
#define archive_entry_pathname                  sym_archive_entry_pathname
#define archive_entry_perm                      sym_archive_entry_perm
#define archive_entry_set_filetype              sym_archive_entry_set_filetype
#define archive_entry_set_gid                   sym_archive_entry_set_gid
#define archive_entry_set_pathname              sym_archive_entry_set_pathname
#define archive_entry_set_perm                  sym_archive_entry_set_perm
#define archive_entry_set_size                  sym_archive_entry_set_size
#define archive_entry_set_uid                   sym_archive_entry_set_uid
#define archive_entry_symlink                   sym_archive_entry_symlink
#define archive_error_string                    sym_archive_error_string
#define archive_read_data_block                 sym_archive_read_data_block
#define archive_read_data_skip                  sym_archive_read_data_skip
#define archive_read_free                       sym_archive_read_free
#define archive_read_new                        sym_archive_read_new
#define archive_read_next_header                sym_archive_read_next_header
#define archive_read_open_fd                    sym_archive_read_open_fd
#define archive_read_support_filter_all         sym_archive_read_support_filter_all
#define archive_read_support_filter_gzip        sym_archive_read_support_filter_gzip
#define archive_read_support_filter_xz          sym_archive_read_support_filter_xz
#define archive_read_support_filter_zstd        sym_archive_read_support_filter_zstd
#define archive_read_support_format_gnutar      sym_archive_read_support_format_gnutar
#define archive_read_support_format_tar         sym_archive_read_support_format_tar
#define archive_write_close                     sym_archive_write_close
#define archive_write_data                      sym_archive_write_data
#define archive_write_free                      sym_archive_write_free
#define archive_write_header                    sym_archive_write_header
#define archive_write_new                       sym_archive_write_new
#define archive_write_open                      sym_archive_write_open
#define archive_write_open_fd                   sym_archive_write_open_fd
#define archive_write_add_filter_gzip           sym_archive_write_add_filter_gzip
#define archive_write_set_bytes_in_last_block   sym_archive_write_set_bytes_in_last_block
#define archive_write_set_filter_option         sym_archive_write_set_filter_option
#define archive_write_set_format_pax_restricted sym_archive_write_set_format_pax_restricted
#define archive_write_set_format_raw            sym_archive_write_set_format_raw

static la_ssize_t gzip_write(struct archive *a, void *userdata, const void *data, size_t len)
{
        return buf_append(userdata, data, len) < 0 ? -1 : (la_ssize_t)len;
}

int archive_gzip(const void *data, size_t len, char **ret, size_t *ret_len, char **ret_error)
{
        int q = archive_dlopen(ret_error);
        if (q < 0)
                return q;
        _cleanup_buf_ struct buf out = {0};
        struct archive *a = archive_write_new();
        struct archive_entry *e = archive_entry_new();
        int r = -ENOMEM;
        if (!a || !e)
                goto done;
        r = -EIO;
        /* one raw stream, gzip by libarchive's own zlib code (ARCHIVE_WARN would mean an external
         * gzip program); no time stamp in the header, so the same input gives the same bytes;
         * no padding of the last block, which would be bytes after the gzip stream */
        if (archive_write_set_format_raw(a) != ARCHIVE_OK ||
            archive_write_add_filter_gzip(a) != ARCHIVE_OK ||
            archive_write_set_filter_option(a, "gzip", "timestamp", NULL) != ARCHIVE_OK ||
            archive_write_set_filter_option(a, "gzip", "compression-level", "9") != ARCHIVE_OK ||
            archive_write_set_bytes_in_last_block(a, 1) != ARCHIVE_OK ||
            archive_write_open(a, &out, NULL, gzip_write, NULL) != ARCHIVE_OK)
                goto fail;
        archive_entry_set_pathname(e, "data");
        archive_entry_set_filetype(e, AE_IFREG);
        archive_entry_set_perm(e, 0644);
        archive_entry_set_size(e, (la_int64_t)len);
        if (archive_write_header(a, e) != ARCHIVE_OK)
                goto fail;
        for (size_t off = 0; off < len;) {
                la_ssize_t n = archive_write_data(a, (const char *)data + off, len - off);
                if (n <= 0)
                        goto fail;
                off += (size_t)n;
        }
        if (archive_write_close(a) != ARCHIVE_OK)
                goto fail;
        *ret_len = out.len;
        *ret = buf_steal(&out);
        r = *ret ? 0 : -ENOMEM;
        goto done;
fail:
        if (ret_error)
                asprintf_safe(ret_error, "gzip: %s", archive_error_string(a));
done:
        if (e)
                archive_entry_free(e);
        if (a)
                archive_write_free(a);
        return r;
}

char *archive_safe_name(const char *name)
{
        struct buf b = {0};
        for (const unsigned char *p = (const unsigned char *)name; *p; p++) {
                if (*p < 0x20 || *p >= 0x7f || *p == '\\')
                        buf_printf(&b, "\\x%02x", *p);
                else
                        buf_append(&b, p, 1);
        }
        return buf_steal(&b);
}

/* Names must stay inside the archive: relative, no "..", and links likewise. */
static bool path_is_safe(const char *p)
{
        if (!p || !*p || p[0] == '/')
                return false;
        for (const char *s = p; *s;) {
                const char *e = strchr(s, '/');
                size_t l = e ? (size_t)(e - s) : strlen(s);
                if (l == 2 && s[0] == '.' && s[1] == '.')
                        return false;
                s += l;
                while (*s == '/')
                        s++;
        }
        return true;
}

static bool symlink_is_safe(const char *entry, const char *target)
{
        if (!target || !*target || target[0] == '/')
                return false;
        /* A relative target is resolved from the link's directory: walk it from there and make
         * sure its ".." steps never climb above the archive's top. */
        int depth = 0;
        for (const char *s = entry; *s; s++)
                if (*s == '/' && s[1])
                        depth++;
        for (const char *s = target; *s;) {
                const char *e = strchr(s, '/');
                size_t l = e ? (size_t)(e - s) : strlen(s);
                if (l == 2 && s[0] == '.' && s[1] == '.')
                        depth--;
                else if (l > 0 && !(l == 1 && s[0] == '.'))
                        depth++;
                if (depth < 0)
                        return false;
                s += l;
                while (*s == '/')
                        s++;
        }
        return true;
}

/* 1 and the next entry, 0 at the end, -EBADMSG (with the reason) for a damaged archive. */
static int next_entry(struct archive *a, struct archive_entry **ret, char **ret_error)
{
        int ar = archive_read_next_header(a, ret);
        if (ar == ARCHIVE_EOF)
                return 0;
        if (ar < ARCHIVE_WARN) {
                asprintf_safe(ret_error, "archive damaged: %s", archive_error_string(a));
                return -EBADMSG;
        }
        return 1;
}

int archive_extract(int in_fd, struct archive_want *want, size_t n_want, char **ret_error)
{
        int q = archive_dlopen(ret_error);
        if (q < 0)
                return q;
        struct archive *a = archive_read_new();
        if (!a)
                return -ENOMEM;
        archive_read_support_filter_gzip(a);
        archive_read_support_filter_xz(a);
        archive_read_support_filter_zstd(a);
        archive_read_support_format_tar(a);
        archive_read_support_format_gnutar(a);
        int r = 0;
        if (archive_read_open_fd(a, in_fd, 256 * 1024) != ARCHIVE_OK) {
                asprintf_safe(ret_error, "not a readable archive: %s", archive_error_string(a));
                archive_read_free(a);
                return -EBADMSG;
        }
        struct digest *d[16] = {0};
        if (n_want > ELEMENTSOF(d)) {
                archive_read_free(a);
                return -E2BIG;
        }
        for (;;) {
                struct archive_entry *e;
                r = next_entry(a, &e, ret_error);
                if (r <= 0)
                        break;
                const char *name = archive_entry_pathname(e);
                const char *sym = archive_entry_symlink(e);
                const char *hard = archive_entry_hardlink(e);
                const char *bad = !path_is_safe(name) ? "a path outside the archive"
                                  : sym && !symlink_is_safe(name, sym)
                                      ? "a link pointing outside the archive"
                                  : hard && !path_is_safe(hard) ? "a hard link outside the archive"
                                                                : NULL;
                if (bad) {
                        _cleanup_free_ char *shown = archive_safe_name(name ? name : "");
                        asprintf_safe(ret_error, "refusing entry '%s': %s", shown, bad);
                        r = -EPERM;
                        break;
                }
                /* release tarballs may say "./kubernetes/..." */
                const char *n = startswith(name, "./") ? name + 2 : name;
                ssize_t idx = -1;
                for (size_t i = 0; i < n_want; i++)
                        if (streq(n, want[i].path))
                                idx = (ssize_t)i;
                if (idx < 0 || archive_entry_filetype(e) != AE_IFREG) {
                        archive_read_data_skip(a);
                        continue;
                }
                struct archive_want *w = &want[idx];
                if (w->found) {
                        asprintf_safe(ret_error, "member '%s' appears twice", w->path);
                        r = -EBADMSG;
                        break;
                }
                w->found = 1;
                r = digest_new(w->alg, &d[idx]);
                if (r < 0)
                        break;
                const void *buf;
                size_t len;
                la_int64_t off;
                uint64_t pos = 0, synced = 0;
                for (;;) {
                        int ar = archive_read_data_block(a, &buf, &len, &off);
                        if (ar == ARCHIVE_EOF)
                                break;
                        if (ar < ARCHIVE_WARN) {
                                asprintf_safe(ret_error, "reading '%s': %s", w->path,
                                              archive_error_string(a));
                                r = -EBADMSG;
                                break;
                        }
                        /* sparse members would need seeking: release binaries are not sparse */
                        if ((unsigned long long)off != w->size) {
                                asprintf_safe(ret_error, "member '%s' is sparse", w->path);
                                r = -EBADMSG;
                                break;
                        }
                        r = digest_update(d[idx], buf, len);
                        if (r >= 0)
                                r = write_behind(w->fd, buf, len, &pos, &synced);
                        if (r < 0)
                                break;
                        w->size += len;
                }
                if (r < 0)
                        break;
                r = digest_final_hex(d[idx], w->hex);
                if (r < 0)
                        break;
        }
        /* Drain the rest so whoever feeds us sees the whole stream consumed. */
        if (r >= 0) {
                char sink[65536];
                while (read(in_fd, sink, sizeof(sink)) > 0)
                        ;
        }
        for (size_t i = 0; i < n_want; i++)
                digest_free(d[i]);
        for (size_t i = 0; r >= 0 && i < n_want; i++)
                if (!want[i].found) {
                        asprintf_safe(ret_error, "member '%s' not found in the archive",
                                      want[i].path);
                        r = -ENOENT;
                }
        archive_read_free(a);
        return r;
}

struct archive_writer {
        struct archive *a;
};

int archive_writer_new(int out_fd, struct archive_writer **ret)
{
        if (archive_dlopen(NULL) < 0)
                return -EOPNOTSUPP;
        struct archive_writer *w = calloc(1, sizeof(*w));
        if (!w)
                return -ENOMEM;
        w->a = archive_write_new();
        if (!w->a || archive_write_set_format_pax_restricted(w->a) != ARCHIVE_OK ||
            archive_write_open_fd(w->a, out_fd) != ARCHIVE_OK) {
                archive_writer_free(w);
                return -EIO;
        }
        *ret = w;
        return 0;
}

static int add_header(struct archive_writer *w, const char *path, size_t size, unsigned mode)
{
        struct archive_entry *e = archive_entry_new();
        if (!e)
                return -ENOMEM;
        archive_entry_set_pathname(e, path);
        archive_entry_set_size(e, (la_int64_t)size);
        archive_entry_set_filetype(e, AE_IFREG);
        archive_entry_set_perm(e, mode);
        archive_entry_set_uid(e, 0);
        archive_entry_set_gid(e, 0);
        int r = archive_write_header(w->a, e) == ARCHIVE_OK ? 0 : -EIO;
        archive_entry_free(e);
        return r;
}

int archive_writer_add_data(struct archive_writer *w, const char *path, const void *data,
                            size_t len, unsigned mode)
{
        int r = add_header(w, path, len, mode);
        if (r < 0)
                return r;
        return archive_write_data(w->a, data, len) == (la_ssize_t)len ? 0 : -EIO;
}

int archive_writer_add_fd(struct archive_writer *w, const char *path, int fd, unsigned mode)
{
        struct stat st;
        if (fstat(fd, &st) < 0)
                return -errno;
        int r = add_header(w, path, (size_t)st.st_size, mode);
        if (r < 0)
                return r;
        static char chunk[1 << 17];
        off_t done = 0;
        while (done < st.st_size) {
                ssize_t n = pread(fd, chunk, sizeof(chunk), done);
                if (n < 0 && errno == EINTR)
                        continue;
                if (n <= 0)
                        return n < 0 ? -errno : -EIO;
                if (archive_write_data(w->a, chunk, (size_t)n) != n)
                        return -EIO;
                done += n;
        }
        return 0;
}

int archive_writer_close(struct archive_writer *w, char **ret_error)
{
        if (archive_write_close(w->a) != ARCHIVE_OK) {
                asprintf_safe(ret_error, "%s", archive_error_string(w->a));
                return -EIO;
        }
        return 0;
}

struct archive_writer *archive_writer_free(struct archive_writer *w)
{
        if (!w)
                return NULL;
        if (w->a)
                archive_write_free(w->a);
        free(w);
        return NULL;
}

/* One regular file of a bundle: created (never reused: O_EXCL) below dir_fd, its data written
 * through the descriptor, its mode set through it too. */
static int unpack_file(struct archive *a, int dir_fd, const char *name, unsigned perm,
                       char **ret_error)
{
        _cleanup_free_ char *parent = strdup(name);
        if (!parent)
                return -ENOMEM;
        char *slash = strrchr(parent, '/');
        const char *leaf = slash ? slash + 1 : parent;
        if (slash)
                *slash = 0;
        _cleanup_close_ int pfd = -1;
        int r = mkdir_beneath(dir_fd, slash ? parent : ".", 0700, &pfd);
        _cleanup_close_ int fd =
            r < 0 ? r : open_beneath(pfd, leaf, O_WRONLY | O_CREAT | O_EXCL, 0600);
        if (fd < 0) {
                _cleanup_free_ char *shown = archive_safe_name(name);
                asprintf_safe(ret_error, "unpacking '%s': %s", shown,
                              fd == -EEXIST ? "the entry appears twice" : strerror(-fd));
                return fd == -EEXIST ? -EBADMSG : fd;
        }
        const void *buf;
        size_t len;
        la_int64_t off;
        uint64_t pos = 0;
        for (;;) {
                int ar = archive_read_data_block(a, &buf, &len, &off);
                if (ar == ARCHIVE_EOF)
                        break;
                if (ar < ARCHIVE_WARN) {
                        asprintf_safe(ret_error, "archive damaged: %s", archive_error_string(a));
                        return -EBADMSG;
                }
                /* written in order: a bundle's files are not sparse */
                if ((unsigned long long)off != pos) {
                        _cleanup_free_ char *shown = archive_safe_name(name);
                        asprintf_safe(ret_error, "entry '%s' is sparse", shown);
                        return -EBADMSG;
                }
                r = write_all(fd, buf, len);
                if (r < 0) {
                        _cleanup_free_ char *shown = archive_safe_name(name);
                        asprintf_safe(ret_error, "writing '%s': %s", shown, strerror(-r));
                        return r;
                }
                pos += len;
        }
        /* no owners, set-id bits or write bits for others from the archive */
        if (fchmod(fd, perm & 0755) < 0)
                return -errno;
        return 0;
}

int archive_unpack_all(int in_fd, const char *dir, char **ret_error)
{
        int r = archive_dlopen(ret_error);
        if (r < 0)
                return r;
        _cleanup_close_ int dir_fd = open(dir, O_PATH | O_DIRECTORY | O_CLOEXEC | O_NOFOLLOW);
        if (dir_fd < 0)
                return -errno;
        struct archive *a = archive_read_new();
        if (!a)
                return -ENOMEM;
        archive_read_support_filter_all(a);
        archive_read_support_format_tar(a);
        if (archive_read_open_fd(a, in_fd, 256 * 1024) != ARCHIVE_OK) {
                asprintf_safe(ret_error, "not a readable archive: %s", archive_error_string(a));
                r = -EBADMSG;
        }
        /* Not libarchive's archive_write_disk: it resolves names from the working directory
         * and follows a hard-link entry's target wherever it points (a pax hard link may carry
         * data, which it then writes into the target and chmods). Bundles hold plain files and
         * directories only, so every entry is checked here and written through descriptors
         * below dir_fd, which no name can leave. */
        while (r >= 0) {
                struct archive_entry *e;
                r = next_entry(a, &e, ret_error);
                if (r <= 0)
                        break;
                const char *pn = archive_entry_pathname(e);
                _cleanup_free_ char *name = strdup(pn ? pn : "");
                if (!name) {
                        r = -ENOMEM;
                        break;
                }
                unsigned type = archive_entry_filetype(e);
                const char *bad =
                    !path_is_safe(name) ? "a path outside the bundle"
                    : archive_entry_hardlink(e)
                        ? "a hard link (bundles hold plain files and directories only)"
                    : archive_entry_symlink(e) || (type != AE_IFREG && type != AE_IFDIR)
                        ? "bundles hold plain files and directories only"
                        : NULL;
                if (bad) {
                        _cleanup_free_ char *shown = archive_safe_name(name);
                        asprintf_safe(ret_error, "refusing entry '%s': %s", shown, bad);
                        r = -EPERM;
                        break;
                }
                if (type == AE_IFDIR) {
                        _cleanup_close_ int fd = -1;
                        r = mkdir_beneath(dir_fd, name, 0700, &fd);
                        if (r < 0) {
                                _cleanup_free_ char *shown = archive_safe_name(name);
                                asprintf_safe(ret_error, "unpacking '%s': %s", shown, strerror(-r));
                        }
                } else {
                        /* "a/b/" and "a/b" are the same file */
                        for (size_t l = strlen(name); l > 1 && name[l - 1] == '/'; l--)
                                name[l - 1] = 0;
                        r = unpack_file(a, dir_fd, name, archive_entry_perm(e), ret_error);
                }
        }
        archive_read_free(a);
        return r;
}
