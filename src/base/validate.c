/* Validation of configuration values by type; each returns 0 or -EINVAL with a reason. */
#include "validate.h"

#include <arpa/inet.h>
#include <ctype.h>
#include <errno.h>
#include <string.h>

#include "util.h"

static int fail(const char **ret_reason, const char *why)
{
        if (ret_reason)
                *ret_reason = why;
        return -EINVAL;
}

int validate_ip(const char *s, const char **ret_reason)
{
        unsigned char a[16];
        if (inet_pton(AF_INET, s, a) == 1 || inet_pton(AF_INET6, s, a) == 1)
                return 0;
        return fail(ret_reason, "expected an IPv4 or IPv6 address");
}

int validate_cidr(const char *s, const char **ret_reason)
{
        const char *slash = strchr(s, '/');
        if (!slash || slash == s || slash[1] == 0)
                return fail(ret_reason, "expected a CIDR such as 10.32.0.0/24");
        char addr[64];
        size_t l = (size_t)(slash - s);
        if (l >= sizeof(addr))
                return fail(ret_reason, "expected a CIDR such as 10.32.0.0/24");
        memcpy(addr, s, l);
        addr[l] = 0;
        unsigned char bytes[16];
        unsigned max;
        if (inet_pton(AF_INET, addr, bytes) == 1)
                max = 32;
        else if (inet_pton(AF_INET6, addr, bytes) == 1)
                max = 128;
        else
                return fail(ret_reason, "expected a CIDR such as 10.32.0.0/24");
        unsigned prefix;
        if (safe_atou(slash + 1, &prefix) < 0 || prefix > max)
                return fail(ret_reason, "prefix length out of range");
        for (unsigned bit = prefix; bit < max; bit++)
                if (bytes[bit / 8] & (0x80 >> (bit % 8)))
                        return fail(ret_reason, "address has bits set beyond the prefix length");
        return 0;
}

static bool valid_dns_name(const char *s)
{
        size_t len = strlen(s);
        if (len == 0 || len > 253)
                return false;
        const char *label = s;
        for (const char *p = s;; p++) {
                if (*p == '.' || *p == 0) {
                        size_t ll = (size_t)(p - label);
                        if (ll == 0 || ll > 63 || label[0] == '-' || p[-1] == '-')
                                return false;
                        if (*p == 0)
                                return true;
                        label = p + 1;
                } else if (!isalnum((unsigned char)*p) && *p != '-')
                        return false;
        }
}

int validate_host(const char *s, const char **ret_reason)
{
        if (validate_ip(s, NULL) == 0 || valid_dns_name(s))
                return 0;
        return fail(ret_reason, "expected an IP address or a DNS name");
}

/* What ssh takes as its destination, HOST or USER@HOST. The user part is a POSIX portable
 * user name (letters, digits, '.', '_', '-', not starting with '-'): it reaches ssh's
 * argument list and, before, reached a tmux shell string, so nothing else may pass. */
int validate_ssh_address(const char *s, const char **ret_reason)
{
        const char *at = strrchr(s, '@');
        if (s[0] == '-')
                return fail(ret_reason, "an address must not start with '-'");
        if (at) {
                if (at == s)
                        return fail(ret_reason, "expected HOST or USER@HOST (the user is empty)");
                for (const char *p = s; p < at; p++)
                        if (!isalnum((unsigned char)*p) && !strchr("._-", *p))
                                return fail(ret_reason,
                                            "the user name may hold only A-Z a-z 0-9 . _ -");
        }
        return validate_host(at ? at + 1 : s, ret_reason);
}

int validate_port_range(const char *s, const char **ret_reason)
{
        const char *dash = strchr(s, '-');
        if (!dash)
                return fail(ret_reason, "expected a port range such as 30000-32767");
        char lo[8];
        size_t l = (size_t)(dash - s);
        if (l == 0 || l >= sizeof(lo))
                return fail(ret_reason, "expected a port range such as 30000-32767");
        memcpy(lo, s, l);
        lo[l] = 0;
        unsigned a, b;
        if (safe_atou(lo, &a) < 0 || safe_atou(dash + 1, &b) < 0)
                return fail(ret_reason, "expected a port range such as 30000-32767");
        if (a < 1 || b > 65535 || a > b)
                return fail(ret_reason, "ports must be 1-65535 and the first not above the second");
        return 0;
}

