/* Unit tests for etcd as a component: member IDs (against the chapter's own member list), the
 * data directory's member read from a write-ahead log a real etcd wrote, SHA256SUMS lines,
 * initial-cluster values and the [etcd] defaults of the model. */
#include <errno.h>
#include <inttypes.h>
#include <stdlib.h>

#include "digest.h"
#include "etcd.h"
#include "model.h"
#include "tap.h"
#include "tree.h"
#include "util.h"
#include "validate.h"

static const char chapter_cluster[] = "controller-0=https://10.240.0.10:2380,"
                                      "controller-1=https://10.240.0.11:2380,"
                                      "controller-2=https://10.240.0.12:2380";

static void test_member_id(void)
{
        /* the chapter's "etcdctl member list" output names these three IDs */
        static const struct {
                const char *name;
                uint64_t id;
        } want[] = {
            {"controller-0", 0xf98dc20bce6225a0ULL},
            {"controller-1", 0xffed16798470cab5ULL},
            {"controller-2", 0x3a57933972cb5131ULL},
        };
        for (size_t i = 0; i < ELEMENTSOF(want); i++) {
                uint64_t id = 0;
                is_int(etcd_member_id(chapter_cluster, want[i].name, "etcd-cluster-0", &id), 0,
                       "%s: an ID", want[i].name);
                ok(id == want[i].id, "%s is %016" PRIx64 " (got %016" PRIx64 ")", want[i].name,
                   want[i].id, id);
        }
        uint64_t a = 0, b = 0;
        etcd_member_id(chapter_cluster, "controller-0", "another-token", &a);
        ok(a != want[0].id, "another token, another ID");
        etcd_member_id("controller-0=https://10.240.0.99:2380", "controller-0", "etcd-cluster-0",
                       &b);
        ok(b != want[0].id, "another peer URL, another ID");
        is_int(etcd_member_id(chapter_cluster, "controller-9", "etcd-cluster-0", &a), -ENOENT,
               "a name that is not in initial-cluster: -ENOENT");
        is_int(etcd_member_id(chapter_cluster, "controller", "etcd-cluster-0", &a), -ENOENT,
               "a prefix of a name is not the name");
}

/* The first 56 bytes of the WAL Debian's etcd 3.4.23 wrote for a one-member cluster (member
 * 4577858347370119897 of cluster 13858927436611866398): a crc record, then the metadata. */
static const unsigned char wal_head[] = {
    0x04, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x84, 0x08, 0x04, 0x10, 0x00, 0x00, 0x00,
    0x00, 0x00, 0x1e, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x82, 0x08, 0x01, 0x10, 0xdc,
    0xd2, 0xcb, 0x0e, 0x1a, 0x15, 0x08, 0xd9, 0x85, 0xb6, 0x98, 0x99, 0xbd, 0xf4, 0xc3,
    0x3f, 0x10, 0x9e, 0x9e, 0xa9, 0xd9, 0xb6, 0xa2, 0xb3, 0xaa, 0xc0, 0x01, 0x00, 0x00,
};

static void write_wal(const char *name, const void *data, size_t len)
{
        mkdir(in_root("/data"), 0700);
        mkdir(in_root("/data/member"), 0700);
        mkdir(in_root("/data/member/wal"), 0700);
        char rel[256];
        snprintf(rel, sizeof(rel), "/data/member/wal/%s", name);
        FILE *f = fopen(in_root(rel), "we");
        if (!f || fwrite(data, 1, len, f) != len)
                printf("Bail out! cannot write %s\n", rel);
        if (f)
                fclose(f);
}

