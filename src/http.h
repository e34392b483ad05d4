/* HTTPS downloads through libcurl: https only (also after redirects), TLS always verified. */
#pragma once

#include <stddef.h>
#include <stdint.h>

struct http_options {
        const char *ca_file;  /* extra trusted CA bundle, added to the system store */
        uint64_t max_size;    /* refuse bodies larger than this (0: no limit) */
        long connect_timeout; /* seconds, 0: default */
        long stall_timeout;   /* abort when under 1 KiB/s for this many seconds, 0: default */
};

/* Called for every chunk as it arrives; a negative return aborts the transfer and is
 * returned by http_get(). */
typedef int (*http_sink_t)(const void *data, size_t len, void *userdata);

/* GETs url. On failure returns -errno and sets *ret_error to a message naming the reason
 * (HTTP status, TLS problem, refused redirect...). -ENOENT means HTTP 404. */
int http_get(const char *url, const struct http_options *o, http_sink_t sink, void *userdata,
             char **ret_error);
/* GETs a small body (at most max bytes) into memory. */
int http_get_small(const char *url, const struct http_options *o, size_t max, char **ret_body,
                   size_t *ret_len, char **ret_error);
const char *http_library_version(void);
