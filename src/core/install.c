/* Installing a plan: every change staged into a temp file beside its target (downloads
 * verified, from the cache, a bundle or the network), then all published by rename, then
 * recorded in the state. Also fetch's variant that fills only the cache. */
#include "install.h"

#include <errno.h>
#include <stdio.h>
#include <fcntl.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "archive.h"
#include "cache.h"
#include "signature.h"
#include "proc.h"
#include "tarball.h"
#include "util.h"

struct staged {
        int dirfd;
        char *tmp;
        const char *name;
        struct item *it;
        int fd;           /* downloads: open until verified */
        char *sig, *cert; /* the .sig and .cert it was verified with, for the cache */
        size_t sig_len, cert_len;
};

static void staged_abort_all(struct staged *s, size_t n)
{
        for (size_t i = 0; i < n; i++) {
                if (s[i].fd >= 0)
                        close(s[i].fd);
                if (s[i].tmp)
                        stage_abort(s[i].dirfd, s[i].tmp);
                free(s[i].tmp);
                if (s[i].dirfd >= 0)
                        close(s[i].dirfd);
                free(s[i].sig);
                free(s[i].cert);
        }
        free(s);
}

static int stage_item(struct target *t, struct item *it, struct staged *s)
{
        int r = target_open_parent(t, it->path, true, &s->dirfd, &s->name);
        if (r < 0)
                return r;
        s->it = it;
        if (it->kind == ITEM_SYMLINK || it->action == ACTION_CHMOD)
                return 0; /* done in the publish step: nothing to stage */
        int fd = stage_open(s->dirfd, s->name, &s->tmp);
        if (fd < 0)
                return fd;
        if (it->kind == ITEM_DOWNLOAD) {
                s->fd = fd; /* filled by the cache or the network, then finished */
                return 0;
        }
        r = write_all(fd, it->content, it->len);
        if (r >= 0)
                r = stage_finish(fd, it->mode, true);
        close(fd);
        return r;
}

static bool signatures_on(const struct plan *p)
{
        return p->sig && p->sig->mode != SIGNATURE_OFF;
}

/* "IDENTITY (ISSUER)", as a verified signature and the cache's record say it. */
static char *expected_signer(const struct plan *p)
{
        char *s = NULL;
        asprintf_safe(&s, "%s (%s)", p->sig->identity, p->sig->issuer);
        return s;
}

/* A memory job for the .sig or .cert next to each of urls (the same mirrors, in order). */
static int signature_job(struct fetch_job *j, char *const *urls, const char *ext)
{
        *j = (struct fetch_job){.fd = -1, .alg = DIGEST_SHA256, .max_mem = 64u << 10};
        for (char *const *u = urls; u && *u; u++) {
                char *s = strjoin3(*u, ext, NULL);
                if (!s || strv_push(&j->urls, s) < 0)
                        return -ENOMEM;
        }
        return 0;
}

static void signature_jobs_done(struct fetch_job *j, size_t n)
{
        for (size_t i = 0; i < n; i++) {
                j[i].urls = strv_free(j[i].urls);
                fetch_job_done(&j[i]);
        }
}

/* Not signed (missing says why): refused under require; a warning under if-present. */
static int unsigned_file(struct plan *p, const char *name, const char *url, const char *missing,
                         char **ret_error)
{
        if (p->sig->mode == SIGNATURE_IF_PRESENT) {
                _cleanup_free_ char *w = NULL;
                asprintf_safe(&w,
                              "%s (%s): not signature-verified: %s ([download] signatures = "
                              "if-present)",
                              name, url, missing);
                return w ? strv_extend(&p->warnings, w) : -ENOMEM;
        }
        asprintf_safe(ret_error,
                      "%s (%s): signature refused: no signature: %s ([download] signatures = "
                      "require)",
                      name, url, missing);
        return -ENOENT;
}

/* Checks a file that arrived from url with the SHA-256 computed as it did, against its .sig
 * and .cert jobs; *ret_signed_by stays NULL when it is let through unsigned. */
