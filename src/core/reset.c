/* Undoing an install: stop and disable our units, then remove exactly what kubestrap
 * installed, as recorded in its state; files changed since are kept and named. Safe to run
 * twice. */
#include "reset.h"

#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "service.h"
#include "util.h"

/* Is the file at path still what we installed? Only then is it ours to remove. */
static const char *still_ours(int dfd, const char *name, const struct state_entry *e)
{
        struct stat st;
        if (fstatat(dfd, name, &st, AT_SYMLINK_NOFOLLOW) < 0)
                return errno == ENOENT ? "gone already" : strerror(errno);
        if (e->kind == STATE_KIND_LINK) {
                char buf[4096];
                ssize_t n = S_ISLNK(st.st_mode) ? readlinkat(dfd, name, buf, sizeof(buf) - 1) : -1;
                if (n < 0)
                        return "no longer our symlink";
                buf[n] = 0;
                return streq(buf, e->url) ? NULL : "points elsewhere now";
        }
        if (!S_ISREG(st.st_mode))
                return "no longer a regular file";
        if (e->kind == STATE_KIND_DOWNLOAD && state_stat_matches(e, &st))
                return NULL;
        _cleanup_close_ int fd = open_regular_at(dfd, name);
        char hex[DIGEST_HEX_MAX];
        if (fd < 0 || digest_fd(fd, e->alg, hex) < 0)
                return "unreadable";
        return streq(hex, e->hex) ? NULL : "changed since kubestrap installed it";
}

static void remove_state(struct target *t, const char *state_dir)
{
        _cleanup_close_ int sdfd = -1, pfd = -1;
        const char *sname;
        if (target_open_dir(t, state_dir, false, &sdfd) < 0)
                return;
        (void)unlinkat(sdfd, "installed", 0);
        if (target_open_parent(t, state_dir, false, &pfd, &sname) >= 0)
                (void)unlinkat(pfd, sname, AT_REMOVEDIR);
}

/* Longer paths sort last, and are visited first (the loop runs backwards). */
/* For a preview: would the directory dirpath (name in dfd) be empty once the paths reset
 * removes are gone? NULL: yes; else why it stays. */
static const char *dir_stays(int dfd, const char *name, const char *dirpath,
                             const struct reset_result *res, char *const *also_gone)
{
        int fd = openat(dfd, name, O_RDONLY | O_DIRECTORY | O_NOFOLLOW | O_CLOEXEC);
        if (fd < 0)
                return errno == ENOENT ? "gone already" : "not a directory any more";
        DIR *d = fdopendir(fd);
        if (!d) {
                close(fd);
                return "unreadable";
        }
        const char *why = NULL;
        for (struct dirent *de = readdir(d); de && !why; de = readdir(d)) {
                if (streq(de->d_name, ".") || streq(de->d_name, ".."))
                        continue;
                _cleanup_free_ char *child = path_join(dirpath, de->d_name);
                bool goes = child && strv_contains(also_gone, child);
                for (size_t i = 0; child && i < res->n_events && !goes; i++)
                        goes = res->events[i].outcome == RESET_REMOVED &&
                               streq(res->events[i].path, child);
                if (!goes)
                        why = "not empty";
        }
        closedir(d);
        return why;
}

static int deeper_first(const void *a, const void *b)
{
        const struct state_entry *x = a, *y = b;
        size_t lx = strlen(x->path), ly = strlen(y->path);
        return lx < ly ? -1 : lx > ly ? 1 : strcmp(x->path, y->path);
}

static int add_event(struct reset_result *res, enum reset_outcome o, const char *path,
                     const char *reason, int error)
{
        int r = ARRAY_RESERVE(res->events, res->cap_events, res->n_events + 1);
        if (r < 0)
                return r;
        struct reset_event *e = &res->events[res->n_events];
        *e = (struct reset_event){
            .outcome = o, .path = strdup(path), .reason = reason, .error = error};
        if (!e->path)
                return -ENOMEM;
        res->n_events++;
        res->removed += o == RESET_REMOVED;
        res->kept += o == RESET_KEPT;
        res->failed += o == RESET_FAILED;
        return 0;
}

/* The units to stop are the unit files the state records, not the table's: a unit kubestrap
 * installed stops even if a later version no longer knows its component. */
