/* What kubestrap knows of etcd beyond its row in the component table: which member a data
 * directory holds, whether a member bootstraps (--initial-cluster-state), and the cluster's
 * members as etcd reports them (its v3 gRPC gateway, over the client TLS). */
#pragma once

#include <stdbool.h>
#include <stdint.h>

#include "fileio.h"
#include "model.h"

/* The ID etcd gives a member it bootstraps (etcd's membership.NewMember without a time): the
 * first 8 bytes, big-endian, of SHA-1 over the member's peer URLs, sorted, then the cluster
 * token. The member is name's entry of initial_cluster; -ENOENT when there is none. */
int etcd_member_id(const char *initial_cluster, const char *name, const char *token, uint64_t *ret);

/* The member a data directory holds: NodeID and ClusterID of the metadata record that opens its
 * first write-ahead log (member/wal/<seq>-<index>.wal). -ENOENT: no member yet (the directory
 * missing or empty), -EBADMSG: a log that does not read as one. */
int etcd_data_member(struct target *t, const char *data_dir, uint64_t *ret_node,
                     uint64_t *ret_cluster);

/* Before rendering: the member's own entry must be in initial-cluster, and
 * etcd.initial-cluster-state is set: "new" only while the data directory holds no member, or
 * when the unit kubestrap installed already says so (etcd reads the flag only with an empty data
 * directory, so rewriting it would restart etcd for nothing); "existing" otherwise. */
int etcd_prepare(struct model *m, struct target *t, char **ret_error);

struct etcd_member {
        uint64_t id;
        char *name;
        char *client_url; /* first of its client URLs, NULL: not started yet */
        bool leader;
        bool healthy;
        char *detail; /* why not healthy */
};

struct etcd_cluster {
        struct etcd_member *members;
        size_t n, cap;
        uint64_t leader;
        char *error; /* when the local member could not be asked */
};

/* Asks the local member (127.0.0.1:2379) for the member list and its status, then every
 * member's /health at its client URL, with the client certificate in [paths] etcd-dir inside
 * root. */
int etcd_cluster_collect(const struct model *m, const char *root, struct etcd_cluster *ret);
void etcd_cluster_done(struct etcd_cluster *c);
