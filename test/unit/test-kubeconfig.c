/* Unit tests for kubeconfig.h (and yamlread.h under it): kubeconfigs as kubectl writes them,
 * with several users and contexts, embedded data and file paths, and the errors that name the
 * kubeconfig, the context and the user. */
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "kubeconfig.h"
#include "log.h"
#include "tap.h"
#include "util.h"
#include "yamlread.h"

/* base64 of "CERT-A\n", "KEY-A\n", "CERT-B\n", "KEY-B\n" */
#define CERT_A "Q0VSVC1BCg=="
#define KEY_A  "S0VZLUEK"
#define CERT_B "Q0VSVC1CCg=="
#define KEY_B  "S0VZLUIK"

/* What "kubectl config view --raw" prints: keys sorted, lists not indented under their key,
 * current-context at the second context, whose user is the second of three. */
static const char kubectl_two_users[] = "apiVersion: v1\n"
                                        "clusters:\n"
                                        "- cluster:\n"
                                        "    certificate-authority-data: Q0EK\n"
                                        "    server: https://127.0.0.1:6443\n"
                                        "  name: kubernetes-the-hard-way\n"
                                        "contexts:\n"
                                        "- context:\n"
                                        "    cluster: kubernetes-the-hard-way\n"
                                        "    user: admin\n"
                                        "  name: default\n"
                                        "- context:\n"
                                        "    cluster: kubernetes-the-hard-way\n"
                                        "    namespace: kube-system\n"
                                        "    user: operator\n"
                                        "  name: ops\n"
                                        "current-context: ops\n"
                                        "kind: Config\n"
                                        "preferences: {}\n"
                                        "users:\n"
                                        "- name: admin\n"
                                        "  user:\n"
                                        "    client-certificate-data: " CERT_A "\n"
                                        "    client-key-data: " KEY_A "\n"
                                        "- name: operator\n"
                                        "  user:\n"
                                        "    client-certificate-data: " CERT_B "\n"
                                        "    client-key-data: " KEY_B "\n"
                                        "- name: nobody\n"
                                        "  user:\n"
                                        "    token: abc\n";

static int parse(const char *text, struct kubeconfig_creds *c, char **err)
{
        *c = (struct kubeconfig_creds){0};
        free(*err);
        *err = NULL;
        return kubeconfig_parse_creds("/etc/pki/admin.kubeconfig", text, strlen(text), c, err);
}

static bool blob_is(const struct kubeconfig_blob *b, const char *want)
{
        return b->data && !b->file && b->len == strlen(want) && memcmp(b->data, want, b->len) == 0;
}

/* kubectl_two_users with one edit: from replaced by to. */
static char *edit(const char *from, const char *to)
{
        const char *at = strstr(kubectl_two_users, from);
        char *out = NULL;
        if (at)
                asprintf_safe(&out, "%.*s%s%s", (int)(at - kubectl_two_users), kubectl_two_users,
                              to, at + strlen(from));
        return out;
}

static void test_embedded(void)
{
        struct kubeconfig_creds c;
        char *err = NULL;
        is_int(parse(kubectl_two_users, &c, &err), 0, "kubectl's layout parses");
        is_str(c.context, "ops", "the current context");
        is_str(c.user, "operator", "its user, the second of three");
        ok(blob_is(&c.cert, "CERT-B\n"), "the second user's certificate, decoded");
        ok(blob_is(&c.key, "KEY-B\n"), "the second user's key, decoded");
        kubeconfig_creds_done(&c);

        /* the same in block style with a document marker and flow mappings */
        const char *flow = "---\n"
                           "current-context: a\n"
                           "contexts: [{name: a, context: {user: u1, cluster: c}}]\n"
                           "users: [{name: u1, user: {client-certificate-data: " CERT_A
                           ", client-key-data: \"" KEY_A "\"}}]\n";
        is_int(parse(flow, &c, &err), 0, "flow style parses");
        ok(blob_is(&c.cert, "CERT-A\n") && blob_is(&c.key, "KEY-A\n"), "flow style: the data");
        kubeconfig_creds_done(&c);
        free(err);
}

