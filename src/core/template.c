/* A small template renderer: "{{ name }}" placeholders, values escaped for their target. */
#include "template.h"

#include <ctype.h>
#include <errno.h>
#include <string.h>

#include "log.h"
#include "util.h"

int template_escape_append(struct buf *b, const char *value, enum template_escape esc)
{
        int r = 0;
        for (const char *p = value; *p && r >= 0; p++) {
                if (esc == TEMPLATE_ESCAPE_SYSTEMD && (*p == '%' || *p == '$'))
                        r = buf_append(b, p, 1); /* doubled: systemd's literal form */
                if (r >= 0)
                        r = buf_append(b, p, 1);
        }
        return r;
}

static bool name_char(char c)
{
        return isalnum((unsigned char)c) || c == '.' || c == '-' || c == '_';
}

int template_render(const char *name, const char *text, template_lookup_t lookup, void *userdata,
                    enum template_escape esc, char **ret, char **ret_error)
{
        struct buf out = {0};
        unsigned line = 1;
        const char *p = text;
        int r = 0;

        while (*p) {
                const char *open = strstr(p, "{{");
                const char *stop = open ? open : p + strlen(p);
                for (const char *q = p; q < stop; q++)
                        if (*q == '\n')
                                line++;
                r = buf_append(&out, p, (size_t)(stop - p));
                if (r < 0 || !open)
                        break;
                const char *s = open + 2;
                while (*s == ' ')
                        s++;
                const char *n0 = s;
                while (name_char(*s))
                        s++;
                const char *n1 = s;
                while (*s == ' ')
                        s++;
                if (!startswith(s, "}}") || n0 == n1) {
                        const char *nl = strchr(open, '\n');
                        const char *close = strstr(open, "}}");
                        const struct err_where w = {.file = name, .line = line};
                        if (!close || (nl && close > nl))
                                r = log_note_error(ret_error, -EINVAL, &w,
                                                   "%s:%u: unterminated '{{'", name, line);
                        else
                                r = log_note_error(ret_error, -EINVAL, &w,
                                                   "%s:%u: malformed placeholder '%.*s'", name,
                                                   line, (int)(close + 2 - open), open);
                        break;
                }
                _cleanup_free_ char *var = strndup(n0, (size_t)(n1 - n0));
                if (!var) {
                        r = -ENOMEM;
                        break;
                }
                bool raw = false;
                const char *value = lookup(var, &raw, userdata);
                if (!value) {
                        r = log_note_error(ret_error, -EINVAL,
                                           &(struct err_where){.file = name, .line = line},
                                           "%s:%u: undefined variable '%s'", name, line, var);
                        break;
                }
                if (!raw && string_has_cc(value)) {
                        /* A newline in a value could start a new directive in a unit file. */
                        asprintf_safe(
                            ret_error,
                            "%s:%u: value of '%s' contains a newline or control character", name,
                            line, var);
                        r = -EINVAL;
                        break;
                }
                r = raw ? buf_puts(&out, value) : template_escape_append(&out, value, esc);
                if (r < 0)
                        break;
                p = s + 2;
        }
        if (r < 0) {
                buf_done(&out);
                return r;
        }
        *ret = buf_steal(&out);
        return *ret ? 0 : -ENOMEM;
}