static int check_signed(struct plan *p, const char *name, const char *url, const char *sha256,
                        struct fetch_job *sj, struct fetch_job *cj, char **ret_signed_by,
                        char **ret_error)
{
        struct fetch_job *missing = sj->result == -ENOENT ? sj : cj->result == -ENOENT ? cj : NULL;
        if (missing)
                return unsigned_file(p, name, url, missing->error ? missing->error : "not found",
                                     ret_error);
        for (struct fetch_job *j = sj; j; j = j == sj ? cj : NULL)
                if (j->result < 0) {
                        asprintf_safe(ret_error, "%s (%s): signature not fetched: %s", name, url,
                                      j->error ? j->error : strerror(-j->result));
                        return j->result;
                }
        return signature_check(p->sig, name, url, sha256, sj->body, sj->body_len, cj->body,
                               cj->body_len, ret_signed_by, ret_error);
}

/* A bundle's binary: its .sig and .cert travel beside it (bin/NAME.sig, bin/NAME.cert) and are
 * checked here, offline, against the SHA-256 of the copy just made. */
static int check_signed_local(struct plan *p, struct staged *s, const char *sha256,
                              char **ret_error)
{
        const char *name = strrchr(s->it->path, '/') + 1;
        _cleanup_free_ char *sp = strjoin3(s->it->local_path, ".sig", NULL);
        _cleanup_free_ char *cp = strjoin3(s->it->local_path, ".cert", NULL);
        _cleanup_free_ char *sig = NULL, *cert = NULL, *why = NULL;
        size_t sl = 0, cl = 0;
        if (!sp || !cp)
                return -ENOMEM;
        int r = read_file_trusted(sp, 64u << 10, &sig, &sl);
        if (r >= 0)
                r = read_file_trusted(cp, 64u << 10, &cert, &cl);
        if (r == -ENOENT) {
                asprintf_safe(&why, "the bundle carries no bin/%s.sig and bin/%s.cert", name, name);
                return why ? unsigned_file(p, name, s->it->url, why, ret_error) : -ENOMEM;
        }
        if (r < 0) {
                asprintf_safe(ret_error, "%s (%s): signature not read: %s", name, s->it->url,
                              fileio_strerror(r));
                return r;
        }
        r = signature_check(p->sig, name, s->it->url, sha256, sig, sl, cert, cl, &s->it->signed_by,
                            ret_error);
        if (r >= 0) {
                s->sig = TAKE_PTR(sig);
                s->cert = TAKE_PTR(cert);
                s->sig_len = sl;
                s->cert_len = cl;
        }
        return r;
}

/* The members of one tarball are extracted into their staging files as it streams by; their
 * digests are learnt on the way. */
static int fill_from_tarball(struct plan *p, const struct plan_tarball *tb, struct staged **s,
                             size_t n, const struct install_hooks *h, char **ret_error)
{
        _cleanup_free_ struct archive_want *want = calloc(n ? n : 1, sizeof(*want));
        if (!want)
                return -ENOMEM;
        for (size_t i = 0; i < n; i++)
                want[i] = (struct archive_want){
                    .path = s[i]->it->member, .fd = s[i]->fd, .alg = s[i]->it->alg};
        bool sig = signatures_on(p) && tb->release_signed;
        const struct tarball_source src = {
            .urls = tb->urls,
            .alg = tb->alg,
            .hex = tb->hex,
            .http = &p->http,
            .policy = &p->policy,
            .progress = h ? h->progress : NULL,
            .userdata = h ? h->userdata : NULL,
            .warnings = &p->warnings,
            .want_sha256 = sig,
        };
        /* the tarball's own .sig and .cert, fetched first: small, and the tarball is then
         * checked as soon as its last byte is hashed */
        struct fetch_job sj[2] = {0};
        _cleanup_free_ char *signed_by = NULL;
        int r = 0;
        if (sig) {
                r = signature_job(&sj[0], tb->urls, ".sig");
                if (r >= 0)
                        r = signature_job(&sj[1], tb->urls, ".cert");
                if (r >= 0)
                        r = fetch_run(sj, 2, &p->http, &p->policy, NULL, NULL);
        }
        struct tarball_result res = {0};
        const char *tname = strrchr(tb->urls[0], '/') + 1;
        /* no signature to be had under require: refused before the tarball is fetched */
        if (r >= 0 && sig && p->sig->mode == SIGNATURE_REQUIRE &&
            (sj[0].result < 0 || sj[1].result < 0))
                r = check_signed(p, tname, tb->urls[0], "", &sj[0], &sj[1], &signed_by, ret_error);
        if (r >= 0)
                r = tarball_extract(&src, want, n, &res, ret_error);
        /* verified before any member is staged for good */
        if (r >= 0 && sig)
                r = check_signed(p, tname, res.url_used, res.sha256, &sj[0], &sj[1], &signed_by,
                                 ret_error);
        signature_jobs_done(sj, 2);
        if (r < 0)
                return r;
        p->bytes_downloaded += res.bytes;
        for (size_t i = 0; i < n; i++) {
                memcpy(s[i]->it->hex, want[i].hex, sizeof(want[i].hex));
                s[i]->it->url_used = res.url_used;
                if (signed_by && !(s[i]->it->signed_by = strdup(signed_by)))
                        return -ENOMEM;
        }
        return 0;
}

