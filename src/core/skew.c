/* The version-skew policy (kubernetes/website version-skew-policy.md) as it applies to a node
 * that runs all three controllers from one release: kube-apiserver must not skip a minor when
 * it is upgraded, so a node moves one minor at a time; the controller-manager and scheduler
 * follow it. Going back one minor is what a rollback does and is allowed; further is not. */
#include "skew.h"

#include <ctype.h>
#include <errno.h>
#include <stdio.h>
#include <string.h>

#include "util.h"

static const char *number(const char *p, unsigned *ret)
{
        unsigned long v = 0;
        if (!isdigit((unsigned char)*p))
                return NULL;
        for (; isdigit((unsigned char)*p); p++) {
                v = v * 10 + (unsigned long)(*p - '0');
                if (v > 1000000)
                        return NULL;
        }
        *ret = (unsigned)v;
        return p;
}

int kube_version_parse(const char *s, struct kube_version *ret)
{
        struct kube_version v;
        const char *p = s && s[0] == 'v' ? number(s + 1, &v.major) : NULL;
        if (p && *p == '.')
                p = number(p + 1, &v.minor);
        else
                p = NULL;
        if (p && *p == '.')
                p = number(p + 1, &v.patch);
        else
                p = NULL;
        if (!p || (*p && *p != '-' && *p != '+'))
                return -EINVAL;
        *ret = v;
        return 0;
}

int skew_decide(const char *installed, const char *wanted, enum skew_verdict *ret)
{
        struct kube_version a, b;
        if (kube_version_parse(installed, &a) < 0 || kube_version_parse(wanted, &b) < 0)
                return -EINVAL;
        enum skew_verdict v;
        if (a.major != b.major)
                v = b.major > a.major ? SKEW_SKIP_UP : SKEW_SKIP_DOWN;
        else if (a.minor == b.minor)
                v = streq(installed, wanted) ? SKEW_SAME : SKEW_PATCH;
        else if (b.minor == a.minor + 1)
                v = SKEW_UPGRADE;
        else if (b.minor + 1 == a.minor)
                v = SKEW_DOWNGRADE;
        else
                v = b.minor > a.minor ? SKEW_SKIP_UP : SKEW_SKIP_DOWN;
        *ret = v;
        return 0;
}

bool skew_refused(enum skew_verdict v)
{
        return v == SKEW_SKIP_UP || v == SKEW_SKIP_DOWN;
}

char *skew_refusal(const char *component, const char *installed, const char *wanted,
                   enum skew_verdict v)
{
        struct kube_version a, b;
        char *msg = NULL;
        if (!skew_refused(v) || kube_version_parse(installed, &a) < 0 ||
            kube_version_parse(wanted, &b) < 0)
                return NULL;
        /* the next step toward wanted: one minor on from installed (a major change has none) */
        bool up = v == SKEW_SKIP_UP;
        unsigned step = up ? a.minor + 1 : a.minor - 1;
        if (a.major != b.major)
                (void)asprintf_safe(&msg,
                                    "%s %s → %s refused: %s must not change its major version "
                                    "(v%u.x → v%u.x)",
                                    component, installed, wanted, component, a.major, b.major);
        else
                (void)asprintf_safe(&msg,
                                    "%s %s → %s refused: %s must not skip minor versions: "
                                    "v%u.%u.x → v%u.%u.x; %s to v%u.%u first",
                                    component, installed, wanted, component, a.major, a.minor,
                                    b.major, b.minor, up ? "upgrade" : "downgrade", a.major, step);
        return msg;
}
