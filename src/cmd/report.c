/* What a run tells the operator: every event rendered for people or as JSON lines, here only. */
#include "report.h"

#include <errno.h>
#include <stdarg.h>
#include <stdio.h>
#include <string.h>
#include <unistd.h>

#include "log.h"
#include "reset.h"
#include "util.h"

static enum output_mode output = OUTPUT_HUMAN;

/* One event = one line of JSON on stdout. */
struct json_event {
        struct buf b;
        bool first;
};

/* The version of the events' layout (names and fields): raised when a field changes meaning or
 * goes away, not when one is added. */
#define JSON_SCHEMA 1

static void json_str(struct json_event *e, const char *key, const char *value);

static void json_begin(struct json_event *e, const char *event)
{
        *e = (struct json_event){.first = true};
        buf_puts(&e->b, "{");
        json_str(e, "event", event);
}

static void json_key(struct json_event *e, const char *key)
{
        if (!e->first)
                buf_puts(&e->b, ",");
        e->first = false;
        json_append_string(&e->b, key);
        buf_puts(&e->b, ":");
}

static void json_str(struct json_event *e, const char *key, const char *value)
{
        json_key(e, key);
        if (value)
                json_append_string(&e->b, value);
        else
                buf_puts(&e->b, "null");
}

static void json_int(struct json_event *e, const char *key, long long value)
{
        json_key(e, key);
        buf_printf(&e->b, "%lld", value);
}

static void json_bool(struct json_event *e, const char *key, bool value)
{
        json_key(e, key);
        buf_puts(&e->b, value ? "true" : "false");
}

static void json_end(struct json_event *e)
{
        /* last, so an event still begins with its name and the fields that say what it is */
        json_int(e, "schema", JSON_SCHEMA);
        buf_puts(&e->b, "}\n");
        if (e->b.data)
                fputs(e->b.data, stdout);
        fflush(stdout);
        buf_done(&e->b);
}

/* Machines read stdout: every error logged is mirrored there as an event, with the fields
 * that say where it is (those known). */
static void error_event(const char *message, const struct err_where *w)
{
        struct json_event e;
        json_begin(&e, "error");
        json_str(&e, "message", message);
        const struct {
                const char *key, *value;
        } fields[] = {
            {"file", w->file}, {"section", w->section}, {"key", w->key},
            {"url", w->url},   {"host", w->host},       {"unit", w->unit},
        };
        for (size_t i = 0; i < ELEMENTSOF(fields); i++) {
                if (fields[i].value)
                        json_str(&e, fields[i].key, fields[i].value);
                if (i == 0 && w->line)
                        json_int(&e, "line", w->line);
        }
        json_end(&e);
}

void report_set_output(enum output_mode mode)
{
        output = mode;
        log_set_error_mirror(mode == OUTPUT_JSON ? error_event : NULL);
}

bool report_is_json(void)
{
        return output == OUTPUT_JSON;
}

static void message_event(const char *event, const char *message)
{
        struct json_event e;
        json_begin(&e, event);
        json_str(&e, "message", message);
        json_end(&e);
}

static const char *item_detail(const struct item *it, char *buf, size_t size)
{
        switch (it->kind) {
        case ITEM_DOWNLOAD:
                if (it->verify_after) {
                        snprintf(buf, size, "%s, %s of the release tarball, digest known once read",
                                 it->what, it->member);
                        break;
                }

                snprintf(buf, size, "%s, %s:%.12s… from %s", it->what,
                         digest_alg_to_string(it->alg), it->hex, it->url);
                break;
        case ITEM_SYMLINK:
                snprintf(buf, size, "%s, -> %s", it->what, it->link_target);
                break;
        case ITEM_DIR:
                snprintf(buf, size, "%s", it->what);
                break;
        default:
                snprintf(buf, size, "%s, %04o%s", it->what, (unsigned)it->mode,
                         it->secret ? ", secret: content not shown" : "");
        }
        return buf;
}