/* Every tarball that has members to fill, one after the other. */
static int fill_from_tarballs(struct plan *p, struct staged **from_tar, size_t n_tar,
                              const struct install_hooks *h, char **ret_error)
{
        _cleanup_free_ struct staged **one = calloc(n_tar ? n_tar : 1, sizeof(*one));
        int r = one ? 0 : -ENOMEM;
        for (size_t ti = 0; ti < p->n_tarballs && r >= 0; ti++) {
                size_t k = 0;
                for (size_t i = 0; i < n_tar; i++)
                        if (from_tar[i]->it->tarball == ti)
                                one[k++] = from_tar[i];
                if (k > 0)
                        r = fill_from_tarball(p, &p->tarballs[ti], one, k, h, ret_error);
        }
        return r;
}

/* A binary whose digest was only learnt from the tarball may turn out to be installed
 * already: then it is left alone. */
static int settle_unknown(struct plan *p, struct staged *s)
{
        struct item *it = s->it;
        _cleanup_close_ int fd = open_regular_at(s->dirfd, s->name);
        if (fd < 0)
                return fd == -ENOENT ? 0 : fd;
        char hex[DIGEST_HEX_MAX];
        int r = digest_fd(fd, it->alg, hex);
        if (r < 0)
                return r;
        struct stat st;
        if (fstat(fd, &st) == 0)
                p->bytes_hashed += (uint64_t)st.st_size;
        if (streq(hex, it->hex))
                it->action = ACTION_NONE;
        return 0;
}

/* Fills every staged download: from the cache when it has the digest, the rest in parallel
 * from the network. */
