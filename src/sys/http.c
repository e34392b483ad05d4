/* HTTPS transfers through libcurl: https only (also after redirects), TLS always verified,
 * many at once over the multi interface (HTTP/2 multiplexed when the server offers it). */
#include "http.h"

/* The functions below are called through pointers: curl's type-checking macros would wrap
 * their names. The option types are checked by the tests that run every transfer. */
#define CURL_DISABLE_TYPECHECK 1
#include <curl/curl.h>
#include <dlfcn.h>
#include <errno.h>
#include <inttypes.h>
#include <pthread.h>
#include <stdlib.h>
#include <string.h>

#include "util.h"

/* libcurl is loaded when a transfer or a probe first needs it, not at start: it brings some
 * 35 libraries (GnuTLS, Kerberos, LDAP, libssh2...) whose mapping and constructors were most
 * of a no-op apply's run time. Done like archive.c: one pointer per function, resolved once. */
#define HTTP_SONAME "libcurl.so.4"
#define CURL_SYMBOLS(X)                                                                            \
        X(curl_easy_cleanup)                                                                       \
        X(curl_easy_getinfo)                                                                       \
        X(curl_easy_init)                                                                          \
        X(curl_easy_perform)                                                                       \
        X(curl_easy_setopt)                                                                        \
        X(curl_easy_strerror)                                                                      \
        X(curl_free)                                                                               \
        X(curl_global_init)                                                                        \
        X(curl_multi_add_handle)                                                                   \
        X(curl_multi_cleanup)                                                                      \
        X(curl_multi_info_read)                                                                    \
        X(curl_multi_init)                                                                         \
        X(curl_multi_perform)                                                                      \
        X(curl_multi_poll)                                                                         \
        X(curl_multi_remove_handle)                                                                \
        X(curl_multi_setopt)                                                                       \
        X(curl_slist_append)                                                                       \
        X(curl_slist_free_all)                                                                     \
        X(curl_url)                                                                                \
        X(curl_url_cleanup)                                                                        \
        X(curl_url_get)                                                                            \
        X(curl_url_set)                                                                            \
        X(curl_version)

#define DECLARE_SYM(name) static __typeof__(name) *sym_##name;
CURL_SYMBOLS(DECLARE_SYM)
#undef DECLARE_SYM

/* Why libcurl could not be had, kept for every later caller: dlerror() says it only once. */
static char *load_error;
static int load_result;
static void *handle; /* kept, so the library is seen to stay in use */

/* Once per run, whichever thread asks first (the tarball stream fetches on a thread of its
 * own): libcurl loaded and initialised, or load_error saying why (the soname and the package
 * to install). The library stays loaded for the rest of the run. */