void report_item(const struct target *t, const struct item *it, const char *event, bool show_diff)
{
        char detail[1024];
        if (output == OUTPUT_JSON) {
                struct json_event e;
                char mode[8];
                snprintf(mode, sizeof(mode), "%04o", (unsigned)it->mode);
                json_begin(&e, event);
                json_str(&e, "action", item_action_to_string(it->action));
                json_str(&e, "kind", it->what);
                json_str(&e, "path", it->path);
                if (it->kind != ITEM_SYMLINK)
                        json_str(&e, "mode", mode);
                if (it->kind == ITEM_DOWNLOAD) {
                        json_str(&e, "url", it->url);
                        json_str(&e, "digest_alg", digest_alg_to_string(it->alg));
                        json_str(&e, "digest", it->hex);
                        json_str(&e, "digest_from", it->digest_from);
                }
                if (it->kind == ITEM_SYMLINK)
                        json_str(&e, "target", it->link_target);
                if (show_diff && it->diff)
                        json_str(&e, "diff", it->diff);
                json_end(&e);
                return;
        }
        static const char sym[] = {[ACTION_NONE] = '=',
                                   [ACTION_CREATE] = '+',
                                   [ACTION_UPDATE] = '~',
                                   [ACTION_CHMOD] = '~'};
        _cleanup_free_ char *shown = target_display(t, it->path);
        if (streq(event, "plan"))
                printf("%c %-9s %s (%s)\n", sym[it->action], item_action_to_string(it->action),
                       shown ? shown : it->path, item_detail(it, detail, sizeof(detail)));
        else
                printf("%s %s\n",
                       it->action == ACTION_CREATE   ? "created"
                       : it->action == ACTION_UPDATE ? "updated"
                                                     : "fixed mode of",
                       shown ? shown : it->path);
        if (show_diff && it->diff) {
                /* indent the diff under its item */
                for (const char *p = it->diff; *p;) {
                        const char *nl = strchr(p, '\n');
                        size_t len = nl ? (size_t)(nl - p) : strlen(p);
                        printf("    %.*s\n", (int)len, p);
                        p += len + (nl ? 1 : 0);
                }
        }
        fflush(stdout);
}

void report_signatures(const struct plan *p)
{
        const struct signature_policy *sp = p->sig;
        if (!sp)
                return;
        if (output == OUTPUT_JSON) {
                struct json_event e;
                json_begin(&e, "signatures");
                json_str(&e, "mode", signature_mode_to_string(sp->mode));
                json_str(&e, "identity", sp->identity);
                json_str(&e, "issuer", sp->issuer);
                json_str(&e, "roots", sp->roots_path);
                json_str(&e, "ct_log_keys", sp->logs_path);
                json_end(&e);
        } else if (sp->mode == SIGNATURE_OFF)
                printf("signatures: off (release binaries are checked against their digest "
                       "only)\n");
        else
                printf("signatures: %s (identity %s, issuer %s; roots %s, CT log keys %s)\n",
                       signature_mode_to_string(sp->mode), sp->identity, sp->issuer, sp->roots_path,
                       sp->logs_path);
        fflush(stdout);
}

void report_signed(const struct state *st)
{
        for (size_t i = 0; st && i < st->n; i++) {
                const struct state_entry *e = &st->entries[i];
                if (e->kind != STATE_KIND_DOWNLOAD)
                        continue;
                bool verified = e->signed_by && !streq(e->signed_by, "-");
                if (output == OUTPUT_JSON) {
                        struct json_event j;
                        json_begin(&j, "binary");
                        json_str(&j, "path", e->path);
                        json_bool(&j, "signature_verified", verified);
                        if (verified)
                                json_str(&j, "signed_by", e->signed_by);
                        json_end(&j);
                } else if (verified)
                        printf("%s: signature-verified: %s\n", e->path, e->signed_by);
                else
                        printf("%s: not signature-verified (digest only)\n", e->path);
        }
        fflush(stdout);
}

