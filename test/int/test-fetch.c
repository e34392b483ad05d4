/* fetch_run against a real HTTPS server (test/int/int-fetch.sh starts nginx and publishes the
 * files): many files at once through the writer thread, more files than the writer has queue
 * slots, memory and file jobs together, and a write that fails (ENOSPC from /dev/full) both
 * during and after the transfer.
 *
 *   test-fetch BASE-URL CA-FILE DIR NAME...
 * fetches BASE-URL/NAME for each NAME and compares with DIR/NAME. */
#include <errno.h>
#include <fcntl.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "digest.h"
#include "fetch.h"
#include "fileio.h"
#include "tap.h"
#include "util.h"

static const char *base, *dir;

static char *url_of(const char *name)
{
        char *u = NULL;
        asprintf_safe(&u, "%s/%s", base, name);
        return u;
}

static int same_file(int fd, const char *path)
{
        struct stat a, b;
        int ref = open(path, O_RDONLY | O_CLOEXEC);
        if (ref < 0 || fstat(fd, &a) < 0 || fstat(ref, &b) < 0 || a.st_size != b.st_size) {
                if (ref >= 0)
                        close(ref);
                return 0;
        }
        char x[65536], y[65536];
        int same = 1;
        for (off_t off = 0; same && off < a.st_size;) {
                ssize_t n = pread(fd, x, sizeof(x), off);
                ssize_t m = pread(ref, y, sizeof(y), off);
                same = n > 0 && n == m && memcmp(x, y, (size_t)n) == 0;
                off += n > 0 ? n : 0;
        }
        close(ref);
        return same;
}

static void expect_hex_of(const char *name, char hex[DIGEST_HEX_MAX])
{
        _cleanup_free_ char *p = path_join(dir, name);
        int fd = p ? open(p, O_RDONLY | O_CLOEXEC) : -1;
        hex[0] = 0;
        if (fd >= 0) {
                (void)digest_fd(fd, DIGEST_SHA256, hex);
                close(fd);
        }
}

