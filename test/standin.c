/* A stand-in for the Kubernetes binaries (kube-apiserver, kube-controller-manager,
 * kube-scheduler, kubectl), used in tests only.
 *
 * Its Kubernetes version is baked into each published copy: the test mirror appends a line
 * "standin-version=v1.34.2" after the ELF image (test/lib/mirror.sh, mirror_publish_standin).
 * One build thus serves every version, a copy per version costs a cat, and each version's
 * file has its own digest, as real releases do. A copy without that line is STANDIN_VERSION.
 * Per its minor version the stand-in refuses the flags that version no longer accepts and the
 * scheduler config apiVersions it does not serve, with the real programs' wording, and serves
 * only the health paths that version has (the tables below, from the notes on Kubernetes
 * versions). A version with a "-crash" suffix exits at start: a bad release for rollback tests.
 * Like the real kube-apiserver, the API server stand-in needs its storage: it starts only once a
 * GET /health against one of its --etcd-servers (TLS with its --etcd-* files for https URLs)
 * answers {"health":"true"}, so that a control plane's health depends on a real etcd. */
#ifndef _GNU_SOURCE
#define _GNU_SOURCE
#endif
#include <ctype.h>
#include <elf.h>
#include <errno.h>
#include <fcntl.h>
#include <netdb.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <poll.h>
#include <pthread.h>
#include <signal.h>
#include <stdarg.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#include <openssl/err.h>
#include <openssl/evp.h>
#include <openssl/ssl.h>
#include <openssl/x509v3.h>

/* A string literal, e.g. -DSTANDIN_VERSION='"v1.22.3"'. */
#ifndef STANDIN_VERSION
#define STANDIN_VERSION "v1.21.0"
#endif
/* Fixed rather than __DATE__ so that builds are reproducible. */
#ifndef STANDIN_BUILD_DATE
#define STANDIN_BUILD_DATE "1970-01-01T00:00:00Z"
#endif

#if defined(__aarch64__)
#define PLATFORM "linux/arm64"
#else
#define PLATFORM "linux/amd64"
#endif

#define HEAD_MAX (16 * 1024)
#define BODY_MAX (1024 * 1024)
/* Idle keep-alive connections must not pin a thread forever. */
#define IO_TIMEOUT_SECONDS 60
#define RBAC_PREFIX        "/apis/rbac.authorization.k8s.io/v1/"

enum role { APISERVER, CONTROLLER_MANAGER, SCHEDULER, KUBECTL };
static const char *const role_names[] = {"kube-apiserver", "kube-controller-manager",
                                         "kube-scheduler", "kubectl"};

static enum role role;
static SSL_CTX *ctx;
static bool have_client_ca;
static int audit_fd = -1;
static char version_json[512];
/* The baked-in version: STANDIN_VERSION, or the published copy's trailer. */
static char k8s_version[64] = STANDIN_VERSION;
static int minor;

/* ---- errors ------------------------------------------------------------ */

__attribute__((format(printf, 1, 2), noreturn)) static void die(const char *fmt, ...)
{
        va_list ap;
        va_start(ap, fmt);
        fputs("Error: ", stderr);
        vfprintf(stderr, fmt, ap);
        fputc('\n', stderr);
        va_end(ap);
        exit(1);
}

/* Go reports syscall errors in lower case; scripts grep for that wording. */
static const char *go_strerror(int err)
{
        static char msg[128];
        snprintf(msg, sizeof msg, "%s", strerror(err));
        msg[0] = (char)tolower((unsigned char)msg[0]);
        return msg;
}

static void die_ssl(const char *what, const char *path)
{
        char err[256];
        ERR_error_string_n(ERR_get_error(), err, sizeof err);
        die("%s %s: %s", what, path, err);
}

/* The real binaries fail at startup on unreadable files; so must we, so that
 * provisioning mistakes show up in tests rather than in production. */
static void require_readable(const char *path)
{
        char c;
        int fd = open(path, O_RDONLY | O_CLOEXEC);
        if (fd < 0)
                die("open %s: %s", path, go_strerror(errno));
        if (read(fd, &c, 1) < 0)
                die("read %s: %s", path, go_strerror(errno));
        close(fd);
}

/* ---- flags ------------------------------------------------------------- */

static int nargs;
static char **args;

/* Only ever asked about flags that take a value, so "--name value" can be
 * told apart from a bool flag followed by a positional argument. Last
 * occurrence wins, as with pflag; an empty value means "not set". */
static const char *flag(const char *name)
{
        const char *value = NULL;
        size_t n = strlen(name);
        for (int i = 1; i < nargs; i++) {
                const char *a = args[i];
                if (strncmp(a, "--", 2) || strncmp(a + 2, name, n))
                        continue;
                if (a[n + 2] == '=')
                        value = a + n + 3;
                else if (!a[n + 2] && i + 1 < nargs && strncmp(args[i + 1], "--", 2))
                        value = args[++i];
        }
        return value && *value ? value : NULL;
}

static void require_readable_flags(const char *const *names)
{
        for (; *names; names++)
                if (flag(*names))
                        require_readable(flag(*names));
}

/* ---- versions ---------------------------------------------------------- */

#define TRAILER_KEY "standin-version="

/* Where the ELF image ends: the section header table, or the furthest segment. What
 * follows was appended after the build. 0 if the file is not a 64-bit ELF. */
static off_t elf_end(int fd)
{
        Elf64_Ehdr eh;
        if (pread(fd, &eh, sizeof eh, 0) != (ssize_t)sizeof eh ||
            memcmp(eh.e_ident, ELFMAG, SELFMAG) || eh.e_ident[EI_CLASS] != ELFCLASS64)
                return 0;
        uint64_t end = eh.e_shoff + (uint64_t)eh.e_shnum * eh.e_shentsize;
        for (unsigned i = 0; i < eh.e_phnum; i++) {
                Elf64_Phdr ph;
                if (pread(fd, &ph, sizeof ph, (off_t)(eh.e_phoff + (uint64_t)i * eh.e_phentsize)) !=
                    (ssize_t)sizeof ph)
                        return 0;
                if (ph.p_offset + ph.p_filesz > end)
                        end = ph.p_offset + ph.p_filesz;
        }
        return (off_t)end;
}

/* Reads "standin-version=..." from the bytes appended to our own executable, if any. Only
 * the appended bytes count: the key also sits, as a literal, in our .rodata. */