void report_release(const char *marker, const char *version, const char *from,
                    const char *installed)
{
        if (marker) {
                if (output == OUTPUT_JSON) {
                        struct json_event e;
                        json_begin(&e, "version");
                        json_str(&e, "marker", marker);
                        json_str(&e, "version", version);
                        json_str(&e, "from", from);
                        json_end(&e);
                } else
                        printf("version: %s → %s (from %s)\n", marker, version, from);
        }
        if (!installed || streq(installed, version))
                return;
        /* one release: every component with a binary of its own moves with it */
        FOREACH_COMPONENT (c) {
                if (!c->binary)
                        continue;
                if (output == OUTPUT_JSON) {
                        struct json_event e;
                        json_begin(&e, "upgrade");
                        json_str(&e, "component", c->name);
                        json_str(&e, "from", installed);
                        json_str(&e, "to", version);
                        json_end(&e);
                } else
                        printf("%s %s → %s\n", c->name, installed, version);
        }
        fflush(stdout);
}

void report_warnings(const struct plan *p)
{
        for (char **w = p ? p->warnings : NULL; w && *w; w++) {
                if (output == OUTPUT_JSON)
                        message_event("warning", *w);
                else
                        log_warning("%s", *w);
        }
}

void report_summary(const char *verb, const struct plan *p, size_t changed, size_t failed,
                    const struct run_times *t)
{
        long long started_usec = t->start_usec;
        report_warnings(p);
        size_t unchanged = p ? plan_count(p, ACTION_NONE) : 0;
        long long ms = (now_usec() - started_usec) / 1000;
        if (output == OUTPUT_JSON) {
                struct json_event e;
                json_begin(&e, "summary");
                json_str(&e, "verb", verb);
                json_int(&e, "changed", (long long)changed);
                json_int(&e, "unchanged", (long long)unchanged);
                json_int(&e, "failed", (long long)failed);
                json_int(&e, "duration_ms", ms);
                if (p) {
                        json_int(&e, "downloaded_bytes", (long long)p->bytes_downloaded);
                        json_int(&e, "hashed_bytes", (long long)p->bytes_hashed);
                        json_int(&e, "sidecars_fetched", (long long)p->sidecars_fetched);
                        json_int(&e, "from_cache", (long long)p->from_cache);
                }
                if (t->plan_usec)
                        json_int(&e, "plan_ms", t->plan_usec / 1000);
                if (t->install_usec)
                        json_int(&e, "install_ms", t->install_usec / 1000);
                if (t->start_usec_phase)
                        json_int(&e, "start_ms", t->start_usec_phase / 1000);
                if (t->healthy_usec)
                        json_int(&e, "healthy_ms", t->healthy_usec / 1000);
                json_end(&e);
                return;
        }
        printf("%s: %zu %s, %zu unchanged, %zu failed (%lld ms)\n", verb, changed,
               streq(verb, "plan") ? "to change" : "changed", unchanged, failed, ms);
        fflush(stdout);
}

void report_rolled_back(const char *version, long long duration_usec)
{
        if (output == OUTPUT_JSON) {
                struct json_event e;
                json_begin(&e, "rolled_back");
                json_str(&e, "version", version);
                json_int(&e, "duration_ms", duration_usec / 1000);
                json_end(&e);
                return;
        }
        printf("rollback took %lld ms\nrolled back to %s\n", duration_usec / 1000, version);
        fflush(stdout);
}

void report_units(const struct service_report *rep)
{
        for (size_t i = 0; i < rep->n_units; i++) {
                const struct service_result *u = &rep->units[i];
                if (output == OUTPUT_JSON) {
                        struct json_event e;
                        json_begin(&e, "unit");
                        json_str(&e, "unit", u->unit);
                        json_str(&e, "action", service_action_to_string(u->action));
                        json_int(&e, "main_pid", u->main_pid);
                        json_int(&e, "healthy_ms",
                                 u->healthy_after_usec >= 0 ? u->healthy_after_usec / 1000 : -1);
                        json_end(&e);
                } else
                        printf("%s: %s (pid %u), healthy after %.2f s\n", u->unit,
                               service_action_to_string(u->action), u->main_pid,
                               (double)u->healthy_after_usec / 1e6);
        }
        for (char **n = rep->notes; n && *n; n++)
                if (output == OUTPUT_JSON)
                        message_event("note", *n);
                else
                        printf("%s\n", *n);
        if (rep->rbac_applied && output != OUTPUT_JSON)
                printf("applied the system:kube-apiserver-to-kubelet ClusterRole and binding\n");
        fflush(stdout);
}

