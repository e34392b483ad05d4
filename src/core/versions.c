/* What changes with the Kubernetes version, applied: the rules themselves are data in each
 * component's row (component.c), keyed by minor version, so a component's defaults and their
 * changes across releases are read in one place; this file only decides which rules hold. */
#include "versions.h"

#include <errno.h>
#include <string.h>

#include "util.h"

static int parse_number(const char **p, unsigned *ret)
{
        unsigned v = 0;
        if (**p < '0' || **p > '9')
                return -EINVAL;
        for (; **p >= '0' && **p <= '9'; (*p)++) {
                if (v > 100000)
                        return -EINVAL;
                v = v * 10 + (unsigned)(**p - '0');
        }
        *ret = v;
        return 0;
}

int version_minor(const char *version, unsigned *ret)
{
        const char *p = version;
        unsigned major = 0, minor = 0, patch = 0;
        if (!p || *p++ != 'v' || parse_number(&p, &major) < 0 || *p++ != '.' ||
            parse_number(&p, &minor) < 0 || *p++ != '.' || parse_number(&p, &patch) < 0)
                return -EINVAL;
        if (*p && *p != '-' && *p != '+')
                return -EINVAL;
        if (major != 1)
                return -ERANGE;
        *ret = minor;
        return 0;
}

bool version_supported(unsigned minor)
{
        return minor >= VERSION_MINOR_MIN && minor <= VERSION_MINOR_MAX;
}

unsigned version_model_minor(const struct model *m)
{
        unsigned minor = 0;
        if (version_minor(m->cfg.cluster.version, &minor) < 0 || !version_supported(minor))
                return VERSION_MINOR_MAX;
        return minor;
}

bool minor_range_has(const struct minor_range *r, unsigned minor)
{
        return (!r->from || minor >= r->from) && (!r->until || minor <= r->until);
}

bool version_etcd_tls(const struct model *m)
{
        /* The loader refuses a list that mixes http:// and https://, so the first URL decides;
         * checking all of them keeps this true to its name if that ever changes. */
        const char *s = m->cfg.cluster.etcd_servers;
        if (!s || !*s)
                return true;
        for (const char *p = s; p; p = strchr(p, ',')) {
                if (*p == ',')
                        p++;
                if (!startswith(p, "https://"))
                        return false;
        }
        return true;
}

bool version_drops_flag(const struct model *m, const struct component *c, const char *flag)
{
        unsigned minor = version_model_minor(m);
        for (size_t i = 0; i < c->n_flag_rules; i++) {
                const struct flag_rule *r = &c->flag_rules[i];
                if (!streq(r->flag, flag) || !minor_range_has(&r->minors, minor))
                        continue;
                if (r->when == FLAG_DROP ||
                    (r->when == FLAG_NEEDS_ETCD_TLS && !version_etcd_tls(m)))
                        return true;
        }
        return false;
}

const char *version_value(const struct model *m, const struct component *c, const char *name)
{
        unsigned minor = version_model_minor(m);
        for (size_t i = 0; i < c->n_values; i++)
                if (streq(c->values[i].name, name) && minor_range_has(&c->values[i].minors, minor))
                        return c->values[i].value;
        return NULL;
}

bool version_has_probe(const struct model *m, const struct component_probe *p)
{
        return minor_range_has(&p->minors, version_model_minor(m));
}
