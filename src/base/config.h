/* INI reading, with the line number of every entry and section header kept for error
 * messages. The syntax is inih's (as Debian builds it), without its 200-byte line cap. */
#pragma once

#include <stddef.h>

/* The longest line the reader takes, its newline not counted: long enough for any list of
 * URLs or etcd servers, short of letting a single value run away with the 1 MiB a file may
 * be. */
#define INI_LINE_MAX (64 * 1024)
/* The largest configuration file read. */
#define INI_FILE_MAX (1024 * 1024)

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
