/* kubestrap cloud-init: #cloud-config user-data that puts this controller's configuration and
 * PKI in place (with their modes) and starts the shipped first-boot unit, which runs
 * kubestrap apply. With --deb it also carries kubestrap's own package, or with --apt-source it
 * names the repository to install it from, so a node without kubestrap provisions itself. */
#include <errno.h>
#include <stdio.h>
#include <string.h>

#include "archive.h"
#include "cmd.h"
#include "config.h"
#include "digest.h"
#include "fileio.h"
#include "log.h"
#include "pipeline.h"
#include "util.h"

#define NODE_DIR "/etc/kubestrap"
/* where --deb's package is written on the node (kubestrap's state directory, which the
 * package does not own) */
#define DEB_DIR "/var/lib/kubestrap"
/* EC2 refuses user-data above 16 KB (before its own base64); other clouds allow more */
#define USER_DATA_LIMIT 16384
/* a .deb of kubestrap is a few hundred KB; this only stops a wrong file */
#define DEB_MAX (64u << 20)

/* One write_files entry: the content gzip-compressed, then base64 ("gz+b64"), so no YAML
 * quoting can go wrong and the user-data stays small. */
static int write_file_entry(struct buf *out, const char *path, const char *mode, const char *data,
                            size_t len, char **ret_error)
{
        _cleanup_free_ char *gz = NULL, *b64 = NULL;
        size_t gz_len = 0;
        int r = archive_gzip(data, len, &gz, &gz_len, ret_error);
        if (r >= 0)
                r = base64_encode(gz, gz_len, &b64);
        if (r < 0)
                return r;
        return buf_printf(out,
                          "  - path: %s\n    owner: root:root\n    permissions: '%s'\n"
                          "    encoding: gz+b64\n    content: %s\n",
                          path, mode, b64);
}

/* A package file name as dpkg writes them (name_version_arch.deb): safe in YAML and as an
 * argument, and what apt-get expects of a local package. */
static bool deb_name_ok(const char *name)
{
        if (!endswith(name, ".deb") || name[0] == '.' || name[0] == '-')
                return false;
        for (const char *p = name; *p; p++)
                if (!strchr("abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789._+~-",
                            *p))
                        return false;
        return true;
}

/* An apt sources line: "deb [options] URI SUITE [COMPONENT...]", one line, written into YAML
 * single quotes (so no single quote in it). */
static bool apt_line_ok(const char *line)
{
        return startswith(line, "deb ") && !string_has_cc(line) && !strchr(line, '\'');
}

/* Files the config names that the node needs too: carried in the user-data, and the node's
 * config pointed at its copies. */
static const struct {
        const char *key, *node_path;
} carried[] = {
    {"download.ca-file", NODE_DIR "/download-ca.pem"},
    {"download.signature-roots", NODE_DIR "/signature-roots.pem"},
    {"download.ct-log-keys", NODE_DIR "/ct-log-keys.pem"},
};

