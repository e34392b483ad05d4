/* Unit tests for version markers (syntax, trimming, checking what a marker file holds), the
 * skew policy's decision and the upgrade order's waves, as pure functions; and the state's
 * release record. */
#include <errno.h>
#include <stdlib.h>
#include <string.h>

#include "component.h"
#include "marker.h"
#include "service.h"
#include "skew.h"
#include "state.h"
#include "tap.h"
#include "util.h"
#include "validate.h"

static void test_marker_syntax(void)
{
        const char *good[] = {"stable", "stable-1.21", "stable-1.36", "stable-1.100"};
        const char *bad[] = {"",           "stable-",         "stable-1",    "stable-1.",
                             "stable-1.x", "stable-1.021",    "stable-2.1",  "latest",
                             "Stable",     "stable-1.21.txt", "stable-1.21 "};
        for (size_t i = 0; i < ELEMENTSOF(good); i++) {
                ok(validate_version_marker(good[i], NULL) == 0, "'%s' is a marker", good[i]);
                ok(validate_version_or_marker(good[i], NULL) == 0, "'%s' is a version value",
                   good[i]);
        }
        for (size_t i = 0; i < ELEMENTSOF(bad); i++) {
                const char *why = NULL;
                ok(validate_version_marker(bad[i], NULL) == -EINVAL, "'%s' is no marker", bad[i]);
                ok(validate_version_or_marker(bad[i], &why) == -EINVAL && why &&
                       strstr(why, "stable-1.NN"),
                   "'%s' is refused, the reason names the marker syntax", bad[i]);
        }
        ok(validate_version_or_marker("v1.34.2", NULL) == 0, "a release is a version value");
        ok(marker_is("stable-1.34") && !marker_is("v1.34.2"), "marker_is tells them apart");
}

static void test_marker_parse(void)
{
        static const struct {
                const char *marker, *body, *want; /* want NULL: -EBADMSG */
        } cases[] = {
            {"stable-1.34", "v1.34.2", "v1.34.2"},
            {"stable-1.34", "v1.34.2\n", "v1.34.2"},
            {"stable-1.34", " \t v1.34.2 \r\n\n", "v1.34.2"},
            {"stable", "v1.36.0", "v1.36.0"},
            {"stable-1.34", "v1.35.0", NULL},
            {"stable-1.34", "", NULL},
            {"stable-1.34", "\n", NULL},
            {"stable-1.34", "1.34.2", NULL},
            {"stable-1.34", "v1.34.2 v1.34.3", NULL},
            {"stable-1.34", "<html>404</html>", NULL},
            {"stable", "v2", NULL},
        };
        for (size_t i = 0; i < ELEMENTSOF(cases); i++) {
                char *v = NULL;
                int r = marker_parse(cases[i].marker, cases[i].body, strlen(cases[i].body), &v);
                if (cases[i].want)
                        ok(r == 0 && v && streq(v, cases[i].want), "%s holding '%s' is %s",
                           cases[i].marker, cases[i].body, cases[i].want);
                else
                        ok(r == -EBADMSG && !v, "%s holding '%s' is refused", cases[i].marker,
                           cases[i].body);
                free(v);
        }
        char *v = NULL;
        ok(marker_parse("stable", "v1.34.2\0x", 9, &v) == -EBADMSG && !v,
           "a NUL inside is refused");
        ok(marker_matches("stable-1.21", "v1.21.0") && !marker_matches("stable-1.21", "v1.22.0"),
           "a bundle's release matches stable-1.NN only in that minor");
        ok(marker_matches("stable", "v1.36.1") && !marker_matches("stable", "garbage"),
           "and stable any release");
}

