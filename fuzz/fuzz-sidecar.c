/* Fuzz target: checksum sidecars and pins (src/sys/digest.c), both algorithms, with and without
 * the expected file name. */
#include <stdlib.h>
#include <string.h>

#include "digest.h"
#include "fuzz.h"
#include "util.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
        char hex[DIGEST_HEX_MAX];
        static const char *const names[] = {NULL, "kube-apiserver"};

        /* A sidecar is a downloaded byte buffer with a length, not a C string: pass it as it
         * came, so reading one byte past its end is caught. */
        for (int alg = 0; alg < _DIGEST_MAX; alg++)
                for (size_t n = 0; n < ELEMENTSOF(names); n++)
                        (void)digest_parse_sidecar((const char *)data, size, (enum digest_alg)alg,
                                                   names[n], hex);

        /* A pin is a configuration value: a C string. */
        _cleanup_free_ char *s = strndup((const char *)data, size);
        if (!s)
                return 0;
        enum digest_alg alg;
        (void)digest_parse_pin(s, &alg, hex);
        return 0;
}
