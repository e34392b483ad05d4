/* Logging for commands (helpers never print) and the JSON-lines event writer. */
#pragma once

#include <stdbool.h>
#include <stdio.h>

#include "util.h"

enum output_mode {
        OUTPUT_HUMAN,
        OUTPUT_JSON,
};

extern enum output_mode arg_output;
extern int log_verbose;

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

/* One event = one line of JSON on stdout. Build with json_begin/json_str/json_int/json_end. */
struct json_event {
        struct buf b;
        bool first;
};
void json_begin(struct json_event *e, const char *event);
void json_str(struct json_event *e, const char *key, const char *value);
void json_int(struct json_event *e, const char *key, long long value);
void json_bool(struct json_event *e, const char *key, bool value);
void json_end(struct json_event *e);
