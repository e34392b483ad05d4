/* Reading the JSON event lines another kubestrap printed: json-c behind a small interface. */
#include "jsonread.h"

#include <errno.h>
#include <stdint.h>
#include <json-c/json.h>
#include <stdlib.h>
#include <string.h>

#include "util.h"

struct jevent {
        json_object *obj;
};

/* json-c's own UTF-8 check lets overlong forms and surrogates through: ours is strict. */
static bool valid_utf8(const char *s)
{
        while (*s) {
                uint32_t cp;
                int n = utf8_decode(s, &cp);
                if (n <= 0)
                        return false;
                s += n;
        }
        return true;
}

int jevent_parse(const char *line, struct jevent **ret)
{
        size_t len = strlen(line);
        /* json-c takes the length as an int */
        if (len > INT32_MAX || !valid_utf8(line))
                return -EBADMSG;
        json_tokener *tok = json_tokener_new();
        if (!tok)
                return -ENOMEM;
        /* The lines come from another machine: no trailing garbage (UTF-8 was checked above,
         * more strictly than json-c's own check would) */
        json_tokener_set_flags(tok, JSON_TOKENER_STRICT);
        json_object *obj = json_tokener_parse_ex(tok, line, (int)len);
        enum json_tokener_error err = json_tokener_get_error(tok);
        size_t used = json_tokener_get_parse_end(tok);
        json_tokener_free(tok);
        if (err != json_tokener_success || used != len ||
            !json_object_is_type(obj, json_type_object)) {
                json_object_put(obj);
                return -EBADMSG;
        }
        struct jevent *e = malloc(sizeof(*e));
        if (!e) {
                json_object_put(obj);
                return -ENOMEM;
        }
        e->obj = obj;
        *ret = e;
        return 0;
}

struct jevent *jevent_free(struct jevent *e)
{
        if (e) {
                json_object_put(e->obj);
                free(e);
        }
        return NULL;
}

static json_object *member(const struct jevent *e, const char *key, json_type type)
{
        json_object *v = NULL;
        if (!e || !json_object_object_get_ex(e->obj, key, &v) || !json_object_is_type(v, type))
                return NULL;
        return v;
}

const char *jevent_str(const struct jevent *e, const char *key)
{
        json_object *v = member(e, key, json_type_string);
        return v ? json_object_get_string(v) : NULL;
}

long long jevent_int(const struct jevent *e, const char *key, long long def)
{
        json_object *v = member(e, key, json_type_int);
        return v ? (long long)json_object_get_int64(v) : def;
}

bool jevent_bool(const struct jevent *e, const char *key, bool def)
{
        json_object *v = member(e, key, json_type_boolean);
        return v ? json_object_get_boolean(v) : def;
}

int jevent_to_text(const struct jevent *e, char **ret)
{
        _cleanup_buf_ struct buf b = {0};
        int r = buf_puts(&b, "");
        json_object_object_foreach(e->obj, key, val)
        {
                if (r < 0)
                        break;
                if (streq(key, "event") || streq(key, "host"))
                        continue;
                r = buf_printf(&b, "%s%s=", b.len ? " " : "", key);
                if (r < 0)
                        break;
                switch (json_object_get_type(val)) {
                case json_type_object:
                case json_type_array:
                        r = buf_puts(&b, "…");
                        break;
                case json_type_null:
                        r = buf_puts(&b, "null");
                        break;
                default: /* strings, numbers and booleans as JSON would write them, unquoted */
                        r = buf_puts(&b, json_object_get_string(val));
                        break;
                }
        }
        if (r < 0)
                return -ENOMEM;
        *ret = buf_steal(&b);
        return 0;
}

int jevent_with_host(const struct jevent *e, const char *host, char **ret)
{
        json_object *out = json_object_new_object();
        json_object *h = json_object_new_string(host);
        int r = out && h ? 0 : -ENOMEM;
        if (r >= 0 && json_object_object_add(out, "host", h) < 0)
                r = -ENOMEM;
        else
                h = NULL;
        json_object_object_foreach(e->obj, key, val)
        {
                if (r < 0)
                        break;
                if (streq(key, "host"))
                        continue;
                if (json_object_object_add(out, key, json_object_get(val)) < 0)
                        r = -ENOMEM;
        }
        const char *s = r >= 0 ? json_object_to_json_string_ext(
                                     out, JSON_C_TO_STRING_PLAIN | JSON_C_TO_STRING_NOSLASHESCAPE)
                               : NULL;
        char *copy = s ? strdup(s) : NULL;
        json_object_put(h);
        json_object_put(out);
        if (!copy)
                return -ENOMEM;
        *ret = copy;
        return 0;
}

/* A member of another event as an event of its own: it holds a reference of its own. */
static int wrap(json_object *v, struct jevent **ret)
{
        struct jevent *n = malloc(sizeof(*n));
        if (!n)
                return -ENOMEM;
        n->obj = json_object_get(v);
        *ret = n;
        return 0;
}

int jevent_object_at(const struct jevent *e, const char *key, size_t i, struct jevent **ret)
{
        json_object *a = member(e, key, json_type_array);
        json_object *v =
            a && i < json_object_array_length(a) ? json_object_array_get_idx(a, i) : NULL;
        if (!v)
                return -ENOENT;
        if (!json_object_is_type(v, json_type_object))
                return -EBADMSG;
        return wrap(v, ret);
}

const char *jevent_str_at(const struct jevent *e, const char *key, size_t i)
{
        json_object *a = member(e, key, json_type_array);
        json_object *v =
            a && i < json_object_array_length(a) ? json_object_array_get_idx(a, i) : NULL;
        return v && json_object_is_type(v, json_type_string) ? json_object_get_string(v) : NULL;
}

int jevent_object(const struct jevent *e, const char *key, struct jevent **ret)
{
        json_object *v = member(e, key, json_type_object);
        if (!v)
                return -ENOENT;
        return wrap(v, ret);
}
