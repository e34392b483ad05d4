/* Unit tests for util.h (buffers, string lists, string and number helpers), validate.h and the
 * escaping of log.h. */
#include <errno.h>
#include <limits.h>
#include <stdlib.h>

#include "log.h"
#include "tap.h"
#include "util.h"
#include "validate.h"

static void test_buf(void)
{
        struct buf b = {0};
        is_int(buf_puts(&b, "abc"), 0, "buf_puts succeeds");
        is_int(buf_append(&b, "defXYZ", 3), 0, "buf_append succeeds");
        is_int(buf_printf(&b, "-%d-%s", 42, "x"), 0, "buf_printf succeeds");
        is_str(b.data, "abcdef-42-x", "buf content is the concatenation");
        is_int(b.len, 11, "buf len counts the bytes");
        is_int(b.data[b.len], 0, "buf stays NUL-terminated");

        /* Growth past the initial capacity keeps earlier content. */
        for (int i = 0; i < 1000; i++)
                buf_puts(&b, "0123456789");
        is_int(b.len, 11 + 10000, "buf grows to hold 10000 more bytes");
        ok(b.cap > b.len, "buf capacity exceeds length (room for NUL)");
        ok(memcmp(b.data, "abcdef-42-x0123456789", 21) == 0,
           "buf keeps earlier content after growth");

        char *s = buf_steal(&b);
        ok(s && strlen(s) == 10011, "buf_steal hands over the data");
        ok(!b.data && b.len == 0 && b.cap == 0, "buf_steal resets the buffer");
        free(s);

        struct buf e = {0};
        char *empty = buf_steal(&e);
        is_str(empty, "", "buf_steal of an untouched buffer yields an empty string, not NULL");
        free(empty);

        struct buf d = {0};
        buf_puts(&d, "x");
        buf_done(&d);
        ok(!d.data && d.len == 0, "buf_done frees and resets");
}

static void test_strv(void)
{
        char **l = NULL;
        is_int(strv_length(l), 0, "strv_length(NULL) is 0");
        ok(!strv_contains(l, "a"), "strv_contains(NULL) is false");
        is_int(strv_extend(&l, "a"), 0, "strv_extend a");
        is_int(strv_extend(&l, "b"), 0, "strv_extend b");
        char *c = strdup("c");
        is_int(strv_push(&l, c), 0, "strv_push c (takes ownership)");
        is_int(strv_length(l), 3, "three strings");
        is_str(l[0], "a", "order kept: a");
        is_str(l[2], "c", "order kept: c");
        ok(l[3] == NULL, "list is NULL-terminated");
        ok(strv_contains(l, "b"), "strv_contains finds b");
        ok(!strv_contains(l, "d"), "strv_contains does not find d");
        ok(strv_free(l) == NULL, "strv_free returns NULL");
}

