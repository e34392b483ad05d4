/* INI reading through inih, with the line number of every entry kept for error messages. */
#include "config.h"

#include <errno.h>
#include <fcntl.h>
#include <stdarg.h>
#include <ini.h>
#include <stdio.h>
#include <string.h>
#include <sys/stat.h>

#include "fileio.h"
#include "log.h"
#include "util.h"

/* inih gives its handler no line number and Debian's build caps lines at 200 bytes, so the
 * text is fed through our own reader, which counts lines and notices lines that would be cut. */
struct reader {
        const char *text;
        size_t pos, len;
        unsigned line;
        unsigned long_line; /* first line that was too long */
        int max;
};

struct parse {
        struct ini_file *file;
        struct reader *rd;
        char *last_section;
        int error;
};

static char *reader_gets(char *str, int num, void *stream)
{
        struct reader *rd = stream;
        if (rd->pos >= rd->len || rd->long_line)
                return NULL;
        const char *start = rd->text + rd->pos;
        const char *nl = memchr(start, '\n', rd->len - rd->pos);
        size_t n = nl ? (size_t)(nl - start) + 1 : rd->len - rd->pos;
        rd->line++;
        rd->pos += n;
        /* Indentation is dropped: inih would take an indented line for the continuation of
         * the key above it, which surprises more than it helps. */
        while (n > 0 && (*start == ' ' || *start == '\t')) {
                start++;
                n--;
        }
        rd->max = num;
        if (n + 1 > (size_t)num) {
                rd->long_line = rd->line;
                return NULL;
        }
        memcpy(str, start, n);
        str[n] = 0;
        return str;
}

/* inih keeps blanks inside "[ name ]"; the section is the name without them. */
static char *strip_dup(const char *s)
{
        while (*s == ' ' || *s == '\t')
                s++;
        size_t l = strlen(s);
        while (l > 0 && (s[l - 1] == ' ' || s[l - 1] == '\t'))
                l--;
        return strndup(s, l);
}

static int handler(void *user, const char *section, const char *name, const char *value)
{
        struct parse *p = user;
        struct ini_file *f = p->file;

        if (!name) /* section start notification (only with INI_CALL_HANDLER_ON_NEW_SECTION) */
                return 1;
        struct ini_entry *n = realloc(f->entries, (f->n_entries + 1) * sizeof(*n));
        if (!n) {
                p->error = -ENOMEM;
                return 0;
        }
        f->entries = n;
        struct ini_entry *e = &f->entries[f->n_entries];
        *e = (struct ini_entry){
            .section = strip_dup(section),
            .key = strdup(name),
            .value = strdup(value ? value : ""),
            .line = p->rd->line,
        };
        f->n_entries++;
        if (!e->section || !e->key || !e->value) {
                p->error = -ENOMEM;
                return 0;
        }
        return 1;
}

/* inih does not report empty sections; record headers ourselves so "[clustr]" with no keys
 * is still caught as an unknown section. */
static int scan_sections(struct ini_file *f, const char *text)
{
        unsigned line = 0;
        for (const char *p = text; *p;) {
                const char *nl = strchr(p, '\n');
                size_t n = nl ? (size_t)(nl - p) : strlen(p);
                line++;
                const char *s = p;
                while (s < p + n && (*s == ' ' || *s == '\t'))
                        s++;
                if (s < p + n && *s == '[') {
                        const char *end = memchr(s, ']', (size_t)(p + n - s));
                        if (end) {
                                char *name = strndup(s + 1, (size_t)(end - s - 1));
                                if (!name)
                                        return -ENOMEM;
                                /* trim like inih does */
                                char *a = name;
                                while (*a == ' ' || *a == '\t')
                                        a++;
                                size_t l = strlen(a);
                                while (l > 0 && (a[l - 1] == ' ' || a[l - 1] == '\t'))
                                        a[--l] = 0;
                                memmove(name, a, l + 1);
                                int r = strv_push(&f->sections, name);
                                if (r < 0)
                                        return r;
                                unsigned *sl = realloc(f->section_lines,
                                                       strv_length(f->sections) * sizeof(unsigned));
                                if (!sl)
                                        return -ENOMEM;
                                f->section_lines = sl;
                                sl[strv_length(f->sections) - 1] = line;
                        }
                }
                p += n;
                if (*p == '\n')
                        p++;
        }
        return 0;
}

/* An error in the file: its message for the caller, and where it is for an error event. */
static int file_error(char **ret_error, int r, const char *file, unsigned line, const char *fmt,
                      ...) _printf_(5, 6);
static int file_error(char **ret_error, int r, const char *file, unsigned line, const char *fmt,
                      ...)
{
        va_list ap;
        char *msg = NULL;
        va_start(ap, fmt);
        int n = vasprintf(&msg, fmt, ap);
        va_end(ap);
        if (n < 0)
                return -ENOMEM;
        log_note_where(msg, &(struct err_where){.file = file, .line = line});
        *ret_error = msg;
        return r;
}

int ini_file_parse_string(const char *name, const char *text, struct ini_file **ret,
                          char **ret_error)
{
        struct ini_file *f = calloc(1, sizeof(*f));
        if (!f)
                return -ENOMEM;
        f->path = strdup(name);
        if (!f->path) {
                ini_file_free(f);
                return -ENOMEM;
        }
        struct reader rd = {.text = text, .len = strlen(text)};
        struct parse p = {.file = f, .rd = &rd};

        int r = ini_parse_stream(reader_gets, &rd, handler, &p);
        if (p.error < 0) {
                ini_file_free(f);
                return p.error;
        }
        if (rd.long_line) {
                ini_file_free(f);
                return file_error(ret_error, -EINVAL, name, rd.long_line,
                                  "%s:%u: line too long (at most %d bytes)", name, rd.long_line,
                                  rd.max - 3);
        }
        if (r != 0) {
                ini_file_free(f);
                return file_error(ret_error, -EINVAL, name, (unsigned)r,
                                  "%s:%d: syntax error: expected '[section]' or 'key = value'",
                                  name, r);
        }
        r = scan_sections(f, text);
        if (r < 0) {
                ini_file_free(f);
                return r;
        }
        *ret = f;
        return 0;
}

int ini_file_read(const char *path, struct ini_file **ret, char **ret_error)
{
        _cleanup_free_ char *text = NULL;
        size_t len;
        int r = read_file_trusted(path, 1 << 20, &text, &len);
        if (r == -EPERM)
                return file_error(ret_error, -EPERM, path, 0,
                                  "%s: refusing a file writable by group or others", path);
        if (r < 0)
                return file_error(ret_error, r, path, 0, "%s: %s", path, fileio_strerror(r));
        if (memchr(text, 0, len))
                return file_error(ret_error, -EINVAL, path, 0, "%s: contains a NUL byte", path);
        return ini_file_parse_string(path, text, ret, ret_error);
}

struct ini_file *ini_file_free(struct ini_file *f)
{
        if (!f)
                return NULL;
        for (size_t i = 0; i < f->n_entries; i++) {
                free(f->entries[i].section);
                free(f->entries[i].key);
                free(f->entries[i].value);
        }
        free(f->entries);
        strv_free(f->sections);
        free(f->section_lines);
        free(f->path);
        free(f);
        return NULL;
}
