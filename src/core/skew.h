/* The Kubernetes version-skew policy for one control-plane node: which change from the
 * installed release to the wanted one may go ahead. Pure functions, tested without a node. */
#pragma once

#include <stdbool.h>

struct kube_version {
        unsigned major, minor, patch;
};

/* "v1.34.2"; a pre-release or build suffix ("-rc.1", "+meta") is accepted and not compared.
 * -EINVAL when s is no such version (a marker, say). */
int kube_version_parse(const char *s, struct kube_version *ret);

enum skew_verdict {
        SKEW_SAME,      /* the same release */
        SKEW_PATCH,     /* the same minor, another patch release (either way) */
        SKEW_UPGRADE,   /* one minor up: the policy's only upgrade step */
        SKEW_DOWNGRADE, /* one minor down: what a rollback does, so it is allowed */
        SKEW_SKIP_UP,   /* more than one minor up (or another major): refused */
        SKEW_SKIP_DOWN, /* more than one minor down (or another major): refused */
};

/* -EINVAL when either is not a version. */
int skew_decide(const char *installed, const char *wanted, enum skew_verdict *ret);
bool skew_refused(enum skew_verdict v);
/* The refusal as one message naming both versions and the rule (NULL when v is not refused,
 * or out of memory). component: the one the rule is about (kube-apiserver). */
char *skew_refusal(const char *component, const char *installed, const char *wanted,
                   enum skew_verdict v);
