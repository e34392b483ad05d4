/* The offline Sigstore verifier (src/sys/sigstore.c) against a hierarchy the test makes
 * (test/lib/sigtool.c): the good case, then each hostile case with its own errno and reason;
 * and the shipped Fulcio roots and CT log key against the fingerprints in the notes. */
#include <errno.h>
#include <ftw.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "digest.h"
#include "fileio.h"
#include "sigstore.h"
#include "sigtool.h"
#include "tap.h"
#include "util.h"

#define IDENTITY "krel-staging@k8s-releng-prod.iam.gserviceaccount.com"
#define ISSUER   "https://accounts.google.com"

static char dir[] = "/tmp/test-sigstore-XXXXXX";
static struct sigstore_trust *trust;
static const char blob[] = "a kubernetes binary, or a stand-in for one\n";

static char *slurp(const char *path, size_t *ret_len)
{
        FILE *f = fopen(path, "re");
        _cleanup_buf_ struct buf b = {0};
        char chunk[4096];
        size_t n;
        if (!f)
                return NULL;
        while ((n = fread(chunk, 1, sizeof(chunk), f)) > 0)
                if (buf_append(&b, chunk, n) < 0)
                        break;
        fclose(f);
        if (ret_len)
                *ret_len = b.len;
        return buf_steal(&b);
}

/* Signs blob with o, optionally damages one of the three inputs, and verifies. */
enum flip { FLIP_NONE, FLIP_BLOB, FLIP_SIG, FLIP_CERT };
static int run(const struct sigtool_opts *o, enum flip flip, const char *identity,
               struct sigstore_result *res)
{
        _cleanup_free_ char *sig = NULL, *cert = NULL;
        if (sigtool_sign(dir, o, blob, sizeof(blob) - 1, &sig, &cert) < 0)
                return -999;
        char copy[sizeof(blob)];
        memcpy(copy, blob, sizeof(blob));
        if (flip == FLIP_BLOB)
                copy[3] ^= 1;
        if (flip == FLIP_SIG) {
                /* a byte of the signature's value, past the DER headers; base64 keeps 6 bits
                 * per character, so changing one character changes bits of one byte */
                size_t i = strlen(sig) - 8;
                sig[i] = sig[i] == 'A' ? 'B' : 'A';
        }
        if (flip == FLIP_CERT) {
                /* a character inside the signature value at the end of the certificate */
                _cleanup_free_ char *pem = NULL;
                size_t l = 0;
                if (base64_decode(cert, &pem, &l) < 0)
                        return -998;
                char *end = strstr(pem, "-----END");
                end[-10] = end[-10] == 'A' ? 'B' : 'A';
                free(cert);
                cert = NULL;
                if (base64_encode(pem, l, &cert) < 0)
                        return -997;
        }
        char hex[DIGEST_HEX_MAX];
        if (digest_buffer(DIGEST_SHA256, copy, sizeof(copy) - 1, hex) < 0)
                return -996;
        return sigstore_verify(trust, hex, sig, strlen(sig), cert, strlen(cert),
                               identity ? identity : IDENTITY, ISSUER, res);
}

static void check(const char *what, const struct sigtool_opts *o, enum flip flip,
                  const char *identity, int want, const char *reason)
{
        struct sigstore_result res = {0};
        int r = run(o, flip, identity, &res);
        is_int(r, want, "%s: %s", what, want ? strerror(-want) : "verified");
        if (reason)
                like_str(res.reason, reason, "%s: the reason says '%s'", what, reason);
        printf("# %s -> %s\n", what, res.reason ? res.reason : "ok");
        sigstore_result_done(&res);
}