static void read_baked_version(void)
{
        char tail[4096];
        struct stat st;
        int fd = open("/proc/self/exe", O_RDONLY | O_CLOEXEC);
        if (fd < 0)
                return;
        off_t end = elf_end(fd);
        if (end > 0 && fstat(fd, &st) == 0 && st.st_size > end) {
                size_t want = (size_t)(st.st_size - end) < sizeof tail - 1
                                  ? (size_t)(st.st_size - end)
                                  : sizeof tail - 1;
                ssize_t n = pread(fd, tail, want, end);
                if (n > 0) {
                        tail[n] = '\0';
                        for (char *line = tail; line;
                             line = strchr(line, '\n'), line = line ? line + 1 : NULL)
                                if (!strncmp(line, TRAILER_KEY, strlen(TRAILER_KEY))) {
                                        const char *v = line + strlen(TRAILER_KEY);
                                        size_t len = strcspn(v, "\r\n");
                                        if (len > 0 && len < sizeof k8s_version) {
                                                memcpy(k8s_version, v, len);
                                                k8s_version[len] = '\0';
                                        }
                                }
                }
        }
        close(fd);
}

#define ROLE(r)     (1u << (r))
#define CONTROLLERS (ROLE(APISERVER) | ROLE(CONTROLLER_MANAGER) | ROLE(SCHEDULER))

/* The seed's era flags that later minors deprecate or remove (the notes' flag table). A
 * deprecated flag still works and pflag warns; a removed one is an unknown flag. */
static const struct flag_rule {
        const char *name;
        unsigned roles;
        int deprecated_from;     /* minor; 0: never */
        int removed_from;        /* minor; 0: never */
        const char *deprecation; /* the text given to pflag's MarkDeprecated */
} flag_rules[] = {
    /* Still accepted through 1.35; the notes name no removal in 1.36 either. */
    {"apiserver-count", ROLE(APISERVER), 24, 0,
     "apiserver-count is deprecated and will be removed in a future version."},
    {"kubelet-https", ROLE(APISERVER), 0, 22, NULL},
    /* The notes: --insecure-port and --port, all three components, removed in 1.24. */
    {"insecure-port", CONTROLLERS, 0, 24, NULL},
    {"port", CONTROLLERS, 0, 24, NULL},
};

/* Whether the command line names flag NAME ("--name" or "--name=..."). */
static bool has_flag(const char *name)
{
        size_t n = strlen(name);
        for (int i = 1; i < nargs; i++)
                if (!strncmp(args[i], "--", 2) && !strncmp(args[i] + 2, name, n) &&
                    (args[i][n + 2] == '\0' || args[i][n + 2] == '='))
                        return true;
        return false;
}

/* As the real components do through pflag and component-base's cli.Run: a flag that is
 * gone fails the parse ("Error: unknown flag: --x", exit 1); a deprecated one warns. */
static void check_flags(void)
{
        for (size_t i = 0; i < sizeof flag_rules / sizeof flag_rules[0]; i++) {
                const struct flag_rule *f = &flag_rules[i];
                if (!(f->roles & ROLE(role)) || !has_flag(f->name))
                        continue;
                if (f->removed_from && minor >= f->removed_from)
                        die("unknown flag: --%s", f->name);
                if (f->deprecated_from && minor >= f->deprecated_from)
                        fprintf(stderr, "Flag --%s has been deprecated, %s\n", f->name,
                                f->deprecation);
        }
}

#define SCHEDULER_GROUP "kubescheduler.config.k8s.io/"

/* KubeSchedulerConfiguration versions: served from minor, up to and including last_minor
 * (the notes' table; v1beta1 removed in 1.23, v1beta2 in 1.28, v1beta3 in 1.29). */
static const struct {
        const char *version;
        int first_minor, last_minor;
} scheduler_apis[] = {
    {"v1beta1", 19, 22},
    {"v1beta2", 22, 27},
    {"v1beta3", 23, 28},
    {"v1", 25, 1000},
};

static bool scheduler_serves(const char *api_version)
{
        if (strncmp(api_version, SCHEDULER_GROUP, strlen(SCHEDULER_GROUP)))
                return false;
        for (size_t i = 0; i < sizeof scheduler_apis / sizeof scheduler_apis[0]; i++)
                if (!strcmp(api_version + strlen(SCHEDULER_GROUP), scheduler_apis[i].version))
                        return minor >= scheduler_apis[i].first_minor &&
                               minor <= scheduler_apis[i].last_minor;
        return false; /* e.g. v1alpha1: none of our versions serves it */
}

/* As the real scheduler fails once its logging is set up: klog's error line from
 * component-base's cli.Run, with the decoder's "no kind ... is registered" error. */
__attribute__((noreturn)) static void die_not_registered(const char *kind, const char *api_version)
{
        struct timespec ts;
        struct tm tm;
        clock_gettime(CLOCK_REALTIME, &ts);
        gmtime_r(&ts.tv_sec, &tm);
        fprintf(stderr,
                "E%02d%02d %02d:%02d:%02d.%06ld %7d run.go:74] \"command failed\" err=\"no kind "
                "\\\"%s\\\" is registered for version \\\"%s\\\" in scheme "
                "\\\"k8s.io/kubernetes/pkg/scheduler/apis/config/scheme/scheme.go:30\\\"\"\n",
                tm.tm_mon + 1, tm.tm_mday, tm.tm_hour, tm.tm_min, tm.tm_sec, ts.tv_nsec / 1000,
                (int)getpid(), kind, api_version);
        exit(1);
}

/* Which health paths this role serves at this version (the notes: the scheduler has
 * /livez and /readyz only since 1.31). */
static bool serves_health(const char *path)
{
        if (!strcmp(path, "/healthz"))
                return true;
        if (strcmp(path, "/livez") && strcmp(path, "/readyz"))
                return false;
        return role != SCHEDULER || minor >= 31;
}

/* ---- TLS --------------------------------------------------------------- */

static SSL_CTX *new_ctx(void)
{
        SSL_CTX *c = SSL_CTX_new(TLS_server_method());
        if (!c)
                die_ssl("creating TLS context", "");
        SSL_CTX_set_min_proto_version(c, TLS1_2_VERSION);
        /* Without it, resumed sessions fail once client certificates are requested. */
        SSL_CTX_set_session_id_context(c, (const unsigned char *)"standin", 7);
        return c;
}

