/* Checks before anything is changed: is this machine fit to be a controller, and is the PKI
 * what the configuration needs? Each check has a name, a message and a fix hint. */
#include "preflight.h"

#include <arpa/inet.h>
#include <dirent.h>
#include <errno.h>
#include <inttypes.h>
#include <fcntl.h>
#include <netdb.h>
#include <stdio.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#include "pki.h"
#include "etcd.h"
#include "util.h"

static const char *const check_names[] = {
    "root",     "systemd",     "ports", "swap", "pki-files", "key-modes", "cert-key",
    "ca-chain", "cert-expiry", "san",   "dns",  "etcd-disk", "etcd-data",
};

bool preflight_known(const char *name)
{
        for (size_t i = 0; i < ELEMENTSOF(check_names); i++)
                if (streq(name, check_names[i]))
                        return true;
        /* a component from a distribution package is checked under the package's name */
        FOREACH_COMPONENT (c)
                if (c->package && streq(name, c->package))
                        return true;
        return false;
}

const char *preflight_check_name(size_t i)
{
        if (i < ELEMENTSOF(check_names))
                return check_names[i];
        i -= ELEMENTSOF(check_names);
        FOREACH_COMPONENT (c)
                if (c->package && i-- == 0)
                        return c->package;
        return NULL;
}

const char *check_status_to_string(enum check_status s)
{
        switch (s) {
        case CHECK_PASS:
                return "ok";
        case CHECK_WARN:
                return "warn";
        case CHECK_FAIL:
                return "FAIL";
        }
        return "?";
}

static void add(struct preflight *p, const char *name, enum check_status st, const char *hint,
                const char *fmt, ...) _printf_(5, 6);
static void add(struct preflight *p, const char *name, enum check_status st, const char *hint,
                const char *fmt, ...)
{
        if (ARRAY_RESERVE(p->results, p->cap, p->n + 1) < 0) {
                p->oom = true;
                return;
        }
        struct check_result *c = &p->results[p->n++];
        va_list ap;
        va_start(ap, fmt);
        *c = (struct check_result){.name = name, .status = st, .hint = hint};
        if (vasprintf(&c->message, fmt, ap) < 0)
                c->message = NULL;
        va_end(ap);
}

/* Which process listens on a TCP port: /proc/net/tcp{,6} gives the socket inode, the fd
 * links in /proc/PID/fd give the process. */
static unsigned long listen_inode(unsigned port)
{
        const char *files[] = {"/proc/net/tcp", "/proc/net/tcp6"};
        for (size_t f = 0; f < ELEMENTSOF(files); f++) {
                _cleanup_fclose_ FILE *fp = fopen(files[f], "re");
                char line[512];
                if (!fp || !fgets(line, sizeof(line), fp))
                        continue;
                while (fgets(line, sizeof(line), fp)) {
                        char local[64];
                        unsigned st;
                        unsigned long inode;
                        if (sscanf(line, "%*d: %63s %*s %x %*s %*s %*s %*s %*s %lu", local, &st,
                                   &inode) != 3 ||
                            st != 0x0A /* LISTEN */)
                                continue;
                        const char *colon = strrchr(local, ':');
                        if (colon && strtoul(colon + 1, NULL, 16) == port)
                                return inode;
                }
        }
        return 0;
}

static pid_t socket_owner(unsigned long inode, char *exe, size_t exe_size)
{
        char want[64];
        snprintf(want, sizeof(want), "socket:[%lu]", inode);
        DIR *proc = opendir("/proc");
        pid_t found = 0;
        for (struct dirent *de; proc && !found && (de = readdir(proc));) {
                if (de->d_name[0] < '1' || de->d_name[0] > '9')
                        continue;
                char path[300];
                snprintf(path, sizeof(path), "/proc/%s/fd", de->d_name);
                DIR *fds = opendir(path);
                for (struct dirent *fe; fds && !found && (fe = readdir(fds));) {
                        char lp[600], target[128];
                        snprintf(lp, sizeof(lp), "%s/%s", path, fe->d_name);
                        ssize_t n = readlink(lp, target, sizeof(target) - 1);
                        if (n <= 0)
                                continue;
                        target[n] = 0;
                        if (streq(target, want))
                                found = (pid_t)atoi(de->d_name);
                }
                if (fds)
                        closedir(fds);
        }
        if (proc)
                closedir(proc);
        if (found) {
                char lp[64];
                snprintf(lp, sizeof(lp), "/proc/%d/exe", (int)found);
                ssize_t n = readlink(lp, exe, exe_size - 1);
                exe[n > 0 ? n : 0] = 0;
        }
        return found;
}

