/* Fuzz target: the "{{ name }}" template renderer (src/core/template.c), in both escape modes. */
#include <stdbool.h>
#include <stdlib.h>
#include <string.h>

#include "fuzz.h"
#include "template.h"
#include "util.h"

struct fvar {
        const char *name, *value;
        bool raw;
};

/* A few names the shipped templates use, values that need systemd escaping or must be refused
 * (control characters), and "flags", which render.c builds itself and marks raw. */
static const struct fvar vars[] = {
    {"cluster.name", "kubernetes", false},
    {"node.internal-ip", "10.240.0.10", false},
    {"paths.lib-dir", "/var/lib/kubernetes", false},
    {"pct", "50%$HOME", false},
    {"nl", "a\nb", false},
    {"braces", "{{ flags }}", false},
    {"empty", "", false},
    {"flags", " \\\n  --v=2 \\\n  --feature-gates=A=true%%", true},
};

static const char *lookup(const char *name, bool *ret_raw, void *userdata)
{
        for (size_t i = 0; i < ELEMENTSOF(vars); i++)
                if (streq(vars[i].name, name)) {
                        *ret_raw = vars[i].raw;
                        return vars[i].value;
                }
        return NULL;
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
        /* Templates are read as C strings: everything after a NUL is never seen. */
        if (memchr(data, 0, size))
                return -1;
        _cleanup_free_ char *text = strndup((const char *)data, size);
        if (!text)
                return 0;

        static const enum template_escape modes[] = {TEMPLATE_ESCAPE_NONE, TEMPLATE_ESCAPE_SYSTEMD};
        for (size_t i = 0; i < ELEMENTSOF(modes); i++) {
                _cleanup_free_ char *out = NULL, *err = NULL;
                (void)template_render("fuzz.tmpl", text, lookup, NULL, modes[i], &out, &err);
        }
        return 0;
}