static int fill_downloads(struct plan *p, struct target *t, struct staged *s, size_t n,
                          const struct install_hooks *h, char **ret_error)
{
        /* per binary: its own job, then (signatures on) its .sig and .cert jobs after all */
        struct fetch_job *jobs = calloc(3 * n + 1, sizeof(*jobs));
        struct staged **owner = calloc(n ? n : 1, sizeof(*owner));
        bool sig = signatures_on(p);
        _cleanup_free_ char *signer = sig ? expected_signer(p) : NULL;
        size_t k = 0, n_jobs = 0;
        int r = sig && !signer ? -ENOMEM : 0;
        if (!jobs || !owner) {
                free(jobs);
                free(owner);
                return -ENOMEM;
        }
        _cleanup_free_ struct staged **from_tar = calloc(n ? n : 1, sizeof(*from_tar));
        size_t n_tar = 0;
        if (!from_tar)
                r = -ENOMEM;
        for (size_t i = 0; i < n && r >= 0; i++) {
                if (s[i].fd < 0)
                        continue;
                /* with signatures on, only an entry recorded as verified by the same signer is
                 * taken: any other is fetched and verified again */
                _cleanup_free_ char *by = NULL;
                bool isig = sig && s[i].it->release_signed;
                if (s[i].it->hex[0] &&
                    (!isig ||
                     (cache_signed_by(t, p->cache_dir, s[i].it->alg, s[i].it->hex, &by) >= 0 &&
                      streq(by, signer))) &&
                    cache_take(t, p->cache_dir, s[i].it->alg, s[i].it->hex, s[i].fd) == 0) {
                        s[i].it->from_cache = true;
                        s[i].it->signed_by = TAKE_PTR(by);
                        p->from_cache++;
                        continue;
                }
                if (s[i].it->local_path) {
                        /* checked against the bundle's manifest when it was opened, and
                         * again here, byte by byte, as it is copied into place */
                        _cleanup_close_ int in = open_regular_at(AT_FDCWD, s[i].it->local_path);
                        char sha256[DIGEST_HEX_MAX];
                        r = in < 0
                                ? in
                                : digest_copy_verified_sha256(in, s[i].fd, s[i].it->alg,
                                                              s[i].it->hex, isig ? sha256 : NULL);
                        if (r < 0)
                                asprintf_safe(ret_error, "%s: %s", s[i].it->local_path,
                                              r == -EBADMSG ? "does not match its digest"
                                                            : fileio_strerror(r));
                        else if (isig) /* offline: what the bundle carries, nothing fetched */
                                r = check_signed_local(p, &s[i], sha256, ret_error);
                        continue;
                }
                if (s[i].it->member) {
                        from_tar[n_tar++] = &s[i];
                        continue;
                }
                jobs[k] = (struct fetch_job){.urls = s[i].it->urls,
                                             .fd = s[i].fd,
                                             .alg = s[i].it->alg,
                                             .expect_hex = s[i].it->hex,
                                             .want_sha256 = sig};
                owner[k++] = &s[i];
        }
        n_jobs = k;
        for (size_t i = 0; sig && i < k && r >= 0; i++) {
                n_jobs = k + 2 * i + 2; /* set first: a half-made job is freed too */
                r = signature_job(&jobs[k + 2 * i], owner[i]->it->urls, ".sig");
                if (r >= 0)
                        r = signature_job(&jobs[k + 2 * i + 1], owner[i]->it->urls, ".cert");
        }
        if (k > 0 && r >= 0)
                r = fetch_run(jobs, n_jobs, &p->http, &p->policy, h ? h->progress : NULL,
                              h ? h->userdata : NULL);
        for (size_t i = 0; i < k && r >= 0; i++) {
                if (jobs[i].result < 0) {
                        r = jobs[i].result;
                        asprintf_safe(ret_error, "%s", jobs[i].error);
                        break;
                }
                /* verified before anything is staged for good, let alone published */
                if (sig)
                        r = check_signed(p, strrchr(owner[i]->it->path, '/') + 1, jobs[i].url_used,
                                         jobs[i].sha256, &jobs[k + 2 * i], &jobs[k + 2 * i + 1],
                                         &owner[i]->it->signed_by, ret_error);
                if (r < 0)
                        break;
                if (sig && owner[i]->it->signed_by) { /* kept beside its cache entry */
                        owner[i]->sig = TAKE_PTR(jobs[k + 2 * i].body);
                        owner[i]->sig_len = jobs[k + 2 * i].body_len;
                        owner[i]->cert = TAKE_PTR(jobs[k + 2 * i + 1].body);
                        owner[i]->cert_len = jobs[k + 2 * i + 1].body_len;
                }
                owner[i]->it->url_used = jobs[i].url_used;
                if (jobs[i].error) /* earlier URLs failed before this one served the file */
                        (void)strv_extend(&p->warnings, jobs[i].error);
                p->bytes_downloaded += jobs[i].bytes;
        }
        if (r >= 0 && n_tar > 0)
                r = fill_from_tarballs(p, from_tar, n_tar, h, ret_error);
        for (size_t i = 0; i < n_tar && r >= 0; i++)
                if (from_tar[i]->it->verify_after)
                        r = settle_unknown(p, from_tar[i]);
        for (size_t i = 0; i < n && r >= 0; i++) {
                if (s[i].fd < 0 || s[i].it->action == ACTION_NONE)
                        continue;
                r = stage_finish(s[i].fd, s[i].it->mode, true);
                int q = r >= 0 && !s[i].it->from_cache
                            ? cache_put(t, p->cache_dir, s[i].it->alg, s[i].it->hex, s[i].dirfd,
                                        s[i].tmp, s[i].fd)
                            : 0;
                if (q >= 0 && !s[i].it->from_cache && s[i].it->signed_by)
                        q = cache_put_signed(t, p->cache_dir, s[i].it->alg, s[i].it->hex,
                                             s[i].it->signed_by, s[i].sig, s[i].sig_len, s[i].cert,
                                             s[i].cert_len);
                if (q < 0) {
                        /* the install goes on; only the next run pays, with a download */
                        _cleanup_free_ char *w = NULL;
                        asprintf_safe(&w, "%s: not kept in the cache %s: %s", s[i].it->path,
                                      p->cache_dir, strerror(-q));
                        if (w)
                                (void)strv_extend(&p->warnings, w);
                }
        }
        for (size_t i = 0; i < k; i++)
                fetch_job_done(&jobs[i]);
        if (n_jobs > k)
                signature_jobs_done(jobs + k, n_jobs - k);
        free(jobs);
        free(owner);
        return r;
}