static void test_strings(void)
{
        char *p;
        p = path_join("/a/", "/b");
        is_str(p, "/a/b", "path_join collapses slashes at the seam");
        free(p);
        p = path_join("/a", "b/c");
        is_str(p, "/a/b/c", "path_join adds one slash");
        free(p);
        p = path_join("/", "etc");
        is_str(p, "/etc", "path_join of the root");
        free(p);
        p = path_join("/root///", "///x");
        is_str(p, "/root/x", "path_join strips repeated slashes");
        free(p);

        p = strjoin3("a", NULL, "c");
        is_str(p, "ac", "strjoin3 treats NULL as empty");
        free(p);

        ok(startswith("https://x", "https://"), "startswith true");
        ok(!startswith("http://x", "https://"), "startswith false");
        ok(startswith("abc", ""), "startswith empty prefix");
        ok(!startswith("ab", "abc"), "startswith prefix longer than string");
        ok(endswith("unit.service", ".service"), "endswith true");
        ok(!endswith("unit.servic", ".service"), "endswith false");
        ok(!endswith("ice", ".service"), "endswith suffix longer than string");
        ok(endswith("abc", ""), "endswith empty suffix");

        is_int(edit_distance("version", "version"), 0, "edit_distance equal");
        is_int(edit_distance("verison", "version"), 2, "edit_distance transposition counts 2");
        is_int(edit_distance("clustr", "cluster"), 1, "edit_distance insertion");
        is_int(edit_distance("", "abc"), 3, "edit_distance from empty");
        is_int(edit_distance("kitten", "sitting"), 3, "edit_distance kitten/sitting");
        char longname[80];
        memset(longname, 'a', sizeof(longname) - 1);
        longname[sizeof(longname) - 1] = 0;
        is_int(edit_distance(longname, "a"), UINT_MAX, "edit_distance refuses names over 64 bytes");

        ok(!string_has_cc("plain text 100%"), "string_has_cc false for printable text");
        ok(string_has_cc("a\nb"), "string_has_cc sees a newline");
        ok(string_has_cc("a\tb"), "string_has_cc sees a tab");
        ok(string_has_cc("a\x7f"), "string_has_cc sees DEL");
        ok(string_has_cc("\r"), "string_has_cc sees CR");
        ok(!string_has_cc("caf\xc3\xa9"), "string_has_cc accepts UTF-8 bytes");
}

static void test_safe_atou(void)
{
        unsigned v = 7;
        is_int(safe_atou("0", &v), 0, "safe_atou 0");
        is_int(v, 0, "value 0");
        is_int(safe_atou("6443", &v), 0, "safe_atou 6443");
        is_int(v, 6443, "value 6443");
        is_int(safe_atou("4294967295", &v), 0, "safe_atou UINT_MAX");
        ok(v == UINT_MAX, "value UINT_MAX");
        v = 7;
        is_int(safe_atou("4294967296", &v), -ERANGE, "safe_atou UINT_MAX+1 overflows");
        is_int(v, 7, "output untouched on overflow");
        is_int(safe_atou("99999999999999999999999999", &v), -ERANGE, "safe_atou very long number");
        is_int(safe_atou("", &v), -EINVAL, "safe_atou empty");
        is_int(safe_atou("-1", &v), -EINVAL, "safe_atou negative");
        is_int(safe_atou("+1", &v), -EINVAL, "safe_atou plus sign");
        is_int(safe_atou(" 1", &v), -EINVAL, "safe_atou leading blank");
        is_int(safe_atou("1 ", &v), -EINVAL, "safe_atou trailing blank");
        is_int(safe_atou("12a", &v), -EINVAL, "safe_atou trailing letter");
        is_int(safe_atou("0x10", &v), -EINVAL, "safe_atou hex");
}

/* The string with control characters escaped, so TAP descriptions stay on one line. */
static const char *shown(const char *s)
{
        static char out[256];
        size_t o = 0;
        for (; *s && o + 5 < sizeof(out); s++) {
                if ((unsigned char)*s < 0x20 || *s == 0x7f)
                        o += (size_t)snprintf(out + o, sizeof(out) - o, "\\x%02x",
                                              (unsigned char)*s);
                else
                        out[o++] = *s;
        }
        out[o] = 0;
        return out;
}

