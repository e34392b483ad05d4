/* INI reading through inih, with the line number of every entry kept for error messages. */
#pragma once

#include <stddef.h>

/* The longest line the reader takes: Debian's inih build reads 200 bytes, the newline, a CR
 * and the NUL included. Whatever kubestrap writes for itself to read stays within it. */
#define INI_LINE_MAX 197

struct ini_entry {
        char *section;
        char *key;
        char *value;
        unsigned line;
};

struct ini_file {
        char *path;
        struct ini_entry *entries;
        size_t n_entries;
        char **sections; /* every section header seen, in order, even empty ones */
        unsigned *section_lines;
};

/* Parses path into entries. On a syntax error returns -EINVAL and sets *ret_error to a
 * message naming file and line; -EPERM when the file is writable by others. */
int ini_file_read(const char *path, struct ini_file **ret, char **ret_error);
/* Same for text already in memory; name is used in messages. */
int ini_file_parse_string(const char *name, const char *text, struct ini_file **ret,
                          char **ret_error);
struct ini_file *ini_file_free(struct ini_file *f);
