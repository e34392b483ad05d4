/* HTTPS downloads through libcurl: https only (also after redirects), TLS always verified. */
#include "http.h"

#include <curl/curl.h>
#include <errno.h>
#include <string.h>

#include "util.h"

struct transfer {
        http_sink_t sink;
        void *userdata;
        int sink_error;
};

static int http_init(void)
{
        static int initialized = 0;
        if (!initialized) {
                if (curl_global_init(CURL_GLOBAL_DEFAULT) != CURLE_OK)
                        return -EIO;
                initialized = 1;
        }
        return 0;
}

const char *http_library_version(void)
{
        return curl_version();
}

static size_t write_cb(char *ptr, size_t size, size_t nmemb, void *userdata)
{
        struct transfer *t = userdata;
        size_t n = size * nmemb;
        int r = t->sink(ptr, n, t->userdata);
        if (r < 0) {
                t->sink_error = r;
                return 0; /* makes curl stop with CURLE_WRITE_ERROR */
        }
        return n;
}

static int map_curl_error(CURLcode c, long status)
{
        switch (c) {
        case CURLE_HTTP_RETURNED_ERROR:
                return status == 404 ? -ENOENT : status == 403 ? -EACCES : -EPROTO;
        case CURLE_UNSUPPORTED_PROTOCOL:
                return -EPROTONOSUPPORT;
        case CURLE_COULDNT_RESOLVE_HOST:
        case CURLE_COULDNT_RESOLVE_PROXY:
                return -EHOSTUNREACH;
        case CURLE_COULDNT_CONNECT:
                return -ECONNREFUSED;
        case CURLE_OPERATION_TIMEDOUT:
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
        case CURLE_RECV_ERROR:
        case CURLE_SEND_ERROR:
        case CURLE_PARTIAL_FILE:
        case CURLE_GOT_NOTHING:
                return -ECONNRESET;
        default:
                return -EIO;
        }
}

int http_get(const char *url, const struct http_options *o, http_sink_t sink, void *userdata,
             char **ret_error)
{
        char errbuf[CURL_ERROR_SIZE] = "";
        struct transfer t = {.sink = sink, .userdata = userdata};
        int r = http_init();
        if (r < 0)
                return r;

        CURL *c = curl_easy_init();
        if (!c)
                return -ENOMEM;
        curl_easy_setopt(c, CURLOPT_URL, url);
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
        curl_easy_setopt(c, CURLOPT_ERRORBUFFER, errbuf);
        curl_easy_setopt(c, CURLOPT_NOSIGNAL, 1L);
        curl_easy_setopt(c, CURLOPT_USERAGENT, "kubestrap/" PACKAGE_VERSION);
        curl_easy_setopt(c, CURLOPT_CONNECTTIMEOUT,
                         o && o->connect_timeout ? o->connect_timeout : 30L);
        curl_easy_setopt(c, CURLOPT_LOW_SPEED_LIMIT, 1024L);
        curl_easy_setopt(c, CURLOPT_LOW_SPEED_TIME, o && o->stall_timeout ? o->stall_timeout : 60L);
        if (o && o->max_size)
                curl_easy_setopt(c, CURLOPT_MAXFILESIZE_LARGE, (curl_off_t)o->max_size);
        curl_easy_setopt(c, CURLOPT_WRITEFUNCTION, write_cb);
        curl_easy_setopt(c, CURLOPT_WRITEDATA, &t);

        CURLcode rc = curl_easy_perform(c);
        long status = 0;
        curl_easy_getinfo(c, CURLINFO_RESPONSE_CODE, &status);
        if (rc == CURLE_OK) {
                curl_easy_cleanup(c);
                return 0;
        }

        if (rc == CURLE_WRITE_ERROR && t.sink_error < 0) {
                r = t.sink_error;
                if (ret_error)
                        asprintf_safe(ret_error, "%s", strerror(-r));
        } else {
                r = map_curl_error(rc, status);
                if (ret_error) {
                        const char *msg = errbuf[0] ? errbuf : curl_easy_strerror(rc);
                        char *redirect = NULL;
                        /* After a refused hop the effective URL is the one that was refused. */
                        curl_easy_getinfo(c, CURLINFO_EFFECTIVE_URL, &redirect);
                        if (redirect && streq(redirect, url))
                                redirect = NULL;
                        if (rc == CURLE_HTTP_RETURNED_ERROR)
                                asprintf_safe(ret_error, "HTTP %ld", status);
                        else if (rc == CURLE_UNSUPPORTED_PROTOCOL && redirect)
                                asprintf_safe(ret_error, "refused redirect to non-https URL %s",
                                              redirect);
                        else
                                asprintf_safe(ret_error, "%s", msg);
                }
        }
        curl_easy_cleanup(c);
        return r;
}

struct mem_sink {
        struct buf b;
        size_t max;
};

static int mem_write(const void *data, size_t len, void *userdata)
{
        struct mem_sink *m = userdata;
        if (m->b.len + len > m->max)
                return -EFBIG;
        return buf_append(&m->b, data, len);
}

int http_get_small(const char *url, const struct http_options *o, size_t max, char **ret_body,
                   size_t *ret_len, char **ret_error)
{
        struct mem_sink m = {.max = max};
        int r = http_get(url, o, mem_write, &m, ret_error);
        if (r == -EFBIG && ret_error) {
                free(*ret_error);
                asprintf_safe(ret_error, "response larger than %zu bytes", max);
        }
        if (r < 0) {
                buf_done(&m.b);
                return r;
        }
        *ret_len = m.b.len;
        *ret_body = buf_steal(&m.b);
        return *ret_body ? 0 : -ENOMEM;
}
