/* INI reading, line by line, with the line number of every entry kept for error messages.
 * Debian's inih caps lines at 200 bytes (a build-time constant), which a list of URLs or etcd
 * servers passes; this reader takes inih's syntax without the cap. */
#include "config.h"

#include <errno.h>
#include <fcntl.h>
#include <stdbool.h>
#include <stdlib.h>
#include <stdio.h>
#include <string.h>
#include <sys/stat.h>

#include "fileio.h"
#include "log.h"
#include "util.h"

/* An error in the file: its message for the caller, and where it is for an error event. */
#define file_error(ret_error, r, path, at, ...)                                                    \
        log_note_error((ret_error), (r), &(struct err_where){.file = (path), .line = (at)},        \
                       __VA_ARGS__)

/* Blanks as inih's isspace() sees them at the ends of a line, a name or a value. */
static bool is_blank(char c)
{
        return c == ' ' || c == '\t' || c == '\r' || c == '\v' || c == '\f' || c == '\n';
}

static const char *skip_blanks(const char *s, const char *end)
{
        while (s < end && is_blank(*s))
                s++;
        return s;
}

static const char *trim_end(const char *s, const char *end)
{
        while (end > s && is_blank(end[-1]))
                end--;
        return end;
}

/* The first of chars in [s, end), or an inline comment (';' after a blank), or end: inih's
 * find_chars_or_comment(). */
static const char *find_chars_or_comment(const char *s, const char *end, const char *chars)
{
        bool was_blank = false;
        for (; s < end; s++) {
                if ((chars && strchr(chars, *s)) || (was_blank && *s == ';'))
                        break;
                was_blank = is_blank(*s);
        }
        return s;
}

static int add_section(struct ini_file *f, const char *name, size_t len, unsigned line)
{
        char *copy = strndup(name, len);
        if (!copy)
                return -ENOMEM;
        int r = strv_push(&f->sections, copy);
        if (r < 0)
                return r;
        size_t n = strv_length(f->sections);
        unsigned *sl = realloc(f->section_lines, n * sizeof(*sl));
        if (!sl)
                return -ENOMEM;
        f->section_lines = sl;
        sl[n - 1] = line;
        return 0;
}

static int add_entry(struct ini_file *f, const char *section, const char *key, size_t key_len,
                     const char *value, size_t value_len, unsigned line)
{
        struct ini_entry *n = realloc(f->entries, (f->n_entries + 1) * sizeof(*n));
        if (!n)
                return -ENOMEM;
        f->entries = n;
        struct ini_entry *e = &f->entries[f->n_entries++];
        *e = (struct ini_entry){
            .section = strdup(section),
            .key = strndup(key, key_len),
            .value = strndup(value, value_len),
            .line = line,
        };
        return e->section && e->key && e->value ? 0 : -ENOMEM;
}

/* One line, without its newline: a comment, "[section]" or "key = value" (or "key: value"),
 * as inih reads them. Indentation is dropped first: inih would take an indented line for the
 * continuation of the key above it, which surprises more than it helps. Returns 0, 1 for a
 * syntax error, or -errno. */
static int parse_line(struct ini_file *f, char **section, const char *s, const char *end,
                      unsigned line)
{
        s = skip_blanks(s, end);
        end = trim_end(s, end);
        if (s == end || *s == ';' || *s == '#')
                return 0;
        if (*s == '[') {
                const char *close = find_chars_or_comment(s + 1, end, "]");
                if (close == end || *close != ']')
                        return 1;
                /* the name without blanks around it: "[ paths ]" is [paths] */
                const char *name = skip_blanks(s + 1, close);
                const char *name_end = trim_end(name, close);
                char *copy = strndup(name, (size_t)(name_end - name));
                if (!copy)
                        return -ENOMEM;
                free(*section);
                *section = copy;
                return add_section(f, name, (size_t)(name_end - name), line);
        }
        const char *sep = find_chars_or_comment(s, end, "=:");
        if (sep == end || (*sep != '=' && *sep != ':'))
                return 1;
        const char *value = sep + 1;
        const char *value_end = find_chars_or_comment(value, end, NULL);
        value = skip_blanks(value, value_end);
        value_end = trim_end(value, value_end);
        return add_entry(f, *section ? *section : "", s, (size_t)(trim_end(s, sep) - s), value,
                         (size_t)(value_end - value), line);
}

/* Every line in turn; the first syntax error or over-long line is the one reported, as inih
 * reports the first bad line. */
static int parse_text(const char *name, const char *text, struct ini_file *f, char **ret_error)
{
        _cleanup_free_ char *section = NULL;
        unsigned line = 0, bad = 0;
        const char *p = text;
        if (strncmp(p, "\xef\xbb\xbf", 3) == 0) /* a UTF-8 byte order mark, as inih allows */
                p += 3;
        while (*p) {
                const char *nl = strchr(p, '\n');
                const char *end = nl ? nl : p + strlen(p);
                line++;
                if ((size_t)(end - p) > INI_LINE_MAX)
                        return file_error(ret_error, -EINVAL, name, line,
                                          "%s:%u: line too long (at most %d bytes)", name, line,
                                          INI_LINE_MAX);
                int r = parse_line(f, &section, p, end, line);
                if (r < 0)
                        return r;
                if (r > 0 && !bad)
                        bad = line;
                p = nl ? nl + 1 : end;
        }
        if (bad)
                return file_error(ret_error, -EINVAL, name, bad,
                                  "%s:%u: syntax error: expected '[section]' or 'key = value'",
                                  name, bad);
        return 0;
}

int ini_file_parse_string(const char *name, const char *text, struct ini_file **ret,
                          char **ret_error)
{
        struct ini_file *f = calloc(1, sizeof(*f));
        if (!f)
                return -ENOMEM;
        f->path = strdup(name);
        int r = f->path ? parse_text(name, text, f, ret_error) : -ENOMEM;
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
        int r = read_file_trusted(path, INI_FILE_MAX, &text, &len);
        if (r == -EPERM)
                return file_error(ret_error, -EPERM, path, 0,
                                  "%s: refusing a file writable by group or others", path);
        if (r == -EFBIG)
                return file_error(ret_error, r, path, 0,
                                  "%s: larger than %d bytes, the most a configuration may be", path,
                                  INI_FILE_MAX);
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
