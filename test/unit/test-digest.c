/* Unit tests for the digests, pin parsing and checksum sidecar parsing of digest.h. */
#include <errno.h>
#include <fcntl.h>
#include <stdlib.h>
#include <unistd.h>

#include "digest.h"
#include "fileio.h"
#include "tap.h"
#include "util.h"

#define SHA256_ABC   "ba7816bf8f01cfea414140de5dae2223b00361a396177a9cb410ff61f20015ad"
#define SHA256_EMPTY "e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855"
#define SHA256_BC    "1e0bbd6c686ba050b8eb03ffeedc64fdc9d80947fce821abbe5d6dc8d252c5ac"
#define SHA256_300KA "12e1b9b179b29a4f7e5889b185d7ac71bff0ad1f49a7b391d0911b737a0f5381"
#define SHA512_ABC                                                                                 \
        "ddaf35a193617abacc417349ae20413112e6fa4e89a97ea20a9eeee64b55d39a"                         \
        "2192992a274fc1a836ba3c23a3feebbd454d4423643ce80e2a9ac94fa54ca49f"
#define SHA512_EMPTY                                                                               \
        "cf83e1357eefb8bdf1542850d66d8007d620e4050b5715dc83f4a921d36ce9ce"                         \
        "47d0d13c5d85f2b0ff8318d2877eec2f63b931bd47417a81a538327af927da3e"
#define SHA512_300KA                                                                               \
        "354857bdf80c61757f6d48250a4d1fc06e30abdd6ae382c2bf75cf58178d12ae"                         \
        "f850583796871b46cdab8378ca33798ec3416686c71fc4ae451dd285c3ef32dc"

/* The hex digest of data[0..len) in one or more updates of at most step bytes. */
static int hash(enum digest_alg alg, const char *data, size_t len, size_t step,
                char out[DIGEST_HEX_MAX])
{
        _cleanup_(digest_freep) struct digest *d = NULL;
        int r = digest_new(alg, &d);
        if (r < 0)
                return r;
        for (size_t off = 0; off < len; off += step) {
                r = digest_update(d, data + off, len - off < step ? len - off : step);
                if (r < 0)
                        return r;
        }
        return digest_final_hex(d, out);
}

static void test_names(void)
{
        is_int(digest_alg_from_string("sha256"), DIGEST_SHA256, "sha256 by name");
        is_int(digest_alg_from_string("sha512"), DIGEST_SHA512, "sha512 by name");
        is_int(digest_alg_from_string("SHA256"), -EINVAL, "names are lower-case");
        is_int(digest_alg_from_string("md5"), -EINVAL, "md5 unknown");
        is_str(digest_alg_to_string(DIGEST_SHA512), "sha512", "sha512 name");
        is_int(digest_hex_len(DIGEST_SHA256), 64, "sha256 hex length");
        is_int(digest_hex_len(DIGEST_SHA512), 128, "sha512 hex length");
}

static void test_known(void)
{
        char hex[DIGEST_HEX_MAX];
        is_int(hash(DIGEST_SHA256, "abc", 3, 3, hex), 0, "sha256(abc) computes");
        is_str(hex, SHA256_ABC, "sha256(abc)");
        is_int(hash(DIGEST_SHA256, "abc", 3, 1, hex), 0, "sha256(abc) byte by byte computes");
        is_str(hex, SHA256_ABC, "sha256(abc) byte by byte");
        is_int(hash(DIGEST_SHA256, "", 0, 1, hex), 0, "sha256() computes");
        is_str(hex, SHA256_EMPTY, "sha256 of empty input");
        is_int(hash(DIGEST_SHA512, "abc", 3, 3, hex), 0, "sha512(abc) computes");
        is_str(hex, SHA512_ABC, "sha512(abc)");
        is_int(strlen(hex), 128, "sha512 hex is 128 digits");
        is_int(hash(DIGEST_SHA512, "", 0, 1, hex), 0, "sha512() computes");
        is_str(hex, SHA512_EMPTY, "sha512 of empty input");
}