/* The cgroup a process runs in (the unified hierarchy's, else the name=systemd one), e.g.
 * "/system.slice/kube-apiserver.service". */
static char *process_cgroup(pid_t pid)
{
        char path[64], line[1024];
        snprintf(path, sizeof(path), "/proc/%d/cgroup", (int)pid);
        _cleanup_fclose_ FILE *f = fopen(path, "re");
        _cleanup_free_ char *unified = NULL, *named = NULL;
        while (f && fgets(line, sizeof(line), f)) {
                line[strcspn(line, "\n")] = 0;
                const char *c = strstr(line, ":name=systemd:");
                char **to = startswith(line, "0::") ? &unified : c ? &named : NULL;
                if (!to)
                        continue;
                free(*to);
                *to = strdup(startswith(line, "0::") ? line + 3 : c + 14);
        }
        /* on a hybrid setup the unified line is there but empty ("/") */
        if (named && (!unified || streq(unified, "/")))
                return TAKE_PTR(named);
        return TAKE_PTR(unified);
}

/* Ours means: started by our unit, whatever the program is called or whether its file was
 * replaced since ("... (deleted)"). A name is no proof (anyone can run a program called
 * kube-apiserver); the system manager's cgroup of the unit is, and only root can put a process
 * there. A user's own manager has units of that name too, but under user.slice. */
static bool in_unit(const char *cgroup, const char *unit)
{
        if (!cgroup)
                return false;
        _cleanup_free_ char *want = strjoin3("/system.slice/", unit, NULL);
        size_t n = want ? strlen(want) : 0;
        return want && strncmp(cgroup, want, n) == 0 && (cgroup[n] == 0 || cgroup[n] == '/');
}

static void check_ports(struct preflight *p, const struct model *m)
{
        size_t bad = 0;
        struct buf all = {0};
        size_t n_ports = 0, k = 0;
        FOREACH_COMPONENT (c)
                n_ports += model_runs(m, c) ? c->n_ports : 0;
        FOREACH_COMPONENT (c)
                for (size_t i = 0; model_runs(m, c) && i < c->n_ports; i++, k++) {
                        unsigned port = c->ports[i].port;
                        (void)buf_printf(&all, "%s%u",
                                         k == 0             ? ""
                                         : k + 1 == n_ports ? " and "
                                                            : ", ",
                                         port);
                        unsigned long inode = listen_inode(port);
                        if (!inode)
                                continue;
                        char exe[512] = "";
                        pid_t pid = socket_owner(inode, exe, sizeof(exe));
                        _cleanup_free_ char *cgroup = pid ? process_cgroup(pid) : NULL;
                        if (pid && in_unit(cgroup, c->unit))
                                continue; /* already ours: apply will restart it if needed */
                        const char *base = strrchr(exe, '/') ? strrchr(exe, '/') + 1 : exe;
                        bad++;
                        add(p, "ports", CHECK_FAIL, "stop that process, or free the port",
                            "port %u (for %s) is in use by %s (pid %d, cgroup %s), not by %s", port,
                            c->name, *base ? base : "an unknown process", (int)pid,
                            cgroup ? cgroup : "unknown", c->unit);
                }
        _cleanup_free_ char *list = buf_steal(&all);
        if (!bad)
                add(p, "ports", CHECK_PASS, NULL, "%s are free or held by our units already",
                    list ? list : "the ports");
}

