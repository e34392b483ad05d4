/* The test hierarchy's command line: `sigtool ca DIR` makes it, `sigtool sign DIR
 * [options] FILE...` writes FILE.sig and FILE.cert in the release format (test/lib/mirror.sh signs
 * the stand-ins with it, and the integration tests make the hostile variants). */
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/stat.h>
#include <unistd.h>

#include "sigtool.h"

static int usage(void)
{
        fprintf(stderr, "usage: sigtool ca DIR\n"
                        "       sigtool sign DIR [--identity EMAIL] [--issuer URL] "
                        "[--issuer-v1-only] [--no-eku]\n"
                        "            [--chain good|other|late] [--sct good|unknown|bad|none] "
                        "[--raw-pem] [--out PREFIX] FILE...\n");
        return 2;
}

static int write_file(const char *path, const char *s)
{
        FILE *f = fopen(path, "we");
        if (!f)
                return -errno;
        int ok = fputs(s, f) >= 0;
        return fclose(f) == 0 && ok ? 0 : -EIO;
}

static int sign_one(const char *dir, const struct sigtool_opts *o, const char *file,
                    const char *out)
{
        int fd = open(file, O_RDONLY | O_CLOEXEC);
        struct stat st;
        if (fd < 0 || fstat(fd, &st) < 0) {
                fprintf(stderr, "sigtool: %s: %s\n", file, strerror(errno));
                return -errno;
        }
        void *data =
            st.st_size ? mmap(NULL, (size_t)st.st_size, PROT_READ, MAP_PRIVATE, fd, 0) : (void *)"";
        close(fd);
        if (data == MAP_FAILED) {
                fprintf(stderr, "sigtool: %s: %s\n", file, strerror(errno));
                return -errno;
        }
        char *sig = NULL, *cert = NULL;
        int r = sigtool_sign(dir, o, data, (size_t)st.st_size, &sig, &cert);
        if (st.st_size)
                munmap(data, (size_t)st.st_size);
        char path[4096];
        if (r >= 0) {
                snprintf(path, sizeof(path), "%s.sig", out);
                r = write_file(path, sig);
        }
        if (r >= 0) {
                snprintf(path, sizeof(path), "%s.cert", out);
                r = write_file(path, cert);
        }
        if (r < 0)
                fprintf(stderr, "sigtool sign %s: %s\n", file, strerror(-r));
        free(sig);
        free(cert);
        return r;
}

int main(int argc, char **argv)
{
        if (argc == 3 && strcmp(argv[1], "ca") == 0) {
                int r = sigtool_make_ca(argv[2]);
                if (r < 0)
                        fprintf(stderr, "sigtool ca %s: %s\n", argv[2], strerror(-r));
                return r < 0;
        }
        if (argc < 4 || strcmp(argv[1], "sign") != 0)
                return usage();
        struct sigtool_opts o = {0};
        const char *out = NULL;
        int i = 3;
        for (; i < argc && strncmp(argv[i], "--", 2) == 0; i++) {
                const char *a = argv[i], *v = i + 1 < argc ? argv[i + 1] : NULL;
                if (strcmp(a, "--issuer-v1-only") == 0)
                        o.issuer_v1_only = true;
                else if (strcmp(a, "--no-eku") == 0)
                        o.no_eku = true;
                else if (strcmp(a, "--raw-pem") == 0)
                        o.raw_pem = true;
                else if (!v)
                        return usage();
                else if (i++, strcmp(a, "--identity") == 0)
                        o.identity = v;
                else if (strcmp(a, "--issuer") == 0)
                        o.issuer = v;
                else if (strcmp(a, "--out") == 0)
                        out = v;
                else if (strcmp(a, "--chain") == 0)
                        o.chain = strcmp(v, "other") == 0  ? SIGTOOL_CHAIN_OTHER
                                  : strcmp(v, "late") == 0 ? SIGTOOL_CHAIN_LATE
                                                           : SIGTOOL_CHAIN_GOOD;
                else if (strcmp(a, "--sct") == 0)
                        o.sct = strcmp(v, "unknown") == 0 ? SIGTOOL_SCT_UNKNOWN
                                : strcmp(v, "bad") == 0   ? SIGTOOL_SCT_BAD
                                : strcmp(v, "none") == 0  ? SIGTOOL_SCT_NONE
                                                          : SIGTOOL_SCT_GOOD;
                else
                        return usage();
        }
        if (i >= argc || (out && i + 1 != argc))
                return usage();
        int failed = 0;
        for (; i < argc; i++)
                failed |= sign_one(argv[2], &o, argv[i], out ? out : argv[i]) < 0;
        return failed;
}
