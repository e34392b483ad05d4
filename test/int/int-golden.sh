#!/bin/bash
# Integration: rendering examples/controller-0.conf reproduces the seed's files byte for byte
# (test/golden/, extracted from the seed by test/golden/extract-from-seed.sh), and operator
# templates in <root>/etc/kubestrap/templates override the shipped ones, with clear errors.
set -eu
. "${top_srcdir:-$(dirname "$0")/../..}/test/lib/common.sh"
ks_setup
G=$top_srcdir/test/golden

ks -c "$CONF" --root "$ROOT" apply
tap_is "$RC" 0 "apply of controller-0's config succeeds"
for u in kube-apiserver kube-controller-manager kube-scheduler; do
        tap_ok "$u.service is the seed's, byte for byte" cmp "$G/$u.service" "$ROOT/etc/systemd/system/$u.service"
done
tap_ok "kube-scheduler.yaml is the seed's" cmp "$G/kube-scheduler.yaml" "$ROOT/etc/kubernetes/config/kube-scheduler.yaml"
tap_ok "the nginx /healthz site is the seed's" cmp "$G/kubernetes.default.svc.cluster.local" \
        "$ROOT/etc/nginx/sites-available/kubernetes.default.svc.cluster.local"

# --- overrides -----------------------------------------------------------------------
T=$ROOT/etc/kubestrap/templates
mkdir -p "$T"
sed 's/leaderElect: true/leaderElect: false/' "$top_srcdir/templates/kube-scheduler.yaml" > "$T/kube-scheduler.yaml"
chmod 0644 "$T/kube-scheduler.yaml"
ks -c "$CONF" --root "$ROOT" plan
tap_like "$OUT" '^    \+  leaderElect: false$' "an override template shows up in the plan diff"
ks -c "$CONF" --root "$ROOT" apply
tap_like "$OUT" 'apply: 1 changed' "only the overridden file changes"
tap_like "$(cat "$ROOT/etc/kubernetes/config/kube-scheduler.yaml")" 'leaderElect: false' "override rendered"

printf 'kubeconfig: {{ nope }}\n' > "$T/kube-scheduler.yaml"
ks -c "$CONF" --root "$ROOT" apply
tap_is "$RC" 2 "undefined variable: exit 2"
tap_is "$ERR" "kubestrap: $T/kube-scheduler.yaml:1: undefined variable 'nope'" "undefined variable names template file and line"

printf 'a\nb\n  x: {{ paths.lib-dir \n' > "$T/kube-scheduler.yaml"
ks -c "$CONF" --root "$ROOT" apply
tap_is "$ERR" "kubestrap: $T/kube-scheduler.yaml:3: unterminated '{{'" "unterminated placeholder names its line"

cp "$top_srcdir/templates/kube-scheduler.yaml" "$T/kube-scheduler.yaml"
chmod 0666 "$T/kube-scheduler.yaml"
ks -c "$CONF" --root "$ROOT" apply
tap_is "$RC" 2 "world-writable template: exit 2"
tap_is "$ERR" "kubestrap: $T/kube-scheduler.yaml: refusing a template writable by group or others" \
        "a template others can write is refused"
rm -f "$T/kube-scheduler.yaml"

# A flags template override: the operator's default flag set for the scheduler.
printf -- '--config={{ paths.config-dir }}/kube-scheduler.yaml\n--v=3\n--profiling=false\n' > "$T/kube-scheduler.flags"
chmod 0644 "$T/kube-scheduler.flags"
ks -c "$CONF" --root "$ROOT" apply
tap_is "$RC" 0 "flags override applies"
tap_like "$(cat "$ROOT/etc/systemd/system/kube-scheduler.service")" '--v=3 \\' "flags override rendered"
tap_like "$(cat "$ROOT/etc/systemd/system/kube-scheduler.service")" '  --profiling=false$' "added default flag rendered last"
rm -f "$T/kube-scheduler.flags"

# --- escaping: '%' in a value stays literal for systemd -------------------------------
ks_set kube-apiserver +audit-policy-file /etc/k8s/%h-policy.yaml
ks -c "$CONF" --root "$ROOT" apply
tap_is "$RC" 0 "a value with % applies"
tap_like "$(cat "$ROOT/etc/systemd/system/kube-apiserver.service")" '  --audit-policy-file=/etc/k8s/%%h-policy.yaml$' \
        "% is escaped as %% in the unit"
ks_set kube-apiserver -audit-log-path ""
ks -c "$CONF" --root "$ROOT" apply
tap_unlike "$(cat "$ROOT/etc/systemd/system/kube-apiserver.service")" 'audit-log-path' "a removed flag is gone"

tap_done