void report_note(const char *fmt, ...)
{
        va_list ap;
        _cleanup_free_ char *msg = NULL;
        va_start(ap, fmt);
        if (vasprintf(&msg, fmt, ap) < 0)
                msg = NULL;
        va_end(ap);
        if (!msg)
                return;
        if (output == OUTPUT_JSON)
                message_event("note", msg);
        else
                printf("%s\n", msg);
        fflush(stdout);
}

bool report_progress_live(void)
{
        /* Nothing of it when stderr is a file or pipe: logs stay readable. */
        return output == OUTPUT_HUMAN && isatty(STDERR_FILENO);
}

bool report_progress_lines(void)
{
        return output == OUTPUT_HUMAN && !isatty(STDERR_FILENO);
}

void report_progress_line(const struct progress_line *l)
{
        const char *slash = strrchr(l->url, '/');
        const char *name = slash && slash[1] ? slash + 1 : l->url;
        char b[32], t[32], r[32];
        human_size((double)l->bytes, b, sizeof(b));
        human_size((double)l->total, t, sizeof(t));
        human_size(l->rate, r, sizeof(r));
        /* through log_escape_append: the URL comes from the configuration */
        _cleanup_free_ char *text = NULL;
        switch (l->step) {
        case PROGRESS_STARTED:
                asprintf_safe(&text, "downloading %s", l->url);
                break;
        case PROGRESS_RUNNING:
                if (l->total > 0)
                        asprintf_safe(&text, "%s: %s of %s (%.0f%%), %s/s", name, b, t,
                                      100.0 * (double)l->bytes / (double)l->total, r);
                else
                        asprintf_safe(&text, "%s: %s, %s/s", name, b, r);
                break;
        case PROGRESS_VERIFIED:
                asprintf_safe(&text, "%s: %s verified (%s:%.16s…) in %.1f s", name, b,
                              digest_alg_to_string(l->alg), l->hex, l->secs);
                break;
        case PROGRESS_RECEIVED:
                asprintf_safe(&text, "%s: %s received in %.1f s", name, b, l->secs);
                break;
        }
        _cleanup_buf_ struct buf line = {0};
        if (text && log_escape_append(&line, text) >= 0 && buf_puts(&line, "\n") >= 0)
                fputs(line.data, stderr);
        fflush(stderr);
}

bool report_progress(const struct progress_figures *f)
{
        if (output == OUTPUT_JSON) {
                struct json_event e;
                json_begin(&e, "progress");
                json_int(&e, "bytes", (long long)f->bytes);
                json_int(&e, "total", f->all_known ? (long long)f->total : 0);
                json_int(&e, "files", (long long)f->files);
                json_int(&e, "files_done", (long long)f->files_done);
                json_int(&e, "rate", (long long)f->rate);
                json_end(&e);
                return false;
        }
        if (!report_progress_live())
                return false;
        char b[32], t[32], r[32], line[256];
        human_size((double)f->bytes, b, sizeof(b));
        human_size((double)f->total, t, sizeof(t));
        human_size(f->rate, r, sizeof(r));
        int len = snprintf(line, sizeof(line), "downloading %zu/%zu files: %s", f->files_done,
                           f->files, b);
        if (f->all_known && f->total > 0) {
                double eta = f->rate > 0 ? (double)(f->total - f->bytes) / f->rate : 0;
                len += snprintf(line + len, sizeof(line) - (size_t)len,
                                " of %s (%3.0f%%), %s/s, ETA %.0f s", t,
                                100.0 * (double)f->bytes / (double)f->total, r, eta);
        } else
                len += snprintf(line + len, sizeof(line) - (size_t)len, ", %s/s", r);
        /* per file, in a compact tail */
        for (size_t i = 0; i < f->files && len < (int)sizeof(line) - 16; i++)
                if (f->jobs[i].total)
                        len += snprintf(line + len, sizeof(line) - (size_t)len, " [%u%%]",
                                        (unsigned)(100 * f->jobs[i].bytes / f->jobs[i].total));
        fprintf(stderr, "\r%s\033[K", line);
        fflush(stderr);
        return true;
}