static void load_keypair(const char *cert, const char *key)
{
        require_readable(cert);
        require_readable(key);
        if (SSL_CTX_use_certificate_chain_file(ctx, cert) != 1)
                die_ssl("loading certificate", cert);
        if (SSL_CTX_use_PrivateKey_file(ctx, key, SSL_FILETYPE_PEM) != 1)
                die_ssl("loading private key", key);
        if (SSL_CTX_check_private_key(ctx) != 1)
                die("tls: private key %s does not match public key in %s", key, cert);
}

/* Like the real controller-manager and scheduler when given no serving
 * certificate: generate one in memory, nobody is expected to verify it. */
static void self_signed(const char *bind)
{
        char san[128];
        X509V3_CTX v3;
        EVP_PKEY *key = EVP_EC_gen("P-256");
        X509 *x = X509_new();
        if (!key || !x)
                die_ssl("generating self-signed certificate", "");
        X509_set_version(x, 2);
        ASN1_INTEGER_set(X509_get_serialNumber(x), (long)time(NULL));
        X509_gmtime_adj(X509_getm_notBefore(x), -3600);
        X509_gmtime_adj(X509_getm_notAfter(x), 365L * 24 * 3600);
        X509_set_pubkey(x, key);
        X509_NAME *name = X509_get_subject_name(x);
        X509_NAME_add_entry_by_txt(name, "CN", MBSTRING_ASC, (const unsigned char *)"localhost", -1,
                                   -1, 0);
        X509_set_issuer_name(x, name);
        bool extra = strcmp(bind, "0.0.0.0") && strcmp(bind, "127.0.0.1") && strcmp(bind, "::");
        snprintf(san, sizeof san, "DNS:localhost,IP:127.0.0.1%s%s", extra ? ",IP:" : "",
                 extra ? bind : "");
        X509V3_set_ctx(&v3, x, x, NULL, NULL, 0);
        X509_EXTENSION *ext = X509V3_EXT_conf_nid(NULL, &v3, NID_subject_alt_name, san);
        if (!ext || !X509_add_ext(x, ext, -1) || !X509_sign(x, key, EVP_sha256()))
                die_ssl("generating self-signed certificate", "");
        if (SSL_CTX_use_certificate(ctx, x) != 1 || SSL_CTX_use_PrivateKey(ctx, key) != 1)
                die_ssl("using self-signed certificate", "");
        X509_EXTENSION_free(ext);
        X509_free(x);
        EVP_PKEY_free(key);
}

/* Ask for a client certificate but do not insist: the real apiserver also
 * accepts anonymous and token-authenticated clients on the same port. */
static void load_client_ca(const char *ca)
{
        STACK_OF(X509_NAME) *names = SSL_load_client_CA_file(ca);
        if (!names || SSL_CTX_load_verify_locations(ctx, ca, NULL) != 1)
                die_ssl("loading client CA", ca);
        SSL_CTX_set_client_CA_list(ctx, names);
        SSL_CTX_set_verify(ctx, SSL_VERIFY_PEER, NULL);
        have_client_ca = true;
}

/* ---- etcd -------------------------------------------------------------- */

/* The real apiserver's etcd client dials for 20 s (dialTimeout in k8s.io/apiserver's storage
 * factory) before it gives up; STANDIN_ETCD_TIMEOUT (seconds) shortens that for tests of the
 * refusal. */
#define ETCD_DIAL_SECONDS 20
#define ETCD_IO_SECONDS   2

/* A connected socket to host:port, or -1 with the reason in why. The connect is bounded: a
 * silently dropped SYN must not outlast the dial deadline. */
static int dial(const char *host, const char *port, char *why, size_t n)
{
        struct addrinfo hints = {.ai_socktype = SOCK_STREAM}, *ai;
        int rc = getaddrinfo(host, port, &hints, &ai);
        if (rc) {
                snprintf(why, n, "dial tcp: lookup %s: %s", host, gai_strerror(rc));
                return -1;
        }
        struct timeval tv = {.tv_sec = ETCD_IO_SECONDS};
        int fd = socket(ai->ai_family, SOCK_STREAM | SOCK_CLOEXEC, 0);
        if (fd >= 0 && (setsockopt(fd, SOL_SOCKET, SO_SNDTIMEO, &tv, sizeof tv) ||
                        setsockopt(fd, SOL_SOCKET, SO_RCVTIMEO, &tv, sizeof tv) ||
                        connect(fd, ai->ai_addr, ai->ai_addrlen))) {
                snprintf(why, n, "dial tcp %s:%s: connect: %s", host, port, go_strerror(errno));
                close(fd);
                fd = -1;
        } else if (fd < 0) {
                snprintf(why, n, "socket: %s", go_strerror(errno));
        }
        freeaddrinfo(ai);
        return fd;
}

/* GET /health from one etcd client URL (http:// or https://HOST[:PORT][/]); true when it
 * answers 200 with "health":"true". Otherwise why says what went wrong. Over https the server
 * is verified against cafile and the URL's host, and certfile/keyfile are the client's, as
 * the real apiserver's etcd client does. */