static void test_files(void)
{
        struct kubeconfig_creds c;
        char *err = NULL;
        const char *files = "apiVersion: v1\n"
                            "contexts:\n"
                            "- context:\n"
                            "    cluster: k\n"
                            "    user: admin\n"
                            "  name: default\n"
                            "current-context: default\n"
                            "kind: Config\n"
                            "users:\n"
                            "- name: admin\n"
                            "  user:\n"
                            "    client-certificate: certs/admin.pem\n"
                            "    client-key: /secure/admin-key.pem\n";
        is_int(parse(files, &c, &err), 0, "file paths parse");
        is_str(c.cert.file, "/etc/pki/certs/admin.pem",
               "a relative path starts at the kubeconfig's directory");
        is_str(c.key.file, "/secure/admin-key.pem", "an absolute path is kept");
        ok(!c.cert.data && !c.key.data, "no data");
        kubeconfig_creds_done(&c);

        /* from a real file: kubeconfig_read_creds */
        char dir[] = "/tmp/test-kubeconfig.XXXXXX";
        ok(mkdtemp(dir) != NULL, "a directory for the file");
        _cleanup_free_ char *path = path_join(dir, "admin.kubeconfig");
        int fd = open(path, O_WRONLY | O_CREAT | O_EXCL | O_CLOEXEC, 0600);
        ok(fd >= 0 && write(fd, files, strlen(files)) == (ssize_t)strlen(files),
           "kubeconfig written");
        close(fd);
        is_int(kubeconfig_read_creds(path, &c, &err), 0, "read from the file");
        _cleanup_free_ char *want = path_join(dir, "certs/admin.pem");
        is_str(c.cert.file, want, "relative to the file's own directory");
        kubeconfig_creds_done(&c);
        _cleanup_free_ char *missing = path_join(dir, "none.kubeconfig");
        is_int(kubeconfig_read_creds(missing, &c, &err), -ENOENT, "a missing file: -ENOENT");
        unlink(path);
        rmdir(dir);
        free(err);
}

static void test_errors(void)
{
        struct kubeconfig_creds c;
        char *err = NULL;
        _cleanup_free_ char *no_user = edit("- name: operator\n", "- name: operater\n");
        is_int(parse(no_user, &c, &err), -EINVAL, "a context's user missing from users fails");
        is_str(err,
               "/etc/pki/admin.kubeconfig:15: context 'ops' names user 'operator', which is not "
               "in users",
               "naming the kubeconfig, its line, the context and the user");

        _cleanup_free_ char *no_ctx = edit("current-context: ops\n", "current-context: opz\n");
        is_int(parse(no_ctx, &c, &err), -EINVAL, "a current-context not in contexts fails");
        is_str(err, "/etc/pki/admin.kubeconfig:17: current-context 'opz' is not in contexts",
               "naming it");

        _cleanup_free_ char *unset = edit("current-context: ops\n", "");
        is_int(parse(unset, &c, &err), -EINVAL, "no current-context fails");
        like_str(err, "/etc/pki/admin.kubeconfig: current-context is not set", "saying so");

        _cleanup_free_ char *tok_ctx =
            edit("    user: operator\n  name: ops\n", "    user: nobody\n  name: ops\n");
        is_int(parse(tok_ctx, &c, &err), -EINVAL, "a user without a client certificate fails");
        like_str(err,
                 "user 'nobody' (context 'ops') has no client-certificate-data or "
                 "client-certificate",
                 "naming the user and context");

        _cleanup_free_ char *both =
            edit("    client-key-data: " KEY_B "\n",
                 "    client-key-data: " KEY_B "\n    client-key: operator-key.pem\n");
        is_int(parse(both, &c, &err), -EINVAL, "data and a file for the same key fail");
        like_str(err, "has both client-key-data and client-key", "saying which");

        _cleanup_free_ char *bad64 = edit(KEY_B, "not*base64");
        is_int(parse(bad64, &c, &err), -EINVAL, "data that is not base64 fails");
        like_str(err, "client-key-data is not base64", "saying which");

        is_int(parse("users: [\n", &c, &err), -EBADMSG, "text that is not YAML fails");
        like_str(err, "/etc/pki/admin.kubeconfig: not YAML: line ", "with the line");
        is_int(parse("", &c, &err), -EINVAL, "an empty kubeconfig has no current-context");
        free(err);
}

static void test_yaml(void)
{
        struct ydoc *d = NULL;
        char *err = NULL;
        /* an alias shares its node, whatever the anchor holds */
        const char *text = "a: &x [1, 2, 3]\nb: *x\nc: {d: \"e\"}\n";
        is_int(ydoc_parse(text, strlen(text), &d, &err), 0, "anchors and aliases parse");
        ynode b = ydoc_get(d, ydoc_root(d), "b");
        is_int(ydoc_len(d, b), 3, "an alias is the anchored sequence");
        is_str(ydoc_str(d, ydoc_item(d, b, 2)), "3", "its items");
        is_int(ydoc_item(d, b, 3), 0, "an index past the end is no node");
        is_str(ydoc_str(d, ydoc_get(d, ydoc_get(d, ydoc_root(d), "c"), "d")), "e", "a nested key");
        ok(!ydoc_str(d, b) && !ydoc_get(d, b, "x"), "a sequence is neither scalar nor mapping");
        is_int(ydoc_line(d, ydoc_get(d, ydoc_root(d), "c")), 3, "a node's line");
        d = ydoc_free(d);
        /* a NUL inside a scalar is not taken as a shorter string */
        const char nul[] = "k: \"a\\0b\"\n";
        is_int(ydoc_parse(nul, sizeof(nul) - 1, &d, &err), 0, "an escaped NUL parses");
        ok(ydoc_str(d, ydoc_get(d, ydoc_root(d), "k")) == NULL, "but is no string");
        ydoc_free(d);
        free(err);
}

int main(void)
{
        test_embedded();
        test_files();
        test_errors();
        test_yaml();
        return done_testing();
}