int main(int argc, char **argv)
{
        if (argc < 5) {
                fprintf(stderr, "usage: test-fetch BASE-URL CA-FILE DIR NAME...\n");
                return 2;
        }
        base = argv[1];
        dir = argv[3];
        struct http_options o = {.ca_file = argv[2]};
        struct fetch_policy pol = {.attempts = 2, .backoff_ms = 10, .backoff_max_ms = 20};
        size_t n = (size_t)argc - 4;
        char **names = argv + 4;

        /* 1. every NAME to a file of its own, plus the first two into memory, in one run */
        size_t total = n + 2;
        struct fetch_job *jobs = calloc(total, sizeof(*jobs));
        char(*want)[DIGEST_HEX_MAX] = calloc(total, sizeof(*want));
        char tmpl[] = "/tmp/test-fetch.XXXXXX";
        if (!jobs || !want || !mkdtemp(tmpl))
                return 99;
        for (size_t i = 0; i < total; i++) {
                const char *name = names[i % n];
                jobs[i] = (struct fetch_job){.fd = -1, .alg = DIGEST_SHA256, .max_mem = 1 << 20};
                strv_push(&jobs[i].urls, url_of(name));
                expect_hex_of(name, want[i]);
                if (i < n) {
                        _cleanup_free_ char *p = path_join(tmpl, name);
                        jobs[i].fd = open(p, O_RDWR | O_CREAT | O_EXCL | O_CLOEXEC, 0600);
                        jobs[i].expect_hex = want[i];
                }
        }
        int r = fetch_run(jobs, total, &o, &pol, NULL, NULL);
        is_int(r, 0, "fetch_run of %zu files and 2 bodies in memory", n);
        size_t good = 0, hashed = 0, firsts = 0;
        for (size_t i = 0; i < total; i++) {
                good += jobs[i].result == 0;
                hashed += streq(jobs[i].hex, want[i]);
                firsts += jobs[i].attempts == 1;
                if (jobs[i].result != 0)
                        printf("# job %zu: %s\n", i, jobs[i].error ? jobs[i].error : "?");
        }
        is_int(good, total, "every job succeeded");
        is_int(hashed, total, "every digest is the digest of the file on the server");
        is_int(firsts, total, "each in one attempt");
        size_t same = 0;
        for (size_t i = 0; i < n; i++) {
                _cleanup_free_ char *ref = path_join(dir, names[i]);
                same += same_file(jobs[i].fd, ref);
        }
        is_int(same, n, "every file written is byte-identical to the server's");
        ok(jobs[n].body && jobs[n].body_len > 0, "a memory job got its body");
        _cleanup_free_ char *ref0 = path_join(dir, names[0]);
        int fd0 = open(ref0, O_RDONLY | O_CLOEXEC);
        struct stat st0;
        ok(fd0 >= 0 && fstat(fd0, &st0) == 0 && (off_t)jobs[n].body_len == st0.st_size,
           "of the right length");
        if (fd0 >= 0)
                close(fd0);
        for (size_t i = 0; i < total; i++) {
                if (jobs[i].fd >= 0)
                        close(jobs[i].fd);
                strv_free(jobs[i].urls);
                fetch_job_done(&jobs[i]);
        }

        /* 2. a file job whose writes fail: the error is the write's, and it is not retried;
         * the other file in the same run is not disturbed */
        struct fetch_job bad[2] = {
            {.fd = open("/dev/full", O_WRONLY | O_CLOEXEC), .alg = DIGEST_SHA256},
            {.fd = -1, .alg = DIGEST_SHA256},
        };
        char hex1[DIGEST_HEX_MAX];
        expect_hex_of(names[1], hex1);
        _cleanup_free_ char *p1 = path_join(tmpl, "second");
        bad[1].fd = open(p1, O_RDWR | O_CREAT | O_EXCL | O_CLOEXEC, 0600);
        bad[1].expect_hex = hex1;
        strv_push(&bad[0].urls, url_of(names[0]));
        strv_push(&bad[1].urls, url_of(names[1]));
        r = fetch_run(bad, 2, &o, &pol, NULL, NULL);
        is_int(r, 0, "fetch_run itself completes");
        is_int(bad[0].result, -ENOSPC, "the job writing to /dev/full fails with ENOSPC");
        like_str(bad[0].error, "No space left on device", "its error says so");
        like_str(bad[0].error, bad[0].urls[0], "and names the URL");
        is_int(bad[0].attempts, 1, "a failed write is not retried");
        is_int(bad[1].result, 0, "the other job of the run succeeds");
        _cleanup_free_ char *ref1 = path_join(dir, names[1]);
        ok(bad[1].fd >= 0 && same_file(bad[1].fd, ref1), "and its file is complete");
        for (size_t i = 0; i < 2; i++) {
                if (bad[i].fd >= 0)
                        close(bad[i].fd);
                strv_free(bad[i].urls);
                fetch_job_done(&bad[i]);
        }

        /* 3. a write that fails only on the last bytes: the last slot is handed over when the
         * transfer has already ended. A file of exactly one byte on a full device. */
        const char *tiny = NULL;
        for (size_t i = 0; i < n; i++)
                if (strstr(names[i], "tiny"))
                        tiny = names[i];
        ok(tiny != NULL, "a tiny file is among the names");
        struct fetch_job last = {.fd = open("/dev/full", O_WRONLY | O_CLOEXEC),
                                 .alg = DIGEST_SHA256};
        strv_push(&last.urls, url_of(tiny ? tiny : names[0]));
        r = fetch_run(&last, 1, &o, &pol, NULL, NULL);
        is_int(r, 0, "fetch_run completes");
        is_int(last.result, -ENOSPC,
               "a write failing after the transfer ended still fails the job");
        is_int(last.attempts, 1, "without a retry");
        if (last.fd >= 0)
                close(last.fd);
        strv_free(last.urls);
        fetch_job_done(&last);

        free(jobs);
        free(want);
        for (size_t i = 0; i < n; i++) {
                _cleanup_free_ char *p = path_join(tmpl, names[i]);
                if (p)
                        unlink(p);
        }
        unlink(p1);
        rmdir(tmpl);
        return done_testing();
}
