#!/bin/bash
# Integration: the command line as operators expect it (systemctl, kubeadm): options before or
# after the verb, --help for the whole and for each verb (stdout, exit 0), usage errors as one
# line with the usage and where the help is (stderr, exit 2), --version, --ignore all.
set -eu
. "${top_srcdir:-$(dirname "$0")/../..}/test/lib/common.sh"
ks_setup
no_ms() { printf '%s\n' "$1" | sed 's/([0-9]* ms)//; s/"duration_ms":[0-9]*//; s/"[a-z]*_ms":[0-9]*//g'; }

# options after the verb, or around it, mean what they mean before it
ks -c "$CONF" --root "$ROOT" plan
before=$(no_ms "$OUT")
tap_is "$RC" 0 "plan with the options before the verb"
ks plan -c "$CONF" --root "$ROOT"
tap_is "$RC" 0 "plan with the options after the verb"
tap_is "$(no_ms "$OUT")" "$before" "the same plan"
ks --root "$ROOT" plan --config="$CONF" -o json
tap_is "$RC" 0 "options on both sides, --long=VALUE"
tap_like "$(printf '%s\n' "$OUT" | tail -n 1)" '^\{"event":"summary","verb":"plan",' "--output json after the verb"
# plan --detailed-exitcode, for pipelines that gate on it: 2 with changes pending, 0 with
# none, 1 on any error (a configuration error included, which is 2 without the option)
ks plan --detailed-exitcode -c "$CONF" --root "$ROOT"
tap_is "$RC" 2 "plan --detailed-exitcode on an empty tree: 2, changes pending"
ks apply --root "$ROOT" -c "$CONF"
tap_is "$RC" 0 "apply with its options after the verb"
ks plan --detailed-exitcode -c "$CONF" --root "$ROOT"
tap_is "$RC" 0 "plan --detailed-exitcode after apply: 0, nothing to do"
ks plan -c "$WORK/nonexistent.conf" --root "$ROOT"
tap_is "$RC" 2 "plan with a missing configuration: 2"
ks plan --detailed-exitcode -c "$WORK/nonexistent.conf" --root "$ROOT"
tap_is "$RC" 1 "with --detailed-exitcode: 1, an error, not 'changes pending'"
ks status -c "$CONF" -v --root "$ROOT" --output json
tap_like "$(printf '%s\n' "$OUT" | tail -n 1)" '^\{"event":"summary","verb":"status",' "status, options after the verb"

# --help: the whole, and every verb, on stdout with exit 0
ks --help
tap_is "$RC" 0 "--help: exit 0"
tap_like "$OUT" '^Usage: kubestrap ' "--help: usage on stdout"
tap_is "$ERR" "" "--help: nothing on stderr"
verbs=$(printf '%s\n' "$OUT" | sed -n '/^Verbs/,/^$/p' | awk 'NF && !/^Verbs/ { print $1 }')
tap_is "$(printf '%s\n' "$verbs" | wc -l)" 15 "--help lists the fifteen verbs"
for v in $verbs; do
        ks "$v" --help
        tap_is "$RC" 0 "$v --help: exit 0"
        tap_like "$OUT" "^Usage: kubestrap $v" "$v --help: its usage on stdout"
        tap_is "$ERR" "" "$v --help: nothing on stderr"
        ks -c "$CONF" --help "$v"
        tap_like "$OUT" "^Usage: kubestrap $v" "--help $v: the same"
done
ks fanout --help
tap_like "$OUT" "--max-fail K" "fanout --help names its own options"
ks fetch --help
tap_like "$OUT" "--bundle FILE +also write an air-gap bundle" "fetch --help: its --bundle is the one to write"

# a usage error: one line with the usage, one saying where help is; nothing on stdout
usage_error() { # description expected-verb-usage args...
        local desc=$1 usage=$2
        shift 2
        ks "$@"
        tap_is "$RC" 2 "$desc: exit 2"
        tap_is "$OUT" "" "$desc: nothing on stdout"
        tap_is "$(printf '%s\n' "$ERR" | wc -l)" 2 "$desc: two lines on stderr"
        tap_like "$(printf '%s\n' "$ERR" | head -n 1)" "^kubestrap: .*; usage: kubestrap $usage" "$desc: the usage"
}
usage_error "unknown option" "plan" -c "$CONF" plan --frobnicate
tap_like "$ERR" "unknown option '--frobnicate'" "unknown option: named"
tap_is "$(printf '%s\n' "$ERR" | tail -n 1)" "Try 'kubestrap plan --help'." "unknown option: where help is"
usage_error "unknown option before the verb" "\[-c FILE\]" --frobnicate plan
tap_is "$(printf '%s\n' "$ERR" | tail -n 1)" "Try 'kubestrap --help'." "before the verb: the general help"
usage_error "missing option argument" "fanout" fanout -j
usage_error "bad count" "fanout" fanout -j many -- status
usage_error "fanout without a verb" "fanout" -c "$CONF" fanout controller-0
usage_error "an argument too many" "status" -c "$CONF" status now
usage_error "an option of another verb" "apply" -c "$CONF" apply --serial
usage_error "no verb" "\[-c FILE\]" -c "$CONF"
usage_error "unknown verb" "\[-c FILE\]" -c "$CONF" frobnicate
for v in $verbs; do
        ks "$v" --no-such-option
        tap_is "$RC/$OUT/$(printf '%s\n' "$ERR" | tail -n 1)" "2//Try 'kubestrap $v --help'." "$v: a bad option is a usage error"
done

# --version is the version verb
ks version
want=$OUT
ks --version
tap_is "$RC" 0 "--version: exit 0"
tap_is "$OUT" "$want" "--version: what 'version' prints"
tap_like "$OUT" '^kubestrap [0-9]' "--version: the version"
ks --output json --version
tap_like "$OUT" '^\{"event":"version",' "--version --output json: an event"

# fanout: everything after "--" belongs to the remote verb, options included; an ssh that
# cannot connect makes the host unreachable without any option of it being taken here
printf '\n[host c1]\naddress = 127.0.0.1\ninternal-ip = 10.240.0.11\n' >> "$CONF"
printf '\n[fanout]\nssh-options = -o ConnectTimeout=1 -p 1\n' >> "$CONF"
ks fanout -c "$CONF" --serial -- apply --frobnicate
tap_is "$RC" 1 "fanout: options after '--' are the remote verb's"
tap_like "$OUT" "c1 +unreachable" "fanout: the host is tried"

# --ignore all demotes every failure; a name that is no check is still refused
ks_set node internal-ip 10.240.0.99
ks_set cluster public-address kubernetes-api.invalid
ks -c "$CONF" --root "$ROOT" preflight
tap_is "$RC" 1 "two checks fail"
ks preflight -c "$CONF" --root "$ROOT" --ignore all
tap_is "$RC" 0 "--ignore all: preflight passes"
tap_like "$ERR" "preflight san +warn .*\(ignored\)" "--ignore all: san shown, ignored"
tap_like "$ERR" "preflight dns +warn .*\(ignored\)" "--ignore all: dns shown, ignored"
ks -c "$CONF" --root "$ROOT" --ignore alll preflight
tap_is "$RC" 2 "--ignore alll: not a check"

tap_done
