/* A small template renderer: "{{ name }}" placeholders, values escaped for their target. */
#pragma once

#include <stdbool.h>

#include "util.h"

enum template_escape {
        TEMPLATE_ESCAPE_NONE,
        TEMPLATE_ESCAPE_SYSTEMD, /* '%' -> '%%' and '$' -> '$$' so values stay literal */
};

/* Returns the value for name or NULL when undefined. *ret_raw set means the value was
 * produced by us and is inserted without escaping or checks. */
typedef const char *(*template_lookup_t)(const char *name, bool *ret_raw, void *userdata);

/* Renders text. On error returns -EINVAL and sets *ret_error to "NAME:LINE: message". */
int template_render(const char *name, const char *text, template_lookup_t lookup, void *userdata,
                    enum template_escape esc, char **ret, char **ret_error);
int template_escape_append(struct buf *b, const char *value, enum template_escape esc);
