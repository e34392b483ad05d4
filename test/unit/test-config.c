/* Unit tests for config.h's INI reader and model.h's validated model, down to exact errors. */
#include <errno.h>
#include <stdlib.h>

#include "config.h"
#include "model.h"
#include "signature.h"
#include "tap.h"
#include "util.h"

/* The smallest valid configuration: the required keys and a fixed internal-ip (no 'auto', so
 * the result does not depend on this machine's routes). Extra text is appended at line 11. */
static const char base_conf[] = "[cluster]\n"                               /* 1 */
                                "version = v1.21.0\n"                       /* 2 */
                                "public-address = 203.0.113.10\n"           /* 3 */
                                "etcd-servers = https://10.240.0.10:2379\n" /* 4 */
                                "\n"                                        /* 5 */
                                "[node]\n"                                  /* 6 */
                                "internal-ip = 10.240.0.10\n"               /* 7 */
                                "\n"                                        /* 8 */
                                "[pki]\n"                                   /* 9 */
                                "source-dir = /root\n";                     /* 10 */

/* base_conf with the line 'from' replaced by 'to' (when from is set) and extra appended. */
static char *conf(const char *from, const char *to, const char *extra)
{
        struct buf b = {0};
        const char *at = from ? strstr(base_conf, from) : NULL;
        if (from && !at) {
                printf("# test bug: '%s' is not in base_conf\n", from);
                abort();
        }
        if (at) {
                buf_append(&b, base_conf, (size_t)(at - base_conf));
                buf_puts(&b, to);
                buf_puts(&b, at + strlen(from));
        } else
                buf_puts(&b, base_conf);
        buf_puts(&b, extra ? extra : "");
        return buf_steal(&b);
}

/* Loads text; returns the result code and leaves the errors (or NULL) in *errors. */
static int load(const char *text, struct model **m, char ***errors)
{
        *m = NULL;
        *errors = NULL;
        return model_load_string("test.conf", text, m, errors);
}

/* Expects the configuration to fail with exactly one error, equal to want. */
static void one_error(const char *from, const char *to, const char *extra, const char *want,
                      const char *what)
{
        _cleanup_free_ char *text = conf(from, to, extra);
        struct model *m = NULL;
        _cleanup_strv_free_ char **errors = NULL;
        int r = load(text, &m, &errors);
        is_int(r, -EINVAL, "%s: load fails", what);
        ok(m == NULL, "%s: no model", what);
        is_int(strv_length(errors), 1, "%s: exactly one error", what);
        is_str(errors ? errors[0] : NULL, want, "%s: message", what);
        for (size_t i = 1; errors && errors[i]; i++)
                printf("#   further error: %s\n", errors[i]);
        model_free(m);
}

/* The first entry of f in section sec with key key. */
static const struct ini_entry *find_entry(const struct ini_file *f, const char *sec,
                                          const char *key)
{
        for (size_t i = 0; i < f->n_entries; i++)
                if (streq(f->entries[i].section, sec) && streq(f->entries[i].key, key))
                        return &f->entries[i];
        return NULL;
}