void report_progress_clear(void)
{
        fputs("\r\033[K", stderr);
        fflush(stderr);
}

void report_check(const struct check_result *c)
{
        if (output == OUTPUT_JSON) {
                struct json_event e;
                json_begin(&e, "check");
                json_str(&e, "name", c->name);
                json_str(&e, "status", check_status_to_string(c->status));
                json_bool(&e, "ignored", c->ignored);
                json_str(&e, "message", c->message);
                if (c->hint && c->status != CHECK_PASS)
                        json_str(&e, "hint", c->hint);
                json_end(&e);
                return;
        }
        FILE *f = c->status == CHECK_PASS ? stdout : stderr;
        fprintf(f, "preflight %-11s %-4s %s%s%s%s\n", c->name, check_status_to_string(c->status),
                c->message ? c->message : "", c->ignored ? " (ignored)" : "",
                c->hint && c->status != CHECK_PASS ? "; fix: " : "",
                c->hint && c->status != CHECK_PASS ? c->hint : "");
}

void report_preflight_summary(size_t failed)
{
        if (output == OUTPUT_JSON) {
                struct json_event e;
                json_begin(&e, "summary");
                json_str(&e, "verb", "preflight");
                json_int(&e, "failed", failed ? 1 : 0);
                json_end(&e);
        } else if (!failed)
                printf("preflight: all checks pass\n");
}

void report_status(const struct status *s)
{
        if (output == OUTPUT_JSON) {
                for (size_t i = 0; i < s->n; i++) {
                        const struct status_row *r = &s->rows[i];
                        struct json_event e;
                        json_begin(&e, "status");
                        json_str(&e, "component", r->component);
                        json_str(&e, "unit", r->unit);
                        json_str(&e, "state", r->state ? r->state : "-");
                        json_int(&e, "main_pid", r->pid);
                        json_int(&e, "restarts", r->restarts);
                        json_str(&e, "target", r->target);
                        json_bool(&e, "ok", r->ok);
                        if (r->info)
                                json_bool(&e, "counted", false);
                        json_str(&e, "detail", r->detail);
                        json_end(&e);
                }
                return;
        }
        printf("%-24s %-32s %-17s %7s %s\n", "COMPONENT", "UNIT", "STATE", "PID", "CHECK");
        for (size_t i = 0; i < s->n; i++) {
                const struct status_row *r = &s->rows[i];
                char pid[16] = "-";
                if (r->pid)
                        snprintf(pid, sizeof(pid), "%u", r->pid);
                printf("%-24s %-32s %-17s %7s %s %s (%s)\n", r->component, r->unit,
                       r->state ? r->state : "-", pid,
                       r->ok     ? "ok  "
                       : r->info ? "down"
                                 : "FAIL",
                       r->detail, r->target ? r->target : "-");
        }
        fflush(stdout);
}

void report_status_summary(const char *verb, bool ok)
{
        if (output == OUTPUT_JSON) {
                struct json_event e;
                json_begin(&e, "summary");
                json_str(&e, "verb", verb);
                json_bool(&e, "ok", ok);
                json_int(&e, "failed", ok ? 0 : 1);
                json_end(&e);
        } else
                printf("%s: %s\n", verb, ok ? "all checks pass" : "some checks FAIL");
}

void report_cache_entry(const char *cache_dir, const struct cache_entry *e, const char *status,
                        const char *path, int err)
{
        char size[32];
        human_size((double)e->size, size, sizeof(size));
        if (output == OUTPUT_JSON) {
                struct json_event j;
                json_begin(&j, "cache_entry");
                json_str(&j, "digest_alg", digest_alg_to_string(e->alg));
                json_str(&j, "digest", e->hex);
                json_int(&j, "size", (long long)e->size);
                json_str(&j, "status", status);
                if (path)
                        json_str(&j, "for", path);
                if (err < 0)
                        json_str(&j, "error", strerror(-err));
                json_end(&j);
        } else if (err < 0) /* the whole path: it is what the operator has to look at */
                printf("%s/%s/%s: could not remove: %s\n", cache_dir, digest_alg_to_string(e->alg),
                       e->hex, strerror(-err));
        else
                printf("%s:%.16s… %10s  %s%s%s\n", digest_alg_to_string(e->alg), e->hex, size,
                       status, path ? " " : "", path ? path : "");
}