static bool etcd_healthy(const char *url, const char *cafile, const char *certfile,
                         const char *keyfile, char *why, size_t n)
{
        char host[256], port[16] = "2379", req[512], resp[4096];
        bool tls = !strncmp(url, "https://", 8);
        if (!tls && strncmp(url, "http://", 7)) {
                snprintf(why, n, "unsupported scheme in %s", url);
                return false;
        }
        const char *h = url + (tls ? 8 : 7), *end;
        size_t hlen;
        if (*h == '[') { /* [v6]:port */
                end = strchr(h, ']');
                if (!end) {
                        snprintf(why, n, "malformed URL %s", url);
                        return false;
                }
                hlen = (size_t)(end - h - 1);
                h++;
                end++;
        } else {
                hlen = strcspn(h, ":/");
                end = h + hlen;
        }
        if (!hlen || hlen >= sizeof host) {
                snprintf(why, n, "malformed URL %s", url);
                return false;
        }
        memcpy(host, h, hlen);
        host[hlen] = '\0';
        if (*end == ':') {
                size_t plen = strcspn(end + 1, "/");
                if (!plen || plen >= sizeof port) {
                        snprintf(why, n, "malformed URL %s", url);
                        return false;
                }
                memcpy(port, end + 1, plen);
                port[plen] = '\0';
        }

        int fd = dial(host, port, why, n);
        if (fd < 0)
                return false;
        SSL_CTX *c = NULL;
        SSL *ssl = NULL;
        bool ok = false;
        size_t len = 0;
        int reqlen = snprintf(req, sizeof req,
                              "GET /health HTTP/1.1\r\nHost: %s:%s\r\nConnection: close\r\n\r\n",
                              host, port);
        if (tls) {
                c = SSL_CTX_new(TLS_client_method());
                if (!c || (cafile && SSL_CTX_load_verify_locations(c, cafile, NULL) != 1) ||
                    (certfile && SSL_CTX_use_certificate_chain_file(c, certfile) != 1) ||
                    (keyfile && SSL_CTX_use_PrivateKey_file(c, keyfile, SSL_FILETYPE_PEM) != 1)) {
                        ERR_error_string_n(ERR_get_error(), why, n);
                        goto out;
                }
                SSL_CTX_set_verify(c, SSL_VERIFY_PEER, NULL);
                ssl = SSL_new(c);
                if (!ssl || SSL_set_fd(ssl, fd) != 1 || SSL_set1_host(ssl, host) != 1 ||
                    SSL_set_tlsext_host_name(ssl, host) != 1) {
                        ERR_error_string_n(ERR_get_error(), why, n);
                        goto out;
                }
                if (SSL_connect(ssl) != 1) {
                        long v = SSL_get_verify_result(ssl);
                        if (v != X509_V_OK)
                                snprintf(why, n, "tls: %s", X509_verify_cert_error_string(v));
                        else
                                ERR_error_string_n(ERR_get_error(), why, n);
                        goto out;
                }
                if (SSL_write(ssl, req, reqlen) != reqlen) {
                        snprintf(why, n, "write to %s:%s failed", host, port);
                        goto out;
                }
                int r;
                while (len < sizeof resp - 1 &&
                       (r = SSL_read(ssl, resp + len, (int)(sizeof resp - 1 - len))) > 0)
                        len += (size_t)r;
        } else {
                if (write(fd, req, (size_t)reqlen) != reqlen) {
                        snprintf(why, n, "write to %s:%s: %s", host, port, go_strerror(errno));
                        goto out;
                }
                ssize_t r;
                while (len < sizeof resp - 1 &&
                       (r = read(fd, resp + len, sizeof resp - 1 - len)) > 0)
                        len += (size_t)r;
        }
        resp[len] = '\0';
        ok = !strncmp(resp, "HTTP/1.1 200 ", 13) && strstr(resp, "\"health\":\"true\"");
        if (!ok && !len) {
                snprintf(why, n, "GET %s/health: the connection closed without an answer", url);
        } else if (!ok) {
                /* etcd answers 503 {"health":"false"} while it has no leader */
                const char *body = strstr(resp, "\r\n\r\n");
                snprintf(why, n, "GET %s/health: %.*s %s", url, (int)strcspn(resp, "\r\n"), resp,
                         body ? body + 4 : "(no body)");
        }
out:
        SSL_free(ssl);
        SSL_CTX_free(c);
        close(fd);
        ERR_clear_error();
        return ok;
}

/* Waits, up to the dial deadline, until one of --etcd-servers is healthy; else exits as the
 * real apiserver does when its storage cannot be reached: its last word is "Error: context
 * deadline exceeded" (kubernetes#96263 shows that line from a v1.19 apiserver). Each server's
 * failure is logged, in place of the real one's gRPC dial warnings. */
static void require_etcd(void)
{
        const char *servers = flag("etcd-servers");
        if (!servers)
                die("--etcd-servers must be specified");
        int seconds = ETCD_DIAL_SECONDS;
        const char *t = getenv("STANDIN_ETCD_TIMEOUT");
        if (t && *t)
                seconds = atoi(t);
        struct timespec now, deadline;
        clock_gettime(CLOCK_MONOTONIC, &deadline);
        deadline.tv_sec += seconds;
        char *list = strdup(servers), why[512] = "";
        if (!list)
                die("out of memory");
        /* Each server's failure is logged in the first round and the last, not every 250 ms. */
        for (int round = 0;; round++) {
                clock_gettime(CLOCK_MONOTONIC, &now);
                bool last = now.tv_sec > deadline.tv_sec ||
                            (now.tv_sec == deadline.tv_sec && now.tv_nsec >= deadline.tv_nsec);
                char *save = NULL, *copy = strdup(list);
                if (!copy)
                        die("out of memory");
                for (char *u = strtok_r(copy, ",", &save); u; u = strtok_r(NULL, ",", &save)) {
                        if (etcd_healthy(u, flag("etcd-cafile"), flag("etcd-certfile"),
                                         flag("etcd-keyfile"), why, sizeof why)) {
                                free(copy);
                                free(list);
                                return;
                        }
                        if (round == 0 || last)
                                fprintf(stderr, "W stand-in: etcd %s: %s\n", u, why);
                }
                free(copy);
                if (last)
                        break;
                poll(NULL, 0, 250);
        }
        free(list);
        die("context deadline exceeded");
}

/* Whether one of --etcd-servers is healthy now: the API server's own etcd health check. */
static bool etcd_any_healthy(void)
{
        char why[512], *save = NULL;
        char *list = strdup(flag("etcd-servers") ? flag("etcd-servers") : "");
        bool ok = false;
        for (char *u = list ? strtok_r(list, ",", &save) : NULL; u && !ok;
             u = strtok_r(NULL, ",", &save))
                ok = etcd_healthy(u, flag("etcd-cafile"), flag("etcd-certfile"),
                                  flag("etcd-keyfile"), why, sizeof why);
        free(list);
        return ok;
}

/* ---- HTTP -------------------------------------------------------------- */

struct conn {
        int fd;
        SSL *ssl;
        bool authenticated;
        char cn[256];
        size_t len;
        char buf[HEAD_MAX];
};

struct req {
        char method[16];
        char path[2048];
        char ctype[128];
        size_t clen;
        bool keepalive;
        bool verbose; /* ?verbose: the health endpoints list their checks */
};

/* HTTP reason phrase, and the reason a Kubernetes Status object gives. */
static const struct status {
        int code;
        const char *phrase, *reason;
} statuses[] = {{200, "OK", ""},
                {201, "Created", ""},
                {400, "Bad Request", "BadRequest"},
                {401, "Unauthorized", "Unauthorized"},
                {404, "Not Found", "NotFound"},
                {405, "Method Not Allowed", "MethodNotAllowed"},
                {411, "Length Required", "LengthRequired"},
                {413, "Request Entity Too Large", "RequestEntityTooLarge"},
                {500, "Internal Server Error", "InternalError"}};