static void test_ini(void)
{
        struct ini_file *f = NULL;
        char *err = NULL;
        const char *text = "# comment\n"         /* 1 */
                           "[a]\n"               /* 2 */
                           "x = 1\n"             /* 3 */
                           "\n"                  /* 4 */
                           "; another comment\n" /* 5 */
                           "y=two words  \n"     /* 6 */
                           "[empty]\n"           /* 7 */
                           "[ b ]\n"             /* 8 */
                           "z =\n"               /* 9 */
                           "[a]\n"               /* 10 */
                           "w = last";           /* 11, no newline */
        is_int(ini_file_parse_string("t.ini", text, &f, &err), 0, "ini: valid text parses");
        ok(f != NULL && err == NULL, "ini: result and no error");
        if (!f)
                return;
        is_str(f->path, "t.ini", "ini: name kept as path");
        is_int(f->n_entries, 4, "ini: four entries");
        const struct ini_entry *e = find_entry(f, "a", "x");
        ok(e && streq(e->value, "1") && e->line == 3, "ini: a.x = 1 on line 3");
        e = find_entry(f, "a", "y");
        ok(e && streq(e->value, "two words") && e->line == 6,
           "ini: a.y keeps inner blank, loses trailing ones, line 6");
        ok(f->n_entries == 4 && streq(f->entries[2].key, "z") && streq(f->entries[2].value, "") &&
               f->entries[2].line == 9,
           "ini: b.z has an empty value, line 9");
        /* Regression (was a bug in src/config.c): inih does not trim blanks inside "[ b ]" but
         * scan_sections() does, so entries say " b " while ->sections says "b". */
        ok(find_entry(f, "b", "z") != NULL,
           "ini: entry section of '[ b ]' matches the recorded 'b'");
        e = find_entry(f, "a", "w");
        ok(e && streq(e->value, "last") && e->line == 11,
           "ini: last line without newline, line 11");
        is_int(strv_length(f->sections), 4, "ini: four section headers recorded");
        if (strv_length(f->sections) == 4) {
                is_str(f->sections[0], "a", "ini: section 0 is a");
                is_str(f->sections[1], "empty", "ini: empty section recorded");
                is_int(f->section_lines[1], 7, "ini: empty section's line");
                is_str(f->sections[2], "b", "ini: section header trimmed like inih");
                is_int(f->section_lines[3], 10, "ini: reopened section recorded with its line");
        }
        ini_file_free(f);
        f = NULL;

        /* Only a section, no keys at all. */
        is_int(ini_file_parse_string("t.ini", "[lonely]\n", &f, &err), 0,
               "ini: section-only text parses");
        ok(f && f->n_entries == 0 && strv_length(f->sections) == 1 &&
               streq(f->sections[0], "lonely"),
           "ini: the lone empty section is recorded");
        ini_file_free(f);
        f = NULL;

        /* Syntax error: the line number of the first bad line. */
        is_int(
            ini_file_parse_string("t.ini", "[a]\nx = 1\nnot a pair\ny = 2\nalso bad\n", &f, &err),
            -EINVAL, "ini: syntax error fails");
        ok(f == NULL, "ini: no result on syntax error");
        is_str(err, "t.ini:3: syntax error: expected '[section]' or 'key = value'",
               "ini: syntax error names the first bad line");
        free(err);
        err = NULL;

        is_int(ini_file_parse_string("t.ini", "[a\nx = 1\n", &f, &err), -EINVAL,
               "ini: unterminated section header fails");
        is_str(err, "t.ini:1: syntax error: expected '[section]' or 'key = value'",
               "ini: unterminated section header on line 1");
        free(err);
        err = NULL;

        /* Debian's inih caps lines at 200 bytes; this reader takes a 4 KiB list whole. */
        struct buf b = {0};
        buf_puts(&b, "[a]\nx = 1\ny = ");
        for (int i = 0; i < 4096 / 16; i++)
                buf_puts(&b, "https://e.x/123 ");
        buf_puts(&b, "\nz = 2\n");
        is_int(ini_file_parse_string("t.ini", b.data, &f, &err), 0, "ini: a 4 KiB line is read");
        e = f ? find_entry(f, "a", "y") : NULL;
        ok(e && strlen(e->value) == 4095 && e->line == 3, "ini: the 4 KiB value whole, line 3");
        e = f ? find_entry(f, "a", "z") : NULL;
        ok(e && e->line == 4, "ini: the line after it counted right");
        f = ini_file_free(f);
        buf_done(&b);

        /* The limit that must exist is checked and named, with the line. */
        buf_puts(&b, "[a]\nx = 1\ny = ");
        while (b.len < 14 + INI_LINE_MAX - 3)
                buf_puts(&b, "v");
        buf_puts(&b, "\nz = 2\n");
        is_int(ini_file_parse_string("t.ini", b.data, &f, &err), -EINVAL,
               "ini: a line over INI_LINE_MAX fails");
        ok(f == NULL, "ini: no result for a long line");
        is_str(err, "t.ini:3: line too long (at most 65536 bytes)", "ini: long line exact message");
        free(err);
        err = NULL;
        buf_done(&b);

        /* The longest line that fits is accepted whole. */
        buf_puts(&b, "[a]\nk = ");
        while (b.len < 4 + INI_LINE_MAX)
                buf_puts(&b, "v");
        buf_puts(&b, "\n");
        is_int(ini_file_parse_string("t.ini", b.data, &f, &err), 0,
               "ini: a line of INI_LINE_MAX bytes accepted");
        e = f ? find_entry(f, "a", "k") : NULL;
        ok(e && strlen(e->value) == INI_LINE_MAX - 4, "ini: and not truncated");
        ini_file_free(f);
        f = NULL;
        buf_done(&b);

        /* inih's syntax, as before: a byte order mark, CRLF, ';' and '#' comments, inline
         * comments after a blank (not inside a value), "key: value", blanks around names. */
        is_int(ini_file_parse_string("t.ini",
                                     "\xef\xbb\xbf[a] ; first\r\n"
                                     "# comment\r\n"
                                     "u = https://h/x;y ; the rest is a comment\r\n"
                                     "k : v\n"
                                     "  e =   \n"
                                     "\t[ b ]\n"
                                     "q = ;all comment\n",
                                     &f, &err),
               0, "ini: inih's syntax parses");
        e = f ? find_entry(f, "a", "u") : NULL;
        ok(e && streq(e->value, "https://h/x;y") && e->line == 3,
           "ini: ';' inside a value stays, after a blank it starts a comment");
        e = f ? find_entry(f, "a", "k") : NULL;
        ok(e && streq(e->value, "v"), "ini: 'key: value'");
        e = f ? find_entry(f, "a", "e") : NULL;
        ok(e && streq(e->value, "") && e->line == 5, "ini: an indented key, empty value");
        e = f ? find_entry(f, "b", "q") : NULL;
        ok(e && streq(e->value, ""), "ini: a value that is all comment is empty");
        ok(f && strv_length(f->sections) == 2 && streq(f->sections[0], "a") &&
               f->section_lines[1] == 6,
           "ini: headers with their lines, BOM and comment aside");
        f = ini_file_free(f);
        is_int(ini_file_parse_string("t.ini", "[a]\nk ; x = 1\n", &f, &err), -EINVAL,
               "ini: an inline comment before '=' leaves no pair");
        is_str(err, "t.ini:2: syntax error: expected '[section]' or 'key = value'",
               "ini: and names its line");
        free(err);
        err = NULL;
}