/* Checks that f(s) fails with -EINVAL and gives the expected reason. */
#define is_invalid(f, s, reason)                                                                   \
        do {                                                                                       \
                const char *why_ = NULL;                                                           \
                is_int(f(s, &why_), -EINVAL, "%s('%s') fails", #f, shown(s));                      \
                is_str(why_, reason, "%s('%s') reason", #f, shown(s));                             \
        } while (0)
#define is_valid(f, s) is_int(f(s, NULL), 0, "%s('%s') passes", #f, shown(s))

static void test_validate_ip(void)
{
        is_valid(validate_ip, "10.240.0.10");
        is_valid(validate_ip, "0.0.0.0");
        is_valid(validate_ip, "::1");
        is_valid(validate_ip, "fd00::10:240:0:10");
        is_valid(validate_ip, "::ffff:10.0.0.1");
        is_invalid(validate_ip, "10.240.0", "expected an IPv4 or IPv6 address");
        is_invalid(validate_ip, "10.240.0.256", "expected an IPv4 or IPv6 address");
        is_invalid(validate_ip, "controller-0", "expected an IPv4 or IPv6 address");
        is_invalid(validate_ip, "", "expected an IPv4 or IPv6 address");
        is_invalid(validate_ip, " 10.0.0.1", "expected an IPv4 or IPv6 address");
        is_invalid(validate_ip, "fd00::1/64", "expected an IPv4 or IPv6 address");
        is_invalid(validate_ip, "1:2:3:4:5:6:7:8:9", "expected an IPv4 or IPv6 address");
}

static void test_validate_cidr(void)
{
        is_valid(validate_cidr, "10.32.0.0/24");
        is_valid(validate_cidr, "10.200.0.0/16");
        is_valid(validate_cidr, "0.0.0.0/0");
        is_valid(validate_cidr, "10.0.0.1/32");
        is_valid(validate_cidr, "fd00:10:96::/112");
        is_invalid(validate_cidr, "10.32.0.1/24", "address has bits set beyond the prefix length");
        is_invalid(validate_cidr, "10.32.0.129/25",
                   "address has bits set beyond the prefix length");
        is_invalid(validate_cidr, "fd00::1/64", "address has bits set beyond the prefix length");
        is_invalid(validate_cidr, "10.32.0.0/33", "prefix length out of range");
        is_invalid(validate_cidr, "fd00::/129", "prefix length out of range");
        is_invalid(validate_cidr, "10.32.0.0/-1", "prefix length out of range");
        is_invalid(validate_cidr, "10.32.0.0/2x", "prefix length out of range");
        is_invalid(validate_cidr, "10.32.0.0", "expected a CIDR such as 10.32.0.0/24");
        is_invalid(validate_cidr, "10.32.0.0/", "expected a CIDR such as 10.32.0.0/24");
        is_invalid(validate_cidr, "/24", "expected a CIDR such as 10.32.0.0/24");
        is_invalid(validate_cidr, "10.32.0/24", "expected a CIDR such as 10.32.0.0/24");
        is_invalid(validate_cidr, "cluster/24", "expected a CIDR such as 10.32.0.0/24");
}

static void test_validate_host(void)
{
        is_valid(validate_host, "203.0.113.10");
        is_valid(validate_host, "::1");
        is_valid(validate_host, "api.example.com");
        is_valid(validate_host, "controller-0");
        is_invalid(validate_host, "", "expected an IP address or a DNS name");
        is_invalid(validate_host, "-lead.example", "expected an IP address or a DNS name");
        is_invalid(validate_host, "trail-.example", "expected an IP address or a DNS name");
        is_invalid(validate_host, "a..b", "expected an IP address or a DNS name");
        is_invalid(validate_host, "under_score.example", "expected an IP address or a DNS name");
        is_invalid(validate_host, "host name", "expected an IP address or a DNS name");
        is_invalid(validate_host, "api.example.com.", "expected an IP address or a DNS name");
        char label[70];
        memset(label, 'a', 64);
        label[64] = 0;
        is_invalid(validate_host, label, "expected an IP address or a DNS name");
        label[63] = 0;
        is_valid(validate_host, label);
}

static void test_validate_port_range(void)
{
        is_valid(validate_port_range, "30000-32767");
        is_valid(validate_port_range, "1-65535");
        is_valid(validate_port_range, "80-80");
        is_invalid(validate_port_range, "32767-30000",
                   "ports must be 1-65535 and the first not above the second");
        is_invalid(validate_port_range, "0-5",
                   "ports must be 1-65535 and the first not above the second");
        is_invalid(validate_port_range, "1-65536",
                   "ports must be 1-65535 and the first not above the second");
        is_invalid(validate_port_range, "30000", "expected a port range such as 30000-32767");
        is_invalid(validate_port_range, "-5", "expected a port range such as 30000-32767");
        is_invalid(validate_port_range, "5-", "expected a port range such as 30000-32767");
        is_invalid(validate_port_range, "a-b", "expected a port range such as 30000-32767");
        is_invalid(validate_port_range, "1-2-3", "expected a port range such as 30000-32767");
        is_invalid(validate_port_range, "12345678-9", "expected a port range such as 30000-32767");
}

static void test_validate_url(void)
{
        is_valid(validate_https_url, "https://dl.k8s.io/release");
        is_valid(validate_https_url, "https://10.240.0.10:2379");
        is_valid(validate_https_url, "https://mirror.example:8443/k8s?x=1#frag");
        is_valid(validate_https_url, "https://[::1]:443/release");
        is_valid(validate_https_url, "https://[fd00::1]");
        is_invalid(validate_https_url, "http://dl.k8s.io/release",
                   "expected an https:// URL (plain http is never used)");
        is_invalid(validate_https_url, "HTTPS://dl.k8s.io",
                   "expected an https:// URL (plain http is never used)");
        is_invalid(validate_https_url, "ftp://x",
                   "expected an https:// URL (plain http is never used)");
        is_invalid(validate_https_url, "https://user:pw@dl.k8s.io/",
                   "credentials in URLs are not supported");
        is_invalid(validate_https_url, "https://user@dl.k8s.io/",
                   "credentials in URLs are not supported");
        is_invalid(validate_https_url, "https://dl.k8s.io:0/", "URL port must be 1-65535");
        is_invalid(validate_https_url, "https://dl.k8s.io:65536/", "URL port must be 1-65535");
        is_invalid(validate_https_url, "https://dl.k8s.io:https/", "URL port must be 1-65535");
        is_invalid(validate_https_url, "https://dl.k8s.io:/", "URL port must be 1-65535");
        is_invalid(validate_https_url, "https://[::1]:0/", "URL port must be 1-65535");
        is_invalid(validate_https_url, "https://[::1", "URL has a malformed IPv6 host");
        is_invalid(validate_https_url, "https://[::1]x/", "URL has a malformed IPv6 host");
        is_invalid(validate_https_url, "https://[nothex]/", "URL has a malformed IPv6 host");
        is_invalid(validate_https_url, "https://", "URL has no host");
        is_invalid(validate_https_url, "https:///path", "URL has no host");
        is_invalid(validate_https_url, "https://bad_host/",
                   "URL host is not an IP address or DNS name");
        is_invalid(validate_https_url, "https://dl.k8s.io/a b",
                   "URL contains a character that is not allowed");
        is_invalid(validate_https_url, "https://dl.k8s.io/a\"b",
                   "URL contains a character that is not allowed");
        is_invalid(validate_https_url, "https://dl.k8s.io/\n",
                   "URL contains a character that is not allowed");

        is_valid(validate_https_url_list, "https://10.240.0.10:2379");
        is_valid(validate_https_url_list, "https://10.240.0.10:2379,https://10.240.0.11:2379");
        is_invalid(validate_https_url_list, "https://a.example,,https://b.example",
                   "empty entry in the URL list");
        is_invalid(validate_https_url_list, "https://a.example,", "empty entry in the URL list");
        is_invalid(validate_https_url_list, ",https://a.example", "empty entry in the URL list");
        is_invalid(validate_https_url_list, ",", "empty entry in the URL list");
        is_invalid(validate_https_url_list, "", "expected a comma-separated list of https:// URLs");
        is_invalid(validate_https_url_list, "https://a.example,http://b.example",
                   "expected an https:// URL (plain http is never used)");
        is_invalid(validate_https_url_list, "https://a.example, https://b.example",
                   "expected an https:// URL (plain http is never used)");
}

static void test_validate_version(void)
{
        is_valid(validate_version, "v1.21.0");
        is_valid(validate_version, "v1.21.0-rc.1");
        is_valid(validate_version, "v1.30.10");
        is_valid(validate_version, "v0.0.0");
        is_valid(validate_version, "v1.21.0+build.5");
        is_invalid(validate_version, "v1.21", "expected a version such as v1.21.0");
        is_invalid(validate_version, "1.21.0", "expected a version such as v1.21.0");
        is_invalid(validate_version, "v01.2.3", "expected a version such as v1.21.0");
        is_invalid(validate_version, "v1.02.3", "expected a version such as v1.21.0");
        is_invalid(validate_version, "v1.2.03", "expected a version such as v1.21.0");
        is_invalid(validate_version, "v1.21.0.1", "expected a version such as v1.21.0");
        is_invalid(validate_version, "v1.21.x", "expected a version such as v1.21.0");
        is_invalid(validate_version, "v1.21.0-rc/1", "expected a version such as v1.21.0");
        is_invalid(validate_version, "v1.21.0-../../x", "expected a version such as v1.21.0");
        is_invalid(validate_version, "", "expected a version such as v1.21.0");
        is_invalid(validate_version, "v", "expected a version such as v1.21.0");
}

static void test_validate_path(void)
{
        is_valid(validate_abs_path, "/usr/local/bin");
        is_valid(validate_abs_path, "/");
        is_valid(validate_abs_path, "/etc/kubestrap/mirror-ca.pem");
        is_valid(validate_abs_path, "/var/lib/k8s_1.21+x@y:z");
        is_valid(validate_abs_path, "/a/..b/c..");
        is_invalid(validate_abs_path, "usr/local/bin", "expected an absolute path");
        is_invalid(validate_abs_path, "", "expected an absolute path");
        is_invalid(validate_abs_path, "./bin", "expected an absolute path");
        is_invalid(validate_abs_path, "/usr/../etc", "path must be normalized (no '..' or '//')");
        is_invalid(validate_abs_path, "/usr/..", "path must be normalized (no '..' or '//')");
        is_invalid(validate_abs_path, "/..", "path must be normalized (no '..' or '//')");
        is_invalid(validate_abs_path, "/usr//bin", "path must be normalized (no '..' or '//')");
        is_invalid(validate_abs_path, "/usr/local bin",
                   "path contains a character outside A-Z a-z 0-9 / . _ - + @ :");
        is_invalid(validate_abs_path, "/usr/%i",
                   "path contains a character outside A-Z a-z 0-9 / . _ - + @ :");
        is_invalid(validate_abs_path, "/usr/$HOME",
                   "path contains a character outside A-Z a-z 0-9 / . _ - + @ :");
        is_invalid(validate_abs_path, "/usr;rm",
                   "path contains a character outside A-Z a-z 0-9 / . _ - + @ :");
        is_invalid(validate_abs_path, "/usr/\n",
                   "path contains a character outside A-Z a-z 0-9 / . _ - + @ :");
        is_invalid(validate_abs_path, "/usr/\"x\"",
                   "path contains a character outside A-Z a-z 0-9 / . _ - + @ :");
}

static void test_validate_misc(void)
{
        is_int(validate_uint("3", 1, 1000, NULL), 0, "validate_uint in range");
        is_int(validate_uint("1000", 1, 1000, NULL), 0, "validate_uint upper bound");
        const char *why = NULL;
        is_int(validate_uint("0", 1, 1000, &why), -EINVAL, "validate_uint below min");
        is_str(why, "number out of range", "validate_uint below min reason");
        is_int(validate_uint("1001", 1, 1000, &why), -EINVAL, "validate_uint above max");
        is_int(validate_uint("three", 1, 1000, &why), -EINVAL, "validate_uint not a number");
        is_str(why, "expected a number", "validate_uint not a number reason");

        is_valid(validate_name, "kubernetes");
        is_valid(validate_name, "prod-1");
        is_invalid(validate_name, "my.cluster", "expected a name of letters, digits and '-'");
        is_invalid(validate_name, "my_cluster", "expected a name of letters, digits and '-'");
        is_invalid(validate_name, "", "expected a name of letters, digits and '-'");

        is_valid(validate_flag_name, "v");
        is_valid(validate_flag_name, "audit-log-path");
        is_valid(validate_flag_name, "feature_gates.x");
        is_invalid(validate_flag_name, "", "expected a flag name without leading dashes");
        is_invalid(validate_flag_name, "-v", "expected a flag name without leading dashes");
        is_invalid(validate_flag_name, "a=b",
                   "flag names consist of letters, digits, '-', '_' and '.'");
        is_invalid(validate_flag_name, "a b",
                   "flag names consist of letters, digits, '-', '_' and '.'");
}

static void test_validate_flag_value(void)
{
        is_valid(validate_flag_value, "");
        is_valid(validate_flag_value, "Node,RBAC");
        is_valid(validate_flag_value, "'api/all=true'");
        is_valid(validate_flag_value, "''");
        is_valid(validate_flag_value, "50%");
        is_invalid(validate_flag_value, "a\nb", "control characters are not allowed");
        is_invalid(validate_flag_value, "a\tb", "control characters are not allowed");
        is_invalid(validate_flag_value, "a b",
                   "blanks, quotes and backslashes are not allowed in flag values");
        is_invalid(validate_flag_value, "'a b'",
                   "blanks, quotes and backslashes are not allowed in flag values");
        is_invalid(validate_flag_value, "it's",
                   "blanks, quotes and backslashes are not allowed in flag values");
        is_invalid(validate_flag_value, "'a'b'",
                   "blanks, quotes and backslashes are not allowed in flag values");
        is_invalid(validate_flag_value, "'",
                   "blanks, quotes and backslashes are not allowed in flag values");
        is_invalid(validate_flag_value, "\"x\"",
                   "blanks, quotes and backslashes are not allowed in flag values");
        is_invalid(validate_flag_value, "a\\b",
                   "blanks, quotes and backslashes are not allowed in flag values");
        is_invalid(validate_flag_value, "'api/all=true",
                   "blanks, quotes and backslashes are not allowed in flag values");
}

static char *escaped(int (*fn)(struct buf *, const char *), const char *s)
{
        struct buf b = {0};
        if (fn(&b, s) < 0) {
                buf_done(&b);
                return NULL;
        }
        return buf_steal(&b);
}

/* Issue 10 finding 12: a config key "name\xff\x1b[31m" must not reach the terminal raw or
 * make --output json invalid UTF-8. */
static void test_escaping(void)
{
        uint32_t cp = 0;
        is_int(utf8_decode("A", &cp), 1, "utf8_decode: ASCII is one byte");
        is_int(utf8_decode("\xc3\xa9", &cp), 2, "utf8_decode: e-acute is two bytes");
        is_int(cp, 0xe9, "utf8_decode: e-acute is U+00E9");
        is_int(utf8_decode("\xe2\x82\xac", &cp), 3, "utf8_decode: euro sign is three bytes");
        is_int(utf8_decode("\xf0\x9f\x98\x80", &cp), 4, "utf8_decode: emoji is four bytes");
        is_int(cp, 0x1f600, "utf8_decode: emoji code point");
        is_int(utf8_decode("\xff", &cp), -EILSEQ, "utf8_decode: 0xff is no UTF-8");
        is_int(utf8_decode("\x80", &cp), -EILSEQ, "utf8_decode: a lone continuation byte");
        is_int(utf8_decode("\xc0\xaf", &cp), -EILSEQ, "utf8_decode: overlong '/'");
        is_int(utf8_decode("\xe0\x80\xaf", &cp), -EILSEQ, "utf8_decode: overlong three-byte '/'");
        is_int(utf8_decode("\xed\xa0\x80", &cp), -EILSEQ, "utf8_decode: a UTF-16 surrogate");
        is_int(utf8_decode("\xf4\x90\x80\x80", &cp), -EILSEQ, "utf8_decode: beyond U+10FFFF");
        is_int(utf8_decode("\xe2\x82", &cp), -EILSEQ, "utf8_decode: truncated at the end");

        char *s = escaped(json_append_string, "name\xff\x1b[31m");
        is_str(s, "\"name\\ufffd\\u001b[31m\"",
               "json: an invalid byte becomes U+FFFD, ESC becomes \\u001b");
        free(s);
        s = escaped(json_append_string, "caf\xc3\xa9 \"q\" a\\b\n\t\x7f\xc2\x9b\xe2\x82");
        is_str(s, "\"caf\xc3\xa9 \\\"q\\\" a\\\\b\\n\\t\\u007f\\u009b\\ufffd\\ufffd\"",
               "json: UTF-8 kept, quotes, backslash, DEL, C1 escaped, truncated tail replaced");
        free(s);

        s = escaped(log_escape_append, "name\xff\x1b[31m");
        is_str(s, "name\\xff\\x1b[31m", "human: the invalid byte and ESC shown as \\xNN");
        free(s);
        s = escaped(log_escape_append, "caf\xc3\xa9\nnext\r\xc2\x9b\x7f");
        is_str(s, "caf\xc3\xa9\\x0anext\\x0d\\xc2\\x9b\\x7f",
               "human: UTF-8 kept; line breaks, C1 control and DEL escaped");
        free(s);
}

/* What the error mirror was last given. */
static struct {
        char *message, *file, *key, *url, *unit;
        unsigned line;
        int calls;
} seen;

static char *dup_or_null(const char *s)
{
        return s ? strdup(s) : NULL;
}

static void mirror(const char *message, const struct err_where *w)
{
        free(seen.message), free(seen.file), free(seen.key), free(seen.url), free(seen.unit);
        seen.message = strdup(message);
        seen.file = dup_or_null(w->file);
        seen.key = dup_or_null(w->key);
        seen.url = dup_or_null(w->url);
        seen.unit = dup_or_null(w->unit);
        seen.line = w->line;
        seen.calls++;
}

static void test_error_where(void)
{
        /* without a mirror (human output) nothing is kept */
        log_note_where("a: b", &(struct err_where){.url = "https://x/a"});
        log_set_error_mirror(mirror);
        log_error("a: b");
        ok(!seen.url, "a note taken without a mirror is not kept");

        log_note_where("f:3: [s] k: bad", &(struct err_where){.file = "f", .line = 3, .key = "k"});
        log_note_where("https://m/a: HTTP 404", &(struct err_where){.url = "https://m/a"});
        log_note_where("https://m/b: HTTP 404", &(struct err_where){.url = "https://m/b"});
        log_error("something else failed");
        ok(!seen.file && !seen.url, "an error that quotes no note gets no fields");
        log_error("apply failed: https://m/a: HTTP 404; https://m/b: HTTP 404");
        is_str(seen.url, "https://m/a", "a message quoting two notes: the first noted wins");
        ok(!seen.file, "a note it does not quote adds nothing");
        log_error("again: https://m/b: HTTP 404");
        ok(!seen.url, "a note is used once");
        log_where_errno(&(struct err_where){.unit = "u.service"}, -EIO, "f:3: [s] k: bad");
        ok(seen.file && streq(seen.file, "f") && seen.line == 3 && streq(seen.key, "k"),
           "a note's file, line and key reach the event");
        is_str(seen.unit, "u.service", "beside what the command itself knows");
        log_set_error_mirror(NULL);
        free(seen.message), free(seen.file), free(seen.key), free(seen.url), free(seen.unit);
}

int main(void)
{
        test_buf();
        test_strv();
        test_strings();
        test_safe_atou();
        test_validate_ip();
        test_validate_cidr();
        test_validate_host();
        test_validate_port_range();
        test_validate_url();
        test_validate_version();
        test_validate_path();
        test_validate_misc();
        test_validate_flag_value();
        test_escaping();
        test_error_where();
        return done_testing();
}