void report_cache_summary(const char *cache_dir, const struct cache_totals *c)
{
        char a[32], b[32];
        human_size((double)c->kept_bytes, a, sizeof(a));
        human_size((double)(c->prune ? c->freed_bytes : c->unused_bytes), b, sizeof(b));
        if (output == OUTPUT_JSON) {
                struct json_event j;
                json_begin(&j, "summary");
                json_str(&j, "verb", c->prune ? "cache prune" : "cache");
                json_int(&j, "kept", (long long)c->kept);
                json_int(&j, "kept_bytes", (long long)c->kept_bytes);
                json_int(&j, "unused", (long long)(c->unused - c->removed));
                json_int(&j, "removed", (long long)c->removed);
                json_int(&j, "freed_bytes", (long long)c->freed_bytes);
                json_int(&j, "failed", (long long)c->failed);
                json_end(&j);
        } else if (c->prune)
                printf("cache prune: removed %zu entries (%s), %zu failed; kept %zu (%s) in %s\n",
                       c->removed, b, c->failed, c->kept, a, cache_dir);
        else
                printf("cache: %zu entries kept (%s), %zu unused (%s, 'kubestrap cache prune' "
                       "removes them) in %s\n",
                       c->kept, a, c->unused, b, cache_dir);
}

void report_reset_path(const char *event, const char *path, const char *why)
{
        if (output == OUTPUT_JSON) {
                struct json_event e;
                json_begin(&e, event);
                json_str(&e, "path", path);
                if (why)
                        json_str(&e, "reason", why);
                json_end(&e);
        } else if (why)
                printf("kept %s: %s\n", path, why);
        else
                printf("removed %s\n", path);
}

void report_reset_preview(const struct reset_result *res, bool systemd)
{
        size_t remove = 0, keep = 0;
        for (char **u = systemd ? res->units : NULL; u && *u; u++) {
                if (output == OUTPUT_JSON) {
                        struct json_event e;
                        json_begin(&e, "would_stop");
                        json_str(&e, "unit", *u);
                        json_end(&e);
                } else
                        printf("would stop and disable %s\n", *u);
        }
        for (size_t i = 0; i < res->n_events; i++) {
                const struct reset_event *ev = &res->events[i];
                bool removes = ev->outcome == RESET_REMOVED;
                remove += removes;
                keep += !removes;
                if (output == OUTPUT_JSON) {
                        struct json_event e;
                        json_begin(&e, removes ? "would_remove" : "would_keep");
                        json_str(&e, "path", ev->path);
                        if (ev->reason)
                                json_str(&e, "reason", ev->reason);
                        json_end(&e);
                } else if (removes)
                        printf("would remove %s\n", ev->path);
                else
                        printf("would keep %s: %s\n", ev->path, ev->reason ? ev->reason : "?");
        }
        if (output == OUTPUT_JSON) {
                struct json_event e;
                json_begin(&e, "summary");
                json_str(&e, "verb", "reset");
                json_bool(&e, "dry_run", true);
                json_int(&e, "changed", (long long)remove);
                json_int(&e, "unchanged", (long long)keep);
                json_int(&e, "failed", 0);
                json_end(&e);
        } else
                printf("reset --dry-run: would remove %zu, keep %zu; nothing was changed\n", remove,
                       keep);
}

void report_validate(const char *config_path, size_t n_files)
{
        if (output == OUTPUT_JSON) {
                struct json_event e;
                json_begin(&e, "summary");
                json_str(&e, "verb", "validate");
                json_str(&e, "config", config_path);
                json_int(&e, "rendered", (long long)n_files);
                json_int(&e, "failed", 0);
                json_end(&e);
        } else
                printf("validate: %s is valid (%zu files rendered from its templates)\n",
                       config_path, n_files);
}

void report_reset_nothing(const char *root)
{
        /* JSON: the summary's zeros say it */
        if (output != OUTPUT_JSON)
                printf("reset: nothing recorded as installed by kubestrap on %s\n", root);
}

