/* HTTPS transfers through libcurl: https only (also after redirects), TLS always verified,
 * many at once over the multi interface (HTTP/2 multiplexed when the server offers it). */
#pragma once

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

struct http_options {
        const char *ca_file;  /* extra trusted CA bundle, added to the system store */
        uint64_t max_size;    /* [download] max-size: refuse bodies larger (0: no limit) */
        long connect_timeout; /* seconds, 0: default */
        long stall_timeout;   /* abort when under 1 KiB/s for this many seconds, 0: default */
};

/* Called for every chunk as it arrives; a negative return aborts that transfer. */
typedef int (*http_sink_t)(const void *data, size_t len, void *userdata);
/* Called once per attempt before the first byte, with the HTTP status (206 when a range
 * request was honoured, 200 when the whole body comes again). Negative aborts. */
typedef int (*http_begin_t)(long status, void *userdata);
/* Bytes received so far in this attempt and the expected total (0: unknown). */
typedef void (*http_progress_t)(size_t index, uint64_t now, uint64_t total, void *userdata);

struct http_transfer {
        const char *url;
        http_sink_t sink;
        http_begin_t begin;
        void *userdata;
        uint64_t resume_from; /* ask for the body from this offset (Range) */
        long timeout_ms;      /* cut the attempt after this long (0: no limit) */

        /* results of the last http_run() */
        int result;     /* 0 or -errno; -ENOENT for 404, -EFBIG over max_size */
        long status;    /* HTTP status, 0 if none */
        bool retryable; /* timeouts, resets, 5xx: worth another attempt */
        char *error;    /* reason, owned */

        /* private */
        void *handle;
        int sink_error;
        bool begun;
        uint64_t received; /* body bytes of this attempt */
        bool over_limit;   /* stopped at max_size */
};

/* Runs all transfers to completion, in parallel. Returns 0 when the run itself worked (each
 * transfer's own outcome is in its result), or -errno. */
int http_run(struct http_transfer *t, size_t n, const struct http_options *o,
             http_progress_t progress, void *userdata);
void http_transfer_reset(struct http_transfer *t);

/* One request to a control-plane endpoint (health probes, /version, the RBAC objects). */
struct http_call {
        const char *method; /* NULL: GET */
        const char *url;
        const char *host_header;  /* e.g. the nginx proxy's server_name */
        const char *content_type; /* with body */
        const char *body;
        const char *ca_file; /* verify against this CA only (the cluster's) */
        const char *ca_pem;  /* or against this one, already read (PEM text) */
        size_t ca_pem_len;
        const char *cert_file, *key_file; /* client certificate */
        bool insecure_tls; /* self-signed serving certs of controller-manager and scheduler */
        bool allow_http;   /* plain http, for the loopback nginx probe */
        long timeout_ms;

        /* out */
        long status;
        char *response; /* owned */
        char *error;    /* owned, when the request itself failed */
};
int http_call_run(struct http_call *c);
void http_call_done(struct http_call *c);

const char *http_library_version(void);