static void check_swap(struct preflight *p)
{
        _cleanup_fclose_ FILE *f = fopen("/proc/swaps", "re");
        char line[512];
        unsigned n = 0;
        while (f && fgets(line, sizeof(line), f))
                n++;
        if (n > 1)
                add(p, "swap", CHECK_FAIL, "swapoff -a, and remove swap from /etc/fstab",
                    "%u swap area(s) active", n - 1);
        else
                add(p, "swap", CHECK_PASS, NULL, "swap is off");
}

static bool have_program(const char *name)
{
        const char *dirs[] = {"/usr/sbin", "/usr/bin", "/sbin", "/bin", "/usr/local/sbin"};
        for (size_t i = 0; i < ELEMENTSOF(dirs); i++) {
                char path[256];
                snprintf(path, sizeof(path), "%s/%s", dirs[i], name);
                if (access(path, X_OK) == 0)
                        return true;
        }
        return false;
}

/* A PKI file in [pki] source-dir, named by its kthw-2021 name and found by the layout's. */
static char *src(const struct model *m, const char *name)
{
        return path_join(m->cfg.pki.source_dir, model_pki_name(m, name));
}

static void check_pki(struct preflight *p, const struct model *m)
{
        struct buf missing = {0}, loose = {0};
        for (size_t i = 0; i < n_pki_files; i++) {
                if (pki_files[i].admin)
                        continue;
                _cleanup_free_ char *path = src(m, pki_files[i].name);
                struct stat st;
                if (!path || stat(path, &st) < 0 || access(path, R_OK) < 0)
                        buf_printf(&missing, "%s%s (%s)", missing.len ? ", " : "",
                                   path ? path : pki_files[i].name, strerror(errno));
                else if (pki_files[i].secret && (st.st_mode & 077))
                        buf_printf(&loose, "%s%s (%04o)", loose.len ? ", " : "", path,
                                   (unsigned)(st.st_mode & 07777));
        }
        if (missing.len)
                add(p, "pki-files", CHECK_FAIL, "put the seed's PKI files into [pki] source-dir",
                    "missing or unreadable: %s", missing.data);
        else
                add(p, "pki-files", CHECK_PASS, NULL, "all PKI files present in %s",
                    m->cfg.pki.source_dir);
        if (loose.len)
                add(p, "key-modes", CHECK_FAIL, "chmod 600 them", "secrets readable by others: %s",
                    loose.data);
        else
                add(p, "key-modes", CHECK_PASS, NULL, "private keys and kubeconfigs are 0600");
        bool files_missing = missing.len > 0;
        buf_done(&missing);
        buf_done(&loose);
        if (files_missing)
                return; /* the certificate checks below need the files */

        static const char *const pairs[][2] = {{"ca.pem", "ca-key.pem"},
                                               {"kubernetes.pem", "kubernetes-key.pem"},
                                               {"service-account.pem", "service-account-key.pem"}};
        size_t bad = 0;
        for (size_t i = 0; i < ELEMENTSOF(pairs); i++) {
                _cleanup_free_ char *c = src(m, pairs[i][0]), *k = src(m, pairs[i][1]), *err = NULL;
                int r = c && k ? pki_key_matches(c, k, &err) : -ENOMEM;
                if (r < 0) {
                        bad++;
                        add(p, "cert-key", CHECK_FAIL,
                            "use the key that was issued with the certificate",
                            "%s does not match %s%s%s", model_pki_name(m, pairs[i][0]),
                            model_pki_name(m, pairs[i][1]), err ? ": " : "", err ? err : "");
                }
        }
        if (!bad)
                add(p, "cert-key", CHECK_PASS, NULL, "each certificate matches its key");

        const char *ca_name = model_pki_name(m, "ca.pem");
        const char *api_name = model_pki_name(m, "kubernetes.pem");
        bool seed_names = model_pki_layout(m) == PKI_LAYOUT_2021;
        _cleanup_free_ char *ca = src(m, "ca.pem"), *api = src(m, "kubernetes.pem"), *err = NULL;
        int r = ca && api ? pki_verify(api, ca, &err) : -ENOMEM;
        if (r < 0)
                add(p, "ca-chain", CHECK_FAIL,
                    seed_names ? "issue kubernetes.pem from the cluster CA (ca.pem)"
                               : "issue kube-api-server.crt from the cluster CA (ca.crt)",
                    "%s is not signed by %s: %s", api_name, ca_name, err ? err : strerror(-r));
        else
                add(p, "ca-chain", CHECK_PASS, NULL, "%s is signed by %s", api_name, ca_name);

        struct cert_info ci = {0};
        free(err);
        err = NULL;
        r = pki_cert_info(api, &ci, &err);
        if (r < 0) {
                add(p, "san", CHECK_FAIL, NULL, "%s", err ? err : strerror(-r));
                return;
        }
        time_t now = time(NULL);
        long days = (long)((ci.not_after - now) / 86400);
        if (ci.not_after <= now)
                add(p, "cert-expiry", CHECK_FAIL, "issue a new certificate", "%s expired",
                    api_name);
        else if (days < 30)
                add(p, "cert-expiry", CHECK_WARN, "renew it soon", "%s ends in %ld days", api_name,
                    days);
        else
                add(p, "cert-expiry", CHECK_PASS, NULL, "%s valid for %ld more days", api_name,
                    days);

        /* The names and addresses the seed puts into the API server's certificate. */
        char svc_ip[INET_ADDRSTRLEN] = "";
        const char *cidr = m->cfg.cluster.service_cluster_ip_range;
        char net[64];
        struct in_addr a;
        if (sscanf(cidr, "%63[^/]", net) == 1 && inet_pton(AF_INET, net, &a) == 1) {
                a.s_addr = htonl(ntohl(a.s_addr) + 1); /* the "kubernetes" service's address */
                inet_ntop(AF_INET, &a, svc_ip, sizeof(svc_ip));
        }
        /* What clients really dial must be there: the node, the load balancer, the local
         * clients (127.0.0.1) and the pods (the service address). The in-cluster DNS names
         * only matter to clients that use them, and the tutorial's own certificate lacks
         * kubernetes.default.svc.cluster.local: a missing name is a warning that names it. */
        const char *must[] = {m->cfg.node.internal_ip, m->cfg.cluster.public_address, "127.0.0.1",
                              svc_ip};
        const char *should[] = {"kubernetes", "kubernetes.default", "kubernetes.default.svc",
                                "kubernetes.default.svc.cluster.local"};
        struct buf lack = {0}, lack_names = {0};
        for (size_t i = 0; i < ELEMENTSOF(must) + ELEMENTSOF(should); i++) {
                bool required = i < ELEMENTSOF(must);
                const char *w = required ? must[i] : should[i - ELEMENTSOF(must)];
                if (!w || !*w)
                        continue;
                unsigned char tmp[16];
                bool is_ip = inet_pton(AF_INET, w, tmp) == 1 || inet_pton(AF_INET6, w, tmp) == 1;
                if (strv_contains(is_ip ? ci.ips : ci.dns, w))
                        continue;
                struct buf *to = required ? &lack : &lack_names;
                buf_printf(to, "%s%s", to->len ? ", " : "", w);
        }
        if (lack.len)
                add(p, "san", CHECK_FAIL,
                    seed_names ? "issue kubernetes.pem with these subjectAltNames"
                               : "issue kube-api-server.crt with these subjectAltNames",
                    "%s does not cover %s", api_name, lack.data);
        if (lack_names.len)
                add(p, "san", CHECK_WARN,
                    seed_names
                        ? "add them when kubernetes.pem is issued next (clients that use them "
                          "will not trust the API server)"
                        : "add them when kube-api-server.crt is issued next (clients that "
                          "use them will not trust the API server)",
                    "%s does not name %s", api_name, lack_names.data);
        if (!lack.len && !lack_names.len)
                add(p, "san", CHECK_PASS, NULL,
                    "%s covers the node, the public address, 127.0.0.1 and the "
                    "kubernetes.default names",
                    api_name);
        else if (!lack.len)
                add(p, "san", CHECK_PASS, NULL,
                    "%s covers the node, the public address, 127.0.0.1 and %s", api_name, svc_ip);
        buf_done(&lack);
        buf_done(&lack_names);
        cert_info_done(&ci);
}