static int publish_item(struct staged *s)
{
        struct item *it = s->it;
        if (it->kind == ITEM_SYMLINK)
                return atomic_symlink_at(s->dirfd, s->name, it->link_target);
        if (it->action == ACTION_CHMOD)
                return chmod_regular_at(s->dirfd, s->name, it->mode, true);
        int r = stage_commit(s->dirfd, s->tmp, s->name);
        if (r >= 0) {
                free(s->tmp);
                s->tmp = NULL;
        }
        return r;
}

static enum state_kind item_kind_to_state(const struct item *it)
{
        switch (it->kind) {
        case ITEM_DOWNLOAD:
                return STATE_KIND_DOWNLOAD;
        case ITEM_SYMLINK:
                return STATE_KIND_LINK;
        case ITEM_DIR:
                return STATE_KIND_DIR;
        default:
                return STATE_KIND_FILE;
        }
}

/* Remembers every item we own; binaries with their digest and stat fingerprint. */
static int record_items(struct plan *p, struct target *t, struct state *st)
{
        _cleanup_free_ char *signer = NULL;
        for (size_t i = 0; i < p->n_items; i++) {
                struct item *it = &p->items[i];
                struct state_entry e = {
                    .kind = item_kind_to_state(it), .path = it->path, .alg = it->alg};
                if (it->kind == ITEM_DOWNLOAD) {
                        _cleanup_close_ int dfd = -1;
                        const char *name;
                        struct stat sb;
                        if (target_open_parent(t, it->path, false, &dfd, &name) < 0 ||
                            fstatat(dfd, name, &sb, AT_SYMLINK_NOFOLLOW) < 0)
                                continue;
                        e.url = it->url;
                        e.digest_url = it->digest_from;
                        /* an unchanged binary keeps what an earlier run verified (copied:
                         * state_put frees the slot it replaces) */
                        const struct state_entry *was = state_find(st, it->path);
                        free(signer);
                        signer = it->signed_by                      ? strdup(it->signed_by)
                                 : it->action == ACTION_NONE && was ? strdup(was->signed_by)
                                                                    : NULL;
                        e.signed_by = signer;
                        memcpy(e.hex, it->hex, sizeof(e.hex));
                        state_set_stat(&e, &sb);
                } else if (it->kind == ITEM_SYMLINK)
                        e.url = it->link_target;
                else if (it->kind == ITEM_FILE) {
                        /* so reset can tell our file from one the operator has since edited */
                        e.alg = DIGEST_SHA256;
                        int q = digest_buffer(DIGEST_SHA256, it->content, it->len, e.hex);
                        if (q < 0)
                                return q;
                }
                const struct state_entry *old = state_find(st, it->path);
                /* Directories are only ours if we made them; keep what an earlier run knew. */
                if (it->kind == ITEM_DIR && !old && it->action != ACTION_CREATE)
                        continue;
                int r = state_put(st, &e);
                if (r < 0)
                        return r;
        }
        /* Every directory this run made (parents included) is ours to remove on reset. */
        for (char **d = t->created_dirs; d && *d; d++) {
                if (state_find(st, *d))
                        continue;
                struct state_entry e = {.kind = STATE_KIND_DIR, .path = *d};
                int r = state_put(st, &e);
                if (r < 0)
                        return r;
        }
        /* The release now installed: the next plan checks the version skew against it. */
        int q = p->version ? state_put_release(st, p->version) : 0;
        if (q < 0)
                return q;
        /* Each tarball's digest asked of its server, so the next run needs no request. */
        for (size_t i = 0; i < p->n_tarballs; i++) {
                const struct plan_tarball *tb = &p->tarballs[i];
                if (!tb->remember)
                        continue;
                _cleanup_free_ char *key = state_tarball_key(tb->urls[0]);
                struct state_entry e = {.kind = STATE_KIND_DIGEST,
                                        .path = key,
                                        .url = tb->urls[0],
                                        .digest_url = tb->digest_from,
                                        .alg = tb->alg};
                if (!key)
                        return -ENOMEM;
                memcpy(e.hex, tb->hex, sizeof(e.hex));
                int r = state_put(st, &e);
                if (r < 0)
                        return r;
        }
        return 0;
}