static void test_model_valid(void)
{
        struct model *m = NULL;
        char **errors = NULL;
        int r = load(base_conf, &m, &errors);
        is_int(r, 0, "model: minimal config loads");
        ok(errors == NULL, "model: no errors");
        for (size_t i = 0; errors && errors[i]; i++)
                printf("#   %s\n", errors[i]);
        strv_free(errors);
        if (!m)
                return;
        is_str(m->config_path, "test.conf", "model: config_path is the given name");
        is_str(model_get(m, "cluster.version"), "v1.21.0", "model: cluster.version from the file");
        is_str(model_get(m, "node.internal-ip"), "10.240.0.10",
               "model: node.internal-ip from the file");
        is_str(model_get(m, "paths.bin-dir"), "/usr/local/bin", "model: default paths.bin-dir");
        is_str(model_get(m, "paths.lib-dir"), "/var/lib/kubernetes",
               "model: default paths.lib-dir");
        is_str(model_get(m, "cluster.service-cluster-ip-range"), "10.32.0.0/24",
               "model: default service-cluster-ip-range");
        is_str(model_get(m, "cluster.cluster-cidr"), "10.200.0.0/16",
               "model: default cluster-cidr");
        is_str(model_get(m, "cluster.service-node-port-range"), "30000-32767",
               "model: default service-node-port-range");
        is_str(model_get(m, "cluster.apiserver-count"), "3", "model: default apiserver-count");
        is_str(model_get(m, "cluster.name"), "kubernetes", "model: default cluster.name");
        is_str(model_get(m, "download.base-url"), "https://dl.k8s.io/release",
               "model: default base-url");
        is_str(model_get(m, "download.ca-file"), "", "model: optional ca-file defaults to empty");
        is_int(m->checksum, DIGEST_SHA256, "model: checksum defaults to sha256");
        ok(model_get(m, "cluster.nope") == NULL, "model: unknown name gives NULL");
        int any_pin = 0, any_edit = 0;
        for (int i = 0; i < _BINARY_MAX; i++)
                any_pin |= m->pins[i].set;
        for (size_t i = 0; i < n_components; i++)
                any_edit |= m->n_edits[i] != 0;
        ok(!any_pin, "model: no pins without digest keys");
        ok(!any_edit, "model: no flag edits without component sections");

        /* The typed view: every value once, defaults from the schema, numbers and modes typed. */
        is_str(m->cfg.cluster.version, "v1.21.0", "cfg: cluster.version from the file");
        is_str(m->cfg.node.internal_ip, "10.240.0.10", "cfg: node.internal_ip from the file");
        is_str(m->cfg.paths.bin_dir, "/usr/local/bin", "cfg: default paths.bin_dir");
        is_str(m->cfg.paths.cache_dir, "/var/cache/kubestrap", "cfg: default paths.cache_dir");
        is_str(m->cfg.download.ca_file, "", "cfg: an optional string left empty is \"\"");
        is_str(m->cfg.fanout.remote_command, "kubestrap", "cfg: default remote_command");
        is_int(m->cfg.cluster.apiserver_count, 3, "cfg: apiserver_count is a number");
        is_int(m->cfg.health.timeout, 120, "cfg: default health timeout");
        is_int(m->cfg.download.retries, 3, "cfg: default retries");
        is_int(m->cfg.download.retry_delay_ms, 250, "cfg: default retry delay");
        is_int(m->cfg.download.max_size, 2147483648U, "cfg: default max-size, 2 GiB");
        is_int(m->cfg.download.timeout, 1800, "cfg: default download timeout");
        is_int(m->cfg.cluster.apply_rbac, RBAC_ONCE, "cfg: apply-rbac defaults to once");
        is_str(m->cfg.download.signatures, "", "cfg: signatures unset: follows the version");
        is_str(m->cfg.download.signature_identity,
               "krel-staging@k8s-releng-prod.iam.gserviceaccount.com",
               "cfg: default signature-identity, the one Kubernetes signs with");
        is_str(m->cfg.download.signature_issuer, "https://accounts.google.com",
               "cfg: default signature-issuer");
        is_str(m->cfg.download.signature_roots, "", "cfg: signature-roots unset: the shipped ones");
        is_str(m->cfg.download.ct_log_keys, "", "cfg: ct-log-keys unset: the shipped ones");
        is_int(signature_mode_for(m, "v1.21.0"), SIGNATURE_OFF, "signatures default off for v1.21");
        is_int(signature_mode_for(m, "v1.25.16"), SIGNATURE_OFF, "and for v1.25");
        is_int(signature_mode_for(m, "v1.26.0"), SIGNATURE_REQUIRE,
               "signatures default to require from v1.26");
        is_int(signature_mode_for(m, "v1.36.0"), SIGNATURE_REQUIRE, "and for v1.36");
        is_int(m->cfg.download.source, SOURCE_BINARIES, "cfg: source defaults to binaries");
        is_int(model_set(m, "pki.source-dir", "/bundle/pki"), 0, "model_set succeeds");
        is_str(m->cfg.pki.source_dir, "/bundle/pki", "cfg: model_set updates the typed view");
        is_str(model_get(m, "pki.source-dir"), "/bundle/pki", "cfg: and the value by name");
        model_free(m);

        _cleanup_free_ char *typed = conf(NULL, NULL,
                                          "[download]\nsource = tarball\nretries = 7\n"
                                          "[cluster]\napply-rbac = never\n");
        _cleanup_strv_free_ char **typed_errs = NULL;
        r = load(typed, &m, &typed_errs);
        is_int(r, 0, "cfg: a config with typed values loads");
        if (m) {
                is_int(m->cfg.download.source, SOURCE_TARBALL, "cfg: source = tarball");
                is_int(m->cfg.download.retries, 7, "cfg: retries = 7");
                is_int(m->cfg.cluster.apply_rbac, RBAC_NEVER, "cfg: apply-rbac = never");
        }
        m = model_free(m);

        /* A pin prefix is lower-case only. */
        _cleanup_free_ char *bad_pin = conf(NULL, NULL, "[download]\ndigest.kubectl = SHA256:x\n");
        _cleanup_strv_free_ char **errs = NULL;
        r = load(bad_pin, &m, &errs);
        is_int(r, -EINVAL, "model: upper-case pin prefix refused");
        is_str(errs ? errs[0] : NULL,
               "test.conf:12: [download] digest.kubectl: invalid value 'SHA256:x': expected "
               "sha256:<64 hex digits> or sha512:<128 hex digits>",
               "model: pin error message");

        /* Checksum, pins and flag edits. */
        _cleanup_free_ char *text = conf(NULL, NULL,
                                         "[download]\n"        /* 11 */
                                         "checksum = sha512\n" /* 12 */
                                         "digest.kubectl = sha256:BA7816BF8F01CFEA414140DE5DAE"
                                         "2223B00361A396177A9CB410FF61F20015AD\n" /* 13 */
                                         "[kube-apiserver]\n"                     /* 14 */
                                         "v = 4\n"                                /* 15 */
                                         "+profiling = false\n"                   /* 16 */
                                         "-audit-log-path =\n"                    /* 17 */
                                         "+runtime-config = 'api/all=true'\n"     /* 18 */
                                         "[kube-scheduler]\n"                     /* 19 */
                                         "+bare =\n");                            /* 20 */
        errors = NULL;
        r = load(text, &m, &errors);
        is_int(r, 0, "model: config with pins and edits loads");
        for (size_t i = 0; errors && errors[i]; i++)
                printf("#   %s\n", errors[i]);
        strv_free(errors);
        if (!m)
                return;
        is_int(m->checksum, DIGEST_SHA512, "model: checksum = sha512");
        ok(m->pins[BINARY_KUBECTL].set, "model: kubectl pin set");
        is_int(m->pins[BINARY_KUBECTL].alg, DIGEST_SHA256, "model: kubectl pin is sha256");
        is_str(m->pins[BINARY_KUBECTL].hex,
               "ba7816bf8f01cfea414140de5dae2223b00361a396177a9cb410ff61f20015ad",
               "model: pin hex lowercased");
        ok(!m->pins[BINARY_APISERVER].set, "model: kube-apiserver pin not set");

        const struct flag_edit *e = m->edits[component_index(component_find("kube-apiserver"))];
        is_int(m->n_edits[component_index(component_find("kube-apiserver"))], 4,
               "model: four kube-apiserver edits");
        if (m->n_edits[component_index(component_find("kube-apiserver"))] == 4) {
                ok(e[0].op == '=' && streq(e[0].name, "v") && streq(e[0].value, "4") &&
                       e[0].line == 15,
                   "model: edit 'v = 4' is a replace on line 15");
                ok(e[1].op == '+' && streq(e[1].name, "profiling") && streq(e[1].value, "false") &&
                       e[1].line == 16,
                   "model: edit '+profiling = false' is an add on line 16");
                ok(e[2].op == '-' && streq(e[2].name, "audit-log-path") && streq(e[2].value, "") &&
                       e[2].line == 17,
                   "model: edit '-audit-log-path =' is a removal on line 17");
                ok(e[3].op == '+' && streq(e[3].value, "'api/all=true'") && e[3].line == 18,
                   "model: whole-quoted value kept with its quotes");
        }
        is_int(m->n_edits[component_index(component_find("kube-controller-manager"))], 0,
               "model: no controller-manager edits");
        is_int(m->n_edits[component_index(component_find("kube-scheduler"))], 1,
               "model: one scheduler edit");
        if (m->n_edits[component_index(component_find("kube-scheduler"))] == 1)
                ok(m->edits[component_index(component_find("kube-scheduler"))][0].op == '+' &&
                       streq(m->edits[component_index(component_find("kube-scheduler"))][0].name,
                             "bare") &&
                       streq(m->edits[component_index(component_find("kube-scheduler"))][0].value,
                             "") &&
                       m->edits[component_index(component_find("kube-scheduler"))][0].line == 20,
                   "model: bare add recorded with empty value, line 20");
        model_free(m);
}

