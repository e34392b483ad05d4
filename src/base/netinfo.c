/* Facts about the local network: the address of the interface holding the default route. */
#include "netinfo.h"

#include <arpa/inet.h>
#include <errno.h>
#include <ifaddrs.h>
#include <net/if.h>
#include <stdio.h>
#include <string.h>

#include "util.h"

/* /proc/net/route is the kernel's own table; reading it avoids a netlink client for one fact. */
static int default_route_ifname(char ret[IF_NAMESIZE + 1])
{
        _cleanup_fclose_ FILE *f = fopen("/proc/net/route", "re");
        if (!f)
                return -errno;
        char line[512];
        unsigned best_metric = ~0u;
        bool found = false;
        if (!fgets(line, sizeof(line), f)) /* header */
                return -ENOENT;
        while (fgets(line, sizeof(line), f)) {
                char ifname[IF_NAMESIZE + 1];
                unsigned dest, gw, flags, refcnt, use, metric, mask;
                if (sscanf(line, "%16s %x %x %x %u %u %u %x", ifname, &dest, &gw, &flags, &refcnt,
                           &use, &metric, &mask) != 8)
                        continue;
                if (dest != 0 || mask != 0 || !(flags & 0x1 /* RTF_UP */))
                        continue;
                if (!found || metric < best_metric) {
                        best_metric = metric;
                        memcpy(ret, ifname, sizeof(ifname));
                        found = true;
                }
        }
        return found ? 0 : -ENETUNREACH;
}

int netinfo_default_route_ipv4(char **ret_ip, char **ret_ifname)
{
        char ifname[IF_NAMESIZE + 1];
        int r = default_route_ifname(ifname);
        if (r < 0)
                return r;
        struct ifaddrs *ifa = NULL;
        if (getifaddrs(&ifa) < 0)
                return -errno;
        r = -EADDRNOTAVAIL;
        for (struct ifaddrs *i = ifa; i; i = i->ifa_next) {
                if (!i->ifa_addr || i->ifa_addr->sa_family != AF_INET ||
                    !streq(i->ifa_name, ifname))
                        continue;
                char buf[INET_ADDRSTRLEN];
                const struct sockaddr_in *sin =
                    (const struct sockaddr_in *)(const void *)i->ifa_addr;
                if (!inet_ntop(AF_INET, &sin->sin_addr, buf, sizeof(buf)))
                        continue;
                *ret_ip = strdup(buf);
                if (ret_ifname)
                        *ret_ifname = strdup(ifname);
                r = *ret_ip ? 0 : -ENOMEM;
                break;
        }
        freeifaddrs(ifa);
        return r;
}