static const struct status *status_of(int code)
{
        size_t i = 0;
        while (i < sizeof statuses / sizeof statuses[0] - 1 && statuses[i].code != code)
                i++;
        return &statuses[i];
}

static void audit(const struct req *r, int code, const struct conn *c)
{
        char line[2400];
        if (audit_fd < 0)
                return;
        int n = snprintf(line, sizeof line, "%s %s %d %s\n", *r->method ? r->method : "-",
                         *r->path ? r->path : "-", code, c->authenticated && *c->cn ? c->cn : "-");
        /* A single O_APPEND write keeps lines from concurrent threads whole. */
        if (n > 0 &&
            write(audit_fd, line, (size_t)n < sizeof line ? (size_t)n : sizeof line - 1) < 0)
                perror("audit log");
}

static void respond(struct conn *c, const struct req *r, int code, const char *ctype,
                    const char *body, size_t len)
{
        char head[512];
        int hlen = snprintf(head, sizeof head,
                            "HTTP/1.1 %d %s\r\nContent-Type: %s\r\nContent-Length: %zu\r\n%s\r\n",
                            code, status_of(code)->phrase, ctype, len,
                            r->keepalive ? "" : "Connection: close\r\n");
        if (!strcmp(r->method, "HEAD"))
                len = 0;
        /* One write, so that Nagle and delayed ACKs cannot stall keep-alive clients. */
        char *out = malloc((size_t)hlen + len);
        if (out) {
                memcpy(out, head, (size_t)hlen);
                memcpy(out + hlen, body, len);
                SSL_write(c->ssl, out, (int)((size_t)hlen + len));
                free(out);
        }
        audit(r, code, c);
}

/* Kubernetes clients expect errors as a JSON Status object. */
static void respond_status(struct conn *c, const struct req *r, int code, const char *message,
                           const char *kind, const char *name)
{
        char json[1024], details[512] = "";
        if (name)
                snprintf(details, sizeof details,
                         "\"details\":{\"name\":\"%s\",\"group\":\"rbac.authorization.k8s.io\","
                         "\"kind\":\"%s\"},",
                         name, kind);
        int n = snprintf(
            json, sizeof json,
            "{\"kind\":\"Status\",\"apiVersion\":\"v1\",\"metadata\":{},\"status\":\"Failure\","
            "\"message\":\"%s\",\"reason\":\"%s\",%s\"code\":%d}",
            message, status_of(code)->reason, details, code);
        respond(c, r, code, "application/json", json,
                (size_t)n < sizeof json ? (size_t)n : sizeof json - 1);
}

static char *trim(char *s)
{
        while (*s == ' ' || *s == '\t')
                s++;
        size_t n = strlen(s);
        while (n && (s[n - 1] == ' ' || s[n - 1] == '\t'))
                s[--n] = '\0';
        return s;
}

/* Returns 0 or the HTTP status with which to reject the request. */
static int parse_head(char *head, struct req *r)
{
        char *line = head, *next = strstr(line, "\r\n");
        if (!next)
                return 400;
        *next = '\0';
        char *sp1 = strchr(line, ' '), *sp2 = sp1 ? strchr(sp1 + 1, ' ') : NULL;
        if (!sp1 || !sp2 || sp1 == line || (size_t)(sp1 - line) >= sizeof r->method)
                return 400;
        for (char *p = line; p < sp1; p++)
                if (!isupper((unsigned char)*p))
                        return 400;
        memcpy(r->method, line, (size_t)(sp1 - line));
        char *target = sp1 + 1, *version = sp2 + 1;
        *sp2 = '\0';
        if (*target != '/' || strlen(target) >= sizeof r->path)
                return 400;
        for (char *p = target; *p; p++)
                if ((unsigned char)*p <= 0x20 || *p == 0x7f)
                        return 400;
        char *query = strchr(target, '?');
        r->verbose = query && strstr(query, "verbose");
        target[strcspn(target, "?#")] = '\0';
        strcpy(r->path, target);
        if (!strcmp(version, "HTTP/1.1"))
                r->keepalive = true;
        else if (strcmp(version, "HTTP/1.0"))
                return 400;

        bool have_clen = false;
        for (line = next + 2; *line; line = next + 2) {
                if (!(next = strstr(line, "\r\n")))
                        return 400;
                *next = '\0';
                char *colon = strchr(line, ':');
                if (!colon || colon == line)
                        return 400;
                *colon = '\0';
                char *name = line, *value = trim(colon + 1);
                if (!strcasecmp(name, "Content-Length")) {
                        char *end;
                        errno = 0;
                        unsigned long long n = strtoull(value, &end, 10);
                        if (!isdigit((unsigned char)*value) || *end || errno ||
                            (have_clen && n != r->clen))
                                return 400;
                        if (n > BODY_MAX)
                                return 413;
                        r->clen = (size_t)n;
                        have_clen = true;
                } else if (!strcasecmp(name, "Transfer-Encoding")) {
                        return 411; /* chunked bodies: no client of ours sends them */
                } else if (!strcasecmp(name, "Connection")) {
                        if (strcasestr(value, "close"))
                                r->keepalive = false;
                        else if (strcasestr(value, "keep-alive"))
                                r->keepalive = true;
                } else if (!strcasecmp(name, "Content-Type")) {
                        if (strpbrk(value, "\r\n")) /* we echo it back as a header */
                                return 400;
                        snprintf(r->ctype, sizeof r->ctype, "%s", value);
                }
        }
        return 0;
}

/* ---- RBAC store -------------------------------------------------------- */

struct object {
        struct object *next;
        char kind[32];
        char name[254];
        char ctype[128];
        char *body;
        size_t len;
};
static struct object *objects;
static pthread_mutex_t objects_lock = PTHREAD_MUTEX_INITIALIZER;

/* Percent-decodes a path segment into out; false if it is not a name we are
 * willing to store (also keeps it safe to embed in JSON unescaped). */
static bool decode_name(const char *in, char *out, size_t size)
{
        size_t n = 0;
        for (; *in; in++) {
                int ch = (unsigned char)*in;
                if (ch == '%') {
                        if (!isxdigit((unsigned char)in[1]) || !isxdigit((unsigned char)in[2]))
                                return false;
                        char hex[3] = {in[1], in[2], '\0'};
                        ch = (int)strtol(hex, NULL, 16);
                        in += 2;
                }
                if (!ch || (!isalnum(ch) && !strchr(".-_:@", ch)) || n + 1 >= size)
                        return false;
                out[n++] = (char)ch;
        }
        out[n] = '\0';
        return n > 0 && strcmp(out, ".") && strcmp(out, "..");
}