static void test_model_example(void)
{
        /* The shipped example, when the harness tells where the sources are. */
        const char *top = getenv("top_srcdir");
        if (!top || !*top) {
                ok(1, "# SKIP top_srcdir not set: examples/controller-0.conf not checked");
                return;
        }
        _cleanup_free_ char *path = path_join(top, "examples/controller-0.conf");
        struct model *m = NULL;
        _cleanup_strv_free_ char **errors = NULL;
        int r = model_load(path, &m, &errors);
        is_int(r, 0, "example: examples/controller-0.conf loads");
        for (size_t i = 0; errors && errors[i]; i++)
                printf("#   %s\n", errors[i]);
        if (!m)
                return;
        is_str(model_get(m, "cluster.etcd-servers"),
               "https://10.240.0.10:2379,https://10.240.0.11:2379,https://10.240.0.12:2379",
               "example: etcd-servers");
        is_str(model_get(m, "node.internal-ip"), "10.240.0.10", "example: internal-ip");
        is_str(model_get(m, "paths.unit-dir"), "/etc/systemd/system",
               "example: commented key gets its default");
        int edits = 0;
        for (size_t i = 0; i < n_components; i++)
                edits += (int)m->n_edits[i];
        is_int(edits, 0, "example: commented flag edits are not edits");
        model_free(m);
}

