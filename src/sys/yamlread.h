/* Reading YAML documents (kubeconfigs): the libyaml wrapper, the only module that includes
 * yaml.h. A document is loaded whole and walked through node handles; nothing of libyaml's
 * types leaks out. */
#pragma once

#include <stddef.h>

struct ydoc;

/* A node of a document: 0 is "none" (a missing key, an index out of range). */
typedef int ynode;

/* Parses the first document of text. On a syntax error returns -EBADMSG and sets *ret_error
 * to libyaml's problem with its line ("line 3: mapping values are not allowed in this
 * context"); an empty text is an empty document (its root is 0). */
int ydoc_parse(const char *text, size_t len, struct ydoc **ret, char **ret_error);
struct ydoc *ydoc_free(struct ydoc *d);
static inline void ydoc_freep(struct ydoc **d)
{
        ydoc_free(*d);
}
#define _cleanup_ydoc_ __attribute__((cleanup(ydoc_freep)))

ynode ydoc_root(const struct ydoc *d);
/* The value of key in a mapping (the first, if the key repeats), or 0. */
ynode ydoc_get(const struct ydoc *d, ynode map, const char *key);
/* A scalar's text, or NULL when node is not a scalar or holds a NUL byte. */
const char *ydoc_str(const struct ydoc *d, ynode node);
/* A sequence's length (0 when node is not a sequence) and its items. */
size_t ydoc_len(const struct ydoc *d, ynode seq);
ynode ydoc_item(const struct ydoc *d, ynode seq, size_t i);
/* The line (from 1) where node starts, for messages; 0 when unknown. */
unsigned ydoc_line(const struct ydoc *d, ynode node);
