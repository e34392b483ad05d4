/* Unit tests for the front-end load balancer: haproxy's "show stat" read, the backend lines
 * rendered from the inventory, roles, and the gcloud script's refusal of unsafe values. */
#include <errno.h>
#include <stdlib.h>
#include <string.h>

#include "lb.h"
#include "model.h"
#include "render.h"
#include "tap.h"
#include "util.h"

static const char inventory[] = "[cluster]\n"
                                "version = v1.21.0\n"
                                "public-address = 203.0.113.10\n"
                                "etcd-servers = https://10.240.0.10:2379\n"
                                "[node]\n"
                                "internal-ip = 10.240.0.10\n"
                                "[pki]\n"
                                "source-dir = /root\n"
                                "[host controller-0]\n"
                                "address = root@10.240.0.10\n"
                                "internal-ip = 10.240.0.10\n"
                                "[host lb-0]\n"
                                "address = root@10.240.0.20\n"
                                "role = lb\n"
                                "[host controller-1]\n"
                                "address = admin@fd00::11\n";

static struct model *load(const char *text)
{
        struct model *m = NULL;
        _cleanup_strv_free_ char **errors = NULL;
        int r = model_load_string("test.conf", text, &m, &errors);
        if (r < 0) {
                for (char **e = errors; e && *e; e++)
                        printf("# %s\n", *e);
                abort();
        }
        return m;
}

/* as haproxy 2.6 writes it (the columns trimmed after addr), with a frontend and the backend's
 * own row around the servers */
static const char stat_csv[] =
    "# pxname,svname,qcur,qmax,scur,smax,slim,stot,bin,bout,dreq,dresp,ereq,econ,eresp,wretr,"
    "wredis,status,weight,act,bck,chkfail,chkdown,lastchg,downtime,qlimit,pid,iid,sid,throttle,"
    "lbtot,tracked,type,rate,rate_lim,rate_max,check_status,check_code,check_duration,addr,\n"
    "kube-apiserver,FRONTEND,,,0,1,262120,3,0,0,0,0,0,,,,,OPEN,,,,,,,,,1,2,0,,,,0,0,0,1,,,,,\n"
    "kube-apiserver,controller-0,0,0,0,1,,2,0,0,,0,,0,0,0,0,UP,1,1,0,0,0,12,0,,1,3,1,,2,,2,0,,1,"
    "L7OK,200,3,10.240.0.10:6443,\n"
    "kube-apiserver,controller-1,0,0,0,1,,1,0,0,,0,,0,0,0,0,DOWN,1,1,0,2,1,3,3,,1,3,2,,1,,2,0,,1,"
    "L4CON,,0,10.240.0.11:6443,\n"
    "kube-apiserver,BACKEND,0,0,0,1,26212,3,0,0,0,0,,0,0,0,0,UP,2,2,0,,0,40,0,,1,3,0,,3,,1,0,,1,,,,"
    ",\n";

static void test_stats(void)
{
        struct lb_server *s = NULL;
        size_t n = 0;
        bool all = true;
        is_int(lb_stats_parse(stat_csv, LB_BACKEND, &s, &n), 0, "show stat parses");
        is_int((int)n, 2, "two servers: the frontend and backend rows are not servers");
        is_str(s[0].name, "controller-0", "first server's name");
        is_str(s[0].status, "UP", "its status");
        is_str(s[1].check, "L4CON", "the second's check status");
        is_str(s[1].addr, "10.240.0.11:6443", "its address");
        is_int((int)s[1].last_change_s, 3, "seconds since its status changed");
        _cleanup_free_ char *d = lb_servers_describe(s, n, &all);
        is_str(d, "controller-0 UP, controller-1 DOWN (L4CON)", "described on one line");
        ok(!all, "not all UP");
        lb_servers_free(s, n);
        is_int(lb_stats_parse(stat_csv, "other", &s, &n), 0, "another backend parses");
        is_int((int)n, 0, "with no servers");
        _cleanup_free_ char *none = lb_servers_describe(s, n, &all);
        ok(!all, "no servers is not all UP");
        is_str(none, "no servers", "and says so");
        lb_servers_free(s, n);
        is_int(lb_stats_parse("Unknown command\n", LB_BACKEND, &s, &n), -EBADMSG,
               "an answer without the CSV header is refused");
        is_int(lb_stats_parse("# pxname,svname\n", LB_BACKEND, &s, &n), -EBADMSG,
               "a header without status is refused");
        is_int(lb_stats_read("/nonexistent/haproxy.sock", LB_BACKEND, &s, &n), -ENOENT,
               "a missing socket is -ENOENT");
}