static void check_dns(struct preflight *p, const struct model *m)
{
        _cleanup_strv_free_ char **hosts = NULL;
        (void)strv_extend(&hosts, m->cfg.cluster.public_address);
        _cleanup_free_ char *etcd = strdup(m->cfg.cluster.etcd_servers);
        char *save = NULL;
        for (char *tok = etcd ? strtok_r(etcd, ",", &save) : NULL; tok;
             tok = strtok_r(NULL, ",", &save)) {
                char host[256];
                if (sscanf(tok, "https://%255[^:/]", host) == 1)
                        (void)strv_extend(&hosts, host);
        }
        size_t bad = 0;
        for (char **h = hosts; h && *h; h++) {
                unsigned char tmp[16];
                if (inet_pton(AF_INET, *h, tmp) == 1 || inet_pton(AF_INET6, *h, tmp) == 1)
                        continue;
                struct addrinfo *ai = NULL;
                int e = getaddrinfo(*h, NULL, NULL, &ai);
                if (ai)
                        freeaddrinfo(ai);
                if (e != 0) {
                        bad++;
                        add(p, "dns", CHECK_FAIL, "fix the name or the resolver, or use an address",
                            "cannot resolve %s: %s", *h, gai_strerror(e));
                }
        }
        if (!bad)
                add(p, "dns", CHECK_PASS, NULL, "every name in the configuration resolves");
}