static void test_fd(void)
{
        char path[] = "/tmp/ks-test-digest-XXXXXX";
        int fd = mkstemp(path);
        ok(fd >= 0, "temp file created");
        if (fd < 0)
                return;
        char hex[DIGEST_HEX_MAX];

        is_int(digest_fd(fd, DIGEST_SHA256, hex), 0, "digest_fd of an empty file");
        is_str(hex, SHA256_EMPTY, "digest_fd sha256 of an empty file");
        lseek(fd, 0, SEEK_SET);
        is_int(digest_fd(fd, DIGEST_SHA512, hex), 0, "digest_fd sha512 of an empty file");
        is_str(hex, SHA512_EMPTY, "digest_fd sha512 of an empty file value");

        is_int(write(fd, "abc", 3), 3, "wrote abc");
        lseek(fd, 0, SEEK_SET);
        is_int(digest_fd(fd, DIGEST_SHA256, hex), 0, "digest_fd sha256 of abc");
        is_str(hex, SHA256_ABC, "digest_fd sha256(abc)");
        lseek(fd, 0, SEEK_SET);
        is_int(digest_fd(fd, DIGEST_SHA512, hex), 0, "digest_fd sha512 of abc");
        is_str(hex, SHA512_ABC, "digest_fd sha512(abc)");
        lseek(fd, 1, SEEK_SET);
        is_int(digest_fd(fd, DIGEST_SHA256, hex), 0, "digest_fd from offset 1");
        is_str(hex, SHA256_BC, "digest_fd hashes from the current position (bc)");

        /* More than digest_fd's 128 KiB chunk, so several reads. */
        size_t big = 300000;
        char *a = malloc(big);
        ok(a != NULL, "allocated 300000 bytes");
        if (a) {
                memset(a, 'a', big);
                ok(ftruncate(fd, 0) == 0 && lseek(fd, 0, SEEK_SET) == 0 &&
                       write_all(fd, a, big) == 0,
                   "wrote 300000 bytes");
                lseek(fd, 0, SEEK_SET);
                is_int(digest_fd(fd, DIGEST_SHA256, hex), 0, "digest_fd of 300000 bytes");
                is_str(hex, SHA256_300KA, "digest_fd sha256 over several reads");
                lseek(fd, 0, SEEK_SET);
                is_int(digest_fd(fd, DIGEST_SHA512, hex), 0, "digest_fd sha512 of 300000 bytes");
                is_str(hex, SHA512_300KA, "digest_fd sha512 over several reads");
                is_int(hash(DIGEST_SHA256, a, big, 7777, hex), 0,
                       "in-memory 300000 bytes in odd steps");
                is_str(hex, SHA256_300KA, "updates in odd steps give the same digest");
                free(a);
        }
        close(fd);
        unlink(path);

        is_int(digest_fd(-1, DIGEST_SHA256, hex), -EBADF,
               "digest_fd of a bad fd fails with -EBADF");
}

static void test_pin(void)
{
        char hex[DIGEST_HEX_MAX];
        enum digest_alg alg = _DIGEST_MAX;

        is_int(digest_parse_pin("sha256:" SHA256_ABC, &alg, hex), 0, "pin sha256:HEX");
        is_int(alg, DIGEST_SHA256, "pin sha256:HEX alg");
        is_str(hex, SHA256_ABC, "pin sha256:HEX value");
        is_int(digest_parse_pin("sha512:" SHA512_ABC, &alg, hex), 0, "pin sha512:HEX");
        is_int(alg, DIGEST_SHA512, "pin sha512:HEX alg");
        is_str(hex, SHA512_ABC, "pin sha512:HEX value");
        alg = _DIGEST_MAX;
        is_int(digest_parse_pin(SHA256_EMPTY, &alg, hex), 0, "bare 64 hex");
        is_int(alg, DIGEST_SHA256, "bare 64 hex is sha256");
        is_str(hex, SHA256_EMPTY, "bare 64 hex value");
        is_int(digest_parse_pin(SHA512_EMPTY, &alg, hex), 0, "bare 128 hex");
        is_int(alg, DIGEST_SHA512, "bare 128 hex is sha512");
        is_str(hex, SHA512_EMPTY, "bare 128 hex value");

        is_int(digest_parse_pin(
                   "sha256:BA7816BF8F01CFEA414140DE5DAE2223B00361A396177A9CB410FF61F20015AD", &alg,
                   hex),
               0, "upper-case hex accepted");
        is_str(hex, SHA256_ABC, "upper-case hex normalized to lower-case");

        alg = _DIGEST_MAX;
        strcpy(hex, "untouched");
        is_int(digest_parse_pin("sha256:abc", &alg, hex), -EINVAL, "short sha256 pin");
        is_int(alg, _DIGEST_MAX, "failed pin leaves alg alone");
        is_int(digest_parse_pin("sha256:" SHA512_ABC, &alg, hex), -EINVAL,
               "sha256: prefix with 128 hex");
        is_int(digest_parse_pin("sha512:" SHA256_ABC, &alg, hex), -EINVAL,
               "sha512: prefix with 64 hex");
        is_int(digest_parse_pin(SHA256_ABC "0", &alg, hex), -EINVAL, "bare 65 hex");
        is_int(digest_parse_pin("", &alg, hex), -EINVAL, "empty pin");
        is_int(digest_parse_pin("sha256:", &alg, hex), -EINVAL, "prefix only");
        is_int(digest_parse_pin("SHA256:" SHA256_ABC, &alg, hex), -EINVAL, "upper-case prefix");
        is_int(digest_parse_pin("md5:" SHA256_ABC, &alg, hex), -EINVAL, "unknown prefix");
        is_int(digest_parse_pin("sha256: " SHA256_ABC, &alg, hex), -EINVAL, "blank after prefix");
        is_int(digest_parse_pin("sha256:"
                                "ga7816bf8f01cfea414140de5dae2223b00361a396177a9cb410ff61f20015ad",
                                &alg, hex),
               -EINVAL, "non-hex digit");

        is_int(digest_normalize_hex(
                   DIGEST_SHA256,
                   "Ba7816BF8f01cfea414140de5dae2223b00361a396177a9cb410ff61f20015AD", hex),
               0, "normalize mixed case");
        is_str(hex, SHA256_ABC, "normalize lower-cases");
}

