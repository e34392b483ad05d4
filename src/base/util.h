/* Small shared helpers: cleanup attributes, growable buffers and string lists. */
#pragma once

#include <errno.h>
#include <signal.h>
#include <stdarg.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#define _cleanup_(f)     __attribute__((cleanup(f)))
#define _cleanup_free_   _cleanup_(freep)
#define _cleanup_close_  _cleanup_(closep)
#define _cleanup_fclose_ _cleanup_(fclosep)
#define _unused_         __attribute__((unused))
#define _printf_(a, b)   __attribute__((format(printf, a, b)))

#define ELEMENTSOF(x) (sizeof(x) / sizeof((x)[0]))
#define streq(a, b)   (strcmp((a), (b)) == 0)

/* Hand ownership on: the cleanup handler of the old variable then sees NULL / -1. */
#define TAKE_PTR(p)                                                                                \
        ({                                                                                         \
                __typeof__(p) _p = (p);                                                            \
                (p) = NULL;                                                                        \
                _p;                                                                                \
        })
#define TAKE_FD(fd)                                                                                \
        ({                                                                                         \
                int _fd = (fd);                                                                    \
                (fd) = -1;                                                                         \
                _fd;                                                                               \
        })

static inline void freep(void *p)
{
        free(*(void **)p);
}

static inline void closep(int *fd)
{
        if (*fd >= 0) {
                int saved = errno;
                close(*fd);
                errno = saved;
        }
}

#include <stdio.h>
static inline void fclosep(FILE **f)
{
        if (*f)
                fclose(*f);
}

/* A growable byte buffer that is always NUL-terminated. */
struct buf {
        char *data;
        size_t len;
        size_t cap;
};

int buf_append(struct buf *b, const void *data, size_t len);
int buf_puts(struct buf *b, const char *s);
int buf_printf(struct buf *b, const char *fmt, ...) _printf_(2, 3);
char *buf_steal(struct buf *b);
void buf_done(struct buf *b);
static inline void buf_donep(struct buf *b)
{
        buf_done(b);
}
#define _cleanup_buf_ _cleanup_(buf_donep)

/* Makes room for need elements in a growable array *arr of *cap elements of size bytes each;
 * new room is zeroed. -ENOMEM leaves the array as it was. */
int array_reserve(void **arr, size_t *cap, size_t need, size_t size);
#define ARRAY_RESERVE(arr, cap, need) array_reserve((void **)&(arr), &(cap), (need), sizeof(*(arr)))

/* A NULL-terminated list of owned strings. */
char **strv_free(char **l);
size_t strv_length(char *const *l);
int strv_push(char ***l, char *s); /* takes ownership of s, also on failure */
int strv_extend(char ***l, const char *s);
bool strv_contains(char *const *l, const char *s);
static inline void strv_freep(char ***l)
{
        strv_free(*l);
}
#define _cleanup_strv_free_ _cleanup_(strv_freep)

char *strjoin3(const char *a, const char *b, const char *c);
char *path_join(const char *a, const char *b);
int asprintf_safe(char **ret, const char *fmt, ...) _printf_(2, 3);
bool startswith(const char *s, const char *prefix);
bool endswith(const char *s, const char *suffix);
unsigned edit_distance(const char *a, const char *b);
bool string_has_cc(const char *s);
/* The UTF-8 character at S: its length in bytes (1-4) and code point, or -EILSEQ for a byte
 * that does not start a valid one (overlong, surrogate, truncated, beyond U+10FFFF). */
int utf8_decode(const char *s, uint32_t *ret_cp);
int safe_atou(const char *s, unsigned *ret);
long long now_usec(void);
/* SIGINT or SIGTERM once caught by interrupt_catch(), else 0. Long waits (transfers, backoff,
 * health) end early with -EINTR when it is set, so the run fails the ordinary way: staged
 * files removed, nothing published. A second signal kills at once. */
extern volatile sig_atomic_t interrupted_by;
int interrupt_catch(void);
const char *signal_name(int sig); /* "SIGINT", "SIGTERM" */
/* "12.3 MiB": for people, not for parsing */
void human_size(double bytes, char *buf, size_t size);