void install_sweep_staging(struct plan *p, struct target *t)
{
        for (size_t i = 0; i < p->n_items; i++) {
                const struct item *it = &p->items[i];
                if (it->kind == ITEM_DIR)
                        continue;
                const char *slash = strrchr(it->path, '/');
                _cleanup_free_ char *dir =
                    slash == it->path ? strdup("/") : strndup(it->path, (size_t)(slash - it->path));
                if (dir)
                        target_sweep_staging(t, dir, slash + 1);
        }
        cache_sweep(t, p->cache_dir);
}

/* What a checker said that matters, on one line: its "[ALERT]" lines (haproxy's errors; its
 * NOTICE lines only name its version), or everything when it has none. */
static char *alert_lines(const char *out)
{
        struct buf b = {0};
        int r = 0;
        for (const char *l = out; l && *l && r >= 0;) {
                size_t len = strcspn(l, "\n");
                if (len && memmem(l, len, "[ALERT]", 7))
                        r = buf_printf(&b, "%s%.*s", b.len ? "; " : "", (int)len, l);
                l += len + (l[len] == '\n');
        }
        if (r < 0 || !b.len) {
                buf_done(&b);
                return NULL;
        }
        return buf_steal(&b);
}

/* A component's own check of a staged config file (haproxy -c -f), run on the staged file
 * through its descriptor (as /dev/stdin): what it refuses is never published, and nothing is
 * reloaded. */
static int check_staged(struct target *t, struct staged *s, size_t n, char **ret_error)
{
        for (size_t i = 0; i < n; i++) {
                const struct component *c = s[i].it->component;
                if (s[i].it->kind != ITEM_FILE || !s[i].tmp || !c || !c->check_staged)
                        continue;
                _cleanup_close_ int fd =
                    openat(s[i].dirfd, s[i].tmp, O_RDONLY | O_NOFOLLOW | O_CLOEXEC);
                if (fd < 0)
                        return -errno;
                _cleanup_strv_free_ char **argv = NULL;
                int r = 0;
                for (const char *const *a = c->check_staged; *a && r >= 0; a++)
                        r = strv_extend(&argv, streq(*a, "{}") ? "/dev/stdin" : *a);
                if (r < 0)
                        return r;
                _cleanup_free_ char *out = NULL;
                _cleanup_free_ char *shown = target_display(t, s[i].it->path);
                struct proc_options o = {.stdin_fd = fd};
                r = proc_run_with(argv, &o, &out);
                if (r == -ENOENT) {
                        asprintf_safe(ret_error, "%s is not installed; %s: install it (%s)",
                                      c->package ? c->package : argv[0], c->purpose,
                                      c->install_hint);
                        return -ENOENT;
                }
                if (r < 0)
                        return r;
                if (r != 0) {
                        _cleanup_free_ char *alerts = alert_lines(out);
                        _cleanup_(buf_donep) struct buf cmd = {0};
                        for (char **a = argv; *a; a++)
                                (void)buf_printf(&cmd, "%s%s", a == argv ? "" : " ", *a);
                        asprintf_safe(ret_error,
                                      "%s rejects the configuration staged for %s (%s); nothing "
                                      "was published or reloaded: %s",
                                      c->name, shown ? shown : s[i].it->path,
                                      cmd.data ? cmd.data : argv[0],
                                      alerts ? alerts
                                      : out  ? out
                                             : "");
                        return -EINVAL;
                }
        }
        return 0;
}