static struct object *find_object(const char *kind, const char *name)
{
        for (struct object *o = objects; o; o = o->next)
                if (!strcmp(o->kind, kind) && !strcmp(o->name, name))
                        return o;
        return NULL;
}

static void serve_rbac(struct conn *c, const struct req *r, const char *kind, const char *name,
                       const char *body)
{
        char msg[512], ctype[128], *copy = NULL;
        size_t len = 0;
        int code = 200;
        bool patch = !strcmp(r->method, "PATCH");

        if (!patch && strcmp(r->method, "GET") && strcmp(r->method, "HEAD")) {
                respond_status(c, r, 405,
                               "the server does not allow this method on the requested resource",
                               NULL, NULL);
                return;
        }
        if (patch && !c->authenticated) {
                respond_status(c, r, 401, "Unauthorized", NULL, NULL);
                return;
        }
        if (patch && r->clen == 0) {
                respond_status(c, r, 400, "the body of the request was in an unknown format", kind,
                               name);
                return;
        }
        /* Copy out under the lock; a slow client must not block everyone else. */
        pthread_mutex_lock(&objects_lock);
        struct object *o = find_object(kind, name);
        if (patch && !o && (o = calloc(1, sizeof *o))) {
                snprintf(o->kind, sizeof o->kind, "%s", kind);
                snprintf(o->name, sizeof o->name, "%s", name);
                o->next = objects;
                objects = o;
                code = 201;
        }
        char *stored = patch && o ? malloc(r->clen) : NULL;
        if (stored) {
                memcpy(stored, body, r->clen);
                free(o->body);
                o->body = stored;
                o->len = r->clen;
                snprintf(o->ctype, sizeof o->ctype, "%s",
                         *r->ctype ? r->ctype : "application/json");
        }
        if (o && o->body && (copy = malloc(o->len))) {
                memcpy(copy, o->body, o->len);
                len = o->len;
                snprintf(ctype, sizeof ctype, "%s", o->ctype);
        }
        pthread_mutex_unlock(&objects_lock);

        if (copy) {
                respond(c, r, code, ctype, copy, len);
        } else if (patch) {
                respond_status(c, r, 500, "out of memory", kind, name);
        } else {
                snprintf(msg, sizeof msg, "%s.rbac.authorization.k8s.io \\\"%s\\\" not found", kind,
                         name);
                respond_status(c, r, 404, msg, kind, name);
        }
        free(copy);
}

/* ---- routing and connections ------------------------------------------- */

/* The API server's /healthz, /livez and /readyz hold an etcd check, as the real one's do, asked
 * anew each time: "ok" while etcd is healthy, else 500. With ?verbose, and on failure, the body
 * is the real one's listing ("[+]ping ok", "[-]etcd failed: reason withheld", ..., "<name>
 * check passed" or "failed"), the subset of checks a stand-in can mean. */
static void apiserver_health(struct conn *c, const struct req *r, const char *name)
{
        char body[256];
        bool ok = etcd_any_healthy();
        if (ok && !r->verbose) {
                respond(c, r, 200, "text/plain; charset=utf-8", "ok", 2);
                return;
        }
        int n = snprintf(body, sizeof body, "[+]ping ok\n[+]log ok\n%s\n%s check %s\n",
                         ok ? "[+]etcd ok" : "[-]etcd failed: reason withheld", name,
                         ok ? "passed" : "failed");
        respond(c, r, ok ? 200 : 500, "text/plain; charset=utf-8", body, (size_t)n);
}

static void route(struct conn *c, const struct req *r, const char *body)
{
        const char *p = r->path;
        bool get = !strcmp(r->method, "GET") || !strcmp(r->method, "HEAD");
        char name[254];

        if (serves_health(p)) {
                if (!get)
                        respond_status(c, r, 405, "method not allowed", NULL, NULL);
                else if (role == APISERVER)
                        apiserver_health(c, r, p + 1);
                else
                        respond(c, r, 200, "text/plain; charset=utf-8", "ok", 2);
                return;
        }
        if (role == APISERVER && get && !strcmp(p, "/version")) {
                respond(c, r, 200, "application/json", version_json, strlen(version_json));
                return;
        }
        if (role == APISERVER && !strncmp(p, RBAC_PREFIX, strlen(RBAC_PREFIX))) {
                const char *rest = p + strlen(RBAC_PREFIX);
                static const char *const kinds[] = {"clusterroles", "clusterrolebindings"};
                for (int i = 0; i < 2; i++) {
                        size_t n = strlen(kinds[i]);
                        if (!strncmp(rest, kinds[i], n) && rest[n] == '/' &&
                            decode_name(rest + n + 1, name, sizeof name)) {
                                serve_rbac(c, r, kinds[i], name, body);
                                return;
                        }
                }
        }
        respond_status(c, r, 404, "the server could not find the requested resource", NULL, NULL);
}

/* Serves one request; returns whether the connection may be reused. */
static bool serve_one(struct conn *c)
{
        struct req r = {0};
        char *end;
        while (!(end = memmem(c->buf, c->len, "\r\n\r\n", 4))) {
                if (c->len == sizeof c->buf) {
                        respond_status(c, &r, 400, "request header too large", NULL, NULL);
                        return false;
                }
                int n = SSL_read(c->ssl, c->buf + c->len, (int)(sizeof c->buf - c->len));
                if (n <= 0)
                        return false;
                c->len += (size_t)n;
        }
        size_t head_len = (size_t)(end - c->buf) + 4;
        end[2] = '\0'; /* keep the last header's CRLF for parse_head */
        int err = parse_head(c->buf, &r);
        if (err) {
                r.keepalive = false;
                respond_status(c, &r, err, status_of(err)->phrase, NULL, NULL);
                return false;
        }

        size_t buffered = c->len - head_len, have = buffered < r.clen ? buffered : r.clen;
        char *body = malloc(r.clen + 1);
        if (!body)
                return false;
        memcpy(body, c->buf + head_len, have);
        memmove(c->buf, c->buf + head_len + have, buffered - have); /* pipelined requests */
        c->len = buffered - have;
        while (have < r.clen) {
                int n = SSL_read(c->ssl, body + have, (int)(r.clen - have));
                if (n <= 0) {
                        free(body);
                        return false;
                }
                have += (size_t)n;
        }
        body[r.clen] = '\0';
        route(c, &r, body);
        free(body);
        return r.keepalive;
}

