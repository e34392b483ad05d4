/* Logging for commands, and the escaping that human and JSON output share. */
#include "log.h"

#include <errno.h>
#include <stdarg.h>
#include <string.h>

int log_verbose = 0;
static void (*error_mirror)(const char *message);

void log_set_error_mirror(void (*mirror)(const char *message))
{
        error_mirror = mirror;
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

int log_full_errno(int error, const char *fmt, ...)
{
        va_list ap;
        int saved = errno;

        errno = error < 0 ? -error : error;
        va_start(ap, fmt);
        log_line("kubestrap: ", fmt, ap);
        va_end(ap);
        errno = saved;
        if (error_mirror) {
                char *msg = NULL;
                errno = error < 0 ? -error : error;
                va_start(ap, fmt);
                if (vasprintf(&msg, fmt, ap) < 0)
                        msg = NULL;
                va_end(ap);
                errno = saved;
                error_mirror(msg ? msg : "(out of memory)");
                free(msg);
        }
        return error < 0 ? error : -error;
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
