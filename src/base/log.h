/* Logging for commands (helpers never print), and the escaping that human and JSON output
 * share. */
#pragma once

#include <stdbool.h>
#include <stdio.h>

#include "util.h"

extern int log_verbose;

/* Where an error is, for machines: the structured fields of a JSON error event (NULL or 0:
 * not known). */
struct err_where {
        const char *file;
        unsigned line;
        const char *section, *key, *url, *host, *unit;
};

/* Called with each error message and where it is (report.c sets it for --output json:
 * machines read stdout, so errors are mirrored there as events). NULL: stderr only. */
void log_set_error_mirror(void (*mirror)(const char *message, const struct err_where *w));

/* A helper that writes an error message for its caller (a ret_error string, a job's error)
 * notes where that error is. Helpers still never print: the note is only data. When a command
 * later logs an error whose text contains the message, the event carries the noted fields
 * (the first note wins for a field several notes name) and the note is dropped; an error the
 * caller handles without logging leaves its note unused and never attached to another
 * message. Thread-safe; a no-op unless a mirror is set. */
void log_note_where(const char *message, const struct err_where *w);
/* The usual pair: formats the message into *ret_error, notes w for it, returns error
 * (-ENOMEM when the message cannot be made). */
int log_note_error(char **ret_error, int error, const struct err_where *w, const char *fmt, ...)
    _printf_(4, 5);

/* Prints "kubestrap: <message>" to stderr; %m expands to strerror(-error). Returns error. */
int log_full_errno(int error, const char *fmt, ...) _printf_(2, 3);
#define log_error_errno(error, ...) log_full_errno((error), __VA_ARGS__)
#define log_error(...)              ((void)log_full_errno(0, __VA_ARGS__))
/* The same, with where the error is known to the command itself (w may be NULL). */
int log_where_errno(const struct err_where *w, int error, const char *fmt, ...) _printf_(3, 4);
void log_warning(const char *fmt, ...) _printf_(1, 2);
void log_debug(const char *fmt, ...) _printf_(1, 2);

/* Human output: appends S with controls and bytes that are not UTF-8 shown as \xNN. */
int log_escape_append(struct buf *b, const char *s);

/* JSON: append a quoted, escaped string to a buffer; the result is always valid UTF-8. */
int json_append_string(struct buf *b, const char *s);