static void load_curl(void)
{
        void *h = dlopen(HTTP_SONAME, RTLD_NOW | RTLD_LOCAL);
        if (!h) {
                const char *why = dlerror();
                asprintf_safe(&load_error, "cannot load %s (%s): install libcurl4", HTTP_SONAME,
                              why ? why : "no reason given");
                load_result = -ELIBACC;
                return;
        }
#define RESOLVE_SYM(name)                                                                          \
        sym_##name = (__typeof__(sym_##name))dlsym(h, #name);                                      \
        if (!sym_##name) {                                                                         \
                asprintf_safe(&load_error, "%s lacks %s: libcurl 7.85 or later is needed",         \
                              HTTP_SONAME, #name);                                                 \
                dlclose(h);                                                                        \
                load_result = -ELIBACC;                                                            \
                return;                                                                            \
        }
        CURL_SYMBOLS(RESOLVE_SYM)
#undef RESOLVE_SYM
        if (sym_curl_global_init(CURL_GLOBAL_DEFAULT) != CURLE_OK) {
                /* not closed: curl may have started threads */
                asprintf_safe(&load_error, "%s did not initialise (curl_global_init)", HTTP_SONAME);
                load_result = -ELIBACC;
        }
        handle = h;
}

/* 0 once libcurl is there; else -ELIBACC, with load_error saying why. */
static int http_init(void)
{
        static pthread_once_t once = PTHREAD_ONCE_INIT;
        pthread_once(&once, load_curl);
        return load_result;
}

/* curl.h defines these three as macros of themselves, for its own reasons */
#undef curl_easy_getinfo
#undef curl_easy_setopt
#undef curl_multi_setopt
#define curl_easy_cleanup        sym_curl_easy_cleanup
#define curl_easy_getinfo        sym_curl_easy_getinfo
#define curl_easy_init           sym_curl_easy_init
#define curl_easy_perform        sym_curl_easy_perform
#define curl_easy_setopt         sym_curl_easy_setopt
#define curl_easy_strerror       sym_curl_easy_strerror
#define curl_free                sym_curl_free
#define curl_multi_add_handle    sym_curl_multi_add_handle
#define curl_multi_cleanup       sym_curl_multi_cleanup
#define curl_multi_info_read     sym_curl_multi_info_read
#define curl_multi_init          sym_curl_multi_init
#define curl_multi_perform       sym_curl_multi_perform
#define curl_multi_poll          sym_curl_multi_poll
#define curl_multi_remove_handle sym_curl_multi_remove_handle
#define curl_multi_setopt        sym_curl_multi_setopt
#define curl_slist_append        sym_curl_slist_append
#define curl_slist_free_all      sym_curl_slist_free_all
#define curl_url                 sym_curl_url
#define curl_url_cleanup         sym_curl_url_cleanup
#define curl_url_get             sym_curl_url_get
#define curl_url_set             sym_curl_url_set
#define curl_version             sym_curl_version

struct progress_ctx {
        http_progress_t fn;
        void *userdata;
        size_t index;
};

struct easy_ctx {
        struct http_transfer *t;
        uint64_t max_size;
        struct progress_ctx progress;
        char errbuf[CURL_ERROR_SIZE];
};

const char *http_library_version(void)
{
        /* "kubestrap version" names the libcurl it would use, so it loads it */
        return http_init() >= 0 ? curl_version() : load_error;
}

static size_t write_cb(char *ptr, size_t size, size_t nmemb, void *userdata)
{
        struct easy_ctx *e = userdata;
        struct http_transfer *t = e->t;
        size_t n = size * nmemb;
        int r;

        if (!t->begun) {
                t->begun = true;
                curl_easy_getinfo(t->handle, CURLINFO_RESPONSE_CODE, &t->status);
                if (t->begin && (r = t->begin(t->status, t->userdata)) < 0) {
                        t->sink_error = r;
                        return 0;
                }
        }
        /* libcurl enforces CURLOPT_MAXFILESIZE only against a Content-Length it was told: a
         * chunked (or HTTP/2 length-less) body would run on for ever. Counted here, with what
         * an earlier attempt already brought (resume_from), so the limit holds for the file. */
        if (e->max_size && t->resume_from + t->received + n > e->max_size) {
                t->over_limit = true;
                return 0;
        }
        t->received += n;
        r = t->sink(ptr, n, t->userdata);
        if (r < 0) {
                t->sink_error = r;
                return 0; /* makes curl stop this transfer with CURLE_WRITE_ERROR */
        }
        return n;
}

static int xferinfo_cb(void *userdata, curl_off_t dltotal, curl_off_t dlnow, curl_off_t ultotal,
                       curl_off_t ulnow)
{
        struct progress_ctx *p = userdata;
        if (p->fn)
                p->fn(p->index, (uint64_t)dlnow, (uint64_t)dltotal, p->userdata);
        return 0;
}

static int map_curl_error(CURLcode c, long status, bool *ret_retryable)
{
        *ret_retryable = false;
        switch (c) {
        case CURLE_HTTP_RETURNED_ERROR:
                *ret_retryable = status >= 500 || status == 408 || status == 429;
                return status == 404 ? -ENOENT : status == 403 ? -EACCES : -EPROTO;
        case CURLE_UNSUPPORTED_PROTOCOL:
                return -EPROTONOSUPPORT;
        case CURLE_COULDNT_RESOLVE_HOST:
        case CURLE_COULDNT_RESOLVE_PROXY:
                return -EHOSTUNREACH;
        case CURLE_COULDNT_CONNECT:
                *ret_retryable = true;
                return -ECONNREFUSED;
        case CURLE_OPERATION_TIMEDOUT:
                *ret_retryable = true;
                return -ETIMEDOUT;
        case CURLE_PEER_FAILED_VERIFICATION:
        case CURLE_SSL_CACERT_BADFILE:
        case CURLE_SSL_CONNECT_ERROR:
        case CURLE_SSL_CERTPROBLEM:
                return -EKEYREJECTED;
        case CURLE_FILESIZE_EXCEEDED:
                return -EFBIG;
        case CURLE_TOO_MANY_REDIRECTS:
                return -ELOOP;
        case CURLE_RANGE_ERROR: /* asked for the rest, the server sent the whole file */
                return -ENOTSUP;
        case CURLE_RECV_ERROR:
        case CURLE_SEND_ERROR:
        case CURLE_PARTIAL_FILE:
        case CURLE_GOT_NOTHING:
        case CURLE_HTTP2:
        case CURLE_HTTP2_STREAM:
                *ret_retryable = true;
                return -ECONNRESET;
        default:
                return -EIO;
        }
}

/* The variables libcurl takes the proxy of an https URL from, in its order of lookup. */
static const char *const proxy_vars[] = {"https_proxy", "HTTPS_PROXY", "all_proxy", "ALL_PROXY"};

/* That proxy, with any user and password left out: it goes into error messages and logs. */
static char *proxy_from_env(void)
{
        for (size_t i = 0; i < ELEMENTSOF(proxy_vars); i++) {
                const char *v = getenv(proxy_vars[i]);
                if (!v || !*v)
                        continue;
                char *shown = NULL, *clean = NULL;
                CURLU *u = curl_url();
                if (u &&
                    curl_url_set(u, CURLUPART_URL, v,
                                 CURLU_GUESS_SCHEME | CURLU_NON_SUPPORT_SCHEME) == CURLUE_OK &&
                    curl_url_set(u, CURLUPART_USER, NULL, 0) == CURLUE_OK &&
                    curl_url_set(u, CURLUPART_PASSWORD, NULL, 0) == CURLUE_OK &&
                    curl_url_get(u, CURLUPART_URL, &clean, 0) == CURLUE_OK)
                        asprintf_safe(&shown, "%s=%s", proxy_vars[i], clean);
                else
                        asprintf_safe(&shown, "%s (unparsable, not shown)", proxy_vars[i]);
                curl_free(clean);
                curl_url_cleanup(u);
                return shown;
        }
        return NULL;
}

/* curl quotes a proxy setting it cannot parse, password and all: name the variable instead. */
static char *redact_proxy(const char *msg)
{
        char *out = NULL;
        for (size_t i = 0; i < ELEMENTSOF(proxy_vars); i++) {
                const char *v = getenv(proxy_vars[i]);
                const char *at = v && *v ? strstr(msg, v) : NULL;
                if (at) {
                        asprintf_safe(&out, "%.*s$%s%s", (int)(at - msg), msg, proxy_vars[i],
                                      at + strlen(v));
                        return out;
                }
        }
        asprintf_safe(&out, "%s", msg);
        return out;
}

static CURL *easy_new(struct easy_ctx *e, const struct http_options *o)
{
        struct http_transfer *t = e->t;
        CURL *c = curl_easy_init();
        if (!c)
                return NULL;
        curl_easy_setopt(c, CURLOPT_URL, t->url);
        /* Only https, also for every hop of a redirect: a downgrade to http would let anyone
         * on the path swap the bytes (the digest would catch it, but never ask for it). */
        curl_easy_setopt(c, CURLOPT_PROTOCOLS_STR, "https");
        curl_easy_setopt(c, CURLOPT_REDIR_PROTOCOLS_STR, "https");
        curl_easy_setopt(c, CURLOPT_FOLLOWLOCATION, 1L);
        curl_easy_setopt(c, CURLOPT_MAXREDIRS, 5L);
        curl_easy_setopt(c, CURLOPT_FAILONERROR, 1L);
        curl_easy_setopt(c, CURLOPT_SSL_VERIFYPEER, 1L);
        curl_easy_setopt(c, CURLOPT_SSL_VERIFYHOST, 2L);
        /* CAINFO adds the configured bundle; the default CAPATH (the system store) stays. */
        if (o && o->ca_file)
                curl_easy_setopt(c, CURLOPT_CAINFO, o->ca_file);
        curl_easy_setopt(c, CURLOPT_ERRORBUFFER, e->errbuf);
        curl_easy_setopt(c, CURLOPT_NOSIGNAL, 1L);
        curl_easy_setopt(c, CURLOPT_USERAGENT, "kubestrap/" PACKAGE_VERSION);
        curl_easy_setopt(c, CURLOPT_CONNECTTIMEOUT,
                         o && o->connect_timeout ? o->connect_timeout : 30L);
        curl_easy_setopt(c, CURLOPT_LOW_SPEED_LIMIT, 1024L);
        curl_easy_setopt(c, CURLOPT_LOW_SPEED_TIME, o && o->stall_timeout ? o->stall_timeout : 60L);
        if (o && o->max_size)
                curl_easy_setopt(c, CURLOPT_MAXFILESIZE_LARGE, (curl_off_t)o->max_size);
        /* Wait for an HTTP/2 connection to multiplex on rather than opening one per file. */
        curl_easy_setopt(c, CURLOPT_PIPEWAIT, 1L);
        curl_easy_setopt(c, CURLOPT_BUFFERSIZE, 256L * 1024L);
        if (t->timeout_ms > 0)
                curl_easy_setopt(c, CURLOPT_TIMEOUT_MS, t->timeout_ms);
        if (t->resume_from)
                curl_easy_setopt(c, CURLOPT_RESUME_FROM_LARGE, (curl_off_t)t->resume_from);
        curl_easy_setopt(c, CURLOPT_WRITEFUNCTION, write_cb);
        curl_easy_setopt(c, CURLOPT_WRITEDATA, e);
        if (e->progress.fn) {
                curl_easy_setopt(c, CURLOPT_NOPROGRESS, 0L);
                curl_easy_setopt(c, CURLOPT_XFERINFOFUNCTION, xferinfo_cb);
                curl_easy_setopt(c, CURLOPT_XFERINFODATA, &e->progress);
        }
        curl_easy_setopt(c, CURLOPT_PRIVATE, e);
        return c;
}

void http_transfer_reset(struct http_transfer *t)
{
        free(t->error);
        t->error = NULL;
        t->result = 0;
        t->status = 0;
        t->retryable = false;
        t->sink_error = 0;
        t->begun = false;
        t->received = 0;
        t->over_limit = false;
        t->handle = NULL;
}

static void finish(struct easy_ctx *e, CURLcode rc)
{
        struct http_transfer *t = e->t;
        CURL *c = t->handle;
        curl_easy_getinfo(c, CURLINFO_RESPONSE_CODE, &t->status);
        if (rc == CURLE_OK) {
                t->result = 0;
                /* An empty body never reaches the write callback: tell begin() anyway. */
                if (!t->begun && t->begin) {
                        t->begun = true;
                        t->result = t->begin(t->status, t->userdata);
                }
                return;
        }
        if ((rc == CURLE_WRITE_ERROR && t->over_limit) || rc == CURLE_FILESIZE_EXCEEDED) {
                t->result = -EFBIG; /* not retryable: the same URL would send as much again */
                asprintf_safe(&t->error,
                              "larger than the size limit of %" PRIu64
                              " bytes ([download] max-size); transfer stopped",
                              e->max_size);
                return;
        }
        if (rc == CURLE_WRITE_ERROR && t->sink_error < 0) {
                t->result = t->sink_error;
                asprintf_safe(&t->error, "%s", strerror(-t->result));
                return;
        }
        long tunnel = 0; /* the proxy's answer to CONNECT, 0 without a proxy */
        curl_easy_getinfo(c, CURLINFO_HTTP_CONNECTCODE, &tunnel);
        if (tunnel >= 300) {
                /* The proxy said no: a policy refusal (403) stays a refusal; a proxy that could
                 * not reach the server (502, 503, 504) may do better on the next try. */
                t->status = tunnel;
                t->result = map_curl_error(CURLE_HTTP_RETURNED_ERROR, tunnel, &t->retryable);
        } else
                t->result = map_curl_error(rc, t->status, &t->retryable);
        _cleanup_free_ char *msg = redact_proxy(e->errbuf[0] ? e->errbuf : curl_easy_strerror(rc));
        char *eff = NULL;
        /* After a refused hop the effective URL is the one that was refused. */
        curl_easy_getinfo(c, CURLINFO_EFFECTIVE_URL, &eff);
        _cleanup_free_ char *proxy = NULL;
        if (tunnel >= 300 || rc == CURLE_COULDNT_CONNECT || rc == CURLE_COULDNT_RESOLVE_PROXY ||
            rc == CURLE_OPERATION_TIMEDOUT)
                proxy = proxy_from_env();
        if (tunnel >= 300)
                asprintf_safe(&t->error,
                              "the proxy refused the tunnel (CONNECT answered with HTTP %ld)%s%s%s",
                              tunnel, proxy ? "; " : "", proxy ? proxy : "",
                              proxy ? " in the environment" : "");
        else if (rc == CURLE_HTTP_RETURNED_ERROR)
                asprintf_safe(&t->error, "HTTP %ld", t->status);
        else if (rc == CURLE_UNSUPPORTED_PROTOCOL && eff && !streq(eff, t->url))
                asprintf_safe(&t->error, "refused redirect to non-https URL %s", eff);
        else if (proxy)
                /* curl names the address it could not reach; say where that came from */
                asprintf_safe(&t->error, "%s (%s in the environment; no_proxy can exempt a host)",
                              msg ? msg : curl_easy_strerror(rc), proxy);
        else
                asprintf_safe(&t->error, "%s", msg ? msg : curl_easy_strerror(rc));
}

int http_run(struct http_transfer *t, size_t n, const struct http_options *o,
             http_progress_t progress, void *userdata)
{
        int r = http_init();
        if (r < 0) {
                /* each transfer says why, so the reason reaches the user with its URL; none is
                 * worth another attempt */
                for (size_t i = 0; i < n; i++) {
                        http_transfer_reset(&t[i]);
                        t[i].result = r;
                        asprintf_safe(&t[i].error, "%s", load_error);
                }
                return 0;
        }
        CURLM *m = curl_multi_init();
        struct easy_ctx *ctx = calloc(n ? n : 1, sizeof(*ctx));
        if (!m || !ctx) {
                curl_multi_cleanup(m);
                free(ctx);
                return -ENOMEM;
        }
        curl_multi_setopt(m, CURLMOPT_PIPELINING, (long)CURLPIPE_MULTIPLEX);

        for (size_t i = 0; i < n; i++) {
                http_transfer_reset(&t[i]);
                ctx[i] = (struct easy_ctx){.t = &t[i],
                                           .max_size = o ? o->max_size : 0,
                                           .progress = {progress, userdata, i}};
                t[i].handle = easy_new(&ctx[i], o);
                if (!t[i].handle) {
                        r = -ENOMEM;
                        break;
                }
                curl_multi_add_handle(m, t[i].handle);
        }

        int running = 0;
        while (r >= 0) {
                CURLMcode mc = curl_multi_perform(m, &running);
                if (mc != CURLM_OK) {
                        r = -EIO;
                        break;
                }
                int queued;
                CURLMsg *msg;
                while ((msg = curl_multi_info_read(m, &queued))) {
                        if (msg->msg != CURLMSG_DONE)
                                continue;
                        struct easy_ctx *e = NULL;
                        curl_easy_getinfo(msg->easy_handle, CURLINFO_PRIVATE, (char **)&e);
                        finish(e, msg->data.result);
                }
                if (!running)
                        break;
                if (interrupted_by) {
                        r = -EINTR; /* the transfers end with their handles below */
                        break;
                }
                mc = curl_multi_poll(m, NULL, 0, 1000, NULL);
                if (mc != CURLM_OK) {
                        r = -EIO;
                        break;
                }
        }

        for (size_t i = 0; i < n; i++)
                if (t[i].handle) {
                        curl_multi_remove_handle(m, t[i].handle);
                        curl_easy_cleanup(t[i].handle);
                        t[i].handle = NULL;
                }
        curl_multi_cleanup(m);
        free(ctx);
        return r;
}

struct mem_sink {
        struct buf b;
        size_t max;
};

static size_t call_write(char *ptr, size_t size, size_t nmemb, void *userdata)
{
        struct mem_sink *m = userdata;
        size_t n = size * nmemb;
        if (m->b.len + n > m->max || buf_append(&m->b, ptr, n) < 0)
                return 0;
        return n;
}

int http_call_run(struct http_call *c)
{
        char errbuf[CURL_ERROR_SIZE] = "";
        struct mem_sink m = {.max = 1 << 20};
        struct curl_slist *headers = NULL;
        int r = http_init();
        if (r < 0) {
                asprintf_safe(&c->error, "%s", load_error);
                return r;
        }
        CURL *e = curl_easy_init();
        if (!e)
                return -ENOMEM;
        curl_easy_setopt(e, CURLOPT_URL, c->url);
        /* Plain http only where asked for, and then only to a loopback probe. */
        curl_easy_setopt(e, CURLOPT_PROTOCOLS_STR, c->allow_http ? "http,https" : "https");
        curl_easy_setopt(e, CURLOPT_FOLLOWLOCATION, 0L);
        curl_easy_setopt(e, CURLOPT_NOSIGNAL, 1L);
        curl_easy_setopt(e, CURLOPT_ERRORBUFFER, errbuf);
        curl_easy_setopt(e, CURLOPT_USERAGENT, "kubestrap/" PACKAGE_VERSION);
        curl_easy_setopt(e, CURLOPT_TIMEOUT_MS, c->timeout_ms ? c->timeout_ms : 5000L);
        /* The control plane (probes, RBAC) is reached directly, never through a proxy. */
        curl_easy_setopt(e, CURLOPT_NOPROXY, "*");
        if (c->ca_file) {
                curl_easy_setopt(e, CURLOPT_CAINFO, c->ca_file);
                curl_easy_setopt(e, CURLOPT_CAPATH, NULL); /* the cluster CA alone */
        }
        if (c->ca_pem) {
                /* read by the caller through the target (--root), so curl opens no path */
                struct curl_blob blob = {
                    .data = (void *)c->ca_pem, .len = c->ca_pem_len, .flags = CURL_BLOB_COPY};
                curl_easy_setopt(e, CURLOPT_CAINFO_BLOB, &blob);
                curl_easy_setopt(e, CURLOPT_CAINFO, NULL);
                curl_easy_setopt(e, CURLOPT_CAPATH, NULL);
        }
        if (c->insecure_tls) {
                /* controller-manager and scheduler serve a self-signed certificate they made at
                 * start; their /healthz on 127.0.0.1 says nothing secret. */
                curl_easy_setopt(e, CURLOPT_SSL_VERIFYPEER, 0L);
                curl_easy_setopt(e, CURLOPT_SSL_VERIFYHOST, 0L);
        }
        if (c->cert_file)
                curl_easy_setopt(e, CURLOPT_SSLCERT, c->cert_file);
        if (c->key_file)
                curl_easy_setopt(e, CURLOPT_SSLKEY, c->key_file);
        if (c->method)
                curl_easy_setopt(e, CURLOPT_CUSTOMREQUEST, c->method);
        if (c->body) {
                curl_easy_setopt(e, CURLOPT_POSTFIELDS, c->body);
                curl_easy_setopt(e, CURLOPT_POSTFIELDSIZE, (long)strlen(c->body));
        }
        char hdr[512];
        if (c->host_header) {
                snprintf(hdr, sizeof(hdr), "Host: %s", c->host_header);
                headers = curl_slist_append(headers, hdr);
        }
        if (c->content_type) {
                snprintf(hdr, sizeof(hdr), "Content-Type: %s", c->content_type);
                headers = curl_slist_append(headers, hdr);
        }
        headers = curl_slist_append(headers, "Accept: application/json, */*");
        curl_easy_setopt(e, CURLOPT_HTTPHEADER, headers);
        curl_easy_setopt(e, CURLOPT_WRITEFUNCTION, call_write);
        curl_easy_setopt(e, CURLOPT_WRITEDATA, &m);

        CURLcode rc = curl_easy_perform(e);
        curl_easy_getinfo(e, CURLINFO_RESPONSE_CODE, &c->status);
        if (rc != CURLE_OK) {
                bool retryable;
                r = map_curl_error(rc, c->status, &retryable);
                asprintf_safe(&c->error, "%s", errbuf[0] ? errbuf : curl_easy_strerror(rc));
        } else {
                c->response = buf_steal(&m.b);
                r = c->response ? 0 : -ENOMEM;
        }
        buf_done(&m.b);
        curl_slist_free_all(headers);
        curl_easy_cleanup(e);
        return r;
}

void http_call_done(struct http_call *c)
{
        free(c->response);
        free(c->error);
        c->response = c->error = NULL;
}
