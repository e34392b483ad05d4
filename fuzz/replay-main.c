/* Runs a fuzz target's LLVMFuzzerTestOneInput() once on each file named on the command line,
 * without libFuzzer, so the corpus and the crashes found become ordinary regression tests. */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "fuzz.h"

static int read_all(const char *path, uint8_t **ret, size_t *ret_len)
{
        FILE *f = fopen(path, "rbe");
        if (!f)
                return -errno;
        uint8_t *buf = NULL;
        size_t len = 0, cap = 0;
        int r = 0;
        for (;;) {
                if (len == cap) {
                        size_t ncap = cap ? cap * 2 : 4096;
                        uint8_t *n = realloc(buf, ncap);
                        if (!n) {
                                r = -ENOMEM;
                                break;
                        }
                        buf = n;
                        cap = ncap;
                }
                size_t got = fread(buf + len, 1, cap - len, f);
                len += got;
                if (got == 0) {
                        if (ferror(f))
                                r = -EIO;
                        break;
                }
        }
        fclose(f);
        if (r < 0) {
                free(buf);
                return r;
        }
        /* An exact-size copy, as libFuzzer hands over, so a read past the end is caught. */
        uint8_t *exact = malloc(len ? len : 1);
        if (!exact) {
                free(buf);
                return -ENOMEM;
        }
        if (len)
                memcpy(exact, buf, len);
        free(buf);
        *ret = exact;
        *ret_len = len;
        return 0;
}

int main(int argc, char **argv)
{
        if (argc < 2) {
                fprintf(stderr, "usage: %s FILE...\n", argv[0]);
                return 2;
        }
        for (int i = 1; i < argc; i++) {
                uint8_t *data = NULL;
                size_t len = 0;
                int r = read_all(argv[i], &data, &len);
                if (r < 0) {
                        fprintf(stderr, "%s: %s\n", argv[i], strerror(-r));
                        return 1;
                }
                /* A crash ends the process; the name printed before it says which input. */
                fprintf(stderr, "running %s (%zu bytes)\n", argv[i], len);
                LLVMFuzzerTestOneInput(data, len);
                free(data);
        }
        return 0;
}