static void test_model_errors(void)
{
        one_error(NULL, NULL, "[cluster]\nverison = v1.22.0\n",
                  "test.conf:12: [cluster] verison: unknown key (did you mean 'version'?)",
                  "misspelt key");
        one_error(NULL, NULL, "[node]\netcd-servers = https://10.240.0.10:2379\n",
                  "test.conf:12: [node] etcd-servers: unknown key (it belongs in [cluster])",
                  "key in the wrong section");
        one_error(NULL, NULL, "[node]\ncolour = blue\n", "test.conf:12: [node] colour: unknown key",
                  "unknown key without suggestion");
        one_error(NULL, NULL, "[clustr]\nname = x\n",
                  "test.conf:11: [clustr]: unknown section (did you mean [cluster]?)",
                  "misspelt section with keys");
        one_error(NULL, NULL, "\n[kube-apiservr]\n",
                  "test.conf:12: [kube-apiservr]: unknown section (did you mean [kube-apiserver]?)",
                  "misspelt empty section");
        one_error(NULL, NULL, "[storage]\n", "test.conf:11: [storage]: unknown section",
                  "unknown section without suggestion");
        one_error(NULL, NULL, "[cluster]\nversion = v1.22.0\n",
                  "test.conf:12: [cluster] version: duplicate key (first set on line 2)",
                  "duplicate key in a reopened section");
        one_error(NULL, NULL, "[cluster]\nservice-cluster-ip-range = 10.32.0.1/24\n",
                  "test.conf:12: [cluster] service-cluster-ip-range: invalid value '10.32.0.1/24': "
                  "address has bits set beyond the prefix length",
                  "CIDR with host bits");
        one_error(
            NULL, NULL, "[cluster]\ncluster-cidr = 10.200.0.0/33\n",
            "test.conf:12: [cluster] cluster-cidr: invalid value '10.200.0.0/33': prefix length "
            "out of range",
            "CIDR prefix too long");
        one_error(
            NULL, NULL, "[cluster]\nservice-node-port-range = 32767-30000\n",
            "test.conf:12: [cluster] service-node-port-range: invalid value '32767-30000': ports "
            "must be 1-65535 and the first not above the second",
            "reversed port range");
        one_error(
            NULL, NULL, "[download]\nbase-url = http://mirror.example/release\n",
            "test.conf:12: [download] base-url: invalid value 'http://mirror.example/release': "
            "expected an https:// URL (plain http is never used)",
            "http base-url");
        one_error(NULL, NULL, "[paths]\nbin-dir = usr/local/bin\n",
                  "test.conf:12: [paths] bin-dir: invalid value 'usr/local/bin': expected an "
                  "absolute path",
                  "relative path");
        one_error(NULL, NULL, "[paths]\nunit-dir = /etc/systemd/../x\n",
                  "test.conf:12: [paths] unit-dir: invalid value '/etc/systemd/../x': path must be "
                  "normalized (no '..' or '//')",
                  "path with '..'");
        one_error("public-address = 203.0.113.10\n", "\n", NULL,
                  "test.conf: [cluster] public-address: required key is missing",
                  "missing required key has no line number");
        one_error("source-dir = /root\n", "", NULL,
                  "test.conf: [pki] source-dir: required key is missing", "missing pki.source-dir");
        one_error(NULL, NULL, "[kube-apiserver]\n-v = 3\n",
                  "test.conf:12: [kube-apiserver] -v: a removal takes no value (write '-v =')",
                  "removal with a value");
        one_error(
            NULL, NULL, "[kube-apiserver]\n--v = 3\n",
            "test.conf:12: [kube-apiserver] --v: invalid flag name: expected a flag name without "
            "leading dashes",
            "flag name with two dashes");
        one_error(
            NULL, NULL, "[kube-controller-manager]\nv/x = 3\n",
            "test.conf:12: [kube-controller-manager] v/x: invalid flag name: flag names consist of "
            "letters, digits, '-', '_' and '.'",
            "flag name with a slash");
        one_error(
            NULL, NULL, "[kube-scheduler]\n+ = 3\n",
            "test.conf:12: [kube-scheduler] +: invalid flag name: expected a flag name without "
            "leading dashes",
            "add without a flag name");
        one_error(NULL, NULL, "[kube-apiserver]\nv = 3\n+v = 4\n",
                  "test.conf:13: [kube-apiserver] +v: flag 'v' already edited on line 12",
                  "flag edited twice");
        one_error(NULL, NULL, "[kube-apiserver]\n+authorization-mode = Node, RBAC\n",
                  "test.conf:12: [kube-apiserver] +authorization-mode: invalid value 'Node, RBAC': "
                  "blanks, quotes and backslashes are not allowed in flag values",
                  "flag value with a blank");
        one_error(
            NULL, NULL, "[kube-apiserver]\nv = 3\x1b[2J\n",
            "test.conf:12: [kube-apiserver] v: invalid value '3\x1b[2J': control characters are "
            "not allowed",
            "flag value with a control character");
        one_error(NULL, NULL, "[cluster]\nname = kube\x01netes\n",
                  "test.conf:12: [cluster] name: control characters are not allowed",
                  "control character in a value");
        one_error(NULL, NULL, "[cluster]\nname = kube\tnetes\n",
                  "test.conf:12: [cluster] name: control characters are not allowed",
                  "tab inside a value");
        one_error(
            NULL, NULL, "[download]\ndigest.kube-apiserver = sha256:abcd\n",
            "test.conf:12: [download] digest.kube-apiserver: invalid value 'sha256:abcd': expected "
            "sha256:<64 hex digits> or sha512:<128 hex digits>",
            "short pin digest");
        one_error(NULL, NULL,
                  "[download]\ndigest.kube-scheduler = md5:d41d8cd98f00b204e9800998ecf8427e\n",
                  "test.conf:12: [download] digest.kube-scheduler: invalid value "
                  "'md5:d41d8cd98f00b204e9800998ecf8427e': expected sha256:<64 hex digits> or "
                  "sha512:<128 hex digits>",
                  "pin with an unknown algorithm");
        one_error("internal-ip = 10.240.0.10", "internal-ip = controller-0", NULL,
                  "test.conf:7: [node] internal-ip: invalid value 'controller-0': expected an IP "
                  "address or 'auto'",
                  "internal-ip not an IP");
        one_error(
            NULL, NULL, "[download]\narch = x86_64\n",
            "test.conf:12: [download] arch: invalid value 'x86_64': expected one of amd64, arm64, "
            "arm, ppc64le, s390x",
            "unknown arch");
        one_error(
            NULL, NULL, "[download]\nchecksum = md5\n",
            "test.conf:12: [download] checksum: invalid value 'md5': expected sha256 or sha512",
            "unknown checksum");
        one_error(NULL, NULL, "[cluster]\napiserver-count = 0\n",
                  "test.conf:12: [cluster] apiserver-count: invalid value '0': number out of range",
                  "apiserver-count 0");
        one_error(
            NULL, NULL, "[cluster]\nname = my.cluster\n",
            "test.conf:12: [cluster] name: invalid value 'my.cluster': expected a name of letters, "
            "digits and '-'",
            "cluster name with a dot");
        one_error(
            "etcd-servers = https://10.240.0.10:2379",
            "etcd-servers = https://10.240.0.10:2379,,https://10.240.0.11:2379", NULL,
            "test.conf:4: [cluster] etcd-servers: invalid value "
            "'https://10.240.0.10:2379,,https://10.240.0.11:2379': empty entry in the URL list",
            "etcd-servers with an empty entry");
        one_error(NULL, NULL, "[cluster]\nthis line is not a pair\n",
                  "test.conf:12: syntax error: expected '[section]' or 'key = value'",
                  "syntax error reported through the model");
}

