/* Facts about the local network: the address of the interface holding the default route. */
#pragma once

int netinfo_default_route_ipv4(char **ret_ip, char **ret_ifname);