void report_reset_summary(size_t removed, size_t kept, size_t failed, long long duration_ms)
{
        if (output == OUTPUT_JSON) {
                struct json_event e;
                json_begin(&e, "summary");
                json_str(&e, "verb", "reset");
                json_int(&e, "changed", (long long)removed);
                json_int(&e, "unchanged", (long long)kept);
                json_int(&e, "failed", (long long)failed);
                json_int(&e, "duration_ms", duration_ms);
                json_end(&e);
        } else
                printf("reset: %zu removed, %zu kept, %zu failed\n", removed, kept, failed);
}

void report_version(const char *version, const char *library)
{
        if (output == OUTPUT_JSON) {
                struct json_event e;
                json_begin(&e, "version");
                json_str(&e, "version", version);
                json_str(&e, "curl", library);
                json_end(&e);
                return;
        }
        printf("kubestrap %s\n%s\n", version, library);
}

/* One line for the terminal, "HOST: TEXT", with what the host sent shown escaped: a hostile
 * or broken host must not be able to put terminal controls on the operator's screen. */
static void say(const char *host, const char *fmt, ...) _printf_(2, 3);
static void say(const char *host, const char *fmt, ...)
{
        _cleanup_free_ char *text = NULL;
        _cleanup_buf_ struct buf b = {0};
        va_list ap;
        va_start(ap, fmt);
        int r = vasprintf(&text, fmt, ap);
        va_end(ap);
        if (r < 0)
                return;
        /* A message of several lines (an error with its journal excerpt) stays several lines,
         * each under the host's name: no line can pass for another host's. */
        for (char *l = text, *nl; l; l = nl ? nl + 1 : NULL) {
                nl = strchr(l, '\n');
                if (nl)
                        *nl = 0;
                b.len = 0;
                if (log_escape_append(&b, host) < 0 || buf_puts(&b, ": ") < 0 ||
                    log_escape_append(&b, l) < 0)
                        return;
                printf("%s\n", b.data);
        }
}

/* A remote event, for people: the few that matter in a line each, the rest by their message. */
static void say_event(const char *host, const struct jevent *e, const char *event, const char *line)
{
        if (streq(event, "progress"))
                return; /* a live line per host would only garble the others' */
        const char *msg = jevent_str(e, "message"), *comp = jevent_str(e, "component");
        if (streq(event, "change")) {
                const char *a = jevent_str(e, "action"), *p = jevent_str(e, "path");
                const char *verb = !a                   ? "?"
                                   : streq(a, "create") ? "created"
                                   : streq(a, "update") ? "updated"
                                                        : "fixed mode of";
                say(host, "%s %s", verb, p ? p : "?");
        } else if (streq(event, "unit")) {
                const char *u = jevent_str(e, "unit"), *a = jevent_str(e, "action");
                say(host, "%s %s (pid %lld), healthy after %lld ms", u ? u : "?", a ? a : "?",
                    jevent_int(e, "main_pid", -1), jevent_int(e, "healthy_ms", -1));
        } else if (streq(event, "summary") && jevent_int(e, "changed", -1) >= 0) {
                const char *v = jevent_str(e, "verb");
                say(host, "%s: %lld changed, %lld unchanged, %lld failed (%lld ms)", v ? v : "?",
                    jevent_int(e, "changed", -1), jevent_int(e, "unchanged", -1),
                    jevent_int(e, "failed", -1), jevent_int(e, "duration_ms", -1));
        } else if (streq(event, "rolled_back")) {
                const char *v = jevent_str(e, "version");
                say(host, "rolled back to %s (in %lld ms)", v ? v : "?",
                    jevent_int(e, "duration_ms", -1));
        } else if (msg)
                say(host, "%s: %s", event, msg);
        else if (comp) {
                const char *det = jevent_str(e, "detail");
                say(host, "%s %s", comp, det ? det : "");
        } else {
                /* any other event (a status summary, the release a plan resolved, ...): its
                 * fields, rather than the raw JSON line */
                _cleanup_free_ char *text = NULL;
                if (jevent_to_text(e, &text) >= 0)
                        say(host, "%s: %s", event, text);
                else
                        say(host, "%s", line);
        }
}