static void *serve_conn(void *arg)
{
        struct conn *c = arg;
        struct timeval tv = {.tv_sec = IO_TIMEOUT_SECONDS};
        int one = 1;
        setsockopt(c->fd, SOL_SOCKET, SO_RCVTIMEO, &tv, sizeof tv);
        setsockopt(c->fd, SOL_SOCKET, SO_SNDTIMEO, &tv, sizeof tv);
        setsockopt(c->fd, IPPROTO_TCP, TCP_NODELAY, &one, sizeof one);

        if ((c->ssl = SSL_new(ctx)) && SSL_set_fd(c->ssl, c->fd) == 1 && SSL_accept(c->ssl) == 1) {
                X509 *peer = SSL_get1_peer_certificate(c->ssl);
                /* With SSL_VERIFY_PEER a bad certificate already failed the handshake;
                 * still check, so that a presented certificate alone never counts. */
                if (peer && have_client_ca && SSL_get_verify_result(c->ssl) == X509_V_OK) {
                        c->authenticated = true;
                        if (X509_NAME_get_text_by_NID(X509_get_subject_name(peer), NID_commonName,
                                                      c->cn, sizeof c->cn) < 0)
                                c->cn[0] = '\0';
                }
                X509_free(peer);
                while (serve_one(c))
                        ;
                SSL_shutdown(c->ssl);
        }
        SSL_free(c->ssl);
        close(c->fd);
        free(c);
        ERR_clear_error();
        return NULL;
}

static int listen_on(const char *addr, const char *port_str, unsigned *port)
{
        struct addrinfo hints = {.ai_flags = AI_NUMERICHOST | AI_NUMERICSERV | AI_PASSIVE,
                                 .ai_socktype = SOCK_STREAM};
        struct addrinfo *ai;
        struct sockaddr_storage ss;
        socklen_t sslen = sizeof ss;
        char *end;
        int one = 1;

        long p = strtol(port_str, &end, 10);
        if (!*port_str || *end || p < 0 || p > 65535)
                die("invalid argument \"%s\" for \"--secure-port\" flag", port_str);
        int rc = getaddrinfo(addr, port_str, &hints, &ai);
        if (rc)
                die("invalid argument \"%s\" for \"--bind-address\" flag: %s", addr,
                    gai_strerror(rc));
        int fd = socket(ai->ai_family, SOCK_STREAM | SOCK_CLOEXEC, 0);
        if (fd < 0)
                die("socket: %s", go_strerror(errno));
        /* Tests restart servers on the same port while old sockets sit in TIME_WAIT. */
        setsockopt(fd, SOL_SOCKET, SO_REUSEADDR, &one, sizeof one);
        if (bind(fd, ai->ai_addr, ai->ai_addrlen) < 0 || listen(fd, 128) < 0)
                die("failed to listen on %s:%s: listen tcp %s:%s: bind: %s", addr, port_str, addr,
                    port_str, go_strerror(errno));
        freeaddrinfo(ai);
        /* --secure-port=0 picks a free port; report the one we got. */
        getsockname(fd, (struct sockaddr *)&ss, &sslen);
        *port = ntohs(ss.ss_family == AF_INET6 ? ((struct sockaddr_in6 *)&ss)->sin6_port
                                               : ((struct sockaddr_in *)&ss)->sin_port);
        return fd;
}

static void *accept_loop(void *arg)
{
        int lfd = *(int *)arg;
        pthread_attr_t attr;
        pthread_attr_init(&attr);
        pthread_attr_setdetachstate(&attr, PTHREAD_CREATE_DETACHED);
        for (;;) {
                int fd = accept4(lfd, NULL, NULL, SOCK_CLOEXEC);
                if (fd < 0) {
                        if (errno != EINTR && errno != ECONNABORTED)
                                nanosleep(&(struct timespec){.tv_nsec = 100 * 1000 * 1000},
                                          NULL); /* e.g. EMFILE: don't spin */
                        continue;
                }
                struct conn *c = calloc(1, sizeof *c);
                pthread_t t;
                if (!c || (c->fd = fd, pthread_create(&t, &attr, serve_conn, c)) != 0) {
                        close(fd);
                        free(c);
                }
        }
        return NULL;
}

/* ---- roles ------------------------------------------------------------- */

/* A scalar after "key:", unquoted, without a trailing comment. */
static char *yaml_value(char *v)
{
        v = trim(v);
        size_t n = strlen(v);
        if (n >= 2 && (*v == '"' || *v == '\'') && v[n - 1] == *v) {
                v[n - 1] = '\0';
                v++;
        } else if (strstr(v, " #")) {
                *strstr(v, " #") = '\0';
                v = trim(v);
        }
        return v;
}

/* Only what our provisioner writes: the top-level apiVersion and kind, and
 * clientConnection.kubeconfig, possibly quoted. Like the real scheduler, the file is decoded
 * (its apiVersion checked) before the kubeconfig it names is read. */
static char *scheduler_kubeconfig(const char *config)
{
        char line[4096], *found = NULL, api_version[256] = "",
                         kind[256] = "KubeSchedulerConfiguration";
        int section = -1;
        require_readable(config);
        FILE *f = fopen(config, "r");
        if (!f)
                die("open %s: %s", config, go_strerror(errno));
        while (fgets(line, sizeof line, f)) {
                line[strcspn(line, "\r\n")] = '\0';
                int indent = (int)strspn(line, " ");
                char *key = line + indent;
                if (!*key || *key == '#')
                        continue;
                if (section >= 0 && indent <= section)
                        section = -1;
                if (section < 0) {
                        if (!strncmp(key, "clientConnection:", 17))
                                section = indent;
                        else if (!indent && !strncmp(key, "apiVersion:", 11))
                                snprintf(api_version, sizeof api_version, "%s",
                                         yaml_value(key + 11));
                        else if (!indent && !strncmp(key, "kind:", 5))
                                snprintf(kind, sizeof kind, "%s", yaml_value(key + 5));
                        continue;
                }
                if (!found && !strncmp(key, "kubeconfig:", 11))
                        found = strdup(yaml_value(key + 11));
        }
        fclose(f);
        /* A file without apiVersion is not checked: the stand-in only judges what it is told. */
        if (*api_version && !scheduler_serves(api_version))
                die_not_registered(kind, api_version);
        if (!found || !*found)
                die("no clientConnection.kubeconfig in %s", config);
        return found;
}

