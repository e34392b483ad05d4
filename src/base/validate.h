/* Validation of configuration values by type; each returns 0 or -EINVAL with a reason. */
#pragma once

/* On failure *ret_reason points to a static or owned description of what was expected;
 * the caller frees it when *ret_owned is set. Kept simple: all reasons are static strings. */
int validate_ip(const char *s, const char **ret_reason);
int validate_cidr(const char *s, const char **ret_reason);
int validate_host(const char *s, const char **ret_reason);
int validate_ssh_address(const char *s, const char **ret_reason);
int validate_port_range(const char *s, const char **ret_reason);
int validate_https_url(const char *s, const char **ret_reason);
int validate_https_url_list(const char *s, const char **ret_reason);
/* etcd-servers: https:// URLs, or plain http:// ones to a loopback host only, not mixed. */
int validate_etcd_url_list(const char *s, const char **ret_reason);
int validate_version(const char *s, const char **ret_reason);
/* etcd's --initial-cluster: NAME=URL,... with names as validate_name and peer URLs as
 * validate_etcd_url_list accepts them. */
int validate_initial_cluster(const char *s, const char **ret_reason);
/* "stable" or "stable-1.NN": a release named by a marker file next to the releases */
int validate_version_marker(const char *s, const char **ret_reason);
int validate_version_or_marker(const char *s, const char **ret_reason);
int validate_abs_path(const char *s, const char **ret_reason);
int validate_uint(const char *s, unsigned min, unsigned max, const char **ret_reason);
int validate_name(const char *s, const char **ret_reason);
/* A Google Cloud resource name (network, region): a lower-case letter, then lower-case letters,
 * digits and '-', not ending in '-', at most 63 characters. Safe as one shell word. */
int validate_gcp_name(const char *s, const char **ret_reason);
int validate_flag_name(const char *s, const char **ret_reason);
int validate_flag_value(const char *s, const char **ret_reason);
