/* Logging for commands, and the escaping that human and JSON output share. */
#include "log.h"

#include <errno.h>
#include <pthread.h>
#include <stdarg.h>
#include <string.h>

int log_verbose = 0;
static void (*error_mirror)(const char *message, const struct err_where *w);

void log_set_error_mirror(void (*mirror)(const char *message, const struct err_where *w))
{
        error_mirror = mirror;
}

/* A noted error: its message and a copy of its fields. */
struct note {
        char *message;
        unsigned line;
        char *field[6]; /* file, section, key, url, host, unit */
};

/* Grows with the failures of one run (a few per mirror or unit at most) and shrinks as they
 * are logged; the fetch thread notes too, hence the lock. */
static struct {
        pthread_mutex_t lock;
        struct note *notes;
        size_t n, cap;
} noted = {.lock = PTHREAD_MUTEX_INITIALIZER};

static const char **where_field(struct err_where *w, size_t i)
{
        const char **f[] = {&w->file, &w->section, &w->key, &w->url, &w->host, &w->unit};
        return f[i];
}

static void note_free(struct note *n)
{
        free(n->message);
        for (size_t i = 0; i < ELEMENTSOF(n->field); i++)
                free(n->field[i]);
}

void log_note_where(const char *message, const struct err_where *w)
{
        if (!error_mirror || !message || !*message || !w)
                return;
        struct note n = {.message = strdup(message), .line = w->line};
        bool ok = n.message;
        struct err_where copy = *w;
        for (size_t i = 0; i < ELEMENTSOF(n.field); i++) {
                const char *v = *where_field(&copy, i);
                n.field[i] = v ? strdup(v) : NULL;
                ok = ok && (!v || n.field[i]);
        }
        pthread_mutex_lock(&noted.lock);
        bool kept = ok && ARRAY_RESERVE(noted.notes, noted.cap, noted.n + 1) >= 0;
        if (kept)
                noted.notes[noted.n++] = n;
        pthread_mutex_unlock(&noted.lock);
        if (!kept) /* out of memory: the event only lacks its fields */
                note_free(&n);
}

int log_note_error(char **ret_error, int error, const struct err_where *w, const char *fmt, ...)
{
        va_list ap;
        char *msg = NULL;
        va_start(ap, fmt);
        int n = vasprintf(&msg, fmt, ap);
        va_end(ap);
        if (n < 0)
                return -ENOMEM;
        log_note_where(msg, w);
        *ret_error = msg;
        return error;
}

/* Takes the notes whose message the logged text contains and merges them into *w; the
 * returned notes own the strings *w points to. */
static struct note *take_notes(const char *text, struct err_where *w, size_t *ret_n)
{
        struct note *taken = NULL;
        size_t n = 0, cap = 0;
        pthread_mutex_lock(&noted.lock);
        for (size_t i = 0; i < noted.n;) {
                if (!strstr(text, noted.notes[i].message) || ARRAY_RESERVE(taken, cap, n + 1) < 0) {
                        i++;
                        continue;
                }
                struct note *t = &taken[n++];
                *t = noted.notes[i];
                noted.notes[i] = noted.notes[--noted.n];
                if (!w->line)
                        w->line = t->line;
                for (size_t k = 0; k < ELEMENTSOF(t->field); k++)
                        if (!*where_field(w, k))
                                *where_field(w, k) = t->field[k];
        }
        pthread_mutex_unlock(&noted.lock);
        *ret_n = n;
        return taken;
}

/* Bytes of S that must not reach a terminal as they are: C0 and C1 controls and DEL (an
 * escape sequence can rewrite what was printed before or retitle the window), and bytes that
 * are not UTF-8. Returns how many bytes starting at S are one character, and whether it is safe. */
static size_t char_at(const char *s, bool *ret_safe)
{
        uint32_t cp;
        int n = utf8_decode(s, &cp);
        if (n < 0) {
                *ret_safe = false;
                return 1;
        }
        *ret_safe = !(cp < 0x20 || (cp >= 0x7f && cp <= 0x9f));
        return (size_t)n;
}

