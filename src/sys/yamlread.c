/* Reading YAML documents through libyaml's document loader, walked by node handles. */
#include "yamlread.h"

#include <errno.h>
#include <stdlib.h>
#include <string.h>
#include <yaml.h>

#include "util.h"

struct ydoc {
        yaml_document_t doc;
};

int ydoc_parse(const char *text, size_t len, struct ydoc **ret, char **ret_error)
{
        yaml_parser_t parser;
        struct ydoc *d = calloc(1, sizeof(*d));
        if (!d)
                return -ENOMEM;
        if (!yaml_parser_initialize(&parser)) {
                free(d);
                return -ENOMEM;
        }
        yaml_parser_set_input_string(&parser, (const unsigned char *)text, len);
        /* Aliases are shared nodes in the loaded document, never copies: a "billion laughs"
         * text costs what it weighs, and the walk below only follows named keys. */
        int r = 0;
        if (!yaml_parser_load(&parser, &d->doc)) {
                r = parser.error == YAML_MEMORY_ERROR ? -ENOMEM : -EBADMSG;
                if (r == -EBADMSG)
                        asprintf_safe(ret_error, "line %zu: %s%s%s", parser.problem_mark.line + 1,
                                      parser.problem ? parser.problem : "syntax error",
                                      parser.context ? " " : "",
                                      parser.context ? parser.context : "");
                free(d);
        }
        yaml_parser_delete(&parser);
        if (r < 0)
                return r;
        *ret = d;
        return 0;
}

struct ydoc *ydoc_free(struct ydoc *d)
{
        if (!d)
                return NULL;
        yaml_document_delete(&d->doc);
        free(d);
        return NULL;
}

static yaml_node_t *node(const struct ydoc *d, ynode n)
{
        return n > 0 ? yaml_document_get_node((yaml_document_t *)&d->doc, n) : NULL;
}

ynode ydoc_root(const struct ydoc *d)
{
        /* libyaml numbers nodes from 1 and the root is the first */
        return yaml_document_get_root_node((yaml_document_t *)&d->doc) ? 1 : 0;
}

const char *ydoc_str(const struct ydoc *d, ynode n)
{
        yaml_node_t *y = node(d, n);
        if (!y || y->type != YAML_SCALAR_NODE)
                return NULL;
        /* libyaml keeps the length; a NUL inside would cut the string short unseen */
        if (strlen((const char *)y->data.scalar.value) != y->data.scalar.length)
                return NULL;
        return (const char *)y->data.scalar.value;
}

ynode ydoc_get(const struct ydoc *d, ynode map, const char *key)
{
        yaml_node_t *y = node(d, map);
        if (!y || y->type != YAML_MAPPING_NODE)
                return 0;
        for (yaml_node_pair_t *p = y->data.mapping.pairs.start; p < y->data.mapping.pairs.top;
             p++) {
                const char *k = ydoc_str(d, p->key);
                if (k && streq(k, key))
                        return p->value;
        }
        return 0;
}

size_t ydoc_len(const struct ydoc *d, ynode seq)
{
        yaml_node_t *y = node(d, seq);
        if (!y || y->type != YAML_SEQUENCE_NODE)
                return 0;
        return (size_t)(y->data.sequence.items.top - y->data.sequence.items.start);
}

ynode ydoc_item(const struct ydoc *d, ynode seq, size_t i)
{
        if (i >= ydoc_len(d, seq))
                return 0;
        return node(d, seq)->data.sequence.items.start[i];
}

unsigned ydoc_line(const struct ydoc *d, ynode n)
{
        yaml_node_t *y = node(d, n);
        return y ? (unsigned)y->start_mark.line + 1 : 0;
}