int install_apply(struct plan *p, struct target *t, struct state *st, const struct install_hooks *h,
                  char **ret_error)
{
        struct staged *s = calloc(p->n_items + 1, sizeof(*s));
        size_t n = 0;
        const char *failed_path = NULL;
        int r = 0;
        if (!s)
                return -ENOMEM;

        /* Stage: nothing is visible at a final path yet. */
        for (size_t i = 0; i < p->n_items && r >= 0; i++) {
                struct item *it = &p->items[i];
                if (it->action == ACTION_NONE)
                        continue;
                failed_path = it->path;
                if (it->kind == ITEM_DIR) {
                        int fd;
                        r = target_open_dir(t, it->path, true, &fd);
                        if (r < 0)
                                continue;
                        /* made 0755 like every directory; a private one gets its own mode,
                         * through the descriptor just opened (O_PATH: by its /proc name) */
                        char fdpath[64];
                        snprintf(fdpath, sizeof(fdpath), "/proc/self/fd/%d", fd);
                        if (it->secret && chmod(fdpath, it->mode) < 0)
                                r = -errno;
                        close(fd);
                        continue;
                }
                s[n].dirfd = -1;
                s[n].fd = -1;
                r = stage_item(t, it, &s[n]);
                n++;
        }
        if (r >= 0) {
                failed_path = NULL;
                r = fill_downloads(p, t, s, n, h, ret_error);
        }
        if (r >= 0)
                r = check_staged(t, s, n, ret_error);
        if (r >= 0 && h && h->before_publish) {
                r = h->before_publish(h->userdata);
                if (r < 0)
                        asprintf_safe(ret_error, "keeping the files this install replaces: %s",
                                      strerror(-r));
        }
        if (r < 0) {
                if (!*ret_error) {
                        _cleanup_free_ char *shown =
                            target_display(t, failed_path ? failed_path : "/");
                        asprintf_safe(ret_error, "%s: %s", shown, strerror(-r));
                }
                staged_abort_all(s, n);
                target_undo_dirs(t);
                return r;
        }

        /* Publish: one rename per file, each atomic. */
        for (size_t i = 0; i < p->n_items; i++)
                if (p->items[i].kind == ITEM_DIR && p->items[i].action != ACTION_NONE && h &&
                    h->done)
                        h->done(&p->items[i], h->userdata);
        for (size_t i = 0; i < n; i++) {
                if (s[i].it->action == ACTION_NONE)
                        continue; /* learnt after extraction: already installed */
                r = publish_item(&s[i]);

                if (r < 0) {
                        _cleanup_free_ char *shown = target_display(t, s[i].it->path);
                        asprintf_safe(ret_error, "%s: %s", shown, strerror(-r));
                        break;
                }
                if (h && h->done)
                        h->done(s[i].it, h->userdata);
        }
        staged_abort_all(s, n);
        if (r >= 0 && st)
                r = record_items(p, t, st);
        t->created_dirs = strv_free(t->created_dirs);
        return r;
}

int install_fetch(struct plan *p, struct target *t, const struct install_hooks *h, char **ret_error)
{
        /* Downloads are staged in a scratch directory inside the cache and land in the cache
         * (by digest) through the same path as apply's. */
        struct cache_scratch sc;
        int r = cache_scratch_open(t, p->cache_dir, &sc);
        if (r < 0)
                return r;
        struct staged *s = calloc(p->n_items + 1, sizeof(*s));
        size_t n = 0;
        r = s ? 0 : -ENOMEM;
        for (size_t i = 0; i < p->n_items && r >= 0; i++) {
                struct item *it = &p->items[i];
                if (it->kind != ITEM_DOWNLOAD)
                        continue;
                s[n] = (struct staged){
                    .dirfd = dup(sc.fd), .it = it, .name = strrchr(it->path, '/') + 1};
                s[n].fd = s[n].dirfd < 0 ? -errno : stage_open(s[n].dirfd, s[n].name, &s[n].tmp);
                r = s[n].fd < 0 ? s[n].fd : 0;
                if (s[n].fd < 0)
                        s[n].fd = -1;
                n++;
        }
        if (r >= 0)
                r = fill_downloads(p, t, s, n, h, ret_error);
        if (s)
                staged_abort_all(s, n);
        cache_scratch_close(&sc);
        return r;
}