static int kubectl(int argc, char **argv)
{
        bool version_verb = false, client = false;
        for (int i = 1; i < argc; i++) {
                if (!strcmp(argv[i], "version"))
                        version_verb = true;
                else if (!strcmp(argv[i], "--client") || !strcmp(argv[i], "--client=true"))
                        client = true;
        }
        if (!version_verb || !client) {
                fputs("kubectl stand-in: not supported\n", stderr);
                return 1;
        }
        printf("Client Version: %s\n", k8s_version);
        return 0;
}

static void build_version_json(void)
{
        int major = 0;
        sscanf(k8s_version, "v%d", &major);
        snprintf(
            version_json, sizeof version_json,
            "{\"major\":\"%d\",\"minor\":\"%d\",\"gitVersion\":\"%s\",\"gitCommit\":\"standin\","
            "\"gitTreeState\":\"clean\",\"buildDate\":\"%s\",\"goVersion\":\"standin\","
            "\"compiler\":\"gc\",\"platform\":\"%s\"}",
            major, minor, k8s_version, STANDIN_BUILD_DATE, PLATFORM);
}

static void open_audit_log(const char *path)
{
        if (!strcmp(path, "-")) { /* as in the real apiserver: "-" is stdout */
                audit_fd = STDOUT_FILENO;
                return;
        }
        /* The real apiserver creates missing parent directories. */
        char *dir = strdup(path);
        for (char *s = dir + 1; dir && (s = strchr(s, '/')); s++) {
                *s = '\0';
                mkdir(dir, 0755);
                *s = '/';
        }
        free(dir);
        if ((audit_fd = open(path, O_WRONLY | O_APPEND | O_CREAT | O_CLOEXEC, 0600)) < 0)
                die("open %s: %s", path, go_strerror(errno));
}

int main(int argc, char **argv)
{
        const char *name = getenv("STANDIN_ROLE");
        if (!name || !*name)
                name = strrchr(argv[0], '/') ? strrchr(argv[0], '/') + 1 : argv[0];
        for (role = APISERVER; role <= KUBECTL && strcmp(name, role_names[role]); role++)
                ;
        if (role > KUBECTL) {
                fprintf(stderr,
                        "standin: unknown role \"%s\": install as kube-apiserver, "
                        "kube-controller-manager, "
                        "kube-scheduler or kubectl, or set STANDIN_ROLE\n",
                        name);
                return 1;
        }
        read_baked_version();
        sscanf(k8s_version, "v%*d.%d", &minor);
        const char *fail = getenv("STANDIN_FAIL");
        if (fail && *fail) {
                fprintf(stderr, "%s\n", fail);
                return 1;
        }
        for (int i = 1; i < argc; i++)
                if (!strcmp(argv[i], "--version") || !strncmp(argv[i], "--version=", 10)) {
                        printf("Kubernetes %s\n", k8s_version);
                        return 0;
                }
        if (role == KUBECTL)
                return kubectl(argc, argv);

        /* A bad release: the controllers exit at start, so that systemd's Restart=on-failure
         * makes the crash loop a health gate must catch. */
        if (strstr(k8s_version, "-crash")) {
                fprintf(stderr, "%s stand-in %s: built to crash at start (a bad release)\n",
                        role_names[role], k8s_version);
                return 1;
        }
        nargs = argc;
        args = argv;
        check_flags();
        const char *bind = flag("bind-address") ? flag("bind-address") : "0.0.0.0";
        const char *port = flag("secure-port");
        ctx = new_ctx();
        if (role == APISERVER) {
                static const char *const files[] = {"client-ca-file",
                                                    "etcd-cafile",
                                                    "etcd-certfile",
                                                    "etcd-keyfile",
                                                    "encryption-provider-config",
                                                    "kubelet-certificate-authority",
                                                    "kubelet-client-certificate",
                                                    "kubelet-client-key",
                                                    "service-account-key-file",
                                                    "service-account-signing-key-file",
                                                    NULL};
                if (!flag("tls-cert-file") || !flag("tls-private-key-file"))
                        die("--tls-cert-file and --tls-private-key-file are required by the "
                            "stand-in");
                load_keypair(flag("tls-cert-file"), flag("tls-private-key-file"));
                require_readable_flags(files);
                if (flag("client-ca-file"))
                        load_client_ca(flag("client-ca-file"));
                if (flag("audit-log-path"))
                        open_audit_log(flag("audit-log-path"));
                /* After the files, as the real one reads its flags and files before it dials
                 * its storage; before listening, so that nothing answers without etcd. */
                require_etcd();
                build_version_json();
                port = port ? port : "6443";
        } else {
                static const char *const files[] = {"cluster-signing-cert-file",
                                                    "cluster-signing-key-file", "root-ca-file",
                                                    "service-account-private-key-file", NULL};
                if (role == CONTROLLER_MANAGER) {
                        if (!flag("kubeconfig"))
                                die("--kubeconfig is required by the stand-in");
                        require_readable(flag("kubeconfig"));
                        require_readable_flags(files);
                        port = port ? port : "10257";
                } else {
                        if (!flag("config"))
                                die("--config is required by the stand-in");
                        require_readable(scheduler_kubeconfig(flag("config")));
                        port = port ? port : "10259";
                }
                /* Like the real ones: use a given serving certificate, else make one. */
                if (flag("tls-cert-file") && flag("tls-private-key-file"))
                        load_keypair(flag("tls-cert-file"), flag("tls-private-key-file"));
                else
                        self_signed(bind);
        }

        /* Block the signals before any thread exists so that only sigwait sees them. */
        sigset_t sigs;
        sigemptyset(&sigs);
        sigaddset(&sigs, SIGTERM);
        sigaddset(&sigs, SIGINT);
        pthread_sigmask(SIG_BLOCK, &sigs, NULL);
        signal(SIGPIPE, SIG_IGN); /* peers hang up mid-response */

        unsigned actual;
        int lfd = listen_on(bind, port, &actual);
        fprintf(stderr, "%s stand-in listening on %s:%u\n", role_names[role], bind, actual);
        pthread_t t;
        int err = pthread_create(&t, NULL, accept_loop, &lfd);
        if (err)
                die("pthread_create: %s", go_strerror(err));
        int sig;
        sigwait(&sigs, &sig);
        fprintf(stderr, "%s stand-in: received signal %d, exiting\n", role_names[role], sig);
        /* _exit, not exit: OpenSSL's atexit cleanup would race connection threads. */
        _exit(0);
}
