/* Small shared helpers: growable buffers, string lists, string and number parsing. */
#include "util.h"

#include <limits.h>
#include <stdint.h>
#include <stdio.h>
#include <time.h>

int buf_append(struct buf *b, const void *data, size_t len)
{
        if (b->len + len + 1 > b->cap) {
                size_t cap = b->cap ? b->cap : 256;
                while (cap < b->len + len + 1)
                        cap *= 2;
                char *n = realloc(b->data, cap);
                if (!n)
                        return -ENOMEM;
                b->data = n;
                b->cap = cap;
        }
        if (len)
                memcpy(b->data + b->len, data, len);
        b->len += len;
        b->data[b->len] = 0;
        return 0;
}

int array_reserve(void **arr, size_t *cap, size_t need, size_t size)
{
        if (need <= *cap)
                return 0;
        size_t n = *cap ? *cap : 4;
        while (n < need)
                n *= 2;
        if (n > SIZE_MAX / size)
                return -ENOMEM;
        char *a = realloc(*arr, n * size);
        if (!a)
                return -ENOMEM;
        memset(a + *cap * size, 0, (n - *cap) * size);
        *arr = a;
        *cap = n;
        return 0;
}

int buf_puts(struct buf *b, const char *s)
{
        return buf_append(b, s, strlen(s));
}

int buf_printf(struct buf *b, const char *fmt, ...)
{
        va_list ap;
        char *s = NULL;
        int n;

        va_start(ap, fmt);
        n = vasprintf(&s, fmt, ap);
        va_end(ap);
        if (n < 0)
                return -ENOMEM;
        int r = buf_append(b, s, (size_t)n);
        free(s);
        return r;
}

char *buf_steal(struct buf *b)
{
        if (!b->data && buf_append(b, "", 0) < 0)
                return NULL;
        char *d = b->data;
        *b = (struct buf){0};
        return d;
}

void buf_done(struct buf *b)
{
        free(b->data);
        *b = (struct buf){0};
}

char **strv_free(char **l)
{
        if (!l)
                return NULL;
        for (char **i = l; *i; i++)
                free(*i);
        free(l);
        return NULL;
}

size_t strv_length(char *const *l)
{
        size_t n = 0;
        while (l && l[n])
                n++;
        return n;
}

int strv_push(char ***l, char *s)
{
        size_t n = strv_length(*l);
        char **nl = realloc(*l, (n + 2) * sizeof(char *));
        if (!nl) {
                free(s);
                return -ENOMEM;
        }
        nl[n] = s;
        nl[n + 1] = NULL;
        *l = nl;
        return 0;
}

int strv_extend(char ***l, const char *s)
{
        char *c = strdup(s);
        if (!c)
                return -ENOMEM;
        return strv_push(l, c);
}

bool strv_contains(char *const *l, const char *s)
{
        for (size_t i = 0; l && l[i]; i++)
                if (streq(l[i], s))
                        return true;
        return false;
}

char *strjoin3(const char *a, const char *b, const char *c)
{
        char *r = NULL;
        if (asprintf(&r, "%s%s%s", a, b ? b : "", c ? c : "") < 0)
                return NULL;
        return r;
}

char *path_join(const char *a, const char *b)
{
        size_t la = strlen(a);
        while (la > 0 && a[la - 1] == '/')
                la--;
        while (*b == '/')
                b++;
        char *r = NULL;
        if (asprintf(&r, "%.*s/%s", (int)la, a, b) < 0)
                return NULL;
        return r;
}

int asprintf_safe(char **ret, const char *fmt, ...)
{
        va_list ap;
        char *s = NULL;
        va_start(ap, fmt);
        int n = vasprintf(&s, fmt, ap);
        va_end(ap);
        if (n < 0)
                return -ENOMEM;
        *ret = s;
        return 0;
}

bool startswith(const char *s, const char *prefix)
{
        return strncmp(s, prefix, strlen(prefix)) == 0;
}

bool endswith(const char *s, const char *suffix)
{
        size_t ls = strlen(s), lf = strlen(suffix);
        return ls >= lf && streq(s + ls - lf, suffix);
}