/* Parses a sidecar given as a string (its length from strlen). */
static int sidecar(const char *text, enum digest_alg alg, const char *name,
                   char hex[DIGEST_HEX_MAX])
{
        return digest_parse_sidecar(text, strlen(text), alg, name, hex);
}

static void test_sidecar(void)
{
        char hex[DIGEST_HEX_MAX];
        const char *n = "kube-apiserver";

        is_int(sidecar(SHA256_ABC, DIGEST_SHA256, n, hex), 0, "hex alone (dl.k8s.io form)");
        is_str(hex, SHA256_ABC, "hex alone value");
        is_int(sidecar(SHA256_ABC "\n", DIGEST_SHA256, n, hex), 0, "hex and newline");
        is_int(sidecar(SHA256_ABC "\r\n", DIGEST_SHA256, n, hex), 0, "hex and CRLF");
        is_int(sidecar(SHA256_ABC "  kube-apiserver\n", DIGEST_SHA256, n, hex), 0,
               "coreutils 'hex  name'");
        is_str(hex, SHA256_ABC, "coreutils form value");
        is_int(sidecar(SHA256_ABC " *kube-apiserver\n", DIGEST_SHA256, n, hex), 0,
               "binary marker 'hex *name'");
        is_int(sidecar(SHA256_ABC " *kube-apiserver", DIGEST_SHA256, n, hex), 0,
               "'hex *name' without newline");
        is_int(sidecar(SHA256_ABC "  bin/linux/amd64/kube-apiserver\n", DIGEST_SHA256, n, hex), 0,
               "'hex  path/to/name'");
        is_int(sidecar(SHA256_ABC "\tkube-apiserver\n", DIGEST_SHA256, n, hex), 0, "tab separator");
        is_int(sidecar(SHA256_ABC "  anything\n", DIGEST_SHA256, NULL, hex), 0,
               "any name when none expected");
        is_int(sidecar("BA7816BF8F01CFEA414140DE5DAE2223B00361A396177A9CB410FF61F20015AD\n",
                       DIGEST_SHA256, n, hex),
               0, "upper-case sidecar");
        is_str(hex, SHA256_ABC, "upper-case sidecar normalized");
        is_int(sidecar(SHA512_ABC "  kube-apiserver\n", DIGEST_SHA512, n, hex), 0,
               "sha512 sidecar");
        is_str(hex, SHA512_ABC, "sha512 sidecar value");

        is_int(sidecar(SHA256_ABC "  kubectl\n", DIGEST_SHA256, n, hex), -ENOENT, "wrong name");
        is_int(sidecar(SHA256_ABC "  kube-apiserver.exe\n", DIGEST_SHA256, n, hex), -ENOENT,
               "name with a suffix");
        is_int(sidecar(SHA256_ABC "  kube\n", DIGEST_SHA256, n, hex), -ENOENT, "name prefix only");
        is_int(sidecar(SHA256_ABC "  path/to/kubectl\n", DIGEST_SHA256, n, hex), -ENOENT,
               "wrong name in a path");
        is_int(sidecar(SHA256_ABC "  kube-apiserver/\n", DIGEST_SHA256, n, hex), -ENOENT,
               "name as a directory");

        is_int(sidecar("ba7816bf", DIGEST_SHA256, n, hex), -EBADMSG, "too short");
        is_int(sidecar("", DIGEST_SHA256, n, hex), -EBADMSG, "empty");
        is_int(sidecar(SHA256_ABC "0\n", DIGEST_SHA256, n, hex), -EBADMSG, "65 hex digits");
        is_int(sidecar("ga7816bf8f01cfea414140de5dae2223b00361a396177a9cb410ff61f20015ad",
                       DIGEST_SHA256, n, hex),
               -EBADMSG, "non-hex first digit");
        is_int(sidecar("ba7816bf8f01cfea414140de5dae2223b00361a396177a9cb410ff61f20015az  "
                       "kube-apiserver\n",
                       DIGEST_SHA256, n, hex),
               -EBADMSG, "non-hex last digit");
        is_int(sidecar(SHA256_ABC "kube-apiserver\n", DIGEST_SHA256, n, hex), -EBADMSG,
               "no separator");
        is_int(sidecar(SHA256_ABC "\n" SHA256_ABC "\n", DIGEST_SHA256, n, hex), -EBADMSG,
               "two hex lines");
        is_int(sidecar(SHA256_ABC "  kube-apiserver\n" SHA256_ABC "  kube-apiserver\n",
                       DIGEST_SHA256, n, hex),
               -EBADMSG, "two named lines");
        is_int(sidecar(SHA256_ABC "  kube-apiserver\n\n", DIGEST_SHA256, n, hex), -EBADMSG,
               "trailing blank line");

        char with_nul[] = SHA256_ABC "\0  kube-apiserver\n";
        is_int(digest_parse_sidecar(with_nul, sizeof(with_nul) - 1, DIGEST_SHA256, n, hex),
               -EBADMSG, "NUL byte");
        char nul_in_name[] = SHA256_ABC "  kube-apiserver\0\n";
        is_int(digest_parse_sidecar(nul_in_name, sizeof(nul_in_name) - 1, DIGEST_SHA256, n, hex),
               -EBADMSG, "NUL byte after the name");

        /* A sidecar of more than 4 KiB is not a sidecar, whatever it holds. */
        struct buf b = {0};
        buf_puts(&b, SHA256_ABC "  ");
        while (b.len < 5000)
                buf_puts(&b, "d/");
        buf_puts(&b, "kube-apiserver\n");
        is_int(digest_parse_sidecar(b.data, b.len, DIGEST_SHA256, n, hex), -EBADMSG,
               "oversized (5 KiB)");
        buf_done(&b);
        buf_puts(&b, SHA256_ABC "  ");
        while (b.len < 64 + 2 + 4096 - strlen("kube-apiserver"))
                buf_puts(&b, "/");
        buf_puts(&b, "kube-apiserver");
        is_int(b.len, 64 + 2 + 4096, "sidecar at the size limit built");
        is_int(digest_parse_sidecar(b.data, b.len, DIGEST_SHA256, n, hex), 0,
               "sidecar at the size limit accepted");
        buf_puts(&b, "\n");
        is_int(digest_parse_sidecar(b.data, b.len, DIGEST_SHA256, n, hex), -EBADMSG,
               "one byte over the limit refused");
        buf_done(&b);

        /* The algorithm decides the length: a sha256 sidecar is no sha512 sidecar. */
        is_int(sidecar(SHA256_ABC, DIGEST_SHA512, n, hex), -EBADMSG,
               "sha512 sidecar of sha256 length");
        is_int(sidecar(SHA256_ABC "  kube-apiserver\n", DIGEST_SHA512, n, hex), -EBADMSG,
               "named sha512 sidecar of sha256 length");
        is_int(sidecar(SHA256_ABC
                       "  kube-apiserver-with-a-long-name-so-the-length-passes-the-first-check"
                       "\n",
                       DIGEST_SHA512, NULL, hex),
               -EBADMSG, "long named sha512 sidecar of sha256 length");
        is_int(sidecar(SHA512_ABC, DIGEST_SHA256, n, hex), -EBADMSG,
               "sha256 sidecar of sha512 length");
}

int main(void)
{
        test_names();
        test_known();
        test_fd();
        test_pin();
        test_sidecar();
        return done_testing();
}
