/* Logging for commands (helpers never print), and the escaping that human and JSON output
 * share. */
#pragma once

#include <stdbool.h>
#include <stdio.h>

#include "util.h"

extern int log_verbose;

/* Called with each error message as well (report.c sets it for --output json: machines read
 * stdout, so errors are mirrored there as events). NULL: stderr only. */
void log_set_error_mirror(void (*mirror)(const char *message));

/* Prints "kubestrap: <message>" to stderr; %m expands to strerror(-error). Returns error. */
int log_full_errno(int error, const char *fmt, ...) _printf_(2, 3);
#define log_error_errno(error, ...) log_full_errno((error), __VA_ARGS__)
#define log_error(...)              ((void)log_full_errno(0, __VA_ARGS__))
void log_warning(const char *fmt, ...) _printf_(1, 2);
void log_debug(const char *fmt, ...) _printf_(1, 2);

/* Human output: appends S with controls and bytes that are not UTF-8 shown as \xNN. */
int log_escape_append(struct buf *b, const char *s);

/* JSON: append a quoted, escaped string to a buffer; the result is always valid UTF-8. */
int json_append_string(struct buf *b, const char *s);