static void test_data_member(void)
{
        struct target t = {.root_fd = -1, .lock_fd = -1};
        uint64_t node = 0, cluster = 0;
        if (target_open(tree_root, &t) < 0) {
                printf("Bail out! target_open\n");
                exit(1);
        }
        is_int(etcd_data_member(&t, "/data", &node, &cluster), -ENOENT, "no directory: -ENOENT");
        mkdir(in_root("/data"), 0700);
        is_int(etcd_data_member(&t, "/data", &node, &cluster), -ENOENT,
               "an empty directory: no member");
        write_wal("0000000000000000-0000000000000000.wal", wal_head, sizeof(wal_head));
        write_wal("0000000000000001-0000000000000042.wal", "junk", 4);
        is_int(etcd_data_member(&t, "/data", &node, &cluster), 0, "a real etcd's WAL reads");
        ok(node == 4577858347370119897ULL, "its member ID");
        ok(cluster == 13858927436611866398ULL, "its cluster ID");
        /* the same member ID, computed: sha1("http://127.0.0.1:23801" "tok-x") */
        uint64_t id = 0;
        etcd_member_id("n=http://127.0.0.1:23801", "n", "tok-x", &id);
        ok(id == node, "is the ID computed from its peer URL and token");
        write_wal("0000000000000000-0000000000000000.wal", wal_head, 20);
        is_int(etcd_data_member(&t, "/data", &node, &cluster), -EBADMSG,
               "a log cut short: -EBADMSG");
        unsigned char bad[sizeof(wal_head)];
        memcpy(bad, wal_head, sizeof(bad));
        bad[16] = 0xff; /* a frame longer than the file */
        write_wal("0000000000000000-0000000000000000.wal", bad, sizeof(bad));
        is_int(etcd_data_member(&t, "/data", &node, &cluster), -EBADMSG,
               "a frame longer than the file: -EBADMSG");
        target_close(&t);
}

static void test_sums(void)
{
        static const char sums[] =
            "1111111111111111111111111111111111111111111111111111111111111111  "
            "etcd-v3.4.23-darwin-amd64.zip\n"
            "2222222222222222222222222222222222222222222222222222222222222222  "
            "etcd-v3.4.23-linux-amd64.tar.gz\n"
            "3333333333333333333333333333333333333333333333333333333333333333  "
            "etcd-v3.4.23-linux-amd64.tar.gz.asc\n";
        char hex[DIGEST_HEX_MAX];
        is_int(digest_parse_sums(sums, strlen(sums), DIGEST_SHA256,
                                 "etcd-v3.4.23-linux-amd64.tar.gz", hex),
               0, "SHA256SUMS: the tarball's line");
        is_str(hex, "2222222222222222222222222222222222222222222222222222222222222222",
               "its digest, not a neighbour's");
        is_int(digest_parse_sums(sums, strlen(sums), DIGEST_SHA256,
                                 "etcd-v3.4.23-linux-arm64.tar.gz", hex),
               -ENOENT, "no line for the file: -ENOENT");
        static const char broken[] = "xyz  etcd-v3.4.23-linux-amd64.tar.gz\n";
        is_int(digest_parse_sums(broken, strlen(broken), DIGEST_SHA256,
                                 "etcd-v3.4.23-linux-amd64.tar.gz", hex),
               -EBADMSG, "a malformed line: -EBADMSG");
}

static void test_initial_cluster(void)
{
        const char *why = NULL;
        is_int(validate_initial_cluster(chapter_cluster, &why), 0, "the chapter's");
        is_int(validate_initial_cluster("controller=http://127.0.0.1:2380", &why), 0,
               "the current edition's");
        ok(validate_initial_cluster("controller-0", &why) < 0, "no URL");
        ok(validate_initial_cluster("=https://10.0.0.1:2380", &why) < 0, "no name");
        ok(validate_initial_cluster("a=http://10.0.0.1:2380", &why) < 0,
           "plain http to another host");
        ok(validate_initial_cluster("a=https://10.0.0.1:2380,,b=https://10.0.0.2:2380", &why) < 0,
           "an empty member");
}

static const char etcd_conf[] = "[cluster]\n"
                                "version = v1.21.0\n"
                                "public-address = 203.0.113.10\n"
                                "[node]\n"
                                "internal-ip = 10.240.0.11\n"
                                "[pki]\n"
                                "source-dir = /root\n"
                                "[etcd]\n"
                                "version = v3.4.23\n"
                                "[host controller-0]\n"
                                "address = 10.240.0.10\n"
                                "internal-ip = 10.240.0.10\n"
                                "[host controller-1]\n"
                                "address = 10.240.0.11\n"
                                "internal-ip = 10.240.0.11\n";