void report_remote_stdout(const char *host, const struct jevent *e, const char *line)
{
        const char *event = e ? jevent_str(e, "event") : NULL;
        if (!event) {
                /* not one of our events: show it as the host said it */
                if (output == OUTPUT_JSON) {
                        struct json_event o;
                        json_begin(&o, "output");
                        json_str(&o, "host", host);
                        json_str(&o, "line", line);
                        json_end(&o);
                } else
                        say(host, "%s", line);
        } else if (output == OUTPUT_JSON) {
                /* the remote event, with the host it came from, written anew */
                _cleanup_free_ char *out = NULL;
                if (jevent_with_host(e, host, &out) >= 0)
                        printf("%s\n", out);
        } else
                say_event(host, e, event, line);
        fflush(stdout);
}

void report_remote_stderr(const char *host, const char *line)
{
        if (output == OUTPUT_JSON)
                return; /* the remote's errors also arrive as error events */
        _cleanup_buf_ struct buf b = {0};
        if (log_escape_append(&b, host) >= 0 && buf_puts(&b, ": ") >= 0 &&
            log_escape_append(&b, line) >= 0)
                fprintf(stderr, "%s\n", b.data);
}

static void print_ms(long ms)
{
        if (ms < 0)
                printf(" %8s", "-");
        else
                printf(" %6ldms", ms);
}

void report_fanout_hosts(const struct fanout_host *fh, size_t n)
{
        if (output == OUTPUT_JSON) {
                for (size_t i = 0; i < n; i++) {
                        struct json_event e;
                        json_begin(&e, "host");
                        json_str(&e, "host", fh[i].host->name);
                        json_str(&e, "result", fanout_result_to_string(fh[i].result));
                        json_int(&e, "exit", fh[i].exit_code);
                        json_int(&e, "changed", fh[i].changed);
                        json_int(&e, "plan_ms", fh[i].plan_ms);
                        json_int(&e, "install_ms", fh[i].install_ms);
                        json_int(&e, "start_ms", fh[i].start_ms);
                        json_int(&e, "healthy_ms", fh[i].healthy_ms);
                        json_int(&e, "total_ms",
                                 fh[i].started_usec ? (fh[i].ended_usec - fh[i].started_usec) / 1000
                                                    : -1);
                        if (fh[i].error && fh[i].result != FANOUT_OK)
                                json_str(&e, "error", fh[i].error);
                        json_end(&e);
                        /* A host that ran the verb sent its own error events (relayed with
                         * its name); one that never ran it gets one here. */
                        if (fh[i].result != FANOUT_UNREACHABLE)
                                continue;
                        _cleanup_free_ char *msg = NULL;
                        asprintf_safe(&msg, "%s is unreachable: %s", fh[i].host->name,
                                      fh[i].error ? fh[i].error : "ssh failed");
                        error_event(msg ? msg : "unreachable",
                                    &(struct err_where){.host = fh[i].host->name});
                }
                return;
        }
        printf("\n%-16s %-12s %7s %8s %8s %8s %8s %8s\n", "HOST", "RESULT", "CHANGED", "PLAN",
               "INSTALL", "START", "HEALTHY", "TOTAL");
        for (size_t i = 0; i < n; i++) {
                printf("%-16s %-12s", fh[i].host->name, fanout_result_to_string(fh[i].result));
                if (fh[i].changed >= 0)
                        printf(" %7ld", fh[i].changed);
                else
                        printf(" %7s", "-");
                print_ms(fh[i].plan_ms);
                print_ms(fh[i].install_ms);
                print_ms(fh[i].start_ms);
                print_ms(fh[i].healthy_ms);
                print_ms(fh[i].started_usec ? (fh[i].ended_usec - fh[i].started_usec) / 1000 : -1);
                if (fh[i].error && fh[i].result != FANOUT_OK)
                        printf("  %s", fh[i].error);
                printf("\n");
        }
        fflush(stdout);
}

void report_usage_error(const char *verb, const char *usage, const char *message)
{
        log_error("%s; usage: kubestrap %s", message, usage);
        fprintf(stderr, "Try 'kubestrap%s%s --help'.\n", verb ? " " : "", verb ? verb : "");
}