static int cmp_long(const void *a, const void *b)
{
        long x = *(const long *)a, y = *(const long *)b;
        return x < y ? -1 : x > y;
}

/* etcd wants fsync in single milliseconds; this is what a 2 KiB write + fdatasync costs here. */
static void check_etcd_disk(struct preflight *p, const struct model *m, bool live)
{
        const char *dir = m->cfg.node.etcd_data_dir;
        /* with [etcd], its own data directory (on this machine, not a --root tree) unless
         * [node] names another disk to test */
        bool own = (!dir || !*dir) && m->etcd && live;
        if (own)
                dir = m->cfg.etcd.data_dir;
        if (!dir || !*dir)
                return;
        /* etcd's data directory is made by apply: before, the nearest directory above it that
         * is there stands for its disk */
        _cleanup_free_ char *at = strdup(dir);
        if (!at)
                return;
        while (own && access(at, F_OK) < 0 && errno == ENOENT && !streq(at, "/")) {
                char *slash = strrchr(at, '/');
                slash[slash == at ? 1 : 0] = 0;
        }
        dir = at;
        char path[512];
        snprintf(path, sizeof(path), "%s/.kubestrap-fsync-XXXXXX", dir);
        int fd = mkostemp(path, O_CLOEXEC);
        if (fd < 0) {
                add(p, "etcd-disk", CHECK_FAIL, "create the directory", "%s: %s", dir,
                    strerror(errno));
                return;
        }
        unlink(path);
        char block[2048] = {0};
        long us[100];
        size_t n = 0;
        int err = 0;
        for (; n < ELEMENTSOF(us); n++) {
                long long t0 = now_usec();
                if (pwrite(fd, block, sizeof(block), (off_t)(n * sizeof(block))) < 0 ||
                    fdatasync(fd) < 0) {
                        err = errno;
                        break;
                }
                us[n] = (long)(now_usec() - t0);
        }
        close(fd);
        if (n == 0) {
                add(p, "etcd-disk", CHECK_FAIL, NULL, "%s: writes fail: %s", dir, strerror(err));
                return;
        }
        qsort(us, n, sizeof(us[0]), cmp_long);
        long p99 = us[(n * 99) / 100 >= n ? n - 1 : (n * 99) / 100];
        add(p, "etcd-disk", p99 > 10000 ? CHECK_WARN : CHECK_PASS,
            p99 > 10000 ? "put etcd's data on faster storage (SSD)" : NULL,
            "fsync p99 %.2f ms over %zu writes in %s", (double)p99 / 1000, n, dir);
}

/* etcd's data directory: empty (the member bootstraps), or the member this configuration makes
 * (the ID etcd derives from its peer URLs and the cluster token, read from the directory's
 * write-ahead log). Another cluster's or another name's member would not join this cluster. */