static void test_skew(void)
{
        static const struct {
                const char *from, *to;
                enum skew_verdict want;
        } cases[] = {
            {"v1.33.4", "v1.33.4", SKEW_SAME},      {"v1.33.4", "v1.33.5", SKEW_PATCH},
            {"v1.33.5", "v1.33.4", SKEW_PATCH},     {"v1.33.4", "v1.34.2", SKEW_UPGRADE},
            {"v1.34.2", "v1.33.4", SKEW_DOWNGRADE}, {"v1.32.9", "v1.34.0", SKEW_SKIP_UP},
            {"v1.21.0", "v1.36.0", SKEW_SKIP_UP},   {"v1.34.0", "v1.32.9", SKEW_SKIP_DOWN},
            {"v1.34.0", "v2.0.0", SKEW_SKIP_UP},    {"v1.34.0-rc.1", "v1.35.0", SKEW_UPGRADE},
        };
        for (size_t i = 0; i < ELEMENTSOF(cases); i++) {
                enum skew_verdict v = SKEW_SAME;
                ok(skew_decide(cases[i].from, cases[i].to, &v) == 0 && v == cases[i].want,
                   "%s → %s: verdict %d", cases[i].from, cases[i].to, (int)cases[i].want);
                ok(skew_refused(v) ==
                       (cases[i].want == SKEW_SKIP_UP || cases[i].want == SKEW_SKIP_DOWN),
                   "%s → %s: refused only when a minor is skipped", cases[i].from, cases[i].to);
        }
        enum skew_verdict v;
        is_int(skew_decide("stable-1.34", "v1.34.0", &v), -EINVAL, "a marker is not compared");
        is_int(skew_decide("v1.34", "v1.34.0", &v), -EINVAL, "nor a partial version");

        _cleanup_free_ char *up =
            skew_refusal("kube-apiserver", "v1.32.4", "v1.34.2", SKEW_SKIP_UP);
        is_str(up,
               "kube-apiserver v1.32.4 → v1.34.2 refused: kube-apiserver must not skip minor "
               "versions: v1.32.x → v1.34.x; upgrade to v1.33 first",
               "an upgrade refusal names both versions, the rule and the next step");
        _cleanup_free_ char *down =
            skew_refusal("kube-apiserver", "v1.34.2", "v1.32.4", SKEW_SKIP_DOWN);
        like_str(down, "v1.34.x → v1.32.x; downgrade to v1.33 first",
                 "a downgrade refusal names the step back");
        ok(skew_refusal("kube-apiserver", "v1.33.0", "v1.34.0", SKEW_UPGRADE) == NULL,
           "no refusal for an allowed change");
}

static void test_state_release(void)
{
        struct state s = {0};
        ok(state_release(&s) == NULL, "an empty state names no release");
        is_int(state_put_release(&s, "v1.33.4"), 0, "the release is recorded");
        is_str(state_release(&s), "v1.33.4", "and read back");
        is_int(state_put_release(&s, "v1.34.2"), 0, "an upgrade replaces it");
        is_str(state_release(&s), "v1.34.2", "with the new release");
        is_int(s.n, 1, "one record");
        ok(!state_entry_is_path(&s.entries[0]), "the record names no path (reset skips it)");
        free(s.loaded_text);
        for (size_t i = 0; i < s.n; i++) {
                free(s.entries[i].path);
                free(s.entries[i].url);
                free(s.entries[i].digest_url);
                free(s.entries[i].signed_by);
        }
        free(s.entries);
}

static void test_waves(void)
{
        const struct component *api = component_api();
        const struct component *etcd = component_find("etcd");
        ok(etcd && service_wave(etcd) == 0, "etcd is in the first wave");
        ok(api && service_wave(api) == 1, "kube-apiserver is in the next, once etcd is healthy");
        FOREACH_COMPONENT (c) {
                if (c == api || c == etcd || c->role != api->role)
                        continue; /* a load balancer's haproxy runs on hosts of its own */
                ok(service_wave(c) > service_wave(api),
                   "%s restarts after kube-apiserver is healthy", c->name);
                for (const char *const *a = c->after; a && *a; a++)
                        ok(service_wave(component_find(*a)) < service_wave(c),
                           "%s's wave follows %s's", c->name, *a);
        }
}

int main(void)
{
        test_waves();
        test_marker_syntax();
        test_marker_parse();
        test_skew();
        test_state_release();
        return done_testing();
}
