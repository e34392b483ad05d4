/* The client credentials of a kubeconfig's current context: current-context names a context,
 * the context names a user, the user holds client-certificate(-data) and client-key(-data). */
#include "kubeconfig.h"

#include <errno.h>
#include <stdarg.h>
#include <stdlib.h>
#include <string.h>

#include "digest.h"
#include "fileio.h"
#include "log.h"
#include "util.h"
#include "yamlread.h"

/* The largest kubeconfig read: a few certificates, even with many users. */
#define KUBECONFIG_MAX (1024 * 1024)

static int fail(char **ret_error, int r, const char *path, const struct ydoc *d, ynode at,
                const char *key, const char *fmt, ...) _printf_(7, 8);
static int fail(char **ret_error, int r, const char *path, const struct ydoc *d, ynode at,
                const char *key, const char *fmt, ...)
{
        va_list ap;
        _cleanup_free_ char *msg = NULL;
        va_start(ap, fmt);
        int n = vasprintf(&msg, fmt, ap);
        va_end(ap);
        if (n < 0)
                return -ENOMEM;
        unsigned line = d ? ydoc_line(d, at) : 0;
        char where[32] = "";
        if (line)
                snprintf(where, sizeof(where), ":%u", line);
        return log_note_error(ret_error, r,
                              &(struct err_where){.file = path, .line = line, .key = key},
                              "%s%s: %s", path, where, msg);
}

/* The item of a named list (contexts, users) whose "name" is name, or 0. */
static ynode find_named(const struct ydoc *d, const char *list, const char *name)
{
        ynode seq = ydoc_get(d, ydoc_root(d), list);
        for (size_t i = 0; i < ydoc_len(d, seq); i++) {
                ynode it = ydoc_item(d, seq, i);
                const char *n = ydoc_str(d, ydoc_get(d, it, "name"));
                if (n && streq(n, name))
                        return it;
        }
        return 0;
}

/* One of the pair: "<what>-data" (base64) or "<what>" (a file), never both (kubectl refuses
 * a user with both as well). */
static int read_blob(const char *path, const struct ydoc *d, ynode user, const char *what,
                     const struct kubeconfig_creds *c, struct kubeconfig_blob *ret,
                     char **ret_error)
{
        _cleanup_free_ char *data_key = strjoin3(what, "-data", NULL);
        if (!data_key)
                return -ENOMEM;
        ynode dn = ydoc_get(d, user, data_key), fn = ydoc_get(d, user, what);
        const char *data = ydoc_str(d, dn), *file = ydoc_str(d, fn);
        if (dn && fn)
                return fail(ret_error, -EINVAL, path, d, dn, data_key,
                            "user '%s' (context '%s') has both %s and %s; keep one", c->user,
                            c->context, data_key, what);
        if ((dn && (!data || !*data)) || (fn && (!file || !*file)))
                return fail(ret_error, -EINVAL, path, d, dn ? dn : fn, dn ? data_key : what,
                            "user '%s' (context '%s'): %s is not a string", c->user, c->context,
                            dn ? data_key : what);
        if (!dn && !fn)
                return fail(ret_error, -EINVAL, path, d, user, data_key,
                            "user '%s' (context '%s') has no %s or %s", c->user, c->context,
                            data_key, what);
        if (data) {
                int r = base64_decode(data, &ret->data, &ret->len);
                if (r == -ENOMEM)
                        return r;
                if (r < 0)
                        return fail(ret_error, -EINVAL, path, d, dn, data_key,
                                    "user '%s' (context '%s'): %s is not base64", c->user,
                                    c->context, data_key);
                return 0;
        }
        if (file[0] == '/') {
                ret->file = strdup(file);
                return ret->file ? 0 : -ENOMEM;
        }
        /* relative to the kubeconfig's own directory, as kubectl resolves it */
        const char *slash = strrchr(path, '/');
        _cleanup_free_ char *dir = slash ? strndup(path, (size_t)(slash - path)) : strdup(".");
        if (!dir)
                return -ENOMEM;
        ret->file = path_join(*dir ? dir : "/", file);
        return ret->file ? 0 : -ENOMEM;
}

int kubeconfig_parse_creds(const char *path, const char *text, size_t len,
                           struct kubeconfig_creds *ret, char **ret_error)
{
        _cleanup_ydoc_ struct ydoc *d = NULL;
        _cleanup_free_ char *why = NULL;
        int r = ydoc_parse(text, len, &d, &why);
        if (r == -EBADMSG)
                return fail(ret_error, r, path, NULL, 0, NULL, "not YAML: %s", why);
        if (r < 0)
                return r;
        struct kubeconfig_creds c = {0};
        ynode cur = ydoc_get(d, ydoc_root(d), "current-context");
        const char *name = ydoc_str(d, cur);
        if (!name || !*name)
                return fail(ret_error, -EINVAL, path, d, cur, "current-context",
                            "current-context is not set (kubectl config use-context NAME)");
        ynode ctx = find_named(d, "contexts", name);
        if (!ctx)
                return fail(ret_error, -EINVAL, path, d, cur, "current-context",
                            "current-context '%s' is not in contexts", name);
        ynode un = ydoc_get(d, ydoc_get(d, ctx, "context"), "user");
        const char *user = ydoc_str(d, un);
        if (!user || !*user)
                return fail(ret_error, -EINVAL, path, d, ctx, "user", "context '%s' has no user",
                            name);
        ynode u = find_named(d, "users", user);
        if (!u)
                return fail(ret_error, -EINVAL, path, d, un, "user",
                            "context '%s' names user '%s', which is not in users", name, user);
        c.context = strdup(name);
        c.user = strdup(user);
        r = c.context && c.user ? 0 : -ENOMEM;
        ynode creds = ydoc_get(d, u, "user");
        if (r >= 0 && !creds)
                r = fail(ret_error, -EINVAL, path, d, u, "user",
                         "user '%s' (context '%s') has no credentials ('user:' is missing)", user,
                         name);
        if (r >= 0)
                r = read_blob(path, d, creds, "client-certificate", &c, &c.cert, ret_error);
        if (r >= 0)
                r = read_blob(path, d, creds, "client-key", &c, &c.key, ret_error);
        if (r < 0) {
                kubeconfig_creds_done(&c);
                return r;
        }
        *ret = c;
        return 0;
}

int kubeconfig_read_creds(const char *path, struct kubeconfig_creds *ret, char **ret_error)
{
        _cleanup_free_ char *text = NULL;
        size_t len = 0;
        int r = read_file_trusted(path, KUBECONFIG_MAX, &text, &len);
        if (r < 0)
                return r; /* the caller knows what a missing kubeconfig means */
        return kubeconfig_parse_creds(path, text, len, ret, ret_error);
}

static void blob_done(struct kubeconfig_blob *b)
{
        if (b->data)
                explicit_bzero(b->data, b->len); /* a private key */
        free(b->data);
        free(b->file);
        *b = (struct kubeconfig_blob){0};
}

void kubeconfig_creds_done(struct kubeconfig_creds *c)
{
        free(c->context);
        free(c->user);
        blob_done(&c->cert);
        blob_done(&c->key);
        c->context = c->user = NULL;
}