int validate_https_url(const char *s, const char **ret_reason)
{
        if (!startswith(s, "https://"))
                return fail(ret_reason, "expected an https:// URL (plain http is never used)");
        const char *host = s + 8;
        for (const char *p = s; *p; p++)
                if ((unsigned char)*p <= ' ' || *p == 0x7f || strchr("\"'\\<>{}|^`", *p))
                        return fail(ret_reason, "URL contains a character that is not allowed");
        if (strchr(host, '@'))
                return fail(ret_reason, "credentials in URLs are not supported");
        size_t hl = strcspn(host, "/?#");
        char h[256];
        if (hl == 0 || hl >= sizeof(h))
                return fail(ret_reason, "URL has no host");
        memcpy(h, host, hl);
        h[hl] = 0;
        char *port = NULL;
        if (h[0] == '[') {
                char *end = strchr(h, ']');
                if (!end)
                        return fail(ret_reason, "URL has a malformed IPv6 host");
                *end = 0;
                if (end[1] == ':')
                        port = end + 2;
                else if (end[1] != 0)
                        return fail(ret_reason, "URL has a malformed IPv6 host");
                unsigned char a[16];
                if (inet_pton(AF_INET6, h + 1, a) != 1)
                        return fail(ret_reason, "URL has a malformed IPv6 host");
        } else {
                char *colon = strchr(h, ':');
                if (colon) {
                        *colon = 0;
                        port = colon + 1;
                }
                if (validate_host(h, NULL) < 0)
                        return fail(ret_reason, "URL host is not an IP address or DNS name");
        }
        if (port) {
                unsigned p;
                if (safe_atou(port, &p) < 0 || p < 1 || p > 65535)
                        return fail(ret_reason, "URL port must be 1-65535");
        }
        return 0;
}

/* The shape of a comma-separated list: not empty, no empty entry. */
static int url_list_shape(const char *s, const char *what, const char **ret_reason)
{
        if (!*s)
                return fail(ret_reason, what);
        if (s[strlen(s) - 1] == ',' || s[0] == ',' || strstr(s, ",,"))
                return fail(ret_reason, "empty entry in the URL list");
        return 0;
}

int validate_https_url_list(const char *s, const char **ret_reason)
{
        _cleanup_free_ char *copy = strdup(s);
        if (!copy)
                return -ENOMEM;
        int r = url_list_shape(s, "expected a comma-separated list of https:// URLs", ret_reason);
        if (r < 0)
                return r;
        char *save = NULL;
        for (char *tok = strtok_r(copy, ",", &save); tok; tok = strtok_r(NULL, ",", &save)) {
                r = validate_https_url(tok, ret_reason);
                if (r < 0)
                        return r;
        }
        return 0;
}

/* A plain-http etcd URL's host must be this machine: etcd then carries the cluster's secrets
 * unencrypted and unauthenticated, which only the loopback interface keeps to the node. */
static bool url_host_is_loopback(const char *host)
{
        size_t hl = strcspn(host, "/?#");
        char h[256];
        if (hl == 0 || hl >= sizeof(h))
                return false;
        memcpy(h, host, hl);
        h[hl] = 0;
        if (startswith(h, "[::1]"))
                return h[5] == 0 || h[5] == ':';
        char *colon = strchr(h, ':');
        if (colon)
                *colon = 0;
        struct in_addr a;
        if (inet_pton(AF_INET, h, &a) == 1)
                return (ntohl(a.s_addr) >> 24) == 127;
        return strcmp(h, "localhost") == 0;
}

int validate_etcd_url_list(const char *s, const char **ret_reason)
{
        _cleanup_free_ char *copy = strdup(s);
        if (!copy)
                return -ENOMEM;
        int r = url_list_shape(s, "expected a comma-separated list of etcd URLs", ret_reason);
        if (r < 0)
                return r;
        size_t n_http = 0, n = 0;
        char *save = NULL;
        for (char *tok = strtok_r(copy, ",", &save); tok; tok = strtok_r(NULL, ",", &save)) {
                n++;
                if (!startswith(tok, "http://")) {
                        r = validate_https_url(tok, ret_reason);
                        if (r < 0)
                                return r;
                        continue;
                }
                n_http++;
                _cleanup_free_ char *as_https = strjoin3("https://", tok + 7, NULL);
                if (!as_https)
                        return -ENOMEM;
                r = validate_https_url(as_https, ret_reason);
                if (r < 0)
                        return r;
                if (!url_host_is_loopback(tok + 7))
                        return fail(ret_reason, "plain http:// is only allowed to a local etcd "
                                                "(127.0.0.1, [::1] or localhost); use https://");
        }
        /* kube-apiserver has one set of etcd client files for all endpoints. */
        if (n_http && n_http != n)
                return fail(ret_reason,
                            "all URLs must be https://, or all http:// to a local etcd");
        return 0;
}

int validate_initial_cluster(const char *s, const char **ret_reason)
{
        _cleanup_free_ char *copy = strdup(s);
        if (!copy)
                return -ENOMEM;
        int r = url_list_shape(s, "expected NAME=URL,NAME=URL,...", ret_reason);
        if (r < 0)
                return r;
        char *save = NULL;
        for (char *tok = strtok_r(copy, ",", &save); tok; tok = strtok_r(NULL, ",", &save)) {
                char *eq = strchr(tok, '=');
                if (!eq || eq == tok)
                        return fail(ret_reason, "expected NAME=URL,NAME=URL,... (a member "
                                                "without a name)");
                *eq = 0;
                r = validate_name(tok, ret_reason);
                if (r < 0)
                        return r;
                /* a peer URL: https, or http to a local etcd, as etcd-servers */
                r = validate_etcd_url_list(eq + 1, ret_reason);
                if (r < 0)
                        return r;
        }
        return 0;
}