static void test_roles(void)
{
        struct model *m = load(inventory);
        ok(m->role == NODE_CONTROLLER, "a run without --host is a controller's");
        is_str(m->cfg.lb.network, "kubernetes-the-hard-way", "[lb] network: the seed's");
        is_str(m->cfg.lb.region, "", "[lb] region: empty, gcloud's own");
        is_int((int)m->cfg.lb.check_interval, 1000, "[lb] check-interval: 1000 ms");
        is_str(m->cfg.lb.virtual_ip, "", "[lb] virtual-ip: none");
        is_str(m->cfg.lb.interface, "eth0", "[lb] interface: eth0");
        is_str(m->cfg.paths.haproxy_dir, "/etc/haproxy", "[paths] haproxy-dir");
        is_str(m->cfg.paths.keepalived_dir, "/etc/keepalived", "[paths] keepalived-dir");
        is_int((int)m->hosts[0].role, NODE_CONTROLLER, "role defaults to controller");
        is_int((int)m->hosts[1].role, NODE_LB, "role = lb");
        _cleanup_free_ const struct host **ctl = NULL;
        size_t n = 0;
        is_int(model_hosts_of(m, NODE_CONTROLLER, &ctl, &n), 0, "the controllers");
        is_int((int)n, 2, "are two, in file order");
        is_str(ctl[1]->name, "controller-1", "past the lb host");
        const struct component *hap = component_find("haproxy");
        const struct component *api = component_api();
        ok(hap && !model_runs(m, hap) && model_runs(m, api),
           "a controller runs the API, no haproxy");
        char *err = NULL;
        is_int(model_select_host(m, "lb-0", &err), 0, "--host lb-0");
        ok(model_runs(m, hap) && !model_runs(m, api), "the lb host runs haproxy and no API server");
        _cleanup_free_ char *servers = NULL;
        is_int(render_lb_servers(m, &servers, &err), 0, "backend lines render");
        is_str(servers,
               "\tserver controller-0 10.240.0.10:6443\n\tserver controller-1 [fd00::11]:6443",
               "one per controller: internal-ip, else the ssh address's host (IPv6 bracketed)");
        model_free(m);
}

static void test_lb_errors(void)
{
        struct buf b = {0};
        buf_puts(&b, inventory);
        buf_puts(&b, "[lb]\ncheck-interval = 50\nvirtual-ip = nope\n");
        struct model *m = NULL;
        _cleanup_strv_free_ char **errors = NULL;
        is_int(model_load_string("test.conf", b.data, &m, &errors), -EINVAL, "bad [lb] values");
        is_int((int)strv_length(errors), 2, "two errors");
        ok(errors && strstr(errors[0], "[lb] check-interval: invalid value '50': expected "
                                       "milliseconds from 100 to 60000"),
           "check-interval below 100 ms is refused, named");
        ok(errors && errors[1] && strstr(errors[1], "[lb] virtual-ip: invalid value 'nope'"),
           "a virtual-ip that is no address is refused, named");
        buf_done(&b);
}

static void test_gcloud_refuses(void)
{
        struct model *m = load(inventory);
        char *text = NULL, *err = NULL;
        is_int(lb_gcloud_script(m, &text, &err), 0, "the gcloud script renders");
        ok(text && strstr(text, "--instances controller-0,controller-1\n"),
           "instances from the inventory");
        free(text);
        text = NULL;
        /* past the schema's check (a value set after loading): the printer checks again */
        is_int(model_set(m, "lb.network", "x $(reboot)"), 0, "a hostile network set after loading");
        is_int(lb_gcloud_script(m, &text, &err), -EINVAL, "is refused");
        ok(text == NULL, "nothing rendered");
        ok(err && strstr(err, "[lb] network = 'x $(reboot)' is not one plain shell word"),
           "the error names the key and value");
        free(err);
        model_free(m);
}

int main(void)
{
        test_stats();
        test_roles();
        test_lb_errors();
        test_gcloud_refuses();
        return done_testing();
}