/* Levenshtein distance, used for "did you mean" suggestions on short names. */
unsigned edit_distance(const char *a, const char *b)
{
        size_t la = strlen(a), lb = strlen(b);
        if (la > 64 || lb > 64)
                return UINT_MAX;
        unsigned row[65];
        for (size_t j = 0; j <= lb; j++)
                row[j] = (unsigned)j;
        for (size_t i = 1; i <= la; i++) {
                unsigned diag = row[0];
                row[0] = (unsigned)i;
                for (size_t j = 1; j <= lb; j++) {
                        unsigned up = row[j];
                        unsigned cost = a[i - 1] == b[j - 1] ? 0 : 1;
                        unsigned v = diag + cost;
                        if (row[j] + 1 < v)
                                v = row[j] + 1;
                        if (row[j - 1] + 1 < v)
                                v = row[j - 1] + 1;
                        row[j] = v;
                        diag = up;
                }
        }
        return row[lb];
}

bool string_has_cc(const char *s)
{
        for (; *s; s++)
                if ((unsigned char)*s < 0x20 || *s == 0x7f)
                        return true;
        return false;
}

int utf8_decode(const char *s, uint32_t *ret_cp)
{
        const unsigned char *p = (const unsigned char *)s;
        uint32_t cp, min;
        int n;
        if (p[0] < 0x80) {
                *ret_cp = p[0];
                return 1;
        }
        if (p[0] >= 0xc2 && p[0] <= 0xdf)
                n = 2, cp = p[0] & 0x1f, min = 0x80;
        else if (p[0] >= 0xe0 && p[0] <= 0xef)
                n = 3, cp = p[0] & 0x0f, min = 0x800;
        else if (p[0] >= 0xf0 && p[0] <= 0xf4)
                n = 4, cp = p[0] & 0x07, min = 0x10000;
        else
                return -EILSEQ; /* a continuation byte, or a lead byte no valid text has */
        for (int i = 1; i < n; i++) {
                if ((p[i] & 0xc0) != 0x80) /* also stops at the NUL */
                        return -EILSEQ;
                cp = cp << 6 | (p[i] & 0x3f);
        }
        /* overlong forms, UTF-16 surrogates and what lies beyond Unicode are not text */
        if (cp < min || (cp >= 0xd800 && cp <= 0xdfff) || cp > 0x10ffff)
                return -EILSEQ;
        *ret_cp = cp;
        return n;
}

int safe_atou(const char *s, unsigned *ret)
{
        if (!*s || *s == '-' || *s == '+')
                return -EINVAL;
        unsigned long long v = 0; /* wider than unsigned even where long is 32 bits */
        for (const char *p = s; *p; p++) {
                if (*p < '0' || *p > '9')
                        return -EINVAL;
                v = v * 10 + (unsigned long long)(*p - '0');

                if (v > UINT_MAX)
                        return -ERANGE;
        }
        *ret = (unsigned)v;
        return 0;
}

long long now_usec(void)
{
        struct timespec ts;
        clock_gettime(CLOCK_MONOTONIC, &ts);
        return (long long)ts.tv_sec * 1000000LL + ts.tv_nsec / 1000;
}

void human_size(double bytes, char *buf, size_t size)
{
        const char *unit[] = {"B", "KiB", "MiB", "GiB"};
        int u = 0;
        while (bytes >= 1024 && u < 3) {
                bytes /= 1024;
                u++;
        }
        snprintf(buf, size, u ? "%.1f %s" : "%.0f %s", bytes, unit[u]);
}

volatile sig_atomic_t interrupted_by;

static void on_interrupt(int sig)
{
        interrupted_by = sig;
}

int interrupt_catch(void)
{
        /* SA_RESETHAND: the second Ctrl-C is the default one. No SA_RESTART: a blocking call
         * returns EINTR, and its caller sees the flag. */
        struct sigaction sa = {.sa_handler = on_interrupt, .sa_flags = (int)SA_RESETHAND};
        sigemptyset(&sa.sa_mask);
        int sigs[] = {SIGINT, SIGTERM};
        for (size_t i = 0; i < sizeof(sigs) / sizeof(sigs[0]); i++) {
                struct sigaction old;
                if (sigaction(sigs[i], NULL, &old) < 0)
                        return -errno;
                /* a background job's SIGINT is ignored by its shell: keep it so */
                if (old.sa_handler == SIG_IGN)
                        continue;
                if (sigaction(sigs[i], &sa, NULL) < 0)
                        return -errno;
        }
        return 0;
}

const char *signal_name(int sig)
{
        return sig == SIGINT ? "SIGINT" : sig == SIGTERM ? "SIGTERM" : "a signal";
}