static int cmd_cloud_init(struct cmd_ctx *ctx)
{
        const char *deb = cmd_opt(ctx, "deb"), *apt = cmd_opt(ctx, "apt-source");
        const char *deb_name = deb && strrchr(deb, '/') ? strrchr(deb, '/') + 1 : deb;
        if (deb && apt)
                return cmd_usage_error(ctx,
                                       "--deb and --apt-source are two ways to one end; give one");
        if (deb && !deb_name_ok(deb_name))
                return cmd_usage_error(ctx,
                                       "--deb %s: expected a package file named like "
                                       "kubestrap_VERSION_ARCH.deb (letters, digits, . _ + ~ -)",
                                       deb);
        if (apt && !apt_line_ok(apt))
                return cmd_usage_error(
                    ctx,
                    "--apt-source '%s': expected one line 'deb [OPTIONS] URI SUITE "
                    "[COMPONENT...]' without quotes",
                    apt);
        struct model *m = NULL;
        int r = cmd_load_model(ctx, &m);
        if (r != EXIT_OK)
                return r;
        /* the config it writes has no inventory: the node would boot as a controller */
        if (m->role != NODE_CONTROLLER) {
                log_error("cloud-init: [host %s] has role = %s; cloud-init provisions "
                          "controllers (provision a load balancer with fanout, or apply --host)",
                          ctx->host, node_role_to_string(m->role));
                model_free(m);
                return EXIT_USAGE;
        }
        _cleanup_strv_free_ char **over = NULL;
        _cleanup_free_ char *ini = NULL;
        /* on the node, the files are where this user-data puts them */
        r = strv_extend(&over, "pki.source-dir=" NODE_DIR "/pki");
        for (size_t i = 0; i < ELEMENTSOF(carried) && r >= 0; i++) {
                const char *v = model_get(m, carried[i].key);
                _cleanup_free_ char *o =
                    v && *v ? strjoin3(carried[i].key, "=", carried[i].node_path) : NULL;
                if (v && *v)
                        r = o ? strv_extend(&over, o) : -ENOMEM;
        }
        if (r >= 0 && ctx->host) {
                _cleanup_free_ char *ip =
                    strjoin3("node.internal-ip=", m->cfg.node.internal_ip, NULL);
                r = ip ? strv_extend(&over, ip) : -ENOMEM;
        }
        /* etcd's members come from the inventory, which the node does not get: the values
         * resolved here go with it (the name only for a --host; else the node's own) */
        if (r >= 0 && m->etcd) {
                const char *keys[] = {"etcd.initial-cluster", "cluster.etcd-servers",
                                      ctx->host ? "etcd.name" : NULL};
                for (size_t i = 0; i < ELEMENTSOF(keys) && keys[i] && r >= 0; i++) {
                        _cleanup_free_ char *kv = strjoin3(keys[i], "=", model_get(m, keys[i]));
                        r = kv ? strv_extend(&over, kv) : -ENOMEM;
                }
        }
        if (r >= 0)
                r = model_write_ini(m, over, &ini);
        if (r < 0) {
                model_free(m);
                return log_error_errno(r, "cloud-init: %m"), EXIT_RUN_FAILED;
        }
        /* read back as the node will read it, so a first boot cannot fail on its own config */
        struct ini_file *check = NULL;
        _cleanup_free_ char *why = NULL;
        r = ini_file_parse_string(NODE_DIR "/kubestrap.conf", ini, &check, &why);
        ini_file_free(check);
        if (r < 0) {
                log_error("cloud-init: the node could not read the configuration written for it: "
                          "%s",
                          why ? why : strerror(-r));
                model_free(m);
                return EXIT_RUN_FAILED;
        }

        _cleanup_buf_ struct buf out = {0};
        _cleanup_free_ char *error = NULL;
        _cleanup_free_ char *deb_path = deb_name ? strjoin3(DEB_DIR "/", deb_name, NULL) : NULL;

        r = buf_printf(&out,
                       "#cloud-config\n# kubestrap: first-boot provisioning of %s (from %s)\n",
                       ctx->host ? ctx->host : "this controller", ctx->config_path);
        /* the package from the operator's repository, installed before runcmd runs */
        if (r >= 0 && apt)
                r = buf_printf(&out,
                               "apt:\n  sources:\n    kubestrap.list:\n      source: '%s'\n"
                               "package_update: true\npackages:\n  - kubestrap\n",
                               apt);
        if (r >= 0)
                r = buf_printf(&out, "write_files:\n");
        if (r >= 0)
                r = write_file_entry(&out, NODE_DIR "/kubestrap.conf", "0644", ini, strlen(ini),
                                     &error);
        const char *src = m->cfg.pki.source_dir;
        for (size_t i = 0; r >= 0 && i < n_pki_files; i++) {
                const char *name = model_pki_name(m, pki_files[i].name);
                _cleanup_free_ char *path = path_join(src, name);
                _cleanup_free_ char *data = NULL, *dest = NULL;
                size_t len = 0;
                r = path ? read_file_trusted(path, 1 << 20, &data, &len) : -ENOMEM;
                if (r == -ENOENT && pki_files[i].admin) {
                        r = 0;
                        continue;
                }
                if (r < 0) {
                        log_error_errno(r, "cloud-init: %s: %m", path);
                        break;
                }
                dest = strjoin3(NODE_DIR "/pki/", name, NULL);
                r = dest ? write_file_entry(&out, dest, pki_files[i].secret ? "0600" : "0644", data,
                                            len, &error)
                         : -ENOMEM;
        }
        for (size_t i = 0; i < ELEMENTSOF(carried) && r >= 0; i++) {
                const char *v = model_get(m, carried[i].key);
                _cleanup_free_ char *data = NULL;
                size_t len = 0;
                if (!v || !*v)
                        continue;
                r = read_file_trusted(v, 1 << 20, &data, &len);
                if (r < 0)
                        log_error_errno(r, "cloud-init: %s: %m", v);
                else
                        r = write_file_entry(&out, carried[i].node_path, "0644", data, len, &error);
        }
        if (r >= 0 && deb) {
                _cleanup_free_ char *data = NULL;
                size_t len = 0;
                r = deb_path ? read_file_trusted(deb, DEB_MAX, &data, &len) : -ENOMEM;
                if (r < 0)
                        log_error_errno(r, "cloud-init: --deb %s: %m", deb);
                else if (len < 8 || memcmp(data, "!<arch>\n", 8) != 0) {
                        log_error("cloud-init: --deb %s: not a Debian package (no ar header)", deb);
                        r = -EINVAL;
                } else
                        r = write_file_entry(&out, deb_path, "0644", data, len, &error);
        }
        /* runcmd runs after write_files and after the packages module; --no-block: it runs
         * inside cloud-final.service, which must not wait on the first-boot unit */
        if (r >= 0)
                r = buf_printf(&out, "runcmd:\n");
        if (r >= 0 && deb)
                r = buf_printf(
                    &out,
                    "  - [env, DEBIAN_FRONTEND=noninteractive, apt-get, install, -y, -q, "
                    "'%s']\n",
                    deb_path);
        if (r >= 0)
                r = buf_printf(&out, "  - [systemctl, daemon-reload]\n"
                                     "  - [systemctl, enable, --now, --no-block, "
                                     "kubestrap-firstboot.service]\n");
        if (r < 0) {
                if (error)
                        log_error("cloud-init: %s", error);
                else if (r == -ENOMEM)
                        log_error_errno(r, "cloud-init: %m");
                model_free(m);
                return EXIT_RUN_FAILED;
        }
        if (out.len > USER_DATA_LIMIT)
                log_warning("cloud-init: the user-data is %zu bytes, above EC2's limit of %d "
                            "bytes (other clouds allow more)%s",
                            out.len, USER_DATA_LIMIT,
                            deb ? "; --apt-source installs kubestrap from a repository instead"
                                : "");
        r = fwrite(out.data, 1, out.len, stdout) == out.len && fflush(stdout) == 0 ? 0 : -EIO;
        if (r < 0)
                log_error_errno(r, "cloud-init: writing the user-data: %m");
        model_free(m);
        return r < 0 ? EXIT_RUN_FAILED : EXIT_OK;
}

static const struct cmd_option options[] = {
    {"deb", 0, "FILE", "carry this kubestrap .deb and install it first (apt-get)"},
    {"apt-source", 0, "LINE", "install kubestrap from this apt line ('deb [...] URI SUITE COMP')"},
    {0},
};

const struct command cmd_cloud_init_entry = {
    .name = "cloud-init",
    .min_args = 0,
    .max_args = 0,
    .usage = "cloud-init [--host NAME] [--deb FILE | --apt-source LINE]",
    .summary = "print #cloud-config user-data that provisions a node at first boot",
    .options = options,
    .exec = cmd_cloud_init,
};
