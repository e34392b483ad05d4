/* Logging for commands and the JSON-lines event writer used by --output json. */
#include "log.h"

#include <errno.h>
#include <stdarg.h>
#include <string.h>

enum output_mode arg_output = OUTPUT_HUMAN;
int log_verbose = 0;

int log_full_errno(int error, const char *fmt, ...)
{
        va_list ap;
        int saved = errno;

        errno = error < 0 ? -error : error;
        fputs("kubestrap: ", stderr);
        va_start(ap, fmt);
        vfprintf(stderr, fmt, ap);
        va_end(ap);
        fputc('\n', stderr);
        errno = saved;
        if (arg_output == OUTPUT_JSON) {
                /* Machines read stdout: mirror the error as an event there too. */
                struct json_event e;
                char *msg = NULL;
                errno = error < 0 ? -error : error;
                va_start(ap, fmt);
                if (vasprintf(&msg, fmt, ap) < 0)
                        msg = NULL;
                va_end(ap);
                errno = saved;
                json_begin(&e, "error");
                json_str(&e, "message", msg ? msg : "(out of memory)");
                json_end(&e);
                free(msg);
        }
        return error < 0 ? error : -error;
}

void log_debug(const char *fmt, ...)
{
        va_list ap;
        if (!log_verbose)
                return;
        fputs("kubestrap: debug: ", stderr);
        va_start(ap, fmt);
        vfprintf(stderr, fmt, ap);
        va_end(ap);
        fputc('\n', stderr);
}

int json_append_string(struct buf *b, const char *s)
{
        int r = buf_puts(b, "\"");
        for (const unsigned char *p = (const unsigned char *)s; r >= 0 && *p; p++) {
                switch (*p) {
                case '"':
                        r = buf_puts(b, "\\\"");
                        break;
                case '\\':
                        r = buf_puts(b, "\\\\");
                        break;
                case '\n':
                        r = buf_puts(b, "\\n");
                        break;
                case '\t':
                        r = buf_puts(b, "\\t");
                        break;
                default:
                        if (*p < 0x20 || *p == 0x7f)
                                r = buf_printf(b, "\\u%04x", *p);
                        else
                                r = buf_append(b, p, 1);
                }
        }
        if (r >= 0)
                r = buf_puts(b, "\"");
        return r;
}

void json_begin(struct json_event *e, const char *event)
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

void json_str(struct json_event *e, const char *key, const char *value)
{
        json_key(e, key);
        if (value)
                json_append_string(&e->b, value);
        else
                buf_puts(&e->b, "null");
}

void json_int(struct json_event *e, const char *key, long long value)
{
        json_key(e, key);
        buf_printf(&e->b, "%lld", value);
}

void json_bool(struct json_event *e, const char *key, bool value)
{
        json_key(e, key);
        buf_puts(&e->b, value ? "true" : "false");
}

void json_end(struct json_event *e)
{
        buf_puts(&e->b, "}\n");
        if (e->b.data)
                fputs(e->b.data, stdout);
        fflush(stdout);
        buf_done(&e->b);
}