static const char *skip_number(const char *p)
{
        if (!isdigit((unsigned char)*p))
                return NULL;
        if (*p == '0' && isdigit((unsigned char)p[1]))
                return NULL;
        while (isdigit((unsigned char)*p))
                p++;
        return p;
}

int validate_version(const char *s, const char **ret_reason)
{
        const char *why = "expected a version such as v1.21.0";
        if (s[0] != 'v')
                return fail(ret_reason, why);
        const char *p = skip_number(s + 1);
        if (!p || *p != '.')
                return fail(ret_reason, why);
        p = skip_number(p + 1);
        if (!p || *p != '.')
                return fail(ret_reason, why);
        p = skip_number(p + 1);
        if (!p)
                return fail(ret_reason, why);
        if (*p == 0)
                return 0;
        if (*p != '-' && *p != '+')
                return fail(ret_reason, why);
        for (p++; *p; p++)
                if (!isalnum((unsigned char)*p) && *p != '.' && *p != '-')
                        return fail(ret_reason, why);
        return 0;
}

int validate_version_marker(const char *s, const char **ret_reason)
{
        const char *why = "expected a marker: stable or stable-1.NN";
        if (streq(s, "stable"))
                return 0;
        if (!startswith(s, "stable-1."))
                return fail(ret_reason, why);
        const char *p = skip_number(s + strlen("stable-1."));
        return p && *p == 0 ? 0 : fail(ret_reason, why);
}

int validate_version_or_marker(const char *s, const char **ret_reason)
{
        if (validate_version(s, NULL) >= 0 || validate_version_marker(s, NULL) >= 0)
                return 0;
        return fail(ret_reason, "expected a version such as v1.21.0, or a marker: stable or "
                                "stable-1.NN");
}

int validate_abs_path(const char *s, const char **ret_reason)
{
        if (s[0] != '/')
                return fail(ret_reason, "expected an absolute path");
        /* Paths end up in unit files, nginx and YAML: a conservative character set keeps
         * them from changing the meaning of any of those. */
        for (const char *p = s; *p; p++)
                if (!isalnum((unsigned char)*p) && !strchr("/._-+@:", *p))
                        return fail(ret_reason,
                                    "path contains a character outside A-Z a-z 0-9 / . _ - + @ :");
        if (strstr(s, "/../") || endswith(s, "/..") || strstr(s, "//"))
                return fail(ret_reason, "path must be normalized (no '..' or '//')");
        return 0;
}

int validate_uint(const char *s, unsigned min, unsigned max, const char **ret_reason)
{
        unsigned v;
        if (safe_atou(s, &v) < 0)
                return fail(ret_reason, "expected a number");
        if (v < min || v > max)
                return fail(ret_reason, "number out of range");
        return 0;
}

int validate_name(const char *s, const char **ret_reason)
{
        if (!valid_dns_name(s) || strchr(s, '.'))
                return fail(ret_reason, "expected a name of letters, digits and '-'");
        return 0;
}

int validate_gcp_name(const char *s, const char **ret_reason)
{
        size_t n = strlen(s);
        bool ok = n >= 1 && n <= 63 && s[0] >= 'a' && s[0] <= 'z' && s[n - 1] != '-';
        for (const char *p = s; ok && *p; p++)
                ok = (*p >= 'a' && *p <= 'z') || (*p >= '0' && *p <= '9') || *p == '-';
        if (!ok)
                return fail(ret_reason, "expected a Google Cloud name: a lower-case letter, then "
                                        "lower-case letters, digits and '-' (at most 63)");
        return 0;
}

int validate_flag_name(const char *s, const char **ret_reason)
{
        if (!*s || s[0] == '-')
                return fail(ret_reason, "expected a flag name without leading dashes");
        for (const char *p = s; *p; p++)
                if (!isalnum((unsigned char)*p) && !strchr("-_.", *p))
                        return fail(ret_reason,
                                    "flag names consist of letters, digits, '-', '_' and '.'");
        return 0;
}

int validate_flag_value(const char *s, const char **ret_reason)
{
        if (string_has_cc(s))
                return fail(ret_reason, "control characters are not allowed");
        size_t len = strlen(s);
        /* A value quoted as a whole in single quotes (like the seed's 'api/all=true') is one
         * word to systemd; otherwise quotes, backslashes and blanks would split or change it. */
        bool quoted = len >= 2 && s[0] == '\'' && s[len - 1] == '\'';
        for (size_t i = quoted ? 1 : 0; i < (quoted ? len - 1 : len); i++)
                if (s[i] == ' ' || s[i] == '\t' || s[i] == '"' || s[i] == '\'' || s[i] == '\\')
                        return fail(
                            ret_reason,
                            "blanks, quotes and backslashes are not allowed in flag values");
        return 0;
}
