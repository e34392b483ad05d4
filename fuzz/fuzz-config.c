/* Fuzz target: the configuration, from INI reading (src/base/config.c) to every validation
 * (src/core/model.c, src/base/validate.c), through model_load_string(). */
#include <stdlib.h>
#include <string.h>

#include "fuzz.h"
#include "model.h"
#include "util.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
        /* A configuration file is text; the real reader refuses NUL bytes before parsing, so
         * one here would only hide the rest of the input. */
        if (memchr(data, 0, size))
                return -1;
        _cleanup_free_ char *text = strndup((const char *)data, size);
        if (!text)
                return 0;

        struct model *m = NULL;
        _cleanup_strv_free_ char **errors = NULL;
        /* Valid or not, everything it returns must be freeable (the leak checker sees to it). */
        (void)model_load_string("fuzz.conf", text, &m, &errors);
        model_free(m);
        return 0;
}