static int recorded_units(const struct model *m, const struct state *st, char ***ret)
{
        const char *unit_dir = m->cfg.paths.unit_dir;
        size_t l = strlen(unit_dir);
        for (size_t i = 0; i < st->n; i++) {
                const char *p = st->entries[i].path;
                if (st->entries[i].kind == STATE_KIND_FILE && startswith(p, unit_dir) &&
                    endswith(p, ".service") && p[l] == '/') {
                        int r = strv_extend(ret, p + l + 1);
                        if (r < 0)
                                return r;
                }
        }
        return 0;
}

/* Removes name in dirfd and everything below it, through descriptors: never following a link
 * (a link is removed as itself), so nothing outside the tree can be reached. */
static int remove_tree_at(int parent, const char *name, unsigned depth)
{
        if (unlinkat(parent, name, 0) == 0 || errno == ENOENT)
                return 0;
        if (errno != EISDIR && errno != EPERM)
                return -errno;
        if (depth > 64)
                return -ELOOP;
        int fd = openat(parent, name, O_RDONLY | O_DIRECTORY | O_NOFOLLOW | O_CLOEXEC);
        if (fd < 0)
                return -errno;
        DIR *d = fdopendir(fd);
        if (!d) {
                int r = -errno;
                close(fd);
                return r;
        }
        int r = 0;
        for (struct dirent *de = readdir(d); de && r >= 0; de = readdir(d))
                if (!streq(de->d_name, ".") && !streq(de->d_name, ".."))
                        r = remove_tree_at(dirfd(d), de->d_name, depth + 1);
        closedir(d);
        if (r >= 0 && unlinkat(parent, name, AT_REMOVEDIR) < 0 && errno != ENOENT)
                r = -errno;
        return r;
}

int reset_etcd_data(const struct model *m, struct target *t, bool purge, struct reset_result *res)
{
        if (!model_runs_etcd(m))
                return 0;
        const char *dir = m->cfg.etcd.data_dir;
        _cleanup_close_ int dfd = -1;
        int r = target_open_dir(t, dir, false, &dfd);
        if (r == -ENOENT)
                return 0;
        if (r < 0)
                return add_event(res, RESET_FAILED, dir, NULL, r);
        if (!purge)
                return add_event(res, RESET_KEPT, dir,
                                 "etcd's data, the member's; --purge-etcd-data removes it", 0);
        _cleanup_close_ int pfd = -1;
        const char *name = NULL;
        r = res->dry_run ? 0 : target_open_parent(t, dir, false, &pfd, &name);
        if (r >= 0 && !res->dry_run)
                r = remove_tree_at(pfd, name, 0);
        return add_event(res, r < 0 ? RESET_FAILED : RESET_REMOVED, dir, NULL, r < 0 ? r : 0);
}

/* A server that kubestrap only manages (nginx) keeps running: it reloads when a file in its
 * directory went, so it stops serving our site. */
static int units_to_reload(const struct model *m, const struct reset_result *res, char ***ret)
{
        FOREACH_COMPONENT (c) {
                if (c->renders_unit || !c->config_dir)
                        continue;
                const char *dir = model_get(m, c->config_dir);
                size_t l = strlen(dir);
                for (size_t i = 0; i < res->n_events; i++) {
                        const char *p = res->events[i].path;
                        if (res->events[i].outcome == RESET_REMOVED && startswith(p, dir) &&
                            p[l] == '/') {
                                int r = strv_extend(ret, c->unit);
                                if (r < 0)
                                        return r;
                                break;
                        }
                }
        }
        return 0;
}

int reset_run(const struct model *m, struct target *t, struct state *st, bool use_systemd,
              struct reset_result *res, char **ret_error)
{
        *res = (struct reset_result){0};
        _cleanup_strv_free_ char **units = NULL, **reload = NULL;
        _cleanup_free_ bool *stays = NULL;
        const char *state_dir = m->cfg.paths.state_dir;
        int r = recorded_units(m, st, &units);
        if (r < 0)
                return r;

        /* Units first: nothing may run from the files about to go. */
        if (use_systemd && units) {
                r = service_stop_disable(units, ret_error);
                if (r < 0)
                        return r;
        }