static void test_model_error_values(void)
{
        /* An invalid value of a required key is one error, not also "required key is missing". */
        _cleanup_free_ char *text = conf("version = v1.21.0", "version = 1.21.0", NULL);
        struct model *m = NULL;
        _cleanup_strv_free_ char **errors = NULL;
        is_int(load(text, &m, &errors), -EINVAL, "invalid version: load fails");
        is_int(strv_length(errors), 1, "invalid version: one error, not also 'missing'");
        is_str(errors ? errors[0] : NULL,
               "test.conf:2: [cluster] version: invalid value '1.21.0': expected a version such as "
               "v1.21.0, or a marker: stable or stable-1.NN",
               "invalid version: message");
        for (size_t i = 1; errors && errors[i]; i++)
                printf("#   further error: %s\n", errors[i]);
        errors = strv_free(errors);

        /* ... and repeating it is still a duplicate of the first (invalid) line. */
        _cleanup_free_ char *text2 =
            conf("version = v1.21.0", "version = v1.21", "[cluster]\nversion = v1.21.0\n");
        is_int(load(text2, &m, &errors), -EINVAL, "invalid then repeated: load fails");
        is_int(strv_length(errors), 2, "invalid then repeated: two errors");
        if (strv_length(errors) == 2) {
                is_str(errors[0],
                       "test.conf:2: [cluster] version: invalid value 'v1.21': expected a version "
                       "such as v1.21.0, or a marker: stable or stable-1.NN",
                       "invalid then repeated: the invalid value");
                is_str(errors[1],
                       "test.conf:12: [cluster] version: duplicate key (first set on line 2)",
                       "invalid then repeated: the duplicate");
        }
        errors = strv_free(errors);

        /* Regression (was a bug in src/config.c): keys under "[ paths ]" are filed under section "
         * paths ", which load_entries() skips as an unknown section that check_section() never
         * reports (it saw the trimmed "paths"): the value is silently dropped for the default. */
        _cleanup_free_ char *text3 = conf(NULL, NULL, "[ paths ]\nbin-dir = /opt/bin\n");
        int r = load(text3, &m, &errors);
        ok(m && streq(model_get(m, "paths.bin-dir"), "/opt/bin"),
           "'[ paths ]' bin-dir is used, not silently dropped");
        if (m)
                printf("#   paths.bin-dir = %s\n", model_get(m, "paths.bin-dir"));
        m = model_free(m);
        errors = strv_free(errors);

        /* Regression (was a bug in src/config.c): inih's multi-line mode takes an indented line
         * after a key as a continuation of that key, so "  public-address = ..." becomes a second
         * "version" and the error names a key the operator did not write twice. */
        _cleanup_free_ char *text4 = conf("public-address = ", "  public-address = ", NULL);
        r = load(text4, &m, &errors);
        ok(r == 0, "an indented key is a key, not a continuation of the previous one");
        for (size_t i = 0; errors && errors[i]; i++)
                printf("#   %s\n", errors[i]);
        model_free(m);
}