static void test_cases(void)
{
        struct sigstore_result res = {0};
        struct sigtool_opts good = {0};
        is_int(run(&good, FLIP_NONE, NULL, &res), 0, "good signature, leaf expired 50 min ago");
        is_str(res.identity, IDENTITY, "the result names the identity");
        is_str(res.issuer, ISSUER, "the result names the issuer");
        ok(res.log && strlen(res.log) == 44, "the result names the CT log by its ID (%s)",
           res.log ? res.log : "(null)");
        ok(res.signed_at > 0 && res.signed_at < time(NULL) - 3000, "signed_at is the notBefore");
        sigstore_result_done(&res);

        struct sigtool_opts raw = {.raw_pem = true};
        check("raw PEM .cert", &raw, FLIP_NONE, NULL, 0, NULL);
        struct sigtool_opts v1 = {.issuer_v1_only = true};
        check("issuer only in the .1.1 extension", &v1, FLIP_NONE, NULL, 0, NULL);

        check("flipped byte in the binary", &good, FLIP_BLOB, NULL, -EBADMSG,
              "does not match the file's bytes");
        check("flipped byte in the .sig", &good, FLIP_SIG, NULL, -EBADMSG, "does not match");
        check("flipped byte in the .cert", &good, FLIP_CERT, NULL, -EKEYREJECTED,
              "certificate signature failure");
        check("wrong identity", &(struct sigtool_opts){.identity = "mallory@example.com"},
              FLIP_NONE, NULL, -EACCES, "signed by mallory@example.com, expected " IDENTITY);
        check("identity expected differs", &good, FLIP_NONE, "someone@else.example", -EACCES,
              "signed by " IDENTITY ", expected someone@else.example");
        check("wrong issuer", &(struct sigtool_opts){.issuer = "https://evil.example"}, FLIP_NONE,
              NULL, -EPERM, "issued for OIDC issuer https://evil.example, expected " ISSUER);
        check("wrong issuer, .1.1 only",
              &(struct sigtool_opts){.issuer = "https://evil.example", .issuer_v1_only = true},
              FLIP_NONE, NULL, -EPERM, "https://evil.example");
        check("chain to another root", &(struct sigtool_opts){.chain = SIGTOOL_CHAIN_OTHER},
              FLIP_NONE, NULL, -ENOKEY, "unable to get local issuer certificate");
        check("leaf outside the intermediate's validity",
              &(struct sigtool_opts){.chain = SIGTOOL_CHAIN_LATE}, FLIP_NONE, NULL, -EKEYEXPIRED,
              "kubestrap-test-late-intermediate: certificate has expired");
        check("missing EKU codeSigning", &(struct sigtool_opts){.no_eku = true}, FLIP_NONE, NULL,
              -ENOEXEC, "codeSigning");
        check("SCT from an unknown log", &(struct sigtool_opts){.sct = SIGTOOL_SCT_UNKNOWN},
              FLIP_NONE, NULL, -ENOPKG, "which is not among the ct-log-keys");
        check("SCT with a bad signature", &(struct sigtool_opts){.sct = SIGTOOL_SCT_BAD}, FLIP_NONE,
              NULL, -EILSEQ, "does not verify");
        check("no SCT", &(struct sigtool_opts){.sct = SIGTOOL_SCT_NONE}, FLIP_NONE, NULL, -ENODATA,
              "no embedded SCT");

        is_int(sigstore_verify(trust, "00", "x", 1, "y", 1, IDENTITY, ISSUER, &res), -EINVAL,
               "a digest that is not SHA-256 hex is a caller's error");
        char hex[DIGEST_HEX_MAX];
        digest_buffer(DIGEST_SHA256, blob, sizeof(blob) - 1, hex);
        is_int(sigstore_verify(trust, hex, "not base64!", 11, "y", 1, IDENTITY, ISSUER, &res),
               -ENOMSG, ".sig that is not base64");
        is_int(sigstore_verify(trust, hex, "AAAA", 4, "y", 1, IDENTITY, ISSUER, &res), -ENOMSG,
               ".sig that is not DER");
        sigstore_result_done(&res);
}

/* The Sigstore roots the package ships (data/sigstore, from sigstore/root-signing 60cf2ce)
 * against ../shared/notes/sigstore.md, which abbreviates the fingerprints to their first four
 * and last three (two for the old root) bytes: the full ones are written here. */