        /* Files and links, then directories deepest first, and only while empty. */
        if (st->n) /* an empty state has no array to sort (qsort wants one) */
                qsort(st->entries, st->n, sizeof(st->entries[0]), deeper_first);
        /* What is still on the machine afterwards: exactly what the state keeps listing. */
        stays = calloc(st->n ? st->n : 1, sizeof(*stays));
        if (!stays)
                return -ENOMEM;
        for (int pass = 0; pass < 2; pass++) {
                /* Our own record goes before the directories, so its own can go too; kept
                 * files stay listed, so a later reset can try again. */
                if (pass == 1 && res->kept == 0 && res->failed == 0)
                        remove_state(t, state_dir);
                for (size_t k = st->n; k > 0; k--) {
                        const struct state_entry *e = &st->entries[k - 1];
                        bool is_dir = e->kind == STATE_KIND_DIR;
                        if (!state_entry_is_path(e) || is_dir != (pass == 1))
                                continue;
                        _cleanup_close_ int dfd = -1;
                        const char *name;
                        r = target_open_parent(t, e->path, false, &dfd, &name);
                        if (r < 0) {
                                stays[k - 1] = r != -ENOENT;
                                continue;
                        }
                        r = 0;
                        if (is_dir) {
                                if (unlinkat(dfd, name, AT_REMOVEDIR) == 0)
                                        r = add_event(res, RESET_REMOVED, e->path, NULL, 0);
                                else /* not empty: something else lives there */
                                        stays[k - 1] = errno != ENOENT;
                        } else {
                                const char *why = still_ours(dfd, name, e);
                                if (why && streq(why, "gone already"))
                                        continue;
                                if (why) {
                                        stays[k - 1] = true;
                                        r = add_event(res, RESET_KEPT, e->path, why, 0);
                                } else if (unlinkat(dfd, name, 0) < 0) {
                                        stays[k - 1] = true;
                                        r = add_event(res, RESET_FAILED, e->path, NULL, -errno);
                                } else
                                        r = add_event(res, RESET_REMOVED, e->path, NULL, 0);
                        }
                        if (r < 0)
                                return r;
                }
        }
        /* The files kept for rollback live in the state directory: it empties only now. */
        if (res->kept == 0 && res->failed == 0)
                remove_state(t, state_dir);

        if (use_systemd && units) {
                r = units_to_reload(m, res, &reload);
                if (r < 0)
                        return r;
                service_reload_after_removal(reload);
        }

        /* The state lists what is left, not what was there: otherwise "cache" would go on
         * calling the removed binaries installed, and "cache prune" would keep them. */
        if (res->kept || res->failed) {
                state_retain(st, stays);
                r = state_save(t, state_dir, st);
                if (r < 0)
                        res->save_error = r;
        }
        return res->failed || res->save_error ? -EIO : 0;
}

int reset_preview(const struct model *m, struct target *t, struct state *st,
                  struct reset_result *res)
{
        *res = (struct reset_result){.dry_run = true};
        /* the state file and its directory go too, unless something is kept (the state goes on
         * listing that) */
        const char *state_dir = m->cfg.paths.state_dir;
        _cleanup_free_ char *state_file = path_join(state_dir, STATE_FILE);
        char *const state_paths[] = {state_file, (char *)state_dir, NULL};
        int r = state_file ? recorded_units(m, st, &res->units) : -ENOMEM;
        if (r < 0)
                return r;
        if (st->n) /* an empty state has no array to sort (qsort wants one) */
                qsort(st->entries, st->n, sizeof(st->entries[0]), deeper_first);
        bool state_goes = false;
        for (int pass = 0; pass < 2; pass++) {
                /* as reset_run: the state goes when no file stays (directories that are not
                 * empty just stay) */
                state_goes = pass == 1 && res->kept == 0;
                for (size_t k = st->n; k > 0; k--) {
                        const struct state_entry *e = &st->entries[k - 1];
                        bool is_dir = e->kind == STATE_KIND_DIR;
                        if (!state_entry_is_path(e) || is_dir != (pass == 1))
                                continue;
                        _cleanup_close_ int dfd = -1;
                        const char *name;
                        if (target_open_parent(t, e->path, false, &dfd, &name) < 0)
                                continue;
                        const char *why = is_dir ? dir_stays(dfd, name, e->path, res,
                                                             state_goes ? state_paths : NULL)
                                                 : still_ours(dfd, name, e);
                        if (why && streq(why, "gone already"))
                                continue;
                        r = add_event(res, why ? RESET_KEPT : RESET_REMOVED, e->path, why, 0);
                        if (r < 0)
                                return r;
                }
        }
        return 0;
}

void reset_result_done(struct reset_result *res)
{
        res->units = strv_free(res->units);
        for (size_t i = 0; i < res->n_events; i++)
                free(res->events[i].path);
        free(res->events);
        *res = (struct reset_result){0};
}