static void test_model_many_errors(void)
{
        /* Everything wrong at once is reported at once, in file order, missing keys last. */
        _cleanup_free_ char *text = conf("public-address = 203.0.113.10\n", "\n",
                                         "[clustr]\n"                     /* 11 */
                                         "[cluster]\n"                    /* 12 */
                                         "verison = v1\n"                 /* 13 */
                                         "cluster-cidr = 10.200.0.1/16\n" /* 14 */
                                         "[paths]\n"                      /* 15 */
                                         "bin-dir = bin\n"                /* 16 */
                                         "[kube-apiserver]\n"             /* 17 */
                                         "-v = 2\n");                     /* 18 */
        struct model *m = NULL;
        _cleanup_strv_free_ char **errors = NULL;
        is_int(load(text, &m, &errors), -EINVAL, "many errors: load fails");
        ok(m == NULL, "many errors: no model");
        is_int(strv_length(errors), 6, "many errors: all six reported");
        for (size_t i = 0; strv_length(errors) != 6 && errors && errors[i]; i++)
                printf("#   %s\n", errors[i]);
        if (strv_length(errors) == 6) {
                is_str(errors[0],
                       "test.conf:11: [clustr]: unknown section (did you mean [cluster]?)",
                       "many errors: 1st is the unknown section");
                like_str(errors[1],
                         "test.conf:13: [cluster] verison: ", "many errors: 2nd is line 13");
                like_str(errors[2],
                         "test.conf:14: [cluster] cluster-cidr: ", "many errors: 3rd is line 14");
                like_str(errors[3],
                         "test.conf:16: [paths] bin-dir: ", "many errors: 4th is line 16");
                like_str(errors[4],
                         "test.conf:18: [kube-apiserver] -v: ", "many errors: 5th is line 18");
                is_str(errors[5], "test.conf: [cluster] public-address: required key is missing",
                       "many errors: missing key comes last");
        }
        model_free(m);

        /* A syntax error stops before the model: a single error. */
        char **e2 = NULL;
        is_int(load("[cluster]\nversion\n", &m, &e2), -EINVAL, "syntax error: load fails");
        is_int(strv_length(e2), 1, "syntax error: one error");
        strv_free(e2);
}

int main(void)
{
        test_ini();
        test_model_valid();
        test_model_example();
        test_model_errors();
        test_model_error_values();
        test_model_many_errors();
        return done_testing();
}
