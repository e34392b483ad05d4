/* Reading the JSON event lines another kubestrap printed (fanout reads the hosts' runs): the
 * json-c wrapper, the only module that includes json-c. */
#pragma once

#include <stdbool.h>
#include <stddef.h>

struct jevent;

/* Parses one line. It must be a JSON object, strictly formed, all strings valid UTF-8;
 * otherwise -EBADMSG (the caller shows the line as plain output). */
int jevent_parse(const char *line, struct jevent **ret);
struct jevent *jevent_free(struct jevent *e);
static inline void jevent_freep(struct jevent **e)
{
        jevent_free(*e);
}
#define _cleanup_jevent_ __attribute__((cleanup(jevent_freep)))

/* A top-level string member, or NULL when it is missing or not a string. */
const char *jevent_str(const struct jevent *e, const char *key);
/* A top-level integer member, or def when it is missing or not an integer. */
long long jevent_int(const struct jevent *e, const char *key, long long def);
/* A top-level boolean member, or def when it is missing or not a boolean. */
bool jevent_bool(const struct jevent *e, const char *key, bool def);
/* Element i of the array member key, when it is an object, as a jevent of its own (freed by
 * the caller): -ENOENT past the end or without the array, -EBADMSG for another type. */
int jevent_object_at(const struct jevent *e, const char *key, size_t i, struct jevent **ret);
/* Element i of the array member key when it is a string, else NULL. */
const char *jevent_str_at(const struct jevent *e, const char *key, size_t i);
/* The object member key as a jevent of its own; -ENOENT when missing or another type. */
int jevent_object(const struct jevent *e, const char *key, struct jevent **ret);
/* The event's scalar members but "event" and "host" as "key=value key=value", in their order,
 * for a person; nested values are shown as "key=…". */
int jevent_to_text(const struct jevent *e, char **ret);
/* The event again as one line (no newline), with "host": HOST as its first member and the
 * event's own "host", if any, dropped. */
int jevent_with_host(const struct jevent *e, const char *host, char **ret);
