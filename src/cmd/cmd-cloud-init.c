/* kubestrap cloud-init: #cloud-config user-data that puts this controller's configuration and
 * PKI in place (with their modes) and starts the shipped first-boot unit, which runs
 * kubestrap apply. */
#include <errno.h>
#include <stdio.h>
#include <string.h>

#include "cmd.h"
#include "config.h"
#include "digest.h"
#include "fileio.h"
#include "log.h"
#include "pipeline.h"

#define NODE_DIR "/etc/kubestrap"

/* One write_files entry; the content as base64 so no YAML quoting can go wrong. */
static int write_file_entry(const char *path, const char *mode, const char *data, size_t len)
{
        _cleanup_free_ char *b64 = NULL;
        int r = base64_encode(data, len, &b64);
        if (r < 0)
                return r;
        printf("  - path: %s\n    owner: root:root\n    permissions: '%s'\n    encoding: b64\n"
               "    content: %s\n",
               path, mode, b64);
        return 0;
}

static int cmd_cloud_init(struct cmd_ctx *ctx)
{
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
        const char *ca = m->cfg.download.ca_file;
        if (r >= 0 && ca && *ca)
                r = strv_extend(&over, "download.ca-file=" NODE_DIR "/download-ca.pem");
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

        printf("#cloud-config\n");
        printf("# kubestrap: first-boot provisioning of %s (from %s)\n",
               ctx->host ? ctx->host : "this controller", ctx->config_path);
        printf("write_files:\n");
        r = write_file_entry(NODE_DIR "/kubestrap.conf", "0644", ini, strlen(ini));
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
                r = dest ? write_file_entry(dest, pki_files[i].secret ? "0600" : "0644", data, len)
                         : -ENOMEM;
        }
        if (r >= 0 && ca && *ca) {
                _cleanup_free_ char *data = NULL;
                size_t len = 0;
                r = read_file_trusted(ca, 1 << 20, &data, &len);
                if (r < 0)
                        log_error_errno(r, "cloud-init: %s: %m", ca);
                else
                        r = write_file_entry(NODE_DIR "/download-ca.pem", "0644", data, len);
        }
        if (r >= 0) {
                /* --no-block: runcmd runs inside cloud-final.service, which must not wait on it */
                printf("runcmd:\n");
                printf("  - [systemctl, daemon-reload]\n");
                printf("  - [systemctl, enable, --now, --no-block, kubestrap-firstboot.service]\n");
        }
        fflush(stdout);
        model_free(m);
        return r < 0 ? EXIT_RUN_FAILED : EXIT_OK;
}

const struct command cmd_cloud_init_entry = {
    .name = "cloud-init",
    .min_args = 0,
    .max_args = 0,
    .usage = "cloud-init [--host NAME]",
    .summary = "print #cloud-config user-data that provisions a node at first boot",
    .exec = cmd_cloud_init,
};