int log_escape_append(struct buf *b, const char *s)
{
        int r = 0;
        while (r >= 0 && *s) {
                bool safe;
                size_t n = char_at(s, &safe);
                if (safe)
                        r = buf_append(b, s, n);
                else /* a C1 control is two bytes, both shown */
                        for (size_t i = 0; i < n && r >= 0; i++)
                                r = buf_printf(b, "\\x%02x", (unsigned char)s[i]);
                s += n;
        }
        return r;
}

/* Every line a person reads on stderr goes through here: one message, one line, escaped. */
static void log_line(const char *prefix, const char *fmt, va_list ap)
{
        _cleanup_buf_ struct buf b = {0};
        char *msg = NULL;
        if (vasprintf(&msg, fmt, ap) < 0)
                msg = NULL;
        if (buf_puts(&b, prefix) >= 0 &&
            log_escape_append(&b, msg ? msg : "(out of memory)") >= 0 && buf_puts(&b, "\n") >= 0)
                fputs(b.data, stderr);
        free(msg);
}

static int log_where_va(const struct err_where *where, int error, const char *fmt, va_list ap)
{
        va_list aq;
        int saved = errno;

        errno = error < 0 ? -error : error;
        va_copy(aq, ap);
        log_line("kubestrap: ", fmt, aq);
        va_end(aq);
        errno = saved;
        if (error_mirror) {
                char *msg = NULL;
                errno = error < 0 ? -error : error;
                if (vasprintf(&msg, fmt, ap) < 0)
                        msg = NULL;
                errno = saved;
                struct err_where w = where ? *where : (struct err_where){0};
                size_t n = 0;
                struct note *taken = msg ? take_notes(msg, &w, &n) : NULL;
                error_mirror(msg ? msg : "(out of memory)", &w);
                for (size_t i = 0; i < n; i++)
                        note_free(&taken[i]);
                free(taken);
                free(msg);
        }
        return error < 0 ? error : -error;
}

int log_full_errno(int error, const char *fmt, ...)
{
        va_list ap;
        va_start(ap, fmt);
        int r = log_where_va(NULL, error, fmt, ap);
        va_end(ap);
        return r;
}

int log_where_errno(const struct err_where *w, int error, const char *fmt, ...)
{
        va_list ap;
        va_start(ap, fmt);
        int r = log_where_va(w, error, fmt, ap);
        va_end(ap);
        return r;
}

void log_warning(const char *fmt, ...)
{
        va_list ap;
        va_start(ap, fmt);
        log_line("kubestrap: warning: ", fmt, ap);
        va_end(ap);
}

void log_debug(const char *fmt, ...)
{
        va_list ap;
        if (!log_verbose)
                return;
        va_start(ap, fmt);
        log_line("kubestrap: debug: ", fmt, ap);
        va_end(ap);
}

/* JSON is always valid UTF-8: a byte that is not UTF-8 becomes U+FFFD (written \ufffd), so
 * a reader that insists on UTF-8 still gets every event; controls (C0, DEL, C1) become
 * \u00XX. */
int json_append_string(struct buf *b, const char *s)
{
        int r = buf_puts(b, "\"");
        while (r >= 0 && *s) {
                bool safe;
                uint32_t cp;
                size_t n = char_at(s, &safe);
                if (*s == '"')
                        r = buf_puts(b, "\\\"");
                else if (*s == '\\')
                        r = buf_puts(b, "\\\\");
                else if (*s == '\n')
                        r = buf_puts(b, "\\n");
                else if (*s == '\t')
                        r = buf_puts(b, "\\t");
                else if (safe)
                        r = buf_append(b, s, n);
                else if (utf8_decode(s, &cp) < 0)
                        r = buf_puts(b, "\\ufffd");
                else
                        r = buf_printf(b, "\\u%04x", (unsigned)cp);
                s += n;
        }
        if (r >= 0)
                r = buf_puts(b, "\"");
        return r;
}