static void test_model(void)
{
        struct model *m = NULL;
        char **errors = NULL;
        is_int(model_load_string("t.conf", etcd_conf, &m, &errors), 0, "[etcd] loads");
        if (!m) {
                strv_free(errors);
                return;
        }
        ok(m->etcd, "[etcd] turns etcd on");
        ok(model_runs(m, component_find("etcd")), "its row is on");
        is_str(m->cfg.etcd.name, "controller-1", "name: the host whose internal-ip is the node's");
        is_str(m->cfg.etcd.initial_cluster,
               "controller-0=https://10.240.0.10:2380,controller-1=https://10.240.0.11:2380",
               "initial-cluster: every host at https://<internal-ip>:2380");
        is_str(m->cfg.cluster.etcd_servers, "https://10.240.0.10:2379,https://10.240.0.11:2379",
               "etcd-servers: the members' client URLs");
        is_str(m->cfg.etcd.cluster_token, "etcd-cluster-0", "cluster-token: the chapter's");
        is_str(m->cfg.etcd.data_dir, "/var/lib/etcd", "data-dir: the chapter's");
        is_str(m->cfg.etcd.base_url, "https://github.com/etcd-io/etcd/releases/download",
               "base-url: etcd's releases");
        char *err = NULL;
        is_int(model_select_host(m, "controller-0", &err), 0, "--host controller-0");
        is_str(m->cfg.etcd.name, "controller-0", "makes that member's name the default");
        model_free(m);

        static const char without[] = "[cluster]\nversion = v1.21.0\npublic-address = 1.2.3.4\n"
                                      "etcd-servers = https://10.0.0.1:2379\n"
                                      "[node]\ninternal-ip = 10.0.0.1\n[pki]\nsource-dir = /r\n";
        is_int(model_load_string("t.conf", without, &m, &errors), 0, "without [etcd]");
        ok(m && !m->etcd && !model_runs(m, component_find("etcd")), "etcd is off");
        model_free(m);

        static const char no_version[] = "[cluster]\nversion = v1.21.0\npublic-address = 1.2.3.4\n"
                                         "[node]\ninternal-ip = 10.0.0.1\n[pki]\nsource-dir = /r\n"
                                         "[etcd]\n";
        m = NULL;
        is_int(model_load_string("t.conf", no_version, &m, &errors), -EINVAL,
               "[etcd] without version");
        is_str(errors ? errors[0] : NULL, "t.conf: [etcd] version: required key is missing",
               "names the key");
        errors = strv_free(errors);
}

/* etcd and a load balancer in one inventory: one on/off rule (model_runs) for both rows. The lb
 * host is no member of the cluster, runs no etcd even with [etcd], and its keepalived row only
 * runs with [lb] virtual-ip. */
static void test_with_lb(void)
{
        static const char conf[] = "[cluster]\nversion = v1.21.0\npublic-address = 10.240.0.20\n"
                                   "[node]\ninternal-ip = 10.240.0.10\n[pki]\nsource-dir = /r\n"
                                   "[etcd]\nversion = v3.4.23\n"
                                   "[host controller-0]\naddress = 10.240.0.10\n"
                                   "internal-ip = 10.240.0.10\n"
                                   "[host lb-0]\naddress = 10.240.0.20\ninternal-ip = 10.240.0.20\n"
                                   "role = lb\n"
                                   "[host controller-1]\naddress = 10.240.0.11\n"
                                   "internal-ip = 10.240.0.11\n";
        struct model *m = NULL;
        char **errors = NULL;
        is_int(model_load_string("t.conf", conf, &m, &errors), 0, "[etcd] with an lb host loads");
        errors = strv_free(errors);
        if (!m)
                return;
        const struct component *etcd = component_find("etcd");
        const struct component *haproxy = component_find("haproxy");
        const struct component *keepalived = component_find("keepalived");
        is_str(m->cfg.etcd.initial_cluster,
               "controller-0=https://10.240.0.10:2380,controller-1=https://10.240.0.11:2380",
               "initial-cluster: the controllers only, not the load balancer");
        ok(model_runs(m, etcd) && model_runs_etcd(m) && !model_runs(m, haproxy),
           "a controller runs etcd, not haproxy");
        char *err = NULL;
        is_int(model_select_host(m, "lb-0", &err), 0, "--host lb-0");
        ok(!model_runs(m, etcd) && !model_runs_etcd(m), "the load balancer runs no etcd");
        ok(model_runs(m, haproxy) && !model_runs(m, keepalived),
           "it runs haproxy; keepalived only with [lb] virtual-ip");
        is_str(m->cfg.etcd.name, "controller-0", "and is no member's name");
        is_int(model_set(m, "lb.virtual-ip", "10.240.0.30"), 0, "virtual-ip set");
        ok(model_runs(m, keepalived), "keepalived runs with it");
        model_free(m);
}

int main(void)
{
        char root[] = "/tmp/test-etcd.XXXXXX";
        if (!mkdtemp(root)) {
                printf("Bail out! mkdtemp: %s\n", strerror(errno));
                return 1;
        }
        tree_root = root;
        test_member_id();
        test_data_member();
        test_sums();
        test_initial_cluster();
        test_model();
        test_with_lb();
        rm_rf(root);
        return done_testing();
}