static void test_shipped(void)
{
        const char *top = getenv("top_srcdir");
        if (!top) {
                ok(1, "# SKIP top_srcdir not set: shipped roots not checked");
                return;
        }
        _cleanup_free_ char *rp = path_join(top, "data/sigstore/roots.pem");
        _cleanup_free_ char *kp = path_join(top, "data/sigstore/ct-log-keys.pem");
        size_t rl = 0, kl = 0;
        _cleanup_free_ char *roots = slurp(rp, &rl), *keys = slurp(kp, &kl);
        if (!ok(roots && keys, "shipped roots and CT log keys are readable"))
                return;
        _cleanup_free_ char *fp_root = NULL, *fp_int = NULL, *fp_log = NULL;
        const char *second = strstr(roots + 1, "-----BEGIN CERTIFICATE-----");
        is_int(sigstore_pem_fingerprint(roots, rl, &fp_root), 0, "Fulcio root parses");
        ok(second, "roots.pem holds a second certificate");
        if (second)
                is_int(sigstore_pem_fingerprint(second, rl - (size_t)(second - roots), &fp_int), 0,
                       "Fulcio intermediate parses");
        is_str(fp_root,
               "3B:A7:B6:CC:4E:95:46:9D:4D:33:4B:49:CB:25:7A:D8:53:70:76:FA:84:B0:CA:87:FF:4E:CF:"
               "E6:A5:46:80:C1",
               "fulcio_v1.crt.pem fingerprint (notes: 3B:A7:B6:CC:…:46:80:C1)");
        is_str(fp_int,
               "15:D7:95:34:82:26:B4:64:9F:75:0F:58:02:59:2C:39:3B:EE:7C:C5:3C:3B:86:98:21:75:B7:"
               "AD:08:7E:FE:47",
               "fulcio_intermediate_v1.crt.pem fingerprint (notes: 15:D7:95:34:…:7E:FE:47)");
        ok(fp_root && startswith(fp_root, "3B:A7:B6:CC:") && strstr(fp_root, ":46:80:C1"),
           "root matches the notes' abbreviation");
        ok(fp_int && startswith(fp_int, "15:D7:95:34:") && strstr(fp_int, ":7E:FE:47"),
           "intermediate matches the notes' abbreviation");
        /* trusted_root.json names the 2022 CT log by keyId 3T0wasbH… (base64 of its SHA-256) */
        is_int(sigstore_pem_fingerprint(keys, kl, &fp_log), 0, "CT log key parses");
        is_str(fp_log,
               "DD:3D:30:6A:C6:C7:11:32:63:19:1E:1C:99:67:37:02:A2:4A:5E:B8:DE:3C:AD:FF:87:8A:72:"
               "80:2F:29:EE:8E",
               "ctfe.sigstore.dev/2022 log ID (trusted_root.json keyId 3T0wasbHETJj…)");
        _cleanup_(sigstore_trust_freep) struct sigstore_trust *t = NULL;
        _cleanup_free_ char *err = NULL;
        is_int(sigstore_trust_new(roots, rl, keys, kl, &t, &err), 0,
               "shipped roots and CT log key load as a trust");
}

static int rm_one(const char *p, const struct stat *s, int flag, struct FTW *f)
{
        (void)s;
        (void)flag;
        (void)f;
        return remove(p);
}

int main(void)
{
        if (!mkdtemp(dir) || sigtool_make_ca(dir) < 0) {
                printf("Bail out! cannot make the test hierarchy in %s\n", dir);
                return 1;
        }
        _cleanup_free_ char *rp = path_join(dir, "roots.pem"),
                            *kp = path_join(dir, "ct-log-keys.pem");
        size_t rl = 0, kl = 0;
        _cleanup_free_ char *roots = slurp(rp, &rl), *keys = slurp(kp, &kl);
        _cleanup_free_ char *err = NULL;
        is_int(sigstore_trust_new(roots, rl, keys, kl, &trust, &err), 0, "test trust loads");
        if (trust)
                test_cases();
        is_int(sigstore_trust_new("junk", 4, keys, kl, &(struct sigstore_trust *){NULL}, &err),
               -EBADMSG, "roots without a certificate are refused");
        like_str(err, "signature roots: no PEM certificate", "and the error says which input");
        trust = sigstore_trust_free(trust);
        test_shipped();
        nftw(dir, rm_one, 8, FTW_DEPTH | FTW_PHYS);
        return done_testing();
}