static void check_etcd_data(struct preflight *p, const struct model *m, const char *root)
{
        if (!m->etcd)
                return;
        const char *dir = m->cfg.etcd.data_dir;
        struct target t = {.root_fd = -1, .lock_fd = -1};
        uint64_t want = 0, node = 0, cluster = 0;
        int r = etcd_member_id(m->cfg.etcd.initial_cluster, m->cfg.etcd.name,
                               m->cfg.etcd.cluster_token, &want);
        if (r < 0) {
                add(p, "etcd-data", CHECK_FAIL, "set [etcd] name to one of initial-cluster's",
                    "[etcd] name '%s' is not in initial-cluster", m->cfg.etcd.name);
                return;
        }
        r = target_open(root, &t);
        if (r >= 0) {
                r = etcd_data_member(&t, dir, &node, &cluster);
                target_close(&t);
        }
        if (r == -ENOENT)
                add(p, "etcd-data", CHECK_PASS, NULL,
                    "%s holds no member yet: %s bootstraps as member %016" PRIx64, dir,
                    m->cfg.etcd.name, want);
        else if (r < 0)
                add(p, "etcd-data", CHECK_FAIL, "move the directory away if it is not etcd's",
                    "%s: not an etcd data directory kubestrap can read (%s)", dir,
                    r == -EBADMSG ? "its write-ahead log does not read as etcd's" : strerror(-r));
        else if (node != want)
                add(p, "etcd-data", CHECK_FAIL,
                    "check [etcd] name, cluster-token and initial-cluster, or move the data away",
                    "%s holds member %016" PRIx64 " of cluster %016" PRIx64
                    ", but %s with this token and initial-cluster is member %016" PRIx64,
                    dir, node, cluster, m->cfg.etcd.name, want);
        else
                add(p, "etcd-data", CHECK_PASS, NULL,
                    "%s holds member %016" PRIx64 " (%s) of cluster %016" PRIx64
                    ": it rejoins, never bootstraps again",
                    dir, node, m->cfg.etcd.name, cluster);
}

int preflight_run(const struct model *m, const char *root, bool live, char *const *ignore,
                  struct preflight *p)
{
        *p = (struct preflight){0};
        if (live) {
                add(p, "root", geteuid() == 0 ? CHECK_PASS : CHECK_FAIL, "run it as root (sudo)",
                    geteuid() == 0 ? "running as root" : "not running as root");
                bool sd = access("/run/systemd/system", F_OK) == 0;
                add(p, "systemd", sd ? CHECK_PASS : CHECK_FAIL,
                    "boot with systemd, or use --root to install files only",
                    sd ? "systemd is the init system" : "systemd is not running");
                check_ports(p, m);
                check_swap(p);
                FOREACH_COMPONENT (c) {
                        if (!c->package || !model_runs(m, c))
                                continue;
                        if (have_program(c->package))
                                add(p, c->package, CHECK_PASS, c->install_hint, "%s is installed",
                                    c->package);
                        else
                                add(p, c->package, CHECK_FAIL, c->install_hint,
                                    "%s is not installed (%s)", c->package, c->purpose);
                }
        }
        /* a load balancer holds only the cluster CA, and runs no etcd */
        if (m->role == NODE_CONTROLLER) {
                check_pki(p, m);
                check_dns(p, m);
                check_etcd_disk(p, m, live);
                check_etcd_data(p, m, root);
        }
        for (size_t i = 0; i < p->n; i++) {
                struct check_result *c = &p->results[i];
                if (c->status == CHECK_FAIL &&
                    (strv_contains(ignore, c->name) || strv_contains(ignore, "all"))) {
                        c->status = CHECK_WARN;
                        c->ignored = true;
                }
                p->failed += c->status == CHECK_FAIL;
        }
        return p->oom ? -ENOMEM : 0;
}

void preflight_done(struct preflight *p)
{
        for (size_t i = 0; i < p->n; i++)
                free(p->results[i].message);
        free(p->results);
        *p = (struct preflight){0};
}
